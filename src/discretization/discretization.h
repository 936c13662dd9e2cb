/*
  The discretization layer: the uniform box grid and its DMDA, the finite-volume transport
  operator, FFT convolution, geometric multigrid and grid transfers, distances between
  densities. It uses the base layer only; models and everything above use it.
*/
#ifndef GRADFLOW_DISCRETIZATION_H
#define GRADFLOW_DISCRETIZATION_H

#include "../base/base.h"

/* The owned and ghosted index boxes of this rank; unused axes have start 0 and size 1. */
typedef struct {
  PetscInt start[3], size[3];   /* owned cells (global indices) */
  PetscInt gstart[3], gsize[3]; /* owned + ghost cells */
} GFLocalBox;

struct _p_GFGrid {
  MPI_Comm   comm;
  PetscInt   refct; /* GFGridReference / GFGridDestroy */
  PetscInt   dim;
  PetscInt   cells[3];
  PetscReal  lower[3], upper[3], h[3];
  PetscReal  cell_volume;
  GFBoundary bc;
  DM         da;
  GFLocalBox box;
  PetscBool  fixed; /* built from a file: its size is not for -da_grid_x and friends to change */
};

/* Index of global cell (i, j, k) in a rank's ghosted local array. */
static inline PetscInt GFLocalIndex(const GFLocalBox *b, PetscInt i, PetscInt j, PetscInt k)
{
  return (i - b->gstart[0]) + b->gsize[0] * ((j - b->gstart[1]) + b->gsize[1] * (k - b->gstart[2]));
}

/* Index of owned global cell (i, j, k) in a rank's global-vector array. */
static inline PetscInt GFOwnedIndex(const GFLocalBox *b, PetscInt i, PetscInt j, PetscInt k)
{
  return (i - b->start[0]) + b->size[0] * ((j - b->start[1]) + b->size[1] * (k - b->start[2]));
}

/* Stride of axis a in the ghosted local array. */
static inline PetscInt GFLocalStride(const GFLocalBox *b, PetscInt a)
{
  return a == 0 ? 1 : (a == 1 ? b->gsize[0] : b->gsize[0] * b->gsize[1]);
}

/* Centre of global cell idx[] (unused axes ignored). */
static inline void GFGridCellCenter(const struct _p_GFGrid *g, const PetscInt idx[], PetscReal x[])
{
  for (PetscInt a = 0; a < g->dim; a++) x[a] = g->lower[a] + (idx[a] + 0.5) * g->h[a];
}

/* x - y, by the minimum image on periodic boxes: the displacement particle interactions use. */
static inline void GFGridDisplacement(const struct _p_GFGrid *g, const PetscReal x[], const PetscReal y[], PetscReal d[])
{
  for (PetscInt a = 0; a < g->dim; a++) {
    d[a] = x[a] - y[a];
    if (g->bc == GF_BC_PERIODIC) {
      const PetscReal L = g->upper[a] - g->lower[a];
      d[a] -= L * round(d[a] / L);
    }
  }
}

#define GF_FOR_OWNED(box, i, j, k)                                                \
  for (PetscInt k = (box)->start[2]; k < (box)->start[2] + (box)->size[2]; k++)   \
    for (PetscInt j = (box)->start[1]; j < (box)->start[1] + (box)->size[1]; j++) \
      for (PetscInt i = (box)->start[0]; i < (box)->start[0] + (box)->size[0]; i++)

typedef struct _p_GFHalo           *GFHalo;
typedef struct _p_GFStageChainHalo *GFStageChainHalo;

struct _p_GFTransport {
  GFGrid           grid;
  GFFluxType       flux;
  GFReconstruction reconstruction;
  PetscReal        sigma;        /* Scharfetter-Gummel diffusion coefficient */
  PetscBool        sg_curvature; /* ... with the curvature factor */
  /* caches valid until GFTransportDriftChanged(): Scharfetter-Gummel face coefficients
     B(d), B(-d) per axis, and the last rate bound with its diffusivity */
  PetscReal       *sg_coefficients[3]; /* per axis: B(d) of every face, then B(-d) of every face */
  PetscInt         sg_faces[3];        /* faces per axis */
  PetscBool        sg_valid, rate_valid;
  PetscReal        rate_diffusivity, rate;
  PetscInt         sg_generation; /* counts the sets of face coefficients computed */
  PetscReal       *stage_work;    /* GFTransportStage's face buffers (stage.c) */
  GFStageChainHalo chain_halo;    /* GFTransportStageChain's rows of the neighbours (stage.c) */
};

/*
  A 1D quantile function, piecewise linear in u: a CDF F[0..n] (F[0] = 0, F[n] = 1) at the knots
  x0 + j h, or (F NULL) the empirical quantile of n sorted points, x_(k) on (k/n, (k+1)/n], of
  which x holds x_(x_first) onwards (a rank's part of points sorted over ranks). h < 0 walks
  from the top: the knots down from x0, the points from the largest.
*/
typedef struct {
  PetscInt         n;
  const PetscReal *F, *x;
  PetscReal        x0, h;
  PetscInt         x_first;
} GFQuantile;
/* What a piece of the walk adds: to int |Q_a - Q_b| du and to int (Q_a - Q_b)^2 du. */
typedef void (*GFQuantileAdd)(void *ctx, PetscReal abs, PetscReal square);
PETSC_INTERN void GFQuantileHalf(const GFQuantile *, const GFQuantile *, PetscReal *, PetscReal *);
PETSC_INTERN void GFQuantileHalfPieces(const GFQuantile *, PetscInt, PetscInt, const GFQuantile *, GFQuantileAdd, void *);

/* Distances between two densities on one grid (distances.c), in this order. */
enum { GF_DIST_L1, GF_DIST_L2, GF_DIST_LINF, GF_DIST_MASS, GF_DIST_W1, GF_DIST_W2, GF_DIST_COUNT };
PETSC_INTERN PetscErrorCode GFGridDistances(GFGrid, Vec, Vec, PetscReal[]);
PETSC_INTERN PetscErrorCode GFGridCreateAveraging(GFGrid, GFGrid, Mat *);

PETSC_INTERN PetscErrorCode GFGridGetLocalBox(GFGrid, GFLocalBox *);
PETSC_INTERN PetscErrorCode GFGridCopyOwned(GFGrid, Vec, Vec);
PETSC_INTERN PetscErrorCode GFHaloCreate(GFGrid, PetscInt, GFHalo *);
PETSC_INTERN PetscErrorCode GFHaloExchange(GFHalo, Vec);
PETSC_INTERN PetscErrorCode GFHaloGetBuffers(GFHalo, PetscInt, PetscInt, PetscReal **, const PetscReal **);
PETSC_INTERN PetscErrorCode GFHaloExchangeBuffers(GFHalo);
PETSC_INTERN PetscErrorCode GFTransportStagePair(GFTransport, GFHalo, Vec, Vec, Vec, PetscReal, PetscReal, PetscReal, Vec, PetscReal[3]);
PETSC_INTERN PetscErrorCode GFTransportStageChainApplies(GFTransport, PetscInt, PetscBool *);
PETSC_INTERN PetscErrorCode GFTransportStageChain(GFTransport, Vec, Vec, PetscInt, const PetscReal[], const PetscReal[], Vec, PetscReal[3]);
PETSC_INTERN PetscErrorCode GFHaloDestroy(GFHalo *);
PETSC_INTERN PetscErrorCode GFGridGatherNatural(GFGrid, Vec, Vec *);
PETSC_INTERN PetscErrorCode GFMultigridSetUp(GFGrid, KSP, PetscInt *);
PETSC_INTERN PetscErrorCode GFTransportSetUpScharfetterGummel(GFTransport, Vec);

#endif
