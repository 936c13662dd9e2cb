/*
  What the particle velocities share: gathering the particles in global order, walls,
  and particle-mesh sums.

  Particle-mesh (Hockney and Eastwood, Computer Simulation Using Particles, 1988): the
  particles' mass is deposited on the grid's cells by cloud-in-cell (linear) weights, the
  field on the grid (W * rho_h by GFConvolution) is differentiated by centred differences
  at the cell centres and interpolated back with the same weights, which makes the
  scheme free of self-forces for symmetric kernels and second order in h. The particles
  are spread over the ranks by index, not by position, so each rank deposits into a
  whole-grid array that one allreduce sums, and the field comes back whole to every rank:
  O(cells) per rank and step, fine for the grids particle-mesh runs on. Walls: a weight
  that falls beyond a no-flux wall folds back into the boundary cell (mass is kept), on
  periodic boxes it wraps.
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

/* The two cells and weights of coordinate y along axis a under cloud-in-cell, folded at no-flux walls and wrapped on periodic boxes. */
static inline void GFCloudInCell(const struct _p_GFGrid *g, PetscInt a, PetscReal y, PetscInt cell[2], PetscReal weight[2])
{
  const PetscInt  n  = g->cells[a];
  const PetscReal s  = (y - g->lower[a]) / g->h[a] - 0.5;
  const PetscInt  i0 = (PetscInt)PetscFloorReal(s);

  weight[1] = s - i0;
  weight[0] = 1 - weight[1];
  for (PetscInt k = 0; k < 2; k++) {
    const PetscInt i = i0 + k;
    cell[k]          = g->bc == GF_BC_PERIODIC ? ((i % n) + n) % n : PetscMin(PetscMax(i, 0), n - 1);
  }
}

/* The 2^dim natural cell indices and weights of the particle at x. */
static inline PetscInt GFCloudInCellStencil(const struct _p_GFGrid *g, const PetscReal x[], PetscInt cells[8], PetscReal weights[8])
{
  PetscInt  cell[3][2] = {{0, 0}, {0, 0}, {0, 0}}, corners = 1 << g->dim;
  PetscReal weight[3][2] = {{1, 0}, {1, 0}, {1, 0}};

  for (PetscInt a = 0; a < g->dim; a++) GFCloudInCell(g, a, x[a], cell[a], weight[a]);
  for (PetscInt c = 0; c < corners; c++) {
    const PetscInt b0 = c & 1, b1 = (c >> 1) & 1, b2 = (c >> 2) & 1;
    cells[c]   = cell[0][b0] + g->cells[0] * (cell[1][b1] + g->cells[1] * cell[2][b2]);
    weights[c] = weight[0][b0] * weight[1][b1] * weight[2][b2];
  }
  return corners;
}

/* Cloud-in-cell deposit of this rank's particles x (each of mass weight) as a density into rho: summed over the ranks, every rank fills its own cells. */
PETSC_INTERN PetscErrorCode GFParticlesMeshDeposit(GFParticles p, const PetscReal x[], Vec rho)
{
  const struct _p_GFGrid *g     = p->grid;
  const GFLocalBox       *b     = &g->box;
  const PetscInt          cells = g->cells[0] * g->cells[1] * g->cells[2];
  PetscReal              *mass  = p->mesh_gradient; /* scratch: the gradient is made from the field later */
  PetscScalar            *r;

  PetscFunctionBeginUser;
  PetscCall(PetscArrayzero(mass, cells));
  for (PetscInt i = 0; i < p->nlocal; i++) {
    PetscInt       c[8];
    PetscReal      w[8];
    const PetscInt corners = GFCloudInCellStencil(g, x + p->dim * i, c, w);
    for (PetscInt k = 0; k < corners; k++) mass[c[k]] += w[k];
  }
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, mass, (PetscMPIInt)cells, MPIU_REAL, MPIU_SUM, p->comm));
  PetscCall(VecGetArray(rho, &r));
  GF_FOR_OWNED(b, i, j, k)
  {
    r[GFOwnedIndex(b, i, j, k)] = p->weight * mass[i + g->cells[0] * (j + g->cells[1] * k)] / g->cell_volume;
  }
  PetscCall(VecRestoreArray(rho, &r));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* d f / d x_a at cell i of a line of n values (stride apart): centred, one-sided second order at no-flux walls, wrapped on periodic boxes. */
static inline PetscReal GFCellDerivative(const PetscScalar *f, PetscInt i, PetscInt n, PetscInt stride, PetscReal h, PetscBool periodic)
{
  if (periodic) return PetscRealPart(f[((i + 1) % n - i) * stride] - f[((i + n - 1) % n - i) * stride]) / (2 * h);
  if (n == 2) return PetscRealPart(i == 0 ? f[stride] - f[0] : f[0] - f[-stride]) / h;
  if (i == 0) return PetscRealPart(-3 * f[0] + 4 * f[stride] - f[2 * stride]) / (2 * h);
  if (i == n - 1) return PetscRealPart(3 * f[0] - 4 * f[-stride] + f[-2 * stride]) / (2 * h);
  return PetscRealPart(f[stride] - f[-stride]) / (2 * h);
}

/* v += alpha grad(field) at this rank's particles x: the field gathered whole in natural order, differentiated at the cell centres, interpolated by cloud-in-cell. */
PETSC_INTERN PetscErrorCode GFParticlesMeshAddGradient(GFParticles p, Vec field, PetscReal alpha, const PetscReal x[], PetscReal v[])
{
  const struct _p_GFGrid *g = p->grid;
  const PetscInt          d = p->dim, stride[3] = {1, g->cells[0], g->cells[0] * g->cells[1]};
  const PetscScalar      *f;

  PetscFunctionBeginUser;
  PetscCall(DMDAGlobalToNaturalBegin(g->da, field, INSERT_VALUES, p->mesh_natural));
  PetscCall(DMDAGlobalToNaturalEnd(g->da, field, INSERT_VALUES, p->mesh_natural));
  PetscCall(VecScatterBegin(p->mesh_to_all, p->mesh_natural, p->mesh_all, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(p->mesh_to_all, p->mesh_natural, p->mesh_all, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecGetArrayRead(p->mesh_all, &f));
  for (PetscInt k = 0; k < g->cells[2]; k++)
    for (PetscInt j = 0; j < g->cells[1]; j++)
      for (PetscInt i = 0; i < g->cells[0]; i++) {
        const PetscInt c = i + g->cells[0] * (j + g->cells[1] * k), idx[3] = {i, j, k};
        for (PetscInt a = 0; a < d; a++) p->mesh_gradient[d * c + a] = GFCellDerivative(f + c, idx[a], g->cells[a], stride[a], g->h[a], (PetscBool)(g->bc == GF_BC_PERIODIC));
      }
  PetscCall(VecRestoreArrayRead(p->mesh_all, &f));
  for (PetscInt i = 0; i < p->nlocal; i++) {
    PetscInt       c[8];
    PetscReal      w[8];
    const PetscInt corners = GFCloudInCellStencil(g, x + d * i, c, w);
    for (PetscInt k = 0; k < corners; k++)
      for (PetscInt a = 0; a < d; a++) v[d * i + a] += alpha * w[k] * p->mesh_gradient[d * c[k] + a];
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
