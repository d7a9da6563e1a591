/* What gradient training of every model kind shares (train_impl.h): the
 * parameters, the training loop as PyTorch runs it — per step take the next
 * batch, call hrf_optimizer_step with a closure that evaluates the loss and
 * its gradient on that batch (L-BFGS may call it several times) — with the
 * time limit, the progress callback and the report, and the first members
 * of the provenance meta (docs/math.md §9). */
#include "baselines/train_impl.h"

#include "core/sysinfo.h"
#include "hamrf/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Progress is reported at most this often (seconds). */
#define PROGRESS_EVERY 0.2

/* ---- parameters ---- */

void hrf_gd_params_default(hrf_gd_params *p) {
    memset(p, 0, sizeof *p);
    p->optimizer = NULL;
    if (hrf_optimizer_find("adam", &p->optimizer) != HRF_OK) p->optimizer = NULL;
    hrf_clear_error();
    if (p->optimizer) hrf_optim_params_default(p->optimizer, &p->optim);
    p->steps = 1000;
    p->batch = 2048;
    p->shuffle = 0;
    p->seed = 1;
    p->width = 1000;
    p->act = &hrf_activation_tanh;
    p->init = HRF_GD_INIT_PYTORCH;
    p->time_limit_seconds = 0.0;
    p->progress = NULL;
    p->progress_user = NULL;
}

const char *hrf_gd_params_check(const hrf_gd_params *p) {
    if (!p->optimizer) return "no optimizer given (e.g. adam)";
    const char *msg = hrf_optim_params_check(p->optimizer, &p->optim);
    if (msg) return msg;
    if (p->steps == 0) return "steps must be at least 1";
    if (p->width == 0) return "width must be at least 1";
    if (p->width > ((size_t)1 << 32)) return "width must be at most 2^32";
    if (!p->act || !p->act->eval) return "no activation given (e.g. tanh)";
    if (p->init != HRF_GD_INIT_PYTORCH) return "unknown initialisation (known: pytorch)";
    if (!(p->time_limit_seconds >= 0.0) || isinf(p->time_limit_seconds))
        return "time limit must be a finite number of seconds >= 0 (0 = none)";
    return NULL;
}

/* ---- the loop ---- */

/* Fills idx (B) with the next batch of the index stream; *pos is the place
 * in the current epoch's order perm (n; NULL = data order). */
static void next_batch(size_t n, size_t B, size_t *perm, int shuffle, hrf_rng *rng, size_t *pos,
                       size_t *idx) {
    for (size_t j = 0; j < B; j++) {
        if (*pos == n) { /* new epoch */
            *pos = 0;
            if (shuffle)
                for (size_t i = n - 1; i > 0; i--) { /* Fisher–Yates */
                    size_t r = (size_t)hrf_rng_below(rng, (uint64_t)i + 1);
                    size_t t = perm[i];
                    perm[i] = perm[r], perm[r] = t;
                }
        }
        idx[j] = perm ? perm[*pos] : *pos;
        (*pos)++;
    }
}

/* The steps; r->steps, final_loss, stopped_early as they go. */
static int run_steps(const hrf_gd_params *p, const gd_problem *prob, hrf_rng *rng,
                     hrf_optimizer *opt, size_t B, size_t *perm, size_t *idx, double *theta,
                     hrf_gd_report *r) {
    const size_t n = prob->n;
    const int full = B == n;
    /* The epoch starts "finished" so that a shuffled run draws its first
     * permutation before the first batch. */
    size_t pos = n;
    double t0 = hrf_now(), t_last = t0;
    prob->select(prob->ctx, full ? NULL : idx, B);
    for (size_t step = 0; step < p->steps; step++) {
        if (!full) next_batch(n, B, perm, p->shuffle, rng, &pos, idx);
        double loss = NAN;
        int rc = hrf_optimizer_step(opt, theta, prob->loss_grad, prob->ctx, &loss);
        if (rc == HRF_ENUMERIC)
            return hrf_error_prefix(rc,
                                    "%s step %zu (lr %g): the loss or its gradient is not "
                                    "finite; a smaller lr may help",
                                    p->optimizer->name, step + 1, p->optim.lr);
        if (rc) return rc;
        r->final_loss = loss;
        r->steps = step + 1;
        double t = hrf_now();
        int last = step + 1 == p->steps;
        int out_of_time = p->time_limit_seconds > 0 && t - t0 >= p->time_limit_seconds;
        if (out_of_time && !last) r->stopped_early = 1;
        if (p->progress && (last || out_of_time || t - t_last >= PROGRESS_EVERY)) {
            p->progress(p->progress_user, r->steps, loss,
                        (double)r->steps / (t - t0 > 0 ? t - t0 : 1e-9));
            t_last = t;
        }
        if (out_of_time) break;
    }
    r->train_seconds = hrf_now() - t0;
    return HRF_OK;
}

int gd_run(const hrf_gd_params *p, const gd_problem *prob, hrf_rng *rng, double *theta,
           hrf_gd_report *rep) {
    const size_t n = prob->n;
    const size_t B = p->batch == 0 || p->batch > n ? n : p->batch;
    const int full = B == n;
    hrf_optimizer *opt = NULL;
    size_t *perm = NULL, *idx = NULL;
    int rc = HRF_OK;
    if (!full) {
        idx = malloc(B * sizeof *idx);
        if (p->shuffle) perm = malloc(n * sizeof *perm);
    }
    if ((!full && !idx) || (!full && p->shuffle && !perm)) {
        rc = hrf_error(HRF_ENOMEM, "out of memory for batches of %zu of %zu items", B, n);
        goto done;
    }
    if (perm)
        for (size_t i = 0; i < n; i++)
            perm[i] = i;
    if ((rc = hrf_optimizer_new(p->optimizer, prob->np, &p->optim, &opt))) goto done;
    hrf_gd_report r;
    memset(&r, 0, sizeof r);
    r.batch = B;
    prob->select(prob->ctx, NULL, n); /* the whole data set */
    if ((rc = prob->loss_grad(prob->ctx, theta, &r.initial_loss, NULL))) goto done;
    if ((rc = run_steps(p, prob, rng, opt, B, perm, idx, theta, &r))) goto done;
    r.evals = hrf_optimizer_evals(opt);
    prob->select(prob->ctx, NULL, n);
    if ((rc = prob->loss_grad(prob->ctx, theta, &r.full_loss, NULL))) goto done;
    *rep = r;
done:
    hrf_optimizer_free(opt);
    free(perm), free(idx);
    return rc;
}

/* ---- provenance ---- */

cJSON *gd_provenance_new(const hrf_gd_params *p, const hrf_gd_report *r) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "trained_by", "gradient");
    cJSON_AddStringToObject(o, "optimizer", p->optimizer->name);
    cJSON_AddNumberToObject(o, "lr", p->optim.lr);
    cJSON_AddNumberToObject(o, "weight_decay", p->optim.weight_decay);
    cJSON_AddNumberToObject(o, "steps", (double)r->steps);
    cJSON_AddNumberToObject(o, "batch", (double)r->batch);
    cJSON_AddBoolToObject(o, "shuffle", p->shuffle);
    cJSON_AddStringToObject(o, "init", "pytorch");
    cJSON_AddNumberToObject(o, "seed", (double)p->seed);
    return o;
}
