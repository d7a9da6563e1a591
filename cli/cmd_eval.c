/* hamrf eval: errors of a model (HNN or ODE-net, from the file's meta
 * "model") on a data set (MATH.md §5). */
#include "cli.h"

#include "hamrf/dataset.h"
#include "hamrf/hnn.h"
#include "hamrf/npz.h"
#include "hamrf/odenet.h"
#include "hamrf/status.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char help[] =
    "usage: hamrf eval --model MODEL.npz --data FILE.npz [--json]\n"
    "Errors of the model (hnn or odenet, read from the file) on the data set:\n"
    "  rel_l2_H     ||H_hat - H|| / ||H||   (needs H in the data; H_hat includes c_0;\n"
    "               n/a for an odenet, which has no H_hat)\n"
    "  rel_l2_grad  ||grad H_hat - J^-1 dx/dt|| / ||J^-1 dx/dt||   (n/a for an odenet)\n"
    "  rel_l2_dxdt  odenet only: ||f_hat - dx/dt|| / ||dx/dt||\n"
    "  mse_dxdt     mean over points and coordinates of (J grad H_hat - dx/dt)^2,\n"
    "               for an odenet of (f_hat - dx/dt)^2\n"
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
    /* The model's kind from its meta (the loaders check it again). */
    hrf_npz *z = NULL;
    cJSON *meta = NULL;
    if ((rc = hrf_npz_open(model_path, &z))) return cli_lib_error(C, rc);
    rc = hrf_npz_read_meta(z, "model", &meta);
    hrf_npz_close(z);
    if (rc) return cli_lib_error(C, rc);
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(meta, "model");
    int odenet = cJSON_IsString(kind) && !strcmp(kind->valuestring, "odenet");
    if (cJSON_IsString(kind) && !odenet && strcmp(kind->valuestring, "hnn") != 0) {
        fprintf(stderr, "hamrf eval: error: %s: meta: unknown model '%s' (known: hnn, odenet)\n",
                model_path, kind->valuestring);
        cJSON_Delete(meta);
        return CLI_FAIL;
    }
    cJSON_Delete(meta);
    hrf_hnn *m = NULL;
    hrf_odenet *ode = NULL;
    hrf_dataset *d = NULL;
    rc = odenet ? hrf_odenet_load(model_path, &ode, NULL) : hrf_hnn_load(model_path, &m, NULL);
    if (rc) return cli_lib_error(C, rc);
    if ((rc = hrf_dataset_load(data_path, &d))) {
        hrf_hnn_free(m);
        hrf_odenet_free(ode);
        return cli_lib_error(C, rc);
    }
    if (odenet) {
        hrf_odenet_errors e;
        if ((rc = hrf_odenet_errors_on(ode, d, &e))) {
            fprintf(stderr, "hamrf eval: error: model %s, data set %s: %s\n", model_path,
                    data_path, hrf_last_error());
            goto done;
        }
        if (json) { /* the HNN's keys, null where an ODE-net has no such quantity */
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "model", "odenet");
            cJSON_AddNullToObject(o, "rel_l2_H");
            cJSON_AddNullToObject(o, "rel_l2_grad");
            cJSON_AddNumberToObject(o, "rel_l2_dxdt", e.rel_l2_dxdt);
            cJSON_AddNumberToObject(o, "mse_dxdt", e.mse_dxdt);
            cJSON_AddNumberToObject(o, "n", (double)e.n);
            cJSON_AddNumberToObject(o, "dim", (double)e.dim);
            cli_print_json(o);
        } else {
            printf("model        odenet\nrel_l2_H     n/a (an ODE-net has no Hamiltonian)\n"
                   "rel_l2_grad  n/a (an ODE-net has no Hamiltonian)\n"
                   "rel_l2_dxdt  %.6e\nmse_dxdt     %.6e\nn            %zu\n",
                   e.rel_l2_dxdt, e.mse_dxdt, e.n);
        }
        goto done;
    }
    hrf_hnn_errors e;
    if ((rc = hrf_hnn_errors_on(m, d, &e))) {
        fprintf(stderr, "hamrf eval: error: model %s, data set %s: %s\n", model_path, data_path,
                hrf_last_error());
        goto done;
    }
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", "hnn");
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
    hrf_odenet_free(ode);
    hrf_dataset_free(d);
    return rc ? CLI_FAIL : CLI_OK;
}
