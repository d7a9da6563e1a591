/* Private to src/baselines: what gradient training of every model kind
 * shares (src/baselines/train_loop.c) — the training loop (batches,
 * optimizer steps, time limit, progress, the report) over a problem given
 * as callbacks, and the first members of the provenance meta — and the
 * graph network's loss kernel (train_hgn_grad.c), which train_hgn.c drives.
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

/* ---- the graph network's loss and gradient (train_hgn_grad.c) ---- */

typedef struct hgd hgd; /* the kernel's workspace for one data set */

/* A workspace for architecture a, activation act (needs σ'') and data set d
 * (kept by reference, checked by the caller): the pairs of every snapshot
 * and their geometry are found here once (HRF_ETOOBIG when they would take
 * more than a quarter of the available memory). σ', σ'' of the edge
 * encoder are kept between the passes over a snapshot's pairs when
 * pairs x M_E ≤ cache_entries (0: the default, 2^20), else recomputed (the
 * same numbers: tests compare both routes). */
int hgd_new(const hrf_gd_hgn_arch *a, const hrf_activation *act, const hrf_pdata *d,
            size_t cache_entries, hgd **out);
void hgd_free(hgd *h);
/* The gd_problem callbacks: select (snapshots), and the loss
 * L = Σ over the selected snapshots, particles and coordinates of the
 * squared errors of (dq/dt, dp/dt), over 2·nb·N·D, with its gradient. */
void hgd_select(void *ctx, const size_t *idx, size_t nb);
int hgd_loss_grad(void *ctx, const double *theta, double *loss, double *grad);

#endif
