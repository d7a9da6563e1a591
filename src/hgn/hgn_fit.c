/* Fitting the graph network (hrf_hgn_fit): sample the encoders, solve the
 * read-out (hgn_lsq.c), for A-SWIM resample and solve again, then anchor the
 * constants; and the model's provenance.
 *
 * Anchor (ours, within RF-HGN's read-out θ·Φ + c_0 (docs/math.md §10): a
 * constant feature per pair and per particle). Gradients fix the per-pair
 * energy θ_E·e(r) and the per-particle θ_K·k only up to constants c_E and
 * c_K, and one anchor value fixes only E·c_E + N·c_K + c_0, which would not
 * carry over to another N.
 * So c_K makes the kinetic energy vanish at rest, c_K = −mean_i θ_K·k(0, 1/m_i),
 * and the anchor H(snapshot 0) sets the per-pair constant c_E (c_0 = 0; c_0
 * takes the anchor only when snapshot 0 has no pairs). Then Ĥ is extensive
 * like H and transfers to any N: Ĥ = Σ_pairs (θ_E·e + c_E) + Σ_i (θ_K·k_i + c_K) + c_0.
 *
 * Sampling. The edge encoder's training points are pair distances, the
 * kinetic encoder's the inputs [|p_i|², 1/m_i], both a seeded random subset
 * (reservoir sampling) of at most `sample_points` of them. ELM: W ~ N(0,1)
 * and b ~ U[−1, 1] on inputs standardised to [−1, 1] over the data's range,
 * mapped back (so every neuron's transition lies in the data's range, at a
 * scale set by the range); SWIM/U-SWIM: hrf_layer_sample on those points;
 * the SWIM oracle's values are the true V(r) and |p|²/(2m); A-SWIM's are the
 * first fit's per-edge energy θ_E·e(r) and per-particle θ_K·k_i. */
#include "hgn/hgn_impl.h"

#include "core/meta.h"
#include "core/sysinfo.h"
#include "hamrf/status.h"
#include "systems/neighbours.h"
#include "systems/particles_impl.h"

#include <math.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* ---- sampling ---- */

/* The SWIM oracle's pair potential: the data set's meta "potential"
 * (docs/formats.md), an object {"kind": name, parameters...}. */
static int potential_from_meta(const cJSON *meta, hrf_pair_potential *v) {
    const cJSON *pot = meta ? cJSON_GetObjectItemCaseSensitive(meta, "potential") : NULL;
    if (!pot)
        return hrf_error(HRF_EDATA, "the SWIM oracle needs the true pair potential: the data set's "
                                    "meta names none (use uswim or aswim)");
    int rc = hrf_pair_potential_from_json(pot, v);
    return rc ? hrf_error_prefix(rc, "the data set's meta \"potential\"") : HRF_OK;
}

/* Reservoir sample of at most cap items: keeps item t with probability cap/(t+1). */
typedef struct {
    double *x; /* (cap, dim) */
    size_t dim, cap, n, seen;
} reservoir;

/* The reservoir's draw, by global item index: which item each slot holds
 * depends only on the sequence of item counts and the random stream, not on
 * the items' values, so every rank replays it from the global counts
 * (docs/mpi.md) and the values are gathered afterwards. */
typedef struct {
    size_t *id; /* (cap) global item index of each slot */
    size_t cap, n, seen;
} ireservoir;

static void ireservoir_add(ireservoir *r, size_t id, hrf_rng *rng) {
    size_t slot = r->seen < r->cap ? r->seen : (size_t)hrf_rng_below(rng, r->seen + 1);
    r->seen++;
    if (slot < r->cap) {
        r->id[slot] = id;
        if (r->n < r->cap) r->n++;
    }
}

/* Bitwise-or gather of n words across ranks (each entry set by one rank). */
static int comm_bor(const hrf_comm *c, double *buf, size_t n) {
    return hrf_comm_active(c) && n ? c->allreduce(c->ctx, HRF_COMM_BOR, buf, n) : HRF_OK;
}

typedef struct {
    size_t id, t; /* global item index, slot */
} slot_id;

static int cmp_slot_id(const void *a, const void *b) {
    const slot_id *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* Where the data set's snapshots lie: this process holds the global
 * snapshots [first, first + d->S) of S_all (all of them without comm). */
typedef struct {
    const hrf_comm *comm;
    size_t S_all, first;
} hgn_dist;

/* One snapshot's pair search and geometry (gather_points' batches). */
typedef struct {
    hgn_pair_buf pb;
    const uint32_t *pairs;
    size_t E;
    double *r, *u;
    int failed; /* on a worker thread: the search or the geometry's arrays failed */
} snap_pairs;

/* Snapshot s's pairs into x, with their geometry when `geometry`: HRF_OK or
 * an error code. The error state is per thread, so only the caller's own
 * thread (`report`) words a message for the geometry's arrays; the caller
 * repeats a search that failed on a worker thread on its own. */
static int snap_search(const hrf_pdata *d, const hrf_hgn_graph *g, size_t s, int geometry,
                       int report, snap_pairs *x) {
    const double *q = d->q + s * d->N * (size_t)d->D;
    int rc = hgn_graph_pairs(g, d->N, d->D, q, &x->pb, &x->pairs, &x->E);
    if (rc || !geometry) return rc;
    free(x->r), free(x->u);
    x->r = malloc((x->E ? x->E : 1) * sizeof *x->r);
    x->u = malloc((x->E ? 3 * x->E : 1) * sizeof *x->u);
    if (!x->r || !x->u)
        return report ? hrf_error(HRF_ENOMEM, "out of memory for the %zu pairs of snapshot %zu",
                                  x->E, s)
                      : HRF_ENOMEM;
    hgn_pair_geometry(d->D, q, g->box, x->pairs, 0, x->E, x->r, x->u);
    return HRF_OK;
}

/* The pairs of every snapshot of d: cnt[s] = their number and, while
 * *caching, pc gets them with their distances and unit vectors, in snapshot
 * order. Snapshots go to the threads in batches of one per thread; a batch's
 * results are appended in order and freed, so memory holds one batch beyond
 * the cache, and the cache is the same whatever the thread count. A search
 * that failed on a worker thread (memory) is repeated on this one, which
 * reports the error if it fails again. */
static int search_snapshots(const hrf_pdata *d, const hrf_hgn_graph *g, hgn_pair_cache *pc,
                            int *caching, double max_bytes, double *cnt) {
    const int nt = omp_get_max_threads() > 0 ? omp_get_max_threads() : 1;
    snap_pairs *sp = calloc((size_t)nt, sizeof *sp);
    int rc = sp ? HRF_OK : hrf_error(HRF_ENOMEM, "out of memory for the pair search");
    for (size_t s0 = 0; s0 < d->S && !rc; s0 += (size_t)nt) {
        const size_t ns = d->S - s0 < (size_t)nt ? d->S - s0 : (size_t)nt;
        const int geometry = *caching;
#pragma omp parallel for schedule(static, 1) num_threads(nt) if (ns > 1)
        for (size_t t = 0; t < ns; t++)
            sp[t].failed = snap_search(d, g, s0 + t, geometry, 0, &sp[t]) != HRF_OK;
        for (size_t t = 0; t < ns && !rc; t++) {
            snap_pairs *x = &sp[t];
            if (x->failed && (rc = snap_search(d, g, s0 + t, geometry, 1, x))) break;
            cnt[s0 + t] = (double)x->E; /* exact below 2^53 */
            if (*caching) pc->off[s0 + t] = pc->n;
            if (*caching && !hgn_pair_cache_add(pc, x->pairs, x->E, x->r, x->u, max_bytes)) {
                hgn_pair_cache_free(pc);
                *caching = 0;
            }
        }
    }
    if (*caching) pc->off[d->S] = pc->n;
    for (int t = 0; sp && t < nt; t++)
        free(sp[t].pb.p), free(sp[t].r), free(sp[t].u);
    free(sp);
    return rc;
}

/* Distances (K_E) and kinetic inputs (K_K, 2) drawn from the data set, and
 * the pair cache *pc filled on the way (left empty, pc->off = NULL, when it
 * would take more than a quarter of the available memory). The draw is the
 * reservoir over every snapshot's edges, particles (and, mode mp, (snapshot,
 * particle) ids) in global snapshot order, replayed from the global edge
 * counts; each value comes from the rank holding its snapshot. */
static int gather_points(const hrf_hgn_params *p, const hrf_pdata *d, const hgn_dist *dist,
                         hrf_rng *rng, reservoir *re, reservoir *rk, reservoir *rn, size_t *edges,
                         hgn_pair_cache *pc) {
    memset(pc, 0, sizeof *pc);
    double avail = (double)hrf_mem_available_blas();
    double max_bytes = avail > 0.0 ? 0.25 * avail : 1073741824.0;
    int caching = (pc->off = malloc((d->S + 1) * sizeof *pc->off)) != NULL;
    pc->S = d->S;
    const size_t nd = d->N * d->D, S_all = dist->S_all, first = dist->first, N = d->N;
    hrf_hgn_graph g;
    hrf_hgn_graph_of(d, &g);
    re->dim = 1, rk->dim = 2, rn->dim = 2;
    re->cap = rk->cap = p->sample_points;
    rn->cap = p->mode == HRF_HGN_MP ? p->sample_points : 0; /* (snapshot, particle) */
    re->x = malloc(re->cap * sizeof *re->x);
    rk->x = malloc(2 * rk->cap * sizeof *rk->x);
    rn->x = rn->cap ? malloc(2 * rn->cap * sizeof *rn->x) : NULL;
    if (rn->cap && !rn->x) {
        free(re->x), free(rk->x);
        re->x = rk->x = NULL;
    }
    double *r = malloc(HGN_CHUNK * sizeof *r), *u = malloc(3 * HGN_CHUNK * sizeof *u);
    double *cnt = calloc(S_all + 1, sizeof *cnt); /* edges per global snapshot */
    size_t *off = malloc((S_all + 1) * sizeof *off);
    ireservoir ie = {malloc(re->cap * sizeof(size_t)), re->cap, 0, 0},
               ik = {malloc(rk->cap * sizeof(size_t)), rk->cap, 0, 0},
               in = {rn->cap ? malloc(rn->cap * sizeof(size_t)) : NULL, rn->cap, 0, 0};
    slot_id *ord = malloc((re->cap ? re->cap : 1) * sizeof *ord);
    hgn_pair_buf pb = {0};
    int rc = HRF_OK;
    if (!re->x || !rk->x || !r || !u || !cnt || !off || !ie.id || !ik.id || (in.cap && !in.id) ||
        !ord) {
        rc = hrf_error(HRF_ENOMEM, "out of memory for %zu sample points", p->sample_points);
        goto done;
    }
    /* this rank's snapshots: their pairs (cached) and edge counts, searched
     * by the threads a batch of snapshots at a time, each snapshot's pairs
     * and geometry then appended in snapshot order (the same cache whatever
     * the thread count) */
    if ((rc = search_snapshots(d, &g, pc, &caching, max_bytes, cnt + first))) goto done;
    if ((rc = hrf_comm_sum(dist->comm, cnt, S_all))) goto done;
    /* the draw, by global index, in the order one process meets the items */
    off[0] = 0;
    for (size_t s = 0; s < S_all; s++) {
        const size_t E = (size_t)cnt[s];
        off[s + 1] = off[s] + E;
        for (size_t e = 0; e < E; e++)
            ireservoir_add(&ie, off[s] + e, rng);
        for (size_t i = 0; i < N; i++)
            ireservoir_add(&ik, s * N + i, rng);
        for (size_t i = 0; i < N && in.cap; i++)
            ireservoir_add(&in, s * N + i, rng);
    }
    *edges = off[S_all];
    re->n = ie.n, re->seen = ie.seen, rk->n = ik.n, rk->seen = ik.seen;
    rn->n = in.n, rn->seen = in.seen;
    /* distances: by snapshot, from the cache or a new pair search */
    memset(re->x, 0, re->n * sizeof *re->x);
    for (size_t t = 0; t < ie.n; t++)
        ord[t] = (slot_id){ie.id[t], t};
    qsort(ord, ie.n, sizeof *ord, cmp_slot_id);
    size_t s = 0, have = (size_t)-1;
    const uint32_t *pairs = NULL;
    for (size_t k = 0; k < ie.n; k++) {
        while (off[s + 1] <= ord[k].id)
            s++;
        if (s < first || s >= first + d->S) continue;
        const size_t sl = s - first, e = ord[k].id - off[s];
        if (pc->off) {
            re->x[ord[k].t] = pc->r[pc->off[sl] + e];
            continue;
        }
        size_t E;
        if (have != sl && (rc = hgn_graph_pairs(&g, N, d->D, d->q + sl * nd, &pb, &pairs, &E)))
            goto done;
        have = sl;
        hgn_pair_geometry(d->D, d->q + sl * nd, g.box, pairs, e, 1, r, u);
        re->x[ord[k].t] = r[0];
    }
    /* kinetic inputs [|p_i|², 1/m_i] */
    memset(rk->x, 0, 2 * rk->n * sizeof *rk->x);
    for (size_t t = 0; t < ik.n; t++) {
        const size_t sg = ik.id[t] / N, i = ik.id[t] % N;
        if (sg < first || sg >= first + d->S) continue;
        const double *pp = d->p + (sg - first) * nd;
        double x[2] = {0.0, d->mass ? 1.0 / d->mass[i] : 1.0};
        for (int a = 0; a < d->D; a++)
            x[0] += pp[i * d->D + a] * pp[i * d->D + a];
        memcpy(rk->x + 2 * t, x, sizeof x);
    }
    for (size_t t = 0; t < in.n; t++) /* global (snapshot, particle) */
        rn->x[2 * t] = (double)(in.id[t] / N), rn->x[2 * t + 1] = (double)(in.id[t] % N);
    if ((rc = comm_bor(dist->comm, re->x, re->n)) || (rc = comm_bor(dist->comm, rk->x, 2 * rk->n)))
        goto done;
done:
    free(r), free(u), free(pb.p), free(cnt), free(off), free(ie.id), free(ik.id), free(in.id);
    free(ord);
    return rc;
}

/* ELM on inputs standardised to [−1, 1] per coordinate over the points'
 * range: z = w̃·(x − mid)/half + b̃ with w̃ ~ N(0,1), b̃ ~ U[−1,1], i.e.
 * w = w̃/half, b = b̃ − Σ w̃ mid/half. A constant coordinate gets half = 1. */
static int sample_elm(const hrf_layer_sample_params *lp, size_t K, size_t dim, const double *X,
                      hrf_rng *rng, double *W, double *b) {
    double *mid = malloc(2 * dim * sizeof *mid);
    if (!mid) return hrf_error(HRF_ENOMEM, "out of memory");
    double *half = mid + dim;
    for (size_t a = 0; a < dim; a++) {
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < K; i++)
            lo = fmin(lo, X[i * dim + a]), hi = fmax(hi, X[i * dim + a]);
        mid[a] = 0.5 * (lo + hi);
        half[a] = hi > lo ? 0.5 * (hi - lo) : 1.0;
    }
    hrf_layer_sample_params q = *lp;
    q.elm_lo = -1.0, q.elm_hi = 1.0;
    int rc = hrf_layer_sample(HRF_PAIRS_NONE, &q, K, dim, X, NULL, rng, W, b, NULL);
    /* Many inputs (the node encoder's M_E): w̃ ~ N(0, 1/dim), so that w̃·x̃
     * stays of order 1 instead of √dim (saturated neurons). */
    const double scale = dim > 2 ? 1.0 / sqrt((double)dim) : 1.0;
    for (size_t k = 0; k < lp->width && !rc; k++)
        for (size_t a = 0; a < dim; a++) {
            double wt = W[k * dim + a] * scale;
            b[k] -= wt * mid[a] / half[a];
            W[k * dim + a] = wt / half[a];
        }
    free(mid);
    return rc;
}

static int sample_layer(hrf_pair_density density, const hrf_layer_sample_params *lp, size_t K,
                        size_t dim, const double *X, const double *f, hrf_rng *rng, double *W,
                        double *b, size_t *repeated) {
    if (density == HRF_PAIRS_NONE) return sample_elm(lp, K, dim, X, rng, W, b);
    size_t rep = 0;
    int rc = hrf_layer_sample(density, lp, K, dim, X, f, rng, W, b, &rep);
    *repeated += rep;
    return rc;
}

/* ---- the node encoder's sampling points (mode mp) ---- */

typedef struct {
    size_t s, i, t; /* snapshot, particle, slot in the reservoir */
} node_id;

static int cmp_node_id(const void *a, const void *b) {
    const node_id *x = a, *y = b;
    if (x->s != y->s) return x->s < y->s ? -1 : 1;
    return (x->t > y->t) - (x->t < y->t);
}

/* The inputs a_i (M_E) of the reservoir's particles rn (x = (snapshot,
 * particle)) under the model's current edge encoder into X (K, M_E), and,
 * when f is not NULL, the SWIM oracle's values ½ Σ_j V(r_ij) (the particle's
 * share of its pair energies) into f (K). Each rank fills the rows of its
 * snapshots; one bitwise-or reduction gathers them. */
static int node_inputs(const hrf_hgn *m, const hrf_pdata *d, const hgn_dist *dist,
                       const hgn_pair_cache *pc, const reservoir *rn,
                       const hrf_pair_potential *oracle, double *X, double *f) {
    const size_t K = rn->n, N = d->N, nd = N * (size_t)d->D, ME = m->ME;
    node_id *ids = malloc(K * sizeof *ids);
    double *vN = f ? malloc(N * sizeof *vN) : NULL;
    hgn_work w;
    int rc = hgn_work_init(&w, hgn_work_width(m));
    if (!rc && (!ids || (f && !vN))) rc = hrf_error(HRF_ENOMEM, "out of memory");
    if (!rc) rc = hgn_work_nodes(&w, m, N);
    hrf_hgn_graph g;
    hrf_hgn_graph_of(d, &g);
    size_t nown = 0; /* the particles of this rank's snapshots, local snapshot index */
    for (size_t t = 0; t < K && !rc; t++) {
        size_t sg = (size_t)rn->x[2 * t];
        if (sg >= dist->first && sg < dist->first + d->S)
            ids[nown++] = (node_id){sg - dist->first, (size_t)rn->x[2 * t + 1], t};
    }
    if (!rc && hrf_comm_active(dist->comm)) {
        memset(X, 0, K * ME * sizeof *X);
        if (f) memset(f, 0, K * sizeof *f);
    }
    if (!rc) qsort(ids, nown, sizeof *ids, cmp_node_id);
    for (size_t t0 = 0, t1; t0 < nown && !rc; t0 = t1) {
        const size_t s = ids[t0].s;
        for (t1 = t0; t1 < nown && ids[t1].s == s; t1++)
            ;
        const double *q = d->q + s * nd;
        const uint32_t *pairs;
        const double *r = NULL;
        size_t E;
        if (pc) {
            pairs = pc->pairs + 2 * pc->off[s], r = pc->r + pc->off[s];
            E = pc->off[s + 1] - pc->off[s];
        } else if ((rc = hgn_graph_pairs(&g, N, d->D, q, &w.pb, &pairs, &E))) {
            break;
        }
        hgn_node_aggregate(m, N, d->D, q, g.box, pairs, E, r, w.a, NULL, &w);
        if (f) {
            memset(vN, 0, N * sizeof *vN);
            for (size_t e = 0; e < E; e++) {
                double re = r ? r[e]
                              : sqrt(hrf_nbr_dist2(d->D, q + (size_t)pairs[2 * e] * d->D,
                                                   q + (size_t)pairs[2 * e + 1] * d->D, g.box));
                double v = 0.5 * hrf_pair_eval(oracle, re, NULL);
                vN[pairs[2 * e]] += v, vN[pairs[2 * e + 1]] += v;
            }
        }
        for (size_t t = t0; t < t1; t++) {
            memcpy(X + ids[t].t * ME, w.a + ids[t].i * ME, ME * sizeof *X);
            if (f) f[ids[t].t] = vN[ids[t].i];
        }
    }
    free(ids), free(vN);
    hgn_work_free(&w);
    if (!rc) rc = comm_bor(dist->comm, X, K * ME);
    if (!rc && f) rc = comm_bor(dist->comm, f, K);
    return rc;
}

/* θ_N·h of the K node inputs X (K, M_E) under the current model into f (K). */
static void fitted_node_values(const hrf_hgn *m, size_t K, const double *X, double *f,
                               hgn_work *w) {
    const size_t MN = m->MN;
    for (size_t t0 = 0; t0 < K; t0 += HGN_CHUNK) {
        size_t nt = K - t0 < HGN_CHUNK ? K - t0 : HGN_CHUNK;
        hgn_node_pre(m, nt, X + t0 * m->ME, w->z);
        m->act->eval(nt * MN, w->z, w->s, NULL);
        for (size_t t = 0; t < nt; t++) {
            double v = 0.0;
            for (size_t n = 0; n < MN; n++)
                v += m->thN[n] * w->s[t * MN + n];
            f[t0 + t] = v;
        }
    }
}

/* Per-edge energies θ_E·e(r) and per-particle θ_K·k(x) of the current model. */
static void fitted_values(const hrf_hgn *m, const reservoir *re, const reservoir *rk, double *fE,
                          double *fK, hgn_work *w) {
    for (size_t t = 0; t < re->n; t++)
        fE[t] = hrf_hgn_pair_energy(m, re->x[t], NULL);
    for (size_t t0 = 0; t0 < rk->n; t0 += HGN_CHUNK) {
        size_t nt = rk->n - t0 < HGN_CHUNK ? rk->n - t0 : HGN_CHUNK;
        for (size_t t = 0; t < nt; t++)
            for (size_t k = 0; k < m->MK; k++)
                w->z[t * m->MK + k] = m->WK[2 * k] * rk->x[2 * (t0 + t)] +
                                      m->WK[2 * k + 1] * rk->x[2 * (t0 + t) + 1] + m->bK[k];
        m->act->eval(nt * m->MK, w->z, w->s, NULL);
        for (size_t t = 0; t < nt; t++) {
            double v = 0.0;
            for (size_t k = 0; k < m->MK; k++)
                v += m->thK[k] * w->s[t * m->MK + k];
            /* the linear feature |p|²/(2m) = x0·x1/2 belongs to the particle's energy too */
            fK[t0 + t] = v + m->thT * 0.5 * rk->x[2 * (t0 + t)] * rk->x[2 * (t0 + t) + 1];
        }
    }
}

/* A-SWIM's first fit uses every stride-th snapshot such that at least this
 * many rows per unknown remain (its θ only weights the second sampling; the
 * final fit uses every snapshot). */
#define FIRST_PASS_ROWS 50

/* Where the stages start in the progress reported (hrf_hgn_params.progress):
 * the solves take most of a fit's time; A-SWIM solves twice. */
#define PROGRESS_SOLVE 0.1
#define PROGRESS_RESAMPLE 0.5
#define PROGRESS_SOLVE2 0.6

static void report_progress(const hrf_hgn_params *p, const char *stage, double f) {
    if (p->progress) p->progress(p->progress_user, stage, f);
}

/* Solves θ (split or joint) for the current encoders on every stride-th snapshot. */
static int solve_theta(const hrf_hgn_params *p, hrf_hgn *m, const hrf_pdata *d,
                       const hgn_dist *dist, const hgn_pair_cache *pc, size_t stride,
                       hrf_hgn_fit_report *rep, const char *stage, double lo, double hi) {
    double t0 = hrf_now();
    int rc;
    /* Stage 1: θ_T alone, the one-column least squares
     *   θ_T = Σ (dq_ia/dt)(p_ia/m_i) / Σ (p_ia/m_i)²
     * over all snapshots. Stage 2: the encoder(s) fit what is left. */
    m->thT = 0.0;
    if (m->klin) {
        double num = 0.0, den = 0.0;
        const size_t nd = d->N * (size_t)d->D;
        for (size_t s = 0; s < d->S; s++)
            for (size_t t = 0; t < nd; t++) {
                double a = d->p[s * nd + t] / (d->mass ? d->mass[t / d->D] : 1.0);
                num += d->dqdt[s * nd + t] * a, den += a * a;
            }
        double nd2[2] = {num, den};
        if ((rc = hrf_comm_sum(dist->comm, nd2, 2))) return rc;
        num = nd2[0], den = nd2[1];
        m->thT = den > 0.0 ? num / den : 0.0;
    }
    /* θ = [θ_E, θ_N, θ_K] (θ_N only in mp mode) */
    const size_t nP = m->ME + m->MN;
    double *theta = malloc((nP + m->MK) * sizeof *theta);
    if (!theta) return hrf_error(HRF_ENOMEM, "out of memory");
    /* progress: the potential part (or the joint problem) takes most of the
     * time, the kinetic part (N·D rows per snapshot, few columns) the rest */
    const double mid = lo + 0.85 * (hi - lo);
    hgn_progress pE = {p->progress, p->progress_user, stage, lo, p->joint ? hi : mid},
                 pK = {p->progress, p->progress_user, stage, mid, hi};
    if (p->joint) {
        rc = hgn_solve_part(p, m, d, pc, dist->first, stride, HRF_HGN_PART_JOINT, m->thT, theta,
                            &rep->lstsq_E, &pE);
    } else {
        rc = hgn_solve_part(p, m, d, pc, dist->first, stride, HRF_HGN_PART_POTENTIAL, 0.0, theta,
                            &rep->lstsq_E, &pE);
        if (!rc)
            rc = hgn_solve_part(p, m, d, pc, dist->first, stride, HRF_HGN_PART_KINETIC, m->thT,
                                theta + nP, &rep->lstsq_K, &pK);
    }
    if (!rc) {
        memcpy(m->thE, theta, m->ME * sizeof *theta);
        if (m->MN) memcpy(m->thN, theta + m->ME, m->MN * sizeof *theta);
        memcpy(m->thK, theta + nP, m->MK * sizeof *theta);
    }
    free(theta);
    rep->solve_seconds += hrf_now() - t0;
    if (rc) hrf_error_prefix(rc, "solving the graph network's read-out");
    return rc;
}

/* How a fit made the model (deterministic: no timings), the first members of
 * its file's meta: sampler, solvers, seed and solver settings, the training
 * set's size, "system", and "data_meta", the data set's own description
 * (topology, shape, dim, potential, masses or box ...). */
/* The training data's part of a graph network's provenance: n_snapshots,
 * n_particles, dim, system and the data set's meta (without its format,
 * kind and version). HRF_ENOMEM when out of memory. */
int hgn_provenance_add_data(cJSON *o, const hrf_pdata *d) {
    cJSON *dm = HRF_META(d) ? cJSON_Duplicate(HRF_META(d), 1) : cJSON_CreateObject();
    if (!dm) return hrf_error(HRF_ENOMEM, "out of memory");
    cJSON_AddNumberToObject(o, "n_snapshots", (double)d->S);
    cJSON_AddNumberToObject(o, "n_particles", (double)d->N);
    cJSON_AddNumberToObject(o, "dim", d->D);
    cJSON_DeleteItemFromObjectCaseSensitive(dm, "format");
    cJSON_DeleteItemFromObjectCaseSensitive(dm, "kind");
    cJSON_DeleteItemFromObjectCaseSensitive(dm, "version");
    const cJSON *sys = cJSON_GetObjectItemCaseSensitive(dm, "system");
    if (cJSON_IsString(sys)) cJSON_AddStringToObject(o, "system", sys->valuestring);
    cJSON_AddItemToObject(o, "data_meta", dm);
    return HRF_OK;
}

static cJSON *hgn_provenance(const hrf_hgn_params *p, const hrf_hgn_fit_report *rep,
                             const hrf_pdata *d, size_t S_all) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "sampler", p->sampler->name);
    cJSON_AddStringToObject(o, "solver_requested", hrf_solver_name(p->lstsq.solver));
    cJSON_AddStringToObject(o, "solver_potential", hrf_solver_name(rep->lstsq_E.used));
    if (!p->joint) cJSON_AddStringToObject(o, "solver_kinetic", hrf_solver_name(rep->lstsq_K.used));
    cJSON_AddNumberToObject(o, "seed", (double)p->seed);
    cJSON_AddNumberToObject(o, "rcond", p->lstsq.rcond);
    cJSON_AddNumberToObject(o, "ridge", p->lstsq.ridge);
    cJSON_AddNumberToObject(o, "refine", p->lstsq.refine_max);
    cJSON_AddBoolToObject(o, "resample_duplicates", p->resample_duplicates);
    cJSON_AddNumberToObject(o, "sample_points", (double)p->sample_points);
    if (hgn_provenance_add_data(o, d)) {
        cJSON_Delete(o);
        return NULL;
    }
    if (S_all != d->S) /* distributed: every rank's snapshots */
        cJSON_ReplaceItemInObjectCaseSensitive(o, "n_snapshots", cJSON_CreateNumber((double)S_all));
    return o;
}

/* ---- the fit, step by step ---- */

/* One fit's state, shared by its steps: the sampler's points (reservoirs of
 * distances, kinetic inputs and, in mode mp, (snapshot, particle) ids), the
 * pair cache, the values at the points (SWIM oracle or the first fit) and
 * scratch. */
typedef struct {
    const hrf_hgn_params *p;
    const hrf_pdata *data;
    hrf_hgn_fit_report *rep;
    hrf_hgn *m;
    hgn_dist dist; /* the snapshots' ranks */
    hrf_pair_potential oracle;
    hrf_rng rng;
    reservoir re, rk, rn;
    hgn_pair_cache pc;
    double *fE, *fK; /* values at re (K_E) and rk (K_K) */
    double *XN, *fN; /* mp: node inputs (K, M_E) and values (K) */
    hgn_work w;
    hrf_layer_sample_params lpE, lpK, lpN;
} fit_state;

static void fit_state_free(fit_state *f) {
    free(f->re.x), free(f->rk.x), free(f->rn.x), free(f->fE), free(f->fK), free(f->XN), free(f->fN);
    hgn_pair_cache_free(&f->pc);
    hgn_work_free(&f->w);
}

/* Step 1: the sampler's points (and the pair cache) from the data set, the
 * SWIM oracle's values at them, and the first encoders: edge, kinetic and,
 * in mode mp, node. */
static int fit_sample(fit_state *f) {
    const hrf_hgn_params *p = f->p;
    const hrf_pdata *data = f->data;
    hrf_hgn_fit_report *rep = f->rep;
    hrf_hgn *m = f->m;
    reservoir *re = &f->re, *rk = &f->rk, *rn = &f->rn;
    int rc;
    hrf_rng_seed(&f->rng, p->seed);
    report_progress(p, "sampling", 0.0);
    double ts = hrf_now();
    if ((rc = gather_points(p, data, &f->dist, &f->rng, re, rk, rn, &rep->edges, &f->pc)))
        return rc;
    if (re->n < 2 && p->sampler->density != HRF_PAIRS_NONE)
        return hrf_error(HRF_EDATA,
                         "sampler '%s' draws pairs of distances and needs at least 2, the data "
                         "set has %zu interacting pairs in all",
                         p->sampler->name, re->n);
    if (re->n == 0) return hrf_error(HRF_EDATA, "the data set has no interacting pairs");
    f->fE = malloc(re->n * sizeof *f->fE), f->fK = malloc(rk->n * sizeof *f->fK);
    if (m->MN) { /* node inputs (K, M_E) and values (K) */
        f->XN = malloc((rn->n ? rn->n : 1) * m->ME * sizeof *f->XN);
        f->fN = calloc(rn->n ? rn->n : 1, sizeof *f->fN);
        if (!f->XN || !f->fN)
            rc = hrf_error(HRF_ENOMEM, "out of memory for %zu node inputs", rn->n);
        else if (rn->n < 2 && p->sampler->density != HRF_PAIRS_NONE)
            rc = hrf_error(HRF_EDATA,
                           "sampler '%s' needs at least 2 particles for the node "
                           "encoder",
                           p->sampler->name);
        if (rc) return rc;
    }
    if (!f->fE || !f->fK || (rc = hgn_work_init(&f->w, hgn_work_width(m))))
        return rc ? rc : hrf_error(HRF_ENOMEM, "out of memory");
    if (p->sampler->density == HRF_PAIRS_VALUES) { /* SWIM oracle */
        for (size_t t = 0; t < re->n; t++)
            f->fE[t] = hrf_pair_eval(&f->oracle, re->x[t], NULL);
        for (size_t t = 0; t < rk->n; t++)
            f->fK[t] = 0.5 * rk->x[2 * t] * rk->x[2 * t + 1]; /* |p|²/(2m) */
    }
    f->lpE = (hrf_layer_sample_params){p->edge_width, -1.0, 1.0, p->resample_duplicates, p->act};
    f->lpK = (hrf_layer_sample_params){p->kinetic_width, -1.0, 1.0, p->resample_duplicates, p->act};
    hrf_pair_density dens = p->sampler->density;
    if ((rc = sample_layer(dens, &f->lpE, re->n, 1, re->x, f->fE, &f->rng, m->WE, m->bE,
                           &rep->repeated_pairs)) ||
        (rc = sample_layer(dens, &f->lpK, rk->n, 2, rk->x, f->fK, &f->rng, m->WK, m->bK,
                           &rep->repeated_pairs)))
        return rc;
    /* mp: the node encoder, on the inputs a_i that the edge encoder just sampled gives */
    f->lpN = (hrf_layer_sample_params){p->node_width, -1.0, 1.0, p->resample_duplicates, p->act};
    if (m->MN && ((rc = node_inputs(m, data, &f->dist, f->pc.off ? &f->pc : NULL, rn, &f->oracle,
                                    f->XN, dens == HRF_PAIRS_VALUES ? f->fN : NULL)) ||
                  (rc = sample_layer(dens, &f->lpN, rn->n, m->ME, f->XN, f->fN, &f->rng, m->WN,
                                     m->bN, &rep->repeated_pairs))))
        return rc;
    rep->sample_seconds += hrf_now() - ts;
    return HRF_OK;
}

/* Step 2: the first solve, on the first encoders. */
static int fit_first_pass(fit_state *f) {
    const hrf_hgn_params *p = f->p;
    const hrf_pdata *data = f->data;
    const hrf_hgn *m = f->m;
    /* A-SWIM's first fit only shapes the sampling density of the second:
     * with the auto solver it takes the plain Gram route (Cholesky, no
     * refinement, no residual pass), as the HNN does. */
    hrf_hgn_params p1 = *p;
    if (p->sampler->adaptive && p->lstsq.solver == HRF_SOLVER_AUTO) {
        p1.lstsq.solver = HRF_SOLVER_NORMAL;
        p1.lstsq.refine_max = 0;
        p1.lstsq.gram_refine_max = 0;
        p1.lstsq.skip_residual = 1;
    }
    /* It also needs far fewer rows than the data may hold: every
     * stride-th snapshot, stride the largest that keeps at least
     * FIRST_PASS_ROWS rows per unknown of the potential part. */
    size_t stride = 1;
    if (p->sampler->adaptive) {
        double rows = (double)f->dist.S_all * (double)data->N * (double)data->D;
        double want = (double)FIRST_PASS_ROWS * (double)(m->ME + m->MN + m->MK);
        stride = rows > want ? (size_t)(rows / want) : 1;
        if (stride > f->dist.S_all) stride = f->dist.S_all;
        if (stride < 1) stride = 1;
    }
    f->rep->first_pass_snapshots = (f->dist.S_all + stride - 1) / stride;
    const double hi = p->sampler->adaptive ? PROGRESS_RESAMPLE : 1.0;
    report_progress(p, "solving", PROGRESS_SOLVE);
    return solve_theta(&p1, f->m, data, &f->dist, f->pc.off ? &f->pc : NULL, stride, f->rep,
                       "solving", PROGRESS_SOLVE, hi);
}

/* Step 3 (A-SWIM): resample every encoder with the first fit's values at the
 * same points as the SWIM density, then solve again on every snapshot. */
static int fit_second_pass(fit_state *f) {
    hrf_hgn_fit_report *rep = f->rep;
    hrf_hgn *m = f->m;
    const reservoir *re = &f->re, *rk = &f->rk, *rn = &f->rn;
    int rc;
    report_progress(f->p, "resampling (A-SWIM)", PROGRESS_RESAMPLE);
    double ts = hrf_now();
    fitted_values(m, re, rk, f->fE, f->fK, &f->w);
    if (m->MN) fitted_node_values(m, rn->n, f->XN, f->fN, &f->w); /* at the first encoders' a_i */
    if ((rc = sample_layer(HRF_PAIRS_VALUES, &f->lpE, re->n, 1, re->x, f->fE, &f->rng, m->WE, m->bE,
                           &rep->repeated_pairs)) ||
        (rc = sample_layer(HRF_PAIRS_VALUES, &f->lpK, rk->n, 2, rk->x, f->fK, &f->rng, m->WK, m->bK,
                           &rep->repeated_pairs)))
        return rc;
    /* the same particles' values, at their inputs under the new edge encoder */
    if (m->MN && ((rc = node_inputs(m, f->data, &f->dist, f->pc.off ? &f->pc : NULL, rn, NULL,
                                    f->XN, NULL)) ||
                  (rc = sample_layer(HRF_PAIRS_VALUES, &f->lpN, rn->n, m->ME, f->XN, f->fN, &f->rng,
                                     m->WN, m->bN, &rep->repeated_pairs))))
        return rc;
    rep->sample_seconds += hrf_now() - ts;
    report_progress(f->p, "solving (A-SWIM)", PROGRESS_SOLVE2);
    if ((rc = solve_theta(f->p, m, f->data, &f->dist, f->pc.off ? &f->pc : NULL, 1, rep,
                          "solving (A-SWIM)", PROGRESS_SOLVE2, 1.0)))
        return rc;
    rep->passes = 2;
    return HRF_OK;
}

/* The anchor (see the top of the file): kinetic energy zero at rest, no
 * node energy without neighbours, then Ĥ(snapshot 0) = H(snapshot 0)
 * through the per-pair constant (c_0 when snapshot 0 has no pairs). The
 * pairs of snapshot 0 from pc (may be NULL: searched here). Also used by
 * gradient training (src/baselines/train_hgn.c). */
int hgn_anchor(hrf_hgn *m, const hrf_pdata *data, const hgn_pair_cache *pc) {
    return hgn_anchor_comm(m, data, pc, NULL);
}

/* The same when the snapshots are distributed over comm's ranks: snapshot
 * 0 is rank 0's, which computes c_E (or c_0) and shares it by one sum. */
int hgn_anchor_comm(hrf_hgn *m, const hrf_pdata *data, const hgn_pair_cache *pc,
                    const hrf_comm *comm) {
    hgn_work w;
    int rc = hgn_work_init(&w, hgn_work_width(m));
    if (rc) {
        hgn_work_free(&w);
        return rc;
    }
    m->cE = m->cK = m->c0 = m->cN = 0.0;
    if (m->MN) { /* c_N: no node energy without neighbours (a_i = 0) */
        double z[1], sN = 0.0;
        for (size_t n = 0; n < m->MN; n++) {
            m->act->eval(1, m->bN + n, z, NULL);
            sN += m->thN[n] * z[0];
        }
        m->cN = -sN;
    }
    {
        double Tsum = 0.0;
        for (size_t i0 = 0; i0 < data->N; i0 += HGN_CHUNK) {
            size_t ni = data->N - i0 < HGN_CHUNK ? data->N - i0 : HGN_CHUNK;
            for (size_t t = 0; t < ni; t++)
                for (size_t k = 0; k < m->MK; k++)
                    w.z[t * m->MK + k] =
                        m->WK[2 * k + 1] * (data->mass ? 1.0 / data->mass[i0 + t] : 1.0) + m->bK[k];
            m->act->eval(ni * m->MK, w.z, w.s, NULL);
            for (size_t t = 0; t < ni * m->MK; t++)
                Tsum += m->thK[t % m->MK] * w.s[t];
        }
        m->cK = -Tsum / (double)data->N;
    }
    const int holds_first = !hrf_comm_active(comm) || comm->rank == 0;
    if (data->H && holds_first) { /* Ĥ − c_0 of snapshot 0, with its pairs from the cache */
        hrf_hgn_graph g;
        hrf_hgn_graph_of(data, &g);
        double h0;
        const uint32_t *pairs;
        size_t E0;
        if (pc)
            pairs = pc->pairs, E0 = pc->off[1];
        else if ((rc = hgn_graph_pairs(&g, data->N, data->D, data->q, &w.pb, &pairs, &E0)))
            goto done;
        if (m->MN) {
            if ((rc = hgn_eval_state(m, data->N, data->D, data->q, data->p, data->mass, g.box,
                                     pairs, E0, &h0, NULL, NULL, &w)))
                goto done;
        } else { /* pair mode: the pair energies threaded (σ only), then the kinetic part */
            double V, T;
            if ((rc = hgn_pair_energy_sum(m, data->D, data->q, g.box, pairs, pc ? pc->r : NULL, E0,
                                          &V)) ||
                (rc = hgn_eval_state(m, data->N, data->D, data->q, data->p, data->mass, g.box,
                                     pairs, 0, &T, NULL, NULL, &w)))
                goto done;
            h0 = V + T;
        }
        if (E0 > 0)
            m->cE = (data->H[0] - h0) / (double)E0;
        else
            m->c0 = data->H[0] - h0;
    }
    if (!rc && hrf_comm_active(comm)) { /* rank 0's constants, the others' zeros */
        double c[2] = {holds_first ? m->cE : 0.0, holds_first ? m->c0 : 0.0};
        if (!(rc = hrf_comm_sum(comm, c, 2))) m->cE = c[0], m->c0 = c[1];
    }
done:
    hgn_work_free(&w);
    return rc;
}

int hrf_hgn_fit(const hrf_hgn_params *p, const hrf_pdata *data, hrf_hgn **out,
                hrf_hgn_fit_report *rep) {
    hrf_hgn_fit_report local;
    if (!rep) rep = &local;
    memset(rep, 0, sizeof *rep);
    *out = NULL;
    const char *msg = hrf_hgn_params_check(p);
    if (msg) return hrf_error(HRF_EINVAL, "%s", msg);
    int rc = hgn_check_pdata(data);
    if (rc) return rc;
    fit_state f;
    memset(&f, 0, sizeof f);
    f.p = p, f.data = data, f.rep = rep;
    f.dist.comm = hrf_comm_active(p->comm) ? p->comm : NULL;
    if ((rc = hrf_comm_rows(f.dist.comm, data->S, &f.dist.S_all, &f.dist.first))) return rc;
    if (p->sampler->needs_values) {
        if (p->potential)
            f.oracle = *p->potential;
        else if ((rc = potential_from_meta(HRF_META(data), &f.oracle)))
            return rc;
    }
    double t_start = hrf_now();
    f.m = hgn_alloc(p->act, p->edge_width, p->kinetic_width,
                    p->mode == HRF_HGN_MP ? p->node_width : 0);
    if (!f.m) return hrf_error(HRF_ENOMEM, "out of memory");
    f.m->klin = p->kinetic_linear != 0;
    if ((rc = fit_sample(&f)) || (rc = fit_first_pass(&f))) goto fail;
    rep->passes = 1;
    if (p->sampler->adaptive && (rc = fit_second_pass(&f))) goto fail;
    if ((rc = hgn_anchor_comm(f.m, data, f.pc.off ? &f.pc : NULL, f.dist.comm))) goto fail;
    rep->fit_seconds = hrf_now() - t_start;
    report_progress(p, "done", 1.0);
    fit_state_free(&f);
    if (!(f.m->prov = hgn_provenance(p, rep, data, f.dist.S_all))) {
        hrf_hgn_free(f.m);
        return hrf_error(HRF_ENOMEM, "out of memory");
    }
    *out = f.m;
    return HRF_OK;
fail:
    fit_state_free(&f);
    hrf_hgn_free(f.m);
    return rc;
}
