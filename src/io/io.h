/*
  The io layer: snapshots read back and checked, run directories changed as transactions,
  the writer of snapshots, run.xdmf and diagnostics.csv. It uses the discretization layer
  (grids); the problem and the solvers use it.
*/
#ifndef GRADFLOW_IO_H
#define GRADFLOW_IO_H

#include "../discretization/discretization.h"
#include <hdf5.h>

#define GF_MAX_HISTORY 6

/* What a time stepper needs to continue from a snapshot. */
typedef struct {
  PetscReal dt;                            /* the last accepted step */
  PetscReal dt_next, dt_max;               /* adaptive steps: the step the controller tries next, and its cap (0: none) */
  PetscInt  order, length;                 /* multistep schemes: the order reached, and how many earlier solutions follow */
  Vec       previous[GF_MAX_HISTORY];      /* ... the solutions one, two, ... steps back */
  PetscReal previous_time[GF_MAX_HISTORY]; /* ... and their times */
} GFRestartState;

/* What a snapshot claims, checked by GFSnapshotReadHeader. */
typedef struct {
  long long dim, cells[3];
  double    lower[3], upper[3];
  char      bc[16], model[GF_NAME_LEN];
  double    time, initial_mass; /* initial_mass: of the run the snapshot belongs to (0: unknown) */
  long long step;
  PetscBool has_state; /* the time stepper's state follows */
  double    dt, dt_next, dt_max, history_time[GF_MAX_HISTORY];
  long long history_order, history_length;
} GFSnapshotHeader;
PETSC_INTERN int            GFSnapshotReadHeader(const char[], const char[], GFSnapshotHeader *, char[], size_t);
PETSC_INTERN PetscErrorCode GFSnapshotGetHeader(MPI_Comm, const char[], const char[], GFSnapshotHeader *);
PETSC_INTERN PetscErrorCode GFSnapshotLoad(GFGrid, const char[], const char[], const GFSnapshotHeader *, Vec, Vec[]);

/* HDF5 attributes (attributes.c): read strictly (false unless exactly what is asked), written with HDF5's status. */
PETSC_INTERN PetscBool GFH5ReadNumbers(hid_t, const char[], hid_t, int, void *, int *);
PETSC_INTERN PetscBool GFH5ReadScalar(hid_t, const char[], hid_t, void *);
PETSC_INTERN PetscBool GFH5ReadString(hid_t, const char[], char[], size_t);
PETSC_INTERN herr_t    GFH5WriteAttribute(hid_t, const char[], hid_t, hsize_t, const void *);
PETSC_INTERN herr_t    GFH5WriteString(hid_t, const char[], const char[]);

PETSC_INTERN PetscErrorCode GFSnapshotReadGrid(MPI_Comm, const char[], GFGrid *, char **);
PETSC_INTERN PetscErrorCode GFSnapshotReadTime(MPI_Comm, const char[], PetscReal *);
PETSC_INTERN PetscBool      GFIsPDEFile(const char[]);
PETSC_INTERN PetscBool      GFIsParticleFile(const char[]);
PETSC_INTERN PetscBool      GFIsCompareFile(const char[]);

/* What a file in an output directory is to the command writing there. */
typedef enum {
  GF_FILE_FOREIGN,   /* not a gradflow result: blocks without -output_overwrite, never removed */
  GF_FILE_COMPANION, /* another command's results (a particle run beside a PDE run): left alone */
  GF_FILE_OLD,       /* an earlier run of this kind: blocks without -output_overwrite, removed at the commit */
  GF_FILE_REPLACE,   /* rewritten by this run (a continuation's diagnostics.csv, stale .tmp files): removed at the commit */
  GF_FILE_KEEP       /* kept as it is (the snapshots before a restart in place) */
} GFFileRole;
typedef GFFileRole (*GFFileRoleFn)(const char[], void *);
typedef struct _p_GFRunDirectory *GFRunDirectory;
PETSC_INTERN PetscErrorCode       GFRunDirectoryCreate(MPI_Comm, const char[], PetscBool, GFFileRoleFn, void *, GFRunDirectory *);
PETSC_INTERN PetscErrorCode       GFRunDirectoryPaths(GFRunDirectory, const char[], char[], char[], size_t);
PETSC_INTERN PetscErrorCode       GFRunDirectoryFinish(GFRunDirectory, const char[]);
PETSC_INTERN PetscErrorCode       GFRunDirectoryOpen(GFRunDirectory, const char[], const char[], FILE **);
PETSC_INTERN PetscErrorCode       GFRunDirectoryClose(GFRunDirectory, const char[], FILE **);
PETSC_INTERN PetscErrorCode       GFRunDirectoryGetState(GFRunDirectory, PetscBool *, PetscBool *);
PETSC_INTERN PetscErrorCode       GFRunDirectoryCommit(GFRunDirectory);
PETSC_INTERN PetscErrorCode       GFRunDirectoryGetPath(GFRunDirectory, const char **);
PETSC_INTERN PetscErrorCode       GFRunDirectoryDestroy(GFRunDirectory *);

/* How a run directory is opened. */
typedef struct {
  const char *dir, *model;
  PetscBool   overwrite;
  PetscBool   with_error, with_stein, with_jko; /* diagnostics.csv columns */
  PetscInt    first_index;                      /* number of the first snapshot */
  const char *restart_file;                     /* the -init_file ("" for none): a continuation when it is a snapshot of dir */
  PetscInt64  restart_step;
  PetscReal   restart_time;
  PetscBool   rescaled; /* -init_mass rescales the restart file */
} GFWriterSetup;

PETSC_INTERN PetscErrorCode GFWriterCreate(GFGrid, const GFWriterSetup *, GFWriter *);
PETSC_INTERN PetscErrorCode GFVecViewNamed(Vec, const char[], PetscViewer, PetscBool);
PETSC_INTERN PetscErrorCode GFWriterWriteDiagnostics(GFWriter, const GFDiagnostics *);
PETSC_INTERN PetscErrorCode GFWriterWriteSnapshot(GFWriter, Vec, const GFDiagnostics *, const GFRestartState *);
PETSC_INTERN PetscErrorCode GFWriterCommit(GFWriter);
PETSC_INTERN PetscErrorCode GFWriterGetState(GFWriter, PetscBool *, PetscBool *);
PETSC_INTERN PetscErrorCode GFWriterGetDirectory(GFWriter, const char **, PetscInt *, PetscInt *);
PETSC_INTERN PetscErrorCode GFWriterDestroy(GFWriter *);

#endif
