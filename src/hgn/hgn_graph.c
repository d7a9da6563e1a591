/* The graph network's interaction graph (hamrf/hgn.h): a data set's bond
 * list, or every pair closer than a cutoff, found with the cell lists of
 * src/systems/neighbours.h in a periodic box, otherwise among all pairs. */
#include "hgn/hgn_impl.h"

#include "hamrf/status.h"
#include "systems/neighbours.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- graphs ---- */

void hrf_hgn_graph_of(const hrf_pdata *d, hrf_hgn_graph *g) {
    g->pairs = d->bonds;
    g->n_pairs = d->bonds ? d->n_bonds : 0;
    g->box = d->box;
    g->cutoff = d->cutoff;
}

static int pair_push(hgn_pair_buf *b, size_t i, size_t j) {
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 1024;
        uint32_t *p = realloc(b->p, 2 * cap * sizeof *p);
        if (!p) return hrf_error(HRF_ENOMEM, "out of memory for a pair list of %zu pairs", cap);
        b->p = p, b->cap = cap;
    }
    b->p[2 * b->n] = (uint32_t)(i < j ? i : j);
    b->p[2 * b->n + 1] = (uint32_t)(i < j ? j : i);
    b->n++;
    return HRF_OK;
}

/* Cells per side of the pair search: floor(L/rc) (cells at least rc wide,
 * neighbours within ±1 cell), but not more than about 2 per particle (dilute
 * systems: the largest n ≥ 3 with n^D ≤ 2N + 27); below 3 none (all pairs). */
static size_t pair_cells(double L, double rc, size_t N, int D) {
    const double n0 = floor(L / rc), lim = 2.0 * (double)N + 27.0;
    if (!(n0 > 3.0)) return n0 == 3.0 ? 3 : 0;
    double cap = floor(pow(lim, 1.0 / D)); /* ≥ 3, made exact by the two loops */
    while (pow(cap + 1.0, D) <= lim)
        cap++;
    while (cap > 3.0 && pow(cap, D) > lim)
        cap--;
    return (size_t)fmin(n0, cap);
}

/* |q_i − q_j|² under the minimum image, with 1/L precomputed (the cell
 * search's hot loop: a multiplication instead of three divisions). Where
 * d·(1/L) and d/L round to different integers, d is within rounding of an
 * odd multiple of L/2, where both images have length L/2 (to rounding) ≥ the
 * cutoff: the same pairs, but for a distance equal to the cutoff to
 * rounding, which either test may take. */
static inline double dist2_inv(int D, const double *qi, const double *qj, double L, double iL) {
    double s = 0.0;
    for (int a = 0; a < D; a++) {
        const double d = qi[a] - qj[a], m = d - L * nearbyint(d * iL);
        s += m * m;
    }
    return s;
}

/* All pairs closer than the cutoff: cell lists (src/systems/neighbours.h) in
 * a periodic box at least 3 cells wide, otherwise all pairs. Each unordered
 * pair is met from both of its cells; i < j keeps one. The list's order fixes
 * the floating-point sums of every fit and evaluation, so it is kept as it
 * always was, for model files that are reproducible across versions: cells by
 * their coordinates with axis 0 fastest, then their 3^D neighbour cells
 * likewise (offsets −1, 0, +1), and within each cell the particles in
 * descending index order (that of the linked lists this search once had; the
 * counting sort stores a cell's particles ascending, so its slots are walked
 * backwards). */
static int cutoff_pairs(const hrf_hgn_graph *g, size_t N, int D, const double *q, hgn_pair_buf *b) {
    const double L = g->box, rc2 = g->cutoff * g->cutoff;
    b->n = 0;
    const size_t nc = L > 0.0 ? pair_cells(L, g->cutoff, N, D) : 0;
    if (nc < 3) {
        for (size_t i = 0; i < N; i++)
            for (size_t j = i + 1; j < N; j++)
                if (hrf_nbr_dist2(D, q + i * D, q + j * D, L) < rc2) {
                    int rc_ = pair_push(b, i, j);
                    if (rc_) return rc_;
                }
        return HRF_OK;
    }
    const double iL = 1.0 / L;
    hrf_nbr nb;
    int rc_ = hrf_nbr_init(&nb, N, D, L, nc, 1);
    if (rc_) return rc_;
    hrf_nbr_build(&nb, q, NULL);
    size_t nstencil = 1;
    for (int a = 0; a < D; a++)
        nstencil *= 3;
    for (size_t t = 0; t < nb.ncells && !rc_; t++) {
        long ca[3] = {0, 0, 0}, cb[3] = {0, 0, 0};
        size_t u = t;
        for (int a = 0; a < D; a++)
            ca[a] = (long)(u % nc), u /= nc;
        const size_t c = hrf_nbr_cell_at(&nb, ca);
        for (size_t s = 0; s < nstencil && !rc_; s++) {
            size_t v = s;
            for (int a = 0; a < D; a++)
                cb[a] = ca[a] + (long)(v % 3) - 1, v /= 3;
            const size_t c2 = hrf_nbr_cell_at(&nb, cb);
            for (size_t ki = nb.start[c + 1]; ki-- > nb.start[c] && !rc_;) {
                const size_t i = nb.order[ki];
                /* descending j: the j > i come first, then none */
                for (size_t kj = nb.start[c2 + 1]; kj-- > nb.start[c2];) {
                    const size_t j = nb.order[kj];
                    if (j <= i) break;
                    if (dist2_inv(D, q + i * D, q + j * D, L, iL) < rc2)
                        if ((rc_ = pair_push(b, i, j))) break;
                }
            }
        }
    }
    hrf_nbr_free(&nb);
    return rc_;
}

/* The pairs of g at q: the bond list itself, or a cutoff search into b. */
int hgn_graph_pairs(const hrf_hgn_graph *g, size_t N, int D, const double *q, hgn_pair_buf *b,
                    const uint32_t **pairs, size_t *E) {
    if (g->pairs) {
        *pairs = g->pairs, *E = g->n_pairs;
        return HRF_OK;
    }
    int rc = cutoff_pairs(g, N, D, q, b);
    *pairs = b->p, *E = b->n;
    return rc;
}

int hgn_check_graph(const hrf_hgn_graph *g, size_t N) {
    if (!g) return hrf_error(HRF_EINVAL, "no interaction graph given");
    if (g->pairs) {
        for (size_t e = 0; e < g->n_pairs; e++) {
            uint32_t i = g->pairs[2 * e], j = g->pairs[2 * e + 1];
            if (i >= N || j >= N || i == j)
                return hrf_error(HRF_EDATA,
                                 "pair %zu is (%u, %u): indices must be distinct and below the "
                                 "number of particles %zu",
                                 e, i, j, N);
        }
        if (g->n_pairs > 0 && N > ((size_t)1 << 32))
            return hrf_error(HRF_ETOOBIG, "at most 2^32 particles");
    } else if (!(g->cutoff > 0.0 && isfinite(g->cutoff))) {
        return hrf_error(HRF_EDATA, "the system has neither pairs (bonds) nor a positive cutoff");
    }
    if (!(g->box >= 0.0 && isfinite(g->box)))
        return hrf_error(HRF_EDATA, "the periodic box side must be finite and >= 0");
    if (!g->pairs && g->box > 0.0 && g->cutoff > 0.5 * g->box)
        return hrf_error(HRF_EDATA,
                         "cutoff %g exceeds half the periodic box %g (minimum image would miss "
                         "pairs)",
                         g->cutoff, g->box);
    return HRF_OK;
}

int hrf_hgn_graph_pairs(const hrf_hgn_graph *g, size_t N, int D, const double *q, uint32_t **pairs,
                        size_t *n_pairs) {
    *pairs = NULL, *n_pairs = 0;
    if (D < 1 || D > 3) return hrf_error(HRF_EINVAL, "dimension must be 1, 2 or 3, got %d", D);
    int rc = hgn_check_graph(g, N);
    if (rc) return rc;
    hgn_pair_buf b = {0};
    if (g->pairs) {
        b.p = malloc((g->n_pairs ? 2 * g->n_pairs : 2) * sizeof *b.p);
        if (!b.p) return hrf_error(HRF_ENOMEM, "out of memory");
        memcpy(b.p, g->pairs, 2 * g->n_pairs * sizeof *b.p);
        b.n = g->n_pairs;
    } else if ((rc = cutoff_pairs(g, N, D, q, &b))) {
        free(b.p);
        return rc;
    }
    *pairs = b.p, *n_pairs = b.n;
    return HRF_OK;
}
