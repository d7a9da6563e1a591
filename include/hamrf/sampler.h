/* Sampling a dense hidden layer (docs/math.md §3): ELM, U-SWIM, SWIM, A-SWIM.
 *
 * A layer is W (M, dim) row-major and b (M): neuron k computes
 * σ(w_k · x + b_k). Samplers are const type objects; A-SWIM is U-SWIM for a
 * first fit followed by a SWIM resample that uses the fitted model's values
 * (the model code runs the two passes; here it is the `adaptive` flag). */
#ifndef HAMRF_SAMPLER_H
#define HAMRF_SAMPLER_H

#include "hamrf/comm.h"
#include "hamrf/export.h"

#include <stddef.h>
#include <stdint.h>

#include "hamrf/activation.h"
#include "hamrf/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    HRF_PAIRS_NONE = 0, /* data-agnostic (ELM) */
    HRF_PAIRS_UNIFORM,  /* uniform over the candidate pool (U-SWIM) */
    HRF_PAIRS_VALUES /* ∝ ‖f(x_j) − f(x_i)‖₂ / ‖x_j − x_i‖ (SWIM; f scalar or vector) */
} hrf_pair_density;

typedef struct hrf_sampler_type {
    const char *name; /* "elm", "uswim", "swim", "aswim" */
    const char *description;
    hrf_pair_density density; /* density of the (first) sampling pass */
    int needs_values;         /* 1: the data set must carry f = H (SWIM oracle) */
    int adaptive;             /* 1: A-SWIM, resample with the first fit's values */
} hrf_sampler_type;

HRF_API extern const hrf_sampler_type hrf_sampler_elm, hrf_sampler_uswim, hrf_sampler_swim,
    hrf_sampler_aswim;

HRF_API const hrf_sampler_type *const *hrf_sampler_types(void); /* NULL-terminated */
HRF_API int hrf_sampler_find(const char *name, const hrf_sampler_type **type);

typedef struct hrf_layer_sample_params {
    size_t width;              /* M > 0 */
    double elm_lo, elm_hi;     /* ELM bias range [lo, hi] */
    int resample_duplicates;   /* 1 (default): the M pairs are distinct */
    const hrf_activation *act; /* for the SWIM constants s1, s2 */
} hrf_layer_sample_params;

/* Samples W (width, dim) and b (width) with pair density `density`.
 * X (K, dim) row-major are the training inputs, f (K) the function values
 * (only for HRF_PAIRS_VALUES). Errors: HRF_EINVAL for K < 2 with a pair
 * density (message says SWIM needs at least 2 points), width 0.
 * `n_distinct_short` (may be NULL) receives how many pairs had to repeat
 * because the pool held fewer than M pairs of positive probability. */
HRF_API int hrf_layer_sample(hrf_pair_density density, const hrf_layer_sample_params *p, size_t K,
                             size_t dim, const double *X, const double *f, hrf_rng *rng, double *W,
                             double *b, size_t *n_distinct_short);

/* The same with vector values: F (K, fdim) row-major, and the SWIM density
 * ∝ ‖F_j − F_i‖₂ / ‖x_j − x_i‖ (the ODE-net samples with F = dx/dt). F is
 * only read for HRF_PAIRS_VALUES (then fdim ≥ 1). hrf_layer_sample is this
 * with fdim = 1 and gives bit-identical layers. */
HRF_API int hrf_layer_sample_vec(hrf_pair_density density, const hrf_layer_sample_params *p,
                                 size_t K, size_t dim, const double *X, size_t fdim,
                                 const double *F, hrf_rng *rng, double *W, double *b,
                                 size_t *n_distinct_short);

/* The same on rows distributed over comm's ranks (docs/mpi.md): K rows in
 * all, this rank holding rows [first, first + nlocal) of X (nlocal, dim)
 * and F (nlocal, fdim). Called collectively. The pool is drawn as global
 * row indices from rng exactly as above and the rows the draw needs are
 * gathered (the pool's for HRF_PAIRS_VALUES, the M chosen pairs' else), so
 * the layer is bit-identical to hrf_layer_sample_vec on the whole X, F for
 * every number of ranks. Inactive comm: hrf_layer_sample_vec. */
HRF_API int hrf_layer_sample_dist(hrf_pair_density density, const hrf_layer_sample_params *p,
                                  const hrf_comm *comm, size_t K, size_t first, size_t nlocal,
                                  size_t dim, const double *X, size_t fdim, const double *F,
                                  hrf_rng *rng, double *W, double *b, size_t *n_distinct_short);

#ifdef __cplusplus
}
#endif

#endif
