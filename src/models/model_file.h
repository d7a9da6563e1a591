/* Private: the checks every model file's meta shares (hnn, odenet, hgn). */
#ifndef HAMRF_SRC_MODEL_FILE_H
#define HAMRF_SRC_MODEL_FILE_H

#include <cjson/cJSON.h>

#include "hamrf/activation.h"

/* meta "model" must be `kind` and meta "activation" a known activation
 * (*act); HRF_EFORMAT naming `path`, the key and what was found otherwise. */
int hrf_model_meta_check(const char *path, const cJSON *meta, const char *kind,
                         const hrf_activation **act);

#endif
