/* Shared helpers of the Check suites. */
#include "gftest.h"

int GFTestMain(int argc, char **argv, Suite *(*make_suite)(void))
{
  SRunner    *runner;
  int         failed;
  PetscMPIInt rank;

  if (GFInitialize(&argc, &argv, NULL)) return 1;
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  runner = srunner_create(make_suite());
  srunner_set_fork_status(runner, CK_NOFORK);
  srunner_run_all(runner, rank == 0 ? CK_NORMAL : CK_SILENT);
  failed = srunner_ntests_failed(runner);
  srunner_free(runner);
  MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, PETSC_COMM_WORLD);
  GFFinalize();
  return failed ? 1 : 0;
}

void GFTestSetOptions(const char options[])
{
  ck_assert_int_eq(PetscOptionsClear(NULL), 0);
  ck_assert_int_eq(PetscOptionsInsertString(NULL, "-progress 0 -summary 0 -output 0"), 0);
  ck_assert_int_eq(PetscOptionsInsertString(NULL, options), 0);
}

GFSolver GFTestSolve(const char options[])
{
  GFSolver solver;

  GFTestSetOptions(options);
  GF_CK(GFSolverCreate(PETSC_COMM_WORLD, &solver));
  GF_CK(GFSolverSetFromOptions(solver));
  GF_CK(GFSolverSolve(solver));
  return solver;
}

PetscReal GFTestMaxDifference(Vec a, Vec b)
{
  Vec       d;
  PetscReal norm;

  GF_CK(VecDuplicate(a, &d));
  GF_CK(VecWAXPY(d, -1, a, b));
  GF_CK(VecNorm(d, NORM_INFINITY, &norm));
  GF_CK(VecDestroy(&d));
  return norm;
}

void GFTestAssertStructurePreserved(GFSolver solver, const char what[], const char energy[])
{
  GFRunStatistics st;

  GF_CK(GFSolverGetStatistics(solver, &st));
  ck_assert_msg(st.steps > 0, "%s: no steps taken", what);
  ck_assert_msg(st.worst_mass_drift <= 1e-12, "%s: mass drift %g", what, (double)st.worst_mass_drift);
  ck_assert_msg(st.lowest_density >= 0, "%s: min rho %g", what, (double)st.lowest_density);
  ck_assert_msg(st.energy_rises == 0, "%s: %s rose at %d steps (largest %g)", what, energy, (int)st.energy_rises, (double)st.max_energy_rise);
}

PetscReal GFTestAssertExactError(GFSolver solver, const char what[], PetscReal tolerance)
{
  GFDiagnostics d;

  GF_CK(GFSolverGetDiagnostics(solver, &d));
  ck_assert_msg(d.has_error, "%s: no exact solution to compare with", what);
  ck_assert_msg(d.error_l1 < tolerance, "%s: L1 error %g against the exact solution, not below %g", what, (double)d.error_l1, (double)tolerance);
  return d.error_l1;
}

void GFTestAssertMoments(GFSolver solver, const char what[], const PetscReal mean[], const PetscReal variance[], PetscReal tolerance)
{
  GFGrid        grid;
  GFDiagnostics d;
  PetscInt      dim;

  GF_CK(GFSolverGetGrid(solver, &grid));
  GF_CK(GFGridGetDimension(grid, &dim));
  GF_CK(GFSolverGetDiagnostics(solver, &d));
  for (PetscInt k = 0; k < dim; k++) {
    ck_assert_msg(PetscAbsReal(d.mean[k] - mean[k]) <= tolerance, "%s: axis %d: mean %.8f, exact %.8f", what, (int)k, (double)d.mean[k], (double)mean[k]);
    for (PetscInt l = 0; l < dim; l++) {
      const PetscReal exact = k == l ? variance[k] : 0;
      ck_assert_msg(PetscAbsReal(d.covariance[k][l] - exact) <= tolerance, "%s: covariance (%d, %d) %.8f, exact %.8f", what, (int)k, (int)l, (double)d.covariance[k][l], (double)exact);
    }
  }
}

void GFTestAssertOrder(const char what[], PetscInt n, const PetscReal error[], PetscReal order)
{
  for (PetscInt l = 1; l < n; l++) {
    const PetscReal observed = PetscLog2Real(error[l - 1] / error[l]);
    ck_assert_msg(observed > order, "%s: order %.3f from refinement %d to %d (errors %g, %g), not above %g", what, (double)observed, (int)l - 1, (int)l, (double)error[l - 1], (double)error[l], (double)order);
  }
}

/* max_i |rho_i - start_i| / start_i (start_i = 0 counted as 1), or max_i |rho_i - start_i| / max_i start_i */
static PetscReal Change(Vec rho, Vec start, GFTestChange measure)
{
  Vec       change;
  PetscReal largest, scale;

  GF_CK(VecDuplicate(rho, &change));
  GF_CK(VecWAXPY(change, -1, start, rho));
  if (measure == GF_TEST_CHANGE_PER_CELL) {
    GF_CK(VecMaxPointwiseDivide(change, start, &largest));
  } else {
    GF_CK(VecNorm(change, NORM_INFINITY, &largest));
    GF_CK(VecNorm(start, NORM_INFINITY, &scale));
    largest /= scale;
  }
  GF_CK(VecDestroy(&change));
  return largest;
}

void GFTestAssertSteady(const char options[], PetscInt steps, GFTestChange measure, PetscReal tolerance)
{
  char            all[1024];
  GFSolver        solver;
  GFRunStatistics st;
  Vec             rho, start;
  PetscReal       change;

  PetscSNPrintf(all, sizeof(all), "%s -init gibbs -ts_max_steps %d -ts_max_time 1e9", options, (int)steps);
  GFTestSetOptions(all);
  GF_CK(GFSolverCreate(PETSC_COMM_WORLD, &solver));
  GF_CK(GFSolverSetFromOptions(solver));
  GF_CK(GFSolverSetUp(solver));
  GF_CK(GFSolverGetSolution(solver, &rho));
  GF_CK(VecDuplicate(rho, &start));
  GF_CK(VecCopy(rho, start));
  GF_CK(GFSolverSolve(solver));
  GF_CK(GFSolverGetStatistics(solver, &st));
  ck_assert_msg(st.steps == steps, "%s: %d steps taken", all, (int)st.steps);
  change = Change(rho, start, measure);
  ck_assert_msg(change <= tolerance, "%s: the steady state changed by %g (%s), more than %g", all, (double)change, measure == GF_TEST_CHANGE_PER_CELL ? "relative per cell" : "relative to max rho", (double)tolerance);
  GF_CK(VecDestroy(&start));
  GF_CK(GFSolverDestroy(&solver));
}
