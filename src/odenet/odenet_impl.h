/* Private to the library (and its command-line tool): the ODE-net's file and
 * provenance functions with cJSON objects (the public API of hamrf/odenet.h
 * takes JSON text). */
#ifndef HAMRF_SRC_ODENET_IMPL_H
#define HAMRF_SRC_ODENET_IMPL_H

#include <cjson/cJSON.h>

#include "hamrf/odenet.h"

/* hrf_odenet_save / hrf_odenet_load with meta objects (extra may be NULL; *meta
 * receives the file's whole meta when meta is not NULL). */
int hrf_odenet_save_meta(const hrf_odenet *m, const char *path, const cJSON *extra);
int hrf_odenet_load_meta(const char *path, hrf_odenet **out, cJSON **meta);

/* How the model was made, written first into its file's meta: set by the
 * fits (sampled: hrf_odenet_fit; gradient: hrf_gd_train_odenet) and by load.
 * set takes ownership of prov (may be NULL). */
void hrf_odenet_set_provenance(hrf_odenet *m, cJSON *prov);
const cJSON *hrf_odenet_provenance(const hrf_odenet *m);

#endif
