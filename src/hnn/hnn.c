/* The shallow Hamiltonian network: fit, evaluate, save, load (MATH.md §2).
 *
 * The least-squares problem of MATH.md §2.2 has rows (i, a) — point i,
 * coordinate a, in the order i·dim + a — and a last anchor row; columns
 * c_1..c_M, c_0. With D_ik = σ'(w_k·x_i + b_k):
 *   A v   : y_ia = Σ_k D_ik W_ka v_k          = (D · diag(v) W)_ia
 *   Aᵀ y  : v_k  = Σ_a W_ka (Dᵀ Y)_ka
 *   AᵀA   : (DᵀD) ⊙ (W Wᵀ)                   (Gram–Hadamard identity)
 * plus the anchor row [σ(W x0 + b), 1]. D is kept in memory when it fits
 * the cache budget and is recomputed block by block otherwise, so the
 * matrix A itself is formed only by the dense (svd, qr) solvers. */
#include "core/sysinfo.h"
#include "hamrf/hnn.h"
#include "hamrf/metrics.h"
#include "core/npz.h"
#include "hamrf/status.h"
#include "hnn/hnn_impl.h"
#include "models/model_file.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct hrf_hnn {
    size_t dim, width;
    const hrf_activation *act;
    double *slab; /* one allocation: W (M, dim) | b (M) | c (M) */
    double *W, *b, *c;
    double c0;
    double corr_h; /* 0, or the step h of the backward-error correction (MATH.md §2.3) */
    double *Pt;    /* (dim², M) P_(a,b),k = W_ka W_kb for Hessians of small dimension, or NULL */
    double *Wt;    /* (dim, M) Wᵀ for the row loops of small dimensions, or NULL */
    cJSON *prov;   /* how it was made (src/models/model_file.h), or NULL */
};


void hrf_hnn_params_default(hrf_hnn_params *p) {
    memset(p, 0, sizeof *p);
    p->width = 1000;
    p->sampler = &hrf_sampler_aswim;
    p->act = &hrf_activation_tanh;
    p->elm_lo = p->elm_hi = NAN;
    p->resample_duplicates = 1;
    p->seed = 1;
    hrf_lstsq_params_default(&p->lstsq);
    p->cache_bytes = (size_t)2 << 30;
}

const char *hrf_hnn_params_check(const hrf_hnn_params *p) {
    if (p->width == 0) return "width must be a positive integer";
    if (!p->sampler) return "no sampler given";
    if (!p->act) return "no activation given";
    if (isnan(p->elm_lo) != isnan(p->elm_hi)) return "give both ELM bias bounds or neither";
    if (!isnan(p->elm_lo) &&
        !(isfinite(p->elm_lo) && isfinite(p->elm_hi) && p->elm_lo <= p->elm_hi))
        return "the ELM bias range must be finite with lo <= hi";
    return hrf_lstsq_params_check(&p->lstsq);
}

static hrf_hnn *hnn_alloc(size_t dim, size_t width, const hrf_activation *act) {
    hrf_hnn *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->slab = calloc(width * (dim + 2), sizeof(double));
    if (!m->slab) {
        free(m);
        return NULL;
    }
    m->dim = dim, m->width = width, m->act = act;
    m->W = m->slab;
    m->b = m->W + width * dim;
    m->c = m->b + width;
    return m;
}

void hrf_hnn_free(hrf_hnn *m) {
    if (!m) return;
    free(m->slab);
    free(m->Pt);
    free(m->Wt);
    cJSON_Delete(m->prov);
    free(m);
}

/* Inner dimensions up to this use the OpenMP row loops (eval_small) instead of
 * BLAS: with k = dim = 2..16 the products Z = X Wᵀ and ∇Ĥ = (D ⊙ c) W are
 * memory-bound, and OpenBLAS's spinning threads contend with the
 * activation's OpenMP threads (bench_rollout, batch 10 000, 2 cores: the
 * BLAS version reached 0.3x the state-steps per second of these loops). */
#define SMALL_DIM 16
/* Rows per task of the row loops. */
#define SMALL_ROWS 32

/* Entries of the cached Hessian products; beyond this they are formed per call. */
#define P_CACHE_MAX ((size_t)1 << 22)

/* Work derived from W once it is final (end of fit and load): the products
 * P_k,(a,b) = W_ka W_kb, so that a Hessian costs one GEMM. Best effort: P
 * stays NULL when it is too big or memory is short. */
static void hnn_prepare(hrf_hnn *m) {
    const size_t M = m->width, dim = m->dim, dd = dim * dim;
    free(m->Wt);
    m->Wt = malloc(M * dim * sizeof *m->Wt);
    if (m->Wt)
        for (size_t k = 0; k < M; k++)
            for (size_t a = 0; a < dim; a++)
                m->Wt[a * M + k] = m->W[k * dim + a];
    free(m->Pt);
    m->Pt = NULL;
    if (dim > SMALL_DIM || M * dd > P_CACHE_MAX || !(m->Pt = malloc(M * dd * sizeof *m->Pt)))
        return;
    for (size_t a = 0; a < dim; a++)
        for (size_t b = 0; b < dim; b++)
            for (size_t k = 0; k < M; k++)
                m->Pt[(a * dim + b) * M + k] = m->W[k * dim + a] * m->W[k * dim + b];
}

int hrf_hnn_from_params(size_t dim, size_t width, const hrf_activation *act, const double *W,
                        const double *b, const double *c, double c0, hrf_hnn **out) {
    *out = NULL;
    if (width == 0 || dim == 0 || dim % 2)
        return hrf_error(HRF_EINVAL,
                         "a network needs width > 0 and an even input dimension > 0 "
                         "(got width %zu, dim %zu)",
                         width, dim);
    for (size_t i = 0; i < width * dim; i++)
        if (!isfinite(W[i])) return hrf_error(HRF_EDATA, "W has a non-finite entry %zu", i);
    for (size_t k = 0; k < width; k++)
        if (!isfinite(b[k]) || !isfinite(c[k]))
            return hrf_error(HRF_EDATA, "b or c has a non-finite entry %zu", k);
    if (!isfinite(c0)) return hrf_error(HRF_EDATA, "c0 is not finite");
    hrf_hnn *m = hnn_alloc(dim, width, act ? act : &hrf_activation_tanh);
    if (!m) return hrf_error(HRF_ENOMEM, "out of memory for a width-%zu network", width);
    memcpy(m->W, W, width * dim * sizeof *W);
    memcpy(m->b, b, width * sizeof *b);
    memcpy(m->c, c, width * sizeof *c);
    m->c0 = c0;
    hnn_prepare(m);
    *out = m;
    return HRF_OK;
}

size_t hrf_hnn_dim(const hrf_hnn *m) {
    return m->dim;
}
size_t hrf_hnn_width(const hrf_hnn *m) {
    return m->width;
}
const double *hrf_hnn_W(const hrf_hnn *m) {
    return m->W;
}
const double *hrf_hnn_b(const hrf_hnn *m) {
    return m->b;
}
const double *hrf_hnn_c(const hrf_hnn *m) {
    return m->c;
}
double hrf_hnn_c0(const hrf_hnn *m) {
    return m->c0;
}
const hrf_activation *hrf_hnn_activation(const hrf_hnn *m) {
    return m->act;
}

/* Pre-activations z_k = w_k·x + b_k for one point x (dim); z (M). */
static inline void preact(size_t M, size_t dim, const double *W, const double *b, const double *x,
                          double *z) {
    for (size_t k = 0; k < M; k++) {
        double s = b[k];
        for (size_t a = 0; a < dim; a++)
            s += W[k * dim + a] * x[a];
        z[k] = s;
    }
}

/* Rows [r0, r1) of S = σ(Z) and/or D = σ'(Z) (each (r1−r0, M) row-major, may be
 * NULL). zbuf holds omp_get_max_threads() x M doubles of scratch. */
static void features(const hrf_activation *act, size_t M, size_t dim, const double *W,
                     const double *b, const double *X, size_t r0, size_t r1, double *S, double *D,
                     double *zbuf) {
#pragma omp parallel
    {
        double *z = zbuf + (size_t)omp_get_thread_num() * M;
#pragma omp for schedule(static)
        for (size_t i = r0; i < r1; i++) {
            preact(M, dim, W, b, X + i * dim, z);
            act->eval(M, z, S ? S + (i - r0) * M : NULL, D ? D + (i - r0) * M : NULL);
        }
    }
}

/* Rows per block of the batched evaluation: Z, σ(Z), σ'(Z) of one block
 * (3 x 256 x M doubles, 6 MiB at M = 1000) stay in the last-level cache. */
#define EVAL_BLOCK 256

/* Z = X Wᵀ + 1 bᵀ for nb points X (nb, dim): Z (nb, M). */
static void preact_block(const hrf_hnn *m, size_t nb, const double *X, double *Z) {
    const size_t M = m->width, dim = m->dim;
    for (size_t i = 0; i < nb; i++)
        memcpy(Z + i * M, m->b, M * sizeof *Z);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)M, (int)dim, 1.0, X,
                (int)dim, m->W, (int)dim, 1.0, Z, (int)M);
}

/* Blocks below this many entries run on one thread: forking costs more. */
#define PAR_MIN 65536

/* σ(Z), σ'(Z) over nb rows of M, threaded over rows for big blocks. Either
 * output may be NULL. */
static void act_block(const hrf_activation *act, size_t nb, size_t M, const double *Z, double *S,
                      double *D) {
    if (nb * M < PAR_MIN) {
        act->eval(nb * M, Z, S, D);
        return;
    }
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < nb; i++)
        act->eval(M, Z + i * M, S ? S + i * M : NULL, D ? D + i * M : NULL);
}

/* Z (nb, M) ← c ⊙ σ''(Z), row by row (Z's pre-activations are consumed). */
static void c_d2_inplace(const hrf_hnn *m, size_t nb, double *Z) {
    const size_t M = m->width;
    const hrf_activation *act = m->act;
#pragma omp parallel for schedule(static) if (nb * M >= PAR_MIN)
    for (size_t i = 0; i < nb; i++) {
        double *z = Z + i * M;
        if (act->eval_d2)
            act->eval_d2(M, z, z);
        else
            for (size_t k = 0; k < M; k++)
                z[k] = act->d2(z[k]);
        for (size_t k = 0; k < M; k++)
            z[k] *= m->c[k];
    }
}

/* The uncorrected Ĥ and ∇Ĥ of one block; scratch Z, S, D of (nb, M). The
 * products are BLAS calls on the whole block, so batched rollouts run at
 * matrix-product speed. */
static void eval_block(const hrf_hnn *m, size_t nb, const double *X, double *H, double *grad,
                       double *Z, double *S, double *D) {
    const size_t M = m->width, dim = m->dim;
    preact_block(m, nb, X, Z);
    act_block(m->act, nb, M, Z, H ? S : NULL, grad ? D : NULL);
    if (H) {
        for (size_t i = 0; i < nb; i++)
            H[i] = m->c0;
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)nb, (int)M, 1.0, S, (int)M, m->c, 1, 1.0, H,
                    1);
    }
    if (grad) {
        for (size_t i = 0; i < nb; i++)
            for (size_t k = 0; k < M; k++)
                D[i * M + k] *= m->c[k];
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nb, (int)dim, (int)M, 1.0, D,
                    (int)M, m->W, (int)dim, 0.0, grad, (int)dim);
    }
}

/* The corrected H̃ = Ĥ + (h/2) ∇_qĤ·∇_pĤ (MATH.md §2.3, docs/math.md) and
 *   ∇H̃ = ∇Ĥ + (h/2) ∇²Ĥ v,   v = (∇_pĤ, ∇_qĤ),   ∇²Ĥ v = Wᵀ [c ⊙ σ''(Z) ⊙ (W v)]
 * for one block; G and V (nb, dim) are scratch. */
static void eval_block_corrected(const hrf_hnn *m, size_t nb, const double *X, double *H,
                                 double *grad, double *Z, double *S, double *D, double *G,
                                 double *V) {
    const size_t M = m->width, dim = m->dim, d = dim / 2;
    const double h = m->corr_h;
    eval_block(m, nb, X, H, G, Z, S, D);
    if (H)
        for (size_t i = 0; i < nb; i++) {
            double t = 0.0;
            for (size_t a = 0; a < d; a++)
                t += G[i * dim + a] * G[i * dim + d + a];
            H[i] += 0.5 * h * t;
        }
    if (!grad) return;
    for (size_t i = 0; i < nb; i++)
        for (size_t a = 0; a < d; a++) {
            V[i * dim + a] = G[i * dim + d + a];
            V[i * dim + d + a] = G[i * dim + a];
        }
    /* S ← V Wᵀ (nb, M), ⊙ c σ''(Z), then grad = G + (h/2) S W. */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nb, (int)M, (int)dim, 1.0, V,
                (int)dim, m->W, (int)dim, 0.0, S, (int)M);
    c_d2_inplace(m, nb, Z);
    for (size_t i = 0; i < nb * M; i++)
        S[i] *= Z[i];
    memcpy(grad, G, nb * dim * sizeof *grad);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nb, (int)dim, (int)M, 0.5 * h, S,
                (int)M, m->W, (int)dim, 1.0, grad, (int)dim);
}

/* Ĥ and ∇Ĥ of rows [r0, r1) by plain loops over the cached Wᵀ (dim, M);
 * scratch z, s, ds of SMALL_ROWS x M. */
static void eval_rows_small(const hrf_hnn *m, size_t r0, size_t r1, const double *x, double *H,
                            double *grad, double *z, double *s, double *ds) {
    const size_t M = m->width, dim = m->dim, nb = r1 - r0;
    const double *Wt = m->Wt;
    for (size_t i = 0; i < nb; i++) {
        double *zi = z + i * M;
        const double *xi = x + (r0 + i) * dim;
        memcpy(zi, m->b, M * sizeof *zi);
        for (size_t a = 0; a < dim; a++) {
            const double xa = xi[a], *wa = Wt + a * M;
#pragma omp simd
            for (size_t k = 0; k < M; k++)
                zi[k] += wa[k] * xa;
        }
    }
    m->act->eval(nb * M, z, H ? s : NULL, grad ? ds : NULL);
    for (size_t i = 0; i < nb; i++) {
        if (H) {
            const double *si = s + i * M;
            double acc = 0.0;
#pragma omp simd reduction(+ : acc)
            for (size_t k = 0; k < M; k++)
                acc += m->c[k] * si[k];
            H[r0 + i] = acc + m->c0;
        }
        if (grad) {
            double *di = ds + i * M, *gi = grad + (r0 + i) * dim;
#pragma omp simd
            for (size_t k = 0; k < M; k++)
                di[k] *= m->c[k];
            for (size_t a = 0; a < dim; a++) {
                const double *wa = Wt + a * M;
                double acc = 0.0;
#pragma omp simd reduction(+ : acc)
                for (size_t k = 0; k < M; k++)
                    acc += di[k] * wa[k];
                gi[a] = acc;
            }
        }
    }
}

static int eval_small(const hrf_hnn *m, size_t n, const double *x, double *H, double *grad) {
    const size_t M = m->width;
    const size_t ntask = (n + SMALL_ROWS - 1) / SMALL_ROWS;
    const size_t rows = n < SMALL_ROWS ? n : SMALL_ROWS;
    int oom = 0;
#pragma omp parallel if (n * M >= PAR_MIN) reduction(| : oom)
    {
        double *z = malloc(3 * rows * M * sizeof *z);
        if (!z) oom = 1;
#pragma omp for schedule(static)
        for (size_t t = 0; t < ntask; t++) {
            if (!z) continue;
            size_t r0 = t * SMALL_ROWS, r1 = r0 + SMALL_ROWS < n ? r0 + SMALL_ROWS : n;
            eval_rows_small(m, r0, r1, x, H, grad, z, z + rows * M, z + 2 * rows * M);
        }
        free(z);
    }
    if (oom) return hrf_error(HRF_ENOMEM, "out of memory evaluating a width-%zu network", M);
    return HRF_OK;
}

int hrf_hnn_eval(const hrf_hnn *m, size_t n, const double *x, double *H, double *grad) {
    const size_t M = m->width, dim = m->dim;
    const size_t nb0 = n < EVAL_BLOCK ? n : EVAL_BLOCK;
    if (n == 0 || (!H && !grad)) return HRF_OK;
    if (m->corr_h == 0.0 && m->Wt && dim <= SMALL_DIM) return eval_small(m, n, x, H, grad);
    double *work = malloc((3 * nb0 * M + 2 * nb0 * dim) * sizeof *work);
    if (!work) return hrf_error(HRF_ENOMEM, "out of memory evaluating a width-%zu network", M);
    double *Z = work, *S = Z + nb0 * M, *D = S + nb0 * M, *G = D + nb0 * M, *V = G + nb0 * dim;
    for (size_t r0 = 0; r0 < n; r0 += nb0) {
        size_t nb = n - r0 < nb0 ? n - r0 : nb0;
        const double *X = x + r0 * dim;
        double *Hb = H ? H + r0 : NULL, *gb = grad ? grad + r0 * dim : NULL;
        if (m->corr_h != 0.0)
            eval_block_corrected(m, nb, X, Hb, gb, Z, S, D, G, V);
        else
            eval_block(m, nb, X, Hb, gb, Z, S, D);
    }
    free(work);
    return HRF_OK;
}

/* Rows [r0, r1) of the Hessian by loops over the cached Wᵀ and Pᵀ; z of
 * SMALL_ROWS x M scratch. */
static void hessian_rows_small(const hrf_hnn *m, size_t r0, size_t r1, const double *x,
                               double *hess, double *z) {
    const size_t M = m->width, dim = m->dim, dd = dim * dim, nb = r1 - r0;
    for (size_t i = 0; i < nb; i++) {
        double *zi = z + i * M;
        const double *xi = x + (r0 + i) * dim;
        memcpy(zi, m->b, M * sizeof *zi);
        for (size_t a = 0; a < dim; a++) {
            const double xa = xi[a], *wa = m->Wt + a * M;
#pragma omp simd
            for (size_t k = 0; k < M; k++)
                zi[k] += wa[k] * xa;
        }
    }
    if (m->act->eval_d2)
        m->act->eval_d2(nb * M, z, z);
    else
        for (size_t k = 0; k < nb * M; k++)
            z[k] = m->act->d2(z[k]);
    for (size_t i = 0; i < nb; i++) {
        double *zi = z + i * M, *hi = hess + (r0 + i) * dd;
#pragma omp simd
        for (size_t k = 0; k < M; k++)
            zi[k] *= m->c[k];
        for (size_t ab = 0; ab < dd; ab++) {
            const double *p = m->Pt + ab * M;
            double acc = 0.0;
#pragma omp simd reduction(+ : acc)
            for (size_t k = 0; k < M; k++)
                acc += zi[k] * p[k];
            hi[ab] = acc;
        }
    }
}

int hrf_hnn_hessian(const hrf_hnn *m, size_t n, const double *x, double *hess) {
    const size_t M = m->width, dim = m->dim, dd = dim * dim;
    if (m->corr_h != 0.0)
        return hrf_error(HRF_EINVAL,
                         "the Hessian of a corrected Hamiltonian needs the third "
                         "derivative of the activation; use finite differences of the gradient");
    if (n == 0) return HRF_OK;
    if (m->Wt && m->Pt) {
        const size_t ntask = (n + SMALL_ROWS - 1) / SMALL_ROWS;
        const size_t rows = n < SMALL_ROWS ? n : SMALL_ROWS;
        int oom = 0;
#pragma omp parallel if (n * M >= PAR_MIN) reduction(| : oom)
        {
            double *z = malloc(rows * M * sizeof *z);
            if (!z) oom = 1;
#pragma omp for schedule(static)
            for (size_t t = 0; t < ntask; t++) {
                if (!z) continue;
                size_t r0 = t * SMALL_ROWS, r1 = r0 + SMALL_ROWS < n ? r0 + SMALL_ROWS : n;
                hessian_rows_small(m, r0, r1, x, hess, z);
            }
            free(z);
        }
        if (oom) return hrf_error(HRF_ENOMEM, "out of memory for a width-%zu Hessian", M);
        return HRF_OK;
    }
    /* Large dimensions: ∇²Ĥ of a block is (c ⊙ σ''(Z)) P, one GEMM, with
     * P (M, dim²), P_k,(a,b) = W_ka W_kb. */
    const size_t nb0 = n < EVAL_BLOCK ? n : EVAL_BLOCK;
    double *work = malloc((nb0 * M + M * dd) * sizeof *work);
    if (!work) return hrf_error(HRF_ENOMEM, "out of memory for a width-%zu Hessian", M);
    double *Z = work, *P = Z + nb0 * M;
    for (size_t k = 0; k < M; k++)
        for (size_t a = 0; a < dim; a++)
            for (size_t b = 0; b < dim; b++)
                P[k * dd + a * dim + b] = m->W[k * dim + a] * m->W[k * dim + b];
    for (size_t r0 = 0; r0 < n; r0 += nb0) {
        size_t nb = n - r0 < nb0 ? n - r0 : nb0;
        preact_block(m, nb, x + r0 * dim, Z);
        c_d2_inplace(m, nb, Z);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nb, (int)dd, (int)M, 1.0, Z,
                    (int)M, P, (int)dd, 0.0, hess + r0 * dd, (int)dd);
    }
    free(work);
    return HRF_OK;
}

int hrf_hnn_set_correction(hrf_hnn *m, double h) {
    if (!isfinite(h))
        return hrf_error(HRF_EINVAL, "the correction step h must be finite, got %g", h);
    m->corr_h = h;
    return HRF_OK;
}

double hrf_hnn_correction(const hrf_hnn *m) {
    return m->corr_h;
}

int hrf_hnn_pin(hrf_hnn *m, const double *x0, double H0) {
    double H;
    int rc = hrf_hnn_eval(m, 1, x0, &H, NULL);
    if (rc) return rc;
    m->c0 += H0 - H;
    return HRF_OK;
}

/* ---- the hamrf/field.h adapter ---- */
static int field_rhs(void *ctx, size_t n, const double *x, double *dxdt) {
    return hrf_hnn_vector_field(ctx, n, x, dxdt);
}

static int field_energy(void *ctx, size_t n, const double *x, double *H) {
    return hrf_hnn_eval(ctx, n, x, H, NULL);
}

/* Jacobian of J∇Ĥ = (∂Ĥ/∂p, −∂Ĥ/∂q): from the Hessian, row q_a takes
 * row p_a and row p_a takes minus row q_a. */
static int field_jac(void *ctx, size_t n, const double *x, double *jac) {
    const hrf_hnn *m = ctx;
    const size_t dim = m->dim, d = dim / 2;
    int rc = hrf_hnn_hessian(m, n, x, jac);
    if (rc) return rc;
    for (size_t i = 0; i < n; i++) {
        double *Jm = jac + i * dim * dim;
        for (size_t a = 0; a < d; a++)
            for (size_t b = 0; b < dim; b++) {
                double hq = Jm[a * dim + b], hp = Jm[(d + a) * dim + b];
                Jm[a * dim + b] = hp;
                Jm[(d + a) * dim + b] = -hq;
            }
    }
    return HRF_OK;
}

void hrf_hnn_field(const hrf_hnn *m, hrf_field *f) {
    f->dim = m->dim;
    f->separable = 0; /* every neuron of a shallow network mixes q and p */
    f->hamiltonian = 1;
    f->ctx = (void *)m;
    f->rhs = field_rhs;
    f->jac = m->corr_h != 0.0 ? NULL : field_jac; /* corrected: central differences */
    f->energy = field_energy;
}

int hrf_hnn_vector_field(const hrf_hnn *m, size_t n, const double *x, double *dxdt) {
    int rc = hrf_hnn_eval(m, n, x, NULL, dxdt);
    if (rc) return rc;
    size_t half = m->dim / 2;
    for (size_t i = 0; i < n; i++) {
        double *v = dxdt + i * m->dim;
        for (size_t a = 0; a < half; a++) { /* (∂H/∂q, ∂H/∂p) → (∂H/∂p, −∂H/∂q) */
            double dq = v[a];
            v[a] = v[half + a];
            v[half + a] = -dq;
        }
    }
    return HRF_OK;
}

int hrf_hnn_errors_on(const hrf_hnn *m, const hrf_dataset *d, hrf_hnn_errors *out) {
    if (m->dim != d->dim)
        return hrf_error(HRF_EINVAL,
                         "the model has input dimension %zu but the data set has "
                         "dimension %zu (x has shape (%zu, %zu))",
                         m->dim, d->dim, d->n, d->dim);
    const size_t n = d->n, dim = d->dim, half = dim / 2;
    double *H = malloc(n * sizeof *H), *grad = malloc(n * dim * sizeof *grad);
    double *g = malloc(n * dim * sizeof *g);
    int rc = HRF_OK;
    if (!H || !grad || !g) {
        rc = hrf_error(HRF_ENOMEM, "out of memory evaluating %zu points", n);
        goto done;
    }
    if ((rc = hrf_hnn_eval(m, n, d->x, H, grad))) goto done;
    hrf_dataset_gradient_targets(d, g);
    out->n = n, out->dim = dim, out->has_H = d->H != NULL;
    out->rel_l2_H = d->H ? hrf_rel_l2(n, H, d->H) : NAN;
    out->rel_l2_grad = hrf_rel_l2(n * dim, grad, g);
    /* J ∇Ĥ = (∂Ĥ/∂p, −∂Ĥ/∂q), written over g (no longer needed). */
    for (size_t i = 0; i < n; i++)
        for (size_t a = 0; a < half; a++) {
            g[i * dim + a] = grad[i * dim + half + a];
            g[i * dim + half + a] = -grad[i * dim + a];
        }
    out->mse_dxdt = hrf_mse(n * dim, g, d->dxdt);
done:
    free(H), free(grad), free(g);
    return rc;
}

/* ---- the structured least-squares problem ---- */
typedef struct {
    const hrf_activation *act;
    size_t K, M, dim;
    const double *X; /* (K, dim) training inputs */
    const double *G; /* (K, dim) gradient targets */
    const double *W, *b;
    double *s0; /* (M) σ(W x0 + b): the anchor row */
    double H0;
    double *D;                /* (K, M) cached σ'(Z), or NULL: recompute per block */
    double *blk;              /* (B, M) block buffer when not cached */
    size_t B;                 /* rows per block */
    double *T;                /* (M, dim) scratch */
    double *u;                /* (K·dim + 1) right-hand side */
    double *part;             /* (nthreads, dim, M) per-thread partial sums */
    double *zbuf;             /* (nthreads, M) pre-activation scratch */
    float *Df;                /* (K, M) σ'(Z) in single precision (first A-SWIM pass), or NULL */
    float *Gf;                /* (M, M) single-precision Gram scratch */
    float *Gtf;               /* (K, dim) targets in single precision */
    hrf_progress_fn progress; /* per-block progress of streamed Gram passes, or NULL */
    void *progress_user;
    const char *stage;
    int nthreads;
} hnn_lsq;

/* Pointer to rows [r0, r0+nb) of D, computing them if not cached. */
static const double *hnn_block(hnn_lsq *q, size_t r0, size_t nb) {
    if (q->D) return q->D + r0 * q->M;
    features(q->act, q->M, q->dim, q->W, q->b, q->X, r0, r0 + nb, NULL, q->blk, q->zbuf);
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
    for (size_t r0 = 0; r0 < q->K && !q->Df; r0 += B) {
        size_t nb = q->K - r0 < B ? q->K - r0 : B;
        if (q->progress && !q->D)
            q->progress(q->progress_user, q->stage, (double)r0 / (double)q->K);
        const double *Db = hnn_block(q, r0, nb);
        /* DᵀD: D rows are points, so D row-major is an M x nb column-major matrix. */
        cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, (int)M, (int)nb, 1.0, Db, (int)M, 1.0,
                    Gm, (int)n);
        /* T += Dᵀ G  (M x dim column-major) */
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
        double aj = j < M ? q->s0[j] : 1.0;
        for (size_t i = 0; i <= j; i++)
            Gm[i + j * n] += (i < M ? q->s0[i] : 1.0) * aj;
        Atu[j] += aj * q->H0;
    }
    *utu = cblas_ddot((int)(q->K * dim + 1), q->u, 1, q->u, 1);
    return HRF_OK;
}

/* y_a = Σ_k d_k Vc[a·M + k] for one row d (M) of D; y (dim). */
static inline void row_dots(const double *d, size_t M, size_t dim, const double *Vc, double *y) {
    for (size_t a = 0; a < dim; a++) {
        const double *v = Vc + a * M;
        double s = 0.0;
#pragma omp simd reduction(+ : s)
        for (size_t k = 0; k < M; k++)
            s += d[k] * v[k];
        y[a] = s;
    }
}

/* Tc += Σ_t part_t over the threads' buffers, in thread order (deterministic). */
static void add_partials(const double *part, int nthreads, size_t len, double *Tc) {
    for (int t = 0; t < nthreads; t++) {
        const double *P = part + (size_t)t * len;
        for (size_t j = 0; j < len; j++)
            Tc[j] += P[j];
    }
}

/* y_i,a = Σ_k D_ik Vc[a·M + k] for the nb rows of Db (nb, M); y (nb, dim).
 * Vc is dim x M (one contiguous vector per coordinate). Memory-bound: one
 * read of Db; rows split statically over threads (deterministic). */
static void rows_times(const double *Db, size_t nb, size_t M, size_t dim, const double *Vc,
                       double *y) {
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < nb; i++)
        row_dots(Db + i * M, M, dim, Vc, y + i * dim);
}

/* Tc[a·M + k] += Σ_i D_ik y_i,a over the nb rows of Db. Each thread sums its
 * static share of rows into its own buffer (part, nthreads x dim x M); the
 * buffers are added in thread order, so the result is deterministic for a
 * given thread count. */
static void rows_transpose_times(const double *Db, size_t nb, size_t M, size_t dim, const double *y,
                                 double *Tc, double *part, int nthreads) {
    memset(part, 0, (size_t)nthreads * dim * M * sizeof *part);
#pragma omp parallel num_threads(nthreads)
    {
        int t = omp_get_thread_num();
        double *P = part + (size_t)t * dim * M;
#pragma omp for schedule(static)
        for (size_t i = 0; i < nb; i++) {
            const double *d = Db + i * M;
            for (size_t a = 0; a < dim; a++) {
                double ya = y[i * dim + a];
                double *pa = P + a * M;
#pragma omp simd
                for (size_t k = 0; k < M; k++)
                    pa[k] += ya * d[k];
            }
        }
    }
    add_partials(part, nthreads, dim * M, Tc);
}

/* Fused y = D·Vc and Tc += Dᵀ y over the nb rows of Db, each row of D read
 * from memory once. Rows go in tiles of ROW_TILE: first the tile's dot
 * products, then its rank-ROW_TILE update of the per-thread accumulator in
 * chunks of K_CHUNK columns, so each accumulator chunk is loaded once per
 * tile instead of once per row. Per-thread sums are added in thread order:
 * deterministic for a given thread count. */
#define ROW_TILE 8
#define K_CHUNK 512
static void rows_normal(const double *Db, size_t nb, size_t M, size_t dim, const double *Vc,
                        double *y, double *Tc, double *part, int nthreads) {
    memset(part, 0, (size_t)nthreads * dim * M * sizeof *part);
    size_t ntiles = (nb + ROW_TILE - 1) / ROW_TILE;
#pragma omp parallel num_threads(nthreads)
    {
        int t = omp_get_thread_num();
        double *P = part + (size_t)t * dim * M;
#pragma omp for schedule(static)
        for (size_t tile = 0; tile < ntiles; tile++) {
            size_t i0 = tile * ROW_TILE, i1 = i0 + ROW_TILE < nb ? i0 + ROW_TILE : nb;
            for (size_t i = i0; i < i1; i++)
                row_dots(Db + i * M, M, dim, Vc, y + i * dim);
            for (size_t k0 = 0; k0 < M; k0 += K_CHUNK) {
                size_t k1 = k0 + K_CHUNK < M ? k0 + K_CHUNK : M;
                for (size_t a = 0; a < dim; a++) {
                    double *pa = P + a * M;
                    if (i1 - i0 == ROW_TILE) {
                        const double *d0 = Db + i0 * M;
                        double c[ROW_TILE];
                        for (int r = 0; r < ROW_TILE; r++)
                            c[r] = y[(i0 + r) * dim + a];
#pragma omp simd
                        for (size_t k = k0; k < k1; k++)
                            pa[k] += c[0] * d0[k] + c[1] * d0[M + k] + c[2] * d0[2 * M + k] +
                                     c[3] * d0[3 * M + k] + c[4] * d0[4 * M + k] +
                                     c[5] * d0[5 * M + k] + c[6] * d0[6 * M + k] +
                                     c[7] * d0[7 * M + k];
                    } else {
                        for (size_t i = i0; i < i1; i++) {
                            const double *d = Db + i * M;
                            double ya = y[i * dim + a];
#pragma omp simd
                            for (size_t k = k0; k < k1; k++)
                                pa[k] += ya * d[k];
                        }
                    }
                }
            }
        }
    }
    add_partials(part, nthreads, dim * M, Tc);
}

static int hnn_apply_normal(void *ctx, const double *v, double *y, double *z) {
    hnn_lsq *q = ctx;
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
        rows_normal(Db, nb, M, dim, Vc, y + r0 * dim, Tc, q->part, q->nthreads);
    }
    double ya = cblas_ddot((int)M, q->s0, 1, v, 1) + v[M];
    y[q->K * dim] = ya;
    for (size_t k = 0; k < M; k++) {
        double s = 0.0;
        for (size_t a = 0; a < dim; a++)
            s += q->W[k * dim + a] * Tc[k + a * M];
        z[k] = s + q->s0[k] * ya;
    }
    z[M] = ya;
    return HRF_OK;
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
        rows_times(Db, nb, M, dim, q->T, y + r0 * dim);
    }
    y[q->K * dim] = cblas_ddot((int)M, q->s0, 1, v, 1) + v[M];
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
        rows_transpose_times(Db, nb, M, dim, y + r0 * dim, q->T, q->part, q->nthreads);
    }
    double ya = y[q->K * dim];
    for (size_t k = 0; k < M; k++) {
        double s = 0.0;
        for (size_t a = 0; a < dim; a++)
            s += q->W[k * dim + a] * q->T[k + a * M];
        v[k] = s + q->s0[k] * ya;
    }
    v[M] = ya;
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
    A[M * m + m - 1] = 1.0;
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
        if (!q->D) features(q->act, M, dim, q->W, q->b, q->X, r0, r0 + nb, NULL, rows, q->zbuf);
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
    A[M * mr + mr - 1] = 1.0;
    u[mr - 1] = q->H0;
    free(Dc), free(tau), free(Cg), free(rows);
    *rows_r = mr, *A_r = A, *u_r = u;
    return HRF_OK;
fail:
    free(Dc), free(tau), free(Cg), free(A), free(u), free(rows);
    return rc;
}

/* Rows per streamed block: about 32 MiB of σ'(Z). */
static size_t block_rows(size_t M) {
    size_t B = ((size_t)32 << 20) / (8 * M);
    return B < 64 ? 64 : B;
}

/* Solves for (c, c0) given the sampled W, b in m. */
/* With Hhat non-NULL (A-SWIM's first pass), also returns Ĥ at the training
 * inputs, from σ(Z) kept beside σ'(Z) when both fit the cache budget. */
static int hnn_solve(const hrf_hnn_params *p, const hrf_dataset *data, const double *G, hrf_hnn *m,
                     double cache_budget, hrf_hnn_fit_report *rep, double *Hhat, int *have_Hhat,
                     int single, double *ws) {
    const size_t K = data->n, M = m->width, dim = m->dim, n = M + 1;
    hnn_lsq q;
    memset(&q, 0, sizeof q);
    double *S = NULL; /* σ(Z), (K, M), only for Hhat */
    float *Sf = NULL; /* the same in single precision */
    q.act = m->act, q.K = K, q.M = M, q.dim = dim, q.X = data->x, q.G = G, q.W = m->W, q.b = m->b;
    q.H0 = data->H0;
    q.progress = p->progress, q.progress_user = p->progress_user;
    q.stage = Hhat ? "Gram matrix (pass 1)" : "Gram matrix";
    double *theta = malloc(n * sizeof *theta);
    q.s0 = malloc(M * sizeof *q.s0);
    q.T = malloc(2 * M * dim * sizeof *q.T);
    q.u = malloc((K * dim + 1) * sizeof *q.u);
    q.nthreads = omp_get_max_threads();
    q.part = malloc((size_t)q.nthreads * M * dim * sizeof *q.part);
    q.zbuf = malloc((size_t)q.nthreads * M * sizeof *q.zbuf);
    int rc = HRF_OK;
    if (!theta || !q.s0 || !q.T || !q.u || !q.part || !q.zbuf) {
        rc = hrf_error(HRF_ENOMEM, "out of memory for the least-squares problem");
        goto done;
    }
    memcpy(q.u, G, K * dim * sizeof *q.u);
    q.u[K * dim] = data->H0;
    features(m->act, M, dim, m->W, m->b, data->x0, 0, 1, q.s0, NULL, q.zbuf);
    double dbytes = 8.0 * (double)K * (double)M;
    double t0 = hrf_now();
    if (have_Hhat) *have_Hhat = 0;
    if (single && Hhat && dbytes <= cache_budget) {
        /* A-SWIM's first fit only shapes the sampling density of the second,
         * so it runs in single precision (ours): σ'(Z) and σ(Z) stored as
         * float, Gram by SSYRK, Cholesky in double with a ridge suited to
         * float rounding. Halves its memory traffic and flops. */
        /* ws (8KM bytes, shared by both passes, so its pages are faulted in
         * once) holds σ'(Z) and σ(Z) as floats. */
        q.Df = ws ? (float *)ws : NULL;
        Sf = ws ? (float *)ws + K * M : NULL;
        q.Gf = malloc(M * (M > dim ? M : dim) * sizeof *q.Gf);
        q.Gtf = malloc(K * dim * sizeof *q.Gtf);
        q.B = block_rows(M) < K ? block_rows(M) : K;
        q.blk =
            malloc(2 * (q.B > (size_t)q.nthreads ? q.B : (size_t)q.nthreads) * M * sizeof *q.blk);
        if (!q.Df || !Sf || !q.Gf || !q.Gtf || !q.blk) {
            free(q.Gf), free(q.Gtf), free(q.blk);
            q.Df = NULL, Sf = NULL, q.Gf = NULL, q.Gtf = NULL, q.blk = NULL;
        } else {
            for (size_t j = 0; j < K * dim; j++)
                q.Gtf[j] = (float)G[j];
            /* Pre-activations in double; σ, σ' by the activation's single
             * precision kernel when it has one (about half the cost). */
            const hrf_activation *act = m->act;
#pragma omp parallel
            {
                int t = omp_get_thread_num();
                double *z = q.zbuf + (size_t)t * M;
                double *sd = q.blk + (size_t)t * 2 * M; /* 2·B·M ≥ 2·nthreads·M */
#pragma omp for schedule(static)
                for (size_t i = 0; i < K; i++) {
                    preact(M, dim, m->W, m->b, data->x + i * dim, z);
                    if (act->eval_f32) {
                        act->eval_f32(M, z, Sf + i * M, q.Df + i * M);
                    } else {
                        act->eval(M, z, sd, sd + M);
                        for (size_t k = 0; k < M; k++)
                            Sf[i * M + k] = (float)sd[k], q.Df[i * M + k] = (float)sd[M + k];
                    }
                }
            }
        }
    }
    if (q.Df) {
        /* nothing more to cache: apply() (unused here) would stream in double */
    } else if (dbytes <= cache_budget) {
        q.D = ws; /* NULL when the workspace could not be had: stream */
    }
    if (q.D && Hhat && 2.0 * dbytes <= cache_budget) S = malloc((size_t)dbytes);
    if (q.Df) {
        rep->cached = 1;
    } else if (q.D) {
        features(m->act, M, dim, m->W, m->b, data->x, 0, K, S, q.D, q.zbuf);
        rep->cached = 1;
    } else if (!q.blk) {
        q.B = p->block_rows ? p->block_rows : block_rows(M);
        if (q.B > K) q.B = K;
        q.blk = malloc(q.B * M * sizeof *q.blk);
        if (!q.blk) {
            rc = hrf_error(HRF_ENOMEM, "out of memory for a %zu x %zu feature block", q.B, M);
            goto done;
        }
        rep->cached = 0;
    }
    double feat_seconds = hrf_now() - t0;
    hrf_debug("features %.3f s (cached %d)", feat_seconds, q.D != NULL);
    hrf_lsq_problem prob;
    memset(&prob, 0, sizeof prob);
    prob.rows = K * dim + 1, prob.cols = n, prob.ctx = &q, prob.u = q.u;
    prob.assemble = hnn_assemble, prob.gram = hnn_gram;
    prob.apply = hnn_apply, prob.apply_t = hnn_apply_t;
    prob.apply_normal = hnn_apply_normal;
    if (K >= M) {
        prob.reduce = hnn_reduce;
        prob.reduce_flops = 2.0 * (double)K * (double)M * (double)M -
                            2.0 * (double)M * M * M / 3.0 + 4.0 * (double)K * (double)M * dim;
        prob.reduce_rows = dim * M + 1;
        prob.reduce_bytes = 8.0 * ((double)K * (double)M + (double)K * dim +
                                   (double)(dim * M + 1) * (double)(M + 2));
    }
    double Kd = (double)K, Md = (double)M;
    /* Gram: SYRK K·M·(M+1) + DᵀG 2·K·M·dim + the Hadamard product M²·dim. */
    prob.gram_flops = Kd * Md * (Md + 1.0) + 2.0 * Kd * Md * dim + Md * Md * dim;
    prob.apply_flops = 2.0 * Kd * Md * dim;
    if (!q.D) { /* each pass recomputes σ'(Z): count its multiply-adds too */
        prob.gram_flops += 2.0 * Kd * Md * dim;
        prob.apply_flops += 2.0 * Kd * Md * dim;
    }
    prob.extra_bytes = q.D ? dbytes : 8.0 * (double)(q.B * M);
    hrf_lstsq_params lp = p->lstsq;
    if (!q.D && !q.Df && lp.stream_refine_max < lp.refine_max) {
        /* Streamed features: every LSQR iteration recomputes σ'(Z) for all
         * points (the cost of a whole Gram pass's features), so the
         * refinement is capped (stream_refine_max, default 0). */
        lp.refine_max = lp.stream_refine_max;
        if (lp.auto_refine_max > lp.refine_max) lp.auto_refine_max = lp.refine_max;
    }
    if (q.Df) {
        lp.solver = HRF_SOLVER_NORMAL;
        lp.refine_max = 0;
        lp.gram_refine_max = 0;
        lp.ridge = lp.ridge > 1e-6 ? lp.ridge : 1e-6; /* float rounding of a unit-diagonal Gram */
        lp.skip_residual = 1;
        prob.gram_flops *= 0.5; /* model count in double-equivalent work */
    }
    rc = hrf_lstsq_solve(&prob, &lp, theta, &rep->lstsq);
    if (rc) goto done;
    memcpy(m->c, theta, M * sizeof *theta);
    m->c0 = theta[M];
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
    rep->solve_seconds += rep->lstsq.seconds + (q.D ? feat_seconds : 0.0);
    rep->solve_flops += rep->lstsq.flops;
done:
    free(theta), free(q.s0), free(q.T), free(q.u), free(q.blk), free(q.part), free(q.zbuf), free(S),
        free(q.Gf), free(q.Gtf);
    return rc;
}

static void report_progress(const hrf_hnn_params *p, const char *stage, double f) {
    if (p->progress) p->progress(p->progress_user, stage, f);
}

int hrf_hnn_fit(const hrf_hnn_params *p, const hrf_dataset *data, hrf_hnn **out,
                hrf_hnn_fit_report *rep) {
    hrf_hnn_fit_report local;
    if (!rep) rep = &local;
    memset(rep, 0, sizeof *rep);
    *out = NULL;
    const char *msg = hrf_hnn_params_check(p);
    if (msg) return hrf_error(HRF_EINVAL, "%s", msg);
    const size_t K = data->n, dim = data->dim, M = p->width;
    if (K == 0) return hrf_error(HRF_EDATA, "the training set is empty");
    if (p->sampler->density != HRF_PAIRS_NONE && K < 2)
        return hrf_error(HRF_EDATA,
                         "sampler '%s' draws pairs of training points and needs at "
                         "least 2, the data set has %zu",
                         p->sampler->name, K);
    if (p->sampler->needs_values && !data->H)
        return hrf_error(HRF_EDATA,
                         "sampler '%s' needs the true energy 'H' at the training points "
                         "(the SWIM oracle), and the data set has none; use aswim or uswim",
                         p->sampler->name);
    /* Refuse absurd sizes before allocating anything large (and before any
     * size arithmetic could overflow). */
    if (M > ((size_t)1 << 32) || K > ((size_t)1 << 40))
        return hrf_error(HRF_ETOOBIG,
                         "width %zu on %zu points is beyond what hamrf supports "
                         "(width at most 2^32, at most 2^40 points): it needs about %.3g GiB",
                         M, K,
                         8.0 * ((double)M * (double)M + (double)K * (double)M) / 1073741824.0);
    double avail = (double)hrf_mem_available();
    hrf_solver s = p->lstsq.solver;
    double rows = (double)K * dim + 1.0, cols = (double)M + 1.0;
    double need_solver;
    if (s == HRF_SOLVER_SVD || s == HRF_SOLVER_QR ||
        (s == HRF_SOLVER_AUTO && rows * cols <= (double)p->lstsq.auto_dense_max))
        need_solver = hrf_lstsq_memory_estimate(s == HRF_SOLVER_QR ? s : HRF_SOLVER_SVD,
                                                (size_t)rows, (size_t)cols);
    else
        need_solver = hrf_lstsq_memory_estimate(HRF_SOLVER_NORMAL, (size_t)rows, (size_t)cols) +
                      8.0 * (double)block_rows(M) * (double)M;
    double pool = (double)K * (double)((M + K - 1) / K) * 25.0; /* SWIM pool: 2 indices, 1 weight */
    double need = 8.0 * (double)M * (dim + 2) + 8.0 * (rows + K * dim) + need_solver + pool;
    if (M > ((size_t)1 << 32) || (avail > 0.0 && need > avail))
        return hrf_error(HRF_ETOOBIG,
                         "width %zu on %zu points needs about %.3g GiB, but only "
                         "%.3g GiB are available",
                         M, K, need / 1073741824.0, avail / 1073741824.0);
    double cache_budget = (double)p->cache_bytes;
    if (avail > 0.0 && cache_budget > 0.5 * (avail - need)) cache_budget = 0.5 * (avail - need);

    double t_start = hrf_now();
    hrf_hnn *m = hnn_alloc(dim, M, p->act);
    double *G = malloc(K * dim * sizeof *G), *Hhat = NULL, *ws = NULL;
    int rc = HRF_OK;
    if (!m || !G) {
        rc = hrf_error(HRF_ENOMEM, "out of memory for a width-%zu network", M);
        goto fail;
    }
    hrf_dataset_gradient_targets(data, G);
    hrf_layer_sample_params lp = {M, p->elm_lo, p->elm_hi, p->resample_duplicates, p->act};
    if (isnan(lp.elm_lo)) { /* MATH.md §2.1: [smallest, largest] of the box bounds */
        double lo = INFINITY, hi = -INFINITY;
        for (size_t a = 0; a < dim; a++) {
            if (data->box_lo) {
                lo = fmin(lo, data->box_lo[a]), hi = fmax(hi, data->box_hi[a]);
            } else {
                for (size_t i = 0; i < K; i++)
                    lo = fmin(lo, data->x[i * dim + a]), hi = fmax(hi, data->x[i * dim + a]);
            }
        }
        lp.elm_lo = lo, lp.elm_hi = hi;
    }
    hrf_rng rng;
    hrf_rng_seed(&rng, p->seed);
    size_t repeated = 0;
    double ts = hrf_now();
    report_progress(p, "sampling", 0.0);
    rc = hrf_layer_sample(p->sampler->density, &lp, K, dim, data->x,
                          p->sampler->density == HRF_PAIRS_VALUES ? data->H : NULL, &rng, m->W,
                          m->b, &repeated);
    rep->sample_seconds += hrf_now() - ts;
    if (rc) goto fail;
    report_progress(p, "solving", 0.1);
    /* A-SWIM's first fit only sets the sampling density of the second, so with
     * the auto solver it uses the plain Gram route (no refinement). */
    hrf_hnn_params p1 = *p;
    if (p->sampler->adaptive && p->lstsq.solver == HRF_SOLVER_AUTO) {
        p1.lstsq.solver = HRF_SOLVER_NORMAL;
        p1.lstsq.refine_max = 0;
    }
    int have_Hhat = 0;
    if (p->sampler->adaptive) {
        Hhat = malloc(K * sizeof *Hhat);
        if (!Hhat) {
            rc = hrf_error(HRF_ENOMEM, "out of memory");
            goto fail;
        }
    }
    /* σ'(Z) workspace for both passes, when it fits the cache budget. */
    if (8.0 * (double)K * (double)M <= cache_budget) ws = malloc(K * M * sizeof *ws);
    rc = hnn_solve(&p1, data, G, m, cache_budget, rep, Hhat, &have_Hhat,
                   p->sampler->adaptive && p->lstsq.solver == HRF_SOLVER_AUTO, ws);
    if (rc) goto fail;
    rep->passes = 1;
    if (p->sampler->adaptive) {
        /* A-SWIM: Ĥ of the first fit at the training inputs drives the SWIM density. */
        report_progress(p, "resampling (A-SWIM)", 0.5);
        ts = hrf_now();
        if (!have_Hhat && (rc = hrf_hnn_eval(m, K, data->x, Hhat, NULL))) goto fail;
        hrf_debug("A-SWIM evaluation %.3f s", hrf_now() - ts);
        rc = hrf_layer_sample(HRF_PAIRS_VALUES, &lp, K, dim, data->x, Hhat, &rng, m->W, m->b,
                              &repeated);
        rep->sample_seconds += hrf_now() - ts;
        if (rc) goto fail;
        report_progress(p, "solving (A-SWIM)", 0.6);
        if ((rc = hnn_solve(p, data, G, m, cache_budget, rep, NULL, NULL, 0, ws))) goto fail;
        rep->passes = 2;
    }
    report_progress(p, "done", 1.0);
    rep->repeated_pairs = repeated;
    rep->fit_seconds = hrf_now() - t_start;
    free(G), free(Hhat), free(ws);
    if (!(m->prov = hrf_provenance_sampled(p, rep->lstsq.used, data))) {
        hrf_hnn_free(m);
        return hrf_error(HRF_ENOMEM, "out of memory");
    }
    hnn_prepare(m);
    *out = m;
    return HRF_OK;
fail:
    free(G), free(Hhat), free(ws);
    hrf_hnn_free(m);
    return rc;
}

/* ---- files ---- */

/* The keys an HNN file's meta owns (src/models/model_file.h). */
static const char *const hnn_keys[] = {"activation", "width", "dim", "correction_h", NULL};

int hrf_hnn_save_meta(const hrf_hnn *m, const char *path, const cJSON *extra) {
    hrf_npz_writer *w;
    cJSON *meta;
    int rc = hrf_model_file_begin("hnn", m->prov, extra, hnn_keys, &w, &meta);
    if (rc) return rc;
    cJSON_AddStringToObject(meta, "activation", m->act->name);
    cJSON_AddNumberToObject(meta, "width", (double)m->width);
    cJSON_AddNumberToObject(meta, "dim", (double)m->dim);
    if (m->corr_h != 0.0) cJSON_AddNumberToObject(meta, "correction_h", m->corr_h);
    size_t sW[2] = {m->width, m->dim}, sM[1] = {m->width};
    rc = hrf_npz_writer_add(w, "W", 2, sW, m->W);
    if (!rc) rc = hrf_npz_writer_add(w, "b", 1, sM, m->b);
    if (!rc) rc = hrf_npz_writer_add(w, "c", 1, sM, m->c);
    if (!rc) rc = hrf_npz_writer_add(w, "c0", 0, NULL, &m->c0);
    if (rc) {
        cJSON_Delete(meta);
        hrf_npz_writer_free(w);
        return rc;
    }
    return hrf_model_file_finish(w, meta, NULL, NULL, path);
}

void hrf_hnn_set_provenance(hrf_hnn *m, cJSON *prov) {
    cJSON_Delete(m->prov);
    m->prov = prov;
}

const cJSON *hrf_hnn_provenance(const hrf_hnn *m) {
    return m->prov;
}

int hrf_hnn_load_meta(const char *path, hrf_hnn **out, cJSON **meta_out) {
    *out = NULL;
    if (meta_out) *meta_out = NULL;
    hrf_npz *z = NULL;
    cJSON *meta = NULL;
    double *W = NULL, *b = NULL, *c = NULL, *c0 = NULL;
    hrf_hnn *m = NULL;
    const hrf_activation *act = NULL;
    int rc = hrf_model_file_open(path, "hnn", &z, &meta, &act);
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
    size_t sM[1] = {sW[0]};
    if ((rc = hrf_npz_read(z, "b", 1, sM, &b))) goto done;
    if ((rc = hrf_npz_read(z, "c", 1, sM, &c))) goto done;
    if ((rc = hrf_npz_read(z, "c0", 0, NULL, &c0))) goto done;
    if ((rc = hrf_check_finite(path, "W", W, sW[0] * sW[1])) ||
        (rc = hrf_check_finite(path, "b", b, sW[0])) ||
        (rc = hrf_check_finite(path, "c", c, sW[0])) || (rc = hrf_check_finite(path, "c0", c0, 1)))
        goto done;
    m = hnn_alloc(sW[1], sW[0], act);
    if (!m) {
        rc = hrf_error(HRF_ENOMEM, "out of memory");
        goto done;
    }
    memcpy(m->W, W, sW[0] * sW[1] * sizeof *W);
    memcpy(m->b, b, sW[0] * sizeof *b);
    memcpy(m->c, c, sW[0] * sizeof *c);
    m->c0 = *c0;
    const cJSON *ch = cJSON_GetObjectItemCaseSensitive(meta, "correction_h");
    if (ch) {
        if (!cJSON_IsNumber(ch) || !isfinite(ch->valuedouble)) {
            rc = hrf_error(HRF_EFORMAT, "%s: meta: \"correction_h\" must be a finite number", path);
            goto done;
        }
        m->corr_h = ch->valuedouble;
    }
    if (!(m->prov = hrf_model_provenance_of_meta(meta, hnn_keys))) {
        rc = hrf_error(HRF_ENOMEM, "out of memory");
        goto done;
    }
    hnn_prepare(m);
    *out = m;
    m = NULL;
    if (meta_out) {
        *meta_out = meta;
        meta = NULL;
    }
done:
    free(W), free(b), free(c), free(c0);
    hrf_hnn_free(m);
    cJSON_Delete(meta);
    hrf_npz_close(z);
    return rc;
}

/* The public, JSON-text forms (hamrf/hnn.h). */
int hrf_hnn_save(const hrf_hnn *m, const char *path, const char *extra_json) {
    cJSON *extra = NULL;
    int rc = hrf_json_object_parse(extra_json, "hrf_hnn_save: extra meta", &extra);
    if (!rc) rc = hrf_hnn_save_meta(m, path, extra);
    cJSON_Delete(extra);
    return rc;
}

int hrf_hnn_load(const char *path, hrf_hnn **out, char **meta_json) {
    cJSON *meta = NULL;
    if (meta_json) *meta_json = NULL;
    int rc = hrf_hnn_load_meta(path, out, meta_json ? &meta : NULL);
    if (!rc && meta_json && !(*meta_json = hrf_json_print(meta))) {
        hrf_hnn_free(*out);
        *out = NULL;
        rc = hrf_error(HRF_ENOMEM, "out of memory");
    }
    cJSON_Delete(meta);
    return rc;
}
