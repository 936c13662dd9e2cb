/*
  porous_medium: nonlinear (degenerate) diffusion with an optional potential,

      d_t rho = sigma Laplace(rho^m) + div(rho grad V),   m > 1,
      F(rho)  = int sigma rho^m / (m - 1) + V rho,
      xi      = dF/drho = sigma m/(m-1) rho^(m-1) + V   (no singularity at rho = 0),

  transported by the upwind flux with u = -grad xi. Compactly supported solutions
  have a free boundary moving at finite speed.

  Exact solution for V = 0 (Barenblatt), in d dimensions, with tau = sigma t:
      rho = tau^-alpha (C - k |x - c|^2 tau^(-2 beta))_+^(1/(m-1)),
      alpha = d/(d(m-1)+2), beta = alpha/d, k = alpha (m-1)/(2 m d),
  C from the mass M: M = C^(p + d/2) k^(-d/2) pi^(d/2) Gamma(p+1)/Gamma(p+1+d/2), p = 1/(m-1).

  Steady states for any V: xi constant on the support,
      rho = ((m-1)/(sigma m) (C - V))_+^(1/(m-1)),
  with C fixed by the mass; at cell centres this is an exact steady state of the
  upwind scheme (no flux where xi is level, none out of an empty cell).
*/
#include "models.h"

typedef struct {
  PetscReal m;                      /* diffusion exponent */
  PetscReal alpha, beta, k, C;      /* Barenblatt profile */
  PetscReal center[3];              /* Barenblatt centre: -init_mean */
  PetscReal tau, radius, amplitude; /* current evaluation: tau = sigma t, front radius, tau^-alpha */
} GFModel_PorousMedium;

static PetscErrorCode GFModelSetFromOptions_PorousMedium(GFModel m, PetscOptionItems *PetscOptionsObject)
{
  GFModel_PorousMedium *pm = (GFModel_PorousMedium *)m->data;

  PetscFunctionBeginUser;
  PetscOptionsHeadBegin(PetscOptionsObject, "Porous medium");
  PetscCall(GFOptionsReal("-diffusion_exponent", "Exponent m > 1 of d_t rho = sigma Laplace(rho^m)", "GFModelSetFromOptions", pm->m, &pm->m, NULL, GF_REAL_ANY));
  PetscOptionsHeadEnd();
  PetscCheck(pm->m > 1 && PetscIsNormalReal(pm->m), m->comm, PETSC_ERR_USER_INPUT, "-diffusion_exponent %.6g: the porous medium needs m > 1 (m = 1 is linear diffusion: -model fokker_planck)", (double)pm->m);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* xi = sigma m/(m-1) max(rho, 0)^(m-1) + V on the whole ghosted array. */
static PetscErrorCode GFModelDrift_PorousMedium(GFModel m, PetscReal t, Vec rho, Vec rho_local, Vec drift_local, GFDriftPart part)
{
  GFModel_PorousMedium *pm = (GFModel_PorousMedium *)m->data;

  PetscFunctionBeginUser;
  (void)t;
  (void)rho;
  (void)part;
  PetscCall(DMGlobalToLocal(m->grid->da, m->V, INSERT_VALUES, drift_local));
  PetscCall(GFAddInternalPotential(m->sigma, pm->m, rho_local, drift_local));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GFModelDriftDerivative_PorousMedium(GFModel m, Vec rho_local, Vec dxi_local)
{
  PetscFunctionBeginUser;
  PetscCall(GFInternalPotentialDerivative(m->sigma, ((GFModel_PorousMedium *)m->data)->m, rho_local, dxi_local));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GFModelDiffusivity_PorousMedium(GFModel m, Vec rho, PetscReal *diffusivity)
{
  PetscFunctionBeginUser;
  PetscCall(GFMaxInternalDiffusivity(m->sigma, ((GFModel_PorousMedium *)m->data)->m, rho, diffusivity));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* F = h^d sum_i (sigma rho_i^m/(m-1) + V_i rho_i). */
static PetscErrorCode GFModelEnergy_PorousMedium(GFModel m, Vec rho, PetscReal *energy)
{
  PetscFunctionBeginUser;
  PetscCall(GFFreeEnergy(m, ((GFModel_PorousMedium *)m->data)->m, rho, NULL, energy));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The Barenblatt profile at x for the current tau. */
static PetscReal BarenblattValue(PetscInt dim, const PetscReal x[], void *ctx)
{
  GFModel_PorousMedium *pm = (GFModel_PorousMedium *)ctx;
  PetscReal             r2 = 0, q;

  for (PetscInt a = 0; a < dim; a++) r2 += (x[a] - pm->center[a]) * (x[a] - pm->center[a]);
  q = pm->C - pm->k * r2 * PetscPowReal(pm->tau, -2 * pm->beta);
  if (q <= 0) return 0;
  return pm->amplitude * (pm->m == 2 ? q : PetscPowReal(q, 1 / (pm->m - 1)));
}

/* Empty outside the front sphere, smooth inside it, cut when the box straddles it. */
static GFBoxKind BarenblattClassify(PetscInt dim, const PetscReal lower[], const PetscReal upper[], void *ctx)
{
  GFModel_PorousMedium *pm   = (GFModel_PorousMedium *)ctx;
  PetscReal             near = 0, far = 0;

  for (PetscInt a = 0; a < dim; a++) {
    const PetscReal dl = lower[a] - pm->center[a], du = upper[a] - pm->center[a];
    const PetscReal dn = dl > 0 ? dl : (du < 0 ? -du : 0), df = PetscMax(PetscAbsReal(dl), PetscAbsReal(du));
    near += dn * dn;
    far += df * df;
  }
  if (near >= pm->radius * pm->radius) return GF_BOX_ZERO;
  if (far <= pm->radius * pm->radius) return GF_BOX_SMOOTH;
  return GF_BOX_CUT;
}

/* Exact Barenblatt cell averages at time t (bisection of cut cells down to a fraction of a cell). */
static PetscErrorCode GFModelExact_PorousMedium(GFModel m, PetscReal t, Vec rho)
{
  GFModel_PorousMedium *pm      = (GFModel_PorousMedium *)m->data;
  const PetscInt        depth[] = {0, 24, 6, 3};

  PetscFunctionBeginUser;
  pm->tau = m->sigma * t;
  PetscCheck(pm->tau > 0, m->comm, PETSC_ERR_USER_INPUT, "the Barenblatt solution exists for t > 0 only, got t = %.6g (use -init_time > 0)", (double)t);
  pm->amplitude = PetscPowReal(pm->tau, -pm->alpha);
  pm->radius    = PetscSqrtReal(pm->C / pm->k) * PetscPowReal(pm->tau, pm->beta);
  PetscCall(GFGridCellAveragesAdaptive(m->grid, BarenblattValue, BarenblattClassify, pm, depth[m->grid->dim], rho));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Mass of the discrete steady state with level C: h^d sum_i ((m-1)/(sigma m) (C - V_i))_+^(1/(m-1)). */
static PetscErrorCode SteadyMass(GFModel m, PetscReal C, Vec rho, PetscReal *mass)
{
  GFModel_PorousMedium *pm = (GFModel_PorousMedium *)m->data;
  const PetscScalar    *V;
  PetscScalar          *r;
  PetscInt              n;

  PetscFunctionBeginUser;
  PetscCall(VecGetLocalSize(rho, &n));
  PetscCall(VecGetArrayRead(m->V, &V));
  PetscCall(VecGetArray(rho, &r));
  for (PetscInt i = 0; i < n; i++) {
    const PetscReal q = (pm->m - 1) / (m->sigma * pm->m) * (C - PetscRealPart(V[i]));
    r[i]              = q > 0 ? PetscPowReal(q, 1 / (pm->m - 1)) : 0;
  }
  PetscCall(VecRestoreArray(rho, &r));
  PetscCall(VecRestoreArrayRead(m->V, &V));
  PetscCall(GFGridIntegrate(m->grid, rho, mass));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The discrete steady state of mass init.mass: bisection on the level C to round-off. */
static PetscErrorCode GFModelSteady_PorousMedium(GFModel m, Vec rho)
{
  PetscReal lo, hi, mass;

  PetscFunctionBeginUser;
  PetscCheck(m->sigma > 0, m->comm, PETSC_ERR_USER_INPUT, "-init gibbs: the porous medium's steady state needs -diffusion > 0");
  PetscCall(VecMin(m->V, NULL, &lo));
  hi = lo + 1;
  while (PETSC_TRUE) {
    PetscCall(SteadyMass(m, hi, rho, &mass));
    if (mass >= m->init.mass) break;
    hi = lo + 2 * (hi - lo);
  }
  for (PetscInt it = 0; it < 200 && hi - lo > 4 * PETSC_MACHINE_EPSILON * PetscMax(1, PetscAbsReal(hi)); it++) {
    const PetscReal mid = 0.5 * (lo + hi);
    PetscCall(SteadyMass(m, mid, rho, &mass));
    if (mass < m->init.mass)
      lo = mid;
    else
      hi = mid;
  }
  PetscCall(SteadyMass(m, hi, rho, &mass));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GFModelSetUp_PorousMedium(GFModel m)
{
  GFModel_PorousMedium *pm = (GFModel_PorousMedium *)m->data;
  const PetscInt        d  = m->grid->dim;
  const PetscReal       p  = 1 / (pm->m - 1);
  PetscBool             none;

  PetscFunctionBeginUser;
  m->flux         = GF_FLUX_UPWIND_POTENTIAL;
  m->drift_static = PETSC_FALSE;
  m->exponent     = pm->m;
  pm->alpha       = d / (d * (pm->m - 1) + 2);
  pm->beta        = pm->alpha / d;
  pm->k           = pm->alpha * (pm->m - 1) / (2 * pm->m * d);
  pm->C           = PetscPowReal(m->init.mass * PetscPowReal(pm->k, 0.5 * d) * PetscExpReal(lgamma(p + 1 + 0.5 * d) - lgamma(p + 1)) / PetscPowReal(PETSC_PI, 0.5 * d), 1 / (p + 0.5 * d));
  for (PetscInt a = 0; a < d; a++) pm->center[a] = m->init.mean[a];
  PetscCall(PetscStrcmp(m->potential->type, "none", &none));
  m->has_exact = (PetscBool)(none && m->sigma > 0 && m->init.type != GF_INIT_GAUSSIAN && m->init.type != GF_INIT_UNIFORM && m->init.type != GF_INIT_GIBBS);
  m->no_exact  = none ? "the Barenblatt solution needs -diffusion > 0 and Barenblatt data (-init barenblatt or exact, with -init_time > 0)" : "the Barenblatt solution needs -potential none";
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GFModelView_PorousMedium(GFModel m, PetscViewer viewer)
{
  GFModel_PorousMedium *pm = (GFModel_PorousMedium *)m->data;

  PetscFunctionBeginUser;
  PetscCall(PetscViewerASCIIPrintf(viewer, "  diffusion exponent m = %.6g\n", (double)pm->m));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GFModelDestroy_PorousMedium(GFModel m)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(m->data));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFModelCreate_PorousMedium(GFModel m)
{
  GFModel_PorousMedium *pm;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&pm));
  pm->m                  = 2;
  m->data                = pm;
  m->implicit_default    = PETSC_TRUE;
  m->exact_name          = "barenblatt";
  m->ops->setfromoptions = GFModelSetFromOptions_PorousMedium;
  m->ops->setup          = GFModelSetUp_PorousMedium;
  m->ops->drift          = GFModelDrift_PorousMedium;
  m->ops->energy         = GFModelEnergy_PorousMedium;
  m->ops->exact          = GFModelExact_PorousMedium;
  m->ops->steady         = GFModelSteady_PorousMedium;
  m->ops->diffusivity    = GFModelDiffusivity_PorousMedium;
  m->ops->dxi            = GFModelDriftDerivative_PorousMedium;
  m->ops->view           = GFModelView_PorousMedium;
  m->ops->destroy        = GFModelDestroy_PorousMedium;
  PetscFunctionReturn(PETSC_SUCCESS);
}
