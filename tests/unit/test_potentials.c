/* GFPotential: every registered potential's gradient matches finite differences; errors list the valid names. */
#include "gftest.h"

START_TEST(test_gradients)
{
  char            names[512], *name, *rest;
  const PetscReal points[3][3] = {{0.3, -0.7, 1.1}, {-1.2, 0.4, 0.0}, {2.0, 1.5, -0.9}};

  GF_CK(GFPotentialListTypes(names, sizeof(names)));
  ck_assert(strstr(names, "quadratic") && strstr(names, "double_well") && strstr(names, "none"));
  for (name = strtok_r(names, ", ", &rest); name; name = strtok_r(NULL, ", ", &rest)) {
    for (PetscInt dim = 1; dim <= 3; dim++) {
      GFPotential       p;
      GFPotentialParams params = {{1.0, 4.0, 2.5}, {0.5, -0.5, 0.25}, {0}, 0};

      GF_CK(GFPotentialCreate(PETSC_COMM_WORLD, &p));
      GF_CK(GFPotentialSetType(p, name));
      GF_CK(GFPotentialSetParams(p, dim, &params));
      for (int q = 0; q < 3; q++) {
        PetscReal grad[3];
        GFPotentialValue(p, points[q], grad);
        for (PetscInt a = 0; a < dim; a++) {
          PetscReal xp[3], xm[3], h = 1e-5, fd;
          for (PetscInt b = 0; b < 3; b++) xp[b] = xm[b] = points[q][b];
          xp[a] += h;
          xm[a] -= h;
          fd = (GFPotentialValue(p, xp, NULL) - GFPotentialValue(p, xm, NULL)) / (2 * h);
          ck_assert_msg(PetscAbsReal(fd - grad[a]) <= 1e-7 * PetscMax(1, PetscAbsReal(fd)), "%s dim %d axis %d: grad %g, finite difference %g", name, (int)dim, (int)a, (double)grad[a], (double)fd);
        }
      }
      GF_CK(GFPotentialDestroy(&p));
    }
  }
}
END_TEST

/* The quadratic potential is V = sum a_k (x_k - c_k)^2 / 2 and is recognised as such. */
START_TEST(test_quadratic)
{
  GFPotential       p;
  GFPotentialParams params = {{1.0, 4.0, 0}, {0.5, -0.5, 0}, {0}, 0};
  PetscReal         x[2]   = {1.5, 0.5}, a[2], c[2];
  PetscBool         quadratic;

  GF_CK(GFPotentialCreate(PETSC_COMM_WORLD, &p));
  GF_CK(GFPotentialSetType(p, "quadratic"));
  GF_CK(GFPotentialSetParams(p, 2, &params));
  ck_assert_double_eq_tol(GFPotentialValue(p, x, NULL), 0.5 * 1 * 1 + 0.5 * 4 * 1, 1e-15);
  GF_CK(GFPotentialIsQuadratic(p, &quadratic, a, c));
  ck_assert(quadratic);
  ck_assert_double_eq(a[1], 4);
  ck_assert_double_eq(c[0], 0.5);
  GF_CK(GFPotentialSetType(p, "double_well"));
  GF_CK(GFPotentialIsQuadratic(p, &quadratic, NULL, NULL));
  ck_assert(!quadratic);
  GF_CK(GFPotentialDestroy(&p));
}
END_TEST

START_TEST(test_unknown_name)
{
  GFPotential p;

  GF_CK(GFPotentialCreate(PETSC_COMM_WORLD, &p));
  GF_ASSERT_ERROR(GFPotentialSetType(p, "harmonic"), PETSC_ERR_USER_INPUT, "-potential harmonic: unknown potential; valid are");
  GF_ASSERT_ERROR(GFPotentialSetType(p, "harmonic"), PETSC_ERR_USER_INPUT, "double_well");
  GF_CK(GFPotentialDestroy(&p));
}
END_TEST

static Suite *MakeSuite(void)
{
  Suite *s = suite_create("potentials");
  TCase *t = tcase_create("potentials");
  tcase_add_test(t, test_gradients);
  tcase_add_test(t, test_quadratic);
  tcase_add_test(t, test_unknown_name);
  suite_add_tcase(s, t);
  return s;
}

int main(int argc, char **argv)
{
  return GFTestMain(argc, argv, MakeSuite);
}
