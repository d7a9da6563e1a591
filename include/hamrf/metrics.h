/* Error metrics (docs/math.md §7). */
#ifndef HAMRF_METRICS_H
#define HAMRF_METRICS_H

#include "hamrf/export.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ‖a − b‖₂ / ‖b‖₂ over n entries (b is the reference); ‖a − b‖₂ if ‖b‖₂ = 0. */
HRF_API double hrf_rel_l2(size_t n, const double *a, const double *b);
/* mean of (a − b)² over n entries. */
HRF_API double hrf_mse(size_t n, const double *a, const double *b);

/* Energy drift of a rollout (docs/math.md §7): H (nt, n), the energy of n
 * trajectories at nt saved times; returns max over t and k of
 * |H[t,k] − H[0,k]| / |H[0,k]| (the absolute difference for a trajectory
 * whose H[0,k] is exactly 0). NaN if any entry is non-finite. */
HRF_API double hrf_energy_drift(size_t nt, size_t n, const double *H);

/* Rollout errors of the NeurIPS 2022 benchmark (docs/math.md §7), for n
 * trajectories of dimension dim = 2d at nt saved times:
 *   RelErr(a, b) = ‖a − b‖ / (‖a‖ + ‖b‖)   (0 when both are 0),
 *   Zerr(t, k)  = RelErr(q_true, q_pred)   (positions only),
 *   Herr(t, k)  = RelErr(H_true(true state), H_true(predicted state)),
 * the geometric mean over trajectories exp(mean_k log X(t, k)) per time
 * (values below 1e-300 count as 1e-300, so an exact match stays finite),
 * and the time average of that over t ≥ 1 (t = 0 is the shared start). */
typedef struct hrf_rollout_errors {
    double zerr_gmean;        /* time average of the geometric-mean Zerr */
    double herr_gmean;        /* same for Herr; NaN when energies are not given */
    double final_state_error; /* ‖x_pred(T) − x_true(T)‖ / ‖x_true(T)‖ over all trajectories */
} hrf_rollout_errors;

/* x_pred, x_true (nt, n, dim); H_pred, H_true (nt, n) true energies of the
 * predicted and true states, or both NULL; zerr_t, herr_t (nt) receive the
 * per-time geometric means (either may be NULL). */
HRF_API void hrf_rollout_errors_compute(size_t nt, size_t n, size_t dim, const double *x_pred,
                                        const double *x_true, const double *H_pred,
                                        const double *H_true, double *zerr_t, double *herr_t,
                                        hrf_rollout_errors *out);

/* The NeurIPS 2022 spring benchmark's rollout errors exactly as its code
 * computes them (docs/math.md §7), for n particle trajectories of N
 * particles in D dimensions, states x = (q (N, D), p (N, D)) (hamrf/pfield.h),
 * at nt saved times, t = 0 the shared start:
 *   RelErr(a, b) = ‖a − b‖ / (‖a‖ + ‖b‖)   (0 when both are 0),
 *   Zerr(t, k) = RelErr(q_true, q_pred)     (all particles and coordinates),
 *   Herr(t, k) = RelErr(H_true, H_pred)     (both the TRUE H of each state),
 *   Perr(t, k) = | |Σ_i p_true,i|² − |Σ_i p_pred,i|² |   (absolute),
 * per time the geometric mean over trajectories exp(mean_k log(X + 1e-30)),
 * and the time average of that over t = 1 .. nt − 1. A predicted state with a
 * non-finite entry (a rollout that failed) counts as Zerr = Herr = 1 (the
 * largest value RelErr takes) and Perr = +inf: failed trajectories are not
 * dropped. */
typedef struct hrf_bench_errors {
    double zerr, herr, perr; /* time averages of the geometric means */
    size_t failed;           /* trajectories with a non-finite predicted state */
} hrf_bench_errors;

/* x_pred, x_true (nt, n, 2·N·D); H_pred, H_true (nt, n); zerr_t, herr_t,
 * perr_t (nt) receive the per-time geometric means (each may be NULL). */
HRF_API void hrf_bench_rollout_errors(size_t nt, size_t n, size_t N, size_t D, const double *x_pred,
                                      const double *x_true, const double *H_pred,
                                      const double *H_true, double *zerr_t, double *herr_t,
                                      double *perr_t, hrf_bench_errors *out);

#ifdef __cplusplus
}
#endif

#endif
