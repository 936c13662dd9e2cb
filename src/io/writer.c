/*
  GFWriter: the output contract of a run directory.

    snap_NNNNN.h5     dataset /density (natural ordering, shape [nz][ny]nx) with
                      attributes time, step, mass, energy, min_density and the time
                      stepper's state (dt, dt_next, dt_max, history_order,
                      history_length; /previous_density_K with a time attribute for
                      multistep schemes); file attributes model, dim, cells,
                      domain_lower, domain_upper, bc, options, version.
    run.xdmf          the time series for ParaView and VisIt.
    diagnostics.csv   one row per step, each row one write(2).

  Every file goes through a GFRunDirectory: written as NAME.tmp and renamed into place,
  the old run removed only at the commit (the solver's first accepted step). A restart
  from a snapshot of the same directory continues it: earlier snapshots stay, the
  numbering goes on, diagnostics.csv keeps its rows up to the restart step (a row cut
  by a kill is dropped) and run.xdmf lists the kept snapshots. Rank 0 owns the file
  system operations and broadcasts their outcome, so every failure is collective.
*/
#include "io.h"
#include <petscviewerhdf5.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

struct _p_GFWriter {
  MPI_Comm       comm;
  GFGrid         grid;
  GFRunDirectory rundir;
  char           dir[PETSC_MAX_PATH_LEN];
  char           model[GF_NAME_LEN];
  int            csv;       /* rank 0: descriptor of diagnostics.csv(.tmp); -1 elsewhere */
  int            csv_errno; /* rank 0: the first failed write of a row, reported at the next snapshot */
  PetscBool      with_error, with_stein, with_jko, with_risk;
  PetscInt       probes;
  PetscInt       next_index;   /* number of the next snapshot */
  PetscBool      continuation; /* restarting from snap_<restart_index>.h5 of this directory */
  PetscBool      skip_initial; /* ... whose state is the run's first snapshot already */
  PetscBool      skip_row;     /* ... and the last kept row of diagnostics.csv its first row */
  PetscInt       restart_index;
  PetscInt       nsnap, maxsnap;
  PetscInt      *snap_index;
  PetscReal     *snap_time;
  char          *options;
};

/* The number N of snap_NNNNN.h5 (digits only); false for any other name. */
static PetscBool SnapshotNumber(const char name[], PetscInt *index)
{
  const char *s = name + 5;
  char       *end;
  long        value;

  if (strncmp(name, "snap_", 5) || !isdigit((unsigned char)*s)) return PETSC_FALSE;
  value = strtol(s, &end, 10);
  if (strcmp(end, ".h5") || value < 0 || value > PETSC_MAX_INT) return PETSC_FALSE;
  if (index) *index = (PetscInt)value;
  return PETSC_TRUE;
}

/* A file of a PDE run: snap_NNNNN.h5, run.xdmf, diagnostics.csv. */
PETSC_INTERN PetscBool GFIsPDEFile(const char name[])
{
  return (PetscBool)(!strcmp(name, "run.xdmf") || !strcmp(name, "diagnostics.csv") || SnapshotNumber(name, NULL));
}

/* A file of a particle run: particles_NNNNN.h5, particles.csv. */
PETSC_INTERN PetscBool GFIsParticleFile(const char name[])
{
  const size_t n = strlen(name);
  return (PetscBool)(!strcmp(name, "particles.csv") || (!strncmp(name, "particles_", 10) && n > 13 && !strcmp(name + n - 3, ".h5")));
}

/* A result of gradflow compare: compare*.csv, compare*.png. */
PETSC_INTERN PetscBool GFIsCompareFile(const char name[])
{
  const size_t n = strlen(name);
  return (PetscBool)(!strncmp(name, "compare", 7) && n >= 11 && (!strcmp(name + n - 4, ".csv") || !strcmp(name + n - 4, ".png")));
}

/* Roles in a PDE run directory: its snapshots (kept up to the restart of a continuation), its run.xdmf and diagnostics.csv; particle and comparison files beside them. */
static GFFileRole PDEFileRole(const char name[], void *ctx)
{
  GFWriter w = (GFWriter)ctx;
  PetscInt index;

  if (SnapshotNumber(name, &index)) return w->continuation && index <= w->restart_index ? GF_FILE_KEEP : GF_FILE_OLD;
  if (GFIsPDEFile(name)) return w->continuation ? GF_FILE_REPLACE : GF_FILE_OLD;
  if (GFIsParticleFile(name) || GFIsCompareFile(name)) return GF_FILE_COMPANION;
  return GF_FILE_FOREIGN;
}

/* write(2) all of buf; 0 or the errno. */
static int WriteAll(int fd, const char buf[], size_t n)
{
  while (n) {
    const ssize_t k = write(fd, buf, n);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) return k < 0 ? errno : EIO;
    buf += k;
    n -= (size_t)k;
  }
  return 0;
}

/* The header of diagnostics.csv: step,time,dt,mass,mass_drift,min_density,max_density,energy, then moments, error_l1, stein_discrepancy, risk and the probes' outputs, the JKO step's solver and inequality. */
static void DiagnosticsHeader(GFWriter w, char line[], size_t len)
{
  const char axes[] = "xyz";
  size_t     used   = (size_t)snprintf(line, len, "step,time,dt,mass,mass_drift,min_density,max_density,energy");

  for (PetscInt a = 0; a < w->grid->dim; a++) used += (size_t)snprintf(line + used, len - used, ",mean_%c", axes[a]);
  for (PetscInt a = 0; a < w->grid->dim; a++)
    for (PetscInt b = a; b < w->grid->dim; b++) used += (size_t)snprintf(line + used, len - used, ",cov_%c%c", axes[a], axes[b]);
  if (w->with_error) used += (size_t)snprintf(line + used, len - used, ",error_l1");
  if (w->with_stein) used += (size_t)snprintf(line + used, len - used, ",stein_discrepancy");
  if (w->with_risk) used += (size_t)snprintf(line + used, len - used, ",risk");
  for (PetscInt k = 0; k < w->probes; k++) used += (size_t)snprintf(line + used, len - used, ",f_probe%d", (int)(k + 1));
  if (w->with_jko) used += (size_t)snprintf(line + used, len - used, ",jko_iterations,jko_residual_primal,jko_residual_dual,jko_w2sq,jko_gap");
  snprintf(line + used, len - used, "\n");
}

/*
  Rank 0, restarting in place: the rows of the existing diagnostics.csv up to the restart
  step, after a header equal to this run's. A last row without its newline (cut by a
  kill) is dropped. Returns 0 or a PETSc error code with msg.
*/
static int KeptDiagnostics(GFWriter w, const char header[], PetscInt64 restart_step, char **kept, size_t *kept_len, char msg[], size_t len)
{
  char   path[PETSC_MAX_PATH_LEN + 32], *line = NULL;
  size_t capacity = 0, used = 0;
  FILE  *f;

  *kept     = NULL;
  *kept_len = 0;
  snprintf(path, sizeof(path), "%s/diagnostics.csv", w->dir);
  if (!(f = fopen(path, "r"))) return 0;
  for (PetscInt64 number = 0;; number++) {
    const ssize_t n = getline(&line, &capacity, f);
    long long     step;
    if (n <= 0 || line[n - 1] != '\n') break;
    if (number == 0) {
      if (strcmp(line, header)) {
        snprintf(msg, len, "-init_file restarts in place in %s, but its diagnostics.csv has the columns %.*s and this run writes %.*s: restart into another -output_dir, or with the same -exact", w->dir, (int)strcspn(line, "\n"), line,
                 (int)strcspn(header, "\n"), header);
        free(line);
        free(*kept);
        *kept = NULL;
        fclose(f);
        return PETSC_ERR_USER_INPUT;
      }
    } else if (sscanf(line, "%lld,", &step) != 1 || step > restart_step)
      break;
    *kept = (char *)realloc(*kept, used + (size_t)n + 1);
    memcpy(*kept + used, line, (size_t)n);
    used += (size_t)n;
  }
  free(line);
  fclose(f);
  *kept_len = used;
  return 0;
}

static PetscErrorCode GFWriterWriteXDMF(GFWriter);

/* Rank 0: the times of the kept snapshots 0..restart_index from run.xdmf; the restart snapshot's own time when the kill came before run.xdmf listed it. */
static PetscErrorCode KeptSnapshots(GFWriter w, PetscReal restart_time)
{
  char  path[PETSC_MAX_PATH_LEN + 32], line[512];
  FILE *f;
  int   index = -1;

  PetscFunctionBeginUser;
  snprintf(path, sizeof(path), "%s/run.xdmf", w->dir);
  f = fopen(path, "r");
  while (f && fgets(line, sizeof(line), f)) {
    char  *s;
    double t;
    if ((s = strstr(line, "Name=\"snap_"))) index = atoi(s + 11);
    if ((s = strstr(line, "<Time Value=\"")) && index >= 0 && index < w->restart_index && sscanf(s + 13, "%lf", &t) == 1) {
      char snapshot[PETSC_MAX_PATH_LEN + 32];
      snprintf(snapshot, sizeof(snapshot), "%s/snap_%05d.h5", w->dir, index);
      if (!access(snapshot, R_OK)) {
        if (w->nsnap == w->maxsnap) {
          w->maxsnap = 2 * w->maxsnap + 16;
          PetscCall(PetscRealloc(w->maxsnap * sizeof(PetscInt), &w->snap_index));
          PetscCall(PetscRealloc(w->maxsnap * sizeof(PetscReal), &w->snap_time));
        }
        w->snap_index[w->nsnap] = index;
        w->snap_time[w->nsnap]  = t;
        w->nsnap++;
      }
      index = -1;
    }
  }
  if (f) fclose(f);
  if (w->nsnap == w->maxsnap) {
    w->maxsnap = 2 * w->maxsnap + 16;
    PetscCall(PetscRealloc(w->maxsnap * sizeof(PetscInt), &w->snap_index));
    PetscCall(PetscRealloc(w->maxsnap * sizeof(PetscReal), &w->snap_time));
  }
  w->snap_index[w->nsnap] = w->restart_index;
  w->snap_time[w->nsnap]  = restart_time;
  w->nsnap++;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0: whether the restart file is snap_NNNNN.h5 of the output directory (by real path); its number; or an error for another file in it. */
static int FindContinuation(GFWriter w, const char restart_file[], char msg[], size_t len)
{
  char file_copy[PETSC_MAX_PATH_LEN], file_dir[PETSC_MAX_PATH_LEN], out_dir[PETSC_MAX_PATH_LEN], *base;

  snprintf(file_copy, sizeof(file_copy), "%s", restart_file);
  if (!realpath(dirname(file_copy), file_dir) || !realpath(w->dir, out_dir) || strcmp(file_dir, out_dir)) return 0;
  snprintf(file_copy, sizeof(file_copy), "%s", restart_file);
  base = basename(file_copy);
  if (!SnapshotNumber(base, &w->restart_index)) {
    snprintf(msg, len, "-init_file %s is inside -output_dir %s but is not one of its snapshots (snap_NNNNN.h5): move it, or write to another -output_dir", restart_file, w->dir);
    return PETSC_ERR_USER_INPUT;
  }
  w->continuation = PETSC_TRUE;
  return 0;
}

/*
  A writer for the run directory s->dir: checks it (nothing changes there before the
  commit), finds a restart in place, opens diagnostics.csv (as .tmp until the commit).
  Collective.
*/
PETSC_INTERN PetscErrorCode GFWriterCreate(GFGrid grid, const GFWriterSetup *setup, GFWriter *writer)
{
  GFWriter    w;
  PetscMPIInt rank;
  int         code                              = 0;
  char        msg[2 * PETSC_MAX_PATH_LEN + 512] = "", header[1024];
  char       *kept                              = NULL;
  size_t      kept_len                          = 0;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&w));
  w->comm       = grid->comm;
  w->grid       = grid;
  w->csv        = -1;
  w->with_error = setup->with_error;
  w->with_stein = setup->with_stein;
  w->with_jko   = setup->with_jko;
  w->with_risk  = setup->with_risk;
  w->probes     = setup->with_risk ? setup->probes : 0;
  w->next_index = setup->first_index;
  PetscCall(PetscStrncpy(w->dir, setup->dir, sizeof(w->dir)));
  PetscCall(PetscStrncpy(w->model, setup->model, sizeof(w->model)));
  PetscCall(PetscOptionsGetAll(NULL, &w->options));
  PetscCallMPI(MPI_Comm_rank(w->comm, &rank));
  if (rank == 0 && setup->restart_file[0]) code = FindContinuation(w, setup->restart_file, msg, sizeof(msg));
  PetscCallMPI(MPI_Bcast(&w->continuation, 1, MPIU_BOOL, 0, w->comm));
  PetscCallMPI(MPI_Bcast(&w->restart_index, 1, MPIU_INT, 0, w->comm));
  if (!code && w->continuation && setup->rescaled) {
    code = PETSC_ERR_USER_INPUT;
    snprintf(msg, sizeof(msg), "-init_mass rescales the snapshot %s that continues in place in %s: the continued run would not be the same run; write to another -output_dir", setup->restart_file, w->dir);
  }
  {
    PetscErrorCode ierr = GFCheckRankZero(w->comm, code, msg);
    if (ierr) {
      PetscCall(GFWriterDestroy(&w));
      PetscCall(ierr);
    }
  }
  {
    PetscErrorCode ierr = GFRunDirectoryCreate(w->comm, w->dir, setup->overwrite, PDEFileRole, w, &w->rundir);
    if (ierr) {
      PetscCall(GFWriterDestroy(&w));
      PetscCall(ierr);
    }
  }
  DiagnosticsHeader(w, header, sizeof(header));
  if (w->continuation) {
    w->next_index   = w->restart_index + 1;
    w->skip_initial = PETSC_TRUE;
    w->skip_row     = PETSC_TRUE;
    if (rank == 0) {
      code = KeptDiagnostics(w, header, setup->restart_step, &kept, &kept_len, msg, sizeof(msg));
      PetscCall(KeptSnapshots(w, setup->restart_time));
    }
  }
  if (rank == 0 && !code) {
    char tmp[PETSC_MAX_PATH_LEN + 64];
    PetscCall(GFRunDirectoryPaths(w->rundir, "diagnostics.csv", NULL, tmp, sizeof(tmp)));
    w->csv = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0664);
    if (w->csv < 0 || WriteAll(w->csv, kept ? kept : header, kept ? kept_len : strlen(header))) {
      code = PETSC_ERR_FILE_WRITE;
      snprintf(msg, sizeof(msg), "cannot write %s: %s", tmp, strerror(errno));
    }
  }
  free(kept);
  {
    PetscErrorCode ierr = GFCheckRankZero(w->comm, code, msg);
    if (ierr) {
      PetscCall(GFWriterDestroy(&w));
      PetscCall(ierr);
    }
  }
  PetscCall(GFRunDirectoryFinish(w->rundir, "diagnostics.csv"));
  /* a continuation's run.xdmf lists the kept snapshots from the start, so that the commit replaces the old one in a single rename */
  if (w->continuation) PetscCall(GFWriterWriteXDMF(w));
  *writer = w;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One row of diagnostics.csv, formatted whole and written with one write(2): a kill leaves whole rows (a cut last row is dropped on restart). */
PETSC_INTERN PetscErrorCode GFWriterWriteDiagnostics(GFWriter w, const GFDiagnostics *d)
{
  char   row[2048];
  size_t used;

  PetscFunctionBeginUser;
  if (w->skip_row) {
    w->skip_row = PETSC_FALSE; /* restart in place: this row is the last one kept */
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (w->csv < 0 || w->csv_errno) PetscFunctionReturn(PETSC_SUCCESS);
  used = (size_t)snprintf(row, sizeof(row), "%" PetscInt_FMT ",%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g", d->step, (double)d->time, (double)d->dt, (double)d->mass, (double)d->mass_drift, (double)d->min_density, (double)d->max_density,
                          (double)(d->partial ? NAN : d->energy));
  for (PetscInt a = 0; a < w->grid->dim; a++) used += (size_t)snprintf(row + used, sizeof(row) - used, ",%.17g", (double)(d->partial ? NAN : d->mean[a]));
  for (PetscInt a = 0; a < w->grid->dim; a++)
    for (PetscInt b = a; b < w->grid->dim; b++) used += (size_t)snprintf(row + used, sizeof(row) - used, ",%.17g", (double)(d->partial ? NAN : d->covariance[a][b]));
  if (w->with_error) used += (size_t)snprintf(row + used, sizeof(row) - used, ",%.17g", (double)(d->has_error && !d->partial ? d->error_l1 : NAN));
  if (w->with_stein) used += (size_t)snprintf(row + used, sizeof(row) - used, ",%.17g", (double)(d->has_stein && !d->partial ? d->stein : NAN));
  if (w->with_risk) used += (size_t)snprintf(row + used, sizeof(row) - used, ",%.17g", (double)(d->has_risk && !d->partial ? d->risk : NAN));
  for (PetscInt k = 0; k < w->probes; k++) used += (size_t)snprintf(row + used, sizeof(row) - used, ",%.17g", (double)(d->has_risk && !d->partial && k < d->nprobes ? d->probe[k] : NAN));
  if (w->with_jko) {
    /* every step's own (the first row, before any step: nan) */
    const PetscBool j = (PetscBool)(d->has_jko && d->dt > 0);
    used += (size_t)snprintf(row + used, sizeof(row) - used, ",%" PetscInt_FMT ",%.17g,%.17g,%.17g,%.17g", j ? d->jko_iterations : 0, (double)(j ? d->jko_residual[0] : NAN), (double)(j ? d->jko_residual[1] : NAN), (double)(j ? d->jko_w2sq : NAN),
                             (double)(j ? d->jko_gap : NAN));
  }
  used += (size_t)snprintf(row + used, sizeof(row) - used, "\n");
  w->csv_errno = WriteAll(w->csv, row, used);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* VecView (load false) or VecLoad (load true) of v as dataset `name` of the viewer's file, the vector's own name kept. */
PETSC_INTERN PetscErrorCode GFVecViewNamed(Vec v, const char name[], PetscViewer viewer, PetscBool load)
{
  const char *old;
  char       *saved;

  PetscFunctionBeginUser;
  PetscCall(PetscObjectGetName((PetscObject)v, &old));
  PetscCall(PetscStrallocpy(old, &saved));
  PetscCall(PetscObjectSetName((PetscObject)v, name));
  if (load)
    PetscCall(VecLoad(v, viewer));
  else
    PetscCall(VecView(v, viewer));
  PetscCall(PetscObjectSetName((PetscObject)v, saved));
  PetscCall(PetscFree(saved));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The whole snapshot file at path: density and its attributes, the time stepper's state, the run's attributes. */
static PetscErrorCode WriteSnapshotFile(GFWriter w, const char path[], Vec rho, const GFDiagnostics *d, const GFRestartState *state)
{
  const struct _p_GFGrid *g = w->grid;
  PetscViewer             viewer;
  hid_t                   file;
  long long               cells[3], dim = g->dim;
  double                  lower[3], upper[3];
  herr_t                  status;

  PetscFunctionBeginUser;
  PetscCall(PetscViewerHDF5Open(w->comm, path, FILE_MODE_WRITE, &viewer));
  PetscCall(GFVecViewNamed(rho, "density", viewer, PETSC_FALSE));
  PetscCall(PetscViewerHDF5WriteAttribute(viewer, "/density", "time", PETSC_REAL, &d->time));
  PetscCall(PetscViewerHDF5WriteAttribute(viewer, "/density", "step", PETSC_INT, &d->step));
  PetscCall(PetscViewerHDF5WriteAttribute(viewer, "/density", "mass", PETSC_REAL, &d->mass));
  PetscCall(PetscViewerHDF5WriteAttribute(viewer, "/density", "energy", PETSC_REAL, &d->energy));
  PetscCall(PetscViewerHDF5WriteAttribute(viewer, "/density", "min_density", PETSC_REAL, &d->min_density));
  PetscCall(PetscViewerHDF5WriteAttribute(viewer, "/density", "initial_mass", PETSC_REAL, &d->mass_initial));
  if (state) {
    PetscCall(PetscViewerHDF5WriteAttribute(viewer, "/density", "dt", PETSC_REAL, &state->dt));
    PetscCall(PetscViewerHDF5WriteAttribute(viewer, "/density", "dt_next", PETSC_REAL, &state->dt_next));
    PetscCall(PetscViewerHDF5WriteAttribute(viewer, "/density", "dt_max", PETSC_REAL, &state->dt_max));
    PetscCall(PetscViewerHDF5WriteAttribute(viewer, "/density", "history_order", PETSC_INT, &state->order));
    PetscCall(PetscViewerHDF5WriteAttribute(viewer, "/density", "history_length", PETSC_INT, &state->length));
    for (PetscInt k = 0; k < state->length; k++) {
      char name[32], dataset[40];
      PetscCall(PetscSNPrintf(name, sizeof(name), "previous_density_%d", (int)k + 1));
      PetscCall(PetscSNPrintf(dataset, sizeof(dataset), "/%s", name));
      PetscCall(GFVecViewNamed(state->previous[k], name, viewer, PETSC_FALSE));
      PetscCall(PetscViewerHDF5WriteAttribute(viewer, dataset, "time", PETSC_REAL, &state->previous_time[k]));
    }
  }
  PetscCall(PetscViewerHDF5GetFileId(viewer, &file));
  for (PetscInt a = 0; a < g->dim; a++) {
    cells[a] = g->cells[a];
    lower[a] = g->lower[a];
    upper[a] = g->upper[a];
  }
  status = GFH5WriteString(file, "model", w->model);
  if (status >= 0) status = GFH5WriteAttribute(file, "dim", H5T_NATIVE_LLONG, 0, &dim);
  if (status >= 0) status = GFH5WriteAttribute(file, "cells", H5T_NATIVE_LLONG, (hsize_t)g->dim, cells);
  if (status >= 0) status = GFH5WriteAttribute(file, "domain_lower", H5T_NATIVE_DOUBLE, (hsize_t)g->dim, lower);
  if (status >= 0) status = GFH5WriteAttribute(file, "domain_upper", H5T_NATIVE_DOUBLE, (hsize_t)g->dim, upper);
  if (status >= 0) status = GFH5WriteString(file, "bc", GFBoundaries[g->bc]);
  if (status >= 0) status = GFH5WriteString(file, "options", w->options ? w->options : "");
  if (status >= 0) status = GFH5WriteString(file, "version", GFVersion);
  PetscCheck(status >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "HDF5: cannot write the attributes of %s", path);
  PetscCall(PetscViewerDestroy(&viewer));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  run.xdmf over every snapshot so far. Every grid is a 3DCoRectMesh: 1D and 2D grids get one
  layer of cells, as thick as a cell of the first axis, along the missing axes (ParaView reads
  a 2DCoRectMesh in the y-z plane and refuses cell data on a layer of points without cells),
  so every run opens in the x-y plane with x along the first axis.
*/
static PetscErrorCode GFWriterWriteXDMF(GFWriter w)
{
  const struct _p_GFGrid *g = w->grid;
  PetscMPIInt             rank;
  char                    tmp[PETSC_MAX_PATH_LEN + 64], msg[2 * PETSC_MAX_PATH_LEN + 256] = "";
  int                     code = 0;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(w->comm, &rank));
  PetscCall(GFRunDirectoryPaths(w->rundir, "run.xdmf", NULL, tmp, sizeof(tmp)));
  if (rank == 0) {
    FILE     *f = fopen(tmp, "w");
    long long points[3], cells[3];
    double    origin[3], spacing[3];

    for (PetscInt a = 0; a < 3; a++) {
      const PetscBool used = (PetscBool)(a < g->dim);
      cells[a]             = used ? g->cells[a] : 1;
      points[a]            = cells[a] + 1;
      origin[a]            = used ? g->lower[a] : 0;
      spacing[a]           = used ? g->h[a] : g->h[0];
    }
    if (f) {
      fprintf(f, "<?xml version=\"1.0\" ?>\n<!DOCTYPE Xdmf SYSTEM \"Xdmf.dtd\" []>\n<Xdmf Version=\"2.0\">\n <Domain>\n");
      fprintf(f, "  <Grid Name=\"%s\" GridType=\"Collection\" CollectionType=\"Temporal\">\n", w->model);
      for (PetscInt s = 0; s < w->nsnap; s++) {
        fprintf(f, "   <Grid Name=\"snap_%05d\" GridType=\"Uniform\">\n    <Time Value=\"%.17g\"/>\n", (int)w->snap_index[s], (double)w->snap_time[s]);
        fprintf(f, "    <Topology TopologyType=\"3DCoRectMesh\" Dimensions=\"%lld %lld %lld\"/>\n", points[2], points[1], points[0]);
        fprintf(f, "    <Geometry GeometryType=\"ORIGIN_DXDYDZ\">\n");
        fprintf(f, "     <DataItem Dimensions=\"3\" Format=\"XML\">%.17g %.17g %.17g</DataItem>\n", origin[2], origin[1], origin[0]);
        fprintf(f, "     <DataItem Dimensions=\"3\" Format=\"XML\">%.17g %.17g %.17g</DataItem>\n    </Geometry>\n", spacing[2], spacing[1], spacing[0]);
        fprintf(f, "    <Attribute Name=\"density\" AttributeType=\"Scalar\" Center=\"Cell\">\n");
        fprintf(f, "     <DataItem Dimensions=\"%lld %lld %lld\" NumberType=\"Float\" Precision=\"8\" Format=\"HDF\">snap_%05d.h5:/density</DataItem>\n    </Attribute>\n   </Grid>\n", cells[2], cells[1], cells[0], (int)w->snap_index[s]);
      }
      fprintf(f, "  </Grid>\n </Domain>\n</Xdmf>\n");
      if (ferror(f) | fclose(f)) {
        code = PETSC_ERR_FILE_WRITE;
        unlink(tmp);
      }
    } else
      code = PETSC_ERR_FILE_WRITE;
    if (code) snprintf(msg, sizeof(msg), "cannot write %s: %s; the last good snapshot is snap_%05d.h5 (run.xdmf lists those before it)", tmp, strerror(errno), (int)(w->next_index - 1));
  }
  PetscCall(GFCheckRankZero(w->comm, code, msg));
  PetscCall(GFRunDirectoryFinish(w->rundir, "run.xdmf"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0: refuse a snapshot of `bytes` that the file system has no room for (with the reason); 0 when it fits. */
static int CheckRoom(GFWriter w, PetscReal bytes, char msg[], size_t len)
{
  struct statvfs fs;

  if (w->csv_errno) {
    snprintf(msg, len, "cannot write %s/diagnostics.csv: %s; the last good snapshot is snap_%05d.h5", w->dir, strerror(w->csv_errno), (int)(w->next_index - 1));
    return PETSC_ERR_FILE_WRITE;
  }
  if (!statvfs(w->dir, &fs) && (PetscReal)fs.f_bavail * (PetscReal)fs.f_frsize < bytes) {
    snprintf(msg, len, "cannot write snapshot %05d in %s: %.3g MB free, the snapshot needs about %.3g MB (disk full); the last good snapshot is snap_%05d.h5", (int)w->next_index, w->dir, (double)fs.f_bavail * (double)fs.f_frsize / 1e6,
             (double)(bytes / 1e6), (int)(w->next_index - 1));
    return PETSC_ERR_FILE_WRITE;
  }
  return 0;
}

/*
  Write the next snapshot of the density with its diagnostics and the time stepper's
  state (or NULL): as snap_NNNNN.h5.tmp, renamed into place (at once after the commit).
  A failure removes the temporary file and names the last good snapshot.
*/
PETSC_INTERN PetscErrorCode GFWriterWriteSnapshot(GFWriter w, Vec rho, const GFDiagnostics *d, const GFRestartState *state)
{
  const struct _p_GFGrid *g = w->grid;
  char                    name[32], path[PETSC_MAX_PATH_LEN + 64], tmp[PETSC_MAX_PATH_LEN + 64], msg[PETSC_MAX_PATH_LEN + 256] = "";
  PetscMPIInt             rank;
  int                     code = 0;
  PetscErrorCode          ierr;

  PetscFunctionBeginUser;
  if (w->skip_initial) {
    w->skip_initial = PETSC_FALSE; /* restart in place: this state is snap_<restart_index>.h5 already */
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCallMPI(MPI_Comm_rank(w->comm, &rank));
  PetscCall(PetscSNPrintf(name, sizeof(name), "snap_%05d.h5", (int)w->next_index));
  PetscCall(GFRunDirectoryPaths(w->rundir, name, path, tmp, sizeof(path)));
  if (rank == 0) code = CheckRoom(w, (PetscReal)g->cells[0] * g->cells[1] * g->cells[2] * 8 * (1 + (state ? state->length : 0)) * 1.05 + 16384 + (w->options ? strlen(w->options) : 0), msg, sizeof(msg));
  PetscCall(GFCheckRankZero(w->comm, code, msg));
  ierr = WriteSnapshotFile(w, tmp, rho, d, state);
  if (ierr) {
    if (rank == 0) unlink(tmp);
    SETERRQ(w->comm, PETSC_ERR_FILE_WRITE, "cannot write %s (the HDF5 library failed: disk full, quota or permissions?); the last good snapshot is snap_%05d.h5", path, (int)(w->next_index - 1));
  }
  PetscCall(GFRunDirectoryFinish(w->rundir, name));
  if (w->nsnap == w->maxsnap) {
    w->maxsnap = 2 * w->maxsnap + 16;
    PetscCall(PetscRealloc(w->maxsnap * sizeof(PetscInt), &w->snap_index));
    PetscCall(PetscRealloc(w->maxsnap * sizeof(PetscReal), &w->snap_time));
  }
  w->snap_index[w->nsnap] = w->next_index++;
  w->snap_time[w->nsnap]  = d->time;
  w->nsnap++;
  PetscCall(GFWriterWriteXDMF(w));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The run is good: replace the old run's files by the new ones (the first accepted step). Collective. */
PETSC_INTERN PetscErrorCode GFWriterCommit(GFWriter w)
{
  PetscFunctionBeginUser;
  PetscCall(GFRunDirectoryCommit(w->rundir));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Whether the new run replaced the old one yet, and whether there was an old one. */
PETSC_INTERN PetscErrorCode GFWriterGetState(GFWriter w, PetscBool *committed, PetscBool *has_old)
{
  PetscFunctionBeginUser;
  PetscCall(GFRunDirectoryGetState(w->rundir, committed, has_old));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The directory, the number of snapshots written or kept, and the number the next one gets. */
PETSC_INTERN PetscErrorCode GFWriterGetDirectory(GFWriter w, const char **dir, PetscInt *nsnap, PetscInt *next_index)
{
  PetscFunctionBeginUser;
  if (dir) *dir = w->dir;
  if (nsnap) *nsnap = w->nsnap;
  if (next_index) *next_index = w->next_index;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Close diagnostics.csv; without a commit, the new files go and the old run stays as it was. Collective. */
PETSC_INTERN PetscErrorCode GFWriterDestroy(GFWriter *writer)
{
  GFWriter w = *writer;

  PetscFunctionBeginUser;
  if (!w) PetscFunctionReturn(PETSC_SUCCESS);
  if (w->csv >= 0) close(w->csv);
  PetscCall(GFRunDirectoryDestroy(&w->rundir));
  PetscCall(PetscFree(w->snap_index));
  PetscCall(PetscFree(w->snap_time));
  PetscCall(PetscFree(w->options));
  PetscCall(PetscFree(w));
  *writer = NULL;
  PetscFunctionReturn(PETSC_SUCCESS);
}
