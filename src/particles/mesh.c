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

/* The rank whose block of ids holds id: PetscSplitOwnership's blocks, the first n mod size one longer. */
static inline PetscMPIInt GFParticleBlockOwner(PetscInt n, PetscMPIInt size, PetscInt id)
{
  const PetscInt q = n / size, r = n % size;

  return (PetscMPIInt)(id < r * (q + 1) ? id / (q + 1) : r + (id - r * (q + 1)) / q);
}

/* Room for n entries in the list of particles that leave (its entries are not kept). */
static PetscErrorCode GFParticlesReserveMoves(GFParticles p, PetscInt n)
{
  PetscFunctionBeginUser;
  if (n <= p->move_capacity) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscFree2(p->move_index, p->move_rank));
  p->move_capacity = PetscMax(n, 2 * p->move_capacity);
  PetscCall(PetscMalloc2(p->move_capacity, &p->move_index, p->move_capacity, &p->move_rank));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The list of this rank's particles at x (nlocal x dim) that are other ranks', in ascending order, and their owners: p->move_index, p->move_rank, p->nmove. */
PETSC_INTERN PetscErrorCode GFParticlesFindOwners(GFParticles p, const PetscReal x[])
{
  const PetscInt  d = p->dim, n = p->nlocal;
  const PetscReal lo[3] = {p->mesh_keep_lower[0], p->mesh_keep_lower[1], p->mesh_keep_lower[2]}, hi[3] = {p->mesh_keep_upper[0], p->mesh_keep_upper[1], p->mesh_keep_upper[2]};
  PetscInt        nmove;

  PetscFunctionBeginUser;
  p->moves_of = GF_MOVES_NONE;
  for (;;) {
    nmove = 0;
    for (PetscInt i = 0; i < n; i++) GFParticleNoteOwner(p, lo, hi, i, x + d * i, &nmove);
    if (nmove <= p->move_capacity) break;
    PetscCall(GFParticlesReserveMoves(p, nmove)); /* and again, with room for all */
  }
  p->nmove = nmove;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The id of particle i and its row of the values ctx (nlocal x dim), for the blocks. */
static void GFParticlePackValues(GFParticles p, const void *ctx, PetscInt i, PetscReal rec[])
{
  const PetscReal *values = (const PetscReal *)ctx;

  rec[0] = (PetscReal)p->id[i];
  for (PetscInt a = 0; a < p->dim; a++) rec[1 + a] = values[p->dim * i + a];
}

/* Room for n reals in an exchange buffer (its contents are not kept). */
static PetscErrorCode GFParticlesReserveBuffer(PetscReal **buffer, size_t *capacity, size_t n)
{
  PetscFunctionBeginUser;
  if (n <= *capacity && *buffer) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscFree(*buffer));
  *capacity = PetscMax(n, *capacity + *capacity / 4);
  PetscCall(PetscMalloc1(*capacity, buffer));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Whether rank r is one of this rank's DMDA neighbours. */
static PetscBool GFParticlesIsNeighbour(GFParticles p, PetscMPIInt r)
{
  for (PetscMPIInt k = 0; k < p->nneighbours; k++)
    if (p->neighbours[k] == r) return PETSC_TRUE;
  return PETSC_FALSE;
}

/*
  Begin to send the record (width reals, pack(p, ctx, item[k], record); item NULL: k) of each
  of n items to rank dest[k] (none when that is this rank). The records for the DMDA
  neighbours leave at once, one message to each neighbour (empty when it gets nothing: the
  length tells, found by MPI_Probe, so that no rendezvous is needed); whether any rank sends
  beyond its neighbours is agreed by a nonblocking MPI_Iallreduce of one flag (not needed when
  the neighbours are all the other ranks). The records are packed here: the items may change
  before GFParticlesExchangeEnd. Collective.
*/
PETSC_INTERN PetscErrorCode GFParticlesExchangeBegin(GFParticles p, PetscInt n, const PetscInt item[], const PetscMPIInt dest[], PetscInt width, void (*pack)(GFParticles, const void *, PetscInt, PetscReal[]), const void *ctx)
{
  const PetscMPIInt nb = p->nneighbours;
  PetscMPIInt       size, *count = p->dest_count, *offset;
  PetscInt          nsend = 0;

  PetscFunctionBeginUser;
  PetscCheck(!p->exchange_pending, p->comm, PETSC_ERR_ORDER, "GFParticlesExchangeBegin: an exchange is already under way");
  PetscCallMPI(MPI_Comm_size(p->comm, &size));
  offset          = count + size;
  p->exchange_far = 0;
  PetscCall(PetscArrayzero(count, size));
  for (PetscInt k = 0; k < n; k++) count[dest[k]]++;
  count[p->rank] = 0;
  for (PetscMPIInt r = 0; r < size; r++) {
    offset[r] = (PetscMPIInt)nsend;
    nsend += count[r];
    if (count[r] && !GFParticlesIsNeighbour(p, r)) p->exchange_far = 1;
  }
  PetscCall(GFParticlesReserveBuffer(&p->send_buffer, &p->send_capacity, (size_t)(nsend * width)));
  for (PetscInt k = 0; k < n; k++)
    if (dest[k] != p->rank) pack(p, ctx, item ? item[k] : k, p->send_buffer + width * offset[dest[k]]++);
  for (PetscMPIInt k = 0; k < nb; k++) {
    const PetscMPIInt r = p->neighbours[k];
    PetscCallMPI(MPI_Isend(p->send_buffer + width * (offset[r] - count[r]), count[r] * (PetscMPIInt)width, MPIU_REAL, r, p->exchange_tag, p->exchange_comm, &p->exchange_requests[k]));
  }
  p->exchange_requests[nb] = MPI_REQUEST_NULL;
  if (!p->neighbours_all) PetscCallMPI(MPI_Iallreduce(MPI_IN_PLACE, &p->exchange_far, 1, MPI_INT, MPI_MAX, p->exchange_comm, &p->exchange_requests[nb]));
  p->exchange_width   = width;
  p->exchange_pending = PETSC_TRUE;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Finish the exchange: *recv gets the *nrecv records sent here, by sending rank, each rank's
  in its order (deterministic for a given rank count), in the exchange's buffer (valid until
  the next exchange). The neighbours' messages first; if some rank sends beyond its
  neighbours, PETSc's rendezvous (PetscCommBuildTwoSided) finds those senders, then one
  message per pair. Collective.
*/
PETSC_INTERN PetscErrorCode GFParticlesExchangeEnd(GFParticles p, PetscInt *nrecv, const PetscReal **recv)
{
  const PetscMPIInt nb = p->nneighbours, *count = p->dest_count;
  const PetscInt    width = p->exchange_width;
  PetscMPIInt       size, length[26], nfrom = 0, nto = 0, *fromranks = NULL, *fromcounts = NULL, *toranks = NULL, *tocounts = NULL, nrequests = 0;
  PetscInt          total = 0;
  MPI_Request       few[26], *requests = few; /* the neighbours' receives; allocated only when some rank sends beyond its neighbours */

  PetscFunctionBeginUser;
  PetscCheck(p->exchange_pending, p->comm, PETSC_ERR_ORDER, "GFParticlesExchangeEnd: no exchange under way");
  PetscCallMPI(MPI_Comm_size(p->comm, &size));
  for (PetscMPIInt k = 0; k < nb; k++) {
    MPI_Status status;
    PetscCallMPI(MPI_Probe(p->neighbours[k], p->exchange_tag, p->exchange_comm, &status));
    PetscCallMPI(MPI_Get_count(&status, MPIU_REAL, &length[k]));
  }
  PetscCallMPI(MPI_Wait(&p->exchange_requests[nb], MPI_STATUS_IGNORE));
  if (p->exchange_far) {
    for (PetscMPIInt r = 0; r < size; r++) nto += count[r] && !GFParticlesIsNeighbour(p, r);
    PetscCall(PetscMalloc2(nto, &toranks, nto, &tocounts));
    nto = 0;
    for (PetscMPIInt r = 0; r < size; r++)
      if (count[r] && !GFParticlesIsNeighbour(p, r)) {
        toranks[nto]    = r;
        tocounts[nto++] = count[r];
      }
    PetscCall(PetscCommBuildTwoSided(p->comm, 1, MPI_INT, nto, toranks, tocounts, &nfrom, &fromranks, &fromcounts));
    PetscCall(PetscSortMPIIntWithArray(nfrom, fromranks, fromcounts));
  }
  for (PetscMPIInt k = 0; k < nb; k++) total += length[k];
  for (PetscMPIInt f = 0; f < nfrom; f++) total += fromcounts[f] * width;
  PetscCall(GFParticlesReserveBuffer(&p->recv_buffer, &p->recv_capacity, (size_t)total));
  if (nfrom + nto) PetscCall(PetscMalloc1(nb + nfrom + nto, &requests));
  total = 0;
  for (PetscMPIInt k = 0, f = 0; k < nb || f < nfrom;) { /* the neighbours and the others, by rank */
    const PetscBool   neighbour = (PetscBool)(f == nfrom || (k < nb && p->neighbours[k] < fromranks[f]));
    const PetscMPIInt from = neighbour ? p->neighbours[k] : fromranks[f], reals = neighbour ? length[k++] : fromcounts[f++] * (PetscMPIInt)width;
    PetscCallMPI(MPI_Irecv(p->recv_buffer + total, reals, MPIU_REAL, from, p->exchange_tag, p->exchange_comm, &requests[nrequests++]));
    total += reals;
  }
  for (PetscMPIInt r = 0; r < nto; r++) {
    const PetscReal *start = p->send_buffer + width * (p->dest_count[size + toranks[r]] - tocounts[r]);
    PetscCallMPI(MPI_Isend(start, tocounts[r] * (PetscMPIInt)width, MPIU_REAL, toranks[r], p->exchange_tag, p->exchange_comm, &requests[nrequests++]));
  }
  PetscCallMPI(MPI_Waitall(nrequests, requests, MPI_STATUSES_IGNORE));
  PetscCallMPI(MPI_Waitall(nb, p->exchange_requests, MPI_STATUSES_IGNORE));
  if (requests != few) PetscCall(PetscFree(requests));
  PetscCall(PetscFree(fromranks));
  PetscCall(PetscFree(fromcounts));
  PetscCall(PetscFree2(toranks, tocounts));
  p->exchange_pending = PETSC_FALSE;
  *nrecv              = total / width;
  *recv               = p->recv_buffer;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The exchange's buffers freed (the next exchange allocates what it needs). */
PETSC_INTERN PetscErrorCode GFParticlesExchangeRelease(GFParticles p)
{
  PetscFunctionBeginUser;
  PetscCall(PetscFree(p->send_buffer));
  PetscCall(PetscFree(p->recv_buffer));
  p->send_capacity = p->recv_capacity = 0;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* An exchange at once: GFParticlesExchangeBegin, then GFParticlesExchangeEnd. Collective. */
PETSC_INTERN PetscErrorCode GFParticlesExchange(GFParticles p, PetscInt n, const PetscInt item[], const PetscMPIInt dest[], PetscInt width, void (*pack)(GFParticles, const void *, PetscInt, PetscReal[]), const void *ctx, PetscInt *nrecv,
                                                const PetscReal **recv)
{
  PetscFunctionBeginUser;
  PetscCall(GFParticlesExchangeBegin(p, n, item, dest, width, pack, ctx));
  PetscCall(GFParticlesExchangeEnd(p, nrecv, recv));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The values (nlocal x dim, one row per local particle) of this rank's block of ids [start, start + nblock) in id order, nblock x dim: values itself unless the particles are owned by position. Collective. */
PETSC_INTERN PetscErrorCode GFParticlesToBlocks(GFParticles p, const PetscReal values[], const PetscReal **blocks)
{
  const PetscInt   d = p->dim;
  PetscInt         nrecv;
  const PetscReal *recv;
  PetscMPIInt      size, *dest;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(p->comm, &size));
  if (!p->by_position || size == 1) { /* on one rank the particles never move: they are in id order */
    *blocks = values;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  if (!p->blocks) PetscCall(PetscMalloc1(p->nblock * p->dim, &p->blocks));
  PetscCall(PetscMalloc1(p->nlocal, &dest));
  for (PetscInt i = 0; i < p->nlocal; i++) {
    dest[i] = GFParticleBlockOwner(p->n, size, p->id[i]);
    if (dest[i] == p->rank) PetscCall(PetscArraycpy(p->blocks + d * (p->id[i] - p->start), values + d * i, d));
  }
  PetscCall(GFParticlesExchange(p, p->nlocal, NULL, dest, 1 + d, GFParticlePackValues, values, &nrecv, &recv));
  for (PetscInt i = 0; i < nrecv; i++) {
    const PetscReal *rec = recv + (1 + d) * i;
    PetscCall(PetscArraycpy(p->blocks + d * ((PetscInt)rec[0] - p->start), rec + 1, d));
  }
  PetscCall(PetscFree(dest));
  PetscCall(GFParticlesExchangeRelease(p)); /* output's exchange is rare and large: not kept beside the next steps' */
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

/* Reflect (no-flux walls) or wrap (periodic) the m coordinates of x into the box. */
PETSC_INTERN void GFParticlesApplyWalls(const struct _p_GFGrid *g, PetscInt m, PetscReal x[])
{
  for (PetscInt k = 0; k < m; k++) x[k] = GFParticleWall(g, k % g->dim, x[k]);
}

/*
  What cloud-in-cell needs of the grid and of the rank's ghosted box, copied into a loop's
  locals: the stores into mass or velocities cannot alias them, so they stay in registers.
*/
typedef struct {
  PetscInt  dim, cells[3], gstart[3], stride[3];
  PetscReal lower[3], h[3];
  PetscBool periodic;
} GFCloudInCellGrid;

static inline GFCloudInCellGrid GFCloudInCellGridOf(const struct _p_GFGrid *g)
{
  GFCloudInCellGrid c;

  c.dim      = g->dim;
  c.periodic = (PetscBool)(g->bc == GF_BC_PERIODIC);
  for (PetscInt a = 0; a < 3; a++) {
    c.cells[a]  = g->cells[a];
    c.gstart[a] = g->box.gstart[a];
    c.stride[a] = GFLocalStride(&g->box, a);
    c.lower[a]  = g->lower[a];
    c.h[a]      = g->h[a];
  }
  return c;
}

/*
  The 2^dim cells of the particle at x, as indices into the rank's ghosted local array, and
  their weights: per axis the two cells about x (global indices, unwrapped on periodic boxes:
  the ghosts hold the images; folded into the boundary cell at no-flux walls) and their
  linear weights, multiplied over the axes. Inlined with dim a constant, the loops unroll.
*/
static GF_ALWAYS_INLINE PetscInt GFCloudInCellStencil(const GFCloudInCellGrid *c, PetscInt dim, const PetscReal x[], PetscInt cells[8], PetscReal weights[8])
{
  PetscInt  lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0};
  PetscReal w0[3] = {1, 1, 1}, w1[3] = {0, 0, 0};

  for (PetscInt a = 0; a < dim; a++) {
    const PetscReal s  = (x[a] - c->lower[a]) / c->h[a] - 0.5;
    const PetscInt  i0 = (PetscInt)PetscFloorReal(s);

    w1[a] = s - i0;
    w0[a] = 1 - w1[a];
    lo[a] = ((c->periodic ? i0 : PetscMin(PetscMax(i0, 0), c->cells[a] - 1)) - c->gstart[a]) * c->stride[a];
    hi[a] = ((c->periodic ? i0 + 1 : PetscMin(PetscMax(i0 + 1, 0), c->cells[a] - 1)) - c->gstart[a]) * c->stride[a];
  }
  for (PetscInt k = 0; k < (1 << dim); k++) {
    cells[k]   = (k & 1 ? hi[0] : lo[0]) + (k & 2 ? hi[1] : lo[1]) + (k & 4 ? hi[2] : lo[2]);
    weights[k] = (k & 1 ? w1[0] : w0[0]) * (k & 2 ? w1[1] : w0[1]) * (k & 4 ? w1[2] : w0[2]);
  }
  return 1 << dim;
}

/* Add the cloud-in-cell weights of the particles [first, n) of x (rows of dim), but for the nskip ones listed in skip (ascending), to the ghosted local array mass. */
static GF_ALWAYS_INLINE void GFCloudInCellDepositDim(const GFCloudInCellGrid *c, PetscInt dim, PetscInt first, PetscInt n, const PetscReal x[], PetscInt nskip, const PetscInt skip[], PetscScalar mass[])
{
  for (PetscInt i = first, s = 0; i < n; i++) {
    PetscInt  cell[8];
    PetscReal w[8];
    if (s < nskip && skip[s] == i) {
      s++;
      continue;
    }
    for (PetscInt k = 0, corners = GFCloudInCellStencil(c, dim, x + dim * i, cell, w); k < corners; k++) mass[cell[k]] += w[k];
  }
}

GF_SIMD_CLONES static void GFCloudInCellDeposit(const GFCloudInCellGrid *grid, PetscInt first, PetscInt n, const PetscReal x[], PetscInt nskip, const PetscInt skip[], PetscScalar mass[])
{
  const GFCloudInCellGrid c = *grid;

  switch (c.dim) {
  case 1: GFCloudInCellDepositDim(&c, 1, first, n, x, nskip, skip, mass); break;
  case 2: GFCloudInCellDepositDim(&c, 2, first, n, x, nskip, skip, mass); break;
  default: GFCloudInCellDepositDim(&c, 3, first, n, x, nskip, skip, mass);
  }
}

/* v_i += alpha sum_k w_k grad f at the stencil of each particle i < n of x (rows of dim), but for the nskip ones listed in skip (ascending): the interpolated gradient. */
static GF_ALWAYS_INLINE void GFCloudInCellGradientDim(const GFCloudInCellGrid *c, PetscInt dim, const PetscReal gradient[], PetscReal alpha, PetscInt n, const PetscReal x[], PetscInt nskip, const PetscInt skip[], PetscReal v[])
{
  for (PetscInt i = 0, s = 0; i < n; i++) {
    PetscInt  cell[8];
    PetscReal w[8];
    if (s < nskip && skip[s] == i) {
      s++;
      continue;
    }
    for (PetscInt k = 0, corners = GFCloudInCellStencil(c, dim, x + dim * i, cell, w); k < corners; k++)
      for (PetscInt a = 0; a < dim; a++) v[dim * i + a] += alpha * w[k] * gradient[dim * cell[k] + a];
  }
}

GF_SIMD_CLONES static void GFCloudInCellGradient(const GFCloudInCellGrid *grid, const PetscReal gradient[], PetscReal alpha, PetscInt n, const PetscReal x[], PetscInt nskip, const PetscInt skip[], PetscReal v[])
{
  const GFCloudInCellGrid c = *grid;

  switch (c.dim) {
  case 1: GFCloudInCellGradientDim(&c, 1, gradient, alpha, n, x, nskip, skip, v); break;
  case 2: GFCloudInCellGradientDim(&c, 2, gradient, alpha, n, x, nskip, skip, v); break;
  default: GFCloudInCellGradientDim(&c, 3, gradient, alpha, n, x, nskip, skip, v);
  }
}

/* The ranks of the subdomains about this one (the DMDA's box neighbours, periodic images included), ascending and without this rank, and whether on every rank they are all the other ranks. */
static PetscErrorCode GFParticlesMeshFindNeighbours(GFParticles p)
{
  const PetscInt *m = p->mesh_ranks, d = p->dim, around = d == 1 ? 3 : (d == 2 ? 9 : 27);
  const PetscInt  coordinate[3] = {p->rank % m[0], (p->rank / m[0]) % m[1], p->rank / (m[0] * m[1])};
  PetscMPIInt     size, all;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(p->comm, &size));
  p->nneighbours = 0;
  for (PetscInt k = 0; k < around; k++) {
    const PetscInt offset[3] = {k % 3 - 1, d > 1 ? (k / 3) % 3 - 1 : 0, d > 2 ? k / 9 - 1 : 0};
    PetscInt       r = 0, stride = 1;
    PetscBool      inside = PETSC_TRUE;
    for (PetscInt a = 0; a < d; stride *= m[a++]) {
      PetscInt c = coordinate[a] + offset[a];
      if (p->grid->bc == GF_BC_PERIODIC) c = (c + m[a]) % m[a];
      inside = (PetscBool)(inside && c >= 0 && c < m[a]);
      r += c * stride;
    }
    if (inside && r != p->rank && !GFParticlesIsNeighbour(p, (PetscMPIInt)r)) p->neighbours[p->nneighbours++] = (PetscMPIInt)r;
  }
  PetscCall(PetscSortMPIInt(p->nneighbours, p->neighbours));
  all = p->nneighbours == size - 1;
  PetscCall(MPIU_Allreduce(MPI_IN_PLACE, &all, 1, MPI_INT, MPI_MIN, p->comm));
  p->neighbours_all = (PetscBool)all;
  PetscFunctionReturn(PETSC_SUCCESS);
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
  PetscCall(GFParticlesReserveMoves(p, p->nblock / 32 + 16));
  PetscCall(GFParticlesMeshFindNeighbours(p));
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
  PetscCall(PetscFree2(p->move_index, p->move_rank));
  PetscCall(GFParticlesExchangeRelease(p));
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

/* The first part of a deposit: the particles [0, nlocal) of x, all in this rank's subdomain, into the zeroed ghosted box (while the others are still on their way to this rank). */
PETSC_INTERN PetscErrorCode GFParticlesMeshDepositOwned(GFParticles p, const PetscReal x[])
{
  const GFCloudInCellGrid cic = GFCloudInCellGridOf(p->grid);
  PetscScalar            *mass;

  PetscFunctionBeginUser;
  PetscCall(VecZeroEntries(p->mesh_local));
  PetscCall(VecGetArray(p->mesh_local, &mass));
  GFCloudInCellDeposit(&cic, 0, p->nlocal, x, 0, NULL, mass);
  PetscCall(VecRestoreArray(p->mesh_local, &mass));
  p->mesh_deposited = p->nlocal;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Cloud-in-cell deposit of this rank's particles x (each of mass weight) as a density into rho:
  into the ghosted local box, the ghosts added to the cells' owners. A step deposits particles
  in their ranks' subdomains (the first ones already while the migration's messages travelled:
  GFParticlesMeshDepositOwned); any other positions a caller gives (collectively counted) go to
  the ranks of their cells first, and stay there for the gradient (GFParticlesMeshAddGradient).
*/
PETSC_INTERN PetscErrorCode GFParticlesMeshDeposit(GFParticles p, const PetscReal x[], Vec rho)
{
  const struct _p_GFGrid *g     = p->grid;
  const GFCloudInCellGrid cic   = GFCloudInCellGridOf(g);
  const PetscInt          width = 2 + p->dim;
  const PetscInt          first = x == p->mesh_owned ? p->mesh_deposited : 0;
  PetscScalar            *mass, *r;
  PetscInt                m, foreign = 0;
  PetscMPIInt             size;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(p->comm, &size));
  PetscCall(PetscFree(p->mesh_remote));
  p->mesh_nremote   = 0;
  p->mesh_deposited = 0;
  if (size > 1 && x != p->mesh_owned) {
    PetscCall(GFParticlesFindOwners(p, x));
    foreign = p->nmove;
    PetscCall(MPIU_Allreduce(MPI_IN_PLACE, &foreign, 1, MPIU_INT, MPI_MAX, p->comm));
  }
  p->mesh_foreign = (PetscBool)(foreign > 0);
  if (p->mesh_foreign) {
    const PetscReal *recv;
    PetscCall(GFParticlesExchange(p, p->nmove, p->move_index, p->move_rank, width, GFPackForeign, x, &p->mesh_nremote, &recv));
    PetscCall(PetscMalloc1(p->mesh_nremote * width, &p->mesh_remote));
    PetscCall(PetscArraycpy(p->mesh_remote, recv, p->mesh_nremote * width));
  }
  if (!first) PetscCall(VecZeroEntries(p->mesh_local));
  PetscCall(VecGetArray(p->mesh_local, &mass));
  GFCloudInCellDeposit(&cic, first, p->nlocal, x, p->mesh_foreign ? p->nmove : 0, p->move_index, mass);
  for (PetscInt j = 0; j < p->mesh_nremote; j++) GFCloudInCellDeposit(&cic, 0, 1, p->mesh_remote + width * j + 2, 0, NULL, mass);
  PetscCall(VecRestoreArray(p->mesh_local, &mass));
  PetscCall(VecZeroEntries(rho));
  PetscCall(DMLocalToGlobalBegin(p->mesh_da, p->mesh_local, ADD_VALUES, rho));
  PetscCall(DMLocalToGlobalEnd(p->mesh_da, p->mesh_local, ADD_VALUES, rho));
  PetscCall(VecGetLocalSize(rho, &m));
  PetscCall(VecGetArray(rho, &r));
  for (PetscInt k = 0; k < m; k++) r[k] = p->weight * r[k] / g->cell_volume;
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
  const GFCloudInCellGrid cic      = GFCloudInCellGridOf(g);
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
  GFCloudInCellGradient(&cic, p->mesh_gradient, alpha, p->nlocal, x, p->mesh_foreign ? p->nmove : 0, p->move_index, v);
  if (p->mesh_foreign) {
    const PetscInt   width = 2 + d;
    PetscReal       *reply;
    const PetscReal *back;
    PetscMPIInt     *to;
    PetscInt         nback;
    PetscCall(PetscCalloc2((1 + d) * p->mesh_nremote, &reply, p->mesh_nremote, &to));
    for (PetscInt j = 0; j < p->mesh_nremote; j++) {
      const PetscReal *rec = p->mesh_remote + width * j;
      to[j]                = (PetscMPIInt)rec[0];
      reply[(1 + d) * j]   = rec[1];
      GFCloudInCellGradient(&cic, p->mesh_gradient, alpha, 1, rec + 2, 0, NULL, reply + (1 + d) * j + 1);
    }
    PetscCall(GFParticlesExchange(p, p->mesh_nremote, NULL, to, 1 + d, GFPackReply, reply, &nback, &back));
    for (PetscInt k = 0; k < nback; k++) {
      const PetscInt i = (PetscInt)back[(1 + d) * k];
      for (PetscInt a = 0; a < d; a++) v[d * i + a] += back[(1 + d) * k + 1 + a];
    }
    PetscCall(PetscFree2(reply, to));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
