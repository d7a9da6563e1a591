/* The clock, the available memory and the debug diagnostics (core/sysinfo.h). */
#include "core/sysinfo.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

double hrf_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

size_t hrf_mem_available(void) {
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
