/*
  The problem layer: what every solver of a problem shares (the grid, the model, the initial
  data, the time span, the name), set from options once. The finite-volume solver, the
  particle systems, the studies and the JKO solvers take a GFProblem; it uses the models and
  io layers.
*/
#ifndef GRADFLOW_PROBLEM_H
#define GRADFLOW_PROBLEM_H

#include "../models/models.h"
#include "../io/io.h"

struct _p_GFProblem {
  MPI_Comm         comm;
  PetscInt         refct;
  char             name[GF_NAME_LEN];
  GFGrid           grid;
  GFModel          model;
  GFInitialData    init;                    /* t0 = init.time once set up (a snapshot's own time for -init file) */
  PetscBool        init_mass_set;           /* -init_mass given: a snapshot is rescaled to it */
  PetscBool        model_check;             /* -init_file_model_check */
  GFSnapshotHeader init_header;             /* -init file: what the snapshot holds */
  PetscReal        t_end;                   /* -ts_max_time */
  Vec              rho0;                    /* the initial density, once set up (NULL once a sole holder took it) */
  Vec              history[GF_MAX_HISTORY]; /* -init file: the multistep history the snapshot stores */
  PetscInt         step0;                   /* its step number (a snapshot's) */
  PetscBool        from_options, set_up;
};

/* Output options that a command writing a run directory reads (-output, -output_dir, ...). */
typedef struct {
  PetscBool output, overwrite, progress, summary;
  char      dir[PETSC_MAX_PATH_LEN];
  PetscReal interval;
  PetscInt  max; /* most snapshots */
} GFOutputOptions;

PETSC_INTERN PetscErrorCode GFInitialDataSetFromOptions(MPI_Comm, PetscInt, GFInitialData *, PetscBool *, PetscBool *);
PETSC_INTERN PetscErrorCode GFProblemComputeInitialDensity(GFProblem);
PETSC_INTERN PetscErrorCode GFOutputOptionsDefault(GFOutputOptions *);
PETSC_INTERN PetscErrorCode GFOutputOptionsSetFromOptions(MPI_Comm, const char[], GFOutputOptions *);
PETSC_INTERN PetscErrorCode GFProblemCheckTimeSpan(GFProblem, PetscReal, PetscInt, const GFOutputOptions *);

#endif
