/* Relative L2 error, mean squared error, energy drift and the rollout
 * errors of the NeurIPS 2022 benchmark (docs/math.md §7). Sums are taken in
 * a fixed order with scaling (hypot-style) so that they neither overflow nor
 * depend on the thread count. */
#include "hamrf/metrics.h"

#include <math.h>

/* Scaled sum of squares: returns sqrt(Σ v_i²) without overflow (LAPACK dnrm2 style). */
static double scaled_norm(size_t n, const double *a, const double *b) {
    double scale = 0.0, ssq = 1.0;
    for (size_t i = 0; i < n; i++) {
        double v = fabs(b ? a[i] - b[i] : a[i]);
        if (v == 0.0) continue;
        if (scale < v) {
            ssq = 1.0 + ssq * (scale / v) * (scale / v);
            scale = v;
        } else {
            ssq += (v / scale) * (v / scale);
        }
    }
    return scale * sqrt(ssq);
}

double hrf_rel_l2(size_t n, const double *a, const double *b) {
    double num = scaled_norm(n, a, b), den = scaled_norm(n, b, NULL);
    return den > 0.0 ? num / den : num;
}

double hrf_mse(size_t n, const double *a, const double *b) {
    if (n == 0) return 0.0;
    double r = scaled_norm(n, a, b);
    return r * r / (double)n;
}

double hrf_energy_drift(size_t nt, size_t n, const double *H) {
    double worst = 0.0;
    for (size_t k = 0; k < n; k++) {
        double H0 = H[k], den = H0 != 0.0 ? fabs(H0) : 1.0;
        for (size_t t = 0; t < nt; t++) {
            double v = H[t * n + k];
            if (!isfinite(v)) return NAN;
            double e = fabs(v - H0) / den;
            if (e > worst) worst = e;
        }
    }
    return worst;
}

/* RelErr(a, b) = ‖a − b‖ / (‖a‖ + ‖b‖) over len entries with stride 1. */
static double rel_err_sym(size_t len, const double *a, const double *b) {
    double num = scaled_norm(len, a, b),
           den = scaled_norm(len, a, NULL) + scaled_norm(len, b, NULL);
    return den > 0.0 ? num / den : 0.0;
}

#define LOG_FLOOR 1e-300

void hrf_rollout_errors_compute(size_t nt, size_t n, size_t dim, const double *x_pred,
                                const double *x_true, const double *H_pred, const double *H_true,
                                double *zerr_t, double *herr_t, hrf_rollout_errors *out) {
    const size_t d = dim / 2;
    double zsum = 0.0, hsum = 0.0;
    for (size_t t = 0; t < nt; t++) {
        double zl = 0.0, hl = 0.0;
        for (size_t k = 0; k < n; k++) {
            const double *a = x_true + (t * n + k) * dim, *b = x_pred + (t * n + k) * dim;
            zl += log(fmax(rel_err_sym(d, a, b), LOG_FLOOR));
            if (H_pred)
                hl += log(fmax(rel_err_sym(1, H_true + t * n + k, H_pred + t * n + k), LOG_FLOOR));
        }
        double zg = exp(zl / (double)n), hg = H_pred ? exp(hl / (double)n) : NAN;
        if (zerr_t) zerr_t[t] = zg;
        if (herr_t) herr_t[t] = hg;
        if (t >= 1) zsum += zg, hsum += hg;
    }
    out->zerr_gmean = nt > 1 ? zsum / (double)(nt - 1) : 0.0;
    out->herr_gmean = !H_pred ? NAN : nt > 1 ? hsum / (double)(nt - 1) : 0.0;
    size_t last = (nt - 1) * n * dim;
    out->final_state_error = hrf_rel_l2(n * dim, x_pred + last, x_true + last);
}

/* The benchmark's own offset inside the log (Thangamuthu et al. 2022). */
#define BENCH_LOG_EPS 1e-30

static int all_finite(size_t len, const double *a) {
    for (size_t i = 0; i < len; i++)
        if (!isfinite(a[i])) return 0;
    return 1;
}

/* |Σ_i p_i|² of one particle state x (2·N·D): the momenta are its second half. */
static double total_momentum_sq(size_t N, size_t D, const double *x) {
    const double *p = x + N * D;
    double s2 = 0.0;
    for (size_t a = 0; a < D; a++) {
        double s = 0.0;
        for (size_t i = 0; i < N; i++)
            s += p[i * D + a];
        s2 += s * s;
    }
    return s2;
}

void hrf_bench_rollout_errors(size_t nt, size_t n, size_t N, size_t D, const double *x_pred,
                              const double *x_true, const double *H_pred, const double *H_true,
                              double *zerr_t, double *herr_t, double *perr_t,
                              hrf_bench_errors *out) {
    const size_t dim = 2 * N * D;
    double zsum = 0.0, hsum = 0.0, psum = 0.0;
    out->failed = 0;
    for (size_t k = 0; k < n; k++) {
        int ok = 1;
        for (size_t t = 0; t < nt && ok; t++)
            ok = all_finite(dim, x_pred + (t * n + k) * dim) && isfinite(H_pred[t * n + k]);
        out->failed += !ok;
    }
    for (size_t t = 0; t < nt; t++) {
        double zl = 0.0, hl = 0.0, pl = 0.0;
        for (size_t k = 0; k < n; k++) {
            const double *a = x_true + (t * n + k) * dim, *b = x_pred + (t * n + k) * dim;
            double z = 1.0, h = 1.0, pe = INFINITY;
            if (all_finite(dim, b) && isfinite(H_pred[t * n + k])) {
                z = rel_err_sym(N * D, a, b);
                h = rel_err_sym(1, H_true + t * n + k, H_pred + t * n + k);
                pe = fabs(total_momentum_sq(N, D, a) - total_momentum_sq(N, D, b));
            }
            zl += log(z + BENCH_LOG_EPS), hl += log(h + BENCH_LOG_EPS);
            pl += log(pe + BENCH_LOG_EPS);
        }
        double zg = exp(zl / (double)n), hg = exp(hl / (double)n), pg = exp(pl / (double)n);
        if (zerr_t) zerr_t[t] = zg;
        if (herr_t) herr_t[t] = hg;
        if (perr_t) perr_t[t] = pg;
        if (t >= 1) zsum += zg, hsum += hg, psum += pg;
    }
    const double m = nt > 1 ? (double)(nt - 1) : 1.0;
    out->zerr = nt > 1 ? zsum / m : 0.0;
    out->herr = nt > 1 ? hsum / m : 0.0;
    out->perr = nt > 1 ? psum / m : 0.0;
}
