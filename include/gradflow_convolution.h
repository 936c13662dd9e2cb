/* GFConvolution: FFT convolution on the distributed grid (see src/core/convolution.c). */
#ifndef GRADFLOW_CONVOLUTION_H
#define GRADFLOW_CONVOLUTION_H

#include <petscdmda.h>

/* Repeated from gradflow.h (identical typedefs are valid C11) so that this header stands alone. */
typedef struct _p_GFGrid *GFGrid;

/* Discrete convolution out_i = h^d sum_j K_{i-j} rho_j on a GFGrid, by FFT: plan once, apply many. */
typedef struct _p_GFConvolution *GFConvolution;

/* Most components a GFKernelCellAverageFn may write into values[]. */
#define GF_KERNEL_MAX_COMPONENTS 16

/* Most Gauss-Legendre points per axis GFKernelCellAverageGauss accepts. */
#define GF_GAUSS_MAX_POINTS 32

/*
  Cell average of a kernel over the cell of size h[] centred at offset x[] (x = m h):
  values[c] = (1/|cell|) int_cell K_c(y) dy for c = 0 .. ncomp-1, ncomp <= GF_KERNEL_MAX_COMPONENTS.
*/
typedef PetscErrorCode (*GFKernelCellAverageFn)(PetscInt dim, const PetscReal x[], const PetscReal h[], PetscReal values[], void *ctx);

/* A pointwise kernel K(x). */
typedef PetscReal (*GFKernelPointFn)(PetscInt dim, const PetscReal x[], void *ctx);

/*
  Plans the FFT for the grid's size and walls (zero-padded to 2n per axis for no-flux, n for
  periodic). The grid must be set up and outlive the convolution. All live GFConvolutions
  share one MATFFTW, so they must need the same FFT size (else PETSC_ERR_SUP).
*/
PETSC_EXTERN PetscErrorCode GFConvolutionCreate(GFGrid grid, GFConvolution *conv);
/* Samples component comp of fn at every offset, transforms once, returns a kernel id (0, 1, ...); ctx must outlive the convolution. */
PETSC_EXTERN PetscErrorCode GFConvolutionAddKernel(GFConvolution conv, GFKernelCellAverageFn fn, PetscInt comp, void *ctx, PetscInt *id);
/* out = K_id * in; in and out are global vectors of the grid's DMDA, out may be in. */
PETSC_EXTERN PetscErrorCode GFConvolutionApply(GFConvolution conv, PetscInt id, Vec in, Vec out);
/* out[k] = K_ids[k] * in for k < n: one forward transform, n inverse ones. */
PETSC_EXTERN PetscErrorCode GFConvolutionApplyMany(GFConvolution conv, PetscInt n, const PetscInt ids[], Vec in, Vec out[]);
/* The same sum in O(N^2) with the same kernel samples, no FFT: the test oracle (gathers in on every rank). */
PETSC_EXTERN PetscErrorCode GFConvolutionApplyDirect(GFConvolution conv, PetscInt id, Vec in, Vec out);
PETSC_EXTERN PetscErrorCode GFConvolutionDestroy(GFConvolution *conv);

/* Tensor Gauss-Legendre cell average of a pointwise kernel (for smooth kernels); NaN for a bad points_per_axis or dim. */
PETSC_EXTERN PetscReal GFKernelCellAverageGauss(GFKernelPointFn k, PetscInt dim, const PetscReal x[], const PetscReal h[], PetscInt points_per_axis, void *ctx);

#endif
