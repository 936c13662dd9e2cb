/*
  The particles' velocity, dx/dt without the noise, from what the model exposes of its
  particle system (GFParticleDynamics: V, W or K, the noise, the coupling). Each particle
  has mass w = M / N.

  Langevin (fokker_planck, mckean_vlasov): v_i = -grad V(x_i) - w sum_j grad W(x_i - x_j)
  over all j (grad W(0) = 0: the self term adds nothing), displacements by the minimum image
  on periodic boxes. Three ways to the sum: W = b |x|^2/2 exactly by moments,
  w sum_j b (x_i - x_j) = b (M x_i - w sum_j x_j), M = w n; other kernels by direct pair sums
  over the gathered positions (this rank's particles against all: the pairs spread over the
  ranks), or by particle-mesh: deposit on the grid, W * rho_h by FFT, its gradient
  interpolated back.

  Stein (svgd): dx_i/dt = -v(x_i), v(x) = w sum_j [(grad K)(x - x_j) + K(x - x_j) grad V(x_j)]
  over all j, the self term included as in SVGD (Liu and Wang 2016), by direct sums over the
  gathered positions and gradients. The bilinear kernel 1 + x.y takes moments instead:
  v(x) = A + (B - M I) x, A = w sum_j grad V(x_j), B = w sum_j grad V(x_j) x_j^T; for
  quadratic V the empirical mean and covariance then follow the Gaussian moment ODE of the
  PDE exactly, whatever n.

  Neural (mean_field_nn): the particles are the neurons of a network of width N trained by
  gradient descent in the mean-field scaling, f(x) = w sum_j phi(x; theta_j), and
  v_i = -grad(dR/drho)(theta_i) - lambda theta_i - grad V(theta_i): one pass over the data for
  the outputs (one Allreduce of M numbers), one for each particle's gradient (GFNeuralNet).

  Sums run in global order, so direct results do not depend on the number of ranks.
*/
#include "particles.h"
#include "../models/mean_field_nn.h"

/* v = -grad V(x) for this rank's particles x. */
static void PotentialDrift(GFParticles p, const PetscReal x[], PetscReal v[])
{
  const PetscInt d = p->dim;

  for (PetscInt i = 0; i < p->nlocal; i++) {
    (void)GFPotentialValue(p->dynamics.potential, x + d * i, v + d * i);
    for (PetscInt a = 0; a < d; a++) v[d * i + a] = -v[d * i + a];
  }
}

static PetscErrorCode LangevinVelocity(GFParticles p, const PetscReal x[], PetscReal v[])
{
  const GFParticleDynamics *dy = &p->dynamics;
  const PetscInt            d  = p->dim;

  PetscFunctionBeginUser;
  PotentialDrift(p, x, v);
  if (dy->coupling == GF_PARTICLE_COUPLING_NONE) PetscFunctionReturn(PETSC_SUCCESS);
  if (p->interaction == GF_PARTICLE_INTERACTION_MESH) {
    PetscCall(PetscLogEventBegin(GF_EVENT_PARTICLES_DEPOSIT, 0, 0, 0, 0));
    PetscCall(GFParticlesMeshDeposit(p, x, p->mesh_density));
    PetscCall(PetscLogEventEnd(GF_EVENT_PARTICLES_DEPOSIT, 0, 0, 0, 0));
    PetscCall(PetscLogEventBegin(GF_EVENT_PARTICLES_CONVOLVE, 0, 0, 0, 0));
    PetscCall(GFConvolutionApply(dy->convolution, dy->convolution_kernel, p->mesh_density, p->mesh_field));
    PetscCall(PetscLogEventEnd(GF_EVENT_PARTICLES_CONVOLVE, 0, 0, 0, 0));
    PetscCall(PetscLogEventBegin(GF_EVENT_PARTICLES_GRADIENT, 0, 0, 0, 0));
    PetscCall(GFParticlesMeshAddGradient(p, p->mesh_field, -1, x, v));
    PetscCall(PetscLogEventEnd(GF_EVENT_PARTICLES_GRADIENT, 0, 0, 0, 0));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(GFParticlesGather(p, x, p->all));
  if (dy->coupling == GF_PARTICLE_COUPLING_MOMENTS) {
    PetscReal sum[3] = {0, 0, 0};
    for (PetscInt j = 0; j < p->n; j++)
      for (PetscInt a = 0; a < d; a++) sum[a] += p->all[d * j + a];
    for (PetscInt i = 0; i < p->nlocal; i++)
      for (PetscInt a = 0; a < d; a++) v[d * i + a] -= dy->strength * p->weight * (p->n * x[d * i + a] - sum[a]);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  for (PetscInt i = 0; i < p->nlocal; i++) {
    PetscReal sum[3] = {0, 0, 0};
    GFInteractionAddPairGradients(dy->interaction, p->grid, x + d * i, p->n, p->all, sum);
    for (PetscInt a = 0; a < d; a++) v[d * i + a] -= p->weight * sum[a];
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode SteinVelocity(GFParticles p, const PetscReal x[], PetscReal v[])
{
  const GFParticleDynamics *dy = &p->dynamics;
  const PetscInt            d  = p->dim;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < p->nlocal; i++) (void)GFPotentialValue(dy->potential, x + d * i, v + d * i);
  PetscCall(GFParticlesGather(p, x, p->all));
  PetscCall(GFParticlesGather(p, v, p->all_extra));
  if (dy->coupling == GF_PARTICLE_COUPLING_MOMENTS) {
    PetscReal A[3] = {0, 0, 0}, B[3][3] = {{0}}, M = p->weight * p->n;
    for (PetscInt j = 0; j < p->n; j++)
      for (PetscInt a = 0; a < d; a++) {
        A[a] += p->weight * p->all_extra[d * j + a];
        for (PetscInt b = 0; b < d; b++) B[a][b] += p->weight * p->all_extra[d * j + a] * p->all[d * j + b];
      }
    for (PetscInt i = 0; i < p->nlocal; i++)
      for (PetscInt a = 0; a < d; a++) {
        PetscReal va = A[a] - M * x[d * i + a];
        for (PetscInt b = 0; b < d; b++) va += B[a][b] * x[d * i + b];
        v[d * i + a] = -va;
      }
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  for (PetscInt i = 0; i < p->nlocal; i++) {
    PetscReal sum[3] = {0, 0, 0};
    for (PetscInt j = 0; j < p->n; j++) {
      PetscReal diff[3], gradK[3], K;
      GFGridDisplacement(p->grid, x + d * i, p->all + d * j, diff);
      K = GFKernelValue(dy->kernel, d, diff, gradK, NULL);
      for (PetscInt a = 0; a < d; a++) sum[a] += gradK[a] + K * p->all_extra[d * j + a];
    }
    for (PetscInt a = 0; a < d; a++) v[d * i + a] = -p->weight * sum[a];
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode NeuralVelocity(GFParticles p, const PetscReal x[], PetscReal v[])
{
  GFNeuralNet    net = p->dynamics.net;
  const PetscInt d   = p->dim;

  PetscFunctionBeginUser;
  PetscCall(GFNeuralNetSetMeasure(net, p->comm, p->nlocal, x, NULL, p->weight, NULL));
  PetscCall(GFNeuralNetFirstVariation(net, p->nlocal, x, NULL, v));
  for (PetscInt i = 0; i < p->nlocal; i++) {
    PetscReal gradV[3];
    (void)GFPotentialValue(p->dynamics.potential, x + d * i, gradV);
    for (PetscInt a = 0; a < d; a++) v[d * i + a] = -(v[d * i + a] + net->weight_decay * x[d * i + a] + gradV[a]);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The risk of the network whose neurons are this rank's particles x (nlocal x dim), of mass weight each. Collective. */
PETSC_INTERN PetscErrorCode GFParticlesComputeRisk(GFParticles p, const PetscReal x[], PetscReal *risk)
{
  PetscFunctionBeginUser;
  PetscCheck(p->dynamics.type == GF_DYNAMICS_NEURAL, p->comm, PETSC_ERR_ARG_WRONG, "the particle system trains no network: only -model mean_field_nn has a risk");
  PetscCall(GFNeuralNetSetMeasure(p->dynamics.net, p->comm, p->nlocal, x, NULL, p->weight, risk));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The risk of the density q (all of it on this rank) of mass M = n w, its cells point masses at their centres: the PDE's quadrature. Not collective. */
static PetscErrorCode GFParticlesComputeDensityRisk(GFParticles p, const GFCompareDensity *q, PetscReal *risk)
{
  PetscReal *centres;

  PetscFunctionBeginUser;
  PetscCheck(p->dynamics.type == GF_DYNAMICS_NEURAL && q->dim == p->dim, p->comm, PETSC_ERR_ARG_WRONG, "the risk of a density needs -model mean_field_nn on the density's grid");
  PetscCall(PetscMalloc1(q->ncells * q->dim, &centres));
  for (PetscInt c = 0; c < q->ncells; c++) {
    const PetscInt idx[3] = {c % q->cells[0], (c / q->cells[0]) % q->cells[1], c / (q->cells[0] * q->cells[1])};
    for (PetscInt a = 0; a < q->dim; a++) centres[c * q->dim + a] = q->lower[a] + (idx[a] + 0.5) * q->h[a];
  }
  PetscCall(GFNeuralNetSetMeasure(p->dynamics.net, PETSC_COMM_SELF, q->ncells, centres, q->p, p->weight * p->n, risk));
  PetscCall(PetscFree(centres));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The network of the particles x against the density q's (its cells point masses at their
  centres): the risk gap R(f_N) - R(f_q) and the output gap 1/2 E (f_N(x) - f_q(x))^2, E the
  risk's expectation (the M-point sample, or for linear neurons with Gaussian inputs the
  population: 1/2 |m_N - m_q|^2). Since
      R(f_N) - R(f_q) = E[(f_q - y)(f_N - f_q)] + 1/2 E (f_N - f_q)^2,
  the output gap is the risk gap without its first-order term, which is linear in the
  particles' deviation from q: of order N^(-1/2) in every replica and of zero mean at leading
  order. So the mean risk gap is O(1/N) but measured through O(N^(-1/2)) noise, while the output
  gap is O(1/N) with O(1/N) noise. Collective.
*/
PETSC_INTERN PetscErrorCode GFParticlesComputeRiskGaps(GFParticles p, const PetscReal x[], const GFCompareDensity *q, PetscReal *risk_gap, PetscReal *output_gap)
{
  GFNeuralNet    net = p->dynamics.net;
  const PetscInt n   = net->population ? 3 : net->samples;
  PetscReal      limit_risk, network_risk, *limit, sum = 0;

  PetscFunctionBeginUser;
  PetscCall(GFParticlesComputeDensityRisk(p, q, &limit_risk));
  PetscCall(PetscMalloc1(n, &limit));
  PetscCall(PetscArraycpy(limit, net->population ? net->moment : net->output, n));
  PetscCall(GFParticlesComputeRisk(p, x, &network_risk));
  for (PetscInt m = 0; m < n; m++) sum += PetscSqr((net->population ? net->moment[m] : net->output[m]) - limit[m]);
  PetscCall(PetscFree(limit));
  *risk_gap   = network_risk - limit_risk;
  *output_gap = net->population ? sum / 2 : sum / (2 * n);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* v (nlocal x dim): the velocity of this rank's particles x (nlocal x dim). Collective. */
PetscErrorCode GFParticlesComputeVelocity(GFParticles p, const PetscReal x[], PetscReal v[])
{
  PetscFunctionBeginUser;
  if (p->dynamics.type == GF_DYNAMICS_STEIN)
    PetscCall(SteinVelocity(p, x, v));
  else if (p->dynamics.type == GF_DYNAMICS_NEURAL)
    PetscCall(NeuralVelocity(p, x, v));
  else
    PetscCall(LangevinVelocity(p, x, v));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The model's particle system (its model set up), refused when it has none, and how the
  interactions are summed: -particles_interaction auto takes particle-mesh for pair sums of
  W above -particles_mesh_above particles.
*/
PETSC_INTERN PetscErrorCode GFParticlesSetUpDynamics(GFParticles p, GFModel model)
{
  GFParticleDynamics *dy = &p->dynamics;
  const char         *type;

  PetscFunctionBeginUser;
  PetscCall(GFModelGetType(model, &type));
  PetscCall(GFModelGetParticleDynamics(model, dy));
  PetscCheck(dy->type != GF_DYNAMICS_NONE || dy->unavailable, p->comm, PETSC_ERR_USER_INPUT,
             "-model %s has no particle system in gradflow particles (nonlinear diffusion has no Langevin particles); valid are fokker_planck, mckean_vlasov, svgd, mean_field_nn", type);
  PetscCheck(dy->type != GF_DYNAMICS_NONE, p->comm, PETSC_ERR_USER_INPUT, "-model %s: %s", type, dy->unavailable);
  if (p->interaction == GF_PARTICLE_INTERACTION_AUTO) p->interaction = dy->convolution && dy->coupling == GF_PARTICLE_COUPLING_PAIRS && p->n > p->mesh_above ? GF_PARTICLE_INTERACTION_MESH : GF_PARTICLE_INTERACTION_DIRECT;
  PetscCheck(p->interaction != GF_PARTICLE_INTERACTION_MESH || dy->convolution, p->comm, PETSC_ERR_USER_INPUT, "-particles_interaction mesh: model %s has no interaction kernel W to take by particle-mesh (mckean_vlasov with -interaction has)", type);
  p->sigma  = dy->sigma;
  p->scheme = p->sigma > 0 ? GF_PARTICLE_SCHEME_EULER_MARUYAMA : GF_PARTICLE_SCHEME_HEUN;
  PetscFunctionReturn(PETSC_SUCCESS);
}
