/* The HNN's structured least-squares problem (docs/math.md §4) and
 * hnn_solve, which fits (c, c0) for a sampled hidden layer.
 *
 * The problem has rows (i, a) — point i, coordinate a, in the order
 * i·dim + a — and a last anchor row; columns c_1..c_M, c_0. With
 * D_ik = σ'(w_k·x_i + b_k):
 *   A v   : y_ia = Σ_k D_ik W_ka v_k          = (D · diag(v) W)_ia
 *   Aᵀ y  : v_k  = Σ_a W_ka (Dᵀ Y)_ka
 *   AᵀA   : (DᵀD) ⊙ (W Wᵀ)                   (Gram–Hadamard identity)
 * plus the anchor row [σ(W x0 + b), 1]. D is kept in memory when it fits
 * the cache budget and is recomputed block by block otherwise, so the
 * matrix A itself is formed only by the dense (svd, qr) solvers. */
#include "core/sysinfo.h"
#include "hamrf/hnn.h"
#include "hamrf/status.h"
#include "hnn/hnn_impl.h"

#include <cblas.h>
#include <lapacke.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Pre-activations z_k = w_k·x + b_k for one point x (dim); z (M). Wt is W
 * transposed (dim x M), so the loop runs along k in vector registers; the
 * sum is taken in the order b_k + w_k1 x_1 + w_k2 x_2 + ... */
static inline void preact(size_t M, size_t dim, const double *Wt, const double *b, const double *x,
                          double *z) {
    size_t a = 0;
    if (dim >= 4) {
        const double *w0 = Wt, *w1 = Wt + M, *w2 = Wt + 2 * M, *w3 = Wt + 3 * M;
        double x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
#pragma omp simd
        for (size_t k = 0; k < M; k++)
            z[k] = b[k] + w0[k] * x0 + w1[k] * x1 + w2[k] * x2 + w3[k] * x3;
        a = 4;
    } else {
        memcpy(z, b, M * sizeof *z);
    }
    for (; a + 2 <= dim; a += 2) {
        const double *w0 = Wt + a * M, *w1 = Wt + (a + 1) * M;
        double x0 = x[a], x1 = x[a + 1];
#pragma omp simd
        for (size_t k = 0; k < M; k++)
            z[k] = z[k] + w0[k] * x0 + w1[k] * x1;
    }
    for (; a < dim; a++) {
        const double *w0 = Wt + a * M;
        double x0 = x[a];
#pragma omp simd
        for (size_t k = 0; k < M; k++)
            z[k] += w0[k] * x0;
    }
}

/* Wt = Wᵀ: the (M, dim) weights as dim x M. */
static void transpose_weights(size_t M, size_t dim, const double *W, double *Wt) {
    for (size_t k = 0; k < M; k++)
        for (size_t a = 0; a < dim; a++)
            Wt[a * M + k] = W[k * dim + a];
}

/* Rows [r0, r1) of S = σ(Z) and/or D = σ'(Z) (each (r1−r0, M) row-major, may be
 * NULL). zbuf holds omp_get_max_threads() x M doubles of scratch. */
static void features(const hrf_activation *act, size_t M, size_t dim, const double *Wt,
                     const double *b, const double *X, size_t r0, size_t r1, double *S, double *D,
                     double *zbuf) {
#pragma omp parallel
    {
        double *z = zbuf + (size_t)omp_get_thread_num() * M;
#pragma omp for schedule(static)
        for (size_t i = r0; i < r1; i++) {
            preact(M, dim, Wt, b, X + i * dim, z);
            act->eval(M, z, S ? S + (i - r0) * M : NULL, D ? D + (i - r0) * M : NULL);
        }
    }
}

/* ---- the structured least-squares problem ---- */
typedef struct {
    const hrf_activation *act;
    size_t K, M, dim;
    const double *X; /* (K, dim) training inputs */
    const double *G; /* (K, dim) gradient targets */
    const double *W, *b;
    double *Wt; /* (dim, M) W transposed, for the pre-activations */
    double *s0; /* (M) σ(W x0 + b): the anchor row */
    double H0;
    double a1;    /* the anchor row's c_0 entry: 1, or 0 (with s0 = 0, H0 = 0) on ranks > 0,
                     which hold the anchor as a zero row (docs/mpi.md) */
    double *D;    /* (K, M) cached σ'(Z), or NULL: recompute per block */
    double *blk;  /* (B, M) block buffer when not cached */
    size_t B;     /* rows per block */
    double *T;    /* (M, dim) scratch */
    double *DtG;  /* (dim, M) Dᵀ G accumulated with the cached features, or NULL */
    double *u;    /* (K·dim + 1) right-hand side */
    double *part; /* (nthreads, dim, M) per-thread partial sums */
    double *zbuf; /* (nthreads, M) pre-activation scratch */
    float *Df;    /* (K, M) σ'(Z) in single precision (first A-SWIM pass), or NULL */
    float *Gf;    /* (M, M) single-precision Gram scratch */
    float *Gtf;   /* (K, dim) targets in single precision */
    hrf_progress_fn progress; /* per-block progress of streamed Gram passes, or NULL */
    void *progress_user;
    const char *stage;
    int nthreads;
} hnn_lsq;

/* Pointer to rows [r0, r0+nb) of D, computing them if not cached. */
static const double *hnn_block(hnn_lsq *q, size_t r0, size_t nb) {
    if (q->D) return q->D + r0 * q->M;
    features(q->act, q->M, q->dim, q->Wt, q->b, q->X, r0, r0 + nb, NULL, q->blk, q->zbuf);
    return q->blk;
}

static int hnn_gram(void *ctx, double *Gm, double *Atu, double *utu) {
    hnn_lsq *q = ctx;
    const size_t M = q->M, dim = q->dim, n = M + 1;
    memset(Gm, 0, n * n * sizeof *Gm);
    memset(q->T, 0, M * dim * sizeof *q->T);
    size_t B = q->D ? q->K : q->B;
    if (q->Df) { /* single-precision Gram (A-SWIM's first pass; see hnn_solve) */
        cblas_ssyrk(CblasColMajor, CblasUpper, CblasNoTrans, (int)M, (int)q->K, 1.0f, q->Df, (int)M,
                    0.0f, q->Gf, (int)M);
        for (size_t j = 0; j < M; j++)
            for (size_t i = 0; i <= j; i++)
                Gm[i + j * n] = q->Gf[i + j * M];
        float *Tf = q->Gf; /* reuse: M x dim */
        cblas_sgemm(CblasColMajor, CblasNoTrans, CblasTrans, (int)M, (int)dim, (int)q->K, 1.0f,
                    q->Df, (int)M, q->Gtf, (int)dim, 0.0f, Tf, (int)M);
        for (size_t j = 0; j < M * dim; j++)
            q->T[j] = Tf[j];
        B = q->K + 1; /* skip the double loop */
    }
    if (q->DtG) memcpy(q->T, q->DtG, M * dim * sizeof *q->T);
    for (size_t r0 = 0; r0 < q->K && !q->Df; r0 += B) {
        size_t nb = q->K - r0 < B ? q->K - r0 : B;
        if (q->progress && !q->D)
            q->progress(q->progress_user, q->stage, (double)r0 / (double)q->K);
        const double *Db = hnn_block(q, r0, nb);
        /* DᵀD: D rows are points, so D row-major is an M x nb column-major matrix. */
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, (int)M, (int)nb, 1.0, Db, (int)M, 1.0,
                    Gm, (int)n);
        /* T += Dᵀ G  (M x dim column-major), unless it came with the features */
        if (!q->DtG)
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, (int)M, (int)dim, (int)nb, 1.0, Db,
                        (int)M, q->G + r0 * dim, (int)dim, 1.0, q->T, (int)M);
    }
    /* ⊙ (W Wᵀ), upper triangle, column j. */
    for (size_t j = 0; j < M; j++)
        for (size_t i = 0; i <= j; i++) {
            double ww = 0.0;
            for (size_t a = 0; a < dim; a++)
                ww += q->W[i * dim + a] * q->W[j * dim + a];
            Gm[i + j * n] *= ww;
        }
    for (size_t k = 0; k < M; k++) {
        double s = 0.0;
        for (size_t a = 0; a < dim; a++)
            s += q->W[k * dim + a] * q->T[k + a * M];
        Atu[k] = s;
    }
    Atu[M] = 0.0;
    /* Anchor row a0 = [s0, 1] with target H0. */
    for (size_t j = 0; j < n; j++) {
        double aj = j < M ? q->s0[j] : q->a1;
        for (size_t i = 0; i <= j; i++)
            Gm[i + j * n] += (i < M ? q->s0[i] : q->a1) * aj;
        Atu[j] += aj * q->H0;
    }
    *utu = cblas_ddot((int)(q->K * dim + 1), q->u, 1, q->u, 1);
    return HRF_OK;
}

/* One fused pass over D: y = A v and z = Aᵀ y, or with u (the right-hand
 * side) y = u − A v and z = Aᵀ y. */
static int normal_pass(hnn_lsq *q, const double *v, const double *u, double *y, double *z) {
    const size_t M = q->M, dim = q->dim;
    double *Vc = q->T, *Tc = q->T + M * dim;
    for (size_t k = 0; k < M; k++)
        for (size_t a = 0; a < dim; a++)
            Vc[a * M + k] = v[k] * q->W[k * dim + a];
    memset(Tc, 0, M * dim * sizeof *Tc);
    size_t B = q->D ? q->K : q->B;
    for (size_t r0 = 0; r0 < q->K; r0 += B) {
        size_t nb = q->K - r0 < B ? q->K - r0 : B;
        const double *Db = hnn_block(q, r0, nb);
        if (u)
            hnn_rows_residual(Db, nb, M, dim, Vc, u + r0 * dim, y + r0 * dim, Tc, q->part,
                              q->nthreads);
        else
            hnn_rows_normal(Db, nb, M, dim, Vc, y + r0 * dim, Tc, q->part, q->nthreads);
    }
    double ya = cblas_ddot((int)M, q->s0, 1, v, 1) + q->a1 * v[M];
    if (u) ya = u[q->K * dim] - ya;
    y[q->K * dim] = ya;
    for (size_t k = 0; k < M; k++) {
        double s = 0.0;
        for (size_t a = 0; a < dim; a++)
            s += q->W[k * dim + a] * Tc[k + a * M];
        z[k] = s + q->s0[k] * ya;
    }
    z[M] = q->a1 * ya;
    return HRF_OK;
}

/* r = u − A θ and z = Aᵀ r in one pass over D. */
static int hnn_residual_normal(void *ctx, const double *theta, double *r, double *z) {
    hnn_lsq *q = ctx;
    return normal_pass(q, theta, q->u, r, z);
}

static int hnn_apply_normal(void *ctx, const double *v, double *y, double *z) {
    return normal_pass(ctx, v, NULL, y, z);
}

static int hnn_apply(void *ctx, const double *v, double *y) {
    hnn_lsq *q = ctx;
    const size_t M = q->M, dim = q->dim;
    /* Vc = (diag(v) W)ᵀ, dim x M */
    for (size_t k = 0; k < M; k++)
        for (size_t a = 0; a < dim; a++)
            q->T[a * M + k] = v[k] * q->W[k * dim + a];
    size_t B = q->D ? q->K : q->B;
    for (size_t r0 = 0; r0 < q->K; r0 += B) {
        size_t nb = q->K - r0 < B ? q->K - r0 : B;
        const double *Db = hnn_block(q, r0, nb);
        hnn_rows_times(Db, nb, M, dim, q->T, y + r0 * dim);
    }
    y[q->K * dim] = cblas_ddot((int)M, q->s0, 1, v, 1) + q->a1 * v[M];
    return HRF_OK;
}

static int hnn_apply_t(void *ctx, const double *y, double *v) {
    hnn_lsq *q = ctx;
    const size_t M = q->M, dim = q->dim;
    memset(q->T, 0, M * dim * sizeof *q->T);
    size_t B = q->D ? q->K : q->B;
    for (size_t r0 = 0; r0 < q->K; r0 += B) {
        size_t nb = q->K - r0 < B ? q->K - r0 : B;
        const double *Db = hnn_block(q, r0, nb);
        hnn_rows_transpose_times(Db, nb, M, dim, y + r0 * dim, q->T, q->part, q->nthreads);
    }
    double ya = y[q->K * dim];
    for (size_t k = 0; k < M; k++) {
        double s = 0.0;
        for (size_t a = 0; a < dim; a++)
            s += q->W[k * dim + a] * q->T[k + a * M];
        v[k] = s + q->s0[k] * ya;
    }
    v[M] = q->a1 * ya;
    return HRF_OK;
}

static int hnn_assemble(void *ctx, double *A, double *u) {
    hnn_lsq *q = ctx;
    const size_t M = q->M, dim = q->dim, m = q->K * dim + 1;
    size_t B = q->D ? q->K : q->B;
    for (size_t r0 = 0; r0 < q->K; r0 += B) {
        size_t nb = q->K - r0 < B ? q->K - r0 : B;
        const double *Db = hnn_block(q, r0, nb);
#pragma omp parallel for schedule(static)
        for (size_t k = 0; k < M; k++) {
            double *col = A + k * m;
            for (size_t i = 0; i < nb; i++)
                for (size_t a = 0; a < dim; a++)
                    col[(r0 + i) * dim + a] = Db[i * M + k] * q->W[k * dim + a];
        }
    }
    for (size_t k = 0; k < M; k++)
        A[k * m + m - 1] = q->s0[k];
    memset(A + M * m, 0, (m - 1) * sizeof *A); /* c_0 column: zero in gradient rows */
    A[M * m + m - 1] = q->a1;
    memcpy(u, q->u, m * sizeof *u);
    return HRF_OK;
}

/* The reduced problem: with the thin QR D = Q R (dgeqrf of D transposed into
 * column-major order), the rows of
 * coordinate a are Q R diag(W_:a), so
 *   ‖Aθ − u‖² = Σ_a ‖R diag(W_:a) c − Qᵀ g_a‖² + (anchor row)² + const.
 * The reduced matrix has dim·M + 1 rows, the singular values of A, and costs
 * one QR of the K x M matrix D instead of one of the dim·K x M matrix A. */
static int hnn_reduce(void *ctx, size_t *rows_r, double **A_r, double **u_r) {
    hnn_lsq *q = ctx;
    const size_t K = q->K, M = q->M, dim = q->dim, n = M + 1, mr = dim * M + 1;
    double *Dc = malloc(K * M * sizeof *Dc), *tau = malloc(M * sizeof *tau);
    double *Cg = malloc(K * dim * sizeof *Cg);
    double *A = calloc(mr * n, sizeof *A), *u = malloc(mr * sizeof *u);
    double *rows = NULL;
    int rc = HRF_OK;
    if (!Dc || !tau || !Cg || !A || !u) {
        rc =
            hrf_error(HRF_ENOMEM, "out of memory for the QR of the %zu x %zu feature matrix", K, M);
        goto fail;
    }
    /* D as a column-major K x M matrix (Householder QR works on contiguous
     * columns; the LQ of the row-major buffer would work along strided rows). */
    const double *Drm = q->D;
    if (!Drm) {
        rows = malloc(q->B * M * sizeof *rows);
        if (!rows) {
            rc = hrf_error(HRF_ENOMEM, "out of memory for a feature block");
            goto fail;
        }
    }
    for (size_t r0 = 0; r0 < K; r0 += q->D ? K : q->B) {
        size_t nb = q->D ? K : (K - r0 < q->B ? K - r0 : q->B);
        const double *blk = q->D ? Drm : rows;
        if (!q->D) features(q->act, M, dim, q->Wt, q->b, q->X, r0, r0 + nb, NULL, rows, q->zbuf);
#pragma omp parallel for schedule(static)
        for (size_t k = 0; k < M; k++)
            for (size_t i = 0; i < nb; i++)
                Dc[(r0 + i) + k * K] = blk[i * M + k];
    }
    lapack_int info =
        LAPACKE_dgeqrf(LAPACK_COL_MAJOR, (lapack_int)K, (lapack_int)M, Dc, (lapack_int)K, tau);
    if (info != 0) {
        rc = hrf_error(HRF_ENUMERIC, "LAPACK dgeqrf failed (info %d)", (int)info);
        goto fail;
    }
    for (size_t i = 0; i < K; i++) /* targets as a column-major K x dim matrix */
        for (size_t a = 0; a < dim; a++)
            Cg[i + a * K] = q->G[i * dim + a];
    info = LAPACKE_dormqr(LAPACK_COL_MAJOR, 'L', 'T', (lapack_int)K, (lapack_int)dim, (lapack_int)M,
                          Dc, (lapack_int)K, tau, Cg, (lapack_int)K);
    if (info != 0) {
        rc = hrf_error(HRF_ENUMERIC, "LAPACK dormqr failed (info %d)", (int)info);
        goto fail;
    }
    for (size_t a = 0; a < dim; a++) {
        for (size_t k = 0; k < M; k++) {
            double *col = A + k * mr + a * M;
            double w = q->W[k * dim + a];
            for (size_t i = 0; i <= k; i++)
                col[i] = Dc[i + k * K] * w; /* R diag(W_:a) */
        }
        for (size_t i = 0; i < M; i++)
            u[a * M + i] = Cg[i + a * K];
    }
    for (size_t k = 0; k < M; k++)
        A[k * mr + mr - 1] = q->s0[k];
    A[M * mr + mr - 1] = q->a1;
    u[mr - 1] = q->H0;
    free(Dc), free(tau), free(Cg), free(rows);
    *rows_r = mr, *A_r = A, *u_r = u;
    return HRF_OK;
fail:
    free(Dc), free(tau), free(Cg), free(A), free(u), free(rows);
    return rc;
}

/* Rows per streamed block: about 32 MiB of σ'(Z). */
size_t hnn_block_rows(size_t M) {
    size_t B = ((size_t)32 << 20) / (8 * M);
    return B < 64 ? 64 : B;
}

/* ---- hnn_solve, in steps ---- */

/* Frees what the steps allocated into q (ws, which D or Df may point to, is
 * the caller's). */
static void lsq_free(hnn_lsq *q) {
    free(q->DtG), free(q->Wt), free(q->s0), free(q->T), free(q->u), free(q->blk), free(q->part),
        free(q->zbuf), free(q->Gf), free(q->Gtf);
}

/* Step 1: the problem's data and buffers, the right-hand side u = (g, H0)
 * and the anchor row s0 = σ(W x0 + b). */
static int lsq_setup(hnn_lsq *q, const hrf_hnn_params *p, const hrf_dataset *data, const double *G,
                     const hrf_hnn *m, int pass1) {
    const size_t K = data->n, M = m->width, dim = m->dim;
    memset(q, 0, sizeof *q);
    q->act = m->act, q->K = K, q->M = M, q->dim = dim, q->X = data->x, q->G = G, q->W = m->W,
    q->b = m->b;
    q->H0 = data->H0;
    q->a1 = 1.0;
    int anchor_elsewhere = hrf_comm_active(p->comm) && p->comm->rank != 0;
    if (anchor_elsewhere) q->H0 = 0.0, q->a1 = 0.0;
    q->progress = p->progress, q->progress_user = p->progress_user;
    q->stage = pass1 ? "Gram matrix (pass 1)" : "Gram matrix";
    q->s0 = malloc(M * sizeof *q->s0);
    q->Wt = malloc(M * dim * sizeof *q->Wt);
    q->T = malloc(2 * M * dim * sizeof *q->T);
    q->u = malloc((K * dim + 1) * sizeof *q->u);
    q->nthreads = omp_get_max_threads();
    q->part = malloc((size_t)q->nthreads * M * dim * sizeof *q->part);
    q->zbuf = malloc((size_t)q->nthreads * M * sizeof *q->zbuf);
    if (!q->s0 || !q->Wt || !q->T || !q->u || !q->part || !q->zbuf)
        return hrf_error(HRF_ENOMEM, "out of memory for the least-squares problem");
    transpose_weights(M, dim, m->W, q->Wt);
    memcpy(q->u, G, K * dim * sizeof *q->u);
    q->u[K * dim] = q->H0;
    features(m->act, M, dim, q->Wt, m->b, data->x0, 0, 1, q->s0, NULL, q->zbuf);
    if (anchor_elsewhere) memset(q->s0, 0, M * sizeof *q->s0);
    return HRF_OK;
}

/* Step 2, A-SWIM's first fit with the auto solver when σ'(Z) fits the cache
 * budget: that fit only shapes the sampling density of the second, so it
 * runs in single precision (ours): σ'(Z) and σ(Z) stored as float, Gram by
 * SSYRK, Cholesky in double with a ridge suited to float rounding (step 4).
 * Halves its memory traffic and flops. ws (8KM bytes, shared by both passes,
 * so its pages are faulted in once) holds σ'(Z) (q->Df) and σ(Z) as floats.
 * Returns σ(Z) in float, or NULL (q->Df NULL too) when ws or the scratch
 * could not be had: the pass then runs in double. */
static float *lsq_cache_single(hnn_lsq *q, const hrf_dataset *data, const double *G,
                               const hrf_hnn *m, double *ws) {
    const size_t K = q->K, M = q->M, dim = q->dim;
    float *Sf;
    q->Df = ws ? (float *)ws : NULL;
    Sf = ws ? (float *)ws + K * M : NULL;
    q->Gf = malloc(M * (M > dim ? M : dim) * sizeof *q->Gf);
    q->Gtf = malloc(K * dim * sizeof *q->Gtf);
    q->B = hnn_block_rows(M) < K ? hnn_block_rows(M) : K;
    q->blk =
        malloc(2 * (q->B > (size_t)q->nthreads ? q->B : (size_t)q->nthreads) * M * sizeof *q->blk);
    if (!q->Df || !Sf || !q->Gf || !q->Gtf || !q->blk) {
        free(q->Gf), free(q->Gtf), free(q->blk);
        q->Df = NULL, Sf = NULL, q->Gf = NULL, q->Gtf = NULL, q->blk = NULL;
        return NULL;
    }
    for (size_t j = 0; j < K * dim; j++)
        q->Gtf[j] = (float)G[j];
    /* Pre-activations in double; σ, σ' by the activation's single
     * precision kernel when it has one (about half the cost). */
    const hrf_activation *act = m->act;
#pragma omp parallel
    {
        int t = omp_get_thread_num();
        double *z = q->zbuf + (size_t)t * M;
        double *sd = q->blk + (size_t)t * 2 * M; /* 2·B·M ≥ 2·nthreads·M */
#pragma omp for schedule(static)
        for (size_t i = 0; i < K; i++) {
            preact(M, dim, q->Wt, m->b, data->x + i * dim, z);
            if (act->eval_f32) {
                act->eval_f32(M, z, Sf + i * M, q->Df + i * M);
            } else {
                act->eval(M, z, sd, sd + M);
                for (size_t k = 0; k < M; k++)
                    Sf[i * M + k] = (float)sd[k], q->Df[i * M + k] = (float)sd[M + k];
            }
        }
    }
    return Sf;
}

/* σ'(Z) for all rows into q->D (and σ(Z) into S when not NULL) and, while
 * each pair of rows is still in cache, q->DtG = Dᵀ G (dim x M): the Gram
 * step then needs no pass over D of its own. Per-thread sums of static row
 * ranges, added in thread order: deterministic for a given thread count. */
static void features_dtg(hnn_lsq *q, const double *b, double *S) {
    const size_t K = q->K, M = q->M, dim = q->dim, npairs = (K + 1) / 2;
    memset(q->part, 0, (size_t)q->nthreads * dim * M * sizeof *q->part);
#pragma omp parallel num_threads(q->nthreads)
    {
        int t = omp_get_thread_num();
        double *z = q->zbuf + (size_t)t * M, *P = q->part + (size_t)t * dim * M;
#pragma omp for schedule(static)
        for (size_t pr = 0; pr < npairs; pr++) {
            size_t i0 = 2 * pr, i1 = i0 + 2 < K ? i0 + 2 : K;
            for (size_t i = i0; i < i1; i++) {
                preact(M, dim, q->Wt, b, q->X + i * dim, z);
                q->act->eval(M, z, S ? S + i * M : NULL, q->D + i * M);
            }
            hnn_tile_axpy(q->D, i0, i1, M, dim, q->G, P);
        }
    }
    memset(q->DtG, 0, M * dim * sizeof *q->DtG);
    hnn_add_partials(q->part, q->nthreads, dim * M, q->DtG);
}

/* Step 3, unless step 2 cached σ'(Z) in float: σ'(Z) computed into ws
 * (q->D) when it fits the cache budget, with σ(Z) beside it in *S for Ĥ
 * (want_S) when both fit; otherwise a block buffer of q->B rows, recomputed
 * on every pass. Sets rep->cached. */
static int lsq_cache(hnn_lsq *q, const hrf_hnn_params *p, const hrf_hnn *m, double dbytes,
                     double cache_budget, int want_S, double *ws, double **S,
                     hrf_hnn_fit_report *rep) {
    const size_t K = q->K, M = q->M, dim = q->dim;
    if (q->Df) {
        /* nothing more to cache: apply() (unused here) would stream in double */
    } else if (dbytes <= cache_budget) {
        q->D = ws; /* NULL when the workspace could not be had: stream */
    }
    if (q->D && want_S && 2.0 * dbytes <= cache_budget) *S = malloc((size_t)dbytes);
    if (q->Df) {
        rep->cached = 1;
    } else if (q->D) {
        if (!(q->DtG = malloc(M * dim * sizeof *q->DtG)))
            return hrf_error(HRF_ENOMEM, "out of memory for the least-squares problem");
        features_dtg(q, m->b, *S);
        rep->cached = 1;
    } else if (!q->blk) {
        q->B = p->block_rows ? p->block_rows : hnn_block_rows(M);
        if (q->B > K) q->B = K;
        q->blk = malloc(q->B * M * sizeof *q->blk);
        if (!q->blk)
            return hrf_error(HRF_ENOMEM, "out of memory for a %zu x %zu feature block", q->B, M);
        rep->cached = 0;
    }
    return HRF_OK;
}

/* Step 4: the problem's callbacks and the model counts (flops, bytes) that
 * the solver's choice and report use; the least-squares parameters for
 * this pass (refinement capped when streaming; fixed for the single
 * precision pass). */
static void lsq_problem(hnn_lsq *q, const hrf_hnn_params *p, double dbytes, hrf_lsq_problem *prob,
                        hrf_lstsq_params *lp) {
    const size_t K = q->K, M = q->M, dim = q->dim, n = M + 1;
    memset(prob, 0, sizeof *prob);
    prob->rows = K * dim + 1, prob->cols = n, prob->ctx = q, prob->u = q->u;
    if (hrf_comm_active(p->comm)) prob->comm = p->comm, prob->pad_rows = q->a1 == 0.0;
    prob->assemble = hnn_assemble, prob->gram = hnn_gram;
    prob->apply = hnn_apply, prob->apply_t = hnn_apply_t;
    prob->apply_normal = hnn_apply_normal;
    prob->residual_normal = hnn_residual_normal;
    if (K >= M) {
        prob->reduce = hnn_reduce;
        prob->reduce_flops = 2.0 * (double)K * (double)M * (double)M -
                             2.0 * (double)M * M * M / 3.0 + 4.0 * (double)K * (double)M * dim;
        prob->reduce_rows = dim * M + 1;
        prob->reduce_bytes = 8.0 * ((double)K * (double)M + (double)K * dim +
                                    (double)(dim * M + 1) * (double)(M + 2));
    }
    double Kd = (double)K, Md = (double)M;
    /* Gram: SYRK K·M·(M+1) + DᵀG 2·K·M·dim + the Hadamard product M²·dim. */
    prob->gram_flops = Kd * Md * (Md + 1.0) + 2.0 * Kd * Md * dim + Md * Md * dim;
    prob->apply_flops = 2.0 * Kd * Md * dim;
    if (!q->D) { /* each pass recomputes σ'(Z): count its multiply-adds too */
        prob->gram_flops += 2.0 * Kd * Md * dim;
        prob->apply_flops += 2.0 * Kd * Md * dim;
    }
    prob->extra_bytes = q->D ? dbytes : 8.0 * (double)(q->B * M);
    *lp = p->lstsq;
    if (!q->D && !q->Df && lp->stream_refine_max < lp->refine_max) {
        /* Streamed features: every LSQR iteration recomputes σ'(Z) for all
         * points (the cost of a whole Gram pass's features), so the
         * refinement is capped (stream_refine_max, default 0). */
        lp->refine_max = lp->stream_refine_max;
        if (lp->auto_refine_max > lp->refine_max) lp->auto_refine_max = lp->refine_max;
    }
    if (q->Df) {
        lp->solver = HRF_SOLVER_NORMAL;
        lp->refine_max = 0;
        lp->gram_refine_max = 0;
        lp->ridge =
            lp->ridge > 1e-6 ? lp->ridge : 1e-6; /* float rounding of a unit-diagonal Gram */
        lp->skip_residual = 1;
        prob->gram_flops *= 0.5; /* model count in double-equivalent work */
    }
}

/* Step 5, A-SWIM's first pass: Ĥ = σ(Z) c + c0 at the training inputs from
 * the cached σ(Z), in float (Sf) or double (S); *have_Hhat = 1 when one
 * was there. */
static void lsq_hhat(const hrf_hnn *m, size_t K, const float *Sf, const double *S, double *Hhat,
                     int *have_Hhat) {
    const size_t M = m->width;
    if (Sf) { /* Ĥ = σ(Z) c + c0, accumulated in double */
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < K; i++) {
            double h = m->c0;
            const float *si = Sf + i * M;
            for (size_t k = 0; k < M; k++)
                h += (double)si[k] * m->c[k];
            Hhat[i] = h;
        }
        *have_Hhat = 1;
    }
    if (S) { /* Ĥ = σ(Z) c + c0 */
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)K, (int)M, 1.0, S, (int)M, m->c, 1, 0.0, Hhat,
                    1);
        for (size_t i = 0; i < K; i++)
            Hhat[i] += m->c0;
        *have_Hhat = 1;
    }
}

int hnn_solve(const hrf_hnn_params *p, const hrf_dataset *data, const double *G, hrf_hnn *m,
              double cache_budget, hrf_hnn_fit_report *rep, double *Hhat, int *have_Hhat,
              int single, double *ws) {
    const size_t K = data->n, M = m->width, n = M + 1;
    hnn_lsq q;
    double *S = NULL; /* σ(Z), (K, M), only for Hhat */
    float *Sf = NULL; /* the same in single precision */
    double *theta = malloc(n * sizeof *theta);
    int rc = lsq_setup(&q, p, data, G, m, Hhat != NULL);
    if (!rc && !theta) rc = hrf_error(HRF_ENOMEM, "out of memory for the least-squares problem");
    if (rc) goto done;
    double dbytes = 8.0 * (double)K * (double)M;
    double t0 = hrf_now();
    if (have_Hhat) *have_Hhat = 0;
    if (single && Hhat && dbytes <= cache_budget) Sf = lsq_cache_single(&q, data, G, m, ws);
    if ((rc = lsq_cache(&q, p, m, dbytes, cache_budget, Hhat != NULL, ws, &S, rep))) goto done;
    double feat_seconds = hrf_now() - t0;
    hrf_debug("%s: features %.3f s (%s)", Hhat ? "pass 1" : "pass 2", feat_seconds,
              Sf    ? "float"
              : q.D ? "kept"
                    : "streamed");
    hrf_lsq_problem prob;
    hrf_lstsq_params lp;
    lsq_problem(&q, p, dbytes, &prob, &lp);
    rc = hrf_lstsq_solve(&prob, &lp, theta, &rep->lstsq);
    if (rc) goto done;
    if (!q.D && !q.Df && lp.refine_max == 0 && strstr(rep->lstsq.reason, "skipped")) {
        size_t len = strlen(rep->lstsq.reason); /* say why the limit was 0 */
        snprintf(rep->lstsq.reason + len, sizeof rep->lstsq.reason - len,
                 "; σ'(Z) streamed: limit stream_refine_max, default 0 (--refine N)");
    }
    memcpy(m->c, theta, M * sizeof *theta);
    m->c0 = theta[M];
    lsq_hhat(m, K, Sf, S, Hhat, have_Hhat);
    rep->solve_seconds += rep->lstsq.seconds + (q.D ? feat_seconds : 0.0);
    rep->solve_flops += rep->lstsq.flops;
done:
    lsq_free(&q);
    free(theta), free(S);
    return rc;
}
