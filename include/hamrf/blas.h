/* BLAS configuration helpers.
 *
 * Debian's OpenBLAS 0.3.21 is built with DYNAMIC_ARCH and picks its kernels
 * from the CPU model; processors newer than it knows (e.g. Sapphire Rapids)
 * fall back to the generic "Prescott" kernels, 5x slower for DGEMM. The
 * choice is read from OPENBLAS_CORETYPE when the library loads, so only a
 * program's start can fix it: hrf_blas_suggest_coretype() names the kernel
 * set the CPU supports when OpenBLAS chose a weaker one, and the hamrf tool
 * re-executes itself once with OPENBLAS_CORETYPE set (docs/architecture.md). */
#ifndef HAMRF_BLAS_H
#define HAMRF_BLAS_H

#include "hamrf/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* "SkylakeX" (AVX-512), "Haswell" (AVX2+FMA) or NULL if OpenBLAS already uses
 * a kernel set at least as good, or OPENBLAS_CORETYPE is set. */
HRF_API const char *hrf_blas_suggest_coretype(void);

/* The kernel set OpenBLAS is using (openblas_get_corename). */
HRF_API const char *hrf_blas_corename(void);

#ifdef __cplusplus
}
#endif

#endif
