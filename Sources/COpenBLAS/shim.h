#ifndef BLASNET_COPENBLAS_SHIM_H
#define BLASNET_COPENBLAS_SHIM_H
// OpenBLAS's cblas.h (pkg-config name `openblas`, not netlib's `blas`: only OpenBLAS's header declares
// openblas_set_num_threads and openblas_get_config) and LAPACKE for the closed-form reference fit.
#include <cblas.h>
#include <lapacke.h>
#include <dlfcn.h>
#include <stdlib.h>

// Re-runs a DYNAMIC_ARCH OpenBLAS's choice of kernel family with OPENBLAS_CORETYPE=`family` for that one
// choice (the variable is restored to unset afterwards). OpenBLAS before 0.3.25 falls back to its SSE3
// "Prescott" kernels on an Intel model it does not know, whatever its vector units (OpenBLAS#4267, fixed
// by #4268); this is how blasnet gives such a CPU the family upstream now picks. It uses the library's
// own entry points, gotoblas_dynamic_quit and gotoblas_dynamic_init, looked up at run time because only
// DYNAMIC_ARCH builds export them. Returns 0 when they are missing (nothing changed), 1 otherwise.
// Invariant: call it once, before any BLAS call and while no other thread uses OpenBLAS: between the
// two calls the library has no kernel table.
static inline int blasnet_openblas_reselect_core(const char *family) {
    void *self = dlopen(NULL, RTLD_LAZY);
    if (!self) return 0;
    void (*quit)(void) = (void (*)(void))dlsym(self, "gotoblas_dynamic_quit");
    void (*init)(void) = (void (*)(void))dlsym(self, "gotoblas_dynamic_init");
    if (!quit || !init) { dlclose(self); return 0; }
    setenv("OPENBLAS_CORETYPE", family, 1);
    quit();
    init();
    unsetenv("OPENBLAS_CORETYPE");
    dlclose(self);
    return 1;
}

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
