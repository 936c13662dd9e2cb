/*
  Reading snapshots back (-init file, restart, gradflow compare). Rank 0 checks a file for
  what it claims before anything is loaded: a readable HDF5 file that the HDF5 library
  survives (read once in a child process, GFHDF5Probe), the grid attributes of the right
  type and count (whole numbers where they count: dim 1-3, cells >= 2 per axis; a box whose
  coordinates square without overflow; noflux or periodic walls), a floating-point /density
  of exactly the grid's shape with all its values written, a finite time and a step >= 0,
  and the time stepper's state where there is one. Every rank then loads its part of the
  natural-ordered dataset, so a snapshot written on any number of ranks reads on any other.
*/
#include "io.h"
#include <petscviewerhdf5.h>
#include <sys/stat.h>
#include <unistd.h>

/* A floating-point dataset of exactly the shape [cells[dim-1]]..[cells[0]]: 0, or what is wrong with it in msg. */
static int CheckDensityDataset(hid_t file, const char name[], const GFSnapshotHeader *h, const char prefix[], char msg[], size_t len)
{
  hid_t              dset, space = -1, type = -1;
  int                code = 0, rank;
  hsize_t            dims[H5S_MAX_RANK];
  H5D_space_status_t allocation = H5D_SPACE_STATUS_ERROR;

  if (H5Lexists(file, name, H5P_DEFAULT) <= 0 || H5Oexists_by_name(file, name, H5P_DEFAULT) <= 0 || (dset = H5Dopen2(file, name, H5P_DEFAULT)) < 0) {
    snprintf(msg, len, "%s: no dataset /%s (not a gradflow snapshot)", prefix, name);
    return PETSC_ERR_FILE_UNEXPECTED;
  }
  space = H5Dget_space(dset);
  type  = H5Dget_type(dset);
  rank  = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
  if (type < 0 || H5Tget_class(type) != H5T_FLOAT) {
    snprintf(msg, len, "%s: /%s is not floating-point data", prefix, name);
    code = PETSC_ERR_FILE_UNEXPECTED;
  } else if (rank != h->dim || H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
    snprintf(msg, len, "%s: /%s has %d dimensions, the grid attributes say %lld", prefix, name, rank, h->dim);
    code = PETSC_ERR_FILE_UNEXPECTED;
  } else {
    for (int a = 0; a < rank && !code; a++) {
      if (dims[rank - 1 - a] != (hsize_t)h->cells[a]) {
        snprintf(msg, len, "%s: /%s has %llu values along %c, the snapshot's cells attribute says %lld (a damaged or foreign file)", prefix, name, (unsigned long long)dims[rank - 1 - a], 'x' + a, h->cells[a]);
        code = PETSC_ERR_FILE_UNEXPECTED;
      }
    }
  }
  if (!code && (H5Dget_space_status(dset, &allocation) < 0 || allocation != H5D_SPACE_STATUS_ALLOCATED)) {
    snprintf(msg, len, "%s: /%s has %s of its values written (a damaged or incomplete file)", prefix, name, allocation == H5D_SPACE_STATUS_PART_ALLOCATED ? "only some" : "none");
    code = PETSC_ERR_FILE_UNEXPECTED;
  }
  if (type >= 0) H5Tclose(type);
  if (space >= 0) H5Sclose(space);
  H5Dclose(dset);
  return code;
}

/* The grid attributes, checked: dim 1-3, cells >= 2 each with a product PETSc's indices hold, a box with lower < upper within sqrt(PETSC_MAX_REAL), noflux or periodic walls. */
static int ReadGridAttributes(hid_t file, GFSnapshotHeader *h, const char prefix[], char msg[], size_t len)
{
  const double limit    = PetscSqrtReal(PETSC_MAX_REAL);
  long long    cells[3] = {1, 1, 1};
  int          ncells = 0, nlower = 0, nupper = 0;
  double       total = 1;

  if (!GFH5ReadScalar(file, "dim", H5T_NATIVE_LLONG, &h->dim) || !GFH5ReadNumbers(file, "cells", H5T_NATIVE_LLONG, 3, cells, &ncells) || !GFH5ReadNumbers(file, "domain_lower", H5T_NATIVE_DOUBLE, 3, h->lower, &nlower) ||
      !GFH5ReadNumbers(file, "domain_upper", H5T_NATIVE_DOUBLE, 3, h->upper, &nupper)) {
    snprintf(msg, len, "%s: missing or malformed grid attributes dim, cells, domain_lower or domain_upper (not a gradflow snapshot)", prefix);
    return PETSC_ERR_FILE_UNEXPECTED;
  }
  if (h->dim < 1 || h->dim > 3 || ncells != h->dim || nlower != h->dim || nupper != h->dim) {
    snprintf(msg, len, "%s: the grid attributes disagree: dim %lld with %d cells, %d lower and %d upper values", prefix, h->dim, ncells, nlower, nupper);
    return PETSC_ERR_FILE_UNEXPECTED;
  }
  for (int a = 0; a < h->dim; a++) {
    h->cells[a] = cells[a];
    total *= (double)cells[a];
    if (cells[a] < 2 || !PetscIsNormalReal(h->upper[a] - h->lower[a]) || !(h->lower[a] < h->upper[a]) || PetscIsInfOrNanReal(h->lower[a]) || PetscIsInfOrNanReal(h->upper[a])) {
      snprintf(msg, len, "%s: axis %c has %lld cells on [%g, %g]: a grid needs at least 2 cells on a finite interval", prefix, 'x' + a, cells[a], h->lower[a], h->upper[a]);
      return PETSC_ERR_FILE_UNEXPECTED;
    }
    if (PetscMax(PetscAbsReal(h->lower[a]), PetscAbsReal(h->upper[a])) > limit || h->upper[a] - h->lower[a] > limit) {
      snprintf(msg, len, "%s: axis %c spans [%g, %g], beyond %.3g: squares of its coordinates (variances, W2) overflow (a damaged file)", prefix, 'x' + a, h->lower[a], h->upper[a], limit);
      return PETSC_ERR_FILE_UNEXPECTED;
    }
  }
  if (total > (double)PETSC_MAX_INT) {
    snprintf(msg, len, "%s: %.0f cells, more than this PETSc build's indices hold", prefix, total);
    return PETSC_ERR_FILE_UNEXPECTED;
  }
  if (H5Aexists(file, "bc") <= 0)
    snprintf(h->bc, sizeof(h->bc), "noflux");
  else if (!GFH5ReadString(file, "bc", h->bc, sizeof(h->bc))) {
    snprintf(msg, len, "%s: the walls attribute bc is not a string (noflux or periodic)", prefix);
    return PETSC_ERR_FILE_UNEXPECTED;
  }
  if (strcmp(h->bc, "noflux") && strcmp(h->bc, "periodic")) {
    snprintf(msg, len, "%s: walls '%s': valid are noflux and periodic", prefix, h->bc);
    return PETSC_ERR_FILE_UNEXPECTED;
  }
  return 0;
}

/* The time stepper's state, when the snapshot has one: dt, dt_next, dt_max >= 0 and finite, steps above the round-off of the time, and up to GF_MAX_HISTORY earlier solutions. */
static int ReadStepperState(hid_t file, hid_t dset, GFSnapshotHeader *h, const char prefix[], char msg[], size_t len)
{
  long long order = 0, count = 0;

  if (!GFH5ReadScalar(dset, "dt", H5T_NATIVE_DOUBLE, &h->dt)) return 0;
  h->has_state = PETSC_TRUE;
  if (!GFH5ReadScalar(dset, "dt_next", H5T_NATIVE_DOUBLE, &h->dt_next) || !GFH5ReadScalar(dset, "dt_max", H5T_NATIVE_DOUBLE, &h->dt_max) || !GFH5ReadScalar(dset, "history_order", H5T_NATIVE_LLONG, &order) ||
      !GFH5ReadScalar(dset, "history_length", H5T_NATIVE_LLONG, &count) || !(h->dt >= 0 && h->dt_next >= 0 && h->dt_max >= 0) || PetscIsInfOrNanReal(h->dt + h->dt_next + h->dt_max) || order < 0 || order > GF_MAX_HISTORY || count < 0 ||
      count > GF_MAX_HISTORY) {
    snprintf(msg, len, "%s: malformed time-stepper state (dt, dt_next, dt_max, history_order, history_length)", prefix);
    return PETSC_ERR_FILE_UNEXPECTED;
  }
  if (PetscMax(h->dt, h->dt_next) > 0 && !(PetscMax(h->dt, h->dt_next) > 1e-14 * PetscAbsReal(h->time))) {
    snprintf(msg, len, "%s: /density has time %g, but its time steps (dt %g, dt_next %g) are below the round-off of that time: a damaged time", prefix, h->time, h->dt, h->dt_next);
    return PETSC_ERR_FILE_UNEXPECTED;
  }
  h->history_order  = order;
  h->history_length = count;
  for (long long k = 0; k < count; k++) {
    char  name[32];
    hid_t prev;
    int   code;
    snprintf(name, sizeof(name), "previous_density_%lld", k + 1);
    if ((code = CheckDensityDataset(file, name, h, prefix, msg, len))) return code;
    prev = H5Dopen2(file, name, H5P_DEFAULT);
    if (prev < 0 || !GFH5ReadScalar(prev, "time", H5T_NATIVE_DOUBLE, &h->history_time[k]) || PetscIsInfOrNanReal(h->history_time[k])) {
      snprintf(msg, len, "%s: /%s lacks a finite time", prefix, name);
      code = PETSC_ERR_FILE_UNEXPECTED;
    }
    if (prev >= 0) H5Dclose(prev);
    if (code) return code;
  }
  return 0;
}

/*
  Rank 0: everything a snapshot claims, checked (see the top of this file); what names the
  file in messages ("-init_file", "-pde"). Returns 0 or a PETSc error code with msg.
*/
PETSC_INTERN int GFSnapshotReadHeader(const char path[], const char what[], GFSnapshotHeader *h, char msg[], size_t len)
{
  char        prefix[PETSC_MAX_PATH_LEN + 64];
  struct stat st;
  htri_t      is_hdf5;
  hid_t       file, dset = -1;
  int         code;

  PetscMemzero(h, sizeof(*h));
  snprintf(prefix, sizeof(prefix), "%s%s%s", what, what[0] ? " " : "", path);
  if (stat(path, &st) || !S_ISREG(st.st_mode) || access(path, R_OK)) {
    snprintf(msg, len, "%s: no such readable file%s", prefix, !stat(path, &st) && S_ISDIR(st.st_mode) ? " (it is a directory)" : "");
    return PETSC_ERR_FILE_OPEN;
  }
  H5E_BEGIN_TRY
  {
    is_hdf5 = H5Fis_hdf5(path);
  }
  H5E_END_TRY;
  if (is_hdf5 <= 0) {
    snprintf(msg, len, "%s: not an HDF5 file (expected a gradflow snapshot snap_NNNNN.h5)", prefix);
    return PETSC_ERR_FILE_UNEXPECTED;
  }
  if ((code = GFHDF5Probe(path, what, msg, len))) return code;
  H5E_BEGIN_TRY
  {
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  }
  H5E_END_TRY;
  if (file < 0) {
    snprintf(msg, len, "%s: the HDF5 library cannot open it (a truncated or damaged file)", prefix);
    return PETSC_ERR_FILE_UNEXPECTED;
  }
  H5E_BEGIN_TRY
  {
    code = ReadGridAttributes(file, h, prefix, msg, len);
    if (!code) code = CheckDensityDataset(file, "density", h, prefix, msg, len);
    if (!code && (dset = H5Dopen2(file, "density", H5P_DEFAULT)) < 0) code = PETSC_ERR_FILE_UNEXPECTED;
    if (!code && (!GFH5ReadScalar(dset, "time", H5T_NATIVE_DOUBLE, &h->time) || !GFH5ReadScalar(dset, "step", H5T_NATIVE_LLONG, &h->step))) {
      snprintf(msg, len, "%s: /density lacks its time or step attribute", prefix);
      code = PETSC_ERR_FILE_UNEXPECTED;
    }
    if (!code && (PetscIsInfOrNanReal(h->time) || h->step < 0 || h->step > PETSC_MAX_INT)) {
      snprintf(msg, len, "%s: /density has time %g and step %lld: a snapshot's time is finite and its step >= 0", prefix, h->time, h->step);
      code = PETSC_ERR_FILE_UNEXPECTED;
    }
    if (!code && (!GFH5ReadScalar(dset, "initial_mass", H5T_NATIVE_DOUBLE, &h->initial_mass) || !(h->initial_mass > 0) || PetscIsInfOrNanReal(h->initial_mass))) h->initial_mass = 0;
    if (!code) code = ReadStepperState(file, dset, h, prefix, msg, len);
    if (!code) GFH5ReadString(file, "model", h->model, sizeof(h->model));
    if (dset >= 0) H5Dclose(dset);
  }
  H5E_END_TRY;
  H5Fclose(file);
  return code;
}

/* Rank 0 reads and checks the header, every rank gets it or the error. Collective. */
PETSC_INTERN PetscErrorCode GFSnapshotGetHeader(MPI_Comm comm, const char path[], const char what[], GFSnapshotHeader *h)
{
  PetscMPIInt rank;
  int         code                              = 0;
  char        msg[2 * PETSC_MAX_PATH_LEN + 256] = "";

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) code = GFSnapshotReadHeader(path, what, h, msg, sizeof(msg));
  PetscCall(GFCheckRankZero(comm, code, msg));
  PetscCallMPI(MPI_Bcast(h, (PetscMPIInt)sizeof(*h), MPI_BYTE, 0, comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Values of dataset name loaded into v that no run can step: beyond sqrt(PETSC_MAX_REAL),
  where the square (the porous medium's rho^m, the energies, the fluxes) overflows; with
  all, also NaN, infinite or negative ones (the density's own are left to the initial-data
  checks, which name them). Collective.
*/
static PetscErrorCode CheckLoaded(Vec v, const char path[], const char what[], const char name[], PetscBool all)
{
  const PetscReal    limit = PetscSqrtReal(PETSC_MAX_REAL);
  const PetscScalar *x;
  PetscInt           n;
  PetscReal          bad[2] = {0, 0}; /* count, largest magnitude */

  PetscFunctionBeginUser;
  PetscCall(VecGetLocalSize(v, &n));
  PetscCall(VecGetArrayRead(v, &x));
  for (PetscInt i = 0; i < n; i++) {
    const PetscReal value = PetscRealPart(x[i]);
    if (PetscAbsReal(value) > limit || (all && (PetscIsInfOrNanReal(value) || value < 0))) {
      bad[0] += 1;
      if (!(PetscAbsReal(value) <= bad[1])) bad[1] = PetscAbsReal(value);
    }
  }
  PetscCall(VecRestoreArrayRead(v, &x));
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, bad, 2, MPIU_REAL, MPIU_MAX, PetscObjectComm((PetscObject)v)));
  PetscCheck(bad[0] == 0, PetscObjectComm((PetscObject)v), PETSC_ERR_FILE_UNEXPECTED, "%s %s: /%s has %.0f values %sabove %.3g (up to %g): beyond what a run can step (a damaged snapshot)", what, path, name, (double)bad[0],
             all ? "that are NaN, infinite, negative or " : "", (double)limit, (double)bad[1]);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Load a checked snapshot into rho (a global vector of g's DMDA), after checking it was
  written on this grid; with history (GF_MAX_HISTORY vectors like rho, or NULL) also its
  earlier solutions. Values beyond sqrt(PETSC_MAX_REAL) (and in the history any that are
  not finite and >= 0) are refused. what names the file in messages. Collective.
*/
PETSC_INTERN PetscErrorCode GFSnapshotLoad(GFGrid g, const char path[], const char what[], const GFSnapshotHeader *h, Vec rho, Vec history[])
{
  PetscViewer    viewer;
  PetscErrorCode ierr;

  PetscFunctionBeginUser;
  PetscCheck(h->dim == g->dim, g->comm, PETSC_ERR_USER_INPUT, "%s %s: the snapshot is %lldD, this run is %dD (-dim)", what, path, h->dim, (int)g->dim);
  for (PetscInt a = 0; a < g->dim; a++) {
    const PetscReal tol = 1e-12 * (PetscAbsReal(g->upper[a]) + PetscAbsReal(g->lower[a]));
    PetscCheck(h->cells[a] == g->cells[a], g->comm, PETSC_ERR_USER_INPUT, "%s %s: the snapshot has %lld cells along %c, this run has %d (-da_grid_%c): a different grid", what, path, h->cells[a], (int)('x' + a), (int)g->cells[a], (int)('x' + a));
    PetscCheck(PetscAbsReal(h->lower[a] - g->lower[a]) <= tol && PetscAbsReal(h->upper[a] - g->upper[a]) <= tol, g->comm, PETSC_ERR_USER_INPUT,
               "%s %s: the snapshot's domain along %c is [%.6g, %.6g], this run's is [%.6g, %.6g] (-domain_lower/-domain_upper)", what, path, (int)('x' + a), h->lower[a], h->upper[a], (double)g->lower[a], (double)g->upper[a]);
  }
  PetscCall(PetscViewerHDF5Open(g->comm, path, FILE_MODE_READ, &viewer));
  ierr = GFVecViewNamed(rho, "density", viewer, PETSC_TRUE);
  for (PetscInt k = 0; !ierr && history && k < h->history_length; k++) {
    char name[48];
    ierr = PetscSNPrintf(name, sizeof(name), "previous_density_%d", (int)k + 1);
    if (!ierr) ierr = GFVecViewNamed(history[k], name, viewer, PETSC_TRUE);
  }
  PetscCall(PetscViewerDestroy(&viewer));
  PetscCall(ierr);
  PetscCall(CheckLoaded(rho, path, what, "density", PETSC_FALSE));
  for (PetscInt k = 0; history && k < h->history_length; k++) {
    char name[48];
    PetscCall(PetscSNPrintf(name, sizeof(name), "previous_density_%d", (int)k + 1));
    PetscCall(CheckLoaded(history[k], path, what, name, PETSC_TRUE));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Load a snapshot into rho (a global vector of grid's DMDA); return its time and step. */
PetscErrorCode GFSnapshotRead(GFGrid g, const char path[], Vec rho, PetscReal *time, PetscInt *step)
{
  GFSnapshotHeader h;

  PetscFunctionBeginUser;
  PetscCall(GFSnapshotGetHeader(g->comm, path, "-init_file", &h));
  PetscCall(GFSnapshotLoad(g, path, "-init_file", &h, rho, NULL));
  if (time) *time = h.time;
  if (step) *step = (PetscInt)h.step;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The options string attribute of a snapshot (rank 0), PetscMalloc'd, or NULL. */
static char *ReadOptions(const char path[])
{
  hid_t  file, attr, type;
  size_t size;
  char  *value = NULL;

  H5E_BEGIN_TRY
  {
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file >= 0 && H5Aexists(file, "options") > 0 && (attr = H5Aopen(file, "options", H5P_DEFAULT)) >= 0) {
      type = H5Aget_type(attr);
      size = type >= 0 && H5Tget_class(type) == H5T_STRING && H5Tis_variable_str(type) <= 0 ? H5Tget_size(type) : 0;
      if (size && size < ((size_t)1 << 24) && !PetscMalloc1(size + 1, &value)) {
        if (H5Aread(attr, type, value) < 0) value[0] = 0;
        value[size] = 0;
      }
      if (type >= 0) H5Tclose(type);
      H5Aclose(attr);
    }
    if (file >= 0) H5Fclose(file);
  }
  H5E_END_TRY;
  return value;
}

/*
  The grid a snapshot was written on (dim, cells, domain, walls from its checked
  attributes), set up on comm with exactly those sizes, and the run's option string
  (PetscFree it) when options is not NULL. Collective; rank 0 reads.
*/
PETSC_INTERN PetscErrorCode GFSnapshotReadGrid(MPI_Comm comm, const char path[], GFGrid *grid, char **options)
{
  GFSnapshotHeader h;
  PetscMPIInt      rank;
  char            *text   = NULL;
  int              length = 0;
  GFGrid           g;

  PetscFunctionBeginUser;
  PetscCall(GFSnapshotGetHeader(comm, path, "-pde", &h));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0 && options) {
    text   = ReadOptions(path);
    length = text ? (int)strlen(text) + 1 : 0;
  }
  PetscCallMPI(MPI_Bcast(&length, 1, MPI_INT, 0, comm));
  if (options) {
    if (rank && length) PetscCall(PetscMalloc1(length, &text));
    if (length) PetscCallMPI(MPI_Bcast(text, length, MPI_CHAR, 0, comm));
    *options = text;
  }
  PetscCall(GFGridCreate(comm, &g));
  g->dim   = (PetscInt)h.dim;
  g->bc    = strcmp(h.bc, "periodic") ? GF_BC_NOFLUX : GF_BC_PERIODIC;
  g->fixed = PETSC_TRUE;
  for (PetscInt a = 0; a < 3; a++) {
    g->cells[a] = a < h.dim ? (PetscInt)h.cells[a] : 1;
    g->lower[a] = a < h.dim ? h.lower[a] : -5;
    g->upper[a] = a < h.dim ? h.upper[a] : 5;
  }
  PetscCall(GFGridSetUp(g));
  *grid = g;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The time attribute of a checked snapshot. Collective. */
PETSC_INTERN PetscErrorCode GFSnapshotReadTime(MPI_Comm comm, const char path[], PetscReal *time)
{
  GFSnapshotHeader h;

  PetscFunctionBeginUser;
  PetscCall(GFSnapshotGetHeader(comm, path, "-pde", &h));
  *time = h.time;
  PetscFunctionReturn(PETSC_SUCCESS);
}
