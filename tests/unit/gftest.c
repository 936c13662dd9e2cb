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
