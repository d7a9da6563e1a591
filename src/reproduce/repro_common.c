/* What every experiment file shares (reproduce/repro_impl.h). */
#include "reproduce/repro_impl.h"

#include <stdarg.h>
#include <stdio.h>

void repro_progress(const hrf_repro_params *p, const char *fmt, ...) {
    if (!p->progress) return;
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    p->progress(p->user, buf);
}
