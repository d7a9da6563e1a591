/* Private to src/baselines/optim*.c: the optimizer object, the row of the
 * optimizer table, and what optim.c (type objects, table, parameters,
 * lifecycle, the shared step), optim_rules.c (first-order update rules) and
 * optim_lbfgs.c (L-BFGS) call in one another. Nothing here is exported. */
#ifndef HAMRF_SRC_OPTIM_IMPL_H
#define HAMRF_SRC_OPTIM_IMPL_H

#include "hamrf/optim.h"

#include <stddef.h>

/* ---- the optimizer object ------------------------------------------------- */

struct lbfgs_state {
    long n_iter;      /* PyTorch state["n_iter"]: inner iterations over all steps */
    double t;         /* step length of the last iteration */
    double h_diag;    /* scale of the initial inverse Hessian, ys / yy */
    double prev_loss; /* loss at the start of the last iteration */
    size_t head, len; /* ring buffer of (s, y) pairs: oldest slot, pairs held */
    double *d;        /* (n) search direction of the last iteration */
    double *prev_g;   /* (n) gradient at the start of the last iteration */
    double *x0;       /* (n) θ at the start of the line search (PyTorch x_init) */
    double *theta_in; /* (n) θ on entry to step(), restored on failure */
    double *gn, *gp;  /* (n) line search: gradient at the trial and previous point */
    double *bg[2];    /* (n) line search: gradients at the bracket ends */
    double *S, *Y;    /* (history, n) row k: step s_k = t d and y_k = g_new - g_old */
    double *ro;       /* (history) 1 / (y_k . s_k) */
    double *al;       /* (history) two-loop recursion coefficients */
};

struct hrf_optimizer {
    const hrf_optimizer_type *type;
    const struct algo *alg;
    hrf_optim_params p;
    size_t n;          /* parameters */
    size_t t;          /* steps taken (PyTorch state["step"]) */
    size_t evals;      /* closure evaluations */
    double mu_product; /* NAdam: prod of mu_1..mu_t */
    double *slab;
    double *g;    /* (n) gradient at θ */
    double *s[3]; /* (n) each: the algorithm's state vectors, see its update */
    struct lbfgs_state lb;
};

typedef void (*update_fn)(hrf_optimizer *o, double *theta, double *g);
typedef int (*step_fn)(hrf_optimizer *o, double *theta, hrf_loss_fn f, void *ctx, double *loss);

/* Which parameters an algorithm reads (validated by _check). */
enum {
    USE_MOMENTUM = 1 << 0, /* SGD momentum in [0, 1) and dampening */
    USE_MDECAY = 1 << 1,   /* NAdam momentum_decay >= 0 (in .momentum) */
    USE_BETA1 = 1 << 2,    /* beta1 in [0, 1) */
    USE_BETA2 = 1 << 3,    /* beta2 in [0, 1) (RMSprop alpha) */
    USE_RHO = 1 << 4,      /* Adadelta rho (in .beta2) in [0, 1] */
    USE_EPS = 1 << 5,      /* eps > 0 */
    USE_ADAGRAD = 1 << 6,  /* lr_decay, initial_accumulator >= 0 */
    USE_ADAFACTOR = 1 << 7,
    USE_RPROP = 1 << 8,
    USE_LBFGS = 1 << 9,
    NO_WD = 1 << 10, /* PyTorch has no weight decay for it: must be 0 */
};

/* Weight decay: coupled is added to the gradient by the common step. */
enum { WD_COUPLED, WD_DECOUPLED, WD_NONE };

typedef struct algo {
    const hrf_optimizer_type *type;
    double lr, momentum, beta1, beta2, eps, weight_decay; /* PyTorch defaults */
    unsigned uses;
    int wd;        /* WD_* */
    int nstate;    /* state vectors of length n */
    update_fn upd; /* first-order update, or NULL when step is set */
    step_fn step;  /* own step (L-BFGS), or NULL */
} algo;

/* The type objects the update rules tell apart (optim.c). */
extern const hrf_optimizer_type optim_nesterov, optim_adamw, optim_amsgrad;

/* loss and grad (n) at θ; counts the evaluation; a closure error comes back
 * unchanged, a non-finite value as HRF_ENUMERIC (optim.c). */
int optim_evaluate(hrf_optimizer *o, hrf_loss_fn f, void *ctx, const double *theta, double *loss,
                   double *grad);

/* First-order updates (optim_rules.c), each an update_fn: θ (n) and g (n) =
 * ∇loss(θ) (+ wd θ when coupled), o->t already counts this step (t = 1 on the
 * first); they may overwrite g. */
void optim_upd_sgd(hrf_optimizer *o, double *theta, double *g); /* also momentum, Nesterov */
void optim_upd_adagrad(hrf_optimizer *o, double *theta, double *g);
void optim_upd_adadelta(hrf_optimizer *o, double *theta, double *g);
void optim_upd_rmsprop(hrf_optimizer *o, double *theta, double *g);
void optim_upd_adam(hrf_optimizer *o, double *theta, double *g); /* also AdamW, AMSGrad */
void optim_upd_adamax(hrf_optimizer *o, double *theta, double *g);
void optim_upd_nadam(hrf_optimizer *o, double *theta, double *g);
void optim_upd_radam(hrf_optimizer *o, double *theta, double *g);
void optim_upd_adafactor(hrf_optimizer *o, double *theta, double *g);
void optim_upd_rprop(hrf_optimizer *o, double *theta, double *g);

/* L-BFGS (optim_lbfgs.c): its step_fn, and forgetting the history, as if no
 * step had been taken. */
int optim_lbfgs_run(hrf_optimizer *o, double *theta, hrf_loss_fn f, void *ctx, double *loss_out);
void optim_lbfgs_reset(struct lbfgs_state *L);

#endif
