/* Tests of the time integrators (src/integrators/, docs/math.md §8).
 *
 * Independent references used here: the exact solution of the harmonic
 * oscillator (q = q0 cos t + p0 sin t, p = −q0 sin t + p0 cos t for
 * k = m = 1); the measured order of convergence against the classical order
 * of each scheme; a tight adaptive Dormand–Prince solution as reference for
 * the non-separable double pendulum (itself checked against the exact
 * oscillator); time reversibility of the symmetric schemes; conservation of H
 * (bounded energy error for symplectic schemes, drift for RK4); the analytic
 * Jacobian of the pendulum for the finite-difference Jacobian; and per-state
 * runs as reference for batched runs. */
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

/* Measured slopes log2(e(h)/e(h/2)) must be within ±0.2 of the classical
 * order: with steps in the asymptotic regime and errors far above roundoff
 * the measured slopes are within ±0.1 of it, except rk45's 5.16 on its
 * coarsest pair (higher-order terms at h = 0.2); a wrong coefficient drops a
 * scheme by a whole order. */
#define ORDER_TOL 0.2

/* Forward N steps with h then N steps with −h. Leapfrog and Yoshida are
 * symmetric in exact arithmetic: the return error is roundoff, ≈ N·1e-16
 * ≈ 1e-14 for N = 100. The midpoint rule is symmetric up to its implicit
 * solves, which stop at ‖Δ‖ ≤ 1e-14(1 + ‖x‖) with the true error far below
 * (Newton converges quadratically). 1e-12 leaves a factor ~100, while a
 * non-symmetric scheme (symplectic Euler, checked as a control) misses by
 * O(N h²) ≈ 1e-1. */
#define REVERSE_TOL 1e-12
#define REVERSE_CONTROL_MIN 1e-6

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

/* Adaptive rk45 with rtol 1e-12, atol 1e-14 over t = 10 of the oscillator:
 * local errors ≲ 1e-12·|x| over ≈ 900 steps, measured 5.5e-13 at t = 10;
 * 1e-10 leaves a factor ~200 for other platforms' rounding. */
#define RK45_EXACT_TOL 1e-10
/* Steps needed at tolerance 1e-11 over those at 1e-6: 10 for a fifth-order
 * local error estimate (measured 9.7); an estimate of order 4 or 6 gives
 * 10^(5/4) ≈ 18 or 10^(5/6) ≈ 6.8, a lower order far more. */
#define RK45_STEP_RATIO_LO 8.0
#define RK45_STEP_RATIO_HI 12.5

/* The central-difference Jacobian (relative step 2^-20) against the analytic
 * pendulum Jacobian: truncation ≈ 1e-13, rounding ≈ 2e-10·|f| with |f| ≤ 3;
 * 1e-8 leaves a factor ~10, a wrong column or sign is O(1). */
#define FD_JAC_TOL 1e-8

/* Newton and fixed-point iteration, or the analytic and finite-difference
 * Jacobian, solve the same implicit equation to ‖Δ‖ ≤ 1e-14(1 + ‖x‖) per
 * step; over 20 steps the results differ by far less than 1e-12. */
#define SAME_SOLVE_TOL 1e-12

/* Newton from the explicit Euler guess (error O(h²) ≈ 1e-3) converges
 * quadratically: ≈ 1e-6, 1e-12, then an update below 1e-14 confirms it, so
 * 3-4 iterations; a wrong Jacobian block degrades it to a linear rate and
 * needs many more (fixed-point iteration, for comparison, takes ≈ 6-8). */
#define NEWTON_ITERS_MAX 4

#define MAXDIM 8

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

/* ---- the field of a system and its finite-difference Jacobian ----------- */

static void test_field_and_fd_jacobian(void **state) {
    (void)state;
    hrf_system sys;
    make_system("pendulum", &sys);
    hrf_field f;
    hrf_field_from_system(&f, &sys);
    assert_int_equal(f.dim, 2);
    assert_int_equal(f.separable, 1);
    assert_int_equal(f.hamiltonian, 1);
    assert_non_null(f.rhs);
    assert_non_null(f.energy);
    assert_null(f.jac);

    /* pendulum (m = l = g = f = 1): f = (p, −sin q), J = [[0, 1], [−cos q, 0]] */
    enum { N = 4 };
    const double x[N * 2] = {0.3, -0.7, 2.5, 0.4, -1.2, 0.9, 5.0, -0.1};
    double jac[N * 4], work[2 * N * 2], dx[N * 2], H[N];
    assert_int_equal(hrf_field_jac_fd(&f, N, x, jac, work), HRF_OK);
    assert_int_equal(f.rhs(f.ctx, N, x, dx), HRF_OK);
    assert_int_equal(f.energy(f.ctx, N, x, H), HRF_OK);
    for (int i = 0; i < N; i++) {
        const double q = x[2 * i], p = x[2 * i + 1];
        const double ref[4] = {0.0, 1.0, -cos(q), 0.0};
        for (int a = 0; a < 4; a++)
            if (fabs(jac[4 * i + a] - ref[a]) > FD_JAC_TOL)
                fail_msg("state %d entry %d: fd %.15g analytic %.15g", i, a, jac[4 * i + a],
                         ref[a]);
        assert_true(dx[2 * i] == p && dx[2 * i + 1] == -sin(q));
        assert_true(fabs(H[i] - (0.5 * p * p + 1.0 - cos(q))) < 1e-15);
    }

    /* double pendulum: not separable */
    make_system("double_pendulum", &sys);
    hrf_field_from_system(&f, &sys);
    assert_int_equal(f.dim, 4);
    assert_int_equal(f.separable, 0);
}

/* ---- 1. convergence orders on the harmonic oscillator -------------------- */

#define SPRING_T 1.0
enum { SPRING_N = 2 };
static const double spring_x0[SPRING_N * 2] = {0.6, -0.3, -0.2, 0.9};

static void spring_exact(double t, double *x) {
    for (int i = 0; i < SPRING_N; i++) {
        const double q0 = spring_x0[2 * i], p0 = spring_x0[2 * i + 1];
        x[2 * i] = q0 * cos(t) + p0 * sin(t);
        x[2 * i + 1] = -q0 * sin(t) + p0 * cos(t);
    }
}

static double spring_error(const hrf_integrator_type *t, double h, int use_step) {
    hrf_system sys;
    make_system("spring", &sys);
    hrf_field f;
    hrf_field_from_system(&f, &sys);
    hrf_integrator *it = make_integ(t, &f, SPRING_N, NULL);
    const size_t N = (size_t)lround(SPRING_T / h);
    double x[SPRING_N * 2], ex[SPRING_N * 2];
    memcpy(x, spring_x0, sizeof x);
    run_steps(it, h, N, SPRING_N, x, use_step);
    hrf_integrator_free(it);
    spring_exact((double)N * h, ex);
    return max_abs_diff(SPRING_N * 2, x, ex);
}

/* Errors at h0, h0/2, h0/4 and the two slopes. */
static void check_order(const char *what, const double e[3], int order) {
    const double s1 = log2(e[0] / e[1]), s2 = log2(e[1] / e[2]);
    print_message("  %-34s errors %.3e %.3e %.3e  slopes %.3f %.3f (order %d)\n", what, e[0], e[1],
                  e[2], s1, s2, order);
    if (!(fabs(s1 - order) <= ORDER_TOL && fabs(s2 - order) <= ORDER_TOL))
        fail_msg("%s: measured slopes %.3f, %.3f, expected %d +- %.1f", what, s1, s2, order,
                 ORDER_TOL);
}

static void test_order_spring(void **state) {
    (void)state;
    /* h0 chosen so that the finest error stays far above roundoff (≥ 1e-11
     * for the order-4 and -5 schemes) and the coarsest is asymptotic. */
    const struct {
        const hrf_integrator_type *t;
        double h0;
        int use_step;
    } cases[] = {
        {&hrf_integrator_symplectic_euler, 0.1, 0},
        {&hrf_integrator_symplectic_euler_p, 0.1, 0},
        {&hrf_integrator_leapfrog, 0.1, 0},
        {&hrf_integrator_yoshida4, 0.2, 0},
        {&hrf_integrator_midpoint, 0.1, 0},
        {&hrf_integrator_rk4, 0.2, 0},
        {&hrf_integrator_rk45, 0.2, 1}, /* fixed steps of the 5th-order solution */
    };
    print_message("spring (k = m = 1) at T = %g against the exact solution:\n", SPRING_T);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double e[3];
        for (int k = 0; k < 3; k++)
            e[k] = spring_error(cases[c].t, cases[c].h0 / (1 << k), cases[c].use_step);
        char what[64];
        snprintf(what, sizeof what, "%s (h = %g..%g)", cases[c].t->name, cases[c].h0,
                 cases[c].h0 / 4);
        check_order(what, e, cases[c].t->order);
    }
}

/* ---- 2. orders on the non-separable double pendulum ---------------------- */

enum { DP_N = 2 };
static const double dp_x0[DP_N * 4] = {0.5, -0.3, 0.2, 0.1, 1.0, 0.5, -0.4, 0.3};

static void dp_reference(const hrf_field *f, double T, double *x) {
    hrf_integrator_params p;
    hrf_integrator_params_default(&p);
    p.rtol = 1e-13;
    p.atol = 1e-13;
    hrf_integrator *it = make_integ(&hrf_integrator_rk45, f, DP_N, &p);
    memcpy(x, dp_x0, sizeof dp_x0);
    size_t done = 0;
    if (hrf_integrator_advance(it, T, 1, DP_N, x, &done) != HRF_OK)
        fail_msg("rk45 reference: %s", hrf_last_error());
    hrf_integrator_free(it);
}

static void test_order_double_pendulum(void **state) {
    (void)state;
    hrf_system sys;
    make_system("double_pendulum", &sys);
    hrf_field f;
    hrf_field_from_system(&f, &sys);
    const double T = 1.0, h0 = 0.04;
    double ref[DP_N * 4];
    dp_reference(&f, T, ref);
    hrf_integrator_params newton, fixed;
    hrf_integrator_params_default(&newton);
    fixed = newton;
    fixed.fixed_point = 1;
    const struct {
        const hrf_integrator_type *t;
        const hrf_integrator_params *p;
        const char *how;
    } cases[] = {
        {&hrf_integrator_symplectic_euler, &newton, "Newton"},
        {&hrf_integrator_symplectic_euler, &fixed, "fixed point"},
        {&hrf_integrator_symplectic_euler_p, &newton, "Newton"},
        {&hrf_integrator_midpoint, &newton, "Newton"},
        {&hrf_integrator_midpoint, &fixed, "fixed point"},
    };
    print_message("double pendulum at T = %g against rk45 (rtol 1e-13):\n", T);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        double e[3];
        for (int k = 0; k < 3; k++) {
            const double h = h0 / (1 << k);
            const size_t N = (size_t)lround(T / h);
            hrf_integrator *it = make_integ(cases[c].t, &f, DP_N, cases[c].p);
            double x[DP_N * 4];
            memcpy(x, dp_x0, sizeof x);
            run_steps(it, h, N, DP_N, x, 0);
            hrf_integrator_stats st;
            hrf_integrator_stats_get(it, &st);
            assert_int_equal(st.steps, N);
            assert_true(st.solve_iters >= N && st.solve_iters_max >= 2);
            if (cases[c].p->fixed_point) {
                assert_int_equal(st.jac_evals, 0);
            } else {
                assert_int_equal(st.jac_evals, st.solve_iters);
                if (st.solve_iters_max > NEWTON_ITERS_MAX)
                    fail_msg("%s: Newton needed %d iterations at h = %g", cases[c].t->name,
                             st.solve_iters_max, h);
            }
            if (k == 2)
                print_message("  %s, %s, h = %g: %.2f iterations per step, at most %d\n",
                              cases[c].t->name, cases[c].how, h, (double)st.solve_iters / (double)N,
                              st.solve_iters_max);
            hrf_integrator_free(it);
            e[k] = max_abs_diff(DP_N * 4, x, ref);
        }
        char what[64];
        snprintf(what, sizeof what, "%s, %s (h = %g..%g)", cases[c].t->name, cases[c].how, h0,
                 h0 / 4);
        check_order(what, e, cases[c].t->order);
    }
}

/* Newton with the analytic Jacobian, Newton with finite differences and
 * fixed-point iteration solve the same equations. */
static int pendulum_rhs(void *ctx, size_t n, const double *x, double *dx) {
    (void)ctx;
    for (size_t i = 0; i < n; i++) {
        dx[2 * i] = x[2 * i + 1];
        dx[2 * i + 1] = -sin(x[2 * i]);
    }
    return HRF_OK;
}

static int pendulum_jac(void *ctx, size_t n, const double *x, double *J) {
    (void)ctx;
    for (size_t i = 0; i < n; i++) {
        J[4 * i] = 0.0, J[4 * i + 1] = 1.0;
        J[4 * i + 2] = -cos(x[2 * i]), J[4 * i + 3] = 0.0;
    }
    return HRF_OK;
}

static void test_implicit_solvers_agree(void **state) {
    (void)state;
    hrf_field fa = {.dim = 2, .separable = 0, .rhs = pendulum_rhs, .jac = pendulum_jac};
    hrf_field ffd = fa;
    ffd.jac = NULL;
    hrf_integrator_params fixed;
    hrf_integrator_params_default(&fixed);
    fixed.fixed_point = 1;
    const hrf_integrator_type *types[] = {&hrf_integrator_midpoint,
                                          &hrf_integrator_symplectic_euler,
                                          &hrf_integrator_symplectic_euler_p};
    for (int t = 0; t < 3; t++) {
        double xa[4] = {1.0, 0.2, -2.0, 0.5}, xf[4], xp[4];
        memcpy(xf, xa, sizeof xa);
        memcpy(xp, xa, sizeof xa);
        hrf_integrator *ia = make_integ(types[t], &fa, 2, NULL);
        hrf_integrator *ifd = make_integ(types[t], &ffd, 2, NULL);
        hrf_integrator *ifp = make_integ(types[t], &ffd, 2, &fixed);
        run_steps(ia, 0.1, 20, 2, xa, 0);
        run_steps(ifd, 0.1, 20, 2, xf, 0);
        run_steps(ifp, 0.1, 20, 2, xp, 0);
        assert_true(max_abs_diff(4, xa, xf) < SAME_SOLVE_TOL);
        assert_true(max_abs_diff(4, xa, xp) < SAME_SOLVE_TOL);
        hrf_integrator_stats sa, sf;
        hrf_integrator_stats_get(ia, &sa);
        hrf_integrator_stats_get(ifd, &sf);
        /* rhs calls per step: the guess, one per iteration, and for symplectic
         * Euler the second half-step; central differences add 2·dim = 4 per
         * Jacobian, the analytic Jacobian none */
        const size_t per = types[t] == &hrf_integrator_midpoint ? 1 : 2;
        assert_true(sa.jac_evals > 0 && sa.jac_evals == sa.solve_iters);
        assert_int_equal(sa.rhs_evals, per * 20 + sa.solve_iters);
        assert_int_equal(sf.rhs_evals, per * 20 + sf.solve_iters + 4 * sf.jac_evals);
        hrf_integrator_free(ia);
        hrf_integrator_free(ifd);
        hrf_integrator_free(ifp);
    }
}

/* ---- 3. time reversibility ------------------------------------------------ */

static double reverse_error(const hrf_integrator_type *t, const char *system, const double *x0,
                            size_t n, double h, size_t N) {
    hrf_system sys;
    make_system(system, &sys);
    hrf_field f;
    hrf_field_from_system(&f, &sys);
    const size_t dim = f.dim;
    hrf_integrator *it = make_integ(t, &f, n, NULL);
    double x[4 * MAXDIM];
    memcpy(x, x0, n * dim * sizeof *x);
    run_steps(it, h, N, n, x, 0);
    run_steps(it, -h, N, n, x, 0);
    hrf_integrator_free(it);
    double e = 0.0;
    for (size_t j = 0; j < n * dim; j++)
        e = fmax(e, fabs(x[j] - x0[j]) / fmax(1.0, fabs(x0[j])));
    return e;
}

static void test_reversibility(void **state) {
    (void)state;
    const double pend[4] = {1.0, 0.5, -2.5, 0.3};
    const double dp[8] = {0.5, -0.3, 0.2, 0.1, 1.0, 0.5, -0.4, 0.3};
    const double h = 0.1;
    const size_t N = 100;
    struct {
        const hrf_integrator_type *t;
        const char *system;
        const double *x0;
        size_t n;
    } cases[] = {
        {&hrf_integrator_leapfrog, "pendulum", pend, 2},
        {&hrf_integrator_yoshida4, "pendulum", pend, 2},
        {&hrf_integrator_midpoint, "pendulum", pend, 2},
        {&hrf_integrator_midpoint, "double_pendulum", dp, 2},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const double e = reverse_error(cases[c].t, cases[c].system, cases[c].x0, cases[c].n, h, N);
        print_message("  reversibility %-9s on %-15s: %zu steps of %g and back, error %.2e\n",
                      cases[c].t->name, cases[c].system, N, h, e);
        if (!(e <= REVERSE_TOL))
            fail_msg("%s on %s: returned with relative error %g > %g", cases[c].t->name,
                     cases[c].system, e, REVERSE_TOL);
    }
    /* Control: symplectic Euler is not symmetric, so the test can tell. */
    const double e = reverse_error(&hrf_integrator_symplectic_euler, "pendulum", pend, 2, h, N);
    print_message("  control: symplectic_euler returns with error %.2e\n", e);
    assert_true(e > REVERSE_CONTROL_MIN);
}

/* ---- 4. long-time energy behaviour ---------------------------------------- */

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

/* ---- 5. adaptive rk45 ------------------------------------------------------ */

static void test_rk45_adaptive(void **state) {
    (void)state;
    hrf_system sys;
    make_system("spring", &sys);
    hrf_field f;
    hrf_field_from_system(&f, &sys);
    hrf_integrator_params p;
    hrf_integrator_params_default(&p);
    p.rtol = 1e-12;
    p.atol = 1e-14;
    hrf_integrator *it = make_integ(&hrf_integrator_rk45, &f, SPRING_N, &p);
    double x[SPRING_N * 2], ex[SPRING_N * 2];
    memcpy(x, spring_x0, sizeof x);
    /* interval 10 · 1.0; the first trial step h = 1 is far too long at this
     * tolerance and must be rejected */
    size_t done = 0;
    assert_int_equal(hrf_integrator_advance(it, 1.0, 10, SPRING_N, x, &done), HRF_OK);
    spring_exact(10.0, ex);
    hrf_integrator_stats st;
    hrf_integrator_stats_get(it, &st);
    const double e = max_abs_diff(SPRING_N * 2, x, ex);
    print_message("  rk45 adaptive, rtol 1e-12, t = 0..10: error %.2e, %zu accepted, %zu "
                  "rejected, %zu rhs calls\n",
                  e, st.steps, st.rejected, st.rhs_evals);
    assert_true(e < RK45_EXACT_TOL);
    assert_true(st.rejected >= 1);
    assert_int_equal(done, st.steps);
    /* FSAL: one rhs at the start, then six per trial step */
    assert_int_equal(st.rhs_evals, 1 + 6 * (st.steps + st.rejected));

    /* backwards over the same interval returns to the start */
    assert_int_equal(hrf_integrator_advance(it, -1.0, 10, SPRING_N, x, &done), HRF_OK);
    assert_true(max_abs_diff(SPRING_N * 2, x, spring_x0) < RK45_EXACT_TOL);

    /* The controller keeps the local error estimate, O(h^5) per step, at the
     * tolerance, so the number of steps grows like tol^(-1/5): a factor
     * 10^(5/5) = 10 from 1e-6 to 1e-11. An estimator of the wrong order
     * (a wrong weight in b − b̂) changes the exponent. */
    size_t nsteps_tol[2];
    const double tols[2] = {1e-6, 1e-11};
    for (int k = 0; k < 2; k++) {
        hrf_integrator_params q = p;
        q.rtol = q.atol = tols[k];
        hrf_integrator *ik = make_integ(&hrf_integrator_rk45, &f, SPRING_N, &q);
        memcpy(x, spring_x0, sizeof x);
        assert_int_equal(hrf_integrator_advance(ik, 0.01, 1000, SPRING_N, x, &done), HRF_OK);
        nsteps_tol[k] = done;
        hrf_integrator_free(ik);
    }
    const double ratio = (double)nsteps_tol[1] / (double)nsteps_tol[0];
    print_message("  rk45 steps at tol 1e-6: %zu, at 1e-11: %zu (ratio %.2f, expected 10)\n",
                  nsteps_tol[0], nsteps_tol[1], ratio);
    assert_true(ratio > RK45_STEP_RATIO_LO && ratio < RK45_STEP_RATIO_HI);

    /* an interval shorter than one trial step: the step is clipped to it */
    memcpy(x, spring_x0, sizeof x);
    assert_int_equal(hrf_integrator_advance(it, 0.25, 3, SPRING_N, x, &done), HRF_OK);
    spring_exact(0.75, ex);
    assert_true(max_abs_diff(SPRING_N * 2, x, ex) < RK45_EXACT_TOL);
    hrf_integrator_free(it);
}

/* FSAL and cost per step of the fixed-step schemes. */
static void test_rhs_counts(void **state) {
    (void)state;
    hrf_system sys;
    make_system("pendulum", &sys);
    hrf_field f;
    hrf_field_from_system(&f, &sys);
    const struct {
        const hrf_integrator_type *t;
        size_t per_step, extra;
    } cases[] = {
        {&hrf_integrator_symplectic_euler, 2, 0}, {&hrf_integrator_symplectic_euler_p, 2, 0},
        {&hrf_integrator_leapfrog, 2, 1}, /* the first force, then reused */
        {&hrf_integrator_yoshida4, 6, 1},         {&hrf_integrator_rk4, 4, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        hrf_integrator *it = make_integ(cases[c].t, &f, 1, NULL);
        double x[2] = {0.3, 0.1};
        run_steps(it, 0.1, 50, 1, x, 0);
        hrf_integrator_stats st;
        hrf_integrator_stats_get(it, &st);
        assert_int_equal(st.rhs_evals, cases[c].per_step * 50 + cases[c].extra);
        assert_int_equal(st.jac_evals, 0);
        assert_int_equal(st.solve_iters, 0);
        hrf_integrator_free(it);
    }
}

/* ---- 6. bad input and failures -------------------------------------------- */

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

/* ---- 7. batching ----------------------------------------------------------- */

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
        cmocka_unit_test(test_field_and_fd_jacobian),
        cmocka_unit_test(test_order_spring),
        cmocka_unit_test(test_order_double_pendulum),
        cmocka_unit_test(test_implicit_solvers_agree),
        cmocka_unit_test(test_reversibility),
        cmocka_unit_test(test_energy_long_time),
        cmocka_unit_test(test_rk45_adaptive),
        cmocka_unit_test(test_rhs_counts),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_implicit_failure),
        cmocka_unit_test(test_nonfinite),
        cmocka_unit_test(test_batch_matches_single),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
