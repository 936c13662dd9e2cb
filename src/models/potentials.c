/*
  GFPotential: the registry of external potentials V(x), shared by every model and
  by the particle code. A potential is one function returning V(x) and, on request,
  grad V(x); its parameters come from -potential_stiffness a (per axis),
  -potential_center c (per axis) and -potential_params p1,p2,...

  Adding a potential: write a GFPotentialFn and register it, either in
  GFPotentialRegisterAll() below or from your own code before the solver reads its
  options:

      static PetscReal MyV(PetscInt dim, const PetscReal x[], const GFPotentialParams *p, PetscReal grad[]) { ... }
      PetscCall(GFPotentialRegister("my_potential", MyV));

  and run with -potential my_potential.
*/
#include "../gradflow_impl.h"

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
  PetscCall(PetscFunctionListFind(GFPotentialList, type, &p->value));
  if (!p->value) {
    char names[512];
    PetscCall(GFNameList(GFPotentialList, names, sizeof(names)));
    SETERRQ(p->comm, PETSC_ERR_USER_INPUT, "-potential %s: unknown potential; valid are %s", type, names);
  }
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
  PetscCall(PetscOptionsFList("-potential", "External potential V(x)", "GFPotentialSetType", GFPotentialList, type, type, sizeof(type), NULL));
  PetscCall(GFPotentialSetType(p, type));
  PetscCall(GFOptionsAxisReals("-potential_stiffness", "Per-axis stiffness a_k", dim, p->params.stiffness, NULL));
  PetscCall(GFOptionsAxisReals("-potential_center", "Per-axis centre c_k", dim, p->params.center, NULL));
  PetscCall(PetscOptionsRealArray("-potential_params", "Extra parameters of the potential", "GFPotentialSetParams", p->params.param, &nparam, &set));
  if (set) p->params.nparam = nparam;
  PetscOptionsEnd();
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
