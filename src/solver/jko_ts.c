/* TS type "jko": one JKO step per time step (jko.h). */
#include "jko.h"

PETSC_INTERN PetscErrorCode GFJKOMethodDestroy(GFJKOMethod *jko)
{
  PetscFunctionBeginUser;
  if (!*jko) PetscFunctionReturn(PETSC_SUCCESS);
  if ((*jko)->destroy) PetscCall((*jko)->destroy(*jko));
  PetscCall(PetscFree(*jko));
  PetscFunctionReturn(PETSC_SUCCESS);
}
