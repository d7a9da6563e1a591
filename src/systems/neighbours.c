/* The neighbour search shared by the particle systems and the graph network
 * (src/systems/neighbours.h; docs/math.md §10): cell lists of a periodic cube
 * in D = 1, 2 or 3 dimensions. */
#include "systems/neighbours.h"

#include "hamrf/status.h"

#include <stdlib.h>
#include <string.h>

size_t hrf_nbr_cells_fitting(double L, double len) {
    size_t n = (size_t)floor(L / len);
    while (n > 0 && L / (double)n < len) /* rounding */
        n--;
    return n;
}

void hrf_nbr_free(hrf_nbr *g) {
    if (!g) return;
    free(g->start), free(g->fill), free(g->cell), free(g->order);
    for (int a = 0; a < 3; a++)
        free(g->x[a]);
    memset(g, 0, sizeof *g);
}

int hrf_nbr_init(hrf_nbr *g, size_t N, int D, double L, size_t nc, int R) {
    memset(g, 0, sizeof *g);
    if (D < 1 || D > 3 || !(L > 0.0 && isfinite(L)) || R < 1 || R > 2 || nc < (size_t)(2 * R + 1))
        return hrf_error(HRF_EINVAL,
                         "cell list: D = %d (1 to 3), box side %g (finite, > 0), reach %d (1 or "
                         "2), %zu cells per side (at least 2 reach + 1)",
                         D, L, R, nc);
    if (N > (size_t)UINT32_MAX)
        return hrf_error(HRF_ETOOBIG, "cell list: %zu particles exceed the limit of 2^32 - 1", N);
    size_t ncells = 1;
    for (int a = 0; a < D; a++) {
        if (ncells > (size_t)UINT32_MAX / nc)
            return hrf_error(HRF_ETOOBIG, "cell list: %zu^%d cells exceed the limit of 2^32 - 1",
                             nc, D);
        ncells *= nc;
    }
    g->D = D, g->R = R, g->L = L, g->N = N, g->nc = nc, g->ncells = ncells;
    g->start = malloc((ncells + 1) * sizeof *g->start);
    g->fill = malloc(ncells * sizeof *g->fill);
    g->cell = malloc((N ? N : 1) * sizeof *g->cell);
    g->order = calloc(N + HRF_NBR_PAD, sizeof *g->order);
    int ok = g->start && g->fill && g->cell && g->order;
    for (int a = 0; a < D && ok; a++)
        ok = (g->x[a] = calloc(N + HRF_NBR_PAD, sizeof *g->x[a])) != NULL;
    if (!ok) {
        hrf_nbr_free(g);
        return hrf_error(HRF_ENOMEM, "out of memory for the cell list of %zu particles", N);
    }
    return HRF_OK;
}

/* floor(u) clamped to 0..nc−1 (also for NaN, which lands in cell 0). */
static inline size_t cell_index(double u, size_t nc) {
    return u > 0.0 ? (u < (double)nc ? (size_t)u : nc - 1) : 0;
}

/* hrf_nbr_build for a constant D (inlined once per dimension). */
static inline void build_d(hrf_nbr *g, const double *q, double *tmp, const int D) {
    const size_t N = g->N, nc = g->nc;
    const double L = g->L, inv = (double)nc / L;
    memset(g->start, 0, (g->ncells + 1) * sizeof *g->start);
    for (size_t i = 0; i < N; i++) {
        size_t c = 0;
        for (int a = 0; a < D; a++) {
            const double w = hrf_nbr_wrap(q[i * D + a], L);
            if (tmp) tmp[i * D + a] = w;
            c = c * nc + cell_index(w * inv, nc);
        }
        g->cell[i] = (uint32_t)c;
        g->start[c + 1]++;
    }
    for (size_t c = 0; c < g->ncells; c++)
        g->start[c + 1] += g->start[c];
    memcpy(g->fill, g->start, g->ncells * sizeof *g->fill);
    for (size_t i = 0; i < N; i++) { /* ascending i: stable */
        const size_t k = g->fill[g->cell[i]]++;
        g->order[k] = (uint32_t)i;
        for (int a = 0; a < D; a++)
            g->x[a][k] = tmp ? tmp[i * D + a] : hrf_nbr_wrap(q[i * D + a], L);
    }
}

/* hrf_nbr_ranges (half = 0) and hrf_nbr_ranges_half (half = 1) for a
 * constant D: inlined once per dimension, so that the three-dimensional scan
 * of the force kernels carries no tests of D. */
static inline int ranges_d(const hrf_nbr *g, size_t c, hrf_nbr_range *r, const int D,
                           const int half) {
    const long nc = (long)g->nc, R = g->R;
    const double L = g->L;
    /* Coordinates (cx, cy, cz) with z the last axis; an axis the box lacks
     * (x for D < 3, y for D = 1) has coordinate 0 and the single offset 0. */
    const long cz = (long)(c % g->nc), cy = D >= 2 ? (long)(c / g->nc % g->nc) : 0;
    const long cx = D == 3 ? (long)(c / g->nc / g->nc) : 0;
    const long rx = D == 3 ? R : 0, ry = D >= 2 ? R : 0;
    long ix[5], iy[5];
    double sx[5], sy[5];
    for (long d = -rx; d <= rx; d++) {
        const long x = cx + d;
        sx[d + rx] = x < 0 ? -L : x >= nc ? L : 0.0, ix[d + rx] = (x + nc) % nc;
    }
    for (long d = -ry; d <= ry; d++) {
        const long y = cy + d;
        sy[d + ry] = y < 0 ? -L : y >= nc ? L : 0.0, iy[d + ry] = (y + nc) % nc;
    }
    int n = 0;
    for (long a = 0; a <= 2 * rx; a++)
        for (long b = 0; b <= 2 * ry; b++) {
            /* half: only lines (a, b) at or after the own line (rx, ry), and
             * on the own line only the cells from c on */
            const int own = a == rx && b == ry;
            if (half && (a < rx || (a == rx && b < ry))) continue;
            const size_t *st = g->start + (size_t)((ix[a] * nc + iy[b]) * nc);
            long z0 = half && own ? cz : cz - R, z1 = cz + R; /* inclusive */
            size_t seg[3][2];
            double sz[3];
            int ns = 0;
            if (half && own) { /* c's line from c on: c's own slots first, then wrapped */
                seg[ns][0] = st[z0], seg[ns][1] = st[(z1 < nc ? z1 : nc - 1) + 1], sz[ns++] = 0.0;
                if (z1 >= nc) seg[ns][0] = st[0], seg[ns][1] = st[z1 - nc + 1], sz[ns++] = L;
            } else {
                if (z0 < 0) { /* cells nc+z0 .. nc−1, seen from below: shift −L */
                    seg[ns][0] = st[nc + z0], seg[ns][1] = st[nc], sz[ns++] = -L;
                    z0 = 0;
                }
                if (z1 >= nc) { /* cells 0 .. z1−nc, seen from above: shift +L */
                    seg[ns][0] = st[0], seg[ns][1] = st[z1 - nc + 1], sz[ns++] = L;
                    z1 = nc - 1;
                }
                seg[ns][0] = st[z0], seg[ns][1] = st[z1 + 1], sz[ns++] = 0.0;
            }
            for (int t = 0; t < ns; t++) {
                if (seg[t][0] == seg[t][1]) continue;
                hrf_nbr_range *o = r + n++;
                o->m0 = seg[t][0], o->m1 = seg[t][1];
                if (D == 3)
                    o->sh[0] = sx[a], o->sh[1] = sy[b], o->sh[2] = sz[t];
                else if (D == 2)
                    o->sh[0] = sy[b], o->sh[1] = sz[t], o->sh[2] = 0.0;
                else
                    o->sh[0] = sz[t], o->sh[1] = o->sh[2] = 0.0;
            }
        }
    return n;
}

void hrf_nbr_build(hrf_nbr *g, const double *q, double *tmp) {
    if (g->D == 3)
        build_d(g, q, tmp, 3);
    else if (g->D == 2)
        build_d(g, q, tmp, 2);
    else
        build_d(g, q, tmp, 1);
}

int hrf_nbr_ranges(const hrf_nbr *g, size_t c, hrf_nbr_range *r) {
    return g->D == 3   ? ranges_d(g, c, r, 3, 0)
           : g->D == 2 ? ranges_d(g, c, r, 2, 0)
                       : ranges_d(g, c, r, 1, 0);
}

int hrf_nbr_ranges_half(const hrf_nbr *g, size_t c, hrf_nbr_range *r) {
    return g->D == 3   ? ranges_d(g, c, r, 3, 1)
           : g->D == 2 ? ranges_d(g, c, r, 2, 1)
                       : ranges_d(g, c, r, 1, 1);
}
