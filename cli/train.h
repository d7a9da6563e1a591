/* hamrf train, private to the tool: the parsed options (cmd_train.c) and
 * the work done with them (train_run.c). */
#ifndef HAMRF_CLI_TRAIN_H
#define HAMRF_CLI_TRAIN_H

#include "hamrf/baseline.h"
#include "hamrf/hgn.h"
#include "hamrf/hnn.h"
#include "hamrf/odenet.h"
#include "hamrf/optim.h"

#define TRAIN_MAX_FILES 4096
typedef struct train_opts {
    const char *data_path, *out; /* data_path: the first --data file */
    /* Every --data file (repeatable, each a file or a glob pattern), in
     * order: the global rows are theirs in this order (docs/mpi.md). */
    const char *data_paths[TRAIN_MAX_FILES];
    size_t ndata;
    /* The paths a glob matched are copies (strdup) that cmd_train frees:
     * data_owned[i] is 1 for those, 0 for argv's own strings. */
    unsigned char data_owned[TRAIN_MAX_FILES];
    int json, quiet;
    int odenet, hgn, model_given, correct;
    hrf_hnn_params hp; /* sampling and solver options (HNN, ODE-net) */
    hrf_hgn_params gn; /* the graph network's, sharing the sampling options */
    size_t node_width;
    /* The first option of each kind seen, to name it in a conflict: one
     * that applies only to the graph network / only to the HNN and ODE-net /
     * only to sampled / only to gradient training. */
    const char *hgn_opt, *width_opt, *sampling_opt, *gradient_opt;
    /* Gradient training (--optimizer): collected, applied after parsing
     * (--lr may come before --optimizer). */
    const hrf_optimizer_type *opt_type;
    double lr, weight_decay, time_limit; /* NaN: the optimizer's default */
    size_t steps, batch;
    int batch_set, shuffle;
} train_opts;

/* The graph network on the particle data set at data_path: fit, save, report. */
int train_run_hgn(const hrf_hgn_params *gp, const train_opts *o);
/* The graph network trained by gradient descent (gp, a checked) on the
 * particle data set at data_path: train, save, report. */
int train_run_hgn_gradient(const hrf_gd_params *gp, const hrf_gd_hgn_arch *a, const char *data_path,
                           const char *out, int json, int quiet);
/* An HNN or ODE-net on the box data set o->data_path: sampled (gp NULL) or
 * trained by gradient descent with gp; save, report. */
int train_run_box(const train_opts *o, const hrf_gd_params *gp);

#endif
