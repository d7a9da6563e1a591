/* Tests of the first-order gradient-descent optimizers (src/baselines/optim.c,
 * docs/optimizers.md): the registry and defaults, every optimizer lowering a
 * loss, updates computed by hand, AMSGrad and AdamW. L-BFGS, its line search
 * and bad input are tested in test_optim_lbfgs.c; the helpers both use are in
 * test_util_optim.h.
 *
 * Independent references used here: PyTorch's documented default
 * hyper-parameters; first updates (Adam: three, RAdam: seven across its
 * rho_t > 5 switch) written out by hand from the update rules in PyTorch's
 * documentation, with gradients scripted so the arithmetic is plain; and the
 * AMSGrad second moment recovered from the steps it takes, against the
 * running maximum of a hand-computed Adam second moment.
 *
 * The library's trajectories were also compared, outside these tests, with
 * PyTorch's own optimizers (see docs/optimizers.md); torch is not a test
 * dependency. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "hamrf/optim.h"
#include "hamrf/status.h"
#include "test_util_optim.h"

/* The AMSGrad second moment inferred from a step: v̂ = bc2 (step_size m / -Δθ
 * - eps)². Δθ ≈ 1e-3 is recovered from θ ≈ 1e-2 with relative error ≈ 1e-14,
 * doubled by the square; 1e-10 leaves a margin of 100 and still separates
 * the running maximum from Adam's v, which falls by ≈ 8e-4 a step after the
 * gradients drop (the control requires a fall > 1e-4). */
#define VHAT_TOL 1e-10

/* ---- closures ------------------------------------------------------------ */

/* f(θ) = ½ (a_1 θ_1² + a_2 θ_2²), a = (3, 0.5): Adam's hand-check problem. */
static int quad2(void *ctx, const double *theta, double *loss, double *grad) {
    (void)ctx;
    grad[0] = 3.0 * theta[0];
    grad[1] = 0.5 * theta[1];
    *loss = 0.5 * (3.0 * theta[0] * theta[0] + 0.5 * theta[1] * theta[1]);
    return HRF_OK;
}

/* ---- registry and defaults ----------------------------------------------------- */

static void test_registry(void **state) {
    (void)state;
    const hrf_optimizer_type *const *types = hrf_optimizer_types();
    int n = 0;
    for (; types[n]; n++) {
        assert_non_null(all_names[n]);
        assert_string_equal(types[n]->name, all_names[n]);
        assert_non_null(types[n]->description);
        assert_ptr_equal(find(all_names[n]), types[n]);
        int full = !strcmp(all_names[n], "rprop") || !strcmp(all_names[n], "lbfgs");
        assert_int_equal(types[n]->full_batch, full);
        hrf_optim_params p;
        hrf_optim_params_default(types[n], &p);
        const char *msg = hrf_optim_params_check(types[n], &p);
        if (msg) fail_msg("%s defaults rejected: %s", all_names[n], msg);
    }
    assert_int_equal(n, 15);
}

/* PyTorch 2.x's documented defaults (torch.optim.* signatures). */
static void test_defaults(void **state) {
    (void)state;
    hrf_optim_params p;
    struct {
        const char *name;
        double lr, momentum, beta1, beta2, eps, wd;
    } want[] = {
        {"sgd", 1e-3, 0, 0, 0, 0, 0},
        {"momentum", 1e-3, 0.9, 0, 0, 0, 0},
        {"nesterov", 1e-3, 0.9, 0, 0, 0, 0},
        {"adagrad", 1e-2, 0, 0, 0, 1e-10, 0},
        {"adadelta", 1.0, 0, 0, 0.9, 1e-6, 0},
        {"rmsprop", 1e-2, 0, 0, 0.99, 1e-8, 0},
        {"adam", 1e-3, 0, 0.9, 0.999, 1e-8, 0},
        {"adamw", 1e-3, 0, 0.9, 0.999, 1e-8, 1e-2},
        {"adamax", 2e-3, 0, 0.9, 0.999, 1e-8, 0},
        {"nadam", 2e-3, 4e-3, 0.9, 0.999, 1e-8, 0},
        {"radam", 1e-3, 0, 0.9, 0.999, 1e-8, 0},
        {"amsgrad", 1e-3, 0, 0.9, 0.999, 1e-8, 0},
        {"adafactor", 1e-2, 0, 0, 0, DBL_EPSILON, 0},
        {"rprop", 1e-2, 0, 0, 0, 0, 0},
        {"lbfgs", 1.0, 0, 0, 0, 0, 0},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        hrf_optim_params_default(find(want[k].name), &p);
        if (p.lr != want[k].lr || p.momentum != want[k].momentum || p.beta1 != want[k].beta1 ||
            p.beta2 != want[k].beta2 || p.eps != want[k].eps || p.weight_decay != want[k].wd)
            fail_msg("%s: defaults lr %g momentum %g betas %g/%g eps %g wd %g", want[k].name, p.lr,
                     p.momentum, p.beta1, p.beta2, p.eps, p.weight_decay);
        assert_true(p.dampening == 0 && p.lr_decay == 0 && p.initial_accumulator == 0);
    }
    hrf_optim_params_default(find("adafactor"), &p);
    assert_true(p.beta2_decay == -0.8 && p.eps2 == 1e-3 && p.clip_d == 1.0);
    hrf_optim_params_default(find("rprop"), &p);
    assert_true(p.eta_minus == 0.5 && p.eta_plus == 1.2 && p.step_min == 1e-6 && p.step_max == 50);
    hrf_optim_params_default(find("lbfgs"), &p);
    assert_true(p.max_iter == 20 && p.max_eval == 0 && p.history == 100 &&
                p.tolerance_grad == 1e-7 && p.tolerance_change == 1e-9 && p.line_search == 1);
}

/* ---- 1. every optimizer lowers the loss -------------------------------------- */

/* Each optimizer with its defaults on the 10-parameter quadratic (condition
 * 100) from θ0 = 1 + 0.1 i. `ratio` bounds f(θ_N)/f(θ0); each is about twice
 * the measured value (in brackets), so a wrong sign, scale or missing bias
 * correction fails while rounding on another platform does not. Adadelta
 * (lr 1) and Adagrad creep, so they only need a clear decrease. */
static void test_each_lowers_loss(void **state) {
    (void)state;
    struct {
        const char *name;
        int steps;
        double ratio;
    } cases[] = {
        {"sgd", 100, 0.05},        /* [1.6e-2] */
        {"momentum", 100, 1e-3},   /* [1.7e-4] */
        {"nesterov", 100, 1e-3},   /* [1.6e-4] */
        {"adagrad", 10000, 0.2},   /* [8.1e-2] */
        {"adadelta", 100, 0.8},    /* [0.67] */
        {"rmsprop", 100, 0.15},    /* [7.6e-2] */
        {"adam", 1000, 0.5},       /* [0.34] */
        {"adamw", 1000, 0.5},      /* [0.33] */
        {"adamax", 1000, 0.1},     /* [4.5e-2] */
        {"nadam", 1000, 0.2},      /* [9.5e-2] */
        {"radam", 1000, 0.4},      /* [0.23] */
        {"amsgrad", 1000, 0.5},    /* [0.34] */
        {"adafactor", 1000, 1e-8}, /* [6.7e-11] */
        {"rprop", 100, 1e-10},     /* [6.8e-14] */
        {"lbfgs", 10, 1e-12},      /* [1.4e-14] */
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        double theta[NQ], g[NQ], f0, f;
        quad_init(theta);
        quad(NULL, theta, &f0, g);
        hrf_optimizer *o = make(cases[k].name, NQ, NULL);
        for (int s = 0; s < cases[k].steps; s++)
            step_ok(o, theta, quad, NULL);
        quad(NULL, theta, &f, g);
        if (!(f <= cases[k].ratio * f0))
            fail_msg("%s: f(θ_%d)/f(θ0) = %.3g, want <= %g", cases[k].name, cases[k].steps, f / f0,
                     cases[k].ratio);
        hrf_optimizer_free(o);
    }
}

/* First-order methods call the closure exactly once per step; *loss is the
 * loss at θ before the update; L-BFGS counts its line-search calls. */
static void test_evals_and_loss(void **state) {
    (void)state;
    for (int k = 0; all_names[k]; k++) {
        double theta[NQ], g[NQ], f_before, loss = -1;
        size_t calls = 0;
        quad_init(theta);
        hrf_optimizer *o = make(all_names[k], NQ, NULL);
        for (int s = 0; s < 3; s++) {
            quad(NULL, theta, &f_before, g);
            assert_int_equal(hrf_optimizer_step(o, theta, quad, &calls, &loss), HRF_OK);
            assert_true(loss == f_before);
        }
        assert_int_equal(hrf_optimizer_evals(o), calls);
        if (strcmp(all_names[k], "lbfgs") != 0)
            assert_int_equal(calls, 3);
        else
            assert_true(calls > 3);
        hrf_optimizer_free(o);
    }
    assert_int_equal(hrf_optimizer_evals(NULL), 0);
}

/* ---- 2. updates by hand ------------------------------------------------------ */

/* Adam (lr γ = 1e-3, β = 0.9/0.999, ε = 1e-8), three steps on
 * f = ½(3 θ1² + 0.5 θ2²) from θ = (1, -2), with PyTorch's rule:
 *   m_t = β1 m_{t-1} + (1-β1) g_t,  v_t = β2 v_{t-1} + (1-β2) g_t²,
 *   m̂ = m_t/(1-β1^t), v̂ = v_t/(1-β2^t),  θ_t = θ_{t-1} - γ m̂/(√v̂ + ε). */
static void test_adam_by_hand(void **state) {
    (void)state;
    double theta[2] = {1.0, -2.0};
    double h[2] = {1.0, -2.0}; /* the hand-computed θ */
    double m1 = 0, m2 = 0, v1 = 0, v2 = 0;
    hrf_optimizer *o = make("adam", 2, NULL);
    for (int t = 1; t <= 3; t++) {
        double g1 = 3.0 * h[0], g2 = 0.5 * h[1];
        m1 = 0.9 * m1 + 0.1 * g1;
        m2 = 0.9 * m2 + 0.1 * g2;
        v1 = 0.999 * v1 + 0.001 * g1 * g1;
        v2 = 0.999 * v2 + 0.001 * g2 * g2;
        double bc1 = 1 - pow(0.9, t), bc2 = 1 - pow(0.999, t);
        h[0] -= 1e-3 * (m1 / bc1) / (sqrt(v1 / bc2) + 1e-8);
        h[1] -= 1e-3 * (m2 / bc1) / (sqrt(v2 / bc2) + 1e-8);
        step_ok(o, theta, quad2, NULL);
        assert_close(theta[0], h[0], HAND_TOL, "adam theta", 0);
        assert_close(theta[1], h[1], HAND_TOL, "adam theta", 1);
    }
    /* the first step of Adam moves each θ_i by ≈ γ sign(g_i) */
    assert_true(fabs(h[0] - 1.0) > 2.9e-3 && fabs(h[1] + 2.0) > 2.9e-3);
    hrf_optimizer_free(o);
}

static void test_first_updates_by_hand(void **state) {
    (void)state;
    const double th0[2] = {0.7, -1.3};
    const double g[] = {0.4, -2.5, -0.1, -1.0, 0.3, 0.2}; /* three gradients */
    double w[6];

    /* SGD: θ1 = θ0 - γ g1, γ = 1e-3 */
    for (int i = 0; i < 2; i++)
        w[i] = th0[i] - 1e-3 * g[i];
    check_script("sgd", NULL, th0, g, 1, w);

    /* momentum μ = 0.9: b1 = g1 (PyTorch copies the first gradient),
     * θ1 = θ0 - γ b1; b2 = μ b1 + g2, θ2 = θ1 - γ b2 */
    for (int i = 0; i < 2; i++) {
        double b1 = g[i], b2 = 0.9 * b1 + g[2 + i];
        w[i] = th0[i] - 1e-3 * b1;
        w[2 + i] = w[i] - 1e-3 * b2;
    }
    check_script("momentum", NULL, th0, g, 2, w);

    /* Nesterov: θ_t = θ_{t-1} - γ (g_t + μ b_t) */
    for (int i = 0; i < 2; i++) {
        double b1 = g[i], b2 = 0.9 * b1 + g[2 + i];
        w[i] = th0[i] - 1e-3 * (g[i] + 0.9 * b1);
        w[2 + i] = w[i] - 1e-3 * (g[2 + i] + 0.9 * b2);
    }
    check_script("nesterov", NULL, th0, g, 2, w);

    /* RMSprop α = 0.99: v1 = 0.01 g², θ1 = θ0 - 1e-2 g/(√v1 + 1e-8) */
    for (int i = 0; i < 2; i++)
        w[i] = th0[i] - 1e-2 * g[i] / (sqrt(0.01 * g[i] * g[i]) + 1e-8);
    check_script("rmsprop", NULL, th0, g, 1, w);

    /* Adagrad: s1 = g², θ1 = θ0 - 1e-2 g/(√s1 + 1e-10) */
    for (int i = 0; i < 2; i++)
        w[i] = th0[i] - 1e-2 * g[i] / (fabs(g[i]) + 1e-10);
    check_script("adagrad", NULL, th0, g, 1, w);

    /* Adadelta ρ = 0.9, ε = 1e-6, lr 1: v1 = 0.1 g², Δ = √(0 + ε)/√(v1 + ε) g */
    for (int i = 0; i < 2; i++)
        w[i] = th0[i] - sqrt(1e-6) / sqrt(0.1 * g[i] * g[i] + 1e-6) * g[i];
    check_script("adadelta", NULL, th0, g, 1, w);

    /* Adamax: m1 = 0.1 g, u1 = max(0, |g| + ε), θ1 = θ0 - (γ/(1 - β1)) m1/u1, γ = 2e-3 */
    for (int i = 0; i < 2; i++)
        w[i] = th0[i] - (2e-3 / 0.1) * (0.1 * g[i]) / (fabs(g[i]) + 1e-8);
    check_script("adamax", NULL, th0, g, 1, w);

    /* NAdam, γ = 2e-3, ψ = 4e-3: μ_t = β1 (1 - ½ 0.96^(tψ)),
     * θ1 = θ0 - γ (1-μ1)/(1-μ1) g/d - γ μ2/(1 - μ1 μ2) m1/d,
     * m1 = 0.1 g, d = √(v1/(1-β2)) + ε = |g| + ε */
    {
        double mu1 = 0.9 * (1 - 0.5 * pow(0.96, 4e-3)), mu2 = 0.9 * (1 - 0.5 * pow(0.96, 8e-3));
        for (int i = 0; i < 2; i++) {
            double d = sqrt(0.001 * g[i] * g[i] / 0.001) + 1e-8;
            w[i] = th0[i] - 2e-3 * g[i] / d - 2e-3 * mu2 / (1 - mu1 * mu2) * (0.1 * g[i]) / d;
        }
        check_script("nadam", NULL, th0, g, 1, w);
    }

    /* Adafactor (vector branch), lr 1e-2, β2-decay -0.8, ε1 = DBL_EPSILON,
     * ε2 = 1e-3, d = 1. Step t: 1-β̂2 = t^-0.8, V = lerp(V, g², t^-0.8),
     * U = g/max(√V, ε1), Û = U/max(1, RMS(U)/d),
     * α = max(ε2, RMS(θ_{t-1})) min(lr, 1/√t), θ_t = θ_{t-1} - α Û.
     * Step 1: V = g², U = sign(g), RMS(U) = 1. Step 2: 1-β̂2 = 2^-0.8 and
     * the gradients jump (x12, x8), so RMS(U) ≈ 1.31 and the clipping acts. */
    {
        const double ga[] = {0.4, -2.5, 5.0, -20.0};
        double rms0 = sqrt((th0[0] * th0[0] + th0[1] * th0[1]) / 2);
        double a1 = fmax(1e-3, rms0) * 1e-2;
        for (int i = 0; i < 2; i++)
            w[i] = th0[i] - a1 * (ga[i] > 0 ? 1 : -1);
        double rms1 = sqrt((w[0] * w[0] + w[1] * w[1]) / 2), a2 = fmax(1e-3, rms1) * 1e-2;
        double c = pow(2.0, -0.8), u[2], uu = 0;
        for (int i = 0; i < 2; i++) {
            double v = (1 - c) * ga[i] * ga[i] + c * ga[2 + i] * ga[2 + i];
            u[i] = ga[2 + i] / sqrt(v);
            uu += u[i] * u[i];
        }
        double clip = fmax(1, sqrt(uu / 2) / 1.0);
        assert_true(clip > 1.3);
        for (int i = 0; i < 2; i++)
            w[2 + i] = w[i] - a2 * u[i] / clip;
        check_script("adafactor", NULL, th0, ga, 2, w);
    }

    /* Rprop, lr 1e-2, etas (0.5, 1.2): step 1 moves each θ_i by lr sign(g_i)
     * (no previous gradient: factor 1); step 2, same signs: steps grow to
     * 1.2e-2; step 3, both signs flip: steps halve to 6e-3, θ stays, and the
     * stored gradient is zeroed; step 4: factor 1 again, θ moves by 6e-3. */
    {
        const double gr[] = {0.4, -2.5, 0.1, -1.0, -0.3, 0.2, -0.3, 0.2};
        double wr[8];
        wr[0] = th0[0] - 1e-2, wr[1] = th0[1] + 1e-2;
        wr[2] = wr[0] - 1.2e-2, wr[3] = wr[1] + 1.2e-2;
        wr[4] = wr[2], wr[5] = wr[3];
        wr[6] = wr[4] + 6e-3, wr[7] = wr[5] - 6e-3;
        check_script("rprop", NULL, th0, gr, 4, wr);
    }
}

/* RAdam (lr 1e-3, β = 0.9/0.999) for seven steps on scripted gradients:
 * ρ∞ = 2/(1-β2) - 1, ρ_t = ρ∞ - 2 t β2^t/(1-β2^t) is ≈ t here, so steps 1..5
 * are plain momentum steps θ -= γ m̂ and steps 6, 7 are rectified:
 * θ -= γ m̂ r_t √(1-β2^t)/(√v_t + ε), r_t = √((ρ_t-4)(ρ_t-2)ρ∞/((ρ∞-4)(ρ∞-2)ρ_t)). */
static void test_radam_by_hand(void **state) {
    (void)state;
    const double th0[2] = {0.7, -1.3};
    double g[14], w[14], h[2] = {th0[0], th0[1]}, m[2] = {0, 0}, v[2] = {0, 0};
    int rectified = 0;
    for (int t = 1; t <= 7; t++) {
        g[2 * (t - 1)] = 0.3 + 0.1 * t;
        g[2 * (t - 1) + 1] = t % 2 ? -2.0 : 0.5;
        double b2t = pow(0.999, t), bc1 = 1 - pow(0.9, t), bc2 = 1 - b2t;
        double rho_inf = 2 / (1 - 0.999) - 1, rho = rho_inf - 2 * t * b2t / bc2;
        for (int i = 0; i < 2; i++) {
            double gi = g[2 * (t - 1) + i];
            m[i] = 0.9 * m[i] + 0.1 * gi;
            v[i] = 0.999 * v[i] + 0.001 * gi * gi;
            double mhat = m[i] / bc1;
            if (rho > 5) {
                double r =
                    sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho));
                h[i] -= 1e-3 * mhat * r * sqrt(bc2) / (sqrt(v[i]) + 1e-8);
            } else {
                h[i] -= 1e-3 * mhat;
            }
            w[2 * (t - 1) + i] = h[i];
        }
        rectified += rho > 5;
        assert_int_equal(rho > 5, t >= 6); /* the switch falls where the comment says */
    }
    assert_int_equal(rectified, 2);
    check_script("radam", NULL, th0, g, 7, w);
}

/* ---- 3. AMSGrad and AdamW ---------------------------------------------------- */

/* Step t of Adam/AMSGrad with gradient g_t from θ = 0: Δθ_t = -(γ/bc1) m_t /
 * (√v̂_t/√bc2 + ε), so v̂_t = bc2 (γ m_t/(bc1 (-Δθ_t)) - ε)². With gradients
 * that drop after step 1, Adam's v falls while AMSGrad's v̂ stays at its
 * running maximum. */
static void infer_vhat(const char *name, const double *g, int steps, double *vhat) {
    script s = {g, 1, (size_t)steps, 0};
    double theta = 0, m = 0;
    hrf_optimizer *o = make(name, 1, NULL);
    for (int t = 1; t <= steps; t++) {
        double before = theta;
        step_ok(o, &theta, scripted, &s);
        m = 0.9 * m + 0.1 * g[t - 1];
        double bc1 = 1 - pow(0.9, t), bc2 = 1 - pow(0.999, t);
        double r = 1e-3 * m / (bc1 * (before - theta)) - 1e-8;
        vhat[t - 1] = bc2 * r * r;
    }
    hrf_optimizer_free(o);
}

static void test_amsgrad_monotone(void **state) {
    (void)state;
    enum { T = 8 };
    const double g[T] = {2.0, 0.1, 0.1, 3.0, 0.05, -0.2, 0.01, 0.01};
    double vh_ams[T], vh_adam[T], v = 0, vmax = 0;
    infer_vhat("amsgrad", g, T, vh_ams);
    infer_vhat("adam", g, T, vh_adam);
    int adam_fell = 0;
    for (int t = 1; t <= T; t++) {
        v = 0.999 * v + 0.001 * g[t - 1] * g[t - 1]; /* hand Adam second moment */
        vmax = fmax(vmax, v);
        /* the inferred values are v̂ = max_s v_s (AMSGrad), v_t (Adam), each
         * in the update as √v̂/√bc2 */
        assert_close(vh_ams[t - 1] / vmax, 1, VHAT_TOL, "amsgrad vhat/max v", t);
        assert_close(vh_adam[t - 1] / v, 1, VHAT_TOL, "adam v/v", t);
        if (t > 1) {
            if (!(vh_ams[t - 1] >= vh_ams[t - 2] * (1 - VHAT_TOL)))
                fail_msg("amsgrad: v̂ fell at step %d: %.17g < %.17g", t, vh_ams[t - 1],
                         vh_ams[t - 2]);
            adam_fell |= vh_adam[t - 1] < vh_adam[t - 2] * (1 - 1e-4);
        }
    }
    assert_true(adam_fell); /* the control: this sequence does lower Adam's v */
}

/* AdamW decays θ before the Adam step (θ ← θ(1 - γλ)); Adam with
 * weight_decay adds λθ to the gradient. One step from θ0 = (2, -1) with
 * g = (0.05, 0.3), λ = 0.5, γ = 1e-3: AdamW moves θ2 to
 * -1 (1 - 5e-4) - γ g/(|g| + ε); Adam's g' = g + λθ0 = (1.05, -0.2) flips
 * θ2's direction: θ2 = -1 - γ g'/(|g'| + ε). */
static void test_adamw_decoupled(void **state) {
    (void)state;
    const double th0[2] = {2.0, -1.0}, g[2] = {0.05, 0.3};
    double w[2];
    hrf_optim_params p;
    hrf_optim_params_default(find("adamw"), &p);
    p.weight_decay = 0.5;
    for (int i = 0; i < 2; i++)
        w[i] = th0[i] * (1 - 1e-3 * 0.5) - 1e-3 * g[i] / (fabs(g[i]) + 1e-8);
    check_script("adamw", &p, th0, g, 1, w);
    double adamw2 = w[1];

    hrf_optim_params_default(find("adam"), &p);
    p.weight_decay = 0.5;
    for (int i = 0; i < 2; i++) {
        double gp = g[i] + 0.5 * th0[i];
        w[i] = th0[i] - 1e-3 * gp / (fabs(gp) + 1e-8);
    }
    check_script("adam", &p, th0, g, 1, w);
    assert_true(fabs(w[1] - adamw2) > 1e-3); /* they differ by ≈ 2.5e-3 */

    /* Adafactor's weight decay is decoupled too (PyTorch decays θ by
     * 1 - lr λ after taking α from RMS(θ0)): one step, lr 1e-2, λ = 0.5,
     * θ1 = θ0 (1 - 5e-3) - α sign(g), α = max(1e-3, RMS(θ0)) 1e-2. */
    hrf_optim_params_default(find("adafactor"), &p);
    p.weight_decay = 0.5;
    double alpha = fmax(1e-3, sqrt((th0[0] * th0[0] + th0[1] * th0[1]) / 2)) * 1e-2;
    for (int i = 0; i < 2; i++)
        w[i] = th0[i] * (1 - 1e-2 * 0.5) - alpha * (g[i] > 0 ? 1 : -1);
    check_script("adafactor", &p, th0, g, 1, w);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),         cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_each_lowers_loss), cmocka_unit_test(test_evals_and_loss),
        cmocka_unit_test(test_adam_by_hand),     cmocka_unit_test(test_first_updates_by_hand),
        cmocka_unit_test(test_radam_by_hand),    cmocka_unit_test(test_amsgrad_monotone),
        cmocka_unit_test(test_adamw_decoupled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
