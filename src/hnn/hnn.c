/* The shallow Hamiltonian network as a model (docs/math.md §2): allocation,
 * accessors, Ĥ, ∇Ĥ and the Hessian (BLAS on row blocks, or OpenMP row loops
 * for small dimensions), the backward-error correction (docs/math.md §6.2),
 * the hamrf/field.h view and the errors on a data set. The fit is in
 * hnn_fit.c, its least-squares problem in hnn_lsq.c, the files in
 * hnn_file.c; the struct in hnn_impl.h. */
#include "hamrf/hnn.h"
#include "hamrf/metrics.h"
#include "hamrf/status.h"
#include "hnn/hnn_impl.h"

#include <cblas.h>
#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

hrf_hnn *hnn_alloc(size_t dim, size_t width, const hrf_activation *act) {
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
void hnn_prepare(hrf_hnn *m) {
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

/* The corrected H̃ = Ĥ + (h/2) ∇_qĤ·∇_pĤ (docs/math.md §6.2) and
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
    memset(f, 0, sizeof *f);
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
