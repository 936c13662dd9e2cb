/* gradflow compare: particle clouds against a PDE run, or an N-sweep of replicated particle systems. */
#include "commands.h"

static const char *const compare_foreign[] = {"study_",           "exact",           "jacobian_fd", "dt_adapt",        "dt_max", "cfl",      "fv_reconstruction", "ts_", "snes_", "ksp_", "pc_",
                                              "max_step_retries", "blowup_fraction", "output_max",  "output_interval", "init",   "progress", "summary",           NULL};

/* Check everything (a sweep's particle options too), refuse unused options, then compare. */
static PetscErrorCode GFCommandCompareRun(GFCompare compare, PetscBool plot)
{
  PetscOptions dbs[1] = {NULL};
  const char  *dir;
  PetscBool    sweep;

  PetscFunctionBeginUser;
  PetscCall(GFCompareSetFromOptions(compare));
  PetscCall(PetscOptionsHasName(NULL, NULL, "-particle_counts", &sweep));
  if (sweep) {
    /* a sweep runs the particle system under these options: read them now */
    GFParticles particles;
    PetscCall(GFParticlesCreate(PETSC_COMM_WORLD, &particles));
    PetscCall(GFParticlesSetFromOptions(particles));
    PetscCall(GFParticlesDestroy(&particles));
  }
  PetscCall(GFOptionsCheckUnused(PETSC_COMM_WORLD, 1, dbs, compare_foreign));
  PetscCall(GFCompareRun(compare));
  PetscCall(GFCompareGetDirectory(compare, &dir));
  if (plot) PetscCall(GFCommandPlot("compare", dir, sweep ? "compare.png, compare_sweep.png (and compare_stationary.png)" : "compare.png"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFCommandCompare(void)
{
  GFCompare      compare;
  PetscBool      help, plot = PETSC_TRUE;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "Compare plot", NULL);
  PetscCall(PetscOptionsBool("-compare_plot", "Write compare.png with scripts/gradflow-plot (needs matplotlib)", "GFCommandCompare", plot, &plot, NULL));
  PetscOptionsEnd();
  PetscCall(GFCompareCreate(PETSC_COMM_WORLD, &compare));
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (help) {
    /* the particle system's options too: a sweep runs it */
    GFParticles particles;
    PetscCall(GFCompareSetFromOptions(compare));
    PetscCall(GFParticlesCreate(PETSC_COMM_WORLD, &particles));
    PetscCall(GFParticlesSetFromOptions(particles));
    PetscCall(GFParticlesDestroy(&particles));
    PetscCall(GFCompareDestroy(&compare));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  ierr = GFCommandCompareRun(compare, plot);
  if (!ierr || GFErrorIsCollective(ierr)) PetscCall(GFCompareDestroy(&compare));
  PetscFunctionReturn(ierr);
}
