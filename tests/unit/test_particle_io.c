/* Particle files: the parallel writer, the HDF5, text and NumPy readers, every way a file can be wrong, times in file names, particle sources. */
#include "../../src/particles/particles.h"
#include "gftest.h"
#include <hdf5.h>
#include <errno.h>
#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

/* Coordinate a of particle i: values that use all 53 bits, of both signs and many magnitudes. */
static PetscReal Position(PetscInt i, PetscInt a)
{
  return sin(1.0 + 3.7 * (double)i + 0.9 * (double)a) * pow(10.0, (double)((7 * i + 3 * a) % 9) - 4.0);
}

static PetscReal *Positions(PetscInt n, PetscInt dim)
{
  PetscReal *x;

  GF_CK(PetscMalloc1(n * dim, &x));
  for (PetscInt i = 0; i < n; i++)
    for (PetscInt a = 0; a < dim; a++) x[i * dim + a] = Position(i, a);
  return x;
}

/* The same values rounded to float32, as a float32 file holds them. */
static PetscReal *PositionsAsFloat(PetscInt n, PetscInt dim)
{
  PetscReal *x = Positions(n, dim);

  for (PetscInt k = 0; k < n * dim; k++) x[k] = (float)x[k];
  return x;
}

static int Rank(void)
{
  PetscMPIInt rank;

  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  return rank;
}

/* Rank 0 writes text into path (the caller synchronises). */
static void WriteText(const char path[], const char text[])
{
  FILE *f;

  if (Rank() != 0) return;
  f = fopen(path, "w");
  ck_assert_msg(f != NULL, "cannot create %s", path);
  fputs(text, f);
  ck_assert_int_eq(fclose(f), 0);
}

static void MakeDirectory(const char path[])
{
  if (Rank() == 0) ck_assert_msg(mkdir(path, 0775) == 0 || errno == EEXIST, "cannot create directory %s", path);
}

/* Rank 0 writes a .npy file of format version major.0 with dtype descr, shape (n, dim) or (n,) when flat, in C or Fortran order. */
static void WriteNPY(const char path[], int major, const char descr[], PetscBool fortran_order, PetscInt n, PetscInt dim, PetscBool flat, const PetscReal x[])
{
  const size_t   prefix = major == 1 ? 10 : 12, itemsize = descr[2] == '8' ? 8 : 4;
  const uint16_t one  = 1;
  const int      swap = (descr[0] == '>') == (*(const unsigned char *)&one == 1);
  char           header[256], shape[64];
  size_t         len;
  unsigned char  preamble[12] = {0x93, 'N', 'U', 'M', 'P', 'Y', (unsigned char)major, 0};
  FILE          *f;

  if (Rank() != 0) return;
  if (flat)
    snprintf(shape, sizeof(shape), "(%d,)", (int)n);
  else
    snprintf(shape, sizeof(shape), "(%d, %d)", (int)n, (int)dim);
  len = (size_t)snprintf(header, sizeof(header), "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }", descr, fortran_order ? "True" : "False", shape);
  while ((prefix + len + 1) % 64) header[len++] = ' ';
  header[len++] = '\n';
  for (size_t b = 0; b < prefix - 8; b++) preamble[8 + b] = (unsigned char)(len >> (8 * b));
  f = fopen(path, "wb");
  ck_assert(f != NULL);
  ck_assert_uint_eq(fwrite(preamble, 1, prefix, f), prefix);
  ck_assert_uint_eq(fwrite(header, 1, len, f), len);
  for (PetscInt k = 0; k < n * dim; k++) {
    const PetscInt i = fortran_order ? k % n : k / dim, a = fortran_order ? k / n : k % dim;
    const double   d = x[i * dim + a];
    const float    s = (float)d;
    unsigned char  bytes[8], out[8];
    memcpy(bytes, itemsize == 8 ? (const void *)&d : (const void *)&s, itemsize);
    for (size_t b = 0; b < itemsize; b++) out[b] = swap ? bytes[itemsize - 1 - b] : bytes[b];
    ck_assert_uint_eq(fwrite(out, 1, itemsize, f), itemsize);
  }
  ck_assert_int_eq(fclose(f), 0);
}

/* Rank 0 writes a format 1.0 .npy file with this header dict, followed by count doubles 0, 1, 2, ... */
static void WriteNPYHeader(const char path[], const char dict[], size_t count)
{
  const size_t  len          = strlen(dict);
  unsigned char preamble[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)len, (unsigned char)(len >> 8)};
  FILE         *f;

  if (Rank() != 0) return;
  f = fopen(path, "wb");
  ck_assert(f != NULL);
  ck_assert_uint_eq(fwrite(preamble, 1, 10, f), 10);
  ck_assert_uint_eq(fwrite(dict, 1, len, f), len);
  for (size_t k = 0; k < count; k++) {
    const double value = (double)k;
    ck_assert_uint_eq(fwrite(&value, sizeof(value), 1, f), 1);
  }
  ck_assert_int_eq(fclose(f), 0);
}

/* Read path and check that it holds exactly (bit for bit) the n x dim values expected: whole on every rank, and by blocks, each rank its rows (PetscSplitOwnership's). */
static void CheckReadsAs(const char path[], const char dataset[], PetscInt expected_dim, PetscInt n, PetscInt dim, const PetscReal expected[], GFParticleFileInfo *info)
{
  PetscReal         *x;
  PetscInt           start, count, share = PETSC_DECIDE, total = n;
  GFParticleFileInfo block_info;

  GF_CK(GFParticleFileRead(PETSC_COMM_WORLD, path, dataset, expected_dim, info, &x));
  ck_assert_msg(info->n == n && info->dim == dim, "%s: read %d x %d, expected %d x %d", path, (int)info->n, (int)info->dim, (int)n, (int)dim);
  for (PetscInt k = 0; k < n * dim; k++) ck_assert_msg(!memcmp(&x[k], &expected[k], sizeof(PetscReal)), "%s: value %d is %.17g, expected %.17g", path, (int)k, x[k], expected[k]);
  GF_CK(PetscFree(x));
  GF_CK(GFParticleFileReadBlocks(PETSC_COMM_WORLD, path, dataset, expected_dim, &block_info, &start, &count, &x));
  GF_CK(PetscSplitOwnership(PETSC_COMM_WORLD, &share, &total));
  ck_assert_msg(block_info.n == n && block_info.dim == dim && count == share, "%s: a block of %d rows of %d x %d, expected %d rows of %d x %d", path, (int)count, (int)block_info.n, (int)block_info.dim, (int)share, (int)n, (int)dim);
  {
    PetscInt end;
    GF_CK(MPI_Scan(&count, &end, 1, MPIU_INT, MPI_SUM, PETSC_COMM_WORLD));
    ck_assert_msg(start == end - count, "%s: the block starts at row %d, expected %d", path, (int)start, (int)(end - count));
  }
  for (PetscInt k = 0; k < count * dim; k++) ck_assert_msg(!memcmp(&x[k], &expected[start * dim + k], sizeof(PetscReal)), "%s: value %d of the block from row %d is %.17g, expected %.17g", path, (int)k, (int)start, x[k], expected[start * dim + k]);
  GF_CK(PetscFree(x));
}

/* A file without gradflow attributes: no model, time, step or seed. */
static void CheckNoAttributes(const GFParticleFileInfo *info)
{
  ck_assert_str_eq(info->model, "");
  ck_assert(isnan(info->time));
  ck_assert_int_eq(info->step, -1);
  ck_assert_int_eq(info->seed, -1);
}

/* This rank's block of n rows: on more than one rank rank 1 holds none and rank 0 a larger block than the others. */
static void Blocks(PetscInt n, PetscInt *start, PetscInt *nlocal)
{
  PetscMPIInt size, rank;
  PetscInt    share, begin = 0;

  MPI_Comm_size(PETSC_COMM_WORLD, &size);
  MPI_Comm_rank(PETSC_COMM_WORLD, &rank);
  *start  = 0;
  *nlocal = n;
  if (size == 1) return;
  share = n / (size - 1);
  for (PetscMPIInt r = 0; r <= rank; r++) {
    const PetscInt count = r == 1 ? 0 : share + (r == 0 ? n % (size - 1) : 0);
    *start               = begin;
    *nlocal              = count;
    begin += count;
  }
}

static GFGrid MakeGrid(PetscInt dim, GFBoundary bc)
{
  GFGrid grid;

  GF_CK(GFGridCreate(PETSC_COMM_WORLD, &grid));
  grid->dim = dim;
  grid->bc  = bc;
  for (PetscInt a = 0; a < dim; a++) {
    grid->lower[a] = -1.0 - a;
    grid->upper[a] = 2.0 + 0.5 * a;
  }
  return grid;
}

/* Write the n x dim positions to path from this rank's block (rank 1 passes no array when it holds nothing). */
static void WriteParticles(const char path[], PetscInt n, PetscInt dim, const PetscReal all[], const GFParticleFileAttributes *attributes)
{
  PetscInt start, nlocal;

  Blocks(n, &start, &nlocal);
  GF_CK(GFParticleFileWrite(PETSC_COMM_WORLD, path, n, dim, start, nlocal, nlocal ? all + start * dim : NULL, attributes));
}

static void CheckStringAttribute(hid_t loc, const char name[], const char expected[])
{
  hid_t attr = H5Aopen(loc, name, H5P_DEFAULT), type;
  char  value[1024];

  ck_assert_msg(attr >= 0, "no attribute %s", name);
  type = H5Aget_type(attr);
  ck_assert(H5Tget_class(type) == H5T_STRING);
  ck_assert(H5Tis_variable_str(type) == 0);
  ck_assert(H5Tget_strpad(type) == H5T_STR_NULLTERM);
  ck_assert_uint_eq(H5Tget_size(type), strlen(expected) + 1);
  ck_assert(H5Aread(attr, type, value) >= 0);
  ck_assert_str_eq(value, expected);
  H5Tclose(type);
  H5Aclose(attr);
}

static void CheckInt64Attribute(hid_t loc, const char name[], int64_t expected)
{
  hid_t   attr = H5Aopen(loc, name, H5P_DEFAULT), space, type;
  int64_t value;

  ck_assert_msg(attr >= 0, "no attribute %s", name);
  space = H5Aget_space(attr);
  type  = H5Aget_type(attr);
  ck_assert(H5Sget_simple_extent_type(space) == H5S_SCALAR);
  ck_assert(H5Tget_class(type) == H5T_INTEGER && H5Tget_size(type) == 8);
  ck_assert(H5Aread(attr, H5T_NATIVE_INT64, &value) >= 0);
  ck_assert_msg(value == expected, "attribute %s is %lld, expected %lld", name, (long long)value, (long long)expected);
  H5Tclose(type);
  H5Sclose(space);
  H5Aclose(attr);
}

/* A double attribute: a scalar when n is 0, else an array of n. */
static void CheckRealAttribute(hid_t loc, const char name[], hssize_t n, const double expected[])
{
  hid_t  attr = H5Aopen(loc, name, H5P_DEFAULT), space, type;
  double value[3];

  ck_assert_msg(attr >= 0, "no attribute %s", name);
  space = H5Aget_space(attr);
  type  = H5Aget_type(attr);
  ck_assert(H5Sget_simple_extent_type(space) == (n ? H5S_SIMPLE : H5S_SCALAR));
  ck_assert_int_eq(H5Sget_simple_extent_npoints(space), n ? n : 1);
  ck_assert(H5Tequal(type, H5T_NATIVE_DOUBLE) > 0);
  ck_assert(H5Aread(attr, H5T_NATIVE_DOUBLE, value) >= 0);
  for (hssize_t k = 0; k < (n ? n : 1); k++) ck_assert_double_eq(value[k], expected[k]);
  H5Tclose(type);
  H5Sclose(space);
  H5Aclose(attr);
}

/* Rank 0 opens a written particle file with the HDF5 API and checks its dataset and every attribute. */
static void CheckParticleFile(const char path[], PetscInt n, PetscInt dim, const PetscReal expected[], const GFParticleFileAttributes *a)
{
  hid_t     file, dset, space, type;
  hsize_t   dims[2];
  double   *data, lower[3], upper[3];
  const int rank = Rank();

  if (rank != 0) return;
  file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  ck_assert(file >= 0);
  dset = H5Dopen2(file, "particles", H5P_DEFAULT);
  ck_assert(dset >= 0);
  space = H5Dget_space(dset);
  type  = H5Dget_type(dset);
  ck_assert(H5Tequal(type, H5T_NATIVE_DOUBLE) > 0);
  ck_assert_int_eq(H5Sget_simple_extent_ndims(space), 2);
  H5Sget_simple_extent_dims(space, dims, NULL);
  ck_assert(dims[0] == (hsize_t)n && dims[1] == (hsize_t)dim);
  data = (double *)malloc(sizeof(double) * (size_t)(n * dim));
  ck_assert(H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
  ck_assert(!memcmp(data, expected, sizeof(double) * (size_t)(n * dim)));
  free(data);
  CheckRealAttribute(dset, "time", 0, &a->time);
  CheckInt64Attribute(dset, "step", a->step);
  for (PetscInt d = 0; d < dim; d++) {
    lower[d] = a->grid->lower[d];
    upper[d] = a->grid->upper[d];
  }
  CheckStringAttribute(file, "model", a->model);
  CheckInt64Attribute(file, "dim", dim);
  CheckInt64Attribute(file, "n_particles", n);
  CheckInt64Attribute(file, "seed", a->seed);
  CheckRealAttribute(file, "domain_lower", dim, lower);
  CheckRealAttribute(file, "domain_upper", dim, upper);
  CheckStringAttribute(file, "bc", GFBoundaries[a->grid->bc]);
  CheckStringAttribute(file, "options", a->options ? a->options : "");
  CheckStringAttribute(file, "version", GFVersion);
  H5Tclose(type);
  H5Sclose(space);
  H5Dclose(dset);
  H5Fclose(file);
}

/* A parallel write from uneven blocks (rank 1 empty) reads back bit for bit, with every attribute; no .tmp is left behind. */
START_TEST(test_parallel_write_read_back)
{
  const PetscInt           n = 11, dim = 2;
  GFGrid                   grid       = MakeGrid(dim, GF_BC_PERIODIC);
  PetscReal               *x          = Positions(n, dim);
  GFParticleFileAttributes attributes = {"mckean_vlasov", "-particles_n 11 -particles_seed 12345678901", 12345678901LL, 0.375, 42, grid};
  GFParticleFileInfo       info;

  WriteParticles("pio_cloud.h5", n, dim, x, &attributes);
  ck_assert_int_eq(access("pio_cloud.h5", R_OK), 0);
  ck_assert_int_ne(access("pio_cloud.h5.tmp", F_OK), 0);
  CheckParticleFile("pio_cloud.h5", n, dim, x, &attributes);
  CheckReadsAs("pio_cloud.h5", NULL, dim, n, dim, x, &info);
  ck_assert_str_eq(info.model, "mckean_vlasov");
  ck_assert_double_eq(info.time, 0.375);
  ck_assert_int_eq(info.step, 42);
  ck_assert(info.seed == 12345678901LL);
  /* the file is replaced as a whole when written again */
  attributes.step = 43;
  WriteParticles("pio_cloud.h5", n, dim, x, &attributes);
  CheckReadsAs("pio_cloud.h5", "", 0, n, dim, x, &info);
  ck_assert_int_eq(info.step, 43);
  GF_CK(PetscFree(x));
  GF_CK(GFGridDestroy(&grid));
}
END_TEST

/* One-dimensional particles are still a 2-D dataset [n][1]; NULL options are written as "". */
START_TEST(test_write_one_dimension)
{
  const PetscInt           n = 5, dim = 1;
  GFGrid                   grid       = MakeGrid(dim, GF_BC_NOFLUX);
  PetscReal               *x          = Positions(n, dim);
  GFParticleFileAttributes attributes = {"fokker_planck", NULL, 7, 0.0, 0, grid};
  GFParticleFileInfo       info;

  WriteParticles("pio_line.h5", n, dim, x, &attributes);
  CheckParticleFile("pio_line.h5", n, dim, x, &attributes);
  CheckReadsAs("pio_line.h5", "particles", 1, n, dim, x, &info);
  ck_assert_str_eq(info.model, "fokker_planck");
  ck_assert_double_eq(info.time, 0.0);
  ck_assert_int_eq(info.step, 0);
  ck_assert(info.seed == 7);
  GF_CK(PetscFree(x));
  GF_CK(GFGridDestroy(&grid));
}
END_TEST

/* CSV with comments, a header, blank lines and mixed separators, printed with %.17g, reads back bit for bit; so does a one-column CRLF .txt. */
START_TEST(test_text_files)
{
  const PetscInt     n = 6, dim = 2;
  PetscReal         *x            = Positions(n, dim);
  const char        *separators[] = {",", ", ", " \t", " ,  ", "\t", ","};
  char               text[4096];
  size_t             len = 0;
  GFParticleFileInfo info;

  x[1] = 5e-324;
  x[4] = -1.7976931348623157e308;
  x[7] = -0.0;
  len += (size_t)snprintf(text + len, sizeof(text) - len, "# particles of the text test\n  # indented comment\nx, y\n\n");
  for (PetscInt i = 0; i < n; i++) {
    len += (size_t)snprintf(text + len, sizeof(text) - len, "%s%.17g%s%.17g%s\n", i == 2 ? "  " : "", x[2 * i], separators[i], x[2 * i + 1], i == 3 ? "," : "");
    if (i == 1) len += (size_t)snprintf(text + len, sizeof(text) - len, "# a comment between rows\n\n");
  }
  WriteText("pio_points.csv", text);
  len = 0;
  for (PetscInt i = 0; i < 4; i++) len += (size_t)snprintf(text + len, sizeof(text) - len, "%.17g\r\n", x[i]);
  WriteText("pio_column.TXT", text);
  MPI_Barrier(PETSC_COMM_WORLD);
  CheckReadsAs("pio_points.csv", NULL, 2, n, dim, x, &info);
  CheckNoAttributes(&info);
  CheckReadsAs("pio_column.TXT", NULL, 0, 4, 1, x, &info);
  CheckNoAttributes(&info);
  GF_CK(PetscFree(x));
  {
    /* a data file (expected dimension -1: any number of columns) of 7 columns, wider than any particle: every value read, none past a row */
    const PetscInt wide = 7, rows = 5;
    PetscReal     *w = Positions(rows, wide);

    len = 0;
    for (PetscInt i = 0; i < rows; i++)
      for (PetscInt c = 0; c < wide; c++) len += (size_t)snprintf(text + len, sizeof(text) - len, "%.17g%s", w[i * wide + c], c + 1 < wide ? ", " : "\n");
    WriteText("pio_wide.csv", text);
    MPI_Barrier(PETSC_COMM_WORLD);
    CheckReadsAs("pio_wide.csv", NULL, -1, rows, wide, w, &info);
    GF_CK(PetscFree(w));
  }
}
END_TEST

/* NumPy files: float64 and float32, both byte orders, C and Fortran order, shape (n,), format versions 1.0, 2.0 and 3.0. */
START_TEST(test_npy_files)
{
  const PetscInt     n = 5, dim = 3;
  PetscReal         *x = Positions(n, dim), *xf = PositionsAsFloat(n, dim);
  GFParticleFileInfo info;

  WriteNPY("pio_c_f8.npy", 1, "<f8", PETSC_FALSE, n, dim, PETSC_FALSE, x);
  WriteNPY("pio_fortran_be_f8.npy", 2, ">f8", PETSC_TRUE, n, dim, PETSC_FALSE, x);
  WriteNPY("pio_c_f4.npy", 3, "<f4", PETSC_FALSE, n, dim, PETSC_FALSE, x);
  WriteNPY("pio_fortran_be_f4.npy", 1, ">f4", PETSC_TRUE, n, dim, PETSC_FALSE, x);
  WriteNPY("pio_flat.NPY", 1, "<f8", PETSC_FALSE, n * dim, 1, PETSC_TRUE, x);
  MPI_Barrier(PETSC_COMM_WORLD);
  CheckReadsAs("pio_c_f8.npy", NULL, 3, n, dim, x, &info);
  CheckNoAttributes(&info);
  CheckReadsAs("pio_fortran_be_f8.npy", NULL, 3, n, dim, x, &info);
  CheckReadsAs("pio_c_f4.npy", NULL, 3, n, dim, xf, &info);
  CheckReadsAs("pio_fortran_be_f4.npy", NULL, 0, n, dim, xf, &info);
  CheckReadsAs("pio_flat.NPY", NULL, 1, n * dim, 1, x, &info);
  GF_CK(PetscFree(x));
  GF_CK(PetscFree(xf));
}
END_TEST

/* Rank 0 writes a dataset of the given file type from doubles (converted by HDF5); rank 1 ([n]) or 2 ([n][dim]). */
static hid_t WriteDataset(hid_t loc, const char name[], hid_t type, int rank, PetscInt n, PetscInt dim, const double x[])
{
  hsize_t dims[2] = {(hsize_t)n, (hsize_t)dim};
  hid_t   space   = H5Screate_simple(rank, dims, NULL);
  hid_t   dset    = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);

  ck_assert(dset >= 0);
  ck_assert(H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) >= 0);
  H5Sclose(space);
  return dset;
}

static void WriteScalarAttribute(hid_t loc, const char name[], double value)
{
  hid_t space = H5Screate(H5S_SCALAR), attr = H5Acreate2(loc, name, H5T_NATIVE_DOUBLE, space, H5P_DEFAULT, H5P_DEFAULT);

  ck_assert(H5Awrite(attr, H5T_NATIVE_DOUBLE, &value) >= 0);
  H5Aclose(attr);
  H5Sclose(space);
}

/* A user's HDF5 file: float32 [n][2] with its own time, float64 [n] in a group (the root's time), int32 [n][3]; and a plain /particles without attributes. */
START_TEST(test_user_hdf5_files)
{
  const PetscInt     n  = 7;
  PetscReal         *x2 = Positions(n, 2), *x2f = PositionsAsFloat(n, 2), *x1 = Positions(n, 1), *x3 = Positions(n, 3), counts[21];
  GFParticleFileInfo info;

  for (PetscInt k = 0; k < 3 * n; k++) counts[k] = (PetscReal)(k * k - 40);
  if (Rank() == 0) {
    hid_t file = H5Fcreate("pio_user.h5", H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), group, dset;
    ck_assert(file >= 0);
    dset = WriteDataset(file, "positions", H5T_IEEE_F32LE, 2, n, 2, x2);
    WriteScalarAttribute(dset, "time", 1.25);
    H5Dclose(dset);
    group = H5Gcreate2(file, "group", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(WriteDataset(group, "line", H5T_IEEE_F64BE, 1, n, 1, x1));
    H5Gclose(group);
    H5Dclose(WriteDataset(file, "counts", H5T_STD_I32LE, 2, n, 3, counts));
    WriteScalarAttribute(file, "time", 2.5);
    H5Fclose(file);
    file = H5Fcreate("pio_user_plain.hdf5", H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    H5Dclose(WriteDataset(file, "particles", H5T_NATIVE_DOUBLE, 2, n, 3, x3));
    H5Fclose(file);
  }
  MPI_Barrier(PETSC_COMM_WORLD);
  CheckReadsAs("pio_user.h5", "positions", 2, n, 2, x2f, &info);
  ck_assert_double_eq(info.time, 1.25);
  ck_assert_int_eq(info.step, -1);
  ck_assert_str_eq(info.model, "");
  CheckReadsAs("pio_user.h5", "/group/line", 1, n, 1, x1, &info);
  ck_assert_double_eq(info.time, 2.5);
  CheckReadsAs("pio_user.h5", "counts", 3, n, 3, counts, &info);
  CheckReadsAs("pio_user_plain.hdf5", NULL, 3, n, 3, x3, &info);
  CheckNoAttributes(&info);
  GF_CK(PetscFree(x2));
  GF_CK(PetscFree(x2f));
  GF_CK(PetscFree(x1));
  GF_CK(PetscFree(x3));
}
END_TEST

static PetscErrorCode ReadAndFree(const char path[], const char dataset[], PetscInt expected_dim)
{
  GFParticleFileInfo info;
  PetscReal         *x = NULL;

  PetscFunctionBeginUser;
  PetscCall(GFParticleFileRead(PETSC_COMM_WORLD, path, dataset, expected_dim, &info, &x));
  PetscCall(PetscFree(x));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Rank 0 copies the first bytes of a file. */
static void CopyPrefix(const char from[], const char to[], long bytes)
{
  char  buffer[65536];
  FILE *in, *out;

  if (Rank() != 0) return;
  in  = fopen(from, "rb");
  out = fopen(to, "wb");
  ck_assert(in && out);
  ck_assert_uint_eq(fread(buffer, 1, (size_t)bytes, in), (size_t)bytes);
  ck_assert_uint_eq(fwrite(buffer, 1, (size_t)bytes, out), (size_t)bytes);
  fclose(in);
  fclose(out);
}

/* Every way a particle file can be wrong is refused, on every rank, with its code and a message naming the file and the fault. */
START_TEST(test_bad_files)
{
  const PetscReal good[4] = {1, 2, 3, 4}, with_inf[4] = {1, 2, 3, INFINITY}, nan_grid[4] = {0.5, NAN, 1, 2};
  GFGrid          grid = MakeGrid(2, GF_BC_NOFLUX);

  MakeDirectory("pio_dir.h5");
  WriteText("pio_not_hdf5.h5", "this is not HDF5\n");
  WriteText("pio_ragged.csv", "1,2\n3,4,5\n");
  WriteText("pio_word.csv", "x,y\n1,2\n3,abc\n");
  WriteText("pio_header_only.csv", "# nothing\nx,y\n\n");
  WriteText("pio_nan.csv", "# x y\n1,2\nnan,4\n");
  WriteText("pio_4d.csv", "1 2 3 4\n");
  WriteText("pio_two.csv", "1 2\n3 4\n");
  WriteText("pio_points.dat", "1 2\n");
  WriteText("pio_bad_magic.npy", "NUMPY, but not quite\n");
  WriteNPY("pio_inf.npy", 1, "<f8", PETSC_FALSE, 2, 2, PETSC_FALSE, with_inf);
  WriteNPY("pio_int.npy", 1, "<i8", PETSC_FALSE, 2, 2, PETSC_FALSE, good);
  WriteNPY("pio_empty.npy", 1, "<f8", PETSC_FALSE, 0, 2, PETSC_FALSE, good);
  WriteNPY("pio_three.npy", 1, "<f8", PETSC_FALSE, 2, 2, PETSC_FALSE, good);
  WriteNPY("pio_version.npy", 1, "<f8", PETSC_FALSE, 2, 2, PETSC_FALSE, good);
  WriteNPYHeader("pio_rank3.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2, 2), }\n", 8);
  WriteNPYHeader("pio_lacks.npy", "{'descr': '<f8', 'shape': (2, 2), }\n", 4);
  if (Rank() == 0) {
    hid_t file = H5Fcreate("pio_nan.h5", H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    FILE *f;

    H5Dclose(WriteDataset(file, "particles", H5T_NATIVE_DOUBLE, 2, 2, 2, nan_grid));
    H5Fclose(file);
    f = fopen("pio_version.npy", "r+b");
    fseek(f, 6, SEEK_SET);
    fputc(4, f);
    fclose(f);
  }
  CopyPrefix("pio_three.npy", "pio_truncated.npy", 128 + 24);
  CopyPrefix("pio_three.npy", "pio_cut_header.npy", 64);
  if (Rank() == 0) {
    FILE *f = fopen("pio_three.npy", "ab");
    fwrite(good, sizeof(double), 1, f);
    fclose(f);
  }
  /* an HDF5 file cut short: a valid superblock, missing objects */
  WriteParticles("pio_whole.h5", 4, 2, good, &(GFParticleFileAttributes){"fokker_planck", "", 1, 0, 0, grid});
  CopyPrefix("pio_whole.h5", "pio_cut.h5", 800);
  MPI_Barrier(PETSC_COMM_WORLD);
  {
    const struct {
      const char    *path, *dataset;
      PetscInt       expected_dim;
      PetscErrorCode code;
      const char    *message;
    } cases[] = {
        {"pio_missing.csv", NULL, 0, PETSC_ERR_FILE_OPEN, "particle file pio_missing.csv: no such readable file"},
        {"pio_dir.h5", NULL, 0, PETSC_ERR_FILE_OPEN, "particle file pio_dir.h5: no such readable file (it is a directory)"},
        {"pio_not_hdf5.h5", NULL, 0, PETSC_ERR_FILE_UNEXPECTED, "particle file pio_not_hdf5.h5: not an HDF5 file"},
        {"pio_cut.h5", NULL, 0, PETSC_ERR_FILE_UNEXPECTED, "particle file pio_cut.h5: HDF5 cannot"},
        {"pio_whole.h5", "positions", 0, PETSC_ERR_FILE_UNEXPECTED, "particle file pio_whole.h5: no dataset positions (the file has /particles)"},
        {"pio_nan.h5", NULL, 2, PETSC_ERR_USER_INPUT, "particle file pio_nan.h5: row 1, column 2 is nan: particle positions must be finite"},
        {"pio_ragged.csv", NULL, 0, PETSC_ERR_FILE_UNEXPECTED, "particle file pio_ragged.csv: row 2 (line 2) has 3 columns, the rows before it have 2"},
        {"pio_word.csv", NULL, 0, PETSC_ERR_FILE_UNEXPECTED, "particle file pio_word.csv: line 3, column 2: 'abc' is not a number"},
        {"pio_header_only.csv", NULL, 0, PETSC_ERR_FILE_UNEXPECTED, "particle file pio_header_only.csv: has no particles (no rows)"},
        {"pio_nan.csv", NULL, 0, PETSC_ERR_USER_INPUT, "particle file pio_nan.csv: row 2, column 1 is nan: particle positions must be finite (line 3)"},
        {"pio_4d.csv", NULL, 0, PETSC_ERR_USER_INPUT, "particle file pio_4d.csv: has 4 columns, but particles live in 1, 2 or 3 dimensions"},
        {"pio_4d.csv", NULL, 2, PETSC_ERR_USER_INPUT, "particle file pio_4d.csv: has 4 columns (particles in 4D), but the PDE run is 2D"},
        {"pio_two.csv", NULL, 3, PETSC_ERR_USER_INPUT, "particle file pio_two.csv: has 2 columns (particles in 2D), but the PDE run is 3D"},
        {"pio_points.dat", NULL, 0, PETSC_ERR_FILE_UNEXPECTED, "particle file pio_points.dat: unknown format '.dat': supported are .h5 and .hdf5 (HDF5), .csv and .txt"},
        {"pio_bad_magic.npy", NULL, 0, PETSC_ERR_FILE_UNEXPECTED, "particle file pio_bad_magic.npy: not a NumPy .npy file"},
        {"pio_version.npy", NULL, 0, PETSC_ERR_FILE_UNEXPECTED, "particle file pio_version.npy: NPY format version 4.0 is not supported"},
        {"pio_int.npy", NULL, 0, PETSC_ERR_FILE_UNEXPECTED, "particle file pio_int.npy: NPY dtype '<i8' is not supported"},
        {"pio_rank3.npy", NULL, 0, PETSC_ERR_FILE_UNEXPECTED, "particle file pio_rank3.npy: NPY shape has 3 dimensions: expected (n,) or (n, dim)"},
        {"pio_lacks.npy", NULL, 0, PETSC_ERR_FILE_UNEXPECTED, "particle file pio_lacks.npy: bad NPY header: it lacks 'descr', 'fortran_order' or 'shape'"},
        {"pio_empty.npy", NULL, 0, PETSC_ERR_FILE_UNEXPECTED, "particle file pio_empty.npy: has no particles (no rows)"},
        {"pio_truncated.npy", NULL, 0, PETSC_ERR_FILE_UNEXPECTED, "particle file pio_truncated.npy: truncated: shape (2, 2) of '<f8' needs 32 bytes of data, the file has 24"},
        {"pio_cut_header.npy", NULL, 0, PETSC_ERR_FILE_UNEXPECTED, "particle file pio_cut_header.npy: bad NPY header: the file ends inside it"},
        {"pio_three.npy", NULL, 0, PETSC_ERR_FILE_UNEXPECTED, "particle file pio_three.npy: has 40 bytes of data, but shape (2, 2) of '<f8' needs 32"},
        {"pio_inf.npy", NULL, 2, PETSC_ERR_USER_INPUT, "particle file pio_inf.npy: row 2, column 2 is inf: particle positions must be finite"},
        {"pio_two.csv", NULL, 2, 0, ""},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
      if (cases[c].code)
        GF_ASSERT_ERROR(ReadAndFree(cases[c].path, cases[c].dataset, cases[c].expected_dim), cases[c].code, cases[c].message);
      else
        GF_CK(ReadAndFree(cases[c].path, cases[c].dataset, cases[c].expected_dim));
    }
  }
  GF_ASSERT_ERROR(GFParticleFileWrite(PETSC_COMM_WORLD, "pio_no_dir/particles_00000.h5", 4, 2, 0, Rank() == 0 ? 4 : 0, good, &(GFParticleFileAttributes){"fokker_planck", "", 1, 0, 0, grid}), PETSC_ERR_FILE_WRITE,
                  "cannot write the particle file pio_no_dir/particles_00000.h5.tmp: No such file or directory");
  GF_CK(GFGridDestroy(&grid));
}
END_TEST

/* The time in a file name: the last number of the base name without its extension. */
START_TEST(test_file_name_time)
{
  const struct {
    const char *path;
    PetscBool   found;
    PetscReal   time;
  } cases[] = {
      {"cloud_t0.25.npy", PETSC_TRUE, 0.25}, {"t=1e-2.csv", PETSC_TRUE, 0.01}, {"run3_t1.5.h5", PETSC_TRUE, 1.5}, {"particles_00010.h5", PETSC_TRUE, 10}, {"out/t2.5E+1.txt", PETSC_TRUE, 25},
      {"x1.5e.csv", PETSC_TRUE, 1.5},        {"t3.", PETSC_TRUE, 3},           {"samples.csv", PETSC_FALSE, 0},   {"/a/b9/x.csv", PETSC_FALSE, 0},        {"dir7/.npy", PETSC_FALSE, 0},
  };

  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    PetscReal time  = -1;
    PetscBool found = GFParticleFileNameTime(cases[c].path, &time);
    ck_assert_msg(found == cases[c].found, "%s: found %d", cases[c].path, (int)found);
    if (found)
      ck_assert_msg(time == cases[c].time, "%s: time %.17g, expected %.17g", cases[c].path, time, cases[c].time);
    else
      ck_assert_double_eq(time, -1);
  }
}
END_TEST

static void CheckSource(const char source[], PetscInt expected_n, const char *const expected[])
{
  PetscInt nfiles;
  char   **files;

  GF_CK(GFParticleSourceList(PETSC_COMM_WORLD, source, &nfiles, &files));
  ck_assert_msg(nfiles == expected_n, "%s: %d files, expected %d", source, (int)nfiles, (int)expected_n);
  for (PetscInt i = 0; i < nfiles; i++) ck_assert_str_eq(files[i], expected[i]);
  GF_CK(GFParticleSourceFree(nfiles, &files));
  ck_assert(files == NULL);
}

/* Sources: a run directory (its particles_NNNNN.h5 only), a directory of user files, a comma list, one file; missing paths and empty directories fail. */
START_TEST(test_source_list)
{
  const char *const        run[]        = {"pio_run/particles_00000.h5", "pio_run/particles_00001.h5"};
  const char *const        user[]       = {"pio_user_dir/C.TXT", "pio_user_dir/a.npy", "pio_user_dir/b.csv", "pio_user_dir/d.hdf5"};
  const char *const        list[]       = {"pio_user_dir/b.csv", "pio_run/particles_00000.h5"};
  GFGrid                   grid         = MakeGrid(1, GF_BC_NOFLUX);
  PetscReal               *x            = Positions(3, 1);
  GFParticleFileAttributes attributes   = {"fokker_planck", "", 1, 0.5, 10, grid};
  const char *const        user_files[] = {"b.csv", "a.npy", "C.TXT", "d.hdf5", ".hidden.csv", "notes.md", "e.csv.tmp", "f.h5.tmp"};

  MakeDirectory("pio_run");
  MakeDirectory("pio_user_dir");
  MakeDirectory("pio_user_dir/sub.csv");
  MakeDirectory("pio_empty_dir");
  WriteParticles("pio_run/particles_00001.h5", 3, 1, x, &attributes);
  attributes.step = 0;
  WriteParticles("pio_run/particles_00000.h5", 3, 1, x, &attributes);
  WriteText("pio_run/diagnostics.csv", "step,time\n");
  WriteText("pio_run/particles_00002.h5.tmp", "");
  for (size_t f = 0; f < sizeof(user_files) / sizeof(user_files[0]); f++) {
    char path[64];
    snprintf(path, sizeof(path), "pio_user_dir/%s", user_files[f]);
    WriteText(path, "1\n");
  }
  MPI_Barrier(PETSC_COMM_WORLD);
  CheckSource("pio_run", 2, run);
  CheckSource("pio_user_dir/", 4, user);
  CheckSource("pio_user_dir/b.csv, pio_run/particles_00000.h5", 2, list);
  CheckSource("pio_run/particles_00000.h5", 1, run);
  {
    GFParticleFileInfo info;
    CheckReadsAs(run[1], NULL, 1, 3, 1, x, &info);
    ck_assert_int_eq(info.step, 10);
  }
  {
    PetscInt nfiles = -1;
    char   **files  = NULL;
    GF_ASSERT_ERROR(GFParticleSourceList(PETSC_COMM_WORLD, "pio_nowhere", &nfiles, &files), PETSC_ERR_FILE_OPEN, "particle source pio_nowhere: no such file or directory");
    GF_ASSERT_ERROR(GFParticleSourceList(PETSC_COMM_WORLD, "pio_user_dir/b.csv,pio_nothing.h5", &nfiles, &files), PETSC_ERR_FILE_OPEN, "pio_nothing.h5: no such file or directory");
    GF_ASSERT_ERROR(GFParticleSourceList(PETSC_COMM_WORLD, "pio_user_dir/b.csv,,pio_run", &nfiles, &files), PETSC_ERR_USER_INPUT, "entry 2 of the comma-separated list is empty");
    GF_ASSERT_ERROR(GFParticleSourceList(PETSC_COMM_WORLD, "pio_empty_dir", &nfiles, &files), PETSC_ERR_FILE_UNEXPECTED, "directory pio_empty_dir has no particle files (particles_NNNNN.h5, or .h5/.hdf5/.csv/.txt/.npy files)");
    ck_assert(nfiles == -1 && files == NULL);
  }
  GF_CK(PetscFree(x));
  GF_CK(GFGridDestroy(&grid));
}
END_TEST

static Suite *MakeSuite(void)
{
  Suite *s = suite_create("particle_io");
  TCase *t = tcase_create("particle_io");

  tcase_set_timeout(t, 120);
  tcase_add_test(t, test_parallel_write_read_back);
  tcase_add_test(t, test_write_one_dimension);
  tcase_add_test(t, test_text_files);
  tcase_add_test(t, test_npy_files);
  tcase_add_test(t, test_user_hdf5_files);
  tcase_add_test(t, test_bad_files);
  tcase_add_test(t, test_file_name_time);
  tcase_add_test(t, test_source_list);
  suite_add_tcase(s, t);
  return s;
}

int main(int argc, char **argv)
{
  return GFTestMain(argc, argv, MakeSuite);
}
