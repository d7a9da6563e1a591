/* The clock, the available memory and the debug diagnostics (core/sysinfo.h). */
#include "core/sysinfo.h"

#include <stdarg.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>
#include <time.h>

void *hrf_alloc_big(size_t bytes) {
    if (bytes == 0) bytes = 1;
#ifdef MAP_POPULATE
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
                   -1, 0);
    return p == MAP_FAILED ? NULL : p;
#else
    return malloc(bytes);
#endif
}

void hrf_free_big(void *p, size_t bytes) {
    if (!p) return;
#ifdef MAP_POPULATE
    munmap(p, bytes ? bytes : 1);
#else
    (void)bytes;
    free(p);
#endif
}

double hrf_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* OpenBLAS maps one buffer of this size per thread on its first level-3
 * call (128 MiB in Debian's x86-64 build, seen with strace; the map is a
 * little larger). When the address-space limit leaves no room for it,
 * OpenBLAS's allocator (memory.c, blas_memory_alloc) retries for ever:
 * the process spins instead of failing. So the headroom under a limit keeps
 * this much per BLAS thread in reserve (docs/reliability.md). */
#define HRF_BLAS_BUFFER_BYTES ((size_t)130 << 20)

/* What a process needs beside the BLAS buffers to do anything useful. */
#define HRF_BLAS_WORK_MARGIN ((size_t)64 << 20)

int openblas_get_num_threads(void);

/* MemAvailable of /proc/meminfo in bytes, 0 if unknown. */
static size_t meminfo_available(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    size_t kb = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "MemAvailable: %zu kB", &kb) == 1) break;
    }
    fclose(f);
    return kb * 1024;
}

/* What the address-space and data limits (ulimit -v, ulimit -d) still let
 * this process map, less the BLAS reserve when `blas`; SIZE_MAX without
 * limits. */
static size_t rlimit_headroom(int blas) {
    size_t head = SIZE_MAX;
    struct rlimit as, data;
    int has_as = getrlimit(RLIMIT_AS, &as) == 0 && as.rlim_cur != RLIM_INFINITY;
    int has_data = getrlimit(RLIMIT_DATA, &data) == 0 && data.rlim_cur != RLIM_INFINITY;
    if (!has_as && !has_data) return head;
    unsigned long size = 0, resident, shared, text, lib, dat = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%lu %lu %lu %lu %lu %lu", &size, &resident, &shared, &text, &lib, &dat) != 6)
            size = dat = 0;
        fclose(f);
    }
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t used_as = (size_t)size * page, used_data = (size_t)dat * page;
    if (has_as) head = as.rlim_cur > used_as ? (size_t)as.rlim_cur - used_as : 0;
    if (has_data) {
        size_t h = data.rlim_cur > used_data ? (size_t)data.rlim_cur - used_data : 0;
        head = h < head ? h : head;
    }
    if (!blas) return head;
    int threads = openblas_get_num_threads();
    size_t reserve = HRF_BLAS_BUFFER_BYTES * (size_t)(threads > 0 ? threads : 1);
    return head > reserve ? head - reserve : 0;
}

int hrf_blas_threads_within_limits(void) {
    struct rlimit as, data;
    rlim_t lim = RLIM_INFINITY;
    if (getrlimit(RLIMIT_AS, &as) == 0) lim = as.rlim_cur;
    if (getrlimit(RLIMIT_DATA, &data) == 0 && data.rlim_cur < lim) lim = data.rlim_cur;
    if (lim == RLIM_INFINITY) return INT_MAX;
    unsigned long size = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%lu", &size) != 1) size = 0;
        fclose(f);
    }
    double room =
        (double)lim - (double)size * (double)sysconf(_SC_PAGESIZE) - (double)HRF_BLAS_WORK_MARGIN;
    double n = room / (double)HRF_BLAS_BUFFER_BYTES;
    return n < 0 ? 0 : n > INT_MAX ? INT_MAX : (int)n;
}

static size_t available(int blas) {
    size_t mem = meminfo_available(), head = rlimit_headroom(blas);
    if (head == SIZE_MAX) return mem;
    /* 1 byte, not 0: 0 means "unknown" to the callers. */
    if (mem == 0 || head < mem) return head ? head : 1;
    return mem;
}

size_t hrf_mem_available(void) {
    return available(0);
}

size_t hrf_mem_available_blas(void) {
    return available(1);
}

int hrf_debug_on(void) {
    return getenv("HAMRF_DEBUG") != NULL;
}

void hrf_debug(const char *fmt, ...) {
    if (!hrf_debug_on()) return;
    va_list ap;
    va_start(ap, fmt);
    fputs("[hamrf debug] ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}
