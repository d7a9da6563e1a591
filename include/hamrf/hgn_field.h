/* The sampled Hamiltonian graph network (hamrf/hgn.h) as a vector field
 * (hamrf/field.h), so that every integrator and the rollout code advance a
 * particle system under the learned Ĥ (MATH.md §4, §6.2).
 *
 * A particle state is flattened into one state vector as in hamrf/pfield.h:
 *   x = (q_1,1 .. q_N,D, p_1,1 .. p_N,D),   dim = 2·N·D.
 *
 * rhs evaluates every state with hrf_hgn_eval: dq/dt = ∂Ĥ/∂p, dp/dt = −∂Ĥ/∂q.
 * For a cutoff system the pair list is rebuilt at every evaluation (periodic
 * box, minimum image); positions are never wrapped into the box. energy = Ĥ;
 * Ĥ is separable (the kinetic encoder sees only p and the edge encoder only
 * q), so separable = 1 and leapfrog (Störmer–Verlet) applies; hamiltonian =
 * 1; jac = NULL (implicit schemes use central differences of rhs). */
#ifndef HAMRF_HGN_FIELD_H
#define HAMRF_HGN_FIELD_H

#include <stddef.h>

#include "hamrf/field.h"
#include "hamrf/hgn.h"
#include "hamrf/particles.h"
#include "hamrf/pfield.h"

/* What the field's callbacks need; owned by the caller, and everything it
 * points to must outlive the field. */
typedef struct hrf_hgn_field_ctx {
    const hrf_hgn *model;
    hrf_hgn_graph graph; /* bonds, or box and cutoff (pairs found at every evaluation) */
    size_t N;            /* particles */
    int D;               /* spatial dimension, 1..3 */
    const double *mass;  /* (N) masses, or NULL for unit masses */
} hrf_hgn_field_ctx;

/* Fills ctx for the model on the system of data set d (its graph, N, D and
 * masses; d must outlive the field). */
void hrf_hgn_field_ctx_of(hrf_hgn_field_ctx *ctx, const hrf_hgn *model, const hrf_pdata *d);

/* The field of ctx (dim = 2·N·D, separable, Hamiltonian, energy Ĥ). */
void hrf_hgn_field(hrf_hgn_field_ctx *ctx, hrf_field *f);

#endif
