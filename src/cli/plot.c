/* The plotting helper, scripts/gradflow-plot, run on a directory after a command (rank 0; a missing matplotlib only skips the plot). */
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

/* Plot dir with the helper and report the PNG files it names (what: the command, for the messages). */
PetscErrorCode GFCommandPlot(const char what[], const char dir[], const char pngs[])
{
  char        script[PETSC_MAX_PATH_LEN], command[3 * PETSC_MAX_PATH_LEN];
  PetscMPIInt rank;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(PETSC_COMM_WORLD, &rank));
  if (rank) PetscFunctionReturn(PETSC_SUCCESS);
  PlotScript(script, sizeof(script));
  PetscCall(PetscSNPrintf(command, sizeof(command), "'%s' --check-modules 2> /dev/null", script));
  if (access(script, X_OK) || system(command)) {
    printf("%s: no %s (the plotting helper needs /usr/bin/python3 with matplotlib, h5py and numpy)\n", what, pngs);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(PetscSNPrintf(command, sizeof(command), "'%s' '%s' > /dev/null", script, dir));
  fflush(stdout);
  if (system(command))
    printf("%s: the plotting helper failed; the CSV files are complete\n", what);
  else
    printf("%s: %s in %s\n", what, pngs, dir);
  PetscFunctionReturn(PETSC_SUCCESS);
}
