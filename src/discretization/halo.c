/*
  GFHalo: the ghost layers of a ghosted local vector, from the neighbours' owned cells, without
  PETSc's scatters. DMLocalToLocal does the same for a star stencil, but its scatter copies
  every owned value onto itself too (16 bytes per cell per exchange, a fifth of an explicit
  stage's traffic) and keeps index arrays of about 20 bytes per cell. Here only the face
  layers move: for each axis and side, the `width` owned layers next to a rank boundary go to
  that neighbour (a periodic wrap onto this rank is a local copy), received into the ghost
  layers; corners are not filled (the operators here use a star stencil). Walls have no ghosts.
*/
#include "discretization.h"

struct _p_GFHalo {
  MPI_Comm    comm;
  GFLocalBox  box;
  PetscInt    dim, width;
  PetscMPIInt neighbour[3][2]; /* rank across each side, or -1 (a wall) */
  PetscInt    count[3];        /* cells in one side's layers of an axis */
  PetscReal  *send[3][2], *recv[3][2];
};

/* The neighbours of this rank's box across each side: the DMDA's process grid, wrapped on periodic axes. */
static PetscErrorCode GFHaloNeighbours(GFGrid g, GFHalo h)
{
  PetscInt    procs[3] = {1, 1, 1};
  PetscMPIInt rank;
  PetscInt    coord[3];

  PetscFunctionBeginUser;
  PetscCall(DMDAGetInfo(g->da, NULL, NULL, NULL, NULL, &procs[0], &procs[1], &procs[2], NULL, NULL, NULL, NULL, NULL, NULL));
  PetscCallMPI(MPI_Comm_rank(g->comm, &rank));
  coord[0] = rank % procs[0];
  coord[1] = (rank / procs[0]) % procs[1];
  coord[2] = rank / (procs[0] * procs[1]);
  for (PetscInt a = 0; a < 3; a++)
    for (PetscInt side = 0; side < 2; side++) {
      PetscInt c[3] = {coord[0], coord[1], coord[2]};

      h->neighbour[a][side] = -1;
      if (a >= g->dim) continue;
      c[a] += side ? 1 : -1;
      if (c[a] < 0 || c[a] >= procs[a]) {
        if (g->bc != GF_BC_PERIODIC) continue;
        c[a] = (c[a] + procs[a]) % procs[a];
      }
      h->neighbour[a][side] = (PetscMPIInt)(c[0] + procs[0] * (c[1] + procs[1] * c[2]));
    }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Exchanges of `width` layers (at most the DMDA's stencil width) for the grid's local vectors. Collective. */
PETSC_INTERN PetscErrorCode GFHaloCreate(GFGrid g, PetscInt width, GFHalo *halo)
{
  GFHalo   h;
  PetscInt stencil;

  PetscFunctionBeginUser;
  PetscCall(DMDAGetInfo(g->da, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, &stencil, NULL, NULL, NULL, NULL));
  PetscCheck(width >= 1 && width <= stencil, g->comm, PETSC_ERR_ARG_OUTOFRANGE, "GFHaloCreate: width %" PetscInt_FMT " beyond the stencil width %" PetscInt_FMT, width, stencil);
  PetscCall(PetscNew(&h));
  h->comm  = g->comm;
  h->box   = g->box;
  h->dim   = g->dim;
  h->width = width;
  PetscCall(GFHaloNeighbours(g, h));
  for (PetscInt a = 0; a < g->dim; a++) {
    h->count[a] = width * g->box.size[0] * g->box.size[1] * g->box.size[2] / g->box.size[a];
    for (PetscInt side = 0; side < 2; side++) {
      if (h->neighbour[a][side] < 0) continue;
      PetscCall(PetscMalloc2(h->count[a], &h->send[a][side], h->count[a], &h->recv[a][side]));
    }
  }
  *halo = h;
  PetscFunctionReturn(PETSC_SUCCESS);
}

PETSC_INTERN PetscErrorCode GFHaloDestroy(GFHalo *halo)
{
  PetscFunctionBeginUser;
  if (!*halo) PetscFunctionReturn(PETSC_SUCCESS);
  for (PetscInt a = 0; a < 3; a++)
    for (PetscInt side = 0; side < 2; side++) PetscCall(PetscFree2((*halo)->send[a][side], (*halo)->recv[a][side]));
  PetscCall(PetscFree(*halo));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Copy between buf and the layers of axis a starting at index `first` along a (owned extents
  along the other axes): into x when unpack, out of it otherwise.
*/
static void GFHaloLayers(const GFHalo h, PetscScalar *x, PetscInt a, PetscInt first, PetscReal *buf, PetscBool unpack)
{
  const GFLocalBox *b = &h->box;
  PetscInt          lo[3], hi[3], c = 0;

  for (PetscInt q = 0; q < 3; q++) {
    lo[q] = b->start[q];
    hi[q] = b->start[q] + b->size[q];
  }
  lo[a] = first;
  hi[a] = first + h->width;
  for (PetscInt k = lo[2]; k < hi[2]; k++)
    for (PetscInt j = lo[1]; j < hi[1]; j++) {
      PetscScalar *row = x + GFLocalIndex(b, lo[0], j, k);
      if (unpack)
        for (PetscInt i = 0; i < hi[0] - lo[0]; i++) row[i] = buf[c++];
      else
        for (PetscInt i = 0; i < hi[0] - lo[0]; i++) buf[c++] = PetscRealPart(row[i]);
    }
}

/* The send and receive buffers of axis a's side (the owned layers next to it, the ghost layers beyond it, in layer order: planes, rows, x), or NULL without a neighbour there. */
PETSC_INTERN PetscErrorCode GFHaloGetBuffers(GFHalo h, PetscInt a, PetscInt side, PetscReal **send, const PetscReal **recv)
{
  PetscFunctionBeginUser;
  *send = h->neighbour[a][side] >= 0 ? h->send[a][side] : NULL;
  *recv = h->neighbour[a][side] >= 0 ? h->recv[a][side] : NULL;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Send every side's send buffer to that neighbour and fill the receive buffers from them. Collective. */
PETSC_INTERN PetscErrorCode GFHaloExchangeBuffers(GFHalo h)
{
  MPI_Request requests[12];
  PetscInt    nreq = 0;

  PetscFunctionBeginUser;
  for (PetscInt ax = 0; ax < h->dim; ax++)
    for (PetscInt side = 0; side < 2; side++)
      if (h->neighbour[ax][side] >= 0) PetscCallMPI(MPI_Irecv(h->recv[ax][side], (PetscMPIInt)h->count[ax], MPIU_REAL, h->neighbour[ax][side], (PetscMPIInt)(2 * ax + side), h->comm, &requests[nreq++]));
  /* to the neighbour across `side`: what fills its ghosts across the other side */
  for (PetscInt ax = 0; ax < h->dim; ax++)
    for (PetscInt side = 0; side < 2; side++)
      if (h->neighbour[ax][side] >= 0) PetscCallMPI(MPI_Isend(h->send[ax][side], (PetscMPIInt)h->count[ax], MPIU_REAL, h->neighbour[ax][side], (PetscMPIInt)(2 * ax + 1 - side), h->comm, &requests[nreq++]));
  PetscCallMPI(MPI_Waitall((PetscMPIInt)nreq, requests, MPI_STATUSES_IGNORE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Fill the ghost layers (width deep, no corners) of the local vector x from the neighbours. Collective. */
PETSC_INTERN PetscErrorCode GFHaloExchange(GFHalo h, Vec x)
{
  const GFLocalBox *b = &h->box;
  PetscScalar      *a;

  PetscFunctionBeginUser;
  PetscCall(VecGetArray(x, &a));
  for (PetscInt ax = 0; ax < h->dim; ax++)
    for (PetscInt side = 0; side < 2; side++)
      if (h->neighbour[ax][side] >= 0) GFHaloLayers(h, a, ax, side ? b->start[ax] + b->size[ax] - h->width : b->start[ax], h->send[ax][side], PETSC_FALSE);
  PetscCall(GFHaloExchangeBuffers(h));
  for (PetscInt ax = 0; ax < h->dim; ax++)
    for (PetscInt side = 0; side < 2; side++)
      if (h->neighbour[ax][side] >= 0) GFHaloLayers(h, a, ax, side ? b->start[ax] + b->size[ax] : b->start[ax] - h->width, h->recv[ax][side], PETSC_TRUE);
  PetscCall(VecRestoreArray(x, &a));
  PetscFunctionReturn(PETSC_SUCCESS);
}
