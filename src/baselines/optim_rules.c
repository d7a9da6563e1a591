/* The first-order update rules of the optimizers (hamrf/optim.h): SGD with
 * and without (Nesterov) momentum, Adagrad, Adadelta, RMSprop, Adam, AdamW,
 * AMSGrad, Adamax, NAdam, RAdam, Adafactor and Rprop, each a port of PyTorch
 * 2.x's single-tensor (CPU) update; docs/optimizers.md writes out every rule
 * as implemented here. optim.c evaluates the closure, adds coupled weight
 * decay and calls them through its table. */
#include "baselines/optim_impl.h"

#include <math.h>

/* ---- first-order updates -------------------------------------------------- *
 * Each gets θ (n) and g (n) = ∇loss(θ) (+ wd θ when coupled), o->t already
 * counts this step (t = 1 on the first), and may overwrite g. */

/* torch.lerp on the CPU: a + w (b - a) for w < 0.5, else b - (b - a)(1 - w). */
static inline double lerp(double a, double b, double w) {
    return w < 0.5 ? a + w * (b - a) : b - (b - a) * (1.0 - w);
}

/* SGD, momentum, Nesterov. s[0]: momentum buffer b. The buffer starts as a
 * copy of the first gradient (PyTorch's lazy clone), not (1 - dampening) g. */
void optim_upd_sgd(hrf_optimizer *o, double *theta, double *g) {
    const double lr = o->p.lr, mu = o->p.momentum, damp = o->p.dampening;
    const int nesterov = o->type == &optim_nesterov;
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
void optim_upd_adagrad(hrf_optimizer *o, double *theta, double *g) {
    const double clr = o->p.lr / (1 + (double)(o->t - 1) * o->p.lr_decay);
    double *sum = o->s[0];
    for (size_t i = 0; i < o->n; i++) {
        sum[i] += g[i] * g[i];
        double std = sqrt(sum[i]) + o->p.eps;
        theta[i] += -clr * g[i] / std;
    }
}

/* Adadelta. s[0]: running mean of g² (v), s[1]: running mean of Δx² (u). */
void optim_upd_adadelta(hrf_optimizer *o, double *theta, double *g) {
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
void optim_upd_rmsprop(hrf_optimizer *o, double *theta, double *g) {
    const double alpha = o->p.beta2, eps = o->p.eps, lr = o->p.lr;
    double *v = o->s[0];
    for (size_t i = 0; i < o->n; i++) {
        v[i] = v[i] * alpha + (1 - alpha) * g[i] * g[i];
        double avg = sqrt(v[i]) + eps;
        theta[i] += -lr * g[i] / avg;
    }
}

/* Adam, AdamW, AMSGrad. s[0]: m, s[1]: v, s[2]: max of v (AMSGrad). */
void optim_upd_adam(hrf_optimizer *o, double *theta, double *g) {
    const double lr = o->p.lr, b1 = o->p.beta1, b2 = o->p.beta2, eps = o->p.eps;
    const double t = (double)o->t;
    const int amsgrad = o->type == &optim_amsgrad;
    double *m = o->s[0], *v = o->s[1], *vmax = o->s[2];
    if (o->type == &optim_adamw) {
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
void optim_upd_adamax(hrf_optimizer *o, double *theta, double *g) {
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
void optim_upd_nadam(hrf_optimizer *o, double *theta, double *g) {
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
void optim_upd_radam(hrf_optimizer *o, double *theta, double *g) {
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
void optim_upd_adafactor(hrf_optimizer *o, double *theta, double *g) {
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
void optim_upd_rprop(hrf_optimizer *o, double *theta, double *g) {
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
