/* Private to the library (and its command-line tool): the HNN's struct, the
 * functions its source files share (hnn.c the model, hnn_lsq.c the structured
 * least-squares problem, hnn_fit.c the fit, hnn_file.c the files), and its
 * file and provenance functions with cJSON objects (the public API of
 * hamrf/hnn.h takes JSON text). The hnn_ functions are not exported. */
#ifndef HAMRF_SRC_HNN_IMPL_H
#define HAMRF_SRC_HNN_IMPL_H

#include <cjson/cJSON.h>

#include "hamrf/dataset.h"
#include "hamrf/hnn.h"

struct hrf_hnn {
    size_t dim, width;
    const hrf_activation *act;
    double *slab; /* one allocation: W (M, dim) | b (M) | c (M) */
    double *W, *b, *c;
    double c0;
    double corr_h; /* 0, or the step h of the backward-error correction (docs/math.md §6.2) */
    double *Pt;    /* (dim², M) P_(a,b),k = W_ka W_kb for Hessians of small dimension, or NULL */
    double *Wt;    /* (dim, M) Wᵀ for the row loops of small dimensions, or NULL */
    cJSON *prov;   /* how it was made (src/models/model_file.h), or NULL */
};

/* ---- hnn.c ---- */

/* A zeroed network of the given shape (W, b, c in one slab), or NULL when out
 * of memory. */
hrf_hnn *hnn_alloc(size_t dim, size_t width, const hrf_activation *act);

/* Work derived from W once it is final (end of fit and load): Wᵀ and the
 * Hessian products (best effort; see hnn.c). */
void hnn_prepare(hrf_hnn *m);

/* ---- hnn_lsq.c ---- */

/* Rows per streamed block of σ'(Z): about 32 MiB, at least 64. */
size_t hnn_block_rows(size_t M);

/* Solves for (c, c0) given the sampled W, b in m (the structured problem of
 * hnn_lsq.c). With Hhat non-NULL (A-SWIM's first pass), also returns Ĥ at
 * the training inputs, from σ(Z) kept beside σ'(Z) when both fit the cache
 * budget; single asks for that pass in single precision; ws (8KM bytes, may
 * be NULL) is the σ'(Z) workspace both passes share. */
int hnn_solve(const hrf_hnn_params *p, const hrf_dataset *data, const double *G, hrf_hnn *m,
              double cache_budget, hrf_hnn_fit_report *rep, double *Hhat, int *have_Hhat,
              int single, double *ws);

/* ---- hnn_rows.c: the passes over D = σ'(Z) (K x M, row-major) ----
 * Vc, Tc and P are dim x M; y, u and r have dim entries per row. Tc
 * accumulates (+=); part is nthreads x dim x M scratch. */

/* y = D·Vc for the nb rows of Db. */
void hnn_rows_times(const double *Db, size_t nb, size_t M, size_t dim, const double *Vc, double *y);
/* Tc += Dᵀ y. */
void hnn_rows_transpose_times(const double *Db, size_t nb, size_t M, size_t dim, const double *y,
                              double *Tc, double *part, int nthreads);
/* y = D·Vc and Tc += Dᵀ y, each row of D read from memory once. */
void hnn_rows_normal(const double *Db, size_t nb, size_t M, size_t dim, const double *Vc, double *y,
                     double *Tc, double *part, int nthreads);
/* r = u − D·Vc and Tc += Dᵀ r, in one pass. */
void hnn_rows_residual(const double *Db, size_t nb, size_t M, size_t dim, const double *Vc,
                       const double *u, double *r, double *Tc, double *part, int nthreads);
/* P += Σ_i D_i,: ⊗ y_i over rows [i0, i1) of Db (one thread, no partials). */
void hnn_tile_axpy(const double *Db, size_t i0, size_t i1, size_t M, size_t dim, const double *y,
                   double *P);
/* Tc += the nthreads buffers of part (len each), in thread order. */
void hnn_add_partials(const double *part, int nthreads, size_t len, double *Tc);

/* ---- hnn_file.c ---- */

/* hrf_hnn_save / hrf_hnn_load with meta objects (extra may be NULL; *meta
 * receives the file's whole meta when meta is not NULL). */
int hrf_hnn_save_meta(const hrf_hnn *m, const char *path, const cJSON *extra);
int hrf_hnn_load_meta(const char *path, hrf_hnn **out, cJSON **meta);

/* How the model was made, written first into its file's meta: set by the
 * fits (sampled: hrf_hnn_fit; gradient: hrf_gd_train_hnn) and by load.
 * set takes ownership of prov (may be NULL). */
void hrf_hnn_set_provenance(hrf_hnn *m, cJSON *prov);
const cJSON *hrf_hnn_provenance(const hrf_hnn *m);

/* ---- hnn_model.c ---- */

/* Provenance of a model fitted by sampling (hnn, odenet): sampler, solver
 * used and requested, seed, rcond, ridge, number of training points,
 * duplicate resampling, refinement limit, ELM range when set, and the
 * training data's system (trajectory pairs: "pairs", "h", "fitted_through"
 * first). NULL when out of memory. */
/* n_train: the training rows over every process (data->n for one). */
cJSON *hrf_provenance_sampled(const hrf_hnn_params *p, hrf_solver used, const hrf_dataset *data,
                              size_t n_train);

/* The default ELM bias range of a data set (docs/math.md §3.1), for the HNN
 * and the ODE-net. */
void hnn_elm_range(const hrf_dataset *data, double *lo, double *hi);
int hnn_elm_range_comm(const hrf_comm *comm, const hrf_dataset *data, double *lo, double *hi);

#endif
