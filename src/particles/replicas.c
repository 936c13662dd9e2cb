/*
  Statistics over the replicas of an N-sweep (sweep.c): the one-particle marginal's biases
  against the PDE with jackknife standard errors, means with standard errors, and the rate
  in N fitted by weighted least squares.
*/
#include "comparison.h"

/* theta(J) of the marginal from the replicas in J (mask), with the reference moments: see the file's comment. */
static void GFSweepMarginalOf(PetscInt dim, PetscInt R, const PetscReal first[], const PetscReal second[], PetscInt stride, const PetscBool use[], const PetscReal ref_mean[], const PetscReal ref_cov[][3], PetscReal out[MARGINAL_COUNT])
{
  PetscReal mu[3] = {0, 0, 0}, S[3][3] = {{0}}, Cm[3][3] = {{0}}, mean_bias = 0, cov_bias = 0;
  PetscInt  count = 0;

  for (PetscInt r = 0; r < R; r++) {
    if (!use[r]) continue;
    count++;
    for (PetscInt a = 0; a < dim; a++) {
      mu[a] += first[stride * r + a];
      for (PetscInt b = 0; b < dim; b++) S[a][b] += second[3 * stride * r + 3 * a + b];
    }
  }
  for (PetscInt a = 0; a < dim; a++) {
    mu[a] /= count;
    for (PetscInt b = 0; b < dim; b++) S[a][b] /= count;
  }
  for (PetscInt r = 0; r < R; r++)
    if (use[r])
      for (PetscInt a = 0; a < dim; a++)
        for (PetscInt b = 0; b < dim; b++) Cm[a][b] += (first[stride * r + a] - mu[a]) * (first[stride * r + b] - mu[b]) / (count - 1);
  for (PetscInt a = 0; a < dim; a++) {
    mean_bias += PetscSqr(mu[a] - ref_mean[a]);
    for (PetscInt b = 0; b < dim; b++) {
      const PetscReal C = S[a][b] - mu[a] * mu[b] + Cm[a][b] / count;
      cov_bias += PetscSqr(C - ref_cov[a][b]);
      if (a == b) out[MARGINAL_VAR + a] = C;
    }
  }
  out[MARGINAL_MEAN] = dim == 1 ? mu[0] - ref_mean[0] : PetscSqrtReal(mean_bias);
  out[MARGINAL_COV]  = dim == 1 ? out[MARGINAL_VAR] - ref_cov[0][0] : PetscSqrtReal(cov_bias);
}

/* The marginal's estimates from all R replicas (first: R x 3 with stride, second: R x 9) and their jackknife standard errors (NaN below 3 replicas). */
PETSC_INTERN PetscErrorCode GFSweepMarginal(PetscInt dim, PetscInt R, const PetscReal first[], const PetscReal second[], PetscInt stride, const PetscReal ref_mean[], const PetscReal ref_cov[][3], PetscReal value[MARGINAL_COUNT],
                                            PetscReal se[MARGINAL_COUNT])
{
  PetscBool *use;
  PetscReal  loo[MARGINAL_COUNT], mean[MARGINAL_COUNT] = {0}, *samples;

  PetscFunctionBeginUser;
  for (PetscInt k = 0; k < MARGINAL_COUNT; k++) value[k] = se[k] = (PetscReal)NAN;
  if (R < 2) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscMalloc2(R, &use, R * MARGINAL_COUNT, &samples));
  for (PetscInt r = 0; r < R; r++) use[r] = PETSC_TRUE;
  GFSweepMarginalOf(dim, R, first, second, stride, use, ref_mean, ref_cov, value);
  if (R >= 3) {
    for (PetscInt r = 0; r < R; r++) {
      use[r] = PETSC_FALSE;
      GFSweepMarginalOf(dim, R, first, second, stride, use, ref_mean, ref_cov, loo);
      use[r] = PETSC_TRUE;
      for (PetscInt k = 0; k < MARGINAL_COUNT; k++) {
        samples[r * MARGINAL_COUNT + k] = loo[k];
        mean[k] += loo[k] / R;
      }
    }
    for (PetscInt k = 0; k < MARGINAL_COUNT; k++) {
      PetscReal sum = 0;
      for (PetscInt r = 0; r < R; r++) sum += PetscSqr(samples[r * MARGINAL_COUNT + k] - mean[k]);
      se[k] = PetscSqrtReal((R - 1) * sum / R);
    }
  }
  PetscCall(PetscFree2(use, samples));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Mean and standard error (sample standard deviation / sqrt R; NaN for R = 1) of R values stride apart. */
PETSC_INTERN void GFSweepMeanError(PetscInt R, const PetscReal v[], size_t stride, PetscReal *mean, PetscReal *se)
{
  PetscReal sum = 0, sq = 0;

  for (PetscInt r = 0; r < R; r++) sum += v[r * stride];
  *mean = sum / R;
  for (PetscInt r = 0; r < R; r++) sq += PetscSqr(v[r * stride] - *mean);
  *se = R > 1 ? PetscSqrtReal(sq / (R - 1) / R) : (PetscReal)NAN;
}

/*
  The rate p of y ~ N^p: least squares of ln y against ln N over the points with y > 0,
  weighted by (y / se)^2 when every se is known, else unweighted with the slope's error
  from the residuals (3 points or more). NaN when fewer than 2 points qualify.
*/
PETSC_INTERN void GFSweepFitRate(PetscInt n, const PetscInt N[], const PetscReal y[], const PetscReal se[], PetscReal *rate, PetscReal *rate_se, PetscReal *chi2)
{
  PetscReal sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0, res = 0;
  PetscInt  used     = 0;
  PetscBool weighted = PETSC_TRUE;

  *rate = *rate_se = *chi2 = (PetscReal)NAN;
  for (PetscInt k = 0; k < n; k++)
    if (y[k] > 0 && !PetscIsInfOrNanReal(y[k])) {
      used++;
      weighted = (PetscBool)(weighted && se[k] > 0 && !PetscIsInfOrNanReal(se[k]));
    }
  if (used < 2) return;
  for (PetscInt k = 0; k < n; k++) {
    if (!(y[k] > 0) || PetscIsInfOrNanReal(y[k])) continue;
    {
      const PetscReal x = PetscLogReal((PetscReal)N[k]), w = weighted ? PetscSqr(y[k] / se[k]) : 1;
      sw += w;
      sx += w * x;
      sy += w * PetscLogReal(y[k]);
    }
  }
  for (PetscInt k = 0; k < n; k++) {
    if (!(y[k] > 0) || PetscIsInfOrNanReal(y[k])) continue;
    {
      const PetscReal x = PetscLogReal((PetscReal)N[k]) - sx / sw, w = weighted ? PetscSqr(y[k] / se[k]) : 1;
      sxx += w * x * x;
      sxy += w * x * (PetscLogReal(y[k]) - sy / sw);
    }
  }
  if (!(sxx > 0)) return;
  *rate = sxy / sxx;
  for (PetscInt k = 0; k < n; k++) {
    if (!(y[k] > 0) || PetscIsInfOrNanReal(y[k])) continue;
    {
      const PetscReal x = PetscLogReal((PetscReal)N[k]) - sx / sw, w = weighted ? PetscSqr(y[k] / se[k]) : 1, r = PetscLogReal(y[k]) - sy / sw - *rate * x;
      res += w * r * r;
    }
  }
  if (used > 2) *chi2 = res / (used - 2);
  if (weighted)
    *rate_se = 1 / PetscSqrtReal(sxx);
  else if (used > 2)
    *rate_se = PetscSqrtReal(res / (used - 2) / sxx);
}
