/* gradflow compare: particle clouds against a PDE run, or an N-sweep of replicated particle systems. */
#include "commands.h"

PetscErrorCode GFCommandCompare(void)
{
  GFCompare compare;
  PetscBool help, plot = PETSC_TRUE;

  PetscFunctionBeginUser;
  PetscOptionsBegin(PETSC_COMM_WORLD, NULL, "Compare plot", NULL);
  PetscCall(PetscOptionsBool("-compare_plot", "Write compare.png with scripts/gradflow-plot (needs matplotlib)", "GFCommandCompare", plot, &plot, NULL));
  PetscOptionsEnd();
  PetscCall(GFCompareCreate(PETSC_COMM_WORLD, &compare));
  PetscCall(GFCompareSetFromOptions(compare));
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (help) {
    /* the particle system's options too: a sweep runs it */
    GFParticles particles;
    PetscCall(GFParticlesCreate(PETSC_COMM_WORLD, &particles));
    PetscCall(GFParticlesSetFromOptions(particles));
    PetscCall(GFParticlesDestroy(&particles));
  } else {
    const char *dir;
    PetscBool   sweep;
    PetscCall(GFCompareRun(compare));
    PetscCall(GFCompareGetDirectory(compare, &dir));
    PetscCall(PetscOptionsHasName(NULL, NULL, "-particle_counts", &sweep));
    if (plot) PetscCall(GFCommandPlot("compare", dir, sweep ? "compare.png, compare_sweep.png (and compare_stationary.png)" : "compare.png"));
  }
  PetscCall(GFCompareDestroy(&compare));
  PetscFunctionReturn(PETSC_SUCCESS);
}
