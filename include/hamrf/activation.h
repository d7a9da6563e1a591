/* Activation functions (docs/math.md §2): a record of σ, σ', σ'' and the SWIM
 * constants s1, s2 such that σ(−s2) and σ(s2) are the neuron's values at the
 * two points of its sampling pair. Adding an activation is one new record in
 * src/features/activation.c; samplers and solvers only see the record. */
#ifndef HAMRF_ACTIVATION_H
#define HAMRF_ACTIVATION_H

#include "hamrf/export.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hrf_activation {
    const char *name;
    /* For i < n: s[i] = σ(z[i]) and ds[i] = σ'(z[i]); either output may be
     * NULL. Vectorised because it is the inner loop of every fit. */
    void (*eval)(size_t n, const double *z, double *s, double *ds);
    /* Optional single-precision σ, σ' (both outputs required) from double
     * pre-activations, for A-SWIM's first pass; NULL falls back to eval. */
    void (*eval_f32)(size_t n, const double *z, float *s, float *ds);
    double (*d2)(double z); /* σ''(z), for gradient-trained baselines */
    /* Optional vectorised σ'': out[i] = σ''(z[i]); out may alias z. NULL
     * falls back to d2 element by element. Used by Hessians (implicit
     * integrators) and the error correction. */
    void (*eval_d2)(size_t n, const double *z, double *out);
    double s1, s2; /* SWIM constants (docs/math.md §3.2) */
} hrf_activation;

HRF_API extern const hrf_activation hrf_activation_tanh;

/* NULL-terminated list of all activations. */
HRF_API const hrf_activation *const *hrf_activations(void);
/* HRF_ENOTFOUND (message lists the known names) if `name` is unknown. */
HRF_API int hrf_activation_find(const char *name, const hrf_activation **act);

#ifdef __cplusplus
}
#endif

#endif
