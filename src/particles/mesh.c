/*
  What the particle velocities share: gathering the particles in global order, walls,
  and particle-mesh sums.

  Particle-mesh (Hockney and Eastwood, Computer Simulation Using Particles, 1988): the
  particles' mass is deposited on the grid's cells by cloud-in-cell (linear) weights, the
  field on the grid (W * rho_h by GFConvolution) is differentiated by centred differences
  at the cell centres and interpolated back with the same weights, which makes the
  scheme free of self-forces for symmetric kernels and second order in h. The particles
  are owned by position (migrate.c): a rank deposits its particles into its ghosted local
  box, the ghosts are added to their owners (DMLocalToGlobal, ADD_VALUES), the field comes
  back with its ghosts (DMGlobalToLocal) and the gradient is taken in the box: per rank
  O(cells / ranks + halo) numbers a step, never the whole grid. A particle's cell is in
  the rank's subdomain, so its stencil reaches one ghost layer and the centred gradient
  there a second: the DMDA copy is a box stencil (diagonal ghosts too) of width 2. Walls: a
  weight that falls beyond a no-flux wall folds back into the boundary cell (mass is kept),
  on periodic boxes it lands in the periodic ghost.
*/
#include "particles.h"

/* Gather every rank's block of n x dim values into all, in global order, on every rank. */
PETSC_INTERN PetscErrorCode GFParticlesGather(GFParticles p, const PetscReal local[], PetscReal all[])
{
  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Allgatherv(local, p->counts[p->rank], MPIU_REAL, all, p->counts, p->displs, MPIU_REAL, p->comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Reflect (no-flux walls: fold by the period 2L of the mirrored box) or wrap (periodic) the m coordinates of x into the box. */
PETSC_INTERN void GFParticlesApplyWalls(const struct _p_GFGrid *g, PetscInt m, PetscReal x[])
{
  for (PetscInt k = 0; k < m; k++) {
    const PetscInt  a = k % g->dim;
    const PetscReal L = g->upper[a] - g->lower[a];
    PetscReal       y = x[k] - g->lower[a];

    if (y >= 0 && y <= L) continue;
    if (g->bc == GF_BC_PERIODIC) {
      y = PetscFmodReal(y, L);
      if (y < 0) y += L;
    } else {
      y = PetscFmodReal(y, 2 * L);
      if (y < 0) y += 2 * L;
      if (y > L) y = 2 * L - y;
    }
    x[k] = g->lower[a] + y;
  }
}

/* The two cells (global indices, unwrapped on periodic boxes: the ghosts hold the images) and weights of coordinate y along axis a under cloud-in-cell, folded at no-flux walls. */
static inline void GFCloudInCell(const struct _p_GFGrid *g, PetscInt a, PetscReal y, PetscInt cell[2], PetscReal weight[2])
{
  const PetscInt  n  = g->cells[a];
  const PetscReal s  = (y - g->lower[a]) / g->h[a] - 0.5;
  const PetscInt  i0 = (PetscInt)PetscFloorReal(s);

  weight[1] = s - i0;
  weight[0] = 1 - weight[1];
  for (PetscInt k = 0; k < 2; k++) cell[k] = g->bc == GF_BC_PERIODIC ? i0 + k : PetscMin(PetscMax(i0 + k, 0), n - 1);
}

/* The 2^dim cells of the particle at x, as indices into the rank's ghosted local array, and their weights. */
static inline PetscInt GFCloudInCellStencil(const struct _p_GFGrid *g, const PetscReal x[], PetscInt cells[8], PetscReal weights[8])
{
  PetscInt  cell[3][2] = {{0, 0}, {0, 0}, {0, 0}}, corners = 1 << g->dim;
  PetscReal weight[3][2] = {{1, 0}, {1, 0}, {1, 0}};

  for (PetscInt a = 0; a < g->dim; a++) GFCloudInCell(g, a, x[a], cell[a], weight[a]);
  for (PetscInt c = 0; c < corners; c++) {
    const PetscInt b0 = c & 1, b1 = (c >> 1) & 1, b2 = (c >> 2) & 1;
    cells[c]   = GFLocalIndex(&g->box, cell[0][b0], cell[1][b1], cell[2][b2]);
    weights[c] = weight[0][b0] * weight[1][b1] * weight[2][b2];
  }
  return corners;
}

/* The box-stencil DMDA of the grid's layout, the slabs' bounds for the owners, the grid vectors and the migration's buffers. */
PETSC_INTERN PetscErrorCode GFParticlesMeshSetUp(GFParticles p)
{
  const struct _p_GFGrid *g  = p->grid;
  const GFLocalBox       *b  = &g->box;
  DMBoundaryType          bt = g->bc == GF_BC_PERIODIC ? DM_BOUNDARY_PERIODIC : DM_BOUNDARY_NONE;
  const PetscInt         *ranges[3];
  PetscMPIInt             size;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(p->comm, &size));
  PetscCall(DMDAGetInfo(g->da, NULL, NULL, NULL, NULL, &p->mesh_ranks[0], &p->mesh_ranks[1], &p->mesh_ranks[2], NULL, NULL, NULL, NULL, NULL, NULL));
  PetscCall(DMDAGetOwnershipRanges(g->da, &ranges[0], &ranges[1], &ranges[2]));
  PetscCall(DMDACreate(p->comm, &p->mesh_da));
  PetscCall(DMSetDimension(p->mesh_da, g->dim));
  PetscCall(DMDASetSizes(p->mesh_da, g->cells[0], g->cells[1], g->cells[2]));
  PetscCall(DMDASetNumProcs(p->mesh_da, p->mesh_ranks[0], p->mesh_ranks[1], p->mesh_ranks[2]));
  PetscCall(DMDASetOwnershipRanges(p->mesh_da, ranges[0], g->dim > 1 ? ranges[1] : NULL, g->dim > 2 ? ranges[2] : NULL));
  PetscCall(DMDASetBoundaryType(p->mesh_da, bt, bt, bt));
  PetscCall(DMDASetDof(p->mesh_da, 1));
  PetscCall(DMDASetStencilType(p->mesh_da, DMDA_STENCIL_BOX));
  PetscCall(DMDASetStencilWidth(p->mesh_da, 2));
  PetscCall(DMSetUp(p->mesh_da));
  for (PetscInt a = 0; a < 3; a++) {
    PetscCall(PetscMalloc1(p->mesh_ranks[a] + 1, &p->mesh_bounds[a]));
    p->mesh_bounds[a][0] = 0;
    for (PetscInt r = 0; r < p->mesh_ranks[a]; r++) p->mesh_bounds[a][r + 1] = p->mesh_bounds[a][r] + (a < g->dim ? ranges[a][r] : 1);
  }
  PetscCall(DMCreateGlobalVector(g->da, &p->mesh_density));
  PetscCall(VecDuplicate(p->mesh_density, &p->mesh_field));
  PetscCall(DMCreateLocalVector(p->mesh_da, &p->mesh_local));
  PetscCall(PetscMalloc1(b->gsize[0] * b->gsize[1] * b->gsize[2] * p->dim, &p->mesh_gradient));
  PetscCall(PetscMalloc1(2 * size, &p->dest_count));
  PetscCall(PetscMalloc1(p->nblock * p->dim, &p->blocks));
  PetscCall(PetscCommDuplicate(p->comm, &p->exchange_comm, &p->exchange_tag));
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFParticlesMeshDestroy(GFParticles p)
{
  PetscFunctionBeginUser;
  PetscCall(VecDestroy(&p->mesh_density));
  PetscCall(VecDestroy(&p->mesh_field));
  PetscCall(VecDestroy(&p->mesh_local));
  PetscCall(DMDestroy(&p->mesh_da));
  for (PetscInt a = 0; a < 3; a++) PetscCall(PetscFree(p->mesh_bounds[a]));
  PetscCall(PetscFree(p->mesh_gradient));
  PetscCall(PetscFree(p->dest));
  PetscCall(PetscFree(p->dest_count));
  PetscCall(PetscFree(p->blocks));
  if (p->exchange_comm != MPI_COMM_NULL) PetscCall(PetscCommDestroy(&p->exchange_comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Cloud-in-cell deposit of this rank's particles x (each of mass weight) as a density into rho: into the ghosted local box, the ghosts added to the cells' owners. */
PETSC_INTERN PetscErrorCode GFParticlesMeshDeposit(GFParticles p, const PetscReal x[], Vec rho)
{
  const struct _p_GFGrid *g = p->grid;
  PetscScalar            *mass, *r;
  PetscInt                m;

  PetscFunctionBeginUser;
  PetscCall(VecZeroEntries(p->mesh_local));
  PetscCall(VecGetArray(p->mesh_local, &mass));
  for (PetscInt i = 0; i < p->nlocal; i++) {
    PetscInt       c[8];
    PetscReal      w[8];
    const PetscInt corners = GFCloudInCellStencil(g, x + p->dim * i, c, w);
    for (PetscInt k = 0; k < corners; k++) mass[c[k]] += w[k];
  }
  PetscCall(VecRestoreArray(p->mesh_local, &mass));
  PetscCall(VecZeroEntries(rho));
  PetscCall(DMLocalToGlobalBegin(p->mesh_da, p->mesh_local, ADD_VALUES, rho));
  PetscCall(DMLocalToGlobalEnd(p->mesh_da, p->mesh_local, ADD_VALUES, rho));
  PetscCall(VecGetLocalSize(rho, &m));
  PetscCall(VecGetArray(rho, &r));
  for (PetscInt c = 0; c < m; c++) r[c] = p->weight * r[c] / g->cell_volume;
  PetscCall(VecRestoreArray(rho, &r));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* d f / d x_a at cell i of a line of n values (stride apart): centred, one-sided second order at no-flux walls; periodic boxes are centred everywhere, the ghosts holding the images. */
static inline PetscReal GFCellDerivative(const PetscScalar *f, PetscInt i, PetscInt n, PetscInt stride, PetscReal h, PetscBool periodic)
{
  if (periodic) return PetscRealPart(f[stride] - f[-stride]) / (2 * h);
  if (n == 2) return PetscRealPart(i == 0 ? f[stride] - f[0] : f[0] - f[-stride]) / h;
  if (i == 0) return PetscRealPart(-3 * f[0] + 4 * f[stride] - f[2 * stride]) / (2 * h);
  if (i == n - 1) return PetscRealPart(3 * f[0] - 4 * f[-stride] + f[-2 * stride]) / (2 * h);
  return PetscRealPart(f[stride] - f[-stride]) / (2 * h);
}

/* v += alpha grad(field) at this rank's particles x: the field with its ghosts, differentiated at the owned cells and one ghost layer around them, interpolated by cloud-in-cell. */
PETSC_INTERN PetscErrorCode GFParticlesMeshAddGradient(GFParticles p, Vec field, PetscReal alpha, const PetscReal x[], PetscReal v[])
{
  const struct _p_GFGrid *g        = p->grid;
  const GFLocalBox       *b        = &g->box;
  const PetscInt          d        = p->dim;
  const PetscBool         periodic = (PetscBool)(g->bc == GF_BC_PERIODIC);
  PetscInt                lo[3], hi[3];
  const PetscScalar      *f;

  PetscFunctionBeginUser;
  PetscCall(DMGlobalToLocalBegin(p->mesh_da, field, INSERT_VALUES, p->mesh_local));
  PetscCall(DMGlobalToLocalEnd(p->mesh_da, field, INSERT_VALUES, p->mesh_local));
  for (PetscInt a = 0; a < 3; a++) {
    lo[a] = a < d ? b->start[a] - 1 : 0;
    hi[a] = a < d ? b->start[a] + b->size[a] + 1 : 1;
    if (a < d && !periodic) {
      lo[a] = PetscMax(lo[a], 0);
      hi[a] = PetscMin(hi[a], g->cells[a]);
    }
  }
  PetscCall(VecGetArrayRead(p->mesh_local, &f));
  for (PetscInt k = lo[2]; k < hi[2]; k++)
    for (PetscInt j = lo[1]; j < hi[1]; j++)
      for (PetscInt i = lo[0]; i < hi[0]; i++) {
        const PetscInt c = GFLocalIndex(b, i, j, k), idx[3] = {i, j, k};
        for (PetscInt a = 0; a < d; a++) p->mesh_gradient[d * c + a] = GFCellDerivative(f + c, idx[a], g->cells[a], GFLocalStride(b, a), g->h[a], periodic);
      }
  PetscCall(VecRestoreArrayRead(p->mesh_local, &f));
  for (PetscInt i = 0; i < p->nlocal; i++) {
    PetscInt       c[8];
    PetscReal      w[8];
    const PetscInt corners = GFCloudInCellStencil(g, x + d * i, c, w);
    for (PetscInt k = 0; k < corners; k++)
      for (PetscInt a = 0; a < d; a++) v[d * i + a] += alpha * w[k] * p->mesh_gradient[d * c[k] + a];
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
