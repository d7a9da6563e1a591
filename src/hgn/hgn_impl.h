/* Private to the library (and its command-line tool): the graph network's
 * model struct, the internal functions its source files share, and its file
 * and provenance functions with cJSON objects (the public API of hamrf/hgn.h
 * takes JSON text).
 *
 * The graph network's source files (src/hgn/), lowest first:
 *   hgn.c           the model object: modes, parameters, alloc/free, accessors
 *   hgn_graph.c     the interaction graph: bond list or cutoff pairs (cell lists)
 *   hgn_features.c  the encoders and the least-squares rows they give; mode mp's
 *                   node update and its chain rule
 *   hgn_eval.c      Ĥ and Hamilton's equations at a state, errors on a data set
 *   hgn_lsq.c       the separable streamed least-squares problems, the fit's pair cache
 *   hgn_fit.c       sampling the encoders and the fit (A-SWIM's two passes, the anchor)
 *   hgn_file.c      save and load through the model-file skeleton
 *   hgn_table.c     the tabulated pair potential
 *   hgn_model.c, hgn_field.c  the model type (hamrf/model.h) and the vector field
 *                   (hamrf/hgn_field.h), through the public API only.
 * Internal functions shared between the files are named hgn_* and have no
 * HRF_API: they are not exported (tests/check_api.sh). Each is documented
 * where it is defined. */
#ifndef HAMRF_SRC_HGN_IMPL_H
#define HAMRF_SRC_HGN_IMPL_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#include "hamrf/hgn.h"
#include "systems/verlet.h"

struct hrf_hgn {
    hrf_hgn_mode mode;
    const hrf_activation *act;
    size_t ME, MK, MN; /* MN = 0 in pair mode */
    double *slab;      /* one allocation: W_E | b_E | θ_E (M_E each) | W_K (M_K, 2) | b_K | θ_K
                          | W_N (M_N, M_E) | b_N | θ_N (M_N each) */
    double *WE, *bE, *thE, *WK, *bK, *thK, *WN, *bN, *thN;
    double cE, cK; /* constant energy per pair and per particle (the anchor, hgn_fit.c) */
    double cN;     /* mp: constant energy per node, −θ_N·σ(b_N) (an isolated node has none) */
    double c0;
    int klin;    /* 1: the kinetic part has the exact Newtonian feature Σ_i |p_i|²/(2 m_i) */
    double thT;  /* its coefficient θ_T (0 when klin = 0) */
    cJSON *prov; /* how it was made (src/models/model_file.h), or NULL */
};

/* Edges (or particles) per vectorised activation call. */
#define HGN_CHUNK 256
/* Minimum rows of one streamed block: small snapshots are grouped so that
 * DSYRK and the QR update work on blocks of useful size. */
#define HGN_MIN_BLOCK_ROWS 512

/* hrf_hgn_save / hrf_hgn_load with meta objects (extra may be NULL; *meta
 * receives the file's whole meta when meta is not NULL). */
int hrf_hgn_save_meta(const hrf_hgn *m, const char *path, const cJSON *extra);
int hrf_hgn_load_meta(const char *path, hrf_hgn **out, cJSON **meta);

/* How the model was made, written first into its file's meta: set by the
 * fits (hrf_hgn_fit) and by load.
 * set takes ownership of prov (may be NULL). */
void hrf_hgn_set_provenance(hrf_hgn *m, cJSON *prov);
const cJSON *hrf_hgn_provenance(const hrf_hgn *m);

/* ---- the model (hgn.c) ---- */

/* A zeroed model; MN > 0 makes it mode mp. NULL when out of memory. */
hrf_hgn *hgn_alloc(const hrf_activation *act, size_t ME, size_t MK, size_t MN);
/* The widest encoder: the scratch of the feature loops holds HGN_CHUNK rows of it. */
size_t hgn_work_width(const hrf_hgn *m);

/* ---- the interaction graph (hgn_graph.c) ---- */

/* A growing pair list (hgn_graph_pairs' cutoff search). */
typedef struct {
    uint32_t *p; /* (cap, 2) */
    size_t n, cap;
} hgn_pair_buf;

/* HRF_EINVAL / HRF_EDATA / HRF_ETOOBIG unless g is a valid graph of N particles. */
int hgn_check_graph(const hrf_hgn_graph *g, size_t N);
/* The pairs of g at q: the bond list itself, or a cutoff search into b. */
int hgn_graph_pairs(const hrf_hgn_graph *g, size_t N, int D, const double *q, hgn_pair_buf *b,
                    const uint32_t **pairs, size_t *E);

/* ---- the tabulated potential (hgn_table.c), here so that the field's
 * force loop (hgn_field.c) inlines its interpolation ---- */

struct hrf_hgn_table {
    double r_min, r_max, h, inv_h;
    size_t n;       /* intervals */
    double *V, *dV; /* (n + 1) node values */
    hrf_hgn *net;   /* copy of the model, for r outside [r_min, r_max] */
    /* optional (hgn_table_set_kinetic): a particle's kinetic energy T(s) of
     * s = |p|² for one inverse mass im, on [0, s_max] in nk intervals */
    double im, s_max, hs, inv_hs;
    size_t nk;
    double *T, *dT;
    /* the force factor g(s) = V'(r)/r of s = r² on [r_min², r_max²] in n
     * intervals (when the activation has σ''): G (n + 1, 2) holds g and
     * h_s·dg/ds at each node, so the force on i from j, g (q_i − q_j), needs
     * neither a square root nor a division */
    double s_lo, s_hi, hg, inv_hg;
    double *G;
};

/* g(s) = V'(r)/r at s = r² from the force table (caller checks t->G and the
 * range [s_lo, s_hi]). */
static inline double hgn_table_g(const hrf_hgn_table *t, double s) {
    double u = (s - t->s_lo) * t->inv_hg;
    size_t i = (size_t)u;
    if (i >= t->n) i = t->n - 1;
    const double x = u - (double)i, x2 = x * x, x3 = x2 * x;
    const double *g = t->G + 2 * i; /* g_i, h dg_i, g_i+1, h dg_i+1 */
    return (2.0 * x3 - 3.0 * x2 + 1.0) * g[0] + (x3 - 2.0 * x2 + x) * g[1] +
           (3.0 * x2 - 2.0 * x3) * g[2] + (x3 - x2) * g[3];
}

/* Cubic Hermite interpolation on [x0, x0 + n h] (nodes y, dy): the value at x
 * and, in *d, its derivative. Caller checks the range. */
static inline double hgn_hermite(const double *y, const double *dy, size_t n, double x0, double h,
                                 double inv_h, double x, double *d) {
    double u = (x - x0) * inv_h;
    size_t i = (size_t)u;
    if (i >= n) i = n - 1;
    double s = u - (double)i, s2 = s * s, s3 = s2 * s;
    double y0 = y[i], y1 = y[i + 1], d0 = dy[i] * h, d1 = dy[i + 1] * h;
    *d = ((6.0 * s2 - 6.0 * s) * (y0 - y1) + (3.0 * s2 - 4.0 * s + 1.0) * d0 +
          (3.0 * s2 - 2.0 * s) * d1) *
         inv_h;
    return (2.0 * s3 - 3.0 * s2 + 1.0) * y0 + (s3 - 2.0 * s2 + s) * d0 +
           (3.0 * s2 - 2.0 * s3) * y1 + (s3 - s2) * d1;
}

/* V(r) from the table, the network outside it; *dVdr its derivative. */
static inline double hgn_table_pair(const hrf_hgn_table *t, double r, double *dVdr) {
    if (!(r >= t->r_min && r <= t->r_max)) return hrf_hgn_pair_energy(t->net, r, dVdr);
    return hgn_hermite(t->V, t->dV, t->n, t->r_min, t->h, t->inv_h, r, dVdr);
}

/* ---- kinetic part, and its table (hgn_eval.c, hgn_table.c) ---- */

/* A particle's kinetic energy T(s) (c_K included) at s = |p|² and inverse
 * mass im; *dTds (may be NULL) = dT/ds. */
double hgn_kinetic_energy(const hrf_hgn *m, double s, double im, double *dTds);
/* Adds T(s) for inverse mass im on [0, s_max] in n intervals to a table. */
int hgn_table_set_kinetic(hrf_hgn_table *t, double im, double s_max, size_t n);
/* 1 when t has a kinetic table for inverse mass im. */
int hgn_table_has_kinetic(const hrf_hgn_table *t, double im);
/* T(s) from the table (the network beyond s_max); *dTds its derivative. */
double hgn_table_kinetic(const hrf_hgn_table *t, double s, double *dTds);

/* ---- Verlet pair lists (hgn_verlet.c) ---- */

/* The lists of src/systems/verlet.h (shared with the analytic systems' MD). */
typedef hrf_vlist hgn_verlet;

void hgn_verlet_free(hgn_verlet *v);
/* The candidate pairs of a cutoff graph g at q: the kept list, or a new
 * search within g->cutoff + skin when a particle has moved more than skin/2
 * since the last (skin reduced where the box is smaller than 2 (rc + skin);
 * skin 0 searches every time). The caller drops the pairs beyond the cutoff. */
int hgn_verlet_pairs(hgn_verlet *v, const hrf_hgn_graph *g, double skin, size_t N, int D,
                     const double *q, const uint32_t **pairs, size_t *E);

/* ---- the encoders and their rows (hgn_features.c) ---- */

/* Scratch for the edge, node and kinetic loops: HGN_CHUNK x max(M_E, M_K, M_N)
 * each; in mode mp also per-particle buffers (hgn_work_nodes). */
typedef struct {
    double *z, *s, *ds; /* (HGN_CHUNK, M) */
    double *r;          /* (HGN_CHUNK) distances */
    double *u;          /* (HGN_CHUNK, 3) unit vectors (q_i − q_j)/r */
    hgn_pair_buf pb;
    double *a;      /* mp: (N, M_E) aggregated edge features a_i, then c_i (eval) */
    double *dh;     /* mp: (N, M_N) σ'(W_N a_i + b_N) */
    double *f;      /* mp: (HGN_CHUNK, M_N) per-pair node-column features */
    size_t n_nodes; /* particles the node buffers hold */
} hgn_work;

int hgn_work_init(hgn_work *w, size_t M);
void hgn_work_free(hgn_work *w);
int hgn_work_nodes(hgn_work *w, const hrf_hgn *m, size_t N);
void hgn_pair_geometry(int D, const double *q, double L, const uint32_t *pairs, size_t e0,
                       size_t ne, double *r, double *u);
void hgn_edge_features(const hrf_hgn *m, size_t ne, const double *r, int want_s, hgn_work *w);
/* Σ_pairs Σ_k θ_E,k σ(w_E,k r + b_E,k), threaded, independent of the thread
 * count; distances from r (E) when not NULL, else from q (hgn_eval.c). */
int hgn_pair_energy_sum(const hrf_hgn *m, int D, const double *q, double L, const uint32_t *pairs,
                        const double *r, size_t E, double *V);
void hgn_kinetic_features(const hrf_hgn *m, int D, const double *p, const double *mass, size_t i0,
                          size_t ni, hgn_work *w);
void hgn_fill_potential(const hrf_hgn *m, int D, const double *q, double L, const uint32_t *pairs,
                        size_t E, const double *r, const double *u, double *blk, size_t ld,
                        double *phi, hgn_work *w);
void hgn_fill_potential_cols(const hrf_hgn *m, size_t k0, size_t k1, int D, const double *q,
                             double L, const uint32_t *pairs, size_t E, const double *r,
                             const double *u, double *blk, size_t ld, double *phi, hgn_work *w);
void hgn_fill_kinetic(const hrf_hgn *m, size_t N, int D, const double *p, const double *mass,
                      int kT, double *blk, size_t ld, double *psi, hgn_work *w);
/* mode mp */
void hgn_node_aggregate(const hrf_hgn *m, size_t N, int D, const double *q, double L,
                        const uint32_t *pairs, size_t E, const double *r, double *a, double *Vpair,
                        hgn_work *w);
void hgn_node_pre(const hrf_hgn *m, size_t ni, const double *a, double *y);
double hgn_node_layer(const hrf_hgn *m, size_t N, double *a, double *dh, int want_c, hgn_work *w);
int hgn_fill_potential_mp(const hrf_hgn *m, size_t N, int D, const double *q, double L,
                          const uint32_t *pairs, size_t E, const double *r, const double *u,
                          double *blk, size_t ld, hgn_work *w);

/* ---- evaluation (hgn_eval.c) ---- */

/* Ĥ − c_0 and the derivatives at one state with scratch w (pairs given). */
int hgn_eval_state(const hrf_hgn *m, size_t N, int D, const double *q, const double *p,
                   const double *mass, double L, const uint32_t *pairs, size_t E, double *H,
                   double *dqdt, double *dpdt, hgn_work *w);
/* HRF_EDATA unless d is a usable particle data set (arrays, graph, masses). */
int hgn_check_pdata(const hrf_pdata *d);

/* ---- the least-squares problems (hgn_lsq.c) ---- */

/* The interacting pairs of every snapshot with their distances and unit
 * vectors, found once per fit (gather_points, hgn_fit.c) instead of once per
 * pass over the data: snapshot s has the pairs [off[s], off[s+1]). 40 bytes
 * per pair; the fit keeps it only while it takes at most a quarter of the
 * available memory (else every pass searches the pairs again). */
typedef struct {
    size_t S;
    size_t *off;     /* (S + 1) */
    uint32_t *pairs; /* (E, 2) */
    double *r;       /* (E) */
    double *u;       /* (E, 3) (q_i − q_j)/r_ij, minimum image */
    size_t n, cap;   /* pairs stored, capacity */
} hgn_pair_cache;

void hgn_pair_cache_free(hgn_pair_cache *pc);
int hgn_pair_cache_add(hgn_pair_cache *pc, const uint32_t *pairs, size_t E, const double *r,
                       const double *u, double max_bytes);
/* Where a solve reports its passes over the snapshots: the fit's callback
 * (fn NULL: none), the stage name, and the part [lo, hi] of the fit's
 * progress the pass covers. */
typedef struct hgn_progress {
    hrf_progress_fn fn;
    void *user;
    const char *stage;
    double lo, hi;
} hgn_progress;

/* Solves one part of the read-out for m's encoders into theta (see hgn_lsq.c);
 * pr may be NULL. */
/* d holds the global snapshots [first, first + d->S) of p->comm's ranks
 * (first = 0 without comm); stride counts global snapshots. */
int hgn_solve_part(const hrf_hgn_params *p, const hrf_hgn *m, const hrf_pdata *d,
                   const hgn_pair_cache *pc, size_t first, size_t stride, hrf_hgn_part part,
                   double thT, double *theta, hrf_lstsq_report *rep, const hgn_progress *pr);

/* ---- the fit (hgn_fit.c) ---- */

/* The constants c_N, c_K, c_E, c_0 from the anchor data set (pc may be NULL). */
int hgn_anchor(hrf_hgn *m, const hrf_pdata *data, const hgn_pair_cache *pc);
/* The same with data's snapshots distributed over comm's ranks (rank 0
 * holding snapshot 0); comm may be NULL. */
int hgn_anchor_comm(hrf_hgn *m, const hrf_pdata *data, const hgn_pair_cache *pc,
                    const hrf_comm *comm);
/* n_snapshots, n_particles, dim, system, data_meta of d into a provenance o. */
int hgn_provenance_add_data(cJSON *o, const hrf_pdata *d);

#endif
