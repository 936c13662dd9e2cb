/*
  Particle files: a gradflow run's DIR/particles_NNNNN.h5 (written here, collectively, with
  parallel HDF5) and the clouds a user brings to compare against a PDE run: HDF5 (.h5,
  .hdf5), text (.csv, .txt) and NumPy (.npy; both in particle_read.c). Rank 0 checks a file
  (an HDF5 file after GFHDF5Probe has read it in a child process) and broadcasts its shape or
  its error, so every failure is collective and reported once; then every rank reads its own
  rows (HDF5: collectively, through MPI-IO).
*/
#include "io.h"
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

/* Record the first problem only: the later ones are its consequences. */
PETSC_INTERN void GFFileFail(GFFileProblem *p, int code, const char format[], ...)
{
  va_list args;

  if (p->code) return;
  p->code = code;
  va_start(args, format);
  vsnprintf(p->msg, sizeof(p->msg), format, args);
  va_end(args);
}

/* Every rank fails together with rank 0's problem. */
PETSC_INTERN PetscErrorCode GFFileCheckCollective(MPI_Comm comm, GFFileProblem *p)
{
  PetscFunctionBeginUser;
  PetscCall(GFCheckRankZero(comm, p->code, p->msg));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* MPI_Bcast of count reals from rank root, in pieces that fit MPI's int counts. */
PETSC_INTERN PetscErrorCode GFBcastReals(MPI_Comm comm, PetscMPIInt root, size_t count, PetscReal x[])
{
  const size_t piece = (size_t)1 << 30;

  PetscFunctionBeginUser;
  for (size_t offset = 0; offset < count; offset += piece) PetscCallMPI(MPI_Bcast(x + offset, (PetscMPIInt)PetscMin(piece, count - offset), MPIU_REAL, root, comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The final extension of path's base name, dot included ("" when there is none). */
PETSC_INTERN const char *GFFileExtension(const char path[])
{
  const char *base = strrchr(path, '/'), *dot;

  base = base ? base + 1 : path;
  dot  = strrchr(base, '.');
  return dot ? dot : base + strlen(base);
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
  if (status >= 0) status = GFH5WriteAttribute(dset, "time", H5T_NATIVE_DOUBLE, 0, &time);
  if (status >= 0) status = GFH5WriteAttribute(dset, "step", H5T_NATIVE_INT64, 0, &step);
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
  if (status >= 0) status = GFH5WriteString(file, "model", a->model ? a->model : "");
  if (status >= 0) status = GFH5WriteAttribute(file, "dim", H5T_NATIVE_INT64, 0, &dim64);
  if (status >= 0) status = GFH5WriteAttribute(file, "n_particles", H5T_NATIVE_INT64, 0, &n64);
  if (status >= 0) status = GFH5WriteAttribute(file, "seed", H5T_NATIVE_INT64, 0, &seed);
  if (status >= 0) status = GFH5WriteAttribute(file, "domain_lower", H5T_NATIVE_DOUBLE, (hsize_t)dim, lower);
  if (status >= 0) status = GFH5WriteAttribute(file, "domain_upper", H5T_NATIVE_DOUBLE, (hsize_t)dim, upper);
  if (status >= 0) status = GFH5WriteString(file, "bc", GFBoundaries[g->bc]);
  if (status >= 0) status = GFH5WriteString(file, "options", a->options ? a->options : "");
  if (status >= 0) status = GFH5WriteString(file, "version", GFVersion);
  if (H5Fclose(file) < 0) status = -1;
  return status;
}

/*
  Write the n x dim particles (this rank's rows [start, start + nlocal) in x) and the run's
  attributes as the file tmp with parallel HDF5; on failure the file is removed. Collective.
*/
PETSC_INTERN PetscErrorCode GFParticleFileWriteAs(MPI_Comm comm, const char tmp[], PetscInt n, PetscInt dim, PetscInt start, PetscInt nlocal, const PetscReal x[], const GFParticleFileAttributes *attributes)
{
  GFFileProblem problem = {0, ""};
  PetscMPIInt   rank;
  int           bad, failed;
  herr_t        status;

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
      GFFileFail(&problem, PETSC_ERR_FILE_WRITE, "cannot write the particle file %s: %s", tmp, strerror(errno));
    else
      fclose(probe);
  }
  PetscCall(GFFileCheckCollective(comm, &problem));
  errno = 0;
  H5E_BEGIN_TRY
  {
    status = WriteParticleHDF5(comm, tmp, n, dim, start, nlocal, x, attributes);
  }
  H5E_END_TRY;
  failed = status < 0;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, comm));
  if (rank == 0 && failed) {
    GFFileFail(&problem, PETSC_ERR_FILE_WRITE, "cannot write the particle file %s: %s", tmp, errno ? strerror(errno) : "the HDF5 library failed");
    unlink(tmp);
  }
  PetscCall(GFFileCheckCollective(comm, &problem));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The particles as path.tmp, then renamed to path (see GFParticleFileWriteAs). Collective. */
PetscErrorCode GFParticleFileWrite(MPI_Comm comm, const char path[], PetscInt n, PetscInt dim, PetscInt start, PetscInt nlocal, const PetscReal x[], const GFParticleFileAttributes *attributes)
{
  char          tmp[PETSC_MAX_PATH_LEN + 8];
  GFFileProblem problem = {0, ""};
  PetscMPIInt   rank;

  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(tmp, sizeof(tmp), "%s.tmp", path));
  PetscCall(GFParticleFileWriteAs(comm, tmp, n, dim, start, nlocal, x, attributes));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0 && rename(tmp, path)) GFFileFail(&problem, PETSC_ERR_FILE_WRITE, "cannot rename the particle file %s to %s: %s", tmp, path, strerror(errno));
  PetscCall(GFFileCheckCollective(comm, &problem));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* No rows, too many rows for PetscInt or for memory (the rows shared by ranks ranks), the wrong dimension or more than three (expected_dim < 0: any number of columns, a data file): the shape checks every format shares. */
PETSC_INTERN PetscBool GFParticleCheckShape(const char path[], size_t n, size_t dim, PetscInt expected_dim, PetscMPIInt ranks, GFFileProblem *p)
{
  const size_t held = (n + (size_t)ranks - 1) / (size_t)ranks;

  if (n == 0)
    GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: has no particles (no rows)", path);
  else if (n > (size_t)PETSC_MAX_INT)
    GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: has %zu particles, more than a PetscInt of this PETSc build holds", path, n);
  else if (expected_dim > 0 && dim != (size_t)expected_dim)
    GFFileFail(p, PETSC_ERR_USER_INPUT, "particle file %s: has %zu columns (particles in %zuD), but the PDE run is %dD: the particles must live in the PDE's space", path, dim, dim, (int)expected_dim);
  else if (expected_dim == 0 && (dim < 1 || dim > 3))
    GFFileFail(p, PETSC_ERR_USER_INPUT, "particle file %s: has %zu columns, but particles live in 1, 2 or 3 dimensions", path, dim);
  else if ((double)held * (double)dim * sizeof(PetscReal) > 0.8 * GFMemoryAvailableLocal())
    GFFileFail(p, PETSC_ERR_USER_INPUT, "particle file %s: its %zu particles need %.3g GB on every rank, more than this machine has free (%.3g GB)", path, n, (double)held * (double)dim * sizeof(PetscReal) / 1e9, GFMemoryAvailableLocal() / 1e9);
  return p->code ? PETSC_FALSE : PETSC_TRUE;
}

/* The message for a NaN or infinite coordinate: row and column counted from 1, where (e.g. the line) appended. */
PETSC_INTERN void GFParticleFailNotFinite(GFFileProblem *p, const char path[], size_t row, size_t column, double value, const char where[])
{
  GFFileFail(p, PETSC_ERR_USER_INPUT, "particle file %s: row %zu, column %zu is %g: particle positions must be finite%s", path, row + 1, column + 1, value, where);
}

/* The time attribute of the dataset, else of the file: absent leaves info->time, anything but one finite number is an error. */
static void ReadTimeAttribute(hid_t dset, hid_t file, const char path[], const char name[], GFParticleFileInfo *info, GFFileProblem *p)
{
  const hid_t loc = H5Aexists(dset, "time") > 0 ? dset : file;
  double      time;

  if (H5Aexists(loc, "time") <= 0) return;
  if (!GFH5ReadScalar(loc, "time", H5T_NATIVE_DOUBLE, &time) || !isfinite(time))
    GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: the time attribute of %s%s is not one finite number (a damaged file)", path, loc == dset ? "dataset " : "the file", loc == dset ? name : "");
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
  Rank 0, HDF5 errors silenced: the shape of dataset (default "particles", [n] or [n][dim],
  numeric, written whole) and the time, step, model and seed of the file when it has them, all
  checked, its values not read yet (GFParticleReadHDF5Rows); the file read first in a child
  process (GFHDF5Probe), so that damage that crashes or hangs the HDF5 library becomes an error.
  ranks: how many ranks will share the rows (the memory check).
*/
PETSC_INTERN PetscErrorCode GFParticleReadHDF5Header(const char path[], const char dataset[], PetscInt expected_dim, PetscMPIInt ranks, GFParticleFileInfo *info, GFFileProblem *p)
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
    GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: not an HDF5 file", path);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if ((code = GFHDF5Probe(path, "particle file", p->msg, sizeof(p->msg)))) {
    p->code = code;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if ((file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
    GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: HDF5 cannot open it (a truncated or damaged file?)", path);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if ((dset = H5Dopen2(file, name, H5P_DEFAULT)) < 0) {
    char        list[1024] = "";
    DatasetList found      = {list, sizeof(list), 0};
    H5Lvisit(file, H5_INDEX_NAME, H5_ITER_INC, AppendDataset, &found);
    GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: no dataset %s (%s%s)", path, name, found.count ? "the file has " : "the file has no datasets", list);
    H5Fclose(file);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  space = H5Dget_space(dset);
  type  = H5Dget_type(dset);
  kind  = H5Tget_class(type);
  rank  = H5Sget_simple_extent_ndims(space);
  if (kind != H5T_INTEGER && kind != H5T_FLOAT)
    GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: dataset %s is not numeric", path, name);
  else if (rank != 1 && rank != 2)
    GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: dataset %s has %d dimensions: expected [n] or [n][dim]", path, name, rank);
  else if (H5Sget_simple_extent_dims(space, dims, NULL) < 0)
    GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: HDF5 cannot read the shape of dataset %s", path, name);
  else if (GFParticleCheckShape(path, (size_t)dims[0], rank == 2 ? (size_t)dims[1] : 1, expected_dim, ranks, p)) {
    if (H5Dget_space_status(dset, &allocation) < 0 || allocation != H5D_SPACE_STATUS_ALLOCATED)
      GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: dataset %s has %s of its values written (a damaged or incomplete file)", path, name, allocation == H5D_SPACE_STATUS_PART_ALLOCATED ? "only some" : "none");
    else {
      info->n   = (PetscInt)dims[0];
      info->dim = rank == 2 ? (PetscInt)dims[1] : 1;
    }
  }
  ReadTimeAttribute(dset, file, path, name, info, p);
  if (GFH5ReadScalar(dset, "step", H5T_NATIVE_INT64, &step) || GFH5ReadScalar(file, "step", H5T_NATIVE_INT64, &step)) info->step = (PetscInt)step;
  if (GFH5ReadScalar(file, "seed", H5T_NATIVE_INT64, &seed)) info->seed = seed;
  GFH5ReadString(file, "model", info->model, sizeof(info->model));
  H5Tclose(type);
  H5Sclose(space);
  H5Dclose(dset);
  H5Fclose(file);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Every rank of comm its rows [start, start + count) of the [n][dim] dataset (checked by GFParticleReadHDF5Header) as doubles, collectively through the MPI-IO driver; a negative status when HDF5 fails (on any rank). Collective. */
PETSC_INTERN herr_t GFParticleReadHDF5Rows(MPI_Comm comm, const char path[], const char dataset[], PetscInt dim, PetscInt start, PetscInt count, PetscReal x[])
{
  const char *name = dataset && dataset[0] ? dataset : "particles";
  hid_t       fapl = H5Pcreate(H5P_FILE_ACCESS), file = -1, dset = -1, filespace = -1, memspace = -1, dxpl = -1;
  hsize_t     offset[2] = {(hsize_t)start, 0}, rows[2] = {(hsize_t)count, (hsize_t)dim}, one[2] = {1, (hsize_t)dim};
  herr_t      status = -1;
  int         ok;
  double      dummy;

  H5E_BEGIN_TRY
  {
    if (fapl >= 0 && H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL) >= 0) file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    if (file >= 0) dset = H5Dopen2(file, name, H5P_DEFAULT);
    if (dset >= 0) filespace = H5Dget_space(dset);
    if (filespace >= 0) {
      const int ndims = H5Sget_simple_extent_ndims(filespace);
      memspace        = H5Screate_simple(ndims, count ? rows : one, NULL);
      if (memspace >= 0) status = count ? H5Sselect_hyperslab(filespace, H5S_SELECT_SET, offset, NULL, rows, NULL) : (H5Sselect_none(filespace) < 0 || H5Sselect_none(memspace) < 0 ? -1 : 0);
    }
    if (status >= 0) {
      dxpl   = H5Pcreate(H5P_DATASET_XFER);
      status = dxpl < 0 || H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE) < 0 ? -1 : 0;
    }
    if (status >= 0) status = H5Dread(dset, H5T_NATIVE_DOUBLE, memspace, filespace, dxpl, count ? x : &dummy);
    if (dxpl >= 0) H5Pclose(dxpl);
    if (memspace >= 0) H5Sclose(memspace);
    if (filespace >= 0) H5Sclose(filespace);
    if (dset >= 0) H5Dclose(dset);
    if (file >= 0) H5Fclose(file);
    if (fapl >= 0) H5Pclose(fapl);
  }
  H5E_END_TRY;
  ok = status >= 0;
  if (MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_LAND, comm) != MPI_SUCCESS) return -1;
  return ok ? 0 : -1;
}
