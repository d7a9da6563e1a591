/* hamrf eval: errors of a model on a data set (MATH.md §5). */
#include "cli.h"

#include "hamrf/dataset.h"
#include "hamrf/hnn.h"
#include "hamrf/metrics.h"
#include "hamrf/status.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

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
    if (hrf_hnn_dim(m) != d->dim) {
        fprintf(stderr, "hamrf eval: error: model %s has input dimension %zu but data set %s has "
                "dimension %zu (x has shape (%zu, %zu))\n", model_path, hrf_hnn_dim(m), data_path,
                d->dim, d->n, d->dim);
        hrf_hnn_free(m);
        hrf_dataset_free(d);
        return CLI_FAIL;
    }
    size_t n = d->n, dim = d->dim;
    double *H = malloc(n * sizeof *H), *grad = malloc(n * dim * sizeof *grad);
    double *g = malloc(n * dim * sizeof *g), *vf = malloc(n * dim * sizeof *vf);
    if (!H || !grad || !g || !vf) {
        rc = HRF_ENOMEM;
        fprintf(stderr, "hamrf eval: error: out of memory for %zu points\n", n);
        goto done;
    }
    if ((rc = hrf_hnn_eval(m, n, d->x, H, grad))) {
        cli_lib_error(C, rc);
        goto done;
    }
    hrf_dataset_gradient_targets(d, g);
    /* J ∇Ĥ = (∂Ĥ/∂p, −∂Ĥ/∂q) */
    size_t half = dim / 2;
    for (size_t i = 0; i < n; i++)
        for (size_t a = 0; a < half; a++) {
            vf[i * dim + a] = grad[i * dim + half + a];
            vf[i * dim + half + a] = -grad[i * dim + a];
        }
    double rel_H = d->H ? hrf_rel_l2(n, H, d->H) : -1.0;
    double rel_g = hrf_rel_l2(n * dim, grad, g);
    double mse = hrf_mse(n * dim, vf, d->dxdt);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        if (d->H) cJSON_AddNumberToObject(o, "rel_l2_H", rel_H);
        else cJSON_AddNullToObject(o, "rel_l2_H");
        cJSON_AddNumberToObject(o, "rel_l2_grad", rel_g);
        cJSON_AddNumberToObject(o, "mse_dxdt", mse);
        cJSON_AddNumberToObject(o, "n", (double)n);
        cJSON_AddNumberToObject(o, "dim", (double)dim);
        cli_print_json(o);
    } else {
        if (d->H) printf("rel_l2_H     %.6e\n", rel_H);
        else printf("rel_l2_H     n/a (the data set has no H)\n");
        printf("rel_l2_grad  %.6e\nmse_dxdt     %.6e\nn            %zu\n", rel_g, mse, n);
    }
done:
    free(H), free(grad), free(g), free(vf);
    hrf_hnn_free(m);
    hrf_dataset_free(d);
    return rc ? CLI_FAIL : CLI_OK;
}
