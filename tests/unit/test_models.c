/*
  Conformance suite: every registered model, in 1D and 2D, with explicit and implicit
  steps, conserves mass to 1e-12, keeps rho >= 0, never raises its energy, and where
  it has a steady state leaves it unchanged. A model missing from the table below
  fails the suite: a new model must state how to run it here.
*/
#include "gftest.h"

/*
  steady: how exactly the model's steady state is a fixed point of its scheme: 1e-12
  (round-off) where the discrete flux vanishes exactly there (Gibbs states of the
  Scharfetter-Gummel flux, the porous medium's level xi); SVGD's discrete target makes
  the velocity vanish only up to the quadrature of the kernel (~1e-9 relative in the tails).
*/
static const struct {
  const char *model, *options;
  PetscBool   implicit; /* the model has a local part to take implicitly */
  PetscReal   steady;
} conformance[] = {
    {"fokker_planck", "-potential double_well -diffusion 0.6", PETSC_TRUE, 1e-12},
    {"porous_medium", "-potential quadratic -diffusion 0.6 -diffusion_exponent 2.5", PETSC_TRUE, 1e-12},
    {"mckean_vlasov", "-potential double_well -interaction morse -interaction_params 1,0.8,0.5,0.3 -diffusion 0.4", PETSC_TRUE, 1e-12},
    {"svgd", "-potential quadratic -potential_stiffness 2 -kernel gaussian -kernel_bandwidth 0.8", PETSC_FALSE, 1e-8},
};

static const char *FindOptions(const char model[], PetscBool *implicit, PetscReal *steady)
{
  for (size_t i = 0; i < sizeof(conformance) / sizeof(conformance[0]); i++) {
    if (strcmp(conformance[i].model, model)) continue;
    if (implicit) *implicit = conformance[i].implicit;
    if (steady) *steady = conformance[i].steady;
    return conformance[i].options;
  }
  return NULL;
}

START_TEST(test_every_model_preserves_structure)
{
  char        names[512], *name, *rest;
  const char *grids[]    = {"-dim 1 -da_grid_x 64", "-dim 2 -da_grid_x 24 -da_grid_y 20 -bc periodic", "-dim 2 -da_grid_x 24 -da_grid_y 20"};
  const char *steppers[] = {/* first: every model runs explicit */ "-ts_type rk", "-ts_type beuler -ts_dt 0.02", "-ts_type bdf -ts_bdf_order 2 -ts_dt 0.02", "-ts_type arkimex -ts_arkimex_type 1bee"};

  GF_CK(GFModelListTypes(names, sizeof(names)));
  for (name = strtok_r(names, ", ", &rest); name; name = strtok_r(NULL, ", ", &rest)) {
    PetscBool   implicit = PETSC_FALSE;
    const char *options  = FindOptions(name, &implicit, NULL);
    ck_assert_msg(options != NULL, "model %s has no entry in the conformance table of tests/unit/test_models.c", name);
    for (size_t g = 0; g < sizeof(grids) / sizeof(grids[0]); g++) {
      for (size_t t = 0; t < (implicit ? sizeof(steppers) / sizeof(steppers[0]) : 1); t++) {
        char            all[1024];
        GFSolver        solver;
        GFRunStatistics st;

        PetscSNPrintf(all, sizeof(all), "-model %s %s %s %s -domain_lower -5 -domain_upper 5 -init_mean 0.7 -init_variance 0.4 -ts_max_time 0.2", name, options, grids[g], steppers[t]);
        solver = GFTestSolve(all);
        GF_CK(GFSolverGetStatistics(solver, &st));
        ck_assert_msg(st.steps > 0, "%s: no steps", all);
        ck_assert_msg(st.worst_mass_drift <= 1e-12, "%s: mass drift %g", all, (double)st.worst_mass_drift);
        ck_assert_msg(st.lowest_density >= 0, "%s: min rho %g", all, (double)st.lowest_density);
        ck_assert_msg(st.energy_rises == 0, "%s: energy rose at %d steps (largest %g)", all, (int)st.energy_rises, (double)st.max_energy_rise);
        GF_CK(GFSolverDestroy(&solver));
      }
    }
  }
}
END_TEST

/* Where a model has a steady state, 50 steps from it change it by at most its tolerance (relative, every cell). */
START_TEST(test_every_steady_state_is_steady)
{
  char names[512], *name, *rest;

  GF_CK(GFModelListTypes(names, sizeof(names)));
  for (name = strtok_r(names, ", ", &rest); name; name = strtok_r(NULL, ", ", &rest)) {
    char      all[1024];
    GFSolver  solver;
    GFModel   model;
    PetscBool has;
    Vec       rho, start;
    PetscReal change, tolerance = 0;

    PetscSNPrintf(all, sizeof(all), "-model %s %s -dim 2 -da_grid_x 20 -da_grid_y 24 -domain_lower -5 -domain_upper 5 -init gibbs -ts_max_steps 50 -ts_max_time 1e9", name, FindOptions(name, NULL, &tolerance));
    GFTestSetOptions(all);
    GF_CK(GFSolverCreate(PETSC_COMM_WORLD, &solver));
    GF_CK(GFSolverSetFromOptions(solver));
    GF_CK(GFSolverGetModel(solver, &model));
    GF_CK(GFModelHasSteadyState(model, &has));
    if (has) {
      GF_CK(GFSolverSetUp(solver));
      GF_CK(GFSolverGetSolution(solver, &rho));
      GF_CK(VecDuplicate(rho, &start));
      GF_CK(VecCopy(rho, start));
      GF_CK(GFSolverSolve(solver));
      GF_CK(VecAXPY(rho, -1, start));
      GF_CK(VecPointwiseDivide(rho, rho, start));
      GF_CK(VecNorm(rho, NORM_INFINITY, &change));
      ck_assert_msg(change <= tolerance, "%s: steady state changed by %g", all, (double)change);
      GF_CK(VecDestroy(&start));
    }
    GF_CK(GFSolverDestroy(&solver));
  }
}
END_TEST

static Suite *MakeSuite(void)
{
  Suite *s = suite_create("models");
  TCase *t = tcase_create("conformance");
  tcase_set_timeout(t, 300);
  tcase_add_test(t, test_every_model_preserves_structure);
  tcase_add_test(t, test_every_steady_state_is_steady);
  suite_add_tcase(s, t);
  return s;
}

int main(int argc, char **argv)
{
  return GFTestMain(argc, argv, MakeSuite);
}
