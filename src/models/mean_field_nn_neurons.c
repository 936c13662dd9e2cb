/*
  GFNeuron: the registry of neurons phi(x; theta) of the mean_field_nn model (-nn_neuron),
  each with its gradient in theta, shared by the grid solver and the width-N network.

    linear       phi = theta . x                     theta = w in R^D, x in R^D
    relu         phi = max(theta . x, 0)             theta = w in R^D, x in R^D (unit output weight)
    tanh         phi = tanh(theta . x)               theta = w in R^D, x in R^D (unit output weight)
    scaled_tanh  phi = a tanh(w x)                   theta = (a, w) in R^2, scalar x
    scaled_relu  phi = a max(w x, 0)                 theta = (a, w) in R^2, scalar x

  The scaled neurons carry the output weight as a coordinate: the classic two-dimensional
  picture of a mean-field network. They are linear in it (the flag `scaled`), so the points of
  one row of the neuron grid, which share w, share one pass over the data. ReLU's gradient at the kink is taken as 0 (the
  subgradient gradient descent uses). Adding a neuron: a GFNeuronFn, a static GFNeuron and
  its getter, and GFNeuronRegister("name", getter) before the model reads its options.
*/
#include "mean_field_nn.h"

static PetscFunctionList GFNeuronList       = NULL;
static PetscBool         GFNeuronRegistered = PETSC_FALSE;

static inline PetscReal Dot(PetscInt dim, const PetscReal a[], const PetscReal b[])
{
  PetscReal s = 0;
  for (PetscInt k = 0; k < dim; k++) s += a[k] * b[k];
  return s;
}

static PetscReal GFNeuron_Linear(PetscInt dim, const PetscReal theta[], const PetscReal x[], PetscReal grad[])
{
  if (grad)
    for (PetscInt k = 0; k < dim; k++) grad[k] = x[k];
  return Dot(dim, theta, x);
}

static PetscReal GFNeuron_ReLU(PetscInt dim, const PetscReal theta[], const PetscReal x[], PetscReal grad[])
{
  const PetscReal z = Dot(dim, theta, x);
  if (grad)
    for (PetscInt k = 0; k < dim; k++) grad[k] = z > 0 ? x[k] : 0;
  return z > 0 ? z : 0;
}

static PetscReal GFNeuron_Tanh(PetscInt dim, const PetscReal theta[], const PetscReal x[], PetscReal grad[])
{
  const PetscReal t = PetscTanhReal(Dot(dim, theta, x));
  if (grad)
    for (PetscInt k = 0; k < dim; k++) grad[k] = (1 - t * t) * x[k];
  return t;
}

/* theta = (a, w): a tanh(w x); gradient (tanh(w x), a (1 - tanh^2) x). */
static PetscReal GFNeuron_ScaledTanh(PetscInt dim, const PetscReal theta[], const PetscReal x[], PetscReal grad[])
{
  const PetscReal t = PetscTanhReal(theta[1] * x[0]);
  (void)dim;
  if (grad) {
    grad[0] = t;
    grad[1] = theta[0] * (1 - t * t) * x[0];
  }
  return theta[0] * t;
}

/* theta = (a, w): a max(w x, 0); gradient (max(w x, 0), a x [w x > 0]). */
static PetscReal GFNeuron_ScaledReLU(PetscInt dim, const PetscReal theta[], const PetscReal x[], PetscReal grad[])
{
  const PetscReal z = theta[1] * x[0];
  (void)dim;
  if (grad) {
    grad[0] = z > 0 ? z : 0;
    grad[1] = z > 0 ? theta[0] * x[0] : 0;
  }
  return z > 0 ? theta[0] * z : 0;
}

static const GFNeuron neuron_linear = {GFNeuron_Linear, 0, 0, PETSC_TRUE, PETSC_FALSE}, neuron_relu = {GFNeuron_ReLU, 0, 0, PETSC_FALSE, PETSC_FALSE}, neuron_tanh = {GFNeuron_Tanh, 0, 0, PETSC_FALSE, PETSC_FALSE};
static const GFNeuron neuron_scaled_tanh = {GFNeuron_ScaledTanh, 1, 2, PETSC_FALSE, PETSC_TRUE}, neuron_scaled_relu = {GFNeuron_ScaledReLU, 1, 2, PETSC_FALSE, PETSC_TRUE};

static const GFNeuron *GetLinear(void)
{
  return &neuron_linear;
}
static const GFNeuron *GetReLU(void)
{
  return &neuron_relu;
}
static const GFNeuron *GetTanh(void)
{
  return &neuron_tanh;
}
static const GFNeuron *GetScaledTanh(void)
{
  return &neuron_scaled_tanh;
}
static const GFNeuron *GetScaledReLU(void)
{
  return &neuron_scaled_relu;
}

PETSC_INTERN PetscErrorCode GFNeuronRegister(const char name[], GFNeuronGetter getter)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFunctionListAdd(&GFNeuronList, name, getter));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFNeuronRegisterAll(void)
{
  PetscFunctionBeginUser;
  if (GFNeuronRegistered) PetscFunctionReturn(PETSC_SUCCESS);
  GFNeuronRegistered = PETSC_TRUE;
  PetscCall(GFNeuronRegister("linear", GetLinear));
  PetscCall(GFNeuronRegister("relu", GetReLU));
  PetscCall(GFNeuronRegister("tanh", GetTanh));
  PetscCall(GFNeuronRegister("scaled_tanh", GetScaledTanh));
  PetscCall(GFNeuronRegister("scaled_relu", GetScaledReLU));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFNeuronRegistryDestroy(void)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFunctionListDestroy(&GFNeuronList));
  GFNeuronRegistered = PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFNeuronListTypes(char buf[], size_t len)
{
  PetscFunctionBeginUser;
  PetscCall(GFNeuronRegisterAll());
  PetscCall(GFNameList(GFNeuronList, buf, len));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The neuron named name; an unknown name lists the valid ones. */
PETSC_INTERN PetscErrorCode GFNeuronFind(MPI_Comm comm, const char name[], const GFNeuron **neuron)
{
  GFNeuronGetter getter = NULL;

  PetscFunctionBeginUser;
  PetscCall(GFNeuronRegisterAll());
  PetscCall(GFRegistryFind(comm, GFNeuronList, "-nn_neuron", "neuron", name, (PetscVoidFunction *)&getter));
  *neuron = getter();
  PetscFunctionReturn(PETSC_SUCCESS);
}
