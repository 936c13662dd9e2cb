/* gradflow study: the configured problem on a ladder of grids or steps, with errors and observed orders. */
#include "commands.h"

PetscErrorCode GFCommandStudy(const char problem[])
{
  GFStudy   study;
  PetscBool help, plot = PETSC_TRUE;

  PetscFunctionBeginUser;
  PetscCall(GFStudyCreate(PETSC_COMM_WORLD, &study));
  if (problem[0]) PetscCall(GFStudySetProblemName(study, problem));
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "Study plot", NULL);
  PetscCall(PetscOptionsBool("-study_plot", "Write study.png with scripts/gradflow-plot (needs matplotlib)", "GFCommandStudy", plot, &plot, NULL));
  PetscOptionsEnd();
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (help) {
    /* the study's options, then a run's (every level runs with them) */
    GFSolver solver;
    PetscCall(GFStudySetFromOptions(study));
    PetscCall(GFSolverCreate(PETSC_COMM_WORLD, &solver));
    PetscCall(GFSolverSetFromOptions(solver));
    PetscCall(GFSolverDestroy(&solver));
    PetscCall(GFStudyDestroy(&study));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(GFStudySetFromOptions(study));
  PetscCall(GFStudyRun(study));
  if (plot) {
    const char *dir;
    PetscCall(GFStudyGetDirectory(study, &dir));
    PetscCall(GFCommandPlot("study", dir, "study.png"));
  }
  PetscCall(GFStudyDestroy(&study));
  PetscFunctionReturn(PETSC_SUCCESS);
}
