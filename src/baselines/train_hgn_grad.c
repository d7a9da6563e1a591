/* The loss of the gradient-trained graph network and its analytic gradient
 * (docs/math.md §10.1; train_impl.h). Per snapshot, with c = 1/(2·B·N·D):
 *
 *   kinetic   τ_i = dT_i/d|p_i|² = Σ_k θ_K,k σ'(z_ik) W_K,k0 + θ_T/(2 m_i),
 *             ρ_ia = 2 p_ia τ_i − dq_ia/dt,   β_i = 2 Σ_a ρ_ia p_ia,
 *             ∂L/∂φ = 2c Σ_i β_i ∂τ_i/∂φ;
 *   potential V'_ij = Σ_k Θ_ijk σ'(z_ijk) w_k with Θ_ij = θ_E (+ c_i + c_j in
 *             mode mp), ε_ia = ∂Ĥ/∂q_ia + dp_ia/dt, γ_ij = (ε_i − ε_j)·u_ij,
 *             ∂L/∂φ = 2c Σ_pairs γ_ij ∂V'_ij/∂φ, and in mode mp the chain
 *             rule through c_l = W_Nᵀ(θ_N ⊙ σ'(y_l)) with ψ_l = Σ_{j∈N(l)}
 *             γ_lj σ'(z_lj) ⊙ w, ν_l = W_N ψ_l, κ_l = W_Nᵀ(θ_N ⊙ σ''(y_l) ⊙ ν_l).
 *
 * One pass over a snapshot's pairs computes σ', σ'' of the edge encoder
 * (kept for the later passes when the snapshot's pairs × M_E fit in
 * CACHE_ENTRIES, else recomputed chunk by chunk); the forces follow, then
 * the residuals and γ, then the gradient sums. The pairs and their geometry
 * are found once per workspace (the positions of the data never change).
 * Snapshots of a batch are split into contiguous per-thread ranges; each
 * thread sums into its own accumulators, added in thread order: the result
 * is deterministic for a given thread count. Mode mp's node layer is in
 * train_hgn_node.c (shared internals: train_hgn_impl.h). */
#include "baselines/train_hgn_impl.h"

#include "core/sysinfo.h"
#include "hamrf/status.h"
#include "hgn/hgn_impl.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#ifdef HRF_HAVE_MVEC /* glibc's vector exp, as in src/features/activation.c */
__attribute__((simd("notinbranch"))) double exp(double);
#endif

/* Below this much work ((pair or particle, neuron) pairs) a batch runs on
 * one thread. */
#define PAR_MIN 32768
/* A snapshot whose pairs x M_E is at most this keeps σ', σ'' of all its
 * pairs between the passes (2 x 8 MiB per thread at most). */
#define CACHE_ENTRIES ((size_t)1 << 20)

/* ---- the workspace ---- */

static void thread_free(hgd_thread *t) {
    free(t->acc), free(t->ds), free(t->e), free(t->z), free(t->s), free(t->kd), free(t->ke);
    free(t->dV), free(t->F), free(t->a), free(t->c), free(t->psi), free(t->kap);
    free(t->dh), free(t->eh), free(t->nv);
}

static int thread_init(const hgd *h, hgd_thread *t) {
    const size_t ME = h->ME, MK = h->MK, MN = h->MN, N = h->N;
    const size_t rows = h->cached ? (h->Emax ? h->Emax : 1) : HGN_CHUNK;
    const size_t W = ME > MK ? ME : MK;
    t->acc = malloc(h->np * sizeof *t->acc);
    t->ds = malloc(rows * ME * sizeof *t->ds);
    t->e = malloc(rows * ME * sizeof *t->e);
    t->z = malloc(HGN_CHUNK * W * sizeof *t->z);
    t->s = malloc(HGN_CHUNK * W * sizeof *t->s);
    t->kd = malloc(HGN_CHUNK * MK * sizeof *t->kd);
    t->ke = malloc(HGN_CHUNK * MK * sizeof *t->ke);
    t->dV = malloc((h->Emax ? h->Emax : 1) * sizeof *t->dV);
    t->F = malloc(N * (size_t)h->D * sizeof *t->F);
    int ok = t->acc && t->ds && t->e && t->z && t->s && t->kd && t->ke && t->dV && t->F;
    if (MN) {
        t->a = malloc(N * ME * sizeof *t->a);
        t->c = malloc(N * ME * sizeof *t->c);
        t->psi = malloc(N * ME * sizeof *t->psi);
        t->kap = malloc(N * ME * sizeof *t->kap);
        t->dh = malloc(N * MN * sizeof *t->dh);
        t->eh = malloc(N * MN * sizeof *t->eh);
        t->nv = malloc(2 * NODE_BLOCK * MN * sizeof *t->nv);
        ok = ok && t->a && t->c && t->psi && t->kap && t->dh && t->eh && t->nv;
    }
    return ok ? HRF_OK
              : hrf_error(HRF_ENOMEM, "out of memory for the training workspace of %zu particles",
                          N);
}

void hgd_free(hgd *h) {
    if (!h) return;
    if (h->t)
        for (int i = 0; i < h->nthreads; i++)
            thread_free(&h->t[i]);
    free(h->t), free(h->wk);
    hgn_pair_cache_free(&h->pc);
    free(h);
}

/* Every snapshot's pairs with their distances and unit vectors. */
static int find_pairs(hgd *h) {
    const hrf_pdata *d = h->d;
    const size_t nd = h->N * (size_t)h->D;
    double avail = (double)hrf_mem_available_blas();
    double max_bytes = avail > 0.0 ? 0.25 * avail : 1073741824.0;
    hrf_hgn_graph g;
    hrf_hgn_graph_of(d, &g);
    hgn_pair_buf pb = {0};
    double *r = NULL, *u = NULL;
    size_t cap = 0;
    int rc = HRF_OK;
    h->pc.S = d->S;
    if (!(h->pc.off = malloc((d->S + 1) * sizeof *h->pc.off)))
        return hrf_error(HRF_ENOMEM, "out of memory");
    for (size_t s = 0; s < d->S && !rc; s++) {
        const uint32_t *pairs;
        size_t E;
        h->pc.off[s] = h->pc.n;
        if ((rc = hgn_graph_pairs(&g, h->N, h->D, d->q + s * nd, &pb, &pairs, &E))) break;
        if (E > cap) {
            free(r), free(u);
            cap = E;
            r = malloc(cap * sizeof *r), u = malloc(3 * cap * sizeof *u);
            if (!r || !u) {
                rc = hrf_error(HRF_ENOMEM, "out of memory for the pairs of a snapshot");
                break;
            }
        }
        hgn_pair_geometry(h->D, d->q + s * nd, g.box, pairs, 0, E, r, u);
        if (E && !hgn_pair_cache_add(&h->pc, pairs, E, r, u, max_bytes))
            rc = hrf_error(HRF_ETOOBIG,
                           "the pair lists of the %zu snapshots (40 bytes a pair, %zu pairs by "
                           "snapshot %zu) take more than a quarter of the available memory "
                           "(%.3g GB); use fewer snapshots",
                           d->S, h->pc.n + E, s + 1, max_bytes / 1e9 * 4.0);
        if (E > h->Emax) h->Emax = E;
    }
    h->pc.off[d->S] = h->pc.n;
    free(pb.p), free(r), free(u);
    if (!rc && h->pc.n == 0) rc = hrf_error(HRF_EDATA, "the data set has no interacting pairs");
    return rc;
}

int hgd_new(const hrf_gd_hgn_arch *a, const hrf_activation *act, const hrf_pdata *d,
            size_t cache_entries, hgd **out) {
    *out = NULL;
    if (!act || !act->eval) return hrf_error(HRF_EINVAL, "no activation (or it has no eval)");
    if (!act->d2 && !act->eval_d2)
        return hrf_error(HRF_EINVAL,
                         "activation '%s' has no second derivative, which the graph network's "
                         "gradient needs",
                         act->name);
    hgd *h = calloc(1, sizeof *h);
    if (!h) return hrf_error(HRF_ENOMEM, "out of memory");
    h->ME = a->edge_width, h->MK = a->kinetic_width;
    h->MN = a->mode == HRF_HGN_MP ? a->node_width : 0;
    h->klin = a->kinetic_linear != 0;
    h->np = hrf_gd_hgn_nparams(a);
    h->act = act, h->tanh_fast = act == &hrf_activation_tanh;
    h->d = d, h->N = d->N, h->D = d->D, h->box = d->box;
    h->oWE = 0, h->obE = h->ME, h->othE = 2 * h->ME, h->oWK = 3 * h->ME;
    h->obK = h->oWK + 2 * h->MK, h->othK = h->obK + h->MK, h->oWN = h->othK + h->MK;
    h->obN = h->oWN + h->MN * h->ME, h->othN = h->obN + h->MN, h->oT = h->othN + h->MN;
    int rc = find_pairs(h);
    if (!rc) {
        h->cached = h->Emax * h->ME <= (cache_entries ? cache_entries : CACHE_ENTRIES);
        h->nthreads = omp_get_max_threads();
        if (h->nthreads < 1) h->nthreads = 1;
        h->t = calloc((size_t)h->nthreads, sizeof *h->t);
        h->wk = malloc(2 * h->MK * sizeof *h->wk);
        if (!h->t || !h->wk) rc = hrf_error(HRF_ENOMEM, "out of memory");
    }
    for (int i = 0; !rc && i < h->nthreads; i++)
        rc = thread_init(h, &h->t[i]);
    if (rc) {
        hgd_free(h);
        return rc;
    }
    h->nb = d->S;
    *out = h;
    return HRF_OK;
}

void hgd_select(void *ctx, const size_t *idx, size_t nb) {
    hgd *h = ctx;
    h->idx = idx, h->nb = nb;
}

/* ---- features ---- */

/* σ (if s), σ', σ'' of n pre-activations z. tanh from one exponential,
 * u = e^{−2|z|}: tanh = sign(z)(1 − u)/(1 + u), tanh' = 4u/(1 + u)²,
 * tanh'' = −2 tanh tanh' (absolute accuracy ~1e-16, as in train.c). */
void hgd_feats(const hgd *h, size_t n, const double *restrict z, double *restrict s,
               double *restrict ds, double *restrict e) {
    if (h->tanh_fast) {
#pragma omp simd
        for (size_t k = 0; k < n; k++) {
            double u = exp(-2.0 * fabs(z[k])), inv = 1.0 / (1.0 + u);
            double t = copysign((1.0 - u) * inv, z[k]), dt = 4.0 * u * inv * inv;
            if (s) s[k] = t;
            ds[k] = dt, e[k] = -2.0 * t * dt;
        }
        return;
    }
    h->act->eval(n, z, s, ds);
    if (h->act->eval_d2)
        h->act->eval_d2(n, z, e);
    else
        for (size_t k = 0; k < n; k++)
            e[k] = h->act->d2(z[k]);
}

/* σ', σ'' (and σ into t->s when want_s) of the edge encoder for the ne
 * pairs from e0 of a snapshot with distances r: rows of the cache, or of
 * the chunk scratch. */
static void edge_feats(const hgd *h, hgd_thread *t, const double *theta, const double *r, size_t e0,
                       size_t ne, int want_s, double **ds, double **e) {
    const size_t ME = h->ME;
    const double *wE = theta + h->oWE, *bE = theta + h->obE;
    *ds = h->cached ? t->ds + e0 * ME : t->ds, *e = h->cached ? t->e + e0 * ME : t->e;
    for (size_t j = 0; j < ne; j++)
#pragma omp simd
        for (size_t k = 0; k < ME; k++)
            t->z[j * ME + k] = wE[k] * r[e0 + j] + bE[k];
    hgd_feats(h, ne * ME, t->z, want_s ? t->s : NULL, *ds, *e);
}

/* The same rows for a later pass: from the cache, or computed again. */
static void edge_rows(const hgd *h, hgd_thread *t, const double *theta, const double *r, size_t e0,
                      size_t ne, double **ds, double **e) {
    if (h->cached)
        *ds = t->ds + e0 * h->ME, *e = t->e + e0 * h->ME;
    else
        edge_feats(h, t, theta, r, e0, ne, 0, ds, e);
}

/* ---- the kinetic part of one snapshot ---- */

static double kinetic(const hgd *h, hgd_thread *t, const double *theta, const double *p,
                      const double *dq) {
    const size_t MK = h->MK, N = h->N;
    const int D = h->D;
    const double *w0 = h->wk, *w1 = h->wk + MK, *bK = theta + h->obK, *thK = theta + h->othK;
    const double thT = h->klin ? theta[h->oT] : 0.0;
    double *g0 = t->acc + h->oWK, *g1 = g0 + MK, *gb = t->acc + h->obK, *gth = t->acc + h->othK;
    double sq = 0.0, gT = 0.0;
    for (size_t i0 = 0; i0 < N; i0 += HGN_CHUNK) {
        const size_t ni = N - i0 < HGN_CHUNK ? N - i0 : HGN_CHUNK;
        for (size_t j = 0; j < ni; j++) {
            const double *pi = p + (i0 + j) * D;
            double P = 0.0, mu = h->d->mass ? 1.0 / h->d->mass[i0 + j] : 1.0;
            for (int a = 0; a < D; a++)
                P += pi[a] * pi[a];
#pragma omp simd
            for (size_t k = 0; k < MK; k++)
                t->z[j * MK + k] = w0[k] * P + w1[k] * mu + bK[k];
        }
        hgd_feats(h, ni * MK, t->z, NULL, t->kd, t->ke);
        for (size_t j = 0; j < ni; j++) {
            const size_t i = i0 + j;
            const double *pi = p + i * D, *ds = t->kd + j * MK, *e = t->ke + j * MK;
            double P = 0.0, mu = h->d->mass ? 1.0 / h->d->mass[i] : 1.0, tau = 0.0, beta = 0.0;
            for (int a = 0; a < D; a++)
                P += pi[a] * pi[a];
#pragma omp simd reduction(+ : tau)
            for (size_t k = 0; k < MK; k++)
                tau += thK[k] * ds[k] * w0[k];
            tau += 0.5 * thT * mu;
            for (int a = 0; a < D; a++) { /* ρ = ∂Ĥ/∂p − dq/dt */
                double rho = 2.0 * pi[a] * tau - dq[i * D + a];
                sq += rho * rho;
                beta += 2.0 * rho * pi[a];
            }
            /* ∂τ/∂θ_K = σ' w0; ∂τ/∂w0 = θ_K (σ'' P w0 + σ'); ∂τ/∂w1 = θ_K σ'' μ w0;
             * ∂τ/∂b_K = θ_K σ'' w0; ∂τ/∂θ_T = μ/2 */
#pragma omp simd
            for (size_t k = 0; k < MK; k++) {
                double be = beta * thK[k] * e[k] * w0[k];
                gth[k] += beta * ds[k] * w0[k];
                g0[k] += be * P + beta * thK[k] * ds[k];
                g1[k] += be * mu;
                gb[k] += be;
            }
            gT += 0.5 * beta * mu;
        }
    }
    if (h->klin) t->acc[h->oT] += gT;
    return sq;
}

/* ---- the potential part of one snapshot ---- */

/* Pass 1: σ', σ'' of every pair (cached), a_l (mp), V'_ij (pair mode). */
static void pot_features(const hgd *h, hgd_thread *t, const double *theta, const uint32_t *pairs,
                         size_t E, const double *r) {
    const size_t ME = h->ME;
    const double *wE = theta + h->oWE, *thE = theta + h->othE;
    if (h->MN) memset(t->a, 0, h->N * ME * sizeof *t->a);
    for (size_t e0 = 0; e0 < E; e0 += HGN_CHUNK) {
        const size_t ne = E - e0 < HGN_CHUNK ? E - e0 : HGN_CHUNK;
        double *ds, *e;
        edge_feats(h, t, theta, r, e0, ne, h->MN != 0, &ds, &e);
        for (size_t j = 0; j < ne; j++) {
            const double *dsj = ds + j * ME;
            if (h->MN) {
                double *ai = t->a + (size_t)pairs[2 * (e0 + j)] * ME;
                double *aj = t->a + (size_t)pairs[2 * (e0 + j) + 1] * ME;
                const double *sj = t->s + j * ME;
#pragma omp simd
                for (size_t k = 0; k < ME; k++)
                    ai[k] += sj[k], aj[k] += sj[k];
            } else {
                double v = 0.0;
#pragma omp simd reduction(+ : v)
                for (size_t k = 0; k < ME; k++)
                    v += thE[k] * dsj[k] * wE[k];
                t->dV[e0 + j] = v;
            }
        }
    }
}

/* mp: V'_ij = Σ_k (θ_E + c_i + c_j)_k σ'(z_ijk) w_k. */
static void pot_dV_mp(const hgd *h, hgd_thread *t, const double *theta, const uint32_t *pairs,
                      size_t E, const double *r) {
    const size_t ME = h->ME;
    const double *wE = theta + h->oWE, *thE = theta + h->othE;
    for (size_t e0 = 0; e0 < E; e0 += HGN_CHUNK) {
        const size_t ne = E - e0 < HGN_CHUNK ? E - e0 : HGN_CHUNK;
        double *ds, *e;
        edge_rows(h, t, theta, r, e0, ne, &ds, &e);
        for (size_t j = 0; j < ne; j++) {
            const double *dsj = ds + j * ME;
            const double *ci = t->c + (size_t)pairs[2 * (e0 + j)] * ME;
            const double *cj = t->c + (size_t)pairs[2 * (e0 + j) + 1] * ME;
            double v = 0.0;
#pragma omp simd reduction(+ : v)
            for (size_t k = 0; k < ME; k++)
                v += (thE[k] + ci[k] + cj[k]) * dsj[k] * wE[k];
            t->dV[e0 + j] = v;
        }
    }
}

/* Forces, residuals ε = ∂Ĥ/∂q + dp/dt (returns Σ ε²), then γ_ij in t->dV. */
static double pot_residuals(const hgd *h, hgd_thread *t, const uint32_t *pairs, size_t E,
                            const double *u, const double *dp) {
    const int D = h->D;
    const size_t nd = h->N * (size_t)D;
    memset(t->F, 0, nd * sizeof *t->F);
    for (size_t e = 0; e < E; e++) {
        const size_t i = pairs[2 * e], j = pairs[2 * e + 1];
        for (int a = 0; a < D; a++) {
            t->F[i * D + a] += t->dV[e] * u[3 * e + a];
            t->F[j * D + a] -= t->dV[e] * u[3 * e + a];
        }
    }
    double sq = 0.0;
    for (size_t x = 0; x < nd; x++) {
        t->F[x] += dp[x];
        sq += t->F[x] * t->F[x];
    }
    for (size_t e = 0; e < E; e++) {
        const size_t i = pairs[2 * e], j = pairs[2 * e + 1];
        double g = 0.0;
        for (int a = 0; a < D; a++)
            g += (t->F[i * D + a] - t->F[j * D + a]) * u[3 * e + a];
        t->dV[e] = g;
    }
    return sq;
}

/* mp: ψ_l = Σ_{j∈N(l)} γ_lj σ'(z_lj) ⊙ w. */
static void pot_psi(const hgd *h, hgd_thread *t, const double *theta, const uint32_t *pairs,
                    size_t E, const double *r) {
    const size_t ME = h->ME;
    const double *wE = theta + h->oWE;
    memset(t->psi, 0, h->N * ME * sizeof *t->psi);
    for (size_t e0 = 0; e0 < E; e0 += HGN_CHUNK) {
        const size_t ne = E - e0 < HGN_CHUNK ? E - e0 : HGN_CHUNK;
        double *ds, *e;
        edge_rows(h, t, theta, r, e0, ne, &ds, &e);
        for (size_t j = 0; j < ne; j++) {
            const double *dsj = ds + j * ME, gam = t->dV[e0 + j];
            double *pi = t->psi + (size_t)pairs[2 * (e0 + j)] * ME;
            double *pj = t->psi + (size_t)pairs[2 * (e0 + j) + 1] * ME;
#pragma omp simd
            for (size_t k = 0; k < ME; k++) {
                double g = gam * dsj[k] * wE[k];
                pi[k] += g, pj[k] += g;
            }
        }
    }
}

/* The edge encoder's and θ_E's gradient sums: with Θ = θ_E (+ c_i + c_j)
 * and K = κ_i + κ_j (mp),
 *   ∂/∂θ_E += γ σ' w,  ∂/∂w += γ Θ (σ'' r w + σ') + K σ' r,  ∂/∂b += γ Θ σ'' w + K σ'. */
static void pot_grad_edges(const hgd *h, hgd_thread *t, const double *theta, const uint32_t *pairs,
                           size_t E, const double *r) {
    const size_t ME = h->ME;
    const double *wE = theta + h->oWE, *thE = theta + h->othE;
    double *gw = t->acc + h->oWE, *gb = t->acc + h->obE, *gth = t->acc + h->othE;
    for (size_t e0 = 0; e0 < E; e0 += HGN_CHUNK) {
        const size_t ne = E - e0 < HGN_CHUNK ? E - e0 : HGN_CHUNK;
        double *ds, *e;
        edge_rows(h, t, theta, r, e0, ne, &ds, &e);
        for (size_t j = 0; j < ne; j++) {
            const double *dsj = ds + j * ME, *ej = e + j * ME;
            const double gam = t->dV[e0 + j], rj = r[e0 + j];
            if (h->MN) {
                const size_t i1 = pairs[2 * (e0 + j)], i2 = pairs[2 * (e0 + j) + 1];
                const double *ci = t->c + i1 * ME, *cj = t->c + i2 * ME;
                const double *ki = t->kap + i1 * ME, *kj = t->kap + i2 * ME;
#pragma omp simd
                for (size_t k = 0; k < ME; k++) {
                    double th = gam * (thE[k] + ci[k] + cj[k]), K = ki[k] + kj[k];
                    gth[k] += gam * dsj[k] * wE[k];
                    gw[k] += th * (ej[k] * rj * wE[k] + dsj[k]) + K * dsj[k] * rj;
                    gb[k] += th * ej[k] * wE[k] + K * dsj[k];
                }
            } else {
#pragma omp simd
                for (size_t k = 0; k < ME; k++) {
                    double th = gam * thE[k];
                    gth[k] += gam * dsj[k] * wE[k];
                    gw[k] += th * (ej[k] * rj * wE[k] + dsj[k]);
                    gb[k] += th * ej[k] * wE[k];
                }
            }
        }
    }
}

static double potential(const hgd *h, hgd_thread *t, const double *theta, size_t s,
                        const double *dp) {
    const size_t e0 = h->pc.off[s], E = h->pc.off[s + 1] - e0;
    const uint32_t *pairs = h->pc.pairs + 2 * e0;
    const double *r = h->pc.r + e0, *u = h->pc.u + 3 * e0;
    pot_features(h, t, theta, pairs, E, r);
    if (h->MN) {
        hgd_node_forward(h, t, theta);
        pot_dV_mp(h, t, theta, pairs, E, r);
    }
    double sq = pot_residuals(h, t, pairs, E, u, dp);
    if (h->MN) {
        pot_psi(h, t, theta, pairs, E, r);
        hgd_node_backward(h, t, theta);
    }
    pot_grad_edges(h, t, theta, pairs, E, r);
    return sq;
}

/* ---- the loss ---- */

/* Snapshots [b0, b1) of the selection into thread t's accumulators. */
static void range(const hgd *h, hgd_thread *t, const double *theta, size_t b0, size_t b1) {
    const size_t nd = h->N * (size_t)h->D;
    memset(t->acc, 0, h->np * sizeof *t->acc);
    t->sq = 0.0;
    for (size_t b = b0; b < b1; b++) {
        const size_t s = h->idx ? h->idx[b] : b;
        t->sq += kinetic(h, t, theta, h->d->p + s * nd, h->d->dqdt + s * nd);
        t->sq += potential(h, t, theta, s, h->d->dpdt + s * nd);
    }
}

int hgd_loss_grad(void *ctx, const double *theta, double *loss, double *grad) {
    hgd *h = ctx;
    const size_t MK = h->MK, nb = h->nb;
    for (size_t k = 0; k < MK; k++) /* W_K's columns */
        h->wk[k] = theta[h->oWK + 2 * k], h->wk[MK + k] = theta[h->oWK + 2 * k + 1];
    const double per = (double)h->pc.n / (double)h->d->S * (double)h->ME +
                       (double)h->N * ((double)MK + 6.0 * (double)h->MN * (double)h->ME);
    int used = 1;
#pragma omp parallel num_threads(h->nthreads) if ((double)nb * per >= PAR_MIN)
    {
        const int T = omp_get_num_threads(), tid = omp_get_thread_num();
#pragma omp single
        used = T;
        range(h, &h->t[tid], theta, nb * (size_t)tid / (size_t)T,
              nb * (size_t)(tid + 1) / (size_t)T);
    }
    /* thread order: deterministic for a given thread count */
    double sq = h->t[0].sq, *acc = h->t[0].acc;
    for (int i = 1; i < used; i++) {
        sq += h->t[i].sq;
        for (size_t j = 0; j < h->np; j++)
            acc[j] += h->t[i].acc[j];
    }
    const double c = 1.0 / (2.0 * (double)nb * (double)h->N * (double)h->D);
    *loss = c * sq;
    if (!grad) return HRF_OK;
    for (size_t j = 0; j < h->np; j++)
        grad[j] = 2.0 * c * acc[j];
    for (size_t k = 0; k < MK; k++) /* W_K back to (M_K, 2) */
        grad[h->oWK + 2 * k] = 2.0 * c * acc[h->oWK + k],
                          grad[h->oWK + 2 * k + 1] = 2.0 * c * acc[h->oWK + MK + k];
    return HRF_OK;
}
