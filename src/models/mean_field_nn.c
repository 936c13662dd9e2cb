/*
  mean_field_nn: training a two-layer network in the mean-field scaling, as the Wasserstein
  gradient flow of its regularised risk over the density rho of neurons theta in R^D
  (Mei-Montanari-Nguyen 2018, Chizat-Bach 2018, Rotskoff-Vanden-Eijnden 2018):

      F(rho)  = R(rho) + sigma int rho log rho + int (lambda |theta|^2/2 + V_ext) rho,
      R(rho)  = 1/2 E (y - f(x))^2,   f(x) = int phi(x; theta) rho(dtheta),
      d_t rho = div(rho grad xi),     xi = dR/drho + sigma log rho + lambda |theta|^2/2 + V_ext,
      dR/drho(theta) = V(theta) + int W(theta, theta') rho(dtheta') = E[(f(x) - y) phi(x; theta)],

  V = -E[y phi], W = E[phi phi'] (not translation invariant: no convolution). The neurons,
  data and passes are in mean_field_nn_data.c (GFNeuralNet). The transport is the shared
  operator with psi = dR/drho + lambda |theta|^2/2 + V_ext: the Scharfetter-Gummel flux for
  sigma > 0, upwind xi = psi for sigma = 0, as mckean_vlasov. The local part of the drift (for
  IMEX splittings) is the static lambda |theta|^2/2 + V_ext; dR/drho is recomputed only when
  the density changes. The quadrature: rho's cells are point masses h^D rho_i at the centres.

  Exact solution: linear neurons phi = theta . x, Gaussian inputs, y = beta . x (population),
  no external potential. Every neuron moves with u = beta - m - lambda theta, m = int theta rho,
  so from Gaussian data with mass M the density stays Gaussian: the mean mu = m / M solves
  mu' = beta - (M + lambda) mu and the fluctuations theta - mu an Ornstein-Uhlenbeck process of
  stiffness lambda: per axis mean beta/(M + lambda) + (mu0 - beta/(M + lambda)) e^{-(M + lambda) t},
  variance v0 e^{-2 lambda t} + 2 sigma t phi(-2 lambda t) (v0 + 2 sigma t at lambda = 0).
*/
#include "mean_field_nn.h"

typedef struct {
  GFNeuralNet net;
  PetscReal  *centres; /* the owned cells' centres, in the global vector's order */
  PetscInt    nowned;
  Vec         psi, psi_input; /* dR/drho + lambda |theta|^2/2 + V_ext at the centres, and the density it is for */
  PetscBool   psi_valid;
  PetscReal   risk; /* R of psi_input */
} GFModel_MeanFieldNN;

static PetscErrorCode GFModelSetFromOptions_MeanFieldNN(GFModel m, PetscOptionItems *PetscOptionsObject)
{
  GFModel_MeanFieldNN *nn = (GFModel_MeanFieldNN *)m->data;

  PetscFunctionBeginUser;
  PetscCall(GFNeuralNetSetFromOptions(nn->net, PetscOptionsObject, m->grid->dim));
  m->probes             = nn->net->nprobes;
  m->flux               = m->sigma > 0 ? GF_FLUX_SCHARFETTER_GUMMEL : GF_FLUX_UPWIND_POTENTIAL;
  m->drift_static       = PETSC_FALSE;
  m->local_drift_static = PETSC_TRUE;
  m->exponent           = 0; /* a W2 gradient flow, but of an energy whose interaction is no convolution: no JKO step (no_jko) */
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The network of rho (one pass over the cells and the data, one Allreduce), its risk and psi, reused while rho is unchanged. */
static PetscErrorCode GFModelUpdate_MeanFieldNN(GFModel m, Vec rho)
{
  GFModel_MeanFieldNN *nn   = (GFModel_MeanFieldNN *)m->data;
  PetscBool            same = PETSC_FALSE;
  const PetscScalar   *r;
  PetscScalar         *psi;

  PetscFunctionBeginUser;
  if (nn->psi_valid) PetscCall(VecEqual(rho, nn->psi_input, &same));
  if (same) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(VecGetArrayRead(rho, &r));
  PetscCall(GFNeuralNetSetMeasure(nn->net, m->comm, nn->nowned, nn->centres, (const PetscReal *)r, m->grid->cell_volume, &nn->risk));
  PetscCall(VecRestoreArrayRead(rho, &r));
  PetscCall(VecGetArray(nn->psi, &psi));
  PetscCall(GFNeuralNetFirstVariation(nn->net, nn->nowned, nn->centres, (PetscReal *)psi, NULL));
  PetscCall(VecRestoreArray(nn->psi, &psi));
  PetscCall(VecAXPY(nn->psi, 1, m->V));
  PetscCall(VecCopy(rho, nn->psi_input));
  nn->psi_valid = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* psi = dR/drho + lambda |theta|^2/2 + V_ext (all), or its static part lambda |theta|^2/2 + V_ext (local). */
static PetscErrorCode GFModelDrift_MeanFieldNN(GFModel m, PetscReal t, Vec rho, Vec rho_local, Vec drift_local, GFDriftPart part)
{
  GFModel_MeanFieldNN *nn = (GFModel_MeanFieldNN *)m->data;

  PetscFunctionBeginUser;
  (void)t;
  (void)rho_local;
  if (part == GF_DRIFT_ALL) {
    PetscCall(GFModelUpdate_MeanFieldNN(m, rho));
    PetscCall(DMGlobalToLocal(m->grid->da, nn->psi, INSERT_VALUES, drift_local));
  } else {
    PetscCall(DMGlobalToLocal(m->grid->da, m->V, INSERT_VALUES, drift_local));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The local part of xi does not depend on rho. */
static PetscErrorCode GFModelDriftDerivative_MeanFieldNN(GFModel m, Vec rho_local, Vec dxi_local)
{
  PetscFunctionBeginUser;
  (void)m;
  (void)rho_local;
  PetscCall(VecSet(dxi_local, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* F = R(rho) + h^D sum_i (sigma rho_i log rho_i + (lambda |theta_i|^2/2 + V_ext,i) rho_i). */
static PetscErrorCode GFModelEnergy_MeanFieldNN(GFModel m, Vec rho, PetscReal *energy)
{
  GFModel_MeanFieldNN *nn = (GFModel_MeanFieldNN *)m->data;

  PetscFunctionBeginUser;
  PetscCall(GFModelUpdate_MeanFieldNN(m, rho));
  PetscCall(GFFreeEnergy(m, 1, rho, NULL, energy));
  *energy += nn->risk;
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GFModelRisk_MeanFieldNN(GFModel m, Vec rho, PetscReal *risk, PetscReal probes[])
{
  GFModel_MeanFieldNN *nn = (GFModel_MeanFieldNN *)m->data;

  PetscFunctionBeginUser;
  PetscCall(GFModelUpdate_MeanFieldNN(m, rho));
  *risk = nn->risk;
  PetscCall(PetscArraycpy(probes, nn->net->probe_output, nn->net->nprobes));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Gaussian cell averages with the exact moments of the linear case (see the file's comment). */
static PetscErrorCode GFModelExact_MeanFieldNN(GFModel m, PetscReal t, Vec rho)
{
  GFModel_MeanFieldNN *nn = (GFModel_MeanFieldNN *)m->data;
  const PetscReal      t0 = m->init.type == GF_INIT_GAUSSIAN ? m->init.time : 0, rate = m->init.mass + nn->net->weight_decay;
  PetscReal            mean[3] = {0, 0, 0}, variance[3] = {1, 1, 1}, unused;

  PetscFunctionBeginUser;
  for (PetscInt a = 0; a < m->grid->dim; a++) {
    GFOrnsteinUhlenbeck(rate, nn->net->teacher[a] / rate, m->sigma, m->init.mean[a], m->init.variance[a], t - t0, &mean[a], &unused);
    GFOrnsteinUhlenbeck(nn->net->weight_decay, 0, m->sigma, 0, m->init.variance[a], t - t0, &unused, &variance[a]);
    PetscCheck(variance[a] > 0, m->comm, PETSC_ERR_ARG_OUTOFRANGE, "the exact solution has no positive variance on axis %c at t = %.6g", (int)('x' + a), (double)t);
  }
  PetscCall(GFGridGaussianCellAverages(m->grid, mean, variance, rho));
  PetscCall(VecScale(rho, m->init.mass));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The data, the cell centres, lambda |theta|^2/2 added to V, the particle system (the width-N network). */
static PetscErrorCode GFModelSetUp_MeanFieldNN(GFModel m)
{
  GFModel_MeanFieldNN *nn = (GFModel_MeanFieldNN *)m->data;
  const GFLocalBox    *b  = &m->grid->box;
  const PetscInt       d  = m->grid->dim;
  PetscBool            quadratic;
  PetscScalar         *V;
  PetscReal            stiffness[3];

  PetscFunctionBeginUser;
  m->flux = m->sigma > 0 ? GF_FLUX_SCHARFETTER_GUMMEL : GF_FLUX_UPWIND_POTENTIAL;
  PetscCall(GFNeuralNetSetUp(nn->net));
  nn->nowned = b->size[0] * b->size[1] * b->size[2];
  PetscCall(PetscMalloc1(nn->nowned * d, &nn->centres));
  PetscCall(VecGetArray(m->V, &V));
  GF_FOR_OWNED(b, i, j, k)
  {
    const PetscInt idx[3] = {i, j, k}, o = GFOwnedIndex(b, i, j, k);
    PetscReal      r2 = 0;
    GFGridCellCenter(m->grid, idx, nn->centres + o * d);
    for (PetscInt a = 0; a < d; a++) r2 += PetscSqr(nn->centres[o * d + a]);
    V[o] += 0.5 * nn->net->weight_decay * r2;
  }
  PetscCall(VecRestoreArray(m->V, &V));
  PetscCall(DMCreateGlobalVector(m->grid->da, &nn->psi));
  PetscCall(VecDuplicate(nn->psi, &nn->psi_input));
  m->dynamics = (GFParticleDynamics){GF_DYNAMICS_NEURAL, NULL, m->sigma, m->potential, NULL, 0, NULL, GF_PARTICLE_COUPLING_NONE, NULL, 0, nn->net};
  PetscCall(GFPotentialIsQuadratic(m->potential, &quadratic, stiffness, NULL));
  quadratic    = (PetscBool)(quadratic && !strcmp(m->potential->type, "none"));
  m->has_exact = (PetscBool)(nn->net->population && quadratic && (m->init.type == GF_INIT_GAUSSIAN || m->init.type == GF_INIT_EXACT || m->init.type == GF_INIT_FILE));
  m->no_exact  = "the exact solution needs linear neurons with the population expectation (-nn_neuron linear -nn_data gaussian -nn_samples 0), -potential none and Gaussian data";
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GFModelView_MeanFieldNN(GFModel m, PetscViewer viewer)
{
  GFModel_MeanFieldNN *nn = (GFModel_MeanFieldNN *)m->data;

  PetscFunctionBeginUser;
  PetscCall(GFNeuralNetView(nn->net, viewer));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GFModelDestroy_MeanFieldNN(GFModel m)
{
  GFModel_MeanFieldNN *nn = (GFModel_MeanFieldNN *)m->data;

  PetscFunctionBeginUser;
  PetscCall(GFNeuralNetDestroy(&nn->net));
  PetscCall(PetscFree(nn->centres));
  PetscCall(VecDestroy(&nn->psi));
  PetscCall(VecDestroy(&nn->psi_input));
  PetscCall(PetscFree(m->data));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFModelCreate_MeanFieldNN(GFModel m)
{
  GFModel_MeanFieldNN *nn;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&nn));
  m->data = nn;
  PetscCall(GFNeuralNetCreate(m->comm, &nn->net));
  m->ops->setfromoptions = GFModelSetFromOptions_MeanFieldNN;
  m->ops->setup          = GFModelSetUp_MeanFieldNN;
  m->ops->drift          = GFModelDrift_MeanFieldNN;
  m->ops->dxi            = GFModelDriftDerivative_MeanFieldNN;
  m->ops->energy         = GFModelEnergy_MeanFieldNN;
  m->no_jko              = "its interaction W(theta, theta') is not translation invariant (not a convolution), which the JKO methods' energy needs";
  m->ops->risk           = GFModelRisk_MeanFieldNN;
  m->ops->exact          = GFModelExact_MeanFieldNN;
  m->ops->view           = GFModelView_MeanFieldNN;
  m->ops->destroy        = GFModelDestroy_MeanFieldNN;
  PetscFunctionReturn(PETSC_SUCCESS);
}
