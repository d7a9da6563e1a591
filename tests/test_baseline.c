/* Tests of the gradient-trained baselines (hamrf/baseline.h): the loss
 * against the models' own evaluation (hrf_hnn_eval, hrf_odenet_eval), the
 * analytic gradient against central differences of the loss (HNN and
 * ODE-net, dims 2, 4 and 8, one and several threads, tanh and an activation
 * without a vectorised σ''), training with Adam lowering the loss on the
 * pendulum, the saved model agreeing with the training loss, the anchor,
 * determinism, the time limit and bad input. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hamrf/baseline.h"
#include "hamrf/hnn.h"
#include "hamrf/odenet.h"
#include "hamrf/optim.h"
#include "hamrf/rng.h"
#include "hamrf/status.h"
#include "hamrf/systems.h"
#include "test_util_act.h"

/* Central differences of the loss with step FD_STEP·max(1, |θ_j|): for a
 * loss of order 1..10 the rounding error is ~eps·L/h ≈ 2e-9 and the
 * truncation error h²·|L'''|/6 ≈ 1e-10, against gradients of norm ≳ 0.1;
 * 1e-6 relative (in the 2-norm and in the largest entry) leaves a wide
 * margin while a wrong term or factor gives errors of order 1. */
#define FD_STEP 1e-6
#define FD_TOL 1e-6
/* The loss against the models' own evaluation: the same float64 sums in
 * another order (and libm's tanh against the vectorised one): ~1e-15
 * relative. */
#define LOSS_REF_TOL 1e-12
/* Adam (lr 1e-2, 300 steps of 128 points, width 50) must at least halve
 * the loss of the PyTorch initialisation on the pendulum (measured: the
 * loss drops by a factor of about 40); a wrong gradient sign or a stalled
 * loop leaves it near 1. */
#define TRAIN_DROP 0.5
/* The anchor: Ĥ(x0) = H0 after training, up to rounding of the sum of M
 * terms of size ≲ 1. */
#define ANCHOR_TOL 1e-12

static hrf_dataset *make_data(const char *system, size_t n, uint64_t seed) {
    const hrf_system_type *t;
    assert_int_equal(hrf_system_find(system, &t), HRF_OK);
    hrf_system sys;
    hrf_system_init(&sys, t);
    hrf_generate_params gp;
    hrf_generate_params_default(&gp);
    gp.n = n;
    gp.seed = seed;
    hrf_dataset *d = NULL;
    assert_int_equal(hrf_dataset_generate(&sys, &gp, &d), HRF_OK);
    return d;
}

static void random_fill(hrf_rng *rng, size_t n, double scale, double *v) {
    for (size_t i = 0; i < n; i++)
        v[i] = scale * hrf_rng_normal(rng);
}

typedef int (*loss_grad_fn)(size_t, size_t, const hrf_activation *, const double *, size_t,
                            const double *, const double *, double *, double *);

/* Analytic gradient against central differences at a random θ. */
static void check_fd(loss_grad_fn f, size_t np, size_t dim, size_t M, size_t n,
                     const hrf_activation *act, uint64_t seed) {
    hrf_rng rng;
    hrf_rng_seed(&rng, seed);
    double *theta = malloc(np * sizeof *theta), *g = malloc(np * sizeof *g);
    double *x = malloc(n * dim * sizeof *x), *y = malloc(n * dim * sizeof *y);
    random_fill(&rng, np, 0.7, theta);
    random_fill(&rng, n * dim, 1.0, x);
    random_fill(&rng, n * dim, 1.0, y);
    double L;
    assert_int_equal(f(dim, M, act, theta, n, x, y, &L, g), HRF_OK);
    assert_true(isfinite(L) && L > 0);
    double err2 = 0, ref2 = 0, worst = 0, gmax = 0;
    for (size_t j = 0; j < np; j++) {
        double t = theta[j], h = FD_STEP * fmax(1.0, fabs(t)), Lp, Lm;
        theta[j] = t + h;
        assert_int_equal(f(dim, M, act, theta, n, x, y, &Lp, NULL), HRF_OK);
        theta[j] = t - h;
        assert_int_equal(f(dim, M, act, theta, n, x, y, &Lm, NULL), HRF_OK);
        theta[j] = t;
        double fd = (Lp - Lm) / (2 * h);
        err2 += (fd - g[j]) * (fd - g[j]);
        ref2 += fd * fd;
        worst = fmax(worst, fabs(fd - g[j]));
        gmax = fmax(gmax, fabs(fd));
    }
    double rel = sqrt(err2 / ref2), relmax = worst / gmax;
    printf("  %s dim %zu width %zu n %zu: loss %.3e, |grad| %.3e, FD rel error %.2e (max %.2e)\n",
           act->name, dim, M, n, L, sqrt(ref2), rel, relmax);
    assert_true(ref2 > 0);
    assert_true(rel < FD_TOL);
    assert_true(relmax < FD_TOL);
    free(theta), free(g), free(x), free(y);
}

static void test_hnn_gradient_fd(void **state) {
    (void)state;
    /* dims 2, 4, 6 (specialised code), 8 (generic); one point, a few, 37
     * (blocks of 4 points and a remainder), and a batch of 200 x 200 that
     * runs on several threads. */
    static const size_t dims[] = {2, 4, 6, 8}, ns[] = {1, 5, 37};
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < 3; j++)
            check_fd(hrf_gd_hnn_loss_grad, hrf_gd_hnn_nparams(dims[i], 7), dims[i], 7, ns[j],
                     &hrf_activation_tanh, 10 * i + j + 1);
    check_fd(hrf_gd_hnn_loss_grad, hrf_gd_hnn_nparams(2, 200), 2, 200, 200, &hrf_activation_tanh,
             99);
    check_fd(hrf_gd_hnn_loss_grad, hrf_gd_hnn_nparams(4, 6), 4, 6, 9, &act_sin, 7);
}

static void test_odenet_gradient_fd(void **state) {
    (void)state;
    static const size_t dims[] = {2, 4, 6, 8}, ns[] = {1, 5, 37};
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < 3; j++)
            check_fd(hrf_gd_odenet_loss_grad, hrf_gd_odenet_nparams(dims[i], 7), dims[i], 7, ns[j],
                     &hrf_activation_tanh, 10 * i + j + 101);
    check_fd(hrf_gd_odenet_loss_grad, hrf_gd_odenet_nparams(2, 200), 2, 200, 200,
             &hrf_activation_tanh, 199);
    check_fd(hrf_gd_odenet_loss_grad, hrf_gd_odenet_nparams(4, 6), 4, 6, 9, &act_sin, 107);
}

/* The loss against the mean squared error computed from the models' own
 * evaluation (hrf_hnn_eval's ∇Ĥ, hrf_odenet_eval's f̂). */
static void test_loss_matches_models(void **state) {
    (void)state;
    const size_t dim = 4, M = 30, n = 300;
    hrf_rng rng;
    hrf_rng_seed(&rng, 5);
    double *x = malloc(n * dim * sizeof *x), *y = malloc(n * dim * sizeof *y);
    double *out = malloc(n * dim * sizeof *out);
    random_fill(&rng, n * dim, 1.0, x);
    random_fill(&rng, n * dim, 1.0, y);
    /* HNN */
    size_t np = hrf_gd_hnn_nparams(dim, M);
    assert_int_equal(np, M * (dim + 2));
    double *th = malloc(hrf_gd_odenet_nparams(dim, M) * sizeof *th);
    random_fill(&rng, np, 0.7, th);
    hrf_hnn *h = NULL;
    assert_int_equal(hrf_hnn_from_params(dim, M, NULL, th, th + M * dim, th + M * dim + M, 0.3, &h),
                     HRF_OK);
    assert_int_equal(hrf_hnn_eval(h, n, x, NULL, out), HRF_OK);
    double ref = 0, L;
    for (size_t i = 0; i < n * dim; i++)
        ref += (out[i] - y[i]) * (out[i] - y[i]);
    ref /= (double)(n * dim);
    assert_int_equal(hrf_gd_hnn_loss_grad(dim, M, NULL, th, n, x, y, &L, NULL), HRF_OK);
    printf("  hnn loss %.15e vs eval %.15e\n", L, ref);
    assert_true(fabs(L - ref) <= LOSS_REF_TOL * ref);
    hrf_hnn_free(h);
    /* ODE-net */
    np = hrf_gd_odenet_nparams(dim, M);
    assert_int_equal(np, M * (2 * dim + 1) + dim);
    random_fill(&rng, np, 0.7, th);
    hrf_odenet *o = NULL;
    assert_int_equal(hrf_odenet_from_params(dim, M, NULL, th, th + M * dim, th + M * dim + M,
                                            th + M * (2 * dim + 1), &o),
                     HRF_OK);
    assert_int_equal(hrf_odenet_eval(o, n, x, out), HRF_OK);
    ref = 0;
    for (size_t i = 0; i < n * dim; i++)
        ref += (out[i] - y[i]) * (out[i] - y[i]);
    ref /= (double)(n * dim);
    assert_int_equal(hrf_gd_odenet_loss_grad(dim, M, NULL, th, n, x, y, &L, NULL), HRF_OK);
    printf("  odenet loss %.15e vs eval %.15e\n", L, ref);
    assert_true(fabs(L - ref) <= LOSS_REF_TOL * ref);
    hrf_odenet_free(o);
    /* Bad shapes. */
    assert_int_equal(hrf_gd_hnn_loss_grad(dim, 0, NULL, th, n, x, y, &L, NULL), HRF_EINVAL);
    assert_int_equal(hrf_gd_odenet_loss_grad(dim, M, NULL, th, 0, x, y, &L, NULL), HRF_EINVAL);
    free(th), free(x), free(y), free(out);
}

static void small_params(hrf_gd_params *p) {
    hrf_gd_params_default(p);
    p->width = 50;
    p->steps = 300;
    p->batch = 128;
    p->optim.lr = 1e-2;
}

/* The mean squared error of the trained HNN's ∇Ĥ against J⁻¹ dx/dt on the
 * whole data set, from hrf_hnn_eval. */
static double hnn_mse(const hrf_hnn *m, const hrf_dataset *d) {
    const size_t n = d->n, dim = d->dim;
    double *g = malloc(n * dim * sizeof *g), *gr = malloc(n * dim * sizeof *gr);
    hrf_dataset_gradient_targets(d, g);
    assert_int_equal(hrf_hnn_eval(m, n, d->x, NULL, gr), HRF_OK);
    double s = 0;
    for (size_t i = 0; i < n * dim; i++)
        s += (gr[i] - g[i]) * (gr[i] - g[i]);
    free(g), free(gr);
    return s / (double)(n * dim);
}

static void test_train_hnn_pendulum(void **state) {
    (void)state;
    hrf_dataset *d = make_data("pendulum", 500, 1);
    /* An anchor away from the origin and with H0 ≠ 0, so that c_0 matters. */
    d->x0[0] = 0.4, d->x0[1] = -0.3;
    d->H0 = 1.25;
    hrf_gd_params p;
    small_params(&p);
    assert_null(hrf_gd_params_check(&p));
    assert_string_equal(p.optimizer->name, "adam");
    hrf_hnn *m = NULL;
    hrf_gd_report rep;
    int rc = hrf_gd_train_hnn(&p, d, &m, &rep);
    if (rc) fprintf(stderr, "train failed: %s\n", hrf_last_error());
    assert_int_equal(rc, HRF_OK);
    printf("  adam hnn: loss %.3e -> %.3e (last batch %.3e) in %zu steps, %.3f s\n",
           rep.initial_loss, rep.full_loss, rep.final_loss, rep.steps, rep.train_seconds);
    assert_int_equal(rep.steps, 300);
    assert_int_equal(rep.batch, 128);
    assert_int_equal(rep.evals, 300);
    assert_false(rep.stopped_early);
    assert_true(rep.full_loss < TRAIN_DROP * rep.initial_loss);
    assert_true(isfinite(rep.final_loss) && rep.final_loss > 0);
    assert_int_equal(hrf_hnn_width(m), 50);
    /* The model reproduces the reported loss, and the anchor holds. */
    double mse = hnn_mse(m, d);
    assert_true(fabs(mse - rep.full_loss) <= LOSS_REF_TOL * rep.full_loss);
    double H0;
    assert_int_equal(hrf_hnn_eval(m, 1, d->x0, &H0, NULL), HRF_OK);
    printf("  anchor: H(x0) = %.17g, H0 = %.17g\n", H0, d->H0);
    assert_true(fabs(H0 - d->H0) <= ANCHOR_TOL * fmax(1.0, fabs(d->H0)));
    /* Save and load: same values. */
    char path[] = "/tmp/hamrf_test_baseline_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(hrf_hnn_save(m, path, NULL), HRF_OK);
    hrf_hnn *l = NULL;
    assert_int_equal(hrf_hnn_load(path, &l, NULL), HRF_OK);
    unlink(path);
    assert_memory_equal(hrf_hnn_W(l), hrf_hnn_W(m), 50 * 2 * sizeof(double));
    assert_true(hrf_hnn_c0(l) == hrf_hnn_c0(m));
    assert_true(hnn_mse(l, d) == mse);
    hrf_hnn_free(l);
    hrf_hnn_free(m);

    /* The starting point is the documented initialisation. */
    double *th = malloc(hrf_gd_hnn_nparams(2, 50) * sizeof *th);
    assert_int_equal(hrf_gd_hnn_init(&p, 2, th), HRF_OK);
    for (size_t j = 0; j < 150; j++) /* W, b in ±1/√2 */
        assert_true(fabs(th[j]) <= 1 / sqrt(2.0));
    for (size_t j = 150; j < 200; j++) /* c in ±1/√50 */
        assert_true(fabs(th[j]) <= 1 / sqrt(50.0));
    double *g = malloc(d->n * 2 * sizeof *g), L0;
    hrf_dataset_gradient_targets(d, g);
    assert_int_equal(hrf_gd_hnn_loss_grad(2, 50, NULL, th, d->n, d->x, g, &L0, NULL), HRF_OK);
    assert_true(L0 == rep.initial_loss);
    free(g), free(th);
    hrf_dataset_free(d);
}

static void test_train_odenet_pendulum(void **state) {
    (void)state;
    hrf_dataset *d = make_data("pendulum", 500, 1);
    hrf_gd_params p;
    small_params(&p);
    p.shuffle = 1;
    hrf_odenet *m = NULL;
    hrf_gd_report rep;
    int rc = hrf_gd_train_odenet(&p, d, &m, &rep);
    if (rc) fprintf(stderr, "train failed: %s\n", hrf_last_error());
    assert_int_equal(rc, HRF_OK);
    printf("  adam odenet: loss %.3e -> %.3e in %zu steps, %.3f s\n", rep.initial_loss,
           rep.full_loss, rep.steps, rep.train_seconds);
    assert_true(rep.full_loss < TRAIN_DROP * rep.initial_loss);
    hrf_odenet_errors e;
    assert_int_equal(hrf_odenet_errors_on(m, d, &e), HRF_OK);
    assert_true(fabs(e.mse_dxdt - rep.full_loss) <= LOSS_REF_TOL * rep.full_loss);
    hrf_odenet_free(m);
    hrf_dataset_free(d);
}

/* Same seed (and thread count) → the same θ bit for bit; another seed or
 * another batch order → another θ. */
static void test_deterministic(void **state) {
    (void)state;
    hrf_dataset *d = make_data("pendulum", 300, 3);
    hrf_gd_params p;
    small_params(&p);
    p.steps = 40;
    for (int shuffle = 0; shuffle < 2; shuffle++) {
        p.shuffle = shuffle;
        p.seed = 1;
        hrf_hnn *a = NULL, *b = NULL, *c = NULL;
        assert_int_equal(hrf_gd_train_hnn(&p, d, &a, NULL), HRF_OK);
        assert_int_equal(hrf_gd_train_hnn(&p, d, &b, NULL), HRF_OK);
        assert_memory_equal(hrf_hnn_W(a), hrf_hnn_W(b), 100 * sizeof(double));
        assert_memory_equal(hrf_hnn_b(a), hrf_hnn_b(b), 50 * sizeof(double));
        assert_memory_equal(hrf_hnn_c(a), hrf_hnn_c(b), 50 * sizeof(double));
        assert_true(hrf_hnn_c0(a) == hrf_hnn_c0(b));
        p.seed = 2;
        assert_int_equal(hrf_gd_train_hnn(&p, d, &c, NULL), HRF_OK);
        assert_true(memcmp(hrf_hnn_W(a), hrf_hnn_W(c), 100 * sizeof(double)) != 0);
        hrf_hnn_free(a), hrf_hnn_free(b), hrf_hnn_free(c);
    }
    /* Shuffled and sequential batches differ (same initialisation). */
    hrf_hnn *s = NULL, *q = NULL;
    p.seed = 1;
    p.shuffle = 0;
    assert_int_equal(hrf_gd_train_hnn(&p, d, &q, NULL), HRF_OK);
    p.shuffle = 1;
    assert_int_equal(hrf_gd_train_hnn(&p, d, &s, NULL), HRF_OK);
    assert_true(memcmp(hrf_hnn_W(s), hrf_hnn_W(q), 100 * sizeof(double)) != 0);
    hrf_hnn_free(s), hrf_hnn_free(q);
    hrf_dataset_free(d);
}

/* Full batch (batch 0, or larger than the data set: clipped) and the time
 * limit. */
static void test_batch_and_time_limit(void **state) {
    (void)state;
    hrf_dataset *d = make_data("pendulum", 200, 4);
    hrf_gd_params p;
    small_params(&p);
    p.steps = 5;
    hrf_hnn *a = NULL, *b = NULL;
    hrf_gd_report ra, rb;
    p.batch = 0;
    assert_int_equal(hrf_gd_train_hnn(&p, d, &a, &ra), HRF_OK);
    p.batch = 100000;
    assert_int_equal(hrf_gd_train_hnn(&p, d, &b, &rb), HRF_OK);
    assert_int_equal(ra.batch, 200);
    assert_int_equal(rb.batch, 200);
    assert_memory_equal(hrf_hnn_W(a), hrf_hnn_W(b), 100 * sizeof(double));
    /* With full batches the last step's loss is a full-data loss. */
    assert_true(ra.final_loss > ra.full_loss); /* Adam decreased it once more */
    hrf_hnn_free(a), hrf_hnn_free(b);
    /* A time limit that the first step exceeds stops after one step. */
    p.batch = 64;
    p.steps = 1000000;
    p.time_limit_seconds = 1e-9;
    assert_int_equal(hrf_gd_train_hnn(&p, d, &a, &ra), HRF_OK);
    assert_int_equal(ra.steps, 1);
    assert_true(ra.stopped_early);
    hrf_hnn_free(a);
    hrf_dataset_free(d);
}

static int progress_calls;
static size_t progress_last;
static void count_progress(void *user, size_t step, double loss, double rate) {
    (void)user;
    assert_true(isfinite(loss) && rate > 0);
    progress_calls++;
    progress_last = step;
}

static void test_progress_and_sgd(void **state) {
    (void)state;
    hrf_dataset *d = make_data("pendulum", 200, 4);
    hrf_gd_params p;
    small_params(&p);
    assert_int_equal(hrf_optimizer_find("sgd", &p.optimizer), HRF_OK);
    hrf_optim_params_default(p.optimizer, &p.optim);
    p.optim.lr = 0.05;
    p.steps = 50;
    p.progress = count_progress;
    progress_calls = 0;
    hrf_hnn *m = NULL;
    hrf_gd_report r;
    assert_int_equal(hrf_gd_train_hnn(&p, d, &m, &r), HRF_OK);
    assert_true(progress_calls >= 1);
    assert_int_equal(progress_last, 50);
    assert_true(r.full_loss < r.initial_loss);
    hrf_hnn_free(m);
    hrf_dataset_free(d);
}

static void test_bad_input(void **state) {
    (void)state;
    hrf_gd_params p;
    hrf_gd_params_default(&p);
    assert_null(hrf_gd_params_check(&p));
    assert_int_equal(p.steps, 1000);
    assert_int_equal(p.batch, 2048);
    assert_int_equal(p.width, 1000);
    p.width = 0;
    assert_non_null(strstr(hrf_gd_params_check(&p), "width"));
    hrf_gd_params_default(&p);
    p.steps = 0;
    assert_non_null(strstr(hrf_gd_params_check(&p), "steps"));
    hrf_gd_params_default(&p);
    p.optim.lr = NAN;
    const char *msg = hrf_gd_params_check(&p);
    assert_non_null(msg);
    printf("  NaN lr: %s\n", msg);
    hrf_gd_params_default(&p);
    p.time_limit_seconds = -1;
    assert_non_null(strstr(hrf_gd_params_check(&p), "time limit"));
    hrf_gd_params_default(&p);
    p.optimizer = NULL;
    assert_non_null(hrf_gd_params_check(&p));
    const hrf_optimizer_type *t = NULL;
    assert_int_equal(hrf_optimizer_find("nope", &t), HRF_ENOTFOUND);
    assert_non_null(strstr(hrf_last_error(), "adam"));

    /* Training refuses what check refuses, and bad data. */
    hrf_dataset *d = make_data("pendulum", 50, 4);
    hrf_gd_params_default(&p);
    p.width = 0;
    hrf_hnn *m = NULL;
    hrf_odenet *o = NULL;
    assert_int_equal(hrf_gd_train_hnn(&p, d, &m, NULL), HRF_EINVAL);
    assert_null(m);
    assert_int_equal(hrf_gd_train_odenet(&p, d, &o, NULL), HRF_EINVAL);
    assert_null(o);
    hrf_gd_params_default(&p);
    p.width = 5;
    p.steps = 2;
    size_t n = d->n;
    d->n = 0;
    assert_int_equal(hrf_gd_train_hnn(&p, d, &m, NULL), HRF_EDATA);
    d->n = n;
    /* A learning rate that diverges is a numerical failure naming the step. */
    p.optim.lr = 1e300;
    p.steps = 50;
    int rc = hrf_gd_train_hnn(&p, d, &m, NULL);
    printf("  huge lr: %s: %s\n", hrf_strerror(rc), hrf_last_error());
    assert_int_equal(rc, HRF_ENUMERIC);
    assert_null(m);
    hrf_dataset_free(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hnn_gradient_fd),
        cmocka_unit_test(test_odenet_gradient_fd),
        cmocka_unit_test(test_loss_matches_models),
        cmocka_unit_test(test_train_hnn_pendulum),
        cmocka_unit_test(test_train_odenet_pendulum),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_batch_and_time_limit),
        cmocka_unit_test(test_progress_and_sgd),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
