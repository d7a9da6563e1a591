/* Gradient-descent optimizers of docs/math.md §9 (hamrf/optim.h): SGD, SGD with
 * momentum, Nesterov, Adagrad, Adadelta, RMSprop, Adam, AdamW, Adamax, NAdam,
 * RAdam, AMSGrad, Adafactor, Rprop and L-BFGS, each a port of PyTorch 2.x's
 * single-tensor (CPU) update with PyTorch's default hyper-parameters.
 * docs/optimizers.md writes out every rule as implemented here.
 *
 * An optimizer is one public type object (name, description) plus one private
 * row of `algos` below (its defaults, which parameters it reads, how many
 * state vectors of length n it keeps, and its update function, which lives in
 * optim_rules.c and is declared in optim_impl.h); adding one touches nothing
 * else. First-order methods share one step: evaluate the closure once at θ,
 * refuse a non-finite loss or gradient (θ untouched), add coupled weight
 * decay, apply the update. L-BFGS has its own step, a port of
 * torch/optim/lbfgs.py with its strong-Wolfe line search.
 *
 * All vectors are (n) float64, n = number of parameters; element i of every
 * state vector belongs to θ_i. Memory is one slab allocated in _new.
 *
 * This file: the type objects, the table, parameters, lifecycle and the shared
 * step; the first-order update rules are in optim_rules.c, L-BFGS in
 * optim_lbfgs.c, and src/baselines/optim_impl.h holds what they share. */
#include "baselines/optim_impl.h"

#include "hamrf/status.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- public type objects ------------------------------------------------- */

/* name, one-line description, full_batch */
#define OPT(nm, desc, fb)                                                                          \
    { .name = nm, .description = desc, .full_batch = fb }

static const hrf_optimizer_type optim_sgd = OPT("sgd", "SGD: theta -= lr g; lr 1e-3", 0);
static const hrf_optimizer_type optim_momentum =
    OPT("momentum",
        "SGD with momentum: b = mu b + (1 - dampening) g, theta -= lr b; lr 1e-3, mu 0.9", 0);
const hrf_optimizer_type optim_nesterov =
    OPT("nesterov", "SGD with Nesterov momentum: theta -= lr (g + mu b); lr 1e-3, mu 0.9", 0);
static const hrf_optimizer_type optim_adagrad =
    OPT("adagrad", "Adagrad: s += g^2, theta -= lr g / (sqrt(s) + eps); lr 1e-2, eps 1e-10", 0);
static const hrf_optimizer_type optim_adadelta =
    OPT("adadelta", "Adadelta: RMS[dx]/RMS[g] scaled steps; lr 1, rho 0.9, eps 1e-6", 0);
static const hrf_optimizer_type optim_rmsprop =
    OPT("rmsprop",
        "RMSprop: v = alpha v + (1-alpha) g^2, theta -= lr g / (sqrt(v) + eps); "
        "lr 1e-2, alpha 0.99, eps 1e-8",
        0);
static const hrf_optimizer_type optim_adam =
    OPT("adam", "Adam with bias correction; lr 1e-3, betas 0.9/0.999, eps 1e-8", 0);
const hrf_optimizer_type optim_adamw =
    OPT("adamw", "AdamW: Adam with decoupled weight decay theta *= 1 - lr wd; lr 1e-3, wd 1e-2", 0);
static const hrf_optimizer_type optim_adamax =
    OPT("adamax", "Adamax: Adam with the infinity norm u = max(beta2 u, |g| + eps); lr 2e-3", 0);
static const hrf_optimizer_type optim_nadam = OPT(
    "nadam", "NAdam: Adam with Nesterov momentum schedule mu_t; lr 2e-3, momentum_decay 4e-3", 0);
static const hrf_optimizer_type optim_radam =
    OPT("radam", "RAdam: Adam with variance rectification when rho_t > 5; lr 1e-3", 0);
const hrf_optimizer_type optim_amsgrad =
    OPT("amsgrad", "AMSGrad: Adam with the running maximum of the second moment; lr 1e-3", 0);
static const hrf_optimizer_type optim_adafactor =
    OPT("adafactor",
        "Adafactor (unfactored vector branch), relative step min(lr, 1/sqrt(t)); "
        "lr 1e-2, beta2_decay -0.8, eps 2.2e-16/1e-3, d 1",
        0);
static const hrf_optimizer_type optim_rprop =
    OPT("rprop",
        "Rprop: per-parameter step sizes from gradient signs; lr 1e-2, etas 0.5/1.2, "
        "step sizes 1e-6..50; full batch",
        1);
static const hrf_optimizer_type optim_lbfgs = OPT(
    "lbfgs", "L-BFGS with strong-Wolfe line search; lr 1, max_iter 20, history 100; full batch", 1);

static const hrf_optimizer_type *const registry[] = {
    &optim_sgd,       &optim_momentum, &optim_nesterov, &optim_adagrad,
    &optim_adadelta,  &optim_rmsprop,  &optim_adam,     &optim_adamw,
    &optim_adamax,    &optim_nadam,    &optim_radam,    &optim_amsgrad,
    &optim_adafactor, &optim_rprop,    &optim_lbfgs,    NULL,
};

const hrf_optimizer_type *const *hrf_optimizer_types(void) {
    return registry;
}

int hrf_optimizer_find(const char *name, const hrf_optimizer_type **type) {
    if (type) *type = NULL;
    if (!name || !type)
        return hrf_error(HRF_EINVAL, "hrf_optimizer_find: name and type must not be NULL");
    for (const hrf_optimizer_type *const *t = registry; *t; t++) {
        if (strcmp((*t)->name, name) == 0) {
            *type = *t;
            return HRF_OK;
        }
    }
    char known[512] = "";
    size_t len = 0;
    for (const hrf_optimizer_type *const *t = registry; *t && len < sizeof known; t++) {
        int w = snprintf(known + len, sizeof known - len, "%s%s", t == registry ? "" : ", ",
                         (*t)->name);
        if (w < 0) break;
        len += (size_t)w;
    }
    return hrf_error(HRF_ENOTFOUND, "unknown optimizer '%s' (known optimizers: %s)", name, known);
}

/* ---- common evaluation ---------------------------------------------------- */

int optim_evaluate(hrf_optimizer *o, hrf_loss_fn f, void *ctx, const double *theta, double *loss,
                   double *grad) {
    o->evals++;
    int rc = f(ctx, theta, loss, grad);
    if (rc != HRF_OK) return rc;
    if (!isfinite(*loss))
        return hrf_error(HRF_ENUMERIC, "%s: the loss is not finite (%g) at closure evaluation %zu",
                         o->type->name, *loss, o->evals);
    for (size_t i = 0; i < o->n; i++)
        if (!isfinite(grad[i]))
            return hrf_error(HRF_ENUMERIC,
                             "%s: gradient entry %zu is not finite (%g) at closure evaluation %zu",
                             o->type->name, i, grad[i], o->evals);
    return HRF_OK;
}

static int first_order_step(hrf_optimizer *o, double *theta, hrf_loss_fn f, void *ctx,
                            double *loss) {
    double fv;
    int rc = optim_evaluate(o, f, ctx, theta, &fv, o->g);
    if (rc != HRF_OK) return rc;
    if (loss) *loss = fv;
    o->t++;
    if (o->alg->wd == WD_COUPLED && o->p.weight_decay != 0)
        for (size_t i = 0; i < o->n; i++)
            o->g[i] += o->p.weight_decay * theta[i];
    o->alg->upd(o, theta, o->g);
    return HRF_OK;
}

/* ---- the table ------------------------------------------------------------ */

#define SGD_USES (USE_MOMENTUM)
#define ADAM_USES (USE_BETA1 | USE_BETA2 | USE_EPS)

static const algo algos[] = {
    {&optim_sgd, 1e-3, 0, 0, 0, 0, 0, SGD_USES, WD_COUPLED, 1, optim_upd_sgd, NULL},
    {&optim_momentum, 1e-3, 0.9, 0, 0, 0, 0, SGD_USES, WD_COUPLED, 1, optim_upd_sgd, NULL},
    {&optim_nesterov, 1e-3, 0.9, 0, 0, 0, 0, SGD_USES, WD_COUPLED, 1, optim_upd_sgd, NULL},
    {&optim_adagrad, 1e-2, 0, 0, 0, 1e-10, 0, USE_EPS | USE_ADAGRAD, WD_COUPLED, 1,
     optim_upd_adagrad, NULL},
    {&optim_adadelta, 1.0, 0, 0, 0.9, 1e-6, 0, USE_RHO | USE_EPS, WD_COUPLED, 2, optim_upd_adadelta,
     NULL},
    {&optim_rmsprop, 1e-2, 0, 0, 0.99, 1e-8, 0, USE_BETA2 | USE_EPS, WD_COUPLED, 1,
     optim_upd_rmsprop, NULL},
    {&optim_adam, 1e-3, 0, 0.9, 0.999, 1e-8, 0, ADAM_USES, WD_COUPLED, 2, optim_upd_adam, NULL},
    {&optim_adamw, 1e-3, 0, 0.9, 0.999, 1e-8, 1e-2, ADAM_USES, WD_DECOUPLED, 2, optim_upd_adam,
     NULL},
    {&optim_adamax, 2e-3, 0, 0.9, 0.999, 1e-8, 0, ADAM_USES, WD_COUPLED, 2, optim_upd_adamax, NULL},
    {&optim_nadam, 2e-3, 4e-3, 0.9, 0.999, 1e-8, 0, ADAM_USES | USE_MDECAY, WD_COUPLED, 2,
     optim_upd_nadam, NULL},
    {&optim_radam, 1e-3, 0, 0.9, 0.999, 1e-8, 0, ADAM_USES, WD_COUPLED, 2, optim_upd_radam, NULL},
    {&optim_amsgrad, 1e-3, 0, 0.9, 0.999, 1e-8, 0, ADAM_USES, WD_COUPLED, 3, optim_upd_adam, NULL},
    {&optim_adafactor, 1e-2, 0, 0, 0, DBL_EPSILON, 0, USE_EPS | USE_ADAFACTOR, WD_DECOUPLED, 1,
     optim_upd_adafactor, NULL},
    {&optim_rprop, 1e-2, 0, 0, 0, 0, 0, USE_RPROP | NO_WD, WD_NONE, 2, optim_upd_rprop, NULL},
    {&optim_lbfgs, 1.0, 0, 0, 0, 0, 0, USE_LBFGS | NO_WD, WD_NONE, 0, NULL, optim_lbfgs_run},
};

static const algo *algo_of(const hrf_optimizer_type *type) {
    for (size_t a = 0; a < sizeof algos / sizeof algos[0]; a++)
        if (algos[a].type == type) return &algos[a];
    return NULL;
}

/* ---- parameters ----------------------------------------------------------- */

void hrf_optim_params_default(const hrf_optimizer_type *type, hrf_optim_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    /* the fields every optimizer shares, then the type's own */
    p->dampening = 0;
    p->lr_decay = 0;
    p->initial_accumulator = 0;
    p->beta2_decay = -0.8;
    p->eps2 = 1e-3;
    p->clip_d = 1.0;
    p->eta_minus = 0.5;
    p->eta_plus = 1.2;
    p->step_min = 1e-6;
    p->step_max = 50;
    p->max_iter = 20;
    p->max_eval = 0;
    p->history = 100;
    p->tolerance_grad = 1e-7;
    p->tolerance_change = 1e-9;
    p->line_search = 1;
    const algo *a = algo_of(type);
    if (!a) a = algo_of(&optim_adam); /* NULL or foreign type: Adam's defaults */
    p->lr = a->lr;
    p->momentum = a->momentum;
    p->beta1 = a->beta1;
    p->beta2 = a->beta2;
    p->eps = a->eps;
    p->weight_decay = a->weight_decay;
}

static _Thread_local char check_msg[256];

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            snprintf(check_msg, sizeof check_msg, __VA_ARGS__);                                    \
            return check_msg;                                                                      \
        }                                                                                          \
    } while (0)

const char *hrf_optim_params_check(const hrf_optimizer_type *type, const hrf_optim_params *p) {
    if (!type) return "no optimizer type given";
    if (!p) return "no optimizer parameters given";
    const algo *a = algo_of(type);
    if (!a) return "unknown optimizer type (use hrf_optimizer_find)";
    const char *nm = type->name;
    const unsigned u = a->uses;

    if (u & USE_LBFGS)
        CHECK(isfinite(p->lr) && p->lr > 0, "%s: lr must be a finite number > 0 (default %g)", nm,
              a->lr);
    else
        CHECK(isfinite(p->lr) && p->lr >= 0, "%s: lr must be a finite number >= 0 (default %g)", nm,
              a->lr);
    if (u & NO_WD)
        CHECK(p->weight_decay == 0, "%s: weight_decay must be 0 (PyTorch's %s has none)", nm, nm);
    else
        CHECK(isfinite(p->weight_decay) && p->weight_decay >= 0,
              "%s: weight_decay must be a finite number >= 0 (default %g)", nm, a->weight_decay);
    if (u & USE_MOMENTUM) {
        CHECK(isfinite(p->momentum) && p->momentum >= 0 && p->momentum < 1,
              "%s: momentum must be in [0, 1) (default %g)", nm, a->momentum);
        CHECK(isfinite(p->dampening) && p->dampening >= 0 && p->dampening <= 1,
              "%s: dampening must be in [0, 1] (default 0)", nm);
        if (type == &optim_nesterov)
            CHECK(p->momentum > 0 && p->dampening == 0,
                  "nesterov: needs momentum > 0 (default 0.9) and dampening 0");
    }
    if (u & USE_MDECAY)
        CHECK(isfinite(p->momentum) && p->momentum >= 0,
              "%s: momentum (momentum_decay) must be a finite number >= 0 (default %g)", nm,
              a->momentum);
    if (u & USE_BETA1)
        CHECK(p->beta1 >= 0 && p->beta1 < 1, "%s: beta1 must be in [0, 1) (default %g)", nm,
              a->beta1);
    if (u & USE_BETA2)
        CHECK(p->beta2 >= 0 && p->beta2 < 1, "%s: beta2 %smust be in [0, 1) (default %g)", nm,
              type == &optim_rmsprop ? "(alpha) " : "", a->beta2);
    if (u & USE_RHO)
        CHECK(p->beta2 >= 0 && p->beta2 <= 1, "%s: beta2 (rho) must be in [0, 1] (default %g)", nm,
              a->beta2);
    if (u & USE_EPS)
        CHECK(isfinite(p->eps) && p->eps > 0, "%s: eps %smust be a finite number > 0 (default %g)",
              nm, type == &optim_adafactor ? "(eps1) " : "", a->eps);
    if (u & USE_ADAGRAD) {
        CHECK(isfinite(p->lr_decay) && p->lr_decay >= 0,
              "%s: lr_decay must be a finite number >= 0 (default 0)", nm);
        CHECK(isfinite(p->initial_accumulator) && p->initial_accumulator >= 0,
              "%s: initial_accumulator must be a finite number >= 0 (default 0)", nm);
    }
    if (u & USE_ADAFACTOR) {
        CHECK(isfinite(p->beta2_decay) && p->beta2_decay <= 0,
              "%s: beta2_decay must be a finite number <= 0 (default -0.8)", nm);
        CHECK(isfinite(p->eps2) && p->eps2 >= 0,
              "%s: eps2 must be a finite number >= 0 (default 1e-3)", nm);
        CHECK(isfinite(p->clip_d) && p->clip_d >= 1,
              "%s: clip_d (clipping threshold d) must be a finite number >= 1 (default 1)", nm);
    }
    if (u & USE_RPROP) {
        CHECK(p->eta_minus > 0 && p->eta_minus < 1, "%s: eta_minus must be in (0, 1) (default 0.5)",
              nm);
        CHECK(isfinite(p->eta_plus) && p->eta_plus > 1,
              "%s: eta_plus must be a finite number > 1 (default 1.2)", nm);
        CHECK(isfinite(p->step_min) && p->step_min >= 0,
              "%s: step_min must be a finite number >= 0 (default 1e-6)", nm);
        CHECK(isfinite(p->step_max) && p->step_max >= p->step_min,
              "%s: step_max must be a finite number >= step_min (default 50)", nm);
    }
    if (u & USE_LBFGS) {
        CHECK(p->max_iter >= 1, "%s: max_iter must be at least 1 (default 20)", nm);
        CHECK(p->max_eval >= 0, "%s: max_eval must be >= 0 (0: max_iter*5/4, default)", nm);
        CHECK(p->history >= 1, "%s: history must be at least 1 (default 100)", nm);
        CHECK(isfinite(p->tolerance_grad) && p->tolerance_grad >= 0,
              "%s: tolerance_grad must be a finite number >= 0 (default 1e-7)", nm);
        CHECK(isfinite(p->tolerance_change) && p->tolerance_change >= 0,
              "%s: tolerance_change must be a finite number >= 0 (default 1e-9)", nm);
        CHECK(p->line_search == 0 || p->line_search == 1,
              "%s: line_search must be 0 (fixed step lr) or 1 (strong Wolfe, default)", nm);
    }
    return NULL;
}

/* ---- lifecycle ------------------------------------------------------------ */

int hrf_optimizer_new(const hrf_optimizer_type *type, size_t n, const hrf_optim_params *p,
                      hrf_optimizer **out) {
    if (out) *out = NULL;
    if (!type || !out)
        return hrf_error(HRF_EINVAL, "hrf_optimizer_new: type and out must not be NULL");
    const algo *a = algo_of(type);
    if (!a) return hrf_error(HRF_EINVAL, "hrf_optimizer_new: unknown optimizer type");
    if (n == 0)
        return hrf_error(HRF_EINVAL, "%s: the number of parameters must be > 0", type->name);
    hrf_optim_params def;
    if (!p) {
        hrf_optim_params_default(type, &def);
        p = &def;
    }
    const char *msg = hrf_optim_params_check(type, p);
    if (msg) return hrf_error(HRF_EINVAL, "%s", msg);

    /* slab: g, nstate vectors; L-BFGS: 8 vectors + S, Y (history, n) + ro, al */
    const size_t m = a->step ? (size_t)p->history : 0;
    const size_t nvec = 1 + (size_t)a->nstate + (a->step ? 8 : 0) + 2 * m; /* vectors of n */
    const size_t cap = SIZE_MAX / sizeof(double);
    if (nvec > (cap - 2 * m) / n)
        return hrf_error(HRF_ETOOBIG,
                         "%s: state for %zu parameters (history %zu) does not fit in memory",
                         type->name, n, m);
    const size_t total = nvec * n + 2 * m;

    hrf_optimizer *o = calloc(1, sizeof *o);
    double *slab = o ? calloc(total, sizeof(double)) : NULL;
    if (!slab) {
        free(o);
        return hrf_error(HRF_ENOMEM, "%s: cannot allocate %zu doubles of optimizer state",
                         type->name, total);
    }
    o->type = type;
    o->alg = a;
    o->p = *p;
    o->n = n;
    o->mu_product = 1.0;
    o->slab = slab;
    double *w = slab;
    o->g = w, w += n;
    for (int k = 0; k < a->nstate; k++)
        o->s[k] = w, w += n;
    if (a->step) {
        struct lbfgs_state *L = &o->lb;
        L->d = w, w += n;
        L->prev_g = w, w += n;
        L->x0 = w, w += n;
        L->theta_in = w, w += n;
        L->gn = w, w += n;
        L->gp = w, w += n;
        L->bg[0] = w, w += n;
        L->bg[1] = w, w += n;
        L->S = w, w += m * n;
        L->Y = w, w += m * n;
        L->ro = w, w += m;
        L->al = w, w += m;
        optim_lbfgs_reset(L);
    }
    /* PyTorch's lazily initialised state that is not zero */
    if (type == &optim_adagrad)
        for (size_t i = 0; i < n; i++)
            o->s[0][i] = p->initial_accumulator;
    if (type == &optim_rprop)
        for (size_t i = 0; i < n; i++)
            o->s[1][i] = p->lr;
    *out = o;
    return HRF_OK;
}

void hrf_optimizer_free(hrf_optimizer *opt) {
    if (!opt) return;
    free(opt->slab);
    free(opt);
}

int hrf_optimizer_step(hrf_optimizer *opt, double *theta, hrf_loss_fn f, void *ctx, double *loss) {
    if (!opt || !theta || !f)
        return hrf_error(HRF_EINVAL, "hrf_optimizer_step: opt, theta and f must not be NULL");
    if (opt->alg->step) return opt->alg->step(opt, theta, f, ctx, loss);
    return first_order_step(opt, theta, f, ctx, loss);
}

size_t hrf_optimizer_evals(const hrf_optimizer *opt) {
    return opt ? opt->evals : 0;
}
