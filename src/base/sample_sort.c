/*
  Sorting numbers spread over the ranks (GFSampleSort, base.h), for quantile functions of data
  that no rank holds whole. Sample sort by regular sampling (H. Shi, J. Schaeffer, "Parallel
  sorting by regular sampling", J. Parallel Distrib. Comput. 14, 1992): each rank sorts its
  numbers and draws GF_SORT_SAMPLES of them evenly spaced; every rank sorts all the samples
  (MPI_Allgatherv, at most GF_SORT_SAMPLES a rank) and takes P - 1 splitters evenly spaced
  among them; rank r gets the numbers between splitters r - 1 and r (MPI_Alltoall of the
  counts, MPI_Alltoallv of the numbers) and merges the P sorted runs; MPI_Exscan of the counts gives each rank
  the global rank of its first number. With P samples a rank no rank ends with more than about
  2 n / P numbers (fewer samples widen that bound; many equal numbers all go to one rank).
*/
#include "base.h"
#include <string.h>

#define GF_SORT_SAMPLES 64

#define GF_RADIX_BITS 11
#define GF_RADIX_DIGITS 6 /* 6 x 11 >= 64 bits */

/* The bits of x as an unsigned key in the order of the numbers (the sign bit flipped for x >= 0, every bit for x < 0; -0 below +0). */
static inline uint64_t GFRealKey(PetscReal x)
{
  uint64_t bits;

  memcpy(&bits, &x, sizeof(bits));
  return bits >> 63 ? ~bits : bits | ((uint64_t)1 << 63);
}

static inline PetscReal GFKeyReal(uint64_t key)
{
  const uint64_t bits = key >> 63 ? key & ~((uint64_t)1 << 63) : ~key;
  PetscReal      x;

  memcpy(&x, &bits, sizeof(x));
  return x;
}

/* The key (or any 64 bits) held in a double's place, and back. */
static inline uint64_t GFLoadBits(const PetscReal *a)
{
  uint64_t bits;

  memcpy(&bits, a, sizeof(bits));
  return bits;
}

static inline void GFStoreBits(PetscReal *a, uint64_t bits)
{
  memcpy(a, &bits, sizeof(bits));
}

/*
  n numbers sorted in place: least-significant-digit radix sort of their keys (GFRealKey, held in
  x's own place and in one more array of n), 6 digits of 11 bits, a digit that all keys share
  skipped: O(n) whatever the order of the numbers (PetscSortReal's quicksort is quadratic on
  runs, e.g. two sorted halves).
*/
static PetscErrorCode GFSortReals(PetscInt n, PetscReal x[])
{
  const uint64_t mask = ((uint64_t)1 << GF_RADIX_BITS) - 1;
  PetscReal     *buffer, *from = x, *to;
  PetscInt      *count;

  PetscFunctionBeginUser;
  if (n < 2) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscMalloc2(n, &buffer, GF_RADIX_DIGITS << GF_RADIX_BITS, &count));
  PetscCall(PetscArrayzero(count, GF_RADIX_DIGITS << GF_RADIX_BITS));
  to = buffer;
  for (PetscInt i = 0; i < n; i++) {
    const uint64_t key = GFRealKey(x[i]);
    GFStoreBits(&x[i], key);
    for (int d = 0; d < GF_RADIX_DIGITS; d++) count[(d << GF_RADIX_BITS) + ((key >> (GF_RADIX_BITS * d)) & mask)]++;
  }
  for (int d = 0; d < GF_RADIX_DIGITS; d++) {
    PetscInt *c = count + (d << GF_RADIX_BITS), sum = 0;
    if (c[(GFLoadBits(&from[0]) >> (GF_RADIX_BITS * d)) & mask] == n) continue; /* every key has this digit */
    for (uint64_t b = 0; b <= mask; b++) {
      const PetscInt t = c[b];
      c[b]             = sum;
      sum += t;
    }
    for (PetscInt i = 0; i < n; i++) {
      const uint64_t key = GFLoadBits(&from[i]);
      GFStoreBits(&to[c[(key >> (GF_RADIX_BITS * d)) & mask]++], key);
    }
    {
      PetscReal *swap = from;
      from            = to;
      to              = swap;
    }
  }
  for (PetscInt i = 0; i < n; i++) x[i] = GFKeyReal(GFLoadBits(&from[i]));
  PetscCall(PetscFree2(buffer, count));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The nruns ascending runs of x (run r from bound[r] to bound[r + 1]) merged into one, pairwise in log2(nruns) passes through work (as long as x). */
static void GFMergeRuns(PetscMPIInt nruns, PetscInt bound[], PetscReal x[], PetscReal work[])
{
  PetscReal *from = x, *to = work;

  while (nruns > 1) {
    PetscMPIInt merged = 0;
    for (PetscMPIInt r = 0; r < nruns; r += 2) {
      const PetscInt lo = bound[r], mid = bound[PetscMin(r + 1, nruns)], hi = bound[PetscMin(r + 2, nruns)];
      PetscInt       i = lo, j = mid, k = lo;
      while (i < mid && j < hi) to[k++] = from[j] < from[i] ? from[j++] : from[i++];
      while (i < mid) to[k++] = from[i++];
      while (j < hi) to[k++] = from[j++];
      bound[merged++] = lo;
    }
    bound[merged] = bound[nruns];
    nruns         = merged;
    {
      PetscReal *swap = from;
      from            = to;
      to              = swap;
    }
  }
  if (from != x) memcpy(x, from, sizeof(PetscReal) * (size_t)(bound[1] - bound[0]));
}

/*
  The nlocal numbers x of each rank (sorted here in place) sorted over the ranks of comm: *sorted
  (PetscFree it) gets this rank's *count numbers, of global ranks *first .. *first + *count - 1
  in ascending order. Collective.
*/
PETSC_INTERN PetscErrorCode GFSampleSort(MPI_Comm comm, PetscInt nlocal, PetscReal x[], PetscInt *count, PetscReal **sorted, PetscInt *first)
{
  PetscMPIInt size, rank, nsamples, *scounts, *sdispls, *rcounts, *rdispls, total = 0;
  PetscReal  *samples, *all, *splitters;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(comm, &size));
  PetscCallMPI(MPI_Comm_rank(comm, &rank));
  PetscCall(GFSortReals(nlocal, x));
  if (size == 1) {
    PetscCall(PetscMalloc1(nlocal, sorted));
    PetscCall(PetscArraycpy(*sorted, x, nlocal));
    *count = nlocal;
    *first = 0;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(PetscMalloc4(size, &scounts, size, &sdispls, size, &rcounts, size, &rdispls));
  nsamples = (PetscMPIInt)PetscMin(nlocal, GF_SORT_SAMPLES);
  PetscCall(PetscMalloc2(nsamples, &samples, size - 1, &splitters));
  for (PetscMPIInt k = 0; k < nsamples; k++) samples[k] = x[(PetscInt)(((PetscInt64)(2 * k + 1) * nlocal) / (2 * nsamples))];
  PetscCallMPI(MPI_Allgather(&nsamples, 1, MPI_INT, rcounts, 1, MPI_INT, comm));
  for (PetscMPIInt r = 0; r < size; r++) {
    rdispls[r] = total;
    total += rcounts[r];
  }
  PetscCall(PetscMalloc1(total, &all));
  PetscCallMPI(MPI_Allgatherv(samples, nsamples, MPIU_REAL, all, rcounts, rdispls, MPIU_REAL, comm));
  PetscCall(GFSortReals(total, all));
  for (PetscMPIInt r = 0; r + 1 < size; r++) splitters[r] = total ? all[(PetscInt)(((PetscInt64)(r + 1) * total) / size) - (total >= size ? 1 : 0)] : 0;
  /* rank r: the numbers above splitter r - 1, up to and including splitter r */
  for (PetscMPIInt r = 0; r < size; r++) {
    PetscInt end = r ? sdispls[r - 1] + scounts[r - 1] : 0;
    sdispls[r]   = (PetscMPIInt)end;
    if (r + 1 < size)
      while (end < nlocal && x[end] <= splitters[r]) end++;
    else
      end = nlocal;
    scounts[r] = (PetscMPIInt)(end - sdispls[r]);
  }
  PetscCallMPI(MPI_Alltoall(scounts, 1, MPI_INT, rcounts, 1, MPI_INT, comm));
  total = 0;
  for (PetscMPIInt r = 0; r < size; r++) {
    rdispls[r] = total;
    total += rcounts[r];
  }
  PetscCall(PetscMalloc1(total, sorted));
  PetscCallMPI(MPI_Alltoallv(x, scounts, sdispls, MPIU_REAL, *sorted, rcounts, rdispls, MPIU_REAL, comm));
  {
    PetscInt  *bound;
    PetscReal *work;
    PetscCall(PetscMalloc2(size + 1, &bound, total, &work));
    for (PetscMPIInt r = 0; r <= size; r++) bound[r] = r < size ? rdispls[r] : total;
    GFMergeRuns(size, bound, *sorted, work);
    PetscCall(PetscFree2(bound, work));
  }
  *count = total;
  PetscCallMPI(MPI_Exscan(count, first, 1, MPIU_INT, MPI_SUM, comm));
  if (rank == 0) *first = 0;
  PetscCall(PetscFree(all));
  PetscCall(PetscFree2(samples, splitters));
  PetscCall(PetscFree4(scounts, sdispls, rcounts, rdispls));
  PetscFunctionReturn(PETSC_SUCCESS);
}
