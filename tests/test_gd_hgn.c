/* Tests of the graph network trained by gradient descent (hamrf/baseline.h,
 * hrf_gd_train_hgn): the analytic gradient of the loss against finite
 * differences in both modes on a bonded chain and a periodic cutoff system
 * (every parameter block), the loss against the model's own evaluation,
 * each of the fifteen optimizers lowering the loss, determinism, save/load
 * and the trained model's forces, bad input. */
#include "test_util_hgn.h"

#include <omp.h>
#include <unistd.h>

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

static double loss_at(const hrf_gd_hgn_arch *a, const double *theta, const hrf_pdata *d) {
    double L;
    assert_int_equal(hrf_gd_hgn_loss_grad(a, NULL, theta, d, &L, NULL), HRF_OK);
    return L;
}

/* Every block of θ against fourth-order central differences; the loss
 * against the model's mse_dxdt. */
static void check_fd(const hrf_gd_hgn_arch *a, const hrf_pdata *d, uint64_t seed,
                     const char *what) {
    const size_t ME = a->edge_width, MK = a->kinetic_width;
    const size_t MN = a->mode == HRF_HGN_MP ? a->node_width : 0;
    const size_t np = hrf_gd_hgn_nparams(a);
    double *theta = random_theta(a, seed), *g = malloc(np * sizeof *g);
    double L;
    assert_int_equal(hrf_gd_hgn_loss_grad(a, NULL, theta, d, &L, g), HRF_OK);
    assert_true(isfinite(L) && L > 0);
    /* the loss is the model's own mse_dxdt */
    hrf_hgn *m = NULL;
    assert_int_equal(hrf_gd_hgn_model(a, NULL, theta, d, &m), HRF_OK);
    hrf_hgn_errors err;
    assert_int_equal(hrf_hgn_errors_on(m, d, &err), HRF_OK);
    assert_true(fabs(err.mse_dxdt - L) <= LOSS_REF_TOL * L);
    hrf_hgn_free(m);
    /* blocks: name, start, length */
    const char *names[] = {"w_E",     "b_E", "theta_E", "W_K",     "b_K",
                           "theta_K", "W_N", "b_N",     "theta_N", "theta_T"};
    const size_t len[] = {ME, ME, ME, 2 * MK, MK, MK, MN * ME, MN, MN, a->kinetic_linear ? 1 : 0};
    size_t start = 0;
    printf("  %s (%s, M_E %zu, M_K %zu, M_N %zu, %zu snapshots of %zu): loss %.4e\n", what,
           hrf_hgn_mode_name(a->mode), ME, MK, MN, d->S, d->N, L);
    for (int b = 0; b < 10; b++) {
        if (!len[b]) continue;
        double worst = 0, gmax = 0;
        for (size_t j = start; j < start + len[b]; j++) {
            double t = theta[j], h = FD_STEP * fmax(1.0, fabs(t)), Lv[4];
            const double off[4] = {h, -h, 2 * h, -2 * h};
            for (int k = 0; k < 4; k++) {
                theta[j] = t + off[k];
                Lv[k] = loss_at(a, theta, d);
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
    check_fd(&a, d, 1, "chain");
    a = arch(HRF_HGN_MP, 7, 5, 4);
    check_fd(&a, d, 2, "chain");
    pdata_free(d);
}

static void test_gradient_fd_cutoff(void **state) {
    (void)state;
    hrf_pdata *d = make_lj(14, 3, 3.6, 1.6, 2, 12);
    hrf_gd_hgn_arch a = arch(HRF_HGN_PAIR, 6, 4, 0);
    check_fd(&a, d, 3, "periodic LJ");
    a = arch(HRF_HGN_MP, 6, 4, 5);
    a.kinetic_linear = 0;
    check_fd(&a, d, 4, "periodic LJ");
    pdata_free(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradient_fd_chain),
        cmocka_unit_test(test_gradient_fd_cutoff),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
