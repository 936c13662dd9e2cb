/* fokker_planck against Ornstein-Uhlenbeck exact solutions, its Gibbs state, and implicit stepping. */
#include "gftest.h"

static const char ou_1d[] = "-potential quadratic -diffusion 1 -init_mean 1 -init_variance 0.25 -domain_lower -8 -domain_upper 8 -ts_max_time 1 -exact";

/* Case 1: mean e^-1 and variance 1 - 0.75 e^-2 at t = 1 within 1e-4 at 512 cells; L1 order above 1.8 from 64 to 512. */
START_TEST(test_ou_1d)
{
  const PetscReal mean = PetscExpReal(-1), variance = 1 + (0.25 - 1) * PetscExpReal(-2);
  PetscReal       error[4];

  for (int level = 0; level < 4; level++) {
    char          options[256];
    GFSolver      solver;
    GFDiagnostics d;

    PetscSNPrintf(options, sizeof(options), "%s -da_grid_x %d", ou_1d, 64 << level);
    solver = GFTestSolve(options);
    GF_CK(GFSolverGetDiagnostics(solver, &d));
    GFTestAssertStructurePreserved(solver, options, "energy");
    ck_assert_double_eq_tol(d.time, 1, 1e-14);
    error[level] = GFTestAssertExactError(solver, options, PETSC_INFINITY);
    if (level == 3) GFTestAssertMoments(solver, options, &mean, &variance, 1e-4);
    GF_CK(GFSolverDestroy(&solver));
  }
  GFTestAssertOrder("1D OU, L1 from 64 to 512 cells", 4, error, 1.8);
}
END_TEST

/*
  Case 2: anisotropic, off-centre 2D OU at 256 x 256: mean and covariance within 1e-3 of the exact ones,
  and the reported mean and variance errors those of the exact moments (the moments of the exact
  cell averages, with the same quadrature, are exact up to round-off and the tails beyond the walls);
  the mean error below 2e-6 (Scharfetter-Gummel without the curvature factor: 1.7e-4).
*/
START_TEST(test_ou_2d_anisotropic)
{
  const PetscReal a[2] = {1, 4}, c[2] = {0.5, -0.5}, m0[2] = {1, 1}, v0[2] = {0.5, 0.3}, t = 1;
  PetscReal       mean[2], variance[2];
  GFSolver        solver;

  for (int k = 0; k < 2; k++) {
    mean[k]     = c[k] + (m0[k] - c[k]) * PetscExpReal(-a[k] * t);
    variance[k] = 1 / a[k] + (v0[k] - 1 / a[k]) * PetscExpReal(-2 * a[k] * t);
  }
  solver = GFTestSolve("-dim 2 -da_grid_x 256 -da_grid_y 256 -domain_lower -6 -domain_upper 6 -potential quadratic -potential_stiffness 1,4 -potential_center 0.5,-0.5 -init_mean 1,1 -init_variance 0.5,0.3 -ts_max_time 1 -exact");
  GFTestAssertStructurePreserved(solver, "2D anisotropic OU", "energy");
  GFTestAssertMoments(solver, "2D anisotropic OU", mean, variance, 1e-3);
  {
    GFDiagnostics d;
    PetscReal     error_mean, error_variance;

    GF_CK(GFSolverGetDiagnostics(solver, &d));
    error_mean     = PetscSqrtReal(PetscSqr(d.mean[0] - mean[0]) + PetscSqr(d.mean[1] - mean[1]));
    error_variance = PetscMax(PetscAbsReal(d.covariance[0][0] - variance[0]), PetscAbsReal(d.covariance[1][1] - variance[1]));
    ck_assert_msg(PetscAbsReal(d.error_mean - error_mean) <= 1e-6, "error_mean %.10g, from the exact moments %.10g", (double)d.error_mean, (double)error_mean);
    ck_assert_msg(d.error_mean <= 2e-6, "mean error %g: the curvature factor should leave O(h^4) (without it: 1.7e-4)", (double)d.error_mean);
    ck_assert_msg(error_variance > 1e-5 && PetscAbsReal(d.error_variance - error_variance) <= 1e-6, "error_variance %.10g, from the exact moments %.10g", (double)d.error_variance, (double)error_variance);
  }
  GF_CK(GFSolverDestroy(&solver));
}
END_TEST

/* Case 3: the normalised discrete Gibbs state is steady: after 1000 steps its largest relative change is <= 1e-12. */
START_TEST(test_gibbs_steady)
{
  const char *runs[] = {"-dim 1 -da_grid_x 200 -potential double_well -diffusion 0.5", "-dim 2 -da_grid_x 48 -da_grid_y 40 -potential double_well -potential_stiffness 2,1 -diffusion 0.7",
                        "-dim 2 -da_grid_x 40 -da_grid_y 40 -potential quadratic -potential_center 0.3,-0.2 -ts_type beuler -ts_dt 0.05"};

  for (size_t r = 0; r < sizeof(runs) / sizeof(runs[0]); r++) {
    char options[512];

    PetscSNPrintf(options, sizeof(options), "%s -domain_lower -3 -domain_upper 3", runs[r]);
    GFTestAssertSteady(options, 1000, GF_TEST_CHANGE_PER_CELL, 1e-12);
  }
}
END_TEST

/*
  Implicit backward Euler and theta = 1 on case 1: first order in dt and structure preserving.
  (Crank-Nicolson, theta = 1/2, is not positive for dt above 2/rate in the far tails, where
  its steps are rejected down to that bound: exercised on compact support in test_porous_medium.)
*/
START_TEST(test_implicit)
{
  const struct {
    const char *options;
    PetscReal   max_error;
  } runs[] = {
      {"-ts_type beuler -ts_dt 0.01", 3e-3},
      {"-ts_type beuler -ts_dt 0.005", 1.5e-3},
      {"-ts_type theta -ts_theta_theta 1 -ts_dt 0.01", 3e-3},
  };
  PetscReal errors[3];

  for (int r = 0; r < 3; r++) {
    char     options[512];
    GFSolver solver;

    PetscSNPrintf(options, sizeof(options), "%s -da_grid_x 512 %s", ou_1d, runs[r].options);
    solver = GFTestSolve(options);
    GFTestAssertStructurePreserved(solver, options, "energy");
    errors[r] = GFTestAssertExactError(solver, options, runs[r].max_error);
    GF_CK(GFSolverDestroy(&solver));
  }
  GFTestAssertOrder("backward Euler, dt 0.01 to 0.005", 2, errors, 0.8);
}
END_TEST

/*
  Rejected implicit steps keep the mass: a steep OU drift (Peclet number 20 h / 0.05 per cell)
  at dt 0.2 makes Newton stall on the first tries of many steps, which must then be rejected
  and retried with half the step -- not accepted because Newton's steps became tiny (PETSc's
  stol), which created 15% of the mass before. Backward Euler and Crank-Nicolson, mass to 1e-12,
  by Newton and by the linear solve the linear equation takes by default.
*/
START_TEST(test_rejected_steps_keep_mass)
{
  const char *schemes[] = {"-ts_type beuler", "-ts_type cn"};

  for (int k = 0; k < 4; k++) {
    char            options[512];
    GFSolver        solver;
    GFRunStatistics stats;

    /* Newton (the equation is linear, so only with -implicit_linear 0), then the linear solve, which must keep the mass too */
    PetscSNPrintf(options, sizeof(options), "-potential quadratic -potential_stiffness 20 -diffusion 0.05 -domain_lower -2 -domain_upper 2 -da_grid_x 128 -ts_dt 0.2 -ts_max_time 2 %s%s", schemes[k % 2], k < 2 ? " -implicit_linear 0" : "");
    solver = GFTestSolve(options);
    GF_CK(GFSolverGetStatistics(solver, &stats));
    ck_assert_msg(k >= 2 || stats.rejected > 0, "%s: no step was rejected, so the test does not exercise the retries", options);
    GFTestAssertStructurePreserved(solver, options, "energy");
    GF_CK(GFSolverDestroy(&solver));
  }
}
END_TEST

/*
  A linear equation (static drift, Scharfetter-Gummel flux) takes one linear solve per stage,
  its operator assembled once per shift: the same density as Newton's (-implicit_linear 0)
  to 1e-10 of its maximum, mass to 1e-12, and one assembly per distinct shift. The last step,
  cut from 0.01 to 0.003 to land on t = 0.123, needs its own operator: a cache blind to the
  shift would solve it with the operator of dt = 0.01 (BDF2 has four: it starts with half
  steps of order 1 and 2). LU by default on one rank; the Krylov path (GMRES to 1e-12) too,
  which on more ranks is the linear path's only one (with a -pc_type: gradflow's multigrid
  keeps Newton there).
*/
START_TEST(test_linear_reuses_operator)
{
  const struct {
    const char *options;
    PetscInt    builds;
  } runs[] = {
      {"-ts_type cn", 2},
      {"-ts_type beuler", 2},
      {"-ts_type bdf -ts_bdf_order 2", 4},
      {"-ts_type cn -ksp_type gmres -pc_type bjacobi", 2},
  };

  for (size_t r = 0; r < sizeof(runs) / sizeof(runs[0]); r++) {
    char            options[512];
    GFSolver        linear, newton;
    GFRunStatistics stats, newton_stats;
    Vec             rho, rho_newton;
    PetscReal       difference, max;

    PetscMPIInt size;

    GF_CK(MPI_Comm_size(PETSC_COMM_WORLD, &size));
    PetscSNPrintf(options, sizeof(options),
                  "-dim 2 -da_grid_x 32 -da_grid_y 24 -domain_lower -4 -domain_upper 4 -potential quadratic -potential_stiffness 1,3 -potential_center 0.5,-0.5 -init_mean -1,1 -init_variance 0.3,0.2 -ts_dt 0.01 -ts_max_time 0.123 %s%s",
                  runs[r].options, size > 1 && !strstr(runs[r].options, "-pc_type") ? " -ksp_type gmres -pc_type bjacobi" : "");
    linear = GFTestSolve(options);
    GFTestAssertStructurePreserved(linear, options, "energy");
    GF_CK(GFSolverGetStatistics(linear, &stats));
    ck_assert_msg(stats.operator_builds == runs[r].builds, "%s: %" PetscInt_FMT " operator assemblies, expected %" PetscInt_FMT " (one per shift)", options, stats.operator_builds, runs[r].builds);
    ck_assert_msg(stats.newton_iterations <= stats.steps + 1, "%s: %" PetscInt_FMT " solves in %" PetscInt_FMT " steps, expected one each (BDF2: one more to start)", options, stats.newton_iterations, stats.steps);
    PetscStrlcat(options, " -implicit_linear 0", sizeof(options));
    newton = GFTestSolve(options);
    GF_CK(GFSolverGetStatistics(newton, &newton_stats));
    ck_assert_msg(newton_stats.newton_iterations > stats.newton_iterations, "%s: Newton took %" PetscInt_FMT " iterations, no more than the linear path's solves", options, newton_stats.newton_iterations);
    GF_CK(GFSolverGetSolution(linear, &rho));
    GF_CK(GFSolverGetSolution(newton, &rho_newton));
    difference = GFTestMaxDifference(rho, rho_newton);
    GF_CK(VecMax(rho_newton, NULL, &max));
    ck_assert_msg(difference <= 1e-10 * max, "%s: the linear path differs from Newton's by %g of the maximum", options, (double)(difference / max));
    GF_CK(GFSolverDestroy(&linear));
    GF_CK(GFSolverDestroy(&newton));
  }
}
END_TEST

/* 3D: an anisotropic OU run keeps the structure and converges at second order (errors at h and h/2). */
START_TEST(test_ou_3d)
{
  const char *grids[] = {"-da_grid_x 16 -da_grid_y 16 -da_grid_z 16", "-da_grid_x 32 -da_grid_y 32 -da_grid_z 32"};
  PetscReal   error[2];

  for (int level = 0; level < 2; level++) {
    char     options[512];
    GFSolver solver;

    PetscSNPrintf(options, sizeof(options), "-dim 3 %s -domain_lower -5 -domain_upper 5 -potential quadratic -potential_stiffness 1,2,3 -init_mean 0.5,0,-0.5 -init_variance 0.6 -ts_max_time 0.3 -exact", grids[level]);
    solver = GFTestSolve(options);
    GFTestAssertStructurePreserved(solver, options, "energy");
    error[level] = GFTestAssertExactError(solver, options, PETSC_INFINITY);
    GF_CK(GFSolverDestroy(&solver));
  }
  GFTestAssertOrder("3D OU, L1 from 16^3 to 32^3 cells", 2, error, 1.8);
}
END_TEST

/*
  A rejected fused explicit step starts again from its start: a first try far beyond the
  stability bound makes negative values and is rejected, then halved until admissible; the
  state equals one step of the accepted length from the same start, bit for bit, with the
  mass kept to 1e-12. 2D inside walls on one rank is the one-pass chain (which never writes the
  solution before a step is accepted), periodic 2D the pairs, 1D the three registers.
*/
START_TEST(test_fused_rejected_step)
{
  const char *grids[] = {"-dim 2 -da_grid_x 40 -da_grid_y 36 -bc noflux", "-dim 2 -da_grid_x 40 -da_grid_y 36 -bc periodic", "-dim 1 -da_grid_x 64 -bc noflux"};

  for (int g = 0; g < 3; g++) {
    char      options[512];
    GFSolver  solver[2];
    Vec       rho[2];
    TS        ts[2];
    PetscReal h = 0, mass[2];
    PetscInt  rejected[2];

    PetscSNPrintf(options, sizeof(options), "%s -domain_lower -3 -domain_upper 3 -potential double_well -init_mean 0.8 -init_variance 0.2", grids[g]);
    for (int r = 0; r < 2; r++) {
      PetscScalar sum;

      GFTestSetOptions(options);
      GF_CK(GFSolverCreate(PETSC_COMM_WORLD, &solver[r]));
      GF_CK(GFSolverSetFromOptions(solver[r]));
      GF_CK(GFSolverSetUp(solver[r]));
      GF_CK(GFSolverGetTS(solver[r], &ts[r]));
      GF_CK(GFSolverGetSolution(solver[r], &rho[r]));
      GF_CK(VecSum(rho[r], &sum));
      mass[r] = PetscRealPart(sum);
      GF_CK(TSSetTimeStep(ts[r], r ? h : 0.5)); /* 0.5: about 100 times the bound */
      GF_CK(TSStep(ts[r]));
      GF_CK(TSGetStepRejections(ts[r], &rejected[r]));
      if (!r) GF_CK(TSGetTime(ts[r], &h));
    }
    ck_assert_msg(rejected[0] > 0 && rejected[1] == 0, "%s: %d and %d rejections, expected some and none", options, (int)rejected[0], (int)rejected[1]);
    ck_assert_msg(GFTestMaxDifference(rho[0], rho[1]) == 0, "%s: after %d rejections the step of %g differs from the same step taken at once by %g", options, (int)rejected[0], (double)h, (double)GFTestMaxDifference(rho[0], rho[1]));
    {
      PetscScalar sum;
      GF_CK(VecSum(rho[0], &sum));
      ck_assert_msg(PetscAbsReal(PetscRealPart(sum) - mass[0]) <= 1e-12 * mass[0], "%s: mass %.17g after the rejected tries, %.17g before", options, (double)PetscRealPart(sum), (double)mass[0]);
    }
    for (int r = 0; r < 2; r++) GF_CK(GFSolverDestroy(&solver[r]));
  }
}
END_TEST

static Suite *MakeSuite(void)
{
  Suite *s = suite_create("fokker_planck");
  TCase *t = tcase_create("fokker_planck");
  tcase_set_timeout(t, 600);
  tcase_add_test(t, test_ou_1d);
  tcase_add_test(t, test_ou_2d_anisotropic);
  tcase_add_test(t, test_gibbs_steady);
  tcase_add_test(t, test_implicit);
  tcase_add_test(t, test_rejected_steps_keep_mass);
  tcase_add_test(t, test_fused_rejected_step);
  tcase_add_test(t, test_linear_reuses_operator);
  tcase_add_test(t, test_ou_3d);
  suite_add_tcase(s, t);
  return s;
}

int main(int argc, char **argv)
{
  return GFTestMain(argc, argv, MakeSuite);
}
