/* Private to the library (and its tool and tests): the JSON forms of pair
 * potentials and particle systems, as data-set meta holds them. */
#ifndef HAMRF_SRC_PARTICLES_IMPL_H
#define HAMRF_SRC_PARTICLES_IMPL_H

#include <cjson/cJSON.h>

#include "hamrf/particles.h"

/* {"kind": NAME, <the kind's parameters>} (caller deletes), and back: a
 * missing parameter takes its default; the result is checked (HRF_EDATA). */
cJSON *hrf_pair_potential_json(const hrf_pair_potential *v);
int hrf_pair_potential_from_json(const cJSON *o, hrf_pair_potential *v);

/* The system's description as written into data-set meta (caller deletes):
 * system, topology, shape, dim, n_particles, potential, mass | density, box,
 * cutoff, n_bonds (docs/formats.md). */
cJSON *hrf_psystem_json(const hrf_psystem *s);

#endif
