/* Particle metrics (metrics.c) against independent oracles: closed forms, exact integrals by another route, direct sums, quadrature, Monte Carlo. */
#include "../../src/particles/particles.h"
#include "gftest.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A density on a uniform box grid with zero probabilities (fill p, then Normalise). */
static GFCompareDensity MakeDensity(PetscInt dim, const PetscInt cells[], const PetscReal lower[], const PetscReal upper[], GFBoundary bc)
{
  GFCompareDensity q;

  memset(&q, 0, sizeof(q));
  q.dim         = dim;
  q.bc          = bc;
  q.ncells      = 1;
  q.cell_volume = 1;
  for (PetscInt a = 0; a < 3; a++) {
    q.cells[a] = a < dim ? cells[a] : 1;
    q.lower[a] = a < dim ? lower[a] : 0;
    q.upper[a] = a < dim ? upper[a] : 1;
    q.h[a]     = (q.upper[a] - q.lower[a]) / q.cells[a];
    q.ncells *= q.cells[a];
    if (a < dim) q.cell_volume *= q.h[a];
  }
  GF_CK(PetscCalloc1(q.ncells, &q.p));
  return q;
}

static void Normalise(GFCompareDensity *q)
{
  PetscReal sum = 0;

  for (PetscInt c = 0; c < q->ncells; c++) sum += q->p[c];
  for (PetscInt c = 0; c < q->ncells; c++) q->p[c] /= sum;
}

static void FreeDensity(GFCompareDensity *q)
{
  GF_CK(PetscFree(q->p));
}

static PetscReal Uniform(uint64_t seed, uint64_t index, uint32_t block)
{
  PetscReal u[2];

  GFRandomUniforms(seed, index, 0, block, u);
  return u[0];
}

/* Sample i of replica r of n independent samples of q: a cell by the CDF, then uniform within it. */
static void Sample(const GFCompareDensity *q, const PetscReal cdf[], uint64_t seed, PetscInt n, PetscInt r, PetscReal x[])
{
  for (PetscInt i = 0; i < n; i++) {
    PetscReal u[2], v[2], w[3];
    PetscInt  lo = 0, hi = q->ncells, rest;

    GFRandomUniforms(seed, (uint64_t)(r * n + i), 1, 0, u);
    GFRandomUniforms(seed, (uint64_t)(r * n + i), 1, 1, v);
    while (hi - lo > 1) {
      const PetscInt mid = (lo + hi) / 2;
      if (cdf[mid] <= u[0])
        lo = mid;
      else
        hi = mid;
    }
    w[0] = u[1];
    w[1] = v[0];
    w[2] = v[1];
    rest = lo;
    for (PetscInt a = 0; a < q->dim; a++) {
      x[i * q->dim + a] = q->lower[a] + ((PetscReal)(rest % q->cells[a]) + w[a]) * q->h[a];
      rest /= q->cells[a];
    }
  }
}

/* cdf[c] = mass of the cells before c, ncells + 1 entries. */
static PetscReal *CellCDF(const GFCompareDensity *q)
{
  PetscReal *cdf;

  GF_CK(PetscMalloc1(q->ncells + 1, &cdf));
  cdf[0] = 0;
  for (PetscInt c = 0; c < q->ncells; c++) cdf[c + 1] = cdf[c] + q->p[c];
  return cdf;
}

static int CompareReals(const void *a, const void *b)
{
  const PetscReal x = *(const PetscReal *)a, y = *(const PetscReal *)b;
  return (x > y) - (x < y);
}

static PetscReal RelativeError(PetscReal value, PetscReal exact)
{
  return PetscAbsReal(value - exact) / PetscAbsReal(exact);
}

/* Quantile of the piecewise-linear CDF of a 1D q at u in [0, 1] (the support's ends at 0 and 1), by its cumulative sums from the left. */
static PetscReal OracleQuantile(const GFCompareDensity *q, const PetscReal cdf[], PetscReal u)
{
  const PetscInt m = q->cells[0];
  PetscInt       c;

  if (u <= 0) {
    for (c = 0; c < m && q->p[c] == 0; c++) {}
    return q->lower[0] + c * q->h[0];
  }
  if (u >= 1) {
    for (c = m - 1; c >= 0 && q->p[c] == 0; c--) {}
    return q->lower[0] + (c + 1) * q->h[0];
  }
  for (c = 0; c < m - 1 && !(q->p[c] > 0 && cdf[c + 1] >= u); c++) {}
  return q->lower[0] + q->h[0] * (c + (u - cdf[c]) / q->p[c]);
}

/*
  W1 and W2^2 by the x-side of the quantile coupling: particle k takes the mass of q between the
  quantiles of k/n and (k+1)/n, so W2^2 = sum_k int_a^b (x_k - t)^2 g(t) dt and W1 the same with
  |x_k - t|, each integral in closed form cell by cell.
*/
static void OracleWasserstein1D(const GFCompareDensity *q, PetscInt n, const PetscReal x[], PetscReal *w1, PetscReal *w2sq)
{
  PetscReal *cdf = CellCDF(q);

  *w1 = *w2sq = 0;
  for (PetscInt k = 0; k < n; k++) {
    const PetscReal a = OracleQuantile(q, cdf, (PetscReal)k / n), b = OracleQuantile(q, cdf, (PetscReal)(k + 1) / n);
    for (PetscInt c = 0; c < q->cells[0]; c++) {
      const PetscReal t0 = PetscMax(a, q->lower[0] + c * q->h[0]), t1 = PetscMin(b, q->lower[0] + (c + 1) * q->h[0]);
      const PetscReal d0 = t0 - x[k], d1 = t1 - x[k], density = q->p[c] / q->h[0];
      if (t1 <= t0 || q->p[c] == 0) continue;
      *w2sq += density * (d1 * d1 * d1 - d0 * d0 * d0) / 3;
      *w1 += density * (d1 * PetscAbsReal(d1) - d0 * PetscAbsReal(d0)) / 2;
    }
  }
  GF_CK(PetscFree(cdf));
}

/* int |F_n - G| dx by the midpoint rule on N points of [lo, hi]: error at most (hi - lo)/N times the total jump of F_n, 1. */
static PetscReal BruteW1(const GFCompareDensity *q, PetscInt n, const PetscReal x[], PetscReal lo, PetscReal hi, PetscInt N)
{
  const PetscReal dx  = (hi - lo) / N;
  PetscReal      *cdf = CellCDF(q), sum = 0;
  PetscInt        k = 0;

  for (PetscInt i = 0; i < N; i++) {
    const PetscReal xi = lo + (i + 0.5) * dx;
    PetscReal       G;
    while (k < n && x[k] <= xi) k++;
    if (xi <= q->lower[0])
      G = 0;
    else if (xi >= q->upper[0])
      G = 1;
    else {
      const PetscInt c = PetscMin((PetscInt)((xi - q->lower[0]) / q->h[0]), q->cells[0] - 1);
      G                = cdf[c] + q->p[c] * (xi - q->lower[0] - c * q->h[0]) / q->h[0];
    }
    sum += PetscAbsReal((PetscReal)k / n - G) * dx;
  }
  GF_CK(PetscFree(cdf));
  return sum;
}

/* A 1D density of 13 cells on [-1, 2] with empty cells at both ends and inside. */
static GFCompareDensity RaggedDensity1D(uint64_t seed)
{
  const PetscInt   cells[1] = {13};
  const PetscReal  lower[1] = {-1}, upper[1] = {2};
  GFCompareDensity q = MakeDensity(1, cells, lower, upper, GF_BC_NOFLUX);

  for (PetscInt c = 0; c < 13; c++) q.p[c] = (c == 0 || c == 5 || c == 6 || c == 12) ? 0 : 0.05 + Uniform(seed, (uint64_t)c, 9);
  Normalise(&q);
  return q;
}

/* One particle against one uniform cell [alpha, beta]: W1 = E|U - x|, W2^2 = E(U - x)^2 = (x - mid)^2 + (beta - alpha)^2/12, the only coupling. */
START_TEST(test_w1d_single_particle)
{
  const PetscInt   cells[1] = {1};
  const PetscReal  lower[1] = {-0.5}, upper[1] = {1.5}, xs[] = {-3, -0.5, 0.1, 0.5, 1.2, 1.5, 4};
  GFCompareDensity q = MakeDensity(1, cells, lower, upper, GF_BC_NOFLUX);

  q.p[0] = 1;
  for (size_t k = 0; k < sizeof(xs) / sizeof(xs[0]); k++) {
    const PetscReal x = xs[k], a = -0.5, b = 1.5;
    const PetscReal e1 = x <= a ? 0.5 * (a + b) - x : (x >= b ? x - 0.5 * (a + b) : ((x - a) * (x - a) + (b - x) * (b - x)) / (2 * (b - a)));
    const PetscReal e2 = (x - 0.5) * (x - 0.5) + 4.0 / 12;
    PetscReal       w1, w2;
    GF_CK(GFMetricWasserstein1D(&q, 1, &x, &w1, &w2));
    ck_assert_msg(RelativeError(w1, e1) < 1e-15, "x = %g: W1 %.17g, exact %.17g", x, w1, e1);
    ck_assert_msg(RelativeError(w2 * w2, e2) < 1e-15, "x = %g: W2^2 %.17g, exact %.17g", x, w2 * w2, e2);
  }
  FreeDensity(&q);
}
END_TEST

/* Ragged densities (empty cells, particles outside the box, on edges, repeated): the x-side oracle to 1e-13, and int |F_n - G| dx by brute force within its bound. */
START_TEST(test_w1d_oracles)
{
  const PetscInt counts[] = {1, 2, 29, 1000};

  for (size_t t = 0; t < sizeof(counts) / sizeof(counts[0]); t++) {
    const PetscInt   n = counts[t];
    GFCompareDensity q = RaggedDensity1D(11 + t);
    PetscReal       *x, w1, w2, o1, o2sq, brute, lo, hi;
    const PetscInt   N = 2000000;

    GF_CK(PetscMalloc1(n, &x));
    for (PetscInt i = 0; i < n; i++) x[i] = -1.6 + 4.2 * Uniform(5 + t, (uint64_t)i, 3);
    if (n > 10) {
      x[0] = -1;
      x[1] = 2;
      x[2] = q.lower[0] + 4 * q.h[0];
      x[3] = x[2];
      x[4] = q.lower[0] + 6 * q.h[0];
    }
    qsort(x, (size_t)n, sizeof(PetscReal), CompareReals);
    GF_CK(GFMetricWasserstein1D(&q, n, x, &w1, &w2));
    OracleWasserstein1D(&q, n, x, &o1, &o2sq);
    ck_assert_msg(RelativeError(w1, o1) < 1e-13, "n = %d: W1 %.17g, oracle %.17g", (int)n, w1, o1);
    ck_assert_msg(RelativeError(w2 * w2, o2sq) < 1e-13, "n = %d: W2^2 %.17g, oracle %.17g", (int)n, w2 * w2, o2sq);
    lo    = PetscMin(x[0], q.lower[0]);
    hi    = PetscMax(x[n - 1], q.upper[0]);
    brute = BruteW1(&q, n, x, lo, hi, N);
    ck_assert_msg(PetscAbsReal(w1 - brute) <= 1.01 * (hi - lo) / N, "n = %d: W1 %.17g, brute force %.17g", (int)n, w1, brute);
    GF_CK(PetscFree(x));
    FreeDensity(&q);
  }
}
END_TEST

/*
  Thin tails at both ends of a long box: one particle, so W2^2 = sum_c p_c ((x - centre_c)^2 + h^2/12)
  and W1 = sum_c p_c E|x - U_c| exactly. Left-to-right sums would carry the bulk's rounding into the
  1e-12 tails and put W2^2 off by 2e-12; it must keep 1e-14 (the edges lower + j h themselves are
  only known to 1e-14 in a box this long).
*/
START_TEST(test_w1d_thin_tails)
{
  const PetscInt   cells[1] = {100000};
  const PetscReal  lower[1] = {-50}, upper[1] = {50}, x = 0.37;
  GFCompareDensity q = MakeDensity(1, cells, lower, upper, GF_BC_NOFLUX);
  PetscReal        w1, w2, e1 = 0, e2 = 0, h;

  h = q.h[0];
  for (PetscInt c = 50000; c < 51000; c++) q.p[c] = (0.5 + Uniform(3, (uint64_t)c, 0)) * 1e-3;
  Normalise(&q);
  q.p[0] = q.p[cells[0] - 1] = 1e-12;
  Normalise(&q);
  for (PetscInt c = 0; c < cells[0]; c++) {
    const PetscReal a = lower[0] + c * h, b = a + h, m = a + 0.5 * h;
    const PetscReal mean_abs = x <= a ? m - x : (x >= b ? x - m : ((x - a) * (x - a) + (b - x) * (b - x)) / (2 * h));
    e2 += q.p[c] * ((x - m) * (x - m) + h * h / 12);
    e1 += q.p[c] * mean_abs;
  }
  GF_CK(GFMetricWasserstein1D(&q, 1, &x, &w1, &w2));
  ck_assert_msg(RelativeError(w2 * w2, e2) < 1e-14, "W2^2 %.17g, exact %.17g", w2 * w2, e2);
  ck_assert_msg(RelativeError(w1, e1) < 2e-14, "W1 %.17g, exact %.17g", w1, e1);
  FreeDensity(&q);
}
END_TEST

/* Mirroring x -> 1 - x (density and particles) and shifting both leave W1 and W2 unchanged; bad input fails with a message. */
START_TEST(test_w1d_symmetries)
{
  const PetscInt   n = 40, cells[1] = {13};
  GFCompareDensity q = RaggedDensity1D(2), mirror = MakeDensity(1, cells, (PetscReal[]){-1}, (PetscReal[]){2}, GF_BC_NOFLUX);
  GFCompareDensity shift = MakeDensity(1, cells, (PetscReal[]){1e3 - 1}, (PetscReal[]){1e3 + 2}, GF_BC_NOFLUX);
  PetscReal        x[40], xm[40], xs[40], w1, w2, m1, m2, s1, s2, bad[2] = {1, 0};

  for (PetscInt c = 0; c < 13; c++) {
    mirror.p[c] = q.p[12 - c];
    shift.p[c]  = q.p[c];
  }
  for (PetscInt i = 0; i < n; i++) x[i] = -1.2 + 3.4 * Uniform(8, (uint64_t)i, 0);
  qsort(x, n, sizeof(PetscReal), CompareReals);
  for (PetscInt i = 0; i < n; i++) {
    xm[i] = 1 - x[n - 1 - i];
    xs[i] = x[i] + 1e3;
  }
  GF_CK(GFMetricWasserstein1D(&q, n, x, &w1, &w2));
  GF_CK(GFMetricWasserstein1D(&mirror, n, xm, &m1, &m2));
  GF_CK(GFMetricWasserstein1D(&shift, n, xs, &s1, &s2));
  ck_assert_msg(RelativeError(m1, w1) < 1e-14 && RelativeError(m2, w2) < 1e-14, "mirror: W1 %.17g vs %.17g, W2 %.17g vs %.17g", m1, w1, m2, w2);
  ck_assert_msg(RelativeError(s1, w1) < 1e-11 && RelativeError(s2, w2) < 1e-11, "shift: W1 %.17g vs %.17g, W2 %.17g vs %.17g", s1, w1, s2, w2);
  GF_ASSERT_ERROR(GFMetricWasserstein1D(&q, 2, bad, &w1, &w2), PETSC_ERR_ARG_WRONG, "not in ascending order");
  q.dim = 2;
  GF_ASSERT_ERROR(GFMetricWasserstein1D(&q, 1, bad, &w1, &w2), PETSC_ERR_SUP, "this one is 2D");
  q.dim = 1;
  FreeDensity(&q);
  FreeDensity(&mirror);
  FreeDensity(&shift);
}
END_TEST

/* E|B/n - g| for B ~ Binomial(n, g) by direct summation over b. */
static PetscReal DirectMeanDeviation(PetscInt n, PetscReal g)
{
  PetscReal sum = 0;

  if (g <= 0 || g >= 1) return 0;
  for (PetscInt b = 0; b <= n; b++) sum += PetscAbsReal((PetscReal)b / n - g) * PetscExpReal(lgamma(n + 1.0) - lgamma(b + 1.0) - lgamma(n - b + 1.0) + b * log(g) + (n - b) * log1p(-g));
  return sum;
}

/* de Moivre's E|B - n g| = 2 (n - k) g P(B = k), k = floor(n g), P by lgamma (validated against DirectMeanDeviation for small n), divided by n. */
static PetscReal LgammaMeanDeviation(PetscInt n, PetscReal g)
{
  PetscInt k;

  if (g > 0.5) g = 1 - g;
  if (g <= 0) return 0;
  k = (PetscInt)floor(n * g);
  return 2 * (PetscReal)(n - k) * g * PetscExpReal(lgamma(n + 1.0) - lgamma(k + 1.0) - lgamma(n - k + 1.0) + k * log(g) + (n - k) * log1p(-g)) / n;
}

/* int E|B/n - G(x)| dx, every kink G = k/n resolved, Gauss-Legendre with npoints on every piece, the integrand by f. */
static PetscReal OracleFloor(const GFCompareDensity *q, PetscInt n, PetscReal (*f)(PetscInt, PetscReal), PetscInt npoints)
{
  PetscReal gx[16], gw[16], G = 0, sum = 0;

  GF_CK(PetscDTGaussQuadrature(npoints, 0, 1, gx, gw));
  for (PetscInt c = 0; c < q->cells[0]; c++) {
    const PetscReal p = q->p[c];
    if (p == 0)
      sum += q->h[0] * f(n, G);
    else {
      PetscReal t0 = 0;
      for (PetscInt k = (PetscInt)floor(n * G) + 1; t0 < 1; k++) {
        const PetscReal t1 = PetscMin(((PetscReal)k / n - G) / p, 1);
        for (PetscInt i = 0; i < npoints; i++) sum += q->h[0] * (t1 - t0) * gw[i] * f(n, G + p * (t0 + (t1 - t0) * gx[i]));
        t0 = t1;
      }
    }
    G += p;
  }
  return sum;
}

/* The floor against direct binomial sums with every kink resolved: exact (a polynomial on each piece) for small n, 1e-11 at n = 1000, and within the 1e-6 target at n = 1e5, where the bulk is no longer split at kinks. */
START_TEST(test_floor_oracles)
{
  const PetscInt   small[] = {1, 2, 5, 7};
  GFCompareDensity q       = RaggedDensity1D(4);
  PetscReal        floor, oracle;

  for (size_t k = 0; k < sizeof(small) / sizeof(small[0]); k++) {
    GF_CK(GFMetricW1Floor(&q, small[k], &floor));
    oracle = OracleFloor(&q, small[k], DirectMeanDeviation, 12);
    ck_assert_msg(RelativeError(floor, oracle) < 1e-13, "n = %d: floor %.17g, direct sums %.17g", (int)small[k], floor, oracle);
    ck_assert_msg(RelativeError(LgammaMeanDeviation(small[k], 0.3141), DirectMeanDeviation(small[k], 0.3141)) < 1e-13, "de Moivre's formula at n = %d", (int)small[k]);
  }
  GF_CK(GFMetricW1Floor(&q, 1000, &floor));
  oracle = OracleFloor(&q, 1000, DirectMeanDeviation, 8);
  ck_assert_msg(RelativeError(floor, oracle) < 1e-11, "n = 1000: floor %.17g, direct sums %.17g", floor, oracle);
  GF_CK(GFMetricW1Floor(&q, 100000, &floor));
  oracle = OracleFloor(&q, 100000, LgammaMeanDeviation, 8);
  ck_assert_msg(RelativeError(floor, oracle) < 1e-6, "n = 1e5: floor %.17g, all kinks resolved %.17g", floor, oracle);
  FreeDensity(&q);
  {
    const PetscInt   cells[1] = {1};
    GFCompareDensity u        = MakeDensity(1, cells, (PetscReal[]){0}, (PetscReal[]){1}, GF_BC_NOFLUX);
    u.p[0]                    = 1;
    GF_CK(GFMetricW1Floor(&u, 1, &floor));
    ck_assert_msg(RelativeError(floor, 1.0 / 3) < 1e-15, "n = 1 on [0, 1]: int 2x(1-x) dx = 1/3, got %.17g", floor);
    FreeDensity(&u);
  }
}
END_TEST

/* The floor is the mean of W1 over samples of q: Monte Carlo over seeded samples at n = 5 and n = 1000, within 4 standard errors. */
START_TEST(test_floor_monte_carlo)
{
  const PetscInt   ns[] = {5, 1000}, replicas[] = {20000, 1000};
  GFCompareDensity q   = RaggedDensity1D(6);
  PetscReal       *cdf = CellCDF(&q);

  for (size_t t = 0; t < 2; t++) {
    const PetscInt n = ns[t], R = replicas[t];
    PetscReal     *x, sum = 0, sum2 = 0, floor, mean, se;
    GF_CK(PetscMalloc1(n, &x));
    for (PetscInt r = 0; r < R; r++) {
      PetscReal w1, w2;
      Sample(&q, cdf, 77 + t, n, r, x);
      qsort(x, (size_t)n, sizeof(PetscReal), CompareReals);
      GF_CK(GFMetricWasserstein1D(&q, n, x, &w1, &w2));
      sum += w1;
      sum2 += w1 * w1;
    }
    mean = sum / R;
    se   = PetscSqrtReal((sum2 / R - mean * mean) / (R - 1));
    GF_CK(GFMetricW1Floor(&q, n, &floor));
    ck_assert_msg(PetscAbsReal(floor - mean) < 4 * se, "n = %d: floor %.6g, Monte Carlo %.6g +- %.2g", (int)n, floor, mean, se);
    GF_CK(PetscFree(x));
  }
  GF_CK(PetscFree(cdf));
  FreeDensity(&q);
}
END_TEST

/* Large n: the floor approaches sqrt(2/(pi n)) int sqrt(G(1 - G)) dx (the integral in closed form per cell); the relative gap, about 0.1/n here, must stay below 1/n. */
START_TEST(test_floor_asymptotic)
{
  GFCompareDensity q        = RaggedDensity1D(8);
  PetscReal        integral = 0, G = 0;
  const PetscInt   ns[]  = {1000000, 10000000};
  const PetscReal  tol[] = {1e-6, 1e-7};

  for (PetscInt c = 0; c < q.cells[0]; c++) {
    const PetscReal p = q.p[c], G1 = PetscMin(G + p, 1);
    const PetscReal A0 = (2 * G - 1) * PetscSqrtReal(G * (1 - G)) / 4 + asin(2 * G - 1) / 8, A1 = (2 * G1 - 1) * PetscSqrtReal(G1 * (1 - G1)) / 4 + asin(2 * G1 - 1) / 8;
    integral += p > 0 ? q.h[0] * (A1 - A0) / p : q.h[0] * PetscSqrtReal(G * (1 - G));
    G = G1;
  }
  for (size_t t = 0; t < 2; t++) {
    PetscReal floor, asymptotic = PetscSqrtReal(2 / (PETSC_PI * ns[t])) * integral;
    GF_CK(GFMetricW1Floor(&q, ns[t], &floor));
    ck_assert_msg(RelativeError(floor, asymptotic) < tol[t], "n = %d: floor %.12g, asymptotic %.12g", (int)ns[t], floor, asymptotic);
  }
  FreeDensity(&q);
}
END_TEST

/* L1 by hand on a 4 x 3 grid: interior edges go up, the upper walls to the last cells, outside counts as distance; periodic boxes wrap. */
START_TEST(test_l1_cells)
{
  const PetscInt   cells[2] = {4, 3};
  const PetscReal  lower[2] = {0, 0}, upper[2] = {4, 3};
  const PetscReal  x[] = {0.5, 0.5, 1, 0.5, 4, 3, 4, 1.5, 0, 0, -0.1, 1, 2, 3.0000001, 9.5, -2.5};
  const PetscInt   n   = 8;
  GFCompareDensity q   = MakeDensity(2, cells, lower, upper, GF_BC_NOFLUX);
  PetscReal        l1, expect, count[12];

  for (PetscInt c = 0; c < 12; c++) q.p[c] = (c + 1) / 78.0;
  /* no-flux: cells 0 (twice), 1, 11, 7; three outside */
  memset(count, 0, sizeof(count));
  count[0] = 2;
  count[1] = count[11] = count[7] = 1;
  expect                          = 3.0 / n;
  for (PetscInt c = 0; c < 12; c++) expect += PetscAbsReal(count[c] / n - q.p[c]);
  GF_CK(GFMetricL1(&q, n, x, &l1));
  ck_assert_msg(PetscAbsReal(l1 - expect) < 1e-15, "no-flux: l1 %.17g, expected %.17g", l1, expect);
  /* periodic: (4, 3) -> (0, 0) cell 0, (4, 1.5) -> (0, 1.5) cell 4, (-0.1, 1) -> (3.9, 1) cell 7, (2, 3 + 1e-7) -> cell 2, (9.5, -2.5) -> (1.5, 0.5) cell 1 */
  q.bc = GF_BC_PERIODIC;
  memset(count, 0, sizeof(count));
  count[0] = 3;
  count[1] = 2;
  count[4] = count[7] = count[2] = 1;
  expect                         = 0;
  for (PetscInt c = 0; c < 12; c++) expect += PetscAbsReal(count[c] / n - q.p[c]);
  GF_CK(GFMetricL1(&q, n, x, &l1));
  ck_assert_msg(PetscAbsReal(l1 - expect) < 1e-15, "periodic: l1 %.17g, expected %.17g", l1, expect);
  FreeDensity(&q);
}
END_TEST

/* L1 in 3D and 1D against a histogram counted by floor() for points off the edges; one particle per cell centre against the uniform density gives 0. */
START_TEST(test_l1_histograms)
{
  const PetscInt   cells[3] = {5, 4, 3}, n = 2000;
  const PetscReal  lower[3] = {-1, 0, 2}, upper[3] = {1, 1, 3.5};
  GFCompareDensity q = MakeDensity(3, cells, lower, upper, GF_BC_NOFLUX);
  PetscReal       *x, l1, expect = 0, *count, centres[60 * 3];

  GF_CK(PetscMalloc1(3 * n, &x));
  GF_CK(PetscCalloc1(q.ncells, &count));
  for (PetscInt c = 0; c < q.ncells; c++) q.p[c] = Uniform(1, (uint64_t)c, 0);
  Normalise(&q);
  for (PetscInt i = 0; i < n; i++) {
    PetscInt c = 0, stride = 1, inside = 1;
    for (PetscInt a = 0; a < 3; a++) {
      const PetscReal L = upper[a] - lower[a];
      PetscInt        k;
      x[3 * i + a] = lower[a] - 0.1 * L + 1.2 * L * Uniform(2, (uint64_t)(3 * i + a), 0);
      k            = (PetscInt)floor((x[3 * i + a] - lower[a]) / q.h[a]);
      if (k < 0 || k >= cells[a]) inside = 0;
      c += stride * k;
      stride *= cells[a];
    }
    if (inside)
      count[c] += 1;
    else
      expect += 1.0 / n;
  }
  for (PetscInt c = 0; c < q.ncells; c++) expect += PetscAbsReal(count[c] / n - q.p[c]);
  GF_CK(GFMetricL1(&q, n, x, &l1));
  ck_assert_msg(RelativeError(l1, expect) < 1e-14, "3D: l1 %.17g, counted %.17g", l1, expect);
  for (PetscInt c = 0; c < q.ncells; c++) {
    q.p[c]        = 1.0 / q.ncells;
    PetscInt rest = c;
    for (PetscInt a = 0; a < 3; a++) {
      centres[3 * c + a] = lower[a] + (rest % cells[a] + 0.5) * q.h[a];
      rest /= cells[a];
    }
  }
  GF_CK(GFMetricL1(&q, q.ncells, centres, &l1));
  ck_assert_msg(l1 < 1e-15, "one particle per cell: l1 %g", l1);
  GF_CK(PetscFree(x));
  GF_CK(PetscFree(count));
  FreeDensity(&q);
}
END_TEST

/* The slice directions: unit vectors from the documented stream, reproducible, +-1 in 1D with both signs. */
START_TEST(test_slice_directions)
{
  PetscInt plus = 0, minus = 0;

  for (PetscInt s = 0; s < 64; s++) {
    PetscReal theta[3], again[3], z[4], norm2 = 0, norm3 = 0, one;
    GFRandomNormals(42, (uint64_t)s, 0, GF_RANDOM_BLOCK_DIRECTION, z);
    GFRandomNormals(42, (uint64_t)s, 0, GF_RANDOM_BLOCK_DIRECTION + 1, z + 2);
    norm2 = PetscSqrtReal(z[0] * z[0] + z[1] * z[1]);
    norm3 = PetscSqrtReal(z[0] * z[0] + z[1] * z[1] + z[2] * z[2]);
    GFMetricSliceDirection(42, s, 3, theta);
    GFMetricSliceDirection(42, s, 3, again);
    for (PetscInt a = 0; a < 3; a++) {
      ck_assert_msg(PetscAbsReal(theta[a] - z[a] / norm3) < 1e-15, "3D slice %d axis %d", (int)s, (int)a);
      ck_assert(theta[a] == again[a]);
    }
    GFMetricSliceDirection(42, s, 2, theta);
    for (PetscInt a = 0; a < 2; a++) ck_assert_msg(PetscAbsReal(theta[a] - z[a] / norm2) < 1e-15, "2D slice %d axis %d", (int)s, (int)a);
    GFMetricSliceDirection(42, s, 1, &one);
    ck_assert(one == 1 || one == -1);
    if (one > 0)
      plus++;
    else
      minus++;
  }
  ck_assert(plus > 10 && minus > 10);
}
END_TEST

/* W2^2 of the 1D density and particles a slice reduces to along axis `axis` of q (its marginal), by GFMetricWasserstein1D. */
static PetscReal MarginalW2sq(const GFCompareDensity *q, PetscInt n, const PetscReal x[], PetscInt axis)
{
  const PetscInt   cells[1] = {q->cells[axis]};
  GFCompareDensity m        = MakeDensity(1, cells, &q->lower[axis], &q->upper[axis], GF_BC_NOFLUX);
  PetscReal       *t, w1, w2;

  for (PetscInt c = 0; c < q->ncells; c++) {
    PetscInt idx = c;
    for (PetscInt a = 0; a < axis; a++) idx /= q->cells[a];
    m.p[idx % q->cells[axis]] += q->p[c];
  }
  GF_CK(PetscMalloc1(n, &t));
  for (PetscInt i = 0; i < n; i++) t[i] = x[i * q->dim + axis];
  qsort(t, (size_t)n, sizeof(PetscReal), CompareReals);
  GF_CK(GFMetricWasserstein1D(&m, n, t, &w1, &w2));
  GF_CK(PetscFree(t));
  FreeDensity(&m);
  return w2 * w2;
}

/* A 2D or 3D density with uneven cells, some empty, and particles partly outside. */
static GFCompareDensity RaggedDensity(PetscInt dim, PetscInt n, PetscReal **x)
{
  const PetscInt   cells[3] = {7, 5, 4};
  const PetscReal  lower[3] = {-1, 0, 0.5}, upper[3] = {1, 1.5, 1.3};
  GFCompareDensity q = MakeDensity(dim, cells, lower, upper, GF_BC_NOFLUX);

  for (PetscInt c = 0; c < q.ncells; c++) q.p[c] = c % 6 == 2 ? 0 : Uniform(17, (uint64_t)c, 0);
  Normalise(&q);
  GF_CK(PetscMalloc1(n * dim, x));
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt a = 0; a < dim; a++) (*x)[i * dim + a] = lower[a] - 0.2 + (upper[a] - lower[a] + 0.4) * Uniform(18, (uint64_t)(i * dim + a), 0);
  return q;
}

/* Along a coordinate axis (+ or -) a slice is the marginal's 1D W2^2, exactly; in 1D the sliced W2 is the 1D W2^2. */
START_TEST(test_sliced_axes)
{
  for (PetscInt dim = 2; dim <= 3; dim++) {
    const PetscInt   n = 300;
    PetscReal       *x, value;
    GFCompareDensity q = RaggedDensity(dim, n, &x);
    for (PetscInt axis = 0; axis < dim; axis++) {
      PetscReal theta[3] = {0, 0, 0}, exact = MarginalW2sq(&q, n, x, axis);
      for (PetscInt sign = -1; sign <= 1; sign += 2) {
        theta[axis] = sign;
        GF_CK(GFMetricProjectedW2(&q, n, x, theta, 16, &value));
        ck_assert_msg(RelativeError(value, exact) < 1e-12, "%dD axis %d sign %d: %.17g, marginal %.17g", (int)dim, (int)axis, (int)sign, value, exact);
      }
    }
    GF_CK(PetscFree(x));
    FreeDensity(&q);
  }
  {
    const PetscInt   n = 50;
    GFCompareDensity q = RaggedDensity1D(3);
    PetscReal        x[50], values[6], sorted[50], w1, w2;
    for (PetscInt i = 0; i < n; i++) x[i] = -1.2 + 3.5 * Uniform(4, (uint64_t)i, 1);
    memcpy(sorted, x, sizeof(x));
    qsort(sorted, n, sizeof(PetscReal), CompareReals);
    GF_CK(GFMetricWasserstein1D(&q, n, sorted, &w1, &w2));
    GF_CK(GFMetricSlicedW2(&q, n, x, 9, 0, 6, values));
    for (PetscInt s = 0; s < 6; s++) ck_assert_msg(RelativeError(values[s], w2 * w2) < 1e-12, "1D slice %d: %.17g, W2^2 %.17g", (int)s, values[s], w2 * w2);
    FreeDensity(&q);
  }
}
END_TEST

/* The CDF at t of the sum of U(0, w_a), a < d, by the plain inclusion-exclusion formula in long double (1/(d! prod w)) sum_S (-1)^|S| (t - sum_S w)_+^d, or the density (one power less) when density. */
static long double BoxSplineReference(PetscInt d, const PetscReal w[], long double t, PetscBool density)
{
  const int   power = density ? (int)d - 1 : (int)d;
  long double sum = 0, norm = 1, W = 0;

  for (PetscInt a = 0; a < d; a++) {
    W += w[a];
    norm *= w[a];
  }
  for (int k = 2; k <= power; k++) norm *= k;
  if (t <= 0) return 0;
  if (t >= W) return density ? 0 : 1;
  for (int S = 0; S < (1 << d); S++) {
    long double shift = 0;
    int         sign  = 1;
    for (PetscInt a = 0; a < d; a++)
      if (S >> a & 1) {
        shift += w[a];
        sign = -sign;
      }
    if (t > shift) sum += sign * powl(t - shift, power);
  }
  return sum / norm;
}

/*
  W2^2 of the exact projection onto theta, by the x-side of the quantile coupling: particle k takes the
  mass between the quantiles of k/n and (k+1)/n (bisection on the long double CDF), and
  int (t_k - t)^2 f(t) dt is exact by 3-point Gauss on every polynomial piece of every cell's density.
*/
static PetscReal ExactProjectedW2sq(const GFCompareDensity *q, PetscInt n, const PetscReal x[], const PetscReal theta[])
{
  const PetscInt dim = q->dim;
  PetscReal      w[3], offset = 0, *t, *start, *quantile, gx[3], gw[3], sum = 0, lo = 0, hi = 0;

  GF_CK(PetscDTGaussQuadrature(3, 0, 1, gx, gw));
  GF_CK(PetscMalloc3(n, &t, q->ncells, &start, n + 1, &quantile));
  for (PetscInt a = 0; a < dim; a++) {
    w[a] = PetscAbsReal(theta[a]) * q->h[a];
    offset += PetscMin(0, theta[a] * q->h[a]);
  }
  for (PetscInt c = 0; c < q->ncells; c++) {
    PetscInt rest = c;
    start[c]      = offset;
    for (PetscInt a = 0; a < dim; a++) {
      start[c] += theta[a] * (q->lower[a] + (rest % q->cells[a]) * q->h[a]);
      rest /= q->cells[a];
    }
    lo = c ? PetscMin(lo, start[c]) : start[c];
    hi = c ? PetscMax(hi, start[c] + w[0] + w[1] + (dim > 2 ? w[2] : 0)) : start[c] + w[0] + w[1] + (dim > 2 ? w[2] : 0);
  }
  for (PetscInt i = 0; i < n; i++) {
    t[i] = 0;
    for (PetscInt a = 0; a < dim; a++) t[i] += theta[a] * x[i * dim + a];
  }
  qsort(t, (size_t)n, sizeof(PetscReal), CompareReals);
  quantile[0] = lo;
  quantile[n] = hi;
  for (PetscInt k = 1; k < n; k++) {
    long double a = lo, b = hi;
    for (int it = 0; it < 200 && b - a > 1e-18L * (hi - lo); it++) {
      const long double mid = 0.5L * (a + b);
      long double       F   = 0;
      for (PetscInt c = 0; c < q->ncells; c++) F += q->p[c] * BoxSplineReference(dim, w, mid - start[c], PETSC_FALSE);
      if (F < (long double)k / n)
        a = mid;
      else
        b = mid;
    }
    quantile[k] = (PetscReal)(0.5L * (a + b));
  }
  for (PetscInt k = 0; k < n; k++)
    for (PetscInt c = 0; c < q->ncells; c++) {
      PetscReal breaks[10];
      PetscInt  nb = 0;
      if (q->p[c] == 0) continue;
      for (int S = 0; S < (1 << dim); S++) {
        PetscReal shift = start[c];
        for (PetscInt a = 0; a < dim; a++)
          if (S >> a & 1) shift += w[a];
        breaks[nb++] = shift;
      }
      breaks[nb++] = quantile[k];
      breaks[nb++] = quantile[k + 1];
      qsort(breaks, (size_t)nb, sizeof(PetscReal), CompareReals);
      for (PetscInt j = 0; j + 1 < nb; j++) {
        const PetscReal a = PetscMax(breaks[j], quantile[k]), b = PetscMin(breaks[j + 1], quantile[k + 1]);
        if (b <= a) continue;
        for (PetscInt g = 0; g < 3; g++) {
          const PetscReal s = a + (b - a) * gx[g];
          sum += q->p[c] * (b - a) * gw[g] * (t[k] - s) * (t[k] - s) * (PetscReal)BoxSplineReference(dim, w, s - start[c], PETSC_TRUE);
        }
      }
    }
  GF_CK(PetscFree3(t, start, quantile));
  return sum;
}

/* Oblique slices against the exact projection: second-order convergence in the knot spacing, 1e-3 at the sliced W2's 16 knots per cell, 1e-6 at 1024. */
START_TEST(test_sliced_exact_projection)
{
  const PetscReal directions[2][3] = {{0.6, -0.8, 0}, {2.0 / 3.0, 1.0 / 3.0, -2.0 / 3.0}};

  for (PetscInt dim = 2; dim <= 3; dim++) {
    const PetscInt   n = 40;
    PetscReal       *x, exact, error[3];
    const PetscInt   refinement[3] = {4, 16, 1024};
    GFCompareDensity q             = RaggedDensity(dim, n, &x);
    const PetscReal *theta         = directions[dim - 2];

    exact = ExactProjectedW2sq(&q, n, x, theta);
    for (PetscInt r = 0; r < 3; r++) {
      PetscReal value;
      GF_CK(GFMetricProjectedW2(&q, n, x, theta, refinement[r], &value));
      error[r] = RelativeError(value, exact);
    }
    ck_assert_msg(error[1] < 1e-3 && error[2] < 1e-6, "%dD: relative errors %.3g (16 knots per cell), %.3g (1024)", (int)dim, error[1], error[2]);
    ck_assert_msg(error[1] < error[0] / 8, "%dD: error %.3g at 4 knots per cell, %.3g at 16: not second order", (int)dim, error[0], error[1]);
    GF_CK(PetscFree(x));
    FreeDensity(&q);
  }
}
END_TEST

/* Invariances: shifting box and particles, permuting the particles, scaling theta by 2 (W2^2 by 4), splitting the slice range. */
START_TEST(test_sliced_invariances)
{
  const PetscInt   n = 200;
  PetscReal       *x, *y, *z, theta[3], a, b, c, all[8], part[8];
  GFCompareDensity q = RaggedDensity(3, n, &x), shifted;

  shifted = MakeDensity(3, q.cells, q.lower, q.upper, GF_BC_NOFLUX);
  for (PetscInt k = 0; k < q.ncells; k++) shifted.p[k] = q.p[k];
  for (PetscInt d = 0; d < 3; d++) {
    shifted.lower[d] += 10 + d;
    shifted.upper[d] += 10 + d;
  }
  GF_CK(PetscMalloc2(3 * n, &y, 3 * n, &z));
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt d = 0; d < 3; d++) {
      y[3 * i + d]           = x[3 * i + d] + 10 + d;
      z[3 * (n - 1 - i) + d] = x[3 * i + d];
    }
  GFMetricSliceDirection(5, 3, 3, theta);
  GF_CK(GFMetricProjectedW2(&q, n, x, theta, 16, &a));
  GF_CK(GFMetricProjectedW2(&shifted, n, y, theta, 16, &b));
  ck_assert_msg(RelativeError(b, a) < 1e-12, "shift: %.17g vs %.17g", b, a);
  GF_CK(GFMetricProjectedW2(&q, n, z, theta, 16, &b));
  ck_assert_msg(b == a, "permutation: %.17g vs %.17g", b, a);
  for (PetscInt d = 0; d < 3; d++) theta[d] *= 2;
  GF_CK(GFMetricProjectedW2(&q, n, x, theta, 16, &c));
  ck_assert_msg(RelativeError(c, 4 * a) < 1e-12, "2 theta: %.17g vs 4 x %.17g", c, a);
  GF_CK(GFMetricSlicedW2(&q, n, x, 5, 0, 8, all));
  GF_CK(GFMetricSlicedW2(&q, n, x, 5, 0, 3, part));
  GF_CK(GFMetricSlicedW2(&q, n, x, 5, 3, 8, part + 3));
  for (PetscInt s = 0; s < 8; s++) ck_assert(all[s] == part[s]);
  ck_assert_msg(RelativeError(all[3], a) < 1e-15, "slice 3 is the projection on its direction");
  GF_CK(PetscFree2(y, z));
  GF_CK(PetscFree(x));
  FreeDensity(&q);
  FreeDensity(&shifted);
}
END_TEST

/* (1/h) int_y0^{y0+h} exp(-(x - y)^2/(2 l^2)) dy by Gauss-Legendre, 20 points on pieces no wider than l/2. */
static PetscReal QuadratureBoxMean(PetscReal x, PetscReal y0, PetscReal h, PetscReal l)
{
  const PetscInt pieces = (PetscInt)PetscCeilReal(h / (0.5 * l));
  PetscReal      gx[20], gw[20], sum = 0;

  GF_CK(PetscDTGaussQuadrature(20, 0, 1, gx, gw));
  for (PetscInt k = 0; k < pieces; k++)
    for (PetscInt i = 0; i < 20; i++) {
      const PetscReal y = y0 + h * (k + gx[i]) / pieces;
      sum += gw[i] * PetscExpReal(-(x - y) * (x - y) / (2 * l * l)) / pieces;
    }
  return sum;
}

/* (1/h^2) int int over two cells delta apart of the kernel: the inner integral by erfc (on the side away from the peak), the outer by Gauss-Legendre, 20 points on pieces no wider than min(h, l)/2. */
static PetscReal QuadratureCellPair(PetscReal h, PetscInt delta, PetscReal l)
{
  const PetscReal s      = l * PETSC_SQRT2;
  const PetscInt  pieces = (PetscInt)PetscCeilReal(h / (0.5 * PetscMin(h, l)));
  PetscReal       gx[20], gw[20], sum = 0;

  if (h <= 2 * l) {
    GF_CK(PetscDTGaussQuadrature(20, 0, 1, gx, gw));
    for (PetscInt i = 0; i < 20; i++)
      for (PetscInt j = 0; j < 20; j++) {
        const PetscReal d = h * (delta + gx[i] - gx[j]);
        sum += gw[i] * gw[j] * PetscExpReal(-d * d / (2 * l * l));
      }
    return sum;
  }
  GF_CK(PetscDTGaussQuadrature(20, 0, 1, gx, gw));
  for (PetscInt k = 0; k < pieces; k++)
    for (PetscInt i = 0; i < 20; i++) {
      const PetscReal x = h * (delta + (k + gx[i]) / pieces), a = (x - h) / s, b = x / s; /* y in [0, h]: (x - y)/s from b down to a */
      const PetscReal mass = a >= 0 ? erfc(a) - erfc(b) : (b <= 0 ? erfc(-b) - erfc(-a) : 2 - erfc(-a) - erfc(b));
      sum += gw[i] / pieces * 0.5 * PetscSqrtReal(PETSC_PI) * s * mass / h;
    }
  return sum;
}

/* int int k q q against a direct double loop over cell pairs with quadrature kernels, for h/l from 1e-3 to 1e2, in 1D and 2D: 1e-13. */
START_TEST(test_mmd_density)
{
  const PetscReal ratios[] = {1e-3, 0.03, 0.5, 1, 2.5, 7, 100};

  for (PetscInt dim = 1; dim <= 2; dim++) {
    const PetscInt   cells[2] = {9, 6};
    const PetscReal  lower[2] = {0, -1}, upper[2] = {1.8, 0.5};
    GFCompareDensity q = MakeDensity(dim, cells, lower, upper, GF_BC_NOFLUX);
    for (PetscInt c = 0; c < q.ncells; c++) q.p[c] = c % 5 == 1 ? 0 : Uniform(21, (uint64_t)c, 0);
    Normalise(&q);
    for (size_t r = 0; r < sizeof(ratios) / sizeof(ratios[0]); r++) {
      const PetscReal l = q.h[0] / ratios[r];
      PetscReal       qq, oracle = 0, K[2][9];
      for (PetscInt a = 0; a < dim; a++)
        for (PetscInt d = 0; d < cells[a]; d++) K[a][d] = QuadratureCellPair(q.h[a], d, l);
      for (PetscInt c = 0; c < q.ncells; c++)
        for (PetscInt e = 0; e < q.ncells; e++) {
          PetscReal k = K[0][PetscAbsInt(c % 9 - e % 9)];
          if (dim == 2) k *= K[1][PetscAbsInt(c / 9 - e / 9)];
          oracle += q.p[c] * q.p[e] * k;
        }
      GF_CK(GFMetricMMDDensity(&q, l, &qq));
      ck_assert_msg(RelativeError(qq, oracle) < 1e-13, "%dD h/l = %g: qq %.17g, quadrature %.17g", (int)dim, ratios[r], qq, oracle);
    }
    FreeDensity(&q);
  }
}
END_TEST

/* int k(x_i, y) q(y) dy against tensor Gauss-Legendre in every cell, particles inside and far outside the box, 2D and 3D: 1e-13. */
START_TEST(test_mmd_cross)
{
  const PetscReal bandwidths[] = {0.02, 0.3, 5};

  for (PetscInt dim = 2; dim <= 3; dim++) {
    const PetscInt   n = 12;
    PetscReal       *x, values[12];
    GFCompareDensity q = RaggedDensity(dim, n, &x);
    x[0]               = 3;
    for (size_t b = 0; b < sizeof(bandwidths) / sizeof(bandwidths[0]); b++) {
      const PetscReal l = bandwidths[b];
      GF_CK(GFMetricMMDCross(&q, l, n, x, values));
      for (PetscInt i = 0; i < n; i++) {
        PetscReal oracle = 0;
        for (PetscInt c = 0; c < q.ncells; c++) {
          PetscReal f    = q.p[c];
          PetscInt  rest = c;
          for (PetscInt a = 0; a < dim; a++) {
            f *= QuadratureBoxMean(x[i * dim + a], q.lower[a] + (rest % q.cells[a]) * q.h[a], q.h[a], l);
            rest /= q.cells[a];
          }
          oracle += f;
        }
        if (oracle < 1e-250)
          ck_assert_msg(values[i] < 1e-240, "%dD l = %g particle %d: %g for an underflowing %g", (int)dim, l, (int)i, values[i], oracle);
        else
          ck_assert_msg(RelativeError(values[i], oracle) < 1e-13, "%dD l = %g particle %d: %.17g, quadrature %.17g", (int)dim, l, (int)i, values[i], oracle);
      }
    }
    GF_CK(PetscFree(x));
    FreeDensity(&q);
  }
}
END_TEST

/* Row sums of the kernel matrix against a direct double loop, for a row range; bad ranges fail. */
START_TEST(test_mmd_pairs)
{
  const PetscInt n = 500, dim = 3;
  PetscReal      x[1500], values[500];

  for (PetscInt k = 0; k < n * dim; k++) x[k] = Uniform(31, (uint64_t)k, 0);
  GF_CK(GFMetricMMDPairs(dim, 0.2, n, x, 100, 350, values));
  for (PetscInt i = 100; i < 350; i++) {
    long double sum = 0;
    for (PetscInt j = 0; j < n; j++) {
      long double d2 = 0;
      for (PetscInt a = 0; a < dim; a++) d2 += (long double)(x[i * dim + a] - x[j * dim + a]) * (x[i * dim + a] - x[j * dim + a]);
      sum += expl(-d2 / (2 * 0.2L * 0.2L));
    }
    ck_assert_msg(RelativeError(values[i - 100], (PetscReal)sum) < 1e-14, "row %d: %.17g, direct %.17Lg", (int)i, values[i - 100], sum);
  }
  GF_ASSERT_ERROR(GFMetricMMDPairs(dim, 0.2, n, x, 10, 501, values), PETSC_ERR_ARG_OUTOFRANGE, "MMD rows [10, 501) of 500 particles");
  GF_ASSERT_ERROR(GFMetricMMDPairs(dim, -1, n, x, 0, 1, values), PETSC_ERR_ARG_OUTOFRANGE, "bandwidth -1");
}
END_TEST

/* MMD^2 = pairs/n^2 - 2 mean(cross) + qq of samples of q is >= 0, and its mean is (1 - qq)/n exactly (the diagonal's 1/n and the off-diagonal's (1 - 1/n) qq): within 4 standard errors at n = 20, 80, 320. */
START_TEST(test_mmd_unbiased_mean)
{
  const PetscInt   ns[] = {20, 80, 320}, dim = 2;
  const PetscReal  l = 0.3;
  PetscReal       *x0;
  GFCompareDensity q   = RaggedDensity(dim, 1, &x0);
  PetscReal       *cdf = CellCDF(&q), qq;

  GF_CK(GFMetricMMDDensity(&q, l, &qq));
  for (size_t t = 0; t < 3; t++) {
    const PetscInt n = ns[t], R = 4000 / n;
    PetscReal     *x, *pairs, *cross, sum = 0, sum2 = 0, mean, se;
    GF_CK(PetscMalloc3(n * dim, &x, n, &pairs, n, &cross));
    for (PetscInt r = 0; r < R; r++) {
      PetscReal p = 0, c = 0, mmd2;
      Sample(&q, cdf, 50 + t, n, r, x);
      GF_CK(GFMetricMMDPairs(dim, l, n, x, 0, n, pairs));
      GF_CK(GFMetricMMDCross(&q, l, n, x, cross));
      for (PetscInt i = 0; i < n; i++) {
        p += pairs[i];
        c += cross[i];
      }
      mmd2 = p / ((PetscReal)n * n) - 2 * c / n + qq;
      ck_assert_msg(mmd2 >= 0, "n = %d replica %d: MMD^2 = %g", (int)n, (int)r, mmd2);
      sum += mmd2;
      sum2 += mmd2 * mmd2;
    }
    mean = sum / R;
    se   = PetscSqrtReal((sum2 / R - mean * mean) / (R - 1));
    ck_assert_msg(PetscAbsReal(mean - (1 - qq) / n) < 4 * se, "n = %d: mean MMD^2 %.6g, expected (1 - qq)/n = %.6g +- %.2g", (int)n, mean, (1 - qq) / n, se);
    GF_CK(PetscFree3(x, pairs, cross));
  }
  GF_CK(PetscFree(cdf));
  GF_CK(PetscFree(x0));
  FreeDensity(&q);
}
END_TEST

static Suite *MakeSuite(void)
{
  Suite *s = suite_create("test_metrics");
  TCase *t = tcase_create("metrics");

  tcase_set_timeout(t, 120);
  tcase_add_test(t, test_w1d_single_particle);
  tcase_add_test(t, test_w1d_oracles);
  tcase_add_test(t, test_w1d_thin_tails);
  tcase_add_test(t, test_w1d_symmetries);
  tcase_add_test(t, test_floor_oracles);
  tcase_add_test(t, test_floor_monte_carlo);
  tcase_add_test(t, test_floor_asymptotic);
  tcase_add_test(t, test_l1_cells);
  tcase_add_test(t, test_l1_histograms);
  tcase_add_test(t, test_slice_directions);
  tcase_add_test(t, test_sliced_axes);
  tcase_add_test(t, test_sliced_exact_projection);
  tcase_add_test(t, test_sliced_invariances);
  tcase_add_test(t, test_mmd_density);
  tcase_add_test(t, test_mmd_cross);
  tcase_add_test(t, test_mmd_pairs);
  tcase_add_test(t, test_mmd_unbiased_mean);
  suite_add_tcase(s, t);
  return s;
}

int main(int argc, char **argv)
{
  return GFTestMain(argc, argv, MakeSuite);
}
