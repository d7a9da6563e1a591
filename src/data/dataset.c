/* Box data sets of a built-in system (docs/math.md §6) and their files. */
#include "core/meta.h"
#include "core/sysinfo.h"
#include "hamrf/dataset.h"
#include "hamrf/field.h"
#include "hamrf/integrators.h"
#include "hamrf/lstsq.h"
#include "core/npz.h"
#include "hamrf/rng.h"
#include "hamrf/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void hrf_generate_params_default(hrf_generate_params *p) {
    p->n = 10000;
    p->seed = 1;
    p->q_lo = p->q_hi = p->p_lo = p->p_hi = NAN;
    p->noise = 0.0;
}

const char *hrf_generate_params_check(const hrf_generate_params *p) {
    if (p->n == 0) return "the number of points must be positive";
    if (!(p->noise >= 0.0) || !isfinite(p->noise)) return "noise must be a finite value >= 0";
    if (!isnan(p->q_lo) && !(isfinite(p->q_lo) && isfinite(p->q_hi) && p->q_lo < p->q_hi))
        return "the q range must be two finite numbers LO,HI with LO < HI";
    if (!isnan(p->p_lo) && !(isfinite(p->p_lo) && isfinite(p->p_hi) && p->p_lo < p->p_hi))
        return "the p range must be two finite numbers LO,HI with LO < HI";
    return NULL;
}

void hrf_dataset_free(hrf_dataset *d) {
    if (!d) return;
    free(d->x), free(d->dxdt), free(d->H), free(d->x0), free(d->box_lo), free(d->box_hi),
        free(d->x1);
    cJSON_Delete(HRF_META(d));
    free(d);
}

static hrf_dataset *dataset_alloc(size_t n, size_t dim, int with_H) {
    hrf_dataset *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    d->n = n, d->dim = dim;
    d->x = malloc(n * dim * sizeof(double));
    d->dxdt = malloc(n * dim * sizeof(double));
    d->H = with_H ? malloc(n * sizeof(double)) : NULL;
    d->x0 = calloc(dim, sizeof(double));
    d->box_lo = malloc(dim * sizeof(double));
    d->box_hi = malloc(dim * sizeof(double));
    if (!d->x || !d->dxdt || (with_H && !d->H) || !d->x0 || !d->box_lo || !d->box_hi) {
        hrf_dataset_free(d);
        return NULL;
    }
    return d;
}

int hrf_dataset_generate(const hrf_system *sys, const hrf_generate_params *p, hrf_dataset **out) {
    *out = NULL;
    const char *msg = hrf_generate_params_check(p);
    if (msg) return hrf_error(HRF_EINVAL, "%s", msg);
    const hrf_system_type *t = sys->type;
    size_t d = (size_t)t->dof, dim = 2 * d;
    /* Refuse before allocating: x, dxdt, H plus the file buffer while saving. */
    double need = 8.0 * (double)p->n * (double)(4 * dim + 2);
    double avail = (double)hrf_mem_available();
    if (p->n > ((size_t)1 << 40) || (avail > 0.0 && need > avail))
        return hrf_error(HRF_ETOOBIG,
                         "%zu points of system '%s' need about %.3g GiB, but only "
                         "%.3g GiB are available",
                         p->n, t->name, need / 1073741824.0, avail / 1073741824.0);
    hrf_dataset *ds = dataset_alloc(p->n, dim, 1);
    if (!ds) return hrf_error(HRF_ENOMEM, "out of memory for %zu points", p->n);
    double qlo = isnan(p->q_lo) ? t->q_lo : p->q_lo, qhi = isnan(p->q_lo) ? t->q_hi : p->q_hi;
    double plo = isnan(p->p_lo) ? t->p_lo : p->p_lo, phi = isnan(p->p_lo) ? t->p_hi : p->p_hi;
    for (size_t a = 0; a < dim; a++) {
        ds->box_lo[a] = a < d ? qlo : plo;
        ds->box_hi[a] = a < d ? qhi : phi;
    }
    hrf_rng rng;
    hrf_rng_seed(&rng, p->seed);
    for (size_t i = 0; i < p->n; i++)
        for (size_t a = 0; a < dim; a++)
            ds->x[i * dim + a] = hrf_rng_uniform_range(&rng, ds->box_lo[a], ds->box_hi[a]);
    hrf_system_eval(sys, p->n, ds->x, ds->H, NULL);
    hrf_system_vector_field(sys, p->n, ds->x, ds->dxdt);
    if (p->noise > 0.0)
        for (size_t i = 0; i < p->n * dim; i++)
            ds->dxdt[i] += p->noise * hrf_rng_normal(&rng);
    /* Anchor: x0 = 0, H0 = H(0) (docs/math.md §4.1). */
    hrf_system_eval(sys, 1, ds->x0, &ds->H0, NULL);
    for (size_t i = 0; i < p->n; i++) {
        if (!isfinite(ds->H[i])) {
            hrf_dataset_free(ds);
            return hrf_error(HRF_EDATA,
                             "system '%s' has a non-finite energy at a point of the box "
                             "(point %zu); choose a smaller box or other parameters",
                             t->name, i);
        }
    }
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "system", t->name);
    cJSON *params = cJSON_AddObjectToObject(meta, "params");
    for (int k = 0; k < t->nparams; k++)
        cJSON_AddNumberToObject(params, t->param_names[k], sys->params[k]);
    cJSON_AddNumberToObject(meta, "dof", (double)d);
    cJSON_AddItemToObject(meta, "box_lo", cJSON_CreateDoubleArray(ds->box_lo, (int)dim));
    cJSON_AddItemToObject(meta, "box_hi", cJSON_CreateDoubleArray(ds->box_hi, (int)dim));
    cJSON_AddNumberToObject(meta, "n", (double)p->n);
    cJSON_AddNumberToObject(meta, "seed", (double)p->seed);
    cJSON_AddNumberToObject(meta, "noise", p->noise);
    ds->meta = hrf_meta_of(meta);
    *out = ds;
    return HRF_OK;
}

int hrf_dataset_generate_pairs(const hrf_system *sys, const hrf_generate_params *p, double h,
                               double tol, hrf_dataset **out) {
    *out = NULL;
    if (!isfinite(h) || h == 0.0)
        return hrf_error(HRF_EINVAL, "the pair step h must be finite and non-zero, got %g", h);
    if (!(tol >= 0.0) || !isfinite(tol))
        return hrf_error(HRF_EINVAL, "the flow tolerance must be finite and >= 0, got %g", tol);
    if (tol == 0.0) tol = 1e-13;
    hrf_dataset *ds = NULL;
    int rc = hrf_dataset_generate(sys, p, &ds);
    if (rc) return rc;
    const size_t n = ds->n, dim = ds->dim;
    ds->x1 = malloc(n * dim * sizeof *ds->x1);
    if (!ds->x1) {
        hrf_dataset_free(ds);
        return hrf_error(HRF_ENOMEM, "out of memory for %zu pairs", n);
    }
    memcpy(ds->x1, ds->x, n * dim * sizeof *ds->x1);
    ds->h = h;
    hrf_field f;
    hrf_field_from_system(&f, sys);
    hrf_integrator_params ip;
    hrf_integrator_params_default(&ip);
    ip.rtol = ip.atol = tol;
    hrf_integrator *it = NULL;
    if ((rc = hrf_integrator_new(&hrf_integrator_rk45, &f, 1, &ip, &it))) {
        hrf_dataset_free(ds);
        return rc;
    }
    /* One pair at a time: the step-size control then sees only that pair, so
     * each Φ_h(x) is independent of the rest of the set. The first trial step
     * is h/8: the controller shrinks or grows it as needed. */
    for (size_t i = 0; i < n && !rc; i++) {
        rc = hrf_integrator_advance(it, h / 8.0, 8, 1, ds->x1 + i * dim, NULL);
        if (rc) rc = hrf_error_prefix(rc, "flow of pair %zu", i);
    }
    hrf_integrator_free(it);
    if (rc) {
        hrf_dataset_free(ds);
        return rc;
    }
    cJSON_AddBoolToObject(HRF_META(ds), "pairs", 1);
    cJSON_AddNumberToObject(HRF_META(ds), "h", h);
    cJSON_AddNumberToObject(HRF_META(ds), "flow_tol", tol);
    *out = ds;
    return HRF_OK;
}

int hrf_dataset_pairs_targets(const hrf_dataset *pairs, hrf_dataset **out) {
    *out = NULL;
    if (!pairs->x1)
        return hrf_error(HRF_EINVAL, "the data set has no trajectory pairs (no entry x1)");
    const size_t n = pairs->n, dim = pairs->dim, d = dim / 2;
    hrf_dataset *ds = dataset_alloc(n, dim, 0);
    if (!ds) return hrf_error(HRF_ENOMEM, "out of memory for %zu pairs", n);
    const double h = pairs->h;
    for (size_t i = 0; i < n; i++) {
        const double *x = pairs->x + i * dim, *x1 = pairs->x1 + i * dim;
        double *y = ds->x + i * dim, *v = ds->dxdt + i * dim;
        for (size_t a = 0; a < d; a++) {
            y[a] = x1[a];        /* q1 */
            y[d + a] = x[d + a]; /* p0 */
        }
        for (size_t a = 0; a < dim; a++)
            v[a] = (x1[a] - x[a]) / h;
    }
    memcpy(ds->x0, pairs->x0, dim * sizeof *ds->x0);
    ds->H0 = pairs->H0;
    /* The pairs' description, so that a model fitted on this view records
     * where its targets came from (system, params, "pairs": true, "h"). */
    if (HRF_META(pairs)) {
        if (!(ds->meta = hrf_meta_of(cJSON_Duplicate(HRF_META(pairs), 1)))) {
            hrf_dataset_free(ds);
            return hrf_error(HRF_ENOMEM, "out of memory");
        }
        cJSON_DeleteItemFromObjectCaseSensitive(HRF_META(ds), "pairs");
        cJSON_DeleteItemFromObjectCaseSensitive(HRF_META(ds), "h");
        cJSON_AddBoolToObject(HRF_META(ds), "pairs", 1);
        cJSON_AddNumberToObject(HRF_META(ds), "h", h);
    }
    if (pairs->box_lo) {
        memcpy(ds->box_lo, pairs->box_lo, dim * sizeof(double));
        memcpy(ds->box_hi, pairs->box_hi, dim * sizeof(double));
    } else {
        free(ds->box_lo), free(ds->box_hi);
        ds->box_lo = ds->box_hi = NULL;
    }
    *out = ds;
    return HRF_OK;
}

int hrf_dataset_save(const hrf_dataset *d, const char *path) {
    hrf_npz_writer *w = hrf_npz_writer_new();
    if (!w) return hrf_error(HRF_ENOMEM, "out of memory");
    hrf_npz_writer_require_finite(w, "data set");
    size_t s2[2] = {d->n, d->dim}, s1[1] = {d->n}, sd[1] = {d->dim};
    cJSON *meta = HRF_META(d) ? cJSON_Duplicate(HRF_META(d), 1) : cJSON_CreateObject();
    /* The identifying keys always reflect this library's format. */
    cJSON_DeleteItemFromObject(meta, "format");
    cJSON_DeleteItemFromObject(meta, "kind");
    cJSON_DeleteItemFromObject(meta, "version");
    cJSON_AddStringToObject(meta, "format", "hamrf");
    cJSON_AddStringToObject(meta, "kind", "dataset");
    cJSON_AddNumberToObject(meta, "version", 1);
    if (!cJSON_HasObjectItem(meta, "box_lo") && d->box_lo) {
        cJSON_AddItemToObject(meta, "box_lo", cJSON_CreateDoubleArray(d->box_lo, (int)d->dim));
        cJSON_AddItemToObject(meta, "box_hi", cJSON_CreateDoubleArray(d->box_hi, (int)d->dim));
    }
    int rc = hrf_npz_writer_add(w, "x", 2, s2, d->x);
    if (!rc) rc = hrf_npz_writer_add(w, "dxdt", 2, s2, d->dxdt);
    if (!rc && d->H) rc = hrf_npz_writer_add(w, "H", 1, s1, d->H);
    if (!rc && d->x1) rc = hrf_npz_writer_add(w, "x1", 2, s2, d->x1);
    if (!rc) rc = hrf_npz_writer_add(w, "x0", 1, sd, d->x0);
    if (!rc) rc = hrf_npz_writer_add(w, "H0", 0, NULL, &d->H0);
    if (!rc) rc = hrf_npz_writer_set_meta(w, meta);
    if (!rc) rc = hrf_npz_writer_write(w, path);
    cJSON_Delete(meta);
    hrf_npz_writer_free(w);
    return rc;
}

int hrf_dataset_load(const char *path, hrf_dataset **out) {
    *out = NULL;
    hrf_npz *z = NULL;
    cJSON *meta = NULL;
    double *x = NULL, *dxdt = NULL, *H = NULL, *x0 = NULL, *H0 = NULL, *x1 = NULL;
    double h = 0.0;
    int rc = hrf_npz_open(path, &z);
    if (rc) return rc;
    if ((rc = hrf_npz_read_meta(z, "dataset", &meta))) goto fail;
    size_t sx[2] = {0, 0};
    if ((rc = hrf_npz_read(z, "x", 2, sx, &x))) goto fail;
    size_t n = sx[0], dim = sx[1];
    if (n == 0) {
        rc = hrf_error(HRF_EDATA, "%s: entry 'x': the data set is empty (0 points)", path);
        goto fail;
    }
    if (dim == 0 || dim % 2) {
        rc = hrf_error(HRF_EFORMAT,
                       "%s: entry 'x': expected shape (n, 2d) with an even, positive "
                       "second extent, found (%zu, %zu)",
                       path, n, dim);
        goto fail;
    }
    size_t sd[2] = {n, dim};
    if ((rc = hrf_npz_read(z, "dxdt", 2, sd, &dxdt))) goto fail;
    if (hrf_npz_has(z, "H")) {
        size_t sh[1] = {n};
        if ((rc = hrf_npz_read(z, "H", 1, sh, &H))) goto fail;
    }
    if (hrf_npz_has(z, "x1")) {
        size_t s1[2] = {n, dim};
        if ((rc = hrf_npz_read(z, "x1", 2, s1, &x1))) goto fail;
        if ((rc = hrf_check_finite(path, "x1", x1, n * dim))) goto fail;
        const cJSON *hj = cJSON_GetObjectItemCaseSensitive(meta, "h");
        if (!cJSON_IsNumber(hj) || !isfinite(hj->valuedouble) || hj->valuedouble == 0.0) {
            rc = hrf_error(HRF_EFORMAT,
                           "%s: meta: trajectory pairs (entry x1) need \"h\": the "
                           "finite, non-zero time step between x and x1",
                           path);
            goto fail;
        }
        h = hj->valuedouble;
    }
    size_t s0[1] = {dim};
    if ((rc = hrf_npz_read(z, "x0", 1, s0, &x0))) goto fail;
    if ((rc = hrf_npz_read(z, "H0", 0, NULL, &H0))) goto fail;
    if ((rc = hrf_check_finite(path, "x", x, n * dim))) goto fail;
    if ((rc = hrf_check_finite(path, "dxdt", dxdt, n * dim))) goto fail;
    if (H && (rc = hrf_check_finite(path, "H", H, n))) goto fail;
    if ((rc = hrf_check_finite(path, "x0", x0, dim))) goto fail;
    if ((rc = hrf_check_finite(path, "H0", H0, 1))) goto fail;
    hrf_dataset *d = calloc(1, sizeof *d);
    double *lo = malloc(dim * sizeof *lo), *hi = malloc(dim * sizeof *hi);
    if (!d || !lo || !hi) {
        free(d), free(lo), free(hi);
        rc = hrf_error(HRF_ENOMEM, "out of memory");
        goto fail;
    }
    d->n = n, d->dim = dim, d->x = x, d->dxdt = dxdt, d->H = H, d->x0 = x0, d->H0 = *H0;
    d->x1 = x1, d->h = h;
    free(H0);
    if (hrf_json_numbers(meta, "box_lo", dim, lo) && hrf_json_numbers(meta, "box_hi", dim, hi)) {
        d->box_lo = lo, d->box_hi = hi;
    } else {
        free(lo), free(hi);
    }
    d->meta = hrf_meta_of(meta);
    hrf_npz_close(z);
    *out = d;
    return HRF_OK;
fail:
    free(x), free(dxdt), free(H), free(x0), free(H0), free(x1);
    cJSON_Delete(meta);
    hrf_npz_close(z);
    return rc;
}

void hrf_dataset_gradient_targets(const hrf_dataset *d, double *g) {
    size_t dim = d->dim, half = dim / 2;
    for (size_t i = 0; i < d->n; i++) {
        const double *v = d->dxdt + i * dim;
        double *gi = g + i * dim;
        for (size_t a = 0; a < half; a++) {
            gi[a] = -v[half + a]; /* ∂H/∂q = −dp/dt */
            gi[half + a] = v[a];  /* ∂H/∂p =  dq/dt */
        }
    }
}

int hrf_dataset_from_arrays(size_t n, size_t dim, const double *x, const double *dxdt,
                            const double *H, const double *x0, double H0, hrf_dataset **out) {
    *out = NULL;
    if (n == 0) return hrf_error(HRF_EDATA, "the data set is empty (0 points)");
    if (dim == 0 || dim % 2)
        return hrf_error(HRF_EDATA,
                         "the state dimension must be even and positive (q and p), "
                         "got %zu",
                         dim);
    if (!x || !dxdt) return hrf_error(HRF_EINVAL, "x and dxdt are required");
    /* 3 arrays of n x dim doubles at most: refuse before any size overflows. */
    if (n > SIZE_MAX / 8 / 3 / dim || (double)n * (double)dim * 24.0 > 0.9 * (double)SIZE_MAX)
        return hrf_error(HRF_ETOOBIG, "%zu points of dimension %zu are beyond what fits in memory",
                         n, dim);
    double need = 8.0 * (double)n * (2.0 * (double)dim + 1.0), avail = (double)hrf_mem_available();
    if (avail > 0.0 && need > avail)
        return hrf_error(HRF_ETOOBIG,
                         "%zu points of dimension %zu need %.3g GiB, but only %.3g GiB are "
                         "available",
                         n, dim, need / 1073741824.0, avail / 1073741824.0);
    int rc;
    if ((rc = hrf_check_finite("the data set", "x", x, n * dim)) ||
        (rc = hrf_check_finite("the data set", "dxdt", dxdt, n * dim)) ||
        (H && (rc = hrf_check_finite("the data set", "H", H, n))) ||
        (x0 && (rc = hrf_check_finite("the data set", "x0", x0, dim))))
        return rc;
    if (!isfinite(H0)) return hrf_error(HRF_EDATA, "the data set: H0 is not finite");
    hrf_dataset *d = dataset_alloc(n, dim, H != NULL);
    if (!d) return hrf_error(HRF_ENOMEM, "out of memory for %zu points", n);
    free(d->box_lo), free(d->box_hi);
    d->box_lo = d->box_hi = NULL; /* unknown: the ELM range comes from the points */
    memcpy(d->x, x, n * dim * sizeof *x);
    memcpy(d->dxdt, dxdt, n * dim * sizeof *dxdt);
    if (H) memcpy(d->H, H, n * sizeof *H);
    if (x0) memcpy(d->x0, x0, dim * sizeof *x0);
    d->H0 = H0;
    *out = d;
    return HRF_OK;
}
