/*
  W1 and W2 between two 1D densities given by cell averages on one grid, each taken
  piecewise constant and normalised to a probability. The CDFs are then piecewise
  linear, so W1 = int |F - G| dx is exact cell by cell (split where F - G changes
  sign), and the quantile functions are piecewise linear between the merged
  breakpoints of F and G, so W2^2 = int_0^1 (Q_F - Q_G)^2 du is exact interval by
  interval.

  Precision: where F is near 1, 1 - F summed from the left carries the roundoff of
  the whole sum (1e-16), which moves the quantiles of a thin right tail by up to a
  cell and puts a floor of about sqrt(1e-16 h) under W2. So the lower half u < 1/2
  uses sums from the left and the upper half sums from the right (the mirrored
  problem), and each tail is as precise as its own mass.
*/
#include "../gradflow_impl.h"

/* A density's cell averages in natural order, on every rank (a sequential Vec; destroy it). */
PETSC_INTERN PetscErrorCode GFGridGatherNatural(GFGrid g, Vec v, Vec *all)
{
  Vec        natural;
  VecScatter scatter;

  PetscFunctionBeginUser;
  PetscCall(DMDACreateNaturalVector(g->da, &natural));
  PetscCall(DMDAGlobalToNaturalBegin(g->da, v, INSERT_VALUES, natural));
  PetscCall(DMDAGlobalToNaturalEnd(g->da, v, INSERT_VALUES, natural));
  PetscCall(VecScatterCreateToAll(natural, &scatter, all));
  PetscCall(VecScatterBegin(scatter, natural, *all, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(scatter, natural, *all, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterDestroy(&scatter));
  PetscCall(VecDestroy(&natural));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  int_0^{1/2} (Q_F(u) - Q_G(u))^2 du for CDFs given at the n + 1 cell edges x0 + i h
  (F[0] = G[0] = 0, nondecreasing); h < 0 walks the grid from its upper end.
*/
static PetscReal GFLowerHalfW2(PetscInt n, const PetscReal F[], const PetscReal G[], PetscReal x0, PetscReal h)
{
  PetscInt  i = 0, j = 0;
  PetscReal u = 0, sum = 0;

  while (i < n && j < n && u < 0.5) {
    const PetscReal next = PetscMin(PetscMin(F[i + 1], G[j + 1]), 0.5);
    if (next > u) {
      /* on [u, next] Q_F(v) = x0 + h (i + (v - F[i]) / (F[i+1] - F[i])), likewise Q_G */
      const PetscReal f0 = x0 + h * (i + (u - F[i]) / (F[i + 1] - F[i])), f1 = x0 + h * (i + (next - F[i]) / (F[i + 1] - F[i]));
      const PetscReal g0 = x0 + h * (j + (u - G[j]) / (G[j + 1] - G[j])), g1 = x0 + h * (j + (next - G[j]) / (G[j + 1] - G[j]));
      const PetscReal e0 = f0 - g0, e1 = f1 - g1;
      sum += (next - u) * (e0 * e0 + e0 * e1 + e1 * e1) / 3;
      u = next;
    }
    if (F[i + 1] <= next) i++;
    if (G[j + 1] <= next) j++;
  }
  return sum;
}

/* W1 and W2 between two 1D densities (negative values count as 0), on every rank. */
PetscErrorCode GFGridWasserstein1D(GFGrid g, Vec a, Vec b, PetscReal *w1, PetscReal *w2)
{
  const PetscInt  n = g->cells[0];
  const PetscReal h = g->h[0];
  Vec             all[2];
  PetscReal      *left[2], *right[2], total[2];

  PetscFunctionBeginUser;
  PetscCheck(g->dim == 1, g->comm, PETSC_ERR_SUP, "W1 and W2 from CDFs are for 1D grids; this one is %" PetscInt_FMT "D", g->dim);
  PetscCall(PetscMalloc4(n + 1, &left[0], n + 1, &left[1], n + 1, &right[0], n + 1, &right[1]));
  for (int k = 0; k < 2; k++) {
    const PetscScalar *p;
    PetscCall(GFGridGatherNatural(g, k ? b : a, &all[k]));
    PetscCall(VecGetArrayRead(all[k], &p));
    /* left[k][i]: mass of the cells below edge i; right[k][i]: mass of the last i cells */
    left[k][0] = right[k][0] = 0;
    for (PetscInt i = 0; i < n; i++) {
      left[k][i + 1]  = left[k][i] + PetscMax(PetscRealPart(p[i]), 0) * h;
      right[k][i + 1] = right[k][i] + PetscMax(PetscRealPart(p[n - 1 - i]), 0) * h;
    }
    PetscCall(VecRestoreArrayRead(all[k], &p));
    PetscCall(VecDestroy(&all[k]));
    PetscCheck(left[k][n] > 0, g->comm, PETSC_ERR_ARG_WRONG, "W1/W2 of a density without positive mass");
    total[k] = left[k][n];
    for (PetscInt i = 0; i <= n; i++) {
      left[k][i] /= total[k];
      right[k][i] /= total[k];
    }
  }
  /* W1: F - G at edge i, from whichever side of the median is nearer */
  *w1 = 0;
  for (PetscInt i = 0; i < n; i++) {
    const PetscReal d0 = left[0][i] < 0.5 ? left[0][i] - left[1][i] : right[1][n - i] - right[0][n - i];
    const PetscReal d1 = left[0][i + 1] < 0.5 ? left[0][i + 1] - left[1][i + 1] : right[1][n - i - 1] - right[0][n - i - 1];
    if (d0 * d1 >= 0)
      *w1 += 0.5 * h * PetscAbsReal(d0 + d1);
    else
      *w1 += 0.5 * h * (d0 * d0 + d1 * d1) / (PetscAbsReal(d0) + PetscAbsReal(d1));
  }
  *w2 = PetscSqrtReal(GFLowerHalfW2(n, left[0], left[1], g->lower[0], h) + GFLowerHalfW2(n, right[0], right[1], g->upper[0], -h));
  PetscCall(PetscFree4(left[0], left[1], right[0], right[1]));
  PetscFunctionReturn(PETSC_SUCCESS);
}
