/*
  Internals of the back-and-forth JKO method (jko_bfm.c): whole grid lines for the separable
  c-transform, the windows the pushforwards interpolate in, and the H^1 preconditioner
  (jko_bfm_lines.c).
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
PETSC_INTERN PetscErrorCode GFBFMCellFilter(GFGrid, Vec, PetscReal, Vec, Vec);
PETSC_INTERN PetscErrorCode GFBFMScaleToMass(GFJKOMethod, Vec);
PETSC_INTERN void           GFBFMLowerEnvelope(PetscInt, PetscReal, const PetscReal[], PetscReal[], PetscReal[], PetscInt[]);

/*
  A window onto a field: the box of cells (natural indices lo .. lo + size - 1) that the
  pushforward's interpolation at this rank's points reads, held on this rank by a VecScatter
  from the grid's global vector: O(cells near the owned box) per rank, not the whole grid.
  The box covers what was asked plus a margin; it is rebuilt (all ranks together) only when a
  rank's points leave it or it is four times larger than they need.
*/
typedef struct {
  GFGrid     grid;
  PetscInt   lo[3], size[3];
  VecScatter scatter; /* NULL: no box yet */
  Vec        values;  /* the box's values, x fastest */
  PetscInt   rebuilds;
} GFBFMWindow;

PETSC_INTERN PetscInt       GFBFMWindowBase(GFGrid, PetscInt, PetscReal);
PETSC_INTERN PetscErrorCode GFBFMWindowFill(GFBFMWindow *, Vec, const PetscInt[], const PetscInt[]);
PETSC_INTERN PetscReal      GFBFMWindowInterpolate(const GFBFMWindow *, const PetscScalar *, const PetscReal[]);
PETSC_INTERN PetscErrorCode GFBFMWindowDestroy(GFBFMWindow *);

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

/* The method's state (jko_bfm.c), shared with the second-order extrapolation (jko_bfm_order2.c). */
typedef struct {
  GFBFMLines          lines;
  GFBFMPreconditioner pre[2]; /* forth (phi, at rho), back (psi, at mu) */
  DM                  da;
  Vec                 phi, psi, rho, push, g, u, Vt, last, local, grad[3], glocal[3], ca, cb;
  Vec                 point, point_new;   /* the step's mu and rho_new as point values (m = 1: not the cell averages, GFBFMCellFilter) */
  Vec                 phi_best;           /* phi after the iteration of the smallest mismatch, returned when the mismatch stalls */
  GFBFMWindow         window[3];          /* q of the forth and back pushforwards, of the extrapolation */
  PetscReal           step[2], c, M, tau; /* step sizes, phi's multiplier, the mass, the last step's tau */
  PetscBool           tight;              /* the last ascent converged within rtol (not at the floor): its pair, with last its density, a warm start */
} GFJKO_BFM;

PETSC_INTERN PetscErrorCode GFBFMDerivatives(GFJKOMethod, Vec);
PETSC_INTERN PetscReal      GFBFMJacobian(GFJKOMethod, const GFLocalBox *, const PetscScalar *[], PetscInt, PetscInt, PetscInt, PetscReal, PetscReal[]);
PETSC_INTERN PetscErrorCode GFBFMWindowAt(GFJKOMethod, GFBFMWindow *, PetscReal, const PetscScalar *[], Vec, const PetscScalar **);
PETSC_INTERN PetscErrorCode GFJKOExtrapolate_BFM(GFJKOMethod, Vec, Vec, PetscBool *);

#endif
