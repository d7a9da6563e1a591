/* Private to the library (and its command-line tool): the HNN's file and
 * provenance functions with cJSON objects (the public API of hamrf/hnn.h
 * takes JSON text). */
#ifndef HAMRF_SRC_HNN_IMPL_H
#define HAMRF_SRC_HNN_IMPL_H

#include <cjson/cJSON.h>

#include "hamrf/dataset.h"
#include "hamrf/hnn.h"

/* hrf_hnn_save / hrf_hnn_load with meta objects (extra may be NULL; *meta
 * receives the file's whole meta when meta is not NULL). */
int hrf_hnn_save_meta(const hrf_hnn *m, const char *path, const cJSON *extra);
int hrf_hnn_load_meta(const char *path, hrf_hnn **out, cJSON **meta);

/* How the model was made, written first into its file's meta: set by the
 * fits (sampled: hrf_hnn_fit; gradient: hrf_gd_train_hnn) and by load.
 * set takes ownership of prov (may be NULL). */
void hrf_hnn_set_provenance(hrf_hnn *m, cJSON *prov);
const cJSON *hrf_hnn_provenance(const hrf_hnn *m);

/* Provenance of a model fitted by sampling (hnn, odenet): sampler, solver
 * used and requested, seed, rcond, ridge, number of training points,
 * duplicate resampling, refinement limit, ELM range when set, and the
 * training data's system (trajectory pairs: "pairs", "h", "fitted_through"
 * first). NULL when out of memory. */
cJSON *hrf_provenance_sampled(const hrf_hnn_params *p, hrf_solver used, const hrf_dataset *data);

#endif
