/* The shallow Hamiltonian network (docs/math.md §2–4):
 *   Ĥ(x) = Σ_k c_k σ(w_k·x + b_k) + c_0,   ∇Ĥ(x) = Σ_k c_k σ'(z_k) w_k,
 * with the hidden layer sampled (hamrf/sampler.h) and (c, c_0) from one linear
 * least-squares solve (hamrf/lstsq.h) of the gradient rows and the anchor row.
 *
 * Lifecycle: hrf_hnn_params_default → set fields → hrf_hnn_params_check →
 * hrf_hnn_fit → hrf_hnn_eval / hrf_hnn_save → hrf_hnn_free. */
#ifndef HAMRF_HNN_H
#define HAMRF_HNN_H

#include "hamrf/export.h"

#include <stddef.h>
#include <stdint.h>

#include "hamrf/activation.h"
#include "hamrf/dataset.h"
#include "hamrf/field.h"
#include "hamrf/lstsq.h"
#include "hamrf/progress.h"
#include "hamrf/sampler.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hrf_hnn_params {
    size_t width;                    /* M, default 1000 */
    const hrf_sampler_type *sampler; /* default A-SWIM */
    const hrf_activation *act;       /* default tanh */
    double elm_lo, elm_hi;           /* ELM bias range; NaN = the data's box bounds */
    int resample_duplicates;         /* default 1 */
    uint64_t seed;                   /* default 1 */
    hrf_lstsq_params lstsq;
    size_t cache_bytes;       /* max bytes to keep σ'(Z) in memory; default 2 GiB,
                                 never above half the available memory */
    size_t block_rows;        /* rows per streamed block; 0 (default) = ~32 MiB */
    hrf_progress_fn progress; /* may be NULL */
    void *progress_user;
    /* Processes sharing the fit (hamrf/comm.h, docs/mpi.md): each passes its
     * own rows as `data` (same anchor, box and options everywhere) and all
     * receive the same model. NULL (default): this process has every row. */
    const hrf_comm *comm;
} hrf_hnn_params;

HRF_API void hrf_hnn_params_default(hrf_hnn_params *p);
HRF_API const char *hrf_hnn_params_check(const hrf_hnn_params *p);

typedef struct hrf_hnn_fit_report {
    double fit_seconds;     /* sampling + assembly + solve, all passes */
    double sample_seconds;  /* sampling only */
    double solve_seconds;   /* least squares (Gram accumulation included), all passes */
    double solve_flops;     /* floating-point operations of all solves (model count) */
    int passes;             /* 2 for A-SWIM */
    size_t repeated_pairs;  /* pairs that had to repeat (pool too small) */
    int cached;             /* 1 if σ'(Z) was kept in memory */
    hrf_lstsq_report lstsq; /* of the final solve */
} hrf_hnn_fit_report;

typedef struct hrf_hnn hrf_hnn;

HRF_API int hrf_hnn_fit(const hrf_hnn_params *p, const hrf_dataset *data, hrf_hnn **out,
                        hrf_hnn_fit_report *rep);

/* A model from given parameters (copied): W (width, dim), b (width),
 * c (width), c0 — e.g. the result of gradient training (hamrf/baseline.h).
 * HRF_EINVAL for width 0, an odd or zero dim, or non-finite values. */
HRF_API int hrf_hnn_from_params(size_t dim, size_t width, const hrf_activation *act,
                                const double *W, const double *b, const double *c, double c0,
                                hrf_hnn **out);
HRF_API void hrf_hnn_free(hrf_hnn *m);

HRF_API size_t hrf_hnn_dim(const hrf_hnn *m);
HRF_API size_t hrf_hnn_width(const hrf_hnn *m);
/* Read-only views of the parameters: W (M, dim), b (M), c (M), c0. */
HRF_API const double *hrf_hnn_W(const hrf_hnn *m);
HRF_API const double *hrf_hnn_b(const hrf_hnn *m);
HRF_API const double *hrf_hnn_c(const hrf_hnn *m);
HRF_API double hrf_hnn_c0(const hrf_hnn *m);
HRF_API const hrf_activation *hrf_hnn_activation(const hrf_hnn *m);

/* Ĥ (n) and ∇Ĥ (n, dim) at x (n, dim); either output may be NULL. */
HRF_API int hrf_hnn_eval(const hrf_hnn *m, size_t n, const double *x, double *H, double *grad);
/* dx/dt = J ∇Ĥ at x (n, dim). */
HRF_API int hrf_hnn_vector_field(const hrf_hnn *m, size_t n, const double *x, double *dxdt);

/* Hessian ∇²Ĥ = Σ_k c_k σ''(z_k) w_k w_kᵀ at x (n, dim): hess (n, dim, dim).
 * HRF_EINVAL for a corrected model (it would need the third derivative). */
HRF_API int hrf_hnn_hessian(const hrf_hnn *m, size_t n, const double *x, double *hess);

/* Backward-error correction (sign derived in docs/math.md §6.2):
 * with h ≠ 0 the model's Hamiltonian becomes
 *   H̃ = Ĥ + (h/2) ∇_qĤ · ∇_pĤ,
 * the first-order correction for a network fitted through one q-first
 * symplectic Euler step of size h (hrf_dataset_pairs_targets). eval,
 * vector_field, field and save all use H̃; h = 0 removes it. Call
 * hrf_hnn_pin afterwards to restore the anchor value. */
HRF_API int hrf_hnn_set_correction(hrf_hnn *m, double h);
HRF_API double hrf_hnn_correction(const hrf_hnn *m); /* 0 when uncorrected */

/* Shifts c_0 so that the model's Hamiltonian (corrected if set) equals H0 at x0 (dim). */
HRF_API int hrf_hnn_pin(hrf_hnn *m, const double *x0, double H0);

/* The hamrf/field.h view of the model: rhs = J∇H, energy = H (both
 * corrected if set), jac from the exact Hessian (NULL, i.e. central
 * differences, for a corrected model), not separable. m must outlive f. */
HRF_API void hrf_hnn_field(const hrf_hnn *m, hrf_field *f);

/* Errors of a model on a data set (docs/math.md §7). */
typedef struct hrf_hnn_errors {
    size_t n, dim;
    int has_H;          /* 0 when the data set carries no energies */
    double rel_l2_H;    /* ‖Ĥ − H‖/‖H‖ (Ĥ includes c_0); NaN without H */
    double rel_l2_grad; /* ‖∇Ĥ − J⁻¹ dx/dt‖/‖J⁻¹ dx/dt‖ over all entries */
    double mse_dxdt;    /* mean over points and coordinates of (J∇Ĥ − dx/dt)² */
} hrf_hnn_errors;

/* HRF_EINVAL (message gives both dimensions) if the model's input dimension
 * differs from the data set's; HRF_ENOMEM if the work arrays do not fit. */
HRF_API int hrf_hnn_errors_on(const hrf_hnn *m, const hrf_dataset *d, hrf_hnn_errors *out);

/* Saves W, b, c, c0 and meta: the model's provenance (how the fit made it:
 * sampler, solver, seed, training system ...), the members of `extra_json`
 * (a JSON object as text, or NULL), then kind "model", model "hnn",
 * activation, width, dim (docs/formats.md). Atomic. HRF_EINVAL when
 * extra_json is not a JSON object. */
HRF_API int hrf_hnn_save(const hrf_hnn *m, const char *path, const char *extra_json);
/* Loads and validates a model; *meta_json (may be NULL) receives the file's
 * meta as JSON text (free with free()). */
HRF_API int hrf_hnn_load(const char *path, hrf_hnn **out, char **meta_json);

#ifdef __cplusplus
}
#endif

#endif
