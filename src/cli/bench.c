/*
  gradflow bench NAME: timings, never run by the tests.
    step         the explicit step against the memory system: cell updates per second, bytes
                 moved and their fraction of an in-run STREAM triad, over grids (bench_step.c)
    convolution  one FFT convolution against one forward plus one inverse FFTW transform
    porous_medium  implicit multigrid scaling over grids, and implicit against explicit at equal accuracy
    jko          JKO steps: the Gaussian recursion, the 2D Barenblatt table (L1 error and seconds over
                 grids and steps), iterations per step over grids (bench_jko.c)
    particles    particle steps per second of interacting Langevin particles (mckean_vlasov, 2D, Morse
                 interaction): 10^4 particles by direct pair sums, 10^6 by particle-mesh on 256^2 cells
*/
#include "commands.h"

/*
  Implicit porous medium (2D Barenblatt, m = 2): (1) multigrid at a fixed dt/h on grids
  n = 64 ... 1024, Newton iterations per step and Krylov iterations per Newton iteration;
  (2) wall time per unit of simulated time, explicit SSP-RK3 against implicit BDF2 at the
  same final L1 error, on one grid. Options: -bench_sizes, -bench_steps, -bench_dt_per_h,
  -bench_grid (for the comparison).
*/
static PetscErrorCode GFBenchPorousMedium(void)
{
  const char base[]    = "-model porous_medium -dim 2 -domain_lower -3 -domain_upper 3 -init barenblatt -init_time 1";
  PetscInt   sizes[16] = {64, 128, 256, 512, 1024}, nsizes = 16, steps = 5, grid = 256;
  PetscReal  dt_per_h = 0.5;
  PetscBool  set;
  char       options[1024];

  PetscFunctionBeginUser;
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "gradflow bench porous_medium", NULL);
  PetscCall(PetscOptionsIntArray("-bench_sizes", "Cells per axis of the multigrid table", NULL, sizes, &nsizes, &set));
  if (!set) nsizes = 5;
  PetscCall(PetscOptionsInt("-bench_steps", "Backward Euler steps per grid", NULL, steps, &steps, NULL));
  PetscCall(PetscOptionsReal("-bench_dt_per_h", "dt / h of the multigrid table", NULL, dt_per_h, &dt_per_h, NULL));
  PetscCall(PetscOptionsInt("-bench_grid", "Cells per axis of the explicit/implicit comparison", NULL, grid, &grid, NULL));
  PetscOptionsEnd();

  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "multigrid: backward Euler, dt = %.3g h, %" PetscInt_FMT " steps from the Barenblatt at t = 1\n", (double)dt_per_h, steps));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%8s %10s %10s %12s %14s %12s\n", "n", "cells", "dt", "Newton/step", "Krylov/Newton", "s/step"));
  for (PetscInt i = 0; i < nsizes; i++) {
    const PetscReal dt = dt_per_h * 6.0 / sizes[i];
    PetscReal       error;
    GFRunStatistics st;
    PetscLogDouble  seconds;

    PetscCall(PetscSNPrintf(options, sizeof(options), "%s -da_grid_x %" PetscInt_FMT " -da_grid_y %" PetscInt_FMT " -ts_type beuler -ts_dt %.17g -ts_max_time %.17g", base, sizes[i], sizes[i], (double)dt, (double)(1 + steps * dt)));
    PetscCall(GFBenchRun(options, &error, &st, &seconds, NULL));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%8" PetscInt_FMT " %10" PetscInt_FMT " %10.3e %12.2f %14.2f %12.4f\n", sizes[i], sizes[i] * sizes[i], (double)dt, (double)st.newton_iterations / st.steps,
                          (double)st.linear_iterations / PetscMax(1, st.newton_iterations), seconds / st.steps));
  }
  {
    GFRunStatistics st;
    PetscLogDouble  seconds;
    PetscReal       target, error;

    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "\nequal accuracy on %" PetscInt_FMT "^2 cells, t = 1 -> 1.5 (seconds per unit of simulated time)\n", grid));
    PetscCall(PetscSNPrintf(options, sizeof(options), "%s -da_grid_x %" PetscInt_FMT " -da_grid_y %" PetscInt_FMT " -ts_type rk -ts_max_time 1.5", base, grid, grid));
    PetscCall(GFBenchRun(options, &target, &st, &seconds, NULL));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  explicit SSP-RK3:     %6" PetscInt_FMT " steps, L1 error %.4e, %8.3f s per unit time\n", st.steps, (double)target, seconds / 0.5));
    for (PetscReal dt = 0.1; dt > 1e-4; dt /= 2) {
      PetscCall(PetscSNPrintf(options, sizeof(options), "%s -da_grid_x %" PetscInt_FMT " -da_grid_y %" PetscInt_FMT " -ts_type bdf -ts_bdf_order 2 -ts_dt %.17g -ts_max_time 1.5", base, grid, grid, (double)dt));
      PetscCall(GFBenchRun(options, &error, &st, &seconds, NULL));
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  implicit BDF2 dt %-6.4g %6" PetscInt_FMT " steps, L1 error %.4e, %8.3f s per unit time\n", (double)dt, st.steps, (double)error, seconds / 0.5));
      if (error <= 1.05 * target) break;
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Particle steps per second (one step of one particle, interactions included) of a particle
  system run for -bench_steps steps after one untimed warm-up step, for each case: direct pair
  sums at -bench_direct_n particles, particle-mesh at -bench_mesh_n. Any run option applies.
*/
static PetscErrorCode GFBenchParticles(void)
{
  const char  base[] = "-model mckean_vlasov -dim 2 -potential quadratic -interaction morse -domain_lower -6 -domain_upper 6 -da_grid_x 256 -da_grid_y 256 -init_variance 1 -output 0 -progress 0 -summary 0 -ts_max_time 1e9";
  PetscInt    n[2] = {10000, 1000000}, steps = 5;
  PetscMPIInt size;

  PetscFunctionBeginUser;
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "gradflow bench particles", NULL);
  PetscCall(PetscOptionsInt("-bench_direct_n", "Particles of the direct pair sums", NULL, n[0], &n[0], NULL));
  PetscCall(PetscOptionsInt("-bench_mesh_n", "Particles of the particle-mesh case", NULL, n[1], &n[1], NULL));
  PetscCall(PetscOptionsInt("-bench_steps", "Timed steps per case", NULL, steps, &steps, NULL));
  PetscOptionsEnd();
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "bench particles: mckean_vlasov 2D, V = |x|^2/2, Morse W, Euler-Maruyama, %d rank%s\n", size, size > 1 ? "s" : ""));
  for (int k = 0; k < 2; k++) {
    char           options[1024];
    PetscOptions   db;
    GFParticles    p;
    PetscLogDouble start, stop;

    PetscCall(PetscSNPrintf(options, sizeof(options), "%s -particles_n %" PetscInt_FMT " -particles_interaction %s -particles_dt 1e-3", base, n[k], k ? "mesh" : "direct"));
    PetscCall(PetscOptionsCreate(&db));
    PetscCall(PetscOptionsInsertString(db, options));
    PetscCall(PetscOptionsPush(db));
    PetscCall(GFParticlesCreate(PETSC_COMM_WORLD, &p));
    PetscCall(GFParticlesSetFromOptions(p));
    PetscCall(GFParticlesSetUp(p));
    PetscCall(GFParticlesAdvance(p, 1e-3));
    PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
    PetscCall(PetscTime(&start));
    PetscCall(GFParticlesAdvance(p, (1 + steps) * 1e-3));
    PetscCallMPI(MPI_Barrier(PETSC_COMM_WORLD));
    PetscCall(PetscTime(&stop));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "  %-14s N = %-8" PetscInt_FMT " %" PetscInt_FMT " steps in %8.3f s: %.3e particle steps per second (%.3f ms per step)\n", k ? "particle-mesh" : "direct sums", n[k], steps, stop - start,
                          (double)(n[k] * steps / (stop - start)), 1e3 * (stop - start) / steps));
    PetscCall(GFParticlesDestroy(&p));
    PetscCall(PetscOptionsPop());
    PetscCall(PetscOptionsDestroy(&db));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFCommandBench(const char name[])
{
  PetscFunctionBeginUser;
  if (!strcmp(name, "step")) {
    PetscCall(GFBenchStep());
  } else if (!strcmp(name, "convolution")) {
    PetscCall(GFBenchConvolution());
  } else if (!strcmp(name, "porous_medium")) {
    PetscCall(GFBenchPorousMedium());
  } else if (!strcmp(name, "particles")) {
    PetscCall(GFBenchParticles());
  } else if (!strcmp(name, "jko")) {
    PetscCall(GFBenchJKO());
  } else
    SETERRQ(PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT, "gradflow bench %s: unknown benchmark; valid are step, convolution, porous_medium, particles, jko", name);
  PetscFunctionReturn(PETSC_SUCCESS);
}
