/* Tests of the hidden-layer samplers (src/features/sampler.c,
 * include/hamrf/sampler.h; docs/math.md §3: ELM, U-SWIM, SWIM, A-SWIM).
 *
 * Independent references:
 *   - the defining property of a SWIM neuron: for SOME pair of distinct training
 *     points, tanh(w·x1 + b) = −1/2 and tanh(w·x2 + b) = +1/2, with w parallel to
 *     x2 − x1; found here by exhaustive search over all ordered pairs, with libm's
 *     tanh and atanh (not the activation record);
 *   - the ELM distribution (N(0,1) weights, U[lo,hi] biases) through sample
 *     moments within a stated number of standard errors;
 *   - the SWIM pair density through the fraction of pairs touching the region
 *     where f varies, compared with its value computed here over all pairs;
 *   - counting: a sampler asked for M distinct pairs must return M distinct
 *     neurons except the n_distinct_short it reports. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hamrf/activation.h"
#include "hamrf/rng.h"
#include "hamrf/sampler.h"
#include "hamrf/status.h"

/* tanh(w·x + b) = ∓1/2 at the pair's points: rounding in w = s1 d/‖d‖² and
 * b = −w·x1 − s2 is ~eps·‖w‖‖x‖·dim ≈ 1e-13 for the nearest pairs of 50 points
 * in [−1,1]^dim (‖w‖ ≲ 1e3); 1e-9 leaves four orders of margin while a wrong
 * constant or formula misses by ≥ 1e-3. */
#define TOL_PAIR 1e-9
/* w must be s1 (x2 − x1)/‖x2 − x1‖² (docs/math.md §3.2) to rounding, relative to ‖w‖. */
#define TOL_DIRECTION 1e-12
/* SWIM constants of tanh: s2 = atanh(1/2) = ln(3)/2, s1 = ln 3 (docs/math.md §3.2),
 * against libm to a few ulp. */
#define TOL_CONST 1e-15
/* Bound in standard errors of the moment tests (normal tail: ~6e-7 per test). */
#define N_SE 5.0

#define K_PTS 50

/* ---- helpers ---- */

static hrf_layer_sample_params params(size_t width) {
    hrf_layer_sample_params p;
    p.width = width;
    p.elm_lo = -1.0;
    p.elm_hi = 1.0;
    p.resample_duplicates = 1;
    p.act = &hrf_activation_tanh;
    return p;
}

/* K points uniform in [−1,1]^dim (row-major). */
static double *random_points(uint64_t seed, size_t K, size_t dim) {
    hrf_rng r;
    hrf_rng_seed(&r, seed);
    double *X = malloc(K * dim * sizeof *X);
    assert_non_null(X);
    for (size_t i = 0; i < K * dim; i++)
        X[i] = hrf_rng_uniform_range(&r, -1.0, 1.0);
    return X;
}

/* A smooth function of the points with distinct values (no zero-weight pairs). */
static double *values_of(const double *X, size_t K, size_t dim) {
    double *f = malloc(K * sizeof *f);
    assert_non_null(f);
    for (size_t i = 0; i < K; i++) {
        double s = 0.0;
        for (size_t a = 0; a < dim; a++)
            s += sin(1.3 * (double)(a + 1) * X[i * dim + a]);
        f[i] = s + 0.1 * X[i * dim] * X[i * dim];
    }
    return f;
}

/* Searches all ordered pairs (i, j), i ≠ j, for one where the neuron (w, b)
 * reads −1/2 at x_i and +1/2 at x_j. Returns the number of such pairs and the
 * first in *pi, *pj. */
static int find_pair(const double *w, double b, const double *X, size_t K, size_t dim, size_t *pi,
                     size_t *pj) {
    int found = 0;
    double *t = malloc(K * sizeof *t);
    for (size_t i = 0; i < K; i++) {
        double z = b;
        for (size_t a = 0; a < dim; a++)
            z += w[a] * X[i * dim + a];
        t[i] = tanh(z);
    }
    for (size_t i = 0; i < K; i++) {
        if (fabs(t[i] + 0.5) > TOL_PAIR) continue;
        for (size_t j = 0; j < K; j++) {
            if (j == i || fabs(t[j] - 0.5) > TOL_PAIR) continue;
            if (!found) *pi = i, *pj = j;
            found++;
        }
    }
    free(t);
    return found;
}

/* Every neuron is the SWIM neuron of some pair; fills pair_i/pair_j (M). */
static void check_swim_neurons(const double *W, const double *b, size_t M, const double *X,
                               size_t K, size_t dim, size_t *pair_i, size_t *pair_j) {
    const double s1 = log(3.0);
    for (size_t k = 0; k < M; k++) {
        size_t i = 0, j = 0;
        int n = find_pair(W + k * dim, b[k], X, K, dim, &i, &j);
        if (n < 1)
            fail_msg("neuron %zu (b = %g) is -1/2 and +1/2 at no pair of training points", k, b[k]);
        /* w = s1 (x_j − x_i)/‖x_j − x_i‖² */
        double d2 = 0.0, wn = 0.0, err = 0.0;
        for (size_t a = 0; a < dim; a++) {
            double d = X[j * dim + a] - X[i * dim + a];
            d2 += d * d;
        }
        for (size_t a = 0; a < dim; a++) {
            double want = s1 * (X[j * dim + a] - X[i * dim + a]) / d2;
            err += (W[k * dim + a] - want) * (W[k * dim + a] - want);
            wn += want * want;
        }
        if (sqrt(err) > TOL_DIRECTION * sqrt(wn))
            fail_msg("neuron %zu: w is not s1 (x2 - x1)/|x2 - x1|^2 for its pair (%zu, %zu)", k, i,
                     j);
        if (pair_i) pair_i[k] = i;
        if (pair_j) pair_j[k] = j;
    }
}

/* Number of distinct neurons (bitwise-identical (w, b) rows count once). */
static size_t count_distinct(const double *W, const double *b, size_t M, size_t dim) {
    size_t n = 0;
    for (size_t k = 0; k < M; k++) {
        int dup = 0;
        for (size_t l = 0; l < k && !dup; l++)
            dup = b[l] == b[k] && memcmp(W + l * dim, W + k * dim, dim * sizeof *W) == 0;
        if (!dup) n++;
    }
    return n;
}

/* ---- tests ---- */

static void test_activation_constants(void **state) {
    (void)state;
    const hrf_activation *act = &hrf_activation_tanh;
    assert_true(fabs(act->s2 - atanh(0.5)) <= TOL_CONST);
    assert_true(fabs(act->s2 - 0.5 * log(3.0)) <= TOL_CONST);
    assert_true(fabs(act->s1 - log(3.0)) <= TOL_CONST);
}

/* SWIM family (U-SWIM and SWIM densities; A-SWIM's passes use these same two),
 * dim 2 and 4, M below and above K (one and two pool replicas). */
static void test_swim_neurons_come_from_pairs(void **state) {
    (void)state;
    const hrf_pair_density dens[2] = {HRF_PAIRS_UNIFORM, HRF_PAIRS_VALUES};
    const size_t dims[2] = {2, 4}, widths[2] = {30, 70};
    for (int d = 0; d < 2; d++)
        for (int di = 0; di < 2; di++)
            for (int wi = 0; wi < 2; wi++) {
                size_t dim = dims[di], M = widths[wi];
                double *X = random_points(100 + dim, K_PTS, dim), *f = values_of(X, K_PTS, dim);
                double *W = malloc(M * dim * sizeof *W), *b = malloc(M * sizeof *b);
                hrf_layer_sample_params p = params(M);
                hrf_rng rng;
                hrf_rng_seed(&rng, 9 + wi);
                size_t short_ = 99;
                int rc = hrf_layer_sample(dens[d], &p, K_PTS, dim, X, f, &rng, W, b, &short_);
                if (rc) fail_msg("%s", hrf_last_error());
                assert_int_equal(short_, 0); /* 50·49 pairs of positive weight ≫ M */
                check_swim_neurons(W, b, M, X, K_PTS, dim, NULL, NULL);
                free(X), free(f), free(W), free(b);
            }
}

/* With resample_duplicates, M ≤ (pairs of positive probability) distinct
 * neurons. Over several seeds, M = 40 of K = 50 points (2450 ordered pairs).
 *
 * Regression test of a bug this test found (fixed in 8a6af9d): the candidate
 * pool is drawn with replacement (i ~ U{0..K−1}, δ ~ U{1..K−1} per entry), so
 * it can hold the same ordered pair (i, j) twice (probability ≈ 1/2 for 50
 * entries out of 2450 pairs); "distinct" was enforced per pool ENTRY, not per
 * pair, and 15 of these 40 samplings returned repeated neurons, contrary to
 * docs/math.md §3.5 ("redraw until the M pairs are distinct"). */
static void test_resample_duplicates_distinct(void **state) {
    (void)state;
    const size_t dim = 2, M = 40;
    double *X = random_points(7, K_PTS, dim), *f = values_of(X, K_PTS, dim);
    double *W = malloc(M * dim * sizeof *W), *b = malloc(M * sizeof *b);
    int failures = 0;
    for (uint64_t seed = 1; seed <= 20; seed++)
        for (int d = 0; d < 2; d++) {
            hrf_pair_density dens = d ? HRF_PAIRS_VALUES : HRF_PAIRS_UNIFORM;
            hrf_layer_sample_params p = params(M);
            hrf_rng rng;
            hrf_rng_seed(&rng, seed);
            size_t short_ = 99;
            assert_int_equal(hrf_layer_sample(dens, &p, K_PTS, dim, X, f, &rng, W, b, &short_),
                             HRF_OK);
            assert_int_equal(short_, 0);
            size_t nd = count_distinct(W, b, M, dim);
            if (nd != M) {
                print_message("seed %llu, %s density: only %zu of %zu neurons distinct\n",
                              (unsigned long long)seed, d ? "SWIM" : "uniform", nd, M);
                failures++;
            }
        }
    free(X), free(f), free(W), free(b);
    if (failures)
        fail_msg("%d of 40 samplings with resample_duplicates returned repeated "
                 "neurons although the pool had enough distinct pairs",
                 failures);
}

/* M larger than the number of pairs of positive probability: it still works,
 * every neuron is a legal pair, and the repeats are reported: distinct neurons
 * = M − n_distinct_short.
 *   (a) SWIM density, K = 6, f = (0,0,0,0,0,1): only the 10 ordered pairs
 *       touching point 5 have positive weight; M = 30.
 *   (b) uniform density, K = 3: 6 ordered pairs; M = 20.
 * Regression test of the same bug (fixed in 8a6af9d): the sampler counted
 * positive pool ENTRIES, not distinct pairs, so with a pool of P ≥ M entries
 * drawn from only 6 or 10 pairs, (b) reported n_distinct_short = 0 with 6
 * distinct neurons out of 20, and (a) reported 16 with 8 distinct out of 30. */
static void test_short_pool(void **state) {
    (void)state;
    const size_t dim = 2;
    struct {
        hrf_pair_density dens;
        size_t K, M, max_pairs;
    } cases[2] = {{HRF_PAIRS_VALUES, 6, 30, 10}, {HRF_PAIRS_UNIFORM, 3, 20, 6}};
    int bug = 0;
    for (int c = 0; c < 2; c++) {
        size_t K = cases[c].K, M = cases[c].M;
        double *X = random_points(11 + c, K, dim);
        double f[6] = {0, 0, 0, 0, 0, 1};
        double *W = malloc(M * dim * sizeof *W), *b = malloc(M * sizeof *b);
        size_t *pi = malloc(M * sizeof *pi), *pj = malloc(M * sizeof *pj);
        hrf_layer_sample_params p = params(M);
        hrf_rng rng;
        hrf_rng_seed(&rng, 3);
        size_t short_ = 999;
        int rc = hrf_layer_sample(cases[c].dens, &p, K, dim, X, f, &rng, W, b, &short_);
        if (rc) fail_msg("%s", hrf_last_error());
        check_swim_neurons(W, b, M, X, K, dim, pi, pj);
        if (cases[c].dens == HRF_PAIRS_VALUES)
            for (size_t k = 0; k < M; k++)
                if (pi[k] != 5 && pj[k] != 5)
                    fail_msg("neuron %zu uses pair (%zu, %zu) of zero SWIM weight", k, pi[k],
                             pj[k]);
        size_t nd = count_distinct(W, b, M, dim);
        print_message("%s, K = %zu, M = %zu: %zu distinct neurons (at most %zu pairs), "
                      "n_distinct_short = %zu\n",
                      c ? "uniform" : "SWIM", K, M, nd, cases[c].max_pairs, short_);
        assert_true(nd <= cases[c].max_pairs);
        assert_true(short_ <= M);
        if (short_ == 0 || nd != M - short_) bug++;
        free(X), free(W), free(b), free(pi), free(pj);
    }
    if (bug)
        fail_msg("n_distinct_short does not count the repeated neurons "
                 "(distinct neurons != M - n_distinct_short) in %d of 2 cases",
                 bug);
}

/* SWIM with f constant: every weight vanishes, fall back to uniform (docs/math.md §3.4). */
static void test_swim_constant_f_falls_back(void **state) {
    (void)state;
    const size_t dim = 2, M = 20;
    double *X = random_points(5, K_PTS, dim), f[K_PTS];
    for (int i = 0; i < K_PTS; i++)
        f[i] = 3.0;
    double W[40], b[20];
    hrf_layer_sample_params p = params(M);
    hrf_rng rng;
    hrf_rng_seed(&rng, 1);
    assert_int_equal(hrf_layer_sample(HRF_PAIRS_VALUES, &p, K_PTS, dim, X, f, &rng, W, b, NULL),
                     HRF_OK);
    check_swim_neurons(W, b, M, X, K_PTS, dim, NULL, NULL);
    free(X);
}

/* ELM: W_kj ~ N(0,1), b_k ~ U[lo, hi]. M = 2000, dim = 4: 8000 weights,
 * SE(mean) = 1/sqrt(8000) = 0.0112, SE(var) = sqrt(2/8000) = 0.0158; biases:
 * SE(mean) = (hi − lo)/sqrt(12 M) = 0.0323, SE(var) = (hi − lo)² sqrt(1/(180 M)) = 0.0132
 * for [lo, hi] = [−2, 3]. ELM is data-agnostic: K = 0 and X = NULL are fine. */
static void test_elm_distribution(void **state) {
    (void)state;
    const size_t M = 2000, dim = 4;
    const double lo = -2.0, hi = 3.0;
    double *W = malloc(M * dim * sizeof *W), *b = malloc(M * sizeof *b);
    hrf_layer_sample_params p = params(M);
    p.elm_lo = lo, p.elm_hi = hi;
    hrf_rng rng;
    hrf_rng_seed(&rng, 2718);
    assert_int_equal(hrf_layer_sample(HRF_PAIRS_NONE, &p, 0, dim, NULL, NULL, &rng, W, b, NULL),
                     HRF_OK);
    double s = 0, s2 = 0;
    const double n = (double)(M * dim);
    for (size_t i = 0; i < M * dim; i++)
        s += W[i], s2 += W[i] * W[i];
    double mean = s / n, var = s2 / n - mean * mean;
    if (fabs(mean) > N_SE / sqrt(n)) fail_msg("ELM weight mean %.4f", mean);
    if (fabs(var - 1.0) > N_SE * sqrt(2.0 / n)) fail_msg("ELM weight variance %.4f", var);
    double bs = 0, bs2 = 0;
    for (size_t k = 0; k < M; k++) {
        assert_true(b[k] >= lo && b[k] <= hi);
        bs += b[k], bs2 += b[k] * b[k];
    }
    double bmean = bs / M, bvar = bs2 / M - bmean * bmean, w = hi - lo;
    if (fabs(bmean - 0.5 * (lo + hi)) > N_SE * w / sqrt(12.0 * M))
        fail_msg("ELM bias mean %.4f, expected %.4f", bmean, 0.5 * (lo + hi));
    if (fabs(bvar - w * w / 12.0) > N_SE * w * w * sqrt(1.0 / (180.0 * M)))
        fail_msg("ELM bias variance %.4f, expected %.4f", bvar, w * w / 12.0);
    free(W), free(b);
}

/* SWIM density on a 1-D example: K = 50 points x_i = i/49; f = 0.01 x plus a
 * bump of height 1 supported on |x − 1/2| < 0.05, which contains the 4 points
 * i = 23..26. Pairs touching the bump have weight |Δf|/|Δx| of order 1..100,
 * the others exactly 0.01. M = 1000 draws with replacement (resample_duplicates
 * off) from a pool of P = 1000 pairs.
 *   Uniform: the fraction of touching pairs is p_u = 1 − (46·45)/(50·49) = 0.155;
 *   the observed fraction has variance ≈ p(1−p)/P (pool) + p(1−p)/M (draws),
 *   so we allow 5·sqrt(2 p_u (1 − p_u)/M) = 0.081.
 *   SWIM: the expected fraction p_s = Σ_touching w / Σ_all w over all ordered
 *   pairs is computed below (≈ 0.99); we require ≥ p_s − 0.1, a margin of
 *   more than 20 binomial SEs, and ≥ 5 times the uniform fraction. */
static double bump(double x) {
    double t = (x - 0.5) / 0.05;
    return fabs(t) < 1.0 ? cos(0.5 * M_PI * t) * cos(0.5 * M_PI * t) : 0.0;
}

static void test_swim_density_prefers_variation(void **state) {
    (void)state;
    const size_t K = 50, dim = 1, M = 1000;
    double X[50], f[50];
    int touch[50];
    for (size_t i = 0; i < K; i++) {
        X[i] = (double)i / (double)(K - 1);
        f[i] = 0.01 * X[i] + bump(X[i]);
        touch[i] = bump(X[i]) > 0.0;
    }
    int nt = 0;
    for (size_t i = 0; i < K; i++)
        nt += touch[i];
    assert_int_equal(nt, 4);
    double wt = 0, wa = 0;
    for (size_t i = 0; i < K; i++)
        for (size_t j = 0; j < K; j++) {
            if (i == j) continue;
            double w = fabs(f[j] - f[i]) / fabs(X[j] - X[i]);
            wa += w;
            if (touch[i] || touch[j]) wt += w;
        }
    const double p_s = wt / wa, p_u = 1.0 - (46.0 * 45.0) / (50.0 * 49.0);
    double frac[2];
    for (int d = 0; d < 2; d++) {
        double *W = malloc(M * sizeof *W), *b = malloc(M * sizeof *b);
        size_t *pi = malloc(M * sizeof *pi), *pj = malloc(M * sizeof *pj);
        hrf_layer_sample_params p = params(M);
        p.resample_duplicates = 0;
        hrf_rng rng;
        hrf_rng_seed(&rng, 161803);
        assert_int_equal(hrf_layer_sample(d ? HRF_PAIRS_VALUES : HRF_PAIRS_UNIFORM, &p, K, dim, X,
                                          f, &rng, W, b, NULL),
                         HRF_OK);
        check_swim_neurons(W, b, M, X, K, dim, pi, pj);
        size_t c = 0;
        for (size_t k = 0; k < M; k++)
            c += touch[pi[k]] || touch[pj[k]];
        frac[d] = (double)c / (double)M;
        free(W), free(b), free(pi), free(pj);
    }
    print_message("pairs touching the bump: uniform %.3f (expected %.3f), SWIM %.3f (expected "
                  "%.3f)\n",
                  frac[0], p_u, frac[1], p_s);
    if (fabs(frac[0] - p_u) > N_SE * sqrt(2.0 * p_u * (1.0 - p_u) / (double)M))
        fail_msg("uniform density: touching fraction %.3f, expected %.3f", frac[0], p_u);
    if (frac[1] < p_s - 0.1) fail_msg("SWIM: touching fraction %.3f < %.3f", frac[1], p_s - 0.1);
    if (frac[1] < 5.0 * frac[0])
        fail_msg("SWIM chooses touching pairs only %.3f vs uniform %.3f", frac[1], frac[0]);
}

static void test_errors(void **state) {
    (void)state;
    double X[8] = {0, 0, 1, 1, 2, 0, 0, 2}, f[4] = {0, 1, 2, 3}, W[16], b[8];
    hrf_rng rng;
    hrf_rng_seed(&rng, 1);
    hrf_layer_sample_params p = params(4);
    const hrf_pair_density pairdens[2] = {HRF_PAIRS_UNIFORM, HRF_PAIRS_VALUES};
    for (int d = 0; d < 2; d++)
        for (size_t K = 0; K < 2; K++) {
            hrf_clear_error();
            assert_int_equal(hrf_layer_sample(pairdens[d], &p, K, 2, X, f, &rng, W, b, NULL),
                             HRF_EINVAL);
            const char *msg = hrf_last_error();
            assert_non_null(strstr(msg, "SWIM"));
            assert_non_null(strstr(msg, "at least 2"));
        }
    /* width 0, every density */
    hrf_layer_sample_params p0 = params(0);
    const hrf_pair_density all[3] = {HRF_PAIRS_NONE, HRF_PAIRS_UNIFORM, HRF_PAIRS_VALUES};
    for (int d = 0; d < 3; d++) {
        hrf_clear_error();
        assert_int_equal(hrf_layer_sample(all[d], &p0, 4, 2, X, f, &rng, W, b, NULL), HRF_EINVAL);
        assert_true(strlen(hrf_last_error()) > 0);
        assert_non_null(strstr(hrf_last_error(), "width"));
    }
    /* SWIM density without function values */
    hrf_clear_error();
    assert_int_equal(hrf_layer_sample(HRF_PAIRS_VALUES, &p, 4, 2, X, NULL, &rng, W, b, NULL),
                     HRF_EINVAL);
    assert_true(strlen(hrf_last_error()) > 0);
}

static void test_same_seed_same_layer(void **state) {
    (void)state;
    const size_t dim = 4, M = 64;
    double *X = random_points(21, K_PTS, dim), *f = values_of(X, K_PTS, dim);
    const hrf_pair_density all[3] = {HRF_PAIRS_NONE, HRF_PAIRS_UNIFORM, HRF_PAIRS_VALUES};
    double *W[3], *b[3];
    for (int r = 0; r < 3; r++)
        W[r] = malloc(M * dim * sizeof *W[r]), b[r] = malloc(M * sizeof *b[r]);
    for (int d = 0; d < 3; d++) {
        const uint64_t seeds[3] = {123, 123, 124};
        for (int r = 0; r < 3; r++) {
            hrf_layer_sample_params p = params(M);
            hrf_rng rng;
            hrf_rng_seed(&rng, seeds[r]);
            assert_int_equal(hrf_layer_sample(all[d], &p, K_PTS, dim, X, f, &rng, W[r], b[r], NULL),
                             HRF_OK);
        }
        assert_memory_equal(W[0], W[1], M * dim * sizeof *W[0]);
        assert_memory_equal(b[0], b[1], M * sizeof *b[0]);
        assert_true(memcmp(W[0], W[2], M * dim * sizeof *W[0]) != 0);
    }
    for (int r = 0; r < 3; r++)
        free(W[r]), free(b[r]);
    free(X), free(f);
}

static void test_sampler_find(void **state) {
    (void)state;
    struct {
        const char *name;
        const hrf_sampler_type *type;
        hrf_pair_density dens;
        int needs_values, adaptive;
    } want[4] = {{"elm", &hrf_sampler_elm, HRF_PAIRS_NONE, 0, 0},
                 {"uswim", &hrf_sampler_uswim, HRF_PAIRS_UNIFORM, 0, 0},
                 {"swim", &hrf_sampler_swim, HRF_PAIRS_VALUES, 1, 0},
                 {"aswim", &hrf_sampler_aswim, HRF_PAIRS_UNIFORM, 0, 1}};
    for (int k = 0; k < 4; k++) {
        const hrf_sampler_type *t = NULL;
        assert_int_equal(hrf_sampler_find(want[k].name, &t), HRF_OK);
        assert_ptr_equal(t, want[k].type);
        assert_string_equal(t->name, want[k].name);
        assert_int_equal(t->density, want[k].dens);
        assert_int_equal(t->needs_values, want[k].needs_values);
        assert_int_equal(t->adaptive, want[k].adaptive);
        assert_true(t->description && strlen(t->description) > 0);
    }
    const hrf_sampler_type *const *all = hrf_sampler_types();
    int n = 0;
    while (all[n])
        n++;
    assert_int_equal(n, 4);
    const hrf_sampler_type *t = &hrf_sampler_elm;
    hrf_clear_error();
    assert_int_equal(hrf_sampler_find("gauss", &t), HRF_ENOTFOUND);
    assert_ptr_equal(t, &hrf_sampler_elm); /* untouched on failure */
    const char *msg = hrf_last_error();
    assert_non_null(strstr(msg, "gauss"));
    for (int k = 0; k < 4; k++)
        assert_non_null(strstr(msg, want[k].name));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_activation_constants),
        cmocka_unit_test(test_swim_neurons_come_from_pairs),
        cmocka_unit_test(test_resample_duplicates_distinct),
        cmocka_unit_test(test_short_pool),
        cmocka_unit_test(test_swim_constant_f_falls_back),
        cmocka_unit_test(test_elm_distribution),
        cmocka_unit_test(test_swim_density_prefers_variation),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_same_seed_same_layer),
        cmocka_unit_test(test_sampler_find),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
