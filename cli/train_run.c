/* hamrf train, the work after option parsing (cli/train.h): load the data
 * set, fit (sampled or by gradient descent), save, report. */
#include "cli.h"
#include "mpi.h"
#include "train.h"

#include "core/meta.h"
#include "hamrf/status.h"
#include "hgn/hgn_impl.h"
#include "hnn/hnn_impl.h"
#include "odenet/odenet_impl.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

int openblas_get_num_threads(void);
void openblas_set_num_threads(int);

/* Progress of gradient training through the shared progress line: the
 * stage shows the step, the latest mini-batch loss and the rate; the fraction is the
 * larger of the steps done and the time limit used. */
typedef struct gd_progress {
    cli_progress line;
    size_t steps;
    double time_limit;
} gd_progress;

static void gd_progress_cb(void *user, size_t step, double loss, double rate) {
    gd_progress *g = user;
    char stage[80];
    snprintf(stage, sizeof stage, "step %zu loss %.3g %.0f steps/s", step, loss, rate);
    double f = (double)step / (double)g->steps;
    if (g->time_limit > 0) f = fmax(f, (cli_now() - g->line.start) / g->time_limit);
    cli_progress_cb(&g->line, stage, fmin(f, 1.0));
}

/* The members of a gradient training's JSON report that every model kind
 * has: timings, the optimizer's settings, steps, losses. */
static void gd_report_json(cJSON *o, const hrf_gd_params *p, const hrf_gd_report *rep) {
    cJSON_AddNumberToObject(o, "fit_seconds", rep->total_seconds);
    cJSON_AddNumberToObject(o, "train_seconds", rep->train_seconds);
    cJSON_AddNumberToObject(o, "step_seconds",
                            rep->steps ? rep->train_seconds / (double)rep->steps : 0.0);
    cJSON_AddStringToObject(o, "optimizer", p->optimizer->name);
    cJSON_AddNumberToObject(o, "lr", p->optim.lr);
    cJSON_AddNumberToObject(o, "weight_decay", p->optim.weight_decay);
    cJSON_AddNumberToObject(o, "batch", (double)rep->batch);
    cJSON_AddBoolToObject(o, "shuffle", p->shuffle);
    cJSON_AddNumberToObject(o, "steps", (double)rep->steps);
    cJSON_AddNumberToObject(o, "steps_requested", (double)p->steps);
    cJSON_AddBoolToObject(o, "stopped_early", rep->stopped_early);
    cJSON_AddNumberToObject(o, "evals", (double)rep->evals);
    cJSON_AddNumberToObject(o, "initial_loss", rep->initial_loss);
    cJSON_AddNumberToObject(o, "final_loss", rep->final_loss);
    cJSON_AddNumberToObject(o, "full_loss", rep->full_loss);
}

/* The progress line of gradient training: p's callback set to it. */
static void gd_progress_start(gd_progress *prog, hrf_gd_params *p, int quiet) {
    cli_progress_init(&prog->line, quiet);
    prog->steps = p->steps;
    prog->time_limit = p->time_limit_seconds;
    p->progress = gd_progress_cb;
    p->progress_user = prog;
}

/* The one-line summary on stderr (what = "odenet adam width 50", ...). */
static void gd_report_line(const char *what, size_t items, const char *unit, const hrf_gd_params *p,
                           const hrf_gd_report *rep, const char *out) {
    fprintf(stderr,
            "hamrf train: %s on %zu %s: %zu steps of %zu %s in %.3f s (%.3g ms/step), loss "
            "%.3g -> %.3g (all %s)\n",
            what, items, unit, rep->steps, rep->batch, unit, rep->train_seconds,
            rep->steps ? 1e3 * rep->train_seconds / (double)rep->steps : 0.0, rep->initial_loss,
            rep->full_loss, unit);
    if (rep->stopped_early)
        fprintf(stderr, "hamrf train: stopped by --time-limit after %zu of %zu steps\n", rep->steps,
                p->steps);
    fprintf(stderr, "hamrf train: wrote %s\n", out);
}

/* The --optimizer path: train, save with the same file kinds as sampling
 * (meta "trained_by": "gradient"), report. */
static int train_gradient(const hrf_gd_params *gp, const hrf_dataset *data,
                          const hrf_dataset *pairs, int odenet, int correct, const char *out,
                          int json, int quiet) {
    const char *C = "train";
    hrf_gd_params p = *gp;
    gd_progress prog;
    gd_progress_start(&prog, &p, quiet);
    hrf_hnn *model = NULL;
    hrf_odenet *ode = NULL;
    hrf_gd_report rep;
    int rc = odenet ? hrf_gd_train_odenet(&p, data, &ode, &rep)
                    : hrf_gd_train_hnn(&p, data, &model, &rep);
    cli_progress_done(&prog.line);
    if (rc) return cli_lib_error(C, rc);
    if (correct && ((rc = hrf_hnn_set_correction(model, pairs->h)) ||
                    (rc = hrf_hnn_pin(model, pairs->x0, pairs->H0)))) {
        hrf_hnn_free(model);
        return cli_lib_error(C, rc);
    }
    /* The file's meta records how it was made (the library's provenance). */
    rc = odenet ? hrf_odenet_save_meta(ode, out, NULL) : hrf_hnn_save_meta(model, out, NULL);
    hrf_hnn_free(model);
    hrf_odenet_free(ode);
    if (rc) return cli_lib_error(C, rc);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "output", out);
        cJSON_AddStringToObject(o, "model", odenet ? "odenet" : "hnn");
        cJSON_AddStringToObject(o, "trained_by", "gradient");
        cJSON_AddBoolToObject(o, "pairs", pairs != NULL);
        if (pairs) cJSON_AddNumberToObject(o, "h", pairs->h);
        cJSON_AddBoolToObject(o, "corrected", correct);
        gd_report_json(o, &p, &rep);
        cJSON_AddNumberToObject(o, "width", (double)p.width);
        cJSON_AddNumberToObject(o, "seed", (double)p.seed);
        cJSON_AddNumberToObject(o, "n_train", (double)data->n);
        cJSON_AddNumberToObject(o, "dim", (double)data->dim);
        cJSON_AddNumberToObject(o, "threads", omp_get_max_threads());
        cli_print_json(o);
    } else if (!quiet) {
        char what[96];
        snprintf(what, sizeof what, "%s%s width %zu", odenet ? "odenet " : "", p.optimizer->name,
                 p.width);
        gd_report_line(what, data->n, "points", &p, &rep, out);
    }
    return CLI_OK;
}

/* The graph network trained by gradient descent: load the particle data
 * set, train, save (meta trained_by "gradient"), report. */
int train_run_hgn_gradient(const hrf_gd_params *gp, const hrf_gd_hgn_arch *a, const char *data_path,
                           const char *out, int json, int quiet) {
    const char *C = "train";
    hrf_pdata *d = NULL;
    int rc = hrf_pdata_load(data_path, &d);
    if (rc) return cli_lib_error(C, rc);
    hrf_gd_params p = *gp;
    gd_progress prog;
    gd_progress_start(&prog, &p, quiet);
    hrf_hgn *m = NULL;
    hrf_gd_report rep;
    rc = hrf_gd_train_hgn(&p, a, d, &m, &rep);
    cli_progress_done(&prog.line);
    if (!rc) rc = hrf_hgn_save_meta(m, out, NULL); /* meta: the library's provenance */
    if (rc) {
        hrf_hgn_free(m);
        hrf_pdata_free(d);
        return cli_lib_error(C, rc);
    }
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "output", out);
        cJSON_AddStringToObject(o, "model", "hgn");
        cJSON_AddStringToObject(o, "trained_by", "gradient");
        cJSON_AddStringToObject(o, "mode", hrf_hgn_mode_name(a->mode));
        gd_report_json(o, &p, &rep);
        cJSON_AddNumberToObject(o, "edge_width", (double)a->edge_width);
        cJSON_AddNumberToObject(o, "kinetic_width", (double)a->kinetic_width);
        if (a->mode == HRF_HGN_MP) cJSON_AddNumberToObject(o, "node_width", (double)a->node_width);
        cJSON_AddBoolToObject(o, "kinetic_linear", a->kinetic_linear);
        cJSON_AddNumberToObject(o, "parameters", (double)hrf_gd_hgn_nparams(a));
        cJSON_AddNumberToObject(o, "seed", (double)p.seed);
        cJSON_AddNumberToObject(o, "n_snapshots", (double)d->S);
        cJSON_AddNumberToObject(o, "n_particles", (double)d->N);
        cJSON_AddNumberToObject(o, "dim", d->D);
        cJSON_AddNumberToObject(o, "threads", omp_get_max_threads());
        cli_print_json(o);
    } else if (!quiet) {
        char what[128];
        snprintf(what, sizeof what, "hgn %s %s edge width %zu, kinetic width %zu",
                 hrf_hgn_mode_name(a->mode), p.optimizer->name, a->edge_width, a->kinetic_width);
        gd_report_line(what, d->S, "snapshots", &p, &rep, out);
    }
    hrf_hgn_free(m);
    hrf_pdata_free(d);
    return CLI_OK;
}

/* One least-squares part of the graph network's fit, with the HNN's keys. */
static cJSON *lstsq_json(const hrf_lstsq_report *lr) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "solver", hrf_solver_name(lr->used));
    cJSON_AddStringToObject(o, "solver_reason", lr->reason);
    if (lr->rank >= 0) cJSON_AddNumberToObject(o, "rank", lr->rank);
    if (lr->used == HRF_SOLVER_NORMAL) {
        cJSON_AddNumberToObject(o, "ridge_used", lr->ridge_used);
        cJSON_AddNumberToObject(o, "refine_iterations", lr->iterations);
    }
    cJSON_AddNumberToObject(o, "rel_residual", lr->rel_residual);
    cJSON_AddNumberToObject(o, "seconds", lr->seconds);
    return o;
}

/* The particle data set: one file read whole as always; several files (or
 * several ranks) through hrf_pdata_load_part, each rank reading its share
 * of the snapshots (docs/mpi.md). Every rank agrees on the outcome, rank 0
 * naming the first failing rank's reason. */
static int load_particles(const train_opts *o, hrf_pdata **d, size_t *S_total) {
    const char *C = "train";
    int P = cli_mpi_size(), rc;
    if (o->ndata <= 1 && P == 1) {
        if ((rc = hrf_pdata_load(o->data_path, d))) return cli_lib_error(C, rc);
        *S_total = (*d)->S;
        return CLI_OK;
    }
    char msg[1024] = "";
    size_t total = 0, first = 0, count = 0;
    rc = hrf_pdata_count(o->data_paths, o->ndata, &total);
    if (rc == HRF_OK && total < (size_t)P)
        rc = hrf_error(HRF_EDATA,
                       "%d ranks but the data set has only %zu snapshots: the graph network is "
                       "distributed by snapshot, use at most %zu ranks",
                       P, total, total);
    if (rc == HRF_OK) {
        cli_mpi_share(total, &first, &count);
        rc = hrf_pdata_load_part(o->data_paths, o->ndata, first, count, d);
    }
    if (rc) snprintf(msg, sizeof msg, "%s", hrf_last_error());
    if (P == 1 && rc) return cli_lib_error(C, rc);
    if ((rc = cli_mpi_agree(C, rc ? CLI_FAIL : CLI_OK, msg))) {
        hrf_pdata_free(*d);
        *d = NULL;
        return rc;
    }
    *S_total = total;
    return CLI_OK;
}

/* The graph-network path: load the particle data set, fit, save (meta: how
 * it was made and the training system's description), report. */
int train_run_hgn(const hrf_hgn_params *gp, const train_opts *opts) {
    const char *C = "train";
    const char *out = opts->out;
    const int json = opts->json, quiet = opts->quiet;
    hrf_pdata *d = NULL;
    size_t S_total = 0;
    int rc = load_particles(opts, &d, &S_total);
    if (rc) return rc;
    hrf_hgn *m = NULL;
    hrf_hgn_fit_report rep;
    hrf_hgn_params hp = *gp;
    cli_progress prog;
    cli_progress_init(&prog, quiet || json);
    hp.progress = cli_progress_cb, hp.progress_user = &prog;
    hp.comm = cli_mpi_comm(); /* NULL for one process */
    /* The graph network's fit is threaded by OpenMP (fill, and the streamed
     * QR's snapshot groups, one per thread); its BLAS calls are then best
     * single-threaded (docs/math.md §10). The tool owns the process, so it
     * may set OpenBLAS's process-wide count for the fit. */
    const int blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    rc = hrf_hgn_fit(&hp, d, &m, &rep);
    openblas_set_num_threads(blas_threads);
    cli_progress_done(&prog);
    if (rc) {
        hrf_pdata_free(d);
        return cli_lib_error(C, rc);
    }
    /* meta: the library's provenance; every rank holds the model, rank 0 writes it */
    if (cli_mpi_rank() == 0) rc = hrf_hgn_save_meta(m, out, NULL);
    if (rc) {
        hrf_hgn_free(m);
        hrf_pdata_free(d);
        return cli_lib_error(C, rc);
    }
    const char *sname =
        HRF_META(d) && cJSON_IsString(cJSON_GetObjectItemCaseSensitive(HRF_META(d), "system"))
            ? cJSON_GetObjectItemCaseSensitive(HRF_META(d), "system")->valuestring
            : NULL;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "output", out);
        cJSON_AddStringToObject(o, "model", "hgn");
        cJSON_AddStringToObject(o, "mode", hrf_hgn_mode_name(gp->mode));
        cJSON_AddNumberToObject(o, "fit_seconds", rep.fit_seconds);
        cJSON_AddNumberToObject(o, "sample_seconds", rep.sample_seconds);
        cJSON_AddNumberToObject(o, "solve_seconds", rep.solve_seconds);
        cJSON_AddStringToObject(o, "solver_requested", hrf_solver_name(gp->lstsq.solver));
        cJSON_AddItemToObject(o, gp->joint ? "joint" : "potential", lstsq_json(&rep.lstsq_E));
        if (!gp->joint) cJSON_AddItemToObject(o, "kinetic", lstsq_json(&rep.lstsq_K));
        cJSON_AddNumberToObject(o, "edge_width", (double)gp->edge_width);
        cJSON_AddNumberToObject(o, "kinetic_width", (double)gp->kinetic_width);
        if (gp->mode == HRF_HGN_MP)
            cJSON_AddNumberToObject(o, "node_width", (double)gp->node_width);
        cJSON_AddBoolToObject(o, "kinetic_linear", hrf_hgn_kinetic_linear(m));
        cJSON_AddStringToObject(o, "sampler", gp->sampler->name);
        cJSON_AddNumberToObject(o, "seed", (double)gp->seed);
        if (sname) cJSON_AddStringToObject(o, "system", sname);
        cJSON_AddNumberToObject(o, "n_snapshots", (double)S_total);
        cJSON_AddNumberToObject(o, "n_particles", (double)d->N);
        cJSON_AddNumberToObject(o, "dim", d->D);
        cJSON_AddNumberToObject(o, "edges", (double)rep.edges);
        cJSON_AddNumberToObject(o, "passes", rep.passes);
        cJSON_AddNumberToObject(o, "repeated_pairs", (double)rep.repeated_pairs);
        cJSON_AddNumberToObject(o, "threads", omp_get_max_threads());
        cli_print_json(o);
    } else if (!quiet) {
        fprintf(stderr,
                "hamrf train: hgn %s %s edge width %zu, kinetic width %zu on %zu snapshots of %zu "
                "particles (D = %d, %zu edges): fit %.3f s (solve %.3f s), solvers %s/%s, "
                "relative residuals %.3g (potential), %.3g (kinetic)\n",
                hrf_hgn_mode_name(gp->mode), gp->sampler->name, gp->edge_width, gp->kinetic_width,
                S_total, d->N, d->D, rep.edges, rep.fit_seconds, rep.solve_seconds,
                hrf_solver_name(rep.lstsq_E.used), hrf_solver_name(rep.lstsq_K.used),
                rep.lstsq_E.rel_residual, rep.lstsq_K.rel_residual);
        fprintf(stderr, "hamrf train: wrote %s\n", out);
    }
    hrf_hgn_free(m);
    hrf_pdata_free(d);
    return CLI_OK;
}

/* The sampled report: JSON on stdout or one line on stderr. */
static void report_sampled(const hrf_hnn_params *hp_, const hrf_hnn_fit_report *rep_,
                           const hrf_dataset *data, size_t n_total, const hrf_dataset *pairs,
                           int odenet, int correct, const char *out, int json, int quiet) {
    const hrf_hnn_params hp = *hp_;
    const hrf_hnn_fit_report rep = *rep_;
    const hrf_lstsq_report *lr = &rep.lstsq;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "output", out);
        cJSON_AddStringToObject(o, "model", odenet ? "odenet" : "hnn");
        cJSON_AddBoolToObject(o, "pairs", pairs != NULL);
        if (pairs) cJSON_AddNumberToObject(o, "h", pairs->h);
        cJSON_AddBoolToObject(o, "corrected", correct);
        cJSON_AddNumberToObject(o, "fit_seconds", rep.fit_seconds);
        cJSON_AddNumberToObject(o, "sample_seconds", rep.sample_seconds);
        cJSON_AddNumberToObject(o, "solve_seconds", rep.solve_seconds);
        cJSON_AddNumberToObject(o, "solve_flops", rep.solve_flops);
        cJSON_AddNumberToObject(o, "solve_gflops",
                                rep.solve_seconds > 0 ? rep.solve_flops / rep.solve_seconds / 1e9
                                                      : 0);
        cJSON_AddStringToObject(o, "solver", hrf_solver_name(lr->used));
        cJSON_AddStringToObject(o, "solver_requested", hrf_solver_name(hp.lstsq.solver));
        cJSON_AddStringToObject(o, "solver_reason", lr->reason);
        cJSON_AddNumberToObject(o, "width", (double)hp.width);
        cJSON_AddStringToObject(o, "sampler", hp.sampler->name);
        cJSON_AddNumberToObject(o, "seed", (double)hp.seed);
        cJSON_AddNumberToObject(o, "n_train", (double)n_total);
        cJSON_AddNumberToObject(o, "dim", (double)data->dim);
        cJSON_AddNumberToObject(o, "passes", rep.passes);
        if (lr->rank >= 0) cJSON_AddNumberToObject(o, "rank", lr->rank);
        if (lr->used == HRF_SOLVER_NORMAL) {
            cJSON_AddNumberToObject(o, "ridge_used", lr->ridge_used);
            cJSON_AddNumberToObject(o, "refine_iterations", lr->iterations);
            cJSON_AddBoolToObject(o, "features_cached", rep.cached);
        }
        cJSON_AddNumberToObject(o, "rel_residual", lr->rel_residual);
        cJSON_AddNumberToObject(o, "repeated_pairs", (double)rep.repeated_pairs);
        cJSON_AddNumberToObject(o, "threads", omp_get_max_threads());
        cli_print_json(o);
    } else if (!quiet) {
        fprintf(
            stderr,
            "hamrf train: %s%s width %zu on %zu points: fit %.3f s (solve %.3f s, %.1f GFLOP/s), "
            "solver %s, relative residual %.3g\n",
            odenet ? "odenet " : "", hp.sampler->name, hp.width, n_total, rep.fit_seconds,
            rep.solve_seconds,
            rep.solve_seconds > 0 ? rep.solve_flops / rep.solve_seconds / 1e9 : 0.0,
            hrf_solver_name(lr->used), lr->rel_residual);
        if (lr->reason[0]) fprintf(stderr, "hamrf train: %s\n", lr->reason);
        fprintf(stderr, "hamrf train: wrote %s\n", out);
    }
}

/* Sampled fit of an HNN or ODE-net on a box data set (pairs: the trajectory
 * pairs `data` was derived from, or NULL), then save and report. */
static int train_sampled(hrf_hnn_params hp, const hrf_dataset *data, size_t n_total,
                         const hrf_dataset *pairs, int odenet, int correct, const char *out,
                         int json, int quiet) {
    const char *C = "train";
    int rc;
    cli_progress prog;
    cli_progress_init(&prog, quiet);
    hp.progress = cli_progress_cb;
    hp.progress_user = &prog;
    hp.comm = cli_mpi_comm(); /* NULL for one process */
    hrf_hnn *model = NULL;
    hrf_odenet *ode = NULL;
    hrf_hnn_fit_report rep;
    if (odenet) { /* the same report fields, for one printing path */
        hrf_odenet_fit_report orep;
        rc = hrf_odenet_fit(&hp, data, &ode, &orep);
        memset(&rep, 0, sizeof rep);
        rep.fit_seconds = orep.fit_seconds, rep.sample_seconds = orep.sample_seconds;
        rep.solve_seconds = orep.solve_seconds, rep.solve_flops = orep.solve_flops;
        rep.passes = orep.passes, rep.repeated_pairs = orep.repeated_pairs;
        rep.cached = orep.cached, rep.lstsq = orep.lstsq;
    } else {
        rc = hrf_hnn_fit(&hp, data, &model, &rep);
    }
    cli_progress_done(&prog);
    if (rc) {
        return cli_lib_error(C, rc);
    }
    if (correct && ((rc = hrf_hnn_set_correction(model, pairs->h)) ||
                    (rc = hrf_hnn_pin(model, pairs->x0, pairs->H0)))) {
        hrf_hnn_free(model);
        return cli_lib_error(C, rc);
    }
    /* The file's meta records how it was made (the library's provenance).
     * Every rank holds the same model; rank 0 writes it. */
    if (cli_mpi_rank() == 0)
        rc = odenet ? hrf_odenet_save_meta(ode, out, NULL) : hrf_hnn_save_meta(model, out, NULL);
    if (rc) {
        hrf_hnn_free(model);
        hrf_odenet_free(ode);
        return cli_lib_error(C, rc);
    }
    report_sampled(&hp, &rep, data, n_total, pairs, odenet, correct, out, json, quiet);
    hrf_hnn_free(model);
    hrf_odenet_free(ode);
    return CLI_OK;
}

/* The box data set: one file read whole as always; several files (or
 * several ranks) through hrf_dataset_load_part, each rank reading its share
 * of the rows (docs/mpi.md). Every rank agrees on the outcome, rank 0
 * naming the first failing rank's reason. */
static int load_box(const train_opts *o, int gradient, hrf_dataset **data, size_t *n_total) {
    const char *C = "train";
    int P = cli_mpi_size(), rc;
    if (o->ndata <= 1 && P == 1) {
        if ((rc = hrf_dataset_load(o->data_path, data))) return cli_lib_error(C, rc);
        *n_total = (*data)->n;
        return CLI_OK;
    }
    if (gradient || o->odenet)
        return cli_usage_error(C,
                               "%s reads one --data file in one process; several files and "
                               "mpirun are for sampled --model hnn and hgn fits (docs/mpi.md)",
                               gradient ? "--optimizer" : "--model odenet");
    char msg[1024] = "";
    size_t total = 0, dim = 0, first = 0, count = 0;
    rc = hrf_dataset_count(o->data_paths, o->ndata, &total, &dim);
    if (rc == HRF_OK && total < (size_t)P)
        rc = hrf_error(HRF_EDATA,
                       "%d ranks but the data set has only %zu points: use at most %zu "
                       "ranks",
                       P, total, total);
    if (rc == HRF_OK) {
        cli_mpi_share(total, &first, &count);
        rc = hrf_dataset_load_part(o->data_paths, o->ndata, first, count, data);
    }
    if (rc) snprintf(msg, sizeof msg, "%s", hrf_last_error());
    if (P == 1 && rc) return cli_lib_error(C, rc);
    if ((rc = cli_mpi_agree(C, rc ? CLI_FAIL : CLI_OK, msg))) {
        hrf_dataset_free(*data);
        *data = NULL;
        return rc;
    }
    *n_total = total;
    return CLI_OK;
}

int train_run_box(const train_opts *o, const hrf_gd_params *gp) {
    const char *C = "train";
    const char *data_path = o->data_path, *out = o->out;
    const int odenet = o->odenet, correct = o->correct, json = o->json, quiet = o->quiet;
    int rc;
    hrf_dataset *data = NULL;
    size_t n_total = 0;
    if ((rc = load_box(o, gp != NULL, &data, &n_total))) return rc;
    /* Trajectory pairs: fit through one symplectic Euler step (docs/math.md §6.1). */
    hrf_dataset *pairs = NULL;
    if (data->x1) {
        if (odenet) {
            hrf_dataset_free(data);
            return cli_usage_error(C,
                                   "%s holds trajectory pairs; fitting through a symplectic "
                                   "Euler step needs --model hnn",
                                   data_path);
        }
        pairs = data;
        if ((rc = hrf_dataset_pairs_targets(pairs, &data))) {
            hrf_dataset_free(pairs);
            return cli_lib_error(C, rc);
        }
    } else if (correct) {
        hrf_dataset_free(data);
        return cli_usage_error(C,
                               "--correct needs trajectory pairs (hamrf generate --pairs), but "
                               "%s has no entry x1",
                               data_path);
    }
    if (gp) {
        int r = train_gradient(gp, data, pairs, odenet, correct, out, json, quiet);
        hrf_dataset_free(data);
        hrf_dataset_free(pairs);
        return r;
    }
    rc = train_sampled(o->hp, data, n_total, pairs, odenet, correct, out, json, quiet);
    hrf_dataset_free(data);
    hrf_dataset_free(pairs);
    return rc;
}
