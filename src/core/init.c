/*
  Library start-up and shut-down: PETSc, the registries of models and potentials,
  and a quiet error handler so that commands report one clear message per error.
*/
#include "../gradflow_impl.h"

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

/* PetscInitialize plus gradflow's registries; -error_traceback keeps PETSc's own error handler. */
PetscErrorCode GFInitialize(int *argc, char ***argv, const char help[])
{
  PetscBool traceback = PETSC_FALSE;

  PetscFunctionBeginUser;
  PetscCall(PetscInitialize(argc, argv, NULL, help));
  PetscCall(PetscOptionsGetBool(NULL, NULL, "-error_traceback", &traceback, NULL));
  if (!traceback) PetscCall(PetscPushErrorHandler(GFQuietErrorHandler, NULL));
  PetscCall(GFPotentialRegisterAll());
  PetscCall(GFModelRegisterAll());
  PetscCall(GFRegisterSSPSchemes());
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFFinalize(void)
{
  PetscFunctionBeginUser;
  PetscCall(GFModelRegistryDestroy());
  PetscCall(GFPotentialRegistryDestroy());
  PetscCall(PetscPopErrorHandler());
  PetscCall(PetscFinalize());
  PetscFunctionReturn(PETSC_SUCCESS);
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
  case PETSC_ERR_ARG_WRONG: return PETSC_TRUE;
  default: return PETSC_FALSE;
  }
}

/* Exit status of a command: 0 success, 2 bad input (options or files), 1 any other failure. */
int GFExitCode(PetscErrorCode code)
{
  if (!code) return 0;
  switch (code) {
  case PETSC_ERR_USER_INPUT:
  case PETSC_ERR_FILE_OPEN:
  case PETSC_ERR_FILE_READ:
  case PETSC_ERR_FILE_WRITE:
  case PETSC_ERR_FILE_UNEXPECTED:
  case PETSC_ERR_ARG_UNKNOWN_TYPE: return 2;
  default: return 1;
  }
}

/*
  A choice among names (PetscOptionsEList refuses an unknown one with an error that is
  not a user-input error): "-option value: valid are a, b, c" otherwise. Collective.
*/
PETSC_INTERN PetscErrorCode GFOptionsChoice(PetscOptionItems *PetscOptionsObject, const char option[], const char help[], const char manual[], const char *const names[], PetscInt n, PetscInt *choice)
{
  char      value[GF_NAME_LEN], valid[256] = "";
  PetscBool set;

  PetscFunctionBeginUser;
  for (PetscInt k = 0; k < n; k++) {
    PetscCall(PetscStrlcat(valid, names[k], sizeof(valid)));
    if (k + 1 < n) PetscCall(PetscStrlcat(valid, ", ", sizeof(valid)));
  }
  {
    char text[512];
    PetscCall(PetscSNPrintf(text, sizeof(text), "%s: %s", help, valid));
    PetscCall(PetscStrncpy(value, names[*choice], sizeof(value)));
    PetscCall(PetscOptionsString(option, text, manual, value, value, sizeof(value), &set));
  }
  if (!set) PetscFunctionReturn(PETSC_SUCCESS);
  for (PetscInt k = 0; k < n; k++)
    if (!strcmp(value, names[k])) {
      *choice = k;
      PetscFunctionReturn(PETSC_SUCCESS);
    }
  SETERRQ(PetscOptionsObject->comm, PETSC_ERR_USER_INPUT, "%s %s: valid are %s", option, value, valid);
}
