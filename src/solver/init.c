/*
  Library start-up and shut-down: PETSc, the registries of models, potentials, kernels,
  interactions, time schemes and the step adapter,
  and a quiet error handler so that commands report one clear message per error.
*/
#include "solver.h"

const char GFVersion[] = GRADFLOW_VERSION;

/* Record the message (PETSc keeps the first one) and return the code without printing a traceback. */
static PetscErrorCode GFQuietErrorHandler(MPI_Comm comm, int line, const char *func, const char *file, PetscErrorCode n, PetscErrorType p, const char *mess, void *ctx)
{
  (void)comm;
  (void)line;
  (void)func;
  (void)file;
  (void)p;
  (void)mess;
  (void)ctx;
  return n;
}

static PetscBool gf_initialized_mpi = PETSC_FALSE;

/*
  MPI, then the -options_file files checked (a missing file, bad YAML or binary junk is
  one message naming the file and the line, where PetscInitialize would stop with a
  traceback), then PetscInitialize and gradflow's registries; -error_traceback keeps
  PETSc's own error handler, -file_sandbox 0 reads HDF5 files without the child process.
  When a file is bad the message is printed here (rank 0), MPI is finalized and
  PETSC_ERR_USER_INPUT returned: the caller exits without GFFinalize.
*/
PetscErrorCode GFInitialize(int *argc, char ***argv, const char help[])
{
  PetscBool   traceback = PETSC_FALSE, sandbox = PETSC_TRUE;
  int         mpi_started, code                = 0;
  PetscMPIInt rank;
  char        msg[PETSC_MAX_PATH_LEN + 1024] = "";

  /* Open MPI 4.1's shared-file-pointer component "sm" keeps a named semaphore per file name
     (/dev/shm/sem.OMPIO_<name>): a run killed while opening a file leaves it locked, and every
     later run that opens a file of that name, in any directory, waits forever. gradflow
     uses no shared file pointers: the component is left out unless the user chose. */
  setenv("OMPI_MCA_sharedfp", "^sm", 0);
  MPI_Initialized(&mpi_started);
  if (!mpi_started) {
    if (MPI_Init(argc, argv) != MPI_SUCCESS) return PETSC_ERR_MPI;
    gf_initialized_mpi = PETSC_TRUE;
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0) code = GFOptionsFilesCheckArgs(*argc, *argv, msg, sizeof(msg));
  MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (code) {
    if (rank == 0) fprintf(stderr, "gradflow: error: %s\n", msg);
    fflush(stderr);
    if (gf_initialized_mpi) MPI_Finalize();
    return PETSC_ERR_USER_INPUT;
  }
  PetscCall(PetscInitialize(argc, argv, NULL, help));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-error_traceback", &traceback, NULL));
  if (!traceback) PetscCall(PetscPushErrorHandler(GFQuietErrorHandler, NULL));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-file_sandbox", &sandbox, NULL));
  if (!sandbox) setenv("GRADFLOW_NO_SANDBOX", "1", 1);
  PetscCall(GFPotentialRegisterAll());
  PetscCall(GFKernelRegisterAll());
  PetscCall(GFInteractionRegisterAll());
  PetscCall(GFModelRegisterAll());
  PetscCall(GFRegisterSchemes());
  PetscCall(GFRegisterFusedSSP());
  PetscCall(GFRegisterJKO());
  PetscCall(GFRegisterStepControl());
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFFinalize(void)
{
  PetscFunctionBeginUser;
  PetscCall(GFModelRegistryDestroy());
  PetscCall(GFKernelRegistryDestroy());
  PetscCall(GFInteractionRegistryDestroy());
  PetscCall(GFPotentialRegistryDestroy());
  PetscCall(GFNeuronRegistryDestroy());
  PetscCall(PetscPopErrorHandler());
  PetscCall(PetscFinalize());
  if (gf_initialized_mpi) MPI_Finalize();
  return PETSC_SUCCESS;
}

/* True for errors that every rank raises together (bad input, files, failed solves): safe to finalize cleanly. */
PetscBool GFErrorIsCollective(PetscErrorCode code)
{
  switch (code) {
  case PETSC_ERR_USER_INPUT:
  case PETSC_ERR_FILE_OPEN:
  case PETSC_ERR_FILE_READ:
  case PETSC_ERR_FILE_WRITE:
  case PETSC_ERR_FILE_UNEXPECTED:
  case PETSC_ERR_NOT_CONVERGED:
  case PETSC_ERR_ARG_UNKNOWN_TYPE:
  case PETSC_ERR_ARG_OUTOFRANGE:
  case PETSC_ERR_USER: /* PETSc's "Unknown option X for -ts_rk_type" */
  case PETSC_ERR_ARG_WRONG: return PETSC_TRUE;
  default: return PETSC_FALSE;
  }
}

/* Exit status of a command: 0 success, 2 bad input (options, input files, the output directory), 1 numerical or any other failure. */
int GFExitCode(PetscErrorCode code)
{
  if (!code) return 0;
  switch (code) {
  case PETSC_ERR_USER_INPUT:
  case PETSC_ERR_FILE_OPEN:
  case PETSC_ERR_FILE_READ:
  case PETSC_ERR_FILE_WRITE:
  case PETSC_ERR_FILE_UNEXPECTED:
  case PETSC_ERR_ARG_UNKNOWN_TYPE:
  case PETSC_ERR_ARG_OUTOFRANGE: /* PETSc's parsers of its own options */
  case PETSC_ERR_USER:
  case PETSC_ERR_ARG_WRONG: return 2;
  default: return 1;
  }
}
