/* Linear least squares min ‖A θ − u‖₂ (MATH.md §2.2).
 *
 * A problem is described by callbacks, so that the structured HNN problem
 * never has to form A when the Gram route is used:
 *   assemble   — writes the dense A (rows x cols, column-major, lda = rows) and u;
 *   gram       — writes G = AᵀA (cols x cols, column-major; the upper triangle
 *                G[i + j·cols], i ≤ j, must be filled), Aᵀu and uᵀu;
 *   apply      — y = A v (rows);  apply_t — v = Aᵀ y (cols).
 * hrf_lsq_dense_problem() wraps an explicit matrix in these callbacks.
 *
 * Solvers:
 *   svd    — LAPACK dgelsd, singular values below rcond·σ_max treated as zero;
 *   qr     — LAPACK dgelsy (column-pivoted QR), same rcond;
 *   normal — G streamed, equilibrated to unit diagonal, + ridge·I, Cholesky,
 *            then LSQR on A preconditioned by the Cholesky factor to remove
 *            the bias of the ridge and the error of squaring the condition
 *            number (docs/math.md "normal solver");
 *   auto   — the default: for small problems, column-pivoted QR of the
 *            equilibrated reduced matrix; otherwise normal, switching to that
 *            QR when LSQR shows the Gram solution far from the optimum (the
 *            report says which and why; docs/math.md). */
#ifndef HAMRF_LSTSQ_H
#define HAMRF_LSTSQ_H

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
    int (*assemble)(void *ctx, double *A, double *u);
    int (*gram)(void *ctx, double *G, double *Atu, double *utu);
    int (*apply)(void *ctx, const double *v, double *y);
    int (*apply_t)(void *ctx, const double *y, double *v);
    /* Optional: y = A v and z = Aᵀ y in one pass over A (halves LSQR's
     * memory traffic). NULL if unavailable. */
    int (*apply_normal)(void *ctx, const double *v, double *y, double *z);
    /* Optional: an orthogonally equivalent smaller problem. Allocates (malloc)
     * *A_r (rows_r x cols, column-major) and *u_r (rows_r) such that
     * ‖Aθ − u‖² = ‖A_r θ − u_r‖² + const for every θ; A_r has the singular
     * values of A, so svd with rcond gives the same θ. NULL if unavailable. */
    int (*reduce)(void *ctx, size_t *rows_r, double **A_r, double **u_r);
    double reduce_flops; /* of one reduce() call */
    size_t reduce_rows;  /* rows of the reduced matrix */
    double reduce_bytes; /* memory reduce() needs at its peak */
    const double *u;    /* right-hand side (rows), in the row order of apply() */
    double gram_flops;  /* floating-point operations of one gram() call */
    double apply_flops; /* of one apply() or apply_t() call */
    double extra_bytes; /* memory the callbacks themselves allocate */
} hrf_lsq_problem;

typedef struct hrf_lstsq_params {
    hrf_solver solver;  /* default HRF_SOLVER_AUTO */
    double rcond;       /* svd/qr cutoff, default 1e-13 */
    double ridge;       /* normal: λ added to the unit-diagonal Gram, default 1e-13 */
    int gram_refine_max; /* normal: max PCG iterations on the Gram system, default 200 */
    int refine_max;     /* normal: max LSQR iterations, default 50 (0 = plain Cholesky) */
    double refine_tol;  /* normal: LSQR stops when ‖Aᵀr‖/(‖A‖‖r‖) < tol, default 1e-14 */
    double refine_stall; /* normal: LSQR also stops when ‖r‖ fell by less than this fraction
                            over the last 10 iterations, default 1e-2 */
    size_t auto_dense_max; /* auto: dense solve if rows·cols ≤ this, default 1<<22 */
    int stream_refine_max; /* cap on LSQR iterations when the problem streams its matrix
                              (each iteration recomputes it), default 0; set by --refine */
    int auto_refine_max; /* auto: LSQR iteration limit of the Gram route, default 10 */
    double auto_direct_flops; /* auto: the QR route is used directly when it costs at most this
                                 many flops (reduction + QR), default 1.5e11 (~2 s here) */
    int auto_probe;     /* auto: after this many LSQR iterations (default 10), a residual below
                           half its start, or still falling by more than 2% per
                           iteration, sends the solve to the reduced QR */
    int use_reduce;     /* svd/qr: solve the problem's reduced matrix when it offers one
                           (same θ in exact arithmetic, much cheaper); default 0 = full A */
    int equilibrate;    /* svd/qr: scale columns to unit norm first, so rcond is relative to the
                           scale-free matrix (auto always does); default 0 = as numpy.lstsq */
    int skip_residual;  /* 1: do not compute rel_residual (one pass over A saved); default 0 */
    size_t mem_limit;   /* bytes the solver may allocate; 0 = detect (available RAM) */
} hrf_lstsq_params;

HRF_API void hrf_lstsq_params_default(hrf_lstsq_params *p);
/* NULL or a message a user can act on. */
HRF_API const char *hrf_lstsq_params_check(const hrf_lstsq_params *p);

typedef struct hrf_lstsq_report {
    hrf_solver used;     /* the solver that produced θ */
    char reason[256];    /* why (auto), and any fallback taken */
    int rank;            /* effective rank (svd/qr), -1 if not computed */
    double ridge_used;   /* normal: λ that factorised */
    int gram_iterations; /* normal: PCG iterations on the Gram system */
    int iterations;      /* normal: LSQR iterations run */
    int converged;       /* normal: 1 LSQR met a stopping test, 0 hit its limit, −1 probe failed */
    double rel_residual; /* ‖Aθ − u‖/‖u‖ */
    double seconds;      /* wall-clock of the solve, Gram accumulation included */
    double flops;        /* floating-point operations of the solve (model count) */
} hrf_lstsq_report;

/* Bytes the given solver needs for a problem of this size (estimate). */
HRF_API double hrf_lstsq_memory_estimate(hrf_solver s, size_t rows, size_t cols);

/* Solves; theta has `cols` entries. Fails with HRF_ETOOBIG (before
 * allocating, stating the estimate) when the chosen solver would not fit in
 * memory, HRF_ENUMERIC if the problem cannot be solved (e.g. non-finite
 * entries). */
HRF_API int hrf_lstsq_solve(const hrf_lsq_problem *prob, const hrf_lstsq_params *p, double *theta,
                    hrf_lstsq_report *rep);

/* A dense problem over A (rows x cols, column-major, lda = rows) and u; both
 * must outlive the problem. `ctx` is caller storage for the callbacks. */
typedef struct hrf_lsq_dense_ctx {
    size_t rows, cols;
    const double *A, *u;
} hrf_lsq_dense_ctx;
HRF_API void hrf_lsq_dense_problem(hrf_lsq_problem *prob, hrf_lsq_dense_ctx *ctx, size_t rows, size_t cols,
                           const double *A, const double *u);

/* Bytes of memory available to this process (MemAvailable), 0 if unknown. */
HRF_API size_t hrf_mem_available(void);

#ifdef __cplusplus
}
#endif

#endif
