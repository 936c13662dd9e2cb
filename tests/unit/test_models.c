/*
  Conformance suite: every registered model, in 1D and 2D, with explicit and implicit
  steps, conserves mass to 1e-12, keeps rho >= 0, never raises its energy, gives the same
  density on every number of ranks, matches its exact solution, and leaves its steady state
  unchanged or, if it has none, says so and why. A model missing from the table below fails the suite: a new model must state how
  to run it here.
*/
#include "gftest.h"

/*
  options: the model's data for the structure and steady-state runs.
  implicit: the model has a local part to take implicitly.
  energy: what its energy is called in messages.
  steady: how exactly the model's steady state is a fixed point of its scheme: 1e-12
  (round-off) where the discrete flux vanishes exactly there (Gibbs states of the
  Scharfetter-Gummel flux, the porous medium's level xi); SVGD's discrete target makes
  the velocity vanish only up to the quadrature of the kernel (~1e-9 relative in the tails).
  no_steady: why the model has no steady state (NULL: it has one; otherwise steady is unused).
  exact: data with an exact solution (1D, 128 or 256 cells); exact_l1: the bound on its
  relative L1 error there, about 1.5x the error measured, so losing an order fails.
*/
static const struct {
  const char *model, *options;
  PetscBool   implicit;
  const char *energy;
  PetscReal   steady;
  const char *no_steady, *exact;
  PetscReal   exact_l1;
} conformance[] = {
    {"fokker_planck", "-potential double_well -diffusion 0.6", PETSC_TRUE, "energy", 1e-12, NULL, "-potential quadratic -init_mean 1 -init_variance 0.25 -domain_lower -8 -domain_upper 8 -da_grid_x 128 -ts_max_time 0.5", 2.5e-3},
    {"porous_medium", "-potential quadratic -diffusion 0.6 -diffusion_exponent 2.5", PETSC_TRUE, "energy", 1e-12, NULL, "-diffusion_exponent 2 -init barenblatt -init_time 1 -domain_lower -4 -domain_upper 4 -da_grid_x 256 -ts_max_time 1.5", 2e-3},
    /*
      mckean_vlasov has no steady state: with an interaction W it is the fixed point
      rho = exp(-(V + W * rho)/sigma)/Z of a nonlinear map, with no closed form (an iterated
      one would be steady only to the iteration's tolerance, not to round-off as -init gibbs
      promises); without W the model is fokker_planck or porous_medium, which have it.
    */
    {"mckean_vlasov", "-potential double_well -interaction morse -interaction_params 1,0.8,0.5,0.3 -diffusion 0.4", PETSC_TRUE, "energy", 0,
     "the steady state rho = exp(-(V + W * rho)/sigma)/Z is the fixed point of a nonlinear map with no closed form",
     "-potential quadratic -interaction quadratic -init_mean 1 -init_variance 0.25 -domain_lower -5 -domain_upper 5 -da_grid_x 128 -ts_max_time 0.5", 1.5e-3},
    {"svgd", "-potential quadratic -potential_stiffness 2 -kernel gaussian -kernel_bandwidth 0.8", PETSC_FALSE, "KL", 1e-8, NULL,
     "-kernel bilinear -potential quadratic -init_mean 1 -init_variance 1 -domain_lower -8 -domain_upper 8 -da_grid_x 128 -ts_max_time 0.5", 8e-3},
    {"mean_field_nn", "-nn_neuron tanh -nn_samples 50 -nn_weight_decay 0.2 -diffusion 0.3", PETSC_TRUE, "energy", 0, "its steady state rho = exp(-(dR/drho + lambda |theta|^2/2)/sigma)/Z is the fixed point of a nonlinear map with no closed form",
     "-nn_neuron linear -nn_teacher 1 -init_mean 0 -init_variance 0.25 -domain_lower -4 -domain_upper 5 -da_grid_x 128 -ts_max_time 0.5", 7.5e-4},
};

/* The model's table entry; fails the suite if it has none. */
static int Find(const char model[])
{
  for (size_t i = 0; i < sizeof(conformance) / sizeof(conformance[0]); i++)
    if (!strcmp(conformance[i].model, model)) return (int)i;
  ck_abort_msg("model %s has no entry in the conformance table of tests/unit/test_models.c", model);
}

START_TEST(test_every_model_preserves_structure)
{
  char        names[512], *name, *rest;
  const char *grids[]    = {"-dim 1 -da_grid_x 64", "-dim 2 -da_grid_x 24 -da_grid_y 20 -bc periodic", "-dim 2 -da_grid_x 24 -da_grid_y 20"};
  const char *steppers[] = {/* first: every model runs explicit */ "-ts_type rk", "-ts_type beuler -ts_dt 0.02", "-ts_type bdf -ts_bdf_order 2 -ts_dt 0.02", "-ts_type arkimex -ts_arkimex_type 1bee"};

  GF_CK(GFModelListTypes(names, sizeof(names)));
  for (name = strtok_r(names, ", ", &rest); name; name = strtok_r(NULL, ", ", &rest)) {
    const int i = Find(name);
    for (size_t g = 0; g < sizeof(grids) / sizeof(grids[0]); g++) {
      for (size_t t = 0; t < (conformance[i].implicit ? sizeof(steppers) / sizeof(steppers[0]) : 1); t++) {
        char     all[1024];
        GFSolver solver;

        PetscSNPrintf(all, sizeof(all), "-model %s %s %s %s -domain_lower -5 -domain_upper 5 -init_mean 0.7 -init_variance 0.4 -ts_max_time 0.2", name, conformance[i].options, grids[g], steppers[t]);
        solver = GFTestSolve(all);
        GFTestAssertStructurePreserved(solver, all, conformance[i].energy);
        GF_CK(GFSolverDestroy(&solver));
      }
    }
  }
}
END_TEST

/* The final density of the options' run on comm, in natural order, whole on every rank (destroy it). */
static Vec NaturalSolution(MPI_Comm comm, const char options[])
{
  GFSolver   solver;
  GFGrid     grid;
  DM         da;
  Vec        rho, natural, all;
  VecScatter scatter;

  GFTestSetOptions(options);
  GF_CK(GFSolverCreate(comm, &solver));
  GF_CK(GFSolverSetFromOptions(solver));
  GF_CK(GFSolverSolve(solver));
  GF_CK(GFSolverGetGrid(solver, &grid));
  GF_CK(GFGridGetDM(grid, &da));
  GF_CK(GFSolverGetSolution(solver, &rho));
  GF_CK(DMDACreateNaturalVector(da, &natural));
  GF_CK(DMDAGlobalToNaturalBegin(da, rho, INSERT_VALUES, natural));
  GF_CK(DMDAGlobalToNaturalEnd(da, rho, INSERT_VALUES, natural));
  GF_CK(VecScatterCreateToAll(natural, &scatter, &all));
  GF_CK(VecScatterBegin(scatter, natural, all, INSERT_VALUES, SCATTER_FORWARD));
  GF_CK(VecScatterEnd(scatter, natural, all, INSERT_VALUES, SCATTER_FORWARD));
  GF_CK(VecScatterDestroy(&scatter));
  GF_CK(VecDestroy(&natural));
  GF_CK(GFSolverDestroy(&solver));
  return all;
}

/*
  Every model gives the same density on all ranks as on one (this rank alone): a 2D run with
  the table's options, explicit and (where the model has a local part) backward Euler, agrees
  to 1e-12 of its largest value. On one rank the two runs coincide; the suite runs on two.
*/
START_TEST(test_every_model_is_rank_invariant)
{
  char        names[512], *name, *rest;
  const char *steppers[] = {"-ts_type rk", "-ts_type beuler -ts_dt 0.02"};

  GF_CK(GFModelListTypes(names, sizeof(names)));
  for (name = strtok_r(names, ", ", &rest); name; name = strtok_r(NULL, ", ", &rest)) {
    const int i = Find(name);
    for (size_t t = 0; t < (conformance[i].implicit ? 2 : 1); t++) {
      char      all[1024];
      Vec       world, self;
      PetscReal difference, largest;

      PetscSNPrintf(all, sizeof(all), "-model %s %s %s -dim 2 -da_grid_x 24 -da_grid_y 20 -domain_lower -5 -domain_upper 5 -init_mean 0.7 -init_variance 0.4 -ts_max_time 0.2", name, conformance[i].options, steppers[t]);
      world = NaturalSolution(PETSC_COMM_WORLD, all);
      self  = NaturalSolution(PETSC_COMM_SELF, all);
      GF_CK(VecNorm(self, NORM_INFINITY, &largest));
      difference = GFTestMaxDifference(world, self);
      ck_assert_msg(difference <= 1e-12 * largest, "%s: the density on all ranks differs from the one-rank run by %.3g of its maximum (at most 1e-12)", all, (double)(difference / largest));
      GF_CK(VecDestroy(&world));
      GF_CK(VecDestroy(&self));
    }
  }
}
END_TEST

/* Every model matches its exact solution: from the table's data, its relative L1 error stays below the table's bound. */
START_TEST(test_every_exact_solution_is_matched)
{
  char names[512], *name, *rest;

  GF_CK(GFModelListTypes(names, sizeof(names)));
  for (name = strtok_r(names, ", ", &rest); name; name = strtok_r(NULL, ", ", &rest)) {
    const int i = Find(name);
    char      all[1024];
    GFSolver  solver;

    PetscSNPrintf(all, sizeof(all), "-model %s %s -exact", name, conformance[i].exact);
    solver = GFTestSolve(all);
    GFTestAssertStructurePreserved(solver, all, conformance[i].energy);
    GFTestAssertExactError(solver, all, conformance[i].exact_l1);
    GF_CK(GFSolverDestroy(&solver));
  }
}
END_TEST

/* The model reports no steady state, and asked for one it refuses with the reason of GFModelComputeSteadyState. */
static void AssertNoSteadyState(const char options[], const char why[])
{
  GFSolver  solver;
  GFModel   model;
  PetscBool has;
  Vec       rho;

  GFTestSetOptions(options);
  GF_CK(GFSolverCreate(PETSC_COMM_WORLD, &solver));
  GF_CK(GFSolverSetFromOptions(solver));
  GF_CK(GFSolverSetUp(solver));
  GF_CK(GFSolverGetModel(solver, &model));
  GF_CK(GFModelHasSteadyState(model, &has));
  ck_assert_msg(!has, "%s: the model reports a steady state, but the conformance table says it has none: %s", options, why);
  GF_CK(GFSolverGetSolution(solver, &rho));
  GF_ASSERT_ERROR(GFModelComputeSteadyState(model, rho), PETSC_ERR_USER_INPUT, "has no known steady state");
  GF_CK(GFSolverDestroy(&solver));
}

/* Where a model has a steady state, 50 steps from it change it by at most its tolerance (relative, every cell); where it has none, it says so. */
START_TEST(test_every_steady_state_is_steady)
{
  char names[512], *name, *rest;

  GF_CK(GFModelListTypes(names, sizeof(names)));
  for (name = strtok_r(names, ", ", &rest); name; name = strtok_r(NULL, ", ", &rest)) {
    const int i = Find(name);
    char      all[1024];

    PetscSNPrintf(all, sizeof(all), "-model %s %s -dim 2 -da_grid_x 20 -da_grid_y 24 -domain_lower -5 -domain_upper 5", name, conformance[i].options);
    if (conformance[i].no_steady)
      AssertNoSteadyState(all, conformance[i].no_steady);
    else
      GFTestAssertSteady(all, 50, GF_TEST_CHANGE_PER_CELL, conformance[i].steady);
  }
}
END_TEST

static Suite *MakeSuite(void)
{
  Suite *s = suite_create("models");
  TCase *t = tcase_create("conformance");
  tcase_set_timeout(t, 300);
  tcase_add_test(t, test_every_model_preserves_structure);
  tcase_add_test(t, test_every_model_is_rank_invariant);
  tcase_add_test(t, test_every_exact_solution_is_matched);
  tcase_add_test(t, test_every_steady_state_is_steady);
  suite_add_tcase(s, t);
  return s;
}

int main(int argc, char **argv)
{
  return GFTestMain(argc, argv, MakeSuite);
}
