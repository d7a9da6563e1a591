/* hamrf eval: errors of a model (HNN, ODE-net or graph network, from the
 * file's meta "model") on a data set (docs/math.md §7); a graph network on a
 * particle data set of any size (zero shot). */
#include "cli.h"

#include "hamrf/dataset.h"
#include "hamrf/hgn.h"
#include "hamrf/model.h"
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

/* Loads the data set a model of type t evaluates on: a box data set or a
 * particle data set; *box or *particles receives it. */
static int load_data(const hrf_model_type *t, const char *path, hrf_dataset **box,
                     hrf_pdata **particles) {
    *box = NULL, *particles = NULL;
    return t->data == HRF_DATA_PARTICLES ? hrf_pdata_load(path, particles)
                                         : hrf_dataset_load(path, box);
}

static void print_errors(const hrf_model *m, const hrf_model_errors *e, double seconds, int json) {
    char desc[64];
    hrf_model_describe(m, desc, sizeof desc);
    const hrf_hgn *g = hrf_model_hgn(m);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", hrf_model_kind(m));
        if (g) cJSON_AddStringToObject(o, "mode", hrf_hgn_mode_name(hrf_hgn_mode_of(g)));
        if (e->has_H)
            cJSON_AddNumberToObject(o, "rel_l2_H", e->rel_l2_H);
        else
            cJSON_AddNullToObject(o, "rel_l2_H");
        if (e->has_grad)
            cJSON_AddNumberToObject(o, "rel_l2_grad", e->rel_l2_grad);
        else
            cJSON_AddNullToObject(o, "rel_l2_grad");
        if (e->has_rel_dxdt) cJSON_AddNumberToObject(o, "rel_l2_dxdt", e->rel_l2_dxdt);
        cJSON_AddNumberToObject(o, "mse_dxdt", e->mse_dxdt);
        cJSON_AddNumberToObject(o, "n", (double)e->n);
        if (e->particles) {
            cJSON_AddNumberToObject(o, "n_snapshots", (double)e->n);
            cJSON_AddNumberToObject(o, "n_particles", (double)e->particles);
        }
        cJSON_AddNumberToObject(o, "dim", (double)e->dim);
        cJSON_AddNumberToObject(o, "seconds", seconds);
        cli_print_json(o);
        return;
    }
    const char *noH = e->has_grad ? "the data set has no H" : "an ODE-net has no Hamiltonian";
    printf("model        %s\n", desc);
    if (e->has_H)
        printf("rel_l2_H     %.6e\n", e->rel_l2_H);
    else
        printf("rel_l2_H     n/a (%s)\n", noH);
    if (e->has_grad)
        printf("rel_l2_grad  %.6e\n", e->rel_l2_grad);
    else
        printf("rel_l2_grad  n/a (an ODE-net has no Hamiltonian)\n");
    if (e->has_rel_dxdt) printf("rel_l2_dxdt  %.6e\n", e->rel_l2_dxdt);
    printf("mse_dxdt     %.6e\n", e->mse_dxdt);
    if (e->particles)
        printf("n            %zu snapshots of %zu particles in %zu-D\n", e->n, e->particles,
               e->dim);
    else
        printf("n            %zu\n", e->n);
}

/* --model and --data into paths[0], paths[1] (cli_parse_options). */
static int parse_option(void *opts, int c, const char *arg) {
    const char **paths = opts;
    if (c != 'm' && c != 'd') return 0;
    paths[c == 'd'] = arg;
    return 1;
}

int cmd_eval(int argc, char **argv) {
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"data", required_argument, 0, 'd'},
                                         {"threads", required_argument, 0, 'T'},
                                         {"json", no_argument, 0, 'j'},
                                         {"quiet", no_argument, 0, 'Q'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *C = "eval";
    const char *paths[2] = {NULL, NULL}; /* --model, --data */
    cli_common common = {0};
    int rc = cli_parse_options(C, argc, argv, "", opts, help, parse_option, paths, &common);
    if (rc != CLI_PARSED) return rc;
    const char *model_path = paths[0], *data_path = paths[1];
    const int json = common.json;
    if (optind < argc) return cli_usage_error(C, "unexpected argument '%s'", argv[optind]);
    if (!model_path) return cli_usage_error(C, "--model FILE is required");
    if (!data_path) return cli_usage_error(C, "--data FILE is required");
    hrf_model *m = NULL;
    if ((rc = hrf_model_load(model_path, &m))) return cli_lib_error(C, rc);
    const hrf_model_type *t = hrf_model_type_of(m);
    /* A graph network takes particle data sets, the others box data sets. */
    const char *dkind = cli_data_kind(data_path);
    int particles = dkind && !strcmp(dkind, "particles"), known = dkind != NULL;
    if (t->data == HRF_DATA_PARTICLES && known && !particles) {
        hrf_model_free(m);
        return cli_usage_error(C,
                               "%s is a graph network (hgn), which evaluates on particle data "
                               "sets (hamrf generate --system springs|benchmark_ring|lj), but %s "
                               "is not one",
                               model_path, data_path);
    }
    if (t->data == HRF_DATA_BOX && particles) {
        hrf_model_free(m);
        return cli_usage_error(C,
                               "%s is a particle data set; only a graph network (hamrf train "
                               "--model hgn) evaluates on it, and %s is an %s",
                               data_path, model_path, t->name);
    }
    hrf_dataset *box = NULL;
    hrf_pdata *pd = NULL;
    if ((rc = load_data(t, data_path, &box, &pd))) {
        hrf_model_free(m);
        return cli_lib_error(C, rc);
    }
    hrf_model_errors e;
    double t0 = cli_now();
    if ((rc = hrf_model_errors_on(m, box ? (const void *)box : (const void *)pd, &e)))
        fprintf(stderr, "hamrf eval: error: model %s, data set %s: %s\n", model_path, data_path,
                hrf_last_error());
    else
        print_errors(m, &e, cli_now() - t0, json);
    hrf_model_free(m);
    hrf_dataset_free(box);
    hrf_pdata_free(pd);
    return rc ? CLI_FAIL : CLI_OK;
}
