/* Private to src/baselines: the gradient-trained graph network's loss
 * kernel (docs/math.md §10.1) — its workspace for one data set, which
 * train_hgn.c drives through the gd_problem callbacks of train_impl.h, and
 * the internals that its two files share: train_hgn_grad.c (workspace,
 * features, the kinetic and potential passes, the loss) and
 * train_hgn_node.c (mode mp's node layer). */
#ifndef HAMRF_SRC_BASELINES_TRAIN_HGN_IMPL_H
#define HAMRF_SRC_BASELINES_TRAIN_HGN_IMPL_H

#include "baselines/train_impl.h"
#include "hgn/hgn_impl.h"

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

/* ---- internals of the two files ---- */

/* Nodes per block of the mp node layer (train_hgn_node.c spells out 4). */
#define NODE_BLOCK 4

/* One thread's accumulators and scratch. */
typedef struct {
    double *acc;       /* (np) gradient sums, θ's layout but W_K as [W_K,·0 | W_K,·1] */
    double sq;         /* sum of squared residuals */
    double *ds, *e;    /* (Emax or HGN_CHUNK, M_E) σ', σ'' of the edge encoder per pair */
    double *z, *s;     /* (HGN_CHUNK, max(M_E, M_K)) pre-activations, σ */
    double *kd, *ke;   /* (HGN_CHUNK, M_K) kinetic σ', σ'' */
    double *dV;        /* (Emax) V'_ij, then γ_ij */
    double *F;         /* (N, D) ∂Ĥ/∂q, then ε */
    double *a, *c;     /* mp (N, M_E): a_l, c_l */
    double *psi, *kap; /* mp (N, M_E): ψ_l, κ_l */
    double *dh, *eh;   /* mp (N, M_N): σ'(y_l), σ''(y_l) */
    double *nv;        /* mp (2·NODE_BLOCK, M_N) scratch: y, or α and β of a block */
} hgd_thread;

struct hgd {
    size_t ME, MK, MN, N, np;
    int D, klin, tanh_fast;
    const hrf_activation *act;
    const hrf_pdata *d;
    double box;
    hgn_pair_cache pc;
    size_t Emax;
    int cached; /* Emax·M_E ≤ the cache threshold of hgd_new */
    double *wk; /* (2, M_K) W_K's columns, from θ at each evaluation */
    int nthreads;
    hgd_thread *t;
    const size_t *idx; /* the selected snapshots (NULL: 0..nb−1) */
    size_t nb;
    /* offsets of the blocks of θ */
    size_t oWE, obE, othE, oWK, obK, othK, oWN, obN, othN, oT;
};

/* σ (if s), σ', σ'' of n pre-activations z (train_hgn_grad.c). */
void hgd_feats(const hgd *h, size_t n, const double *restrict z, double *restrict s,
               double *restrict ds, double *restrict e);
/* Mode mp's node layer of one snapshot (train_hgn_node.c): forward from
 * t->a into t->dh, t->eh, t->c; backward from t->psi into the node
 * parameters' sums and t->kap. */
void hgd_node_forward(const hgd *h, hgd_thread *t, const double *theta);
void hgd_node_backward(const hgd *h, hgd_thread *t, const double *theta);

#endif
