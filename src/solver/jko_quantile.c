/* JKO method "quantile": not yet written. */
#include "jko.h"

PETSC_INTERN PetscErrorCode GFJKOSetUpQuantile(GFJKOMethod jko)
{
  PetscFunctionBeginUser;
  SETERRQ(jko->comm, PETSC_ERR_SUP, "-jko_method quantile is not written yet");
}
