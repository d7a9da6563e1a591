/* Gradient-trained baselines (docs/math.md §9): the same shallow networks as the
 * sampled ones — the HNN Ĥ(x) = Σ_k c_k σ(w_k·x + b_k) + c_0 (hamrf/hnn.h)
 * and the ODE-net f̂(x) = Σ_k C_k σ(w_k·x + b_k) + C_0 (hamrf/odenet.h), and
 * the graph network (hamrf/hgn.h; below, "the graph network trained by
 * gradient descent", docs/math.md §10.1) —
 * with every parameter trained by a gradient-descent optimizer
 * (hamrf/optim.h) on the mean squared error
 *
 *   HNN:     L(θ) = 1/(B·dim) Σ_{i∈batch} Σ_a (∇Ĥ(x_i)_a − g_ia)²,  g = J⁻¹ dx/dt
 *   ODE-net: L(θ) = 1/(B·dim) Σ_{i∈batch} Σ_a (f̂(x_i)_a − dxdt_ia)²
 *
 * (PyTorch's MSELoss with reduction 'mean'). The gradient of L is analytic
 * (docs/math.md §9); the HNN's needs σ''.
 *
 * Parameter vector θ, one slab, row-major:
 *   HNN      θ = W (M, dim) | b (M) | c (M)                   M·(dim + 2) entries
 *   ODE-net  θ = W (M, dim) | b (M) | C (M, dim) | C0 (dim)   M·(2 dim + 1) + dim
 * The HNN's c_0 does not enter L; after training it is set from the anchor,
 * c_0 = H0 − Σ_k c_k σ(w_k·x0 + b_k), as the sampled HNN's anchor row does.
 *
 * Lifecycle: hrf_gd_params_default → set fields (after changing `optimizer`,
 * refill `optim` with hrf_optim_params_default) → hrf_gd_params_check →
 * hrf_gd_train_hnn / hrf_gd_train_odenet → the model's own eval/save/free. */
#ifndef HAMRF_BASELINE_H
#define HAMRF_BASELINE_H

#include "hamrf/export.h"

#include <stddef.h>
#include <stdint.h>

#include "hamrf/activation.h"
#include "hamrf/dataset.h"
#include "hamrf/hgn.h"
#include "hamrf/hnn.h"
#include "hamrf/odenet.h"
#include "hamrf/optim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Initialisation of θ before training. */
typedef enum hrf_gd_init {
    /* PyTorch's nn.Linear default: hidden W, b ~ U(−1/√dim, 1/√dim); output
     * c (HNN), C and C0 (ODE-net) ~ U(−1/√M, 1/√M); drawn in θ's order
     * (W row by row, b, c or C row by row, C0) from hrf_rng seeded with `seed`. */
    HRF_GD_INIT_PYTORCH = 0
} hrf_gd_init;

/* Progress: after `step` steps (1-based), `loss` is the mini-batch loss of
 * the latest step and `rate` the steps per second so far. Called at most
 * about every 0.2 s and once after the last step. */
typedef void (*hrf_gd_progress_fn)(void *user, size_t step, double loss, double rate);

typedef struct hrf_gd_params {
    const hrf_optimizer_type *optimizer; /* default adam */
    hrf_optim_params optim;              /* default: PyTorch's for `optimizer` */
    size_t steps;                        /* optimizer steps, > 0; default 1000 */
    /* Points per step; 0 = the full data set. Default 2048 (RF-HNN's). A
     * batch larger than the data set is clipped to it (full batch). */
    size_t batch;
    /* 0 (default): sequential batches in data order, as RF-HNN; 1: a new
     * random permutation per epoch. Either way an epoch's last partial
     * batch is completed from the start of the next epoch (wrap-around),
     * so every step uses exactly `batch` points and every point is used
     * equally often. */
    int shuffle;
    uint64_t seed;               /* initialisation and shuffling; default 1 */
    size_t width;                /* M, > 0; default 1000 */
    const hrf_activation *act;   /* default tanh; needs d2 (or eval_d2) for the HNN */
    hrf_gd_init init;            /* default HRF_GD_INIT_PYTORCH */
    double time_limit_seconds;   /* ≥ 0; 0 = none; training stops after the step
                                    that reaches it and reports stopped_early */
    hrf_gd_progress_fn progress; /* may be NULL */
    void *progress_user;
} hrf_gd_params;

HRF_API void hrf_gd_params_default(hrf_gd_params *p);
/* NULL or a message a user can act on (also checks `optim` for `optimizer`). */
HRF_API const char *hrf_gd_params_check(const hrf_gd_params *p);

typedef struct hrf_gd_report {
    double train_seconds; /* wall clock of the optimisation loop (steps only) */
    double total_seconds; /* everything: initialisation, the loop, both
                             full-data losses, building the model */
    size_t steps;         /* steps done (< params.steps when stopped early) */
    size_t batch;         /* points per step actually used (after clipping) */
    size_t evals;         /* loss+gradient evaluations (L-BFGS: several per step) */
    double initial_loss;  /* L over the whole data set at the initial θ */
    double final_loss;    /* the last step's mini-batch loss, at θ before its
                             update (PyTorch's optimizer.step return value) */
    double full_loss;     /* L over the whole data set at the final θ */
    int stopped_early;    /* 1 if time_limit_seconds ended the training */
} hrf_gd_report;

/* Trains an HNN on data->x and g = J⁻¹ data->dxdt; c_0 from the anchor
 * (data->x0, data->H0). Errors: HRF_EINVAL (params_check's message, or an
 * odd dim), HRF_EDATA (empty data set), HRF_ENOMEM, HRF_ENUMERIC (a
 * non-finite loss or gradient; the message names the step and the lr).
 * Deterministic for a given seed and thread count. `rep` may be NULL. */
HRF_API int hrf_gd_train_hnn(const hrf_gd_params *p, const hrf_dataset *data, hrf_hnn **out,
                             hrf_gd_report *rep);
/* Trains an ODE-net on data->x and data->dxdt; errors as for the HNN. */
HRF_API int hrf_gd_train_odenet(const hrf_gd_params *p, const hrf_dataset *data, hrf_odenet **out,
                                hrf_gd_report *rep);

/* Number of entries of θ. */
HRF_API size_t hrf_gd_hnn_nparams(size_t dim, size_t width);
HRF_API size_t hrf_gd_odenet_nparams(size_t dim, size_t width);

/* The loss and its analytic gradient (the training's own kernel), for tests
 * and for callers with their own loop: θ (nparams) as laid out above, n
 * points x (n, dim) with targets y (n, dim) — g = J⁻¹ dx/dt for the HNN,
 * dx/dt for the ODE-net; *loss receives L, grad (nparams, may be NULL) ∂L/∂θ.
 * Allocates its scratch per call. HRF_EINVAL for n, width or dim 0. */
HRF_API int hrf_gd_hnn_loss_grad(size_t dim, size_t width, const hrf_activation *act,
                                 const double *theta, size_t n, const double *x, const double *y,
                                 double *loss, double *grad);
HRF_API int hrf_gd_odenet_loss_grad(size_t dim, size_t width, const hrf_activation *act,
                                    const double *theta, size_t n, const double *x, const double *y,
                                    double *loss, double *grad);

/* The initial θ (nparams) that training starts from for `p` (its init, seed,
 * width, model kind). */
HRF_API int hrf_gd_hnn_init(const hrf_gd_params *p, size_t dim, double *theta);
HRF_API int hrf_gd_odenet_init(const hrf_gd_params *p, size_t dim, double *theta);

/* ---- the graph network trained by gradient descent ----
 *
 * The same network as the sampled one (hamrf/hgn.h, docs/math.md §10), pair
 * or mp mode, with EVERY parameter trained: the edge encoder w_E, b_E, the
 * kinetic encoder W_K, b_K, the node update W_N, b_N (mp), and the
 * read-out θ_E, θ_K, θ_N (mp), θ_T (the exact kinetic feature, when
 * kinetic_linear). The loss is the mean squared error of Hamilton's
 * equations over the batch's snapshots, particles and coordinates,
 *
 *   L(θ) = 1/(2·B·N·D) Σ_{s∈batch} Σ_{i,a} [(∂Ĥ/∂p_ia − dq_ia/dt)² + (−∂Ĥ/∂q_ia − dp_ia/dt)²]
 *
 * (the normalisation of hrf_hgn_errors' mse_dxdt), its gradient analytic
 * (mixed second derivatives of Ĥ, docs/math.md §10.1). A batch is a set of
 * whole snapshots: hrf_gd_params.batch counts snapshots (0 or ≥ S: all).
 * hrf_gd_params.width is not used.
 *
 * θ, one slab in the model's own order:
 *   w_E (M_E) | b_E (M_E) | θ_E (M_E) | W_K (M_K, 2) | b_K (M_K) | θ_K (M_K)
 *   [mp: W_N (M_N, M_E) | b_N (M_N) | θ_N (M_N)] [θ_T when kinetic_linear]
 * The constants (c_E, c_K, c_N, c_0) do not enter L; the trained model gets
 * those of the sampled fit's anchor (kinetic energy zero at rest, no node
 * energy without neighbours, Ĥ(snapshot 0) = H(snapshot 0)). */
typedef struct hrf_gd_hgn_arch {
    hrf_hgn_mode mode;    /* default HRF_HGN_PAIR */
    size_t edge_width;    /* M_E > 0, default 200 */
    size_t kinetic_width; /* M_K > 0, default 50 */
    size_t node_width;    /* M_N > 0 in mode mp (not used in pair mode), default 100 */
    int kinetic_linear;   /* 1 (default): the feature Σ_i |p_i|²/(2 m_i) with a trained θ_T */
} hrf_gd_hgn_arch;

HRF_API void hrf_gd_hgn_arch_default(hrf_gd_hgn_arch *a);
/* NULL or a message a user can act on. */
HRF_API const char *hrf_gd_hgn_arch_check(const hrf_gd_hgn_arch *a);
/* Number of entries of θ (0 for an invalid architecture). */
HRF_API size_t hrf_gd_hgn_nparams(const hrf_gd_hgn_arch *a);

/* The initial θ (nparams) for p's seed (HRF_GD_INIT_PYTORCH: every layer as
 * PyTorch's nn.Linear, U(−1/√fan_in, 1/√fan_in) for weights and biases:
 * w_E, b_E fan_in 1; W_K, b_K fan_in 2; W_N, b_N fan_in M_E; the read-out
 * as bias-free nn.Linear layers over each pooled feature block, θ_E fan_in
 * M_E, θ_K fan_in M_K, θ_N fan_in M_N, θ_T fan_in 1, i.e. U(−1, 1)), drawn in
 * θ's order from hrf_rng seeded with p->seed. */
HRF_API int hrf_gd_hgn_init(const hrf_gd_params *p, const hrf_gd_hgn_arch *a, double *theta);

/* L over all snapshots of d and (grad not NULL) ∂L/∂θ, the training's own
 * kernel (threaded over snapshots, deterministic for a thread count); act
 * NULL = tanh. Errors as hrf_gd_train_hgn. */
HRF_API int hrf_gd_hgn_loss_grad(const hrf_gd_hgn_arch *a, const hrf_activation *act,
                                 const double *theta, const hrf_pdata *d, double *loss,
                                 double *grad);

/* The graph network (hamrf/hgn.h) with parameters θ; its constants from the
 * anchor of `anchor` (a data set, may be NULL: all constants 0). It
 * evaluates exactly the Ĥ whose derivatives L measures. */
HRF_API int hrf_gd_hgn_model(const hrf_gd_hgn_arch *a, const hrf_activation *act,
                             const double *theta, const hrf_pdata *anchor, hrf_hgn **out);

/* Trains the graph network on the particle data set d and returns it as an
 * ordinary hrf_hgn (it saves, loads, evaluates and rolls out like a sampled
 * one) with provenance meta trained_by "gradient", optimizer, lr,
 * weight_decay, steps, batch, shuffle, init, seed, n_snapshots, n_particles,
 * dim, system, data_meta. Errors: HRF_EINVAL (the checks' messages; an
 * activation without σ''), HRF_EDATA (an empty or unusable data set, no
 * interacting pairs), HRF_ETOOBIG (the pair lists do not fit in memory),
 * HRF_ENOMEM, HRF_ENUMERIC (a non-finite loss or gradient: the step and the
 * lr). Deterministic for a given seed and thread count. `rep` may be NULL. */
HRF_API int hrf_gd_train_hgn(const hrf_gd_params *p, const hrf_gd_hgn_arch *a, const hrf_pdata *d,
                             hrf_hgn **out, hrf_gd_report *rep);

#ifdef __cplusplus
}
#endif

#endif
