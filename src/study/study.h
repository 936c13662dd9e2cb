/* The study layer: GFStudy, its levels and their measurements (ladder.c runs the ladder, measurements.c measures and reports it). */
#ifndef GRADFLOW_STUDY_H
#define GRADFLOW_STUDY_H

#include "../solver/solver.h"

#define GF_STUDY_MAX_LEVELS 16

typedef enum { GF_REFINE_SPACE, GF_REFINE_TIME, GF_REFINE_BOTH } GFRefine;

/*
  How a level's step follows from the coarsest level's: the explicit CFL step of each grid
  (dt ~ h^2 with diffusion, ~ h without); the coarsest step dt0 scaled by (h/h0)^2 (space
  refinement with a given step: the time error of any scheme of order >= 1 then falls at
  least as fast as a second-order space error); dt0 / 2^l (time refinement, and both).
*/
typedef enum { GF_DT_CFL, GF_DT_SCALED_H2, GF_DT_HALVED } GFStudyDtRule;
PETSC_INTERN const char *const GFStudyDtRules[], *const GFRefines[];

/* One level of the ladder: its grid, and what was recorded at each measured time. */
typedef struct {
  GFGrid     grid;
  PetscInt   cells;
  PetscReal  h, dt, seconds;
  PetscInt   ntimes, capacity;
  PetscReal *t;
  Vec       *rho;                         /* self-convergence: the density at each measured time */
  PetscReal (*error)[GF_DIST_COUNT];      /* against the exact solution or the finest level */
  PetscReal (*difference)[GF_DIST_COUNT]; /* self-convergence: against the next finer level */
  PetscReal (*order)[GF_DIST_COUNT];
} GFStudyLevel;

struct _p_GFStudy {
  MPI_Comm       comm;
  PetscInt       levels, coarsest, dim;
  GFRefine       refine;
  PetscReal      dt0;                           /* time refinement: the coarsest step */
  PetscBool      every_output, overwrite, self; /* self: -study_reference self */
  char           problem[GF_NAME_LEN], dir[PETSC_MAX_PATH_LEN];
  char          *options; /* the user's options, replayed for every level */
  GFStudyLevel   level[GF_STUDY_MAX_LEVELS];
  PetscBool      exact;      /* errors against the exact solution (else self-convergence) */
  PetscReal     *richardson; /* self-convergence: estimated error of the finest level, per time and norm */
  GFStudyDtRule  dt_rule;    /* how each level's time step follows from the coarsest */
  char           scheme[GF_NAME_LEN];
  PetscOptions   probe;  /* the options as the coarsest level reads them: checked before any level runs */
  GFRunDirectory rundir; /* study.csv: nothing of an earlier study changes before the new table is ready */
};

PETSC_INTERN PetscErrorCode GFStudyFinish(GFStudy);

#endif
