/*
  The linear operators of the primal-dual JKO method (jko_primal_dual.c): face interpolation of
  densities and its transpose, the divergence of face momenta, and the projection onto the
  discrete continuity constraint

      A x = b:   rho^l - rho^(l-1) + (1/n_t) div m^l = 0,  l = 1..n_t,  rho^0 = rho_old,

  in the metric T^-1 of the primal steps: x <- x - T A^T (A T A^T)^-1 (A x - b). With T_rho the
  same on every level and T_m the same on every interval,

      A T A^T = (D D^T) (x) T_rho  -  I (x) div(T_m grad) / n_t^2,

  D the n_t x n_t backward difference in pseudo-time (D D^T = tridiag(-1, 2, -1) with 1 in its
  first corner). D D^T = Q diag(mu_k) Q^T in closed form (the Laplacian with one Dirichlet and
  one Neumann end): mu_k = 2 - 2 cos((2k-1) pi/(2 n_t + 1)), Q_lk ~ cos((l-1/2)(2k-1) pi/(2 n_t + 1)).
  So the solve splits into n_t spatial ones, mu_k T_rho - div(T_m grad)/n_t^2, each a
  variable-coefficient Helmholtz operator on the grid's DMDA: CG with the project's geometric
  multigrid (GFMultigridSetUp, Galerkin coarse operators). This reuses the one-dof multigrid
  unchanged; a DMDA with n_t dof would need a block prolongation and couples the levels only
  through a tridiagonal that the time transform removes exactly.
*/
#include "jko_pd.h"

/* Whether the face between cell idx and idx + e_a carries flux: every face on a periodic axis, all but the wall face otherwise. */
static inline PetscBool FaceActive(const struct _p_GFGrid *g, const PetscInt idx[], PetscInt a)
{
  return (PetscBool)(g->bc == GF_BC_PERIODIC || idx[a] < g->cells[a] - 1);
}

/* Whether the face between cell idx - e_a and idx carries flux. */
static inline PetscBool LeftFaceActive(const struct _p_GFGrid *g, const PetscInt idx[], PetscInt a)
{
  return (PetscBool)(g->bc == GF_BC_PERIODIC || idx[a] > 0);
}

PETSC_INTERN PetscErrorCode GFJKOPDInterpolate(GFJKOPrimalDual *pd, Vec rho_prev, Vec rho_next, Vec theta)
{
  const GFLocalBox  *b = &pd->grid->box;
  const PetscInt     d = pd->dim;
  const PetscScalar *s;
  PetscScalar       *t;
  Vec                sum;

  PetscFunctionBeginUser;
  PetscCall(DMGetGlobalVector(pd->cda, &sum));
  PetscCall(VecWAXPY(sum, 1.0, rho_prev, rho_next));
  PetscCall(DMGlobalToLocal(pd->cda, sum, INSERT_VALUES, pd->cell_local));
  PetscCall(DMRestoreGlobalVector(pd->cda, &sum));
  PetscCall(VecGetArrayRead(pd->cell_local, &s));
  PetscCall(VecGetArray(theta, &t));
  GF_FOR_OWNED(b, i, j, k)
  {
    const PetscInt idx[3] = {i, j, k}, o = GFOwnedIndex(b, i, j, k), li = GFLocalIndex(b, i, j, k);
    for (PetscInt a = 0; a < d; a++) t[d * o + a] = FaceActive(pd->grid, idx, a) ? 0.25 * (s[li] + s[li + GFLocalStride(b, a)]) : 0;
  }
  PetscCall(VecRestoreArray(theta, &t));
  PetscCall(VecRestoreArrayRead(pd->cell_local, &s));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFJKOPDInterpolateTranspose(GFJKOPrimalDual *pd, Vec y_a, Vec y_b, Vec grad)
{
  const GFLocalBox  *b = &pd->grid->box;
  const PetscInt     d = pd->dim;
  const PetscScalar *y;
  PetscScalar       *g;
  Vec                sum;

  PetscFunctionBeginUser;
  PetscCall(DMGetGlobalVector(pd->fda, &sum));
  if (y_b)
    PetscCall(VecWAXPY(sum, 1.0, y_a, y_b));
  else
    PetscCall(VecCopy(y_a, sum));
  PetscCall(DMGlobalToLocal(pd->fda, sum, INSERT_VALUES, pd->face_local));
  PetscCall(DMRestoreGlobalVector(pd->fda, &sum));
  PetscCall(VecGetArrayRead(pd->face_local, &y));
  PetscCall(VecGetArray(grad, &g));
  GF_FOR_OWNED(b, i, j, k)
  {
    const PetscInt idx[3] = {i, j, k}, o = GFOwnedIndex(b, i, j, k), li = GFLocalIndex(b, i, j, k);
    PetscReal      acc = 0;
    for (PetscInt a = 0; a < d; a++) {
      acc += PetscRealPart(y[d * li + a]); /* zero on an inactive face */
      if (LeftFaceActive(pd->grid, idx, a)) acc += PetscRealPart(y[d * (li - GFLocalStride(b, a)) + a]);
    }
    g[o] += 0.25 * acc;
  }
  PetscCall(VecRestoreArray(grad, &g));
  PetscCall(VecRestoreArrayRead(pd->face_local, &y));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFJKOPDAddDivergence(GFJKOPrimalDual *pd, PetscReal scale, Vec m, Vec out)
{
  const GFLocalBox  *b = &pd->grid->box;
  const PetscInt     d = pd->dim;
  const PetscScalar *f;
  PetscScalar       *r;

  PetscFunctionBeginUser;
  PetscCall(DMGlobalToLocal(pd->fda, m, INSERT_VALUES, pd->face_local));
  PetscCall(VecGetArrayRead(pd->face_local, &f));
  PetscCall(VecGetArray(out, &r));
  GF_FOR_OWNED(b, i, j, k)
  {
    const PetscInt idx[3] = {i, j, k}, o = GFOwnedIndex(b, i, j, k), li = GFLocalIndex(b, i, j, k);
    PetscReal      div = 0;
    for (PetscInt a = 0; a < d; a++) {
      PetscReal flux = PetscRealPart(f[d * li + a]);
      if (LeftFaceActive(pd->grid, idx, a)) flux -= PetscRealPart(f[d * (li - GFLocalStride(b, a)) + a]);
      div += flux / pd->grid->h[a];
    }
    r[o] += scale * div;
  }
  PetscCall(VecRestoreArray(out, &r));
  PetscCall(VecRestoreArrayRead(pd->face_local, &f));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The time modes of D D^T (closed form, see the header comment), orthonormalised numerically. */
static void TimeModes(GFJKOPrimalDual *pd)
{
  const PetscInt n = pd->nt;

  for (PetscInt k = 0; k < n; k++) {
    PetscReal norm         = 0;
    pd->time_eigenvalue[k] = 2 - 2 * PetscCosReal((2 * k + 1) * PETSC_PI / (2 * n + 1));
    for (PetscInt l = 0; l < n; l++) {
      pd->time_mode[l][k] = PetscCosReal((l + 0.5) * (2 * k + 1) * PETSC_PI / (2 * n + 1));
      norm += pd->time_mode[l][k] * pd->time_mode[l][k];
    }
    for (PetscInt l = 0; l < n; l++) pd->time_mode[l][k] /= PetscSqrtReal(norm);
  }
}

PETSC_INTERN PetscErrorCode GFJKOPDSetUpProjection(GFJKOPrimalDual *pd)
{
  const GFLocalBox  *b       = &pd->grid->box;
  const PetscInt     d       = pd->dim;
  const PetscReal    inv_nt2 = 1.0 / (pd->nt * pd->nt);
  const PetscScalar *tr, *tm;

  PetscFunctionBeginUser;
  TimeModes(pd);
  PetscCall(DMGlobalToLocal(pd->fda, pd->T_mom, INSERT_VALUES, pd->face_local));
  PetscCall(VecGetArrayRead(pd->T_rho, &tr));
  PetscCall(VecGetArrayRead(pd->face_local, &tm));
  for (PetscInt mode = 0; mode < pd->nt; mode++) {
    Mat A = pd->op[mode];

    PetscCall(MatZeroEntries(A));
    GF_FOR_OWNED(b, i, j, k)
    {
      const PetscInt idx[3] = {i, j, k}, o = GFOwnedIndex(b, i, j, k), li = GFLocalIndex(b, i, j, k);
      MatStencil     row = {k, j, i, 0}, col[7];
      PetscScalar    val[7];
      PetscInt       n = 1;

      col[0] = row;
      val[0] = pd->time_eigenvalue[mode] * tr[o];
      for (PetscInt a = 0; a < d; a++) {
        const PetscReal h2 = pd->grid->h[a] * pd->grid->h[a];
        if (FaceActive(pd->grid, idx, a)) {
          const PetscReal c = inv_nt2 * PetscRealPart(tm[d * li + a]) / h2;
          col[n]            = row;
          col[n].i += a == 0;
          col[n].j += a == 1;
          col[n].k += a == 2;
          val[n++] = -c;
          val[0] += c;
        }
        if (LeftFaceActive(pd->grid, idx, a)) {
          const PetscReal c = inv_nt2 * PetscRealPart(tm[d * (li - GFLocalStride(b, a)) + a]) / h2;
          col[n]            = row;
          col[n].i -= a == 0;
          col[n].j -= a == 1;
          col[n].k -= a == 2;
          val[n++] = -c;
          val[0] += c;
        }
      }
      PetscCall(MatSetValuesStencil(A, 1, &row, n, col, val, INSERT_VALUES));
    }
    PetscCall(MatAssemblyBegin(A, MAT_FINAL_ASSEMBLY));
    PetscCall(MatAssemblyEnd(A, MAT_FINAL_ASSEMBLY));
    PetscCall(KSPSetOperators(pd->ksp[mode], A, A));
  }
  PetscCall(VecRestoreArrayRead(pd->face_local, &tm));
  PetscCall(VecRestoreArrayRead(pd->T_rho, &tr));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFJKOPDProject(GFJKOPrimalDual *pd, Vec rho_old, Vec rho[], Vec mom[])
{
  const GFLocalBox  *b = &pd->grid->box;
  const PetscInt     d = pd->dim, nt = pd->nt;
  const PetscScalar *tr = NULL, *tm = NULL, *lam = NULL, *lam_next = NULL;

  PetscFunctionBeginUser;
  /* the constraint residual of each interval, then into the time modes */
  for (PetscInt l = 0; l < nt; l++) {
    PetscCall(VecWAXPY(pd->rhs[l], -1.0, l ? rho[l - 1] : rho_old, rho[l]));
    PetscCall(GFJKOPDAddDivergence(pd, 1.0 / nt, mom[l], pd->rhs[l]));
  }
  for (PetscInt mode = 0; mode < nt; mode++) {
    KSPConvergedReason reason;
    PetscInt           its;

    PetscCall(VecSet(pd->lambda[mode], 0));
    for (PetscInt l = 0; l < nt; l++) PetscCall(VecAXPY(pd->lambda[mode], pd->time_mode[l][mode], pd->rhs[l]));
    PetscCall(KSPSolve(pd->ksp[mode], pd->lambda[mode], pd->mu[mode]));
    PetscCall(KSPGetConvergedReason(pd->ksp[mode], &reason));
    PetscCall(KSPGetIterationNumber(pd->ksp[mode], &its));
    PetscCheck(reason > 0, pd->grid->comm, PETSC_ERR_NOT_CONVERGED, "the constraint solve of the primal-dual JKO step failed (KSP reason %s); its options have the prefix -jko_pd_", KSPConvergedReasons[reason]);
    pd->linear_iterations += its;
  }
  for (PetscInt l = 0; l < nt; l++) {
    PetscCall(VecSet(pd->lambda[l], 0));
    for (PetscInt mode = 0; mode < nt; mode++) PetscCall(VecAXPY(pd->lambda[l], pd->time_mode[l][mode], pd->mu[mode]));
  }
  /* x -= T A^T lambda: rho^l -= T_rho (lambda_l - lambda_(l+1)), m^l_f -= T_m (lambda_L - lambda_R) / (n_t h) */
  PetscCall(VecGetArrayRead(pd->T_rho, &tr));
  PetscCall(VecGetArrayRead(pd->T_mom, &tm));
  for (PetscInt l = 0; l < nt; l++) {
    PetscScalar *r, *m;

    PetscCall(VecGetArrayRead(pd->lambda[l], &lam));
    if (l + 1 < nt) PetscCall(VecGetArrayRead(pd->lambda[l + 1], &lam_next));
    PetscCall(VecGetArray(rho[l], &r));
    GF_FOR_OWNED(b, i, j, k)
    {
      const PetscInt o = GFOwnedIndex(b, i, j, k);
      r[o] -= tr[o] * (lam[o] - (l + 1 < nt ? lam_next[o] : 0));
    }
    PetscCall(VecRestoreArray(rho[l], &r));
    if (l + 1 < nt) PetscCall(VecRestoreArrayRead(pd->lambda[l + 1], &lam_next));
    PetscCall(VecRestoreArrayRead(pd->lambda[l], &lam));
    PetscCall(DMGlobalToLocal(pd->cda, pd->lambda[l], INSERT_VALUES, pd->cell_local));
    PetscCall(VecGetArrayRead(pd->cell_local, &lam));
    PetscCall(VecGetArray(mom[l], &m));
    GF_FOR_OWNED(b, i, j, k)
    {
      const PetscInt idx[3] = {i, j, k}, o = GFOwnedIndex(b, i, j, k), li = GFLocalIndex(b, i, j, k);
      for (PetscInt a = 0; a < d; a++)
        if (FaceActive(pd->grid, idx, a)) m[d * o + a] -= tm[d * o + a] * (lam[li] - lam[li + GFLocalStride(b, a)]) / (nt * pd->grid->h[a]);
    }
    PetscCall(VecRestoreArray(mom[l], &m));
    PetscCall(VecRestoreArrayRead(pd->cell_local, &lam));
  }
  PetscCall(VecRestoreArrayRead(pd->T_mom, &tm));
  PetscCall(VecRestoreArrayRead(pd->T_rho, &tr));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFJKOPDDestroyProjection(GFJKOPrimalDual *pd)
{
  PetscFunctionBeginUser;
  for (PetscInt l = 0; l < pd->nt; l++) {
    PetscCall(KSPDestroy(&pd->ksp[l]));
    PetscCall(MatDestroy(&pd->op[l]));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
