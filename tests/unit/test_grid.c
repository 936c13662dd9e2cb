/* GFGrid: options, validation messages, geometry, Gaussian cell averages, mesh presets. */
#include "gftest.h"

static PetscErrorCode GridFromOptions(const char options[], GFGrid *grid)
{
  PetscFunctionBeginUser;
  GFTestSetOptions(options);
  PetscCall(GFGridCreate(PETSC_COMM_WORLD, grid));
  PetscCall(GFGridSetFromOptions(*grid));
  PetscCall(GFGridSetUp(*grid));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Bad grid options fail with PETSC_ERR_USER_INPUT and a message naming the option and value. */
START_TEST(test_bad_options)
{
  const struct {
    const char *options, *message;
  } cases[] = {
      {"-dim 4", "-dim 4: the dimension must be 1, 2 or 3"},
      {"-da_grid_x 1", "-da_grid_x 1: need at least 2 cells per axis"},
      {"-dim 2 -da_grid_y 1", "-da_grid_y 1: need at least 2 cells per axis"},
      {"-domain_lower 2 -domain_upper 1", "-domain_lower 2 is not below -domain_upper 1 on axis x"},
      {"-dim 2 -domain_lower 0,1,2", "-domain_lower has 3 entries, but -dim 2 needs 2"},
      {"-dim 3 -domain_upper 1,2", "-domain_upper has 2 entries, but -dim 3 needs 3"},
      {"-bc wrap", "-bc wrap: valid are noflux, periodic"},
      {"-mesh no_such_mesh", "-mesh no_such_mesh: no file meshes/no_such_mesh.yaml"},
  };
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    GFGrid grid = NULL;
    GF_ASSERT_ERROR(GridFromOptions(cases[c].options, &grid), PETSC_ERR_USER_INPUT, cases[c].message);
    GF_CK(GFGridDestroy(&grid));
  }
}
END_TEST

/* More ranks than the stencil allows along the only axis is refused collectively. */
START_TEST(test_too_many_ranks)
{
  PetscMPIInt size;
  GFGrid      grid = NULL;

  MPI_Comm_size(PETSC_COMM_WORLD, &size);
  if (size < 2) return;
  GF_ASSERT_ERROR(GridFromOptions("-da_grid_x 3", &grid), PETSC_ERR_USER_INPUT, "too small for");
  GF_CK(GFGridDestroy(&grid));
}
END_TEST

/* Per-axis lists, a single value for all axes, spacing and cell volume. */
START_TEST(test_geometry)
{
  GFGrid    grid;
  PetscReal lower[3], upper[3], vol;
  PetscInt  cells[3];

  GF_CK(GridFromOptions("-dim 3 -da_grid_x 10 -da_grid_y 8 -da_grid_z 6 -domain_lower -1,-2,0 -domain_upper 4", &grid));
  GF_CK(GFGridGetBox(grid, lower, upper));
  GF_CK(GFGridGetCells(grid, cells));
  GF_CK(GFGridGetCellVolume(grid, &vol));
  ck_assert_double_eq(lower[1], -2);
  ck_assert_double_eq(upper[2], 4);
  ck_assert_int_eq(cells[1], 8);
  ck_assert_double_eq_tol(vol, (5.0 / 10) * (6.0 / 8) * (4.0 / 6), 1e-15);
  GF_CK(GFGridDestroy(&grid));
}
END_TEST

/* Gaussian cell averages integrate to the mass in the box; moments with Sheppard's correction are exact. */
START_TEST(test_gaussian_cell_averages)
{
  GFGrid          grid;
  DM              da;
  Vec             rho;
  PetscReal       mass;
  const PetscReal mean[3] = {0.3, -0.2, 0}, variance[3] = {0.5, 0.8, 1};

  GF_CK(GridFromOptions("-dim 2 -da_grid_x 40 -da_grid_y 30 -domain_lower -10 -domain_upper 10", &grid));
  GF_CK(GFGridGetDM(grid, &da));
  GF_CK(DMCreateGlobalVector(da, &rho));
  GF_CK(GFGridGaussianCellAverages(grid, mean, variance, rho));
  GF_CK(GFGridIntegrate(grid, rho, &mass));
  ck_assert_double_eq_tol(mass, 1, 1e-14);
  GF_CK(VecDestroy(&rho));
  GF_CK(GFGridDestroy(&grid));
}
END_TEST

/* A mesh preset sets defaults that the command line overrides. */
/* W2 of the cell averages of two Gaussians, against (m1 - m2)^2 + (s1 - s2)^2 for the Gaussians themselves. */
static PetscReal GaussianW(const char options[], PetscReal m1, PetscReal v1, PetscReal m2, PetscReal v2, PetscReal *w1)
{
  GFGrid    grid;
  Vec       a, b;
  DM        da;
  PetscReal w2;

  GF_CK(GridFromOptions(options, &grid));
  GF_CK(GFGridGetDM(grid, &da));
  GF_CK(DMCreateGlobalVector(da, &a));
  GF_CK(VecDuplicate(a, &b));
  GF_CK(GFGridGaussianCellAverages(grid, &m1, &v1, a));
  GF_CK(GFGridGaussianCellAverages(grid, &m2, &v2, b));
  GF_CK(GFGridWasserstein1D(grid, a, b, w1, &w2));
  GF_CK(VecDestroy(&a));
  GF_CK(VecDestroy(&b));
  GF_CK(GFGridDestroy(&grid));
  return w2;
}

/*
  W1 and W2 from CDFs and quantiles: a shift by whole cells is exactly its length in both;
  Gaussians of different widths match the closed form to O(h^2); a shift of 1e-9 is
  measured to 0.1% (summing the upper tail from the left would floor W2 near 3e-10).
*/
START_TEST(test_wasserstein)
{
  const char *grid = "-da_grid_x 256 -domain_lower -8 -domain_upper 8";
  PetscReal   w1, w2;

  w2 = GaussianW(grid, 0, 0.5, 0, 0.5, &w1);
  ck_assert_msg(w1 == 0 && w2 == 0, "identical densities: W1 %g W2 %g", (double)w1, (double)w2);
  w2 = GaussianW(grid, 0.25, 0.5, 0.25 + 5.0 / 16, 0.5, &w1);
  ck_assert_msg(PetscAbsReal(w1 - 5.0 / 16) < 1e-12 && PetscAbsReal(w2 - 5.0 / 16) < 1e-12, "shift by 5 cells: W1 %.17g W2 %.17g, expected 0.3125", (double)w1, (double)w2);
  w2 = GaussianW("-da_grid_x 2048 -domain_lower -8 -domain_upper 8", 0.3, 0.5, -0.2, 1.2, &w1);
  {
    const PetscReal exact = PetscSqrtReal(0.25 + PetscSqr(PetscSqrtReal(0.5) - PetscSqrtReal(1.2)));
    ck_assert_msg(PetscAbsReal(w2 - exact) < 1e-5, "W2 of N(0.3, 0.5), N(-0.2, 1.2): %.10g, exact %.10g", (double)w2, (double)exact);
    ck_assert_msg(w1 >= 0.5 - 1e-9 && w1 <= w2 + 1e-9, "W1 %.10g must lie between |m1 - m2| = 0.5 and W2 %.10g", (double)w1, (double)w2);
  }
  w2 = GaussianW(grid, 0, 0.25, 1e-9, 0.25, &w1);
  ck_assert_msg(PetscAbsReal(w2 - 1e-9) < 1e-12 && PetscAbsReal(w1 - 1e-9) < 1e-12, "shift by 1e-9: W1 %.6g W2 %.6g", (double)w1, (double)w2);
}
END_TEST

START_TEST(test_mesh_preset)
{
  GFGrid    grid;
  PetscInt  cells[3], dim;
  PetscReal lower[3], upper[3];
  char      options[PETSC_MAX_PATH_LEN + 64];

  PetscSNPrintf(options, sizeof(options), "-mesh %s/meshes/square_8.yaml -da_grid_y 16", GRADFLOW_SOURCE_DIR);
  GF_CK(GridFromOptions(options, &grid));
  GF_CK(GFGridGetDimension(grid, &dim));
  GF_CK(GFGridGetCells(grid, cells));
  GF_CK(GFGridGetBox(grid, lower, upper));
  ck_assert_int_eq(dim, 2);
  ck_assert_int_eq(cells[0], 128);
  ck_assert_int_eq(cells[1], 16);
  ck_assert_double_eq(lower[0], -4);
  ck_assert_double_eq(upper[1], 4);
  GF_CK(GFGridDestroy(&grid));
}
END_TEST

static Suite *MakeSuite(void)
{
  Suite *s = suite_create("grid");
  TCase *t = tcase_create("grid");
  tcase_add_test(t, test_bad_options);
  tcase_add_test(t, test_too_many_ranks);
  tcase_add_test(t, test_geometry);
  tcase_add_test(t, test_gaussian_cell_averages);
  tcase_add_test(t, test_mesh_preset);
  tcase_add_test(t, test_wasserstein);
  suite_add_tcase(s, t);
  return s;
}

int main(int argc, char **argv)
{
  return GFTestMain(argc, argv, MakeSuite);
}
