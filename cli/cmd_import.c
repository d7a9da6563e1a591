/* hamrf import: a LAMMPS dump or an extended XYZ file as a particle data set
 * (hamrf/mdio.h; docs/cli.md, docs/formats.md "Molecular-dynamics files"). */
#include "cli.h"

#include "hamrf/mdio.h"
#include "hamrf/status.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: hamrf import (--lammps-dump FILE | --extxyz FILE) --cutoff RC [--every K]\n"
    "                    [--mass M | --mass TYPE=M,TYPE=M,...] [--energy-column C]\n"
    "                    -o DATA.npz [--json]\n"
    "Reads a molecular-dynamics trajectory into a particle data set that 'hamrf train\n"
    "--model hgn' takes: positions unwrapped, momenta p = m v, dq/dt = v, dp/dt = forces.\n"
    "  --lammps-dump FILE  LAMMPS 'dump custom' text: id [type] [mass] xu yu zu (or x y z\n"
    "                      [ix iy iz]) vx vy vz fx fy fz, any order; atoms sorted by id\n"
    "  --extxyz FILE       extended XYZ (ASE): Lattice, Properties with pos, momenta (or\n"
    "                      velocities / vel), forces [, masses, species, id]; energy kept\n"
    "  --cutoff RC         interaction cutoff of the data set (required; <= box / 2)\n"
    "  --energy-column C   dump: per-atom potential energy column (e.g. c_pe of compute\n"
    "                      pe/atom); H = its sum + kinetic energy (default: no energies)\n"
    "  --every K           keep every K-th frame, starting with the first (default 1)\n"
    "  --mass M            every atom's mass; or TYPE=M pairs by LAMMPS type / species\n"
    "                      (default: the file's mass / masses column)\n"
    "  -o, --output FILE   the data set (.npz), written atomically\n"
    "  --json              one JSON object on stdout\n"
    "Only orthogonal, cubic, fully periodic boxes that stay fixed are read; a file that is\n"
    "anything else, damaged or truncated is refused with its frame and line.\n";

typedef struct import_opts {
    const char *dump, *xyz;
    hrf_md_import_params p;
    char *mass_spec_copy;
    const char *labels[256];
    double masses[256];
} import_opts;

/* "M" or "L=M,L=M,..." into o->p. */
static int parse_mass(import_opts *o, const char *arg) {
    const char *C = "import";
    if (!strchr(arg, '=')) return cli_parse_double(C, "mass", arg, &o->p.mass);
    free(o->mass_spec_copy);
    if (!(o->mass_spec_copy = strdup(arg))) return cli_option_error(C, "out of memory");
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(o->mass_spec_copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(t, '=');
        if (!eq || eq == t || n == 256)
            return cli_option_error(C,
                                    "--mass expects M or TYPE=M,TYPE=M,... (at most 256 types), "
                                    "got '%s'",
                                    arg);
        *eq = '\0';
        for (size_t k = 0; k < n; k++)
            if (!strcmp(o->labels[k], t))
                return cli_option_error(C, "--mass gives type '%s' twice", t);
        if (cli_parse_double(C, "mass", eq + 1, &o->masses[n])) return -1;
        if (!(o->masses[n] > 0.0))
            return cli_option_error(C, "--mass: the mass of type '%s' must be > 0", t);
        o->labels[n++] = t;
    }
    o->p.n_type_masses = n, o->p.type_labels = o->labels, o->p.type_masses = o->masses;
    return 0;
}

static int parse_option(void *opts, int c, const char *arg) {
    import_opts *o = opts;
    switch (c) {
    case 'L':
        o->dump = arg;
        return 1;
    case 'X':
        o->xyz = arg;
        return 1;
    case 'c':
        return cli_parse_double("import", "cutoff", arg, &o->p.cutoff) ? -1 : 1;
    case 'e':
        return cli_parse_size("import", "every", arg, &o->p.every) ? -1 : 1;
    case 'm':
        return parse_mass(o, arg) ? -1 : 1;
    case 'E':
        o->p.energy_column = arg;
        return 1;
    }
    return 0;
}

int cmd_import(int argc, char **argv) {
    static const struct option opts[] = {{"lammps-dump", required_argument, 0, 'L'},
                                         {"extxyz", required_argument, 0, 'X'},
                                         {"cutoff", required_argument, 0, 'c'},
                                         {"every", required_argument, 0, 'e'},
                                         {"mass", required_argument, 0, 'm'},
                                         {"energy-column", required_argument, 0, 'E'},
                                         {"output", required_argument, 0, 'o'},
                                         {"json", no_argument, 0, 'j'},
                                         {"quiet", no_argument, 0, 'Q'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *C = "import";
    import_opts o = {0};
    hrf_md_import_params_default(&o.p);
    cli_common com = {0};
    int rc = cli_parse_options(C, argc, argv, "o:", opts, help, parse_option, &o, &com);
    if (rc != CLI_PARSED) {
        free(o.mass_spec_copy);
        return rc;
    }
    const char *err = NULL;
    if (optind < argc)
        rc = cli_usage_error(C, "unexpected argument '%s'", argv[optind]);
    else if (!o.dump == !o.xyz)
        rc = cli_usage_error(C, "give one input: --lammps-dump FILE or --extxyz FILE");
    else if (!com.out)
        rc = cli_usage_error(C, "-o FILE.npz is required");
    else if (!(o.p.cutoff > 0.0))
        rc = cli_usage_error(C, "--cutoff RC is required (the data set's interaction cutoff)");
    else if (o.xyz && o.p.energy_column)
        rc = cli_usage_error(C, "--energy-column is for LAMMPS dumps (extended XYZ has its "
                                "energy key)");
    else if ((err = hrf_md_import_params_check(&o.p)))
        rc = cli_usage_error(C, "%s", err);
    if (rc != CLI_PARSED) {
        free(o.mass_spec_copy);
        return rc;
    }
    hrf_pdata *d = NULL;
    const char *in = o.dump ? o.dump : o.xyz;
    rc = o.dump ? hrf_lammps_dump_read(in, &o.p, &d) : hrf_extxyz_read(in, &o.p, &d);
    if (!rc) rc = hrf_pdata_save(d, com.out);
    free(o.mass_spec_copy);
    if (rc) {
        hrf_pdata_free(d);
        return cli_lib_error(C, rc);
    }
    if (com.json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "input", in);
        cJSON_AddStringToObject(j, "format", o.dump ? "lammps-dump" : "extxyz");
        cJSON_AddStringToObject(j, "output", com.out);
        cJSON_AddNumberToObject(j, "frames", (double)d->S);
        cJSON_AddNumberToObject(j, "atoms", (double)d->N);
        cJSON_AddNumberToObject(j, "box", d->box);
        cJSON_AddNumberToObject(j, "cutoff", d->cutoff);
        cJSON_AddBoolToObject(j, "energies", d->H != NULL);
        cli_print_json(j);
    } else if (!com.quiet) {
        printf("imported %zu frame%s of %zu atoms (box %.6g, cutoff %.6g, %s) from %s into %s\n",
               d->S, d->S == 1 ? "" : "s", d->N, d->box, d->cutoff,
               d->H ? "with energies" : "no energies", in, com.out);
    }
    hrf_pdata_free(d);
    return CLI_OK;
}
