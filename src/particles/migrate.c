/*
  Particles owned by position (particle-mesh): each rank holds the particles whose cell
  (floor((x - lower) / h), clamped into the grid) lies in its DMDA subdomain, so a particle's
  cloud-in-cell stencil and the field's gradient there are in the rank's ghosted box. After
  every change of the positions a particle that has left the subdomain is sent to the
  rank that owns its new cell, with everything it carries: its global id (its noise is the
  stream (seed, id, step) on any rank), its spare normal, its stage and velocity. Only the
  ranks that exchange particles talk to each other: PETSc's sparse rendezvous
  (PetscCommBuildTwoSided, the NBX algorithm of Hoefler, Siebert and Lumsdaine 2010, which
  DMSwarm's migration also uses) finds the senders, then one message per pair.

  Why not DMSwarm (PETSc 3.18): its PIC migration locates points in the cell DM by the
  DMDA's vertex coordinates (DMLocatePoints_DA_Regular: 2D and 3D only, elements between
  vertices, not our cells around centres) and sends a point it cannot locate to the
  DMDA's neighbours only, so a particle that jumps past a neighbour is lost; periodic
  boxes are not handled. The exchange here is the same rendezvous with our cell rule.

  Output wants the particles in id order (the same file on any rank count): the positions
  are sent to the rank whose block of ids [start, start + nblock) holds them, and written
  as blocks.
*/
#include "particles.h"

/* The cell of coordinate y along axis a, clamped into the grid (a particle on the upper wall is in the last cell). */
static inline PetscInt GFParticleCell(const struct _p_GFGrid *g, PetscInt a, PetscReal y)
{
  const PetscInt i = (PetscInt)PetscFloorReal((y - g->lower[a]) / g->h[a]);

  return PetscMin(PetscMax(i, 0), g->cells[a] - 1);
}

/* The rank whose subdomain holds the cell of the point x: per axis the slab by bisection of the ownership bounds, ranks x fastest as in the DMDA. */
static inline PetscMPIInt GFParticleOwner(GFParticles p, const PetscReal x[])
{
  PetscInt rank = 0;

  for (PetscInt a = p->dim - 1; a >= 0; a--) {
    const PetscInt *bounds = p->mesh_bounds[a], c = GFParticleCell(p->grid, a, x[a]);
    PetscInt        lo = 0, hi = p->mesh_ranks[a] - 1;
    while (lo < hi) {
      const PetscInt mid = (lo + hi + 1) / 2;
      if (bounds[mid] <= c)
        lo = mid;
      else
        hi = mid - 1;
    }
    rank = rank * p->mesh_ranks[a] + lo;
  }
  return (PetscMPIInt)rank;
}

/* The rank whose block of ids holds id: PetscSplitOwnership's blocks, the first n mod size one longer. */
static inline PetscMPIInt GFParticleBlockOwner(PetscInt n, PetscMPIInt size, PetscInt id)
{
  const PetscInt q = n / size, r = n % size;

  return (PetscMPIInt)(id < r * (q + 1) ? id / (q + 1) : r + (id - r * (q + 1)) / q);
}

/* Room for nlocal particles in every per-particle array, the first min(nlocal, capacity) kept. */
PETSC_INTERN PetscErrorCode GFParticlesReserve(GFParticles p, PetscInt nlocal)
{
  const PetscInt d = p->dim;
  PetscInt       capacity, keep = PetscMin(p->nlocal, nlocal);
  PetscReal     *x, *x_stage, *v, *v_stage, *spare;
  PetscInt      *id;

  PetscFunctionBeginUser;
  if (nlocal <= p->capacity && p->x) PetscFunctionReturn(PETSC_SUCCESS);
  capacity = PetscMax(nlocal, p->capacity + p->capacity / 4);
  PetscCall(PetscMalloc6(capacity * d, &x, capacity * d, &x_stage, capacity * d, &v, capacity * d, &v_stage, capacity, &spare, capacity, &id));
  if (p->x) {
    PetscCall(PetscArraycpy(x, p->x, keep * d));
    PetscCall(PetscArraycpy(x_stage, p->x_stage, keep * d));
    PetscCall(PetscArraycpy(v, p->v, keep * d));
    PetscCall(PetscArraycpy(spare, p->spare, keep));
    PetscCall(PetscArraycpy(id, p->id, keep));
  }
  PetscCall(PetscFree6(p->x, p->x_stage, p->v, p->v_stage, p->spare, p->id));
  p->x        = x;
  p->x_stage  = x_stage;
  p->v        = v;
  p->v_stage  = v_stage;
  p->spare    = spare;
  p->id       = id;
  p->capacity = capacity;
  PetscFunctionReturn(PETSC_SUCCESS);
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

/* A particle's record in a message: id, spare normal, x, x_stage, v. */
static inline PetscInt GFParticleRecordWidth(PetscInt d)
{
  return 2 + 3 * d;
}

static void GFParticlePack(GFParticles p, PetscInt i, PetscReal rec[])
{
  const PetscInt d = p->dim;

  rec[0] = (PetscReal)p->id[i];
  rec[1] = p->spare[i];
  for (PetscInt a = 0; a < d; a++) {
    rec[2 + a]         = p->x[d * i + a];
    rec[2 + d + a]     = p->x_stage[d * i + a];
    rec[2 + 2 * d + a] = p->v[d * i + a];
  }
}

static void GFParticleUnpack(GFParticles p, PetscInt i, const PetscReal rec[])
{
  const PetscInt d = p->dim;

  p->id[i]    = (PetscInt)rec[0];
  p->spare[i] = rec[1];
  for (PetscInt a = 0; a < d; a++) {
    p->x[d * i + a]       = rec[2 + a];
    p->x_stage[d * i + a] = rec[2 + d + a];
    p->v[d * i + a]       = rec[2 + 2 * d + a];
  }
}

/* The id and position of particle i, for the blocks. */
static void GFParticlePackPosition(GFParticles p, PetscInt i, PetscReal rec[])
{
  rec[0] = (PetscReal)p->id[i];
  for (PetscInt a = 0; a < p->dim; a++) rec[1 + a] = p->x[p->dim * i + a];
}

/*
  Send the record (width reals, by pack) of every local particle i with dest[i] != this rank
  to dest[i]; *recv (PetscFree it) gets the *nrecv records sent here, by sending rank, each
  rank's in its local order: deterministic for a given rank count. Collective; messages only
  between the ranks that exchange particles.
*/
static PetscErrorCode GFParticlesExchange(GFParticles p, PetscInt width, const PetscMPIInt dest[], void (*pack)(GFParticles, PetscInt, PetscReal[]), PetscInt *nrecv, PetscReal **recv)
{
  PetscMPIInt  size, nto = 0, nfrom, *toranks, *tocounts, *fromranks, *fromcounts, *count = p->dest_count, *offset;
  PetscInt     nsend = 0, total = 0;
  PetscReal   *sendbuf;
  MPI_Request *requests;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(p->comm, &size));
  offset = count + size;
  PetscCall(PetscArrayzero(count, size));
  for (PetscInt i = 0; i < p->nlocal; i++)
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
  for (PetscInt i = 0; i < p->nlocal; i++)
    if (dest[i] != p->rank) pack(p, i, sendbuf + width * offset[dest[i]]++);
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

/* Every particle to the rank whose subdomain holds its position x (stage: its stage x_stage), the ones that stay in their order, the ones that arrive after them. Collective. */
PETSC_INTERN PetscErrorCode GFParticlesMigrate(GFParticles p, PetscBool stage)
{
  const PetscInt   d    = p->dim;
  const PetscReal *key  = stage ? p->x_stage : p->x;
  PetscInt         kept = 0, nrecv;
  PetscReal       *recv;
  PetscMPIInt      size;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(p->comm, &size));
  if (size == 1) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(GFParticlesReserveDestinations(p));
  for (PetscInt i = 0; i < p->nlocal; i++) p->dest[i] = GFParticleOwner(p, key + d * i);
  PetscCall(GFParticlesExchange(p, GFParticleRecordWidth(d), p->dest, GFParticlePack, &nrecv, &recv));
  for (PetscInt i = 0; i < p->nlocal; i++) {
    if (p->dest[i] != p->rank) continue;
    if (kept < i) {
      PetscCall(PetscArraycpy(p->x + d * kept, p->x + d * i, d));
      PetscCall(PetscArraycpy(p->x_stage + d * kept, p->x_stage + d * i, d));
      PetscCall(PetscArraycpy(p->v + d * kept, p->v + d * i, d));
      p->spare[kept] = p->spare[i];
      p->id[kept]    = p->id[i];
    }
    kept++;
  }
  p->nlocal = kept;
  PetscCall(GFParticlesReserve(p, kept + nrecv));
  for (PetscInt i = 0; i < nrecv; i++) GFParticleUnpack(p, kept + i, recv + GFParticleRecordWidth(d) * i);
  p->nlocal = kept + nrecv;
  PetscCall(PetscFree(recv));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The positions of this rank's block of ids [start, start + nblock), in id order (nblock x dim): the particles themselves unless they are owned by position. Collective. */
PETSC_INTERN PetscErrorCode GFParticlesGetBlocks(GFParticles p, const PetscReal **x)
{
  const PetscInt d = p->dim;
  PetscInt       nrecv;
  PetscReal     *recv;
  PetscMPIInt    size;

  PetscFunctionBeginUser;
  if (!p->by_position) {
    *x = p->x;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCallMPI(MPI_Comm_size(p->comm, &size));
  PetscCall(GFParticlesReserveDestinations(p));
  for (PetscInt i = 0; i < p->nlocal; i++) {
    p->dest[i] = GFParticleBlockOwner(p->n, size, p->id[i]);
    if (p->dest[i] == p->rank) PetscCall(PetscArraycpy(p->blocks + d * (p->id[i] - p->start), p->x + d * i, d));
  }
  PetscCall(GFParticlesExchange(p, 1 + d, p->dest, GFParticlePackPosition, &nrecv, &recv));
  for (PetscInt i = 0; i < nrecv; i++) {
    const PetscReal *rec = recv + (1 + d) * i;
    PetscCall(PetscArraycpy(p->blocks + d * ((PetscInt)rec[0] - p->start), rec + 1, d));
  }
  PetscCall(PetscFree(recv));
  *x = p->blocks;
  PetscFunctionReturn(PETSC_SUCCESS);
}
