/* gradflow run: solve one problem from PETSc options (or -options_file problems/NAME.yaml). */
#include "commands.h"

/* Solve the configured problem; with -help, list the options and stop before solving. */
PetscErrorCode GFCommandRun(const char problem[])
{
  GFSolver  solver;
  PetscBool help;

  PetscFunctionBeginUser;
  PetscCall(GFSolverCreate(PETSC_COMM_WORLD, &solver));
  if (problem[0]) PetscCall(GFSolverSetProblemName(solver, problem));
  PetscCall(GFSolverSetFromOptions(solver));
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (!help) PetscCall(GFSolverSolve(solver));
  PetscCall(GFSolverDestroy(&solver));
  PetscFunctionReturn(PETSC_SUCCESS);
}
