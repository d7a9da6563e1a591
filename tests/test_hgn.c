/* Tests of the sampled Hamiltonian graph network in pair mode (docs/math.md §10),
 * the model itself: gradients against central differences, the cell-list pair
 * search against all pairs, exact invariances (permutation, rotation,
 * translation), save/load, the tabulated potential's error bound and
 * convergence order, the vector field over a batch of states (one per thread)
 * against each state alone, and bad input. The fits (the harmonic chain and its
 * zero-shot transfer, split vs joint, streamed vs dense, the solvers, thread
 * determinism) are in test_hgn_fit.c; the hand-made data in test_util_hgn.h. */
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

#include "hamrf/hgn.h"
#include "hamrf/hgn_field.h"
#include "core/npz.h"
#include "hamrf/rng.h"
#include "hamrf/status.h"
#include "hgn/hgn_impl.h"

#include "test_util_hgn.h"

/* Central differences with step 1e-6 on Ĥ of order 10: truncation
 * h²·|Ĥ'''| ~ 1e-12·1e2, rounding eps·|Ĥ|/h ~ 1e-16·10/1e-6 = 1e-9;
 * relative to a gradient scale of order 1. A wrong sign or a missing
 * minimum image gives errors of order 1. */
#define FD_STEP 1e-6
#define FD_TOL 1e-7
/* Invariance (by construction, docs/math.md §10): Ĥ unchanged to 1e-12 relative; gradients too
 * (they differ only by summation order and the rounding of Q·x). */
#define INV_TOL 1e-12
/* max |tanh⁗| (computed numerically: 8t(1−t²)(2−3t²) at its extremum). */
#define TANH_D4_MAX 4.0859
/* Halving h must divide the Hermite error by ~16 (V) and ~8 (V'). */
#define ORDER_V_MIN 12.0
#define ORDER_DV_MIN 6.0
#ifndef TABLE_N
#define TABLE_N 20
#endif

static double max_abs(size_t n, const double *x) {
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(x[i]));
    return m;
}

/* ---- gradients ---- */

static void check_fd(const hrf_hgn *m, size_t N, int D, double *q, double *p, const double *mass,
                     const hrf_hgn_graph *g) {
    const size_t nd = N * D;
    double *dq = malloc(nd * sizeof *dq), *dp = malloc(nd * sizeof *dp), H, Hp, Hm;
    assert_int_equal(hrf_hgn_eval(m, N, D, q, p, mass, g, &H, dq, dp), HRF_OK);
    double scale = fmax(1.0, fmax(max_abs(nd, dq), max_abs(nd, dp)));
    double worst = 0.0;
    for (size_t t = 0; t < nd; t++) {
        double x = q[t];
        q[t] = x + FD_STEP;
        assert_int_equal(hrf_hgn_eval(m, N, D, q, p, mass, g, &Hp, NULL, NULL), HRF_OK);
        q[t] = x - FD_STEP;
        assert_int_equal(hrf_hgn_eval(m, N, D, q, p, mass, g, &Hm, NULL, NULL), HRF_OK);
        q[t] = x;
        worst = fmax(worst, fabs((Hp - Hm) / (2 * FD_STEP) + dp[t]) / scale); /* ∂H/∂q = −dp/dt */
        x = p[t];
        p[t] = x + FD_STEP;
        assert_int_equal(hrf_hgn_eval(m, N, D, q, p, mass, g, &Hp, NULL, NULL), HRF_OK);
        p[t] = x - FD_STEP;
        assert_int_equal(hrf_hgn_eval(m, N, D, q, p, mass, g, &Hm, NULL, NULL), HRF_OK);
        p[t] = x;
        worst = fmax(worst, fabs((Hp - Hm) / (2 * FD_STEP) - dq[t]) / scale);
    }
    if (worst > FD_TOL) fprintf(stderr, "finite-difference error %.3g\n", worst);
    assert_true(worst <= FD_TOL);
    free(dq), free(dp);
}

/* Gradients of model m against central differences on a bonded chain and
 * periodic cutoff systems. */
static void fd_cases(const hrf_hgn *m) {
    hrf_rng rng;
    hrf_rng_seed(&rng, 5);
    /* Bonded chain in 3D with unequal masses. */
    hrf_pdata *d = make_chain(6, 3, 1, 3);
    for (size_t i = 0; i < 6; i++)
        d->mass[i] = 0.5 + hrf_rng_uniform(&rng);
    hrf_hgn_graph g;
    hrf_hgn_graph_of(d, &g);
    check_fd(m, 6, 3, d->q, d->p, d->mass, &g);
    pdata_free(d);
    /* Periodic cutoff systems: all-pairs search (box < 3 cutoffs) and cell
     * lists (box 3.4 cutoffs), in 2D and 3D; minimum image everywhere. */
    const int dims[3] = {2, 3, 3};
    const double boxes[3] = {5.1, 4.0, 5.1};
    const size_t ns[3] = {25, 30, 40};
    for (int c = 0; c < 3; c++) {
        size_t N = ns[c];
        int D = dims[c];
        double *q = malloc(N * D * sizeof *q), *p = malloc(N * D * sizeof *p);
        random_box(N, D, boxes[c], 1.5, 0.3, &rng, q);
        for (size_t t = 0; t < N * (size_t)D; t++)
            p[t] = 0.3 * hrf_rng_normal(&rng);
        hrf_hgn_graph gc = {NULL, 0, boxes[c], 1.5};
        uint32_t *pairs;
        size_t E;
        assert_int_equal(hrf_hgn_graph_pairs(&gc, N, D, q, &pairs, &E), HRF_OK);
        assert_true(E > N / 2); /* the test exercises interactions */
        free(pairs);
        check_fd(m, N, D, q, p, NULL, &gc);
        free(q), free(p);
    }
}

static void test_gradients_fd(void **state) {
    (void)state;
    hrf_hgn *m = random_model(9, 5, 11);
    assert_int_equal(hrf_hgn_set_kinetic_linear(m, 1, 0.7), HRF_OK);
    fd_cases(m);
    /* mp: the chain rule through a_i = Σ_j e(r_ij) */
    add_node(m, 7, 12);
    fd_cases(m);
    hrf_hgn_free(m);
}

/* Cell lists find exactly the pairs an all-pairs search finds. */
static int cmp_pair(const void *a, const void *b) {
    const uint32_t *x = a, *y = b;
    if (x[0] != y[0]) return x[0] < y[0] ? -1 : 1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

static void test_cell_lists(void **state) {
    (void)state;
    hrf_rng rng;
    hrf_rng_seed(&rng, 8);
    for (int D = 1; D <= 3; D++) {
        const size_t N = D == 1 ? 100 : D == 2 ? 400 : 800;
        const double L = D == 1 ? 30.0 : D == 2 ? 12.0 : 8.0, rc = 1.3;
        double *q = malloc(N * D * sizeof *q);
        for (size_t t = 0; t < N * (size_t)D; t++) /* some outside [0, L): wrapping */
            q[t] = hrf_rng_uniform_range(&rng, -0.5 * L, 1.5 * L);
        hrf_hgn_graph g = {NULL, 0, L, rc};
        uint32_t *pairs;
        size_t E;
        assert_int_equal(hrf_hgn_graph_pairs(&g, N, D, q, &pairs, &E), HRF_OK);
        uint32_t *ref = malloc(N * N * sizeof *ref);
        size_t n = 0;
        for (size_t i = 0; i < N; i++)
            for (size_t j = i + 1; j < N; j++) {
                double s = 0;
                for (int a = 0; a < D; a++) {
                    double x = q[i * D + a] - q[j * D + a];
                    x -= L * round(x / L);
                    s += x * x;
                }
                if (s < rc * rc) ref[2 * n] = (uint32_t)i, ref[2 * n + 1] = (uint32_t)j, n++;
            }
        assert_true(n > N / 4);
        assert_int_equal(E, n);
        qsort(pairs, E, 2 * sizeof *pairs, cmp_pair);
        assert_memory_equal(pairs, ref, 2 * n * sizeof *ref);
        free(pairs), free(ref), free(q);
    }
}

/* ---- invariances ---- */

/* A random orthogonal 3x3 matrix (Gram–Schmidt of a Gaussian one), with a
 * reflection half the time. */
static void random_orthogonal(hrf_rng *rng, double Q[9]) {
    for (int c = 0; c < 3; c++) {
        double v[3];
        for (int a = 0; a < 3; a++)
            v[a] = hrf_rng_normal(rng);
        for (int b = 0; b < c; b++) {
            double dot = 0;
            for (int a = 0; a < 3; a++)
                dot += v[a] * Q[a * 3 + b];
            for (int a = 0; a < 3; a++)
                v[a] -= dot * Q[a * 3 + b];
        }
        double n = sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2]);
        for (int a = 0; a < 3; a++)
            Q[a * 3 + c] = v[a] / n;
    }
    if (hrf_rng_uniform(rng) < 0.5)
        for (int a = 0; a < 3; a++)
            Q[a * 3 + 2] = -Q[a * 3 + 2];
}

static void check_invariance(const hrf_hgn *m, size_t N, const double *q, const double *p,
                             const double *mass, const hrf_hgn_graph *g, hrf_rng *rng) {
    const int D = 3;
    const size_t nd = N * D;
    double H0, H1;
    double *dq0 = malloc(nd * sizeof(double)), *dp0 = malloc(nd * sizeof(double));
    double *dq1 = malloc(nd * sizeof(double)), *dp1 = malloc(nd * sizeof(double));
    double *q1 = malloc(nd * sizeof(double)), *p1 = malloc(nd * sizeof(double));
    double *m1 = malloc(N * sizeof(double));
    assert_int_equal(hrf_hgn_eval(m, N, D, q, p, mass, g, &H0, dq0, dp0), HRF_OK);
    double gs = fmax(max_abs(nd, dq0), max_abs(nd, dp0));
    /* Permutation: particle i becomes perm[i]. */
    size_t *perm = malloc(N * sizeof *perm);
    for (size_t i = 0; i < N; i++)
        perm[i] = i;
    for (size_t i = N - 1; i > 0; i--) {
        size_t j = (size_t)hrf_rng_below(rng, i + 1), t = perm[i];
        perm[i] = perm[j], perm[j] = t;
    }
    for (size_t i = 0; i < N; i++) {
        memcpy(q1 + perm[i] * D, q + i * D, D * sizeof(double));
        memcpy(p1 + perm[i] * D, p + i * D, D * sizeof(double));
        m1[perm[i]] = mass[i];
    }
    hrf_hgn_graph g1 = *g;
    uint32_t *pairs1 = NULL;
    if (g->pairs) {
        pairs1 = malloc(2 * g->n_pairs * sizeof *pairs1);
        for (size_t e = 0; e < g->n_pairs; e++) /* also swap the ends of every other pair */
            pairs1[2 * e + (e & 1)] = (uint32_t)perm[g->pairs[2 * e]],
                                pairs1[2 * e + 1 - (e & 1)] = (uint32_t)perm[g->pairs[2 * e + 1]];
        g1.pairs = pairs1;
    }
    assert_int_equal(hrf_hgn_eval(m, N, D, q1, p1, m1, &g1, &H1, dq1, dp1), HRF_OK);
    assert_true(fabs(H1 - H0) <= INV_TOL * fabs(H0));
    for (size_t i = 0; i < N; i++)
        for (int a = 0; a < D; a++) {
            assert_true(fabs(dq1[perm[i] * D + a] - dq0[i * D + a]) <= INV_TOL * gs);
            assert_true(fabs(dp1[perm[i] * D + a] - dp0[i * D + a]) <= INV_TOL * gs);
        }
    /* Rotation (orthogonal, maybe improper) and translation. */
    double Q[9], t[3];
    random_orthogonal(rng, Q);
    for (int a = 0; a < 3; a++)
        t[a] = hrf_rng_uniform_range(rng, -3, 3);
    for (size_t i = 0; i < N; i++)
        for (int a = 0; a < 3; a++) {
            double x = t[a], y = 0;
            for (int b = 0; b < 3; b++)
                x += Q[a * 3 + b] * q[i * 3 + b], y += Q[a * 3 + b] * p[i * 3 + b];
            q1[i * 3 + a] = x, p1[i * 3 + a] = y;
        }
    assert_int_equal(hrf_hgn_eval(m, N, D, q1, p1, mass, g, &H1, dq1, dp1), HRF_OK);
    assert_true(fabs(H1 - H0) <= INV_TOL * fabs(H0));
    for (size_t i = 0; i < N; i++)
        for (int a = 0; a < 3; a++) {
            double rq = 0, rp = 0; /* Q ∇ */
            for (int b = 0; b < 3; b++)
                rq += Q[a * 3 + b] * dq0[i * 3 + b], rp += Q[a * 3 + b] * dp0[i * 3 + b];
            assert_true(fabs(dq1[i * 3 + a] - rq) <= INV_TOL * gs);
            assert_true(fabs(dp1[i * 3 + a] - rp) <= INV_TOL * gs);
        }
    free(dq0), free(dp0), free(dq1), free(dp1), free(q1), free(p1), free(m1), free(perm),
        free(pairs1);
}

static void invariance_cases(const hrf_hgn *m) {
    hrf_rng rng;
    hrf_rng_seed(&rng, 4);
    hrf_pdata *d = make_chain(10, 3, 1, 9);
    for (size_t i = 0; i < d->N; i++)
        d->mass[i] = 0.5 + hrf_rng_uniform(&rng);
    hrf_hgn_graph g;
    hrf_hgn_graph_of(d, &g);
    check_invariance(m, d->N, d->q, d->p, d->mass, &g, &rng);
    /* Open cutoff system: pairs found anew after the transformation. */
    const size_t N = 30;
    double *q = malloc(N * 3 * sizeof *q), *p = malloc(N * 3 * sizeof *p), *mass = malloc(N * 8);
    random_box(N, 3, 4.0, 1.5, 0.3, &rng, q); /* (periodic test only spaces the pairs; used open) */
    for (size_t t = 0; t < N * 3; t++)
        p[t] = 0.3 * hrf_rng_normal(&rng);
    for (size_t i = 0; i < N; i++)
        mass[i] = 1.0 + hrf_rng_uniform(&rng);
    hrf_hgn_graph gc = {NULL, 0, 0.0, 1.5};
    check_invariance(m, N, q, p, mass, &gc, &rng);
    free(q), free(p), free(mass);
    pdata_free(d);
}

static void test_invariance(void **state) {
    (void)state;
    hrf_hgn *m = random_model(12, 6, 21);
    assert_int_equal(hrf_hgn_set_kinetic_linear(m, 1, 1.3), HRF_OK);
    invariance_cases(m);
    add_node(m, 8, 22); /* mp */
    invariance_cases(m);
    hrf_hgn_free(m);
}

/* ---- save/load ---- */

static void test_save_load(void **state) {
    (void)state;
    hrf_pdata *d = make_chain(8, 2, 20, 8);
    hrf_hgn *m = fit(d, "uswim", 30, 10, HRF_SOLVER_AUTO, 0, 0, NULL);
    char path[] = "/tmp/hamrf_test_hgn_XXXXXX.npz";
    int fd = mkstemps(path, 4);
    assert_true(fd >= 0);
    close(fd);
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddStringToObject(extra, "note", "test");
    assert_int_equal(hrf_hgn_save_meta(m, path, extra), HRF_OK);
    cJSON_Delete(extra);
    hrf_hgn *l = NULL;
    cJSON *meta = NULL;
    assert_int_equal(hrf_hgn_load_meta(path, &l, &meta), HRF_OK);
    assert_string_equal(cJSON_GetObjectItem(meta, "model")->valuestring, "hgn");
    assert_string_equal(cJSON_GetObjectItem(meta, "mode")->valuestring, "pair");
    assert_string_equal(cJSON_GetObjectItem(meta, "note")->valuestring, "test");
    assert_int_equal(hrf_hgn_edge_width(l), 30);
    assert_int_equal(hrf_hgn_kinetic_width(l), 10);
    hrf_hgn_graph g;
    hrf_hgn_graph_of(d, &g);
    double H0, H1, dq0[16], dp0[16], dq1[16], dp1[16];
    assert_int_equal(hrf_hgn_eval(m, 8, 2, d->q, d->p, d->mass, &g, &H0, dq0, dp0), HRF_OK);
    assert_int_equal(hrf_hgn_eval(l, 8, 2, d->q, d->p, d->mass, &g, &H1, dq1, dp1), HRF_OK);
    assert_true(H0 == H1);
    assert_memory_equal(dq0, dq1, sizeof dq0);
    assert_memory_equal(dp0, dp1, sizeof dp0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(meta, "kinetic_linear")));
    assert_true(hrf_hgn_kinetic_linear(l));
    assert_true(hrf_hgn_theta_T(l) == hrf_hgn_theta_T(m));
    cJSON_Delete(meta);
    hrf_hgn_free(l);
    /* A file from before the exact kinetic feature (no theta_T, no meta
     * kinetic_linear) loads as a model without it. */
    {
        hrf_npz_writer *w = hrf_npz_writer_new();
        size_t sE1[2] = {30, 1}, sE[1] = {30}, sK2[2] = {10, 2}, sK[1] = {10};
        double c0 = hrf_hgn_c0(m), cE, cK;
        hrf_hgn_offsets(m, &cE, &cK);
        assert_int_equal(hrf_npz_writer_add(w, "W_E", 2, sE1, hrf_hgn_W_E(m)), HRF_OK);
        assert_int_equal(hrf_npz_writer_add(w, "b_E", 1, sE, hrf_hgn_b_E(m)), HRF_OK);
        assert_int_equal(hrf_npz_writer_add(w, "theta_E", 1, sE, hrf_hgn_theta_E(m)), HRF_OK);
        assert_int_equal(hrf_npz_writer_add(w, "W_K", 2, sK2, hrf_hgn_W_K(m)), HRF_OK);
        assert_int_equal(hrf_npz_writer_add(w, "b_K", 1, sK, hrf_hgn_b_K(m)), HRF_OK);
        assert_int_equal(hrf_npz_writer_add(w, "theta_K", 1, sK, hrf_hgn_theta_K(m)), HRF_OK);
        assert_int_equal(hrf_npz_writer_add(w, "c0", 0, NULL, &c0), HRF_OK);
        assert_int_equal(hrf_npz_writer_add(w, "c_E", 0, NULL, &cE), HRF_OK);
        assert_int_equal(hrf_npz_writer_add(w, "c_K", 0, NULL, &cK), HRF_OK);
        cJSON *old = cJSON_CreateObject();
        cJSON_AddStringToObject(old, "format", "hamrf");
        cJSON_AddStringToObject(old, "kind", "model");
        cJSON_AddNumberToObject(old, "version", 1);
        cJSON_AddStringToObject(old, "model", "hgn");
        cJSON_AddStringToObject(old, "mode", "pair");
        cJSON_AddStringToObject(old, "activation", "tanh");
        cJSON_AddNumberToObject(old, "edge_width", 30);
        cJSON_AddNumberToObject(old, "kinetic_width", 10);
        assert_int_equal(hrf_npz_writer_set_meta(w, old), HRF_OK);
        assert_int_equal(hrf_npz_writer_write(w, path), HRF_OK);
        cJSON_Delete(old);
        hrf_npz_writer_free(w);
        assert_int_equal(hrf_hgn_load(path, &l, NULL), HRF_OK);
        assert_false(hrf_hgn_kinetic_linear(l));
        assert_true(hrf_hgn_theta_T(l) == 0.0);
        /* = the saved model without its linear term */
        hrf_hgn *ref = NULL;
        assert_int_equal(hrf_hgn_from_params(&hrf_activation_tanh, 30, hrf_hgn_W_E(m),
                                             hrf_hgn_b_E(m), hrf_hgn_theta_E(m), 10, hrf_hgn_W_K(m),
                                             hrf_hgn_b_K(m), hrf_hgn_theta_K(m), c0, &ref),
                         HRF_OK);
        double H2, H3;
        assert_int_equal(hrf_hgn_eval(l, 8, 2, d->q, d->p, d->mass, &g, &H2, NULL, NULL), HRF_OK);
        assert_int_equal(hrf_hgn_eval(ref, 8, 2, d->q, d->p, d->mass, &g, &H3, NULL, NULL), HRF_OK);
        /* ref lacks the offsets c_E, c_K: compare through the 7 pairs and 8 particles */
        assert_true(fabs(H2 - (H3 + 7 * cE + 8 * cK)) <= 1e-12 * fmax(1.0, fabs(H2)));
        hrf_hgn_free(ref);
        hrf_hgn_free(l);
    }
    unlink(path);
    hrf_hgn_free(m);
    pdata_free(d);
}

/* ---- tabulated potential ---- */

static void table_errors(const hrf_hgn *m, double a, double b, size_t n, double *eV, double *edV) {
    hrf_hgn_table *t = NULL;
    assert_int_equal(hrf_hgn_table_new(m, a, b, n, &t), HRF_OK);
    *eV = *edV = 0;
    for (size_t i = 0; i <= 20000; i++) {
        double r = a + (b - a) * (double)i / 20000.0, d0, d1;
        double v0 = hrf_hgn_pair_energy(m, r, &d0), v1 = hrf_hgn_table_eval(t, r, &d1);
        *eV = fmax(*eV, fabs(v1 - v0)), *edV = fmax(*edV, fabs(d1 - d0));
    }
    /* Outside the range the network itself. */
    double d0, d1;
    assert_true(hrf_hgn_table_eval(t, b + 0.5, &d1) == hrf_hgn_pair_energy(m, b + 0.5, &d0));
    assert_true(d0 == d1);
    hrf_hgn_table_free(t);
}

static void test_table(void **state) {
    (void)state;
    hrf_pdata *d = make_chain(8, 2, 50, 10);
    hrf_hgn *m = fit(d, "uswim", 40, 10, HRF_SOLVER_AUTO, 0, 0, NULL);
    const double a = 0.7, b = 1.3;
    double bound4 = 0; /* max |V̂⁗| ≤ Σ |θ_k| w_k⁴ max|tanh⁗| */
    for (size_t k = 0; k < 40; k++)
        bound4 += fabs(hrf_hgn_theta_E(m)[k]) * pow(hrf_hgn_W_E(m)[k], 4);
    bound4 *= TANH_D4_MAX;
    double eV[2], edV[2];
    const size_t n[2] = {TABLE_N, 2 * TABLE_N};
    for (int i = 0; i < 2; i++) {
        table_errors(m, a, b, n[i], &eV[i], &edV[i]);
        double h = (b - a) / (double)n[i];
        fprintf(stderr, "table n = %zu: |V err| %.3g (bound %.3g), |V' err| %.3g (bound %.3g)\n",
                n[i], eV[i], pow(h, 4) / 384 * bound4, edV[i], sqrt(3) * pow(h, 3) / 216 * bound4);
        assert_true(eV[i] <= pow(h, 4) / 384 * bound4);
        assert_true(edV[i] <= sqrt(3) * pow(h, 3) / 216 * bound4);
    }
    assert_true(eV[0] / eV[1] >= ORDER_V_MIN);
    assert_true(edV[0] / edV[1] >= ORDER_DV_MIN);
    hrf_hgn_table *t = NULL;
    assert_int_equal(hrf_hgn_table_new(m, 1.0, 1.0, 10, &t), HRF_EINVAL);
    assert_int_equal(hrf_hgn_table_new(m, 0.5, 1.0, 0, &t), HRF_EINVAL);
    assert_null(t);
    hrf_hgn_free(m);
    pdata_free(d);
}

/* ---- the vector field over a batch of states ---- */

/* The field evaluates a batch of states in parallel, one state per thread:
 * every state's dx/dt and H must be bit for bit what the state gives alone,
 * with direct and with tabulated pair forces, in pair and mp mode. (This is
 * also the graph network's parallel loop that ThreadSanitizer runs,
 * tests/tsan_run.sh.) */
static void check_batch(hrf_hgn_field_ctx *ctx, size_t n, const double *x) {
    hrf_field f;
    hrf_hgn_field(ctx, &f);
    const size_t dim = f.dim;
    double *y = malloc(n * dim * sizeof *y), *y1 = malloc(dim * sizeof *y1);
    double *H = malloc(n * sizeof *H), H1;
    assert_int_equal(f.rhs(f.ctx, n, x, y), HRF_OK);
    assert_int_equal(f.energy(f.ctx, n, x, H), HRF_OK);
    for (size_t k = 0; k < n; k++) {
        assert_int_equal(f.rhs(f.ctx, 1, x + k * dim, y1), HRF_OK);
        assert_int_equal(f.energy(f.ctx, 1, x + k * dim, &H1), HRF_OK);
        assert_memory_equal(y + k * dim, y1, dim * sizeof *y1);
        assert_memory_equal(&H[k], &H1, sizeof H1);
    }
    free(y), free(y1), free(H);
}

static void test_field_batch(void **state) {
    (void)state;
    const size_t S = 6;
    hrf_pdata *d = make_chain(8, 2, S, 21);
    const size_t nd = d->N * (size_t)d->D, dim = 2 * nd;
    double *x = malloc(S * dim * sizeof *x); /* (S, 2 N D): the snapshots as states */
    for (size_t s = 0; s < S; s++) {
        memcpy(x + s * dim, d->q + s * nd, nd * sizeof *x);
        memcpy(x + s * dim + nd, d->p + s * nd, nd * sizeof *x);
    }
    for (int mp = 0; mp < 2; mp++) {
        hrf_hgn *m = random_model(30, 10, 22);
        if (mp) add_node(m, 5, 23);
        hrf_hgn_field_ctx ctx;
        hrf_hgn_field_ctx_of(&ctx, m, d);
        check_batch(&ctx, S, x);
        if (!mp) {
            hrf_hgn_table *t = NULL;
            assert_int_equal(hrf_hgn_field_table(&ctx, S, x, 200, &t), HRF_OK);
            ctx.table = t;
            check_batch(&ctx, S, x);
            hrf_hgn_table_free(t);
        }
        hrf_hgn_free(m);
    }
    free(x);
    pdata_free(d);
}

/* ---- bad input ---- */

static void test_bad_input(void **state) {
    (void)state;
    hrf_pdata *d = make_chain(8, 2, 10, 12);
    hrf_hgn_params p;
    hrf_hgn *m = NULL;
    hrf_hgn_params_default(&p);
    p.edge_width = 0;
    assert_non_null(hrf_hgn_params_check(&p));
    assert_int_equal(hrf_hgn_fit(&p, d, &m, NULL), HRF_EINVAL);
    assert_non_null(strstr(hrf_last_error(), "edge width"));
    hrf_hgn_params_default(&p);
    p.kinetic_width = 0;
    assert_int_equal(hrf_hgn_fit(&p, d, &m, NULL), HRF_EINVAL);
    hrf_hgn_params_default(&p);
    p.mode = HRF_HGN_MP, p.node_width = 0;
    assert_int_equal(hrf_hgn_fit(&p, d, &m, NULL), HRF_EINVAL);
    assert_non_null(strstr(hrf_last_error(), "node width"));
    hrf_hgn_params_default(&p);
    /* Empty data set. */
    size_t S = d->S;
    d->S = 0;
    assert_int_equal(hrf_hgn_fit(&p, d, &m, NULL), HRF_EDATA);
    assert_non_null(strstr(hrf_last_error(), "empty"));
    d->S = S;
    /* Dimension out of range. */
    d->D = 4;
    assert_int_equal(hrf_hgn_fit(&p, d, &m, NULL), HRF_EDATA);
    d->D = 2;
    /* A bond pointing past the particles. */
    d->bonds[3] = 8;
    assert_int_equal(hrf_hgn_fit(&p, d, &m, NULL), HRF_EDATA);
    assert_non_null(strstr(hrf_last_error(), "pair 1"));
    d->bonds[3] = 2;
    /* Neither bonds nor a cutoff. */
    uint32_t *bonds = d->bonds;
    d->bonds = NULL, d->n_bonds = 0;
    assert_int_equal(hrf_hgn_fit(&p, d, &m, NULL), HRF_EDATA);
    d->bonds = bonds, d->n_bonds = 7;
    /* SWIM oracle without a known potential. */
    assert_int_equal(hrf_sampler_find("swim", &p.sampler), HRF_OK);
    assert_int_equal(hrf_hgn_fit(&p, d, &m, NULL), HRF_EDATA);
    assert_non_null(strstr(hrf_last_error(), "potential"));
    assert_null(m);
    /* eval: bad dimension, zero particles, cutoff beyond half the box. */
    hrf_hgn_params_default(&p);
    p.edge_width = 10, p.kinetic_width = 5;
    assert_int_equal(hrf_hgn_fit(&p, d, &m, NULL), HRF_OK);
    hrf_hgn_graph g;
    hrf_hgn_graph_of(d, &g);
    double H;
    assert_int_equal(hrf_hgn_eval(m, 8, 0, d->q, d->p, NULL, &g, &H, NULL, NULL), HRF_EINVAL);
    assert_int_equal(hrf_hgn_eval(m, 0, 2, d->q, d->p, NULL, &g, &H, NULL, NULL), HRF_EINVAL);
    assert_int_equal(hrf_hgn_eval(m, 4, 2, d->q, d->p, NULL, &g, &H, NULL, NULL), HRF_EDATA);
    hrf_hgn_graph gc = {NULL, 0, 2.0, 1.5};
    assert_int_equal(hrf_hgn_eval(m, 8, 2, d->q, d->p, NULL, &gc, &H, NULL, NULL), HRF_EDATA);
    /* Loading something that is not an hgn model. */
    hrf_hgn *l = NULL;
    assert_int_equal(hrf_hgn_load("/nonexistent/model.npz", &l, NULL) != HRF_OK, 1);
    assert_null(l);
    hrf_hgn_free(m);
    m = NULL;
    /* from_params: zero width, non-finite values. */
    double one = 1.0, nan_ = NAN, W2[2] = {1, 1};
    assert_int_equal(
        hrf_hgn_from_params(&hrf_activation_tanh, 0, &one, &one, &one, 1, W2, &one, &one, 0.0, &m),
        HRF_EINVAL);
    assert_int_equal(
        hrf_hgn_from_params(&hrf_activation_tanh, 1, &nan_, &one, &one, 1, W2, &one, &one, 0.0, &m),
        HRF_EINVAL);
    pdata_free(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradients_fd), cmocka_unit_test(test_cell_lists),
        cmocka_unit_test(test_invariance),   cmocka_unit_test(test_save_load),
        cmocka_unit_test(test_table),        cmocka_unit_test(test_field_batch),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
