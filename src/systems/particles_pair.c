/* Pair potentials V(r) of the particle systems (docs/math.md §10): harmonic,
 * anharmonic, Morse and cut-and-shifted Lennard-Jones, a const table of kinds
 * with their parameters settable by name; their JSON form in data-set meta;
 * the names of the spring-graph topologies. */
#include "systems/particles_impl.h"

#include "hamrf/status.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

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

static double lj_eval(const hrf_pair_potential *v, double r, double *dVdr) {
    if (!(r < v->rc)) {
        if (dVdr) *dVdr = 0.0;
        return 0.0;
    }
    const double s2 = (v->sigma / r) * (v->sigma / r), s6 = s2 * s2 * s2;
    if (dVdr) *dVdr = -24.0 * v->eps * (2.0 * s6 * s6 - s6) / r;
    return 4.0 * v->eps * (s6 * s6 - s6) - psys_lj_raw(v->eps, v->sigma, v->rc);
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
