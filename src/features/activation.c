/* Activation records (docs/math.md §2). tanh is evaluated from exponentials:
 * with m = expm1(−2|z|) and e = exp(−2|z|),
 *   tanh z = sign(z) (−m)/(2 + m)   and   tanh' z = sech² z = 4e/(1 + e)²,
 * which keeps full relative accuracy of σ near 0 (expm1 avoids the
 * cancellation in 1 − e) and of σ' for large |z| (where 1 − tanh² cancels,
 * and so would e = 1 + m once m rounds to −1, at |z| ≳ 19).
 *
 * With HRF_HAVE_MVEC (CMake found glibc's libmvec) expm1 and exp are
 * declared with the OpenMP simd attribute, so the `omp simd` loops below call
 * libmvec's AVX2 variants (≤ 4 ulp, against ≤ 1 ulp for the scalar calls):
 * 4.5x faster on this project's machines. Results stay deterministic; an
 * element may differ in the last bits with its position in the array (the
 * loop's scalar remainder uses the scalar functions). */
#include "hamrf/activation.h"
#include "hamrf/status.h"

#include <math.h>
#include <string.h>

#ifdef HRF_HAVE_MVEC
__attribute__((simd("notinbranch"))) double expm1(double);
__attribute__((simd("notinbranch"))) double exp(double);
__attribute__((simd("notinbranch"))) float expm1f(float);
#endif

static void tanh_eval(size_t n, const double *z, double *s, double *ds) {
    if (s && ds) {
#pragma omp simd
        for (size_t i = 0; i < n; i++) {
            double a2 = -2.0 * fabs(z[i]);
            double m = expm1(a2), e = exp(a2);
            double inv = 1.0 / (1.0 + e);
            s[i] = copysign(-m / (2.0 + m), z[i]);
            ds[i] = 4.0 * e * inv * inv;
        }
    } else if (ds) {
#pragma omp simd
        for (size_t i = 0; i < n; i++) {
            double e = exp(-2.0 * fabs(z[i]));
            double inv = 1.0 / (1.0 + e);
            ds[i] = 4.0 * e * inv * inv;
        }
    } else if (s) {
#pragma omp simd
        for (size_t i = 0; i < n; i++) {
            double m = expm1(-2.0 * fabs(z[i]));
            s[i] = copysign(-m / (2.0 + m), z[i]);
        }
    }
}

static void tanh_eval_f32(size_t n, const double *z, float *s, float *ds) {
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        float a = (float)fabs(z[i]);
        float m = expm1f(-2.0f * a);
        float e = 1.0f + m;
        float inv = 1.0f / (2.0f + m);
        s[i] = copysignf(-m * inv, (float)z[i]);
        ds[i] = 4.0f * e * inv * inv;
    }
}

/* σ'' = −2 σ σ' from the same exponential as tanh_eval. */
static void tanh_eval_d2(size_t n, const double *z, double *out) {
#pragma omp simd
    for (size_t i = 0; i < n; i++) {
        double a2 = -2.0 * fabs(z[i]);
        double m = expm1(a2), e = exp(a2);
        double inv = 1.0 / (1.0 + e);
        double s = copysign(-m / (2.0 + m), z[i]);
        out[i] = -8.0 * s * e * inv * inv; /* −2 σ σ' */
    }
}

static double tanh_d2(double z) {
    double t = tanh(z);
    return -2.0 * t * (1.0 - t * t);
}

/* s2 = atanh(1/2) = ln(3)/2, s1 = 2 s2 = ln 3 (docs/math.md §3.2). */
const hrf_activation hrf_activation_tanh = {
    .name = "tanh",
    .eval = tanh_eval,
    .eval_f32 = tanh_eval_f32,
    .d2 = tanh_d2,
    .eval_d2 = tanh_eval_d2,
    .s1 = 1.0986122886681098,
    .s2 = 0.5493061443340549,
};

static const hrf_activation *const all_activations[] = {&hrf_activation_tanh, NULL};

const hrf_activation *const *hrf_activations(void) {
    return all_activations;
}

int hrf_activation_find(const char *name, const hrf_activation **act) {
    for (int i = 0; all_activations[i]; i++) {
        if (strcmp(all_activations[i]->name, name) == 0) {
            *act = all_activations[i];
            return HRF_OK;
        }
    }
    return hrf_error(HRF_ENOTFOUND, "unknown activation '%s' (known: tanh)", name);
}
