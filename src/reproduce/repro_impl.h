/* Private to src/reproduce: what every experiment file shares. */
#ifndef HAMRF_SRC_REPRO_IMPL_H
#define HAMRF_SRC_REPRO_IMPL_H

#include "hamrf/reproduce.h"

/* A progress line through the caller's callback (p->progress; nothing when NULL),
 * formatted like printf and cut at 255 characters. */
void repro_progress(const hrf_repro_params *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
