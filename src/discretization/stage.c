/*
  One explicit Runge-Kutta stage of the Scharfetter-Gummel transport in a single pass over
  the grid, for the two-register (Shu-Osher) SSP schemes:

      out = y + w (u - y) + k L(y),   L(y)_i = -sum_a (F_{i+1/2,a} - F_{i-1/2,a}) / h_a,

  with F = (sigma/h_a) G, G = B(d) y_L - B(-d) y_R from the transport's cached face
  coefficients. The cells are visited in memory order (x fastest, then rows, then planes),
  one loop per row that reads each array once, as a stream:

  - x faces: each cell computes its left and right face; the right face of cell i and the
    left face of cell i+1 are the same expression of the same numbers, hence the same
    double (this file is compiled without floating-point contraction, so no fused
    multiply-add can make them differ);
  - y faces: each row computes the faces above it, into a row buffer that the next row
    reads as the faces below;
  - z faces: a plane buffer of the faces above each plane, filled before the plane, kept
    for the next one.

  So every face enters its two cells with the same value and opposite signs: the mass
  telescopes up to the rounding of each cell's own sum. Faces on a rank boundary are
  computed by both ranks from the same values, as in GFTransportComputeRHS; walls carry no
  flux and their outside is never read. The last stage of a step also returns its output's
  smallest and largest values and sum: the admissibility check and the mass, for free.
*/
#include "stage.h"
#include <string.h>

/* The buffers, allocated on the transport at the first stage (and freed with it). */
PETSC_INTERN PetscErrorCode GFStageWorkGet(GFTransport tr, GFStageWork *w)
{
  const GFLocalBox *b = &tr->grid->box;
  const PetscInt    n = b->size[0], plane = tr->grid->dim > 2 ? b->size[0] * b->size[1] : 1, layer = tr->grid->dim > 2 ? plane : n;
  PetscReal        *at;

  PetscFunctionBeginUser;
  if (!tr->stage_work) PetscCall(PetscCalloc1(2 * GF_STAGE_CHAIN * layer + n + 2 * plane + 3 * GF_STAGE_CHAIN * (layer + 2) + n + 1 + 2 * n, &tr->stage_work));
  at = tr->stage_work;
  for (PetscInt s = 0; s < GF_STAGE_CHAIN; s++)
    for (PetscInt r = 0; r < 2; r++, at += layer) w->gy[s][r] = at;
  w->zero = at;
  at += n;
  for (PetscInt r = 0; r < 2; r++, at += plane) w->gz[r] = at;
  for (PetscInt s = 0; s < GF_STAGE_CHAIN; s++)
    for (PetscInt r = 0; r < 3; r++, at += layer + 2) w->ring[s][r] = at + 1;
  w->gx = at;
  at += n + 1;
  for (PetscInt r = 0; r < 2; r++, at += n) w->rows[r] = at;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The faces G = c0 y - c1 y' of n cells of a layer y and the layer next above it into g; zero at a wall (next NULL), where nothing is read. */
PETSC_INTERN void GFStageLayerFaces(const PetscScalar *restrict y, const PetscScalar *restrict next, const PetscReal *restrict c0, const PetscReal *restrict c1, PetscInt n, PetscReal *restrict g)
{
  if (!next) {
    for (PetscInt i = 0; i < n; i++) g[i] = 0;
    return;
  }
  for (PetscInt i = 0; i < n; i++) g[i] = c0[i] * PetscRealPart(y[i]) - c1[i] * PetscRealPart(next[i]);
}

/* The z faces above plane z (between z and z + 1) into gz, or below the owned planes for z = start - 1. */
static void GFStageZFaces(const GFStagePass *p, PetscInt z, PetscReal *gz)
{
  const GFLocalBox *b    = &p->g->box;
  const PetscBool   wall = (PetscBool)(p->g->bc != GF_BC_PERIODIC && (z + 1 == 0 || z + 1 == p->g->cells[2]));
  const PetscInt    n = b->size[0], stride = GFLocalStride(b, 2);

  for (PetscInt j = b->start[1]; j < b->start[1] + b->size[1]; j++) {
    const PetscInt     row = (j - b->start[1]) * n, face = (z + 1 - b->start[2]) * b->size[0] * b->size[1] + row;
    const PetscScalar *y = wall ? NULL : p->y + GFLocalIndex(b, b->start[0], j, z);

    GFStageLayerFaces(y, wall ? NULL : y + stride, p->c0[2] + face, p->c1[2] + face, n, gz + row);
  }
}

/* The y faces of plane z below the owned rows (between start - 1 and start) into gy. */
static void GFStageFirstYFaces(const GFStagePass *p, PetscInt z, PetscReal *gy)
{
  const GFLocalBox  *b    = &p->g->box;
  const PetscBool    wall = (PetscBool)(p->g->bc != GF_BC_PERIODIC && b->start[1] == 0);
  const PetscInt     n = b->size[0], face = (z - b->start[2]) * (b->size[1] + 1) * n;
  const PetscScalar *y = wall ? NULL : p->y + GFLocalIndex(b, b->start[0], b->start[1] - 1, z);

  GFStageLayerFaces(y, wall ? NULL : y + GFLocalStride(b, 1), p->c0[1] + face, p->c1[1] + face, n, gy);
}

/* The face between x-neighbours y[i-1] and y[i] with coefficients c0[i], c1[i]. */
static inline PetscReal GFStageFace(const PetscScalar *restrict y, const PetscReal *restrict c0, const PetscReal *restrict c1, PetscInt i)
{
  return c0[i] * PetscRealPart(y[i - 1]) - c1[i] * PetscRealPart(y[i]);
}

/* A hint to start loading the cache line at x: the streams of a stage run ahead of the hardware prefetcher, which stops at every 4 KiB page. */
#if defined(__GNUC__)
#define GFPrefetch(x) __builtin_prefetch(x)
#define GFPrefetchWrite(x) __builtin_prefetch(x, 1)
#else
#define GFPrefetch(x) ((void)0)
#define GFPrefetchWrite(x) ((void)0)
#endif

/*
  Cells lo .. hi-1 of a row: y, u and out at the row's first cell; x coefficients at the row's
  first face; the y faces above computed here from the y coefficients d0, d1 and the next row
  (zeros and the row itself where there is none: no test in the loop, which the compiler then
  vectorises) into gt, those below read from gb; the z faces from gzb, gza. The x faces
  between lo and hi must not be walls. with_u and with_z are constants at every call, so that
  each call compiles to a loop without the terms it does not have (they would add exact zeros).
  Blocks of 8 cells (a cache line), each asking for the lines 256 cells ahead of the streams
  that come from memory.
*/
static inline void GFStageCells(const GFStagePass *p, PetscInt lo, PetscInt hi, const PetscScalar *restrict y, const PetscScalar *restrict u, PetscScalar *restrict out, const PetscReal *restrict c0, const PetscReal *restrict c1,
                                const PetscReal *restrict d0, const PetscReal *restrict d1, const PetscScalar *restrict next, const PetscReal *restrict gb, PetscReal *restrict gt, const PetscReal *restrict gzb, const PetscReal *restrict gza,
                                const PetscBool with_u, const PetscBool with_z)
{
  const PetscReal w = p->w, kx = p->k[0], ky = p->k[1], kz = p->k[2];
  const PetscInt  ahead  = 256;
  PetscReal *restrict gx = p->gx;

  /* the x faces lo .. hi once (each the same double as GFStageFace gives) */
  for (PetscInt i = lo; i <= hi; i++) gx[i] = GFStageFace(y, c0, c1, i);
  for (PetscInt i0 = lo; i0 < hi; i0 += 8) {
    const PetscInt end = PetscMin(i0 + 8, hi);

    GFPrefetch(c0 + i0 + ahead);
    GFPrefetch(c1 + i0 + ahead);
    GFPrefetch(d0 + i0 + ahead);
    GFPrefetch(d1 + i0 + ahead);
    GFPrefetch(next + i0 + ahead);
    GFPrefetchWrite(out + i0 + ahead);
    if (with_u) GFPrefetch(u + i0 + ahead);
    for (PetscInt i = i0; i < end; i++) {
      const PetscReal yi = PetscRealPart(y[i]);
      const PetscReal g  = d0[i] * yi - d1[i] * PetscRealPart(next[i]);
      PetscReal       v = yi, div = kx * (gx[i] - gx[i + 1]) + ky * (gb[i] - g);

      if (with_z) div += kz * (gzb[i] - gza[i]);
      if (with_u) v += w * (PetscRealPart(u[i]) - yi);
      out[i] = v + div; /* the end cells' expression, term by term: the same rounding */
      gt[i]  = g;
    }
  }
}

/* The smallest and largest of v[0 .. n-1] and their sum into p's running ones; four independent chains, so that the loop is not bound by their latency. */
static void GFStageExtremes(GFStagePass *p, const PetscScalar *restrict v, PetscInt n)
{
  PetscReal mn[4], mx[4], sum[4] = {0, 0, 0, 0};
  PetscInt  i = 0;

  for (PetscInt q = 0; q < 4; q++) mn[q] = mx[q] = n ? PetscRealPart(v[0]) : 0;
  for (; i + 4 <= n; i += 4)
    for (PetscInt q = 0; q < 4; q++) {
      const PetscReal x = PetscRealPart(v[i + q]);
      mn[q]             = x < mn[q] ? x : mn[q];
      mx[q]             = x > mx[q] ? x : mx[q];
      sum[q] += x;
    }
  for (; i < n; i++) {
    const PetscReal x = PetscRealPart(v[i]);
    mn[0]             = x < mn[0] ? x : mn[0];
    mx[0]             = x > mx[0] ? x : mx[0];
    sum[0] += x;
  }
  for (PetscInt q = 0; q < 4; q++) {
    p->min = PetscMin(p->min, mn[q]);
    p->max = PetscMax(p->max, mx[q]);
  }
  p->sum += (sum[0] + sum[1]) + (sum[2] + sum[3]);
}

/*
  A row of y (the row's first owned cell, its x ghosts at y[-1] and y[n] where there is no
  wall), next the row above (NULL at a wall), u and copy (or NULL), into out, given the y faces
  below it (gb) and the z faces below and above it (gzb, gza): its update, and the y faces above
  it into gt. The first and last cells, whose outer x face may be a wall, are done apart from the
  loop over the others, which has no test in it. Compiled for the baseline and for AVX2 (GF_SIMD_CLONES).
*/
GF_SIMD_CLONES PETSC_INTERN void GFStageRowFacesUpdate(GFStagePass *p, const GFStageRowFaces *rf, const PetscScalar *y, const PetscScalar *next, const PetscScalar *u, PetscScalar *out, PetscScalar *copy, const PetscReal *gb, PetscReal *gt,
                                                       const PetscReal *gzb, const PetscReal *gza)
{
  const struct _p_GFGrid *g        = p->g;
  const GFLocalBox       *b        = &g->box;
  const PetscBool         periodic = (PetscBool)(g->bc == GF_BC_PERIODIC), with_u = (PetscBool)(u != NULL);
  const PetscInt          n         = b->size[0];
  const PetscBool         left_wall = (PetscBool)(!periodic && b->start[0] == 0), right_wall = (PetscBool)(!periodic && b->start[0] + n == g->cells[0]);
  const PetscReal        *c0 = rf->c0, *c1 = rf->c1;
  const PetscReal        *d0 = next && rf->d0 ? rf->d0 : p->zero, *d1 = next && rf->d1 ? rf->d1 : p->zero;

  if (!next) next = y;
  if (!u) u = y;
  if (n > 2) {
    if (with_u && g->dim > 2)
      GFStageCells(p, 1, n - 1, y, u, out, c0, c1, d0, d1, next, gb, gt, gzb, gza, PETSC_TRUE, PETSC_TRUE);
    else if (with_u)
      GFStageCells(p, 1, n - 1, y, u, out, c0, c1, d0, d1, next, gb, gt, gzb, gza, PETSC_TRUE, PETSC_FALSE);
    else if (g->dim > 2)
      GFStageCells(p, 1, n - 1, y, u, out, c0, c1, d0, d1, next, gb, gt, gzb, gza, PETSC_FALSE, PETSC_TRUE);
    else
      GFStageCells(p, 1, n - 1, y, u, out, c0, c1, d0, d1, next, gb, gt, gzb, gza, PETSC_FALSE, PETSC_FALSE);
  }
  for (PetscInt e = 0; e < (n > 1 ? 2 : 1); e++) {
    /* the end cells: a wall face is zero, not a difference with a cell that is not there */
    const PetscInt  i  = e ? n - 1 : 0;
    const PetscReal gl = i == 0 && left_wall ? 0 : GFStageFace(y, c0, c1, i), gr = i == n - 1 && right_wall ? 0 : GFStageFace(y, c0, c1, i + 1);
    const PetscReal yi = PetscRealPart(y[i]), gy = d0[i] * yi - d1[i] * PetscRealPart(next[i]);

    out[i] = (yi + p->w * (PetscRealPart(u[i]) - yi)) + ((p->k[0] * (gl - gr) + p->k[1] * (gb[i] - gy)) + p->k[2] * (gzb[i] - gza[i]));
    gt[i]  = gy;
  }
  if (p->extremes) GFStageExtremes(p, out, n);
  if (copy) memcpy(copy, out, (size_t)n * sizeof(*out));
}

/* Row (j, z) of the owned rows, as GFStageRowFacesUpdate with the transport's coefficients of its faces (next NULL at a wall). */
static void GFStageRow(GFStagePass *p, PetscInt j, PetscInt z, const PetscScalar *y, const PetscScalar *next, const PetscScalar *u, PetscScalar *out, PetscScalar *copy, const PetscReal *gb, PetscReal *gt, const PetscReal *gzb, const PetscReal *gza)
{
  const GFLocalBox *b     = &p->g->box;
  const PetscInt    n     = b->size[0];
  const PetscInt    xface = ((z - b->start[2]) * b->size[1] + (j - b->start[1])) * (n + 1), yface = ((z - b->start[2]) * (b->size[1] + 1) + (j + 1 - b->start[1])) * n;
  GFStageRowFaces   rf = {p->c0[0] + xface, p->c1[0] + xface, NULL, NULL};

  if (p->g->dim > 1) {
    rf.d0 = p->c0[1] + yface;
    rf.d1 = p->c1[1] + yface;
  }
  GFStageRowFacesUpdate(p, &rf, y, next, u, out, copy, gb, gt, gzb, gza);
}

/* The planes of the stage, in order, with their face buffers. */
static void GFStagePlanes(GFStagePass *p, const GFStageWork *wk)
{
  const struct _p_GFGrid *g     = p->g;
  const GFLocalBox       *b     = &g->box;
  PetscReal              *gz[2] = {wk->gz[0], wk->gz[1]};

  if (g->dim > 2) GFStageZFaces(p, b->start[2] - 1, gz[0]);
  for (PetscInt z = b->start[2]; z < b->start[2] + b->size[2]; z++) {
    PetscReal *gy[2] = {wk->gy[0][0], wk->gy[0][1]}, *t;

    if (g->dim > 2) GFStageZFaces(p, z, gz[1]);
    if (g->dim > 1) GFStageFirstYFaces(p, z, gy[0]);
    for (PetscInt j = b->start[1]; j < b->start[1] + b->size[1]; j++) {
      const PetscInt row = (j - b->start[1]) * b->size[0];

      const PetscInt     L = GFLocalIndex(b, b->start[0], j, z);
      const PetscScalar *y = p->y + L, *next = g->dim > 1 && (g->bc == GF_BC_PERIODIC || j + 1 < g->cells[1]) ? y + GFLocalStride(b, 1) : NULL;

      GFStageRow(p, j, z, y, next, p->u ? p->u + L : NULL, p->out + L, p->copy ? p->copy + GFOwnedIndex(b, b->start[0], j, z) : NULL, g->dim > 1 ? gy[0] : wk->zero, g->dim > 1 ? gy[1] : wk->gy[0][1], g->dim > 2 ? gz[0] + row : wk->zero,
                 g->dim > 2 ? gz[1] + row : wk->zero);
      t     = gy[0];
      gy[0] = gy[1];
      gy[1] = t;
    }
    t     = gz[0];
    gz[0] = gz[1];
    gz[1] = t;
  }
}

/* A stage's context: out = y + w (u - y) + k RHS(y) (w 0 without u), the coefficients and buffers of the transport; extremes with stats. */
PETSC_INTERN void GFStagePassInit(GFTransport tr, const GFStageWork *wk, PetscReal w, PetscReal k, PetscBool stats, GFStagePass *p)
{
  const struct _p_GFGrid *g = tr->grid;

  memset(p, 0, sizeof(*p));
  p->g        = g;
  p->zero     = wk->zero;
  p->gx       = wk->gx;
  p->w        = w;
  p->extremes = stats;
  p->min      = PETSC_MAX_REAL;
  p->max      = -PETSC_MAX_REAL;
  for (PetscInt a = 0; a < g->dim; a++) {
    p->c0[a] = tr->sg_coefficients[a];
    p->c1[a] = tr->sg_coefficients[a] + tr->sg_faces[a];
    p->k[a]  = k * tr->sigma / (g->h[a] * g->h[a]);
  }
}

/*
  One stage of Scharfetter-Gummel transport by the drift potential in drift_local (ghosted; may
  be NULL while the face coefficients it gave are cached):
  out = y + w (u - y) + k RHS(y) on the owned cells of the local vector out_local (u_local
  NULL: w is ignored), also into the global vector copy_global when not NULL, where RHS is
  GFTransportComputeRHS's. y_local's ghosts must be current; out_local's are not set. With
  stats not NULL, stats[] gets this rank's smallest and largest output value and their sum.
  The face coefficients are cached until GFTransportDriftChanged.
*/
PetscErrorCode GFTransportStage(GFTransport tr, Vec y_local, Vec drift_local, Vec u_local, PetscReal w, PetscReal k, Vec out_local, Vec copy_global, PetscReal stats[3])
{
  const struct _p_GFGrid *g = tr->grid;
  GFStagePass             p;
  GFStageWork             wk;

  PetscFunctionBeginUser;
  PetscCheck(tr->flux == GF_FLUX_SCHARFETTER_GUMMEL, g->comm, PETSC_ERR_SUP, "GFTransportStage: only for the Scharfetter-Gummel flux");
  PetscCall(GFTransportSetUpScharfetterGummel(tr, drift_local));
  PetscCall(GFStageWorkGet(tr, &wk));
  GFStagePassInit(tr, &wk, u_local ? w : 0, k, (PetscBool)(stats != NULL), &p);
  PetscCall(VecGetArrayRead(y_local, &p.y));
  if (u_local) PetscCall(VecGetArrayRead(u_local, &p.u));
  PetscCall(VecGetArray(out_local, &p.out));
  if (copy_global) PetscCall(VecGetArray(copy_global, &p.copy));
  GFStagePlanes(&p, &wk);
  if (copy_global) PetscCall(VecRestoreArray(copy_global, &p.copy));
  PetscCall(VecRestoreArray(out_local, &p.out));
  if (u_local) PetscCall(VecRestoreArrayRead(u_local, &p.u));
  PetscCall(VecRestoreArrayRead(y_local, &p.y));
  if (stats) {
    stats[0] = p.min;
    stats[1] = p.max;
    stats[2] = p.sum;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The first stage's value at owned cell (i, j) of a 2D grid, each face with its own wall test:
  the expression of GFStageRow's end cells, so the same double as GFStageRow gives that cell.
*/
static PetscReal GFStageCellValue(const GFStagePass *p, PetscInt i, PetscInt j)
{
  const struct _p_GFGrid *g        = p->g;
  const GFLocalBox       *b        = &g->box;
  const PetscBool         periodic = (PetscBool)(g->bc == GF_BC_PERIODIC);
  const PetscInt          n = b->size[0], L = GFLocalIndex(b, i, j, 0), ys = GFLocalStride(b, 1);
  const PetscInt          xf = (j - b->start[1]) * (n + 1) + (i - b->start[0]), yf = (j - b->start[1]) * n + (i - b->start[0]);
  const PetscScalar      *y  = p->y;
  const PetscReal         yi = PetscRealPart(y[L]), ui = p->u ? PetscRealPart(p->u[L]) : yi;
  const PetscReal         gl = !periodic && i == 0 ? 0 : p->c0[0][xf] * PetscRealPart(y[L - 1]) - p->c1[0][xf] * yi;
  const PetscReal         gr = !periodic && i == g->cells[0] - 1 ? 0 : p->c0[0][xf + 1] * yi - p->c1[0][xf + 1] * PetscRealPart(y[L + 1]);
  const PetscReal         gb = !periodic && j == 0 ? 0 : p->c0[1][yf] * PetscRealPart(y[L - ys]) - p->c1[1][yf] * yi;
  const PetscReal         gt = !periodic && j == g->cells[1] - 1 ? 0 : p->c0[1][yf + n] * yi - p->c1[1][yf + n] * PetscRealPart(y[L + ys]);

  return (yi + p->w * (ui - yi)) + ((p->k[0] * (gl - gr) + p->k[1] * (gb - gt)) + p->k[2] * (0.0 - 0.0));
}

/*
  The first stage's values on the owned cells next to every rank boundary (and periodic wrap),
  sent to the neighbours: recv[a][side] then holds the first stage on the ghost layer across
  that side (x: one value per owned row; y: one per owned column), NULL at a wall.
*/
static PetscErrorCode GFStagePairStrips(const GFStagePass *p1, GFHalo halo, const PetscReal *recv[2][2])
{
  const GFLocalBox *b = &p1->g->box;

  PetscFunctionBeginUser;
  for (PetscInt a = 0; a < 2; a++)
    for (PetscInt side = 0; side < 2; side++) {
      PetscReal *send;

      PetscCall(GFHaloGetBuffers(halo, a, side, &send, &recv[a][side]));
      if (!send) continue;
      if (a == 0)
        for (PetscInt j = b->start[1]; j < b->start[1] + b->size[1]; j++) send[j - b->start[1]] = GFStageCellValue(p1, side ? b->start[0] + b->size[0] - 1 : b->start[0], j);
      else
        for (PetscInt i = b->start[0]; i < b->start[0] + b->size[0]; i++) send[i - b->start[0]] = GFStageCellValue(p1, i, side ? b->start[1] + b->size[1] - 1 : b->start[1]);
    }
  PetscCall(GFHaloExchangeBuffers(halo));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* First-stage row r of the pair into the ring (its x ghosts from the strips), the first stage's y faces advanced. */
static void GFStagePairFirstRow(GFStagePass *p1, const GFStageWork *wk, const PetscReal *recv[2][2], PetscInt r, PetscReal *gy[2])
{
  const struct _p_GFGrid *g = p1->g;
  const GFLocalBox       *b = &g->box;
  const PetscInt          L = GFLocalIndex(b, b->start[0], r, 0), n = b->size[0];
  const PetscScalar      *y = p1->y + L, *next = g->bc == GF_BC_PERIODIC || r + 1 < g->cells[1] ? y + GFLocalStride(b, 1) : NULL;
  PetscReal              *row = wk->ring[0][(r - b->start[1]) % 3], *t;

  GFStageRow(p1, r, 0, y, next, p1->u ? p1->u + L : NULL, row, NULL, gy[0], gy[1], wk->zero, wk->zero);
  row[-1] = recv[0][0] ? recv[0][0][r - b->start[1]] : 0;
  row[n]  = recv[0][1] ? recv[0][1][r - b->start[1]] : 0;
  t       = gy[0];
  gy[0]   = gy[1];
  gy[1]   = t;
}

/*
  Two stages in one pass over a 2D grid:

      A = y + w (u - y) + k1 RHS(y),   out = A + k2 RHS(A),

  A never stored whole: a ring of three first-stage rows runs one row ahead of the second
  stage, the first stage on the ghost layers comes from the neighbours' own first stage
  (GFStagePairStrips: the same doubles, so every face of the second stage is the same on both
  sides of a rank boundary). The same arithmetic, cell by cell, as two GFTransportStage calls
  with a ghost exchange between them, and half the memory traffic: y, u, the coefficients and
  out are streamed once for both stages. out may be u (each row of u is read before that row
  of out is written). y's ghosts must be current. With stats, as GFTransportStage.
*/
PETSC_INTERN PetscErrorCode GFTransportStagePair(GFTransport tr, GFHalo halo, Vec y_local, Vec drift_local, Vec u_local, PetscReal w, PetscReal k1, PetscReal k2, Vec out_local, PetscReal stats[3])
{
  const struct _p_GFGrid *g = tr->grid;
  const GFLocalBox       *b = &g->box;
  const PetscInt          n = b->size[0], s1 = b->start[1], e1 = b->start[1] + b->size[1];
  GFStagePass             p1, p2;
  GFStageWork             wk;
  const PetscReal        *recv[2][2];
  PetscReal              *gy1[2], *gy2[2];
  PetscScalar            *out;

  PetscFunctionBeginUser;
  PetscCheck(tr->flux == GF_FLUX_SCHARFETTER_GUMMEL && g->dim == 2, g->comm, PETSC_ERR_SUP, "GFTransportStagePair: only for the Scharfetter-Gummel flux in 2D");
  PetscCall(GFTransportSetUpScharfetterGummel(tr, drift_local));
  PetscCall(GFStageWorkGet(tr, &wk));
  GFStagePassInit(tr, &wk, u_local ? w : 0, k1, PETSC_FALSE, &p1);
  GFStagePassInit(tr, &wk, 0, k2, (PetscBool)(stats != NULL), &p2);
  PetscCall(VecGetArrayRead(y_local, &p1.y));
  PetscCall(VecGetArray(out_local, &out));
  if (u_local == out_local)
    p1.u = out;
  else if (u_local)
    PetscCall(VecGetArrayRead(u_local, &p1.u));
  PetscCall(GFStagePairStrips(&p1, halo, recv));
  gy1[0] = wk.gy[0][0];
  gy1[1] = wk.gy[0][1];
  gy2[0] = wk.gy[1][0];
  gy2[1] = wk.gy[1][1];
  GFStageFirstYFaces(&p1, 0, gy1[0]);
  GFStagePairFirstRow(&p1, &wk, recv, s1, gy1);
  {
    /* the second stage's faces below the first row: between the strip below (or the wall) and the first row of A */
    const PetscBool wall = (PetscBool)(g->bc != GF_BC_PERIODIC && s1 == 0);
    for (PetscInt i = 0; i < n; i++) gy2[0][i] = wall ? 0 : p2.c0[1][i] * recv[1][0][i] - p2.c1[1][i] * wk.ring[0][0][i];
  }
  for (PetscInt j = s1; j < e1; j++) {
    const PetscReal *next = j + 1 < e1 ? wk.ring[0][(j + 1 - s1) % 3] : recv[1][1];
    PetscReal       *t;

    if (j + 1 < e1) GFStagePairFirstRow(&p1, &wk, recv, j + 1, gy1);
    GFStageRow(&p2, j, 0, wk.ring[0][(j - s1) % 3], next, NULL, out + GFLocalIndex(b, b->start[0], j, 0), NULL, gy2[0], gy2[1], wk.zero, wk.zero);
    t      = gy2[0];
    gy2[0] = gy2[1];
    gy2[1] = t;
  }
  if (u_local && u_local != out_local) PetscCall(VecRestoreArrayRead(u_local, &p1.u));
  PetscCall(VecRestoreArray(out_local, &out));
  PetscCall(VecRestoreArrayRead(y_local, &p1.y));
  if (stats) {
    stats[0] = p2.min;
    stats[1] = p2.max;
    stats[2] = p2.sum;
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}
