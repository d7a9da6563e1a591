/* hamrf train: sample the hidden layer, solve the outer layer, save the model
 * (an HNN, or with --model odenet the ODE-net baseline); with --optimizer,
 * train every parameter of the same network by gradient descent instead
 * (hamrf/baseline.h, MATH.md §7). On a particle data set (kind "particles")
 * it fits the sampled Hamiltonian graph network (--model hgn, hamrf/hgn.h,
 * MATH.md §6.2). */
#include "core/meta.h"
#include "cli.h"

#include "hamrf/baseline.h"
#include "hamrf/dataset.h"
#include "hamrf/hgn.h"
#include "hamrf/hnn.h"
#include "core/npz.h"
#include "hamrf/odenet.h"
#include "hamrf/optim.h"
#include "hamrf/status.h"
#include "hgn/hgn_impl.h"
#include "hnn/hnn_impl.h"
#include "odenet/odenet_impl.h"

#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

static const char help[] =
    "usage: hamrf train --data FILE.npz [--model hnn|odenet] [--width M]\n"
    "                   [--sampler elm|uswim|swim|aswim] [--solver auto|svd|qr|normal]\n"
    "                   [--rcond R] [--ridge L] [--seed S] -o MODEL.npz [--json]\n"
    "       hamrf train --data FILE.npz --optimizer NAME [--lr LR] [--batch B] [--steps N]\n"
    "                   [--weight-decay W] [--shuffle] [--time-limit S] [--model hnn|odenet]\n"
    "                   [--width M] [--seed S] -o MODEL.npz [--json]\n"
    "       hamrf train --data PARTICLES.npz [--model hgn] [--mode pair|mp] [--edge-width M]\n"
    "                   [--node-width M] [--kinetic-width M] [--no-kinetic-linear]\n"
    "                   [--sampler NAME] [--solver NAME] [--seed S] -o MODEL.npz [--json]\n"
    "Fits a shallow network: sampled hidden layer, least-squares outer layer; with\n"
    "--optimizer, every parameter of the same network trained by gradient descent\n"
    "on the mean squared error of grad H (odenet: of dx/dt), the papers' baseline.\n"
    "On trajectory pairs (hamrf generate --pairs) the HNN is fitted so that one\n"
    "symplectic Euler step of size h maps each x to its x1.\n"
    "On a particle data set (hamrf generate --system springs|benchmark_ring|lj) it fits\n"
    "the sampled Hamiltonian graph network (hgn): shared edge and kinetic encoders,\n"
    "sampled, and two least-squares solves (potential and kinetic part).\n"
    "  --data FILE        training data set (from 'hamrf generate')\n"
    "  --model NAME       hnn (default for box data sets): Hamiltonian network,\n"
    "                     dx/dt = J grad H_hat; odenet: regresses dx/dt directly (the\n"
    "                     S-MLP baseline); hgn (default for particle data sets): the\n"
    "                     graph network, for any number of particles\n"
    "  --width M          hidden neurons (default 1000; not hgn)\n"
    "  --sampler NAME     elm, uswim, swim (hnn: needs H in the data; odenet: weighs\n"
    "                     pairs by dx/dt), aswim (default)\n"
    "  --solver NAME      auto (default), svd, qr, normal\n"
    "  --rcond R          svd/qr singular-value cutoff (default 1e-13)\n"
    "  --ridge L          normal: ridge on the unit-diagonal Gram (default 1e-13)\n"
    "  --refine N         normal: max LSQR (odenet: CGLS) refinement iterations (default\n"
    "                     50, hnn auto 10; 0 when the features do not fit in memory)\n"
    "  --elm-range=LO,HI  ELM bias range (default: smallest, largest box bound)\n"
    "  --reduce           hnn svd/qr: solve the QR-reduced matrix (same solution, cheaper)\n"
    "  --equilibrate      svd/qr: unit column norms before the cutoff (auto does both)\n"
    "  --allow-duplicates do not resample duplicate SWIM pairs\n"
    "  --correct          trajectory pairs only: store the backward-error corrected\n"
    "                     H~ = H_hat + (h/2) grad_q H_hat . grad_p H_hat (O(h^2) instead of O(h))\n"
    "  --seed S           random seed (default 1; gradient training: initialisation\n"
    "                     and shuffling)\n"
    "Graph network (--model hgn, particle data sets only):\n"
    "  --mode NAME        pair (default): pairwise-additive potential; mp: message passing\n"
    "  --edge-width M     edge-encoder neurons (default 200)\n"
    "  --node-width M     node-update neurons (mode mp only)\n"
    "  --kinetic-width M  kinetic-encoder neurons (default 50)\n"
    "  --no-kinetic-linear  without the exact Newtonian feature sum |p|^2/(2m) in the\n"
    "                     kinetic part (the sampled encoder alone, as in MATH.md 6.2)\n"
    "  (--sampler, --solver, --rcond, --ridge, --refine, --reduce, --equilibrate,\n"
    "   --allow-duplicates and --seed apply as above, to both solves; swim uses the\n"
    "   data set's true pair potential)\n"
    "Gradient training (only with --optimizer; sampling options are then errors):\n"
    "  --optimizer NAME   sgd, momentum, nesterov, adagrad, adadelta, rmsprop, adam,\n"
    "                     adamw, adamax, nadam, radam, amsgrad, adafactor, rprop, lbfgs\n"
    "  --lr LR            learning rate (default: PyTorch's for the optimizer, adam 1e-3)\n"
    "  --weight-decay W   L2 penalty (default 0; RF-HNN used 1e-13 with adam)\n"
    "  --steps N          optimizer steps (default 1000)\n"
    "  --batch B          points per step (default 2048, rprop/lbfgs 0); 0 = all;\n"
    "                     B above the number of points means all\n"
    "  --shuffle          new random order every epoch (default: sequential batches)\n"
    "  --time-limit S     stop after the step that reaches S seconds (default 0 = none)\n"
    "  --threads N        threads for BLAS and OpenMP (default: all cores)\n"
    "  -o, --output FILE  model .npz (written atomically)\n"
    "  --json             one JSON object on stdout (fit_seconds, solver, width, ...)\n"
    "  --quiet            no progress line\n";

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

/* The --optimizer path: train, save with the same file kinds as sampling
 * (meta "trained_by": "gradient"), report. */
static int train_gradient(const hrf_gd_params *gp, const hrf_dataset *data,
                          const hrf_dataset *pairs, int odenet, int correct, const char *out,
                          int json, int quiet) {
    const char *C = "train";
    hrf_gd_params p = *gp;
    gd_progress prog;
    cli_progress_init(&prog.line, quiet);
    prog.steps = p.steps;
    prog.time_limit = p.time_limit_seconds;
    p.progress = gd_progress_cb;
    p.progress_user = &prog;
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
        cJSON_AddNumberToObject(o, "fit_seconds", rep.total_seconds);
        cJSON_AddNumberToObject(o, "train_seconds", rep.train_seconds);
        cJSON_AddNumberToObject(o, "step_seconds",
                                rep.steps ? rep.train_seconds / (double)rep.steps : 0.0);
        cJSON_AddStringToObject(o, "optimizer", p.optimizer->name);
        cJSON_AddNumberToObject(o, "lr", p.optim.lr);
        cJSON_AddNumberToObject(o, "weight_decay", p.optim.weight_decay);
        cJSON_AddNumberToObject(o, "batch", (double)rep.batch);
        cJSON_AddBoolToObject(o, "shuffle", p.shuffle);
        cJSON_AddNumberToObject(o, "steps", (double)rep.steps);
        cJSON_AddNumberToObject(o, "steps_requested", (double)p.steps);
        cJSON_AddBoolToObject(o, "stopped_early", rep.stopped_early);
        cJSON_AddNumberToObject(o, "evals", (double)rep.evals);
        cJSON_AddNumberToObject(o, "initial_loss", rep.initial_loss);
        cJSON_AddNumberToObject(o, "final_loss", rep.final_loss);
        cJSON_AddNumberToObject(o, "full_loss", rep.full_loss);
        cJSON_AddNumberToObject(o, "width", (double)p.width);
        cJSON_AddNumberToObject(o, "seed", (double)p.seed);
        cJSON_AddNumberToObject(o, "n_train", (double)data->n);
        cJSON_AddNumberToObject(o, "dim", (double)data->dim);
        cJSON_AddNumberToObject(o, "threads", omp_get_max_threads());
        cli_print_json(o);
    } else if (!quiet) {
        fprintf(stderr,
                "hamrf train: %s%s width %zu on %zu points: %zu steps of %zu points in %.3f s "
                "(%.3g ms/step), loss %.3g -> %.3g (all points)\n",
                odenet ? "odenet " : "", p.optimizer->name, p.width, data->n, rep.steps, rep.batch,
                rep.train_seconds, rep.steps ? 1e3 * rep.train_seconds / (double)rep.steps : 0.0,
                rep.initial_loss, rep.full_loss);
        if (rep.stopped_early)
            fprintf(stderr, "hamrf train: stopped by --time-limit after %zu of %zu steps\n",
                    rep.steps, p.steps);
        fprintf(stderr, "hamrf train: wrote %s\n", out);
    }
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

/* The graph-network path: load the particle data set, fit, save (meta: how
 * it was made and the training system's description), report. */
static int train_hgn(const hrf_hgn_params *gp, const char *data_path, const char *out, int json,
                     int quiet) {
    const char *C = "train";
    hrf_pdata *d = NULL;
    int rc = hrf_pdata_load(data_path, &d);
    if (rc) return cli_lib_error(C, rc);
    hrf_hgn *m = NULL;
    hrf_hgn_fit_report rep;
    if ((rc = hrf_hgn_fit(gp, d, &m, &rep))) {
        hrf_pdata_free(d);
        return cli_lib_error(C, rc);
    }
    rc = hrf_hgn_save_meta(m, out, NULL); /* meta: the library's provenance */
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
        cJSON_AddNumberToObject(o, "n_snapshots", (double)d->S);
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
                d->S, d->N, d->D, rep.edges, rep.fit_seconds, rep.solve_seconds,
                hrf_solver_name(rep.lstsq_E.used), hrf_solver_name(rep.lstsq_K.used),
                rep.lstsq_E.rel_residual, rep.lstsq_K.rel_residual);
        fprintf(stderr, "hamrf train: wrote %s\n", out);
    }
    hrf_hgn_free(m);
    hrf_pdata_free(d);
    return CLI_OK;
}

int cmd_train(int argc, char **argv) {
    static const struct option opts[] = {{"data", required_argument, 0, 'd'},
                                         {"width", required_argument, 0, 'w'},
                                         {"sampler", required_argument, 0, 's'},
                                         {"solver", required_argument, 0, 'v'},
                                         {"rcond", required_argument, 0, 'r'},
                                         {"ridge", required_argument, 0, 'l'},
                                         {"refine", required_argument, 0, 'f'},
                                         {"elm-range", required_argument, 0, 'E'},
                                         {"allow-duplicates", no_argument, 0, 'A'},
                                         {"seed", required_argument, 0, 'S'},
                                         {"threads", required_argument, 0, 'T'},
                                         {"output", required_argument, 0, 'o'},
                                         {"json", no_argument, 0, 'j'},
                                         {"quiet", no_argument, 0, 'Q'},
                                         {"reduce", no_argument, 0, 'R'},
                                         {"equilibrate", no_argument, 0, 'e'},
                                         {"model", required_argument, 0, 'M'},
                                         {"help", no_argument, 0, 'h'},
                                         {"correct", no_argument, 0, 'C'},
                                         {"optimizer", required_argument, 0, 'O'},
                                         {"lr", required_argument, 0, 'L'},
                                         {"batch", required_argument, 0, 'B'},
                                         {"steps", required_argument, 0, 'N'},
                                         {"weight-decay", required_argument, 0, 'W'},
                                         {"shuffle", no_argument, 0, 'F'},
                                         {"time-limit", required_argument, 0, 't'},
                                         {"mode", required_argument, 0, 1001},
                                         {"edge-width", required_argument, 0, 1002},
                                         {"node-width", required_argument, 0, 1003},
                                         {"kinetic-width", required_argument, 0, 1004},
                                         {"no-kinetic-linear", no_argument, 0, 1005},
                                         {0, 0, 0, 0}};
    const char *C = "train";
    const char *data_path = NULL, *out = NULL;
    int json = 0, quiet = 0, rc, odenet = 0, correct = 0;
    hrf_hnn_params hp;
    hrf_hnn_params_default(&hp);
    /* The graph network: its own parameters; the sampling and solver
     * options below set both structs. model_given: --model was named (the
     * default depends on the data set's kind); hgn_opt / width_opt: the
     * first option that applies only to the graph network / only to the
     * HNN and ODE-net, to name it in a conflict. */
    hrf_hgn_params gn;
    hrf_hgn_params_default(&gn);
    int hgn = 0, model_given = 0;
    size_t node_width = 0;
    const char *hgn_opt = NULL, *width_opt = NULL;
    /* Gradient training: options are collected first, applied after parsing
     * (--lr may come before --optimizer). The first option of each kind is
     * remembered to name it in a conflict. */
    const hrf_optimizer_type *opt_type = NULL;
    const char *sampling_opt = NULL, *gradient_opt = NULL;
    double lr_opt = NAN, weight_decay = NAN, time_limit = 0.0;
    size_t steps = 1000, batch = 2048;
    int batch_set = 0, shuffle = 0;
    opterr = 0;
    optind = 1;
    int c;
    size_t sz;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            data_path = optarg;
            break;
        case 'M':
            if (!strcmp(optarg, "hnn"))
                odenet = 0, hgn = 0;
            else if (!strcmp(optarg, "odenet"))
                odenet = 1, hgn = 0;
            else if (!strcmp(optarg, "hgn"))
                odenet = 0, hgn = 1;
            else
                return cli_usage_error(C, "unknown model '%s' (known: hnn, odenet, hgn)", optarg);
            model_given = 1;
            break;
        case 'w':
            if (!width_opt) width_opt = "--width";
            if (cli_parse_size(C, "width", optarg, &hp.width)) return CLI_USAGE;
            break;
        case 's':
            if (!sampling_opt) sampling_opt = "--sampler";
            if (hrf_sampler_find(optarg, &hp.sampler))
                return cli_usage_error(C, "%s", hrf_last_error());
            gn.sampler = hp.sampler;
            break;
        case 'v':
            if (!sampling_opt) sampling_opt = "--solver";
            if (hrf_solver_find(optarg, &hp.lstsq.solver))
                return cli_usage_error(C, "%s", hrf_last_error());
            gn.lstsq.solver = hp.lstsq.solver;
            break;
        case 'r':
            if (!sampling_opt) sampling_opt = "--rcond";
            if (cli_parse_double(C, "rcond", optarg, &hp.lstsq.rcond)) return CLI_USAGE;
            gn.lstsq.rcond = hp.lstsq.rcond;
            break;
        case 'l':
            if (!sampling_opt) sampling_opt = "--ridge";
            if (cli_parse_double(C, "ridge", optarg, &hp.lstsq.ridge)) return CLI_USAGE;
            gn.lstsq.ridge = hp.lstsq.ridge;
            break;
        case 'f':
            if (!sampling_opt) sampling_opt = "--refine";
            if (!strcmp(optarg, "0")) {
                hp.lstsq.refine_max = hp.lstsq.stream_refine_max = 0;
            } else {
                if (cli_parse_size(C, "refine", optarg, &sz)) return CLI_USAGE;
                if (sz > 100000) return cli_usage_error(C, "--refine must be at most 100000");
                hp.lstsq.refine_max = hp.lstsq.stream_refine_max = (int)sz;
            }
            gn.lstsq.refine_max = gn.lstsq.stream_refine_max = hp.lstsq.refine_max;
            break;
        case 'E':
            if (!sampling_opt) sampling_opt = "--elm-range";
            if (!width_opt) width_opt = "--elm-range";
            if (cli_parse_range(C, "elm-range", optarg, &hp.elm_lo, &hp.elm_hi)) return CLI_USAGE;
            break;
        case 'A':
            if (!sampling_opt) sampling_opt = "--allow-duplicates";
            hp.resample_duplicates = gn.resample_duplicates = 0;
            break;
        case 'R':
            if (!sampling_opt) sampling_opt = "--reduce";
            hp.lstsq.use_reduce = gn.lstsq.use_reduce = 1;
            break;
        case 'e':
            if (!sampling_opt) sampling_opt = "--equilibrate";
            hp.lstsq.equilibrate = gn.lstsq.equilibrate = 1;
            break;
        case 'S':
            if (cli_parse_u64(C, "seed", optarg, &hp.seed)) return CLI_USAGE;
            gn.seed = hp.seed;
            break;
        case 1001:
            if (!hgn_opt) hgn_opt = "--mode";
            if (hrf_hgn_mode_find(optarg, &gn.mode))
                return cli_usage_error(C, "--mode: %s", hrf_last_error());
            break;
        case 1002:
            if (!hgn_opt) hgn_opt = "--edge-width";
            if (cli_parse_size(C, "edge-width", optarg, &gn.edge_width)) return CLI_USAGE;
            break;
        case 1003:
            if (!hgn_opt) hgn_opt = "--node-width";
            if (cli_parse_size(C, "node-width", optarg, &node_width)) return CLI_USAGE;
            break;
        case 1004:
            if (!hgn_opt) hgn_opt = "--kinetic-width";
            if (cli_parse_size(C, "kinetic-width", optarg, &gn.kinetic_width)) return CLI_USAGE;
            break;
        case 1005:
            if (!hgn_opt) hgn_opt = "--no-kinetic-linear";
            gn.kinetic_linear = 0;
            break;
        case 'T':
            if (cli_parse_threads(C, optarg)) return CLI_USAGE;
            break;
        case 'C':
            if (!width_opt) width_opt = "--correct";
            correct = 1;
            break;
        case 'O':
            if (!width_opt) width_opt = "--optimizer";
            if (hrf_optimizer_find(optarg, &opt_type))
                return cli_usage_error(C, "%s", hrf_last_error());
            break;
        case 'L':
            if (!gradient_opt) gradient_opt = "--lr";
            if (cli_parse_double(C, "lr", optarg, &lr_opt)) return CLI_USAGE;
            break;
        case 'W':
            if (!gradient_opt) gradient_opt = "--weight-decay";
            if (cli_parse_double(C, "weight-decay", optarg, &weight_decay)) return CLI_USAGE;
            break;
        case 'N':
            if (!gradient_opt) gradient_opt = "--steps";
            if (cli_parse_size(C, "steps", optarg, &steps)) return CLI_USAGE;
            break;
        case 'B':
            if (!gradient_opt) gradient_opt = "--batch";
            if (!strcmp(optarg, "0"))
                batch = 0;
            else if (cli_parse_size(C, "batch", optarg, &batch))
                return CLI_USAGE;
            batch_set = 1;
            break;
        case 'F':
            if (!gradient_opt) gradient_opt = "--shuffle";
            shuffle = 1;
            break;
        case 't':
            if (!gradient_opt) gradient_opt = "--time-limit";
            if (cli_parse_double(C, "time-limit", optarg, &time_limit)) return CLI_USAGE;
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
    if (!data_path) return cli_usage_error(C, "--data FILE is required");
    if (!out) return cli_usage_error(C, "-o MODEL.npz is required");
    /* The data set's kind picks the model family: particle data sets take
     * the graph network, box data sets the HNN or ODE-net. A file that
     * cannot be read here counts as a box data set (its loader says why). */
    {
        const char *kind = cli_data_kind(data_path);
        int particles = kind && !strcmp(kind, "particles");
        char kind_s[64];
        snprintf(kind_s, sizeof kind_s, "%s", kind ? kind : "unknown");
        if (!model_given) hgn = particles;
        if (hgn && !particles && kind)
            return cli_usage_error(C,
                                   "--model hgn needs a particle data set (hamrf generate "
                                   "--system springs|benchmark_ring|lj), but %s is of kind '%s'; "
                                   "use --model hnn or odenet there",
                                   data_path, kind_s);
        if (!hgn && particles)
            return cli_usage_error(C,
                                   "%s is a particle data set; --model %s needs a box data set "
                                   "(hamrf generate --system NAME --n N); train the graph "
                                   "network with --model hgn",
                                   data_path, odenet ? "odenet" : "hnn");
    }
    if (hgn) {
        if (width_opt)
            return cli_usage_error(C,
                                   "%s does not apply to --model hgn (its widths are "
                                   "--edge-width, --kinetic-width, --node-width)",
                                   width_opt);
        if (gradient_opt)
            return cli_usage_error(C, "%s does not apply to --model hgn", gradient_opt);
        if (node_width && gn.mode != HRF_HGN_MP)
            return cli_usage_error(C, "--node-width only applies to --mode mp");
        if (node_width) gn.node_width = node_width;
        const char *gmsg = hrf_hgn_params_check(&gn);
        if (gmsg) return cli_usage_error(C, "%s", gmsg);
        return train_hgn(&gn, data_path, out, json, quiet);
    }
    if (hgn_opt)
        return cli_usage_error(C, "%s only applies to --model hgn (particle data sets)", hgn_opt);
    hrf_gd_params gp;
    const char *msg;
    if (opt_type) {
        if (sampling_opt)
            return cli_usage_error(C,
                                   "%s applies to sampled training and conflicts with "
                                   "--optimizer (gradient training)",
                                   sampling_opt);
        hrf_gd_params_default(&gp);
        gp.optimizer = opt_type;
        hrf_optim_params_default(opt_type, &gp.optim);
        if (!isnan(lr_opt)) gp.optim.lr = lr_opt;
        if (!isnan(weight_decay)) gp.optim.weight_decay = weight_decay;
        gp.steps = steps;
        gp.batch = batch_set ? batch : opt_type->full_batch ? 0 : batch;
        gp.shuffle = shuffle;
        gp.time_limit_seconds = time_limit;
        gp.seed = hp.seed;
        gp.width = hp.width;
        gp.act = hp.act;
        msg = hrf_gd_params_check(&gp);
    } else {
        if (gradient_opt)
            return cli_usage_error(C, "%s needs --optimizer NAME (gradient training)",
                                   gradient_opt);
        msg = odenet ? hrf_odenet_params_check(&hp) : hrf_hnn_params_check(&hp);
    }
    if (msg) return cli_usage_error(C, "%s", msg);

    hrf_dataset *data = NULL;
    if ((rc = hrf_dataset_load(data_path, &data))) return cli_lib_error(C, rc);
    /* Trajectory pairs: fit through one symplectic Euler step (MATH.md §2.3). */
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
    if (opt_type) {
        int r = train_gradient(&gp, data, pairs, odenet, correct, out, json, quiet);
        hrf_dataset_free(data);
        hrf_dataset_free(pairs);
        return r;
    }
    cli_progress prog;
    cli_progress_init(&prog, quiet);
    hp.progress = cli_progress_cb;
    hp.progress_user = &prog;
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
        hrf_dataset_free(data);
        hrf_dataset_free(pairs);
        return cli_lib_error(C, rc);
    }
    if (correct && ((rc = hrf_hnn_set_correction(model, pairs->h)) ||
                    (rc = hrf_hnn_pin(model, pairs->x0, pairs->H0)))) {
        hrf_hnn_free(model);
        hrf_dataset_free(data);
        hrf_dataset_free(pairs);
        return cli_lib_error(C, rc);
    }
    /* The file's meta records how it was made (the library's provenance). */
    rc = odenet ? hrf_odenet_save_meta(ode, out, NULL) : hrf_hnn_save_meta(model, out, NULL);
    if (rc) {
        hrf_hnn_free(model);
        hrf_odenet_free(ode);
        hrf_dataset_free(data);
        hrf_dataset_free(pairs);
        return cli_lib_error(C, rc);
    }
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
        cJSON_AddNumberToObject(o, "n_train", (double)data->n);
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
            odenet ? "odenet " : "", hp.sampler->name, hp.width, data->n, rep.fit_seconds,
            rep.solve_seconds,
            rep.solve_seconds > 0 ? rep.solve_flops / rep.solve_seconds / 1e9 : 0.0,
            hrf_solver_name(lr->used), lr->rel_residual);
        if (lr->reason[0]) fprintf(stderr, "hamrf train: %s\n", lr->reason);
        fprintf(stderr, "hamrf train: wrote %s\n", out);
    }
    hrf_hnn_free(model);
    hrf_odenet_free(ode);
    hrf_dataset_free(data);
    hrf_dataset_free(pairs);
    return CLI_OK;
}
