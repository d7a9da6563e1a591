/* The graph network as a model type (hamrf/model.h). It has no fixed state
 * dimension, so its field here is empty: rollouts use hrf_hgn_field with
 * the particle system (hamrf/hgn_field.h). */
#include "hamrf/hgn.h"
#include "hamrf/model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int load(const char *path, void **m, char **meta_json) {
    return hrf_hgn_load(path, (hrf_hgn **)m, meta_json);
}
static int save(const void *m, const char *path, const char *extra_json) {
    return hrf_hgn_save(m, path, extra_json);
}
static void release(void *m) {
    hrf_hgn_free(m);
}
static void field(const void *m, hrf_field *f) {
    memset(f, 0, sizeof *f);
}
static size_t dims(const void *m) {
    return 0; /* any number of particles */
}

static int errors(const void *m, const void *data, hrf_model_errors *out) {
    hrf_hgn_errors e;
    int rc = hrf_hgn_errors_on(m, data, &e);
    if (rc) return rc;
    *out = (hrf_model_errors){.has_H = e.has_H,
                              .has_grad = 1,
                              .rel_l2_H = e.rel_l2_H,
                              .rel_l2_grad = e.rel_l2_grad,
                              .rel_l2_dxdt = (double)NAN,
                              .mse_dxdt = e.mse_dxdt,
                              .n = e.snapshots,
                              .dim = (size_t)e.dim,
                              .particles = e.particles};
    return 0;
}

static int describe(const void *m, char *buf, size_t cap) {
    return snprintf(buf, cap, "hgn (%s)", hrf_hgn_mode_name(hrf_hgn_mode_of(m)));
}

const hrf_model_type hrf_model_type_hgn = {
    .name = "hgn",
    .description = "graph network: sampled edge and kinetic encoders, any number of particles",
    .data = HRF_DATA_PARTICLES,
    .load = load,
    .save = save,
    .free = release,
    .field = field,
    .errors = errors,
    .dims = dims,
    .describe = describe,
};
