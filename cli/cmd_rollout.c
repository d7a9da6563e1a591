/* hamrf rollout: option parsing; the work is in rollout_run.c (cli/rollout.h).
 * Integrates a trained model (or its true system) from given initial states
 * and saves the trajectory (docs/math.md §8, §7). A graph network (hgn) rolls
 * out particle systems of any size: its initial states are the first
 * snapshots of a particle data set, flattened as in hamrf/pfield.h. */
#include "cli.h"
#include "rollout.h"

#include "hamrf/integrators.h"
#include "hamrf/status.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const char help[] =
    "usage: hamrf rollout --model MODEL.npz (--x0=V1,V2,... | --data FILE.npz [--count K])\n"
    "                     --dt DT --steps N [--integrator NAME] [--every E] [--truth]\n"
    "                     -o TRAJ.npz [--json]\n"
    "       hamrf rollout --true-system --data PARTICLES.npz [--count K] --dt DT --steps N\n"
    "                     [--integrator NAME] [--every E] -o TRAJ.npz [--json]\n"
    "Integrates the model's vector field from each initial state and writes the trajectory:\n"
    "t (J), x (J, n, dim), H (J, n) the model's energy (HNN), H_sys the true system's energy\n"
    "along x (when the model names its system), and with --truth x_true, H_true.\n"
    "A graph network (hgn) needs --data with a particle data set: the initial states are\n"
    "its first K snapshots, each one state x = (q (N*D values), p (N*D values)), of any\n"
    "number of particles N; dim = 2*N*D. Its truth is the data set's own system.\n"
    "  --model FILE       a model written by 'hamrf train' (hnn, odenet or hgn)\n"
    "  --x0=V1,V2,...     initial state(s): a multiple of dim values, state after state\n"
    "  --data FILE        take the initial states from the x entry of a data set (hgn:\n"
    "                     the snapshots of a particle data set)\n"
    "  --count K          only the first K states (snapshots) of --data (default: all)\n"
    "  --dt DT            time step (required; rk45: first trial step and output spacing)\n"
    "  --steps N          number of steps (required)\n"
    "  --integrator NAME  symplectic_euler, symplectic_euler_p, leapfrog, yoshida4,\n"
    "                     midpoint, rk4, rk45 (default: leapfrog for a separable field,\n"
    "                     else midpoint; hnn and odenet are non-separable, hgn is separable)\n"
    "  --every E          save every E steps (default 1); the last state is always saved\n"
    "  --truth            also integrate the true system (from the model's meta) with rk45,\n"
    "                     rtol = atol = 1e-12, and report zerr_gmean, herr_gmean,\n"
    "                     final_state_error; hgn: the data set's system, by velocity\n"
    "                     Verlet with 10 substeps per dt\n"
    "  --true-system      no model: integrate the particle data set's own system (its exact\n"
    "                     forces; Verlet lists for Lennard-Jones) from its snapshots, at dt\n"
    "                     with --integrator (default leapfrog); H is the true energy\n"
    "  --rtol R, --atol A rk45 tolerances (defaults 1e-10, 1e-12)\n"
    "  --solve-tol T      implicit solves: stop when |dx| <= T (1 + |x|) (default 1e-14)\n"
    "  --solve-max N      implicit solves: at most N iterations per step (default 50)\n"
    "  --fixed-point      implicit solves by fixed-point iteration instead of Newton\n"
    "  --tabulate N       hgn pair mode: pair forces from the model's V(r) tabulated on N\n"
    "                     intervals (cubic Hermite; much faster on large systems)\n"
    "  --threads N        threads (default: all cores)\n"
    "  -o, --output FILE  trajectory .npz (written atomically; also when the rollout stops\n"
    "                     early, with what was computed, and exit status 1); FILE.extxyz\n"
    "                     (or .xyz): a graph network's rollout of one periodic 3-D start\n"
    "                     (--count 1) as extended XYZ for OVITO / ASE\n"
    "  --json             one JSON object on stdout\n"
    "  --quiet            no summary on stderr\n";

/* The model and its initial states: 1 handled, 0 not one of them, -1 usage
 * error (printed). */
static int parse_states(rollout_opts *o, int c, const char *arg) {
    switch (c) {
    case 'm':
        o->model_path = arg;
        break;
    case 'x':
        o->x0_arg = arg;
        break;
    case 'd':
        o->data_path = arg;
        break;
    case 'Y':
        o->true_system = 1;
        break;
    case 'k':
        if (cli_parse_size("rollout", "count", arg, &o->count)) return -1;
        if (o->count == 0) return cli_option_error("rollout", "--count must be at least 1");
        break;
    default:
        return 0;
    }
    return 1;
}

/* The steps: their size, number and integrator, what is saved, the truth. */
static int parse_steps(rollout_opts *o, int c, const char *arg) {
    const char *C = "rollout";
    hrf_rollout_params *rp = &o->rp;
    switch (c) {
    case 't':
        if (cli_parse_double(C, "dt", arg, &rp->dt)) return -1;
        if (!(rp->dt > 0.0)) return cli_option_error(C, "--dt must be > 0, got '%s'", arg);
        o->have_dt = 1;
        break;
    case 'n':
        if (cli_parse_size(C, "steps", arg, &rp->steps)) return -1;
        if (rp->steps == 0) return cli_option_error(C, "--steps must be at least 1");
        o->have_steps = 1;
        break;
    case 'i':
        o->integ_name = arg;
        break;
    case 'e':
        if (cli_parse_size(C, "every", arg, &rp->every)) return -1;
        if (rp->every == 0) return cli_option_error(C, "--every must be at least 1");
        break;
    case 'R':
        o->truth = 1;
        break;
    default:
        return 0;
    }
    return 1;
}

/* The integrators' settings (rk45 tolerances, implicit solves) and the
 * graph network's tabulated pair forces. */
static int parse_solver(rollout_opts *o, int c, const char *arg) {
    const char *C = "rollout";
    hrf_integrator_params *ip = &o->rp.ip;
    size_t solve_max;
    switch (c) {
    case 'r':
        if (cli_parse_double(C, "rtol", arg, &ip->rtol)) return -1;
        break;
    case 'a':
        if (cli_parse_double(C, "atol", arg, &ip->atol)) return -1;
        break;
    case 's':
        if (cli_parse_double(C, "solve-tol", arg, &ip->solve_tol)) return -1;
        break;
    case 'S':
        if (cli_parse_size(C, "solve-max", arg, &solve_max)) return -1;
        if (solve_max == 0 || solve_max > 100000)
            return cli_option_error(C, "--solve-max must be in 1..100000");
        ip->solve_max = (int)solve_max;
        break;
    case 'F':
        ip->fixed_point = 1;
        break;
    case 'B':
        if (cli_parse_size(C, "tabulate", arg, &o->tabulate)) return -1;
        if (o->tabulate < 16 || o->tabulate > 100000000)
            return cli_option_error(C, "--tabulate needs 16 .. 1e8 intervals, got '%s'", arg);
        break;
    default:
        return 0;
    }
    return 1;
}

/* Every option of hamrf rollout but the shared ones (cli_parse_options). */
static int parse_option(void *opts, int c, const char *arg) {
    rollout_opts *o = opts;
    int r = parse_states(o, c, arg);
    if (!r) r = parse_steps(o, c, arg);
    if (!r) r = parse_solver(o, c, arg);
    return r;
}

/* A graph network takes particle data sets only, the others box data sets
 * (files that cannot be read here are left to the loaders): 0, or CLI_USAGE
 * (printed). */
static int check_kinds(const rollout_opts *o) {
    const char *C = "rollout";
    const char *mkind = cli_meta_string(o->model_path, "model");
    const int hgn = mkind && !strcmp(mkind, "hgn");
    if (o->tabulate && !hgn)
        return cli_usage_error(C, "--tabulate applies to graph networks (hgn) only");
    if (hgn && (o->x0_arg || !o->data_path))
        return cli_usage_error(C,
                               "%s is a graph network (hgn): give its initial states as "
                               "--data PARTICLES.npz [--count K] (the first K snapshots of a "
                               "particle data set)%s",
                               o->model_path, o->x0_arg ? "; --x0 does not apply" : "");
    if (!o->data_path) return 0;
    const char *dkind = cli_data_kind(o->data_path);
    const int particles = dkind && !strcmp(dkind, "particles");
    if (hgn && dkind && !particles)
        return cli_usage_error(C,
                               "%s is a graph network (hgn), which rolls out particle data "
                               "sets (hamrf generate --system springs|benchmark_ring|lj), but "
                               "%s is not one",
                               o->model_path, o->data_path);
    if (!hgn && particles)
        return cli_usage_error(C,
                               "%s is a particle data set; only a graph network (hamrf "
                               "train --model hgn) rolls it out",
                               o->data_path);
    return 0;
}

/* The required options and the rollout's settings: 0, or CLI_USAGE
 * (printed). */
static int check_options(rollout_opts *o) {
    const char *C = "rollout";
    if (!o->x0_arg == !o->data_path)
        return cli_usage_error(C, "give the initial states with exactly one of --x0 and --data");
    if (o->count && !o->data_path) return cli_usage_error(C, "--count only applies to --data");
    if (!o->have_dt) return cli_usage_error(C, "--dt DT is required");
    if (!o->have_steps) return cli_usage_error(C, "--steps N is required");
    if (!o->com.out) return cli_usage_error(C, "-o TRAJ.npz (or TRAJ.extxyz) is required");
    if (o->integ_name && hrf_integrator_find(o->integ_name, &o->rp.integrator))
        return cli_usage_error(C, "--integrator: %s", hrf_last_error());
    const char *msg = hrf_rollout_params_check(&o->rp);
    return msg ? cli_usage_error(C, "%s", msg) : 0;
}

/* --true-system: the particle data set's own system, without a model. */
static int run_true_system(rollout_opts *o) {
    const char *C = "rollout";
    if (o->model_path)
        return cli_usage_error(C,
                               "--true-system integrates the data set's own system: drop "
                               "--model (or drop --true-system, and use --truth beside a model)");
    if (o->x0_arg || !o->data_path)
        return cli_usage_error(C, "--true-system needs --data PARTICLES.npz (the initial states "
                                  "are its snapshots)");
    if (o->truth || o->tabulate)
        return cli_usage_error(C, "--%s applies to a model, not to --true-system",
                               o->truth ? "truth" : "tabulate");
    const char *dkind = cli_data_kind(o->data_path);
    if (dkind && strcmp(dkind, "particles"))
        return cli_usage_error(C,
                               "--true-system: %s is not a particle data set (hamrf generate "
                               "--system springs|benchmark_ring|lj)",
                               o->data_path);
    int rc = check_options(o);
    return rc ? rc : rollout_run_system(o);
}

int cmd_rollout(int argc, char **argv) {
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"x0", required_argument, 0, 'x'},
                                         {"data", required_argument, 0, 'd'},
                                         {"count", required_argument, 0, 'k'},
                                         {"dt", required_argument, 0, 't'},
                                         {"steps", required_argument, 0, 'n'},
                                         {"integrator", required_argument, 0, 'i'},
                                         {"every", required_argument, 0, 'e'},
                                         {"truth", no_argument, 0, 'R'},
                                         {"true-system", no_argument, 0, 'Y'},
                                         {"rtol", required_argument, 0, 'r'},
                                         {"atol", required_argument, 0, 'a'},
                                         {"solve-tol", required_argument, 0, 's'},
                                         {"solve-max", required_argument, 0, 'S'},
                                         {"fixed-point", no_argument, 0, 'F'},
                                         {"tabulate", required_argument, 0, 'B'},
                                         {"threads", required_argument, 0, CLI_OPT_THREADS},
                                         {"output", required_argument, 0, CLI_OPT_OUTPUT},
                                         {"json", no_argument, 0, CLI_OPT_JSON},
                                         {"quiet", no_argument, 0, CLI_OPT_QUIET},
                                         {"help", no_argument, 0, CLI_OPT_HELP},
                                         {0, 0, 0, 0}};
    const char *C = "rollout";
    rollout_opts o;
    memset(&o, 0, sizeof o);
    hrf_rollout_params_default(&o.rp);
    int rc = cli_parse_options(C, argc, argv, "o:", opts, help, parse_option, &o, &o.com);
    if (rc != CLI_PARSED) return rc;
    if (optind < argc) return cli_usage_error(C, "unexpected argument '%s'", argv[optind]);
    if (o.true_system) return run_true_system(&o);
    if (!o.model_path) return cli_usage_error(C, "--model FILE is required");
    if ((rc = check_kinds(&o)) || (rc = check_options(&o))) return rc;
    hrf_model *model = NULL;
    if ((rc = hrf_model_load(o.model_path, &model))) return cli_lib_error(C, rc);
    if (!hrf_model_hgn(model) && rollout_out_is_extxyz(o.com.out)) {
        hrf_model_free(model);
        return cli_usage_error(C,
                               "-o %s: extended XYZ holds particle rollouts (graph networks "
                               "with --data); write .npz",
                               o.com.out);
    }
    rc = hrf_model_hgn(model) ? rollout_run_hgn(model, &o) : rollout_run_box(model, &o);
    hrf_model_free(model);
    return rc;
}
