/* Particle systems (docs/math.md §10): N particles in D = 1, 2, 3 dimensions with
 * masses m_i, positions q (N, D) and momenta p (N, D), row-major, and
 *   H = Σ_i |p_i|²/(2 m_i) + Σ_{interacting pairs (i,j)} V(r_ij).
 * Interactions are either a fixed bond list (mass–spring graphs, the
 * benchmark ring) or every pair closer than a cutoff in a periodic cubic box
 * with the minimum-image convention (Lennard-Jones), found with cell lists so
 * that one evaluation is O(N).
 *
 * Snapshot data sets (hrf_pdata) hold S snapshots of the same system with
 * exact time derivatives; their file is kind "particles" (docs/formats.md).
 *
 * Lifecycle: hrf_psystem_*_new → hrf_psystem_eval / hrf_psystem_simulate →
 * hrf_psystem_free; hrf_pdata_generate → hrf_pdata_save / hrf_pdata_load →
 * hrf_pdata_free. */
#ifndef HAMRF_PARTICLES_H
#define HAMRF_PARTICLES_H

#include "hamrf/export.h"

#include <stddef.h>
#include <stdint.h>

#include "hamrf/meta.h"
#include "hamrf/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- pair potentials ---- */

typedef enum {
    HRF_PAIR_HARMONIC = 0, /* k/2 (r − r0)² */
    HRF_PAIR_ANHARMONIC,   /* k/2 (r − r0)² + k4/4 (r − r0)⁴ */
    HRF_PAIR_MORSE,        /* De (1 − e^{−a(r − r0)})² */
    HRF_PAIR_LJ            /* 4ε[(σ/r)¹² − (σ/r)⁶] − V(rc) for r < rc, else 0 */
} hrf_pair_kind;

typedef struct hrf_pair_potential {
    hrf_pair_kind kind;
    double k, r0, k4, De, a; /* springs; defaults k = r0 = k4 = De = a = 1 */
    double eps, sigma, rc;   /* LJ; defaults ε = σ = 1, rc = 2.5σ */
} hrf_pair_potential;

/* Defaults of docs/math.md §10 for `kind`. */
HRF_API void hrf_pair_potential_default(hrf_pair_kind kind, hrf_pair_potential *v);
/* V(r); *dVdr (may be NULL) receives V'(r). */
HRF_API double hrf_pair_eval(const hrf_pair_potential *v, double r, double *dVdr);
/* "harmonic", "anharmonic", "morse", "lj"; HRF_ENOTFOUND with the list. */
HRF_API int hrf_pair_kind_find(const char *name, hrf_pair_kind *kind);
HRF_API const char *hrf_pair_kind_name(hrf_pair_kind kind);
/* NULL, or what is wrong with the parameters that `v->kind` uses (all finite;
 * k, r0, De, a, ε, σ, rc > 0; k4 ≥ 0). */
HRF_API const char *hrf_pair_potential_check(const hrf_pair_potential *v);
/* Sets one parameter by name: harmonic k, r0; anharmonic k, r0, k4; morse De,
 * a, r0; lj eps, sigma, rc (absolute). HRF_ENOTFOUND with the kind's list. */
HRF_API int hrf_pair_potential_set(hrf_pair_potential *v, const char *key, double value);

/* ---- systems ---- */

typedef enum { HRF_TOPO_CHAIN = 0, HRF_TOPO_RING, HRF_TOPO_LATTICE } hrf_topology;
/* "chain", "ring", "lattice"; HRF_ENOTFOUND with the list. */
HRF_API int hrf_topology_find(const char *name, hrf_topology *topo);
HRF_API const char *hrf_topology_name(hrf_topology topo);

typedef struct hrf_psystem hrf_psystem; /* opaque */

/* A mass–spring graph: chain (open) or ring of shape[0] particles, or a
 * square (D = 2, shape[0] x shape[1]) or cubic (D = 3, shape[0..2]) lattice
 * with bonds between lattice neighbours, rest spacing r0, all masses `mass`.
 * Chains lie along the first axis in any D. A ring's rest geometry is the
 * regular N-gon of side r0 in the plane of the first two axes, so every bond
 * is at rest length; rings therefore need D ≥ 2 (HRF_EINVAL for D = 1).
 * Unused extents (shape[1..2] of a chain or ring, shape[2] of a square
 * lattice) must be 0 or 1. Chains need N ≥ 2, rings N ≥ 3. Particle
 * index: chain/ring i; lattice (ix·ny + iy)·nz + iz (last axis fastest).
 * `v` NULL: harmonic defaults. */
HRF_API int hrf_psystem_springs_new(hrf_topology topo, const size_t shape[3], int D,
                                    const hrf_pair_potential *v, double mass, hrf_psystem **out);
/* The benchmark ring of Thangamuthu et al. (docs/math.md §10): a harmonic ring
 * of 5 particles in 2D, k = r0 = m = 1. Its initial states are its own
 * (hrf_psystem_init_state) and so are its generation defaults
 * (hrf_pdata_params_system_default). */
HRF_API int hrf_psystem_benchmark_ring_new(hrf_psystem **out);
/* Lennard-Jones in a periodic cubic box: N = 4 n³ particles (fcc), box side
 * L = (N / density)^{1/3}, masses 1. Refuses (HRF_ETOOBIG) sizes beyond the
 * available memory before allocating. D = 3. The box must hold the cutoff
 * sphere (L ≥ 2 rc, else HRF_EINVAL: at density 0.8442, N ≥ 108). `v` NULL:
 * LJ defaults. */
HRF_API int hrf_psystem_lj_new(size_t n_particles, double density, const hrf_pair_potential *v,
                               hrf_psystem **out);
HRF_API void hrf_psystem_free(hrf_psystem *s);

HRF_API size_t hrf_psystem_n(const hrf_psystem *s);
HRF_API int hrf_psystem_dim(const hrf_psystem *s);
HRF_API const double *hrf_psystem_masses(const hrf_psystem *s); /* (N) */
/* Bonds (E, 2) with i < j, or NULL for cutoff systems. */
HRF_API const uint32_t *hrf_psystem_bonds(const hrf_psystem *s, size_t *n_bonds);
/* Periodic box side (0 for open systems) and cutoff (0 for bonded systems). */
HRF_API double hrf_psystem_box(const hrf_psystem *s);
HRF_API double hrf_psystem_cutoff(const hrf_psystem *s);
HRF_API const hrf_pair_potential *hrf_psystem_potential(const hrf_psystem *s);
/* "springs", "benchmark_ring", "lj", or for a system rebuilt from a file of
 * another origin "bonded" / "periodic". */
HRF_API const char *hrf_psystem_name(const hrf_psystem *s);
/* Replaces the displacement d (D) by its minimum image (no-op without box). */
HRF_API void hrf_psystem_min_image(const hrf_psystem *s, double *d);

/* The rest geometry (bonded systems) or the fcc lattice (LJ): q (N, D). */
HRF_API void hrf_psystem_rest(const hrf_psystem *s, double *q);

/* H, and optionally dq/dt = p/m and dp/dt = −∂U/∂q (each (N, D), may be
 * NULL), at one state. O(N) for cutoff systems (cell lists); bitwise the
 * same for every OpenMP thread count. */
HRF_API int hrf_psystem_eval(const hrf_psystem *s, const double *q, const double *p, double *H,
                             double *dqdt, double *dpdt);

/* The interacting pairs at q: for bonded systems the bonds; for cutoff
 * systems every pair with minimum-image distance < cutoff (cell lists),
 * i < j, sorted by (i, j). *pairs (allocated, (E, 2)) and *n_pairs; the
 * caller frees *pairs. */
HRF_API int hrf_psystem_pairs(const hrf_psystem *s, const double *q, uint32_t **pairs,
                              size_t *n_pairs);

/* Velocity Verlet from (q, p) in place for `steps` steps of dt. Positions
 * are not wrapped into a periodic box (they stay continuous, so that
 * displacements x(t) − x(0) are meaningful); the minimum image is applied
 * to pair distances only. */
HRF_API int hrf_psystem_simulate(const hrf_psystem *s, double *q, double *p, double dt,
                                 size_t steps);
/* The same, carrying the force: on entry f (N, D) holds dp/dt at (q, p) (from
 * hrf_psystem_eval or a previous call), on return dp/dt at the final state,
 * and *H (may be NULL) the final energy: one force evaluation per step. */
HRF_API int hrf_psystem_verlet(const hrf_psystem *s, double *q, double *p, double *f, double dt,
                               size_t steps, double *H);

/* ---- snapshot data sets ---- */

typedef struct hrf_pdata {
    size_t S, N;         /* snapshots, particles */
    int D;               /* dimension */
    double *q, *p;       /* (S, N, D) */
    double *dqdt, *dpdt; /* (S, N, D) exact */
    double *H;           /* (S) exact total energy */
    double *mass;        /* (N) */
    uint32_t *bonds;     /* (E, 2) particle indices, or NULL (cutoff systems) */
    size_t n_bonds;      /* E */
    double box, cutoff;  /* periodic box side and cutoff, 0 if none */
    hrf_meta *meta;      /* system description (owned; hrf_meta_json gives the JSON text) */
    size_t trajectories; /* snapshots are trajectory-major: S / trajectories per trajectory */
    double *t;           /* (S) time since the start of the snapshot's trajectory, or NULL */
} hrf_pdata;

typedef struct hrf_pdata_params {
    size_t trajectories; /* T ≥ 1, default 1 */
    size_t snapshots;    /* S per trajectory ≥ 1, default 10 */
    size_t every;        /* integrator steps between snapshots, default 10 */
    double dt;           /* velocity Verlet step; 0 (default): the system's, 0.01 (LJ: 0.005) */
    double temperature;  /* LJ initial velocities; default 1.0 */
    double amplitude;    /* springs: uniform displacement amplitude in units of r0, 0.1 */
    double p_sigma;      /* springs: Gaussian momenta σ, 0.1 */
    uint64_t seed;       /* default 1 */
    size_t burn_in;      /* steps run before the first interval (not saved), default 0 */
} hrf_pdata_params;

/* Generic defaults; dt = 0 there means "the system's step": 0.01 springs,
 * 0.005 LJ, 1e-3 benchmark ring. */
HRF_API void hrf_pdata_params_default(hrf_pdata_params *p);
/* The defaults for `s` with dt explicit; the benchmark ring's are 100
 * trajectories of 100 snapshots every 100 steps of 1e-3 (docs/math.md §10). */
HRF_API void hrf_pdata_params_system_default(const hrf_psystem *s, hrf_pdata_params *p);
HRF_API const char *hrf_pdata_params_check(const hrf_pdata_params *p);

/* One random initial state of the system's ensemble (docs/math.md §10), drawn
 * from `rng`: springs: rest + U[−A r0, A r0] per coordinate (A = amplitude),
 * momenta N(0, p_sigma²) with the total momentum removed; benchmark ring:
 * q ~ U[0,2)², v ~ U[0,0.1)² minus the mean, p = m v; LJ: the fcc lattice,
 * Gaussian velocities, total momentum removed, then scaled so that
 * Σ m|v|² / (D(N − 1)) = temperature exactly. q, p (N, D). HRF_EINVAL for a
 * system without an ensemble ("bonded", "periodic"). */
HRF_API int hrf_psystem_init_state(const hrf_psystem *s, const hrf_pdata_params *par, hrf_rng *rng,
                                   double *q, double *p);

/* T trajectories from random initial states (docs/math.md §10), S snapshots each
 * (total S·T, trajectory-major) taken every `every` steps after the start:
 * snapshot k of a trajectory is at t = (burn_in + (k + 1)·every)·dt (the
 * initial state itself is not saved: the LJ fcc start has zero forces).
 * Refuses (HRF_ETOOBIG) sizes beyond the available memory before allocating;
 * HRF_EDATA if a trajectory becomes non-finite (dt too large). */
HRF_API int hrf_pdata_generate(const hrf_psystem *s, const hrf_pdata_params *p, hrf_pdata **out);
/* A particle data set from the caller's arrays (copied): q, p, dqdt, dpdt (S, N, D)
 * row-major, H (S) or NULL (then a fit anchors no energy), mass (N) or NULL (unit masses),
 * and either bonds (n_bonds, 2) with i < j < N, or a periodic cube of side box > 0 with
 * cutoff > 0 (box >= 2 cutoff). One trajectory, no meta (so no SWIM oracle: use the
 * other samplers). HRF_EDATA naming the array and index for NaN/Inf, bad bonds or masses;
 * HRF_ETOOBIG before allocating for sizes beyond the available memory. */
HRF_API int hrf_pdata_from_arrays(size_t S, size_t N, int D, const double *q, const double *p,
                                  const double *dqdt, const double *dpdt, const double *H,
                                  const double *mass, const uint32_t *bonds, size_t n_bonds,
                                  double box, double cutoff, hrf_pdata **out);
HRF_API int hrf_pdata_save(const hrf_pdata *d, const char *path);
HRF_API int hrf_pdata_load(const char *path, hrf_pdata **out);
/* A data set split over files (docs/mpi.md): the global snapshots are the
 * files' snapshots in the order given. hrf_pdata_count sums them from the
 * headers and checks that every file describes the same system (meta
 * system, topology, shape, dim, n_particles, potential, density; masses;
 * bonds or box and cutoff; H present or not), naming the first file that
 * differs. hrf_pdata_load_part reads snapshots [first, first + count) only,
 * each file by offset; its trajectories field is 1. */
HRF_API int hrf_pdata_count(const char *const *paths, size_t npaths, size_t *total);
HRF_API int hrf_pdata_load_part(const char *const *paths, size_t npaths, size_t first, size_t count,
                                hrf_pdata **out);
HRF_API void hrf_pdata_free(hrf_pdata *d);

/* The system a data set describes, rebuilt from its masses, bonds or box and
 * cutoff, and meta "potential" (HRF_EDATA if absent), for exact references
 * (eval against the truth, rollouts with --truth). meta "system" restores
 * the ensemble of hrf_psystem_init_state when it is one of ours. */
HRF_API int hrf_psystem_from_pdata(const hrf_pdata *d, hrf_psystem **out);

#ifdef __cplusplus
}
#endif

#endif
