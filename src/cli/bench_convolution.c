/*
  gradflow bench convolution: on 2D no-flux n x n grids, the time of one GFConvolutionApply
  against one forward plus one inverse MATFFTW transform of the padded 2n x 2n size, which
  is the floor the convolution stands on (it adds the scatters and the complex product).
  Options: -bench_sizes 128,256,... (n per axis), -bench_repeat R (timed repeats after one warm-up).
*/
#include "commands.h"

#define GF_BENCH_MAX_SIZES 16

/* A cheap kernel for timing: the Gaussian exp(-|x|^2/2) at the cell centre. */
static PetscErrorCode BenchKernel(PetscInt dim, const PetscReal x[], const PetscReal h[], PetscReal values[], void *ctx)
{
  PetscReal r2 = 0;

  PetscFunctionBeginUser;
  (void)h, (void)ctx;
  for (PetscInt a = 0; a < dim; a++) r2 += x[a] * x[a];
  values[0] = PetscExpReal(-r2 / 2);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A 2D no-flux n x n grid on [-5, 5]^2, set up from its own options database so the user's options do not reach it. */
static PetscErrorCode BenchGridCreate(PetscInt n, GFGrid *grid)
{
  PetscOptions options;
  char         cells[32];

  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(cells, sizeof(cells), "%" PetscInt_FMT, n));
  PetscCall(PetscOptionsCreate(&options));
  PetscCall(PetscOptionsSetValue(options, "-dim", "2"));
  PetscCall(PetscOptionsSetValue(options, "-da_grid_x", cells));
  PetscCall(PetscOptionsSetValue(options, "-da_grid_y", cells));
  PetscCall(PetscOptionsSetValue(options, "-bc", "noflux"));
  PetscCall(PetscOptionsPush(options));
  PetscCall(GFGridCreate(PETSC_COMM_WORLD, grid));
  PetscCall(GFGridSetFromOptions(*grid));
  PetscCall(GFGridSetUp(*grid));
  PetscCall(PetscOptionsPop());
  PetscCall(PetscOptionsDestroy(&options));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Seconds per GFConvolutionApply on the n x n no-flux grid: the mean over repeat calls after one warm-up, slowest rank. */
static PetscErrorCode BenchTimeConvolution(PetscInt n, PetscInt repeat, PetscReal *seconds)
{
  const PetscReal mean[3] = {0.5, -0.5, 0}, variance[3] = {1, 2, 1};
  GFGrid          grid;
  GFConvolution   conv;
  DM              da;
  Vec             rho, out;
  PetscInt        id;
  PetscLogDouble  start, stop;
  PetscReal       elapsed;

  PetscFunctionBeginUser;
  PetscCall(BenchGridCreate(n, &grid));
  PetscCall(GFGridGetDM(grid, &da));
  PetscCall(DMCreateGlobalVector(da, &rho));
  PetscCall(VecDuplicate(rho, &out));
  PetscCall(GFGridGaussianCellAverages(grid, mean, variance, rho));
  PetscCall(GFConvolutionCreate(grid, &conv));
  PetscCall(GFConvolutionAddKernel(conv, BenchKernel, 0, NULL, &id));
  PetscCall(GFConvolutionApply(conv, id, rho, out));
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  PetscCall(PetscTime(&start));
  for (PetscInt r = 0; r < repeat; r++) PetscCall(GFConvolutionApply(conv, id, rho, out));
  PetscCall(PetscTime(&stop));
  elapsed = (PetscReal)(stop - start);
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, &elapsed, 1, MPIU_REAL, MPIU_MAX, PETSC_COMM_WORLD));
  *seconds = elapsed / repeat;
  PetscCall(GFConvolutionDestroy(&conv));
  PetscCall(VecDestroy(&rho));
  PetscCall(VecDestroy(&out));
  PetscCall(GFGridDestroy(&grid));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Seconds per forward + inverse real MATFFTW transform of size 2n x 2n (MatMult +
  MatMultTranspose on the vectors of MatCreateVecsFFTW): the mean over repeat pairs after one
  warm-up pair, slowest rank. Its own MATFFTW exists only while no GFConvolution does.
*/
static PetscErrorCode BenchTimeFFTPair(PetscInt n, PetscInt repeat, PetscReal *seconds)
{
  const PetscInt dims[2] = {2 * n, 2 * n};
  Mat            fft;
  Vec            x, y, z;
  PetscRandom    random;
  PetscLogDouble start, stop;
  PetscReal      elapsed;

  PetscFunctionBeginUser;
  PetscCall(MatCreateFFT(PETSC_COMM_WORLD, 2, dims, MATFFTW, &fft));
  PetscCall(MatCreateVecsFFTW(fft, &x, &y, &z));
  PetscCall(PetscRandomCreate(PETSC_COMM_WORLD, &random));
  PetscCall(VecSetRandom(x, random));
  PetscCall(MatMult(fft, x, y));
  PetscCall(MatMultTranspose(fft, y, z));
  PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
  PetscCall(PetscTime(&start));
  for (PetscInt r = 0; r < repeat; r++) {
    PetscCall(MatMult(fft, x, y));
    PetscCall(MatMultTranspose(fft, y, z));
  }
  PetscCall(PetscTime(&stop));
  elapsed = (PetscReal)(stop - start);
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, &elapsed, 1, MPIU_REAL, MPIU_MAX, PETSC_COMM_WORLD));
  *seconds = elapsed / repeat;
  PetscCall(PetscRandomDestroy(&random));
  PetscCall(VecDestroy(&x));
  PetscCall(VecDestroy(&y));
  PetscCall(VecDestroy(&z));
  PetscCall(MatDestroy(&fft));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The table: n, cells N = n^2, seconds per convolution, seconds per FFT pair, their ratio,
  and seconds per convolution / (N log2 N) relative to the first row (flat for O(N log N)).
*/
PetscErrorCode GFBenchConvolution(void)
{
  PetscInt    sizes[GF_BENCH_MAX_SIZES] = {128, 256, 512, 1024, 2048}, nsizes = GF_BENCH_MAX_SIZES, repeat = 10;
  PetscReal   first_rate = 0;
  PetscMPIInt size;
  PetscBool   set;

  PetscFunctionBeginUser;
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "Convolution benchmark options", "GFBenchConvolution");
  PetscCall(PetscOptionsIntArray("-bench_sizes", "Cells per axis of the 2D no-flux grids, comma separated", "GFBenchConvolution", sizes, &nsizes, &set));
  if (!set) nsizes = 5;
  PetscCall(PetscOptionsInt("-bench_repeat", "Timed repeats after one warm-up", "GFBenchConvolution", repeat, &repeat, NULL));
  PetscOptionsEnd();
  PetscCheck(nsizes > 0, PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT, "-bench_sizes: give at least one size (at most %d)", GF_BENCH_MAX_SIZES);
  for (PetscInt s = 0; s < nsizes; s++) PetscCheck(sizes[s] >= 2, PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT, "-bench_sizes: %" PetscInt_FMT " is not a grid size; each must be at least 2", sizes[s]);
  PetscCheck(repeat >= 1, PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT, "-bench_repeat %" PetscInt_FMT ": must be at least 1", repeat);
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));

  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "gradflow bench convolution: 2D no-flux n x n grids, FFT of 2n x 2n, %d rank%s, mean of %" PetscInt_FMT " repeats after a warm-up\n", size, size > 1 ? "s" : "", repeat));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%8s %12s %16s %16s %8s %20s\n", "n", "cells N", "s/convolution", "s/FFT pair", "ratio", "s/(N log2 N), rel."));
  for (PetscInt s = 0; s < nsizes; s++) {
    const PetscReal cells       = (PetscReal)sizes[s] * sizes[s];
    PetscReal       convolution = 0, pair = 0, rate;

    PetscCall(BenchTimeConvolution(sizes[s], repeat, &convolution));
    PetscCall(BenchTimeFFTPair(sizes[s], repeat, &pair));
    rate = convolution / (cells * PetscLog2Real(cells));
    if (s == 0) first_rate = rate;
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%8" PetscInt_FMT " %12.0f %16.3e %16.3e %8.2f %20.2f\n", sizes[s], (double)cells, (double)convolution, (double)pair, (double)(convolution / pair), (double)(rate / first_rate)));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
