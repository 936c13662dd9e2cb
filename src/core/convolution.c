/* GFConvolution: see include/gradflow_convolution.h. */
#include "../gradflow_impl.h"
