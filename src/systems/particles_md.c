/* Molecular dynamics of the analytic cutoff systems (Lennard-Jones) through
 * their vector field (hamrf/pfield.h): the forces over Verlet lists
 * (src/systems/verlet.h) with Newton's third law, docs/math.md §10 "MD of the
 * analytic systems".
 *
 * Each state of the field's batch keeps a list of the pairs (i < j) within
 * rc + skin, searched again only when a particle has moved skin/2. After a
 * search the list is regrouped: the partners j of each i, contiguous (a
 * group), and the groups cut into T chunks of about equal pair counts. Each
 * pair is computed once and its force added to both ends: chunk 0 into f,
 * chunk t > 0 into a buffer of its own, summed into f in the order t = 1, 2,
 * .. afterwards, so no two threads write the same force and the bits depend
 * on the list and T only (T = the OpenMP thread count for N ≥ PAR_MIN, else
 * 1). The data generation (hrf_psystem_verlet) keeps the cell-list forces of
 * particles_forces.c, whose bits do not depend on the thread count. */
#include "systems/particles_impl.h"

#include "hamrf/status.h"
#include "systems/neighbours.h"
#include "systems/verlet.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* The skin, as a fraction of the cutoff: LAMMPS's default 0.3σ at rc = 2.5σ
 * (as the graph network's tabulated field, hamrf/hgn_field.h). */
#define MD_SKIN 0.12
/* Below this many particles one thread (as particles_forces.c). */
#define PAR_MIN 2048

/* One state's list, regrouped (above), and the cells of its search. */
typedef struct md_list {
    hrf_vlist v;
    hrf_nbr nb;    /* nb.nc = 0: too few cells, all pairs */
    double *tmp;   /* (3N) the wrapped positions, scratch of the cells' build */
    double reach;  /* the reach nb was made for; 0: none yet */
    size_t built;  /* v.builds when the groups were made (0: never) */
    size_t G;      /* groups */
    uint32_t *gi;  /* (G) the particle i of group g */
    size_t *g0;    /* (G + 1) the first partner of group g in nbr; g0[G] = v.n */
    uint32_t *nbr; /* (v.n) the partners j, group after group */
    int T;         /* chunks (0: cut again) */
    size_t *cut;   /* (T + 1) the first group of chunk t */
    double *buf;   /* ((T − 1)·3N) the forces of chunks 1 .. T − 1 */
    int T_alloc;   /* the T that cut and buf are allocated for */
} md_list;

struct psys_md {
    size_t n;
    md_list *l; /* (n) */
};

static void list_free(md_list *l) {
    hrf_vlist_free(&l->v);
    hrf_nbr_free(&l->nb);
    free(l->tmp);
    free(l->gi), free(l->g0), free(l->nbr), free(l->cut), free(l->buf);
    memset(l, 0, sizeof *l);
}

void psys_md_free(struct psys_md *md) {
    if (!md) return;
    for (size_t k = 0; k < md->n; k++)
        list_free(&md->l[k]);
    free(md->l);
    free(md);
}

/* ---- the search: cells, each pair of cells from one end ---- */

#if defined(__GNUC__)
typedef double v4d __attribute__((vector_size(32)));
typedef long long v4l __attribute__((vector_size(32)));
#define V4(x) ((v4d){(x), (x), (x), (x)})
static inline v4d load4(const double *p) {
    v4d v;
    memcpy(&v, p, sizeof v);
    return v;
}
#endif

/* A growing pair list of one chunk of cells. */
typedef struct pbuf {
    uint32_t *p; /* (cap, 2) */
    size_t n, cap;
    int failed;
} pbuf;

static int pbuf_reserve(pbuf *b, size_t need) {
    if (need <= b->cap) return 0;
    size_t cap = b->cap ? 2 * b->cap : 4096;
    while (cap < need)
        cap *= 2;
    uint32_t *p = realloc(b->p, 2 * cap * sizeof *p);
    if (!p) return -1;
    b->p = p, b->cap = cap;
    return 0;
}

/* The partners of slot k closer than sqrt(r2max) in the half stencil's
 * ranges rg (the first, c's own, from slot k + 1 on): the pairs (i, j) are
 * written to out without branches (a lane's pair is always stored and kept
 * when it is within reach), so out needs room for one pair more than it
 * keeps. Reading up to 3 slots past a range is harmless (4 slots of padding). */
static size_t half_partners(const hrf_nbr *nb, size_t k, const hrf_nbr_range *rg, int nr,
                            double r2max, uint32_t *out) {
    const uint32_t i = nb->order[k], *O = nb->order;
    const double *X = nb->x[0], *Y = nb->x[1], *Z = nb->x[2];
    size_t cnt = 0;
    for (int b = 0; b < nr; b++) {
        const size_t m0 = b ? rg[b].m0 : k + 1, m1 = rg[b].m1;
#if defined(__GNUC__)
        const v4d xi = V4(X[k]), yi = V4(Y[k]), zi = V4(Z[k]), r2v = V4(r2max);
        const v4d sx = V4(rg[b].sh[0]), sy = V4(rg[b].sh[1]), sz = V4(rg[b].sh[2]);
        const v4l m1v = {(long long)m1, (long long)m1, (long long)m1, (long long)m1};
        v4l mv = {(long long)m0, (long long)m0 + 1, (long long)m0 + 2, (long long)m0 + 3};
        for (size_t m = m0; m < m1; m += 4, mv += 4) {
            const v4d dx = (xi - load4(X + m)) - sx, dy = (yi - load4(Y + m)) - sy,
                      dz = (zi - load4(Z + m)) - sz;
            const v4l in = ((dx * dx + dy * dy + dz * dz) < r2v) & (mv < m1v);
            for (int t = 0; t < 4; t++) {
                out[2 * cnt] = i, out[2 * cnt + 1] = O[m + (size_t)t];
                cnt += (size_t)(in[t] & 1);
            }
        }
#else
        for (size_t m = m0; m < m1; m++) {
            const double dx = (X[k] - X[m]) - rg[b].sh[0], dy = (Y[k] - Y[m]) - rg[b].sh[1],
                         dz = (Z[k] - Z[m]) - rg[b].sh[2];
            if (dx * dx + dy * dy + dz * dz < r2max)
                out[2 * cnt] = i, out[2 * cnt + 1] = O[m], cnt++;
        }
#endif
    }
    return cnt;
}

/* The pairs of cells [c0, c1) into b, cell after cell, slot after slot. */
static void search_cells(const hrf_nbr *nb, size_t c0, size_t c1, double r2max, pbuf *b) {
    for (size_t c = c0; c < c1 && !b->failed; c++) {
        const size_t k0 = nb->start[c], k1 = nb->start[c + 1];
        if (k0 == k1) continue;
        hrf_nbr_range rg[HRF_NBR_MAX_RANGES];
        const int nr = hrf_nbr_ranges_half(nb, c, rg);
        size_t cand = 0;
        for (int r = 0; r < nr; r++)
            cand += rg[r].m1 - rg[r].m0;
        if (pbuf_reserve(b, b->n + cand * (k1 - k0) + 1)) {
            b->failed = 1;
            break;
        }
        for (size_t k = k0; k < k1; k++)
            b->n += half_partners(nb, k, rg, nr, r2max, b->p + 2 * b->n);
    }
}

/* What the search of a list needs beside the positions. */
typedef struct search_ctx {
    const hrf_psystem *s;
    md_list *l;
    int T; /* threads: the cells in T chunks, each its own buffer */
} search_ctx;

/* The search of the analytic lists (hrf_vlist_search): every pair closer
 * than reach once, as (i, j) grouped by i (cell by cell; j > i or j < i),
 * each pair of cells met from one end (hrf_nbr_ranges_half), so half of the
 * candidates of a full scan; all pairs i < j where the box is under 2R + 1
 * cells wide. The chunks' lists are joined in cell order: the same list for
 * every T. */
static int half_search(void *vctx, size_t N, int D, const double *q, double reach, uint32_t **pairs,
                       size_t *n_pairs) {
    const search_ctx *sc = vctx;
    md_list *l = sc->l;
    const double L = sc->s->box, r2max = reach * reach;
    (void)D; /* 3 */
    *pairs = NULL, *n_pairs = 0;
    if (l->reach != reach) { /* the cells for this reach */
        hrf_nbr_free(&l->nb);
        free(l->tmp), l->tmp = NULL, l->reach = 0.0;
        size_t nc;
        int R, rc;
        psys_cells_setup(N, L, reach, &nc, &R);
        if (nc && (rc = hrf_nbr_init(&l->nb, N, 3, L, nc, R))) return rc;
        if (nc && !(l->tmp = malloc(3 * N * sizeof *l->tmp)))
            return hrf_error(HRF_ENOMEM, "out of memory for the cells of %zu particles", N);
        l->reach = reach;
    }
    const hrf_nbr *nb = &l->nb;
    const int T = nb->nc ? sc->T : 1;
    pbuf *b = calloc((size_t)T, sizeof *b);
    if (!b) return hrf_error(HRF_ENOMEM, "out of memory");
    if (nb->nc) {
        hrf_nbr_build(&l->nb, q, l->tmp);
        const size_t C = nb->ncells;
#pragma omp parallel for schedule(static, 1) num_threads(T) if (T > 1)
        for (int t = 0; t < T; t++)
            search_cells(nb, C * (size_t)t / (size_t)T, C * (size_t)(t + 1) / (size_t)T, r2max,
                         &b[t]);
    } else { /* a small box: all pairs, minimum image */
        for (size_t i = 0; i < N && !b->failed; i++)
            for (size_t j = i + 1; j < N; j++)
                if (hrf_nbr_dist2(3, q + 3 * i, q + 3 * j, L) < r2max) {
                    if (pbuf_reserve(b, b->n + 1)) {
                        b->failed = 1;
                        break;
                    }
                    b->p[2 * b->n] = (uint32_t)i, b->p[2 * b->n + 1] = (uint32_t)j, b->n++;
                }
    }
    size_t n = 0;
    int failed = 0;
    for (int t = 0; t < T; t++)
        n += b[t].n, failed |= b[t].failed;
    uint32_t *out = failed ? NULL : malloc((n ? 2 * n : 2) * sizeof *out);
    for (size_t t = 0, at = 0; out && t < (size_t)T; at += b[t].n, t++)
        if (b[t].n) memcpy(out + 2 * at, b[t].p, 2 * b[t].n * sizeof *out);
    for (int t = 0; t < T; t++)
        free(b[t].p);
    free(b);
    if (!out) return hrf_error(HRF_ENOMEM, "out of memory for a Verlet list of %zu pairs", n);
    *pairs = out, *n_pairs = n;
    return HRF_OK;
}

/* ---- the forces ---- */

/* The groups of a new list: a group per run of pairs with the same i (the
 * cell search lists each i's partners together, so one per particle). */
static int regroup(md_list *l) {
    const size_t n = l->v.n;
    const uint32_t *p = l->v.pairs;
    size_t G = 0;
    for (size_t e = 0; e < n; e++)
        G += e == 0 || p[2 * e] != p[2 * e - 2];
    free(l->gi), free(l->g0), free(l->nbr);
    l->gi = malloc((G ? G : 1) * sizeof *l->gi), l->g0 = malloc((G + 1) * sizeof *l->g0);
    l->nbr = malloc((n ? n : 1) * sizeof *l->nbr);
    if (!l->gi || !l->g0 || !l->nbr)
        return hrf_error(HRF_ENOMEM, "out of memory for a Verlet list of %zu pairs", n);
    size_t g = 0;
    for (size_t e = 0; e < n; e++) {
        if (e == 0 || p[2 * e] != p[2 * e - 2]) l->gi[g] = p[2 * e], l->g0[g++] = e;
        l->nbr[e] = p[2 * e + 1];
    }
    l->g0[G] = n, l->G = G;
    l->T = 0; /* cut again */
    return HRF_OK;
}

/* T chunks of about n/T pairs each: chunk t starts at the first group whose
 * first pair is at or past t·n/T. */
static int cut_chunks(md_list *l, int T, size_t N) {
    if (l->T_alloc != T) {
        free(l->cut), free(l->buf);
        l->buf = NULL, l->T_alloc = 0;
        if (!(l->cut = malloc((size_t)(T + 1) * sizeof *l->cut)) ||
            (T > 1 && !(l->buf = malloc((size_t)(T - 1) * 3 * N * sizeof *l->buf)))) {
            free(l->cut), l->cut = NULL;
            return hrf_error(HRF_ENOMEM, "out of memory for %d force buffers of %zu particles",
                             T - 1, N);
        }
        l->T_alloc = T;
    }
    size_t g = 0;
    for (int t = 0; t < T; t++) {
        const size_t at = (size_t)((double)l->v.n * t / T);
        while (g < l->G && l->g0[g] < at)
            g++;
        l->cut[t] = g;
    }
    l->cut[T] = l->G;
    l->T = T;
    return HRF_OK;
}

#if defined(__GNUC__)
/* x rounded to the nearest integer, ties to even (as nearbyint), for
 * |x| < 2^51: adding and subtracting 1.5·2^52 leaves no fraction bits */
static inline v4d v4_rint(v4d x) {
    const v4d magic = V4(6755399441055744.0);
    return (x + magic) - magic;
}
#endif

/* The LJ forces of groups [ga, gb) added to f (N, 3): each pair (i, j)
 * once, +F to i and −F to j, F = 24ε (2 (σ/r)¹² − (σ/r)⁶)/r² · d for the
 * minimum image d = q_i − q_j closer than rc (the pair term of
 * particles_forces.c, bit for bit). With GCC/Clang four partners at a time
 * (their coordinates loaded lane by lane; a group's last lanes beyond its
 * end compute i with itself and are masked out). */
static void lj_groups(const hrf_psystem *s, const md_list *l, size_t ga, size_t gb, const double *q,
                      double *f) {
    const double L = s->box, inv_L = 1.0 / L, rc2 = s->cutoff * s->cutoff;
    const double sig2 = s->v.sigma * s->v.sigma, e24 = 24.0 * s->v.eps / sig2;
    const uint32_t *nbr = l->nbr;
#if defined(__GNUC__)
    const v4d vL = V4(L), vinvL = V4(inv_L), vrc2 = V4(rc2), vsig2 = V4(sig2), ve24 = V4(e24);
    const v4d two = V4(2.0);
    static const v4l lanes[5] = {
        {0, 0, 0, 0}, {-1, 0, 0, 0}, {-1, -1, 0, 0}, {-1, -1, -1, 0}, {-1, -1, -1, -1}};
#endif
    for (size_t g = ga; g < gb; g++) {
        const size_t i = l->gi[g], e1 = l->g0[g + 1];
        const double xi = q[3 * i], yi = q[3 * i + 1], zi = q[3 * i + 2];
        double fi[3] = {0.0, 0.0, 0.0};
#if defined(__GNUC__)
        v4d ax = V4(0.0), ay = ax, az = ax;
        for (size_t e = l->g0[g]; e < e1; e += 4) {
            const size_t cnt = e1 - e < 4 ? e1 - e : 4;
            size_t js[4];
            for (size_t t = 0; t < 4; t++)
                js[t] = t < cnt ? nbr[e + t] : i;
            const double *q0 = q + 3 * js[0], *q1 = q + 3 * js[1], *q2 = q + 3 * js[2],
                         *q3 = q + 3 * js[3];
            v4d dx = V4(xi) - (v4d){q0[0], q1[0], q2[0], q3[0]};
            v4d dy = V4(yi) - (v4d){q0[1], q1[1], q2[1], q3[1]};
            v4d dz = V4(zi) - (v4d){q0[2], q1[2], q2[2], q3[2]};
            dx -= vL * v4_rint(dx * vinvL), dy -= vL * v4_rint(dy * vinvL);
            dz -= vL * v4_rint(dz * vinvL);
            const v4d r2 = dx * dx + dy * dy + dz * dz;
            const v4l in = (r2 < vrc2) & lanes[cnt];
            const v4d s2 = (v4d)((v4l)(vsig2 / r2) & in), s6 = s2 * s2 * s2;
            const v4d fr = ve24 * (two * s6 * s6 - s6) * s2;
            const v4d gx = fr * dx, gy = fr * dy, gz = fr * dz;
            ax += gx, ay += gy, az += gz;
            for (size_t t = 0; t < cnt; t++) {
                double *fj = f + 3 * js[t];
                fj[0] -= gx[t], fj[1] -= gy[t], fj[2] -= gz[t];
            }
        }
        fi[0] = (ax[0] + ax[1]) + (ax[2] + ax[3]);
        fi[1] = (ay[0] + ay[1]) + (ay[2] + ay[3]);
        fi[2] = (az[0] + az[1]) + (az[2] + az[3]);
#else
        for (size_t e = l->g0[g]; e < e1; e++) {
            const size_t j = nbr[e];
            const double dx = hrf_nbr_min_image(xi - q[3 * j], L),
                         dy = hrf_nbr_min_image(yi - q[3 * j + 1], L),
                         dz = hrf_nbr_min_image(zi - q[3 * j + 2], L);
            const double r2 = dx * dx + dy * dy + dz * dz;
            if (!(r2 < rc2)) continue;
            const double s2 = sig2 / r2, s6 = s2 * s2 * s2;
            const double fr = e24 * (2.0 * s6 * s6 - s6) * s2;
            fi[0] += fr * dx, fi[1] += fr * dy, fi[2] += fr * dz;
            f[3 * j] -= fr * dx, f[3 * j + 1] -= fr * dy, f[3 * j + 2] -= fr * dz;
        }
#endif
        f[3 * i] += fi[0], f[3 * i + 1] += fi[1], f[3 * i + 2] += fi[2];
    }
}

/* The forces at q over list l, brought up to date first. */
static int list_forces(const hrf_psystem *s, md_list *l, const double *q, double *f) {
    const size_t N = s->N, n3 = 3 * N;
    const int T = N >= PAR_MIN ? omp_get_max_threads() : 1;
    search_ctx sc = {s, l, T};
    int rc =
        hrf_vlist_update(&l->v, N, 3, s->box, s->cutoff, MD_SKIN * s->cutoff, q, half_search, &sc);
    if (rc) return rc;
    if (l->built != l->v.builds) {
        l->built = 0;
        if ((rc = regroup(l))) return rc;
        l->built = l->v.builds;
    }
    if (l->T != T && (rc = cut_chunks(l, T, N))) return rc;
    memset(f, 0, n3 * sizeof *f);
    if (T == 1) {
        lj_groups(s, l, 0, l->G, q, f);
        return HRF_OK;
    }
    double *buf = l->buf;
    /* chunk t on whichever thread takes it: the bits depend on T only */
#pragma omp parallel for schedule(static, 1) num_threads(T)
    for (int t = 0; t < T; t++) {
        double *ft = t ? buf + (size_t)(t - 1) * n3 : f;
        if (t) memset(ft, 0, n3 * sizeof *ft);
        lj_groups(s, l, l->cut[t], l->cut[t + 1], q, ft);
    }
    const long nl = (long)n3;
#pragma omp parallel for schedule(static) num_threads(T)
    for (long x = 0; x < nl; x++)
        for (int t = 1; t < T; t++)
            f[x] += buf[(size_t)(t - 1) * n3 + (size_t)x];
    return HRF_OK;
}

int psys_md_forces(const hrf_psystem *s, size_t k, const double *q, double *f) {
    hrf_psystem *m = (hrf_psystem *)s; /* the lists are a cache, not the system */
    if (atomic_exchange(&m->md_busy, 1)) {
        /* another thread holds the lists: a list of this call's own */
        md_list tmp;
        memset(&tmp, 0, sizeof tmp);
        int rc = list_forces(s, &tmp, q, f);
        list_free(&tmp);
        return rc;
    }
    int rc = HRF_OK;
    if (!m->md && !(m->md = calloc(1, sizeof *m->md))) rc = hrf_error(HRF_ENOMEM, "out of memory");
    if (!rc && m->md->n <= k) {
        md_list *l = realloc(m->md->l, (k + 1) * sizeof *l);
        if (!l) {
            rc = hrf_error(HRF_ENOMEM, "out of memory for %zu Verlet lists", k + 1);
        } else {
            memset(l + m->md->n, 0, (k + 1 - m->md->n) * sizeof *l);
            m->md->l = l, m->md->n = k + 1;
        }
    }
    if (!rc) rc = list_forces(s, &m->md->l[k], q, f);
    atomic_store(&m->md_busy, 0);
    return rc;
}

const struct hrf_vlist *psys_md_vlist(const hrf_psystem *s, size_t k) {
    return s->md && k < s->md->n ? &s->md->l[k].v : NULL;
}
