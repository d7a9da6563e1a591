/* The graph network's tabulated pair potential (hamrf/hgn.h): cubic Hermite
 * interpolation of V̂ and V̂' for fast rollouts, the network itself outside
 * the table's range. */
#include "hgn/hgn_impl.h"

#include "hamrf/status.h"

#include <math.h>
#include <stdlib.h>

/* ---- tabulated pair potential ---- */

struct hrf_hgn_table {
    double r_min, r_max, h;
    size_t n;       /* intervals */
    double *V, *dV; /* (n + 1) node values */
    hrf_hgn *net;   /* copy of the model, for r outside [r_min, r_max] */
};

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
    for (size_t i = 0; i <= n; i++)
        t->V[i] = hrf_hgn_pair_energy(m, i == n ? r_max : r_min + (double)i * t->h, &t->dV[i]);
    *out = t;
    return HRF_OK;
}

double hrf_hgn_table_eval(const hrf_hgn_table *t, double r, double *dVdr) {
    if (!(r >= t->r_min && r <= t->r_max)) return hrf_hgn_pair_energy(t->net, r, dVdr);
    double x = (r - t->r_min) / t->h;
    size_t i = (size_t)x;
    if (i >= t->n) i = t->n - 1;
    double s = x - (double)i, s2 = s * s, s3 = s2 * s, h = t->h;
    double V0 = t->V[i], V1 = t->V[i + 1], d0 = t->dV[i] * h, d1 = t->dV[i + 1] * h;
    if (dVdr)
        *dVdr = ((6.0 * s2 - 6.0 * s) * (V0 - V1) + (3.0 * s2 - 4.0 * s + 1.0) * d0 +
                 (3.0 * s2 - 2.0 * s) * d1) /
                h;
    return (2.0 * s3 - 3.0 * s2 + 1.0) * V0 + (s3 - 2.0 * s2 + s) * d0 +
           (3.0 * s2 - 2.0 * s3) * V1 + (s3 - s2) * d1;
}

void hrf_hgn_table_free(hrf_hgn_table *t) {
    if (!t) return;
    free(t->V), free(t->dV);
    hrf_hgn_free(t->net);
    free(t);
}
