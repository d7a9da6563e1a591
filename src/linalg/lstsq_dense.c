/* The dense solvers svd (dgelsd) and qr (dgelsy) of hrf_lstsq_solve
 * (docs/math.md §4.4), and the dense problem wrapper hrf_lsq_dense_problem. */
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

/* ---- dense solvers ---- */
/* qr on a matrix with at least 3/2 times more rows than columns (the
 * HNN's reduced matrix has 2M + 1 rows for M + 1 columns in one degree of
 * freedom): Householder QR first, dgelsy on the triangle. */
#define QR_FIRST_NUM 3
#define QR_FIRST_DEN 2
/* dgelsd or dgelsy on A (m x n, column-major, overwritten) and b (ldb x
 * nrhs, ldb = max(m, n), holds U on entry and Θ in its first n rows on exit). */
static int dense_lapack(hrf_solver s, size_t m, size_t n, size_t nrhs, double *A, double *b,
                        double rcond, int *rank_out) {
    size_t mb = m > n ? m : n;
    for (size_t i = 0; i < m * n; i++)
        if (!isfinite(A[i]))
            return hrf_error(HRF_ENUMERIC,
                             "least-squares matrix has a non-finite entry (row %zu, "
                             "column %zu)",
                             i % m, i / m);
    lapack_int rank = 0, info;
    if (s == HRF_SOLVER_SVD) {
        double *sv = malloc((m < n ? m : n) * sizeof *sv);
        if (!sv) return hrf_error(HRF_ENOMEM, "out of memory for singular values");
        info = LAPACKE_dgelsd(LAPACK_COL_MAJOR, (lapack_int)m, (lapack_int)n, (lapack_int)nrhs, A,
                              (lapack_int)m, b, (lapack_int)mb, sv, rcond, &rank);
        free(sv);
    } else {
        lapack_int *jpvt = calloc(n, sizeof *jpvt);
        if (!jpvt) return hrf_error(HRF_ENOMEM, "out of memory for pivots");
        size_t ma = m;
        if (QR_FIRST_DEN * m >= QR_FIRST_NUM * n) {
            /* Tall: an unpivoted blocked QR first (level 3), then dgelsy on
             * its n x n triangle with Qᵀb (docs/math.md §4.4): orthogonally
             * equivalent, so the column norms, pivots and rank decision are
             * A's; measured 1.3x (4001 x 2001) and 2x (8001 x 2001) faster
             * than dgelsy's pivoted QR of A itself. */
            double *tau = malloc(n * sizeof *tau);
            if (!tau) {
                free(jpvt);
                return hrf_error(HRF_ENOMEM, "out of memory for the QR of a %zu x %zu matrix", m,
                                 n);
            }
            info = LAPACKE_dgeqrf(LAPACK_COL_MAJOR, (lapack_int)m, (lapack_int)n, A, (lapack_int)m,
                                  tau);
            if (info == 0)
                info = LAPACKE_dormqr(LAPACK_COL_MAJOR, 'L', 'T', (lapack_int)m, (lapack_int)nrhs,
                                      (lapack_int)n, A, (lapack_int)m, tau, b, (lapack_int)mb);
            free(tau);
            if (info != 0) {
                free(jpvt);
                return hrf_error(HRF_ENUMERIC, "LAPACK dgeqrf/dormqr failed (info %d)", (int)info);
            }
            /* the triangle, in place as an n x n matrix (ld n < m: each
             * column moves to lower addresses, columns taken in order) */
            for (size_t j = 0; j < n; j++) {
                memmove(A + j * n, A + j * m, (j + 1) * sizeof *A);
                memset(A + j * n + j + 1, 0, (n - j - 1) * sizeof *A);
            }
            ma = n;
        }
        info = LAPACKE_dgelsy(LAPACK_COL_MAJOR, (lapack_int)ma, (lapack_int)n, (lapack_int)nrhs, A,
                              (lapack_int)ma, b, (lapack_int)mb, jpvt, rcond, &rank);
        free(jpvt);
    }
    if (info != 0)
        return hrf_error(HRF_ENUMERIC, "LAPACK %s failed (info %d)",
                         s == HRF_SOLVER_SVD ? "dgelsd (SVD did not converge)" : "dgelsy",
                         (int)info);
    *rank_out = (int)rank;
    return HRF_OK;
}

/* Model flop count of dgelsd / dgelsy on m x n (m ≥ n): Householder QR
 * 2mn² − 2n³/3, plus about 11n³ for the SVD of the triangle; each right-hand
 * side beyond the first adds about 4mn (Qᵀ applied, back substitution). */
double lsq_dense_flops(hrf_solver s, double m, double n) {
    /* Householder QR of an m x n matrix costs 2 m n^2 - 2 n^3 / 3 for m >= n;
     * a wide matrix (more unknowns than equations) 2 n m^2 - 2 m^3 / 3 (the
     * first formula would go negative). */
    double lo = m < n ? m : n, hi = m < n ? n : m;
    return 2.0 * hi * lo * lo - 2.0 * lo * lo * lo / 3.0 +
           (s == HRF_SOLVER_SVD ? 11.0 * lo * lo * lo : 0.0);
}

/* U (m x k, ld m) into the first m rows of b (ld mb). */
static void copy_rhs(size_t m, size_t k, const double *U, size_t mb, double *b) {
    for (size_t c = 0; c < k; c++)
        memcpy(b + c * mb, U + c * m, m * sizeof *b);
}

/* Distributed rows (docs/mpi.md): this rank's A (m x n, ld m) and B (m x k,
 * ld mb) are replaced by the stack over all ranks of their QR factors:
 * rank r's triangle R_r (n x n; A itself, zero-padded, when m < n) and
 * Q_rᵀB_r occupy rows [r·n, (r+1)·n) of the new A (P·n x n) and B. The
 * stack has the singular values of the global matrix and the same
 * least-squares solution (a one-level TSQR); one reduction of P·n·(n + k)
 * numbers, exact because each entry has one contributing rank. */
static int tsqr_stack(const hrf_comm *comm, size_t *m_io, size_t n, size_t k, double **A_io,
                      double **b_io, size_t *mb_io) {
    size_t m = *m_io, mb = *mb_io, P = (size_t)comm->size, ms = P * n;
    double *A = *A_io, *b = *b_io;
    if (m > n) {
        double *tau = malloc(n * sizeof *tau);
        if (!tau) return hrf_error(HRF_ENOMEM, "out of memory");
        lapack_int info =
            LAPACKE_dgeqrf(LAPACK_COL_MAJOR, (lapack_int)m, (lapack_int)n, A, (lapack_int)m, tau);
        if (info == 0)
            info = LAPACKE_dormqr(LAPACK_COL_MAJOR, 'L', 'T', (lapack_int)m, (lapack_int)k,
                                  (lapack_int)n, A, (lapack_int)m, tau, b, (lapack_int)mb);
        free(tau);
        if (info != 0)
            return hrf_error(HRF_ENUMERIC, "LAPACK QR of the local block failed (info %d)",
                             (int)info);
    }
    size_t top = m < n ? m : n; /* rows of this rank's factor that can be non-zero */
    double *S = calloc(ms * n, sizeof *S), *c = calloc(ms * k, sizeof *c);
    if (!S || !c) {
        free(S), free(c);
        return hrf_error(HRF_ENOMEM, "out of memory for the %zu x %zu stack of triangles", ms, n);
    }
    size_t r0 = (size_t)comm->rank * n;
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i < top && (m <= n || i <= j); i++)
            S[r0 + i + j * ms] = A[i + j * m];
    for (size_t j = 0; j < k; j++)
        for (size_t i = 0; i < top; i++)
            c[r0 + i + j * ms] = b[i + j * mb];
    int rc = comm->allreduce(comm->ctx, HRF_COMM_BOR, S, ms * n);
    if (rc == HRF_OK) rc = comm->allreduce(comm->ctx, HRF_COMM_BOR, c, ms * k);
    if (rc) {
        free(S), free(c);
        return rc;
    }
    free(A), free(b);
    *A_io = S, *b_io = c, *m_io = ms, *mb_io = ms;
    return HRF_OK;
}

/* Dense solve of the full matrix A (use_reduce = 0) or of the problem's
 * orthogonally equivalent reduced matrix (use_reduce = 1), all right-hand
 * sides in one LAPACK call. */
int lsq_solve_dense(const hrf_lsq_problem *prob, const hrf_lstsq_params *p, hrf_solver s,
                    int use_reduce, int equilibrate, double *theta, hrf_lstsq_report *rep) {
    size_t m = prob->rows, n = prob->cols, k = lsq_nrhs_of(prob), mb;
    int rc;
    double *A = NULL, *b = NULL;
    if (use_reduce) {
        size_t mr = 0;
        double *ur = NULL;
        double need = prob->reduce_bytes + prob->extra_bytes;
        double limit = p->mem_limit ? (double)p->mem_limit : (double)hrf_mem_available_blas();
        if (limit > 0.0 && need > limit)
            return hrf_error(HRF_ETOOBIG,
                             "the reduced %s solve of a %zu x %zu problem needs about "
                             "%.3g GiB, but only %.3g GiB are available",
                             hrf_solver_name(s), m, n, need / 1073741824.0, limit / 1073741824.0);
        if ((rc = prob->reduce(prob->ctx, &mr, &A, &ur))) return rc;
        mb = mr > n ? mr : n;
        b = calloc(mb * k, sizeof *b);
        if (!b) {
            free(A), free(ur);
            return hrf_error(HRF_ENOMEM, "out of memory");
        }
        copy_rhs(mr, k, ur, mb, b);
        free(ur);
        m = mr;
        rep->flops += prob->reduce_flops;
    } else {
        rc = lsq_check_memory(p, s, prob);
        if (rc) return rc;
        if (m > (size_t)INT32_MAX || n > (size_t)INT32_MAX || k > (size_t)INT32_MAX)
            return hrf_error(HRF_ETOOBIG, "%zu x %zu exceeds LAPACK's 32-bit dimensions", m, n);
        mb = m > n ? m : n;
        A = malloc(m * n * sizeof *A), b = calloc(mb * k, sizeof *b);
        double *u = malloc(m * k * sizeof *u);
        if (!A || !b || !u) {
            free(A), free(b), free(u);
            return hrf_error(HRF_ENOMEM, "out of memory for the dense %zu x %zu matrix (%.3g GiB)",
                             m, n, 8.0 * (double)m * (double)n / 1073741824.0);
        }
        rc = prob->assemble(prob->ctx, A, u);
        copy_rhs(m, k, u, mb, b);
        free(u);
        if (rc) goto done;
    }
    if (hrf_comm_active(prob->comm) && (rc = tsqr_stack(prob->comm, &m, n, k, &A, &b, &mb)))
        goto done;
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
    rc = dense_lapack(s, m, n, k, A, b, p->rcond, &rank);
    if (rc) {
        free(cs);
        goto done;
    }
    for (size_t c = 0; c < k; c++) {
        double *th = theta + c * n;
        memcpy(th, b + c * mb, n * sizeof *theta);
        if (cs)
            for (size_t j = 0; j < n; j++)
                th[j] *= cs[j];
    }
    free(cs);
    rep->rank = rank;
    rep->flops +=
        lsq_dense_flops(s, (double)m, (double)n) + 4.0 * (double)m * (double)n * (double)(k - 1);
    if (s == HRF_SOLVER_QR && QR_FIRST_DEN * m >= QR_FIRST_NUM * n) /* dgelsy's QR of R too */
        rep->flops += 4.0 * (double)n * (double)n * (double)n / 3.0;
done:
    free(A), free(b);
    return rc;
}

/* ---- dense problem wrapper ---- */
static int dense_assemble(void *ctx, double *A, double *u) {
    hrf_lsq_dense_ctx *c = ctx;
    memcpy(A, c->A, c->rows * c->cols * sizeof *A);
    memcpy(u, c->u, c->rows * c->nrhs * sizeof *u);
    return HRF_OK;
}

static int dense_gram(void *ctx, double *G, double *Atu, double *utu) {
    hrf_lsq_dense_ctx *c = ctx;
    int m = (int)c->rows, n = (int)c->cols, k = (int)c->nrhs;
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, n, m, 1.0, c->A, m, 0.0, G, n);
    if (k == 1)
        cblas_dgemv(CblasColMajor, CblasTrans, m, n, 1.0, c->A, m, c->u, 1, 0.0, Atu, 1);
    else
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, n, k, m, 1.0, c->A, m, c->u, m, 0.0,
                    Atu, n);
    for (int j = 0; j < k; j++)
        utu[j] = cblas_ddot(m, c->u + (size_t)j * c->rows, 1, c->u + (size_t)j * c->rows, 1);
    return HRF_OK;
}

static int dense_apply(void *ctx, const double *v, double *y) {
    hrf_lsq_dense_ctx *c = ctx;
    cblas_dgemv(CblasColMajor, CblasNoTrans, (int)c->rows, (int)c->cols, 1.0, c->A, (int)c->rows, v,
                1, 0.0, y, 1);
    return HRF_OK;
}

static int dense_apply_t(void *ctx, const double *y, double *v) {
    hrf_lsq_dense_ctx *c = ctx;
    cblas_dgemv(CblasColMajor, CblasTrans, (int)c->rows, (int)c->cols, 1.0, c->A, (int)c->rows, y,
                1, 0.0, v, 1);
    return HRF_OK;
}

static int dense_apply_block(void *ctx, size_t k, const double *V, double *Y) {
    hrf_lsq_dense_ctx *c = ctx;
    int m = (int)c->rows, n = (int)c->cols;
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, m, (int)k, n, 1.0, c->A, m, V, n, 0.0, Y,
                m);
    return HRF_OK;
}

static int dense_apply_t_block(void *ctx, size_t k, const double *Y, double *V) {
    hrf_lsq_dense_ctx *c = ctx;
    int m = (int)c->rows, n = (int)c->cols;
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, n, (int)k, m, 1.0, c->A, m, Y, m, 0.0, V,
                n);
    return HRF_OK;
}

void hrf_lsq_dense_problem_nrhs(hrf_lsq_problem *prob, hrf_lsq_dense_ctx *ctx, size_t rows,
                                size_t cols, size_t nrhs, const double *A, const double *U) {
    size_t k = nrhs > 1 ? nrhs : 1;
    ctx->rows = rows, ctx->cols = cols, ctx->A = A, ctx->u = U, ctx->nrhs = k;
    memset(prob, 0, sizeof *prob);
    prob->rows = rows, prob->cols = cols, prob->nrhs = k, prob->ctx = ctx, prob->u = U;
    prob->assemble = dense_assemble, prob->gram = dense_gram;
    prob->apply = dense_apply, prob->apply_t = dense_apply_t;
    prob->apply_block = dense_apply_block, prob->apply_t_block = dense_apply_t_block;
    prob->gram_flops = (double)rows * (double)cols * (double)(cols + k);
    prob->apply_flops = 2.0 * (double)rows * (double)cols;
}

void hrf_lsq_dense_problem(hrf_lsq_problem *prob, hrf_lsq_dense_ctx *ctx, size_t rows, size_t cols,
                           const double *A, const double *u) {
    hrf_lsq_dense_problem_nrhs(prob, ctx, rows, cols, 1, A, u);
}
