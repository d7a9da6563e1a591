/* Tests of the time integrators (src/integrators/, docs/math.md §8): the
 * field and its finite-difference Jacobian, measured orders of convergence,
 * agreement of the implicit solvers, time reversibility, adaptive rk45 and
 * the cost per step. The registry, long-time energy, bad input, failures and
 * batching are tested in test_integrators_behaviour.c; the helpers both use
 * are in test_util_integrators.h.
 *
 * Independent references used here: the exact solution of the harmonic
 * oscillator (q = q0 cos t + p0 sin t, p = −q0 sin t + p0 cos t for
 * k = m = 1); the measured order of convergence against the classical order
 * of each scheme; a tight adaptive Dormand–Prince solution as reference for
 * the non-separable double pendulum (itself checked against the exact
 * oscillator); time reversibility of the symmetric schemes; and the analytic
 * Jacobian of the pendulum for the finite-difference Jacobian. */

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

/* ---- 4. adaptive rk45 ------------------------------------------------------ */

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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_field_and_fd_jacobian),
        cmocka_unit_test(test_order_spring),
        cmocka_unit_test(test_order_double_pendulum),
        cmocka_unit_test(test_implicit_solvers_agree),
        cmocka_unit_test(test_reversibility),
        cmocka_unit_test(test_rk45_adaptive),
        cmocka_unit_test(test_rhs_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
