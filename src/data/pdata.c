/* Snapshot data sets of particle systems (docs/math.md §10, "Systems"):
 * trajectories from random initial states integrated by velocity Verlet,
 * snapshots (q, p) with exact dq/dt = p/m, dp/dt = −∂U/∂q and H, and their
 * file, kind "particles" (docs/formats.md). */
#include "core/meta.h"
#include "core/sysinfo.h"
#include "systems/particles_impl.h"
#include "hamrf/particles.h"

#include "hamrf/lstsq.h"
#include "core/npz.h"
#include "hamrf/rng.h"
#include "hamrf/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void hrf_pdata_free(hrf_pdata *d) {
    if (!d) return;
    free(d->q), free(d->p), free(d->dqdt), free(d->dpdt), free(d->H), free(d->mass);
    free(d->bonds), free(d->t);
    cJSON_Delete(HRF_META(d));
    free(d);
}

/* Allocates every array of S snapshots of N particles in D dimensions with
 * E bonds (E = 0 and bonded = 0: a periodic system). */
static hrf_pdata *pdata_alloc(size_t S, size_t N, int D, size_t E, int bonded) {
    hrf_pdata *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    const size_t n = S * N * (size_t)D;
    d->S = S, d->N = N, d->D = D, d->n_bonds = E, d->trajectories = 1;
    d->q = malloc(n * sizeof(double)), d->p = malloc(n * sizeof(double));
    d->dqdt = malloc(n * sizeof(double)), d->dpdt = malloc(n * sizeof(double));
    d->H = malloc(S * sizeof(double)), d->t = malloc(S * sizeof(double));
    d->mass = malloc(N * sizeof(double));
    d->bonds = bonded ? malloc((E ? 2 * E : 1) * sizeof *d->bonds) : NULL;
    if (!d->q || !d->p || !d->dqdt || !d->dpdt || !d->H || !d->t || !d->mass ||
        (bonded && !d->bonds)) {
        hrf_pdata_free(d);
        return NULL;
    }
    return d;
}

int hrf_pdata_generate(const hrf_psystem *s, const hrf_pdata_params *par, hrf_pdata **out) {
    *out = NULL;
    const char *msg = hrf_pdata_params_check(par);
    if (msg) return hrf_error(HRF_EINVAL, "%s", msg);
    hrf_pdata_params sd;
    hrf_pdata_params_system_default(s, &sd);
    const double dt = par->dt > 0.0 ? par->dt : sd.dt;
    const size_t N = hrf_psystem_n(s), T = par->trajectories, Sper = par->snapshots;
    const int D = hrf_psystem_dim(s);
    size_t E = 0;
    const uint32_t *bonds = hrf_psystem_bonds(s, &E);
    /* Refuse before allocating: four (S, N, D) arrays, twice (the file
     * writer copies them), plus the state and force of the integration. */
    const double nsnap = (double)T * (double)Sper, nd = (double)N * D;
    const double need = 8.0 * (2.0 * 4.0 * nsnap * nd + 2.0 * 2.0 * nsnap + 4.0 * nd);
    const double avail = (double)hrf_mem_available();
    if (nsnap * nd > 1e15 || (avail > 0.0 && need > avail))
        return hrf_error(HRF_ETOOBIG,
                         "%zu x %zu snapshots of %zu particles need about %.3g GiB, but only "
                         "%.3g GiB are available",
                         T, Sper, N, need / 1073741824.0, avail / 1073741824.0);
    const size_t S = T * Sper, nq = N * (size_t)D;
    hrf_pdata *d = pdata_alloc(S, N, D, E, bonds != NULL);
    double *q = malloc(nq * sizeof *q), *p = malloc(nq * sizeof *p), *f = malloc(nq * sizeof *f);
    if (!d || !q || !p || !f) {
        hrf_pdata_free(d), free(q), free(p), free(f);
        return hrf_error(HRF_ENOMEM, "out of memory for %zu snapshots of %zu particles", S, N);
    }
    d->trajectories = T;
    d->box = hrf_psystem_box(s), d->cutoff = hrf_psystem_cutoff(s);
    memcpy(d->mass, hrf_psystem_masses(s), N * sizeof *d->mass);
    if (bonds) memcpy(d->bonds, bonds, 2 * E * sizeof *d->bonds);
    hrf_rng rng;
    hrf_rng_seed(&rng, par->seed);
    const double *m = d->mass;
    double drift = 0.0; /* max |H(snapshot) − H(start)| / |H(start)| */
    int rc = HRF_OK;
    for (size_t tr = 0; tr < T && !rc; tr++) {
        double H0, H;
        if ((rc = hrf_psystem_init_state(s, par, &rng, q, p))) break;
        if ((rc = hrf_psystem_eval(s, q, p, &H0, NULL, f))) break;
        if (par->burn_in && (rc = hrf_psystem_verlet(s, q, p, f, dt, par->burn_in, NULL))) break;
        for (size_t k = 0; k < Sper; k++) {
            if ((rc = hrf_psystem_verlet(s, q, p, f, dt, par->every, &H))) break;
            if (!isfinite(H)) {
                rc = hrf_error(HRF_EDATA,
                               "trajectory %zu became non-finite before snapshot %zu: the "
                               "time step dt = %g is too large for this system",
                               tr, k, dt);
                break;
            }
            const size_t sn = tr * Sper + k, o = sn * nq;
            memcpy(d->q + o, q, nq * sizeof *q);
            memcpy(d->p + o, p, nq * sizeof *p);
            memcpy(d->dpdt + o, f, nq * sizeof *f);
            for (size_t i = 0; i < N; i++)
                for (int a = 0; a < D; a++)
                    d->dqdt[o + i * D + a] = p[i * D + a] / m[i];
            d->H[sn] = H;
            d->t[sn] = (double)(par->burn_in + (k + 1) * par->every) * dt;
            double rel = fabs(H - H0) / (fabs(H0) > 0.0 ? fabs(H0) : 1.0);
            if (rel > drift) drift = rel;
        }
    }
    free(q), free(p), free(f);
    if (rc) {
        hrf_pdata_free(d);
        return rc;
    }
    cJSON *meta = hrf_psystem_json(s);
    cJSON_AddNumberToObject(meta, "trajectories", (double)T);
    cJSON_AddNumberToObject(meta, "snapshots", (double)Sper);
    cJSON_AddNumberToObject(meta, "every", (double)par->every);
    cJSON_AddNumberToObject(meta, "dt", dt);
    cJSON_AddNumberToObject(meta, "burn_in", (double)par->burn_in);
    cJSON_AddStringToObject(meta, "integrator", "velocity_verlet");
    cJSON_AddNumberToObject(meta, "seed", (double)par->seed);
    const char *name = hrf_psystem_name(s);
    if (!strcmp(name, "lj")) {
        cJSON_AddNumberToObject(meta, "temperature", par->temperature);
    } else if (!strcmp(name, "springs")) {
        cJSON_AddNumberToObject(meta, "amplitude", par->amplitude);
        cJSON_AddNumberToObject(meta, "p_sigma", par->p_sigma);
    }
    cJSON_AddNumberToObject(meta, "max_rel_energy_drift", drift);
    d->meta = hrf_meta_of(meta);
    *out = d;
    return HRF_OK;
}

int hrf_pdata_save(const hrf_pdata *d, const char *path) {
    hrf_npz_writer *w = hrf_npz_writer_new();
    double *b = NULL;
    if (!w) return hrf_error(HRF_ENOMEM, "out of memory");
    hrf_npz_writer_require_finite(w, "particle data set");
    const size_t s3[3] = {d->S, d->N, (size_t)d->D}, s1[1] = {d->S}, sn[1] = {d->N};
    const size_t sb[2] = {d->n_bonds, 2};
    cJSON *meta = HRF_META(d) ? cJSON_Duplicate(HRF_META(d), 1) : cJSON_CreateObject();
    /* The identifying keys always reflect this library's format. */
    cJSON_DeleteItemFromObject(meta, "format");
    cJSON_DeleteItemFromObject(meta, "kind");
    cJSON_DeleteItemFromObject(meta, "version");
    cJSON_DeleteItemFromObject(meta, "trajectories");
    cJSON_AddStringToObject(meta, "format", "hamrf");
    cJSON_AddStringToObject(meta, "kind", "particles");
    cJSON_AddNumberToObject(meta, "version", 1);
    cJSON_AddNumberToObject(meta, "trajectories", (double)(d->trajectories ? d->trajectories : 1));
    int rc = hrf_npz_writer_add(w, "q", 3, s3, d->q);
    if (!rc) rc = hrf_npz_writer_add(w, "p", 3, s3, d->p);
    if (!rc) rc = hrf_npz_writer_add(w, "dqdt", 3, s3, d->dqdt);
    if (!rc) rc = hrf_npz_writer_add(w, "dpdt", 3, s3, d->dpdt);
    if (!rc && d->H) rc = hrf_npz_writer_add(w, "H", 1, s1, d->H); /* absent: unknown */
    if (!rc && d->t) rc = hrf_npz_writer_add(w, "t", 1, s1, d->t);
    if (!rc) rc = hrf_npz_writer_add(w, "mass", 1, sn, d->mass);
    if (!rc && d->bonds) {
        /* float64, like every hamrf array: exact for indices < 2^53 */
        b = malloc((d->n_bonds ? 2 * d->n_bonds : 1) * sizeof *b);
        if (!b) rc = hrf_error(HRF_ENOMEM, "out of memory");
        for (size_t e = 0; !rc && e < 2 * d->n_bonds; e++)
            b[e] = (double)d->bonds[e];
        if (!rc) rc = hrf_npz_writer_add(w, "bonds", 2, sb, b);
    }
    if (!rc && !d->bonds) rc = hrf_npz_writer_add(w, "box", 0, NULL, &d->box);
    if (!rc && !d->bonds) rc = hrf_npz_writer_add(w, "cutoff", 0, NULL, &d->cutoff);
    if (!rc) rc = hrf_npz_writer_set_meta(w, meta);
    if (!rc) rc = hrf_npz_writer_write(w, path);
    free(b);
    cJSON_Delete(meta);
    hrf_npz_writer_free(w);
    return rc;
}

/* Reads `name` with the given shape (0 = any extent) and checks it is finite. */
static int read_finite(hrf_npz *z, const char *path, const char *name, int ndim, size_t *shape,
                       double **out) {
    int rc = hrf_npz_read(z, name, ndim, shape, out);
    if (rc) return rc;
    size_t n = 1;
    for (int a = 0; a < ndim; a++)
        n *= shape[a];
    return hrf_check_finite(path, name, *out, n);
}

int hrf_pdata_load(const char *path, hrf_pdata **out) {
    *out = NULL;
    hrf_npz *z = NULL;
    hrf_pdata *d = calloc(1, sizeof *d);
    double *bonds = NULL, *box = NULL, *cutoff = NULL;
    if (!d) return hrf_error(HRF_ENOMEM, "out of memory");
    int rc = hrf_npz_open(path, &z);
    if (rc) goto fail;
    cJSON *meta = NULL;
    rc = hrf_npz_read_meta(z, "particles", &meta);
    d->meta = hrf_meta_of(meta);
    if (rc) goto fail;
    size_t s3[3] = {0, 0, 0};
    if ((rc = read_finite(z, path, "q", 3, s3, &d->q))) goto fail;
    const size_t S = s3[0], N = s3[1], D = s3[2];
    if (S == 0 || N == 0 || D < 1 || D > 3) {
        rc = hrf_error(HRF_EFORMAT,
                       "%s: entry 'q': expected shape (S, N, D) with S >= 1 snapshots, N >= 1 "
                       "particles and D in 1..3, found (%zu, %zu, %zu)",
                       path, S, N, D);
        goto fail;
    }
    if (N > (size_t)UINT32_MAX) {
        rc = hrf_error(HRF_ETOOBIG, "%s: entry 'q': %zu particles exceed 2^32 - 1", path, N);
        goto fail;
    }
    d->S = S, d->N = N, d->D = (int)D;
    size_t s3b[3] = {S, N, D};
    if ((rc = read_finite(z, path, "p", 3, s3b, &d->p))) goto fail;
    memcpy(s3b, s3, sizeof s3b);
    if ((rc = read_finite(z, path, "dqdt", 3, s3b, &d->dqdt))) goto fail;
    memcpy(s3b, s3, sizeof s3b);
    if ((rc = read_finite(z, path, "dpdt", 3, s3b, &d->dpdt))) goto fail;
    size_t s1[1] = {S};
    /* H is optional (an imported MD file may carry no energies): then NULL */
    if (hrf_npz_has(z, "H") && (rc = read_finite(z, path, "H", 1, s1, &d->H))) goto fail;
    if (hrf_npz_has(z, "t")) {
        s1[0] = S;
        if ((rc = read_finite(z, path, "t", 1, s1, &d->t))) goto fail;
    }
    size_t sn[1] = {N};
    if ((rc = read_finite(z, path, "mass", 1, sn, &d->mass))) goto fail;
    for (size_t i = 0; i < N; i++)
        if (!(d->mass[i] > 0.0)) {
            rc = hrf_error(HRF_EDATA, "%s: entry 'mass': mass %zu is %g (masses must be > 0)", path,
                           i, d->mass[i]);
            goto fail;
        }
    const int has_b = hrf_npz_has(z, "bonds"), has_box = hrf_npz_has(z, "box"),
              has_cut = hrf_npz_has(z, "cutoff");
    if (has_b == (has_box || has_cut) || has_box != has_cut) {
        rc = hrf_error(HRF_EFORMAT,
                       "%s: expected either entry 'bonds' (a bonded system) or entries 'box' "
                       "and 'cutoff' (a periodic system), found%s%s%s",
                       path, has_b ? " 'bonds'" : "", has_box ? " 'box'" : "",
                       has_cut ? " 'cutoff'" : "");
        goto fail;
    }
    if (has_b) {
        size_t sb[2] = {0, 2};
        if ((rc = read_finite(z, path, "bonds", 2, sb, &bonds))) goto fail;
        d->n_bonds = sb[0];
        d->bonds = malloc((sb[0] ? 2 * sb[0] : 1) * sizeof *d->bonds);
        if (!d->bonds) {
            rc = hrf_error(HRF_ENOMEM, "out of memory");
            goto fail;
        }
        for (size_t e = 0; e < sb[0]; e++) {
            double i = bonds[2 * e], j = bonds[2 * e + 1];
            if (!(i >= 0.0 && i == floor(i) && j == floor(j) && i < j && j < (double)N)) {
                rc = hrf_error(HRF_EDATA,
                               "%s: entry 'bonds': bond %zu is (%g, %g); expected integers "
                               "0 <= i < j < N = %zu",
                               path, e, i, j, N);
                goto fail;
            }
            d->bonds[2 * e] = (uint32_t)i, d->bonds[2 * e + 1] = (uint32_t)j;
        }
    } else {
        if ((rc = read_finite(z, path, "box", 0, NULL, &box))) goto fail;
        if ((rc = read_finite(z, path, "cutoff", 0, NULL, &cutoff))) goto fail;
        d->box = *box, d->cutoff = *cutoff;
        if (!(d->box > 0.0) || !(d->cutoff > 0.0) || d->cutoff > 0.5 * d->box) {
            rc = hrf_error(HRF_EDATA,
                           "%s: entries 'box' = %g and 'cutoff' = %g: expected 0 < cutoff <= "
                           "box / 2",
                           path, d->box, d->cutoff);
            goto fail;
        }
    }
    d->trajectories = 1;
    const cJSON *tj = cJSON_GetObjectItemCaseSensitive(HRF_META(d), "trajectories");
    if (tj) {
        double t = cJSON_IsNumber(tj) ? tj->valuedouble : -1.0;
        if (!(t >= 1.0 && t == floor(t) && t <= (double)S && S % (size_t)t == 0)) {
            rc = hrf_error(HRF_EFORMAT,
                           "%s: meta \"trajectories\" must be a positive integer dividing the "
                           "%zu snapshots",
                           path, S);
            goto fail;
        }
        d->trajectories = (size_t)t;
    }
    free(bonds), free(box), free(cutoff);
    hrf_npz_close(z);
    *out = d;
    return HRF_OK;
fail:
    free(bonds), free(box), free(cutoff);
    hrf_pdata_free(d);
    hrf_npz_close(z);
    return rc;
}

/* The checks of hrf_pdata_from_arrays that do not need the copy. */
static int check_arrays(size_t S, size_t N, int D, const double *mass, const uint32_t *bonds,
                        size_t n_bonds, double box, double cutoff) {
    if (S == 0 || N == 0)
        return hrf_error(HRF_EDATA, "the data set is empty (S = %zu, N = %zu)", S, N);
    if (D < 1 || D > 3) return hrf_error(HRF_EDATA, "the dimension D must be 1, 2 or 3, got %d", D);
    if (N > (size_t)UINT32_MAX) return hrf_error(HRF_ETOOBIG, "%zu particles exceed 2^32 - 1", N);
    if (mass)
        for (size_t i = 0; i < N; i++)
            if (!(mass[i] > 0.0) || !isfinite(mass[i]))
                return hrf_error(HRF_EDATA, "mass %zu is %g (masses must be finite and > 0)", i,
                                 mass[i]);
    if ((bonds != NULL) == (box > 0.0))
        return hrf_error(HRF_EINVAL, "give either bonds (a bonded system) or a periodic box "
                                     "side and a cutoff, not both or neither");
    for (size_t e = 0; bonds && e < n_bonds; e++)
        if (!(bonds[2 * e] < bonds[2 * e + 1] && bonds[2 * e + 1] < N))
            return hrf_error(HRF_EDATA, "bond %zu is (%u, %u); expected 0 <= i < j < N = %zu", e,
                             bonds[2 * e], bonds[2 * e + 1], N);
    if (!bonds && !(isfinite(box) && isfinite(cutoff) && cutoff > 0.0 && 2.0 * cutoff <= box))
        return hrf_error(HRF_EDATA,
                         "a periodic system needs a finite cutoff > 0 and a box of at least "
                         "twice the cutoff (box %g, cutoff %g)",
                         box, cutoff);
    double need = 8.0 * (double)S * (double)N * (double)D * 4.0 + 8.0 * (double)N * 2.0;
    double avail = (double)hrf_mem_available();
    if (avail > 0.0 && need > avail)
        return hrf_error(HRF_ETOOBIG,
                         "%zu snapshots of %zu particles need %.3g GiB, but only "
                         "%.3g GiB are available",
                         S, N, need / 1073741824.0, avail / 1073741824.0);
    return HRF_OK;
}

int hrf_pdata_from_arrays(size_t S, size_t N, int D, const double *q, const double *p,
                          const double *dqdt, const double *dpdt, const double *H,
                          const double *mass, const uint32_t *bonds, size_t n_bonds, double box,
                          double cutoff, hrf_pdata **out) {
    *out = NULL;
    if (!q || !p || !dqdt || !dpdt)
        return hrf_error(HRF_EINVAL, "q, p, dqdt and dpdt are required");
    int rc = check_arrays(S, N, D, mass, bonds, n_bonds, box, cutoff);
    if (rc) return rc;
    const size_t n = S * N * (size_t)D;
    if ((rc = hrf_check_finite("the data set", "q", q, n)) ||
        (rc = hrf_check_finite("the data set", "p", p, n)) ||
        (rc = hrf_check_finite("the data set", "dqdt", dqdt, n)) ||
        (rc = hrf_check_finite("the data set", "dpdt", dpdt, n)) ||
        (H && (rc = hrf_check_finite("the data set", "H", H, S))))
        return rc;
    hrf_pdata *d = calloc(1, sizeof *d);
    if (!d) return hrf_error(HRF_ENOMEM, "out of memory");
    d->S = S, d->N = N, d->D = D, d->trajectories = 1;
    d->q = malloc(n * sizeof(double)), d->p = malloc(n * sizeof(double));
    d->dqdt = malloc(n * sizeof(double)), d->dpdt = malloc(n * sizeof(double));
    d->H = H ? malloc(S * sizeof(double)) : NULL;
    d->mass = malloc(N * sizeof(double));
    d->bonds = bonds ? malloc((n_bonds ? 2 * n_bonds : 1) * sizeof *d->bonds) : NULL;
    if (!d->q || !d->p || !d->dqdt || !d->dpdt || (H && !d->H) || !d->mass ||
        (bonds && !d->bonds)) {
        hrf_pdata_free(d);
        return hrf_error(HRF_ENOMEM, "out of memory for %zu snapshots of %zu particles", S, N);
    }
    memcpy(d->q, q, n * sizeof(double)), memcpy(d->p, p, n * sizeof(double));
    memcpy(d->dqdt, dqdt, n * sizeof(double)), memcpy(d->dpdt, dpdt, n * sizeof(double));
    if (H) memcpy(d->H, H, S * sizeof(double));
    for (size_t i = 0; i < N; i++)
        d->mass[i] = mass ? mass[i] : 1.0;
    if (bonds) {
        memcpy(d->bonds, bonds, 2 * n_bonds * sizeof *d->bonds);
        d->n_bonds = n_bonds;
    } else {
        d->box = box, d->cutoff = cutoff;
    }
    *out = d;
    return HRF_OK;
}
