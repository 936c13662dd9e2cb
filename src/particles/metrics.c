/*
  Metrics of a particle cloud (n points of weight 1/n) against a density q given by its cell
  probabilities on a uniform box grid, uniform within each cell (GFCompareDensity): exact 1D
  W1 and W2, the W1 sampling floor, the histogram L1 distance, sliced W2 (the Gaussian-kernel
  MMD in mmd.c); for a cloud on the calling rank, and (*Distributed) for one spread over the
  ranks, which no rank gathers.

  1D distances walk the quantile functions of both measures at once: Q_n is a step function,
  Q_G is linear between the knots of G, so Q_n - Q_G is linear on every merged piece and its
  square and absolute value integrate exactly. As in distances.c (GFQuantileHalf), u < 1/2 uses cumulative
  sums from the left and u > 1/2 the mirrored problem with sums from the right, so each tail
  is as precise as its own mass. A piece's terms need only its points' global ranks: points
  spread over the ranks are sorted over them (GFSampleSort), each rank walks the pieces of its
  part, and the terms are summed exactly (GFExactSum), so the distance is the same bits
  however the points are split. Histograms are counted in integers and summed over the ranks.
*/
#include "particles.h"

/* Knots per smallest cell width at which a slice resolves the projected density. */
#define GF_METRIC_SLICE_REFINEMENT 16
/* A projected cell width below this fraction of the largest one counts as a point. */
#define GF_METRIC_SLICE_POINT_WIDTH 1e-6
/* The W1 floor resolves the kinks at n s = k for k up to this (from either end of the CDF). */
#define GF_METRIC_FLOOR_KINKS 16384
/* Gauss-Legendre points per piece of the W1 floor's integral. */
#define GF_METRIC_FLOOR_POINTS 8

/* The CDFs of the m bin masses (>= 0, positive sum) from the left and from the right, normalised: left[j] the mass of the first j bins, right[j] of the last j (m + 1 entries each, 0 to 1). */
static void GFBinsCumulative(PetscInt m, const PetscReal mass[], PetscReal left[], PetscReal right[])
{
  PetscReal total_left, total_right;

  left[0] = right[0] = 0;
  for (PetscInt j = 0; j < m; j++) {
    left[j + 1]  = left[j] + mass[j];
    right[j + 1] = right[j] + mass[m - 1 - j];
  }
  total_left  = left[m];
  total_right = right[m];
  for (PetscInt j = 0; j <= m; j++) {
    left[j] /= total_left;
    right[j] /= total_right;
  }
}

/* A piece's terms of W1 and W2^2 (GFQuantileHalfPieces) added exactly. */
static void GFAddExact(void *ctx, PetscReal abs, PetscReal square)
{
  GFExactSum *sums = (GFExactSum *)ctx;

  GFExactSumAdd(&sums[0], abs);
  GFExactSumAdd(&sums[1], square);
}

/*
  This rank's terms of W1 = int_0^1 |Q_n - Q_G| du (= int |F_n - G| dx) and W2^2 = int_0^1
  (Q_n - Q_G)^2 du, added to sums[0] and sums[1], between the empirical measure of n sorted
  points, of which xs holds x_(first) .. x_(first + count - 1), and the density with the bins
  [lower + j h, lower + (j + 1) h] (upper = lower + m h) of the CDFs left, right
  (GFBinsCumulative): the pieces of those points in the lower half of u from the left, in the
  upper half from the right (GFQuantileHalfPieces), each half as precise as its own tail.
*/
static void GFQuantileDistancesPart(PetscInt n, PetscInt first, PetscInt count, const PetscReal xs[], PetscInt m, const PetscReal left[], const PetscReal right[], PetscReal lower, PetscReal upper, PetscReal h, GFExactSum sums[2])
{
  const GFQuantile sample[2] = {{n, NULL, xs, 0, 1, first}, {n, NULL, xs, 0, -1, first}}, density[2] = {{m, left, NULL, lower, h, 0}, {m, right, NULL, upper, -h, 0}};

  GFQuantileHalfPieces(&sample[0], first, first + count, &density[0], GFAddExact, sums);
  GFQuantileHalfPieces(&sample[1], n - first - count, n - first, &density[1], GFAddExact, sums);
}

/* Total of the cell probabilities, checked positive (nonnegative entries are the contract). */
PETSC_INTERN PetscErrorCode GFCompareDensityTotal(const GFCompareDensity *q, PetscReal *total)
{
  GFCompensatedSum sum = {0, 0};

  PetscFunctionBeginUser;
  for (PetscInt c = 0; c < q->ncells; c++) {
    PetscCheck(q->p[c] >= 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Cell %" PetscInt_FMT " of the density has probability %g; probabilities must be >= 0", c, (double)q->p[c]);
    GFCompensatedAdd(&sum, q->p[c]);
  }
  *total = sum.sum + sum.correction;
  PetscCheck(*total > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "The density has no positive mass (its cell probabilities sum to %g)", (double)*total);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* W1 and W2 of the n points sorted over the ranks of comm (this rank's part: x_(first) .. x_(first + count - 1) in xs) against the 1D density q, every term summed exactly: the same bits on any number of ranks. Collective. */
static PetscErrorCode GFMetricWasserstein1DPart(MPI_Comm comm, const GFCompareDensity *q, PetscInt n, PetscInt first, PetscInt count, const PetscReal xs[], PetscReal *w1, PetscReal *w2)
{
  const PetscInt m = q->cells[0];
  PetscReal     *left, *right, total;
  GFExactSum     sums[2];

  PetscFunctionBeginUser;
  PetscCheck(q->dim == 1, PETSC_COMM_SELF, PETSC_ERR_SUP, "W1 and W2 of quantile functions are for 1D densities; this one is %" PetscInt_FMT "D (use the sliced W2)", q->dim);
  PetscCheck(n > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "W1/W2 of %" PetscInt_FMT " particles; need at least one", n);
  PetscCall(GFCompareDensityTotal(q, &total));
  PetscCall(PetscMalloc2(m + 1, &left, m + 1, &right));
  GFBinsCumulative(m, q->p, left, right);
  GFExactSumInit(&sums[0]);
  GFExactSumInit(&sums[1]);
  GFQuantileDistancesPart(n, first, count, xs, m, left, right, q->lower[0], q->upper[0], q->h[0], sums);
  PetscCall(GFExactSumAllreduce(comm, 2, sums));
  *w1 = GFExactSumValue(&sums[0]);
  *w2 = PetscSqrtReal(GFExactSumValue(&sums[1]));
  PetscCall(PetscFree2(left, right));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Exact W1 and W2 of the empirical measure of x_sorted against the 1D density q, O(n + cells) (GFQuantileDistancesPart). */
PetscErrorCode GFMetricWasserstein1D(const GFCompareDensity *q, PetscInt n, const PetscReal x_sorted[], PetscReal *w1, PetscReal *w2)
{
  PetscFunctionBeginUser;
  PetscCheck(q->dim == 1, PETSC_COMM_SELF, PETSC_ERR_SUP, "W1 and W2 of quantile functions are for 1D densities; this one is %" PetscInt_FMT "D (use the sliced W2)", q->dim);
  PetscCheck(n > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "W1/W2 of %" PetscInt_FMT " particles; need at least one", n);
  for (PetscInt i = 0; i + 1 < n; i++)
    PetscCheck(x_sorted[i] <= x_sorted[i + 1], PETSC_COMM_SELF, PETSC_ERR_ARG_WRONG, "Particles %" PetscInt_FMT " and %" PetscInt_FMT " are not in ascending order (%g, %g): W1/W2 need sorted positions", i, i + 1, (double)x_sorted[i],
               (double)x_sorted[i + 1]);
  PetscCall(GFMetricWasserstein1DPart(PETSC_COMM_SELF, q, n, 0, n, x_sorted, w1, w2));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The same for n points spread over the ranks of comm, nlocal of them in x (sorted here, in place): sorted over the ranks (GFSampleSort), then each rank walks its part. Collective. */
PETSC_INTERN PetscErrorCode GFMetricWasserstein1DDistributed(MPI_Comm comm, const GFCompareDensity *q, PetscInt n, PetscInt nlocal, PetscReal x[], PetscReal *w1, PetscReal *w2)
{
  PetscReal *part;
  PetscInt   first, count;

  PetscFunctionBeginUser;
  PetscCall(GFSampleSort(comm, nlocal, x, &count, &part, &first));
  PetscCall(GFMetricWasserstein1DPart(comm, q, n, first, count, part, w1, w2));
  PetscCall(PetscFree(part));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* ln k! - ((k + 1/2) ln k - k + ln sqrt(2 pi)), the error of Stirling's formula: lgamma below 16, its asymptotic series above (C. Loader, "Fast and accurate computation of binomial probabilities", 2000). */
static PetscReal GFStirlingError(PetscInt k)
{
  const PetscReal kk = (PetscReal)k, k2 = kk * kk;

  if (k < 16) return lgamma(kk + 1) - (kk + 0.5) * PetscLogReal(kk) + kk - 0.5 * PetscLogReal(2 * PETSC_PI);
  return (1.0 / 12 - (1.0 / 360 - (1.0 / 1260 - (1.0 / 1680 - 1.0 / (1188 * k2)) / k2) / k2) / k2) / kk;
}

/* The deviance x ln(x / mu) + mu - x >= 0, by its series in v = (x - mu)/(x + mu) when x is near mu (Loader 2000). */
static PetscReal GFDeviance(PetscReal x, PetscReal mu)
{
  if (PetscAbsReal(x - mu) < 0.1 * (x + mu)) {
    const PetscReal v   = (x - mu) / (x + mu);
    PetscReal       sum = (x - mu) * v, term = 2 * x * v;

    for (PetscInt j = 1; j < 100; j++) {
      const PetscReal previous = sum;
      term *= v * v;
      sum += term / (2 * j + 1);
      if (sum == previous) break;
    }
    return sum;
  }
  return x * PetscLogReal(x / mu) + mu - x;
}

/* P(B = k), B ~ Binomial(n, p), 0 < k < n, with p_complement = 1 - p given separately: Loader's saddle-point form exp(-stirlerr and deviance terms) sqrt(n / (2 pi k (n - k))), accurate to round-off for any n. */
static PetscReal GFBinomialProbability(PetscInt k, PetscInt n, PetscReal p, PetscReal p_complement)
{
  const PetscReal exponent = GFStirlingError(n) - GFStirlingError(k) - GFStirlingError(n - k) - GFDeviance((PetscReal)k, n * p) - GFDeviance((PetscReal)(n - k), n * p_complement);

  return PetscExpReal(exponent) * PetscSqrtReal((PetscReal)n / (2 * PETSC_PI * (PetscReal)k * (PetscReal)(n - k)));
}

/*
  E|B/n - s| for B ~ Binomial(n, s), 0 <= s <= 1/2: de Moivre's mean absolute deviation
  E|B - n s| = 2 (n - nu + 1) C(n, nu - 1) s^nu (1 - s)^(n - nu + 1), nu = floor(n s) + 1, that is
  2 (n - k) s P(B = k) with k = floor(n s) (P. Diaconis, S. Zabell, "Closed form summation for
  classical distributions", Statist. Sci. 6, 1991).
*/
static PetscReal GFBinomialMeanDeviation(PetscInt n, PetscReal s)
{
  const PetscInt k = (PetscInt)PetscFloorReal(n * s);

  if (s <= 0) return 0;
  if (k == 0) return 2 * s * PetscExpReal(n * log1p(-s));
  return 2 * (PetscReal)(n - k) * s * GFBinomialProbability(k, n, s, 1 - s) / n;
}

/* int_{t0}^{t1} E|B/n - s(t)| dt, s(t) = s0 + slope t, by Gauss-Legendre on the points gx, weights gw of [0, 1]. */
static PetscReal GFFloorPiece(PetscInt n, PetscReal s0, PetscReal slope, PetscReal t0, PetscReal t1, const PetscReal gx[], const PetscReal gw[])
{
  PetscReal sum = 0;

  for (PetscInt i = 0; i < GF_METRIC_FLOOR_POINTS; i++) sum += gw[i] * GFBinomialMeanDeviation(n, s0 + slope * (t0 + (t1 - t0) * gx[i]));
  return (t1 - t0) * sum;
}

/*
  The part of int E|B(n, G(x))/n - G(x)| dx where the CDF s (G from the left, or 1 - G from the
  right when from_top) is <= 1/2. On cell c, s = a + p_c t with t in [0, 1] across the cell. The
  integrand is smooth between the kinks s = k/n: pieces end at every kink with k <= kinks; above,
  where the kinks' ripple is of relative size ~1/(20 k) and averages out over a piece, pieces double
  in s (measured: within 2e-7 of the integral with every kink resolved, for n from 5e4 to 1e7).
*/
static PetscReal GFFloorHalf(const GFCompareDensity *q, PetscReal total, PetscInt n, PetscBool from_top, const PetscReal gx[], const PetscReal gw[])
{
  const PetscInt   m = q->cells[0], kinks = PetscMin(GF_METRIC_FLOOR_KINKS, n);
  PetscReal        a   = 0;
  GFCompensatedSum sum = {0, 0};

  for (PetscInt c = 0; c < m && a < 0.5; c++) {
    const PetscReal p     = q->p[from_top ? m - 1 - c : c] / total;
    const PetscReal T     = a + p <= 0.5 ? 1 : (0.5 - a) / p;
    const PetscReal s_end = a + p * T;
    PetscReal       t0 = 0, cell = 0;

    if (p == 0)
      cell = GFBinomialMeanDeviation(n, a);
    else {
      for (PetscInt k = (PetscInt)PetscFloorReal(n * a) + 1; k <= kinks && (PetscReal)k < n * s_end; k++) {
        const PetscReal t1 = PetscMin(PetscMax(((PetscReal)k / n - a) / p, t0), T);
        cell += GFFloorPiece(n, a, p, t0, t1, gx, gw);
        t0 = t1;
      }
      while (t0 < T) {
        const PetscReal s_next = 2 * (a + p * t0);
        PetscReal       t1     = s_next >= s_end ? T : (s_next - a) / p;
        if (!(t1 > t0)) t1 = T;
        cell += GFFloorPiece(n, a, p, t0, t1, gx, gw);
        t0 = t1;
      }
    }
    GFCompensatedAdd(&sum, q->h[0] * cell);
    a += p;
  }
  return sum.sum + sum.correction;
}

/* The sampling floor E[W1(P_n, q)] = int E|B(n, G(x))/n - G(x)| dx (GFBinomialMeanDeviation), integrated over each half of the CDF from its own end (GFFloorHalf). */
PetscErrorCode GFMetricW1Floor(const GFCompareDensity *q, PetscInt n, PetscReal *floor)
{
  PetscReal total, gx[GF_METRIC_FLOOR_POINTS], gw[GF_METRIC_FLOOR_POINTS];

  PetscFunctionBeginUser;
  PetscCheck(q->dim == 1, PETSC_COMM_SELF, PETSC_ERR_SUP, "The W1 sampling floor is for 1D densities; this one is %" PetscInt_FMT "D", q->dim);
  PetscCheck(n > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "W1 floor of %" PetscInt_FMT " samples; need at least one", n);
  PetscCall(GFCompareDensityTotal(q, &total));
  PetscCall(PetscDTGaussQuadrature(GF_METRIC_FLOOR_POINTS, 0, 1, gx, gw));
  *floor = GFFloorHalf(q, total, n, PETSC_FALSE, gx, gw) + GFFloorHalf(q, total, n, PETSC_TRUE, gx, gw);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The cell of q containing x along axis a, or -1 when x is outside a no-flux box (or not finite):
  periodic positions are wrapped into [lower, upper) first; a point on an interior edge lower + i h
  belongs to cell i, a point on the upper wall to the last cell.
*/
static PetscInt GFCompareDensityCell(const GFCompareDensity *q, PetscInt a, PetscReal x)
{
  const PetscReal lower = q->lower[a], upper = q->upper[a], h = q->h[a];
  const PetscInt  cells = q->cells[a];
  PetscInt        i;

  if (PetscIsInfOrNanReal(x)) return -1;
  if (q->bc == GF_BC_PERIODIC && !(x >= lower && x < upper)) {
    const PetscReal L = upper - lower;
    PetscReal       r = PetscFmodReal(x - lower, L);
    if (r < 0) r += L;
    if (!(r < L)) r = 0;
    x = lower + r;
  }
  if (!(x >= lower && x <= upper)) return -1;
  i = (PetscInt)PetscFloorReal((x - lower) / h);
  i = PetscMin(PetscMax(i, 0), cells - 1);
  while (i > 0 && x < lower + i * h) i--;
  while (i < cells - 1 && x >= lower + (i + 1) * h) i++;
  return i;
}

/* l1 = sum_c |count_c / n - p_c| + (particles outside the box) / n for the histogram on q's cells (GFCompareDensityCell) of the n particles spread over the ranks of comm, nlocal of them in x: the counts summed over the ranks (exact integers), then
 * the same sum on every rank. Collective. */
PETSC_INTERN PetscErrorCode GFMetricL1Distributed(MPI_Comm comm, const GFCompareDensity *q, PetscInt n, PetscInt nlocal, const PetscReal x[], PetscReal *l1)
{
  PetscInt64      *counts; /* ncells cells, then the particles outside */
  PetscReal        total;
  GFCompensatedSum sum = {0, 0};

  PetscFunctionBeginUser;
  PetscCheck(n > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "L1 of %" PetscInt_FMT " particles; need at least one", n);
  PetscCall(GFCompareDensityTotal(q, &total));
  PetscCall(PetscCalloc1(q->ncells + 1, &counts));
  for (PetscInt i = 0; i < nlocal; i++) {
    PetscInt c = 0, stride = 1;
    for (PetscInt a = 0; a < q->dim && c >= 0; a++) {
      const PetscInt cell = GFCompareDensityCell(q, a, x[i * q->dim + a]);
      c                   = cell < 0 ? -1 : c + stride * cell;
      stride *= q->cells[a];
    }
    counts[c < 0 ? q->ncells : c]++;
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, counts, (PetscMPIInt)(q->ncells + 1), MPIU_INT64, MPI_SUM, comm));
  for (PetscInt c = 0; c < q->ncells; c++) GFCompensatedAdd(&sum, PetscAbsReal((PetscReal)counts[c] / n - q->p[c] / total));
  *l1 = sum.sum + sum.correction + (PetscReal)counts[q->ncells] / n;
  PetscCall(PetscFree(counts));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The same for the n particles x, all on the calling rank. */
PetscErrorCode GFMetricL1(const GFCompareDensity *q, PetscInt n, const PetscReal x[], PetscReal *l1)
{
  PetscFunctionBeginUser;
  PetscCall(GFMetricL1Distributed(PETSC_COMM_SELF, q, n, n, x, l1));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The unit direction of slice s: the first dim of the normals of blocks GF_RANDOM_BLOCK_DIRECTION + 0, 1 of stream (seed, s, step 0), normalised. */
PETSC_INTERN void GFMetricSliceDirection(uint64_t seed, PetscInt s, PetscInt dim, PetscReal theta[])
{
  PetscReal z[4], norm = 0;

  GFRandomNormals(seed, (uint64_t)s, 0, GF_RANDOM_BLOCK_DIRECTION, z);
  GFRandomNormals(seed, (uint64_t)s, 0, GF_RANDOM_BLOCK_DIRECTION + 1, z + 2);
  for (PetscInt a = 0; a < dim; a++) norm += z[a] * z[a];
  norm = PetscSqrtReal(norm);
  for (PetscInt a = 0; a < dim; a++) theta[a] = norm > 0 ? z[a] / norm : (a == 0);
}

/* The law of U_0 + ... + U_{d-1}, U_a ~ U(0, w_a) independent, w descending, with the reciprocals its CDF needs. */
typedef struct {
  PetscInt  d;
  PetscReal w[3], W;
  PetscReal inv_w0, inv_w2, inv_2w0w1, inv_6w0w1;
} GFBoxSpline;

/* The box spline of the d widths w (any order, all > 0). */
static void GFBoxSplineSetUp(PetscInt d, const PetscReal w[], GFBoxSpline *b)
{
  b->d = d;
  b->W = 0;
  for (PetscInt a = 0; a < d; a++) b->w[a] = w[a];
  for (PetscInt a = d; a < 3; a++) b->w[a] = 0;
  for (PetscInt i = 0; i < d; i++)
    for (PetscInt k = i + 1; k < d; k++)
      if (b->w[k] > b->w[i]) {
        const PetscReal swap = b->w[i];
        b->w[i]              = b->w[k];
        b->w[k]              = swap;
      }
  for (PetscInt a = 0; a < d; a++) b->W += b->w[a];
  b->inv_w0    = 1 / b->w[0];
  b->inv_w2    = d == 3 ? 1 / b->w[2] : 0;
  b->inv_2w0w1 = d >= 2 ? 1 / (2 * b->w[0] * b->w[1]) : 0;
  b->inv_6w0w1 = d >= 2 ? 1 / (6 * b->w[0] * b->w[1]) : 0;
}

/*
  (1/w2) int_{tau-w2}^{tau} F2(x) dx, F2 the CDF of U(0, w0) + U(0, w1) (a trapezoid density), for
  tau <= W/2 < w0 + w1: the window's pieces on [0, w1] (F2 = x^2/(2 w0 w1)), [w1, w0]
  (F2 = (x - w1/2)/w0) and [w0, w0 + w1] (F2 = 1 - (w0 + w1 - x)^2/(2 w0 w1)), each as its length
  times the mean of F2 on it: all terms >= 0, and the lengths are measured from tau, so a narrow
  window w2 << tau loses nothing.
*/
static PetscReal GFTrapezoidWindowMean(const GFBoxSpline *b, PetscReal tau)
{
  const PetscReal w0 = b->w[0], w1 = b->w[1], breaks[3] = {0, w1, w0};
  PetscReal       d_left = b->w[2], sum = 0;

  for (PetscInt piece = 0; piece <= 3 && d_left > 0; piece++) {
    const PetscReal d_right = piece < 3 ? PetscMin(PetscMax(tau - breaks[piece], 0), b->w[2]) : 0;

    if (d_right < d_left) {
      const PetscReal y0 = tau - d_left, y1 = tau - d_right, length = d_left - d_right;
      if (piece == 1)
        sum += length * (y0 * y0 + y0 * y1 + y1 * y1) * b->inv_6w0w1;
      else if (piece == 2)
        sum += length * (y0 + y1 - w1) * 0.5 * b->inv_w0;
      else if (piece == 3) {
        const PetscReal z0 = w0 + w1 - y0, z1 = w0 + w1 - y1;
        sum += length * (1 - (z0 * z0 + z0 * z1 + z1 * z1) * b->inv_6w0w1);
      }
      d_left = d_right;
    }
  }
  return sum * b->inv_w2;
}

/*
  The box spline's CDF at tau in [0, W/2], (1/(d! prod w)) sum_S (-1)^|S| (tau - sum_S w)_+^d,
  evaluated without that formula's cancellation: tau/w0; the trapezoid tau^2/(2 w0 w1) or
  (tau - w1/2)/w0; for d = 3 the mean of the trapezoid's CDF over the window [tau - w2, tau]
  (GFTrapezoidWindowMean). The upper half is 1 - F(W - tau) by symmetry.
*/
static inline PetscReal GFBoxSplineLowerCDF(const GFBoxSpline *b, PetscReal tau)
{
  if (tau <= 0) return 0;
  if (b->d == 1) return tau * b->inv_w0;
  if (b->d == 2) return tau <= b->w[1] ? tau * tau * b->inv_2w0w1 : (tau - 0.5 * b->w[1]) * b->inv_w0;
  return GFTrapezoidWindowMean(b, tau);
}

/* Work of the projected W2: the projected particles, the bin masses of the projected density and their cumulative sums. */
typedef struct {
  PetscInt   bins_max;
  PetscReal *t, *mass, *left, *right;
} GFSliceWork;

/* The largest number of knot intervals of any projection of q with refinement knots per smallest cell width, and the work arrays for it. */
static PetscErrorCode GFSliceWorkCreate(const GFCompareDensity *q, PetscInt n, PetscInt refinement, GFSliceWork *work)
{
  PetscReal length = 0, h_min = PETSC_MAX_REAL;

  PetscFunctionBeginUser;
  for (PetscInt a = 0; a < q->dim; a++) {
    length += q->upper[a] - q->lower[a];
    h_min = PetscMin(h_min, q->h[a]);
  }
  /* the spacing is at least (h_min / refinement) / (1 + sqrt(3) / refinement) (GFMetricProjectedW2_Work) */
  work->bins_max = (PetscInt)PetscCeilReal(length / (h_min / refinement) * (1 + 2.0 / refinement)) + 2;
  PetscCall(PetscMalloc4(n, &work->t, work->bins_max, &work->mass, work->bins_max + 1, &work->left, work->bins_max + 1, &work->right));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Free the slice work arrays. */
static PetscErrorCode GFSliceWorkDestroy(GFSliceWork *work)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree4(work->t, work->mass, work->left, work->right));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The projection theta # q as bin masses work->mass[0 .. *bins) on the bins of width *D from
  *box_lower. Coordinates are taken from q's lower corner. Cell c projects to t_c + U_0 + ... +
  U_{d-1}, U_a ~ U(0, |theta_a| h_a) (widths below GF_METRIC_SLICE_POINT_WIDTH of the largest
  become a point at their centre); its CDF is evaluated exactly (GFBoxSplineLowerCDF) at the
  knots T + j D that its support covers, and the differences are the cell's masses in the bins
  between knots; D <= |theta| min_a h_a / refinement divides the largest projected cell width,
  so along an axis the cell edges are knots and the result exact. The projected density is then
  taken uniform within each bin and W2 is exact for it (GFQuantileDistancesPart); against the
  true projection this moves each quantile by at most the linear interpolation error of its
  CDF, D^2 max|f'|/(8 f), second order in D where the projection is smooth (at 16 knots per
  cell, 2e-5 to 5e-4 of W2^2 in the tests and benchmarks).
*/
static PetscErrorCode GFSliceDensity(const GFCompareDensity *q, const PetscReal theta[], PetscInt refinement, GFSliceWork *work, PetscInt *bins, PetscReal *box_lower, PetscReal *D)
{
  const PetscInt dim  = q->dim;
  PetscReal      norm = 0, h_min = PETSC_MAX_REAL, width_max = 0, width[3], active[3], cell_offset = 0, lower = 0, upper = 0, W;
  PetscInt       nactive = 0;
  GFBoxSpline    spline;

  PetscFunctionBeginUser;
  for (PetscInt a = 0; a < dim; a++) {
    norm += theta[a] * theta[a];
    h_min     = PetscMin(h_min, q->h[a]);
    width[a]  = PetscAbsReal(theta[a]) * q->h[a];
    width_max = PetscMax(width_max, width[a]);
    cell_offset += PetscMin(0, theta[a] * q->h[a]);
    lower += PetscMin(0, theta[a] * (q->upper[a] - q->lower[a]));
    upper += PetscMax(0, theta[a] * (q->upper[a] - q->lower[a]));
  }
  norm = PetscSqrtReal(norm);
  PetscCheck(norm > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Projection onto the zero vector");
  for (PetscInt a = 0; a < dim; a++) {
    if (width[a] >= GF_METRIC_SLICE_POINT_WIDTH * width_max)
      active[nactive++] = width[a];
    else
      cell_offset += 0.5 * width[a];
  }
  GFBoxSplineSetUp(nactive, active, &spline);
  W = spline.W;
  /* the largest spacing allowed, shrunk to divide the largest projected width: along an axis the cell edges are knots */
  *D         = norm * h_min / refinement;
  *D         = width_max / PetscCeilReal(width_max / *D);
  *bins      = PetscMax((PetscInt)PetscCeilReal((upper - lower) / *D), 1);
  *box_lower = lower;
  PetscCheck(*bins <= work->bins_max, PETSC_COMM_SELF, PETSC_ERR_PLIB, "Projection needs %" PetscInt_FMT " bins, more than the %" PetscInt_FMT " allocated", *bins, work->bins_max);
  PetscCall(PetscArrayzero(work->mass, *bins));
  for (PetscInt c = 0; c < q->ncells; c++) {
    const PetscReal p     = q->p[c];
    PetscReal       start = cell_offset - lower, v_previous = 0;
    PetscInt        rest           = c, j_first, j_last, bin;
    PetscBool       upper_previous = PETSC_FALSE;

    if (p == 0) continue;
    for (PetscInt a = 0; a < dim; a++) {
      start += theta[a] * (PetscReal)(rest % q->cells[a]) * q->h[a];
      rest /= q->cells[a];
    }
    /* knots strictly inside the support [start, start + W] of the cell's projection */
    j_first = (PetscInt)PetscFloorReal(start / *D) + 1;
    j_last  = (PetscInt)PetscCeilReal((start + W) / *D) - 1;
    for (PetscInt j = j_first; j <= j_last; j++) {
      const PetscReal tau   = j * *D - start;
      const PetscBool upper = tau > 0.5 * W ? PETSC_TRUE : PETSC_FALSE;
      const PetscReal v     = GFBoxSplineLowerCDF(&spline, upper ? W - tau : tau);
      PetscReal       increment;

      /* F = v below the middle of the support, 1 - v above it */
      if (!upper_previous && !upper)
        increment = v - v_previous;
      else if (!upper_previous)
        increment = (0.5 - v_previous) + (0.5 - v);
      else
        increment = v_previous - v;
      bin = PetscMin(PetscMax(j - 1, 0), *bins - 1);
      work->mass[bin] += p * PetscMax(increment, 0);
      v_previous     = v;
      upper_previous = upper;
    }
    bin = PetscMin(PetscMax(j_last, 0), *bins - 1);
    work->mass[bin] += p * PetscMax(upper_previous ? v_previous : 1 - v_previous, 0);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* t_i = theta . (x_i - q's lower corner) for the n points x. */
static void GFSliceProject(const GFCompareDensity *q, const PetscReal theta[], PetscInt n, const PetscReal x[], PetscReal t[])
{
  for (PetscInt i = 0; i < n; i++) {
    PetscReal ti = 0;
    for (PetscInt a = 0; a < q->dim; a++) ti += theta[a] * (x[i * q->dim + a] - q->lower[a]);
    t[i] = ti;
  }
}

/*
  This rank's terms of W1 and W2^2 (added to sums) between the n projected points, nlocal of
  them in t (sorted here, in place), and the projected density of bins masses mass of width D
  from box_lower: the points sorted over the ranks of comm (GFSampleSort), then each rank's part
  walked (GFQuantileDistancesPart). Collective.
*/
static PetscErrorCode GFSliceAddTerms(MPI_Comm comm, PetscInt n, PetscInt nlocal, PetscReal t[], PetscInt bins, const PetscReal mass[], PetscReal box_lower, PetscReal D, GFSliceWork *work, GFExactSum sums[2])
{
  PetscReal *part;
  PetscInt   first, count;

  PetscFunctionBeginUser;
  PetscCall(GFSampleSort(comm, nlocal, t, &count, &part, &first));
  GFBinsCumulative(bins, mass, work->left, work->right);
  GFQuantileDistancesPart(n, first, count, part, bins, work->left, work->right, box_lower, box_lower + bins * D, D, sums);
  PetscCall(PetscFree(part));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* W2^2 between theta # P_n and theta # q (GFSliceDensity), for the n points x on this rank. */
static PetscErrorCode GFMetricProjectedW2_Work(const GFCompareDensity *q, PetscInt n, const PetscReal x[], const PetscReal theta[], PetscInt refinement, GFSliceWork *work, PetscReal *w2sq)
{
  PetscInt   bins;
  PetscReal  box_lower, D;
  GFExactSum sums[2];

  PetscFunctionBeginUser;
  PetscCall(GFSliceDensity(q, theta, refinement, work, &bins, &box_lower, &D));
  GFSliceProject(q, theta, n, x, work->t);
  GFExactSumInit(&sums[0]);
  GFExactSumInit(&sums[1]);
  PetscCall(GFSliceAddTerms(PETSC_COMM_SELF, n, n, work->t, bins, work->mass, box_lower, D, work, sums));
  *w2sq = GFExactSumValue(&sums[1]);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Checks shared by the sliced W2 entry points. */
static PetscErrorCode GFMetricSliceCheck(const GFCompareDensity *q, PetscInt n)
{
  PetscReal total;

  PetscFunctionBeginUser;
  PetscCheck(q->dim >= 1 && q->dim <= 3, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Sliced W2 of a %" PetscInt_FMT "D density; dimensions 1 to 3", q->dim);
  PetscCheck(n > 0, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Sliced W2 of %" PetscInt_FMT " particles; need at least one", n);
  PetscCall(GFCompareDensityTotal(q, &total));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* W2^2 between the projections onto theta of the particles and of q (GFMetricProjectedW2_Work), with its own work arrays. */
PetscErrorCode GFMetricProjectedW2(const GFCompareDensity *q, PetscInt n, const PetscReal x[], const PetscReal theta[], PetscInt refinement, PetscReal *w2sq)
{
  GFSliceWork work;

  PetscFunctionBeginUser;
  PetscCall(GFMetricSliceCheck(q, n));
  PetscCheck(refinement >= 1, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Projected W2 with %" PetscInt_FMT " knots per cell width; need at least 1", refinement);
  PetscCall(GFSliceWorkCreate(q, n, refinement, &work));
  PetscCall(GFMetricProjectedW2_Work(q, n, x, theta, refinement, &work, w2sq));
  PetscCall(GFSliceWorkDestroy(&work));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* values[s - s_begin] = W2^2 between the projections onto theta_s (GFMetricSliceDirection) of the particles and of q, GF_METRIC_SLICE_REFINEMENT knots per smallest cell width. */
PetscErrorCode GFMetricSlicedW2(const GFCompareDensity *q, PetscInt n, const PetscReal x[], uint64_t seed, PetscInt s_begin, PetscInt s_end, PetscReal values[])
{
  GFSliceWork work;

  PetscFunctionBeginUser;
  PetscCall(GFMetricSliceCheck(q, n));
  PetscCheck(s_begin >= 0 && s_end >= s_begin, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "Slices [%" PetscInt_FMT ", %" PetscInt_FMT "): need 0 <= begin <= end", s_begin, s_end);
  PetscCall(GFSliceWorkCreate(q, n, GF_METRIC_SLICE_REFINEMENT, &work));
  for (PetscInt s = s_begin; s < s_end; s++) {
    PetscReal theta[3];
    GFMetricSliceDirection(seed, s, q->dim, theta);
    PetscCall(GFMetricProjectedW2_Work(q, n, x, theta, GF_METRIC_SLICE_REFINEMENT, &work, &values[s - s_begin]));
  }
  PetscCall(GFSliceWorkDestroy(&work));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  values[s] = W2^2 between the projections onto theta_s (GFMetricSliceDirection), s < slices, of
  q and of the n points spread over the ranks of comm, nlocal of them in x. The projected
  densities are split over the ranks by slices and gathered (a slice's bins: O(cells^(1/d) 16)
  numbers); every slice's points are sorted over the ranks (GFSampleSort) and each rank walks
  its part; the terms are summed exactly, so the values are the same bits on any number of
  ranks. Collective.
*/
PETSC_INTERN PetscErrorCode GFMetricSlicedW2Distributed(MPI_Comm comm, const GFCompareDensity *q, PetscInt n, PetscInt nlocal, const PetscReal x[], uint64_t seed, PetscInt slices, PetscReal values[])
{
  GFSliceWork work;
  PetscInt    record;
  PetscReal  *mine, *all;
  GFExactSum *sums;
  PetscMPIInt size, rank, *counts, *displs;

  PetscFunctionBeginUser;
  PetscCall(GFMetricSliceCheck(q, n));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(GFSliceWorkCreate(q, nlocal, GF_METRIC_SLICE_REFINEMENT, &work));
  record = 3 + work.bins_max; /* bins, box_lower, D, masses */
  PetscCall(PetscMalloc5(size, &counts, size, &displs, (slices / size + 1) * record, &mine, slices * record, &all, 2 * slices, &sums));
  for (PetscMPIInt r = 0; r < size; r++) {
    displs[r] = (PetscMPIInt)((slices * r / size) * record);
    counts[r] = (PetscMPIInt)((slices * (r + 1) / size) * record) - displs[r];
  }
  for (PetscInt s = slices * rank / size; s < slices * (rank + 1) / size; s++) {
    PetscReal *rec = mine + (s - slices * rank / size) * record, theta[3];
    PetscInt   bins;
    GFMetricSliceDirection(seed, s, q->dim, theta);
    PetscCall(GFSliceDensity(q, theta, GF_METRIC_SLICE_REFINEMENT, &work, &bins, &rec[1], &rec[2]));
    rec[0] = (PetscReal)bins;
    PetscCall(PetscArraycpy(rec + 3, work.mass, bins));
  }
  PetscCallMPI(MPI_Allgatherv(mine, counts[rank], MPIU_REAL, all, counts, displs, MPIU_REAL, comm));
  for (PetscInt s = 0; s < slices; s++) {
    const PetscReal *rec = all + s * record;
    PetscReal        theta[3];
    GFMetricSliceDirection(seed, s, q->dim, theta);
    GFSliceProject(q, theta, nlocal, x, work.t);
    GFExactSumInit(&sums[2 * s]);
    GFExactSumInit(&sums[2 * s + 1]);
    PetscCall(GFSliceAddTerms(comm, n, nlocal, work.t, (PetscInt)rec[0], rec + 3, rec[1], rec[2], &work, &sums[2 * s]));
  }
  PetscCall(GFExactSumAllreduce(comm, 2 * slices, sums));
  for (PetscInt s = 0; s < slices; s++) values[s] = GFExactSumValue(&sums[2 * s + 1]);
  PetscCall(PetscFree5(counts, displs, mine, all, sums));
  PetscCall(GFSliceWorkDestroy(&work));
  PetscFunctionReturn(PETSC_SUCCESS);
}
