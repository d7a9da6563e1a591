/* Data sets of states and time derivatives (docs/math.md §6, docs/formats.md).
 *
 * File entries (float64, C order): x (n, dim) states (q_1..q_d, p_1..p_d);
 * dxdt (n, dim) time derivatives; H (n) true energy (optional: needed by the
 * SWIM oracle and by eval's rel_l2_H); x0 (dim) anchor state; H0 () its
 * energy. meta: {"format":"hamrf","kind":"dataset","version":1,"system",
 * "params":{...},"dof","box_lo":[..],"box_hi":[..],"n","seed","noise"}. */
#ifndef HAMRF_DATASET_H
#define HAMRF_DATASET_H

#include "hamrf/export.h"

#include <stddef.h>
#include <stdint.h>

#include "hamrf/meta.h"
#include "hamrf/systems.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hrf_dataset {
    size_t n, dim;  /* n points of dimension dim = 2d */
    double *x;      /* (n, dim) row-major */
    double *dxdt;   /* (n, dim) row-major */
    double *H;      /* (n) or NULL when the file carries no energies */
    double *x0;     /* (dim) anchor state */
    double H0;      /* H(x0) */
    double *box_lo; /* (dim) sampling box, or NULL if unknown */
    double *box_hi; /* (dim) */
    double *x1;     /* (n, dim) end states of trajectory pairs, or NULL */
    double h;       /* the pairs' time step (> 0), 0 when x1 is NULL */
    hrf_meta *meta; /* the file's meta (owned; hrf_meta_json gives the JSON text);
                       NULL when the set has none */
} hrf_dataset;

typedef struct hrf_generate_params {
    size_t n; /* number of points, > 0 */
    uint64_t seed;
    double q_lo, q_hi; /* box for every q; NaN = the system's default */
    double p_lo, p_hi; /* box for every p; NaN = the system's default */
    double noise;      /* std. dev. of Gaussian noise added to dxdt, ≥ 0 */
} hrf_generate_params;

HRF_API void hrf_generate_params_default(hrf_generate_params *p);
HRF_API const char *hrf_generate_params_check(const hrf_generate_params *p);

/* Draws n states uniformly in the box, with exact H and dx/dt = J∇H (+noise);
 * anchor x0 = 0, H0 = H(0). Refuses (HRF_ETOOBIG, with the estimate) sizes
 * that would not fit in memory, before allocating. */
HRF_API int hrf_dataset_generate(const hrf_system *sys, const hrf_generate_params *p,
                                 hrf_dataset **out);

/* Trajectory pairs (x, Φ_h(x)): x uniform in the box as above, Φ_h the true
 * flow integrated by adaptive Dormand–Prince with rtol = atol = `tol`
 * (rtol ≤ 1e-12 is needed, docs/math.md §6.1; 0 selects 1e-13), each pair integrated
 * on its own so that it does not depend on the others. h finite and ≠ 0. */
HRF_API int hrf_dataset_generate_pairs(const hrf_system *sys, const hrf_generate_params *p,
                                       double h, double tol, hrf_dataset **out);

/* The gradient-regression view of trajectory pairs (docs/math.md §6.1): one
 * symplectic Euler step (q first) of Ĥ reproduces each pair when
 *   ∂Ĥ/∂p(q1, p0) = (q1 − q0)/h,   ∂Ĥ/∂q(q1, p0) = −(p1 − p0)/h,
 * so the returned set has x = (q1, p0), dxdt = (x1 − x)/h, no H, and the
 * same anchor and box. HRF_EINVAL if `pairs` has no x1. */
HRF_API int hrf_dataset_pairs_targets(const hrf_dataset *pairs, hrf_dataset **out);

/* A data set from the caller's arrays (copied): x, dxdt (n, dim) row-major,
 * H (n) or NULL, the anchor x0 (dim) or NULL (the origin) with H0 = H(x0)
 * (the fit pins Ĥ(x0) = H0; with neither given, Ĥ(0) = 0). No box (the ELM
 * bias range then comes from the points) and no meta. HRF_EDATA for n = 0,
 * an odd or zero dim, a NaN or Inf (naming the array and the index);
 * HRF_ETOOBIG, before allocating, for sizes beyond the available memory. */
HRF_API int hrf_dataset_from_arrays(size_t n, size_t dim, const double *x, const double *dxdt,
                                    const double *H, const double *x0, double H0,
                                    hrf_dataset **out);

HRF_API int hrf_dataset_save(const hrf_dataset *d, const char *path);
/* Loads and validates (shapes, finite values) a data set. */
HRF_API int hrf_dataset_load(const char *path, hrf_dataset **out);
/* A data set split over files (docs/mpi.md): the global rows are those of
 * paths[0..npaths−1] in order. hrf_dataset_count gives the total and dim
 * from the files' headers; hrf_dataset_load_part loads only rows [first,
 * first + count) of the concatenation, reading each file by offset, and
 * refuses (HRF_EDATA, naming the file) files whose dimension, system,
 * anchor, box or entries differ from the first's. */
HRF_API int hrf_dataset_count(const char *const *paths, size_t npaths, size_t *total, size_t *dim);
HRF_API int hrf_dataset_load_part(const char *const *paths, size_t npaths, size_t first,
                                  size_t count, hrf_dataset **out);
HRF_API void hrf_dataset_free(hrf_dataset *d);

/* The gradient targets g = J⁻¹ dx/dt = (−dp/dt, dq/dt), g (n, dim). */
HRF_API void hrf_dataset_gradient_targets(const hrf_dataset *d, double *g);

#ifdef __cplusplus
}
#endif

#endif
