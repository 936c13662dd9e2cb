/*
  Where particle files come from: the time in a file's name, and the files of a SOURCE (a
  run directory, any directory, a comma-separated list, one file).
*/
#include "io.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <strings.h>
#include <dirent.h>
#include <sys/stat.h>

/* The last unsigned decimal number (digits, an optional fraction, an optional exponent) of the base name without its extension. */
PetscBool GFParticleFileNameTime(const char path[], PetscReal *time)
{
  const char *base = strrchr(path, '/'), *end, *last = NULL;
  size_t      last_len = 0;
  char        number[64];

  base = base ? base + 1 : path;
  end  = GFFileExtension(base);
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
  const char *ext = GFFileExtension(name);
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
static PetscErrorCode ListDirectory(const char dir[], NameList *l, GFFileProblem *p)
{
  DIR           *d = opendir(dir);
  struct dirent *e;
  NameList       run = {NULL, 0, 0}, user = {NULL, 0, 0};
  const char    *sep = dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/";

  PetscFunctionBeginUser;
  if (!d) {
    GFFileFail(p, PETSC_ERR_FILE_OPEN, "particle source %s: cannot read the directory: %s", dir, strerror(errno));
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
    GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle source: directory %s has no particle files (particles_NNNNN.h5, or .h5/.hdf5/.csv/.txt/.npy files)", dir);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0: the comma-separated files of source, in order, each trimmed of white space and required to exist. */
static PetscErrorCode ListCommaSeparated(const char source[], NameList *l, GFFileProblem *p)
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
      GFFileFail(p, PETSC_ERR_USER_INPUT, "particle source %s: entry %d of the comma-separated list is empty", source, (int)entry);
    else if (stat(item, &st))
      GFFileFail(p, PETSC_ERR_FILE_OPEN, "particle source %s: %s: no such file or directory", source, item);
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
  PetscMPIInt   rank;
  GFFileProblem problem  = {0, ""};
  NameList      list     = {NULL, 0, 0};
  long long     sizes[2] = {0, 0}; /* number of names, bytes of the names with their NULs */
  char         *packed   = NULL, *s;

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
      GFFileFail(&problem, PETSC_ERR_FILE_OPEN, "particle source %s: no such file or directory", source);
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
  PetscCall(GFFileCheckCollective(comm, &problem));
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
