/*
  Geometric multigrid for the implicit steps: PCMG over a hierarchy of DMDAs, each with
  half the cells of the one above (DMCoarsen with DMDA_Q0 sizes), Galerkin coarse
  operators R A P from the fine Jacobian, and the cell-centred prolongation of
  Wesseling (Multigrid, 1992, sec. 5.4): a fine cell takes 3/4 of its parent and 1/4
  of the parent's neighbour on its side, per axis (tensor product). At a no-flux wall
  the missing neighbour's weight goes to the parent; periodic axes wrap. Restriction is
  P^T; its scale cancels in the Galerkin correction.

  DMDA's own interpolations are vertex-centred (Q1: the wrong sizes for cells) or
  piecewise constant (Q0: interpolation plus restriction of order 0 + 1 < 2, too weak
  for diffusion), hence the hand-built P.
*/
#include "discretization.h"

#define GF_MG_MAX_LEVELS 16

/* Whether dm can be coarsened once more: even cell counts, at least 4 per axis, and every rank's part even and >= 4 along split axes. */
static PetscErrorCode GFMultigridCanCoarsen(DM dm, PetscBool *can)
{
  PetscInt        dim, M[3], procs[3];
  const PetscInt *ranges[3];

  PetscFunctionBeginUser;
  PetscCall(DMDAGetInfo(dm, &dim, &M[0], &M[1], &M[2], &procs[0], &procs[1], &procs[2], NULL, NULL, NULL, NULL, NULL, NULL));
  PetscCall(DMDAGetOwnershipRanges(dm, &ranges[0], &ranges[1], &ranges[2]));
  *can = PETSC_TRUE;
  for (PetscInt a = 0; a < dim; a++) {
    if (M[a] % 2 || M[a] < 8) *can = PETSC_FALSE;
    for (PetscInt r = 0; r < procs[a] && procs[a] > 1; r++)
      if (ranges[a][r] % 2 || ranges[a][r] < 4) *can = PETSC_FALSE;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The 1D stencil of fine cell i from the coarse axis of nc cells: parents c[0..n-1], weights w. */
static PetscInt GFProlongation1D(PetscInt i, PetscInt nc, PetscBool periodic, PetscInt c[2], PetscReal w[2])
{
  const PetscInt parent = i / 2, side = i % 2 ? parent + 1 : parent - 1;

  c[0] = parent;
  if (side >= 0 && side < nc) {
    c[1] = side;
  } else if (periodic) {
    c[1] = (side + nc) % nc;
  } else {
    w[0] = 1;
    return 1;
  }
  w[0] = 0.75;
  w[1] = 0.25;
  return 2;
}

/* P from the coarse DMDA to the fine one (global PETSc numbering of both). */
static PetscErrorCode GFMultigridProlongation(DM fine, DM coarse, Mat *P)
{
  PetscInt       dim, Mf[3] = {1, 1, 1}, Mc[3] = {1, 1, 1}, xs[3] = {0, 0, 0}, xm[3] = {1, 1, 1}, nrows, ncols, rstart, nentries = 0;
  DMBoundaryType bt[3];
  AO             ao;
  PetscInt      *cols;
  PetscReal     *vals;
  PetscInt      *count;
  PetscInt       per_row;

  PetscFunctionBeginUser;
  PetscCall(DMDAGetInfo(fine, &dim, &Mf[0], &Mf[1], &Mf[2], NULL, NULL, NULL, NULL, NULL, &bt[0], &bt[1], &bt[2], NULL));
  PetscCall(DMDAGetInfo(coarse, NULL, &Mc[0], &Mc[1], &Mc[2], NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL));
  PetscCall(DMDAGetCorners(fine, &xs[0], &xs[1], &xs[2], &xm[0], &xm[1], &xm[2]));
  for (PetscInt a = dim; a < 3; a++) {
    xs[a] = 0;
    xm[a] = 1;
    Mc[a] = 1;
  }
  per_row = 1 << dim;
  nrows   = xm[0] * xm[1] * xm[2];
  PetscCall(PetscMalloc3(nrows * per_row, &cols, nrows * per_row, &vals, nrows, &count));
  for (PetscInt k = xs[2], row = 0; k < xs[2] + xm[2]; k++) {
    for (PetscInt j = xs[1]; j < xs[1] + xm[1]; j++) {
      for (PetscInt i = xs[0]; i < xs[0] + xm[0]; i++, row++) {
        const PetscInt idx[3]  = {i, j, k};
        PetscInt       c[3][2] = {{0, 0}, {0, 0}, {0, 0}}, n[3] = {1, 1, 1};
        PetscReal      w[3][2] = {{1, 0}, {1, 0}, {1, 0}};

        for (PetscInt a = 0; a < dim; a++) n[a] = GFProlongation1D(idx[a], Mc[a], (PetscBool)(bt[a] == DM_BOUNDARY_PERIODIC), c[a], w[a]);
        count[row] = 0;
        for (PetscInt r = 0; r < n[2]; r++)
          for (PetscInt q = 0; q < n[1]; q++)
            for (PetscInt p = 0; p < n[0]; p++) {
              cols[row * per_row + count[row]] = c[0][p] + Mc[0] * (c[1][q] + Mc[1] * c[2][r]);
              vals[row * per_row + count[row]] = w[0][p] * w[1][q] * w[2][r];
              count[row]++;
              nentries++;
            }
      }
    }
  }
  /* natural coarse indices to PETSc's global numbering, all at once (collective) */
  PetscCall(DMDAGetAO(coarse, &ao));
  for (PetscInt row = 0, e = 0; row < nrows; row++)
    for (PetscInt q = 0; q < count[row]; q++) cols[e++] = cols[row * per_row + q];
  PetscCall(AOApplicationToPetsc(ao, nentries, cols));
  {
    Vec cv;
    PetscCall(DMGetGlobalVector(coarse, &cv));
    PetscCall(VecGetLocalSize(cv, &ncols));
    PetscCall(DMRestoreGlobalVector(coarse, &cv));
  }
  PetscCall(MatCreateAIJ(PetscObjectComm((PetscObject)fine), nrows, ncols, PETSC_DETERMINE, PETSC_DETERMINE, per_row, NULL, per_row, NULL, P));
  PetscCall(MatGetOwnershipRange(*P, &rstart, NULL));
  for (PetscInt row = 0, e = 0; row < nrows; row++) {
    const PetscInt grow = rstart + row;
    PetscCall(MatSetValues(*P, 1, &grow, count[row], &cols[e], &vals[row * per_row], INSERT_VALUES));
    e += count[row];
  }
  PetscCall(MatAssemblyBegin(*P, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*P, MAT_FINAL_ASSEMBLY));
  PetscCall(PetscFree3(cols, vals, count));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Make ksp's preconditioner PCMG over the grid's hierarchy with Galerkin coarse operators; return the number of levels. */
PETSC_INTERN PetscErrorCode GFMultigridSetUp(GFGrid grid, KSP ksp, PetscInt *nlevels)
{
  DM        dms[GF_MG_MAX_LEVELS];
  PetscInt  n   = 1;
  PetscBool can = PETSC_TRUE;
  PC        pc;

  PetscFunctionBeginUser;
  PetscCall(DMDASetInterpolationType(grid->da, DMDA_Q0));
  dms[0] = grid->da;
  while (n < GF_MG_MAX_LEVELS) {
    PetscCall(GFMultigridCanCoarsen(dms[n - 1], &can));
    if (!can) break;
    PetscCall(DMCoarsen(dms[n - 1], MPI_COMM_NULL, &dms[n]));
    n++;
  }
  PetscCall(KSPGetPC(ksp, &pc));
  PetscCall(PCSetType(pc, PCMG));
  PetscCall(PCMGSetLevels(pc, n, NULL));
  PetscCall(PCMGSetGalerkin(pc, PC_MG_GALERKIN_BOTH));
  for (PetscInt l = 1; l < n; l++) {
    Mat P;
    PetscCall(GFMultigridProlongation(dms[l - 1], dms[l], &P));
    PetscCall(PCMGSetInterpolation(pc, n - l, P));
    PetscCall(MatDestroy(&P));
  }
  for (PetscInt l = 1; l < n; l++) PetscCall(DMDestroy(&dms[l]));
  /* smoothing by one Richardson-SOR sweep (Gauss-Seidel): no eigenvalue estimates, robust for the upwind Jacobians; -mg_levels_* options override */
  for (PetscInt l = 1; l < n; l++) {
    KSP smoother;
    PC  smoother_pc;
    PetscCall(PCMGGetSmoother(pc, l, &smoother));
    PetscCall(KSPSetType(smoother, KSPRICHARDSON));
    PetscCall(KSPGetPC(smoother, &smoother_pc));
    PetscCall(PCSetType(smoother_pc, PCSOR));
  }
  *nlevels = n;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The restriction of cell averages from a grid to one with half the cells per axis: the mean of the 2^d children, as a matrix (exact for cell averages). */
PETSC_INTERN PetscErrorCode GFGridCreateAveraging(GFGrid fine, GFGrid coarse, Mat *R)
{
  const GFLocalBox *b        = &coarse->box;
  const PetscInt    children = 1 << coarse->dim, nrows = b->size[0] * b->size[1] * b->size[2];
  PetscInt         *cols, rstart, ncols;
  PetscScalar       w[8];
  AO                ao;
  Vec               fv;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(nrows * children, &cols));
  {
    PetscInt row = 0;
    GF_FOR_OWNED(b, i, j, k)
    {
      for (PetscInt c = 0; c < children; c++) {
        const PetscInt fi = 2 * i + (c & 1), fj = coarse->dim > 1 ? 2 * j + ((c >> 1) & 1) : 0, fk = coarse->dim > 2 ? 2 * k + ((c >> 2) & 1) : 0;
        cols[row * children + c] = fi + fine->cells[0] * (fj + fine->cells[1] * fk);
      }
      row++;
    }
  }
  PetscCall(DMDAGetAO(fine->da, &ao));
  PetscCall(AOApplicationToPetsc(ao, nrows * children, cols));
  PetscCall(DMGetGlobalVector(fine->da, &fv));
  PetscCall(VecGetLocalSize(fv, &ncols));
  PetscCall(DMRestoreGlobalVector(fine->da, &fv));
  PetscCall(MatCreateAIJ(coarse->comm, nrows, ncols, PETSC_DETERMINE, PETSC_DETERMINE, children, NULL, children, NULL, R));
  PetscCall(MatGetOwnershipRange(*R, &rstart, NULL));
  for (PetscInt c = 0; c < children; c++) w[c] = 1.0 / children;
  for (PetscInt row = 0; row < nrows; row++) {
    const PetscInt grow = rstart + row;
    PetscCall(MatSetValues(*R, 1, &grow, children, &cols[row * children], w, INSERT_VALUES));
  }
  PetscCall(MatAssemblyBegin(*R, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(*R, MAT_FINAL_ASSEMBLY));
  PetscCall(PetscFree(cols));
  PetscFunctionReturn(PETSC_SUCCESS);
}
