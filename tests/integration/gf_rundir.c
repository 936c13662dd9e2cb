/*
  Helper of the integration tests (serial, no MPI): the state a run directory is in after a
  kill, as a user would find it.

    gf_rundir verify RUN_DIR   every snap_NNNNN.h5 opens with its full /density (as many values
                               as its cells attribute says, all finite) and a finite time;
                               run.xdmf is complete (its closing tag) and lists only snapshots
                               that exist, and every snapshot but possibly the newest (a kill
                               between the two renames); diagnostics.csv has only whole rows
                               (each ends in a newline and has the header's number of fields).
                               Prints the counts; exit status 1 on any violation.
    gf_rundir attr FILE OBJECT NAME double|llong V1[,V2...]
                               replace attribute NAME of OBJECT ("/" or "/density") by these
                               values (a bad snapshot for the tests of the reader)
*/
#include <dirent.h>
#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SNAPSHOTS 100000

/* A readable snapshot with as many finite values as its grid has cells and a finite time; 0 when it is. */
static int CheckSnapshot(const char path[])
{
  hid_t     file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT), dset = -1, space = -1, attr = -1;
  long long cells[3] = {1, 1, 1}, count = 1, dim = 0;
  double    time = NAN, *data = NULL;
  hssize_t  n   = -1;
  int       bad = 1;

  if (file < 0) return 1;
  if ((attr = H5Aopen(file, "dim", H5P_DEFAULT)) >= 0 && H5Aread(attr, H5T_NATIVE_LLONG, &dim) >= 0 && dim >= 1 && dim <= 3) {
    H5Aclose(attr);
    if ((attr = H5Aopen(file, "cells", H5P_DEFAULT)) >= 0 && H5Aread(attr, H5T_NATIVE_LLONG, cells) >= 0) {
      for (int a = 0; a < dim; a++) count *= cells[a];
      if ((dset = H5Dopen2(file, "density", H5P_DEFAULT)) >= 0 && (space = H5Dget_space(dset)) >= 0) n = H5Sget_simple_extent_npoints(space);
    }
  }
  if (attr >= 0) H5Aclose(attr);
  attr = -1;
  if (n > 0 && n == count && (data = malloc(sizeof(double) * (size_t)n)) && H5Dread(dset, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0 && (attr = H5Aopen(dset, "time", H5P_DEFAULT)) >= 0 &&
      H5Aread(attr, H5T_NATIVE_DOUBLE, &time) >= 0 && isfinite(time)) {
    bad = 0;
    for (hssize_t i = 0; i < n && !bad; i++) bad = !isfinite(data[i]);
  }
  free(data);
  if (attr >= 0) H5Aclose(attr);
  if (space >= 0) H5Sclose(space);
  if (dset >= 0) H5Dclose(dset);
  H5Fclose(file);
  return bad;
}

/* diagnostics.csv: every row whole. The number of rows in *rows; 0 when all are whole. */
static int CheckDiagnostics(const char dir[], long *rows)
{
  char  path[4096];
  FILE *f;
  int   fields = 0, bad = 0, c, in_row = 0, row_fields = 1;
  long  line = 0;

  snprintf(path, sizeof(path), "%s/diagnostics.csv", dir);
  *rows = 0;
  if (!(f = fopen(path, "r"))) return 0; /* not there yet: the run was killed before its first step */
  while ((c = fgetc(f)) != EOF) {
    in_row = 1;
    if (c == ',') row_fields++;
    if (c != '\n') continue;
    if (line == 0)
      fields = row_fields;
    else if (row_fields != fields) {
      fprintf(stderr, "verify: %s line %ld has %d fields, the header %d\n", path, line + 1, row_fields, fields);
      bad = 1;
    }
    line++;
    row_fields = 1;
    in_row     = 0;
  }
  fclose(f);
  if (in_row) {
    fprintf(stderr, "verify: %s ends in a partial row (line %ld)\n", path, line + 1);
    bad = 1;
  }
  *rows = line > 0 ? line - 1 : 0;
  return bad;
}

static int CompareInt(const void *a, const void *b)
{
  return *(const int *)a - *(const int *)b;
}

static int Verify(const char dir[])
{
  static int     present[MAX_SNAPSHOTS], listed[MAX_SNAPSHOTS];
  int            npresent = 0, nlisted = 0, bad = 0, closed = 0;
  char           path[4096], line[4096];
  DIR           *d = opendir(dir);
  struct dirent *e;
  FILE          *f;
  long           rows;

  if (!d && errno == ENOENT) {
    printf("ok: %s: not created yet (killed before)\n", dir);
    return 0;
  }
  if (!d) {
    fprintf(stderr, "verify: cannot open %s\n", dir);
    return 1;
  }
  while ((e = readdir(d)) && npresent < MAX_SNAPSHOTS) {
    int  k;
    char tail[8];
    if (sscanf(e->d_name, "snap_%d.h%1[5]%1s", &k, tail, tail + 1) == 2 && strlen(e->d_name) == strlen("snap_00000.h5")) {
      snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
      if (CheckSnapshot(path)) {
        fprintf(stderr, "verify: %s does not open with its full, finite density and time\n", path);
        bad = 1;
      }
      present[npresent++] = k;
    }
  }
  closedir(d);
  qsort(present, (size_t)npresent, sizeof(int), CompareInt);
  snprintf(path, sizeof(path), "%s/run.xdmf", dir);
  if ((f = fopen(path, "r"))) {
    while (fgets(line, sizeof(line), f)) {
      const char *s = strstr(line, "Name=\"snap_");
      if (s && nlisted < MAX_SNAPSHOTS) listed[nlisted++] = atoi(s + 11);
      if (strstr(line, "</Xdmf>")) closed = 1;
    }
    fclose(f);
    if (!closed) {
      fprintf(stderr, "verify: %s is incomplete\n", path);
      bad = 1;
    }
  } else if (npresent) {
    fprintf(stderr, "verify: snapshots but no run.xdmf in %s\n", dir);
    bad = 1;
  }
  for (int i = 0; i < nlisted; i++) {
    int found = 0;
    for (int j = 0; j < npresent && !found; j++) found = present[j] == listed[i];
    if (!found) {
      fprintf(stderr, "verify: run.xdmf lists snap_%05d.h5, which is not there\n", listed[i]);
      bad = 1;
    }
  }
  for (int j = 0; j + 1 < npresent; j++) {
    int found = 0;
    for (int i = 0; i < nlisted && !found; i++) found = present[j] == listed[i];
    if (!found) {
      fprintf(stderr, "verify: snap_%05d.h5 is not in run.xdmf\n", present[j]);
      bad = 1;
    }
  }
  bad |= CheckDiagnostics(dir, &rows);
  printf("%s: %s: %d snapshots, %d in run.xdmf, %ld whole rows in diagnostics.csv\n", bad ? "FAIL" : "ok", dir, npresent, nlisted, rows);
  return bad;
}

/* Replace attribute name of object obj in file by the comma-separated values, as doubles or long longs. */
static int SetAttribute(const char path[], const char obj[], const char name[], const char type[], const char values[])
{
  const int is_double = !strcmp(type, "double");
  hid_t     file      = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT), loc, space, attr;
  hsize_t   n         = 1;
  void     *data;
  char     *copy = strdup(values), *save = NULL;
  size_t    k = 0;
  int       bad;

  for (const char *c = values; *c; c++) n += *c == ',';
  data = malloc(8 * n);
  for (char *t = strtok_r(copy, ",", &save); t && k < n; t = strtok_r(NULL, ",", &save), k++) {
    if (is_double)
      ((double *)data)[k] = strtod(t, NULL);
    else
      ((long long *)data)[k] = strtoll(t, NULL, 10);
  }
  free(copy);
  if (file < 0) return 1;
  loc = strcmp(obj, "/") ? H5Dopen2(file, obj, H5P_DEFAULT) : file;
  if (H5Aexists(loc, name) > 0) H5Adelete(loc, name);
  space = n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, NULL);
  attr  = H5Acreate2(loc, name, is_double ? H5T_NATIVE_DOUBLE : H5T_NATIVE_LLONG, space, H5P_DEFAULT, H5P_DEFAULT);
  bad   = attr < 0 || H5Awrite(attr, is_double ? H5T_NATIVE_DOUBLE : H5T_NATIVE_LLONG, data) < 0;
  if (attr >= 0) H5Aclose(attr);
  H5Sclose(space);
  if (loc != file) H5Dclose(loc);
  H5Fclose(file);
  free(data);
  return bad;
}

int main(int argc, char **argv)
{
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  if (argc == 3 && !strcmp(argv[1], "verify")) return Verify(argv[2]);
  if (argc == 7 && !strcmp(argv[1], "attr")) return SetAttribute(argv[2], argv[3], argv[4], argv[5], argv[6]);
  fprintf(stderr, "usage: gf_rundir verify RUN_DIR | attr FILE OBJECT NAME double|llong V1[,V2...]\n");
  return 2;
}
