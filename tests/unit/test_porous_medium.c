/* porous_medium against Barenblatt solutions, its stationary state under confinement, and the assembled Jacobian. */
#include "gftest.h"

/* Largest |x| of a cell with rho > 1e-6 max rho (1D), and max rho: the numerical front and peak. */
static void FrontAndPeak(GFSolver solver, PetscReal *front, PetscReal *peak)
{
  GFGrid             grid;
  Vec                rho;
  const PetscScalar *r;
  PetscInt           xs, xm, cells[3];
  PetscReal          lower[1], upper[1], h, local = 0;
  DM                 da;

  GF_CK(GFSolverGetGrid(solver, &grid));
  GF_CK(GFSolverGetSolution(solver, &rho));
  GF_CK(GFGridGetDM(grid, &da));
  GF_CK(GFGridGetCells(grid, cells));
  GF_CK(GFGridGetBox(grid, lower, upper));
  h = (upper[0] - lower[0]) / cells[0];
  GF_CK(VecMax(rho, NULL, peak));
  GF_CK(DMDAGetCorners(da, &xs, NULL, NULL, &xm, NULL, NULL));
  GF_CK(VecGetArrayRead(rho, &r));
  for (PetscInt i = 0; i < xm; i++)
    if (PetscRealPart(r[i]) > 1e-6 * *peak) local = PetscMax(local, PetscAbsReal(lower[0] + (xs + i + 0.5) * h));
  GF_CK(VecRestoreArrayRead(rho, &r));
  ck_assert_int_eq(MPI_Allreduce(&local, front, 1, MPIU_REAL, MPI_MAX, PETSC_COMM_WORLD), MPI_SUCCESS);
}

static const char barenblatt_1d[] = "-model porous_medium -diffusion_exponent 2 -init barenblatt -init_time 1 -ts_max_time 2 -domain_lower -4 -domain_upper 4 -exact -ts_type bdf -ts_bdf_order 2 -ts_dt 0.002";

/*
  Case 1 (1D): m = 2, mass 1, t = 1 -> 2: relative L1 error below 1e-3 at 1024 cells, observed
  order above 1 between doublings, front (2.080084 t^(1/3)) within 2 cells, peak within 1%.
*/
START_TEST(test_barenblatt_1d)
{
  const PetscReal t = 2, front_exact = 2.080084 * PetscCbrtReal(t), peak_exact = PetscPowReal(t, -1.0 / 3) * PetscPowReal(3.0 / (4 * PetscSqrtReal(12.0)), 2.0 / 3);
  PetscReal       error[3];

  for (int level = 0; level < 3; level++) {
    char      options[512];
    GFSolver  solver;
    PetscReal front, peak, h = 8.0 / (256 << level);

    PetscSNPrintf(options, sizeof(options), "%s -da_grid_x %d", barenblatt_1d, 256 << level);
    solver = GFTestSolve(options);
    GFTestAssertStructurePreserved(solver, options, "energy");
    error[level] = GFTestAssertExactError(solver, options, level == 2 ? 1e-3 : PETSC_INFINITY);
    if (level == 2) {
      FrontAndPeak(solver, &front, &peak);
      ck_assert_msg(PetscAbsReal(front - front_exact) <= 2 * h, "front %.6f, exact %.6f (h = %g)", (double)front, (double)front_exact, (double)h);
      ck_assert_msg(PetscAbsReal(peak - peak_exact) <= 0.01 * peak_exact, "peak %.6f, exact %.6f", (double)peak, (double)peak_exact);
    }
    GF_CK(GFSolverDestroy(&solver));
  }
  GFTestAssertOrder("1D Barenblatt, L1 from 256 to 1024 cells", 3, error, 1);
}
END_TEST

/* Crank-Nicolson (theta = 1/2, endpoint form) on compact support: second order in time, structure kept. */
START_TEST(test_crank_nicolson)
{
  PetscReal error[2];

  for (int level = 0; level < 2; level++) {
    char     options[512];
    GFSolver solver;

    PetscSNPrintf(options, sizeof(options), "-model porous_medium -init barenblatt -init_time 1 -ts_max_time 2 -domain_lower -4 -domain_upper 4 -exact -da_grid_x 2048 -ts_type theta -ts_theta_theta 0.5 -ts_dt %g", 0.1 / (1 << level));
    solver = GFTestSolve(options);
    GFTestAssertStructurePreserved(solver, options, "energy");
    error[level] = GFTestAssertExactError(solver, options, PETSC_INFINITY);
    GF_CK(GFSolverDestroy(&solver));
  }
  GFTestAssertOrder("Crank-Nicolson, dt 0.1 to 0.05", 2, error, 1.5);
}
END_TEST

/* Case 2 (1D, m = 3; the profile has a square-root front): the error falls by more than 1.5x per doubling of the grid, to below 5e-3 at 512 cells. */
START_TEST(test_barenblatt_1d_m3)
{
  PetscReal error[2];

  for (int level = 0; level < 2; level++) {
    char     options[512];
    GFSolver solver;

    PetscSNPrintf(options, sizeof(options), "%s -diffusion_exponent 3 -da_grid_x %d", barenblatt_1d, 256 << level);
    solver = GFTestSolve(options);
    GFTestAssertStructurePreserved(solver, options, "energy");
    error[level] = GFTestAssertExactError(solver, options, level == 1 ? 5e-3 : PETSC_INFINITY);
    GF_CK(GFSolverDestroy(&solver));
  }
  GFTestAssertOrder("1D Barenblatt m = 3, L1 from 256 to 512 cells (error ratio 1.5)", 2, error, PetscLog2Real(1.5));
}
END_TEST

/* 2D Barenblatt, implicit backward Euler (dt ~ h) with multigrid, and explicit SSP: both converge and keep the structure. */
START_TEST(test_barenblatt_2d)
{
  const char *steppers[] = {"-ts_type beuler -ts_dt %g", "-ts_type rk"};
  PetscReal   error[2][2];

  for (int t = 0; t < 2; t++) {
    for (int level = 0; level < 2; level++) {
      char     options[512], stepper[64];
      GFSolver solver;

      PetscSNPrintf(stepper, sizeof(stepper), steppers[t], 0.025 / (1 << level));
      PetscSNPrintf(options, sizeof(options), "-model porous_medium -dim 2 -da_grid_x %d -da_grid_y %d -domain_lower -3 -domain_upper 3 -init barenblatt -init_time 1 -ts_max_time 1.25 -exact %s", 32 << level, 32 << level, stepper);
      solver = GFTestSolve(options);
      GFTestAssertStructurePreserved(solver, options, "energy");
      error[t][level] = GFTestAssertExactError(solver, options, PETSC_INFINITY);
      GF_CK(GFSolverDestroy(&solver));
    }
    GFTestAssertOrder(steppers[t], 2, error[t], 0.9);
  }
}
END_TEST

/*
  Case 5: d_t rho = Laplace(rho^2) + div(x rho) relaxes to the stationary Barenblatt with
  F - F_inf ~ e^(-2t) (Carrillo-Toscani): fitted rate within 10% of 2 over t in [1, 4],
  F_inf the energy of the discrete stationary state. Backward Euler with dt = 0.01 turns
  e^(-2t) into (1 + 2 dt)^(-t/dt), a rate of 1.98.
*/
START_TEST(test_confined_decay)
{
  const char    common[] = "-model porous_medium -dim 2 -da_grid_x 64 -da_grid_y 64 -domain_lower -4 -domain_upper 4 -potential quadratic";
  char          options[512];
  GFSolver      solver;
  GFDiagnostics d;
  PetscReal     energy_inf, sx = 0, sy = 0, sxx = 0, sxy = 0, rate;
  PetscInt      n = 0;

  PetscSNPrintf(options, sizeof(options), "%s -init gibbs -ts_max_steps 1 -ts_max_time 1", common);
  solver = GFTestSolve(options);
  GF_CK(GFSolverGetDiagnostics(solver, &d));
  energy_inf = d.energy;
  GF_CK(GFSolverDestroy(&solver));
  for (PetscReal t_end = 1; t_end <= 4 + 1e-9; t_end += 0.5) {
    PetscSNPrintf(options, sizeof(options), "%s -init gaussian -init_mean 0.5,0 -init_variance 0.3,0.6 -ts_type beuler -ts_dt 0.01 -ts_max_time %g", common, (double)t_end);
    solver = GFTestSolve(options);
    GF_CK(GFSolverGetDiagnostics(solver, &d));
    if (t_end == 4) GFTestAssertStructurePreserved(solver, options, "energy");
    ck_assert(d.energy > energy_inf);
    sx += t_end;
    sy += PetscLogReal(d.energy - energy_inf);
    sxx += t_end * t_end;
    sxy += t_end * PetscLogReal(d.energy - energy_inf);
    n++;
    GF_CK(GFSolverDestroy(&solver));
  }
  rate = -(n * sxy - sx * sy) / (n * sxx - sx * sx);
  ck_assert_msg(PetscAbsReal(rate - 2) <= 0.2, "fitted decay rate of F - F_inf: %.4f", (double)rate);
}
END_TEST

/*
  The assembled Jacobian equals the coloured finite-difference one (porous medium m = 2
  and 3, with and without a potential, periodic and walls, 1D to 3D; Fokker-Planck).
  The data are asymmetric: where a face velocity is exactly zero or a minmod ties, the
  flux has two one-sided derivatives and either is a valid Newton Jacobian.
*/
START_TEST(test_jacobian)
{
  const char *runs[] = {
      "-model porous_medium -dim 2 -da_grid_x 12 -da_grid_y 10 -potential double_well -init gaussian -init_mean 0.4,0.1 -init_variance 0.5",
      "-model porous_medium -diffusion_exponent 3 -dim 2 -da_grid_x 12 -da_grid_y 10 -bc periodic -init gaussian -init_mean 0.37,-0.21 -init_variance 0.4",
      "-model porous_medium -dim 3 -da_grid_x 8 -da_grid_y 7 -da_grid_z 6 -potential quadratic -init gaussian -init_mean 0.37,-0.21,0.13 -init_variance 0.6",
      "-model porous_medium -dim 1 -da_grid_x 40 -init barenblatt -init_time 1 -fv_reconstruction constant",
      "-model fokker_planck -dim 2 -da_grid_x 12 -da_grid_y 10 -potential double_well -init gaussian",
  };

  for (size_t r = 0; r < sizeof(runs) / sizeof(runs[0]); r++) {
    Mat       J[2];
    PetscReal norm, diff;

    for (int fd = 0; fd < 2; fd++) {
      char     options[512];
      GFSolver solver;
      TS       ts;
      Vec      rho, dot;
      Mat      A, B;

      PetscSNPrintf(options, sizeof(options), "%s -ts_type beuler -ts_dt 0.01 -domain_lower -3 -domain_upper 3 %s", runs[r], fd ? "-jacobian_fd" : "");
      GFTestSetOptions(options);
      GF_CK(GFSolverCreate(PETSC_COMM_WORLD, &solver));
      GF_CK(GFSolverSetFromOptions(solver));
      GF_CK(GFSolverSetUp(solver));
      GF_CK(GFSolverGetTS(solver, &ts));
      GF_CK(GFSolverGetSolution(solver, &rho));
      GF_CK(VecDuplicate(rho, &dot));
      GF_CK(VecSet(dot, 0));
      GF_CK(TSGetIJacobian(ts, &A, &B, NULL, NULL));
      GF_CK(TSComputeIJacobian(ts, 0.5, rho, dot, 100.0, A, B, PETSC_FALSE));
      GF_CK(MatDuplicate(B, MAT_COPY_VALUES, &J[fd]));
      GF_CK(VecDestroy(&dot));
      GF_CK(GFSolverDestroy(&solver));
    }
    GF_CK(MatNorm(J[0], NORM_FROBENIUS, &norm));
    GF_CK(MatAXPY(J[1], -1, J[0], DIFFERENT_NONZERO_PATTERN));
    GF_CK(MatNorm(J[1], NORM_FROBENIUS, &diff));
    ck_assert_msg(diff <= 1e-6 * norm, "%s: |J - J_fd| / |J| = %g", runs[r], (double)(diff / norm));
    GF_CK(MatDestroy(&J[0]));
    GF_CK(MatDestroy(&J[1]));
  }
}
END_TEST

static Suite *MakeSuite(void)
{
  Suite *s = suite_create("porous_medium");
  TCase *t = tcase_create("porous_medium");
  tcase_set_timeout(t, 600);
  tcase_add_test(t, test_jacobian);
  tcase_add_test(t, test_barenblatt_1d);
  tcase_add_test(t, test_barenblatt_1d_m3);
  tcase_add_test(t, test_crank_nicolson);
  tcase_add_test(t, test_barenblatt_2d);
  tcase_add_test(t, test_confined_decay);
  suite_add_tcase(s, t);
  return s;
}

int main(int argc, char **argv)
{
  return GFTestMain(argc, argv, MakeSuite);
}
