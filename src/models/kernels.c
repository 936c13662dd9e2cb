/*
  GFKernel: the registry of Stein kernels K of SVGD (-kernel, bandwidth l = -kernel_bandwidth),
  shared by the PDE (cell averages for GFConvolution) and the particle code (pointwise values
  and gradients). A registered kernel is radial, K(x) = k(r2) with r2 = |x|^2, given by its
  profile for the bandwidth l: k and its first two derivatives in r2 / 2, so that
  grad K = k' x and Laplace K = d k' + r2 k''. Bilinear, K(x, y) = 1 + x.y, is not
  translation invariant and acts through moments (the SVGD model and the particle code treat
  it apart).

    gaussian  K = exp(-|x|^2 / (2 l^2))
    imq       K = (1 + |x|^2 / l^2)^(-1/2)
*/
#include "models.h"

static PetscFunctionList GFKernelList       = NULL;
static PetscBool         GFKernelRegistered = PETSC_FALSE;

struct _p_GFKernel {
  MPI_Comm        comm;
  char            type[GF_NAME_LEN];
  GFKernelProfile profile; /* NULL for bilinear */
  PetscReal       bandwidth;
};

static PetscReal Gaussian(PetscReal r2, PetscReal l2, PetscReal *dk, PetscReal *d2k)
{
  const PetscReal k = PetscExpReal(-0.5 * r2 / l2);
  *dk               = -k / l2;
  *d2k              = k / (l2 * l2);
  return k;
}

static PetscReal InverseMultiquadric(PetscReal r2, PetscReal l2, PetscReal *dk, PetscReal *d2k)
{
  const PetscReal q = 1 + r2 / l2, k = 1 / PetscSqrtReal(q);
  *dk  = -k / (q * l2);
  *d2k = 3 * k / (q * q * l2 * l2);
  return k;
}

/* The marker of the bilinear kernel in the list (never called: bilinear has no profile). */
static PetscReal Bilinear(PetscReal r2, PetscReal l2, PetscReal *dk, PetscReal *d2k)
{
  (void)r2;
  (void)l2;
  *dk = *d2k = 0;
  return 1;
}

/* Add a radial kernel under name (its profile: k(r2, l^2) and the derivatives in r2 / 2): -kernel name selects it. */
PetscErrorCode GFKernelRegister(const char name[], GFKernelProfile profile)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFunctionListAdd(&GFKernelList, name, profile));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFKernelRegisterAll(void)
{
  PetscFunctionBeginUser;
  if (GFKernelRegistered) PetscFunctionReturn(PETSC_SUCCESS);
  GFKernelRegistered = PETSC_TRUE;
  PetscCall(GFKernelRegister("gaussian", Gaussian));
  PetscCall(GFKernelRegister("imq", InverseMultiquadric));
  PetscCall(GFKernelRegister("bilinear", Bilinear));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFKernelRegistryDestroy(void)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFunctionListDestroy(&GFKernelList));
  GFKernelRegistered = PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFKernelCreate(MPI_Comm comm, GFKernel *kernel)
{
  PetscFunctionBeginUser;
  PetscCall(GFKernelRegisterAll());
  PetscCall(PetscNew(kernel));
  (*kernel)->comm      = comm;
  (*kernel)->bandwidth = 1;
  PetscCall(GFKernelSetType(*kernel, "gaussian"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Select a registered kernel by name; an unknown name lists the valid ones. */
PetscErrorCode GFKernelSetType(GFKernel k, const char type[])
{
  GFKernelProfile profile = NULL;

  PetscFunctionBeginUser;
  PetscCall(GFRegistryFind(k->comm, GFKernelList, "-kernel", "kernel", type, (PetscVoidFunction *)&profile));
  PetscCall(PetscStrncpy(k->type, type, sizeof(k->type)));
  k->profile = profile == Bilinear ? NULL : profile;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* -kernel and -kernel_bandwidth (checked positive). */
PetscErrorCode GFKernelSetFromOptions(GFKernel k)
{
  char type[GF_NAME_LEN];

  PetscFunctionBeginUser;
  PetscCall(PetscStrncpy(type, k->type, sizeof(type)));
  PetscOptionsBegin(k->comm, NULL, "SVGD kernel K", "GFKernel");
  PetscCall(GFOptionsFList("-kernel", "SVGD kernel", "GFKernelSetType", GFKernelList, type, type, sizeof(type), NULL));
  PetscCall(GFOptionsEndOnError(PetscOptionsObject, GFKernelSetType(k, type)));
  PetscCall(GFOptionsReal("-kernel_bandwidth", "Bandwidth l of the radial kernels", "GFKernelSetFromOptions", k->bandwidth, &k->bandwidth, NULL, GF_REAL_ANY));
  GFOptionsCheck(k->bandwidth > 0 && PetscIsNormalReal(k->bandwidth), k->comm, PETSC_ERR_USER_INPUT, "-kernel_bandwidth %.6g: the bandwidth must be positive", (double)k->bandwidth);
  PetscOptionsEnd();
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFKernelGetType(GFKernel k, const char **type)
{
  PetscFunctionBeginUser;
  *type = k->type;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFKernelGetBandwidth(GFKernel k, PetscReal *bandwidth)
{
  PetscFunctionBeginUser;
  *bandwidth = k->bandwidth;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Whether the kernel is bilinear, 1 + x.y (no profile: it acts through moments). */
PetscBool GFKernelIsBilinear(GFKernel k)
{
  return (PetscBool)(k->profile == NULL);
}

/* K(x) of a radial kernel, its gradient into grad (unless NULL) and its Laplacian into *lap (unless NULL). */
PetscReal GFKernelValue(GFKernel k, PetscInt dim, const PetscReal x[], PetscReal grad[], PetscReal *lap)
{
  PetscReal r2 = 0, value, dk, d2k;

  for (PetscInt a = 0; a < dim; a++) r2 += x[a] * x[a];
  value = k->profile(r2, k->bandwidth * k->bandwidth, &dk, &d2k);
  for (PetscInt a = 0; a < dim && grad; a++) grad[a] = dk * x[a];
  if (lap) *lap = dim * dk + r2 * d2k;
  return value;
}

PetscErrorCode GFKernelDestroy(GFKernel *kernel)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(*kernel));
  PetscFunctionReturn(PETSC_SUCCESS);
}
