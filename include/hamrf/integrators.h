/* Time integrators (docs/math.md §8) as const type objects, advancing a batch of
 * states of any hamrf/field.h vector field.
 *
 *   symplectic_euler    order 1, symplectic. q first: q1 = q0 + h ∂H/∂p(q1, p0),
 *                       p1 = p0 − h ∂H/∂q(q1, p0) (the step RF-HNN trains through,
 *                       docs/math.md §6.1). Explicit for a separable field, otherwise
 *                       implicit in q1 (Newton on the d x d block, or fixed point).
 *   symplectic_euler_p  order 1, symplectic, the adjoint: p first,
 *                       p1 = p0 − h ∂H/∂q(q0, p1), q1 = q0 + h ∂H/∂p(q0, p1).
 *   leapfrog            Störmer–Verlet, kick–drift–kick, order 2; separable only.
 *   yoshida4            Yoshida's triple-jump composition of leapfrog, order 4;
 *                       separable only.
 *   midpoint            implicit midpoint rule, order 2, symplectic, any field:
 *                       x1 = x0 + h f((x0 + x1)/2), Newton or fixed point.
 *   rk4                 classical Runge–Kutta, order 4, not symplectic.
 *   rk45                Dormand–Prince 5(4): hrf_integrator_step takes one fixed
 *                       step with the 5th-order solution; hrf_integrator_advance
 *                       is adaptive with rtol/atol.
 *
 * For a non-Hamiltonian field (an ODE-net), the "symplectic" schemes are the
 * same partitioned formulas with ∂H/∂p → f_q and −∂H/∂q → f_p.
 *
 * Lifecycle: hrf_integrator_params_default → hrf_integrator_new (checks that
 * the scheme suits the field) → step/advance → hrf_integrator_stats → free. */
#ifndef HAMRF_INTEGRATORS_H
#define HAMRF_INTEGRATORS_H

#include "hamrf/export.h"

#include <stddef.h>

#include "hamrf/field.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hrf_integrator_type {
    const char *name;        /* "symplectic_euler", "leapfrog", ... */
    const char *description; /* one line */
    int order;               /* classical order of convergence */
    int symplectic;          /* 1: symplectic (for a Hamiltonian field) */
    int implicit;            /* 0 explicit; 1 always implicit; 2 implicit
                                unless the field is separable */
    int needs_separable;     /* 1: refuses a non-separable field */
    int adaptive;            /* 1: advance() controls the step (rk45) */
} hrf_integrator_type;

HRF_API extern const hrf_integrator_type hrf_integrator_symplectic_euler,
    hrf_integrator_symplectic_euler_p, hrf_integrator_leapfrog, hrf_integrator_yoshida4,
    hrf_integrator_midpoint, hrf_integrator_rk4, hrf_integrator_rk45;

HRF_API const hrf_integrator_type *const *hrf_integrator_types(void); /* NULL-terminated */
/* HRF_ENOTFOUND with the list of known names. */
HRF_API int hrf_integrator_find(const char *name, const hrf_integrator_type **type);

typedef struct hrf_integrator_params {
    /* Implicit solves: converged when ‖Δ‖∞ ≤ solve_tol · (1 + ‖x‖∞) for every
     * state, or when the update no longer halves per iteration while below
     * 1e-10 · (1 + ‖x‖∞) (the rounding floor of the field); HRF_ENUMERIC
     * after solve_max iterations. Default 1e-14, 50. */
    double solve_tol;
    int solve_max;
    int fixed_point; /* 1: fixed-point iteration instead of Newton; default 0 */
    /* rk45 in advance(): per-state error norm
     *   sqrt(mean_a (e_a / (atol + rtol·max(|x_a|, |x1_a|)))²),
     * one step size for the batch, accepted when the largest norm ≤ 1.
     * Defaults rtol 1e-10, atol 1e-12. */
    double rtol, atol;
    size_t max_substeps; /* rk45: refuse to take more than this; default 10^8 */
} hrf_integrator_params;

HRF_API void hrf_integrator_params_default(hrf_integrator_params *p);
HRF_API const char *hrf_integrator_params_check(const hrf_integrator_params *p);

typedef struct hrf_integrator_stats {
    size_t steps;        /* steps taken (accepted, for rk45) */
    size_t rejected;     /* rk45 rejected steps */
    size_t rhs_evals;    /* batched rhs calls, including the 2·dim of each
                            finite-difference Jacobian */
    size_t jac_evals;    /* batched Jacobian calls (finite differences count 1) */
    size_t solve_iters;  /* implicit iterations of the batch, summed over steps
                            (a state stops iterating once converged) */
    int solve_iters_max; /* most iterations any step needed */
} hrf_integrator_stats;

typedef struct hrf_integrator hrf_integrator;

/* Work space for batches of up to nmax states of `field` (which must
 * outlive the integrator). HRF_EINVAL when `type` needs a separable field
 * and `field` is not (the message names the scheme and suggests
 * symplectic_euler or midpoint); HRF_ENOMEM. */
HRF_API int hrf_integrator_new(const hrf_integrator_type *type, const hrf_field *field, size_t nmax,
                               const hrf_integrator_params *p, hrf_integrator **out);
HRF_API void hrf_integrator_free(hrf_integrator *it);
HRF_API const hrf_integrator_type *hrf_integrator_get_type(const hrf_integrator *it);

/* One step of size h (h ≠ 0 finite; h < 0 steps backwards) for n ≤ nmax
 * states x (n, dim), in place. On error x is unchanged; a step that would
 * make a state non-finite is an error (HRF_ENUMERIC). */
HRF_API int hrf_integrator_step(hrf_integrator *it, double h, size_t n, double *x);

/* Advances n states over nsteps steps of size h (fixed-step schemes reuse
 * the last force evaluation where the scheme allows, e.g. leapfrog), or, for
 * rk45, adaptively over the interval nsteps·h (h is the first trial step).
 * *done (may be NULL) receives the steps completed (for rk45: the accepted
 * adaptive steps). If a state becomes non-finite or an implicit solve fails,
 * returns HRF_ENUMERIC with a message naming the step (1-based) and the state
 * index (0-based), and t measured from the start of this call; x then holds
 * the states after the last completed step. rk45 treats a non-finite trial
 * step as a rejected one and shrinks the step; it fails with HRF_ENUMERIC
 * when the step size underflows or max_substeps trial steps are spent.
 * Cost in rhs calls per step: symplectic Euler 2 (plus the implicit solve),
 * leapfrog 2 (the force at the step's start is the previous step's last),
 * yoshida4 6, midpoint 1 + one per iteration, rk4 4, rk45 6 (FSAL). */
HRF_API int hrf_integrator_advance(hrf_integrator *it, double h, size_t nsteps, size_t n, double *x,
                                   size_t *done);

/* Counters since hrf_integrator_new. */
HRF_API void hrf_integrator_stats_get(const hrf_integrator *it, hrf_integrator_stats *out);

#ifdef __cplusplus
}
#endif

#endif
