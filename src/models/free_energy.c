/*
  The pieces of the free energy F = int U(rho) + V rho + 1/2 int (W * rho) rho shared by
  the gradient-flow models, for the internal energies
      U(rho) = sigma rho log rho        (m = 1, linear diffusion)
      U(rho) = sigma rho^m / (m - 1)    (m > 1, porous medium)
  with U'(rho) = sigma m/(m-1) rho^(m-1) and rho U''(rho) = sigma m rho^(m-1) for m > 1.
*/
#include "models.h"

/* U(rho), with 0 log 0 = 0. */
static inline PetscReal InternalEnergy(PetscReal sigma, PetscReal m, PetscReal rho)
{
  if (rho <= 0 || sigma == 0) return 0;
  if (m == 1) return sigma * rho * PetscLogReal(rho);
  return sigma * PetscPowReal(rho, m) / (m - 1);
}

/* F = h^d sum_i (U(rho_i) + V_i rho_i + rho_i conv_i / 2), conv = W * rho (NULL: no interaction). */
PETSC_INTERN PetscErrorCode GFFreeEnergy(GFModel model, PetscReal m, Vec rho, Vec conv, PetscReal *energy)
{
  const PetscScalar *r, *V, *c = NULL;
  PetscInt           n;
  PetscReal          local = 0;

  PetscFunctionBeginUser;
  PetscCall(VecGetLocalSize(rho, &n));
  PetscCall(VecGetArrayRead(rho, &r));
  PetscCall(VecGetArrayRead(model->V, &V));
  if (conv) PetscCall(VecGetArrayRead(conv, &c));
  for (PetscInt i = 0; i < n; i++) {
    const PetscReal x = PetscRealPart(r[i]);
    local += InternalEnergy(model->sigma, m, x) + PetscRealPart(V[i]) * x + (c ? 0.5 * x * PetscRealPart(c[i]) : 0);
  }
  if (conv) PetscCall(VecRestoreArrayRead(conv, &c));
  PetscCall(VecRestoreArrayRead(model->V, &V));
  PetscCall(VecRestoreArrayRead(rho, &r));
  PetscCall(MPIU_Allreduce(&local, energy, 1, MPIU_REAL, MPIU_SUM, model->comm));
  *energy *= model->grid->cell_volume;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* xi += U'(rho) = sigma m/(m-1) max(rho, 0)^(m-1) on the ghosted array (m > 1; rho < 0 only inside finite differences). */
PETSC_INTERN PetscErrorCode GFAddInternalPotential(PetscReal sigma, PetscReal m, Vec rho_local, Vec xi_local)
{
  const PetscReal    c = sigma * m / (m - 1), e = m - 1;
  const PetscScalar *r;
  PetscScalar       *xi;
  PetscInt           n;

  PetscFunctionBeginUser;
  PetscCall(VecGetLocalSize(rho_local, &n));
  PetscCall(VecGetArrayRead(rho_local, &r));
  PetscCall(VecGetArray(xi_local, &xi));
  for (PetscInt i = 0; i < n; i++) {
    const PetscReal x = PetscMax(PetscRealPart(r[i]), 0);
    xi[i] += e == 1 ? c * x : c * PetscPowReal(x, e);
  }
  PetscCall(VecRestoreArray(xi_local, &xi));
  PetscCall(VecRestoreArrayRead(rho_local, &r));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* d U'(rho) / d rho = sigma m rho^(m-2) (m > 1), at rho >= 1e-300 so that m < 2 stays finite at a front. */
PETSC_INTERN PetscErrorCode GFInternalPotentialDerivative(PetscReal sigma, PetscReal m, Vec rho_local, Vec dxi_local)
{
  const PetscScalar *r;
  PetscScalar       *d;
  PetscInt           n;

  PetscFunctionBeginUser;
  PetscCall(VecGetLocalSize(rho_local, &n));
  PetscCall(VecGetArrayRead(rho_local, &r));
  PetscCall(VecGetArray(dxi_local, &d));
  for (PetscInt i = 0; i < n; i++) d[i] = m == 2 ? 2 * sigma : sigma * m * PetscPowReal(PetscMax(PetscRealPart(r[i]), 1e-300), m - 2);
  PetscCall(VecRestoreArray(dxi_local, &d));
  PetscCall(VecRestoreArrayRead(rho_local, &r));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* max rho U''(rho) = sigma m max(rho)^(m-1) (m > 1): the diffusivity of the explicit parabolic bound. */
PETSC_INTERN PetscErrorCode GFMaxInternalDiffusivity(PetscReal sigma, PetscReal m, Vec rho, PetscReal *diffusivity)
{
  PetscReal max;

  PetscFunctionBeginUser;
  PetscCall(VecMax(rho, NULL, &max));
  *diffusivity = sigma * m * PetscPowReal(PetscMax(max, 0), m - 1);
  PetscFunctionReturn(PETSC_SUCCESS);
}
