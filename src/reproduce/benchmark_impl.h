/* (private) What src/reproduce/benchmark.c and benchmark_rollout.c share:
 * rollouts of a graph network and of the true ring from the same initial
 * states, scored with the NeurIPS 2022 benchmark's errors (docs/math.md §7). */
#ifndef HAMRF_REPRODUCE_BENCHMARK_IMPL_H
#define HAMRF_REPRODUCE_BENCHMARK_IMPL_H

#include "hamrf/hgn.h"
#include "hamrf/metrics.h"
#include "hamrf/particles.h"
#include "hamrf/rng.h"

#include <stddef.h>

/* The protocol's rollout: velocity Verlet (leapfrog) with the data's step
 * 1e-3 for the model and the truth, a state saved every 100 steps, 100
 * saved steps after the start (Thangamuthu et al. 2022). */
typedef struct bench_rollout_cfg {
    double dt;
    size_t every, saved; /* saved steps after the start: nt = saved + 1 */
} bench_rollout_cfg;

typedef struct bench_curves {
    size_t nt;                  /* saved times, t = 0 the start */
    double *zerr, *herr, *perr; /* (nt) geometric means over trajectories */
    hrf_bench_errors e;         /* their time averages, failed trajectories */
    double model_seconds;       /* wall time of the model's rollouts */
} bench_curves;

void bench_curves_free(bench_curves *c);

/* n initial states x0 (n, 2·N·D) of the benchmark ring's ensemble for the
 * system s (any N): q ~ U[0, 2)^D, velocities U[0, 0.1)^D minus their mean,
 * p = m v (as hrf_psystem_init_state draws them for the 5-particle ring). */
int bench_initial_states(const hrf_psystem *s, size_t n, hrf_rng *rng, double *x0);

/* Rolls out model m and the true system s (bonded) from x0 (n, 2·N·D) and
 * scores the model against the truth; a model rollout that fails is redone
 * trajectory by trajectory, and failed ones count (hrf_bench_rollout_errors). */
int bench_rollout(const hrf_hgn *m, const hrf_psystem *s, const bench_rollout_cfg *cfg, size_t n,
                  const double *x0, bench_curves *out);

#endif
