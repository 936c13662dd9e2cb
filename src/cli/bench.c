/*
  gradflow bench NAME: timings, never run by the tests.
    step         cell updates per second of the explicit transport step (default: 2D, 1024 x 1024,
                 Fokker-Planck in a double well, 20 steps); any run option applies, -log_view
                 shows where the time goes
    convolution  one FFT convolution against one forward plus one inverse FFTW transform
*/
#include "commands.h"

/* Set option name to value unless the user gave it. */
static PetscErrorCode DefaultOption(const char name[], const char value[])
{
  PetscBool set;

  PetscFunctionBeginUser;
  PetscCall(PetscOptionsHasName(NULL, NULL, name, &set));
  if (!set) PetscCall(PetscOptionsSetValue(NULL, name, value));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Time the explicit steps of a run (after one untimed warm-up step) and report cell updates per second. */
static PetscErrorCode GFBenchStep(void)
{
  const char *defaults[][2] = {
      {"-dim", "2"},    {"-da_grid_x", "1024"}, {"-da_grid_y", "1024"}, {"-potential", "double_well"}, {"-init_mean", "1,0"}, {"-init_variance", "0.3"}, {"-ts_max_steps", "20"}, {"-ts_max_time", "1e9"},
      {"-output", "0"}, {"-progress", "0"},     {"-summary", "0"},
  };
  GFSolver        solver;
  GFGrid          grid;
  GFRunStatistics stats;
  PetscInt        cells[3], steps, warm;
  PetscLogDouble  start, stop;
  PetscMPIInt     size;
  PetscReal       n_cells;

  PetscFunctionBeginUser;
  for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) PetscCall(DefaultOption(defaults[i][0], defaults[i][1]));
  PetscCall(PetscOptionsGetInt(NULL, NULL, "-ts_max_steps", &steps, NULL));
  /* a warm-up run of one step: first-touch page faults and scatter set-up are not the step */
  PetscCall(PetscOptionsSetValue(NULL, "-ts_max_steps", "1"));
  PetscCall(GFSolverCreate(PETSC_COMM_WORLD, &solver));
  PetscCall(GFSolverSetFromOptions(solver));
  PetscCall(GFSolverSolve(solver));
  PetscCall(GFSolverDestroy(&solver));
  PetscCall(PetscOptionsSetValue(NULL, "-ts_max_steps", "1000000000"));
  {
    char buf[32];
    PetscCall(PetscSNPrintf(buf, sizeof(buf), "%" PetscInt_FMT, steps));
    PetscCall(PetscOptionsSetValue(NULL, "-ts_max_steps", buf));
  }
  PetscCall(GFSolverCreate(PETSC_COMM_WORLD, &solver));
  PetscCall(GFSolverSetFromOptions(solver));
  PetscCall(GFSolverSetUp(solver));
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  PetscCall(PetscTime(&start));
  PetscCall(GFSolverSolve(solver));
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  PetscCall(PetscTime(&stop));
  PetscCall(GFSolverGetStatistics(solver, &stats));
  PetscCall(GFSolverGetGrid(solver, &grid));
  PetscCall(GFGridGetCells(grid, cells));
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  warm    = stats.steps;
  n_cells = (PetscReal)cells[0] * cells[1] * cells[2];
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "bench step: %.0f cells, %d rank%s, %" PetscInt_FMT " steps in %.3f s (diagnostics included)\n", (double)n_cells, size, size > 1 ? "s" : "", warm, stop - start));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  %.3e cell updates per second (one update = one cell advanced one full step)\n", (double)(n_cells * warm / (stop - start))));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  %.3f ms per step\n", (double)(1e3 * (stop - start) / warm)));
  PetscCall(GFSolverDestroy(&solver));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFCommandBench(const char name[])
{
  PetscFunctionBeginUser;
  if (!strcmp(name, "step"))
    PetscCall(GFBenchStep());
  else if (!strcmp(name, "convolution"))
    PetscCall(GFBenchConvolution());
  else
    SETERRQ(PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT, "gradflow bench %s: unknown benchmark; valid are step, convolution", name);
  PetscFunctionReturn(PETSC_SUCCESS);
}
