/* The graph network's tabulated pair potential (hamrf/hgn.h): cubic Hermite
 * interpolation of V̂ and V̂' for fast rollouts, the network itself outside
 * the table's range. */
#include "hgn/hgn_impl.h"

#include "hamrf/status.h"

#include <math.h>
#include <stdlib.h>

/* ---- tabulated pair potential ---- */

int hrf_hgn_table_new(const hrf_hgn *m, double r_min, double r_max, size_t n, hrf_hgn_table **out) {
    *out = NULL;
    if (!(isfinite(r_min) && isfinite(r_max) && r_min < r_max) || n == 0)
        return hrf_error(HRF_EINVAL,
                         "a pair-potential table needs finite r_min < r_max and at least one "
                         "interval (got [%g, %g], %zu)",
                         r_min, r_max, n);
    if (m->MN)
        return hrf_error(HRF_EINVAL, "an mp-mode graph network is not pairwise-additive: no "
                                     "pair-potential table (use mode pair)");
    hrf_hgn_table *t = calloc(1, sizeof *t);
    int rc = HRF_OK;
    if (!t || !(t->V = malloc((n + 1) * sizeof *t->V)) ||
        !(t->dV = malloc((n + 1) * sizeof *t->dV)) ||
        (rc = hrf_hgn_from_params(m->act, m->ME, m->WE, m->bE, m->thE, m->MK, m->WK, m->bK, m->thK,
                                  m->c0, &t->net))) {
        hrf_hgn_table_free(t);
        return rc ? rc : hrf_error(HRF_ENOMEM, "out of memory for a %zu-interval table", n);
    }
    t->net->cE = m->cE, t->net->cK = m->cK, t->net->klin = m->klin, t->net->thT = m->thT;
    t->r_min = r_min, t->r_max = r_max, t->n = n, t->h = (r_max - r_min) / (double)n;
    t->inv_h = 1.0 / t->h;
    for (size_t i = 0; i <= n; i++)
        t->V[i] = hrf_hgn_pair_energy(m, i == n ? r_max : r_min + (double)i * t->h, &t->dV[i]);
    if (m->act->d2 && r_min > 0.0) { /* the force factor in s = r² */
        if (!(t->G = malloc(2 * (n + 1) * sizeof *t->G))) {
            hrf_hgn_table_free(t);
            return hrf_error(HRF_ENOMEM, "out of memory for a %zu-interval table", n);
        }
        t->s_lo = r_min * r_min, t->s_hi = r_max * r_max;
        t->hg = (t->s_hi - t->s_lo) / (double)n, t->inv_hg = 1.0 / t->hg;
        for (size_t i = 0; i <= n; i++) {
            const double sq = i == n ? t->s_hi : t->s_lo + (double)i * t->hg, r = sqrt(sq);
            double d1, d2 = 0.0;
            hrf_hgn_pair_energy(m, r, &d1);
            for (size_t k = 0; k < m->ME; k++) /* V''(r) = Σ θ_k σ''(w_k r + b_k) w_k² */
                d2 += m->thE[k] * m->act->d2(m->WE[k] * r + m->bE[k]) * m->WE[k] * m->WE[k];
            /* g = V'/r, dg/ds = (V'' − V'/r) / (2 r²) */
            t->G[2 * i] = d1 / r;
            t->G[2 * i + 1] = t->hg * (d2 - d1 / r) / (2.0 * sq);
        }
    }
    *out = t;
    return HRF_OK;
}

double hrf_hgn_table_eval(const hrf_hgn_table *t, double r, double *dVdr) {
    if (!(r >= t->r_min && r <= t->r_max)) return hrf_hgn_pair_energy(t->net, r, dVdr);
    double d;
    double V = hgn_hermite(t->V, t->dV, t->n, t->r_min, t->h, t->inv_h, r, &d);
    if (dVdr) *dVdr = d;
    return V;
}

int hgn_table_set_kinetic(hrf_hgn_table *t, double im, double s_max, size_t n) {
    if (!(s_max > 0.0 && isfinite(s_max) && im > 0.0 && isfinite(im)) || n == 0)
        return hrf_error(HRF_EINVAL, "a kinetic table needs s_max > 0, 1/m > 0 and intervals");
    double *T = malloc((n + 1) * sizeof *T), *dT = malloc((n + 1) * sizeof *dT);
    if (!T || !dT) {
        free(T), free(dT);
        return hrf_error(HRF_ENOMEM, "out of memory for a %zu-interval kinetic table", n);
    }
    const double hs = s_max / (double)n;
    for (size_t i = 0; i <= n; i++)
        T[i] = hgn_kinetic_energy(t->net, i == n ? s_max : (double)i * hs, im, &dT[i]);
    free(t->T), free(t->dT);
    t->T = T, t->dT = dT, t->im = im, t->s_max = s_max, t->hs = hs, t->inv_hs = 1.0 / hs;
    t->nk = n;
    return HRF_OK;
}

int hgn_table_has_kinetic(const hrf_hgn_table *t, double im) {
    return t->T && im == t->im;
}

double hgn_table_kinetic(const hrf_hgn_table *t, double s, double *dTds) {
    if (!(s >= 0.0 && s <= t->s_max)) return hgn_kinetic_energy(t->net, s, t->im, dTds);
    return hgn_hermite(t->T, t->dT, t->nk, 0.0, t->hs, t->inv_hs, s, dTds);
}

void hrf_hgn_table_free(hrf_hgn_table *t) {
    if (!t) return;
    free(t->V), free(t->dV), free(t->T), free(t->dT), free(t->G);
    hrf_hgn_free(t->net);
    free(t);
}
