/* Tests of the graph network trained by gradient descent (hamrf/baseline.h,
 * hrf_gd_train_hgn): the analytic gradient of the loss against finite
 * differences in both modes on a bonded chain and a periodic cutoff system
 * (every parameter block), the loss against the model's own evaluation,
 * each of the fifteen optimizers lowering the loss, determinism, save/load
 * and the trained model's forces, bad input. */
#include "test_util_act.h"
#include "test_util_hgn.h"

#include <omp.h>
#include <unistd.h>

#include "baselines/train_hgn_impl.h"
#include "hamrf/baseline.h"
#include "hamrf/optim.h"

/* Finite differences: the fourth-order central formula
 *   g ≈ [8(L(θ+h) − L(θ−h)) − (L(θ+2h) − L(θ−2h))] / (12h),
 * h = FD_STEP·max(1, |θ_j|). Its truncation error is h⁴·|L⁽⁵⁾|/30 ≈ 3e-14
 * for derivatives of order 1, its rounding error about 1.5·ε·L/h ≈ 3e-13·L;
 * against per-block gradients of size ≳ 1e-3·L that leaves two orders of
 * magnitude below FD_TOL, while a wrong term or factor gives errors of
 * order 1 (measured errors are printed). The error of a block is
 * max_j |fd_j − g_j| / max_j |g_j| over the block's entries. */
#define FD_STEP 1e-3
#define FD_TOL 1e-6
/* The loss against hrf_hgn_errors_on's mse_dxdt of the model built from θ:
 * the same sums in another order and libm's tanh against the one-exponential
 * form: ~1e-15 relative. */
#define LOSS_REF_TOL 1e-12

/* ---- data ---- */

/* S snapshots of N particles in a periodic cube (side L, cutoff rc) with a
 * Lennard-Jones potential truncated at rc: random positions (pairs at
 * least 0.9 apart), Gaussian momenta, masses in [0.5, 1.5], the exact
 * derivatives and H. */
static hrf_pdata *make_lj(size_t N, int D, double L, double rc, size_t S, uint64_t seed) {
    hrf_pdata *d = calloc(1, sizeof *d);
    assert_non_null(d);
    const size_t nd = N * D;
    d->S = S, d->N = N, d->D = D, d->box = L, d->cutoff = rc;
    d->q = calloc(S * nd, sizeof(double)), d->p = calloc(S * nd, sizeof(double));
    d->dqdt = calloc(S * nd, sizeof(double)), d->dpdt = calloc(S * nd, sizeof(double));
    d->H = calloc(S, sizeof(double)), d->mass = calloc(N, sizeof(double));
    hrf_rng rng;
    hrf_rng_seed(&rng, seed);
    for (size_t i = 0; i < N; i++)
        d->mass[i] = hrf_rng_uniform_range(&rng, 0.5, 1.5);
    for (size_t s = 0; s < S; s++) {
        double *q = d->q + s * nd, *p = d->p + s * nd, *dp = d->dpdt + s * nd;
        random_box(N, D, L, rc, 0.9, &rng, q);
        for (size_t t = 0; t < nd; t++) {
            p[t] = 0.5 * hrf_rng_normal(&rng);
            d->dqdt[s * nd + t] = p[t] / d->mass[t / D];
            d->H[s] += 0.5 * p[t] * p[t] / d->mass[t / D];
        }
        for (size_t i = 0; i < N; i++)
            for (size_t j = i + 1; j < N; j++) {
                double u[3], r = 0;
                for (int a = 0; a < D; a++) {
                    u[a] = q[i * D + a] - q[j * D + a];
                    u[a] -= L * nearbyint(u[a] / L);
                    r += u[a] * u[a];
                }
                r = sqrt(r);
                if (r >= rc) continue;
                double i6 = pow(r, -6), c6 = pow(rc, -6);
                d->H[s] += 4 * (i6 * i6 - i6) - 4 * (c6 * c6 - c6);
                double dV = 4 * (-12 * i6 * i6 + 6 * i6) / r; /* V'(r) */
                for (int a = 0; a < D; a++)
                    dp[i * D + a] -= dV * u[a] / r, dp[j * D + a] += dV * u[a] / r;
            }
    }
    return d;
}

static hrf_gd_hgn_arch arch(hrf_hgn_mode mode, size_t ME, size_t MK, size_t MN) {
    hrf_gd_hgn_arch a;
    hrf_gd_hgn_arch_default(&a);
    a.mode = mode, a.edge_width = ME, a.kinetic_width = MK, a.node_width = MN;
    return a;
}

/* θ: PyTorch's initialisation for seed, plus N(0, 0.3²) so that no
 * parameter is special (e.g. θ_T near 0). */
static double *random_theta(const hrf_gd_hgn_arch *a, uint64_t seed) {
    hrf_gd_params p;
    hrf_gd_params_default(&p);
    p.seed = seed;
    size_t np = hrf_gd_hgn_nparams(a);
    double *theta = malloc(np * sizeof *theta);
    assert_int_equal(hrf_gd_hgn_init(&p, a, theta), HRF_OK);
    hrf_rng rng;
    hrf_rng_seed(&rng, seed + 100);
    for (size_t j = 0; j < np; j++)
        theta[j] += 0.3 * hrf_rng_normal(&rng);
    return theta;
}

/* ---- (1) gradients against finite differences ---- */

static double loss_at(const hrf_gd_hgn_arch *a, const hrf_activation *act, const double *theta,
                      const hrf_pdata *d) {
    double L;
    assert_int_equal(hrf_gd_hgn_loss_grad(a, act, theta, d, &L, NULL), HRF_OK);
    return L;
}

/* Every block of θ against fourth-order central differences; the loss
 * against the model's mse_dxdt. */
static void check_fd(const hrf_gd_hgn_arch *a, const hrf_activation *act, const hrf_pdata *d,
                     uint64_t seed, const char *what) {
    const size_t ME = a->edge_width, MK = a->kinetic_width;
    const size_t MN = a->mode == HRF_HGN_MP ? a->node_width : 0;
    const size_t np = hrf_gd_hgn_nparams(a);
    double *theta = random_theta(a, seed), *g = malloc(np * sizeof *g);
    double L;
    assert_int_equal(hrf_gd_hgn_loss_grad(a, act, theta, d, &L, g), HRF_OK);
    assert_true(isfinite(L) && L > 0);
    /* the loss is the model's own mse_dxdt */
    hrf_hgn *m = NULL;
    assert_int_equal(hrf_gd_hgn_model(a, act, theta, d, &m), HRF_OK);
    hrf_hgn_errors err;
    assert_int_equal(hrf_hgn_errors_on(m, d, &err), HRF_OK);
    assert_true(fabs(err.mse_dxdt - L) <= LOSS_REF_TOL * L);
    hrf_hgn_free(m);
    /* blocks: name, start, length */
    const char *names[] = {"w_E",     "b_E", "theta_E", "W_K",     "b_K",
                           "theta_K", "W_N", "b_N",     "theta_N", "theta_T"};
    const size_t len[] = {ME, ME, ME, 2 * MK, MK, MK, MN * ME, MN, MN, a->kinetic_linear ? 1 : 0};
    size_t start = 0;
    printf("  %s (%s, %s, M_E %zu, M_K %zu, M_N %zu, %zu snapshots of %zu): loss %.4e\n", what,
           hrf_hgn_mode_name(a->mode), act ? act->name : "tanh", ME, MK, MN, d->S, d->N, L);
    for (int b = 0; b < 10; b++) {
        if (!len[b]) continue;
        double worst = 0, gmax = 0;
        for (size_t j = start; j < start + len[b]; j++) {
            double t = theta[j], h = FD_STEP * fmax(1.0, fabs(t)), Lv[4];
            const double off[4] = {h, -h, 2 * h, -2 * h};
            for (int k = 0; k < 4; k++) {
                theta[j] = t + off[k];
                Lv[k] = loss_at(a, act, theta, d);
            }
            theta[j] = t;
            double fd = (8 * (Lv[0] - Lv[1]) - (Lv[2] - Lv[3])) / (12 * h);
            worst = fmax(worst, fabs(fd - g[j]));
            gmax = fmax(gmax, fabs(g[j]));
        }
        printf("    %-8s %5zu entries: max|grad| %.3e, FD rel error %.2e\n", names[b], len[b], gmax,
               worst / gmax);
        assert_true(gmax > 0);
        assert_true(worst <= FD_TOL * gmax);
        start += len[b];
    }
    assert_int_equal(start, np);
    free(theta), free(g);
}

static void test_gradient_fd_chain(void **state) {
    (void)state;
    hrf_pdata *d = make_chain(5, 2, 3, 11);
    for (size_t i = 0; i < d->N; i++) /* unequal masses: the 1/m_i input matters */
        d->mass[i] = 0.6 + 0.2 * (double)i;
    hrf_gd_hgn_arch a = arch(HRF_HGN_PAIR, 7, 5, 0);
    check_fd(&a, NULL, d, 1, "chain");
    a = arch(HRF_HGN_MP, 7, 5, 4);
    check_fd(&a, NULL, d, 2, "chain");
    check_fd(&a, &act_sin, d, 5, "chain"); /* the general activation path */
    pdata_free(d);
}

static void test_gradient_fd_cutoff(void **state) {
    (void)state;
    hrf_pdata *d = make_lj(14, 3, 3.6, 1.6, 2, 12);
    hrf_gd_hgn_arch a = arch(HRF_HGN_PAIR, 6, 4, 0);
    check_fd(&a, NULL, d, 3, "periodic LJ");
    a = arch(HRF_HGN_MP, 6, 4, 5);
    a.kinetic_linear = 0;
    check_fd(&a, NULL, d, 4, "periodic LJ");
    pdata_free(d);
}

/* The edge features kept between the passes over a snapshot's pairs (the
 * default here) or recomputed (the route of snapshots with many pairs):
 * the same loss and gradient to the bit, in both modes, with one thread and
 * with two (in mode mp the 8 snapshots are then split between them). */
static void test_feature_cache_routes(void **state) {
    (void)state;
    hrf_pdata *d = make_lj(14, 3, 3.6, 1.6, 8, 26);
    for (int mode = 0; mode < 2; mode++) {
        hrf_gd_hgn_arch a = arch(mode ? HRF_HGN_MP : HRF_HGN_PAIR, 9, 4, 6);
        const size_t np = hrf_gd_hgn_nparams(&a);
        double *theta = random_theta(&a, 30 + mode), *g1 = malloc(np * 8), *g2 = malloc(np * 8);
        double L1, L2;
        for (int threads = 1; threads <= 2; threads++) {
            int saved = omp_get_max_threads();
            omp_set_num_threads(threads);
            hgd *h1 = NULL, *h2 = NULL;
            assert_int_equal(hgd_new(&a, &hrf_activation_tanh, d, 0, &h1), HRF_OK);
            assert_int_equal(hgd_new(&a, &hrf_activation_tanh, d, 1, &h2), HRF_OK);
            omp_set_num_threads(saved);
            hgd_select(h1, NULL, d->S), hgd_select(h2, NULL, d->S);
            assert_int_equal(hgd_loss_grad(h1, theta, &L1, g1), HRF_OK);
            assert_int_equal(hgd_loss_grad(h2, theta, &L2, g2), HRF_OK);
            assert_true(L1 == L2);
            assert_memory_equal(g1, g2, np * sizeof *g1);
            hgd_free(h1), hgd_free(h2);
        }
        free(theta), free(g1), free(g2);
    }
    pdata_free(d);
}

/* ---- (2) training with every optimizer ---- */

static hrf_gd_params gd_params(const char *opt, size_t steps, size_t batch, uint64_t seed) {
    hrf_gd_params p;
    hrf_gd_params_default(&p);
    assert_int_equal(hrf_optimizer_find(opt, &p.optimizer), HRF_OK);
    hrf_optim_params_default(p.optimizer, &p.optim);
    p.steps = steps, p.batch = batch, p.seed = seed;
    return p;
}

/* Each optimizer for 40 steps on a harmonic chain (pair mode, M_E 16,
 * M_K 8; Rprop and L-BFGS on the full batch, the others on 8 of the 24
 * snapshots) from the same initialisation, with PyTorch's default lr except
 * where that barely moves in 40 steps (SGD 1e-3: ratio 0.993; momentum,
 * Nesterov, RAdam: 0.95), which get a larger one. The full-data loss must
 * fall below `ratio` times its initial value: about twice the measured
 * ratio (in brackets), at most 0.8, so a wrong gradient or a stalled loop
 * fails. */
static void test_each_optimizer_lowers_loss(void **state) {
    (void)state;
    struct {
        const char *name;
        double lr, ratio; /* lr 0: PyTorch's default */
    } cases[] = {
        {"sgd", 0.1, 0.8},       /* [0.63] */
        {"momentum", 1e-2, 0.8}, /* [0.67] */
        {"nesterov", 1e-2, 0.8}, /* [0.67] */
        {"adagrad", 0, 0.55},    /* [0.27] */
        {"adadelta", 0, 0.6},    /* [0.30] */
        {"rmsprop", 0, 0.035},   /* [0.017] */
        {"adam", 0, 0.8},        /* [0.58] */
        {"adamw", 0, 0.8},       /* [0.58] */
        {"adamax", 0, 0.8},      /* [0.44] */
        {"nadam", 0, 0.8},       /* [0.41] */
        {"radam", 1e-2, 0.8},    /* [0.64] */
        {"amsgrad", 0, 0.8},     /* [0.58] */
        {"adafactor", 0, 0.35},  /* [0.16] */
        {"rprop", 0, 2e-3},      /* [7.7e-4] */
        {"lbfgs", 0, 1e-4},      /* [3.2e-5] */
    };
    hrf_pdata *d = make_chain(6, 2, 24, 21);
    hrf_gd_hgn_arch a = arch(HRF_HGN_PAIR, 16, 8, 0);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        hrf_gd_params p = gd_params(cases[k].name, 40, 8, 5);
        if (p.optimizer->full_batch) p.batch = 0;
        if (cases[k].lr > 0) p.optim.lr = cases[k].lr;
        hrf_hgn *m = NULL;
        hrf_gd_report rep;
        int rc = hrf_gd_train_hgn(&p, &a, d, &m, &rep);
        if (rc) fail_msg("%s: %s", cases[k].name, hrf_last_error());
        printf("  %-10s lr %-6g loss %.4e -> %.4e (ratio %.3g, %zu evals)\n", cases[k].name,
               p.optim.lr, rep.initial_loss, rep.full_loss, rep.full_loss / rep.initial_loss,
               rep.evals);
        if (!(rep.full_loss <= cases[k].ratio * rep.initial_loss))
            fail_msg("%s: loss ratio %.3g, want <= %g", cases[k].name,
                     rep.full_loss / rep.initial_loss, cases[k].ratio);
        hrf_hgn_free(m);
    }
    pdata_free(d);
}

/* ---- (3) determinism ---- */

static void same_params(const hrf_hgn *a, const hrf_hgn *b, int exact) {
    const size_t ME = hrf_hgn_edge_width(a), MK = hrf_hgn_kinetic_width(a);
    const size_t MN = hrf_hgn_node_width(a);
    const double *pa[] = {hrf_hgn_W_E(a), hrf_hgn_b_E(a), hrf_hgn_theta_E(a),
                          hrf_hgn_W_K(a), hrf_hgn_b_K(a), hrf_hgn_theta_K(a),
                          hrf_hgn_W_N(a), hrf_hgn_b_N(a), hrf_hgn_theta_N(a)};
    const double *pb[] = {hrf_hgn_W_E(b), hrf_hgn_b_E(b), hrf_hgn_theta_E(b),
                          hrf_hgn_W_K(b), hrf_hgn_b_K(b), hrf_hgn_theta_K(b),
                          hrf_hgn_W_N(b), hrf_hgn_b_N(b), hrf_hgn_theta_N(b)};
    const size_t n[] = {ME, ME, ME, 2 * MK, MK, MK, MN * ME, MN, MN};
    double worst = 0;
    for (int k = 0; k < 9; k++)
        for (size_t j = 0; j < n[k]; j++) {
            if (exact) assert_true(pa[k][j] == pb[k][j]);
            worst = fmax(worst, fabs(pa[k][j] - pb[k][j]));
        }
    if (exact) assert_true(hrf_hgn_theta_T(a) == hrf_hgn_theta_T(b));
    if (!exact) {
        printf("  1 vs 2 threads: largest parameter difference %.2e\n", worst);
        assert_true(worst < 1e-9);
    }
}

static hrf_hgn *train_with_threads(const hrf_gd_params *p, const hrf_gd_hgn_arch *a,
                                   const hrf_pdata *d, int threads) {
    int saved = omp_get_max_threads();
    omp_set_num_threads(threads);
    hrf_hgn *m = NULL;
    int rc = hrf_gd_train_hgn(p, a, d, &m, NULL);
    omp_set_num_threads(saved);
    if (rc) fail_msg("%s", hrf_last_error());
    return m;
}

/* Same seed and thread count: identical parameters, in both modes, with
 * shuffled batches large enough to be split over the threads; one thread
 * differs from two only by rounding. */
static void test_deterministic(void **state) {
    (void)state;
    hrf_pdata *d = make_chain(40, 3, 32, 22);
    for (int mode = 0; mode < 2; mode++) {
        hrf_gd_hgn_arch a = arch(mode ? HRF_HGN_MP : HRF_HGN_PAIR, 48, 8, 8);
        hrf_gd_params p = gd_params("adam", 12, 16, 7);
        p.shuffle = 1, p.optim.lr = 1e-2;
        hrf_hgn *m1 = train_with_threads(&p, &a, d, 2), *m2 = train_with_threads(&p, &a, d, 2);
        hrf_hgn *m3 = train_with_threads(&p, &a, d, 1);
        same_params(m1, m2, 1);
        same_params(m1, m3, 0);
        p.seed = 8; /* another seed: other parameters */
        hrf_hgn *m4 = train_with_threads(&p, &a, d, 2);
        assert_true(hrf_hgn_W_E(m4)[0] != hrf_hgn_W_E(m1)[0]);
        hrf_hgn_free(m1), hrf_hgn_free(m2), hrf_hgn_free(m3), hrf_hgn_free(m4);
    }
    pdata_free(d);
}

/* ---- (4) the trained model: its file, its forces ---- */

/* Trains (pair and mp), then: the report's full loss is the model's own
 * mse_dxdt (so the model's forces and velocities are the trained
 * network's), Ĥ(snapshot 0) = H(snapshot 0) (the anchor), and the file
 * loads back with meta trained_by "gradient" and evaluates identically. */
static void test_model_and_file(void **state) {
    (void)state;
    hrf_pdata *d = make_lj(14, 3, 3.6, 1.6, 6, 23);
    char path[] = "/tmp/hamrf_gd_hgn_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    for (int mode = 0; mode < 2; mode++) {
        hrf_gd_hgn_arch a = arch(mode ? HRF_HGN_MP : HRF_HGN_PAIR, 12, 6, 5);
        hrf_gd_params p = gd_params("adam", 10, 3, 9);
        hrf_hgn *m = NULL;
        hrf_gd_report rep;
        assert_int_equal(hrf_gd_train_hgn(&p, &a, d, &m, &rep), HRF_OK);
        assert_int_equal(rep.steps, 10);
        assert_int_equal(rep.batch, 3);
        assert_int_equal(hrf_hgn_mode_of(m), a.mode);
        hrf_hgn_errors e1, e2;
        assert_int_equal(hrf_hgn_errors_on(m, d, &e1), HRF_OK);
        assert_true(fabs(e1.mse_dxdt - rep.full_loss) <= LOSS_REF_TOL * rep.full_loss);
        hrf_hgn_graph g;
        hrf_hgn_graph_of(d, &g);
        double H0, H0b;
        assert_int_equal(hrf_hgn_eval(m, d->N, d->D, d->q, d->p, d->mass, &g, &H0, NULL, NULL),
                         HRF_OK);
        assert_true(fabs(H0 - d->H[0]) <= 1e-10 * fmax(1.0, fabs(d->H[0])));
        assert_int_equal(hrf_hgn_save(m, path, NULL), HRF_OK);
        hrf_hgn *l = NULL;
        char *meta = NULL;
        assert_int_equal(hrf_hgn_load(path, &l, &meta), HRF_OK);
        assert_non_null(strstr(meta, "\"trained_by\":\"gradient\""));
        assert_non_null(strstr(meta, "\"optimizer\":\"adam\""));
        assert_non_null(strstr(meta, "\"n_snapshots\":6"));
        same_params(m, l, 1);
        assert_int_equal(hrf_hgn_errors_on(l, d, &e2), HRF_OK);
        assert_true(e1.mse_dxdt == e2.mse_dxdt && e1.rel_l2_H == e2.rel_l2_H);
        assert_int_equal(hrf_hgn_eval(l, d->N, d->D, d->q, d->p, d->mass, &g, &H0b, NULL, NULL),
                         HRF_OK);
        assert_true(H0 == H0b);
        free(meta);
        hrf_hgn_free(m), hrf_hgn_free(l);
    }
    unlink(path);
    pdata_free(d);
}

/* ---- (5) bad input ---- */

static void expect_error(int rc, int want, const char *fragment) {
    assert_int_equal(rc, want);
    if (!strstr(hrf_last_error(), fragment))
        fail_msg("message '%s' lacks '%s'", hrf_last_error(), fragment);
}

static void test_bad_input(void **state) {
    (void)state;
    hrf_pdata *d = make_chain(5, 2, 4, 24);
    hrf_gd_params p = gd_params("adam", 5, 0, 1);
    hrf_hgn *m = NULL;
    hrf_gd_hgn_arch a = arch(HRF_HGN_PAIR, 0, 4, 0);
    expect_error(hrf_gd_train_hgn(&p, &a, d, &m, NULL), HRF_EINVAL, "edge width");
    assert_int_equal(hrf_gd_hgn_nparams(&a), 0);
    a = arch(HRF_HGN_PAIR, 4, 0, 0);
    expect_error(hrf_gd_train_hgn(&p, &a, d, &m, NULL), HRF_EINVAL, "kinetic width");
    a = arch(HRF_HGN_MP, 4, 4, 0);
    expect_error(hrf_gd_train_hgn(&p, &a, d, &m, NULL), HRF_EINVAL, "node width");
    a = arch(HRF_HGN_PAIR, 4, 4, 0); /* node width 0 is fine in pair mode */
    assert_null(hrf_gd_hgn_arch_check(&a));
    a.mode = (hrf_hgn_mode)7;
    expect_error(hrf_gd_train_hgn(&p, &a, d, &m, NULL), HRF_EINVAL, "mode");
    a = arch(HRF_HGN_PAIR, 4, 4, 0);
    p.steps = 0;
    expect_error(hrf_gd_train_hgn(&p, &a, d, &m, NULL), HRF_EINVAL, "steps");
    p = gd_params("lbfgs", 5, 0, 1);
    p.optim.weight_decay = 1e-3; /* PyTorch's L-BFGS has none */
    assert_int_equal(hrf_gd_train_hgn(&p, &a, d, &m, NULL), HRF_EINVAL);
    p = gd_params("adam", 5, 0, 1);
    const hrf_activation no_d2 = {.name = "sin", .eval = sin_eval, .s1 = 1, .s2 = 0.5};
    p.act = &no_d2;
    expect_error(hrf_gd_train_hgn(&p, &a, d, &m, NULL), HRF_EINVAL, "second derivative");
    p.act = &hrf_activation_tanh;
    /* empty data, no interactions */
    size_t S = d->S;
    d->S = 0;
    expect_error(hrf_gd_train_hgn(&p, &a, d, &m, NULL), HRF_EDATA, "empty");
    double L;
    expect_error(hrf_gd_hgn_loss_grad(&a, NULL, NULL, d, &L, NULL), HRF_EDATA, "empty");
    d->S = S;
    d->n_bonds = 0;
    expect_error(hrf_gd_train_hgn(&p, &a, d, &m, NULL), HRF_EDATA, "");
    hrf_pdata *lj = make_lj(6, 2, 6.0, 0.5, 2, 25); /* cutoff below every distance */
    expect_error(hrf_gd_train_hgn(&p, &a, lj, &m, NULL), HRF_EDATA, "no interacting pairs");
    assert_null(m);
    pdata_free(lj);
    pdata_free(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradient_fd_chain),
        cmocka_unit_test(test_gradient_fd_cutoff),
        cmocka_unit_test(test_feature_cache_routes),
        cmocka_unit_test(test_each_optimizer_lowers_loss),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_model_and_file),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
