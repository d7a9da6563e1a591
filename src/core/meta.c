/* Metadata as JSON text (hamrf/meta.h). */
#include "core/meta.h"

#include "hamrf/status.h"

#include <math.h>
#include <stdlib.h>

char *hrf_meta_json(const hrf_meta *m) {
    return m ? cJSON_PrintUnformatted((const cJSON *)m) : NULL;
}

void hrf_free(void *p) {
    free(p);
}

int hrf_json_object_parse(const char *json, const char *what, cJSON **out) {
    *out = NULL;
    if (!json || !json[0]) return HRF_OK;
    cJSON *o = cJSON_Parse(json);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return hrf_error(HRF_EINVAL, "%s: expected a JSON object, found '%.60s'", what, json);
    }
    *out = o;
    return HRF_OK;
}

char *hrf_json_print(const cJSON *o) {
    return o ? cJSON_PrintUnformatted(o) : NULL;
}

int hrf_json_give(int rc, cJSON *o, char **meta_json) {
    if (meta_json) *meta_json = NULL;
    if (!rc && meta_json && !(*meta_json = hrf_json_print(o)))
        rc = hrf_error(HRF_ENOMEM, "out of memory");
    cJSON_Delete(o);
    return rc;
}

int hrf_json_done(int rc, cJSON *extra) {
    cJSON_Delete(extra);
    return rc;
}

int hrf_json_numbers(const cJSON *meta, const char *key, size_t n, double *out) {
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(meta, key);
    if (!cJSON_IsArray(arr) || (size_t)cJSON_GetArraySize(arr) != n) return 0;
    size_t a = 0;
    const cJSON *v;
    cJSON_ArrayForEach(v, arr) {
        if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return 0;
        out[a++] = v->valuedouble;
    }
    return 1;
}
