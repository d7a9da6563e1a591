/* Tests of the graph network's learned molecular dynamics (hamrf/hgn_field.h,
 * docs/math.md §10 "Learned MD"): the force table in s = r² and the kinetic
 * table against the network (fourth and third order), the Verlet list holding
 * every interacting pair along a trajectory and rebuilt only when needed, the
 * tabulated field with a skin equal to the one that searches afresh, and the
 * half callbacks (rhs_q, rhs_p) equal to the halves of rhs bit for bit, for
 * the learned and the true Lennard-Jones field. */
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
#include "hamrf/hgn.h"
#include "hamrf/hgn_field.h"
#include "hamrf/integrators.h"
#include "hamrf/particles.h"
#include "hamrf/pfield.h"
#include "hamrf/rollout.h"
#include "hamrf/status.h"
#include "hgn/hgn_impl.h"

/* Halving the intervals divides a cubic Hermite interpolant's error by 16 and
 * its derivative's by 8 (asymptotically); these floors leave room for the
 * pre-asymptotic range. */
#define ORDER_G_MIN 12.0
#define ORDER_DT_MIN 6.0
/* At 4096 intervals (what rollouts use) the force factor g = V'/r is within
 * this of the network's, relative to max |g| on the range (measured ~1e-13;
 * the fourth-order bound with LJ-like V ~ r^-12 at r = 0.8 gives ~1e-11). */
#define G_TOL 1e-9
/* The Verlet list and a fresh search give the same pairs within the cutoff
 * but sum them in another order: forces differ by rounding (~1e-16 relative),
 * which 40 leapfrog steps of a Lennard-Jones liquid amplify by far less than
 * 1e3 (Lyapunov time ~ 0.5 τ, t = 0.2 τ). */
#define VERLET_TRAJ_TOL 1e-12

typedef struct {
    hrf_psystem *s;
    hrf_pdata *d;
    hrf_hgn *m;
} lj_case;

/* 256 LJ particles (fcc, density 0.8442, T = 1; box 6.35 > 2 (rc + skin)),
 * 3 snapshots, a pair-mode network fitted on them. */
static int setup(void **state) {
    lj_case *c = calloc(1, sizeof *c);
    assert_int_equal(hrf_psystem_lj_new(256, 0.8442, NULL, &c->s), HRF_OK);
    hrf_pdata_params pp;
    hrf_pdata_params_system_default(c->s, &pp);
    pp.snapshots = 3, pp.every = 10, pp.seed = 3;
    assert_int_equal(hrf_pdata_generate(c->s, &pp, &c->d), HRF_OK);
    hrf_hgn_params hp;
    hrf_hgn_params_default(&hp);
    hp.edge_width = 60, hp.kinetic_width = 10;
    assert_int_equal(hrf_hgn_fit(&hp, c->d, &c->m, NULL), HRF_OK);
    *state = c;
    return 0;
}

static int teardown(void **state) {
    lj_case *c = *state;
    hrf_hgn_free(c->m);
    hrf_pdata_free(c->d);
    hrf_psystem_free(c->s);
    free(c);
    return 0;
}

/* max over s in the table's range of |g_table − V'(r)/r|, relative to max |g|. */
static double g_error(const hrf_hgn *m, size_t n) {
    hrf_hgn_table *t = NULL;
    assert_int_equal(hrf_hgn_table_new(m, 0.8, 2.5, n, &t), HRF_OK);
    assert_non_null(t->G);
    double err = 0.0, gmax = 0.0;
    for (size_t i = 0; i <= 20000; i++) {
        double s = t->s_lo + (t->s_hi - t->s_lo) * (double)i / 20000.0, d1;
        hrf_hgn_pair_energy(m, sqrt(s), &d1);
        const double g = d1 / sqrt(s);
        err = fmax(err, fabs(hgn_table_g(t, s) - g)), gmax = fmax(gmax, fabs(g));
    }
    hrf_hgn_table_free(t);
    return err / gmax;
}

static void test_force_table(void **state) {
    lj_case *c = *state;
    const double e1 = g_error(c->m, 64), e2 = g_error(c->m, 128), e3 = g_error(c->m, 4096);
    assert_true(e1 / e2 >= ORDER_G_MIN);
    assert_true(e3 <= G_TOL);
}

/* max over s of |dT/ds from the kinetic table − the network's|, relative. */
static double dT_error(const hrf_hgn *m, size_t n) {
    hrf_hgn_table *t = NULL;
    assert_int_equal(hrf_hgn_table_new(m, 0.8, 2.5, 16, &t), HRF_OK);
    assert_int_equal(hgn_table_set_kinetic(t, 1.0, 20.0, n), HRF_OK);
    assert_true(hgn_table_has_kinetic(t, 1.0) && !hgn_table_has_kinetic(t, 0.5));
    double err = 0.0, dmax = 0.0;
    for (size_t i = 0; i <= 20000; i++) {
        double s = 20.0 * (double)i / 20000.0, d0, d1;
        hgn_kinetic_energy(m, s, 1.0, &d0);
        hgn_table_kinetic(t, s, &d1);
        err = fmax(err, fabs(d1 - d0)), dmax = fmax(dmax, fabs(d0));
    }
    /* beyond the range: the network itself */
    double d0, d1;
    assert_true(hgn_table_kinetic(t, 25.0, &d1) == hgn_kinetic_energy(m, 25.0, 1.0, &d0));
    assert_true(d0 == d1);
    assert_int_equal(hgn_table_set_kinetic(t, 1.0, -1.0, n), HRF_EINVAL);
    hrf_hgn_table_free(t);
    return err / dmax;
}

static void test_kinetic_table(void **state) {
    lj_case *c = *state;
    /* the fitted kinetic part is nearly linear in |p|² (θ_T |p|²/2m plus a
     * small correction): the table is exact to rounding */
    assert_true(dT_error(c->m, 64) <= G_TOL);
    /* a clearly nonlinear T(s) (tanh features of s over [0, 20]): order 3 */
    const double WE[1] = {1.0}, bE[1] = {0.0}, thE[1] = {1.0};
    const double WK[6] = {0.3, 0.0, -0.2, 0.0, 0.1, 0.0}, bK[3] = {0.1, -0.5, 0.3};
    const double thK[3] = {1.0, 0.5, -0.7};
    hrf_hgn *m = NULL;
    assert_int_equal(
        hrf_hgn_from_params(&hrf_activation_tanh, 1, WE, bE, thE, 3, WK, bK, thK, 0.0, &m), HRF_OK);
    const double e1 = dT_error(m, 16), e2 = dT_error(m, 32);
    assert_true(e1 > 1e-12 && e1 / e2 >= ORDER_DT_MIN);
    hrf_hgn_free(m);
}

/* Along a true trajectory (60 leapfrog steps of dt 0.005), the Verlet list
 * holds every pair closer than the cutoff, and is searched again far less
 * often than it is used, but at least once after the first search. */
static void test_verlet_holds_every_pair(void **state) {
    lj_case *c = *state;
    const size_t N = c->d->N, nd = 3 * N;
    hrf_hgn_graph g;
    hrf_hgn_graph_of(c->d, &g);
    double *q = malloc(nd * sizeof *q), *p = malloc(nd * sizeof *p);
    memcpy(q, c->d->q, nd * sizeof *q), memcpy(p, c->d->p, nd * sizeof *p);
    hgn_verlet v;
    memset(&v, 0, sizeof v);
    unsigned char *have = calloc(N * N, 1);
    const int steps = 60;
    for (int step = 0; step <= steps; step++) {
        const uint32_t *vp;
        size_t nv;
        assert_int_equal(hgn_verlet_pairs(&v, &g, 0.3, N, 3, q, &vp, &nv), HRF_OK);
        memset(have, 0, N * N);
        for (size_t e = 0; e < nv; e++) {
            assert_true(vp[2 * e] < vp[2 * e + 1]);
            have[vp[2 * e] * N + vp[2 * e + 1]] = 1;
        }
        uint32_t *fp = NULL;
        size_t nf = 0;
        assert_int_equal(hrf_hgn_graph_pairs(&g, N, 3, q, &fp, &nf), HRF_OK);
        for (size_t e = 0; e < nf; e++) {
            uint32_t i = fp[2 * e] < fp[2 * e + 1] ? fp[2 * e] : fp[2 * e + 1];
            uint32_t j = fp[2 * e] ^ fp[2 * e + 1] ^ i;
            assert_true(have[i * N + j]);
        }
        free(fp);
        assert_int_equal(hrf_psystem_simulate(c->s, q, p, 0.005, 1), HRF_OK);
    }
    fprintf(stderr, "Verlet list: %zu searches in %d steps\n", v.builds, steps);
    assert_true(v.builds >= 2 && v.builds * 4 <= (size_t)steps);
    /* A skin the box cannot hold is reduced (box > 2 (rc + skin)). */
    assert_int_equal(
        hgn_verlet_pairs(&v, &g, 100.0, N, 3, q, &(const uint32_t *){NULL}, &(size_t){0}), HRF_OK);
    assert_true(v.skin < 0.5 * g.box - g.cutoff);
    hgn_verlet_free(&v);
    free(have), free(q), free(p);
}

/* The tabulated field with a skin (Verlet lists) and with none (a search at
 * every evaluation) give the same trajectories up to rounding. */
static void test_verlet_field_equals_fresh_search(void **state) {
    lj_case *c = *state;
    hrf_hgn_field_ctx ctx[2];
    hrf_hgn_table *tab = NULL;
    hrf_trajectory *tr[2] = {NULL, NULL};
    const size_t dim = 6 * c->d->N;
    double *x0 = malloc(2 * dim * sizeof *x0);
    hrf_pdata_states(c->d, 0, 2, x0);
    for (int k = 0; k < 2; k++) {
        hrf_hgn_field_ctx_of(&ctx[k], c->m, c->d);
        assert_true(ctx[k].skin > 0.0); /* the default for a cutoff graph */
        if (!tab) assert_int_equal(hrf_hgn_field_table(&ctx[k], 2, x0, 4096, &tab), HRF_OK);
        ctx[k].table = tab;
        if (k) ctx[k].skin = 0.0;
        hrf_field f;
        hrf_hgn_field(&ctx[k], &f);
        hrf_rollout_params rp;
        hrf_rollout_params_default(&rp);
        rp.integrator = &hrf_integrator_leapfrog;
        rp.dt = 0.005, rp.steps = 40, rp.every = 40;
        assert_int_equal(hrf_rollout_run(&f, &rp, 2, x0, &tr[k]), HRF_OK);
    }
    assert_non_null(ctx[0].cache);
    assert_null(ctx[1].cache);
    double err = 0.0, scale = 0.0;
    for (size_t i = 0; i < 2 * 2 * dim; i++)
        err = fmax(err, fabs(tr[0]->x[i] - tr[1]->x[i])), scale = fmax(scale, fabs(tr[1]->x[i]));
    assert_true(err <= VERLET_TRAJ_TOL * scale);
    for (int k = 0; k < 2; k++) {
        hrf_hgn_field_ctx_release(&ctx[k]);
        assert_null(ctx[k].cache);
        hrf_hgn_field_ctx_release(&ctx[k]); /* again: a no-op */
        hrf_trajectory_free(tr[k]);
    }
    hrf_hgn_table_free(tab);
    free(x0);
}

/* rhs_q and rhs_p write exactly the halves rhs writes (and nothing else). */
static void check_halves(hrf_field *f, size_t n, const double *x) {
    const size_t dim = f->dim, h = dim / 2;
    assert_non_null(f->rhs_q);
    assert_non_null(f->rhs_p);
    double *full = malloc(n * dim * sizeof *full), *half = malloc(n * dim * sizeof *half);
    assert_int_equal(f->rhs(f->ctx, n, x, full), HRF_OK);
    for (int which = 0; which < 2; which++) {
        for (size_t i = 0; i < n * dim; i++)
            half[i] = -7.0;
        assert_int_equal((which ? f->rhs_p : f->rhs_q)(f->ctx, n, x, half), HRF_OK);
        for (size_t k = 0; k < n; k++)
            for (size_t i = 0; i < dim; i++) {
                const int mine = which ? i >= h : i < h;
                if (mine)
                    assert_memory_equal(&half[k * dim + i], &full[k * dim + i], sizeof(double));
                else
                    assert_true(half[k * dim + i] == -7.0);
            }
    }
    free(full), free(half);
}

static void test_half_callbacks(void **state) {
    lj_case *c = *state;
    const size_t dim = 6 * c->d->N;
    double *x = malloc(2 * dim * sizeof *x);
    hrf_pdata_states(c->d, 1, 2, x);
    hrf_field f;
    hrf_psystem_field(c->s, &f);
    check_halves(&f, 2, x);
    hrf_hgn_field_ctx ctx;
    hrf_hgn_field_ctx_of(&ctx, c->m, c->d);
    hrf_hgn_field(&ctx, &f);
    check_halves(&f, 2, x); /* the network */
    hrf_hgn_table *tab = NULL;
    assert_int_equal(hrf_hgn_field_table(&ctx, 2, x, 1024, &tab), HRF_OK);
    ctx.table = tab;
    check_halves(&f, 2, x); /* tabulated, Verlet lists */
    hrf_hgn_field_ctx_release(&ctx);
    hrf_hgn_table_free(tab);
    free(x);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_force_table),
        cmocka_unit_test(test_kinetic_table),
        cmocka_unit_test(test_verlet_holds_every_pair),
        cmocka_unit_test(test_verlet_field_equals_fresh_search),
        cmocka_unit_test(test_half_callbacks),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
