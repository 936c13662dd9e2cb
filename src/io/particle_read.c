/*
  Reading a particle file, whatever its format: HDF5 (particle_io.c), and here the formats of
  other tools, text (CSV and whitespace separated, an optional header row, '#' comments) and
  NumPy .npy (float32/float64, either byte order, C or Fortran order). Rank 0 reads and
  checks; every rank gets the particles or the error (GFParticleFileRead).
*/
#include "io.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

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
static PetscErrorCode GFParticleReadText(const char path[], PetscInt expected_dim, GFParticleFileInfo *info, PetscReal **x, GFFileProblem *p)
{
  FILE     *f    = fopen(path, "r");
  char     *line = NULL, bad_token[48] = "";
  size_t    capacity = 0, line_number = 0, rows = 0, allocated = 0, columns = 0;
  ssize_t   length;
  PetscBool header_possible = PETSC_TRUE;

  PetscFunctionBeginUser;
  if (!f) {
    GFFileFail(p, PETSC_ERR_FILE_OPEN, "particle file %s: no such readable file (%s)", path, strerror(errno));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  while (!p->code && (length = getline(&line, &capacity, f)) >= 0) {
    char     *s       = line;
    size_t    ntokens = 0, bad_column = 0;
    PetscReal row[3] = {0, 0, 0};

    line_number++;
    if (memchr(line, 0, (size_t)length)) {
      GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: line %zu holds a NUL byte: binary data, not text", path, line_number);
      break;
    }
    if (line_number == 1 && !strncmp(s, "\xEF\xBB\xBF", 3)) s += 3;
    while (isspace((unsigned char)*s)) s++;
    if (*s == '#') continue;
    if (HasEmptyField(s)) {
      GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: line %zu has an empty field (a comma at the start of the row, or two commas with nothing between)", path, line_number);
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
      GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: line %zu, column %zu: '%s' is not a number", path, line_number, bad_column, bad_token);
      break;
    }
    if (!rows) {
      if (!GFParticleCheckShape(path, 1, ntokens, expected_dim, p)) break;
      columns = ntokens;
    }
    if (ntokens != columns) {
      GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: row %zu (line %zu) has %zu columns, the rows before it have %zu: every row must have the same number", path, rows + 1, line_number, ntokens, columns);
      break;
    }
    for (size_t c = 0; c < columns && !p->code; c++) {
      if (!isfinite(row[c])) {
        char where[64];
        snprintf(where, sizeof(where), " (line %zu)", line_number);
        GFParticleFailNotFinite(p, path, rows, c, row[c], where);
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
  if (!p->code && ferror(f)) GFFileFail(p, PETSC_ERR_FILE_READ, "particle file %s: cannot read it: %s", path, strerror(errno));
  if (!p->code && GFParticleCheckShape(path, rows, columns, expected_dim, p)) {
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
static PetscErrorCode GFParticleReadNPY(const char path[], PetscInt expected_dim, GFParticleFileInfo *info, PetscReal **x, GFFileProblem *p)
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
    GFFileFail(p, PETSC_ERR_FILE_OPEN, "particle file %s: no such readable file (%s)", path, strerror(errno));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (fstat(fileno(f), &st) || fread(preamble, 1, 10, f) != 10 || memcmp(preamble, "\x93NUMPY", 6))
    GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: not a NumPy .npy file (no \\x93NUMPY magic)", path);
  else if ((preamble[6] < 1 || preamble[6] > 3) || preamble[7] != 0)
    GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: NPY format version %d.%d is not supported (1.0, 2.0 and 3.0 are)", path, preamble[6], preamble[7]);
  else if (preamble[6] > 1 && fread(preamble + 10, 1, 2, f) != 2)
    GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: bad NPY header: the file ends inside it", path);
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
    GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: bad NPY header: the file ends inside it (it claims %zu bytes)", path, header_len);
  else {
    PetscCall(PetscMalloc1(header_len + 1, &header));
    if (fread(header, 1, header_len, f) != header_len) GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: bad NPY header: cannot read it", path);
    header[header_len] = 0;
  }
  if (!p->code && (wrong = ParseNPYHeader(header, descr, sizeof(descr), &fortran_order, &ndim, shape, 8))) GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: bad NPY header: %s", path, wrong);
  PetscCall(PetscFree(header));
  if (!p->code && strcmp(descr, "<f8") && strcmp(descr, ">f8") && strcmp(descr, "<f4") && strcmp(descr, ">f4"))
    GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: NPY dtype '%s' is not supported: positions must be float64 or float32 ('<f8', '>f8', '<f4' or '>f4')", path, descr);
  if (!p->code && ndim != 1 && ndim != 2) GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: NPY shape has %d dimensions: expected (n,) or (n, dim)", path, ndim);
  if (p->code || !GFParticleCheckShape(path, (size_t)shape[0], ndim == 2 ? (size_t)shape[1] : 1, expected_dim, p)) {
    fclose(f);
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  n        = (size_t)shape[0];
  dim      = ndim == 2 ? (size_t)shape[1] : 1;
  itemsize = descr[2] == '8' ? 8 : 4;
  bytes    = n * dim * itemsize;
  swap     = (descr[0] == '<') != (*(const unsigned char *)&one == 1) ? PETSC_TRUE : PETSC_FALSE;
  if ((size_t)st.st_size - data_offset < bytes)
    GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: truncated: shape (%zu, %zu) of '%s' needs %zu bytes of data, the file has %zu", path, n, dim, descr, bytes, (size_t)st.st_size - data_offset);
  else if ((size_t)st.st_size - data_offset > bytes)
    GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: has %zu bytes of data, but shape (%zu, %zu) of '%s' needs %zu", path, (size_t)st.st_size - data_offset, n, dim, descr, bytes);
  else {
    unsigned char *raw;

    /* float64 in C order decodes in place, element by element; everything else through a copy of the bytes */
    PetscCall(PetscMalloc1(n * dim, x));
    if (itemsize == 8 && !fortran_order)
      raw = (unsigned char *)*x;
    else
      PetscCall(PetscMalloc1(bytes, &raw));
    if (fread(raw, 1, bytes, f) != bytes)
      GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: truncated: cannot read its %zu bytes of data", path, bytes);
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
static PetscErrorCode ReadParticles(const char path[], const char dataset[], PetscInt expected_dim, GFParticleFileInfo *info, PetscReal **x, GFFileProblem *p)
{
  const char    *ext = GFFileExtension(path);
  struct stat    st;
  PetscErrorCode ierr = PETSC_SUCCESS;

  PetscFunctionBeginUser;
  if (stat(path, &st) || !S_ISREG(st.st_mode) || access(path, R_OK))
    GFFileFail(p, PETSC_ERR_FILE_OPEN, "particle file %s: no such readable file%s", path, !stat(path, &st) && S_ISDIR(st.st_mode) ? " (it is a directory)" : "");
  else if (!strcasecmp(ext, ".h5") || !strcasecmp(ext, ".hdf5")) {
    H5E_BEGIN_TRY
    {
      ierr = GFParticleReadHDF5(path, dataset, expected_dim, info, x, p);
    }
    H5E_END_TRY;
    PetscCall(ierr);
  } else if (!strcasecmp(ext, ".csv") || !strcasecmp(ext, ".txt"))
    PetscCall(GFParticleReadText(path, expected_dim, info, x, p));
  else if (!strcasecmp(ext, ".npy"))
    PetscCall(GFParticleReadNPY(path, expected_dim, info, x, p));
  else
    GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: unknown format '%s': supported are .h5 and .hdf5 (HDF5), .csv and .txt (text, one particle per row) and .npy (NumPy)", path, ext);
  for (size_t k = 0; !p->code && k < (size_t)info->n * info->dim; k++)
    if (!isfinite((*x)[k])) GFParticleFailNotFinite(p, path, k / info->dim, k % info->dim, (*x)[k], "");
  if (p->code) PetscCall(PetscFree(*x));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0 reads and checks the particle file, then every rank gets info and all n x dim positions. Collective. */
PetscErrorCode GFParticleFileRead(MPI_Comm comm, const char path[], const char dataset[], PetscInt expected_dim, GFParticleFileInfo *info, PetscReal **x)
{
  PetscMPIInt        rank;
  GFFileProblem      problem = {0, ""};
  GFParticleFileInfo found   = {"", 0, 0, NAN, -1, -1};
  PetscReal         *values  = NULL;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  if (rank == 0) PetscCall(ReadParticles(path, dataset, expected_dim, &found, &values, &problem));
  PetscCall(GFFileCheckCollective(comm, &problem));
  PetscCallMPI(MPI_Bcast(&found, (PetscMPIInt)sizeof(found), MPI_BYTE, 0, comm));
  if (rank != 0) PetscCall(PetscMalloc1((size_t)found.n * found.dim, &values));
  PetscCall(GFBcastReals(comm, (size_t)found.n * found.dim, values));
  *info = found;
  *x    = values;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  As GFParticleFileRead, but each rank gets only its block of rows (PetscSplitOwnership's
  split of info->n over the ranks, in order: *x holds that block's rows, PetscFree it): rank 0
  reads and checks the whole file and scatters the blocks, the other ranks hold their own
  rows only. Collective on comm.
*/
PetscErrorCode GFParticleFileReadBlocks(MPI_Comm comm, const char path[], const char dataset[], PetscInt expected_dim, GFParticleFileInfo *info, PetscReal **x)
{
  PetscMPIInt        rank, size, *counts = NULL, *displs = NULL;
  GFFileProblem      problem = {0, ""};
  GFParticleFileInfo found   = {"", 0, 0, NAN, -1, -1};
  PetscReal         *values  = NULL;
  PetscInt           nblock  = PETSC_DECIDE;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  if (rank == 0) PetscCall(ReadParticles(path, dataset, expected_dim, &found, &values, &problem));
  PetscCall(GFFileCheckCollective(comm, &problem));
  PetscCallMPI(MPI_Bcast(&found, (PetscMPIInt)sizeof(found), MPI_BYTE, 0, comm));
  PetscCheck((PetscInt64)found.n * found.dim < PETSC_MPI_INT_MAX, comm, PETSC_ERR_USER_INPUT, "%s: %" PetscInt_FMT " x %" PetscInt_FMT " values exceed the 2^31 entries of one MPI message", path, found.n, found.dim);
  PetscCall(PetscSplitOwnership(comm, &nblock, &found.n));
  PetscCall(PetscMalloc1((size_t)nblock * found.dim, x));
  if (rank == 0) {
    PetscCall(PetscMalloc2(size, &counts, size, &displs));
    for (PetscMPIInt r = 0; r < size; r++) {
      counts[r] = (PetscMPIInt)((found.n / size + (r < found.n % size)) * found.dim);
      displs[r] = r ? displs[r - 1] + counts[r - 1] : 0;
    }
  }
  PetscCallMPI(MPI_Scatterv(values, counts, displs, MPIU_REAL, *x, (PetscMPIInt)(nblock * found.dim), MPIU_REAL, 0, comm));
  PetscCall(PetscFree2(counts, displs));
  PetscCall(PetscFree(values));
  *info = found;
  PetscFunctionReturn(PETSC_SUCCESS);
}
