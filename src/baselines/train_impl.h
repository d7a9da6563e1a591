/* Private to src/baselines: what gradient training of every model kind
 * shares (src/baselines/train_loop.c) — the training loop (batches,
 * optimizer steps, time limit, progress, the report) over a problem given
 * as callbacks, and the first members of the provenance meta.
 *
 * The HNN and ODE-net (train.c) and the graph network (train_hgn.c) each
 * supply their loss and gradient over a selection of the data's items
 * (points; snapshots) and the initial θ; gd_run does the rest exactly as
 * docs/math.md §9 describes it. */
#ifndef HAMRF_SRC_BASELINES_TRAIN_IMPL_H
#define HAMRF_SRC_BASELINES_TRAIN_IMPL_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "hamrf/baseline.h"
#include "hamrf/rng.h"

/* A training problem: n items (the unit of a batch), np parameters. */
typedef struct gd_problem {
    size_t n, np;
    /* The loss from now on sees items idx[0..nb) (idx NULL: items 0..nb−1). */
    void (*select)(void *ctx, const size_t *idx, size_t nb);
    /* The loss on the selected items and (grad not NULL) its gradient. */
    hrf_loss_fn loss_grad;
    void *ctx;
} gd_problem;

/* Trains θ (np, initialised by the caller from rng, which then shuffles)
 * with p's optimizer: the full-data loss, p->steps steps on batches of
 * p->batch items (wrap-around, optional shuffling), the time limit, the
 * progress callback, the full-data loss again. Fills *rep except
 * total_seconds. Errors: the optimizer's (HRF_ENUMERIC with the step and
 * the lr), the closure's, HRF_ENOMEM. p is checked by the caller. */
int gd_run(const hrf_gd_params *p, const gd_problem *prob, hrf_rng *rng, double *theta,
           hrf_gd_report *rep);

/* The first members of a gradient-trained model's provenance: trained_by
 * "gradient", optimizer, lr, weight_decay, steps (done), batch (used),
 * shuffle, init, seed. NULL when out of memory. No timings: with a time
 * limit the number of steps, and so the file, depends on the machine. */
cJSON *gd_provenance_new(const hrf_gd_params *p, const hrf_gd_report *r);

#endif
