/* Particle systems (hamrf/particles.h) as vector fields (hamrf/field.h), so
 * the integrators and rollouts of docs/math.md §8 advance them like any other
 * system: the exact reference of `hamrf rollout --truth` on particle data.
 *
 * State layout (shared with the graph network's field, hamrf/hgn_field.h):
 * a particle state (q (N, D), p (N, D)) is one vector
 *   x = (q_1,1 .. q_N,D, p_1,1 .. p_N,D),   dim = 2·N·D,
 * q first, each row-major (particle, coordinate), so the first half of x is
 * the positions, as the rollout metrics of docs/math.md §7 expect. Positions are
 * never wrapped into a periodic box (the minimum image applies to pair
 * distances only), so they stay continuous along a trajectory. */
#ifndef HAMRF_PFIELD_H
#define HAMRF_PFIELD_H

#include "hamrf/export.h"

#include <stddef.h>

#include "hamrf/field.h"
#include "hamrf/particles.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The exact field of s: rhs = (p/m, −∂U/∂q), energy = H (hrf_psystem_eval),
 * separable = 1, hamiltonian = 1, jac = NULL. s must outlive the field.
 * Periodic cutoff systems (Lennard-Jones) take the forces from Verlet lists
 * (docs/math.md §10, "MD of the analytic systems"), one per state of a batch,
 * kept in s between calls and freed by hrf_psystem_free: O(N) per state, the
 * same pairs as hrf_psystem_eval, summed in another order (the last bits
 * differ), the same bits for the same calls and thread count. The lists
 * serve one caller at a time; a caller on another thread meanwhile gets
 * lists of its own for that call. Bonded systems: hrf_psystem_eval. */
HRF_API void hrf_psystem_field(const hrf_psystem *s, hrf_field *f);

/* Flattens snapshots [s0, s0 + n) of d into states x (n, 2·N·D) as above. */
HRF_API void hrf_pdata_states(const hrf_pdata *d, size_t s0, size_t n, double *x);

#ifdef __cplusplus
}
#endif

#endif
