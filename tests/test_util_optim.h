/* Helpers shared by test_optim_rules.c and test_optim_lbfgs.c: the scripted
 * and quadratic closures, optimizer construction and checks; static, so each
 * test executable has its own copy. */
#ifndef HAMRF_TESTS_TEST_UTIL_OPTIM_H
#define HAMRF_TESTS_TEST_UTIL_OPTIM_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>

#include "hamrf/optim.h"
#include "hamrf/status.h"

/* Hand-computed updates against the library: both evaluate the same rule in
 * float64 with a different order of operations, so the updates (≈ 1e-3)
 * differ by a few ulps of themselves (≈ 1e-19) and θ (≈ 1) by at most an ulp
 * after rounding the sum; 1e-15 relative to θ is ≈ 5 ulps. A wrong bias
 * correction, sign or coefficient moves θ by ≥ 1e-6. */
#define HAND_TOL 1e-15

/* ---- closures ------------------------------------------------------------ */

/* f(θ) = Σ g_k,i θ_i, a linear loss whose gradient is the k-th row of a
 * script: the gradient sequence is fixed whatever θ does, which keeps the
 * hand-computed updates simple. */
typedef struct {
    const double *g; /* (nsteps, n) row-major */
    size_t n, nsteps, calls;
} script;

static int scripted(void *ctx, const double *theta, double *loss, double *grad) {
    script *s = ctx;
    const double *g = s->g + (s->calls < s->nsteps ? s->calls : s->nsteps - 1) * s->n;
    double f = 0;
    for (size_t i = 0; i < s->n; i++) {
        grad[i] = g[i];
        f += g[i] * theta[i];
    }
    *loss = f;
    s->calls++;
    return HRF_OK;
}

/* f(θ) = ½ Σ λ_i (θ_i - c_i)², λ_i = 10^(2i/9) (condition 100), c_i = ±½. */
#define NQ 10
static double q_lam[NQ], q_c[NQ];

static void quad_init(double *theta0) {
    for (int i = 0; i < NQ; i++) {
        q_lam[i] = pow(10, 2.0 * i / 9);
        q_c[i] = i % 2 ? -0.5 : 0.5;
        theta0[i] = 1 + 0.1 * i;
    }
}

static int quad(void *ctx, const double *theta, double *loss, double *grad) {
    size_t *calls = ctx;
    double f = 0;
    for (int i = 0; i < NQ; i++) {
        double e = theta[i] - q_c[i];
        f += 0.5 * q_lam[i] * e * e;
        grad[i] = q_lam[i] * e;
    }
    *loss = f;
    if (calls) (*calls)++;
    return HRF_OK;
}

/* ---- helpers --------------------------------------------------------------- */

static const hrf_optimizer_type *find(const char *name) {
    const hrf_optimizer_type *t = NULL;
    assert_int_equal(hrf_optimizer_find(name, &t), HRF_OK);
    assert_non_null(t);
    return t;
}

static hrf_optimizer *make(const char *name, size_t n, const hrf_optim_params *p) {
    hrf_optimizer *o = NULL;
    int rc = hrf_optimizer_new(find(name), n, p, &o);
    if (rc != HRF_OK) fail_msg("%s: %s", name, hrf_last_error());
    return o;
}

static void assert_close(double got, double want, double rtol, const char *what, int i) {
    double scale = fabs(want) > 1 ? fabs(want) : 1;
    if (!(fabs(got - want) <= rtol * scale))
        fail_msg("%s[%d]: got %.17g, want %.17g (diff %.3g > %.3g)", what, i, got, want,
                 fabs(got - want), rtol * scale);
}

static void step_ok(hrf_optimizer *o, double *theta, hrf_loss_fn f, void *ctx) {
    int rc = hrf_optimizer_step(o, theta, f, ctx, NULL);
    if (rc != HRF_OK) fail_msg("step failed: %s", hrf_last_error());
}

static const char *const all_names[] = {
    "sgd",    "momentum", "nesterov", "adagrad", "adadelta",  "rmsprop", "adam",  "adamw",
    "adamax", "nadam",    "radam",    "amsgrad", "adafactor", "rprop",   "lbfgs", NULL,
};

/* Runs `steps` steps of `name` (defaults unless p) on the scripted gradients
 * g (steps, 2) from θ0 and checks θ after each against want (steps, 2). */
static void check_script(const char *name, const hrf_optim_params *p, const double *theta0,
                         const double *g, int steps, const double *want) {
    script s = {g, 2, (size_t)steps, 0};
    double theta[2] = {theta0[0], theta0[1]};
    hrf_optimizer *o = make(name, 2, p);
    for (int t = 0; t < steps; t++) {
        step_ok(o, theta, scripted, &s);
        char what[64];
        snprintf(what, sizeof what, "%s step %d theta", name, t + 1);
        assert_close(theta[0], want[2 * t], HAND_TOL, what, 0);
        assert_close(theta[1], want[2 * t + 1], HAND_TOL, what, 1);
    }
    hrf_optimizer_free(o);
}

#endif
