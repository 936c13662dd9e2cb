/* svgd: the bilinear kernel's Gaussian solutions, KL decay at rate KSD^2, the discrete target, refusals. */
#include "gftest.h"

/*
  Case 1: bilinear kernel, target N(0, 1). From N(0, 4) the variance at t = 0.5, 1, 2 is
  1.381043, 1.112968, 1.013928 (1/sigma^2(t) = 1 + (1/sigma_0^2 - 1) e^-2t); from N(1, 1)
  the mean and variance at t = 1 are 0.326354, 0.786986. Within 1e-3 at 1024 cells.
*/
START_TEST(test_bilinear_gaussian)
{
  const struct {
    const char *data;
    PetscReal   t, mean, variance;
  } cases[] = {
      {"-init_mean 0 -init_variance 4 -domain_lower -12 -domain_upper 12", 0.5, 0, 1.381043},
      {"-init_mean 0 -init_variance 4 -domain_lower -12 -domain_upper 12", 1, 0, 1.112968},
      {"-init_mean 0 -init_variance 4 -domain_lower -12 -domain_upper 12", 2, 0, 1.013928},
      {"-init_mean 1 -init_variance 1 -domain_lower -8 -domain_upper 8", 1, 0.326354, 0.786986},
  };
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    char     options[512];
    GFSolver solver;

    PetscSNPrintf(options, sizeof(options), "-model svgd -kernel bilinear -potential quadratic %s -da_grid_x 1024 -ts_max_time %g -exact", cases[c].data, (double)cases[c].t);
    solver = GFTestSolve(options);
    GFTestAssertStructurePreserved(solver, options, "KL");
    GFTestAssertMoments(solver, options, &cases[c].mean, &cases[c].variance, 1e-3);
    GFTestAssertExactError(solver, options, 1e-3);
    GF_CK(GFSolverDestroy(&solver));
  }
}
END_TEST

/* KL decays at the rate KSD^2: (KL(t) - KL(t + dt))/dt against KSD^2 at t + dt/2, gaussian and bilinear kernels, to 2%. */
START_TEST(test_kl_rate_is_stein)
{
  const char *runs[] = {"-kernel gaussian -kernel_bandwidth 0.8 -potential double_well -init_mean 0.4 -init_variance 0.3", "-kernel bilinear -potential quadratic -init_mean 0.5 -init_variance 2"};

  for (int r = 0; r < 2; r++) {
    PetscReal kl[3], ksd = 0;
    for (int k = 0; k < 3; k++) {
      char          options[512];
      GFSolver      solver;
      GFDiagnostics d;

      PetscSNPrintf(options, sizeof(options), "-model svgd %s -domain_lower -6 -domain_upper 6 -da_grid_x 512 -ts_max_time %g -cfl 0.1", runs[r], 0.3 + 0.005 * k);
      solver = GFTestSolve(options);
      GF_CK(GFSolverGetDiagnostics(solver, &d));
      kl[k] = d.energy;
      if (k == 1) ksd = d.stein;
      GF_CK(GFSolverDestroy(&solver));
    }
    {
      const PetscReal rate = (kl[0] - kl[2]) / 0.01;
      ck_assert_msg(PetscAbsReal(rate - ksd * ksd) <= 0.02 * ksd * ksd, "%s: -dKL/dt = %.6g, KSD^2 = %.6g", runs[r], (double)rate, (double)(ksd * ksd));
    }
  }
}
END_TEST

/*
  Case 2: gaussian kernel, 1D and 2D, Gaussian and double-well targets: from other data the
  KL never rises and falls by at least 5x; from the discrete target the density stays put
  (to 1e-8 of max rho over as many steps as the run to t = 4 takes), so the discrete target
  is the long-time limit.
*/
START_TEST(test_gaussian_kernel_targets)
{
  const struct {
    const char *grid;
    PetscInt    steps;
  } runs[] = {
      {"-dim 1 -da_grid_x 128 -potential quadratic -domain_lower -6 -domain_upper 6", 40},
      {"-dim 1 -da_grid_x 128 -potential double_well -potential_stiffness 4 -domain_lower -3 -domain_upper 3", 640},
      {"-dim 2 -da_grid_x 32 -da_grid_y 40 -potential quadratic -potential_stiffness 1,2 -domain_lower -6 -domain_upper 6", 120},
      {"-dim 2 -da_grid_x 32 -da_grid_y 40 -potential double_well -potential_stiffness 2,1 -domain_lower -3,-6 -domain_upper 3,6", 280},
  };
  for (size_t r = 0; r < sizeof(runs) / sizeof(runs[0]); r++) {
    char          options[512];
    GFSolver      solver;
    GFModel       model;
    GFDiagnostics d;
    Vec           rho;
    PetscReal     initial_kl;

    PetscSNPrintf(options, sizeof(options), "-model svgd -kernel gaussian -kernel_bandwidth 0.7 %s -init_mean 0.5 -init_variance 0.4 -ts_max_time 4", runs[r].grid);
    GFTestSetOptions(options);
    GF_CK(GFSolverCreate(PETSC_COMM_WORLD, &solver));
    GF_CK(GFSolverSetFromOptions(solver));
    GF_CK(GFSolverSetUp(solver));
    GF_CK(GFSolverGetSolution(solver, &rho));
    GF_CK(GFSolverGetModel(solver, &model));
    GF_CK(GFModelComputeEnergy(model, rho, &initial_kl));
    GF_CK(GFSolverSolve(solver));
    GF_CK(GFSolverGetDiagnostics(solver, &d));
    GFTestAssertStructurePreserved(solver, options, "KL");
    ck_assert_msg(d.energy < 0.2 * initial_kl, "%s: KL %g -> %g", options, (double)initial_kl, (double)d.energy);
    GF_CK(GFSolverDestroy(&solver));

    PetscSNPrintf(options, sizeof(options), "-model svgd -kernel gaussian -kernel_bandwidth 0.7 %s", runs[r].grid);
    GFTestAssertSteady(options, runs[r].steps, GF_TEST_CHANGE_OF_MAX, 1e-8);
  }
}
END_TEST

static PetscErrorCode RunOptions(const char options[])
{
  GFSolver solver = NULL;

  PetscFunctionBeginUser;
  GFTestSetOptions(options);
  PetscCall(GFSolverCreate(PETSC_COMM_WORLD, &solver));
  PetscCall(GFSolverSetFromOptions(solver));
  PetscCall(GFSolverSetUp(solver));
  PetscCall(GFSolverDestroy(&solver));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Case 5: non-positive bandwidth, bilinear kernel on a periodic box, a target exp(-V) that the box cuts off or that is not integrable. */
START_TEST(test_bad_input)
{
  const struct {
    const char *options, *message;
  } cases[] = {
      {"-model svgd -potential quadratic -kernel_bandwidth 0", "-kernel_bandwidth 0: the bandwidth must be positive"},
      {"-model svgd -potential quadratic -kernel_bandwidth -1", "-kernel_bandwidth -1: the bandwidth must be positive"},
      {"-model svgd -potential quadratic -kernel bilinear -bc periodic", "-kernel bilinear with -bc periodic"},
      {"-model svgd -potential none", "-potential none: the target exp(-V) keeps"},
      {"-model svgd -potential quadratic -domain_lower -1 -domain_upper 1", "-potential quadratic: the target exp(-V) keeps"},
      {"-model svgd -potential quadratic -ts_type beuler", "implicit -ts_type with -model svgd"},
  };
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) GF_ASSERT_ERROR(RunOptions(cases[c].options), PETSC_ERR_USER_INPUT, cases[c].message);
}
END_TEST

static Suite *MakeSuite(void)
{
  Suite *s = suite_create("svgd");
  TCase *t = tcase_create("svgd");
  tcase_set_timeout(t, 600);
  tcase_add_test(t, test_bilinear_gaussian);
  tcase_add_test(t, test_kl_rate_is_stein);
  tcase_add_test(t, test_gaussian_kernel_targets);
  tcase_add_test(t, test_bad_input);
  suite_add_tcase(s, t);
  return s;
}

int main(int argc, char **argv)
{
  return GFTestMain(argc, argv, MakeSuite);
}
