/* Least-squares solvers (MATH.md §2.2): svd (dgelsd), qr (dgelsy), normal
 * (equilibrated, ridged Cholesky of the Gram matrix + preconditioned LSQR)
 * and the auto policy. */
#include "hamrf/lstsq.h"
#include "hamrf/status.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *hrf_solver_name(hrf_solver s) {
    switch (s) {
    case HRF_SOLVER_AUTO: return "auto";
    case HRF_SOLVER_SVD: return "svd";
    case HRF_SOLVER_QR: return "qr";
    case HRF_SOLVER_NORMAL: return "normal";
    }
    return "?";
}

int hrf_solver_find(const char *name, hrf_solver *s) {
    static const hrf_solver all[] = {HRF_SOLVER_AUTO, HRF_SOLVER_SVD, HRF_SOLVER_QR,
                                     HRF_SOLVER_NORMAL};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(name, hrf_solver_name(all[i])) == 0) {
            *s = all[i];
            return HRF_OK;
        }
    }
    return hrf_error(HRF_ENOTFOUND, "unknown solver '%s' (known: auto, svd, qr, normal)", name);
}

void hrf_lstsq_params_default(hrf_lstsq_params *p) {
    p->solver = HRF_SOLVER_AUTO;
    p->rcond = 1e-13;
    p->ridge = 1e-13;
    p->refine_max = 50;
    p->gram_refine_max = 200;
    p->refine_tol = 1e-14;
    p->refine_stall = 1e-2;
    p->auto_dense_max = (size_t)1 << 22;
    p->auto_probe = 10;
    p->auto_direct_flops = 1.5e11;
    p->auto_refine_max = 10;
    p->stream_refine_max = 0;
    p->mem_limit = 0;
    p->use_reduce = 0;
    p->equilibrate = 0;
    p->skip_residual = 0;
}

const char *hrf_lstsq_params_check(const hrf_lstsq_params *p) {
    if (!(p->rcond >= 0.0 && p->rcond < 1.0)) return "rcond must be in [0, 1)";
    if (!(p->ridge >= 0.0 && p->ridge < 1.0)) return "ridge must be in [0, 1)";
    if (p->refine_max < 0 || p->refine_max > 100000) return "refine_max must be in [0, 100000]";
    if (p->gram_refine_max < 0 || p->gram_refine_max > 100000)
        return "gram_refine_max must be in [0, 100000]";
    if (p->auto_refine_max < 0 || p->stream_refine_max < 0 || p->auto_probe < 0)
        return "auto_refine_max, stream_refine_max and auto_probe must be >= 0";
    if (!(p->refine_stall >= 0.0 && p->refine_stall < 1.0)) return "refine_stall must be in [0, 1)";
    if (!(p->auto_direct_flops >= 0.0)) return "auto_direct_flops must be >= 0";
    if (!(p->refine_tol >= 0.0 && p->refine_tol < 1.0)) return "refine_tol must be in [0, 1)";
    return NULL;
}

size_t hrf_mem_available(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    size_t kb = 0;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "MemAvailable: %zu kB", &kb) == 1) break;
    }
    fclose(f);
    return kb * 1024;
}

double hrf_lstsq_memory_estimate(hrf_solver s, size_t rows, size_t cols) {
    double m = (double)rows, n = (double)cols;
    switch (s) {
    case HRF_SOLVER_SVD: return 8.0 * (m * n + 2.0 * m + n * n + 40.0 * n);
    case HRF_SOLVER_QR: return 8.0 * (m * n + 2.0 * m + 4.0 * n);
    case HRF_SOLVER_NORMAL: return 8.0 * (2.0 * n * n + 10.0 * n);
    case HRF_SOLVER_AUTO: break;
    }
    return 0.0;
}

static int check_memory(const hrf_lstsq_params *p, hrf_solver s, const hrf_lsq_problem *prob) {
    double need = hrf_lstsq_memory_estimate(s, prob->rows, prob->cols) + prob->extra_bytes;
    double limit = p->mem_limit ? (double)p->mem_limit : (double)hrf_mem_available();
    if (limit > 0.0 && need > limit)
        return hrf_error(HRF_ETOOBIG,
                         "the %s solver for a %zu x %zu least-squares problem needs about %.3g GiB, "
                         "but only %.3g GiB are available (try %sa smaller width or fewer points)",
                         hrf_solver_name(s), prob->rows, prob->cols, need / 1073741824.0,
                         limit / 1073741824.0, s == HRF_SOLVER_NORMAL ? "" : "--solver normal, ");
    return HRF_OK;
}

static double norm2(size_t n, const double *x) { return cblas_dnrm2((int)n, x, 1); }

/* ‖A θ − u‖ via the problem's apply callback. */
static int residual_norm(const hrf_lsq_problem *prob, const double *theta, const double *u,
                         double *out) {
    double *y = malloc(prob->rows * sizeof *y);
    if (!y) return hrf_error(HRF_ENOMEM, "out of memory for a residual of %zu rows", prob->rows);
    int rc = prob->apply(prob->ctx, theta, y);
    if (rc == HRF_OK) {
        for (size_t i = 0; i < prob->rows; i++) y[i] -= u[i];
        *out = norm2(prob->rows, y);
    }
    free(y);
    return rc;
}

/* ---- dense solvers ---- */
/* dgelsd or dgelsy on A (m x n, column-major, overwritten) and b (max(m,n),
 * holds u on entry and θ in its first n entries on exit). */
static int dense_lapack(hrf_solver s, size_t m, size_t n, double *A, double *b, double rcond,
                        int *rank_out) {
    size_t mb = m > n ? m : n;
    for (size_t i = 0; i < m * n; i++)
        if (!isfinite(A[i]))
            return hrf_error(HRF_ENUMERIC, "least-squares matrix has a non-finite entry (row %zu, "
                             "column %zu)", i % m, i / m);
    lapack_int rank = 0, info;
    if (s == HRF_SOLVER_SVD) {
        double *sv = malloc((m < n ? m : n) * sizeof *sv);
        if (!sv) return hrf_error(HRF_ENOMEM, "out of memory for singular values");
        info = LAPACKE_dgelsd(LAPACK_COL_MAJOR, (lapack_int)m, (lapack_int)n, 1, A, (lapack_int)m,
                              b, (lapack_int)mb, sv, rcond, &rank);
        free(sv);
    } else {
        lapack_int *jpvt = calloc(n, sizeof *jpvt);
        if (!jpvt) return hrf_error(HRF_ENOMEM, "out of memory for pivots");
        info = LAPACKE_dgelsy(LAPACK_COL_MAJOR, (lapack_int)m, (lapack_int)n, 1, A, (lapack_int)m,
                              b, (lapack_int)mb, jpvt, rcond, &rank);
        free(jpvt);
    }
    if (info != 0)
        return hrf_error(HRF_ENUMERIC, "LAPACK %s failed (info %d)",
                         s == HRF_SOLVER_SVD ? "dgelsd (SVD did not converge)" : "dgelsy", (int)info);
    *rank_out = (int)rank;
    return HRF_OK;
}

/* Model flop count of dgelsd / dgelsy on m x n (m ≥ n): Householder QR
 * 2mn² − 2n³/3, plus about 11n³ for the SVD of the triangle. */
static double dense_flops(hrf_solver s, double m, double n) {
    return 2.0 * m * n * n - 2.0 * n * n * n / 3.0 + (s == HRF_SOLVER_SVD ? 11.0 * n * n * n : 0.0);
}

/* Dense solve of the full matrix A (use_reduce = 0) or of the problem's
 * orthogonally equivalent reduced matrix (use_reduce = 1). */
static int solve_dense(const hrf_lsq_problem *prob, const hrf_lstsq_params *p, hrf_solver s,
                       int use_reduce, int equilibrate, double *theta, hrf_lstsq_report *rep) {
    size_t m = prob->rows, n = prob->cols;
    int rc;
    double *A = NULL, *b = NULL;
    if (use_reduce) {
        size_t mr = 0;
        double *ur = NULL;
        double need = prob->reduce_bytes + prob->extra_bytes;
        double limit = p->mem_limit ? (double)p->mem_limit : (double)hrf_mem_available();
        if (limit > 0.0 && need > limit)
            return hrf_error(HRF_ETOOBIG, "the reduced %s solve of a %zu x %zu problem needs about "
                             "%.3g GiB, but only %.3g GiB are available", hrf_solver_name(s), m, n,
                             need / 1073741824.0, limit / 1073741824.0);
        if ((rc = prob->reduce(prob->ctx, &mr, &A, &ur))) return rc;
        size_t mb = mr > n ? mr : n;
        b = calloc(mb, sizeof *b);
        if (!b) {
            free(A), free(ur);
            return hrf_error(HRF_ENOMEM, "out of memory");
        }
        memcpy(b, ur, mr * sizeof *b);
        free(ur);
        m = mr;
        rep->flops += prob->reduce_flops;
    } else {
        rc = check_memory(p, s, prob);
        if (rc) return rc;
        if (m > (size_t)INT32_MAX || n > (size_t)INT32_MAX)
            return hrf_error(HRF_ETOOBIG, "%zu x %zu exceeds LAPACK's 32-bit dimensions", m, n);
        size_t mb = m > n ? m : n;
        A = malloc(m * n * sizeof *A), b = calloc(mb, sizeof *b);
        double *u = malloc(m * sizeof *u);
        if (!A || !b || !u) {
            free(A), free(b), free(u);
            return hrf_error(HRF_ENOMEM, "out of memory for the dense %zu x %zu matrix (%.3g GiB)",
                             m, n, 8.0 * (double)m * (double)n / 1073741824.0);
        }
        rc = prob->assemble(prob->ctx, A, u);
        memcpy(b, u, m * sizeof *b);
        free(u);
        if (rc) goto done;
    }
    int rank = 0;
    double *cs = NULL;
    if (equilibrate) {
        /* Unit column norms, so that rcond measures singular values of the
         * scale-free matrix (a column's scale is arbitrary: a SWIM neuron from
         * a close pair has a large weight). θ is scaled back below. */
        cs = malloc(n * sizeof *cs);
        if (!cs) {
            rc = hrf_error(HRF_ENOMEM, "out of memory");
            goto done;
        }
        for (size_t j = 0; j < n; j++) {
            double c = cblas_dnrm2((int)m, A + j * m, 1);
            cs[j] = c > 0.0 && isfinite(c) ? 1.0 / c : 1.0;
            cblas_dscal((int)m, cs[j], A + j * m, 1);
        }
    }
    rc = dense_lapack(s, m, n, A, b, p->rcond, &rank);
    if (rc) {
        free(cs);
        goto done;
    }
    memcpy(theta, b, n * sizeof *theta);
    if (cs) {
        for (size_t j = 0; j < n; j++) theta[j] *= cs[j];
        free(cs);
    }
    rep->rank = rank;
    rep->flops += dense_flops(s, (double)m, (double)n);
done:
    free(A), free(b);
    return rc;
}

/* ---- normal equations + preconditioned LSQR ---- */
typedef struct {
    const hrf_lsq_problem *prob;
    const double *R;   /* n x n upper Cholesky factor, column-major */
    const double *s;   /* column scaling */
    double *tmp;       /* n */
} precond_op;

/* y = A S R⁻¹ v */
static int op_apply(precond_op *op, const double *v, double *y) {
    size_t n = op->prob->cols;
    memcpy(op->tmp, v, n * sizeof *v);
    cblas_dtrsv(CblasColMajor, CblasUpper, CblasNoTrans, CblasNonUnit, (int)n, op->R, (int)n,
                op->tmp, 1);
    for (size_t j = 0; j < n; j++) op->tmp[j] *= op->s[j];
    return op->prob->apply(op->prob->ctx, op->tmp, y);
}

/* v = R⁻ᵀ S Aᵀ y */
static int op_apply_t(precond_op *op, const double *y, double *v) {
    size_t n = op->prob->cols;
    int rc = op->prob->apply_t(op->prob->ctx, y, v);
    if (rc) return rc;
    for (size_t j = 0; j < n; j++) v[j] *= op->s[j];
    cblas_dtrsv(CblasColMajor, CblasUpper, CblasTrans, CblasNonUnit, (int)n, op->R, (int)n, v, 1);
    return HRF_OK;
}

/* LSQR (Paige & Saunders 1982) on min ‖r0 − B y‖, B = A S R⁻¹; adds S R⁻¹ y to
 * theta. Returns the iteration count in *iters. */
#define LSQR_WINDOW 10
static int lsqr_refine(const hrf_lsq_problem *prob, precond_op *op, const double *r0, int maxit,
                       double tol, double stall_tol, int probe, double *theta, int *iters,
                       int *converged) {
    double hist[LSQR_WINDOW] = {0};
    size_t m = prob->rows, n = prob->cols;
    double *u = malloc(m * sizeof *u), *v = malloc(n * sizeof *v), *w = malloc(n * sizeof *w);
    double *x = calloc(n, sizeof *x), *t = malloc(n * sizeof *t);
    int rc = HRF_OK;
    *iters = 0;
    *converged = 1;
    if (!u || !v || !w || !x || !t) {
        rc = hrf_error(HRF_ENOMEM, "out of memory for LSQR vectors");
        goto done;
    }
    memcpy(u, r0, m * sizeof *u);
    double beta = norm2(m, u);
    if (beta == 0.0) goto done;
    cblas_dscal((int)m, 1.0 / beta, u, 1);
    if ((rc = op_apply_t(op, u, v))) goto done;
    double alpha = norm2(n, v);
    if (alpha == 0.0) goto done;
    cblas_dscal((int)n, 1.0 / alpha, v, 1);
    memcpy(w, v, n * sizeof *w);
    double phibar = beta, rhobar = alpha, bnorm2 = alpha * alpha, hist0 = beta, prev_phibar = beta;
    double *Bv = malloc(m * sizeof *Bv), *tu = malloc(n * sizeof *tu), *z = malloc(n * sizeof *z);
    if (!Bv || !tu || !z) {
        free(Bv), free(tu), free(z);
        rc = hrf_error(HRF_ENOMEM, "out of memory in LSQR");
        goto done;
    }
    /* tu = Bᵀu for the current u (used by the fused one-pass variant). */
    for (size_t j = 0; j < n; j++) tu[j] = alpha * v[j];
    for (int it = 1; it <= maxit; it++) {
        /* β u = B v − α u */
        if (prob->apply_normal) {
            /* One pass over A gives Bv and Aᵀ(Bv); by linearity
             * Bᵀu_new = (R⁻ᵀ S Aᵀ(Bv) − α Bᵀu_old)/β. */
            memcpy(op->tmp, v, n * sizeof *v);
            cblas_dtrsv(CblasColMajor, CblasUpper, CblasNoTrans, CblasNonUnit, (int)n, op->R,
                        (int)n, op->tmp, 1);
            for (size_t j = 0; j < n; j++) op->tmp[j] *= op->s[j];
            if ((rc = prob->apply_normal(prob->ctx, op->tmp, Bv, z))) break;
            for (size_t j = 0; j < n; j++) z[j] *= op->s[j];
            cblas_dtrsv(CblasColMajor, CblasUpper, CblasTrans, CblasNonUnit, (int)n, op->R,
                        (int)n, z, 1);
        } else if ((rc = op_apply(op, v, Bv))) {
            break;
        }
        for (size_t i = 0; i < m; i++) u[i] = Bv[i] - alpha * u[i];
        beta = norm2(m, u);
        if (beta > 0.0) cblas_dscal((int)m, 1.0 / beta, u, 1);
        /* α v = Bᵀ u − β v */
        if (prob->apply_normal) {
            for (size_t j = 0; j < n; j++) t[j] = beta > 0.0 ? (z[j] - alpha * tu[j]) / beta : 0.0;
            memcpy(tu, t, n * sizeof *t);
        } else if ((rc = op_apply_t(op, u, t))) {
            break;
        }
        for (size_t j = 0; j < n; j++) v[j] = t[j] - beta * v[j];
        alpha = norm2(n, v);
        if (alpha > 0.0) cblas_dscal((int)n, 1.0 / alpha, v, 1);
        bnorm2 += alpha * alpha + beta * beta;
        double rho = hypot(rhobar, beta);
        double c = rhobar / rho, s = beta / rho;
        double theta_next = s * alpha;
        rhobar = -c * alpha;
        double phi = c * phibar;
        prev_phibar = phibar;
        phibar = s * phibar;
        for (size_t j = 0; j < n; j++) {
            x[j] += (phi / rho) * w[j];
            w[j] = v[j] - (theta_next / rho) * w[j];
        }
        *iters = it;
        if (getenv("HAMRF_DEBUG"))
            fprintf(stderr, "[hamrf debug] lsqr %d: t %.3f |r| %.6e  |B'r|/(|B||r|) %.3e\n", it,
                    now_seconds(), phibar,
                    phibar * alpha * fabs(c) / (sqrt(bnorm2) * phibar));
        /* ‖Bᵀr‖ ≈ φ̄ α |c|; stop when small relative to ‖B‖‖r‖. */
        double arnorm = phibar * alpha * fabs(c);
        if (phibar == 0.0 || arnorm <= tol * sqrt(bnorm2) * phibar) break;
        /* Stagnation: the residual fell by less than a fraction `stall_tol`
         * over the last `window` iterations; further iterations would only
         * move it in the digits that do not change the fit. */
        double old = hist[it % LSQR_WINDOW]; /* ‖r‖ of iteration it − LSQR_WINDOW */
        hist[it % LSQR_WINDOW] = phibar;
        if (it > LSQR_WINDOW && phibar >= (1.0 - stall_tol) * old) break;
        if (it == maxit) *converged = 0;
        /* Probe (auto): a residual that halved within `probe` iterations, or
         * still falls by more than 2% per iteration, shows the Gram solution
         * is far from the least-squares optimum (measured: 5-10% per
         * iteration where the QR route is 10-50x more accurate, 0.3-0.5% where
         * it is within 1.3x; docs/math.md). */
        if (probe > 0 && it == probe &&
            (phibar < 0.5 * hist0 || phibar < (1.0 - 0.02) * prev_phibar)) {
            *converged = -1;
            break;
        }
        if (!isfinite(phibar)) {
            rc = hrf_error(HRF_ENUMERIC, "LSQR diverged (non-finite residual)");
            break;
        }
    }
    free(Bv), free(tu), free(z);
    if (rc) goto done;
    /* theta += S R⁻¹ x */
    cblas_dtrsv(CblasColMajor, CblasUpper, CblasNoTrans, CblasNonUnit, (int)n, op->R, (int)n, x, 1);
    for (size_t j = 0; j < n; j++) theta[j] += op->s[j] * x[j];
done:
    free(u), free(v), free(w), free(x), free(t);
    return rc;
}

/* PCG on the equilibrated normal equations (S G S) y = S r, preconditioned by
 * the ridged Cholesky factor C, starting from theta = S y0. Removes the bias
 * of the ridge at O(n²) per iteration, to the accuracy the Gram matrix itself
 * carries. Stops when the residual stops decreasing. Returns iterations. */
static int gram_pcg(size_t n, const double *G, const double *C, const double *s, const double *r,
                    int maxit, double *theta) {
    double *y = malloc(n * sizeof *y), *res = malloc(n * sizeof *res), *z = malloc(n * sizeof *z);
    double *pv = malloc(n * sizeof *pv), *q = malloc(n * sizeof *q), *best = malloc(n * sizeof *best);
    int it = 0;
    if (!y || !res || !z || !pv || !q || !best) goto done;
    for (size_t j = 0; j < n; j++) y[j] = theta[j] / s[j];
    /* res = S r − S G S y */
    for (size_t j = 0; j < n; j++) z[j] = s[j] * y[j];
    cblas_dsymv(CblasColMajor, CblasUpper, (int)n, 1.0, G, (int)n, z, 1, 0.0, q, 1);
    for (size_t j = 0; j < n; j++) res[j] = s[j] * (r[j] - q[j]);
    double rnorm0 = norm2(n, res), best_norm = rnorm0;
    memcpy(best, y, n * sizeof *y);
    memcpy(z, res, n * sizeof *z);
    cblas_dtrsv(CblasColMajor, CblasUpper, CblasTrans, CblasNonUnit, (int)n, C, (int)n, z, 1);
    cblas_dtrsv(CblasColMajor, CblasUpper, CblasNoTrans, CblasNonUnit, (int)n, C, (int)n, z, 1);
    memcpy(pv, z, n * sizeof *z);
    double rz = cblas_ddot((int)n, res, 1, z, 1);
    int stall = 0;
    for (it = 1; it <= maxit; it++) {
        for (size_t j = 0; j < n; j++) z[j] = s[j] * pv[j];
        cblas_dsymv(CblasColMajor, CblasUpper, (int)n, 1.0, G, (int)n, z, 1, 0.0, q, 1);
        for (size_t j = 0; j < n; j++) q[j] *= s[j];
        double pq = cblas_ddot((int)n, pv, 1, q, 1);
        if (!(pq > 0.0) || !(rz > 0.0)) break;
        double alpha = rz / pq;
        cblas_daxpy((int)n, alpha, pv, 1, y, 1);
        cblas_daxpy((int)n, -alpha, q, 1, res, 1);
        double rn = norm2(n, res);
        if (rn < best_norm) {
            best_norm = rn;
            memcpy(best, y, n * sizeof *y);
            stall = 0;
        } else if (++stall >= 5) {
            break;
        }
        if (rn <= 1e-15 * rnorm0) break;
        memcpy(z, res, n * sizeof *z);
        cblas_dtrsv(CblasColMajor, CblasUpper, CblasTrans, CblasNonUnit, (int)n, C, (int)n, z, 1);
        cblas_dtrsv(CblasColMajor, CblasUpper, CblasNoTrans, CblasNonUnit, (int)n, C, (int)n, z, 1);
        double rz_new = cblas_ddot((int)n, res, 1, z, 1);
        double beta = rz_new / rz;
        rz = rz_new;
        for (size_t j = 0; j < n; j++) pv[j] = z[j] + beta * pv[j];
    }
    if (getenv("HAMRF_DEBUG"))
        fprintf(stderr, "[hamrf debug] gram pcg: %d iterations, residual %.3e -> %.3e\n", it,
                rnorm0, best_norm);
    for (size_t j = 0; j < n; j++) theta[j] = s[j] * best[j];
done:
    free(y), free(res), free(z), free(pv), free(q), free(best);
    return it;
}

static int solve_normal(const hrf_lsq_problem *prob, const hrf_lstsq_params *p, int maxit,
                        int probe, double *theta, hrf_lstsq_report *rep) {
    size_t n = prob->cols, m = prob->rows;
    int rc = check_memory(p, HRF_SOLVER_NORMAL, prob);
    if (rc) return rc;
    double *G = malloc(n * n * sizeof *G), *C = malloc(n * n * sizeof *C);
    double *r = malloc(n * sizeof *r), *s = malloc(n * sizeof *s), *tmp = malloc(n * sizeof *tmp);
    double *res = NULL;
    double utu = 0.0;
    if (!G || !C || !r || !s || !tmp) {
        rc = hrf_error(HRF_ENOMEM, "out of memory for the %zu x %zu Gram matrix", n, n);
        goto done;
    }
    double tg = now_seconds();
    if ((rc = prob->gram(prob->ctx, G, r, &utu))) goto done;
    if (getenv("HAMRF_DEBUG"))
        fprintf(stderr, "[hamrf debug] gram %.3f s (%.1f GFLOP/s)\n", now_seconds() - tg,
                prob->gram_flops / (now_seconds() - tg) / 1e9);
    tg = now_seconds();
    rep->flops = prob->gram_flops + (double)n * n * n / 3.0;
    /* Equilibrate: S G S has unit diagonal (zero columns keep scale 1). */
    for (size_t j = 0; j < n; j++) {
        double d = G[j + j * n];
        if (!isfinite(d)) {
            rc = hrf_error(HRF_ENUMERIC, "Gram matrix has a non-finite diagonal entry (column %zu)", j);
            goto done;
        }
        s[j] = d > 0.0 ? 1.0 / sqrt(d) : 1.0;
    }
    /* Cholesky of S G S + λ I; λ grows tenfold until it factorises. */
    double lambda = p->ridge;
    for (int attempt = 0;; attempt++) {
        for (size_t j = 0; j < n; j++) {
            for (size_t i = 0; i <= j; i++) C[i + j * n] = s[i] * G[i + j * n] * s[j];
            C[j + j * n] += lambda;
        }
        lapack_int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', (lapack_int)n, C, (lapack_int)n);
        if (info == 0) break;
        if (info < 0 || attempt >= 12) {
            rc = hrf_error(HRF_ENUMERIC, "Cholesky factorisation failed even with ridge %.3g "
                           "(info %d)", lambda, (int)info);
            goto done;
        }
        lambda = lambda > 0.0 ? lambda * 10.0 : 1e-15;
    }
    rep->ridge_used = lambda;
    if (getenv("HAMRF_DEBUG"))
        fprintf(stderr, "[hamrf debug] cholesky %.3f s\n", now_seconds() - tg);
    if (lambda != p->ridge) {
        size_t len = strlen(rep->reason);
        snprintf(rep->reason + len, sizeof rep->reason - len,
                 "%sridge raised from %.3g to %.3g so the Gram matrix factorises", len ? "; " : "",
                 p->ridge, lambda);
    }
    for (size_t j = 0; j < n; j++) tmp[j] = s[j] * r[j];
    cblas_dtrsv(CblasColMajor, CblasUpper, CblasTrans, CblasNonUnit, (int)n, C, (int)n, tmp, 1);
    cblas_dtrsv(CblasColMajor, CblasUpper, CblasNoTrans, CblasNonUnit, (int)n, C, (int)n, tmp, 1);
    for (size_t j = 0; j < n; j++) theta[j] = s[j] * tmp[j];
    rep->iterations = 0;
    if (p->gram_refine_max > 0) {
        rep->gram_iterations = gram_pcg(n, G, C, s, r, p->gram_refine_max, theta);
        rep->flops += 2.0 * rep->gram_iterations * 2.0 * (double)n * n;
    }
    rep->converged = 1;
    if (maxit > 0) {
        /* r0 = u − A θ, then LSQR on the correction. */
        res = malloc(m * sizeof *res);
        if (!res) {
            rc = hrf_error(HRF_ENOMEM, "out of memory for a residual of %zu rows", m);
            goto done;
        }
        if ((rc = prob->apply(prob->ctx, theta, res))) goto done;
        for (size_t i = 0; i < m; i++) res[i] = prob->u[i] - res[i];
        precond_op op = {prob, C, s, tmp};
        if ((rc = lsqr_refine(prob, &op, res, maxit, p->refine_tol, p->refine_stall, probe, theta,
                              &rep->iterations,
                              &rep->converged)))
            goto done;
        rep->flops += 2.0 * rep->iterations * (prob->apply_flops + (double)n * n);
    }
done:
    free(G), free(C), free(r), free(s), free(tmp), free(res);
    return rc;
}

int hrf_lstsq_solve(const hrf_lsq_problem *prob, const hrf_lstsq_params *p, double *theta,
                    hrf_lstsq_report *rep) {
    hrf_lstsq_report local;
    if (!rep) rep = &local;
    memset(rep, 0, sizeof *rep);
    rep->rank = -1;
    const char *msg = hrf_lstsq_params_check(p);
    if (msg) return hrf_error(HRF_EINVAL, "%s", msg);
    if (prob->rows == 0 || prob->cols == 0)
        return hrf_error(HRF_EINVAL, "empty least-squares problem (%zu x %zu)", prob->rows,
                         prob->cols);
    for (size_t i = 0; i < prob->rows; i++)
        if (!isfinite(prob->u[i]))
            return hrf_error(HRF_ENUMERIC, "least-squares right-hand side has a non-finite entry "
                             "(row %zu)", i);
    hrf_solver s = p->solver;
    double t0 = now_seconds();
    double dense = (double)prob->rows * (double)prob->cols;
    int rc;
    if (s != HRF_SOLVER_AUTO) {
        rep->used = s;
        rc = s == HRF_SOLVER_NORMAL ? solve_normal(prob, p, p->refine_max, 0, theta, rep)
                                    : solve_dense(prob, p, s, p->use_reduce && prob->reduce,
                                                  p->equilibrate, theta, rep);
    } else {
        /* auto: (1) small problems: column-pivoted QR of the equilibrated
         * reduced matrix (or of A if the problem offers no reduction).
         * (2) otherwise the Gram route, whose LSQR refinement measures whether
         * squaring the condition number costs accuracy: if the probe after
         * auto_probe iterations shows the Gram solution far from the optimum
         * and the reduced problem fits in memory, solve that with the QR;
         * else LSQR runs to its stopping test or auto_refine_max. */
        double limit = p->mem_limit ? (double)p->mem_limit : (double)hrf_mem_available();
        int can_reduce = prob->reduce != NULL;
        if (can_reduce && limit > 0.0) {
            double need = prob->reduce_bytes + prob->extra_bytes +
                          8.0 * 4.0 * (double)prob->cols; /* dgelsy workspace; A_r is in reduce_bytes */
            can_reduce = need <= limit;
        }
        /* Direct route cost: the reduction plus the QR of the reduced matrix. */
        double direct = can_reduce ? prob->reduce_flops + dense_flops(HRF_SOLVER_QR,
                                                                       (double)prob->reduce_rows,
                                                                       (double)prob->cols)
                                   : dense_flops(HRF_SOLVER_QR, (double)prob->rows,
                                                 (double)prob->cols);
        if (dense <= (double)p->auto_dense_max || (can_reduce && direct <= p->auto_direct_flops)) {
            rep->used = HRF_SOLVER_QR;
            snprintf(rep->reason, sizeof rep->reason,
                     "auto: small problem (%zu x %zu, direct route %.3g GFLOP): column-pivoted QR "
                     "of the equilibrated %s matrix", prob->rows, prob->cols, direct / 1e9,
                     can_reduce ? "reduced" : "dense");
            rc = solve_dense(prob, p, HRF_SOLVER_QR, can_reduce, 1, theta, rep);
        } else {
            rep->used = HRF_SOLVER_NORMAL;
            int maxit = p->auto_refine_max < p->refine_max ? p->auto_refine_max : p->refine_max;
            rc = solve_normal(prob, p, maxit, can_reduce ? p->auto_probe : 0, theta, rep);
            if (rc == HRF_OK && (rep->converged >= 0 || !can_reduce)) {
                snprintf(rep->reason, sizeof rep->reason,
                         "auto: %zu x %zu problem: streamed Gram + Cholesky + LSQR (%d iterations, "
                         "%s)", prob->rows, prob->cols, rep->iterations,
                         rep->converged ? "converged" : "at its limit");
            } else if (can_reduce) {
                snprintf(rep->reason, sizeof rep->reason,
                         "auto: %zu x %zu problem: LSQR on the Gram factor %s after %d "
                         "iterations, so the Gram route is limited by the squared condition "
                         "number: switched to the column-pivoted QR of the equilibrated reduced "
                         "matrix",
                         prob->rows, prob->cols,
                         rc ? "failed" : "showed the Gram solution far from the optimum",
                         rep->iterations);
                rep->used = HRF_SOLVER_QR;
                rc = solve_dense(prob, p, HRF_SOLVER_QR, 1, 1, theta, rep); /* adds its flops */
            } else if (rc == HRF_OK) {
                snprintf(rep->reason, sizeof rep->reason,
                         "auto: %zu x %zu problem: streamed Gram + Cholesky; LSQR stopped at "
                         "its limit of %d iterations (no dense alternative fits in memory)",
                         prob->rows, prob->cols, rep->iterations);
            }
        }
    }
    if (rc) return rc;
    for (size_t j = 0; j < prob->cols; j++)
        if (!isfinite(theta[j]))
            return hrf_error(HRF_ENUMERIC, "the %s solver produced a non-finite coefficient "
                             "(column %zu)", hrf_solver_name(rep->used), j);
    rep->seconds = now_seconds() - t0;
    if (p->skip_residual) {
        rep->rel_residual = NAN;
        return HRF_OK;
    }
    double rn = 0.0;
    if ((rc = residual_norm(prob, theta, prob->u, &rn))) return rc;
    double un = norm2(prob->rows, prob->u);
    rep->rel_residual = un > 0.0 ? rn / un : rn;
    return HRF_OK;
}

/* ---- dense problem wrapper ---- */
static int dense_assemble(void *ctx, double *A, double *u) {
    hrf_lsq_dense_ctx *c = ctx;
    memcpy(A, c->A, c->rows * c->cols * sizeof *A);
    memcpy(u, c->u, c->rows * sizeof *u);
    return HRF_OK;
}

static int dense_gram(void *ctx, double *G, double *Atu, double *utu) {
    hrf_lsq_dense_ctx *c = ctx;
    int m = (int)c->rows, n = (int)c->cols;
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, n, m, 1.0, c->A, m, 0.0, G, n);
    cblas_dgemv(CblasColMajor, CblasTrans, m, n, 1.0, c->A, m, c->u, 1, 0.0, Atu, 1);
    *utu = cblas_ddot(m, c->u, 1, c->u, 1);
    return HRF_OK;
}

static int dense_apply(void *ctx, const double *v, double *y) {
    hrf_lsq_dense_ctx *c = ctx;
    cblas_dgemv(CblasColMajor, CblasNoTrans, (int)c->rows, (int)c->cols, 1.0, c->A, (int)c->rows,
                v, 1, 0.0, y, 1);
    return HRF_OK;
}

static int dense_apply_t(void *ctx, const double *y, double *v) {
    hrf_lsq_dense_ctx *c = ctx;
    cblas_dgemv(CblasColMajor, CblasTrans, (int)c->rows, (int)c->cols, 1.0, c->A, (int)c->rows, y,
                1, 0.0, v, 1);
    return HRF_OK;
}

void hrf_lsq_dense_problem(hrf_lsq_problem *prob, hrf_lsq_dense_ctx *ctx, size_t rows, size_t cols,
                           const double *A, const double *u) {
    ctx->rows = rows, ctx->cols = cols, ctx->A = A, ctx->u = u;
    memset(prob, 0, sizeof *prob);
    prob->rows = rows, prob->cols = cols, prob->ctx = ctx, prob->u = u;
    prob->assemble = dense_assemble, prob->gram = dense_gram;
    prob->apply = dense_apply, prob->apply_t = dense_apply_t;
    prob->gram_flops = (double)rows * (double)cols * (double)(cols + 1);
    prob->apply_flops = 2.0 * (double)rows * (double)cols;
}
