/* hamrf rollout, the work after option parsing (cli/rollout.h): the initial
 * states, the model's rollout and with --truth the true system's, the
 * trajectory file (docs/formats.md, "Trajectory"), the summary (docs/cli.md). */
#include "cli.h"
#include "rollout.h"

#include "core/meta.h"
#include "hamrf/dataset.h"
#include "hamrf/hgn_field.h"
#include "hamrf/integrators.h"
#include "hamrf/mdio.h"
#include "hamrf/metrics.h"
#include "hamrf/pfield.h"
#include "hamrf/status.h"
#include "integrators/rollout_impl.h"
#include "models/model_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The truth of a particle rollout: velocity Verlet (leapfrog on the exact
 * separable field) with this many substeps per dt, so its error, O((dt/10)²),
 * is 100x below that of the model's own leapfrog at dt. rk45 would need
 * thousands of stages per step at these sizes for no gain in a comparison
 * whose error is dominated by the model. */
#define TRUTH_SUBSTEPS 10

/* What a rollout of either kind of model computed, for its file and summary. */
typedef struct rollout_result {
    const char *kind;           /* the model's kind, "hnn", "odenet" or "hgn" */
    const hrf_pdata *particles; /* a graph network's data set, else NULL */
    size_t n, dim;              /* initial states, coordinates of each */
    hrf_trajectory *tr, *ref;   /* the model's rollout; the truth's (--truth) */
    double *H_sys;              /* the true H along tr, when the system is known */
    int run_rc;                 /* nonzero: the model's rollout stopped early */
    char stop_msg[1024];        /* ... and why */
} rollout_result;

static void result_free(rollout_result *r) {
    free(r->H_sys);
    hrf_trajectory_free(r->tr);
    hrf_trajectory_free(r->ref);
}

/* The truth's rollout with tp into r->ref: CLI_OK, or CLI_FAIL (printed). */
static int run_truth(const hrf_field *sf, const hrf_rollout_params *tp, const double *x0,
                     rollout_result *r) {
    int rc = hrf_rollout_run(sf, tp, r->n, x0, &r->ref);
    return rc ? cli_lib_error("rollout", rc) : CLI_OK;
}

/* The model's rollout from x0 into r->tr (kept when it stops early: r->run_rc,
 * r->stop_msg) and, with the true system's field sf, the true H along it:
 * CLI_OK, or CLI_FAIL (printed). */
static int run_model(const hrf_field *field, const hrf_rollout_params *rp, const double *x0,
                     const hrf_field *sf, rollout_result *r) {
    r->run_rc = hrf_rollout_run(field, rp, r->n, x0, &r->tr);
    if (!r->tr) return cli_lib_error("rollout", r->run_rc);
    if (r->run_rc) snprintf(r->stop_msg, sizeof r->stop_msg, "%s", hrf_last_error());
    if (!sf) return CLI_OK;
    const size_t J = r->tr->valid;
    r->H_sys = malloc(J * r->n * sizeof *r->H_sys);
    if (!r->H_sys) {
        fprintf(stderr, "hamrf rollout: error: out of memory\n");
        return CLI_FAIL;
    }
    int rc = sf->energy(sf->ctx, J * r->n, r->tr->x, r->H_sys);
    return rc ? cli_lib_error("rollout", rc) : CLI_OK;
}

/* The trajectory file's meta: what was rolled out and how; the caller adds
 * its own keys, save() the stop reason. data: the data set to name, or NULL. */
static cJSON *meta_begin(const rollout_opts *o, const char *kind, const char *data) {
    cJSON *extra = cJSON_CreateObject();
    if (o->model_path) cJSON_AddStringToObject(extra, "model", o->model_path);
    cJSON_AddStringToObject(extra, "model_kind", kind);
    if (data) cJSON_AddStringToObject(extra, "data", data);
    cJSON_AddNumberToObject(extra, "dt", o->rp.dt);
    cJSON_AddNumberToObject(extra, "steps", (double)o->rp.steps);
    cJSON_AddNumberToObject(extra, "every", (double)o->rp.every);
    return extra;
}

/* Writes the trajectory with the meta `extra` (deleted here): CLI_OK, or
 * CLI_FAIL (printed). */
static int save(const rollout_result *r, cJSON *extra, const char *out) {
    if (r->run_rc) cJSON_AddStringToObject(extra, "stop_reason", r->stop_msg);
    int rc = hrf_trajectory_save_meta(r->tr, r->H_sys, r->ref, extra, out);
    cJSON_Delete(extra);
    return rc ? cli_lib_error("rollout", rc) : CLI_OK;
}

/* -o ends in .extxyz or .xyz: the rollout goes out as extended XYZ. */
int rollout_out_is_extxyz(const char *out) {
    size_t n = out ? strlen(out) : 0;
    return (n > 7 && !strcmp(out + n - 7, ".extxyz")) || (n > 4 && !strcmp(out + n - 4, ".xyz"));
}

/* A particle rollout (one trajectory) as extended XYZ (hamrf/mdio.h): the
 * saved states, the model's Ĥ as hamrf_H, the times; masses and box from d. */
static int save_extxyz(const rollout_result *r, const hrf_pdata *d, const char *out) {
    const hrf_trajectory *tr = r->tr;
    hrf_md_frames *fr = NULL;
    int rc = hrf_md_frames_of_states(d, tr->valid, r->n, 0, tr->x, tr->H, tr->t, &fr);
    if (!rc) rc = hrf_extxyz_write(out, fr);
    hrf_md_frames_free(fr);
    return rc ? cli_lib_error("rollout", rc) : CLI_OK;
}

/* Metrics over the saved part of a rollout. */
typedef struct rollout_metrics {
    double drift;          /* of the model's own H, NaN without one */
    double drift_sys;      /* of the true H along the rollout, NaN without it */
    double rate;           /* state-steps per second */
    hrf_rollout_errors re; /* against the truth (--truth), else NaN */
} rollout_metrics;

static void metrics_of(const rollout_result *r, int truth, rollout_metrics *m) {
    const hrf_trajectory *tr = r->tr;
    const size_t J = tr->valid;
    m->drift = tr->H ? hrf_energy_drift(J, r->n, tr->H) : NAN;
    m->drift_sys = r->H_sys ? hrf_energy_drift(J, r->n, r->H_sys) : NAN;
    m->re = (hrf_rollout_errors){NAN, NAN, NAN};
    if (truth)
        hrf_rollout_errors_compute(J, r->n, r->dim, tr->x, r->ref->x, r->H_sys, r->ref->H, NULL,
                                   NULL, &m->re);
    m->rate = tr->seconds > 0 ? (double)tr->steps_done * (double)r->n / tr->seconds : 0.0;
}

/* The JSON summary (docs/cli.md, `hamrf rollout`). */
static cJSON *summary_json(const rollout_opts *o, const rollout_result *r,
                           const rollout_metrics *m) {
    const hrf_trajectory *tr = r->tr;
    const hrf_pdata *d = r->particles;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "output", o->com.out);
    cJSON_AddStringToObject(j, "model_kind", r->kind);
    cJSON_AddStringToObject(j, "integrator", tr->integrator->name);
    cJSON_AddNumberToObject(j, "n_states", (double)r->n);
    if (d) {
        cJSON_AddNumberToObject(j, "n_particles", (double)d->N);
        cJSON_AddNumberToObject(j, "particle_dim", d->D);
    }
    cJSON_AddNumberToObject(j, "dim", (double)r->dim);
    cJSON_AddNumberToObject(j, "dt", o->rp.dt);
    cJSON_AddNumberToObject(j, "steps", (double)o->rp.steps);
    cJSON_AddNumberToObject(j, "steps_done", (double)tr->steps_done);
    cJSON_AddBoolToObject(j, "complete", r->run_rc == 0);
    if (r->run_rc) cJSON_AddStringToObject(j, "stop_reason", r->stop_msg);
    cJSON_AddNumberToObject(j, "saved", (double)tr->valid);
    cJSON_AddNumberToObject(j, "seconds", tr->seconds);
    cJSON_AddNumberToObject(j, "state_steps_per_second", m->rate);
    cJSON_AddNumberToObject(j, "rhs_evals", (double)tr->stats.rhs_evals);
    cJSON_AddNumberToObject(j, "solve_iters_max", tr->stats.solve_iters_max);
    /* energy_drift: the model's own H (HNN, and every graph network); for a
     * model without one (ODE-net) the true system's H along the predicted
     * states. */
    double ed = tr->H ? m->drift : m->drift_sys;
    if (isfinite(ed))
        cJSON_AddNumberToObject(j, "energy_drift", ed);
    else
        cJSON_AddNullToObject(j, "energy_drift");
    const int sys = !strcmp(r->kind, "system"); /* --true-system: H is the system's */
    cJSON_AddStringToObject(j, "energy_drift_of",
                            tr->H && !sys       ? "model"
                            : tr->H || r->H_sys ? "system"
                                                : "none");
    if (isfinite(m->drift_sys)) cJSON_AddNumberToObject(j, "energy_drift_true", m->drift_sys);
    if (d && strcmp(r->kind, "system")) {
        cJSON_AddNumberToObject(j, "tabulated", (double)o->tabulate);
        if (o->truth) {
            cJSON_AddStringToObject(j, "truth_integrator", "leapfrog");
            cJSON_AddNumberToObject(j, "truth_substeps", TRUTH_SUBSTEPS);
            cJSON_AddNumberToObject(j, "truth_seconds", r->ref->seconds);
        }
    }
    if (o->truth) {
        cJSON_AddNumberToObject(j, "zerr_gmean", m->re.zerr_gmean);
        cJSON_AddNumberToObject(j, "herr_gmean", m->re.herr_gmean);
        cJSON_AddNumberToObject(j, "final_state_error", m->re.final_state_error);
    }
    return j;
}

/* The text summary on stderr. */
static void print_summary(const rollout_opts *o, const rollout_result *r,
                          const rollout_metrics *m) {
    const hrf_trajectory *tr = r->tr;
    char of[64] = "";
    if (r->particles) snprintf(of, sizeof of, " of %zu particles", r->particles->N);
    fprintf(stderr,
            "hamrf rollout: %zu state(s)%s, %zu/%zu steps of %s, dt %g: %.3f s "
            "(%.3g state-steps/s)\n",
            r->n, of, tr->steps_done, o->rp.steps, tr->integrator->name, o->rp.dt, tr->seconds,
            m->rate);
    if (isfinite(m->drift))
        fprintf(stderr, "hamrf rollout: energy drift (%s H) %.3e\n",
                strcmp(r->kind, "system") ? "model" : "true", m->drift);
    if (isfinite(m->drift_sys))
        fprintf(stderr, "hamrf rollout: energy drift (true H along the rollout) %.3e\n",
                m->drift_sys);
    if (o->truth)
        fprintf(stderr, "hamrf rollout: zerr_gmean %.3e, herr_gmean %.3e, final state error %.3e\n",
                m->re.zerr_gmean, m->re.herr_gmean, m->re.final_state_error);
    fprintf(stderr, "hamrf rollout: wrote %s\n", o->com.out);
}

/* The summary, after the file is written; the exit status: 1 when the
 * rollout stopped early. */
static int report(const rollout_opts *o, const rollout_result *r) {
    rollout_metrics m;
    metrics_of(r, o->truth, &m);
    if (o->com.json)
        cli_print_json(summary_json(o, r, &m));
    else if (!o->com.quiet)
        print_summary(o, r, &m);
    if (!r->run_rc) return CLI_OK;
    fprintf(stderr, "hamrf rollout: error: %s (the states computed so far were written to %s)\n",
            r->stop_msg, o->com.out);
    return CLI_FAIL;
}

/* How many of the `have` initial states (`what`: "states", "snapshots") of
 * --data to roll out: --count K of them, all when K is 0 or more than there
 * are (with a note). */
static size_t take_count(const rollout_opts *o, size_t have, const char *what) {
    if (o->count > have)
        fprintf(stderr, "hamrf rollout: note: --count %zu but %s has %zu %s; using all\n", o->count,
                o->data_path, have, what);
    return o->count && o->count < have ? o->count : have;
}

/* The trajectory file's meta of a particle rollout: a graph network's
 * (kind "hgn") or the data set's own system's (kind "system"). */
static cJSON *particle_meta(const rollout_opts *o, const hrf_pdata *d, const char *kind) {
    cJSON *extra = meta_begin(o, kind, o->data_path);
    cJSON_AddNumberToObject(extra, "n_particles", (double)d->N);
    cJSON_AddNumberToObject(extra, "particle_dim", d->D);
    cJSON_AddStringToObject(extra, "state_layout", "q (N, D) then p (N, D), row-major, unwrapped");
    const cJSON *sysname = cJSON_GetObjectItemCaseSensitive(HRF_META(d), "system");
    if (cJSON_IsString(sysname)) cJSON_AddStringToObject(extra, "system", sysname->valuestring);
    if (o->truth) {
        cJSON_AddStringToObject(extra, "truth_integrator", "leapfrog");
        cJSON_AddNumberToObject(extra, "truth_substeps", TRUTH_SUBSTEPS);
    }
    return extra;
}

int rollout_run_hgn(const hrf_model *model, const rollout_opts *o) {
    const char *C = "rollout";
    const hrf_rollout_params *rp = &o->rp;
    hrf_pdata *d = NULL;
    hrf_psystem *ps = NULL;
    hrf_hgn_table *table = NULL;
    double *x0 = NULL;
    rollout_result r = {.kind = "hgn"};
    hrf_hgn_field_ctx ctx = {.cache = NULL};
    int status = CLI_FAIL, rc;
    if ((rc = hrf_pdata_load(o->data_path, &d))) return cli_lib_error(C, rc);
    r.particles = d;
    r.n = take_count(o, d->S, "snapshots");
    const int xyz = rollout_out_is_extxyz(o->com.out);
    if (xyz && r.n != 1) {
        status = cli_usage_error(C,
                                 "-o %s: an extended XYZ file holds one trajectory; add --count 1 "
                                 "(or write .npz and use `hamrf convert --trajectory K`)",
                                 o->com.out);
        goto done;
    }
    hrf_hgn_field_ctx_of(&ctx, hrf_model_hgn(model), d);
    hrf_field field;
    hrf_hgn_field(&ctx, &field);
    r.dim = field.dim;
    x0 = malloc(r.n * r.dim * sizeof *x0);
    if (!x0) {
        fprintf(stderr, "hamrf rollout: error: out of memory for %zu states of %zu particles\n",
                r.n, d->N);
        goto done;
    }
    hrf_pdata_states(d, 0, r.n, x0);
    if (o->tabulate) {
        if ((rc = hrf_hgn_field_table(&ctx, r.n, x0, o->tabulate, &table))) {
            status = cli_lib_error(C, rc);
            goto done;
        }
        ctx.table = table;
    }
    /* The true system, for H_sys along the rollout and for --truth. */
    int have_sys = hrf_psystem_from_pdata(d, &ps) == HRF_OK;
    if (o->truth && !have_sys) {
        fprintf(stderr, "hamrf rollout: error: --truth: %s: %s\n", o->data_path, hrf_last_error());
        goto done;
    }
    hrf_clear_error();
    hrf_field sf;
    if (have_sys) hrf_psystem_field(ps, &sf);
    if (o->truth) {
        if (rp->steps > ((size_t)1 << 52) / TRUTH_SUBSTEPS) {
            status = cli_usage_error(C, "--steps %zu is too large for --truth", rp->steps);
            goto done;
        }
        hrf_rollout_params tp = *rp;
        tp.integrator = &hrf_integrator_leapfrog;
        tp.dt = rp->dt / TRUTH_SUBSTEPS;
        tp.steps = rp->steps * TRUTH_SUBSTEPS;
        tp.every = rp->every * TRUTH_SUBSTEPS;
        if ((status = run_truth(&sf, &tp, x0, &r))) goto done;
    }
    if ((status = run_model(&field, rp, x0, have_sys ? &sf : NULL, &r))) goto done;
    if ((status = xyz ? save_extxyz(&r, d, o->com.out)
                      : save(&r, particle_meta(o, d, "hgn"), o->com.out)))
        goto done;
    status = report(o, &r);
done:
    free(x0);
    result_free(&r);
    hrf_hgn_field_ctx_release(&ctx);
    hrf_hgn_table_free(table);
    hrf_psystem_free(ps);
    hrf_pdata_free(d);
    return status;
}

int rollout_run_system(const rollout_opts *o) {
    const char *C = "rollout";
    hrf_pdata *d = NULL;
    hrf_psystem *ps = NULL;
    double *x0 = NULL;
    rollout_result r = {.kind = "system"};
    int status = CLI_FAIL, rc;
    if ((rc = hrf_pdata_load(o->data_path, &d))) return cli_lib_error(C, rc);
    r.particles = d;
    r.n = take_count(o, d->S, "snapshots");
    const int xyz = rollout_out_is_extxyz(o->com.out);
    if (xyz && r.n != 1) {
        status = cli_usage_error(
            C, "-o %s: an extended XYZ file holds one trajectory; add --count 1", o->com.out);
        goto done;
    }
    if ((rc = hrf_psystem_from_pdata(d, &ps))) {
        status = cli_lib_error(C, rc);
        goto done;
    }
    hrf_field sf;
    hrf_psystem_field(ps, &sf);
    r.dim = sf.dim;
    if (!(x0 = malloc(r.n * r.dim * sizeof *x0))) {
        fprintf(stderr, "hamrf rollout: error: out of memory for %zu states of %zu particles\n",
                r.n, d->N);
        goto done;
    }
    hrf_pdata_states(d, 0, r.n, x0);
    /* the field's energy is the true H: no separate H_sys */
    if ((status = run_model(&sf, &o->rp, x0, NULL, &r))) goto done;
    if ((status = xyz ? save_extxyz(&r, d, o->com.out)
                      : save(&r, particle_meta(o, d, "system"), o->com.out)))
        goto done;
    status = report(o, &r);
done:
    free(x0);
    result_free(&r);
    hrf_psystem_free(ps);
    hrf_pdata_free(d);
    return status;
}

/* The initial states of an HNN or ODE-net of dimension dim: parsed from --x0
 * (a new array) or the first K states of --data (*x0 borrowed from *data);
 * CLI_OK and *n, or the exit status (printed). */
static int box_states(const rollout_opts *o, size_t dim, double **x0, hrf_dataset **data,
                      size_t *n) {
    const char *C = "rollout";
    if (o->x0_arg) {
        size_t nv = cli_parse_list(C, "x0", o->x0_arg, x0);
        if (nv == 0) return CLI_USAGE;
        if (nv % dim)
            return cli_usage_error(C,
                                   "--x0 has %zu values but the model's states have %zu "
                                   "coordinates (q_1..q_d, p_1..p_d); give a multiple of %zu",
                                   nv, dim, dim);
        *n = nv / dim;
        return CLI_OK;
    }
    int rc = hrf_dataset_load(o->data_path, data);
    if (rc) return cli_lib_error(C, rc);
    const hrf_dataset *ds = *data;
    if (ds->dim != dim) {
        fprintf(stderr,
                "hamrf rollout: error: %s: entry 'x' has states of dimension %zu but "
                "the model %s has dimension %zu\n",
                o->data_path, ds->dim, o->model_path, dim);
        return CLI_FAIL;
    }
    *n = take_count(o, ds->n, "states");
    *x0 = ds->x;
    return CLI_OK;
}

/* The trajectory file's meta of an HNN's or ODE-net's rollout; have_sys: the
 * model names its system. */
static cJSON *box_meta(const rollout_opts *o, const hrf_model *model, int have_sys) {
    cJSON *extra = meta_begin(o, hrf_model_kind(model), NULL);
    if (have_sys) {
        const cJSON *ms = cJSON_GetObjectItemCaseSensitive(hrf_model_meta(model), "system");
        const cJSON *mp = cJSON_GetObjectItemCaseSensitive(hrf_model_meta(model), "params");
        cJSON_AddStringToObject(extra, "system", ms->valuestring);
        if (mp) cJSON_AddItemToObject(extra, "params", cJSON_Duplicate(mp, 1));
    }
    if (o->truth) {
        cJSON_AddStringToObject(extra, "truth_integrator", "rk45");
        cJSON_AddNumberToObject(extra, "truth_tol", 1e-12);
    }
    return extra;
}

int rollout_run_box(const hrf_model *model, const rollout_opts *o) {
    const char *C = "rollout";
    const hrf_rollout_params *rp = &o->rp;
    hrf_dataset *data = NULL;
    double *x0 = NULL;
    rollout_result r = {.kind = hrf_model_kind(model), .dim = hrf_model_dim(model)};
    int status = box_states(o, r.dim, &x0, &data, &r.n);
    if (status) goto done;
    hrf_field field;
    hrf_model_field(model, &field);
    if (rp->integrator && rp->integrator->needs_separable && !field.separable) {
        status = cli_usage_error(C,
                                 "--integrator %s needs a separable Hamiltonian H = T(p) + V(q), "
                                 "but the %s model in %s is not separable (every neuron mixes q "
                                 "and p); use symplectic_euler or midpoint (implicit), or rk4",
                                 rp->integrator->name, r.kind, o->model_path);
        goto done;
    }
    hrf_system sys;
    int have_sys = hrf_model_system(model, &sys) == HRF_OK;
    hrf_clear_error();
    if (o->truth && !have_sys) {
        fprintf(stderr,
                "hamrf rollout: error: --truth needs the model's built-in system, but %s "
                "does not name one\n",
                o->model_path);
        status = CLI_FAIL;
        goto done;
    }
    hrf_field sf;
    if (have_sys) hrf_field_from_system(&sf, &sys);
    /* The truth first: it is the cheaper check of the size limit. */
    if (o->truth) {
        hrf_rollout_params tp = *rp;
        tp.integrator = &hrf_integrator_rk45;
        tp.ip.rtol = tp.ip.atol = 1e-12;
        if ((status = run_truth(&sf, &tp, x0, &r))) goto done;
    }
    if ((status = run_model(&field, rp, x0, have_sys ? &sf : NULL, &r))) goto done;
    if ((status = save(&r, box_meta(o, model, have_sys), o->com.out))) goto done;
    status = report(o, &r);
done:
    if (!data) free(x0);
    result_free(&r);
    hrf_dataset_free(data);
    return status;
}
