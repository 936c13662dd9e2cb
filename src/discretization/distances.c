/*
  Distances between two densities on one grid: L1, L2, Linf, relative mass, and W1 and W2 in
  1D. W1 and W2 between two 1D densities given by cell averages on one grid, each taken
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
#include "discretization.h"

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

/* The end u of piece k of a quantile function, and its value at u in that piece. */
static inline PetscReal PieceEnd(const GFQuantile *q, PetscInt k)
{
  return q->F ? q->F[k + 1] : (PetscReal)(k + 1) / (PetscReal)q->n;
}

static inline PetscReal PieceValue(const GFQuantile *q, PetscInt k, PetscReal u)
{
  /* a bin: x0 + h (k + (u - F_k)/mass), without the slope h/mass that overflows on denormal bins */
  if (q->F) return q->x0 + q->h * (k + (u - q->F[k]) / (q->F[k + 1] - q->F[k]));
  return q->x[(q->h < 0 ? q->n - 1 - k : k) - q->x_first];
}

/*
  The half u in [0, 1/2] of int_0^1 |Q_a - Q_b| du and of int_0^1 (Q_a - Q_b)^2 du over the
  pieces i_begin .. i_end-1 of a, passed to add piece by piece. On a piece [u0, u1] of the
  merged breakpoints the error e = Q_a - Q_b is linear: int e^2 = (u1 - u0)(e0^2 + e0 e1 +
  e1^2)/3, int |e| = (u1 - u0)|e0 + e1|/2, or (u1 - u0)(e0^2 + e1^2)/(2(|e0| + |e1|)) when e
  changes sign. Flat pieces of a CDF (empty bins) have no u-length and are stepped over without
  a division. A walk that starts at piece i_begin > 0 takes up b where the walk from 0 would
  be there (the first piece of b ending after u), so the pieces, hence their terms, are the
  same however the pieces of a are split into walks.
*/
PETSC_INTERN void GFQuantileHalfPieces(const GFQuantile *a, PetscInt i_begin, PetscInt i_end, const GFQuantile *b, GFQuantileAdd add, void *ctx)
{
  PetscInt  i = i_begin, j = 0, hi = b->n;
  PetscReal u = i_begin > 0 ? PieceEnd(a, i_begin - 1) : 0;

  while (j < hi) { /* the first piece of b that ends after u */
    const PetscInt mid = (j + hi) / 2;
    if (PieceEnd(b, mid) <= u)
      j = mid + 1;
    else
      hi = mid;
  }
  while (i < i_end && j < b->n && u < 0.5) {
    const PetscReal next = PetscMin(PetscMin(PieceEnd(a, i), PieceEnd(b, j)), 0.5);
    if (next > u) {
      const PetscReal e0 = PieceValue(a, i, u) - PieceValue(b, j, u), e1 = PieceValue(a, i, next) - PieceValue(b, j, next), du = next - u;
      add(ctx, e0 * e1 >= 0 ? 0.5 * du * PetscAbsReal(e0 + e1) : 0.5 * du * (e0 * e0 + e1 * e1) / (PetscAbsReal(e0) + PetscAbsReal(e1)), du * (e0 * e0 + e0 * e1 + e1 * e1) / 3);
      u = next;
    }
    if (PieceEnd(a, i) <= next) i++;
    if (PieceEnd(b, j) <= next) j++;
  }
}

/* Neumaier's compensation of the sums of the pieces (GFQuantileHalfPieces). */
static void AddCompensated(void *ctx, PetscReal abs, PetscReal square)
{
  GFCompensatedSum *sums = (GFCompensatedSum *)ctx;

  GFCompensatedAdd(&sums[0], abs);
  GFCompensatedAdd(&sums[1], square);
}

/* The half u in [0, 1/2] of int_0^1 |Q_a - Q_b| du and of int_0^1 (Q_a - Q_b)^2 du, over all of a, summed with Neumaier's compensation. */
PETSC_INTERN void GFQuantileHalf(const GFQuantile *a, const GFQuantile *b, PetscReal *abs_half, PetscReal *square_half)
{
  GFCompensatedSum sums[2] = {{0, 0}, {0, 0}};

  GFQuantileHalfPieces(a, 0, a->n, b, AddCompensated, sums);
  *abs_half    = sums[0].sum + sums[0].correction;
  *square_half = sums[1].sum + sums[1].correction;
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
  {
    const GFQuantile lower[2] = {{n, left[0], NULL, g->lower[0], h, 0}, {n, left[1], NULL, g->lower[0], h, 0}};
    const GFQuantile upper[2] = {{n, right[0], NULL, g->upper[0], -h, 0}, {n, right[1], NULL, g->upper[0], -h, 0}};
    PetscReal        abs[2], square[2];
    GFQuantileHalf(&lower[0], &lower[1], &abs[0], &square[0]);
    GFQuantileHalf(&upper[0], &upper[1], &abs[1], &square[1]);
    *w2 = PetscSqrtReal(square[0] + square[1]);
  }
  PetscCall(PetscFree4(left[0], left[1], right[0], right[1]));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Distances of rho from ref on one grid, e[GF_DIST_*]: L1, L2, Linf of cell averages (h^d weights), relative mass, and W1, W2 in 1D (0 otherwise). */
PETSC_INTERN PetscErrorCode GFGridDistances(GFGrid g, Vec rho, Vec ref, PetscReal e[])
{
  Vec       d;
  PetscReal mass, mass_ref;

  PetscFunctionBeginUser;
  PetscCall(VecDuplicate(rho, &d));
  PetscCall(VecWAXPY(d, -1, ref, rho));
  PetscCall(VecNorm(d, NORM_1, &e[GF_DIST_L1]));
  PetscCall(VecNorm(d, NORM_2, &e[GF_DIST_L2]));
  PetscCall(VecNorm(d, NORM_INFINITY, &e[GF_DIST_LINF]));
  PetscCall(VecDestroy(&d));
  e[GF_DIST_L1] *= g->cell_volume;
  e[GF_DIST_L2] *= PetscSqrtReal(g->cell_volume);
  PetscCall(GFGridIntegrate(g, rho, &mass));
  PetscCall(GFGridIntegrate(g, ref, &mass_ref));
  e[GF_DIST_MASS] = PetscAbsReal(mass - mass_ref) / PetscAbsReal(mass_ref);
  e[GF_DIST_W1] = e[GF_DIST_W2] = 0;
  if (g->dim == 1) PetscCall(GFGridWasserstein1D(g, rho, ref, &e[GF_DIST_W1], &e[GF_DIST_W2]));
  PetscFunctionReturn(PETSC_SUCCESS);
}
