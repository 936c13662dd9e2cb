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

  Here too what the particles owned by position share (migrate.c moves them): the owner of a
  position, the sparse exchange of records between ranks, and the particles' values by
  blocks of ids (output, gathers in id order).
*/
#include "particles.h"

/* The cell of coordinate y along axis a, clamped into the grid (a particle on the upper wall is in the last cell). */
static inline PetscInt GFParticleCell(const struct _p_GFGrid *g, PetscInt a, PetscReal y)
{
  const PetscInt i = (PetscInt)PetscFloorReal((y - g->lower[a]) / g->h[a]);

  return PetscMin(PetscMax(i, 0), g->cells[a] - 1);
}

/* The rank whose subdomain holds the cell of the point x: the sum over the axes of the cells' slab offsets (ranks x fastest as in the DMDA). */
static inline PetscMPIInt GFParticleOwner(GFParticles p, const PetscReal x[])
{
  PetscMPIInt rank = 0;

  for (PetscInt a = 0; a < p->dim; a++) rank += p->mesh_cell_rank[a][GFParticleCell(p->grid, a, x[a])];
  return rank;
}

/* The rank whose block of ids holds id: PetscSplitOwnership's blocks, the first n mod size one longer. */
static inline PetscMPIInt GFParticleBlockOwner(PetscInt n, PetscMPIInt size, PetscInt id)
{
  const PetscInt q = n / size, r = n % size;

  return (PetscMPIInt)(id < r * (q + 1) ? id / (q + 1) : r + (id - r * (q + 1)) / q);
}

/* Room for a destination rank per local particle. */
static PetscErrorCode GFParticlesReserveDestinations(GFParticles p)
{
  PetscFunctionBeginUser;
  if (p->nlocal <= p->dest_capacity && p->dest) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscFree(p->dest));
  p->dest_capacity = p->capacity;
  PetscCall(PetscMalloc1(p->dest_capacity, &p->dest));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  p->dest[i]: the rank whose subdomain holds x_i, for this rank's particles x; *foreign: how many
  are not this rank's. A position inside the subdomain's coordinate box stays without the
  look-up; one on a face to within round-off may stay on either side of it, its stencil still
  one cell from the face, in the ghost layers.
*/
PETSC_INTERN PetscErrorCode GFParticlesFindOwners(GFParticles p, const PetscReal x[], PetscInt *foreign)
{
  const PetscInt    d = p->dim, n = p->nlocal;
  const PetscReal   lo[3] = {p->mesh_keep_lower[0], p->mesh_keep_lower[1], p->mesh_keep_lower[2]}, hi[3] = {p->mesh_keep_upper[0], p->mesh_keep_upper[1], p->mesh_keep_upper[2]};
  const PetscMPIInt rank = p->rank;
  PetscMPIInt      *dest;
  PetscInt          away = 0;

  PetscFunctionBeginUser;
  PetscCall(GFParticlesReserveDestinations(p));
  dest = p->dest;
  for (PetscInt i = 0; i < n; i++) {
    const PetscReal *xi   = x + d * i;
    int              here = 1;
    for (PetscInt a = 0; a < d; a++) here &= (xi[a] >= lo[a]) & (xi[a] < hi[a]);
    dest[i] = here ? rank : GFParticleOwner(p, xi);
    away += dest[i] != rank;
  }
  *foreign = away;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The id of particle i and its row of the values ctx (nlocal x dim), for the blocks. */
static void GFParticlePackValues(GFParticles p, const void *ctx, PetscInt i, PetscReal rec[])
{
  const PetscReal *values = (const PetscReal *)ctx;

  rec[0] = (PetscReal)p->id[i];
  for (PetscInt a = 0; a < p->dim; a++) rec[1 + a] = values[p->dim * i + a];
}

/*
  Send the record (width reals, pack(p, ctx, i, record)) of every item i < n with dest[i] !=
  this rank to dest[i]; *recv (PetscFree it) gets the *nrecv records sent here, by sending
  rank, each rank's in its order: deterministic for a given rank count. Collective; messages
  only between the ranks that exchange records.
*/
PETSC_INTERN PetscErrorCode GFParticlesExchange(GFParticles p, PetscInt n, PetscInt width, const PetscMPIInt dest[], void (*pack)(GFParticles, const void *, PetscInt, PetscReal[]), const void *ctx, PetscInt *nrecv, PetscReal **recv)
{
  PetscMPIInt  size, nto = 0, nfrom, *toranks, *tocounts, *fromranks, *fromcounts, *count = p->dest_count, *offset;
  PetscInt     nsend = 0, total = 0;
  PetscReal   *sendbuf;
  MPI_Request *requests;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(p->comm, &size));
  offset = count + size;
  PetscCall(PetscArrayzero(count, size));
  for (PetscInt i = 0; i < n; i++)
    if (dest[i] != p->rank) count[dest[i]]++;
  for (PetscMPIInt r = 0; r < size; r++) {
    offset[r] = (PetscMPIInt)nsend;
    nsend += count[r];
    nto += count[r] > 0;
  }
  PetscCall(PetscMalloc3(nto, &toranks, nto, &tocounts, nsend * width, &sendbuf));
  nto = 0;
  for (PetscMPIInt r = 0; r < size; r++)
    if (count[r]) {
      toranks[nto]    = r;
      tocounts[nto++] = count[r];
    }
  for (PetscInt i = 0; i < n; i++)
    if (dest[i] != p->rank) pack(p, ctx, i, sendbuf + width * offset[dest[i]]++);
  PetscCall(PetscCommBuildTwoSided(p->comm, 1, MPI_INT, nto, toranks, tocounts, &nfrom, &fromranks, &fromcounts));
  PetscCall(PetscSortMPIIntWithArray(nfrom, fromranks, fromcounts));
  for (PetscMPIInt r = 0; r < nfrom; r++) total += fromcounts[r];
  PetscCall(PetscMalloc1(total * width, recv));
  PetscCall(PetscMalloc1(nfrom + nto, &requests));
  total = 0;
  for (PetscMPIInt r = 0; r < nfrom; r++) {
    PetscCallMPI(MPI_Irecv(*recv + width * total, (PetscMPIInt)(fromcounts[r] * width), MPIU_REAL, fromranks[r], p->exchange_tag, p->exchange_comm, &requests[r]));
    total += fromcounts[r];
  }
  nsend = 0;
  for (PetscMPIInt r = 0; r < nto; r++) {
    PetscCallMPI(MPI_Isend(sendbuf + width * nsend, (PetscMPIInt)(tocounts[r] * width), MPIU_REAL, toranks[r], p->exchange_tag, p->exchange_comm, &requests[nfrom + r]));
    nsend += tocounts[r];
  }
  PetscCallMPI(MPI_Waitall(nfrom + nto, requests, MPI_STATUSES_IGNORE));
  *nrecv = total;
  PetscCall(PetscFree(requests));
  PetscCall(PetscFree(fromranks));
  PetscCall(PetscFree(fromcounts));
  PetscCall(PetscFree3(toranks, tocounts, sendbuf));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The values (nlocal x dim, one row per local particle) of this rank's block of ids [start, start + nblock) in id order, nblock x dim: values itself unless the particles are owned by position. Collective. */
PETSC_INTERN PetscErrorCode GFParticlesToBlocks(GFParticles p, const PetscReal values[], const PetscReal **blocks)
{
  const PetscInt d = p->dim;
  PetscInt       nrecv;
  PetscReal     *recv;
  PetscMPIInt    size;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(p->comm, &size));
  if (!p->by_position || size == 1) { /* on one rank the particles never move: they are in id order */
    *blocks = values;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (!p->blocks) PetscCall(PetscMalloc1(p->nblock * p->dim, &p->blocks));
  PetscCall(GFParticlesReserveDestinations(p));
  for (PetscInt i = 0; i < p->nlocal; i++) {
    p->dest[i] = GFParticleBlockOwner(p->n, size, p->id[i]);
    if (p->dest[i] == p->rank) PetscCall(PetscArraycpy(p->blocks + d * (p->id[i] - p->start), values + d * i, d));
  }
  PetscCall(GFParticlesExchange(p, p->nlocal, 1 + d, p->dest, GFParticlePackValues, values, &nrecv, &recv));
  for (PetscInt i = 0; i < nrecv; i++) {
    const PetscReal *rec = recv + (1 + d) * i;
    PetscCall(PetscArraycpy(p->blocks + d * ((PetscInt)rec[0] - p->start), rec + 1, d));
  }
  PetscCall(PetscFree(recv));
  *blocks = p->blocks;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Gather every rank's n x dim values (one row per local particle) into all, in id order, on every rank: by blocks of ids (the particles' own when they are not owned by position). */
PETSC_INTERN PetscErrorCode GFParticlesGather(GFParticles p, const PetscReal local[], PetscReal all[])
{
  const PetscReal *blocks;

  PetscFunctionBeginUser;
  PetscCall(GFParticlesToBlocks(p, local, &blocks));
  PetscCallMPI(MPI_Allgatherv(blocks, p->counts[p->rank], MPIU_REAL, all, p->counts, p->displs, MPIU_REAL, p->comm));
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
  for (PetscInt a = 0; a < g->dim; a++) {
    p->mesh_keep_lower[a] = b->start[a] == 0 ? PETSC_NINFINITY : g->lower[a] + b->start[a] * g->h[a];
    p->mesh_keep_upper[a] = b->start[a] + b->size[a] == g->cells[a] ? PETSC_INFINITY : g->lower[a] + (b->start[a] + b->size[a]) * g->h[a];
  }
  for (PetscInt a = 0, stride = 1; a < g->dim; stride *= p->mesh_ranks[a++]) {
    PetscCall(PetscMalloc1(g->cells[a], &p->mesh_cell_rank[a]));
    for (PetscInt r = 0, c = 0; r < p->mesh_ranks[a]; r++)
      for (PetscInt k = 0; k < ranges[a][r]; k++) p->mesh_cell_rank[a][c++] = (PetscMPIInt)(r * stride);
  }
  PetscCall(DMCreateGlobalVector(g->da, &p->mesh_density));
  PetscCall(VecDuplicate(p->mesh_density, &p->mesh_field));
  PetscCall(DMCreateLocalVector(p->mesh_da, &p->mesh_local));
  PetscCall(PetscMalloc1(b->gsize[0] * b->gsize[1] * b->gsize[2] * p->dim, &p->mesh_gradient));
  PetscCall(PetscMalloc1(2 * size, &p->dest_count));
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
  for (PetscInt a = 0; a < 3; a++) PetscCall(PetscFree(p->mesh_cell_rank[a]));
  PetscCall(PetscFree(p->mesh_gradient));
  PetscCall(PetscFree(p->dest));
  PetscCall(PetscFree(p->dest_count));
  PetscCall(PetscFree(p->blocks));
  PetscCall(PetscFree(p->mesh_remote));
  if (p->exchange_comm != MPI_COMM_NULL) PetscCall(PetscCommDestroy(&p->exchange_comm));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The record (rank, index, x_i) of a particle outside this rank's subdomain, ctx = x. */
static void GFPackForeign(GFParticles p, const void *ctx, PetscInt i, PetscReal rec[])
{
  const PetscReal *x = (const PetscReal *)ctx;

  rec[0] = p->rank;
  rec[1] = (PetscReal)i;
  for (PetscInt a = 0; a < p->dim; a++) rec[2 + a] = x[p->dim * i + a];
}

/* Add the cloud-in-cell weights of the particle at x to the ghosted local array mass. */
static inline void GFCloudInCellAdd(const struct _p_GFGrid *g, const PetscReal x[], PetscScalar mass[])
{
  PetscInt       c[8];
  PetscReal      w[8];
  const PetscInt corners = GFCloudInCellStencil(g, x, c, w);

  for (PetscInt k = 0; k < corners; k++) mass[c[k]] += w[k];
}

/*
  Cloud-in-cell deposit of this rank's particles x (each of mass weight) as a density into rho:
  into the ghosted local box, the ghosts added to the cells' owners. A step deposits particles
  in their ranks' subdomains; any other positions a caller gives (collectively counted) go to
  the ranks of their cells first, and stay there for the gradient (GFParticlesMeshAddGradient).
*/
PETSC_INTERN PetscErrorCode GFParticlesMeshDeposit(GFParticles p, const PetscReal x[], Vec rho)
{
  const struct _p_GFGrid *g     = p->grid;
  const PetscInt          width = 2 + p->dim;
  PetscScalar            *mass, *r;
  PetscInt                m, foreign = 0;
  PetscMPIInt             size;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(p->comm, &size));
  PetscCall(PetscFree(p->mesh_remote));
  p->mesh_nremote = 0;
  if (size > 1 && x != p->mesh_owned) {
    PetscCall(GFParticlesFindOwners(p, x, &foreign));
    PetscCall(MPIU_Allreduce(MPI_IN_PLACE, &foreign, 1, MPIU_INT, MPI_MAX, p->comm));
  }
  p->mesh_foreign = (PetscBool)(foreign > 0);
  if (p->mesh_foreign) PetscCall(GFParticlesExchange(p, p->nlocal, width, p->dest, GFPackForeign, x, &p->mesh_nremote, &p->mesh_remote));
  PetscCall(VecZeroEntries(p->mesh_local));
  PetscCall(VecGetArray(p->mesh_local, &mass));
  for (PetscInt i = 0; i < p->nlocal; i++)
    if (!p->mesh_foreign || p->dest[i] == p->rank) GFCloudInCellAdd(g, x + p->dim * i, mass);
  for (PetscInt j = 0; j < p->mesh_nremote; j++) GFCloudInCellAdd(g, p->mesh_remote + width * j + 2, mass);
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

/* The sum of alpha w_k grad f at the stencil of the particle at x: the interpolated gradient. */
static inline void GFCloudInCellGradient(const struct _p_GFGrid *g, const PetscReal gradient[], PetscReal alpha, const PetscReal x[], PetscReal v[])
{
  const PetscInt d = g->dim;
  PetscInt       c[8];
  PetscReal      w[8];
  const PetscInt corners = GFCloudInCellStencil(g, x, c, w);

  for (PetscInt k = 0; k < corners; k++)
    for (PetscInt a = 0; a < d; a++) v[a] += alpha * w[k] * gradient[d * c[k] + a];
}

/* The reply to a foreign particle: its index on its rank and its interpolated gradient, ctx the replies (1 + dim each). */
static void GFPackReply(GFParticles p, const void *ctx, PetscInt j, PetscReal rec[])
{
  const PetscReal *reply = (const PetscReal *)ctx + (1 + p->dim) * j;

  for (PetscInt a = 0; a <= p->dim; a++) rec[a] = reply[a];
}

/*
  v += alpha grad(field) at this rank's particles x (those of the last GFParticlesMeshDeposit):
  the field with its ghosts, differentiated at the owned cells and one ghost layer around
  them, interpolated by cloud-in-cell; foreign particles get theirs back from the ranks of their cells.
*/
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
  for (PetscInt i = 0; i < p->nlocal; i++)
    if (!p->mesh_foreign || p->dest[i] == p->rank) GFCloudInCellGradient(g, p->mesh_gradient, alpha, x + d * i, v + d * i);
  if (p->mesh_foreign) {
    const PetscInt width = 2 + d;
    PetscReal     *reply, *back;
    PetscMPIInt   *to;
    PetscInt       nback;
    PetscCall(PetscCalloc2((1 + d) * p->mesh_nremote, &reply, p->mesh_nremote, &to));
    for (PetscInt j = 0; j < p->mesh_nremote; j++) {
      const PetscReal *rec = p->mesh_remote + width * j;
      to[j]                = (PetscMPIInt)rec[0];
      reply[(1 + d) * j]   = rec[1];
      GFCloudInCellGradient(g, p->mesh_gradient, alpha, rec + 2, reply + (1 + d) * j + 1);
    }
    PetscCall(GFParticlesExchange(p, p->mesh_nremote, 1 + d, to, GFPackReply, reply, &nback, &back));
    for (PetscInt k = 0; k < nback; k++) {
      const PetscInt i = (PetscInt)back[(1 + d) * k];
      for (PetscInt a = 0; a < d; a++) v[d * i + a] += back[(1 + d) * k + 1 + a];
    }
    PetscCall(PetscFree(back));
    PetscCall(PetscFree2(reply, to));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
