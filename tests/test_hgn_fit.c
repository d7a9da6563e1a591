/* Tests of the sampled Hamiltonian graph network's fits (docs/math.md §10):
 * the harmonic chain fit and its zero-shot transfer from 8 to 4096 particles,
 * the square lattice in mp mode, the many-body mp term, the separable split
 * against the joint solve, the streamed Gram matrix against the dense AᵀA, the
 * solvers against each other, and thread determinism. The model itself
 * (gradients, invariances, save/load, the tabulated V(r), bad input) is tested
 * in test_hgn.c; the hand-made data are in test_util_hgn.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hamrf/hgn.h"
#include "hamrf/rng.h"
#include "hamrf/status.h"
#include "hgn/hgn_impl.h"

#include "test_util_hgn.h"

int openblas_get_num_threads(void);
void openblas_set_num_threads(int);

/* The split and the joint solve of a block-diagonal problem give the same θ;
 * with condition numbers ~1e4 of the small ELM problems, rounding leaves
 * ~1e-12; 1e-8 is generous and still catches any coupling. */
#define SPLIT_TOL 1e-8
/* Streamed Gram vs explicit AᵀA: same sums in another order, entries O(10²). */
#define GRAM_TOL 1e-12
/* Solvers on a well-conditioned problem (ELM, widths 10 and 6). */
#define SOLVER_TOL 1e-7
/* The tall route's residual (R and the QR's sum of squares) against the
 * explicit ‖Aθ − u‖: same quantity, different rounding; relative residuals
 * of ~1e-3 leave ~1e-13 of rounding. */
#define RESIDUAL_TOL 1e-9
/* The zero-shot target: mse_dxdt (per coordinate) on 4096 particles within
 * 10x of that on a held-out 8-particle set. */
#define ZERO_SHOT_FACTOR 10.0
/* Harmonic chain, 8 particles in 2D, 200 training and 200 held-out
 * snapshots, A-SWIM, widths 200/50, exact kinetic feature. Measured (this
 * machine): held-out mse_dxdt 4.7e-26, rel_l2_grad 2.4e-12, rel_l2_H 5.3e-14;
 * zero-shot 4096 (4 snapshots) mse_dxdt 9.1e-23 (1900x the held-out one),
 * rel_l2_grad 9.6e-11, rel_l2_H 7.5e-14 (with another seed of the 4096 chain
 * 2.3e-20, 1.5e-9, 4.0e-13), all of it in dp/dt (dq/dt is exact: θ_T = 1,
 * θ_K = 0).
 * The held-out error is rounding; the 4096-particle one comes from the few
 * of its 16 380 distances beyond the largest of the 1400 training distances
 * (the uniform displacements make r ≤ 1.2 with a thin tail), where the tanh
 * features extrapolate the parabola. A ratio of two errors at that level
 * says nothing, so mse values below ZERO_SHOT_FLOOR_REL² · mean((dx/dt)²)
 * (relative error 1e-9, the least squares' own rounding for condition
 * numbers ~1e6-1e7) count as that floor. Bounds: about 100x above the
 * measured values (rounding differs between BLAS kernels); the model before
 * the exact kinetic feature had held-out 1.1e-16 and zero-shot 9.6e-8, and a
 * broken feature or sign gives errors ~1e-3. */
#define ZERO_SHOT_FLOOR_REL 1e-9
#define CHAIN_MSE_MAX 1e-23
#define CHAIN_GRAD_MAX 1e-9
#define CHAIN_H_MAX 1e-11
#define ZERO_SHOT_GRAD_MAX 1e-7
/* ELM, U-SWIM and the SWIM oracle on the same held-out set (measured
 * rel_l2_grad 4.9e-14 to 4.5e-12; before the exact kinetic feature up to 2e-7). */
#define OTHERS_GRAD_MAX 1e-9
/* Square harmonic lattice 3x3 → 10x10 in 2D (the target: "3x3 → 100x100 in
 * 2D works in both modes", after RF-HGN; 10x10 keeps the test fast), 200 training and 200
 * held-out snapshots, A-SWIM, widths 200 (edge) / 100 (node) / 50. Measured:
 * pair held-out rel_l2_grad 6.5e-9, rel_l2_H 3.9e-11, zero-shot mse_dxdt
 * 0.15x the held-out one, rel_l2_grad 2.1e-9; mp 9.5e-9, 5.6e-11, 0.13x,
 * 2.9e-9. Bounds about 100x above (rounding differs between BLAS kernels). */
#define LATTICE_GRAD_MAX 1e-6
#define LATTICE_H_MAX 1e-8
#ifndef LATTICE_EDGE_WIDTH
#define LATTICE_EDGE_WIDTH 200
#endif
#ifndef LATTICE_NODE_WIDTH
#define LATTICE_NODE_WIDTH 100
#endif

/* ---- hand-made data ---- */

/* A square harmonic lattice of nx x ny particles in 2D (index ix·ny + iy),
 * bonds between lattice neighbours. */
static hrf_pdata *make_lattice(size_t nx, size_t ny, size_t S, uint64_t seed) {
    const size_t N = nx * ny, E = nx * (ny - 1) + (nx - 1) * ny;
    double *rest = malloc(2 * N * sizeof *rest);
    uint32_t *bonds = malloc(2 * E * sizeof *bonds);
    size_t e = 0;
    for (size_t ix = 0; ix < nx; ix++)
        for (size_t iy = 0; iy < ny; iy++) {
            size_t i = ix * ny + iy;
            rest[2 * i] = (double)ix, rest[2 * i + 1] = (double)iy;
            if (iy + 1 < ny) bonds[2 * e] = (uint32_t)i, bonds[2 * e + 1] = (uint32_t)(i + 1), e++;
            if (ix + 1 < nx) bonds[2 * e] = (uint32_t)i, bonds[2 * e + 1] = (uint32_t)(i + ny), e++;
        }
    hrf_pdata *d = make_springs(N, 2, rest, bonds, E, S, seed);
    free(rest);
    return d;
}

/* ---- fitting ---- */

/* Mean of (dx/dt)² over a data set's snapshots, particles and 2D coordinates. */
static double mean_square_dxdt(const hrf_pdata *d) {
    double s = 0;
    const size_t n = d->S * d->N * (size_t)d->D;
    for (size_t t = 0; t < n; t++)
        s += d->dqdt[t] * d->dqdt[t] + d->dpdt[t] * d->dpdt[t];
    return s / (2.0 * (double)n);
}

static void test_chain_zero_shot(void **state) {
    (void)state;
    hrf_pdata *train = make_chain(8, 2, 200, 1), *test = make_chain(8, 2, 200, 2);
    hrf_pdata *big = make_chain(4096, 2, 4, 3);
    hrf_hgn_fit_report rep;
    hrf_hgn *m = fit(train, "aswim", 200, 50, HRF_SOLVER_AUTO, 0, 0, &rep);
    hrf_hgn_errors e8, eN;
    assert_int_equal(hrf_hgn_errors_on(m, test, &e8), HRF_OK);
    assert_int_equal(hrf_hgn_errors_on(m, big, &eN), HRF_OK);
    double floor8 = pow(ZERO_SHOT_FLOOR_REL, 2) * mean_square_dxdt(test);
    fprintf(stderr,
            "chain 8 -> held-out 8: mse_dxdt %.3g rel_l2_grad %.3g rel_l2_H %.3g; zero-shot "
            "4096: mse_dxdt %.3g (%.3gx; floor %.3g) rel_l2_grad %.3g rel_l2_H %.3g; theta_T "
            "%.17g (fit %.3f s, %s / %s)\n",
            e8.mse_dxdt, e8.rel_l2_grad, e8.rel_l2_H, eN.mse_dxdt, eN.mse_dxdt / e8.mse_dxdt,
            floor8, eN.rel_l2_grad, eN.rel_l2_H, hrf_hgn_theta_T(m), rep.fit_seconds,
            rep.lstsq_E.reason, rep.lstsq_K.reason);
    assert_int_equal(rep.passes, 2);
    assert_int_equal(rep.edges, 200 * 7);
    assert_true(hrf_hgn_kinetic_linear(m));
    assert_true(fabs(hrf_hgn_theta_T(m) - 1.0) <= 1e-12); /* T = Σ|p|²/2 exactly */
    assert_true(e8.mse_dxdt <= CHAIN_MSE_MAX);
    assert_true(e8.rel_l2_grad <= CHAIN_GRAD_MAX);
    assert_true(e8.rel_l2_H <= CHAIN_H_MAX);
    assert_true(eN.mse_dxdt <= ZERO_SHOT_FACTOR * fmax(e8.mse_dxdt, floor8));
    assert_true(eN.rel_l2_grad <= ZERO_SHOT_GRAD_MAX);
    assert_true(eN.rel_l2_H <= CHAIN_H_MAX);
    /* The other samplers fit too (ELM, U-SWIM, the SWIM oracle with the true
     * harmonic potential). */
    const char *others[] = {"elm", "uswim", "swim"};
    for (int i = 0; i < 3; i++) {
        hrf_hgn_params p;
        hrf_hgn_params_default(&p);
        hrf_pair_potential v;
        memset(&v, 0, sizeof v);
        v.kind = HRF_PAIR_HARMONIC, v.k = 1.0, v.r0 = 1.0;
        p.potential = &v;
        assert_int_equal(hrf_sampler_find(others[i], &p.sampler), HRF_OK);
        hrf_hgn *mo = NULL;
        assert_int_equal(hrf_hgn_fit(&p, train, &mo, NULL), HRF_OK);
        hrf_hgn_errors eo;
        assert_int_equal(hrf_hgn_errors_on(mo, test, &eo), HRF_OK);
        fprintf(stderr, "  %s: held-out mse_dxdt %.3g rel_l2_grad %.3g\n", others[i], eo.mse_dxdt,
                eo.rel_l2_grad);
        assert_true(eo.rel_l2_grad <= OTHERS_GRAD_MAX);
        hrf_hgn_free(mo);
    }
    /* Without the exact feature (RF-HGN's outline, docs/math.md §10) the sampled kinetic
     * encoder alone: θ_T = 0, and the fit is still good in range. */
    {
        hrf_hgn_params p;
        hrf_hgn_params_default(&p);
        p.kinetic_linear = 0, p.seed = 3;
        hrf_hgn *mo = NULL;
        assert_int_equal(hrf_hgn_fit(&p, train, &mo, NULL), HRF_OK);
        assert_false(hrf_hgn_kinetic_linear(mo));
        assert_true(hrf_hgn_theta_T(mo) == 0.0);
        hrf_hgn_errors eo;
        assert_int_equal(hrf_hgn_errors_on(mo, test, &eo), HRF_OK);
        fprintf(stderr, "  without the exact kinetic feature: held-out mse_dxdt %.3g\n",
                eo.mse_dxdt);
        assert_true(eo.rel_l2_grad <= 1e-3);
        hrf_hgn_free(mo);
    }
    hrf_hgn_free(m);
    pdata_free(train), pdata_free(test), pdata_free(big);
}

/* Mode mp on a 3x3 square harmonic lattice, zero shot to 10x10. */
static void test_lattice_mp_zero_shot(void **state) {
    (void)state;
    hrf_pdata *train = make_lattice(3, 3, 200, 11), *test = make_lattice(3, 3, 200, 12);
    hrf_pdata *big = make_lattice(10, 10, 4, 13);
    for (int mode = 0; mode < 2; mode++) {
        hrf_hgn_params p;
        hrf_hgn_params_default(&p);
        p.mode = mode ? HRF_HGN_MP : HRF_HGN_PAIR, p.seed = 3;
        p.edge_width = LATTICE_EDGE_WIDTH, p.node_width = LATTICE_NODE_WIDTH;
        hrf_hgn *m = NULL;
        hrf_hgn_fit_report rep;
        int rc = hrf_hgn_fit(&p, train, &m, &rep);
        if (rc) fprintf(stderr, "fit failed: %s\n", hrf_last_error());
        assert_int_equal(rc, HRF_OK);
        hrf_hgn_errors e3, eN;
        assert_int_equal(hrf_hgn_errors_on(m, test, &e3), HRF_OK);
        assert_int_equal(hrf_hgn_errors_on(m, big, &eN), HRF_OK);
        double floor3 = pow(ZERO_SHOT_FLOOR_REL, 2) * mean_square_dxdt(test);
        fprintf(stderr,
                "lattice 3x3 %s -> held-out 3x3: mse_dxdt %.3g rel_l2_grad %.3g rel_l2_H %.3g; "
                "zero-shot 10x10: mse_dxdt %.3g (%.3gx; floor %.3g) rel_l2_grad %.3g rel_l2_H "
                "%.3g (fit %.3f s; %s)\n",
                mode ? "mp" : "pair", e3.mse_dxdt, e3.rel_l2_grad, e3.rel_l2_H, eN.mse_dxdt,
                eN.mse_dxdt / e3.mse_dxdt, floor3, eN.rel_l2_grad, eN.rel_l2_H, rep.fit_seconds,
                rep.lstsq_E.reason);
        assert_int_equal(hrf_hgn_mode_of(m), mode ? HRF_HGN_MP : HRF_HGN_PAIR);
        assert_int_equal(hrf_hgn_node_width(m), mode ? LATTICE_NODE_WIDTH : 0);
        assert_true(e3.rel_l2_grad <= LATTICE_GRAD_MAX);
        assert_true(e3.rel_l2_H <= LATTICE_H_MAX);
        assert_true(eN.mse_dxdt <= ZERO_SHOT_FACTOR * fmax(e3.mse_dxdt, floor3));
        assert_true(eN.rel_l2_grad <= LATTICE_GRAD_MAX);
        assert_true(eN.rel_l2_H <= LATTICE_H_MAX);
        if (mode) { /* an mp model saves and loads with its node encoder */
            char path[] = "/tmp/hamrf_test_hgn_mp_XXXXXX.npz";
            int fd = mkstemps(path, 4);
            assert_true(fd >= 0);
            close(fd);
            assert_int_equal(hrf_hgn_save(m, path, NULL), HRF_OK);
            hrf_hgn *l = NULL;
            cJSON *meta = NULL;
            assert_int_equal(hrf_hgn_load_meta(path, &l, &meta), HRF_OK);
            unlink(path);
            assert_string_equal(cJSON_GetObjectItem(meta, "mode")->valuestring, "mp");
            assert_int_equal(hrf_hgn_node_width(l), LATTICE_NODE_WIDTH);
            assert_true(hrf_hgn_node_offset(l) == hrf_hgn_node_offset(m));
            hrf_hgn_errors el;
            assert_int_equal(hrf_hgn_errors_on(l, big, &el), HRF_OK);
            assert_true(el.mse_dxdt == eN.mse_dxdt && el.rel_l2_H == eN.rel_l2_H);
            hrf_hgn_table *t = NULL; /* not pairwise: no table */
            assert_int_equal(hrf_hgn_table_new(l, 0.5, 1.5, 10, &t), HRF_EINVAL);
            cJSON_Delete(meta);
            hrf_hgn_free(l);
        }
        hrf_hgn_free(m);
    }
    /* mp with the other samplers (the node encoder sampled by ELM, U-SWIM
     * and the SWIM oracle's ½ Σ_j V(r_ij)); measured rel_l2_grad 2.7e-12 to
     * 6.3e-9 held-out and zero-shot */
    const char *others[] = {"elm", "uswim", "swim"};
    for (int i = 0; i < 3; i++) {
        hrf_hgn_params p;
        hrf_hgn_params_default(&p);
        p.mode = HRF_HGN_MP, p.seed = 3;
        p.edge_width = LATTICE_EDGE_WIDTH, p.node_width = LATTICE_NODE_WIDTH;
        hrf_pair_potential v;
        memset(&v, 0, sizeof v);
        v.kind = HRF_PAIR_HARMONIC, v.k = 1.0, v.r0 = 1.0;
        p.potential = &v;
        assert_int_equal(hrf_sampler_find(others[i], &p.sampler), HRF_OK);
        hrf_hgn *m = NULL;
        assert_int_equal(hrf_hgn_fit(&p, train, &m, NULL), HRF_OK);
        hrf_hgn_errors e3, eN;
        assert_int_equal(hrf_hgn_errors_on(m, test, &e3), HRF_OK);
        assert_int_equal(hrf_hgn_errors_on(m, big, &eN), HRF_OK);
        fprintf(stderr, "  mp %s: held-out rel_l2_grad %.3g, zero-shot 10x10 %.3g\n", others[i],
                e3.rel_l2_grad, eN.rel_l2_grad);
        assert_true(e3.rel_l2_grad <= LATTICE_GRAD_MAX && eN.rel_l2_grad <= LATTICE_GRAD_MAX);
        hrf_hgn_free(m);
    }
    pdata_free(train), pdata_free(test), pdata_free(big);
}

static double rel_diff(size_t n, const double *a, const double *b) {
    double e = 0, s = 0;
    for (size_t i = 0; i < n; i++)
        e += (a[i] - b[i]) * (a[i] - b[i]), s += b[i] * b[i];
    return sqrt(e / s);
}

/* Relative difference of the kinetic read-outs [θ_K, θ_T] of two models with
 * M_K = 6. With the exact linear feature the data give θ_T = 1 and θ_K ≈ 0,
 * so θ_K alone is rounding noise: the vector with θ_T is what must agree. */
static double rel_diff_kinetic(const hrf_hgn *a, const hrf_hgn *b) {
    double x[7], y[7];
    memcpy(x, hrf_hgn_theta_K(a), 6 * sizeof(double));
    memcpy(y, hrf_hgn_theta_K(b), 6 * sizeof(double));
    x[6] = hrf_hgn_theta_T(a), y[6] = hrf_hgn_theta_T(b);
    return rel_diff(7, x, y);
}

/* The block-diagonal joint problem gives the split's θ (dense svd). */
static void test_split_equals_joint(void **state) {
    (void)state;
    hrf_pdata *d = make_chain(8, 2, 30, 4);
    hrf_hgn *a = fit(d, "elm", 10, 6, HRF_SOLVER_SVD, 0, 0, NULL);
    hrf_hgn *b = fit(d, "elm", 10, 6, HRF_SOLVER_SVD, 1, 0, NULL);
    assert_memory_equal(hrf_hgn_W_E(a), hrf_hgn_W_E(b), 10 * sizeof(double));
    double eE = rel_diff(10, hrf_hgn_theta_E(b), hrf_hgn_theta_E(a));
    double eK = rel_diff_kinetic(b, a);
    fprintf(stderr, "split vs joint: theta_E %.3g theta_K %.3g\n", eE, eK);
    assert_true(eE <= SPLIT_TOL && eK <= SPLIT_TOL);
    assert_true(fabs(hrf_hgn_c0(a) - hrf_hgn_c0(b)) <= SPLIT_TOL * fabs(hrf_hgn_c0(a)) + 1e-12);
    hrf_hgn_free(a), hrf_hgn_free(b);
    pdata_free(d);
}

/* A periodic cutoff system in 2D: S snapshots of n x n particles on a square
 * grid of spacing 0.8 (box side L = 0.8 n) displaced by U[−0.15, 0.15] per
 * coordinate, momenta N(0, 0.3²), masses in [0.5, 1.5], derivatives from the
 * model `truth` (so that the data are exactly representable). */
static hrf_pdata *make_box(const hrf_hgn *truth, size_t n, size_t S, double rc, uint64_t seed) {
    hrf_pdata *d = calloc(1, sizeof *d);
    const int D = 2;
    const size_t N = n * n, nd = N * D;
    const double L = 0.8 * (double)n;
    d->S = S, d->N = N, d->D = D, d->box = L, d->cutoff = rc;
    d->q = malloc(S * nd * sizeof(double)), d->p = malloc(S * nd * sizeof(double));
    d->dqdt = malloc(S * nd * sizeof(double)), d->dpdt = malloc(S * nd * sizeof(double));
    d->H = malloc(S * sizeof(double)), d->mass = malloc(N * sizeof(double));
    hrf_rng rng;
    hrf_rng_seed(&rng, seed);
    for (size_t i = 0; i < N; i++)
        d->mass[i] = 0.5 + hrf_rng_uniform(&rng);
    hrf_hgn_graph g = {NULL, 0, L, rc};
    for (size_t s = 0; s < S; s++) {
        for (size_t i = 0; i < N; i++)
            for (int a = 0; a < D; a++)
                d->q[s * nd + i * D + a] = 0.8 * (double)(a == 0 ? i / n : i % n) +
                                           hrf_rng_uniform_range(&rng, -0.15, 0.15);
        for (size_t t = 0; t < nd; t++)
            d->p[s * nd + t] = 0.3 * hrf_rng_normal(&rng);
        assert_int_equal(hrf_hgn_eval(truth, N, D, d->q + s * nd, d->p + s * nd, d->mass, &g,
                                      d->H + s, d->dqdt + s * nd, d->dpdt + s * nd),
                         HRF_OK);
    }
    return d;
}

/* The streamed Gram equals AᵀA of the explicit matrix, and A θ is the
 * model's gradient (so the matrix holds the right features: in mode mp the
 * θ_N columns carry the chain rule through a_i, checked here against the
 * gradient that hrf_hgn_eval computes, itself checked by finite
 * differences). 100 snapshots of 16 rows make several blocks, the last one
 * partial. */
static void gram_cases(const hrf_hgn *m, const hrf_pdata *d) {
    const hrf_hgn_part parts[3] = {HRF_HGN_PART_POTENTIAL, HRF_HGN_PART_KINETIC,
                                   HRF_HGN_PART_JOINT};
    const size_t nd = d->N * (size_t)d->D, S = d->S;
    const size_t ME = hrf_hgn_edge_width(m), MN = hrf_hgn_node_width(m);
    const size_t MK = hrf_hgn_kinetic_width(m), nP = ME + MN, nK = MK + 1;
    double *dq = malloc(nd * sizeof *dq), *dp = malloc(nd * sizeof *dp);
    for (int c = 0; c < 3; c++) {
        size_t rows, cols;
        double *A, *u;
        assert_int_equal(hrf_hgn_problem_dense(m, d, parts[c], &rows, &cols, &A, &u), HRF_OK);
        assert_int_equal(rows, S * nd * (c == 2 ? 2 : 1));
        assert_int_equal(cols, c == 0 ? nP : c == 1 ? nK : nP + nK);
        double *G = malloc(cols * cols * sizeof *G), *Atu = malloc(cols * sizeof *Atu);
        assert_int_equal(hrf_hgn_problem_gram(m, d, parts[c], G, Atu), HRF_OK);
        double gmax = 0, err = 0;
        for (size_t i = 0; i < cols; i++) {
            double s = 0;
            for (size_t r = 0; r < rows; r++)
                s += A[r + i * rows] * u[r];
            err = fmax(err, fabs(s - Atu[i]));
            for (size_t j = 0; j < cols; j++) {
                s = 0;
                for (size_t r = 0; r < rows; r++)
                    s += A[r + i * rows] * A[r + j * rows];
                gmax = fmax(gmax, fabs(s));
                err = fmax(err, fabs(s - G[i + j * cols]));
            }
        }
        assert_true(err <= GRAM_TOL * gmax);
        /* A θ against the model's derivatives, snapshot by snapshot;
         * θ = [θ_E, θ_N, θ_K, θ_T] restricted to the part's columns. */
        double *theta = malloc(cols * sizeof *theta);
        if (c != 1) {
            memcpy(theta, hrf_hgn_theta_E(m), ME * sizeof(double));
            if (MN) memcpy(theta + ME, hrf_hgn_theta_N(m), MN * sizeof(double));
        }
        if (c != 0) {
            memcpy(theta + (c == 2 ? nP : 0), hrf_hgn_theta_K(m), MK * sizeof(double));
            theta[cols - 1] = hrf_hgn_theta_T(m);
        }
        hrf_hgn_graph g;
        hrf_hgn_graph_of(d, &g);
        double worst = 0;
        for (size_t s = 0; s < S; s++) {
            assert_int_equal(hrf_hgn_eval(m, d->N, d->D, d->q + s * nd, d->p + s * nd, d->mass, &g,
                                          NULL, dq, dp),
                             HRF_OK);
            size_t rps = c == 2 ? 2 * nd : nd;
            for (size_t r = 0; r < rps; r++) {
                double y = 0;
                for (size_t k = 0; k < cols; k++)
                    y += A[s * rps + r + k * rows] * theta[k];
                /* potential rows: ∂Ĥ/∂q = −dp/dt; kinetic rows: ∂Ĥ/∂p = dq/dt */
                double want = (c == 1 || r >= nd) ? dq[r % nd] : -dp[r];
                worst = fmax(worst, fabs(y - want));
            }
        }
        assert_true(worst <= 1e-12 * fmax(1.0, gmax));
        free(A), free(u), free(G), free(Atu), free(theta);
    }
    free(dq), free(dp);
}

static void test_streamed_gram(void **state) {
    (void)state;
    hrf_hgn *m = random_model(20, 7, 31);
    assert_int_equal(hrf_hgn_set_kinetic_linear(m, 1, 0.8), HRF_OK); /* column θ_T too */
    hrf_pdata *d = make_chain(8, 2, 100, 6);
    for (size_t i = 0; i < 8; i++) /* unequal masses: the θ_T column is p/m */
        d->mass[i] = 0.5 + 0.1 * (double)i;
    gram_cases(m, d);
    add_node(m, 9, 32); /* mp: columns [θ_E, θ_N] */
    gram_cases(m, d);
    /* mp on a periodic cutoff system (degrees vary, minimum image) */
    hrf_hgn *truth = random_model(8, 4, 41);
    hrf_pdata *b = make_box(truth, 5, 6, 1.5, 7);
    gram_cases(m, b);
    pdata_free(b);
    hrf_hgn_free(truth);
    pdata_free(d);
    hrf_hgn_free(m);
}

/* svd, qr, normal, auto and the streamed-QR reduction agree on a
 * well-conditioned problem. */
static void test_solvers_agree(void **state) {
    (void)state;
    hrf_pdata *d = make_chain(8, 2, 60, 7);
    hrf_hgn_fit_report rref;
    hrf_hgn *ref = fit(d, "elm", 10, 6, HRF_SOLVER_SVD, 0, 0, &rref);
    const hrf_solver s[4] = {HRF_SOLVER_QR, HRF_SOLVER_NORMAL, HRF_SOLVER_AUTO, HRF_SOLVER_SVD};
    const int reduce[4] = {0, 0, 0, 1};
    for (int i = 0; i < 4; i++) {
        hrf_hgn_fit_report rep;
        hrf_hgn *m = fit(d, "elm", 10, 6, s[i], 0, reduce[i], &rep);
        double eE = rel_diff(10, hrf_hgn_theta_E(m), hrf_hgn_theta_E(ref));
        double eK = rel_diff_kinetic(m, ref);
        fprintf(stderr, "%s%s vs svd: theta_E %.3g theta_K %.3g\n", hrf_solver_name(s[i]),
                reduce[i] ? " (streamed QR)" : "", eE, eK);
        assert_true(eE <= SOLVER_TOL && eK <= SOLVER_TOL);
        if (s[i] == HRF_SOLVER_AUTO) {
            /* 960 x 10 is tall: the one-pass streamed QR, whose residual comes
             * from R and the QR's own sum, not from another pass over A */
            assert_non_null(strstr(rep.lstsq_E.reason, "tall"));
            size_t rows, cols;
            double *A, *u;
            assert_int_equal(
                hrf_hgn_problem_dense(m, d, HRF_HGN_PART_POTENTIAL, &rows, &cols, &A, &u), HRF_OK);
            double r2 = 0, u2 = 0;
            for (size_t r = 0; r < rows; r++) {
                double y = -u[r];
                for (size_t k = 0; k < cols; k++)
                    y += A[r + k * rows] * hrf_hgn_theta_E(m)[k];
                r2 += y * y, u2 += u[r] * u[r];
            }
            fprintf(stderr, "  tall route residual %.6g, explicit %.6g\n", rep.lstsq_E.rel_residual,
                    sqrt(r2 / u2));
            assert_true(fabs(rep.lstsq_E.rel_residual - sqrt(r2 / u2)) <=
                        RESIDUAL_TOL * sqrt(r2 / u2));
            /* 960 x 7 kinetic: the tall route takes one row per particle along
             * p_i and the other rows' targets as a residual constant; its
             * residual is the dense svd's of the full rows */
            assert_non_null(strstr(rep.lstsq_K.reason, "tall"));
            fprintf(stderr, "  kinetic residual: tall route %.6g, dense svd %.6g\n",
                    rep.lstsq_K.rel_residual, rref.lstsq_K.rel_residual);
            assert_true(fabs(rep.lstsq_K.rel_residual - rref.lstsq_K.rel_residual) <=
                        RESIDUAL_TOL * rref.lstsq_K.rel_residual);
            free(A), free(u);
        }
        hrf_hgn_free(m);
    }
    hrf_hgn_free(ref);
    pdata_free(d);
}

/* The tall route's kinetic part (one row per particle along p_i, the other
 * rows' targets a residual constant) against the dense svd of the full rows,
 * on data whose kinetic energy the features cannot fit exactly (a random
 * teacher's kinetic network, unequal masses) and with noise in dq/dt, so
 * that its component across p_i is not zero (for any T(|p|², m) it is): the
 * same θ_K and θ_T, and the same relative residual (without the constant it
 * would be smaller). */
static void test_kinetic_tall_route(void **state) {
    (void)state;
    hrf_hgn *truth = random_model(8, 4, 47);
    hrf_pdata *d = make_box(truth, 6, 40, 1.5, 3); /* 2880 rows, > 50 x 7 */
    hrf_rng rng;
    hrf_rng_seed(&rng, 48);
    for (size_t t = 0; t < d->S * d->N * (size_t)d->D; t++)
        d->dqdt[t] += 0.05 * hrf_rng_normal(&rng);
    hrf_hgn_fit_report ra, rs;
    hrf_hgn *a = fit(d, "elm", 10, 6, HRF_SOLVER_AUTO, 0, 0, &ra);
    hrf_hgn *b = fit(d, "elm", 10, 6, HRF_SOLVER_SVD, 0, 0, &rs);
    double eK = rel_diff_kinetic(a, b);
    fprintf(stderr, "kinetic tall route vs dense svd: theta %.3g, residual %.9g vs %.9g (%s)\n", eK,
            ra.lstsq_K.rel_residual, rs.lstsq_K.rel_residual, ra.lstsq_K.reason);
    assert_non_null(strstr(ra.lstsq_K.reason, "tall"));
    assert_true(rs.lstsq_K.rel_residual > 1e-6); /* not an exact fit */
    assert_true(eK <= SOLVER_TOL);
    assert_true(fabs(ra.lstsq_K.rel_residual - rs.lstsq_K.rel_residual) <=
                RESIDUAL_TOL * rs.lstsq_K.rel_residual);
    hrf_hgn_free(a), hrf_hgn_free(b), hrf_hgn_free(truth);
    pdata_free(d);
}

/* A periodic 14 x 14 box of a random teacher (one snapshot), a random model
 * of edge width 30, the box's pairs (more than two chunks of them) and their
 * distances and unit vectors. */
typedef struct {
    hrf_hgn *truth, *m;
    hrf_pdata *b;
    hrf_hgn_graph g;
    hgn_pair_buf pb;
    const uint32_t *pairs;
    size_t E;
    double *r, *u;
} box_pairs;

static void box_pairs_make(box_pairs *x) {
    memset(x, 0, sizeof *x);
    x->truth = random_model(8, 4, 41), x->m = random_model(30, 5, 43);
    x->b = make_box(x->truth, 14, 1, 1.5, 8);
    hrf_hgn_graph_of(x->b, &x->g);
    assert_int_equal(hgn_graph_pairs(&x->g, x->b->N, x->b->D, x->b->q, &x->pb, &x->pairs, &x->E),
                     HRF_OK);
    assert_true(x->E > 2 * HGN_CHUNK); /* three chunks or more: chunk sums and threads matter */
    x->r = malloc(x->E * sizeof *x->r), x->u = malloc(3 * x->E * sizeof *x->u);
    assert_non_null(x->r), assert_non_null(x->u);
    hgn_pair_geometry(x->b->D, x->b->q, x->g.box, x->pairs, 0, x->E, x->r, x->u);
}

static void box_pairs_free(box_pairs *x) {
    free(x->r), free(x->u), free(x->pb.p);
    pdata_free(x->b);
    hrf_hgn_free(x->m), hrf_hgn_free(x->truth);
}

/* The anchor's threaded pair-energy sum against the per-pair energies of
 * hrf_hgn_pair_energy (a different summation order: within the rounding bound
 * E·M_E·ε·Σ|terms|, 1e-12 relative here), with the distances given or found,
 * and identical bits on 1 and 2 threads. */
static void test_pair_energy_sum(void **state) {
    (void)state;
    box_pairs x;
    box_pairs_make(&x);
    const hrf_hgn *m = x.m;
    double ref = 0.0, mag = 0.0;
    for (size_t e = 0; e < x.E; e++) {
        double v = hrf_hgn_pair_energy(m, x.r[e], NULL) - m->cE;
        ref += v, mag += fabs(v);
    }
    double V1, V2, V3;
    const int D = x.b->D, nt = omp_get_max_threads();
    omp_set_num_threads(1);
    assert_int_equal(hgn_pair_energy_sum(m, D, x.b->q, x.g.box, x.pairs, NULL, x.E, &V1), HRF_OK);
    omp_set_num_threads(2);
    assert_int_equal(hgn_pair_energy_sum(m, D, x.b->q, x.g.box, x.pairs, NULL, x.E, &V2), HRF_OK);
    assert_int_equal(hgn_pair_energy_sum(m, D, x.b->q, x.g.box, x.pairs, x.r, x.E, &V3), HRF_OK);
    omp_set_num_threads(nt);
    fprintf(stderr, "pair energy sum %.17g, per pair %.17g (%zu pairs)\n", V1, ref, x.E);
    assert_true(fabs(V1 - ref) <= 1e-12 * mag);
    assert_memory_equal(&V1, &V2, sizeof V1);
    assert_memory_equal(&V1, &V3, sizeof V1);
    box_pairs_free(&x);
}

/* The streamed QR on fewer rows than unknowns + 1 (its group padded with
 * zero rows): 2 snapshots of an 8-particle chain, 32 potential rows for 40
 * edge features. θ itself is not determined (its minimum-norm form moves by
 * ~1e-7 between routes at rcond 1e-13, before and after the padding), so
 * the check is on what is: the fitted forces A θ against the dense svd's,
 * both interpolating u. */
#define SHORT_FIT_TOL 1e-9
static void test_streamed_qr_short(void **state) {
    (void)state;
    hrf_pdata *d = make_chain(8, 2, 2, 9);
    hrf_hgn *ref = fit(d, "elm", 40, 6, HRF_SOLVER_SVD, 0, 0, NULL);
    hrf_hgn *m = fit(d, "elm", 40, 6, HRF_SOLVER_SVD, 0, 1, NULL);
    size_t rows, cols;
    double *A, *u;
    assert_int_equal(hrf_hgn_problem_dense(m, d, HRF_HGN_PART_POTENTIAL, &rows, &cols, &A, &u),
                     HRF_OK);
    assert_true(rows < cols + 1);
    double dy = 0.0, u2 = 0.0, r2 = 0.0;
    for (size_t r = 0; r < rows; r++) {
        double ym = 0.0, yr = 0.0;
        for (size_t k = 0; k < cols; k++)
            ym += A[r + k * rows] * hrf_hgn_theta_E(m)[k],
                yr += A[r + k * rows] * hrf_hgn_theta_E(ref)[k];
        dy += (ym - yr) * (ym - yr), u2 += u[r] * u[r], r2 += (ym - u[r]) * (ym - u[r]);
    }
    fprintf(stderr, "short streamed QR vs dense svd: |A dθ|/|u| %.3g, residual %.3g\n",
            sqrt(dy / u2), sqrt(r2 / u2));
    assert_true(sqrt(dy / u2) <= SHORT_FIT_TOL && sqrt(r2 / u2) <= SHORT_FIT_TOL);
    free(A), free(u);
    hrf_hgn_free(m), hrf_hgn_free(ref);
    pdata_free(d);
}

/* The position rows filled in column ranges (as threads fill one snapshot)
 * are the rows filled whole, to the bit, with the pair geometry given or
 * computed, and so are the σ sums: every entry receives its pairs' terms in
 * the same order. */
static void test_fill_cols(void **state) {
    (void)state;
    box_pairs x;
    box_pairs_make(&x);
    const hrf_pdata *b = x.b;
    const size_t rows = b->N * (size_t)b->D, ME = 30, E = x.E;
    double *whole = calloc(rows * ME, sizeof *whole), *cols = calloc(rows * ME, sizeof *cols);
    double phi_w[30], phi_c[30];
    assert_non_null(whole), assert_non_null(cols);
    hgn_work w;
    assert_int_equal(hgn_work_init(&w, ME), HRF_OK);
    for (int given = 0; given < 2; given++) {
        memset(whole, 0, rows * ME * sizeof *whole), memset(cols, 0, rows * ME * sizeof *cols);
        memset(phi_w, 0, sizeof phi_w), memset(phi_c, 0, sizeof phi_c);
        const double *rr = given ? x.r : NULL, *uu = given ? x.u : NULL, L = x.g.box;
        hgn_fill_potential(x.m, b->D, b->q, L, x.pairs, E, rr, uu, whole, ME, phi_w, &w);
        hgn_fill_potential_cols(x.m, 0, 8, b->D, b->q, L, x.pairs, E, rr, uu, cols, ME, phi_c, &w);
        hgn_fill_potential_cols(x.m, 8, ME, b->D, b->q, L, x.pairs, E, rr, uu, cols, ME, phi_c, &w);
        assert_memory_equal(whole, cols, rows * ME * sizeof *whole);
        assert_memory_equal(phi_w, phi_c, sizeof phi_w);
    }
    double amax = 0.0; /* not all zero: the comparison means something */
    for (size_t t = 0; t < rows * ME; t++)
        amax = fmax(amax, fabs(whole[t]));
    assert_true(amax > 0.1);
    hgn_work_free(&w);
    free(whole), free(cols);
    box_pairs_free(&x);
}

/* The streamed QR with a chunk's groups factorised in parallel (2 OpenMP
 * threads and single-threaded OpenBLAS: 400 particles in 2D give 800 rows per
 * snapshot, so a group is one snapshot and a chunk two groups, one per
 * thread, folded in order), one after the other (2 OpenMP threads, OpenBLAS
 * with 2) and on one thread, against the dense svd: the same θ on this
 * well-conditioned problem (ELM, widths 10 and 6), potential and kinetic
 * (its one row per particle) parts, and the same residual. */
static void test_parallel_group_qr(void **state) {
    (void)state;
    hrf_hgn *truth = random_model(8, 4, 41);
    hrf_pdata *d = make_box(truth, 20, 4, 1.5, 6);
    hrf_rng rng;
    hrf_rng_seed(&rng, 49);
    for (size_t t = 0; t < d->S * d->N * (size_t)d->D; t++) /* not an exact fit */
        d->dqdt[t] += 0.05 * hrf_rng_normal(&rng), d->dpdt[t] += 0.05 * hrf_rng_normal(&rng);
    const int saved = omp_get_max_threads();
    const int blas_saved = openblas_get_num_threads();
    hrf_hgn_fit_report rs, rq[3];
    hrf_hgn *ref = fit(d, "elm", 10, 6, HRF_SOLVER_SVD, 0, 0, &rs), *m[3];
    const int omp_threads[3] = {1, 2, 2}, blas_threads[3] = {1, 1, 2};
    for (int i = 0; i < 3; i++) {
        omp_set_num_threads(omp_threads[i]);
        openblas_set_num_threads(blas_threads[i]);
        m[i] = fit(d, "elm", 10, 6, HRF_SOLVER_SVD, 0, 1, &rq[i]);
    }
    omp_set_num_threads(saved);
    openblas_set_num_threads(blas_saved);
    for (int i = 0; i < 3; i++) {
        double eE = rel_diff(10, hrf_hgn_theta_E(m[i]), hrf_hgn_theta_E(ref));
        double eK = rel_diff_kinetic(m[i], ref);
        fprintf(stderr,
                "streamed QR, %d OpenMP / %d BLAS threads vs dense svd: theta_E %.3g theta_K "
                "%.3g, residuals %.9g / %.9g vs %.9g / %.9g\n",
                omp_threads[i], blas_threads[i], eE, eK, rq[i].lstsq_E.rel_residual,
                rq[i].lstsq_K.rel_residual, rs.lstsq_E.rel_residual, rs.lstsq_K.rel_residual);
        assert_true(eE <= SOLVER_TOL && eK <= SOLVER_TOL);
        assert_true(rs.lstsq_E.rel_residual > 1e-3 && rs.lstsq_K.rel_residual > 1e-3);
        assert_true(fabs(rq[i].lstsq_E.rel_residual - rs.lstsq_E.rel_residual) <=
                    RESIDUAL_TOL * rs.lstsq_E.rel_residual);
        assert_true(fabs(rq[i].lstsq_K.rel_residual - rs.lstsq_K.rel_residual) <=
                    RESIDUAL_TOL * rs.lstsq_K.rel_residual);
        hrf_hgn_free(m[i]);
    }
    hrf_hgn_free(ref), hrf_hgn_free(truth);
    pdata_free(d);
}

/* The node update learns many-body physics that no pair potential has: data
 * from a random mp teacher (M_E 8, M_N 6) on a periodic 6x6 box, fitted by
 * ELM in both modes (widths 20 edge, 200 node, as the teacher's node input
 * is a 8-dim functional: 200 random directions in the 20-dim a_i space
 * cover it; in 200 dims they would not). Measured held-out rel_l2_grad:
 * pair 0.042, mp 0.0083 (12x12 zero shot: 0.042, 0.0048). A-SWIM samples
 * the node encoder poorly here (mp 0.13): see the report. */
#define MANY_BODY_GAIN 2.0
static void test_mp_many_body(void **state) {
    (void)state;
    hrf_hgn *truth = random_model(8, 4, 41);
    assert_int_equal(hrf_hgn_set_kinetic_linear(truth, 1, 1.0), HRF_OK);
    add_node(truth, 6, 42);
    hrf_pdata *train = make_box(truth, 6, 200, 1.5, 1), *test = make_box(truth, 6, 50, 1.5, 2);
    double grad[2];
    for (int mode = 0; mode < 2; mode++) {
        hrf_hgn_params p;
        hrf_hgn_params_default(&p);
        p.mode = mode ? HRF_HGN_MP : HRF_HGN_PAIR, p.seed = 3;
        p.edge_width = 20, p.node_width = 200;
        assert_int_equal(hrf_sampler_find("elm", &p.sampler), HRF_OK);
        hrf_hgn *m = NULL;
        assert_int_equal(hrf_hgn_fit(&p, train, &m, NULL), HRF_OK);
        hrf_hgn_errors e;
        assert_int_equal(hrf_hgn_errors_on(m, test, &e), HRF_OK);
        grad[mode] = e.rel_l2_grad;
        hrf_hgn_free(m);
    }
    fprintf(stderr, "many-body teacher: held-out rel_l2_grad pair %.3g, mp %.3g\n", grad[0],
            grad[1]);
    assert_true(grad[1] * MANY_BODY_GAIN <= grad[0]);
    pdata_free(train), pdata_free(test);
    hrf_hgn_free(truth);
}

/* The parallel feature fill gives the same fit whatever the number of
 * threads (each snapshot's rows are made by one thread as they would be by
 * one alone, and the BLAS calls see the same groups of snapshots), and the
 * same fit twice. 400 particles: 800 rows per snapshot, so a block holds one
 * snapshot per thread (the case where blocks depend on the threads), and
 * with 200 columns two snapshots are enough work to be filled in parallel. */
static void test_threads_deterministic(void **state) {
    (void)state;
    hrf_hgn *truth = random_model(8, 4, 41);
    assert_int_equal(hrf_hgn_set_kinetic_linear(truth, 1, 1.0), HRF_OK);
    hrf_pdata *d = make_box(truth, 20, 5, 1.5, 6);
    const int saved = omp_get_max_threads();
    hrf_hgn *m[3];
    const int threads[3] = {1, 2, 2};
    for (int i = 0; i < 3; i++) {
        omp_set_num_threads(threads[i]);
        m[i] = fit(d, "aswim", 200, 10, HRF_SOLVER_AUTO, 0, 0, NULL);
    }
    omp_set_num_threads(saved);
    for (int i = 1; i < 3; i++) {
        assert_memory_equal(hrf_hgn_W_E(m[i]), hrf_hgn_W_E(m[0]), 200 * sizeof(double));
        assert_memory_equal(hrf_hgn_theta_E(m[i]), hrf_hgn_theta_E(m[0]), 200 * sizeof(double));
        assert_memory_equal(hrf_hgn_theta_K(m[i]), hrf_hgn_theta_K(m[0]), 10 * sizeof(double));
    }
    for (int i = 0; i < 3; i++)
        hrf_hgn_free(m[i]);
    hrf_hgn_free(truth);
    pdata_free(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_zero_shot),    cmocka_unit_test(test_lattice_mp_zero_shot),
        cmocka_unit_test(test_mp_many_body),       cmocka_unit_test(test_split_equals_joint),
        cmocka_unit_test(test_streamed_gram),      cmocka_unit_test(test_solvers_agree),
        cmocka_unit_test(test_streamed_qr_short),  cmocka_unit_test(test_pair_energy_sum),
        cmocka_unit_test(test_kinetic_tall_route), cmocka_unit_test(test_threads_deterministic),
        cmocka_unit_test(test_fill_cols),          cmocka_unit_test(test_parallel_group_qr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
