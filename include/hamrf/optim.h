/* Gradient-descent optimizers (docs/math.md §9), each a const type object with
 * PyTorch's default hyper-parameters and update rules (docs/optimizers.md
 * states every rule). They minimise a loss over a flat float64 parameter
 * vector θ (n) through a closure that returns the loss and its gradient, so
 * L-BFGS can re-evaluate inside its line search and every other method calls
 * the closure exactly once per step.
 *
 * Lifecycle: hrf_optim_params_default(type, &p) → edit → hrf_optim_params_check
 * → hrf_optimizer_new(type, n, &p, &opt) → hrf_optimizer_step ... → free. */
#ifndef HAMRF_OPTIM_H
#define HAMRF_OPTIM_H

#include "hamrf/export.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* loss(θ) and its gradient grad (n) at θ (n); returns HRF_OK or an error
 * code with the last-error message set. */
typedef int (*hrf_loss_fn)(void *ctx, const double *theta, double *loss, double *grad);

typedef struct hrf_optim_params {
    double lr;           /* learning rate */
    double weight_decay; /* L2 penalty: coupled (grad += wd θ) except AdamW and
                            Adafactor, decoupled (θ *= 1 - lr wd) as in PyTorch;
                            must be 0 for Rprop and L-BFGS (PyTorch has none) */
    double momentum;     /* SGD momentum / NAdam momentum_decay, see docs */
    double beta1, beta2; /* Adam family; RMSprop's alpha in beta2; Adadelta's rho in beta2 */
    double eps;          /* Adafactor: eps1 (PyTorch None = DBL_EPSILON) */
    double dampening;    /* SGD with momentum (default 0; Nesterov needs 0) */
    /* Adagrad */
    double lr_decay;            /* default 0 */
    double initial_accumulator; /* initial_accumulator_value, default 0 */
    /* Adafactor */
    double beta2_decay; /* default -0.8 */
    double eps2;        /* default 1e-3 */
    double clip_d;      /* clipping threshold d, default 1 */
    /* Rprop */
    double eta_minus, eta_plus, step_min, step_max;
    /* L-BFGS */
    int max_iter;            /* inner iterations per step (PyTorch max_iter, default 20) */
    int max_eval;            /* closure evaluations per step; 0 (default): max_iter*5/4 */
    int history;             /* history size (default 100) */
    double tolerance_grad;   /* default 1e-7 */
    double tolerance_change; /* default 1e-9 */
    int line_search;         /* 1: strong Wolfe (default), 0: fixed step lr */
} hrf_optim_params;

typedef struct hrf_optimizer_type {
    const char *name;        /* "sgd", "momentum", "nesterov", "adagrad", "adadelta",
                                "rmsprop", "adam", "adamw", "adamax", "nadam", "radam",
                                "amsgrad", "adafactor", "rprop", "lbfgs" */
    const char *description; /* one line: the update rule's name and defaults */
    int full_batch;          /* 1: meant for full-batch training (Rprop, L-BFGS) */
} hrf_optimizer_type;

/* All optimizer types, NULL-terminated (15 entries). */
HRF_API const hrf_optimizer_type *const *hrf_optimizer_types(void);
/* HRF_ENOTFOUND with the list of known names. */
HRF_API int hrf_optimizer_find(const char *name, const hrf_optimizer_type **type);

/* PyTorch's defaults for `type` (e.g. Adam: lr 1e-3, betas 0.9/0.999, eps 1e-8). */
HRF_API void hrf_optim_params_default(const hrf_optimizer_type *type, hrf_optim_params *p);
HRF_API const char *hrf_optim_params_check(const hrf_optimizer_type *type,
                                           const hrf_optim_params *p);

typedef struct hrf_optimizer hrf_optimizer;

/* State for n parameters (moments etc. allocated once). HRF_EINVAL for a bad
 * parameter set (message from _check), HRF_ENOMEM. */
HRF_API int hrf_optimizer_new(const hrf_optimizer_type *type, size_t n, const hrf_optim_params *p,
                              hrf_optimizer **out);
HRF_API void hrf_optimizer_free(hrf_optimizer *opt); /* NULL-safe */

/* One optimizer step on θ (n) in place, like PyTorch's optimizer.step(closure):
 * first-order methods evaluate the closure once at θ and update θ; L-BFGS runs
 * up to max_iter inner iterations with its line search. *loss (may be NULL)
 * receives the loss at θ before the update (PyTorch's return value). A
 * closure error is returned unchanged; a non-finite loss or gradient gives
 * HRF_ENUMERIC and leaves θ unchanged. */
HRF_API int hrf_optimizer_step(hrf_optimizer *opt, double *theta, hrf_loss_fn f, void *ctx,
                               double *loss);

/* Closure evaluations so far (L-BFGS counts its line-search evaluations). */
HRF_API size_t hrf_optimizer_evals(const hrf_optimizer *opt);

#ifdef __cplusplus
}
#endif

#endif
