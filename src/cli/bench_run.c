/* One benchmark run of the solver, shared by the gradflow bench tables. */
#include "commands.h"

/*
  Run the solver on options given as a string in a database of their own; return its
  statistics, the wall seconds of the solve, the relative L1 error against the exact
  solution at the end only (not every step: the timing is of the scheme; NULL: none) and
  the final diagnostics (NULL: not wanted).
*/
PetscErrorCode GFBenchRun(const char options[], PetscReal *error, GFRunStatistics *st, PetscLogDouble *seconds, GFDiagnostics *diagnostics)
{
  PetscOptions   db;
  GFSolver       solver;
  GFModel        model;
  GFDiagnostics  d;
  Vec            rho, exact;
  PetscReal      norm;
  PetscLogDouble start, stop;

  PetscFunctionBeginUser;
  PetscCall(PetscOptionsCreate(&db));
  PetscCall(PetscOptionsInsertString(db, options));
  PetscCall(PetscOptionsInsertString(db, "-output 0 -progress 0 -summary 0"));
  PetscCall(PetscOptionsPush(db));
  PetscCall(GFSolverCreate(PETSC_COMM_WORLD, &solver));
  PetscCall(GFSolverSetFromOptions(solver));
  PetscCall(GFSolverSetUp(solver));
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  PetscCall(PetscTime(&start));
  PetscCall(GFSolverSolve(solver));
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  PetscCall(PetscTime(&stop));
  PetscCall(GFSolverGetDiagnostics(solver, &d));
  PetscCall(GFSolverGetStatistics(solver, st));
  if (diagnostics) *diagnostics = d;
  if (error) {
    PetscCall(GFSolverGetModel(solver, &model));
    PetscCall(GFSolverGetSolution(solver, &rho));
    PetscCall(VecDuplicate(rho, &exact));
    PetscCall(GFModelComputeExact(model, d.time, exact));
    PetscCall(VecNorm(exact, NORM_1, &norm));
    PetscCall(VecAXPY(exact, -1, rho));
    PetscCall(VecNorm(exact, NORM_1, error));
    *error /= norm;
    PetscCall(VecDestroy(&exact));
  }
  PetscCall(GFSolverDestroy(&solver));
  PetscCall(PetscOptionsPop());
  PetscCall(PetscOptionsDestroy(&db));
  *seconds = stop - start;
  PetscFunctionReturn(PETSC_SUCCESS);
}
