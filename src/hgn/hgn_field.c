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
/* The force of one pair (i, j) at separation d = q_i − q_j (minimum image)
 * onto fi (i's accumulator) and dp/dt of j; nothing beyond sqrt(rc2). */
static inline void pair_one(const hrf_hgn_table *t, double rc2, double dx, double dy, double dz,
                            double *fi, double *fj) {
    const double r2 = dx * dx + dy * dy + dz * dz;
    if (!(r2 < rc2)) return;
    double g; /* ∂V/∂q_i = g (q_i − q_j), g = V'(r)/r */
    if (t->G && r2 >= t->s_lo && r2 <= t->s_hi) {
        g = hgn_table_g(t, r2);
    } else {
        const double r = sqrt(r2);
        double dV;
        hgn_table_pair(t, r, &dV);
        g = dV / r;
    }
    fi[0] += g * dx, fi[1] += g * dy, fi[2] += g * dz;
    fj[0] += g * dx, fj[1] += g * dy, fj[2] += g * dz;
}

#if defined(__GNUC__)
typedef double v4d __attribute__((vector_size(32)));
typedef long long v4l __attribute__((vector_size(32)));
#define V4(x) ((v4d){(x), (x), (x), (x)})
/* x rounded to the nearest integer (ties to even, as nearbyint) for |x| < 2^51:
 * adding and subtracting 1.5·2^52 leaves no fraction bits */
static inline v4d v4_rint(v4d x) {
    const v4d magic = V4(6755399441055744.0);
    return (x + magic) - magic;
}
#endif

/* dp/dt += the tabulated pair forces in 3-D over pairs (i < j), closer than
 * sqrt(rc2): runs of pairs with the same i (a Verlet list is sorted by i)
 * keep i's force in registers; with GCC/Clang four partners j at a time
 * (their coordinates and table entries loaded lane by lane), the rest and
 * any group with a pair outside the force table's range one by one. */
static void pair_forces_3d(const hrf_hgn_table *t, const uint32_t *pairs, size_t np,
                           const double *q, double L, double inv_L, double rc2, double *dpdt) {
    size_t e = 0;
    while (e < np) {
        const size_t i = pairs[2 * e];
        size_t end = e;
        while (end < np && pairs[2 * end] == i)
            end++;
        const double xi = q[3 * i], yi = q[3 * i + 1], zi = q[3 * i + 2];
        double fi[3] = {0.0, 0.0, 0.0};
#if defined(__GNUC__)
        if (t->G && L > 0.0 && rc2 <= t->s_hi) {
            const v4d vL = V4(L), vinvL = V4(inv_L), vrc2 = V4(rc2), vslo = V4(t->s_lo);
            const v4d vinvh = V4(t->inv_hg), one = V4(1.0), two = V4(2.0), three = V4(3.0);
            v4d ax = V4(0.0), ay = ax, az = ax;
            for (; e + 4 <= end; e += 4) {
                const uint32_t *pj = pairs + 2 * e + 1;
                const size_t j0 = pj[0], j1 = pj[2], j2 = pj[4], j3 = pj[6];
                v4d dx = V4(xi) - (v4d){q[3 * j0], q[3 * j1], q[3 * j2], q[3 * j3]};
                v4d dy = V4(yi) - (v4d){q[3 * j0 + 1], q[3 * j1 + 1], q[3 * j2 + 1], q[3 * j3 + 1]};
                v4d dz = V4(zi) - (v4d){q[3 * j0 + 2], q[3 * j1 + 2], q[3 * j2 + 2], q[3 * j3 + 2]};
                dx -= vL * v4_rint(dx * vinvL), dy -= vL * v4_rint(dy * vinvL);
                dz -= vL * v4_rint(dz * vinvL);
                const v4d r2 = dx * dx + dy * dy + dz * dz;
                const v4l in = r2 < vrc2;
                if ((in[0] & (r2[0] < t->s_lo)) | (in[1] & (r2[1] < t->s_lo)) |
                    (in[2] & (r2[2] < t->s_lo)) | (in[3] & (r2[3] < t->s_lo))) {
                    /* a pair closer than the table's range: one by one */
                    for (int l = 0; l < 4; l++)
                        pair_one(t, rc2, dx[l], dy[l], dz[l], fi, dpdt + 3 * pj[2 * l]);
                    continue;
                }
                /* lanes beyond the cutoff look up s_lo and are zeroed below */
                const v4d sr = (v4d)(((v4l)r2 & in) | ((v4l)vslo & ~in));
                const v4d u = (sr - vslo) * vinvh;
                v4l k = __builtin_convertvector(u, v4l);
                const long long kmax = (long long)t->n - 1;
                k = (v4l)((k > kmax) & (v4l){kmax, kmax, kmax, kmax}) | (k & ~(k > kmax));
                const v4d x = u - __builtin_convertvector(k, v4d), x2 = x * x, x3 = x2 * x;
                const double *G0 = t->G + 2 * k[0], *G1 = t->G + 2 * k[1], *G2 = t->G + 2 * k[2],
                             *G3 = t->G + 2 * k[3];
                const v4d g0 = {G0[0], G1[0], G2[0], G3[0]}, d0 = {G0[1], G1[1], G2[1], G3[1]};
                const v4d g1 = {G0[2], G1[2], G2[2], G3[2]}, d1 = {G0[3], G1[3], G2[3], G3[3]};
                v4d g = (two * x3 - three * x2 + one) * g0 + (x3 - two * x2 + x) * d0 +
                        (three * x2 - two * x3) * g1 + (x3 - x2) * d1;
                g = (v4d)((v4l)g & in);
                const v4d gx = g * dx, gy = g * dy, gz = g * dz;
                ax += gx, ay += gy, az += gz;
                const size_t js[4] = {j0, j1, j2, j3};
                for (int l = 0; l < 4; l++) {
                    double *fj = dpdt + 3 * js[l];
                    fj[0] += gx[l], fj[1] += gy[l], fj[2] += gz[l];
                }
            }
            fi[0] = (ax[0] + ax[1]) + (ax[2] + ax[3]);
            fi[1] = (ay[0] + ay[1]) + (ay[2] + ay[3]);
            fi[2] = (az[0] + az[1]) + (az[2] + az[3]);
        }
#endif
        for (; e < end; e++) {
            const size_t j = pairs[2 * e + 1];
            pair_one(t, rc2, min_image(xi - q[3 * j], L, inv_L),
                     min_image(yi - q[3 * j + 1], L, inv_L), min_image(zi - q[3 * j + 2], L, inv_L),
                     fi, dpdt + 3 * j);
        }
        dpdt[3 * i] -= fi[0], dpdt[3 * i + 1] -= fi[1], dpdt[3 * i + 2] -= fi[2];
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
