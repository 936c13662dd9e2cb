/*
  A particle run that starts from a particle file (-particles_init_file): row i of the file
  is the particle of id i, so a gradflow particle file (written in id order on any rank
  count) continues its run: the file's time, step and seed (unless -particles_seed or
  -particles_replica is given) restore the clock and the noise streams (seed, id, step).
  A run continued from its file at an output time steps exactly as the run that went on:
  the same particles (to round-off under particle-mesh), on any number of ranks. Files
  without a time, step or seed (a user's CSV, NPY or HDF5) start at the problem's initial
  time, step 0 and -particles_seed.
*/
#include "particles.h"

/* The file's particle count, time, step and seed into the run, and this rank's block of its rows (PetscFree it): each rank reads its own rows, which are its block of ids (PetscSplitOwnership's, as GFParticlesSetUp's). Collective. */
PETSC_INTERN PetscErrorCode GFParticlesReadInitialFile(GFParticles p, PetscReal **x)
{
  GFParticleFileInfo info;
  PetscInt           start, count;

  PetscFunctionBeginUser;
  PetscCall(GFParticleFileReadBlocks(p->comm, p->init_file, "particles", p->dim, &info, &start, &count, x));
  PetscCheck(!p->n_set || p->n == info.n, p->comm, PETSC_ERR_USER_INPUT, "-particles_n %" PetscInt_FMT ": the -particles_init_file %s holds %" PetscInt_FMT " particles; leave -particles_n out to take them all", p->n, p->init_file, info.n);
  p->n = info.n;
  if (!PetscIsNanReal(info.time)) p->t0 = info.time;
  if (info.step >= 0) p->step = info.step;
  if (info.seed != -1 && !p->seed_set) p->seed = (uint64_t)info.seed;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* This rank's block of ids from the file's rows x, every position checked inside the box (a restart moves no particle). Collective. */
PETSC_INTERN PetscErrorCode GFParticlesSetInitialPositions(GFParticles p, const PetscReal x[])
{
  const struct _p_GFGrid *g       = p->grid;
  PetscInt                outside = -1;

  PetscFunctionBeginUser;
  PetscCall(PetscArraycpy(p->x, x, p->nblock * p->dim));
  for (PetscInt k = 0; k < p->nblock * p->dim && outside < 0; k++) {
    const PetscInt a = k % p->dim;
    if (!(x[k] >= g->lower[a] && x[k] <= g->upper[a])) outside = p->start + k / p->dim;
  }
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, &outside, 1, MPIU_INT, MPI_MAX, p->comm));
  PetscCheck(outside < 0, p->comm, PETSC_ERR_USER_INPUT, "-particles_init_file %s: row %" PetscInt_FMT " (counting from 0) lies outside the box of -domain_lower, -domain_upper", p->init_file, outside);
  PetscFunctionReturn(PETSC_SUCCESS);
}
