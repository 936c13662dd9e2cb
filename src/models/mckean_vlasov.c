/*
  mckean_vlasov: the mean-field limit of interacting Langevin particles
  dX_i = -grad V(X_i) dt - (1/N) sum_j grad W(X_i - X_j) dt + sqrt(2 sigma) dB_i,

      d_t rho = div(rho grad(U'(rho) + V + W * rho)),
      F(rho)  = int U(rho) + V rho + 1/2 int (W * rho) rho,

  with U = sigma rho log rho (-diffusion_exponent 1, the default), sigma rho^m/(m-1)
  (m > 1) or none (-diffusion 0). W * rho is an FFT convolution of W's cell averages
  (GFConvolution), recomputed only when the density changes. Linear diffusion uses the
  Scharfetter-Gummel flux with psi = V + W * rho; the others upwind xi. The local part
  of the drift (for IMEX splittings and Newton's Jacobian) leaves W * rho out.

  Exact solution for V = sum a_k (x_k - c_k)^2/2 (or 0), W = b |x|^2/2 (or none),
  linear diffusion and Gaussian data: grad W * rho = b (x - mean), so the mean follows
  m' = -a (m - c) and the variance v' = -2 (a + b) v + 2 sigma, per axis.
*/
#include "models.h"

typedef struct {
  PetscReal     m; /* diffusion exponent: 1 linear, > 1 porous medium */
  GFInteraction interaction;
  PetscBool     interacting;
  GFConvolution convolution;
  PetscInt      kernel;
  Vec           conv, conv_local, conv_input; /* W * rho, ghosted, and the density it was computed for */
  PetscBool     conv_valid;
  PetscBool     quadratic; /* V and W quadratic: the exact solution */
  PetscReal     stiffness[3], center[3], strength;
} GFModel_McKeanVlasov;

static PetscErrorCode GFModelSetFromOptions_McKeanVlasov(GFModel m, PetscOptionItems *PetscOptionsObject)
{
  GFModel_McKeanVlasov *mv = (GFModel_McKeanVlasov *)m->data;

  PetscFunctionBeginUser;
  PetscOptionsHeadBegin(PetscOptionsObject, "McKean-Vlasov");
  PetscCall(GFOptionsReal("-diffusion_exponent", "1: linear diffusion sigma rho log rho; m > 1: sigma rho^m/(m-1)", "GFModelSetFromOptions", mv->m, &mv->m, NULL, GF_REAL_ANY));
  PetscOptionsHeadEnd();
  PetscCheck(mv->m >= 1 && PetscIsNormalReal(mv->m), m->comm, PETSC_ERR_USER_INPUT, "-diffusion_exponent %.6g: the McKean-Vlasov model takes m = 1 (linear diffusion) or m > 1", (double)mv->m);
  PetscCall(GFInteractionSetFromOptions(mv->interaction, m->grid->dim, m->grid->bc));
  PetscCall(GFInteractionIsActive(mv->interaction, &mv->interacting));
  m->convolutions = mv->interacting ? 1 : 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* W * rho for the global density rho, reused while rho is unchanged (the energy, the time step and the first stage all ask for it). */
static PetscErrorCode GFModelConvolve_McKeanVlasov(GFModel m, Vec rho)
{
  GFModel_McKeanVlasov *mv   = (GFModel_McKeanVlasov *)m->data;
  PetscBool             same = PETSC_FALSE;

  PetscFunctionBeginUser;
  if (mv->conv_valid) PetscCall(VecEqual(rho, mv->conv_input, &same));
  if (same) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(GFConvolutionApply(mv->convolution, mv->kernel, rho, mv->conv));
  PetscCall(VecCopy(rho, mv->conv_input));
  PetscCall(DMGlobalToLocal(m->grid->da, mv->conv, INSERT_VALUES, mv->conv_local));
  mv->conv_valid = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* psi = V + W * rho (linear diffusion), or xi = U'(rho) + V + W * rho; the local part leaves W * rho out. */
static PetscErrorCode GFModelDrift_McKeanVlasov(GFModel m, PetscReal t, Vec rho, Vec rho_local, Vec drift_local, GFDriftPart part)
{
  GFModel_McKeanVlasov *mv = (GFModel_McKeanVlasov *)m->data;

  PetscFunctionBeginUser;
  (void)t;
  PetscCall(DMGlobalToLocal(m->grid->da, m->V, INSERT_VALUES, drift_local));
  if (mv->interacting && part == GF_DRIFT_ALL) {
    PetscCall(GFModelConvolve_McKeanVlasov(m, rho));
    PetscCall(VecAXPY(drift_local, 1, mv->conv_local));
  }
  if (mv->m > 1) PetscCall(GFAddInternalPotential(m->sigma, mv->m, rho_local, drift_local));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* d xi_i / d rho_i of the local part: U''(rho) for m > 1, zero otherwise (psi = V does not depend on rho). */
static PetscErrorCode GFModelDriftDerivative_McKeanVlasov(GFModel m, Vec rho_local, Vec dxi_local)
{
  GFModel_McKeanVlasov *mv = (GFModel_McKeanVlasov *)m->data;

  PetscFunctionBeginUser;
  if (mv->m > 1)
    PetscCall(GFInternalPotentialDerivative(m->sigma, mv->m, rho_local, dxi_local));
  else
    PetscCall(VecSet(dxi_local, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GFModelDiffusivity_McKeanVlasov(GFModel m, Vec rho, PetscReal *diffusivity)
{
  GFModel_McKeanVlasov *mv = (GFModel_McKeanVlasov *)m->data;

  PetscFunctionBeginUser;
  *diffusivity = 0;
  if (mv->m > 1) PetscCall(GFMaxInternalDiffusivity(m->sigma, mv->m, rho, diffusivity));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* F = h^d sum_i (U(rho_i) + V_i rho_i + rho_i (W * rho)_i / 2). */
static PetscErrorCode GFModelEnergy_McKeanVlasov(GFModel m, Vec rho, PetscReal *energy)
{
  GFModel_McKeanVlasov *mv = (GFModel_McKeanVlasov *)m->data;

  PetscFunctionBeginUser;
  if (mv->interacting) PetscCall(GFModelConvolve_McKeanVlasov(m, rho));
  PetscCall(GFFreeEnergy(m, mv->m, rho, mv->interacting ? mv->conv : NULL, energy));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Gaussian cell averages of mean c + (m0 - c) e^{-a t} and variance from the OU process of stiffness a + b. */
static PetscErrorCode GFModelExact_McKeanVlasov(GFModel m, PetscReal t, Vec rho)
{
  GFModel_McKeanVlasov *mv      = (GFModel_McKeanVlasov *)m->data;
  const PetscReal       t0      = m->init.type == GF_INIT_GAUSSIAN ? m->init.time : 0;
  PetscReal             mean[3] = {0, 0, 0}, variance[3] = {1, 1, 1}, unused;

  PetscFunctionBeginUser;
  for (PetscInt a = 0; a < m->grid->dim; a++) {
    GFOrnsteinUhlenbeck(mv->stiffness[a], mv->center[a], m->sigma, m->init.mean[a], m->init.variance[a], t - t0, &mean[a], &unused);
    GFOrnsteinUhlenbeck(mv->stiffness[a] + mv->strength, 0, m->sigma, 0, m->init.variance[a], t - t0, &unused, &variance[a]);
    PetscCheck(variance[a] > 0, m->comm, PETSC_ERR_ARG_OUTOFRANGE, "the exact solution has no positive variance on axis %c at t = %.6g", (int)('x' + a), (double)t);
  }
  PetscCall(GFGridGaussianCellAverages(m->grid, mean, variance, rho));
  PetscCall(VecScale(rho, m->init.mass));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GFModelSetUp_McKeanVlasov(GFModel m)
{
  GFModel_McKeanVlasov *mv = (GFModel_McKeanVlasov *)m->data;
  PetscBool             v_quadratic, w_quadratic;

  PetscFunctionBeginUser;
  PetscCall(GFInteractionIsActive(mv->interaction, &mv->interacting));
  if (mv->m == 1 && m->sigma > 0)
    m->flux = GF_FLUX_SCHARFETTER_GUMMEL;
  else
    m->flux = GF_FLUX_UPWIND_POTENTIAL;
  m->drift_static       = (PetscBool)(!mv->interacting && mv->m == 1);
  m->local_drift_static = (PetscBool)(mv->m == 1);
  m->can_concentrate    = mv->interacting;
  m->exponent           = mv->m;
  if (mv->interacting) {
    PetscCall(GFConvolutionCreate(m->grid, &mv->convolution));
    PetscCall(GFConvolutionAddKernel(mv->convolution, GFInteractionCellAverage, 0, mv->interaction, &mv->kernel));
    PetscCall(DMCreateGlobalVector(m->grid->da, &mv->conv));
    PetscCall(VecDuplicate(mv->conv, &mv->conv_input));
    PetscCall(DMCreateLocalVector(m->grid->da, &mv->conv_local));
  }
  PetscCall(GFPotentialIsQuadratic(m->potential, &v_quadratic, mv->stiffness, mv->center));
  PetscCall(GFInteractionQuadraticStrength(mv->interaction, &w_quadratic, &mv->strength));
  mv->quadratic = (PetscBool)(v_quadratic && w_quadratic);
  m->dynamics   = (GFParticleDynamics){mv->m > 1 ? GF_DYNAMICS_NONE : GF_DYNAMICS_LANGEVIN,
                                     mv->m > 1 ? "nonlinear diffusion (-diffusion_exponent > 1) has no Langevin particle system" : NULL,
                                     m->sigma,
                                     m->potential,
                                     mv->interacting ? mv->interaction : NULL,
                                     mv->strength,
                                     NULL,
                                     !mv->interacting ? GF_PARTICLE_COUPLING_NONE : (w_quadratic ? GF_PARTICLE_COUPLING_MOMENTS : GF_PARTICLE_COUPLING_PAIRS),
                                     mv->convolution,
                                     mv->kernel,
                                     NULL};
  m->has_exact = (PetscBool)(mv->quadratic && mv->m == 1 && (m->init.type == GF_INIT_GAUSSIAN || m->init.type == GF_INIT_EXACT || m->init.type == GF_INIT_FILE));
  m->no_exact  = mv->quadratic ? "the exact solution needs linear diffusion (-diffusion_exponent 1) and Gaussian data" : "the exact solution needs -potential quadratic or none and -interaction quadratic or none";
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GFModelView_McKeanVlasov(GFModel m, PetscViewer viewer)
{
  GFModel_McKeanVlasov *mv = (GFModel_McKeanVlasov *)m->data;
  const char           *type;

  PetscFunctionBeginUser;
  PetscCall(GFInteractionGetType(mv->interaction, &type));
  PetscCall(PetscViewerASCIIPrintf(viewer, "  interaction %s, diffusion exponent %.6g\n", type, (double)mv->m));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GFModelDestroy_McKeanVlasov(GFModel m)
{
  GFModel_McKeanVlasov *mv = (GFModel_McKeanVlasov *)m->data;

  PetscFunctionBeginUser;
  PetscCall(GFConvolutionDestroy(&mv->convolution));
  PetscCall(VecDestroy(&mv->conv));
  PetscCall(VecDestroy(&mv->conv_input));
  PetscCall(VecDestroy(&mv->conv_local));
  PetscCall(GFInteractionDestroy(&mv->interaction));
  PetscCall(PetscFree(m->data));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFModelCreate_McKeanVlasov(GFModel m)
{
  GFModel_McKeanVlasov *mv;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&mv));
  mv->m   = 1;
  m->data = mv;
  PetscCall(GFInteractionCreate(m->comm, &mv->interaction));
  m->ops->setfromoptions = GFModelSetFromOptions_McKeanVlasov;
  m->ops->setup          = GFModelSetUp_McKeanVlasov;
  m->ops->drift          = GFModelDrift_McKeanVlasov;
  m->ops->dxi            = GFModelDriftDerivative_McKeanVlasov;
  m->ops->diffusivity    = GFModelDiffusivity_McKeanVlasov;
  m->ops->energy         = GFModelEnergy_McKeanVlasov;
  m->ops->exact          = GFModelExact_McKeanVlasov;
  m->ops->view           = GFModelView_McKeanVlasov;
  m->ops->destroy        = GFModelDestroy_McKeanVlasov;
  PetscFunctionReturn(PETSC_SUCCESS);
}
