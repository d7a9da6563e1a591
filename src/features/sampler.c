/* Hidden-layer samplers, docs/math.md §3.
 *
 * ELM: W_kj ~ N(0,1), b_k ~ U[lo, hi].
 * SWIM family: a pool of P = K·max(1, ⌈M/K⌉) candidate pairs (i, j = (i+δ) mod K,
 * δ ~ U{1..K−1}); M pairs drawn from the pool with the pair density (SWIM's
 * uses scalar values f, |f_j − f_i|, or vector values F such as an ODE-net's
 * dx/dt, ‖F_j − F_i‖₂, over ‖x_j − x_i‖); each
 * pair (x1, x2) gives w = s1 (x2 − x1)/‖x2 − x1‖², b = −w·x1 − s2.
 * With resample_duplicates, a pair already taken is redrawn; that is the same
 * distribution as successive weighted sampling without replacement, which
 * we implement exactly with a Fenwick tree of pool weights (each draw
 * O(log P), each taken pair's weight set to zero). */
#include "hamrf/comm.h"
#include "hamrf/sampler.h"
#include "hamrf/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const hrf_sampler_type hrf_sampler_elm = {
    "elm", "extreme learning machine: W ~ N(0,1), b ~ U[lo,hi]", HRF_PAIRS_NONE, 0, 0};
const hrf_sampler_type hrf_sampler_uswim = {"uswim", "SWIM pairs drawn uniformly",
                                            HRF_PAIRS_UNIFORM, 0, 0};
const hrf_sampler_type hrf_sampler_swim = {"swim", "SWIM pairs weighted by the true H (oracle)",
                                           HRF_PAIRS_VALUES, 1, 0};
const hrf_sampler_type hrf_sampler_aswim = {
    "aswim", "adaptive SWIM: U-SWIM fit, then pairs weighted by the fitted H", HRF_PAIRS_UNIFORM, 0,
    1};

static const hrf_sampler_type *const all_samplers[] = {&hrf_sampler_elm, &hrf_sampler_uswim,
                                                       &hrf_sampler_swim, &hrf_sampler_aswim, NULL};

const hrf_sampler_type *const *hrf_sampler_types(void) {
    return all_samplers;
}

int hrf_sampler_find(const char *name, const hrf_sampler_type **type) {
    for (int i = 0; all_samplers[i]; i++) {
        if (strcmp(all_samplers[i]->name, name) == 0) {
            *type = all_samplers[i];
            return HRF_OK;
        }
    }
    return hrf_error(HRF_ENOTFOUND, "unknown sampler '%s' (known: elm, uswim, swim, aswim)", name);
}

typedef struct {
    uint64_t pair; /* i·K + j */
    size_t t;      /* position in the pool */
} pool_key;

static int cmp_key(const void *a, const void *b) {
    const pool_key *x = a, *y = b;
    if (x->pair != y->pair) return x->pair < y->pair ? -1 : 1;
    return x->t < y->t ? -1 : x->t > y->t;
}

/* ---- Fenwick tree over non-negative weights ---- */
typedef struct {
    size_t n;
    double *t; /* 1-based partial sums */
} fenwick;

static void fenwick_build(fenwick *f, const double *w) {
    memset(f->t, 0, (f->n + 1) * sizeof *f->t);
    for (size_t i = 1; i <= f->n; i++) {
        f->t[i] += w[i - 1];
        size_t j = i + (i & (~i + 1));
        if (j <= f->n) f->t[j] += f->t[i];
    }
}

static void fenwick_add(fenwick *f, size_t i, double delta) {
    for (size_t k = i + 1; k <= f->n; k += k & (~k + 1))
        f->t[k] += delta;
}

/* Smallest index i with prefix sum of w[0..i] > target. */
static size_t fenwick_find(const fenwick *f, double target) {
    size_t pos = 0, step = 1;
    while (step * 2 <= f->n)
        step *= 2;
    for (; step; step /= 2) {
        if (pos + step <= f->n && f->t[pos + step] <= target) {
            pos += step;
            target -= f->t[pos];
        }
    }
    return pos < f->n ? pos : f->n - 1;
}

static void pair_to_neuron(size_t dim, const double *x1, const double *x2, double s1, double s2,
                           double *w, double *b) {
    double d2 = 0.0;
    for (size_t a = 0; a < dim; a++) {
        double d = x2[a] - x1[a];
        d2 += d * d;
    }
    double dist = sqrt(d2);
    if (dist < 1e-10) dist = 1e-10; /* docs/math.md §3.2: distances clipped below at 1e-10 */
    double scale = s1 / (dist * dist);
    double wx = 0.0;
    for (size_t a = 0; a < dim; a++) {
        w[a] = scale * (x2[a] - x1[a]);
        wx += w[a] * x1[a];
    }
    *b = -wx - s2;
}

/* ‖F_j − F_i‖₂ over fdim values; for fdim = 1 exactly |f_j − f_i| (no
 * squaring, so the scalar sampler's weights are unchanged bit for bit). */
static double value_distance(size_t fdim, const double *Fi, const double *Fj) {
    if (fdim == 1) return fabs(Fj[0] - Fi[0]);
    double s = 0.0;
    for (size_t a = 0; a < fdim; a++)
        s += (Fj[a] - Fi[a]) * (Fj[a] - Fi[a]);
    return sqrt(s);
}

/* Where the sampler reads rows: the caller's arrays indexed by global row
 * (one process), or rows gathered from every rank, keys[t] the global index
 * of compact row t (sorted, distinct). */
typedef struct {
    const double *X, *F; /* (K or nkeys, dim), (K or nkeys, fdim) row-major */
    size_t dim, fdim;
    const size_t *keys; /* NULL: X and F are indexed by the global row */
    size_t nkeys;
    /* distributed: this rank's rows and the hook that gathers them */
    const hrf_comm *comm;
    size_t first, nlocal;
    const double *Xl, *Fl;
    double *Xg, *Fg; /* gathered rows (owned) */
    size_t *kg;
} rowsrc;

static size_t src_pos(const rowsrc *r, size_t i) {
    if (!r->keys) return i;
    size_t lo = 0, hi = r->nkeys; /* keys[lo] ≤ i < keys[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->keys[mid] <= i)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}
static const double *src_x(const rowsrc *r, size_t i) {
    return r->X + src_pos(r, i) * r->dim;
}
static const double *src_f(const rowsrc *r, size_t i) {
    return r->F + src_pos(r, i) * r->fdim;
}

static int cmp_size(const void *a, const void *b) {
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

/* Distributed: gathers the rows i[0..n−1], j[0..n−1] (with F when want_f)
 * onto every rank, the same rows in the same order everywhere. */
static int src_gather(rowsrc *r, size_t n, const size_t *pi, const size_t *pj, int want_f) {
    if (!r->comm) return HRF_OK;
    size_t *k = malloc(2 * (n ? n : 1) * sizeof *k);
    if (!k) return hrf_error(HRF_ENOMEM, "out of memory for %zu row indices", 2 * n);
    memcpy(k, pi, n * sizeof *k);
    memcpy(k + n, pj, n * sizeof *k);
    qsort(k, 2 * n, sizeof *k, cmp_size);
    size_t u = 0;
    for (size_t t = 0; t < 2 * n; t++)
        if (u == 0 || k[t] != k[u - 1]) k[u++] = k[t];
    free(r->Xg), free(r->Fg), free(r->kg);
    r->Fg = NULL;
    r->kg = k, r->nkeys = u, r->keys = k;
    r->Xg = malloc((u ? u : 1) * r->dim * sizeof *r->Xg);
    if (want_f) r->Fg = malloc((u ? u : 1) * r->fdim * sizeof *r->Fg);
    if (!r->Xg || (want_f && !r->Fg))
        return hrf_error(HRF_ENOMEM, "out of memory gathering %zu training points", u);
    int rc = hrf_comm_gather_rows(r->comm, r->first, r->nlocal, r->dim, r->Xl, u, k, r->Xg);
    if (rc == HRF_OK && want_f)
        rc = hrf_comm_gather_rows(r->comm, r->first, r->nlocal, r->fdim, r->Fl, u, k, r->Fg);
    r->X = r->Xg, r->F = r->Fg;
    return rc;
}

/* The SWIM family (the file's opening comment), rows read through src. */
static int sample_pairs(hrf_pair_density density, const hrf_layer_sample_params *p, size_t K,
                        rowsrc *src, hrf_rng *rng, double *W, double *b, size_t *n_distinct_short) {
    const size_t M = p->width, dim = src->dim, fdim = src->fdim;
    /* Candidate pool, P = K·max(1, ⌈M/K⌉). */
    size_t reps = (M + K - 1) / K;
    if (reps < 1) reps = 1;
    size_t P = K * reps;
    size_t *pi = calloc(P, sizeof *pi), *pj = calloc(P, sizeof *pj);
    size_t *sel = malloc(M * sizeof *sel);
    double *w = calloc(P, sizeof *w);
    fenwick fw = {P, malloc((P + 1) * sizeof(double))};
    unsigned char *taken = NULL;
    double *rem = NULL;
    int rc = HRF_OK;
    if (!pi || !pj || !w || !fw.t || !sel) {
        rc = hrf_error(HRF_ENOMEM, "out of memory for a pool of %zu SWIM candidate pairs", P);
        goto done;
    }
    for (size_t t = 0; t < P; t++) {
        size_t i = (size_t)hrf_rng_below(rng, K);
        size_t delta = 1 + (size_t)hrf_rng_below(rng, K - 1);
        pi[t] = i;
        pj[t] = (i + delta) % K;
    }
    size_t positive = P;
    if (density == HRF_PAIRS_VALUES) {
        if ((rc = src_gather(src, P, pi, pj, 1))) goto done;
        positive = 0;
        for (size_t t = 0; t < P; t++) {
            const double *xi = src_x(src, pi[t]), *xj = src_x(src, pj[t]);
            double d2 = 0.0;
            for (size_t a = 0; a < dim; a++)
                d2 += (xj[a] - xi[a]) * (xj[a] - xi[a]);
            double dist = sqrt(d2);
            if (dist < 1e-10) dist = 1e-10;
            w[t] = value_distance(fdim, src_f(src, pi[t]), src_f(src, pj[t])) / dist;
            if (!isfinite(w[t])) w[t] = 0.0;
            if (w[t] > 0.0) positive++;
        }
        if (positive == 0) { /* all weights vanish: fall back to uniform */
            for (size_t t = 0; t < P; t++)
                w[t] = 1.0;
            positive = P;
        }
    } else {
        for (size_t t = 0; t < P; t++)
            w[t] = 1.0;
    }
    /* A pair that occurs twice in the pool is one candidate: later copies get
     * weight zero, so "distinct pairs" means distinct neurons. */
    {
        pool_key *key = malloc(P * sizeof *key);
        if (!key) {
            rc = hrf_error(HRF_ENOMEM, "out of memory for a pool of %zu SWIM candidate pairs", P);
            goto done;
        }
        for (size_t t = 0; t < P; t++)
            key[t] = (pool_key){(uint64_t)pi[t] * (uint64_t)K + pj[t], t};
        qsort(key, P, sizeof *key, cmp_key); /* equal pairs grouped, in pool order */
        for (size_t t = 1; t < P; t++) {
            if (key[t].pair == key[t - 1].pair) {
                size_t dup = key[t].t;
                if (w[dup] > 0.0) positive--;
                w[dup] = 0.0;
            }
        }
        free(key);
        if (positive == 0) positive = 1; /* cannot happen: the first copy keeps its weight */
    }
    taken = calloc(P, 1);
    rem = malloc(P * sizeof *rem);
    if (!taken || !rem) {
        rc = hrf_error(HRF_ENOMEM, "out of memory for a pool of %zu SWIM candidate pairs", P);
        goto done;
    }
    double total = 0.0;
    fenwick_build(&fw, w);
    for (size_t t = 0; t < P; t++)
        total += w[t];

    int distinct = p->resample_duplicates;
    size_t ntaken = 0;
    for (size_t k = 0; k < M; k++) {
        if (distinct && ntaken == positive) {
            /* Pool exhausted: the remaining pairs repeat, drawn with the full weights. */
            if (n_distinct_short) *n_distinct_short = M - k;
            distinct = 0;
            fenwick_build(&fw, w);
            total = 0.0;
            for (size_t t = 0; t < P; t++)
                total += w[t];
        }
        size_t t = fenwick_find(&fw, hrf_rng_uniform(rng) * total);
        if (distinct) {
            /* Rounding in the running sums can land on a taken or zero-weight
             * entry: rebuild the tree from the exact remaining weights, redraw. */
            while (taken[t] || w[t] <= 0.0) {
                total = 0.0;
                for (size_t u = 0; u < P; u++) {
                    rem[u] = taken[u] ? 0.0 : w[u];
                    total += rem[u];
                }
                fenwick_build(&fw, rem);
                t = fenwick_find(&fw, hrf_rng_uniform(rng) * total);
            }
            fenwick_add(&fw, t, -w[t]);
            total -= w[t];
            taken[t] = 1;
            ntaken++;
        }
        sel[k] = t;
    }
    /* The chosen pairs' end points (distributed: gathered unless the pool's
     * rows already are), then the neurons. */
    if (density != HRF_PAIRS_VALUES && src->comm) {
        size_t *si = malloc(2 * M * sizeof *si);
        if (!si) {
            rc = hrf_error(HRF_ENOMEM, "out of memory for %zu row indices", 2 * M);
            goto done;
        }
        for (size_t k = 0; k < M; k++)
            si[k] = pi[sel[k]], si[M + k] = pj[sel[k]];
        rc = src_gather(src, M, si, si + M, 0);
        free(si);
        if (rc) goto done;
    }
    for (size_t k = 0; k < M; k++)
        pair_to_neuron(dim, src_x(src, pi[sel[k]]), src_x(src, pj[sel[k]]), p->act->s1, p->act->s2,
                       W + k * dim, b + k);
done:
    free(taken), free(rem), free(sel);
    free(pi), free(pj), free(w), free(fw.t);
    return rc;
}

static int check_sample(hrf_pair_density density, const hrf_layer_sample_params *p, size_t K,
                        size_t fdim, int have_f) {
    if (p->width == 0) return hrf_error(HRF_EINVAL, "layer width must be positive");
    if (density == HRF_PAIRS_NONE) return HRF_OK;
    if (K < 2)
        return hrf_error(
            HRF_EINVAL, "SWIM sampling needs at least 2 training points to form pairs, got %zu", K);
    if (density == HRF_PAIRS_VALUES && (!have_f || fdim == 0))
        return hrf_error(HRF_EINVAL, "SWIM sampling needs function values at the points");
    return HRF_OK;
}

static void sample_elm(const hrf_layer_sample_params *p, size_t dim, hrf_rng *rng, double *W,
                       double *b) {
    const size_t M = p->width;
    for (size_t k = 0; k < M * dim; k++)
        W[k] = hrf_rng_normal(rng);
    for (size_t k = 0; k < M; k++)
        b[k] = hrf_rng_uniform_range(rng, p->elm_lo, p->elm_hi);
}

int hrf_layer_sample(hrf_pair_density density, const hrf_layer_sample_params *p, size_t K,
                     size_t dim, const double *X, const double *f, hrf_rng *rng, double *W,
                     double *b, size_t *n_distinct_short) {
    return hrf_layer_sample_vec(density, p, K, dim, X, 1, f, rng, W, b, n_distinct_short);
}

int hrf_layer_sample_vec(hrf_pair_density density, const hrf_layer_sample_params *p, size_t K,
                         size_t dim, const double *X, size_t fdim, const double *F, hrf_rng *rng,
                         double *W, double *b, size_t *n_distinct_short) {
    if (n_distinct_short) *n_distinct_short = 0;
    int rc = check_sample(density, p, K, fdim, F != NULL);
    if (rc) return rc;
    if (density == HRF_PAIRS_NONE) {
        sample_elm(p, dim, rng, W, b);
        return HRF_OK;
    }
    rowsrc src = {X, F, dim, fdim, NULL, 0, NULL, 0, 0, NULL, NULL, NULL, NULL, NULL};
    return sample_pairs(density, p, K, &src, rng, W, b, n_distinct_short);
}

int hrf_layer_sample_dist(hrf_pair_density density, const hrf_layer_sample_params *p,
                          const hrf_comm *comm, size_t K, size_t first, size_t nlocal, size_t dim,
                          const double *X, size_t fdim, const double *F, hrf_rng *rng, double *W,
                          double *b, size_t *n_distinct_short) {
    if (!hrf_comm_active(comm))
        return hrf_layer_sample_vec(density, p, K, dim, X, fdim, F, rng, W, b, n_distinct_short);
    if (n_distinct_short) *n_distinct_short = 0;
    int rc = check_sample(density, p, K, fdim, F != NULL || nlocal == 0);
    if (rc) return rc;
    if (density == HRF_PAIRS_NONE) {
        sample_elm(p, dim, rng, W, b);
        return HRF_OK;
    }
    rowsrc src = {NULL, NULL, dim, fdim, NULL, 0, comm, first, nlocal, X, F, NULL, NULL, NULL};
    rc = sample_pairs(density, p, K, &src, rng, W, b, n_distinct_short);
    free(src.Xg), free(src.Fg), free(src.kg);
    return rc;
}
