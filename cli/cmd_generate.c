/* hamrf generate: a box data set of a built-in system, or trajectory pairs
 * (x, Φ_h(x)) of its exact flow (docs/math.md §6.1); or, for the particle systems
 * springs, benchmark_ring and lj (docs/math.md §10), snapshots of trajectories
 * (hamrf/particles.h). */
#include "core/meta.h"
#include "cli.h"

#include "hamrf/dataset.h"
#include "hamrf/particles.h"
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
    "       hamrf generate --system springs --topology chain|ring|lattice --shape 8|3x3|4x4x4\n"
    "                      [--dim D] [--potential harmonic|anharmonic|morse] [SNAPSHOTS] -o "
    "FILE.npz\n"
    "       hamrf generate --system benchmark_ring [SNAPSHOTS] -o FILE.npz\n"
    "       hamrf generate --system lj --particles N [--density RHO] [--temperature T]\n"
    "                      [SNAPSHOTS] -o FILE.npz\n"
    "  SNAPSHOTS: [--trajectories T] [--snapshots S] [--every E] [--dt DT] [--burn-in B]\n"
    "             [--seed S] [--threads N]\n"
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
    "  --quiet            no progress line\n"
    "Particle systems (snapshots of velocity-Verlet trajectories with exact dq/dt, dp/dt, H):\n"
    "  --topology NAME    springs: chain (default), ring or lattice\n"
    "  --shape SPEC       springs (required): N for a chain or ring, NXxNY or NXxNYxNZ for a\n"
    "                     lattice\n"
    "  --dim D            springs: 1, 2 or 3 (default: 2 for chains and rings, the number of\n"
    "                     extents for lattices)\n"
    "  --potential NAME   springs: harmonic (default), anharmonic or morse\n"
    "  --set KEY=VALUE    potential parameter: k, r0 (harmonic); k, r0, k4 (anharmonic);\n"
    "                     De, a, r0 (morse); eps, sigma, rc (lj). Defaults 1, rc 2.5\n"
    "  --amplitude A      springs: uniform displacements of A*r0 per coordinate (default 0.1)\n"
    "  --p-sigma S        springs: standard deviation of the momenta (default 0.1)\n"
    "  --particles N      lj (required): 4n^3 particles on an fcc lattice (108, 256, 500, ...)\n"
    "  --density RHO      lj: reduced density (default 0.8442)\n"
    "  --temperature T    lj: initial temperature, exact (default 1.0)\n"
    "  --trajectories T   trajectories from independent initial states (default 1;\n"
    "                     benchmark_ring 100)\n"
    "  --snapshots S      snapshots per trajectory (default 10; benchmark_ring 100)\n"
    "  --every E          velocity-Verlet steps between snapshots (default 10; benchmark_ring\n"
    "                     100)\n"
    "  --dt DT            time step (default 0.01 springs, 0.005 lj, 0.001 benchmark_ring)\n"
    "  --burn-in B        steps before the first interval, not saved (default 0)\n"
    "  --threads N        OpenMP threads (default: all cores)\n";

/* Options that only the particle systems take, and for which of them. */
enum { P_SPRINGS = 1, P_RING = 2, P_LJ = 4 };
typedef struct particle_opts {
    const char *topology, *shape, *potential;
    size_t dim, particles, trajectories, snapshots, every;
    uint64_t burn_in;
    double density, temperature, dt, amplitude, p_sigma;
    unsigned given; /* bit per option below */
} particle_opts;
enum {
    G_TOPOLOGY,
    G_SHAPE,
    G_DIM,
    G_POTENTIAL,
    G_PARTICLES,
    G_DENSITY,
    G_TEMPERATURE,
    G_AMPLITUDE,
    G_PSIGMA,
    G_TRAJ,
    G_SNAP,
    G_EVERY,
    G_DT,
    G_BURN,
    G_COUNT
};
static const struct {
    const char *name;
    unsigned systems;
} popt_info[G_COUNT] = {
    [G_TOPOLOGY] = {"topology", P_SPRINGS},
    [G_SHAPE] = {"shape", P_SPRINGS},
    [G_DIM] = {"dim", P_SPRINGS},
    [G_POTENTIAL] = {"potential", P_SPRINGS},
    [G_PARTICLES] = {"particles", P_LJ},
    [G_DENSITY] = {"density", P_LJ},
    [G_TEMPERATURE] = {"temperature", P_LJ},
    [G_AMPLITUDE] = {"amplitude", P_SPRINGS},
    [G_PSIGMA] = {"p-sigma", P_SPRINGS},
    [G_TRAJ] = {"trajectories", P_SPRINGS | P_RING | P_LJ},
    [G_SNAP] = {"snapshots", P_SPRINGS | P_RING | P_LJ},
    [G_EVERY] = {"every", P_SPRINGS | P_RING | P_LJ},
    [G_DT] = {"dt", P_SPRINGS | P_RING | P_LJ},
    [G_BURN] = {"burn-in", P_SPRINGS | P_RING | P_LJ},
};

/* "8", "3x3", "4x4x4" → extents (unused ones 0) and their number. */
static int parse_shape(const char *C, const char *s, size_t shape[3], int *count) {
    const char *c = s;
    int n = 0;
    shape[0] = shape[1] = shape[2] = 0;
    while (1) {
        if (n == 3 || *c < '0' || *c > '9')
            return cli_usage_error(C,
                                   "--shape expects N, NXxNY or NXxNYxNZ with positive "
                                   "integers, got '%s'",
                                   s);
        char *end;
        unsigned long long v = strtoull(c, &end, 10);
        if (v == 0 || v > 0xffffffffULL)
            return cli_usage_error(C, "--shape extents must be in 1 .. 2^32 - 1, got '%s'", s);
        shape[n++] = (size_t)v;
        if (*end == '\0') break;
        if (*end != 'x')
            return cli_usage_error(C,
                                   "--shape expects N, NXxNY or NXxNYxNZ with positive "
                                   "integers, got '%s'",
                                   s);
        c = end + 1;
    }
    *count = n;
    return 0;
}

/* --set KEY=VALUE... onto the pair potential; the library checks the values. */
static int apply_sets(const char *C, const char **sets, int nsets, hrf_pair_potential *v) {
    for (int i = 0; i < nsets; i++) {
        char key[64];
        const char *eq = strchr(sets[i], '=');
        double x;
        if (!eq || eq == sets[i] || (size_t)(eq - sets[i]) >= sizeof key)
            return cli_usage_error(C, "--set expects KEY=VALUE, got '%s'", sets[i]);
        memcpy(key, sets[i], (size_t)(eq - sets[i]));
        key[eq - sets[i]] = '\0';
        if (cli_parse_double(C, "set", eq + 1, &x)) return CLI_USAGE;
        if (hrf_pair_potential_set(v, key, x)) return cli_usage_error(C, "%s", hrf_last_error());
    }
    const char *msg = hrf_pair_potential_check(v);
    return msg ? cli_usage_error(C, "%s", msg) : 0;
}

static int generate_particles(const char *system, const particle_opts *po, const char **sets,
                              int nsets, uint64_t seed, int seed_given, const char *out, int json,
                              int quiet) {
    const char *C = "generate";
    unsigned sys = !strcmp(system, "springs") ? P_SPRINGS : !strcmp(system, "lj") ? P_LJ : P_RING;
    for (int g = 0; g < G_COUNT; g++)
        if ((po->given >> g & 1) && !(popt_info[g].systems & sys))
            return cli_usage_error(C, "--%s does not apply to --system %s", popt_info[g].name,
                                   system);
    if (sys == P_RING && nsets)
        return cli_usage_error(C, "--set does not apply to --system benchmark_ring (its "
                                  "parameters are fixed: k = r0 = m = 1)");
    hrf_pair_potential v;
    hrf_psystem *s = NULL;
    int rc;
    if (sys == P_SPRINGS) {
        hrf_topology topo = HRF_TOPO_CHAIN;
        hrf_pair_kind kind = HRF_PAIR_HARMONIC;
        size_t shape[3];
        int ns = 0;
        if (po->topology && hrf_topology_find(po->topology, &topo))
            return cli_usage_error(C, "%s", hrf_last_error());
        if (po->potential && (hrf_pair_kind_find(po->potential, &kind) || kind == HRF_PAIR_LJ))
            return cli_usage_error(C,
                                   "--potential must be harmonic, anharmonic or morse for "
                                   "springs, got '%s'",
                                   po->potential);
        if (!po->shape)
            return cli_usage_error(C, "--system springs needs --shape (e.g. 8, 3x3, 4x4x4)");
        if (parse_shape(C, po->shape, shape, &ns)) return CLI_USAGE;
        if (topo != HRF_TOPO_LATTICE && ns != 1)
            return cli_usage_error(C, "--topology %s takes one extent (e.g. --shape 8), got '%s'",
                                   hrf_topology_name(topo), po->shape);
        if (topo == HRF_TOPO_LATTICE && ns == 1)
            return cli_usage_error(C,
                                   "--topology lattice takes NXxNY (D = 2) or NXxNYxNZ "
                                   "(D = 3), got '%s'",
                                   po->shape);
        int D = topo == HRF_TOPO_LATTICE ? ns : 2;
        if (po->given >> G_DIM & 1) {
            if (po->dim < 1 || po->dim > 3)
                return cli_usage_error(C, "--dim must be 1, 2 or 3, got %zu", po->dim);
            if (topo == HRF_TOPO_LATTICE && (int)po->dim != ns)
                return cli_usage_error(C,
                                       "--shape %s has %d extents but --dim is %zu: a "
                                       "lattice's shape has one extent per dimension",
                                       po->shape, ns, po->dim);
            D = (int)po->dim;
        }
        hrf_pair_potential_default(kind, &v);
        if (apply_sets(C, sets, nsets, &v)) return CLI_USAGE;
        rc = hrf_psystem_springs_new(topo, shape, D, &v, 1.0, &s);
    } else if (sys == P_LJ) {
        if (!(po->given >> G_PARTICLES & 1))
            return cli_usage_error(C, "--system lj needs --particles N (4n^3: 108, 256, 500, "
                                      "864, ..., 10976, ...)");
        hrf_pair_potential_default(HRF_PAIR_LJ, &v);
        if (apply_sets(C, sets, nsets, &v)) return CLI_USAGE;
        double density = po->given >> G_DENSITY & 1 ? po->density : 0.8442;
        rc = hrf_psystem_lj_new(po->particles, density, &v, &s);
    } else {
        rc = hrf_psystem_benchmark_ring_new(&s);
    }
    if (rc == HRF_EINVAL) return cli_usage_error(C, "%s", hrf_last_error());
    if (rc) return cli_lib_error(C, rc);
    hrf_pdata_params pp;
    hrf_pdata_params_system_default(s, &pp);
    if (seed_given) pp.seed = seed;
    if (po->given >> G_TRAJ & 1) pp.trajectories = po->trajectories;
    if (po->given >> G_SNAP & 1) pp.snapshots = po->snapshots;
    if (po->given >> G_EVERY & 1) pp.every = po->every;
    if (po->given >> G_DT & 1) pp.dt = po->dt;
    if (po->given >> G_BURN & 1) pp.burn_in = (size_t)po->burn_in;
    if (po->given >> G_TEMPERATURE & 1) pp.temperature = po->temperature;
    if (po->given >> G_AMPLITUDE & 1) pp.amplitude = po->amplitude;
    if (po->given >> G_PSIGMA & 1) pp.p_sigma = po->p_sigma;
    const char *msg = hrf_pdata_params_check(&pp);
    if (msg) {
        hrf_psystem_free(s);
        return cli_usage_error(C, "%s", msg);
    }
    hrf_pdata *d = NULL;
    double t0 = cli_now();
    rc = hrf_pdata_generate(s, &pp, &d);
    double t1 = cli_now();
    if (!rc) rc = hrf_pdata_save(d, out);
    double t2 = cli_now();
    if (rc) {
        hrf_pdata_free(d);
        hrf_psystem_free(s);
        return cli_lib_error(C, rc);
    }
    const cJSON *drift = cJSON_GetObjectItemCaseSensitive(HRF_META(d), "max_rel_energy_drift");
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "output", out);
        cJSON_AddStringToObject(o, "system", hrf_psystem_name(s));
        cJSON_AddNumberToObject(o, "n_particles", (double)d->N);
        cJSON_AddNumberToObject(o, "dim", d->D);
        cJSON_AddNumberToObject(o, "snapshots", (double)d->S);
        cJSON_AddNumberToObject(o, "trajectories", (double)pp.trajectories);
        if (d->bonds) {
            cJSON_AddNumberToObject(o, "n_bonds", (double)d->n_bonds);
        } else {
            cJSON_AddNumberToObject(o, "box", d->box);
            cJSON_AddNumberToObject(o, "cutoff", d->cutoff);
        }
        cJSON_AddNumberToObject(o, "dt", pp.dt);
        cJSON_AddNumberToObject(o, "every", (double)pp.every);
        cJSON_AddNumberToObject(o, "seed", (double)pp.seed);
        cJSON_AddNumberToObject(o, "max_rel_energy_drift", drift ? drift->valuedouble : NAN);
        cJSON_AddNumberToObject(o, "seconds_generate", t1 - t0);
        cJSON_AddNumberToObject(o, "seconds", t2 - t0);
        cli_print_json(o);
    } else if (!quiet) {
        fprintf(stderr,
                "hamrf generate: wrote %zu snapshots (%zu trajector%s) of %zu particles of %s "
                "to %s (max relative energy drift %.2g)\n",
                d->S, pp.trajectories, pp.trajectories == 1 ? "y" : "ies", d->N,
                hrf_psystem_name(s), out, drift ? drift->valuedouble : NAN);
    }
    hrf_pdata_free(d);
    hrf_psystem_free(s);
    return CLI_OK;
}

int cmd_generate(int argc, char **argv) {
    static const struct option opts[] = {
        {"system", required_argument, 0, 's'},
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
        {"threads", required_argument, 0, 'N'},
        {"topology", required_argument, 0, 1000 + G_TOPOLOGY},
        {"shape", required_argument, 0, 1000 + G_SHAPE},
        {"dim", required_argument, 0, 1000 + G_DIM},
        {"potential", required_argument, 0, 1000 + G_POTENTIAL},
        {"particles", required_argument, 0, 1000 + G_PARTICLES},
        {"density", required_argument, 0, 1000 + G_DENSITY},
        {"temperature", required_argument, 0, 1000 + G_TEMPERATURE},
        {"amplitude", required_argument, 0, 1000 + G_AMPLITUDE},
        {"p-sigma", required_argument, 0, 1000 + G_PSIGMA},
        {"trajectories", required_argument, 0, 1000 + G_TRAJ},
        {"snapshots", required_argument, 0, 1000 + G_SNAP},
        {"every", required_argument, 0, 1000 + G_EVERY},
        {"dt", required_argument, 0, 1000 + G_DT},
        {"burn-in", required_argument, 0, 1000 + G_BURN},
        {0, 0, 0, 0}};
    const char *C = "generate";
    const char *system = NULL, *out = NULL;
    const char *sets[64];
    int nsets = 0, json = 0, have_n = 0, quiet = 0, pairs = 0, seed_given = 0;
    int lowdim_given = 0; /* an option only the box data sets take */
    double h = NAN, flow_tol = 1e-13;
    particle_opts po;
    memset(&po, 0, sizeof po);
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
            lowdim_given = 'q';
            break;
        case 'p':
            if (cli_parse_range(C, "p-range", optarg, &gp.p_lo, &gp.p_hi)) return CLI_USAGE;
            lowdim_given = 'p';
            break;
        case 'n':
            if (cli_parse_size(C, "n", optarg, &gp.n)) return CLI_USAGE;
            have_n = 1;
            lowdim_given = 'n';
            break;
        case 'r':
            if (cli_parse_u64(C, "seed", optarg, &gp.seed)) return CLI_USAGE;
            seed_given = 1;
            break;
        case 'e':
            if (cli_parse_double(C, "noise", optarg, &gp.noise)) return CLI_USAGE;
            if (gp.noise < 0.0) return cli_usage_error(C, "--noise must be >= 0");
            lowdim_given = 'e';
            break;
        case 'P':
            pairs = 1;
            lowdim_given = 'P';
            break;
        case 'H':
            if (cli_parse_double(C, "h", optarg, &h)) return CLI_USAGE;
            if (!(h > 0.0)) return cli_usage_error(C, "--h must be > 0, got '%s'", optarg);
            lowdim_given = 'H';
            break;
        case 'N':
            if (cli_parse_threads(C, optarg)) return CLI_USAGE;
            break;
        case 1000 + G_TOPOLOGY:
            po.topology = optarg;
            po.given |= 1u << G_TOPOLOGY;
            break;
        case 1000 + G_SHAPE:
            po.shape = optarg;
            po.given |= 1u << G_SHAPE;
            break;
        case 1000 + G_POTENTIAL:
            po.potential = optarg;
            po.given |= 1u << G_POTENTIAL;
            break;
        case 1000 + G_DIM:
        case 1000 + G_PARTICLES:
        case 1000 + G_TRAJ:
        case 1000 + G_SNAP:
        case 1000 + G_EVERY: {
            size_t *dst = c == 1000 + G_DIM         ? &po.dim
                          : c == 1000 + G_PARTICLES ? &po.particles
                          : c == 1000 + G_TRAJ      ? &po.trajectories
                          : c == 1000 + G_SNAP      ? &po.snapshots
                                                    : &po.every;
            if (cli_parse_size(C, popt_info[c - 1000].name, optarg, dst)) return CLI_USAGE;
            po.given |= 1u << (c - 1000);
            break;
        }
        case 1000 + G_BURN:
            if (cli_parse_u64(C, "burn-in", optarg, &po.burn_in)) return CLI_USAGE;
            po.given |= 1u << G_BURN;
            break;
        case 1000 + G_DENSITY:
        case 1000 + G_TEMPERATURE:
        case 1000 + G_DT:
        case 1000 + G_AMPLITUDE:
        case 1000 + G_PSIGMA: {
            double *dst = c == 1000 + G_DENSITY       ? &po.density
                          : c == 1000 + G_TEMPERATURE ? &po.temperature
                          : c == 1000 + G_DT          ? &po.dt
                          : c == 1000 + G_AMPLITUDE   ? &po.amplitude
                                                      : &po.p_sigma;
            if (cli_parse_double(C, popt_info[c - 1000].name, optarg, dst)) return CLI_USAGE;
            /* --dt 0 would mean "the system's default" in the library */
            if (c == 1000 + G_DENSITY || c == 1000 + G_DT ? !(*dst > 0.0) : !(*dst >= 0.0))
                return cli_usage_error(C, "--%s must be %s, got '%s'", popt_info[c - 1000].name,
                                       c == 1000 + G_DENSITY || c == 1000 + G_DT ? "> 0" : ">= 0",
                                       optarg);
            po.given |= 1u << (c - 1000);
            break;
        }
        case 'T':
            lowdim_given = 'T';
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
    if (!strcmp(system, "springs") || !strcmp(system, "benchmark_ring") || !strcmp(system, "lj")) {
        if (lowdim_given) {
            static const struct {
                int c;
                const char *name;
            } names[] = {{'q', "q-range"}, {'p', "p-range"}, {'n', "n"},       {'e', "noise"},
                         {'P', "pairs"},   {'H', "h"},       {'T', "flow-tol"}};
            const char *nm = "?";
            for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
                if (names[i].c == lowdim_given) nm = names[i].name;
            return cli_usage_error(C, "--%s does not apply to the particle system %s", nm, system);
        }
        if (!out) return cli_usage_error(C, "-o FILE is required");
        return generate_particles(system, &po, sets, nsets, gp.seed, seed_given, out, json, quiet);
    }
    for (int g = 0; g < G_COUNT; g++)
        if (po.given >> g & 1)
            return cli_usage_error(C,
                                   "--%s only applies to the particle systems springs, "
                                   "benchmark_ring and lj",
                                   popt_info[g].name);
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
