/* L-BFGS (hamrf/optim.h, docs/optimizers.md): a port of PyTorch 2.x's
 * torch/optim/lbfgs.py, its two-loop recursion over a ring buffer of (s, y)
 * pairs and its strong-Wolfe line search (bracketing, then zoom with cubic
 * interpolation). Its state is struct lbfgs_state (optim_impl.h), in the
 * optimizer's slab. */
#include "baselines/optim_impl.h"

#include "hamrf/status.h"

#include <math.h>
#include <string.h>

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
    int rc = optim_evaluate(o, f, ctx, theta, fout, gout);
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
void optim_lbfgs_reset(struct lbfgs_state *L) {
    L->n_iter = 0;
    L->head = L->len = 0;
    L->t = 0;
    L->h_diag = 1;
}

int optim_lbfgs_run(hrf_optimizer *o, double *theta, hrf_loss_fn f, void *ctx, double *loss_out) {
    struct lbfgs_state *L = &o->lb;
    const hrf_optim_params *p = &o->p;
    const size_t n = o->n, nb = n * sizeof(double), m = (size_t)p->history;
    const int max_eval = p->max_eval > 0 ? p->max_eval : p->max_iter * 5 / 4;
    double *g = o->g, *d = L->d;
    double loss;
    int rc;

    /* evaluate the initial f(x) and df/dx */
    if ((rc = optim_evaluate(o, f, ctx, theta, &loss, g)) != HRF_OK) return rc;
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
                if ((rc = optim_evaluate(o, f, ctx, theta, &loss, g)) != HRF_OK) goto fail;
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
    optim_lbfgs_reset(L);
    return rc;
}
