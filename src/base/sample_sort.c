/*
  Sorting numbers spread over the ranks (GFSampleSort, base.h), for quantile functions of data
  that no rank holds whole. Sample sort by regular sampling (H. Shi, J. Schaeffer, "Parallel
  sorting by regular sampling", J. Parallel Distrib. Comput. 14, 1992): each rank sorts its
  numbers and draws GF_SORT_SAMPLES of them evenly spaced; every rank sorts all the samples
  (MPI_Allgatherv, at most GF_SORT_SAMPLES a rank) and takes P - 1 splitters evenly spaced
  among them; rank r gets the numbers between splitters r - 1 and r (MPI_Alltoall of the
  counts, MPI_Alltoallv of the numbers) and sorts them; MPI_Exscan of the counts gives each rank
  the global rank of its first number. With P samples a rank no rank ends with more than about
  2 n / P numbers (fewer samples widen that bound; many equal numbers all go to one rank).
*/
#include "base.h"

#define GF_SORT_SAMPLES 64

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
  PetscCall(PetscSortReal(nlocal, x));
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
  PetscCall(PetscSortReal(total, all));
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
  PetscCall(PetscSortReal(total, *sorted));
  *count = total;
  PetscCallMPI(MPI_Exscan(count, first, 1, MPIU_INT, MPI_SUM, comm));
  if (rank == 0) *first = 0;
  PetscCall(PetscFree(all));
  PetscCall(PetscFree2(samples, splitters));
  PetscCall(PetscFree4(scounts, sdispls, rcounts, rdispls));
  PetscFunctionReturn(PETSC_SUCCESS);
}
