/*
  gradflow bench step: the explicit step against the memory system, in one table.

  For each grid of -bench_sizes (cells per axis; default 256, 512, 1024, 2048 in 2D and 32,
  64, 128 in 3D), a warm-up run of a few steps, then -bench_repeat times, interleaved: a
  STREAM triad a[i] = b[i] + s c[i] on every rank at once over arrays far beyond the caches
  (24 bytes per element, STREAM's count), and a timed run of the explicit scheme as a user
  runs it (diagnostics at their default interval, no output), whose seconds per step are
  those after the first (see TimedRun). Medians. The bytes a step of the fused scheme moves
  per cell, from the scheme's own count (src/solver/ssp.c): 16 + 16 dim (48 in 2D, 64 in 3D)
  inside walls with the ranks along the last axis only (one pass of the four stages), 120 in
  2D otherwise (two passes of two stages and a copy), 80 + 64 dim in 1D and 3D otherwise (four
  passes of one stage). Its GB/s over the
  triad's is the fraction of the roofline it reaches ("of it"); "per-stage" is the fraction of
  the triad that a scheme of one fused pass per stage (80 + 64 dim bytes, 208 in 2D) would need
  to reach the same updates per second: the roofline of that algorithm, the natural reference
  for a fused explicit step.
  Any run option applies (-ts_type rk times PETSc's Runge-Kutta instead: no byte count).
*/
#include "commands.h"

/* Median of n values (sorted in place). */
static PetscReal Median(PetscReal v[], PetscInt n)
{
  for (PetscInt i = 1; i < n; i++)
    for (PetscInt j = i; j > 0 && v[j - 1] > v[j]; j--) {
      const PetscReal t = v[j];
      v[j]              = v[j - 1];
      v[j - 1]          = t;
    }
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* One STREAM triad over this rank's arrays, all ranks at once: the aggregate GB/s. */
static PetscErrorCode Triad(PetscInt n, PetscReal *a, const PetscReal *b, const PetscReal *c, PetscReal *gbs)
{
  PetscLogDouble start, stop;
  PetscMPIInt    size;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  PetscCall(PetscTime(&start));
  for (PetscInt i = 0; i < n; i++) a[i] = b[i] + 3.0 * c[i];
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  PetscCall(PetscTime(&stop));
  *gbs = 24.0 * n * size / (stop - start) / 1e9;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The clock at the end of the first step and of the last one so far (a TS monitor). */
typedef struct {
  PetscLogDouble first, last;
  PetscInt       steps; /* steps from the first's end to the last's */
} StepClock;

static PetscErrorCode StepClockMonitor(TS ts, PetscInt step, PetscReal t, Vec u, void *ctx)
{
  StepClock *clock = (StepClock *)ctx;

  PetscFunctionBeginUser;
  (void)ts;
  (void)t;
  (void)u;
  if (step < 1) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  PetscCall(PetscTime(&clock->last));
  if (step == 1) clock->first = clock->last;
  clock->steps = step - 1;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  A run of the given steps (at least 2) on n cells per axis; the seconds per step after the first
  (the first also computes the face coefficients, once per run, and the run's start and end their
  full diagnostics: costs of a run, not of its steps, which a run of 20 steps at 2048^2 would
  otherwise spread over too few steps to compare with the smaller grids' hundreds); bytes its
  bytes per cell per step by the scheme's own count, 0 when it is not the fused scheme.
*/
static PetscErrorCode TimedRun(PetscInt n, PetscInt dim, PetscInt steps, PetscLogDouble *seconds, PetscReal *bytes)
{
  GFSolver  solver;
  TS        ts;
  StepClock clock = {0, 0, 0};
  char      value[32];

  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(value, sizeof(value), "%" PetscInt_FMT, n));
  PetscCall(PetscOptionsSetValue(NULL, "-da_grid_x", value));
  if (dim > 1) PetscCall(PetscOptionsSetValue(NULL, "-da_grid_y", value));
  if (dim > 2) PetscCall(PetscOptionsSetValue(NULL, "-da_grid_z", value));
  PetscCall(PetscSNPrintf(value, sizeof(value), "%" PetscInt_FMT, steps));
  PetscCall(PetscOptionsSetValue(NULL, "-ts_max_steps", value));
  PetscCall(GFSolverCreate(PETSC_COMM_WORLD, &solver));
  PetscCall(GFSolverSetFromOptions(solver));
  PetscCall(GFSolverSetUp(solver));
  PetscCall(GFSolverGetTS(solver, &ts));
  PetscCall(TSMonitorSet(ts, StepClockMonitor, &clock, NULL));
  PetscCall(GFSolverSolve(solver));
  *bytes = 0;
  {
    PetscErrorCode (*get)(TS, PetscReal *) = NULL; /* only the fused scheme has it */
    PetscCall(PetscObjectQueryFunction((PetscObject)ts, "GFFusedSSPGetBytesPerCell_C", &get));
    if (get) PetscCall(get(ts, bytes));
  }
  PetscCall(GFSolverDestroy(&solver));
  PetscCheck(clock.steps >= 1, PETSC_COMM_WORLD, PETSC_ERR_PLIB, "bench step: the run made %" PetscInt_FMT " steps, not %" PetscInt_FMT, clock.steps + 1, steps);
  *seconds = (clock.last - clock.first) / clock.steps;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Set option name to value unless the user gave it. */
static PetscErrorCode DefaultOption(const char name[], const char value[])
{
  PetscBool set;

  PetscFunctionBeginUser;
  PetscCall(PetscOptionsHasName(NULL, NULL, name, &set));
  if (!set) PetscCall(PetscOptionsSetValue(NULL, name, value));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The table's row for n cells per axis: median over the repeats of the run and of the triad interleaved with it. */
static PetscErrorCode BenchSize(PetscInt n, PetscInt dim, PetscInt repeat, PetscInt triad_n, PetscReal *arrays[3])
{
  const PetscReal cells = PetscPowRealInt((PetscReal)n, dim);
  const PetscInt  steps = (PetscInt)PetscMax(20, PetscCeilReal(3e7 / cells));
  PetscReal       run[16], stream[16], seconds, gbs, bytes;
  PetscLogDouble  t;

  PetscFunctionBeginUser;
  PetscCall(TimedRun(n, dim, 2, &t, &bytes)); /* warm-up: page faults, scatter set-up */
  for (PetscInt r = 0; r < repeat; r++) {
    PetscCall(Triad(triad_n, arrays[0], arrays[1], arrays[2], &stream[r]));
    PetscCall(TimedRun(n, dim, steps, &t, &bytes));
    run[r] = t;
  }
  seconds = Median(run, repeat);
  gbs     = Median(stream, repeat);
  if (bytes > 0) {
    const PetscReal rate = cells / seconds, per_stage = 80 + 64 * dim;
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  %5" PetscInt_FMT "^%" PetscInt_FMT "  %6" PetscInt_FMT "  %9.3f  %9.2f  %10.3e  %5.0f  %7.1f  %7.1f  %5.0f%%  %8.0f%%\n", n, dim, steps, 1e3 * seconds, 1e9 * seconds / cells, rate, (double)bytes,
                          bytes * rate / 1e9, gbs, 100 * bytes * rate / 1e9 / gbs, 100 * per_stage * rate / 1e9 / gbs));
  } else
    PetscCall(
        PetscPrintf(PETSC_COMM_WORLD, "  %5" PetscInt_FMT "^%" PetscInt_FMT "  %6" PetscInt_FMT "  %9.3f  %9.2f  %10.3e  %5s  %7s  %7.1f  %6s  %9s\n", n, dim, steps, 1e3 * seconds, 1e9 * seconds / cells, cells / seconds, "-", "-", gbs, "-", "-"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* gradflow bench step. */
PetscErrorCode GFBenchStep(void)
{
  const char *defaults[][2] = {
      {"-potential", "double_well"}, {"-init_variance", "0.3"}, {"-ts_max_time", "1e9"}, {"-output", "0"}, {"-progress", "0"}, {"-summary", "0"},
  };
  PetscInt    sizes[16], nsizes = 16, repeat = 5, dim = 2, triad_n = 1 << 24;
  PetscBool   set;
  PetscMPIInt size;
  PetscReal  *arrays[3];

  PetscFunctionBeginUser;
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "gradflow bench step", NULL);
  PetscCall(PetscOptionsInt("-dim", "Dimension of the grids", NULL, dim, &dim, NULL));
  PetscCall(PetscOptionsIntArray("-bench_sizes", "Cells per axis of each grid (default 256,512,1024,2048 in 2D; 32,64,128 in 3D)", NULL, sizes, &nsizes, &set));
  PetscCall(PetscOptionsInt("-bench_repeat", "Timed runs per grid, each after a triad (medians)", NULL, repeat, &repeat, NULL));
  PetscCall(PetscOptionsInt("-bench_triad_n", "Elements per array of the STREAM triad, per rank", NULL, triad_n, &triad_n, NULL));
  PetscOptionsEnd();
  PetscCheck(dim >= 1 && dim <= 3, PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT, "-dim %" PetscInt_FMT ": must be 1, 2 or 3", dim);
  PetscCheck(repeat >= 1 && repeat <= 16, PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT, "-bench_repeat %" PetscInt_FMT ": must be in 1 .. 16", repeat);
  PetscCheck(triad_n >= 1024, PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT, "-bench_triad_n %" PetscInt_FMT ": at least 1024", triad_n);
  if (!set) {
    const PetscInt two[] = {256, 512, 1024, 2048}, three[] = {32, 64, 128};
    nsizes = dim == 3 ? 3 : 4;
    for (PetscInt i = 0; i < nsizes; i++) sizes[i] = dim == 3 ? three[i] : two[i];
  }
  for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) PetscCall(DefaultOption(defaults[i][0], defaults[i][1]));
  {
    const char *mean[] = {"1", "1,0", "1,0,0"}, *dims[] = {"1", "2", "3"};
    PetscCall(DefaultOption("-dim", dims[dim - 1]));
    PetscCall(DefaultOption("-init_mean", mean[dim - 1]));
  }
  PetscCall(PetscMalloc3(triad_n, &arrays[0], triad_n, &arrays[1], triad_n, &arrays[2]));
  for (PetscInt i = 0; i < triad_n; i++) {
    arrays[0][i] = 0;
    arrays[1][i] = 1;
    arrays[2][i] = 2;
  }
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "bench step: Fokker-Planck in a double well, %" PetscInt_FMT "D, %d rank%s; medians of %" PetscInt_FMT " runs, each after a STREAM triad on every rank\n", dim, size, size > 1 ? "s" : "", repeat));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  %7s  %6s  %9s  %9s  %10s  %5s  %7s  %7s  %6s  %9s\n", "grid", "steps", "ms/step", "ns/cell", "updates/s", "B/cell", "GB/s", "triad", "of it", "per-stage"));
  for (PetscInt i = 0; i < nsizes; i++) PetscCall(BenchSize(sizes[i], dim, repeat, triad_n, arrays));
  PetscCall(PetscFree3(arrays[0], arrays[1], arrays[2]));
  PetscFunctionReturn(PETSC_SUCCESS);
}
