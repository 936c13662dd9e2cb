/*
  gradflow bench jko: JKO steps (-ts_type jko), three tables (-bench_cases, default all):

    gaussian     the JKO Gaussian recursion: 1D Ornstein-Uhlenbeck (sigma = 1, V = x^2/2) from
                 N(1, 0.25) on [-8, 8], 512 cells, to t = 1 at tau = 0.1 ... 0.0125, each method;
                 the isotropic 2D case at 256^2 (-bench_gaussian_2d) by primal_dual and bfm, and
                 3D by bfm (-bench_gaussian_3d, default 0: not run). The exact
                 answer is the recursion's, not the PDE's: one JKO step maps N(m, s^2) to
                 N(m/(1+tau), s'^2), (1+tau) s'^2 - s s' - tau = 0.
    barenblatt   the porous medium d_t rho = Laplace(rho^2) in 2D, Barenblatt of mass 1 on [0,1]^2
                 centred, t = 2.5e-4 -> 2.25e-3 (the back-and-forth paper's case): L1 error against
                 the exact cell averages and seconds for n in -bench_sizes and tau in -bench_taus,
                 with the observed order in tau.
    iterations   seconds and iterations per step of that Barenblatt step on n = 64 ... 1024
                 (-bench_grids) at tau 2.5e-4, -bench_steps steps.

  -bench_options "..." is added to every run (e.g. "-jko_method primal_dual -jko_substeps 2").
*/
#include "commands.h"
#include <petscmath.h>

/* The recursion's mean and variance after the steps of length tau from (mean, variance) to time t. */
static void GaussianRecursion(PetscReal tau, PetscReal t, PetscReal *mean, PetscReal *variance)
{
  const PetscInt steps = (PetscInt)PetscFloorReal(t / tau + 0.5);
  PetscReal      s     = PetscSqrtReal(*variance);

  for (PetscInt k = 0; k < steps; k++) {
    *mean /= 1 + tau;
    s = (s + PetscSqrtReal(s * s + 4 * (1 + tau) * tau)) / (2 * (1 + tau));
  }
  *variance = s * s;
}

static PetscErrorCode BenchGaussian(const char extra[], PetscInt grid_2d, PetscInt grid_3d)
{
  const PetscReal taus[] = {0.1, 0.05, 0.025, 0.0125};
  const struct {
    const char *method;
    PetscInt    dim;
  } cases[] = {{"quantile", 1}, {"primal_dual", 1}, {"bfm", 1}, {"primal_dual", 2}, {"bfm", 2}, {"bfm", 3}};

  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "JKO Gaussian recursion, Ornstein-Uhlenbeck sigma = 1, V = |x|^2/2, from N(1, 0.25) on [-8, 8]^d, t = 1; errors against the recursion\n"));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%-12s %4s %8s %10s %10s %11s %11s %10s %9s\n", "method", "dim", "cells", "tau", "variance", "|var err|", "|mean err|", "its/step", "seconds"));
  for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
    const PetscInt dim = cases[k].dim, n = dim == 1 ? 512 : dim == 2 ? grid_2d : grid_3d;
    if (n <= 0) continue;
    for (size_t i = 0; i < sizeof(taus) / sizeof(taus[0]); i++) {
      char            options[1024];
      PetscReal       mean = 1, variance = 0.25, var_err = 0, mean_err = 0;
      GFRunStatistics st;
      GFDiagnostics   d;
      PetscLogDouble  seconds;

      GaussianRecursion(taus[i], 1, &mean, &variance);
      PetscCall(PetscSNPrintf(options, sizeof(options),
                              "-model fokker_planck -diffusion 1 -potential quadratic -dim %" PetscInt_FMT " -da_grid_x %" PetscInt_FMT " -da_grid_y %" PetscInt_FMT " -da_grid_z %" PetscInt_FMT
                              " -domain_lower -8 -domain_upper 8 -init gaussian -init_mean 1 -init_variance 0.25 -ts_type jko -jko_method %s -ts_dt %.17g -ts_max_time 1 %s",
                              dim, n, n, n, cases[k].method, (double)taus[i], extra));
      PetscCall(GFBenchRun(options, NULL, &st, &seconds, &d));
      for (PetscInt a = 0; a < dim; a++) {
        var_err  = PetscMax(var_err, PetscAbsReal(d.covariance[a][a] - variance));
        mean_err = PetscMax(mean_err, PetscAbsReal(d.mean[a] - mean));
      }
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%-12s %4" PetscInt_FMT " %8" PetscInt_FMT " %10.5g %10.6f %11.3e %11.3e %10.1f %9.2f\n", cases[k].method, dim, n, (double)taus[i], (double)variance, (double)var_err, (double)mean_err,
                            (double)st.jko_iterations / PetscMax(1, st.steps), seconds));
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The Barenblatt case on n^2 cells with steps of tau, nsteps of them (0: to t = 2.25e-3). */
static PetscErrorCode BarenblattRun(const char extra[], PetscInt n, PetscReal tau, PetscInt nsteps, PetscReal *error, GFRunStatistics *st, PetscLogDouble *seconds)
{
  const PetscReal t0 = 2.5e-4, t1 = nsteps ? t0 + nsteps * tau : 2.25e-3;
  char            options[1024];

  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(options, sizeof(options),
                          "-model porous_medium -diffusion 1 -diffusion_exponent 2 -dim 2 -da_grid_x %" PetscInt_FMT " -da_grid_y %" PetscInt_FMT
                          " -domain_lower 0 -domain_upper 1 -init barenblatt -init_mean 0.5 -init_time %.17g -ts_type jko -ts_dt %.17g -ts_max_time %.17g %s",
                          n, n, (double)t0, (double)tau, (double)t1, extra));
  PetscCall(GFBenchRun(options, error, st, seconds, NULL));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode BenchBarenblatt(const char extra[], PetscInt nsizes, const PetscInt sizes[], PetscInt ntaus, const PetscReal taus[])
{
  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "\nJKO porous medium 2D, m = 2, Barenblatt of mass 1 on [0,1]^2, t = 2.5e-4 -> 2.25e-3: L1 error against exact cell averages\n"));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%6s %10s %6s %12s %7s %10s %9s %9s\n", "n", "tau", "steps", "L1 error", "order", "its/step", "seconds", "JKO viol"));
  for (PetscInt i = 0; i < nsizes; i++) {
    PetscReal last = 0;
    for (PetscInt j = 0; j < ntaus; j++) {
      PetscReal       error;
      GFRunStatistics st;
      PetscLogDouble  seconds;
      char            order[16] = "";

      PetscCall(BarenblattRun(extra, sizes[i], taus[j], 0, &error, &st, &seconds));
      if (j) PetscCall(PetscSNPrintf(order, sizeof(order), "%.2f", (double)(PetscLogReal(last / error) / PetscLogReal(taus[j - 1] / taus[j]))));
      last = error;
      PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%6" PetscInt_FMT " %10.4g %6" PetscInt_FMT " %12.4e %7s %10.1f %9.2f %9" PetscInt_FMT "\n", sizes[i], (double)taus[j], st.steps, (double)error, order, (double)st.jko_iterations / PetscMax(1, st.steps),
                            seconds, st.jko_violations));
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode BenchIterations(const char extra[], PetscInt ngrids, const PetscInt grids[], PetscInt steps)
{
  PetscFunctionBeginUser;
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "\nJKO step of the 2D Barenblatt (m = 2) from t = 2.5e-4, tau = 2.5e-4, %" PetscInt_FMT " steps: cost over grids\n", steps));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%6s %10s %10s %10s %12s\n", "n", "cells", "its/step", "s/step", "L1 error"));
  for (PetscInt i = 0; i < ngrids; i++) {
    PetscReal       error;
    GFRunStatistics st;
    PetscLogDouble  seconds;

    PetscCall(BarenblattRun(extra, grids[i], 2.5e-4, steps, &error, &st, &seconds));
    PetscCall(PetscPrintf(PETSC_COMM_WORLD, "%6" PetscInt_FMT " %10" PetscInt_FMT " %10.1f %10.3f %12.4e\n", grids[i], grids[i] * grids[i], (double)st.jko_iterations / PetscMax(1, st.steps), seconds / PetscMax(1, st.steps), (double)error));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFBenchJKO(void)
{
  char        extra[512] = "", cases[128] = "gaussian,barenblatt,iterations";
  PetscInt    sizes[8] = {128, 256, 512}, nsizes = 8, grids[8] = {64, 128, 256, 512, 1024}, ngrids = 8, steps = 2, ntaus = 8, grid_2d = 256, grid_3d = 0;
  PetscReal   taus[8] = {2.5e-4, 1.25e-4, 6.25e-5};
  PetscBool   set;
  PetscMPIInt size;

  PetscFunctionBeginUser;
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "gradflow bench jko", NULL);
  PetscCall(PetscOptionsString("-bench_cases", "Tables to run: gaussian, barenblatt, iterations", NULL, cases, cases, sizeof(cases), NULL));
  PetscCall(PetscOptionsString("-bench_options", "Options added to every run", NULL, extra, extra, sizeof(extra), &set));
  if (set && !extra[0]) {
    /* PETSc takes a value that starts with '-' ("-jko_method bfm") for the next option: the argument after -bench_options, verbatim */
    int    argc;
    char **args;
    PetscCall(PetscGetArgs(&argc, &args));
    for (int i = 1; i + 1 < argc; i++)
      if (!strcmp(args[i], "-bench_options")) PetscCall(PetscStrncpy(extra, args[i + 1], sizeof(extra)));
    PetscCheck(extra[0], PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT, "-bench_options needs the options to add, quoted as one argument: -bench_options \"-jko_method bfm\"");
  }
  PetscCall(PetscOptionsInt("-bench_gaussian_2d", "Cells per axis of the 2D Gaussian cases (0: none)", NULL, grid_2d, &grid_2d, NULL));
  PetscCall(PetscOptionsInt("-bench_gaussian_3d", "Cells per axis of the 3D Gaussian case (bfm; 0: none)", NULL, grid_3d, &grid_3d, NULL));
  PetscCall(PetscOptionsIntArray("-bench_sizes", "Cells per axis of the Barenblatt table", NULL, sizes, &nsizes, &set));
  if (!set) nsizes = 3;
  PetscCall(PetscOptionsRealArray("-bench_taus", "Steps of the Barenblatt table", NULL, taus, &ntaus, &set));
  if (!set) ntaus = 3;
  PetscCall(PetscOptionsIntArray("-bench_grids", "Cells per axis of the iterations table", NULL, grids, &ngrids, &set));
  if (!set) ngrids = 5;
  PetscCall(PetscOptionsInt("-bench_steps", "Steps per grid of the iterations table", NULL, steps, &steps, NULL));
  PetscOptionsEnd();
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCall(PetscPrintf(PETSC_COMM_WORLD, "bench jko: %d rank%s%s%s\n", size, size > 1 ? "s" : "", extra[0] ? ", with " : "", extra));
  if (strstr(cases, "gaussian")) PetscCall(BenchGaussian(extra, grid_2d, grid_3d));
  if (strstr(cases, "barenblatt")) PetscCall(BenchBarenblatt(extra, nsizes, sizes, ntaus, taus));
  if (strstr(cases, "iterations")) PetscCall(BenchIterations(extra, ngrids, grids, steps));
  PetscFunctionReturn(PETSC_SUCCESS);
}
