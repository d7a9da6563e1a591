/* hamrf train: sample the hidden layer, solve the outer layer, save the model
 * (an HNN, or with --model odenet the ODE-net baseline). */
#include "cli.h"

#include "hamrf/dataset.h"
#include "hamrf/hnn.h"
#include "hamrf/odenet.h"
#include "hamrf/status.h"

#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

static const char help[] =
    "usage: hamrf train --data FILE.npz [--model hnn|odenet] [--width M]\n"
    "                   [--sampler elm|uswim|swim|aswim] [--solver auto|svd|qr|normal]\n"
    "                   [--rcond R] [--ridge L] [--seed S] -o MODEL.npz [--json]\n"
    "Fits a shallow network: sampled hidden layer, least-squares outer layer.\n"
    "On trajectory pairs (hamrf generate --pairs) the HNN is fitted so that one\n"
    "symplectic Euler step of size h maps each x to its x1.\n"
    "  --data FILE        training data set (from 'hamrf generate')\n"
    "  --model NAME       hnn (default): Hamiltonian network, dx/dt = J grad H_hat;\n"
    "                     odenet: regresses dx/dt directly (the S-MLP baseline)\n"
    "  --width M          hidden neurons (default 1000)\n"
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
    "  --seed S           random seed (default 1)\n"
    "  --threads N        threads for BLAS and OpenMP (default: all cores)\n"
    "  -o, --output FILE  model .npz (written atomically)\n"
    "  --json             one JSON object on stdout (fit_seconds, solver, width, ...)\n"
    "  --quiet            no progress line\n";

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
                                         {0, 0, 0, 0}};
    const char *C = "train";
    const char *data_path = NULL, *out = NULL;
    int json = 0, quiet = 0, rc, odenet = 0, correct = 0;
    hrf_hnn_params hp;
    hrf_hnn_params_default(&hp);
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
                odenet = 0;
            else if (!strcmp(optarg, "odenet"))
                odenet = 1;
            else
                return cli_usage_error(C, "unknown model '%s' (known: hnn, odenet)", optarg);
            break;
        case 'w':
            if (cli_parse_size(C, "width", optarg, &hp.width)) return CLI_USAGE;
            break;
        case 's':
            if (hrf_sampler_find(optarg, &hp.sampler))
                return cli_usage_error(C, "%s", hrf_last_error());
            break;
        case 'v':
            if (hrf_solver_find(optarg, &hp.lstsq.solver))
                return cli_usage_error(C, "%s", hrf_last_error());
            break;
        case 'r':
            if (cli_parse_double(C, "rcond", optarg, &hp.lstsq.rcond)) return CLI_USAGE;
            break;
        case 'l':
            if (cli_parse_double(C, "ridge", optarg, &hp.lstsq.ridge)) return CLI_USAGE;
            break;
        case 'f':
            if (!strcmp(optarg, "0")) {
                hp.lstsq.refine_max = hp.lstsq.stream_refine_max = 0;
            } else {
                if (cli_parse_size(C, "refine", optarg, &sz)) return CLI_USAGE;
                if (sz > 100000) return cli_usage_error(C, "--refine must be at most 100000");
                hp.lstsq.refine_max = hp.lstsq.stream_refine_max = (int)sz;
            }
            break;
        case 'E':
            if (cli_parse_range(C, "elm-range", optarg, &hp.elm_lo, &hp.elm_hi)) return CLI_USAGE;
            break;
        case 'A':
            hp.resample_duplicates = 0;
            break;
        case 'R':
            hp.lstsq.use_reduce = 1;
            break;
        case 'e':
            hp.lstsq.equilibrate = 1;
            break;
        case 'S':
            if (cli_parse_u64(C, "seed", optarg, &hp.seed)) return CLI_USAGE;
            break;
        case 'T':
            if (cli_parse_threads(C, optarg)) return CLI_USAGE;
            break;
        case 'C':
            correct = 1;
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
    const char *msg = odenet ? hrf_odenet_params_check(&hp) : hrf_hnn_params_check(&hp);
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
    /* Model meta: how it was made (deterministic: no timings, so the same
     * seed and thread count give a byte-identical file). */
    cJSON *extra = cJSON_CreateObject();
    cJSON_AddStringToObject(extra, "sampler", hp.sampler->name);
    cJSON_AddStringToObject(extra, "solver", hrf_solver_name(rep.lstsq.used));
    cJSON_AddStringToObject(extra, "solver_requested", hrf_solver_name(hp.lstsq.solver));
    cJSON_AddNumberToObject(extra, "seed", (double)hp.seed);
    cJSON_AddNumberToObject(extra, "rcond", hp.lstsq.rcond);
    cJSON_AddNumberToObject(extra, "ridge", hp.lstsq.ridge);
    cJSON_AddNumberToObject(extra, "n_train", (double)data->n);
    cJSON_AddBoolToObject(extra, "resample_duplicates", hp.resample_duplicates);
    cJSON_AddNumberToObject(extra, "refine", hp.lstsq.refine_max);
    if (!isnan(hp.elm_lo)) {
        double r[2] = {hp.elm_lo, hp.elm_hi};
        cJSON_AddItemToObject(extra, "elm_range", cJSON_CreateDoubleArray(r, 2));
    }
    if (data->meta) {
        const cJSON *sys = cJSON_GetObjectItemCaseSensitive(data->meta, "system");
        const cJSON *par = cJSON_GetObjectItemCaseSensitive(data->meta, "params");
        if (cJSON_IsString(sys)) cJSON_AddStringToObject(extra, "system", sys->valuestring);
        if (cJSON_IsObject(par)) cJSON_AddItemToObject(extra, "params", cJSON_Duplicate(par, 1));
    }
    if (pairs) {
        cJSON_AddBoolToObject(extra, "pairs", 1);
        cJSON_AddNumberToObject(extra, "h", pairs->h);
        cJSON_AddStringToObject(extra, "fitted_through", "symplectic_euler");
        const cJSON *sys = cJSON_GetObjectItemCaseSensitive(pairs->meta, "system");
        const cJSON *par = cJSON_GetObjectItemCaseSensitive(pairs->meta, "params");
        if (cJSON_IsString(sys)) cJSON_AddStringToObject(extra, "system", sys->valuestring);
        if (cJSON_IsObject(par)) cJSON_AddItemToObject(extra, "params", cJSON_Duplicate(par, 1));
    }
    if (correct && ((rc = hrf_hnn_set_correction(model, pairs->h)) ||
                    (rc = hrf_hnn_pin(model, pairs->x0, pairs->H0)))) {
        cJSON_Delete(extra);
        hrf_hnn_free(model);
        hrf_dataset_free(data);
        hrf_dataset_free(pairs);
        return cli_lib_error(C, rc);
    }
    rc = odenet ? hrf_odenet_save(ode, out, extra) : hrf_hnn_save(model, out, extra);
    cJSON_Delete(extra);
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
