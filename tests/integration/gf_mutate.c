/*
  The fuzz corpus of the integration tests (serial, no MPI needed):

    gf_mutate SEED SEEDS OUT   a few hundred mutants of the seed files in SEEDS (snap1d.h5, snap2d.h5:
                               snapshots at t = 0.1 of 32 and 12 x 10 cells; particles1d.h5,
                               particles2d.h5: gradflow particle files at t = 0.1; cloud1d.csv,
                               cloud2d.csv, cloud1d.npy, cloud2d.npy: the same as a user's files),
                               each in its own directory OUT/NNN (the seeds in OUT/seeds, with the
                               options and mesh files it adds), and OUT/manifest.txt with one line
                               "NNN READER EXPECT FILE WHAT" per mutant: READER the gradflow reader it
                               targets (init1d, init2d, pde1d, pde2d, particles1d, particles2d, options,
                               mesh), EXPECT 0 (a sound file: must be read), 2 (must be refused) or *
                               (random damage: either), FILE relative to OUT. Byte-level damage (bit
                               flips, runs of 0xFF, 0x00 or random bytes, truncation, appended junk),
                               HDF5 objects rewritten through the HDF5 API, text and NPY headers
                               rewritten. The same SEED gives the same corpus, byte for byte.
    gf_mutate sound FILE       exit 0 when snapshot FILE holds a finite /density >= 0 of positive mass
                               and a finite time: what a run that started from it may assume
*/
#include <hdf5.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
  uint64_t state;
} Rng;

/* The next number of splitmix64 (S. Vigna): a fixed, portable stream for a given seed. */
static uint64_t Next(Rng *r)
{
  uint64_t z = (r->state += 0x9E3779B97F4A7C15ull);
  z          = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z          = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* A number in [0, n) (0 for n = 0). */
static size_t Below(Rng *r, size_t n)
{
  return n ? (size_t)(Next(r) % n) : 0;
}

typedef struct {
  const char *seeds, *out;
  FILE       *manifest;
  int         count;
  Rng         rng;
  char        path[8192]; /* the current mutant's file */
} Corpus;

/* The message on stderr and exit status 1: the corpus is the test's, an incomplete one is no test. */
static void Die(const char format[], ...)
{
  va_list args;

  va_start(args, format);
  fprintf(stderr, "gf_mutate: ");
  vfprintf(stderr, format, args);
  fprintf(stderr, "\n");
  va_end(args);
  exit(1);
}

/* The whole of a seed file (malloc'd with room for 1 MiB more). */
static unsigned char *ReadSeed(const Corpus *c, const char name[], size_t *size)
{
  char           path[4096];
  FILE          *f;
  struct stat    st;
  unsigned char *data;

  snprintf(path, sizeof(path), "%s/%s", c->seeds, name);
  if (stat(path, &st) || !(f = fopen(path, "rb"))) Die("cannot read the seed %s: %s", path, strerror(errno));
  *size = (size_t)st.st_size;
  data  = malloc(*size + (1 << 20) + 1);
  if (!data || fread(data, 1, *size, f) != *size) Die("cannot read the seed %s", path);
  fclose(f);
  data[*size] = 0;
  return data;
}

/* size bytes of data as the file path. */
static void WriteBytes(const char path[], const void *data, size_t size)
{
  FILE *f = fopen(path, "wb");

  if (!f || fwrite(data, 1, size, f) != size || fclose(f)) Die("cannot write %s", path);
}

/* Start the next mutant: its directory OUT/NNN and its manifest line; its file's path in c->path. */
static const char *NewMutant(Corpus *c, const char reader[], char expect, const char file[], const char format[], ...)
{
  char    dir[4096], what[512];
  va_list args;

  va_start(args, format);
  vsnprintf(what, sizeof(what), format, args);
  va_end(args);
  for (char *s = what; *s; s++)
    if ((unsigned char)*s < 32 || (unsigned char)*s > 126) *s = '?';
  c->count++;
  snprintf(dir, sizeof(dir), "%s/%03d", c->out, c->count);
  if (mkdir(dir, 0755) && errno != EEXIST) Die("cannot create %s: %s", dir, strerror(errno));
  snprintf(c->path, sizeof(c->path), "%s/%s", dir, file);
  fprintf(c->manifest, "%03d %s %c %03d/%s %s\n", c->count, reader, expect, c->count, file, what);
  return c->path;
}

typedef enum { BYTE_FLIP, BYTE_FF, BYTE_ZERO, BYTE_RANDOM, BYTE_TRUNCATE, BYTE_APPEND, BYTE_OPS } ByteOp;

static const char *const byte_op_names[] = {"bit flips", "0xFF run", "0x00 run", "random run", "truncation", "appended junk"};

/*
  Damage data (size bytes, room for 1 MiB more) by op at offset (a run of length bytes, or
  length bit flips from offset on); returns the new size.
*/
static size_t Damage(Rng *r, ByteOp op, unsigned char *data, size_t size, size_t offset, size_t length)
{
  switch (op) {
  case BYTE_FLIP:
    for (size_t k = 0; k < length; k++) {
      const size_t at = k ? Below(r, size) : offset;
      data[at] ^= (unsigned char)(1u << Below(r, 8));
    }
    return size;
  case BYTE_FF:
  case BYTE_ZERO:
  case BYTE_RANDOM:
    for (size_t k = offset; k < offset + length && k < size; k++) data[k] = op == BYTE_FF ? 0xFF : op == BYTE_ZERO ? 0 : (unsigned char)Next(r);
    return size;
  case BYTE_TRUNCATE: return offset;
  case BYTE_APPEND:
    for (size_t k = 0; k < length; k++) data[size + k] = (unsigned char)Next(r);
    return size + length;
  default: return size;
  }
}

/* Offsets: half in the first 2 KiB (superblock, root group and first object headers), half anywhere. */
static size_t RandomOffset(Rng *r, size_t size)
{
  return Below(r, 2) ? Below(r, size < 2048 ? size : 2048) : Below(r, size);
}

/* count random byte-level mutants of seed for the readers (taken in turn), and the given ones first. */
static void ByteMutants(Corpus *c, const char seed[], const char *const readers[], int nreaders, const char file[], const size_t (*fixed)[3], int nfixed, int count)
{
  size_t         size;
  unsigned char *original = ReadSeed(c, seed, &size), *data = malloc(size + (1 << 20));

  if (!data) Die("out of memory");
  for (int k = 0; k < nfixed + count; k++) {
    ByteOp op;
    size_t offset, length, n;
    if (k < nfixed) {
      op     = (ByteOp)fixed[k][0];
      offset = fixed[k][1] == (size_t)-1 ? size / 2 : fixed[k][1];
      length = fixed[k][2];
    } else {
      op     = (ByteOp)Below(&c->rng, BYTE_OPS);
      offset = op == BYTE_TRUNCATE ? Below(&c->rng, size) : RandomOffset(&c->rng, size);
      length = op == BYTE_FLIP ? 1 + Below(&c->rng, 3) : op == BYTE_APPEND ? 1 + Below(&c->rng, 4096) : 1 + Below(&c->rng, 16);
    }
    memcpy(data, original, size);
    n = Damage(&c->rng, op, data, size, offset, length);
    NewMutant(c, readers[k % nreaders], '*', file, "%s: %s at %zu (%zu)", seed, byte_op_names[op], offset, length);
    WriteBytes(c->path, data, n);
  }
  free(data);
  free(original);
}

/* A copy of seed as the next mutant, opened for writing. */
static hid_t EditCopy(Corpus *c, const char seed[], const char reader[], char expect, const char file[], const char what[])
{
  size_t         size;
  unsigned char *data = ReadSeed(c, seed, &size);
  hid_t          h5;

  NewMutant(c, reader, expect, file, "%s: %s", seed, what);
  WriteBytes(c->path, data, size);
  free(data);
  if ((h5 = H5Fopen(c->path, H5F_ACC_RDWR, H5P_DEFAULT)) < 0) Die("cannot open %s", c->path);
  return h5;
}

typedef enum { VALUE_DOUBLE, VALUE_LLONG, VALUE_STRING, VALUE_VLSTRING, VALUE_COMPOUND, VALUE_EMPTY, VALUE_DELETE } ValueKind;

/* One rewritten attribute: n values (the last of the given ones repeated), a string, a compound, an empty (null) dataspace, or none. */
typedef struct {
  char        expect;
  const char *object, *name;
  ValueKind   kind;
  int         n;
  double      value[3];
  const char *text;
} AttributeEdit;

/* A compound {double a; double b} type, neither a number nor a string. */
static hid_t CompoundType(void)
{
  hid_t type = H5Tcreate(H5T_COMPOUND, 2 * sizeof(double));

  H5Tinsert(type, "a", 0, H5T_NATIVE_DOUBLE);
  H5Tinsert(type, "b", sizeof(double), H5T_NATIVE_DOUBLE);
  return type;
}

/* Replace attribute e->name of object e->object in file by e's value. */
static void EditAttribute(hid_t file, const AttributeEdit *e)
{
  hid_t   obj = H5Oopen(file, e->object, H5P_DEFAULT), type = -1, space = -1, attr;
  hsize_t n = (hsize_t)(e->n > 0 ? e->n : 1);
  void   *buffer;

  if (obj < 0) Die("no object %s", e->object);
  if (H5Aexists(obj, e->name) > 0) H5Adelete(obj, e->name);
  if (e->kind == VALUE_DELETE) {
    H5Oclose(obj);
    return;
  }
  buffer = calloc(n, 2 * sizeof(double));
  switch (e->kind) {
  case VALUE_DOUBLE:
  case VALUE_LLONG:
    for (hsize_t k = 0; k < n; k++) {
      const double v = e->value[k < 3 ? k : 2];
      if (e->kind == VALUE_DOUBLE)
        ((double *)buffer)[k] = v;
      else
        ((long long *)buffer)[k] = (long long)v;
    }
    type = H5Tcopy(e->kind == VALUE_DOUBLE ? H5T_NATIVE_DOUBLE : H5T_NATIVE_LLONG);
    break;
  case VALUE_STRING:
    type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, strlen(e->text) + 1);
    free(buffer);
    buffer = strdup(e->text);
    break;
  case VALUE_VLSTRING:
    type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, H5T_VARIABLE);
    *(const char **)buffer = e->text;
    break;
  case VALUE_COMPOUND: type = CompoundType(); break;
  default: type = H5Tcopy(H5T_NATIVE_DOUBLE); break;
  }
  if (e->kind == VALUE_EMPTY)
    space = H5Screate(H5S_NULL);
  else if (e->n > 0)
    space = H5Screate_simple(1, &n, NULL);
  else
    space = H5Screate(H5S_SCALAR);
  attr = H5Acreate2(obj, e->name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  if (attr < 0 || (e->kind != VALUE_EMPTY && H5Awrite(attr, type, buffer) < 0)) Die("cannot write attribute %s of %s", e->name, e->object);
  H5Aclose(attr);
  H5Sclose(space);
  H5Tclose(type);
  H5Oclose(obj);
  free(buffer);
}

/* e for the manifest: "/density attribute time: double[] nan" (no count: a scalar). */
static void DescribeAttribute(const AttributeEdit *e, char what[], size_t len)
{
  static const char *const kinds[] = {"double", "int64", "string", "variable-length string", "compound", "empty", "deleted"};
  const int                n       = e->n > 0 ? e->n : 1;
  int                      used    = snprintf(what, len, "%s attribute %s: %s", e->object, e->name, kinds[e->kind]);

  if (e->kind == VALUE_DOUBLE || e->kind == VALUE_LLONG) {
    used += e->n > 0 ? snprintf(what + used, len - (size_t)used, "[%d]", e->n) : snprintf(what + used, len - (size_t)used, "[]");
    for (int k = 0; k < n && k < 3; k++) used += snprintf(what + used, len - (size_t)used, " %.17g", e->value[k]);
  } else if (e->kind == VALUE_STRING || e->kind == VALUE_VLSTRING)
    snprintf(what + used, len - (size_t)used, " '%.40s'%s", e->text, strlen(e->text) > 40 ? "..." : "");
}

/* One mutant of seed per attribute edit, for reader. */
static void AttributeMutants(Corpus *c, const char seed[], const char reader[], const char file[], const AttributeEdit *edits, int n)
{
  for (int k = 0; k < n; k++) {
    char  what[256];
    hid_t h5;
    DescribeAttribute(&edits[k], what, sizeof(what));
    h5 = EditCopy(c, seed, reader, edits[k].expect, file, what);
    EditAttribute(h5, &edits[k]);
    H5Fclose(h5);
  }
}

typedef enum { DATA_DOUBLE, DATA_FLOAT, DATA_INTEGER, DATA_COMPOUND, DATA_STRING, DATA_UNWRITTEN, DATA_GROUP, DATA_DELETE } DataKind;

/*
  One rewritten dataset: of kind, rank and dims, its values the old ones repeated (or all
  background, when not 0) with value at index (index >= 0) or everywhere (index -2), its
  attributes kept.
*/
typedef struct {
  char     expect;
  DataKind kind;
  int      rank;
  hsize_t  dims[3];
  long     index;
  double   value, background;
} DatasetEdit;

/* H5Aiterate callback: attribute name of src copied, type and value, to the object *ctx. */
static herr_t CopyAttribute(hid_t src, const char name[], const H5A_info_t *info, void *ctx)
{
  const hid_t dst  = *(const hid_t *)ctx;
  hid_t       attr = H5Aopen(src, name, H5P_DEFAULT), type = H5Aget_type(attr), space = H5Aget_space(attr), copy;
  void       *buffer;

  (void)info;
  buffer = calloc((size_t)H5Sget_simple_extent_npoints(space) + 1, H5Tget_size(type));
  H5Aread(attr, type, buffer);
  copy = H5Acreate2(dst, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  H5Awrite(copy, type, buffer);
  H5Aclose(copy);
  free(buffer);
  H5Sclose(space);
  H5Tclose(type);
  H5Aclose(attr);
  return 0;
}

/* Replace dataset name of file by e, with the old one's attributes; no modification time, which would change from run to run. */
static void EditDataset(hid_t file, const char name[], const DatasetEdit *e)
{
  hid_t    old = H5Dopen2(file, name, H5P_DEFAULT), space, type = -1, dset = -1, dcpl = H5Pcreate(H5P_DATASET_CREATE);
  hssize_t n_old;
  hsize_t  total = 1;
  double  *values, *old_values;

  if (old < 0) Die("no dataset %s", name);
  space      = H5Dget_space(old);
  n_old      = H5Sget_simple_extent_npoints(space);
  old_values = malloc(sizeof(double) * (size_t)n_old);
  H5Dread(old, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, old_values);
  H5Sclose(space);
  if (e->kind == DATA_DELETE) {
    H5Dclose(old);
    H5Ldelete(file, name, H5P_DEFAULT);
    free(old_values);
    H5Pclose(dcpl);
    return;
  }
  if (e->kind == DATA_GROUP) {
    hid_t gcpl = H5Pcreate(H5P_GROUP_CREATE);
    H5Pset_obj_track_times(gcpl, 0);
    H5Dclose(old);
    H5Ldelete(file, name, H5P_DEFAULT);
    H5Gclose(H5Gcreate2(file, name, H5P_DEFAULT, gcpl, H5P_DEFAULT));
    H5Pclose(gcpl);
    free(old_values);
    H5Pclose(dcpl);
    return;
  }
  for (int d = 0; d < e->rank; d++) total *= e->dims[d];
  space = H5Screate_simple(e->rank, e->dims, NULL);
  switch (e->kind) {
  case DATA_FLOAT: type = H5Tcopy(H5T_NATIVE_FLOAT); break;
  case DATA_INTEGER: type = H5Tcopy(H5T_NATIVE_INT); break;
  case DATA_COMPOUND: type = CompoundType(); break;
  case DATA_STRING:
    type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, 8);
    break;
  default: type = H5Tcopy(H5T_NATIVE_DOUBLE); break;
  }
  H5Pset_obj_track_times(dcpl, 0);
  if (e->kind == DATA_UNWRITTEN) {
    hsize_t chunk[3];
    for (int d = 0; d < e->rank; d++) chunk[d] = e->dims[d] < 1024 ? e->dims[d] : 1024;
    H5Pset_chunk(dcpl, e->rank, chunk);
  }
  dset = H5Dcreate2(file, "mutant", type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
  if (dset < 0) Die("cannot create the mutant of %s", name);
  if (e->kind != DATA_UNWRITTEN) {
    values = calloc(total + 1, 2 * sizeof(double));
    for (hsize_t k = 0; k < total; k++) {
      const double v = e->index == -2 || k == (hsize_t)e->index ? e->value : e->background != 0 ? e->background : n_old ? old_values[k % (hsize_t)n_old] : 0;
      if (e->kind == DATA_INTEGER)
        ((int *)values)[k] = (int)v;
      else if (e->kind == DATA_STRING) {
        char number[32];
        snprintf(number, sizeof(number), "%.3g", v);
        memcpy((char *)values + 8 * k, number, strlen(number) < 8 ? strlen(number) : 7);
      } else if (e->kind == DATA_COMPOUND)
        values[2 * k] = values[2 * k + 1] = v;
      else
        values[k] = v;
    }
    if (total && H5Dwrite(dset, e->kind == DATA_DOUBLE || e->kind == DATA_FLOAT ? H5T_NATIVE_DOUBLE : type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values) < 0) Die("cannot write the mutant of %s", name);
    free(values);
  }
  H5Aiterate2(old, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, CopyAttribute, &dset);
  H5Dclose(old);
  H5Ldelete(file, name, H5P_DEFAULT);
  H5Lmove(file, "mutant", file, name, H5P_DEFAULT, H5P_DEFAULT);
  H5Dclose(dset);
  H5Tclose(type);
  H5Sclose(space);
  H5Pclose(dcpl);
  free(old_values);
}

/* One mutant of seed per dataset edit of its dataset name, for reader. */
static void DatasetMutants(Corpus *c, const char seed[], const char reader[], const char file[], const char name[], const DatasetEdit *edits, int n)
{
  static const char *const kinds[] = {"double", "float", "int", "compound", "string", "unwritten chunked double", "a group", "deleted"};

  for (int k = 0; k < n; k++) {
    const DatasetEdit *e = &edits[k];
    char               what[256];
    int                used = snprintf(what, sizeof(what), "/%s: %s", name, kinds[e->kind]);
    hid_t              h5;

    for (int d = 0; d < e->rank && e->kind < DATA_GROUP; d++) used += snprintf(what + used, sizeof(what) - (size_t)used, "[%llu]", (unsigned long long)e->dims[d]);
    if (e->background != 0) used += snprintf(what + used, sizeof(what) - (size_t)used, ", every value %g", e->background);
    if (e->index >= 0) snprintf(what + used, sizeof(what) - (size_t)used, ", value %d = %g", (int)e->index, e->value);
    if (e->index == -2) snprintf(what + used, sizeof(what) - (size_t)used, ", every value %g", e->value);
    h5 = EditCopy(c, seed, reader, e->expect, file, what);
    EditDataset(h5, name, e);
    H5Fclose(h5);
  }
}

/*
  Dataset name of seed replaced by a link: external, into a copy of the seed with 8 bytes of
  0xFF at offset 120 (H5Fopen crashes on it); soft and dangling; soft to the dataset moved.
*/
static void LinkMutants(Corpus *c, const char seed[], const char reader[], const char file[], const char name[])
{
  const char *const what[] = {"an external link into a copy with 0xFF at 120", "a dangling soft link", "a soft link to /moved"};

  for (int k = 0; k < 3; k++) {
    char  description[256], target[8192];
    hid_t h5;
    snprintf(description, sizeof(description), "/%s is %s", name, what[k]);
    h5 = EditCopy(c, seed, reader, k == 2 ? '0' : '2', file, description);
    if (k == 0) {
      size_t         size;
      unsigned char *data = ReadSeed(c, seed, &size);
      snprintf(target, sizeof(target), "%s", c->path);
      snprintf(strrchr(target, '/') + 1, sizeof(target) - (size_t)(strrchr(target, '/') + 1 - target), "linked.h5");
      memset(data + 120, 0xFF, 8);
      WriteBytes(target, data, size);
      free(data);
      H5Ldelete(h5, name, H5P_DEFAULT);
      H5Lcreate_external("linked.h5", name, h5, name, H5P_DEFAULT, H5P_DEFAULT);
    } else if (k == 1) {
      H5Ldelete(h5, name, H5P_DEFAULT);
      H5Lcreate_soft("/nowhere", h5, name, H5P_DEFAULT, H5P_DEFAULT);
    } else {
      H5Lmove(h5, name, h5, "moved", H5P_DEFAULT, H5P_DEFAULT);
      H5Lcreate_soft("/moved", h5, name, H5P_DEFAULT, H5P_DEFAULT);
    }
    H5Fclose(h5);
  }
}

/* Snapshots: wrong grid attributes, times, steps, stepper state, models; /density of the wrong shape, type or values. */
static void SnapshotMutants(Corpus *c)
{
  const double        big    = 1099511627776.0; /* 2^40 */
  const AttributeEdit grid[] = {
      {'2', "/", "dim", VALUE_DELETE, 0, {0}, NULL},
      {'2', "/", "dim", VALUE_EMPTY, 0, {0}, NULL},
      {'2', "/", "dim", VALUE_LLONG, 2, {1, 1}, NULL},
      {'2', "/", "dim", VALUE_LLONG, 4, {1, 1, 1}, NULL},
      {'2', "/", "dim", VALUE_STRING, 0, {0}, "1"},
      {'2', "/", "dim", VALUE_COMPOUND, 0, {0}, NULL},
      {'2', "/", "dim", VALUE_LLONG, 0, {0}, NULL},
      {'2', "/", "dim", VALUE_LLONG, 0, {4}, NULL},
      {'0', "/", "dim", VALUE_DOUBLE, 0, {1}, NULL},
      {'2', "/", "dim", VALUE_DOUBLE, 0, {1.5}, NULL},
      {'2', "/", "dim", VALUE_DOUBLE, 0, {NAN}, NULL},
      {'2', "/", "cells", VALUE_DELETE, 0, {0}, NULL},
      {'2', "/", "cells", VALUE_EMPTY, 0, {0}, NULL},
      {'2', "/", "cells", VALUE_LLONG, 2, {32, 32}, NULL},
      {'2', "/", "cells", VALUE_LLONG, 4, {32, 32, 32}, NULL},
      {'2', "/", "cells", VALUE_LLONG, 8001, {32, 32, 32}, NULL},
      {'2', "/", "cells", VALUE_STRING, 0, {0}, "32"},
      {'2', "/", "cells", VALUE_COMPOUND, 0, {0}, NULL},
      {'2', "/", "cells", VALUE_LLONG, 1, {1}, NULL},
      {'2', "/", "cells", VALUE_LLONG, 1, {big}, NULL},
      {'2', "/", "cells", VALUE_LLONG, 1, {31}, NULL},
      {'0', "/", "cells", VALUE_DOUBLE, 1, {32}, NULL},
      {'2', "/", "cells", VALUE_DOUBLE, 1, {32.5}, NULL},
      {'2', "/", "domain_lower", VALUE_DELETE, 0, {0}, NULL},
      {'2', "/", "domain_lower", VALUE_EMPTY, 0, {0}, NULL},
      {'2', "/", "domain_lower", VALUE_DOUBLE, 2, {-5, -5}, NULL},
      {'2', "/", "domain_lower", VALUE_DOUBLE, 8001, {-5, -5, -5}, NULL},
      {'2', "/", "domain_lower", VALUE_DOUBLE, 1, {NAN}, NULL},
      {'2', "/", "domain_lower", VALUE_DOUBLE, 1, {-INFINITY}, NULL},
      {'2', "/", "domain_lower", VALUE_DOUBLE, 1, {10}, NULL},
      {'2', "/", "domain_lower", VALUE_DOUBLE, 1, {-1e308}, NULL},
      {'2', "/", "domain_upper", VALUE_DOUBLE, 1, {INFINITY}, NULL},
      {'2', "/", "domain_upper", VALUE_DOUBLE, 1, {NAN}, NULL},
      {'2', "/", "domain_upper", VALUE_DOUBLE, 1, {-10}, NULL},
      {'2', "/", "domain_upper", VALUE_DOUBLE, 1, {1e300}, NULL},
      {'2', "/", "bc", VALUE_STRING, 0, {0}, "wrap"},
      {'2', "/", "bc", VALUE_LLONG, 0, {1}, NULL},
      {'0', "/", "bc", VALUE_VLSTRING, 0, {0}, "noflux"},
      {'0', "/", "version", VALUE_DELETE, 0, {0}, NULL},
      {'0', "/", "options", VALUE_LLONG, 0, {7}, NULL},
  };
  const AttributeEdit state[] = {
      {'2', "/density", "time", VALUE_DELETE, 0, {0}, NULL},
      {'2', "/density", "time", VALUE_DOUBLE, 0, {NAN}, NULL},
      {'2', "/density", "time", VALUE_DOUBLE, 0, {INFINITY}, NULL},
      {'*', "/density", "time", VALUE_DOUBLE, 0, {-1}, NULL},
      {'2', "/density", "time", VALUE_DOUBLE, 0, {-1e300}, NULL},
      {'2', "/density", "time", VALUE_DOUBLE, 0, {1e300}, NULL},
      {'2', "/density", "time", VALUE_STRING, 0, {0}, "0.1"},
      {'2', "/density", "time", VALUE_DOUBLE, 2, {0.1, 0.1}, NULL},
      {'2', "/density", "step", VALUE_DELETE, 0, {0}, NULL},
      {'2', "/density", "step", VALUE_LLONG, 0, {-1}, NULL},
      {'2', "/density", "step", VALUE_LLONG, 0, {1e18}, NULL},
      {'2', "/density", "step", VALUE_DOUBLE, 0, {0.5}, NULL},
      {'2', "/density", "step", VALUE_STRING, 0, {0}, "1"},
      {'2', "/density", "dt", VALUE_DOUBLE, 0, {NAN}, NULL},
      {'2', "/density", "dt", VALUE_DOUBLE, 0, {-1}, NULL},
      {'2', "/density", "dt_max", VALUE_DOUBLE, 0, {INFINITY}, NULL},
      {'0', "/density", "dt", VALUE_DELETE, 0, {0}, NULL},
      {'2', "/density", "history_length", VALUE_LLONG, 0, {7}, NULL},
      {'2', "/density", "history_length", VALUE_LLONG, 0, {-1}, NULL},
      {'2', "/density", "history_length", VALUE_LLONG, 0, {1}, NULL},
      {'2', "/density", "history_length", VALUE_LLONG, 0, {big}, NULL},
      {'2', "/density", "history_order", VALUE_LLONG, 0, {9}, NULL},
      {'0', "/density", "energy", VALUE_STRING, 0, {0}, "junk"},
  };
  const AttributeEdit model[]   = {{'2', "/", "model", VALUE_STRING, 0, {0}, "porous_medium"}, {'0', "/", "model", VALUE_DELETE, 0, {0}, NULL}, {'0', "/", "model", VALUE_VLSTRING, 0, {0}, "fokker_planck"}};
  const AttributeEdit model2d[] = {
      {'2', "/", "cells", VALUE_LLONG, 2, {10, 12}, NULL},        {'2', "/", "cells", VALUE_LLONG, 1, {12}, NULL}, {'2', "/", "dim", VALUE_LLONG, 0, {1}, NULL}, {'2', "/", "domain_upper", VALUE_DOUBLE, 2, {5, INFINITY}, NULL},
      {'2', "/", "domain_lower", VALUE_DOUBLE, 2, {-5, 6}, NULL},
  };
  const DatasetEdit density[] = {
      {'2', DATA_DELETE, 0, {0}, -1, 0, 0},
      {'2', DATA_GROUP, 0, {0}, -1, 0, 0},
      {'2', DATA_DOUBLE, 1, {31}, -1, 0, 0},
      {'2', DATA_DOUBLE, 1, {33}, -1, 0, 0},
      {'2', DATA_DOUBLE, 1, {0}, -1, 0, 0},
      {'2', DATA_DOUBLE, 3, {1, 1, 32}, -1, 0, 0},
      {'2', DATA_INTEGER, 1, {32}, -1, 0, 0},
      {'2', DATA_COMPOUND, 1, {32}, -1, 0, 0},
      {'0', DATA_FLOAT, 1, {32}, -1, 0, 0},
      {'2', DATA_UNWRITTEN, 1, {32}, -1, 0, 0},
      {'2', DATA_UNWRITTEN, 1, {(hsize_t)1 << 40}, -1, 0, 0},
      {'2', DATA_DOUBLE, 1, {32}, 5, NAN, 0},
      {'2', DATA_DOUBLE, 1, {32}, 5, INFINITY, 0},
      {'2', DATA_DOUBLE, 1, {32}, 5, -1, 0},
      {'2', DATA_DOUBLE, 1, {32}, 16, 1e308, 0},
      {'0', DATA_DOUBLE, 1, {32}, 16, 1e-320, 0},
      {'0', DATA_DOUBLE, 1, {32}, 16, 1, 1e-310},
      {'2', DATA_DOUBLE, 1, {32}, -2, 0, 0},
  };
  const DatasetEdit density_pde[] = {
      {'2', DATA_DELETE, 0, {0}, -1, 0, 0},       {'2', DATA_DOUBLE, 1, {33}, -1, 0, 0},       {'2', DATA_INTEGER, 1, {32}, -1, 0, 0}, {'2', DATA_UNWRITTEN, 1, {(hsize_t)1 << 40}, -1, 0, 0},
      {'2', DATA_DOUBLE, 1, {32}, 5, NAN, 0},     {'2', DATA_DOUBLE, 1, {32}, 5, INFINITY, 0}, {'2', DATA_DOUBLE, 1, {32}, 5, -1, 0},  {'2', DATA_DOUBLE, 1, {32}, 16, 1e308, 0},
      {'0', DATA_DOUBLE, 1, {32}, 16, 1e-320, 0}, {'0', DATA_DOUBLE, 1, {32}, 16, 1, 1e-310},  {'2', DATA_DOUBLE, 1, {32}, -2, 0, 0},
  };
  const DatasetEdit density2d[] = {
      {'2', DATA_DOUBLE, 1, {120}, -1, 0, 0}, {'2', DATA_DOUBLE, 2, {12, 10}, -1, 0, 0}, {'2', DATA_DOUBLE, 3, {1, 10, 12}, -1, 0, 0}, {'2', DATA_DOUBLE, 2, {10, 12}, 40, NAN, 0}, {'2', DATA_DOUBLE, 2, {10, 12}, 41, -INFINITY, 0},
  };
  const AttributeEdit other_model = {'0', "/", "model", VALUE_STRING, 0, {0}, "porous_medium"};
  const AttributeEdit history     = {'2', "/density", "history_length", VALUE_LLONG, 0, {1}, NULL};
  const DatasetEdit   previous[]  = {{'2', DATA_DOUBLE, 1, {31}, -1, 0, 0}, {'2', DATA_DOUBLE, 1, {32}, 3, NAN, 0}};

  AttributeMutants(c, "snap1d.h5", "init1d", "snap_00001.h5", grid, (int)(sizeof(grid) / sizeof(grid[0])));
  AttributeMutants(c, "snap1d.h5", "init1d", "snap_00001.h5", state, (int)(sizeof(state) / sizeof(state[0])));
  AttributeMutants(c, "snap1d.h5", "init1d", "snap_00001.h5", model, (int)(sizeof(model) / sizeof(model[0])));
  AttributeMutants(c, "snap2d.h5", "init2d", "snap_00001.h5", model2d, (int)(sizeof(model2d) / sizeof(model2d[0])));
  DatasetMutants(c, "snap1d.h5", "init1d", "snap_00001.h5", "density", density, (int)(sizeof(density) / sizeof(density[0])));
  DatasetMutants(c, "snap2d.h5", "init2d", "snap_00001.h5", "density", density2d, (int)(sizeof(density2d) / sizeof(density2d[0])));
  /* what compare reads of a snapshot: the grid (every fifth edit), the time, the density; a model of another name is no concern of compare */
  for (size_t k = 0; k < sizeof(grid) / sizeof(grid[0]); k += 5) AttributeMutants(c, "snap1d.h5", "pde1d", "snap_00001.h5", &grid[k], 1);
  AttributeMutants(c, "snap1d.h5", "pde1d", "snap_00001.h5", state, 9);
  AttributeMutants(c, "snap1d.h5", "pde1d", "snap_00001.h5", &other_model, 1);
  DatasetMutants(c, "snap1d.h5", "pde1d", "snap_00001.h5", "density", density_pde, (int)(sizeof(density_pde) / sizeof(density_pde[0])));
  DatasetMutants(c, "snap2d.h5", "pde2d", "snap_00001.h5", "density", density2d, (int)(sizeof(density2d) / sizeof(density2d[0])));
  LinkMutants(c, "snap1d.h5", "init1d", "snap_00001.h5", "density");
  LinkMutants(c, "snap1d.h5", "pde1d", "snap_00001.h5", "density");
  /* a BDF history that the stepper state announces: of the wrong length, not finite */
  for (size_t k = 0; k < sizeof(previous) / sizeof(previous[0]); k++) {
    hid_t h5 = EditCopy(c, "snap1d.h5", "init1d", '2', "snap_00001.h5", k ? "history_length 1 with a NaN in /previous_density_1" : "history_length 1 with a /previous_density_1 of 31 values");
    EditAttribute(h5, &history);
    H5Lcopy(h5, "density", h5, "previous_density_1", H5P_DEFAULT, H5P_DEFAULT);
    EditDataset(h5, "previous_density_1", &previous[k]);
    H5Fclose(h5);
  }
}

/* Particle files of gradflow: positions that are not finite or outside the box, wrong shapes and types, unwritten data, bad times. */
static void ParticleMutants(Corpus *c)
{
  const DatasetEdit particles1d[] = {
      {'2', DATA_DOUBLE, 2, {200, 1}, 7, NAN, 0},
      {'2', DATA_DOUBLE, 2, {200, 1}, 7, 1e308, 0},
      {'2', DATA_DOUBLE, 2, {200, 1}, 7, -1e308, 0},
      {'2', DATA_DOUBLE, 2, {200, 1}, 7, 100, 0},
      {'0', DATA_DOUBLE, 2, {200, 1}, 7, 5, 0},
      {'2', DATA_DOUBLE, 3, {200, 1, 1}, -1, 0, 0},
      {'0', DATA_DOUBLE, 1, {200}, -1, 0, 0},
      {'2', DATA_DOUBLE, 2, {200, 2}, -1, 0, 0},
      {'2', DATA_DOUBLE, 2, {0, 1}, -1, 0, 0},
      {'0', DATA_INTEGER, 2, {200, 1}, -1, 0, 0},
      {'2', DATA_COMPOUND, 2, {200, 1}, -1, 0, 0},
      {'2', DATA_DELETE, 0, {0}, -1, 0, 0},
      {'2', DATA_GROUP, 0, {0}, -1, 0, 0},
      {'2', DATA_UNWRITTEN, 2, {200, 1}, -1, 0, 0},
      {'2', DATA_UNWRITTEN, 2, {2147483647, 1}, -1, 0, 0},
      {'2', DATA_UNWRITTEN, 2, {3000000000ull, 1}, -1, 0, 0},
  };
  const DatasetEdit particles2d[] = {
      {'2', DATA_DOUBLE, 2, {200, 2}, 9, NAN, 0}, {'2', DATA_DOUBLE, 2, {200, 2}, 9, -1e308, 0}, {'2', DATA_DOUBLE, 2, {200, 2}, 9, 7, 0},
      {'2', DATA_DOUBLE, 2, {200, 1}, -1, 0, 0},  {'2', DATA_DOUBLE, 2, {200, 3}, -1, 0, 0},     {'2', DATA_DOUBLE, 1, {400}, -1, 0, 0},
  };
  const AttributeEdit attributes[] = {
      {'2', "/particles", "time", VALUE_DOUBLE, 0, {NAN}, NULL}, {'2', "/particles", "time", VALUE_DOUBLE, 0, {INFINITY}, NULL}, {'2', "/particles", "time", VALUE_DOUBLE, 0, {0.3}, NULL}, {'0', "/particles", "time", VALUE_DELETE, 0, {0}, NULL},
      {'2', "/particles", "time", VALUE_STRING, 0, {0}, "0.1"},  {'2', "/particles", "time", VALUE_DOUBLE, 2, {0.1, 0.1}, NULL}, {'0', "/", "n_particles", VALUE_LLONG, 0, {5}, NULL},
  };
  const size_t      fixed[][3]  = {{BYTE_FF, 120, 8}, {BYTE_FF, 0, 8}, {BYTE_FF, 40, 8}, {BYTE_ZERO, 96, 16}, {BYTE_TRUNCATE, 0, 0}, {BYTE_TRUNCATE, (size_t)-1, 0}};
  const char *const readers1d[] = {"particles1d"}, *const readers2d[] = {"particles2d"};

  DatasetMutants(c, "particles1d.h5", "particles1d", "cloud_t0.1.h5", "particles", particles1d, (int)(sizeof(particles1d) / sizeof(particles1d[0])));
  DatasetMutants(c, "particles2d.h5", "particles2d", "cloud_t0.1.h5", "particles", particles2d, (int)(sizeof(particles2d) / sizeof(particles2d[0])));
  AttributeMutants(c, "particles1d.h5", "particles1d", "cloud_t0.1.h5", attributes, (int)(sizeof(attributes) / sizeof(attributes[0])));
  LinkMutants(c, "particles1d.h5", "particles1d", "cloud_t0.1.h5", "particles");
  ByteMutants(c, "particles1d.h5", readers1d, 1, "cloud_t0.1.h5", fixed, (int)(sizeof(fixed) / sizeof(fixed[0])), 8);
  ByteMutants(c, "particles2d.h5", readers2d, 1, "cloud_t0.1.h5", NULL, 0, 4);
}

/* Byte offsets of line k of text (0-based; k past the end: the end). */
static void FindLine(const char *text, size_t size, size_t k, size_t *begin, size_t *end)
{
  size_t at = 0;

  for (size_t line = 0; line < k && at < size; at++)
    if (text[at] == '\n') line++;
  *begin = at;
  while (at < size && text[at] != '\n') at++;
  *end = at;
}

/* One line of a text seed replaced by len bytes (they may hold NULs and newlines). */
typedef struct {
  char        expect;
  size_t      line;
  const char *bytes;
  size_t      len; /* 0: strlen(bytes) */
  const char *what;
} LineEdit;

/* One mutant of the text seed per line edit, for reader. */
static void LineMutants(Corpus *c, const char seed[], const char reader[], const char file[], const LineEdit *edits, int n)
{
  size_t         size, begin, end;
  unsigned char *text = ReadSeed(c, seed, &size);

  for (int k = 0; k < n; k++) {
    const LineEdit *e   = &edits[k];
    const size_t    len = e->len ? e->len : strlen(e->bytes);
    FILE           *f;

    FindLine((const char *)text, size, e->line, &begin, &end);
    NewMutant(c, reader, e->expect, file, "%s: line %zu replaced by %s", seed, e->line + 1, e->what ? e->what : e->bytes);
    if (!(f = fopen(c->path, "wb"))) Die("cannot write %s", c->path);
    fwrite(text, 1, begin, f);
    fwrite(e->bytes, 1, len, f);
    fwrite(text + end, 1, size - end, f);
    fclose(f);
  }
  free(text);
}

/* A text file of a repeated piece: n bytes of it, then tail. */
static void RepeatMutant(Corpus *c, const char reader[], char expect, const char file[], const char head[], const char piece[], size_t n, const char tail[], const char what[])
{
  FILE        *f   = fopen(NewMutant(c, reader, expect, file, "%s", what), "wb");
  const size_t len = strlen(piece);

  if (!f) Die("cannot write %s", c->path);
  fputs(head, f);
  for (size_t k = 0; k < n; k += len) fwrite(piece, 1, len < n - k ? len : n - k, f);
  fputs(tail, f);
  fclose(f);
}

/* Particle CSV files: NUL bytes, numbers out of range or not finite, ragged rows and empty fields, junk, a 1 MB line, no rows. */
static void TextMutants(Corpus *c)
{
  const LineEdit csv1d[] = {
      {'2', 50,
       "\0"
       "0.25",
       5, "a NUL byte and 0.25"},
      {'2', 50,
       "0.2\0"
       "5",
       5, "0.2, a NUL byte, 5"},
      {'2', 50, "0.25\0", 5, "0.25 and a NUL byte"},
      {'2', 50, "\0", 1, "a NUL byte"},
      {'2', 50, "1e308", 0, NULL},
      {'2', 50, "-1e308", 0, NULL},
      {'2', 50, "nan", 0, NULL},
      {'2', 50, "inf", 0, NULL},
      {'2', 50, "1e999", 0, NULL},
      {'2', 50, "5.000000001", 0, NULL},
      {'0', 50, "5", 0, NULL},
      {'0', 50, "0x1p-2", 0, NULL},
      {'0', 50, "1e-320", 0, NULL},
      {'0', 50, "", 0, "an empty line"},
      {'2', 50, "0.5,0.5", 0, NULL},
      {'2', 50, ",0.5", 0, NULL},
      {'0', 50, "0.5,", 0, NULL},
      {'2', 50, "0.5abc", 0, NULL},
      {'2', 50, "x", 0, "the header again"},
      {'*', 50, "\x93\x07\xff\xfe\x01 0.5 \x80", 0, "binary junk"},
      {'0', 0, "", 0, "an empty line"},
  };
  const LineEdit csv2d[] = {
      {'2', 50,
       "\0"
       "0.1,0.2",
       8, "a NUL byte and 0.1,0.2"},
      {'2', 50,
       "0.1,\0"
       "0.2",
       8, "0.1, a NUL byte, 0.2"},
      {'2', 50, "0.1,1e308", 0, NULL},
      {'2', 50, "0.1,nan", 0, NULL},
      {'2', 50, "0.1,7", 0, NULL},
      {'2', 50, "0.1,0.2,0.3", 0, NULL},
      {'2', 50, "0.1", 0, NULL},
      {'2', 50, "0.1,,0.2", 0, NULL},
      {'0', 50, "0.1\t0.2", 0, "0.1 TAB 0.2"},
  };
  const LineEdit whole[] = {
      {'2', 0, "", 0, "nothing: an empty file"},
      {'2', 0, "x\n", 0, "only a header"},
      {'2', 0, "# only a comment\n", 0, NULL},
  };
  const size_t      fixed[][3] = {{BYTE_ZERO, 300, 1}, {BYTE_TRUNCATE, 0, 0}};
  const char *const readers[]  = {"particles1d"};
  size_t            size;
  unsigned char    *text = ReadSeed(c, "cloud1d.csv", &size);

  LineMutants(c, "cloud1d.csv", "particles1d", "cloud_t0.1.csv", csv1d, (int)(sizeof(csv1d) / sizeof(csv1d[0])));
  LineMutants(c, "cloud2d.csv", "particles2d", "cloud_t0.1.csv", csv2d, (int)(sizeof(csv2d) / sizeof(csv2d[0])));
  for (int k = 0; k < 3; k++) {
    NewMutant(c, "particles1d", whole[k].expect, "cloud_t0.1.csv", "%s", whole[k].what ? whole[k].what : whole[k].bytes);
    WriteBytes(c->path, whole[k].bytes, strlen(whole[k].bytes));
  }
  {
    /* the seed with CRLF line ends, and behind a UTF-8 byte order mark */
    FILE *f = fopen(NewMutant(c, "particles1d", '0', "cloud_t0.1.csv", "cloud1d.csv with CRLF line ends"), "wb");
    for (size_t k = 0; k < size; k++) {
      if (text[k] == '\n') fputc('\r', f);
      fputc(text[k], f);
    }
    fclose(f);
    f = fopen(NewMutant(c, "particles1d", '0', "cloud_t0.1.csv", "cloud1d.csv behind a byte order mark"), "wb");
    fputs("\xEF\xBB\xBF", f);
    fwrite(text, 1, size, f);
    fclose(f);
  }
  RepeatMutant(c, "particles1d", '2', "cloud_t0.1.csv", "x\n0.5\n", "1", 1 << 20, "\n0.25\n", "a 1 MB line of the digit 1");
  RepeatMutant(c, "particles1d", '0', "cloud_t0.1.csv", "x\n0.5\n", " ", 1 << 20, "0.5\n0.25\n", "1 MB of blanks before a number");
  RepeatMutant(c, "particles1d", '2', "cloud_t0.1.csv", "x\n0.5\n", "0.1,", 1 << 20, "0.1\n", "a 1 MB line of 0.1,0.1,...");
  RepeatMutant(c, "particles1d", '*', "cloud_t0.1.csv", "", "\x01\xfe\x93\x00\n\x7f", 4096, "", "4 kB of binary junk");
  ByteMutants(c, "cloud1d.csv", readers, 1, "cloud_t0.1.csv", fixed, (int)(sizeof(fixed) / sizeof(fixed[0])), 4);
  free(text);
}

/* A .npy file: magic, version, header length field (-1: the header's own), header, then data. */
static void WriteNPY(const char path[], const char magic[], int major, int minor, long long length, const char header[], const void *data, size_t data_len)
{
  FILE  *f   = fopen(path, "wb");
  size_t len = strlen(header);

  if (!f) Die("cannot write %s", path);
  if (length < 0) length = (long long)len;
  fwrite(magic, 1, 6, f);
  fputc(major, f);
  fputc(minor, f);
  for (int b = 0; b < (major == 1 || major == 0 || major > 3 ? 2 : 4); b++) fputc((int)((unsigned long long)length >> (8 * b)) & 0xff, f);
  fwrite(header, 1, len, f);
  fwrite(data, 1, data_len, f);
  fclose(f);
}

/* The dict of an NPY header padded with blanks and a newline to a 64-byte boundary (version 1 layout). */
static void NPYHeader(char header[], size_t len, const char descr[], const char fortran[], const char shape[])
{
  size_t n = (size_t)snprintf(header, len, "{'descr': %s, 'fortran_order': %s, 'shape': %s, }", descr, fortran, shape);

  while ((10 + n + 1) % 64 && n + 2 < len) header[n++] = ' ';
  header[n++] = '\n';
  header[n]   = 0;
}

typedef struct {
  char        expect;
  const char *descr, *fortran, *shape;
} NPYEdit;

/* NumPy files: bad magic, versions and header lengths, shapes that disagree with the data or overflow, dtypes gradflow does not read, positions that are not finite. */
static void NPYMutants(Corpus *c)
{
  const NPYEdit headers[] = {
      {'0', "'<f8'", "False", "(200,)"},
      {'0', "'<f8'", "True", "(200, 1)"},
      {'2', "'<f8'", "False", "(2000, 1)"},
      {'2', "'<f8'", "False", "(0, 1)"},
      {'2', "'<f8'", "False", "(100, 2)"},
      {'2', "'<f8'", "False", "(1, 1, 200)"},
      {'2', "'<f8'", "False", "()"},
      {'2', "'<f8'", "False", "(4294967296, 1)"},
      {'2', "'<f8'", "False", "(2305843009213693952, 1)"},
      {'2', "'<f8'", "False", "(99999999999999999999999, 1)"},
      {'2', "'<f8'", "False", "(-200, 1)"},
      {'2', "'<i8'", "False", "(200, 1)"},
      {'2', "'|u1'", "False", "(1600, 1)"},
      {'2', "'<f2'", "False", "(800, 1)"},
      {'2', "[('x', '<f8')]", "False", "(200,)"},
      {'2', "'<f8'", "1", "(200, 1)"},
      {'*', "'>f8'", "False", "(200, 1)"},
  };
  const char *const raw[] = {
      "{'descr': '<f8', 'fortran_order': False, }",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (200, 1), 'extra': 1, }",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (200, 1), } junk",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (200, 1)",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (200, 1), }            \xff\xfe\n",
  };
  const double       specials[] = {NAN, 1e308, -INFINITY, 100};
  char               header[256];
  size_t             size, data_len, offset;
  unsigned char     *seed = ReadSeed(c, "cloud1d.npy", &size), *seed2d;
  double            *data;
  const unsigned int header_len = seed[8] | (unsigned)seed[9] << 8;

  offset   = 10 + header_len;
  data_len = size - offset;
  data     = malloc(data_len);
  memcpy(data, seed + offset, data_len);
  NPYHeader(header, sizeof(header), "'<f8'", "False", "(200, 1)");
  WriteNPY(NewMutant(c, "particles1d", '0', "cloud_t0.1.npy", "cloud1d.npy rewritten"), "\x93NUMPY", 1, 0, -1, header, data, data_len);
  for (size_t k = 0; k < sizeof(headers) / sizeof(headers[0]); k++) {
    NPYHeader(header, sizeof(header), headers[k].descr, headers[k].fortran, headers[k].shape);
    WriteNPY(NewMutant(c, "particles1d", headers[k].expect, "cloud_t0.1.npy", "header {'descr': %s, 'fortran_order': %s, 'shape': %s}", headers[k].descr, headers[k].fortran, headers[k].shape), "\x93NUMPY", 1, 0, -1, header, data, data_len);
  }
  for (size_t k = 0; k < sizeof(raw) / sizeof(raw[0]); k++) WriteNPY(NewMutant(c, "particles1d", '2', "cloud_t0.1.npy", "header %s", raw[k]), "\x93NUMPY", 1, 0, -1, raw[k], data, data_len);
  {
    const unsigned char keep = seed[30];
    seed[30]                 = 0;
    NewMutant(c, "particles1d", '2', "cloud_t0.1.npy", "a NUL byte inside the header");
    WriteBytes(c->path, seed, size);
    seed[30] = keep;
  }
  NPYHeader(header, sizeof(header), "'<f8'", "False", "(200, 1)");
  WriteNPY(NewMutant(c, "particles1d", '2', "cloud_t0.1.npy", "magic \\x93NUMPX"), "\x93NUMPX", 1, 0, -1, header, data, data_len);
  WriteNPY(NewMutant(c, "particles1d", '2', "cloud_t0.1.npy", "version 0.0"), "\x93NUMPY", 0, 0, -1, header, data, data_len);
  WriteNPY(NewMutant(c, "particles1d", '2', "cloud_t0.1.npy", "version 4.0"), "\x93NUMPY", 4, 0, -1, header, data, data_len);
  WriteNPY(NewMutant(c, "particles1d", '0', "cloud_t0.1.npy", "version 2.0"), "\x93NUMPY", 2, 0, -1, header, data, data_len);
  WriteNPY(NewMutant(c, "particles1d", '0', "cloud_t0.1.npy", "version 3.0"), "\x93NUMPY", 3, 0, -1, header, data, data_len);
  WriteNPY(NewMutant(c, "particles1d", '2', "cloud_t0.1.npy", "header length 65535, more than the file"), "\x93NUMPY", 1, 0, 65535, header, data, data_len);
  WriteNPY(NewMutant(c, "particles1d", '2', "cloud_t0.1.npy", "version 2.0 header length 4294967295"), "\x93NUMPY", 2, 0, 4294967295ll, header, data, data_len);
  WriteNPY(NewMutant(c, "particles1d", '2', "cloud_t0.1.npy", "header length 0"), "\x93NUMPY", 1, 0, 0, header, data, data_len);
  WriteNPY(NewMutant(c, "particles1d", '2', "cloud_t0.1.npy", "header length 30, inside the dict"), "\x93NUMPY", 1, 0, 30, header, data, data_len);
  WriteNPY(NewMutant(c, "particles1d", '2', "cloud_t0.1.npy", "header length 8 too many"), "\x93NUMPY", 1, 0, (long long)strlen(header) + 8, header, data, data_len);
  seed[6] = 2;
  NewMutant(c, "particles1d", '2', "cloud_t0.1.npy", "version byte 2 in a version 1 file");
  WriteBytes(c->path, seed, size);
  seed[6] = 1;
  NewMutant(c, "particles1d", '2', "cloud_t0.1.npy", "truncated inside the header");
  WriteBytes(c->path, seed, 30);
  NewMutant(c, "particles1d", '2', "cloud_t0.1.npy", "truncated inside the data");
  WriteBytes(c->path, seed, size - 5);
  NewMutant(c, "particles1d", '2', "cloud_t0.1.npy", "8 bytes appended");
  memset(seed + size, 0x3f, 8);
  WriteBytes(c->path, seed, size + 8);
  for (size_t k = 0; k < sizeof(specials) / sizeof(specials[0]); k++) {
    const double keep = data[7];
    data[7]           = specials[k];
    WriteNPY(NewMutant(c, "particles1d", '2', "cloud_t0.1.npy", "position 8 = %g", specials[k]), "\x93NUMPY", 1, 0, -1, header, data, data_len);
    data[7] = keep;
  }
  {
    /* float32 and big-endian float64 of the same positions */
    float         single[200];
    unsigned char swapped[1600];
    for (int k = 0; k < 200; k++) {
      single[k] = (float)data[k];
      for (int b = 0; b < 8; b++) swapped[8 * k + b] = ((unsigned char *)&data[k])[7 - b];
    }
    NPYHeader(header, sizeof(header), "'<f4'", "False", "(200, 1)");
    WriteNPY(NewMutant(c, "particles1d", '0', "cloud_t0.1.npy", "float32"), "\x93NUMPY", 1, 0, -1, header, single, sizeof(single));
    NPYHeader(header, sizeof(header), "'>f8'", "False", "(200, 1)");
    WriteNPY(NewMutant(c, "particles1d", '0', "cloud_t0.1.npy", "big-endian float64"), "\x93NUMPY", 1, 0, -1, header, swapped, sizeof(swapped));
  }
  free(data);
  free(seed);
  seed     = ReadSeed(c, "cloud2d.npy", &size);
  offset   = 10 + (seed[8] | (unsigned)seed[9] << 8);
  data_len = size - offset;
  data     = malloc(data_len);
  memcpy(data, seed + offset, data_len);
  seed2d = seed;
  {
    const NPYEdit shapes[] = {{'2', "'<f8'", "False", "(400, 1)"}, {'2', "'<f8'", "False", "(400,)"}, {'2', "'<f8'", "False", "(100, 3)"}, {'0', "'<f8'", "True", "(200, 2)"}};
    for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
      NPYHeader(header, sizeof(header), shapes[k].descr, shapes[k].fortran, shapes[k].shape);
      WriteNPY(NewMutant(c, "particles2d", shapes[k].expect, "cloud_t0.1.npy", "header {'descr': %s, 'fortran_order': %s, 'shape': %s}", shapes[k].descr, shapes[k].fortran, shapes[k].shape), "\x93NUMPY", 1, 0, -1, header, data, data_len);
    }
    NPYHeader(header, sizeof(header), "'<f8'", "False", "(200, 2)");
    data[9] = NAN;
    WriteNPY(NewMutant(c, "particles2d", '2', "cloud_t0.1.npy", "position 5, y = nan"), "\x93NUMPY", 1, 0, -1, header, data, data_len);
    data[9] = -6;
    WriteNPY(NewMutant(c, "particles2d", '2', "cloud_t0.1.npy", "position 5, y = -6"), "\x93NUMPY", 1, 0, -1, header, data, data_len);
  }
  free(data);
  free(seed2d);
}

static const char options_seed[] = "# fuzz seed: a short 1D Fokker-Planck run\n"
                                   "model: fokker_planck\n"
                                   "potential: quadratic\n"
                                   "dim: 1\n"
                                   "da_grid_x: 16\n"
                                   "domain_lower: -4\n"
                                   "domain_upper: 4\n"
                                   "init_mean: [0.5]\n"
                                   "ts_max_time: 0.05\n"
                                   "output_interval: 0.05\n";

static const char mesh_seed[] = "# fuzz seed: a mesh preset\n"
                                "dim: 1\n"
                                "da_grid_x: 16\n"
                                "domain_lower: -4\n"
                                "domain_upper: 4\n"
                                "bc: noflux\n";

/* Options and mesh files: binary bytes, YAML syntax errors, structures an options file cannot hold, unknown or bad options. */
static void OptionsMutants(Corpus *c)
{
  const LineEdit options[] = {
      {'0', 0, "# unchanged", 0, NULL},
      {'2', 4,
       "da_grid_x: 1\0"
       "6",
       15, "da_grid_x: 1, a NUL byte, 6"},
      {'2', 4, "da_grid_x: \xff\xfe\x80", 0, "da_grid_x: 0xFF 0xFE 0x80"},
      {'2', 4, "\tda_grid_x: 16", 0, "TAB da_grid_x: 16"},
      {'2', 4, "da_grid_x: [16", 0, NULL},
      {'2', 4, "da_grid_x:\n  cells: 16", 0, "a nested mapping"},
      {'2', 4, "da_grid_x: 16\nda_grid_x: 17", 0, "a key twice"},
      {'2', 0, "- da_grid_x\n- 16", 0, "a list"},
      {'2', 4, "da_grid_x: *cells", 0, NULL},
      {'2', 4, "<<: {da_grid_x: 16}", 0, NULL},
      {'2', 4, "da_grid_x:", 0, NULL},
      {'2', 4, "---\nda_grid_x: 16", 0, "a second document"},
      {'2', 4, "-da_grid_x: 16", 0, NULL},
      {'2', 4, "da_grid_q: 16", 0, NULL},
      {'2', 4, "da_grid_x: 1", 0, NULL},
      {'2', 4, "da_grid_x: 16abc", 0, NULL},
      {'2', 8, "ts_max_time: .nan", 0, NULL},
      {'2', 7, "init_mean: []", 0, NULL},
      {'2', 7, "init_mean: [[0.5]]", 0, NULL},
      {'0', 4, "da_grid_x: '16'", 0, NULL},
  };
  const LineEdit mesh[] = {
      {'0', 0, "# unchanged", 0, NULL},
      {'2', 2,
       "da_grid_x: 1\0"
       "6",
       15, "da_grid_x: 1, a NUL byte, 6"},
      {'2', 2, "ts_max_time: 9", 0, NULL},
      {'2', 2, "da_grid_x: [16", 0, NULL},
      {'2', 0, "- dim\n- 1", 0, "a list"},
      {'2', 2, "da_grid_x: 16\nda_grid_x: 16", 0, "a key twice"},
      {'2', 2, "da_grid_x: 1", 0, NULL},
  };
  const char *const readers[] = {"options"};
  char              path[4096];

  snprintf(path, sizeof(path), "%s/run.yaml", c->seeds);
  WriteBytes(path, options_seed, strlen(options_seed));
  snprintf(path, sizeof(path), "%s/mesh.yaml", c->seeds);
  WriteBytes(path, mesh_seed, strlen(mesh_seed));
  LineMutants(c, "run.yaml", "options", "run.yaml", options, (int)(sizeof(options) / sizeof(options[0])));
  LineMutants(c, "mesh.yaml", "mesh", "mesh.yaml", mesh, (int)(sizeof(mesh) / sizeof(mesh[0])));
  ByteMutants(c, "run.yaml", readers, 1, "run.yaml", NULL, 0, 4);
  RepeatMutant(c, "options", '2', "run.yaml", options_seed, "# padding\n", (1 << 20) + 1, "", "1 MiB of comments after the options");
  RepeatMutant(c, "options", '2', "run.txt", "", "da_grid_x 16\n", 13, "", "PETSc's plain format without the leading '-'");
}

/* Random and chosen byte-level damage of every HDF5 seed, for every reader of it. */
static void HDF5ByteMutants(Corpus *c)
{
  const size_t      fixed[][3] = {{BYTE_FF, 120, 8}, {BYTE_FF, 0, 8}, {BYTE_FF, 8, 8}, {BYTE_FF, 40, 8}, {BYTE_FF, 96, 8}, {BYTE_ZERO, 96, 16}, {BYTE_TRUNCATE, 0, 0}, {BYTE_TRUNCATE, 512, 0}, {BYTE_TRUNCATE, (size_t)-1, 0}, {BYTE_APPEND, 0, 100}};
  const char *const init1d[] = {"init1d"}, *const pde1d[] = {"pde1d"}, *const both2d[] = {"init2d", "pde2d"};

  ByteMutants(c, "snap1d.h5", init1d, 1, "snap_00001.h5", fixed, (int)(sizeof(fixed) / sizeof(fixed[0])), 8);
  ByteMutants(c, "snap1d.h5", pde1d, 1, "snap_00001.h5", fixed, (int)(sizeof(fixed) / sizeof(fixed[0])), 8);
  ByteMutants(c, "snap2d.h5", both2d, 2, "snap_00001.h5", NULL, 0, 6);
}

/*
  The seeds as OUT/seeds: the HDF5 ones with their dataset rewritten without a modification
  time (HDF5 would update it on every edit of its attributes: the corpus would differ from
  run to run), the others as they are.
*/
static void CopySeeds(Corpus *c, const char from[])
{
  const char *const names[] = {"snap1d.h5", "snap2d.h5", "particles1d.h5", "particles2d.h5", "cloud1d.csv", "cloud2d.csv", "cloud1d.npy", "cloud2d.npy"};
  char              path[8192], dir[4096];

  snprintf(dir, sizeof(dir), "%s/seeds", c->out);
  if (mkdir(dir, 0755) && errno != EEXIST) Die("cannot create %s: %s", dir, strerror(errno));
  for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
    size_t         size;
    unsigned char *data;
    c->seeds = from;
    data     = ReadSeed(c, names[k], &size);
    snprintf(path, sizeof(path), "%s/%s", dir, names[k]);
    WriteBytes(path, data, size);
    free(data);
    if (strstr(names[k], ".h5")) {
      const char *dataset = names[k][0] == 's' ? "density" : "particles";
      hid_t       file    = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT), dset, space;
      DatasetEdit same    = {'0', DATA_DOUBLE, 0, {0}, -1, 0, 0};
      if (file < 0 || (dset = H5Dopen2(file, dataset, H5P_DEFAULT)) < 0) Die("%s has no dataset %s", path, dataset);
      space     = H5Dget_space(dset);
      same.rank = H5Sget_simple_extent_dims(space, same.dims, NULL);
      H5Sclose(space);
      H5Dclose(dset);
      EditDataset(file, dataset, &same);
      H5Fclose(file);
    }
  }
  c->seeds = strdup(dir);
}

/* Whether snapshot path holds a finite, nonnegative /density of positive mass and a finite time. */
static int Sound(const char path[])
{
  hid_t    file, dset = -1, space = -1, attr = -1;
  hssize_t n   = 0;
  double  *rho = NULL, time = NAN, sum = 0;
  int      ok = 0;

  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  if ((file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) return 0;
  if ((dset = H5Dopen2(file, "density", H5P_DEFAULT)) >= 0 && (space = H5Dget_space(dset)) >= 0 && (n = H5Sget_simple_extent_npoints(space)) > 0 && n < (1 << 24) && (rho = malloc(sizeof(double) * (size_t)n)) &&
      H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, rho) >= 0 && (attr = H5Aopen(dset, "time", H5P_DEFAULT)) >= 0 && H5Aread(attr, H5T_NATIVE_DOUBLE, &time) >= 0 && isfinite(time)) {
    ok = 1;
    for (hssize_t k = 0; k < n; k++) {
      if (!isfinite(rho[k]) || rho[k] < 0) ok = 0;
      sum += rho[k];
    }
    if (!(sum > 0) || !isfinite(sum)) ok = 0;
  }
  if (!ok) fprintf(stderr, "sound: %s: /density or its time is not finite, negative, or of no mass\n", path);
  free(rho);
  if (attr >= 0) H5Aclose(attr);
  if (space >= 0) H5Sclose(space);
  if (dset >= 0) H5Dclose(dset);
  H5Fclose(file);
  return ok;
}

int main(int argc, char **argv)
{
  Corpus c;
  char   path[4096];

  if (argc == 3 && !strcmp(argv[1], "sound")) return Sound(argv[2]) ? 0 : 1;
  if (argc != 4) {
    fprintf(stderr, "usage: gf_mutate SEED SEEDS OUT | sound SNAPSHOT\n");
    return 2;
  }
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  c.out       = argv[3];
  c.count     = 0;
  c.rng.state = strtoull(argv[1], NULL, 10);
  if (mkdir(c.out, 0755) && errno != EEXIST) Die("cannot create %s: %s", c.out, strerror(errno));
  CopySeeds(&c, argv[2]);
  snprintf(path, sizeof(path), "%s/manifest.txt", c.out);
  if (!(c.manifest = fopen(path, "w"))) Die("cannot write %s", path);
  HDF5ByteMutants(&c);
  SnapshotMutants(&c);
  ParticleMutants(&c);
  TextMutants(&c);
  NPYMutants(&c);
  OptionsMutants(&c);
  fclose(c.manifest);
  printf("gf_mutate: %d mutants in %s (seed %s)\n", c.count, c.out, argv[1]);
  return 0;
}
