/* Private to the library (and its tool and tests): the JSON forms of pair
 * potentials and particle systems, as data-set meta holds them; and what the
 * particle systems' files share among themselves (particles_pair.c,
 * particles.c, particles_forces.c, particles_init.c): the system struct, the
 * kinds of system, and the few functions one file calls in another. */
#ifndef HAMRF_SRC_PARTICLES_IMPL_H
#define HAMRF_SRC_PARTICLES_IMPL_H

#include <cjson/cJSON.h>
#include <stdatomic.h>

#include "hamrf/particles.h"

/* {"kind": NAME, <the kind's parameters>} (caller deletes), and back: a
 * missing parameter takes its default; the result is checked (HRF_EDATA). */
cJSON *hrf_pair_potential_json(const hrf_pair_potential *v);
int hrf_pair_potential_from_json(const cJSON *o, hrf_pair_potential *v);

/* The system's description as written into data-set meta (caller deletes):
 * system, topology, shape, dim, n_particles, potential, mass | density, box,
 * cutoff, n_bonds (docs/formats.md). */
cJSON *hrf_psystem_json(const hrf_psystem *s);

/* ---- shared by the particle systems' files only ---- */

/* A kind of system: its name, its ensemble of initial states and its
 * generation defaults. */
typedef struct psys_type {
    const char *name;
    double dt; /* default velocity Verlet step */
    size_t trajectories, snapshots, every;
    int (*init)(const hrf_psystem *s, const hrf_pdata_params *par, hrf_rng *rng, double *q,
                double *p);
} psys_type;

struct hrf_psystem {
    const psys_type *type;
    size_t N;
    int D;
    hrf_pair_potential v;
    double *mass;    /* (N) */
    double *rest;    /* (N, D) rest geometry / fcc lattice */
    uint32_t *bonds; /* (E, 2), i < j; NULL for cutoff systems */
    size_t n_bonds;
    double box, cutoff; /* periodic cubic box side and cutoff; 0 for bonded systems */
    /* description for meta */
    int has_topo;
    hrf_topology topo;
    size_t shape[3];
    double density; /* LJ: N / L³ */
    /* The field's Verlet lists (particles_md.c), one per state of a batch,
     * kept between the field's calls; md_busy: held by the thread using them
     * (another gets lists of its own for that call). */
    struct psys_md *md;
    atomic_int md_busy;
};

/* 4ε[(σ/r)¹² − (σ/r)⁶] without the shift (the LJ potential's and the force
 * kernel's shift V(rc)). */
static inline double psys_lj_raw(double eps, double sigma, double r) {
    const double s2 = (sigma / r) * (sigma / r), s6 = s2 * s2 * s2;
    return 4.0 * eps * (s6 * s6 - s6);
}

/* The forces f = −∂U/∂q (N, 3) at q of a periodic cutoff system (s->box > 0,
 * D = 3) for state k of the field's batch (particles_md.c): Verlet lists
 * with Newton's third law, threaded for large N, the same bits for the same
 * calls and thread count. HRF_OK, HRF_ENOMEM or the search's error. */
int psys_md_forces(const hrf_psystem *s, size_t k, const double *q, double *f);
/* Frees the lists of psys_md_forces (NULL-safe). */
void psys_md_free(struct psys_md *md);
/* State k's list (systems/verlet.h), NULL before its first use (tests). */
const struct hrf_vlist *psys_md_vlist(const hrf_psystem *s, size_t k);

/* The cells of a periodic cube of side box for pairs closer than cutoff
 * (particles_forces.c): nc per side and reach R (±R cells), or nc = 0 where
 * fewer than 2R + 1 fit (all pairs then). */
void psys_cells_setup(size_t N, double box, double cutoff, size_t *nc, int *R);

/* Kinetic energy Σ_i |p_i|²/(2 m_i) (particles_forces.c). */
double psys_kinetic(const hrf_psystem *s, const double *p);

/* The ensembles of initial states of the kinds springs, benchmark_ring and lj
 * (particles_init.c): fill q, p (N, D) from rng. */
int psys_springs_init(const hrf_psystem *s, const hrf_pdata_params *par, hrf_rng *rng, double *q,
                      double *p);
int psys_ring_init(const hrf_psystem *s, const hrf_pdata_params *par, hrf_rng *rng, double *q,
                   double *p);
int psys_lj_init(const hrf_psystem *s, const hrf_pdata_params *par, hrf_rng *rng, double *q,
                 double *p);

#endif
