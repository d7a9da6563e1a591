/* The graph network's vector field (hamrf/hgn_field.h): Hamilton's equations
 * of the learned Ĥ (MATH.md §6.2) over flattened particle states, for the
 * integrators and rollouts of MATH.md §4. */
#include "hamrf/hgn_field.h"

#include "hamrf/status.h"

#include <string.h>

void hrf_hgn_field_ctx_of(hrf_hgn_field_ctx *ctx, const hrf_hgn *model, const hrf_pdata *d) {
    ctx->model = model;
    hrf_hgn_graph_of(d, &ctx->graph);
    ctx->N = d->N;
    ctx->D = d->D;
    ctx->mass = d->mass;
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
        int rc = hrf_hgn_eval(c->model, c->N, c->D, q, q + nd, c->mass, &c->graph, NULL, f, f + nd);
        if (rc) {
#pragma omp critical(hgn_rhs_fail)
            if (!failed || k < first) failed = 1, first = k;
        }
    }
    if (!failed) return HRF_OK;
    const double *q = x + (size_t)first * dim;
    double *f = dxdt + (size_t)first * dim;
    int rc = hrf_hgn_eval(c->model, c->N, c->D, q, q + nd, c->mass, &c->graph, NULL, f, f + nd);
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
