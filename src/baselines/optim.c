/* Gradient-descent optimizers of docs/math.md §9 (hamrf/optim.h): SGD, SGD with
 * momentum, Nesterov, Adagrad, Adadelta, RMSprop, Adam, AdamW, Adamax, NAdam,
 * RAdam, AMSGrad, Adafactor, Rprop and L-BFGS, each a port of PyTorch 2.x's
 * single-tensor (CPU) update with PyTorch's default hyper-parameters.
 * docs/optimizers.md writes out every rule as implemented here.
 *
 * An optimizer is one public type object (name, description) plus one private
 * row of `algos` below (its defaults, which parameters it reads, how many
 * state vectors of length n it keeps, and its update function); adding one
 * touches nothing else. First-order methods share one step: evaluate the
 * closure once at θ, refuse a non-finite loss or gradient (θ untouched), add
 * coupled weight decay, apply the update. L-BFGS has its own step, a port of
 * torch/optim/lbfgs.py with its strong-Wolfe line search.
 *
 * All vectors are (n) float64, n = number of parameters; element i of every
 * state vector belongs to θ_i. Memory is one slab allocated in _new. */
#include "hamrf/optim.h"

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

static const hrf_optimizer_type opt_sgd = OPT("sgd", "SGD: theta -= lr g; lr 1e-3", 0);
static const hrf_optimizer_type opt_momentum =
    OPT("momentum",
        "SGD with momentum: b = mu b + (1 - dampening) g, theta -= lr b; lr 1e-3, mu 0.9", 0);
static const hrf_optimizer_type opt_nesterov =
    OPT("nesterov", "SGD with Nesterov momentum: theta -= lr (g + mu b); lr 1e-3, mu 0.9", 0);
static const hrf_optimizer_type opt_adagrad =
    OPT("adagrad", "Adagrad: s += g^2, theta -= lr g / (sqrt(s) + eps); lr 1e-2, eps 1e-10", 0);
static const hrf_optimizer_type opt_adadelta =
    OPT("adadelta", "Adadelta: RMS[dx]/RMS[g] scaled steps; lr 1, rho 0.9, eps 1e-6", 0);
static const hrf_optimizer_type opt_rmsprop =
    OPT("rmsprop",
        "RMSprop: v = alpha v + (1-alpha) g^2, theta -= lr g / (sqrt(v) + eps); "
        "lr 1e-2, alpha 0.99, eps 1e-8",
        0);
static const hrf_optimizer_type opt_adam =
    OPT("adam", "Adam with bias correction; lr 1e-3, betas 0.9/0.999, eps 1e-8", 0);
static const hrf_optimizer_type opt_adamw =
    OPT("adamw", "AdamW: Adam with decoupled weight decay theta *= 1 - lr wd; lr 1e-3, wd 1e-2", 0);
static const hrf_optimizer_type opt_adamax =
    OPT("adamax", "Adamax: Adam with the infinity norm u = max(beta2 u, |g| + eps); lr 2e-3", 0);
static const hrf_optimizer_type opt_nadam = OPT(
    "nadam", "NAdam: Adam with Nesterov momentum schedule mu_t; lr 2e-3, momentum_decay 4e-3", 0);
static const hrf_optimizer_type opt_radam =
    OPT("radam", "RAdam: Adam with variance rectification when rho_t > 5; lr 1e-3", 0);
static const hrf_optimizer_type opt_amsgrad =
    OPT("amsgrad", "AMSGrad: Adam with the running maximum of the second moment; lr 1e-3", 0);
static const hrf_optimizer_type opt_adafactor =
    OPT("adafactor",
        "Adafactor (unfactored vector branch), relative step min(lr, 1/sqrt(t)); "
        "lr 1e-2, beta2_decay -0.8, eps 2.2e-16/1e-3, d 1",
        0);
static const hrf_optimizer_type opt_rprop =
    OPT("rprop",
        "Rprop: per-parameter step sizes from gradient signs; lr 1e-2, etas 0.5/1.2, "
        "step sizes 1e-6..50; full batch",
        1);
static const hrf_optimizer_type opt_lbfgs = OPT(
    "lbfgs", "L-BFGS with strong-Wolfe line search; lr 1, max_iter 20, history 100; full batch", 1);

static const hrf_optimizer_type *const registry[] = {
    &opt_sgd,       &opt_momentum, &opt_nesterov, &opt_adagrad, &opt_adadelta, &opt_rmsprop,
    &opt_adam,      &opt_adamw,    &opt_adamax,   &opt_nadam,   &opt_radam,    &opt_amsgrad,
    &opt_adafactor, &opt_rprop,    &opt_lbfgs,    NULL,
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

/* ---- first-order updates -------------------------------------------------- *
 * Each gets θ (n) and g (n) = ∇loss(θ) (+ wd θ when coupled), o->t already
 * counts this step (t = 1 on the first), and may overwrite g. */

/* torch.lerp on the CPU: a + w (b - a) for w < 0.5, else b - (b - a)(1 - w). */
static inline double lerp(double a, double b, double w) {
    return w < 0.5 ? a + w * (b - a) : b - (b - a) * (1.0 - w);
}

/* SGD, momentum, Nesterov. s[0]: momentum buffer b. The buffer starts as a
 * copy of the first gradient (PyTorch's lazy clone), not (1 - dampening) g. */
static void upd_sgd(hrf_optimizer *o, double *theta, double *g) {
    const double lr = o->p.lr, mu = o->p.momentum, damp = o->p.dampening;
    const int nesterov = o->type == &opt_nesterov;
    double *b = o->s[0];
    for (size_t i = 0; i < o->n; i++) {
        double gi = g[i];
        if (mu != 0) {
            b[i] = o->t == 1 ? gi : mu * b[i] + (1 - damp) * gi;
            gi = nesterov ? gi + mu * b[i] : b[i];
        }
        theta[i] += -lr * gi;
    }
}

/* Adagrad. s[0]: sum of squared gradients (starts at initial_accumulator). */
static void upd_adagrad(hrf_optimizer *o, double *theta, double *g) {
    const double clr = o->p.lr / (1 + (double)(o->t - 1) * o->p.lr_decay);
    double *sum = o->s[0];
    for (size_t i = 0; i < o->n; i++) {
        sum[i] += g[i] * g[i];
        double std = sqrt(sum[i]) + o->p.eps;
        theta[i] += -clr * g[i] / std;
    }
}

/* Adadelta. s[0]: running mean of g² (v), s[1]: running mean of Δx² (u). */
static void upd_adadelta(hrf_optimizer *o, double *theta, double *g) {
    const double rho = o->p.beta2, eps = o->p.eps, lr = o->p.lr;
    double *v = o->s[0], *u = o->s[1];
    for (size_t i = 0; i < o->n; i++) {
        v[i] = v[i] * rho + (1 - rho) * g[i] * g[i];
        double std = sqrt(v[i] + eps);
        double delta = sqrt(u[i] + eps) / std * g[i];
        u[i] = u[i] * rho + (1 - rho) * delta * delta;
        theta[i] += -lr * delta;
    }
}

/* RMSprop (no momentum, not centred). s[0]: running mean of g² (alpha = beta2). */
static void upd_rmsprop(hrf_optimizer *o, double *theta, double *g) {
    const double alpha = o->p.beta2, eps = o->p.eps, lr = o->p.lr;
    double *v = o->s[0];
    for (size_t i = 0; i < o->n; i++) {
        v[i] = v[i] * alpha + (1 - alpha) * g[i] * g[i];
        double avg = sqrt(v[i]) + eps;
        theta[i] += -lr * g[i] / avg;
    }
}

/* Adam, AdamW, AMSGrad. s[0]: m, s[1]: v, s[2]: max of v (AMSGrad). */
static void upd_adam(hrf_optimizer *o, double *theta, double *g) {
    const double lr = o->p.lr, b1 = o->p.beta1, b2 = o->p.beta2, eps = o->p.eps;
    const double t = (double)o->t;
    const int amsgrad = o->type == &opt_amsgrad;
    double *m = o->s[0], *v = o->s[1], *vmax = o->s[2];
    if (o->type == &opt_adamw) {
        const double decay = 1 - lr * o->p.weight_decay;
        for (size_t i = 0; i < o->n; i++)
            theta[i] *= decay;
    }
    const double bc1 = 1 - pow(b1, t), bc2 = 1 - pow(b2, t);
    const double step_size = lr / bc1, bc2_sqrt = sqrt(bc2);
    for (size_t i = 0; i < o->n; i++) {
        m[i] = lerp(m[i], g[i], 1 - b1);
        v[i] = v[i] * b2 + (1 - b2) * g[i] * g[i];
        double vhat = v[i];
        if (amsgrad) vhat = vmax[i] = fmax(vmax[i], v[i]);
        double denom = sqrt(vhat) / bc2_sqrt + eps;
        theta[i] += -step_size * m[i] / denom;
    }
}

/* Adamax. s[0]: m, s[1]: u, the exponentially weighted infinity norm. */
static void upd_adamax(hrf_optimizer *o, double *theta, double *g) {
    const double b1 = o->p.beta1, b2 = o->p.beta2, eps = o->p.eps;
    const double clr = o->p.lr / (1 - pow(b1, (double)o->t));
    double *m = o->s[0], *u = o->s[1];
    for (size_t i = 0; i < o->n; i++) {
        m[i] = lerp(m[i], g[i], 1 - b1);
        u[i] = fmax(u[i] * b2, fabs(g[i]) + eps);
        theta[i] += -clr * m[i] / u[i];
    }
}

/* NAdam (Dozat), PyTorch's momentum schedule
 * mu_t = beta1 (1 - 0.5 * 0.96^(t psi)), psi = momentum_decay. s[0]: m, s[1]: v. */
static void upd_nadam(hrf_optimizer *o, double *theta, double *g) {
    const double lr = o->p.lr, b1 = o->p.beta1, b2 = o->p.beta2, eps = o->p.eps;
    const double psi = o->p.momentum, t = (double)o->t;
    const double bc2 = 1 - pow(b2, t);
    const double mu = b1 * (1.0 - 0.5 * pow(0.96, t * psi));
    const double mu_next = b1 * (1.0 - 0.5 * pow(0.96, (t + 1) * psi));
    o->mu_product *= mu;
    const double mu_product_next = o->mu_product * mu_next;
    const double cg = -lr * (1.0 - mu) / (1.0 - o->mu_product);
    const double cm = (-lr * mu_next) / (1.0 - mu_product_next);
    double *m = o->s[0], *v = o->s[1];
    for (size_t i = 0; i < o->n; i++) {
        m[i] = lerp(m[i], g[i], 1 - b1);
        v[i] = v[i] * b2 + (1 - b2) * g[i] * g[i];
        double denom = sqrt(v[i] / bc2) + eps;
        theta[i] += cg * g[i] / denom;
        theta[i] += cm * m[i] / denom;
    }
}

/* RAdam (Liu et al.). s[0]: m, s[1]: v. Rectified adaptive step when the
 * approximated SMA length rho_t > 5, else SGD with momentum on m̂. */
static void upd_radam(hrf_optimizer *o, double *theta, double *g) {
    const double lr = o->p.lr, b1 = o->p.beta1, b2 = o->p.beta2, eps = o->p.eps;
    const double t = (double)o->t;
    const double bc1 = 1 - pow(b1, t), bc2 = 1 - pow(b2, t);
    const double rho_inf = 2 / (1 - b2) - 1;
    const double rho_t = rho_inf - 2 * t * pow(b2, t) / bc2;
    const int rect_on = rho_t > 5.0;
    const double rect =
        rect_on
            ? sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            : 0;
    const double bc2_sqrt = sqrt(bc2);
    double *m = o->s[0], *v = o->s[1];
    for (size_t i = 0; i < o->n; i++) {
        m[i] = lerp(m[i], g[i], 1 - b1);
        v[i] = v[i] * b2 + (1 - b2) * g[i] * g[i];
        double mhat = m[i] / bc1;
        if (rect_on) {
            double adaptive = bc2_sqrt / (sqrt(v[i]) + eps);
            theta[i] += -(mhat * lr * adaptive * rect);
        } else {
            theta[i] += -(mhat * lr);
        }
    }
}

/* Adafactor, the non-factored branch PyTorch takes for a 1-D parameter: θ is
 * one flat vector, so RMS(θ) and the update clipping run over all n entries.
 * s[0]: second moment V. Weight decay is decoupled, as in PyTorch. */
static void upd_adafactor(hrf_optimizer *o, double *theta, double *g) {
    const size_t n = o->n;
    const double lr = o->p.lr, eps1 = o->p.eps, t = (double)o->t;
    const double one_minus_beta2 = pow(t, o->p.beta2_decay);
    const double rho = fmin(lr, 1 / sqrt(t));
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += theta[i] * theta[i];
    const double alpha = fmax(o->p.eps2, sqrt(ss) / sqrt((double)n)) * rho;
    if (o->p.weight_decay != 0) {
        const double decay = 1 - lr * o->p.weight_decay;
        for (size_t i = 0; i < n; i++)
            theta[i] *= decay;
    }
    double *v = o->s[0];
    double uu = 0;
    for (size_t i = 0; i < n; i++) {
        v[i] = lerp(v[i], g[i] * g[i], one_minus_beta2);
        g[i] *= 1 / sqrt(fmax(v[i], eps1 * eps1)); /* g becomes the update U */
        uu += g[i] * g[i];
    }
    const double denom = fmax(1.0, sqrt(uu) / (sqrt((double)n) * o->p.clip_d));
    const double a = -alpha / denom;
    for (size_t i = 0; i < n; i++)
        theta[i] += a * g[i];
}

/* Rprop (no weight backtracking). s[0]: previous gradient (0 where the sign
 * flipped), s[1]: per-parameter step sizes (start at lr). */
static void upd_rprop(hrf_optimizer *o, double *theta, double *g) {
    const double em = o->p.eta_minus, ep = o->p.eta_plus;
    double *prev = o->s[0], *step = o->s[1];
    for (size_t i = 0; i < o->n; i++) {
        double prod = g[i] * prev[i];
        double factor = prod > 0 ? ep : prod < 0 ? em : 1;
        step[i] = fmin(fmax(step[i] * factor, o->p.step_min), o->p.step_max);
        double gi = factor == em ? 0 : g[i];
        double sgn = gi > 0 ? 1 : gi < 0 ? -1 : 0;
        theta[i] += -sgn * step[i];
        prev[i] = gi;
    }
}

/* ---- common evaluation ---------------------------------------------------- */

/* loss and grad (n) at θ; counts the evaluation; a closure error comes back
 * unchanged, a non-finite value as HRF_ENUMERIC. */
static int evaluate(hrf_optimizer *o, hrf_loss_fn f, void *ctx, const double *theta, double *loss,
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
    int rc = evaluate(o, f, ctx, theta, &fv, o->g);
    if (rc != HRF_OK) return rc;
    if (loss) *loss = fv;
    o->t++;
    if (o->alg->wd == WD_COUPLED && o->p.weight_decay != 0)
        for (size_t i = 0; i < o->n; i++)
            o->g[i] += o->p.weight_decay * theta[i];
    o->alg->upd(o, theta, o->g);
    return HRF_OK;
}

/* ---- L-BFGS (torch/optim/lbfgs.py) ---------------------------------------- */

static double dot(size_t n, const double *a, const double *b) {
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static double amax(size_t n, const double *a) {
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs(a[i]));
    return m;
}

/* Minimiser of the cubic through (x1, f1, g1), (x2, f2, g2), clamped to
 * [xmin, xmax]; the midpoint when the cubic has no minimiser. */
static double cubic_interpolate(double x1, double f1, double g1, double x2, double f2, double g2,
                                int bounded, double bmin, double bmax) {
    double xmin_bound, xmax_bound;
    if (bounded) {
        xmin_bound = bmin;
        xmax_bound = bmax;
    } else if (x1 <= x2) {
        xmin_bound = x1;
        xmax_bound = x2;
    } else {
        xmin_bound = x2;
        xmax_bound = x1;
    }
    double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
    double d2_square = d1 * d1 - g1 * g2;
    if (d2_square >= 0) {
        double d2 = sqrt(d2_square), min_pos;
        if (x1 <= x2)
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2));
        else
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
        /* Python's min(max(m, lo), hi) */
        double r = min_pos < xmin_bound ? xmin_bound : min_pos;
        return xmax_bound < r ? xmax_bound : r;
    }
    return (xmin_bound + xmax_bound) / 2.0;
}

/* loss and gradient gout at x0 + t d, evaluated in θ and θ restored to x0
 * afterwards (PyTorch's _directional_evaluate). */
static int dir_eval(hrf_optimizer *o, hrf_loss_fn f, void *ctx, double *theta, double t,
                    double *fout, double *gout) {
    const struct lbfgs_state *L = &o->lb;
    for (size_t i = 0; i < o->n; i++)
        theta[i] = L->x0[i] + t * L->d[i];
    int rc = evaluate(o, f, ctx, theta, fout, gout);
    memcpy(theta, L->x0, o->n * sizeof *theta);
    return rc;
}

/* Strong-Wolfe line search along d from x0 (loss f0, gradient g0, slope
 * gtd0 = g0.d), first trial step *t. On return *t, *fout and gout (n) are the
 * accepted step, its loss and gradient; *nevals counts evaluations. gout may
 * be g0's buffer: it is written last. */
static int strong_wolfe(hrf_optimizer *o, hrf_loss_fn f, void *ctx, double *theta, double *t_io,
                        double f0, const double *g0, double gtd0, double *fout, double *gout,
                        int *nevals) {
    struct lbfgs_state *L = &o->lb;
    const size_t n = o->n, nb = n * sizeof(double);
    const double c1 = 1e-4, c2 = 0.9, tol_change = o->p.tolerance_change;
    const int max_ls = 25;
    const double d_norm = amax(n, L->d);
    double t = *t_io, f_new, gtd_new;
    double *gn = L->gn, *gp = L->gp, **bg = L->bg;
    double br[2] = {0, 0}, bf[2] = {0, 0}, bgtd[2] = {0, 0};
    int nbr = 0, done = 0, ls_iter = 0, rc;

    if ((rc = dir_eval(o, f, ctx, theta, t, &f_new, gn)) != HRF_OK) return rc;
    int evals = 1;
    gtd_new = dot(n, gn, L->d);

    /* bracket an interval containing a point satisfying the Wolfe criteria */
    double t_prev = 0, f_prev = f0, gtd_prev = gtd0;
    memcpy(gp, g0, nb);
    while (ls_iter < max_ls) {
        /* lbfgs.py tests, in order: Armijo fails or no decrease → bracket
         * [t_prev, t]; strong Wolfe holds → done at t; slope >= 0 → bracket */
        int armijo_fail = f_new > f0 + c1 * t * gtd0 || (ls_iter > 1 && f_new >= f_prev);
        int wolfe = fabs(gtd_new) <= -c2 * gtd0;
        if (armijo_fail || (!wolfe && gtd_new >= 0)) {
            nbr = 2;
            br[0] = t_prev, br[1] = t;
            bf[0] = f_prev, bf[1] = f_new;
            bgtd[0] = gtd_prev, bgtd[1] = gtd_new;
            memcpy(bg[0], gp, nb);
            memcpy(bg[1], gn, nb);
            break;
        }
        if (wolfe) {
            nbr = 1;
            br[0] = t;
            bf[0] = f_new;
            memcpy(bg[0], gn, nb);
            done = 1;
            break;
        }
        /* interpolate */
        double min_step = t + 0.01 * (t - t_prev), max_step = t * 10, tmp = t;
        t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, 1, min_step, max_step);
        t_prev = tmp;
        f_prev = f_new;
        memcpy(gp, gn, nb);
        gtd_prev = gtd_new;
        if ((rc = dir_eval(o, f, ctx, theta, t, &f_new, gn)) != HRF_OK) return rc;
        evals++;
        gtd_new = dot(n, gn, L->d);
        ls_iter++;
    }
    if (ls_iter == max_ls) { /* reached the maximum number of iterations */
        nbr = 2;
        br[0] = 0, br[1] = t;
        bf[0] = f0, bf[1] = f_new;
        memcpy(bg[0], g0, nb);
        memcpy(bg[1], gn, nb);
    }

    /* zoom phase: refine the bracket until a point satisfies the criteria */
    int insuf_progress = 0;
    int low = bf[0] <= bf[nbr - 1] ? 0 : 1, high = 1 - low;
    while (!done && ls_iter < max_ls) {
        if (fabs(br[1] - br[0]) * d_norm < tol_change) break; /* bracket too small */
        t = cubic_interpolate(br[0], bf[0], bgtd[0], br[1], bf[1], bgtd[1], 0, 0, 0);
        /* keep t at least 0.1 * bracket away from an end when the last
         * trial made insufficient progress or t sits on an end */
        double bmax = fmax(br[0], br[1]), bmin = fmin(br[0], br[1]);
        double eps = 0.1 * (bmax - bmin);
        if (fmin(bmax - t, t - bmin) < eps) {
            if (insuf_progress || t >= bmax || t <= bmin) {
                t = fabs(t - bmax) < fabs(t - bmin) ? bmax - eps : bmin + eps;
                insuf_progress = 0;
            } else {
                insuf_progress = 1;
            }
        } else {
            insuf_progress = 0;
        }
        if ((rc = dir_eval(o, f, ctx, theta, t, &f_new, gn)) != HRF_OK) return rc;
        evals++;
        gtd_new = dot(n, gn, L->d);
        ls_iter++;
        if (f_new > f0 + c1 * t * gtd0 || f_new >= bf[low]) {
            /* Armijo condition not satisfied or not lower than the lowest point */
            br[high] = t;
            bf[high] = f_new;
            memcpy(bg[high], gn, nb);
            bgtd[high] = gtd_new;
            low = bf[0] <= bf[1] ? 0 : 1;
            high = 1 - low;
        } else {
            if (fabs(gtd_new) <= -c2 * gtd0) {
                done = 1; /* Wolfe conditions satisfied */
            } else if (gtd_new * (br[high] - br[low]) >= 0) {
                /* old high becomes new low */
                br[high] = br[low];
                bf[high] = bf[low];
                memcpy(bg[high], bg[low], nb);
                bgtd[high] = bgtd[low];
            }
            /* new point becomes new low */
            br[low] = t;
            bf[low] = f_new;
            memcpy(bg[low], gn, nb);
            bgtd[low] = gtd_new;
        }
    }
    *t_io = br[low];
    *fout = bf[low];
    memcpy(gout, bg[low], nb);
    *nevals = evals;
    return HRF_OK;
}

/* Forget the history, as if no step had been taken (after a failed step). */
static void lbfgs_reset(struct lbfgs_state *L) {
    L->n_iter = 0;
    L->head = L->len = 0;
    L->t = 0;
    L->h_diag = 1;
}

static int lbfgs_run(hrf_optimizer *o, double *theta, hrf_loss_fn f, void *ctx, double *loss_out) {
    struct lbfgs_state *L = &o->lb;
    const hrf_optim_params *p = &o->p;
    const size_t n = o->n, nb = n * sizeof(double), m = (size_t)p->history;
    const int max_eval = p->max_eval > 0 ? p->max_eval : p->max_iter * 5 / 4;
    double *g = o->g, *d = L->d;
    double loss;
    int rc;

    /* evaluate the initial f(x) and df/dx */
    if ((rc = evaluate(o, f, ctx, theta, &loss, g)) != HRF_OK) return rc;
    if (loss_out) *loss_out = loss;
    int current_evals = 1;
    if (amax(n, g) <= p->tolerance_grad) return HRF_OK; /* optimal */
    memcpy(L->theta_in, theta, nb);
    o->t++;

    int opt_cond = 0;
    for (int n_iter = 1; n_iter <= p->max_iter; n_iter++) {
        L->n_iter++;
        /* compute the descent direction */
        if (L->n_iter == 1) {
            for (size_t i = 0; i < n; i++)
                d[i] = -g[i];
            L->head = L->len = 0;
            L->h_diag = 1;
        } else {
            /* update memory with y = g - prev_g, s = t d when y.s > 1e-10 */
            double ys = 0, yy = 0;
            for (size_t i = 0; i < n; i++) {
                double y = g[i] - L->prev_g[i], s = d[i] * L->t;
                ys += y * s;
                yy += y * y;
            }
            if (ys > 1e-10) {
                size_t slot;
                if (L->len == m) { /* shift history by one */
                    slot = L->head;
                    L->head = (L->head + 1) % m;
                } else {
                    slot = (L->head + L->len) % m;
                    L->len++;
                }
                double *Y = L->Y + slot * n, *S = L->S + slot * n;
                for (size_t i = 0; i < n; i++) {
                    Y[i] = g[i] - L->prev_g[i];
                    S[i] = d[i] * L->t;
                }
                L->ro[slot] = 1.0 / ys;
                L->h_diag = ys / yy;
            }
            /* two-loop recursion: d = -H g */
            for (size_t i = 0; i < n; i++)
                d[i] = -g[i];
            for (size_t k = L->len; k-- > 0;) {
                size_t slot = (L->head + k) % m;
                L->al[k] = dot(n, L->S + slot * n, d) * L->ro[slot];
                const double *Y = L->Y + slot * n;
                for (size_t i = 0; i < n; i++)
                    d[i] += -L->al[k] * Y[i];
            }
            for (size_t i = 0; i < n; i++)
                d[i] *= L->h_diag;
            for (size_t k = 0; k < L->len; k++) {
                size_t slot = (L->head + k) % m;
                double be = dot(n, L->Y + slot * n, d) * L->ro[slot];
                const double *S = L->S + slot * n;
                for (size_t i = 0; i < n; i++)
                    d[i] += (L->al[k] - be) * S[i];
            }
        }
        memcpy(L->prev_g, g, nb);
        L->prev_loss = loss;

        /* step length: min(1, 1/|g|_1) lr on the very first iteration */
        if (L->n_iter == 1) {
            double asum = 0;
            for (size_t i = 0; i < n; i++)
                asum += fabs(g[i]);
            double inv = 1.0 / asum;
            L->t = (inv < 1.0 ? inv : 1.0) * p->lr;
        } else {
            L->t = p->lr;
        }
        double gtd = dot(n, g, d);
        if (gtd > -p->tolerance_change) break; /* directional derivative too small */

        int ls_evals = 0;
        if (p->line_search) {
            memcpy(L->x0, theta, nb);
            rc = strong_wolfe(o, f, ctx, theta, &L->t, loss, g, gtd, &loss, g, &ls_evals);
            if (rc != HRF_OK) goto fail;
            for (size_t i = 0; i < n; i++)
                theta[i] = L->x0[i] + L->t * d[i];
            opt_cond = amax(n, g) <= p->tolerance_grad;
        } else {
            for (size_t i = 0; i < n; i++)
                theta[i] += L->t * d[i];
            if (n_iter != p->max_iter) {
                /* re-evaluate only if not in the last iteration */
                if ((rc = evaluate(o, f, ctx, theta, &loss, g)) != HRF_OK) goto fail;
                opt_cond = amax(n, g) <= p->tolerance_grad;
                ls_evals = 1;
            }
        }
        current_evals += ls_evals;

        /* check conditions */
        if (n_iter == p->max_iter) break;
        if (current_evals >= max_eval) break;
        if (opt_cond) break;
        if (amax(n, d) * fabs(L->t) <= p->tolerance_change) break; /* lack of progress */
        if (fabs(loss - L->prev_loss) < p->tolerance_change) break;
    }
    return HRF_OK;

fail:
    /* θ back to its value on entry; the history may mix points of this
     * failed step, so L-BFGS starts afresh on the next call. */
    memcpy(theta, L->theta_in, nb);
    lbfgs_reset(L);
    return rc;
}

/* ---- the table ------------------------------------------------------------ */

#define SGD_USES (USE_MOMENTUM)
#define ADAM_USES (USE_BETA1 | USE_BETA2 | USE_EPS)

static const algo algos[] = {
    {&opt_sgd, 1e-3, 0, 0, 0, 0, 0, SGD_USES, WD_COUPLED, 1, upd_sgd, NULL},
    {&opt_momentum, 1e-3, 0.9, 0, 0, 0, 0, SGD_USES, WD_COUPLED, 1, upd_sgd, NULL},
    {&opt_nesterov, 1e-3, 0.9, 0, 0, 0, 0, SGD_USES, WD_COUPLED, 1, upd_sgd, NULL},
    {&opt_adagrad, 1e-2, 0, 0, 0, 1e-10, 0, USE_EPS | USE_ADAGRAD, WD_COUPLED, 1, upd_adagrad,
     NULL},
    {&opt_adadelta, 1.0, 0, 0, 0.9, 1e-6, 0, USE_RHO | USE_EPS, WD_COUPLED, 2, upd_adadelta, NULL},
    {&opt_rmsprop, 1e-2, 0, 0, 0.99, 1e-8, 0, USE_BETA2 | USE_EPS, WD_COUPLED, 1, upd_rmsprop,
     NULL},
    {&opt_adam, 1e-3, 0, 0.9, 0.999, 1e-8, 0, ADAM_USES, WD_COUPLED, 2, upd_adam, NULL},
    {&opt_adamw, 1e-3, 0, 0.9, 0.999, 1e-8, 1e-2, ADAM_USES, WD_DECOUPLED, 2, upd_adam, NULL},
    {&opt_adamax, 2e-3, 0, 0.9, 0.999, 1e-8, 0, ADAM_USES, WD_COUPLED, 2, upd_adamax, NULL},
    {&opt_nadam, 2e-3, 4e-3, 0.9, 0.999, 1e-8, 0, ADAM_USES | USE_MDECAY, WD_COUPLED, 2, upd_nadam,
     NULL},
    {&opt_radam, 1e-3, 0, 0.9, 0.999, 1e-8, 0, ADAM_USES, WD_COUPLED, 2, upd_radam, NULL},
    {&opt_amsgrad, 1e-3, 0, 0.9, 0.999, 1e-8, 0, ADAM_USES, WD_COUPLED, 3, upd_adam, NULL},
    {&opt_adafactor, 1e-2, 0, 0, 0, DBL_EPSILON, 0, USE_EPS | USE_ADAFACTOR, WD_DECOUPLED, 1,
     upd_adafactor, NULL},
    {&opt_rprop, 1e-2, 0, 0, 0, 0, 0, USE_RPROP | NO_WD, WD_NONE, 2, upd_rprop, NULL},
    {&opt_lbfgs, 1.0, 0, 0, 0, 0, 0, USE_LBFGS | NO_WD, WD_NONE, 0, NULL, lbfgs_run},
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
    if (!a) a = algo_of(&opt_adam); /* NULL or foreign type: Adam's defaults */
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
        if (type == &opt_nesterov)
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
              type == &opt_rmsprop ? "(alpha) " : "", a->beta2);
    if (u & USE_RHO)
        CHECK(p->beta2 >= 0 && p->beta2 <= 1, "%s: beta2 (rho) must be in [0, 1] (default %g)", nm,
              a->beta2);
    if (u & USE_EPS)
        CHECK(isfinite(p->eps) && p->eps > 0, "%s: eps %smust be a finite number > 0 (default %g)",
              nm, type == &opt_adafactor ? "(eps1) " : "", a->eps);
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
        lbfgs_reset(L);
    }
    /* PyTorch's lazily initialised state that is not zero */
    if (type == &opt_adagrad)
        for (size_t i = 0; i < n; i++)
            o->s[0][i] = p->initial_accumulator;
    if (type == &opt_rprop)
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
