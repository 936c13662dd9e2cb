/*
  The three sums of the Gaussian-kernel MMD of a particle cloud against a GFCompareDensity q
  (piecewise constant on its cells), k(x, y) = exp(-|x - y|^2 / (2 l^2)): int int k q q and
  int k(x_i, y) q(y) dy exactly (erf and exp products per axis, with care where they cancel),
  sum_j k(x_i, x_j) directly. Serial; the caller splits rows over its ranks.
*/
#include "particles.h"

#define GF_SQRT_PI 1.77245385090551602729816748334115
/* exp(-z^2) underflows (below the smallest subnormal) beyond this z. */
#define GF_METRIC_GAUSS_RANGE 27.3

/* exp(-z^2) to a few ulp: z = zh + zl with zh of 26 bits (Veltkamp's split), so zh^2 is exact and the rounding of z^2, which exp would magnify by z^2, is avoided. */
static PetscReal GFExpMinusSquare(PetscReal z)
{
  const PetscReal split = 134217729.0 * z, zh = split - (split - z), zl = z - zh;

  return PetscExpReal(-zh * zh) * PetscExpReal(-(2 * zh + zl) * zl);
}

/*
  sum_j c_j r^(2j) H_2j(z) (physicists' Hermite polynomials), c_j = 1/(2j+1)! (box) or 2/(2j+2)!
  (triangle), until two terms in a row stop mattering: the Taylor series of exp(-z^2) averaged over
  a box of half-width r, or a triangle of half-width r, around z, divided by exp(-z^2).
*/
static PetscReal GFGaussHermiteSeries(PetscReal z, PetscReal r, PetscBool triangle)
{
  PetscReal h_even = 1, h_odd = 2 * z, r2 = r * r, power = 1, factorial = triangle ? 2 : 1, sum = 0;
  PetscInt  small = 0;

  for (PetscInt j = 0; j < 40; j++) {
    const PetscReal term = (triangle ? 2 : 1) * power * h_even / factorial;
    sum += term;
    small = PetscAbsReal(term) <= 1e-17 * PetscAbsReal(sum) ? small + 1 : 0;
    if (small == 2) break;
    /* H_{m+1} = 2 z H_m - 2 m H_{m-1}, twice: from (H_2j, H_2j+1) to (H_2j+2, H_2j+3) */
    h_even = 2 * z * h_odd - 2 * (2 * j + 1) * h_even;
    h_odd  = 2 * z * h_even - 2 * (2 * j + 2) * h_odd;
    power *= r2;
    factorial *= triangle ? (2 * j + 3) * (2 * j + 4) : (2 * j + 2) * (2 * j + 3);
  }
  return sum;
}

/*
  (1/h) int_{y0}^{y0+h} exp(-(y - x)^2/s^2) dy with r = h/(2s), z = (y0 + h/2 - x)/s: the Hermite
  series when r max(|z|, 1) <= 1/4 (a narrow cell, where erf differences would cancel), else
  sqrt(pi)/(4r) (erf(z + r) - erf(z - r)) by erfc on the side away from the peak (as
  GaussianIntervalMass in grid.c).
*/
static PetscReal GFGaussBoxMean(PetscReal r, PetscReal z)
{
  const PetscReal za = z - r, zb = z + r;
  PetscReal       mass;

  if (r * PetscMax(PetscAbsReal(z), 1) <= 0.25) return GFExpMinusSquare(z) * GFGaussHermiteSeries(z, r, PETSC_FALSE);
  if (za >= 0)
    mass = erfc(za) - erfc(zb);
  else if (zb <= 0)
    mass = erfc(-zb) - erfc(-za);
  else
    mass = 2 - erfc(-za) - erfc(zb);
  return GF_SQRT_PI / (4 * r) * mass;
}

/* int_z^inf int_t^inf exp(-u^2) du dt = (exp(-z^2) - sqrt(pi) z erfc(z))/2 for z >= 0; from z = 7 its asymptotic series (exp(-z^2)/2) sum_{k>=1} (-1)^(k+1) (2k-1)!!/(2z^2)^k, which the direct form would cancel. */
static PetscReal GFGaussTail2(PetscReal z)
{
  if (z < 7) return 0.5 * (GFExpMinusSquare(z) - GF_SQRT_PI * z * erfc(z));
  {
    const PetscReal x    = 1 / (2 * z * z);
    PetscReal       term = x, sum = 0;
    for (PetscInt k = 1; k < 60; k++) {
      const PetscReal previous = sum;
      sum += term;
      if (sum == previous) break;
      term *= -(2 * k + 1) * x;
    }
    return 0.5 * GFExpMinusSquare(z) * sum;
  }
}

/*
  K(delta) = (1/h^2) int_cell int_cell' exp(-(x - y)^2/(2 l^2)) dx dy for two cells of width h whose
  indices differ by delta >= 0; with a = h/(l sqrt 2), D = delta a it is the triangle average
  (1/a^2) int_{-a}^{a} (a - |u|) exp(-(D + u)^2) du: the Hermite series when a max(D, 1) <= 1/2;
  (2/a^2)(a (sqrt(pi)/2) erf(a) - (1 - exp(-a^2))/2) for delta = 0; the second difference
  (T(D + a) - 2 T(D) + T(D - a))/a^2 of the double Gaussian tail T (GFGaussTail2) otherwise.
*/
static PetscReal GFGaussCellPair(PetscReal a, PetscInt delta)
{
  const PetscReal D = delta * a;

  if (D - a > GF_METRIC_GAUSS_RANGE) return 0;
  if (a * PetscMax(D, 1) <= 0.5) return GFExpMinusSquare(D) * GFGaussHermiteSeries(D, a, PETSC_TRUE);
  if (delta == 0) return 2 / (a * a) * (0.5 * GF_SQRT_PI * a * erf(a) + 0.5 * expm1(-a * a));
  return (GFGaussTail2(D + a) - 2 * GFGaussTail2(D) + GFGaussTail2(D - a)) / (a * a);
}

/* Check a kernel bandwidth. */
static PetscErrorCode GFMetricCheckBandwidth(PetscReal bandwidth)
{
  PetscFunctionBeginUser;
  PetscCheck(bandwidth > 0 && PetscIsNormalReal(bandwidth), PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "MMD kernel bandwidth %g; must be positive and finite", (double)bandwidth);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  int int k(x, y) q(x) q(y) dx dy = sum_{c, c'} p_c p_c' prod_a K_a(|c_a - c'_a|) (GFGaussCellPair): the
  Toeplitz factors applied to p axis by axis, each truncated where it underflows, then dotted with
  p (compensated), O(ncells sum_a cells_a).
*/
PetscErrorCode GFMetricMMDDensity(const GFCompareDensity *q, PetscReal bandwidth, PetscReal *qq)
{
  PetscReal       *table[3] = {NULL, NULL, NULL}, *in, *out, total;
  PetscInt         reach[3] = {1, 1, 1}, stride = 1;
  GFCompensatedSum sum = {0, 0};

  PetscFunctionBeginUser;
  PetscCall(GFMetricCheckBandwidth(bandwidth));
  PetscCall(GFCompareDensityTotal(q, &total));
  PetscCall(PetscMalloc5(q->cells[0], &table[0], q->cells[1], &table[1], q->cells[2], &table[2], q->ncells, &in, q->ncells, &out));
  for (PetscInt a = 0; a < q->dim; a++) {
    const PetscReal width = q->h[a] / (bandwidth * PETSC_SQRT2);
    for (reach[a] = 0; reach[a] < q->cells[a]; reach[a]++) {
      table[a][reach[a]] = GFGaussCellPair(width, reach[a]);
      if (table[a][reach[a]] == 0) break;
    }
  }
  for (PetscInt c = 0; c < q->ncells; c++) in[c] = q->p[c] / total;
  for (PetscInt a = 0; a < q->dim; a++) {
    const PetscInt cells = q->cells[a];
    for (PetscInt c = 0; c < q->ncells; c++) {
      const PetscInt i = (c / stride) % cells, base = c - i * stride;
      PetscReal      r = 0;
      for (PetscInt k = PetscMax(0, i - reach[a] + 1); k < PetscMin(cells, i + reach[a]); k++) r += table[a][PetscAbsInt(i - k)] * in[base + k * stride];
      out[c] = r;
    }
    stride *= cells;
    {
      PetscReal *swap = in;
      in              = out;
      out             = swap;
    }
  }
  for (PetscInt c = 0; c < q->ncells; c++) GFCompensatedAdd(&sum, q->p[c] / total * in[c]);
  *qq = sum.sum + sum.correction;
  PetscCall(PetscFree5(table[0], table[1], table[2], in, out));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  values[i] = int k(x_i, y) q(y) dy = sum_c p_c prod_a f_a(c_a), f_a the mean of exp(-(x_a - y)^2/(2 l^2))
  over the cell's interval on axis a (GFGaussBoxMean), over the cells whose factors do not
  underflow, contracted axis by axis (x first) for each particle.
*/
PetscErrorCode GFMetricMMDCross(const GFCompareDensity *q, PetscReal bandwidth, PetscInt n, const PetscReal x[], PetscReal values[])
{
  const PetscInt  dim = q->dim;
  const PetscReal s   = bandwidth * PETSC_SQRT2;
  PetscReal      *factor[3], total;

  PetscFunctionBeginUser;
  PetscCall(GFMetricCheckBandwidth(bandwidth));
  PetscCall(GFCompareDensityTotal(q, &total));
  PetscCall(PetscMalloc3(q->cells[0], &factor[0], q->cells[1], &factor[1], q->cells[2], &factor[2]));
  for (PetscInt i = 0; i < n; i++) {
    PetscInt  first[3] = {0, 0, 0}, last[3] = {0, 0, 0};
    PetscBool empty = PETSC_FALSE;

    for (PetscInt a = 0; a < 3 && !empty; a++) {
      const PetscInt cells = q->cells[a];
      PetscReal      lo, hi;

      if (a >= dim) {
        factor[a][0] = 1;
        continue;
      }
      /* the cells within GF_METRIC_GAUSS_RANGE s of the particle; none for one far away (or not finite) */
      lo = PetscFloorReal((x[i * dim + a] - GF_METRIC_GAUSS_RANGE * s - q->lower[a]) / q->h[a]);
      hi = PetscFloorReal((x[i * dim + a] + GF_METRIC_GAUSS_RANGE * s - q->lower[a]) / q->h[a]);
      if (!(lo <= cells - 1 && hi >= 0)) {
        empty = PETSC_TRUE;
        break;
      }
      first[a] = lo < 0 ? 0 : (PetscInt)lo;
      last[a]  = hi > cells - 1 ? cells - 1 : (PetscInt)hi;
      for (PetscInt c = first[a]; c <= last[a]; c++) factor[a][c] = GFGaussBoxMean(q->h[a] / (2 * s), (q->lower[a] + (c + 0.5) * q->h[a] - x[i * dim + a]) / s);
    }
    if (empty) {
      values[i] = 0;
      continue;
    }
    /* contract x, then y, then z */
    {
      const PetscInt cx = q->cells[0], cy = q->cells[1];
      PetscReal      value = 0;
      for (PetscInt k = first[2]; k <= last[2]; k++) {
        PetscReal row_sum = 0;
        for (PetscInt j = first[1]; j <= last[1]; j++) {
          const PetscReal *p    = q->p + cx * (j + cy * k);
          PetscReal        line = 0;
          for (PetscInt c = first[0]; c <= last[0]; c++) line += p[c] * factor[0][c];
          row_sum += factor[1][j] * line;
        }
        value += factor[2][k] * row_sum;
      }
      values[i] = value / total;
    }
  }
  PetscCall(PetscFree3(factor[0], factor[1], factor[2]));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* values[i - i_begin] = sum_{j < n} exp(-|x_i - x_j|^2/(2 l^2)) (the diagonal included), compensated sums over j. */
PetscErrorCode GFMetricMMDPairs(PetscInt dim, PetscReal bandwidth, PetscInt n, const PetscReal x[], PetscInt i_begin, PetscInt i_end, PetscReal values[])
{
  PetscReal scale;

  PetscFunctionBeginUser;
  PetscCall(GFMetricCheckBandwidth(bandwidth));
  PetscCheck(dim >= 1 && dim <= 3, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "MMD pairs in %" PetscInt_FMT "D; dimensions 1 to 3", dim);
  PetscCheck(0 <= i_begin && i_begin <= i_end && i_end <= n, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE, "MMD rows [%" PetscInt_FMT ", %" PetscInt_FMT ") of %" PetscInt_FMT " particles", i_begin, i_end, n);
  scale = 1 / (2 * bandwidth * bandwidth);
  for (PetscInt i = i_begin; i < i_end; i++) {
    const PetscReal *xi  = x + i * dim;
    GFCompensatedSum sum = {0, 0};
    for (PetscInt j = 0; j < n; j++) {
      const PetscReal *xj = x + j * dim;
      PetscReal        d2 = 0;
      for (PetscInt a = 0; a < dim; a++) d2 += (xi[a] - xj[a]) * (xi[a] - xj[a]);
      GFCompensatedAdd(&sum, PetscExpReal(-d2 * scale));
    }
    values[i - i_begin] = sum.sum + sum.correction;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
