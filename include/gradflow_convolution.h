/* GFConvolution: FFT convolution on the distributed grid (see src/core/convolution.c). */
#ifndef GRADFLOW_CONVOLUTION_H
#define GRADFLOW_CONVOLUTION_H

#endif
