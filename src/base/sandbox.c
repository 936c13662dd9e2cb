/*
  Work that may crash or hang, run in a child process. HDF5 1.10 trusts the metadata of
  a file: eight bytes of 0xFF in a snapshot's object header make H5Fopen dereference
  garbage (h5py crashes on the same file), and no check of the signature, the size or
  the superblock fields catches damage that deep. So before gradflow reads an HDF5 file
  it reads it once in a forked child, every object, attribute and dataset element: a
  crash or a hang there becomes a clear error here, and what the child survived the
  parent can read. A dataset not all written is not read (the file holds none of its fill
  values), and a file with an external link is refused (the child reads this file, not the
  one the link leads to). The child calls no MPI and exits with _exit; it gets the default
  signal actions (never PETSc's handler, which would abort the MPI job) and a time limit.
  -file_sandbox 0 (or GRADFLOW_NO_SANDBOX=1) turns this off on systems where fork is
  unsafe for the MPI library.
*/
#include "base.h"
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <math.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* fn(ctx, result) in a child with a time limit of seconds; result (size bytes) comes back through a pipe; *status the exit code or signal. */
PETSC_INTERN GFSandboxOutcome GFSandboxRun(int (*fn)(void *, void *), void *ctx, void *result, size_t size, double seconds, int *status)
{
  const int signals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGSYS, SIGTRAP, SIGALRM, SIGXCPU, SIGPIPE};
  int       fds[2], wstatus = 0;
  size_t    got = 0;
  pid_t     pid;

  *status = 0;
  if (getenv("GRADFLOW_NO_SANDBOX") && strcmp(getenv("GRADFLOW_NO_SANDBOX"), "0")) return GF_SANDBOX_UNAVAILABLE;
  if (pipe(fds)) return GF_SANDBOX_UNAVAILABLE;
  fflush(stdout);
  fflush(stderr);
  pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return GF_SANDBOX_UNAVAILABLE;
  }
  if (pid == 0) {
    const int quiet = open("/dev/null", O_WRONLY);
    int       code;
    size_t    sent = 0;

    close(fds[0]);
    for (size_t k = 0; k < sizeof(signals) / sizeof(signals[0]); k++) signal(signals[k], SIG_DFL);
    if (quiet >= 0) {
      dup2(quiet, STDOUT_FILENO);
      dup2(quiet, STDERR_FILENO);
    }
    alarm((unsigned)ceil(seconds));
    code = fn(ctx, result);
    while (sent < size) {
      const ssize_t n = write(fds[1], (const char *)result + sent, size - sent);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) _exit(125);
      sent += (size_t)n;
    }
    _exit(code & 0x7f);
  }
  close(fds[1]);
  while (got < size) {
    const ssize_t n = read(fds[0], (char *)result + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fds[0]);
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {}
  if (WIFSIGNALED(wstatus)) {
    *status = WTERMSIG(wstatus);
    return *status == SIGALRM ? GF_SANDBOX_TIMEOUT : GF_SANDBOX_CRASHED;
  }
  *status = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
  if (*status || got != size) return GF_SANDBOX_FAILED;
  return GF_SANDBOX_OK;
}

#define GF_PROBE_LINK_LEN 256

typedef struct {
  const char *path;
  int         errors; /* HDF5 calls that failed: the parent's reading reports them properly */
} ProbeContext;

/*
  Read every element of a dataset as its native type into a scratch buffer, in pieces of at
  most 2^20 elements; a dataset not all written (unallocated chunks, fill values only) is
  not read: the file holds nothing of it to damage, and gradflow's readers refuse it.
*/
static void ProbeDataset(hid_t dset, ProbeContext *c)
{
  hid_t              space = H5Dget_space(dset), type = H5Dget_type(dset), native = -1;
  int                rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
  hsize_t            dims[H5S_MAX_RANK], row = 1;
  size_t             item;
  void              *buffer     = NULL;
  H5D_space_status_t allocation = H5D_SPACE_STATUS_ERROR;

  if (H5Dget_space_status(dset, &allocation) < 0 || allocation != H5D_SPACE_STATUS_ALLOCATED) {
    if (allocation == H5D_SPACE_STATUS_ERROR) c->errors++;
  } else if (space < 0 || type < 0 || rank < 0 || H5Sget_simple_extent_dims(space, dims, NULL) < 0 || (native = H5Tget_native_type(type, H5T_DIR_ASCEND)) < 0 || H5Tis_variable_str(type) > 0 || H5Tdetect_class(type, H5T_VLEN) > 0) {
    c->errors++;
  } else if (rank == 0) {
    item   = H5Tget_size(native);
    buffer = malloc(item ? item : 1);
    if (!buffer || H5Dread(dset, native, H5S_ALL, H5S_ALL, H5P_DEFAULT, buffer) < 0) c->errors++;
  } else {
    for (int d = 1; d < rank; d++) row *= dims[d];
    item = H5Tget_size(native);
    if (item && row && row * item <= ((size_t)1 << 30)) {
      const hsize_t rows_per_piece = PetscMax((hsize_t)1, ((hsize_t)1 << 20) / row);
      const int     errors         = c->errors;
      buffer                       = malloc((size_t)(rows_per_piece * row * item));
      for (hsize_t start = 0; buffer && start < dims[0] && c->errors == errors; start += rows_per_piece) {
        hsize_t offset[H5S_MAX_RANK] = {0}, count[H5S_MAX_RANK];
        hid_t   memspace;
        for (int d = 0; d < rank; d++) count[d] = dims[d];
        offset[0] = start;
        count[0]  = PetscMin(rows_per_piece, dims[0] - start);
        memspace  = H5Screate_simple(rank, count, NULL);
        if (memspace < 0 || H5Sselect_hyperslab(space, H5S_SELECT_SET, offset, NULL, count, NULL) < 0 || H5Dread(dset, native, memspace, space, H5P_DEFAULT, buffer) < 0) c->errors++;
        if (memspace >= 0) H5Sclose(memspace);
      }
    } else if (row)
      c->errors++;
  }
  free(buffer);
  if (native >= 0) H5Tclose(native);
  if (type >= 0) H5Tclose(type);
  if (space >= 0) H5Sclose(space);
}

static herr_t ProbeAttribute(hid_t loc, const char name[], const H5A_info_t *info, void *ctx)
{
  ProbeContext *c    = (ProbeContext *)ctx;
  hid_t         attr = H5Aopen(loc, name, H5P_DEFAULT), type = -1, space = -1, native = -1;
  hssize_t      n;
  void         *buffer = NULL;

  (void)info;
  if (attr < 0 || (type = H5Aget_type(attr)) < 0 || (space = H5Aget_space(attr)) < 0 || (n = H5Sget_simple_extent_npoints(space)) < 0 || (native = H5Tget_native_type(type, H5T_DIR_ASCEND)) < 0)
    c->errors++;
  else if (H5Tis_variable_str(type) <= 0 && H5Tdetect_class(type, H5T_VLEN) <= 0 && (size_t)n * H5Tget_size(native) <= ((size_t)1 << 28)) {
    buffer = malloc((size_t)n * H5Tget_size(native) + 1);
    if (!buffer || H5Aread(attr, native, buffer) < 0) c->errors++;
  }
  free(buffer);
  if (native >= 0) H5Tclose(native);
  if (space >= 0) H5Sclose(space);
  if (type >= 0) H5Tclose(type);
  if (attr >= 0) H5Aclose(attr);
  return 0;
}

static herr_t ProbeObject(hid_t root, const char name[], const H5O_info_t *info, void *ctx)
{
  ProbeContext *c = (ProbeContext *)ctx;
  hid_t         obj;

  if ((obj = H5Oopen(root, name, H5P_DEFAULT)) < 0) {
    c->errors++;
    return 0;
  }
  if (H5Aiterate2(obj, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, ProbeAttribute, c) < 0) c->errors++;
  if (info->type == H5O_TYPE_DATASET) ProbeDataset(obj, c);
  H5Oclose(obj);
  return 0;
}

/* The first link that leaves the file (external or user-defined) into result (GF_PROBE_LINK_LEN characters); the probe reads this file only. */
static herr_t ProbeLink(hid_t group, const char name[], const H5L_info_t *info, void *result)
{
  char *link = (char *)result;

  (void)group;
  if (info->type != H5L_TYPE_HARD && info->type != H5L_TYPE_SOFT && !link[0]) snprintf(link, GF_PROBE_LINK_LEN, "/%s", name);
  return 0;
}

/* The child's work: open the file and touch everything in it; result: the path of a link to another file, or "". */
static int ProbeFile(void *ctx, void *result)
{
  ProbeContext *c = (ProbeContext *)ctx;
  hid_t         file;

  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  file = H5Fopen(c->path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0) return 1;
  if (H5Lvisit(file, H5_INDEX_NAME, H5_ITER_NATIVE, ProbeLink, result) < 0) c->errors++;
  if (H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_NATIVE, ProbeObject, c, H5O_INFO_BASIC) < 0) c->errors++;
  H5Fclose(file);
  return c->errors ? 1 : 0;
}

/*
  Read all of an HDF5 file in a child process first. Returns 0 when the child survived
  (whether or not HDF5 reported errors: the caller's own reading reports those), or a
  PETSc error code with msg ("what: ...") when HDF5 crashed or hung on it, or when the file
  links to another file (an external link: what the parent would read there was never
  probed). Rank-local.
*/
PETSC_INTERN int GFHDF5Probe(const char path[], const char what[], char msg[], size_t len)
{
  ProbeContext     c = {path, 0};
  struct stat      st;
  char             link[GF_PROBE_LINK_LEN] = "";
  int              status;
  double           seconds = 20;
  GFSandboxOutcome outcome;

  if (!stat(path, &st)) seconds += (double)st.st_size / 20e6;
  outcome = GFSandboxRun(ProbeFile, &c, link, sizeof(link), seconds, &status);
  if (outcome == GF_SANDBOX_CRASHED) {
    snprintf(msg, len, "%s %s: the HDF5 library crashes reading this file (signal %d): it is damaged", what, path, status);
    return PETSC_ERR_FILE_UNEXPECTED;
  }
  if (outcome == GF_SANDBOX_TIMEOUT) {
    snprintf(msg, len, "%s %s: the HDF5 library did not finish reading this file in %.0f s: it is damaged", what, path, seconds);
    return PETSC_ERR_FILE_UNEXPECTED;
  }
  link[sizeof(link) - 1] = 0;
  if (link[0]) {
    snprintf(msg, len, "%s %s: %s is a link to another file (an external link); gradflow reads self-contained HDF5 files only", what, path, link);
    return PETSC_ERR_FILE_UNEXPECTED;
  }
  return 0;
}
