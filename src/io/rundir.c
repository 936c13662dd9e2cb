/*
  GFRunDirectory: an output directory changed as a transaction. Opening it only looks:
  a directory holding results of another run is refused unless -output_overwrite, and
  it must be writable. Every file is written under a temporary name (NAME.tmp); until
  the command commits, finished files wait under that name and nothing of the old run
  is touched. The commit (a PDE run's first accepted step, a comparison's finished
  table) removes the old run's files and renames the waiting ones into place; a command
  that fails before it leaves the directory as it found it (new temporary files removed,
  a directory it created removed again). A file written after the commit is renamed into
  place as soon as it is complete. Rank 0 owns the file system; every failure is
  collective, with the reason.
*/
#include "io.h"
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#define GF_RUNDIR_MAX_PENDING 8

struct _p_GFRunDirectory {
  MPI_Comm     comm;
  char         dir[PETSC_MAX_PATH_LEN];
  GFFileRoleFn role;
  void        *role_ctx;
  PetscBool    committed;
  PetscBool    has_old;                                     /* the directory held results of an earlier run of this kind when opened */
  char         pending[GF_RUNDIR_MAX_PENDING][GF_NAME_LEN]; /* finished files waiting under NAME.tmp for the commit */
  PetscInt     npending;
  char         created[PETSC_MAX_PATH_LEN]; /* the topmost directory this run created, "" if none */
};

/* mkdir -p; the topmost directory created goes to created ("" when none was). */
static int MakeDirectories(const char path[], char created[], size_t len)
{
  char tmp[PETSC_MAX_PATH_LEN];

  created[0] = 0;
  if (strlen(path) >= sizeof(tmp)) return ENAMETOOLONG;
  strcpy(tmp, path);
  for (char *p = tmp + 1;; p++) {
    const char c = *p;
    if (c && c != '/') continue;
    *p = 0;
    if (!mkdir(tmp, 0775)) {
      if (!created[0]) snprintf(created, len, "%s", tmp);
    } else if (errno != EEXIST)
      return errno;
    else {
      struct stat st;
      if (stat(tmp, &st) || !S_ISDIR(st.st_mode)) return ENOTDIR;
    }
    *p = c;
    if (!c) break;
  }
  return 0;
}

/* The length of NAME in NAME-JOB-PID.lock, the lock file Open MPI's MPI-IO leaves beside a file it had open when killed; 0 for other names. */
static size_t LockBase(const char name[])
{
  size_t n = strlen(name);

  if (n < 5 || strcmp(name + n - 5, ".lock")) return 0;
  n -= 5;
  for (int field = 0; field < 2; field++) {
    const size_t end = n;
    while (n > 0 && name[n - 1] >= '0' && name[n - 1] <= '9') n--;
    if (n == end || n < 2 || name[n - 1] != '-') return 0;
    n--;
  }
  return n;
}

/*
  The length of the base of a temporary file NAME.tmp, or of the files the MPI-IO library
  makes beside a file and leaves when killed (NAME.tmp.locktest.0, NAME.tmp-JOB-PID.lock,
  NAME-JOB-PID.lock for a file being read); 0 for other names.
*/
static size_t ScratchBase(const char name[])
{
  const char *tmp = strstr(name, ".tmp");

  while (tmp && tmp[4] && tmp[4] != '.' && tmp[4] != '-') tmp = strstr(tmp + 1, ".tmp");
  return tmp && tmp > name ? (size_t)(tmp - name) : LockBase(name);
}

/* The role of a directory entry: hidden files are left alone, temporary files of the run's own kind replaced, others judged by role(). */
static GFFileRole EntryRole(GFRunDirectory rd, const char name[])
{
  char         base[GF_NAME_LEN + 8];
  const size_t n = ScratchBase(name);

  if (name[0] == '.') return GF_FILE_COMPANION;
  if (n) {
    snprintf(base, sizeof(base), "%.*s", (int)PetscMin(n, sizeof(base) - 1), name);
    return rd->role(base, rd->role_ctx) == GF_FILE_FOREIGN ? GF_FILE_COMPANION : GF_FILE_REPLACE;
  }
  return rd->role(name, rd->role_ctx);
}

/*
  Look at dir without changing anything of what is in it: refuse it when it holds old
  results (role GF_FILE_OLD or GF_FILE_FOREIGN) and overwrite is false, create it when
  missing, and prove it writable with a probe file. Collective.
*/
PETSC_INTERN PetscErrorCode GFRunDirectoryCreate(MPI_Comm comm, const char dir[], PetscBool overwrite, GFFileRoleFn role, void *role_ctx, GFRunDirectory *rundir)
{
  GFRunDirectory rd;
  PetscMPIInt    rank;
  int            code                          = 0;
  char           msg[PETSC_MAX_PATH_LEN + 256] = "";

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&rd));
  rd->comm     = comm;
  rd->role     = role;
  rd->role_ctx = role_ctx;
  PetscCall(PetscStrncpy(rd->dir, dir, sizeof(rd->dir)));
  PetscCheck(dir[0], comm, PETSC_ERR_USER_INPUT, "-output_dir: an empty directory name");
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) {
    DIR *d = opendir(dir);
    if (d) {
      struct dirent *e;
      char           example[GF_NAME_LEN + 1] = "";
      PetscInt       old                      = 0;
      while ((e = readdir(d))) {
        const GFFileRole r = EntryRole(rd, e->d_name);
        if (r == GF_FILE_OLD || r == GF_FILE_FOREIGN) {
          if (!old++) snprintf(example, sizeof(example), "%.*s", GF_NAME_LEN, e->d_name);
        }
      }
      closedir(d);
      rd->has_old = (PetscBool)(old > 0);
      if (old && !overwrite) {
        code = PETSC_ERR_USER_INPUT;
        snprintf(msg, sizeof(msg), "-output_dir %s: the directory exists and holds other results; add -output_overwrite to replace them, or choose another -output_dir (it holds %s%s)", dir, example, old > 1 ? ", ..." : "");
      }
    }
    if (!code) {
      const int err = MakeDirectories(dir, rd->created, sizeof(rd->created));
      if (err) {
        code = PETSC_ERR_FILE_WRITE;
        snprintf(msg, sizeof(msg), "-output_dir %s: cannot create the directory: %s", dir, strerror(err));
      }
    }
    if (!code) {
      char  probe[PETSC_MAX_PATH_LEN + 32];
      FILE *f;
      snprintf(probe, sizeof(probe), "%s/.gradflow_write_probe", dir);
      f = fopen(probe, "w");
      if (!f || fputs("probe\n", f) < 0 || fclose(f)) {
        code = PETSC_ERR_FILE_WRITE;
        snprintf(msg, sizeof(msg), "-output_dir %s: the directory is not writable: %s", dir, strerror(errno));
      }
      unlink(probe);
    }
  }
  {
    PetscErrorCode ierr = GFCheckRankZero(comm, code, msg);
    if (ierr) {
      PetscCall(PetscFree(rd));
      PetscCall(ierr);
    }
  }
  PetscCallMPI(MPI_Bcast(&rd->has_old, 1, MPIU_BOOL, 0, comm));
  *rundir = rd;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* DIR/NAME, and DIR/NAME.tmp where NAME is written. */
PETSC_INTERN PetscErrorCode GFRunDirectoryPaths(GFRunDirectory rd, const char name[], char path[], char tmp[], size_t len)
{
  PetscFunctionBeginUser;
  if (path) PetscCall(PetscSNPrintf(path, len, "%s/%s", rd->dir, name));
  if (tmp) PetscCall(PetscSNPrintf(tmp, len, "%s/%s.tmp", rd->dir, name));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0: rename DIR/NAME.tmp to DIR/NAME; 0 or the errno. */
static int Publish(GFRunDirectory rd, const char name[])
{
  char path[PETSC_MAX_PATH_LEN + GF_NAME_LEN + 8], tmp[PETSC_MAX_PATH_LEN + GF_NAME_LEN + 8];

  snprintf(path, sizeof(path), "%s/%s", rd->dir, name);
  snprintf(tmp, sizeof(tmp), "%s/%s.tmp", rd->dir, name);
  return rename(tmp, path) ? errno : 0;
}

/*
  NAME.tmp is complete (or, for a file written as it goes, opened): after the commit it is
  renamed into place now, before it waits for the commit. Collective.
*/
PETSC_INTERN PetscErrorCode GFRunDirectoryFinish(GFRunDirectory rd, const char name[])
{
  PetscMPIInt rank;
  int         code                          = 0;
  char        msg[PETSC_MAX_PATH_LEN + 256] = "";

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(rd->comm, &rank));
  if (rd->committed) {
    if (rank == 0) {
      const int err = Publish(rd, name);
      if (err) {
        code = PETSC_ERR_FILE_WRITE;
        snprintf(msg, sizeof(msg), "cannot rename %s/%s.tmp into place: %s", rd->dir, name, strerror(err));
      }
    }
    PetscCall(GFCheckRankZero(rd->comm, code, msg));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  for (PetscInt k = 0; k < rd->npending; k++)
    if (!strcmp(rd->pending[k], name)) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCheck(rd->npending < GF_RUNDIR_MAX_PENDING, rd->comm, PETSC_ERR_PLIB, "too many files wait for the commit of %s", rd->dir);
  PetscCall(PetscStrncpy(rd->pending[rd->npending++], name, GF_NAME_LEN));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Open DIR/NAME.tmp with fopen's mode on rank 0 (*f NULL elsewhere); a failure is collective, with the reason. */
PETSC_INTERN PetscErrorCode GFRunDirectoryOpen(GFRunDirectory rd, const char name[], const char mode[], FILE **f)
{
  PetscMPIInt rank;
  char        tmp[PETSC_MAX_PATH_LEN + GF_NAME_LEN + 8], msg[2 * PETSC_MAX_PATH_LEN + 128] = "";
  int         code = 0;

  PetscFunctionBeginUser;
  *f = NULL;
  PetscCallMPI(MPI_Comm_rank(rd->comm, &rank));
  if (rank == 0) {
    snprintf(tmp, sizeof(tmp), "%s/%s.tmp", rd->dir, name);
    if (!(*f = fopen(tmp, mode))) {
      code = PETSC_ERR_FILE_WRITE;
      snprintf(msg, sizeof(msg), "cannot open %s for writing: %s", tmp, strerror(errno));
    }
  }
  PetscCall(GFCheckRankZero(rd->comm, code, msg));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Close a file of GFRunDirectoryOpen and hand it to the commit (or into place, after it); a failed write or close is collective, the temporary file removed. */
PETSC_INTERN PetscErrorCode GFRunDirectoryClose(GFRunDirectory rd, const char name[], FILE **f)
{
  PetscMPIInt rank;
  char        msg[2 * PETSC_MAX_PATH_LEN + 128] = "";
  int         code                              = 0;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(rd->comm, &rank));
  if (rank == 0 && *f) {
    const int failed = ferror(*f);
    if ((fclose(*f) | failed)) {
      char tmp[PETSC_MAX_PATH_LEN + GF_NAME_LEN + 8];
      snprintf(tmp, sizeof(tmp), "%s/%s.tmp", rd->dir, name);
      code = PETSC_ERR_FILE_WRITE;
      snprintf(msg, sizeof(msg), "cannot write %s: %s", tmp, strerror(errno ? errno : EIO));
      unlink(tmp);
    }
  }
  *f = NULL;
  PetscCall(GFCheckRankZero(rd->comm, code, msg));
  PetscCall(GFRunDirectoryFinish(rd, name));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Whether the run was committed, and whether the directory held an earlier run of this kind when it was opened. */
PETSC_INTERN PetscErrorCode GFRunDirectoryGetState(GFRunDirectory rd, PetscBool *committed, PetscBool *has_old)
{
  PetscFunctionBeginUser;
  if (committed) *committed = rd->committed;
  if (has_old) *has_old = rd->has_old;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The new run is good: rename the waiting files into place (replacing old files of the same
  names atomically), then remove what is left of the old run (roles OLD and REPLACE). A
  kill in between leaves new and old files side by side, never neither. Collective.
*/
PETSC_INTERN PetscErrorCode GFRunDirectoryCommit(GFRunDirectory rd)
{
  PetscMPIInt rank;
  int         code                              = 0;
  char        msg[2 * PETSC_MAX_PATH_LEN + 320] = "";

  PetscFunctionBeginUser;
  if (rd->committed) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCallMPI(MPI_Comm_rank(rd->comm, &rank));
  if (rank == 0) {
    DIR *d;
    for (PetscInt k = 0; k < rd->npending && !code; k++) {
      const int err = Publish(rd, rd->pending[k]);
      if (err) {
        code = PETSC_ERR_FILE_WRITE;
        snprintf(msg, sizeof(msg), "cannot rename %s/%s.tmp into place: %s", rd->dir, rd->pending[k], strerror(err));
      }
    }
    d = code ? NULL : opendir(rd->dir);
    if (!code && !d) {
      code = PETSC_ERR_FILE_WRITE;
      snprintf(msg, sizeof(msg), "cannot read %s: %s", rd->dir, strerror(errno));
    }
    for (struct dirent *e; d && !code && (e = readdir(d));) {
      const GFFileRole r      = EntryRole(rd, e->d_name);
      PetscBool        placed = PETSC_FALSE;
      char             path[PETSC_MAX_PATH_LEN + 260];
      for (PetscInt k = 0; k < rd->npending; k++) placed = (PetscBool)(placed || !strcmp(e->d_name, rd->pending[k]));
      if (placed || (r != GF_FILE_OLD && r != GF_FILE_REPLACE)) continue;
      snprintf(path, sizeof(path), "%s/%s", rd->dir, e->d_name);
      if (unlink(path) && errno != ENOENT) {
        code = PETSC_ERR_FILE_WRITE;
        snprintf(msg, sizeof(msg), "-output_overwrite: cannot remove %s: %s", path, strerror(errno));
      }
    }
    if (d) closedir(d);
  }
  rd->committed = PETSC_TRUE;
  rd->npending  = 0;
  PetscCall(GFCheckRankZero(rd->comm, code, msg));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Without a commit: remove the waiting files and the directory when this run created it and it is empty again. Collective. */
PETSC_INTERN PetscErrorCode GFRunDirectoryDestroy(GFRunDirectory *rundir)
{
  GFRunDirectory rd = *rundir;
  PetscMPIInt    rank;

  PetscFunctionBeginUser;
  if (!rd) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCallMPI(MPI_Comm_rank(rd->comm, &rank));
  if (rank == 0 && !rd->committed) {
    for (PetscInt k = 0; k < rd->npending; k++) {
      char tmp[PETSC_MAX_PATH_LEN + GF_NAME_LEN + 8];
      snprintf(tmp, sizeof(tmp), "%s/%s.tmp", rd->dir, rd->pending[k]);
      unlink(tmp);
    }
    if (rd->created[0]) {
      /* the run's own directories, innermost first, as long as they are empty */
      char path[PETSC_MAX_PATH_LEN];
      snprintf(path, sizeof(path), "%s", rd->dir);
      while (strlen(path) >= strlen(rd->created) && !rmdir(path)) {
        char *slash = strrchr(path, '/');
        if (!slash) break;
        *slash = 0;
      }
    }
  }
  PetscCall(PetscFree(rd));
  *rundir = NULL;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFRunDirectoryGetPath(GFRunDirectory rd, const char **dir)
{
  PetscFunctionBeginUser;
  *dir = rd->dir;
  PetscFunctionReturn(PETSC_SUCCESS);
}
