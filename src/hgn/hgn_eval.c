/* Evaluating the graph network (hamrf/hgn.h): Ĥ and Hamilton's equations at
 * one state of any N and D, the learned pair potential, and the errors on a
 * particle data set (docs/math.md §7). */
#include "hgn/hgn_impl.h"

#include "hamrf/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- evaluation ---- */

double hrf_hgn_pair_energy(const hrf_hgn *m, double r, double *dVdr) {
    double z[64], s[64], ds[64], V = 0.0, dV = 0.0;
    for (size_t k0 = 0; k0 < m->ME; k0 += 64) {
        size_t nk = m->ME - k0 < 64 ? m->ME - k0 : 64;
        for (size_t k = 0; k < nk; k++)
            z[k] = m->WE[k0 + k] * r + m->bE[k0 + k];
        m->act->eval(nk, z, s, ds);
        for (size_t k = 0; k < nk; k++) {
            V += m->thE[k0 + k] * s[k];
            dV += m->thE[k0 + k] * ds[k] * m->WE[k0 + k];
        }
    }
    if (dVdr) *dVdr = dV;
    return V + m->cE;
}

double hgn_kinetic_energy(const hrf_hgn *m, double s, double im, double *dTds) {
    double z[64], sg[64], ds[64], T = 0.0, dT = 0.0;
    for (size_t k0 = 0; k0 < m->MK; k0 += 64) {
        size_t nk = m->MK - k0 < 64 ? m->MK - k0 : 64;
        for (size_t k = 0; k < nk; k++)
            z[k] = m->WK[2 * (k0 + k)] * s + m->WK[2 * (k0 + k) + 1] * im + m->bK[k0 + k];
        m->act->eval(nk, z, sg, ds);
        for (size_t k = 0; k < nk; k++) {
            T += m->thK[k0 + k] * sg[k];
            dT += m->thK[k0 + k] * ds[k] * m->WK[2 * (k0 + k)];
        }
    }
    if (m->klin) T += m->thT * 0.5 * im * s, dT += m->thT * 0.5 * im;
    if (dTds) *dTds = dT;
    return T + m->cK;
}

/* Σ over the E pairs of Σ_k θ_E,k σ(w_E,k r + b_E,k) (pair mode, without c_E):
 * the potential energy alone, as the anchor needs it. Pairs in chunks of
 * HGN_CHUNK over the threads, σ only (no σ′), distances from r when given
 * (the fit's pair cache) or from q; each chunk's sum is kept and the sums
 * are added in chunk order, so the result does not depend on the thread
 * count. HRF_ENOMEM when scratch cannot be had. */
int hgn_pair_energy_sum(const hrf_hgn *m, int D, const double *q, double L, const uint32_t *pairs,
                        const double *r, size_t E, double *V) {
    const size_t ME = m->ME, nch = (E + HGN_CHUNK - 1) / HGN_CHUNK;
    double *part = malloc((nch ? nch : 1) * sizeof *part);
    int failed = 0;
    if (!part) return hrf_error(HRF_ENOMEM, "out of memory for the pair energies");
#pragma omp parallel reduction(| : failed)
    {
        double *z = malloc(HGN_CHUNK * ME * sizeof *z), *sg = malloc(HGN_CHUNK * ME * sizeof *sg);
        double *rr = malloc(HGN_CHUNK * sizeof *rr), *uu = malloc(3 * HGN_CHUNK * sizeof *uu);
        failed = !z || !sg || !rr || !uu;
#pragma omp for schedule(static)
        for (size_t c = 0; c < nch; c++) {
            if (failed) continue;
            size_t e0 = c * HGN_CHUNK, ne = E - e0 < HGN_CHUNK ? E - e0 : HGN_CHUNK;
            const double *re = r ? r + e0 : rr;
            if (!r) hgn_pair_geometry(D, q, L, pairs, e0, ne, rr, uu);
            for (size_t e = 0; e < ne; e++)
                for (size_t k = 0; k < ME; k++)
                    z[e * ME + k] = m->WE[k] * re[e] + m->bE[k];
            m->act->eval(ne * ME, z, sg, NULL);
            double v = 0.0;
            for (size_t e = 0; e < ne; e++)
                for (size_t k = 0; k < ME; k++)
                    v += m->thE[k] * sg[e * ME + k];
            part[c] = v;
        }
        free(z), free(sg), free(rr), free(uu);
    }
    double v = 0.0;
    for (size_t c = 0; c < nch && !failed; c++)
        v += part[c];
    free(part);
    if (failed) return hrf_error(HRF_ENOMEM, "out of memory for the pair energies");
    *V = v;
    return HRF_OK;
}

/* Ĥ − c_0 and the derivatives at one state with scratch w (pairs given). */
int hgn_eval_state(const hrf_hgn *m, size_t N, int D, const double *q, const double *p,
                   const double *mass, double L, const uint32_t *pairs, size_t E, double *H,
                   double *dqdt, double *dpdt, hgn_work *w) {
    const size_t ME = m->ME, MK = m->MK;
    double h = 0.0;
    if (dpdt) memset(dpdt, 0, N * D * sizeof *dpdt);
    if (m->MN) { /* mp: a_i, node energies, c_i (in place of a_i) */
        int rc = hgn_work_nodes(w, m, N);
        if (rc) return rc;
        hgn_node_aggregate(m, N, D, q, L, pairs, E, NULL, w->a, &h, w);
        h += hgn_node_layer(m, N, w->a, NULL, dpdt != NULL, w);
    }
    for (size_t e0 = 0; e0 < E && (dpdt || !m->MN); e0 += HGN_CHUNK) {
        size_t ne = E - e0 < HGN_CHUNK ? E - e0 : HGN_CHUNK;
        hgn_pair_geometry(D, q, L, pairs, e0, ne, w->r, w->u);
        hgn_edge_features(m, ne, w->r, 1, w);
        for (size_t e = 0; e < ne; e++) {
            double V = 0.0, dV = 0.0;
            if (m->MN) { /* dV/dr = (θ_E + c_i + c_j)·g_ij; V counted in hgn_node_aggregate */
                const double *ci = w->a + (size_t)pairs[2 * (e0 + e)] * ME;
                const double *cj = w->a + (size_t)pairs[2 * (e0 + e) + 1] * ME;
                for (size_t k = 0; k < ME; k++)
                    dV += (m->thE[k] + ci[k] + cj[k]) * w->ds[e * ME + k] * m->WE[k];
            } else {
                for (size_t k = 0; k < ME; k++) {
                    V += m->thE[k] * w->s[e * ME + k];
                    dV += m->thE[k] * w->ds[e * ME + k] * m->WE[k];
                }
                h += V + m->cE;
            }
            if (dpdt) { /* dp/dt = −∂Ĥ/∂q; ∂r/∂q_i = u, ∂r/∂q_j = −u */
                size_t i = pairs[2 * (e0 + e)], j = pairs[2 * (e0 + e) + 1];
                for (int a = 0; a < D; a++) {
                    dpdt[i * D + a] -= dV * w->u[e * 3 + a];
                    dpdt[j * D + a] += dV * w->u[e * 3 + a];
                }
            }
        }
    }
    for (size_t i0 = 0; i0 < N; i0 += HGN_CHUNK) {
        size_t ni = N - i0 < HGN_CHUNK ? N - i0 : HGN_CHUNK;
        hgn_kinetic_features(m, D, p, mass, i0, ni, w);
        for (size_t t = 0; t < ni; t++) {
            double T = 0.0, dT = 0.0; /* dT/d|p|² */
            for (size_t k = 0; k < MK; k++) {
                T += m->thK[k] * w->s[t * MK + k];
                dT += m->thK[k] * w->ds[t * MK + k] * m->WK[2 * k];
            }
            if (m->klin) { /* θ_T |p|²/(2m) */
                double half_im = 0.5 * (mass ? 1.0 / mass[i0 + t] : 1.0), p2 = 0.0;
                for (int a = 0; a < D; a++)
                    p2 += p[(i0 + t) * D + a] * p[(i0 + t) * D + a];
                T += m->thT * half_im * p2;
                dT += m->thT * half_im;
            }
            h += T + m->cK;
            if (dqdt)
                for (int a = 0; a < D; a++)
                    dqdt[(i0 + t) * D + a] = 2.0 * dT * p[(i0 + t) * D + a];
        }
    }
    *H = h;
    return HRF_OK;
}

static int check_state(size_t N, int D, const double *mass) {
    if (N == 0) return hrf_error(HRF_EINVAL, "no particles");
    if (D < 1 || D > 3) return hrf_error(HRF_EINVAL, "dimension must be 1, 2 or 3, got %d", D);
    if (mass)
        for (size_t i = 0; i < N; i++)
            if (!(mass[i] > 0.0 && isfinite(mass[i])))
                return hrf_error(HRF_EDATA, "mass %zu is %g: masses must be positive and finite", i,
                                 mass[i]);
    return HRF_OK;
}

int hrf_hgn_eval(const hrf_hgn *m, size_t N, int D, const double *q, const double *p,
                 const double *mass, const hrf_hgn_graph *g, double *H, double *dqdt,
                 double *dpdt) {
    int rc = check_state(N, D, mass);
    if (!rc) rc = hgn_check_graph(g, N);
    if (rc) return rc;
    hgn_work w;
    if ((rc = hgn_work_init(&w, hgn_work_width(m)))) goto done;
    const uint32_t *pairs;
    size_t E;
    if ((rc = hgn_graph_pairs(g, N, D, q, &w.pb, &pairs, &E))) goto done;
    double h;
    if ((rc = hgn_eval_state(m, N, D, q, p, mass, g->box, pairs, E, &h, dqdt, dpdt, &w))) goto done;
    if (H) *H = h + m->c0;
done:
    hgn_work_free(&w);
    return rc;
}

/* ---- data sets ---- */

int hgn_check_pdata(const hrf_pdata *d) {
    if (!d || d->S == 0 || d->N == 0)
        return hrf_error(HRF_EDATA,
                         "the particle data set is empty (%zu snapshots of %zu "
                         "particles)",
                         d ? d->S : 0, d ? d->N : 0);
    if (d->D < 1 || d->D > 3)
        return hrf_error(HRF_EDATA, "the data set's dimension must be 1, 2 or 3, got %d", d->D);
    if (!d->q || !d->p || !d->dqdt || !d->dpdt)
        return hrf_error(HRF_EDATA, "the data set lacks q, p, dq/dt or dp/dt");
    hrf_hgn_graph g;
    hrf_hgn_graph_of(d, &g);
    if (!g.pairs && d->n_bonds > 0)
        return hrf_error(HRF_EDATA, "the data set has n_bonds = %zu but no bond list", d->n_bonds);
    int rc = hgn_check_graph(&g, d->N);
    if (!rc) rc = check_state(d->N, d->D, d->mass);
    return rc ? hrf_error_prefix(HRF_EDATA, "particle data set") : HRF_OK;
}

int hrf_hgn_errors_on(const hrf_hgn *m, const hrf_pdata *d, hrf_hgn_errors *out) {
    int rc = hgn_check_pdata(d);
    if (rc) return rc;
    const size_t S = d->S, N = d->N, nd = N * d->D;
    const int D = d->D;
    hrf_hgn_graph g;
    hrf_hgn_graph_of(d, &g);
    hgn_work w;
    double *dq = malloc(nd * sizeof *dq), *dp = malloc(nd * sizeof *dp);
    if ((rc = hgn_work_init(&w, hgn_work_width(m)))) goto done;
    if (!dq || !dp) {
        rc = hrf_error(HRF_ENOMEM, "out of memory evaluating %zu particles", N);
        goto done;
    }
    double eH = 0.0, nH = 0.0, eg = 0.0, ng = 0.0;
    for (size_t s = 0; s < S; s++) {
        const double *q = d->q + s * nd, *p = d->p + s * nd;
        const uint32_t *pairs;
        size_t E;
        if ((rc = hgn_graph_pairs(&g, N, D, q, &w.pb, &pairs, &E))) goto done;
        double h;
        if ((rc = hgn_eval_state(m, N, D, q, p, d->mass, g.box, pairs, E, &h, dq, dp, &w)))
            goto done;
        h += m->c0;
        if (d->H) eH += (h - d->H[s]) * (h - d->H[s]), nH += d->H[s] * d->H[s];
        for (size_t t = 0; t < nd; t++) {
            double a = dq[t] - d->dqdt[s * nd + t], b = dp[t] - d->dpdt[s * nd + t];
            eg += a * a + b * b;
            ng += d->dqdt[s * nd + t] * d->dqdt[s * nd + t] +
                  d->dpdt[s * nd + t] * d->dpdt[s * nd + t];
        }
    }
    out->snapshots = S, out->particles = N, out->dim = D, out->has_H = d->H != NULL;
    out->rel_l2_H = d->H ? (nH > 0.0 ? sqrt(eH / nH) : sqrt(eH)) : NAN;
    out->rel_l2_grad = ng > 0.0 ? sqrt(eg / ng) : sqrt(eg);
    out->mse_dxdt = eg / (2.0 * (double)S * (double)nd);
done:
    hgn_work_free(&w);
    free(dq), free(dp);
    return rc;
}
