/* The graph network's vector field (hamrf/hgn_field.h): Hamilton's equations
 * of the learned Ĥ (docs/math.md §10) over flattened particle states, for the
 * integrators and rollouts of docs/math.md §8. */
#include "hamrf/hgn_field.h"

#include "hamrf/status.h"
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
}

/* One state with the tabulated pair potential: the kinetic part from the
 * network (evaluated on a graph without pairs), the pair forces from the
 * table over the pair list at q. */
static int rhs_tabulated(const hrf_hgn_field_ctx *c, const double *q, const double *p, double *dqdt,
                         double *dpdt) {
    static const uint32_t no_pairs[2] = {0, 0};
    hrf_hgn_graph none = {.pairs = no_pairs, .n_pairs = 0, .box = c->graph.box, .cutoff = 0};
    int rc = hrf_hgn_eval(c->model, c->N, c->D, q, p, c->mass, &none, NULL, dqdt, dpdt);
    if (rc) return rc;
    uint32_t *pairs = NULL;
    size_t np = 0;
    if ((rc = hrf_hgn_graph_pairs(&c->graph, c->N, c->D, q, &pairs, &np))) return rc;
    const int D = c->D;
    for (size_t e = 0; e < np; e++) {
        const size_t i = pairs[2 * e], j = pairs[2 * e + 1];
        double d[3] = {0, 0, 0}, r2 = 0.0, dV;
        for (int a = 0; a < D; a++)
            d[a] = q[i * D + a] - q[j * D + a];
        hrf_nbr_min_image_vec(d, D, c->graph.box);
        for (int a = 0; a < D; a++)
            r2 += d[a] * d[a];
        const double r = sqrt(r2);
        hrf_hgn_table_eval(c->table, r, &dV);
        for (int a = 0; a < D; a++) {
            const double fa = dV * d[a] / r; /* ∂V/∂q_i */
            dpdt[i * D + a] -= fa;
            dpdt[j * D + a] += fa;
        }
    }
    free(pairs);
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
    return hrf_hgn_table_new(ctx->model, 0.8 * rmin, hi, intervals, out);
}

/* States are independent: with several, one per thread (hrf_hgn_eval keeps
 * its scratch per call, and the last-error string is per thread, so a failed
 * state is evaluated again on this thread to report its message). */
static int hgn_rhs(void *vctx, size_t n, const double *x, double *dxdt) {
    const hrf_hgn_field_ctx *c = vctx;
    const size_t nd = c->N * (size_t)c->D, dim = 2 * nd;
    int failed = 0;
    long first = -1;
#pragma omp parallel for schedule(dynamic, 1) if (n > 1)
    for (long k = 0; k < (long)n; k++) {
        const double *q = x + (size_t)k * dim;
        double *f = dxdt + (size_t)k * dim;
        int rc = c->table ? rhs_tabulated(c, q, q + nd, f, f + nd)
                          : hrf_hgn_eval(c->model, c->N, c->D, q, q + nd, c->mass, &c->graph, NULL,
                                         f, f + nd);
        if (rc) {
#pragma omp critical(hgn_rhs_fail)
            if (!failed || k < first) failed = 1, first = k;
        }
    }
    if (!failed) return HRF_OK;
    const double *q = x + (size_t)first * dim;
    double *f = dxdt + (size_t)first * dim;
    int rc = c->table ? rhs_tabulated(c, q, q + nd, f, f + nd)
                      : hrf_hgn_eval(c->model, c->N, c->D, q, q + nd, c->mass, &c->graph, NULL, f,
                                     f + nd);
    return hrf_error_prefix(rc ? rc : HRF_ENUMERIC, "graph network, state %ld", first);
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
    f->jac = NULL;
    f->energy = hgn_energy;
}
