/* gradflow study: the configured problem on a ladder of grids or steps, with errors and observed orders. */
#include "commands.h"

static const char *const study_foreign[] = {"particles_", "particle_", "compare_", "pde", NULL};

static PetscErrorCode GFCommandStudyRun(GFStudy study, PetscBool plot)
{
  PetscOptions dbs[2];
  PetscInt     ndb;
  const char  *dir;

  PetscFunctionBeginUser;
  PetscCall(GFStudySetFromOptions(study));
  PetscCall(GFStudyGetOptions(study, &ndb, dbs));
  PetscCall(GFOptionsCheckUnused(PETSC_COMM_WORLD, ndb, dbs, study_foreign));
  PetscCall(GFStudyRun(study));
  PetscCall(GFStudyGetDirectory(study, &dir));
  if (plot) PetscCall(GFCommandPlot("study", dir, "study.png"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFCommandStudy(const char problem[])
{
  GFStudy        study;
  PetscBool      help, plot = PETSC_TRUE;
  PetscErrorCode ierr;

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
  ierr = GFCommandStudyRun(study, plot);
  if (!ierr || GFErrorIsCollective(ierr)) PetscCall(GFStudyDestroy(&study));
  PetscFunctionReturn(ierr);
}
