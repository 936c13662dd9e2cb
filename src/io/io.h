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
  PetscBool   with_error, with_stein, with_jko, with_risk; /* diagnostics.csv columns */
  PetscInt    probes;                                      /* with_risk: the network's output at this many probes (f_probe1, ..) */
  PetscInt    first_index;                                 /* number of the first snapshot */
  const char *restart_file;                                /* the -init_file ("" for none): a continuation when it is a snapshot of dir */
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

/* Particle files. */
typedef struct {
  char       model[GF_NAME_LEN]; /* "" unless the file is a gradflow particle file */
  PetscInt   n, dim;
  PetscReal  time; /* NaN when the file carries none */
  PetscInt   step; /* -1 when none */
  PetscInt64 seed; /* -1 when none */
} GFParticleFileInfo;

/* What rank 0 found wrong in a particle file: a PETSc error code (0 when nothing) and its message (the first problem only). */
typedef struct {
  int  code;
  char msg[PETSC_MAX_PATH_LEN + 2048];
} GFFileProblem;
PETSC_INTERN void           GFFileFail(GFFileProblem *, int, const char[], ...) PETSC_ATTRIBUTE_FORMAT(3, 4);
PETSC_INTERN PetscErrorCode GFFileCheckCollective(MPI_Comm, GFFileProblem *);
PETSC_INTERN const char    *GFFileExtension(const char[]);
PETSC_INTERN PetscBool      GFParticleCheckShape(const char[], size_t, size_t, PetscInt, PetscMPIInt, GFFileProblem *);
PETSC_INTERN void           GFParticleFailNotFinite(GFFileProblem *, const char[], size_t, size_t, double, const char[]);
PETSC_INTERN PetscErrorCode GFParticleReadHDF5Header(const char[], const char[], PetscInt, PetscMPIInt, GFParticleFileInfo *, GFFileProblem *);
PETSC_INTERN herr_t         GFParticleReadHDF5Rows(MPI_Comm, const char[], const char[], PetscInt, PetscInt, PetscInt, PetscReal[]);
PETSC_INTERN PetscErrorCode GFBcastReals(MPI_Comm, PetscMPIInt, size_t, PetscReal[]);

/* What a gradflow particle file records besides the positions. */
typedef struct {
  const char *model, *options;
  PetscInt64  seed;
  PetscReal   time;
  PetscInt    step;
  GFGrid      grid; /* domain_lower, domain_upper, bc */
} GFParticleFileAttributes;

/*
  Write the n x dim particles, this rank's rows [start, start + nlocal) in x, collectively
  with parallel HDF5 as path.tmp, then rename it to path: a killed run never leaves a
  truncated file. Collective on comm.
*/
PETSC_INTERN PetscErrorCode GFParticleFileWrite(MPI_Comm comm, const char path[], PetscInt n, PetscInt dim, PetscInt start, PetscInt nlocal, const PetscReal x[], const GFParticleFileAttributes *attributes);
PETSC_INTERN PetscErrorCode GFParticleFileWriteAs(MPI_Comm comm, const char tmp[], PetscInt n, PetscInt dim, PetscInt start, PetscInt nlocal, const PetscReal x[], const GFParticleFileAttributes *attributes);
/*
  Read a particle file: HDF5 (.h5, .hdf5: the dataset named dataset, [n][dim] or [n]), CSV
  (.csv, .txt: one particle per row, an optional header row, '#' comments) or NumPy (.npy:
  float32/float64, either byte order, C or Fortran order, shape (n, dim) or (n,)). Rank 0
  checks it (readable, the format, at least one row, dim == expected_dim when expected_dim >
  0), the ranks read it and check every value finite, and every rank gets all n x dim values
  in *x (PetscFree it). Errors name the file and what is wrong. Collective on comm.
*/
PETSC_INTERN PetscErrorCode GFParticleFileRead(MPI_Comm comm, const char path[], const char dataset[], PetscInt expected_dim, GFParticleFileInfo *info, PetscReal **x);
/* The same file, each rank getting only its block of rows (PetscSplitOwnership's split of the n rows over the ranks, in rank order: rows [*start, *start + *count)): rank 0 checks, every rank reads its rows (no rank holds more). Collective on comm.
 */
PETSC_INTERN PetscErrorCode GFParticleFileReadBlocks(MPI_Comm comm, const char path[], const char dataset[], PetscInt expected_dim, GFParticleFileInfo *info, PetscInt *start, PetscInt *count, PetscReal **x);
/* The time in a file name: the last decimal number of its base name without the extension ("cloud_t0.25.npy" -> 0.25, "t=1e-2.csv" -> 0.01); false when there is none. */
PETSC_INTERN PetscBool GFParticleFileNameTime(const char path[], PetscReal *time);
/*
  The files of a SOURCE: a directory (its particles_NNNNN.h5 when it has any, else every
  .h5, .hdf5, .csv, .txt and .npy file in it), a comma-separated list of files, or one file;
  sorted by name for a directory, in the given order otherwise. Errors: no such file or
  directory, a directory without particle files. Collective on comm (rank 0 looks).
*/
PETSC_INTERN PetscErrorCode GFParticleSourceList(MPI_Comm comm, const char source[], PetscInt *nfiles, char ***files);
PETSC_INTERN PetscErrorCode GFParticleSourceFree(PetscInt nfiles, char ***files);

#endif
