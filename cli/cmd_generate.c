/* hamrf generate: a box data set of a built-in system, or trajectory pairs
 * (x, Φ_h(x)) of its exact flow (docs/math.md §6.1); or, for the particle systems
 * springs, benchmark_ring and lj (docs/math.md §10), snapshots of trajectories
 * (hamrf/particles.h). */
#include "core/meta.h"
#include "cli.h"
#include "gen_shards.h"
#include "mpi.h"

#include "hamrf/dataset.h"
#include "hamrf/particles.h"
#include "hamrf/status.h"
#include "hamrf/systems.h"

#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
    "  --threads N        OpenMP threads (default: all cores)\n"
    "  --shards           under 'mpirun -np P': each rank writes its share to\n"
    "                     OUT.rankK-of-P.npz (OUT without .npz); states drawn in blocks of\n"
    "                     256, trajectories one by one, each from its own seed, so the\n"
    "                     shards together hold the same rows for every P (docs/mpi.md)\n";

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

/* Options only the box data sets take: their getopt_long codes and names,
 * to name the last one given in a conflict. */
static const struct {
    int c;
    const char *name;
} box_opt_info[] = {{'q', "q-range"}, {'p', "p-range"}, {'n', "n"},       {'e', "noise"},
                    {'P', "pairs"},   {'H', "h"},       {'F', "flow-tol"}};

#define MAX_SETS 64

typedef struct gen_opts {
    const char *system;
    const char *sets[MAX_SETS]; /* --set KEY=VALUE, applied once the system is known */
    int nsets, seed_given, shards;
    /* box data sets */
    hrf_generate_params gp; /* also the seed of the particle systems */
    int have_n, pairs;
    int box_opt; /* code of the last option only box data sets take, or 0 */
    double h, flow_tol;
    /* particle systems */
    particle_opts po;
    cli_common com;
} gen_opts;

/* Options of the box data sets: 1 handled, 0 not one of them, -1 usage error
 * (printed). */
static int parse_box(gen_opts *o, int c, const char *arg) {
    const char *C = "generate";
    hrf_generate_params *gp = &o->gp;
    switch (c) {
    case 'q':
        if (cli_parse_range(C, "q-range", arg, &gp->q_lo, &gp->q_hi)) return -1;
        break;
    case 'p':
        if (cli_parse_range(C, "p-range", arg, &gp->p_lo, &gp->p_hi)) return -1;
        break;
    case 'n':
        if (cli_parse_size(C, "n", arg, &gp->n)) return -1;
        o->have_n = 1;
        break;
    case 'e':
        if (cli_parse_double(C, "noise", arg, &gp->noise)) return -1;
        if (gp->noise < 0.0) return cli_option_error(C, "--noise must be >= 0");
        break;
    case 'P':
        o->pairs = 1;
        break;
    case 'H':
        if (cli_parse_double(C, "h", arg, &o->h)) return -1;
        if (!(o->h > 0.0)) return cli_option_error(C, "--h must be > 0, got '%s'", arg);
        break;
    case 'F':
        if (cli_parse_double(C, "flow-tol", arg, &o->flow_tol)) return -1;
        if (!(o->flow_tol > 0.0) || o->flow_tol > 1e-6)
            return cli_option_error(C, "--flow-tol must be in (0, 1e-6], got '%s'", arg);
        break;
    default:
        return 0;
    }
    o->box_opt = c;
    return 1;
}

/* Options of the particle systems (codes 1000 + G_...). */
static int parse_particle(particle_opts *po, int c, const char *arg) {
    const char *C = "generate";
    const int g = c - 1000;
    if (g < 0 || g >= G_COUNT) return 0;
    const char *name = popt_info[g].name;
    switch (g) {
    case G_TOPOLOGY:
        po->topology = arg;
        break;
    case G_SHAPE:
        po->shape = arg;
        break;
    case G_POTENTIAL:
        po->potential = arg;
        break;
    case G_DIM:
    case G_PARTICLES:
    case G_TRAJ:
    case G_SNAP:
    case G_EVERY: {
        size_t *dst = g == G_DIM         ? &po->dim
                      : g == G_PARTICLES ? &po->particles
                      : g == G_TRAJ      ? &po->trajectories
                      : g == G_SNAP      ? &po->snapshots
                                         : &po->every;
        if (cli_parse_size(C, name, arg, dst)) return -1;
        break;
    }
    case G_BURN:
        if (cli_parse_u64(C, name, arg, &po->burn_in)) return -1;
        break;
    default: { /* G_DENSITY, G_TEMPERATURE, G_DT, G_AMPLITUDE, G_PSIGMA */
        double *dst = g == G_DENSITY       ? &po->density
                      : g == G_TEMPERATURE ? &po->temperature
                      : g == G_DT          ? &po->dt
                      : g == G_AMPLITUDE   ? &po->amplitude
                                           : &po->p_sigma;
        if (cli_parse_double(C, name, arg, dst)) return -1;
        /* --dt 0 would mean "the system's default" in the library */
        const int positive = g == G_DENSITY || g == G_DT;
        if (positive ? !(*dst > 0.0) : !(*dst >= 0.0))
            return cli_option_error(C, "--%s must be %s, got '%s'", name, positive ? "> 0" : ">= 0",
                                    arg);
        break;
    }
    }
    po->given |= 1u << g;
    return 1;
}

/* Every option of hamrf generate but the shared ones (cli_parse_options). */
static int parse_option(void *opts, int c, const char *arg) {
    gen_opts *o = opts;
    switch (c) {
    case 's':
        o->system = arg;
        return 1;
    case 'S':
        if (o->nsets == MAX_SETS)
            return cli_option_error("generate", "at most %d --set options", MAX_SETS);
        o->sets[o->nsets++] = arg;
        return 1;
    case 'r':
        if (cli_parse_u64("generate", "seed", arg, &o->gp.seed)) return -1;
        o->seed_given = 1;
        return 1;
    case 'X':
        o->shards = 1;
        return 1;
    }
    int r = parse_box(o, c, arg);
    return r ? r : parse_particle(&o->po, c, arg);
}

/* --set KEY=VALUE... through `set` (hrf_system_set, hrf_pair_potential_set):
 * 0, or CLI_USAGE (printed). The library checks the values. */
static int apply_sets(const gen_opts *o, int (*set)(void *obj, const char *key, double value),
                      void *obj) {
    const char *C = "generate";
    for (int i = 0; i < o->nsets; i++) {
        char key[64];
        double x;
        if (cli_parse_key_value(C, "set", o->sets[i], key, sizeof key, &x)) return CLI_USAGE;
        if (set(obj, key, x)) return cli_usage_error(C, "%s", hrf_last_error());
    }
    return 0;
}

static int set_pair(void *v, const char *key, double x) {
    return hrf_pair_potential_set(v, key, x);
}

static int set_system(void *sys, const char *key, double x) {
    return hrf_system_set(sys, key, x);
}

/* The pair potential of `kind` with the --set values: 0, or CLI_USAGE
 * (printed). */
static int pair_potential(const gen_opts *o, hrf_pair_kind kind, hrf_pair_potential *v) {
    hrf_pair_potential_default(kind, v);
    if (apply_sets(o, set_pair, v)) return CLI_USAGE;
    const char *msg = hrf_pair_potential_check(v);
    return msg ? cli_usage_error("generate", "%s", msg) : 0;
}

/* A library failure to make the particle system: HRF_EINVAL is a value the
 * user gave (a usage error). */
static int psystem_error(int rc) {
    if (rc == HRF_EINVAL) return cli_usage_error("generate", "%s", hrf_last_error());
    return cli_lib_error("generate", rc);
}

/* --system springs from --topology, --shape, --dim, --potential and --set:
 * CLI_OK and *s, or the exit status (printed). */
static int new_springs(const gen_opts *o, hrf_psystem **s) {
    const char *C = "generate";
    const particle_opts *po = &o->po;
    hrf_topology topo = HRF_TOPO_CHAIN;
    hrf_pair_kind kind = HRF_PAIR_HARMONIC;
    hrf_pair_potential v;
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
    if (cli_parse_shape(C, "shape", po->shape, shape, &ns)) return CLI_USAGE;
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
    if (pair_potential(o, kind, &v)) return CLI_USAGE;
    int rc = hrf_psystem_springs_new(topo, shape, D, &v, 1.0, s);
    return rc ? psystem_error(rc) : CLI_OK;
}

/* The particle system `sys` (P_...) from the options: CLI_OK and *s, or the
 * exit status (printed). */
static int new_psystem(const gen_opts *o, unsigned sys, hrf_psystem **s) {
    const char *C = "generate";
    const particle_opts *po = &o->po;
    for (int g = 0; g < G_COUNT; g++)
        if ((po->given >> g & 1) && !(popt_info[g].systems & sys))
            return cli_usage_error(C, "--%s does not apply to --system %s", popt_info[g].name,
                                   o->system);
    if (sys == P_RING && o->nsets)
        return cli_usage_error(C, "--set does not apply to --system benchmark_ring (its "
                                  "parameters are fixed: k = r0 = m = 1)");
    if (sys == P_SPRINGS) return new_springs(o, s);
    int rc;
    if (sys == P_LJ) {
        if (!(po->given >> G_PARTICLES & 1))
            return cli_usage_error(C, "--system lj needs --particles N (4n^3: 108, 256, 500, "
                                      "864, ..., 10976, ...)");
        hrf_pair_potential v;
        if (pair_potential(o, HRF_PAIR_LJ, &v)) return CLI_USAGE;
        double density = po->given >> G_DENSITY & 1 ? po->density : 0.8442;
        rc = hrf_psystem_lj_new(po->particles, density, &v, s);
    } else {
        rc = hrf_psystem_benchmark_ring_new(s);
    }
    return rc ? psystem_error(rc) : CLI_OK;
}

/* The snapshot settings: the system's defaults, then the options given.
 * NULL, or the library's message. */
static const char *pdata_params(const gen_opts *o, const hrf_psystem *s, hrf_pdata_params *pp) {
    const particle_opts *po = &o->po;
    hrf_pdata_params_system_default(s, pp);
    if (o->seed_given) pp->seed = o->gp.seed;
    if (po->given >> G_TRAJ & 1) pp->trajectories = po->trajectories;
    if (po->given >> G_SNAP & 1) pp->snapshots = po->snapshots;
    if (po->given >> G_EVERY & 1) pp->every = po->every;
    if (po->given >> G_DT & 1) pp->dt = po->dt;
    if (po->given >> G_BURN & 1) pp->burn_in = (size_t)po->burn_in;
    if (po->given >> G_TEMPERATURE & 1) pp->temperature = po->temperature;
    if (po->given >> G_AMPLITUDE & 1) pp->amplitude = po->amplitude;
    if (po->given >> G_PSIGMA & 1) pp->p_sigma = po->p_sigma;
    return hrf_pdata_params_check(pp);
}

/* The summary of a particle data set (docs/cli.md): JSON on stdout, or a line
 * on stderr. secs: generating, and generating with writing. */
static void report_particles(const gen_opts *o, const hrf_psystem *s, const hrf_pdata *d,
                             const hrf_pdata_params *pp, double secs_generate, double secs) {
    const cJSON *drift = cJSON_GetObjectItemCaseSensitive(HRF_META(d), "max_rel_energy_drift");
    if (o->com.json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "output", o->com.out);
        cJSON_AddStringToObject(j, "system", hrf_psystem_name(s));
        cJSON_AddNumberToObject(j, "n_particles", (double)d->N);
        cJSON_AddNumberToObject(j, "dim", d->D);
        cJSON_AddNumberToObject(j, "snapshots", (double)d->S);
        cJSON_AddNumberToObject(j, "trajectories", (double)pp->trajectories);
        if (d->bonds) {
            cJSON_AddNumberToObject(j, "n_bonds", (double)d->n_bonds);
        } else {
            cJSON_AddNumberToObject(j, "box", d->box);
            cJSON_AddNumberToObject(j, "cutoff", d->cutoff);
        }
        cJSON_AddNumberToObject(j, "dt", pp->dt);
        cJSON_AddNumberToObject(j, "every", (double)pp->every);
        cJSON_AddNumberToObject(j, "seed", (double)pp->seed);
        cJSON_AddNumberToObject(j, "max_rel_energy_drift", drift ? drift->valuedouble : NAN);
        cJSON_AddNumberToObject(j, "seconds_generate", secs_generate);
        cJSON_AddNumberToObject(j, "seconds", secs);
        cli_print_json(j);
    } else if (!o->com.quiet) {
        fprintf(stderr,
                "hamrf generate: wrote %zu snapshots (%zu trajector%s) of %zu particles of %s "
                "to %s (max relative energy drift %.2g)\n",
                d->S, pp->trajectories, pp->trajectories == 1 ? "y" : "ies", d->N,
                hrf_psystem_name(s), o->com.out, drift ? drift->valuedouble : NAN);
    }
}

/* Snapshots of a particle system's trajectories (hamrf/particles.h). */
static int generate_particles(const gen_opts *o) {
    const char *C = "generate";
    const char *system = o->system;
    unsigned sys = !strcmp(system, "springs") ? P_SPRINGS : !strcmp(system, "lj") ? P_LJ : P_RING;
    hrf_psystem *s = NULL;
    int rc = new_psystem(o, sys, &s);
    if (rc) return rc;
    hrf_pdata_params pp;
    const char *msg = pdata_params(o, s, &pp);
    if (msg) {
        hrf_psystem_free(s);
        return cli_usage_error(C, "%s", msg);
    }
    hrf_pdata *d = NULL;
    double t0 = cli_now();
    rc = hrf_pdata_generate(s, &pp, &d);
    double t1 = cli_now();
    if (!rc) rc = hrf_pdata_save(d, o->com.out);
    double t2 = cli_now();
    if (rc) {
        hrf_pdata_free(d);
        hrf_psystem_free(s);
        return cli_lib_error(C, rc);
    }
    report_particles(o, s, d, &pp, t1 - t0, t2 - t0);
    hrf_pdata_free(d);
    hrf_psystem_free(s);
    return CLI_OK;
}

/* A box data set (or trajectory pairs) of a built-in system. */
static int generate_box(const gen_opts *o) {
    const char *C = "generate";
    const hrf_system_type *type;
    int rc = hrf_system_find(o->system, &type);
    if (rc) return cli_usage_error(C, "%s", hrf_last_error());
    hrf_system sys;
    hrf_system_init(&sys, type);
    if (apply_sets(o, set_system, &sys)) return CLI_USAGE;
    const char *msg = hrf_generate_params_check(&o->gp);
    if (msg) return cli_usage_error(C, "%s", msg);
    hrf_dataset *ds = NULL;
    double t0 = cli_now();
    rc = o->pairs ? hrf_dataset_generate_pairs(&sys, &o->gp, o->h, o->flow_tol, &ds)
                  : hrf_dataset_generate(&sys, &o->gp, &ds);
    if (rc) return cli_lib_error(C, rc);
    rc = hrf_dataset_save(ds, o->com.out);
    double secs = cli_now() - t0;
    if (rc) {
        hrf_dataset_free(ds);
        return cli_lib_error(C, rc);
    }
    if (o->com.json) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "output", o->com.out);
        cJSON_AddStringToObject(j, "system", type->name);
        cJSON_AddNumberToObject(j, "n", (double)ds->n);
        cJSON_AddNumberToObject(j, "dim", (double)ds->dim);
        cJSON_AddNumberToObject(j, "seed", (double)o->gp.seed);
        if (o->pairs) cJSON_AddNumberToObject(j, "h", o->h);
        cJSON_AddNumberToObject(j, "seconds", secs);
        cli_print_json(j);
    } else if (!o->com.quiet) {
        fprintf(stderr, "hamrf generate: wrote %zu %s of %s to %s\n", ds->n,
                o->pairs ? "trajectory pairs" : "points", type->name, o->com.out);
    }
    hrf_dataset_free(ds);
    return CLI_OK;
}

/* Every rank's outcome of a step of --shards: the lowest failing rank's
 * message from rank 0 (one process: its own), CLI_FAIL; else CLI_OK. */
static int shards_agree(int rc) {
    const char *C = "generate";
    if (cli_mpi_size() == 1) return rc ? cli_lib_error(C, rc) : CLI_OK;
    return cli_mpi_agree(C, rc ? CLI_FAIL : CLI_OK, rc ? hrf_last_error() : NULL);
}

/* --shards: this rank's share of a box or particle data set into its own
 * file (cli/gen_shards.c); no file is left when any rank fails. */
static int generate_shards(const gen_opts *o, int particles) {
    const char *C = "generate";
    char path[4096];
    if (shard_path(o->com.out, path, sizeof path))
        return cli_usage_error(C, "the output name %s is too long", o->com.out);
    hrf_dataset *ds = NULL;
    hrf_pdata *pd = NULL;
    hrf_psystem *ps = NULL;
    hrf_pdata_params pp;
    size_t blocks = 0;
    const char *sname = o->system;
    double t0 = cli_now();
    int rc;
    if (particles) {
        unsigned sys = !strcmp(sname, "springs") ? P_SPRINGS : !strcmp(sname, "lj") ? P_LJ : P_RING;
        if ((rc = new_psystem(o, sys, &ps))) return rc; /* the same usage error on every rank */
        const char *msg = pdata_params(o, ps, &pp);
        if (msg) {
            hrf_psystem_free(ps);
            return cli_usage_error(C, "%s", msg);
        }
        rc = shard_particles(ps, &pp, &pd);
    } else {
        const hrf_system_type *type;
        if ((rc = hrf_system_find(o->system, &type)))
            return cli_usage_error(C, "%s", hrf_last_error());
        hrf_system sys;
        hrf_system_init(&sys, type);
        if (apply_sets(o, set_system, &sys)) return CLI_USAGE;
        const char *msg = hrf_generate_params_check(&o->gp);
        if (msg) return cli_usage_error(C, "%s", msg);
        rc = shard_box(&sys, &o->gp, o->pairs, o->h, o->flow_tol, &ds, &blocks);
    }
    if ((rc = shards_agree(rc))) {
        hrf_psystem_free(ps);
        return rc;
    }
    rc = pd ? hrf_pdata_save(pd, path) : hrf_dataset_save(ds, path);
    int saved = rc == HRF_OK;
    if ((rc = shards_agree(rc)) && saved) unlink(path); /* another rank failed: no partial set */
    if (!rc && o->com.json) {
        cJSON *j = cJSON_CreateObject();
        char pattern[4096];
        int stem = (int)strlen(o->com.out);
        if (stem > 4 && !strcmp(o->com.out + stem - 4, ".npz")) stem -= 4;
        snprintf(pattern, sizeof pattern, "%.*s.rank*-of-%d.npz", stem, o->com.out, cli_mpi_size());
        cJSON_AddStringToObject(j, "output", pattern);
        cJSON_AddNumberToObject(j, "shards", cli_mpi_size());
        cJSON_AddStringToObject(j, "system", sname);
        if (pd) {
            cJSON_AddNumberToObject(j, "snapshots", (double)(pp.trajectories * pp.snapshots));
            cJSON_AddNumberToObject(j, "trajectories", (double)pp.trajectories);
        } else {
            cJSON_AddNumberToObject(j, "n", (double)o->gp.n);
            cJSON_AddNumberToObject(j, "blocks", (double)blocks);
        }
        cJSON_AddNumberToObject(j, "seed", (double)(pd ? pp.seed : o->gp.seed));
        cJSON_AddNumberToObject(j, "seconds", cli_now() - t0);
        cli_print_json(j);
    } else if (!rc && !o->com.quiet && cli_mpi_rank() == 0) {
        fprintf(stderr, "hamrf generate: wrote %d shard%s of %s (%s, ...)\n", cli_mpi_size(),
                cli_mpi_size() == 1 ? "" : "s", sname, path);
    }
    hrf_dataset_free(ds);
    hrf_pdata_free(pd);
    hrf_psystem_free(ps);
    return rc;
}

/* The options that do not suit the system's kind, and the required ones:
 * 0, or CLI_USAGE (printed). */
static int check_options(const gen_opts *o, int particles) {
    const char *C = "generate";
    if (particles) {
        if (o->box_opt) {
            const char *nm = "?";
            for (size_t i = 0; i < sizeof box_opt_info / sizeof box_opt_info[0]; i++)
                if (box_opt_info[i].c == o->box_opt) nm = box_opt_info[i].name;
            return cli_usage_error(C, "--%s does not apply to the particle system %s", nm,
                                   o->system);
        }
        if (!o->com.out) return cli_usage_error(C, "-o FILE is required");
        return 0;
    }
    for (int g = 0; g < G_COUNT; g++)
        if (o->po.given >> g & 1)
            return cli_usage_error(C,
                                   "--%s only applies to the particle systems springs, "
                                   "benchmark_ring and lj",
                                   popt_info[g].name);
    if (!o->have_n) return cli_usage_error(C, "--n is required");
    if (!o->com.out) return cli_usage_error(C, "-o FILE is required");
    if (o->pairs && isnan(o->h))
        return cli_usage_error(C, "--pairs needs --h H, the time step of the pairs");
    if (!o->pairs && !isnan(o->h)) return cli_usage_error(C, "--h is only meaningful with --pairs");
    return 0;
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
        {"output", required_argument, 0, CLI_OPT_OUTPUT},
        {"pairs", no_argument, 0, 'P'},
        {"h", required_argument, 0, 'H'},
        {"flow-tol", required_argument, 0, 'F'},
        {"json", no_argument, 0, CLI_OPT_JSON},
        {"quiet", no_argument, 0, CLI_OPT_QUIET},
        {"help", no_argument, 0, CLI_OPT_HELP},
        {"threads", required_argument, 0, CLI_OPT_THREADS},
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
        {"shards", no_argument, 0, 'X'},
        {0, 0, 0, 0}};
    const char *C = "generate";
    gen_opts o;
    memset(&o, 0, sizeof o);
    hrf_generate_params_default(&o.gp);
    o.h = NAN, o.flow_tol = 1e-13;
    int rc = cli_parse_options(C, argc, argv, "o:", opts, help, parse_option, &o, &o.com);
    if (rc != CLI_PARSED) return rc;
    if (optind < argc) return cli_usage_error(C, "unexpected argument '%s'", argv[optind]);
    if (!o.system) return cli_usage_error(C, "--system is required");
    const int particles = !strcmp(o.system, "springs") || !strcmp(o.system, "benchmark_ring") ||
                          !strcmp(o.system, "lj");
    if (cli_mpi_size() > 1 && !o.shards) {
        if (cli_mpi_rank() == 0)
            fprintf(stderr,
                    "hamrf generate: error: under mpirun every rank writes its own share: add "
                    "--shards (files OUT.rankK-of-P.npz, docs/mpi.md)\n");
        return cli_mpi_agree(C, CLI_USAGE, NULL);
    }
    if ((rc = check_options(&o, particles))) return rc;
    if (o.shards) return generate_shards(&o, particles);
    return particles ? generate_particles(&o) : generate_box(&o);
}
