/* fokker_planck against Ornstein-Uhlenbeck exact solutions, its Gibbs state, and implicit stepping. */
#include "gftest.h"

/* Every run must conserve mass to 1e-12, keep rho >= 0 and never raise the energy. */
static void AssertStructurePreserved(GFSolver solver, const char *what)
{
  GFRunStatistics st;

  GF_CK(GFSolverGetStatistics(solver, &st));
  ck_assert_msg(st.steps > 0, "%s: no steps taken", what);
  ck_assert_msg(st.worst_mass_drift <= 1e-12, "%s: mass drift %g", what, (double)st.worst_mass_drift);
  ck_assert_msg(st.lowest_density >= 0, "%s: min rho %g", what, (double)st.lowest_density);
  ck_assert_msg(st.energy_rises == 0, "%s: energy rose at %d steps (largest %g)", what, (int)st.energy_rises, (double)st.max_energy_rise);
}

static const char ou_1d[] = "-potential quadratic -diffusion 1 -init_mean 1 -init_variance 0.25 -domain_lower -8 -domain_upper 8 -ts_max_time 1 -exact";

/* Case 1: mean e^-1 and variance 1 - 0.75 e^-2 at t = 1 within 1e-4 at 512 cells; L1 order >= 1.8 from 64 to 512. */
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
    AssertStructurePreserved(solver, options);
    ck_assert(d.has_error);
    ck_assert_double_eq_tol(d.time, 1, 1e-14);
    error[level] = d.error_l1;
    if (level == 3) {
      ck_assert_msg(PetscAbsReal(d.mean[0] - mean) <= 1e-4, "mean %.8f, exact %.8f", (double)d.mean[0], (double)mean);
      ck_assert_msg(PetscAbsReal(d.covariance[0][0] - variance) <= 1e-4, "variance %.8f, exact %.8f", (double)d.covariance[0][0], (double)variance);
    }
    GF_CK(GFSolverDestroy(&solver));
  }
  for (int level = 1; level < 4; level++) {
    const PetscReal order = PetscLog2Real(error[level - 1] / error[level]);
    ck_assert_msg(order >= 1.8, "L1 order %.3f between %d and %d cells (errors %g, %g)", (double)order, 32 << level, 64 << level, (double)error[level - 1], (double)error[level]);
  }
}
END_TEST

/* Case 2: anisotropic, off-centre 2D OU at 256 x 256: mean and covariance within 1e-3 of the exact ones. */
START_TEST(test_ou_2d_anisotropic)
{
  const PetscReal a[2] = {1, 4}, c[2] = {0.5, -0.5}, m0[2] = {1, 1}, v0[2] = {0.5, 0.3}, t = 1;
  GFSolver        solver;
  GFDiagnostics   d;

  solver = GFTestSolve("-dim 2 -da_grid_x 256 -da_grid_y 256 -domain_lower -6 -domain_upper 6 -potential quadratic -potential_stiffness 1,4 -potential_center 0.5,-0.5 -init_mean 1,1 -init_variance 0.5,0.3 -ts_max_time 1 -exact");
  GF_CK(GFSolverGetDiagnostics(solver, &d));
  AssertStructurePreserved(solver, "2D anisotropic OU");
  for (int k = 0; k < 2; k++) {
    const PetscReal mean = c[k] + (m0[k] - c[k]) * PetscExpReal(-a[k] * t), variance = 1 / a[k] + (v0[k] - 1 / a[k]) * PetscExpReal(-2 * a[k] * t);
    ck_assert_msg(PetscAbsReal(d.mean[k] - mean) <= 1e-3, "axis %d: mean %.6f, exact %.6f", k, (double)d.mean[k], (double)mean);
    ck_assert_msg(PetscAbsReal(d.covariance[k][k] - variance) <= 1e-3, "axis %d: variance %.6f, exact %.6f", k, (double)d.covariance[k][k], (double)variance);
  }
  ck_assert_msg(PetscAbsReal(d.covariance[0][1]) <= 1e-3, "covariance xy %g, exact 0", (double)d.covariance[0][1]);
  GF_CK(GFSolverDestroy(&solver));
}
END_TEST

/* Case 3: the normalised discrete Gibbs state is steady: after 1000 steps its largest relative change is <= 1e-12. */
START_TEST(test_gibbs_steady)
{
  const char *runs[] = {"-dim 1 -da_grid_x 200 -potential double_well -diffusion 0.5", "-dim 2 -da_grid_x 48 -da_grid_y 40 -potential double_well -potential_stiffness 2,1 -diffusion 0.7",
                        "-dim 2 -da_grid_x 40 -da_grid_y 40 -potential quadratic -potential_center 0.3,-0.2 -ts_type beuler -ts_dt 0.05"};

  for (size_t r = 0; r < sizeof(runs) / sizeof(runs[0]); r++) {
    char            options[512];
    GFSolver        solver;
    Vec             rho, start;
    GFRunStatistics st;
    PetscReal       change, scale;

    PetscSNPrintf(options, sizeof(options), "%s -domain_lower -3 -domain_upper 3 -init gibbs -ts_max_steps 1000 -ts_max_time 1e9", runs[r]);
    GFTestSetOptions(options);
    GF_CK(GFSolverCreate(PETSC_COMM_WORLD, &solver));
    GF_CK(GFSolverSetFromOptions(solver));
    GF_CK(GFSolverSetUp(solver));
    GF_CK(GFSolverGetSolution(solver, &rho));
    GF_CK(VecDuplicate(rho, &start));
    GF_CK(VecCopy(rho, start));
    GF_CK(GFSolverSolve(solver));
    GF_CK(GFSolverGetStatistics(solver, &st));
    ck_assert_int_eq(st.steps, 1000);
    /* relative change: max |rho_1000 - rho_0| / rho_0 over cells */
    GF_CK(VecAXPY(rho, -1, start));
    GF_CK(VecPointwiseDivide(rho, rho, start));
    GF_CK(VecNorm(rho, NORM_INFINITY, &change));
    GF_CK(VecNorm(start, NORM_INFINITY, &scale));
    ck_assert_msg(change <= 1e-12, "%s: largest relative change %g after 1000 steps", runs[r], (double)change);
    GF_CK(VecDestroy(&start));
    GF_CK(GFSolverDestroy(&solver));
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
    char          options[512];
    GFSolver      solver;
    GFDiagnostics d;

    PetscSNPrintf(options, sizeof(options), "%s -da_grid_x 512 %s", ou_1d, runs[r].options);
    solver = GFTestSolve(options);
    GF_CK(GFSolverGetDiagnostics(solver, &d));
    AssertStructurePreserved(solver, options);
    errors[r] = d.error_l1;
    ck_assert_msg(d.error_l1 <= runs[r].max_error, "%s: error %g", options, (double)d.error_l1);
    GF_CK(GFSolverDestroy(&solver));
  }
  ck_assert_msg(PetscLog2Real(errors[0] / errors[1]) > 0.8, "backward Euler order %.3f in dt", (double)PetscLog2Real(errors[0] / errors[1]));
}
END_TEST

/* 3D: an anisotropic OU run keeps the structure and converges at second order (errors at h and h/2). */
START_TEST(test_ou_3d)
{
  const char *grids[] = {"-da_grid_x 16 -da_grid_y 16 -da_grid_z 16", "-da_grid_x 32 -da_grid_y 32 -da_grid_z 32"};
  PetscReal   error[2];

  for (int level = 0; level < 2; level++) {
    char          options[512];
    GFSolver      solver;
    GFDiagnostics d;

    PetscSNPrintf(options, sizeof(options), "-dim 3 %s -domain_lower -5 -domain_upper 5 -potential quadratic -potential_stiffness 1,2,3 -init_mean 0.5,0,-0.5 -init_variance 0.6 -ts_max_time 0.3 -exact", grids[level]);
    solver = GFTestSolve(options);
    GF_CK(GFSolverGetDiagnostics(solver, &d));
    AssertStructurePreserved(solver, options);
    error[level] = d.error_l1;
    GF_CK(GFSolverDestroy(&solver));
  }
  ck_assert_msg(PetscLog2Real(error[0] / error[1]) >= 1.8, "3D L1 order %.3f (errors %g, %g)", (double)PetscLog2Real(error[0] / error[1]), (double)error[0], (double)error[1]);
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
  tcase_add_test(t, test_ou_3d);
  suite_add_tcase(s, t);
  return s;
}

int main(int argc, char **argv)
{
  return GFTestMain(argc, argv, MakeSuite);
}
