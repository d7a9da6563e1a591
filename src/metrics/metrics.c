/* Relative L2 error and mean squared error (MATH.md §5). Sums are taken in
 * a fixed order with scaling (hypot-style) so that they neither overflow nor
 * depend on the thread count. */
#include "hamrf/metrics.h"

#include <math.h>

/* Scaled sum of squares: returns sqrt(Σ v_i²) without overflow (LAPACK dnrm2 style). */
static double scaled_norm(size_t n, const double *a, const double *b) {
    double scale = 0.0, ssq = 1.0;
    for (size_t i = 0; i < n; i++) {
        double v = fabs(b ? a[i] - b[i] : a[i]);
        if (v == 0.0) continue;
        if (scale < v) {
            ssq = 1.0 + ssq * (scale / v) * (scale / v);
            scale = v;
        } else {
            ssq += (v / scale) * (v / scale);
        }
    }
    return scale * sqrt(ssq);
}

double hrf_rel_l2(size_t n, const double *a, const double *b) {
    double num = scaled_norm(n, a, b), den = scaled_norm(n, b, NULL);
    return den > 0.0 ? num / den : num;
}

double hrf_mse(size_t n, const double *a, const double *b) {
    if (n == 0) return 0.0;
    double r = scaled_norm(n, a, b);
    return r * r / (double)n;
}
