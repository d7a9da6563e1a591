/* The model-file skeleton and the fit provenance (src/models/model_file.h). */
#include "core/meta.h"
#include "models/model_file.h"

#include "hamrf/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const skeleton_keys[] = {"format", "kind", "version", "model", NULL};

static void delete_keys(cJSON *o, const char *const *keys) {
    for (size_t i = 0; keys && keys[i]; i++)
        cJSON_DeleteItemFromObjectCaseSensitive(o, keys[i]);
}

/* Members of src (may be NULL) appended to dst, replacing those of the same name. */
static int merge(cJSON *dst, const cJSON *src) {
    const cJSON *v;
    cJSON_ArrayForEach(v, src) {
        cJSON *c = cJSON_Duplicate(v, 1);
        if (!c) return HRF_ENOMEM;
        cJSON_DeleteItemFromObjectCaseSensitive(dst, v->string);
        cJSON_AddItemToObject(dst, v->string, c);
    }
    return HRF_OK;
}

int hrf_model_file_begin(const char *kind, const cJSON *prov, const cJSON *extra,
                         const char *const *own, hrf_npz_writer **w, cJSON **meta) {
    *w = hrf_npz_writer_new();
    *meta = cJSON_CreateObject();
    if (!*w || !*meta || merge(*meta, prov) || merge(*meta, extra)) {
        hrf_npz_writer_free(*w);
        cJSON_Delete(*meta);
        *w = NULL, *meta = NULL;
        return hrf_error(HRF_ENOMEM, "out of memory");
    }
    hrf_npz_writer_require_finite(*w, "model");
    delete_keys(*meta, skeleton_keys);
    delete_keys(*meta, own);
    cJSON_AddStringToObject(*meta, "format", "hamrf");
    cJSON_AddStringToObject(*meta, "kind", "model");
    cJSON_AddNumberToObject(*meta, "version", HRF_MODEL_FILE_VERSION);
    cJSON_AddStringToObject(*meta, "model", kind);
    return HRF_OK;
}

int hrf_model_file_finish(hrf_npz_writer *w, cJSON *meta, const cJSON *prov,
                          const char *const *tail, const char *path) {
    int rc = HRF_OK;
    for (size_t i = 0; tail && tail[i] && !rc; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(prov, tail[i]);
        cJSON *c = v ? cJSON_Duplicate(v, 1) : NULL;
        if (v && !c) rc = hrf_error(HRF_ENOMEM, "out of memory");
        if (c) cJSON_AddItemToObject(meta, tail[i], c);
    }
    if (!rc) rc = hrf_npz_writer_set_meta(w, meta);
    if (!rc) rc = hrf_npz_writer_write(w, path);
    cJSON_Delete(meta);
    hrf_npz_writer_free(w);
    return rc;
}

int hrf_model_meta_check(const char *path, const cJSON *meta, const char *kind,
                         const hrf_activation **act) {
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(meta, "model");
    if (!cJSON_IsString(model) || strcmp(model->valuestring, kind) != 0)
        return hrf_error(HRF_EFORMAT, "%s: meta: expected \"model\": \"%s\", found %s%s%s", path,
                         kind, cJSON_IsString(model) ? "\"" : "",
                         cJSON_IsString(model) ? model->valuestring : "none",
                         cJSON_IsString(model) ? "\"" : "");
    const cJSON *an = cJSON_GetObjectItemCaseSensitive(meta, "activation");
    if (!cJSON_IsString(an))
        return hrf_error(HRF_EFORMAT, "%s: meta: missing \"activation\"", path);
    int rc = hrf_activation_find(an->valuestring, act);
    return rc ? hrf_error_prefix(rc, "%s: meta", path) : HRF_OK;
}

int hrf_model_file_open(const char *path, const char *kind, hrf_npz **z, cJSON **meta,
                        const hrf_activation **act) {
    *z = NULL, *meta = NULL;
    int rc = hrf_npz_open(path, z);
    if (rc) return rc;
    if ((rc = hrf_npz_read_meta(*z, "model", meta)) ||
        (rc = hrf_model_meta_check(path, *meta, kind, act))) {
        cJSON_Delete(*meta);
        hrf_npz_close(*z);
        *z = NULL, *meta = NULL;
    }
    return rc;
}

cJSON *hrf_model_provenance_of_meta(const cJSON *meta, const char *const *own) {
    cJSON *p = cJSON_Duplicate(meta, 1);
    if (!p) return NULL;
    delete_keys(p, skeleton_keys);
    delete_keys(p, own);
    return p;
}

static void add_pairs(cJSON *o, const cJSON *meta) {
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(meta, "pairs"))) return;
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(meta, "h");
    cJSON_AddBoolToObject(o, "pairs", 1);
    cJSON_AddNumberToObject(o, "h", cJSON_IsNumber(h) ? h->valuedouble : NAN);
    cJSON_AddStringToObject(o, "fitted_through", "symplectic_euler");
}

void hrf_provenance_add_data(cJSON *o, const hrf_dataset *data, int pairs_first) {
    if (!HRF_META(data)) return;
    if (pairs_first) add_pairs(o, HRF_META(data));
    const cJSON *sys = cJSON_GetObjectItemCaseSensitive(HRF_META(data), "system");
    const cJSON *par = cJSON_GetObjectItemCaseSensitive(HRF_META(data), "params");
    if (cJSON_IsString(sys)) cJSON_AddStringToObject(o, "system", sys->valuestring);
    if (cJSON_IsObject(par)) cJSON_AddItemToObject(o, "params", cJSON_Duplicate(par, 1));
    if (!pairs_first) add_pairs(o, HRF_META(data));
}

int hrf_model_file_read(hrf_npz *z, const char *path, const char *name, int ndim, size_t *shape,
                        double **data) {
    int rc = hrf_npz_read(z, name, ndim, shape, data);
    if (rc) return rc;
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= shape[i];
    return hrf_check_finite(path, name, *data, n);
}

int hrf_model_file_read_layer(hrf_npz *z, const char *path, double **W, double **b, size_t *width,
                              size_t *dim) {
    size_t sW[2] = {0, 0};
    int rc = hrf_npz_read(z, "W", 2, sW, W);
    if (rc) return rc;
    if (sW[0] == 0 || sW[1] == 0 || sW[1] % 2)
        return hrf_error(HRF_EFORMAT,
                         "%s: entry 'W': expected shape (width > 0, 2d), found (%zu, %zu)", path,
                         sW[0], sW[1]);
    size_t sM[1] = {sW[0]};
    if ((rc = hrf_check_finite(path, "W", *W, sW[0] * sW[1])) ||
        (rc = hrf_model_file_read(z, path, "b", 1, sM, b)))
        return rc;
    *width = sW[0], *dim = sW[1];
    return HRF_OK;
}
