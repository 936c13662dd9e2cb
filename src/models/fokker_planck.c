/*
  fokker_planck: the law of Langevin dynamics dX = -grad V(X) dt + sqrt(2 sigma) dB,

      d_t rho = div(sigma grad rho + rho grad V),
      F(rho)  = int sigma rho log rho + V rho,   steady state rho ~ exp(-V/sigma).

  Discretised with the Scharfetter-Gummel flux for psi = V (exact discrete Gibbs
  states); with -diffusion 0 it is pure transport by u = -grad V (upwind).

  Exact solution for V = sum_k a_k (x_k - c_k)^2/2 (or V = 0) and Gaussian data
  N(m0, v0) with diagonal covariance: each axis is an Ornstein-Uhlenbeck process,
      m(t) = c + (m0 - c) e^{-a t},   v(t) = v0 e^{-2 a t} + 2 sigma t phi(-2 a t),
  phi(z) = (e^z - 1)/z, which is v0 + 2 sigma t at a = 0.
*/
#include "models.h"

typedef struct {
  PetscBool quadratic;
  PetscReal stiffness[3], center[3];
} GFModel_FokkerPlanck;

/* psi = V (Scharfetter-Gummel) or xi = V (pure drift): independent of rho and t. */
static PetscErrorCode GFModelDrift_FokkerPlanck(GFModel m, PetscReal t, Vec rho, Vec rho_local, Vec drift_local, GFDriftPart part)
{
  PetscFunctionBeginUser;
  (void)t;
  (void)rho;
  (void)rho_local;
  (void)part;
  PetscCall(DMGlobalToLocal(m->grid->da, m->V, INSERT_VALUES, drift_local));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* F = h^d sum_i (sigma rho_i log rho_i + V_i rho_i), with 0 log 0 = 0. */
static PetscErrorCode GFModelEnergy_FokkerPlanck(GFModel m, Vec rho, PetscReal *energy)
{
  PetscFunctionBeginUser;
  PetscCall(GFFreeEnergy(m, 1, rho, NULL, energy));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Exact cell averages at time t: the Gaussian data evolves from the start time for
  -init gaussian, from t = 0 for -init exact and -init file.
*/
static PetscErrorCode GFModelExact_FokkerPlanck(GFModel m, PetscReal t, Vec rho)
{
  GFModel_FokkerPlanck *fp      = (GFModel_FokkerPlanck *)m->data;
  const PetscReal       t0      = m->init.type == GF_INIT_GAUSSIAN ? m->init.time : 0;
  PetscReal             mean[3] = {0, 0, 0}, variance[3] = {1, 1, 1};

  PetscFunctionBeginUser;
  for (PetscInt a = 0; a < m->grid->dim; a++) GFOrnsteinUhlenbeck(fp->stiffness[a], fp->center[a], m->sigma, m->init.mean[a], m->init.variance[a], t - t0, &mean[a], &variance[a]);
  for (PetscInt a = 0; a < m->grid->dim; a++) PetscCheck(variance[a] > 0, m->comm, PETSC_ERR_ARG_OUTOFRANGE, "the exact solution has no positive variance on axis %c at t = %.6g", (int)('x' + a), (double)t);
  PetscCall(GFGridGaussianCellAverages(m->grid, mean, variance, rho));
  PetscCall(VecScale(rho, m->init.mass));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The discrete Gibbs state exp(-(V - min V)/sigma) at the cell centres. */
static PetscErrorCode GFModelSteady_FokkerPlanck(GFModel m, Vec rho)
{
  PetscReal Vmin;

  PetscFunctionBeginUser;
  PetscCheck(m->sigma > 0, m->comm, PETSC_ERR_USER_INPUT, "-init gibbs needs -diffusion > 0");
  PetscCall(VecMin(m->V, NULL, &Vmin));
  PetscCall(VecCopy(m->V, rho));
  PetscCall(VecShift(rho, -Vmin));
  PetscCall(VecScale(rho, -1 / m->sigma));
  PetscCall(VecExp(rho));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* What the transport is, known from -diffusion alone: the solver picks its scheme from it before the set-up. */
static PetscErrorCode GFModelSetFromOptions_FokkerPlanck(GFModel m, PetscOptionItems *PetscOptionsObject)
{
  PetscFunctionBeginUser;
  (void)PetscOptionsObject;
  m->flux               = m->sigma > 0 ? GF_FLUX_SCHARFETTER_GUMMEL : GF_FLUX_UPWIND_POTENTIAL;
  m->drift_static       = PETSC_TRUE;
  m->local_drift_static = PETSC_TRUE;
  m->exponent           = 1;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GFModelSetUp_FokkerPlanck(GFModel m)
{
  GFModel_FokkerPlanck *fp = (GFModel_FokkerPlanck *)m->data;

  PetscFunctionBeginUser;
  PetscCall(GFModelSetFromOptions_FokkerPlanck(m, NULL));
  m->dynamics.type  = GF_DYNAMICS_LANGEVIN;
  m->dynamics.sigma = m->sigma;
  PetscCall(GFPotentialIsQuadratic(m->potential, &fp->quadratic, fp->stiffness, fp->center));
  m->has_exact = (PetscBool)(fp->quadratic && (m->init.type == GF_INIT_GAUSSIAN || m->init.type == GF_INIT_EXACT || m->init.type == GF_INIT_FILE));
  m->no_exact  = fp->quadratic ? "the exact solution needs Gaussian initial data (-init gaussian, exact or a file of such a run)" : "the exact solution needs -potential quadratic or none";
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GFModelDestroy_FokkerPlanck(GFModel m)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(m->data));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFModelCreate_FokkerPlanck(GFModel m)
{
  GFModel_FokkerPlanck *fp;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&fp));
  m->data                = fp;
  m->ops->setfromoptions = GFModelSetFromOptions_FokkerPlanck;
  m->ops->setup          = GFModelSetUp_FokkerPlanck;
  m->ops->drift          = GFModelDrift_FokkerPlanck;
  m->ops->energy         = GFModelEnergy_FokkerPlanck;
  m->ops->exact          = GFModelExact_FokkerPlanck;
  m->ops->steady         = GFModelSteady_FokkerPlanck;
  m->ops->destroy        = GFModelDestroy_FokkerPlanck;
  PetscFunctionReturn(PETSC_SUCCESS);
}
