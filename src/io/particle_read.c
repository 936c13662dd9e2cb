/*
  Reading a particle file, whatever its format: HDF5 (particle_io.c), and here the formats of
  other tools, text (CSV and whitespace separated, an optional header row, '#' comments) and
  NumPy .npy (float32/float64, either byte order, C or Fortran order). Rank 0 checks the file
  (a text file: parses it whole, keeping no rows) and every rank gets its shape or the error;
  then each rank reads its own block of rows (GFParticleFileReadBlocks): HDF5 collectively
  through MPI-IO, .npy by seeking to them, a text file parsed again on rank 0, which sends each
  rank its rows as soon as they are complete. No rank holds more than one block of rows.
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

/* Rank 0's second pass over a text file: the rows to their ranks' blocks (PetscSplitOwnership's), its own into own, each other rank's sent when complete. */
typedef struct {
  MPI_Comm    comm;
  PetscMPIInt size, tag, rank;     /* the rank whose block is being filled */
  PetscInt    n, dim, filled, all; /* rows of that block so far, of all blocks */
  PetscReal  *own, *block;
} GFTextBlocks;

/* Rows of rank r's block of n rows over size ranks. */
static inline PetscInt GFBlockRows(PetscInt n, PetscMPIInt size, PetscMPIInt r)
{
  return n / size + (r < n % size);
}

/* Row (dim values) to its block; a complete block of another rank sent, the ranks of empty blocks skipped. */
static PetscErrorCode GFTextBlocksAdd(GFTextBlocks *b, const PetscReal row[])
{
  PetscFunctionBeginUser;
  while (b->rank < b->size && b->filled == GFBlockRows(b->n, b->size, b->rank)) {
    if (b->rank > 0 && b->filled) PetscCallMPI(MPI_Send(b->block, (PetscMPIInt)(b->filled * b->dim), MPIU_REAL, b->rank, b->tag, b->comm));
    b->rank++;
    b->filled = 0;
  }
  if (!row || b->rank == b->size) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscArraycpy((b->rank ? b->block : b->own) + b->dim * b->filled++, row, b->dim));
  b->all++;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Rank 0: a text file of one particle per row, values separated by commas and/or white
  space; blank lines and '#' comments skipped, a first row that is not numbers is a header.
  A NUL byte or an empty comma-separated field is an error, not a row read short. The first
  pass (blocks NULL) checks every row and counts them; the second hands them to blocks.
*/
static PetscErrorCode GFParticleReadText(const char path[], PetscInt expected_dim, PetscMPIInt ranks, GFParticleFileInfo *info, GFTextBlocks *blocks, GFFileProblem *p)
{
  FILE      *f    = fopen(path, "r");
  char      *line = NULL, bad_token[48] = "";
  size_t     capacity = 0, line_number = 0, rows = 0, columns = 0, row_capacity = 0;
  ssize_t    length;
  PetscBool  header_possible = PETSC_TRUE;
  PetscReal *row             = NULL; /* a row's values, as many as its widest row has (data files: any number of columns) */

  PetscFunctionBeginUser;
  if (!f) {
    GFFileFail(p, PETSC_ERR_FILE_OPEN, "particle file %s: no such readable file (%s)", path, strerror(errno));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  while (!p->code && (length = getline(&line, &capacity, f)) >= 0) {
    char  *s       = line;
    size_t ntokens = 0, bad_column = 0;

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
        if (ntokens > row_capacity) {
          row_capacity = 2 * ntokens;
          PetscCall(PetscRealloc(row_capacity * sizeof(*row), &row));
        }
        row[ntokens - 1] = value;
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
      if (!GFParticleCheckShape(path, 1, ntokens, expected_dim, ranks, p)) break;
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
    if (blocks) PetscCall(GFTextBlocksAdd(blocks, row));
    rows++;
  }
  if (!p->code && ferror(f)) GFFileFail(p, PETSC_ERR_FILE_READ, "particle file %s: cannot read it: %s", path, strerror(errno));
  if (!p->code && GFParticleCheckShape(path, rows, columns, expected_dim, ranks, p)) {
    info->n   = (PetscInt)rows;
    info->dim = (PetscInt)columns;
  }
  free(line);
  PetscCall(PetscFree(row));
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

/* How the rows of a file are stored: its format and, for .npy, where its values start, their size, byte order and layout. */
typedef enum { GF_PARTICLE_FORMAT_HDF5, GF_PARTICLE_FORMAT_TEXT, GF_PARTICLE_FORMAT_NPY } GFParticleFormat;
typedef struct {
  GFParticleFormat format;
  size_t           data_offset, itemsize;
  PetscBool        swap, fortran_order;
} GFParticleLayout;

/* Rank 0: the header and size of a NumPy .npy file (format 1.0, 2.0 or 3.0) of float32 or float64 in either byte order, C or Fortran order, shape (n,) or (n, dim), checked; its values not read yet. */
static PetscErrorCode GFParticleReadNPYHeader(const char path[], PetscInt expected_dim, PetscMPIInt ranks, GFParticleFileInfo *info, GFParticleLayout *layout, GFFileProblem *p)
{
  FILE              *f = fopen(path, "rb");
  unsigned char      preamble[12];
  char              *header = NULL, descr[32] = "";
  const char        *wrong;
  size_t             header_len, data_offset, n, dim, itemsize, bytes;
  unsigned long long shape[8];
  int                ndim          = 0;
  PetscBool          fortran_order = PETSC_FALSE;
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
  fclose(f);
  if (!p->code && (wrong = ParseNPYHeader(header, descr, sizeof(descr), &fortran_order, &ndim, shape, 8))) GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: bad NPY header: %s", path, wrong);
  PetscCall(PetscFree(header));
  if (!p->code && strcmp(descr, "<f8") && strcmp(descr, ">f8") && strcmp(descr, "<f4") && strcmp(descr, ">f4"))
    GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: NPY dtype '%s' is not supported: positions must be float64 or float32 ('<f8', '>f8', '<f4' or '>f4')", path, descr);
  if (!p->code && ndim != 1 && ndim != 2) GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: NPY shape has %d dimensions: expected (n,) or (n, dim)", path, ndim);
  if (p->code || !GFParticleCheckShape(path, (size_t)shape[0], ndim == 2 ? (size_t)shape[1] : 1, expected_dim, ranks, p)) PetscFunctionReturn(PETSC_SUCCESS);
  n        = (size_t)shape[0];
  dim      = ndim == 2 ? (size_t)shape[1] : 1;
  itemsize = descr[2] == '8' ? 8 : 4;
  bytes    = n * dim * itemsize;
  if ((size_t)st.st_size - data_offset < bytes)
    GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: truncated: shape (%zu, %zu) of '%s' needs %zu bytes of data, the file has %zu", path, n, dim, descr, bytes, (size_t)st.st_size - data_offset);
  else if ((size_t)st.st_size - data_offset > bytes)
    GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: has %zu bytes of data, but shape (%zu, %zu) of '%s' needs %zu", path, (size_t)st.st_size - data_offset, n, dim, descr, bytes);
  else {
    info->n               = (PetscInt)n;
    info->dim             = (PetscInt)dim;
    layout->data_offset   = data_offset;
    layout->itemsize      = itemsize;
    layout->swap          = (descr[0] == '<') != (*(const unsigned char *)&one == 1) ? PETSC_TRUE : PETSC_FALSE;
    layout->fortran_order = fortran_order;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* This rank's rows [start, start + count) of a .npy file (GFParticleReadNPYHeader) into x: one read in C order, one per column in Fortran order. */
static PetscErrorCode GFParticleReadNPYRows(const char path[], const GFParticleFileInfo *info, const GFParticleLayout *layout, PetscInt start, PetscInt count, PetscReal x[], GFFileProblem *p)
{
  const size_t   n = (size_t)info->n, dim = (size_t)info->dim, itemsize = layout->itemsize, runs = layout->fortran_order ? dim : 1, run = layout->fortran_order ? (size_t)count : (size_t)count * dim;
  FILE          *f;
  unsigned char *raw;

  PetscFunctionBeginUser;
  if (!count) PetscFunctionReturn(PETSC_SUCCESS);
  if (!(f = fopen(path, "rb"))) {
    GFFileFail(p, PETSC_ERR_FILE_OPEN, "particle file %s: no such readable file (%s)", path, strerror(errno));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(PetscMalloc1(run * itemsize, &raw));
  for (size_t r = 0; r < runs && !p->code; r++) {
    const size_t first = layout->fortran_order ? r * n + (size_t)start : (size_t)start * dim;
    if (fseeko(f, (off_t)(layout->data_offset + first * itemsize), SEEK_SET) || fread(raw, 1, run * itemsize, f) != run * itemsize) {
      GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: truncated: cannot read its %zu bytes of data", path, n * dim * itemsize);
      break;
    }
    for (size_t k = 0; k < run; k++) x[layout->fortran_order ? k * dim + r : k] = DecodeNPYValue(raw + itemsize * k, itemsize, layout->swap);
  }
  PetscCall(PetscFree(raw));
  fclose(f);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0: the file checked, but for its values (a text file: every row parsed and checked, none kept): its format, shape and attributes. ranks: how many ranks will share its rows. */
static PetscErrorCode ReadHeader(const char path[], const char dataset[], PetscInt expected_dim, PetscMPIInt ranks, GFParticleFileInfo *info, GFParticleLayout *layout, GFFileProblem *p)
{
  const char    *ext = GFFileExtension(path);
  struct stat    st;
  PetscErrorCode ierr = PETSC_SUCCESS;

  PetscFunctionBeginUser;
  if (stat(path, &st) || !S_ISREG(st.st_mode) || access(path, R_OK))
    GFFileFail(p, PETSC_ERR_FILE_OPEN, "particle file %s: no such readable file%s", path, !stat(path, &st) && S_ISDIR(st.st_mode) ? " (it is a directory)" : "");
  else if (!strcasecmp(ext, ".h5") || !strcasecmp(ext, ".hdf5")) {
    layout->format = GF_PARTICLE_FORMAT_HDF5;
    H5E_BEGIN_TRY
    {
      ierr = GFParticleReadHDF5Header(path, dataset, expected_dim, ranks, info, p);
    }
    H5E_END_TRY;
    PetscCall(ierr);
  } else if (!strcasecmp(ext, ".csv") || !strcasecmp(ext, ".txt")) {
    layout->format = GF_PARTICLE_FORMAT_TEXT;
    PetscCall(GFParticleReadText(path, expected_dim, ranks, info, NULL, p));
  } else if (!strcasecmp(ext, ".npy")) {
    layout->format = GF_PARTICLE_FORMAT_NPY;
    PetscCall(GFParticleReadNPYHeader(path, expected_dim, ranks, info, layout, p));
  } else
    GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: unknown format '%s': supported are .h5 and .hdf5 (HDF5), .csv and .txt (text, one particle per row) and .npy (NumPy)", path, ext);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Every rank's rows [start, start + count) of a text file: rank 0 parses it a second time and sends each rank its block (the ranks in order, each block as soon as it is complete). Collective. */
static PetscErrorCode ReadTextRows(MPI_Comm comm, const char path[], const GFParticleFileInfo *info, PetscInt count, PetscReal x[], GFFileProblem *p)
{
  PetscMPIInt rank, size, tag;
  MPI_Comm private;
  GFTextBlocks       blocks;
  GFParticleFileInfo again = {"", 0, 0, NAN, -1, -1};

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PetscCommDuplicate(comm, &private, &tag));
  if (rank) {
    if (count) PetscCallMPI(MPI_Recv(x, (PetscMPIInt)(count * info->dim), MPIU_REAL, 0, tag, private, MPI_STATUS_IGNORE));
    PetscCall(PetscCommDestroy(&private));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  blocks = (GFTextBlocks){private, size, tag, 0, info->n, info->dim, 0, 0, x, NULL};
  PetscCall(PetscCalloc1(GFBlockRows(info->n, size, 0) * info->dim, &blocks.block));
  PetscCall(GFParticleReadText(path, info->dim, size, &again, &blocks, p));
  if (!p->code && (blocks.all != info->n || again.n != info->n)) GFFileFail(p, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: changed while it was read", path);
  while (blocks.rank < size) { /* the last block, and for a file that changed the rest, so that no rank waits for ever */
    blocks.filled = GFBlockRows(info->n, size, blocks.rank);
    PetscCall(GFTextBlocksAdd(&blocks, NULL));
  }
  PetscCall(PetscFree(blocks.block));
  PetscCall(PetscCommDestroy(&private));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Every rank's rows [start, start + count) of the file checked by ReadHeader, each value checked
  finite (the message names the first row and column that is not, over all ranks). Collective.
*/
static PetscErrorCode ReadRows(MPI_Comm comm, const char path[], const char dataset[], const GFParticleFileInfo *info, const GFParticleLayout *layout, PetscInt start, PetscInt count, PetscReal x[])
{
  GFFileProblem problem = {0, ""};
  PetscInt64    bad     = INT64_MAX;
  PetscMPIInt   rank, owner;
  PetscReal     value = 0;

  PetscFunctionBeginUser;
  if (layout->format == GF_PARTICLE_FORMAT_TEXT) {
    PetscCall(ReadTextRows(comm, path, info, count, x, &problem));
    PetscCall(GFFileCheckCollective(comm, &problem));
    PetscFunctionReturn(PETSC_SUCCESS); /* the first pass checked every value */
  }
  if (layout->format == GF_PARTICLE_FORMAT_HDF5 && GFParticleReadHDF5Rows(comm, path, dataset, info->dim, start, count, x) < 0)
    GFFileFail(&problem, PETSC_ERR_FILE_UNEXPECTED, "particle file %s: HDF5 cannot read dataset %s (a truncated or damaged file?)", path, dataset && dataset[0] ? dataset : "particles");
  if (layout->format == GF_PARTICLE_FORMAT_NPY) PetscCall(GFParticleReadNPYRows(path, info, layout, start, count, x, &problem));
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &problem.code, 1, MPI_INT, MPI_MAX, comm));
  PetscCall(GFFileCheckCollective(comm, &problem));
  for (PetscInt k = 0; k < count * info->dim && bad == INT64_MAX; k++)
    if (!isfinite(x[k])) {
      bad   = (PetscInt64)start * info->dim + k;
      value = x[k];
    }
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  {
    PetscInt64 first = bad;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPIU_INT64, MPI_MIN, comm));
    if (first == INT64_MAX) PetscFunctionReturn(PETSC_SUCCESS);
    owner = bad == first ? rank : PETSC_MPI_INT_MAX;
    PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &owner, 1, MPI_INT, MPI_MIN, comm));
    PetscCallMPI(MPI_Bcast(&value, 1, MPIU_REAL, owner, comm));
    GFParticleFailNotFinite(&problem, path, (size_t)(first / info->dim), (size_t)(first % info->dim), value, "");
  }
  PetscCall(GFFileCheckCollective(comm, &problem));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0 checks the file (ReadHeader) for ranks ranks, every rank gets its info and layout or the error. Collective. */
static PetscErrorCode ReadInfo(MPI_Comm comm, const char path[], const char dataset[], PetscInt expected_dim, PetscMPIInt ranks, GFParticleFileInfo *info, GFParticleLayout *layout)
{
  PetscMPIInt   rank;
  GFFileProblem problem = {0, ""};

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  *info = (GFParticleFileInfo){"", 0, 0, NAN, -1, -1};
  PetscCall(PetscMemzero(layout, sizeof(*layout)));
  if (rank == 0) PetscCall(ReadHeader(path, dataset, expected_dim, ranks, info, layout, &problem));
  PetscCall(GFFileCheckCollective(comm, &problem));
  PetscCallMPI(MPI_Bcast(info, (PetscMPIInt)sizeof(*info), MPI_BYTE, 0, comm));
  PetscCallMPI(MPI_Bcast(layout, (PetscMPIInt)sizeof(*layout), MPI_BYTE, 0, comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Each rank its block of the rows of the file (PetscSplitOwnership's split of info->n over the
  ranks, in order): *start, *count and the count x dim values in *x (PetscFree it). No rank
  holds more than its block. Collective on comm.
*/
PetscErrorCode GFParticleFileReadBlocks(MPI_Comm comm, const char path[], const char dataset[], PetscInt expected_dim, GFParticleFileInfo *info, PetscInt *start, PetscInt *count, PetscReal **x)
{
  GFParticleLayout layout;
  PetscMPIInt      size, rank;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(ReadInfo(comm, path, dataset, expected_dim, size, info, &layout));
  *count = GFBlockRows(info->n, size, rank);
  *start = (info->n / size) * rank + PetscMin(rank, info->n % size);
  PetscCall(PetscMalloc1(*count * info->dim, x));
  PetscCall(ReadRows(comm, path, dataset, info, &layout, *start, *count, *x));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Every rank all n x dim values of the file in *x (PetscFree it): the blocks read, then each broadcast by its rank. Collective on comm. */
PetscErrorCode GFParticleFileRead(MPI_Comm comm, const char path[], const char dataset[], PetscInt expected_dim, GFParticleFileInfo *info, PetscReal **x)
{
  GFParticleLayout layout;
  PetscMPIInt      size, rank;
  PetscInt         start;
  PetscReal       *all;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(ReadInfo(comm, path, dataset, expected_dim, 1, info, &layout));
  PetscCall(PetscMalloc1((size_t)info->n * info->dim, &all));
  start = (info->n / size) * rank + PetscMin(rank, info->n % size);
  PetscCall(ReadRows(comm, path, dataset, info, &layout, start, GFBlockRows(info->n, size, rank), all + (size_t)start * info->dim));
  for (PetscMPIInt r = 0; r < size; r++) {
    const PetscInt first = (info->n / size) * r + PetscMin(r, info->n % size);
    PetscCall(GFBcastReals(comm, r, (size_t)GFBlockRows(info->n, size, r) * info->dim, all + (size_t)first * info->dim));
  }
  *x = all;
  PetscFunctionReturn(PETSC_SUCCESS);
}
