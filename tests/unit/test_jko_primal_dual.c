/* The primal-dual JKO method (src/solver/jko_primal_dual.c): the exact Gaussian JKO recursion, a 2D Barenblatt, structure, rank agreement and option checks. */
#include "gftest.h"
#include "../../src/solver/jko.h"

typedef struct {
  GFGrid      grid;
  GFModel     model;
  GFJKOMethod jko;
  Vec         rho, next;
} Problem;

/* Grid and model from options (the grid's -dim, -da_grid_*, -domain_*; the model's -model, -diffusion, -potential ...), a primal-dual method on them, rho = the initial data. */
static void ProblemCreate(MPI_Comm comm, const char options[], const GFInitialData *init, PetscReal m, PetscReal rtol, PetscInt max_it, Problem *p)
{
  GFTestSetOptions(options);
  GF_CK(GFGridCreate(comm, &p->grid));
  GF_CK(GFGridSetFromOptions(p->grid));
  GF_CK(GFGridSetUp(p->grid));
  GF_CK(GFModelCreate(comm, &p->model));
  GF_CK(GFModelSetFromOptions(p->model, p->grid));
  GF_CK(GFModelSetInitialData(p->model, init));
  GF_CK(GFModelSetUp(p->model, p->grid));
  GF_CK(DMCreateGlobalVector(p->grid->da, &p->rho));
  GF_CK(VecDuplicate(p->rho, &p->next));
  if (init->type == GF_INIT_GAUSSIAN)
    GF_CK(GFGridGaussianCellAverages(p->grid, init->mean, init->variance, p->rho));
  else
    GF_CK(GFModelComputeExact(p->model, init->time, p->rho));
  GF_CK(PetscNew(&p->jko));
  p->jko->comm         = comm;
  p->jko->grid         = p->grid;
  p->jko->energy.sigma = p->model->sigma;
  p->jko->energy.m     = m;
  p->jko->energy.V     = p->model->V;
  p->jko->rtol         = rtol;
  p->jko->max_it       = max_it;
}

static void ProblemDestroy(Problem *p)
{
  if (p->jko->destroy) GF_CK(p->jko->destroy(p->jko));
  GF_CK(PetscFree(p->jko));
  GF_CK(VecDestroy(&p->rho));
  GF_CK(VecDestroy(&p->next));
  GF_CK(GFModelDestroy(&p->model));
  GF_CK(GFGridDestroy(&p->grid));
}

typedef struct {
  PetscInt  max_iterations, total_iterations, unconverged;
  PetscReal mass_drift, min_density;
} RunRecord;

/* steps JKO steps of length tau from p->rho (in place), recording iterations, mass drift and the lowest density. */
static void Run(Problem *p, PetscReal tau, PetscInt steps, RunRecord *rec)
{
  PetscReal mass0;

  GF_CK(VecSum(p->rho, &mass0));
  *rec = (RunRecord){0, 0, 0, 0, PETSC_MAX_REAL};
  for (PetscInt s = 0; s < steps; s++) {
    GFJKOResult result;
    PetscReal   mass, min;

    GF_CK(p->jko->step(p->jko, tau, p->rho, p->next, &result));
    GF_CK(VecCopy(p->next, p->rho));
    GF_CK(VecSum(p->rho, &mass));
    GF_CK(VecMin(p->rho, NULL, &min));
    ck_assert_msg(result.w2sq > 0 && PetscIsNormalReal(result.w2sq), "step %d: W2^2 estimate %g", (int)s, (double)result.w2sq);
    rec->max_iterations = PetscMax(rec->max_iterations, result.iterations);
    rec->total_iterations += result.iterations;
    rec->unconverged += !result.converged;
    rec->mass_drift  = PetscMax(rec->mass_drift, PetscAbsReal(mass - mass0) / mass0);
    rec->min_density = PetscMin(rec->min_density, min);
  }
}

/* Midpoint-rule mean and variance along each axis. */
static void Moments(GFGrid grid, Vec rho, PetscReal mean[], PetscReal var[])
{
  const GFLocalBox  *b = &grid->box;
  const PetscScalar *r;
  PetscReal          local[7] = {0, 0, 0, 0, 0, 0, 0}, sum[7];

  GF_CK(VecGetArrayRead(rho, &r));
  GF_FOR_OWNED(b, i, j, k)
  {
    const PetscInt  idx[3] = {i, j, k};
    const PetscReal w      = PetscRealPart(r[GFOwnedIndex(b, i, j, k)]);
    PetscReal       x[3];
    GFGridCellCenter(grid, idx, x);
    local[0] += w;
    for (PetscInt a = 0; a < grid->dim; a++) {
      local[1 + a] += w * x[a];
      local[4 + a] += w * x[a] * x[a];
    }
  }
  GF_CK(VecRestoreArrayRead(rho, &r));
  ck_assert_int_eq(MPI_Allreduce(local, sum, 7, MPIU_REAL, MPIU_SUM, grid->comm), MPI_SUCCESS);
  for (PetscInt a = 0; a < grid->dim; a++) {
    mean[a] = sum[1 + a] / sum[0];
    var[a]  = sum[4 + a] / sum[0] - mean[a] * mean[a];
  }
}

/* Exact JKO steps of the Ornstein-Uhlenbeck flow (sigma = 1, V = |x|^2/2): N(m, s^2) -> N(m/(1+tau), s'^2), (1+tau) s'^2 - s s' - tau = 0. */
static void GaussianRecursion(PetscReal tau, PetscInt steps, PetscReal *mean, PetscReal *var)
{
  PetscReal s = PetscSqrtReal(*var);
  for (PetscInt n = 0; n < steps; n++) {
    *mean /= 1 + tau;
    s = (s + PetscSqrtReal(s * s + 4 * (1 + tau) * tau)) / (2 * (1 + tau));
  }
  *var = s * s;
}

/* The Gaussian recursion to t = 1 at tau = 0.1 in 1D: mean and variance of the midpoint rule within 2e-3 of those of the exact cell averages, mass to 1e-12, rho >= 0. */
START_TEST(test_gaussian_1d)
{
  const PetscReal tau  = 0.1;
  GFInitialData   init = {.type = GF_INIT_GAUSSIAN, .mean = {1, 0, 0}, .variance = {0.25, 1, 1}, .mass = 1};
  Problem         p;
  RunRecord       rec;
  PetscReal       mean[3], var[3], mean_exact = 1, var_exact = 0.25, em[3], ev[3];
  Vec             exact;

  ProblemCreate(PETSC_COMM_WORLD, "-dim 1 -da_grid_x 256 -domain_lower -8 -domain_upper 8 -model fokker_planck -potential quadratic", &init, 1, 1e-4, 3000, &p);
  GF_CK(GFJKOSetUpPrimalDual(p.jko));
  Run(&p, tau, 10, &rec);
  GaussianRecursion(tau, 10, &mean_exact, &var_exact);
  ck_assert_msg(PetscAbsReal(var_exact - 0.872709) < 1e-6, "exact recursion variance %.7f", (double)var_exact);
  GF_CK(VecDuplicate(p.rho, &exact));
  GF_CK(GFGridGaussianCellAverages(p.grid, &mean_exact, &var_exact, exact));
  Moments(p.grid, p.rho, mean, var);
  Moments(p.grid, exact, em, ev);
  ck_assert_msg(PetscAbsReal(var[0] - ev[0]) < 2e-3 && PetscAbsReal(mean[0] - em[0]) < 2e-3, "1D Gaussian at t = 1: mean %.6f (exact %.6f), variance %.6f (exact %.6f)", (double)mean[0], (double)em[0], (double)var[0], (double)ev[0]);
  ck_assert_msg(rec.mass_drift <= 1e-12, "mass drift %g", (double)rec.mass_drift);
  ck_assert_msg(rec.min_density >= 0, "min rho %g", (double)rec.min_density);
  GF_CK(VecDestroy(&exact));
  ProblemDestroy(&p);
}
END_TEST

static const char barenblatt_2d[] = "-dim 2 -da_grid_x 64 -da_grid_y 64 -domain_lower 0 -domain_upper 1 -model porous_medium -diffusion_exponent 2 -potential none";

/* The distributed rho in natural order on every rank. */
static Vec GatherNatural(GFGrid grid, Vec rho)
{
  Vec        natural, all;
  VecScatter scatter;

  GF_CK(DMDACreateNaturalVector(grid->da, &natural));
  GF_CK(DMDAGlobalToNaturalBegin(grid->da, rho, INSERT_VALUES, natural));
  GF_CK(DMDAGlobalToNaturalEnd(grid->da, rho, INSERT_VALUES, natural));
  GF_CK(VecScatterCreateToAll(natural, &scatter, &all));
  GF_CK(VecScatterBegin(scatter, natural, all, INSERT_VALUES, SCATTER_FORWARD));
  GF_CK(VecScatterEnd(scatter, natural, all, INSERT_VALUES, SCATTER_FORWARD));
  GF_CK(VecScatterDestroy(&scatter));
  GF_CK(VecDestroy(&natural));
  return all;
}

/*
  2D Barenblatt (m = 2, mass 1, centre (0.5, 0.5)) from t = 2.5e-4 over 8 steps of 2.5e-4 at 64^2:
  every step converges to 1e-6 within 400 iterations, relative L1 error against the exact cell
  averages below 5e-2 (the first-order time error of JKO steps at this tau), mass to 1e-12, rho >= 0; on several ranks the result equals a one-rank
  solve on each rank to 1e-6 of the peak.
*/
START_TEST(test_barenblatt_2d)
{
  const PetscReal t0 = 2.5e-4, tau = 2.5e-4;
  GFInitialData   init = {.type = GF_INIT_BARENBLATT, .mean = {0.5, 0.5, 0}, .variance = {1, 1, 1}, .mass = 1, .time = t0};
  Problem         p;
  RunRecord       rec;
  PetscReal       error, norm;
  Vec             exact;

  ProblemCreate(PETSC_COMM_WORLD, barenblatt_2d, &init, 2, 1e-6, 400, &p);
  GF_CK(GFJKOSetUpPrimalDual(p.jko));
  Run(&p, tau, 8, &rec);
  GF_CK(VecDuplicate(p.rho, &exact));
  GF_CK(GFModelComputeExact(p.model, t0 + 8 * tau, exact));
  GF_CK(VecNorm(exact, NORM_1, &norm));
  GF_CK(VecAXPY(exact, -1, p.rho));
  GF_CK(VecNorm(exact, NORM_1, &error));
  error /= norm;
  ck_assert_msg(rec.unconverged == 0, "%d of 8 steps did not converge within 400 iterations", (int)rec.unconverged);
  ck_assert_msg(error < 5e-2, "2D Barenblatt at 64^2: relative L1 error %g", (double)error);
  ck_assert_msg(rec.mass_drift <= 1e-12, "mass drift %g", (double)rec.mass_drift);
  ck_assert_msg(rec.min_density >= 0, "min rho %g", (double)rec.min_density);
  GF_CK(VecDestroy(&exact));
  ProblemDestroy(&p);
}
END_TEST

/* On several ranks, three Barenblatt steps at 32^2 equal those of a one-rank solve on each rank to 1e-5 of the peak (the solver tolerance is 1e-7). */
START_TEST(test_rank_agreement)
{
  GFInitialData init      = {.type = GF_INIT_BARENBLATT, .mean = {0.5, 0.5, 0}, .variance = {1, 1, 1}, .mass = 1, .time = 2.5e-4};
  const char    options[] = "-dim 2 -da_grid_x 32 -da_grid_y 32 -domain_lower 0 -domain_upper 1 -model porous_medium -diffusion_exponent 2 -potential none";
  Problem       p, serial;
  RunRecord     rec;
  Vec           all;
  PetscReal     diff, peak;
  PetscMPIInt   size;

  ck_assert_int_eq(MPI_Comm_size(PETSC_COMM_WORLD, &size), MPI_SUCCESS);
  if (size == 1) return;
  ProblemCreate(PETSC_COMM_WORLD, options, &init, 2, 1e-7, 2000, &p);
  GF_CK(GFJKOSetUpPrimalDual(p.jko));
  Run(&p, 2.5e-4, 3, &rec);
  ck_assert_msg(rec.unconverged == 0, "%d ranks: %d steps did not converge", (int)size, (int)rec.unconverged);
  ProblemCreate(PETSC_COMM_SELF, options, &init, 2, 1e-7, 2000, &serial);
  GF_CK(GFJKOSetUpPrimalDual(serial.jko));
  Run(&serial, 2.5e-4, 3, &rec);
  ck_assert_msg(rec.unconverged == 0, "1 rank: %d steps did not converge", (int)rec.unconverged);
  all = GatherNatural(p.grid, p.rho);
  GF_CK(VecMax(serial.rho, NULL, &peak));
  diff = GFTestMaxDifference(all, serial.rho);
  ck_assert_msg(diff <= 1e-5 * peak, "%d ranks and 1 rank differ by %g (peak %g)", (int)size, (double)diff, (double)peak);
  GF_CK(VecDestroy(&all));
  ProblemDestroy(&serial);
  ProblemDestroy(&p);
}
END_TEST

/* Fewer than one pseudo-time interval is refused with a message naming the option. */
START_TEST(test_substeps_refused)
{
  GFInitialData init = {.type = GF_INIT_GAUSSIAN, .mean = {0, 0, 0}, .variance = {1, 1, 1}, .mass = 1};
  Problem       p;

  ProblemCreate(PETSC_COMM_WORLD, "-dim 1 -da_grid_x 32 -domain_lower -4 -domain_upper 4 -model fokker_planck -jko_substeps 0", &init, 1, 1e-6, 10, &p);
  GF_ASSERT_ERROR(GFJKOSetUpPrimalDual(p.jko), PETSC_ERR_ARG_OUTOFRANGE, "-jko_substeps 0");
  ProblemDestroy(&p);
}
END_TEST

/* Two pseudo-time intervals on a periodic 2D box: a steady state of the OU flow's Gibbs density stays put (to the tolerance), mass and sign kept. */
START_TEST(test_substeps_steady)
{
  GFInitialData init = {.type = GF_INIT_GAUSSIAN, .mean = {0, 0, 0}, .variance = {1, 1, 1}, .mass = 1};
  Problem       p;
  RunRecord     rec;
  Vec           start;
  PetscReal     change, peak;

  ProblemCreate(PETSC_COMM_WORLD, "-dim 2 -da_grid_x 32 -da_grid_y 32 -domain_lower -6 -domain_upper 6 -bc periodic -model fokker_planck -potential quadratic -jko_substeps 2", &init, 1, 1e-4, 1000, &p);
  GF_CK(GFJKOSetUpPrimalDual(p.jko));
  GF_CK(VecDuplicate(p.rho, &start));
  GF_CK(VecCopy(p.rho, start));
  Run(&p, 0.2, 2, &rec);
  GF_CK(VecMax(start, NULL, &peak));
  change = GFTestMaxDifference(start, p.rho);
  ck_assert_msg(change < 1e-2 * peak, "the Gibbs density moved by %g (peak %g)", (double)change, (double)peak);
  ck_assert_msg(rec.mass_drift <= 1e-12 && rec.min_density >= 0, "mass drift %g, min rho %g", (double)rec.mass_drift, (double)rec.min_density);
  GF_CK(VecDestroy(&start));
  ProblemDestroy(&p);
}
END_TEST

static Suite *MakeSuite(void)
{
  Suite *s  = suite_create("jko_primal_dual");
  TCase *tc = tcase_create("core");

  tcase_set_timeout(tc, 300);
  tcase_add_test(tc, test_substeps_refused);
  tcase_add_test(tc, test_gaussian_1d);
  tcase_add_test(tc, test_substeps_steady);
  tcase_add_test(tc, test_barenblatt_2d);
  tcase_add_test(tc, test_rank_agreement);
  suite_add_tcase(s, tc);
  return s;
}

int main(int argc, char **argv)
{
  return GFTestMain(argc, argv, MakeSuite);
}
