/* Tests of the ODE-net baseline (hamrf/odenet.h): evaluation against a plain
 * loop over the formula, the Jacobian against central differences, solvers
 * against each other, accuracy on the spring and the pendulum with every
 * sampler, the vector SWIM density against the scalar one, save/load, the
 * field adapter, determinism and bad input. */
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

#include "hamrf/hnn.h"
#include "hamrf/metrics.h"
#include "core/npz.h"
#include "hamrf/odenet.h"
#include "hamrf/rng.h"
#include "hamrf/sampler.h"
#include "hamrf/status.h"
#include "hamrf/systems.h"
#include "odenet/odenet_impl.h"

/* eval (DGEMM + the library's tanh) against a plain loop with libm's tanh:
 * both are float64 sums of M = 40 terms of size |C_k| ≲ 1e2; rounding is a
 * few ulps of Σ|C_k σ| ~ 1e3, i.e. ~1e-12 absolute on outputs of order 1. */
#define EVAL_REF_TOL 1e-10
/* Central differences with step 1e-5 (relative to max(1,|x|)) on a smooth
 * tanh network: truncation h²/6·|f'''| ~ 1e-10·1e2, rounding eps·|f|/h ~
 * 1e-11·1e2, against Jacobian entries of order 1..1e2. */
#define FD_STEP 1e-5
#define FD_TOL 1e-6
/* Solvers on a well-conditioned problem (ELM width 15 on 400 points, the
 * condition of Φ is ~1e3): backward-stable solvers agree to ~1e-13·κ; the
 * normal route squares κ (1e6·1e-16) before PCG; 1e-8 leaves wide slack
 * while a wrong column, sign or right-hand side gives errors of order 1. */
#define SOLVER_AGREE_TOL 1e-8
/* Accuracy bounds: relative L2 error of dx/dt on a separate test set (2000
 * points, seed 2), auto solver (dense QR at these sizes), seed 1. Measured
 * (2 threads, OpenBLAS Haswell kernels):
 *              elm      uswim    swim     aswim
 *   spring   6.9e-11  6.5e-10  6.5e-10  2.5e-09   (width 200, 2000 points)
 *   pendulum 1.2e-08  8.1e-10  1.1e-09  2.8e-09   (width 500, 10000 points)
 * The bounds are ~10x the worst sampler; a broken sampler, a wrong bias or
 * a lost constant C_0 gives errors of 1e-3 or more. */
#define SPRING_TOL 2.5e-8
#define PENDULUM_TOL 1e-7
/* The normal route on the pendulum (U-SWIM, width 500): 9.9e-8 with the
 * default 50 LSQR iterations, 2.4e-6 without them (squared condition
 * number); the bound sits between, 5x above the measurement. */
#define PENDULUM_NORMAL_TOL 5e-7

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

static hrf_odenet *fit_rep(const hrf_dataset *d, const char *sampler, hrf_solver solver,
                           size_t width, uint64_t seed, hrf_odenet_fit_report *rep) {
    hrf_odenet_params p;
    hrf_odenet_params_default(&p);
    p.width = width;
    p.seed = seed;
    assert_int_equal(hrf_sampler_find(sampler, &p.sampler), HRF_OK);
    p.lstsq.solver = solver;
    hrf_odenet *m = NULL;
    int rc = hrf_odenet_fit(&p, d, &m, rep);
    if (rc) fprintf(stderr, "fit failed: %s\n", hrf_last_error());
    assert_int_equal(rc, HRF_OK);
    return m;
}

static hrf_odenet *fit(const hrf_dataset *d, const char *sampler, hrf_solver solver, size_t width,
                       uint64_t seed) {
    return fit_rep(d, sampler, solver, width, seed, NULL);
}

static double test_error(const hrf_odenet *m, const hrf_dataset *te) {
    hrf_odenet_errors e;
    assert_int_equal(hrf_odenet_errors_on(m, te, &e), HRF_OK);
    assert_int_equal(e.n, te->n);
    return e.rel_l2_dxdt;
}

/* eval against the formula f̂(x) = Σ_k C_k tanh(w_k·x + b_k) + C_0 summed in
 * a plain loop; also at a batch size that spans several internal blocks. */
static void test_eval_matches_formula(void **state) {
    (void)state;
    hrf_dataset *d = make_data("double_pendulum", 300, 5);
    hrf_odenet *m = fit(d, "uswim", HRF_SOLVER_QR, 40, 3);
    const size_t M = hrf_odenet_width(m), dim = hrf_odenet_dim(m), n = d->n;
    assert_int_equal(dim, 4);
    const double *W = hrf_odenet_W(m), *b = hrf_odenet_b(m), *C = hrf_odenet_C(m),
                 *C0 = hrf_odenet_C0(m);
    double *f = malloc(n * dim * sizeof *f);
    assert_int_equal(hrf_odenet_eval(m, n, d->x, f), HRF_OK);
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        for (size_t a = 0; a < dim; a++) {
            double ref = C0[a];
            for (size_t k = 0; k < M; k++) {
                double z = b[k];
                for (size_t c = 0; c < dim; c++)
                    z += W[k * dim + c] * d->x[i * dim + c];
                ref += C[k * dim + a] * tanh(z);
            }
            worst = fmax(worst, fabs(f[i * dim + a] - ref) / fmax(1.0, fabs(ref)));
        }
    }
    printf("eval vs formula: max error %.3e\n", worst);
    assert_true(worst < EVAL_REF_TOL);
    /* n = 0 is a no-op. */
    assert_int_equal(hrf_odenet_eval(m, 0, d->x, f), HRF_OK);
    free(f);
    hrf_odenet_free(m);
    hrf_dataset_free(d);

    /* Many points (more than one internal row block for M = 600). */
    d = make_data("spring", 3000, 8);
    m = fit(d, "elm", HRF_SOLVER_NORMAL, 600, 4);
    f = malloc(d->n * 2 * sizeof *f);
    double g[2];
    assert_int_equal(hrf_odenet_eval(m, d->n, d->x, f), HRF_OK);
    for (size_t i = 0; i < d->n; i += 97) {
        assert_int_equal(hrf_odenet_eval(m, 1, d->x + 2 * i, g), HRF_OK);
        for (int a = 0; a < 2; a++)
            assert_true(fabs(g[a] - f[2 * i + a]) <= EVAL_REF_TOL * fmax(1.0, fabs(g[a])));
    }
    free(f);
    hrf_odenet_free(m);
    hrf_dataset_free(d);
}

/* jac[i][a][b] = ∂f̂_a/∂x_b against central differences of eval. */
static void test_jacobian_fd(void **state) {
    (void)state;
    hrf_dataset *d = make_data("henon_heiles", 500, 2);
    hrf_odenet *m = fit(d, "aswim", HRF_SOLVER_AUTO, 80, 9);
    const size_t dim = hrf_odenet_dim(m), n = 7, d2 = dim * dim;
    double *jac = malloc(n * d2 * sizeof *jac), xp[8], xm[8], fp[8], fm[8];
    assert_int_equal(hrf_odenet_jacobian(m, n, d->x, jac), HRF_OK);
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        for (size_t c = 0; c < dim; c++) {
            memcpy(xp, d->x + i * dim, dim * sizeof *xp);
            memcpy(xm, xp, dim * sizeof *xm);
            double h = FD_STEP * fmax(1.0, fabs(xp[c]));
            xp[c] += h, xm[c] -= h;
            assert_int_equal(hrf_odenet_eval(m, 1, xp, fp), HRF_OK);
            assert_int_equal(hrf_odenet_eval(m, 1, xm, fm), HRF_OK);
            for (size_t a = 0; a < dim; a++) {
                double fd = (fp[a] - fm[a]) / (xp[c] - xm[c]);
                double an = jac[i * d2 + a * dim + c];
                worst = fmax(worst, fabs(fd - an) / fmax(1.0, fabs(an)));
            }
        }
    }
    printf("jacobian vs central differences: max error %.3e\n", worst);
    assert_true(worst < FD_TOL);
    /* A batch gives the same as one point at a time (up to BLAS rounding). */
    double one[16];
    assert_int_equal(hrf_odenet_jacobian(m, 1, d->x + 3 * dim, one), HRF_OK);
    for (size_t j = 0; j < d2; j++)
        assert_true(fabs(one[j] - jac[3 * d2 + j]) <= 1e-12 * fmax(1.0, fabs(one[j])));
    free(jac);
    hrf_odenet_free(m);
    hrf_dataset_free(d);
}

/* svd, qr, normal and auto give the same (C, C0) on a well-conditioned problem. */
static void test_solvers_agree(void **state) {
    (void)state;
    hrf_dataset *d = make_data("spring", 400, 3);
    hrf_odenet_fit_report rep;
    hrf_odenet *ref = fit_rep(d, "elm", HRF_SOLVER_SVD, 15, 7, &rep);
    assert_int_equal(rep.lstsq.used, HRF_SOLVER_SVD);
    assert_int_equal(rep.lstsq.rank, 16);
    const hrf_solver others[] = {HRF_SOLVER_QR, HRF_SOLVER_NORMAL, HRF_SOLVER_AUTO};
    const size_t M = 15, dim = 2;
    double theta_ref[(15 + 1) * 2], theta[(15 + 1) * 2];
    memcpy(theta_ref, hrf_odenet_C(ref), M * dim * sizeof(double));
    memcpy(theta_ref + M * dim, hrf_odenet_C0(ref), dim * sizeof(double));
    for (int i = 0; i < 3; i++) {
        hrf_odenet *m = fit_rep(d, "elm", others[i], 15, 7, &rep);
        assert_memory_equal(hrf_odenet_W(m), hrf_odenet_W(ref), M * dim * sizeof(double));
        memcpy(theta, hrf_odenet_C(m), M * dim * sizeof(double));
        memcpy(theta + M * dim, hrf_odenet_C0(m), dim * sizeof(double));
        double e = hrf_rel_l2((M + 1) * dim, theta, theta_ref);
        printf("solver %-6s (used %s) vs svd: rel. diff %.3e, residual %.3e\n",
               hrf_solver_name(others[i]), hrf_solver_name(rep.lstsq.used), e,
               rep.lstsq.rel_residual);
        assert_true(e < SOLVER_AGREE_TOL);
        if (others[i] == HRF_SOLVER_AUTO) { /* small: auto takes the dense QR and says so */
            assert_int_equal(rep.lstsq.used, HRF_SOLVER_QR);
            assert_non_null(strstr(rep.lstsq.reason, "auto"));
        } else {
            assert_int_equal(rep.lstsq.used, others[i]);
        }
        hrf_odenet_free(m);
    }
    /* The reported residual is the training error of f̂. */
    hrf_odenet_errors e;
    assert_int_equal(hrf_odenet_errors_on(ref, d, &e), HRF_OK);
    hrf_odenet_free(ref);
    ref = fit_rep(d, "elm", HRF_SOLVER_SVD, 15, 7, &rep);
    assert_true(fabs(rep.lstsq.rel_residual - e.rel_l2_dxdt) <= 1e-12);
    assert_true(rep.lstsq.rel_residual > 0.0 && rep.lstsq.rel_residual < 1.0);
    hrf_odenet_free(ref);
    hrf_dataset_free(d);
}

/* The normal route streams Φ in row blocks when it does not fit the cache
 * budget (cache_bytes 0 here) and then refines only up to stream_refine_max.
 * Streamed blocks are the cached blocks recomputed, so with the same LSQR
 * limit the two give the same bits; the reported residual is the training
 * error of f̂ either way. */
static void test_streamed_matches_cached(void **state) {
    (void)state;
    hrf_dataset *d = make_data("pendulum", 1000, 4);
    const size_t M = 150, dim = 2;
    hrf_odenet *m[4];
    hrf_odenet_fit_report rep[4];
    for (int v = 0; v < 4; v++) {
        hrf_odenet_params p;
        hrf_odenet_params_default(&p);
        p.width = M;
        p.seed = 3;
        p.sampler = &hrf_sampler_uswim;
        p.lstsq.solver = HRF_SOLVER_NORMAL;
        p.block_rows = 97; /* several blocks, the last one short */
        p.lstsq.refine_max = 50;
        p.lstsq.stream_refine_max = v == 3 ? 50 : 0;
        if (v == 0) p.lstsq.refine_max = 0; /* cached, no LSQR */
        if (v >= 2) p.cache_bytes = 0;      /* streamed */
        int rc = hrf_odenet_fit(&p, d, &m[v], &rep[v]);
        if (rc) fail_msg("variant %d: %s", v, hrf_last_error());
        hrf_odenet_errors e;
        assert_int_equal(hrf_odenet_errors_on(m[v], d, &e), HRF_OK);
        printf("normal, %s, LSQR limit %d: %d iterations, rel_residual %.6e (training error "
               "%.6e)\n",
               rep[v].cached ? "cached  " : "streamed", v % 2 ? 50 : 0, rep[v].lstsq.iterations,
               rep[v].lstsq.rel_residual, e.rel_l2_dxdt);
        assert_int_equal(rep[v].cached, v < 2);
        assert_true(fabs(rep[v].lstsq.rel_residual - e.rel_l2_dxdt) <= 1e-12);
    }
    assert_int_equal(rep[0].lstsq.iterations, 0);
    assert_int_equal(rep[2].lstsq.iterations, 0); /* streamed: stream_refine_max 0 */
    assert_true(rep[1].lstsq.iterations > 0);
    assert_int_equal(rep[3].lstsq.iterations, rep[1].lstsq.iterations);
    for (int pair = 0; pair < 2; pair++) { /* (0, 2): no LSQR; (1, 3): 50 */
        const hrf_odenet *a = m[pair], *b = m[pair + 2];
        assert_memory_equal(hrf_odenet_C(a), hrf_odenet_C(b), M * dim * sizeof(double));
        assert_memory_equal(hrf_odenet_C0(a), hrf_odenet_C0(b), dim * sizeof(double));
    }
    /* LSQR improves on the Gram route's fit (measured 7.8e-6 → 1.2e-6). */
    assert_true(rep[1].lstsq.rel_residual < 0.5 * rep[0].lstsq.rel_residual);
    for (int v = 0; v < 4; v++)
        hrf_odenet_free(m[v]);
    hrf_dataset_free(d);
}

/* Every sampler fits the spring and the pendulum to the bounds above, on a
 * separate test set; A-SWIM runs two passes, the others one. */
static void test_accuracy(void **state) {
    (void)state;
    const char *samplers[] = {"elm", "uswim", "swim", "aswim"};
    struct {
        const char *system;
        size_t n, width;
        double tol;
    } cases[] = {{"spring", 2000, 200, SPRING_TOL}, {"pendulum", 10000, 500, PENDULUM_TOL}};
    for (int c = 0; c < 2; c++) {
        hrf_dataset *tr = make_data(cases[c].system, cases[c].n, 1);
        hrf_dataset *te = make_data(cases[c].system, 2000, 2);
        for (int s = 0; s < 4; s++) {
            hrf_odenet_fit_report rep;
            hrf_odenet *m = fit_rep(tr, samplers[s], HRF_SOLVER_AUTO, cases[c].width, 1, &rep);
            double e = test_error(m, te);
            printf("%-8s width %3zu %-6s solver %-6s rel_l2_dxdt %.3e (train %.3e)\n",
                   cases[c].system, cases[c].width, samplers[s], hrf_solver_name(rep.lstsq.used), e,
                   rep.lstsq.rel_residual);
            assert_int_equal(rep.passes, strcmp(samplers[s], "aswim") == 0 ? 2 : 1);
            if (!(e < cases[c].tol))
                fail_msg("%s %s: rel_l2_dxdt %.3g >= %g", cases[c].system, samplers[s], e,
                         cases[c].tol);
            hrf_odenet_free(m);
        }
        if (c == 1) { /* the Gram route with its refinement */
            hrf_odenet_fit_report rep;
            hrf_odenet *m = fit_rep(tr, "uswim", HRF_SOLVER_NORMAL, 500, 1, &rep);
            double e = test_error(m, te);
            printf("pendulum width 500 uswim  solver normal rel_l2_dxdt %.3e (LSQR %d iterations, "
                   "cached %d)\n",
                   e, rep.lstsq.iterations, rep.cached);
            assert_true(rep.lstsq.iterations > 0);
            if (!(e < PENDULUM_NORMAL_TOL))
                fail_msg("pendulum normal: rel_l2_dxdt %.3g >= %g", e, PENDULUM_NORMAL_TOL);
            hrf_odenet_free(m);
        }
        hrf_dataset_free(tr);
        hrf_dataset_free(te);
    }
}

/* The vector SWIM density with fdim = 1 is the scalar sampler bit for bit,
 * and with F = [f, 0, 0] (‖F_j − F_i‖ = |f_j − f_i|) it draws the same layer. */
static void test_vector_density(void **state) {
    (void)state;
    hrf_dataset *d = make_data("pendulum", 300, 4);
    const size_t K = d->n, dim = d->dim, M = 120;
    hrf_layer_sample_params lp = {M, -1.0, 1.0, 1, &hrf_activation_tanh};
    double *W1 = malloc(M * dim * sizeof *W1), *W2 = malloc(M * dim * sizeof *W2);
    double b1[120], b2[120], *F = calloc(K * 3, sizeof *F);
    for (size_t i = 0; i < K; i++)
        F[3 * i] = d->H[i];
    hrf_rng r1, r2;
    for (int variant = 0; variant < 2; variant++) {
        hrf_rng_seed(&r1, 11);
        hrf_rng_seed(&r2, 11);
        assert_int_equal(
            hrf_layer_sample(HRF_PAIRS_VALUES, &lp, K, dim, d->x, d->H, &r1, W1, b1, NULL), HRF_OK);
        if (variant == 0)
            assert_int_equal(hrf_layer_sample_vec(HRF_PAIRS_VALUES, &lp, K, dim, d->x, 1, d->H, &r2,
                                                  W2, b2, NULL),
                             HRF_OK);
        else
            assert_int_equal(
                hrf_layer_sample_vec(HRF_PAIRS_VALUES, &lp, K, dim, d->x, 3, F, &r2, W2, b2, NULL),
                HRF_OK);
        assert_memory_equal(W1, W2, M * dim * sizeof *W1);
        assert_memory_equal(b1, b2, M * sizeof *b1);
    }
    /* A different second column changes the density, hence the layer. */
    for (size_t i = 0; i < K; i++)
        F[3 * i + 1] = d->dxdt[i * dim];
    hrf_rng_seed(&r2, 11);
    assert_int_equal(
        hrf_layer_sample_vec(HRF_PAIRS_VALUES, &lp, K, dim, d->x, 3, F, &r2, W2, b2, NULL), HRF_OK);
    assert_true(memcmp(W1, W2, M * dim * sizeof *W1) != 0);
    free(W1), free(W2), free(F);
    hrf_dataset_free(d);

    /* Spring: F = dx/dt = (p, −q) is a rotation of x, so ‖F_j − F_i‖ = ‖x_j − x_i‖
     * (the same two squares summed): every SWIM weight is exactly 1 and the
     * ODE-net's SWIM layer is the U-SWIM layer bit for bit. */
    d = make_data("spring", 500, 9);
    hrf_odenet *a = fit(d, "swim", HRF_SOLVER_QR, 80, 3);
    hrf_odenet *u = fit(d, "uswim", HRF_SOLVER_QR, 80, 3);
    assert_memory_equal(hrf_odenet_W(a), hrf_odenet_W(u), 80 * 2 * sizeof(double));
    assert_memory_equal(hrf_odenet_b(a), hrf_odenet_b(u), 80 * sizeof(double));
    hrf_odenet_free(a), hrf_odenet_free(u);
    /* Pendulum: dx/dt = (p, −sin q) is not an isometry, so the layers differ. */
    hrf_dataset_free(d);
    d = make_data("pendulum", 500, 9);
    a = fit(d, "swim", HRF_SOLVER_QR, 80, 3);
    u = fit(d, "uswim", HRF_SOLVER_QR, 80, 3);
    assert_true(memcmp(hrf_odenet_W(a), hrf_odenet_W(u), 80 * 2 * sizeof(double)) != 0);
    hrf_odenet_free(a), hrf_odenet_free(u);
    hrf_dataset_free(d);
}

/* Same seed → same model; other seed → other layer. */
static void test_deterministic(void **state) {
    (void)state;
    hrf_dataset *d = make_data("pendulum", 800, 6);
    hrf_odenet *a = fit(d, "aswim", HRF_SOLVER_AUTO, 60, 5);
    hrf_odenet *b = fit(d, "aswim", HRF_SOLVER_AUTO, 60, 5);
    hrf_odenet *c = fit(d, "aswim", HRF_SOLVER_AUTO, 60, 6);
    assert_memory_equal(hrf_odenet_W(a), hrf_odenet_W(b), 60 * 2 * sizeof(double));
    assert_memory_equal(hrf_odenet_C(a), hrf_odenet_C(b), 60 * 2 * sizeof(double));
    assert_memory_equal(hrf_odenet_C0(a), hrf_odenet_C0(b), 2 * sizeof(double));
    assert_true(memcmp(hrf_odenet_W(a), hrf_odenet_W(c), 60 * 2 * sizeof(double)) != 0);
    hrf_odenet_free(a), hrf_odenet_free(b), hrf_odenet_free(c);
    hrf_dataset_free(d);
}

static char tmpdir[64];

static void tmp_path(char *buf, size_t cap, const char *name) {
    snprintf(buf, cap, "%s/%s", tmpdir, name);
}

/* save → load gives bit-identical evaluation and the meta of the format;
 * an HNN file is refused by the ODE-net loader and vice versa. */
static void test_save_load(void **state) {
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/hamrf_odenet_XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    char path[128], path2[128], hpath[128];
    tmp_path(path, sizeof path, "ode.npz");
    tmp_path(path2, sizeof path2, "ode2.npz");
    tmp_path(hpath, sizeof hpath, "hnn.npz");
    hrf_dataset *d = make_data("double_pendulum", 400, 1);
    hrf_odenet *m = fit(d, "swim", HRF_SOLVER_NORMAL, 50, 12);
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddStringToObject(extra, "system", "double_pendulum");
    cJSON_AddStringToObject(extra, "model", "hnn"); /* overridden by the library */
    assert_int_equal(hrf_odenet_save_meta(m, path, extra), HRF_OK);
    cJSON_Delete(extra);
    hrf_odenet *l = NULL;
    cJSON *meta = NULL;
    assert_int_equal(hrf_odenet_load_meta(path, &l, &meta), HRF_OK);
    assert_int_equal(hrf_odenet_width(l), 50);
    assert_int_equal(hrf_odenet_dim(l), 4);
    const size_t n = d->n, dim = 4;
    double *f1 = malloc(n * dim * sizeof *f1), *f2 = malloc(n * dim * sizeof *f2);
    double *j1 = malloc(n * dim * dim * sizeof *j1), *j2 = malloc(n * dim * dim * sizeof *j2);
    assert_int_equal(hrf_odenet_eval(m, n, d->x, f1), HRF_OK);
    assert_int_equal(hrf_odenet_eval(l, n, d->x, f2), HRF_OK);
    assert_memory_equal(f1, f2, n * dim * sizeof *f1);
    assert_int_equal(hrf_odenet_jacobian(m, n, d->x, j1), HRF_OK);
    assert_int_equal(hrf_odenet_jacobian(l, n, d->x, j2), HRF_OK);
    assert_memory_equal(j1, j2, n * dim * dim * sizeof *j1);
    const char *want[][2] = {{"format", "hamrf"},          {"kind", "model"},
                             {"model", "odenet"},          {"activation", "tanh"},
                             {"sampler", "swim"},          {"solver", "normal"},
                             {"system", "double_pendulum"}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, want[i][0]);
        assert_true(cJSON_IsString(v));
        assert_string_equal(v->valuestring, want[i][1]);
    }
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(meta, "width")->valuedouble, 50);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(meta, "dim")->valuedouble, 4);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(meta, "seed")->valuedouble, 12);
    assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(meta, "version")->valuedouble, 1);
    cJSON_Delete(meta);
    /* Entries as documented: W (M, dim), b (M), C (M, dim), C0 (dim). */
    hrf_npz *z = NULL;
    assert_int_equal(hrf_npz_open(path, &z), HRF_OK);
    size_t sh[2] = {50, 4};
    double *arr = NULL;
    assert_int_equal(hrf_npz_read(z, "C", 2, sh, &arr), HRF_OK);
    assert_memory_equal(arr, hrf_odenet_C(m), 50 * 4 * sizeof(double));
    free(arr);
    size_t sh0[1] = {4};
    assert_int_equal(hrf_npz_read(z, "C0", 1, sh0, &arr), HRF_OK);
    assert_memory_equal(arr, hrf_odenet_C0(m), 4 * sizeof(double));
    free(arr);
    hrf_npz_close(z);
    /* Loaded → saved again: the same file bytes (provenance kept). */
    assert_int_equal(hrf_odenet_save(l, path2, NULL), HRF_OK);
    hrf_odenet *l2 = NULL;
    assert_int_equal(hrf_odenet_load_meta(path2, &l2, &meta), HRF_OK);
    assert_string_equal(cJSON_GetObjectItemCaseSensitive(meta, "sampler")->valuestring, "swim");
    cJSON_Delete(meta);
    hrf_odenet_free(l2);

    /* Kind mismatches, both ways. */
    hrf_hnn_params hp;
    hrf_hnn_params_default(&hp);
    hp.width = 20;
    hrf_hnn *h = NULL;
    assert_int_equal(hrf_hnn_fit(&hp, d, &h, NULL), HRF_OK);
    assert_int_equal(hrf_hnn_save(h, hpath, NULL), HRF_OK);
    hrf_odenet *bad = NULL;
    assert_int_equal(hrf_odenet_load(hpath, &bad, NULL), HRF_EFORMAT);
    assert_null(bad);
    printf("odenet loader on an hnn file: %s\n", hrf_last_error());
    assert_non_null(strstr(hrf_last_error(), "hnn.npz"));
    assert_non_null(strstr(hrf_last_error(), "\"odenet\""));
    assert_non_null(strstr(hrf_last_error(), "\"hnn\""));
    hrf_hnn *hbad = NULL;
    assert_int_equal(hrf_hnn_load(path, &hbad, NULL), HRF_EFORMAT);
    assert_null(hbad);
    printf("hnn loader on an odenet file: %s\n", hrf_last_error());
    assert_non_null(strstr(hrf_last_error(), "ode.npz"));
    assert_non_null(strstr(hrf_last_error(), "hnn"));
    /* A data set is not a model. */
    char dpath[128];
    tmp_path(dpath, sizeof dpath, "data.npz");
    assert_int_equal(hrf_dataset_save(d, dpath), HRF_OK);
    assert_int_equal(hrf_odenet_load(dpath, &bad, NULL), HRF_EFORMAT);
    assert_non_null(strstr(hrf_last_error(), "model"));
    char nopath[128];
    tmp_path(nopath, sizeof nopath, "absent.npz");
    assert_int_not_equal(hrf_odenet_load(nopath, &bad, NULL), HRF_OK);
    assert_non_null(strstr(hrf_last_error(), "absent.npz"));

    hrf_hnn_free(h);
    free(f1), free(f2), free(j1), free(j2);
    hrf_odenet_free(m);
    hrf_odenet_free(l);
    hrf_dataset_free(d);
    unlink(path), unlink(path2), unlink(hpath), unlink(dpath);
    rmdir(tmpdir);
}

/* The field adapter: rhs is eval, jac is the Jacobian, no energy. */
static void test_field(void **state) {
    (void)state;
    hrf_dataset *d = make_data("lotka_volterra", 400, 3);
    hrf_odenet *m = fit(d, "uswim", HRF_SOLVER_AUTO, 70, 2);
    hrf_field f;
    memset(&f, 0xff, sizeof f);
    hrf_odenet_field(m, &f);
    assert_int_equal(f.dim, 2);
    assert_int_equal(f.separable, 0);
    assert_int_equal(f.hamiltonian, 0);
    assert_null(f.energy);
    assert_non_null(f.rhs);
    assert_non_null(f.jac);
    const size_t n = 50;
    double a[100], b[100], ja[200], jb[200];
    assert_int_equal(hrf_odenet_eval(m, n, d->x, a), HRF_OK);
    assert_int_equal(f.rhs(f.ctx, n, d->x, b), HRF_OK);
    assert_memory_equal(a, b, sizeof a);
    assert_int_equal(hrf_odenet_jacobian(m, n, d->x, ja), HRF_OK);
    assert_int_equal(f.jac(f.ctx, n, d->x, jb), HRF_OK);
    assert_memory_equal(ja, jb, sizeof ja);
    hrf_odenet_free(m);
    hrf_dataset_free(d);
}

static void test_bad_input(void **state) {
    (void)state;
    hrf_dataset *d = make_data("pendulum", 100, 1);
    hrf_odenet_params p;
    hrf_odenet_params_default(&p);
    assert_null(hrf_odenet_params_check(&p));
    hrf_odenet *m = (hrf_odenet *)0x1;
    /* width 0 */
    p.width = 0;
    assert_non_null(strstr(hrf_odenet_params_check(&p), "width"));
    assert_int_equal(hrf_odenet_fit(&p, d, &m, NULL), HRF_EINVAL);
    assert_null(m);
    assert_non_null(strstr(hrf_last_error(), "width"));
    /* NaN in the parameters (the ELM range; data with NaN are refused by hrf_dataset_load) */
    hrf_odenet_params_default(&p);
    p.elm_lo = NAN, p.elm_hi = 1.0;
    assert_non_null(hrf_odenet_params_check(&p));
    assert_int_equal(hrf_odenet_fit(&p, d, &m, NULL), HRF_EINVAL);
    hrf_odenet_params_default(&p);
    p.lstsq.rcond = NAN;
    assert_non_null(strstr(hrf_odenet_params_check(&p), "rcond"));
    assert_int_equal(hrf_odenet_fit(&p, d, &m, NULL), HRF_EINVAL);
    hrf_odenet_params_default(&p);
    p.sampler = NULL;
    assert_non_null(hrf_odenet_params_check(&p));
    /* One point: SWIM samplers need pairs, ELM does not. */
    hrf_dataset one = *d;
    one.n = 1;
    hrf_odenet_params_default(&p);
    p.width = 5;
    assert_int_equal(hrf_odenet_fit(&p, &one, &m, NULL), HRF_EDATA);
    assert_non_null(strstr(hrf_last_error(), "aswim"));
    p.sampler = &hrf_sampler_elm;
    assert_int_equal(hrf_odenet_fit(&p, &one, &m, NULL), HRF_OK);
    hrf_odenet_free(m);
    /* Absurd width: refused before allocating, with an estimate. */
    hrf_odenet_params_default(&p);
    p.width = (size_t)100000000000ull;
    assert_int_equal(hrf_odenet_fit(&p, d, &m, NULL), HRF_ETOOBIG);
    assert_non_null(strstr(hrf_last_error(), "GiB"));
    p.width = SIZE_MAX;
    assert_int_equal(hrf_odenet_fit(&p, d, &m, NULL), HRF_ETOOBIG);
    /* Dimension mismatch in errors_on. */
    hrf_odenet_params_default(&p);
    p.width = 10;
    assert_int_equal(hrf_odenet_fit(&p, d, &m, NULL), HRF_OK);
    hrf_dataset *d4 = make_data("double_pendulum", 20, 1);
    hrf_odenet_errors e;
    assert_int_equal(hrf_odenet_errors_on(m, d4, &e), HRF_EINVAL);
    assert_non_null(strstr(hrf_last_error(), "dimension 2"));
    assert_non_null(strstr(hrf_last_error(), "dimension 4"));
    hrf_odenet_free(m);
    hrf_dataset_free(d4);
    hrf_dataset_free(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eval_matches_formula),
        cmocka_unit_test(test_jacobian_fd),
        cmocka_unit_test(test_solvers_agree),
        cmocka_unit_test(test_vector_density),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_field),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_accuracy),
        cmocka_unit_test(test_streamed_matches_cached),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
