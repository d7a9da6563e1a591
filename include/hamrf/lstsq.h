/* Linear least squares min ‖A Θ − U‖_F (docs/math.md §4), with nrhs right-hand
 * sides: U is rows x nrhs and Θ cols x nrhs, column-major, and each column of Θ
 * is the least-squares solution for its column of U, every factorisation (and
 * the Gram matrix) shared by the columns.
 *
 * A problem is described by callbacks, so that the structured HNN problem
 * never has to form A when the Gram route is used:
 *   assemble   — writes the dense A (rows x cols, column-major, lda = rows) and U;
 *   gram       — writes G = AᵀA (cols x cols, column-major; the upper triangle
 *                G[i + j·cols], i ≤ j, must be filled), AᵀU and ‖u_j‖²;
 *   apply      — y = A v (rows);  apply_t — v = Aᵀ y (cols), one vector each;
 *   apply_block / apply_t_block / apply_normal_block — optional, the same on
 *                several columns in one pass over A.
 * hrf_lsq_dense_problem() wraps an explicit matrix in these callbacks.
 *
 * Solvers:
 *   svd    — LAPACK dgelsd, singular values below rcond·σ_max treated as zero;
 *   qr     — LAPACK dgelsy (column-pivoted QR), same rcond;
 *   normal — G streamed, equilibrated to unit diagonal, + ridge·I, Cholesky,
 *            then LSQR on A preconditioned by the Cholesky factor to remove
 *            the bias of the ridge and the error of squaring the condition
 *            number (docs/math.md §4.5; with nrhs > 1 the columns iterate in
 *            lockstep, sharing each pass over A);
 *   auto   — the default: for small problems, column-pivoted QR of the
 *            equilibrated reduced matrix; otherwise normal, switching to that
 *            QR when LSQR shows the Gram solution far from the optimum (the
 *            report says which and why; docs/math.md §4.6). The choice depends
 *            on the matrix only, not on nrhs. */
#ifndef HAMRF_LSTSQ_H
#define HAMRF_LSTSQ_H

#include "hamrf/comm.h"
#include "hamrf/export.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { HRF_SOLVER_AUTO = 0, HRF_SOLVER_SVD, HRF_SOLVER_QR, HRF_SOLVER_NORMAL } hrf_solver;

HRF_API const char *hrf_solver_name(hrf_solver s);
HRF_API int hrf_solver_find(const char *name, hrf_solver *s);

typedef struct hrf_lsq_problem {
    size_t rows, cols;
    void *ctx;
    /* A (rows x cols) and U (rows x nrhs), column-major, leading dimension rows. */
    int (*assemble)(void *ctx, double *A, double *U);
    /* G (cols x cols, upper triangle), AᵀU (cols x nrhs, column-major, ld cols)
     * and utu[j] = ‖u_j‖² for each column j < nrhs (one number when nrhs = 1). */
    int (*gram)(void *ctx, double *G, double *AtU, double *utu);
    /* One vector each (rows and cols entries); called once per column when
     * the block versions below are NULL. */
    int (*apply)(void *ctx, const double *v, double *y);
    int (*apply_t)(void *ctx, const double *y, double *v);
    /* Optional: y = A v and z = Aᵀ y in one pass over A (halves LSQR's
     * memory traffic). NULL if unavailable. */
    int (*apply_normal)(void *ctx, const double *v, double *y, double *z);
    /* Optional: an orthogonally equivalent smaller problem. Allocates (malloc)
     * *A_r (rows_r x cols, column-major) and *u_r (rows_r x nrhs, column-major)
     * such that ‖AΘ − U‖_F² = ‖A_r Θ − U_r‖_F² + const for every Θ; A_r has the
     * singular values of A, so svd with rcond gives the same Θ. NULL if
     * unavailable. */
    int (*reduce)(void *ctx, size_t *rows_r, double **A_r, double **u_r);
    double reduce_flops; /* of one reduce() call */
    size_t reduce_rows;  /* rows of the reduced matrix */
    double reduce_bytes; /* memory reduce() needs at its peak */
    const double *u;     /* U (rows x nrhs, column-major), in the row order of apply() */
    double gram_flops;   /* floating-point operations of one gram() call */
    double apply_flops;  /* of one apply() or apply_t() call (one column) */
    double extra_bytes;  /* memory the callbacks themselves allocate */
    /* Right-hand sides: the columns of U and of Θ. 0 and 1 both mean one, so
     * problems set up before this field existed (zero-initialised, or
     * initialised positionally up to extra_bytes) are one-column problems,
     * solved exactly as before. */
    size_t nrhs;
    /* Optional, used only when nrhs > 1 (and only when apply_block and
     * apply_t_block are both set): the products above on k columns in one
     * pass over A, so that a problem whose passes are expensive (a streamed
     * matrix) pays for one pass per LSQR iteration, not nrhs. V and Z are
     * cols x k, Y rows x k, all column-major with leading dimensions cols and
     * rows. apply_normal_block is optional among them. */
    int (*apply_block)(void *ctx, size_t k, const double *V, double *Y);
    int (*apply_t_block)(void *ctx, size_t k, const double *Y, double *V);
    int (*apply_normal_block)(void *ctx, size_t k, const double *V, double *Y, double *Z);
    /* Optional (docs/mpi.md): the rows are distributed over comm's ranks,
     * this process holding `rows` of them; gram, apply_t and the norms are
     * summed across ranks, the dense routes stack each rank's triangular
     * factor (TSQR). NULL (or one rank): this process holds every row. */
    const hrf_comm *comm;
    /* With comm: rows of this rank that are zero by construction (an anchor
     * row kept on one rank only), left out of the size the auto policy
     * sees, so that it chooses as one process would. */
    size_t pad_rows;
    /* Optional: r = U − A Θ and z = Aᵀ r in one pass over A, for one
     * right-hand side (the residual and its normal-equations image, without
     * the cancellation of forming AᵀU − AᵀAΘ); used to start LSQR. With comm,
     * r covers this rank's rows and z is this rank's part of Aᵀr (the library
     * sums it, as for apply_t). NULL if unavailable. Appended last, like comm
     * and pad_rows: code built against an older header must be rebuilt. */
    int (*residual_normal)(void *ctx, const double *theta, double *r, double *z);
} hrf_lsq_problem;

typedef struct hrf_lstsq_params {
    hrf_solver solver;   /* default HRF_SOLVER_AUTO */
    double rcond;        /* svd/qr cutoff, default 1e-13 */
    double ridge;        /* normal: λ added to the unit-diagonal Gram, default 1e-13 */
    int gram_refine_max; /* normal: max PCG iterations on the Gram system, default 200 */
    int refine_max;      /* normal: max LSQR iterations, default 50 (0 = plain Cholesky) */
    double refine_tol; /* normal: LSQR stops when ‖Aᵀr‖/(‖A‖‖r‖) < tol, default 1e-14 */
    double refine_stall;   /* normal: LSQR also stops when ‖r‖ fell by less than this fraction
                              over the last 10 iterations, default 1e-2 */
    size_t auto_dense_max; /* auto: dense solve if rows·cols ≤ this, default 1<<22 */
    int stream_refine_max; /* cap on LSQR iterations when the problem streams its matrix
                              (each iteration recomputes it), default 0; set by --refine */
    int auto_refine_max;   /* auto: LSQR iteration limit of the Gram route, default 10 */
    double auto_direct_flops; /* auto: the QR route is used directly when it costs at most this
                                 many flops (reduction + QR), default 1.5e11 (~2 s here) */
    int auto_probe;    /* auto: after this many LSQR iterations (default 10), a residual below
                          half its start, or still falling by more than 2% per
                          iteration, sends the solve to the reduced QR */
    int use_reduce;    /* svd/qr: solve the problem's reduced matrix when it offers one
                          (same θ in exact arithmetic, much cheaper); default 0 = full A */
    int equilibrate;   /* svd/qr: scale columns to unit norm first, so rcond is relative to the
                          scale-free matrix (auto always does); default 0 = as numpy.lstsq */
    int skip_residual; /* 1: do not compute rel_residual (one pass over A saved); default 0 */
    size_t mem_limit;  /* bytes the solver may allocate; 0 = detect (available RAM) */
} hrf_lstsq_params;

HRF_API void hrf_lstsq_params_default(hrf_lstsq_params *p);
/* NULL or a message a user can act on. */
HRF_API const char *hrf_lstsq_params_check(const hrf_lstsq_params *p);

/* With nrhs > 1 every field describes the whole solve: gram_iterations and
 * iterations are the largest over the columns (the columns' LSQR runs in
 * lockstep, so iterations is also the number of its passes over A), converged
 * is the worst column's, and rel_residual is ‖AΘ − U‖_F/‖U‖_F. */
typedef struct hrf_lstsq_report {
    hrf_solver used;     /* the solver that produced θ */
    char reason[256];    /* why (auto), and any fallback taken */
    int rank;            /* effective rank (svd/qr), -1 if not computed */
    double ridge_used;   /* normal: λ that factorised */
    int gram_iterations; /* normal: PCG iterations on the Gram system */
    int iterations;      /* normal: LSQR iterations run */
    int converged; /* normal: 1 LSQR met a stopping test, 0 hit its limit, −1 probe failed */
    double rel_residual; /* ‖Aθ − u‖/‖u‖ (Frobenius norms for nrhs > 1) */
    double seconds;      /* wall-clock of the solve, Gram accumulation included */
    double flops;        /* floating-point operations of the solve (model count) */
} hrf_lstsq_report;

/* Bytes the given solver needs for a problem of this size with one
 * right-hand side (estimate). */
HRF_API double hrf_lstsq_memory_estimate(hrf_solver s, size_t rows, size_t cols);
/* The same with nrhs right-hand sides (0 means 1); equals the above for
 * nrhs ≤ 1 (docs/math.md §4.7). */
HRF_API double hrf_lstsq_memory_estimate_nrhs(hrf_solver s, size_t rows, size_t cols, size_t nrhs);

/* Solves; theta has cols x nrhs entries (column-major, ld cols). Fails with
 * HRF_ETOOBIG (before allocating or reading U, stating the estimate) when the
 * chosen solver would not fit in memory or nrhs is beyond what memory could
 * hold, HRF_ENUMERIC if the problem cannot be solved (e.g. non-finite
 * entries). */
HRF_API int hrf_lstsq_solve(const hrf_lsq_problem *prob, const hrf_lstsq_params *p, double *theta,
                            hrf_lstsq_report *rep);

/* A dense problem over A (rows x cols, column-major, lda = rows) and u; both
 * must outlive the problem. `ctx` is caller storage for the callbacks. The
 * _nrhs variant takes U (rows x nrhs, column-major, ld rows) and also sets
 * the block callbacks (one DGEMM per pass). */
typedef struct hrf_lsq_dense_ctx {
    size_t rows, cols;
    const double *A, *u;
    size_t nrhs;
} hrf_lsq_dense_ctx;
HRF_API void hrf_lsq_dense_problem(hrf_lsq_problem *prob, hrf_lsq_dense_ctx *ctx, size_t rows,
                                   size_t cols, const double *A, const double *u);
HRF_API void hrf_lsq_dense_problem_nrhs(hrf_lsq_problem *prob, hrf_lsq_dense_ctx *ctx, size_t rows,
                                        size_t cols, size_t nrhs, const double *A, const double *U);

#ifdef __cplusplus
}
#endif

#endif
