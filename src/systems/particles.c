/* Particle systems of docs/math.md §10: mass–spring graphs (chain, ring,
 * square and cubic lattices), the benchmark ring of Thangamuthu et al. and
 * Lennard-Jones in a periodic cubic box with the minimum-image convention;
 * their construction, accessors and meta description, and the system of a
 * data set.
 *
 *   H = Σ_i |p_i|²/(2 m_i) + Σ_{pairs (i,j)} V(r_ij),
 *   dq_i/dt = p_i / m_i,  dp_i/dt = −∂U/∂q_i = −Σ_j V'(r_ij) (q_i − q_j) / r_ij.
 *
 * Pair potentials are a const table (particles_pair.c), and so are the system
 * kinds (their ensembles of initial states and generation defaults, below).
 * The other parts: forces, neighbour pairs and velocity Verlet in
 * particles_forces.c, initial states and generation parameters in
 * particles_init.c; they share src/systems/particles_impl.h. */
#include "core/meta.h"
#include "core/sysinfo.h"
#include "systems/particles_impl.h"
#include "hamrf/particles.h"

#include "hamrf/status.h"
#include "systems/neighbours.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PI 3.14159265358979323846

/* ------------------------------------------------------------------------ */
/* systems                                                                  */
/* ------------------------------------------------------------------------ */

/* The kinds of system (struct psys_type in particles_impl.h): their names,
 * ensembles of initial states (particles_init.c) and generation defaults. */
static const psys_type springs_type = {"springs", 0.01, 1, 10, 10, psys_springs_init};
static const psys_type ring_type = {"benchmark_ring", 1e-3, 100, 100, 100, psys_ring_init};
static const psys_type lj_type = {"lj", 0.005, 1, 10, 10, psys_lj_init};
static const psys_type bonded_type = {"bonded", 0.01, 1, 10, 10, NULL};
static const psys_type periodic_type = {"periodic", 0.005, 1, 10, 10, NULL};
static const psys_type *const psys_types[] = {&springs_type, &ring_type, &lj_type, &bonded_type,
                                              &periodic_type};

void hrf_psystem_free(hrf_psystem *s) {
    if (!s) return;
    psys_md_free(s->md);
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
    atomic_init(&s->md_busy, 0);
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
        /* Only a topology of the file's N particles can be kept: a shape of
         * another particle count is not built at all (a meta "shape" of 10^8
         * in a file of 3 particles would otherwise allocate gigabytes, to be
         * discarded). */
        size_t count = 1;
        for (int a = 0; ok && a < 3; a++)
            if (shape[a] > 1) {
                ok = count <= N / shape[a];
                count *= ok ? shape[a] : 1;
            }
        ok = ok && count == N;
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
