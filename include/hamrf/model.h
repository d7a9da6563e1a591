/* Any trained model file, whatever its kind: the loader reads meta "model"
 * ("hnn", "odenet" or "hgn") and gives the common views the rollout and eval
 * commands need — the vector field and the system it was trained on.
 *
 * A graph network ("hgn") has no fixed state dimension: it evaluates any
 * number of particles, so its field needs the particle system's graph,
 * size and masses (hamrf/hgn_field.h); here its dimension is 0, its field
 * is empty (rhs NULL) and it names no built-in system. */
#ifndef HAMRF_MODEL_H
#define HAMRF_MODEL_H

#include <cjson/cJSON.h>

#include "hamrf/field.h"
#include "hamrf/hgn.h"
#include "hamrf/hnn.h"
#include "hamrf/odenet.h"
#include "hamrf/systems.h"

typedef struct hrf_model hrf_model;

/* Loads a model file of any kind; HRF_EFORMAT names the file and the kinds
 * known when meta "model" is missing or unknown. */
int hrf_model_load(const char *path, hrf_model **out);
void hrf_model_free(hrf_model *m); /* NULL-safe */

const char *hrf_model_kind(const hrf_model *m); /* "hnn", "odenet" or "hgn" */
const cJSON *hrf_model_meta(const hrf_model *m);
size_t hrf_model_dim(const hrf_model *m);         /* 2d; 0 for "hgn" (any number of particles) */
hrf_hnn *hrf_model_hnn(const hrf_model *m);       /* NULL unless kind "hnn" */
hrf_odenet *hrf_model_odenet(const hrf_model *m); /* NULL unless kind "odenet" */
hrf_hgn *hrf_model_hgn(const hrf_model *m);       /* NULL unless kind "hgn" */

/* The model's vector field (m must outlive f); for "hgn" an empty field
 * (dim 0, rhs NULL): use hrf_hgn_field with the particle system. */
void hrf_model_field(const hrf_model *m, hrf_field *f);

/* The built-in system the model was trained on, from meta "system" and
 * "params": HRF_ENOTFOUND when the model does not name one (e.g. trained on
 * user data, or an "hgn" trained on a particle system), HRF_EFORMAT for a
 * malformed entry. */
int hrf_model_system(const hrf_model *m, hrf_system *sys);

#endif
