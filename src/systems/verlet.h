/* Private: Verlet pair lists (docs/math.md §10, "Verlet lists"), shared by
 * the MD of the analytic cutoff systems (src/systems/particles_md.c) and the
 * graph network's tabulated field (src/hgn/hgn_verlet.c).
 *
 * A list holds the pairs closer than rc + skin at the positions qref of its
 * last search and is searched again only when some particle has moved more
 * than skin/2 from qref. Two particles then approach by at most skin in all,
 * so every pair closer than rc at the current positions is in the list; the
 * user drops the listed pairs beyond rc. Positions are compared unwrapped:
 * a particle wrapped into the box by its owner counts as moved (a new search). */
#ifndef HAMRF_SRC_VERLET_H
#define HAMRF_SRC_VERLET_H

#include <stddef.h>
#include <stdint.h>

/* A pair search: the pairs (i < j) of N particles at q (N, D) closer than
 * reach, malloc'd into *pairs (n, 2) (caller frees); HRF_OK or an error. */
typedef int (*hrf_vlist_search)(void *ctx, size_t N, int D, const double *q, double reach,
                                uint32_t **pairs, size_t *n_pairs);

typedef struct hrf_vlist {
    size_t N;
    int D;
    double skin;     /* the skin of the last search (may be below the one asked for) */
    double *qref;    /* (N·D) positions at the last search, NULL before the first */
    uint32_t *pairs; /* (n, 2) pairs i < j closer than cutoff + skin at qref */
    size_t n;
    size_t builds; /* searches so far */
} hrf_vlist;

/* The skin a periodic box of side `box` (0: open) leaves for a cutoff: the
 * search's minimum image needs box > 2 (cutoff + skin), so a skin that does
 * not fit becomes 0.999 (box/2 − cutoff); negative or NaN skins become 0. */
double hrf_vlist_skin(double box, double cutoff, double skin);

/* Brings v up to date for positions q (N, D): keeps the list when every
 * particle is within skin/2 of qref (and N, D and the effective skin are
 * those of the last search), otherwise searches again within cutoff + skin
 * (skin reduced by hrf_vlist_skin; 0 searches at every call). search NULL:
 * the particle systems' cell search (hrf_nbr_cutoff_pairs_grouped: D = 3,
 * box > 0; pairs grouped by i). v zeroed before the first call. HRF_OK, or
 * the search's error (v then searches again next time). */
int hrf_vlist_update(hrf_vlist *v, size_t N, int D, double box, double cutoff, double skin,
                     const double *q, hrf_vlist_search search, void *ctx);

/* Releases v's arrays and zeroes it (NULL-safe). */
void hrf_vlist_free(hrf_vlist *v);

#endif
