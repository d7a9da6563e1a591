/* Particle systems as vector fields (hamrf/pfield.h): Hamilton's equations
 * of docs/math.md §10 over flattened states, for the integrators of §8. */
#include "hamrf/pfield.h"

#include "hamrf/status.h"
#include "systems/particles_impl.h"

#include <string.h>

/* dp/dt = the forces at q of state k of a batch: for periodic cutoff systems
 * (Lennard-Jones) from the state's Verlet list (particles_md.c, docs/math.md
 * §10 "MD of the analytic systems"), otherwise as hrf_psystem_eval computes
 * them (bonds). Either parallelises within the state for large N. */
static int state_forces(const hrf_psystem *s, size_t k, const double *q, double *dpdt) {
    if (s->box > 0.0 && s->D == 3) return psys_md_forces(s, k, q, dpdt);
    return hrf_psystem_eval(s, q, NULL, NULL, NULL, dpdt);
}

/* The halves of psys_rhs (hamrf/field.h): dq/dt = p/m as hrf_psystem_eval
 * computes it, and the forces alone. */
static int psys_rhs_q(void *ctx, size_t n, const double *x, double *dxdt) {
    const hrf_psystem *s = ctx;
    const size_t N = hrf_psystem_n(s), D = (size_t)hrf_psystem_dim(s), nd = N * D;
    const double *mass = hrf_psystem_masses(s);
    for (size_t k = 0; k < n; k++) {
        const double *p = x + k * 2 * nd + nd;
        double *f = dxdt + k * 2 * nd;
        for (size_t i = 0; i < N; i++)
            for (size_t a = 0; a < D; a++)
                f[i * D + a] = p[i * D + a] / mass[i];
    }
    return HRF_OK;
}

static int psys_rhs_p(void *ctx, size_t n, const double *x, double *dxdt) {
    const hrf_psystem *s = ctx;
    const size_t nd = hrf_psystem_n(s) * (size_t)hrf_psystem_dim(s);
    for (size_t k = 0; k < n; k++) {
        int rc = state_forces(s, k, x + k * 2 * nd, dxdt + k * 2 * nd + nd);
        if (rc) return hrf_error_prefix(rc, "particle system, state %zu", k);
    }
    return HRF_OK;
}

/* Both halves, one state after the other. */
static int psys_rhs(void *ctx, size_t n, const double *x, double *dxdt) {
    int rc = psys_rhs_q(ctx, n, x, dxdt);
    return rc ? rc : psys_rhs_p(ctx, n, x, dxdt);
}

static int psys_energy(void *ctx, size_t n, const double *x, double *H) {
    const hrf_psystem *s = ctx;
    const size_t nd = hrf_psystem_n(s) * (size_t)hrf_psystem_dim(s);
    for (size_t k = 0; k < n; k++) {
        const double *q = x + k * 2 * nd;
        int rc = hrf_psystem_eval(s, q, q + nd, H + k, NULL, NULL);
        if (rc) return hrf_error_prefix(rc, "particle system, state %zu", k);
    }
    return HRF_OK;
}

void hrf_psystem_field(const hrf_psystem *s, hrf_field *f) {
    memset(f, 0, sizeof *f);
    f->dim = 2 * hrf_psystem_n(s) * (size_t)hrf_psystem_dim(s);
    f->separable = 1;
    f->hamiltonian = 1;
    f->ctx = (void *)s; /* the callbacks only read it */
    f->rhs = psys_rhs;
    f->rhs_q = psys_rhs_q, f->rhs_p = psys_rhs_p;
    f->jac = NULL;
    f->energy = psys_energy;
}

void hrf_pdata_states(const hrf_pdata *d, size_t s0, size_t n, double *x) {
    const size_t nd = d->N * (size_t)d->D;
    for (size_t k = 0; k < n; k++) {
        memcpy(x + k * 2 * nd, d->q + (s0 + k) * nd, nd * sizeof *x);
        memcpy(x + k * 2 * nd + nd, d->p + (s0 + k) * nd, nd * sizeof *x);
    }
}
