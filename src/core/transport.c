/*
  GFTransport: the finite-volume operator for d_t rho + div(rho u) = 0 on the grid.

  RHS_i = -sum_a (F_{i+1/2,a} - F_{i-1/2,a}) / h_a, with face fluxes F from one of

  - Scharfetter-Gummel (linear diffusion sigma plus drift potential psi):
      F = (sigma/h) [B(d) rho_L - B(-d) rho_R],  d = (psi_R - psi_L)/sigma,  B(z) = z/(e^z - 1).
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
#include "../gradflow_impl.h"

const char *const GFReconstructions[] = {"minmod", "constant", "GFReconstruction", "GF_RECONSTRUCTION_", NULL};

/* B(z) = z/(e^z - 1), with its Taylor series near 0 where z/expm1(z) is 0/0. */
PetscReal GFBernoulli(PetscReal z)
{
  if (PetscAbsReal(z) < 1e-6) return 1 - 0.5 * z + z * z / 12;
  return z / expm1(z);
}

static inline PetscReal MinMod(PetscReal a, PetscReal b)
{
  if (a > 0 && b > 0) return PetscMin(a, b);
  if (a < 0 && b < 0) return PetscMax(a, b);
  return 0;
}

PetscErrorCode GFTransportCreate(GFGrid grid, GFTransport *transport)
{
  GFTransport tr;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&tr));
  tr->grid           = grid;
  tr->flux           = GF_FLUX_UPWIND_POTENTIAL;
  tr->reconstruction = GF_RECONSTRUCTION_MINMOD;
  *transport         = tr;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Choose the face flux; sigma is the Scharfetter-Gummel diffusion coefficient (ignored by the upwind fluxes). */
PetscErrorCode GFTransportSetFluxType(GFTransport tr, GFFluxType flux, PetscReal sigma)
{
  PetscFunctionBeginUser;
  PetscCheck(flux != GF_FLUX_SCHARFETTER_GUMMEL || sigma > 0, tr->grid->comm, PETSC_ERR_ARG_OUTOFRANGE, "the Scharfetter-Gummel flux needs a positive diffusion, got %g", (double)sigma);
  tr->flux  = flux;
  tr->sigma = sigma;
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
  PetscCall(PetscFree(*tr));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The faces this rank computes along axis a: those of the owned cells, at global
  face indices f = start .. start + size (face f sits between cells f-1 and f).
  A pencil is a line of cells along a; pencils start at the owned cells whose
  a-index is start[a].
*/
typedef struct {
  PetscInt  lo[3], hi[3]; /* pencil starts */
  PetscInt  stride;       /* of axis a in the local array */
  PetscInt  ostride;      /* of axis a in the owned array */
  PetscInt  n;            /* cells along a */
  PetscBool periodic;
} GFAxisSweep;

static void GFAxisSweepInit(const struct _p_GFGrid *g, PetscInt a, GFAxisSweep *s)
{
  const GFLocalBox *b = &g->box;

  for (PetscInt d = 0; d < 3; d++) {
    s->lo[d] = b->start[d];
    s->hi[d] = b->start[d] + b->size[d];
  }
  s->hi[a]    = s->lo[a] + 1;
  s->stride   = GFLocalStride(b, a);
  s->ostride  = a == 0 ? 1 : (a == 1 ? b->size[0] : b->size[0] * b->size[1]);
  s->n        = g->cells[a];
  s->periodic = (PetscBool)(g->bc == GF_BC_PERIODIC);
}

/* Face velocity at the face between local cells L and R = L + stride along axis a. */
static inline PetscReal GFFaceVelocity(const struct _p_GFTransport *tr, const PetscScalar *drift, PetscInt L, PetscInt R, PetscInt a, PetscReal h)
{
  if (tr->flux == GF_FLUX_UPWIND_POTENTIAL) return -(drift[R] - drift[L]) / h;
  return 0.5 * (drift[L * tr->grid->dim + a] + drift[R * tr->grid->dim + a]);
}

/* Upwind flux through face f (cells L = f-1, R = f) with minmod or constant reconstruction. */
static inline PetscReal GFUpwindFlux(const struct _p_GFTransport *tr, const PetscScalar *rho, PetscReal u, PetscInt L, PetscInt f, const GFAxisSweep *s)
{
  const PetscInt R = L + s->stride;

  if (u > 0) {
    PetscReal rho_e = rho[L];
    if (tr->reconstruction == GF_RECONSTRUCTION_MINMOD && (s->periodic || f - 2 >= 0)) rho_e += 0.5 * MinMod(rho[L] - rho[L - s->stride], rho[R] - rho[L]);
    return u * rho_e;
  } else {
    PetscReal rho_w = rho[R];
    if (tr->reconstruction == GF_RECONSTRUCTION_MINMOD && (s->periodic || f + 1 <= s->n - 1)) rho_w -= 0.5 * MinMod(rho[R] - rho[L], rho[R + s->stride] - rho[R]);
    return u * rho_w;
  }
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
  PetscCall(VecGetArrayRead(rho_local, &rho));
  PetscCall(VecGetArrayRead(drift_local, &drift));
  PetscCall(VecGetArray(rhs, &out));
  PetscCall(PetscArrayzero(out, b->size[0] * b->size[1] * b->size[2]));
  for (PetscInt a = 0; a < g->dim; a++) {
    const PetscReal h = g->h[a], inv_h = 1 / h;
    GFAxisSweep     s;

    GFAxisSweepInit(g, a, &s);
    for (PetscInt k = s.lo[2]; k < s.hi[2]; k++) {
      for (PetscInt j = s.lo[1]; j < s.hi[1]; j++) {
        for (PetscInt i = s.lo[0]; i < s.hi[0]; i++) {
          const PetscInt idx[3] = {i, j, k}, first = idx[a], last = idx[a] + b->size[a];
          const PetscInt L0 = GFLocalIndex(b, i, j, k) - s.stride, O0 = GFOwnedIndex(b, i, j, k) - s.ostride;

          for (PetscInt f = first; f <= last; f++) {
            const PetscInt L = L0 + (f - first) * s.stride, R = L + s.stride;
            PetscReal      flux;

            if (!s.periodic && (f == 0 || f == s.n)) continue;
            if (tr->flux == GF_FLUX_SCHARFETTER_GUMMEL) {
              const PetscReal d = (drift[R] - drift[L]) / tr->sigma, B = GFBernoulli(d);
              flux = tr->sigma * inv_h * (B * rho[L] - (B + d) * rho[R]);
            } else {
              flux = GFUpwindFlux(tr, rho, GFFaceVelocity(tr, drift, L, R, a, h), L, f, &s);
            }
            if (f > first) out[O0 + (f - first) * s.ostride] -= flux * inv_h;
            if (f < last) out[O0 + (f - first + 1) * s.ostride] += flux * inv_h;
          }
        }
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
  PetscCall(VecGetArrayRead(drift_local, &drift));
  for (PetscInt a = 0; a < g->dim; a++) {
    GFAxisSweep s;

    GFAxisSweepInit(g, a, &s);
    for (PetscInt k = s.lo[2]; k < s.hi[2]; k++) {
      for (PetscInt j = s.lo[1]; j < s.hi[1]; j++) {
        for (PetscInt i = s.lo[0]; i < s.hi[0]; i++) {
          const PetscInt idx[3] = {i, j, k}, first = idx[a], last = idx[a] + b->size[a];
          const PetscInt L0 = GFLocalIndex(b, i, j, k) - s.stride;

          for (PetscInt f = first; f <= last; f++) {
            const PetscInt L = L0 + (f - first) * s.stride, R = L + s.stride;

            if (!s.periodic && (f == 0 || f == s.n)) continue;
            if (tr->flux == GF_FLUX_SCHARFETTER_GUMMEL) {
              const PetscReal d = (drift[R] - drift[L]) / tr->sigma, B = GFBernoulli(d);
              local[2 * a]     = PetscMax(local[2 * a], B);
              local[2 * a + 1] = PetscMax(local[2 * a + 1], B + d);
            } else {
              local[2 * a] = PetscMax(local[2 * a], PetscAbsReal(GFFaceVelocity(tr, drift, L, R, a, g->h[a])));
            }
          }
        }
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
  PetscFunctionReturn(PETSC_SUCCESS);
}
