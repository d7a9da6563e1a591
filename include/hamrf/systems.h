/* Built-in low-dimensional Hamiltonian systems (docs/math.md §1, §5).
 *
 * State x = (q_1..q_d, p_1..p_d), length 2d. Each system is a const type
 * object (docs/architecture.md, extension points) with named parameters, analytic H and ∇H,
 * and the default RF-HNN box. Adding a system is one new table in
 * src/systems/ plus one line in the registry. */
#ifndef HAMRF_SYSTEMS_H
#define HAMRF_SYSTEMS_H

#include "hamrf/export.h"

#include <stddef.h>

#include "hamrf/field.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HRF_SYSTEM_MAX_PARAMS 8
#define HRF_SYSTEM_MAX_DOF 4

typedef struct hrf_system_type {
    const char *name;        /* e.g. "pendulum" */
    const char *description; /* one line, the formula of H */
    int dof;                 /* d: degrees of freedom; the state has 2d entries */
    int separable;           /* 1: H = T(p) + V(q), so dq/dt depends on p only and
                                dp/dt on q only (explicit symplectic schemes apply) */
    int nparams;
    const char *param_names[HRF_SYSTEM_MAX_PARAMS];
    double param_defaults[HRF_SYSTEM_MAX_PARAMS];
    /* Default RF-HNN box: every q in [q_lo, q_hi], every p in [p_lo, p_hi]. */
    double q_lo, q_hi, p_lo, p_hi;
    /* H(x); params has nparams entries, x has 2d. */
    double (*H)(const double *params, const double *x);
    /* grad[0..2d-1] = ∇H(x) = (∂H/∂q, ∂H/∂p). */
    void (*grad)(const double *params, const double *x, double *grad);
    /* Optional check of a parameter set (e.g. positive masses); NULL or a
     * message a user can act on. May be NULL. */
    const char *(*check)(const double *params);
} hrf_system_type;

/* A system with its parameter values. */
typedef struct hrf_system {
    const hrf_system_type *type;
    double params[HRF_SYSTEM_MAX_PARAMS];
} hrf_system;

/* Registry: NULL-terminated list of all built-in system types. */
HRF_API const hrf_system_type *const *hrf_system_types(void);

/* Looks up a type by name; HRF_ENOTFOUND (message lists the known names). */
HRF_API int hrf_system_find(const char *name, const hrf_system_type **type);

/* Initialises `sys` with `type` and its default parameters. */
HRF_API void hrf_system_init(hrf_system *sys, const hrf_system_type *type);

/* Sets parameter `key` to `value`: HRF_ENOTFOUND for an unknown key (message
 * names the system and lists its parameters), HRF_EINVAL for a non-finite
 * value or one the system's check rejects. */
HRF_API int hrf_system_set(hrf_system *sys, const char *key, double value);

/* H and ∇H at n states x (n, 2d) row-major: H (n), grad (n, 2d) row-major.
 * Either output may be NULL. */
HRF_API void hrf_system_eval(const hrf_system *sys, size_t n, const double *x, double *H,
                             double *grad);

/* Vector field dx/dt = J ∇H at n states: dxdt (n, 2d). */
HRF_API void hrf_system_vector_field(const hrf_system *sys, size_t n, const double *x,
                                     double *dxdt);

/* The exact field of a built-in system: rhs = J ∇H, energy = H, separable as
 * the system type says, jac = NULL (central differences). `sys` must outlive
 * the field. */
HRF_API void hrf_field_from_system(hrf_field *f, const hrf_system *sys);

#ifdef __cplusplus
}
#endif

#endif
