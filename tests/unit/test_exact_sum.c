/* exact_sum: sums that cancel to what rounding would lose, the same bits in any order and on any number of ranks, carries, NaN and infinities, exact moments. */
#include "gftest.h"
#include "../../src/base/base.h"
#include <math.h>

/* Terms whose naive sum loses everything: 1e300 + 1 - 1e300, the smallest subnormal beside 1, a long ladder of exponents and its negation. */
START_TEST(test_cancellation)
{
  const PetscReal tiny = ldexp(1.0, -1074);
  GFExactSum      s;

  GFExactSumInit(&s);
  GFExactSumAdd(&s, 1e300);
  GFExactSumAdd(&s, 1);
  GFExactSumAdd(&s, -1e300);
  ck_assert_msg(GFExactSumValue(&s) == 1, "1e300 + 1 - 1e300 = %g, want 1", (double)GFExactSumValue(&s));
  GFExactSumInit(&s);
  GFExactSumAdd(&s, 1);
  GFExactSumAdd(&s, tiny);
  GFExactSumAdd(&s, -1);
  ck_assert_msg(GFExactSumValue(&s) == tiny, "1 + 2^-1074 - 1 = %g, want 2^-1074", (double)GFExactSumValue(&s));
  GFExactSumInit(&s);
  for (int e = -1074; e <= 1023; e += 7) GFExactSumAdd(&s, ldexp(1.0, e));
  for (int e = -1074; e <= 1023; e += 7) GFExactSumAdd(&s, -ldexp(1.0, e));
  GFExactSumAdd(&s, -3.25);
  ck_assert_msg(GFExactSumValue(&s) == -3.25, "a ladder of 2^e and its negation, then -3.25: %g", (double)GFExactSumValue(&s));
  GFExactSumInit(&s);
  ck_assert(GFExactSumValue(&s) == 0);
}
END_TEST

/* 2^14 terms of wide magnitudes: the sum in reverse order, split over the ranks (each rank its block, then the allreduce) and of a Vec (GFVecSumExact) is the same bits, and within 1e-15 of the compensated sum. */
START_TEST(test_order_and_ranks)
{
  const PetscInt n = 16384;
  PetscReal     *x, forward, backward, compensated;
  GFExactSum     s;
  PetscMPIInt    rank, size;

  GF_CK(PetscMalloc1(n, &x));
  for (PetscInt i = 0; i < n; i++) {
    PetscReal u[2];
    GFRandomUniforms(5, (uint64_t)i, 0, GF_RANDOM_BLOCK_INITIAL, u);
    x[i] = (u[0] - 0.3) * ldexp(1.0, (int)(60 * u[1]) - 30);
  }
  GFExactSumInit(&s);
  for (PetscInt i = 0; i < n; i++) GFExactSumAdd(&s, x[i]);
  forward = GFExactSumValue(&s);
  GFExactSumInit(&s);
  for (PetscInt i = n - 1; i >= 0; i--) GFExactSumAdd(&s, x[i]);
  backward = GFExactSumValue(&s);
  ck_assert_msg(forward == backward, "forward %.17g, backward %.17g", (double)forward, (double)backward);
  {
    GFCompensatedSum c = {0, 0};
    for (PetscInt i = 0; i < n; i++) GFCompensatedAdd(&c, x[i]);
    compensated = c.sum + c.correction;
    ck_assert_msg(PetscAbsReal(forward - compensated) <= 1e-15 * PetscAbsReal(compensated), "exact %.17g, compensated %.17g", (double)forward, (double)compensated);
  }
  GF_CK(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  GF_CK(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  GFExactSumInit(&s);
  for (PetscInt i = n * rank / size; i < n * (rank + 1) / size; i++) GFExactSumAdd(&s, x[i]);
  GF_CK(GFExactSumAllreduce(PETSC_COMM_WORLD, 1, &s));
  ck_assert_msg(GFExactSumValue(&s) == forward, "over %d ranks %.17g, on one %.17g", size, (double)GFExactSumValue(&s), (double)forward);
  {
    const PetscInt begin = n * rank / size, end = n * (rank + 1) / size;
    PetscScalar   *a;
    PetscReal      sum;
    Vec            v;

    GF_CK(VecCreateMPI(PETSC_COMM_WORLD, end - begin, n, &v));
    GF_CK(VecGetArray(v, &a));
    for (PetscInt i = begin; i < end; i++) a[i - begin] = x[i];
    GF_CK(VecRestoreArray(v, &a));
    GF_CK(GFVecSumExact(v, &sum));
    ck_assert_msg(sum == forward, "GFVecSumExact over %d ranks %.17g, the exact sum %.17g", size, (double)sum, (double)forward);
    GF_CK(VecDestroy(&v));
  }
  GF_CK(PetscFree(x));
}
END_TEST

/* Carries propagated when the pending count runs out change nothing; NaN and infinities win over finite terms. */
START_TEST(test_carries_and_specials)
{
  GFExactSum s, t;

  GFExactSumInit(&s);
  GFExactSumInit(&t);
  for (int k = 0; k < 1000; k++) {
    GFExactSumAdd(&s, -1.5e-3 * k);
    GFExactSumAdd(&t, -1.5e-3 * k);
  }
  t.pending = (1 << 29) - 1; /* the next addition propagates the carries */
  GFExactSumAdd(&s, 7);
  GFExactSumAdd(&t, 7);
  ck_assert(t.pending == 0);
  ck_assert_msg(GFExactSumValue(&s) == GFExactSumValue(&t), "%.17g against %.17g", (double)GFExactSumValue(&s), (double)GFExactSumValue(&t));
  GFExactSumAdd(&s, (PetscReal)INFINITY);
  ck_assert(GFExactSumValue(&s) == (PetscReal)INFINITY);
  GFExactSumAdd(&s, -(PetscReal)INFINITY);
  ck_assert(PetscIsNanReal(GFExactSumValue(&s)));
}
END_TEST

/* Exact moments: within 1e-14 of GFPointMoments, and the same bits for the points in another order. */
START_TEST(test_moments)
{
  const PetscInt n = 3000;
  PetscReal      x[6000], y[6000], mean[3], cov[3][3], mean_e[3], cov_e[3][3], mean_r[3], cov_r[3][3];

  for (PetscInt i = 0; i < n; i++) {
    PetscReal z[2];
    GFRandomNormals(3, (uint64_t)i, 0, GF_RANDOM_BLOCK_INITIAL, z);
    x[2 * i]     = 1e3 + z[0];
    x[2 * i + 1] = -2 + 0.5 * z[0] + z[1];
  }
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt a = 0; a < 2; a++) y[2 * i + a] = x[2 * (n - 1 - i) + a];
  GF_CK(GFPointMoments(PETSC_COMM_SELF, 2, n, x, mean, cov));
  GF_CK(GFPointMomentsExact(PETSC_COMM_SELF, 2, n, x, mean_e, cov_e));
  GF_CK(GFPointMomentsExact(PETSC_COMM_SELF, 2, n, y, mean_r, cov_r));
  for (PetscInt a = 0; a < 2; a++) {
    ck_assert_msg(PetscAbsReal(mean_e[a] - mean[a]) <= 1e-14 * PetscAbsReal(mean[a]), "mean %d: %.17g against %.17g", (int)a, (double)mean_e[a], (double)mean[a]);
    ck_assert(mean_e[a] == mean_r[a]);
    for (PetscInt b = 0; b < 2; b++) {
      ck_assert_msg(PetscAbsReal(cov_e[a][b] - cov[a][b]) <= 1e-12 * PetscAbsReal(cov[a][a]), "covariance %d%d: %.17g against %.17g", (int)a, (int)b, (double)cov_e[a][b], (double)cov[a][b]);
      ck_assert(cov_e[a][b] == cov_r[a][b]);
    }
  }
}
END_TEST

static Suite *MakeSuite(void)
{
  Suite *s = suite_create("exact_sum");
  TCase *t = tcase_create("sums");

  tcase_add_test(t, test_cancellation);
  tcase_add_test(t, test_order_and_ranks);
  tcase_add_test(t, test_carries_and_specials);
  tcase_add_test(t, test_moments);
  suite_add_tcase(s, t);
  return s;
}

int main(int argc, char **argv)
{
  return GFTestMain(argc, argv, MakeSuite);
}
