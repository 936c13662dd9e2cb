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
#include "../particles/particles_impl.h"

typedef enum { GF_KERNEL_GAUSSIAN, GF_KERNEL_IMQ, GF_KERNEL_BILINEAR } GFKernelType;
static const char *const GFKernelTypes[] = {"gaussian", "imq", "bilinear"};

typedef struct {
  GFKernelType  kernel;
  PetscReal     bandwidth;
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

/* K(x) and its derivatives at x: value, gradient (into grad), Laplacian (returned in *lap). */
static PetscReal KernelValue(const GFModel_SVGD *sv, PetscInt dim, const PetscReal x[], PetscReal grad[], PetscReal *lap)
{
  const PetscReal l2 = sv->bandwidth * sv->bandwidth;
  PetscReal       r2 = 0, k, dk, d2k; /* K = k(r^2/2): grad = k' x, Laplace = d k' + r^2 k'' */

  for (PetscInt a = 0; a < dim; a++) r2 += x[a] * x[a];
  if (sv->kernel == GF_KERNEL_GAUSSIAN) {
    k   = PetscExpReal(-0.5 * r2 / l2);
    dk  = -k / l2;
    d2k = k / (l2 * l2);
  } else {
    const PetscReal q = 1 + r2 / l2;
    k                 = 1 / PetscSqrtReal(q);
    dk                = -k / (q * l2);
    d2k               = 3 * k / (q * q * l2 * l2);
  }
  for (PetscInt a = 0; a < dim && grad; a++) grad[a] = dk * x[a];
  if (lap) *lap = dim * dk + r2 * d2k;
  return k;
}

/* Cell averages of K (component 0), d_a K (1 .. dim) and Laplace K (dim + 1) by 4-point Gauss per axis: the kernels are smooth. */
typedef struct {
  const GFModel_SVGD *sv;
  PetscInt            comp;
} KernelComponent;

static PetscReal KernelComponentPoint(PetscInt dim, const PetscReal x[], void *ctx)
{
  const KernelComponent *c = (const KernelComponent *)ctx;
  PetscReal              grad[3], lap, k = KernelValue(c->sv, dim, x, grad, &lap);

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
  GFModel_SVGD *sv     = (GFModel_SVGD *)m->data;
  PetscInt      kernel = sv->kernel;

  PetscFunctionBeginUser;
  PetscOptionsHeadBegin(PetscOptionsObject, "SVGD");
  PetscCall(GFOptionsChoice("-kernel", "SVGD kernel", "GFModelSetFromOptions", GFKernelTypes, 3, &kernel, NULL));
  sv->kernel = (GFKernelType)kernel;
  PetscCall(GFOptionsReal("-kernel_bandwidth", "Bandwidth l of the gaussian and imq kernels", "GFModelSetFromOptions", sv->bandwidth, &sv->bandwidth, NULL, GF_REAL_ANY));
  PetscOptionsHeadEnd();
  PetscCheck(sv->bandwidth > 0 && PetscIsNormalReal(sv->bandwidth), m->comm, PETSC_ERR_USER_INPUT, "-kernel_bandwidth %.6g: the bandwidth must be positive", (double)sv->bandwidth);
  if (sv->kernel != GF_KERNEL_BILINEAR) {
    PetscReal h = PETSC_MAX_REAL;
    for (PetscInt a = 0; a < m->grid->dim; a++) h = PetscMin(h, (m->grid->upper[a] - m->grid->lower[a]) / m->grid->cells[a]);
    PetscCheck(sv->bandwidth >= h / 4, m->comm, PETSC_ERR_USER_INPUT, "-kernel_bandwidth %.6g is narrower than a quarter of a cell (h = %.6g): the grid cannot resolve the kernel; use a bandwidth of at least %.6g, or a finer grid",
               (double)sv->bandwidth, (double)h, (double)(h / 4));
  }
  m->convolutions = sv->kernel == GF_KERNEL_BILINEAR ? 0 : 2 + m->grid->dim;
  PetscCheck(sv->kernel != GF_KERNEL_BILINEAR || m->grid->bc != GF_BC_PERIODIC, m->comm, PETSC_ERR_USER_INPUT, "-kernel bilinear with -bc periodic: the bilinear kernel 1 + x.y needs positions, which a periodic box does not have; use noflux walls");
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
  if (sv->kernel == GF_KERNEL_BILINEAR) {
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
  if (sv->kernel == GF_KERNEL_BILINEAR) {
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
    k = KernelValue(sv, g->dim, x, grad, &lap);
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
  if (sv->kernel == GF_KERNEL_BILINEAR) {
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

/* The bilinear Gaussian ODE right-hand side: (mu, Sigma)' = M (-A(mu - b) + N mu, N Sigma + Sigma N^T). */
static void BilinearODE(const GFModel_SVGD *sv, PetscReal mass, const PetscReal y[12], PetscReal dy[12])
{
  const PetscInt   d  = sv->dim;
  const PetscReal *mu = y, *S = y + 3;
  PetscReal        N[3][3];

  for (PetscInt a = 0; a < d; a++)
    for (PetscInt c = 0; c < d; c++) N[a][c] = (a == c) - sv->stiffness[a] * S[3 * a + c] - sv->stiffness[a] * (mu[a] - sv->center[a]) * mu[c];
  for (PetscInt a = 0; a < d; a++) {
    dy[a] = -sv->stiffness[a] * (mu[a] - sv->center[a]);
    for (PetscInt c = 0; c < d; c++) dy[a] += N[a][c] * mu[c];
    dy[a] *= mass;
  }
  for (PetscInt a = 0; a < d; a++)
    for (PetscInt c = 0; c < d; c++) {
      PetscReal v = 0;
      for (PetscInt e = 0; e < d; e++) v += N[a][e] * S[3 * e + c] + S[3 * a + e] * N[c][e];
      dy[3 + 3 * a + c] = mass * v;
    }
}

typedef struct {
  PetscInt  dim;
  PetscReal mean[3], precision[3][3], norm;
} GaussianPdf;

static PetscReal GaussianPoint(PetscInt dim, const PetscReal x[], void *ctx)
{
  const GaussianPdf *g = (const GaussianPdf *)ctx;
  PetscReal          q = 0;

  for (PetscInt a = 0; a < dim; a++)
    for (PetscInt c = 0; c < dim; c++) q += (x[a] - g->mean[a]) * g->precision[a][c] * (x[c] - g->mean[c]);
  return g->norm * PetscExpReal(-0.5 * q);
}

static GFBoxKind Smooth(PetscInt dim, const PetscReal lower[], const PetscReal upper[], void *ctx)
{
  (void)dim, (void)lower, (void)upper, (void)ctx;
  return GF_BOX_SMOOTH;
}

/*
  Exact cell averages at time t for the bilinear kernel: RK4 on (mu, Sigma) from the data at
  t = 0 (steps of 1e-3 / M: error far below 1e-12), then the Gaussian's cell averages (erf
  products when Sigma is diagonal, 3-point Gauss per axis otherwise).
*/
static PetscErrorCode GFModelExact_SVGD(GFModel m, PetscReal t, Vec rho)
{
  GFModel_SVGD   *sv = (GFModel_SVGD *)m->data;
  const PetscInt  d  = sv->dim;
  const PetscReal t0 = m->init.type == GF_INIT_GAUSSIAN ? m->init.time : 0, mass = m->init.mass;
  PetscReal       y[12]    = {0}, k[4][12], tmp[12];
  PetscInt        steps    = (PetscInt)PetscCeilReal(PetscAbsReal(t - t0) * mass / 1e-3) + 1;
  PetscReal       dt       = (t - t0) / steps;
  PetscBool       diagonal = PETSC_TRUE;

  PetscFunctionBeginUser;
  for (PetscInt a = 0; a < d; a++) {
    y[a]             = m->init.mean[a];
    y[3 + 3 * a + a] = m->init.variance[a];
  }
  for (PetscInt n = 0; n < steps; n++) {
    BilinearODE(sv, mass, y, k[0]);
    for (PetscInt q = 0; q < 12; q++) tmp[q] = y[q] + 0.5 * dt * k[0][q];
    BilinearODE(sv, mass, tmp, k[1]);
    for (PetscInt q = 0; q < 12; q++) tmp[q] = y[q] + 0.5 * dt * k[1][q];
    BilinearODE(sv, mass, tmp, k[2]);
    for (PetscInt q = 0; q < 12; q++) tmp[q] = y[q] + dt * k[2][q];
    BilinearODE(sv, mass, tmp, k[3]);
    for (PetscInt q = 0; q < 12; q++) y[q] += dt / 6 * (k[0][q] + 2 * k[1][q] + 2 * k[2][q] + k[3][q]);
  }
  for (PetscInt a = 0; a < d; a++)
    for (PetscInt c = 0; c < d; c++) diagonal = (PetscBool)(diagonal && (a == c || PetscAbsReal(y[3 + 3 * a + c]) < 1e-14 * PetscSqrtReal(y[3 + 4 * a] * y[3 + 4 * c])));
  if (diagonal) {
    PetscReal variance[3] = {1, 1, 1};
    for (PetscInt a = 0; a < d; a++) variance[a] = y[3 + 4 * a];
    PetscCall(GFGridGaussianCellAverages(m->grid, y, variance, rho));
  } else {
    GaussianPdf g = {d, {y[0], y[1], y[2]}, {{0}}, 0};
    PetscReal   S[3][3], det;
    for (PetscInt a = 0; a < d; a++)
      for (PetscInt c = 0; c < d; c++) S[a][c] = y[3 + 3 * a + c];
    if (d == 2) {
      det               = S[0][0] * S[1][1] - S[0][1] * S[1][0];
      g.precision[0][0] = S[1][1] / det;
      g.precision[1][1] = S[0][0] / det;
      g.precision[0][1] = g.precision[1][0] = -S[0][1] / det;
    } else {
      det = S[0][0] * (S[1][1] * S[2][2] - S[1][2] * S[2][1]) - S[0][1] * (S[1][0] * S[2][2] - S[1][2] * S[2][0]) + S[0][2] * (S[1][0] * S[2][1] - S[1][1] * S[2][0]);
      for (PetscInt a = 0; a < 3; a++)
        for (PetscInt c = 0; c < 3; c++) {
          const PetscInt a1 = (c + 1) % 3, a2 = (c + 2) % 3, c1 = (a + 1) % 3, c2 = (a + 2) % 3;
          g.precision[a][c] = (S[a1][c1] * S[a2][c2] - S[a1][c2] * S[a2][c1]) / det;
        }
    }
    PetscCheck(det > 0, m->comm, PETSC_ERR_ARG_OUTOFRANGE, "the exact covariance lost positive definiteness at t = %.6g", (double)t);
    g.norm = 1 / PetscSqrtReal(PetscPowReal(2 * PETSC_PI, d) * det);
    PetscCall(GFGridCellAveragesAdaptive(m->grid, GaussianPoint, Smooth, &g, 0, rho));
  }
  PetscCall(VecScale(rho, mass));
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
  sv->dim              = m->grid->dim;
  m->flux              = GF_FLUX_UPWIND_VELOCITY;
  m->drift_dof         = sv->dim;
  m->drift_static      = PETSC_FALSE;
  m->particle_sigma    = 0;
  m->particle_coupling = sv->kernel == GF_KERNEL_BILINEAR ? GF_PARTICLE_COUPLING_MOMENTS : GF_PARTICLE_COUPLING_PAIRS;
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
  if (sv->kernel != GF_KERNEL_BILINEAR) {
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
  m->has_exact = (PetscBool)(sv->kernel == GF_KERNEL_BILINEAR && sv->quadratic && (m->init.type == GF_INIT_GAUSSIAN || m->init.type == GF_INIT_EXACT || m->init.type == GF_INIT_FILE));
  m->no_exact  = "the exact solution needs -kernel bilinear, -potential quadratic and Gaussian data";
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GFModelView_SVGD(GFModel m, PetscViewer viewer)
{
  GFModel_SVGD *sv = (GFModel_SVGD *)m->data;

  PetscFunctionBeginUser;
  PetscCall(PetscViewerASCIIPrintf(viewer, "  kernel %s, bandwidth %.6g\n", GFKernelTypes[sv->kernel], (double)sv->bandwidth));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  SVGD particles, each of mass w: dx_i/dt = -v(x_i), v(x) = w sum_j [(grad K)(x - x_j) + K(x - x_j) grad V(x_j)]
  over all j, the self term included as in SVGD (Liu and Wang 2016), by direct sums over the
  gathered positions and gradients in global order. The bilinear kernel 1 + x.y takes
  moments instead: v(x) = A + (B - M I) x, A = w sum_j grad V(x_j), B = w sum_j grad V(x_j) x_j^T,
  M = w n; for quadratic V the empirical mean and covariance then follow the Gaussian
  moment ODE above exactly, whatever n.
*/
static PetscErrorCode GFModelParticleVelocity_SVGD(GFModel m, GFParticles p, const PetscReal x[], PetscReal v[])
{
  GFModel_SVGD  *sv = (GFModel_SVGD *)m->data;
  const PetscInt d  = sv->dim;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < p->nlocal; i++) (void)GFPotentialValue(m->potential, x + d * i, v + d * i);
  PetscCall(GFParticlesGather(p, x, p->all));
  PetscCall(GFParticlesGather(p, v, p->all_extra));
  if (sv->kernel == GF_KERNEL_BILINEAR) {
    PetscReal A[3] = {0, 0, 0}, B[3][3] = {{0}}, M = p->weight * p->n;
    for (PetscInt j = 0; j < p->n; j++)
      for (PetscInt a = 0; a < d; a++) {
        A[a] += p->weight * p->all_extra[d * j + a];
        for (PetscInt b = 0; b < d; b++) B[a][b] += p->weight * p->all_extra[d * j + a] * p->all[d * j + b];
      }
    for (PetscInt i = 0; i < p->nlocal; i++)
      for (PetscInt a = 0; a < d; a++) {
        PetscReal va = A[a] - M * x[d * i + a];
        for (PetscInt b = 0; b < d; b++) va += B[a][b] * x[d * i + b];
        v[d * i + a] = -va;
      }
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  for (PetscInt i = 0; i < p->nlocal; i++) {
    PetscReal sum[3] = {0, 0, 0};
    for (PetscInt j = 0; j < p->n; j++) {
      PetscReal diff[3], gradK[3], K;
      GFGridDisplacement(m->grid, x + d * i, p->all + d * j, diff);
      K = KernelValue(sv, d, diff, gradK, NULL);
      for (PetscInt a = 0; a < d; a++) sum[a] += gradK[a] + K * p->all_extra[d * j + a];
    }
    for (PetscInt a = 0; a < d; a++) v[d * i + a] = -p->weight * sum[a];
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GFModelDestroy_SVGD(GFModel m)
{
  GFModel_SVGD *sv = (GFModel_SVGD *)m->data;

  PetscFunctionBeginUser;
  PetscCall(GFConvolutionDestroy(&sv->convolution));
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
  sv->kernel             = GF_KERNEL_GAUSSIAN;
  sv->bandwidth          = 1;
  m->data                = sv;
  m->ops->setfromoptions = GFModelSetFromOptions_SVGD;
  m->ops->setup          = GFModelSetUp_SVGD;
  m->ops->drift          = GFModelDrift_SVGD;
  m->ops->energy         = GFModelEnergy_SVGD;
  m->ops->exact          = GFModelExact_SVGD;
  m->ops->stein          = GFModelStein_SVGD;
  m->ops->steady         = GFModelSteady_SVGD;
  m->ops->nonlocal_rate  = GFModelNonlocalRate_SVGD;
  m->ops->view           = GFModelView_SVGD;
  m->ops->destroy        = GFModelDestroy_SVGD;

  m->ops->particle_velocity = GFModelParticleVelocity_SVGD;
  PetscFunctionReturn(PETSC_SUCCESS);
}
