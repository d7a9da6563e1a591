/* The sampled Hamiltonian graph network, modes "pair" and "mp": fit,
 * evaluate, save, load, tabulate (MATH.md §6.2; least squares as in §2.2).
 * Mode mp (the node update) and its chain rule: see "mode mp" below.
 *
 * Ĥ(q,p) = θ_E · Σ_pairs σ(w_E r_ij + b_E) + θ_K · Σ_i σ(W_K [|p_i|², 1/m_i] + b_K)
 *          + θ_T Σ_i |p_i|²/(2 m_i) + c_0
 * (the last feature is ours, see hamrf/hgn.h: θ_T is solved first, alone,
 * then θ_K on the remaining dq/dt).
 *
 * Least squares. For snapshot s the position rows (i, a), i < N, a < D, have
 *   A_E[(i,a), k] = Σ_{pairs (i,j)} σ'(w_k r_ij + b_k) w_k (q_i − q_j)_a / r_ij   (sign per end)
 * with target −dp_ia/dt, and the momentum rows
 *   A_K[(i,a), k] = σ'(W_K,k · x_i + b_K,k) W_K,k0 · 2 p_ia,   x_i = [|p_i|², 1/m_i]
 * with target dq_ia/dt. Ĥ is separable, so θ_E and θ_K are two independent
 * problems (the joint problem, block diagonal, is kept for comparison). The
 * problem is given to hrf_lstsq_solve through callbacks that rebuild the
 * feature block of a few snapshots at a time ("chunk", filled in parallel,
 * one snapshot per thread), so no solver ever holds more than one chunk of A:
 *   gram    — G += BᵀB (DSYRK), Aᵀu += Bᵀu_B, group by group: memory O(M²);
 *   reduce  — streamed QR (R of [R; B] updated by dtpqrt on ~1 MB sub-blocks,
 *             Qᵀ applied to the right-hand side, the residual's orthogonal
 *             part summed): an M x M problem with the singular values of A,
 *             so the stable QR/SVD routes also run in O(M²) memory; `auto`
 *             takes it for problems of moderate cost, and solve_tall for
 *             tall ones (one pass over the data, no residual pass);
 *   apply / apply_t — chunk by chunk, for the normal solver's LSQR;
 *   assemble — the explicit matrix, for svd/qr on small problems.
 * Anchor (ours, within MATH.md's θ·Φ + c_0: a constant feature per pair and
 * per particle). Gradients fix the per-pair energy θ_E·e(r) and the
 * per-particle θ_K·k only up to constants c_E and c_K, and one anchor value
 * fixes only E·c_E + N·c_K + c_0, which would not carry over to another N.
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
#include "core/meta.h"
#include "core/sysinfo.h"
#include "systems/particles_impl.h"
#include "hamrf/hgn.h"
#include "core/npz.h"
#include "hamrf/status.h"
#include "hgn/hgn_impl.h"
#include "models/model_file.h"
#include "systems/neighbours.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct hrf_hgn {
    hrf_hgn_mode mode;
    const hrf_activation *act;
    size_t ME, MK, MN; /* MN = 0 in pair mode */
    double *slab;      /* one allocation: W_E | b_E | θ_E (M_E each) | W_K (M_K, 2) | b_K | θ_K
                          | W_N (M_N, M_E) | b_N | θ_N (M_N each) */
    double *WE, *bE, *thE, *WK, *bK, *thK, *WN, *bN, *thN;
    double cE, cK; /* constant energy per pair and per particle (see the anchor below) */
    double cN;     /* mp: constant energy per node, −θ_N·σ(b_N) (an isolated node has none) */
    double c0;
    int klin;   /* 1: the kinetic part has the exact Newtonian feature Σ_i |p_i|²/(2 m_i) */
    double thT; /* its coefficient θ_T (0 when klin = 0) */
    cJSON *prov; /* how it was made (src/models/model_file.h), or NULL */
};

/* Edges (or particles) per vectorised activation call. */
#define CHUNK 256
/* Minimum rows of one streamed block: small snapshots are grouped so that
 * DSYRK and the QR update work on blocks of useful size. */
#define MIN_BLOCK_ROWS 512


/* ---- modes and parameters ---- */

static const char *const mode_names[] = {"pair", "mp"};

const char *hrf_hgn_mode_name(hrf_hgn_mode mode) {
    return (unsigned)mode < 2 ? mode_names[mode] : "unknown";
}

int hrf_hgn_mode_find(const char *name, hrf_hgn_mode *mode) {
    for (int i = 0; i < 2; i++)
        if (strcmp(name, mode_names[i]) == 0) {
            *mode = (hrf_hgn_mode)i;
            return HRF_OK;
        }
    return hrf_error(HRF_ENOTFOUND, "unknown graph-network mode '%s' (known: pair, mp)", name);
}

void hrf_hgn_params_default(hrf_hgn_params *p) {
    memset(p, 0, sizeof *p);
    p->mode = HRF_HGN_PAIR;
    p->edge_width = 200;
    p->kinetic_width = 50;
    p->sampler = &hrf_sampler_aswim;
    p->act = &hrf_activation_tanh;
    p->resample_duplicates = 1;
    p->sample_points = 20000;
    p->kinetic_linear = 1;
    p->node_width = 100;
    p->seed = 1;
    hrf_lstsq_params_default(&p->lstsq);
}

const char *hrf_hgn_params_check(const hrf_hgn_params *p) {
    if (p->mode != HRF_HGN_PAIR && p->mode != HRF_HGN_MP)
        return "unknown graph-network mode (known: pair, mp)";
    if (p->mode == HRF_HGN_MP && p->node_width == 0)
        return "the node width must be a positive integer (mode mp)";
    if (p->node_width > ((size_t)1 << 20)) return "encoder widths above 2^20 are not supported";
    if (p->edge_width == 0) return "the edge width must be a positive integer";
    if (p->kinetic_width == 0) return "the kinetic width must be a positive integer";
    if (p->edge_width > ((size_t)1 << 20) || p->kinetic_width > ((size_t)1 << 20))
        return "encoder widths above 2^20 are not supported";
    if (!p->sampler) return "no sampler given";
    if (!p->act) return "no activation given";
    if (p->sample_points < 2) return "sample_points must be at least 2 (SWIM draws pairs)";
    return hrf_lstsq_params_check(&p->lstsq);
}

/* ---- the model object ---- */

/* A zeroed model; MN > 0 makes it mode mp. */
static hrf_hgn *hgn_alloc(const hrf_activation *act, size_t ME, size_t MK, size_t MN) {
    hrf_hgn *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->slab = calloc(3 * ME + 4 * MK + MN * ME + 2 * MN, sizeof(double));
    if (!m->slab) {
        free(m);
        return NULL;
    }
    m->mode = MN ? HRF_HGN_MP : HRF_HGN_PAIR, m->act = act, m->ME = ME, m->MK = MK, m->MN = MN;
    m->WE = m->slab;
    m->bE = m->WE + ME;
    m->thE = m->bE + ME;
    m->WK = m->thE + ME;
    m->bK = m->WK + 2 * MK;
    m->thK = m->bK + MK;
    m->WN = m->thK + MK;
    m->bN = m->WN + MN * ME;
    m->thN = m->bN + MN;
    return m;
}

/* The widest encoder: the scratch of the feature loops holds CHUNK rows of it. */
static size_t work_width(const hrf_hgn *m) {
    size_t w = m->ME > m->MK ? m->ME : m->MK;
    return m->MN > w ? m->MN : w;
}

void hrf_hgn_free(hrf_hgn *m) {
    if (!m) return;
    free(m->slab);
    cJSON_Delete(m->prov);
    free(m);
}

static int all_finite(size_t n, const double *x) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

int hrf_hgn_from_params(const hrf_activation *act, size_t edge_width, const double *W_E,
                        const double *b_E, const double *theta_E, size_t kinetic_width,
                        const double *W_K, const double *b_K, const double *theta_K, double c0,
                        hrf_hgn **out) {
    *out = NULL;
    if (!act) return hrf_error(HRF_EINVAL, "no activation given");
    if (edge_width == 0 || kinetic_width == 0)
        return hrf_error(HRF_EINVAL, "encoder widths must be positive (edge %zu, kinetic %zu)",
                         edge_width, kinetic_width);
    const size_t ME = edge_width, MK = kinetic_width;
    if (!all_finite(ME, W_E) || !all_finite(ME, b_E) || !all_finite(ME, theta_E) ||
        !all_finite(2 * MK, W_K) || !all_finite(MK, b_K) || !all_finite(MK, theta_K) ||
        !isfinite(c0))
        return hrf_error(HRF_EINVAL, "graph-network parameters must be finite");
    hrf_hgn *m = hgn_alloc(act, ME, MK, 0);
    if (!m) return hrf_error(HRF_ENOMEM, "out of memory");
    memcpy(m->WE, W_E, ME * sizeof *W_E);
    memcpy(m->bE, b_E, ME * sizeof *b_E);
    memcpy(m->thE, theta_E, ME * sizeof *theta_E);
    memcpy(m->WK, W_K, 2 * MK * sizeof *W_K);
    memcpy(m->bK, b_K, MK * sizeof *b_K);
    memcpy(m->thK, theta_K, MK * sizeof *theta_K);
    m->c0 = c0;
    *out = m;
    return HRF_OK;
}

int hrf_hgn_set_node(hrf_hgn *m, size_t node_width, const double *W_N, const double *b_N,
                     const double *theta_N) {
    const size_t MN = node_width, ME = m->ME;
    if (MN == 0) return hrf_error(HRF_EINVAL, "the node width must be positive");
    if (!all_finite(MN * ME, W_N) || !all_finite(MN, b_N) || !all_finite(MN, theta_N))
        return hrf_error(HRF_EINVAL, "graph-network parameters must be finite");
    hrf_hgn *n = hgn_alloc(m->act, ME, m->MK, MN);
    if (!n) return hrf_error(HRF_ENOMEM, "out of memory");
    memcpy(n->slab, m->slab, (3 * ME + 4 * m->MK) * sizeof *n->slab);
    memcpy(n->WN, W_N, MN * ME * sizeof *W_N);
    memcpy(n->bN, b_N, MN * sizeof *b_N);
    memcpy(n->thN, theta_N, MN * sizeof *theta_N);
    free(m->slab);
    /* take over n's slab and pointers, keep m's constants */
    m->slab = n->slab, m->MN = MN, m->mode = HRF_HGN_MP;
    m->WE = n->WE, m->bE = n->bE, m->thE = n->thE, m->WK = n->WK, m->bK = n->bK, m->thK = n->thK;
    m->WN = n->WN, m->bN = n->bN, m->thN = n->thN;
    m->cN = 0.0;
    free(n);
    return HRF_OK;
}

hrf_hgn_mode hrf_hgn_mode_of(const hrf_hgn *m) {
    return m->mode;
}
size_t hrf_hgn_node_width(const hrf_hgn *m) {
    return m->MN;
}
const double *hrf_hgn_W_N(const hrf_hgn *m) {
    return m->MN ? m->WN : NULL;
}
const double *hrf_hgn_b_N(const hrf_hgn *m) {
    return m->MN ? m->bN : NULL;
}
const double *hrf_hgn_theta_N(const hrf_hgn *m) {
    return m->MN ? m->thN : NULL;
}
double hrf_hgn_node_offset(const hrf_hgn *m) {
    return m->cN;
}
size_t hrf_hgn_edge_width(const hrf_hgn *m) {
    return m->ME;
}
size_t hrf_hgn_kinetic_width(const hrf_hgn *m) {
    return m->MK;
}
const hrf_activation *hrf_hgn_activation(const hrf_hgn *m) {
    return m->act;
}
const double *hrf_hgn_W_E(const hrf_hgn *m) {
    return m->WE;
}
const double *hrf_hgn_b_E(const hrf_hgn *m) {
    return m->bE;
}
const double *hrf_hgn_theta_E(const hrf_hgn *m) {
    return m->thE;
}
const double *hrf_hgn_W_K(const hrf_hgn *m) {
    return m->WK;
}
const double *hrf_hgn_b_K(const hrf_hgn *m) {
    return m->bK;
}
const double *hrf_hgn_theta_K(const hrf_hgn *m) {
    return m->thK;
}
double hrf_hgn_c0(const hrf_hgn *m) {
    return m->c0;
}
int hrf_hgn_kinetic_linear(const hrf_hgn *m) {
    return m->klin;
}
double hrf_hgn_theta_T(const hrf_hgn *m) {
    return m->thT;
}
int hrf_hgn_set_kinetic_linear(hrf_hgn *m, int on, double theta_T) {
    if (!isfinite(theta_T))
        return hrf_error(HRF_EINVAL, "the linear kinetic coefficient must be finite");
    if (!on && theta_T != 0.0)
        return hrf_error(HRF_EINVAL, "a model without the linear kinetic feature has theta_T = 0");
    m->klin = on != 0, m->thT = theta_T;
    return HRF_OK;
}
void hrf_hgn_offsets(const hrf_hgn *m, double *cE, double *cK) {
    if (cE) *cE = m->cE;
    if (cK) *cK = m->cK;
}

/* ---- graphs ---- */

void hrf_hgn_graph_of(const hrf_pdata *d, hrf_hgn_graph *g) {
    g->pairs = d->bonds;
    g->n_pairs = d->bonds ? d->n_bonds : 0;
    g->box = d->box;
    g->cutoff = d->cutoff;
}

typedef struct {
    uint32_t *p; /* (cap, 2) */
    size_t n, cap;
} pair_buf;

static int pair_push(pair_buf *b, size_t i, size_t j) {
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
static int cutoff_pairs(const hrf_hgn_graph *g, size_t N, int D, const double *q, pair_buf *b) {
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
                for (size_t kj = nb.start[c2 + 1]; kj-- > nb.start[c2];) {
                    const size_t j = nb.order[kj];
                    if (i < j && hrf_nbr_dist2(D, q + i * D, q + j * D, L) < rc2)
                        if ((rc_ = pair_push(b, i, j))) break;
                }
            }
        }
    }
    hrf_nbr_free(&nb);
    return rc_;
}

/* The pairs of g at q: the bond list itself, or a cutoff search into b. */
static int graph_pairs(const hrf_hgn_graph *g, size_t N, int D, const double *q, pair_buf *b,
                       const uint32_t **pairs, size_t *E) {
    if (g->pairs) {
        *pairs = g->pairs, *E = g->n_pairs;
        return HRF_OK;
    }
    int rc = cutoff_pairs(g, N, D, q, b);
    *pairs = b->p, *E = b->n;
    return rc;
}

static int check_graph(const hrf_hgn_graph *g, size_t N) {
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
    int rc = check_graph(g, N);
    if (rc) return rc;
    pair_buf b = {0};
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

/* ---- features ---- */

/* Scratch for the edge, node and kinetic loops: CHUNK x max(M_E, M_K, M_N)
 * each; in mode mp also per-particle buffers (work_nodes). */
typedef struct {
    double *z, *s, *ds; /* (CHUNK, M) */
    double *r;          /* (CHUNK) distances */
    double *u;          /* (CHUNK, 3) unit vectors (q_i − q_j)/r */
    pair_buf pb;
    double *a;      /* mp: (N, M_E) aggregated edge features a_i, then c_i (eval) */
    double *dh;     /* mp: (N, M_N) σ'(W_N a_i + b_N) */
    double *f;      /* mp: (CHUNK, M_N) per-pair node-column features */
    size_t n_nodes; /* particles the node buffers hold */
} work;

static int work_init(work *w, size_t M) {
    memset(w, 0, sizeof *w);
    w->z = malloc(CHUNK * M * sizeof *w->z);
    w->s = malloc(CHUNK * M * sizeof *w->s);
    w->ds = malloc(CHUNK * M * sizeof *w->ds);
    w->r = malloc(CHUNK * sizeof *w->r);
    w->u = malloc(3 * CHUNK * sizeof *w->u);
    if (!w->z || !w->s || !w->ds || !w->r || !w->u)
        return hrf_error(HRF_ENOMEM, "out of memory for feature scratch");
    return HRF_OK;
}

static void work_free(work *w) {
    free(w->z), free(w->s), free(w->ds), free(w->r), free(w->u), free(w->pb.p);
    free(w->a), free(w->dh), free(w->f);
    memset(w, 0, sizeof *w);
}

/* The mp node buffers for N particles. */
static int work_nodes(work *w, const hrf_hgn *m, size_t N) {
    if (w->n_nodes >= N && w->a) return HRF_OK;
    free(w->a), free(w->dh), free(w->f);
    w->a = malloc(N * m->ME * sizeof *w->a);
    w->dh = malloc(N * m->MN * sizeof *w->dh);
    w->f = malloc(CHUNK * m->MN * sizeof *w->f);
    w->n_nodes = N;
    if (!w->a || !w->dh || !w->f) {
        free(w->a), free(w->dh), free(w->f);
        w->a = w->dh = w->f = NULL, w->n_nodes = 0;
        return hrf_error(HRF_ENOMEM, "out of memory for the node features of %zu particles", N);
    }
    return HRF_OK;
}

/* Distances r (ne) and unit vectors u (ne, D) of pairs [e0, e0+ne). A
 * coincident pair gets u = 0 (r is not differentiable there). */
static void pair_geometry(int D, const double *q, double L, const uint32_t *pairs, size_t e0,
                          size_t ne, double *r, double *u) {
    for (size_t e = 0; e < ne; e++) {
        const double *qi = q + (size_t)pairs[2 * (e0 + e)] * D;
        const double *qj = q + (size_t)pairs[2 * (e0 + e) + 1] * D;
        double s = 0.0;
        for (int a = 0; a < D; a++) {
            u[e * 3 + a] = hrf_nbr_min_image(qi[a] - qj[a], L);
            s += u[e * 3 + a] * u[e * 3 + a];
        }
        r[e] = sqrt(s);
        double inv = r[e] > 0.0 ? 1.0 / r[e] : 0.0;
        for (int a = 0; a < D; a++)
            u[e * 3 + a] *= inv;
    }
}

/* Edge encoder on ne distances: z = w r + b, s = σ(z) (only if want_s: the
 * position rows need σ' alone, half the cost for tanh), ds = σ'(z), (ne, M_E). */
static void edge_features(const hrf_hgn *m, size_t ne, const double *r, int want_s, work *w) {
    const size_t ME = m->ME;
    for (size_t e = 0; e < ne; e++)
        for (size_t k = 0; k < ME; k++)
            w->z[e * ME + k] = m->WE[k] * r[e] + m->bE[k];
    m->act->eval(ne * ME, w->z, want_s ? w->s : NULL, w->ds);
}

/* Kinetic encoder on particles [i0, i0+ni): inputs [|p_i|², 1/m_i]. */
static void kinetic_features(const hrf_hgn *m, int D, const double *p, const double *mass,
                             size_t i0, size_t ni, work *w) {
    const size_t MK = m->MK;
    for (size_t t = 0; t < ni; t++) {
        const double *pi = p + (i0 + t) * D;
        double p2 = 0.0;
        for (int a = 0; a < D; a++)
            p2 += pi[a] * pi[a];
        double im = mass ? 1.0 / mass[i0 + t] : 1.0;
        for (size_t k = 0; k < MK; k++)
            w->z[t * MK + k] = m->WK[2 * k] * p2 + m->WK[2 * k + 1] * im + m->bK[k];
    }
    m->act->eval(ni * MK, w->z, w->s, w->ds);
}

/* Adds the position rows of one snapshot to blk: row (i·D + a) at blk + row·ld,
 * columns 0..M_E−1 (rows must be zeroed by the caller). The pairs' distances
 * r (E) and unit vectors u (E, 3) come from the fit's cache, or (r = NULL)
 * are computed here. phi (M_E, may be NULL) receives += Σ_edges σ(z). */
static void fill_potential(const hrf_hgn *m, int D, const double *q, double L,
                           const uint32_t *pairs, size_t E, const double *r, const double *u,
                           double *blk, size_t ld, double *phi, work *w) {
    const size_t ME = m->ME;
    for (size_t e0 = 0; e0 < E; e0 += CHUNK) {
        size_t ne = E - e0 < CHUNK ? E - e0 : CHUNK;
        const double *rr = r ? r + e0 : w->r, *uu = r ? u + 3 * e0 : w->u;
        if (!r) pair_geometry(D, q, L, pairs, e0, ne, w->r, w->u);
        edge_features(m, ne, rr, phi != NULL, w);
        for (size_t e = 0; e < ne; e++) {
            size_t i = pairs[2 * (e0 + e)], j = pairs[2 * (e0 + e) + 1];
            double *g = w->ds + e * ME; /* σ'(z_k) w_k = ∂e_k/∂r, in place */
            if (phi)
                for (size_t k = 0; k < ME; k++)
                    phi[k] += w->s[e * ME + k];
#pragma omp simd
            for (size_t k = 0; k < ME; k++)
                g[k] *= m->WE[k];
            for (int a = 0; a < D; a++) {
                double ua = uu[e * 3 + a];
                double *ri = blk + (i * D + a) * ld, *rj = blk + (j * D + a) * ld;
#pragma omp simd
                for (size_t k = 0; k < ME; k++) {
                    ri[k] += g[k] * ua;
                    rj[k] -= g[k] * ua;
                }
            }
        }
    }
}

/* Sets the momentum rows of one snapshot: row (i·D + a) at blk + row·ld,
 * columns 0..M_K−1, and column M_K (p_ia/m_i) when the model has the linear
 * kinetic feature. psi (M_K, may be NULL) receives += Σ_i σ(z_i). */
static void fill_kinetic(const hrf_hgn *m, size_t N, int D, const double *p, const double *mass,
                         int kT, double *blk, size_t ld, double *psi, work *w) {
    const size_t MK = m->MK;
    for (size_t i0 = 0; i0 < N; i0 += CHUNK) {
        size_t ni = N - i0 < CHUNK ? N - i0 : CHUNK;
        kinetic_features(m, D, p, mass, i0, ni, w);
        for (size_t t = 0; t < ni; t++) {
            const double *ds = w->ds + t * MK;
            if (psi)
                for (size_t k = 0; k < MK; k++)
                    psi[k] += w->s[t * MK + k];
            double im = mass ? 1.0 / mass[i0 + t] : 1.0;
            for (int a = 0; a < D; a++) {
                double two_p = 2.0 * p[(i0 + t) * D + a];
                double *row = blk + ((i0 + t) * D + a) * ld;
                for (size_t k = 0; k < MK; k++)
                    row[k] = ds[k] * m->WK[2 * k] * two_p;
                if (kT) row[MK] = 0.5 * two_p * im; /* ∂/∂p_ia Σ|p|²/(2m) = p_ia/m_i */
            }
        }
    }
}

/* ---- mode mp: the node update (MATH.md §6.2) ----
 *
 * a_i = Σ_{j∈N(i)} e(r_ij) (M_E), y_i = W_N a_i + b_N, h_i = σ(y_i) (M_N); the
 * read-out adds θ_N · Σ_i h_i. Chain rule, with g_ij = σ'(w_E r_ij + b_E) ⊙ w_E
 * = ∂e(r_ij)/∂r_ij and ∂a_i/∂q = Σ_{j∈N(i)} g_ij ∂r_ij/∂q:
 *   ∂(θ_N·Σ_l h_l)/∂q = Σ_l c_l · ∂a_l/∂q,  c_l = W_Nᵀ (θ_N ⊙ σ'(y_l))  (M_E),
 * and since pair (i,j) enters a_i and a_j,
 *   ∂Ĥ_pot/∂q = Σ_pairs (θ_E + c_i + c_j) · g_ij  ∂r_ij/∂q,  ∂r_ij/∂q_i = u_ij = −∂r_ij/∂q_j.
 * The least-squares columns of θ_N,n are accordingly
 *   Σ_pairs (σ'(y_in) + σ'(y_jn)) (W_N g_ij)_n ∂r_ij/∂q. */

/* a (N, M_E) = Σ over each particle's pairs of e(r); *Vpair (may be NULL)
 * += Σ_pairs (θ_E·e(r) + c_E). Geometry from the cache (r != NULL) or computed. */
static void node_aggregate(const hrf_hgn *m, size_t N, int D, const double *q, double L,
                           const uint32_t *pairs, size_t E, const double *r, double *a,
                           double *Vpair, work *w) {
    const size_t ME = m->ME;
    memset(a, 0, N * ME * sizeof *a);
    double V = 0.0;
    for (size_t e0 = 0; e0 < E; e0 += CHUNK) {
        size_t ne = E - e0 < CHUNK ? E - e0 : CHUNK;
        const double *rr = r ? r + e0 : w->r;
        if (!r) pair_geometry(D, q, L, pairs, e0, ne, w->r, w->u);
        for (size_t e = 0; e < ne; e++)
            for (size_t k = 0; k < ME; k++)
                w->z[e * ME + k] = m->WE[k] * rr[e] + m->bE[k];
        m->act->eval(ne * ME, w->z, w->s, NULL);
        for (size_t e = 0; e < ne; e++) {
            double *ai = a + (size_t)pairs[2 * (e0 + e)] * ME;
            double *aj = a + (size_t)pairs[2 * (e0 + e) + 1] * ME;
            const double *se = w->s + e * ME;
            double v = 0.0;
#pragma omp simd reduction(+ : v)
            for (size_t k = 0; k < ME; k++) {
                ai[k] += se[k], aj[k] += se[k];
                v += m->thE[k] * se[k];
            }
            V += v + m->cE;
        }
    }
    if (Vpair) *Vpair += V;
}

/* Pre-activations y = W_N a + b_N of ni nodes: a (ni, M_E), y (ni, M_N). */
static void node_pre(const hrf_hgn *m, size_t ni, const double *a, double *y) {
    const size_t ME = m->ME, MN = m->MN;
    for (size_t t = 0; t < ni; t++)
        for (size_t n = 0; n < MN; n++) {
            const double *wn = m->WN + n * ME, *at = a + t * ME;
            double z = m->bN[n];
#pragma omp simd reduction(+ : z)
            for (size_t k = 0; k < ME; k++)
                z += wn[k] * at[k];
            y[t * MN + n] = z;
        }
}

/* Node energies and derivative weights of N particles from a (N, M_E):
 * returns Σ_i (θ_N·h_i + c_N); with want_dh, dh (N, M_N) = σ'(y_i); with
 * want_c, a is overwritten by c_i = W_Nᵀ(θ_N ⊙ σ'(y_i)). */
static double node_layer(const hrf_hgn *m, size_t N, double *a, double *dh, int want_c, work *w) {
    const size_t ME = m->ME, MN = m->MN;
    double V = 0.0;
    for (size_t i0 = 0; i0 < N; i0 += CHUNK) {
        size_t ni = N - i0 < CHUNK ? N - i0 : CHUNK;
        node_pre(m, ni, a + i0 * ME, w->z);
        m->act->eval(ni * MN, w->z, w->s, w->ds);
        for (size_t t = 0; t < ni; t++) {
            const double *st = w->s + t * MN, *dt = w->ds + t * MN;
            double v = 0.0;
            for (size_t n = 0; n < MN; n++)
                v += m->thN[n] * st[n];
            V += v + m->cN;
            if (dh) memcpy(dh + (i0 + t) * MN, dt, MN * sizeof *dh);
            if (want_c) {
                double *c = a + (i0 + t) * ME;
                memset(c, 0, ME * sizeof *c);
                for (size_t n = 0; n < MN; n++) {
                    double tn = m->thN[n] * dt[n];
                    const double *wn = m->WN + n * ME;
#pragma omp simd
                    for (size_t k = 0; k < ME; k++)
                        c[k] += tn * wn[k];
                }
            }
        }
    }
    return V;
}

/* mp counterpart of fill_potential: columns [θ_E (M_E), θ_N (M_N)] of the
 * position rows of one snapshot of N particles (rows zeroed by the caller). */
static int fill_potential_mp(const hrf_hgn *m, size_t N, int D, const double *q, double L,
                             const uint32_t *pairs, size_t E, const double *r, const double *u,
                             double *blk, size_t ld, work *w) {
    const size_t ME = m->ME, MN = m->MN;
    int rc = work_nodes(w, m, N);
    if (rc) return rc;
    node_aggregate(m, N, D, q, L, pairs, E, r, w->a, NULL, w);
    node_layer(m, N, w->a, w->dh, 0, w);
    for (size_t e0 = 0; e0 < E; e0 += CHUNK) {
        size_t ne = E - e0 < CHUNK ? E - e0 : CHUNK;
        const double *rr = r ? r + e0 : w->r, *uu = r ? u + 3 * e0 : w->u;
        if (!r) pair_geometry(D, q, L, pairs, e0, ne, w->r, w->u);
        edge_features(m, ne, rr, 0, w);
        for (size_t e = 0; e < ne; e++) {
            size_t i = pairs[2 * (e0 + e)], j = pairs[2 * (e0 + e) + 1];
            double *g = w->ds + e * ME, *f = w->f + e * MN;
#pragma omp simd
            for (size_t k = 0; k < ME; k++)
                g[k] *= m->WE[k];
            const double *dhi = w->dh + i * MN, *dhj = w->dh + j * MN;
            for (size_t n = 0; n < MN; n++) {
                const double *wn = m->WN + n * ME;
                double z = 0.0;
#pragma omp simd reduction(+ : z)
                for (size_t k = 0; k < ME; k++)
                    z += wn[k] * g[k];
                f[n] = (dhi[n] + dhj[n]) * z;
            }
            for (int a = 0; a < D; a++) {
                double ua = uu[e * 3 + a];
                double *ri = blk + (i * D + a) * ld, *rj = blk + (j * D + a) * ld;
#pragma omp simd
                for (size_t k = 0; k < ME; k++) {
                    ri[k] += g[k] * ua;
                    rj[k] -= g[k] * ua;
                }
#pragma omp simd
                for (size_t n = 0; n < MN; n++) {
                    ri[ME + n] += f[n] * ua;
                    rj[ME + n] -= f[n] * ua;
                }
            }
        }
    }
    return HRF_OK;
}

/* ---- evaluation ---- */

double hrf_hgn_pair_energy(const hrf_hgn *m, double r, double *dVdr) {
    double z[64], s[64], ds[64], V = 0.0, dV = 0.0;
    for (size_t k0 = 0; k0 < m->ME; k0 += 64) {
        size_t nk = m->ME - k0 < 64 ? m->ME - k0 : 64;
        for (size_t k = 0; k < nk; k++)
            z[k] = m->WE[k0 + k] * r + m->bE[k0 + k];
        m->act->eval(nk, z, s, ds);
        for (size_t k = 0; k < nk; k++) {
            V += m->thE[k0 + k] * s[k];
            dV += m->thE[k0 + k] * ds[k] * m->WE[k0 + k];
        }
    }
    if (dVdr) *dVdr = dV;
    return V + m->cE;
}

/* Ĥ − c_0 and the derivatives at one state with scratch w (pairs given). */
static int eval_state(const hrf_hgn *m, size_t N, int D, const double *q, const double *p,
                      const double *mass, double L, const uint32_t *pairs, size_t E, double *H,
                      double *dqdt, double *dpdt, work *w) {
    const size_t ME = m->ME, MK = m->MK;
    double h = 0.0;
    if (dpdt) memset(dpdt, 0, N * D * sizeof *dpdt);
    if (m->MN) { /* mp: a_i, node energies, c_i (in place of a_i) */
        int rc = work_nodes(w, m, N);
        if (rc) return rc;
        node_aggregate(m, N, D, q, L, pairs, E, NULL, w->a, &h, w);
        h += node_layer(m, N, w->a, NULL, dpdt != NULL, w);
    }
    for (size_t e0 = 0; e0 < E && (dpdt || !m->MN); e0 += CHUNK) {
        size_t ne = E - e0 < CHUNK ? E - e0 : CHUNK;
        pair_geometry(D, q, L, pairs, e0, ne, w->r, w->u);
        edge_features(m, ne, w->r, 1, w);
        for (size_t e = 0; e < ne; e++) {
            double V = 0.0, dV = 0.0;
            if (m->MN) { /* dV/dr = (θ_E + c_i + c_j)·g_ij; V counted in node_aggregate */
                const double *ci = w->a + (size_t)pairs[2 * (e0 + e)] * ME;
                const double *cj = w->a + (size_t)pairs[2 * (e0 + e) + 1] * ME;
                for (size_t k = 0; k < ME; k++)
                    dV += (m->thE[k] + ci[k] + cj[k]) * w->ds[e * ME + k] * m->WE[k];
            } else {
                for (size_t k = 0; k < ME; k++) {
                    V += m->thE[k] * w->s[e * ME + k];
                    dV += m->thE[k] * w->ds[e * ME + k] * m->WE[k];
                }
                h += V + m->cE;
            }
            if (dpdt) { /* dp/dt = −∂Ĥ/∂q; ∂r/∂q_i = u, ∂r/∂q_j = −u */
                size_t i = pairs[2 * (e0 + e)], j = pairs[2 * (e0 + e) + 1];
                for (int a = 0; a < D; a++) {
                    dpdt[i * D + a] -= dV * w->u[e * 3 + a];
                    dpdt[j * D + a] += dV * w->u[e * 3 + a];
                }
            }
        }
    }
    for (size_t i0 = 0; i0 < N; i0 += CHUNK) {
        size_t ni = N - i0 < CHUNK ? N - i0 : CHUNK;
        kinetic_features(m, D, p, mass, i0, ni, w);
        for (size_t t = 0; t < ni; t++) {
            double T = 0.0, dT = 0.0; /* dT/d|p|² */
            for (size_t k = 0; k < MK; k++) {
                T += m->thK[k] * w->s[t * MK + k];
                dT += m->thK[k] * w->ds[t * MK + k] * m->WK[2 * k];
            }
            if (m->klin) { /* θ_T |p|²/(2m) */
                double half_im = 0.5 * (mass ? 1.0 / mass[i0 + t] : 1.0), p2 = 0.0;
                for (int a = 0; a < D; a++)
                    p2 += p[(i0 + t) * D + a] * p[(i0 + t) * D + a];
                T += m->thT * half_im * p2;
                dT += m->thT * half_im;
            }
            h += T + m->cK;
            if (dqdt)
                for (int a = 0; a < D; a++)
                    dqdt[(i0 + t) * D + a] = 2.0 * dT * p[(i0 + t) * D + a];
        }
    }
    *H = h;
    return HRF_OK;
}

static int check_state(size_t N, int D, const double *mass) {
    if (N == 0) return hrf_error(HRF_EINVAL, "no particles");
    if (D < 1 || D > 3) return hrf_error(HRF_EINVAL, "dimension must be 1, 2 or 3, got %d", D);
    if (mass)
        for (size_t i = 0; i < N; i++)
            if (!(mass[i] > 0.0 && isfinite(mass[i])))
                return hrf_error(HRF_EDATA, "mass %zu is %g: masses must be positive and finite", i,
                                 mass[i]);
    return HRF_OK;
}

int hrf_hgn_eval(const hrf_hgn *m, size_t N, int D, const double *q, const double *p,
                 const double *mass, const hrf_hgn_graph *g, double *H, double *dqdt,
                 double *dpdt) {
    int rc = check_state(N, D, mass);
    if (!rc) rc = check_graph(g, N);
    if (rc) return rc;
    work w;
    if ((rc = work_init(&w, work_width(m)))) goto done;
    const uint32_t *pairs;
    size_t E;
    if ((rc = graph_pairs(g, N, D, q, &w.pb, &pairs, &E))) goto done;
    double h;
    if ((rc = eval_state(m, N, D, q, p, mass, g->box, pairs, E, &h, dqdt, dpdt, &w))) goto done;
    if (H) *H = h + m->c0;
done:
    work_free(&w);
    return rc;
}

/* ---- data sets ---- */

static int check_pdata(const hrf_pdata *d) {
    if (!d || d->S == 0 || d->N == 0)
        return hrf_error(HRF_EDATA,
                         "the particle data set is empty (%zu snapshots of %zu "
                         "particles)",
                         d ? d->S : 0, d ? d->N : 0);
    if (d->D < 1 || d->D > 3)
        return hrf_error(HRF_EDATA, "the data set's dimension must be 1, 2 or 3, got %d", d->D);
    if (!d->q || !d->p || !d->dqdt || !d->dpdt)
        return hrf_error(HRF_EDATA, "the data set lacks q, p, dq/dt or dp/dt");
    hrf_hgn_graph g;
    hrf_hgn_graph_of(d, &g);
    if (!g.pairs && d->n_bonds > 0)
        return hrf_error(HRF_EDATA, "the data set has n_bonds = %zu but no bond list", d->n_bonds);
    int rc = check_graph(&g, d->N);
    if (!rc) rc = check_state(d->N, d->D, d->mass);
    return rc ? hrf_error_prefix(HRF_EDATA, "particle data set") : HRF_OK;
}

int hrf_hgn_errors_on(const hrf_hgn *m, const hrf_pdata *d, hrf_hgn_errors *out) {
    int rc = check_pdata(d);
    if (rc) return rc;
    const size_t S = d->S, N = d->N, nd = N * d->D;
    const int D = d->D;
    hrf_hgn_graph g;
    hrf_hgn_graph_of(d, &g);
    work w;
    double *dq = malloc(nd * sizeof *dq), *dp = malloc(nd * sizeof *dp);
    if ((rc = work_init(&w, work_width(m)))) goto done;
    if (!dq || !dp) {
        rc = hrf_error(HRF_ENOMEM, "out of memory evaluating %zu particles", N);
        goto done;
    }
    double eH = 0.0, nH = 0.0, eg = 0.0, ng = 0.0;
    for (size_t s = 0; s < S; s++) {
        const double *q = d->q + s * nd, *p = d->p + s * nd;
        const uint32_t *pairs;
        size_t E;
        if ((rc = graph_pairs(&g, N, D, q, &w.pb, &pairs, &E))) goto done;
        double h;
        if ((rc = eval_state(m, N, D, q, p, d->mass, g.box, pairs, E, &h, dq, dp, &w))) goto done;
        h += m->c0;
        if (d->H) eH += (h - d->H[s]) * (h - d->H[s]), nH += d->H[s] * d->H[s];
        for (size_t t = 0; t < nd; t++) {
            double a = dq[t] - d->dqdt[s * nd + t], b = dp[t] - d->dpdt[s * nd + t];
            eg += a * a + b * b;
            ng += d->dqdt[s * nd + t] * d->dqdt[s * nd + t] +
                  d->dpdt[s * nd + t] * d->dpdt[s * nd + t];
        }
    }
    out->snapshots = S, out->particles = N, out->dim = D, out->has_H = d->H != NULL;
    out->rel_l2_H = d->H ? (nH > 0.0 ? sqrt(eH / nH) : sqrt(eH)) : NAN;
    out->rel_l2_grad = ng > 0.0 ? sqrt(eg / ng) : sqrt(eg);
    out->mse_dxdt = eg / (2.0 * (double)S * (double)nd);
done:
    work_free(&w);
    free(dq), free(dp);
    return rc;
}

/* ---- the pairs of a data set, cached for one fit ---- */

/* The interacting pairs of every snapshot with their distances and unit
 * vectors, found once per fit (in gather_points) instead of once per pass
 * over the data: snapshot s has the pairs [off[s], off[s+1]). 40 bytes per
 * pair; the fit keeps it only while it takes at most a quarter of the
 * available memory (else every pass searches the pairs again). */
typedef struct {
    size_t S;
    size_t *off;     /* (S + 1) */
    uint32_t *pairs; /* (E, 2) */
    double *r;       /* (E) */
    double *u;       /* (E, 3) (q_i − q_j)/r_ij, minimum image */
    size_t n, cap;   /* pairs stored, capacity */
} pair_cache;

static void pair_cache_free(pair_cache *pc) {
    if (!pc) return;
    free(pc->off), free(pc->pairs), free(pc->r), free(pc->u);
    memset(pc, 0, sizeof *pc);
}

/* Appends E pairs (with their geometry); 0 if the cache would outgrow
 * max_bytes or memory runs out (the caller then drops the cache). */
static int pair_cache_add(pair_cache *pc, const uint32_t *pairs, size_t E, const double *r,
                          const double *u, double max_bytes) {
    if (pc->n + E > pc->cap) {
        size_t cap = pc->cap ? pc->cap : 4096;
        while (cap < pc->n + E)
            cap *= 2;
        if (40.0 * (double)cap > max_bytes) {
            cap = pc->n + E;
            if (40.0 * (double)cap > max_bytes) return 0;
        }
        uint32_t *p2 = realloc(pc->pairs, 2 * cap * sizeof *p2);
        if (p2) pc->pairs = p2;
        double *r2 = p2 ? realloc(pc->r, cap * sizeof *r2) : NULL;
        if (r2) pc->r = r2;
        double *u2 = r2 ? realloc(pc->u, 3 * cap * sizeof *u2) : NULL;
        if (!u2) return 0;
        pc->u = u2, pc->cap = cap;
    }
    memcpy(pc->pairs + 2 * pc->n, pairs, 2 * E * sizeof *pairs);
    memcpy(pc->r + pc->n, r, E * sizeof *r);
    memcpy(pc->u + 3 * pc->n, u, 3 * E * sizeof *u);
    pc->n += E;
    return 1;
}

/* ---- the streamed least-squares problem ---- */

/* Blocks of several snapshots are filled in parallel, one snapshot per
 * thread at a time; a block holds at most this many bytes (but always one
 * snapshot). */
#define BLOCK_BYTES_MAX (256.0 * 1048576.0)
/* Blocks of fewer entries (rows x cols) are filled by one thread. */
#define PAR_MIN_ENTRIES 262144.0

typedef struct {
    const hrf_hgn *m;
    const hrf_pdata *d;
    hrf_hgn_graph g;
    hrf_hgn_part part;
    size_t S, N, nd; /* snapshots, particles, N·D */
    int D;
    size_t rps;   /* rows per snapshot */
    size_t cols;  /* unknowns */
    int kT;       /* 1: the momentum rows carry the column of θ_T (p_ia/m_i) */
    size_t chunk; /* snapshots per block (filled in parallel), a multiple of group */
    size_t group; /* snapshots per BLAS call (≥ MIN_BLOCK_ROWS rows), independent of threads */
    double *blk;  /* (chunk·rps, cols) row-major */
    double *u;    /* (S·rps) right-hand side */
    const pair_cache *pc; /* the fit's pairs, or NULL: search them in every pass */
    int nthreads;
    work *w;       /* (nthreads) scratch */
    double res2;   /* lsq_reduce: ‖Aθ* − u‖² of the least-squares solution (see there) */
    size_t stride; /* the problem's snapshot s is the data set's s·stride */
} hgn_lsq;

/* Rows of the problem's snapshot ps into b (zeroed here), with scratch w. */
static int lsq_fill_one(hgn_lsq *c, size_t ps, double *b, work *w) {
    const hrf_hgn *m = c->m;
    const hrf_pdata *d = c->d;
    const size_t s = ps * c->stride;
    memset(b, 0, c->rps * c->cols * sizeof *b);
    const double *q = d->q + s * c->nd, *p = d->p + s * c->nd;
    if (c->part != HRF_HGN_PART_KINETIC) {
        const uint32_t *pairs;
        const double *r = NULL, *u = NULL;
        size_t E;
        if (c->pc) {
            size_t e0 = c->pc->off[s];
            E = c->pc->off[s + 1] - e0;
            pairs = c->pc->pairs + 2 * e0, r = c->pc->r + e0, u = c->pc->u + 3 * e0;
        } else {
            int rc = graph_pairs(&c->g, c->N, c->D, q, &w->pb, &pairs, &E);
            if (rc) return rc;
        }
        if (m->MN) {
            int rc = fill_potential_mp(m, c->N, c->D, q, c->g.box, pairs, E, r, u, b, c->cols, w);
            if (rc) return rc;
        } else {
            fill_potential(m, c->D, q, c->g.box, pairs, E, r, u, b, c->cols, NULL, w);
        }
    }
    if (c->part == HRF_HGN_PART_KINETIC)
        fill_kinetic(m, c->N, c->D, p, d->mass, c->kT, b, c->cols, NULL, w);
    else if (c->part == HRF_HGN_PART_JOINT)
        fill_kinetic(m, c->N, c->D, p, d->mass, c->kT, b + c->nd * c->cols + m->ME + m->MN, c->cols,
                     NULL, w);
    return HRF_OK;
}

/* Rows of snapshots [s0, s0+ns) into blk: the snapshots are split statically
 * over the threads, each filled by one thread exactly as it would be alone,
 * so the block does not depend on the number of threads. */
static int lsq_fill(hgn_lsq *c, size_t s0, size_t ns) {
    int failed = 0;
    int nt = (size_t)c->nthreads < ns ? c->nthreads : (int)ns;
    /* small blocks serially: idle OpenMP threads spin after a parallel region
     * and would compete with the BLAS threads that follow */
    if ((double)ns * (double)c->rps * (double)c->cols < PAR_MIN_ENTRIES) nt = 1;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1) reduction(| : failed)
    for (size_t t = 0; t < ns; t++)
        if (lsq_fill_one(c, s0 + t, c->blk + t * c->rps * c->cols, &c->w[omp_get_thread_num()]))
            failed = 1;
    if (!failed) return HRF_OK;
    /* Only the pair search can fail (memory): again on this thread, for its message. */
    for (size_t t = 0; t < ns; t++) {
        int rc = lsq_fill_one(c, s0 + t, c->blk + t * c->rps * c->cols, &c->w[0]);
        if (rc) return rc;
    }
    return hrf_error(HRF_ENOMEM, "out of memory filling the feature block");
}

static int lsq_gram(void *ctx, double *G, double *Atu, double *utu) {
    hgn_lsq *c = ctx;
    const size_t n = c->cols;
    memset(G, 0, n * n * sizeof *G);
    memset(Atu, 0, n * sizeof *Atu);
    double t_fill = 0.0, t_all = hrf_now();
    for (size_t s0 = 0; s0 < c->S; s0 += c->chunk) {
        size_t ns = c->S - s0 < c->chunk ? c->S - s0 : c->chunk, nr = ns * c->rps;
        double tf = hrf_now();
        int rc = lsq_fill(c, s0, ns);
        t_fill += hrf_now() - tf;
        if (rc) return rc;
        /* blk row-major (nr, n) is column-major (n, nr): G += blk_cm blk_cmᵀ,
         * one group at a time (the same sums whatever the block size). */
        for (size_t g0 = 0; g0 < ns; g0 += c->group) {
            size_t ng = ns - g0 < c->group ? ns - g0 : c->group, gr = ng * c->rps;
            const double *bg = c->blk + g0 * c->rps * n;
            cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, (int)n, (int)gr, 1.0, bg, (int)n,
                        1.0, G, (int)n);
            cblas_dgemv(CblasColMajor, CblasNoTrans, (int)n, (int)gr, 1.0, bg, (int)n,
                        c->u + (s0 + g0) * c->rps, 1, 1.0, Atu, 1);
        }
        (void)nr;
    }
    *utu = cblas_ddot((int)(c->S * c->rps), c->u, 1, c->u, 1);
    hrf_debug("hgn Gram %zu x %zu: fill %.3f s, DSYRK %.3f s",
                c->S * c->rps, n, t_fill, hrf_now() - t_all - t_fill);
    return HRF_OK;
}

static int lsq_apply(void *ctx, const double *v, double *y) {
    hgn_lsq *c = ctx;
    for (size_t s0 = 0; s0 < c->S; s0 += c->chunk) {
        size_t ns = c->S - s0 < c->chunk ? c->S - s0 : c->chunk, nr = ns * c->rps;
        int rc = lsq_fill(c, s0, ns);
        if (rc) return rc;
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)nr, (int)c->cols, 1.0, c->blk, (int)c->cols,
                    v, 1, 0.0, y + s0 * c->rps, 1);
    }
    return HRF_OK;
}

static int lsq_apply_t(void *ctx, const double *y, double *v) {
    hgn_lsq *c = ctx;
    memset(v, 0, c->cols * sizeof *v);
    for (size_t s0 = 0; s0 < c->S; s0 += c->chunk) {
        size_t ns = c->S - s0 < c->chunk ? c->S - s0 : c->chunk, nr = ns * c->rps;
        int rc = lsq_fill(c, s0, ns);
        if (rc) return rc;
        for (size_t g0 = 0; g0 < ns; g0 += c->group) {
            size_t ng = ns - g0 < c->group ? ns - g0 : c->group, gr = ng * c->rps;
            cblas_dgemv(CblasRowMajor, CblasTrans, (int)gr, (int)c->cols, 1.0,
                        c->blk + g0 * c->rps * c->cols, (int)c->cols, y + (s0 + g0) * c->rps, 1,
                        1.0, v, 1);
        }
        (void)nr;
    }
    return HRF_OK;
}

static int lsq_assemble(void *ctx, double *A, double *u) {
    hgn_lsq *c = ctx;
    const size_t rows = c->S * c->rps, n = c->cols;
    for (size_t s0 = 0; s0 < c->S; s0 += c->chunk) {
        size_t ns = c->S - s0 < c->chunk ? c->S - s0 : c->chunk, nr = ns * c->rps;
        int rc = lsq_fill(c, s0, ns);
        if (rc) return rc;
        for (size_t k = 0; k < n; k++)
            for (size_t r = 0; r < nr; r++)
                A[s0 * c->rps + r + k * rows] = c->blk[r * n + k];
    }
    memcpy(u, c->u, rows * sizeof *u);
    return HRF_OK;
}

/* Streamed QR: T = [R; B] (column-major (n + nr) x n) is factorised block by
 * block and Qᵀ applied to [u_r; u_B]; at the end ‖Aθ − u‖² = ‖Rθ − u_r‖² + const.
 * The constant is the sum of squares of the entries n.. of every block's
 * transformed right-hand side (components orthogonal to the columns seen so
 * far, final once computed), kept in c->res2: the residual of any θ then
 * follows without another pass over A and without cancellation. */
static int lsq_reduce(void *ctx, size_t *rows_r, double **A_r, double **u_r) {
    hgn_lsq *c = ctx;
    const size_t n = c->cols;
    /* Sub-blocks of about 1 MB (in cache) are folded into R one after the
     * other by LAPACK's triangular-pentagonal QR (dtpqrt: the QR of [R; B]
     * that uses R's triangle), Qᵀ applied to [u_r; u_B] by dtpmqrt. */
    size_t sub = (size_t)(131072.0 / (double)n);
    if (sub < 64) sub = 64;
    const size_t nbt = n < 32 ? n : 32; /* dtpqrt's inner block size */
    double *B = malloc(sub * n * sizeof *B), *ub = malloc(sub * sizeof *ub);
    /* T zeroed: dtpqrt leaves the unused rows of a last narrower block alone */
    double *Tf = calloc(nbt * n, sizeof *Tf), *R = calloc(n * n, sizeof *R);
    double *ur = calloc(n, sizeof *ur), *wk = malloc(nbt * n * sizeof *wk);
    int rc = HRF_OK;
    if (!B || !ub || !Tf || !R || !ur || !wk) {
        rc = hrf_error(HRF_ENOMEM, "out of memory for the streamed QR (%zu x %zu)", sub, n);
        goto fail;
    }
    c->res2 = 0.0;
    double t_fill = 0.0, t_all = hrf_now();
    for (size_t s0 = 0; s0 < c->S; s0 += c->chunk) {
        size_t ns = c->S - s0 < c->chunk ? c->S - s0 : c->chunk, nr = ns * c->rps;
        double tf = hrf_now();
        if ((rc = lsq_fill(c, s0, ns))) goto fail;
        t_fill += hrf_now() - tf;
        /* sub-blocks within each group: the same sequence whatever the block size */
        const size_t gr = c->group * c->rps;
        for (size_t r0 = 0, mr; r0 < nr; r0 += mr) {
            size_t gend = (r0 / gr + 1) * gr < nr ? (r0 / gr + 1) * gr : nr;
            mr = gend - r0 < sub ? gend - r0 : sub;
            for (size_t k = 0; k < n; k++) /* blk is row-major: transpose into B (mr, n) */
                for (size_t r = 0; r < mr; r++)
                    B[r + k * mr] = c->blk[(r0 + r) * n + k];
            memcpy(ub, c->u + s0 * c->rps + r0, mr * sizeof *ub);
            /* the _work forms: no NaN scan of every block (the data are checked) */
            lapack_int info = LAPACKE_dtpqrt_work(LAPACK_COL_MAJOR, (lapack_int)mr, (lapack_int)n,
                                                  0, (lapack_int)nbt, R, (lapack_int)n, B,
                                                  (lapack_int)mr, Tf, (lapack_int)nbt, wk);
            if (!info)
                info = LAPACKE_dtpmqrt_work(LAPACK_COL_MAJOR, 'L', 'T', (lapack_int)mr, 1,
                                            (lapack_int)n, 0, (lapack_int)nbt, B, (lapack_int)mr,
                                            Tf, (lapack_int)nbt, ur, (lapack_int)n, ub,
                                            (lapack_int)mr, wk);
            if (info) {
                rc = hrf_error(HRF_ENUMERIC, "streamed QR failed (LAPACK info %d)", (int)info);
                goto fail;
            }
            for (size_t r = 0; r < mr; r++)
                c->res2 += ub[r] * ub[r];
        }
    }
    hrf_debug("hgn streamed QR %zu x %zu: fill %.3f s, QR %.3f s",
                c->S * c->rps, n, t_fill, hrf_now() - t_all - t_fill);
    free(B), free(ub), free(Tf), free(wk);
    *rows_r = n, *A_r = R, *u_r = ur;
    return HRF_OK;
fail:
    free(B), free(ub), free(Tf), free(R), free(ur), free(wk);
    return rc;
}

static void lsq_free(hgn_lsq *c) {
    free(c->blk), free(c->u);
    if (c->w)
        for (int t = 0; t < c->nthreads; t++)
            work_free(&c->w[t]);
    free(c->w);
    c->w = NULL;
}

/* The problem of one part. With the linear kinetic feature, kT = 1 keeps its
 * column (the public problem), kT = 0 leaves it out and subtracts a fixed
 * θ_T·p_ia/m_i = thT·∂T_lin/∂p_ia from the momentum rows' targets (the fit's
 * second stage, see solve_theta). */
static int lsq_init(hgn_lsq *c, const hrf_hgn *m, const hrf_pdata *d, hrf_hgn_part part, int kT,
                    double thT, const pair_cache *pc, size_t stride) {
    memset(c, 0, sizeof *c);
    c->m = m, c->d = d, c->part = part, c->pc = pc, c->stride = stride ? stride : 1;
    c->kT = m->klin && kT && part != HRF_HGN_PART_POTENTIAL;
    hrf_hgn_graph_of(d, &c->g);
    c->S = (d->S + c->stride - 1) / c->stride, c->N = d->N, c->D = d->D;
    c->nd = d->N * (size_t)d->D;
    c->rps = part == HRF_HGN_PART_JOINT ? 2 * c->nd : c->nd;
    c->cols = part == HRF_HGN_PART_POTENTIAL ? m->ME + m->MN
              : part == HRF_HGN_PART_KINETIC ? m->MK + (size_t)c->kT
                                             : m->ME + m->MN + m->MK + (size_t)c->kT;
    size_t want = MIN_BLOCK_ROWS > 2 * c->cols ? MIN_BLOCK_ROWS : 2 * c->cols;
    c->group = (want + c->rps - 1) / c->rps;
    if (c->group > c->S) c->group = c->S;
    if (c->group < 1) c->group = 1;
    /* at least one snapshot per thread in a block, within BLOCK_BYTES_MAX */
    c->nthreads = omp_get_max_threads();
    if (c->nthreads < 1) c->nthreads = 1;
    double group_bytes = 8.0 * (double)(c->group * c->rps) * (double)c->cols;
    size_t ngroups = ((size_t)c->nthreads + c->group - 1) / c->group;
    size_t fit = (size_t)(BLOCK_BYTES_MAX / group_bytes);
    if (ngroups > fit) ngroups = fit;
    if (ngroups < 1) ngroups = 1;
    c->chunk = ngroups * c->group;
    if (c->chunk > c->S) c->chunk = c->S;
    if ((size_t)c->nthreads > c->chunk) c->nthreads = (int)c->chunk;
    c->blk = malloc(c->chunk * c->rps * c->cols * sizeof *c->blk);
    c->u = malloc(c->S * c->rps * sizeof *c->u);
    c->w = calloc((size_t)c->nthreads, sizeof *c->w);
    int rc = c->w ? HRF_OK : hrf_error(HRF_ENOMEM, "out of memory");
    for (int t = 0; t < c->nthreads && !rc && c->w; t++)
        rc = work_init(&c->w[t], work_width(m));
    if (!rc && (!c->blk || !c->u))
        rc = hrf_error(HRF_ENOMEM, "out of memory for a %zu x %zu feature block", c->chunk * c->rps,
                       c->cols);
    if (rc) {
        lsq_free(c);
        return rc;
    }
    for (size_t ps = 0; ps < c->S; ps++) {
        const size_t s = ps * c->stride;
        double *us = c->u + ps * c->rps;
        const double *dq = d->dqdt + s * c->nd, *dp = d->dpdt + s * c->nd;
        if (part != HRF_HGN_PART_KINETIC)
            for (size_t t = 0; t < c->nd; t++)
                us[t] = -dp[t];
        if (part != HRF_HGN_PART_POTENTIAL) {
            double *uk = part == HRF_HGN_PART_JOINT ? us + c->nd : us;
            const double *p = d->p + s * c->nd;
            for (size_t t = 0; t < c->nd; t++)
                uk[t] =
                    dq[t] - (thT != 0.0 ? thT * p[t] / (d->mass ? d->mass[t / c->D] : 1.0) : 0.0);
        }
    }
    return HRF_OK;
}

static void lsq_problem(hgn_lsq *c, hrf_lsq_problem *prob) {
    memset(prob, 0, sizeof *prob);
    const double rows = (double)(c->S * c->rps), n = (double)c->cols;
    prob->rows = c->S * c->rps, prob->cols = c->cols, prob->ctx = c, prob->u = c->u;
    prob->assemble = lsq_assemble, prob->gram = lsq_gram;
    prob->apply = lsq_apply, prob->apply_t = lsq_apply_t;
    prob->reduce = lsq_reduce;
    prob->reduce_rows = c->cols;
    /* dtpqrt of every sub-block B (mr x n) under R: 2 mr n² */
    prob->reduce_flops = 2.0 * rows * n * n;
    prob->reduce_bytes = 8.0 * (131072.0 / n + 64.0 + 32.0 + 2.0 * n) * (n + 1.0);
    prob->gram_flops = rows * n * (n + 1.0);
    prob->apply_flops = 2.0 * rows * n;
    prob->extra_bytes = 8.0 * (double)(c->chunk * c->rps) * n;
}

int hrf_hgn_problem_dense(const hrf_hgn *m, const hrf_pdata *d, hrf_hgn_part part, size_t *rows,
                          size_t *cols, double **A, double **u) {
    *A = NULL, *u = NULL;
    int rc = check_pdata(d);
    if (rc) return rc;
    hgn_lsq c;
    if ((rc = lsq_init(&c, m, d, part, 1, 0.0, NULL, 1))) return rc;
    *rows = c.S * c.rps, *cols = c.cols;
    *A = malloc(*rows * *cols * sizeof **A);
    *u = malloc(*rows * sizeof **u);
    if (!*A || !*u)
        rc = hrf_error(HRF_ENOMEM, "out of memory for a %zu x %zu matrix", *rows, *cols);
    if (!rc) rc = lsq_assemble(&c, *A, *u);
    if (rc) free(*A), free(*u), *A = NULL, *u = NULL;
    lsq_free(&c);
    return rc;
}

int hrf_hgn_problem_gram(const hrf_hgn *m, const hrf_pdata *d, hrf_hgn_part part, double *G,
                         double *Atu) {
    int rc = check_pdata(d);
    if (rc) return rc;
    hgn_lsq c;
    if ((rc = lsq_init(&c, m, d, part, 1, 0.0, NULL, 1))) return rc;
    double utu;
    rc = lsq_gram(&c, G, Atu, &utu);
    for (size_t j = 0; j < c.cols; j++) /* mirror the upper triangle */
        for (size_t i = j + 1; i < c.cols; i++)
            G[i + j * c.cols] = G[j + i * c.cols];
    lsq_free(&c);
    return rc;
}

/* `auto` on a tall problem (rows > TALL_FACTOR · cols) takes the streamed QR
 * below: one pass over the data, like the Gram route, at twice the Gram's
 * flops, with the accuracy of a QR. Measured on Lennard-Jones (10 976
 * particles, 10 snapshots, 329 280 x 200, A-SWIM): relative force error on a
 * held-out snapshot 1.7e-7 with the QR, 1.2e-4 with the Gram + Cholesky
 * (its squared condition number); the LSQR refinement that repairs the Gram
 * needs two passes per iteration. */
#define TALL_FACTOR 50

/* The tall route: streamed QR → R θ ≈ u_r by column-pivoted QR of the
 * equilibrated R (what `auto` does for small problems, hamrf/lstsq.h), and
 * ‖Aθ − u‖ from R and the QR's residual sum, so A is formed once. */
static int solve_tall(hgn_lsq *c, const hrf_lstsq_params *lp, double *theta,
                      hrf_lstsq_report *rep) {
    const double t0 = hrf_now();
    const size_t n = c->cols, rows = c->S * c->rps;
    size_t nr;
    double *R = NULL, *ur = NULL;
    int rc = lsq_reduce(c, &nr, &R, &ur);
    if (rc) return rc;
    hrf_lsq_problem small;
    hrf_lsq_dense_ctx dctx;
    hrf_lsq_dense_problem(&small, &dctx, nr, n, R, ur);
    hrf_lstsq_params q = *lp;
    q.solver = HRF_SOLVER_QR, q.equilibrate = 1, q.use_reduce = 0, q.skip_residual = 1;
    rc = hrf_lstsq_solve(&small, &q, theta, rep);
    if (!rc) {
        double r2 = c->res2;
        for (size_t i = 0; i < nr; i++) {
            double y = -ur[i];
            for (size_t k = i; k < n; k++) /* R upper triangular */
                y += R[i + k * nr] * theta[k];
            r2 += y * y;
        }
        double u2 = 0.0;
        for (size_t i = 0; i < rows; i++)
            u2 += c->u[i] * c->u[i];
        rep->rel_residual = u2 > 0.0 ? sqrt(r2 / u2) : sqrt(r2);
        rep->used = HRF_SOLVER_QR;
        double rows_d = (double)rows, nd = (double)n;
        rep->flops += 2.0 * rows_d * nd * nd;
        snprintf(rep->reason, sizeof rep->reason,
                 "auto: tall problem (%zu x %zu, rows > %d x cols): streamed QR in one pass over "
                 "the data, then column-pivoted QR of the equilibrated %zu x %zu factor",
                 rows, n, TALL_FACTOR, nr, n);
        rep->seconds = hrf_now() - t0;
    }
    free(R), free(ur);
    return rc;
}

/* Solves one part into theta (cols), without the θ_T column: its value thT
 * is fixed (see solve_theta). Only every stride-th snapshot is used. */
static int solve_part(const hrf_hgn_params *p, const hrf_hgn *m, const hrf_pdata *d,
                      const pair_cache *pc, size_t stride, hrf_hgn_part part, double thT,
                      double *theta, hrf_lstsq_report *rep) {
    hgn_lsq c;
    int rc = lsq_init(&c, m, d, part, 0, thT, pc, stride);
    if (rc) return rc;
    hrf_lsq_problem prob;
    lsq_problem(&c, &prob);
    double limit = p->lstsq.mem_limit ? (double)p->lstsq.mem_limit : (double)hrf_mem_available();
    int fits = !(limit > 0.0) || prob.reduce_bytes + prob.extra_bytes <= limit;
    if (p->lstsq.solver == HRF_SOLVER_AUTO && prob.rows > (size_t)TALL_FACTOR * prob.cols && fits)
        rc = solve_tall(&c, &p->lstsq, theta, rep);
    else
        rc = hrf_lstsq_solve(&prob, &p->lstsq, theta, rep);
    lsq_free(&c);
    return rc;
}

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

static void reservoir_add(reservoir *r, const double *x, hrf_rng *rng) {
    size_t slot = r->seen < r->cap ? r->seen : (size_t)hrf_rng_below(rng, r->seen + 1);
    r->seen++;
    if (slot < r->cap) {
        memcpy(r->x + slot * r->dim, x, r->dim * sizeof *x);
        if (r->n < r->cap) r->n++;
    }
}

/* Distances (K_E) and kinetic inputs (K_K, 2) drawn from the data set, and
 * the pair cache *pc filled on the way (left empty, pc->off = NULL, when it
 * would take more than a quarter of the available memory). */
static int gather_points(const hrf_hgn_params *p, const hrf_pdata *d, hrf_rng *rng, reservoir *re,
                         reservoir *rk, reservoir *rn, size_t *edges, pair_cache *pc) {
    memset(pc, 0, sizeof *pc);
    double avail = (double)hrf_mem_available();
    double max_bytes = avail > 0.0 ? 0.25 * avail : 1073741824.0;
    int caching = (pc->off = malloc((d->S + 1) * sizeof *pc->off)) != NULL;
    pc->S = d->S;
    const size_t nd = d->N * d->D;
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
    double *r = malloc(CHUNK * sizeof *r), *u = malloc(3 * CHUNK * sizeof *u);
    pair_buf pb = {0};
    int rc = HRF_OK;
    if (!re->x || !rk->x || !r || !u) {
        rc = hrf_error(HRF_ENOMEM, "out of memory for %zu sample points", p->sample_points);
        goto done;
    }
    *edges = 0;
    for (size_t s = 0; s < d->S; s++) {
        const double *q = d->q + s * nd, *pp = d->p + s * nd;
        const uint32_t *pairs;
        size_t E;
        if ((rc = graph_pairs(&g, d->N, d->D, q, &pb, &pairs, &E))) goto done;
        *edges += E;
        if (caching) pc->off[s] = pc->n;
        for (size_t e0 = 0; e0 < E; e0 += CHUNK) {
            size_t ne = E - e0 < CHUNK ? E - e0 : CHUNK;
            pair_geometry(d->D, q, g.box, pairs, e0, ne, r, u);
            for (size_t e = 0; e < ne; e++)
                reservoir_add(re, r + e, rng);
            if (caching && !pair_cache_add(pc, pairs + 2 * e0, ne, r, u, max_bytes)) {
                pair_cache_free(pc);
                caching = 0;
            }
        }
        for (size_t i = 0; i < d->N; i++) {
            double x[2] = {0.0, d->mass ? 1.0 / d->mass[i] : 1.0};
            for (int a = 0; a < d->D; a++)
                x[0] += pp[i * d->D + a] * pp[i * d->D + a];
            reservoir_add(rk, x, rng);
        }
        for (size_t i = 0; i < d->N && rn->cap; i++) {
            double x[2] = {(double)s, (double)i};
            reservoir_add(rn, x, rng);
        }
    }
    if (caching) pc->off[d->S] = pc->n;
done:
    free(r), free(u), free(pb.p);
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
 * share of its pair energies) into f (K). */
static int node_inputs(const hrf_hgn *m, const hrf_pdata *d, const pair_cache *pc,
                       const reservoir *rn, const hrf_pair_potential *oracle, double *X,
                       double *f) {
    const size_t K = rn->n, N = d->N, nd = N * (size_t)d->D, ME = m->ME;
    node_id *ids = malloc(K * sizeof *ids);
    double *vN = f ? malloc(N * sizeof *vN) : NULL;
    work w;
    int rc = work_init(&w, work_width(m));
    if (!rc && (!ids || (f && !vN))) rc = hrf_error(HRF_ENOMEM, "out of memory");
    if (!rc) rc = work_nodes(&w, m, N);
    hrf_hgn_graph g;
    hrf_hgn_graph_of(d, &g);
    for (size_t t = 0; t < K && !rc; t++)
        ids[t] = (node_id){(size_t)rn->x[2 * t], (size_t)rn->x[2 * t + 1], t};
    if (!rc) qsort(ids, K, sizeof *ids, cmp_node_id);
    for (size_t t0 = 0, t1; t0 < K && !rc; t0 = t1) {
        const size_t s = ids[t0].s;
        for (t1 = t0; t1 < K && ids[t1].s == s; t1++)
            ;
        const double *q = d->q + s * nd;
        const uint32_t *pairs;
        const double *r = NULL;
        size_t E;
        if (pc) {
            pairs = pc->pairs + 2 * pc->off[s], r = pc->r + pc->off[s];
            E = pc->off[s + 1] - pc->off[s];
        } else if ((rc = graph_pairs(&g, N, d->D, q, &w.pb, &pairs, &E))) {
            break;
        }
        node_aggregate(m, N, d->D, q, g.box, pairs, E, r, w.a, NULL, &w);
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
    work_free(&w);
    return rc;
}

/* θ_N·h of the K node inputs X (K, M_E) under the current model into f (K). */
static void fitted_node_values(const hrf_hgn *m, size_t K, const double *X, double *f, work *w) {
    const size_t MN = m->MN;
    for (size_t t0 = 0; t0 < K; t0 += CHUNK) {
        size_t nt = K - t0 < CHUNK ? K - t0 : CHUNK;
        node_pre(m, nt, X + t0 * m->ME, w->z);
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
                          double *fK, work *w) {
    for (size_t t = 0; t < re->n; t++)
        fE[t] = hrf_hgn_pair_energy(m, re->x[t], NULL);
    for (size_t t0 = 0; t0 < rk->n; t0 += CHUNK) {
        size_t nt = rk->n - t0 < CHUNK ? rk->n - t0 : CHUNK;
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

/* Solves θ (split or joint) for the current encoders on every stride-th snapshot. */
static int solve_theta(const hrf_hgn_params *p, hrf_hgn *m, const hrf_pdata *d,
                       const pair_cache *pc, size_t stride, hrf_hgn_fit_report *rep) {
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
        m->thT = den > 0.0 ? num / den : 0.0;
    }
    /* θ = [θ_E, θ_N, θ_K] (θ_N only in mp mode) */
    const size_t nP = m->ME + m->MN;
    double *theta = malloc((nP + m->MK) * sizeof *theta);
    if (!theta) return hrf_error(HRF_ENOMEM, "out of memory");
    if (p->joint) {
        rc = solve_part(p, m, d, pc, stride, HRF_HGN_PART_JOINT, m->thT, theta, &rep->lstsq_E);
    } else {
        rc = solve_part(p, m, d, pc, stride, HRF_HGN_PART_POTENTIAL, 0.0, theta, &rep->lstsq_E);
        if (!rc)
            rc = solve_part(p, m, d, pc, stride, HRF_HGN_PART_KINETIC, m->thT, theta + nP,
                            &rep->lstsq_K);
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
static cJSON *hgn_provenance(const hrf_hgn_params *p, const hrf_hgn_fit_report *rep,
                             const hrf_pdata *d) {
    cJSON *o = cJSON_CreateObject();
    cJSON *dm = HRF_META(d) ? cJSON_Duplicate(HRF_META(d), 1) : cJSON_CreateObject();
    if (!o || !dm) {
        cJSON_Delete(o), cJSON_Delete(dm);
        return NULL;
    }
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
    cJSON_AddNumberToObject(o, "n_snapshots", (double)d->S);
    cJSON_AddNumberToObject(o, "n_particles", (double)d->N);
    cJSON_AddNumberToObject(o, "dim", d->D);
    cJSON_DeleteItemFromObjectCaseSensitive(dm, "format");
    cJSON_DeleteItemFromObjectCaseSensitive(dm, "kind");
    cJSON_DeleteItemFromObjectCaseSensitive(dm, "version");
    const cJSON *sys = cJSON_GetObjectItemCaseSensitive(dm, "system");
    if (cJSON_IsString(sys)) cJSON_AddStringToObject(o, "system", sys->valuestring);
    cJSON_AddItemToObject(o, "data_meta", dm);
    return o;
}

int hrf_hgn_fit(const hrf_hgn_params *p, const hrf_pdata *data, hrf_hgn **out,
                hrf_hgn_fit_report *rep) {
    hrf_hgn_fit_report local;
    if (!rep) rep = &local;
    memset(rep, 0, sizeof *rep);
    *out = NULL;
    const char *msg = hrf_hgn_params_check(p);
    if (msg) return hrf_error(HRF_EINVAL, "%s", msg);
    int rc = check_pdata(data);
    if (rc) return rc;
    hrf_pair_potential oracle;
    memset(&oracle, 0, sizeof oracle);
    if (p->sampler->needs_values) {
        if (p->potential)
            oracle = *p->potential;
        else if ((rc = potential_from_meta(HRF_META(data), &oracle)))
            return rc;
    }
    double t_start = hrf_now();
    hrf_hgn *m = hgn_alloc(p->act, p->edge_width, p->kinetic_width,
                           p->mode == HRF_HGN_MP ? p->node_width : 0);
    if (m) m->klin = p->kinetic_linear != 0;
    reservoir re = {0}, rk = {0}, rn = {0};
    pair_cache pc = {0};
    double *fE = NULL, *fK = NULL, *XN = NULL, *fN = NULL;
    work w = {0};
    if (!m) {
        rc = hrf_error(HRF_ENOMEM, "out of memory");
        goto fail;
    }
    hrf_rng rng;
    hrf_rng_seed(&rng, p->seed);
    double ts = hrf_now();
    if ((rc = gather_points(p, data, &rng, &re, &rk, &rn, &rep->edges, &pc))) goto fail;
    if (re.n < 2 && p->sampler->density != HRF_PAIRS_NONE) {
        rc = hrf_error(HRF_EDATA,
                       "sampler '%s' draws pairs of distances and needs at least 2, the data "
                       "set has %zu interacting pairs in all",
                       p->sampler->name, re.n);
        goto fail;
    }
    if (re.n == 0) {
        rc = hrf_error(HRF_EDATA, "the data set has no interacting pairs");
        goto fail;
    }
    fE = malloc(re.n * sizeof *fE), fK = malloc(rk.n * sizeof *fK);
    if (m->MN) { /* node inputs (K, M_E) and values (K) */
        XN = malloc((rn.n ? rn.n : 1) * m->ME * sizeof *XN);
        fN = calloc(rn.n ? rn.n : 1, sizeof *fN);
        if (!XN || !fN)
            rc = hrf_error(HRF_ENOMEM, "out of memory for %zu node inputs", rn.n);
        else if (rn.n < 2 && p->sampler->density != HRF_PAIRS_NONE)
            rc = hrf_error(HRF_EDATA,
                           "sampler '%s' needs at least 2 particles for the node "
                           "encoder",
                           p->sampler->name);
        if (rc) goto fail;
    }
    if (!fE || !fK || (rc = work_init(&w, work_width(m)))) {
        rc = rc ? rc : hrf_error(HRF_ENOMEM, "out of memory");
        goto fail;
    }
    if (p->sampler->density == HRF_PAIRS_VALUES) { /* SWIM oracle */
        for (size_t t = 0; t < re.n; t++)
            fE[t] = hrf_pair_eval(&oracle, re.x[t], NULL);
        for (size_t t = 0; t < rk.n; t++)
            fK[t] = 0.5 * rk.x[2 * t] * rk.x[2 * t + 1]; /* |p|²/(2m) */
    }
    hrf_layer_sample_params lpE = {p->edge_width, -1.0, 1.0, p->resample_duplicates, p->act};
    hrf_layer_sample_params lpK = {p->kinetic_width, -1.0, 1.0, p->resample_duplicates, p->act};
    hrf_pair_density dens = p->sampler->density;
    if ((rc = sample_layer(dens, &lpE, re.n, 1, re.x, fE, &rng, m->WE, m->bE,
                           &rep->repeated_pairs)) ||
        (rc =
             sample_layer(dens, &lpK, rk.n, 2, rk.x, fK, &rng, m->WK, m->bK, &rep->repeated_pairs)))
        goto fail;
    /* mp: the node encoder, on the inputs a_i that the edge encoder just sampled gives */
    hrf_layer_sample_params lpN = {p->node_width, -1.0, 1.0, p->resample_duplicates, p->act};
    if (m->MN && ((rc = node_inputs(m, data, pc.off ? &pc : NULL, &rn, &oracle, XN,
                                    dens == HRF_PAIRS_VALUES ? fN : NULL)) ||
                  (rc = sample_layer(dens, &lpN, rn.n, m->ME, XN, fN, &rng, m->WN, m->bN,
                                     &rep->repeated_pairs))))
        goto fail;
    rep->sample_seconds += hrf_now() - ts;
    {
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
            double rows = (double)data->S * (double)data->N * (double)data->D;
            double want = (double)FIRST_PASS_ROWS * (double)(m->ME + m->MN + m->MK);
            stride = rows > want ? (size_t)(rows / want) : 1;
            if (stride > data->S) stride = data->S;
            if (stride < 1) stride = 1;
        }
        rep->first_pass_snapshots = (data->S + stride - 1) / stride;
        if ((rc = solve_theta(&p1, m, data, pc.off ? &pc : NULL, stride, rep))) goto fail;
    }
    rep->passes = 1;
    if (p->sampler->adaptive) {
        ts = hrf_now();
        fitted_values(m, &re, &rk, fE, fK, &w);
        if (m->MN) fitted_node_values(m, rn.n, XN, fN, &w); /* at the first encoders' a_i */
        if ((rc = sample_layer(HRF_PAIRS_VALUES, &lpE, re.n, 1, re.x, fE, &rng, m->WE, m->bE,
                               &rep->repeated_pairs)) ||
            (rc = sample_layer(HRF_PAIRS_VALUES, &lpK, rk.n, 2, rk.x, fK, &rng, m->WK, m->bK,
                               &rep->repeated_pairs)))
            goto fail;
        /* the same particles' values, at their inputs under the new edge encoder */
        if (m->MN && ((rc = node_inputs(m, data, pc.off ? &pc : NULL, &rn, NULL, XN, NULL)) ||
                      (rc = sample_layer(HRF_PAIRS_VALUES, &lpN, rn.n, m->ME, XN, fN, &rng, m->WN,
                                         m->bN, &rep->repeated_pairs))))
            goto fail;
        rep->sample_seconds += hrf_now() - ts;
        if ((rc = solve_theta(p, m, data, pc.off ? &pc : NULL, 1, rep))) goto fail;
        rep->passes = 2;
    }
    /* Anchor (see the top of the file): kinetic energy zero at rest, then
     * Ĥ(snapshot 0) = H(snapshot 0) through the per-pair constant. */
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
        for (size_t i0 = 0; i0 < data->N; i0 += CHUNK) {
            size_t ni = data->N - i0 < CHUNK ? data->N - i0 : CHUNK;
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
    if (data->H) { /* Ĥ − c_0 of snapshot 0, with its pairs from the cache */
        hrf_hgn_graph g;
        hrf_hgn_graph_of(data, &g);
        double h0;
        const uint32_t *pairs;
        size_t E0;
        work_free(&w);
        if ((rc = work_init(&w, work_width(m)))) goto fail;
        if (pc.off)
            pairs = pc.pairs, E0 = pc.off[1];
        else if ((rc = graph_pairs(&g, data->N, data->D, data->q, &w.pb, &pairs, &E0)))
            goto fail;
        if ((rc = eval_state(m, data->N, data->D, data->q, data->p, data->mass, g.box, pairs, E0,
                             &h0, NULL, NULL, &w)))
            goto fail;
        if (E0 > 0)
            m->cE = (data->H[0] - h0) / (double)E0;
        else
            m->c0 = data->H[0] - h0;
    }
    rep->fit_seconds = hrf_now() - t_start;
    free(re.x), free(rk.x), free(rn.x), free(fE), free(fK), free(XN), free(fN);
    pair_cache_free(&pc);
    work_free(&w);
    if (!(m->prov = hgn_provenance(p, rep, data))) {
        hrf_hgn_free(m);
        return hrf_error(HRF_ENOMEM, "out of memory");
    }
    *out = m;
    return HRF_OK;
fail:
    free(re.x), free(rk.x), free(rn.x), free(fE), free(fK), free(XN), free(fN);
    pair_cache_free(&pc);
    work_free(&w);
    hrf_hgn_free(m);
    return rc;
}

/* ---- files ---- */

/* The keys a graph network file's meta owns (src/models/model_file.h). */
static const char *const hgn_keys[] = {"mode",           "activation", "edge_width", "kinetic_width",
                                       "kinetic_linear", "node_width", NULL};

int hrf_hgn_save_meta(const hrf_hgn *m, const char *path, const cJSON *extra) {
    hrf_npz_writer *w;
    cJSON *meta;
    int rc = hrf_model_file_begin("hgn", m->prov, extra, hgn_keys, &w, &meta);
    if (rc) return rc;
    cJSON_AddStringToObject(meta, "mode", hrf_hgn_mode_name(m->mode));
    cJSON_AddStringToObject(meta, "activation", m->act->name);
    cJSON_AddNumberToObject(meta, "edge_width", (double)m->ME);
    cJSON_AddNumberToObject(meta, "kinetic_width", (double)m->MK);
    cJSON_AddBoolToObject(meta, "kinetic_linear", m->klin);
    if (m->MN) cJSON_AddNumberToObject(meta, "node_width", (double)m->MN);
    size_t sE1[2] = {m->ME, 1}, sE[1] = {m->ME}, sK2[2] = {m->MK, 2}, sK[1] = {m->MK};
    rc = hrf_npz_writer_add(w, "W_E", 2, sE1, m->WE);
    if (!rc) rc = hrf_npz_writer_add(w, "b_E", 1, sE, m->bE);
    if (!rc) rc = hrf_npz_writer_add(w, "theta_E", 1, sE, m->thE);
    if (!rc) rc = hrf_npz_writer_add(w, "W_K", 2, sK2, m->WK);
    if (!rc) rc = hrf_npz_writer_add(w, "b_K", 1, sK, m->bK);
    if (!rc) rc = hrf_npz_writer_add(w, "theta_K", 1, sK, m->thK);
    if (!rc) rc = hrf_npz_writer_add(w, "c0", 0, NULL, &m->c0);
    if (!rc) rc = hrf_npz_writer_add(w, "c_E", 0, NULL, &m->cE);
    if (!rc) rc = hrf_npz_writer_add(w, "c_K", 0, NULL, &m->cK);
    if (!rc) rc = hrf_npz_writer_add(w, "theta_T", 0, NULL, &m->thT);
    if (m->MN) {
        size_t sN2[2] = {m->MN, m->ME}, sN[1] = {m->MN};
        if (!rc) rc = hrf_npz_writer_add(w, "W_N", 2, sN2, m->WN);
        if (!rc) rc = hrf_npz_writer_add(w, "b_N", 1, sN, m->bN);
        if (!rc) rc = hrf_npz_writer_add(w, "theta_N", 1, sN, m->thN);
        if (!rc) rc = hrf_npz_writer_add(w, "c_N", 0, NULL, &m->cN);
    }
    if (rc) {
        cJSON_Delete(meta);
        hrf_npz_writer_free(w);
        return rc;
    }
    return hrf_model_file_finish(w, meta, NULL, NULL, path);
}

void hrf_hgn_set_provenance(hrf_hgn *m, cJSON *prov) {
    cJSON_Delete(m->prov);
    m->prov = prov;
}

const cJSON *hrf_hgn_provenance(const hrf_hgn *m) {
    return m->prov;
}

int hrf_hgn_load_meta(const char *path, hrf_hgn **out, cJSON **meta_out) {
    *out = NULL;
    if (meta_out) *meta_out = NULL;
    hrf_npz *z = NULL;
    cJSON *meta = NULL;
    double *WE = NULL, *bE = NULL, *thE = NULL, *WK = NULL, *bK = NULL, *thK = NULL, *c0 = NULL;
    double *cE = NULL, *cK = NULL, *thT = NULL, *WN = NULL, *bN = NULL, *thN = NULL, *cN = NULL;
    hrf_hgn *m = NULL;
    const hrf_activation *act = NULL;
    int rc = hrf_model_file_open(path, "hgn", &z, &meta, &act);
    if (rc) return rc;
    const cJSON *mode = cJSON_GetObjectItemCaseSensitive(meta, "mode");
    hrf_hgn_mode md;
    if (!cJSON_IsString(mode) || hrf_hgn_mode_find(mode->valuestring, &md)) {
        rc = hrf_error(HRF_EFORMAT, "%s: meta: expected \"mode\": \"pair\" or \"mp\"", path);
        goto done;
    }
    size_t sE1[2] = {0, 1}, sK2[2] = {0, 2};
    if ((rc = hrf_npz_read(z, "W_E", 2, sE1, &WE))) goto done;
    if ((rc = hrf_npz_read(z, "W_K", 2, sK2, &WK))) goto done;
    if (sE1[0] == 0 || sK2[0] == 0) {
        rc = hrf_error(HRF_EFORMAT,
                       "%s: entries 'W_E', 'W_K': widths must be positive, found "
                       "%zu and %zu",
                       path, sE1[0], sK2[0]);
        goto done;
    }
    size_t sE[1] = {sE1[0]}, sK[1] = {sK2[0]};
    if ((rc = hrf_npz_read(z, "b_E", 1, sE, &bE)) ||
        (rc = hrf_npz_read(z, "theta_E", 1, sE, &thE)) ||
        (rc = hrf_npz_read(z, "b_K", 1, sK, &bK)) ||
        (rc = hrf_npz_read(z, "theta_K", 1, sK, &thK)) ||
        (rc = hrf_npz_read(z, "c0", 0, NULL, &c0)) || (rc = hrf_npz_read(z, "c_E", 0, NULL, &cE)) ||
        (rc = hrf_npz_read(z, "c_K", 0, NULL, &cK)))
        goto done;
    if ((rc = hrf_check_finite(path, "W_E", WE, sE[0])) ||
        (rc = hrf_check_finite(path, "b_E", bE, sE[0])) ||
        (rc = hrf_check_finite(path, "theta_E", thE, sE[0])) ||
        (rc = hrf_check_finite(path, "W_K", WK, 2 * sK[0])) ||
        (rc = hrf_check_finite(path, "b_K", bK, sK[0])) ||
        (rc = hrf_check_finite(path, "theta_K", thK, sK[0])) ||
        (rc = hrf_check_finite(path, "c0", c0, 1)) || (rc = hrf_check_finite(path, "c_E", cE, 1)) ||
        (rc = hrf_check_finite(path, "c_K", cK, 1)))
        goto done;
    /* The exact kinetic feature (theta_T, meta "kinetic_linear") is newer than
     * the format: files without it are models without that feature. */
    const cJSON *kl = cJSON_GetObjectItemCaseSensitive(meta, "kinetic_linear");
    int klin = cJSON_IsTrue(kl);
    if (kl && !cJSON_IsBool(kl)) {
        rc = hrf_error(HRF_EFORMAT, "%s: meta: \"kinetic_linear\" must be true or false", path);
        goto done;
    }
    if (hrf_npz_has(z, "theta_T")) {
        if ((rc = hrf_npz_read(z, "theta_T", 0, NULL, &thT)) ||
            (rc = hrf_check_finite(path, "theta_T", thT, 1)))
            goto done;
    }
    if (!klin && thT && *thT != 0.0) {
        rc = hrf_error(HRF_EFORMAT,
                       "%s: entry 'theta_T' is %g but meta \"kinetic_linear\" is not "
                       "true",
                       path, *thT);
        goto done;
    }
    if ((rc = hrf_hgn_from_params(act, sE[0], WE, bE, thE, sK[0], WK, bK, thK, *c0, &m))) goto done;
    m->cE = *cE, m->cK = *cK;
    m->klin = klin, m->thT = thT ? *thT : 0.0;
    if (md == HRF_HGN_MP) {
        size_t sN2[2] = {0, sE[0]};
        if ((rc = hrf_npz_read(z, "W_N", 2, sN2, &WN))) goto done;
        size_t sN[1] = {sN2[0]};
        if ((rc = hrf_npz_read(z, "b_N", 1, sN, &bN)) ||
            (rc = hrf_npz_read(z, "theta_N", 1, sN, &thN)) ||
            (rc = hrf_npz_read(z, "c_N", 0, NULL, &cN)) ||
            (rc = hrf_check_finite(path, "c_N", cN, 1)))
            goto done;
        if ((rc = hrf_hgn_set_node(m, sN[0], WN, bN, thN))) {
            rc = hrf_error_prefix(HRF_EFORMAT, "%s: node encoder", path);
            goto done;
        }
        m->cN = *cN;
    }
    if (!(m->prov = hrf_model_provenance_of_meta(meta, hgn_keys))) {
        rc = hrf_error(HRF_ENOMEM, "out of memory");
        goto done;
    }
    *out = m;
    if (meta_out) {
        *meta_out = meta;
        meta = NULL;
    }
    rc = HRF_OK;
done:
    if (rc) {
        hrf_hgn_free(m);
        *out = NULL;
    }
    free(WE), free(bE), free(thE), free(WK), free(bK), free(thK), free(c0), free(cE), free(cK);
    free(thT), free(WN), free(bN), free(thN), free(cN);
    cJSON_Delete(meta);
    hrf_npz_close(z);
    return rc;
}

/* ---- tabulated pair potential ---- */

struct hrf_hgn_table {
    double r_min, r_max, h;
    size_t n;       /* intervals */
    double *V, *dV; /* (n + 1) node values */
    hrf_hgn *net;   /* copy of the model, for r outside [r_min, r_max] */
};

int hrf_hgn_table_new(const hrf_hgn *m, double r_min, double r_max, size_t n, hrf_hgn_table **out) {
    *out = NULL;
    if (!(isfinite(r_min) && isfinite(r_max) && r_min < r_max) || n == 0)
        return hrf_error(HRF_EINVAL,
                         "a pair-potential table needs finite r_min < r_max and at least one "
                         "interval (got [%g, %g], %zu)",
                         r_min, r_max, n);
    if (m->MN)
        return hrf_error(HRF_EINVAL, "an mp-mode graph network is not pairwise-additive: no "
                                     "pair-potential table (use mode pair)");
    hrf_hgn_table *t = calloc(1, sizeof *t);
    int rc = HRF_OK;
    if (!t || !(t->V = malloc((n + 1) * sizeof *t->V)) ||
        !(t->dV = malloc((n + 1) * sizeof *t->dV)) ||
        (rc = hrf_hgn_from_params(m->act, m->ME, m->WE, m->bE, m->thE, m->MK, m->WK, m->bK, m->thK,
                                  m->c0, &t->net))) {
        hrf_hgn_table_free(t);
        return rc ? rc : hrf_error(HRF_ENOMEM, "out of memory for a %zu-interval table", n);
    }
    t->net->cE = m->cE, t->net->cK = m->cK, t->net->klin = m->klin, t->net->thT = m->thT;
    t->r_min = r_min, t->r_max = r_max, t->n = n, t->h = (r_max - r_min) / (double)n;
    for (size_t i = 0; i <= n; i++)
        t->V[i] = hrf_hgn_pair_energy(m, i == n ? r_max : r_min + (double)i * t->h, &t->dV[i]);
    *out = t;
    return HRF_OK;
}

double hrf_hgn_table_eval(const hrf_hgn_table *t, double r, double *dVdr) {
    if (!(r >= t->r_min && r <= t->r_max)) return hrf_hgn_pair_energy(t->net, r, dVdr);
    double x = (r - t->r_min) / t->h;
    size_t i = (size_t)x;
    if (i >= t->n) i = t->n - 1;
    double s = x - (double)i, s2 = s * s, s3 = s2 * s, h = t->h;
    double V0 = t->V[i], V1 = t->V[i + 1], d0 = t->dV[i] * h, d1 = t->dV[i + 1] * h;
    if (dVdr)
        *dVdr = ((6.0 * s2 - 6.0 * s) * (V0 - V1) + (3.0 * s2 - 4.0 * s + 1.0) * d0 +
                 (3.0 * s2 - 2.0 * s) * d1) /
                h;
    return (2.0 * s3 - 3.0 * s2 + 1.0) * V0 + (s3 - 2.0 * s2 + s) * d0 +
           (3.0 * s2 - 2.0 * s3) * V1 + (s3 - s2) * d1;
}

void hrf_hgn_table_free(hrf_hgn_table *t) {
    if (!t) return;
    free(t->V), free(t->dV);
    hrf_hgn_free(t->net);
    free(t);
}

/* The public, JSON-text forms (hamrf/hgn.h). */
int hrf_hgn_save(const hrf_hgn *m, const char *path, const char *extra_json) {
    cJSON *extra = NULL;
    int rc = hrf_json_object_parse(extra_json, "hrf_hgn_save: extra meta", &extra);
    if (!rc) rc = hrf_hgn_save_meta(m, path, extra);
    cJSON_Delete(extra);
    return rc;
}

int hrf_hgn_load(const char *path, hrf_hgn **out, char **meta_json) {
    cJSON *meta = NULL;
    if (meta_json) *meta_json = NULL;
    int rc = hrf_hgn_load_meta(path, out, meta_json ? &meta : NULL);
    if (!rc && meta_json && !(*meta_json = hrf_json_print(meta))) {
        hrf_hgn_free(*out);
        *out = NULL;
        rc = hrf_error(HRF_ENOMEM, "out of memory");
    }
    cJSON_Delete(meta);
    return rc;
}
