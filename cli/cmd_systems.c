/* hamrf systems [--json]: the built-in systems, their parameters and boxes. */
#include "cli.h"

#include "hamrf/systems.h"

#include <getopt.h>
#include <stdio.h>

static const char help[] = "usage: hamrf systems [--json]\n"
                           "Lists the built-in systems with parameters (defaults) and the default\n"
                           "sampling box (RF-HNN's).\n"
                           "  --json   one JSON object on stdout\n";

int cmd_systems(int argc, char **argv) {
    int json = 0;
    static const struct option opts[] = {
        {"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'j')
            json = 1;
        else if (c == 'h')
            return fputs(help, stdout), CLI_OK;
        else
            return cli_unknown_option("systems", argv, optind, optopt);
    }
    if (optind < argc) return cli_usage_error("systems", "unexpected argument '%s'", argv[optind]);
    const hrf_system_type *const *types = hrf_system_types();
    if (json) {
        cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "systems");
        for (int i = 0; types[i]; i++) {
            const hrf_system_type *t = types[i];
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", t->name);
            cJSON_AddStringToObject(o, "hamiltonian", t->description);
            cJSON_AddNumberToObject(o, "dof", t->dof);
            cJSON *p = cJSON_AddObjectToObject(o, "params");
            for (int k = 0; k < t->nparams; k++)
                cJSON_AddNumberToObject(p, t->param_names[k], t->param_defaults[k]);
            double q[2] = {t->q_lo, t->q_hi}, pr[2] = {t->p_lo, t->p_hi};
            cJSON_AddItemToObject(o, "q_range", cJSON_CreateDoubleArray(q, 2));
            cJSON_AddItemToObject(o, "p_range", cJSON_CreateDoubleArray(pr, 2));
            cJSON_AddItemToArray(arr, o);
        }
        cli_print_json(root);
        return CLI_OK;
    }
    for (int i = 0; types[i]; i++) {
        const hrf_system_type *t = types[i];
        printf("%-16s d=%d  %s\n", t->name, t->dof, t->description);
        printf("%-16s params:", "");
        for (int k = 0; k < t->nparams; k++)
            printf(" %s=%g", t->param_names[k], t->param_defaults[k]);
        printf("\n%-16s box: q in [%g, %g], p in [%g, %g]\n", "", t->q_lo, t->q_hi, t->p_lo,
               t->p_hi);
    }
    return CLI_OK;
}
