/* Mode mp's node layer in the gradient-trained graph network's loss kernel
 * (train_hgn_grad.c; docs/math.md §10.1): per snapshot, the forward pass
 * y_l = W_N a_l + b_N, σ'(y_l), σ''(y_l), c_l = W_Nᵀ(θ_N ⊙ σ'(y_l)), and the
 * backward sums of θ_N, W_N, b_N with κ_l for the edge encoder.
 *
 * Nodes are taken NODE_BLOCK at a time, so that each row of W_N (and of
 * its gradient) is read once per block rather than once per node: these
 * products are bound by the traffic of W_N through the caches. B (the
 * nodes of a block) is a compile-time constant where inlined. */
#include "baselines/train_hgn_impl.h"

#include <string.h>

/* out[j] = w · x_j for the B rows x_j = x + j·ME (B ≤ NODE_BLOCK). */
static inline __attribute__((always_inline)) void
dots(size_t ME, size_t B, const double *restrict w, const double *restrict x, double *out) {
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
#pragma omp simd reduction(+ : s0, s1, s2, s3)
    for (size_t k = 0; k < ME; k++) {
        s0 += w[k] * x[k];
        if (B > 1) s1 += w[k] * x[ME + k];
        if (B > 2) s2 += w[k] * x[2 * ME + k];
        if (B > 3) s3 += w[k] * x[3 * ME + k];
    }
    out[0] = s0, out[1] = s1, out[2] = s2, out[3] = s3;
}

static inline __attribute__((always_inline)) void
node_forward_block(const hgd *h, hgd_thread *t, const double *theta, size_t l0, size_t B) {
    const size_t ME = h->ME, MN = h->MN;
    const double *WN = theta + h->oWN, *bN = theta + h->obN, *thN = theta + h->othN;
    const double *a = t->a + l0 * ME;
    double *y = t->nv, *c = t->c + l0 * ME;
    const double *dh = t->dh + l0 * MN;
    for (size_t n = 0; n < MN; n++) { /* y_l = W_N a_l + b_N */
        double sv[NODE_BLOCK];
        dots(ME, B, WN + n * ME, a, sv);
        for (size_t j = 0; j < B; j++)
            y[j * MN + n] = bN[n] + sv[j];
    }
    hgd_feats(h, B * MN, y, NULL, t->dh + l0 * MN, t->eh + l0 * MN);
    memset(c, 0, B * ME * sizeof *c);
    for (size_t n = 0; n < MN; n++) { /* c_l = W_Nᵀ(θ_N ⊙ σ'(y_l)) */
        const double *wn = WN + n * ME;
        double tn[NODE_BLOCK] = {0.0, 0.0, 0.0, 0.0};
        for (size_t j = 0; j < B; j++)
            tn[j] = thN[n] * dh[j * MN + n];
#pragma omp simd
        for (size_t k = 0; k < ME; k++) {
            const double w = wn[k];
#pragma GCC unroll 4
            for (size_t j = 0; j < B; j++)
                c[j * ME + k] += tn[j] * w;
        }
    }
}

/* y_l, σ'(y_l), σ''(y_l) and c_l of every particle. */
void hgd_node_forward(const hgd *h, hgd_thread *t, const double *theta) {
    size_t l = 0;
    for (; l + NODE_BLOCK <= h->N; l += NODE_BLOCK)
        node_forward_block(h, t, theta, l, NODE_BLOCK);
    for (; l < h->N; l++)
        node_forward_block(h, t, theta, l, 1);
}

static inline __attribute__((always_inline)) void
node_backward_block(const hgd *h, hgd_thread *t, const double *theta, size_t l0, size_t B) {
    const size_t ME = h->ME, MN = h->MN;
    const double *WN = theta + h->oWN, *thN = theta + h->othN;
    double *gWN = t->acc + h->oWN, *gbN = t->acc + h->obN, *gthN = t->acc + h->othN;
    const double *ps = t->psi + l0 * ME, *a = t->a + l0 * ME;
    const double *dh = t->dh + l0 * MN, *eh = t->eh + l0 * MN;
    double *al = t->nv, *be = t->nv + NODE_BLOCK * MN, *kl = t->kap + l0 * ME;
    for (size_t n = 0; n < MN; n++) { /* ν_l = W_N ψ_l */
        double nu[NODE_BLOCK];
        dots(ME, B, WN + n * ME, ps, nu);
        for (size_t j = 0; j < B; j++) {
            gthN[n] += dh[j * MN + n] * nu[j];
            al[j * MN + n] = thN[n] * dh[j * MN + n];
            be[j * MN + n] = thN[n] * eh[j * MN + n] * nu[j];
            gbN[n] += be[j * MN + n];
        }
    }
    memset(kl, 0, B * ME * sizeof *kl);
    for (size_t n = 0; n < MN; n++) { /* ∂/∂W_N += α ψᵀ + β aᵀ; κ_l = W_Nᵀ β_l */
        const double *wn = WN + n * ME;
        double *gw = gWN + n * ME;
        double an[NODE_BLOCK] = {0.0, 0.0, 0.0, 0.0}, bn[NODE_BLOCK] = {0.0, 0.0, 0.0, 0.0};
        for (size_t j = 0; j < B; j++)
            an[j] = al[j * MN + n], bn[j] = be[j * MN + n];
#pragma omp simd
        for (size_t k = 0; k < ME; k++) {
            const double w = wn[k];
            double g = gw[k];
#pragma GCC unroll 4
            for (size_t j = 0; j < B; j++) {
                g += an[j] * ps[j * ME + k] + bn[j] * a[j * ME + k];
                kl[j * ME + k] += bn[j] * w;
            }
            gw[k] = g;
        }
    }
}

/* The node layer's gradient sums from ψ_l, and κ_l = W_Nᵀ(θ_N ⊙ σ''(y_l) ⊙ ν_l):
 * ∂/∂θ_N += σ'(y_l) ⊙ ν_l, ∂/∂W_N += α_l ψ_lᵀ + β_l a_lᵀ, ∂/∂b_N += β_l with
 * ν_l = W_N ψ_l, α_l = θ_N ⊙ σ'(y_l), β_l = θ_N ⊙ σ''(y_l) ⊙ ν_l. */
void hgd_node_backward(const hgd *h, hgd_thread *t, const double *theta) {
    size_t l = 0;
    for (; l + NODE_BLOCK <= h->N; l += NODE_BLOCK)
        node_backward_block(h, t, theta, l, NODE_BLOCK);
    for (; l < h->N; l++)
        node_backward_block(h, t, theta, l, 1);
}
