/* The meta checks shared by the model loaders (src/models/model_file.h). */
#include "models/model_file.h"

#include "hamrf/status.h"

#include <string.h>

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
