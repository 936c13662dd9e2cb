/*
  Particle systems (GFParticles) and particle-vs-PDE comparison (GFCompare).

  GFParticles is the N-particle system whose mean-field limit the configured model is:
  Langevin (fokker_planck), interacting Langevin (mckean_vlasov: direct pair sums or
  particle-mesh) and SVGD (svgd), with the same V, W and K as the PDE. The particles are
  spread over the ranks of its communicator in contiguous blocks of their global index
  (PetscSplitOwnership), each rank holding nlocal rows of dim coordinates (row-major).
  Particle i's noise at step k depends only on (seed, i, k): a run gives the same
  particles on any number of ranks.

  Particle files of a gradflow run, DIR/particles_NNNNN.h5, are numbered like the PDE's
  snap_NNNNN.h5 (N the output number: time N * output_interval, and the last time):
  dataset /particles, double, [n][dim] in global index order, with attributes time and
  step; file attributes model, dim, n_particles, seed, domain_lower, domain_upper, bc,
  options and version.

  GFCompare measures particle clouds (a gradflow particle run, or the user's HDF5, CSV or
  NumPy files) against the snapshots of a PDE run at every matching time, and runs N-sweeps
  of replicated particle systems with standard errors and fitted rates in N.
*/
#ifndef GRADFLOW_PARTICLES_H
#define GRADFLOW_PARTICLES_H

#include <gradflow.h>

/* GFParticles: the N-particle system of the configured model (gradflow particles). */
typedef struct _p_GFParticles *GFParticles;
PETSC_EXTERN PetscErrorCode    GFParticlesCreate(MPI_Comm, GFParticles *);
PETSC_EXTERN PetscErrorCode    GFParticlesSetProblem(GFParticles, GFProblem);
PETSC_EXTERN PetscErrorCode    GFParticlesSetProblemName(GFParticles, const char[]);
PETSC_EXTERN PetscErrorCode    GFParticlesSetFromOptions(GFParticles);
PETSC_EXTERN PetscErrorCode    GFParticlesSetUp(GFParticles);
/* Step from the current time to t_stop exactly (at most the end time); no output. */
PETSC_EXTERN PetscErrorCode GFParticlesAdvance(GFParticles, PetscReal);
/* The whole run: from the start to -particles_max_time, with files, diagnostics, progress and summary. */
PETSC_EXTERN PetscErrorCode GFParticlesRun(GFParticles);
PETSC_EXTERN PetscErrorCode GFParticlesGetPositions(GFParticles, PetscInt *, PetscInt *, const PetscReal **);
PETSC_EXTERN PetscErrorCode GFParticlesGetTime(GFParticles, PetscReal *, PetscInt *);
PETSC_EXTERN PetscErrorCode GFParticlesGetTimeSpan(GFParticles, PetscReal *, PetscReal *);
/* The velocity dx/dt without the noise, v (nlocal x dim), of this rank's particles at x (nlocal x dim), the system set up. Collective. */
PETSC_EXTERN PetscErrorCode GFParticlesComputeVelocity(GFParticles, const PetscReal[], PetscReal[]);
PETSC_EXTERN PetscErrorCode GFParticlesDestroy(GFParticles *);

/* GFCompare: gradflow compare -pde DIR -particles SOURCE, or an N-sweep with -particle_counts. */
typedef struct _p_GFCompare *GFCompare;
PETSC_EXTERN PetscErrorCode  GFCompareCreate(MPI_Comm, GFCompare *);
PETSC_EXTERN PetscErrorCode  GFCompareSetFromOptions(GFCompare);
PETSC_EXTERN PetscErrorCode  GFCompareRun(GFCompare);
PETSC_EXTERN PetscErrorCode  GFCompareGetDirectory(GFCompare, const char **);
PETSC_EXTERN PetscErrorCode  GFCompareDestroy(GFCompare *);

#endif
