/* hamrf convert: particle data sets and particle rollouts as extended XYZ or
 * LAMMPS dump text, for OVITO, ASE and VMD (hamrf/mdio.h; docs/cli.md). */
#include "cli.h"

#include "hamrf/mdio.h"
#include "hamrf/status.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char help[] =
    "usage: hamrf convert IN.npz --to extxyz|lammps-dump -o FILE [--data PARTICLES.npz]\n"
    "                     [--trajectory K] [--json]\n"
    "Writes a particle data set (hamrf generate / import) or one trajectory of a particle\n"
    "rollout (hamrf rollout --data) as extended XYZ or LAMMPS 'dump custom' text, every\n"
    "number with 17 significant digits (hamrf import reads them back exactly).\n"
    "  --to FORMAT         extxyz or lammps-dump\n"
    "  -o, --output FILE   written atomically\n"
    "  --data FILE         rollouts: the particle data set the rollout started from, for the\n"
    "                      masses and the box (default: the rollout's meta \"data\")\n"
    "  --trajectory K      rollouts: which trajectory (default 0)\n"
    "  --json              one JSON object on stdout\n"
    "Data sets need a periodic 3-D box; velocities are dq/dt, forces dp/dt; a rollout has\n"
    "no forces (no force columns) and velocities p / m.\n";

typedef struct convert_opts {
    const char *to, *data;
    size_t traj;
} convert_opts;

static int parse_option(void *opts, int c, const char *arg) {
    convert_opts *o = opts;
    switch (c) {
    case 't':
        o->to = arg;
        return 1;
    case 'd':
        o->data = arg;
        return 1;
    case 'k': {
        /* 0 is a valid index: parse as K + 1 >= 1 */
        if (!strcmp(arg, "0")) {
            o->traj = 0;
            return 1;
        }
        return cli_parse_size("convert", "trajectory", arg, &o->traj) ? -1 : 1;
    }
    }
    return 0;
}

int cmd_convert(int argc, char **argv) {
    static const struct option opts[] = {{"to", required_argument, 0, 't'},
                                         {"data", required_argument, 0, 'd'},
                                         {"trajectory", required_argument, 0, 'k'},
                                         {"output", required_argument, 0, 'o'},
                                         {"json", no_argument, 0, 'j'},
                                         {"quiet", no_argument, 0, 'Q'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *C = "convert";
    convert_opts o = {0};
    cli_common com = {0};
    int rc = cli_parse_options(C, argc, argv, "o:", opts, help, parse_option, &o, &com);
    if (rc != CLI_PARSED) return rc;
    if (optind + 1 != argc)
        return cli_usage_error(
            C, optind >= argc ? "IN.npz is required" : "one input file only, got '%s' too",
            argv[argc - 1]);
    const char *in = argv[optind];
    if (!o.to) return cli_usage_error(C, "--to extxyz|lammps-dump is required");
    int xyz = !strcmp(o.to, "extxyz");
    if (!xyz && strcmp(o.to, "lammps-dump"))
        return cli_usage_error(C, "--to expects extxyz or lammps-dump, got '%s'", o.to);
    if (!com.out) return cli_usage_error(C, "-o FILE is required");
    const char *kind = cli_data_kind(in);
    int traj = kind && !strcmp(kind, "trajectory");
    if (kind && !traj && strcmp(kind, "particles"))
        return cli_usage_error(C,
                               "%s is a '%s' file; convert takes particle data sets and particle "
                               "rollouts",
                               in, kind);
    hrf_pdata *d = NULL;
    hrf_md_frames *fr = NULL;
    const char *data = traj ? o.data : in;
    if (traj && !data) {
        data = cli_meta_string(in, "data");
        if (!data)
            return cli_usage_error(C, "%s does not name its data set: give --data PARTICLES.npz",
                                   in);
        static char buf[64];
        snprintf(buf, sizeof buf, "%s", data); /* the next cli_meta_string reuses it */
        data = buf;
    }
    rc = hrf_pdata_load(data, &d);
    if (!rc)
        rc =
            traj ? hrf_md_frames_of_trajectory(in, o.traj, d, &fr) : hrf_md_frames_of_pdata(d, &fr);
    if (!rc) rc = xyz ? hrf_extxyz_write(com.out, fr) : hrf_lammps_dump_write(com.out, fr);
    if (rc) {
        hrf_md_frames_free(fr);
        hrf_pdata_free(d);
        return cli_lib_error(C, rc);
    }
    if (com.json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "input", in);
        cJSON_AddStringToObject(j, "output", com.out);
        cJSON_AddStringToObject(j, "format", o.to);
        cJSON_AddNumberToObject(j, "frames", (double)fr->S);
        cJSON_AddNumberToObject(j, "atoms", (double)fr->N);
        cli_print_json(j);
    } else if (!com.quiet) {
        printf("wrote %zu frame%s of %zu atoms to %s (%s)\n", fr->S, fr->S == 1 ? "" : "s", fr->N,
               com.out, o.to);
    }
    hrf_md_frames_free(fr);
    hrf_pdata_free(d);
    return CLI_OK;
}
