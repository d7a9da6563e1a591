/* Helpers shared by test_integrators_orders.c and
 * test_integrators_behaviour.c; static, so each test executable has its own
 * copy. */
#ifndef HAMRF_TESTS_TEST_UTIL_INTEGRATORS_H
#define HAMRF_TESTS_TEST_UTIL_INTEGRATORS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "hamrf/field.h"
#include "hamrf/integrators.h"
#include "hamrf/status.h"
#include "hamrf/systems.h"

/* ---- helpers ------------------------------------------------------------- */

static void make_system(const char *name, hrf_system *sys) {
    const hrf_system_type *t = NULL;
    assert_int_equal(hrf_system_find(name, &t), HRF_OK);
    hrf_system_init(sys, t);
}

static hrf_integrator *make_integ(const hrf_integrator_type *t, const hrf_field *f, size_t nmax,
                                  const hrf_integrator_params *p) {
    hrf_integrator *it = NULL;
    int rc = hrf_integrator_new(t, f, nmax, p, &it);
    if (rc != HRF_OK) fail_msg("%s: hrf_integrator_new: %s", t->name, hrf_last_error());
    assert_non_null(it);
    return it;
}

/* N fixed steps, by advance() or by N calls of step(). */
static void run_steps(hrf_integrator *it, double h, size_t N, size_t n, double *x, int use_step) {
    const char *name = hrf_integrator_get_type(it)->name;
    if (use_step) {
        for (size_t s = 0; s < N; s++)
            if (hrf_integrator_step(it, h, n, x) != HRF_OK)
                fail_msg("%s: step %zu failed: %s", name, s + 1, hrf_last_error());
        return;
    }
    size_t done = 0;
    if (hrf_integrator_advance(it, h, N, n, x, &done) != HRF_OK)
        fail_msg("%s: advance failed: %s", name, hrf_last_error());
    assert_int_equal(done, N);
}

static double max_abs_diff(size_t m, const double *a, const double *b) {
    double e = 0.0;
    for (size_t j = 0; j < m; j++)
        e = fmax(e, fabs(a[j] - b[j]));
    return e;
}

#endif
