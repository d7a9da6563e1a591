/* hamrf generate: a box data set of a built-in system, or trajectory pairs
 * (x, Φ_h(x)) of its exact flow (MATH.md §2.3). */
#include "cli.h"

#include "hamrf/dataset.h"
#include "hamrf/status.h"
#include "hamrf/systems.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: hamrf generate --system NAME [--set KEY=VALUE]... [--q-range=LO,HI]\n"
    "                      [--p-range=LO,HI] --n N [--seed S] [--noise SIGMA]\n"
    "                      [--pairs --h H [--flow-tol TOL]] -o FILE.npz\n"
    "Draws N states uniformly in the box, with exact dx/dt and H, and writes a data set.\n"
    "With --pairs each state x also gets x1 = Phi_h(x), the true flow over one step h\n"
    "(adaptive Dormand-Prince to TOL), for training through a symplectic Euler step.\n"
    "  --system NAME      built-in system (see 'hamrf systems')\n"
    "  --set KEY=VALUE    set a parameter of the system (repeatable)\n"
    "  --q-range=LO,HI    box for every q coordinate (default: the system's RF-HNN box)\n"
    "  --p-range=LO,HI    box for every p coordinate (default: the system's RF-HNN box)\n"
    "  --n N              number of points (required)\n"
    "  --seed S           random seed (default 1); use different seeds for train and test\n"
    "  --noise SIGMA      std. dev. of Gaussian noise added to dx/dt (default 0)\n"
    "  --pairs            also write x1 = Phi_h(x) (trajectory pairs)\n"
    "  --h H              time step of the pairs (required with --pairs)\n"
    "  --flow-tol TOL     rtol = atol of the flow integration (default 1e-13)\n"
    "  -o, --output FILE  output .npz (written atomically)\n"
    "  --json             print a JSON summary on stdout\n"
    "  --quiet            no progress line\n";

int cmd_generate(int argc, char **argv) {
    static const struct option opts[] = {{"system", required_argument, 0, 's'},
                                         {"set", required_argument, 0, 'S'},
                                         {"q-range", required_argument, 0, 'q'},
                                         {"p-range", required_argument, 0, 'p'},
                                         {"n", required_argument, 0, 'n'},
                                         {"seed", required_argument, 0, 'r'},
                                         {"noise", required_argument, 0, 'e'},
                                         {"output", required_argument, 0, 'o'},
                                         {"pairs", no_argument, 0, 'P'},
                                         {"h", required_argument, 0, 'H'},
                                         {"flow-tol", required_argument, 0, 'T'},
                                         {"json", no_argument, 0, 'j'},
                                         {"quiet", no_argument, 0, 'Q'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *C = "generate";
    const char *system = NULL, *out = NULL;
    const char *sets[64];
    int nsets = 0, json = 0, have_n = 0, quiet = 0, pairs = 0;
    double h = NAN, flow_tol = 1e-13;
    hrf_generate_params gp;
    hrf_generate_params_default(&gp);
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            system = optarg;
            break;
        case 'S':
            if (nsets == 64) return cli_usage_error(C, "at most 64 --set options");
            sets[nsets++] = optarg;
            break;
        case 'q':
            if (cli_parse_range(C, "q-range", optarg, &gp.q_lo, &gp.q_hi)) return CLI_USAGE;
            break;
        case 'p':
            if (cli_parse_range(C, "p-range", optarg, &gp.p_lo, &gp.p_hi)) return CLI_USAGE;
            break;
        case 'n':
            if (cli_parse_size(C, "n", optarg, &gp.n)) return CLI_USAGE;
            have_n = 1;
            break;
        case 'r':
            if (cli_parse_u64(C, "seed", optarg, &gp.seed)) return CLI_USAGE;
            break;
        case 'e':
            if (cli_parse_double(C, "noise", optarg, &gp.noise)) return CLI_USAGE;
            if (gp.noise < 0.0) return cli_usage_error(C, "--noise must be >= 0");
            break;
        case 'P':
            pairs = 1;
            break;
        case 'H':
            if (cli_parse_double(C, "h", optarg, &h)) return CLI_USAGE;
            if (!(h > 0.0)) return cli_usage_error(C, "--h must be > 0, got '%s'", optarg);
            break;
        case 'T':
            if (cli_parse_double(C, "flow-tol", optarg, &flow_tol)) return CLI_USAGE;
            if (!(flow_tol > 0.0) || flow_tol > 1e-6)
                return cli_usage_error(C, "--flow-tol must be in (0, 1e-6], got '%s'", optarg);
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
    if (!system) return cli_usage_error(C, "--system is required");
    if (!have_n) return cli_usage_error(C, "--n is required");
    if (!out) return cli_usage_error(C, "-o FILE is required");
    if (pairs && isnan(h))
        return cli_usage_error(C, "--pairs needs --h H, the time step of the pairs");
    if (!pairs && !isnan(h)) return cli_usage_error(C, "--h is only meaningful with --pairs");
    const hrf_system_type *type;
    int rc = hrf_system_find(system, &type);
    if (rc) return cli_usage_error(C, "%s", hrf_last_error());
    hrf_system sys;
    hrf_system_init(&sys, type);
    for (int i = 0; i < nsets; i++) {
        char key[64];
        const char *eq = strchr(sets[i], '=');
        if (!eq || eq == sets[i] || (size_t)(eq - sets[i]) >= sizeof key)
            return cli_usage_error(C, "--set expects KEY=VALUE, got '%s'", sets[i]);
        memcpy(key, sets[i], (size_t)(eq - sets[i]));
        key[eq - sets[i]] = '\0';
        double v;
        if (cli_parse_double(C, "set", eq + 1, &v)) return CLI_USAGE;
        if ((rc = hrf_system_set(&sys, key, v))) return cli_usage_error(C, "%s", hrf_last_error());
    }
    const char *msg = hrf_generate_params_check(&gp);
    if (msg) return cli_usage_error(C, "%s", msg);
    hrf_dataset *ds = NULL;
    double t0 = cli_now();
    rc = pairs ? hrf_dataset_generate_pairs(&sys, &gp, h, flow_tol, &ds)
               : hrf_dataset_generate(&sys, &gp, &ds);
    if (rc) return cli_lib_error(C, rc);
    rc = hrf_dataset_save(ds, out);
    double secs = cli_now() - t0;
    if (rc) {
        hrf_dataset_free(ds);
        return cli_lib_error(C, rc);
    }
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "output", out);
        cJSON_AddStringToObject(o, "system", type->name);
        cJSON_AddNumberToObject(o, "n", (double)ds->n);
        cJSON_AddNumberToObject(o, "dim", (double)ds->dim);
        cJSON_AddNumberToObject(o, "seed", (double)gp.seed);
        if (pairs) cJSON_AddNumberToObject(o, "h", h);
        cJSON_AddNumberToObject(o, "seconds", secs);
        cli_print_json(o);
    } else if (!quiet) {
        fprintf(stderr, "hamrf generate: wrote %zu %s of %s to %s\n", ds->n,
                pairs ? "trajectory pairs" : "points", type->name, out);
    }
    hrf_dataset_free(ds);
    return CLI_OK;
}
