/* GFTransport: conservation, exactness on linear data, discrete Gibbs states, positivity at the rate bound, the fused stage. */
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
    {
      /* ... and the fused stage leaves it where it is */
      Vec out_local;
      GF_CK(VecDuplicate(f.rho_local, &out_local));
      GF_CK(GFTransportStage(f.transport, f.rho_local, f.drift_local, NULL, 0, 0.01, out_local, psi, NULL));
      GF_CK(VecAXPY(psi, -1, f.rho));
      GF_CK(VecNorm(psi, NORM_INFINITY, &norm));
      ck_assert_msg(norm <= 1e-14 * scale, "%s: a stage moves the Gibbs state by %g (max rho %g)", options, (double)norm, (double)scale);
      GF_CK(VecDestroy(&out_local));
    }
    GF_CK(DMRestoreGlobalVector(f.da, &psi));
    FixtureDestroy(&f);
  }
}
END_TEST

/* The owned cells of a ghosted local vector into a global one, by the DMDA's corners. */
static void OwnedPart(Fixture *f, Vec local, Vec global)
{
  PetscInt           s[3], m[3], gs[3], gm[3], dim;
  const PetscScalar *l;
  PetscScalar       *o;

  GF_CK(DMGetDimension(f->da, &dim));
  GF_CK(DMDAGetCorners(f->da, &s[0], &s[1], &s[2], &m[0], &m[1], &m[2]));
  GF_CK(DMDAGetGhostCorners(f->da, &gs[0], &gs[1], &gs[2], &gm[0], &gm[1], &gm[2]));
  for (PetscInt a = dim; a < 3; a++) s[a] = gs[a] = 0, m[a] = gm[a] = 1;
  GF_CK(VecGetArrayRead(local, &l));
  GF_CK(VecGetArray(global, &o));
  for (PetscInt k = 0, c = 0; k < m[2]; k++)
    for (PetscInt j = 0; j < m[1]; j++)
      for (PetscInt i = 0; i < m[0]; i++) o[c++] = l[(s[0] - gs[0] + i) + gm[0] * ((s[1] - gs[1] + j) + gm[1] * (s[2] - gs[2] + k))];
  GF_CK(VecRestoreArray(global, &o));
  GF_CK(VecRestoreArrayRead(local, &l));
}

/*
  The fused stage equals y + w (u - y) + k RHS(y) from GFTransportComputeRHS, cell by cell to
  round-off, in 1D, 2D and 3D with walls and periodic, on any rank count; its copy equals its
  output, its statistics are the output's min, max and sum; the sum it adds telescopes (mass
  to round-off, with k far above the stability bound); and a discrete Gibbs state is steady.
*/
START_TEST(test_stage_matches_rhs)
{
  const char *grids[] = {
      "-dim 1 -da_grid_x 37", "-dim 2 -da_grid_x 19 -da_grid_y 23", "-dim 3 -da_grid_x 9 -da_grid_y 8 -da_grid_z 10", "-dim 2 -da_grid_x 3 -da_grid_y 8", "-dim 2 -da_grid_x 2 -da_grid_y 8", "-dim 3 -da_grid_x 3 -da_grid_y 4 -da_grid_z 8"};
  const char *walls[] = {"-bc noflux", "-bc periodic"};

  for (int g = 0; g < 6; g++) {
    for (int wall = 0; wall < 2; wall++) {
      const PetscReal w = 2.0 / 3.0, k = 0.37;
      char            options[256];
      Fixture         f;
      Vec             u_local, out_local, out, copy, ref;
      PetscReal       stats[3], diff, scale, mn, mx, sum, base;

      PetscSNPrintf(options, sizeof(options), "%s %s -domain_lower -2 -domain_upper 3", grids[g], walls[wall]);
      FixtureCreate(&f, options, 1);
      GF_CK(GFTransportSetFluxType(f.transport, GF_FLUX_SCHARFETTER_GUMMEL, 0.7));
      FillLocal(&f, RoughField, f.rho_local);
      FillLocal(&f, DriftField, f.drift_local);
      GF_CK(VecDuplicate(f.rho_local, &u_local));
      GF_CK(VecDuplicate(f.rho_local, &out_local));
      GF_CK(VecSet(out_local, -1));
      FillLocal(&f, SmoothField, u_local);
      GF_CK(VecDuplicate(f.rho, &out));
      GF_CK(VecDuplicate(f.rho, &copy));
      GF_CK(VecDuplicate(f.rho, &ref));
      /* the reference, unfused: y + w (u - y) (up to rounding) + k RHS */
      GF_CK(GFTransportComputeRHS(f.transport, f.rho_local, f.drift_local, f.rhs));
      GF_CK(GFGridEvaluate(f.grid, RoughField, NULL, ref));
      GF_CK(GFGridEvaluate(f.grid, SmoothField, NULL, out));
      GF_CK(VecAXPBY(ref, w, 1 - w, out));
      base = Sum(ref);
      GF_CK(VecAXPY(ref, k, f.rhs));
      GF_CK(GFTransportStage(f.transport, f.rho_local, f.drift_local, u_local, w, k, out_local, copy, stats));
      OwnedPart(&f, out_local, out);
      GF_CK(VecNorm(ref, NORM_INFINITY, &scale));
      GF_CK(VecAXPY(ref, -1, out));
      GF_CK(VecNorm(ref, NORM_INFINITY, &diff));
      ck_assert_msg(diff <= 1e-14 * scale, "%s: stage differs from y + w (u - y) + k RHS by %g (max %g)", options, (double)diff, (double)scale);
      GF_CK(VecAXPY(copy, -1, out));
      GF_CK(VecNorm(copy, NORM_INFINITY, &diff));
      ck_assert_msg(diff == 0, "%s: the copy differs from the output by %g", options, (double)diff);
      GF_CK(VecMin(out, NULL, &mn));
      GF_CK(VecMax(out, NULL, &mx));
      sum = Sum(out);
      {
        PetscReal global[3], local[2] = {-stats[0], stats[1]};
        ck_assert(MPI_Allreduce(local, global, 2, MPIU_REAL, MPI_MAX, PETSC_COMM_WORLD) == MPI_SUCCESS);
        ck_assert(MPI_Allreduce(&stats[2], &global[2], 1, MPIU_REAL, MPI_SUM, PETSC_COMM_WORLD) == MPI_SUCCESS);
        ck_assert_msg(-global[0] == mn && global[1] == mx, "%s: stage min/max %g %g, output's %g %g", options, (double)-global[0], (double)global[1], (double)mn, (double)mx);
        ck_assert_msg(PetscAbsReal(global[2] - sum) <= 1e-13 * PetscAbsReal(sum), "%s: stage sum %.17g, output's %.17g", options, (double)global[2], (double)sum);
      }
      ck_assert_msg(PetscAbsReal(sum - base) <= 1e-14 * PetscAbsReal(base), "%s: the stage changed the sum by %g of %g", options, (double)(sum - base), (double)base);
      GF_CK(VecDestroy(&u_local));
      GF_CK(VecDestroy(&out_local));
      GF_CK(VecDestroy(&out));
      GF_CK(VecDestroy(&copy));
      GF_CK(VecDestroy(&ref));
      FixtureDestroy(&f);
    }
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
  tcase_add_test(t, test_stage_matches_rhs);
  tcase_add_test(t, test_positivity_at_rate_bound);
  tcase_add_test(t, test_rate_constant_velocity);
  suite_add_tcase(s, t);
  return s;
}

int main(int argc, char **argv)
{
  return GFTestMain(argc, argv, MakeSuite);
}
