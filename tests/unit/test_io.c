/* Snapshots: round trip, restart continuity, and every way an init file can be wrong. */
#include "gftest.h"
#include <hdf5.h>

static const char run_1d[] = "-potential quadratic -init_mean 0.5 -init_variance 0.3 -domain_lower -4 -domain_upper 4 -da_grid_x 96 -ts_max_time 0.4 -output_interval 0.2 -output 1 -output_overwrite";

/* Run with output into dir and return the final density (caller destroys). */
static Vec RunInto(const char dir[], const char extra[])
{
  char     options[1024];
  GFSolver solver;
  Vec      rho, copy;

  PetscSNPrintf(options, sizeof(options), "%s -output_dir %s %s", run_1d, dir, extra);
  solver = GFTestSolve(options);
  GF_CK(GFSolverGetSolution(solver, &rho));
  GF_CK(VecDuplicate(rho, &copy));
  GF_CK(VecCopy(rho, copy));
  GF_CK(GFSolverDestroy(&solver));
  return copy;
}

/* Restarting from the t = 0.2 snapshot reproduces the uninterrupted run's final density to 1e-12. */
START_TEST(test_restart_continues_the_run)
{
  Vec       full, restarted;
  PetscReal diff;

  full      = RunInto("io_full", "");
  restarted = RunInto("io_restart", "-init file -init_file io_full/snap_00001.h5");
  diff      = GFTestMaxDifference(full, restarted);
  ck_assert_msg(diff <= 1e-12, "restart differs by %g", (double)diff);
  GF_CK(VecDestroy(&full));
  GF_CK(VecDestroy(&restarted));
}
END_TEST

/* A snapshot read back equals what was written, with its time and step. */
START_TEST(test_round_trip)
{
  char      options[512];
  GFSolver  solver;
  GFGrid    grid;
  Vec       rho, back;
  PetscReal time, diff;
  PetscInt  step;

  PetscSNPrintf(options, sizeof(options), "%s -output_dir io_round", run_1d);
  solver = GFTestSolve(options);
  GF_CK(GFSolverGetGrid(solver, &grid));
  GF_CK(GFSolverGetSolution(solver, &rho));
  GF_CK(VecDuplicate(rho, &back));
  GF_CK(GFSnapshotRead(grid, "io_round/snap_00002.h5", back, &time, &step));
  diff = GFTestMaxDifference(rho, back);
  ck_assert_double_eq(diff, 0);
  ck_assert_double_eq_tol(time, 0.4, 1e-14);
  ck_assert(step > 0);
  GF_CK(VecDestroy(&back));
  GF_CK(GFSolverDestroy(&solver));
}
END_TEST

/* Overwrite the density of a snapshot (rank 0), to make broken init files. */
static void Corrupt(const char path[], const char copy_to[], double value, int where)
{
  PetscMPIInt rank;

  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  if (rank == 0) {
    char   cmd[512];
    hid_t  file, dset;
    double data[96];

    PetscSNPrintf(cmd, sizeof(cmd), "cp %s %s", path, copy_to);
    ck_assert_int_eq(system(cmd), 0);
    file = H5Fopen(copy_to, H5F_ACC_RDWR, H5P_DEFAULT);
    dset = H5Dopen2(file, "density", H5P_DEFAULT);
    ck_assert(H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    if (where < 0)
      for (int i = 0; i < 96; i++) data[i] = value;
    else
      data[where] = value;
    ck_assert(H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    H5Dclose(dset);
    H5Fclose(file);
  }
  MPI_Barrier(PETSC_COMM_WORLD);
}

static PetscErrorCode RunOptions(const char options[])
{
  GFSolver solver = NULL;

  PetscFunctionBeginUser;
  GFTestSetOptions(options);
  PetscCall(GFSolverCreate(PETSC_COMM_WORLD, &solver));
  PetscCall(GFSolverSetFromOptions(solver));
  PetscCall(GFSolverSolve(solver));
  PetscCall(GFSolverDestroy(&solver));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Missing, not HDF5, another grid, NaN, negative and zero-mass files are refused with clear messages. */
START_TEST(test_bad_init_files)
{
  char        options[1024];
  PetscMPIInt rank;
  Vec         v;

  v = RunInto("io_src", "");
  GF_CK(VecDestroy(&v));
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  if (rank == 0) {
    FILE *f = fopen("io_not_hdf5.h5", "w");
    fputs("this is not HDF5\n", f);
    fclose(f);
  }
  Corrupt("io_src/snap_00001.h5", "io_nan.h5", NAN, 40);
  Corrupt("io_src/snap_00001.h5", "io_negative.h5", -1e-3, 17);
  Corrupt("io_src/snap_00001.h5", "io_zero.h5", 0, -1);
  MPI_Barrier(PETSC_COMM_WORLD);
  {
    const struct {
      const char    *file, *extra, *message;
      PetscErrorCode code;
    } cases[] = {
        {"io_missing.h5", "", "-init_file io_missing.h5: no such readable file", PETSC_ERR_FILE_OPEN},
        {"io_not_hdf5.h5", "", "-init_file io_not_hdf5.h5: not an HDF5 file", PETSC_ERR_FILE_UNEXPECTED},
        {"io_src/snap_00001.h5", "-da_grid_x 64", "the snapshot has 96 cells along x, this run has 64 (-da_grid_x): a different grid", PETSC_ERR_USER_INPUT},
        {"io_src/snap_00001.h5", "-domain_upper 5", "the snapshot's domain along x is [-4, 4], this run's is [-4, 5]", PETSC_ERR_USER_INPUT},
        {"io_src/snap_00001.h5", "-dim 2", "the snapshot is 1D, this run is 2D", PETSC_ERR_USER_INPUT},
        {"io_nan.h5", "", "the initial density has 1 NaN or infinite values", PETSC_ERR_USER_INPUT},
        {"io_negative.h5", "", "the initial density has 1 negative values (min -0.001)", PETSC_ERR_USER_INPUT},
        {"io_zero.h5", "", "the initial density has zero mass", PETSC_ERR_USER_INPUT},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
      PetscSNPrintf(options, sizeof(options), "%s -output_dir io_bad -init file -init_file %s %s", run_1d, cases[c].file, cases[c].extra);
      GF_ASSERT_ERROR(RunOptions(options), cases[c].code, cases[c].message);
    }
  }
}
END_TEST

/* An existing run directory is refused without -output_overwrite; an unwritable one before the first step. */
START_TEST(test_output_directory)
{
  char        options[1024];
  PetscMPIInt rank;
  Vec         v;

  v = RunInto("io_exists", "");
  GF_CK(VecDestroy(&v));
  PetscSNPrintf(options, sizeof(options), "-potential quadratic -da_grid_x 32 -ts_max_time 0.1 -output 1 -output_dir io_exists");
  GF_ASSERT_ERROR(RunOptions(options), PETSC_ERR_USER_INPUT, "-output_dir io_exists: the directory exists and holds other results; add -output_overwrite");
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  if (rank == 0) {
    FILE *f = fopen("io_plain_file", "w");
    fclose(f);
  }
  MPI_Barrier(PETSC_COMM_WORLD);
  PetscSNPrintf(options, sizeof(options), "-potential quadratic -da_grid_x 32 -ts_max_time 0.1 -output 1 -output_dir io_plain_file/run");
  GF_ASSERT_ERROR(RunOptions(options), PETSC_ERR_FILE_WRITE, "-output_dir io_plain_file/run: cannot create the directory");
}
END_TEST

static Suite *MakeSuite(void)
{
  Suite *s = suite_create("io");
  TCase *t = tcase_create("io");
  tcase_set_timeout(t, 120);
  tcase_add_test(t, test_round_trip);
  tcase_add_test(t, test_restart_continues_the_run);
  tcase_add_test(t, test_bad_init_files);
  tcase_add_test(t, test_output_directory);
  suite_add_tcase(s, t);
  return s;
}

int main(int argc, char **argv)
{
  return GFTestMain(argc, argv, MakeSuite);
}
