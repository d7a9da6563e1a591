/* hamrf rollout: integrate a trained model (or its true system) from given
 * initial states and save the trajectory (docs/math.md §8, §7). A graph network
 * (hgn) rolls out particle systems of any size: its initial states are the
 * first snapshots of a particle data set, flattened as in hamrf/pfield.h. */
#include "core/meta.h"
#include "cli.h"

#include "hamrf/dataset.h"
#include "hamrf/hgn_field.h"
#include "hamrf/integrators.h"
#include "hamrf/metrics.h"
#include "hamrf/model.h"
#include "core/npz.h"
#include "hamrf/pfield.h"
#include "hamrf/rollout.h"
#include "hamrf/status.h"
#include "integrators/rollout_impl.h"
#include "models/model_impl.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: hamrf rollout --model MODEL.npz (--x0=V1,V2,... | --data FILE.npz [--count K])\n"
    "                     --dt DT --steps N [--integrator NAME] [--every E] [--truth]\n"
    "                     -o TRAJ.npz [--json]\n"
    "Integrates the model's vector field from each initial state and writes the trajectory:\n"
    "t (J), x (J, n, dim), H (J, n) the model's energy (HNN), H_sys the true system's energy\n"
    "along x (when the model names its system), and with --truth x_true, H_true.\n"
    "A graph network (hgn) needs --data with a particle data set: the initial states are\n"
    "its first K snapshots, each one state x = (q (N*D values), p (N*D values)), of any\n"
    "number of particles N; dim = 2*N*D. Its truth is the data set's own system.\n"
    "  --model FILE       a model written by 'hamrf train' (hnn, odenet or hgn)\n"
    "  --x0=V1,V2,...     initial state(s): a multiple of dim values, state after state\n"
    "  --data FILE        take the initial states from the x entry of a data set (hgn:\n"
    "                     the snapshots of a particle data set)\n"
    "  --count K          only the first K states (snapshots) of --data (default: all)\n"
    "  --dt DT            time step (required; rk45: first trial step and output spacing)\n"
    "  --steps N          number of steps (required)\n"
    "  --integrator NAME  symplectic_euler, symplectic_euler_p, leapfrog, yoshida4,\n"
    "                     midpoint, rk4, rk45 (default: leapfrog for a separable field,\n"
    "                     else midpoint; hnn and odenet are non-separable, hgn is separable)\n"
    "  --every E          save every E steps (default 1); the last state is always saved\n"
    "  --truth            also integrate the true system (from the model's meta) with rk45,\n"
    "                     rtol = atol = 1e-12, and report zerr_gmean, herr_gmean,\n"
    "                     final_state_error; hgn: the data set's system, by velocity\n"
    "                     Verlet with 10 substeps per dt\n"
    "  --rtol R, --atol A rk45 tolerances (defaults 1e-10, 1e-12)\n"
    "  --solve-tol T      implicit solves: stop when |dx| <= T (1 + |x|) (default 1e-14)\n"
    "  --solve-max N      implicit solves: at most N iterations per step (default 50)\n"
    "  --fixed-point      implicit solves by fixed-point iteration instead of Newton\n"
    "  --tabulate N       hgn pair mode: pair forces from the model's V(r) tabulated on N\n"
    "                     intervals (cubic Hermite; much faster on large systems)\n"
    "  --threads N        threads (default: all cores)\n"
    "  -o, --output FILE  trajectory .npz (written atomically; also when the rollout stops\n"
    "                     early, with what was computed, and exit status 1)\n"
    "  --json             one JSON object on stdout\n"
    "  --quiet            no summary on stderr\n";

/* Parses "v1,v2,..." into a new array; returns the count or 0 on error. */
static size_t parse_values(const char *C, const char *s, double **out) {
    size_t cap = 16, n = 0;
    double *v = malloc(cap * sizeof *v);
    char *copy = strdup(s);
    if (!v || !copy) {
        free(v), free(copy);
        cli_usage_error(C, "out of memory");
        return 0;
    }
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == cap) {
            double *nv = realloc(v, 2 * cap * sizeof *v);
            if (!nv) {
                free(v), free(copy);
                cli_usage_error(C, "out of memory");
                return 0;
            }
            v = nv, cap *= 2;
        }
        if (cli_parse_double(C, "x0", tok, &v[n])) {
            free(v), free(copy);
            return 0;
        }
        n++;
    }
    free(copy);
    if (n == 0) {
        free(v);
        cli_usage_error(C, "--x0 expects comma-separated numbers, got '%s'", s);
        return 0;
    }
    *out = v;
    return n;
}

/* The truth of a particle rollout: velocity Verlet (leapfrog on the exact
 * separable field) with this many substeps per dt, so its error, O((dt/10)²),
 * is 100x below that of the model's own leapfrog at dt. rk45 would need
 * thousands of stages per step at these sizes for no gain in a comparison
 * whose error is dominated by the model. */
#define TRUTH_SUBSTEPS 10

/* meta "kind" (what = "kind") or "model" (what = "model") of the file at
 * `path`, or NULL when it cannot be read here (the loader then says why);
 * the string is owned by *meta. */
static const char *file_meta_str(const char *path, const char *what, cJSON **meta) {
    hrf_npz *z = NULL;
    *meta = NULL;
    if (hrf_npz_open(path, &z)) {
        hrf_clear_error();
        return NULL;
    }
    int rc = hrf_npz_read_meta(z, NULL, meta);
    hrf_npz_close(z);
    if (rc) {
        hrf_clear_error();
        return NULL;
    }
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(*meta, what);
    return cJSON_IsString(k) ? k->valuestring : NULL;
}

/* The text summary's metric lines (both model kinds). */
static void print_metrics(double drift, double drift_sys, int truth, const hrf_rollout_errors *re,
                          const char *out) {
    if (isfinite(drift)) fprintf(stderr, "hamrf rollout: energy drift (model H) %.3e\n", drift);
    if (isfinite(drift_sys))
        fprintf(stderr, "hamrf rollout: energy drift (true H along the rollout) %.3e\n", drift_sys);
    if (truth)
        fprintf(stderr, "hamrf rollout: zerr_gmean %.3e, herr_gmean %.3e, final state error %.3e\n",
                re->zerr_gmean, re->herr_gmean, re->final_state_error);
    fprintf(stderr, "hamrf rollout: wrote %s\n", out);
}

/* Exit status after the file is written: 1 when the rollout stopped early. */
static int finish(int run_rc, const char *stop_msg, const char *out) {
    if (!run_rc) return CLI_OK;
    fprintf(stderr, "hamrf rollout: error: %s (the states computed so far were written to %s)\n",
            stop_msg, out);
    return CLI_FAIL;
}

/* A graph network on a particle data set: the first K snapshots as initial
 * states, the learned field, and with --truth the data set's own system. */
static int rollout_hgn(const hrf_model *model, const char *model_path, const char *data_path,
                       size_t count, const hrf_rollout_params *rp, int truth, size_t tabulate,
                       const char *out, int json, int quiet) {
    const char *C = "rollout";
    hrf_pdata *d = NULL;
    hrf_psystem *ps = NULL;
    double *x0 = NULL, *H_sys = NULL;
    hrf_trajectory *tr = NULL, *ref = NULL;
    hrf_hgn_table *table = NULL;
    int status = CLI_FAIL, rc;
    if ((rc = hrf_pdata_load(data_path, &d))) return cli_lib_error(C, rc);
    const size_t n = count && count < d->S ? count : d->S;
    if (count > d->S)
        fprintf(stderr, "hamrf rollout: note: --count %zu but %s has %zu snapshots; using all\n",
                count, data_path, d->S);
    hrf_hgn_field_ctx ctx;
    hrf_hgn_field_ctx_of(&ctx, hrf_model_hgn(model), d);
    hrf_field field;
    hrf_hgn_field(&ctx, &field);
    const size_t dim = field.dim;
    x0 = malloc(n * dim * sizeof *x0);
    if (!x0) {
        fprintf(stderr, "hamrf rollout: error: out of memory for %zu states of %zu particles\n", n,
                d->N);
        goto done;
    }
    hrf_pdata_states(d, 0, n, x0);
    if (tabulate) {
        if ((rc = hrf_hgn_field_table(&ctx, n, x0, tabulate, &table))) {
            status = cli_lib_error(C, rc);
            goto done;
        }
        ctx.table = table;
    }
    /* The true system, for H_sys along the rollout and for --truth. */
    int have_sys = hrf_psystem_from_pdata(d, &ps) == HRF_OK;
    if (truth && !have_sys) {
        fprintf(stderr, "hamrf rollout: error: --truth: %s: %s\n", data_path, hrf_last_error());
        goto done;
    }
    hrf_clear_error();
    hrf_field sf;
    if (have_sys) hrf_psystem_field(ps, &sf);
    if (truth) {
        if (rp->steps > ((size_t)1 << 52) / TRUTH_SUBSTEPS) {
            status = cli_usage_error(C, "--steps %zu is too large for --truth", rp->steps);
            goto done;
        }
        hrf_rollout_params tp = *rp;
        tp.integrator = &hrf_integrator_leapfrog;
        tp.dt = rp->dt / TRUTH_SUBSTEPS;
        tp.steps = rp->steps * TRUTH_SUBSTEPS;
        tp.every = rp->every * TRUTH_SUBSTEPS;
        if ((rc = hrf_rollout_run(&sf, &tp, n, x0, &ref))) {
            hrf_trajectory_free(ref);
            ref = NULL;
            status = cli_lib_error(C, rc);
            goto done;
        }
    }
    int run_rc = hrf_rollout_run(&field, rp, n, x0, &tr);
    if (!tr) {
        status = cli_lib_error(C, run_rc);
        goto done;
    }
    char stop_msg[1024] = "";
    if (run_rc) snprintf(stop_msg, sizeof stop_msg, "%s", hrf_last_error());
    const size_t J = tr->valid;
    if (have_sys) {
        H_sys = malloc(J * n * sizeof *H_sys);
        if (!H_sys) {
            fprintf(stderr, "hamrf rollout: error: out of memory\n");
            goto done;
        }
        if ((rc = sf.energy(sf.ctx, J * n, tr->x, H_sys))) {
            status = cli_lib_error(C, rc);
            goto done;
        }
    }
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddStringToObject(extra, "model", model_path);
    cJSON_AddStringToObject(extra, "model_kind", "hgn");
    cJSON_AddStringToObject(extra, "data", data_path);
    cJSON_AddNumberToObject(extra, "dt", rp->dt);
    cJSON_AddNumberToObject(extra, "steps", (double)rp->steps);
    cJSON_AddNumberToObject(extra, "every", (double)rp->every);
    cJSON_AddNumberToObject(extra, "n_particles", (double)d->N);
    cJSON_AddNumberToObject(extra, "particle_dim", d->D);
    cJSON_AddStringToObject(extra, "state_layout", "q (N, D) then p (N, D), row-major, unwrapped");
    const cJSON *sysname = cJSON_GetObjectItemCaseSensitive(HRF_META(d), "system");
    if (cJSON_IsString(sysname)) cJSON_AddStringToObject(extra, "system", sysname->valuestring);
    if (truth) {
        cJSON_AddStringToObject(extra, "truth_integrator", "leapfrog");
        cJSON_AddNumberToObject(extra, "truth_substeps", TRUTH_SUBSTEPS);
    }
    if (run_rc) cJSON_AddStringToObject(extra, "stop_reason", stop_msg);
    rc = hrf_trajectory_save_meta(tr, H_sys, ref, extra, out);
    cJSON_Delete(extra);
    if (rc) {
        status = cli_lib_error(C, rc);
        goto done;
    }
    double drift = tr->H ? hrf_energy_drift(J, n, tr->H) : NAN;
    double drift_sys = H_sys ? hrf_energy_drift(J, n, H_sys) : NAN;
    hrf_rollout_errors re = {NAN, NAN, NAN};
    if (truth) hrf_rollout_errors_compute(J, n, dim, tr->x, ref->x, H_sys, ref->H, NULL, NULL, &re);
    double rate = tr->seconds > 0 ? (double)tr->steps_done * (double)n / tr->seconds : 0.0;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "output", out);
        cJSON_AddStringToObject(o, "model_kind", "hgn");
        cJSON_AddStringToObject(o, "integrator", tr->integrator->name);
        cJSON_AddNumberToObject(o, "n_states", (double)n);
        cJSON_AddNumberToObject(o, "n_particles", (double)d->N);
        cJSON_AddNumberToObject(o, "particle_dim", d->D);
        cJSON_AddNumberToObject(o, "dim", (double)dim);
        cJSON_AddNumberToObject(o, "dt", rp->dt);
        cJSON_AddNumberToObject(o, "steps", (double)rp->steps);
        cJSON_AddNumberToObject(o, "steps_done", (double)tr->steps_done);
        cJSON_AddBoolToObject(o, "complete", run_rc == 0);
        if (run_rc) cJSON_AddStringToObject(o, "stop_reason", stop_msg);
        cJSON_AddNumberToObject(o, "saved", (double)J);
        cJSON_AddNumberToObject(o, "seconds", tr->seconds);
        cJSON_AddNumberToObject(o, "state_steps_per_second", rate);
        cJSON_AddNumberToObject(o, "rhs_evals", (double)tr->stats.rhs_evals);
        cJSON_AddNumberToObject(o, "solve_iters_max", tr->stats.solve_iters_max);
        if (isfinite(drift))
            cJSON_AddNumberToObject(o, "energy_drift", drift);
        else
            cJSON_AddNullToObject(o, "energy_drift");
        cJSON_AddStringToObject(o, "energy_drift_of", "model");
        if (isfinite(drift_sys)) cJSON_AddNumberToObject(o, "energy_drift_true", drift_sys);
        cJSON_AddNumberToObject(o, "tabulated", (double)tabulate);
        if (truth) {
            cJSON_AddStringToObject(o, "truth_integrator", "leapfrog");
            cJSON_AddNumberToObject(o, "truth_substeps", TRUTH_SUBSTEPS);
            cJSON_AddNumberToObject(o, "truth_seconds", ref->seconds);
            cJSON_AddNumberToObject(o, "zerr_gmean", re.zerr_gmean);
            cJSON_AddNumberToObject(o, "herr_gmean", re.herr_gmean);
            cJSON_AddNumberToObject(o, "final_state_error", re.final_state_error);
        }
        cli_print_json(o);
    } else if (!quiet) {
        fprintf(stderr,
                "hamrf rollout: %zu state(s) of %zu particles, %zu/%zu steps of %s, dt %g: "
                "%.3f s (%.3g state-steps/s)\n",
                n, d->N, tr->steps_done, rp->steps, tr->integrator->name, rp->dt, tr->seconds,
                rate);
        print_metrics(drift, drift_sys, truth, &re, out);
    }
    status = finish(run_rc, stop_msg, out);
done:
    free(x0);
    free(H_sys);
    hrf_hgn_table_free(table);
    hrf_trajectory_free(tr);
    hrf_trajectory_free(ref);
    hrf_psystem_free(ps);
    hrf_pdata_free(d);
    return status;
}

int cmd_rollout(int argc, char **argv) {
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"x0", required_argument, 0, 'x'},
                                         {"data", required_argument, 0, 'd'},
                                         {"count", required_argument, 0, 'k'},
                                         {"dt", required_argument, 0, 't'},
                                         {"steps", required_argument, 0, 'n'},
                                         {"integrator", required_argument, 0, 'i'},
                                         {"every", required_argument, 0, 'e'},
                                         {"truth", no_argument, 0, 'R'},
                                         {"rtol", required_argument, 0, 'r'},
                                         {"atol", required_argument, 0, 'a'},
                                         {"solve-tol", required_argument, 0, 's'},
                                         {"solve-max", required_argument, 0, 'S'},
                                         {"fixed-point", no_argument, 0, 'F'},
                                         {"tabulate", required_argument, 0, 'B'},
                                         {"threads", required_argument, 0, 'T'},
                                         {"output", required_argument, 0, 'o'},
                                         {"json", no_argument, 0, 'j'},
                                         {"quiet", no_argument, 0, 'Q'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *C = "rollout";
    const char *model_path = NULL, *data_path = NULL, *x0_arg = NULL, *out = NULL;
    const char *integ_name = NULL;
    size_t count = 0, solve_max = 0, tabulate = 0;
    int json = 0, quiet = 0, truth = 0, have_dt = 0, have_steps = 0, c, rc;
    hrf_rollout_params rp;
    hrf_rollout_params_default(&rp);
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            model_path = optarg;
            break;
        case 'x':
            x0_arg = optarg;
            break;
        case 'd':
            data_path = optarg;
            break;
        case 'k':
            if (cli_parse_size(C, "count", optarg, &count)) return CLI_USAGE;
            if (count == 0) return cli_usage_error(C, "--count must be at least 1");
            break;
        case 't':
            if (cli_parse_double(C, "dt", optarg, &rp.dt)) return CLI_USAGE;
            if (!(rp.dt > 0.0)) return cli_usage_error(C, "--dt must be > 0, got '%s'", optarg);
            have_dt = 1;
            break;
        case 'n':
            if (cli_parse_size(C, "steps", optarg, &rp.steps)) return CLI_USAGE;
            if (rp.steps == 0) return cli_usage_error(C, "--steps must be at least 1");
            have_steps = 1;
            break;
        case 'i':
            integ_name = optarg;
            break;
        case 'e':
            if (cli_parse_size(C, "every", optarg, &rp.every)) return CLI_USAGE;
            if (rp.every == 0) return cli_usage_error(C, "--every must be at least 1");
            break;
        case 'R':
            truth = 1;
            break;
        case 'r':
            if (cli_parse_double(C, "rtol", optarg, &rp.ip.rtol)) return CLI_USAGE;
            break;
        case 'a':
            if (cli_parse_double(C, "atol", optarg, &rp.ip.atol)) return CLI_USAGE;
            break;
        case 's':
            if (cli_parse_double(C, "solve-tol", optarg, &rp.ip.solve_tol)) return CLI_USAGE;
            break;
        case 'S':
            if (cli_parse_size(C, "solve-max", optarg, &solve_max)) return CLI_USAGE;
            if (solve_max == 0 || solve_max > 100000)
                return cli_usage_error(C, "--solve-max must be in 1..100000");
            rp.ip.solve_max = (int)solve_max;
            break;
        case 'F':
            rp.ip.fixed_point = 1;
            break;
        case 'B':
            if (cli_parse_size(C, "tabulate", optarg, &tabulate)) return CLI_USAGE;
            if (tabulate < 16 || tabulate > 100000000)
                return cli_usage_error(C, "--tabulate needs 16 .. 1e8 intervals, got '%s'", optarg);
            break;
        case 'T':
            if (cli_parse_threads(C, optarg)) return CLI_USAGE;
            break;
        case 'o':
            out = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'Q':
            quiet = 1;
            break;
        case 'h':
            fputs(help, stdout);
            return CLI_OK;
        default:
            return cli_unknown_option(C, argv, optind, optopt);
        }
    }
    if (optind < argc) return cli_usage_error(C, "unexpected argument '%s'", argv[optind]);
    if (!model_path) return cli_usage_error(C, "--model FILE is required");
    /* A graph network takes particle data sets only, the others box data
     * sets (files that cannot be read here are left to the loaders). */
    cJSON *mmeta = NULL, *dmeta = NULL;
    const char *mkind = file_meta_str(model_path, "model", &mmeta);
    const int hgn = mkind && !strcmp(mkind, "hgn");
    cJSON_Delete(mmeta);
    if (tabulate && !hgn)
        return cli_usage_error(C, "--tabulate applies to graph networks (hgn) only");
    if (hgn && (x0_arg || !data_path))
        return cli_usage_error(C,
                               "%s is a graph network (hgn): give its initial states as "
                               "--data PARTICLES.npz [--count K] (the first K snapshots of a "
                               "particle data set)%s",
                               model_path, x0_arg ? "; --x0 does not apply" : "");
    if (data_path) {
        const char *dkind = file_meta_str(data_path, "kind", &dmeta);
        int particles = dkind && !strcmp(dkind, "particles"), known = dkind != NULL;
        cJSON_Delete(dmeta);
        if (hgn && known && !particles)
            return cli_usage_error(C,
                                   "%s is a graph network (hgn), which rolls out particle data "
                                   "sets (hamrf generate --system springs|benchmark_ring|lj), but "
                                   "%s is not one",
                                   model_path, data_path);
        if (!hgn && particles)
            return cli_usage_error(C,
                                   "%s is a particle data set; only a graph network (hamrf "
                                   "train --model hgn) rolls it out",
                                   data_path);
    }
    if (!x0_arg == !data_path)
        return cli_usage_error(C, "give the initial states with exactly one of --x0 and --data");
    if (count && !data_path) return cli_usage_error(C, "--count only applies to --data");
    if (!have_dt) return cli_usage_error(C, "--dt DT is required");
    if (!have_steps) return cli_usage_error(C, "--steps N is required");
    if (!out) return cli_usage_error(C, "-o TRAJ.npz is required");
    if (integ_name && hrf_integrator_find(integ_name, &rp.integrator))
        return cli_usage_error(C, "--integrator: %s", hrf_last_error());
    const char *msg = hrf_rollout_params_check(&rp);
    if (msg) return cli_usage_error(C, "%s", msg);

    hrf_model *model = NULL;
    hrf_dataset *data = NULL;
    double *x0 = NULL, *H_sys = NULL;
    hrf_trajectory *tr = NULL, *ref = NULL;
    int status = CLI_FAIL;
    if ((rc = hrf_model_load(model_path, &model))) return cli_lib_error(C, rc);
    if (hrf_model_hgn(model)) {
        status = rollout_hgn(model, model_path, data_path, count, &rp, truth, tabulate, out, json,
                             quiet);
        hrf_model_free(model);
        return status;
    }
    const size_t dim = hrf_model_dim(model);
    size_t n = 0;
    if (x0_arg) {
        size_t nv = parse_values(C, x0_arg, &x0);
        if (nv == 0) {
            status = CLI_USAGE;
            goto done;
        }
        if (nv % dim) {
            status = cli_usage_error(C,
                                     "--x0 has %zu values but the model's states have %zu "
                                     "coordinates (q_1..q_d, p_1..p_d); give a multiple of %zu",
                                     nv, dim, dim);
            goto done;
        }
        n = nv / dim;
    } else {
        if ((rc = hrf_dataset_load(data_path, &data))) {
            status = cli_lib_error(C, rc);
            goto done;
        }
        if (data->dim != dim) {
            fprintf(stderr,
                    "hamrf rollout: error: %s: entry 'x' has states of dimension %zu but "
                    "the model %s has dimension %zu\n",
                    data_path, data->dim, model_path, dim);
            goto done;
        }
        n = count && count < data->n ? count : data->n;
        if (count > data->n)
            fprintf(stderr, "hamrf rollout: note: --count %zu but %s has %zu states; using all\n",
                    count, data_path, data->n);
        x0 = data->x; /* borrowed */
    }
    hrf_field field;
    hrf_model_field(model, &field);
    if (rp.integrator && rp.integrator->needs_separable && !field.separable) {
        status = cli_usage_error(C,
                                 "--integrator %s needs a separable Hamiltonian H = T(p) + V(q), "
                                 "but the %s model in %s is not separable (every neuron mixes q "
                                 "and p); use symplectic_euler or midpoint (implicit), or rk4",
                                 rp.integrator->name, hrf_model_kind(model), model_path);
        goto done;
    }
    hrf_system sys;
    int have_sys = hrf_model_system(model, &sys) == HRF_OK;
    hrf_clear_error();
    if (truth && !have_sys) {
        fprintf(stderr,
                "hamrf rollout: error: --truth needs the model's built-in system, but %s "
                "does not name one\n",
                model_path);
        goto done;
    }
    /* The truth first: it is the cheaper check of the size limit. */
    if (truth) {
        hrf_field sf;
        hrf_field_from_system(&sf, &sys);
        hrf_rollout_params tp = rp;
        tp.integrator = &hrf_integrator_rk45;
        tp.ip.rtol = tp.ip.atol = 1e-12;
        if ((rc = hrf_rollout_run(&sf, &tp, n, x0, &ref))) {
            status = cli_lib_error(C, rc);
            goto done;
        }
    }
    int run_rc = hrf_rollout_run(&field, &rp, n, x0, &tr);
    if (!tr) {
        status = cli_lib_error(C, run_rc);
        goto done;
    }
    char stop_msg[1024] = "";
    if (run_rc) snprintf(stop_msg, sizeof stop_msg, "%s", hrf_last_error());
    const size_t J = tr->valid;
    if (have_sys) {
        H_sys = malloc(J * n * sizeof *H_sys);
        if (!H_sys) {
            fprintf(stderr, "hamrf rollout: error: out of memory\n");
            goto done;
        }
        hrf_system_eval(&sys, J * n, tr->x, H_sys, NULL);
    }
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddStringToObject(extra, "model", model_path);
    cJSON_AddStringToObject(extra, "model_kind", hrf_model_kind(model));
    cJSON_AddNumberToObject(extra, "dt", rp.dt);
    cJSON_AddNumberToObject(extra, "steps", (double)rp.steps);
    cJSON_AddNumberToObject(extra, "every", (double)rp.every);
    if (have_sys) {
        const cJSON *ms = cJSON_GetObjectItemCaseSensitive(hrf_model_meta(model), "system");
        const cJSON *mp = cJSON_GetObjectItemCaseSensitive(hrf_model_meta(model), "params");
        cJSON_AddStringToObject(extra, "system", ms->valuestring);
        if (mp) cJSON_AddItemToObject(extra, "params", cJSON_Duplicate(mp, 1));
    }
    if (truth) {
        cJSON_AddStringToObject(extra, "truth_integrator", "rk45");
        cJSON_AddNumberToObject(extra, "truth_tol", 1e-12);
    }
    if (run_rc) cJSON_AddStringToObject(extra, "stop_reason", stop_msg);
    rc = hrf_trajectory_save_meta(tr, H_sys, ref, extra, out);
    cJSON_Delete(extra);
    if (rc) {
        status = cli_lib_error(C, rc);
        goto done;
    }
    /* Metrics over the saved part. */
    double drift = tr->H ? hrf_energy_drift(J, n, tr->H) : NAN;
    double drift_sys = H_sys ? hrf_energy_drift(J, n, H_sys) : NAN;
    hrf_rollout_errors re = {NAN, NAN, NAN};
    if (truth) hrf_rollout_errors_compute(J, n, dim, tr->x, ref->x, H_sys, ref->H, NULL, NULL, &re);
    double rate = tr->seconds > 0 ? (double)tr->steps_done * (double)n / tr->seconds : 0.0;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "output", out);
        cJSON_AddStringToObject(o, "model_kind", hrf_model_kind(model));
        cJSON_AddStringToObject(o, "integrator", tr->integrator->name);
        cJSON_AddNumberToObject(o, "n_states", (double)n);
        cJSON_AddNumberToObject(o, "dim", (double)dim);
        cJSON_AddNumberToObject(o, "dt", rp.dt);
        cJSON_AddNumberToObject(o, "steps", (double)rp.steps);
        cJSON_AddNumberToObject(o, "steps_done", (double)tr->steps_done);
        cJSON_AddBoolToObject(o, "complete", run_rc == 0);
        if (run_rc) cJSON_AddStringToObject(o, "stop_reason", stop_msg);
        cJSON_AddNumberToObject(o, "saved", (double)J);
        cJSON_AddNumberToObject(o, "seconds", tr->seconds);
        cJSON_AddNumberToObject(o, "state_steps_per_second", rate);
        cJSON_AddNumberToObject(o, "rhs_evals", (double)tr->stats.rhs_evals);
        cJSON_AddNumberToObject(o, "solve_iters_max", tr->stats.solve_iters_max);
        /* energy_drift: the model's own H (HNN); for a model without one
         * (ODE-net) the true system's H along the predicted states. */
        double ed = tr->H ? drift : drift_sys;
        if (isfinite(ed))
            cJSON_AddNumberToObject(o, "energy_drift", ed);
        else
            cJSON_AddNullToObject(o, "energy_drift");
        cJSON_AddStringToObject(o, "energy_drift_of",
                                tr->H      ? "model"
                                : have_sys ? "system"
                                           : "none");
        if (isfinite(drift_sys)) cJSON_AddNumberToObject(o, "energy_drift_true", drift_sys);
        if (truth) {
            cJSON_AddNumberToObject(o, "zerr_gmean", re.zerr_gmean);
            cJSON_AddNumberToObject(o, "herr_gmean", re.herr_gmean);
            cJSON_AddNumberToObject(o, "final_state_error", re.final_state_error);
        }
        cli_print_json(o);
    } else if (!quiet) {
        fprintf(stderr,
                "hamrf rollout: %zu state(s), %zu/%zu steps of %s, dt %g: %.3f s "
                "(%.3g state-steps/s)\n",
                n, tr->steps_done, rp.steps, tr->integrator->name, rp.dt, tr->seconds, rate);
        print_metrics(drift, drift_sys, truth, &re, out);
    }
    status = finish(run_rc, stop_msg, out);
done:
    if (!data) free(x0);
    free(H_sys);
    hrf_trajectory_free(tr);
    hrf_trajectory_free(ref);
    hrf_dataset_free(data);
    hrf_model_free(model);
    return status;
}
