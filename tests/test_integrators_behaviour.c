/* Tests of the time integrators (src/integrators/, docs/math.md §8): the
 * registry and parameters, long-time energy behaviour, bad input and
 * failures, and batching. Orders, reversibility, adaptive rk45 and the cost
 * per step are tested in test_integrators_orders.c; the helpers both use are
 * in test_util_integrators.h.
 *
 * Independent references used here: conservation of H (bounded energy error
 * for symplectic schemes, drift for RK4); and per-state runs as reference for
 * batched runs. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hamrf/field.h"
#include "hamrf/integrators.h"
#include "hamrf/status.h"
#include "hamrf/systems.h"
#include "test_util_integrators.h"

/* Energy over 10^5 steps: a symplectic scheme has a bounded, oscillating
 * energy error, so the largest error in the last tenth is about the largest
 * in the first tenth (measured ratios ≈ 1.0); 2 allows for the phase of the
 * oscillation. RK4's error is a drift that grows linearly, so the last tenth
 * is up to ≈ 10 x the first (measured 7.8: the early maximum includes the
 * oscillating part of the error); requiring more than 5 separates the
 * two behaviours clearly. */
#define ENERGY_BOUND_RATIO 2.0
#define RK4_DRIFT_RATIO 5.0
#define ENERGY_STEPS 100000

/* ---- registry and parameters -------------------------------------------- */

static void test_registry(void **state) {
    (void)state;
    const char *names[] = {"symplectic_euler",
                           "symplectic_euler_p",
                           "leapfrog",
                           "yoshida4",
                           "midpoint",
                           "rk4",
                           "rk45"};
    const int orders[] = {1, 1, 2, 4, 2, 4, 5};
    const hrf_integrator_type *const *types = hrf_integrator_types();
    int n = 0;
    while (types[n])
        n++;
    assert_int_equal(n, 7);
    for (int i = 0; i < 7; i++) {
        const hrf_integrator_type *t = NULL;
        assert_int_equal(hrf_integrator_find(names[i], &t), HRF_OK);
        assert_ptr_equal(t, types[i]);
        assert_string_equal(t->name, names[i]);
        assert_int_equal(t->order, orders[i]);
        assert_non_null(t->description);
    }
    assert_true(hrf_integrator_leapfrog.needs_separable && hrf_integrator_yoshida4.needs_separable);
    assert_true(!hrf_integrator_midpoint.needs_separable && hrf_integrator_midpoint.implicit == 1);
    assert_int_equal(hrf_integrator_symplectic_euler.implicit, 2);
    assert_true(hrf_integrator_rk45.adaptive && !hrf_integrator_rk4.symplectic);

    const hrf_integrator_type *t = &hrf_integrator_rk4;
    hrf_clear_error();
    assert_int_equal(hrf_integrator_find("nope", &t), HRF_ENOTFOUND);
    assert_null(t);
    const char *msg = hrf_last_error();
    assert_non_null(strstr(msg, "'nope'"));
    for (int i = 0; i < 7; i++)
        assert_non_null(strstr(msg, names[i]));
    assert_int_equal(hrf_integrator_find(NULL, &t), HRF_EINVAL);
    assert_int_equal(hrf_integrator_find("rk4", NULL), HRF_EINVAL);
}

static void test_params_check(void **state) {
    (void)state;
    hrf_integrator_params p;
    hrf_integrator_params_default(&p);
    assert_null(hrf_integrator_params_check(&p));
    assert_true(p.solve_tol == 1e-14 && p.solve_max == 50 && p.fixed_point == 0);
    assert_true(p.rtol == 1e-10 && p.atol == 1e-12 && p.max_substeps == 100000000);

    const double bad_rtol[] = {0.0, -1e-8, NAN, INFINITY};
    for (int i = 0; i < 4; i++) {
        hrf_integrator_params q = p;
        q.rtol = bad_rtol[i];
        const char *m = hrf_integrator_params_check(&q);
        assert_non_null(m);
        assert_non_null(strstr(m, "rtol"));
    }
    const double bad_tol[] = {0.0, -1e-14, NAN};
    for (int i = 0; i < 3; i++) {
        hrf_integrator_params q = p;
        q.solve_tol = bad_tol[i];
        assert_non_null(strstr(hrf_integrator_params_check(&q), "solve_tol"));
    }
    hrf_integrator_params q = p;
    q.solve_max = 0;
    assert_non_null(strstr(hrf_integrator_params_check(&q), "solve_max"));
    q = p;
    q.atol = -1.0;
    assert_non_null(strstr(hrf_integrator_params_check(&q), "atol"));
    q = p;
    q.max_substeps = 0;
    assert_non_null(strstr(hrf_integrator_params_check(&q), "max_substeps"));
    assert_non_null(hrf_integrator_params_check(NULL));

    /* hrf_integrator_new applies the check */
    hrf_system sys;
    make_system("spring", &sys);
    hrf_field f;
    hrf_field_from_system(&f, &sys);
    hrf_integrator *it = (hrf_integrator *)&it;
    q = p;
    q.rtol = 0.0;
    hrf_clear_error();
    assert_int_equal(hrf_integrator_new(&hrf_integrator_rk45, &f, 1, &q, &it), HRF_EINVAL);
    assert_null(it);
    assert_non_null(strstr(hrf_last_error(), "rtol"));
    /* NULL parameters mean the defaults */
    assert_int_equal(hrf_integrator_new(&hrf_integrator_rk45, &f, 1, NULL, &it), HRF_OK);
    assert_ptr_equal(hrf_integrator_get_type(it), &hrf_integrator_rk45);
    hrf_integrator_free(it);
    hrf_integrator_free(NULL);
}

/* ---- 1. long-time energy behaviour ---------------------------------------- */

/* Largest |H − H0| over the first and over the last tenth of N steps. */
static void energy_profile(const hrf_integrator_type *t, double h, size_t N, double *first,
                           double *last, double *final_signed) {
    hrf_system sys;
    make_system("pendulum", &sys);
    hrf_field f;
    hrf_field_from_system(&f, &sys);
    hrf_integrator *it = make_integ(t, &f, 1, NULL);
    double x[2] = {1.0, 0.0}, H0, H;
    assert_int_equal(f.energy(f.ctx, 1, x, &H0), HRF_OK);
    *first = *last = 0.0;
    for (size_t s = 1; s <= N; s++) {
        if (hrf_integrator_step(it, h, 1, x) != HRF_OK)
            fail_msg("%s: step %zu: %s", t->name, s, hrf_last_error());
        assert_int_equal(f.energy(f.ctx, 1, x, &H), HRF_OK);
        const double dH = fabs(H - H0);
        if (s <= N / 10) *first = fmax(*first, dH);
        if (s > N - N / 10) *last = fmax(*last, dH);
        *final_signed = H - H0;
    }
    hrf_integrator_free(it);
}

static void test_energy_long_time(void **state) {
    (void)state;
    const hrf_integrator_type *symp[] = {
        &hrf_integrator_symplectic_euler, &hrf_integrator_symplectic_euler_p,
        &hrf_integrator_leapfrog, &hrf_integrator_yoshida4, &hrf_integrator_midpoint};
    const double h = 0.1;
    for (int k = 0; k < 5; k++) {
        double first, last, fin;
        energy_profile(symp[k], h, ENERGY_STEPS, &first, &last, &fin);
        print_message("  energy %-18s h = %g, %d steps: max|dH| first tenth %.3e, last tenth "
                      "%.3e (ratio %.2f)\n",
                      symp[k]->name, h, ENERGY_STEPS, first, last, last / first);
        assert_true(first > 0);
        if (!(last <= ENERGY_BOUND_RATIO * first))
            fail_msg("%s: energy error grew from %g to %g", symp[k]->name, first, last);
    }
    /* RK4 at h = 0.3 dissipates: H decreases steadily. */
    double first, last, fin;
    energy_profile(&hrf_integrator_rk4, 0.3, ENERGY_STEPS, &first, &last, &fin);
    print_message("  energy %-18s h = 0.3, %d steps: max|dH| first tenth %.3e, last tenth %.3e "
                  "(ratio %.2f), final dH %.3e\n",
                  "rk4", ENERGY_STEPS, first, last, last / first, fin);
    assert_true(fin < 0); /* dissipation, not a random walk */
    if (!(last > RK4_DRIFT_RATIO * first))
        fail_msg("rk4: energy error %g at the end is not clearly larger than %g early", last,
                 first);
}

/* ---- 2. bad input and failures -------------------------------------------- */

/* dq/dt = 1, dp/dt = 1/(q − 1) for q < 0.9 and NaN beyond (kind 0: a model
 * leaving its domain; the threshold sits between grid points so that
 * rounding of q cannot move the failure to another step); or
 * dq/dt = 1, dp/dt = p² (kind 1), whose solution p0/(1 − p0 t) blows up at
 * t = 1/p0. */
static int blowup_rhs(void *ctx, size_t n, const double *x, double *dx) {
    const int kind = *(const int *)ctx;
    for (size_t i = 0; i < n; i++) {
        dx[2 * i] = 1.0;
        dx[2 * i + 1] = kind == 0 ? (x[2 * i] < 0.9 ? 1.0 / (x[2 * i] - 1.0) : NAN)
                                  : x[2 * i + 1] * x[2 * i + 1];
    }
    return HRF_OK;
}

static void test_bad_input(void **state) {
    (void)state;
    hrf_system sys;
    make_system("double_pendulum", &sys);
    hrf_field dp;
    hrf_field_from_system(&dp, &sys);
    hrf_integrator *it = (hrf_integrator *)&it;

    /* explicit symplectic schemes refuse a non-separable field */
    const hrf_integrator_type *sep_only[] = {&hrf_integrator_leapfrog, &hrf_integrator_yoshida4};
    for (int k = 0; k < 2; k++) {
        hrf_clear_error();
        assert_int_equal(hrf_integrator_new(sep_only[k], &dp, 4, NULL, &it), HRF_EINVAL);
        assert_null(it);
        const char *msg = hrf_last_error();
        assert_non_null(strstr(msg, sep_only[k]->name));
        assert_non_null(strstr(msg, "separable"));
        assert_non_null(strstr(msg, "midpoint"));
    }
    assert_int_equal(hrf_integrator_new(NULL, &dp, 4, NULL, &it), HRF_EINVAL);
    assert_int_equal(hrf_integrator_new(&hrf_integrator_rk4, NULL, 4, NULL, &it), HRF_EINVAL);
    assert_int_equal(hrf_integrator_new(&hrf_integrator_rk4, &dp, 0, NULL, &it), HRF_EINVAL);
    assert_int_equal(hrf_integrator_new(&hrf_integrator_rk4, &dp, 4, NULL, NULL), HRF_EINVAL);
    hrf_integrator_type fake = hrf_integrator_rk4; /* a copy is not a registered scheme */
    assert_int_equal(hrf_integrator_new(&fake, &dp, 4, NULL, &it), HRF_EINVAL);
    hrf_field odd = dp;
    odd.dim = 3;
    assert_int_equal(hrf_integrator_new(&hrf_integrator_symplectic_euler, &odd, 4, NULL, &it),
                     HRF_EINVAL);

    /* h = 0 or non-finite, n > nmax: EINVAL, x untouched */
    const hrf_integrator_type *all[] = {&hrf_integrator_symplectic_euler, &hrf_integrator_midpoint,
                                        &hrf_integrator_rk4, &hrf_integrator_rk45};
    for (int k = 0; k < 4; k++) {
        it = make_integ(all[k], &dp, 2, NULL);
        double x[12] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.1, 0.1, 0.1, 0.1}, x0[12];
        memcpy(x0, x, sizeof x);
        const double bad_h[] = {0.0, NAN, INFINITY, -INFINITY};
        for (int b = 0; b < 4; b++) {
            size_t done = 99;
            hrf_clear_error();
            assert_int_equal(hrf_integrator_step(it, bad_h[b], 2, x), HRF_EINVAL);
            assert_non_null(strstr(hrf_last_error(), "h ="));
            assert_int_equal(hrf_integrator_advance(it, bad_h[b], 5, 2, x, &done), HRF_EINVAL);
            assert_int_equal(done, 0);
        }
        hrf_clear_error();
        assert_int_equal(hrf_integrator_step(it, 0.1, 3, x), HRF_EINVAL);
        assert_non_null(strstr(hrf_last_error(), "nmax"));
        assert_int_equal(hrf_integrator_advance(it, 0.1, 5, 3, x, NULL), HRF_EINVAL);
        assert_int_equal(hrf_integrator_step(it, 0.1, 2, NULL), HRF_EINVAL);
        assert_int_equal(hrf_integrator_step(NULL, 0.1, 2, x), HRF_EINVAL);
        assert_memory_equal(x, x0, sizeof x);
        /* nothing to do is fine */
        assert_int_equal(hrf_integrator_step(it, 0.1, 0, x), HRF_OK);
        assert_int_equal(hrf_integrator_advance(it, 0.1, 0, 2, x, NULL), HRF_OK);
        assert_memory_equal(x, x0, sizeof x);
        hrf_integrator_free(it);
    }
}

static void test_implicit_failure(void **state) {
    (void)state;
    hrf_system sys;
    make_system("pendulum", &sys);
    hrf_field f;
    hrf_field_from_system(&f, &sys);
    hrf_integrator_params p;
    hrf_integrator_params_default(&p);
    p.solve_max = 2;
    /* h = 1 from a large swing: Newton from the explicit Euler guess needs
     * more than two iterations to reach 1e-14 */
    hrf_integrator *it = make_integ(&hrf_integrator_midpoint, &f, 2, &p);
    double x[4] = {0.1, 0.0, 2.5, 0.5}, x0[4];
    memcpy(x0, x, sizeof x);
    size_t done = 99;
    hrf_clear_error();
    assert_int_equal(hrf_integrator_advance(it, 1.0, 3, 2, x, &done), HRF_ENUMERIC);
    const char *msg = hrf_last_error();
    print_message("  solve_max = 2: %s\n", msg);
    assert_non_null(strstr(msg, "midpoint"));
    assert_non_null(strstr(msg, "step 1"));
    assert_non_null(strstr(msg, "state 1"));
    assert_non_null(strstr(msg, "2 Newton iterations"));
    assert_non_null(strstr(msg, "smaller step"));
    assert_int_equal(done, 0);
    assert_memory_equal(x, x0, sizeof x);
    assert_int_equal(hrf_integrator_step(it, 1.0, 2, x), HRF_ENUMERIC);
    assert_memory_equal(x, x0, sizeof x);
    /* with the default 50 iterations it converges */
    hrf_integrator_free(it);
    it = make_integ(&hrf_integrator_midpoint, &f, 2, NULL);
    assert_int_equal(hrf_integrator_advance(it, 1.0, 3, 2, x, &done), HRF_OK);
    assert_int_equal(done, 3);
    hrf_integrator_stats st;
    hrf_integrator_stats_get(it, &st);
    assert_true(st.solve_iters_max > 2);
    hrf_integrator_free(it);

    /* fixed-point iteration diverges when h·L > 2 on the stiff f = 15 pendulum */
    assert_int_equal(hrf_system_set(&sys, "f", 15.0), HRF_OK);
    hrf_integrator_params_default(&p);
    p.fixed_point = 1;
    it = make_integ(&hrf_integrator_midpoint, &f, 1, &p);
    double y[2] = {0.2, 0.0};
    hrf_clear_error();
    const int rc = hrf_integrator_advance(it, 0.5, 2, 1, y, &done);
    assert_int_equal(rc, HRF_ENUMERIC);
    assert_non_null(strstr(hrf_last_error(), "step 1"));
    assert_true(y[0] == 0.2 && y[1] == 0.0);
    hrf_integrator_free(it);
}

static void test_nonfinite(void **state) {
    (void)state;
    int kind = 0;
    hrf_field f = {.dim = 2, .separable = 1, .ctx = &kind, .rhs = blowup_rhs};
    /* state 1 reaches q = 1 (dq/dt = 1, h = 1/4) at step 4, where the force
     * is NaN; state 0 stays far away */
    const hrf_integrator_type *types[] = {&hrf_integrator_leapfrog, &hrf_integrator_rk4,
                                          &hrf_integrator_symplectic_euler};
    for (int k = 0; k < 3; k++) {
        hrf_integrator *it = make_integ(types[k], &f, 2, NULL);
        double x[4] = {-10.0, 0.0, 0.0, 0.0};
        size_t done = 99;
        hrf_clear_error();
        assert_int_equal(hrf_integrator_advance(it, 0.25, 10, 2, x, &done), HRF_ENUMERIC);
        const char *msg = hrf_last_error();
        print_message("  %s: %s\n", types[k]->name, msg);
        assert_non_null(strstr(msg, "state 1"));
        assert_non_null(strstr(msg, "step 4"));
        assert_non_null(strstr(msg, "non-finite"));
        assert_int_equal(done, 3);
        for (int j = 0; j < 4; j++)
            assert_true(isfinite(x[j]));
        /* the states after step 3 */
        assert_true(fabs(x[0] + 9.25) < 1e-14 && fabs(x[2] - 0.75) < 1e-14);
        /* step() leaves x unchanged on the same failure */
        double y[4];
        memcpy(y, x, sizeof y);
        assert_int_equal(hrf_integrator_step(it, 0.25, 2, y), HRF_ENUMERIC);
        assert_memory_equal(x, y, sizeof y);
        hrf_integrator_free(it);
    }

    /* rk45 adaptive towards the blow-up of p' = p² at t = 1: the step size
     * collapses and advance stops with the states at the last accepted step */
    kind = 1;
    f.separable = 0;
    hrf_integrator *it = make_integ(&hrf_integrator_rk45, &f, 1, NULL);
    double x[2] = {0.0, 1.0};
    size_t done = 0;
    hrf_clear_error();
    assert_int_equal(hrf_integrator_advance(it, 0.5, 4, 1, x, &done), HRF_ENUMERIC);
    print_message("  rk45: %s\n", hrf_last_error());
    assert_non_null(strstr(hrf_last_error(), "rk45"));
    hrf_integrator_stats st;
    hrf_integrator_stats_get(it, &st);
    assert_true(done > 0 && done == st.steps);
    assert_true(isfinite(x[0]) && isfinite(x[1]));
    assert_true(x[0] < 1.0 && x[0] > 0.99); /* got close to the singularity */
    hrf_integrator_free(it);
}

/* ---- 3. batching ----------------------------------------------------------- */

static void test_batch_matches_single(void **state) {
    (void)state;
    enum { NB = 3 };
    const struct {
        const char *system;
        double x0[NB * 4];
    } fields[] = {
        {"henon_heiles", {0.1, -0.2, 0.3, 0.05, -0.25, 0.1, 0.0, 0.2, 0.3, 0.3, -0.1, -0.2}},
        {"double_pendulum", {0.5, -0.3, 0.2, 0.1, 1.0, 0.5, -0.4, 0.3, -2.0, 1.5, 0.8, -0.6}},
    };
    const hrf_integrator_type *const *types = hrf_integrator_types();
    const double h = 0.05;
    const size_t N = 20;
    for (int fi = 0; fi < 2; fi++) {
        hrf_system sys;
        make_system(fields[fi].system, &sys);
        hrf_field f;
        hrf_field_from_system(&f, &sys);
        for (int t = 0; types[t]; t++) {
            if (types[t]->needs_separable && !f.separable) continue;
            const int use_step = types[t]->adaptive; /* rk45: fixed steps by step() */
            hrf_integrator *it = make_integ(types[t], &f, NB, NULL);
            double xb[NB * 4], xs[NB * 4], xstep[NB * 4];
            memcpy(xb, fields[fi].x0, sizeof xb);
            memcpy(xs, fields[fi].x0, sizeof xs);
            memcpy(xstep, fields[fi].x0, sizeof xstep);
            run_steps(it, h, N, NB, xb, use_step);
            for (int i = 0; i < NB; i++)
                run_steps(it, h, N, 1, xs + 4 * i, use_step);
            if (memcmp(xb, xs, sizeof xb) != 0)
                fail_msg("%s on %s: batch differs from single states by %g", types[t]->name,
                         fields[fi].system, max_abs_diff(NB * 4, xb, xs));
            /* advance() (reusing forces) equals repeated step() */
            run_steps(it, h, N, NB, xstep, 1);
            if (memcmp(xb, xstep, sizeof xb) != 0)
                fail_msg("%s on %s: advance differs from repeated step by %g", types[t]->name,
                         fields[fi].system, max_abs_diff(NB * 4, xb, xstep));
            hrf_integrator_free(it);
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_params_check),
        cmocka_unit_test(test_energy_long_time),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_implicit_failure),
        cmocka_unit_test(test_nonfinite),
        cmocka_unit_test(test_batch_matches_single),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
