/* gradflow run: solve one problem from PETSc options (or -options_file problems/NAME.yaml). */
#include "commands.h"

/* Options of the other commands that a problem file may hold: not this command's to refuse. */
static const char *const run_foreign[] = {"particles_", "particle_", "compare_", "study_", "pde", NULL};

/* Set up (every input checked, nothing written), refuse options nobody read, then solve. */
static PetscErrorCode GFCommandRunSolver(GFSolver solver, const char problem[])
{
  PetscBool    help;
  PetscOptions dbs[1] = {NULL};

  PetscFunctionBeginUser;
  if (problem[0]) PetscCall(GFSolverSetProblemName(solver, problem));
  PetscCall(GFSolverSetFromOptions(solver));
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (help) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(GFSolverSetUp(solver));
  PetscCall(GFOptionsCheckUnused(PETSC_COMM_WORLD, 1, dbs, run_foreign));
  PetscCall(GFSolverSolve(solver));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Solve the configured problem; with -help, list the options and stop before solving. On a failure the solver is destroyed all the same, which leaves an earlier run's directory as it was. */
PetscErrorCode GFCommandRun(const char problem[])
{
  GFSolver       solver;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(GFSolverCreate(PETSC_COMM_WORLD, &solver));
  ierr = GFCommandRunSolver(solver, problem);
  if (!ierr || GFErrorIsCollective(ierr)) PetscCall(GFSolverDestroy(&solver));
  PetscFunctionReturn(ierr);
}
