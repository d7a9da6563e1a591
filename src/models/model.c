/* Loading a model file of any kind and viewing it as a vector field
 * (hamrf/model.h). */
#include "hamrf/model.h"

#include "hamrf/npz.h"
#include "hamrf/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct hrf_model {
    const char *kind;
    hrf_hnn *hnn;
    hrf_odenet *ode;
    hrf_hgn *hgn;
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
    hrf_model *m = calloc(1, sizeof *m);
    if (!m) {
        cJSON_Delete(meta);
        return hrf_error(HRF_ENOMEM, "out of memory");
    }
    if (cJSON_IsString(kind) && strcmp(kind->valuestring, "hnn") == 0) {
        m->kind = "hnn";
        rc = hrf_hnn_load(path, &m->hnn, &m->meta);
    } else if (cJSON_IsString(kind) && strcmp(kind->valuestring, "odenet") == 0) {
        m->kind = "odenet";
        rc = hrf_odenet_load(path, &m->ode, &m->meta);
    } else if (cJSON_IsString(kind) && strcmp(kind->valuestring, "hgn") == 0) {
        m->kind = "hgn";
        rc = hrf_hgn_load(path, &m->hgn, &m->meta);
    } else {
        rc = hrf_error(HRF_EFORMAT,
                       "%s: meta: expected \"model\" to be one of \"hnn\", \"odenet\", \"hgn\"",
                       path);
    }
    cJSON_Delete(meta);
    if (rc) {
        hrf_model_free(m);
        return rc;
    }
    *out = m;
    return HRF_OK;
}

void hrf_model_free(hrf_model *m) {
    if (!m) return;
    hrf_hnn_free(m->hnn);
    hrf_odenet_free(m->ode);
    hrf_hgn_free(m->hgn);
    cJSON_Delete(m->meta);
    free(m);
}

const char *hrf_model_kind(const hrf_model *m) {
    return m->kind;
}
const cJSON *hrf_model_meta(const hrf_model *m) {
    return m->meta;
}
hrf_hnn *hrf_model_hnn(const hrf_model *m) {
    return m->hnn;
}
hrf_odenet *hrf_model_odenet(const hrf_model *m) {
    return m->ode;
}
hrf_hgn *hrf_model_hgn(const hrf_model *m) {
    return m->hgn;
}

size_t hrf_model_dim(const hrf_model *m) {
    if (m->hgn) return 0; /* any number of particles */
    return m->hnn ? hrf_hnn_dim(m->hnn) : hrf_odenet_dim(m->ode);
}

void hrf_model_field(const hrf_model *m, hrf_field *f) {
    if (m->hgn) /* needs the particle system: hrf_hgn_field */
        memset(f, 0, sizeof *f);
    else if (m->hnn)
        hrf_hnn_field(m->hnn, f);
    else
        hrf_odenet_field(m->ode, f);
}

int hrf_model_system(const hrf_model *m, hrf_system *sys) {
    if (m->hgn)
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
