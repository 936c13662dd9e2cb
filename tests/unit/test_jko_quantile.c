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
    char            what[64];

    SetUp(PETSC_COMM_WORLD, gaussian, 1, &problem, &jko);
    GF_CK(GFJKOSetUpQuantile(jko));
    GF_CK(GFProblemGetInitialDensity(problem, &rho0, NULL));
    GF_CK(VecDuplicate(rho0, &rho));
    GF_CK(VecDuplicate(rho0, &exact));
    GF_CK(VecCopy(rho0, rho));
    PetscSNPrintf(what, sizeof(what), "Gaussian, tau = %g", (double)tau);
    most = Steps(problem, jko, steps, tau, rho, what);
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
    if (getenv("GF_TEST_VERBOSE")) PetscPrintf(PETSC_COMM_WORLD, "%s: variance error %.3e, mean error %.3e, most Newton iterations %d\n", what, (double)(v1 - ve), (double)(m1 - me), (int)most);
    GF_CK(VecDestroy(&rho));
    GF_CK(VecDestroy(&exact));
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
  suite_add_tcase(s, tc);
  return s;
}

int main(int argc, char **argv)
{
  return GFTestMain(argc, argv, JKOQuantileSuite);
}
