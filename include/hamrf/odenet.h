/* The ODE-net baseline ("S-MLP" of RF-HNN): a shallow network that regresses
 * the vector field itself, with no Hamiltonian structure,
 *   f̂(x) = Σ_k C_k σ(w_k·x + b_k) + C_0,   C_k, C_0 in R^dim (dim = 2d),
 * hidden layer sampled as for the HNN (hamrf/sampler.h, docs/math.md §3) and
 * (C, C_0) from one linear least-squares problem with dim right-hand sides,
 *   Φ Θ ≈ Y,   Φ = [σ(Z) | 1] (K, M+1),  Θ = [C; C_0ᵀ] (M+1, dim),  Y = dx/dt (K, dim).
 * Samplers: ELM and U-SWIM as for the HNN; SWIM weighs pairs by the true
 * dx/dt (‖F_j − F_i‖₂/‖x_j − x_i‖, an oracle every data set carries);
 * A-SWIM fits once with U-SWIM, then resamples with F = f̂ of that fit at
 * the training inputs and fits again.
 *
 * Lifecycle: hrf_odenet_params_default → set fields → hrf_odenet_params_check
 * → hrf_odenet_fit → hrf_odenet_eval / hrf_odenet_save → hrf_odenet_free. */
#ifndef HAMRF_ODENET_H
#define HAMRF_ODENET_H

#include "hamrf/export.h"

#include <stddef.h>
#include <stdint.h>

#include "hamrf/activation.h"
#include "hamrf/dataset.h"
#include "hamrf/field.h"
#include "hamrf/hnn.h"
#include "hamrf/lstsq.h"
#include "hamrf/sampler.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The settings are the HNN's (same fields, same meaning), so one parsed set of
 * options trains either model. Used here: width, sampler, act, elm_lo/elm_hi,
 * resample_duplicates, seed, progress, and for the normal solver block_rows
 * (rows per Gram block) and cache_bytes (Φ is kept in memory up to this, and
 * half the memory left); of lstsq (the outer layer is solved by
 * hrf_lstsq_solve with nrhs = dim): solver, rcond, ridge, equilibrate
 * (svd/qr), gram_refine_max (PCG on the Gram system), refine_max /
 * stream_refine_max / refine_tol / refine_stall (the normal route's LSQR
 * refinement, Φ cached / recomputed per pass), auto_direct_flops (auto),
 * skip_residual, mem_limit. use_reduce, auto_dense_max, auto_refine_max and
 * auto_probe do not apply (Φ has no structure to reduce; auto decides by
 * size alone and the normal route always refines up to refine_max). */
typedef hrf_hnn_params hrf_odenet_params;

/* Same defaults as hrf_hnn_params_default (width 1000, A-SWIM, tanh, seed 1). */
HRF_API void hrf_odenet_params_default(hrf_odenet_params *p);
/* NULL or a message a user can act on. */
HRF_API const char *hrf_odenet_params_check(const hrf_odenet_params *p);

typedef struct hrf_odenet_fit_report {
    double fit_seconds;    /* sampling + features + solve, all passes */
    double sample_seconds; /* sampling only, plus A-SWIM's evaluation of f̂ */
    double solve_seconds;  /* features + least squares, all passes */
    double solve_flops;    /* floating-point operations of all solves (model count) */
    int passes;            /* 2 for A-SWIM */
    size_t repeated_pairs; /* pairs of the final pass that had to repeat */
    int cached;            /* normal: 1 if Φ (8·K·(M+1) bytes) was kept in memory */
    /* Of the final solve (hamrf/lstsq.h's report for nrhs = dim): used (svd,
     * qr or normal), reason (auto's choice, a raised ridge), rank (svd/qr,
     * else −1), ridge_used, gram_iterations (the largest over the dim
     * columns), iterations (LSQR passes over Φ, the dim columns in lockstep)
     * and converged (the worst column: 1 met its test or stalled, 0 hit its
     * limit) for normal, rel_residual ‖ΦΘ − Y‖_F/‖Y‖_F (NaN with
     * skip_residual), seconds (features included), flops. */
    hrf_lstsq_report lstsq;
} hrf_odenet_fit_report;

typedef struct hrf_odenet hrf_odenet;

/* Fits a model to data->x, data->dxdt (data->H is not used). Errors:
 * HRF_EINVAL (params_check's message), HRF_EDATA (empty set, fewer than 2
 * points for a SWIM sampler), HRF_ETOOBIG (before allocating, with the
 * estimate), HRF_ENOMEM, HRF_ENUMERIC. `rep` may be NULL. */
HRF_API int hrf_odenet_fit(const hrf_odenet_params *p, const hrf_dataset *data, hrf_odenet **out,
                           hrf_odenet_fit_report *rep);
HRF_API void hrf_odenet_free(hrf_odenet *m); /* NULL-safe */
/* A model from given parameters (copied): W (width, dim), b (width),
 * C (width, dim), C0 (dim), row-major — e.g. the result of gradient training
 * (hamrf/baseline.h). Saved without sampler/solver/seed provenance (pass
 * them in save's `extra`). HRF_EINVAL for width 0 or an odd or zero dim,
 * HRF_EDATA for non-finite values, HRF_ENOMEM. act NULL means tanh. */
HRF_API int hrf_odenet_from_params(size_t dim, size_t width, const hrf_activation *act,
                                   const double *W, const double *b, const double *C,
                                   const double *C0, hrf_odenet **out);

HRF_API size_t hrf_odenet_dim(const hrf_odenet *m);
HRF_API size_t hrf_odenet_width(const hrf_odenet *m);
/* Read-only views of the parameters: W (M, dim), b (M), C (M, dim), C0 (dim),
 * all row-major. */
HRF_API const double *hrf_odenet_W(const hrf_odenet *m);
HRF_API const double *hrf_odenet_b(const hrf_odenet *m);
HRF_API const double *hrf_odenet_C(const hrf_odenet *m);
HRF_API const double *hrf_odenet_C0(const hrf_odenet *m);
HRF_API const hrf_activation *hrf_odenet_activation(const hrf_odenet *m);

/* f̂ at x (n, dim) into dxdt (n, dim), both row-major: Z = X Wᵀ + b by DGEMM,
 * σ, then Φ C + C0 by DGEMM, in row blocks of a few MiB. */
HRF_API int hrf_odenet_eval(const hrf_odenet *m, size_t n, const double *x, double *dxdt);
/* Jacobian of f̂ at x (n, dim): jac (n, dim, dim) row-major,
 * jac[i][a][b] = ∂f̂_a/∂x_b = Σ_k C_ka σ'(z_ik) W_kb, as one DGEMM of σ'(Z)
 * (n, M) with the stored products P[k][a·dim + b] = C_ka W_kb (M, dim²). */
HRF_API int hrf_odenet_jacobian(const hrf_odenet *m, size_t n, const double *x, double *jac);

/* The model as a vector field (hamrf/field.h): rhs = hrf_odenet_eval,
 * jac = hrf_odenet_jacobian, energy = NULL, separable = 0, hamiltonian = 0.
 * `m` must outlive the field. */
HRF_API void hrf_odenet_field(const hrf_odenet *m, hrf_field *f);

/* Errors of a model on a data set (docs/math.md §7). */
typedef struct hrf_odenet_errors {
    size_t n, dim;
    double rel_l2_dxdt; /* ‖f̂ − dx/dt‖₂/‖dx/dt‖₂ over all points and coordinates */
    double mse_dxdt;    /* mean over points and coordinates of (f̂ − dx/dt)² */
} hrf_odenet_errors;

/* HRF_EINVAL (message gives both dimensions) if the model's dimension differs
 * from the data set's; HRF_ENOMEM if the work arrays do not fit. */
HRF_API int hrf_odenet_errors_on(const hrf_odenet *m, const hrf_dataset *d, hrf_odenet_errors *out);

/* Saves W, b, C, C0 and meta: the model's provenance (how it was made; for
 * a sampled fit "sampler", "solver" (the one used) and "seed" come last),
 * the members of `extra_json` (a JSON object as text, or NULL), then
 * "format":"hamrf", "kind":"model", "version":1, "model":"odenet",
 * "activation", "width", "dim" (docs/formats.md). These keys override
 * members of `extra_json` of the same name. Atomic. HRF_EINVAL when
 * extra_json is not a JSON object. */
HRF_API int hrf_odenet_save(const hrf_odenet *m, const char *path, const char *extra_json);
/* Loads and validates a model (meta "model" must be "odenet"; shapes W (M,
 * dim), b (M), C (M, dim), C0 (dim), dim even; all finite). *meta_json (may
 * be NULL) receives the file's meta as JSON text (free with free()). */
HRF_API int hrf_odenet_load(const char *path, hrf_odenet **out, char **meta_json);

#ifdef __cplusplus
}
#endif

#endif
