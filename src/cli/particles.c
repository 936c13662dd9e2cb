/* gradflow particles: the configured model's N-particle system, from the same options as gradflow run. */
#include "commands.h"

/* Run the particle system; with -help, list its options (and a run's) and stop. */
PetscErrorCode GFCommandParticles(const char problem[])
{
  GFParticles particles;
  PetscBool   help;

  PetscFunctionBeginUser;
  PetscCall(GFParticlesCreate(PETSC_COMM_WORLD, &particles));
  if (problem[0]) PetscCall(GFParticlesSetProblemName(particles, problem));
  PetscCall(GFParticlesSetFromOptions(particles));
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (!help) PetscCall(GFParticlesRun(particles));
  PetscCall(GFParticlesDestroy(&particles));
  PetscFunctionReturn(PETSC_SUCCESS);
}
