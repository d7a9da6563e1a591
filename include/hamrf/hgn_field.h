/* The sampled Hamiltonian graph network (hamrf/hgn.h) as a vector field
 * (hamrf/field.h), so that every integrator and the rollout code advance a
 * particle system under the learned Ĥ (docs/math.md §8, §10).
 *
 * A particle state is flattened into one state vector as in hamrf/pfield.h:
 *   x = (q_1,1 .. q_N,D, p_1,1 .. p_N,D),   dim = 2·N·D.
 *
 * rhs evaluates every state with hrf_hgn_eval: dq/dt = ∂Ĥ/∂p, dp/dt = −∂Ĥ/∂q.
 * For a cutoff system the pair list is searched at every evaluation (periodic
 * box, minimum image), or kept as a Verlet list with a tabulated potential
 * (skin below); positions are never wrapped into the box. energy = Ĥ;
 * Ĥ is separable (the kinetic encoder sees only p and the edge encoder only
 * q), so separable = 1 and leapfrog (Störmer–Verlet) applies; hamiltonian =
 * 1; jac = NULL (implicit schemes use central differences of rhs). */
#ifndef HAMRF_HGN_FIELD_H
#define HAMRF_HGN_FIELD_H

#include "hamrf/export.h"

#include <stddef.h>

#include "hamrf/field.h"
#include "hamrf/hgn.h"
#include "hamrf/particles.h"
#include "hamrf/pfield.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the field's callbacks need; owned by the caller, and everything it
 * points to must outlive the field. */
typedef struct hrf_hgn_field_ctx {
    const hrf_hgn *model;
    hrf_hgn_graph graph; /* bonds, or box and cutoff (pairs found at every evaluation) */
    size_t N;            /* particles */
    int D;               /* spatial dimension, 1..3 */
    const double *mass;  /* (N) masses, or NULL for unit masses */
    /* Pair mode only: when not NULL, rhs takes the pair forces from this
     * tabulated V(r) (hrf_hgn_table: cubic Hermite, network outside its range)
     * and the kinetic part from the network; energy stays the network's Ĥ. */
    const hrf_hgn_table *table;
    /* Tabulated rollouts of cutoff systems: Verlet pair lists of cutoff + skin,
     * searched again only when a particle has moved more than skin/2 (0: a new
     * search at every evaluation). hrf_hgn_field_ctx_of sets 0.12 x cutoff (LAMMPS'
     * 0.3 sigma at rc = 2.5 sigma). The same pairs closer than the cutoff either
     * way; the sums may differ in the last bits (another order). */
    double skin;
    struct hrf_hgn_field_cache *cache; /* the lists (owned): hrf_hgn_field_ctx_release */
} hrf_hgn_field_ctx;

/* Fills ctx for the model on the system of data set d (its graph, N, D and
 * masses; d must outlive the field). Release it with hrf_hgn_field_ctx_release. */
HRF_API void hrf_hgn_field_ctx_of(hrf_hgn_field_ctx *ctx, const hrf_hgn *model, const hrf_pdata *d);
/* Frees what the field keeps between evaluations (the Verlet lists); ctx can
 * be used again. NULL-safe. */
HRF_API void hrf_hgn_field_ctx_release(hrf_hgn_field_ctx *ctx);

/* A table of the model's pair potential for rollouts from the states x0
 * (n, 2·N·D): r from 0.8 x the smallest pair distance at x0 to the cutoff
 * (cutoff systems) or 1.25 x the largest bond length, `intervals` intervals.
 * HRF_EINVAL for an mp-mode model (its energy is not pairwise). */
HRF_API int hrf_hgn_field_table(const hrf_hgn_field_ctx *ctx, size_t n, const double *x0,
                                size_t intervals, hrf_hgn_table **out);

/* The field of ctx (dim = 2·N·D, separable, Hamiltonian, energy Ĥ). */
HRF_API void hrf_hgn_field(hrf_hgn_field_ctx *ctx, hrf_field *f);

#ifdef __cplusplus
}
#endif

#endif
