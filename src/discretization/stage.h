/*
  The fused stages' shared parts (stage.c): a pass's buffers and context and the update of one
  row, which the one-pass chain of stages (stage_chain.c) builds on.
*/
#ifndef GF_STAGE_H
#define GF_STAGE_H
#include "discretization.h"

/*
  The face buffers of a stage, carved from the transport's stage_work: per stage of a chain of
  up to GF_STAGE_CHAIN stages in one pass, two layers of faces between layers (rows in 1D and
  2D, planes in 3D; the first pair serves a single stage's y faces), two planes of z faces, a
  row of zeros (the faces of absent axes), a row of x faces, two rows of y faces (the chain in
  3D) and, per chained stage, a ring of three layers with a ghost cell at each end.
*/
#define GF_STAGE_CHAIN 4
typedef struct {
  PetscReal *gy[GF_STAGE_CHAIN][2], *gz[2], *zero, *ring[GF_STAGE_CHAIN][3], *gx, *rows[2];
} GFStageWork;

/* The context of one stage: its arrays, weights and the running extremes of its output. */
typedef struct {
  const struct _p_GFGrid *g;
  const PetscReal        *c0[3], *c1[3]; /* B(d), B(-d) per axis, in memory order */
  const PetscScalar      *y, *u;
  PetscScalar            *out, *copy;
  const PetscReal        *zero; /* a row of zeros */
  PetscReal              *gx;   /* a row of x faces */
  PetscReal               w, k[3];
  PetscBool               extremes;
  PetscReal               min, max, sum;
} GFStagePass;

/* The coefficients of a row's faces: x faces B(d), B(-d) from the row's first face; y faces above it (d0, d1 NULL at a wall). */
typedef struct {
  const PetscReal *c0, *c1, *d0, *d1;
} GFStageRowFaces;

PETSC_INTERN PetscErrorCode GFStageWorkGet(GFTransport, GFStageWork *);
PETSC_INTERN void           GFStageLayerFaces(const PetscScalar *, const PetscScalar *, const PetscReal *, const PetscReal *, PetscInt, PetscReal *);
PETSC_INTERN void           GFStagePassInit(GFTransport, const GFStageWork *, PetscReal, PetscReal, PetscBool, GFStagePass *);
PETSC_INTERN void GFStageRowFacesUpdate(GFStagePass *, const GFStageRowFaces *, const PetscScalar *, const PetscScalar *, const PetscScalar *, PetscScalar *, PetscScalar *, const PetscReal *, PetscReal *, const PetscReal *, const PetscReal *);

#endif
