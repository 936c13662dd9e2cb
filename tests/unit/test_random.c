/* random: Philox4x32-10 against the Random123 known answers; uniforms and normals have the right law; streams are independent of each other. */
#include "gftest.h"
#include "../../src/particles/particles.h"

/* The three philox4x32 10 lines of Random123's kat_vectors. */
START_TEST(test_philox_known_answers)
{
  const uint32_t vectors[3][10] = {
      {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
      {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
      {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
  };
  for (int v = 0; v < 3; v++) {
    uint32_t out[4];
    GFPhilox4x32(vectors[v], vectors[v] + 4, out);
    for (int w = 0; w < 4; w++) ck_assert_msg(out[w] == vectors[v][6 + w], "vector %d word %d: %08x, want %08x", v, w, out[w], vectors[v][6 + w]);
  }
}
END_TEST

/*
  10^6 normals from (seed, index, step) over a grid of indices and steps: mean, variance,
  third and fourth moments within 5 standard errors of 0, 1, 0, 3; the fraction below
  -1.96 within 5 standard errors of 0.025; uniforms strictly inside (0, 1) with mean 1/2.
*/
START_TEST(test_normal_moments)
{
  const PetscInt n    = 500000;
  PetscReal      s[4] = {0, 0, 0, 0}, below = 0, usum = 0, umin = 1, umax = 0;

  for (PetscInt i = 0; i < n; i++) {
    PetscReal z[2], u[2];
    GFRandomNormals(12345, (uint64_t)(i % 1000), (uint64_t)(i / 1000), GF_RANDOM_BLOCK_NOISE, z);
    GFRandomUniforms(777, (uint64_t)i, 3, GF_RANDOM_BLOCK_INITIAL, u);
    for (int k = 0; k < 2; k++) {
      s[0] += z[k];
      s[1] += z[k] * z[k];
      s[2] += z[k] * z[k] * z[k];
      s[3] += z[k] * z[k] * z[k] * z[k];
      below += z[k] < -1.96;
      usum += u[k];
      umin = PetscMin(umin, u[k]);
      umax = PetscMax(umax, u[k]);
    }
  }
  {
    const PetscReal m = 2.0 * n, se[4] = {1, PetscSqrtReal(2.0), PetscSqrtReal(15.0), PetscSqrtReal(96.0)}, want[4] = {0, 1, 0, 3};
    for (int k = 0; k < 4; k++) ck_assert_msg(PetscAbsReal(s[k] / m - want[k]) <= 5 * se[k] / PetscSqrtReal(m), "moment %d: %g, want %g", k + 1, (double)(s[k] / m), (double)want[k]);
    ck_assert_msg(PetscAbsReal(below / m - 0.025) <= 5 * PetscSqrtReal(0.025 * 0.975 / m), "P(Z < -1.96) = %g", (double)(below / m));
    ck_assert_msg(PetscAbsReal(usum / m - 0.5) <= 5 * PetscSqrtReal(1.0 / 12 / m), "uniform mean %g", (double)(usum / m));
    ck_assert(umin > 0 && umax < 1);
  }
}
END_TEST

/* Phi(x), the standard normal CDF. */
static PetscReal NormalCDF(PetscReal x)
{
  return 0.5 * erfc(-x / PetscSqrtReal(2.0));
}

/*
  The normals' law, bin by bin: 4 x 10^6 normals in 100 bins of equal probability (edges
  by bisection on erfc) give chi^2 within 5 standard deviations of its 99 degrees of
  freedom; the counts beyond the ziggurat's base R = 3.4426 (its tail sampler) and beyond
  4.5 lie within 5 standard errors of 2 (1 - Phi(x)) n.
*/
START_TEST(test_normal_law)
{
  const PetscInt n = 2000000, bins   = 100;
  PetscReal      edges[99], tails[2] = {3.442619855899, 4.5};
  PetscInt       counts[100] = {0}, beyond[2] = {0, 0};
  PetscReal      chi2 = 0;

  for (PetscInt b = 0; b < bins - 1; b++) {
    PetscReal lo = -10, hi = 10;
    for (int it = 0; it < 200; it++) {
      const PetscReal mid = 0.5 * (lo + hi);
      if (NormalCDF(mid) < (b + 1.0) / bins)
        lo = mid;
      else
        hi = mid;
    }
    edges[b] = 0.5 * (lo + hi);
  }
  for (PetscInt i = 0; i < n; i++) {
    PetscReal z[2];
    GFRandomNormals(2024, (uint64_t)i, 5, GF_RANDOM_BLOCK_NOISE, z);
    for (int k = 0; k < 2; k++) {
      PetscInt lo = 0, hi = bins - 1;
      while (lo < hi) {
        const PetscInt mid = (lo + hi) / 2;
        if (z[k] < edges[mid])
          hi = mid;
        else
          lo = mid + 1;
      }
      counts[lo]++;
      for (int t = 0; t < 2; t++) beyond[t] += PetscAbsReal(z[k]) > tails[t];
    }
  }
  for (PetscInt b = 0; b < bins; b++) chi2 += PetscSqr(counts[b] - 2.0 * n / bins) / (2.0 * n / bins);
  ck_assert_msg(PetscAbsReal(chi2 - (bins - 1)) <= 5 * PetscSqrtReal(2.0 * (bins - 1)), "chi^2 = %g over %d bins", (double)chi2, (int)bins);
  for (int t = 0; t < 2; t++) {
    const PetscReal expected = 2 * (1 - NormalCDF(tails[t])) * 2.0 * n;
    ck_assert_msg(PetscAbsReal(beyond[t] - expected) <= 5 * PetscSqrtReal(expected), "beyond %g: %d, want %.1f", (double)tails[t], (int)beyond[t], (double)expected);
  }
}
END_TEST

/* Neighbouring streams (index, step, block, seed, replica) are uncorrelated: correlation of 2 x 10^5 pairs within 5 / sqrt(n) of 0. */
START_TEST(test_streams_uncorrelated)
{
  const PetscInt n       = 100000;
  const char    *what[5] = {"index", "step", "block", "seed", "replica"};

  for (int kind = 0; kind < 5; kind++) {
    PetscReal sum = 0;
    for (PetscInt i = 0; i < n; i++) {
      PetscReal a[2], b[2];
      GFRandomNormals(99, (uint64_t)i, 7, GF_RANDOM_BLOCK_NOISE, a);
      switch (kind) {
      case 0: GFRandomNormals(99, (uint64_t)i + 1, 7, GF_RANDOM_BLOCK_NOISE, b); break;
      case 1: GFRandomNormals(99, (uint64_t)i, 8, GF_RANDOM_BLOCK_NOISE, b); break;
      case 2: GFRandomNormals(99, (uint64_t)i, 7, GF_RANDOM_BLOCK_NOISE + 1, b); break;
      case 3: GFRandomNormals(100, (uint64_t)i, 7, GF_RANDOM_BLOCK_NOISE, b); break;
      default: GFRandomNormals(GFRandomReplicaSeed(99, 1), (uint64_t)i, 7, GF_RANDOM_BLOCK_NOISE, b); break;
      }
      sum += a[0] * b[0] + a[1] * b[1];
    }
    ck_assert_msg(PetscAbsReal(sum / (2.0 * n)) <= 5 / PetscSqrtReal(2.0 * n), "%s neighbours: correlation %g", what[kind], (double)(sum / (2.0 * n)));
  }
  ck_assert(GFRandomReplicaSeed(99, 0) == 99);
}
END_TEST

static Suite *MakeSuite(void)
{
  Suite *s = suite_create("random");
  TCase *t = tcase_create("philox");

  tcase_add_test(t, test_philox_known_answers);
  tcase_add_test(t, test_normal_moments);
  tcase_add_test(t, test_normal_law);
  tcase_add_test(t, test_streams_uncorrelated);
  tcase_set_timeout(t, 120);
  suite_add_tcase(s, t);
  return s;
}

int main(int argc, char **argv)
{
  return GFTestMain(argc, argv, MakeSuite);
}
