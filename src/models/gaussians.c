/*
  Closed-form Gaussian solutions, for the models' exact solutions: the Ornstein-Uhlenbeck
  mean and variance (fokker_planck; mckean_vlasov with quadratic V and W), the moment ODE
  of SVGD with the bilinear kernel and quadratic V (Lu, Lu, Nolen 2019), and the cell
  averages of a Gaussian of any covariance.
*/
#include "models.h"

/* Ornstein-Uhlenbeck mean and variance along one axis at time t from (m0, v0) at time 0. */
PETSC_INTERN void GFOrnsteinUhlenbeck(PetscReal a, PetscReal c, PetscReal sigma, PetscReal m0, PetscReal v0, PetscReal t, PetscReal *mean, PetscReal *variance)
{
  const PetscReal z   = -2 * a * t;
  const PetscReal phi = PetscAbsReal(z) < 1e-12 ? 1 + 0.5 * z : expm1(z) / z;

  *mean     = c + (m0 - c) * PetscExpReal(-a * t);
  *variance = v0 * PetscExpReal(z) + 2 * sigma * t * phi;
}

/* The bilinear Gaussian ODE right-hand side: (mu, Sigma)' = M (-A(mu - b) + N mu, N Sigma + Sigma N^T). */
static void BilinearODE(PetscInt d, PetscReal mass, const PetscReal A[], const PetscReal b[], const PetscReal y[12], PetscReal dy[12])
{
  const PetscReal *mu = y, *S = y + 3;
  PetscReal        N[3][3];

  for (PetscInt a = 0; a < d; a++)
    for (PetscInt c = 0; c < d; c++) N[a][c] = (a == c) - A[a] * S[3 * a + c] - A[a] * (mu[a] - b[a]) * mu[c];
  for (PetscInt a = 0; a < d; a++) {
    dy[a] = -A[a] * (mu[a] - b[a]);
    for (PetscInt c = 0; c < d; c++) dy[a] += N[a][c] * mu[c];
    dy[a] *= mass;
  }
  for (PetscInt a = 0; a < d; a++)
    for (PetscInt c = 0; c < d; c++) {
      PetscReal v = 0;
      for (PetscInt e = 0; e < d; e++) v += N[a][e] * S[3 * e + c] + S[3 * a + e] * N[c][e];
      dy[3 + 3 * a + c] = mass * v;
    }
}

/*
  The mean and covariance at time t of SVGD's Gaussian solution for the bilinear kernel and
  V = (x - b)^T A (x - b)/2 (A diagonal), from the mean mu0 and diagonal variance v0 at 0:
  RK4 on (mu, Sigma) in steps of at most 1e-3 / M (an error far below 1e-12).
*/
PETSC_INTERN void GFSteinBilinearMoments(PetscInt d, PetscReal mass, const PetscReal A[], const PetscReal b[], const PetscReal mu0[], const PetscReal v0[], PetscReal t, PetscReal mean[], PetscReal covariance[][3])
{
  PetscReal       y[12] = {0}, k[4][12], tmp[12];
  const PetscInt  steps = (PetscInt)PetscCeilReal(PetscAbsReal(t) * mass / 1e-3) + 1;
  const PetscReal dt    = t / steps;

  for (PetscInt a = 0; a < d; a++) {
    y[a]             = mu0[a];
    y[3 + 3 * a + a] = v0[a];
  }
  for (PetscInt n = 0; n < steps; n++) {
    BilinearODE(d, mass, A, b, y, k[0]);
    for (PetscInt q = 0; q < 12; q++) tmp[q] = y[q] + 0.5 * dt * k[0][q];
    BilinearODE(d, mass, A, b, tmp, k[1]);
    for (PetscInt q = 0; q < 12; q++) tmp[q] = y[q] + 0.5 * dt * k[1][q];
    BilinearODE(d, mass, A, b, tmp, k[2]);
    for (PetscInt q = 0; q < 12; q++) tmp[q] = y[q] + dt * k[2][q];
    BilinearODE(d, mass, A, b, tmp, k[3]);
    for (PetscInt q = 0; q < 12; q++) y[q] += dt / 6 * (k[0][q] + 2 * k[1][q] + 2 * k[2][q] + k[3][q]);
  }
  for (PetscInt a = 0; a < 3; a++) {
    mean[a] = a < d ? y[a] : 0;
    for (PetscInt c = 0; c < 3; c++) covariance[a][c] = a < d && c < d ? y[3 + 3 * a + c] : 0;
  }
}

typedef struct {
  PetscInt  dim;
  PetscReal mean[3], precision[3][3], norm;
} GaussianPdf;

static PetscReal GaussianPoint(PetscInt dim, const PetscReal x[], void *ctx)
{
  const GaussianPdf *g = (const GaussianPdf *)ctx;
  PetscReal          q = 0;

  for (PetscInt a = 0; a < dim; a++)
    for (PetscInt c = 0; c < dim; c++) q += (x[a] - g->mean[a]) * g->precision[a][c] * (x[c] - g->mean[c]);
  return g->norm * PetscExpReal(-0.5 * q);
}

static GFBoxKind Smooth(PetscInt dim, const PetscReal lower[], const PetscReal upper[], void *ctx)
{
  (void)dim, (void)lower, (void)upper, (void)ctx;
  return GF_BOX_SMOOTH;
}

/*
  Cell averages of the normal density of this mean and covariance (unit mass): erf products
  when the covariance is diagonal (to 1e-14 of the variances), 3-point Gauss per axis
  otherwise.
*/
PETSC_INTERN PetscErrorCode GFGaussianCellAverages(GFGrid grid, const PetscReal mean[], PetscReal S[][3], Vec rho)
{
  const PetscInt d        = grid->dim;
  PetscBool      diagonal = PETSC_TRUE;

  PetscFunctionBeginUser;
  for (PetscInt a = 0; a < d; a++)
    for (PetscInt c = 0; c < d; c++) diagonal = (PetscBool)(diagonal && (a == c || PetscAbsReal(S[a][c]) < 1e-14 * PetscSqrtReal(S[a][a] * S[c][c])));
  if (diagonal) {
    PetscReal variance[3] = {1, 1, 1};
    for (PetscInt a = 0; a < d; a++) variance[a] = S[a][a];
    PetscCall(GFGridGaussianCellAverages(grid, mean, variance, rho));
  } else {
    GaussianPdf g = {d, {mean[0], mean[1], mean[2]}, {{0}}, 0};
    PetscReal   det;
    if (d == 2) {
      det               = S[0][0] * S[1][1] - S[0][1] * S[1][0];
      g.precision[0][0] = S[1][1] / det;
      g.precision[1][1] = S[0][0] / det;
      g.precision[0][1] = g.precision[1][0] = -S[0][1] / det;
    } else {
      det = S[0][0] * (S[1][1] * S[2][2] - S[1][2] * S[2][1]) - S[0][1] * (S[1][0] * S[2][2] - S[1][2] * S[2][0]) + S[0][2] * (S[1][0] * S[2][1] - S[1][1] * S[2][0]);
      for (PetscInt a = 0; a < 3; a++)
        for (PetscInt c = 0; c < 3; c++) {
          const PetscInt a1 = (c + 1) % 3, a2 = (c + 2) % 3, c1 = (a + 1) % 3, c2 = (a + 2) % 3;
          g.precision[a][c] = (S[a1][c1] * S[a2][c2] - S[a1][c2] * S[a2][c1]) / det;
        }
    }
    PetscCheck(det > 0, grid->comm, PETSC_ERR_ARG_OUTOFRANGE, "the exact covariance is not positive definite (determinant %.6g)", (double)det);
    g.norm = 1 / PetscSqrtReal(PetscPowReal(2 * PETSC_PI, d) * det);
    PetscCall(GFGridCellAveragesAdaptive(grid, GaussianPoint, Smooth, &g, 0, rho));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
