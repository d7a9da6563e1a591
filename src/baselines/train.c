/* Gradient training of the shallow HNN and ODE-net (the
 * formulas are in docs/math.md §9).
 *
 * For a batch of B points with inputs X (B, dim), targets Y (B, dim),
 * Z = X Wᵀ + 1 bᵀ, S = σ(Z), D = σ'(Z), E = σ''(Z) (all (B, M)) and
 * s = 2/(B·dim):
 *
 *   HNN      R = (D ⊙ 1cᵀ) W − Y,  T = R Wᵀ (B, M)
 *            ∂L/∂c_k  = s Σ_i D_ik T_ik
 *            ∂L/∂b_k  = s c_k Σ_i E_ik T_ik
 *            ∂L/∂W_ka = s c_k Σ_i (E_ik T_ik x_ia + D_ik R_ia)
 *   ODE-net  R = S C + 1 C0ᵀ − Y,  U = R Cᵀ (B, M)
 *            ∂L/∂C_ka = s Σ_i S_ik R_ia,   ∂L/∂C0_a = s Σ_i R_ia
 *            ∂L/∂b_k  = s Σ_i D_ik U_ik,   ∂L/∂W_ka = s Σ_i D_ik U_ik x_ia
 *
 * How it is computed (why not BLAS). Each of these products has inner
 * dimension dim or an output of width dim, and dim = 2d is 2..6 for the
 * systems of docs/math.md §5; as GEMMs they would stream five (B, M) matrices
 * through memory (80 MiB at B = 2048, M = 1000) at a few flops per entry.
 * Instead one fused pass per point keeps that point's rows z, σ, σ', σ''
 * (M doubles each) in L1/L2 and adds its contributions into per-thread
 * accumulators: per point and neuron about 13·dim flops plus one activation
 * evaluation, no (B, M) array at all. (Measured at B = 2048, M = 1000,
 * dim 2, one thread: 5.4 ms for loss and gradient, against 19 ms for the
 * same formulas as five DGEMMs plus element-wise passes, which agreed to
 * 3e-16.) Points are split into contiguous per-thread ranges and the
 * accumulators summed in thread order, so a run is deterministic for a
 * given thread count. For dim 2, 4 and 6 the per-point code is specialised
 * to a compile-time dim so every loop over neurons vectorises.
 *
 * The training loop (train_loop.c, shared with the graph network) is
 * PyTorch's: per step, take the next batch, call hrf_optimizer_step with a
 * closure that evaluates the loss and gradient on that batch (L-BFGS may
 * call it several times). Scratch is allocated once per run. */
#include "baselines/train_impl.h"
#include "core/sysinfo.h"
#include "hamrf/baseline.h"
#include "hamrf/rng.h"
#include "hamrf/status.h"
#include "hnn/hnn_impl.h"
#include "models/model_file.h"
#include "odenet/odenet_impl.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef HRF_HAVE_MVEC /* glibc's vector exp, as in src/features/activation.c */
__attribute__((simd("notinbranch"))) double exp(double);
#endif

/* Below this many (point, neuron) pairs a batch runs on one thread: forking
 * and the per-thread reduction of the accumulators cost more. */
#define PAR_MIN 32768
/* Points of a batch handled together: their gradient contributions are
 * summed in registers before they touch the accumulators (measured: a step
 * about 7% faster than one point at a time at M = 1000, dim = 2). */
#define ROWS 4
/* Dimensions up to this get the HNN's ∇Ĥ (ODE-net's σ(Z)C) inside the
 * activation loop of tanh_fused. */
#define FUSE_DIM_MAX 6

typedef enum { MODEL_HNN, MODEL_ODENET } model_kind;

/* The workspace of one training run (or one loss_grad call). */
typedef struct gd_work {
    model_kind kind;
    size_t dim, M, np;
    const hrf_activation *act;
    int tanh_fast; /* act is tanh: features from tanh_fused */
    int nthreads;  /* accumulator sets allocated */
    /* Shared, rebuilt from θ at every evaluation: */
    double *Wt; /* (dim, M) Wᵀ */
    double *Vt; /* (dim, M) HNN: (c ⊙ W)ᵀ, i.e. Vt[a][k] = c_k W_ka; ODE-net: Cᵀ */
    /* Per thread t, at rows + t·row_len: z (M), s, ds, e (ROWS, M) — the
     * features of ROWS points —, their inputs and residuals (ROWS, dim). */
    double *rows;
    size_t row_len;
    double *acc; /* HNN: gc (M) | gE (M) | gWt (dim, M); ODE-net: gb (M) | gWt (dim, M)
                    | gCt (dim, M) | gC0 (dim) */
    size_t acc_len;
    double *loss_t; /* (nthreads) partial sums of squared residuals */
    /* Current batch: rows idx[0..nb) of x, y (idx NULL: rows 0..nb). */
    const double *x, *y;
    const size_t *idx;
    size_t nb;
} gd_work;

size_t hrf_gd_hnn_nparams(size_t dim, size_t width) {
    return width * (dim + 2);
}

size_t hrf_gd_odenet_nparams(size_t dim, size_t width) {
    return width * (2 * dim + 1) + dim;
}

static void work_free(gd_work *w) {
    if (!w) return;
    free(w->Wt), free(w->Vt), free(w->rows), free(w->acc), free(w->loss_t);
    free(w);
}

static int work_new(model_kind kind, size_t dim, size_t M, const hrf_activation *act,
                    gd_work **out) {
    *out = NULL;
    if (M == 0 || dim == 0)
        return hrf_error(HRF_EINVAL, "gradient training needs width > 0 and dim > 0 (got %zu, %zu)",
                         M, dim);
    if (!act || !act->eval) return hrf_error(HRF_EINVAL, "no activation (or it has no eval)");
    if (kind == MODEL_HNN && !act->d2 && !act->eval_d2)
        return hrf_error(HRF_EINVAL,
                         "activation '%s' has no second derivative, which the HNN's "
                         "gradient needs",
                         act->name);
    gd_work *w = calloc(1, sizeof *w);
    if (!w) return hrf_error(HRF_ENOMEM, "out of memory");
    w->kind = kind, w->dim = dim, w->M = M, w->act = act;
    w->tanh_fast = act == &hrf_activation_tanh;
    w->np = kind == MODEL_HNN ? hrf_gd_hnn_nparams(dim, M) : hrf_gd_odenet_nparams(dim, M);
    w->nthreads = omp_get_max_threads();
    if (w->nthreads < 1) w->nthreads = 1;
    w->row_len = M + 3 * ROWS * M + 2 * ROWS * dim;
    w->acc_len = kind == MODEL_HNN ? (2 + dim) * M : (1 + 2 * dim) * M + dim;
    size_t T = (size_t)w->nthreads;
    w->Wt = malloc(dim * M * sizeof(double));
    w->Vt = malloc(dim * M * sizeof(double));
    w->rows = malloc(T * w->row_len * sizeof(double));
    w->acc = malloc(T * w->acc_len * sizeof(double));
    w->loss_t = malloc(T * sizeof(double));
    if (!w->Wt || !w->Vt || !w->rows || !w->acc || !w->loss_t) {
        work_free(w);
        return hrf_error(HRF_ENOMEM, "out of memory for the training workspace (width %zu)", M);
    }
    *out = w;
    return HRF_OK;
}

/* Wt, Vt from θ. */
static void prepare(gd_work *w, const double *theta) {
    const size_t M = w->M, dim = w->dim;
    const double *W = theta;
    const double *V = w->kind == MODEL_HNN ? NULL : theta + M * dim + M; /* C (M, dim) */
    const double *c = theta + M * dim + M;
    for (size_t k = 0; k < M; k++)
        for (size_t a = 0; a < dim; a++) {
            w->Wt[a * M + k] = W[k * dim + a];
            w->Vt[a * M + k] = V ? V[k * dim + a] : c[k] * W[k * dim + a];
        }
}

/* σ, σ' (either may be NULL) of one row of pre-activations z (M). */
static inline void act_eval(const gd_work *w, size_t M, const double *z, double *s, double *ds) {
    w->act->eval(M, z, s, ds);
}

/* σ', σ'' of one row z (M) into ds, e; s (M) is scratch. */
static inline void act_d1d2(const gd_work *w, size_t M, const double *z, double *s, double *ds,
                            double *e) {
    const hrf_activation *act = w->act;
    act->eval(M, z, s, ds);
    if (act->eval_d2)
        act->eval_d2(M, z, e);
    else
        for (size_t k = 0; k < M; k++)
            e[k] = act->d2(z[k]);
}

/* One point's features for tanh, fused with its pre-activation
 * z_k = b_k + Σ_a x_a W_ka, from one exponential and one division: with
 * u = exp(−2|z|), tanh z = sign(z)(1 − u)/(1 + u), tanh' z = 4u/(1 + u)²,
 * tanh'' z = −2 tanh z tanh' z. The activation record's tanh uses expm1 as
 * well to keep tanh's relative accuracy near 0 (hamrf/activation.h); the
 * loss and its gradient only need absolute accuracy (here ~1e-16), and this
 * halves the cost of the activation, the largest part of a step. Writes s
 * (σ), ds (σ'), e (σ'') as the flags ask (constants after inlining). For
 * DIM ≤ FUSE_DIM_MAX it also forms dots[a] = Σ_k v_k Vt[a][k] with v = σ
 * (dot_s) or σ' — the HNN's ∇Ĥ or the ODE-net's σ(Z)C — in the same loop,
 * where the reductions' latency hides behind the exponential (as separate
 * passes they took a fifth of a step). */
static inline __attribute__((always_inline)) void
tanh_fused(size_t M, size_t DIM, const double *restrict Wt, const double *restrict b,
           const double *restrict x, const double *restrict Vt, int dot_s, double *restrict s,
           double *restrict ds, double *restrict e, int want_s, int want_ds, int want_e,
           double *restrict dots) {
    double a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0, a4 = 0.0, a5 = 0.0;
#pragma omp simd reduction(+ : a0, a1, a2, a3, a4, a5)
    for (size_t k = 0; k < M; k++) {
        double z = b[k];
#pragma GCC unroll 8
        for (size_t a = 0; a < DIM; a++)
            z = fma(x[a], Wt[a * M + k], z);
        double u = exp(-2.0 * fabs(z)), inv = 1.0 / (1.0 + u);
        double t = copysign((1.0 - u) * inv, z), d = 4.0 * u * inv * inv;
        if (want_s) s[k] = t;
        if (want_ds) ds[k] = d;
        if (want_e) e[k] = -2.0 * t * d;
        double v = dot_s ? t : d;
        if (DIM > 0) a0 = fma(v, Vt[k], a0);
        if (DIM > 1) a1 = fma(v, Vt[M + k], a1);
        if (DIM > 2) a2 = fma(v, Vt[2 * M + k], a2);
        if (DIM > 3) a3 = fma(v, Vt[3 * M + k], a3);
        if (DIM > 4) a4 = fma(v, Vt[4 * M + k], a4);
        if (DIM > 5) a5 = fma(v, Vt[5 * M + k], a5);
    }
    const double acc[FUSE_DIM_MAX] = {a0, a1, a2, a3, a4, a5};
    for (size_t a = 0; a < DIM && a < FUSE_DIM_MAX; a++)
        dots[a] = acc[a];
}

/* z = W x + b for one point (DIM a compile-time constant where inlined). */
static inline __attribute__((always_inline)) void
preact(size_t M, size_t DIM, const double *restrict Wt, const double *restrict b,
       const double *restrict x, double *restrict z) {
#pragma omp simd
    for (size_t k = 0; k < M; k++) {
        double acc = b[k];
#pragma GCC unroll 8
        for (size_t a = 0; a < DIM; a++)
            acc = fma(x[a], Wt[a * M + k], acc);
        z[k] = acc;
    }
}

/* Σ_k v_k u_k over one row (M). */
static inline double dot_row(size_t M, const double *restrict v, const double *restrict u) {
    double acc = 0.0;
#pragma omp simd reduction(+ : acc)
    for (size_t k = 0; k < M; k++)
        acc = fma(v[k], u[k], acc);
    return acc;
}

/* The HNN's gradient contributions of P points (their σ' rows ds (P, M),
 * σ'' rows e (P, M), residuals r (P, DIM), inputs x (P, DIM)), summed over
 * the P points in registers before they are added to the accumulators
 * gc (M), gE (M), gWt (DIM, M). */
static inline __attribute__((always_inline)) void
hnn_accumulate(size_t M, size_t DIM, size_t P, const double *restrict Wt, const double *restrict ds,
               const double *restrict e, const double *restrict r, const double *restrict x,
               double *restrict gc, double *restrict gE, double *restrict gWt) {
#pragma omp simd
    for (size_t k = 0; k < M; k++) {
        double t[ROWS], d[ROWS], et[ROWS];
#pragma GCC unroll 8
        for (size_t j = 0; j < P; j++)
            t[j] = 0.0;
#pragma GCC unroll 8
        for (size_t a = 0; a < DIM; a++) { /* T_jk = w_k · r_j */
            double wa = Wt[a * M + k];
#pragma GCC unroll 8
            for (size_t j = 0; j < P; j++)
                t[j] = fma(r[j * DIM + a], wa, t[j]);
        }
        double gck = gc[k], gEk = gE[k];
#pragma GCC unroll 8
        for (size_t j = 0; j < P; j++) {
            d[j] = ds[j * M + k];
            et[j] = e[j * M + k] * t[j];
            gck = fma(d[j], t[j], gck);
            gEk += et[j];
        }
        gc[k] = gck, gE[k] = gEk;
#pragma GCC unroll 8
        for (size_t a = 0; a < DIM; a++) {
            double g = gWt[a * M + k];
#pragma GCC unroll 8
            for (size_t j = 0; j < P; j++)
                g = fma(et[j], x[j * DIM + a], fma(d[j], r[j * DIM + a], g));
            gWt[a * M + k] = g;
        }
    }
}

/* The ODE-net's contributions of P points (σ rows s (P, M), σ' rows
 * ds (P, M), residuals r (P, DIM), inputs x (P, DIM)) into gb (M),
 * gWt (DIM, M), gCt (DIM, M). */
static inline __attribute__((always_inline)) void
ode_accumulate(size_t M, size_t DIM, size_t P, const double *restrict Ct, const double *restrict s,
               const double *restrict ds, const double *restrict r, const double *restrict x,
               double *restrict gb, double *restrict gWt, double *restrict gCt) {
#pragma omp simd
    for (size_t k = 0; k < M; k++) {
        double u[ROWS], sv[ROWS];
#pragma GCC unroll 8
        for (size_t j = 0; j < P; j++)
            u[j] = 0.0;
#pragma GCC unroll 8
        for (size_t a = 0; a < DIM; a++) { /* U_jk = C_k · r_j */
            double ca = Ct[a * M + k];
#pragma GCC unroll 8
            for (size_t j = 0; j < P; j++)
                u[j] = fma(r[j * DIM + a], ca, u[j]);
        }
        double gbk = gb[k];
#pragma GCC unroll 8
        for (size_t j = 0; j < P; j++) {
            u[j] *= ds[j * M + k]; /* now D_jk U_jk */
            sv[j] = s[j * M + k];
            gbk += u[j];
        }
        gb[k] = gbk;
#pragma GCC unroll 8
        for (size_t a = 0; a < DIM; a++) {
            double gw = gWt[a * M + k], gC = gCt[a * M + k];
#pragma GCC unroll 8
            for (size_t j = 0; j < P; j++) {
                gw = fma(u[j], x[j * DIM + a], gw);
                gC = fma(sv[j], r[j * DIM + a], gC);
            }
            gWt[a * M + k] = gw, gCt[a * M + k] = gC;
        }
    }
}

/* HNN: points [i0, i1) of the batch into thread tid's accumulators, ROWS
 * points at a time. Returns the sum of squared residuals. With grad == 0
 * only the loss is formed. */
static inline __attribute__((always_inline)) double
hnn_range(gd_work *w, const double *theta, size_t i0, size_t i1, int tid, int grad, size_t DIM) {
    const size_t M = w->M;
    const double *b = theta + M * DIM;
    double *z = w->rows + (size_t)tid * w->row_len, *s = z + M, *ds = s + ROWS * M,
           *e = ds + ROWS * M, *xb = e + ROWS * M, *rb = xb + ROWS * DIM;
    double *gc = w->acc + (size_t)tid * w->acc_len, *gE = gc + M, *gWt = gE + M;
    const double *Wt = w->Wt, *Vt = w->Vt;
    double sq = 0.0;
    for (size_t i = i0; i < i1; i += ROWS) {
        const size_t P = i1 - i < ROWS ? i1 - i : ROWS;
        for (size_t j = 0; j < P; j++) {
            size_t row = w->idx ? w->idx[i + j] : i + j;
            const double *y = w->y + row * DIM;
            double *x = xb + j * DIM, *dsj = ds + j * M, *ej = e + j * M;
            double *r = rb + j * DIM; /* ∇Ĥ(x), ∇Ĥ_a = Σ_k σ'(z_k) c_k W_ka */
            memcpy(x, w->x + row * DIM, DIM * sizeof *x);
            const int fused = w->tanh_fast && DIM <= FUSE_DIM_MAX;
            if (fused && grad)
                tanh_fused(M, DIM, Wt, b, x, Vt, 0, NULL, dsj, ej, 0, 1, 1, r);
            else if (fused)
                tanh_fused(M, DIM, Wt, b, x, Vt, 0, NULL, dsj, NULL, 0, 1, 0, r);
            else {
                preact(M, DIM, Wt, b, x, z);
                if (grad)
                    act_d1d2(w, M, z, s, dsj, ej);
                else
                    act_eval(w, M, z, NULL, dsj);
                for (size_t a = 0; a < DIM; a++)
                    r[a] = dot_row(M, dsj, Vt + a * M);
            }
            for (size_t a = 0; a < DIM; a++) { /* r = ∇Ĥ(x) − y */
                r[a] -= y[a];
                sq += r[a] * r[a];
            }
        }
        if (!grad) continue;
        if (P == ROWS)
            hnn_accumulate(M, DIM, ROWS, Wt, ds, e, rb, xb, gc, gE, gWt);
        else
            for (size_t j = 0; j < P; j++)
                hnn_accumulate(M, DIM, 1, Wt, ds + j * M, e + j * M, rb + j * DIM, xb + j * DIM, gc,
                               gE, gWt);
    }
    return sq;
}

/* ODE-net: as hnn_range. */
static inline __attribute__((always_inline)) double
ode_range(gd_work *w, const double *theta, size_t i0, size_t i1, int tid, int grad, size_t DIM) {
    const size_t M = w->M;
    const double *b = theta + M * DIM, *C0 = theta + M * (2 * DIM + 1);
    double *z = w->rows + (size_t)tid * w->row_len, *s = z + M, *ds = s + ROWS * M,
           *xb = ds + 2 * ROWS * M, *rb = xb + ROWS * DIM;
    double *gb = w->acc + (size_t)tid * w->acc_len, *gWt = gb + M, *gCt = gWt + DIM * M,
           *gC0 = gCt + DIM * M;
    const double *Wt = w->Wt, *Ct = w->Vt;
    double sq = 0.0;
    for (size_t i = i0; i < i1; i += ROWS) {
        const size_t P = i1 - i < ROWS ? i1 - i : ROWS;
        for (size_t j = 0; j < P; j++) {
            size_t row = w->idx ? w->idx[i + j] : i + j;
            const double *y = w->y + row * DIM;
            double *x = xb + j * DIM, *sj = s + j * M, *dsj = ds + j * M;
            double *r = rb + j * DIM; /* σ(z)C, then r = f̂(x) − y */
            memcpy(x, w->x + row * DIM, DIM * sizeof *x);
            const int fused = w->tanh_fast && DIM <= FUSE_DIM_MAX;
            if (fused && grad)
                tanh_fused(M, DIM, Wt, b, x, Ct, 1, sj, dsj, NULL, 1, 1, 0, r);
            else if (fused)
                tanh_fused(M, DIM, Wt, b, x, Ct, 1, sj, NULL, NULL, 1, 0, 0, r);
            else {
                preact(M, DIM, Wt, b, x, z);
                act_eval(w, M, z, sj, grad ? dsj : NULL);
                for (size_t a = 0; a < DIM; a++)
                    r[a] = dot_row(M, sj, Ct + a * M);
            }
            for (size_t a = 0; a < DIM; a++) { /* f̂_a = C0_a + Σ_k σ(z_k) C_ka */
                r[a] += C0[a] - y[a];
                sq += r[a] * r[a];
                if (grad) gC0[a] += r[a];
            }
        }
        if (!grad) continue;
        if (P == ROWS)
            ode_accumulate(M, DIM, ROWS, Ct, s, ds, rb, xb, gb, gWt, gCt);
        else
            for (size_t j = 0; j < P; j++)
                ode_accumulate(M, DIM, 1, Ct, s + j * M, ds + j * M, rb + j * DIM, xb + j * DIM, gb,
                               gWt, gCt);
    }
    return sq;
}

/* Dispatch to a compile-time dim where it matters. */
static double range_dispatch(gd_work *w, const double *theta, size_t i0, size_t i1, int tid,
                             int grad) {
    if (w->kind == MODEL_HNN) {
        switch (w->dim) {
        case 2:
            return hnn_range(w, theta, i0, i1, tid, grad, 2);
        case 4:
            return hnn_range(w, theta, i0, i1, tid, grad, 4);
        case 6:
            return hnn_range(w, theta, i0, i1, tid, grad, 6);
        default:
            return hnn_range(w, theta, i0, i1, tid, grad, w->dim);
        }
    }
    switch (w->dim) {
    case 2:
        return ode_range(w, theta, i0, i1, tid, grad, 2);
    case 4:
        return ode_range(w, theta, i0, i1, tid, grad, 4);
    case 6:
        return ode_range(w, theta, i0, i1, tid, grad, 6);
    default:
        return ode_range(w, theta, i0, i1, tid, grad, w->dim);
    }
}

/* L and (grad non-NULL) ∂L/∂θ on the current batch. */
static int loss_grad(gd_work *w, const double *theta, double *loss, double *grad) {
    const size_t M = w->M, dim = w->dim, nb = w->nb;
    prepare(w, theta);
    int want = grad != NULL;
    int used = 1;
#pragma omp parallel num_threads(w->nthreads) if (nb * M >= PAR_MIN)
    {
        int T = omp_get_num_threads(), tid = omp_get_thread_num();
#pragma omp single
        used = T;
        size_t i0 = nb * (size_t)tid / (size_t)T, i1 = nb * (size_t)(tid + 1) / (size_t)T;
        if (want) memset(w->acc + (size_t)tid * w->acc_len, 0, w->acc_len * sizeof(double));
        w->loss_t[tid] = range_dispatch(w, theta, i0, i1, tid, want);
    }
    double sq = 0.0;
    for (int t = 0; t < used; t++)
        sq += w->loss_t[t];
    const double scale = 1.0 / ((double)nb * (double)dim);
    *loss = sq * scale;
    if (!want) return HRF_OK;
    /* Sum the thread accumulators into acc[0] in thread order. */
    for (int t = 1; t < used; t++) {
        const double *src = w->acc + (size_t)t * w->acc_len;
        for (size_t j = 0; j < w->acc_len; j++)
            w->acc[j] += src[j];
    }
    const double s = 2.0 * scale;
    double *gW = grad, *gb = grad + M * dim;
    if (w->kind == MODEL_HNN) {
        const double *c = theta + M * dim + M;
        const double *gc = w->acc, *gE = gc + M, *gWt = gE + M;
        double *gcc = gb + M;
        for (size_t k = 0; k < M; k++) {
            gcc[k] = s * gc[k];
            gb[k] = s * c[k] * gE[k];
            for (size_t a = 0; a < dim; a++)
                gW[k * dim + a] = s * c[k] * gWt[a * M + k];
        }
    } else {
        const double *gbs = w->acc, *gWt = gbs + M, *gCt = gWt + dim * M, *gC0 = gCt + dim * M;
        double *gC = gb + M, *gC0o = gC + M * dim;
        for (size_t k = 0; k < M; k++) {
            gb[k] = s * gbs[k];
            for (size_t a = 0; a < dim; a++) {
                gW[k * dim + a] = s * gWt[a * M + k];
                gC[k * dim + a] = s * gCt[a * M + k];
            }
        }
        for (size_t a = 0; a < dim; a++)
            gC0o[a] = s * gC0[a];
    }
    return HRF_OK;
}

static int closure(void *ctx, const double *theta, double *loss, double *grad) {
    return loss_grad(ctx, theta, loss, grad);
}

static int loss_grad_once(model_kind kind, size_t dim, size_t width, const hrf_activation *act,
                          const double *theta, size_t n, const double *x, const double *y,
                          double *loss, double *grad) {
    if (n == 0) return hrf_error(HRF_EINVAL, "the loss needs at least one point");
    gd_work *w = NULL;
    int rc = work_new(kind, dim, width, act ? act : &hrf_activation_tanh, &w);
    if (rc) return rc;
    w->x = x, w->y = y, w->idx = NULL, w->nb = n;
    rc = loss_grad(w, theta, loss, grad);
    work_free(w);
    return rc;
}

int hrf_gd_hnn_loss_grad(size_t dim, size_t width, const hrf_activation *act, const double *theta,
                         size_t n, const double *x, const double *y, double *loss, double *grad) {
    return loss_grad_once(MODEL_HNN, dim, width, act, theta, n, x, y, loss, grad);
}

int hrf_gd_odenet_loss_grad(size_t dim, size_t width, const hrf_activation *act,
                            const double *theta, size_t n, const double *x, const double *y,
                            double *loss, double *grad) {
    return loss_grad_once(MODEL_ODENET, dim, width, act, theta, n, x, y, loss, grad);
}

/* ---- initialisation ---- */

static void init_theta(model_kind kind, const hrf_gd_params *p, size_t dim, hrf_rng *rng,
                       double *theta) {
    const size_t M = p->width;
    const double bh = 1.0 / sqrt((double)dim), bo = 1.0 / sqrt((double)M);
    double *q = theta;
    for (size_t j = 0; j < M * dim + M; j++) /* W, b: nn.Linear(dim, M) */
        *q++ = hrf_rng_uniform_range(rng, -bh, bh);
    size_t nout = kind == MODEL_HNN ? M : M * dim + dim; /* c, or C and C0 */
    for (size_t j = 0; j < nout; j++)
        *q++ = hrf_rng_uniform_range(rng, -bo, bo);
}

static int init_public(model_kind kind, const hrf_gd_params *p, size_t dim, double *theta) {
    const char *msg = hrf_gd_params_check(p);
    if (msg) return hrf_error(HRF_EINVAL, "%s", msg);
    if (dim == 0) return hrf_error(HRF_EINVAL, "dim must be > 0");
    hrf_rng rng;
    hrf_rng_seed(&rng, p->seed);
    init_theta(kind, p, dim, &rng, theta);
    return HRF_OK;
}

int hrf_gd_hnn_init(const hrf_gd_params *p, size_t dim, double *theta) {
    return init_public(MODEL_HNN, p, dim, theta);
}

int hrf_gd_odenet_init(const hrf_gd_params *p, size_t dim, double *theta) {
    return init_public(MODEL_ODENET, p, dim, theta);
}

/* ---- training ---- */

static void gd_select(void *ctx, const size_t *idx, size_t nb) {
    gd_work *w = ctx;
    w->idx = idx, w->nb = nb;
}

static int train(model_kind kind, const hrf_gd_params *p, const hrf_dataset *data,
                 double **theta_out, hrf_gd_report *rep) {
    double t_start = hrf_now();
    *theta_out = NULL;
    const char *msg = hrf_gd_params_check(p);
    if (msg) return hrf_error(HRF_EINVAL, "%s", msg);
    if (!data || data->n == 0 || data->dim == 0)
        return hrf_error(HRF_EDATA, "gradient training needs a non-empty data set");
    const size_t n = data->n, dim = data->dim, M = p->width;
    gd_work *w = NULL;
    double *theta = NULL, *targets = NULL;
    int rc = work_new(kind, dim, M, p->act, &w);
    if (rc) return rc;
    theta = malloc(w->np * sizeof *theta);
    targets = kind == MODEL_HNN ? malloc(n * dim * sizeof *targets) : NULL;
    if (!theta || (kind == MODEL_HNN && !targets)) {
        rc = hrf_error(HRF_ENOMEM, "out of memory for gradient training on %zu points", n);
        goto done;
    }
    if (kind == MODEL_HNN) hrf_dataset_gradient_targets(data, targets);
    w->x = data->x;
    w->y = kind == MODEL_HNN ? targets : data->dxdt;
    hrf_rng rng;
    hrf_rng_seed(&rng, p->seed);
    init_theta(kind, p, dim, &rng, theta);
    const gd_problem prob = {n, w->np, gd_select, closure, w};
    if ((rc = gd_run(p, &prob, &rng, theta, rep))) goto done;
    rep->total_seconds = hrf_now() - t_start; /* the caller adds building the model */
    *theta_out = theta;
    theta = NULL;
done:
    work_free(w);
    free(theta), free(targets);
    return rc;
}

/* How gradient training made the model, the first members of its file's meta. */
static cJSON *gd_provenance(const hrf_gd_params *p, const hrf_gd_report *r,
                            const hrf_dataset *data) {
    cJSON *o = gd_provenance_new(p, r);
    if (!o) return NULL;
    cJSON_AddNumberToObject(o, "n_train", (double)data->n);
    hrf_provenance_add_data(o, data, 0);
    return o;
}

/* What both model kinds share: the even dimension, the training, the
 * provenance. On success the caller owns *theta and *prov. */
static int train_model(int kind, const char *what, const hrf_gd_params *p, const hrf_dataset *data,
                       double **theta, hrf_gd_report *r, cJSON **prov) {
    *theta = NULL, *prov = NULL;
    if (data && data->dim % 2)
        return hrf_error(HRF_EINVAL, "%s needs an even dimension (got %zu)", what, data->dim);
    int rc = train(kind, p, data, theta, r);
    if (rc) return rc;
    if (!(*prov = gd_provenance(p, r, data))) {
        free(*theta), *theta = NULL;
        return hrf_error(HRF_ENOMEM, "out of memory");
    }
    return HRF_OK;
}

int hrf_gd_train_hnn(const hrf_gd_params *p, const hrf_dataset *data, hrf_hnn **out,
                     hrf_gd_report *rep) {
    double t_start = hrf_now();
    *out = NULL;
    double *theta;
    cJSON *prov;
    hrf_gd_report r;
    int rc = train_model(MODEL_HNN, "an HNN", p, data, &theta, &r, &prov);
    if (rc) return rc;
    const size_t M = p->width, dim = data->dim;
    hrf_hnn *m = NULL;
    rc = hrf_hnn_from_params(dim, M, p->act, theta, theta + M * dim, theta + M * dim + M, 0.0, &m);
    /* c_0 from the anchor: Ĥ(x0) = H0. */
    if (!rc) rc = hrf_hnn_pin(m, data->x0, data->H0);
    free(theta);
    if (rc) {
        cJSON_Delete(prov);
        hrf_hnn_free(m);
        return rc;
    }
    hrf_hnn_set_provenance(m, prov);
    r.total_seconds = hrf_now() - t_start;
    if (rep) *rep = r;
    *out = m;
    return HRF_OK;
}

int hrf_gd_train_odenet(const hrf_gd_params *p, const hrf_dataset *data, hrf_odenet **out,
                        hrf_gd_report *rep) {
    double t_start = hrf_now();
    *out = NULL;
    double *theta;
    cJSON *prov;
    hrf_gd_report r;
    int rc = train_model(MODEL_ODENET, "an ODE-net", p, data, &theta, &r, &prov);
    if (rc) return rc;
    const size_t M = p->width, dim = data->dim;
    hrf_odenet *m = NULL;
    rc = hrf_odenet_from_params(dim, M, p->act, theta, theta + M * dim, theta + M * dim + M,
                                theta + M * (2 * dim + 1), &m);
    free(theta);
    if (rc) {
        cJSON_Delete(prov);
        return rc;
    }
    hrf_odenet_set_provenance(m, prov);
    r.total_seconds = hrf_now() - t_start;
    if (rep) *rep = r;
    *out = m;
    return HRF_OK;
}
