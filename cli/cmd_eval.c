/* hamrf eval: errors of a model (HNN, ODE-net or graph network, from the
 * file's meta "model") on a data set (docs/math.md §7); a graph network on a
 * particle data set of any size (zero shot). */
#include "cli.h"
#include "mpi.h"

#include "hamrf/dataset.h"
#include "hamrf/hgn.h"
#include "hamrf/model.h"
#include "hamrf/status.h"

#include <getopt.h>
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EVAL_MAX_FILES 4096

static const char help[] =
    "usage: hamrf eval --model MODEL.npz --data FILE.npz [--data ...] [--json]\n"
    "Errors of the model (hnn, odenet or hgn, read from the file) on the data set; an hgn\n"
    "model takes a particle data set of any number of particles (zero shot):\n"
    "  rel_l2_H     ||H_hat - H|| / ||H||   (needs H in the data; H_hat includes c_0;\n"
    "               n/a for an odenet, which has no H_hat)\n"
    "  rel_l2_grad  ||grad H_hat - J^-1 dx/dt|| / ||J^-1 dx/dt||   (n/a for an odenet)\n"
    "  rel_l2_dxdt  odenet only: ||f_hat - dx/dt|| / ||dx/dt||\n"
    "  mse_dxdt     mean over points and coordinates of (J grad H_hat - dx/dt)^2,\n"
    "               for an odenet of (f_hat - dx/dt)^2; hgn: over snapshots, particles\n"
    "               and the 2D coordinates of (dq/dt, dp/dt)\n"
    "  --data F     repeatable, quoted globs allowed: the files are parts of one data set;\n"
    "               under 'mpirun -np P hamrf eval' each rank scores its share of the\n"
    "               rows (snapshots) and rank 0 prints the errors of all (docs/mpi.md)\n"
    "  --threads N  threads (default: all cores)\n"
    "  --json       one JSON object on stdout\n";

/* Loads the data set a model of type t evaluates on: a box data set or a
 * particle data set; *box or *particles receives it. One file in one
 * process is read whole; several files or ranks: this rank's share of the
 * rows (snapshots), *total receiving the global count. Returns HRF_OK or a
 * library status (the message in hrf_last_error). */
static int load_data(const hrf_model_type *t, const char *const *paths, size_t npaths,
                     hrf_dataset **box, hrf_pdata **particles, size_t *total) {
    *box = NULL, *particles = NULL, *total = 0;
    const int P = cli_mpi_size(), pd = t->data == HRF_DATA_PARTICLES;
    int rc;
    if (npaths == 1 && P == 1) {
        rc = pd ? hrf_pdata_load(paths[0], particles) : hrf_dataset_load(paths[0], box);
        if (!rc) *total = pd ? (*particles)->S : (*box)->n;
        return rc;
    }
    size_t dim = 0, first = 0, count = 0;
    rc = pd ? hrf_pdata_count(paths, npaths, total) : hrf_dataset_count(paths, npaths, total, &dim);
    if (rc == HRF_OK && *total < (size_t)P)
        return hrf_error(HRF_EDATA,
                         "%d ranks but the data set has only %zu %s: use at most %zu ranks", P,
                         *total, pd ? "snapshots" : "points", *total);
    if (rc) return rc;
    cli_mpi_share(*total, &first, &count);
    return pd ? hrf_pdata_load_part(paths, npaths, first, count, particles)
              : hrf_dataset_load_part(paths, npaths, first, count, box);
}

static double sum_squares(size_t n, const double *a) {
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * a[i];
    return s;
}

/* Combines the ranks' errors (docs/mpi.md): every relative error is
 * sqrt(Σ err² / Σ ref²), so each rank turns its ratio back into err² with
 * its own Σ ref² (from the data), one sum reduces them, and the ratios are
 * formed again; the mean squared error from its sum and count. Equal to
 * one process's up to rounding. */
static int reduce_errors(const hrf_dataset *box, const hrf_pdata *pd, size_t total,
                         hrf_model_errors *e) {
    double rH = 0.0, rg = 0.0, cnt;
    if (box) {
        if (box->H) rH = sum_squares(box->n, box->H);
        rg = sum_squares(box->n * box->dim, box->dxdt); /* ‖J⁻¹ dx/dt‖ = ‖dx/dt‖ */
        cnt = (double)(box->n * box->dim);
    } else {
        const size_t n = pd->S * pd->N * (size_t)pd->D;
        if (pd->H) rH = sum_squares(pd->S, pd->H);
        rg = sum_squares(n, pd->dqdt) + sum_squares(n, pd->dpdt);
        cnt = 2.0 * (double)n;
    }
    const double rgx = rg; /* rel_l2_grad and rel_l2_dxdt share the reference norm */
    double v[7] = {e->has_H ? e->rel_l2_H * e->rel_l2_H * (rH > 0.0 ? rH : 1.0) : 0.0,
                   rH,
                   e->has_grad ? e->rel_l2_grad * e->rel_l2_grad * (rg > 0.0 ? rg : 1.0) : 0.0,
                   rg,
                   e->has_rel_dxdt ? e->rel_l2_dxdt * e->rel_l2_dxdt * (rgx > 0.0 ? rgx : 1.0)
                                   : 0.0,
                   e->mse_dxdt * cnt,
                   cnt};
    int rc = hrf_comm_sum(cli_mpi_comm(), v, 7);
    if (rc) return rc;
    if (e->has_H) e->rel_l2_H = v[1] > 0.0 ? sqrt(v[0] / v[1]) : sqrt(v[0]);
    if (e->has_grad) e->rel_l2_grad = v[3] > 0.0 ? sqrt(v[2] / v[3]) : sqrt(v[2]);
    if (e->has_rel_dxdt) e->rel_l2_dxdt = v[3] > 0.0 ? sqrt(v[4] / v[3]) : sqrt(v[4]);
    e->mse_dxdt = v[6] > 0.0 ? v[5] / v[6] : 0.0;
    e->n = total;
    return HRF_OK;
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
    if (cli_mpi_rank() != 0) return; /* under mpirun rank 0 reports */
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

typedef struct {
    const char *model;
    const char *data[EVAL_MAX_FILES];
    size_t ndata;
} eval_opts;

/* --model, and --data (repeatable, globs expanded in sorted order; a name
 * matching nothing is kept for its loader's message) (cli_parse_options). */
static int parse_option(void *opts, int c, const char *arg) {
    eval_opts *o = opts;
    if (c == 'm') {
        o->model = arg;
        return 1;
    }
    if (c != 'd') return 0;
    glob_t g;
    int gr = glob(arg, 0, NULL, &g);
    size_t nm = gr == 0 ? g.gl_pathc : 0;
    for (size_t i = 0; i < (nm ? nm : 1); i++) {
        if (o->ndata == EVAL_MAX_FILES) {
            if (gr == 0) globfree(&g);
            return cli_option_error("eval", "at most %d --data files", EVAL_MAX_FILES);
        }
        char *copy = nm ? strdup(g.gl_pathv[i]) : NULL; /* lives until the tool exits */
        if (nm && !copy) {
            globfree(&g);
            return cli_option_error("eval", "out of memory");
        }
        o->data[o->ndata++] = nm ? copy : arg;
    }
    if (gr == 0) globfree(&g);
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
    static eval_opts eo; /* large: not on the stack */
    memset(&eo, 0, sizeof eo);
    cli_common common = {0};
    int rc = cli_parse_options(C, argc, argv, "", opts, help, parse_option, &eo, &common);
    if (rc != CLI_PARSED) return rc;
    const char *model_path = eo.model, *data_path = eo.ndata ? eo.data[0] : NULL;
    const int json = common.json;
    if (optind < argc) return cli_usage_error(C, "unexpected argument '%s'", argv[optind]);
    if (!model_path) return cli_usage_error(C, "--model FILE is required");
    if (!data_path) return cli_usage_error(C, "--data FILE is required");
    hrf_model *m = NULL;
    if (cli_mpi_size() > 1) { /* every rank loads the model; agree on the outcome */
        char msg[1024] = "";
        rc = hrf_model_load(model_path, &m);
        if (rc) snprintf(msg, sizeof msg, "%s", hrf_last_error());
        if ((rc = cli_mpi_agree(C, rc ? CLI_FAIL : CLI_OK, msg))) return rc;
    } else if ((rc = hrf_model_load(model_path, &m))) {
        return cli_lib_error(C, rc);
    }
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
    size_t total = 0;
    rc = load_data(t, eo.data, eo.ndata, &box, &pd, &total);
    if (cli_mpi_size() > 1) {
        char msg[1024] = "";
        if (rc) snprintf(msg, sizeof msg, "%s", hrf_last_error());
        rc = cli_mpi_agree(C, rc ? CLI_FAIL : CLI_OK, msg);
        if (rc) {
            hrf_model_free(m);
            return rc;
        }
    } else if (rc) {
        hrf_model_free(m);
        return cli_lib_error(C, rc);
    }
    hrf_model_errors e;
    double t0 = cli_now();
    if ((rc = hrf_model_errors_on(m, box ? (const void *)box : (const void *)pd, &e)))
        fprintf(stderr, "hamrf eval: error: model %s, data set %s: %s\n", model_path, data_path,
                hrf_last_error());
    else if ((eo.ndata > 1 || cli_mpi_size() > 1) && (rc = reduce_errors(box, pd, total, &e)))
        fprintf(stderr, "hamrf eval: error: %s\n", hrf_last_error());
    else
        print_errors(m, &e, cli_now() - t0, json);
    hrf_model_free(m);
    hrf_dataset_free(box);
    hrf_pdata_free(pd);
    return rc ? CLI_FAIL : CLI_OK;
}
