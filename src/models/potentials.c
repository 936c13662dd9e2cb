/*
  GFPotential: the registry of external potentials V(x), shared by every model and
  by the particle code. A potential is one function returning V(x) and, on request,
  grad V(x); its parameters come from -potential_stiffness a (per axis),
  -potential_center c (per axis) and -potential_params p1,p2,...

    none, quadratic (sum a_k (x_k - c_k)^2/2), double_well, gaussian_mixture (-ln of two
    Gaussians at +-c), banana (Rosenbrock-type, 2D)

  Adding a potential: write a GFPotentialFn and register it, either in
  GFPotentialRegisterAll() below or from your own code before the solver reads its
  options:

      static PetscReal MyV(PetscInt dim, const PetscReal x[], const GFPotentialParams *p, PetscReal grad[]) { ... }
      PetscCall(GFPotentialRegister("my_potential", MyV));

  and run with -potential my_potential.
*/
#include "models.h"

static PetscFunctionList GFPotentialList       = NULL;
static PetscBool         GFPotentialRegistered = PETSC_FALSE;

/* V = 0. */
static PetscReal GFPotential_None(PetscInt dim, const PetscReal x[], const GFPotentialParams *p, PetscReal grad[])
{
  (void)x;
  (void)p;
  if (grad)
    for (PetscInt k = 0; k < dim; k++) grad[k] = 0;
  return 0;
}

/* V = sum_k a_k (x_k - c_k)^2 / 2. */
static PetscReal GFPotential_Quadratic(PetscInt dim, const PetscReal x[], const GFPotentialParams *p, PetscReal grad[])
{
  PetscReal v = 0;

  for (PetscInt k = 0; k < dim; k++) {
    const PetscReal y = x[k] - p->center[k];
    v += 0.5 * p->stiffness[k] * y * y;
    if (grad) grad[k] = p->stiffness[k] * y;
  }
  return v;
}

/* V = a_1 ((x_1 - c_1)^2 - 1)^2 / 4 + sum_{k>1} a_k (x_k - c_k)^2 / 2: wells at x_1 = c_1 +- 1, barrier a_1/4. */
static PetscReal GFPotential_DoubleWell(PetscInt dim, const PetscReal x[], const GFPotentialParams *p, PetscReal grad[])
{
  const PetscReal y = x[0] - p->center[0], w = y * y - 1;
  PetscReal       v = 0.25 * p->stiffness[0] * w * w;

  if (grad) grad[0] = p->stiffness[0] * w * y;
  for (PetscInt k = 1; k < dim; k++) {
    const PetscReal z = x[k] - p->center[k];
    v += 0.5 * p->stiffness[k] * z * z;
    if (grad) grad[k] = p->stiffness[k] * z;
  }
  return v;
}

/*
  Two-component Gaussian mixture, components N(+c, s^2 I) and N(-c, s^2 I) with weights w and 1 - w
  (-potential_center c, -potential_params s,w; default s = 0.5, w = 0.5):
  V = -ln(w N(x; c, s^2) + (1 - w) N(x; -c, s^2)), up to a constant; grad V = sum_k r_k (x - mu_k)/s^2.
*/
static PetscReal GFPotential_GaussianMixture(PetscInt dim, const PetscReal x[], const GFPotentialParams *p, PetscReal grad[])
{
  const PetscReal s = p->nparam > 0 ? p->param[0] : 0.5, w = p->nparam > 1 ? p->param[1] : 0.5;
  PetscReal       e[2] = {0, 0}, lo, r0;

  for (PetscInt k = 0; k < dim; k++) {
    const PetscReal a = x[k] - p->center[k], b = x[k] + p->center[k];
    e[0] += 0.5 * a * a / (s * s);
    e[1] += 0.5 * b * b / (s * s);
  }
  /* -ln(w e^-e0 + (1-w) e^-e1), shifted by the smaller exponent so nothing underflows */
  lo = PetscMin(e[0], e[1]);
  r0 = w * PetscExpReal(lo - e[0]) / (w * PetscExpReal(lo - e[0]) + (1 - w) * PetscExpReal(lo - e[1]));
  if (grad)
    for (PetscInt k = 0; k < dim; k++) grad[k] = (r0 * (x[k] - p->center[k]) + (1 - r0) * (x[k] + p->center[k])) / (s * s);
  return lo - PetscLogReal(w * PetscExpReal(lo - e[0]) + (1 - w) * PetscExpReal(lo - e[1]));
}

/*
  Banana (Rosenbrock-type) target: V = x_1^2/(2 a^2) + (x_2 - b (x_1^2 - a^2))^2/2 + sum_{k>2} x_k^2/2
  (-potential_params a,b; default a = 1, b = 1): a curved, non-Gaussian density in 2D.
*/
static PetscReal GFPotential_Banana(PetscInt dim, const PetscReal x[], const GFPotentialParams *p, PetscReal grad[])
{
  const PetscReal a = p->nparam > 0 ? p->param[0] : 1, b = p->nparam > 1 ? p->param[1] : 1;
  const PetscReal y = dim > 1 ? x[1] - b * (x[0] * x[0] - a * a) : 0;
  PetscReal       v = 0.5 * x[0] * x[0] / (a * a) + 0.5 * y * y;

  if (grad) {
    grad[0] = x[0] / (a * a) - 2 * b * x[0] * y;
    if (dim > 1) grad[1] = y;
  }
  for (PetscInt k = 2; k < dim; k++) {
    v += 0.5 * x[k] * x[k];
    if (grad) grad[k] = x[k];
  }
  return v;
}

PetscErrorCode GFPotentialRegister(const char name[], GFPotentialFn fn)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFunctionListAdd(&GFPotentialList, name, fn));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFPotentialRegisterAll(void)
{
  PetscFunctionBeginUser;
  if (GFPotentialRegistered) PetscFunctionReturn(PETSC_SUCCESS);
  GFPotentialRegistered = PETSC_TRUE;
  PetscCall(GFPotentialRegister("none", GFPotential_None));
  PetscCall(GFPotentialRegister("quadratic", GFPotential_Quadratic));
  PetscCall(GFPotentialRegister("double_well", GFPotential_DoubleWell));
  PetscCall(GFPotentialRegister("gaussian_mixture", GFPotential_GaussianMixture));
  PetscCall(GFPotentialRegister("banana", GFPotential_Banana));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFPotentialRegistryDestroy(void)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFunctionListDestroy(&GFPotentialList));
  GFPotentialRegistered = PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFPotentialListTypes(char buf[], size_t len)
{
  PetscFunctionBeginUser;
  PetscCall(GFPotentialRegisterAll());
  PetscCall(GFNameList(GFPotentialList, buf, len));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFPotentialCreate(MPI_Comm comm, GFPotential *potential)
{
  GFPotential p;

  PetscFunctionBeginUser;
  PetscCall(GFPotentialRegisterAll());
  PetscCall(PetscNew(&p));
  p->comm = comm;
  p->dim  = 1;
  for (PetscInt a = 0; a < GRADFLOW_MAX_DIM; a++) p->params.stiffness[a] = 1;
  PetscCall(GFPotentialSetType(p, "none"));
  *potential = p;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Select a registered potential by name; an unknown name lists the valid ones. */
PetscErrorCode GFPotentialSetType(GFPotential p, const char type[])
{
  PetscFunctionBeginUser;
  PetscCall(GFRegistryFind(p->comm, GFPotentialList, "-potential", "potential", type, (PetscVoidFunction *)&p->value));
  PetscCall(PetscStrncpy(p->type, type, sizeof(p->type)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFPotentialGetType(GFPotential p, const char **type)
{
  PetscFunctionBeginUser;
  *type = p->type;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFPotentialSetParams(GFPotential p, PetscInt dim, const GFPotentialParams *params)
{
  PetscFunctionBeginUser;
  p->dim    = dim;
  p->params = *params;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* -potential, -potential_stiffness, -potential_center, -potential_params for a problem of dimension dim. */
PetscErrorCode GFPotentialSetFromOptions(GFPotential p, PetscInt dim)
{
  char      type[GF_NAME_LEN];
  PetscInt  nparam = 8;
  PetscBool set;

  PetscFunctionBeginUser;
  p->dim = dim;
  PetscCall(PetscStrncpy(type, p->type, sizeof(type)));
  PetscOptionsBegin(p->comm, NULL, "External potential V", "GFPotential");
  PetscCall(GFOptionsFList("-potential", "External potential V(x)", "GFPotentialSetType", GFPotentialList, type, type, sizeof(type), NULL));
  PetscCall(GFPotentialSetType(p, type));
  PetscCall(GFOptionsAxisReals("-potential_stiffness", "Per-axis stiffness a_k", dim, p->params.stiffness, NULL));
  PetscCall(GFOptionsAxisReals("-potential_center", "Per-axis centre c_k", dim, p->params.center, NULL));
  PetscCall(GFOptionsRealArray("-potential_params", "Extra parameters of the potential", "GFPotentialSetParams", p->params.param, &nparam, &set, GF_REAL_ANY));
  if (set) p->params.nparam = nparam;
  PetscOptionsEnd();
  {
    /* the built-in potentials' parameter counts (a user's registered potential may take up to 8) */
    const PetscInt most = p->value == GFPotential_GaussianMixture || p->value == GFPotential_Banana ? 2 : (p->value == GFPotential_None || p->value == GFPotential_Quadratic || p->value == GFPotential_DoubleWell ? 0 : 8);
    PetscCheck(!set || nparam <= most, p->comm, PETSC_ERR_USER_INPUT, "-potential_params has %" PetscInt_FMT " values, but -potential %s takes %s%" PetscInt_FMT, nparam, p->type, most ? "at most " : "", most);
  }
  if (p->value == GFPotential_GaussianMixture) {
    PetscCheck(p->params.nparam < 1 || p->params.param[0] > 0, p->comm, PETSC_ERR_USER_INPUT, "-potential_params s = %.6g: the gaussian_mixture components need a positive width s", (double)p->params.param[0]);
    PetscCheck(p->params.nparam < 2 || (p->params.param[1] > 0 && p->params.param[1] < 1), p->comm, PETSC_ERR_USER_INPUT, "-potential_params w = %.6g: the gaussian_mixture weight must be in (0, 1)", (double)p->params.param[1]);
  }
  if (p->value == GFPotential_Banana) PetscCheck(p->params.nparam < 1 || p->params.param[0] > 0, p->comm, PETSC_ERR_USER_INPUT, "-potential_params a = %.6g: the banana needs a > 0", (double)p->params.param[0]);
  for (PetscInt a = 0; a < dim; a++)
    PetscCheck(PetscIsNormalReal(p->params.stiffness[a]) || p->params.stiffness[a] == 0, p->comm, PETSC_ERR_USER_INPUT, "-potential_stiffness %.6g on axis %c is not a finite number", (double)p->params.stiffness[a], (int)('x' + a));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* True (with stiffness and centre) when V = sum a_k (x_k - c_k)^2/2, including V = 0. */
PetscErrorCode GFPotentialIsQuadratic(GFPotential p, PetscBool *quadratic, PetscReal stiffness[], PetscReal center[])
{
  const PetscBool none = (PetscBool)(p->value == GFPotential_None);

  PetscFunctionBeginUser;
  *quadratic = (PetscBool)(none || p->value == GFPotential_Quadratic);
  for (PetscInt a = 0; a < p->dim; a++) {
    if (stiffness) stiffness[a] = none ? 0 : p->params.stiffness[a];
    if (center) center[a] = none ? 0 : p->params.center[a];
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* V(x), and grad V(x) into grad when not NULL. */
PetscReal GFPotentialValue(GFPotential p, const PetscReal x[], PetscReal grad[])
{
  return p->value(p->dim, x, &p->params, grad);
}

static PetscReal GFPotentialEvaluate_Private(PetscInt dim, const PetscReal x[], void *ctx)
{
  (void)dim;
  return GFPotentialValue((GFPotential)ctx, x, NULL);
}

/* V at the cell centres of the grid, into a global vector. */
PetscErrorCode GFPotentialEvaluateOnGrid(GFPotential p, GFGrid grid, Vec V)
{
  PetscFunctionBeginUser;
  PetscCall(GFGridEvaluate(grid, GFPotentialEvaluate_Private, p, V));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFPotentialDestroy(GFPotential *p)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(*p));
  PetscFunctionReturn(PETSC_SUCCESS);
}
