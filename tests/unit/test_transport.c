/* GFTransport: conservation, exactness on linear data, discrete Gibbs states, positivity at the rate bound. */
#include "gftest.h"

typedef struct {
  GFGrid      grid;
  GFTransport transport;
  DM          da;
  Vec         rho, rho_local, drift_local, rhs;
} Fixture;

/* A grid from options, with one density, one drift (dof components) and one RHS vector. */
static void FixtureCreate(Fixture *f, const char options[], PetscInt dof)
{
  GFTestSetOptions(options);
  GF_CK(GFGridCreate(PETSC_COMM_WORLD, &f->grid));
  GF_CK(GFGridSetFromOptions(f->grid));
  GF_CK(GFGridSetUp(f->grid));
  GF_CK(GFGridGetDM(f->grid, &f->da));
  GF_CK(GFTransportCreate(f->grid, &f->transport));
  GF_CK(DMCreateGlobalVector(f->da, &f->rho));
  GF_CK(VecDuplicate(f->rho, &f->rhs));
  GF_CK(DMCreateLocalVector(f->da, &f->rho_local));
  if (dof == 1)
    GF_CK(VecDuplicate(f->rho_local, &f->drift_local));
  else {
    DM vda;
    GF_CK(DMDACreateCompatibleDMDA(f->da, dof, &vda));
    GF_CK(DMCreateLocalVector(vda, &f->drift_local));
    GF_CK(DMDestroy(&vda));
  }
}

static void FixtureDestroy(Fixture *f)
{
  GF_CK(VecDestroy(&f->rho));
  GF_CK(VecDestroy(&f->rhs));
  GF_CK(VecDestroy(&f->rho_local));
  GF_CK(VecDestroy(&f->drift_local));
  GF_CK(GFTransportDestroy(&f->transport));
  GF_CK(GFGridDestroy(&f->grid));
}

/* A smooth positive test field f(x) = 1 + 0.5 sin(1.3 x + 0.7 y - 0.4 z) + 0.3 cos(x y). */
static PetscReal SmoothField(PetscInt dim, const PetscReal x[], void *ctx)
{
  const PetscReal y = dim > 1 ? x[1] : 0, z = dim > 2 ? x[2] : 0;
  (void)ctx;
  return 1 + 0.5 * PetscSinReal(1.3 * x[0] + 0.7 * y - 0.4 * z) + 0.3 * PetscCosReal(x[0] * y);
}

/* A rough non-negative field with zeros: exercises every minmod branch. */
static PetscReal RoughField(PetscInt dim, const PetscReal x[], void *ctx)
{
  PetscReal v = PetscSinReal(7.1 * x[0]) * PetscCosReal(3.3 * (dim > 1 ? x[1] : 0.2)) + 0.2 * PetscSinReal(5.0 * (dim > 2 ? x[2] : 0.1));
  (void)ctx;
  return v > 0 ? v : 0;
}

/* A velocity-like drift: xi = cos(x) + 0.5 y^2 - z. */
static PetscReal DriftField(PetscInt dim, const PetscReal x[], void *ctx)
{
  (void)ctx;
  return PetscCosReal(2 * x[0]) + (dim > 1 ? 0.5 * x[1] * x[1] : 0) - (dim > 2 ? x[2] : 0);
}

static void FillLocal(Fixture *f, PetscReal (*fn)(PetscInt, const PetscReal[], void *), Vec local)
{
  Vec g;
  GF_CK(DMGetGlobalVector(f->da, &g));
  GF_CK(GFGridEvaluate(f->grid, fn, NULL, g));
  GF_CK(DMGlobalToLocal(f->da, g, INSERT_VALUES, local));
  GF_CK(DMRestoreGlobalVector(f->da, &g));
}

/* A cell velocity field v_a = sin(0.37 (n + a)) - 0.2, n the natural index: consistent ghosts through a global vector. */
static void FillVelocity(Fixture *f, PetscInt dim)
{
  DM           vda;
  Vec          v;
  PetscScalar *a;
  PetscInt     xs, ys, zs, xm, ym, zm, M, N;

  GF_CK(VecGetDM(f->drift_local, &vda));
  GF_CK(DMGetGlobalVector(vda, &v));
  GF_CK(DMDAGetInfo(vda, NULL, &M, &N, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL));
  GF_CK(DMDAGetCorners(vda, &xs, &ys, &zs, &xm, &ym, &zm));
  GF_CK(VecGetArray(v, &a));
  for (PetscInt k = zs, c = 0; k < zs + zm; k++)
    for (PetscInt j = ys; j < ys + ym; j++)
      for (PetscInt i = xs; i < xs + xm; i++)
        for (PetscInt d = 0; d < dim; d++) a[c++] = PetscSinReal(0.37 * (i + M * (j + N * k) + d)) - 0.2;
  GF_CK(VecRestoreArray(v, &a));
  GF_CK(DMGlobalToLocal(vda, v, INSERT_VALUES, f->drift_local));
  GF_CK(DMRestoreGlobalVector(vda, &v));
}

static PetscReal Sum(Vec v)
{
  PetscScalar s;
  GF_CK(VecSum(v, &s));
  return PetscRealPart(s);
}

/* B(z) = z/(e^z - 1): B(0) = 1, B(-z) = B(z) + z, continuity at the series switch, limits. */
START_TEST(test_bernoulli)
{
  const PetscReal zs[] = {0, 1e-9, -1e-9, 9.99e-7, 1.001e-6, 0.3, -2.5, 40, -40, 800, -800};
  ck_assert_double_eq_tol(GFBernoulli(0), 1, 1e-16);
  for (size_t i = 0; i < sizeof(zs) / sizeof(zs[0]); i++) {
    const PetscReal z = zs[i];
    ck_assert_msg(PetscAbsReal(GFBernoulli(-z) - GFBernoulli(z) - z) <= 1e-14 * PetscMax(1, PetscAbsReal(z)), "B(-z) - B(z) != z at z = %g", (double)z);
    ck_assert(GFBernoulli(z) >= 0);
  }
  ck_assert_double_eq_tol(GFBernoulli(1e-6 * (1 - 1e-12)), GFBernoulli(1e-6 * (1 + 1e-12)), 1e-15);
  ck_assert_double_eq_tol(GFBernoulli(1), 1 / (PetscExpReal(1) - 1), 1e-15);
}
END_TEST

/* sum_i RHS_i = 0 to round-off for every flux, dimension and wall type. */
START_TEST(test_conservation)
{
  const char *grids[] = {"-dim 1 -da_grid_x 37", "-dim 2 -da_grid_x 19 -da_grid_y 23", "-dim 3 -da_grid_x 9 -da_grid_y 8 -da_grid_z 10"};
  const char *walls[] = {"-bc noflux", "-bc periodic"};

  for (int g = 0; g < 3; g++) {
    for (int w = 0; w < 2; w++) {
      for (int flux = 0; flux < 3; flux++) {
        char      options[256];
        Fixture   f;
        PetscInt  dim = g + 1;
        PetscReal total, scale;

        PetscSNPrintf(options, sizeof(options), "%s %s -domain_lower -2 -domain_upper 3", grids[g], walls[w]);
        FixtureCreate(&f, options, flux == GF_FLUX_UPWIND_VELOCITY ? dim : 1);
        GF_CK(GFTransportSetFluxType(f.transport, (GFFluxType)flux, 0.7));
        FillLocal(&f, RoughField, f.rho_local);
        if (flux == GF_FLUX_UPWIND_VELOCITY)
          FillVelocity(&f, dim);
        else
          FillLocal(&f, DriftField, f.drift_local);
        GF_CK(GFTransportComputeRHS(f.transport, f.rho_local, f.drift_local, f.rhs));
        total = Sum(f.rhs);
        GF_CK(VecNorm(f.rhs, NORM_1, &scale));
        ck_assert_msg(PetscAbsReal(total) <= 1e-13 * scale, "%s flux %d: sum RHS = %g (|RHS|_1 = %g)", options, flux, (double)total, (double)scale);
        FixtureDestroy(&f);
      }
    }
  }
}
END_TEST

static PetscReal LinearProfile(PetscInt dim, const PetscReal x[], void *ctx)
{
  (void)ctx;
  return 3 + 0.5 * x[0] + (dim > 1 ? 0.25 * x[1] : 0);
}

static PetscReal LinearPotential(PetscInt dim, const PetscReal x[], void *ctx)
{
  (void)ctx;
  return -1.5 * x[0] + (dim > 1 ? 0.75 * x[1] : 0);
}

/*
  Constant velocity u = (1.5, -0.75) from xi = -1.5 x + 0.75 y and linear rho: minmod slopes
  are exact, so RHS = -u . grad rho = -(1.5 * 0.5 - 0.75 * 0.25) at every cell whose stencil
  stays off the walls.
*/
START_TEST(test_upwind_linear_exact)
{
  Fixture            f;
  const PetscScalar *r;
  PetscInt           xs, ys, xm, ym;
  PetscReal          worst = 0;

  FixtureCreate(&f, "-dim 2 -da_grid_x 16 -da_grid_y 12 -domain_lower -1 -domain_upper 2", 1);
  GF_CK(GFTransportSetFluxType(f.transport, GF_FLUX_UPWIND_POTENTIAL, 0));
  FillLocal(&f, LinearProfile, f.rho_local);
  FillLocal(&f, LinearPotential, f.drift_local);
  GF_CK(GFTransportComputeRHS(f.transport, f.rho_local, f.drift_local, f.rhs));
  GF_CK(DMDAGetCorners(f.da, &xs, &ys, NULL, &xm, &ym, NULL));
  GF_CK(VecGetArrayRead(f.rhs, &r));
  for (PetscInt j = ys; j < ys + ym; j++)
    for (PetscInt i = xs; i < xs + xm; i++)
      if (i >= 2 && i <= 13 && j >= 2 && j <= 9) worst = PetscMax(worst, PetscAbsReal(r[(i - xs) + xm * (j - ys)] + (1.5 * 0.5 - 0.75 * 0.25)));
  GF_CK(VecRestoreArrayRead(f.rhs, &r));
  ck_assert_int_eq(MPI_Allreduce(MPI_IN_PLACE, &worst, 1, MPIU_REAL, MPI_MAX, PETSC_COMM_WORLD), MPI_SUCCESS);
  ck_assert_msg(worst <= 1e-12, "interior RHS differs from -u.grad rho by %g", (double)worst);
  FixtureDestroy(&f);
}
END_TEST

static PetscReal QuarticPotential(PetscInt dim, const PetscReal x[], void *ctx)
{
  PetscReal v = 0;
  (void)ctx;
  for (PetscInt a = 0; a < dim; a++) v += 0.25 * x[a] * x[a] * x[a] * x[a] - x[a] * x[a] + 0.3 * x[a];
  return v;
}

/* Scharfetter-Gummel: rho = exp(-psi/sigma) at the cell centres has RHS = 0 to round-off. */
START_TEST(test_sg_gibbs_state)
{
  const char *grids[] = {"-dim 1 -da_grid_x 64", "-dim 2 -da_grid_x 24 -da_grid_y 20", "-dim 3 -da_grid_x 10 -da_grid_y 12 -da_grid_z 9"};

  for (int g = 0; g < 3; g++) {
    Fixture         f;
    const PetscReal sigma = 0.6;
    PetscReal       norm, scale;
    Vec             psi;
    char            options[128];

    PetscSNPrintf(options, sizeof(options), "%s -domain_lower -2.5 -domain_upper 2.5", grids[g]);
    FixtureCreate(&f, options, 1);
    GF_CK(GFTransportSetFluxType(f.transport, GF_FLUX_SCHARFETTER_GUMMEL, sigma));
    GF_CK(DMGetGlobalVector(f.da, &psi));
    GF_CK(GFGridEvaluate(f.grid, QuarticPotential, NULL, psi));
    GF_CK(DMGlobalToLocal(f.da, psi, INSERT_VALUES, f.drift_local));
    GF_CK(VecCopy(psi, f.rho));
    GF_CK(VecScale(f.rho, -1 / sigma));
    GF_CK(VecExp(f.rho));
    GF_CK(DMGlobalToLocal(f.da, f.rho, INSERT_VALUES, f.rho_local));
    GF_CK(GFTransportComputeRHS(f.transport, f.rho_local, f.drift_local, f.rhs));
    GF_CK(VecNorm(f.rhs, NORM_INFINITY, &norm));
    GF_CK(VecNorm(f.rho, NORM_INFINITY, &scale));
    ck_assert_msg(norm <= 1e-12 * scale, "%s: |RHS| = %g at the Gibbs state (max rho %g)", options, (double)norm, (double)scale);
    GF_CK(DMRestoreGlobalVector(f.da, &psi));
    FixtureDestroy(&f);
  }
}
END_TEST

/* One forward Euler step of length exactly 1/rate keeps rough data non-negative, for every flux. */
START_TEST(test_positivity_at_rate_bound)
{
  const char *grids[] = {"-dim 1 -da_grid_x 50 -bc periodic", "-dim 2 -da_grid_x 20 -da_grid_y 18", "-dim 3 -da_grid_x 8 -da_grid_y 9 -da_grid_z 8 -bc periodic"};

  for (int g = 0; g < 3; g++) {
    for (int flux = 0; flux < 2; flux++) {
      Fixture   f;
      PetscReal rate, min;

      FixtureCreate(&f, grids[g], 1);
      GF_CK(GFTransportSetFluxType(f.transport, (GFFluxType)flux, 0.4));
      GF_CK(GFGridEvaluate(f.grid, RoughField, NULL, f.rho));
      GF_CK(DMGlobalToLocal(f.da, f.rho, INSERT_VALUES, f.rho_local));
      FillLocal(&f, DriftField, f.drift_local);
      GF_CK(GFTransportComputeRHS(f.transport, f.rho_local, f.drift_local, f.rhs));
      GF_CK(GFTransportComputeMaxRate(f.transport, f.rho_local, f.drift_local, 0, &rate));
      ck_assert(rate > 0);
      GF_CK(VecAXPY(f.rho, 1 / rate, f.rhs));
      GF_CK(VecMin(f.rho, NULL, &min));
      ck_assert_msg(min >= -1e-15, "%s flux %d: min rho %g after a step at the rate bound", grids[g], flux, (double)min);
      FixtureDestroy(&f);
    }
  }
}
END_TEST

/* The rate bound of constant velocity u in 1D is 2|u|/h. */
START_TEST(test_rate_constant_velocity)
{
  Fixture   f;
  PetscReal rate;

  FixtureCreate(&f, "-dim 1 -da_grid_x 40 -domain_lower 0 -domain_upper 4", 1);
  GF_CK(GFTransportSetFluxType(f.transport, GF_FLUX_UPWIND_POTENTIAL, 0));
  FillLocal(&f, SmoothField, f.rho_local);
  FillLocal(&f, LinearPotential, f.drift_local);
  GF_CK(GFTransportComputeMaxRate(f.transport, f.rho_local, f.drift_local, 0, &rate));
  ck_assert_double_eq_tol(rate, 2 * 1.5 / 0.1, 1e-12);
  GF_CK(GFTransportComputeMaxRate(f.transport, f.rho_local, f.drift_local, 2.0, &rate));
  ck_assert_double_eq_tol(rate, 2 * 1.5 / 0.1 + 2 * 2.0 / 0.01, 1e-9);
  FixtureDestroy(&f);
}
END_TEST

static Suite *MakeSuite(void)
{
  Suite *s = suite_create("transport");
  TCase *t = tcase_create("transport");
  tcase_set_timeout(t, 120);
  tcase_add_test(t, test_bernoulli);
  tcase_add_test(t, test_conservation);
  tcase_add_test(t, test_upwind_linear_exact);
  tcase_add_test(t, test_sg_gibbs_state);
  tcase_add_test(t, test_positivity_at_rate_bound);
  tcase_add_test(t, test_rate_constant_velocity);
  suite_add_tcase(s, t);
  return s;
}

int main(int argc, char **argv)
{
  return GFTestMain(argc, argv, MakeSuite);
}
