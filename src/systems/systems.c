/* Built-in low-dimensional Hamiltonian systems: the table of docs/math.md §5 with
 * analytic H and ∇H, plus the registry, parameter setting by name and the
 * batched evaluation of H, ∇H and the vector field dx/dt = J ∇H (docs/math.md §1).
 *
 * Every system is one const hrf_system_type (docs/architecture.md, extension points). The
 * state is x = (q_1..q_d, p_1..p_d); params[] holds the values in the order
 * of the type's param_names. Adding a system: write its H, grad and check,
 * fill one table, add it to `registry` at the bottom. */
#include "hamrf/systems.h"

#include "hamrf/status.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* π to double precision (M_PI is not part of ISO C11). */
#define PI 3.14159265358979323846

/* ------------------------------------------------------------------------ */
/* spring: H = k q²/2 + p²/(2m)                                             */
/* ------------------------------------------------------------------------ */

enum { SPRING_K, SPRING_M };

static double spring_H(const double *par, const double *x) {
    const double k = par[SPRING_K], m = par[SPRING_M];
    const double q = x[0], p = x[1];
    return 0.5 * k * q * q + 0.5 * p * p / m;
}

static void spring_grad(const double *par, const double *x, double *g) {
    const double k = par[SPRING_K], m = par[SPRING_M];
    g[0] = k * x[0]; /* ∂H/∂q */
    g[1] = x[1] / m; /* ∂H/∂p */
}

static const char *spring_check(const double *par) {
    if (!(par[SPRING_M] > 0)) return "the mass m must be > 0";
    /* k = 0 is a free particle, still a valid Hamiltonian; k < 0 is no spring. */
    if (!(par[SPRING_K] >= 0)) return "the spring constant k must be >= 0";
    return NULL;
}

static const hrf_system_type spring_type = {
    .name = "spring",
    .description = "H = k q^2/2 + p^2/(2 m)",
    .dof = 1,
    .separable = 1,
    .nparams = 2,
    .param_names = {"k", "m"},
    .param_defaults = {1.0, 1.0},
    .q_lo = -1.0,
    .q_hi = 1.0,
    .p_lo = -1.0,
    .p_hi = 1.0,
    .H = spring_H,
    .grad = spring_grad,
    .check = spring_check,
};

/* ------------------------------------------------------------------------ */
/* pendulum: H = p²/(2 m l²) + m g l (1 − cos(f q))                         */
/* ------------------------------------------------------------------------ */

enum { PEND_M, PEND_L, PEND_G, PEND_F };

static double pendulum_H(const double *par, const double *x) {
    const double m = par[PEND_M], l = par[PEND_L], g = par[PEND_G], f = par[PEND_F];
    const double q = x[0], p = x[1];
    return 0.5 * p * p / (m * l * l) + m * g * l * (1.0 - cos(f * q));
}

static void pendulum_grad(const double *par, const double *x, double *grad) {
    const double m = par[PEND_M], l = par[PEND_L], g = par[PEND_G], f = par[PEND_F];
    const double q = x[0], p = x[1];
    grad[0] = m * g * l * f * sin(f * q); /* ∂H/∂q */
    grad[1] = p / (m * l * l);            /* ∂H/∂p */
}

static const char *pendulum_check(const double *par) {
    if (!(par[PEND_M] > 0)) return "the mass m must be > 0";
    if (!(par[PEND_L] > 0)) return "the length l must be > 0";
    /* g < 0 (gravity upwards) and any f (frequency factor) give valid
     * Hamiltonians: they only shift or rescale the angle. */
    return NULL;
}

static const hrf_system_type pendulum_type = {
    .name = "pendulum",
    .description = "H = p^2/(2 m l^2) + m g l (1 - cos(f q))",
    .dof = 1,
    .separable = 1,
    .nparams = 4,
    .param_names = {"m", "l", "g", "f"},
    .param_defaults = {1.0, 1.0, 1.0, 1.0},
    .q_lo = -2.0 * PI,
    .q_hi = 2.0 * PI,
    .p_lo = -1.0,
    .p_hi = 1.0,
    .H = pendulum_H,
    .grad = pendulum_grad,
    .check = pendulum_check,
};

/* ------------------------------------------------------------------------ */
/* lotka_volterra: H = δ e^p − γ p + β e^q − α q                            */
/* (q, p are the logarithms of the two populations)                         */
/* ------------------------------------------------------------------------ */

enum { LV_ALPHA, LV_BETA, LV_GAMMA, LV_DELTA };

static double lotka_volterra_H(const double *par, const double *x) {
    const double a = par[LV_ALPHA], b = par[LV_BETA], c = par[LV_GAMMA], d = par[LV_DELTA];
    const double q = x[0], p = x[1];
    return d * exp(p) - c * p + b * exp(q) - a * q;
}

static void lotka_volterra_grad(const double *par, const double *x, double *g) {
    const double a = par[LV_ALPHA], b = par[LV_BETA], c = par[LV_GAMMA], d = par[LV_DELTA];
    const double q = x[0], p = x[1];
    g[0] = b * exp(q) - a; /* ∂H/∂q */
    g[1] = d * exp(p) - c; /* ∂H/∂p */
}

static const hrf_system_type lotka_volterra_type = {
    .name = "lotka_volterra",
    .description = "H = delta e^p - gamma p + beta e^q - alpha q",
    .dof = 1,
    .separable = 1,
    .nparams = 4,
    .param_names = {"alpha", "beta", "gamma", "delta"},
    .param_defaults = {-2.0, -1.0, -1.0, -1.0},
    .q_lo = -2.0,
    .q_hi = 2.0,
    .p_lo = -2.0,
    .p_hi = 2.0,
    .H = lotka_volterra_H,
    .grad = lotka_volterra_grad,
    .check = NULL, /* any finite values define a valid Hamiltonian */
};

/* ------------------------------------------------------------------------ */
/* double_pendulum, state (q1, q2, p1, p2), q the two angles from the        */
/* downward vertical, p the canonical momenta:                               */
/*                                                                           */
/*   H = T + V,  T = N / D,                                                  */
/*   N = m2 l2² p1² + (m1+m2) l1² p2² − 2 m2 l1 l2 p1 p2 cos Δ,  Δ = q1 − q2   */
/*   D = 2 m2 l1² l2² A,   A = m1 + m2 sin² Δ                                */
/*   V = −(m1+m2) g l1 cos q1 − m2 g l2 cos q2                               */
/*                                                                           */
/* T = ½ pᵀ M(Δ)⁻¹ p with the Lagrangian's mass matrix                      */
/*   M = [[(m1+m2) l1², m2 l1 l2 cos Δ], [m2 l1 l2 cos Δ, m2 l2²]],          */
/*   det M = m2 l1² l2² A  (so D = 2 det M).                                 */
/* ------------------------------------------------------------------------ */

enum { DP_M1, DP_M2, DP_L1, DP_L2, DP_G };

static double double_pendulum_H(const double *par, const double *x) {
    const double m1 = par[DP_M1], m2 = par[DP_M2], l1 = par[DP_L1], l2 = par[DP_L2];
    const double g = par[DP_G];
    const double q1 = x[0], q2 = x[1], p1 = x[2], p2 = x[3];
    const double c = cos(q1 - q2), s = sin(q1 - q2);
    const double N =
        m2 * l2 * l2 * p1 * p1 + (m1 + m2) * l1 * l1 * p2 * p2 - 2.0 * m2 * l1 * l2 * p1 * p2 * c;
    const double D = 2.0 * m2 * l1 * l1 * l2 * l2 * (m1 + m2 * s * s);
    const double V = -(m1 + m2) * g * l1 * cos(q1) - m2 * g * l2 * cos(q2);
    return N / D + V;
}

/* Gradient. T depends on the angles only through Δ = q1 − q2, so
 *   ∂T/∂q1 = dT/dΔ,  ∂T/∂q2 = −dT/dΔ.
 * With N' = ∂N/∂Δ = 2 m2 l1 l2 p1 p2 sin Δ and
 *      D' = ∂D/∂Δ = 2 m2 l1² l2² · 2 m2 sin Δ cos Δ, i.e. D'/D = 2 m2 sin Δ cos Δ / A,
 * the quotient rule gives
 *   dT/dΔ = (N' − T D') / D = N'/D − T · 2 m2 sin Δ cos Δ / A.
 * The momentum derivatives are M⁻¹ p:
 *   ∂T/∂p1 = (2 m2 l2² p1 − 2 m2 l1 l2 p2 cos Δ) / D
 *   ∂T/∂p2 = (2 (m1+m2) l1² p2 − 2 m2 l1 l2 p1 cos Δ) / D
 * and the potential adds ∂V/∂q1 = (m1+m2) g l1 sin q1, ∂V/∂q2 = m2 g l2 sin q2. */
static void double_pendulum_grad(const double *par, const double *x, double *grad) {
    const double m1 = par[DP_M1], m2 = par[DP_M2], l1 = par[DP_L1], l2 = par[DP_L2];
    const double g = par[DP_G];
    const double q1 = x[0], q2 = x[1], p1 = x[2], p2 = x[3];
    const double c = cos(q1 - q2), s = sin(q1 - q2);

    const double A = m1 + m2 * s * s;
    const double N =
        m2 * l2 * l2 * p1 * p1 + (m1 + m2) * l1 * l1 * p2 * p2 - 2.0 * m2 * l1 * l2 * p1 * p2 * c;
    const double D = 2.0 * m2 * l1 * l1 * l2 * l2 * A;
    const double T = N / D;

    const double dN = 2.0 * m2 * l1 * l2 * p1 * p2 * s;  /* ∂N/∂Δ */
    const double dT = dN / D - T * 2.0 * m2 * s * c / A; /* dT/dΔ */

    grad[0] = dT + (m1 + m2) * g * l1 * sin(q1);                                  /* ∂H/∂q1 */
    grad[1] = -dT + m2 * g * l2 * sin(q2);                                        /* ∂H/∂q2 */
    grad[2] = (2.0 * m2 * l2 * l2 * p1 - 2.0 * m2 * l1 * l2 * p2 * c) / D;        /* ∂H/∂p1 */
    grad[3] = (2.0 * (m1 + m2) * l1 * l1 * p2 - 2.0 * m2 * l1 * l2 * p1 * c) / D; /* ∂H/∂p2 */
}

static const char *double_pendulum_check(const double *par) {
    /* m2 > 0 and l1, l2 > 0 keep D away from 0; m1 > 0 keeps A = m1 + m2 sin²Δ
     * positive when the arms are aligned (sin Δ = 0). */
    if (!(par[DP_M1] > 0)) return "the mass m1 must be > 0";
    if (!(par[DP_M2] > 0)) return "the mass m2 must be > 0";
    if (!(par[DP_L1] > 0)) return "the length l1 must be > 0";
    if (!(par[DP_L2] > 0)) return "the length l2 must be > 0";
    return NULL;
}

static const hrf_system_type double_pendulum_type = {
    .name = "double_pendulum",
    .description = "H = [m2 l2^2 p1^2 + (m1+m2) l1^2 p2^2 - 2 m2 l1 l2 p1 p2 cos(q1-q2)]"
                   " / [2 m2 l1^2 l2^2 (m1 + m2 sin^2(q1-q2))]"
                   " - (m1+m2) g l1 cos q1 - m2 g l2 cos q2",
    .dof = 2,
    .separable = 0,
    .nparams = 5,
    .param_names = {"m1", "m2", "l1", "l2", "g"},
    .param_defaults = {1.0, 1.0, 1.0, 1.0, 1.0},
    .q_lo = -PI,
    .q_hi = PI,
    .p_lo = -1.0,
    .p_hi = 1.0,
    .H = double_pendulum_H,
    .grad = double_pendulum_grad,
    .check = double_pendulum_check,
};

/* ------------------------------------------------------------------------ */
/* henon_heiles: H = (p1² + p2²)/2 + (q1² + q2²)/2 + α (q1² q2 − q2³/3)      */
/* ------------------------------------------------------------------------ */

enum { HH_ALPHA };

static double henon_heiles_H(const double *par, const double *x) {
    const double a = par[HH_ALPHA];
    const double q1 = x[0], q2 = x[1], p1 = x[2], p2 = x[3];
    return 0.5 * (p1 * p1 + p2 * p2) + 0.5 * (q1 * q1 + q2 * q2) +
           a * (q1 * q1 * q2 - q2 * q2 * q2 / 3.0);
}

static void henon_heiles_grad(const double *par, const double *x, double *g) {
    const double a = par[HH_ALPHA];
    const double q1 = x[0], q2 = x[1], p1 = x[2], p2 = x[3];
    g[0] = q1 + 2.0 * a * q1 * q2;       /* ∂H/∂q1 */
    g[1] = q2 + a * (q1 * q1 - q2 * q2); /* ∂H/∂q2 */
    g[2] = p1;                           /* ∂H/∂p1 */
    g[3] = p2;                           /* ∂H/∂p2 */
}

static const hrf_system_type henon_heiles_type = {
    .name = "henon_heiles",
    .description = "H = (p1^2 + p2^2)/2 + (q1^2 + q2^2)/2 + alpha (q1^2 q2 - q2^3/3)",
    .dof = 2,
    .separable = 1,
    .nparams = 1,
    .param_names = {"alpha"},
    .param_defaults = {1.0},
    .q_lo = -5.0,
    .q_hi = 5.0,
    .p_lo = -5.0,
    .p_hi = 5.0,
    .H = henon_heiles_H,
    .grad = henon_heiles_grad,
    .check = NULL, /* any finite alpha (RF-HNN sweeps 0..1) */
};

/* ------------------------------------------------------------------------ */
/* Registry and generic operations                                          */
/* ------------------------------------------------------------------------ */

static const hrf_system_type *const registry[] = {
    &spring_type,          &pendulum_type,     &lotka_volterra_type,
    &double_pendulum_type, &henon_heiles_type, NULL,
};

const hrf_system_type *const *hrf_system_types(void) {
    return registry;
}

int hrf_system_find(const char *name, const hrf_system_type **type) {
    if (type) *type = NULL;
    if (!name || !type)
        return hrf_error(HRF_EINVAL, "hrf_system_find: name and type must not be NULL");
    for (const hrf_system_type *const *t = registry; *t; t++) {
        if (strcmp((*t)->name, name) == 0) {
            *type = *t;
            return HRF_OK;
        }
    }
    char known[512] = "";
    size_t len = 0;
    for (const hrf_system_type *const *t = registry; *t && len < sizeof known; t++) {
        int w = snprintf(known + len, sizeof known - len, "%s%s", t == registry ? "" : ", ",
                         (*t)->name);
        if (w < 0) break;
        len += (size_t)w;
    }
    return hrf_error(HRF_ENOTFOUND, "unknown system '%s' (known systems: %s)", name, known);
}

void hrf_system_init(hrf_system *sys, const hrf_system_type *type) {
    if (!sys) return;
    memset(sys, 0, sizeof *sys);
    sys->type = type;
    if (!type) return;
    for (int i = 0; i < type->nparams && i < HRF_SYSTEM_MAX_PARAMS; i++)
        sys->params[i] = type->param_defaults[i];
}

int hrf_system_set(hrf_system *sys, const char *key, double value) {
    if (!sys || !sys->type || !key)
        return hrf_error(HRF_EINVAL, "hrf_system_set: system, its type and key must not be NULL");
    const hrf_system_type *t = sys->type;
    int idx = -1;
    for (int i = 0; i < t->nparams; i++) {
        if (strcmp(t->param_names[i], key) == 0) {
            idx = i;
            break;
        }
    }
    if (idx < 0) {
        char names[256] = "";
        size_t len = 0;
        for (int i = 0; i < t->nparams && len < sizeof names; i++) {
            int w =
                snprintf(names + len, sizeof names - len, "%s%s", i ? ", " : "", t->param_names[i]);
            if (w < 0) break;
            len += (size_t)w;
        }
        return hrf_error(HRF_ENOTFOUND, "system '%s' has no parameter '%s' (its parameters: %s)",
                         t->name, key, names);
    }
    if (!isfinite(value))
        return hrf_error(HRF_EINVAL, "system '%s': parameter %s = %g is not a finite number",
                         t->name, key, value);
    if (t->check) {
        /* Validate the whole set with the new value; keep the old one on failure. */
        double trial[HRF_SYSTEM_MAX_PARAMS];
        memcpy(trial, sys->params, sizeof trial);
        trial[idx] = value;
        const char *msg = t->check(trial);
        if (msg)
            return hrf_error(HRF_EINVAL, "system '%s': cannot set %s = %g: %s", t->name, key, value,
                             msg);
    }
    sys->params[idx] = value;
    return HRF_OK;
}

void hrf_system_eval(const hrf_system *sys, size_t n, const double *x, double *H, double *grad) {
    if (!sys || !sys->type || !x) return;
    const size_t dim = 2 * (size_t)sys->type->dof;
    for (size_t i = 0; i < n; i++) {
        if (H) H[i] = sys->type->H(sys->params, x + i * dim);
        if (grad) sys->type->grad(sys->params, x + i * dim, grad + i * dim);
    }
}

void hrf_system_vector_field(const hrf_system *sys, size_t n, const double *x, double *dxdt) {
    if (!sys || !sys->type || !x || !dxdt) return;
    const size_t d = (size_t)sys->type->dof, dim = 2 * d;
    double g[2 * HRF_SYSTEM_MAX_DOF]; /* ∇H at one state; a copy, so x == dxdt is safe */
    for (size_t i = 0; i < n; i++) {
        sys->type->grad(sys->params, x + i * dim, g);
        for (size_t j = 0; j < d; j++) {
            dxdt[i * dim + j] = g[d + j];  /* dq/dt =  ∂H/∂p */
            dxdt[i * dim + d + j] = -g[j]; /* dp/dt = −∂H/∂q */
        }
    }
}

/* ---- the field of a built-in system ------------------------------------ */

static int system_rhs(void *ctx, size_t n, const double *x, double *dxdt) {
    hrf_system_vector_field((const hrf_system *)ctx, n, x, dxdt);
    return HRF_OK;
}

static int system_energy(void *ctx, size_t n, const double *x, double *H) {
    hrf_system_eval((const hrf_system *)ctx, n, x, H, NULL);
    return HRF_OK;
}

void hrf_field_from_system(hrf_field *f, const hrf_system *sys) {
    if (!f) return;
    memset(f, 0, sizeof *f);
    if (!sys || !sys->type) return;
    f->dim = 2 * (size_t)sys->type->dof;
    f->separable = sys->type->separable;
    f->hamiltonian = 1;
    f->ctx = (void *)sys; /* the callbacks only read it */
    f->rhs = system_rhs;
    f->jac = NULL; /* implicit schemes fall back to hrf_field_jac_fd */
    f->energy = system_energy;
}
