/* Every kind of trained model behind one interface: a const type table
 * (hrf_model_type, like the sampler, integrator, system and optimizer
 * tables) and hrf_model, a loaded model file of any kind.
 *
 *   kind     meta "model"   evaluates on                       file
 *   hnn      "hnn"          box data sets (hamrf/dataset.h)     hamrf/hnn.h
 *   odenet   "odenet"       box data sets                       hamrf/odenet.h
 *   hgn      "hgn"          particle data sets (any N)          hamrf/hgn.h
 *
 * A graph network ("hgn") has no fixed state dimension: it evaluates any
 * number of particles, so its field needs the particle system's graph,
 * size and masses (hamrf/hgn_field.h); here its dimension is 0, its field
 * is empty (rhs NULL) and it names no built-in system. */
#ifndef HAMRF_MODEL_H
#define HAMRF_MODEL_H

#include <stddef.h>

#include "hamrf/export.h"
#include "hamrf/field.h"
#include "hamrf/systems.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hrf_hnn hrf_hnn;
typedef struct hrf_odenet hrf_odenet;
typedef struct hrf_hgn hrf_hgn;

/* What a model is evaluated on. */
typedef enum { HRF_DATA_BOX = 0, HRF_DATA_PARTICLES = 1 } hrf_data_kind;

/* Errors of any model on a data set (docs/math.md, metrics): the fields a
 * kind does not have are NaN and flagged 0. */
typedef struct hrf_model_errors {
    int has_H;          /* rel_l2_H computed: the model has Ĥ and the data H */
    int has_grad;       /* rel_l2_grad computed (Hamiltonian models) */
    int has_rel_dxdt;   /* rel_l2_dxdt computed (the ODE-net) */
    double rel_l2_H;    /* ‖Ĥ − H‖/‖H‖ */
    double rel_l2_grad; /* ‖∇Ĥ − J⁻¹ dx/dt‖/‖J⁻¹ dx/dt‖ */
    double rel_l2_dxdt; /* ‖f̂ − dx/dt‖/‖dx/dt‖ */
    double mse_dxdt;    /* mean over points (snapshots, particles) and coordinates */
    size_t n;           /* points, or snapshots of a particle data set */
    size_t dim;         /* 2d of a box data set; D of a particle data set */
    size_t particles;   /* particles per snapshot; 0 for a box data set */
} hrf_model_errors;

typedef struct hrf_model_type {
    const char *name;        /* meta "model": "hnn", "odenet", "hgn" */
    const char *description; /* one line, for listings */
    hrf_data_kind data;      /* what errors() takes */
    /* Loads and validates a file of this kind; *meta_json (may be NULL)
     * receives its meta as JSON text (free()). */
    int (*load)(const char *path, void **model, char **meta_json);
    /* Saves atomically; extra_json: members added to the meta, or NULL. */
    int (*save)(const void *model, const char *path, const char *extra_json);
    void (*free)(void *model); /* NULL-safe */
    /* The model's vector field (the model must outlive f); an empty field
     * (rhs NULL) for kinds that need more than a state (hgn). */
    void (*field)(const void *model, hrf_field *f);
    /* Errors on `data`: an hrf_dataset * (HRF_DATA_BOX) or an hrf_pdata *
     * (HRF_DATA_PARTICLES). */
    int (*errors)(const void *model, const void *data, hrf_model_errors *out);
    size_t (*dims)(const void *model); /* state dimension 2d; 0: any (hgn) */
    /* The kind and its variant as `hamrf eval` names it ("hnn", "odenet",
     * "hgn (pair)"), truncated to cap; returns the length it wanted. */
    int (*describe)(const void *model, char *buf, size_t cap);
} hrf_model_type;

HRF_API extern const hrf_model_type hrf_model_type_hnn;
HRF_API extern const hrf_model_type hrf_model_type_odenet;
HRF_API extern const hrf_model_type hrf_model_type_hgn;

/* All model types, NULL-terminated. */
HRF_API const hrf_model_type *const *hrf_model_types(void);
/* HRF_ENOTFOUND naming the known kinds when there is no such type. */
HRF_API int hrf_model_type_find(const char *name, const hrf_model_type **out);

typedef struct hrf_model hrf_model;

/* Loads a model file of any kind; HRF_EFORMAT names the file and the kinds
 * known when meta "model" is missing or unknown. */
HRF_API int hrf_model_load(const char *path, hrf_model **out);
HRF_API void hrf_model_free(hrf_model *m); /* NULL-safe */

HRF_API const hrf_model_type *hrf_model_type_of(const hrf_model *m);
HRF_API const char *hrf_model_kind(const hrf_model *m);      /* the type's name */
HRF_API const char *hrf_model_meta_json(const hrf_model *m); /* the file's meta, JSON text */
HRF_API void *hrf_model_object(const hrf_model *m);          /* the kind's own handle */
HRF_API size_t hrf_model_dim(const hrf_model *m);   /* 2d; 0 for "hgn" (any number of particles) */
HRF_API hrf_hnn *hrf_model_hnn(const hrf_model *m); /* NULL unless kind "hnn" */
HRF_API hrf_odenet *hrf_model_odenet(const hrf_model *m); /* NULL unless kind "odenet" */
HRF_API hrf_hgn *hrf_model_hgn(const hrf_model *m);       /* NULL unless kind "hgn" */
HRF_API int hrf_model_save(const hrf_model *m, const char *path, const char *extra_json);
HRF_API int hrf_model_errors_on(const hrf_model *m, const void *data, hrf_model_errors *out);
HRF_API int hrf_model_describe(const hrf_model *m, char *buf, size_t cap);

/* The model's vector field (m must outlive f); for "hgn" an empty field
 * (dim 0, rhs NULL): use hrf_hgn_field with the particle system. */
HRF_API void hrf_model_field(const hrf_model *m, hrf_field *f);

/* The built-in system the model was trained on, from meta "system" and
 * "params": HRF_ENOTFOUND when the model does not name one (e.g. trained on
 * user data, or an "hgn" trained on a particle system), HRF_EFORMAT for a
 * malformed entry. */
HRF_API int hrf_model_system(const hrf_model *m, hrf_system *sys);

#ifdef __cplusplus
}
#endif

#endif
