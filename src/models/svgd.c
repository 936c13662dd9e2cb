/*
  svgd: the mean-field limit of Stein variational gradient descent towards pi ~ exp(-V)
  (Lu, Lu, Nolen 2019), particles moving with dx/dt = -v(x),

      d_t rho = div(rho v),   v = int K(x - y)(grad rho(y) + rho(y) grad V(y)) dy
                                = (grad K) * rho + K * (rho grad V),

  transported by the upwind operator with the cell velocity u = -v. Its energy is
  KL(rho/M | pi), which decays at the rate KSD^2, the squared kernel Stein discrepancy.

  Kernels (-kernel, bandwidth l = -kernel_bandwidth):
    gaussian  K = exp(-|x|^2 / (2 l^2))
    imq       K = (1 + |x|^2 / l^2)^(-1/2)
    bilinear  K(x, y) = 1 + x.y: not translation invariant. With M the mass and moments
              A = int rho grad V, B_ab = int rho y_b d_a V (integration by parts, rho
              negligible at the walls): v(x) = A + (B - M I) x, from moments, no FFT.

  Exact solution for the bilinear kernel, V = (x - b)^T A (x - b)/2 (diagonal A from
  -potential quadratic) and Gaussian data: Gaussians stay Gaussian with
      mu' = M (-A (mu - b) + N mu),  Sigma' = M (N Sigma + Sigma N^T),  N = I - A Sigma - A (mu - b) mu^T,
  integrated here by RK4 (the factor M is the mass; the literature has M = 1).
*/
#include "models.h"

typedef struct {
  GFKernel      kernel;
  PetscBool     bilinear;
  PetscInt      dim;
  GFConvolution convolution;
  PetscInt      id_K, id_dK[3], id_lapK;
  Vec           gradV[3];                      /* d_a V at the cell centres */
  Vec           rho_gradV[3];                  /* rho d_a V */
  Vec           dK_rho[3], lapK_rho;           /* (d_a K) * rho, (Laplace K) * rho */
  Vec           K_rhogradV[3], dK_rhogradV[3]; /* K * (rho d_a V), (d_a K) * (rho d_a V) */
  Vec           input;                         /* the density the convolutions above belong to */
  PetscBool     valid;
  Vec           velocity; /* u = -v, dof = dim, global */
  DM            vda;
  PetscReal     logZ;                                  /* ln of h^d sum_i exp(-V_i) */
  PetscReal     norm_K, norm_dK, norm_lapK, max_gradV; /* L1 norms of K, grad K, Laplace K over the box's offsets; max |grad V| */
  PetscBool     quadratic;
  PetscReal     stiffness[3], center[3];
} GFModel_SVGD;

/* Cell averages of K (component 0), d_a K (1 .. dim) and Laplace K (dim + 1) by 4-point Gauss per axis: the kernels are smooth. */
typedef struct {
  const GFModel_SVGD *sv;
  PetscInt            comp;
} KernelComponent;

static PetscReal KernelComponentPoint(PetscInt dim, const PetscReal x[], void *ctx)
{
  const KernelComponent *c = (const KernelComponent *)ctx;
  PetscReal              grad[3], lap, k = GFKernelValue(c->sv->kernel, dim, x, grad, &lap);

  if (c->comp == 0) return k;
  if (c->comp <= dim) return grad[c->comp - 1];
  return lap;
}

static PetscErrorCode KernelCellAverage(PetscInt dim, const PetscReal x[], const PetscReal h[], PetscReal values[], void *ctx)
{
  PetscFunctionBeginUser;
  for (PetscInt comp = 0; comp <= dim + 1; comp++) {
    KernelComponent c = {(const GFModel_SVGD *)ctx, comp};
    values[comp]      = GFKernelCellAverageGauss(KernelComponentPoint, dim, x, h, 4, &c);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GFModelSetFromOptions_SVGD(GFModel m, PetscOptionItems *PetscOptionsObject)
{
  GFModel_SVGD *sv = (GFModel_SVGD *)m->data;
  PetscReal     bandwidth;

  PetscFunctionBeginUser;
  (void)PetscOptionsObject;
  PetscCall(GFKernelSetFromOptions(sv->kernel));
  PetscCall(GFKernelGetBandwidth(sv->kernel, &bandwidth));
  sv->bilinear = GFKernelIsBilinear(sv->kernel);
  if (!sv->bilinear) {
    PetscReal h = PETSC_MAX_REAL;
    for (PetscInt a = 0; a < m->grid->dim; a++) h = PetscMin(h, (m->grid->upper[a] - m->grid->lower[a]) / m->grid->cells[a]);
    PetscCheck(bandwidth >= h / 4, m->comm, PETSC_ERR_USER_INPUT, "-kernel_bandwidth %.6g is narrower than a quarter of a cell (h = %.6g): the grid cannot resolve the kernel; use a bandwidth of at least %.6g, or a finer grid", (double)bandwidth,
               (double)h, (double)(h / 4));
  }
  m->convolutions = sv->bilinear ? 0 : 2 + m->grid->dim;
  PetscCheck(!sv->bilinear || m->grid->bc != GF_BC_PERIODIC, m->comm, PETSC_ERR_USER_INPUT, "-kernel bilinear with -bc periodic: the bilinear kernel 1 + x.y needs positions, which a periodic box does not have; use noflux walls");
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Every convolution the drift and the Stein discrepancy need, for the global density rho (reused while rho is unchanged). */
static PetscErrorCode GFModelConvolve_SVGD(GFModel m, Vec rho)
{
  GFModel_SVGD *sv   = (GFModel_SVGD *)m->data;
  PetscBool     same = PETSC_FALSE;
  PetscInt      ids[4];
  Vec           outs[4];

  PetscFunctionBeginUser;
  if (sv->valid) PetscCall(VecEqual(rho, sv->input, &same));
  if (same) PetscFunctionReturn(PETSC_SUCCESS);
  for (PetscInt a = 0; a < sv->dim; a++) {
    ids[a]  = sv->id_dK[a];
    outs[a] = sv->dK_rho[a];
  }
  ids[sv->dim]  = sv->id_lapK;
  outs[sv->dim] = sv->lapK_rho;
  PetscCall(GFConvolutionApplyMany(sv->convolution, sv->dim + 1, ids, rho, outs));
  for (PetscInt a = 0; a < sv->dim; a++) {
    const PetscInt pair[2] = {sv->id_K, sv->id_dK[a]};
    Vec            res[2]  = {sv->K_rhogradV[a], sv->dK_rhogradV[a]};
    PetscCall(VecPointwiseMult(sv->rho_gradV[a], rho, sv->gradV[a]));
    PetscCall(GFConvolutionApplyMany(sv->convolution, 2, pair, sv->rho_gradV[a], res));
  }
  PetscCall(VecCopy(rho, sv->input));
  sv->valid = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Moments of the bilinear kernel: M, A_a = h^d sum rho d_a V, B_ab = h^d sum rho x_b d_a V. */
static PetscErrorCode BilinearMoments(GFModel m, Vec rho, PetscReal *mass, PetscReal A[3], PetscReal B[3][3])
{
  GFModel_SVGD           *sv = (GFModel_SVGD *)m->data;
  const struct _p_GFGrid *g  = m->grid;
  const GFLocalBox       *b  = &g->box;
  const PetscScalar      *r, *dV[3];
  PetscReal               local[13] = {0}, global[13];

  PetscFunctionBeginUser;
  PetscCall(VecGetArrayRead(rho, &r));
  for (PetscInt a = 0; a < g->dim; a++) PetscCall(VecGetArrayRead(sv->gradV[a], &dV[a]));
  GF_FOR_OWNED(b, i, j, k)
  {
    const PetscInt idx[3] = {i, j, k}, o = GFOwnedIndex(b, i, j, k);
    PetscReal      x[3];
    GFGridCellCenter(g, idx, x);
    local[0] += PetscRealPart(r[o]);
    for (PetscInt a = 0; a < g->dim; a++) {
      local[1 + a] += PetscRealPart(r[o] * dV[a][o]);
      for (PetscInt c = 0; c < g->dim; c++) local[4 + 3 * a + c] += PetscRealPart(r[o] * dV[a][o]) * x[c];
    }
  }
  for (PetscInt a = 0; a < g->dim; a++) PetscCall(VecRestoreArrayRead(sv->gradV[a], &dV[a]));
  PetscCall(VecRestoreArrayRead(rho, &r));
  PetscCall(MPIU_Allreduce(local, global, 13, MPIU_REAL, MPIU_SUM, m->comm));
  *mass = global[0] * g->cell_volume;
  for (PetscInt a = 0; a < 3; a++) {
    A[a] = global[1 + a] * g->cell_volume;
    for (PetscInt c = 0; c < 3; c++) B[a][c] = global[4 + 3 * a + c] * g->cell_volume;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The cell velocity u = -v, dim components, into the ghosted drift array. */
static PetscErrorCode GFModelDrift_SVGD(GFModel m, PetscReal t, Vec rho, Vec rho_local, Vec drift_local, GFDriftPart part)
{
  GFModel_SVGD *sv = (GFModel_SVGD *)m->data;

  PetscFunctionBeginUser;
  (void)t;
  (void)rho_local;
  (void)part;
  if (sv->bilinear) {
    const struct _p_GFGrid *g = m->grid;
    const GFLocalBox       *b = &g->box;
    PetscReal               mass, A[3], B[3][3];
    PetscScalar            *u;

    PetscCall(BilinearMoments(m, rho, &mass, A, B));
    PetscCall(VecGetArray(sv->velocity, &u));
    GF_FOR_OWNED(b, i, j, k)
    {
      const PetscInt idx[3] = {i, j, k}, o = GFOwnedIndex(b, i, j, k);
      PetscReal      x[3];
      GFGridCellCenter(g, idx, x);
      for (PetscInt a = 0; a < g->dim; a++) {
        PetscReal v = A[a] - mass * x[a];
        for (PetscInt c = 0; c < g->dim; c++) v += B[a][c] * x[c];
        u[o * g->dim + a] = -v;
      }
    }
    PetscCall(VecRestoreArray(sv->velocity, &u));
  } else {
    PetscCall(GFModelConvolve_SVGD(m, rho));
    for (PetscInt a = 0; a < sv->dim; a++) {
      PetscCall(VecWAXPY(sv->rho_gradV[a], 1, sv->dK_rho[a], sv->K_rhogradV[a]));
      PetscCall(VecScale(sv->rho_gradV[a], -1));
      PetscCall(VecStrideScatter(sv->rho_gradV[a], a, sv->velocity, INSERT_VALUES)); /* rho_gradV: an input buffer, free again */
    }
  }
  PetscCall(DMGlobalToLocal(sv->vda, sv->velocity, INSERT_VALUES, drift_local));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The rate of the velocity's response to the density: perturbing rho by d rho changes
  div(rho v) by grad rho . v[d rho] + rho div v[d rho], with v[f] = (grad K) * f + K * (f grad V),
  div v[f] = (Laplace K) * f + (grad K) * (f grad V), and |g * f| <= |g|_1 |f|_inf, so
      lambda <= max rho (|Laplace K|_1 + |grad K|_1 G) + max|grad rho| (|grad K|_1 + |K|_1 G),  G = max|grad V|.
  Explicit steps need dt lambda = O(1) whatever the transport CFL says: near the target the
  velocity vanishes but this coupling does not (bilinear kernel: lambda = M + |B|, B the moment matrix).
*/
static PetscErrorCode GFModelNonlocalRate_SVGD(GFModel m, Vec rho, PetscReal *rate)
{
  GFModel_SVGD *sv = (GFModel_SVGD *)m->data;
  PetscReal     rho_max, grad_max = 0;

  PetscFunctionBeginUser;
  if (sv->bilinear) {
    PetscReal mass, A[3], B[3][3], norm = 0;
    PetscCall(BilinearMoments(m, rho, &mass, A, B));
    for (PetscInt a = 0; a < sv->dim; a++)
      for (PetscInt c = 0; c < sv->dim; c++) norm += B[a][c] * B[a][c];
    *rate = mass + PetscSqrtReal(norm);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(VecMax(rho, NULL, &rho_max));
  {
    /* max |grad rho| by differences of neighbouring cells, along every axis */
    const struct _p_GFGrid *g = m->grid;
    const GFLocalBox       *b = &g->box;
    const PetscScalar      *r;
    PetscReal               local = 0;
    Vec                     rl;
    PetscCall(DMGetLocalVector(g->da, &rl));
    PetscCall(DMGlobalToLocal(g->da, rho, INSERT_VALUES, rl));
    PetscCall(VecGetArrayRead(rl, &r));
    GF_FOR_OWNED(b, i, j, k)
    {
      const PetscInt idx[3] = {i, j, k}, c = GFLocalIndex(b, i, j, k);
      for (PetscInt a = 0; a < g->dim; a++)
        if (idx[a] + 1 < b->gstart[a] + b->gsize[a]) local = PetscMax(local, PetscAbsReal(PetscRealPart(r[c + GFLocalStride(b, a)] - r[c])) / g->h[a]);
    }
    PetscCall(VecRestoreArrayRead(rl, &r));
    PetscCall(DMRestoreLocalVector(g->da, &rl));
    PetscCall(MPIU_Allreduce(&local, &grad_max, 1, MPIU_REAL, MPIU_MAX, m->comm));
  }
  *rate = rho_max * (sv->norm_lapK + sv->norm_dK * sv->max_gradV) + grad_max * (sv->norm_dK + sv->norm_K * sv->max_gradV);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* L1 norms over the box's offsets m (|m_a| < n_a) of K, |grad K| and |Laplace K| at the offsets, and max |grad V| over the cells. */
static PetscErrorCode KernelNorms(GFModel m)
{
  GFModel_SVGD           *sv      = (GFModel_SVGD *)m->data;
  const struct _p_GFGrid *g       = m->grid;
  PetscInt                total   = 1;
  PetscReal               sums[3] = {0, 0, 0};

  PetscFunctionBeginUser;
  for (PetscInt a = 0; a < g->dim; a++) total *= 2 * g->cells[a] - 1;
  for (PetscInt q = 0; q < total; q++) {
    PetscReal x[3], grad[3], lap, k, gnorm = 0;
    PetscInt  r = q;
    for (PetscInt a = 0; a < g->dim; a++, r /= 2 * g->cells[a] - 1) x[a] = (r % (2 * g->cells[a] - 1) - (g->cells[a] - 1)) * g->h[a];
    k = GFKernelValue(sv->kernel, g->dim, x, grad, &lap);
    for (PetscInt a = 0; a < g->dim; a++) gnorm += PetscAbsReal(grad[a]);
    sums[0] += PetscAbsReal(k);
    sums[1] += gnorm;
    sums[2] += PetscAbsReal(lap);
  }
  sv->norm_K    = sums[0] * g->cell_volume;
  sv->norm_dK   = sums[1] * g->cell_volume;
  sv->norm_lapK = sums[2] * g->cell_volume;
  {
    PetscReal local = 0;
    for (PetscInt a = 0; a < sv->dim; a++) {
      PetscReal v;
      PetscCall(VecNorm(sv->gradV[a], NORM_INFINITY, &v));
      local += v * v;
    }
    sv->max_gradV = PetscSqrtReal(local);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The discrete target pi_i ~ exp(-(V_i - min V)) at the cell centres (the solver scales it to the mass). */
static PetscErrorCode GFModelSteady_SVGD(GFModel m, Vec rho)
{
  PetscReal Vmin;

  PetscFunctionBeginUser;
  PetscCall(VecMin(m->V, NULL, &Vmin));
  PetscCall(VecCopy(m->V, rho));
  PetscCall(VecShift(rho, -Vmin));
  PetscCall(VecScale(rho, -1));
  PetscCall(VecExp(rho));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* KL(rho/M | pi) = h^d sum (rho_i/M)(ln(rho_i/M) + V_i + ln Z), pi_i = exp(-V_i)/Z: finite (0 ln 0 = 0; ln pi never underflows). */
static PetscErrorCode GFModelEnergy_SVGD(GFModel m, Vec rho, PetscReal *energy)
{
  GFModel_SVGD      *sv = (GFModel_SVGD *)m->data;
  const PetscScalar *r, *V;
  PetscInt           n;
  PetscReal          local[2] = {0, 0}, global[2], mass;

  PetscFunctionBeginUser;
  PetscCall(VecGetLocalSize(rho, &n));
  PetscCall(VecGetArrayRead(rho, &r));
  PetscCall(VecGetArrayRead(m->V, &V));
  for (PetscInt i = 0; i < n; i++) {
    const PetscReal x = PetscRealPart(r[i]);
    local[0] += x;
    if (x > 0) local[1] += x * (PetscLogReal(x) + PetscRealPart(V[i]) + sv->logZ);
  }
  PetscCall(VecRestoreArrayRead(m->V, &V));
  PetscCall(VecRestoreArrayRead(rho, &r));
  PetscCall(MPIU_Allreduce(local, global, 2, MPIU_REAL, MPIU_SUM, m->comm));
  mass    = global[0] * m->grid->cell_volume;
  *energy = global[1] * m->grid->cell_volume / mass - PetscLogReal(mass);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The kernel Stein discrepancy of rho/M: KSD^2 = int int rho rho k_pi / M^2 with the Stein
  kernel k_pi(x, y) = s.s K + s(x).grad_y K + grad_x K.s(y) + tr grad_x grad_y K, s = -grad V:
    translation-invariant K: h^d sum rho [grad V.(K * rho grad V) + grad V.((grad K) * rho)
                                          - sum_a (d_a K) * (rho d_a V) - (Laplace K) * rho],
    bilinear K:              |A|^2 + ||M I - B||_F^2 (moments above).
*/
static PetscErrorCode GFModelStein_SVGD(GFModel m, Vec rho, PetscReal *ksd)
{
  GFModel_SVGD *sv = (GFModel_SVGD *)m->data;
  PetscReal     mass, squared = 0;

  PetscFunctionBeginUser;
  if (sv->bilinear) {
    PetscReal A[3], B[3][3];
    PetscCall(BilinearMoments(m, rho, &mass, A, B));
    for (PetscInt a = 0; a < sv->dim; a++) {
      squared += A[a] * A[a];
      for (PetscInt c = 0; c < sv->dim; c++) squared += PetscSqr((a == c ? mass : 0) - B[a][c]);
    }
  } else {
    const PetscScalar *r, *dV[3], *KrV[3], *dKr[3], *dKrV[3], *lap;
    PetscInt           n;
    PetscReal          local[2] = {0, 0}, global[2];

    PetscCall(GFModelConvolve_SVGD(m, rho));
    PetscCall(VecGetLocalSize(rho, &n));
    PetscCall(VecGetArrayRead(rho, &r));
    PetscCall(VecGetArrayRead(sv->lapK_rho, &lap));
    for (PetscInt a = 0; a < sv->dim; a++) {
      PetscCall(VecGetArrayRead(sv->gradV[a], &dV[a]));
      PetscCall(VecGetArrayRead(sv->K_rhogradV[a], &KrV[a]));
      PetscCall(VecGetArrayRead(sv->dK_rho[a], &dKr[a]));
      PetscCall(VecGetArrayRead(sv->dK_rhogradV[a], &dKrV[a]));
    }
    for (PetscInt i = 0; i < n; i++) {
      PetscReal bracket = -PetscRealPart(lap[i]);
      for (PetscInt a = 0; a < sv->dim; a++) bracket += PetscRealPart(dV[a][i] * (KrV[a][i] + dKr[a][i]) - dKrV[a][i]);
      local[0] += PetscRealPart(r[i]) * bracket;
      local[1] += PetscRealPart(r[i]);
    }
    for (PetscInt a = 0; a < sv->dim; a++) {
      PetscCall(VecRestoreArrayRead(sv->gradV[a], &dV[a]));
      PetscCall(VecRestoreArrayRead(sv->K_rhogradV[a], &KrV[a]));
      PetscCall(VecRestoreArrayRead(sv->dK_rho[a], &dKr[a]));
      PetscCall(VecRestoreArrayRead(sv->dK_rhogradV[a], &dKrV[a]));
    }
    PetscCall(VecRestoreArrayRead(sv->lapK_rho, &lap));
    PetscCall(VecRestoreArrayRead(rho, &r));
    PetscCall(MPIU_Allreduce(local, global, 2, MPIU_REAL, MPIU_SUM, m->comm));
    mass    = global[1] * m->grid->cell_volume;
    squared = global[0] * m->grid->cell_volume;
  }
  *ksd = PetscSqrtReal(PetscMax(squared, 0)) / mass;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Exact cell averages at time t for the bilinear kernel: the Gaussian data's moments
  integrated from t = 0 (or the start time for -init gaussian), then their cell averages.
*/
static PetscErrorCode GFModelExact_SVGD(GFModel m, PetscReal t, Vec rho)
{
  GFModel_SVGD   *sv = (GFModel_SVGD *)m->data;
  const PetscReal t0 = m->init.type == GF_INIT_GAUSSIAN ? m->init.time : 0;
  PetscReal       mean[3], covariance[3][3];

  PetscFunctionBeginUser;
  GFSteinBilinearMoments(sv->dim, m->init.mass, sv->stiffness, sv->center, m->init.mean, m->init.variance, t - t0, mean, covariance);
  PetscCall(GFGaussianCellAverages(m->grid, mean, covariance, rho));
  PetscCall(VecScale(rho, m->init.mass));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The target's normalisation ln Z and its hold on the box: refuse a target whose
  exp(-V) keeps more than 1e-3 of its mass in the outermost layer of cells (not
  integrable, or cut off by the box), warn above 1e-8.
*/
static PetscErrorCode GFModelCheckTarget_SVGD(GFModel m)
{
  GFModel_SVGD           *sv = (GFModel_SVGD *)m->data;
  const struct _p_GFGrid *g  = m->grid;
  const GFLocalBox       *b  = &g->box;
  const PetscScalar      *V;
  PetscReal               Vmin, local[2] = {0, 0}, global[2], fraction;

  PetscFunctionBeginUser;
  PetscCall(VecMin(m->V, NULL, &Vmin));
  PetscCall(VecGetArrayRead(m->V, &V));
  GF_FOR_OWNED(b, i, j, k)
  {
    const PetscInt  idx[3] = {i, j, k};
    const PetscReal w      = PetscExpReal(-(PetscRealPart(V[GFOwnedIndex(b, i, j, k)]) - Vmin));
    PetscBool       edge   = PETSC_FALSE;
    for (PetscInt a = 0; a < g->dim; a++) edge = (PetscBool)(edge || idx[a] == 0 || idx[a] == g->cells[a] - 1);
    local[0] += w;
    if (edge) local[1] += w;
  }
  PetscCall(VecRestoreArrayRead(m->V, &V));
  PetscCall(MPIU_Allreduce(local, global, 2, MPIU_REAL, MPIU_SUM, m->comm));
  sv->logZ = PetscLogReal(global[0] * g->cell_volume) - Vmin;
  fraction = global[1] / global[0];
  PetscCheck(g->bc == GF_BC_PERIODIC || fraction <= 1e-3, m->comm, PETSC_ERR_USER_INPUT,
             "-potential %s: the target exp(-V) keeps %.3g of its mass in the cells along the walls: it is not integrable, or the box cuts it off; enlarge the box (-domain_lower/-domain_upper) or use a confining potential", m->potential->type,
             (double)fraction);
  if (g->bc != GF_BC_PERIODIC && fraction > 1e-8) PetscCall(PetscPrintf(m->comm, "gradflow: warning: the target exp(-V) keeps %.3g of its mass in the cells along the walls: the box truncates it\n", (double)fraction));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GFModelSetUp_SVGD(GFModel m)
{
  GFModel_SVGD *sv = (GFModel_SVGD *)m->data;
  DM            da = m->grid->da;

  PetscFunctionBeginUser;
  sv->dim         = m->grid->dim;
  m->flux         = GF_FLUX_UPWIND_VELOCITY;
  m->drift_dof    = sv->dim;
  m->drift_static = PETSC_FALSE;
  m->dynamics     = (GFParticleDynamics){GF_DYNAMICS_STEIN, NULL, 0, m->potential, NULL, 0, sv->kernel, sv->bilinear ? GF_PARTICLE_COUPLING_MOMENTS : GF_PARTICLE_COUPLING_PAIRS, NULL, 0, NULL};
  PetscCall(GFModelCheckTarget_SVGD(m));
  PetscCall(DMDACreateCompatibleDMDA(da, sv->dim, &sv->vda));
  PetscCall(DMCreateGlobalVector(sv->vda, &sv->velocity));
  for (PetscInt a = 0; a < sv->dim; a++) {
    PetscCall(DMCreateGlobalVector(da, &sv->gradV[a]));
    PetscCall(VecDuplicate(sv->gradV[a], &sv->rho_gradV[a]));
  }
  {
    const GFLocalBox *b = &m->grid->box;
    PetscScalar      *dV[3];
    for (PetscInt a = 0; a < sv->dim; a++) PetscCall(VecGetArray(sv->gradV[a], &dV[a]));
    GF_FOR_OWNED(b, i, j, k)
    {
      const PetscInt idx[3] = {i, j, k};
      PetscReal      x[3], grad[3];
      GFGridCellCenter(m->grid, idx, x);
      GFPotentialValue(m->potential, x, grad);
      for (PetscInt a = 0; a < sv->dim; a++) dV[a][GFOwnedIndex(b, i, j, k)] = grad[a];
    }
    for (PetscInt a = 0; a < sv->dim; a++) PetscCall(VecRestoreArray(sv->gradV[a], &dV[a]));
  }
  if (!sv->bilinear) {
    PetscCall(KernelNorms(m));
    PetscCall(GFConvolutionCreate(m->grid, &sv->convolution));
    PetscCall(GFConvolutionAddKernel(sv->convolution, KernelCellAverage, 0, sv, &sv->id_K));
    for (PetscInt a = 0; a < sv->dim; a++) PetscCall(GFConvolutionAddKernel(sv->convolution, KernelCellAverage, 1 + a, sv, &sv->id_dK[a]));
    PetscCall(GFConvolutionAddKernel(sv->convolution, KernelCellAverage, 1 + sv->dim, sv, &sv->id_lapK));
    PetscCall(VecDuplicate(sv->gradV[0], &sv->lapK_rho));
    PetscCall(VecDuplicate(sv->gradV[0], &sv->input));
    for (PetscInt a = 0; a < sv->dim; a++) {
      PetscCall(VecDuplicate(sv->gradV[0], &sv->dK_rho[a]));
      PetscCall(VecDuplicate(sv->gradV[0], &sv->K_rhogradV[a]));
      PetscCall(VecDuplicate(sv->gradV[0], &sv->dK_rhogradV[a]));
    }
  }
  PetscCall(GFPotentialIsQuadratic(m->potential, &sv->quadratic, sv->stiffness, sv->center));
  m->has_exact = (PetscBool)(sv->bilinear && sv->quadratic && (m->init.type == GF_INIT_GAUSSIAN || m->init.type == GF_INIT_EXACT || m->init.type == GF_INIT_FILE));
  m->no_exact  = "the exact solution needs -kernel bilinear, -potential quadratic and Gaussian data";
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GFModelView_SVGD(GFModel m, PetscViewer viewer)
{
  GFModel_SVGD *sv = (GFModel_SVGD *)m->data;
  const char   *type;
  PetscReal     bandwidth;

  PetscFunctionBeginUser;
  PetscCall(GFKernelGetType(sv->kernel, &type));
  PetscCall(GFKernelGetBandwidth(sv->kernel, &bandwidth));
  PetscCall(PetscViewerASCIIPrintf(viewer, "  kernel %s, bandwidth %.6g\n", type, (double)bandwidth));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GFModelDestroy_SVGD(GFModel m)
{
  GFModel_SVGD *sv = (GFModel_SVGD *)m->data;

  PetscFunctionBeginUser;
  PetscCall(GFConvolutionDestroy(&sv->convolution));
  PetscCall(GFKernelDestroy(&sv->kernel));
  for (PetscInt a = 0; a < 3; a++) {
    PetscCall(VecDestroy(&sv->gradV[a]));
    PetscCall(VecDestroy(&sv->rho_gradV[a]));
    PetscCall(VecDestroy(&sv->dK_rho[a]));
    PetscCall(VecDestroy(&sv->K_rhogradV[a]));
    PetscCall(VecDestroy(&sv->dK_rhogradV[a]));
  }
  PetscCall(VecDestroy(&sv->lapK_rho));
  PetscCall(VecDestroy(&sv->input));
  PetscCall(VecDestroy(&sv->velocity));
  PetscCall(DMDestroy(&sv->vda));
  PetscCall(PetscFree(m->data));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFModelCreate_SVGD(GFModel m)
{
  GFModel_SVGD *sv;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&sv));
  PetscCall(GFKernelCreate(m->comm, &sv->kernel));
  m->data                = sv;
  m->ops->setfromoptions = GFModelSetFromOptions_SVGD;
  m->ops->setup          = GFModelSetUp_SVGD;
  m->ops->drift          = GFModelDrift_SVGD;
  m->ops->energy         = GFModelEnergy_SVGD;
  m->no_jko              = "it is not a Wasserstein (W2) gradient flow: SVGD moves the density by the kernelised, Stein gradient of the KL divergence";
  m->ops->exact          = GFModelExact_SVGD;
  m->ops->stein          = GFModelStein_SVGD;
  m->ops->steady         = GFModelSteady_SVGD;
  m->ops->nonlocal_rate  = GFModelNonlocalRate_SVGD;
  m->ops->view           = GFModelView_SVGD;
  m->ops->destroy        = GFModelDestroy_SVGD;
  PetscFunctionReturn(PETSC_SUCCESS);
}
