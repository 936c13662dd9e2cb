/* JKO method "quantile" (src/solver/jko_quantile.c): exact Gaussian steps, JKO inequality, Gibbs state, Barenblatt speed, rank agreement, refusals. */
#include "gftest.h"
#include "../../src/solver/jko.h"

/* A problem from options (the grid, the model, its initial density) and a quantile method on it with diffusion exponent m; destroy both with Destroy(). */
static void SetUp(MPI_Comm comm, const char options[], PetscReal m, GFProblem *problem, GFJKOMethod *jko)
{
  GFModel model;

  GFTestSetOptions(options);
  GF_CK(GFProblemCreate(comm, problem));
  GF_CK(GFProblemSetFromOptions(*problem));
  GF_CK(GFProblemSetUp(*problem));
  GF_CK(GFProblemGetModel(*problem, &model));
  GF_CK(PetscNew(jko));
  (*jko)->comm             = comm;
  (*jko)->rtol             = 1e-10;
  (*jko)->max_it           = 100;
  (*jko)->energy.sigma     = model->sigma;
  (*jko)->energy.m         = m;
  (*jko)->energy.V         = model->V;
  (*jko)->energy.potential = model->potential;
  GF_CK(GFProblemGetGrid(*problem, &(*jko)->grid));
}

static void Destroy(GFProblem *problem, GFJKOMethod *jko)
{
  if ((*jko)->destroy) GF_CK((*jko)->destroy(*jko));
  GF_CK(PetscFree(*jko));
  GF_CK(GFProblemDestroy(problem));
}

/* Mass, mean and variance of cell averages by the midpoint rule. */
static void MidpointMoments(GFGrid grid, Vec rho, PetscReal *mass, PetscReal *mean, PetscReal *variance)
{
  const PetscScalar *r;
  PetscReal          local[3] = {0, 0, 0}, sum[3];

  GF_CK(VecGetArrayRead(rho, &r));
  for (PetscInt i = 0; i < grid->box.size[0]; i++) {
    const PetscReal x = grid->lower[0] + (grid->box.start[0] + i + 0.5) * grid->h[0], v = PetscRealPart(r[i]) * grid->h[0];
    local[0] += v;
    local[1] += v * x;
    local[2] += v * x * x;
  }
  GF_CK(VecRestoreArrayRead(rho, &r));
  ck_assert_int_eq(MPI_Allreduce(local, sum, 3, MPIU_REAL, MPIU_SUM, grid->comm), MPI_SUCCESS);
  *mass     = sum[0];
  *mean     = sum[1] / sum[0];
  *variance = sum[2] / sum[0] - *mean * *mean;
}

/* The whole 1D vector on every rank (sequential; destroy it). */
static Vec Gather(Vec v)
{
  VecScatter scatter;
  Vec        all;

  GF_CK(VecScatterCreateToAll(v, &scatter, &all));
  GF_CK(VecScatterBegin(scatter, v, all, INSERT_VALUES, SCATTER_FORWARD));
  GF_CK(VecScatterEnd(scatter, v, all, INSERT_VALUES, SCATTER_FORWARD));
  GF_CK(VecScatterDestroy(&scatter));
  return all;
}

/* Take steps JKO steps of length tau from rho (in place), checking each: converged, rho >= 0, mass kept to 1e-13, the JKO inequality in the grid energy. Returns the most Newton iterations. */
static PetscInt Steps(GFProblem problem, GFJKOMethod jko, PetscInt steps, PetscReal tau, Vec rho, const char what[])
{
  GFModel   model;
  Vec       next;
  PetscReal mass0, energy;
  PetscInt  most = 0;

  GF_CK(GFProblemGetModel(problem, &model));
  GF_CK(VecDuplicate(rho, &next));
  GF_CK(GFGridIntegrate(jko->grid, rho, &mass0));
  GF_CK(GFModelComputeEnergy(model, rho, &energy));
  for (PetscInt n = 0; n < steps; n++) {
    GFJKOResult result;
    PetscReal   mass, min, energy_new;
    GF_CK(jko->step(jko, tau, rho, next, &result));
    ck_assert_msg(result.converged, "%s, step %d: Newton did not converge (%d iterations, gradient %g, step %g)", what, (int)n, (int)result.iterations, (double)result.residual[0], (double)result.residual[1]);
    most = PetscMax(most, result.iterations);
    if (getenv("GF_TEST_VERBOSE") && n < 3) PetscPrintf(PETSC_COMM_WORLD, "  step %d: %d its, gradient %.2e, step %.2e, w2sq %.6e\n", (int)n, (int)result.iterations, (double)result.residual[0], (double)result.residual[1], (double)result.w2sq);
    GF_CK(GFGridIntegrate(jko->grid, next, &mass));
    GF_CK(VecMin(next, NULL, &min));
    if (getenv("GF_TEST_VERBOSE") && n == steps - 1) PetscPrintf(PETSC_COMM_WORLD, "  %s: relative mass drift %.2e after %d steps\n", what, (double)((mass - mass0) / mass0), (int)steps);
    ck_assert_msg(PetscAbsReal(mass - mass0) <= 1e-13 * mass0, "%s, step %d: mass %.17g, initially %.17g", what, (int)n, (double)mass, (double)mass0);
    ck_assert_msg(min >= 0, "%s, step %d: min rho %g", what, (int)n, (double)min);
    GF_CK(GFModelComputeEnergy(model, next, &energy_new));
    ck_assert_msg(energy_new + result.w2sq / (2 * tau) <= energy + 1e-12 * PetscAbsReal(energy), "%s, step %d: JKO inequality F_new + W2^2/(2 tau) = %.15g > F_old = %.15g", what, (int)n, (double)(energy_new + result.w2sq / (2 * tau)),
                  (double)energy);
    energy = energy_new;
    GF_CK(VecCopy(next, rho));
  }
  GF_CK(VecDestroy(&next));
  return most;
}

static const char gaussian[] = "-model fokker_planck -potential quadratic -diffusion 1 -init gaussian -init_mean 1 -init_variance 0.25 -domain_lower -8 -domain_upper 8 -da_grid_x 512";

/*
  Case 1, the acceptance figure: sigma = 1, V = x^2/2, N(1, 0.25) to t = 1. A JKO step maps
  N(m, s^2) to N(m/(1 + tau), s'^2), (1 + tau) s'^2 - s s' - tau = 0: at t = 1 the variance is
  0.872709, 0.885356, 0.891864, 0.895165 for tau = 0.1, 0.05, 0.025, 0.0125. The computed cell
  averages and the exact cell averages of that Gaussian are measured by the same midpoint
  rule (both carry its +h^2/12 = 8e-5), and must agree to 1e-5 in mean and variance.
*/
START_TEST(test_gaussian_steps)
{
  const PetscReal variance_ref[4] = {0.872709, 0.885356, 0.891864, 0.895165}, mean_ref[4] = {0.385543, 0.376889, 0.372431, 0.370167};

  for (int level = 0; level < 4; level++) {
    const PetscReal tau   = 0.1 / (1 << level);
    const PetscInt  steps = 10 << level;
    GFProblem       problem;
    GFJKOMethod     jko;
    Vec             rho0, rho, exact;
    PetscReal       mean = 1, s = 0.5, variance, mass, m1, v1, me, ve;
    PetscInt        most;
    PetscLogDouble  start, stop;
    char            what[64];

    SetUp(PETSC_COMM_WORLD, gaussian, 1, &problem, &jko);
    GF_CK(GFJKOSetUpQuantile(jko));
    GF_CK(GFProblemGetInitialDensity(problem, &rho0, NULL));
    GF_CK(VecDuplicate(rho0, &rho));
    GF_CK(VecDuplicate(rho0, &exact));
    GF_CK(VecCopy(rho0, rho));
    PetscSNPrintf(what, sizeof(what), "Gaussian, tau = %g", (double)tau);
    GF_CK(PetscTime(&start));
    most = Steps(problem, jko, steps, tau, rho, what);
    GF_CK(PetscTime(&stop));
    for (PetscInt n = 0; n < steps; n++) {
      mean /= 1 + tau;
      s = (s + PetscSqrtReal(s * s + 4 * (1 + tau) * tau)) / (2 * (1 + tau));
    }
    variance = s * s;
    ck_assert_msg(PetscAbsReal(variance - variance_ref[level]) < 1e-6 && PetscAbsReal(mean - mean_ref[level]) < 1e-6, "recursion: variance %.6f, mean %.6f", (double)variance, (double)mean);
    GF_CK(GFGridGaussianCellAverages(jko->grid, &mean, &variance, exact));
    MidpointMoments(jko->grid, rho, &mass, &m1, &v1);
    MidpointMoments(jko->grid, exact, &mass, &me, &ve);
    ck_assert_msg(PetscAbsReal(v1 - ve) <= 1e-5 && PetscAbsReal(m1 - me) <= 1e-5, "%s: variance %.8f, exact %.8f (error %.2e); mean %.8f, exact %.8f (error %.2e)", what, (double)v1, (double)ve, (double)(v1 - ve), (double)m1, (double)me,
                  (double)(m1 - me));
    ck_assert_msg(most <= 10, "%s: up to %d Newton iterations a step", what, (int)most);
    if (getenv("GF_TEST_VERBOSE"))
      PetscPrintf(PETSC_COMM_WORLD, "%s: variance error %.3e, mean error %.3e, most Newton iterations %d, %.2f ms a step (with the checks)\n", what, (double)(v1 - ve), (double)(m1 - me), (int)most, 1e3 * (stop - start) / steps);
    GF_CK(VecDestroy(&rho));
    GF_CK(VecDestroy(&exact));
    Destroy(&problem, &jko);
  }
}
END_TEST

/*
  Case 2: porous medium m = 2, Barenblatt from t = 1 to t = 2 on [-4, 4], 1024 cells: the L1
  error against the exact cell averages falls at order about 1 in tau (above 0.8 between
  tau = 0.1, 0.05, 0.025), the mass stays in the support (no cell beyond the exact front plus
  two cells has mass), and each step keeps the JKO inequality.
*/
START_TEST(test_barenblatt_speed)
{
  const char barenblatt[] = "-model porous_medium -diffusion_exponent 2 -init barenblatt -init_time 1 -domain_lower -4 -domain_upper 4 -da_grid_x 1024";
  PetscReal  error[3];

  for (int level = 0; level < 3; level++) {
    const PetscReal    tau = 0.1 / (1 << level), front = 2.080084 * PetscCbrtReal(2.0);
    GFProblem          problem;
    GFJKOMethod        jko;
    GFModel            model;
    Vec                rho0, rho, exact;
    PetscReal          norm, outside = 0;
    const PetscScalar *r;
    char               what[64];

    SetUp(PETSC_COMM_WORLD, barenblatt, 2, &problem, &jko);
    GF_CK(GFJKOSetUpQuantile(jko));
    GF_CK(GFProblemGetModel(problem, &model));
    GF_CK(GFProblemGetInitialDensity(problem, &rho0, NULL));
    GF_CK(VecDuplicate(rho0, &rho));
    GF_CK(VecDuplicate(rho0, &exact));
    GF_CK(VecCopy(rho0, rho));
    PetscSNPrintf(what, sizeof(what), "Barenblatt, tau = %g", (double)tau);
    (void)Steps(problem, jko, 10 << level, tau, rho, what);
    GF_CK(GFModelComputeExact(model, 2, exact));
    GF_CK(VecNorm(exact, NORM_1, &norm));
    GF_CK(VecGetArrayRead(rho, &r));
    for (PetscInt i = 0; i < jko->grid->box.size[0]; i++) {
      const PetscReal x = jko->grid->lower[0] + (jko->grid->box.start[0] + i + 0.5) * jko->grid->h[0];
      if (PetscAbsReal(x) > front + 2 * jko->grid->h[0]) outside += PetscAbsReal(PetscRealPart(r[i]));
    }
    GF_CK(VecRestoreArrayRead(rho, &r));
    ck_assert_int_eq(MPI_Allreduce(MPI_IN_PLACE, &outside, 1, MPIU_REAL, MPIU_SUM, PETSC_COMM_WORLD), MPI_SUCCESS);
    ck_assert_msg(outside == 0, "%s: mass %g beyond the front %.4f", what, (double)outside, (double)front);
    GF_CK(VecAXPY(rho, -1, exact));
    GF_CK(VecNorm(rho, NORM_1, &error[level]));
    error[level] /= norm;
    if (getenv("GF_TEST_VERBOSE")) PetscPrintf(PETSC_COMM_WORLD, "%s: relative L1 error %.3e\n", what, (double)error[level]);
    GF_CK(VecDestroy(&rho));
    GF_CK(VecDestroy(&exact));
    Destroy(&problem, &jko);
  }
  GFTestAssertOrder("JKO quantile, 1D Barenblatt m = 2, L1 at t = 2 from tau = 0.1 to 0.025", 3, error, 0.8);
}
END_TEST

/*
  Case 3: the Gibbs state exp(-V) (V = x^2/2, sigma = 1) is nearly a fixed point: the first
  step (from cell averages) moves it by the reconstruction's error only, below h^2/20 max rho,
  and the next steps (tau = 5, Lagrangian state kept) settle on the discrete equilibrium, the
  slowest mode by 1/(1 + 2 tau) a step: the tenth moves it by less than 1e-12 max rho.
*/
START_TEST(test_gibbs_fixed_point)
{
  GFProblem   problem;
  GFJKOMethod jko;
  Vec         rho0, rho, next;
  PetscReal   peak;

  SetUp(PETSC_COMM_WORLD, "-model fokker_planck -potential quadratic -init gibbs -domain_lower -8 -domain_upper 8 -da_grid_x 256", 1, &problem, &jko);
  GF_CK(GFJKOSetUpQuantile(jko));
  GF_CK(GFProblemGetInitialDensity(problem, &rho0, NULL));
  GF_CK(VecDuplicate(rho0, &rho));
  GF_CK(VecDuplicate(rho0, &next));
  GF_CK(VecCopy(rho0, rho));
  GF_CK(VecMax(rho, NULL, &peak));
  for (int n = 0; n < 10; n++) {
    GFJKOResult     result;
    PetscReal       change;
    const PetscReal h = jko->grid->h[0], bound = n == 0 ? 0.05 * h * h : (n == 9 ? 1e-12 : PETSC_INFINITY);
    GF_CK(jko->step(jko, 5, rho, next, &result));
    ck_assert(result.converged);
    change = GFTestMaxDifference(rho, next);
    if (getenv("GF_TEST_VERBOSE")) PetscPrintf(PETSC_COMM_WORLD, "Gibbs, step %d: change %.3e of max rho, %d Newton iterations\n", n, (double)(change / peak), (int)result.iterations);
    ck_assert_msg(change <= bound * peak, "Gibbs state, step %d: changed by %g (max rho %g)", n, (double)change, (double)peak);
    GF_CK(VecCopy(next, rho));
  }
  GF_CK(VecDestroy(&rho));
  GF_CK(VecDestroy(&next));
  Destroy(&problem, &jko);
}
END_TEST

/* Two parabolic bumps, (1 - ((x - c)/0.3)^2)_+ at c = -1 and c = 2.6 (the second 0.1 from the wall at 3). */
static PetscReal TwoBumps(PetscInt dim, const PetscReal x[], void *ctx)
{
  const PetscReal a = (x[0] + 1) / 0.3, b = (x[0] - 2.6) / 0.3;
  (void)dim, (void)ctx;
  return PetscMax(1 - a * a, 0) + PetscMax(1 - b * b, 0);
}

/*
  Case 5: the support's events, porous medium m = 2 (V = 0) on [-3, 3] from two bumps: the gap
  between them closes (the empty cell ties, mass appears at x = 0.8 between them) and the right
  bump reaches the wall (the empty wall cell ties: mass in the last cell), every step converged,
  conservative, >= 0 and within the JKO inequality.
*/
START_TEST(test_support_events)
{
  GFProblem          problem;
  GFJKOMethod        jko;
  Vec                rho;
  const PetscScalar *r;
  PetscReal          local[2] = {0, 0};
  const PetscInt     middle = 146, last = 149; /* x = 0.84 and the cell at the upper wall, of 150 */

  SetUp(PETSC_COMM_WORLD, "-model porous_medium -diffusion_exponent 2 -domain_lower -3 -domain_upper 3 -da_grid_x 150 -init uniform", 2, &problem, &jko);
  GF_CK(GFJKOSetUpQuantile(jko));
  GF_CK(DMCreateGlobalVector(jko->grid->da, &rho));
  GF_CK(GFGridEvaluate(jko->grid, TwoBumps, NULL, rho));
  (void)Steps(problem, jko, 40, 0.05, rho, "two bumps");
  GF_CK(VecGetArrayRead(rho, &r));
  for (PetscInt i = jko->grid->box.start[0]; i < jko->grid->box.start[0] + jko->grid->box.size[0]; i++) {
    if (i == middle) local[0] = PetscRealPart(r[i - jko->grid->box.start[0]]);
    if (i == last) local[1] = PetscRealPart(r[i - jko->grid->box.start[0]]);
  }
  GF_CK(VecRestoreArrayRead(rho, &r));
  ck_assert_int_eq(MPI_Allreduce(MPI_IN_PLACE, local, 2, MPIU_REAL, MPIU_SUM, PETSC_COMM_WORLD), MPI_SUCCESS);
  ck_assert_msg(local[0] > 0 && local[1] > 0, "two bumps at t = 2: rho %g between them, %g at the wall: the gap did not close or the wall was not reached", (double)local[0], (double)local[1]);
  GF_CK(VecDestroy(&rho));
  Destroy(&problem, &jko);
}
END_TEST

/*
  Case 4: every rank solves the whole line: from the same data, the result on PETSC_COMM_WORLD
  equals bitwise the one each rank computes alone, after several steps (state kept) of a
  porous medium in a double well. (The data are copied, not recomputed: the initial density's
  normalisation sums over ranks, which rounds differently on different rank counts.)
*/
START_TEST(test_ranks_agree)
{
  const char  options[] = "-model porous_medium -diffusion_exponent 2 -potential double_well -init gaussian -init_mean 0.3 -init_variance 0.2 -domain_lower -3 -domain_upper 3 -da_grid_x 203";
  Vec         result[2], all[2];
  GFProblem   problem[2];
  GFJKOMethod jko[2];
  MPI_Comm    comms[2] = {PETSC_COMM_WORLD, PETSC_COMM_SELF};

  for (int c = 0; c < 2; c++) {
    Vec rho0;
    SetUp(comms[c], options, 2, &problem[c], &jko[c]);
    GF_CK(GFJKOSetUpQuantile(jko[c]));
    GF_CK(GFProblemGetInitialDensity(problem[c], &rho0, NULL));
    GF_CK(VecDuplicate(rho0, &result[c]));
    GF_CK(VecCopy(rho0, result[c]));
  }
  all[0] = Gather(result[0]);
  GF_CK(VecCopy(all[0], result[1])); /* one rank: the whole line is its own */
  GF_CK(VecDestroy(&all[0]));
  for (int c = 0; c < 2; c++) {
    (void)Steps(problem[c], jko[c], 5, 0.05, result[c], c ? "one rank" : "all ranks");
    all[c] = Gather(result[c]);
  }
  {
    const PetscScalar *a, *b;
    PetscInt           n;
    GF_CK(VecGetSize(all[0], &n));
    GF_CK(VecGetArrayRead(all[0], &a));
    GF_CK(VecGetArrayRead(all[1], &b));
    for (PetscInt i = 0; i < n; i++) ck_assert_msg(a[i] == b[i], "cell %d: %.17g on all ranks, %.17g on one", (int)i, (double)PetscRealPart(a[i]), (double)PetscRealPart(b[i]));
    GF_CK(VecRestoreArrayRead(all[0], &a));
    GF_CK(VecRestoreArrayRead(all[1], &b));
  }
  for (int c = 0; c < 2; c++) {
    GF_CK(VecDestroy(&result[c]));
    GF_CK(VecDestroy(&all[c]));
    Destroy(&problem[c], &jko[c]);
  }
}
END_TEST

/* Case 6: what the method cannot do, refused with a message that says what to use. */
START_TEST(test_refusals)
{
  const struct {
    const char *options, *message;
  } cases[] = {
      {"-model fokker_planck -dim 2 -da_grid_x 8 -da_grid_y 8", "exact in 1D only, this grid is 2D: use -jko_method primal_dual"},
      {"-model fokker_planck -bc periodic", "needs no-flux walls"},
      {"-model mckean_vlasov -interaction quadratic", "no interaction energy"},
      {"-model fokker_planck -jko_quantile_refine 0", "-jko_quantile_refine"},
  };

  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    GFProblem   problem;
    GFJKOMethod jko;
    GFModel     model;
    SetUp(PETSC_COMM_WORLD, cases[c].options, 1, &problem, &jko);
    GF_CK(GFProblemGetModel(problem, &model));
    jko->energy.interaction = model->dynamics.interaction;
    GF_ASSERT_ERROR(GFJKOSetUpQuantile(jko), strstr(cases[c].message, "refine") ? PETSC_ERR_ARG_OUTOFRANGE : PETSC_ERR_USER_INPUT, cases[c].message);
    Destroy(&problem, &jko);
  }
}
END_TEST

Suite *JKOQuantileSuite(void)
{
  Suite *s  = suite_create("jko_quantile");
  TCase *tc = tcase_create("core");

  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_gaussian_steps);
  tcase_add_test(tc, test_barenblatt_speed);
  tcase_add_test(tc, test_gibbs_fixed_point);
  tcase_add_test(tc, test_ranks_agree);
  tcase_add_test(tc, test_support_events);
  tcase_add_test(tc, test_refusals);
  suite_add_tcase(s, tc);
  return s;
}

int main(int argc, char **argv)
{
  return GFTestMain(argc, argv, JKOQuantileSuite);
}
