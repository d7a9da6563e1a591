/* The HNN's fit (docs/math.md §3–4): sample the hidden layer, solve for
 * (c, c0) (hnn_solve, hnn_lsq.c); A-SWIM samples again with the density of
 * the first fit's Ĥ and solves a second time. */
#include "core/sysinfo.h"
#include "hamrf/hnn.h"
#include "hamrf/status.h"
#include "hnn/hnn_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void hrf_hnn_params_default(hrf_hnn_params *p) {
    memset(p, 0, sizeof *p);
    p->width = 1000;
    p->sampler = &hrf_sampler_aswim;
    p->act = &hrf_activation_tanh;
    p->elm_lo = p->elm_hi = NAN;
    p->resample_duplicates = 1;
    p->seed = 1;
    hrf_lstsq_params_default(&p->lstsq);
    p->cache_bytes = (size_t)2 << 30;
}

const char *hrf_hnn_params_check(const hrf_hnn_params *p) {
    if (p->width == 0) return "width must be a positive integer";
    if (!p->sampler) return "no sampler given";
    if (!p->act) return "no activation given";
    if (isnan(p->elm_lo) != isnan(p->elm_hi)) return "give both ELM bias bounds or neither";
    if (!isnan(p->elm_lo) &&
        !(isfinite(p->elm_lo) && isfinite(p->elm_hi) && p->elm_lo <= p->elm_hi))
        return "the ELM bias range must be finite with lo <= hi";
    return hrf_lstsq_params_check(&p->lstsq);
}

static void report_progress(const hrf_hnn_params *p, const char *stage, double f) {
    if (p->progress) p->progress(p->progress_user, stage, f);
}

/* hrf_hnn_fit's checks before it allocates anything: the data set against
 * the sampler, absurd sizes, and the memory the fit needs against the
 * available memory. *cache_budget receives the bytes that σ'(Z) (and, for
 * A-SWIM, σ(Z)) may occupy: cache_bytes, lowered to half of what remains
 * of the available memory after the fit's own estimate. */
static int fit_check(const hrf_hnn_params *p, const hrf_dataset *data, size_t K_all,
                     double *cache_budget) {
    const size_t K = data->n, dim = data->dim, M = p->width;
    if (K_all == 0) return hrf_error(HRF_EDATA, "the training set is empty");
    if (p->sampler->density != HRF_PAIRS_NONE && K_all < 2)
        return hrf_error(HRF_EDATA,
                         "sampler '%s' draws pairs of training points and needs at "
                         "least 2, the data set has %zu",
                         p->sampler->name, K_all);
    if (p->sampler->needs_values && !data->H)
        return hrf_error(HRF_EDATA,
                         "sampler '%s' needs the true energy 'H' at the training points "
                         "(the SWIM oracle), and the data set has none; use aswim or uswim",
                         p->sampler->name);
    /* Refuse absurd sizes before allocating anything large (and before any
     * size arithmetic could overflow). */
    if (M > ((size_t)1 << 32) || K > ((size_t)1 << 40))
        return hrf_error(HRF_ETOOBIG,
                         "width %zu on %zu points is beyond what hamrf supports "
                         "(width at most 2^32, at most 2^40 points): it needs about %.3g GiB",
                         M, K,
                         8.0 * ((double)M * (double)M + (double)K * (double)M) / 1073741824.0);
    double avail = (double)hrf_mem_available_blas();
    hrf_solver s = p->lstsq.solver;
    double rows = (double)K * dim + 1.0, cols = (double)M + 1.0;
    double need_solver;
    if (s == HRF_SOLVER_SVD || s == HRF_SOLVER_QR ||
        (s == HRF_SOLVER_AUTO && rows * cols <= (double)p->lstsq.auto_dense_max))
        need_solver = hrf_lstsq_memory_estimate(s == HRF_SOLVER_QR ? s : HRF_SOLVER_SVD,
                                                (size_t)rows, (size_t)cols);
    else
        need_solver = hrf_lstsq_memory_estimate(HRF_SOLVER_NORMAL, (size_t)rows, (size_t)cols) +
                      8.0 * (double)hnn_block_rows(M) * (double)M;
    double pool = (double)K * (double)((M + K - 1) / K) * 25.0; /* SWIM pool: 2 indices, 1 weight */
    double need = 8.0 * (double)M * (dim + 2) + 8.0 * (rows + K * dim) + need_solver + pool;
    if (M > ((size_t)1 << 32) || (avail > 0.0 && need > avail))
        return hrf_error(HRF_ETOOBIG,
                         "width %zu on %zu points needs about %.3g GiB, but only "
                         "%.3g GiB are available",
                         M, K, need / 1073741824.0, avail / 1073741824.0);
    *cache_budget = (double)p->cache_bytes;
    if (avail > 0.0 && *cache_budget > 0.5 * (avail - need)) *cache_budget = 0.5 * (avail - need);
    return HRF_OK;
}

/* The default ELM bias range (docs/math.md §3.1): [smallest, largest] of
 * the data set's box bounds, or of its points when it has no box (over
 * every rank's points when comm is active). */
int hnn_elm_range_comm(const hrf_comm *comm, const hrf_dataset *data, double *lo_out,
                       double *hi_out) {
    hnn_elm_range(data, lo_out, hi_out);
    if (data->box_lo || !hrf_comm_active(comm)) return HRF_OK;
    double v[2] = {-*lo_out, *hi_out};
    int rc = hrf_comm_max(comm, v, 2);
    *lo_out = -v[0], *hi_out = v[1];
    return rc;
}

void hnn_elm_range(const hrf_dataset *data, double *lo_out, double *hi_out) {
    const size_t K = data->n, dim = data->dim;
    double lo = INFINITY, hi = -INFINITY;
    for (size_t a = 0; a < dim; a++) {
        if (data->box_lo) {
            lo = fmin(lo, data->box_lo[a]), hi = fmax(hi, data->box_hi[a]);
        } else {
            for (size_t i = 0; i < K; i++)
                lo = fmin(lo, data->x[i * dim + a]), hi = fmax(hi, data->x[i * dim + a]);
        }
    }
    *lo_out = lo, *hi_out = hi;
}

int hrf_hnn_fit(const hrf_hnn_params *p, const hrf_dataset *data, hrf_hnn **out,
                hrf_hnn_fit_report *rep) {
    hrf_hnn_fit_report local;
    if (!rep) rep = &local;
    memset(rep, 0, sizeof *rep);
    *out = NULL;
    const char *msg = hrf_hnn_params_check(p);
    if (msg) return hrf_error(HRF_EINVAL, "%s", msg);
    const size_t K = data->n, dim = data->dim, M = p->width;
    double cache_budget = 0.0;
    /* Distributed rows (docs/mpi.md): K_all rows in all, ours from `first`. */
    size_t K_all = K, first = 0;
    int rc = hrf_comm_rows(p->comm, K, &K_all, &first);
    if (rc) return rc;
    if ((rc = fit_check(p, data, K_all, &cache_budget))) return rc;

    double t_start = hrf_now();
    hrf_hnn *m = hnn_alloc(dim, M, p->act), *m1 = NULL; /* m1: A-SWIM's first, narrower fit */
    double *G = malloc(K * dim * sizeof *G), *Hhat = NULL, *ws = NULL;
    if (!m || !G) {
        rc = hrf_error(HRF_ENOMEM, "out of memory for a width-%zu network", M);
        goto fail;
    }
    hrf_dataset_gradient_targets(data, G);
    hrf_layer_sample_params lp = {M, p->elm_lo, p->elm_hi, p->resample_duplicates, p->act};
    if (isnan(lp.elm_lo) && (rc = hnn_elm_range_comm(p->comm, data, &lp.elm_lo, &lp.elm_hi)))
        goto fail;
    hrf_rng rng;
    hrf_rng_seed(&rng, p->seed);
    size_t repeated = 0;
    double ts = hrf_now();
    report_progress(p, "sampling", 0.0);
    /* A-SWIM's first fit only shapes the second's sampling density: with the
     * auto solver its hidden layer has ⌈M/2⌉ neurons (docs/math.md §3.6). */
    hrf_layer_sample_params lp1 = lp;
    size_t M1 = M;
    if (p->sampler->adaptive && p->lstsq.solver == HRF_SOLVER_AUTO) {
        M1 = (M + 1) / 2;
        if (M1 < M) {
            lp1.width = M1;
            if (!(m1 = hnn_alloc(dim, M1, p->act))) {
                rc = hrf_error(HRF_ENOMEM, "out of memory for a width-%zu network", M1);
                goto fail;
            }
        }
    }
    rc = hrf_layer_sample_dist(p->sampler->density, &lp1, p->comm, K_all, first, K, dim, data->x, 1,
                               p->sampler->density == HRF_PAIRS_VALUES ? data->H : NULL, &rng,
                               m1 ? m1->W : m->W, m1 ? m1->b : m->b, &repeated);
    rep->sample_seconds += hrf_now() - ts;
    if (rc) goto fail;
    report_progress(p, "solving", 0.1);
    /* A-SWIM's first fit only sets the sampling density of the second, so with
     * the auto solver it uses the plain Gram route (no refinement). */
    hrf_hnn_params p1 = *p;
    if (p->sampler->adaptive && p->lstsq.solver == HRF_SOLVER_AUTO) {
        p1.lstsq.solver = HRF_SOLVER_NORMAL;
        p1.lstsq.refine_max = 0;
    }
    int have_Hhat = 0;
    if (p->sampler->adaptive) {
        Hhat = malloc(K * sizeof *Hhat);
        if (!Hhat) {
            rc = hrf_error(HRF_ENOMEM, "out of memory");
            goto fail;
        }
    }
    /* σ'(Z) workspace for both passes, when it fits the cache budget. */
    if (8.0 * (double)K * (double)M <= cache_budget) ws = hrf_alloc_big(K * M * sizeof *ws);
    rc = hnn_solve(&p1, data, G, m1 ? m1 : m, cache_budget, rep, Hhat, &have_Hhat,
                   p->sampler->adaptive && p->lstsq.solver == HRF_SOLVER_AUTO, ws);
    if (rc) goto fail;
    rep->passes = 1;
    if (p->sampler->adaptive) {
        /* A-SWIM: Ĥ of the first fit at the training inputs drives the SWIM density. */
        report_progress(p, "resampling (A-SWIM)", 0.5);
        ts = hrf_now();
        if (!have_Hhat && (rc = hrf_hnn_eval(m1 ? m1 : m, K, data->x, Hhat, NULL))) goto fail;
        hrf_hnn_free(m1);
        m1 = NULL;
        hrf_debug("A-SWIM evaluation %.3f s", hrf_now() - ts);
        rc = hrf_layer_sample_dist(HRF_PAIRS_VALUES, &lp, p->comm, K_all, first, K, dim, data->x, 1,
                                   Hhat, &rng, m->W, m->b, &repeated);
        rep->sample_seconds += hrf_now() - ts;
        if (rc) goto fail;
        report_progress(p, "solving (A-SWIM)", 0.6);
        if ((rc = hnn_solve(p, data, G, m, cache_budget, rep, NULL, NULL, 0, ws))) goto fail;
        rep->passes = 2;
    }
    report_progress(p, "done", 1.0);
    rep->repeated_pairs = repeated;
    rep->fit_seconds = hrf_now() - t_start;
    free(G), free(Hhat), hrf_free_big(ws, K * M * sizeof *ws);
    if (!(m->prov = hrf_provenance_sampled(p, rep->lstsq.used, data, K_all))) {
        hrf_hnn_free(m);
        return hrf_error(HRF_ENOMEM, "out of memory");
    }
    if (M1 < M) cJSON_AddNumberToObject(m->prov, "aswim_first_width", (double)M1);
    hnn_prepare(m);
    *out = m;
    return HRF_OK;
fail:
    free(G), free(Hhat), hrf_free_big(ws, K * M * sizeof *ws);
    hrf_hnn_free(m1);
    hrf_hnn_free(m);
    return rc;
}
