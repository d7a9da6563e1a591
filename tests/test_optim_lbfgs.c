/* Tests of L-BFGS and of bad input to the optimizers (src/baselines/optim.c,
 * docs/optimizers.md): L-BFGS's first step and strong-Wolfe line search by
 * hand, L-BFGS reaching known minima, unknown names, bad parameters and
 * closures that fail. The first-order rules are tested in test_optim_rules.c;
 * the helpers both use are in test_util_optim.h.
 *
 * Independent references used here: the L-BFGS first step
 * min(1, 1/|g|_1) lr g by hand; the known minimiser of a convex quadratic
 * built from its eigen-decomposition (A = Q diag(λ) Qᵀ with Q a product of
 * Householder reflections, b = A x*) and of the Rosenbrock function (1, 1);
 * and bit-for-bit unchanged θ and state after refused steps. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "hamrf/optim.h"
#include "hamrf/status.h"
#include "test_util_optim.h"

/* L-BFGS on the 20x20 quadratic (cond 1e3) must reach x* to 1e-8 relative;
 * measured 2.7e-10 (the floor set by rounding in the loss ≈ 1e3 · 1e-16). */
#define LBFGS_QUAD_TOL 1e-8
/* With PyTorch's default tolerances L-BFGS stops once the slope g.d along
 * its direction is above -1e-9, i.e. when f - f* ≈ |g.d|/2 ≲ 5e-10
 * (measured 2.6e-10); 1e-8 allows for the last step's decrease. */
#define LBFGS_QUAD_DEFAULT_GAP 1e-8
/* Rosenbrock from (-1.2, 1) to (1, 1): the brief asks 1e-6 (measured 5e-12
 * with the tight tolerances below). */
#define ROSEN_TOL 1e-6

/* ---- closures ------------------------------------------------------------ */

static int rosenbrock(void *ctx, const double *x, double *loss, double *grad) {
    (void)ctx;
    double a = x[1] - x[0] * x[0], b = 1 - x[0];
    *loss = 100 * a * a + b * b;
    grad[0] = -400 * x[0] * a - 2 * b;
    grad[1] = 200 * a;
    return HRF_OK;
}

/* ---- 1. L-BFGS's first step and line search by hand ------------------------ */

/* L-BFGS's very first iteration steps t = min(1, 1/|g|_1) lr along -g; with
 * the fixed-step variant and max_iter 1 that is the whole step. */
static void test_lbfgs_first_step(void **state) {
    (void)state;
    const double th0[2] = {0.7, -1.3};
    hrf_optim_params p;
    hrf_optim_params_default(find("lbfgs"), &p);
    p.line_search = 0;
    p.max_iter = 1;
    p.lr = 0.5;
    const double big[2] = {0.4, -2.5}, small[2] = {0.1, -0.25}; /* |g|_1 = 2.9 and 0.35 */
    double w[2];
    for (int i = 0; i < 2; i++)
        w[i] = th0[i] - (1 / 2.9) * 0.5 * big[i];
    check_script("lbfgs", &p, th0, big, 1, w);
    for (int i = 0; i < 2; i++)
        w[i] = th0[i] - 1.0 * 0.5 * small[i];
    check_script("lbfgs", &p, th0, small, 1, w);
}

/* The strong-Wolfe line search (c1 = 1e-4, c2 = 0.9) seen from outside, on
 * one L-BFGS iteration (max_iter 1), whose direction is d = -g and first
 * trial t0 = min(1, 1/|g|_1) lr:
 *  (a) a first trial that satisfies strong Wolfe is taken as it is: one
 *      line-search evaluation, θ1 = θ0 - t0 g;
 *  (b) on f = ½ a (θ - 1)², a = 0.05, θ0 = 0 (t0 = 1, d = 0.05, minimiser
 *      along d at t = 20), the slope ratio at t0 is 0.95 > c2: the search
 *      extrapolates with the cubic, whose minimiser 20 is clamped to 10 t0,
 *      where the ratio 0.5 is accepted: θ1 = 0.5 after two evaluations;
 *  (c) on a = 10, minimum at 0.3 (t0 = 1/3, d = 3), the trial θ = 1
 *      overshoots (Armijo fails); the zoom's cubic through the bracket
 *      [0, 1/3] is exact for a quadratic: θ1 = 0.3 after two evaluations.
 * Cubic interpolation of a quadratic is exact up to rounding of the
 * bracket values (≈ 1e-16 relative, amplified by the divided difference of
 * f by ≈ 10): LS_TOL 1e-12. */
#define LS_TOL 1e-12

static double q1_a, q1_c;
static int quad1(void *ctx, const double *theta, double *loss, double *grad) {
    size_t *calls = ctx;
    double e = theta[0] - q1_c;
    *loss = 0.5 * q1_a * e * e;
    grad[0] = q1_a * e;
    (*calls)++;
    return HRF_OK;
}

static void test_lbfgs_line_search(void **state) {
    (void)state;
    hrf_optim_params p;
    hrf_optim_params_default(find("lbfgs"), &p);
    p.max_iter = 1;

    /* (a) */
    double theta[NQ], g[NQ], f0, want[NQ], gw[NQ], fw;
    quad_init(theta);
    quad(NULL, theta, &f0, g);
    double asum = 0, gg = 0;
    for (int i = 0; i < NQ; i++)
        asum += fabs(g[i]), gg += g[i] * g[i];
    double t0 = fmin(1, 1 / asum);
    for (int i = 0; i < NQ; i++)
        want[i] = theta[i] - t0 * g[i];
    quad(NULL, want, &fw, gw);
    double slope = 0;
    for (int i = 0; i < NQ; i++)
        slope -= gw[i] * g[i];
    /* precondition: t0 satisfies the strong Wolfe conditions */
    assert_true(fw <= f0 - 1e-4 * t0 * gg && fabs(slope) <= 0.9 * gg);
    /* ... and not a stricter curvature condition (so c2 is what is tested) */
    assert_true(fabs(slope) > 0.1 * gg);
    size_t calls = 0;
    hrf_optimizer *o = make("lbfgs", NQ, &p);
    assert_int_equal(hrf_optimizer_step(o, theta, quad, &calls, NULL), HRF_OK);
    assert_int_equal(calls, 2);
    for (int i = 0; i < NQ; i++)
        assert_close(theta[i], want[i], HAND_TOL, "lbfgs (a)", i);
    hrf_optimizer_free(o);

    /* (b) and (c) */
    const double a[2] = {0.05, 10}, c[2] = {1, 0.3}, w[2] = {0.5, 0.3};
    for (int k = 0; k < 2; k++) {
        q1_a = a[k], q1_c = c[k];
        double x = 0;
        calls = 0;
        o = make("lbfgs", 1, &p);
        assert_int_equal(hrf_optimizer_step(o, &x, quad1, &calls, NULL), HRF_OK);
        assert_int_equal(calls, 3);
        assert_close(x, w[k], LS_TOL, "lbfgs line search (b, c)", k);
        hrf_optimizer_free(o);
    }
}

/* ---- 2. L-BFGS reaches known minima ----------------------------------------------- */

#define NL 20
static double L_A[NL][NL], L_b[NL], L_x[NL];

/* Q ← (I - 2 v vᵀ/vᵀv) Q */
static void householder(const double *v, double Q[NL][NL]) {
    double vv = 0;
    for (int i = 0; i < NL; i++)
        vv += v[i] * v[i];
    for (int j = 0; j < NL; j++) {
        double s = 0;
        for (int i = 0; i < NL; i++)
            s += v[i] * Q[i][j];
        for (int i = 0; i < NL; i++)
            Q[i][j] -= 2 * v[i] * s / vv;
    }
}

/* A = Q diag(λ) Qᵀ with λ_k = 10^(3k/19) (1 .. 1e3), x* given, b = A x*. */
static void lquad_init(void) {
    double Q[NL][NL] = {{0}}, v[NL];
    for (int i = 0; i < NL; i++)
        Q[i][i] = 1;
    for (int i = 0; i < NL; i++)
        v[i] = cos(1.0 + 2.0 * i);
    householder(v, Q);
    for (int i = 0; i < NL; i++)
        v[i] = sin(0.5 + 3.0 * i * i);
    householder(v, Q);
    for (int i = 0; i < NL; i++)
        for (int j = 0; j < NL; j++) {
            double s = 0;
            for (int k = 0; k < NL; k++)
                s += Q[i][k] * pow(10, 3.0 * k / (NL - 1)) * Q[j][k];
            L_A[i][j] = s;
        }
    for (int i = 0; i < NL; i++)
        L_x[i] = sin(1.0 + i);
    for (int i = 0; i < NL; i++) {
        double s = 0;
        for (int j = 0; j < NL; j++)
            s += L_A[i][j] * L_x[j];
        L_b[i] = s;
    }
}

/* f(θ) = ½ θᵀAθ - bᵀθ, ∇f = Aθ - b */
static int lquad(void *ctx, const double *theta, double *loss, double *grad) {
    (void)ctx;
    double f = 0;
    for (int i = 0; i < NL; i++) {
        double r = 0;
        for (int j = 0; j < NL; j++)
            r += L_A[i][j] * theta[j];
        grad[i] = r - L_b[i];
        f += 0.5 * theta[i] * r - L_b[i] * theta[i];
    }
    *loss = f;
    return HRF_OK;
}

static double rel_err(const double *x, const double *ref, int n) {
    double e = 0, r = 0;
    for (int i = 0; i < n; i++) {
        e += (x[i] - ref[i]) * (x[i] - ref[i]);
        r += ref[i] * ref[i];
    }
    return sqrt(e / r);
}

static void test_lbfgs_quadratic(void **state) {
    (void)state;
    lquad_init();
    /* PyTorch's default tolerances stop at g.d > -1e-9 (see
     * LBFGS_QUAD_DEFAULT_GAP); to reach x* itself, tighten them. */
    hrf_optim_params p;
    hrf_optim_params_default(find("lbfgs"), &p);
    p.tolerance_grad = 1e-12;
    p.tolerance_change = 1e-20;
    hrf_optimizer *o = make("lbfgs", NL, &p);
    double theta[NL] = {0};
    for (int s = 0; s < 5; s++)
        step_ok(o, theta, lquad, NULL);
    double e = rel_err(theta, L_x, NL);
    if (!(e <= LBFGS_QUAD_TOL)) fail_msg("lbfgs quadratic: relative error %.3g", e);
    hrf_optimizer_free(o);

    /* defaults: the loss is within the stopping test's reach of f* = -½ bᵀx* */
    o = make("lbfgs", NL, NULL);
    memset(theta, 0, sizeof theta);
    for (int s = 0; s < 5; s++)
        step_ok(o, theta, lquad, NULL);
    double f, g[NL], fstar = 0;
    lquad(NULL, theta, &f, g);
    for (int i = 0; i < NL; i++)
        fstar -= 0.5 * L_b[i] * L_x[i];
    if (!(f - fstar <= LBFGS_QUAD_DEFAULT_GAP && f - fstar >= -1e-9))
        fail_msg("lbfgs quadratic (defaults): f - f* = %.3g", f - fstar);
    hrf_optimizer_free(o);
}

static void test_lbfgs_rosenbrock(void **state) {
    (void)state;
    hrf_optim_params p;
    hrf_optim_params_default(find("lbfgs"), &p);
    p.tolerance_grad = 1e-12; /* as in test_lbfgs_quadratic */
    p.tolerance_change = 1e-20;
    hrf_optimizer *o = make("lbfgs", 2, &p);
    double x[2] = {-1.2, 1.0};
    for (int s = 0; s < 5; s++)
        step_ok(o, x, rosenbrock, NULL);
    if (!(fabs(x[0] - 1) <= ROSEN_TOL && fabs(x[1] - 1) <= ROSEN_TOL))
        fail_msg("lbfgs rosenbrock: x = (%.15g, %.15g)", x[0], x[1]);
    hrf_optimizer_free(o);

    /* the fixed-step variant (line_search 0) diverges less gracefully but
     * still lowers the loss from 24.2 within one step of 20 iterations */
    p.line_search = 0;
    o = make("lbfgs", 2, &p);
    double y[2] = {-1.2, 1.0}, f0, f, g[2];
    rosenbrock(NULL, y, &f0, g);
    step_ok(o, y, rosenbrock, NULL);
    rosenbrock(NULL, y, &f, g);
    assert_true(f < f0);
    hrf_optimizer_free(o);
}

/* ---- 3. bad input ------------------------------------------------------------ */

static void test_find_unknown(void **state) {
    (void)state;
    const hrf_optimizer_type *t = (const hrf_optimizer_type *)&t;
    assert_int_equal(hrf_optimizer_find("nope", &t), HRF_ENOTFOUND);
    assert_null(t);
    const char *msg = hrf_last_error();
    assert_non_null(strstr(msg, "nope"));
    for (int k = 0; all_names[k]; k++)
        assert_non_null(strstr(msg, all_names[k]));
    assert_int_equal(hrf_optimizer_find(NULL, &t), HRF_EINVAL);
    assert_int_equal(hrf_optimizer_find("adam", NULL), HRF_EINVAL);
}

static void expect_rejected(const char *name, void (*edit)(hrf_optim_params *), const char *word) {
    const hrf_optimizer_type *t = find(name);
    hrf_optim_params p;
    hrf_optim_params_default(t, &p);
    edit(&p);
    const char *msg = hrf_optim_params_check(t, &p);
    if (!msg) fail_msg("%s: a bad %s was accepted", name, word);
    if (!strstr(msg, word)) fail_msg("%s: message '%s' does not name %s", name, msg, word);
    hrf_optimizer *o = (hrf_optimizer *)&o;
    assert_int_equal(hrf_optimizer_new(t, 3, &p, &o), HRF_EINVAL);
    assert_null(o);
    assert_non_null(strstr(hrf_last_error(), word));
}

static void lr_neg(hrf_optim_params *p) {
    p->lr = -1;
}
static void lr_nan(hrf_optim_params *p) {
    p->lr = NAN;
}
static void lr_zero(hrf_optim_params *p) {
    p->lr = 0;
}
static void beta1_one(hrf_optim_params *p) {
    p->beta1 = 1;
}
static void beta2_neg(hrf_optim_params *p) {
    p->beta2 = -0.1;
}
static void beta2_one(hrf_optim_params *p) {
    p->beta2 = 1;
}
static void eps_zero(hrf_optim_params *p) {
    p->eps = 0;
}
static void eps_inf(hrf_optim_params *p) {
    p->eps = INFINITY;
}
static void wd_neg(hrf_optim_params *p) {
    p->weight_decay = -1e-3;
}
static void wd_some(hrf_optim_params *p) {
    p->weight_decay = 1e-3;
}
static void mom_one(hrf_optim_params *p) {
    p->momentum = 1;
}
static void damp_some(hrf_optim_params *p) {
    p->dampening = 0.5;
}
static void max_iter_zero(hrf_optim_params *p) {
    p->max_iter = 0;
}
static void history_zero(hrf_optim_params *p) {
    p->history = 0;
}
static void max_eval_neg(hrf_optim_params *p) {
    p->max_eval = -1;
}
static void ls_two(hrf_optim_params *p) {
    p->line_search = 2;
}
static void eta_minus_big(hrf_optim_params *p) {
    p->eta_minus = 1.5;
}
static void eta_plus_small(hrf_optim_params *p) {
    p->eta_plus = 0.9;
}
static void step_max_small(hrf_optim_params *p) {
    p->step_max = 1e-7;
}
static void clip_small(hrf_optim_params *p) {
    p->clip_d = 0.5;
}
static void b2decay_pos(hrf_optim_params *p) {
    p->beta2_decay = 0.5;
}
static void lr_decay_neg(hrf_optim_params *p) {
    p->lr_decay = -1;
}
static void mdecay_neg(hrf_optim_params *p) {
    p->momentum = -1;
}

static void test_params_check(void **state) {
    (void)state;
    expect_rejected("adam", lr_neg, "lr");
    expect_rejected("sgd", lr_nan, "lr");
    expect_rejected("lbfgs", lr_zero, "lr");
    expect_rejected("adam", beta1_one, "beta1");
    expect_rejected("radam", beta2_neg, "beta2");
    expect_rejected("rmsprop", beta2_one, "alpha");
    expect_rejected("adam", eps_zero, "eps");
    expect_rejected("adagrad", eps_inf, "eps");
    expect_rejected("adamw", wd_neg, "weight_decay");
    expect_rejected("rprop", wd_some, "weight_decay");
    expect_rejected("lbfgs", wd_some, "weight_decay");
    expect_rejected("momentum", mom_one, "momentum");
    expect_rejected("nesterov", damp_some, "dampening");
    expect_rejected("nadam", mdecay_neg, "momentum_decay");
    expect_rejected("lbfgs", max_iter_zero, "max_iter");
    expect_rejected("lbfgs", history_zero, "history");
    expect_rejected("lbfgs", max_eval_neg, "max_eval");
    expect_rejected("lbfgs", ls_two, "line_search");
    expect_rejected("rprop", eta_minus_big, "eta_minus");
    expect_rejected("rprop", eta_plus_small, "eta_plus");
    expect_rejected("rprop", step_max_small, "step_max");
    expect_rejected("adafactor", clip_small, "clip_d");
    expect_rejected("adafactor", b2decay_pos, "beta2_decay");
    expect_rejected("adagrad", lr_decay_neg, "lr_decay");

    hrf_optim_params p;
    hrf_optim_params_default(find("adam"), &p);
    assert_non_null(hrf_optim_params_check(NULL, &p));
    assert_non_null(hrf_optim_params_check(find("adam"), NULL));

    hrf_optimizer *o = NULL;
    assert_int_equal(hrf_optimizer_new(NULL, 3, NULL, &o), HRF_EINVAL);
    assert_int_equal(hrf_optimizer_new(find("adam"), 0, NULL, &o), HRF_EINVAL);
    assert_int_equal(hrf_optimizer_new(find("adam"), 3, NULL, NULL), HRF_EINVAL);
    assert_int_equal(hrf_optimizer_new(find("lbfgs"), SIZE_MAX / 4, NULL, &o), HRF_ETOOBIG);
    assert_int_equal(hrf_optimizer_new(find("adam"), 3, NULL, &o), HRF_OK); /* NULL p: defaults */
    double theta[3] = {0};
    assert_int_equal(hrf_optimizer_step(o, NULL, quad, NULL, NULL), HRF_EINVAL);
    assert_int_equal(hrf_optimizer_step(o, theta, NULL, NULL, NULL), HRF_EINVAL);
    assert_int_equal(hrf_optimizer_step(NULL, theta, quad, NULL, NULL), HRF_EINVAL);
    hrf_optimizer_free(o);
    hrf_optimizer_free(NULL);
}

/* A closure that misbehaves at its `bad_call`-th call (1-based) and is the
 * quadratic otherwise. */
typedef struct {
    int calls, bad_call;
    int what; /* 0: NaN loss, 1: infinite gradient entry, 2: HRF_EIO */
} faulty;

static int faulty_quad(void *ctx, const double *theta, double *loss, double *grad) {
    faulty *fq = ctx;
    quad(NULL, theta, loss, grad);
    if (++fq->calls != fq->bad_call) return HRF_OK;
    if (fq->what == 0) *loss = NAN;
    if (fq->what == 1) grad[3] = -INFINITY;
    if (fq->what == 2) return hrf_error(HRF_EIO, "faulty closure: cannot read batch");
    return HRF_OK;
}

/* A refused first step leaves θ bit for bit and leaves the state as new: the
 * next good step gives what a fresh optimizer's first step gives. */
static void test_refused_first_step(void **state) {
    (void)state;
    for (int k = 0; all_names[k]; k++) {
        for (int what = 0; what < 3; what++) {
            double theta[NQ], before[NQ], fresh[NQ];
            quad_init(theta);
            memcpy(before, theta, sizeof theta);
            memcpy(fresh, theta, sizeof theta);
            hrf_optimizer *o = make(all_names[k], NQ, NULL);
            faulty fq = {0, 1, what};
            double loss = 12345;
            int rc = hrf_optimizer_step(o, theta, faulty_quad, &fq, &loss);
            int want = what == 2 ? HRF_EIO : HRF_ENUMERIC;
            if (rc != want)
                fail_msg("%s, fault %d: got %d (%s), want %d", all_names[k], what, rc,
                         hrf_last_error(), want);
            if (what == 2) assert_non_null(strstr(hrf_last_error(), "cannot read batch"));
            assert_memory_equal(theta, before, sizeof theta);
            assert_true(loss == 12345);
            step_ok(o, theta, quad, NULL);
            hrf_optimizer *o2 = make(all_names[k], NQ, NULL);
            step_ok(o2, fresh, quad, NULL);
            assert_memory_equal(theta, fresh, sizeof theta);
            hrf_optimizer_free(o);
            hrf_optimizer_free(o2);
        }
    }
}

/* L-BFGS failing inside a step (in its line search, or at the re-evaluation
 * of the fixed-step variant) restores θ to its value on entry to the step
 * and recovers on the next step. max_iter 5 keeps the quadratic from being
 * solved by the first step, so the failing step does have history and later
 * calls. */
static void test_lbfgs_fails_midstep(void **state) {
    (void)state;
    int exercised = 0;
    for (int ls = 0; ls <= 1; ls++) {
        for (int what = 0; what < 3; what++) {
            for (int bad = 2; bad <= 4; bad++) {
                hrf_optim_params p;
                hrf_optim_params_default(find("lbfgs"), &p);
                p.line_search = ls;
                p.max_iter = 5;
                hrf_optimizer *o = make("lbfgs", NQ, &p);
                double theta[NQ], before[NQ], f0, f, g[NQ];
                quad_init(theta);
                step_ok(o, theta, quad, NULL); /* a good step first: history exists */
                memcpy(before, theta, sizeof theta);
                faulty fq = {0, bad, what};
                int rc = hrf_optimizer_step(o, theta, faulty_quad, &fq, NULL);
                if (fq.calls < bad) fail_msg("the step ended after %d < %d calls", fq.calls, bad);
                assert_int_equal(rc, what == 2 ? HRF_EIO : HRF_ENUMERIC);
                assert_memory_equal(theta, before, sizeof theta);
                /* the next step is a new optimizer's first step from there */
                double fresh[NQ];
                memcpy(fresh, theta, sizeof theta);
                hrf_optimizer *o2 = make("lbfgs", NQ, &p);
                step_ok(o2, fresh, quad, NULL);
                quad(NULL, theta, &f0, g);
                step_ok(o, theta, quad, NULL);
                quad(NULL, theta, &f, g);
                assert_true(f < f0);
                assert_memory_equal(theta, fresh, sizeof theta);
                hrf_optimizer_free(o);
                hrf_optimizer_free(o2);
                exercised++;
            }
        }
    }
    assert_int_equal(exercised, 18);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lbfgs_first_step),   cmocka_unit_test(test_lbfgs_line_search),
        cmocka_unit_test(test_lbfgs_quadratic),    cmocka_unit_test(test_lbfgs_rosenbrock),
        cmocka_unit_test(test_find_unknown),       cmocka_unit_test(test_params_check),
        cmocka_unit_test(test_refused_first_step), cmocka_unit_test(test_lbfgs_fails_midstep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
