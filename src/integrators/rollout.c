/* Batched rollouts with saved states (hamrf/rollout.h). */
#include "core/sysinfo.h"
#include "hamrf/rollout.h"
#include "integrators/rollout_impl.h"
#include "core/meta.h"

#include "hamrf/lstsq.h"
#include "core/npz.h"
#include "hamrf/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void hrf_rollout_params_default(hrf_rollout_params *p) {
    p->integrator = NULL;
    hrf_integrator_params_default(&p->ip);
    p->dt = 0.01;
    p->steps = 1000;
    p->every = 1;
    p->mem_limit = 0;
}

const char *hrf_rollout_params_check(const hrf_rollout_params *p) {
    if (!(p->dt > 0.0) || !isfinite(p->dt)) return "the time step dt must be a finite number > 0";
    if (p->steps == 0) return "the number of steps must be at least 1";
    if (p->every == 0) return "--every must be at least 1";
    return hrf_integrator_params_check(&p->ip);
}

static size_t saved_times(const hrf_rollout_params *p) {
    return p->steps / p->every + (p->steps % p->every != 0) + 1;
}

double hrf_rollout_bytes(const hrf_rollout_params *p, size_t n, size_t dim) {
    return 8.0 * (double)saved_times(p) * ((double)n * (double)(dim + 1) + 1.0);
}

void hrf_trajectory_free(hrf_trajectory *t) {
    if (!t) return;
    free(t->t), free(t->x), free(t->H);
    free(t);
}

int hrf_rollout_run(const hrf_field *f, const hrf_rollout_params *p, size_t n, const double *x0,
                    hrf_trajectory **out) {
    *out = NULL;
    const char *msg = hrf_rollout_params_check(p);
    if (msg) return hrf_error(HRF_EINVAL, "%s", msg);
    if (n == 0) return hrf_error(HRF_EINVAL, "a rollout needs at least one initial state");
    const size_t dim = f->dim;
    for (size_t i = 0; i < n * dim; i++)
        if (!isfinite(x0[i]))
            return hrf_error(HRF_EDATA, "initial state %zu has a non-finite entry %zu", i / dim,
                             i % dim);
    /* Refuse before allocating. */
    const double need = hrf_rollout_bytes(p, n, dim);
    double limit = (double)p->mem_limit;
    if (limit == 0.0) {
        double avail = (double)hrf_mem_available_blas();
        limit = avail > 0.0 ? 0.5 * avail : 4.0 * 1073741824.0;
    }
    const size_t nt = saved_times(p);
    if (need > limit || p->steps > ((size_t)1 << 52))
        return hrf_error(HRF_ETOOBIG,
                         "the trajectory would keep %zu saved times x %zu states x %zu "
                         "coordinates = %.3g GiB, more than the %.3g GiB allowed; save fewer "
                         "states with a larger --every",
                         nt, n, dim, need / 1073741824.0, limit / 1073741824.0);
    const hrf_integrator_type *type = p->integrator;
    if (!type) type = f->separable ? &hrf_integrator_leapfrog : &hrf_integrator_midpoint;
    hrf_integrator *it = NULL;
    int rc = hrf_integrator_new(type, f, n, &p->ip, &it);
    if (rc) return rc;
    hrf_trajectory *tr = calloc(1, sizeof *tr);
    if (tr) {
        tr->t = malloc(nt * sizeof *tr->t);
        tr->x = malloc(nt * n * dim * sizeof *tr->x);
        tr->H = f->energy ? malloc(nt * n * sizeof *tr->H) : NULL;
    }
    if (!tr || !tr->t || !tr->x || (f->energy && !tr->H)) {
        hrf_trajectory_free(tr);
        hrf_integrator_free(it);
        return hrf_error(HRF_ENOMEM, "out of memory for a trajectory of %.3g GiB",
                         need / 1073741824.0);
    }
    tr->nt = nt, tr->n = n, tr->dim = dim, tr->integrator = type;
    memcpy(tr->x, x0, n * dim * sizeof *tr->x);
    tr->t[0] = 0.0;
    tr->valid = 1;
    double seconds = 0.0;
    for (size_t j = 1; j < nt && !rc; j++) {
        size_t k = p->steps - tr->steps_done < p->every ? p->steps - tr->steps_done : p->every;
        double *x = tr->x + j * n * dim;
        memcpy(x, x - n * dim, n * dim * sizeof *x);
        size_t done = 0;
        double t0 = hrf_now();
        rc = hrf_integrator_advance(it, p->dt, k, n, x, &done);
        seconds += hrf_now() - t0;
        if (rc) {
            /* The message names the step within this interval; restate it
             * for the whole rollout. */
            if (type->adaptive) done = 0; /* rk45 counts its own substeps */
            rc = hrf_error_prefix(rc, "rollout stopped after %zu of %zu steps (t = %.6g)",
                                  tr->steps_done + done, p->steps,
                                  (double)(tr->steps_done + done) * p->dt);
            tr->steps_done += done;
            break;
        }
        tr->steps_done += k;
        tr->t[j] = (double)tr->steps_done * p->dt;
        tr->valid = j + 1;
    }
    tr->seconds = seconds;
    hrf_integrator_stats_get(it, &tr->stats);
    hrf_integrator_free(it);
    if (tr->H) {
        int erc = f->energy(f->ctx, tr->valid * n, tr->x, tr->H);
        if (erc && !rc) rc = erc;
    }
    if (rc && rc != HRF_ENUMERIC) {
        hrf_trajectory_free(tr);
        return rc;
    }
    *out = tr;
    return rc;
}

int hrf_trajectory_save_meta(const hrf_trajectory *tr, const double *H_sys,
                             const hrf_trajectory *truth, const cJSON *extra, const char *path) {
    hrf_npz_writer *w = hrf_npz_writer_new();
    cJSON *meta = extra ? cJSON_Duplicate(extra, 1) : cJSON_CreateObject();
    if (!w || !meta) {
        hrf_npz_writer_free(w);
        cJSON_Delete(meta);
        return hrf_error(HRF_ENOMEM, "out of memory");
    }
    static const char *const fixed[] = {"format",     "kind",  "version", "integrator",
                                        "steps_done", "saved", "complete"};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(meta, fixed[i]);
    cJSON_AddStringToObject(meta, "format", "hamrf");
    cJSON_AddStringToObject(meta, "kind", "trajectory");
    cJSON_AddNumberToObject(meta, "version", 1);
    cJSON_AddStringToObject(meta, "integrator", tr->integrator->name);
    cJSON_AddNumberToObject(meta, "steps_done", (double)tr->steps_done);
    cJSON_AddNumberToObject(meta, "saved", (double)tr->valid);
    cJSON_AddBoolToObject(meta, "complete", tr->valid == tr->nt);
    const size_t J = tr->valid;
    size_t s1[1] = {J}, s2[2] = {J, tr->n}, s3[3] = {J, tr->n, tr->dim};
    int rc = hrf_npz_writer_add(w, "t", 1, s1, tr->t);
    if (!rc) rc = hrf_npz_writer_add(w, "x", 3, s3, tr->x);
    if (!rc && tr->H) rc = hrf_npz_writer_add(w, "H", 2, s2, tr->H);
    if (!rc && H_sys) rc = hrf_npz_writer_add(w, "H_sys", 2, s2, H_sys);
    if (!rc && truth) rc = hrf_npz_writer_add(w, "x_true", 3, s3, truth->x);
    if (!rc && truth && truth->H) rc = hrf_npz_writer_add(w, "H_true", 2, s2, truth->H);
    if (!rc) rc = hrf_npz_writer_set_meta(w, meta);
    if (!rc) rc = hrf_npz_writer_write(w, path);
    cJSON_Delete(meta);
    hrf_npz_writer_free(w);
    return rc;
}

int hrf_trajectory_save(const hrf_trajectory *tr, const double *H_sys, const hrf_trajectory *truth,
                        const char *extra_json, const char *path) {
    cJSON *extra;
    int rc = hrf_json_object_parse(extra_json, "hrf_trajectory_save: extra meta", &extra);
    return rc ? rc : hrf_json_done(hrf_trajectory_save_meta(tr, H_sys, truth, extra, path), extra);
}
