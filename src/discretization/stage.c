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
#include "discretization.h"
#include <string.h>

/*
  The face buffers of a stage, carved from the transport's stage_work: per stage of a chain of
  up to GF_STAGE_CHAIN stages in one pass, two layers of faces between layers (rows in 1D and
  2D, planes in 3D; the first pair serves a single stage's y faces), two planes of z faces, a
  row of zeros (the faces of absent axes), a row of x faces, two rows of y faces (the chain in
  3D) and, per chained stage, a ring of three layers with a ghost cell at each end.
*/
#define GF_STAGE_CHAIN 4
typedef struct {
  PetscReal *gy[GF_STAGE_CHAIN][2], *gz[2], *zero, *ring[GF_STAGE_CHAIN][3], *gx, *rows[2];
} GFStageWork;

/* The buffers, allocated on the transport at the first stage (and freed with it). */
static PetscErrorCode GFStageWorkGet(GFTransport tr, GFStageWork *w)
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

/* The context of one stage: its arrays, weights and the running extremes of its output. */
typedef struct {
  const struct _p_GFGrid *g;
  const PetscReal        *c0[3], *c1[3]; /* B(d), B(-d) per axis, in memory order */
  const PetscScalar      *y, *u;
  PetscScalar            *out, *copy;
  const PetscReal        *zero; /* a row of zeros */
  PetscReal              *gx;   /* a row of x faces */
  PetscReal               w, k[3];
  PetscBool               extremes;
  PetscReal               min, max, sum;
} GFStagePass;

/* The faces G = c0 y - c1 y' of n cells of y and of the layer stride above into g; zero on a wall, where nothing is read. */
static void GFStageLayerFaces(const PetscScalar *restrict y, PetscInt stride, const PetscReal *restrict c0, const PetscReal *restrict c1, PetscInt n, PetscBool wall, PetscReal *restrict g)
{
  if (wall) {
    for (PetscInt i = 0; i < n; i++) g[i] = 0;
    return;
  }
  for (PetscInt i = 0; i < n; i++) g[i] = c0[i] * PetscRealPart(y[i]) - c1[i] * PetscRealPart(y[i + stride]);
}

/* The z faces above plane z (between z and z + 1) into gz, or below the owned planes for z = start - 1. */
static void GFStageZFaces(const GFStagePass *p, PetscInt z, PetscReal *gz)
{
  const GFLocalBox *b    = &p->g->box;
  const PetscBool   wall = (PetscBool)(p->g->bc != GF_BC_PERIODIC && (z + 1 == 0 || z + 1 == p->g->cells[2]));
  const PetscInt    n = b->size[0], stride = GFLocalStride(b, 2);

  for (PetscInt j = b->start[1]; j < b->start[1] + b->size[1]; j++) {
    const PetscInt row = (j - b->start[1]) * n, face = (z + 1 - b->start[2]) * b->size[0] * b->size[1] + row;
    GFStageLayerFaces(wall ? NULL : p->y + GFLocalIndex(b, b->start[0], j, z), stride, p->c0[2] + face, p->c1[2] + face, n, wall, gz + row);
  }
}

/* The y faces of plane z below the owned rows (between start - 1 and start) into gy. */
static void GFStageFirstYFaces(const GFStagePass *p, PetscInt z, PetscReal *gy)
{
  const GFLocalBox *b    = &p->g->box;
  const PetscBool   wall = (PetscBool)(p->g->bc != GF_BC_PERIODIC && b->start[1] == 0);
  const PetscInt    n = b->size[0], face = (z - b->start[2]) * (b->size[1] + 1) * n;

  GFStageLayerFaces(wall ? NULL : p->y + GFLocalIndex(b, b->start[0], b->start[1] - 1, z), GFLocalStride(b, 1), p->c0[1] + face, p->c1[1] + face, n, wall, gy);
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
  On x86-64 the row is compiled twice, for the baseline (SSE2) and for AVX2, and the loader
  picks the one the processor runs (GCC's and Clang's function multiversioning): twice the
  numbers per instruction, the same rounding (no contraction into fused multiply-adds).
*/
#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define GF_STAGE_CLONES __attribute__((target_clones("avx2", "default")))
#endif
#endif
#if !defined(GF_STAGE_CLONES)
#define GF_STAGE_CLONES
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

/* The coefficients of a row's faces: x faces B(d), B(-d) from the row's first face; y faces above it (d0, d1 NULL at a wall). */
typedef struct {
  const PetscReal *c0, *c1, *d0, *d1;
} GFStageRowFaces;

/*
  A row of y (the row's first owned cell, its x ghosts at y[-1] and y[n] where there is no
  wall), next the row above (NULL at a wall), u and copy (or NULL), into out, given the y faces
  below it (gb) and the z faces below and above it (gzb, gza): its update, and the y faces above
  it into gt. The first and last cells, whose outer x face may be a wall, are done apart from the
  loop over the others, which has no test in it.
*/
GF_STAGE_CLONES static void GFStageRowFacesUpdate(GFStagePass *p, const GFStageRowFaces *rf, const PetscScalar *y, const PetscScalar *next, const PetscScalar *u, PetscScalar *out, PetscScalar *copy, const PetscReal *gb, PetscReal *gt,
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
static void GFStagePassInit(GFTransport tr, const GFStageWork *wk, PetscReal w, PetscReal k, PetscBool stats, GFStagePass *p)
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

/* The neighbours' layers: S layers of y below and above this rank's and the coefficients of their faces. */
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
  PetscReal  *buffer;       /* the storage of all of them */
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

PETSC_INTERN PetscErrorCode GFStageChainHaloDestroy(GFStageChainHalo *h)
{
  PetscFunctionBeginUser;
  if (!*h) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(PetscFree((*h)->buffer));
  PetscCall(PetscFree(*h));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The halo of S layers per side for tr's grid (ranks along the last axis only), on the transport. */
static PetscErrorCode GFStageChainHaloGet(GFTransport tr, PetscInt S, GFStageChainHalo *halo)
{
  const struct _p_GFGrid *g    = tr->grid;
  const GFLocalBox       *b    = &g->box;
  const PetscInt          last = g->dim - 1;
  PetscMPIInt             rank, size;
  GFStageChainHalo        h = NULL;
  PetscInt                side_size;
  PetscReal              *at;

  PetscFunctionBeginUser;
  if (tr->chain_halo && tr->chain_halo->S == S) {
    *halo = tr->chain_halo;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(GFStageChainHaloDestroy(&tr->chain_halo));
  PetscCallMPI(MPI_Comm_rank(g->comm, &rank));
  PetscCallMPI(MPI_Comm_size(g->comm, &size));
  PetscCall(PetscNew(&h));
  h->S          = S;
  h->dim        = g->dim;
  h->generation = -1;
  h->cells      = last == 1 ? b->size[0] : b->size[0] * b->size[1];
  for (PetscInt a = 0; a < last; a++) h->faces[a] = tr->sg_faces[a] / b->size[last];
  h->neighbour[0] = b->start[last] > 0 ? rank - 1 : -1; /* ranks only along the last axis: they go up its layers */
  h->neighbour[1] = b->start[last] + b->size[last] < g->cells[last] ? rank + 1 : -1;
  PetscCheck(h->neighbour[1] < size, g->comm, PETSC_ERR_PLIB, "GFStageChainHalo: rank %d has layers above it but no rank above", (int)rank);
  h->count = 2 * (S - 1) * h->cells;
  for (PetscInt a = 0; a < last; a++) h->count += 2 * S * h->faces[a];
  side_size = S * h->cells + h->count;
  PetscCall(PetscMalloc1(2 * side_size, &h->buffer));
  at = h->buffer;
  for (PetscInt side = 0; side < 2; side++) {
    h->y[side] = at;
    at += S * h->cells;
    for (PetscInt a = 0; a < last; a++) {
      h->within[side][a] = at;
      at += 2 * S * h->faces[a];
    }
    h->between[side] = at;
    at += 2 * (S - 1) * h->cells;
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

    for (PetscInt i = 0; i < h->cells; i++) lt[i] = next ? between[0][i] * PetscRealPart(in[i]) - between[1][i] * PetscRealPart(next[i]) : 0; /* the faces above the plane, as GFStageLayerFaces */
    for (PetscInt i = 0; i < n; i++) rows[0][i] = 0;                                                                                          /* the wall below the first row */
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
