/* Tests of the particle systems (src/systems/particles.c; docs/math.md §10):
 * pair potentials, forces, cell lists, conservation, geometry and initial
 * states. Their data sets, files and bad input are tested in
 * test_particles_data.c; the helpers both use are in test_util_particles.h.
 *
 * Independent references used here: hand-computed values of the pair
 * potentials; central finite differences of H for every force; a brute-force
 * O(N²) minimum-image pair search and LJ force written here (its own
 * formula, not hrf_pair_eval) for the cell lists; geometry (bond lengths at
 * rest, fcc nearest-neighbour distance a/√2 and coordination 12, zero forces
 * on a perfect lattice by symmetry); closed-form bond counts; conservation
 * of total momentum; and the second order of velocity Verlet's energy error
 * (halving dt divides it by 4). */

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

#include "systems/particles_impl.h"
#include "hamrf/particles.h"
#include "hamrf/status.h"
#include "test_util_particles.h"

/* Hand-computed values are exact up to the rounding of a few operations. */
#define EXACT_TOL 1e-13

/* Central differences of H with step h: truncation h²|∂³H|/6 and rounding
 * ε|H|/h. Springs: |H| ≲ 10, |∂³H| ≲ 10 (Morse, anharmonic at 0.3 r0), so
 * h = 1e-6 gives ≈ 2e-12 + 2e-9; measured worst 3e-10 relative to
 * 1 + max|F|. FD_TOL = 1e-7 leaves a factor 300, while a wrong sign or
 * factor is an O(1) error. */
#define FD_STEP 1e-6
#define FD_TOL 1e-7

/* LJ: |H| ≈ 5 N (N = 500: 2500), |∂³V| up to ~1e4 at the closest
 * approach r ≈ 0.9 σ. h = 1e-5 gives rounding 2500·2e-16/1e-5 ≈ 5e-8 and
 * truncation 1e-10·1e4/6 ≈ 2e-7; measured worst ≈ 2e-8 of 1 + max|F|.
 * LJ_FD_TOL = 1e-5. Coordinates with a pair within 100 h of rc are
 * skipped: V' jumps there by |V'(rc)| ≈ 0.039, an O(1e-2) difference error
 * that is the truncated potential's, not the code's. */
#define LJ_FD_STEP 1e-5
#define LJ_FD_TOL 1e-5

/* Cell list against the brute-force sum: the same pairs in another order,
 * so forces agree to rounding: |F| ≲ 1e3 at r ≈ 0.9 with ~50 terms;
 * measured ≤ 1e-13 relative to 1 + max|F|. */
#define CELL_TOL 1e-11

/* Total momentum starts at ~1e-16 and each step adds the rounding of the
 * force sum ≈ √(pairs)·ε·|F| ≈ 1e-13 times dt: after 400 steps ≪ 1e-12. */
#define MOMENTUM_TOL 1e-12

/* Velocity Verlet's energy error is O(dt²): halving dt divides the maximum
 * error over a fixed time by 4; allow 3..5 for the higher-order terms. */
#define ORDER_LO 3.0
#define ORDER_HI 5.0

/* LJ N = 256 at T = 1, dt = 0.005, 400 steps: measured max relative energy
 * error ≈ 1e-4 (the force jump at rc adds a small random walk); 2e-3 still
 * fails for dt = 0.05-size errors or a wrong half kick (O(1)). */
#define LJ_ENERGY_TOL 2e-3

/* Exact temperature and momentum after rescaling: rounding of N terms. */
#define TEMP_TOL 1e-12

static int verbose(void) {
    return getenv("HRF_TEST_VERBOSE") != NULL;
}

/* ---- a small independent generator (SplitMix64) ------------------------- */

static uint64_t rng_state = 987654321;
static double uniform(double lo, double hi) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return lo + (hi - lo) * ((double)(z >> 11) * 0x1.0p-53);
}

static double maxabs(const double *x, size_t n) {
    double m = 0.0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(x[i]));
    return m;
}

static double energy(const hrf_psystem *s, const double *q, const double *p) {
    double H;
    assert_int_equal(hrf_psystem_eval(s, q, p, &H, NULL, NULL), HRF_OK);
    return H;
}

/* ---- pair potentials ---------------------------------------------------- */

static void test_pair_values(void **state) {
    (void)state;
    hrf_pair_potential v;
    double d;
    /* harmonic k = 2, r0 = 1.5 at r = 2: V = 2/2·0.25 = 0.25, V' = 2·0.5 = 1 */
    hrf_pair_potential_default(HRF_PAIR_HARMONIC, &v);
    v.k = 2.0, v.r0 = 1.5;
    assert_true(fabs(hrf_pair_eval(&v, 2.0, &d) - 0.25) < EXACT_TOL);
    assert_true(fabs(d - 1.0) < EXACT_TOL);
    /* anharmonic defaults at r = 1.5: x = 0.5, V = 0.125 + 0.0625/4, V' = 0.5 + 0.125 */
    hrf_pair_potential_default(HRF_PAIR_ANHARMONIC, &v);
    assert_true(fabs(hrf_pair_eval(&v, 1.5, &d) - 0.140625) < EXACT_TOL);
    assert_true(fabs(d - 0.625) < EXACT_TOL);
    /* Morse defaults: minimum 0 at r0; at r0 + ln 2, e = 1/2: V = 1/4, V' = 2·(1/2)(1/2) */
    hrf_pair_potential_default(HRF_PAIR_MORSE, &v);
    assert_true(fabs(hrf_pair_eval(&v, 1.0, &d)) < EXACT_TOL && fabs(d) < EXACT_TOL);
    assert_true(fabs(hrf_pair_eval(&v, 1.0 + log(2.0), &d) - 0.25) < EXACT_TOL);
    assert_true(fabs(d - 0.5) < EXACT_TOL);
    /* LJ: minimum −ε at 2^{1/6}σ, shifted by V(rc) = 4(2.5^-12 − 2.5^-6) */
    hrf_pair_potential_default(HRF_PAIR_LJ, &v);
    assert_true(v.eps == 1.0 && v.sigma == 1.0 && v.rc == 2.5);
    const double vrc = 4.0 * (pow(2.5, -12) - pow(2.5, -6));
    assert_true(fabs(hrf_pair_eval(&v, pow(2.0, 1.0 / 6.0), &d) - (-1.0 - vrc)) < EXACT_TOL);
    assert_true(fabs(d) < EXACT_TOL);
    assert_true(fabs(hrf_pair_eval(&v, 1.0, &d) - (0.0 - vrc)) < EXACT_TOL);
    assert_true(fabs(d - (-24.0)) < EXACT_TOL); /* V'(σ) = −24ε/σ */
    assert_true(hrf_pair_eval(&v, 2.5, &d) == 0.0 && d == 0.0);
    assert_true(hrf_pair_eval(&v, 3.0, &d) == 0.0 && d == 0.0);
    assert_true(fabs(hrf_pair_eval(&v, 2.5 - 1e-9, &d)) < 1e-9); /* continuous at rc */
    /* V' against central differences of V for every kind */
    for (int k = 0; k < 4; k++) {
        hrf_pair_potential_default((hrf_pair_kind)k, &v);
        for (double r = 0.8; r < 2.4; r += 0.13) {
            double dv, h = 1e-6;
            hrf_pair_eval(&v, r, &dv);
            double fd = (hrf_pair_eval(&v, r + h, NULL) - hrf_pair_eval(&v, r - h, NULL)) / (2 * h);
            assert_true(fabs(fd - dv) < FD_TOL * (1.0 + fabs(dv)));
        }
    }
    /* names, check, set, JSON round trip */
    hrf_pair_kind kind;
    assert_int_equal(hrf_pair_kind_find("morse", &kind), HRF_OK);
    assert_int_equal(kind, HRF_PAIR_MORSE);
    assert_int_equal(hrf_pair_kind_find("nope", &kind), HRF_ENOTFOUND);
    assert_non_null(strstr(hrf_last_error(), "anharmonic"));
    hrf_pair_potential_default(HRF_PAIR_MORSE, &v);
    assert_int_equal(hrf_pair_potential_set(&v, "a", 2.0), HRF_OK);
    assert_int_equal(hrf_pair_potential_set(&v, "k", 2.0), HRF_ENOTFOUND);
    assert_non_null(strstr(hrf_last_error(), "De, a, r0"));
    cJSON *j = hrf_pair_potential_json(&v);
    hrf_pair_potential w;
    assert_int_equal(hrf_pair_potential_from_json(j, &w), HRF_OK);
    assert_true(w.kind == HRF_PAIR_MORSE && w.a == 2.0 && w.De == 1.0 && w.r0 == 1.0);
    cJSON_Delete(j);
    v.De = -1.0;
    assert_non_null(hrf_pair_potential_check(&v));
    v.De = NAN;
    assert_non_null(hrf_pair_potential_check(&v));
    hrf_pair_potential_default(HRF_PAIR_ANHARMONIC, &v);
    v.k4 = -0.5;
    assert_non_null(hrf_pair_potential_check(&v));
    hrf_pair_potential_default(HRF_PAIR_LJ, &v);
    v.sigma = 0.0;
    assert_non_null(hrf_pair_potential_check(&v));
}

/* ---- forces against finite differences --------------------------------- */

/* Checks dq/dt and dp/dt of s at (q, p) against central differences of H on
 * the coordinates for which skip() is false; returns the worst error
 * relative to 1 + max|F|. */
static double fd_check(const hrf_psystem *s, double *q, double *p, double h, size_t max_coords,
                       int (*skip_coord)(const hrf_psystem *, const double *, size_t)) {
    const size_t n = hrf_psystem_n(s) * (size_t)hrf_psystem_dim(s);
    double *dq = dalloc(n), *dp = dalloc(n), H;
    assert_int_equal(hrf_psystem_eval(s, q, p, &H, dq, dp), HRF_OK);
    const double scale = 1.0 + fmax(maxabs(dp, n), maxabs(dq, n));
    double worst = 0.0;
    size_t stride = n > max_coords ? n / max_coords : 1;
    for (size_t c = 0; c < n; c += stride) {
        if (skip_coord && skip_coord(s, q, c)) continue;
        double x = q[c];
        q[c] = x + h;
        double Hp = energy(s, q, p);
        q[c] = x - h;
        double Hm = energy(s, q, p);
        q[c] = x;
        worst = fmax(worst, fabs(-(Hp - Hm) / (2 * h) - dp[c]) / scale);
        x = p[c];
        p[c] = x + h;
        Hp = energy(s, q, p);
        p[c] = x - h;
        Hm = energy(s, q, p);
        p[c] = x;
        worst = fmax(worst, fabs((Hp - Hm) / (2 * h) - dq[c]) / scale);
    }
    free(dq), free(dp);
    return worst;
}

static void random_state(const hrf_psystem *s, double amp, double *q, double *p) {
    const size_t n = hrf_psystem_n(s) * (size_t)hrf_psystem_dim(s);
    hrf_psystem_rest(s, q);
    for (size_t i = 0; i < n; i++) {
        q[i] += uniform(-amp, amp);
        p[i] = uniform(-0.5, 0.5);
    }
}

static void test_springs_forces(void **state) {
    (void)state;
    struct {
        hrf_topology topo;
        size_t shape[3];
        int D;
    } cases[] = {{HRF_TOPO_CHAIN, {6, 0, 0}, 1},  {HRF_TOPO_CHAIN, {7, 0, 0}, 2},
                 {HRF_TOPO_CHAIN, {5, 0, 0}, 3},  {HRF_TOPO_RING, {6, 0, 0}, 2},
                 {HRF_TOPO_RING, {5, 0, 0}, 3},   {HRF_TOPO_LATTICE, {3, 4, 0}, 2},
                 {HRF_TOPO_LATTICE, {2, 3, 2}, 3}};
    double worst = 0.0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (int k = 0; k < 3; k++) {
            hrf_pair_potential v;
            hrf_pair_potential_default((hrf_pair_kind)k, &v);
            v.k = 1.3, v.r0 = 0.9, v.k4 = 0.7, v.De = 1.1, v.a = 1.4;
            hrf_psystem *s = NULL;
            assert_int_equal(
                hrf_psystem_springs_new(cases[c].topo, cases[c].shape, cases[c].D, &v, 1.7, &s),
                HRF_OK);
            const size_t n = hrf_psystem_n(s) * (size_t)cases[c].D;
            double *q = dalloc(n), *p = dalloc(n);
            random_state(s, 0.3 * v.r0, q, p);
            double e = fd_check(s, q, p, FD_STEP, 1000, NULL);
            worst = fmax(worst, e);
            if (e >= FD_TOL)
                fail_msg("%s D=%d %s: FD error %.3g", hrf_topology_name(cases[c].topo), cases[c].D,
                         hrf_pair_kind_name(v.kind), e);
            free(q), free(p);
            hrf_psystem_free(s);
        }
    if (verbose()) print_message("springs FD worst %.3g\n", worst);
}

/* Skips coordinates of particles with a pair within 100 h of rc (see LJ_FD_TOL). */
static int near_cutoff(const hrf_psystem *s, const double *q, size_t c) {
    const size_t i = c / 3, N = hrf_psystem_n(s);
    const double L = hrf_psystem_box(s), rc = hrf_psystem_cutoff(s);
    for (size_t j = 0; j < N; j++) {
        if (j == i) continue;
        double r2 = 0.0;
        for (int a = 0; a < 3; a++) {
            double d = q[3 * i + a] - q[3 * j + a];
            d -= L * nearbyint(d / L);
            r2 += d * d;
        }
        if (fabs(sqrt(r2) - rc) < 100 * LJ_FD_STEP) return 1;
    }
    return 0;
}

/* fcc + U(±amp) displacements (the lattice planes at coordinate 0 then
 * straddle the box faces), a few particles put within 1e-3 of a face or
 * exactly on it (0 and L), and some shifted by whole boxes (unwrapped
 * coordinates). */
static void lj_state(const hrf_psystem *s, double amp, double *q, double *p) {
    const size_t N = hrf_psystem_n(s);
    const double L = hrf_psystem_box(s);
    double *r = dalloc(3 * N);
    hrf_psystem_rest(s, r);
    random_state(s, amp, q, p);
    int moved = 0;
    for (size_t i = 0, eligible = 0; i < N; i++) {
        const int a = (int)(i % 3);
        if (r[3 * i + a] != 0.0 || eligible++ % 3) continue;
        q[3 * i + a] = moved == 0 ? 0.0 : moved == 1 ? L : uniform(-1e-3, 1e-3);
        moved++;
    }
    assert_true(moved > 2);
    for (size_t i = 3; i < N; i += 11)
        q[3 * i + (i % 3)] += (i % 2 ? 2.0 : -3.0) * L;
    free(r);
}

static void test_lj_forces(void **state) {
    (void)state;
    const size_t Ns[] = {108, 500};
    double worst = 0.0;
    for (int t = 0; t < 2; t++) {
        hrf_psystem *s = NULL;
        assert_int_equal(hrf_psystem_lj_new(Ns[t], 0.8442, NULL, &s), HRF_OK);
        const size_t n = 3 * Ns[t];
        double *q = dalloc(n), *p = dalloc(n);
        lj_state(s, 0.15, q, p);
        double e = fd_check(s, q, p, LJ_FD_STEP, 120, near_cutoff);
        worst = fmax(worst, e);
        if (e >= LJ_FD_TOL) fail_msg("LJ N=%zu: FD error %.3g", Ns[t], e);
        free(q), free(p);
        hrf_psystem_free(s);
    }
    if (verbose()) print_message("LJ FD worst %.3g\n", worst);
}

/* ---- cell lists against brute force ------------------------------------- */

/* All pairs with minimum-image distance < rc, i < j, in (i, j) order, and the
 * LJ forces from the textbook formula. Returns the number of pairs. */
static size_t brute_lj(const double *q, size_t N, double L, double rc, uint32_t *pairs, double *f,
                       double *U) {
    size_t np = 0;
    const double vc = 4.0 * (pow(rc, -12) - pow(rc, -6));
    memset(f, 0, 3 * N * sizeof *f);
    *U = 0.0;
    for (size_t i = 0; i < N; i++)
        for (size_t j = i + 1; j < N; j++) {
            double d[3], r2 = 0.0;
            for (int a = 0; a < 3; a++) {
                d[a] = q[3 * i + a] - q[3 * j + a];
                d[a] -= L * round(d[a] / L);
                r2 += d[a] * d[a];
            }
            if (r2 >= rc * rc) continue;
            if (pairs) pairs[2 * np] = (uint32_t)i, pairs[2 * np + 1] = (uint32_t)j;
            np++;
            double ir6 = 1.0 / (r2 * r2 * r2);
            *U += 4.0 * (ir6 * ir6 - ir6) - vc;
            double fr = (48.0 * ir6 * ir6 - 24.0 * ir6) / r2; /* −V'(r)/r */
            for (int a = 0; a < 3; a++) {
                f[3 * i + a] += fr * d[a];
                f[3 * j + a] -= fr * d[a];
            }
        }
    return np;
}

static void test_cells_vs_brute(void **state) {
    (void)state;
    const size_t Ns[] = {108, 500, 864, 4000}; /* all pairs; R = 2 with 6, 7, 13 cells */
    for (int t = 0; t < 4; t++) {
        const size_t N = Ns[t], n = 3 * N;
        hrf_psystem *s = NULL;
        assert_int_equal(hrf_psystem_lj_new(N, 0.8442, NULL, &s), HRF_OK);
        double *q = dalloc(n), *p = dalloc(n), *f = dalloc(n), *fb = dalloc(n), U, H;
        lj_state(s, 0.3, q, p);
        uint32_t *bp = malloc(N * 100 * sizeof *bp), *cp = NULL;
        assert_non_null(bp);
        size_t nb = brute_lj(q, N, hrf_psystem_box(s), 2.5, bp, fb, &U), nc = 0;
        assert_int_equal(hrf_psystem_pairs(s, q, &cp, &nc), HRF_OK);
        assert_int_equal(nc, nb);
        assert_memory_equal(cp, bp, 2 * nb * sizeof *bp);
        assert_int_equal(hrf_psystem_eval(s, q, p, &H, NULL, f), HRF_OK);
        double scale = 1.0 + maxabs(fb, n), err = 0.0;
        for (size_t i = 0; i < n; i++)
            err = fmax(err, fabs(f[i] - fb[i]) / scale);
        double K = 0.0;
        for (size_t i = 0; i < n; i++)
            K += 0.5 * p[i] * p[i];
        double eU = fabs(H - K - U) / (1.0 + fabs(U));
        if (verbose())
            print_message("N=%zu pairs %zu force err %.3g energy err %.3g\n", N, nb, err, eU);
        assert_true(err < CELL_TOL);
        assert_true(eU < CELL_TOL);
        free(q), free(p), free(f), free(fb), free(bp), free(cp);
        hrf_psystem_free(s);
    }
}

/* Same bits for 1 and 2 threads (each particle sums its own force). */
static void test_thread_determinism(void **state) {
    (void)state;
    const size_t N = 4000, n = 3 * N;
    hrf_psystem *s = NULL;
    assert_int_equal(hrf_psystem_lj_new(N, 0.8442, NULL, &s), HRF_OK);
    double *q = dalloc(n), *p = dalloc(n), *f1 = dalloc(n), *f2 = dalloc(n), H1, H2;
    lj_state(s, 0.2, q, p);
    double *q2 = dalloc(n), *p2 = dalloc(n);
    memcpy(q2, q, n * sizeof *q), memcpy(p2, p, n * sizeof *p);
    int nt = omp_get_max_threads();
    omp_set_num_threads(1);
    assert_int_equal(hrf_psystem_eval(s, q, p, &H1, NULL, f1), HRF_OK);
    assert_int_equal(hrf_psystem_simulate(s, q, p, 0.005, 3), HRF_OK);
    omp_set_num_threads(2);
    assert_int_equal(hrf_psystem_eval(s, q2, p2, &H2, NULL, f2), HRF_OK);
    assert_int_equal(hrf_psystem_simulate(s, q2, p2, 0.005, 3), HRF_OK);
    omp_set_num_threads(nt);
    assert_memory_equal(f1, f2, n * sizeof *f1);
    assert_true(H1 == H2);
    assert_memory_equal(q, q2, n * sizeof *q);
    assert_memory_equal(p, p2, n * sizeof *p);
    free(q), free(p), free(f1), free(f2), free(q2), free(p2);
    hrf_psystem_free(s);
}

/* ---- conservation ------------------------------------------------------- */

static double total_momentum(const hrf_psystem *s, const double *p) {
    const int D = hrf_psystem_dim(s);
    double P[3] = {0, 0, 0};
    for (size_t i = 0; i < hrf_psystem_n(s); i++)
        for (int a = 0; a < D; a++)
            P[a] += p[i * D + a];
    return fabs(P[0]) + fabs(P[1]) + fabs(P[2]);
}

/* Max |H(t) − H(0)| over `steps` steps of dt from (q0, p0); also the max
 * total momentum seen. */
static double energy_error(const hrf_psystem *s, const double *q0, const double *p0, double dt,
                           size_t steps, double *pmax) {
    const size_t n = hrf_psystem_n(s) * (size_t)hrf_psystem_dim(s);
    double *q = dalloc(n), *p = dalloc(n), *f = dalloc(n), H0, H, err = 0.0;
    memcpy(q, q0, n * sizeof *q), memcpy(p, p0, n * sizeof *p);
    assert_int_equal(hrf_psystem_eval(s, q, p, &H0, NULL, f), HRF_OK);
    *pmax = total_momentum(s, p);
    for (size_t t = 0; t < steps; t++) {
        assert_int_equal(hrf_psystem_verlet(s, q, p, f, dt, 1, &H), HRF_OK);
        err = fmax(err, fabs(H - H0));
        *pmax = fmax(*pmax, total_momentum(s, p));
    }
    free(q), free(p), free(f);
    return err;
}

static void test_springs_conservation(void **state) {
    (void)state;
    struct {
        hrf_topology topo;
        size_t shape[3];
        int D;
        hrf_pair_kind k;
    } cases[] = {{HRF_TOPO_LATTICE, {3, 3, 0}, 2, HRF_PAIR_ANHARMONIC},
                 {HRF_TOPO_CHAIN, {8, 0, 0}, 3, HRF_PAIR_MORSE},
                 {HRF_TOPO_RING, {6, 0, 0}, 2, HRF_PAIR_HARMONIC},
                 {HRF_TOPO_LATTICE, {2, 2, 3}, 3, HRF_PAIR_HARMONIC}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        hrf_pair_potential v;
        hrf_pair_potential_default(cases[c].k, &v);
        hrf_psystem *s = NULL;
        assert_int_equal(
            hrf_psystem_springs_new(cases[c].topo, cases[c].shape, cases[c].D, &v, 1.0, &s),
            HRF_OK);
        const size_t n = hrf_psystem_n(s) * (size_t)cases[c].D;
        double *q = dalloc(n), *p = dalloc(n), pm1, pm2;
        hrf_pdata_params par;
        hrf_pdata_params_default(&par);
        par.amplitude = 0.2, par.p_sigma = 0.3;
        hrf_rng rng;
        hrf_rng_seed(&rng, 7 + c);
        assert_int_equal(hrf_psystem_init_state(s, &par, &rng, q, p), HRF_OK);
        /* t = 8 with dt = 0.04 and 0.02 */
        double e1 = energy_error(s, q, p, 0.04, 200, &pm1);
        double e2 = energy_error(s, q, p, 0.02, 400, &pm2);
        if (verbose())
            print_message("%s: energy err %.3g %.3g ratio %.3f, momentum %.3g\n",
                          hrf_topology_name(cases[c].topo), e1, e2, e1 / e2, fmax(pm1, pm2));
        assert_true(e1 / e2 > ORDER_LO && e1 / e2 < ORDER_HI);
        assert_true(pm1 < MOMENTUM_TOL && pm2 < MOMENTUM_TOL);
        free(q), free(p);
        hrf_psystem_free(s);
    }
}

static void test_lj_conservation(void **state) {
    (void)state;
    hrf_psystem *s = NULL;
    assert_int_equal(hrf_psystem_lj_new(256, 0.8442, NULL, &s), HRF_OK);
    const size_t n = 3 * 256;
    double *q = dalloc(n), *p = dalloc(n), pm;
    hrf_pdata_params par;
    hrf_pdata_params_system_default(s, &par);
    hrf_rng rng;
    hrf_rng_seed(&rng, 3);
    assert_int_equal(hrf_psystem_init_state(s, &par, &rng, q, p), HRF_OK);
    double H0 = energy(s, q, p);
    double e = energy_error(s, q, p, 0.005, 400, &pm) / fabs(H0);
    if (verbose()) print_message("LJ energy err %.3g momentum %.3g\n", e, pm);
    assert_true(e < LJ_ENERGY_TOL);
    assert_true(pm < MOMENTUM_TOL);
    /* The order of the error before any pair crosses rc often: short run
     * from a cold (T = 0.05) fcc start, where no pair is near rc. */
    par.temperature = 0.05;
    hrf_rng_seed(&rng, 4);
    assert_int_equal(hrf_psystem_init_state(s, &par, &rng, q, p), HRF_OK);
    double e1 = energy_error(s, q, p, 0.01, 50, &pm), e2 = energy_error(s, q, p, 0.005, 100, &pm);
    if (verbose()) print_message("LJ cold: %.3g %.3g ratio %.3f\n", e1, e2, e1 / e2);
    assert_true(e1 / e2 > ORDER_LO && e1 / e2 < ORDER_HI);
    free(q), free(p);
    hrf_psystem_free(s);
}

/* ---- geometry ------------------------------------------------------------ */

static void test_bonds_and_rest(void **state) {
    (void)state;
    struct {
        hrf_topology topo;
        size_t shape[3];
        int D;
        size_t N, E;
    } cases[] = {
        {HRF_TOPO_CHAIN, {8, 0, 0}, 1, 8, 7},
        {HRF_TOPO_CHAIN, {2, 1, 1}, 3, 2, 1},
        {HRF_TOPO_RING, {8, 0, 0}, 2, 8, 8},
        {HRF_TOPO_RING, {3, 0, 0}, 3, 3, 3},
        {HRF_TOPO_LATTICE, {3, 3, 0}, 2, 9, 2 * 9 - 3 - 3},
        {HRF_TOPO_LATTICE, {4, 7, 1}, 2, 28, 2 * 28 - 4 - 7},
        {HRF_TOPO_LATTICE, {1, 5, 0}, 2, 5, 2 * 5 - 1 - 5},
        {HRF_TOPO_LATTICE, {2, 3, 4}, 3, 24, 3 * 24 - 6 - 12 - 8},
        {HRF_TOPO_LATTICE, {4, 4, 4}, 3, 64, 3 * 64 - 16 - 16 - 16},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        hrf_pair_potential v;
        hrf_pair_potential_default(HRF_PAIR_MORSE, &v);
        v.r0 = 1.3;
        hrf_psystem *s = NULL;
        assert_int_equal(
            hrf_psystem_springs_new(cases[c].topo, cases[c].shape, cases[c].D, &v, 1.0, &s),
            HRF_OK);
        const int D = cases[c].D;
        size_t E = 0, N = hrf_psystem_n(s);
        const uint32_t *b = hrf_psystem_bonds(s, &E);
        assert_int_equal(N, cases[c].N);
        assert_int_equal(E, cases[c].E);
        assert_int_equal(hrf_psystem_dim(s), D);
        assert_true(hrf_psystem_box(s) == 0.0 && hrf_psystem_cutoff(s) == 0.0);
        double *q = dalloc(N * D), *p = dalloc(N * D), *f = dalloc(N * D), H;
        hrf_psystem_rest(s, q);
        for (size_t e = 0; e < E; e++) {
            assert_true(b[2 * e] < b[2 * e + 1] && b[2 * e + 1] < N);
            if (e) /* sorted, no duplicates */
                assert_true(b[2 * e - 2] < b[2 * e] ||
                            (b[2 * e - 2] == b[2 * e] && b[2 * e - 1] < b[2 * e + 1]));
            double r2 = 0.0;
            for (int a = 0; a < D; a++) {
                double d = q[b[2 * e] * D + a] - q[b[2 * e + 1] * D + a];
                r2 += d * d;
            }
            assert_true(fabs(sqrt(r2) - v.r0) < EXACT_TOL); /* every bond at rest */
        }
        /* rest: zero energy (Morse minimum) and zero force */
        assert_int_equal(hrf_psystem_eval(s, q, p, &H, NULL, f), HRF_OK);
        assert_true(fabs(H) < EXACT_TOL && maxabs(f, N * D) < EXACT_TOL);
        uint32_t *pairs = NULL;
        size_t np = 0;
        assert_int_equal(hrf_psystem_pairs(s, q, &pairs, &np), HRF_OK);
        assert_int_equal(np, E);
        assert_memory_equal(pairs, b, 2 * E * sizeof *b);
        free(pairs), free(q), free(p), free(f);
        hrf_psystem_free(s);
    }
    hrf_psystem *s = NULL;
    assert_int_equal(hrf_psystem_benchmark_ring_new(&s), HRF_OK);
    assert_string_equal(hrf_psystem_name(s), "benchmark_ring");
    size_t E;
    hrf_psystem_bonds(s, &E);
    assert_true(hrf_psystem_n(s) == 5 && hrf_psystem_dim(s) == 2 && E == 5);
    assert_int_equal(hrf_psystem_potential(s)->kind, HRF_PAIR_HARMONIC);
    hrf_psystem_free(s);
}

static void test_fcc(void **state) {
    (void)state;
    const size_t Ns[] = {108, 256, 500};
    for (int t = 0; t < 3; t++) {
        const size_t N = Ns[t];
        hrf_psystem *s = NULL;
        assert_int_equal(hrf_psystem_lj_new(N, 0.8442, NULL, &s), HRF_OK);
        const double L = hrf_psystem_box(s);
        assert_int_equal(hrf_psystem_n(s), N);
        assert_true(fabs(L * L * L * 0.8442 / (double)N - 1.0) < EXACT_TOL);
        assert_true(hrf_psystem_cutoff(s) == 2.5 && hrf_psystem_bonds(s, NULL) == NULL);
        assert_string_equal(hrf_psystem_name(s), "lj");
        double *q = dalloc(3 * N), *p = dalloc(3 * N), *f = dalloc(3 * N), *fb = dalloc(3 * N);
        hrf_psystem_rest(s, q);
        /* nearest neighbours at a/√2, 12 of them, a = (4/ρ)^{1/3} */
        const double nn = cbrt(4.0 / 0.8442) / sqrt(2.0);
        for (size_t i = 0; i < N; i += 17) {
            double dmin = INFINITY;
            int cnt = 0;
            for (size_t j = 0; j < N; j++) {
                if (j == i) continue;
                double r2 = 0.0;
                for (int a = 0; a < 3; a++) {
                    double d = q[3 * i + a] - q[3 * j + a];
                    d -= L * round(d / L);
                    r2 += d * d;
                }
                dmin = fmin(dmin, sqrt(r2));
                cnt += fabs(sqrt(r2) - nn) < 1e-9;
            }
            assert_true(fabs(dmin - nn) < 1e-12);
            assert_int_equal(cnt, 12);
        }
        /* perfect lattice: zero forces by symmetry; energy = brute force */
        double H, U;
        assert_int_equal(hrf_psystem_eval(s, q, p, &H, NULL, f), HRF_OK);
        brute_lj(q, N, L, 2.5, NULL, fb, &U);
        assert_true(maxabs(f, 3 * N) < 1e-10);
        assert_true(fabs(H - U) < 1e-12 * fabs(U));
        if (verbose()) print_message("fcc N=%zu L=%.6f U/N=%.10f\n", N, L, U / (double)N);
        free(q), free(p), free(f), free(fb);
        hrf_psystem_free(s);
    }
}

/* ---- initial states ------------------------------------------------------ */

static void test_initial_states(void **state) {
    (void)state;
    hrf_pdata_params par;
    hrf_rng rng;
    /* LJ: exact temperature, zero momentum, fcc positions */
    const double Ts[] = {1.0, 0.5};
    for (int t = 0; t < 2; t++) {
        const size_t N = 500;
        hrf_psystem *s = NULL;
        assert_int_equal(hrf_psystem_lj_new(N, 0.8442, NULL, &s), HRF_OK);
        double *q = dalloc(3 * N), *p = dalloc(3 * N), *r = dalloc(3 * N), m2 = 0.0, m4 = 0.0;
        hrf_pdata_params_system_default(s, &par);
        par.temperature = Ts[t];
        hrf_rng_seed(&rng, 11);
        assert_int_equal(hrf_psystem_init_state(s, &par, &rng, q, p), HRF_OK);
        hrf_psystem_rest(s, r);
        assert_memory_equal(q, r, 3 * N * sizeof *q);
        for (size_t i = 0; i < 3 * N; i++)
            m2 += p[i] * p[i], m4 += p[i] * p[i] * p[i] * p[i];
        double T = m2 / (3.0 * (N - 1.0)); /* masses 1 */
        assert_true(fabs(T - Ts[t]) < TEMP_TOL);
        assert_true(total_momentum(s, p) < TEMP_TOL);
        /* Gaussian, not uniform: kurtosis ≈ 3 (uniform 1.8); sd 0.07 at n = 1500 */
        double kurt = m4 / (3.0 * N) / pow(m2 / (3.0 * N), 2);
        assert_true(kurt > 2.6 && kurt < 3.4);
        free(q), free(p), free(r);
        hrf_psystem_free(s);
    }
    /* springs: |q − rest| ≤ A r0 per coordinate, zero momentum, σ ≈ p_sigma */
    hrf_pair_potential v;
    hrf_pair_potential_default(HRF_PAIR_HARMONIC, &v);
    v.r0 = 2.0;
    size_t shape[3] = {10, 10, 0};
    hrf_psystem *s = NULL;
    assert_int_equal(hrf_psystem_springs_new(HRF_TOPO_LATTICE, shape, 2, &v, 1.0, &s), HRF_OK);
    double q[200], p[200], r[200], dmax = 0.0, p2 = 0.0;
    hrf_pdata_params_default(&par);
    hrf_rng_seed(&rng, 5);
    assert_int_equal(hrf_psystem_init_state(s, &par, &rng, q, p), HRF_OK);
    hrf_psystem_rest(s, r);
    for (int i = 0; i < 200; i++)
        dmax = fmax(dmax, fabs(q[i] - r[i])), p2 += p[i] * p[i];
    assert_true(dmax <= 0.1 * 2.0 && dmax > 0.9 * 0.1 * 2.0);
    assert_true(total_momentum(s, p) < TEMP_TOL);
    assert_true(fabs(sqrt(p2 / 200) - 0.1) < 0.02); /* sd of the estimate ≈ 0.005 */
    hrf_psystem_free(s);
    /* benchmark ring: q in [0, 2)², v = U[0, 0.1)² minus the mean */
    assert_int_equal(hrf_psystem_benchmark_ring_new(&s), HRF_OK);
    hrf_pdata_params_system_default(s, &par);
    assert_true(par.trajectories == 100 && par.snapshots == 100 && par.every == 100 &&
                par.dt == 1e-3);
    double vbar[2] = {0, 0};
    for (int t = 0; t < 50; t++) {
        assert_int_equal(hrf_psystem_init_state(s, &par, &rng, q, p), HRF_OK);
        double sp[2] = {0, 0};
        for (int i = 0; i < 10; i++) {
            assert_true(q[i] >= 0.0 && q[i] < 2.0);
            assert_true(fabs(p[i]) < 0.1);
            sp[i % 2] += p[i];
        }
        assert_true(fabs(sp[0]) < TEMP_TOL && fabs(sp[1]) < TEMP_TOL);
        vbar[0] += p[0];
    }
    assert_true(fabs(vbar[0] / 50) < 0.02); /* mean 0, sd ≈ 0.026/√50 */
    hrf_psystem_free(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pair_values),
        cmocka_unit_test(test_springs_forces),
        cmocka_unit_test(test_lj_forces),
        cmocka_unit_test(test_cells_vs_brute),
        cmocka_unit_test(test_thread_determinism),
        cmocka_unit_test(test_springs_conservation),
        cmocka_unit_test(test_lj_conservation),
        cmocka_unit_test(test_bonds_and_rest),
        cmocka_unit_test(test_fcc),
        cmocka_unit_test(test_initial_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
