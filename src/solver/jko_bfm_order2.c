/*
  -jko_order 2 for the back-and-forth method (jko_bfm.c). After the half step of tau' = tau / 2
  from mu to rho_half, with the potentials phi (rho_half's side) and psi = phi^c and the optimal
  map T = id - tau' grad psi, the geodesic from mu through rho_half is extended to twice its
  length, (2 T - id)#mu. On rho_half's support T^{-1} = id - tau' grad phi, so 2 T - id = G o T
  with G = id + tau' grad phi, and the extension is

      rho_new = G#rho_half,   G(x) = x + tau' grad phi(x) = x - tau' grad(U'(rho_half) + Vt)(x),

  an explicit half step with the flow's own velocity at the implicit half step's density: in
  Lagrangian terms x_new = x + tau v((x + x_new) / 2), the implicit midpoint rule.

  The first version pushed mu forward by 2 T - id with the Jacobian det(I - 2 tau' D^2 psi) on
  mu's side. With m > 1 it folded at every step of the 2D Barenblatt and fell back to two half
  steps: psi and phi are arbitrary off the supports (they do not enter the dual's value there),
  their second differences across a support's edge are O(1 / h), and the ascent leaves a
  background of about 1.5e-4 of the maximum (1e-3 of the mass, uniform: the start from zero
  potentials is a uniform density) outside the support, with a hole between it and the support.
  Here phi is read only inside the support, and the Jacobian is taken on the target's side,
  where the c-transform makes it >= 0:
    S = cells where rho_half > BFM_SUPPORT_FLOOR of its maximum (m > 1; rho_half > 0 for m = 1);
    phi on S's interior (cells whose face neighbours are in S: the edge cells' averages straddle
        the free boundary's kink), continued by EXTEND_LAYERS rings of linear extrapolation
        along the axes (one-sided differences into S), +infinity beyond (with 3 rings a
        point far outside had its preimage stuck on the outer ring, close enough to S on the
        support's diagonal staircase for the cubic's stencil to reach S's edge cells, where
        the Jacobian's central differences spike at the switches between stuck preimages:
        islands of spurious mass grew at 256^2, 29-89% of M before rescaling, and half the
        steps fell back; with 6 the stencil about a stuck preimage holds only zeros);
    w(z) = min_x |x - z|^2 / (2 tau') + phi(x), the c-transform of -phi over those cells, whose
        map z - tau' grad w(z) is G^{-1} (the gradient of the convex |z|^2 / 2 - tau' w);
    rho_new(z) = rho_half(G^{-1}(z)) det(I - tau' D^2 w(z)), rho_half (0 off S) read by the
        window's cubic, rescaled to the mass M (m = 1: rho_half the step's point values, and
        rho_new back to cell averages, as in the step, jko_bfm.c).
  A point beyond G(S) has its preimage on the rings, where rho_half = 0, and det = 0 where the
  minimum sits at the rings' outer edge. Where G folds, the change of variables loses the
  folded mass: more than BFM_FOLD_MASS of M lost or gained and *ok is false (the step is then
  two half steps). Measured: the mass before rescaling is within 7e-4 of M on the 2D
  Barenblatt (128^2, tau 2.5e-4) and equal to it to 6 digits on the 1D Gaussian.
*/
#include "jko_bfm.h"

#define EXTEND_LAYERS 6        /* rings of cells phi is continued by off the support */
#define BFM_SUPPORT_FLOOR 1e-3 /* m > 1: the support is where rho_half exceeds this fraction of its maximum */
#define BFM_FOLD_MASS 1e-2     /* mass the change of variables may lose or gain (folds), relative to M */

/*
  The support S of rho (m > 1: rho > BFM_SUPPORT_FLOOR max rho; m = 1: rho > 0) into mask (1 or
  0), and in f phi on S's interior (cells whose face neighbours are all in S; outside the box
  counts as in), continued by EXTEND_LAYERS rings, each ring's cell the mean over its face
  neighbours set before of the linear extrapolation 2 phi(x + e) - phi(x + 2e) (phi(x + e)
  where x + 2e is not set), +infinity beyond.
*/
static PetscErrorCode SupportAndExtension(GFJKOMethod jko, Vec rho, Vec phi, Vec mask, Vec f)
{
  GFJKO_BFM         *b   = (GFJKO_BFM *)jko->data;
  GFGrid             g   = jko->grid;
  GFLocalBox         box = g->box;
  Vec                ml;
  const PetscScalar *rv, *fl, *mlv;
  PetscScalar       *fv, *mv;
  PetscReal          floor = 0;
  PetscInt           n;

  PetscFunctionBeginUser;
  if (jko->energy.m > 1) {
    PetscCall(VecMax(rho, NULL, &floor));
    floor *= BFM_SUPPORT_FLOOR;
  }
  PetscCall(VecGetLocalSize(rho, &n));
  PetscCall(VecGetArrayRead(rho, &rv));
  PetscCall(VecGetArray(mask, &mv));
  for (PetscInt i = 0; i < n; i++) mv[i] = PetscRealPart(rv[i]) > floor ? 1 : 0;
  PetscCall(VecRestoreArray(mask, &mv));
  PetscCall(VecRestoreArrayRead(rho, &rv));
  PetscCall(DMGetLocalVector(b->da, &ml));
  /* S's interior into b->ca */
  PetscCall(DMGlobalToLocalBegin(b->da, mask, INSERT_VALUES, ml));
  PetscCall(DMGlobalToLocalEnd(b->da, mask, INSERT_VALUES, ml));
  PetscCall(VecGetArrayRead(ml, &mlv));
  PetscCall(VecGetArray(b->ca, &mv));
  GF_FOR_OWNED(&box, i, j, k)
  {
    const PetscInt idx[3] = {i, j, k}, c = GFLocalIndex(&box, i, j, k);
    PetscBool      inner = (PetscBool)(PetscRealPart(mlv[c]) > 0);
    for (PetscInt a = 0; a < g->dim && inner; a++) {
      const PetscInt stride = GFLocalStride(&box, a);
      if (idx[a] > 0 && !(PetscRealPart(mlv[c - stride]) > 0)) inner = PETSC_FALSE;
      if (idx[a] + 1 < g->cells[a] && !(PetscRealPart(mlv[c + stride]) > 0)) inner = PETSC_FALSE;
    }
    mv[GFOwnedIndex(&box, i, j, k)] = inner ? 1 : 0;
  }
  PetscCall(VecRestoreArray(b->ca, &mv));
  PetscCall(VecRestoreArrayRead(ml, &mlv));
  PetscCall(VecCopy(phi, f));
  for (PetscInt layer = 0; layer < EXTEND_LAYERS; layer++) {
    PetscCall(DMGlobalToLocalBegin(b->da, f, INSERT_VALUES, b->local));
    PetscCall(DMGlobalToLocalEnd(b->da, f, INSERT_VALUES, b->local));
    PetscCall(DMGlobalToLocalBegin(b->da, b->ca, INSERT_VALUES, ml));
    PetscCall(DMGlobalToLocalEnd(b->da, b->ca, INSERT_VALUES, ml));
    PetscCall(VecGetArrayRead(b->local, &fl));
    PetscCall(VecGetArrayRead(ml, &mlv));
    PetscCall(VecGetArray(f, &fv));
    PetscCall(VecGetArray(b->ca, &mv));
    GF_FOR_OWNED(&box, i, j, k)
    {
      const PetscInt idx[3] = {i, j, k}, c = GFLocalIndex(&box, i, j, k);
      PetscReal      sum   = 0;
      PetscInt       count = 0;
      if (PetscRealPart(mlv[c]) > 0) continue;
      for (PetscInt a = 0; a < g->dim; a++) {
        const PetscInt stride = GFLocalStride(&box, a);
        for (PetscInt s = -1; s <= 1; s += 2) {
          const PetscInt i1 = idx[a] + s, i2 = idx[a] + 2 * s;
          if (i1 < 0 || i1 >= g->cells[a] || !(PetscRealPart(mlv[c + s * stride]) > 0)) continue;
          if (i2 >= 0 && i2 < g->cells[a] && PetscRealPart(mlv[c + 2 * s * stride]) > 0)
            sum += PetscRealPart(2 * fl[c + s * stride] - fl[c + 2 * s * stride]);
          else
            sum += PetscRealPart(fl[c + s * stride]);
          count++;
        }
      }
      if (count) {
        const PetscInt o = GFOwnedIndex(&box, i, j, k);
        fv[o]            = sum / count;
        mv[o]            = 1;
      }
    }
    PetscCall(VecRestoreArray(b->ca, &mv));
    PetscCall(VecRestoreArray(f, &fv));
    PetscCall(VecRestoreArrayRead(ml, &mlv));
    PetscCall(VecRestoreArrayRead(b->local, &fl));
  }
  PetscCall(DMRestoreLocalVector(b->da, &ml));
  PetscCall(VecGetArray(f, &fv));
  PetscCall(VecGetArray(b->ca, &mv));
  for (PetscInt i = 0; i < n; i++)
    if (!(PetscRealPart(mv[i]) > 0)) fv[i] = PETSC_INFINITY;
  PetscCall(VecRestoreArray(b->ca, &mv));
  PetscCall(VecRestoreArray(f, &fv));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFJKOExtrapolate_BFM(GFJKOMethod jko, Vec rho_half, Vec rho_new, PetscBool *ok)
{
  GFJKO_BFM         *b   = (GFJKO_BFM *)jko->data;
  GFGrid             g   = jko->grid;
  const PetscReal    tau = b->tau; /* the half step's */
  GFLocalBox         box = g->box;
  const PetscScalar *gl[3], *go[3], *all;
  PetscScalar       *out;
  PetscReal          sum;

  PetscFunctionBeginUser;
  /* b->cb: the support's mask, b->u: rho_half on it, b->push: -phi continued off it (-infinity: excluded) */
  (void)rho_half; /* read as the step's point values, b->point_new (m = 1: not the cell averages) */
  PetscCall(SupportAndExtension(jko, b->point_new, b->phi, b->cb, b->push));
  PetscCall(VecPointwiseMult(b->u, b->point_new, b->cb));
  PetscCall(VecScale(b->push, -1));
  /* w = (-phi)^c: G^{-1} = id - tau grad w */
  PetscCall(GFBFMCTransform(&b->lines, tau, b->push, b->push));
  PetscCall(GFBFMDerivatives(jko, b->push));
  for (PetscInt a = 0; a < g->dim; a++) {
    PetscCall(VecGetArrayRead(b->glocal[a], &gl[a]));
    PetscCall(VecGetArrayRead(b->grad[a], &go[a]));
  }
  PetscCall(GFBFMWindowAt(jko, &b->window[2], tau, go, b->u, &all));
  PetscCall(VecGetArray(b->rho, &out)); /* not rho_new yet: untouched when *ok is false */
  GF_FOR_OWNED(&box, i, j, k)
  {
    const PetscInt o = GFOwnedIndex(&box, i, j, k), idx[3] = {i, j, k};
    PetscReal      x[3], grad[3], det = GFBFMJacobian(jko, &box, gl, i, j, k, tau, grad);
    GFGridCellCenter(g, idx, x);
    for (PetscInt a = 0; a < g->dim; a++) x[a] -= tau * PetscRealPart(go[a][o]);
    out[o] = det > 0 ? PetscMax(GFBFMWindowInterpolate(&b->window[2], all, x), 0) * det : 0;
  }
  PetscCall(VecRestoreArray(b->rho, &out));
  PetscCall(VecRestoreArrayRead(b->window[2].values, &all));
  for (PetscInt a = 0; a < g->dim; a++) {
    PetscCall(VecRestoreArrayRead(b->glocal[a], &gl[a]));
    PetscCall(VecRestoreArrayRead(b->grad[a], &go[a]));
  }
  PetscCall(VecSum(b->rho, &sum));
  PetscCall(PetscInfo(NULL, "JKO bfm extrapolation: mass %g of %g before rescaling\n", (double)(sum * g->cell_volume), (double)b->M));
  *ok = (PetscBool)(PetscAbsReal(sum * g->cell_volume - b->M) <= BFM_FOLD_MASS * b->M);
  if (!*ok) PetscFunctionReturn(PETSC_SUCCESS);
  if (jko->energy.m == 1)
    PetscCall(GFBFMCellFilter(g, b->local, 1.0 / 24, b->rho, rho_new));
  else
    PetscCall(VecCopy(b->rho, rho_new));
  PetscCall(GFBFMScaleToMass(jko, rho_new));
  PetscCall(VecCopy(rho_new, b->last)); /* the half step's pair: the next step's warm start (m = 1) */
  PetscFunctionReturn(PETSC_SUCCESS);
}
