/* The normal route of hrf_lstsq_solve (docs/math.md §4.5): the
 * equilibrated, ridged Cholesky factor of the Gram matrix, PCG on the Gram
 * system and the Cholesky-preconditioned LSQR refinement, for one or several
 * right-hand sides. */
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
    if (rc == HRF_OK) rc = hrf_comm_sum(op->prob->comm, v, op->prob->cols);
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
            if (rc == HRF_OK) rc = hrf_comm_sum(prob->comm, Z + c * n, n);
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
    if (rc == HRF_OK && fused) rc = hrf_comm_sum(prob->comm, Z, n * k);
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
    if (rc == HRF_OK) rc = hrf_comm_sum(prob->comm, T, n * k);
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
static int lsqr_refine(const hrf_lsq_problem *prob, precond_op *op, size_t k, double *u,
                       const double *atr0, int maxit, double tol, double stall_tol, int probe,
                       double *theta, int *iters, int *converged) {
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
        col[c].beta = lsq_rows_norm2(prob, m, u + c * m, &rc);
        col[c].on = col[c].beta != 0.0;
        if (col[c].on) cblas_dscal((int)m, 1.0 / col[c].beta, u + c * m, 1);
    }
    if (rc) goto done;
    if (atr0) { /* Aᵀr0 came with r0 from one pass: Aᵀu = Aᵀr0 / β */
        for (size_t c = 0; c < k; c++)
            for (size_t j = 0; j < n; j++)
                v[j + c * n] = col[c].on ? atr0[j + c * n] / col[c].beta : 0.0;
        if ((rc = hrf_comm_sum(prob->comm, v, n * k))) goto done;
        for (size_t c = 0; c < k; c++)
            if (col[c].on) precond_t(op, v + c * n);
    } else if ((rc = lsqr_backward(op, k, block, col, u, v))) {
        goto done;
    }
    for (size_t c = 0; c < k; c++) {
        lsqr_col *q = &col[c];
        if (!q->on) continue;
        double *vc = v + c * n;
        q->alpha = lsq_norm2(n, vc);
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
            q->beta = lsq_rows_norm2(prob, m, uc, &rc);
            if (q->beta > 0.0) cblas_dscal((int)m, 1.0 / q->beta, uc, 1);
        }
        if (rc) break;
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
            q->alpha = lsq_norm2(n, vc);
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
    double rnorm0 = lsq_norm2(n, res), best_norm = rnorm0;
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
        double rn = lsq_norm2(n, res);
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
int lsq_solve_normal(const hrf_lsq_problem *prob, const hrf_lstsq_params *p, int maxit, int probe,
                     double *theta, hrf_lstsq_report *rep) {
    size_t n = prob->cols, m = prob->rows, k = lsq_nrhs_of(prob);
    int rc = lsq_check_memory(p, HRF_SOLVER_NORMAL, prob);
    if (rc) return rc;
    double *G = hrf_alloc_big(n * n * sizeof *G), *C = hrf_alloc_big(n * n * sizeof *C);
    double *r = malloc(n * k * sizeof *r), *s = malloc(n * sizeof *s);
    double *tmp = malloc(n * k * sizeof *tmp), *utu = malloc(k * sizeof *utu);
    double *res = NULL, *atr0 = NULL;
    if (!G || !C || !r || !s || !tmp || !utu) {
        rc = hrf_error(HRF_ENOMEM, "out of memory for the %zu x %zu Gram matrix", n, n);
        goto done;
    }
    double tg = hrf_now();
    if ((rc = prob->gram(prob->ctx, G, r, utu))) goto done;
    /* Distributed rows: G, AᵀU and ‖u‖² are sums over rows, so one reduction
     * makes them the global problem's on every rank (docs/mpi.md). */
    if (hrf_comm_active(prob->comm)) {
        if ((rc = hrf_comm_sum(prob->comm, G, n * n)) ||
            (rc = hrf_comm_sum(prob->comm, r, n * k)) || (rc = hrf_comm_sum(prob->comm, utu, k)))
            goto done;
    }
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
    tg = hrf_now();
    if (p->gram_refine_max > 0) { /* per column; the report keeps the largest count */
        for (size_t c = 0; c < k; c++) {
            int it = gram_pcg(n, G, C, s, r + c * n, p->gram_refine_max, theta + c * n);
            if (it > rep->gram_iterations) rep->gram_iterations = it;
            rep->flops += 2.0 * it * 2.0 * (double)n * n;
        }
    }
    hrf_debug("gram pcg %.3f s", hrf_now() - tg);
    tg = hrf_now();
    rep->converged = 1;
    if (maxit > 0) {
        /* R0 = U − A Θ, then LSQR on the correction. */
        res = malloc(m * k * sizeof *res);
        if (!res) {
            rc = hrf_error(HRF_ENOMEM, "out of memory for a residual of %zu rows", m * k);
            goto done;
        }
        /* One pass for R0 and AᵀR0 where the problem fuses them. */
        int fused_r0 = k == 1 && prob->residual_normal != NULL;
        if (fused_r0) {
            atr0 = malloc(n * sizeof *atr0);
            if (!atr0) {
                rc = hrf_error(HRF_ENOMEM, "out of memory for LSQR vectors");
                goto done;
            }
            if ((rc = prob->residual_normal(prob->ctx, theta, res, atr0))) goto done;
        } else {
            if ((rc = lsq_apply_cols(prob, k, theta, res))) goto done;
            for (size_t i = 0; i < m * k; i++)
                res[i] = prob->u[i] - res[i];
        }
        precond_op op = {prob, C, s, tmp};
        if ((rc = lsqr_refine(prob, &op, k, res, atr0, maxit, p->refine_tol, p->refine_stall, probe,
                              theta, &rep->iterations, &rep->converged)))
            goto done;
        rep->flops += 2.0 * rep->iterations * (double)k * (prob->apply_flops + (double)n * n);
        hrf_debug("lsqr %.3f s (%d iterations)", hrf_now() - tg, rep->iterations);
    }
done:
    hrf_free_big(G, n * n * sizeof *G), hrf_free_big(C, n * n * sizeof *C);
    free(r), free(s), free(tmp), free(utu), free(res), free(atr0);
    return rc;
}
