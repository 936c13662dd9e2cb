/*
  A chain of S <= GF_STAGE_CHAIN stages in one pass over a 2D or 3D grid inside walls whose
  ranks are split along the last axis only (each holding at least S layers: rows in 2D, planes
  in 3D):

      Y_0 = y,   Y_s = Y_{s-1} + w_s (y - Y_{s-1}) + k_s RHS(Y_{s-1}),   out = Y_S,

  a wavefront over the layers: at sweep layer r, stage s computes its layer r - s from the
  layers r - s - 1 .. r - s + 1 of stage s - 1, which a ring of three layers holds (stage 1
  reads y itself). So y, the coefficients and out are streamed once for all the stages, and the
  working set is a few layers (about S + 2 layers of coefficients and 3 S ring layers: a few
  hundred KiB at 2048^2, a few MiB at 128^3), which stays in cache; the same arithmetic, cell by
  cell, as S GFTransportStage calls.

  Across a rank boundary the stages need the neighbour's layers of the stage before, S - 1 deep
  for the last. Each rank computes them itself: the sweep starts S layers below its first (and
  ends S layers above its last) from the neighbours' S layers of y and the coefficients of their
  faces (GFStageChainHalo), with no flux through the sweep's own ends. That false wall spoils
  one more layer per stage, S layers in all for the last stage, which are the neighbour's: every
  owned cell gets the same doubles as on one rank. Costs: 2 S layers of y per step to each
  neighbour (two messages) and 2 S of the stages' layers computed twice.
*/
#include "stage.h"

/* The neighbours' layers: S layers of y below and above this rank's and the coefficients of their faces (one allocation, the arrays after the structure: the transport frees it with PetscFree). */
struct _p_GFStageChainHalo {
  PetscMPIInt neighbour[2]; /* the ranks below and above, -1 at a wall */
  PetscInt    S, dim;       /* layers per side, the grid's dimension */
  PetscInt    cells;        /* cells per layer */
  PetscInt    faces[2];     /* faces per layer of the axes within a layer (x; x and y in 3D) */
  PetscInt    count;        /* coefficients per side */
  PetscInt    generation;   /* the transport's coefficients they hold (-1: none yet) */
  PetscReal  *y[2];         /* per side, S layers of y: start - S .. start - 1, end .. end + S - 1 */
  PetscReal  *within[2][2]; /* per side and axis within a layer: B(d) of the S layers' faces, then B(-d) */
  PetscReal  *between[2];   /* per side: B(d) of the faces above the first S - 1 of its layers, then B(-d) */
};

/* Whether the chain applies to tr's grid with S stages (collective): 2D or 3D, walls, ranks along the last axis only, at least S layers on every rank. */
PETSC_INTERN PetscErrorCode GFTransportStageChainApplies(GFTransport tr, PetscInt S, PetscBool *applies)
{
  const struct _p_GFGrid *g        = tr->grid;
  PetscInt                procs[3] = {1, 1, 1};
  PetscMPIInt             few;

  PetscFunctionBeginUser;
  *applies = PETSC_FALSE;
  if (tr->flux != GF_FLUX_SCHARFETTER_GUMMEL || g->dim < 2 || g->bc == GF_BC_PERIODIC || S < 1 || S > GF_STAGE_CHAIN) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(DMDAGetInfo(g->da, NULL, NULL, NULL, NULL, &procs[0], &procs[1], &procs[2], NULL, NULL, NULL, NULL, NULL, NULL));
  few = (PetscMPIInt)(procs[g->dim - 1] > 1 && g->box.size[g->dim - 1] < S);
  PetscCallMPI(MPI_Allreduce(MPI_IN_PLACE, &few, 1, MPI_INT, MPI_LOR, g->comm));
  *applies = (PetscBool)(procs[0] * (g->dim > 2 ? procs[1] : 1) == 1 && !few);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The halo of S layers per side for tr's grid (ranks along the last axis only), on the transport. */
static PetscErrorCode GFStageChainHaloGet(GFTransport tr, PetscInt S, GFStageChainHalo *halo)
{
  const struct _p_GFGrid *g     = tr->grid;
  const GFLocalBox       *b     = &g->box;
  const PetscInt          last  = g->dim - 1;
  const PetscInt          cells = last == 1 ? b->size[0] : b->size[0] * b->size[1];
  PetscMPIInt             rank, size;
  GFStageChainHalo        h = NULL;
  PetscInt                count, faces[2] = {0, 0};
  PetscReal              *at;

  PetscFunctionBeginUser;
  if (tr->chain_halo && tr->chain_halo->S == S) {
    *halo = tr->chain_halo;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(PetscFree(tr->chain_halo));
  PetscCallMPI(MPI_Comm_rank(g->comm, &rank));
  PetscCallMPI(MPI_Comm_size(g->comm, &size));
  count = 2 * (S - 1) * cells;
  for (PetscInt a = 0; a < last; a++) {
    faces[a] = tr->sg_faces[a] / b->size[last];
    count += 2 * S * faces[a];
  }
  PetscCall(PetscMalloc(sizeof(*h) + 2 * (size_t)(S * cells + count) * sizeof(PetscReal), &h));
  PetscCall(PetscMemzero(h, sizeof(*h)));
  h->S          = S;
  h->dim        = g->dim;
  h->generation = -1;
  h->cells      = cells;
  h->count      = count;
  for (PetscInt a = 0; a < last; a++) h->faces[a] = faces[a];
  h->neighbour[0] = b->start[last] > 0 ? rank - 1 : -1; /* ranks only along the last axis: they go up its layers */
  h->neighbour[1] = b->start[last] + b->size[last] < g->cells[last] ? rank + 1 : -1;
  PetscCheck(h->neighbour[1] < size, g->comm, PETSC_ERR_PLIB, "GFStageChainHalo: rank %d has layers above it but no rank above", (int)rank);
  at = (PetscReal *)(h + 1);
  for (PetscInt side = 0; side < 2; side++) {
    h->y[side] = at;
    at += S * cells;
    for (PetscInt a = 0; a < last; a++) {
      h->within[side][a] = at;
      at += 2 * S * faces[a];
    }
    h->between[side] = at;
    at += 2 * (S - 1) * cells;
  }
  tr->chain_halo = h;
  *halo          = h;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* send[side] (count values) to the neighbour on that side (0 below, 1 above), that neighbour's into recv[side]. */
static PetscErrorCode GFStageChainHaloExchange(const struct _p_GFGrid *g, const PetscMPIInt neighbour[2], const PetscReal *send[2], PetscReal *recv[2], PetscInt count, PetscMPIInt tag)
{
  MPI_Request requests[4];
  PetscInt    nreq = 0;

  PetscFunctionBeginUser;
  for (PetscInt side = 0; side < 2; side++)
    if (neighbour[side] >= 0) PetscCallMPI(MPI_Irecv(recv[side], (PetscMPIInt)count, MPIU_REAL, neighbour[side], tag + (PetscMPIInt)(1 - side), g->comm, &requests[nreq++]));
  for (PetscInt side = 0; side < 2; side++)
    if (neighbour[side] >= 0) PetscCallMPI(MPI_Isend((void *)send[side], (PetscMPIInt)count, MPIU_REAL, neighbour[side], tag + (PetscMPIInt)side, g->comm, &requests[nreq++]));
  PetscCallMPI(MPI_Waitall((PetscMPIInt)nreq, requests, MPI_STATUSES_IGNORE));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The neighbours' face coefficients, once per set of coefficients, in the layout of the halo's
  side: to the rank below, those of the first S layers (within them) and of the faces above the
  first S - 1; to the rank above, those of the last S layers and of the faces above the last S
  but one (each side's faces between the layers it sends, bottom up).
*/
static PetscErrorCode GFStageChainHaloFaces(GFTransport tr, GFStageChainHalo h)
{
  const struct _p_GFGrid *g = tr->grid;
  const PetscInt          S = h->S, last = g->dim - 1, layers = g->box.size[last], count = h->count;
  PetscReal              *send[2] = {NULL, NULL};
  const PetscReal        *from[2];
  PetscReal              *recv[2] = {h->within[0][0], h->within[1][0]};

  PetscFunctionBeginUser;
  if (h->generation == tr->sg_generation) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscMalloc2(count, &send[0], count, &send[1]));
  for (PetscInt side = 0; side < 2; side++) {
    const PetscInt first = side ? layers - S : 0; /* the first layer sent; faces between from the one above it */
    PetscReal     *at    = send[side];

    for (PetscInt a = 0; a < last; a++)
      for (PetscInt c = 0; c < 2; c++, at += S * h->faces[a]) PetscCall(PetscArraycpy(at, tr->sg_coefficients[a] + c * tr->sg_faces[a] + first * h->faces[a], S * h->faces[a]));
    for (PetscInt c = 0; c < 2; c++, at += (S - 1) * h->cells) PetscCall(PetscArraycpy(at, tr->sg_coefficients[last] + c * tr->sg_faces[last] + (first + 1) * h->cells, (S - 1) * h->cells));
    from[side] = send[side];
  }
  PetscCall(GFStageChainHaloExchange(g, h->neighbour, from, recv, count, 4801));
  PetscCall(PetscFree2(send[0], send[1]));
  h->generation = tr->sg_generation;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Layer L (lo <= L < hi) of the chain's input: y's own layers or the halo's. */
static inline const PetscScalar *GFStageChainLayerOf(const GFStageChainHalo h, const GFLocalBox *b, const PetscScalar *y, PetscInt L)
{
  const PetscInt s = b->start[h->dim - 1], e = s + b->size[h->dim - 1];

  return L < s ? h->y[0] + (L - (s - h->S)) * h->cells : L >= e ? h->y[1] + (L - e) * h->cells : y + (L - s) * h->cells;
}

/*
  The coefficients of layer L's faces: within it, per axis a < dim - 1, B(d) and B(-d) of its
  first face (within[a][0..1]); between it and the layer above (between[0..1], NULL above the
  sweep's last layer hi - 1). The transport's for owned layers (and the faces above layer
  start - 1), else the halo's.
*/
static void GFStageChainLayerFaces(const GFStagePass *p, const GFStageChainHalo h, PetscInt L, PetscInt hi, const PetscReal *within[2][2], const PetscReal *between[2])
{
  const GFLocalBox *b = &p->g->box;
  const PetscInt    S = h->S, last = h->dim - 1, s = b->start[last], e = s + b->size[last];
  const PetscInt    side = L >= e, k = side ? L - e : L - (s - S); /* the halo's side and layer, for layers not owned */

  for (PetscInt a = 0; a < last; a++) {
    if (L >= s && L < e) {
      within[a][0] = p->c0[a] + (L - s) * h->faces[a];
      within[a][1] = p->c1[a] + (L - s) * h->faces[a];
    } else {
      within[a][0] = h->within[side][a] + k * h->faces[a];
      within[a][1] = within[a][0] + S * h->faces[a];
    }
  }
  if (L + 1 >= hi) {
    between[0] = between[1] = NULL;
  } else if (L >= s - 1 && L < e) {
    between[0] = p->c0[last] + (L + 1 - s) * h->cells;
    between[1] = p->c1[last] + (L + 1 - s) * h->cells;
  } else {
    between[0] = h->between[side] + k * h->cells;
    between[1] = between[0] + (S - 1) * h->cells;
  }
}

/*
  Layer L of one stage of the chain: in and next its input's layers L and L + 1 (next NULL at
  the sweep's end), u the step's start on layer L (or NULL), into out; lb the faces below it
  (given), lt those above it (computed here); rows[2] two rows of scratch (3D).
*/
static void GFStageChainLayer(GFStagePass *p, const GFStageChainHalo h, PetscInt L, PetscInt hi, const PetscScalar *in, const PetscScalar *next, const PetscScalar *u, PetscScalar *out, const PetscReal *lb, PetscReal *lt, PetscReal *rows[2])
{
  const PetscInt   n = p->g->box.size[0];
  const PetscReal *within[2][2], *between[2];
  GFStageRowFaces  rf;

  GFStageChainLayerFaces(p, h, L, hi, within, between);
  if (h->dim == 2) {
    rf.c0 = within[0][0];
    rf.c1 = within[0][1];
    rf.d0 = between[0];
    rf.d1 = between[1];
    GFStageRowFacesUpdate(p, &rf, in, next, u, out, NULL, lb, lt, p->zero, p->zero);
    return;
  }
  {
    const PetscInt ny = p->g->box.size[1];

    GFStageLayerFaces(in, next, between[0], between[1], h->cells, lt); /* the faces above the plane */
    for (PetscInt i = 0; i < n; i++) rows[0][i] = 0;                   /* the wall below the first row */
    for (PetscInt j = 0; j < ny; j++) {
      PetscReal *t;

      rf.c0 = within[0][0] + j * (n + 1);
      rf.c1 = within[0][1] + j * (n + 1);
      rf.d0 = within[1][0] + (j + 1) * n;
      rf.d1 = within[1][1] + (j + 1) * n;
      GFStageRowFacesUpdate(p, &rf, in + j * n, j + 1 < ny ? in + (j + 1) * n : NULL, u ? u + j * n : NULL, out + j * n, NULL, rows[0], rows[1], lb + j * n, lt + j * n);
      t       = rows[0];
      rows[0] = rows[1];
      rows[1] = t;
    }
  }
}

/*
  The chain (see above) from the global vector y into the global vector out (out may be y when
  the last stage has w = 0: y's layer L is last read by stage 1 at sweep layer L and by a stage
  with w at sweep layer L + s - 1 <= L + S - 2, out's layer L written at sweep layer L + S - 1).
  With stats, as GFTransportStage. GFTransportStageChainApplies must hold. Collective.
*/
PETSC_INTERN PetscErrorCode GFTransportStageChain(GFTransport tr, Vec y_global, Vec drift_local, PetscInt S, const PetscReal w[], const PetscReal k[], Vec out_global, PetscReal stats[3])
{
  const struct _p_GFGrid *g    = tr->grid;
  const GFLocalBox       *b    = &g->box;
  const PetscInt          last = g->dim - 1, start = b->start[last], end = start + b->size[last];
  GFStagePass             p[GF_STAGE_CHAIN];
  GFStageWork             wk;
  GFStageChainHalo        h = NULL;
  PetscReal              *lf[GF_STAGE_CHAIN][2], *rows[2];
  const PetscScalar      *y;
  PetscScalar            *out;
  PetscInt                lo, hi, C;

  PetscFunctionBeginUser;
  PetscCheck(S >= 1 && S <= GF_STAGE_CHAIN, g->comm, PETSC_ERR_ARG_OUTOFRANGE, "GFTransportStageChain: %d stages, at most %d", (int)S, GF_STAGE_CHAIN);
  PetscCheck(out_global != y_global || w[S - 1] == 0, g->comm, PETSC_ERR_ARG_INCOMP, "GFTransportStageChain: out may be y only when the last stage does not read y");
  PetscCall(GFTransportSetUpScharfetterGummel(tr, drift_local));
  PetscCall(GFStageWorkGet(tr, &wk));
  PetscCall(GFStageChainHaloGet(tr, S, &h));
  PetscCall(GFStageChainHaloFaces(tr, h));
  C = h->cells;
  PetscCall(VecGetArray(out_global, &out));
  if (out_global == y_global)
    y = out;
  else
    PetscCall(VecGetArrayRead(y_global, &y));
  {
    const PetscReal *send[2] = {y, y + (b->size[last] - S) * C};
    PetscCall(GFStageChainHaloExchange(g, h->neighbour, send, h->y, S * C, 4803));
  }
  lo      = h->neighbour[0] >= 0 ? start - S : start;
  hi      = h->neighbour[1] >= 0 ? end + S : end;
  rows[0] = wk.rows[0];
  rows[1] = wk.rows[1];
  for (PetscInt s = 0; s < S; s++) {
    GFStagePassInit(tr, &wk, w[s], k[s], PETSC_FALSE, &p[s]);
    lf[s][0] = wk.gy[s][0];
    lf[s][1] = wk.gy[s][1];
    for (PetscInt i = 0; i < C; i++) lf[s][0][i] = 0; /* a wall below the sweep's first layer (false at a rank boundary: see above) */
  }
  for (PetscInt r = lo; r < hi + S - 1; r++)
    for (PetscInt s = 0; s < S; s++) {
      const PetscInt     L     = r - s;
      const PetscBool    owned = (PetscBool)(L >= start && L < end), last_stage = (PetscBool)(s == S - 1);
      const PetscScalar *in, *next;
      PetscReal         *t;

      if (L < lo || L >= hi) continue;
      in            = s ? wk.ring[s - 1][L % 3] : GFStageChainLayerOf(h, b, y, L);
      next          = L + 1 == hi ? NULL : s ? wk.ring[s - 1][(L + 1) % 3] : GFStageChainLayerOf(h, b, y, L + 1);
      p[s].extremes = (PetscBool)(stats && owned && last_stage);
      GFStageChainLayer(&p[s], h, L, hi, in, next, w[s] != 0 ? GFStageChainLayerOf(h, b, y, L) : NULL, last_stage && owned ? out + (L - start) * C : wk.ring[s][L % 3], lf[s][0], lf[s][1], rows);
      t        = lf[s][0];
      lf[s][0] = lf[s][1];
      lf[s][1] = t;
    }
  if (out_global != y_global) PetscCall(VecRestoreArrayRead(y_global, &y));
  PetscCall(VecRestoreArray(out_global, &out));
  if (stats) {
    stats[0] = p[S - 1].min;
    stats[1] = p[S - 1].max;
    stats[2] = p[S - 1].sum;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
