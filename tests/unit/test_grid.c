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
      {"-bc wrap", "-bc wrap: unknown wall type; valid are noflux, periodic"},
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
  suite_add_tcase(s, t);
  return s;
}

int main(int argc, char **argv)
{
  return GFTestMain(argc, argv, MakeSuite);
}
