/* `hamrf reproduce`: the experiments of the source papers, run on this
 * machine, each result reported as one row beside the published number
 * (docs/cli.md, `hamrf reproduce`). The library runs the experiments and hands every
 * row to a callback; the command line prints tables and writes CSV/JSON. */
#ifndef HAMRF_REPRODUCE_H
#define HAMRF_REPRODUCE_H

#include "hamrf/export.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The extra columns of an optimizer-table row (paper2's
 * lattice_3d_optimizers): a gradient-trained network raced against the
 * sampled fit. Times are training seconds, test-error evaluations excluded. */
typedef struct hrf_repro_timing {
    double lr;                    /* the learning rate used */
    double budget_seconds;        /* the time budget of this optimizer */
    double sampled_seconds;       /* our sampled fit's time (the speed-ups' denominator) */
    double sampled_mse;           /* our sampled fit's test error */
    double target_mse;            /* the published sampled (RF-HGN) test error */
    double reach_target_seconds;  /* until the test error first was <= target_mse;
                                     NaN: not reached within the budget */
    double reach_sampled_seconds; /* likewise for sampled_mse */
    double paper_seconds;         /* the published training time, NaN when none */
    size_t steps;                 /* optimizer steps done */
    size_t eval_every;            /* test error every this many loss evaluations */
} hrf_repro_timing;

typedef struct hrf_repro_row {
    const char *experiment; /* e.g. "pendulum_width" */
    const char *title;      /* one line describing the experiment (same for all its rows) */
    char config[96];        /* e.g. "width 1000" */
    char method[32];        /* "elm", "uswim", "aswim", "swim", "adam", "corrected", ... */
    const char *metric;     /* "rel_l2_H", "energy_drift", "slope", ... */
    double value;           /* our measurement of `metric` */
    double paper;           /* the published value, NaN when there is none */
    double seconds;         /* training (fit) time of this row, NaN when not a fit */
    double adam_seconds;    /* training time of the Adam baseline of this config, or NaN */
    double speedup;         /* adam_seconds / seconds, or NaN */
    char note[160];         /* e.g. the solver used, Adam's steps */
    /* NULL but in optimizer tables; there `seconds` is the optimizer's
     * training time and speedup = seconds / timing->sampled_seconds. */
    const hrf_repro_timing *timing;
} hrf_repro_row;

typedef void (*hrf_repro_row_fn)(void *user, const hrf_repro_row *row);
typedef void (*hrf_repro_progress_fn)(void *user, const char *what);

/* A curve of one result over time (e.g. the benchmark's per-time geometric
 * mean of Zerr): v[j] at t[j], j < n; the arrays live during the call only. */
typedef struct hrf_repro_curve {
    const char *experiment, *config, *method, *metric;
    size_t n;
    const double *t, *v;
} hrf_repro_curve;
typedef void (*hrf_repro_curve_fn)(void *user, const hrf_repro_curve *curve);

typedef struct hrf_repro_params {
    int full;         /* 0: --quick (reduced sizes, stated in each title); 1: the paper's sizes */
    const char *only; /* run only this experiment (name), or NULL for all */
    int adam;         /* 1 (default): run the Adam baselines */
    double adam_seconds; /* time budget of each Adam baseline; 0 = the mode's default
                            (quick 60 s; full: none, the paper's step counts) */
    size_t scale_down;   /* ≥ 1: divide point counts by this (tests); default 1 */
    uint64_t seed;       /* default 1 */
    hrf_repro_row_fn row;
    hrf_repro_progress_fn progress; /* may be NULL */
    void *user;
    hrf_repro_curve_fn curve; /* may be NULL: curves (benchmark) are not reported */
} hrf_repro_params;

HRF_API void hrf_repro_params_default(hrf_repro_params *p);

/* The experiment names of paper 1, NULL-terminated. */
HRF_API const char *const *hrf_repro_paper1_experiments(void);

/* Runs RF-HNN's experiments (Rahma, Datar, Dietrich 2024). HRF_ENOTFOUND
 * for an unknown `only`; errors of the library calls otherwise. */
HRF_API int hrf_reproduce_paper1(const hrf_repro_params *p);

/* The experiment names of paper 2 (RF-HGN), NULL-terminated. */
HRF_API const char *const *hrf_repro_paper2_experiments(void);

/* Runs RF-HGN's experiments (Rahma, Datar, Cukarska, Dietrich, arXiv
 * 2506.06558) and our own targets for them with the sampled graph network.
 * `full`, `adam` and `adam_seconds` apply to lattice_3d_optimizers only
 * (the fifteen optimizers: full = the paper's 90 s each after a
 * learning-rate grid, quick = 8 s each with the grid's recorded rates;
 * adam 0 skips them; adam_seconds replaces the budget of each). */
HRF_API int hrf_reproduce_paper2(const hrf_repro_params *p);

/* The experiment names of the NeurIPS 2022 spring benchmark, NULL-terminated. */
HRF_API const char *const *hrf_repro_benchmark_experiments(void);

/* Runs the 5-spring protocol of Thangamuthu et al. (NeurIPS 2022 Datasets
 * and Benchmarks) with the sampled graph network (pair, mp) and the same
 * network trained by Adam with their protocol (`adam`; `adam_seconds` caps
 * each network's training, quick default 60 s; --full: 10 000 epochs and
 * also the mp network): per_state (their split), per_trajectory, zero_shot
 * (rings of 50, 500, 5000). Rows: train_seconds, mse_dxdt, zerr, herr,
 * perr; curves (zerr, herr, perr over time) through `curve`. */
HRF_API int hrf_reproduce_benchmark(const hrf_repro_params *p);

#ifdef __cplusplus
}
#endif

#endif
