/* Private to the library and its tool: hrf_trajectory_save with the extra
 * meta as a cJSON object (hamrf/rollout.h takes JSON text). */
#ifndef HAMRF_SRC_ROLLOUT_IMPL_H
#define HAMRF_SRC_ROLLOUT_IMPL_H

#include <cjson/cJSON.h>

#include "hamrf/rollout.h"

int hrf_trajectory_save_meta(const hrf_trajectory *tr, const double *H_sys,
                             const hrf_trajectory *truth, const cJSON *extra, const char *path);

#endif
