/* Least-squares solvers (docs/math.md §4): svd (dgelsd), qr (dgelsy), normal
 * (equilibrated, ridged Cholesky of the Gram matrix + preconditioned LSQR)
 * and the auto policy, for one or several right-hand sides (nrhs). */
#include "core/sysinfo.h"
#include "hamrf/lstsq.h"
#include "hamrf/status.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
static size_t nrhs_of(const hrf_lsq_problem *prob) {
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

static int check_memory(const hrf_lstsq_params *p, hrf_solver s, const hrf_lsq_problem *prob) {
    double need = hrf_lstsq_memory_estimate_nrhs(s, prob->rows, prob->cols, nrhs_of(prob)) +
                  prob->extra_bytes;
    double limit = p->mem_limit ? (double)p->mem_limit : (double)hrf_mem_available();
    if (limit > 0.0 && need > limit)
        return hrf_error(
            HRF_ETOOBIG,
            "the %s solver for a %zu x %zu least-squares problem needs about %.3g GiB, "
            "but only %.3g GiB are available (try %sa smaller width or fewer points)",
            hrf_solver_name(s), prob->rows, prob->cols, need / 1073741824.0, limit / 1073741824.0,
            s == HRF_SOLVER_NORMAL ? "" : "--solver normal, ");
    return HRF_OK;
}

static double norm2(size_t n, const double *x) {
    return cblas_dnrm2((int)n, x, 1);
}

/* Y = A V for k columns (V cols x k, Y rows x k): one pass with the
 * problem's block product when it has one and k > 1, else apply per column. */
static int apply_cols(const hrf_lsq_problem *prob, size_t k, const double *V, double *Y) {
    if (k > 1 && prob->apply_block) return prob->apply_block(prob->ctx, k, V, Y);
    for (size_t c = 0; c < k; c++) {
        int rc = prob->apply(prob->ctx, V + c * prob->cols, Y + c * prob->rows);
        if (rc) return rc;
    }
    return HRF_OK;
}

/* ‖A Θ − U‖ (Frobenius over the nrhs columns) via the problem's products. */
static int residual_norm(const hrf_lsq_problem *prob, const double *theta, const double *u,
                         double *out) {
    size_t m = prob->rows, k = nrhs_of(prob);
    double *y = malloc(m * k * sizeof *y);
    if (!y) return hrf_error(HRF_ENOMEM, "out of memory for a residual of %zu rows", m * k);
    int rc = apply_cols(prob, k, theta, y);
    if (rc == HRF_OK) {
        for (size_t i = 0; i < m * k; i++)
            y[i] -= u[i];
        if (k == 1) {
            *out = norm2(m, y);
        } else {
            double f = 0.0;
            for (size_t c = 0; c < k; c++)
                f = hypot(f, norm2(m, y + c * m));
            *out = f;
        }
    }
    free(y);
    return rc;
}

/* ---- dense solvers ---- */
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
        info = LAPACKE_dgelsy(LAPACK_COL_MAJOR, (lapack_int)m, (lapack_int)n, (lapack_int)nrhs, A,
                              (lapack_int)m, b, (lapack_int)mb, jpvt, rcond, &rank);
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
static double dense_flops(hrf_solver s, double m, double n) {
    return 2.0 * m * n * n - 2.0 * n * n * n / 3.0 + (s == HRF_SOLVER_SVD ? 11.0 * n * n * n : 0.0);
}

/* U (m x k, ld m) into the first m rows of b (ld mb). */
static void copy_rhs(size_t m, size_t k, const double *U, size_t mb, double *b) {
    for (size_t c = 0; c < k; c++)
        memcpy(b + c * mb, U + c * m, m * sizeof *b);
}

/* Dense solve of the full matrix A (use_reduce = 0) or of the problem's
 * orthogonally equivalent reduced matrix (use_reduce = 1), all right-hand
 * sides in one LAPACK call. */
static int solve_dense(const hrf_lsq_problem *prob, const hrf_lstsq_params *p, hrf_solver s,
                       int use_reduce, int equilibrate, double *theta, hrf_lstsq_report *rep) {
    size_t m = prob->rows, n = prob->cols, k = nrhs_of(prob), mb;
    int rc;
    double *A = NULL, *b = NULL;
    if (use_reduce) {
        size_t mr = 0;
        double *ur = NULL;
        double need = prob->reduce_bytes + prob->extra_bytes;
        double limit = p->mem_limit ? (double)p->mem_limit : (double)hrf_mem_available();
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
        rc = check_memory(p, s, prob);
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
        dense_flops(s, (double)m, (double)n) + 4.0 * (double)m * (double)n * (double)(k - 1);
done:
    free(A), free(b);
    return rc;
}

/* ---- normal equations + preconditioned LSQR ---- */
typedef struct {
    const hrf_lsq_problem *prob;
    const double *R; /* n x n upper Cholesky factor, column-major */
    const double *s; /* column scaling */
    double *tmp;     /* n x nrhs */
} precond_op;

/* v ← S R⁻¹ v (n entries). */
static void precond(const precond_op *op, double *v) {
    size_t n = op->prob->cols;
    cblas_dtrsv(CblasColMajor, CblasUpper, CblasNoTrans, CblasNonUnit, (int)n, op->R, (int)n, v, 1);
    for (size_t j = 0; j < n; j++)
        v[j] *= op->s[j];
}

/* v ← R⁻ᵀ S v (n entries). */
static void precond_t(const precond_op *op, double *v) {
    size_t n = op->prob->cols;
    for (size_t j = 0; j < n; j++)
        v[j] *= op->s[j];
    cblas_dtrsv(CblasColMajor, CblasUpper, CblasTrans, CblasNonUnit, (int)n, op->R, (int)n, v, 1);
}

/* y = A S R⁻¹ v */
static int op_apply(precond_op *op, const double *v, double *y) {
    memcpy(op->tmp, v, op->prob->cols * sizeof *v);
    precond(op, op->tmp);
    return op->prob->apply(op->prob->ctx, op->tmp, y);
}

/* v = R⁻ᵀ S Aᵀ y */
static int op_apply_t(precond_op *op, const double *y, double *v) {
    int rc = op->prob->apply_t(op->prob->ctx, y, v);
    if (rc) return rc;
    precond_t(op, v);
    return HRF_OK;
}

/* One column's LSQR scalars (Paige & Saunders 1982). */
#define LSQR_WINDOW 10
typedef struct {
    double alpha, beta, phibar, rhobar, bnorm2, hist0, prev_phibar;
    double hist[LSQR_WINDOW]; /* ‖r‖ of the last LSQR_WINDOW iterations */
    int on;                   /* still iterating */
    int started;              /* r0 ≠ 0 and Bᵀr0 ≠ 0: θ gets a correction */
    int converged;            /* 1 stopping test met, 0 at the limit, −1 probe fired */
} lsqr_col;

/* Bv = B v_c for the columns still iterating and, with the fused pass, also
 * Z = Bᵀ(B v_c) (then Bᵀu_new follows by linearity). One pass over A for all
 * columns with block products (others enter as zeros), else one per column. */
static int lsqr_forward(precond_op *op, size_t k, int block, int fused, const lsqr_col *col,
                        const double *V, double *Bv, double *Z) {
    const hrf_lsq_problem *prob = op->prob;
    size_t m = prob->rows, n = prob->cols;
    int rc = HRF_OK;
    if (!block) {
        for (size_t c = 0; c < k && rc == HRF_OK; c++) {
            if (!col[c].on) continue;
            if (!fused) {
                rc = op_apply(op, V + c * n, Bv + c * m);
                continue;
            }
            memcpy(op->tmp, V + c * n, n * sizeof *V);
            precond(op, op->tmp);
            rc = prob->apply_normal(prob->ctx, op->tmp, Bv + c * m, Z + c * n);
            if (rc == HRF_OK) precond_t(op, Z + c * n);
        }
        return rc;
    }
    for (size_t c = 0; c < k; c++) {
        double *tc = op->tmp + c * n;
        if (col[c].on) {
            memcpy(tc, V + c * n, n * sizeof *V);
            precond(op, tc);
        } else {
            memset(tc, 0, n * sizeof *tc);
        }
    }
    rc = fused ? prob->apply_normal_block(prob->ctx, k, op->tmp, Bv, Z)
               : prob->apply_block(prob->ctx, k, op->tmp, Bv);
    if (rc == HRF_OK && fused)
        for (size_t c = 0; c < k; c++)
            if (col[c].on) precond_t(op, Z + c * n);
    return rc;
}

/* T = Bᵀ u_c for the columns still iterating (one pass with block products). */
static int lsqr_backward(precond_op *op, size_t k, int block, const lsqr_col *col, const double *U,
                         double *T) {
    const hrf_lsq_problem *prob = op->prob;
    size_t m = prob->rows, n = prob->cols;
    int rc = HRF_OK;
    if (!block) {
        for (size_t c = 0; c < k && rc == HRF_OK; c++)
            if (col[c].on) rc = op_apply_t(op, U + c * m, T + c * n);
        return rc;
    }
    rc = prob->apply_t_block(prob->ctx, k, U, T);
    if (rc == HRF_OK)
        for (size_t c = 0; c < k; c++)
            if (col[c].on) precond_t(op, T + c * n);
    return rc;
}

/* The rest of LSQR iteration `it` for one column, after α and β: the plane
 * rotation, the updates of x and w, and the stopping tests of docs/math.md
 * §4.5 in their order. Returns 1 when the column stops (q->converged says
 * why), 0 when it goes on; *bad = 1 for a non-finite residual. `no` is the
 * column's number for the debug line (−1: the only column). */
static int lsqr_update(lsqr_col *q, size_t n, const double *v, double *w, double *x, int it,
                       int maxit, double tol, double stall_tol, int probe, long no, int *bad) {
    q->bnorm2 += q->alpha * q->alpha + q->beta * q->beta;
    double rho = hypot(q->rhobar, q->beta);
    double c = q->rhobar / rho, s = q->beta / rho;
    double theta_next = s * q->alpha;
    q->rhobar = -c * q->alpha;
    double phi = c * q->phibar;
    q->prev_phibar = q->phibar;
    q->phibar = s * q->phibar;
    for (size_t j = 0; j < n; j++) {
        x[j] += (phi / rho) * w[j];
        w[j] = v[j] - (theta_next / rho) * w[j];
    }
    if (hrf_debug_on()) {
        char col[32] = "";
        if (no >= 0) snprintf(col, sizeof col, " column %ld", no);
        hrf_debug("lsqr %d%s: t %.3f |r| %.6e  |B'r|/(|B||r|) %.3e", it, col, hrf_now(), q->phibar,
                  q->phibar * q->alpha * fabs(c) / (sqrt(q->bnorm2) * q->phibar));
    }
    /* ‖Bᵀr‖ ≈ φ̄ α |c|; stop when small relative to ‖B‖‖r‖. */
    double arnorm = q->phibar * q->alpha * fabs(c);
    if (q->phibar == 0.0 || arnorm <= tol * sqrt(q->bnorm2) * q->phibar) return 1;
    /* Stagnation: the residual fell by less than a fraction `stall_tol`
     * over the last LSQR_WINDOW iterations; further iterations would only
     * move it in the digits that do not change the fit. */
    double old = q->hist[it % LSQR_WINDOW]; /* ‖r‖ of iteration it − LSQR_WINDOW */
    q->hist[it % LSQR_WINDOW] = q->phibar;
    if (it > LSQR_WINDOW && q->phibar >= (1.0 - stall_tol) * old) return 1;
    if (it == maxit) q->converged = 0;
    /* Probe (auto): a residual that halved within `probe` iterations, or
     * still falls by more than 2% per iteration, shows the Gram solution
     * is far from the least-squares optimum (measured: 5-10% per
     * iteration where the QR route is 10-50x more accurate, 0.3-0.5% where
     * it is within 1.3x; docs/math.md §4.5). */
    if (probe > 0 && it == probe &&
        (q->phibar < 0.5 * q->hist0 || q->phibar < (1.0 - 0.02) * q->prev_phibar)) {
        q->converged = -1;
        return 1;
    }
    if (!isfinite(q->phibar)) {
        *bad = 1;
        return 1;
    }
    return 0;
}

/* LSQR on min ‖r0 − B y‖, B = A S R⁻¹, for k right-hand sides in lockstep:
 * each column has its own scalars and stopping tests, and with block
 * products all columns share each pass over A. Adds S R⁻¹ y to each column
 * of theta. u holds r0 (m x k) on entry and is overwritten. *iters is the
 * largest iteration count of a column, *converged the worst column's; a
 * probe that fires stops every column. */
static int lsqr_refine(const hrf_lsq_problem *prob, precond_op *op, size_t k, double *u, int maxit,
                       double tol, double stall_tol, int probe, double *theta, int *iters,
                       int *converged) {
    size_t m = prob->rows, n = prob->cols;
    int block = k > 1 && prob->apply_block && prob->apply_t_block;
    int fused = block ? prob->apply_normal_block != NULL : prob->apply_normal != NULL;
    lsqr_col *col = calloc(k, sizeof *col);
    double *v = malloc(n * k * sizeof *v), *w = malloc(n * k * sizeof *w);
    double *x = calloc(n * k, sizeof *x), *t = malloc(n * k * sizeof *t);
    double *Bv = malloc(m * k * sizeof *Bv), *tu = malloc(n * k * sizeof *tu);
    double *z = malloc(n * k * sizeof *z);
    int rc = HRF_OK, nact = 0, bad = 0;
    *iters = 0;
    *converged = 1;
    if (!col || !v || !w || !x || !t || !Bv || !tu || !z) {
        rc = hrf_error(HRF_ENOMEM, "out of memory for LSQR vectors");
        goto done;
    }
    /* β u = r0, α v = Bᵀu; a column with r0 = 0 or Bᵀr0 = 0 is solved. */
    for (size_t c = 0; c < k; c++) {
        col[c].converged = 1;
        col[c].beta = norm2(m, u + c * m);
        col[c].on = col[c].beta != 0.0;
        if (col[c].on) cblas_dscal((int)m, 1.0 / col[c].beta, u + c * m, 1);
    }
    if ((rc = lsqr_backward(op, k, block, col, u, v))) goto done;
    for (size_t c = 0; c < k; c++) {
        lsqr_col *q = &col[c];
        if (!q->on) continue;
        double *vc = v + c * n;
        q->alpha = norm2(n, vc);
        q->on = q->started = q->alpha != 0.0;
        if (!q->on) continue;
        cblas_dscal((int)n, 1.0 / q->alpha, vc, 1);
        memcpy(w + c * n, vc, n * sizeof *w);
        q->phibar = q->hist0 = q->prev_phibar = q->beta;
        q->rhobar = q->alpha, q->bnorm2 = q->alpha * q->alpha;
        /* tu = Bᵀu for the current u (used by the fused one-pass variant). */
        for (size_t j = 0; j < n; j++)
            tu[j + c * n] = q->alpha * vc[j];
        nact++;
    }
    for (int it = 1; it <= maxit && nact > 0; it++) {
        /* β u = B v − α u */
        if ((rc = lsqr_forward(op, k, block, fused, col, v, Bv, z))) break;
        for (size_t c = 0; c < k; c++) {
            lsqr_col *q = &col[c];
            if (!q->on) continue;
            double *uc = u + c * m, *bc = Bv + c * m;
            for (size_t i = 0; i < m; i++)
                uc[i] = bc[i] - q->alpha * uc[i];
            q->beta = norm2(m, uc);
            if (q->beta > 0.0) cblas_dscal((int)m, 1.0 / q->beta, uc, 1);
        }
        /* α v = Bᵀ u − β v; fused: Bᵀu_new = (R⁻ᵀ S Aᵀ(Bv) − α Bᵀu_old)/β. */
        if (fused) {
            for (size_t c = 0; c < k; c++) {
                lsqr_col *q = &col[c];
                if (!q->on) continue;
                double *tc = t + c * n, *zc = z + c * n, *tuc = tu + c * n;
                for (size_t j = 0; j < n; j++)
                    tc[j] = q->beta > 0.0 ? (zc[j] - q->alpha * tuc[j]) / q->beta : 0.0;
                memcpy(tuc, tc, n * sizeof *t);
            }
        } else if ((rc = lsqr_backward(op, k, block, col, u, t))) {
            break;
        }
        *iters = it;
        for (size_t c = 0; c < k; c++) {
            lsqr_col *q = &col[c];
            if (!q->on) continue;
            double *vc = v + c * n, *tc = t + c * n;
            for (size_t j = 0; j < n; j++)
                vc[j] = tc[j] - q->beta * vc[j];
            q->alpha = norm2(n, vc);
            if (q->alpha > 0.0) cblas_dscal((int)n, 1.0 / q->alpha, vc, 1);
            if (lsqr_update(q, n, vc, w + c * n, x + c * n, it, maxit, tol, stall_tol, probe,
                            k > 1 ? (long)c : -1L, &bad)) {
                q->on = 0;
                nact--;
            }
            if (bad) break;
            if (q->converged < 0) /* the probe fired: the caller switches route */
                for (size_t d = 0; d < k; d++)
                    col[d].on = 0, nact = 0;
        }
        if (bad) {
            rc = hrf_error(HRF_ENUMERIC, "LSQR diverged (non-finite residual)");
            break;
        }
    }
    if (rc) goto done;
    /* theta += S R⁻¹ x, column by column */
    for (size_t c = 0; c < k; c++) {
        if (col[c].converged < *converged) *converged = col[c].converged;
        if (!col[c].started) continue;
        double *xc = x + c * n, *th = theta + c * n;
        cblas_dtrsv(CblasColMajor, CblasUpper, CblasNoTrans, CblasNonUnit, (int)n, op->R, (int)n,
                    xc, 1);
        for (size_t j = 0; j < n; j++)
            th[j] += op->s[j] * xc[j];
    }
done:
    free(col), free(v), free(w), free(x), free(t), free(Bv), free(tu), free(z);
    return rc;
}

/* PCG on the equilibrated normal equations (S G S) y = S r, preconditioned by
 * the ridged Cholesky factor C, starting from theta = S y0. Removes the bias
 * of the ridge at O(n²) per iteration, to the accuracy the Gram matrix itself
 * carries. Stops when the residual stops decreasing. Returns iterations. */
static int gram_pcg(size_t n, const double *G, const double *C, const double *s, const double *r,
                    int maxit, double *theta) {
    double *y = malloc(n * sizeof *y), *res = malloc(n * sizeof *res), *z = malloc(n * sizeof *z);
    double *pv = malloc(n * sizeof *pv), *q = malloc(n * sizeof *q),
           *best = malloc(n * sizeof *best);
    int it = 0;
    if (!y || !res || !z || !pv || !q || !best) goto done;
    for (size_t j = 0; j < n; j++)
        y[j] = theta[j] / s[j];
    /* res = S r − S G S y */
    for (size_t j = 0; j < n; j++)
        z[j] = s[j] * y[j];
    cblas_dsymv(CblasColMajor, CblasUpper, (int)n, 1.0, G, (int)n, z, 1, 0.0, q, 1);
    for (size_t j = 0; j < n; j++)
        res[j] = s[j] * (r[j] - q[j]);
    double rnorm0 = norm2(n, res), best_norm = rnorm0;
    memcpy(best, y, n * sizeof *y);
    memcpy(z, res, n * sizeof *z);
    cblas_dtrsv(CblasColMajor, CblasUpper, CblasTrans, CblasNonUnit, (int)n, C, (int)n, z, 1);
    cblas_dtrsv(CblasColMajor, CblasUpper, CblasNoTrans, CblasNonUnit, (int)n, C, (int)n, z, 1);
    memcpy(pv, z, n * sizeof *z);
    double rz = cblas_ddot((int)n, res, 1, z, 1);
    int stall = 0;
    for (it = 1; it <= maxit; it++) {
        for (size_t j = 0; j < n; j++)
            z[j] = s[j] * pv[j];
        cblas_dsymv(CblasColMajor, CblasUpper, (int)n, 1.0, G, (int)n, z, 1, 0.0, q, 1);
        for (size_t j = 0; j < n; j++)
            q[j] *= s[j];
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
        for (size_t j = 0; j < n; j++)
            pv[j] = z[j] + beta * pv[j];
    }
    hrf_debug("gram pcg: %d iterations, residual %.3e -> %.3e", it, rnorm0, best_norm);
    for (size_t j = 0; j < n; j++)
        theta[j] = s[j] * best[j];
done:
    free(y), free(res), free(z), free(pv), free(q), free(best);
    return it;
}

/* Cholesky of S G S + λ I into C (upper), λ from p->ridge grown tenfold
 * until it factorises (docs/math.md §4.5 step 3); notes a raise in the
 * reason. */
static int ridged_cholesky(size_t n, const double *G, const double *s, const hrf_lstsq_params *p,
                           double *C, hrf_lstsq_report *rep) {
    double lambda = p->ridge;
    for (int attempt = 0;; attempt++) {
        for (size_t j = 0; j < n; j++) {
            for (size_t i = 0; i <= j; i++)
                C[i + j * n] = s[i] * G[i + j * n] * s[j];
            C[j + j * n] += lambda;
        }
        lapack_int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', (lapack_int)n, C, (lapack_int)n);
        if (info == 0) break;
        if (info < 0 || attempt >= 12)
            return hrf_error(HRF_ENUMERIC,
                             "Cholesky factorisation failed even with ridge %.3g "
                             "(info %d)",
                             lambda, (int)info);
        lambda = lambda > 0.0 ? lambda * 10.0 : 1e-15;
    }
    rep->ridge_used = lambda;
    if (lambda != p->ridge) {
        size_t len = strlen(rep->reason);
        snprintf(rep->reason + len, sizeof rep->reason - len,
                 "%sridge raised from %.3g to %.3g so the Gram matrix factorises", len ? "; " : "",
                 p->ridge, lambda);
    }
    return HRF_OK;
}

/* The normal route (docs/math.md §4.5) for k = nrhs columns: one Gram, one
 * equilibration, one ridged Cholesky; the Cholesky solve for all columns,
 * PCG per column, then LSQR with the columns in lockstep. */
static int solve_normal(const hrf_lsq_problem *prob, const hrf_lstsq_params *p, int maxit,
                        int probe, double *theta, hrf_lstsq_report *rep) {
    size_t n = prob->cols, m = prob->rows, k = nrhs_of(prob);
    int rc = check_memory(p, HRF_SOLVER_NORMAL, prob);
    if (rc) return rc;
    double *G = malloc(n * n * sizeof *G), *C = malloc(n * n * sizeof *C);
    double *r = malloc(n * k * sizeof *r), *s = malloc(n * sizeof *s);
    double *tmp = malloc(n * k * sizeof *tmp), *utu = malloc(k * sizeof *utu);
    double *res = NULL;
    if (!G || !C || !r || !s || !tmp || !utu) {
        rc = hrf_error(HRF_ENOMEM, "out of memory for the %zu x %zu Gram matrix", n, n);
        goto done;
    }
    double tg = hrf_now();
    if ((rc = prob->gram(prob->ctx, G, r, utu))) goto done;
    hrf_debug("gram %.3f s (%.1f GFLOP/s)", hrf_now() - tg,
              prob->gram_flops / (hrf_now() - tg) / 1e9);
    tg = hrf_now();
    rep->flops = prob->gram_flops + (double)n * n * n / 3.0;
    /* Equilibrate: S G S has unit diagonal (zero columns keep scale 1). */
    for (size_t j = 0; j < n; j++) {
        double d = G[j + j * n];
        if (!isfinite(d)) {
            rc = hrf_error(HRF_ENUMERIC, "Gram matrix has a non-finite diagonal entry (column %zu)",
                           j);
            goto done;
        }
        s[j] = d > 0.0 ? 1.0 / sqrt(d) : 1.0;
    }
    if ((rc = ridged_cholesky(n, G, s, p, C, rep))) goto done;
    hrf_debug("cholesky %.3f s", hrf_now() - tg);
    /* θ = S C⁻¹ C⁻ᵀ S r: two triangular solves for one column, DPOTRS for several. */
    if (k == 1) {
        for (size_t j = 0; j < n; j++)
            tmp[j] = s[j] * r[j];
        cblas_dtrsv(CblasColMajor, CblasUpper, CblasTrans, CblasNonUnit, (int)n, C, (int)n, tmp, 1);
        cblas_dtrsv(CblasColMajor, CblasUpper, CblasNoTrans, CblasNonUnit, (int)n, C, (int)n, tmp,
                    1);
        for (size_t j = 0; j < n; j++)
            theta[j] = s[j] * tmp[j];
    } else {
        for (size_t i = 0; i < n * k; i++)
            theta[i] = s[i % n] * r[i];
        lapack_int info = LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'U', (lapack_int)n, (lapack_int)k, C,
                                         (lapack_int)n, theta, (lapack_int)n);
        if (info != 0) {
            rc = hrf_error(HRF_ENUMERIC, "LAPACK dpotrs failed (info %d)", (int)info);
            goto done;
        }
        for (size_t i = 0; i < n * k; i++)
            theta[i] *= s[i % n];
        rep->flops += 2.0 * (double)n * n * (double)k;
    }
    rep->iterations = 0;
    if (p->gram_refine_max > 0) { /* per column; the report keeps the largest count */
        for (size_t c = 0; c < k; c++) {
            int it = gram_pcg(n, G, C, s, r + c * n, p->gram_refine_max, theta + c * n);
            if (it > rep->gram_iterations) rep->gram_iterations = it;
            rep->flops += 2.0 * it * 2.0 * (double)n * n;
        }
    }
    rep->converged = 1;
    if (maxit > 0) {
        /* R0 = U − A Θ, then LSQR on the correction. */
        res = malloc(m * k * sizeof *res);
        if (!res) {
            rc = hrf_error(HRF_ENOMEM, "out of memory for a residual of %zu rows", m * k);
            goto done;
        }
        if ((rc = apply_cols(prob, k, theta, res))) goto done;
        for (size_t i = 0; i < m * k; i++)
            res[i] = prob->u[i] - res[i];
        precond_op op = {prob, C, s, tmp};
        if ((rc = lsqr_refine(prob, &op, k, res, maxit, p->refine_tol, p->refine_stall, probe,
                              theta, &rep->iterations, &rep->converged)))
            goto done;
        rep->flops += 2.0 * rep->iterations * (double)k * (prob->apply_flops + (double)n * n);
    }
done:
    free(G), free(C), free(r), free(s), free(tmp), free(utu), free(res);
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
    double limit = p->mem_limit ? (double)p->mem_limit : (double)hrf_mem_available();
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
    size_t k = nrhs_of(prob);
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
            double need =
                prob->reduce_bytes + prob->extra_bytes +
                8.0 * 4.0 * (double)prob->cols; /* dgelsy workspace; A_r is in reduce_bytes */
            if (k > 1)                          /* the right-hand sides and the solution block */
                need += 8.0 * ((double)prob->reduce_rows + (double)prob->cols) * (double)k;
            can_reduce = need <= limit;
        }
        /* Direct route cost: the reduction plus the QR of the reduced matrix. */
        double direct =
            can_reduce ? prob->reduce_flops + dense_flops(HRF_SOLVER_QR, (double)prob->reduce_rows,
                                                          (double)prob->cols)
                       : dense_flops(HRF_SOLVER_QR, (double)prob->rows, (double)prob->cols);
        if (dense <= (double)p->auto_dense_max || (can_reduce && direct <= p->auto_direct_flops)) {
            rep->used = HRF_SOLVER_QR;
            snprintf(rep->reason, sizeof rep->reason,
                     "auto: small problem (%zu x %zu, direct route %.3g GFLOP): column-pivoted QR "
                     "of the equilibrated %s matrix",
                     prob->rows, prob->cols, direct / 1e9, can_reduce ? "reduced" : "dense");
            rc = solve_dense(prob, p, HRF_SOLVER_QR, can_reduce, 1, theta, rep);
        } else {
            rep->used = HRF_SOLVER_NORMAL;
            int maxit = p->auto_refine_max < p->refine_max ? p->auto_refine_max : p->refine_max;
            rc = solve_normal(prob, p, maxit, can_reduce ? p->auto_probe : 0, theta, rep);
            if (rc == HRF_OK && (rep->converged >= 0 || !can_reduce)) {
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
    for (size_t j = 0; j < prob->cols * k; j++)
        if (!isfinite(theta[j]))
            return hrf_error(HRF_ENUMERIC,
                             "the %s solver produced a non-finite coefficient "
                             "(column %zu)",
                             hrf_solver_name(rep->used), j % prob->cols);
    rep->seconds = hrf_now() - t0;
    if (p->skip_residual) {
        rep->rel_residual = NAN;
        return HRF_OK;
    }
    double rn = 0.0;
    if ((rc = residual_norm(prob, theta, prob->u, &rn))) return rc;
    double un = 0.0;
    for (size_t c = 0; c < k; c++) {
        double uc = norm2(prob->rows, prob->u + c * prob->rows);
        un = k == 1 ? uc : hypot(un, uc);
    }
    rep->rel_residual = un > 0.0 ? rn / un : rn;
    return HRF_OK;
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
