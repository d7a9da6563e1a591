/* An activation without a vectorised σ'' (σ = sin, σ'' from d2 entry by
 * entry), for the gradient-trained baselines' general path (test_baseline.c,
 * test_gd_hgn.c). Static, one copy per test executable. */
#ifndef HAMRF_TEST_UTIL_ACT_H
#define HAMRF_TEST_UTIL_ACT_H

#include <math.h>
#include <stddef.h>

#include "hamrf/activation.h"

static void sin_eval(size_t n, const double *z, double *s, double *ds) {
    for (size_t i = 0; i < n; i++) {
        if (s) s[i] = sin(z[i]);
        if (ds) ds[i] = cos(z[i]);
    }
}
static double sin_d2(double z) {
    return -sin(z);
}
static const hrf_activation act_sin = {
    .name = "sin", .eval = sin_eval, .d2 = sin_d2, .s1 = 1.0, .s2 = 0.5};

#endif
