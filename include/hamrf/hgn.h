/* The sampled Hamiltonian graph network (docs/math.md §10), modes "pair" and "mp":
 *
 *   Ĥ(q, p) = θ_E · Σ_{pairs (i,j)} e(r_ij) [+ θ_N · Σ_i h_i] + θ_K · Σ_i k_i
 *             + θ_T Σ_i |p_i|²/(2 m_i) + c_0,
 *   e(r)  = σ(w_E r + b_E)                     in R^{M_E}  (edge encoder, input 1-D)
 *   a_i   = Σ_{j∈N(i)} e(r_ij)                 in R^{M_E}  (sum aggregation; mp only)
 *   h_i   = σ(W_N a_i + b_N)                   in R^{M_N}  (node update; mp only)
 *   k_i   = σ(W_K [|p_i|², 1/m_i] + b_K)       in R^{M_K}  (kinetic encoder)
 *
 * "pair" is pairwise-additive (tabulable, transfers across topologies); "mp"
 * adds the many-body, degree-aware node term. Its gradient needs the chain
 * rule through a_i: ∂Ĥ_pot/∂q = Σ_pairs (θ_E + c_i + c_j)·∂e(r_ij)/∂r_ij ∂r_ij/∂q
 * with c_l = W_Nᵀ(θ_N ⊙ σ'(W_N a_l + b_N)) (src/hgn/hgn_features.c derives it).
 *
 * Deviation from RF-HGN's outline (ours, docs/math.md §10): the exact kinetic
 * feature. Besides the sampled kinetic encoder, the read-out has one linear
 * feature, the Newtonian kinetic energy T_lin(p) = Σ_i |p_i|²/(2 m_i), with its
 * own coefficient θ_T (in the momentum rows the column p_ia/m_i). θ_T is solved
 * first, alone (a one-column least squares), and the encoder then fits what is
 * left of dq/dt; for Newtonian data that remainder is zero, so θ_T = 1, θ_K = 0
 * and T(p) is represented exactly at every |p|, also beyond the momenta seen in
 * training. Why: a tanh encoder fits |p|² only over the range it was sampled
 * on, and a larger system draws more extreme momenta, so the kinetic part's
 * extrapolation dominated the zero-shot error (harmonic chain, 8 → 256
 * particles: mse_dxdt 5.8x the held-out value; with the feature the held-out
 * and zero-shot errors are at rounding level, 1e-26 to 1e-20). It is solved
 * first rather than jointly because encoder and feature are then nearly
 * dependent and a joint solve splits T between them arbitrarily (ELM: θ_T =
 * 0.16, and the encoder's share extrapolates badly). The encoder stays for
 * generality (kinetic energies that are not Newtonian). params.kinetic_linear
 * = 0 gives RF-HGN's outline (the sampled encoder alone). Model files: entry
 * theta_T and meta "kinetic_linear"; files without them load with θ_T = 0.
 *
 * r_ij is the pair distance (minimum image in a periodic box); the pairs are
 * a bond list or every pair closer than a cutoff. The encoders are sampled
 * (hamrf/sampler.h: ELM, U-SWIM, SWIM oracle, A-SWIM) and never trained; only
 * (θ_E, θ_N, θ_K, θ_T, c_0) are solved. Ĥ is separable, so the momentum rows
 * ∂Ĥ/∂p = dq/dt involve only θ_K, θ_T and the position rows ∂Ĥ/∂q = −dp/dt
 * only θ_E (mp: θ_E, θ_N): two least-squares problems (hamrf/lstsq.h) whose
 * matrices are streamed snapshot by snapshot, so memory is O(M²) plus a few
 * snapshots' feature blocks, whatever the number of snapshots.
 *
 * Fitting speed (ours). The pairs of every snapshot are found once per fit
 * and cached (40 bytes a pair, if that takes at most a quarter of the
 * available memory). Feature blocks are filled by OpenMP threads, one
 * snapshot per thread, each exactly as one thread alone would fill it, and
 * the BLAS calls see fixed groups of snapshots: the fit does not depend on
 * the number of threads. `auto` on a tall problem (rows > 50 x unknowns)
 * uses a streamed QR (LAPACK dtpqrt on ~1 MB sub-blocks), one pass over the
 * data with the accuracy of a QR, and takes the residual from the QR itself.
 * A-SWIM's first fit, which only weights the second sampling, uses every
 * k-th snapshot with k such that at least 50 rows per unknown remain.
 *
 * Constants (ours): each pair carries a constant energy c_E and each
 * particle c_K, Ĥ = Σ_pairs (θ_E·e + c_E) + Σ_i (θ_K·k_i + c_K) + c_0. c_K
 * makes the learned kinetic energy vanish at rest; c_E is set so that Ĥ
 * equals the exact H of the first snapshot (the anchor), and c_0 = 0 (it
 * takes the anchor only if that snapshot has no pairs). Unlike a global c_0
 * this keeps Ĥ extensive, so energies too transfer to another N.
 *
 * The unknowns do not depend on N or even on D: a model trained on an
 * 8-particle chain in 2D evaluates on any number of particles (zero shot).
 *
 * Lifecycle: hrf_hgn_params_default → set fields → hrf_hgn_params_check →
 * hrf_hgn_fit → hrf_hgn_eval / hrf_hgn_errors_on / hrf_hgn_save → hrf_hgn_free. */
#ifndef HAMRF_HGN_H
#define HAMRF_HGN_H

#include "hamrf/export.h"

#include <stddef.h>
#include <stdint.h>

#include "hamrf/activation.h"
#include "hamrf/comm.h"
#include "hamrf/lstsq.h"
#include "hamrf/particles.h"
#include "hamrf/progress.h"
#include "hamrf/sampler.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    HRF_HGN_PAIR = 0, /* pairwise-additive potential */
    HRF_HGN_MP        /* message passing: the node update h_i = σ(W_N a_i + b_N)
                         (docs/math.md §10) */
} hrf_hgn_mode;

HRF_API const char *hrf_hgn_mode_name(hrf_hgn_mode mode); /* "pair", "mp" */
/* HRF_ENOTFOUND with the list. */
HRF_API int hrf_hgn_mode_find(const char *name, hrf_hgn_mode *mode);

typedef struct hrf_hgn_params {
    hrf_hgn_mode mode;                   /* default HRF_HGN_PAIR */
    size_t edge_width;                   /* M_E > 0, default 200 */
    size_t kinetic_width;                /* M_K > 0, default 50 */
    size_t node_width;                   /* M_N > 0 (mode mp), default 100 */
    const hrf_sampler_type *sampler;     /* default A-SWIM */
    const hrf_activation *act;           /* default tanh */
    int resample_duplicates;             /* default 1 */
    size_t sample_points;                /* at most this many distances (and kinetic inputs) drawn
                                            at random from the data set form the sampler's
                                            training points; default 20000 (bounds the SWIM pool) */
    const hrf_pair_potential *potential; /* SWIM oracle: the true V(r); NULL (default) = read
                                            the data set's meta "potential" */
    int joint;                           /* 1: one joint solve instead of the separable split
                                            (for comparison; same θ in exact arithmetic); default 0 */
    int kinetic_linear;                  /* 1 (default): the kinetic part also has the exact
                                            Newtonian feature Σ_i |p_i|²/(2 m_i) with coefficient
                                            θ_T (one more column of the kinetic solve); 0: the
                                            sampled kinetic encoder alone, as in RF-HGN's outline
                                            (docs/math.md §10) */
    uint64_t seed;                       /* default 1 */
    hrf_lstsq_params lstsq;
    hrf_progress_fn progress; /* may be NULL: stages "sampling", "solving", "resampling
                                 (A-SWIM)", "solving (A-SWIM)", "done", and the solves'
                                 passes over the snapshots */
    void *progress_user;
    /* Processes sharing the fit (hamrf/comm.h, docs/mpi.md): each passes its
     * own contiguous block of the snapshots (rank order) and the same
     * parameters; the model is the same on every rank. NULL (default): one
     * process. */
    const hrf_comm *comm;
} hrf_hgn_params;

HRF_API void hrf_hgn_params_default(hrf_hgn_params *p);
/* NULL or a message a user can act on. */
HRF_API const char *hrf_hgn_params_check(const hrf_hgn_params *p);

typedef struct hrf_hgn_fit_report {
    double fit_seconds;          /* everything */
    double sample_seconds;       /* gathering the sampler's points and sampling, all passes */
    double solve_seconds;        /* least squares (Gram accumulation included), all passes */
    int passes;                  /* 2 for A-SWIM */
    size_t first_pass_snapshots; /* snapshots A-SWIM's first fit used (every k-th, k chosen so
                                    that at least 50 rows per unknown remain); S otherwise */
    size_t edges;                /* interacting pairs summed over the training snapshots */
    size_t repeated_pairs;       /* SWIM pairs that had to repeat (pool too small) */
    hrf_lstsq_report lstsq_E;    /* final potential solve (the joint solve when joint = 1) */
    hrf_lstsq_report lstsq_K;    /* final kinetic solve (unset when joint = 1) */
} hrf_hgn_fit_report;

typedef struct hrf_hgn hrf_hgn; /* opaque */

/* Mode mp: h_i = σ(W_N a_i + b_N) in R^{M_N} with a_i = Σ_{j∈N(i)} e(r_ij)
 * (the sum of the edge encoder over the particle's pairs) and the read-out
 * term θ_N · Σ_i h_i; each node carries the constant c_N = −θ_N·σ(b_N), so
 * that a particle without neighbours has no node energy. The node encoder
 * is sampled like the others, on inputs a_i (M_E-dim) of particles drawn
 * from the data set (ELM: standardised inputs, weights further scaled by
 * 1/√M_E; SWIM oracle: values ½ Σ_j V(r_ij); A-SWIM: the first fit's
 * θ_N·h_i). The position rows have the unknowns [θ_E, θ_N].
 *
 * Errors: HRF_EINVAL (parameters, with _check's message), HRF_EDATA (empty
 * data set, D outside 1..3, missing arrays, no interactions — neither bonds
 * nor a cutoff —, a SWIM oracle without a known potential). */
HRF_API int hrf_hgn_fit(const hrf_hgn_params *p, const hrf_pdata *data, hrf_hgn **out,
                        hrf_hgn_fit_report *rep);

/* A model from given parameters (copied): W_E (M_E), b_E (M_E), theta_E (M_E),
 * W_K (M_K, 2) row-major, b_K (M_K), theta_K (M_K), c0; c_E = c_K = 0.
 * HRF_EINVAL for a zero width or non-finite values. */
HRF_API int hrf_hgn_from_params(const hrf_activation *act, size_t edge_width, const double *W_E,
                                const double *b_E, const double *theta_E, size_t kinetic_width,
                                const double *W_K, const double *b_K, const double *theta_K,
                                double c0, hrf_hgn **out);
HRF_API void hrf_hgn_free(hrf_hgn *m); /* NULL-safe */
/* Makes m an mp model with node encoder W_N (node_width, M_E) row-major,
 * b_N (node_width) and read-out θ_N (node_width) (copied); c_N = 0.
 * HRF_EINVAL for a zero width or non-finite values. */
HRF_API int hrf_hgn_set_node(hrf_hgn *m, size_t node_width, const double *W_N, const double *b_N,
                             const double *theta_N);

HRF_API hrf_hgn_mode hrf_hgn_mode_of(const hrf_hgn *m);
HRF_API size_t hrf_hgn_edge_width(const hrf_hgn *m);
HRF_API size_t hrf_hgn_kinetic_width(const hrf_hgn *m);
HRF_API size_t hrf_hgn_node_width(const hrf_hgn *m); /* 0 in pair mode */
HRF_API const hrf_activation *hrf_hgn_activation(const hrf_hgn *m);
/* Read-only views: W_E (M_E), b_E, θ_E (M_E); W_K (M_K, 2), b_K, θ_K (M_K). */
HRF_API const double *hrf_hgn_W_E(const hrf_hgn *m);
HRF_API const double *hrf_hgn_b_E(const hrf_hgn *m);
HRF_API const double *hrf_hgn_theta_E(const hrf_hgn *m);
HRF_API const double *hrf_hgn_W_K(const hrf_hgn *m);
HRF_API const double *hrf_hgn_b_K(const hrf_hgn *m);
HRF_API const double *hrf_hgn_theta_K(const hrf_hgn *m);
/* mp: W_N (M_N, M_E), b_N, θ_N (M_N); NULL in pair mode. */
HRF_API const double *hrf_hgn_W_N(const hrf_hgn *m);
HRF_API const double *hrf_hgn_b_N(const hrf_hgn *m);
HRF_API const double *hrf_hgn_theta_N(const hrf_hgn *m);
HRF_API double hrf_hgn_node_offset(const hrf_hgn *m); /* c_N (0 in pair mode) */
HRF_API double hrf_hgn_c0(const hrf_hgn *m);
/* The linear kinetic feature: whether the model has it, and θ_T (0 if not). */
HRF_API int hrf_hgn_kinetic_linear(const hrf_hgn *m);
HRF_API double hrf_hgn_theta_T(const hrf_hgn *m);
/* Gives a model (e.g. from hrf_hgn_from_params, which has none) the linear
 * kinetic feature with coefficient theta_T (on = 1), or removes it (on = 0,
 * theta_T must be 0). HRF_EINVAL for a non-finite theta_T. */
HRF_API int hrf_hgn_set_kinetic_linear(hrf_hgn *m, int on, double theta_T);
/* The per-pair and per-particle constants c_E, c_K (either may be NULL). */
HRF_API void hrf_hgn_offsets(const hrf_hgn *m, double *cE, double *cK);

/* The interaction graph of one state: the pairs (n_pairs, 2) when `pairs`
 * is not NULL; otherwise every pair with r_ij < cutoff. box > 0 makes the
 * system periodic in a cube of that side (minimum image, for the pairs too).
 * Cutoff search: cell lists (O(N)) in a periodic box at least 3 cutoffs wide,
 * otherwise all pairs (O(N²)). */
typedef struct hrf_hgn_graph {
    const uint32_t *pairs; /* (n_pairs, 2) particle indices, or NULL */
    size_t n_pairs;
    double box;    /* periodic cube side, 0 = open */
    double cutoff; /* used when pairs is NULL; > 0 */
} hrf_hgn_graph;

/* The graph of a data set: its bonds, or its box and cutoff. */
HRF_API void hrf_hgn_graph_of(const hrf_pdata *d, hrf_hgn_graph *g);

/* The pairs of g at positions q (N, D), as hrf_hgn_eval uses them: *pairs
 * (malloc'd, (n, 2), i < j for a cutoff search), caller frees. */
HRF_API int hrf_hgn_graph_pairs(const hrf_hgn_graph *g, size_t N, int D, const double *q,
                                uint32_t **pairs, size_t *n_pairs);

/* Ĥ and Hamilton's equations of the model at one state of any N and D:
 * q, p (N, D) row-major, mass (N) (NULL = unit masses). Outputs (each may be
 * NULL): *H, dqdt = ∂Ĥ/∂p (N, D), dpdt = −∂Ĥ/∂q (N, D). */
HRF_API int hrf_hgn_eval(const hrf_hgn *m, size_t N, int D, const double *q, const double *p,
                         const double *mass, const hrf_hgn_graph *g, double *H, double *dqdt,
                         double *dpdt);

/* The learned pair potential V̂(r) = θ_E · σ(w_E r + b_E) + c_E; *dVdr (may
 * be NULL) receives V̂'(r). In mp mode this is the pair term alone (the node
 * term is not pairwise). */
HRF_API double hrf_hgn_pair_energy(const hrf_hgn *m, double r, double *dVdr);

/* Errors of a model on a data set (docs/math.md §7), over all snapshots. */
typedef struct hrf_hgn_errors {
    size_t snapshots, particles;
    int dim;
    int has_H;       /* 0 when the data set carries no energies */
    double rel_l2_H; /* ‖Ĥ − H‖/‖H‖ over snapshots; NaN without H */
    double rel_l2_grad; /* ‖∇Ĥ − (−dp/dt, dq/dt)‖ / ‖(−dp/dt, dq/dt)‖ over all entries */
    double mse_dxdt; /* mean over snapshots, particles and 2D coordinates of
                        (dx̂/dt − dx/dt)² */
} hrf_hgn_errors;

HRF_API int hrf_hgn_errors_on(const hrf_hgn *m, const hrf_pdata *d, hrf_hgn_errors *out);

/* Saves W_E (M_E, 1), b_E, theta_E, W_K (M_K, 2), b_K, theta_K, c0, c_E, c_K, theta_T, in mode
 * mp also W_N (M_N, M_E), b_N, theta_N, c_N, and meta: the model's provenance (how the fit
 * made it and the training data set's description), the members of `extra_json` (a JSON
 * object as text, or NULL), then kind "model", model "hgn", mode, activation, edge_width,
 * kinetic_width, kinetic_linear, mp: node_width (docs/formats.md). Atomic. */
HRF_API int hrf_hgn_save(const hrf_hgn *m, const char *path, const char *extra_json);
/* Loads and validates a model; *meta_json (may be NULL) receives the file's meta as JSON
 * text (free with free()). */
HRF_API int hrf_hgn_load(const char *path, hrf_hgn **out, char **meta_json);

/* ---- the least-squares problems, for diagnostics and tests ---- */

typedef enum {
    HRF_HGN_PART_POTENTIAL = 0, /* rows ∂Ĥ/∂q_ia = −dp_ia/dt, columns θ_E (mp: [θ_E, θ_N]) */
    HRF_HGN_PART_KINETIC,       /* rows ∂Ĥ/∂p_ia = dq_ia/dt, columns θ_K (and θ_T when the
                                   model has the linear kinetic feature) */
    HRF_HGN_PART_JOINT          /* both row sets (position rows first per snapshot),
                                   columns [θ_E, (θ_N,) θ_K (, θ_T)] */
} hrf_hgn_part;

/* The explicit matrix of one part for the model's encoders on a data set:
 * rows ordered (snapshot, [position|momentum,] particle, coordinate); *A
 * (rows x cols, column-major) and *u (rows) malloc'd, caller frees. */
HRF_API int hrf_hgn_problem_dense(const hrf_hgn *m, const hrf_pdata *d, hrf_hgn_part part,
                                  size_t *rows, size_t *cols, double **A, double **u);
/* The same problem's G = AᵀA (cols x cols, column-major, both triangles) and
 * Aᵀu (cols), accumulated snapshot by snapshot as the fit does. */
HRF_API int hrf_hgn_problem_gram(const hrf_hgn *m, const hrf_pdata *d, hrf_hgn_part part, double *G,
                                 double *Atu);

/* ---- tabulated pair potential (for fast rollouts) ----
 *
 * Cubic Hermite interpolation of V̂ and V̂' on n uniform intervals of width
 * h = (r_max − r_min)/n. Error bounds (Birkhoff & Priver 1967, sharp for
 * cubic Hermite on one interval):
 *   |V̂(r) − T(r)|   ≤ h⁴/384   · max |V̂⁗|,
 *   |V̂'(r) − T'(r)| ≤ √3 h³/216 · max |V̂⁗|,
 * over [r_min, r_max]; with tanh, max |V̂⁗| ≤ Σ_k |θ_E,k| w_E,k⁴ · max|tanh⁗|
 * (max|tanh⁗| ≈ 4.086). Outside [r_min, r_max] the network is evaluated
 * directly (exact, slower). */
typedef struct hrf_hgn_table hrf_hgn_table;

/* HRF_EINVAL unless r_min < r_max (finite) and n ≥ 1, and for mp models
 * (not pairwise-additive). */
HRF_API int hrf_hgn_table_new(const hrf_hgn *m, double r_min, double r_max, size_t n,
                              hrf_hgn_table **out);
/* T(r); *dVdr (may be NULL) receives T'(r). */
HRF_API double hrf_hgn_table_eval(const hrf_hgn_table *t, double r, double *dVdr);
HRF_API void hrf_hgn_table_free(hrf_hgn_table *t); /* NULL-safe */

/* ---- LAMMPS pair_style table (docs/formats.md "LAMMPS pair table") ----
 *
 * A pair-mode model's V̂(r) and F(r) = −V̂'(r) (the analytic derivative of
 * the network) on N points r_i = rlo + (rhi − rlo)·i/(N − 1), i = 0..N−1 (the
 * grid LAMMPS recomputes from the "N n R rlo rhi" line, so every tabulated
 * r is a point the network was evaluated at), rhi = the cutoff, shifted so
 * that the energy at the last point is exactly 0. FPRIME gives the analytic
 * dF/dr = −V̂''(r) at both ends. Every number with 17 significant digits. */
typedef struct hrf_hgn_lammps_table_params {
    size_t points;       /* N >= 2; default 100000 */
    double r_min;        /* rlo > 0; required (default 0) */
    double cutoff;       /* rhi = r_c > r_min; required (default 0) */
    const char *keyword; /* section keyword named in pair_coeff; default "HAMRF" */
    const char *units;   /* LAMMPS units for the header's UNITS: tag (LAMMPS checks it), or
                            NULL (no tag) */
    const char *source;  /* provenance for the header comment (the model file), or NULL */
} hrf_hgn_lammps_table_params;

HRF_API void hrf_hgn_lammps_table_params_default(hrf_hgn_lammps_table_params *p);
/* NULL or a message a user can act on. */
HRF_API const char *hrf_hgn_lammps_table_params_check(const hrf_hgn_lammps_table_params *p);

typedef struct hrf_hgn_lammps_table_report {
    double shift;      /* V̂(rhi), subtracted from every energy */
    double e_lo, f_lo; /* the table's first energy and force (at rlo) */
    double r_emin;     /* the grid point of the lowest energy */
    double e_min;      /* that energy (shifted) */
} hrf_hgn_lammps_table_report;

/* Writes the table file atomically. HRF_EINVAL for an mp-mode model (not
 * pairwise-additive) or bad parameters; HRF_ENUMERIC if V̂ or F is not
 * finite somewhere on the grid. rep may be NULL. */
HRF_API int hrf_hgn_lammps_table_write(const hrf_hgn *m, const hrf_hgn_lammps_table_params *p,
                                       const char *path, hrf_hgn_lammps_table_report *rep);

#ifdef __cplusplus
}
#endif

#endif
