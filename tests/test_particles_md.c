/* Tests of the analytic systems' MD (src/systems/particles_md.c, docs/math.md
 * §10 "MD of the analytic systems"): the Lennard-Jones field's forces from
 * Verlet lists with Newton's third law.
 *
 * Independent references: a brute-force O(N²) minimum-image pair search and
 * LJ force written here (its own formula), and the cell-list forces of
 * hrf_psystem_eval, at every step of a trajectory with several list
 * searches; the pairs closer than rc found by the brute-force search, each
 * of which must be in the list; and the old path, velocity Verlet with the
 * cell-list forces (hrf_psystem_verlet), whose energies and states the
 * Verlet-list rollout must reproduce to rounding. */
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

#include "hamrf/integrators.h"
#include "hamrf/particles.h"
#include "hamrf/pfield.h"
#include "hamrf/rollout.h"
#include "hamrf/status.h"
#include "systems/particles_impl.h"
#include "systems/verlet.h"

/* Verlet-list forces against the brute-force and the cell-list sums: the
 * same pair terms (bit for bit: the same formula on the same minimum image
 * up to the wrapping of the cell list's coordinates) summed in another
 * order (the brute-force term is written as 1/r⁶, not (σ²/r²)³: another
 * rounding too). Each force is a sum of ~55 terms of size up to max|F| at
 * liquid density, so they differ by a few times 55·2^-53·max|F| ≈ 6e-15
 * max|F|; measured ≤ 1.3e-14. The tolerance leaves a factor 75,
 * while a missing or doubled pair changes a force by ≳ 1e-3 max|F| (the
 * smallest pair force inside the cutoff, |F(rc)| ≈ 0.04, against max|F| ≲ 40). */
#define FORCE_TOL 1e-12
/* Two rollouts whose forces differ by rounding (≲ 1e-14 relative) after 400
 * steps of dt 0.005 (t = 2τ): an LJ liquid's largest Lyapunov exponent is
 * ≈ 5/τ, so differences grow by ≲ e^10 ≈ 2e4, to ≲ 1e-10 of the state and
 * of H (measured 2.5e-13 and 2.5e-15). A scheme that differed (another step, a missing
 * pair) would differ by O(dt²) ≈ 1e-5 or more. */
#define TRAJ_TOL 1e-9
/* Velocity Verlet at dt 0.005 keeps H of an LJ liquid within ≈ 1e-4
 * relative over 2τ (a bounded O(dt²) fluctuation; measured 1.2e-4 at 500
 * particles); 1e-3 would mean a broken integrator or force. */
#define DRIFT_MAX 1e-3

/* A thermalised Lennard-Jones start: N particles (fcc, density 0.8442, T = 1)
 * after 20 velocity Verlet steps (the fcc lattice itself has zero forces). */
typedef struct {
    hrf_psystem *s;
    size_t N;
    double *x; /* (2·3N) the state (q, p) */
} lj_start;

static void start_make(size_t N, uint64_t seed, lj_start *c) {
    assert_int_equal(hrf_psystem_lj_new(N, 0.8442, NULL, &c->s), HRF_OK);
    hrf_pdata_params pp;
    hrf_pdata_params_system_default(c->s, &pp);
    pp.snapshots = 1, pp.every = 20, pp.seed = seed;
    hrf_pdata *d = NULL;
    assert_int_equal(hrf_pdata_generate(c->s, &pp, &d), HRF_OK);
    c->N = N;
    c->x = malloc(6 * N * sizeof *c->x);
    assert_non_null(c->x);
    hrf_pdata_states(d, 0, 1, c->x);
    hrf_pdata_free(d);
}

static void start_free(lj_start *c) {
    hrf_psystem_free(c->s);
    free(c->x);
}

static double min_image(double d, double L) {
    return d - L * nearbyint(d / L);
}

/* The LJ forces (ε = σ = 1, rc = 2.5) among all pairs, written out. */
static void brute_forces(size_t N, double L, const double *q, double *f) {
    const double rc2 = 2.5 * 2.5;
    memset(f, 0, 3 * N * sizeof *f);
    for (size_t i = 0; i < N; i++)
        for (size_t j = i + 1; j < N; j++) {
            double d[3], r2 = 0.0;
            for (int a = 0; a < 3; a++) {
                d[a] = min_image(q[3 * i + a] - q[3 * j + a], L);
                r2 += d[a] * d[a];
            }
            if (!(r2 < rc2)) continue;
            /* F_i = −V'(r) d/r = 24 (2 r^-12 − r^-6) / r² · d */
            const double ir6 = 1.0 / (r2 * r2 * r2), fr = 24.0 * (2.0 * ir6 * ir6 - ir6) / r2;
            for (int a = 0; a < 3; a++)
                f[3 * i + a] += fr * d[a], f[3 * j + a] -= fr * d[a];
        }
}

/* max |a − b| / max |b| over n values. */
static double rel_inf(size_t n, const double *a, const double *b) {
    double e = 0.0, m = 0.0;
    for (size_t k = 0; k < n; k++)
        e = fmax(e, fabs(a[k] - b[k])), m = fmax(m, fabs(b[k]));
    return e / m;
}

/* Every pair closer than rc at q is in state k's list, and the list holds
 * each pair once (as (i, j) or (j, i)). */
static void check_list_holds_every_pair(const hrf_psystem *s, size_t k, const double *q) {
    const struct hrf_vlist *v = psys_md_vlist(s, k);
    assert_non_null(v);
    const size_t N = hrf_psystem_n(s);
    const double L = hrf_psystem_box(s), rc = hrf_psystem_cutoff(s);
    unsigned char *have = calloc(N * N, 1);
    assert_non_null(have);
    for (size_t e = 0; e < v->n; e++) {
        const uint32_t a = v->pairs[2 * e], b = v->pairs[2 * e + 1];
        const uint32_t i = a < b ? a : b, j = a < b ? b : a;
        assert_true(i < j && j < N);
        assert_int_equal(have[i * N + j], 0);
        have[i * N + j] = 1;
    }
    size_t within = 0;
    for (size_t i = 0; i < N; i++)
        for (size_t j = i + 1; j < N; j++) {
            double r2 = 0.0;
            for (int a = 0; a < 3; a++) {
                const double d = min_image(q[3 * i + a] - q[3 * j + a], L);
                r2 += d * d;
            }
            if (r2 < rc * rc) assert_true(have[i * N + j]), within++;
        }
    assert_true(within > 20 * N); /* a liquid: ~27 pairs a particle within rc */
    free(have);
}

/* Along 100 velocity Verlet steps driven by the field's own (Verlet-list)
 * forces, 500 particles: at every step the list holds every pair within rc
 * and the forces equal the brute-force and the cell-list sums; the list was
 * searched again several times, but far less often than used. */
static void test_forces_along_trajectory(void **state) {
    (void)state;
    lj_start c;
    start_make(500, 7, &c);
    const size_t N = c.N, nd = 3 * N, steps = 100;
    const double dt = 0.005, L = hrf_psystem_box(c.s);
    hrf_field fld;
    hrf_psystem_field(c.s, &fld);
    double *x = c.x, *dx = calloc(2 * nd, sizeof *dx), *fb = malloc(nd * sizeof *fb);
    double *fc = malloc(nd * sizeof *fc);
    assert_true(dx && fb && fc);
    double worst = 0.0;
    assert_int_equal(fld.rhs_p(fld.ctx, 1, x, dx), HRF_OK);
    for (size_t t = 0; t <= steps; t++) {
        const double *f = dx + nd;
        check_list_holds_every_pair(c.s, 0, x);
        brute_forces(N, L, x, fb);
        assert_int_equal(hrf_psystem_eval(c.s, x, x + nd, NULL, NULL, fc), HRF_OK);
        const double eb = rel_inf(nd, f, fb), ec = rel_inf(nd, f, fc);
        assert_true(eb <= FORCE_TOL);
        assert_true(ec <= FORCE_TOL);
        worst = fmax(worst, fmax(eb, ec));
        if (t == steps) break;
        for (size_t i = 0; i < nd; i++) /* kick, drift (unit masses) */
            x[nd + i] += 0.5 * dt * f[i], x[i] += dt * x[nd + i];
        assert_int_equal(fld.rhs_p(fld.ctx, 1, x, dx), HRF_OK);
        for (size_t i = 0; i < nd; i++)
            x[nd + i] += 0.5 * dt * f[i];
    }
    const size_t builds = psys_md_vlist(c.s, 0)->builds;
    fprintf(stderr, "Verlet list: %zu searches in %zu steps; forces within %.2e of max|F|\n",
            builds, steps, worst);
    assert_true(builds >= 4 && builds * 4 <= steps);
    free(dx), free(fb), free(fc);
    start_free(&c);
}

/* A batch of two different states: a list each, and each state's forces
 * those of the brute-force sum. */
static void test_batch_lists(void **state) {
    (void)state;
    lj_start a, b;
    start_make(500, 1, &a);
    start_make(500, 2, &b);
    const size_t nd = 3 * a.N;
    double *x = malloc(4 * nd * sizeof *x), *dx = malloc(4 * nd * sizeof *dx);
    double *fb = malloc(nd * sizeof *fb);
    assert_true(x && dx && fb);
    memcpy(x, a.x, 2 * nd * sizeof *x), memcpy(x + 2 * nd, b.x, 2 * nd * sizeof *x);
    hrf_field fld;
    hrf_psystem_field(a.s, &fld);
    for (int rep = 0; rep < 2; rep++) { /* the second time from the kept lists */
        assert_int_equal(fld.rhs(fld.ctx, 2, x, dx), HRF_OK);
        for (int k = 0; k < 2; k++) {
            const double *xk = x + 2 * nd * (size_t)k;
            brute_forces(a.N, hrf_psystem_box(a.s), xk, fb);
            assert_true(rel_inf(nd, dx + 2 * nd * (size_t)k + nd, fb) <= FORCE_TOL);
            for (size_t i = 0; i < nd; i++) /* dq/dt = p/m, m = 1 */
                assert_true(dx[2 * nd * (size_t)k + i] == xk[nd + i]);
            assert_int_equal(psys_md_vlist(a.s, (size_t)k)->builds, 1);
        }
    }
    free(x), free(dx), free(fb);
    start_free(&a), start_free(&b);
}

/* 400 leapfrog steps through the field (Verlet lists) and 400 velocity Verlet
 * steps of the old path (cell lists at every step, hrf_psystem_verlet) from
 * the same start: the same states and energies to rounding, and H conserved
 * as well by both. */
static void test_energy_matches_old_path(void **state) {
    (void)state;
    lj_start c;
    start_make(500, 5, &c);
    const size_t N = c.N, nd = 3 * N, every = 20, steps = 400, J = steps / every + 1;
    const double dt = 0.005;
    hrf_field fld;
    hrf_psystem_field(c.s, &fld);
    hrf_rollout_params rp;
    hrf_rollout_params_default(&rp);
    rp.integrator = &hrf_integrator_leapfrog;
    rp.dt = dt, rp.steps = steps, rp.every = every;
    hrf_trajectory *tr = NULL;
    assert_int_equal(hrf_rollout_run(&fld, &rp, 1, c.x, &tr), HRF_OK);
    assert_int_equal(tr->valid, J);
    assert_non_null(tr->H);
    double *q = malloc(nd * sizeof *q), *p = malloc(nd * sizeof *p), *f = malloc(nd * sizeof *f);
    assert_true(q && p && f);
    memcpy(q, c.x, nd * sizeof *q), memcpy(p, c.x + nd, nd * sizeof *p);
    double H0 = 0.0, H, dx_max = 0.0, dH_max = 0.0, drift_new = 0.0, drift_old = 0.0;
    assert_int_equal(hrf_psystem_eval(c.s, q, p, &H0, NULL, f), HRF_OK);
    assert_true(tr->H[0] == H0);
    for (size_t s = 1; s < J; s++) {
        assert_int_equal(hrf_psystem_verlet(c.s, q, p, f, dt, every, &H), HRF_OK);
        const double *xs = tr->x + s * 2 * nd;
        double e = 0.0, m = 0.0;
        for (size_t i = 0; i < nd; i++) {
            e = fmax(e, fmax(fabs(xs[i] - q[i]), fabs(xs[nd + i] - p[i])));
            m = fmax(m, fmax(fabs(q[i]), fabs(p[i])));
        }
        dx_max = fmax(dx_max, e / m);
        dH_max = fmax(dH_max, fabs(tr->H[s] - H) / fabs(H0));
        drift_new = fmax(drift_new, fabs(tr->H[s] - H0) / fabs(H0));
        drift_old = fmax(drift_old, fabs(H - H0) / fabs(H0));
    }
    fprintf(stderr,
            "400 steps: states within %.2e, H within %.2e; drift %.3e (Verlet lists) vs %.3e "
            "(cell lists)\n",
            dx_max, dH_max, drift_new, drift_old);
    assert_true(dx_max <= TRAJ_TOL);
    assert_true(dH_max <= TRAJ_TOL);
    assert_true(fabs(drift_new - drift_old) <= TRAJ_TOL);
    assert_true(drift_new <= DRIFT_MAX && drift_new > 0.0);
    hrf_trajectory_free(tr);
    free(q), free(p), free(f);
    start_free(&c);
}

/* 2048 particles (threaded from 2048 on): with two threads the same bits on
 * every run, within rounding of one thread's and of the brute-force sum; a
 * caller that finds the lists in use gets the bits of a fresh list without
 * touching them. */
static void test_threads(void **state) {
    (void)state;
    lj_start c;
    start_make(2048, 3, &c);
    const size_t nd = 3 * c.N;
    double *f[4], *fb = malloc(nd * sizeof *fb);
    for (int k = 0; k < 4; k++)
        assert_non_null(f[k] = malloc(nd * sizeof *f[k]));
    const int threads0 = omp_get_max_threads();
    hrf_psystem *s[3];
    for (int k = 0; k < 3; k++)
        assert_int_equal(hrf_psystem_lj_new(2048, 0.8442, NULL, &s[k]), HRF_OK);
    omp_set_num_threads(2);
    assert_int_equal(psys_md_forces(s[0], 0, c.x, f[0]), HRF_OK);
    assert_int_equal(psys_md_forces(s[1], 0, c.x, f[1]), HRF_OK);
    assert_memory_equal(f[0], f[1], nd * sizeof *f[0]);
    atomic_store(&s[2]->md_busy, 1); /* as if another thread held the lists */
    assert_int_equal(psys_md_forces(s[2], 0, c.x, f[2]), HRF_OK);
    assert_null(psys_md_vlist(s[2], 0));
    assert_memory_equal(f[0], f[2], nd * sizeof *f[0]);
    atomic_store(&s[2]->md_busy, 0);
    omp_set_num_threads(1);
    assert_int_equal(psys_md_forces(s[0], 0, c.x, f[3]), HRF_OK);
    brute_forces(c.N, hrf_psystem_box(c.s), c.x, fb);
    assert_true(rel_inf(nd, f[0], fb) <= FORCE_TOL);
    assert_true(rel_inf(nd, f[3], fb) <= FORCE_TOL);
    omp_set_num_threads(threads0);
    for (int k = 0; k < 3; k++)
        hrf_psystem_free(s[k]);
    for (int k = 0; k < 4; k++)
        free(f[k]);
    free(fb);
    start_free(&c);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forces_along_trajectory),
        cmocka_unit_test(test_batch_lists),
        cmocka_unit_test(test_energy_matches_old_path),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
