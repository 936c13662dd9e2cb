/*
  Particle files: a gradflow run's DIR/particles_NNNNN.h5 (written here, collectively, with
  parallel HDF5) and the clouds a user brings to compare against a PDE run: HDF5 (.h5,
  .hdf5), text (.csv, .txt) and NumPy (.npy). Rank 0 reads and checks a file (an HDF5 file
  after GFHDF5Probe has read it in a child process) and broadcasts either the particles or
  its error, so every failure is collective and reported once.
*/
#include "particles_impl.h"
#include <hdf5.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#if !defined(PETSC_USE_REAL_DOUBLE)
#error "particle files are read and written as double: gradflow needs PetscReal = double"
#endif

/* What rank 0 found wrong: a PETSc error code (0 when nothing) and its message. */
typedef struct {
  int  code;
  char msg[PETSC_MAX_PATH_LEN + 2048];
} FileProblem;

static void Fail(FileProblem *p, int code, const char format[], ...) PETSC_ATTRIBUTE_FORMAT(3, 4);

/* Record the first problem only: the later ones are its consequences. */
static void Fail(FileProblem *p, int code, const char format[], ...)
{
  va_list args;

  if (p->code) return;
  p->code = code;
  va_start(args, format);
  vsnprintf(p->msg, sizeof(p->msg), format, args);
  va_end(args);
}

/* Broadcast rank 0's problem so that every rank fails together with its message. */
static PetscErrorCode CheckCollective(MPI_Comm comm, FileProblem *p)
{
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Bcast(&p->code, 1, MPI_INT, 0, comm));
  if (!p->code) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCallMPI(MPI_Bcast(p->msg, (PetscMPIInt)sizeof(p->msg), MPI_CHAR, 0, comm));
  SETERRQ(comm, p->code, "%s", p->msg);
}

/* MPI_Bcast of count reals from rank 0, in pieces that fit MPI's int counts. */
static PetscErrorCode BcastReals(MPI_Comm comm, size_t count, PetscReal x[])
{
  const size_t piece = (size_t)1 << 30;

  PetscFunctionBeginUser;
  for (size_t offset = 0; offset < count; offset += piece) PetscCallMPI(MPI_Bcast(x + offset, (PetscMPIInt)PetscMin(piece, count - offset), MPIU_REAL, 0, comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The final extension of path's base name, dot included ("" when there is none). */
static const char *Extension(const char path[])
{
  const char *base = strrchr(path, '/'), *dot;

  base = base ? base + 1 : path;
  dot  = strrchr(base, '.');
  return dot ? dot : base + strlen(base);
}

static herr_t WriteAttribute(hid_t loc, const char name[], hid_t type, hsize_t n, const void *value)
{
  hid_t  space = n ? H5Screate_simple(1, &n, NULL) : H5Screate(H5S_SCALAR), attr = -1;
  herr_t status = -1;

  if (space >= 0) attr = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  if (attr >= 0) status = H5Awrite(attr, type, value);
  if (attr >= 0 && H5Aclose(attr) < 0) status = -1;
  if (space >= 0) H5Sclose(space);
  return status;
}

/* A fixed-length, NUL-terminated string attribute (as the PDE snapshots write theirs). */
static herr_t WriteStringAttribute(hid_t loc, const char name[], const char value[])
{
  hid_t  type   = H5Tcopy(H5T_C_S1);
  herr_t status = -1;

  if (type < 0) return -1;
  if (H5Tset_size(type, strlen(value) + 1) >= 0 && H5Tset_strpad(type, H5T_STR_NULLTERM) >= 0) status = WriteAttribute(loc, name, type, 0, value);
  H5Tclose(type);
  return status;
}

/* Dataset /particles [n][dim] with its time and step: this rank writes rows [start, start + nlocal), collectively. */
static herr_t WriteParticleDataset(hid_t file, hsize_t n, hsize_t dim, hsize_t start, hsize_t nlocal, const double x[], double time, int64_t step)
{
  const double dummy   = 0;
  hsize_t      dims[2] = {n, dim}, offset[2] = {start, 0}, count[2] = {nlocal, dim}, one_row[2] = {1, dim};
  hid_t        filespace = H5Screate_simple(2, dims, NULL), memspace = -1, dset = -1, dxpl = -1;
  herr_t       status = -1;

  if (filespace >= 0) dset = H5Dcreate2(file, "particles", H5T_NATIVE_DOUBLE, filespace, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (dset >= 0) memspace = H5Screate_simple(2, nlocal ? count : one_row, NULL);
  if (memspace >= 0) {
    if (nlocal)
      status = H5Sselect_hyperslab(filespace, H5S_SELECT_SET, offset, NULL, count, NULL);
    else
      status = H5Sselect_none(filespace) < 0 || H5Sselect_none(memspace) < 0 ? -1 : 0;
  }
  if (status >= 0) {
    dxpl   = H5Pcreate(H5P_DATASET_XFER);
    status = dxpl < 0 || H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE) < 0 ? -1 : 0;
  }
  if (status >= 0) status = H5Dwrite(dset, H5T_NATIVE_DOUBLE, memspace, filespace, dxpl, nlocal ? x : &dummy);
  if (status >= 0) status = WriteAttribute(dset, "time", H5T_NATIVE_DOUBLE, 0, &time);
  if (status >= 0) status = WriteAttribute(dset, "step", H5T_NATIVE_INT64, 0, &step);
  if (dxpl >= 0) H5Pclose(dxpl);
  if (memspace >= 0) H5Sclose(memspace);
  if (dset >= 0 && H5Dclose(dset) < 0) status = -1;
  if (filespace >= 0) H5Sclose(filespace);
  return status;
}

/* The whole file tmp through the MPI-IO driver on comm: the dataset, then the run's attributes on the root group. */
static herr_t WriteParticleHDF5(MPI_Comm comm, const char tmp[], PetscInt n, PetscInt dim, PetscInt start, PetscInt nlocal, const PetscReal x[], const GFParticleFileAttributes *a)
{
  const struct _p_GFGrid *g     = a->grid;
  const int64_t           dim64 = dim, n64 = n, seed = a->seed;
  double                  lower[3], upper[3];
  hid_t                   fapl = H5Pcreate(H5P_FILE_ACCESS), file = -1;
  herr_t                  status;

  if (fapl < 0) return -1;
  if (H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL) >= 0) file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  H5Pclose(fapl);
  if (file < 0) return -1;
  for (PetscInt d = 0; d < dim; d++) {
    lower[d] = g->lower[d];
    upper[d] = g->upper[d];
  }
  status = WriteParticleDataset(file, (hsize_t)n, (hsize_t)dim, (hsize_t)start, (hsize_t)nlocal, x, a->time, (int64_t)a->step);
  if (status >= 0) status = WriteStringAttribute(file, "model", a->model ? a->model : "");
  if (status >= 0) status = WriteAttribute(file, "dim", H5T_NATIVE_INT64, 0, &dim64);
  if (status >= 0) status = WriteAttribute(file, "n_particles", H5T_NATIVE_INT64, 0, &n64);
  if (status >= 0) status = WriteAttribute(file, "seed", H5T_NATIVE_INT64, 0, &seed);
  if (status >= 0) status = WriteAttribute(file, "domain_lower", H5T_NATIVE_DOUBLE, (hsize_t)dim, lower);
  if (status >= 0) status = WriteAttribute(file, "domain_upper", H5T_NATIVE_DOUBLE, (hsize_t)dim, upper);
  if (status >= 0) status = WriteStringAttribute(file, "bc", GFBoundaries[g->bc]);
  if (status >= 0) status = WriteStringAttribute(file, "options", a->options ? a->options : "");
  if (status >= 0) status = WriteStringAttribute(file, "version", GFVersion);
  if (H5Fclose(file) < 0) status = -1;
  return status;
}

/*
  Write the n x dim particles (this rank's rows [start, start + nlocal) in x) and the run's
  attributes as the file tmp with parallel HDF5; on failure the file is removed. Collective.
*/
PETSC_INTERN PetscErrorCode GFParticleFileWriteAs(MPI_Comm comm, const char tmp[], PetscInt n, PetscInt dim, PetscInt start, PetscInt nlocal, const PetscReal x[], const GFParticleFileAttributes *attributes)
{
  FileProblem problem = {0, ""};
  PetscMPIInt rank;
  int         bad, failed;
  herr_t      status;

  PetscFunctionBeginUser;
  PetscCheck(attributes && attributes->grid, comm, PETSC_ERR_ARG_NULL, "GFParticleFileWrite %s: the attributes and their grid are required", tmp);
  PetscCheck(dim >= 1 && dim <= 3 && dim == attributes->grid->dim, comm, PETSC_ERR_ARG_INCOMP, "GFParticleFileWrite %s: particles in %" PetscInt_FMT "D on a %" PetscInt_FMT "D grid", tmp, dim, attributes->grid->dim);
  bad = start < 0 || nlocal < 0 || start > n - nlocal || (nlocal > 0 && !x);
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &bad, 1, MPI_INT, MPI_MAX, comm));
  PetscCheck(!bad, comm, PETSC_ERR_ARG_OUTOFRANGE, "GFParticleFileWrite %s: a rank's rows [start, start + nlocal) are not within [0, %" PetscInt_FMT ") or it has no positions", tmp, n);
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    FILE *probe = fopen(tmp, "w");
    if (!probe)
      Fail(&problem, PETSC_ERR_FILE_WRITE, "cannot write the particle file %s: %s", tmp, strerror(errno));
    else
      fclose(probe);
  }
  PetscCall(CheckCollective(comm, &problem));
  errno = 0;
  H5E_BEGIN_TRY
  {
    status = WriteParticleHDF5(comm, tmp, n, dim, start, nlocal, x, attributes);
  }
  H5E_END_TRY;
  failed = status < 0;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, comm));
  if (rank == 0 && failed) {
    Fail(&problem, PETSC_ERR_FILE_WRITE, "cannot write the particle file %s: %s", tmp, errno ? strerror(errno) : "the HDF5 library failed");
    unlink(tmp);
  }
  PetscCall(CheckCollective(comm, &problem));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The particles as path.tmp, then renamed to path (see GFParticleFileWriteAs). Collective. */
PetscErrorCode GFParticleFileWrite(MPI_Comm comm, const char path[], PetscInt n, PetscInt dim, PetscInt start, PetscInt nlocal, const PetscReal x[], const GFParticleFileAttributes *attributes)
{
  char        tmp[PETSC_MAX_PATH_LEN + 8];
  FileProblem problem = {0, ""};
  PetscMPIInt rank;

  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp", path));
  PetscCall(GFParticleFileWriteAs(comm, tmp, n, dim, start, nlocal, x, attributes));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0 && rename(tmp, path)) Fail(&problem, PETSC_ERR_FILE_WRITE, "cannot rename the particle file %s to %s: %s", tmp, path, strerror(errno));
  PetscCall(CheckCollective(comm, &problem));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* No rows, too many rows for PetscInt or for memory, the wrong dimension or more than three: the shape checks every format shares. */
static PetscBool CheckShape(const char path[], size_t n, size_t dim, PetscInt expected_dim, FileProblem *p)
{
  if (n == 0)
    Fail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: has no particles (no rows)", path);
  else if (n > (size_t)PETSC_MAX_INT)
    Fail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: has %zu particles, more than a PetscInt of this PETSc build holds", path, n);
  else if (expected_dim > 0 && dim != (size_t)expected_dim)
    Fail(p, PETSC_ERR_USER_INPUT, "particle file %s: has %zu columns (particles in %zuD), but the PDE run is %dD: the particles must live in the PDE's space", path, dim, dim, (int)expected_dim);
  else if (dim < 1 || dim > 3)
    Fail(p, PETSC_ERR_USER_INPUT, "particle file %s: has %zu columns, but particles live in 1, 2 or 3 dimensions", path, dim);
  else if ((double)n * (double)dim * sizeof(PetscReal) > 0.8 * GFMemoryAvailableLocal())
    Fail(p, PETSC_ERR_USER_INPUT, "particle file %s: its %zu particles need %.3g GB on every rank, more than this machine has free (%.3g GB)", path, n, (double)n * (double)dim * sizeof(PetscReal) / 1e9, GFMemoryAvailableLocal() / 1e9);
  return p->code ? PETSC_FALSE : PETSC_TRUE;
}

/* The message for a NaN or infinite coordinate: row and column counted from 1, where (e.g. the line) appended. */
static void FailNotFinite(FileProblem *p, const char path[], size_t row, size_t column, double value, const char where[])
{
  Fail(p, PETSC_ERR_USER_INPUT, "particle file %s: row %zu, column %zu is %g: particle positions must be finite%s", path, row + 1, column + 1, value, where);
}

/* A numeric scalar attribute converted to type; false when absent or not a number. */
static PetscBool ReadScalarAttribute(hid_t loc, const char name[], hid_t type, void *value)
{
  hid_t       attr, space, atype;
  H5T_class_t kind;
  PetscBool   read = PETSC_FALSE;

  if (H5Aexists(loc, name) <= 0 || (attr = H5Aopen(loc, name, H5P_DEFAULT)) < 0) return PETSC_FALSE;
  space = H5Aget_space(attr);
  atype = H5Aget_type(attr);
  kind  = H5Tget_class(atype);
  if (space >= 0 && H5Sget_simple_extent_npoints(space) == 1 && (kind == H5T_INTEGER || kind == H5T_FLOAT)) read = H5Aread(attr, type, value) >= 0 ? PETSC_TRUE : PETSC_FALSE;
  if (atype >= 0) H5Tclose(atype);
  if (space >= 0) H5Sclose(space);
  H5Aclose(attr);
  return read;
}

/* A scalar string attribute, fixed or variable length, truncated to len - 1 characters; false when absent. */
static PetscBool ReadStringAttribute(hid_t loc, const char name[], char value[], size_t len)
{
  hid_t     attr, space, atype, mem = -1;
  PetscBool read = PETSC_FALSE;

  if (H5Aexists(loc, name) <= 0 || (attr = H5Aopen(loc, name, H5P_DEFAULT)) < 0) return PETSC_FALSE;
  space = H5Aget_space(attr);
  atype = H5Aget_type(attr);
  if (space >= 0 && H5Sget_simple_extent_npoints(space) == 1 && H5Tget_class(atype) == H5T_STRING && (mem = H5Tcopy(H5T_C_S1)) >= 0) {
    if (H5Tis_variable_str(atype) > 0) {
      char *s = NULL;
      if (H5Tset_size(mem, H5T_VARIABLE) >= 0 && H5Aread(attr, mem, &s) >= 0 && s) {
        snprintf(value, len, "%s", s);
        read = PETSC_TRUE;
      }
      if (s) H5free_memory(s);
    } else if (H5Tset_size(mem, len) >= 0 && H5Tset_strpad(mem, H5T_STR_NULLTERM) >= 0 && H5Aread(attr, mem, value) >= 0) {
      value[len - 1] = 0;
      read           = PETSC_TRUE;
    }
    H5Tclose(mem);
  }
  if (atype >= 0) H5Tclose(atype);
  if (space >= 0) H5Sclose(space);
  H5Aclose(attr);
  return read;
}

/* The time attribute of the dataset, else of the file: absent leaves info->time, anything but one finite number is an error. */
static void ReadTimeAttribute(hid_t dset, hid_t file, const char path[], const char name[], GFParticleFileInfo *info, FileProblem *p)
{
  const hid_t loc = H5Aexists(dset, "time") > 0 ? dset : file;
  double      time;

  if (H5Aexists(loc, "time") <= 0) return;
  if (!ReadScalarAttribute(loc, "time", H5T_NATIVE_DOUBLE, &time) || !isfinite(time))
    Fail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: the time attribute of %s%s is not one finite number (a damaged file)", path, loc == dset ? "dataset " : "the file", loc == dset ? name : "");
  else
    info->time = time;
}

typedef struct {
  char  *list;
  size_t len;
  int    count;
} DatasetList;

/* H5Lvisit callback: append the path of every dataset to the list, for the message of a missing dataset. */
static herr_t AppendDataset(hid_t group, const char name[], const H5L_info_t *info, void *ctx)
{
  DatasetList *l = (DatasetList *)ctx;
  hid_t        obj;
  size_t       used = strlen(l->list);

  (void)info;
  if ((obj = H5Oopen(group, name, H5P_DEFAULT)) < 0) return 0;
  if (H5Iget_type(obj) == H5I_DATASET) snprintf(l->list + used, l->len - used, "%s/%s", l->count++ ? ", " : "", name);
  H5Oclose(obj);
  return 0;
}

/*
  Rank 0, HDF5 errors silenced: dataset (default "particles") as n x dim doubles, with time,
  step, model and seed when the file has them; the file read first in a child process
  (GFHDF5Probe), so that damage that crashes or hangs the HDF5 library becomes an error.
*/
static PetscErrorCode ReadParticlesHDF5(const char path[], const char dataset[], PetscInt expected_dim, GFParticleFileInfo *info, PetscReal **x, FileProblem *p)
{
  const char        *name = dataset && dataset[0] ? dataset : "particles";
  hid_t              file, dset, space, type;
  hsize_t            dims[H5S_MAX_RANK];
  int                rank;
  H5T_class_t        kind;
  int64_t            step, seed;
  int                code;
  H5D_space_status_t allocation = H5D_SPACE_STATUS_ERROR;

  PetscFunctionBeginUser;
  if (H5Fis_hdf5(path) <= 0) {
    Fail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: not an HDF5 file", path);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if ((code = GFHDF5Probe(path, "particle file", p->msg, sizeof(p->msg)))) {
    p->code = code;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if ((file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
    Fail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: HDF5 cannot open it (a truncated or damaged file?)", path);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if ((dset = H5Dopen2(file, name, H5P_DEFAULT)) < 0) {
    char        list[1024] = "";
    DatasetList found      = {list, sizeof(list), 0};
    H5Lvisit(file, H5_INDEX_NAME, H5_ITER_INC, AppendDataset, &found);
    Fail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: no dataset %s (%s%s)", path, name, found.count ? "the file has " : "the file has no datasets", list);
    H5Fclose(file);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  space = H5Dget_space(dset);
  type  = H5Dget_type(dset);
  kind  = H5Tget_class(type);
  rank  = H5Sget_simple_extent_ndims(space);
  if (kind != H5T_INTEGER && kind != H5T_FLOAT)
    Fail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: dataset %s is not numeric", path, name);
  else if (rank != 1 && rank != 2)
    Fail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: dataset %s has %d dimensions: expected [n] or [n][dim]", path, name, rank);
  else if (H5Sget_simple_extent_dims(space, dims, NULL) < 0)
    Fail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: HDF5 cannot read the shape of dataset %s", path, name);
  else if (CheckShape(path, (size_t)dims[0], rank == 2 ? (size_t)dims[1] : 1, expected_dim, p)) {
    if (H5Dget_space_status(dset, &allocation) < 0 || allocation != H5D_SPACE_STATUS_ALLOCATED)
      Fail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: dataset %s has %s of its values written (a damaged or incomplete file)", path, name, allocation == H5D_SPACE_STATUS_PART_ALLOCATED ? "only some" : "none");
    else {
      info->n   = (PetscInt)dims[0];
      info->dim = rank == 2 ? (PetscInt)dims[1] : 1;
      PetscCall(PetscMalloc1((size_t)info->n * info->dim, x));
      if (H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, *x) < 0) Fail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: HDF5 cannot read dataset %s (a truncated or damaged file?)", path, name);
    }
  }
  ReadTimeAttribute(dset, file, path, name, info, p);
  if (ReadScalarAttribute(dset, "step", H5T_NATIVE_INT64, &step) || ReadScalarAttribute(file, "step", H5T_NATIVE_INT64, &step)) info->step = (PetscInt)step;
  if (ReadScalarAttribute(file, "seed", H5T_NATIVE_INT64, &seed)) info->seed = seed;
  ReadStringAttribute(file, "model", info->model, sizeof(info->model));
  H5Tclose(type);
  H5Sclose(space);
  H5Dclose(dset);
  H5Fclose(file);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Whether a row of comma-separated fields has an empty one, "1,,2" or ",1" (a comma that ends the row, "1,2,", closes the last field). */
static PetscBool HasEmptyField(const char *s)
{
  PetscBool content = PETSC_FALSE;

  for (; *s; s++) {
    if (*s == ',') {
      if (!content) return PETSC_TRUE;
      content = PETSC_FALSE;
    } else if (!isspace((unsigned char)*s))
      content = PETSC_TRUE;
  }
  return PETSC_FALSE;
}

/*
  Rank 0: a text file of one particle per row, values separated by commas and/or white
  space; blank lines and '#' comments skipped, a first row that is not numbers is a header.
  A NUL byte or an empty comma-separated field is an error, not a row read short.
*/
static PetscErrorCode ReadParticlesText(const char path[], PetscInt expected_dim, GFParticleFileInfo *info, PetscReal **x, FileProblem *p)
{
  FILE     *f    = fopen(path, "r");
  char     *line = NULL, bad_token[48] = "";
  size_t    capacity = 0, line_number = 0, rows = 0, allocated = 0, columns = 0;
  ssize_t   length;
  PetscBool header_possible = PETSC_TRUE;

  PetscFunctionBeginUser;
  if (!f) {
    Fail(p, PETSC_ERR_FILE_OPEN, "particle file %s: no such readable file (%s)", path, strerror(errno));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  while (!p->code && (length = getline(&line, &capacity, f)) >= 0) {
    char     *s       = line;
    size_t    ntokens = 0, bad_column = 0;
    PetscReal row[3] = {0, 0, 0};

    line_number++;
    if (memchr(line, 0, (size_t)length)) {
      Fail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: line %zu holds a NUL byte: binary data, not text", path, line_number);
      break;
    }
    if (line_number == 1 && !strncmp(s, "\xEF\xBB\xBF", 3)) s += 3;
    while (isspace((unsigned char)*s)) s++;
    if (*s == '#') continue;
    if (HasEmptyField(s)) {
      Fail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: line %zu has an empty field (a comma at the start of the row, or two commas with nothing between)", path, line_number);
      break;
    }
    for (char *save, *token = strtok_r(s, ", \t\r\n\v\f", &save); token; token = strtok_r(NULL, ", \t\r\n\v\f", &save)) {
      char        *end;
      const double value = strtod(token, &end);

      ntokens++;
      if (end != token && !*end) {
        if (ntokens <= 3) row[ntokens - 1] = value;
      } else if (!bad_column) {
        bad_column = ntokens;
        snprintf(bad_token, sizeof(bad_token), "%s", token);
        for (char *b = bad_token; *b; b++)
          if (!isprint((unsigned char)*b)) *b = '?';
      }
    }
    if (!ntokens) continue;
    if (bad_column && header_possible) {
      header_possible = PETSC_FALSE;
      continue;
    }
    header_possible = PETSC_FALSE;
    if (bad_column) {
      Fail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: line %zu, column %zu: '%s' is not a number", path, line_number, bad_column, bad_token);
      break;
    }
    if (!rows) {
      if (!CheckShape(path, 1, ntokens, expected_dim, p)) break;
      columns = ntokens;
    }
    if (ntokens != columns) {
      Fail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: row %zu (line %zu) has %zu columns, the rows before it have %zu: every row must have the same number", path, rows + 1, line_number, ntokens, columns);
      break;
    }
    for (size_t c = 0; c < columns && !p->code; c++) {
      if (!isfinite(row[c])) {
        char where[64];
        snprintf(where, sizeof(where), " (line %zu)", line_number);
        FailNotFinite(p, path, rows, c, row[c], where);
      }
    }
    if (p->code) break;
    if (rows == allocated) {
      allocated = allocated ? 2 * allocated : 1024;
      PetscCall(PetscRealloc(allocated * columns * sizeof(PetscReal), x));
    }
    for (size_t c = 0; c < columns; c++) (*x)[rows * columns + c] = row[c];
    rows++;
  }
  if (!p->code && ferror(f)) Fail(p, PETSC_ERR_FILE_READ, "particle file %s: cannot read it: %s", path, strerror(errno));
  if (!p->code && CheckShape(path, rows, columns, expected_dim, p)) {
    info->n   = (PetscInt)rows;
    info->dim = (PetscInt)columns;
  }
  free(line);
  fclose(f);
  PetscFunctionReturn(PETSC_SUCCESS);
}

static void SkipSpace(const char **s)
{
  while (isspace((unsigned char)**s)) (*s)++;
}

/* A Python string literal ('...' or "...") into out; false when there is none or it does not fit. */
static PetscBool ParsePythonString(const char **s, char out[], size_t len)
{
  const char quote = **s;
  size_t     k     = 0;

  if (quote != '\'' && quote != '"') return PETSC_FALSE;
  for ((*s)++; **s && **s != quote; (*s)++) {
    if (k + 1 >= len) return PETSC_FALSE;
    out[k++] = **s;
  }
  if (**s != quote) return PETSC_FALSE;
  (*s)++;
  out[k] = 0;
  return PETSC_TRUE;
}

/* The header dict of a .npy file, {'descr': '<f8', 'fortran_order': False, 'shape': (n, dim), }; NULL, or what is wrong with it. */
static const char *ParseNPYHeader(const char *s, char descr[], size_t len, PetscBool *fortran_order, int *ndim, unsigned long long shape[], int max_ndim)
{
  int found = 0;

  SkipSpace(&s);
  if (*s++ != '{') return "it is not a Python dict";
  for (;;) {
    char key[32];

    SkipSpace(&s);
    if (*s == '}') break;
    if (!ParsePythonString(&s, key, sizeof(key))) return "a key is not a string";
    SkipSpace(&s);
    if (*s++ != ':') return "a key has no ':'";
    SkipSpace(&s);
    if (!strcmp(key, "descr")) {
      if (!ParsePythonString(&s, descr, len)) return "'descr' is not a simple type string (a structured dtype?)";
      found |= 1;
    } else if (!strcmp(key, "fortran_order")) {
      if (!strncmp(s, "True", 4))
        *fortran_order = PETSC_TRUE;
      else if (!strncmp(s, "False", 5))
        *fortran_order = PETSC_FALSE;
      else
        return "'fortran_order' is neither True nor False";
      s += *fortran_order ? 4 : 5;
      found |= 2;
    } else if (!strcmp(key, "shape")) {
      if (*s++ != '(') return "'shape' is not a tuple";
      for (*ndim = 0;;) {
        char *end;
        SkipSpace(&s);
        if (*s == ')') break;
        if (!isdigit((unsigned char)*s)) return "'shape' is not a tuple of integers";
        if (*ndim == max_ndim) return "'shape' has too many dimensions";
        errno            = 0;
        shape[(*ndim)++] = strtoull(s, &end, 10);
        if (errno) return "'shape' has a dimension too large";
        s = end;
        if (*s == 'L') s++;
        SkipSpace(&s);
        if (*s == ',')
          s++;
        else if (*s != ')')
          return "'shape' is not a tuple of integers";
      }
      s++;
      found |= 4;
    } else
      return "it has a key other than 'descr', 'fortran_order' and 'shape'";
    SkipSpace(&s);
    if (*s == ',')
      s++;
    else if (*s != '}')
      return "its entries are not separated by ','";
  }
  s++;
  SkipSpace(&s);
  if (*s) return "text follows the dict";
  if (found != 7) return "it lacks 'descr', 'fortran_order' or 'shape'";
  return NULL;
}

/* One float32 or float64 (itemsize 4 or 8) of a .npy file as a double, bytes swapped when the file's order is not the machine's. */
static double DecodeNPYValue(const unsigned char *bytes, size_t itemsize, PetscBool swap)
{
  unsigned char b[8];
  double        d;
  float         f;

  for (size_t k = 0; k < itemsize; k++) b[k] = swap ? bytes[itemsize - 1 - k] : bytes[k];
  if (itemsize == 8) {
    memcpy(&d, b, 8);
    return d;
  }
  memcpy(&f, b, 4);
  return f;
}

/* Rank 0: a NumPy .npy file (format 1.0, 2.0 or 3.0) of float32 or float64 in either byte order, C or Fortran order, shape (n,) or (n, dim). */
static PetscErrorCode ReadParticlesNPY(const char path[], PetscInt expected_dim, GFParticleFileInfo *info, PetscReal **x, FileProblem *p)
{
  FILE              *f = fopen(path, "rb");
  unsigned char      preamble[12];
  char              *header = NULL, descr[32] = "";
  const char        *wrong;
  size_t             header_len, data_offset, n, dim, itemsize, bytes;
  unsigned long long shape[8];
  int                ndim          = 0;
  PetscBool          fortran_order = PETSC_FALSE, swap;
  struct stat        st;
  const uint16_t     one = 1;

  PetscFunctionBeginUser;
  if (!f) {
    Fail(p, PETSC_ERR_FILE_OPEN, "particle file %s: no such readable file (%s)", path, strerror(errno));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (fstat(fileno(f), &st) || fread(preamble, 1, 10, f) != 10 || memcmp(preamble, "\x93NUMPY", 6))
    Fail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: not a NumPy .npy file (no \\x93NUMPY magic)", path);
  else if ((preamble[6] < 1 || preamble[6] > 3) || preamble[7] != 0)
    Fail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: NPY format version %d.%d is not supported (1.0, 2.0 and 3.0 are)", path, preamble[6], preamble[7]);
  else if (preamble[6] > 1 && fread(preamble + 10, 1, 2, f) != 2)
    Fail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: bad NPY header: the file ends inside it", path);
  if (p->code) {
    fclose(f);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (preamble[6] == 1) {
    header_len  = (size_t)preamble[8] | (size_t)preamble[9] << 8;
    data_offset = 10 + header_len;
  } else {
    header_len  = (size_t)preamble[8] | (size_t)preamble[9] << 8 | (size_t)preamble[10] << 16 | (size_t)preamble[11] << 24;
    data_offset = 12 + header_len;
  }
  if (data_offset > (size_t)st.st_size)
    Fail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: bad NPY header: the file ends inside it (it claims %zu bytes)", path, header_len);
  else {
    PetscCall(PetscMalloc1(header_len + 1, &header));
    if (fread(header, 1, header_len, f) != header_len) Fail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: bad NPY header: cannot read it", path);
    header[header_len] = 0;
  }
  if (!p->code && (wrong = ParseNPYHeader(header, descr, sizeof(descr), &fortran_order, &ndim, shape, 8))) Fail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: bad NPY header: %s", path, wrong);
  PetscCall(PetscFree(header));
  if (!p->code && strcmp(descr, "<f8") && strcmp(descr, ">f8") && strcmp(descr, "<f4") && strcmp(descr, ">f4"))
    Fail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: NPY dtype '%s' is not supported: positions must be float64 or float32 ('<f8', '>f8', '<f4' or '>f4')", path, descr);
  if (!p->code && ndim != 1 && ndim != 2) Fail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: NPY shape has %d dimensions: expected (n,) or (n, dim)", path, ndim);
  if (p->code || !CheckShape(path, (size_t)shape[0], ndim == 2 ? (size_t)shape[1] : 1, expected_dim, p)) {
    fclose(f);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  n        = (size_t)shape[0];
  dim      = ndim == 2 ? (size_t)shape[1] : 1;
  itemsize = descr[2] == '8' ? 8 : 4;
  bytes    = n * dim * itemsize;
  swap     = (descr[0] == '<') != (*(const unsigned char *)&one == 1) ? PETSC_TRUE : PETSC_FALSE;
  if ((size_t)st.st_size - data_offset < bytes)
    Fail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: truncated: shape (%zu, %zu) of '%s' needs %zu bytes of data, the file has %zu", path, n, dim, descr, bytes, (size_t)st.st_size - data_offset);
  else if ((size_t)st.st_size - data_offset > bytes)
    Fail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: has %zu bytes of data, but shape (%zu, %zu) of '%s' needs %zu", path, (size_t)st.st_size - data_offset, n, dim, descr, bytes);
  else {
    unsigned char *raw;

    /* float64 in C order decodes in place, element by element; everything else through a copy of the bytes */
    PetscCall(PetscMalloc1(n * dim, x));
    if (itemsize == 8 && !fortran_order)
      raw = (unsigned char *)*x;
    else
      PetscCall(PetscMalloc1(bytes, &raw));
    if (fread(raw, 1, bytes, f) != bytes)
      Fail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: truncated: cannot read its %zu bytes of data", path, bytes);
    else
      for (size_t i = 0; i < n; i++)
        for (size_t d = 0; d < dim; d++) (*x)[i * dim + d] = DecodeNPYValue(raw + itemsize * (fortran_order ? d * n + i : i * dim + d), itemsize, swap);
    if (raw != (unsigned char *)*x) PetscCall(PetscFree(raw));
    info->n   = (PetscInt)n;
    info->dim = (PetscInt)dim;
  }
  fclose(f);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0: read path by its extension and check it; on a problem *x is freed. */
static PetscErrorCode ReadParticles(const char path[], const char dataset[], PetscInt expected_dim, GFParticleFileInfo *info, PetscReal **x, FileProblem *p)
{
  const char    *ext = Extension(path);
  struct stat    st;
  PetscErrorCode ierr = PETSC_SUCCESS;

  PetscFunctionBeginUser;
  if (stat(path, &st) || !S_ISREG(st.st_mode) || access(path, R_OK))
    Fail(p, PETSC_ERR_FILE_OPEN, "particle file %s: no such readable file%s", path, !stat(path, &st) && S_ISDIR(st.st_mode) ? " (it is a directory)" : "");
  else if (!strcasecmp(ext, ".h5") || !strcasecmp(ext, ".hdf5")) {
    H5E_BEGIN_TRY
    {
      ierr = ReadParticlesHDF5(path, dataset, expected_dim, info, x, p);
    }
    H5E_END_TRY;
    PetscCall(ierr);
  } else if (!strcasecmp(ext, ".csv") || !strcasecmp(ext, ".txt"))
    PetscCall(ReadParticlesText(path, expected_dim, info, x, p));
  else if (!strcasecmp(ext, ".npy"))
    PetscCall(ReadParticlesNPY(path, expected_dim, info, x, p));
  else
    Fail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: unknown format '%s': supported are .h5 and .hdf5 (HDF5), .csv and .txt (text, one particle per row) and .npy (NumPy)", path, ext);
  for (size_t k = 0; !p->code && k < (size_t)info->n * info->dim; k++)
    if (!isfinite((*x)[k])) FailNotFinite(p, path, k / info->dim, k % info->dim, (*x)[k], "");
  if (p->code) PetscCall(PetscFree(*x));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0 reads and checks the particle file, then every rank gets info and all n x dim positions. Collective. */
PetscErrorCode GFParticleFileRead(MPI_Comm comm, const char path[], const char dataset[], PetscInt expected_dim, GFParticleFileInfo *info, PetscReal **x)
{
  PetscMPIInt        rank;
  FileProblem        problem = {0, ""};
  GFParticleFileInfo found   = {"", 0, 0, NAN, -1, -1};
  PetscReal         *values  = NULL;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) PetscCall(ReadParticles(path, dataset, expected_dim, &found, &values, &problem));
  PetscCall(CheckCollective(comm, &problem));
  PetscCallMPI(MPI_Bcast(&found, (PetscMPIInt)sizeof(found), MPI_BYTE, 0, comm));
  if (rank != 0) PetscCall(PetscMalloc1((size_t)found.n * found.dim, &values));
  PetscCall(BcastReals(comm, (size_t)found.n * found.dim, values));
  *info = found;
  *x    = values;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The last unsigned decimal number (digits, an optional fraction, an optional exponent) of the base name without its extension. */
PetscBool GFParticleFileNameTime(const char path[], PetscReal *time)
{
  const char *base = strrchr(path, '/'), *end, *last = NULL;
  size_t      last_len = 0;
  char        number[64];

  base = base ? base + 1 : path;
  end  = Extension(base);
  for (const char *s = base; s < end;) {
    const char *start = s;
    if (!isdigit((unsigned char)*s)) {
      s++;
      continue;
    }
    while (s < end && isdigit((unsigned char)*s)) s++;
    if (s + 1 < end && *s == '.' && isdigit((unsigned char)s[1]))
      for (s++; s < end && isdigit((unsigned char)*s);) s++;
    if (s + 1 < end && (*s == 'e' || *s == 'E')) {
      const char *e = s + 1;
      if (e < end && (*e == '+' || *e == '-')) e++;
      if (e < end && isdigit((unsigned char)*e)) {
        while (e < end && isdigit((unsigned char)*e)) e++;
        s = e;
      }
    }
    last     = start;
    last_len = (size_t)(s - start);
  }
  if (!last || last_len >= sizeof(number)) return PETSC_FALSE;
  memcpy(number, last, last_len);
  number[last_len] = 0;
  if (time) *time = strtod(number, NULL);
  return PETSC_TRUE;
}

static PetscBool IsParticleExtension(const char name[])
{
  const char *ext = Extension(name);
  return !strcasecmp(ext, ".h5") || !strcasecmp(ext, ".hdf5") || !strcasecmp(ext, ".csv") || !strcasecmp(ext, ".txt") || !strcasecmp(ext, ".npy") ? PETSC_TRUE : PETSC_FALSE;
}

/* particles_NNNNN.h5, the name of a gradflow run's particle files. */
static PetscBool IsRunParticleFile(const char name[])
{
  const char *s = name + 10;

  if (strncmp(name, "particles_", 10) || !isdigit((unsigned char)*s)) return PETSC_FALSE;
  while (isdigit((unsigned char)*s)) s++;
  return strcmp(s, ".h5") ? PETSC_FALSE : PETSC_TRUE;
}

static int CompareNames(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A growing list of names. */
typedef struct {
  char   **names;
  PetscInt n, allocated;
} NameList;

static PetscErrorCode NameListAdd(NameList *l, const char name[])
{
  PetscFunctionBeginUser;
  if (l->n == l->allocated) {
    l->allocated = 2 * l->allocated + 16;
    PetscCall(PetscRealloc((size_t)l->allocated * sizeof(char *), &l->names));
  }
  PetscCall(PetscStrallocpy(name, &l->names[l->n++]));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0: the particle files of directory dir, joined with it and sorted by name: its particles_NNNNN.h5, else all its particle-format files. */
static PetscErrorCode ListDirectory(const char dir[], NameList *l, FileProblem *p)
{
  DIR           *d = opendir(dir);
  struct dirent *e;
  NameList       run = {NULL, 0, 0}, user = {NULL, 0, 0};
  const char    *sep = dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/";

  PetscFunctionBeginUser;
  if (!d) {
    Fail(p, PETSC_ERR_FILE_OPEN, "particle source %s: cannot read the directory: %s", dir, strerror(errno));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  while ((e = readdir(d))) {
    char        path[2 * PETSC_MAX_PATH_LEN];
    struct stat st;
    size_t      len = strlen(e->d_name);

    if (e->d_name[0] == '.' || (len >= 4 && !strcmp(e->d_name + len - 4, ".tmp")) || !IsParticleExtension(e->d_name)) continue;
    snprintf(path, sizeof(path), "%s%s%s", dir, sep, e->d_name);
    if (stat(path, &st) || !S_ISREG(st.st_mode)) continue;
    PetscCall(NameListAdd(IsRunParticleFile(e->d_name) ? &run : &user, path));
  }
  closedir(d);
  if (run.n) {
    *l = run;
    for (PetscInt i = 0; i < user.n; i++) PetscCall(PetscFree(user.names[i]));
    PetscCall(PetscFree(user.names));
  } else {
    *l = user;
    PetscCall(PetscFree(run.names));
  }
  if (l->n)
    qsort(l->names, (size_t)l->n, sizeof(char *), CompareNames);
  else
    Fail(p, PETSC_ERR_FILE_UNEXPECTED, "particle source: directory %s has no particle files (particles_NNNNN.h5, or .h5/.hdf5/.csv/.txt/.npy files)", dir);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0: the comma-separated files of source, in order, each trimmed of white space and required to exist. */
static PetscErrorCode ListCommaSeparated(const char source[], NameList *l, FileProblem *p)
{
  char *copy, *rest;

  PetscFunctionBeginUser;
  PetscCall(PetscStrallocpy(source, &copy));
  rest = copy;
  for (PetscInt entry = 1; rest && !p->code; entry++) {
    char       *item = rest, *comma = strchr(rest, ','), *last;
    struct stat st;

    if (comma) *comma = 0;
    rest = comma ? comma + 1 : NULL;
    while (isspace((unsigned char)*item)) item++;
    for (last = item + strlen(item); last > item && isspace((unsigned char)last[-1]);) *--last = 0;
    if (!*item)
      Fail(p, PETSC_ERR_USER_INPUT, "particle source %s: entry %d of the comma-separated list is empty", source, (int)entry);
    else if (stat(item, &st))
      Fail(p, PETSC_ERR_FILE_OPEN, "particle source %s: %s: no such file or directory", source, item);
    else
      PetscCall(NameListAdd(l, item));
  }
  PetscCall(PetscFree(copy));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The files of a particle source: a directory's particle files, an existing file, or a
  comma-separated list of files. Rank 0 looks and broadcasts the names. Collective.
*/
PetscErrorCode GFParticleSourceList(MPI_Comm comm, const char source[], PetscInt *nfiles, char ***files)
{
  PetscMPIInt rank;
  FileProblem problem  = {0, ""};
  NameList    list     = {NULL, 0, 0};
  long long   sizes[2] = {0, 0}; /* number of names, bytes of the names with their NULs */
  char       *packed   = NULL, *s;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    struct stat st;

    if (!stat(source, &st) && S_ISDIR(st.st_mode))
      PetscCall(ListDirectory(source, &list, &problem));
    else if (!stat(source, &st))
      PetscCall(NameListAdd(&list, source));
    else if (strchr(source, ','))
      PetscCall(ListCommaSeparated(source, &list, &problem));
    else
      Fail(&problem, PETSC_ERR_FILE_OPEN, "particle source %s: no such file or directory", source);
    if (!problem.code) {
      sizes[0] = list.n;
      for (PetscInt i = 0; i < list.n; i++) sizes[1] += (long long)strlen(list.names[i]) + 1;
      PetscCall(PetscMalloc1((size_t)sizes[1], &packed));
      s = packed;
      for (PetscInt i = 0; i < list.n; i++) s = stpcpy(s, list.names[i]) + 1;
    }
    for (PetscInt i = 0; i < list.n; i++) PetscCall(PetscFree(list.names[i]));
    PetscCall(PetscFree(list.names));
  }
  PetscCall(CheckCollective(comm, &problem));
  PetscCallMPI(MPI_Bcast(sizes, 2, MPI_LONG_LONG, 0, comm));
  PetscCheck(sizes[1] <= PETSC_MPI_INT_MAX, comm, PETSC_ERR_INT_OVERFLOW, "particle source %s: the list of its files is too long", source);
  if (rank != 0) PetscCall(PetscMalloc1((size_t)sizes[1], &packed));
  PetscCallMPI(MPI_Bcast(packed, (PetscMPIInt)sizes[1], MPI_CHAR, 0, comm));
  PetscCall(PetscMalloc1((size_t)sizes[0], files));
  s = packed;
  for (PetscInt i = 0; i < (PetscInt)sizes[0]; i++) {
    PetscCall(PetscStrallocpy(s, &(*files)[i]));
    s += strlen(s) + 1;
  }
  *nfiles = (PetscInt)sizes[0];
  PetscCall(PetscFree(packed));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFParticleSourceFree(PetscInt nfiles, char ***files)
{
  PetscFunctionBeginUser;
  if (!*files) PetscFunctionReturn(PETSC_SUCCESS);
  for (PetscInt i = 0; i < nfiles; i++) PetscCall(PetscFree((*files)[i]));
  PetscCall(PetscFree(*files));
  PetscFunctionReturn(PETSC_SUCCESS);
}
