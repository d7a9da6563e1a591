/* hamrf eval: errors of a model on a data set (MATH.md §5). */
#include "cli.h"

#include "hamrf/dataset.h"
#include "hamrf/hnn.h"
#include "hamrf/status.h"

#include <getopt.h>
#include <stdio.h>

static const char help[] =
    "usage: hamrf eval --model MODEL.npz --data FILE.npz [--json]\n"
    "Errors of the model on the data set:\n"
    "  rel_l2_H     ||H_hat - H|| / ||H||   (needs H in the data; H_hat includes c_0)\n"
    "  rel_l2_grad  ||grad H_hat - J^-1 dx/dt|| / ||J^-1 dx/dt||\n"
    "  mse_dxdt     mean over points and coordinates of (J grad H_hat - dx/dt)^2\n"
    "  --threads N  threads (default: all cores)\n"
    "  --json       one JSON object on stdout\n";

int cmd_eval(int argc, char **argv) {
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"data", required_argument, 0, 'd'},
        {"threads", required_argument, 0, 'T'}, {"json", no_argument, 0, 'j'},
        {"quiet", no_argument, 0, 'Q'},       {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *C = "eval";
    const char *model_path = NULL, *data_path = NULL;
    int json = 0, rc, c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'd': data_path = optarg; break;
        case 'T':
            if (cli_parse_threads(C, optarg)) return CLI_USAGE;
            break;
        case 'j': json = 1; break;
        case 'Q': break;
        case 'h': fputs(help, stdout); return CLI_OK;
        default: return cli_unknown_option(C, argv, optind, optopt);
        }
    }
    if (optind < argc) return cli_usage_error(C, "unexpected argument '%s'", argv[optind]);
    if (!model_path) return cli_usage_error(C, "--model FILE is required");
    if (!data_path) return cli_usage_error(C, "--data FILE is required");
    hrf_hnn *m = NULL;
    hrf_dataset *d = NULL;
    if ((rc = hrf_hnn_load(model_path, &m, NULL))) return cli_lib_error(C, rc);
    if ((rc = hrf_dataset_load(data_path, &d))) {
        hrf_hnn_free(m);
        return cli_lib_error(C, rc);
    }
    hrf_hnn_errors e;
    if ((rc = hrf_hnn_errors_on(m, d, &e))) {
        fprintf(stderr, "hamrf eval: error: model %s, data set %s: %s\n", model_path, data_path,
                hrf_last_error());
        goto done;
    }
    if (json) {
        cJSON *o = cJSON_CreateObject();
        if (e.has_H) cJSON_AddNumberToObject(o, "rel_l2_H", e.rel_l2_H);
        else cJSON_AddNullToObject(o, "rel_l2_H");
        cJSON_AddNumberToObject(o, "rel_l2_grad", e.rel_l2_grad);
        cJSON_AddNumberToObject(o, "mse_dxdt", e.mse_dxdt);
        cJSON_AddNumberToObject(o, "n", (double)e.n);
        cJSON_AddNumberToObject(o, "dim", (double)e.dim);
        cli_print_json(o);
    } else {
        if (e.has_H) printf("rel_l2_H     %.6e\n", e.rel_l2_H);
        else printf("rel_l2_H     n/a (the data set has no H)\n");
        printf("rel_l2_grad  %.6e\nmse_dxdt     %.6e\nn            %zu\n", e.rel_l2_grad,
               e.mse_dxdt, e.n);
    }
done:
    hrf_hnn_free(m);
    hrf_dataset_free(d);
    return rc ? CLI_FAIL : CLI_OK;
}
