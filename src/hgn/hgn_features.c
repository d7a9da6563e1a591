/* The graph network's encoders and the rows of its least-squares problems
 * (the feature blocks that hgn_lsq.c streams): pair geometry, the edge and
 * kinetic encoders, the position and momentum rows, and mode mp's node
 * update with its chain rule. The loops take HGN_CHUNK edges or particles
 * at a time, in the scratch hgn_work. */
#include "hgn/hgn_impl.h"

#include "hamrf/status.h"
#include "systems/neighbours.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- features ---- */

int hgn_work_init(hgn_work *w, size_t M) {
    memset(w, 0, sizeof *w);
    w->z = malloc(HGN_CHUNK * M * sizeof *w->z);
    w->s = malloc(HGN_CHUNK * M * sizeof *w->s);
    w->ds = malloc(HGN_CHUNK * M * sizeof *w->ds);
    w->r = malloc(HGN_CHUNK * sizeof *w->r);
    w->u = malloc(3 * HGN_CHUNK * sizeof *w->u);
    if (!w->z || !w->s || !w->ds || !w->r || !w->u)
        return hrf_error(HRF_ENOMEM, "out of memory for feature scratch");
    return HRF_OK;
}

void hgn_work_free(hgn_work *w) {
    free(w->z), free(w->s), free(w->ds), free(w->r), free(w->u), free(w->pb.p);
    free(w->a), free(w->dh), free(w->f);
    memset(w, 0, sizeof *w);
}

/* The mp node buffers for N particles. */
int hgn_work_nodes(hgn_work *w, const hrf_hgn *m, size_t N) {
    if (w->n_nodes >= N && w->a) return HRF_OK;
    free(w->a), free(w->dh), free(w->f);
    w->a = malloc(N * m->ME * sizeof *w->a);
    w->dh = malloc(N * m->MN * sizeof *w->dh);
    w->f = malloc(HGN_CHUNK * m->MN * sizeof *w->f);
    w->n_nodes = N;
    if (!w->a || !w->dh || !w->f) {
        free(w->a), free(w->dh), free(w->f);
        w->a = w->dh = w->f = NULL, w->n_nodes = 0;
        return hrf_error(HRF_ENOMEM, "out of memory for the node features of %zu particles", N);
    }
    return HRF_OK;
}

/* Distances r (ne) and unit vectors u (ne, D) of pairs [e0, e0+ne). A
 * coincident pair gets u = 0 (r is not differentiable there). */
void hgn_pair_geometry(int D, const double *q, double L, const uint32_t *pairs, size_t e0,
                       size_t ne, double *r, double *u) {
    for (size_t e = 0; e < ne; e++) {
        const double *qi = q + (size_t)pairs[2 * (e0 + e)] * D;
        const double *qj = q + (size_t)pairs[2 * (e0 + e) + 1] * D;
        double s = 0.0;
        for (int a = 0; a < D; a++) {
            u[e * 3 + a] = hrf_nbr_min_image(qi[a] - qj[a], L);
            s += u[e * 3 + a] * u[e * 3 + a];
        }
        r[e] = sqrt(s);
        double inv = r[e] > 0.0 ? 1.0 / r[e] : 0.0;
        for (int a = 0; a < D; a++)
            u[e * 3 + a] *= inv;
    }
}

/* Edge encoder on ne distances, columns [k0, k0+nk): z = w r + b, s = σ(z)
 * (only if want_s: the position rows need σ' alone, half the cost for tanh),
 * ds = σ'(z), each (ne, nk). */
static void edge_features_cols(const hrf_hgn *m, size_t k0, size_t nk, size_t ne, const double *r,
                               int want_s, hgn_work *w) {
    const double *restrict WE = m->WE + k0, *restrict bE = m->bE + k0;
    for (size_t e = 0; e < ne; e++)
        for (size_t k = 0; k < nk; k++)
            w->z[e * nk + k] = WE[k] * r[e] + bE[k];
    m->act->eval(ne * nk, w->z, want_s ? w->s : NULL, w->ds);
}

/* The same for all M_E columns. */
void hgn_edge_features(const hrf_hgn *m, size_t ne, const double *r, int want_s, hgn_work *w) {
    edge_features_cols(m, 0, m->ME, ne, r, want_s, w);
}

/* Kinetic encoder on particles [i0, i0+ni): inputs [|p_i|², 1/m_i]. */
void hgn_kinetic_features(const hrf_hgn *m, int D, const double *p, const double *mass, size_t i0,
                          size_t ni, hgn_work *w) {
    const size_t MK = m->MK;
    for (size_t t = 0; t < ni; t++) {
        const double *pi = p + (i0 + t) * D;
        double p2 = 0.0;
        for (int a = 0; a < D; a++)
            p2 += pi[a] * pi[a];
        double im = mass ? 1.0 / mass[i0 + t] : 1.0;
        for (size_t k = 0; k < MK; k++)
            w->z[t * MK + k] = m->WK[2 * k] * p2 + m->WK[2 * k + 1] * im + m->bK[k];
    }
    m->act->eval(ni * MK, w->z, w->s, w->ds);
}

/* Adds the position rows of one snapshot to blk: row (i·D + a) at blk + row·ld,
 * columns [k0, k1) of 0..M_E−1 (rows must be zeroed by the caller). The
 * pairs' distances r (E) and unit vectors u (E, 3) come from the fit's
 * cache, or (r = NULL) are computed here. phi (M_E, may be NULL) receives
 * += Σ_edges σ(z) in those columns. Every entry receives its pairs' terms
 * in pair order, whatever the column range: threads filling disjoint
 * ranges of one snapshot give the block one thread gives. */
void hgn_fill_potential_cols(const hrf_hgn *m, size_t k0, size_t k1, int D, const double *q,
                             double L, const uint32_t *pairs, size_t E, const double *r,
                             const double *u, double *blk, size_t ld, double *phi, hgn_work *w) {
    const size_t nk = k1 - k0;
    const double *restrict WE = m->WE + k0;
    blk += k0;
    for (size_t e0 = 0; e0 < E; e0 += HGN_CHUNK) {
        size_t ne = E - e0 < HGN_CHUNK ? E - e0 : HGN_CHUNK;
        const double *rr = r ? r + e0 : w->r, *uu = r ? u + 3 * e0 : w->u;
        if (!r) hgn_pair_geometry(D, q, L, pairs, e0, ne, w->r, w->u);
        edge_features_cols(m, k0, nk, ne, rr, phi != NULL, w);
        for (size_t e = 0; e < ne; e++) {
            size_t i = pairs[2 * (e0 + e)], j = pairs[2 * (e0 + e) + 1];
            double *g = w->ds + e * nk; /* σ'(z_k) w_k = ∂e_k/∂r, in place */
            if (phi)
                for (size_t k = 0; k < nk; k++)
                    phi[k0 + k] += w->s[e * nk + k];
            if (D == 3) { /* one sweep: σ′·w_E formed once for the three coordinates */
                const double u0 = uu[e * 3], u1 = uu[e * 3 + 1], u2 = uu[e * 3 + 2];
                /* six distinct rows (i ≠ j: pairs are i < j, bonds checked) */
                double *restrict i0 = blk + (i * 3) * ld, *restrict i1 = blk + (i * 3 + 1) * ld,
                                 *restrict i2 = blk + (i * 3 + 2) * ld;
                double *restrict j0 = blk + (j * 3) * ld, *restrict j1 = blk + (j * 3 + 1) * ld,
                                 *restrict j2 = blk + (j * 3 + 2) * ld;
#pragma omp simd
                for (size_t k = 0; k < nk; k++) {
                    const double gk = g[k] * WE[k], a0 = gk * u0, a1 = gk * u1, a2 = gk * u2;
                    i0[k] += a0, i1[k] += a1, i2[k] += a2;
                    j0[k] -= a0, j1[k] -= a1, j2[k] -= a2;
                }
                continue;
            }
#pragma omp simd
            for (size_t k = 0; k < nk; k++)
                g[k] *= WE[k];
            for (int a = 0; a < D; a++) {
                double ua = uu[e * 3 + a];
                double *ri = blk + (i * D + a) * ld, *rj = blk + (j * D + a) * ld;
#pragma omp simd
                for (size_t k = 0; k < nk; k++) {
                    ri[k] += g[k] * ua;
                    rj[k] -= g[k] * ua;
                }
            }
        }
    }
}

/* All M_E columns. */
void hgn_fill_potential(const hrf_hgn *m, int D, const double *q, double L, const uint32_t *pairs,
                        size_t E, const double *r, const double *u, double *blk, size_t ld,
                        double *phi, hgn_work *w) {
    hgn_fill_potential_cols(m, 0, m->ME, D, q, L, pairs, E, r, u, blk, ld, phi, w);
}

/* Sets the momentum rows of one snapshot: row (i·D + a) at blk + row·ld,
 * columns 0..M_K−1, and column M_K (p_ia/m_i) when the model has the linear
 * kinetic feature. psi (M_K, may be NULL) receives += Σ_i σ(z_i). */
void hgn_fill_kinetic(const hrf_hgn *m, size_t N, int D, const double *p, const double *mass,
                      int kT, double *blk, size_t ld, double *psi, hgn_work *w) {
    const size_t MK = m->MK;
    for (size_t i0 = 0; i0 < N; i0 += HGN_CHUNK) {
        size_t ni = N - i0 < HGN_CHUNK ? N - i0 : HGN_CHUNK;
        hgn_kinetic_features(m, D, p, mass, i0, ni, w);
        for (size_t t = 0; t < ni; t++) {
            const double *ds = w->ds + t * MK;
            if (psi)
                for (size_t k = 0; k < MK; k++)
                    psi[k] += w->s[t * MK + k];
            double im = mass ? 1.0 / mass[i0 + t] : 1.0;
            for (int a = 0; a < D; a++) {
                double two_p = 2.0 * p[(i0 + t) * D + a];
                double *row = blk + ((i0 + t) * D + a) * ld;
                for (size_t k = 0; k < MK; k++)
                    row[k] = ds[k] * m->WK[2 * k] * two_p;
                if (kT) row[MK] = 0.5 * two_p * im; /* ∂/∂p_ia Σ|p|²/(2m) = p_ia/m_i */
            }
        }
    }
}

/* ---- mode mp: the node update (docs/math.md §10, "mp mode") ----
 *
 * a_i = Σ_{j∈N(i)} e(r_ij) (M_E), y_i = W_N a_i + b_N, h_i = σ(y_i) (M_N); the
 * read-out adds θ_N · Σ_i h_i. Chain rule, with g_ij = σ'(w_E r_ij + b_E) ⊙ w_E
 * = ∂e(r_ij)/∂r_ij and ∂a_i/∂q = Σ_{j∈N(i)} g_ij ∂r_ij/∂q:
 *   ∂(θ_N·Σ_l h_l)/∂q = Σ_l c_l · ∂a_l/∂q,  c_l = W_Nᵀ (θ_N ⊙ σ'(y_l))  (M_E),
 * and since pair (i,j) enters a_i and a_j,
 *   ∂Ĥ_pot/∂q = Σ_pairs (θ_E + c_i + c_j) · g_ij  ∂r_ij/∂q,  ∂r_ij/∂q_i = u_ij = −∂r_ij/∂q_j.
 * The least-squares columns of θ_N,n are accordingly
 *   Σ_pairs (σ'(y_in) + σ'(y_jn)) (W_N g_ij)_n ∂r_ij/∂q. */

/* a (N, M_E) = Σ over each particle's pairs of e(r); *Vpair (may be NULL)
 * += Σ_pairs (θ_E·e(r) + c_E). Geometry from the cache (r != NULL) or computed. */
void hgn_node_aggregate(const hrf_hgn *m, size_t N, int D, const double *q, double L,
                        const uint32_t *pairs, size_t E, const double *r, double *a, double *Vpair,
                        hgn_work *w) {
    const size_t ME = m->ME;
    memset(a, 0, N * ME * sizeof *a);
    double V = 0.0;
    for (size_t e0 = 0; e0 < E; e0 += HGN_CHUNK) {
        size_t ne = E - e0 < HGN_CHUNK ? E - e0 : HGN_CHUNK;
        const double *rr = r ? r + e0 : w->r;
        if (!r) hgn_pair_geometry(D, q, L, pairs, e0, ne, w->r, w->u);
        for (size_t e = 0; e < ne; e++)
            for (size_t k = 0; k < ME; k++)
                w->z[e * ME + k] = m->WE[k] * rr[e] + m->bE[k];
        m->act->eval(ne * ME, w->z, w->s, NULL);
        for (size_t e = 0; e < ne; e++) {
            double *ai = a + (size_t)pairs[2 * (e0 + e)] * ME;
            double *aj = a + (size_t)pairs[2 * (e0 + e) + 1] * ME;
            const double *se = w->s + e * ME;
            double v = 0.0;
#pragma omp simd reduction(+ : v)
            for (size_t k = 0; k < ME; k++) {
                ai[k] += se[k], aj[k] += se[k];
                v += m->thE[k] * se[k];
            }
            V += v + m->cE;
        }
    }
    if (Vpair) *Vpair += V;
}

/* Pre-activations y = W_N a + b_N of ni nodes: a (ni, M_E), y (ni, M_N). */
void hgn_node_pre(const hrf_hgn *m, size_t ni, const double *a, double *y) {
    const size_t ME = m->ME, MN = m->MN;
    for (size_t t = 0; t < ni; t++)
        for (size_t n = 0; n < MN; n++) {
            const double *wn = m->WN + n * ME, *at = a + t * ME;
            double z = m->bN[n];
#pragma omp simd reduction(+ : z)
            for (size_t k = 0; k < ME; k++)
                z += wn[k] * at[k];
            y[t * MN + n] = z;
        }
}

/* Node energies and derivative weights of N particles from a (N, M_E):
 * returns Σ_i (θ_N·h_i + c_N); with want_dh, dh (N, M_N) = σ'(y_i); with
 * want_c, a is overwritten by c_i = W_Nᵀ(θ_N ⊙ σ'(y_i)). */
double hgn_node_layer(const hrf_hgn *m, size_t N, double *a, double *dh, int want_c, hgn_work *w) {
    const size_t ME = m->ME, MN = m->MN;
    double V = 0.0;
    for (size_t i0 = 0; i0 < N; i0 += HGN_CHUNK) {
        size_t ni = N - i0 < HGN_CHUNK ? N - i0 : HGN_CHUNK;
        hgn_node_pre(m, ni, a + i0 * ME, w->z);
        m->act->eval(ni * MN, w->z, w->s, w->ds);
        for (size_t t = 0; t < ni; t++) {
            const double *st = w->s + t * MN, *dt = w->ds + t * MN;
            double v = 0.0;
            for (size_t n = 0; n < MN; n++)
                v += m->thN[n] * st[n];
            V += v + m->cN;
            if (dh) memcpy(dh + (i0 + t) * MN, dt, MN * sizeof *dh);
            if (want_c) {
                double *c = a + (i0 + t) * ME;
                memset(c, 0, ME * sizeof *c);
                for (size_t n = 0; n < MN; n++) {
                    double tn = m->thN[n] * dt[n];
                    const double *wn = m->WN + n * ME;
#pragma omp simd
                    for (size_t k = 0; k < ME; k++)
                        c[k] += tn * wn[k];
                }
            }
        }
    }
    return V;
}

/* mp counterpart of hgn_fill_potential: columns [θ_E (M_E), θ_N (M_N)] of the
 * position rows of one snapshot of N particles (rows zeroed by the caller). */
int hgn_fill_potential_mp(const hrf_hgn *m, size_t N, int D, const double *q, double L,
                          const uint32_t *pairs, size_t E, const double *r, const double *u,
                          double *blk, size_t ld, hgn_work *w) {
    const size_t ME = m->ME, MN = m->MN;
    int rc = hgn_work_nodes(w, m, N);
    if (rc) return rc;
    hgn_node_aggregate(m, N, D, q, L, pairs, E, r, w->a, NULL, w);
    hgn_node_layer(m, N, w->a, w->dh, 0, w);
    for (size_t e0 = 0; e0 < E; e0 += HGN_CHUNK) {
        size_t ne = E - e0 < HGN_CHUNK ? E - e0 : HGN_CHUNK;
        const double *rr = r ? r + e0 : w->r, *uu = r ? u + 3 * e0 : w->u;
        if (!r) hgn_pair_geometry(D, q, L, pairs, e0, ne, w->r, w->u);
        hgn_edge_features(m, ne, rr, 0, w);
        for (size_t e = 0; e < ne; e++) {
            size_t i = pairs[2 * (e0 + e)], j = pairs[2 * (e0 + e) + 1];
            double *g = w->ds + e * ME, *f = w->f + e * MN;
#pragma omp simd
            for (size_t k = 0; k < ME; k++)
                g[k] *= m->WE[k];
            const double *dhi = w->dh + i * MN, *dhj = w->dh + j * MN;
            for (size_t n = 0; n < MN; n++) {
                const double *wn = m->WN + n * ME;
                double z = 0.0;
#pragma omp simd reduction(+ : z)
                for (size_t k = 0; k < ME; k++)
                    z += wn[k] * g[k];
                f[n] = (dhi[n] + dhj[n]) * z;
            }
            for (int a = 0; a < D; a++) {
                double ua = uu[e * 3 + a];
                double *ri = blk + (i * D + a) * ld, *rj = blk + (j * D + a) * ld;
#pragma omp simd
                for (size_t k = 0; k < ME; k++) {
                    ri[k] += g[k] * ua;
                    rj[k] -= g[k] * ua;
                }
#pragma omp simd
                for (size_t n = 0; n < MN; n++) {
                    ri[ME + n] += f[n] * ua;
                    rj[ME + n] -= f[n] * ua;
                }
            }
        }
    }
    return HRF_OK;
}
