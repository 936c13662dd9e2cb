/*
  GFWriter: the output contract of a run directory.

    snap_NNNNN.h5     dataset /density (natural ordering, shape [nz][ny]nx) with
                      attributes time, step, mass, energy, min_density; file
                      attributes model, dim, cells, domain_lower, domain_upper, bc,
                      options, version. Written as snap_NNNNN.h5.tmp, then renamed.
    run.xdmf          the time series for ParaView and VisIt (rewritten atomically).
    diagnostics.csv   one row per step.

  Rank 0 owns the file system operations and broadcasts their outcome, so every
  failure is collective and reported once.
*/
#include "../gradflow_impl.h"
#include <petscviewerhdf5.h>
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

struct _p_GFWriter {
  MPI_Comm   comm;
  GFGrid     grid;
  char       dir[PETSC_MAX_PATH_LEN];
  char       model[GF_NAME_LEN];
  FILE      *csv;
  PetscInt   nsnap, maxsnap;
  PetscInt  *snap_index;
  PetscReal *snap_time;
  char      *options;
};

/* Broadcast rank 0's error (code and message) so that all ranks fail together. */
static PetscErrorCode GFWriterCheckCollective(MPI_Comm comm, int code, const char msg[])
{
  char buf[PETSC_MAX_PATH_LEN + 256];

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Bcast(&code, 1, MPI_INT, 0, comm));
  if (!code) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscStrncpy(buf, msg ? msg : "", sizeof(buf)));
  PetscCallMPI(MPI_Bcast(buf, (int)sizeof(buf), MPI_CHAR, 0, comm));
  SETERRQ(comm, code, "%s", buf);
}

/* mkdir -p. */
static int MakeDirectories(const char path[])
{
  char tmp[PETSC_MAX_PATH_LEN];

  if (strlen(path) >= sizeof(tmp)) return ENAMETOOLONG;
  strcpy(tmp, path);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    if (mkdir(tmp, 0775) && errno != EEXIST) return errno;
    *p = '/';
  }
  if (mkdir(tmp, 0775) && errno != EEXIST) return errno;
  return 0;
}

/* name is PREFIX*.h5 or PREFIX*.h5.tmp. */
static PetscBool IsNumberedFile(const char name[], const char prefix[])
{
  const size_t n = strlen(name), p = strlen(prefix);

  return (PetscBool)(!strncmp(name, prefix, p) && ((n > p + 3 && !strcmp(name + n - 3, ".h5")) || (n > p + 7 && !strcmp(name + n - 7, ".h5.tmp"))));
}

/* A file of a PDE run: snap_NNNNN.h5, run.xdmf, diagnostics.csv. */
PETSC_INTERN PetscBool GFIsPDEFile(const char name[])
{
  return (PetscBool)(!strcmp(name, "run.xdmf") || !strcmp(name, "diagnostics.csv") || !strcmp(name, "run.xdmf.tmp") || IsNumberedFile(name, "snap_"));
}

/* A file of a particle run: particles_NNNNN.h5, particles.csv. */
PETSC_INTERN PetscBool GFIsParticleFile(const char name[])
{
  return (PetscBool)(!strcmp(name, "particles.csv") || IsNumberedFile(name, "particles_"));
}

/* A result of gradflow compare: compare*.csv, compare*.png. */
PETSC_INTERN PetscBool GFIsCompareFile(const char name[])
{
  const size_t n = strlen(name);

  return (PetscBool)(!strncmp(name, "compare", 7) && n >= 11 && (!strcmp(name + n - 4, ".csv") || !strcmp(name + n - 4, ".png")));
}

/* What may share a directory with a PDE run: a particle run and comparisons. */
static PetscBool IsPDECompanion(const char name[])
{
  return (PetscBool)(GFIsParticleFile(name) || GFIsCompareFile(name));
}

/*
  Make an output directory ready before any work: refuse an existing directory that
  holds anything but companion() files unless overwrite (then remove only the files
  own() claims), create it, and prove it writable by creating and removing a probe
  file. A run directory can so hold a PDE run, a particle run of the same problem and
  their comparison side by side. Collective.
*/
PETSC_INTERN PetscErrorCode GFPrepareDirectory(MPI_Comm comm, const char dir[], PetscBool overwrite, PetscBool (*own)(const char[]), PetscBool (*companion)(const char[]))
{
  PetscMPIInt rank;
  int         code                          = 0;
  char        msg[PETSC_MAX_PATH_LEN + 256] = "";

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    DIR *d = opendir(dir);
    if (d) {
      struct dirent *e;
      PetscInt       entries = 0;
      while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (!companion || !companion(e->d_name)) entries++;
        if (overwrite && own(e->d_name)) {
          char path[2 * PETSC_MAX_PATH_LEN];
          snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
          if (unlink(path)) {
            code = PETSC_ERR_FILE_WRITE;
            snprintf(msg, sizeof(msg), "-output_overwrite: cannot remove %s in %s: %s", e->d_name, dir, strerror(errno));
          }
        }
      }
      closedir(d);
      if (!code && entries && !overwrite) {
        code = PETSC_ERR_USER_INPUT;
        snprintf(msg, sizeof(msg), "-output_dir %s: the directory exists and holds other results; add -output_overwrite to replace them, or choose another -output_dir", dir);
      }
    }
    if (!code) {
      int err = MakeDirectories(dir);
      if (err) {
        code = PETSC_ERR_FILE_WRITE;
        snprintf(msg, sizeof(msg), "-output_dir %s: cannot create the directory: %s", dir, strerror(err));
      }
    }
    if (!code) {
      char  probe[2 * PETSC_MAX_PATH_LEN];
      FILE *f;
      snprintf(probe, sizeof(probe), "%s/.gradflow_write_probe", dir);
      f = fopen(probe, "w");
      if (!f || fputs("probe\n", f) < 0 || fclose(f)) {
        code = PETSC_ERR_FILE_WRITE;
        snprintf(msg, sizeof(msg), "-output_dir %s: the directory is not writable: %s", dir, strerror(errno));
      } else
        unlink(probe);
    }
  }
  PetscCall(GFWriterCheckCollective(comm, code, msg));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Open DIR/NAME with fopen's mode on rank 0 (*f NULL elsewhere); a failure is collective, with the reason. */
PETSC_INTERN PetscErrorCode GFOpenOnRankZero(MPI_Comm comm, const char dir[], const char name[], const char mode[], FILE **f)
{
  PetscMPIInt rank;
  char        path[PETSC_MAX_PATH_LEN + 64], msg[2 * PETSC_MAX_PATH_LEN + 128] = "";
  int         code = 0;

  PetscFunctionBeginUser;
  *f = NULL;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    *f = fopen(path, mode);
    if (!*f) {
      code = PETSC_ERR_FILE_WRITE;
      snprintf(msg, sizeof(msg), "cannot open %s for writing: %s", path, strerror(errno));
    }
  }
  PetscCall(GFWriterCheckCollective(comm, code, msg));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFWriterCreate(GFGrid grid, const char dir[], const char model[], PetscBool overwrite, GFWriter *writer)
{
  GFWriter w;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&w));
  w->comm = grid->comm;
  w->grid = grid;
  PetscCall(PetscStrncpy(w->dir, dir, sizeof(w->dir)));
  PetscCall(PetscStrncpy(w->model, model, sizeof(w->model)));
  PetscCall(PetscOptionsGetAll(NULL, &w->options));
  PetscCall(GFPrepareDirectory(w->comm, w->dir, overwrite, GFIsPDEFile, IsPDECompanion));
  PetscCall(GFOpenOnRankZero(w->comm, w->dir, "diagnostics.csv", "w", &w->csv));
  *writer = w;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The header of diagnostics.csv: step,time,dt,mass,mass_drift,min_density,max_density,energy, then moments, error_l1, stein_discrepancy. */
PETSC_INTERN PetscErrorCode GFWriterWriteDiagnosticsHeader(GFWriter w, PetscBool with_error, PetscBool with_stein)
{
  const char axes[] = "xyz";

  PetscFunctionBeginUser;
  if (!w->csv) PetscFunctionReturn(PETSC_SUCCESS);
  fprintf(w->csv, "step,time,dt,mass,mass_drift,min_density,max_density,energy");
  for (PetscInt a = 0; a < w->grid->dim; a++) fprintf(w->csv, ",mean_%c", axes[a]);
  for (PetscInt a = 0; a < w->grid->dim; a++)
    for (PetscInt b = a; b < w->grid->dim; b++) fprintf(w->csv, ",cov_%c%c", axes[a], axes[b]);
  if (with_error) fprintf(w->csv, ",error_l1");
  if (with_stein) fprintf(w->csv, ",stein_discrepancy");
  fprintf(w->csv, "\n");
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFWriterWriteDiagnostics(GFWriter w, const GFDiagnostics *d)
{
  PetscFunctionBeginUser;
  if (!w->csv) PetscFunctionReturn(PETSC_SUCCESS);
  fprintf(w->csv, "%" PetscInt_FMT ",%.17g,%.17g,%.17g,%.17g,%.17g,%.17g,%.17g", d->step, (double)d->time, (double)d->dt, (double)d->mass, (double)d->mass_drift, (double)d->min_density, (double)d->max_density, (double)d->energy);
  for (PetscInt a = 0; a < w->grid->dim; a++) fprintf(w->csv, ",%.17g", (double)d->mean[a]);
  for (PetscInt a = 0; a < w->grid->dim; a++)
    for (PetscInt b = a; b < w->grid->dim; b++) fprintf(w->csv, ",%.17g", (double)d->covariance[a][b]);
  if (d->has_error) fprintf(w->csv, ",%.17g", (double)d->error_l1);
  if (d->has_stein) fprintf(w->csv, ",%.17g", (double)d->stein);
  fprintf(w->csv, "\n");
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFWriterFlush(GFWriter w)
{
  PetscFunctionBeginUser;
  if (w->csv) fflush(w->csv);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode WriteAttribute(hid_t loc, const char name[], hid_t type, hsize_t n, const void *value)
{
  hid_t space, attr;

  PetscFunctionBeginUser;
  space = n ? H5Screate_simple(1, &n, NULL) : H5Screate(H5S_SCALAR);
  PetscCheck(space >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "HDF5: cannot create a dataspace for attribute %s", name);
  attr = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  PetscCheck(attr >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "HDF5: cannot create attribute %s", name);
  PetscCheck(H5Awrite(attr, type, value) >= 0, PETSC_COMM_SELF, PETSC_ERR_LIB, "HDF5: cannot write attribute %s", name);
  H5Aclose(attr);
  H5Sclose(space);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static PetscErrorCode WriteStringAttribute(hid_t loc, const char name[], const char value[])
{
  hid_t type = H5Tcopy(H5T_C_S1);

  PetscFunctionBeginUser;
  H5Tset_size(type, strlen(value) + 1);
  H5Tset_strpad(type, H5T_STR_NULLTERM);
  PetscCall(WriteAttribute(loc, name, type, 0, value));
  H5Tclose(type);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The run.xdmf time series over every snapshot written so far. */
static PetscErrorCode GFWriterWriteXDMF(GFWriter w)
{
  const struct _p_GFGrid *g = w->grid;
  PetscMPIInt             rank;
  char                    path[2 * PETSC_MAX_PATH_LEN], tmp[2 * PETSC_MAX_PATH_LEN + 8], topo[64], origin[128], spacing[128], dims[96];
  FILE                   *f;
  int                     code = 0;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(w->comm, &rank));
  if (rank == 0) {
    if (g->dim == 1) {
      snprintf(topo, sizeof(topo), "2DCoRectMesh\" Dimensions=\"2 %d", (int)g->cells[0] + 1);
      snprintf(origin, sizeof(origin), "0 %.17g", (double)g->lower[0]);
      snprintf(spacing, sizeof(spacing), "1 %.17g", (double)g->h[0]);
      snprintf(dims, sizeof(dims), "1 %d", (int)g->cells[0]);
    } else if (g->dim == 2) {
      snprintf(topo, sizeof(topo), "2DCoRectMesh\" Dimensions=\"%d %d", (int)g->cells[1] + 1, (int)g->cells[0] + 1);
      snprintf(origin, sizeof(origin), "%.17g %.17g", (double)g->lower[1], (double)g->lower[0]);
      snprintf(spacing, sizeof(spacing), "%.17g %.17g", (double)g->h[1], (double)g->h[0]);
      snprintf(dims, sizeof(dims), "%d %d", (int)g->cells[1], (int)g->cells[0]);
    } else {
      snprintf(topo, sizeof(topo), "3DCoRectMesh\" Dimensions=\"%d %d %d", (int)g->cells[2] + 1, (int)g->cells[1] + 1, (int)g->cells[0] + 1);
      snprintf(origin, sizeof(origin), "%.17g %.17g %.17g", (double)g->lower[2], (double)g->lower[1], (double)g->lower[0]);
      snprintf(spacing, sizeof(spacing), "%.17g %.17g %.17g", (double)g->h[2], (double)g->h[1], (double)g->h[0]);
      snprintf(dims, sizeof(dims), "%d %d %d", (int)g->cells[2], (int)g->cells[1], (int)g->cells[0]);
    }
    snprintf(path, sizeof(path), "%s/run.xdmf", w->dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (f) {
      const int geo_dim = g->dim == 3 ? 3 : 2;
      fprintf(f, "<?xml version=\"1.0\" ?>\n<!DOCTYPE Xdmf SYSTEM \"Xdmf.dtd\" []>\n<Xdmf Version=\"2.0\">\n <Domain>\n");
      fprintf(f, "  <Grid Name=\"%s\" GridType=\"Collection\" CollectionType=\"Temporal\">\n", w->model);
      for (PetscInt s = 0; s < w->nsnap; s++) {
        fprintf(f, "   <Grid Name=\"snap_%05d\" GridType=\"Uniform\">\n    <Time Value=\"%.17g\"/>\n", (int)w->snap_index[s], (double)w->snap_time[s]);
        fprintf(f, "    <Topology TopologyType=\"%s\"/>\n", topo);
        fprintf(f, "    <Geometry GeometryType=\"ORIGIN_%s\">\n", geo_dim == 3 ? "DXDYDZ" : "DXDY");
        fprintf(f, "     <DataItem Dimensions=\"%d\" Format=\"XML\">%s</DataItem>\n", geo_dim, origin);
        fprintf(f, "     <DataItem Dimensions=\"%d\" Format=\"XML\">%s</DataItem>\n    </Geometry>\n", geo_dim, spacing);
        fprintf(f, "    <Attribute Name=\"density\" AttributeType=\"Scalar\" Center=\"Cell\">\n");
        fprintf(f, "     <DataItem Dimensions=\"%s\" NumberType=\"Float\" Precision=\"8\" Format=\"HDF\">snap_%05d.h5:/density</DataItem>\n    </Attribute>\n   </Grid>\n", dims, (int)w->snap_index[s]);
      }
      fprintf(f, "  </Grid>\n </Domain>\n</Xdmf>\n");
      if (fclose(f) || rename(tmp, path)) code = PETSC_ERR_FILE_WRITE;
    } else
      code = PETSC_ERR_FILE_WRITE;
  }
  PetscCall(GFWriterCheckCollective(w->comm, code, "cannot write run.xdmf"));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Write snapshot number index of the density with its diagnostics, atomically. */
PETSC_INTERN PetscErrorCode GFWriterWriteSnapshot(GFWriter w, PetscInt index, Vec rho, const GFDiagnostics *d)
{
  const struct _p_GFGrid *g = w->grid;
  char                    path[2 * PETSC_MAX_PATH_LEN], tmp[2 * PETSC_MAX_PATH_LEN + 8];
  PetscViewer             viewer;
  hid_t                   file;
  const char             *name;
  PetscMPIInt             rank;
  int                     code = 0;
  long long               cells[3], dim = g->dim;
  double                  lower[3], upper[3];

  PetscFunctionBeginUser;
  snprintf(path, sizeof(path), "%s/snap_%05d.h5", w->dir, (int)index);
  snprintf(tmp, sizeof(tmp), "%s.tmp", path);
  PetscCall(PetscObjectGetName((PetscObject)rho, &name));
  PetscCall(PetscObjectSetName((PetscObject)rho, "density"));
  PetscCall(PetscViewerHDF5Open(w->comm, tmp, FILE_MODE_WRITE, &viewer));
  PetscCall(VecView(rho, viewer));
  PetscCall(PetscViewerHDF5WriteAttribute(viewer, "/density", "time", PETSC_REAL, &d->time));
  PetscCall(PetscViewerHDF5WriteAttribute(viewer, "/density", "step", PETSC_INT, &d->step));
  PetscCall(PetscViewerHDF5WriteAttribute(viewer, "/density", "mass", PETSC_REAL, &d->mass));
  PetscCall(PetscViewerHDF5WriteAttribute(viewer, "/density", "energy", PETSC_REAL, &d->energy));
  PetscCall(PetscViewerHDF5WriteAttribute(viewer, "/density", "min_density", PETSC_REAL, &d->min_density));
  PetscCall(PetscViewerHDF5GetFileId(viewer, &file));
  for (PetscInt a = 0; a < g->dim; a++) {
    cells[a] = g->cells[a];
    lower[a] = g->lower[a];
    upper[a] = g->upper[a];
  }
  PetscCall(WriteStringAttribute(file, "model", w->model));
  PetscCall(WriteAttribute(file, "dim", H5T_NATIVE_LLONG, 0, &dim));
  PetscCall(WriteAttribute(file, "cells", H5T_NATIVE_LLONG, (hsize_t)g->dim, cells));
  PetscCall(WriteAttribute(file, "domain_lower", H5T_NATIVE_DOUBLE, (hsize_t)g->dim, lower));
  PetscCall(WriteAttribute(file, "domain_upper", H5T_NATIVE_DOUBLE, (hsize_t)g->dim, upper));
  PetscCall(WriteStringAttribute(file, "bc", GFBoundaries[g->bc]));
  PetscCall(WriteStringAttribute(file, "options", w->options ? w->options : ""));
  PetscCall(WriteStringAttribute(file, "version", GFVersion));
  PetscCall(PetscViewerDestroy(&viewer));
  PetscCall(PetscObjectSetName((PetscObject)rho, name));
  PetscCallMPI(MPI_Comm_rank(w->comm, &rank));
  if (rank == 0 && rename(tmp, path)) code = PETSC_ERR_FILE_WRITE;
  PetscCall(GFWriterCheckCollective(w->comm, code, "cannot rename a snapshot into place"));
  if (w->nsnap == w->maxsnap) {
    w->maxsnap = 2 * w->maxsnap + 16;
    PetscCall(PetscRealloc(w->maxsnap * sizeof(PetscInt), &w->snap_index));
    PetscCall(PetscRealloc(w->maxsnap * sizeof(PetscReal), &w->snap_time));
  }
  w->snap_index[w->nsnap] = index;
  w->snap_time[w->nsnap]  = d->time;
  w->nsnap++;
  PetscCall(GFWriterWriteXDMF(w));
  PetscCall(GFWriterFlush(w));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFWriterGetDirectory(GFWriter w, const char **dir, PetscInt *nsnap)
{
  PetscFunctionBeginUser;
  if (dir) *dir = w->dir;
  if (nsnap) *nsnap = w->nsnap;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFWriterDestroy(GFWriter *writer)
{
  GFWriter w = *writer;

  PetscFunctionBeginUser;
  if (!w) PetscFunctionReturn(PETSC_SUCCESS);
  if (w->csv) fclose(w->csv);
  PetscCall(PetscFree(w->snap_index));
  PetscCall(PetscFree(w->snap_time));
  PetscCall(PetscFree(w->options));
  PetscCall(PetscFree(w));
  *writer = NULL;
  PetscFunctionReturn(PETSC_SUCCESS);
}
