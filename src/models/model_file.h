/* Private: the one skeleton every model file (hnn, odenet, hgn) is written
 * and read through, and the provenance meta the library records at fit time.
 *
 * A model file's meta is, in this order:
 *   1. the model's provenance (how it was made: sampler, solver, seed, the
 *      training system ...; recorded by the fit, or read back by load, so
 *      load → save keeps it), then the caller's `extra` members;
 *   2. "format", "kind": "model", "version", "model": the kind;
 *   3. the kind's own keys (activation, widths ...), written by the kind;
 *   4. the kind's `tail` keys taken from 1. (the ODE-net writes sampler,
 *      solver and seed last, as files of format version 1 always had them).
 * Keys of 2.-4. in the provenance or in `extra` are replaced, not repeated. */
#ifndef HAMRF_SRC_MODEL_FILE_H
#define HAMRF_SRC_MODEL_FILE_H

#include <cjson/cJSON.h>

#include "core/meta.h"
#include "core/npz.h"
#include "hamrf/activation.h"
#include "hamrf/dataset.h"

/* The model-file format version this library writes and reads. */
#define HRF_MODEL_FILE_VERSION 1

/* Starts a model file of `kind`: *w an empty writer, *meta parts 1. and 2.
 * above; `own` lists the kind's keys (3. and 4.), NULL-terminated. */
int hrf_model_file_begin(const char *kind, const cJSON *prov, const cJSON *extra,
                         const char *const *own, hrf_npz_writer **w, cJSON **meta);
/* Appends the `tail` keys (NULL-terminated, may be NULL) of `prov`, sets the
 * meta, writes `path` atomically and frees w and meta. */
int hrf_model_file_finish(hrf_npz_writer *w, cJSON *meta, const cJSON *prov,
                          const char *const *tail, const char *path);

/* Opens a model file of `kind`: meta "model" must be `kind` and meta
 * "activation" a known activation (*act). On success the caller owns *z
 * (hrf_npz_close) and *meta (cJSON_Delete); on failure both are NULL and
 * the error names `path`, the key and what was found. */
int hrf_model_file_open(const char *path, const char *kind, hrf_npz **z, cJSON **meta,
                        const hrf_activation **act);

/* Reads float64 entry `name` (hrf_npz_read: ndim, shape as required / found)
 * and checks that every value is finite (HRF_EDATA naming file, entry, index). */
int hrf_model_file_read(hrf_npz *z, const char *path, const char *name, int ndim, size_t *shape,
                        double **data);
/* The sampled hidden layer of the HNN and the ODE-net: W (width > 0, dim even
 * and > 0) and b (width), finite; *width and *dim receive the shape. */
int hrf_model_file_read_layer(hrf_npz *z, const char *path, double **W, double **b, size_t *width,
                              size_t *dim);

/* meta "model" must be `kind` and meta "activation" a known activation
 * (*act); HRF_EFORMAT naming `path`, the key and what was found otherwise. */
int hrf_model_meta_check(const char *path, const cJSON *meta, const char *kind,
                         const hrf_activation **act);

/* The provenance a loaded model keeps: a copy of its meta without the keys
 * the skeleton writes (format, kind, version, model) and without `own`. */
cJSON *hrf_model_provenance_of_meta(const cJSON *meta, const char *const *own);

/* The training data's system, "system" and "params" of the data set's meta,
 * into o; for the regression view of trajectory pairs (meta "pairs": true,
 * hrf_dataset_pairs_targets) also "pairs", "h", "fitted_through", before the
 * system when pairs_first, else after it (the orders of format version 1). */
void hrf_provenance_add_data(cJSON *o, const hrf_dataset *data, int pairs_first);

#endif
