/*
  Particles owned by position (particle-mesh): each rank holds the particles whose cell
  (floor((x - lower) / h), clamped into the grid) lies in its DMDA subdomain, so a particle's
  cloud-in-cell stencil and the field's gradient there are in the rank's ghosted box. At the
  start of every step (and at Heun's stage) a particle that has left the subdomain is sent to
  the rank that owns its new cell, with everything it carries: its global id (its noise is
  the stream (seed, id, step) on any rank), its spare normal, its stage and velocity. Only
  the ranks that exchange particles talk to each other: PETSc's rendezvous
  (PetscCommBuildTwoSided: an allreduce of one count per rank up to 1024 ranks, above them the
  NBX algorithm of Hoefler, Siebert and Lumsdaine 2010) finds the senders, then one message
  per pair.

  Why not DMSwarm (PETSc 3.18.5): its PIC migration (DMSwarmMigrate_CellDMScatter) locates
  points with DMLocatePoints_DA_Regular, which supports 2D and 3D only and places points in
  the elements between the DMDA's vertex coordinates, not in our cells around their centres;
  a point it cannot locate is sent to every DMDA neighbour (DMSwarmMigrate_DMNeighborScatter,
  which also skips rank 0 as a neighbour), so a particle that moves past a neighbouring
  subdomain in one step is lost. The exchange here takes our cell rule, any dimension, and
  sends a particle to its owner however far it went.

  Output wants the particles in id order (the same file on any rank count): the positions
  are sent to the rank whose block of ids [start, start + nblock) holds them, and written
  as blocks.
*/
#include "particles.h"

/* Room for nlocal particles in every per-particle array, the first min(nlocal, capacity) kept (their stages and velocities only for Heun's stage: at a step's start they are still to be computed, and untouched pages cost no memory). */
PETSC_INTERN PetscErrorCode GFParticlesReserve(GFParticles p, PetscInt nlocal, PetscBool stage)
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
    if (stage) {
      PetscCall(PetscArraycpy(x_stage, p->x_stage, keep * d));
      PetscCall(PetscArraycpy(v, p->v, keep * d));
    }
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

/* A particle's record in a message: id, spare normal, x, and at Heun's stage x_stage and v too (at a step's start they are still to be computed). */
static inline PetscInt GFParticleRecordWidth(PetscInt d, PetscBool stage)
{
  return 2 + (stage ? 3 : 1) * d;
}

static void GFParticlePack(GFParticles p, const void *ctx, PetscInt i, PetscReal rec[])
{
  const PetscInt  d     = p->dim;
  const PetscBool stage = *(const PetscBool *)ctx;

  rec[0] = (PetscReal)p->id[i];
  rec[1] = p->spare[i];
  for (PetscInt a = 0; a < d; a++) rec[2 + a] = p->x[d * i + a];
  if (stage)
    for (PetscInt a = 0; a < d; a++) {
      rec[2 + d + a]     = p->x_stage[d * i + a];
      rec[2 + 2 * d + a] = p->v[d * i + a];
    }
}

static void GFParticleUnpack(GFParticles p, PetscInt i, const PetscReal rec[], PetscBool stage)
{
  const PetscInt d = p->dim;

  p->id[i]    = (PetscInt)rec[0];
  p->spare[i] = rec[1];
  for (PetscInt a = 0; a < d; a++) p->x[d * i + a] = rec[2 + a];
  if (stage)
    for (PetscInt a = 0; a < d; a++) {
      p->x_stage[d * i + a] = rec[2 + d + a];
      p->v[d * i + a]       = rec[2 + 2 * d + a];
    }
}

/* Particle from into slot to (what a record carries). */
static inline void GFParticleMove(GFParticles p, PetscInt from, PetscInt to, PetscBool stage)
{
  const PetscInt d = p->dim;

  p->id[to]    = p->id[from];
  p->spare[to] = p->spare[from];
  for (PetscInt a = 0; a < d; a++) p->x[d * to + a] = p->x[d * from + a];
  if (stage)
    for (PetscInt a = 0; a < d; a++) {
      p->x_stage[d * to + a] = p->x_stage[d * from + a];
      p->v[d * to + a]       = p->v[d * from + a];
    }
}

/*
  Every particle to the rank whose subdomain holds its position x (stage: its stage x_stage).
  Those that leave are the list the last position update made (else they are looked up
  here); their slots are filled by the last ones that stay, the arrivals appended: work
  O(arrivals + departures), and an order that is the same for the same rank count. While the
  messages travel, the particles that stay are deposited on the grid (the first part of the
  step's particle-mesh deposit). Collective.
*/
PETSC_INTERN PetscErrorCode GFParticlesMigrate(GFParticles p, PetscBool stage)
{
  const PetscInt   width = GFParticleRecordWidth(p->dim, stage);
  const PetscReal *recv;
  const PetscInt  *leave;
  PetscInt         last, nrecv, j;
  PetscMPIInt      size;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(p->comm, &size));
  if (size == 1) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscLogEventBegin(GF_EVENT_PARTICLES_MIGRATE, 0, 0, 0, 0));
  if (p->moves_of != (stage ? GF_MOVES_STAGE : GF_MOVES_X)) PetscCall(GFParticlesFindOwners(p, stage ? p->x_stage : p->x));
  p->moves_of = GF_MOVES_NONE;
  PetscCall(GFParticlesExchangeBegin(p, p->nmove, p->move_index, p->move_rank, width, GFParticlePack, &stage));
  /* leave[] ascends: holes from the front, and leave[j] is the last departure at or below last */
  leave = p->move_index;
  last  = p->nlocal - 1;
  j     = p->nmove - 1;
  for (PetscInt k = 0; k < p->nmove && leave[k] <= last; k++) {
    const PetscInt hole = leave[k];
    while (last > hole && leave[j] == last) {
      last--;
      j--;
    }
    if (last == hole) {
      last--;
      break;
    }
    GFParticleMove(p, last, hole, stage);
    last--;
  }
  p->nlocal = last + 1;
  PetscCall(PetscLogEventEnd(GF_EVENT_PARTICLES_MIGRATE, 0, 0, 0, 0));
  PetscCall(PetscLogEventBegin(GF_EVENT_PARTICLES_DEPOSIT, 0, 0, 0, 0));
  PetscCall(GFParticlesMeshDepositOwned(p, stage ? p->x_stage : p->x));
  PetscCall(PetscLogEventEnd(GF_EVENT_PARTICLES_DEPOSIT, 0, 0, 0, 0));
  PetscCall(PetscLogEventBegin(GF_EVENT_PARTICLES_MIGRATE, 0, 0, 0, 0));
  PetscCall(GFParticlesExchangeEnd(p, &nrecv, &recv));
  if (p->nlocal + nrecv > p->capacity) { /* the arrays grow (the first steps): not beside the send buffer too */
    PetscCall(PetscFree(p->send_buffer));
    p->send_capacity = 0;
  }
  PetscCall(GFParticlesReserve(p, p->nlocal + nrecv, stage));
  for (PetscInt i = 0; i < nrecv; i++) GFParticleUnpack(p, p->nlocal + i, recv + width * i, stage);
  p->nlocal += nrecv;
  if (p->recv_capacity > 8 * (size_t)(nrecv * width) + 4096) PetscCall(GFParticlesExchangeRelease(p)); /* a migration far larger than the steady ones (the first steps'): its buffers not kept */
  p->mesh_owned = stage ? p->x_stage : p->x;                                                           /* Reserve may have moved the arrays */
  PetscCall(PetscLogEventEnd(GF_EVENT_PARTICLES_MIGRATE, 0, 0, 0, 0));
  PetscFunctionReturn(PETSC_SUCCESS);
}
