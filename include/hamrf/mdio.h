/* Molecular-dynamics files in and out (docs/formats.md, "Molecular-dynamics
 * files"): LAMMPS `dump custom` text files and extended XYZ (ASE's format)
 * read into a particle data set (hamrf/particles.h), and particle frames
 * written in both formats, so that LAMMPS trajectories train a graph network
 * and hamrf's data sets and rollouts open in OVITO, ASE or VMD.
 *
 * What a reader makes of a file: positions q unwrapped and continuous along
 * the frames, momenta p = m v, dq/dt = v (the file's velocities, exactly),
 * dp/dt = the file's forces, the periodic box side and the caller's cutoff;
 * the total energy H = E_pot + Σ|p_i|²/(2 m_i) when the file carries the
 * potential energy (extended XYZ key `energy`), else no H. D = 3. Atoms are
 * sorted by id (dump: column `id`; extended XYZ: column `id` if present,
 * else the file's order). Only orthogonal, fully periodic, cubic boxes that
 * stay fixed are accepted (the data set holds one cube side).
 *
 * Every rejection (triclinic or non-periodic box, missing column, an atom
 * count or id set that changes between frames, a non-numeric or non-finite
 * value, a truncated file, sizes beyond the available memory, checked before
 * allocating) is HRF_EFORMAT / HRF_EDATA / HRF_ETOOBIG with a message naming
 * the file, the frame, the line and what was expected. */
#ifndef HAMRF_MDIO_H
#define HAMRF_MDIO_H

#include "hamrf/export.h"

#include <stddef.h>
#include <stdint.h>

#include "hamrf/particles.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hrf_md_import_params {
    size_t every;         /* keep frames 0, k, 2k, ... of the file (k >= 1); default 1 */
    double cutoff;        /* r_c of the data set (> 0, at most half the box); required, default 0 */
    double mass;          /* > 0: every atom's mass; 0 (default): by type, else the file's column */
    size_t n_type_masses; /* masses by type label: */
    const char *const *type_labels; /* (n_type_masses) LAMMPS types as text ("1"), or extended
                                       XYZ species ("Ar") */
    const double *type_masses;      /* (n_type_masses) > 0 */
    size_t max_atoms;               /* refuse frames with more atoms; default 2^32 - 1 */
    const char *energy_column;      /* dump only: a per-atom potential energy column (e.g.
                                       c_pe of compute pe/atom); H = its sum + Σ|p|²/2m.
                                       NULL (default): no energies */
} hrf_md_import_params;

HRF_API void hrf_md_import_params_default(hrf_md_import_params *p);
/* NULL or a message a user can act on. */
HRF_API const char *hrf_md_import_params_check(const hrf_md_import_params *p);

/* A LAMMPS `dump custom` text file (docs/formats.md): columns id, type
 * (needed for masses by type), positions xu yu zu, or x y z with ix iy iz, or
 * x y z alone (then unwrapped by continuity: each atom moves less than half
 * the box between consecutive frames), vx vy vz, fx fy fz, optional mass; in
 * any order, other columns skipped. Masses: params->mass, else by type, else
 * the `mass` column. meta: source "lammps-dump", the file, every, frames,
 * timesteps, box_lo, units (ITEM: UNITS, if any), unwrap, type_labels and
 * (with several types) atom_types. */
HRF_API int hrf_lammps_dump_read(const char *path, const hrf_md_import_params *p, hrf_pdata **out);
/* An extended XYZ file (docs/formats.md): per frame the atom count, a
 * comment line with Lattice="...", Properties=name:T:m..., pbc (default
 * "T T T"), optional energy; columns species:S:1, pos:R:3, momenta:R:3 or
 * velocities/vel:R:3, forces:R:3, optional masses:R:1 and id:I:1, others
 * skipped. Masses: params->mass, else by species, else the masses column.
 * A hamrf-written file's key hamrf_H restores H exactly. */
HRF_API int hrf_extxyz_read(const char *path, const hrf_md_import_params *p, hrf_pdata **out);

/* Particle frames to write: S frames of N atoms in 3-D. */
typedef struct hrf_md_frames {
    size_t S, N;
    const double *q;                /* (S, N, 3) positions (written as they are: unwrapped) */
    const double *p;                /* (S, N, 3) momenta */
    const double *v;                /* (S, N, 3) velocities, or NULL: p / m */
    const double *f;                /* (S, N, 3) forces, or NULL (no force columns) */
    const double *H;                /* (S) total energies, or NULL */
    const double *mass;             /* (N) > 0 */
    double box;                     /* cube side L > 0 */
    double box_lo[3];               /* the box is [lo, lo + L) per axis */
    size_t n_types;                 /* type labels (>= 1) */
    const char *const *type_labels; /* (n_types), or NULL: one type "1" */
    const uint32_t *atom_type;      /* (N) indices into type_labels, or NULL: all 0 */
    const double *timestep;         /* (S) integer timesteps, or NULL: 0, 1, 2, ... */
    const double *time;             /* (S) times, or NULL */
} hrf_md_frames;

/* `dump custom` text with columns id type mass xu yu zu vx vy vz [fx fy fz],
 * %.17g (read back exactly by hrf_lammps_dump_read). Atomic. */
HRF_API int hrf_lammps_dump_write(const char *path, const hrf_md_frames *fr);
/* Extended XYZ with Lattice, Properties=species:S:1:pos:R:3:momenta:R:3
 * [:forces:R:3]:masses:R:1[:type:I:1], pbc="T T T", and with H the keys
 * energy (H − Σ|p|²/2m, ASE's potential energy) and hamrf_H (H itself),
 * %.17g (read back exactly by hrf_extxyz_read). Atomic. */
HRF_API int hrf_extxyz_write(const char *path, const hrf_md_frames *fr);

/* The frames of a periodic 3-D particle data set: pointers into d, the box
 * origin, type labels, atom types and timesteps from d's meta when it has
 * them (an imported file's). *out owns only its label and type copies; free
 * it with hrf_md_frames_free before d. HRF_EINVAL for a bonded or non-3-D
 * data set. */
HRF_API int hrf_md_frames_of_pdata(const hrf_pdata *d, hrf_md_frames **out);
HRF_API void hrf_md_frames_free(hrf_md_frames *fr); /* NULL-safe */
/* The frames of trajectory k of a particle rollout file (`hamrf rollout
 * --data`, kind "trajectory", meta n_particles and particle_dim = 3): q and p
 * from its states x (J, n, 2·N·3), H from its entry H when present, times
 * from t; masses, box, types from d, the data set it started from (same N).
 * No velocities (p / m is written) and no forces. HRF_EFORMAT / HRF_EDATA
 * naming the file and entry. */
HRF_API int hrf_md_frames_of_trajectory(const char *path, size_t k, const hrf_pdata *d,
                                        hrf_md_frames **out);
/* The same from states in memory (a rollout's hrf_trajectory): trajectory k
 * of x (J, n, 2·N·3), energies H (J, n) or NULL, times t (J); masses, box and
 * types from d (the data set the rollout started from). The frames own
 * copies. */
HRF_API int hrf_md_frames_of_states(const hrf_pdata *d, size_t J, size_t n, size_t k,
                                    const double *x, const double *H, const double *t,
                                    hrf_md_frames **out);

#ifdef __cplusplus
}
#endif

#endif
