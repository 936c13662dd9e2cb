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
  are not read but run (sweep.c). Metrics use every particle on every rank; the work of
  the slices and of the MMD is split over the ranks and summed in a fixed order, so the
  numbers do not depend on the rank count.
*/
#include "particles_impl.h"
#include "compare_impl.h"
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
  PetscCallMPI(MPI_Bcast(&code, 1, MPI_INT, 0, c->comm));
  if (code) {
    PetscCallMPI(MPI_Bcast(msg, (int)sizeof(msg), MPI_CHAR, 0, c->comm));
    SETERRQ(c->comm, code, "%s", msg);
  }
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

PETSC_INTERN PetscErrorCode GFCompareSnapshotPath(GFCompare c, PetscInt k, char path[], size_t len)
{
  PetscFunctionBeginUser;
  PetscCall(PetscSNPrintf(path, len, "%s/snap_%05d.h5", c->pde_dir, (int)c->snap_number[k]));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The snapshot whose time is t (to 1e-9 relative), or -1. */
PETSC_INTERN PetscInt GFCompareFindSnapshot(GFCompare c, PetscReal t)
{
  for (PetscInt k = 0; k < c->nsnap; k++)
    if (PetscAbsReal(c->snap_time[k] - t) <= 1e-9 * PetscMax(1, PetscAbsReal(t))) return k;
  return -1;
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

/*
  The density's mean and covariance from its cell probabilities at the cell centres, in
  natural order on every rank (the same numbers on any number of ranks), with Sheppard's
  correction -h^2/12 per axis as in diagnostics.csv.
*/
static void GFCompareDensityMoments(GFCompareDensity *q)
{
  const PetscInt d = q->dim;

  for (PetscInt a = 0; a < d; a++) q->mean[a] = 0;
  for (PetscInt c = 0; c < q->ncells; c++) {
    const PetscInt idx[3] = {c % q->cells[0], (c / q->cells[0]) % q->cells[1], c / (q->cells[0] * q->cells[1])};
    for (PetscInt a = 0; a < d; a++) q->mean[a] += q->p[c] * (q->lower[a] + (idx[a] + 0.5) * q->h[a]);
  }
  for (PetscInt a = 0; a < d; a++)
    for (PetscInt b = 0; b < d; b++) q->covariance[a][b] = a == b ? -q->h[a] * q->h[a] / 12 : 0;
  for (PetscInt c = 0; c < q->ncells; c++) {
    const PetscInt idx[3] = {c % q->cells[0], (c / q->cells[0]) % q->cells[1], c / (q->cells[0] * q->cells[1])};
    PetscReal      y[3];
    for (PetscInt a = 0; a < d; a++) y[a] = q->lower[a] + (idx[a] + 0.5) * q->h[a] - q->mean[a];
    for (PetscInt a = 0; a < d; a++)
      for (PetscInt b = 0; b < d; b++) q->covariance[a][b] += q->p[c] * y[a] * y[b];
  }
}

/*
  Snapshot k as a GFCompareDensity on every rank: probabilities in natural order (every value
  finite and >= 0, of finite positive mass), Sheppard-corrected
  moments, and int int k q q for the MMD. On a failure q->p is left for GFCompareDensityDestroy.
*/
PETSC_INTERN PetscErrorCode GFCompareLoadDensity(GFCompare c, PetscInt k, GFCompareDensity *q)
{
  const struct _p_GFGrid *g = c->grid;
  Vec                     rho, all;
  const PetscScalar      *r;
  PetscReal               sum = 0;
  PetscInt                bad = 0;
  PetscErrorCode          ierr;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(q, sizeof(*q)));
  q->dim = g->dim;
  for (PetscInt a = 0; a < 3; a++) {
    q->cells[a] = g->cells[a];
    q->lower[a] = g->lower[a];
    q->upper[a] = g->upper[a];
    q->h[a]     = g->h[a];
  }
  q->ncells      = g->cells[0] * g->cells[1] * g->cells[2];
  q->cell_volume = g->cell_volume;
  q->bc          = g->bc;
  PetscCall(DMCreateGlobalVector(g->da, &rho));
  PetscCall(GFCompareSnapshotPath(c, k, c->path, sizeof(c->path)));
  ierr = GFSnapshotRead(c->grid, c->path, rho, NULL, NULL);
  if (!ierr) ierr = GFGridGatherNatural(c->grid, rho, &all);
  PetscCall(VecDestroy(&rho));
  PetscCall(ierr);
  PetscCall(PetscMalloc1(q->ncells, &q->p));
  PetscCall(VecGetArrayRead(all, &r));
  for (PetscInt i = 0; i < q->ncells; i++) {
    q->p[i] = PetscRealPart(r[i]);
    if (PetscIsInfOrNanReal(q->p[i]) || q->p[i] < 0)
      bad++;
    else
      sum += q->p[i];
  }
  PetscCall(VecRestoreArrayRead(all, &r));
  PetscCall(VecDestroy(&all));
  PetscCheck(!bad, c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: the density has %" PetscInt_FMT " values that are NaN, infinite or negative: not a density to compare with (a damaged snapshot)", c->path, bad);
  PetscCheck(sum > 0 && PetscIsNormalReal(sum), c->comm, PETSC_ERR_FILE_UNEXPECTED, "%s: the density has %s mass to compare with", c->path, sum > 0 ? "an infinite" : "no positive");
  for (PetscInt i = 0; i < q->ncells; i++) q->p[i] /= sum;
  GFCompareDensityMoments(q);
  PetscCall(GFMetricMMDDensity(q, c->settings.mmd_bandwidth, &q->mmd_self));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFCompareDensityDestroy(GFCompareDensity *q)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(q->p));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* values[0 .. n) computed in pieces [begin, end) per rank of comm, gathered in order on every rank. */
static PetscErrorCode GFCompareSplit(MPI_Comm comm, PetscInt n, PetscInt *begin, PetscInt *end)
{
  PetscMPIInt size, rank;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  *begin = (PetscInt)(((PetscInt64)n * rank) / size);
  *end   = (PetscInt)(((PetscInt64)n * (rank + 1)) / size);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Sum of the n values whose pieces the ranks hold (GFCompareSplit), added in index order: the same on any number of ranks. */
static PetscErrorCode GFCompareOrderedSum(MPI_Comm comm, PetscInt n, const PetscReal piece[], PetscReal *sum)
{
  PetscMPIInt size, *counts, *displs;
  PetscReal  *all;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PetscMalloc3(size, &counts, size, &displs, n, &all));
  for (PetscMPIInt r = 0; r < size; r++) {
    displs[r] = (PetscMPIInt)(((PetscInt64)n * r) / size);
    counts[r] = (PetscMPIInt)(((PetscInt64)n * (r + 1)) / size) - displs[r];
  }
  {
    PetscMPIInt rank;
    PetscCallMPI(MPI_Comm_rank(comm, &rank));
    PetscCallMPI(MPI_Allgatherv(piece, counts[rank], MPIU_REAL, all, counts, displs, MPIU_REAL, comm));
  }
  *sum = 0;
  for (PetscInt i = 0; i < n; i++) *sum += all[i];
  PetscCall(PetscFree3(counts, displs, all));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The MMD's particles: all of them, or the first m of a seeded random permutation (Fisher-Yates
  with counter-based uniforms, the same on every rank), into sub (m x dim).
*/
static PetscErrorCode GFCompareSubsample(const GFCompareSettings *s, PetscInt dim, PetscInt n, const PetscReal x[], PetscInt *m, PetscReal **sub)
{
  PetscInt *order;

  PetscFunctionBeginUser;
  *m = s->mmd_max > 0 ? PetscMin(s->mmd_max, n) : n;
  PetscCall(PetscMalloc1(*m * dim, sub));
  if (*m == n) {
    PetscCall(PetscArraycpy(*sub, x, n * dim));
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(PetscMalloc1(n, &order));
  for (PetscInt i = 0; i < n; i++) order[i] = i;
  for (PetscInt i = 0; i < *m; i++) {
    PetscReal      u[2];
    PetscInt       j;
    const PetscInt t = order[i];
    GFRandomUniforms((uint64_t)s->seed, (uint64_t)i, 0, GF_RANDOM_BLOCK_SUBSAMPLE, u);
    j        = i + PetscMin((PetscInt)(u[0] * (n - i)), n - i - 1);
    order[i] = order[j];
    order[j] = t;
    PetscCall(PetscArraycpy(*sub + dim * i, x + dim * order[i], dim));
  }
  PetscCall(PetscFree(order));
  PetscFunctionReturn(PETSC_SUCCESS);
}

static int CompareReals(const void *a, const void *b)
{
  const PetscReal x = *(const PetscReal *)a, y = *(const PetscReal *)b;
  return (x > y) - (x < y);
}

/*
  Every metric of the n particles x (all of them on every rank of comm) against q.
  Collective on comm; the same numbers on any number of ranks.
*/
PETSC_INTERN PetscErrorCode GFCompareMeasure(MPI_Comm comm, const GFCompareSettings *s, const GFCompareDensity *q, PetscInt n, const PetscReal x[], PetscBool floor, GFParticleMetrics *m)
{
  const PetscInt d = q->dim;
  PetscInt       begin, end;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(m, sizeof(*m)));
  m->w1 = m->w2 = m->sliced_w2 = m->w1_floor = (PetscReal)NAN;
  GFParticleMoments(d, n, x, m->mean, m->covariance);
  for (PetscInt a = 0; a < d; a++) {
    m->mean_error += PetscSqr(m->mean[a] - q->mean[a]);
    for (PetscInt b = 0; b < d; b++) m->cov_error += PetscSqr(m->covariance[a][b] - q->covariance[a][b]);
  }
  m->mean_error = PetscSqrtReal(m->mean_error);
  m->cov_error  = PetscSqrtReal(m->cov_error);
  PetscCall(GFMetricL1(q, n, x, &m->l1));
  if (d == 1) {
    PetscReal *sorted;
    PetscCall(PetscMalloc1(n, &sorted));
    PetscCall(PetscArraycpy(sorted, x, n));
    qsort(sorted, (size_t)n, sizeof(PetscReal), CompareReals);
    PetscCall(GFMetricWasserstein1D(q, n, sorted, &m->w1, &m->w2));
    PetscCall(PetscFree(sorted));
    if (floor) PetscCall(GFMetricW1Floor(q, n, &m->w1_floor));
  } else {
    PetscReal *values, sum;
    PetscCall(GFCompareSplit(comm, s->slices, &begin, &end));
    PetscCall(PetscMalloc1(PetscMax(end - begin, 1), &values));
    PetscCall(GFMetricSlicedW2(q, n, x, (uint64_t)s->seed, begin, end, values));
    PetscCall(GFCompareOrderedSum(comm, s->slices, values, &sum));
    PetscCall(PetscFree(values));
    m->sliced_w2 = PetscSqrtReal(sum / s->slices);
  }
  {
    PetscReal *sub, *values, pairs, cross, squared;
    PetscInt   k;
    PetscCall(GFCompareSubsample(s, d, n, x, &k, &sub));
    PetscCall(GFCompareSplit(comm, k, &begin, &end));
    PetscCall(PetscMalloc1(PetscMax(end - begin, 1), &values));
    PetscCall(GFMetricMMDPairs(d, s->mmd_bandwidth, k, sub, begin, end, values));
    PetscCall(GFCompareOrderedSum(comm, k, values, &pairs));
    PetscCall(GFMetricMMDCross(q, s->mmd_bandwidth, end - begin, sub + d * begin, values));
    PetscCall(GFCompareOrderedSum(comm, k, values, &cross));
    PetscCall(PetscFree(values));
    PetscCall(PetscFree(sub));
    squared  = pairs / ((PetscReal)k * k) - 2 * cross / k + q->mmd_self;
    m->mmd   = PetscSqrtReal(PetscMax(squared, 0));
    m->mmd_n = k;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The metric columns of compare.csv and the table, for the dimension: 1D w1,w2 then the rest; 2D/3D sliced_w2 then the rest. */
PETSC_INTERN PetscInt GFCompareColumns(PetscInt dim, const char *names[], GFCompareMetric ids[])
{
  static const char *const all[] = {"w1", "w2", "sliced_w2", "l1", "mean_error", "cov_error", "mmd"};
  PetscInt                 n     = 0;

  for (PetscInt k = 0; k < GF_METRIC_COUNT; k++) {
    if ((dim == 1 && k == GF_METRIC_SLICED_W2) || (dim > 1 && (k == GF_METRIC_W1 || k == GF_METRIC_W2))) continue;
    if (names) names[n] = all[k];
    if (ids) ids[n] = (GFCompareMetric)k;
    n++;
  }
  return n;
}

/* Metric id of m. */
PETSC_INTERN PetscReal GFCompareMetricValue(const GFParticleMetrics *m, GFCompareMetric id)
{
  switch (id) {
  case GF_METRIC_W1: return m->w1;
  case GF_METRIC_W2: return m->w2;
  case GF_METRIC_SLICED_W2: return m->sliced_w2;
  case GF_METRIC_L1: return m->l1;
  case GF_METRIC_MEAN_ERROR: return m->mean_error;
  case GF_METRIC_COV_ERROR: return m->cov_error;
  default: return m->mmd;
  }
}

/* Roles in compare's output directory: its own compare*.csv/png, the PDE and particle runs it compares beside them. */
static GFFileRole CompareFileRole(const char name[], void *ctx)
{
  (void)ctx;
  if (GFIsCompareFile(name)) return GF_FILE_OLD;
  if (GFIsPDEFile(name) || GFIsParticleFile(name)) return GF_FILE_COMPANION;
  return GF_FILE_FOREIGN;
}

PETSC_INTERN PetscErrorCode GFComparePrepareOutput(GFCompare c)
{
  PetscFunctionBeginUser;
  if (!c->rundir) PetscCall(GFRunDirectoryCreate(c->comm, c->dir, c->overwrite, CompareFileRole, NULL, &c->rundir));
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

/* One row of compare.csv's metrics: values in column order, blank for NaN. */
PETSC_INTERN void GFCompareWriteValues(FILE *csv, PetscInt n, const PetscReal values[])
{
  for (PetscInt k = 0; k < n; k++) {
    if (PetscIsInfOrNanReal(values[k]))
      fprintf(csv, ",");
    else
      fprintf(csv, ",%.17g", (double)values[k]);
  }
}

/* Every particle of a file inside the PDE run's box, walls included: the metrics integrate over the box only (and 1e308 overflows them). Collective (x on every rank). */
static PetscErrorCode GFCompareCheckInBox(GFCompare c, const char path[], const GFParticleFileInfo *info, const PetscReal x[])
{
  const struct _p_GFGrid *g = c->grid;

  PetscFunctionBeginUser;
  for (PetscInt i = 0; i < info->n; i++) {
    for (PetscInt a = 0; a < info->dim; a++) {
      const PetscReal v = x[i * info->dim + a];
      PetscCheck(v >= g->lower[a] && v <= g->upper[a], c->comm, PETSC_ERR_USER_INPUT, "particle file %s: row %" PetscInt_FMT ", column %" PetscInt_FMT " is %g, outside the PDE run's box [%g, %g] along %c: the particles must live in the PDE's domain",
                 path, i + 1, a + 1, (double)v, (double)g->lower[a], (double)g->upper[a], (int)('x' + a));
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* File f of the source checked before any metric: readable, of the PDE's dimension, inside its box, of a time that has a snapshot. Frees what it reads on every path. */
static PetscErrorCode GFCompareCheckFile(GFCompare c, PetscInt f, const char path[], PetscReal *time, PetscInt *snapshot)
{
  GFParticleFileInfo info;
  PetscReal         *x;
  PetscErrorCode     ierr;

  PetscFunctionBeginUser;
  PetscCall(GFParticleFileRead(c->comm, path, c->dataset, c->grid->dim, &info, &x));
  ierr = GFCompareCheckInBox(c, path, &info, x);
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
  PetscErrorCode     ierr;

  PetscFunctionBeginUser;
  PetscCall(GFParticleFileRead(c->comm, path, c->dataset, d, &info, &x));
  ierr = GFCompareLoadDensity(c, snapshot, &q);
  if (!ierr) ierr = GFCompareMeasure(c->comm, &c->settings, &q, info.n, x, PETSC_TRUE, &m);
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
    ncol = GFCompareColumns(d, names, ids);
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
