/* The ODE-net baseline ("S-MLP" of RF-HNN): fit, evaluate, save, load.
 *
 *   f̂(x) = Σ_k C_k σ(w_k·x + b_k) + C_0          (hamrf/odenet.h)
 *
 * The hidden layer is sampled as for the HNN (docs/math.md §3, with the SWIM
 * density on the vector values F = dx/dt); the outer layer solves
 *
 *   min_Θ ‖Φ Θ − Y‖_F,   Φ = [σ(Z) | 1] (K, M+1),  Z = X Wᵀ + 1 bᵀ,  Y = dx/dt (K, dim),
 *
 * one matrix and dim right-hand sides, so each column of Θ = [C; C_0ᵀ] is an
 * ordinary least-squares problem and every factorisation is shared. The solve
 * is hrf_lstsq_solve's (docs/math.md §4) on a problem with nrhs = dim whose
 * callbacks form Φ densely (svd, qr) or stream it by row blocks, cached when
 * it fits the budget (normal: Gram, equilibrated ridged Cholesky, DPOTRS, PCG
 * per column, LSQR with the columns sharing each pass over Φ). Only auto's
 * choice is the ODE-net's own: qr (equilibrated) when Φ has at most
 * AUTO_DENSE_MAX entries, or is cheap enough (see AUTO_DENSE_MAX), else
 * normal; Φ has no structure to reduce, unlike the HNN's problem. */
#include "core/sysinfo.h"
#include "hamrf/odenet.h"
#include "hamrf/metrics.h"
#include "core/meta.h"
#include "core/npz.h"
#include "hamrf/rng.h"
#include "hamrf/status.h"
#include "hnn/hnn_impl.h"
#include "models/model_file.h"
#include "odenet/odenet_impl.h"

#include <cblas.h>
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

/* Bytes the outer-layer solve needs beyond the model and the data:
 * hrf_lstsq_solve's own estimate for K x (M+1) with dim right-hand sides, the
 * column-major copy of Y, and the callbacks' scratch (dense: per-thread rows
 * for σ; normal: a block of Φ and of Z). A cached Φ comes on top only when it
 * fits what is left (cache_budget). */
static double solve_bytes(hrf_solver s, size_t K, size_t M, size_t dim, size_t block) {
    double b = hrf_lstsq_memory_estimate_nrhs(s, K, M + 1, dim) + 8.0 * (double)K * (double)dim;
    if (s == HRF_SOLVER_NORMAL) return b + 8.0 * (double)block * (2.0 * (double)M + 1.0);
    return b + 8.0 * (double)omp_get_max_threads() * (double)K;
}

/* Model flop count of dgelsd / dgelsy on K x n with r right-hand sides
 * (auto's cost of the dense route). */
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

/* The outer layer as an hrf_lsq_problem with nrhs = dim (docs/math.md §4):
 * rows are the K points, columns the M features and the constant. Φ is kept
 * whole (cached) when it fits the budget, else recomputed block by block on
 * every pass; the block products share each pass between the dim columns. */
typedef struct {
    const hrf_odenet *m;
    const double *X, *Y; /* (K, dim) row-major training inputs and dx/dt */
    const double *U;     /* Y column-major (K x dim): the problem's right-hand sides */
    size_t K, M, n, dim, B;
    double *phi; /* (K, n) row-major cached Φ, or NULL */
    double *blk; /* (B, n) block buffer when not cached */
    double *z;   /* (B, M) pre-activation scratch */
} ode_lsq;

/* Rows [r0, r0+nb) of Φ, (nb, n) row-major = an n x nb column-major matrix;
 * NULL (error recorded) if the block buffers, allocated on first use (the
 * dense routes need them only for the residual, after A is freed), do not
 * fit. */
static const double *phi_rows(ode_lsq *c, size_t r0, size_t nb) {
    if (c->phi) return c->phi + r0 * c->n;
    if (!c->z) c->z = malloc(c->B * c->M * sizeof *c->z);
    if (!c->blk) c->blk = malloc(c->B * c->n * sizeof *c->blk);
    if (!c->z || !c->blk) {
        hrf_error(HRF_ENOMEM, "out of memory for a %zu x %zu feature block", c->B, c->n);
        return NULL;
    }
    features(c->m->act, c->M, c->dim, c->m->W, c->m->b, nb, c->X + r0 * c->dim, c->z, c->blk, NULL,
             c->n);
    for (size_t i = 0; i < nb; i++)
        c->blk[i * c->n + c->M] = 1.0;
    return c->blk;
}

static int ode_assemble(void *ctx, double *A, double *U) {
    ode_lsq *c = ctx;
    double *tmp = malloc((size_t)omp_get_max_threads() * c->K * sizeof *tmp);
    if (!tmp) return hrf_error(HRF_ENOMEM, "out of memory for feature scratch (%zu rows)", c->K);
    dense_features(c->m, c->K, c->X, A, tmp);
    free(tmp);
    memcpy(U, c->U, c->K * c->dim * sizeof *U);
    return HRF_OK;
}

/* G = ΦᵀΦ (upper) by DSYRK and ΦᵀY (n x dim) by DGEMM, over row blocks. */
static int ode_gram(void *ctx, double *G, double *AtU, double *utu) {
    ode_lsq *c = ctx;
    const size_t n = c->n, dim = c->dim;
    memset(G, 0, n * n * sizeof *G);
    memset(AtU, 0, n * dim * sizeof *AtU);
    for (size_t r0 = 0; r0 < c->K; r0 += c->B) {
        size_t nb = c->K - r0 < c->B ? c->K - r0 : c->B;
        const double *A = phi_rows(c, r0, nb);
        if (!A) return HRF_ENOMEM;
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, (int)n, (int)nb, 1.0, A, (int)n, 1.0,
                    G, (int)n);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, (int)n, (int)dim, (int)nb, 1.0, A,
                    (int)n, c->Y + r0 * dim, (int)dim, 1.0, AtU, (int)n);
    }
    for (size_t a = 0; a < dim; a++)
        utu[a] = cblas_ddot((int)c->K, c->U + a * c->K, 1, c->U + a * c->K, 1);
    return HRF_OK;
}

/* Yo = Φ V and, if Z, Z = Φᵀ Yo, in one pass: V, Z (n x k), Yo (K x k),
 * column-major. */
static int ode_pass(ode_lsq *c, size_t k, const double *V, double *Yo, double *Z) {
    const size_t n = c->n, K = c->K;
    if (Z) memset(Z, 0, n * k * sizeof *Z);
    for (size_t r0 = 0; r0 < K; r0 += c->B) {
        size_t nb = K - r0 < c->B ? K - r0 : c->B;
        const double *A = phi_rows(c, r0, nb);
        if (!A) return HRF_ENOMEM;
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, (int)nb, (int)k, (int)n, 1.0, A,
                    (int)n, V, (int)n, 0.0, Yo + r0, (int)K);
        if (Z)
            cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)k, (int)nb, 1.0, A,
                        (int)n, Yo + r0, (int)K, 1.0, Z, (int)n);
    }
    return HRF_OK;
}

static int ode_apply_block(void *ctx, size_t k, const double *V, double *Yo) {
    return ode_pass(ctx, k, V, Yo, NULL);
}

static int ode_apply_normal_block(void *ctx, size_t k, const double *V, double *Yo, double *Z) {
    return ode_pass(ctx, k, V, Yo, Z);
}

/* V = Φᵀ R: R (K x k), V (n x k), column-major. */
static int ode_apply_t_block(void *ctx, size_t k, const double *R, double *V) {
    ode_lsq *c = ctx;
    const size_t n = c->n, K = c->K;
    memset(V, 0, n * k * sizeof *V);
    for (size_t r0 = 0; r0 < K; r0 += c->B) {
        size_t nb = K - r0 < c->B ? K - r0 : c->B;
        const double *A = phi_rows(c, r0, nb);
        if (!A) return HRF_ENOMEM;
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)k, (int)nb, 1.0, A,
                    (int)n, R + r0, (int)K, 1.0, V, (int)n);
    }
    return HRF_OK;
}

static int ode_apply(void *ctx, const double *v, double *y) {
    return ode_apply_block(ctx, 1, v, y);
}

static int ode_apply_t(void *ctx, const double *y, double *v) {
    return ode_apply_t_block(ctx, 1, y, v);
}

static int ode_apply_normal(void *ctx, const double *v, double *y, double *z) {
    return ode_apply_normal_block(ctx, 1, v, y, z);
}

/* How one pass solves. */
typedef struct {
    hrf_solver solver;   /* svd, qr or normal (auto is resolved by the caller) */
    int equilibrate;     /* svd/qr: unit column norms before the rcond cutoff */
    int maxit;           /* normal: LSQR iterations when Φ is cached */
    int maxit_streamed;  /* normal: the same when Φ is recomputed per pass */
    size_t block_rows;   /* normal: rows per block, 0 = ~32 MiB */
    double cache_budget; /* normal: bytes Φ may occupy to be cached */
    hrf_lstsq_params lp; /* rcond, ridge, PCG and LSQR limits and tests, skip_residual */
} solve_opts;

/* Φ for the normal route: cached in c->phi (filled block by block, the Z
 * scratch staying one block) when it fits the budget, else a block buffer. */
static int phi_prepare(ode_lsq *c, double cache_budget) {
    c->z = malloc(c->B * c->M * sizeof *c->z);
    if (!c->z) return hrf_error(HRF_ENOMEM, "out of memory for a %zu x %zu block", c->B, c->M);
    if (8.0 * (double)c->K * (double)c->n <= cache_budget)
        c->phi = malloc(c->K * c->n * sizeof *c->phi);
    if (!c->phi) {
        c->blk = malloc(c->B * c->n * sizeof *c->blk);
        return c->blk ? HRF_OK
                      : hrf_error(HRF_ENOMEM, "out of memory for a %zu x %zu feature block", c->B,
                                  c->n);
    }
    for (size_t r0 = 0; r0 < c->K; r0 += c->B) {
        size_t nb = c->K - r0 < c->B ? c->K - r0 : c->B;
        double *A = c->phi + r0 * c->n;
        features(c->m->act, c->M, c->dim, c->m->W, c->m->b, nb, c->X + r0 * c->dim, c->z, A, NULL,
                 c->n);
        for (size_t i = 0; i < nb; i++)
            A[i * c->n + c->M] = 1.0;
    }
    return HRF_OK;
}

/* Solves for (C, C0) given the sampled W, b in m (hrf_lstsq_solve on Φ Θ ≈ Y,
 * U = Y column-major); updates the Jacobian's P. residual = 0 skips
 * rel_residual (A-SWIM's first pass). */
static int odenet_solve(hrf_odenet *m, const hrf_dataset *data, const double *U,
                        const solve_opts *o, int residual, hrf_lstsq_report *lr, int *cached) {
    double t0 = hrf_now();
    const size_t K = data->n, M = m->width, dim = m->dim, n = M + 1;
    size_t B = o->block_rows ? o->block_rows : gram_block_rows(M);
    ode_lsq c = {m, data->x, data->dxdt, U, K, M, n, dim, B < K ? B : K, NULL, NULL, NULL};
    hrf_lstsq_params lp = o->lp;
    lp.solver = o->solver, lp.equilibrate = o->equilibrate, lp.use_reduce = 0;
    lp.skip_residual = lp.skip_residual || !residual;
    *cached = 0;
    int rc = HRF_OK;
    double *Th = malloc(n * dim * sizeof *Th);
    if (!Th) {
        rc = hrf_error(HRF_ENOMEM, "out of memory for the %zu x %zu coefficients", n, dim);
        goto done;
    }
    if (o->solver == HRF_SOLVER_NORMAL) {
        if ((rc = phi_prepare(&c, o->cache_budget))) goto done;
        *cached = c.phi != NULL;
        lp.refine_max = *cached ? o->maxit : o->maxit_streamed;
    }
    double Kd = (double)K, nd = (double)n, feat = *cached ? 0.0 : 2.0 * Kd * (double)M * dim;
    hrf_lsq_problem prob;
    memset(&prob, 0, sizeof prob);
    prob.rows = K, prob.cols = n, prob.nrhs = dim, prob.ctx = &c, prob.u = U;
    prob.assemble = ode_assemble, prob.gram = ode_gram;
    prob.apply = ode_apply, prob.apply_t = ode_apply_t, prob.apply_normal = ode_apply_normal;
    prob.apply_block = ode_apply_block, prob.apply_t_block = ode_apply_t_block;
    prob.apply_normal_block = ode_apply_normal_block;
    prob.gram_flops = Kd * nd * (nd + 1.0) + 2.0 * Kd * nd * dim + feat;
    prob.apply_flops = 2.0 * Kd * nd + feat / (double)dim; /* per column; Z shared by a pass */
    if (o->solver == HRF_SOLVER_NORMAL)
        prob.extra_bytes = 8.0 * (double)(c.B * M) + 8.0 * (c.phi ? Kd * nd : (double)(c.B * n));
    else
        prob.extra_bytes = 8.0 * (double)omp_get_max_threads() * Kd;
    double t_features = hrf_now() - t0;
    rc = hrf_lstsq_solve(&prob, &lp, Th, lr);
    lr->seconds += t_features;
    if (rc) goto done;
    for (size_t k = 0; k < M; k++)
        for (size_t a = 0; a < dim; a++)
            m->C[k * dim + a] = Th[k + a * n];
    for (size_t a = 0; a < dim; a++)
        m->C0[a] = Th[M + a * n];
    update_products(m);
done:
    free(Th), free(c.z), free(c.phi), free(c.blk);
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

/* The solver of the final pass (*o) and of A-SWIM's first pass (*o1, which
 * only shapes the second pass's density: under auto, the Gram route without
 * PCG or refinement, as the HNN does), auto's reason, and the memory check
 * (HRF_ETOOBIG before anything large is allocated). */
static int plan_solve(const hrf_odenet_params *p, size_t K, size_t dim, solve_opts *o,
                      solve_opts *o1, char *reason, size_t cap) {
    const size_t M = p->width;
    const double Kd = (double)K, Md = (double)M;
    double avail = (double)hrf_mem_available_blas();
    double limit = p->lstsq.mem_limit ? (double)p->lstsq.mem_limit : avail;
    *o = (solve_opts){p->lstsq.solver,
                      p->lstsq.equilibrate,
                      p->lstsq.refine_max,
                      p->lstsq.stream_refine_max < p->lstsq.refine_max ? p->lstsq.stream_refine_max
                                                                       : p->lstsq.refine_max,
                      p->block_rows,
                      0.0,
                      p->lstsq};
    size_t block = p->block_rows ? p->block_rows : gram_block_rows(M);
    if (block > K) block = K;
    if (o->solver == HRF_SOLVER_AUTO) {
        double entries = Kd * (Md + 1.0);
        double qr_bytes = solve_bytes(HRF_SOLVER_QR, K, M, dim, block);
        double qr_flops = dense_flops(HRF_SOLVER_QR, Kd, Md + 1.0, (double)dim);
        int fits = limit <= 0.0 || qr_bytes <= 0.5 * limit;
        int small = entries <= AUTO_DENSE_MAX;
        if (fits &&
            (small || (qr_bytes <= 0.25 * limit && qr_flops <= p->lstsq.auto_direct_flops))) {
            o->solver = HRF_SOLVER_QR;
            o->equilibrate = 1;
            if (small)
                snprintf(reason, cap,
                         "auto: dense QR (dgelsy, equilibrated) of the %zu x "
                         "%zu feature matrix (%.3g entries <= %.3g)",
                         K, M + 1, entries, AUTO_DENSE_MAX);
            else
                snprintf(reason, cap,
                         "auto: dense QR (dgelsy, equilibrated) of the %zu x "
                         "%zu feature matrix (%.3g flops <= %.3g, %.3g GiB)",
                         K, M + 1, qr_flops, p->lstsq.auto_direct_flops, qr_bytes / 1073741824.0);
        } else {
            o->solver = HRF_SOLVER_NORMAL;
            snprintf(reason, cap,
                     "auto: Gram route (Cholesky + PCG + LSQR): the dense QR "
                     "of the %zu x %zu feature matrix would take %.3g GiB and %.3g flops",
                     K, M + 1, qr_bytes / 1073741824.0, qr_flops);
        }
    }
    *o1 = *o; /* A-SWIM's first pass */
    if (p->lstsq.solver == HRF_SOLVER_AUTO) {
        o1->solver = HRF_SOLVER_NORMAL;
        o1->maxit = o1->maxit_streamed = 0;
        o1->lp.gram_refine_max = 0;
    }
    double need_solver = solve_bytes(o->solver, K, M, dim, block);
    if (p->sampler->adaptive) {
        double n1 = solve_bytes(o1->solver, K, M, dim, block);
        if (n1 > need_solver) need_solver = n1;
    }
    double pool = Kd * (double)((M + K - 1) / K) * 25.0; /* SWIM pool: 2 indices, 1 weight */
    double need = 8.0 * Md * (2.0 * dim + 1.0 + (double)dim * dim) + need_solver + pool +
                  (p->sampler->adaptive ? 8.0 * Kd * dim : 0.0);
    if (limit > 0.0 && need > limit)
        return hrf_error(HRF_ETOOBIG,
                         "width %zu on %zu points needs about %.3g GiB with the %s "
                         "solver, but only %.3g GiB are available%s",
                         M, K, need / 1073741824.0, hrf_solver_name(o->solver),
                         limit / 1073741824.0,
                         o->solver == HRF_SOLVER_NORMAL ? "" : " (try --solver normal)");
    /* Φ is cached for the normal route when it fits cache_bytes and half of
     * what is left of the memory. */
    double cache_budget = (double)p->cache_bytes;
    if (limit > 0.0 && cache_budget > 0.5 * (limit - need)) cache_budget = 0.5 * (limit - need);
    o->cache_budget = o1->cache_budget = cache_budget;
    return HRF_OK;
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
    if (hrf_comm_active(p->comm))
        return hrf_error(HRF_EINVAL, "the ODE-net's fit runs in one process only (the HNN and "
                                     "the graph network distribute; docs/mpi.md)");
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

    solve_opts o, o1;
    char reason[256] = "";
    int rc = plan_solve(p, K, dim, &o, &o1, reason, sizeof reason);
    if (rc) return rc;

    double t_start = hrf_now();
    hrf_odenet *m = odenet_alloc(dim, M, p->act);
    double *Fhat = NULL, *U = malloc(K * dim * sizeof *U);
    if (!m || !U) {
        rc = hrf_error(HRF_ENOMEM, "out of memory for a width-%zu ODE-net", M);
        goto fail;
    }
    for (size_t i = 0; i < K; i++) /* Y column-major: the right-hand sides */
        for (size_t a = 0; a < dim; a++)
            U[i + a * K] = data->dxdt[i * dim + a];
    hrf_layer_sample_params lsp = {M, p->elm_lo, p->elm_hi, p->resample_duplicates, p->act};
    if (isnan(lsp.elm_lo)) hnn_elm_range(data, &lsp.elm_lo, &lsp.elm_hi);
    hrf_rng rng;
    hrf_rng_seed(&rng, p->seed);
    size_t repeated = 0;
    double ts = hrf_now();
    report_progress(p, "sampling", 0.0);
    /* SWIM's oracle for an ODE-net is the target itself, dx/dt. */
    rc = hrf_layer_sample_vec(p->sampler->density, &lsp, K, dim, data->x, dim,
                              p->sampler->density == HRF_PAIRS_VALUES ? data->dxdt : NULL, &rng,
                              m->W, m->b, &repeated);
    rep->sample_seconds += hrf_now() - ts;
    if (rc) goto fail;
    report_progress(p, "solving", 0.1);
    if ((rc = odenet_solve(m, data, U, p->sampler->adaptive ? &o1 : &o, !p->sampler->adaptive,
                           &rep->lstsq, &rep->cached)))
        goto fail;
    rep->solve_seconds += rep->lstsq.seconds;
    rep->solve_flops += rep->lstsq.flops;
    rep->passes = 1;
    if (p->sampler->adaptive) {
        /* A-SWIM: f̂ of the first fit at the training inputs drives the SWIM density. */
        report_progress(p, "resampling (A-SWIM)", 0.5);
        ts = hrf_now();
        Fhat = malloc(K * dim * sizeof *Fhat);
        if (!Fhat) {
            rc = hrf_error(HRF_ENOMEM, "out of memory for f̂ at %zu points", K);
            goto fail;
        }
        if ((rc = hrf_odenet_eval(m, K, data->x, Fhat))) goto fail;
        rc = hrf_layer_sample_vec(HRF_PAIRS_VALUES, &lsp, K, dim, data->x, dim, Fhat, &rng, m->W,
                                  m->b, &repeated);
        rep->sample_seconds += hrf_now() - ts;
        if (rc) goto fail;
        report_progress(p, "solving (A-SWIM)", 0.6);
        if ((rc = odenet_solve(m, data, U, &o, 1, &rep->lstsq, &rep->cached))) goto fail;
        rep->solve_seconds += rep->lstsq.seconds;
        rep->solve_flops += rep->lstsq.flops;
        rep->passes = 2;
    }
    free(U); /* the solves are done */
    U = NULL;
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
    rep->fit_seconds = hrf_now() - t_start;
    report_progress(p, "done", 1.0);
    free(Fhat);
    if (!(m->prov = hrf_provenance_sampled(p, rep->lstsq.used, data, data->n))) {
        hrf_odenet_free(m);
        return hrf_error(HRF_ENOMEM, "out of memory");
    }
    *out = m;
    return HRF_OK;
fail:
    free(Fhat), free(U);
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
    size_t sW[2]; /* width, 2d */
    if ((rc = hrf_model_file_read_layer(z, path, &W, &b, &sW[0], &sW[1]))) goto done;
    size_t sC[2] = {sW[0], sW[1]}, sD[1] = {sW[1]};
    if ((rc = hrf_model_file_read(z, path, "C", 2, sC, &C)) ||
        (rc = hrf_model_file_read(z, path, "C0", 1, sD, &C0)))
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
    cJSON *extra;
    int rc = hrf_json_object_parse(extra_json, "hrf_odenet_save: extra meta", &extra);
    return rc ? rc : hrf_json_done(hrf_odenet_save_meta(m, path, extra), extra);
}

int hrf_odenet_load(const char *path, hrf_odenet **out, char **meta_json) {
    cJSON *meta = NULL;
    int rc = hrf_odenet_load_meta(path, out, meta_json ? &meta : NULL);
    rc = hrf_json_give(rc, meta, meta_json);
    if (rc && *out) {
        hrf_odenet_free(*out);
        *out = NULL;
    }
    return rc;
}
