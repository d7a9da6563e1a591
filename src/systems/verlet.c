/* Verlet pair lists (systems/verlet.h, docs/math.md §10 "Verlet lists"): the
 * pairs closer than rc + skin, kept until some particle has moved more than
 * skin/2 since the search that found them. */
#include "systems/verlet.h"

#include "hamrf/status.h"
#include "systems/neighbours.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void hrf_vlist_free(hrf_vlist *v) {
    if (!v) return;
    free(v->qref);
    free(v->pairs);
    memset(v, 0, sizeof *v);
}

double hrf_vlist_skin(double box, double cutoff, double skin) {
    double s = skin;
    if (box > 0.0 && 2.0 * (cutoff + s) >= box) s = 0.5 * box - cutoff;
    return s > 0.0 ? 0.999 * s : 0.0;
}

/* The largest squared displacement of a particle from qref. */
static double moved2(const hrf_vlist *v, size_t nd, int D, const double *q) {
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

/* The default search: the particle systems' cell search, box from ctx. */
static int cell_search(void *ctx, size_t N, int D, const double *q, double reach, uint32_t **pairs,
                       size_t *n_pairs) {
    const double box = *(const double *)ctx;
    if (D != 3 || !(box > 0.0))
        return hrf_error(HRF_EINVAL, "the cell search of a Verlet list needs D = 3 and a periodic "
                                     "box (give a search of your own)");
    return hrf_nbr_cutoff_pairs_grouped(N, box, reach, q, pairs, n_pairs);
}

int hrf_vlist_update(hrf_vlist *v, size_t N, int D, double box, double cutoff, double skin,
                     const double *q, hrf_vlist_search search, void *ctx) {
    const size_t nd = N * (size_t)D;
    const double s = hrf_vlist_skin(box, cutoff, skin);
    if (v->qref && v->N == N && v->D == D && v->skin == s && moved2(v, nd, D, q) <= 0.25 * s * s)
        return HRF_OK;
    if (!v->qref || v->N != N || v->D != D) {
        free(v->qref);
        if (!(v->qref = malloc((nd ? nd : 1) * sizeof *v->qref)))
            return hrf_error(HRF_ENOMEM, "out of memory for a Verlet list of %zu particles", N);
        v->N = N, v->D = D;
    }
    uint32_t *p = NULL;
    size_t n = 0;
    int rc = search ? search(ctx, N, D, q, cutoff + s, &p, &n)
                    : cell_search(&box, N, D, q, cutoff + s, &p, &n);
    if (rc) {
        free(v->qref), v->qref = NULL; /* searched again next time */
        return rc;
    }
    free(v->pairs);
    v->pairs = p, v->n = n;
    memcpy(v->qref, q, nd * sizeof *q);
    v->skin = s;
    v->builds++;
    return HRF_OK;
}
