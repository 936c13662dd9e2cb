/* gradflow particles: the configured model's N-particle system, from the same options as gradflow run. */
#include "commands.h"

static const char *const particles_foreign[] = {"compare_", "particle_counts",  "particle_replicas", "study_",     "pde", "exact", "jacobian_fd", "dt_adapt", "dt_max", "cfl", "fv_reconstruction", "ts_", "snes_", "ksp_",
                                                "pc_",      "max_step_retries", "blowup_fraction",   "output_max", NULL};

static PetscErrorCode GFCommandParticlesRun(GFParticles particles, const char problem[])
{
  PetscBool    help;
  PetscOptions dbs[1] = {NULL};

  PetscFunctionBeginUser;
  if (problem[0]) PetscCall(GFParticlesSetProblemName(particles, problem));
  PetscCall(GFParticlesSetFromOptions(particles));
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (help) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(GFParticlesSetUp(particles));
  PetscCall(GFOptionsCheckUnused(PETSC_COMM_WORLD, 1, dbs, particles_foreign));
  PetscCall(GFParticlesRun(particles));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Run the particle system; with -help, list its options (and a run's) and stop. */
PetscErrorCode GFCommandParticles(const char problem[])
{
  GFParticles    particles;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCall(GFParticlesCreate(PETSC_COMM_WORLD, &particles));
  ierr = GFCommandParticlesRun(particles, problem);
  if (!ierr || GFErrorIsCollective(ierr)) PetscCall(GFParticlesDestroy(&particles));
  PetscFunctionReturn(ierr);
}
