/* Verlet pair lists for the graph network's tabulated field (hamrf/hgn_field.h,
 * docs/math.md §10 "Verlet lists"): the lists of src/systems/verlet.h over the
 * graph's cutoff, found by the particle systems' vectorised cell search in a
 * periodic 3-D box and by the graph's own search (hgn_graph.c) otherwise. */
#include "hgn_impl.h"

#include "hamrf/status.h"

#include <stdlib.h>

void hgn_verlet_free(hgn_verlet *v) {
    hrf_vlist_free(v);
}

/* The graph's own cutoff search (any D, open or periodic) within reach. */
static int graph_search(void *ctx, size_t N, int D, const double *q, double reach, uint32_t **pairs,
                        size_t *n_pairs) {
    hrf_hgn_graph gs = *(const hrf_hgn_graph *)ctx;
    gs.cutoff = reach;
    return hrf_hgn_graph_pairs(&gs, N, D, q, pairs, n_pairs);
}

int hgn_verlet_pairs(hgn_verlet *v, const hrf_hgn_graph *g, double skin, size_t N, int D,
                     const double *q, const uint32_t **pairs, size_t *E) {
    const int cells = D == 3 && g->box > 0.0; /* the particle systems' cell search */
    int rc = hrf_vlist_update(v, N, D, g->box, g->cutoff, skin, q, cells ? NULL : graph_search,
                              (void *)g);
    if (rc) return rc;
    *pairs = v->pairs, *E = v->n;
    return HRF_OK;
}
