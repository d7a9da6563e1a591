/* Least-squares solvers (docs/math.md §4): svd (dgelsd), qr (dgelsy), normal
 * (equilibrated, ridged Cholesky of the Gram matrix + preconditioned LSQR)
 * and the auto policy, for one or several right-hand sides (nrhs). */
#include "core/sysinfo.h"
#include "hamrf/lstsq.h"
#include "hamrf/status.h"
#include "linalg/lstsq_impl.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *hrf_solver_name(hrf_solver s) {
    switch (s) {
    case HRF_SOLVER_AUTO:
        return "auto";
    case HRF_SOLVER_SVD:
        return "svd";
    case HRF_SOLVER_QR:
        return "qr";
    case HRF_SOLVER_NORMAL:
        return "normal";
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

/* Right-hand sides of a problem: 0 and 1 both mean one. */
size_t lsq_nrhs_of(const hrf_lsq_problem *prob) {
    return prob->nrhs > 1 ? prob->nrhs : 1;
}

double hrf_lstsq_memory_estimate_nrhs(hrf_solver s, size_t rows, size_t cols, size_t nrhs) {
    double m = (double)rows, n = (double)cols, r = nrhs > 1 ? (double)nrhs : 1.0;
    switch (s) {
    /* A, U's working copy and the solution block (2m per column), LAPACK's work. */
    case HRF_SOLVER_SVD:
        return 8.0 * (m * n + 2.0 * m * r + n * n + (39.0 + r) * n);
    case HRF_SOLVER_QR:
        return 8.0 * (m * n + 2.0 * m * r + (3.0 + r) * n);
    /* G and its factor, 10 cols-long vectors per column; with several columns
     * also LSQR's two rows-long vectors per column (for one column they are
     * left to the problem's margin, as they always were). */
    case HRF_SOLVER_NORMAL:
        return 8.0 * (2.0 * n * n + 10.0 * n * r + (r > 1.0 ? 2.0 * m * r : 0.0));
    case HRF_SOLVER_AUTO:
        break;
    }
    return 0.0;
}

double hrf_lstsq_memory_estimate(hrf_solver s, size_t rows, size_t cols) {
    return hrf_lstsq_memory_estimate_nrhs(s, rows, cols, 1);
}

int lsq_check_memory(const hrf_lstsq_params *p, hrf_solver s, const hrf_lsq_problem *prob) {
    double need = hrf_lstsq_memory_estimate_nrhs(s, prob->rows, prob->cols, lsq_nrhs_of(prob)) +
                  prob->extra_bytes;
    double limit = p->mem_limit ? (double)p->mem_limit : (double)hrf_mem_available_blas();
    if (limit > 0.0 && need > limit)
        return hrf_error(
            HRF_ETOOBIG,
            "the %s solver for a %zu x %zu least-squares problem needs about %.3g GiB, "
            "but only %.3g GiB are available (try %sa smaller width or fewer points)",
            hrf_solver_name(s), prob->rows, prob->cols, need / 1073741824.0, limit / 1073741824.0,
            s == HRF_SOLVER_NORMAL ? "" : "--solver normal, ");
    return HRF_OK;
}

double lsq_norm2(size_t n, const double *x) {
    return cblas_dnrm2((int)n, x, 1);
}

double lsq_rows_norm2(const hrf_lsq_problem *prob, size_t n, const double *x, int *rc) {
    double v = cblas_dnrm2((int)n, x, 1);
    if (!hrf_comm_active(prob->comm)) return v;
    v *= v;
    int r = hrf_comm_sum(prob->comm, &v, 1);
    if (r) *rc = r;
    return sqrt(v);
}

/* Y = A V for k columns (V cols x k, Y rows x k): one pass with the
 * problem's block product when it has one and k > 1, else apply per column. */
int lsq_apply_cols(const hrf_lsq_problem *prob, size_t k, const double *V, double *Y) {
    if (k > 1 && prob->apply_block) return prob->apply_block(prob->ctx, k, V, Y);
    for (size_t c = 0; c < k; c++) {
        int rc = prob->apply(prob->ctx, V + c * prob->cols, Y + c * prob->rows);
        if (rc) return rc;
    }
    return HRF_OK;
}

/* ‖A Θ − U‖ (Frobenius over the nrhs columns) via the problem's products. */
int lsq_residual_norm(const hrf_lsq_problem *prob, const double *theta, const double *u,
                      double *out) {
    size_t m = prob->rows, k = lsq_nrhs_of(prob);
    double *y = malloc(m * k * sizeof *y);
    if (!y) return hrf_error(HRF_ENOMEM, "out of memory for a residual of %zu rows", m * k);
    int rc = lsq_apply_cols(prob, k, theta, y);
    if (rc == HRF_OK) {
        for (size_t i = 0; i < m * k; i++)
            y[i] -= u[i];
        if (k == 1) {
            *out = lsq_rows_norm2(prob, m, y, &rc);
        } else {
            double f = 0.0;
            for (size_t c = 0; c < k; c++)
                f = hypot(f, lsq_rows_norm2(prob, m, y + c * m, &rc));
            *out = f;
        }
    }
    free(y);
    return rc;
}

/* nrhs > 1: refuses, before U is read or anything allocated, a number of
 * right-hand sides whose working copies (U and Θ, 8(rows + cols) bytes per
 * column, which every solver holds) exceed the address space or the memory
 * limit. */
static int check_nrhs(const hrf_lsq_problem *prob, const hrf_lstsq_params *p) {
    size_t k = prob->nrhs, m = prob->rows, n = prob->cols;
    double need = 8.0 * ((double)m + (double)n) * (double)k;
    if (k > SIZE_MAX / 8 / m || k > SIZE_MAX / 8 / n || k > (size_t)INT32_MAX)
        return hrf_error(HRF_ETOOBIG,
                         "%zu right-hand sides of a %zu x %zu least-squares problem "
                         "are beyond what can be addressed (about %.3g GiB)",
                         k, m, n, need / 1073741824.0);
    double limit = p->mem_limit ? (double)p->mem_limit : (double)hrf_mem_available_blas();
    if (limit > 0.0 && need > limit)
        return hrf_error(HRF_ETOOBIG,
                         "%zu right-hand sides of a %zu x %zu least-squares problem "
                         "need about %.3g GiB for their working copies alone, but only %.3g GiB "
                         "are available",
                         k, m, n, need / 1073741824.0, limit / 1073741824.0);
    return HRF_OK;
}

int hrf_lstsq_solve(const hrf_lsq_problem *prob, const hrf_lstsq_params *p, double *theta,
                    hrf_lstsq_report *rep) {
    hrf_lstsq_report local;
    if (!rep) rep = &local;
    memset(rep, 0, sizeof *rep);
    rep->rank = -1;
    const char *msg = hrf_lstsq_params_check(p);
    if (msg) return hrf_error(HRF_EINVAL, "%s", msg);
    int rc;
    if (prob->rows == 0 || prob->cols == 0)
        return hrf_error(HRF_EINVAL, "empty least-squares problem (%zu x %zu)", prob->rows,
                         prob->cols);
    size_t k = lsq_nrhs_of(prob);
    if (k > 1 && (rc = check_nrhs(prob, p))) return rc;
    for (size_t i = 0; i < prob->rows * k; i++)
        if (!isfinite(prob->u[i])) {
            if (k == 1)
                return hrf_error(HRF_ENUMERIC,
                                 "least-squares right-hand side has a non-finite "
                                 "entry (row %zu)",
                                 i);
            return hrf_error(HRF_ENUMERIC,
                             "least-squares right-hand side %zu has a non-finite "
                             "entry (row %zu)",
                             i / prob->rows, i % prob->rows);
        }
    hrf_solver s = p->solver;
    double t0 = hrf_now();
    double dense = (double)prob->rows * (double)prob->cols;
    /* Distributed rows: the auto policy sees the global problem (its rows and
     * the reduction's cost summed over the ranks, the reduction offered only
     * where every rank offers it), so every rank, and every rank count,
     * chooses alike. */
    double reduce_flops = prob->reduce_flops;
    int all_reduce = prob->reduce != NULL;
    if (hrf_comm_active(prob->comm)) {
        double g[3] = {(double)(prob->rows - prob->pad_rows), prob->reduce_flops,
                       prob->reduce ? 0.0 : 1.0};
        if ((rc = hrf_comm_sum(prob->comm, g, 3))) return rc;
        dense = g[0] * (double)prob->cols;
        reduce_flops = g[1];
        all_reduce = g[2] == 0.0;
    }
    if (s != HRF_SOLVER_AUTO) {
        rep->used = s;
        rc = s == HRF_SOLVER_NORMAL ? lsq_solve_normal(prob, p, p->refine_max, 0, theta, rep)
                                    : lsq_solve_dense(prob, p, s, p->use_reduce && prob->reduce,
                                                      p->equilibrate, theta, rep);
    } else {
        /* auto: (1) small problems: column-pivoted QR of the equilibrated
         * reduced matrix (or of A if the problem offers no reduction).
         * (2) otherwise the Gram route, whose LSQR refinement measures whether
         * squaring the condition number costs accuracy: if the probe after
         * auto_probe iterations shows the Gram solution far from the optimum
         * and the reduced problem fits in memory, solve that with the QR;
         * else LSQR runs to its stopping test or auto_refine_max. */
        double limit = p->mem_limit ? (double)p->mem_limit : (double)hrf_mem_available_blas();
        int can_reduce = all_reduce;
        if (can_reduce && limit > 0.0) {
            double need =
                prob->reduce_bytes + prob->extra_bytes +
                8.0 * 4.0 * (double)prob->cols; /* dgelsy workspace; A_r is in reduce_bytes */
            if (k > 1)                          /* the right-hand sides and the solution block */
                need += 8.0 * ((double)prob->reduce_rows + (double)prob->cols) * (double)k;
            can_reduce = need <= limit;
        }
        if (hrf_comm_active(prob->comm)) { /* one rank short of memory: none reduces */
            double no = can_reduce ? 0.0 : 1.0;
            if ((rc = hrf_comm_max(prob->comm, &no, 1))) return rc;
            can_reduce = no == 0.0;
        }
        /* Direct route cost: the reduction plus the QR of the reduced matrix. */
        double direct =
            can_reduce ? reduce_flops + lsq_dense_flops(HRF_SOLVER_QR, (double)prob->reduce_rows,
                                                        (double)prob->cols)
                       : lsq_dense_flops(HRF_SOLVER_QR, (double)prob->rows, (double)prob->cols);
        if (dense <= (double)p->auto_dense_max || (can_reduce && direct <= p->auto_direct_flops)) {
            rep->used = HRF_SOLVER_QR;
            snprintf(rep->reason, sizeof rep->reason,
                     "auto: small problem (%zu x %zu, direct route %.3g GFLOP): column-pivoted QR "
                     "of the equilibrated %s matrix",
                     prob->rows, prob->cols, direct / 1e9, can_reduce ? "reduced" : "dense");
            rc = lsq_solve_dense(prob, p, HRF_SOLVER_QR, can_reduce, 1, theta, rep);
        } else {
            rep->used = HRF_SOLVER_NORMAL;
            int maxit = p->auto_refine_max < p->refine_max ? p->auto_refine_max : p->refine_max;
            rc = lsq_solve_normal(prob, p, maxit, can_reduce ? p->auto_probe : 0, theta, rep);
            if (rc == HRF_OK && maxit == 0) {
                /* Nothing measured the Gram solution's accuracy: say so. */
                snprintf(rep->reason, sizeof rep->reason,
                         "auto: %zu x %zu problem: streamed Gram + Cholesky; LSQR refinement and "
                         "its accuracy probe skipped (iteration limit 0)",
                         prob->rows, prob->cols);
            } else if (rc == HRF_OK && (rep->converged >= 0 || !can_reduce)) {
                snprintf(rep->reason, sizeof rep->reason,
                         "auto: %zu x %zu problem: streamed Gram + Cholesky + LSQR (%d iterations, "
                         "%s)",
                         prob->rows, prob->cols, rep->iterations,
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
                rc = lsq_solve_dense(prob, p, HRF_SOLVER_QR, 1, 1, theta, rep); /* adds its flops */
            } else if (rc == HRF_OK) {
                snprintf(rep->reason, sizeof rep->reason,
                         "auto: %zu x %zu problem: streamed Gram + Cholesky; LSQR stopped at "
                         "its limit of %d iterations (no dense alternative fits in memory)",
                         prob->rows, prob->cols, rep->iterations);
            }
        }
    }
    if (rc) return rc;
    for (size_t j = 0; j < prob->cols * k; j++)
        if (!isfinite(theta[j]))
            return hrf_error(HRF_ENUMERIC,
                             "the %s solver produced a non-finite coefficient "
                             "(column %zu): the problem's numbers overflow; rescale data "
                             "whose magnitudes are extreme",
                             hrf_solver_name(rep->used), j % prob->cols);
    rep->seconds = hrf_now() - t0;
    if (p->skip_residual) {
        rep->rel_residual = NAN;
        return HRF_OK;
    }
    double rn = 0.0;
    if ((rc = lsq_residual_norm(prob, theta, prob->u, &rn))) return rc;
    double un = 0.0;
    for (size_t c = 0; c < k; c++) {
        double uc = lsq_rows_norm2(prob, prob->rows, prob->u + c * prob->rows, &rc);
        un = k == 1 ? uc : hypot(un, uc);
    }
    if (rc) return rc;
    rep->rel_residual = un > 0.0 ? rn / un : rn;
    return HRF_OK;
}
