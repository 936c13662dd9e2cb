/* JKO method "primal_dual": not yet written. */
#include "jko.h"

PETSC_INTERN PetscErrorCode GFJKOSetUpPrimalDual(GFJKOMethod jko)
{
  PetscFunctionBeginUser;
  SETERRQ(jko->comm, PETSC_ERR_SUP, "-jko_method primal_dual is not written yet");
}
