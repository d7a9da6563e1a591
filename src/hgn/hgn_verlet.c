/* Verlet pair lists for the graph network's tabulated field (hamrf/hgn_field.h,
 * docs/math.md §10 "Learned MD"): the pairs closer than rc + skin, found by the
 * cell search of hgn_graph.c, are kept between evaluations and searched again
 * only when some particle has moved more than skin/2 since the last search.
 * Then every pair closer than rc now is in the list (two particles approach by
 * at most skin in all), and the force loop drops the pairs beyond rc. */
#include "hgn_impl.h"

#include "hamrf/status.h"
#include "systems/neighbours.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void hgn_verlet_free(hgn_verlet *v) {
    if (!v) return;
    free(v->qref);
    free(v->pb.p);
    memset(v, 0, sizeof *v);
}

/* The largest squared displacement of a particle since the last search. */
static double moved2(const hgn_verlet *v, size_t nd, int D, const double *q) {
    double m = 0.0;
    for (size_t t = 0; t < nd; t += (size_t)D) {
        double s = 0.0;
        for (int a = 0; a < D; a++) {
            const double d = q[t + a] - v->qref[t + a];
            s += d * d;
        }
        m = s > m ? s : m;
    }
    return m;
}

int hgn_verlet_pairs(hgn_verlet *v, const hrf_hgn_graph *g, double skin, size_t N, int D,
                     const double *q, const uint32_t **pairs, size_t *E) {
    const size_t nd = N * (size_t)D;
    /* the search's minimum image needs box > 2 (rc + skin): a smaller skin, or none */
    double s = skin;
    if (g->box > 0.0 && 2.0 * (g->cutoff + s) >= g->box) s = 0.5 * g->box - g->cutoff;
    s = s > 0.0 ? 0.999 * s : 0.0;
    if (!v->qref || v->N != N || v->D != D || v->skin != s ||
        !(moved2(v, nd, D, q) <= 0.25 * s * s)) {
        if (!v->qref || v->N != N || v->D != D) {
            free(v->qref);
            if (!(v->qref = malloc((nd ? nd : 1) * sizeof *v->qref)))
                return hrf_error(HRF_ENOMEM, "out of memory for a Verlet list of %zu particles", N);
            v->N = N, v->D = D;
        }
        hrf_hgn_graph gs = *g;
        gs.cutoff = g->cutoff + s;
        int rc;
        if (D == 3 && g->box > 0.0) { /* the particle systems' vectorised cell search */
            uint32_t *p = NULL;
            size_t n = 0;
            if (!(rc = hrf_nbr_cutoff_pairs_grouped(N, g->box, gs.cutoff, q, &p, &n))) {
                free(v->pb.p);
                v->pb.p = p, v->pb.n = n, v->pb.cap = n;
            }
        } else {
            const uint32_t *p;
            size_t n;
            rc = hgn_graph_pairs(&gs, N, D, q, &v->pb, &p, &n);
        }
        if (rc) {
            free(v->qref), v->qref = NULL;
            return rc;
        }
        memcpy(v->qref, q, nd * sizeof *q);
        v->skin = s;
        v->builds++;
    }
    *pairs = v->pb.p, *E = v->pb.n;
    return HRF_OK;
}
