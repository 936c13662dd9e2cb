/*
  GFInteraction: the registry of radial interaction kernels W(x) = b w(|x|) of the
  McKean-Vlasov drift grad(W * rho), shared by the PDE (as cell averages for
  GFConvolution) and the particle code (pointwise values and gradients). A kernel is
  registered (GFInteractionRegister) by the function that fills in its GFInteractionKernel:

    quadratic             w = r^2/2
    newtonian             attractive Keller-Segel, W = -G with -Laplace G = delta:
                          r/2 (1D), ln(r)/(2 pi) (2D), -1/(4 pi r) (3D)
    log_quadratic         w = r^2/2 - ln r
    attractive_repulsive  w = r^a/a - r^b/b, a > b > -d (-interaction_params a,b; default 2,1)
    gaussian              w = -exp(-r^2/(2 l^2)) (-interaction_params l; default 1)
    morse                 w = C_r exp(-r/l_r) - C_a exp(-r/l_a) (-interaction_params C_a,l_a,C_r,l_r; default 1,1,0.6,0.5)

  b is -interaction_strength. Cell averages: Gauss-Legendre on every cell but the one
  at the origin; there, a kernel's singular terms c r^p or c ln r are integrated exactly
  by self-similarity (the cell B and its half B/2 differ by a region A away from the
  origin: int_B r^p = int_A r^p / (1 - 2^-(d+p))), and the bounded remainder by
  bisection. Kernels that grow at infinity or decay like a power cannot be periodised
  by a minimal-image sum and are refused on periodic boxes.
*/
#include "models.h"

#define GF_INTERACTION_MAX_SINGULAR 2

static PetscFunctionList GFInteractionList       = NULL;
static PetscBool         GFInteractionRegistered = PETSC_FALSE;

struct _p_GFInteraction {
  MPI_Comm            comm;
  char                type[GF_NAME_LEN];
  GFInteractionKernel kernel;
  PetscBool           active; /* false for "none" */
  PetscInt            dim;
  PetscReal           strength, param[4];
};

static PetscReal Quadratic(PetscInt dim, PetscReal r, const PetscReal p[])
{
  (void)dim, (void)p;
  return 0.5 * r * r;
}
static PetscReal QuadraticDerivative(PetscInt dim, PetscReal r, const PetscReal p[])
{
  (void)dim, (void)p;
  return r;
}

static PetscReal Newtonian(PetscInt dim, PetscReal r, const PetscReal p[])
{
  (void)p;
  if (dim == 1) return 0.5 * r;
  if (dim == 2) return PetscLogReal(r) / (2 * PETSC_PI);
  return -1 / (4 * PETSC_PI * r);
}
static PetscReal NewtonianDerivative(PetscInt dim, PetscReal r, const PetscReal p[])
{
  (void)p;
  if (dim == 1) return 0.5;
  if (dim == 2) return 1 / (2 * PETSC_PI * r);
  return 1 / (4 * PETSC_PI * r * r);
}
static PetscInt NewtonianSingular(PetscInt dim, const PetscReal p[], GFSingularTerm t[])
{
  (void)p;
  if (dim == 1)
    t[0] = (GFSingularTerm){0.5, 1, PETSC_FALSE};
  else if (dim == 2)
    t[0] = (GFSingularTerm){1 / (2 * PETSC_PI), 0, PETSC_TRUE};
  else
    t[0] = (GFSingularTerm){-1 / (4 * PETSC_PI), -1, PETSC_FALSE};
  return 1;
}

static PetscReal LogQuadratic(PetscInt dim, PetscReal r, const PetscReal p[])
{
  (void)dim, (void)p;
  return 0.5 * r * r - PetscLogReal(r);
}
static PetscReal LogQuadraticDerivative(PetscInt dim, PetscReal r, const PetscReal p[])
{
  (void)dim, (void)p;
  return r - 1 / r;
}
static PetscInt LogQuadraticSingular(PetscInt dim, const PetscReal p[], GFSingularTerm t[])
{
  (void)dim, (void)p;
  t[0] = (GFSingularTerm){-1, 0, PETSC_TRUE};
  return 1;
}

static PetscReal AttractiveRepulsive(PetscInt dim, PetscReal r, const PetscReal p[])
{
  (void)dim;
  return PetscPowReal(r, p[0]) / p[0] - PetscPowReal(r, p[1]) / p[1];
}
static PetscReal AttractiveRepulsiveDerivative(PetscInt dim, PetscReal r, const PetscReal p[])
{
  (void)dim;
  return PetscPowReal(r, p[0] - 1) - PetscPowReal(r, p[1] - 1);
}
/* r^a/a is smooth for even integer a; -r^b/b likewise. */
static PetscInt AttractiveRepulsiveSingular(PetscInt dim, const PetscReal p[], GFSingularTerm t[])
{
  PetscInt n = 0;
  (void)dim;
  for (PetscInt k = 0; k < 2; k++) {
    const PetscReal e = p[k];
    if (e >= 0 && PetscAbsReal(e / 2 - round(e / 2)) < 1e-14) continue;
    t[n++] = (GFSingularTerm){k == 0 ? 1 / e : -1 / e, e, PETSC_FALSE};
  }
  return n;
}

static PetscReal Gaussian(PetscInt dim, PetscReal r, const PetscReal p[])
{
  (void)dim;
  return -PetscExpReal(-0.5 * r * r / (p[0] * p[0]));
}
static PetscReal GaussianDerivative(PetscInt dim, PetscReal r, const PetscReal p[])
{
  (void)dim;
  return r / (p[0] * p[0]) * PetscExpReal(-0.5 * r * r / (p[0] * p[0]));
}

static PetscReal Morse(PetscInt dim, PetscReal r, const PetscReal p[])
{
  (void)dim;
  return p[2] * PetscExpReal(-r / p[3]) - p[0] * PetscExpReal(-r / p[1]);
}
static PetscReal MorseDerivative(PetscInt dim, PetscReal r, const PetscReal p[])
{
  (void)dim;
  return -p[2] / p[3] * PetscExpReal(-r / p[3]) + p[0] / p[1] * PetscExpReal(-r / p[1]);
}

static PetscErrorCode AttractiveRepulsiveCheck(MPI_Comm comm, PetscInt dim, const PetscReal p[])
{
  PetscFunctionBeginUser;
  PetscCheck(p[0] > p[1], comm, PETSC_ERR_USER_INPUT, "-interaction_params %.6g,%.6g: attractive_repulsive needs a > b (attraction r^a/a dominating at large r)", (double)p[0], (double)p[1]);
  PetscCheck(p[1] > -dim, comm, PETSC_ERR_USER_INPUT, "-interaction_params b = %.6g: the repulsion r^b/b is not integrable at 0 in %" PetscInt_FMT "D: attractive_repulsive needs b > -%" PetscInt_FMT, (double)p[1], dim, dim);
  PetscCheck(p[0] != 0 && p[1] != 0, comm, PETSC_ERR_USER_INPUT, "-interaction_params %.6g,%.6g: the exponents of attractive_repulsive must be nonzero", (double)p[0], (double)p[1]);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode GaussianCheck(MPI_Comm comm, PetscInt dim, const PetscReal p[])
{
  PetscFunctionBeginUser;
  (void)dim;
  PetscCheck(p[0] > 0, comm, PETSC_ERR_USER_INPUT, "-interaction_params %.6g: the gaussian kernel needs a positive width", (double)p[0]);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode MorseCheck(MPI_Comm comm, PetscInt dim, const PetscReal p[])
{
  PetscFunctionBeginUser;
  (void)dim;
  PetscCheck(p[0] >= 0 && p[1] > 0 && p[2] >= 0 && p[3] > 0, comm, PETSC_ERR_USER_INPUT, "-interaction_params %.6g,%.6g,%.6g,%.6g: morse needs C_a >= 0, l_a > 0, C_r >= 0, l_r > 0", (double)p[0], (double)p[1], (double)p[2], (double)p[3]);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The built-in kernels, each set by its create function: the functions of the list. */
static PetscErrorCode CreateNone(GFInteractionKernel *k)
{
  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(k, sizeof(*k)));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode CreateQuadratic(GFInteractionKernel *k)
{
  PetscFunctionBeginUser;
  *k = (GFInteractionKernel){Quadratic, QuadraticDerivative, NULL, NULL, 0, {0}, PETSC_FALSE};
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode CreateNewtonian(GFInteractionKernel *k)
{
  PetscFunctionBeginUser;
  *k = (GFInteractionKernel){Newtonian, NewtonianDerivative, NewtonianSingular, NULL, 0, {0}, PETSC_FALSE};
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode CreateLogQuadratic(GFInteractionKernel *k)
{
  PetscFunctionBeginUser;
  *k = (GFInteractionKernel){LogQuadratic, LogQuadraticDerivative, LogQuadraticSingular, NULL, 0, {0}, PETSC_FALSE};
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode CreateAttractiveRepulsive(GFInteractionKernel *k)
{
  PetscFunctionBeginUser;
  *k = (GFInteractionKernel){AttractiveRepulsive, AttractiveRepulsiveDerivative, AttractiveRepulsiveSingular, AttractiveRepulsiveCheck, 2, {2, 1}, PETSC_FALSE};
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode CreateGaussian(GFInteractionKernel *k)
{
  PetscFunctionBeginUser;
  *k = (GFInteractionKernel){Gaussian, GaussianDerivative, NULL, GaussianCheck, 1, {1}, PETSC_TRUE};
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode CreateMorse(GFInteractionKernel *k)
{
  PetscFunctionBeginUser;
  *k = (GFInteractionKernel){Morse, MorseDerivative, NULL, MorseCheck, 4, {1, 1, 0.6, 0.5}, PETSC_TRUE};
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Add an interaction kernel under name, by the function that fills in its GFInteractionKernel: -interaction name selects it. */
PetscErrorCode GFInteractionRegister(const char name[], PetscErrorCode (*create)(GFInteractionKernel *))
{
  PetscFunctionBeginUser;
  PetscCall(PetscFunctionListAdd(&GFInteractionList, name, create));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFInteractionRegisterAll(void)
{
  PetscFunctionBeginUser;
  if (GFInteractionRegistered) PetscFunctionReturn(PETSC_SUCCESS);
  GFInteractionRegistered = PETSC_TRUE;
  PetscCall(GFInteractionRegister("none", CreateNone));
  PetscCall(GFInteractionRegister("quadratic", CreateQuadratic));
  PetscCall(GFInteractionRegister("newtonian", CreateNewtonian));
  PetscCall(GFInteractionRegister("log_quadratic", CreateLogQuadratic));
  PetscCall(GFInteractionRegister("attractive_repulsive", CreateAttractiveRepulsive));
  PetscCall(GFInteractionRegister("gaussian", CreateGaussian));
  PetscCall(GFInteractionRegister("morse", CreateMorse));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFInteractionRegistryDestroy(void)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFunctionListDestroy(&GFInteractionList));
  GFInteractionRegistered = PETSC_FALSE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFInteractionCreate(MPI_Comm comm, GFInteraction *interaction)
{
  PetscFunctionBeginUser;
  PetscCall(GFInteractionRegisterAll());
  PetscCall(PetscNew(interaction));
  (*interaction)->comm     = comm;
  (*interaction)->strength = 1;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFInteractionDestroy(GFInteraction *interaction)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(*interaction));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFInteractionGetType(GFInteraction w, const char **type)
{
  PetscFunctionBeginUser;
  *type = w->active ? w->type : "none";
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* True unless the interaction is "none". */
PetscErrorCode GFInteractionIsActive(GFInteraction w, PetscBool *active)
{
  PetscFunctionBeginUser;
  *active = w->active;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* b for W = b |x|^2/2, or 0 when W is not quadratic (exact solutions need it). */
PetscErrorCode GFInteractionQuadraticStrength(GFInteraction w, PetscBool *quadratic, PetscReal *strength)
{
  PetscFunctionBeginUser;
  *quadratic = (PetscBool)(!w->active || w->kernel.w == Quadratic);
  *strength  = w->active ? w->strength : 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Select a registered kernel by name ("none": no interaction); an unknown name lists the valid ones. */
PetscErrorCode GFInteractionSetType(GFInteraction w, const char type[])
{
  PetscErrorCode (*create)(GFInteractionKernel *) = NULL;

  PetscFunctionBeginUser;
  PetscCall(GFRegistryFind(w->comm, GFInteractionList, "-interaction", "interaction kernel", type, (PetscVoidFunction *)&create));
  PetscCall(create(&w->kernel));
  PetscCall(PetscStrncpy(w->type, type, sizeof(w->type)));
  w->active = (PetscBool)(w->kernel.w != NULL);
  for (PetscInt k = 0; k < 4; k++) w->param[k] = w->kernel.defaults[k];
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* -interaction, -interaction_strength, -interaction_params, checked against the dimension and the walls. */
PetscErrorCode GFInteractionSetFromOptions(GFInteraction w, PetscInt dim, GFBoundary bc)
{
  char      type[GF_NAME_LEN] = "none";
  PetscInt  nparam            = 4;
  PetscBool set;

  PetscFunctionBeginUser;
  w->dim = dim;
  PetscOptionsBegin(w->comm, NULL, "Interaction kernel W", "GFInteraction");
  PetscCall(GFOptionsFList("-interaction", "Interaction kernel W", "GFInteractionSetType", GFInteractionList, type, type, sizeof(type), NULL));
  PetscCall(GFOptionsEndOnError(PetscOptionsObject, GFInteractionSetType(w, type)));
  PetscCall(GFOptionsReal("-interaction_strength", "Scale b of the kernel: W = b w(|x|)", "GFInteractionSetFromOptions", w->strength, &w->strength, NULL, GF_REAL_ANY));
  GFOptionsCheck(PetscIsNormalReal(w->strength) || w->strength == 0, w->comm, PETSC_ERR_USER_INPUT, "-interaction_strength %.6g is not a finite number", (double)w->strength);
  if (w->active) {
    PetscCall(GFOptionsRealArray("-interaction_params", "Kernel parameters: attractive_repulsive a,b; gaussian l; morse C_a,l_a,C_r,l_r", "GFInteractionSetFromOptions", w->param, &nparam, &set, GF_REAL_ANY));
    GFOptionsCheck(!set || nparam == w->kernel.nparam, w->comm, PETSC_ERR_USER_INPUT, "-interaction_params has %" PetscInt_FMT " values, -interaction %s takes %" PetscInt_FMT, nparam, w->type, w->kernel.nparam);
  }
  PetscOptionsEnd();
  if (!w->active) PetscFunctionReturn(PETSC_SUCCESS);
  if (w->kernel.check) PetscCall(w->kernel.check(w->comm, dim, w->param));
  PetscCheck(bc != GF_BC_PERIODIC || w->kernel.periodisable, w->comm, PETSC_ERR_USER_INPUT, "-interaction %s with -bc periodic: the kernel does not decay at infinity and has no periodic version here; use noflux walls, or gaussian or morse", w->type);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  sum += sum_j grad W(x - y_j) = b sum_j w'(r_j) d_j / r_j over the n points y, d_j = x - y_j
  (minimum image on periodic boxes; grad W(0) = 0): the particles' direct pair sums, in one
  loop here rather than a call per pair.
*/
PETSC_INTERN void GFInteractionAddPairGradients(GFInteraction w, GFGrid g, const PetscReal x[], PetscInt n, const PetscReal y[], PetscReal sum[])
{
  const PetscInt d       = w->dim;
  PetscReal      part[3] = {0, 0, 0};

  if (!w->active) return;
  for (PetscInt j = 0; j < n; j++) {
    PetscReal diff[3], r2 = 0, r, c;
    GFGridDisplacement(g, x, y + d * j, diff);
    for (PetscInt a = 0; a < d; a++) r2 += diff[a] * diff[a];
    if (r2 == 0) continue;
    r = PetscSqrtReal(r2);
    c = w->kernel.dw(d, r, w->param) / r;
    for (PetscInt a = 0; a < d; a++) part[a] += c * diff[a];
  }
  for (PetscInt a = 0; a < d; a++) sum[a] += w->strength * part[a];
}

/* W(x) and, when grad is not NULL, grad W(x) = b w'(r) x/r (0 at the origin). */
PetscReal GFInteractionValue(GFInteraction w, const PetscReal x[], PetscReal grad[])
{
  PetscReal r2 = 0, r;

  for (PetscInt a = 0; a < w->dim; a++) r2 += x[a] * x[a];
  r = PetscSqrtReal(r2);
  if (grad) {
    const PetscReal s = r > 0 && w->active ? w->strength * w->kernel.dw(w->dim, r, w->param) / r : 0;
    for (PetscInt a = 0; a < w->dim; a++) grad[a] = s * x[a];
  }
  return w->active ? w->strength * w->kernel.w(w->dim, r, w->param) : 0;
}

static PetscReal GFInteractionPoint(PetscInt dim, const PetscReal x[], void *ctx)
{
  (void)dim;
  return GFInteractionValue((GFInteraction)ctx, x, NULL);
}

/* The bounded part of w at x: w minus its singular terms. */
static PetscReal GFInteractionRegularPoint(PetscInt dim, const PetscReal x[], void *ctx)
{
  GFInteraction  w = (GFInteraction)ctx;
  GFSingularTerm terms[GF_INTERACTION_MAX_SINGULAR];
  PetscInt       n  = w->kernel.singular ? w->kernel.singular(dim, w->param, terms) : 0;
  PetscReal      r2 = 0, r, v;

  for (PetscInt a = 0; a < dim; a++) r2 += x[a] * x[a];
  r = PetscSqrtReal(r2);
  v = w->kernel.w(dim, r, w->param);
  for (PetscInt k = 0; k < n; k++) v -= terms[k].logarithmic ? terms[k].coefficient * PetscLogReal(r) : terms[k].coefficient * PetscPowReal(r, terms[k].power);
  return v;
}

/* Average over the box centre +- size/2 of f, bisecting the boxes that contain the origin `depth` times (f bounded there). */
static PetscReal GFBoxAverageNearOrigin(PetscReal (*f)(PetscInt, const PetscReal[], void *), void *ctx, PetscInt dim, const PetscReal center[], const PetscReal size[], PetscInt depth)
{
  PetscBool origin = PETSC_TRUE;
  PetscReal half[3], sum = 0;

  for (PetscInt a = 0; a < dim; a++) origin = (PetscBool)(origin && PetscAbsReal(center[a]) < 0.5 * size[a] * (1 + 1e-12));
  if (!origin || depth == 0) return GFKernelCellAverageGauss(f, dim, center, size, 6, ctx);
  for (PetscInt a = 0; a < dim; a++) half[a] = 0.5 * size[a];
  for (PetscInt child = 0; child < (1 << dim); child++) {
    PetscReal c[3];
    for (PetscInt a = 0; a < dim; a++) c[a] = center[a] + ((child >> a) & 1 ? 0.25 : -0.25) * size[a];
    sum += GFBoxAverageNearOrigin(f, ctx, dim, c, half, depth - 1);
  }
  return sum / (1 << dim);
}

typedef struct {
  GFSingularTerm term;
} GFSingularCtx;

static PetscReal GFSingularPoint(PetscInt dim, const PetscReal x[], void *ctx)
{
  const GFSingularTerm *t  = &((GFSingularCtx *)ctx)->term;
  PetscReal             r2 = 0;

  for (PetscInt a = 0; a < dim; a++) r2 += x[a] * x[a];
  return t->logarithmic ? 0.5 * PetscLogReal(r2) : PetscPowReal(r2, 0.5 * t->power);
}

/*
  Average of r^p (or ln r) over the origin-centred box of size h[] by self-similarity:
  with B the box and A = B \ (B/2) (the 4^d - 2^d quarter boxes away from the origin),
    int_B r^p  = int_A r^p / (1 - 2^-(d+p)),
    int_B ln r = (int_A ln r - 2^-d |B| ln 2) / (1 - 2^-d).
*/
static PetscReal GFSingularOriginAverage(const GFSingularTerm *t, PetscInt dim, const PetscReal h[])
{
  GFSingularCtx ctx = {*t};
  PetscReal     quarter[3], volume = 1, annulus = 0;
  PetscInt      n = 1;

  for (PetscInt a = 0; a < dim; a++) {
    quarter[a] = 0.25 * h[a];
    volume *= h[a];
    n *= 4;
  }
  for (PetscInt q = 0; q < n; q++) {
    PetscReal c[3];
    PetscBool inner = PETSC_TRUE;
    PetscInt  r     = q;
    for (PetscInt a = 0; a < dim; a++, r /= 4) {
      const PetscInt i = r % 4; /* quarter boxes 0..3 along the axis; 1 and 2 form B/2 */
      c[a]             = (i - 1.5) * quarter[a];
      inner            = (PetscBool)(inner && (i == 1 || i == 2));
    }
    if (!inner) annulus += GFKernelCellAverageGauss(GFSingularPoint, dim, c, quarter, 10, &ctx) * volume / n;
  }
  if (t->logarithmic) return (annulus - PetscPowReal(2, -dim) * volume * PetscLogReal(2)) / (1 - PetscPowReal(2, -dim)) / volume;
  return annulus / (1 - PetscPowReal(2, -(dim + t->power))) / volume;
}

/* GFKernelCellAverageFn for GFConvolution: the cell average of W over the cell at offset x (exact singular terms at the origin). */
PetscErrorCode GFInteractionCellAverage(PetscInt dim, const PetscReal x[], const PetscReal h[], PetscReal values[], void *ctx)
{
  GFInteraction w      = (GFInteraction)ctx;
  PetscBool     origin = PETSC_TRUE;

  PetscFunctionBeginUser;
  values[0] = 0;
  if (!w->active) PetscFunctionReturn(PETSC_SUCCESS);
  for (PetscInt a = 0; a < dim; a++) origin = (PetscBool)(origin && PetscAbsReal(x[a]) < 0.25 * h[a]);
  if (!origin) {
    values[0] = GFKernelCellAverageGauss(GFInteractionPoint, dim, x, h, 6, w);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  {
    GFSingularTerm terms[GF_INTERACTION_MAX_SINGULAR];
    const PetscInt n       = w->kernel.singular ? w->kernel.singular(dim, w->param, terms) : 0;
    const PetscInt depth[] = {0, 12, 4, 3}; /* the remainder is smooth but for morse's kink: bisect towards it */
    PetscReal      v       = GFBoxAverageNearOrigin(GFInteractionRegularPoint, w, dim, x, h, depth[dim]);
    for (PetscInt k = 0; k < n; k++) v += terms[k].coefficient * GFSingularOriginAverage(&terms[k], dim, h);
    values[0] = w->strength * v;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
