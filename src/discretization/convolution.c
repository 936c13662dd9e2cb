/*
  GFConvolution: discrete convolution of a cell-average field with cell-averaged kernel samples,

    out_i = h^d sum_j K_{i-j} rho_j,   K_m = (1/|cell|) int_{cell centred at m h} K(x) dx,

  in O(N log N) by FFTW through PETSc's MATFFTW (real build: r2c forward, c2r backward).

  Walls. No-flux boxes zero-pad every axis to 2n: rho sits in cells 0..n-1 and K_m at
  index m mod 2n for |m| <= n-1 (index n holds 0), so the circular convolution of size 2n
  is the linear one. Periodic boxes use size n with offsets taken as minimal images in
  [-n/2, n/2); for even n the offset n/2 stands for both +L/2 and -L/2 and takes the mean
  of the two samples, so even kernels are unchanged there and odd ones (gradients) vanish.

  Layout. The padded array in natural order has x fastest, so the FFTW dimensions are
  [Nz][Ny][Nx] and FFTW-MPI cuts slabs along the first of them (y in 2D, z in 3D). With
  more ranks than FFT cells along it, FFTW's block distribution leaves the extra ranks with
  empty slabs: the result is still right (tested), those ranks only idle in the transforms.
  For a real transform in parallel FFTW pads each row of Nx reals to 2(Nx/2+1);
  sequentially the input is dense. Padded cell p sits at FFTW index p_x + row_stride (p_y + Ny p_z).
  DMDA's global ordering is neither: the input goes DMDA global -> natural (DMDA's own
  scatter) -> FFTW input (a VecScatter built here once from index sets). PETSc's
  VecScatterPetscToFFTW builds and frees a new scatter on every call (and refuses real 3D
  in parallel), so this module composes the natural-to-padded map and its FFTW layout into
  one persistent scatter instead; the way back is built the same way.

  1D. FFTW-MPI has no distributed real 1D transform (MATFFTW refuses it: "FFTW does not
  support parallel 1D real transform"), so in 1D every rank gathers the whole field through
  the same persistent scatter into a sequential MATFFTW on PETSC_COMM_SELF, transforms it
  redundantly (1D grids are small) and keeps its own part of the result.

  Plan once, apply many: the FFTW plans, work vectors and scatters are made in Create, each
  kernel's transform (times h^d / prod(padded), the inverse being unnormalised) in
  AddKernel; Apply allocates nothing. The FFTW plans are always executed on the arrays they
  were made with: MATFFTW's new-array path is not valid for MPI real plans.
*/
#include "discretization.h"

typedef struct {
  GFKernelCellAverageFn fn;
  PetscInt              comp;
  void                 *ctx;
  Vec                   transform; /* FFT of the samples times h^d / prod(padded), in the layout of the forward output */
} GFConvolutionKernel;

/* A MATFFTW with its work vectors: forward input and output, backward input and output. */
typedef struct {
  Mat      fft;
  Vec      in, out, product, back;
  PetscInt dim, dims[3]; /* FFTW (C-order) dimensions */
  PetscInt users;
} GFSharedFFT;

/*
  PETSc 3.18's MatDestroy_FFTW calls fftw_mpi_cleanup(), which invalidates every other FFTW
  plan of the process: with two MATFFTWs alive, destroying the second one crashes in
  fftw_destroy_plan (seen with 2D MPI plans). So all GFConvolutions share one MATFFTW and its
  work vectors, which requires them to need the same FFT size; the last one frees it.
*/
static GFSharedFFT *shared_fft = NULL;

struct _p_GFConvolution {
  GFGrid               grid;
  PetscInt             dim, cells[3], padded[3];
  PetscInt             row_stride; /* FFTW index of padded cell p: p[0] + row_stride (p[1] + padded[1] p[2]) */
  PetscReal            scale;      /* h^d / prod(padded) */
  GFSharedFFT         *shared;
  Mat                  fft;                                /* shared->fft */
  Vec                  fft_in, fft_out, product, fft_back; /* shared->in, out, product, back */
  Vec                  natural_in, natural_out;
  VecScatter           to_fftw, from_fftw;
  PetscInt             nkernels, capacity;
  GFConvolutionKernel *kernels;
};

/* Padded cell p[] of FFTW index g (global in the FFTW vectors); false for the padding of FFTW's rows. */
static PetscBool GFConvolutionDecode(GFConvolution c, PetscInt g, PetscInt p[3])
{
  const PetscInt row = g / c->row_stride;

  p[0] = g % c->row_stride;
  p[1] = row % c->padded[1];
  p[2] = row / c->padded[1];
  return (PetscBool)(p[0] < c->padded[0] && p[2] < c->padded[2]);
}

/* FFTW index of padded cell p[]. */
static PetscInt GFConvolutionEncode(GFConvolution c, const PetscInt p[3])
{
  return p[0] + c->row_stride * (p[1] + c->padded[1] * p[2]);
}

/*
  Sample K_m of kernel k for the padded index p[] (one per axis): m_a = p_a or p_a - padded_a
  (no-flux: |m_a| <= n_a - 1, and index n_a gives 0; periodic: minimal image in [-n_a/2, n_a/2)).
  For even periodic n_a and p_a = n_a/2 the sample is the mean over the signs of those axes
  of the cell averages at m_a = +-n_a/2. The FFT and the direct sum both take their samples here.
*/
static PetscErrorCode GFConvolutionSample(GFConvolution c, const GFConvolutionKernel *k, const PetscInt p[], PetscReal *value)
{
  const GFGrid g        = c->grid;
  PetscInt     m[3]     = {0, 0, 0}, nyquist[3];
  PetscInt     nnyquist = 0;
  PetscReal    x[3], values[GF_KERNEL_MAX_COMPONENTS];
  PetscReal    sum = 0;

  PetscFunctionBeginUser;
  for (PetscInt a = 0; a < c->dim; a++) {
    const PetscInt n = c->cells[a];
    if (g->bc == GF_BC_NOFLUX) {
      if (p[a] == n) {
        *value = 0;
        PetscFunctionReturn(PETSC_SUCCESS);
      }
      m[a] = p[a] < n ? p[a] : p[a] - c->padded[a];
    } else {
      m[a] = 2 * p[a] < n ? p[a] : p[a] - n;
      if (2 * p[a] == n) nyquist[nnyquist++] = a;
    }
  }
  for (PetscInt signs = 0; signs < (1 << nnyquist); signs++) {
    for (PetscInt a = 0; a < c->dim; a++) x[a] = m[a] * g->h[a];
    for (PetscInt q = 0; q < nnyquist; q++) x[nyquist[q]] = ((signs >> q) & 1 ? 0.5 : -0.5) * c->cells[nyquist[q]] * g->h[nyquist[q]];
    PetscCall(k->fn(c->dim, x, g->h, values, k->ctx));
    sum += values[k->comp];
  }
  *value = sum / (1 << nnyquist);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The persistent scatters natural grid vector -> FFTW input (every FFTW input entry this rank
  owns that holds a grid cell: in 1D, with a sequential FFTW vector, the whole field) and FFTW
  output -> natural grid vector (every natural entry this rank owns).
*/
static PetscErrorCode GFConvolutionCreateScatters(GFConvolution c)
{
  PetscInt  lo, hi, count = 0, *from, *to;
  IS        is_from, is_to;
  PetscBool inside;

  PetscFunctionBeginUser;
  PetscCall(VecGetOwnershipRange(c->fft_in, &lo, &hi));
  PetscCall(PetscMalloc2(hi - lo, &from, hi - lo, &to));
  for (PetscInt g = lo; g < hi; g++) {
    PetscInt p[3];
    inside = GFConvolutionDecode(c, g, p);
    for (PetscInt a = 0; a < 3; a++) inside = (PetscBool)(inside && p[a] < c->cells[a]);
    if (!inside) continue;
    from[count] = p[0] + c->cells[0] * (p[1] + c->cells[1] * p[2]);
    to[count++] = g;
  }
  PetscCall(ISCreateGeneral(PETSC_COMM_SELF, count, from, PETSC_COPY_VALUES, &is_from));
  PetscCall(ISCreateGeneral(PETSC_COMM_SELF, count, to, PETSC_COPY_VALUES, &is_to));
  PetscCall(VecScatterCreate(c->natural_in, is_from, c->fft_in, is_to, &c->to_fftw));
  PetscCall(ISDestroy(&is_from));
  PetscCall(ISDestroy(&is_to));
  PetscCall(PetscFree2(from, to));

  PetscCall(VecGetOwnershipRange(c->natural_out, &lo, &hi));
  PetscCall(PetscMalloc2(hi - lo, &from, hi - lo, &to));
  for (PetscInt i = lo; i < hi; i++) {
    const PetscInt p[3] = {i % c->cells[0], (i / c->cells[0]) % c->cells[1], i / (c->cells[0] * c->cells[1])};
    from[i - lo]        = GFConvolutionEncode(c, p);
    to[i - lo]          = i;
  }
  PetscCall(ISCreateGeneral(PETSC_COMM_SELF, hi - lo, from, PETSC_COPY_VALUES, &is_from));
  PetscCall(ISCreateGeneral(PETSC_COMM_SELF, hi - lo, to, PETSC_COPY_VALUES, &is_to));
  PetscCall(VecScatterCreate(c->fft_back, is_from, c->natural_out, is_to, &c->from_fftw));
  PetscCall(ISDestroy(&is_from));
  PetscCall(ISDestroy(&is_to));
  PetscCall(PetscFree2(from, to));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* The FFT size in axis order x, y, z from FFTW (C-order) dimensions: "64 x 48". */
static PetscErrorCode GFFFTSizeString(PetscInt dim, const PetscInt dims[], char text[], size_t len)
{
  PetscFunctionBeginUser;
  if (dim == 1)
    PetscCall(PetscSNPrintf(text, len, "%" PetscInt_FMT, dims[0]));
  else if (dim == 2)
    PetscCall(PetscSNPrintf(text, len, "%" PetscInt_FMT " x %" PetscInt_FMT, dims[1], dims[0]));
  else
    PetscCall(PetscSNPrintf(text, len, "%" PetscInt_FMT " x %" PetscInt_FMT " x %" PetscInt_FMT, dims[2], dims[1], dims[0]));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The shared MATFFTW of FFTW dimensions dims[] on comm: the live one when it matches, else a
  new one (when none is live), planned by one forward and one backward transform on zeros.
  A live one of another size is an error (see shared_fft).
*/
static PetscErrorCode GFSharedFFTGet(MPI_Comm comm, MPI_Comm error_comm, PetscInt dim, const PetscInt dims[], GFSharedFFT **fft)
{
  GFSharedFFT *f = shared_fft;

  PetscFunctionBeginUser;
  if (f) {
    PetscMPIInt relation;
    PetscBool   same = (PetscBool)(f->dim == dim);
    for (PetscInt a = 0; same && a < dim; a++) same = (PetscBool)(f->dims[a] == dims[a]);
    PetscCallMPI(MPI_Comm_compare(PetscObjectComm((PetscObject)f->fft), comm, &relation));
    if (!same || (relation != MPI_IDENT && relation != MPI_CONGRUENT)) {
      char live[64], wanted[64];
      PetscCall(GFFFTSizeString(f->dim, f->dims, live, sizeof(live)));
      PetscCall(GFFFTSizeString(dim, dims, wanted, sizeof(wanted)));
      SETERRQ(error_comm, PETSC_ERR_SUP,
              "GFConvolution: this grid needs an FFT of %s cells on its communicator, but another GFConvolution holds one of %s cells%s; PETSc 3.18 frees every FFTW plan when it destroys any MATFFTW (fftw_mpi_cleanup), so only one FFT "
              "size can be live at a time: destroy the other GFConvolution first",
              wanted, live, same ? " on another communicator" : "");
    }
    f->users++;
    *fft = f;
    PetscFunctionReturn(PETSC_SUCCESS);
  }
  PetscCall(PetscNew(&f));
  f->dim = dim;
  for (PetscInt a = 0; a < dim; a++) f->dims[a] = dims[a];
  PetscCall(MatCreateFFT(comm, dim, dims, MATFFTW, &f->fft));
  PetscCall(MatCreateVecsFFTW(f->fft, &f->in, &f->out, &f->back));
  PetscCall(MatCreateVecsFFTW(f->fft, NULL, &f->product, NULL));
  PetscCall(VecZeroEntries(f->in));
  PetscCall(VecZeroEntries(f->product));
  PetscCall(MatMult(f->fft, f->in, f->out));
  PetscCall(MatMultTranspose(f->fft, f->product, f->back));
  f->users   = 1;
  shared_fft = f;
  *fft       = f;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Drop one user of the shared MATFFTW; the last one destroys it. */
static PetscErrorCode GFSharedFFTRelease(GFSharedFFT **fft)
{
  GFSharedFFT *f = *fft;

  PetscFunctionBeginUser;
  *fft = NULL;
  if (!f || --f->users > 0) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(VecDestroy(&f->in));
  PetscCall(VecDestroy(&f->out));
  PetscCall(VecDestroy(&f->product));
  PetscCall(VecDestroy(&f->back));
  PetscCall(MatDestroy(&f->fft));
  PetscCall(PetscFree(f));
  shared_fft = NULL;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Plan the FFT of the padded grid (2n per axis for no-flux walls, n for periodic ones), or
  share the live one of that size, make the scatters, and run them once so that FFTW's plans
  and DMDA's natural-ordering scatter exist before the first Apply.
*/
PetscErrorCode GFConvolutionCreate(GFGrid grid, GFConvolution *conv)
{
  GFConvolution c;
  GFSharedFFT  *shared = NULL;
  MPI_Comm      fft_comm;
  PetscMPIInt   fft_size;
  PetscInt      fftw_dims[3], total = 1;
  Vec           zero;

  PetscFunctionBeginUser;
  PetscCheck(grid && grid->da, grid ? grid->comm : PETSC_COMM_SELF, PETSC_ERR_ARG_WRONGSTATE, "GFConvolutionCreate: the grid is not set up; call GFGridSetUp() first");
  fft_comm = grid->dim == 1 ? PETSC_COMM_SELF : grid->comm;
  for (PetscInt a = 0; a < grid->dim; a++) fftw_dims[grid->dim - 1 - a] = grid->bc == GF_BC_NOFLUX ? 2 * grid->cells[a] : grid->cells[a];
  PetscCall(GFSharedFFTGet(fft_comm, grid->comm, grid->dim, fftw_dims, &shared));
  PetscCall(PetscNew(&c));
  c->grid     = grid;
  c->dim      = grid->dim;
  c->shared   = shared;
  c->fft      = shared->fft;
  c->fft_in   = shared->in;
  c->fft_out  = shared->out;
  c->product  = shared->product;
  c->fft_back = shared->back;
  for (PetscInt a = 0; a < 3; a++) {
    c->cells[a]  = a < c->dim ? grid->cells[a] : 1;
    c->padded[a] = a < c->dim && grid->bc == GF_BC_NOFLUX ? 2 * c->cells[a] : c->cells[a];
    total *= c->padded[a];
  }
  c->scale = grid->cell_volume / total;
  PetscCallMPI(MPI_Comm_size(fft_comm, &fft_size));
  if (fft_size > c->padded[c->dim - 1]) PetscCall(PetscInfo(NULL, "%d ranks for %" PetscInt_FMT " FFT cells along the slab axis: some ranks hold empty FFTW slabs\n", fft_size, c->padded[c->dim - 1]));
  c->row_stride = fft_size == 1 ? c->padded[0] : 2 * (c->padded[0] / 2 + 1);
  PetscCall(DMDACreateNaturalVector(grid->da, &c->natural_in));
  PetscCall(VecDuplicate(c->natural_in, &c->natural_out));
  PetscCall(GFConvolutionCreateScatters(c));

  PetscCall(DMCreateGlobalVector(grid->da, &zero));
  PetscCall(VecZeroEntries(zero));
  PetscCall(DMDAGlobalToNaturalBegin(grid->da, zero, INSERT_VALUES, c->natural_in));
  PetscCall(DMDAGlobalToNaturalEnd(grid->da, zero, INSERT_VALUES, c->natural_in));
  PetscCall(VecScatterBegin(c->to_fftw, c->natural_in, c->fft_in, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(c->to_fftw, c->natural_in, c->fft_in, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterBegin(c->from_fftw, c->fft_back, c->natural_out, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(c->from_fftw, c->fft_back, c->natural_out, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(DMDANaturalToGlobalBegin(grid->da, c->natural_out, INSERT_VALUES, zero));
  PetscCall(DMDANaturalToGlobalEnd(grid->da, c->natural_out, INSERT_VALUES, zero));
  PetscCall(VecDestroy(&zero));
  *conv = c;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  Sample component comp of fn at every offset of the padded grid (each rank its part of the
  FFTW input), transform once and keep the transform scaled by h^d / prod(padded).
*/
PetscErrorCode GFConvolutionAddKernel(GFConvolution c, GFKernelCellAverageFn fn, PetscInt comp, void *ctx, PetscInt *id)
{
  GFConvolutionKernel *k;
  PetscInt             lo, hi;
  PetscScalar         *samples;

  PetscFunctionBeginUser;
  PetscCheck(fn, c->grid->comm, PETSC_ERR_ARG_NULL, "GFConvolutionAddKernel: the kernel function is NULL");
  PetscCheck(comp >= 0 && comp < GF_KERNEL_MAX_COMPONENTS, c->grid->comm, PETSC_ERR_ARG_OUTOFRANGE, "GFConvolutionAddKernel: component %" PetscInt_FMT " is not in [0, %d)", comp, GF_KERNEL_MAX_COMPONENTS);
  if (c->nkernels == c->capacity) {
    GFConvolutionKernel *grown;
    c->capacity = c->capacity ? 2 * c->capacity : 4;
    PetscCall(PetscCalloc1(c->capacity, &grown));
    if (c->nkernels) PetscCall(PetscArraycpy(grown, c->kernels, c->nkernels));
    PetscCall(PetscFree(c->kernels));
    c->kernels = grown;
  }
  k       = &c->kernels[c->nkernels];
  k->fn   = fn;
  k->comp = comp;
  k->ctx  = ctx;
  PetscCall(VecGetOwnershipRange(c->fft_in, &lo, &hi));
  PetscCall(VecGetArray(c->fft_in, &samples));
  for (PetscInt g = lo; g < hi; g++) {
    PetscInt  p[3];
    PetscReal value = 0;
    if (GFConvolutionDecode(c, g, p)) PetscCall(GFConvolutionSample(c, k, p, &value));
    samples[g - lo] = value;
  }
  PetscCall(VecRestoreArray(c->fft_in, &samples));
  PetscCall(MatMult(c->fft, c->fft_in, c->fft_out));
  PetscCall(VecDuplicate(c->fft_out, &k->transform));
  PetscCall(VecCopy(c->fft_out, k->transform));
  PetscCall(VecScale(k->transform, c->scale));
  *id = c->nkernels++;
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* product = a * b entrywise as complex numbers stored as (re, im) pairs of reals in FFTW's output layout. */
static PetscErrorCode GFConvolutionMultiply(Vec a, Vec b, Vec product)
{
  const PetscScalar *x, *y;
  PetscScalar       *z;
  PetscInt           n;

  PetscFunctionBeginUser;
  PetscCall(VecGetLocalSize(product, &n));
  PetscCall(VecGetArrayRead(a, &x));
  PetscCall(VecGetArrayRead(b, &y));
  PetscCall(VecGetArray(product, &z));
  for (PetscInt i = 0; i < n; i += 2) {
    const PetscReal re = x[i] * y[i] - x[i + 1] * y[i + 1], im = x[i] * y[i + 1] + x[i + 1] * y[i];
    z[i]     = re;
    z[i + 1] = im;
  }
  PetscCall(VecRestoreArray(product, &z));
  PetscCall(VecRestoreArrayRead(b, &y));
  PetscCall(VecRestoreArrayRead(a, &x));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Check a kernel id. */
static PetscErrorCode GFConvolutionCheckId(GFConvolution c, PetscInt id)
{
  PetscFunctionBeginUser;
  PetscCheck(id >= 0 && id < c->nkernels, c->grid->comm, PETSC_ERR_ARG_OUTOFRANGE, "GFConvolution: kernel id %" PetscInt_FMT " is not one of the %" PetscInt_FMT " added by GFConvolutionAddKernel()", id, c->nkernels);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Check that v has the size of a global vector of the grid. */
static PetscErrorCode GFConvolutionCheckVector(GFConvolution c, Vec v)
{
  PetscInt n;

  PetscFunctionBeginUser;
  PetscCall(VecGetSize(v, &n));
  PetscCheck(n == c->cells[0] * c->cells[1] * c->cells[2], c->grid->comm, PETSC_ERR_ARG_SIZ, "GFConvolution: vector of size %" PetscInt_FMT " on a grid of %" PetscInt_FMT " cells", n, c->cells[0] * c->cells[1] * c->cells[2]);
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  out[k] = h^d sum_j K^{ids[k]}_{i-j} in_j for k < n, with one forward transform of in and
  one inverse transform per kernel. out[k] may be in: in is read before any output is written.
*/
PetscErrorCode GFConvolutionApplyMany(GFConvolution c, PetscInt n, const PetscInt ids[], Vec in, Vec out[])
{
  DM da = c->grid->da;

  PetscFunctionBeginUser;
  PetscCall(GFConvolutionCheckVector(c, in));
  for (PetscInt k = 0; k < n; k++) {
    PetscCall(GFConvolutionCheckId(c, ids[k]));
    PetscCall(GFConvolutionCheckVector(c, out[k]));
  }
  if (n == 0) PetscFunctionReturn(PETSC_SUCCESS);
  PetscCall(DMDAGlobalToNaturalBegin(da, in, INSERT_VALUES, c->natural_in));
  PetscCall(DMDAGlobalToNaturalEnd(da, in, INSERT_VALUES, c->natural_in));
  PetscCall(VecZeroEntries(c->fft_in));
  PetscCall(VecScatterBegin(c->to_fftw, c->natural_in, c->fft_in, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(c->to_fftw, c->natural_in, c->fft_in, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(MatMult(c->fft, c->fft_in, c->fft_out));
  for (PetscInt k = 0; k < n; k++) {
    PetscCall(GFConvolutionMultiply(c->fft_out, c->kernels[ids[k]].transform, c->product));
    PetscCall(MatMultTranspose(c->fft, c->product, c->fft_back));
    PetscCall(VecScatterBegin(c->from_fftw, c->fft_back, c->natural_out, INSERT_VALUES, SCATTER_FORWARD));
    PetscCall(VecScatterEnd(c->from_fftw, c->fft_back, c->natural_out, INSERT_VALUES, SCATTER_FORWARD));
    PetscCall(DMDANaturalToGlobalBegin(da, c->natural_out, INSERT_VALUES, out[k]));
    PetscCall(DMDANaturalToGlobalEnd(da, c->natural_out, INSERT_VALUES, out[k]));
  }
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* out = h^d sum_j K^{id}_{i-j} in_j by FFT. */
PetscErrorCode GFConvolutionApply(GFConvolution c, PetscInt id, Vec in, Vec out)
{
  PetscFunctionBeginUser;
  PetscCall(GFConvolutionApplyMany(c, 1, &id, in, &out));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/*
  The same sum in O(N^2) without the FFT (the test oracle): every rank gathers in (natural
  order), tabulates K over all padded offsets with GFConvolutionSample and sums over all cells
  for its own ones, with padded offset (i - j) mod padded per axis.
*/
PetscErrorCode GFConvolutionApplyDirect(GFConvolution c, PetscInt id, Vec in, Vec out)
{
  DM                 da = c->grid->da;
  const PetscInt    *n = c->cells, *N = c->padded;
  VecScatter         gather;
  Vec                all;
  const PetscScalar *rho;
  PetscScalar       *result;
  PetscReal         *table;
  PetscInt           lo, hi;

  PetscFunctionBeginUser;
  PetscCall(GFConvolutionCheckId(c, id));
  PetscCall(GFConvolutionCheckVector(c, in));
  PetscCall(GFConvolutionCheckVector(c, out));
  PetscCall(DMDAGlobalToNaturalBegin(da, in, INSERT_VALUES, c->natural_in));
  PetscCall(DMDAGlobalToNaturalEnd(da, in, INSERT_VALUES, c->natural_in));
  PetscCall(VecScatterCreateToAll(c->natural_in, &gather, &all));
  PetscCall(VecScatterBegin(gather, c->natural_in, all, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(VecScatterEnd(gather, c->natural_in, all, INSERT_VALUES, SCATTER_FORWARD));
  PetscCall(PetscMalloc1(N[0] * N[1] * N[2], &table));
  for (PetscInt q = 0; q < N[0] * N[1] * N[2]; q++) {
    const PetscInt p[3] = {q % N[0], (q / N[0]) % N[1], q / (N[0] * N[1])};
    PetscCall(GFConvolutionSample(c, &c->kernels[id], p, &table[q]));
  }
  PetscCall(VecGetOwnershipRange(c->natural_out, &lo, &hi));
  PetscCall(VecGetArrayRead(all, &rho));
  PetscCall(VecGetArray(c->natural_out, &result));
  for (PetscInt i = lo; i < hi; i++) {
    const PetscInt ix = i % n[0], iy = (i / n[0]) % n[1], iz = i / (n[0] * n[1]);
    PetscReal      sum = 0;
    PetscInt       j   = 0;
    for (PetscInt jz = 0; jz < n[2]; jz++) {
      const PetscInt pz = (iz - jz + N[2]) % N[2];
      for (PetscInt jy = 0; jy < n[1]; jy++) {
        const PetscInt py = (iy - jy + N[1]) % N[1];
        for (PetscInt jx = 0; jx < n[0]; jx++, j++) sum += table[(ix - jx + N[0]) % N[0] + N[0] * (py + N[1] * pz)] * rho[j];
      }
    }
    result[i - lo] = c->grid->cell_volume * sum;
  }
  PetscCall(VecRestoreArray(c->natural_out, &result));
  PetscCall(VecRestoreArrayRead(all, &rho));
  PetscCall(DMDANaturalToGlobalBegin(da, c->natural_out, INSERT_VALUES, out));
  PetscCall(DMDANaturalToGlobalEnd(da, c->natural_out, INSERT_VALUES, out));
  PetscCall(PetscFree(table));
  PetscCall(VecDestroy(&all));
  PetscCall(VecScatterDestroy(&gather));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Free the kernels, scatters and work vectors, and release the shared FFT matrix. */
PetscErrorCode GFConvolutionDestroy(GFConvolution *conv)
{
  GFConvolution c;

  PetscFunctionBeginUser;
  if (!conv || !*conv) PetscFunctionReturn(PETSC_SUCCESS);
  c = *conv;
  for (PetscInt k = 0; k < c->nkernels; k++) PetscCall(VecDestroy(&c->kernels[k].transform));
  PetscCall(PetscFree(c->kernels));
  PetscCall(VecScatterDestroy(&c->to_fftw));
  PetscCall(VecScatterDestroy(&c->from_fftw));
  PetscCall(VecDestroy(&c->natural_in));
  PetscCall(VecDestroy(&c->natural_out));
  PetscCall(GFSharedFFTRelease(&c->shared));
  PetscCall(PetscFree(*conv));
  PetscFunctionReturn(PETSC_SUCCESS);
}

/* Nodes and weights of the n-point Gauss-Legendre rule on [-1/2, 1/2] (weights sum to 1), by Newton's method on P_n. */
static void GFGaussLegendre(PetscInt n, PetscReal node[], PetscReal weight[])
{
  for (PetscInt i = 0; i < (n + 1) / 2; i++) {
    PetscReal z = PetscCosReal(PETSC_PI * (i + 0.75) / (n + 0.5)), derivative = 1;
    for (PetscInt iteration = 0; iteration < 100; iteration++) {
      PetscReal p1 = 1, p2 = 0, step;
      for (PetscInt j = 1; j <= n; j++) {
        const PetscReal p3 = p2;
        p2                 = p1;
        p1                 = ((2 * j - 1) * z * p2 - (j - 1) * p3) / j;
      }
      derivative = n * (z * p1 - p2) / (z * z - 1);
      step       = p1 / derivative;
      z -= step;
      if (PetscAbsReal(step) < 1e-15) break;
    }
    node[i]           = -0.5 * z;
    node[n - 1 - i]   = 0.5 * z;
    weight[i]         = 1 / ((1 - z * z) * derivative * derivative);
    weight[n - 1 - i] = weight[i];
  }
}

/*
  Cell average of a pointwise kernel by the tensor Gauss-Legendre rule with points_per_axis
  nodes per axis: sum_q w_q k(x + h * node_q), exact for polynomials of degree 2 points - 1
  per axis. Returns NaN for points_per_axis outside [1, GF_GAUSS_MAX_POINTS] or dim outside [1, 3].
*/
PetscReal GFKernelCellAverageGauss(GFKernelPointFn k, PetscInt dim, const PetscReal x[], const PetscReal h[], PetscInt points_per_axis, void *ctx)
{
  PetscReal node[GF_GAUSS_MAX_POINTS], weight[GF_GAUSS_MAX_POINTS], y[3], sum = 0;
  PetscInt  total = 1;

  if (points_per_axis < 1 || points_per_axis > GF_GAUSS_MAX_POINTS || dim < 1 || dim > 3) return (PetscReal)NAN;
  GFGaussLegendre(points_per_axis, node, weight);
  for (PetscInt a = 0; a < dim; a++) total *= points_per_axis;
  for (PetscInt q = 0; q < total; q++) {
    PetscReal w = 1;
    PetscInt  r = q;
    for (PetscInt a = 0; a < dim; a++, r /= points_per_axis) {
      y[a] = x[a] + h[a] * node[r % points_per_axis];
      w *= weight[r % points_per_axis];
    }
    sum += w * k(dim, y, ctx);
  }
  return sum;
}
