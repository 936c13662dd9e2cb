/*
  What gradflow compare's file comparison (compare.c) and its N-sweep (sweep.c) share: the
  PDE's snapshots as GFCompareDensity, the metrics of one cloud spread over the ranks against
  one of them (no rank gathers the cloud; the result does not depend on the number of ranks),
  the columns of compare.csv, the output directory.
*/
#include "comparison.h"
#include <petsc/private/hashmapi.h>

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

/*
  The density's mean and covariance from its cell probabilities at the cell centres, in
  natural order on every rank (the same numbers on any number of ranks), with Sheppard's
  correction -h^2/12 per axis as in diagnostics.csv.
*/
static PetscErrorCode GFCompareDensityMoments(GFCompareDensity *q)
{
  GFMoments m;

  PetscFunctionBeginUser;
  for (PetscInt pass = 0; pass < 2; pass++) {
    GFMomentsInit(&m, q->dim, pass ? q->mean : NULL);
    for (PetscInt c = 0; c < q->ncells; c++) {
      const PetscInt idx[3] = {c % q->cells[0], (c / q->cells[0]) % q->cells[1], c / (q->cells[0] * q->cells[1])};
      PetscReal      x[3];
      for (PetscInt a = 0; a < q->dim; a++) x[a] = q->lower[a] + (idx[a] + 0.5) * q->h[a];
      GFMomentsAdd(&m, q->p[c], x);
    }
    PetscCall(GFMomentsFinish(&m, PETSC_COMM_SELF, q->h, NULL, q->mean, q->covariance));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
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
  PetscCall(GFCompareDensityMoments(q));
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
  The MMD's particles on every rank (m x dim into sub): all n in global order, or the first m of
  a seeded random permutation of the global indices (Fisher-Yates with counter-based uniforms,
  the positions it has moved in a hash map: O(m) memory), the same particles in the same order
  on any number of ranks. Each rank gives those it holds (the global index of its particle i is
  id[i], or start + i without id), gathered by one MPI_Allgatherv: O(m) numbers a rank.
  Collective.
*/
static PetscErrorCode GFCompareSubsample(MPI_Comm comm, const GFCompareSettings *s, PetscInt dim, PetscInt n, PetscInt nlocal, PetscInt start, const PetscInt id[], const PetscReal x[], PetscInt *m, PetscReal **sub)
{
  PetscHMapI   moved, position = NULL; /* Fisher-Yates' moved entries; a subsample particle's global index -> its place */
  PetscInt     mine = 0;
  PetscReal   *records, *all;
  PetscMPIInt  size, reals, *counts, *displs, total = 0;
  const size_t width = 1 + (size_t)dim;

  PetscFunctionBeginUser;
  *m = s->mmd_max > 0 ? PetscMin(s->mmd_max, n) : n;
  if (*m < n) {
    PetscCall(PetscHMapICreate(&moved));
    PetscCall(PetscHMapICreate(&position));
    for (PetscInt i = 0; i < *m; i++) {
      PetscReal u[2];
      PetscInt  j, at_i, at_j;
      GFRandomUniforms((uint64_t)s->seed, (uint64_t)i, 0, GF_RANDOM_BLOCK_SUBSAMPLE, u);
      j = i + PetscMin((PetscInt)(u[0] * (n - i)), n - i - 1);
      PetscCall(PetscHMapIGet(moved, i, &at_i));
      PetscCall(PetscHMapIGet(moved, j, &at_j));
      if (at_i < 0) at_i = i;
      if (at_j < 0) at_j = j;
      PetscCall(PetscHMapISet(moved, i, at_j));
      PetscCall(PetscHMapISet(moved, j, at_i));
      PetscCall(PetscHMapISet(position, at_j, i));
    }
    PetscCall(PetscHMapIDestroy(&moved));
  }
  PetscCall(PetscMalloc1(width * PetscMin(nlocal, *m), &records));
  for (PetscInt i = 0; i < nlocal; i++) {
    PetscInt k = id ? id[i] : start + i;
    if (position) PetscCall(PetscHMapIGet(position, k, &k));
    if (k < 0) continue;
    records[width * mine] = (PetscReal)k;
    PetscCall(PetscArraycpy(records + width * mine + 1, x + dim * i, dim));
    mine++;
  }
  PetscCall(PetscHMapIDestroy(&position));
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCall(PetscMalloc2(size, &counts, size, &displs));
  reals = (PetscMPIInt)(width * mine);
  PetscCallMPI(MPI_Allgather(&reals, 1, MPI_INT, counts, 1, MPI_INT, comm));
  for (PetscMPIInt r = 0; r < size; r++) {
    displs[r] = total;
    total += counts[r];
  }
  PetscCheck((PetscInt)(total / width) == *m, comm, PETSC_ERR_PLIB, "The MMD subsample gathered %d of its %" PetscInt_FMT " particles: global indices missing or repeated", (int)(total / width), *m);
  PetscCall(PetscMalloc1(total, &all));
  PetscCallMPI(MPI_Allgatherv(records, reals, MPIU_REAL, all, counts, displs, MPIU_REAL, comm));
  PetscCall(PetscMalloc1(*m * dim, sub));
  for (PetscInt r = 0; r < *m; r++) PetscCall(PetscArraycpy(*sub + dim * (PetscInt)all[width * r], all + width * r + 1, dim));
  PetscCall(PetscFree(all));
  PetscCall(PetscFree2(counts, displs));
  PetscCall(PetscFree(records));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Every metric of the n particles spread over the ranks of comm (nlocal on this rank, x, of
  global indices id[i], or start + i without id) against q. Collective; the same bits on any
  number of ranks: moments and W terms summed exactly, histograms in integers, the MMD's sums
  in index order. No rank holds more than its particles and O(n / P) others (sorts), the
  MMD's subsample and the density.
*/
PETSC_INTERN PetscErrorCode GFCompareMeasure(MPI_Comm comm, const GFCompareSettings *s, const GFCompareDensity *q, PetscInt n, PetscInt nlocal, PetscInt start, const PetscInt id[], const PetscReal x[], PetscBool floor, GFParticleMetrics *m)
{
  const PetscInt d = q->dim;
  PetscInt       begin, end;

  PetscFunctionBeginUser;
  PetscCall(PetscMemzero(m, sizeof(*m)));
  m->w1 = m->w2 = m->sliced_w2 = m->w1_floor = m->risk_gap = m->output_gap = (PetscReal)NAN;
  PetscCall(GFPointMomentsExact(comm, d, nlocal, x, m->mean, m->covariance));
  for (PetscInt a = 0; a < d; a++) {
    m->mean_error += PetscSqr(m->mean[a] - q->mean[a]);
    for (PetscInt b = 0; b < d; b++) m->cov_error += PetscSqr(m->covariance[a][b] - q->covariance[a][b]);
  }
  m->mean_error = PetscSqrtReal(m->mean_error);
  m->cov_error  = PetscSqrtReal(m->cov_error);
  PetscCall(GFMetricL1Distributed(comm, q, n, nlocal, x, &m->l1));
  if (d == 1) {
    PetscReal *sorted;
    PetscCall(PetscMalloc1(nlocal, &sorted));
    PetscCall(PetscArraycpy(sorted, x, nlocal));
    PetscCall(GFMetricWasserstein1DDistributed(comm, q, n, nlocal, sorted, &m->w1, &m->w2));
    PetscCall(PetscFree(sorted));
    if (floor) PetscCall(GFMetricW1Floor(q, n, &m->w1_floor));
  } else {
    PetscReal *values, sum = 0;
    PetscCall(PetscMalloc1(s->slices, &values));
    PetscCall(GFMetricSlicedW2Distributed(comm, q, n, nlocal, x, (uint64_t)s->seed, s->slices, values));
    for (PetscInt k = 0; k < s->slices; k++) sum += values[k];
    PetscCall(PetscFree(values));
    m->sliced_w2 = PetscSqrtReal(sum / s->slices);
  }
  {
    PetscReal *sub, *values, pairs, cross, squared;
    PetscInt   k;
    PetscCall(GFCompareSubsample(comm, s, d, n, nlocal, start, id, x, &k, &sub));
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
PETSC_INTERN PetscInt GFCompareColumns(PetscInt dim, PetscBool risk, const char *names[], GFCompareMetric ids[])
{
  static const char *const all[] = {"w1", "w2", "sliced_w2", "l1", "mean_error", "cov_error", "mmd", "risk_gap", "output_gap"};
  PetscInt                 n     = 0;

  for (PetscInt k = 0; k < GF_METRIC_COUNT; k++) {
    if ((dim == 1 && k == GF_METRIC_SLICED_W2) || (dim > 1 && (k == GF_METRIC_W1 || k == GF_METRIC_W2)) || (!risk && (k == GF_METRIC_RISK_GAP || k == GF_METRIC_OUTPUT_GAP))) continue;
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
  case GF_METRIC_RISK_GAP: return m->risk_gap;
  case GF_METRIC_OUTPUT_GAP: return m->output_gap;
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
