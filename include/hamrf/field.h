/* Vector fields that the integrators advance (docs/math.md §1, §8).
 *
 * A field is a small table of callbacks over a batch of n states
 * x (n, dim) row-major, dim = 2d, x = (q_1..q_d, p_1..p_d):
 *   rhs     dx/dt (n, dim)                                   required
 *   jac     ∂(dx/dt)_a/∂x_b, (n, dim, dim) row-major          optional
 *   energy  the conserved Hamiltonian H (n)                   optional
 * Built-in systems (hamrf/systems.h), trained HNNs (hamrf/hnn.h) and trained
 * ODE-nets (hamrf/odenet.h) each provide one, so every integrator works on
 * every model. Batched calls let a model use BLAS over the whole batch. */
#ifndef HAMRF_FIELD_H
#define HAMRF_FIELD_H

#include "hamrf/export.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hrf_field {
    size_t dim;      /* state dimension 2d */
    int separable;   /* 1: dq/dt depends on p only and dp/dt on q only
                        (H = T(p) + V(q)); explicit symplectic schemes apply */
    int hamiltonian; /* 1: the flow is Hamiltonian and `energy` is its H */
    void *ctx;       /* passed to every callback; owned by the caller */
    /* dxdt (n, dim) at x (n, dim). Returns HRF_OK or an error code with the
     * last-error message set. Required. */
    int (*rhs)(void *ctx, size_t n, const double *x, double *dxdt);
    /* Jacobian of rhs at x: jac (n, dim, dim), jac[i][a][b] = ∂f_a/∂x_b.
     * May be NULL: implicit schemes then use central differences of rhs. */
    int (*jac)(void *ctx, size_t n, const double *x, double *jac);
    /* H (n) at x (n, dim). May be NULL (no Hamiltonian, e.g. an ODE-net). */
    int (*energy)(void *ctx, size_t n, const double *x, double *H);
    /* Separable fields may also give rhs in halves, so that explicit
     * symplectic schemes evaluate only the half they use: rhs_q writes dq/dt
     * (from p alone) into the first dim/2 entries of each row of dxdt, rhs_p
     * dp/dt (from q alone) into the last dim/2, each exactly as rhs would.
     * Both NULL, or both set (zero-initialise the struct). */
    int (*rhs_q)(void *ctx, size_t n, const double *x, double *dxdt);
    int (*rhs_p)(void *ctx, size_t n, const double *x, double *dxdt);
} hrf_field;

/* Central-difference Jacobian of f->rhs at x (n, dim) into jac (n, dim, dim);
 * step ε_b = 2^-20 · max(1, |x_b|) (truncation O(ε²) ≈ 1e-12 relative,
 * rounding O(u/ε) ≈ 1e-10). work holds 2·n·dim doubles. */
HRF_API int hrf_field_jac_fd(const hrf_field *f, size_t n, const double *x, double *jac,
                             double *work);

#ifdef __cplusplus
}
#endif

#endif
