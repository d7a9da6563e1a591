/* hamrf eval: errors of a model (HNN, ODE-net or graph network, from the
 * file's meta "model") on a data set (MATH.md §5); a graph network on a
 * particle data set of any size (zero shot). */
#include "cli.h"

#include "hamrf/dataset.h"
#include "hamrf/hgn.h"
#include "hamrf/hnn.h"
#include "hamrf/npz.h"
#include "hamrf/odenet.h"
#include "hamrf/status.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char help[] =
    "usage: hamrf eval --model MODEL.npz --data FILE.npz [--json]\n"
    "Errors of the model (hnn, odenet or hgn, read from the file) on the data set; an hgn\n"
    "model takes a particle data set of any number of particles (zero shot):\n"
    "  rel_l2_H     ||H_hat - H|| / ||H||   (needs H in the data; H_hat includes c_0;\n"
    "               n/a for an odenet, which has no H_hat)\n"
    "  rel_l2_grad  ||grad H_hat - J^-1 dx/dt|| / ||J^-1 dx/dt||   (n/a for an odenet)\n"
    "  rel_l2_dxdt  odenet only: ||f_hat - dx/dt|| / ||dx/dt||\n"
    "  mse_dxdt     mean over points and coordinates of (J grad H_hat - dx/dt)^2,\n"
    "               for an odenet of (f_hat - dx/dt)^2; hgn: over snapshots, particles\n"
    "               and the 2D coordinates of (dq/dt, dp/dt)\n"
    "  --threads N  threads (default: all cores)\n"
    "  --json       one JSON object on stdout\n";

/* meta "kind" of the data set in `path`, or NULL when it cannot be read
 * here (the loader then says why); the string is owned by *meta. */
static const char *data_kind(const char *path, cJSON **meta) {
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
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(*meta, "kind");
    return cJSON_IsString(k) ? k->valuestring : NULL;
}

/* The graph network on a particle data set. */
static int eval_hgn(const char *model_path, const char *data_path, int json) {
    const char *C = "eval";
    hrf_hgn *m = NULL;
    hrf_pdata *d = NULL;
    int rc = hrf_hgn_load(model_path, &m, NULL);
    if (rc) return cli_lib_error(C, rc);
    if ((rc = hrf_pdata_load(data_path, &d))) {
        hrf_hgn_free(m);
        return cli_lib_error(C, rc);
    }
    hrf_hgn_errors e;
    double t0 = cli_now();
    if ((rc = hrf_hgn_errors_on(m, d, &e))) {
        fprintf(stderr, "hamrf eval: error: model %s, data set %s: %s\n", model_path, data_path,
                hrf_last_error());
        hrf_hgn_free(m);
        hrf_pdata_free(d);
        return CLI_FAIL;
    }
    double seconds = cli_now() - t0;
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", "hgn");
        cJSON_AddStringToObject(o, "mode", hrf_hgn_mode_name(hrf_hgn_mode_of(m)));
        if (e.has_H)
            cJSON_AddNumberToObject(o, "rel_l2_H", e.rel_l2_H);
        else
            cJSON_AddNullToObject(o, "rel_l2_H");
        cJSON_AddNumberToObject(o, "rel_l2_grad", e.rel_l2_grad);
        cJSON_AddNumberToObject(o, "mse_dxdt", e.mse_dxdt);
        cJSON_AddNumberToObject(o, "n", (double)e.snapshots);
        cJSON_AddNumberToObject(o, "n_snapshots", (double)e.snapshots);
        cJSON_AddNumberToObject(o, "n_particles", (double)e.particles);
        cJSON_AddNumberToObject(o, "dim", e.dim);
        cJSON_AddNumberToObject(o, "seconds", seconds);
        cli_print_json(o);
    } else {
        printf("model        hgn (%s)\n", hrf_hgn_mode_name(hrf_hgn_mode_of(m)));
        if (e.has_H)
            printf("rel_l2_H     %.6e\n", e.rel_l2_H);
        else
            printf("rel_l2_H     n/a (the data set has no H)\n");
        printf("rel_l2_grad  %.6e\nmse_dxdt     %.6e\nn            %zu snapshots of %zu "
               "particles in %d-D\n",
               e.rel_l2_grad, e.mse_dxdt, e.snapshots, e.particles, e.dim);
    }
    hrf_hgn_free(m);
    hrf_pdata_free(d);
    return CLI_OK;
}

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
    int hgn = cJSON_IsString(kind) && !strcmp(kind->valuestring, "hgn");
    if (cJSON_IsString(kind) && !odenet && !hgn && strcmp(kind->valuestring, "hnn") != 0) {
        fprintf(stderr,
                "hamrf eval: error: %s: meta: unknown model '%s' (known: hnn, odenet, hgn)\n",
                model_path, kind->valuestring);
        cJSON_Delete(meta);
        return CLI_FAIL;
    }
    cJSON_Delete(meta);
    /* A graph network takes particle data sets, the others box data sets. */
    cJSON *dmeta = NULL;
    const char *dkind = data_kind(data_path, &dmeta);
    int particles = dkind && !strcmp(dkind, "particles"), known = dkind != NULL;
    cJSON_Delete(dmeta);
    if (hgn && known && !particles)
        return cli_usage_error(C,
                               "%s is a graph network (hgn), which evaluates on particle data "
                               "sets (hamrf generate --system springs|benchmark_ring|lj), but %s "
                               "is not one",
                               model_path, data_path);
    if (!hgn && particles)
        return cli_usage_error(C,
                               "%s is a particle data set; only a graph network (hamrf train "
                               "--model hgn) evaluates on it, and %s is an %s",
                               data_path, model_path, odenet ? "odenet" : "hnn");
    if (hgn) return eval_hgn(model_path, data_path, json);
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
