/* Hand-made data and the fit that the graph-network tests use (test_hgn.c:
 * the model; test_hgn_fit.c: the fits; test_gd_hgn.c: gradient training).
 * Static functions, one copy per test executable (marked unused: not every
 * test uses every one).
 *
 * The data are made here, independently of src/systems: harmonic chains
 * (k = r0 = m = 1) with uniform displacements of amplitude 0.1 and Gaussian
 * momenta (σ = 0.1), exact derivatives and H written out by hand. */
#ifndef HAMRF_TEST_UTIL_HGN_H
#define HAMRF_TEST_UTIL_HGN_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hamrf/hgn.h"
#include "hamrf/rng.h"
#include "hamrf/status.h"
#include "hgn/hgn_impl.h"

/* ---- hand-made data ---- */

static void pdata_free(hrf_pdata *d) {
    free(d->q), free(d->p), free(d->dqdt), free(d->dpdt), free(d->H), free(d->mass), free(d->bonds);
    free(d);
}

/* S snapshots of a harmonic spring graph (k = r0 = m = 1) of N particles in
 * D dimensions with rest positions rest (N, D) and bonds (E, 2) (taken
 * over): rest + U[−0.1, 0.1] per coordinate, momenta N(0, 0.1²) with the
 * total momentum removed, exact derivatives and H. */
static hrf_pdata *make_springs(size_t N, int D, const double *rest, uint32_t *bonds, size_t E,
                               size_t S, uint64_t seed) {
    hrf_pdata *d = calloc(1, sizeof *d);
    assert_non_null(d);
    const size_t nd = N * D;
    d->S = S, d->N = N, d->D = D;
    d->q = calloc(S * nd, sizeof(double));
    d->p = calloc(S * nd, sizeof(double));
    d->dqdt = calloc(S * nd, sizeof(double));
    d->dpdt = calloc(S * nd, sizeof(double));
    d->H = calloc(S, sizeof(double));
    d->mass = calloc(N, sizeof(double));
    d->n_bonds = E, d->bonds = bonds;
    for (size_t i = 0; i < N; i++)
        d->mass[i] = 1.0;
    hrf_rng rng;
    hrf_rng_seed(&rng, seed);
    for (size_t s = 0; s < S; s++) {
        double *q = d->q + s * nd, *p = d->p + s * nd;
        double mean[3] = {0, 0, 0};
        for (size_t i = 0; i < N; i++)
            for (int a = 0; a < D; a++) {
                q[i * D + a] = rest[i * D + a] + hrf_rng_uniform_range(&rng, -0.1, 0.1);
                p[i * D + a] = 0.1 * hrf_rng_normal(&rng);
                mean[a] += p[i * D + a] / (double)N;
            }
        double H = 0.0;
        for (size_t i = 0; i < N; i++)
            for (int a = 0; a < D; a++) {
                p[i * D + a] -= mean[a];
                d->dqdt[s * nd + i * D + a] = p[i * D + a];
                H += 0.5 * p[i * D + a] * p[i * D + a];
            }
        for (size_t e = 0; e < E; e++) {
            size_t i = bonds[2 * e], j = bonds[2 * e + 1];
            double u[3], r = 0.0;
            for (int a = 0; a < D; a++) {
                u[a] = q[i * D + a] - q[j * D + a];
                r += u[a] * u[a];
            }
            r = sqrt(r);
            H += 0.5 * (r - 1.0) * (r - 1.0);
            for (int a = 0; a < D; a++) { /* V'(r) = r − 1; dp_i/dt = −V' u/r */
                d->dpdt[s * nd + i * D + a] -= (r - 1.0) * u[a] / r;
                d->dpdt[s * nd + j * D + a] += (r - 1.0) * u[a] / r;
            }
        }
        d->H[s] = H;
    }
    return d;
}

/* A harmonic chain of N particles along the first axis in D dimensions. */
static hrf_pdata *make_chain(size_t N, int D, size_t S, uint64_t seed) {
    double *rest = calloc(N * D, sizeof *rest);
    uint32_t *bonds = malloc(2 * (N - 1) * sizeof *bonds);
    for (size_t i = 0; i < N; i++)
        rest[i * D] = (double)i;
    for (size_t e = 0; e + 1 < N; e++)
        bonds[2 * e] = (uint32_t)e, bonds[2 * e + 1] = (uint32_t)(e + 1);
    hrf_pdata *d = make_springs(N, D, rest, bonds, N - 1, S, seed);
    free(rest);
    return d;
}

/* A random model: W_E ~ N(0, 2²), b_E ~ U[−2, 2], θ ~ N(0, 1), and the
 * kinetic encoder likewise. */
__attribute__((unused)) static hrf_hgn *random_model(size_t ME, size_t MK, uint64_t seed) {
    hrf_rng rng;
    hrf_rng_seed(&rng, seed);
    double *buf = malloc((3 * ME + 4 * MK) * sizeof *buf);
    double *WE = buf, *bE = WE + ME, *tE = bE + ME, *WK = tE + ME, *bK = WK + 2 * MK, *tK = bK + MK;
    for (size_t k = 0; k < ME; k++)
        WE[k] = 2.0 * hrf_rng_normal(&rng), bE[k] = hrf_rng_uniform_range(&rng, -2, 2),
        tE[k] = hrf_rng_normal(&rng);
    for (size_t k = 0; k < MK; k++)
        WK[2 * k] = 2.0 * hrf_rng_normal(&rng), WK[2 * k + 1] = hrf_rng_normal(&rng),
               bK[k] = hrf_rng_uniform_range(&rng, -1, 1), tK[k] = hrf_rng_normal(&rng);
    hrf_hgn *m = NULL;
    assert_int_equal(
        hrf_hgn_from_params(&hrf_activation_tanh, ME, WE, bE, tE, MK, WK, bK, tK, 0.3, &m), HRF_OK);
    free(buf);
    return m;
}

/* Makes m an mp model with a random node encoder of width MN: W_N ~
 * N(0, 1/M_E), b_N ~ U[−1, 1], θ_N ~ N(0, 1). */
__attribute__((unused)) static void add_node(hrf_hgn *m, size_t MN, uint64_t seed) {
    hrf_rng rng;
    hrf_rng_seed(&rng, seed);
    const size_t ME = hrf_hgn_edge_width(m);
    double *W = malloc(MN * ME * sizeof *W), *b = malloc(MN * sizeof *b), *t = malloc(MN * 8);
    for (size_t k = 0; k < MN * ME; k++)
        W[k] = hrf_rng_normal(&rng) / sqrt((double)ME);
    for (size_t n = 0; n < MN; n++)
        b[n] = hrf_rng_uniform_range(&rng, -1, 1), t[n] = hrf_rng_normal(&rng);
    assert_int_equal(hrf_hgn_set_node(m, MN, W, b, t), HRF_OK);
    assert_int_equal(hrf_hgn_mode_of(m), HRF_HGN_MP);
    free(W), free(b), free(t);
}

/* Random positions in a periodic cube of side L with every pair distance at
 * least rmin and none within 1e-3 of the cutoff rc (Ĥ jumps there, which
 * central differences would straddle). */
__attribute__((unused)) static void random_box(size_t N, int D, double L, double rc, double rmin,
                                               hrf_rng *rng, double *q) {
    for (;;) {
        for (size_t t = 0; t < N * (size_t)D; t++)
            q[t] = hrf_rng_uniform_range(rng, 0, L);
        int ok = 1;
        for (size_t i = 0; i < N && ok; i++)
            for (size_t j = i + 1; j < N && ok; j++) {
                double s = 0;
                for (int a = 0; a < D; a++) {
                    double d = q[i * D + a] - q[j * D + a];
                    d -= L * nearbyint(d / L);
                    s += d * d;
                }
                if (fabs(sqrt(s) - rc) < 1e-3 || sqrt(s) < rmin) ok = 0;
            }
        if (ok) return;
    }
}

/* ---- fitting ---- */

__attribute__((unused)) static hrf_hgn *fit(const hrf_pdata *d, const char *sampler, size_t ME,
                                            size_t MK, hrf_solver solver, int joint, int use_reduce,
                                            hrf_hgn_fit_report *rep) {
    hrf_hgn_params p;
    hrf_hgn_params_default(&p);
    p.edge_width = ME, p.kinetic_width = MK, p.joint = joint, p.seed = 3;
    p.lstsq.solver = solver;
    p.lstsq.use_reduce = use_reduce;
    assert_int_equal(hrf_sampler_find(sampler, &p.sampler), HRF_OK);
    assert_null(hrf_hgn_params_check(&p));
    hrf_hgn *m = NULL;
    int rc = hrf_hgn_fit(&p, d, &m, rep);
    if (rc) fprintf(stderr, "fit failed: %s\n", hrf_last_error());
    assert_int_equal(rc, HRF_OK);
    return m;
}

#endif /* HAMRF_TEST_UTIL_HGN_H */
