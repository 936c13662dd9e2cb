/*
  GFTransport: the finite-volume operator for d_t rho + div(rho u) = 0 on the grid.

  RHS_i = -sum_a (F_{i+1/2,a} - F_{i-1/2,a}) / h_a, with face fluxes F from one of

  - Scharfetter-Gummel (linear diffusion sigma plus drift potential psi):
      F = s (sigma/h) [B(d) rho_L - B(-d) rho_R],  d = (psi_R - psi_L)/sigma,  B(z) = z/(e^z - 1),
    s = 1 + h^2 psi''/(6 sigma) at the face (curvature factor: second-order means).
    F vanishes exactly when rho_R/rho_L = exp(-d): discrete Gibbs states exp(-psi/sigma)
    are steady states to round-off, and the free energy decays along the semi-discrete flow.
  - upwind with a face velocity (Carrillo, Chertock, Huang, CiCP 17 (2015)):
      F = u^+ rho^E_L + u^- rho^W_R,  rho^E_L = rho_L + s_L/2,  rho^W_R = rho_R - s_R/2,
    s the minmod slope (zero with -fv_reconstruction constant), and
      u = -(xi_R - xi_L)/h  (gradient flows, drift = xi), or
      u = (v_L + v_R)/2     (drift = a cell velocity field with dim components).
    Second order in space, positive for dt <= h/(2 max|u|).

  Walls: noflux faces carry no flux; periodic faces wrap through the DMDA ghosts.
  Faces on a rank boundary are computed by both ranks from identical data, so
  the global sum of RHS is zero to round-off: mass is conserved.
*/
#include "discretization.h"

const char *const GFReconstructions[] = {"minmod", "constant", "GFReconstruction", "GF_RECONSTRUCTION_", NULL};

/* B(z) = z/(e^z - 1), with its Taylor series near 0 where z/expm1(z) is 0/0. */
PetscReal GFBernoulli(PetscReal z)
{
  if (PetscAbsReal(z) < 1e-6) return 1 - 0.5 * z + z * z / 12;
  return z / expm1(z);
}

PetscErrorCode GFTransportCreate(GFGrid grid, GFTransport *transport)
{
  GFTransport tr;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&tr));
  tr->grid           = grid;
  tr->flux           = GF_FLUX_UPWIND_POTENTIAL;
  tr->reconstruction = GF_RECONSTRUCTION_MINMOD;
  tr->sg_curvature   = PETSC_TRUE;
  *transport         = tr;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Choose the face flux; sigma is the Scharfetter-Gummel diffusion coefficient (ignored by the upwind fluxes). */
PetscErrorCode GFTransportSetFluxType(GFTransport tr, GFFluxType flux, PetscReal sigma)
{
  PetscFunctionBeginUser;
  PetscCheck(flux != GF_FLUX_SCHARFETTER_GUMMEL || sigma > 0, tr->grid->comm, PETSC_ERR_ARG_OUTOFRANGE, "the Scharfetter-Gummel flux needs a positive diffusion, got %.6g", (double)sigma);
  tr->flux  = flux;
  tr->sigma = sigma;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Whether the Scharfetter-Gummel flux carries the curvature factor 1 + h^2 psi''/(6 sigma) (default: yes); the classical flux without. */
PetscErrorCode GFTransportSetCurvatureCorrection(GFTransport tr, PetscBool on)
{
  PetscFunctionBeginUser;
  if (tr->sg_curvature != on) PetscCall(GFTransportDriftChanged(tr));
  tr->sg_curvature = on;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFTransportSetReconstruction(GFTransport tr, GFReconstruction reconstruction)
{
  PetscFunctionBeginUser;
  tr->reconstruction = reconstruction;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFTransportDestroy(GFTransport *tr)
{
  PetscFunctionBeginUser;
  if (!*tr) PetscFunctionReturn(PETSC_SUCCESS);
  for (PetscInt a = 0; a < 3; a++) PetscCall(GFHugeFree(&(*tr)->sg_coefficients[a]));
  PetscCall(PetscFree((*tr)->stage_work));
  PetscCall(PetscFree((*tr)->chain_halo)); /* one allocation (stage_chain.c) */
  PetscCall(PetscFree(*tr));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The faces this rank computes along axis a: those of the owned cells, at global
  face indices f = first .. first + size[a] (face f sits between cells f-1 and f).
  A pencil is a line of owned cells along a; pencil p starts at the owned cell with
  a-index first whose other two indices enumerate p.
*/
typedef struct {
  PetscInt  a, npencils;
  PetscInt  stride;  /* of axis a in the local array */
  PetscInt  ostride; /* of axis a in the owned array */
  PetscInt  n;       /* cells along a */
  PetscBool periodic;
} GFAxisSweep;

static void GFAxisSweepInit(const struct _p_GFGrid *g, PetscInt a, GFAxisSweep *s)
{
  const GFLocalBox *b = &g->box;

  s->a        = a;
  s->npencils = b->size[0] * b->size[1] * b->size[2] / b->size[a];
  s->stride   = GFLocalStride(b, a);
  s->ostride  = a == 0 ? 1 : (a == 1 ? b->size[0] : b->size[0] * b->size[1]);
  s->n        = g->cells[a];
  s->periodic = (PetscBool)(g->bc == GF_BC_PERIODIC);
}

/* Pencil p: its first cell idx[], first face index, the local index L0 and owned index O0 of the cell before it (first - 1). */
static inline void GFAxisSweepPencilCell(const GFLocalBox *b, const GFAxisSweep *s, PetscInt p, PetscInt idx[3], PetscInt *first, PetscInt *L0, PetscInt *O0)
{
  const PetscInt u = (s->a + 1) % 3, v = (s->a + 2) % 3, lo = PetscMin(u, v), hi = PetscMax(u, v);

  idx[s->a] = b->start[s->a];
  idx[lo]   = b->start[lo] + p % b->size[lo];
  idx[hi]   = b->start[hi] + p / b->size[lo];
  *first    = idx[s->a];
  *L0       = GFLocalIndex(b, idx[0], idx[1], idx[2]) - s->stride;
  *O0       = GFOwnedIndex(b, idx[0], idx[1], idx[2]) - s->ostride;
}

static inline void GFAxisSweepPencil(const GFLocalBox *b, const GFAxisSweep *s, PetscInt p, PetscInt *first, PetscInt *L0, PetscInt *O0)
{
  PetscInt idx[3];
  GFAxisSweepPencilCell(b, s, p, idx, first, L0, O0);
}

/*
  The Scharfetter-Gummel coefficients are stored per axis in memory order over this rank's
  faces: axis a's faces form the owned box with one more layer along a (face f between cells
  f-1 and f), x fastest. The face of pencil p's first cell idx[] along a, and the stride
  between successive faces of the pencil.
*/
static inline PetscInt GFFaceIndex(const GFLocalBox *b, PetscInt a, const PetscInt idx[3])
{
  const PetscInt nx = b->size[0] + (a == 0), ny = b->size[1] + (a == 1);
  return ((idx[2] - b->start[2]) * ny + (idx[1] - b->start[1])) * nx + (idx[0] - b->start[0]);
}

static inline PetscInt GFFaceStride(const GFLocalBox *b, PetscInt a)
{
  return a == 0 ? 1 : (a == 1 ? b->size[0] : b->size[0] * b->size[1]);
}

/* Pencil p's first face along a: the index of its Scharfetter-Gummel coefficient pair. */
static inline PetscInt GFAxisSweepFirstFace(const GFLocalBox *b, const GFAxisSweep *s, PetscInt p)
{
  PetscInt idx[3], first, L0, O0;

  GFAxisSweepPencilCell(b, s, p, idx, &first, &L0, &O0);
  return GFFaceIndex(b, s->a, idx);
}

/* Face velocity at the face between local cells L and R = L + stride along axis a. */
static inline PetscReal GFFaceVelocity(const struct _p_GFTransport *tr, const PetscScalar *drift, PetscInt L, PetscInt R, PetscInt a, PetscReal h)
{
  if (tr->flux == GF_FLUX_UPWIND_POTENTIAL) return -(drift[R] - drift[L]) / h;
  return 0.5 * (drift[L * tr->grid->dim + a] + drift[R * tr->grid->dim + a]);
}

/* minmod(a, b) and which argument it returned: 0 neither (zero), 1 a, 2 b. */
static inline PetscReal MinModChoice(PetscReal a, PetscReal b, PetscInt *choice)
{
  if ((a > 0 && b > 0) || (a < 0 && b < 0)) {
    *choice = PetscAbsReal(a) <= PetscAbsReal(b) ? 1 : 2;
    return *choice == 1 ? a : b;
  }
  *choice = 0;
  return 0;
}

/*
  The upwind value at face f (cells L = f-1, R = f) for velocity u: rho^E_L when u > 0,
  else rho^W_R, with minmod or constant reconstruction; and, when w is not NULL, its
  weights on the cells (L - 1, L, R, R + 1): the value is linear in them on each branch.
*/
static inline PetscReal GFUpwindValue(const struct _p_GFTransport *tr, const PetscScalar *rho, PetscReal u, PetscInt L, PetscInt f, const GFAxisSweep *s, PetscReal w[4])
{
  const PetscInt  R      = L + s->stride;
  const PetscBool minmod = (PetscBool)(tr->reconstruction == GF_RECONSTRUCTION_MINMOD);
  PetscInt        choice = 0;
  PetscReal       value;

  if (u > 0) {
    value = rho[L];
    if (minmod && (s->periodic || f - 2 >= 0)) value += 0.5 * MinModChoice(rho[L] - rho[L - s->stride], rho[R] - rho[L], &choice);
    if (w) {
      const PetscReal table[3][4] = {{0, 1, 0, 0}, {-0.5, 1.5, 0, 0}, {0, 0.5, 0.5, 0}};
      for (PetscInt q = 0; q < 4; q++) w[q] = table[choice][q];
    }
  } else {
    value = rho[R];
    if (minmod && (s->periodic || f + 1 <= s->n - 1)) value -= 0.5 * MinModChoice(rho[R] - rho[L], rho[R + s->stride] - rho[R], &choice);
    if (w) {
      const PetscReal table[3][4] = {{0, 0, 1, 0}, {0, 0.5, 0.5, 0}, {0, 0, 1.5, -0.5}};
      for (PetscInt q = 0; q < 4; q++) w[q] = table[choice][q];
    }
  }
  return value;
}

/* The drift passed to the next call differs from the last one: drop the cached face coefficients and rate. */
PetscErrorCode GFTransportDriftChanged(GFTransport tr)
{
  PetscFunctionBeginUser;
  tr->sg_valid   = PETSC_FALSE;
  tr->rate_valid = PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The curvature factor 1 + h^2 psi''/(6 sigma) of the Scharfetter-Gummel flux at face f (of n
  cells along the axis) between the local cells L and R = L + stride, h^2 psi'' the mean of the
  second differences of psi at L and R (periodic: always both, through the ghosts; walls: those
  inside the box), clipped to [3/4, 5/4] (the correction is for resolved potentials; with
  [1/2, 2] the under-resolved edges of the 2D double-well test, 40 x 36, sigma 0.3, made
  backward Euler's first Newton iterate leave rho >= 0 on 2 ranks, and steps were retried). B(d) = 1 - d/2 + d^2/12 - ... adds the diffusion
  sigma d^2/12 = h^2 psi'^2/(12 sigma) to the flux; as -D rho' = -(D rho)' + D' rho, that is
  a drift D' = h^2 psi' psi''/(6 sigma) against -psi', and the means relax at psi''
  (1 - h^2 psi''/(6 sigma)) instead of psi'' (an O(h^2) mean error, 1.9e-3 at 128^2 on the
  race of bench/race.sh). The factor cancels it; it leaves the zero-flux ratio rho_R/rho_L =
  exp(-d) alone (Gibbs states stay exact steady states) and is positive.
*/
static inline PetscReal GFScharfetterGummelCurvatureScale(const PetscScalar *psi, PetscInt L, PetscInt R, PetscInt stride, PetscInt f, PetscInt n, PetscBool periodic, PetscReal sigma)
{
  PetscReal second = 0;
  PetscInt  count  = 0;

  if (periodic || f - 2 >= 0) {
    second += psi[L - stride] - 2 * psi[L] + psi[R];
    count++;
  }
  if (periodic || f + 1 <= n - 1) {
    second += psi[L] - 2 * psi[R] + psi[R + stride];
    count++;
  }
  return count ? PetscMin(1.25, PetscMax(0.75, 1 + second / (count * 6 * sigma))) : 1;
}

/*
  The Scharfetter-Gummel coefficients B(d) and B(-d) = B(d) + d of every face this rank
  computes (zero on walls), in memory order (GFFaceIndex), all B(d) of an axis and then all
  its B(-d) (sg_faces[a] apart, so that a pass reads both as contiguous runs): two exponentials per face once,
  not per stage, while the drift (a static potential) does not change.
*/
PETSC_INTERN PetscErrorCode GFTransportSetUpScharfetterGummel(GFTransport tr, Vec drift_local)
{
  const struct _p_GFGrid *g = tr->grid;
  const GFLocalBox       *b = &g->box;
  const PetscScalar      *drift;

  PetscFunctionBeginUser;
  if (tr->sg_valid) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCheck(drift_local, tr->grid->comm, PETSC_ERR_ARG_NULL, "the Scharfetter-Gummel coefficients need the drift");
  PetscCall(VecGetArrayRead(drift_local, &drift));
  for (PetscInt a = 0; a < g->dim; a++) {
    const PetscInt stride = GFLocalStride(b, a), end[3] = {b->start[0] + b->size[0] + (a == 0), b->start[1] + b->size[1] + (a == 1), b->start[2] + b->size[2] + (a == 2)};
    PetscReal     *c;

    tr->sg_faces[a] = (b->size[a] + 1) * (b->size[0] * b->size[1] * b->size[2] / b->size[a]);
    if (!tr->sg_coefficients[a]) PetscCall(GFHugeAlloc((size_t)(2 * tr->sg_faces[a]), &tr->sg_coefficients[a]));
    c = tr->sg_coefficients[a];
    for (PetscInt k = b->start[2]; k < end[2]; k++)
      for (PetscInt j = b->start[1]; j < end[1]; j++)
        for (PetscInt i = b->start[0]; i < end[0]; i++, c++) {
          const PetscInt f = a == 0 ? i : (a == 1 ? j : k), R = GFLocalIndex(b, i, j, k), L = R - stride;
          if (g->bc != GF_BC_PERIODIC && (f == 0 || f == g->cells[a])) {
            c[0] = c[tr->sg_faces[a]] = 0;
          } else {
            const PetscReal d     = (drift[R] - drift[L]) / tr->sigma;
            const PetscReal scale = tr->sg_curvature ? GFScharfetterGummelCurvatureScale(drift, L, R, stride, f, g->cells[a], (PetscBool)(g->bc == GF_BC_PERIODIC), tr->sigma) : 1;
            c[0]                  = scale * GFBernoulli(d);
            c[tr->sg_faces[a]]    = scale * GFBernoulli(-d); /* not B + d: that cancels catastrophically for d << 0 */
          }
        }
  }
  PetscCall(VecRestoreArrayRead(drift_local, &drift));
  tr->sg_valid = PETSC_TRUE;
  tr->sg_generation++;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  RHS = -div F for the density rho_local (ghosted, current) and the model's drift
  (ghosted: psi, xi or a velocity, by flux type), into the global vector rhs.
*/
PetscErrorCode GFTransportComputeRHS(GFTransport tr, Vec rho_local, Vec drift_local, Vec rhs)
{
  const struct _p_GFGrid *g = tr->grid;
  const GFLocalBox       *b = &g->box;
  const PetscScalar      *rho, *drift;
  PetscScalar            *out;

  PetscFunctionBeginUser;
  if (tr->flux == GF_FLUX_SCHARFETTER_GUMMEL) PetscCall(GFTransportSetUpScharfetterGummel(tr, drift_local));
  PetscCall(VecGetArrayRead(rho_local, &rho));
  PetscCall(VecGetArrayRead(drift_local, &drift));
  PetscCall(VecGetArray(rhs, &out));
  PetscCall(PetscArrayzero(out, b->size[0] * b->size[1] * b->size[2]));
  for (PetscInt a = 0; a < g->dim; a++) {
    const PetscReal h = g->h[a], inv_h = 1 / h, sigma_h = tr->sigma / h;
    const PetscInt  face_stride = GFFaceStride(b, a);
    GFAxisSweep     s;

    GFAxisSweepInit(g, a, &s);
    for (PetscInt p = 0; p < s.npencils; p++) {
      PetscInt face = GFAxisSweepFirstFace(b, &s, p), first, last, L0, O0;

      GFAxisSweepPencil(b, &s, p, &first, &L0, &O0);
      last = first + b->size[a];
      for (PetscInt f = first; f <= last; f++, face += face_stride) {
        const PetscInt L = L0 + (f - first) * s.stride, R = L + s.stride;
        PetscReal      flux;

        if (!s.periodic && (f == 0 || f == s.n)) continue;
        if (tr->flux == GF_FLUX_SCHARFETTER_GUMMEL) {
          const PetscReal *coefficient = tr->sg_coefficients[a] + face;
          flux                         = sigma_h * (coefficient[0] * rho[L] - coefficient[tr->sg_faces[a]] * rho[R]);
        } else {
          const PetscReal u = GFFaceVelocity(tr, drift, L, R, a, h);
          flux              = u * GFUpwindValue(tr, rho, u, L, f, &s, NULL);
        }
        if (f > first) out[O0 + (f - first) * s.ostride] -= flux * inv_h;
        if (f < last) out[O0 + (f - first + 1) * s.ostride] += flux * inv_h;
      }
    }
  }
  PetscCall(VecRestoreArray(rhs, &out));
  PetscCall(VecRestoreArrayRead(drift_local, &drift));
  PetscCall(VecRestoreArrayRead(rho_local, &rho));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  A bound r on the outflow rate of every cell, so that one forward Euler step of
  length dt <= 1/r keeps rho >= 0:
    upwind:  r = sum_a 2 max|u_a| / h_a  (+ sum_a 2 D / h_a^2 for a nonlinear diffusivity D = rho U''(rho) <= diffusivity),
    SG:      r = sum_a (sigma/h_a^2) (max B(d) + max B(-d)).
  The diffusivity term is the parabolic stability bound of diffusion hidden inside xi.
*/
PetscErrorCode GFTransportComputeMaxRate(GFTransport tr, Vec rho_local, Vec drift_local, PetscReal diffusivity, PetscReal *rate)
{
  const struct _p_GFGrid *g = tr->grid;
  const GFLocalBox       *b = &g->box;
  const PetscScalar      *drift;
  PetscReal               local[6] = {0, 0, 0, 0, 0, 0}, global[6];

  PetscFunctionBeginUser;
  (void)rho_local;
  if (tr->rate_valid && diffusivity == tr->rate_diffusivity) {
    *rate = tr->rate;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (tr->flux == GF_FLUX_SCHARFETTER_GUMMEL) PetscCall(GFTransportSetUpScharfetterGummel(tr, drift_local));
  PetscCheck(drift_local, g->comm, PETSC_ERR_ARG_NULL, "GFTransportComputeMaxRate: the drift is needed");
  PetscCall(VecGetArrayRead(drift_local, &drift));
  for (PetscInt a = 0; a < g->dim; a++) {
    const PetscInt face_stride = GFFaceStride(b, a);
    GFAxisSweep    s;

    GFAxisSweepInit(g, a, &s);
    for (PetscInt p = 0; p < s.npencils; p++) {
      PetscInt face = GFAxisSweepFirstFace(b, &s, p), first, L0, O0;

      GFAxisSweepPencil(b, &s, p, &first, &L0, &O0);
      for (PetscInt f = first; f <= first + b->size[a]; f++, face += face_stride) {
        const PetscInt L = L0 + (f - first) * s.stride, R = L + s.stride;

        if (!s.periodic && (f == 0 || f == s.n)) continue;
        if (tr->flux == GF_FLUX_SCHARFETTER_GUMMEL) {
          const PetscReal *coefficient = tr->sg_coefficients[a] + face;
          local[2 * a]                 = PetscMax(local[2 * a], coefficient[0]);
          local[2 * a + 1]             = PetscMax(local[2 * a + 1], coefficient[tr->sg_faces[a]]);
        } else
          local[2 * a] = PetscMax(local[2 * a], PetscAbsReal(GFFaceVelocity(tr, drift, L, R, a, g->h[a])));
      }
    }
  }
  PetscCall(VecRestoreArrayRead(drift_local, &drift));
  PetscCall(MPIU_Allreduce(local, global, 6, MPIU_REAL, MPIU_MAX, g->comm));
  *rate = 0;
  for (PetscInt a = 0; a < g->dim; a++) {
    const PetscReal h = g->h[a];
    if (tr->flux == GF_FLUX_SCHARFETTER_GUMMEL)
      *rate += tr->sigma / (h * h) * (global[2 * a] + global[2 * a + 1]);
    else
      *rate += 2 * global[2 * a] / h + 2 * diffusivity / (h * h);
  }
  tr->rate             = *rate;
  tr->rate_diffusivity = diffusivity;
  tr->rate_valid       = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  J = shift I - d RHS / d rho, the Jacobian of the implicit residual rho_t - RHS(rho),
  assembled exactly for the local dependence: the reconstruction (linear on each
  minmod branch), the face velocity through dxi = d xi_i / d rho_i (upwind potential),
  the Scharfetter-Gummel coefficients (psi fixed). Nonlocal parts of the drift
  (convolutions) are not differentiated: they are treated as frozen.
*/
PetscErrorCode GFTransportComputeJacobian(GFTransport tr, Vec rho_local, Vec drift_local, Vec dxi_local, PetscReal shift, Mat J)
{
  const struct _p_GFGrid *g = tr->grid;
  const GFLocalBox       *b = &g->box;
  const PetscScalar      *rho, *drift, *dxi = NULL;

  PetscFunctionBeginUser;
  if (tr->flux == GF_FLUX_SCHARFETTER_GUMMEL) PetscCall(GFTransportSetUpScharfetterGummel(tr, drift_local));
  PetscCall(MatZeroEntries(J));
  PetscCall(VecGetArrayRead(rho_local, &rho));
  PetscCall(VecGetArrayRead(drift_local, &drift));
  if (dxi_local) PetscCall(VecGetArrayRead(dxi_local, &dxi));
  /* rows and columns by index in the ghosted local array: the DMDA matrix's local-to-global mapping */
  GF_FOR_OWNED(b, i, j, k)
  {
    const PetscInt row = GFLocalIndex(b, i, j, k);
    PetscCall(MatSetValuesLocal(J, 1, &row, 1, &row, &shift, ADD_VALUES));
  }
  for (PetscInt a = 0; a < g->dim; a++) {
    const PetscReal h = g->h[a], inv_h = 1 / h;
    const PetscInt  face_stride = GFFaceStride(b, a);
    GFAxisSweep     s;

    GFAxisSweepInit(g, a, &s);
    for (PetscInt p = 0; p < s.npencils; p++) {
      PetscInt face = GFAxisSweepFirstFace(b, &s, p), first, last, L0, O0;

      GFAxisSweepPencil(b, &s, p, &first, &L0, &O0);
      last = first + b->size[a];
      for (PetscInt f = first; f <= last; f++, face += face_stride) {
        const PetscInt L = L0 + (f - first) * s.stride, R = L + s.stride;
        PetscReal      dF[4] = {0, 0, 0, 0}; /* d flux / d rho of the cells L-1, L, R, R+1 */
        PetscInt       cols[4], ncols = 0;
        PetscScalar    plus[4], minus[4];

        if (!s.periodic && (f == 0 || f == s.n)) continue;
        if (tr->flux == GF_FLUX_SCHARFETTER_GUMMEL) {
          const PetscReal *coefficient = tr->sg_coefficients[a] + face;
          dF[1]                        = tr->sigma * inv_h * coefficient[0];
          dF[2]                        = -tr->sigma * inv_h * coefficient[tr->sg_faces[a]];
        } else {
          const PetscReal u     = GFFaceVelocity(tr, drift, L, R, a, h);
          const PetscReal value = GFUpwindValue(tr, rho, u, L, f, &s, dF);
          for (PetscInt q = 0; q < 4; q++) dF[q] *= u;
          if (tr->flux == GF_FLUX_UPWIND_POTENTIAL && dxi) {
            dF[1] += value * PetscRealPart(dxi[L]) * inv_h;
            dF[2] -= value * PetscRealPart(dxi[R]) * inv_h;
          }
        }
        for (PetscInt q = 0; q < 4; q++) {
          if (dF[q] == 0) continue; /* includes the cells beyond a wall: their weights are zero */
          cols[ncols]  = L + (q - 1) * s.stride;
          plus[ncols]  = dF[q] * inv_h;  /* RHS_L -= F/h: J_L += dF/h */
          minus[ncols] = -dF[q] * inv_h; /* RHS_R += F/h: J_R -= dF/h */
          ncols++;
        }
        if (!ncols) continue;
        if (f > first) PetscCall(MatSetValuesLocal(J, 1, &L, ncols, cols, plus, ADD_VALUES));
        if (f < last) PetscCall(MatSetValuesLocal(J, 1, &R, ncols, cols, minus, ADD_VALUES));
      }
    }
  }
  if (dxi_local) PetscCall(VecRestoreArrayRead(dxi_local, &dxi));
  PetscCall(VecRestoreArrayRead(drift_local, &drift));
  PetscCall(VecRestoreArrayRead(rho_local, &rho));
  PetscCall(MatAssemblyBegin(J, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(J, MAT_FINAL_ASSEMBLY));
  PetscFunctionReturn(PETSC_SUCCESS);
}
