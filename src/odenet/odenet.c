/* The ODE-net baseline ("S-MLP" of RF-HNN): fit, evaluate, save, load.
 *
 *   f̂(x) = Σ_k C_k σ(w_k·x + b_k) + C_0          (hamrf/odenet.h)
 *
 * The hidden layer is sampled as for the HNN (MATH.md §2.1, with the SWIM
 * density on the vector values F = dx/dt); the outer layer solves
 *
 *   min_Θ ‖Φ Θ − Y‖_F,   Φ = [σ(Z) | 1] (K, M+1),  Z = X Wᵀ + 1 bᵀ,  Y = dx/dt (K, dim),
 *
 * one matrix and dim right-hand sides, so each column of Θ = [C; C_0ᵀ] is an
 * ordinary least-squares problem and every factorisation is shared:
 *   svd    — LAPACK dgelsd on the dense Φ (column-major), rcond cutoff;
 *   qr     — LAPACK dgelsy (column-pivoted QR), same rcond;
 *   normal — Gram matrix ΦᵀΦ and ΦᵀY accumulated over row blocks (DSYRK,
 *            DGEMM; memory O(M² + block), plus Φ itself when it fits the
 *            cache budget), equilibrated to unit diagonal, ridge λ·I raised
 *            tenfold until DPOTRF succeeds, DPOTRS with dim right-hand sides,
 *            preconditioned CG on the unridged Gram system (per column), then
 *            CGLS on Φ preconditioned by the Cholesky factor (all columns per
 *            pass over Φ) to recover what squaring the condition number lost
 *            (pendulum, width 500: 2e-6 → 1e-7 in 50 iterations; QR: 1e-9);
 *   auto   — qr (equilibrated) when Φ has at most AUTO_DENSE_MAX entries, or
 *            is cheap enough (see AUTO_DENSE_MAX), else normal.
 * Unlike the HNN's problem (MATH.md §2.2), Φ has no structure to exploit
 * beyond the shared matrix, so this file calls LAPACK directly instead of
 * going through hamrf/lstsq.h (whose problems have one right-hand side). */
#include "hamrf/odenet.h"
#include "hamrf/metrics.h"
#include "core/npz.h"
#include "hamrf/rng.h"
#include "hamrf/status.h"
#include "models/model_file.h"
#include "odenet/odenet_impl.h"

#include <cblas.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* auto uses the dense QR when Φ has at most this many entries (128 MiB):
 * dgelsy then costs 2K(M+1)² flops, a few seconds at most, and is backward
 * stable (measured on the pendulum, width 500: test error 1e-9 against 1e-7
 * for the refined Gram route). Larger Φ still go to QR when they take at
 * most a quarter of the memory and lstsq.auto_direct_flops flops; beyond
 * that the Gram route's O(M²) memory wins. */
#define AUTO_DENSE_MAX ((double)(1u << 24))
/* Rows per block of eval/jacobian: about 4 MiB of σ(Z). */
#define EVAL_BLOCK_DOUBLES ((size_t)1 << 19)

struct hrf_odenet {
    size_t dim, width;
    const hrf_activation *act;
    /* One allocation: W (M, dim) | b (M) | C (M, dim) | C0 (dim) | P (M, dim, dim),
     * P[k][a][b] = C_ka W_kb (derived: the Jacobian's right factor). */
    double *slab;
    double *W, *b, *C, *C0, *P;
    cJSON *prov; /* how it was made (src/models/model_file.h), or NULL */
};

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void hrf_odenet_params_default(hrf_odenet_params *p) {
    hrf_hnn_params_default(p);
}

const char *hrf_odenet_params_check(const hrf_odenet_params *p) {
    return hrf_hnn_params_check(p);
}

static hrf_odenet *odenet_alloc(size_t dim, size_t width, const hrf_activation *act) {
    hrf_odenet *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->slab = calloc(width * (2 * dim + 1 + dim * dim) + dim, sizeof(double));
    if (!m->slab) {
        free(m);
        return NULL;
    }
    m->dim = dim, m->width = width, m->act = act;
    m->W = m->slab;
    m->b = m->W + width * dim;
    m->C = m->b + width;
    m->C0 = m->C + width * dim;
    m->P = m->C0 + dim;
    return m;
}

/* P[k][a][b] = C_ka W_kb, after C changes. */
static void update_products(hrf_odenet *m) {
    const size_t M = m->width, dim = m->dim;
    for (size_t k = 0; k < M; k++)
        for (size_t a = 0; a < dim; a++)
            for (size_t c = 0; c < dim; c++)
                m->P[(k * dim + a) * dim + c] = m->C[k * dim + a] * m->W[k * dim + c];
}

int hrf_odenet_from_params(size_t dim, size_t width, const hrf_activation *act, const double *W,
                           const double *b, const double *C, const double *C0, hrf_odenet **out) {
    *out = NULL;
    if (width == 0 || dim == 0 || dim % 2)
        return hrf_error(HRF_EINVAL,
                         "a network needs width > 0 and an even input dimension > 0 "
                         "(got width %zu, dim %zu)",
                         width, dim);
    for (size_t i = 0; i < width * dim; i++)
        if (!isfinite(W[i]) || !isfinite(C[i]))
            return hrf_error(HRF_EDATA, "W or C has a non-finite entry %zu", i);
    for (size_t k = 0; k < width; k++)
        if (!isfinite(b[k])) return hrf_error(HRF_EDATA, "b has a non-finite entry %zu", k);
    for (size_t a = 0; a < dim; a++)
        if (!isfinite(C0[a])) return hrf_error(HRF_EDATA, "C0 has a non-finite entry %zu", a);
    hrf_odenet *m = odenet_alloc(dim, width, act ? act : &hrf_activation_tanh);
    if (!m) return hrf_error(HRF_ENOMEM, "out of memory for a width-%zu ODE-net", width);
    memcpy(m->W, W, width * dim * sizeof *W);
    memcpy(m->b, b, width * sizeof *b);
    memcpy(m->C, C, width * dim * sizeof *C);
    memcpy(m->C0, C0, dim * sizeof *C0);
    update_products(m);
    *out = m;
    return HRF_OK;
}

void hrf_odenet_free(hrf_odenet *m) {
    if (!m) return;
    free(m->slab);
    cJSON_Delete(m->prov);
    free(m);
}

size_t hrf_odenet_dim(const hrf_odenet *m) {
    return m->dim;
}
size_t hrf_odenet_width(const hrf_odenet *m) {
    return m->width;
}
const double *hrf_odenet_W(const hrf_odenet *m) {
    return m->W;
}
const double *hrf_odenet_b(const hrf_odenet *m) {
    return m->b;
}
const double *hrf_odenet_C(const hrf_odenet *m) {
    return m->C;
}
const double *hrf_odenet_C0(const hrf_odenet *m) {
    return m->C0;
}
const hrf_activation *hrf_odenet_activation(const hrf_odenet *m) {
    return m->act;
}

/* Features of nb points x (nb, dim): z (nb, M) scratch receives Z = X Wᵀ + b
 * (DGEMM), then s[i·ld + k] = σ(z_ik) and/or ds[i·ld + k] = σ'(z_ik) (either
 * may be NULL; ld ≥ M lets the caller keep a column of ones beside σ(Z)). */
static void features(const hrf_activation *act, size_t M, size_t dim, const double *W,
                     const double *b, size_t nb, const double *x, double *z, double *s, double *ds,
                     size_t ld) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)M, (int)dim, 1.0, x,
                (int)dim, W, (int)dim, 0.0, z, (int)M);
#pragma omp parallel for schedule(static) if (nb * M >= 16384)
    for (size_t i = 0; i < nb; i++) {
        double *zi = z + i * M;
        for (size_t k = 0; k < M; k++)
            zi[k] += b[k];
        act->eval(M, zi, s ? s + i * ld : NULL, ds ? ds + i * ld : NULL);
    }
}

static size_t eval_block(size_t M, size_t n) {
    size_t B = EVAL_BLOCK_DOUBLES / (M ? M : 1);
    if (B < 16) B = 16;
    return B < n ? B : (n ? n : 1);
}

int hrf_odenet_eval(const hrf_odenet *m, size_t n, const double *x, double *dxdt) {
    const size_t M = m->width, dim = m->dim;
    if (n == 0) return HRF_OK;
    size_t B = eval_block(M, n);
    double *z = malloc(B * M * sizeof *z), *s = malloc(B * M * sizeof *s);
    if (!z || !s) {
        free(z), free(s);
        return hrf_error(HRF_ENOMEM, "out of memory evaluating a width-%zu ODE-net", M);
    }
    for (size_t r0 = 0; r0 < n; r0 += B) {
        size_t nb = n - r0 < B ? n - r0 : B;
        features(m->act, M, dim, m->W, m->b, nb, x + r0 * dim, z, s, NULL, M);
        double *y = dxdt + r0 * dim; /* (nb, dim) = 1 C0ᵀ + σ(Z) C */
        for (size_t i = 0; i < nb; i++)
            memcpy(y + i * dim, m->C0, dim * sizeof *y);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nb, (int)dim, (int)M, 1.0, s,
                    (int)M, m->C, (int)dim, 1.0, y, (int)dim);
    }
    free(z), free(s);
    return HRF_OK;
}

int hrf_odenet_jacobian(const hrf_odenet *m, size_t n, const double *x, double *jac) {
    const size_t M = m->width, dim = m->dim, d2 = dim * dim;
    if (n == 0) return HRF_OK;
    size_t B = eval_block(M, n);
    double *z = malloc(B * M * sizeof *z), *ds = malloc(B * M * sizeof *ds);
    if (!z || !ds) {
        free(z), free(ds);
        return hrf_error(HRF_ENOMEM, "out of memory for the Jacobian of a width-%zu ODE-net", M);
    }
    for (size_t r0 = 0; r0 < n; r0 += B) {
        size_t nb = n - r0 < B ? n - r0 : B;
        features(m->act, M, dim, m->W, m->b, nb, x + r0 * dim, z, NULL, ds, M);
        /* jac (nb, dim²) = σ'(Z) (nb, M) · P (M, dim²) */
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nb, (int)d2, (int)M, 1.0, ds,
                    (int)M, m->P, (int)d2, 0.0, jac + r0 * d2, (int)d2);
    }
    free(z), free(ds);
    return HRF_OK;
}

static int field_rhs(void *ctx, size_t n, const double *x, double *dxdt) {
    return hrf_odenet_eval(ctx, n, x, dxdt);
}

static int field_jac(void *ctx, size_t n, const double *x, double *jac) {
    return hrf_odenet_jacobian(ctx, n, x, jac);
}

void hrf_odenet_field(const hrf_odenet *m, hrf_field *f) {
    memset(f, 0, sizeof *f);
    f->dim = m->dim;
    f->separable = 0;   /* f̂ couples every coordinate */
    f->hamiltonian = 0; /* no Hamiltonian: the flow of f̂ conserves nothing in general */
    f->ctx = (void *)m; /* callbacks only read the model */
    f->rhs = field_rhs;
    f->jac = field_jac;
    f->energy = NULL;
}

int hrf_odenet_errors_on(const hrf_odenet *m, const hrf_dataset *d, hrf_odenet_errors *out) {
    if (m->dim != d->dim)
        return hrf_error(HRF_EINVAL,
                         "the model has input dimension %zu but the data set has "
                         "dimension %zu (x has shape (%zu, %zu))",
                         m->dim, d->dim, d->n, d->dim);
    const size_t n = d->n, dim = d->dim;
    double *f = malloc((n ? n : 1) * dim * sizeof *f);
    if (!f) return hrf_error(HRF_ENOMEM, "out of memory evaluating %zu points", n);
    int rc = hrf_odenet_eval(m, n, d->x, f);
    if (rc == HRF_OK) {
        out->n = n, out->dim = dim;
        out->rel_l2_dxdt = hrf_rel_l2(n * dim, f, d->dxdt);
        out->mse_dxdt = hrf_mse(n * dim, f, d->dxdt);
    }
    free(f);
    return rc;
}

/* ---- the least-squares solve ---- */

/* Rows per Gram block: about 32 MiB of Φ. */
static size_t gram_block_rows(size_t M) {
    size_t B = ((size_t)32 << 20) / (8 * (M + 1));
    return B < 64 ? 64 : B;
}

/* Bytes the outer-layer solve needs beyond the model and the data. */
static double solve_bytes(hrf_solver s, size_t K, size_t M, size_t dim, size_t block) {
    double Kd = (double)K, n = (double)M + 1.0, mb = Kd > n ? Kd : n;
    if (s == HRF_SOLVER_SVD || s == HRF_SOLVER_QR) /* Φ, the right-hand sides, LAPACK work */
        return hrf_lstsq_memory_estimate(s, K, M + 1) + 8.0 * mb * (double)dim;
    /* G and its factor, ΦᵀY, Θ and the CGLS vectors, a block of Φ and Z, the
     * residual and Φ v (K, dim) each, PCG vectors; a cached Φ comes on top
     * only when it fits what is left (cache_budget). */
    return 8.0 * (2.0 * n * n + 6.0 * n * (double)dim + (double)block * (2.0 * n) +
                  2.0 * Kd * (double)dim + 8.0 * n);
}

/* Model flop count of dgelsd / dgelsy on K x n with r right-hand sides
 * (as hamrf/lstsq.c counts them, plus applying Qᵀ to the r columns). */
static double dense_flops(hrf_solver s, double K, double n, double r) {
    return 2.0 * K * n * n - 2.0 * n * n * n / 3.0 + 4.0 * K * n * r +
           (s == HRF_SOLVER_SVD ? 11.0 * n * n * n : 0.0);
}

/* Dense Φ (K, M+1) column-major into A (lda K): Z by DGEMM, σ column by column
 * through per-thread scratch tmp (nthreads, K), then the column of ones. */
static void dense_features(const hrf_odenet *m, size_t K, const double *X, double *A, double *tmp) {
    const size_t M = m->width, dim = m->dim;
    /* Xᵀ is X row-major read as a dim x K column-major matrix; likewise W. */
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)K, (int)M, (int)dim, 1.0, X, (int)dim,
                m->W, (int)dim, 0.0, A, (int)K);
#pragma omp parallel
    {
        double *t = tmp + (size_t)omp_get_thread_num() * K;
#pragma omp for schedule(static)
        for (size_t k = 0; k < M; k++) {
            double *col = A + k * K;
            for (size_t i = 0; i < K; i++)
                t[i] = col[i] + m->b[k];
            m->act->eval(K, t, col, NULL);
        }
    }
    for (size_t i = 0; i < K; i++)
        A[M * K + i] = 1.0;
}

static int solve_dense(hrf_odenet *m, const hrf_dataset *data, hrf_solver s, int equilibrate,
                       double rcond, hrf_lstsq_report *lr) {
    const size_t K = data->n, M = m->width, dim = m->dim, n = M + 1, ldb = K > n ? K : n;
    if (K > (size_t)INT_MAX || n > (size_t)INT_MAX || (double)K * (double)n > 9.0e18 / 8.0)
        return hrf_error(HRF_ETOOBIG,
                         "the %s solver cannot factorise a %zu x %zu matrix (LAPACK "
                         "index range); use --solver normal",
                         hrf_solver_name(s), K, n);
    int nthreads = omp_get_max_threads();
    double *A = malloc(K * n * sizeof *A), *Bm = malloc(ldb * dim * sizeof *Bm);
    double *tmp = malloc((size_t)nthreads * K * sizeof *tmp), *scale = malloc(n * sizeof *scale);
    double *sv = s == HRF_SOLVER_SVD ? malloc((K < n ? K : n) * sizeof *sv) : NULL;
    lapack_int *jpvt = s == HRF_SOLVER_QR ? calloc(n, sizeof *jpvt) : NULL;
    int rc = HRF_OK;
    if (!A || !Bm || !tmp || !scale || (s == HRF_SOLVER_SVD ? !sv : !jpvt)) {
        rc = hrf_error(HRF_ENOMEM,
                       "out of memory for the %zu x %zu least-squares matrix "
                       "(%.3g GiB); try --solver normal",
                       K, n, 8.0 * (double)K * n / 1073741824.0);
        goto done;
    }
    dense_features(m, K, data->x, A, tmp);
    for (size_t i = 0; i < K * n; i++)
        if (!isfinite(A[i])) {
            rc = hrf_error(HRF_ENUMERIC,
                           "least-squares matrix has a non-finite entry (row %zu, "
                           "column %zu)",
                           i % K, i / K);
            goto done;
        }
    /* Column scaling: rcond then refers to the scale-free matrix. */
    for (size_t j = 0; j < n; j++) {
        double nrm = equilibrate ? cblas_dnrm2((int)K, A + j * K, 1) : 0.0;
        scale[j] = nrm > 0.0 ? 1.0 / nrm : 1.0;
        if (scale[j] != 1.0) cblas_dscal((int)K, scale[j], A + j * K, 1);
    }
    for (size_t i = 0; i < K; i++) /* Y as a column-major ldb x dim matrix */
        for (size_t a = 0; a < dim; a++)
            Bm[i + a * ldb] = data->dxdt[i * dim + a];
    lapack_int rank = 0, info;
    if (s == HRF_SOLVER_SVD)
        info = LAPACKE_dgelsd(LAPACK_COL_MAJOR, (lapack_int)K, (lapack_int)n, (lapack_int)dim, A,
                              (lapack_int)K, Bm, (lapack_int)ldb, sv, rcond, &rank);
    else
        info = LAPACKE_dgelsy(LAPACK_COL_MAJOR, (lapack_int)K, (lapack_int)n, (lapack_int)dim, A,
                              (lapack_int)K, Bm, (lapack_int)ldb, jpvt, rcond, &rank);
    if (info != 0) {
        rc = hrf_error(info < 0 ? HRF_EINVAL : HRF_ENUMERIC, "LAPACK %s failed (info %d)",
                       s == HRF_SOLVER_SVD ? "dgelsd (SVD did not converge)" : "dgelsy", (int)info);
        goto done;
    }
    for (size_t k = 0; k < M; k++)
        for (size_t a = 0; a < dim; a++)
            m->C[k * dim + a] = Bm[k + a * ldb] * scale[k];
    for (size_t a = 0; a < dim; a++)
        m->C0[a] = Bm[M + a * ldb] * scale[M];
    lr->rank = (int)rank;
    lr->flops = dense_flops(s, (double)K, (double)n, (double)dim) + 2.0 * (double)K * M * dim;
done:
    free(A), free(Bm), free(tmp), free(scale), free(sv), free(jpvt);
    return rc;
}

/* z = C⁻¹ C⁻ᵀ r for the upper Cholesky factor C (n x n, column-major). */
static void chol_apply(size_t n, const double *C, double *z) {
    cblas_dtrsv(CblasColMajor, CblasUpper, CblasTrans, CblasNonUnit, (int)n, C, (int)n, z, 1);
    cblas_dtrsv(CblasColMajor, CblasUpper, CblasNoTrans, CblasNonUnit, (int)n, C, (int)n, z, 1);
}

/* Preconditioned CG on the equilibrated, unridged Gram system S G S y = S t
 * (G upper triangle, column-major), preconditioner the ridged factor C, from
 * y (n) in place; keeps the iterate of smallest residual, stops after maxit
 * iterations, 5 without progress, or a residual 1e-15 of the start. work
 * holds 5n doubles. Returns the iterations run. (The same iteration as the
 * Gram PCG of hamrf/lstsq.c, here for one of dim right-hand sides.) */
static int gram_pcg(size_t n, const double *G, const double *C, const double *s, const double *t,
                    int maxit, double *y, double *work) {
    double *res = work, *z = work + n, *pv = work + 2 * n, *q = work + 3 * n, *best = work + 4 * n;
    for (size_t j = 0; j < n; j++)
        z[j] = s[j] * y[j];
    cblas_dsymv(CblasColMajor, CblasUpper, (int)n, 1.0, G, (int)n, z, 1, 0.0, q, 1);
    for (size_t j = 0; j < n; j++)
        res[j] = s[j] * (t[j] - q[j]);
    double rnorm0 = cblas_dnrm2((int)n, res, 1), best_norm = rnorm0;
    memcpy(best, y, n * sizeof *y);
    memcpy(z, res, n * sizeof *z);
    chol_apply(n, C, z);
    memcpy(pv, z, n * sizeof *z);
    double rz = cblas_ddot((int)n, res, 1, z, 1);
    int it, stall = 0;
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
        double rn = cblas_dnrm2((int)n, res, 1);
        if (rn < best_norm) {
            best_norm = rn;
            memcpy(best, y, n * sizeof *y);
            stall = 0;
        } else if (++stall >= 5) {
            break;
        }
        if (rn <= 1e-15 * rnorm0) break;
        memcpy(z, res, n * sizeof *z);
        chol_apply(n, C, z);
        double rz_new = cblas_ddot((int)n, res, 1, z, 1);
        double beta = rz_new / rz;
        rz = rz_new;
        for (size_t j = 0; j < n; j++)
            pv[j] = z[j] + beta * pv[j];
    }
    memcpy(y, best, n * sizeof *y);
    return it > maxit ? maxit : it;
}

/* How one pass solves. */
typedef struct {
    hrf_solver solver;   /* svd, qr or normal (auto is resolved by the caller) */
    int equilibrate;     /* svd/qr: unit column norms before the rcond cutoff */
    int maxit;           /* normal: refinement iterations when Φ is cached */
    int maxit_streamed;  /* normal: the same when Φ is recomputed per pass */
    size_t block_rows;   /* normal: rows per block, 0 = ~32 MiB */
    double cache_budget; /* normal: bytes Φ may occupy to be cached */
    hrf_lstsq_params lp; /* rcond, ridge, gram_refine_max, refine_tol, refine_stall */
} solve_opts;

/* Φ by row blocks for the normal route: kept whole (cached) when it fits the
 * budget, else recomputed block by block on every pass. */
typedef struct {
    const hrf_odenet *m;
    const double *X; /* (K, dim) training inputs */
    size_t K, M, n, dim, B;
    double *phi; /* (K, n) row-major cached Φ, or NULL */
    double *blk; /* (B, n) block buffer when not cached */
    double *z;   /* (B, M) pre-activation scratch */
} phi_ctx;

/* Rows [r0, r0+nb) of Φ, (nb, n) row-major = an n x nb column-major matrix. */
static const double *phi_rows(phi_ctx *c, size_t r0, size_t nb) {
    if (c->phi) return c->phi + r0 * c->n;
    features(c->m->act, c->M, c->dim, c->m->W, c->m->b, nb, c->X + r0 * c->dim, c->z, c->blk, NULL,
             c->n);
    for (size_t i = 0; i < nb; i++)
        c->blk[i * c->n + c->M] = 1.0;
    return c->blk;
}

/* Q = Φ V: V (n, dim) column-major, Q (K, dim) row-major. */
static void phi_apply(phi_ctx *c, const double *V, double *Q) {
    for (size_t r0 = 0; r0 < c->K; r0 += c->B) {
        size_t nb = c->K - r0 < c->B ? c->K - r0 : c->B;
        const double *A = phi_rows(c, r0, nb);
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)c->dim, (int)nb, (int)c->n, 1.0,
                    V, (int)c->n, A, (int)c->n, 0.0, Q + r0 * c->dim, (int)c->dim);
    }
}

/* U = Φᵀ R: R (K, dim) row-major, U (n, dim) column-major. */
static void phi_apply_t(phi_ctx *c, const double *R, double *U) {
    memset(U, 0, c->n * c->dim * sizeof *U);
    for (size_t r0 = 0; r0 < c->K; r0 += c->B) {
        size_t nb = c->K - r0 < c->B ? c->K - r0 : c->B;
        const double *A = phi_rows(c, r0, nb);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, (int)c->n, (int)c->dim, (int)nb, 1.0,
                    A, (int)c->n, R + r0 * c->dim, (int)c->dim, 1.0, U, (int)c->n);
    }
}

/* U = Bᵀ R = C⁻ᵀ S Φᵀ R for the preconditioned matrix B = Φ S C⁻¹: R (K, dim)
 * row-major, U (n, dim) column-major. */
static void bt_apply(phi_ctx *c, const double *Cf, const double *s, const double *R, double *U) {
    const size_t n = c->n, dim = c->dim;
    phi_apply_t(c, R, U);
    for (size_t a = 0; a < dim; a++)
        for (size_t j = 0; j < n; j++)
            U[j + a * n] *= s[j];
    cblas_dtrsm(CblasColMajor, CblasLeft, CblasUpper, CblasTrans, CblasNonUnit, (int)n, (int)dim,
                1.0, Cf, (int)n, U, (int)n);
}

/* Stall window of the refinement (as hamrf/lstsq.c's LSQR). */
#define REFINE_WINDOW 10

/* Refinement of Θ (n, dim) column-major by CGLS on the right-preconditioned
 * problem min ‖Φ S C⁻¹ δ − r0‖ (C the ridged Cholesky factor of S G S, so
 * B = Φ S C⁻¹ has ‖B‖₂ ≤ 1 and singular values near 1): removes the ridge's
 * bias and the error of squaring the condition number, to the accuracy of
 * the residual itself. The dim columns iterate independently (own α, β) and
 * share every pass over Φ. A column stops when ‖Bᵀr‖ ≤ tol·‖r‖; all stop
 * when ‖r‖_F fell by less than a fraction `stall` over REFINE_WINDOW
 * iterations, or after maxit. */
static int cgls_refine(phi_ctx *c, const double *Y, const double *Cf, const double *s, int maxit,
                       double tol, double stall, double *Th, int *iters, int *converged) {
    const size_t K = c->K, n = c->n, dim = c->dim;
    double *r = malloc(K * dim * sizeof *r), *q = malloc(K * dim * sizeof *q);
    double *v = malloc(n * dim * sizeof *v), *pv = malloc(n * dim * sizeof *pv);
    double *sv = malloc(n * dim * sizeof *sv), *ab = malloc(5 * dim * sizeof *ab);
    double *best = malloc(n * dim * sizeof *best);
    double hist[REFINE_WINDOW] = {0};
    int rc = HRF_OK;
    *iters = 0;
    *converged = 1;
    if (!r || !q || !v || !pv || !sv || !ab || !best) {
        rc = hrf_error(HRF_ENOMEM, "out of memory for the refinement vectors (%zu x %zu)", K, dim);
        goto done;
    }
    double *gamma = ab, *alpha = ab + dim, *rn = ab + 2 * dim, *active = ab + 3 * dim;
    double *rbest = ab + 4 * dim;
    memcpy(best, Th, n * dim * sizeof *best);
    phi_apply(c, Th, q); /* r = Y − Φ Θ */
    for (size_t j = 0; j < K * dim; j++)
        r[j] = Y[j] - q[j];
    bt_apply(c, Cf, s, r, sv); /* sv = Bᵀ r */
    memcpy(pv, sv, n * dim * sizeof *pv);
    int nactive = 0;
    for (size_t a = 0; a < dim; a++) {
        gamma[a] = cblas_ddot((int)n, sv + a * n, 1, sv + a * n, 1);
        rn[a] = rbest[a] = cblas_dnrm2((int)K, r + a, (int)dim);
        active[a] = rn[a] > 0.0 && sqrt(gamma[a]) > tol * rn[a];
        nactive += active[a] != 0.0;
    }
    for (int it = 1; it <= maxit && nactive > 0; it++) {
        /* v = S C⁻¹ p; q = Φ v */
        memcpy(v, pv, n * dim * sizeof *v);
        cblas_dtrsm(CblasColMajor, CblasLeft, CblasUpper, CblasNoTrans, CblasNonUnit, (int)n,
                    (int)dim, 1.0, Cf, (int)n, v, (int)n);
        for (size_t a = 0; a < dim; a++)
            for (size_t j = 0; j < n; j++)
                v[j + a * n] *= s[j];
        phi_apply(c, v, q);
        for (size_t a = 0; a < dim; a++) {
            double qq = cblas_ddot((int)K, q + a, (int)dim, q + a, (int)dim);
            alpha[a] = active[a] != 0.0 && qq > 0.0 ? gamma[a] / qq : 0.0;
            cblas_daxpy((int)n, alpha[a], v + a * n, 1, Th + a * n, 1);
            cblas_daxpy((int)K, -alpha[a], q + a, (int)dim, r + a, (int)dim);
        }
        bt_apply(c, Cf, s, r, sv);
        double rtot = 0.0;
        nactive = 0;
        for (size_t a = 0; a < dim; a++) {
            rn[a] = cblas_dnrm2((int)K, r + a, (int)dim);
            rtot += rn[a] * rn[a];
            if (active[a] == 0.0) continue;
            double gnew = cblas_ddot((int)n, sv + a * n, 1, sv + a * n, 1);
            double beta = gamma[a] > 0.0 ? gnew / gamma[a] : 0.0;
            for (size_t j = 0; j < n; j++)
                pv[j + a * n] = sv[j + a * n] + beta * pv[j + a * n];
            gamma[a] = gnew;
            active[a] = rn[a] > 0.0 && sqrt(gnew) > tol * rn[a];
            /* ‖r‖ never grows in exact arithmetic: once it does, rounding
             * has taken over, and the column keeps its best iterate. */
            if (rn[a] < rbest[a]) {
                rbest[a] = rn[a];
                memcpy(best + a * n, Th + a * n, n * sizeof *best);
            } else if (rn[a] > rbest[a]) {
                active[a] = 0.0;
            }
            nactive += active[a] != 0.0;
        }
        rtot = sqrt(rtot);
        if (getenv("HAMRF_DEBUG"))
            fprintf(stderr, "[hamrf debug] odenet cgls %d: |r| %.6e\n", it, rtot);
        *iters = it;
        if (!isfinite(rtot)) {
            rc = hrf_error(HRF_ENUMERIC, "the refinement diverged (non-finite residual)");
            goto done;
        }
        double old = hist[it % REFINE_WINDOW]; /* ‖r‖ of iteration it − REFINE_WINDOW */
        hist[it % REFINE_WINDOW] = rtot;
        if (it > REFINE_WINDOW && rtot >= (1.0 - stall) * old) break;
        if (it == maxit && nactive > 0) *converged = 0;
    }
    memcpy(Th, best, n * dim * sizeof *Th);
done:
    free(r), free(q), free(v), free(pv), free(sv), free(ab), free(best);
    return rc;
}

/* The normal route: Gram accumulation, equilibrated ridged Cholesky, DPOTRS
 * with dim right-hand sides, PCG on the Gram system, CGLS refinement (at
 * most maxit iterations; passes over Φ). cache_budget: bytes Φ may take. */
static int solve_normal(hrf_odenet *m, const hrf_dataset *data, const solve_opts *o,
                        hrf_lstsq_report *lr, int *cached) {
    const size_t K = data->n, M = m->width, dim = m->dim, n = M + 1;
    const hrf_lstsq_params *lp = &o->lp;
    phi_ctx c = {m,    data->x, K,   M, n, dim, o->block_rows ? o->block_rows : gram_block_rows(M),
                 NULL, NULL,    NULL};
    if (c.B > K) c.B = K;
    double *G = calloc(n * n, sizeof *G), *Cf = malloc(n * n * sizeof *Cf);
    double *T = calloc(n * dim, sizeof *T), *Th = malloc(n * dim * sizeof *Th);
    double *s = malloc(n * sizeof *s), *work = malloc(5 * n * sizeof *work);
    c.z = malloc(c.B * M * sizeof *c.z);
    int rc = HRF_OK;
    if (!G || !Cf || !T || !Th || !s || !work || !c.z) {
        rc = hrf_error(HRF_ENOMEM, "out of memory for the %zu x %zu Gram matrix", n, n);
        goto done;
    }
    if (8.0 * (double)K * (double)n <= o->cache_budget) c.phi = malloc(K * n * sizeof *c.phi);
    if (c.phi) { /* fill the cache block by block (Z scratch stays one block) */
        for (size_t r0 = 0; r0 < K; r0 += c.B) {
            size_t nb = K - r0 < c.B ? K - r0 : c.B;
            double *A = c.phi + r0 * n;
            features(m->act, M, dim, m->W, m->b, nb, data->x + r0 * dim, c.z, A, NULL, n);
            for (size_t i = 0; i < nb; i++)
                A[i * n + M] = 1.0;
        }
    } else if (!(c.blk = malloc(c.B * n * sizeof *c.blk))) {
        rc = hrf_error(HRF_ENOMEM, "out of memory for a %zu x %zu feature block", c.B, n);
        goto done;
    }
    *cached = c.phi != NULL;
    int maxit = *cached ? o->maxit : o->maxit_streamed;
    /* G = ΦᵀΦ (upper), T = ΦᵀY (n x dim column-major), over row blocks. */
    for (size_t r0 = 0; r0 < K; r0 += c.B) {
        size_t nb = K - r0 < c.B ? K - r0 : c.B;
        const double *A = phi_rows(&c, r0, nb);
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, (int)n, (int)nb, 1.0, A, (int)n, 1.0,
                    G, (int)n);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, (int)n, (int)dim, (int)nb, 1.0, A,
                    (int)n, data->dxdt + r0 * dim, (int)dim, 1.0, T, (int)n);
    }
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
    /* Cholesky of S G S + λ I; λ grows tenfold until it factorises. */
    double lambda = lp->ridge;
    for (int attempt = 0;; attempt++) {
        for (size_t j = 0; j < n; j++) {
            for (size_t i = 0; i <= j; i++)
                Cf[i + j * n] = s[i] * G[i + j * n] * s[j];
            Cf[j + j * n] += lambda;
        }
        lapack_int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', (lapack_int)n, Cf, (lapack_int)n);
        if (info == 0) break;
        if (info < 0 || attempt >= 12) {
            rc = hrf_error(HRF_ENUMERIC,
                           "Cholesky factorisation failed even with ridge %.3g "
                           "(info %d)",
                           lambda, (int)info);
            goto done;
        }
        lambda = lambda > 0.0 ? lambda * 10.0 : 1e-15;
    }
    lr->ridge_used = lambda;
    if (lambda != lp->ridge) {
        size_t len = strlen(lr->reason);
        snprintf(lr->reason + len, sizeof lr->reason - len,
                 "%sridge raised from %.3g to %.3g so the Gram matrix factorises", len ? "; " : "",
                 lp->ridge, lambda);
    }
    /* All dim right-hand sides at once: (S G S + λI) Y' = S T, Θ = S Y'. */
    for (size_t a = 0; a < dim; a++)
        for (size_t j = 0; j < n; j++)
            Th[j + a * n] = s[j] * T[j + a * n];
    lapack_int info = LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'U', (lapack_int)n, (lapack_int)dim, Cf,
                                     (lapack_int)n, Th, (lapack_int)n);
    if (info != 0) {
        rc = hrf_error(HRF_ENUMERIC, "LAPACK dpotrs failed (info %d)", (int)info);
        goto done;
    }
    double Kd = (double)K, nd = (double)n, pass = 2.0 * Kd * nd * dim;
    double feat = *cached ? 0.0 : 2.0 * Kd * M * dim; /* Z recomputed per pass */
    lr->flops =
        Kd * nd * (nd + 1.0) + pass + 2.0 * Kd * M * dim + nd * nd * nd / 3.0 + 2.0 * nd * nd * dim;
    lr->gram_iterations = 0;
    if (lp->gram_refine_max > 0) { /* PCG per column, in the equilibrated variables */
        for (size_t a = 0; a < dim; a++) {
            int it = gram_pcg(n, G, Cf, s, T + a * n, lp->gram_refine_max, Th + a * n, work);
            if (it > lr->gram_iterations) lr->gram_iterations = it;
            lr->flops += 2.0 * it * 2.0 * nd * nd;
        }
    }
    for (size_t j = 0; j < n * dim; j++)
        Th[j] *= s[j % n];
    lr->iterations = 0;
    lr->converged = 1;
    if (maxit > 0) {
        rc = cgls_refine(&c, data->dxdt, Cf, s, maxit, lp->refine_tol, lp->refine_stall, Th,
                         &lr->iterations, &lr->converged);
        if (rc) goto done;
        lr->flops += pass + feat + lr->iterations * (2.0 * (pass + feat) + 2.0 * nd * nd * dim);
    }
    for (size_t j = 0; j < n * dim; j++)
        if (!isfinite(Th[j])) {
            rc = hrf_error(HRF_ENUMERIC, "the normal-equations solution is not finite");
            goto done;
        }
    for (size_t k = 0; k < M; k++)
        for (size_t a = 0; a < dim; a++)
            m->C[k * dim + a] = Th[k + a * n];
    for (size_t a = 0; a < dim; a++)
        m->C0[a] = Th[M + a * n];
done:
    free(G), free(Cf), free(T), free(Th), free(s), free(work), free(c.z), free(c.phi), free(c.blk);
    return rc;
}

/* Solves for (C, C0) given the sampled W, b in m; updates the Jacobian's P. */
static int odenet_solve(hrf_odenet *m, const hrf_dataset *data, const solve_opts *o,
                        hrf_lstsq_report *lr, int *cached) {
    double t0 = now_seconds();
    lr->used = o->solver;
    lr->rank = -1;
    lr->ridge_used = 0.0;
    lr->gram_iterations = lr->iterations = 0;
    lr->converged = 1;
    lr->rel_residual = NAN;
    *cached = 0;
    int rc;
    if (o->solver == HRF_SOLVER_NORMAL) {
        rc = solve_normal(m, data, o, lr, cached);
    } else {
        rc = solve_dense(m, data, o->solver, o->equilibrate, o->lp.rcond, lr);
    }
    lr->seconds = now_seconds() - t0;
    if (rc == HRF_OK) update_products(m);
    return rc;
}

/* Appends src to the string in dst (capacity cap), truncating. */
static void str_append(char *dst, size_t cap, const char *src) {
    size_t len = strlen(dst);
    while (*src && len + 1 < cap)
        dst[len++] = *src++;
    dst[len] = '\0';
}

static void report_progress(const hrf_odenet_params *p, const char *stage, double f) {
    if (p->progress) p->progress(p->progress_user, stage, f);
}

int hrf_odenet_fit(const hrf_odenet_params *p, const hrf_dataset *data, hrf_odenet **out,
                   hrf_odenet_fit_report *rep) {
    hrf_odenet_fit_report local;
    if (!rep) rep = &local;
    memset(rep, 0, sizeof *rep);
    rep->lstsq.rank = -1;
    *out = NULL;
    const char *msg = hrf_odenet_params_check(p);
    if (msg) return hrf_error(HRF_EINVAL, "%s", msg);
    const size_t K = data->n, dim = data->dim, M = p->width;
    if (K == 0) return hrf_error(HRF_EDATA, "the training set is empty");
    if (dim == 0) return hrf_error(HRF_EDATA, "the training set has dimension 0");
    if (p->sampler->density != HRF_PAIRS_NONE && K < 2)
        return hrf_error(HRF_EDATA,
                         "sampler '%s' draws pairs of training points and needs at "
                         "least 2, the data set has %zu",
                         p->sampler->name, K);
    /* Refuse absurd sizes before allocating anything large (and before any
     * size arithmetic could overflow). */
    double Kd = (double)K, Md = (double)M;
    if (M > ((size_t)1 << 32) || K > ((size_t)1 << 40) || dim > 4096)
        return hrf_error(HRF_ETOOBIG,
                         "width %zu on %zu points of dimension %zu is beyond what "
                         "hamrf supports (width at most 2^32, at most 2^40 points): it needs "
                         "about %.3g GiB",
                         M, K, dim, 8.0 * (Md * Md + Kd * Md) / 1073741824.0);

    /* The solver of the final pass, and of A-SWIM's first pass (which only
     * shapes the second pass's density: under auto, the Gram route without
     * PCG or refinement, as the HNN does). */
    double avail = (double)hrf_mem_available();
    double limit = p->lstsq.mem_limit ? (double)p->lstsq.mem_limit : avail;
    solve_opts o = {p->lstsq.solver,
                    p->lstsq.equilibrate,
                    p->lstsq.refine_max,
                    p->lstsq.stream_refine_max < p->lstsq.refine_max ? p->lstsq.stream_refine_max
                                                                     : p->lstsq.refine_max,
                    p->block_rows,
                    0.0,
                    p->lstsq};
    size_t block = p->block_rows ? p->block_rows : gram_block_rows(M);
    if (block > K) block = K;
    char reason[256] = "";
    if (o.solver == HRF_SOLVER_AUTO) {
        double entries = Kd * (Md + 1.0);
        double qr_bytes = solve_bytes(HRF_SOLVER_QR, K, M, dim, block);
        double qr_flops = dense_flops(HRF_SOLVER_QR, Kd, Md + 1.0, (double)dim);
        int fits = limit <= 0.0 || qr_bytes <= 0.5 * limit;
        int small = entries <= AUTO_DENSE_MAX;
        if (fits &&
            (small || (qr_bytes <= 0.25 * limit && qr_flops <= p->lstsq.auto_direct_flops))) {
            o.solver = HRF_SOLVER_QR;
            o.equilibrate = 1;
            if (small)
                snprintf(reason, sizeof reason,
                         "auto: dense QR (dgelsy, equilibrated) of the %zu x "
                         "%zu feature matrix (%.3g entries <= %.3g)",
                         K, M + 1, entries, AUTO_DENSE_MAX);
            else
                snprintf(reason, sizeof reason,
                         "auto: dense QR (dgelsy, equilibrated) of the %zu x "
                         "%zu feature matrix (%.3g flops <= %.3g, %.3g GiB)",
                         K, M + 1, qr_flops, p->lstsq.auto_direct_flops, qr_bytes / 1073741824.0);
        } else {
            o.solver = HRF_SOLVER_NORMAL;
            snprintf(reason, sizeof reason,
                     "auto: Gram route (Cholesky + PCG + CGLS): the dense QR "
                     "of the %zu x %zu feature matrix would take %.3g GiB and %.3g flops",
                     K, M + 1, qr_bytes / 1073741824.0, qr_flops);
        }
    }
    solve_opts o1 = o; /* A-SWIM's first pass */
    if (p->lstsq.solver == HRF_SOLVER_AUTO) {
        o1.solver = HRF_SOLVER_NORMAL;
        o1.maxit = o1.maxit_streamed = 0;
        o1.lp.gram_refine_max = 0;
    }
    double need_solver = solve_bytes(o.solver, K, M, dim, block);
    if (p->sampler->adaptive) {
        double n1 = solve_bytes(o1.solver, K, M, dim, block);
        if (n1 > need_solver) need_solver = n1;
    }
    double pool = Kd * (double)((M + K - 1) / K) * 25.0; /* SWIM pool: 2 indices, 1 weight */
    double need = 8.0 * Md * (2.0 * dim + 1.0 + (double)dim * dim) + need_solver + pool +
                  (p->sampler->adaptive ? 8.0 * Kd * dim : 0.0);
    if (limit > 0.0 && need > limit)
        return hrf_error(HRF_ETOOBIG,
                         "width %zu on %zu points needs about %.3g GiB with the %s "
                         "solver, but only %.3g GiB are available%s",
                         M, K, need / 1073741824.0, hrf_solver_name(o.solver), limit / 1073741824.0,
                         o.solver == HRF_SOLVER_NORMAL ? "" : " (try --solver normal)");
    /* Φ is cached for the normal route when it fits cache_bytes and half of
     * what is left of the memory. */
    double cache_budget = (double)p->cache_bytes;
    if (limit > 0.0 && cache_budget > 0.5 * (limit - need)) cache_budget = 0.5 * (limit - need);
    o.cache_budget = o1.cache_budget = cache_budget;

    double t_start = now_seconds();
    hrf_odenet *m = odenet_alloc(dim, M, p->act);
    double *Fhat = NULL;
    int rc = HRF_OK;
    if (!m) {
        rc = hrf_error(HRF_ENOMEM, "out of memory for a width-%zu ODE-net", M);
        goto fail;
    }
    hrf_layer_sample_params lsp = {M, p->elm_lo, p->elm_hi, p->resample_duplicates, p->act};
    if (isnan(lsp.elm_lo)) { /* MATH.md §2.1: [smallest, largest] of the box bounds */
        double lo = INFINITY, hi = -INFINITY;
        for (size_t a = 0; a < dim; a++) {
            if (data->box_lo) {
                lo = fmin(lo, data->box_lo[a]), hi = fmax(hi, data->box_hi[a]);
            } else {
                for (size_t i = 0; i < K; i++)
                    lo = fmin(lo, data->x[i * dim + a]), hi = fmax(hi, data->x[i * dim + a]);
            }
        }
        lsp.elm_lo = lo, lsp.elm_hi = hi;
    }
    hrf_rng rng;
    hrf_rng_seed(&rng, p->seed);
    size_t repeated = 0;
    double ts = now_seconds();
    report_progress(p, "sampling", 0.0);
    /* SWIM's oracle for an ODE-net is the target itself, dx/dt. */
    rc = hrf_layer_sample_vec(p->sampler->density, &lsp, K, dim, data->x, dim,
                              p->sampler->density == HRF_PAIRS_VALUES ? data->dxdt : NULL, &rng,
                              m->W, m->b, &repeated);
    rep->sample_seconds += now_seconds() - ts;
    if (rc) goto fail;
    report_progress(p, "solving", 0.1);
    if ((rc = odenet_solve(m, data, p->sampler->adaptive ? &o1 : &o, &rep->lstsq, &rep->cached)))
        goto fail;
    rep->solve_seconds += rep->lstsq.seconds;
    rep->solve_flops += rep->lstsq.flops;
    rep->passes = 1;
    if (p->sampler->adaptive) {
        /* A-SWIM: f̂ of the first fit at the training inputs drives the SWIM density. */
        report_progress(p, "resampling (A-SWIM)", 0.5);
        ts = now_seconds();
        Fhat = malloc(K * dim * sizeof *Fhat);
        if (!Fhat) {
            rc = hrf_error(HRF_ENOMEM, "out of memory for f̂ at %zu points", K);
            goto fail;
        }
        if ((rc = hrf_odenet_eval(m, K, data->x, Fhat))) goto fail;
        rc = hrf_layer_sample_vec(HRF_PAIRS_VALUES, &lsp, K, dim, data->x, dim, Fhat, &rng, m->W,
                                  m->b, &repeated);
        rep->sample_seconds += now_seconds() - ts;
        if (rc) goto fail;
        report_progress(p, "solving (A-SWIM)", 0.6);
        memset(&rep->lstsq, 0, sizeof rep->lstsq);
        if ((rc = odenet_solve(m, data, &o, &rep->lstsq, &rep->cached))) goto fail;
        rep->solve_seconds += rep->lstsq.seconds;
        rep->solve_flops += rep->lstsq.flops;
        rep->passes = 2;
    }
    if (reason[0]) { /* auto's choice first, then the solver's own notes */
        char buf[sizeof rep->lstsq.reason] = "";
        str_append(buf, sizeof buf, reason);
        if (rep->lstsq.reason[0]) {
            str_append(buf, sizeof buf, "; ");
            str_append(buf, sizeof buf, rep->lstsq.reason);
        }
        memcpy(rep->lstsq.reason, buf, sizeof buf);
    }
    rep->repeated_pairs = repeated;
    rep->fit_seconds = now_seconds() - t_start;
    if (!p->lstsq.skip_residual) { /* ‖ΦΘ − Y‖_F/‖Y‖_F = rel. L2 error of f̂ on the training set */
        if (!Fhat) Fhat = malloc(K * dim * sizeof *Fhat);
        if (!Fhat) {
            rc = hrf_error(HRF_ENOMEM, "out of memory for f̂ at %zu points", K);
            goto fail;
        }
        if ((rc = hrf_odenet_eval(m, K, data->x, Fhat))) goto fail;
        rep->lstsq.rel_residual = hrf_rel_l2(K * dim, Fhat, data->dxdt);
    }
    report_progress(p, "done", 1.0);
    free(Fhat);
    if (!(m->prov = hrf_provenance_sampled(p, rep->lstsq.used, data))) {
        hrf_odenet_free(m);
        return hrf_error(HRF_ENOMEM, "out of memory");
    }
    *out = m;
    return HRF_OK;
fail:
    free(Fhat);
    hrf_odenet_free(m);
    return rc;
}

/* ---- files ---- */

/* The keys an ODE-net file's meta owns, and of those the provenance keys a
 * sampled fit writes last (as files of format version 1 have them). */
static const char *const odenet_keys[] = {"activation", "width", "dim", NULL};
static const char *const odenet_keys_tail[] = {"activation", "width", "dim", "sampler",
                                               "solver",     "seed",  NULL};
static const char *const odenet_tail[] = {"sampler", "solver", "seed", NULL};

int hrf_odenet_save_meta(const hrf_odenet *m, const char *path, const cJSON *extra) {
    /* A gradient-trained ODE-net's provenance has no sampler: its seed
     * stays where the provenance has it. */
    int sampled = cJSON_HasObjectItem(m->prov, "sampler");
    hrf_npz_writer *w;
    cJSON *meta;
    int rc = hrf_model_file_begin("odenet", m->prov, extra,
                                  sampled ? odenet_keys_tail : odenet_keys, &w, &meta);
    if (rc) return rc;
    cJSON_AddStringToObject(meta, "activation", m->act->name);
    cJSON_AddNumberToObject(meta, "width", (double)m->width);
    cJSON_AddNumberToObject(meta, "dim", (double)m->dim);
    size_t sW[2] = {m->width, m->dim}, sM[1] = {m->width}, sD[1] = {m->dim};
    rc = hrf_npz_writer_add(w, "W", 2, sW, m->W);
    if (!rc) rc = hrf_npz_writer_add(w, "b", 1, sM, m->b);
    if (!rc) rc = hrf_npz_writer_add(w, "C", 2, sW, m->C);
    if (!rc) rc = hrf_npz_writer_add(w, "C0", 1, sD, m->C0);
    if (rc) {
        cJSON_Delete(meta);
        hrf_npz_writer_free(w);
        return rc;
    }
    return hrf_model_file_finish(w, meta, m->prov, sampled ? odenet_tail : NULL, path);
}

void hrf_odenet_set_provenance(hrf_odenet *m, cJSON *prov) {
    cJSON_Delete(m->prov);
    m->prov = prov;
}

const cJSON *hrf_odenet_provenance(const hrf_odenet *m) {
    return m->prov;
}

int hrf_odenet_load_meta(const char *path, hrf_odenet **out, cJSON **meta_out) {
    *out = NULL;
    if (meta_out) *meta_out = NULL;
    hrf_npz *z = NULL;
    cJSON *meta = NULL;
    double *W = NULL, *b = NULL, *C = NULL, *C0 = NULL;
    hrf_odenet *m = NULL;
    const hrf_activation *act = NULL;
    int rc = hrf_model_file_open(path, "odenet", &z, &meta, &act);
    if (rc) return rc;
    size_t sW[2] = {0, 0};
    if ((rc = hrf_npz_read(z, "W", 2, sW, &W))) goto done;
    if (sW[0] == 0 || sW[1] == 0 || sW[1] % 2) {
        rc = hrf_error(HRF_EFORMAT,
                       "%s: entry 'W': expected shape (width > 0, 2d), found "
                       "(%zu, %zu)",
                       path, sW[0], sW[1]);
        goto done;
    }
    size_t sM[1] = {sW[0]}, sC[2] = {sW[0], sW[1]}, sD[1] = {sW[1]};
    if ((rc = hrf_npz_read(z, "b", 1, sM, &b))) goto done;
    if ((rc = hrf_npz_read(z, "C", 2, sC, &C))) goto done;
    if ((rc = hrf_npz_read(z, "C0", 1, sD, &C0))) goto done;
    if ((rc = hrf_check_finite(path, "W", W, sW[0] * sW[1])) ||
        (rc = hrf_check_finite(path, "b", b, sW[0])) ||
        (rc = hrf_check_finite(path, "C", C, sW[0] * sW[1])) ||
        (rc = hrf_check_finite(path, "C0", C0, sW[1])))
        goto done;
    m = odenet_alloc(sW[1], sW[0], act);
    if (!m) {
        rc = hrf_error(HRF_ENOMEM, "out of memory");
        goto done;
    }
    memcpy(m->W, W, sW[0] * sW[1] * sizeof *W);
    memcpy(m->b, b, sW[0] * sizeof *b);
    memcpy(m->C, C, sW[0] * sW[1] * sizeof *C);
    memcpy(m->C0, C0, sW[1] * sizeof *C0);
    update_products(m);
    /* Provenance, kept so that load → save preserves it. */
    if (!(m->prov = hrf_model_provenance_of_meta(meta, odenet_keys))) {
        rc = hrf_error(HRF_ENOMEM, "out of memory");
        goto done;
    }
    *out = m;
    m = NULL;
    if (meta_out) {
        *meta_out = meta;
        meta = NULL;
    }
done:
    free(W), free(b), free(C), free(C0);
    hrf_odenet_free(m);
    cJSON_Delete(meta);
    hrf_npz_close(z);
    return rc;
}

/* The public, JSON-text forms (hamrf/odenet.h). */
int hrf_odenet_save(const hrf_odenet *m, const char *path, const char *extra_json) {
    cJSON *extra = NULL;
    int rc = hrf_json_object_parse(extra_json, "hrf_odenet_save: extra meta", &extra);
    if (!rc) rc = hrf_odenet_save_meta(m, path, extra);
    cJSON_Delete(extra);
    return rc;
}

int hrf_odenet_load(const char *path, hrf_odenet **out, char **meta_json) {
    cJSON *meta = NULL;
    if (meta_json) *meta_json = NULL;
    int rc = hrf_odenet_load_meta(path, out, meta_json ? &meta : NULL);
    if (!rc && meta_json && !(*meta_json = hrf_json_print(meta))) {
        hrf_odenet_free(*out);
        *out = NULL;
        rc = hrf_error(HRF_ENOMEM, "out of memory");
    }
    cJSON_Delete(meta);
    return rc;
}
