/* The ODE-net baseline as a model type (hamrf/model.h). */
#include "hamrf/model.h"
#include "hamrf/odenet.h"

#include <math.h>
#include <stdio.h>

static int load(const char *path, void **m, char **meta_json) {
    return hrf_odenet_load(path, (hrf_odenet **)m, meta_json);
}
static int save(const void *m, const char *path, const char *extra_json) {
    return hrf_odenet_save(m, path, extra_json);
}
static void release(void *m) {
    hrf_odenet_free(m);
}
static void field(const void *m, hrf_field *f) {
    hrf_odenet_field(m, f);
}
static size_t dims(const void *m) {
    return hrf_odenet_dim(m);
}

static int errors(const void *m, const void *data, hrf_model_errors *out) {
    hrf_odenet_errors e;
    int rc = hrf_odenet_errors_on(m, data, &e);
    if (rc) return rc;
    *out = (hrf_model_errors){.has_rel_dxdt = 1,
                              .rel_l2_H = NAN,
                              .rel_l2_grad = NAN,
                              .rel_l2_dxdt = e.rel_l2_dxdt,
                              .mse_dxdt = e.mse_dxdt,
                              .n = e.n,
                              .dim = e.dim};
    return 0;
}

static int describe(const void *m, char *buf, size_t cap) {
    return snprintf(buf, cap, "odenet");
}

const hrf_model_type hrf_model_type_odenet = {
    .name = "odenet",
    .description = "ODE-net baseline: dx/dt regressed directly by a shallow network",
    .data = HRF_DATA_BOX,
    .load = load,
    .save = save,
    .free = release,
    .field = field,
    .errors = errors,
    .dims = dims,
    .describe = describe,
};
