/*
  Collective outcomes of work done on rank 0 (reading a file, creating a directory): every
  rank fails together, with rank 0's message.
*/
#include "base.h"

/* Broadcast rank 0's outcome (code and message) so that all ranks fail together. Collective. */
PETSC_INTERN PetscErrorCode GFCheckRankZero(MPI_Comm comm, int code, const char msg[])
{
  char buf[3 * PETSC_MAX_PATH_LEN + 2048]; /* the longest message of a caller: three paths and text */

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Bcast(&code, 1, MPI_INT, 0, comm));
  if (!code) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscStrncpy(buf, msg ? msg : "", sizeof(buf)));
  PetscCallMPI(MPI_Bcast(buf, (int)sizeof(buf), MPI_CHAR, 0, comm));
  SETERRQ(comm, code, "%s", buf);
}
