/* hamrf export: a pair-mode graph network's learned pair potential as a
 * LAMMPS pair_style table file (hamrf/hgn.h; docs/cli.md, docs/formats.md
 * "LAMMPS pair table"). */
#include "cli.h"

#include "hamrf/hgn.h"
#include "hamrf/status.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: hamrf export --model HGN.npz --lammps-table FILE [--points N] [--rmin R]\n"
    "                    [--cutoff RC] [--keyword NAME] [--units U] [--json]\n"
    "Writes the learned pair potential V(r) of a pair-mode graph network (one particle\n"
    "type) and F = -dV/dr (the network's analytic derivative) as a LAMMPS pair_style table,\n"
    "shifted so that V(cutoff) = 0, and prints the two LAMMPS input lines that use it.\n"
    "  --model FILE         a graph network (hamrf train --model hgn, --mode pair)\n"
    "  --lammps-table FILE  the table file, written atomically\n"
    "  --points N           table points, uniform in r (default 100000)\n"
    "  --rmin R             inner radius rlo (default cutoff / 4); LAMMPS stops if a pair\n"
    "                       comes closer\n"
    "  --cutoff RC          outer radius (default: the training data's cutoff)\n"
    "  --keyword NAME       section keyword (default HAMRF)\n"
    "  --units U            LAMMPS units for the header's UNITS: tag (default: the\n"
    "                       training data's units if recorded, else no tag)\n"
    "  --json               one JSON object on stdout\n";

typedef struct export_opts {
    const char *model, *table, *units;
    hrf_hgn_lammps_table_params p;
    int rmin_given, cut_given;
} export_opts;

static int parse_option(void *opts, int c, const char *arg) {
    export_opts *o = opts;
    const char *C = "export";
    switch (c) {
    case 'm':
        o->model = arg;
        return 1;
    case 't':
        o->table = arg;
        return 1;
    case 'n':
        return cli_parse_size(C, "points", arg, &o->p.points) ? -1 : 1;
    case 'r':
        o->rmin_given = 1;
        return cli_parse_double(C, "rmin", arg, &o->p.r_min) ? -1 : 1;
    case 'c':
        o->cut_given = 1;
        return cli_parse_double(C, "cutoff", arg, &o->p.cutoff) ? -1 : 1;
    case 'k':
        o->p.keyword = arg;
        return 1;
    case 'u':
        o->units = arg;
        return 1;
    }
    return 0;
}

/* The training data's description in a model's meta (its provenance). */
static const cJSON *data_meta(const cJSON *meta) {
    return cJSON_GetObjectItemCaseSensitive(meta, "data_meta");
}

int cmd_export(int argc, char **argv) {
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"lammps-table", required_argument, 0, 't'},
                                         {"points", required_argument, 0, 'n'},
                                         {"rmin", required_argument, 0, 'r'},
                                         {"cutoff", required_argument, 0, 'c'},
                                         {"keyword", required_argument, 0, 'k'},
                                         {"units", required_argument, 0, 'u'},
                                         {"json", no_argument, 0, 'j'},
                                         {"quiet", no_argument, 0, 'Q'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *C = "export";
    export_opts o = {0};
    hrf_hgn_lammps_table_params_default(&o.p);
    cli_common com = {0};
    int rc = cli_parse_options(C, argc, argv, "", opts, help, parse_option, &o, &com);
    if (rc != CLI_PARSED) return rc;
    if (optind < argc) return cli_usage_error(C, "unexpected argument '%s'", argv[optind]);
    if (!o.model) return cli_usage_error(C, "--model FILE is required");
    if (!o.table) return cli_usage_error(C, "--lammps-table FILE is required");
    const char *kind = cli_meta_string(o.model, "model");
    if (kind && strcmp(kind, "hgn"))
        return cli_usage_error(C,
                               "%s is an %s model; only a graph network (hamrf train --model hgn) "
                               "has a pair potential to tabulate",
                               o.model, kind);
    hrf_hgn *m = NULL;
    char *meta_text = NULL;
    if ((rc = hrf_hgn_load(o.model, &m, &meta_text))) return cli_lib_error(C, rc);
    cJSON *meta = cJSON_Parse(meta_text ? meta_text : "{}");
    free(meta_text);
    const cJSON *dm = data_meta(meta);
    int status = CLI_OK;
    if (hrf_hgn_mode_of(m) != HRF_HGN_PAIR) {
        fprintf(stderr,
                "hamrf export: error: %s is an mp-mode graph network: its energy is not a sum of "
                "pair terms, so it has no pair table (train with --mode pair)\n",
                o.model);
        status = CLI_FAIL;
    }
    const cJSON *tl = cJSON_GetObjectItemCaseSensitive(dm, "type_labels");
    if (!status && cJSON_IsArray(tl) && cJSON_GetArraySize(tl) > 1) {
        fprintf(stderr,
                "hamrf export: error: %s was trained on %d particle types; its pair potential "
                "does not tell types apart, so one table for every pair would be wrong (train "
                "on one type)\n",
                o.model, cJSON_GetArraySize(tl));
        status = CLI_FAIL;
    }
    if (!status && !o.cut_given) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(dm, "cutoff");
        const cJSON *pot = cJSON_GetObjectItemCaseSensitive(dm, "potential");
        if (!cJSON_IsNumber(c)) c = cJSON_GetObjectItemCaseSensitive(pot, "rc");
        if (cJSON_IsNumber(c)) {
            o.p.cutoff = c->valuedouble;
        } else {
            fprintf(stderr,
                    "hamrf export: error: %s does not record its training data's cutoff; give "
                    "--cutoff RC\n",
                    o.model);
            status = CLI_FAIL;
        }
    }
    if (!status && !o.rmin_given) o.p.r_min = 0.25 * o.p.cutoff;
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(dm, "units");
    o.p.units = o.units ? o.units : cJSON_IsString(u) ? u->valuestring : NULL;
    o.p.source = o.model;
    const char *err = status ? NULL : hrf_hgn_lammps_table_params_check(&o.p);
    if (err) {
        hrf_hgn_free(m);
        cJSON_Delete(meta);
        return cli_usage_error(C, "%s", err);
    }
    hrf_hgn_lammps_table_report rep;
    if (!status && (rc = hrf_hgn_lammps_table_write(m, &o.p, o.table, &rep)))
        status = cli_lib_error(C, rc);
    if (!status) {
        char style[64], coeff[4200];
        snprintf(style, sizeof style, "pair_style table linear %zu", o.p.points);
        snprintf(coeff, sizeof coeff, "pair_coeff 1 1 %s %s %.17g", o.table, o.p.keyword,
                 o.p.cutoff);
        if (com.json) {
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "table", o.table);
            cJSON_AddStringToObject(j, "keyword", o.p.keyword);
            cJSON_AddNumberToObject(j, "points", (double)o.p.points);
            cJSON_AddNumberToObject(j, "rlo", o.p.r_min);
            cJSON_AddNumberToObject(j, "cutoff", o.p.cutoff);
            cJSON_AddNumberToObject(j, "shift", rep.shift);
            cJSON_AddNumberToObject(j, "r_emin", rep.r_emin);
            cJSON_AddNumberToObject(j, "e_min", rep.e_min);
            cJSON_AddStringToObject(j, "pair_style", style);
            cJSON_AddStringToObject(j, "pair_coeff", coeff);
            cli_print_json(j);
        } else {
            printf("%s\n%s\n", style, coeff);
        }
    }
    hrf_hgn_free(m);
    cJSON_Delete(meta);
    return status;
}
