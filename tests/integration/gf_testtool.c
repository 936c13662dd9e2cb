/*
  Helper of the integration tests (serial, no MPI needed):

    gf_testtool check RUN_DIR [REFERENCE]   the run's diagnostics.csv keeps the structure at every
                                            step (|mass_drift| <= 1e-12, min_density >= 0, energy
                                            non-increasing to 1e-12 relative; JKO runs: the JKO
                                            inequality's gap <= $GF_JKO_TOL, default 1e-12, of
                                            max(1, |energy|)) and its last row
                                            matches REFERENCE lines "column value relative_tolerance"
    gf_testtool last RUN_DIR COLUMN...      print the last row's values of these columns
    gf_testtool corrupt SRC DST VALUE INDEX copy snapshot SRC to DST with density[INDEX] = VALUE
                                            (INDEX -1: every entry)
    gf_testtool diff A B TOLERANCE [relative] the /density datasets of two snapshots agree to TOLERANCE
                                            (max abs difference, or relative to A's largest value;
                                            0: bitwise), their attributes aside
    gf_testtool l1 A B                      print sum |a - b| / sum |b| of the /density datasets
                                            of two snapshots (the relative L1 difference)
    gf_testtool export SRC DST              the /particles of a gradflow particle file as a user's
                                            file: DST.csv (%.17g, a header row), DST.npy (float64,
                                            C order) or DST.h5 (dataset "cloud", time attribute)
*/
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_COLUMNS 32

typedef struct {
  int    ncol;
  char   name[MAX_COLUMNS][32];
  double last[MAX_COLUMNS];
  long   rows;
} Table;

static int Column(const Table *t, const char name[])
{
  for (int c = 0; c < t->ncol; c++)
    if (!strcmp(t->name[c], name)) return c;
  return -1;
}

/* Read diagnostics.csv, checking every row's invariants; keep the last row. */
static int ReadAndCheck(const char dir[], Table *t)
{
  char   path[4096], line[8192];
  FILE  *f;
  int    failures    = 0, cdrift, cmin, cenergy, cgap;
  double gap_tol     = getenv("GF_JKO_TOL") ? strtod(getenv("GF_JKO_TOL"), NULL) : 1e-12;
  double energy_prev = 0;
  long   energy_rows = 0;

  snprintf(path, sizeof(path), "%s/diagnostics.csv", dir);
  f = fopen(path, "r");
  if (!f) {
    fprintf(stderr, "check: cannot open %s\n", path);
    return 1;
  }
  if (!fgets(line, sizeof(line), f)) {
    fprintf(stderr, "check: %s is empty\n", path);
    fclose(f);
    return 1;
  }
  t->ncol = 0;
  for (char *tok = strtok(line, ",\n"); tok && t->ncol < MAX_COLUMNS; tok = strtok(NULL, ",\n")) snprintf(t->name[t->ncol++], sizeof(t->name[0]), "%s", tok);
  cdrift  = Column(t, "mass_drift");
  cmin    = Column(t, "min_density");
  cenergy = Column(t, "energy");
  cgap    = Column(t, "jko_gap");
  if (cdrift < 0 || cmin < 0 || cenergy < 0) {
    fprintf(stderr, "check: %s lacks mass_drift, min_density or energy\n", path);
    fclose(f);
    return 1;
  }
  t->rows = 0;
  while (fgets(line, sizeof(line), f)) {
    int c = 0;
    for (char *tok = strtok(line, ",\n"); tok && c < t->ncol; tok = strtok(NULL, ",\n")) t->last[c++] = strtod(tok, NULL);
    if (c != t->ncol) {
      fprintf(stderr, "check: row %ld of %s has %d columns, the header %d\n", t->rows + 1, path, c, t->ncol);
      failures++;
    }
    if (!(fabs(t->last[cdrift]) <= 1e-12)) {
      fprintf(stderr, "check: row %ld: mass drift %g exceeds 1e-12\n", t->rows + 1, t->last[cdrift]);
      failures++;
    }
    if (!(t->last[cmin] >= 0)) {
      fprintf(stderr, "check: row %ld: min density %g is negative\n", t->rows + 1, t->last[cmin]);
      failures++;
    }
    /* the JKO inequality F(new) + W2^2/(2 tau) <= F(old), to the solver's tolerance (nan: the first row, before any step) */
    if (cgap >= 0 && !isnan(t->last[cgap]) && !(t->last[cgap] <= gap_tol * fmax(1, fabs(energy_prev)))) {
      fprintf(stderr, "check: row %ld: JKO inequality gap %.3e exceeds %.1e of max(1, |F|)\n", t->rows + 1, t->last[cgap], gap_tol);
      failures++;
    }
    /* the energy is nan between -diagnostics_interval steps: compare it with the last row that has one */
    if (!isnan(t->last[cenergy])) {
      if (energy_rows > 0 && t->last[cenergy] - energy_prev > 1e-12 * fmax(1, fabs(energy_prev))) {
        fprintf(stderr, "check: row %ld: energy rose from %.17g to %.17g\n", t->rows + 1, energy_prev, t->last[cenergy]);
        failures++;
      }
      energy_prev = t->last[cenergy];
      energy_rows++;
    }
    t->rows++;
  }
  fclose(f);
  if (t->rows < 2) {
    fprintf(stderr, "check: %s has %ld rows: no step was taken\n", path, t->rows);
    failures++;
  }
  return failures;
}

/* Compare the last row with "column value relative_tolerance" lines. */
static int CheckReference(const Table *t, const char reference[])
{
  FILE  *f = fopen(reference, "r");
  char   line[512], name[64];
  double value, tol;
  int    failures = 0, checked = 0;

  if (!f) {
    fprintf(stderr, "check: cannot open reference %s\n", reference);
    return 1;
  }
  while (fgets(line, sizeof(line), f)) {
    int c;
    if (line[0] == '#' || sscanf(line, "%63s %lf %lf", name, &value, &tol) != 3) continue;
    c = Column(t, name);
    if (c < 0) {
      fprintf(stderr, "check: reference column %s is not in diagnostics.csv\n", name);
      failures++;
    } else if (!(fabs(t->last[c] - value) <= tol * fmax(fabs(value), 1e-300))) {
      fprintf(stderr, "check: %s = %.17g, reference %.17g (relative tolerance %g)\n", name, t->last[c], value, tol);
      failures++;
    }
    checked++;
  }
  fclose(f);
  if (!checked) {
    fprintf(stderr, "check: reference %s has no entries\n", reference);
    failures++;
  }
  return failures;
}

/* The /density of an HDF5 file as n doubles (malloc'd), or NULL. */
static double *ReadDensity(const char path[], hssize_t *n)
{
  hid_t   file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), dset = -1, space = -1;
  double *data = NULL;

  if (file >= 0) dset = H5Dopen2(file, "density", H5P_DEFAULT);
  if (dset >= 0) space = H5Dget_space(dset);
  if (space >= 0 && (*n = H5Sget_simple_extent_npoints(space)) > 0 && (data = malloc(sizeof(double) * (size_t)*n)) && H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
    free(data);
    data = NULL;
  }
  if (space >= 0) H5Sclose(space);
  if (dset >= 0) H5Dclose(dset);
  if (file >= 0) H5Fclose(file);
  return data;
}

/* The largest difference of the /density datasets of two snapshots (their attributes aside); 0 when it is <= tolerance (0: bitwise), times the largest |value| of a when relative. */
static int Diff(const char a[], const char b[], double tolerance, int relative)
{
  hssize_t na = 0, nb = 0;
  double  *x = ReadDensity(a, &na), *y = ReadDensity(b, &nb), worst = 0, scale = 0;
  int      bad;

  if (!x || !y || na != nb) {
    fprintf(stderr, "diff: cannot read /density of %s and %s, or their sizes differ\n", a, b);
    free(x);
    free(y);
    return 1;
  }
  for (hssize_t i = 0; i < na; i++) {
    const double d = fabs(x[i] - y[i]);
    if (!(d <= worst)) worst = d;
    scale = fmax(scale, fabs(x[i]));
  }
  if (relative) tolerance *= scale;
  bad = !(worst <= tolerance);
  printf("%s: %s and %s differ by at most %.3g (tolerance %.3g%s)\n", bad ? "FAIL" : "ok", a, b, worst, tolerance, relative ? ", relative to the largest value" : "");
  free(x);
  free(y);
  return bad;
}

static int L1(const char a[], const char b[])
{
  hssize_t na = 0, nb = 0;
  double  *x = ReadDensity(a, &na), *y = ReadDensity(b, &nb), diff = 0, norm = 0;
  int      bad = !x || !y || na != nb;

  if (bad)
    fprintf(stderr, "l1: cannot read /density of %s and %s, or their sizes differ\n", a, b);
  else {
    for (hssize_t i = 0; i < na; i++) {
      diff += fabs(x[i] - y[i]);
      norm += fabs(y[i]);
    }
    printf("%.6e\n", diff / norm);
  }
  free(x);
  free(y);
  return bad;
}

static int Corrupt(const char src[], const char dst[], double value, long index)
{
  char     cmd[8192];
  hid_t    file, dset, space;
  hssize_t n;
  double  *data;

  snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", src, dst);
  if (system(cmd)) return 1;
  file = H5Fopen(dst, H5F_ACC_RDWR, H5P_DEFAULT);
  if (file < 0) return 1;
  dset  = H5Dopen2(file, "density", H5P_DEFAULT);
  space = H5Dget_space(dset);
  n     = H5Sget_simple_extent_npoints(space);
  data  = malloc(sizeof(double) * (size_t)n);
  H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
  for (hssize_t i = 0; i < n; i++)
    if (index < 0 || i == index) data[i] = value;
  H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
  free(data);
  H5Sclose(space);
  H5Dclose(dset);
  H5Fclose(file);
  return 0;
}

/* Read /particles [n][dim] of a gradflow particle file and its time. */
static double *ReadParticles(const char src[], hsize_t dims[2], double *time)
{
  hid_t   file = H5Fopen(src, H5F_ACC_RDONLY, H5P_DEFAULT), dset, space, attr;
  double *data;

  if (file < 0) return NULL;
  dset  = H5Dopen2(file, "particles", H5P_DEFAULT);
  space = H5Dget_space(dset);
  H5Sget_simple_extent_dims(space, dims, NULL);
  data = malloc(sizeof(double) * dims[0] * dims[1]);
  H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
  attr = H5Aopen(dset, "time", H5P_DEFAULT);
  H5Aread(attr, H5T_NATIVE_DOUBLE, time);
  H5Aclose(attr);
  H5Sclose(space);
  H5Dclose(dset);
  H5Fclose(file);
  return data;
}

/* Write the particles of SRC as a user's CSV, NPY or HDF5 file (by DST's extension). */
static int Export(const char src[], const char dst[])
{
  hsize_t     dims[2];
  double      time, *x = ReadParticles(src, dims, &time);
  const char *ext    = strrchr(dst, '.');
  int         status = 0;

  if (!x || !ext) return 1;
  if (!strcmp(ext, ".csv")) {
    FILE *f = fopen(dst, "w");
    if (!f) return 1;
    fprintf(f, "# particles of %s at t = %.17g\n", src, time);
    for (hsize_t a = 0; a < dims[1]; a++) fprintf(f, a ? ",%c" : "%c", "xyz"[a]);
    fprintf(f, "\n");
    for (hsize_t i = 0; i < dims[0]; i++)
      for (hsize_t a = 0; a < dims[1]; a++) fprintf(f, a + 1 < dims[1] ? "%.17g," : "%.17g\n", x[i * dims[1] + a]);
    status = fclose(f) != 0;
  } else if (!strcmp(ext, ".npy")) {
    FILE  *f = fopen(dst, "wb");
    char   header[128];
    size_t len;
    if (!f) return 1;
    snprintf(header, sizeof(header), "{'descr': '<f8', 'fortran_order': False, 'shape': (%llu, %llu), }", (unsigned long long)dims[0], (unsigned long long)dims[1]);
    len = strlen(header);
    while ((10 + len + 1) % 64) header[len++] = ' ';
    header[len++] = '\n';
    fwrite("\x93NUMPY\x01\x00", 1, 8, f);
    fputc((int)(len & 0xff), f);
    fputc((int)(len >> 8), f);
    fwrite(header, 1, len, f);
    fwrite(x, sizeof(double), dims[0] * dims[1], f);
    status = fclose(f) != 0;
  } else if (!strcmp(ext, ".h5")) {
    hid_t file = H5Fcreate(dst, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), space = H5Screate_simple(2, dims, NULL), dset, scalar = H5Screate(H5S_SCALAR), attr;
    dset = H5Dcreate2(file, "cloud", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Dwrite(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, x);
    attr = H5Acreate2(dset, "time", H5T_NATIVE_DOUBLE, scalar, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(attr, H5T_NATIVE_DOUBLE, &time);
    H5Aclose(attr);
    H5Sclose(scalar);
    H5Dclose(dset);
    H5Sclose(space);
    status = H5Fclose(file) < 0;
  } else
    status = 1;
  free(x);
  return status;
}

int main(int argc, char **argv)
{
  Table t;

  if (argc >= 3 && !strcmp(argv[1], "check")) {
    int failures = ReadAndCheck(argv[2], &t);
    if (argc >= 4) failures += CheckReference(&t, argv[3]);
    if (!failures) printf("check: %s: %ld rows, invariants hold%s\n", argv[2], t.rows, argc >= 4 ? ", reference matches" : "");
    return failures ? 1 : 0;
  }
  if (argc >= 4 && !strcmp(argv[1], "last")) {
    if (ReadAndCheck(argv[2], &t)) return 1;
    for (int a = 3; a < argc; a++) {
      int c = Column(&t, argv[a]);
      if (c < 0) return 1;
      printf("%s %.17g\n", argv[a], t.last[c]);
    }
    return 0;
  }
  if (argc == 6 && !strcmp(argv[1], "corrupt")) return Corrupt(argv[2], argv[3], strtod(argv[4], NULL), strtol(argv[5], NULL, 10));
  if (argc == 4 && !strcmp(argv[1], "l1")) return L1(argv[2], argv[3]);
  if (argc == 4 && !strcmp(argv[1], "export")) return Export(argv[2], argv[3]);
  if ((argc == 5 || argc == 6) && !strcmp(argv[1], "diff")) return Diff(argv[2], argv[3], strtod(argv[4], NULL), argc == 6 && !strcmp(argv[5], "relative"));
  fprintf(stderr, "usage: gf_testtool check RUN_DIR [REFERENCE] | last RUN_DIR COLUMN... | corrupt SRC DST VALUE INDEX | export SRC DST.{csv,npy,h5} | diff A B TOLERANCE [relative] | l1 A B\n");
  return 2;
}
