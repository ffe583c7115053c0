#ifndef BLASNET_COPENBLAS_SHIM_H
#define BLASNET_COPENBLAS_SHIM_H
// OpenBLAS's cblas.h (pkg-config name `openblas`, not netlib's `blas`: only OpenBLAS's header declares
// openblas_set_num_threads and openblas_get_config) and LAPACKE for the closed-form reference fit.
#include <cblas.h>
#include <lapacke.h>

// A spin-wait hint for blasnet's worker pool (x86 PAUSE): a thread polling a flag lets the other
// hardware thread of its core run, and leaves the loop without a memory-order stall. Not OpenBLAS's,
// but this is the core's one C header.
static inline void blasnet_spin_hint(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

// A prefetch hint for the trainer's batch gathering: asks for the cache line at `address` ahead of use.
static inline void blasnet_prefetch(const void *address) {
    __builtin_prefetch(address, 0, 3);
}
#endif
