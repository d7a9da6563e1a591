/* Tests of the neighbour search shared by the particle systems and the graph
 * network (src/systems/neighbours.h; docs/math.md §10): minimum image, wrap
 * and cell counts against hand computations; the cell lists in D = 1, 2, 3
 * (reach 1 and 2, boxes from the smallest 2R + 1 cells wide to dilute ones,
 * particles outside [0, L) and exactly on cell faces and on the box's
 * boundary) against a brute-force O(N²) minimum-image search written here;
 * the half stencil (each pair from one end) against that search too;
 * the graph network's pair list against that search and, order included,
 * against its original linked-list cell search (written here again: the
 * order fixes the bits of every model file); the all-pairs fallback of boxes
 * too small for cells; and the Lennard-Jones pair list on its smallest grid. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hamrf/hgn.h"
#include "hamrf/particles.h"
#include "hamrf/rng.h"
#include "hamrf/status.h"
#include "systems/neighbours.h"

/* The displacement found through a cell's shift and the minimum image of the
 * raw positions differ by the rounding of wrapping (a few ulps of L). */
#define IMAGE_TOL 1e-12

static int verbose(void) {
    return getenv("HRF_TEST_VERBOSE") != NULL;
}

static int cmp_pair(const void *a, const void *b) {
    const uint32_t *x = a, *y = b;
    if (x[0] != y[0]) return x[0] < y[0] ? -1 : 1;
    return (x[1] > y[1]) - (x[1] < y[1]);
}

/* All pairs i < j closer than rc, lexicographic; the minimum image written
 * out here with round() (L = 0: open). Returns their number; out holds N². */
static size_t brute_pairs(size_t N, int D, const double *q, double L, double rc, uint32_t *out) {
    size_t n = 0;
    for (size_t i = 0; i < N; i++)
        for (size_t j = i + 1; j < N; j++) {
            double s = 0.0;
            for (int a = 0; a < D; a++) {
                double d = q[i * D + a] - q[j * D + a];
                if (L > 0.0) d -= L * round(d / L);
                s += d * d;
            }
            if (s < rc * rc) out[2 * n] = (uint32_t)i, out[2 * n + 1] = (uint32_t)j, n++;
        }
    return n;
}

/* ---- hand computations ---- */

static void test_min_image(void **state) {
    (void)state;
    /* L = 10: the nearest image; halves round to even (nearbyint). */
    const double d[] = {6.0, -6.0, 4.5, -4.5, 15.0, 25.0, 5.0, -5.0, 0.0, 31.0, -29.0};
    const double want[] = {-4.0, 4.0, 4.5, -4.5, -5.0, 5.0, 5.0, -5.0, 0.0, 1.0, 1.0};
    for (size_t t = 0; t < sizeof d / sizeof d[0]; t++)
        assert_true(hrf_nbr_min_image(d[t], 10.0) == want[t]);
    /* Open system (L = 0): unchanged. */
    assert_true(hrf_nbr_min_image(123.25, 0.0) == 123.25);
    double v[3] = {7.0, -2.5, 12.0};
    hrf_nbr_min_image_vec(v, 3, 10.0);
    assert_true(v[0] == -3.0 && v[1] == -2.5 && v[2] == 2.0);
    double w[2] = {7.0, -12.0};
    hrf_nbr_min_image_vec(w, 2, 0.0);
    assert_true(w[0] == 7.0 && w[1] == -12.0);
    /* (1, 1, 1) − (9, 9, 9.5) in L = 10: (2, 2, 1.5), |d|² = 10.25. */
    const double qi[3] = {1.0, 1.0, 1.0}, qj[3] = {9.0, 9.0, 9.5};
    assert_true(hrf_nbr_dist2(3, qi, qj, 10.0) == 10.25);
    assert_true(hrf_nbr_dist2(1, qi, qj, 10.0) == 4.0);
    assert_true(hrf_nbr_dist2(2, qi, qj, 0.0) == 128.0);
    /* The particle system's minimum image is the same (box 0: bonded, none). */
    hrf_psystem *s = NULL;
    assert_int_equal(hrf_psystem_lj_new(108, 0.8442, NULL, &s), HRF_OK);
    const double L = hrf_psystem_box(s);
    double e[3] = {0.75 * L, -0.75 * L, 0.25 * L};
    hrf_psystem_min_image(s, e);
    assert_true(e[0] == 0.75 * L - L && e[1] == L - 0.75 * L && e[2] == 0.25 * L);
    hrf_psystem_free(s);
}

static void test_wrap_and_counts(void **state) {
    (void)state;
    assert_true(hrf_nbr_wrap(-0.5, 10.0) == 9.5);
    assert_true(hrf_nbr_wrap(10.0, 10.0) == 0.0);
    assert_true(hrf_nbr_wrap(-10.0, 10.0) == 0.0);
    assert_true(hrf_nbr_wrap(25.0, 10.0) == 5.0);
    assert_true(hrf_nbr_wrap(0.0, 10.0) == 0.0);
    assert_true(hrf_nbr_wrap(9.75, 10.0) == 9.75);
    /* −1e−300 + 10 rounds to 10 = L: wrapped to 0, never L. */
    assert_true(hrf_nbr_wrap(-1e-300, 10.0) == 0.0);
    assert_true(hrf_nbr_wrap(nextafter(0.0, -1.0), 10.0) == 0.0);
    assert_true(hrf_nbr_wrap(nextafter(10.0, 0.0), 10.0) < 10.0);
    /* Cells at least len wide. 1.7/0.1 rounds to 17, but 1.7/17 < 0.1. */
    assert_int_equal(hrf_nbr_cells_fitting(10.0, 2.5), 4);
    assert_int_equal(hrf_nbr_cells_fitting(10.0, 3.0), 3);
    assert_int_equal(hrf_nbr_cells_fitting(10.0, 11.0), 0);
    assert_int_equal(hrf_nbr_cells_fitting(1.7, 0.1), 16);
    /* Cell numbers: the last axis is contiguous, coordinates modulo nc. */
    hrf_nbr g;
    assert_int_equal(hrf_nbr_init(&g, 4, 3, 10.0, 5, 2), HRF_OK);
    assert_int_equal(g.ncells, 125);
    const long a[3] = {1, 2, 3}, b[3] = {-1, 5, -6};
    assert_int_equal(hrf_nbr_cell_at(&g, a), (1 * 5 + 2) * 5 + 3);
    assert_int_equal(hrf_nbr_cell_at(&g, b), (4 * 5 + 0) * 5 + 4);
    hrf_nbr_free(&g);
    hrf_nbr_free(&g); /* zeroed: safe */
    hrf_nbr_free(NULL);
}

static void test_bad_arguments(void **state) {
    (void)state;
    hrf_nbr g;
    assert_int_equal(hrf_nbr_init(&g, 10, 0, 10.0, 5, 1), HRF_EINVAL);
    assert_int_equal(hrf_nbr_init(&g, 10, 4, 10.0, 5, 1), HRF_EINVAL);
    assert_int_equal(hrf_nbr_init(&g, 10, 3, 0.0, 5, 1), HRF_EINVAL);
    assert_int_equal(hrf_nbr_init(&g, 10, 3, NAN, 5, 1), HRF_EINVAL);
    assert_int_equal(hrf_nbr_init(&g, 10, 3, INFINITY, 5, 1), HRF_EINVAL);
    assert_int_equal(hrf_nbr_init(&g, 10, 3, 10.0, 5, 0), HRF_EINVAL);
    assert_int_equal(hrf_nbr_init(&g, 10, 3, 10.0, 7, 3), HRF_EINVAL);
    assert_int_equal(hrf_nbr_init(&g, 10, 3, 10.0, 2, 1), HRF_EINVAL); /* < 2R + 1 */
    assert_int_equal(hrf_nbr_init(&g, 10, 3, 10.0, 4, 2), HRF_EINVAL);
    assert_int_equal(hrf_nbr_init(&g, 10, 3, 10.0, 2000, 1), HRF_ETOOBIG); /* 8e9 cells */
    hrf_nbr_free(&g);
}

/* ---- cell lists against all pairs ---- */

/* Positions: 0 uniform in [0, L); 1 uniform in [−L, 2L) (wrapping); 2 each
 * coordinate either on a cell face k·L/nc (k = −nc..2nc) or uniform, and
 * some particles exactly on 0, L, −L, 2L or an ulp off them. */
static void positions(hrf_rng *rng, int mode, size_t N, int D, double L, size_t nc, double *q) {
    const double edge[] = {
        0.0, L, -L, 2.0 * L, nextafter(0.0, -1.0), nextafter(L, 0.0), nextafter(L, 2.0 * L), -0.0};
    for (size_t t = 0; t < N * (size_t)D; t++) {
        if (mode == 0)
            q[t] = hrf_rng_uniform_range(rng, 0.0, L);
        else if (mode == 1)
            q[t] = hrf_rng_uniform_range(rng, -L, 2.0 * L);
        else if (hrf_rng_uniform(rng) < 0.5)
            q[t] = (double)((long)hrf_rng_below(rng, 3 * nc + 1) - (long)nc) * (L / (double)nc);
        else
            q[t] = hrf_rng_uniform_range(rng, 0.0, L);
    }
    if (mode == 2)
        for (size_t i = 0; i < N && i < 8; i++)
            for (int a = 0; a < D; a++)
                q[i * D + a] = edge[(i + (size_t)a) % 8];
}

/* Slot bookkeeping of a built list: a stable permutation, wrapped positions
 * in [0, L), each particle in the cell its wrapped position lies in. */
static void check_slots(const hrf_nbr *g, const double *q) {
    const size_t N = g->N, nc = g->nc;
    const int D = g->D;
    const double L = g->L, side = L / (double)nc;
    assert_int_equal(g->start[0], 0);
    assert_int_equal(g->start[g->ncells], N);
    char *seen = calloc(N + 1, 1);
    for (size_t c = 0; c < g->ncells; c++) {
        size_t u = c;
        long ca[3] = {0, 0, 0};
        for (int a = D - 1; a >= 0; a--)
            ca[a] = (long)(u % nc), u /= nc;
        assert_int_equal(hrf_nbr_cell_at(g, ca), c);
        for (size_t k = g->start[c]; k < g->start[c + 1]; k++) {
            const uint32_t i = g->order[k];
            assert_true(i < N && !seen[i]);
            seen[i] = 1;
            if (k > g->start[c]) assert_true(g->order[k - 1] < i); /* stable */
            for (int a = 0; a < D; a++) {
                const double x = g->x[a][k];
                assert_true(x == hrf_nbr_wrap(q[i * D + a], L));
                assert_true(x >= 0.0 && x < L);
                assert_true(x >= (double)ca[a] * side - IMAGE_TOL * L);
                assert_true(x <= (double)(ca[a] + 1) * side + IMAGE_TOL * L);
            }
        }
    }
    free(seen);
}

/* Every pair closer than rc through the ranges of each cell, both ends of a
 * pair each once; the shifted displacement is the minimum image. Returns the
 * pairs i < j, sorted, in out. */
static size_t range_pairs(const hrf_nbr *g, const double *q, double rc, uint32_t *out, size_t cap) {
    const int D = g->D;
    const double L = g->L;
    size_t n = 0, n_ordered = 0;
    uint32_t *mark = calloc(g->N + 1, sizeof *mark); /* last slot stamp per slot */
    for (size_t c = 0; c < g->ncells; c++) {
        hrf_nbr_range rg[HRF_NBR_MAX_RANGES];
        const int nr = hrf_nbr_ranges(g, c, rg);
        assert_true(nr >= 1 || g->start[c] == g->start[c + 1] || g->N == 0);
        assert_true(nr <= HRF_NBR_MAX_RANGES);
        /* The ranges are disjoint and hold the slots of the (2R+1)^D cells. */
        size_t want = 0, got = 0;
        long ca[3] = {0, 0, 0}, cb[3] = {0, 0, 0};
        size_t u = c;
        for (int a = D - 1; a >= 0; a--)
            ca[a] = (long)(u % g->nc), u /= g->nc;
        size_t nst = 1;
        for (int a = 0; a < D; a++)
            nst *= (size_t)(2 * g->R + 1);
        for (size_t s = 0; s < nst; s++) {
            size_t v = s;
            for (int a = 0; a < D; a++)
                cb[a] = ca[a] + (long)(v % (size_t)(2 * g->R + 1)) - g->R,
                v /= (size_t)(2 * g->R + 1);
            const size_t c2 = hrf_nbr_cell_at(g, cb);
            want += g->start[c2 + 1] - g->start[c2];
        }
        for (int b = 0; b < nr; b++) {
            assert_true(rg[b].m0 < rg[b].m1 && rg[b].m1 <= g->N);
            for (size_t m = rg[b].m0; m < rg[b].m1; m++) {
                assert_true(mark[m] != c + 1);
                mark[m] = (uint32_t)(c + 1), got++;
            }
            for (int a = 0; a < 3; a++)
                assert_true(rg[b].sh[a] == 0.0 || (a < D && fabs(rg[b].sh[a]) == L));
        }
        assert_int_equal(got, want);
        for (size_t k = g->start[c]; k < g->start[c + 1]; k++) {
            const uint32_t i = g->order[k];
            for (int b = 0; b < nr; b++)
                for (size_t m = rg[b].m0; m < rg[b].m1; m++) {
                    if (m == k) continue;
                    const uint32_t j = g->order[m];
                    double d[3], r2 = 0.0;
                    for (int a = 0; a < D; a++) {
                        d[a] = (g->x[a][k] - g->x[a][m]) - rg[b].sh[a];
                        r2 += d[a] * d[a];
                    }
                    if (!(r2 < rc * rc)) continue;
                    for (int a = 0; a < D; a++) {
                        const double e = hrf_nbr_min_image(q[i * D + a] - q[j * D + a], L);
                        assert_true(fabs(d[a] - e) <= IMAGE_TOL * L);
                    }
                    n_ordered++;
                    if (i < j) {
                        assert_true(n < cap);
                        out[2 * n] = i, out[2 * n + 1] = j, n++;
                    }
                }
        }
    }
    free(mark);
    assert_int_equal(n_ordered, 2 * n); /* each pair from both ends */
    qsort(out, n, 2 * sizeof *out, cmp_pair);
    for (size_t e = 1; e < n; e++) /* and only once from each */
        assert_true(cmp_pair(out + 2 * (e - 1), out + 2 * e) < 0);
    return n;
}

/* The half stencil (hrf_nbr_ranges_half): every pair closer than rc from
 * one of its ends only, c's own slots first (from k + 1 on), the shifted
 * displacement the minimum image. Returns the pairs i < j, sorted, in out. */
static size_t half_range_pairs(const hrf_nbr *g, const double *q, double rc, uint32_t *out,
                               size_t cap) {
    const int D = g->D;
    const double L = g->L;
    size_t n = 0;
    for (size_t c = 0; c < g->ncells; c++) {
        if (g->start[c] == g->start[c + 1]) continue;
        hrf_nbr_range rg[HRF_NBR_MAX_RANGES];
        const int nr = hrf_nbr_ranges_half(g, c, rg);
        assert_true(nr >= 1 && nr <= HRF_NBR_MAX_RANGES);
        assert_true(rg[0].m0 == g->start[c] && rg[0].m1 >= g->start[c + 1]);
        for (int a = 0; a < 3; a++)
            assert_true(rg[0].sh[a] == 0.0);
        for (size_t k = g->start[c]; k < g->start[c + 1]; k++) {
            const uint32_t i = g->order[k];
            for (int b = 0; b < nr; b++)
                for (size_t m = b ? rg[b].m0 : k + 1; m < rg[b].m1; m++) {
                    const uint32_t j = g->order[m];
                    double d[3], r2 = 0.0;
                    for (int a = 0; a < D; a++) {
                        d[a] = (g->x[a][k] - g->x[a][m]) - rg[b].sh[a];
                        r2 += d[a] * d[a];
                    }
                    if (!(r2 < rc * rc)) continue;
                    for (int a = 0; a < D; a++) {
                        const double e = hrf_nbr_min_image(q[i * D + a] - q[j * D + a], L);
                        assert_true(fabs(d[a] - e) <= IMAGE_TOL * L);
                    }
                    assert_true(n < cap && i != j);
                    out[2 * n] = i < j ? i : j, out[2 * n + 1] = i < j ? j : i, n++;
                }
        }
    }
    qsort(out, n, 2 * sizeof *out, cmp_pair);
    for (size_t e = 1; e < n; e++) /* each pair once */
        assert_true(cmp_pair(out + 2 * (e - 1), out + 2 * e) < 0);
    return n;
}

static void test_cells_vs_brute(void **state) {
    (void)state;
    hrf_rng rng;
    hrf_rng_seed(&rng, 21);
    /* Box sides in cutoffs: the smallest grid (2R + 1 cells), a little
     * more, and dilute boxes with many cells per particle. */
    const double ratios[2][4] = {{3.37, 4.61, 7.3, 20.3}, {2.57, 3.43, 5.9, 12.7}};
    size_t checked = 0, total = 0;
    for (int D = 1; D <= 3; D++)
        for (int R = 1; R <= 2; R++)
            for (int t = 0; t < 4; t++)
                for (int mode = 0; mode < 3; mode++) {
                    const double rc = 1.1, L = ratios[R - 1][t] * rc;
                    const size_t nc = hrf_nbr_cells_fitting(L, rc / R);
                    assert_true(nc >= (size_t)(2 * R + 1));
                    if (t == 0) assert_int_equal(nc, 2 * R + 1);
                    /* 4 particles per rc^D (a liquid), dilute boxes 0.05 */
                    const double vol = pow(L / rc, D);
                    size_t N = (size_t)(t == 3 ? 0.05 * vol : 4.0 * vol) + 3;
                    if (N > 1500) N = 1500;
                    double *q = malloc(N * D * sizeof *q);
                    positions(&rng, mode, N, D, L, nc, q);
                    hrf_nbr g;
                    assert_int_equal(hrf_nbr_init(&g, N, D, L, nc, R), HRF_OK);
                    hrf_nbr_build(&g, q, NULL);
                    check_slots(&g, q);
                    uint32_t *ref = malloc(N * N * sizeof *ref), *got = malloc(N * N * sizeof *got);
                    const size_t nb = brute_pairs(N, D, q, L, rc, ref);
                    const size_t ng = range_pairs(&g, q, rc, got, N * N / 2);
                    assert_int_equal(ng, nb);
                    assert_memory_equal(got, ref, 2 * nb * sizeof *ref);
                    assert_int_equal(half_range_pairs(&g, q, rc, got, N * N / 2), nb);
                    assert_memory_equal(got, ref, 2 * nb * sizeof *ref);
                    /* building again over the same list, with scratch, gives the
                     * same slots and positions */
                    uint32_t *order = malloc(N * sizeof *order);
                    double *x0 = malloc(N * sizeof *x0), *tmp = malloc(N * D * sizeof *tmp);
                    memcpy(order, g.order, N * sizeof *order);
                    memcpy(x0, g.x[D - 1], N * sizeof *x0);
                    hrf_nbr_build(&g, q, tmp);
                    assert_memory_equal(order, g.order, N * sizeof *order);
                    assert_memory_equal(x0, g.x[D - 1], N * sizeof *x0);
                    free(x0), free(tmp);
                    if (verbose())
                        print_message("D=%d R=%d L/rc=%.2f nc=%zu mode %d N=%zu pairs %zu\n", D, R,
                                      L / rc, nc, mode, N, nb);
                    checked++, total += nb;
                    free(order), free(ref), free(got), free(q);
                    hrf_nbr_free(&g);
                }
    assert_int_equal(checked, 72);
    assert_true(total > 1000); /* the cases exercise interactions */
}

/* ---- the graph network's pair list ---- */

/* The graph network's pair search as it was written before the shared
 * module (a linked list per cell, heads pushed in ascending index order so
 * each cell is walked in descending order; cells and their 3^D neighbours
 * with axis 0 fastest), for random positions, where its cell rounding and
 * the module's agree. Returns the number of pairs written to out. */
static size_t linked_list_pairs(size_t N, int D, const double *q, double L, double rc,
                                uint32_t *out) {
    size_t nc = (size_t)floor(L / rc);
    while (nc > 3 && pow((double)nc, D) > 2.0 * (double)N + 27.0)
        nc--;
    if (nc < 3) return brute_pairs(N, D, q, L, rc, out);
    size_t ncell = 1, nst = 1, n = 0;
    for (int a = 0; a < D; a++)
        ncell *= nc, nst *= 3;
    size_t *head = malloc(ncell * sizeof *head), *next = malloc(N * sizeof *next);
    const size_t NONE = (size_t)-1;
    for (size_t c = 0; c < ncell; c++)
        head[c] = NONE;
    for (size_t i = 0; i < N; i++) {
        size_t c = 0;
        for (int a = D - 1; a >= 0; a--) {
            double x = q[i * D + a] - L * floor(q[i * D + a] / L);
            size_t ca = (size_t)(x / L * (double)nc);
            c = c * nc + (ca >= nc ? nc - 1 : ca);
        }
        next[i] = head[c], head[c] = i;
    }
    for (size_t c = 0; c < ncell; c++) {
        size_t ca[3] = {0, 0, 0}, t = c;
        for (int a = 0; a < D; a++)
            ca[a] = t % nc, t /= nc;
        for (size_t s = 0; s < nst; s++) {
            size_t u = s, c2 = 0, mul = 1;
            for (int a = 0; a < D; a++) {
                long off = (long)(u % 3) - 1;
                u /= 3;
                c2 += (size_t)(((long)ca[a] + off + (long)nc) % (long)nc) * mul;
                mul *= nc;
            }
            for (size_t i = head[c]; i != NONE; i = next[i])
                for (size_t j = head[c2]; j != NONE; j = next[j]) {
                    if (i >= j) continue;
                    double s2 = 0.0;
                    for (int a = 0; a < D; a++) {
                        double d = q[i * D + a] - q[j * D + a];
                        d -= L * nearbyint(d / L);
                        s2 += d * d;
                    }
                    if (s2 < rc * rc) out[2 * n] = (uint32_t)i, out[2 * n + 1] = (uint32_t)j, n++;
                }
        }
    }
    free(head), free(next);
    return n;
}

static void test_graph_pairs(void **state) {
    (void)state;
    hrf_rng rng;
    hrf_rng_seed(&rng, 34);
    /* (D, N, L/rc): 3 cells wide, more, dilute (the cell count capped near
     * 2 per particle), below 3 cells (all pairs), and an open system. */
    const struct {
        int D;
        size_t N;
        double ratio;
    } cases[] = {{1, 40, 3.3},   {1, 300, 41.7}, {1, 20, 95.0}, {1, 30, 2.6}, {2, 60, 3.2},
                 {2, 500, 9.4},  {2, 60, 30.5},  {2, 50, 2.2},  {3, 90, 3.4}, {3, 1200, 7.7},
                 {3, 100, 16.2}, {3, 80, 2.9},   {2, 100, 0.0}, {3, 60, 0.0}};
    size_t total = 0;
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        const int D = cases[t].D;
        const size_t N = cases[t].N;
        const double rc = 1.3, L = cases[t].ratio * rc;
        double *q = malloc(N * D * sizeof *q);
        for (size_t k = 0; k < N * (size_t)D; k++) /* wrapping; open: a blob */
            q[k] = L > 0.0 ? hrf_rng_uniform_range(&rng, -0.5 * L, 1.5 * L)
                           : hrf_rng_uniform_range(&rng, 0.0, 2.0 * rc * cbrt((double)N));
        hrf_hgn_graph g = {NULL, 0, L, rc};
        uint32_t *pairs = NULL;
        size_t E = 0;
        assert_int_equal(hrf_hgn_graph_pairs(&g, N, D, q, &pairs, &E), HRF_OK);
        uint32_t *ref = malloc((N * N + 2) * sizeof *ref);
        /* the same order as ever */
        const size_t nl = linked_list_pairs(N, D, q, L, rc, ref);
        assert_int_equal(E, nl);
        assert_memory_equal(pairs, ref, 2 * E * sizeof *ref);
        /* the same set as all pairs */
        const size_t nb = brute_pairs(N, D, q, L, rc, ref);
        qsort(pairs, E, 2 * sizeof *pairs, cmp_pair);
        assert_int_equal(E, nb);
        assert_memory_equal(pairs, ref, 2 * E * sizeof *ref);
        if (verbose()) print_message("D=%d N=%zu L/rc=%.1f pairs %zu\n", D, N, L / rc, E);
        total += E;
        free(pairs), free(ref), free(q);
    }
    assert_true(total > 1000); /* the cases exercise interactions */
}

/* ---- the Lennard-Jones pair list ---- */

static void test_lj_pairs(void **state) {
    (void)state;
    hrf_rng rng;
    hrf_rng_seed(&rng, 55);
    /* 256 particles: 5 cells of rc/2 per side (the smallest reach-2 grid);
     * 108: too few cells, all pairs. */
    const size_t Ns[2] = {256, 108};
    for (int t = 0; t < 2; t++) {
        const size_t N = Ns[t];
        hrf_psystem *s = NULL;
        assert_int_equal(hrf_psystem_lj_new(N, 0.8442, NULL, &s), HRF_OK);
        const double L = hrf_psystem_box(s), rc = hrf_psystem_cutoff(s);
        double *q = malloc(N * 3 * sizeof *q);
        for (size_t k = 0; k < 3 * N; k++)
            q[k] = hrf_rng_uniform_range(&rng, -L, 2.0 * L);
        q[0] = 0.0, q[1] = L, q[2] = -L; /* on the boundary */
        uint32_t *pairs = NULL, *ref = malloc(N * N * sizeof *ref);
        size_t E = 0;
        assert_int_equal(hrf_psystem_pairs(s, q, &pairs, &E), HRF_OK);
        const size_t nb = brute_pairs(N, 3, q, L, rc, ref);
        assert_int_equal(E, nb);
        assert_memory_equal(pairs, ref, 2 * E * sizeof *ref);
        assert_true(E > N);
        free(pairs), free(ref), free(q);
        hrf_psystem_free(s);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_min_image),     cmocka_unit_test(test_wrap_and_counts),
        cmocka_unit_test(test_bad_arguments), cmocka_unit_test(test_cells_vs_brute),
        cmocka_unit_test(test_graph_pairs),   cmocka_unit_test(test_lj_pairs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
