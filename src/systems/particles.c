/* Particle systems of MATH.md §6.1: pair potentials, mass–spring graphs
 * (chain, ring, square and cubic lattices), the benchmark ring of
 * Thangamuthu et al., Lennard-Jones in a periodic cubic box with the
 * minimum-image convention, cell lists, and velocity Verlet.
 *
 *   H = Σ_i |p_i|²/(2 m_i) + Σ_{pairs (i,j)} V(r_ij),
 *   dq_i/dt = p_i / m_i,  dp_i/dt = −∂U/∂q_i = −Σ_j V'(r_ij) (q_i − q_j) / r_ij.
 *
 * Pair potentials are a const table (CONVENTIONS.md rule 7), and so are the
 * system kinds (their ensembles of initial states and generation defaults).
 *
 * Cutoff systems (LJ) find interacting pairs with a cell list
 * (src/systems/neighbours.h): the box is cut into nc³ cells of side
 * L/nc ≥ rc/R, particles are sorted by cell (a counting sort, stable, so the
 * order is a function of the positions only), and each particle scans the
 * (2R+1)³ neighbouring cells, the periodic image of a wrapped neighbour cell
 * being a shift of ±L. Each particle accumulates its own force
 * and half of its pair energies (every pair is visited from both ends), so the
 * loop over particles parallelises with no write conflicts and the result is
 * bitwise the same for every thread count; the total energy is summed
 * serially. With fewer than 2R + 1 cells per side the neighbour cells would
 * not be distinct, and all pairs are scanned with the minimum image instead. */
#include "core/meta.h"
#include "core/sysinfo.h"
#include "systems/particles_impl.h"
#include "hamrf/particles.h"

#include "hamrf/status.h"
#include "systems/neighbours.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846

/* Below this many particles the OpenMP loops run on one thread: the fork
 * costs more than the work (one LJ force evaluation is ≈ 0.2 µs a particle). */
#define PAR_MIN 2048

/* ------------------------------------------------------------------------ */
/* pair potentials                                                          */
/* ------------------------------------------------------------------------ */

typedef struct pair_type {
    const char *name;
    int nkeys;
    const char *keys[3]; /* parameters the kind uses, settable by name */
    double (*eval)(const hrf_pair_potential *v, double r, double *dVdr);
} pair_type;

static double harmonic_eval(const hrf_pair_potential *v, double r, double *dVdr) {
    const double x = r - v->r0;
    if (dVdr) *dVdr = v->k * x;
    return 0.5 * v->k * x * x;
}

static double anharmonic_eval(const hrf_pair_potential *v, double r, double *dVdr) {
    const double x = r - v->r0, x2 = x * x;
    if (dVdr) *dVdr = v->k * x + v->k4 * x2 * x;
    return 0.5 * v->k * x2 + 0.25 * v->k4 * x2 * x2;
}

static double morse_eval(const hrf_pair_potential *v, double r, double *dVdr) {
    const double e = exp(-v->a * (r - v->r0)), u = 1.0 - e;
    if (dVdr) *dVdr = 2.0 * v->De * v->a * e * u;
    return v->De * u * u;
}

/* 4ε[(σ/r)¹² − (σ/r)⁶] without the shift. */
static double lj_raw(double eps, double sigma, double r) {
    const double s2 = (sigma / r) * (sigma / r), s6 = s2 * s2 * s2;
    return 4.0 * eps * (s6 * s6 - s6);
}

static double lj_eval(const hrf_pair_potential *v, double r, double *dVdr) {
    if (!(r < v->rc)) {
        if (dVdr) *dVdr = 0.0;
        return 0.0;
    }
    const double s2 = (v->sigma / r) * (v->sigma / r), s6 = s2 * s2 * s2;
    if (dVdr) *dVdr = -24.0 * v->eps * (2.0 * s6 * s6 - s6) / r;
    return 4.0 * v->eps * (s6 * s6 - s6) - lj_raw(v->eps, v->sigma, v->rc);
}

static const pair_type pair_types[] = {
    [HRF_PAIR_HARMONIC] = {"harmonic", 2, {"k", "r0"}, harmonic_eval},
    [HRF_PAIR_ANHARMONIC] = {"anharmonic", 3, {"k", "r0", "k4"}, anharmonic_eval},
    [HRF_PAIR_MORSE] = {"morse", 3, {"De", "a", "r0"}, morse_eval},
    [HRF_PAIR_LJ] = {"lj", 3, {"eps", "sigma", "rc"}, lj_eval},
};
#define N_PAIR_TYPES ((int)(sizeof pair_types / sizeof pair_types[0]))

static int pair_kind_valid(hrf_pair_kind k) {
    return (int)k >= 0 && (int)k < N_PAIR_TYPES;
}

void hrf_pair_potential_default(hrf_pair_kind kind, hrf_pair_potential *v) {
    v->kind = kind;
    v->k = v->r0 = v->k4 = v->De = v->a = 1.0;
    v->eps = v->sigma = 1.0;
    v->rc = 2.5;
}

double hrf_pair_eval(const hrf_pair_potential *v, double r, double *dVdr) {
    return pair_types[v->kind].eval(v, r, dVdr);
}

int hrf_pair_kind_find(const char *name, hrf_pair_kind *kind) {
    for (int k = 0; k < N_PAIR_TYPES; k++) {
        if (name && strcmp(name, pair_types[k].name) == 0) {
            *kind = (hrf_pair_kind)k;
            return HRF_OK;
        }
    }
    return hrf_error(HRF_ENOTFOUND,
                     "unknown pair potential '%s' (known: harmonic, anharmonic, morse, lj)",
                     name ? name : "(null)");
}

const char *hrf_pair_kind_name(hrf_pair_kind kind) {
    return pair_kind_valid(kind) ? pair_types[kind].name : "unknown";
}

static double *pair_field(hrf_pair_potential *v, const char *key) {
    if (!strcmp(key, "k")) return &v->k;
    if (!strcmp(key, "r0")) return &v->r0;
    if (!strcmp(key, "k4")) return &v->k4;
    if (!strcmp(key, "De")) return &v->De;
    if (!strcmp(key, "a")) return &v->a;
    if (!strcmp(key, "eps")) return &v->eps;
    if (!strcmp(key, "sigma")) return &v->sigma;
    if (!strcmp(key, "rc")) return &v->rc;
    return NULL;
}

const char *hrf_pair_potential_check(const hrf_pair_potential *v) {
    if (!v || !pair_kind_valid(v->kind)) return "unknown pair potential kind";
    const pair_type *t = &pair_types[v->kind];
    for (int i = 0; i < t->nkeys; i++) {
        double x = *pair_field((hrf_pair_potential *)v, t->keys[i]);
        if (!isfinite(x)) return "pair potential parameters must be finite";
        if (!strcmp(t->keys[i], "k4")) {
            if (x < 0.0) return "the quartic constant k4 must be >= 0 (else V is unbounded below)";
        } else if (!(x > 0.0)) {
            switch (t->keys[i][0]) {
            case 'k':
                return "the spring constant k must be > 0";
            case 'r':
                return t->keys[i][1] == '0' ? "the rest length r0 must be > 0"
                                            : "the cutoff rc must be > 0";
            case 'D':
                return "the Morse well depth De must be > 0";
            case 'a':
                return "the Morse width a must be > 0";
            case 'e':
                return "the LJ energy eps must be > 0";
            default:
                return "the LJ length sigma must be > 0";
            }
        }
    }
    return NULL;
}

int hrf_pair_potential_set(hrf_pair_potential *v, const char *key, double value) {
    if (!pair_kind_valid(v->kind)) return hrf_error(HRF_EINVAL, "unknown pair potential kind");
    const pair_type *t = &pair_types[v->kind];
    for (int i = 0; i < t->nkeys; i++) {
        if (!strcmp(key, t->keys[i])) {
            *pair_field(v, key) = value;
            return HRF_OK;
        }
    }
    char list[64] = "";
    for (int i = 0; i < t->nkeys; i++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "",
                 t->keys[i]);
    return hrf_error(HRF_ENOTFOUND, "the %s potential has no parameter '%s' (its parameters: %s)",
                     t->name, key, list);
}

cJSON *hrf_pair_potential_json(const hrf_pair_potential *v) {
    if (!pair_kind_valid(v->kind)) return NULL;
    const pair_type *t = &pair_types[v->kind];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "kind", t->name);
    for (int i = 0; i < t->nkeys; i++)
        cJSON_AddNumberToObject(o, t->keys[i], *pair_field((hrf_pair_potential *)v, t->keys[i]));
    return o;
}

int hrf_pair_potential_from_json(const cJSON *o, hrf_pair_potential *v) {
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(o, "kind");
    if (!cJSON_IsObject(o) || !cJSON_IsString(k))
        return hrf_error(HRF_EDATA, "the potential must be an object with a string \"kind\"");
    hrf_pair_kind kind;
    if (hrf_pair_kind_find(k->valuestring, &kind)) return HRF_EDATA;
    hrf_pair_potential_default(kind, v);
    const pair_type *t = &pair_types[kind];
    for (int i = 0; i < t->nkeys; i++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, t->keys[i]);
        if (!x) continue;
        if (!cJSON_IsNumber(x))
            return hrf_error(HRF_EDATA, "the %s potential's \"%s\" must be a number", t->name,
                             t->keys[i]);
        *pair_field(v, t->keys[i]) = x->valuedouble;
    }
    const char *msg = hrf_pair_potential_check(v);
    return msg ? hrf_error(HRF_EDATA, "%s potential: %s", t->name, msg) : HRF_OK;
}

static const char *topo_names[] = {"chain", "ring", "lattice"};

int hrf_topology_find(const char *name, hrf_topology *topo) {
    for (int k = 0; k < 3; k++) {
        if (name && !strcmp(name, topo_names[k])) {
            *topo = (hrf_topology)k;
            return HRF_OK;
        }
    }
    return hrf_error(HRF_ENOTFOUND, "unknown topology '%s' (known: chain, ring, lattice)",
                     name ? name : "(null)");
}

const char *hrf_topology_name(hrf_topology topo) {
    return (int)topo >= 0 && (int)topo < 3 ? topo_names[topo] : "unknown";
}

/* ------------------------------------------------------------------------ */
/* systems                                                                  */
/* ------------------------------------------------------------------------ */

/* A kind of system: its name, its ensemble of initial states and its
 * generation defaults. */
typedef struct psys_type {
    const char *name;
    double dt; /* default velocity Verlet step */
    size_t trajectories, snapshots, every;
    int (*init)(const hrf_psystem *s, const hrf_pdata_params *par, hrf_rng *rng, double *q,
                double *p);
} psys_type;

struct hrf_psystem {
    const psys_type *type;
    size_t N;
    int D;
    hrf_pair_potential v;
    double *mass;    /* (N) */
    double *rest;    /* (N, D) rest geometry / fcc lattice */
    uint32_t *bonds; /* (E, 2), i < j; NULL for cutoff systems */
    size_t n_bonds;
    double box, cutoff; /* periodic cubic box side and cutoff; 0 for bonded systems */
    /* description for meta */
    int has_topo;
    hrf_topology topo;
    size_t shape[3];
    double density; /* LJ: N / L³ */
};

static int springs_init(const hrf_psystem *s, const hrf_pdata_params *par, hrf_rng *rng, double *q,
                        double *p);
static int ring_init(const hrf_psystem *s, const hrf_pdata_params *par, hrf_rng *rng, double *q,
                     double *p);
static int lj_init(const hrf_psystem *s, const hrf_pdata_params *par, hrf_rng *rng, double *q,
                   double *p);

static const psys_type springs_type = {"springs", 0.01, 1, 10, 10, springs_init};
static const psys_type ring_type = {"benchmark_ring", 1e-3, 100, 100, 100, ring_init};
static const psys_type lj_type = {"lj", 0.005, 1, 10, 10, lj_init};
static const psys_type bonded_type = {"bonded", 0.01, 1, 10, 10, NULL};
static const psys_type periodic_type = {"periodic", 0.005, 1, 10, 10, NULL};
static const psys_type *const psys_types[] = {&springs_type, &ring_type, &lj_type, &bonded_type,
                                              &periodic_type};

void hrf_psystem_free(hrf_psystem *s) {
    if (!s) return;
    free(s->mass), free(s->rest), free(s->bonds);
    free(s);
}

/* Bytes a system of N particles in D dimensions with E bonds needs to be
 * created, simulated and snapshotted once: its arrays, the caller's q, p and
 * force, and the cell-list workspace. */
static double system_bytes(size_t N, int D, size_t E) {
    return (double)N * (8.0 + 8.0 * D + 3 * 8.0 * D + 8.0 * 7 + 8.0) + 8.0 * (double)E;
}

/* Refuses before allocating: indices must fit uint32 and the memory must be there. */
static int check_size(size_t N, int D, size_t E, const char *what) {
    double need = system_bytes(N, D, E), avail = (double)hrf_mem_available();
    if (N > (size_t)UINT32_MAX)
        return hrf_error(HRF_ETOOBIG, "%s: %zu particles exceed the limit of 2^32 - 1", what, N);
    if (avail > 0.0 && need > avail)
        return hrf_error(HRF_ETOOBIG,
                         "%s: %zu particles need about %.3g GiB, but only %.3g GiB are "
                         "available",
                         what, N, need / 1073741824.0, avail / 1073741824.0);
    return HRF_OK;
}

static hrf_psystem *system_alloc(const psys_type *type, size_t N, int D, size_t E,
                                 const hrf_pair_potential *v) {
    hrf_psystem *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->type = type, s->N = N, s->D = D, s->v = *v, s->n_bonds = E;
    s->mass = malloc(N * sizeof *s->mass);
    s->rest = calloc(N * (size_t)D, sizeof *s->rest);
    s->bonds = E ? malloc(2 * E * sizeof *s->bonds) : NULL;
    if (!s->mass || !s->rest || (E && !s->bonds)) {
        hrf_psystem_free(s);
        return NULL;
    }
    return s;
}

/* shape[0]·shape[1]·shape[2] (unused extents 0 → 1) with overflow check. */
static int shape_count(const size_t shape[3], int used, size_t *N) {
    size_t n = 1;
    for (int a = 0; a < used; a++) {
        if (shape[a] == 0) return hrf_error(HRF_EINVAL, "every extent of the shape must be >= 1");
        if (n > SIZE_MAX / shape[a]) return hrf_error(HRF_ETOOBIG, "the shape is too large");
        n *= shape[a];
    }
    for (int a = used; a < 3; a++)
        if (shape[a] > 1)
            return hrf_error(HRF_EINVAL,
                             "a %s shape has %d extent%s, but extent %d is %zu (leave it 0 or 1)",
                             used == 1   ? "chain or ring"
                             : used == 2 ? "square-lattice"
                                         : "cubic",
                             used, used == 1 ? "" : "s", a + 1, shape[a]);
    *N = n;
    return HRF_OK;
}

int hrf_psystem_springs_new(hrf_topology topo, const size_t shape[3], int D,
                            const hrf_pair_potential *v, double mass, hrf_psystem **out) {
    *out = NULL;
    hrf_pair_potential def;
    if (!v) {
        hrf_pair_potential_default(HRF_PAIR_HARMONIC, &def);
        v = &def;
    }
    if (D < 1 || D > 3)
        return hrf_error(HRF_EINVAL, "the dimension D must be 1, 2 or 3, got %d", D);
    if (!shape) return hrf_error(HRF_EINVAL, "the shape must not be NULL");
    const char *msg = hrf_pair_potential_check(v);
    if (msg) return hrf_error(HRF_EINVAL, "%s", msg);
    if (v->kind == HRF_PAIR_LJ)
        return hrf_error(HRF_EINVAL, "spring graphs take harmonic, anharmonic or morse bonds, "
                                     "not lj (use the Lennard-Jones system)");
    if (!(mass > 0.0) || !isfinite(mass))
        return hrf_error(HRF_EINVAL, "the mass must be finite and > 0, got %g", mass);
    size_t N = 0, E = 0;
    int rc;
    switch (topo) {
    case HRF_TOPO_CHAIN:
    case HRF_TOPO_RING:
        if ((rc = shape_count(shape, 1, &N))) return rc;
        if (topo == HRF_TOPO_CHAIN && N < 2)
            return hrf_error(HRF_EINVAL, "a chain needs at least 2 particles, got %zu", N);
        if (topo == HRF_TOPO_RING && N < 3)
            return hrf_error(HRF_EINVAL, "a ring needs at least 3 particles, got %zu", N);
        if (topo == HRF_TOPO_RING && D < 2)
            return hrf_error(HRF_EINVAL, "a ring needs D = 2 or 3: in 1D its bonds cannot all be "
                                         "at rest length (use a chain)");
        E = topo == HRF_TOPO_CHAIN ? N - 1 : N;
        break;
    case HRF_TOPO_LATTICE:
        if (D < 2)
            return hrf_error(HRF_EINVAL, "a lattice needs D = 2 (nx x ny) or 3 (nx x ny x nz); "
                                         "in 1D use a chain");
        if ((rc = shape_count(shape, D, &N))) {
            if (rc == HRF_EINVAL)
                return hrf_error(HRF_EINVAL,
                                 "a lattice in D = %d needs a shape of %d extents >= 1 (%s), "
                                 "got %zux%zux%zu",
                                 D, D, D == 2 ? "nx x ny" : "nx x ny x nz", shape[0], shape[1],
                                 shape[2]);
            return rc;
        }
        if (N < 2) return hrf_error(HRF_EINVAL, "a lattice needs at least 2 particles");
        /* bonds along each axis a: (n_a − 1)·N / n_a */
        E = 0;
        for (int a = 0; a < D; a++)
            E += (shape[a] - 1) * (N / shape[a]);
        break;
    default:
        return hrf_error(HRF_EINVAL, "unknown topology %d", (int)topo);
    }
    if ((rc = check_size(N, D, E, "spring graph"))) return rc;
    hrf_psystem *s = system_alloc(&springs_type, N, D, E, v);
    if (!s) return hrf_error(HRF_ENOMEM, "out of memory for %zu particles", N);
    s->has_topo = 1, s->topo = topo;
    for (int a = 0; a < 3; a++)
        s->shape[a] = a < (topo == HRF_TOPO_LATTICE ? D : 1) ? shape[a] : 1;
    for (size_t i = 0; i < N; i++)
        s->mass[i] = mass;
    const double r0 = v->r0;
    uint32_t *b = s->bonds;
    if (topo == HRF_TOPO_LATTICE) {
        const size_t nx = s->shape[0], ny = s->shape[1], nz = s->shape[2];
        for (size_t ix = 0; ix < nx; ix++)
            for (size_t iy = 0; iy < ny; iy++)
                for (size_t iz = 0; iz < nz; iz++) {
                    size_t i = (ix * ny + iy) * nz + iz;
                    double *x = s->rest + i * (size_t)D;
                    x[0] = r0 * (double)ix, x[1] = r0 * (double)iy;
                    if (D == 3) x[2] = r0 * (double)iz;
                    /* neighbours in +z, +y, +x: j > i ascending, so bonds are sorted by (i, j) */
                    if (iz + 1 < nz) *b++ = (uint32_t)i, *b++ = (uint32_t)(i + 1);
                    if (iy + 1 < ny) *b++ = (uint32_t)i, *b++ = (uint32_t)(i + nz);
                    if (ix + 1 < nx) *b++ = (uint32_t)i, *b++ = (uint32_t)(i + ny * nz);
                }
    } else if (topo == HRF_TOPO_CHAIN) {
        for (size_t i = 0; i < N; i++)
            s->rest[i * (size_t)D] = r0 * (double)i;
        for (size_t i = 0; i + 1 < N; i++)
            *b++ = (uint32_t)i, *b++ = (uint32_t)(i + 1);
    } else {
        /* regular N-gon of side r0: circumradius R = r0 / (2 sin(π/N)) */
        const double R = r0 / (2.0 * sin(PI / (double)N));
        for (size_t i = 0; i < N; i++) {
            double th = 2.0 * PI * (double)i / (double)N;
            s->rest[i * (size_t)D] = R * cos(th);
            s->rest[i * (size_t)D + 1] = R * sin(th);
        }
        *b++ = 0, *b++ = (uint32_t)(N - 1);
        for (size_t i = 0; i + 1 < N; i++)
            *b++ = (uint32_t)i, *b++ = (uint32_t)(i + 1);
        /* sort by i: the closing bond (0, N−1) goes after (0, 1) */
        s->bonds[0] = 0, s->bonds[1] = 1, s->bonds[2] = 0, s->bonds[3] = (uint32_t)(N - 1);
    }
    *out = s;
    return HRF_OK;
}

int hrf_psystem_benchmark_ring_new(hrf_psystem **out) {
    hrf_pair_potential v;
    hrf_pair_potential_default(HRF_PAIR_HARMONIC, &v);
    size_t shape[3] = {5, 0, 0};
    int rc = hrf_psystem_springs_new(HRF_TOPO_RING, shape, 2, &v, 1.0, out);
    if (!rc) (*out)->type = &ring_type;
    return rc;
}

/* fcc lattice of n³ cubic cells of side a = L/n, 4 sites each, cell-major. */
static void fcc_sites(size_t n, double L, double *q) {
    static const double basis[4][3] = {{0, 0, 0}, {0, 0.5, 0.5}, {0.5, 0, 0.5}, {0.5, 0.5, 0}};
    const double a = L / (double)n;
    size_t i = 0;
    for (size_t ix = 0; ix < n; ix++)
        for (size_t iy = 0; iy < n; iy++)
            for (size_t iz = 0; iz < n; iz++)
                for (int b = 0; b < 4; b++, i++) {
                    q[3 * i + 0] = a * ((double)ix + basis[b][0]);
                    q[3 * i + 1] = a * ((double)iy + basis[b][1]);
                    q[3 * i + 2] = a * ((double)iz + basis[b][2]);
                }
}

/* n with 4 n³ = N, or 0. */
static size_t fcc_n(size_t N) {
    if (N == 0 || N % 4) return 0;
    size_t n = (size_t)llround(cbrt((double)(N / 4)));
    for (size_t m = n > 1 ? n - 1 : 1; m <= n + 1; m++)
        if (m * m * m == N / 4) return m;
    return 0;
}

/* A periodic cutoff system (D = 3) with box L, masses and potential checked by the caller. */
static int periodic_new(const psys_type *type, size_t N, double L, const hrf_pair_potential *v,
                        hrf_psystem **out) {
    if (!(L >= 2.0 * v->rc))
        return hrf_error(HRF_EINVAL,
                         "the box side L = %g is less than twice the cutoff rc = %g, so the "
                         "minimum image is not unique: use more particles or a lower density",
                         L, v->rc);
    int rc = check_size(N, 3, 0, "Lennard-Jones system");
    if (rc) return rc;
    hrf_psystem *s = system_alloc(type, N, 3, 0, v);
    if (!s) return hrf_error(HRF_ENOMEM, "out of memory for %zu particles", N);
    s->box = L, s->cutoff = v->rc, s->density = (double)N / (L * L * L);
    for (size_t i = 0; i < N; i++)
        s->mass[i] = 1.0;
    *out = s;
    return HRF_OK;
}

int hrf_psystem_lj_new(size_t n_particles, double density, const hrf_pair_potential *v,
                       hrf_psystem **out) {
    *out = NULL;
    hrf_pair_potential def;
    if (!v) {
        hrf_pair_potential_default(HRF_PAIR_LJ, &def);
        v = &def;
    }
    if (v->kind != HRF_PAIR_LJ)
        return hrf_error(HRF_EINVAL, "the Lennard-Jones system needs the lj potential, got %s",
                         hrf_pair_kind_name(v->kind));
    const char *msg = hrf_pair_potential_check(v);
    if (msg) return hrf_error(HRF_EINVAL, "%s", msg);
    if (!(density > 0.0) || !isfinite(density))
        return hrf_error(HRF_EINVAL, "the density must be finite and > 0, got %g", density);
    size_t n = fcc_n(n_particles);
    if (!n) {
        size_t m = (size_t)floor(cbrt((double)n_particles / 4.0));
        if (m < 1) m = 1;
        return hrf_error(HRF_EINVAL,
                         "the number of particles must be 4 n^3 (an fcc lattice of n^3 cells), "
                         "got %zu; the nearest are %zu and %zu",
                         n_particles, 4 * m * m * m, 4 * (m + 1) * (m + 1) * (m + 1));
    }
    int rc = check_size(n_particles, 3, 0, "Lennard-Jones system");
    if (rc) return rc;
    hrf_psystem *s = NULL;
    if ((rc = periodic_new(&lj_type, n_particles, cbrt((double)n_particles / density), v, &s)))
        return rc;
    s->density = density;
    fcc_sites(n, s->box, s->rest);
    *out = s;
    return HRF_OK;
}

size_t hrf_psystem_n(const hrf_psystem *s) {
    return s->N;
}
int hrf_psystem_dim(const hrf_psystem *s) {
    return s->D;
}
const double *hrf_psystem_masses(const hrf_psystem *s) {
    return s->mass;
}
const uint32_t *hrf_psystem_bonds(const hrf_psystem *s, size_t *n_bonds) {
    if (n_bonds) *n_bonds = s->box > 0.0 ? 0 : s->n_bonds;
    return s->box > 0.0 ? NULL : s->bonds;
}
double hrf_psystem_box(const hrf_psystem *s) {
    return s->box;
}
double hrf_psystem_cutoff(const hrf_psystem *s) {
    return s->cutoff;
}
const hrf_pair_potential *hrf_psystem_potential(const hrf_psystem *s) {
    return &s->v;
}
const char *hrf_psystem_name(const hrf_psystem *s) {
    return s->type->name;
}

void hrf_psystem_rest(const hrf_psystem *s, double *q) {
    memcpy(q, s->rest, s->N * (size_t)s->D * sizeof *q);
}

void hrf_psystem_min_image(const hrf_psystem *s, double *d) {
    hrf_nbr_min_image_vec(d, s->D, s->box);
}

cJSON *hrf_psystem_json(const hrf_psystem *s) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "system", s->type->name);
    if (s->has_topo) {
        cJSON_AddStringToObject(o, "topology", hrf_topology_name(s->topo));
        int ns = s->topo == HRF_TOPO_LATTICE ? s->D : 1;
        cJSON *sh = cJSON_AddArrayToObject(o, "shape");
        for (int a = 0; a < ns; a++)
            cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)s->shape[a]));
    }
    cJSON_AddNumberToObject(o, "dim", s->D);
    cJSON_AddNumberToObject(o, "n_particles", (double)s->N);
    cJSON_AddItemToObject(o, "potential", hrf_pair_potential_json(&s->v));
    if (s->box > 0.0) {
        cJSON_AddNumberToObject(o, "density", s->density);
        cJSON_AddNumberToObject(o, "box", s->box);
        cJSON_AddNumberToObject(o, "cutoff", s->cutoff);
    } else {
        cJSON_AddNumberToObject(o, "mass", s->mass[0]);
        cJSON_AddNumberToObject(o, "n_bonds", (double)s->n_bonds);
    }
    return o;
}

/* ------------------------------------------------------------------------ */
/* forces                                                                   */
/* ------------------------------------------------------------------------ */

/* Cell-list scratch of a cutoff system, allocated once per evaluation,
 * simulation or data set: the cells (src/systems/neighbours.h) and the
 * results in their slot order. */
typedef struct cell_ws {
    hrf_nbr nb;               /* nb.nc = 0: too few cells, all pairs */
    double *fx, *fy, *fz, *e; /* (N) forces and half pair energies in slot order; fx, fy,
                                 fz are one block, the build's scratch */
} cell_ws;

static void ws_free(cell_ws *w) {
    if (!w) return;
    hrf_nbr_free(&w->nb);
    free(w->fx), free(w->e);
    free(w);
}

/* Cells of side ≥ rc/2 scanned ±2 cells deep cover ≈ 125/8 = 15.6 rc³
 * against 27 rc³ for side ≥ rc and ±1, and the covered volume varies less
 * with how L/rc rounds: 40% fewer candidate pairs, but more and shorter
 * ranges; measured about equally fast at density 0.8442 (0.7–0.9 µs a
 * particle on one core), and flatter in N. Both need 2R + 1 distinct cells
 * per side; below 3 the box is scanned as all pairs. At most ~2 cells per
 * particle, so that a dilute gas does not get mostly empty cells. */
static void cells_setup(const hrf_psystem *s, size_t *nc_out, int *R_out) {
    size_t cap = (size_t)cbrt(2.0 * (double)s->N) + 1;
    if (cap > 1024) cap = 1024;
    *nc_out = 0, *R_out = 0;
    for (int R = 2; R >= 1; R--) {
        size_t nc = hrf_nbr_cells_fitting(s->box, s->cutoff / R);
        if (nc > cap) nc = cap;
        /* capped cells must still be at least rc/R wide: they are wider */
        if (nc >= (size_t)(2 * R + 1)) {
            *nc_out = nc, *R_out = R;
            return;
        }
    }
}

static int ws_new(const hrf_psystem *s, cell_ws **out) {
    *out = NULL;
    if (!(s->box > 0.0)) return HRF_OK;
    cell_ws *w = calloc(1, sizeof *w);
    if (!w) return hrf_error(HRF_ENOMEM, "out of memory");
    const size_t N = s->N;
    size_t nc;
    int R, rc;
    cells_setup(s, &nc, &R);
    if (nc && (rc = hrf_nbr_init(&w->nb, N, 3, s->box, nc, R))) {
        ws_free(w);
        return rc;
    }
    w->fx = malloc(3 * N * sizeof(double)), w->e = malloc(N * sizeof(double));
    if (!w->fx || !w->e) {
        ws_free(w);
        return hrf_error(HRF_ENOMEM, "out of memory for the cell list of %zu particles", N);
    }
    w->fy = w->fx + N, w->fz = w->fx + 2 * N;
    *out = w;
    return HRF_OK;
}

/* LJ forces and half pair energies of every particle with the cell list.
 * The inner loop runs over 4 candidates at a time with GCC/Clang vector
 * extensions (GCC 12 does not vectorise it by itself: the masked division
 * counts as control flow); lanes beyond the range, the particle itself and
 * pairs beyond rc are masked out, so reading up to 3 slots past a range is
 * harmless (the arrays have 4 slots of padding). */
#if defined(__GNUC__)
typedef double v4d __attribute__((vector_size(32)));
typedef long long v4l __attribute__((vector_size(32)));
static inline v4d load4(const double *p) {
    v4d v;
    memcpy(&v, p, sizeof v);
    return v;
}
#define BCAST(x) ((v4d){(x), (x), (x), (x)})
#endif

static void lj_cells(const hrf_psystem *s, cell_ws *w) {
    const double rc2 = s->cutoff * s->cutoff, sig2 = s->v.sigma * s->v.sigma;
    const double e4 = 4.0 * s->v.eps, e24 = 24.0 * s->v.eps / sig2;
    const double vc = lj_raw(s->v.eps, s->v.sigma, s->cutoff);
    const hrf_nbr *nb = &w->nb;
    const double *X = nb->x[0], *Y = nb->x[1], *Z = nb->x[2];
    const long ncells = (long)nb->ncells;
#pragma omp parallel for schedule(static) if (s->N >= PAR_MIN)
    for (long c = 0; c < ncells; c++) {
        hrf_nbr_range rg[HRF_NBR_MAX_RANGES];
        const int nr = hrf_nbr_ranges(nb, (size_t)c, rg);
        for (size_t k = nb->start[c]; k < nb->start[c + 1]; k++) {
            double fx = 0.0, fy = 0.0, fz = 0.0, e = 0.0;
#if defined(__GNUC__)
            const v4d xi = BCAST(X[k]), yi = BCAST(Y[k]), zi = BCAST(Z[k]);
            const v4d rc2v = BCAST(rc2), sig2v = BCAST(sig2), e4v = BCAST(e4), e24v = BCAST(e24);
            const v4d vcv = BCAST(vc), two = BCAST(2.0);
            const v4l kv = {(long long)k, (long long)k, (long long)k, (long long)k};
            v4d ax = BCAST(0.0), ay = ax, az = ax, ae = ax;
            for (int b = 0; b < nr; b++) {
                const v4d sx = BCAST(rg[b].sh[0]), sy = BCAST(rg[b].sh[1]), sz = BCAST(rg[b].sh[2]);
                const long long m1 = (long long)rg[b].m1;
                const v4l m1v = {m1, m1, m1, m1};
                v4l mv = {(long long)rg[b].m0, (long long)rg[b].m0 + 1, (long long)rg[b].m0 + 2,
                          (long long)rg[b].m0 + 3};
                for (size_t m = rg[b].m0; m < rg[b].m1; m += 4) {
                    /* d = (q_i − q_m) − shift: exactly antisymmetric between
                     * the two visits of a pair, so the forces are too. */
                    const v4d dx = (xi - load4(X + m)) - sx, dy = (yi - load4(Y + m)) - sy,
                              dz = (zi - load4(Z + m)) - sz;
                    const v4d r2 = dx * dx + dy * dy + dz * dz;
                    const v4l in = (r2 < rc2v) & (mv != kv) & (mv < m1v);
                    const v4d s2 = (v4d)((v4l)(sig2v / r2) & in), s6 = s2 * s2 * s2;
                    const v4d fr = e24v * (two * s6 * s6 - s6) * s2;
                    ax += fr * dx, ay += fr * dy, az += fr * dz;
                    ae += (v4d)((v4l)(e4v * (s6 * s6 - s6) - vcv) & in);
                    mv += 4;
                }
            }
            fx = (ax[0] + ax[1]) + (ax[2] + ax[3]), fy = (ay[0] + ay[1]) + (ay[2] + ay[3]);
            fz = (az[0] + az[1]) + (az[2] + az[3]), e = (ae[0] + ae[1]) + (ae[2] + ae[3]);
#else
            for (int b = 0; b < nr; b++)
                for (size_t m = rg[b].m0; m < rg[b].m1; m++) {
                    const double dx = (X[k] - X[m]) - rg[b].sh[0], dy = (Y[k] - Y[m]) - rg[b].sh[1],
                                 dz = (Z[k] - Z[m]) - rg[b].sh[2];
                    const double r2 = dx * dx + dy * dy + dz * dz;
                    if (!(r2 < rc2) || m == k) continue;
                    const double s2 = sig2 / r2, s6 = s2 * s2 * s2;
                    const double fr = e24 * (2.0 * s6 * s6 - s6) * s2;
                    fx += fr * dx, fy += fr * dy, fz += fr * dz;
                    e += e4 * (s6 * s6 - s6) - vc;
                }
#endif
            w->fx[k] = fx, w->fy[k] = fy, w->fz[k] = fz, w->e[k] = 0.5 * e;
        }
    }
}

/* Cutoff system without a usable cell list: all pairs, minimum image. */
static double cutoff_all_pairs(const hrf_psystem *s, const double *q, double *f) {
    const size_t N = s->N;
    const int D = s->D;
    const double L = s->box, rc = s->cutoff;
    double U = 0.0;
    for (size_t i = 0; i < N; i++) {
        double fi[3] = {0, 0, 0}, ei = 0.0;
        for (size_t j = 0; j < N; j++) {
            if (j == i) continue;
            double d[3], r2 = 0.0;
            for (int a = 0; a < D; a++) {
                d[a] = hrf_nbr_min_image(q[i * D + a] - q[j * D + a], L);
                r2 += d[a] * d[a];
            }
            if (!(r2 < rc * rc)) continue;
            double r = sqrt(r2), dV;
            ei += hrf_pair_eval(&s->v, r, &dV);
            for (int a = 0; a < D; a++)
                fi[a] -= dV / r * d[a];
        }
        if (f)
            for (int a = 0; a < D; a++)
                f[i * D + a] = fi[a];
        U += 0.5 * ei;
    }
    return U;
}

/* U(q) and, if f is not NULL, f = −∂U/∂q (N, D). */
static double potential_forces(const hrf_psystem *s, cell_ws *w, const double *q, double *f) {
    const size_t N = s->N;
    const int D = s->D;
    if (s->box > 0.0) {
        if (!w->nb.nc) return cutoff_all_pairs(s, q, f);
        hrf_nbr_build(&w->nb, q, w->fx);
        lj_cells(s, w);
        double U = 0.0;
        for (size_t k = 0; k < N; k++)
            U += w->e[k];
        if (f)
            for (size_t k = 0; k < N; k++) {
                size_t i = w->nb.order[k];
                f[3 * i] = w->fx[k], f[3 * i + 1] = w->fy[k], f[3 * i + 2] = w->fz[k];
            }
        return U;
    }
    if (f) memset(f, 0, N * (size_t)D * sizeof *f);
    double U = 0.0;
    for (size_t b = 0; b < s->n_bonds; b++) {
        const size_t i = s->bonds[2 * b], j = s->bonds[2 * b + 1];
        double d[3], r2 = 0.0, dV;
        for (int a = 0; a < D; a++) {
            d[a] = q[i * D + a] - q[j * D + a];
            r2 += d[a] * d[a];
        }
        const double r = sqrt(r2);
        U += hrf_pair_eval(&s->v, r, &dV);
        /* At r = 0 the direction is undefined; V'(0)·(d/r) has no limit. */
        if (f && r > 0.0)
            for (int a = 0; a < D; a++) {
                double fa = -dV / r * d[a];
                f[i * D + a] += fa;
                f[j * D + a] -= fa;
            }
    }
    return U;
}

static double kinetic(const hrf_psystem *s, const double *p) {
    const int D = s->D;
    double T = 0.0;
    for (size_t i = 0; i < s->N; i++) {
        double p2 = 0.0;
        for (int a = 0; a < D; a++)
            p2 += p[i * D + a] * p[i * D + a];
        T += 0.5 * p2 / s->mass[i];
    }
    return T;
}

int hrf_psystem_eval(const hrf_psystem *s, const double *q, const double *p, double *H,
                     double *dqdt, double *dpdt) {
    cell_ws *w = NULL;
    int rc = ws_new(s, &w);
    if (rc) return rc;
    const int D = s->D;
    double U = potential_forces(s, w, q, dpdt);
    ws_free(w);
    if (H) *H = kinetic(s, p) + U;
    if (dqdt)
        for (size_t i = 0; i < s->N; i++)
            for (int a = 0; a < D; a++)
                dqdt[i * D + a] = p[i * D + a] / s->mass[i];
    return HRF_OK;
}

/* ------------------------------------------------------------------------ */
/* pairs                                                                    */
/* ------------------------------------------------------------------------ */

/* The partners j > i of the particle in slot k closer than rc; writes the
 * pairs (i, j) to out (when not NULL), returns their number. Vectorised as
 * lj_cells, the order array being padded as the positions are. */
static size_t partners(const hrf_nbr *nb, size_t k, const hrf_nbr_range *rg, int nr, double rc2,
                       uint32_t *out) {
    const uint32_t i = nb->order[k], *O = nb->order;
    const double *X = nb->x[0], *Y = nb->x[1], *Z = nb->x[2];
    size_t cnt = 0;
#if defined(__GNUC__)
    const v4d xi = BCAST(X[k]), yi = BCAST(Y[k]), zi = BCAST(Z[k]), rc2v = BCAST(rc2);
    const v4l iv = {i, i, i, i};
    for (int b = 0; b < nr; b++) {
        const v4d sx = BCAST(rg[b].sh[0]), sy = BCAST(rg[b].sh[1]), sz = BCAST(rg[b].sh[2]);
        const long long m1 = (long long)rg[b].m1;
        const v4l m1v = {m1, m1, m1, m1};
        v4l mv = {(long long)rg[b].m0, (long long)rg[b].m0 + 1, (long long)rg[b].m0 + 2,
                  (long long)rg[b].m0 + 3};
        for (size_t m = rg[b].m0; m < rg[b].m1; m += 4, mv += 4) {
            const v4d dx = (xi - load4(X + m)) - sx, dy = (yi - load4(Y + m)) - sy,
                      dz = (zi - load4(Z + m)) - sz;
            const v4l om = {O[m], O[m + 1], O[m + 2], O[m + 3]};
            const v4l in = ((dx * dx + dy * dy + dz * dz) < rc2v) & (om > iv) & (mv < m1v);
            if (!out) {
                cnt -= (size_t)(in[0] + in[1] + in[2] + in[3]);
                continue;
            }
            for (int l = 0; l < 4; l++)
                if (in[l]) out[2 * cnt] = i, out[2 * cnt + 1] = (uint32_t)om[l], cnt++;
        }
    }
#else
    for (int b = 0; b < nr; b++)
        for (size_t m = rg[b].m0; m < rg[b].m1; m++) {
            if (O[m] <= i) continue;
            double dx = (X[k] - X[m]) - rg[b].sh[0], dy = (Y[k] - Y[m]) - rg[b].sh[1],
                   dz = (Z[k] - Z[m]) - rg[b].sh[2];
            if (dx * dx + dy * dy + dz * dz < rc2) {
                if (out) out[2 * cnt] = i, out[2 * cnt + 1] = O[m];
                cnt++;
            }
        }
#endif
    return cnt;
}

int hrf_psystem_pairs(const hrf_psystem *s, const double *q, uint32_t **pairs, size_t *n_pairs) {
    *pairs = NULL, *n_pairs = 0;
    const size_t N = s->N;
    if (!(s->box > 0.0)) {
        uint32_t *b = malloc((s->n_bonds ? 2 * s->n_bonds : 1) * sizeof *b);
        if (!b) return hrf_error(HRF_ENOMEM, "out of memory for %zu bonds", s->n_bonds);
        memcpy(b, s->bonds, 2 * s->n_bonds * sizeof *b);
        *pairs = b, *n_pairs = s->n_bonds;
        return HRF_OK;
    }
    cell_ws *w = NULL;
    int rc = ws_new(s, &w);
    if (rc) return rc;
    const double L = s->box, rc2 = s->cutoff * s->cutoff;
    /* Partners j > i of each i, listed per i: counts, offsets, then fill. */
    size_t *off = calloc(N + 1, sizeof *off);
    uint32_t *out = NULL;
    if (!off) {
        ws_free(w);
        return hrf_error(HRF_ENOMEM, "out of memory");
    }
    const hrf_nbr *nb = &w->nb;
    if (nb->nc) hrf_nbr_build(&w->nb, q, w->fx);
    for (int pass = 0; pass < 2; pass++) {
        if (nb->nc) {
            const long ncells = (long)nb->ncells;
#pragma omp parallel for schedule(static) if (N >= PAR_MIN)
            for (long c = 0; c < ncells; c++) {
                hrf_nbr_range rg[HRF_NBR_MAX_RANGES];
                const int nr = hrf_nbr_ranges(nb, (size_t)c, rg);
                for (size_t k = nb->start[c]; k < nb->start[c + 1]; k++) {
                    const uint32_t i = nb->order[k];
                    size_t cnt = partners(nb, k, rg, nr, rc2, pass ? out + 2 * off[i] : NULL);
                    if (!pass) off[i + 1] = cnt;
                }
            }
        } else {
            const int D = s->D;
            for (size_t i = 0; i < N; i++) {
                size_t cnt = 0;
                for (size_t j = i + 1; j < N; j++) {
                    if (hrf_nbr_dist2(D, q + i * D, q + j * D, L) < rc2) {
                        if (pass) {
                            out[2 * (off[i] + cnt)] = (uint32_t)i;
                            out[2 * (off[i] + cnt) + 1] = (uint32_t)j;
                        }
                        cnt++;
                    }
                }
                if (!pass) off[i + 1] = cnt;
            }
        }
        if (!pass) {
            for (size_t i = 0; i < N; i++)
                off[i + 1] += off[i];
            out = malloc((off[N] ? 2 * off[N] : 1) * sizeof *out);
            if (!out) {
                size_t np = off[N];
                ws_free(w);
                free(off);
                return hrf_error(HRF_ENOMEM, "out of memory for %zu pairs", np);
            }
        }
    }
    /* Canonical order: by i, then j (the cell scan visits j in cell order).
     * Insertion sort: ~30 partners each at liquid densities. */
    const long nl = (long)N;
#pragma omp parallel for schedule(static) if (N >= PAR_MIN)
    for (long i = 0; i < nl; i++) {
        uint32_t *seg = out + 2 * off[i];
        const size_t n = off[i + 1] - off[i];
        for (size_t t = 1; t < n; t++) {
            const uint32_t j = seg[2 * t + 1];
            size_t u = t;
            for (; u > 0 && seg[2 * u - 1] > j; u--)
                seg[2 * u + 1] = seg[2 * u - 1];
            seg[2 * u + 1] = j;
        }
    }
    *n_pairs = off[N];
    *pairs = out;
    free(off);
    ws_free(w);
    return HRF_OK;
}

/* ------------------------------------------------------------------------ */
/* velocity Verlet                                                          */
/* ------------------------------------------------------------------------ */

/* Half kick and drift of particles [i0, i1): p += dt/2 f, q += dt p/m. */
static void kick_drift(const hrf_psystem *s, double *q, double *p, const double *f, double dt,
                       size_t i0, size_t i1) {
    const int D = s->D;
    for (size_t i = i0; i < i1; i++) {
        const double dm = dt / s->mass[i];
        for (int a = 0; a < D; a++) {
            p[i * D + a] += 0.5 * dt * f[i * D + a];
            q[i * D + a] += dm * p[i * D + a];
        }
    }
}

static void verlet_steps(const hrf_psystem *s, cell_ws *w, double *q, double *p, double *f,
                         double dt, size_t steps, double *U) {
    const size_t N = s->N, n = N * (size_t)s->D;
    const long nl = (long)N, nnl = (long)n;
    const double h = 0.5 * dt;
    for (size_t t = 0; t < steps; t++) {
        /* Small systems skip OpenMP altogether: even a parallel region with
         * a false if clause costs more than a 5-particle step. */
        if (N >= PAR_MIN) {
#pragma omp parallel for schedule(static)
            for (long i = 0; i < nl; i++)
                kick_drift(s, q, p, f, dt, (size_t)i, (size_t)i + 1);
        } else {
            kick_drift(s, q, p, f, dt, 0, N);
        }
        *U = potential_forces(s, w, q, f);
        if (N >= PAR_MIN) {
#pragma omp parallel for schedule(static)
            for (long i = 0; i < nnl; i++)
                p[i] += h * f[i];
        } else {
            for (size_t i = 0; i < n; i++)
                p[i] += h * f[i];
        }
    }
}

int hrf_psystem_verlet(const hrf_psystem *s, double *q, double *p, double *f, double dt,
                       size_t steps, double *H) {
    if (!isfinite(dt) || dt == 0.0)
        return hrf_error(HRF_EINVAL, "the time step must be finite and non-zero, got %g", dt);
    cell_ws *w = NULL;
    int rc = ws_new(s, &w);
    if (rc) return rc;
    double U = 0.0;
    if (steps == 0 && H) U = potential_forces(s, w, q, NULL);
    verlet_steps(s, w, q, p, f, dt, steps, &U);
    ws_free(w);
    if (H) *H = kinetic(s, p) + U;
    return HRF_OK;
}

int hrf_psystem_simulate(const hrf_psystem *s, double *q, double *p, double dt, size_t steps) {
    double *f = malloc(s->N * (size_t)s->D * sizeof *f);
    if (!f) return hrf_error(HRF_ENOMEM, "out of memory for %zu particles", s->N);
    int rc = hrf_psystem_eval(s, q, p, NULL, NULL, f);
    if (!rc) rc = hrf_psystem_verlet(s, q, p, f, dt, steps, NULL);
    free(f);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* initial states (MATH.md §6.1)                                            */
/* ------------------------------------------------------------------------ */

/* p_i −= m_i P / M: zero total momentum. */
static void remove_momentum(const hrf_psystem *s, double *p) {
    const int D = s->D;
    double P[3] = {0, 0, 0}, M = 0.0;
    for (size_t i = 0; i < s->N; i++) {
        M += s->mass[i];
        for (int a = 0; a < D; a++)
            P[a] += p[i * D + a];
    }
    for (size_t i = 0; i < s->N; i++)
        for (int a = 0; a < D; a++)
            p[i * D + a] -= s->mass[i] * P[a] / M;
}

static int springs_init(const hrf_psystem *s, const hrf_pdata_params *par, hrf_rng *rng, double *q,
                        double *p) {
    const size_t n = s->N * (size_t)s->D;
    const double A = par->amplitude * s->v.r0;
    for (size_t i = 0; i < n; i++)
        q[i] = s->rest[i] + hrf_rng_uniform_range(rng, -A, A);
    for (size_t i = 0; i < n; i++)
        p[i] = par->p_sigma * hrf_rng_normal(rng);
    remove_momentum(s, p);
    return HRF_OK;
}

static int ring_init(const hrf_psystem *s, const hrf_pdata_params *par, hrf_rng *rng, double *q,
                     double *p) {
    const size_t N = s->N;
    const int D = s->D;
    double vbar[3] = {0, 0, 0};
    for (size_t i = 0; i < N * D; i++)
        q[i] = hrf_rng_uniform_range(rng, 0.0, 2.0);
    for (size_t i = 0; i < N; i++)
        for (int a = 0; a < D; a++) {
            p[i * D + a] = hrf_rng_uniform_range(rng, 0.0, 0.1); /* velocity for now */
            vbar[a] += p[i * D + a] / (double)N;
        }
    for (size_t i = 0; i < N; i++)
        for (int a = 0; a < D; a++)
            p[i * D + a] = s->mass[i] * (p[i * D + a] - vbar[a]);
    return HRF_OK;
}

/* LAMMPS `velocity all create T seed mom yes dist gaussian` does the same
 * three things (Gaussian draw, zero momentum, rescale to exactly T with
 * D(N − 1) degrees of freedom); its random stream differs. */
static int lj_init(const hrf_psystem *s, const hrf_pdata_params *par, hrf_rng *rng, double *q,
                   double *p) {
    const size_t N = s->N;
    const int D = s->D;
    memcpy(q, s->rest, N * D * sizeof *q);
    for (size_t i = 0; i < N; i++)
        for (int a = 0; a < D; a++)
            p[i * D + a] = sqrt(s->mass[i]) * hrf_rng_normal(rng); /* m v, v ~ N(0, 1/m) */
    remove_momentum(s, p);
    double twoK = 2.0 * kinetic(s, p), dof = (double)D * ((double)N - 1.0);
    double scale = twoK > 0.0 && dof > 0.0 ? sqrt(par->temperature * dof / twoK) : 0.0;
    for (size_t i = 0; i < N * D; i++)
        p[i] *= scale;
    return HRF_OK;
}

int hrf_psystem_init_state(const hrf_psystem *s, const hrf_pdata_params *par, hrf_rng *rng,
                           double *q, double *p) {
    if (!s->type->init)
        return hrf_error(HRF_EINVAL,
                         "system '%s' (rebuilt from a file) has no ensemble of initial states",
                         s->type->name);
    const char *msg = hrf_pdata_params_check(par);
    if (msg) return hrf_error(HRF_EINVAL, "%s", msg);
    return s->type->init(s, par, rng, q, p);
}

/* ------------------------------------------------------------------------ */
/* generation parameters                                                    */
/* ------------------------------------------------------------------------ */

void hrf_pdata_params_default(hrf_pdata_params *p) {
    p->trajectories = 1;
    p->snapshots = 10;
    p->every = 10;
    p->dt = 0.0; /* the system's */
    p->temperature = 1.0;
    p->amplitude = 0.1;
    p->p_sigma = 0.1;
    p->seed = 1;
    p->burn_in = 0;
}

void hrf_pdata_params_system_default(const hrf_psystem *s, hrf_pdata_params *p) {
    hrf_pdata_params_default(p);
    p->dt = s->type->dt;
    p->trajectories = s->type->trajectories;
    p->snapshots = s->type->snapshots;
    p->every = s->type->every;
}

const char *hrf_pdata_params_check(const hrf_pdata_params *p) {
    if (p->trajectories == 0) return "the number of trajectories must be >= 1";
    if (p->snapshots == 0) return "the number of snapshots per trajectory must be >= 1";
    if (p->every == 0) return "the number of steps between snapshots must be >= 1";
    if (!(p->dt >= 0.0) || !isfinite(p->dt))
        return "the time step dt must be finite and > 0 (0: the system's default)";
    if (!(p->temperature >= 0.0) || !isfinite(p->temperature))
        return "the temperature must be finite and >= 0";
    if (!(p->amplitude >= 0.0) || !isfinite(p->amplitude))
        return "the displacement amplitude must be finite and >= 0";
    if (!(p->p_sigma >= 0.0) || !isfinite(p->p_sigma))
        return "the momentum standard deviation must be finite and >= 0";
    return NULL;
}

/* ------------------------------------------------------------------------ */
/* the system of a data set                                                 */
/* ------------------------------------------------------------------------ */

static const psys_type *type_by_name(const char *name, int periodic) {
    for (size_t t = 0; name && t < sizeof psys_types / sizeof psys_types[0]; t++)
        if (!strcmp(psys_types[t]->name, name)) {
            int tp = psys_types[t] == &lj_type || psys_types[t] == &periodic_type;
            if (tp == periodic) return psys_types[t];
        }
    return periodic ? &periodic_type : &bonded_type;
}

int hrf_psystem_from_pdata(const hrf_pdata *d, hrf_psystem **out) {
    *out = NULL;
    hrf_pair_potential v;
    const cJSON *pj = cJSON_GetObjectItemCaseSensitive(HRF_META(d), "potential");
    if (!pj)
        return hrf_error(HRF_EDATA, "the data set's meta has no \"potential\": the true system "
                                    "is unknown");
    int rc = hrf_pair_potential_from_json(pj, &v);
    if (rc) return hrf_error_prefix(rc, "meta \"potential\"");
    const cJSON *sj = cJSON_GetObjectItemCaseSensitive(HRF_META(d), "system");
    const char *sname = cJSON_IsString(sj) ? sj->valuestring : NULL;
    const size_t N = d->N;
    const int D = d->D;
    hrf_psystem *s = NULL;
    if (d->box > 0.0) {
        if (v.kind != HRF_PAIR_LJ || D != 3)
            return hrf_error(HRF_EDATA, "a periodic data set needs the lj potential and D = 3");
        if (v.rc != d->cutoff)
            return hrf_error(HRF_EDATA,
                             "meta potential rc = %.17g differs from entry 'cutoff' "
                             "= %.17g",
                             v.rc, d->cutoff);
        if ((rc = periodic_new(type_by_name(sname, 1), N, d->box, &v, &s))) return rc;
        size_t n = fcc_n(N);
        if (n)
            fcc_sites(n, d->box, s->rest);
        else
            memcpy(s->rest, d->q, N * 3 * sizeof *s->rest);
    } else {
        if (v.kind == HRF_PAIR_LJ)
            return hrf_error(HRF_EDATA, "a bonded data set cannot have the lj potential");
        if ((rc = check_size(N, D, d->n_bonds, "bonded system"))) return rc;
        const psys_type *type = type_by_name(sname, 0);
        /* Rebuild the named topology for its rest geometry; keep it only if
         * its bonds are the file's. */
        const cJSON *tj = cJSON_GetObjectItemCaseSensitive(HRF_META(d), "topology");
        const cJSON *shj = cJSON_GetObjectItemCaseSensitive(HRF_META(d), "shape");
        hrf_topology topo;
        size_t shape[3] = {0, 0, 0};
        int ok = type != &bonded_type && cJSON_IsString(tj) &&
                 !hrf_topology_find(tj->valuestring, &topo) && cJSON_IsArray(shj) &&
                 cJSON_GetArraySize(shj) >= 1 && cJSON_GetArraySize(shj) <= 3;
        for (int a = 0; ok && a < cJSON_GetArraySize(shj); a++) {
            const cJSON *x = cJSON_GetArrayItem(shj, a);
            ok = cJSON_IsNumber(x) && x->valuedouble >= 1 && x->valuedouble < 4294967296.0;
            if (ok) shape[a] = (size_t)x->valuedouble;
        }
        if (ok && !hrf_psystem_springs_new(topo, shape, D, &v, d->mass[0], &s)) {
            if (s->N != N || s->n_bonds != d->n_bonds ||
                memcmp(s->bonds, d->bonds, 2 * d->n_bonds * sizeof *s->bonds)) {
                hrf_psystem_free(s);
                s = NULL;
            }
        }
        hrf_clear_error();
        if (!s) {
            s = system_alloc(type == &springs_type || type == &ring_type ? &bonded_type : type, N,
                             D, d->n_bonds, &v);
            if (!s) return hrf_error(HRF_ENOMEM, "out of memory for %zu particles", N);
            memcpy(s->bonds, d->bonds, 2 * d->n_bonds * sizeof *s->bonds);
            memcpy(s->rest, d->q, N * (size_t)D * sizeof *s->rest);
        } else {
            s->type = type;
        }
    }
    memcpy(s->mass, d->mass, N * sizeof *s->mass);
    *out = s;
    return HRF_OK;
}
