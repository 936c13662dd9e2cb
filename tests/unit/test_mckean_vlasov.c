/* mckean_vlasov: the quadratic exact solution, aggregation to the uniform disk, Keller-Segel's second moment and blow-up. */
#include "gftest.h"

static const char quadratic_1d[] = "-model mckean_vlasov -potential quadratic -interaction quadratic -diffusion 1 -init_mean 1 -init_variance 0.25 -domain_lower -5 -domain_upper 5 -da_grid_x 512 -exact";

/*
  Case 2: V = x^2/2, W = x^2/2, sigma = 1, N(1, 0.25): at t = 1 the mean is e^-1 and the
  variance 0.495421 (Var' = -2(a + b) Var + 2 sigma), within 1e-4 at 512 cells, explicit
  and IMEX (implicit diffusion, explicit interaction); at t = 10 the steady state N(0, 1/2).
*/
START_TEST(test_quadratic)
{
  const PetscReal mean = PetscExpReal(-1), variance = 0.5 + (0.25 - 0.5) * PetscExpReal(-4), steady_mean = 0, steady_variance = 0.5;
  const char     *steppers[] = {"-ts_type rk", "-ts_type arkimex -ts_arkimex_type 2e"};

  for (int k = 0; k < 2; k++) {
    char     options[512];
    GFSolver solver;

    PetscSNPrintf(options, sizeof(options), "%s -ts_max_time 1 %s", quadratic_1d, steppers[k]);
    solver = GFTestSolve(options);
    GFTestAssertStructurePreserved(solver, options, "energy");
    GFTestAssertMoments(solver, options, &mean, &variance, 1e-4);
    GF_CK(GFSolverDestroy(&solver));
  }
  {
    char     options[512];
    GFSolver solver;

    /* the mean is e^-10 by then: within 1e-4 of the steady state's */
    PetscSNPrintf(options, sizeof(options), "%s -ts_max_time 10", quadratic_1d);
    solver = GFTestSolve(options);
    GFTestAssertMoments(solver, "t = 10, the steady state N(0, 1/2)", &steady_mean, &steady_variance, 1e-4);
    GF_CK(GFSolverDestroy(&solver));
  }
}
END_TEST

static PetscReal Disk(PetscInt dim, const PetscReal x[], void *ctx)
{
  (void)dim, (void)ctx;
  return x[0] * x[0] + x[1] * x[1] <= 1 ? 1 / PETSC_PI : 0;
}

static GFBoxKind DiskClassify(PetscInt dim, const PetscReal lower[], const PetscReal upper[], void *ctx)
{
  PetscReal near = 0, far = 0;
  (void)ctx;
  for (PetscInt a = 0; a < dim; a++) {
    const PetscReal dn = lower[a] > 0 ? lower[a] : (upper[a] < 0 ? -upper[a] : 0), df = PetscMax(PetscAbsReal(lower[a]), PetscAbsReal(upper[a]));
    near += dn * dn;
    far += df * df;
  }
  return near >= 1 ? GF_BOX_ZERO : (far <= 1 ? GF_BOX_SMOOTH : GF_BOX_CUT);
}

/* Case 3: W = |x|^2/2 - ln|x|, no diffusion, unit mass: the density tends to 1/pi on the unit disk; the L1 distance falls with h. */
START_TEST(test_aggregation_disk)
{
  PetscReal distance[2];

  for (int level = 0; level < 2; level++) {
    char     options[512];
    GFSolver solver;
    GFGrid   grid;
    Vec      rho, disk;

    PetscSNPrintf(options, sizeof(options), "-model mckean_vlasov -dim 2 -diffusion 0 -interaction log_quadratic -init_variance 0.25 -domain_lower -1.6 -domain_upper 1.6 -da_grid_x %d -da_grid_y %d -ts_max_time 4", 32 << level, 32 << level);
    solver = GFTestSolve(options);
    GFTestAssertStructurePreserved(solver, options, "energy");
    GF_CK(GFSolverGetGrid(solver, &grid));
    GF_CK(GFSolverGetSolution(solver, &rho));
    GF_CK(VecDuplicate(rho, &disk));
    GF_CK(GFGridCellAveragesAdaptive(grid, Disk, DiskClassify, NULL, 8, disk));
    GF_CK(VecAXPY(disk, -1, rho));
    GF_CK(VecNorm(disk, NORM_1, &distance[level]));
    distance[level] *= (3.2 / (32 << level)) * (3.2 / (32 << level));
    GF_CK(VecDestroy(&disk));
    GF_CK(GFSolverDestroy(&solver));
  }
  ck_assert_msg(distance[1] < 0.03 && distance[1] < 0.75 * distance[0], "L1 distance to the uniform disk: %g (32^2), %g (64^2)", (double)distance[0], (double)distance[1]);
}
END_TEST

/* Case 4: Keller-Segel, mass 4 pi: d/dt int |x|^2 rho = 4 M (1 - M/(8 pi)), i.e. 2 per unit mass, within 2%. */
START_TEST(test_keller_segel_moment)
{
  const PetscReal mass = 4 * PETSC_PI;
  PetscReal       moment[2];

  for (int k = 0; k < 2; k++) {
    char          options[512];
    GFSolver      solver;
    GFDiagnostics d;

    PetscSNPrintf(options, sizeof(options), "-model mckean_vlasov -dim 2 -interaction newtonian -init_mass %.17g -init_variance 0.5 -domain_lower -8 -domain_upper 8 -da_grid_x 64 -da_grid_y 64 -ts_max_time %g", (double)mass, k ? 0.5 : 0.25);
    solver = GFTestSolve(options);
    GF_CK(GFSolverGetDiagnostics(solver, &d));
    GFTestAssertStructurePreserved(solver, options, "energy");
    moment[k] = d.covariance[0][0] + d.covariance[1][1] + d.mean[0] * d.mean[0] + d.mean[1] * d.mean[1];
    GF_CK(GFSolverDestroy(&solver));
  }
  {
    const PetscReal rate = (moment[1] - moment[0]) / 0.25 * mass, exact = 4 * mass * (1 - mass / (8 * PETSC_PI));
    ck_assert_msg(PetscAbsReal(rate - exact) <= 0.02 * exact, "second moment grows at %.6f, exact %.6f", (double)rate, (double)exact);
  }
}
END_TEST

/*
  Case 4: Keller-Segel, mass 10 pi > 8 pi: the run reports blow-up, earlier on the finer grid
  (a grid resolves concentration down to h only), and on 128^2 before the virial bound
  T* <= m2(0) / (4 M (M/(8 pi) - 1)) = 1 for the data N(0, 0.5 I).
*/
START_TEST(test_keller_segel_blowup)
{
  PetscReal time[2];

  for (int level = 0; level < 2; level++) {
    char            options[512];
    GFSolver        solver;
    GFRunStatistics st;

    PetscSNPrintf(options, sizeof(options), "-model mckean_vlasov -dim 2 -interaction newtonian -init_mass 31.41592653589793 -init_variance 0.5 -domain_lower -4 -domain_upper 4 -da_grid_x %d -da_grid_y %d -ts_max_time 2", 64 << level, 64 << level);
    solver = GFTestSolve(options);
    GF_CK(GFSolverGetStatistics(solver, &st));
    ck_assert_msg(st.blowup_time > 0, "%s: no blow-up reported", options);
    GFTestAssertStructurePreserved(solver, options, "energy");
    time[level] = st.blowup_time;
    GF_CK(GFSolverDestroy(&solver));
  }
  ck_assert_msg(time[1] < time[0] && time[1] < 1, "blow-up reported at t = %g (64^2) and %g (128^2)", (double)time[0], (double)time[1]);
}
END_TEST

static Suite *MakeSuite(void)
{
  Suite *s = suite_create("mckean_vlasov");
  TCase *t = tcase_create("mckean_vlasov");
  tcase_set_timeout(t, 600);
  tcase_add_test(t, test_quadratic);
  tcase_add_test(t, test_aggregation_disk);
  tcase_add_test(t, test_keller_segel_moment);
  tcase_add_test(t, test_keller_segel_blowup);
  suite_add_tcase(s, t);
  return s;
}

int main(int argc, char **argv)
{
  return GFTestMain(argc, argv, MakeSuite);
}
