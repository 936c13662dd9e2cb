/*
  GFCompare: particle clouds against the snapshots of a PDE run.

    gradflow compare -pde DIR [-particles SOURCE]

  SOURCE is a gradflow particle run (particles_NNNNN.h5, default: DIR itself) or the
  user's own files (HDF5, CSV, NumPy; see particle_io.c), one cloud per time, the time
  from the file, its name or -particles_time, every particle inside the PDE's box. Every
  cloud is measured against the PDE snapshot of its time (an error when there is none):

    1D     W1 (CDFs) and W2 (quantile functions), exact for the empirical measure against
           the piecewise-constant density, and E[W1] of n independent samples of the
           density (the sampling floor, w1_floor);
    2D/3D  sliced W2 over -compare_slices seeded random directions (projections of the
           density exact at knots at most h/16 apart, linear between: second order);
    all    L1 between the particles' histogram on the PDE grid and the density, the
           errors of the mean (Euclidean) and covariance (Frobenius; the particles' 1/n
           covariance against the density's Sheppard-corrected one), and the MMD with the
           Gaussian kernel exp(-|x - y|^2 / (2 l^2)) (particle pairs over a seeded
           subsample of at most -compare_mmd_max particles, cell integrals exact by erf).

  The table goes to stdout and compare.csv (time,n_particles,w1,w2,l1,mean_error,
  cov_error,mmd in 1D, sliced_w2 in place of w1,w2 in 2D/3D, then w1_floor in 1D) into
  -output_dir, by default the PDE run's directory. With -particle_counts the particles
  are not read but run (sweep.c). Each rank reads its block of a file's rows and the metrics
  are computed where the particles are (measure.c: sorts over the ranks, exact sums, integer
  histograms, a gathered MMD subsample), so the numbers do not depend on the rank count and
  no rank holds more than its share of a cloud.
*/
#include "particles.h"
#include "comparison.h"
#include <dirent.h>

PetscErrorCode GFCompareCreate(MPI_Comm comm, GFCompare *compare)
{
  GFCompare c;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(&c));
  c->comm                   = comm;
  c->settings.mmd_bandwidth = 1;
  c->settings.mmd_max       = 5000;
  c->settings.slices        = 64;
  c->settings.seed          = 1;
  c->replicas               = 1;
  c->stationary_from        = -1;
  *compare                  = c;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The snapshots of the PDE run in c->pde_dir, in order of their number, with their times (rank 0 looks, every rank gets the list). */
static PetscErrorCode GFCompareListSnapshots(GFCompare c)
{
  PetscMPIInt rank;
  int         code                              = 0;
  char        msg[3 * PETSC_MAX_PATH_LEN + 256] = "";
  PetscInt    count = 0, *numbers = NULL;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_rank(c->comm, &rank));
  if (rank == 0) {
    DIR *d = opendir(c->pde_dir);
    if (!d) {
      code = PETSC_ERR_FILE_OPEN;
      snprintf(msg, sizeof(msg), "-pde %s: no such directory (a gradflow run directory with snap_NNNNN.h5 snapshots)", c->pde_dir);
    } else {
      struct dirent *e;
      PetscInt       capacity = 0;
      while ((e = readdir(d))) {
        int number, consumed = 0;
        if (sscanf(e->d_name, "snap_%d%n", &number, &consumed) != 1 || strcmp(e->d_name + consumed, ".h5")) continue;
        if (count == capacity) {
          capacity = 2 * capacity + 16;
          PetscCall(PetscRealloc(capacity * sizeof(PetscInt), &numbers));
        }
        numbers[count++] = number;
      }
      closedir(d);
      PetscCall(PetscSortInt(count, numbers));
      if (!count) {
        code = PETSC_ERR_FILE_UNEXPECTED;
        snprintf(msg, sizeof(msg), "-pde %s: the directory has no snapshots snap_NNNNN.h5 (run gradflow run with -output_dir %s first)", c->pde_dir, c->pde_dir);
      }
    }
  }
  PetscCall(GFCheckRankZero(c->comm, code, msg));
  PetscCallMPI(MPI_Bcast(&count, 1, MPIU_INT, 0, c->comm));
  if (rank) PetscCall(PetscMalloc1(count, &numbers));
  PetscCallMPI(MPI_Bcast(numbers, (PetscMPIInt)count, MPIU_INT, 0, c->comm));
  c->nsnap = count;
  PetscCall(PetscMalloc2(count, &c->snap_number, count, &c->snap_time));
  for (PetscInt k = 0; k < count; k++) c->snap_number[k] = numbers[k];
  PetscCall(PetscFree(numbers));
  PetscCall(GFCompareSnapshotPath(c, 0, c->path, sizeof(c->path)));
  PetscCall(GFSnapshotReadGrid(c->comm, c->path, &c->grid, &c->pde_options));
  for (PetscInt k = 0; k < count; k++) {
    PetscCall(GFCompareSnapshotPath(c, k, c->path, sizeof(c->path)));
    PetscCall(GFSnapshotReadTime(c->comm, c->path, &c->snap_time[k]));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* -pde, -particles and the sweep's options, the metrics' settings, the output directory; everything checked before any work. */
PetscErrorCode GFCompareSetFromOptions(GFCompare c)
{
  PetscBool set, help, counts_set;
  PetscInt  ncounts = GF_COMPARE_MAX_COUNTS, ntimes = GF_COMPARE_MAX_FILES;

  PetscFunctionBeginUser;
  PetscOptionsBegin(c->comm, NULL, "Particles against the PDE (gradflow compare)", "GFCompare");
  PetscCall(GFOptionsString("-pde", "Directory of the PDE run (snap_NNNNN.h5)", "GFCompareSetFromOptions", c->pde_dir, c->pde_dir, sizeof(c->pde_dir), NULL));
  PetscCall(
      GFOptionsString("-particles", "Particle clouds: a gradflow particle run, a directory or comma list of .h5/.csv/.npy files, or one file (default: the -pde directory)", "GFCompareSetFromOptions", c->source, c->source, sizeof(c->source), NULL));
  PetscCall(GFOptionsString("-particles_dataset", "Dataset of the particles in HDF5 files", "GFCompareSetFromOptions", c->dataset, c->dataset, sizeof(c->dataset), NULL));
  PetscCall(GFOptionsRealArray("-particles_time", "Times of the particle files, one per file in order (else from the file or its name)", "GFCompareSetFromOptions", c->file_time, &ntimes, &set, GF_REAL_ANY));
  c->nfile_time = set ? ntimes : 0;
  PetscCall(GFOptionsIntArray("-particle_counts", "N-sweep: run the particle system for these N (instead of reading -particles)", "GFCompareSetFromOptions", c->counts, &ncounts, &counts_set, 1, PETSC_MAX_INT));
  c->ncounts = counts_set ? ncounts : 0;
  PetscCall(GFOptionsInt("-particle_replicas", "N-sweep: independent replicas per N (mean and standard error of every metric)", "GFCompareSetFromOptions", c->replicas, &c->replicas, NULL, PETSC_MIN_INT, PETSC_MAX_INT));
  PetscCall(GFOptionsReal("-compare_stationary", "N-sweep: average the one-particle marginal over every step from this time to the end (stationary statistics)", "GFCompareSetFromOptions", c->stationary_from, &c->stationary_from, NULL, GF_REAL_ANY));
  PetscCall(GFOptionsReal("-compare_mmd_bandwidth", "Bandwidth l of the MMD's Gaussian kernel exp(-|x-y|^2/(2 l^2))", "GFCompareSetFromOptions", c->settings.mmd_bandwidth, &c->settings.mmd_bandwidth, NULL, GF_REAL_POSITIVE));
  PetscCall(GFOptionsInt("-compare_mmd_max", "MMD: particle pairs over a seeded subsample of at most this many particles (0: all)", "GFCompareSetFromOptions", c->settings.mmd_max, &c->settings.mmd_max, NULL, 0, PETSC_MAX_INT));
  PetscCall(GFOptionsInt("-compare_slices", "2D/3D: random directions of the sliced W2", "GFCompareSetFromOptions", c->settings.slices, &c->settings.slices, NULL, 1, PETSC_MAX_INT));
  PetscCall(GFOptionsInt("-compare_seed", "Seed of the slice directions and the MMD subsample", "GFCompareSetFromOptions", c->settings.seed, &c->settings.seed, NULL, 0, PETSC_MAX_INT));
  PetscCall(GFOptionsString("-output_dir", "Directory of compare.csv (default: the -pde directory)", "GFCompareSetFromOptions", c->dir, c->dir, sizeof(c->dir), NULL));
  PetscCall(GFOptionsBool("-output_overwrite", "Replace the compare*.csv of an earlier comparison", "GFCompareSetFromOptions", c->overwrite, &c->overwrite, NULL));
  PetscOptionsEnd();
  PetscCall(PetscOptionsHasHelp(NULL, &help));
  if (help) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCheck(c->pde_dir[0], c->comm, PETSC_ERR_USER_INPUT, "gradflow compare needs -pde DIR, the directory of a PDE run (snap_NNNNN.h5)");
  if (c->ncounts) {
    PetscCheck(!c->source[0], c->comm, PETSC_ERR_USER_INPUT, "-particles %s and -particle_counts: give either particle files to compare or counts to run, not both", c->source);
    PetscCheck(c->replicas >= 1, c->comm, PETSC_ERR_USER_INPUT, "-particle_replicas %" PetscInt_FMT " must be >= 1", c->replicas);
    PetscCheck(c->stationary_from < 0 || c->replicas >= 2, c->comm, PETSC_ERR_USER_INPUT, "-compare_stationary needs -particle_replicas >= 2: the one-particle marginal's standard error comes from independent replicas");
  } else {
    PetscCheck(c->stationary_from < 0, c->comm, PETSC_ERR_USER_INPUT, "-compare_stationary belongs to an N-sweep (-particle_counts)");
    if (!c->source[0]) PetscCall(PetscStrncpy(c->source, c->pde_dir, sizeof(c->source)));
  }
  if (!c->dir[0]) PetscCall(PetscStrncpy(c->dir, c->pde_dir, sizeof(c->dir)));
  PetscCall(GFCompareListSnapshots(c));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The time of file f of the source: -particles_time, else the file's own, else its name's; and its snapshot. */
static PetscErrorCode GFCompareFileTime(GFCompare c, PetscInt f, const char path[], const GFParticleFileInfo *info, PetscReal *t, PetscInt *snapshot)
{
  PetscFunctionBeginUser;
  if (c->nfile_time)
    *t = c->file_time[f];
  else if (!PetscIsInfOrNanReal(info->time))
    *t = info->time;
  else
    PetscCheck(GFParticleFileNameTime(path, t), c->comm, PETSC_ERR_USER_INPUT, "%s: the file carries no time and its name has none; put the time in the name (e.g. cloud_t0.5.npy) or give -particles_time", path);
  *snapshot = GFCompareFindSnapshot(c, *t);
  if (*snapshot < 0) {
    char times[512] = "";
    for (PetscInt k = 0; k < c->nsnap && strlen(times) < sizeof(times) - 32; k++) {
      const size_t len = strlen(times);
      PetscCall(PetscSNPrintf(times + len, sizeof(times) - len, "%s%.6g", k ? ", " : "", (double)c->snap_time[k]));
    }
    SETERRQ(c->comm, PETSC_ERR_USER_INPUT, "%s: time %.9g matches no snapshot of the PDE run %s, which has t = %s", path, (double)*t, c->pde_dir, times);
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Every particle of a file inside the PDE run's box, walls included: the metrics integrate over the box only (and 1e308 overflows them). Each rank checks its block of rows (x, from row start), the message names the first particle outside over all
 * ranks. Collective. */
static PetscErrorCode GFCompareCheckInBox(GFCompare c, const char path[], const GFParticleFileInfo *info, PetscInt start, PetscInt count, const PetscReal x[])
{
  const struct _p_GFGrid *g     = c->grid;
  PetscInt64              first = INT64_MAX, mine = INT64_MAX;
  PetscReal               value = 0;
  PetscMPIInt             rank, owner;

  PetscFunctionBeginUser;
  for (PetscInt k = 0; k < count * info->dim && mine == INT64_MAX; k++) {
    const PetscInt a = k % info->dim;
    if (!(x[k] >= g->lower[a] && x[k] <= g->upper[a])) {
      mine  = (PetscInt64)start * info->dim + k;
      value = x[k];
    }
  }
  first = mine;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPIU_INT64, MPI_MIN, c->comm));
  if (first == INT64_MAX) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCallMPI(MPI_Comm_rank(c->comm, &rank));
  owner = mine == first ? rank : PETSC_MPI_INT_MAX;
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &owner, 1, MPI_INT, MPI_MIN, c->comm));
  PetscCallMPI(MPI_Bcast(&value, 1, MPIU_REAL, owner, c->comm));
  {
    const PetscInt row = (PetscInt)(first / info->dim), a = (PetscInt)(first % info->dim);
    SETERRQ(c->comm, PETSC_ERR_USER_INPUT, "particle file %s: row %" PetscInt_FMT ", column %" PetscInt_FMT " is %g, outside the PDE run's box [%g, %g] along %c: the particles must live in the PDE's domain", path, row + 1, a + 1, (double)value,
            (double)g->lower[a], (double)g->upper[a], (int)('x' + a));
  }
}

/* File f of the source checked before any metric: readable, of the PDE's dimension, inside its box, of a time that has a snapshot. Each rank reads its block of rows; frees what it reads on every path. */
static PetscErrorCode GFCompareCheckFile(GFCompare c, PetscInt f, const char path[], PetscReal *time, PetscInt *snapshot)
{
  GFParticleFileInfo info;
  PetscReal         *x;
  PetscInt           start, count;
  PetscErrorCode     ierr;

  PetscFunctionBeginUser;
  PetscCall(GFParticleFileReadBlocks(c->comm, path, c->dataset, c->grid->dim, &info, &start, &count, &x));
  ierr = GFCompareCheckInBox(c, path, &info, start, count, x);
  PetscCall(PetscFree(x));
  PetscCall(ierr);
  PetscCall(GFCompareFileTime(c, f, path, &info, time, snapshot));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* One row of the table and of compare.csv (csv NULL off rank 0): file path against its snapshot. Frees the particles and the density on every path. */
static PetscErrorCode GFCompareMeasureFile(GFCompare c, const char path[], PetscReal time, PetscInt snapshot, PetscBool last, PetscInt ncol, const GFCompareMetric ids[], FILE *csv)
{
  const PetscInt     d = c->grid->dim;
  GFParticleFileInfo info;
  GFCompareDensity   q;
  GFParticleMetrics  m;
  PetscReal         *x, values[GF_METRIC_COUNT + 1];
  PetscInt           start, count;
  PetscErrorCode     ierr;

  PetscFunctionBeginUser;
  PetscCall(GFParticleFileReadBlocks(c->comm, path, c->dataset, d, &info, &start, &count, &x));
  ierr = GFCompareLoadDensity(c, snapshot, &q);
  if (!ierr) ierr = GFCompareMeasure(c->comm, &c->settings, &q, info.n, count, start, NULL, x, PETSC_TRUE, &m);
  PetscCall(GFCompareDensityDestroy(&q));
  PetscCall(PetscFree(x));
  PetscCall(ierr);
  for (PetscInt k = 0; k < ncol; k++) values[k] = GFCompareMetricValue(&m, ids[k]);
  values[ncol] = m.w1_floor;
  PetscCall(PetscPrintf(c->comm, "%12.6g %11" PetscInt_FMT, (double)time, info.n));
  for (PetscInt k = 0; k < ncol + (d == 1); k++) PetscCall(PetscPrintf(c->comm, " %11.4e", (double)values[k]));
  PetscCall(PetscPrintf(c->comm, "\n"));
  if (csv) {
    fprintf(csv, "%.17g,%" PetscInt_FMT, (double)time, info.n);
    GFCompareWriteValues(csv, ncol + (d == 1), values);
    fprintf(csv, "\n");
  }
  if (m.mmd_n < info.n && last) PetscCall(PetscPrintf(c->comm, "(mmd: particle pairs over a seeded subsample of %" PetscInt_FMT " of the %" PetscInt_FMT " particles; -compare_mmd_max 0 takes all)\n", m.mmd_n, info.n));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  File mode: check every file (GFCompareCheckFile) before any metric, then measure each
  against its snapshot: the table and compare.csv. A failure frees what was allocated.
*/
static PetscErrorCode GFCompareFiles(GFCompare c)
{
  const PetscInt  d = c->grid->dim;
  PetscInt        nfiles, ncol, *snapshot;
  char          **files;
  const char     *names[GF_METRIC_COUNT];
  GFCompareMetric ids[GF_METRIC_COUNT];
  PetscReal      *times;
  FILE           *csv = NULL;
  PetscErrorCode  ierr;

  PetscFunctionBeginUser;
  PetscCall(GFParticleSourceList(c->comm, c->source, &nfiles, &files));
  if (c->nfile_time && c->nfile_time != nfiles) {
    PetscCall(GFParticleSourceFree(nfiles, &files));
    SETERRQ(c->comm, PETSC_ERR_USER_INPUT, "-particles_time has %" PetscInt_FMT " times for %" PetscInt_FMT " particle files in %s", c->nfile_time, nfiles, c->source);
  }
  PetscCall(PetscMalloc2(nfiles, &times, nfiles, &snapshot));
  ierr = PETSC_SUCCESS;
  for (PetscInt f = 0; f < nfiles && !ierr; f++) ierr = GFCompareCheckFile(c, f, files[f], &times[f], &snapshot[f]);
  if (!ierr) ierr = GFComparePrepareOutput(c);
  if (!ierr) {
    ncol = GFCompareColumns(d, PETSC_FALSE, names, ids);
    PetscCall(PetscPrintf(c->comm, "compare: %" PetscInt_FMT " particle file%s of %s against the PDE run %s (%" PetscInt_FMT "D, %" PetscInt_FMT " cells)\n", nfiles, nfiles > 1 ? "s" : "", c->source, c->pde_dir, d,
                          c->grid->cells[0] * c->grid->cells[1] * c->grid->cells[2]));
    PetscCall(PetscPrintf(c->comm, "%12s %11s", "time", "n_particles"));
    for (PetscInt k = 0; k < ncol; k++) PetscCall(PetscPrintf(c->comm, " %11s", names[k]));
    if (d == 1) PetscCall(PetscPrintf(c->comm, " %11s", "w1_floor"));
    PetscCall(PetscPrintf(c->comm, "\n"));
    ierr = GFRunDirectoryOpen(c->rundir, "compare.csv", "w", &csv);
  }
  if (!ierr) {
    if (csv) {
      fprintf(csv, "time,n_particles");
      for (PetscInt k = 0; k < ncol; k++) fprintf(csv, ",%s", names[k]);
      fprintf(csv, d == 1 ? ",w1_floor\n" : "\n");
    }
    for (PetscInt f = 0; f < nfiles && !ierr; f++) ierr = GFCompareMeasureFile(c, files[f], times[f], snapshot[f], (PetscBool)(f == nfiles - 1), ncol, ids, csv);
    if (!ierr || GFErrorIsCollective(ierr)) {
      const PetscErrorCode closed = GFRunDirectoryClose(c->rundir, "compare.csv", &csv); /* after a failure the file waits for a commit that never comes, and goes */
      if (!ierr) ierr = closed;
    }
  }
  if (!ierr) PetscCall(PetscPrintf(c->comm, "compare: %s/compare.csv\n", c->dir));
  PetscCall(PetscFree2(times, snapshot));
  PetscCall(GFParticleSourceFree(nfiles, &files));
  PetscFunctionReturn(ierr);
}

PetscErrorCode GFCompareRun(GFCompare c)
{
  PetscFunctionBeginUser;
  if (c->ncounts)
    PetscCall(GFCompareSweep(c));
  else
    PetscCall(GFCompareFiles(c));
  PetscCall(GFRunDirectoryCommit(c->rundir));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFCompareGetDirectory(GFCompare c, const char **dir)
{
  PetscFunctionBeginUser;
  *dir = c->dir;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PetscErrorCode GFCompareDestroy(GFCompare *compare)
{
  GFCompare c = *compare;

  PetscFunctionBeginUser;
  if (!c) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(GFRunDirectoryDestroy(&c->rundir));
  PetscCall(PetscFree2(c->snap_number, c->snap_time));
  PetscCall(PetscFree(c->pde_options));
  PetscCall(GFGridDestroy(&c->grid));
  PetscCall(PetscFree(c));
  *compare = NULL;
  PetscFunctionReturn(PETSC_SUCCESS);
}
