/* Private core helpers every layer may use: the clock, the available
 * memory, and the HAMRF_DEBUG diagnostics (docs/architecture.md). */
#ifndef HAMRF_SRC_SYSINFO_H
#define HAMRF_SRC_SYSINFO_H

#include <stddef.h>

/* Seconds on the monotonic clock (for durations). */
double hrf_now(void);

/* Bytes of memory available to this process: MemAvailable of
 * /proc/meminfo, or less when an address-space or data limit (ulimit -v,
 * ulimit -d) leaves less room; 0 if unknown. */
size_t hrf_mem_available(void);
/* The same for work that calls level-3 BLAS / LAPACK (the fits, the
 * solvers): under a limit it also keeps OpenBLAS's per-thread buffers in
 * reserve, since OpenBLAS spins for ever when it cannot map one. */
size_t hrf_mem_available_blas(void);
/* How many OpenBLAS threads' buffers (with some room for the work besides)
 * the address-space and data limits leave room for: INT_MAX without
 * limits. Each OpenBLAS worker thread maps its buffer when it starts (at
 * load time) and retries for ever when it cannot, so a program under a tight
 * `ulimit -v` must start with fewer BLAS threads (the tool re-executes
 * itself with OPENBLAS_NUM_THREADS=1; docs/reliability.md). */
int hrf_blas_threads_within_limits(void);

/* A large work array, its pages mapped and zeroed at once (MAP_POPULATE:
 * one pass in the kernel instead of one page fault per 4 KiB on first
 * touch; where the system has no MAP_POPULATE, plain uninitialised malloc
 * memory), or NULL when out of memory; bytes = 0 gives a valid (minimal)
 * array, as malloc(0) may. Freed with hrf_free_big(p, bytes), same bytes. */
void *hrf_alloc_big(size_t bytes);
void hrf_free_big(void *p, size_t bytes);

/* 1 when the environment variable HAMRF_DEBUG is set. */
int hrf_debug_on(void);
/* With HAMRF_DEBUG set: "[hamrf debug] <message>\n" on stderr; else nothing. */
void hrf_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
