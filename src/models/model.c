/*
  GFModel: the registry of models and the dispatch to their ops. A model supplies
  the drift of the shared transport operator (psi, xi or a velocity), its free
  energy, and where it has them an exact solution and a steady state.
*/
#include "models.h"

static PetscFunctionList GFModelList       = NULL;
static PetscBool         GFModelRegistered = PETSC_FALSE;

PetscErrorCode GFModelRegister(const char name[], PetscErrorCode (*create)(GFModel))
{
  PetscFunctionBeginUser;
  PetscCall(PetscFunctionListAdd(&GFModelList, name, create));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFModelRegisterAll(void)
{
  PetscFunctionBeginUser;
  if (GFModelRegistered) PetscFunctionReturn(PETSC_SUCCESS);
  GFModelRegistered = PETSC_TRUE;
  PetscCall(GFModelRegister("fokker_planck", GFModelCreate_FokkerPlanck));
  PetscCall(GFModelRegister("porous_medium", GFModelCreate_PorousMedium));
  PetscCall(GFModelRegister("mckean_vlasov", GFModelCreate_McKeanVlasov));
  PetscCall(GFModelRegister("svgd", GFModelCreate_SVGD));
  PetscCall(GFModelRegister("mean_field_nn", GFModelCreate_MeanFieldNN));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFModelRegistryDestroy(void)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFunctionListDestroy(&GFModelList));
  GFModelRegistered = PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFModelListTypes(char buf[], size_t len)
{
  PetscFunctionBeginUser;
  PetscCall(GFModelRegisterAll());
  PetscCall(GFNameList(GFModelList, buf, len));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFModelCreate(MPI_Comm comm, GFModel *model)
{
  GFModel m;

  PetscFunctionBeginUser;
  PetscCall(GFModelRegisterAll());
  PetscCall(PetscNew(&m));
  m->comm      = comm;
  m->sigma     = 1;
  m->drift_dof = 1;
  m->no_exact  = "this model has no exact solution";
  m->init.mass = 1;
  for (PetscInt a = 0; a < GRADFLOW_MAX_DIM; a++) m->init.variance[a] = 1;
  PetscCall(GFPotentialCreate(comm, &m->potential));
  *model = m;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Select a registered model by name; an unknown name lists the valid ones. */
PetscErrorCode GFModelSetType(GFModel m, const char type[])
{
  PetscErrorCode (*create)(GFModel) = NULL;

  PetscFunctionBeginUser;
  PetscCall(GFRegistryFind(m->comm, GFModelList, "-model", "model", type, (PetscVoidFunction *)&create));
  if (m->ops->destroy) PetscCall(m->ops->destroy(m));
  PetscCall(PetscMemzero(m->ops, sizeof(struct _GFModelOps)));
  PetscCall(PetscStrncpy(m->type, type, sizeof(m->type)));
  PetscCall(create(m));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFModelGetType(GFModel m, const char **type)
{
  PetscFunctionBeginUser;
  *type = m->type;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* -model, then the model's own options, for the grid it will run on (its dimension and walls). */
PetscErrorCode GFModelSetFromOptions(GFModel m, GFGrid grid)
{
  char type[GF_NAME_LEN] = "fokker_planck";

  PetscFunctionBeginUser;
  m->grid = grid;
  if (m->type[0]) PetscCall(PetscStrncpy(type, m->type, sizeof(type)));
  PetscOptionsBegin(m->comm, NULL, "Model options", "GFModel");
  PetscCall(GFOptionsFList("-model", "Equation to solve", "GFModelSetType", GFModelList, type, type, sizeof(type), NULL));
  PetscCall(GFModelSetType(m, type));
  PetscCall(GFOptionsReal("-diffusion", "Diffusion coefficient sigma", "GFModelSetFromOptions", m->sigma, &m->sigma, NULL, GF_REAL_ANY));
  GFOptionsCheck(m->sigma >= 0 && PetscIsNormalReal(m->sigma + 1), m->comm, PETSC_ERR_USER_INPUT, "-diffusion %.6g: the diffusion coefficient must be a finite number >= 0", (double)m->sigma);
  if (m->ops->setfromoptions) PetscCall(GFOptionsEndOnError(PetscOptionsObject, m->ops->setfromoptions(m, PetscOptionsObject)));
  PetscOptionsEnd();
  PetscCall(GFPotentialSetFromOptions(m->potential, grid->dim));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFModelSetInitialData(GFModel m, const GFInitialData *init)
{
  PetscFunctionBeginUser;
  m->init = *init;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Bind the model to a grid: V at the cell centres, then the model's own set-up. */
PetscErrorCode GFModelSetUp(GFModel m, GFGrid grid)
{
  PetscFunctionBeginUser;
  m->grid           = grid;
  m->potential->dim = grid->dim;
  PetscCall(DMCreateGlobalVector(grid->da, &m->V));
  PetscCall(PetscObjectSetName((PetscObject)m->V, "potential"));
  PetscCall(GFPotentialEvaluateOnGrid(m->potential, grid, m->V));
  if (m->ops->setup) PetscCall(m->ops->setup(m));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Set from options (and, for the drift's properties, set up): what the model is. */
PETSC_INTERN PetscErrorCode GFModelGetTraits(GFModel m, GFModelTraits *t)
{
  PetscFunctionBeginUser;
  t->type               = m->type;
  t->potential          = m->potential->type;
  t->flux               = m->flux;
  t->sigma              = m->sigma;
  t->drift_dof          = m->drift_dof;
  t->drift_static       = m->drift_static;
  t->local_drift_static = m->local_drift_static;
  t->linear             = (PetscBool)(m->drift_static && m->flux == GF_FLUX_SCHARFETTER_GUMMEL);
  t->implicit_default   = m->implicit_default;
  t->can_concentrate    = m->can_concentrate;
  t->stein              = (PetscBool)(m->ops->stein != NULL);
  t->risk               = (PetscBool)(m->ops->risk != NULL);
  t->probes             = m->probes;
  t->convolutions       = m->convolutions;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The model's particle system (set up: the model decides it in its setup). */
PETSC_INTERN PetscErrorCode GFModelGetParticleDynamics(GFModel m, GFParticleDynamics *dynamics)
{
  PetscFunctionBeginUser;
  *dynamics           = m->dynamics;
  dynamics->potential = m->potential;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFModelGetFlux(GFModel m, GFFluxType *flux, PetscReal *sigma, PetscInt *dof)
{
  PetscFunctionBeginUser;
  if (flux) *flux = m->flux;
  if (sigma) *sigma = m->sigma;
  if (dof) *dof = m->drift_dof;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFModelIsDriftStatic(GFModel m, PetscBool *is_static)
{
  PetscFunctionBeginUser;
  *is_static = m->drift_static;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The drift field (all of it, or its local part) of the transport operator for the density rho (global, and ghosted in rho_local) at time t. */
PetscErrorCode GFModelComputeDrift(GFModel m, PetscReal t, Vec rho, Vec rho_local, Vec drift_local, GFDriftPart part)
{
  PetscFunctionBeginUser;
  PetscCall(m->ops->drift(m, t, rho, rho_local, drift_local, part));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* max rho U''(rho) over the grid: the diffusivity hidden in xi, for the explicit time-step bound (0 when none). */
PetscErrorCode GFModelGetMaxDiffusivity(GFModel m, Vec rho, PetscReal *diffusivity)
{
  PetscFunctionBeginUser;
  *diffusivity = 0;
  if (m->ops->diffusivity) PetscCall(m->ops->diffusivity(m, rho, diffusivity));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* d xi_i / d rho_i (local part) on the ghosted array, when the model has it (*has false otherwise); zero for static drifts. */
PetscErrorCode GFModelComputeDriftDerivative(GFModel m, Vec rho_local, Vec dxi_local, PetscBool *has)
{
  PetscFunctionBeginUser;
  *has = (PetscBool)(m->drift_static || m->ops->dxi);
  if (m->ops->dxi)
    PetscCall(m->ops->dxi(m, rho_local, dxi_local));
  else if (m->drift_static)
    PetscCall(VecSet(dxi_local, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A bound on the rate of the linearised nonlocal coupling (the velocity's response to the density), 0 when the model has none: explicit steps need dt times it of order 1. */
PetscErrorCode GFModelGetNonlocalRate(GFModel m, Vec rho, PetscReal *rate)
{
  PetscFunctionBeginUser;
  *rate = 0;
  if (m->ops->nonlocal_rate) PetscCall(m->ops->nonlocal_rate(m, rho, rate));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFModelComputeEnergy(GFModel m, Vec rho, PetscReal *energy)
{
  PetscFunctionBeginUser;
  PetscCall(m->ops->energy(m, rho, energy));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The kernel Stein discrepancy of the density, when the model defines one (*has false otherwise). */
PetscErrorCode GFModelComputeSteinDiscrepancy(GFModel m, Vec rho, PetscBool *has, PetscReal *ksd)
{
  PetscFunctionBeginUser;
  *has = (PetscBool)(m->ops->stein != NULL);
  if (m->ops->stein) PetscCall(m->ops->stein(m, rho, ksd));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The learning risk of the density and the network's output at the traits' probes, when the model trains a network (*has false otherwise). */
PetscErrorCode GFModelComputeRisk(GFModel m, Vec rho, PetscBool *has, PetscReal *risk, PetscReal probes[])
{
  PetscFunctionBeginUser;
  *has = (PetscBool)(m->ops->risk != NULL);
  if (m->ops->risk) PetscCall(m->ops->risk(m, rho, risk, probes));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFModelHasExact(GFModel m, PetscBool *has, const char **why_not)
{
  PetscFunctionBeginUser;
  *has = (PetscBool)(m->has_exact && m->ops->exact);
  if (why_not) *why_not = m->no_exact;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The name its exact solution goes by as initial data (-init barenblatt), or NULL. */
PetscErrorCode GFModelGetExactName(GFModel m, const char **name)
{
  PetscFunctionBeginUser;
  *name = m->exact_name;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Exact cell averages at time t, scaled to the initial mass. */
PetscErrorCode GFModelComputeExact(GFModel m, PetscReal t, Vec rho)
{
  PetscFunctionBeginUser;
  PetscCheck(m->has_exact && m->ops->exact, m->comm, PETSC_ERR_USER_INPUT, "model %s: %s", m->type, m->no_exact);
  PetscCall(m->ops->exact(m, t, rho));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFModelHasSteadyState(GFModel m, PetscBool *has)
{
  PetscFunctionBeginUser;
  *has = (PetscBool)(m->ops->steady != NULL);
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFModelComputeSteadyState(GFModel m, Vec rho)
{
  PetscFunctionBeginUser;
  PetscCheck(m->ops->steady, m->comm, PETSC_ERR_USER_INPUT, "-init gibbs: model %s has no known steady state", m->type);
  PetscCall(m->ops->steady(m, rho));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFModelView(GFModel m, PetscViewer viewer)
{
  PetscFunctionBeginUser;
  PetscCall(PetscViewerASCIIPrintf(viewer, "model %s, potential %s, diffusion %.6g\n", m->type, m->potential->type, (double)m->sigma));
  if (m->ops->view) PetscCall(m->ops->view(m, viewer));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFModelDestroy(GFModel *model)
{
  GFModel m = *model;

  PetscFunctionBeginUser;
  if (!m) PetscFunctionReturn(PETSC_SUCCESS);
  if (m->ops->destroy) PetscCall(m->ops->destroy(m));
  PetscCall(VecDestroy(&m->V));
  PetscCall(GFPotentialDestroy(&m->potential));
  PetscCall(PetscFree(m));
  *model = NULL;
  PetscFunctionReturn(PETSC_SUCCESS);
}
