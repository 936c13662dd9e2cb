/*
  Reading a snapshot back (-init file, restart): rank 0 checks that the file exists,
  is HDF5, holds /density and was written on this grid (dim, cells, domain); then
  every rank loads its part of the natural-ordered dataset, so a snapshot written on
  any number of ranks reads on any other.
*/
#include "../gradflow_impl.h"
#include <petscviewerhdf5.h>
#include <unistd.h>

static herr_t ReadAttribute(hid_t loc, const char name[], hid_t type, void *value)
{
  hid_t  attr;
  herr_t status;

  if (H5Aexists(loc, name) <= 0) return -1;
  attr = H5Aopen(loc, name, H5P_DEFAULT);
  if (attr < 0) return -1;
  status = H5Aread(attr, type, value);
  H5Aclose(attr);
  return status;
}

/* Rank 0: validate the file against the grid; on failure fill msg and return an error code. */
static int CheckSnapshot(const struct _p_GFGrid *g, const char path[], char msg[], size_t len, double *time, long long *step)
{
  hid_t     file, dset;
  long long dim = 0, cells[3] = {0, 0, 0};
  double    lower[3], upper[3];
  htri_t    is_hdf5;
  int       code = 0;

  if (access(path, R_OK)) {
    snprintf(msg, len, "-init_file %s: no such readable file", path);
    return PETSC_ERR_FILE_OPEN;
  }
  H5E_BEGIN_TRY
  {
    is_hdf5 = H5Fis_hdf5(path);
  }
  H5E_END_TRY;
  if (is_hdf5 <= 0) {
    snprintf(msg, len, "-init_file %s: not an HDF5 file (expected a gradflow snapshot snap_NNNNN.h5)", path);
    return PETSC_ERR_FILE_UNEXPECTED;
  }
  H5E_BEGIN_TRY
  {
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  }
  H5E_END_TRY;
  if (file < 0) {
    snprintf(msg, len, "-init_file %s: HDF5 cannot open the file", path);
    return PETSC_ERR_FILE_OPEN;
  }
  H5E_BEGIN_TRY
  {
    if (H5Lexists(file, "density", H5P_DEFAULT) <= 0) {
      snprintf(msg, len, "-init_file %s: no dataset /density (not a gradflow snapshot)", path);
      code = PETSC_ERR_FILE_UNEXPECTED;
    } else if (ReadAttribute(file, "dim", H5T_NATIVE_LLONG, &dim) < 0 || ReadAttribute(file, "cells", H5T_NATIVE_LLONG, cells) < 0 || ReadAttribute(file, "domain_lower", H5T_NATIVE_DOUBLE, lower) < 0 ||
               ReadAttribute(file, "domain_upper", H5T_NATIVE_DOUBLE, upper) < 0) {
      snprintf(msg, len, "-init_file %s: missing grid attributes dim, cells, domain_lower or domain_upper (not a gradflow snapshot)", path);
      code = PETSC_ERR_FILE_UNEXPECTED;
    } else if (dim != g->dim) {
      snprintf(msg, len, "-init_file %s: the snapshot is %lldD, this run is %dD (-dim)", path, dim, (int)g->dim);
      code = PETSC_ERR_USER_INPUT;
    } else {
      for (PetscInt a = 0; a < g->dim && !code; a++) {
        const double tol = 1e-12 * (PetscAbsReal(g->upper[a]) + PetscAbsReal(g->lower[a]));
        if (cells[a] != g->cells[a]) {
          snprintf(msg, len, "-init_file %s: the snapshot has %lld cells along %c, this run has %d (-da_grid_%c): a different grid", path, cells[a], (int)('x' + a), (int)g->cells[a], (int)('x' + a));
          code = PETSC_ERR_USER_INPUT;
        } else if (PetscAbsReal(lower[a] - g->lower[a]) > tol || PetscAbsReal(upper[a] - g->upper[a]) > tol) {
          snprintf(msg, len, "-init_file %s: the snapshot's domain along %c is [%.6g, %.6g], this run's is [%.6g, %.6g] (-domain_lower/-domain_upper)", path, (int)('x' + a), lower[a], upper[a], (double)g->lower[a], (double)g->upper[a]);
          code = PETSC_ERR_USER_INPUT;
        }
      }
    }
    if (!code) {
      dset = H5Dopen2(file, "density", H5P_DEFAULT);
      if (dset < 0 || ReadAttribute(dset, "time", H5T_NATIVE_DOUBLE, time) < 0 || ReadAttribute(dset, "step", H5T_NATIVE_LLONG, step) < 0) {
        snprintf(msg, len, "-init_file %s: /density lacks its time or step attribute", path);
        code = PETSC_ERR_FILE_UNEXPECTED;
      }
      if (dset >= 0) H5Dclose(dset);
    }
  }
  H5E_END_TRY;
  H5Fclose(file);
  return code;
}

/* Load a snapshot into rho (a global vector of grid's DMDA); return its time and step. */
PetscErrorCode GFSnapshotRead(GFGrid g, const char path[], Vec rho, PetscReal *time, PetscInt *step)
{
  PetscMPIInt rank;
  int         code                          = 0;
  char        msg[PETSC_MAX_PATH_LEN + 256] = "";
  double      t                             = 0;
  long long   s                             = 0;
  PetscViewer viewer;
  const char *name;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(g->comm, &rank));
  if (rank == 0) code = CheckSnapshot(g, path, msg, sizeof(msg), &t, &s);
  PetscCallMPI(MPI_Bcast(&code, 1, MPI_INT, 0, g->comm));
  if (code) {
    PetscCallMPI(MPI_Bcast(msg, (int)sizeof(msg), MPI_CHAR, 0, g->comm));
    SETERRQ(g->comm, code, "%s", msg);
  }
  PetscCallMPI(MPI_Bcast(&t, 1, MPI_DOUBLE, 0, g->comm));
  PetscCallMPI(MPI_Bcast(&s, 1, MPI_LONG_LONG, 0, g->comm));
  PetscCall(PetscObjectGetName((PetscObject)rho, &name));
  PetscCall(PetscObjectSetName((PetscObject)rho, "density"));
  PetscCall(PetscViewerHDF5Open(g->comm, path, FILE_MODE_READ, &viewer));
  PetscCall(VecLoad(rho, viewer));
  PetscCall(PetscViewerDestroy(&viewer));
  PetscCall(PetscObjectSetName((PetscObject)rho, name));
  if (time) *time = t;
  if (step) *step = (PetscInt)s;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* A string attribute of loc into a new PetscMalloc'd buffer, or NULL when it is missing. */
static char *ReadStringAttribute(hid_t loc, const char name[])
{
  hid_t  attr, type;
  size_t size;
  char  *value = NULL;

  if (H5Aexists(loc, name) <= 0) return NULL;
  attr = H5Aopen(loc, name, H5P_DEFAULT);
  type = H5Aget_type(attr);
  size = H5Tget_size(type);
  if (!PetscMalloc1(size + 1, &value)) {
    if (H5Aread(attr, type, value) < 0) value[0] = 0;
    value[size] = 0;
  }
  H5Tclose(type);
  H5Aclose(attr);
  return value;
}

/*
  The grid a snapshot was written on (dim, cells, domain, walls from its file attributes),
  set up on comm with exactly those sizes, and the run's option string (PetscFree it) when
  options is not NULL. Collective; rank 0 reads.
*/
PETSC_INTERN PetscErrorCode GFSnapshotReadGrid(MPI_Comm comm, const char path[], GFGrid *grid, char **options)
{
  PetscMPIInt rank;
  int         code                          = 0;
  char        msg[PETSC_MAX_PATH_LEN + 256] = "", bc[GF_NAME_LEN] = "noflux", *text = NULL;
  long long   dim = 0, cells[3] = {1, 1, 1};
  double      lower[3] = {0, 0, 0}, upper[3] = {1, 1, 1};
  int         length = 0;
  GFGrid      g;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    hid_t file;
    H5E_BEGIN_TRY
    {
      file = access(path, R_OK) ? -1 : H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    }
    H5E_END_TRY;
    if (file < 0) {
      snprintf(msg, sizeof(msg), "%s: cannot open the snapshot (not a readable HDF5 file)", path);
      code = PETSC_ERR_FILE_OPEN;
    } else {
      H5E_BEGIN_TRY
      {
        if (ReadAttribute(file, "dim", H5T_NATIVE_LLONG, &dim) < 0 || dim < 1 || dim > 3 || ReadAttribute(file, "cells", H5T_NATIVE_LLONG, cells) < 0 || ReadAttribute(file, "domain_lower", H5T_NATIVE_DOUBLE, lower) < 0 ||
            ReadAttribute(file, "domain_upper", H5T_NATIVE_DOUBLE, upper) < 0) {
          snprintf(msg, sizeof(msg), "%s: missing grid attributes dim, cells, domain_lower or domain_upper (not a gradflow snapshot)", path);
          code = PETSC_ERR_FILE_UNEXPECTED;
        } else {
          char *value = ReadStringAttribute(file, "bc");
          if (value) snprintf(bc, sizeof(bc), "%s", value);
          PetscFree(value);
          text = ReadStringAttribute(file, "options");
          if (text) length = (int)strlen(text) + 1;
        }
      }
      H5E_END_TRY;
      H5Fclose(file);
    }
  }
  PetscCallMPI(MPI_Bcast(&code, 1, MPI_INT, 0, comm));
  if (code) {
    PetscCallMPI(MPI_Bcast(msg, (int)sizeof(msg), MPI_CHAR, 0, comm));
    SETERRQ(comm, code, "%s", msg);
  }
  PetscCallMPI(MPI_Bcast(&dim, 1, MPI_LONG_LONG, 0, comm));
  PetscCallMPI(MPI_Bcast(cells, 3, MPI_LONG_LONG, 0, comm));
  PetscCallMPI(MPI_Bcast(lower, 3, MPI_DOUBLE, 0, comm));
  PetscCallMPI(MPI_Bcast(upper, 3, MPI_DOUBLE, 0, comm));
  PetscCallMPI(MPI_Bcast(bc, (int)sizeof(bc), MPI_CHAR, 0, comm));
  PetscCallMPI(MPI_Bcast(&length, 1, MPI_INT, 0, comm));
  if (options) {
    if (rank && length) PetscCall(PetscMalloc1(length, &text));
    if (length) PetscCallMPI(MPI_Bcast(text, length, MPI_CHAR, 0, comm));
    *options = text;
  } else if (rank == 0)
    PetscCall(PetscFree(text));
  PetscCall(GFGridCreate(comm, &g));
  g->dim   = (PetscInt)dim;
  g->bc    = strcmp(bc, "periodic") ? GF_BC_NOFLUX : GF_BC_PERIODIC;
  g->fixed = PETSC_TRUE;
  for (PetscInt a = 0; a < 3; a++) {
    g->cells[a] = a < dim ? (PetscInt)cells[a] : 1;
    g->lower[a] = a < dim ? lower[a] : -5;
    g->upper[a] = a < dim ? upper[a] : 5;
  }
  PetscCall(GFGridSetUp(g));
  *grid = g;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The time attribute of a snapshot's /density, read on rank 0 alone (no data). Collective. */
PETSC_INTERN PetscErrorCode GFSnapshotReadTime(MPI_Comm comm, const char path[], PetscReal *time)
{
  PetscMPIInt rank;
  int         code = 0;
  double      t    = 0;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    hid_t file, dset = -1;
    H5E_BEGIN_TRY
    {
      file = access(path, R_OK) ? -1 : H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
      if (file >= 0) dset = H5Dopen2(file, "density", H5P_DEFAULT);
      if (dset < 0 || ReadAttribute(dset, "time", H5T_NATIVE_DOUBLE, &t) < 0) code = PETSC_ERR_FILE_UNEXPECTED;
      if (dset >= 0) H5Dclose(dset);
      if (file >= 0) H5Fclose(file);
    }
    H5E_END_TRY;
  }
  PetscCallMPI(MPI_Bcast(&code, 1, MPI_INT, 0, comm));
  PetscCheck(!code, comm, PETSC_ERR_FILE_UNEXPECTED, "%s: not a gradflow snapshot (no /density with a time attribute)", path);
  PetscCallMPI(MPI_Bcast(&t, 1, MPI_DOUBLE, 0, comm));
  *time = t;
  PetscFunctionReturn(PETSC_SUCCESS);
}
