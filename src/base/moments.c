/*
  Means and covariances of weighted points (GFMoments, base.h): the grid densities of the
  diagnostics and of compare, and the particle clouds, all from the same sums.
*/
#include "base.h"

/*
  The total weight, mean and covariance (about the mean) of the sums of every rank of comm
  (MPI_COMM_SELF: this rank's alone). With h (not NULL) the points are the centres of cells
  of widths h whose weights are cell averages of a smooth density: Sheppard's correction
  -h_a^2/12 makes the covariance that of the density. Collective on comm.
*/
PETSC_INTERN PetscErrorCode GFMomentsFinish(GFMoments *m, MPI_Comm comm, const PetscReal h[], PetscReal *weight, PetscReal mean[], PetscReal covariance[][3])
{
  PetscReal      s[10];
  const PetscInt d = m->dim;
  PetscInt       c = 1 + d;

  PetscFunctionBeginUser;
  PetscCall(MPIU_Allreduce(m->sums, s, 10, MPIU_REAL, MPIU_SUM, comm));
  if (weight) *weight = s[0];
  for (PetscInt a = 0; a < d; a++) mean[a] = m->shift[a] + s[1 + a] / s[0];
  for (PetscInt a = 0; a < d; a++) {
    for (PetscInt e = a; e < d; e++) {
      covariance[a][e] = s[c++] / s[0] - (s[1 + a] / s[0]) * (s[1 + e] / s[0]) - (h && a == e ? h[a] * h[a] / 12 : 0);
      covariance[e][a] = covariance[a][e];
    }
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Mean and covariance (1/n) of the points x (nlocal x dim on each rank of comm), in two passes: the mean, then the sums about it. Collective. */
PETSC_INTERN PetscErrorCode GFPointMoments(MPI_Comm comm, PetscInt dim, PetscInt nlocal, const PetscReal x[], PetscReal mean[], PetscReal covariance[][3])
{
  GFMoments m;

  PetscFunctionBeginUser;
  for (PetscInt pass = 0; pass < 2; pass++) {
    GFMomentsInit(&m, dim, pass ? mean : NULL);
    for (PetscInt i = 0; i < nlocal; i++) GFMomentsAdd(&m, 1, x + dim * i);
    PetscCall(GFMomentsFinish(&m, comm, NULL, NULL, mean, covariance));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Mean and covariance (1/n) of the points x (nlocal x dim on each rank of comm), two passes as GFPointMoments, every sum exact: the same bits on any number of ranks and in any order of the points. Collective. */
PETSC_INTERN PetscErrorCode GFPointMomentsExact(MPI_Comm comm, PetscInt dim, PetscInt nlocal, const PetscReal x[], PetscReal mean[], PetscReal covariance[][3])
{
  GFMoments  m;
  GFExactSum sums[10];

  PetscFunctionBeginUser;
  for (PetscInt pass = 0; pass < 2; pass++) {
    GFMomentsInit(&m, dim, pass ? mean : NULL);
    for (PetscInt k = 0; k < 10; k++) GFExactSumInit(&sums[k]);
    for (PetscInt i = 0; i < nlocal; i++) {
      GFMomentsInit(&m, dim, pass ? mean : NULL);
      GFMomentsAdd(&m, 1, x + dim * i);
      for (PetscInt k = 0; k < 10; k++) GFExactSumAdd(&sums[k], m.sums[k]);
    }
    PetscCall(GFExactSumAllreduce(comm, 10, sums));
    for (PetscInt k = 0; k < 10; k++) m.sums[k] = GFExactSumValue(&sums[k]);
    PetscCall(GFMomentsFinish(&m, MPI_COMM_SELF, NULL, NULL, mean, covariance));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
