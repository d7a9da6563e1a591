/* Error metrics (MATH.md §5). */
#ifndef HAMRF_METRICS_H
#define HAMRF_METRICS_H

#include <stddef.h>

/* ‖a − b‖₂ / ‖b‖₂ over n entries (b is the reference); ‖a − b‖₂ if ‖b‖₂ = 0. */
double hrf_rel_l2(size_t n, const double *a, const double *b);
/* mean of (a − b)² over n entries. */
double hrf_mse(size_t n, const double *a, const double *b);

#endif
