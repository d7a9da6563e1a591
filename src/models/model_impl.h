/* Private to the library and its command-line tool: a loaded model's meta
 * as a cJSON object (the public hamrf/model.h gives it as JSON text). */
#ifndef HAMRF_SRC_MODEL_IMPL_H
#define HAMRF_SRC_MODEL_IMPL_H

#include <cjson/cJSON.h>

#include "hamrf/model.h"

const cJSON *hrf_model_meta(const hrf_model *m);

#endif
