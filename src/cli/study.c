/* gradflow study: the configured problem on a ladder of grids or steps, with errors and observed orders. */
#include "commands.h"
#include <unistd.h>

/* The plotting helper: beside the installed binary, else in the source tree. */
static void PlotScript(char path[], size_t len)
{
  char    exe[PETSC_MAX_PATH_LEN - 16]; /* room for "/gradflow-plot" in path */
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

  if (n > 0) {
    char *slash;
    exe[n] = 0;
    if ((slash = strrchr(exe, '/'))) {
      *slash = 0;
      snprintf(path, len, "%s/gradflow-plot", exe);
      if (access(path, X_OK) == 0) return;
    }
  }
  snprintf(path, len, "%s/scripts/gradflow-plot", GRADFLOW_SOURCE_DIR);
}

/* study.png from study.csv when matplotlib is installed (rank 0; a missing module only skips the plot). */
static PetscErrorCode GFStudyPlot(GFStudy study)
{
  const char *dir;
  char        script[PETSC_MAX_PATH_LEN], command[3 * PETSC_MAX_PATH_LEN];
  PetscMPIInt rank;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  if (rank) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(GFStudyGetDirectory(study, &dir));
  PlotScript(script, sizeof(script));
  PetscCall(PetscSNPrintf(command, sizeof(command), "'%s' --check-modules 2> /dev/null", script));
  if (access(script, X_OK) || system(command)) {
    printf("study: no study.png (the plotting helper needs /usr/bin/python3 with matplotlib, h5py and numpy)\n");
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(PetscSNPrintf(command, sizeof(command), "'%s' '%s' > /dev/null", script, dir));
  fflush(stdout);
  if (system(command))
    printf("study: the plotting helper failed; study.csv is complete\n");
  else
    printf("study: %s/study.png\n", dir);
  PetscFunctionReturn(PETSC_SUCCESS);
}

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
  if (plot) PetscCall(GFStudyPlot(study));
  PetscCall(GFStudyDestroy(&study));
  PetscFunctionReturn(PETSC_SUCCESS);
}
