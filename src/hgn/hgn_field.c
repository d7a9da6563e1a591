/* The graph network's vector field (hamrf/hgn_field.h): Hamilton's equations
 * of the learned Ĥ (docs/math.md §10) over flattened particle states, for the
 * integrators and rollouts of docs/math.md §8. */
#include "hamrf/hgn_field.h"

#include "hamrf/status.h"
#include "hgn_impl.h"
#include "systems/neighbours.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void hrf_hgn_field_ctx_of(hrf_hgn_field_ctx *ctx, const hrf_hgn *model, const hrf_pdata *d) {
    ctx->model = model;
    ctx->table = NULL;
    hrf_hgn_graph_of(d, &ctx->graph);
    ctx->N = d->N;
    ctx->D = d->D;
    ctx->mass = d->mass;
    ctx->skin = ctx->graph.pairs ? 0.0 : 0.12 * ctx->graph.cutoff;
    ctx->cache = NULL;
}

/* One Verlet list per state of a batch (states are evaluated in parallel). */
struct hrf_hgn_field_cache {
    size_t n;
    hgn_verlet *v;
};

void hrf_hgn_field_ctx_release(hrf_hgn_field_ctx *ctx) {
    if (!ctx || !ctx->cache) return;
    for (size_t k = 0; k < ctx->cache->n; k++)
        hgn_verlet_free(&ctx->cache->v[k]);
    free(ctx->cache->v);
    free(ctx->cache);
    ctx->cache = NULL;
}

/* Lists for n states (tabulated cutoff systems with a skin), or NULL when
 * the field searches afresh: HRF_OK or HRF_ENOMEM. */
static int cache_reserve(hrf_hgn_field_ctx *c, size_t n) {
    if (!c->table || c->graph.pairs || !(c->skin > 0.0)) return HRF_OK;
    if (!c->cache && !(c->cache = calloc(1, sizeof *c->cache)))
        return hrf_error(HRF_ENOMEM, "out of memory");
    if (c->cache->n >= n) return HRF_OK;
    hgn_verlet *v = realloc(c->cache->v, n * sizeof *v);
    if (!v) return hrf_error(HRF_ENOMEM, "out of memory for %zu Verlet lists", n);
    memset(v + c->cache->n, 0, (n - c->cache->n) * sizeof *v);
    c->cache->v = v, c->cache->n = n;
    return HRF_OK;
}

/* One state with the tabulated pair potential: the kinetic part from the
 * network (evaluated on a graph without pairs), the pair forces from the
 * table over the pair list at q. */
/* The one inverse mass of c's particles, or 0 when they differ. */
static double uniform_im(const hrf_hgn_field_ctx *c) {
    if (!c->mass) return 1.0;
    for (size_t i = 1; i < c->N; i++)
        if (c->mass[i] != c->mass[0]) return 0.0;
    return 1.0 / c->mass[0];
}

/* Nearest-integer rounding by conversion (no libm call where the build has
 * no SSE4.1 rounding): the minimum image of d (|d / L| < 2^62). Halves round
 * away from zero, where nearbyint rounds to even: at |d| = L/2 either image
 * is as near, and pairs that far apart are beyond the cutoff (L > 2 rc). */
static inline double min_image(double d, double L, double inv_L) {
    if (!(L > 0.0)) return d;
    const double u = d * inv_L;
    return d - L * (double)(long long)(u + (u >= 0.0 ? 0.5 : -0.5));
}

/* dp/dt += the tabulated pair forces in 3-D over pairs (i < j), closer than
 * sqrt(rc2): runs of pairs with the same i (a Verlet list is sorted by i)
 * keep i's force in registers. */
static void pair_forces_3d(const hrf_hgn_table *t, const uint32_t *pairs, size_t np,
                           const double *q, double L, double inv_L, double rc2, double *dpdt) {
    size_t e = 0;
    while (e < np) {
        const size_t i = pairs[2 * e];
        const double xi = q[3 * i], yi = q[3 * i + 1], zi = q[3 * i + 2];
        double fx = 0.0, fy = 0.0, fz = 0.0;
        for (; e < np && pairs[2 * e] == i; e++) {
            const size_t j = pairs[2 * e + 1];
            const double dx = min_image(xi - q[3 * j], L, inv_L),
                         dy = min_image(yi - q[3 * j + 1], L, inv_L),
                         dz = min_image(zi - q[3 * j + 2], L, inv_L);
            const double r2 = dx * dx + dy * dy + dz * dz;
            if (!(r2 < rc2)) continue;
            double g; /* ∂V/∂q_i = g (q_i − q_j), g = V'(r)/r */
            if (t->G && r2 >= t->s_lo && r2 <= t->s_hi) {
                g = hgn_table_g(t, r2);
            } else {
                const double r = sqrt(r2);
                double dV;
                hgn_table_pair(t, r, &dV);
                g = dV / r;
            }
            fx += g * dx, fy += g * dy, fz += g * dz;
            dpdt[3 * j] += g * dx, dpdt[3 * j + 1] += g * dy, dpdt[3 * j + 2] += g * dz;
        }
        dpdt[3 * i] -= fx, dpdt[3 * i + 1] -= fy, dpdt[3 * i + 2] -= fz;
    }
}

/* One state with the tabulated potential; dqdt or dpdt may be NULL (that
 * half is not computed). dq/dt: the kinetic table (one mass), else the
 * network on a graph without pairs; dp/dt: the pair forces from the table
 * over the pair list at q (the kinetic part does not depend on q). */
static int rhs_tabulated(const hrf_hgn_field_ctx *c, hgn_verlet *v, const double *q,
                         const double *p, double *dqdt, double *dpdt) {
    static const uint32_t no_pairs[2] = {0, 0};
    const int D = c->D;
    int rc = HRF_OK;
    if (dqdt) {
        const double im = uniform_im(c);
        if (im > 0.0 && hgn_table_has_kinetic(c->table, im)) {
            /* dq/dt = ∂T/∂p = 2 p dT/ds, s = |p|², T from the table */
            for (size_t i = 0; i < c->N; i++) {
                double s = 0.0, dTds;
                for (int a = 0; a < D; a++)
                    s += p[i * D + a] * p[i * D + a];
                hgn_table_kinetic(c->table, s, &dTds);
                for (int a = 0; a < D; a++)
                    dqdt[i * D + a] = 2.0 * dTds * p[i * D + a];
            }
        } else {
            hrf_hgn_graph none = {.pairs = no_pairs, .n_pairs = 0, .box = c->graph.box};
            if ((rc = hrf_hgn_eval(c->model, c->N, D, q, p, c->mass, &none, NULL, dqdt, NULL)))
                return rc;
        }
    }
    if (!dpdt) return HRF_OK;
    memset(dpdt, 0, c->N * (size_t)D * sizeof *dpdt);
    uint32_t *found = NULL;
    const uint32_t *pairs;
    size_t np = 0;
    if (v)
        rc = hgn_verlet_pairs(v, &c->graph, c->skin, c->N, c->D, q, &pairs, &np);
    else
        rc = hrf_hgn_graph_pairs(&c->graph, c->N, c->D, q, &found, &np), pairs = found;
    if (rc) return rc;
    /* a Verlet list holds pairs up to cutoff + skin: only those within the
     * cutoff interact (a fresh search or bonds hold only those) */
    const double rc2 = v ? c->graph.cutoff * c->graph.cutoff : INFINITY;
    const double L = c->graph.box, inv_L = L > 0.0 ? 1.0 / L : 0.0;
    if (D == 3) {
        pair_forces_3d(c->table, pairs, np, q, L, inv_L, rc2, dpdt);
        free(found);
        return HRF_OK;
    }
    for (size_t e = 0; e < np; e++) {
        const size_t i = pairs[2 * e], j = pairs[2 * e + 1];
        double d[3] = {0, 0, 0}, r2 = 0.0, dV;
        for (int a = 0; a < D; a++) {
            d[a] = min_image(q[i * D + a] - q[j * D + a], L, inv_L);
            r2 += d[a] * d[a];
        }
        if (!(r2 < rc2)) continue;
        const double r = sqrt(r2);
        hgn_table_pair(c->table, r, &dV);
        for (int a = 0; a < D; a++) {
            const double fa = dV * d[a] / r; /* ∂V/∂q_i */
            dpdt[i * D + a] -= fa;
            dpdt[j * D + a] += fa;
        }
    }
    free(found);
    return HRF_OK;
}

int hrf_hgn_field_table(const hrf_hgn_field_ctx *ctx, size_t n, const double *x0, size_t intervals,
                        hrf_hgn_table **out) {
    *out = NULL;
    if (hrf_hgn_mode_of(ctx->model) != HRF_HGN_PAIR)
        return hrf_error(HRF_EINVAL, "a tabulated potential needs a pair-mode graph network (the "
                                     "mp mode's energy is not a sum over pairs)");
    const size_t nd = ctx->N * (size_t)ctx->D;
    double rmin = INFINITY, rmax = 0.0;
    for (size_t k = 0; k < n; k++) {
        const double *q = x0 + k * 2 * nd;
        uint32_t *pairs = NULL;
        size_t np = 0;
        int rc = hrf_hgn_graph_pairs(&ctx->graph, ctx->N, ctx->D, q, &pairs, &np);
        if (rc) return rc;
        for (size_t e = 0; e < np; e++) {
            double d[3] = {0, 0, 0}, r2 = 0.0;
            for (int a = 0; a < ctx->D; a++)
                d[a] = q[pairs[2 * e] * ctx->D + a] - q[pairs[2 * e + 1] * ctx->D + a];
            hrf_nbr_min_image_vec(d, ctx->D, ctx->graph.box);
            for (int a = 0; a < ctx->D; a++)
                r2 += d[a] * d[a];
            rmin = fmin(rmin, sqrt(r2)), rmax = fmax(rmax, sqrt(r2));
        }
        free(pairs);
    }
    if (!(rmin < INFINITY) || !(rmin > 0))
        return hrf_error(HRF_EINVAL, "no pair distances to tabulate (the states have no pairs)");
    double hi = ctx->graph.cutoff > 0 ? ctx->graph.cutoff : 1.25 * rmax;
    int rc = hrf_hgn_table_new(ctx->model, 0.8 * rmin, hi, intervals, out);
    const double im = uniform_im(ctx);
    if (rc || !(im > 0.0)) return rc;
    /* one mass: the kinetic part T(|p|²) too, up to 4 x the largest |p|² at x0
     * (the network beyond) */
    double s_max = 0.0;
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < ctx->N; i++) {
            const double *pi = x0 + k * 2 * nd + nd + i * ctx->D;
            double s = 0.0;
            for (int a = 0; a < ctx->D; a++)
                s += pi[a] * pi[a];
            s_max = fmax(s_max, s);
        }
    if ((rc = hgn_table_set_kinetic(*out, im, s_max > 0.0 ? 4.0 * s_max : 1.0, intervals))) {
        hrf_hgn_table_free(*out);
        *out = NULL;
    }
    return rc;
}

/* States are independent: with several, one per thread (hrf_hgn_eval keeps
 * its scratch per call, and the last-error string is per thread, so a failed
 * state is evaluated again on this thread to report its message). */
/* One state's halves (either output may be NULL). */
static int state_rhs(const hrf_hgn_field_ctx *c, hgn_verlet *v, const double *q, const double *p,
                     double *dqdt, double *dpdt) {
    static const uint32_t no_pairs[2] = {0, 0};
    if (c->table) return rhs_tabulated(c, v, q, p, dqdt, dpdt);
    /* dq/dt alone: the kinetic part, which needs no pairs */
    hrf_hgn_graph none = {.pairs = no_pairs, .n_pairs = 0, .box = c->graph.box};
    return hrf_hgn_eval(c->model, c->N, c->D, q, p, c->mass, dpdt ? &c->graph : &none, NULL, dqdt,
                        dpdt);
}

/* The states' dq/dt (want & 1) and dp/dt (want & 2). */
static int rhs_parts(hrf_hgn_field_ctx *c, size_t n, const double *x, double *dxdt, int want) {
    const size_t nd = c->N * (size_t)c->D, dim = 2 * nd;
    int failed = 0;
    long first = -1;
    int rc0 = cache_reserve(c, n);
    if (rc0) return rc0;
    hgn_verlet *lists = c->cache ? c->cache->v : NULL;
#pragma omp parallel for schedule(dynamic, 1) if (n > 1)
    for (long k = 0; k < (long)n; k++) {
        const double *q = x + (size_t)k * dim;
        double *f = dxdt + (size_t)k * dim;
        int rc = state_rhs(c, lists ? lists + k : NULL, q, q + nd, want & 1 ? f : NULL,
                           want & 2 ? f + nd : NULL);
        if (rc) {
#pragma omp critical(hgn_rhs_fail)
            if (!failed || k < first) failed = 1, first = k;
        }
    }
    if (!failed) return HRF_OK;
    const double *q = x + (size_t)first * dim;
    double *f = dxdt + (size_t)first * dim;
    int rc = state_rhs(c, lists ? lists + first : NULL, q, q + nd, want & 1 ? f : NULL,
                       want & 2 ? f + nd : NULL);
    return hrf_error_prefix(rc ? rc : HRF_ENUMERIC, "graph network, state %ld", first);
}

static int hgn_rhs(void *vctx, size_t n, const double *x, double *dxdt) {
    return rhs_parts(vctx, n, x, dxdt, 3);
}
static int hgn_rhs_q(void *vctx, size_t n, const double *x, double *dxdt) {
    return rhs_parts(vctx, n, x, dxdt, 1);
}
static int hgn_rhs_p(void *vctx, size_t n, const double *x, double *dxdt) {
    return rhs_parts(vctx, n, x, dxdt, 2);
}

static int hgn_energy(void *vctx, size_t n, const double *x, double *H) {
    const hrf_hgn_field_ctx *c = vctx;
    const size_t nd = c->N * (size_t)c->D, dim = 2 * nd;
    int failed = 0;
    long first = -1;
#pragma omp parallel for schedule(dynamic, 1) if (n > 1)
    for (long k = 0; k < (long)n; k++) {
        const double *q = x + (size_t)k * dim;
        int rc =
            hrf_hgn_eval(c->model, c->N, c->D, q, q + nd, c->mass, &c->graph, H + k, NULL, NULL);
        if (rc) {
#pragma omp critical(hgn_energy_fail)
            if (!failed || k < first) failed = 1, first = k;
        }
    }
    if (!failed) return HRF_OK;
    const double *q = x + (size_t)first * dim;
    int rc =
        hrf_hgn_eval(c->model, c->N, c->D, q, q + nd, c->mass, &c->graph, H + first, NULL, NULL);
    return hrf_error_prefix(rc ? rc : HRF_ENUMERIC, "graph network, state %ld", first);
}

void hrf_hgn_field(hrf_hgn_field_ctx *ctx, hrf_field *f) {
    memset(f, 0, sizeof *f);
    f->dim = 2 * ctx->N * (size_t)ctx->D;
    f->separable = 1;
    f->hamiltonian = 1;
    f->ctx = ctx;
    f->rhs = hgn_rhs;
    f->rhs_q = hgn_rhs_q, f->rhs_p = hgn_rhs_p;
    f->jac = NULL;
    f->energy = hgn_energy;
}
