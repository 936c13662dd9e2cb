/*
  JKO method "bfm" (src/solver/jko_bfm.c, jko_bfm_lines.c): the c-transform against a brute-force
  minimum over the lines and their mirror images (random data, 1D and 2D, whatever the rank
  count: the 2D passes cross ranks), its sub-grid exactness on a quadratic, the pushforward's window (reads across ranks, exact on
  quadratics, rebuilt only when needed), the preconditioner on a cosine mode, and one Gaussian
  step against the exact quantile method.
*/
#include "gftest.h"
#include "../../src/solver/jko_bfm.h"

/* A problem from options and a method shell on its grid (energy from the model); destroy both with Destroy(). */
static void SetUp(const char options[], GFProblem *problem, GFJKOMethod *jko)
{
  GFModel model;

  GFTestSetOptions(options);
  GF_CK(GFProblemCreate(PETSC_COMM_WORLD, problem));
  GF_CK(GFProblemSetFromOptions(*problem));
  GF_CK(GFProblemSetUp(*problem));
  GF_CK(GFProblemGetModel(*problem, &model));
  GF_CK(PetscNew(jko));
  (*jko)->comm             = PETSC_COMM_WORLD;
  (*jko)->rtol             = 1e-5;
  (*jko)->max_it           = 1000;
  (*jko)->energy.sigma     = model->sigma;
  (*jko)->energy.m         = 1;
  (*jko)->energy.V         = model->V;
  (*jko)->energy.potential = model->potential;
  GF_CK(GFProblemGetGrid(*problem, &(*jko)->grid));
}

static void Destroy(GFProblem *problem, GFJKOMethod *jko)
{
  if (*jko && (*jko)->destroy) GF_CK((*jko)->destroy(*jko));
  GF_CK(PetscFree(*jko));
  GF_CK(GFProblemDestroy(problem));
}

/* The whole vector in natural order on every rank (destroy it). */
static Vec Gather(GFGrid g, Vec v)
{
  Vec all;
  GF_CK(GFGridGatherNatural(g, v, &all));
  return all;
}

/*
  The reference of one 1D pass, written independently: the line extended by its mirror images
  at both walls (3n points, e[n + i] = e[n - 1 - i] = e[3n - 1 - i] = f[i]); for every q the
  minimiser p over all 3n points of k (n + q - p)^2 + e[p] (O(n^2)), then the refinement the
  method documents (the quadratic through the three points about p, moved off the ends,
  minimised within half a cell of p and inside the extended line, never above the grid value).
*/
static void ReferencePass(PetscInt n, PetscInt stride, PetscReal k, const PetscReal *f, PetscReal *g)
{
  const PetscInt m = 3 * n;
  PetscReal     *e;

  GF_CK(PetscMalloc1(m, &e));
  for (PetscInt i = 0; i < n; i++) e[n + i] = e[n - 1 - i] = e[m - 1 - i] = f[i * stride];
  for (PetscInt q = n; q < 2 * n; q++) {
    PetscInt  p    = 0;
    PetscReal best = PETSC_MAX_REAL;
    for (PetscInt x = 0; x < m; x++) {
      const PetscReal v = k * (q - x) * (q - x) + e[x];
      if (v < best) {
        best = v;
        p    = x;
      }
    }
    {
      const PetscInt  c  = PetscMin(PetscMax(p, 1), m - 2);
      const PetscReal fm = e[c - 1], f0 = e[c], fp = e[c + 1];
      const PetscReal a = 0.5 * (fp - fm), b = fp - 2 * f0 + fm;
      if (2 * k + b > 0) {
        PetscReal x = (2 * k * q - a + b * c) / (2 * k + b), t;
        x           = PetscMin(PetscMax(x, PetscMax(p - 0.5, 0)), PetscMin(p + 0.5, m - 1));
        t           = x - c;
        best        = PetscMin(best, k * (q - x) * (q - x) + f0 + a * t + 0.5 * b * t * t);
      }
    }
    g[q - n] = best;
  }
  GF_CK(PetscFree(e));
}

/* Random phi, its c-transform by the method and by the reference passes (x first, then y), compared to round-off. */
static void CheckCTransform(const char options[], PetscReal tau)
{
  GFProblem          problem;
  GFJKOMethod        jko;
  GFBFMLines         lines;
  PetscRandom        random;
  Vec                phi, psi, phi_all, psi_all;
  const PetscScalar *pa, *sa;
  PetscReal         *f, worst = 0;
  PetscInt           N;

  SetUp(options, &problem, &jko);
  GF_CK(GFBFMLinesCreate(jko->grid, &lines));
  GF_CK(DMCreateGlobalVector(jko->grid->da, &phi));
  GF_CK(VecDuplicate(phi, &psi));
  GF_CK(PetscRandomCreate(PETSC_COMM_WORLD, &random));
  GF_CK(PetscRandomSetInterval(random, -1, 1));
  GF_CK(VecSetRandom(phi, random));
  GF_CK(GFBFMCTransform(&lines, tau, phi, psi));
  phi_all = Gather(jko->grid, phi);
  psi_all = Gather(jko->grid, psi);
  GF_CK(VecGetSize(phi_all, &N));
  GF_CK(PetscMalloc1(N, &f));
  GF_CK(VecGetArrayRead(phi_all, &pa));
  GF_CK(VecGetArrayRead(psi_all, &sa));
  for (PetscInt i = 0; i < N; i++) f[i] = -PetscRealPart(pa[i]);
  {
    const GFGrid   g  = jko->grid;
    const PetscInt nx = g->cells[0], ny = g->dim > 1 ? g->cells[1] : 1;
    PetscReal     *line;
    GF_CK(PetscMalloc1(PetscMax(nx, ny), &line));
    for (PetscInt j = 0; j < ny; j++) {
      ReferencePass(nx, 1, g->h[0] * g->h[0] / (2 * tau), f + j * nx, line);
      for (PetscInt i = 0; i < nx; i++) f[j * nx + i] = line[i];
    }
    if (g->dim > 1)
      for (PetscInt i = 0; i < nx; i++) {
        ReferencePass(ny, nx, g->h[1] * g->h[1] / (2 * tau), f + i, line);
        for (PetscInt j = 0; j < ny; j++) f[j * nx + i] = line[j];
      }
    GF_CK(PetscFree(line));
  }
  for (PetscInt i = 0; i < N; i++) worst = PetscMax(worst, PetscAbsReal(PetscRealPart(sa[i]) - f[i]));
  ck_assert_msg(worst <= 1e-12, "%s: c-transform differs from the brute-force reference by %g", options, (double)worst);
  GF_CK(VecRestoreArrayRead(psi_all, &sa));
  GF_CK(VecRestoreArrayRead(phi_all, &pa));
  GF_CK(PetscFree(f));
  GF_CK(VecDestroy(&phi_all));
  GF_CK(VecDestroy(&psi_all));
  GF_CK(PetscRandomDestroy(&random));
  GF_CK(VecDestroy(&phi));
  GF_CK(VecDestroy(&psi));
  GF_CK(GFBFMLinesDestroy(&lines));
  Destroy(&problem, &jko);
}

START_TEST(test_ctransform_random)
{
  CheckCTransform("-model fokker_planck -diffusion 1 -domain_lower 0 -domain_upper 1 -da_grid_x 61", 0.01);
  CheckCTransform("-model fokker_planck -diffusion 1 -dim 2 -domain_lower 0 -domain_upper 1 -da_grid_x 23 -da_grid_y 18", 0.01);
}
END_TEST

/*
  phi = -a |x|^2 / 2: phi^c(y) = min_x |x - y|^2 / (2 tau) + a |x|^2 / 2 = a |y|^2 / (2 (1 + a tau)),
  the minimiser y / (1 + a tau) off the grid: the refined c-transform is exact for quadratic
  data, where the grid minimum alone is off by up to h^2 / (8 tau) per axis.
*/
START_TEST(test_ctransform_quadratic)
{
  const PetscReal    tau = 0.05, a = 3;
  GFProblem          problem;
  GFJKOMethod        jko;
  GFBFMLines         lines;
  Vec                phi, psi;
  PetscScalar       *p;
  const PetscScalar *s;
  PetscReal          worst = 0;
  GFGrid             g;

  SetUp("-model fokker_planck -diffusion 1 -dim 2 -domain_lower -1 -domain_upper 1 -da_grid_x 40 -da_grid_y 36", &problem, &jko);
  g = jko->grid;
  GF_CK(GFBFMLinesCreate(g, &lines));
  GF_CK(DMCreateGlobalVector(g->da, &phi));
  GF_CK(VecDuplicate(phi, &psi));
  GF_CK(VecGetArray(phi, &p));
  GF_FOR_OWNED(&g->box, i, j, k)
  {
    const PetscInt idx[3] = {i, j, k};
    PetscReal      x[3];
    GFGridCellCenter(g, idx, x);
    p[GFOwnedIndex(&g->box, i, j, k)] = -0.5 * a * (x[0] * x[0] + x[1] * x[1]);
  }
  GF_CK(VecRestoreArray(phi, &p));
  GF_CK(GFBFMCTransform(&lines, tau, phi, psi));
  GF_CK(VecGetArrayRead(psi, &s));
  GF_FOR_OWNED(&g->box, i, j, k)
  {
    const PetscInt idx[3] = {i, j, k};
    PetscReal      x[3];
    GFGridCellCenter(g, idx, x);
    worst = PetscMax(worst, PetscAbsReal(PetscRealPart(s[GFOwnedIndex(&g->box, i, j, k)]) - 0.5 * a * (x[0] * x[0] + x[1] * x[1]) / (1 + a * tau)));
  }
  GF_CK(VecRestoreArrayRead(psi, &s));
  ck_assert_int_eq(MPI_Allreduce(MPI_IN_PLACE, &worst, 1, MPIU_REAL, MPI_MAX, PETSC_COMM_WORLD), MPI_SUCCESS);
  ck_assert_msg(worst <= 1e-12, "quadratic: c-transform error %g (the grid minimum alone: up to %g)", (double)worst, (double)(g->h[0] * g->h[0] / (4 * tau)));
  GF_CK(VecDestroy(&phi));
  GF_CK(VecDestroy(&psi));
  GF_CK(GFBFMLinesDestroy(&lines));
  Destroy(&problem, &jko);
}
END_TEST

/*
  The window of the pushforward: every rank interpolates a field at points displaced by up to
  12 cells along y (across the ranks' boundary when y is split), reading only its window. The
  Lagrange cubic reproduces cubics in each variable (a Catmull-Rom cubic only quadratics), so
  away from the walls the value is q(x) to round-off; the box is rebuilt only when the points
  leave it.
*/
static PetscReal Cubic(const PetscReal x[])
{
  return 1 + 0.3 * x[0] - 0.2 * x[1] + 0.1 * x[0] * x[0] + 0.05 * x[0] * x[1] - 0.07 * x[1] * x[1] + 0.4 * x[0] * x[0] * x[0] - 0.3 * x[0] * x[0] * x[1] * x[1] * x[1];
}

START_TEST(test_window)
{
  GFProblem          problem;
  GFJKOMethod        jko;
  GFBFMWindow        window = {0};
  GFGrid             g;
  Vec                q;
  PetscScalar       *p;
  const PetscScalar *values;
  PetscReal          worst = 0;
  PetscInt           count = 0;

  SetUp("-model fokker_planck -diffusion 1 -dim 2 -domain_lower 0 -domain_upper 1 -da_grid_x 40 -da_grid_y 48", &problem, &jko);
  g           = jko->grid;
  window.grid = g;
  GF_CK(DMCreateGlobalVector(g->da, &q));
  GF_CK(VecGetArray(q, &p));
  GF_FOR_OWNED(&g->box, i, j, k)
  {
    const PetscInt idx[3] = {i, j, k};
    PetscReal      x[3];
    GFGridCellCenter(g, idx, x);
    p[GFOwnedIndex(&g->box, i, j, k)] = Cubic(x);
  }
  GF_CK(VecRestoreArray(q, &p));
  for (PetscInt pass = 0; pass < 3; pass++) {
    const PetscReal shift = pass == 2 ? -12 : 12; /* cells along y, away from the middle */
    PetscInt        lo[3] = {PETSC_MAX_INT, PETSC_MAX_INT, PETSC_MAX_INT}, hi[3] = {0, 0, 0};
    for (int fill = 0; fill < 2; fill++) {
      if (fill) {
        GF_CK(GFBFMWindowFill(&window, q, lo, hi));
        GF_CK(VecGetArrayRead(window.values, &values));
      }
      GF_FOR_OWNED(&g->box, i, j, k)
      {
        const PetscInt idx[3] = {i, j, k};
        PetscReal      x[3];
        GFGridCellCenter(g, idx, x);
        x[0] += 0.3 * g->h[0];
        x[1] += (j < g->cells[1] / 2 ? shift : -shift) * g->h[1] + 0.45 * g->h[1];
        if (x[0] < 1.5 * g->h[0] || x[0] > 1 - 1.5 * g->h[0] || x[1] < 1.5 * g->h[1] || x[1] > 1 - 1.5 * g->h[1]) continue;
        if (!fill)
          for (PetscInt a = 0; a < 2; a++) {
            const PetscInt base = GFBFMWindowBase(g, a, x[a]);
            lo[a]               = PetscMin(lo[a], base - 1);
            hi[a]               = PetscMax(hi[a], base + 2);
          }
        else {
          worst = PetscMax(worst, PetscAbsReal(GFBFMWindowInterpolate(&window, values, x) - Cubic(x)));
          count++;
        }
      }
    }
    GF_CK(VecRestoreArrayRead(window.values, &values));
    ck_assert_msg(window.rebuilds == (pass == 2 ? 2 : 1), "pass %d: %d rebuilds of the window", (int)pass, (int)window.rebuilds);
  }
  ck_assert_int_eq(MPI_Allreduce(MPI_IN_PLACE, &worst, 1, MPIU_REAL, MPI_MAX, PETSC_COMM_WORLD), MPI_SUCCESS);
  ck_assert_msg(count > 0 && worst <= 1e-13, "window interpolation error %g at %d points", (double)worst, (int)count);
  GF_CK(GFBFMWindowDestroy(&window));
  GF_CK(VecDestroy(&q));
  Destroy(&problem, &jko);
}
END_TEST

/* (a I - div(b grad))^{-1} with constant a, b on cos(pi kx (x + 1) / 2) cos(pi ky (y + 1) / 2) on [-1, 1]^2: the discrete eigenvalue a + b sum 4 sin^2(pi k h / 4) / h^2. */
START_TEST(test_preconditioner_cosine)
{
  const PetscReal     a = 0.7, b = 0.02, kx = 3, ky = 2;
  GFProblem           problem;
  GFJKOMethod         jko;
  GFBFMPreconditioner P;
  Vec                 va, vb, mode, u;
  PetscScalar        *m;
  PetscReal           lambda, err, norm;
  GFGrid              g;

  SetUp("-model fokker_planck -diffusion 1 -dim 2 -domain_lower -1 -domain_upper 1 -da_grid_x 64 -da_grid_y 48", &problem, &jko);
  g = jko->grid;
  GF_CK(GFBFMPreconditionerCreate(g, &P));
  GF_CK(DMCreateGlobalVector(g->da, &va));
  GF_CK(VecDuplicate(va, &vb));
  GF_CK(VecDuplicate(va, &mode));
  GF_CK(VecDuplicate(va, &u));
  GF_CK(VecSet(va, a));
  GF_CK(VecSet(vb, b));
  GF_CK(GFBFMPreconditionerSetCoefficients(&P, va, vb));
  GF_CK(VecGetArray(mode, &m));
  GF_FOR_OWNED(&g->box, i, j, k)
  {
    const PetscInt idx[3] = {i, j, k};
    PetscReal      x[3];
    GFGridCellCenter(g, idx, x);
    m[GFOwnedIndex(&g->box, i, j, k)] = PetscCosReal(PETSC_PI * kx * (x[0] + 1) / 2) * PetscCosReal(PETSC_PI * ky * (x[1] + 1) / 2);
  }
  GF_CK(VecRestoreArray(mode, &m));
  lambda = a + b * (4 * PetscSqr(PetscSinReal(PETSC_PI * kx * g->h[0] / 4)) / (g->h[0] * g->h[0]) + 4 * PetscSqr(PetscSinReal(PETSC_PI * ky * g->h[1] / 4)) / (g->h[1] * g->h[1]));
  GF_CK(GFBFMPreconditionerApply(&P, mode, u));
  GF_CK(VecNorm(mode, NORM_2, &norm));
  GF_CK(VecAXPY(u, -1 / lambda, mode));
  GF_CK(VecNorm(u, NORM_2, &err));
  ck_assert_msg(err <= 1e-6 * norm / lambda, "cosine mode: |P^{-1} mode - mode / lambda| = %g of %g", (double)err, (double)(norm / lambda));
  GF_CK(VecDestroy(&va));
  GF_CK(VecDestroy(&vb));
  GF_CK(VecDestroy(&mode));
  GF_CK(VecDestroy(&u));
  GF_CK(GFBFMPreconditionerDestroy(&P));
  Destroy(&problem, &jko);
}
END_TEST

/*
  One step of N(1, 0.25) (sigma = 1, V = x^2/2, [-8, 8], 512 cells, tau = 0.1) against the exact
  quantile method: converged, mass to 1e-12, rho >= 0, L1 difference <= 2e-4 of the mass and
  mean and variance to 2e-5 (the bfm discretisation, point values of densities and potentials,
  differs from the quantile method's at O(h^2)); the JKO inequality.
*/
START_TEST(test_gaussian_step)
{
  const char      options[] = "-model fokker_planck -potential quadratic -diffusion 1 -init gaussian -init_mean 1 -init_variance 0.25 -domain_lower -8 -domain_upper 8 -da_grid_x 512";
  const PetscReal tau       = 0.1;
  GFProblem       problem, problem_q;
  GFJKOMethod     jko, quantile;
  GFModel         model;
  Vec             rho0, rho, rho_q;
  GFJKOResult     result, result_q;
  PetscReal       mass0, mass, min, diff, F0, F1, mom[2][3];

  SetUp(options, &problem, &jko);
  SetUp(options, &problem_q, &quantile);
  quantile->rtol   = 1e-12;
  quantile->max_it = 100;
  GF_CK(GFJKOSetUpBFM(jko));
  GF_CK(GFJKOSetUpQuantile(quantile));
  GF_CK(GFProblemGetInitialDensity(problem, &rho0, NULL));
  GF_CK(VecDuplicate(rho0, &rho));
  GF_CK(VecDuplicate(rho0, &rho_q));
  GF_CK(jko->step(jko, tau, rho0, rho, &result));
  GF_CK(quantile->step(quantile, tau, rho0, rho_q, &result_q));
  ck_assert_msg(result.converged, "bfm did not converge: %d iterations, residuals %g %g", (int)result.iterations, (double)result.residual[0], (double)result.residual[1]);
  ck_assert_msg(result.iterations <= 40, "bfm: %d iterations", (int)result.iterations); /* 32: its mismatch within rtol of its change, about 1e-6 of the mass here */
  GF_CK(GFGridIntegrate(jko->grid, rho0, &mass0));
  GF_CK(GFGridIntegrate(jko->grid, rho, &mass));
  GF_CK(VecMin(rho, NULL, &min));
  ck_assert_msg(PetscAbsReal(mass - mass0) <= 1e-12 * mass0 && min >= 0, "mass %.17g of %.17g, min %g", (double)mass, (double)mass0, (double)min);
  for (int v = 0; v < 2; v++) {
    const PetscScalar *r;
    PetscReal          local[3] = {0, 0, 0};
    GFGrid             g        = jko->grid;
    GF_CK(VecGetArrayRead(v ? rho_q : rho, &r));
    for (PetscInt i = 0; i < g->box.size[0]; i++) {
      const PetscReal x = g->lower[0] + (g->box.start[0] + i + 0.5) * g->h[0], w = PetscRealPart(r[i]) * g->h[0];
      local[0] += w;
      local[1] += w * x;
      local[2] += w * x * x;
    }
    GF_CK(VecRestoreArrayRead(v ? rho_q : rho, &r));
    ck_assert_int_eq(MPI_Allreduce(local, mom[v], 3, MPIU_REAL, MPIU_SUM, PETSC_COMM_WORLD), MPI_SUCCESS);
    mom[v][1] /= mom[v][0];
    mom[v][2] = mom[v][2] / mom[v][0] - mom[v][1] * mom[v][1];
  }
  GF_CK(VecAXPY(rho_q, -1, rho));
  GF_CK(VecNorm(rho_q, NORM_1, &diff));
  diff *= jko->grid->h[0] / mass0;
  if (getenv("GF_TEST_VERBOSE"))
    PetscPrintf(PETSC_COMM_WORLD, "Gaussian step: %d iterations, L1 difference %.2e, mean %.8f (quantile %.8f), variance %.8f (quantile %.8f)\n", (int)result.iterations, (double)diff, (double)mom[0][1], (double)mom[1][1], (double)mom[0][2],
                (double)mom[1][2]);
  ck_assert_msg(diff <= 2e-4, "L1 difference from the quantile step %.3e", (double)diff);
  ck_assert_msg(PetscAbsReal(mom[0][1] - mom[1][1]) <= 2e-5 && PetscAbsReal(mom[0][2] - mom[1][2]) <= 2e-5, "mean %.8f (quantile %.8f), variance %.8f (quantile %.8f)", (double)mom[0][1], (double)mom[1][1], (double)mom[0][2], (double)mom[1][2]);
  GF_CK(GFProblemGetModel(problem, &model));
  GF_CK(GFModelComputeEnergy(model, rho0, &F0));
  GF_CK(GFModelComputeEnergy(model, rho, &F1));
  ck_assert_msg(F1 + result.w2sq / (2 * tau) <= F0, "JKO inequality: F_new + W2^2/(2 tau) = %.12g > F_old = %.12g", (double)(F1 + result.w2sq / (2 * tau)), (double)F0);
  GF_CK(VecDestroy(&rho));
  GF_CK(VecDestroy(&rho_q));
  Destroy(&problem, &jko);
  Destroy(&problem_q, &quantile);
}
END_TEST

Suite *JKOBFMSuite(void)
{
  Suite *s  = suite_create("jko_bfm");
  TCase *tc = tcase_create("core");

  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_ctransform_random);
  tcase_add_test(tc, test_ctransform_quadratic);
  tcase_add_test(tc, test_preconditioner_cosine);
  tcase_add_test(tc, test_window);
  tcase_add_test(tc, test_gaussian_step);
  suite_add_tcase(s, tc);
  return s;
}

int main(int argc, char **argv)
{
  return GFTestMain(argc, argv, JKOBFMSuite);
}
