/*
  Internals of the back-and-forth JKO method (jko_bfm.c): whole grid lines for the separable
  c-transform, and the H^1 preconditioner (jko_bfm_lines.c).
*/
#ifndef GRADFLOW_JKO_BFM_H
#define GRADFLOW_JKO_BFM_H

#include "jko.h"

/*
  Whole lines along each axis. Where the grid's DMDA does not split axis a, its own global
  vector already holds whole lines (stride 1 along x, size[0] along y, ...); where it does, a
  VecScatter moves the vector to a layout of whole lines, lines dealt out to the ranks in
  contiguous blocks, each line contiguous, and back.
*/
typedef struct {
  GFGrid     grid;
  PetscBool  split[3];
  VecScatter scatter[3];
  Vec        lines[3];
  PetscInt   nlines[3]; /* lines this rank holds in the line layout of axis a */
  PetscReal *buffer, *work;
  PetscInt  *hull;
} GFBFMLines;

PETSC_INTERN PetscErrorCode GFBFMLinesCreate(GFGrid, GFBFMLines *);
PETSC_INTERN PetscErrorCode GFBFMLinesDestroy(GFBFMLines *);
PETSC_INTERN PetscErrorCode GFBFMCTransform(GFBFMLines *, PetscReal, Vec, Vec);
PETSC_INTERN void           GFBFMLowerEnvelope(PetscInt, PetscReal, const PetscReal[], PetscReal[], PetscReal[], PetscInt[]);

/* The preconditioner (a I - b Laplace)^{-1}, Neumann walls, by conjugate gradients and the grid's multigrid. */
typedef struct {
  GFGrid grid;
  Mat    A;
  KSP    ksp;
} GFBFMPreconditioner;

PETSC_INTERN PetscErrorCode GFBFMPreconditionerCreate(GFGrid, GFBFMPreconditioner *);
PETSC_INTERN PetscErrorCode GFBFMPreconditionerSetCoefficients(GFBFMPreconditioner *, Vec, Vec);
PETSC_INTERN PetscErrorCode GFBFMPreconditionerApply(GFBFMPreconditioner *, Vec, Vec);
PETSC_INTERN PetscErrorCode GFBFMPreconditionerDestroy(GFBFMPreconditioner *);

#endif
