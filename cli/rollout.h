/* hamrf rollout, private to the tool: the parsed options (cmd_rollout.c) and
 * the work done with them (rollout_run.c). */
#ifndef HAMRF_CLI_ROLLOUT_H
#define HAMRF_CLI_ROLLOUT_H

#include "cli.h"

#include "hamrf/model.h"
#include "hamrf/rollout.h"

typedef struct rollout_opts {
    const char *model_path;
    const char *x0_arg, *data_path; /* the initial states: exactly one of them */
    const char *integ_name;
    size_t count;    /* --count K, 0: every state of --data */
    size_t tabulate; /* --tabulate N, 0: the graph network's pair forces directly */
    int truth, have_dt, have_steps;
    int true_system; /* --true-system: the data set's own system, no model */
    hrf_rollout_params rp;
    cli_common com;
} rollout_opts;

/* A graph network (hgn) on the first snapshots of the particle data set
 * o->data_path; writes the trajectory, reports; the exit status. */
int rollout_run_hgn(const hrf_model *model, const rollout_opts *o);
/* The particle data set's own system (--true-system, no model) from its
 * first snapshots; the same. */
int rollout_run_system(const rollout_opts *o);
/* An HNN or ODE-net from --x0 or the states of --data; the same. */
int rollout_run_box(const hrf_model *model, const rollout_opts *o);
/* 1 when -o names an extended XYZ file (.extxyz, .xyz): graph networks only. */
int rollout_out_is_extxyz(const char *out);

#endif
