/* Any model file through the model-type table (hamrf/model.h). */
#include "hamrf/model.h"

#include "core/npz.h"
#include "hamrf/status.h"
#include "models/model_file.h"
#include "models/model_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const hrf_model_type *const types[] = {&hrf_model_type_hnn, &hrf_model_type_odenet,
                                              &hrf_model_type_hgn, NULL};

const hrf_model_type *const *hrf_model_types(void) {
    return types;
}

/* "hnn", "odenet", "hgn" into buf. */
static void known_kinds(char *buf, size_t cap) {
    buf[0] = '\0';
    for (size_t i = 0; types[i]; i++) {
        size_t len = strlen(buf);
        snprintf(buf + len, cap - len, "%s\"%s\"", i ? ", " : "", types[i]->name);
    }
}

int hrf_model_type_find(const char *name, const hrf_model_type **out) {
    for (size_t i = 0; types[i]; i++)
        if (strcmp(types[i]->name, name) == 0) {
            *out = types[i];
            return HRF_OK;
        }
    char k[128];
    known_kinds(k, sizeof k);
    return hrf_error(HRF_ENOTFOUND, "unknown model '%s' (known: %s)", name, k);
}

struct hrf_model {
    const hrf_model_type *type;
    void *obj;
    char *meta_json;
    cJSON *meta;
};

int hrf_model_load(const char *path, hrf_model **out) {
    *out = NULL;
    hrf_npz *z = NULL;
    cJSON *meta = NULL;
    int rc = hrf_npz_open(path, &z);
    if (rc) return rc;
    rc = hrf_npz_read_meta(z, "model", &meta);
    hrf_npz_close(z);
    if (rc) return rc;
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(meta, "model");
    const hrf_model_type *t = NULL;
    if (!cJSON_IsString(kind) || hrf_model_type_find(kind->valuestring, &t)) {
        char k[128];
        known_kinds(k, sizeof k);
        cJSON_Delete(meta);
        return hrf_error(HRF_EFORMAT, "%s: meta: expected \"model\" to be one of %s", path, k);
    }
    cJSON_Delete(meta);
    hrf_model *m = calloc(1, sizeof *m);
    if (!m) return hrf_error(HRF_ENOMEM, "out of memory");
    m->type = t;
    if ((rc = t->load(path, &m->obj, &m->meta_json))) {
        hrf_model_free(m);
        return rc;
    }
    if (!(m->meta = cJSON_Parse(m->meta_json))) {
        hrf_model_free(m);
        return hrf_error(HRF_ENOMEM, "out of memory");
    }
    *out = m;
    return HRF_OK;
}

void hrf_model_free(hrf_model *m) {
    if (!m) return;
    if (m->obj) m->type->free(m->obj);
    free(m->meta_json);
    cJSON_Delete(m->meta);
    free(m);
}

const hrf_model_type *hrf_model_type_of(const hrf_model *m) {
    return m->type;
}
const char *hrf_model_kind(const hrf_model *m) {
    return m->type->name;
}
const char *hrf_model_meta_json(const hrf_model *m) {
    return m->meta_json;
}
void *hrf_model_object(const hrf_model *m) {
    return m->obj;
}
hrf_hnn *hrf_model_hnn(const hrf_model *m) {
    return m->type == &hrf_model_type_hnn ? m->obj : NULL;
}
hrf_odenet *hrf_model_odenet(const hrf_model *m) {
    return m->type == &hrf_model_type_odenet ? m->obj : NULL;
}
hrf_hgn *hrf_model_hgn(const hrf_model *m) {
    return m->type == &hrf_model_type_hgn ? m->obj : NULL;
}
size_t hrf_model_dim(const hrf_model *m) {
    return m->type->dims(m->obj);
}
void hrf_model_field(const hrf_model *m, hrf_field *f) {
    m->type->field(m->obj, f);
}
int hrf_model_save(const hrf_model *m, const char *path, const char *extra_json) {
    return m->type->save(m->obj, path, extra_json);
}
int hrf_model_errors_on(const hrf_model *m, const void *data, hrf_model_errors *out) {
    return m->type->errors(m->obj, data, out);
}
int hrf_model_describe(const hrf_model *m, char *buf, size_t cap) {
    return m->type->describe(m->obj, buf, cap);
}

int hrf_model_system(const hrf_model *m, hrf_system *sys) {
    if (m->type->data != HRF_DATA_BOX)
        return hrf_error(HRF_ENOTFOUND, "a graph network is trained on a particle system, not "
                                        "on a built-in system; its rollouts take the system "
                                        "from the particle data set");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(m->meta, "system");
    if (!cJSON_IsString(name))
        return hrf_error(HRF_ENOTFOUND, "the model does not name the built-in system it was "
                                        "trained on (meta \"system\")");
    const hrf_system_type *t = NULL;
    int rc = hrf_system_find(name->valuestring, &t);
    if (rc) return hrf_error_prefix(rc, "model meta \"system\"");
    hrf_system_init(sys, t);
    const cJSON *par = cJSON_GetObjectItemCaseSensitive(m->meta, "params"), *v;
    if (par && !cJSON_IsObject(par))
        return hrf_error(HRF_EFORMAT, "model meta \"params\" must be an object");
    cJSON_ArrayForEach(v, par) {
        if (!cJSON_IsNumber(v))
            return hrf_error(HRF_EFORMAT, "model meta \"params\": \"%s\" must be a number",
                             v->string);
        if ((rc = hrf_system_set(sys, v->string, v->valuedouble)))
            return hrf_error_prefix(rc, "model meta \"params\"");
    }
    if ((size_t)(2 * t->dof) != hrf_model_dim(m))
        return hrf_error(HRF_EFORMAT, "the model has dimension %zu but its system '%s' has %d",
                         hrf_model_dim(m), t->name, 2 * t->dof);
    return HRF_OK;
}

const cJSON *hrf_model_meta(const hrf_model *m) {
    return m->meta;
}
