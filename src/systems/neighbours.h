/* Private: the one neighbour search of the particle systems (Lennard-Jones
 * forces and pair lists, src/systems/particles.c) and the graph network
 * (cutoff pair lists and pair geometry, src/hgn/): the minimum image in a
 * periodic cube of side L, wrapping into [0, L), and cell lists in D = 1, 2
 * or 3 dimensions (docs/math.md §10).
 *
 * A cell list cuts the box into nc cells of side L/nc per axis and sorts the
 * particles by cell with a stable counting sort: the particles of cell c sit
 * in slots start[c] .. start[c+1]−1 in ascending index order, so the order is
 * a function of the positions only. Cell (c_0, .., c_{D−1}) is number
 * Σ_a c_a nc^(D−1−a): cells along the last axis are adjacent in memory.
 *
 * The cells fix nothing about the order in which pairs are visited: each
 * user chooses its number of cells and reach and walks the cells in its own
 * order, since that order fixes floating-point sums and so the bits of every
 * force, data and model file (they stay reproducible across versions). */
#ifndef HAMRF_SRC_NEIGHBOURS_H
#define HAMRF_SRC_NEIGHBOURS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

/* Slots of padding after the N slots of order and x: vector loops may load 4
 * slots from any slot below N. The padding holds zeros. */
#define HRF_NBR_PAD 4

typedef struct hrf_nbr {
    int D;           /* 1, 2 or 3 */
    int R;           /* reach: a particle's neighbours lie within ±R cells per axis */
    double L;        /* the periodic cube's side */
    size_t N;        /* particles */
    size_t nc;       /* cells per side, at least 2R + 1 (so the ±R cells are distinct) */
    size_t ncells;   /* nc^D */
    size_t *start;   /* (ncells + 1) first slot of each cell */
    size_t *fill;    /* (ncells) insertion cursor of the counting sort */
    uint32_t *cell;  /* (N) cell of particle i */
    uint32_t *order; /* (N + PAD) particle in slot k */
    double *x[3];    /* (N + PAD) wrapped coordinate a of slot k, axes a < D (others NULL) */
} hrf_nbr;

/* The slots [m0, m1) of a run of neighbour cells and the periodic shift to
 * add to their wrapped positions (±L or 0 per axis, 0 beyond D) so that
 * x_k − (x_m + sh) is the displacement to the image within reach. */
typedef struct hrf_nbr_range {
    size_t m0, m1;
    double sh[3];
} hrf_nbr_range;

/* Most ranges hrf_nbr_ranges returns: 3 (2R+1)^(D−1) for R ≤ 2. */
#define HRF_NBR_MAX_RANGES 75

/* Minimum-image component of a displacement in a periodic cube of side L
 * (L ≤ 0: an open system, d itself). */
static inline double hrf_nbr_min_image(double d, double L) {
    return L > 0.0 ? d - L * nearbyint(d / L) : d;
}

/* The minimum image of a displacement vector d (D components), in place. */
static inline void hrf_nbr_min_image_vec(double *d, int D, double L) {
    for (int a = 0; a < D; a++)
        d[a] = hrf_nbr_min_image(d[a], L);
}

/* |q_i − q_j|² under the minimum image (L ≤ 0: open). */
static inline double hrf_nbr_dist2(int D, const double *qi, const double *qj, double L) {
    double s = 0.0;
    for (int a = 0; a < D; a++) {
        const double d = hrf_nbr_min_image(qi[a] - qj[a], L);
        s += d * d;
    }
    return s;
}

/* x wrapped into [0, L) (L > 0). */
static inline double hrf_nbr_wrap(double x, double L) {
    const double w = x - L * floor(x / L);
    /* x slightly below 0 rounds to L; a negative subnormal x (x/L = −0)
     * stays below 0: both become 0 */
    return w >= L ? w - L : w < 0.0 ? 0.0 : w;
}

/* The number of cell (c_0, .., c_{D−1}), each c_a taken modulo nc (so
 * c_a = −1 is the last cell: periodic neighbours). */
static inline size_t hrf_nbr_cell_at(const hrf_nbr *g, const long *ca) {
    const long nc = (long)g->nc;
    size_t c = 0;
    for (int a = 0; a < g->D; a++)
        c = c * g->nc + (size_t)(((ca[a] % nc) + nc) % nc);
    return c;
}

/* Largest n with L/n ≥ len (cells at least len wide); 0 if none. */
size_t hrf_nbr_cells_fitting(double L, double len);

/* A cell list of N particles in D dimensions, nc cells per side of a
 * periodic cube of side L > 0, reach R = 1 or 2 with nc ≥ 2R + 1 (for a
 * cutoff rc the cells must be at least rc/R wide: the caller's choice).
 * HRF_EINVAL for other arguments, HRF_ETOOBIG beyond 2^32 − 1 particles or
 * cells, HRF_ENOMEM. */
int hrf_nbr_init(hrf_nbr *g, size_t N, int D, double L, size_t nc, int R);

/* Releases g's arrays (NULL-safe, and safe on a zeroed or failed g). */
void hrf_nbr_free(hrf_nbr *g);

/* Sorts the positions q (N, D), wrapped into [0, L), into cells. tmp: NULL,
 * or N·D doubles of scratch, to wrap each coordinate once instead of twice. */
void hrf_nbr_build(hrf_nbr *g, const double *q, double *tmp);

/* The slot ranges of the (2R+1)^D cells within ±R of cell c, with their
 * shifts: cells adjacent along the last axis share one shift unless that
 * axis wraps, so each line of cells along it gives one range, or up to three
 * where it wraps (in the order: wrapped from below, from above, inside).
 * Lines come in lexicographic order of the other axes' offsets −R..R.
 * Empty ranges are left out. Returns their number (≤ HRF_NBR_MAX_RANGES). */
int hrf_nbr_ranges(const hrf_nbr *g, size_t c, hrf_nbr_range *r);

/* Half of the stencil of hrf_nbr_ranges, so that each pair of cells within
 * reach is met from one of its two cells only: the cells whose offset from
 * c, (d_0, .., d_{D−1}) in −R..R, is lexicographically ≥ 0. When c holds
 * particles, the first range starts at c's first slot, shift 0: a caller
 * scanning c's slot k starts it at k + 1, so that the pairs within c are met
 * once too. Empty ranges are left out. Returns their
 * number (≤ HRF_NBR_MAX_RANGES). */
int hrf_nbr_ranges_half(const hrf_nbr *g, size_t c, hrf_nbr_range *r);

/* All pairs (i < j, sorted by i then j) of N particles at q (N, 3) in a
 * periodic cube of side box closer than cutoff (box > 2 cutoff): the cell
 * search of the particle systems (vectorised, threaded for large N; all pairs
 * when the box is under 3 cells wide). *pairs malloc'd (n, 2), caller frees.
 * (particles_forces.c) */
int hrf_nbr_cutoff_pairs(size_t N, double box, double cutoff, const double *q, uint32_t **pairs,
                         size_t *n_pairs);
/* The same pairs grouped by i (all of i's partners j > i together, i in cell
 * order, j in search order) but not sorted: one pass of the search when it
 * runs on one thread (the sorted two-pass search otherwise). */
int hrf_nbr_cutoff_pairs_grouped(size_t N, double box, double cutoff, const double *q,
                                 uint32_t **pairs, size_t *n_pairs);

#endif
