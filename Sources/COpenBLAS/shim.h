#ifndef BLASNET_COPENBLAS_SHIM_H
#define BLASNET_COPENBLAS_SHIM_H
// OpenBLAS's cblas.h (pkg-config name `openblas`, not netlib's `blas`: only OpenBLAS's header declares
// openblas_set_num_threads and openblas_get_config) and LAPACKE for the closed-form reference fit.
#include <cblas.h>
#include <lapacke.h>
#endif
