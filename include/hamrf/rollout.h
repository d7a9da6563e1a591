/* Rollouts: many initial states advanced together by one integrator, the
 * states saved every E steps (docs/math.md §8, §7).
 *
 * Saved times t_j = j·E·dt for j = 0..J−1 with J = ceil(steps/E) + 1; the
 * last interval is shorter when E does not divide steps, so the final time
 * is always steps·dt. rk45 integrates adaptively between saved times (dt is
 * its first trial step). */
#ifndef HAMRF_ROLLOUT_H
#define HAMRF_ROLLOUT_H

#include "hamrf/export.h"

#include <stddef.h>

#include "hamrf/field.h"
#include "hamrf/integrators.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hrf_rollout_params {
    const hrf_integrator_type *integrator; /* NULL (default): leapfrog for a separable
                                              field, else the implicit midpoint rule */
    hrf_integrator_params ip;
    double dt;        /* step (> 0, finite); default 0.01 */
    size_t steps;     /* number of steps (≥ 1); default 1000 */
    size_t every;     /* save every E steps (≥ 1); default 1 */
    size_t mem_limit; /* bytes the saved trajectory may take; 0 = half the available memory */
} hrf_rollout_params;

HRF_API void hrf_rollout_params_default(hrf_rollout_params *p);
HRF_API const char *hrf_rollout_params_check(const hrf_rollout_params *p);

typedef struct hrf_trajectory {
    size_t nt;    /* saved times allocated, J */
    size_t valid; /* saved times computed: nt, or fewer when the rollout stopped */
    size_t n, dim;
    double *t;         /* (nt) times */
    double *x;         /* (nt, n, dim) states */
    double *H;         /* (nt, n) the field's energy along the states, or NULL */
    size_t steps_done; /* steps completed */
    const hrf_integrator_type *integrator;
    hrf_integrator_stats stats;
    double seconds; /* wall time of the integration (energies excluded) */
} hrf_trajectory;

/* Bytes a rollout of n states of dimension dim would save (x, t and H). */
HRF_API double hrf_rollout_bytes(const hrf_rollout_params *p, size_t n, size_t dim);

/* Runs the rollout from x0 (n, dim). HRF_ETOOBIG (before allocating) when
 * the saved trajectory would exceed the memory limit, with the size and the
 * hint to raise E. If a state becomes non-finite or an implicit solve fails,
 * returns HRF_ENUMERIC (message names the step and state) and still sets
 * *out to the part computed (traj->valid saved times), so the caller can
 * keep it. Other errors leave *out NULL. */
HRF_API int hrf_rollout_run(const hrf_field *f, const hrf_rollout_params *p, size_t n,
                            const double *x0, hrf_trajectory **out);
HRF_API void hrf_trajectory_free(hrf_trajectory *t); /* NULL-safe */

/* Writes a trajectory file (docs/formats.md, kind "trajectory"), keeping
 * the tr->valid saved times: t (J), x (J, n, dim), H (J, n) when the field
 * has an energy, H_sys (J, n) the true system's energy along x when given,
 * and with a reference `truth` (same saved times) x_true (J, n, dim) and
 * H_true (J, n). Meta: the members of `extra_json` (a JSON object as
 * text, or NULL) plus integrator, dt, steps,
 * steps_done, complete. Atomic. */
HRF_API int hrf_trajectory_save(const hrf_trajectory *tr, const double *H_sys,
                                const hrf_trajectory *truth, const char *extra_json,
                                const char *path);

#ifdef __cplusplus
}
#endif

#endif
