/* The HNN as a model type (hamrf/model.h). */
#include "hamrf/hnn.h"
#include "hamrf/model.h"
#include "hnn/hnn_impl.h"
#include "models/model_file.h"

#include <math.h>
#include <stdio.h>

static int load(const char *path, void **m, char **meta_json) {
    return hrf_hnn_load(path, (hrf_hnn **)m, meta_json);
}
static int save(const void *m, const char *path, const char *extra_json) {
    return hrf_hnn_save(m, path, extra_json);
}
static void release(void *m) {
    hrf_hnn_free(m);
}
static void field(const void *m, hrf_field *f) {
    hrf_hnn_field(m, f);
}
static size_t dims(const void *m) {
    return hrf_hnn_dim(m);
}

static int errors(const void *m, const void *data, hrf_model_errors *out) {
    hrf_hnn_errors e;
    int rc = hrf_hnn_errors_on(m, data, &e);
    if (rc) return rc;
    *out = (hrf_model_errors){.has_H = e.has_H,
                              .has_grad = 1,
                              .rel_l2_H = e.rel_l2_H,
                              .rel_l2_grad = e.rel_l2_grad,
                              .rel_l2_dxdt = NAN,
                              .mse_dxdt = e.mse_dxdt,
                              .n = e.n,
                              .dim = e.dim};
    return 0;
}

static int describe(const void *m, char *buf, size_t cap) {
    return snprintf(buf, cap, "hnn");
}

const hrf_model_type hrf_model_type_hnn = {
    .name = "hnn",
    .description = "Hamiltonian network: dx/dt = J grad H_hat, H_hat a shallow network",
    .data = HRF_DATA_BOX,
    .load = load,
    .save = save,
    .free = release,
    .field = field,
    .errors = errors,
    .dims = dims,
    .describe = describe,
};

cJSON *hrf_provenance_sampled(const hrf_hnn_params *p, hrf_solver used, const hrf_dataset *data,
                              size_t n_train) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "sampler", p->sampler->name);
    cJSON_AddStringToObject(o, "solver", hrf_solver_name(used));
    cJSON_AddStringToObject(o, "solver_requested", hrf_solver_name(p->lstsq.solver));
    cJSON_AddNumberToObject(o, "seed", (double)p->seed);
    cJSON_AddNumberToObject(o, "rcond", p->lstsq.rcond);
    cJSON_AddNumberToObject(o, "ridge", p->lstsq.ridge);
    cJSON_AddNumberToObject(o, "n_train", (double)n_train);
    cJSON_AddBoolToObject(o, "resample_duplicates", p->resample_duplicates);
    cJSON_AddNumberToObject(o, "refine", p->lstsq.refine_max);
    if (!isnan(p->elm_lo)) {
        double r[2] = {p->elm_lo, p->elm_hi};
        cJSON_AddItemToObject(o, "elm_range", cJSON_CreateDoubleArray(r, 2));
    }
    hrf_provenance_add_data(o, data, 1);
    return o;
}
