/* Time integrators of docs/math.md §8 (hamrf/integrators.h): symplectic Euler in
 * both variants, Störmer–Verlet leapfrog, Yoshida's fourth-order composition,
 * the implicit midpoint rule, classical RK4 and adaptive Dormand–Prince 5(4).
 *
 * Every scheme advances a batch of n states x (n, dim), dim = 2d,
 * x = (q_1..q_d, p_1..p_d), calling the field's rhs once per stage on the
 * whole batch. A scheme is one public type object (its name and properties)
 * plus one private row of `schemes` below (its step function and how many
 * work buffers it needs); adding one touches nothing else.
 *
 * Implicit solves (midpoint always, symplectic Euler for a non-separable
 * field) run per state on the small system of that state: Newton with the
 * Jacobian re-evaluated at every iterate (the field's own, or central
 * differences), solved by LAPACK dgesv, or plain fixed-point iteration. A
 * state stops iterating as soon as it has converged, so its result does not
 * depend on which other states share the batch. */
#include "hamrf/integrators.h"

#include "hamrf/status.h"

#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- public type objects ------------------------------------------------- */

const hrf_integrator_type hrf_integrator_symplectic_euler = {
    .name = "symplectic_euler",
    .description = "symplectic Euler, q first: q1 = q0 + h dH/dp(q1,p0), "
                   "p1 = p0 - h dH/dq(q1,p0); order 1",
    .order = 1,
    .symplectic = 1,
    .implicit = 2,
    .needs_separable = 0,
    .adaptive = 0,
};

const hrf_integrator_type hrf_integrator_symplectic_euler_p = {
    .name = "symplectic_euler_p",
    .description = "symplectic Euler, p first (the adjoint): p1 = p0 - h dH/dq(q0,p1), "
                   "q1 = q0 + h dH/dp(q0,p1); order 1",
    .order = 1,
    .symplectic = 1,
    .implicit = 2,
    .needs_separable = 0,
    .adaptive = 0,
};

const hrf_integrator_type hrf_integrator_leapfrog = {
    .name = "leapfrog",
    .description = "Stormer-Verlet leapfrog (kick-drift-kick) for separable H; order 2",
    .order = 2,
    .symplectic = 1,
    .implicit = 0,
    .needs_separable = 1,
    .adaptive = 0,
};

const hrf_integrator_type hrf_integrator_yoshida4 = {
    .name = "yoshida4",
    .description = "Yoshida's triple-jump composition of leapfrog for separable H; order 4",
    .order = 4,
    .symplectic = 1,
    .implicit = 0,
    .needs_separable = 1,
    .adaptive = 0,
};

const hrf_integrator_type hrf_integrator_midpoint = {
    .name = "midpoint",
    .description = "implicit midpoint rule x1 = x0 + h f((x0 + x1)/2), any H; order 2",
    .order = 2,
    .symplectic = 1,
    .implicit = 1,
    .needs_separable = 0,
    .adaptive = 0,
};

const hrf_integrator_type hrf_integrator_rk4 = {
    .name = "rk4",
    .description = "classical Runge-Kutta; order 4, not symplectic",
    .order = 4,
    .symplectic = 0,
    .implicit = 0,
    .needs_separable = 0,
    .adaptive = 0,
};

const hrf_integrator_type hrf_integrator_rk45 = {
    .name = "rk45",
    .description = "Dormand-Prince 5(4), adaptive in advance(); order 5, not symplectic",
    .order = 5,
    .symplectic = 0,
    .implicit = 0,
    .needs_separable = 0,
    .adaptive = 1,
};

static const hrf_integrator_type *const registry[] = {
    &hrf_integrator_symplectic_euler,
    &hrf_integrator_symplectic_euler_p,
    &hrf_integrator_leapfrog,
    &hrf_integrator_yoshida4,
    &hrf_integrator_midpoint,
    &hrf_integrator_rk4,
    &hrf_integrator_rk45,
    NULL,
};

const hrf_integrator_type *const *hrf_integrator_types(void) {
    return registry;
}

int hrf_integrator_find(const char *name, const hrf_integrator_type **type) {
    if (type) *type = NULL;
    if (!name || !type)
        return hrf_error(HRF_EINVAL, "hrf_integrator_find: name and type must not be NULL");
    for (const hrf_integrator_type *const *t = registry; *t; t++) {
        if (strcmp((*t)->name, name) == 0) {
            *type = *t;
            return HRF_OK;
        }
    }
    char known[512] = "";
    size_t len = 0;
    for (const hrf_integrator_type *const *t = registry; *t && len < sizeof known; t++) {
        int w = snprintf(known + len, sizeof known - len, "%s%s", t == registry ? "" : ", ",
                         (*t)->name);
        if (w < 0) break;
        len += (size_t)w;
    }
    return hrf_error(HRF_ENOTFOUND, "unknown integrator '%s' (known integrators: %s)", name, known);
}

/* ---- parameters ----------------------------------------------------------- */

void hrf_integrator_params_default(hrf_integrator_params *p) {
    if (!p) return;
    memset(p, 0, sizeof *p);
    p->solve_tol = 1e-14;
    p->solve_max = 50;
    p->fixed_point = 0;
    p->rtol = 1e-10;
    p->atol = 1e-12;
    p->max_substeps = 100000000;
}

const char *hrf_integrator_params_check(const hrf_integrator_params *p) {
    if (!p) return "no integrator parameters given";
    if (!(isfinite(p->solve_tol) && p->solve_tol > 0))
        return "solve_tol must be a finite number > 0 (default 1e-14)";
    if (p->solve_max < 1) return "solve_max must be at least 1 (default 50)";
    if (!(isfinite(p->rtol) && p->rtol > 0))
        return "rtol must be a finite number > 0 (default 1e-10)";
    if (!(isfinite(p->atol) && p->atol >= 0))
        return "atol must be a finite number >= 0 (default 1e-12)";
    if (p->max_substeps < 1) return "max_substeps must be at least 1 (default 10^8)";
    return NULL;
}

/* ---- the integrator object ------------------------------------------------ */

#define MAX_BUF 8

struct hrf_integrator {
    const hrf_integrator_type *type;
    const struct scheme *sch;
    const hrf_field *f;
    hrf_integrator_params par;
    size_t nmax, dim, d;
    int solve;  /* 1: this scheme solves an implicit equation on this field */
    int newton; /* 1: by Newton; 0: by fixed-point iteration */
    double *slab;
    double *xnew;          /* (nmax, dim) the result of the step being taken */
    double *w[MAX_BUF];    /* (nmax, dim) each: stages, forces, evaluation points */
    double *errn;          /* (nmax) rk45 per-state error norms */
    double *jac;           /* (nmax, dim, dim) Newton only */
    double *fdw;           /* (2 nmax dim) central differences, Newton without field->jac */
    double *A;             /* (dim, dim) column-major Newton matrix of one state */
    double *r;             /* (dim) residual, then Newton update, of one state */
    lapack_int *ipiv;      /* (dim) */
    unsigned char *active; /* (nmax) 1 while a state's implicit solve iterates */
    double *prev_upd;      /* (nmax) a state's previous implicit update ‖Δ‖∞ */
    /* Leapfrog/yoshida: w[0] holds the rhs at the current state, whose dp/dt
     * half is the force at the current q (first same as last). Only valid
     * inside one advance() call. */
    int have_force;
    size_t step_no; /* 1-based step being taken, and its end time relative */
    double t_no;    /* to the start of the call, for error messages */
    hrf_integrator_stats st;
};

typedef int (*step_fn)(hrf_integrator *it, double h, size_t n, const double *x0, double *x1);

typedef struct scheme {
    const hrf_integrator_type *type;
    int nbuf;        /* (nmax, dim) work buffers w[0..nbuf-1] */
    int partitioned; /* 1: treats the q and p halves differently (needs even dim) */
    step_fn step;    /* x1 (n, dim) from x0 (n, dim); x0 is not modified */
} scheme;

/* ---- helpers -------------------------------------------------------------- */

static int eval_rhs(hrf_integrator *it, size_t n, const double *x, double *dxdt) {
    it->st.rhs_evals++;
    int rc = it->f->rhs(it->f->ctx, n, x, dxdt);
    if (rc != HRF_OK) return hrf_error_prefix(rc, "%s: the vector field failed", it->type->name);
    return HRF_OK;
}

/* Only dq/dt (half = 0) or only dp/dt (half = 1) is needed: the field's
 * half callback where it has one (separable fields), else rhs. Counted as
 * an evaluation of rhs. */
static int eval_half(hrf_integrator *it, int half, size_t n, const double *x, double *dxdt) {
    int (*fn)(void *, size_t, const double *, double *) = half ? it->f->rhs_p : it->f->rhs_q;
    if (!it->f->separable || !it->f->rhs_q || !it->f->rhs_p) return eval_rhs(it, n, x, dxdt);
    it->st.rhs_evals++;
    int rc = fn(it->f->ctx, n, x, dxdt);
    if (rc != HRF_OK) return hrf_error_prefix(rc, "%s: the vector field failed", it->type->name);
    return HRF_OK;
}

/* Jacobian (n, dim, dim) of the rhs at x into it->jac. */
static int eval_jac(hrf_integrator *it, size_t n, const double *x) {
    it->st.jac_evals++;
    int rc;
    if (it->f->jac) {
        rc = it->f->jac(it->f->ctx, n, x, it->jac);
    } else {
        rc = hrf_field_jac_fd(it->f, n, x, it->jac, it->fdw);
        it->st.rhs_evals += 2 * it->dim;
    }
    if (rc != HRF_OK) return hrf_error_prefix(rc, "%s: the Jacobian failed", it->type->name);
    return HRF_OK;
}

/* Index of the first state with a non-finite entry, or n. */
static size_t first_nonfinite(size_t n, size_t dim, const double *x) {
    for (size_t i = 0; i < n; i++)
        for (size_t a = 0; a < dim; a++)
            if (!isfinite(x[i * dim + a])) return i;
    return n;
}

/* ---- implicit solve ------------------------------------------------------- */

/* An implicit solve whose update has stopped shrinking (no longer halves per
 * iteration) counts as converged once the update is below this relative
 * size: the iterations have reached the rounding level of the field. */
#define STAGNATION_TOL 1e-10

/* Solves, for every state i, the m unknowns u = x1[i][off .. off+m) of
 *   u = x0[i][off..) + h f_off(y),   y = x1 with the u block, or for the
 *                                    midpoint rule y = (x0 + x1)/2,
 * starting from the guess in x1 (the other entries of x1 are fixed).
 * Newton matrix I − θ h ∂f_block/∂u_block with θ = 1/2 (midpoint) or 1. */
static int implicit_solve(hrf_integrator *it, double h, size_t n, const double *x0, double *x1,
                          size_t off, size_t m, int midpoint) {
    const size_t dim = it->dim;
    const double theta = midpoint ? 0.5 : 1.0, tol = it->par.solve_tol;
    double *k = it->w[0];                 /* (n, dim) rhs at y */
    double *y = midpoint ? it->w[1] : x1; /* (n, dim) evaluation point */
    double *r = it->r, *A = it->A;
    const char *method = it->newton ? "Newton" : "fixed-point";
    size_t worst = 0; /* the unconverged state furthest from its tolerance */
    double worst_upd = 0.0, worst_tol = 1.0;
    for (size_t i = 0; i < n; i++)
        it->active[i] = 1, it->prev_upd[i] = INFINITY;
    for (int iter = 1; iter <= it->par.solve_max; iter++) {
        if (midpoint)
            for (size_t j = 0; j < n * dim; j++)
                y[j] = 0.5 * (x0[j] + x1[j]);
        int rc = eval_rhs(it, n, y, k);
        if (rc != HRF_OK) return rc;
        if (it->newton && (rc = eval_jac(it, n, y)) != HRF_OK) return rc;
        size_t nactive = 0;
        for (size_t i = 0; i < n; i++) {
            if (!it->active[i]) continue;
            const double *x0i = x0 + i * dim + off, *ki = k + i * dim + off;
            double *ui = x1 + i * dim + off;
            /* r = −G(u) = −(u − x0 − h f) */
            for (size_t a = 0; a < m; a++)
                r[a] = -(ui[a] - x0i[a] - h * ki[a]);
            if (it->newton) {
                const double *J = it->jac + i * dim * dim; /* (dim, dim) row-major */
                for (size_t b = 0; b < m; b++)
                    for (size_t a = 0; a < m; a++)
                        A[b * m + a] =
                            (a == b ? 1.0 : 0.0) - theta * h * J[(off + a) * dim + off + b];
                lapack_int info = LAPACKE_dgesv_work(LAPACK_COL_MAJOR, (lapack_int)m, 1, A,
                                                     (lapack_int)m, it->ipiv, r, (lapack_int)m);
                if (info > 0)
                    return hrf_error(HRF_ENUMERIC,
                                     "%s: singular Newton matrix at step %zu (t = %g), state %zu; "
                                     "try a smaller step than |h| = %g",
                                     it->type->name, it->step_no, it->t_no, i, fabs(h));
                if (info < 0)
                    return hrf_error(HRF_ENUMERIC, "%s: LAPACK dgesv failed (info %d)",
                                     it->type->name, (int)info);
            }
            double upd = 0.0, unorm = 0.0;
            for (size_t a = 0; a < m; a++) {
                ui[a] += r[a];
                upd = fmax(upd, fabs(r[a]));
                unorm = fmax(unorm, fabs(ui[a]));
            }
            if (!isfinite(upd) || first_nonfinite(1, m, ui) == 0)
                return hrf_error(HRF_ENUMERIC,
                                 "%s: the implicit solve for state %zu became non-finite at step "
                                 "%zu (t = %g) after %d %s iterations; try a smaller step than "
                                 "|h| = %g",
                                 it->type->name, i, it->step_no, it->t_no, iter, method, fabs(h));
            const double toli = tol * (1.0 + unorm);
            /* Converged at the tolerance, or at the rounding floor of the
             * field: the update stopped shrinking while already below
             * STAGNATION_TOL (a model whose evaluation carries more rounding
             * than solve_tol, e.g. a corrected HNN, cannot do better). */
            const int stagnated =
                upd >= 0.5 * it->prev_upd[i] && upd <= STAGNATION_TOL * (1.0 + unorm);
            it->prev_upd[i] = upd;
            if (upd <= toli || stagnated) {
                it->active[i] = 0;
            } else {
                if (nactive == 0 || upd / toli > worst_upd / worst_tol)
                    worst = i, worst_upd = upd, worst_tol = toli;
                nactive++;
            }
        }
        if (nactive == 0) {
            it->st.solve_iters += (size_t)iter;
            if (iter > it->st.solve_iters_max) it->st.solve_iters_max = iter;
            return HRF_OK;
        }
    }
    it->st.solve_iters += (size_t)it->par.solve_max;
    if (it->par.solve_max > it->st.solve_iters_max) it->st.solve_iters_max = it->par.solve_max;
    return hrf_error(HRF_ENUMERIC,
                     "%s: the implicit solve did not converge at step %zu (t = %g), state %zu: "
                     "residual (last update) %.3g > tolerance %.3g after %d %s iterations; "
                     "try a smaller step than |h| = %g (or raise solve_max)",
                     it->type->name, it->step_no, it->t_no, worst, worst_upd, worst_tol,
                     it->par.solve_max, method, fabs(h));
}

/* ---- symplectic Euler ----------------------------------------------------- */

/* One step updating first the block at `first` (0: q, d: p) with the field
 * at (new first block, old other block), then the other block with the field
 * at the same point. For a separable field the first update is explicit,
 * since f_first depends only on the other block. Two rhs calls per step
 * (plus the implicit solve, if any). */
static int step_symplectic_euler_generic(hrf_integrator *it, double h, size_t n, const double *x0,
                                         double *x1, size_t first) {
    const size_t d = it->d, dim = it->dim, other = d - first;
    double *k = it->w[0]; /* (n, dim) */
    int rc = eval_rhs(it, n, x0, k);
    if (rc != HRF_OK) return rc;
    memcpy(x1, x0, n * dim * sizeof *x1);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            x1[i * dim + first + j] = x0[i * dim + first + j] + h * k[i * dim + first + j];
    if (it->solve && (rc = implicit_solve(it, h, n, x0, x1, first, d, 0)) != HRF_OK) return rc;
    if ((rc = eval_rhs(it, n, x1, k)) != HRF_OK) return rc;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            x1[i * dim + other + j] = x0[i * dim + other + j] + h * k[i * dim + other + j];
    return HRF_OK;
}

static int step_symplectic_euler(hrf_integrator *it, double h, size_t n, const double *x0,
                                 double *x1) {
    return step_symplectic_euler_generic(it, h, n, x0, x1, 0);
}

static int step_symplectic_euler_p(hrf_integrator *it, double h, size_t n, const double *x0,
                                   double *x1) {
    return step_symplectic_euler_generic(it, h, n, x0, x1, it->d);
}

/* ---- leapfrog and Yoshida ------------------------------------------------- */

/* One kick–drift–kick step of size c, in place on x (n, dim); w[0] holds the
 * rhs at x on entry (its dp/dt half is the force at q) and at the new x on
 * return. Two rhs calls: the drift velocity at p_{1/2} and the new force;
 * the field is separable, so only the needed half of each is used. */
static int leapfrog_kdk(hrf_integrator *it, double c, size_t n, double *x) {
    const size_t d = it->d, dim = it->dim;
    double *F = it->w[0], *k = it->w[1]; /* (n, dim) each */
    for (size_t i = 0; i < n; i++)
        for (size_t j = d; j < dim; j++)
            x[i * dim + j] += 0.5 * c * F[i * dim + j]; /* kick */
    int rc = eval_half(it, 0, n, x, k);
    if (rc != HRF_OK) return rc;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            x[i * dim + j] += c * k[i * dim + j]; /* drift */
    if ((rc = eval_half(it, 1, n, x, F)) != HRF_OK) return rc;
    for (size_t i = 0; i < n; i++)
        for (size_t j = d; j < dim; j++)
            x[i * dim + j] += 0.5 * c * F[i * dim + j]; /* kick */
    return HRF_OK;
}

static int ensure_force(hrf_integrator *it, size_t n, const double *x) {
    if (it->have_force) return HRF_OK;
    int rc = eval_half(it, 1, n, x, it->w[0]);
    if (rc == HRF_OK) it->have_force = 1;
    return rc;
}

static int step_leapfrog(hrf_integrator *it, double h, size_t n, const double *x0, double *x1) {
    int rc = ensure_force(it, n, x0);
    if (rc != HRF_OK) return rc;
    memcpy(x1, x0, n * it->dim * sizeof *x1);
    it->have_force = 0; /* valid again only if the whole step succeeds */
    if ((rc = leapfrog_kdk(it, h, n, x1)) != HRF_OK) return rc;
    it->have_force = 1;
    return HRF_OK;
}

/* Yoshida (1990): w1 = 1/(2 − 2^{1/3}), w0 = −2^{1/3}/(2 − 2^{1/3}), so that
 * w1 + w0 + w1 = 1 and the composition is symmetric and of order 4. */
#define YOSHIDA_W1 1.35120719195965763404768780897
#define YOSHIDA_W0 -1.70241438391931526809537561795

static int step_yoshida4(hrf_integrator *it, double h, size_t n, const double *x0, double *x1) {
    int rc = ensure_force(it, n, x0);
    if (rc != HRF_OK) return rc;
    memcpy(x1, x0, n * it->dim * sizeof *x1);
    it->have_force = 0;
    if ((rc = leapfrog_kdk(it, YOSHIDA_W1 * h, n, x1)) != HRF_OK) return rc;
    if ((rc = leapfrog_kdk(it, YOSHIDA_W0 * h, n, x1)) != HRF_OK) return rc;
    if ((rc = leapfrog_kdk(it, YOSHIDA_W1 * h, n, x1)) != HRF_OK) return rc;
    it->have_force = 1;
    return HRF_OK;
}

/* ---- implicit midpoint ---------------------------------------------------- */

static int step_midpoint(hrf_integrator *it, double h, size_t n, const double *x0, double *x1) {
    const size_t nd = n * it->dim;
    double *k = it->w[0];
    int rc = eval_rhs(it, n, x0, k);
    if (rc != HRF_OK) return rc;
    for (size_t j = 0; j < nd; j++)
        x1[j] = x0[j] + h * k[j]; /* explicit Euler guess */
    return implicit_solve(it, h, n, x0, x1, 0, it->dim, 1);
}

/* ---- classical RK4 -------------------------------------------------------- */

static int step_rk4(hrf_integrator *it, double h, size_t n, const double *x0, double *x1) {
    const size_t nd = n * it->dim;
    double *k1 = it->w[0], *k2 = it->w[1], *k3 = it->w[2], *k4 = it->w[3], *y = it->w[4];
    int rc;
    if ((rc = eval_rhs(it, n, x0, k1)) != HRF_OK) return rc;
    for (size_t j = 0; j < nd; j++)
        y[j] = x0[j] + 0.5 * h * k1[j];
    if ((rc = eval_rhs(it, n, y, k2)) != HRF_OK) return rc;
    for (size_t j = 0; j < nd; j++)
        y[j] = x0[j] + 0.5 * h * k2[j];
    if ((rc = eval_rhs(it, n, y, k3)) != HRF_OK) return rc;
    for (size_t j = 0; j < nd; j++)
        y[j] = x0[j] + h * k3[j];
    if ((rc = eval_rhs(it, n, y, k4)) != HRF_OK) return rc;
    for (size_t j = 0; j < nd; j++)
        x1[j] = x0[j] + h / 6.0 * (k1[j] + 2.0 * k2[j] + 2.0 * k3[j] + k4[j]);
    return HRF_OK;
}

/* ---- Dormand–Prince 5(4) -------------------------------------------------- */

/* Butcher tableau (Dormand & Prince 1980; Hairer, Nørsett & Wanner I, Table
 * II.5.2). Row s gives stage s+1 from k_1..k_s; row 6 is the fifth-order
 * solution b (b_7 = 0), so stage 7 is evaluated at the new point (FSAL). */
static const double DP_A[7][6] = {
    {0},
    {1.0 / 5},
    {3.0 / 40, 9.0 / 40},
    {44.0 / 45, -56.0 / 15, 32.0 / 9},
    {19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729},
    {9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656},
    {35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84},
};
/* b − b̂: fifth- minus fourth-order weights (b̂ = 5179/57600, 0, 7571/16695,
 * 393/640, −92097/339200, 187/2100, 1/40). */
static const double DP_E[7] = {71.0 / 57600,      0,          -71.0 / 16695, 71.0 / 1920,
                               -17253.0 / 339200, 22.0 / 525, -1.0 / 40};

/* One step x0 → x1 (5th order). k_1 = w[0] must hold f(x0) if k1_ready.
 * With `errn`: also k_7 = f(x1) into w[6] and the per-state error norm of
 * hrf_integrator_params into errn (n). */
static int dopri_step(hrf_integrator *it, double h, size_t n, const double *x0, double *x1,
                      int k1_ready, double *errn) {
    const size_t dim = it->dim, nd = n * dim;
    double **k = it->w, *y = it->w[7];
    int rc;
    if (!k1_ready && (rc = eval_rhs(it, n, x0, k[0])) != HRF_OK) return rc;
    for (int s = 1; s <= 6; s++) {
        double *target = s == 6 ? x1 : y;
        for (size_t j = 0; j < nd; j++) {
            double acc = 0.0;
            for (int l = 0; l < s; l++)
                acc += DP_A[s][l] * k[l][j];
            target[j] = x0[j] + h * acc;
        }
        if (s < 6 && (rc = eval_rhs(it, n, y, k[s])) != HRF_OK) return rc;
    }
    if (!errn) return HRF_OK;
    if ((rc = eval_rhs(it, n, x1, k[6])) != HRF_OK) return rc;
    const double rtol = it->par.rtol, atol = it->par.atol;
    for (size_t i = 0; i < n; i++) {
        double sum = 0.0;
        for (size_t a = 0; a < dim; a++) {
            const size_t j = i * dim + a;
            double e = 0.0;
            for (int l = 0; l < 7; l++)
                e += DP_E[l] * k[l][j];
            e *= h;
            const double sc = atol + rtol * fmax(fabs(x0[j]), fabs(x1[j]));
            const double z = sc > 0 ? e / sc : (e == 0 ? 0.0 : INFINITY);
            sum += z * z;
        }
        double en = sqrt(sum / (double)dim);
        /* A non-finite new state or new slope rejects the step. */
        if (first_nonfinite(1, dim, x1 + i * dim) == 0 ||
            first_nonfinite(1, dim, k[6] + i * dim) == 0)
            en = INFINITY;
        errn[i] = isnan(en) ? INFINITY : en;
    }
    return HRF_OK;
}

static int step_rk45(hrf_integrator *it, double h, size_t n, const double *x0, double *x1) {
    return dopri_step(it, h, n, x0, x1, 0, NULL);
}

/* Standard step-size controller (Hairer, Nørsett & Wanner I, §II.4). */
#define RK45_SAFETY 0.9
#define RK45_FAC_MIN 0.2
#define RK45_FAC_MAX 10.0

static int advance_rk45(hrf_integrator *it, double h, size_t nsteps, size_t n, double *x,
                        size_t *done) {
    const double T = (double)nsteps * h;
    const size_t dim = it->dim;
    if (!isfinite(T))
        return hrf_error(HRF_EINVAL, "rk45: the interval nsteps*h = %zu*%g is not finite", nsteps,
                         h);
    int rc = eval_rhs(it, n, x, it->w[0]);
    if (rc != HRF_OK) return rc;
    size_t bad = first_nonfinite(n, dim, it->w[0]);
    if (bad < n)
        return hrf_error(HRF_ENUMERIC,
                         "rk45: the vector field is non-finite at state %zu at the start (t = 0)",
                         bad);
    bad = 0; /* the state with the largest error in the last trial */
    double t = 0.0, hh = h;
    size_t accepted = 0, trials = 0;
    int after_reject = 0, nonfinite = 0;
    double *errn = it->errn;
    while (h > 0 ? t < T : t > T) {
        const double rem = T - t;
        int last = 0;
        if (fabs(hh) >= fabs(rem) / 1.01) { /* the last step, or nearly: land on T */
            hh = rem;
            last = 1;
        }
        if (fabs(hh) <= 16.0 * DBL_EPSILON * fmax(fabs(t), fabs(T)))
            return hrf_error(HRF_ENUMERIC,
                             "rk45: the step size fell to %g at t = %.15g after %zu accepted and "
                             "%zu rejected steps (state %zu %s); the solution may blow up near "
                             "here, or the problem is too stiff for rk45",
                             hh, t, accepted, it->st.rejected, bad,
                             nonfinite ? "became non-finite" : "had the largest error");
        if (trials >= it->par.max_substeps)
            return hrf_error(HRF_ENUMERIC,
                             "rk45: reached max_substeps = %zu trial steps at t = %.15g of %g; "
                             "raise max_substeps or loosen rtol/atol",
                             it->par.max_substeps, t, T);
        trials++;
        it->step_no = accepted + 1;
        it->t_no = t + hh;
        if ((rc = dopri_step(it, hh, n, x, it->xnew, 1, errn)) != HRF_OK) return rc;
        double E = 0.0;
        bad = 0;
        for (size_t i = 0; i < n; i++)
            if (errn[i] > E) E = errn[i], bad = i;
        nonfinite = isinf(E);
        if (E <= 1.0) {
            memcpy(x, it->xnew, n * dim * sizeof *x);
            double *tmp = it->w[0]; /* FSAL: k_7 becomes the next k_1 */
            it->w[0] = it->w[6];
            it->w[6] = tmp;
            t = last ? T : t + hh;
            accepted++;
            it->st.steps++;
            if (done) *done = accepted;
            double fac = E > 0 ? RK45_SAFETY * pow(E, -0.2) : RK45_FAC_MAX;
            fac = fmin(RK45_FAC_MAX, fmax(RK45_FAC_MIN, fac));
            if (after_reject) fac = fmin(fac, 1.0); /* no growth right after a rejection */
            after_reject = 0;
            hh *= fac;
        } else {
            it->st.rejected++;
            double fac = isfinite(E) ? RK45_SAFETY * pow(E, -0.2) : RK45_FAC_MIN;
            hh *= fmin(1.0, fmax(RK45_FAC_MIN, fac));
            after_reject = 1;
        }
    }
    return HRF_OK;
}

/* ---- scheme table --------------------------------------------------------- */

static const scheme schemes[] = {
    {&hrf_integrator_symplectic_euler, 2, 1, step_symplectic_euler},
    {&hrf_integrator_symplectic_euler_p, 2, 1, step_symplectic_euler_p},
    {&hrf_integrator_leapfrog, 2, 1, step_leapfrog},
    {&hrf_integrator_yoshida4, 2, 1, step_yoshida4},
    {&hrf_integrator_midpoint, 2, 0, step_midpoint},
    {&hrf_integrator_rk4, 5, 0, step_rk4},
    {&hrf_integrator_rk45, 8, 0, step_rk45},
};

/* ---- lifecycle ------------------------------------------------------------ */

/* a·b, or SIZE_MAX on overflow */
static size_t mul_sz(size_t a, size_t b) {
    return (b != 0 && a > SIZE_MAX / b) ? SIZE_MAX : a * b;
}

static size_t add_sz(size_t a, size_t b) {
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

int hrf_integrator_new(const hrf_integrator_type *type, const hrf_field *field, size_t nmax,
                       const hrf_integrator_params *p, hrf_integrator **out) {
    if (out) *out = NULL;
    if (!type || !field || !out)
        return hrf_error(HRF_EINVAL, "hrf_integrator_new: type, field and out must not be NULL");
    const scheme *sch = NULL;
    for (size_t s = 0; s < sizeof schemes / sizeof schemes[0]; s++)
        if (schemes[s].type == type) sch = &schemes[s];
    if (!sch)
        return hrf_error(HRF_EINVAL,
                         "hrf_integrator_new: '%s' is not one of the integrator types of "
                         "hrf_integrator_types()",
                         type->name ? type->name : "(unnamed)");
    if (!field->rhs)
        return hrf_error(HRF_EINVAL, "integrator '%s': the field has no rhs callback", type->name);
    if (field->dim == 0 || (sch->partitioned && field->dim % 2 != 0))
        return hrf_error(HRF_EINVAL, "integrator '%s': the field has dimension %zu; it needs %s",
                         type->name, field->dim,
                         sch->partitioned ? "an even dimension 2d, x = (q, p)" : "dimension >= 1");
    if (nmax == 0)
        return hrf_error(HRF_EINVAL, "integrator '%s': nmax must be at least 1", type->name);
    hrf_integrator_params par;
    if (p) {
        par = *p;
    } else {
        hrf_integrator_params_default(&par);
    }
    const char *msg = hrf_integrator_params_check(&par);
    if (msg) return hrf_error(HRF_EINVAL, "integrator '%s': %s", type->name, msg);
    if (type->needs_separable && !field->separable)
        return hrf_error(HRF_EINVAL,
                         "integrator '%s' needs a separable Hamiltonian H = T(p) + V(q); this "
                         "field is not separable: use symplectic_euler or midpoint (implicit)",
                         type->name);

    const size_t dim = field->dim;
    const int solve = type->implicit == 1 || (type->implicit == 2 && !field->separable);
    const int newton = solve && !par.fixed_point;
    const size_t nd = mul_sz(nmax, dim);
    size_t total = mul_sz(nd, (size_t)(1 + sch->nbuf)); /* xnew and the work buffers */
    total = add_sz(total, nmax);                        /* errn */
    total = add_sz(total, dim);                         /* r */
    if (newton) {
        total = add_sz(total, mul_sz(nd, dim));                /* jac */
        total = add_sz(total, mul_sz(dim, dim));               /* A */
        if (!field->jac) total = add_sz(total, mul_sz(nd, 2)); /* fdw */
    }
    if (total == SIZE_MAX || total > SIZE_MAX / sizeof(double))
        return hrf_error(HRF_ETOOBIG,
                         "integrator '%s': work space for %zu states of dimension "
                         "%zu does not fit in memory",
                         type->name, nmax, dim);

    hrf_integrator *it = calloc(1, sizeof *it);
    if (!it) return hrf_error(HRF_ENOMEM, "integrator '%s': out of memory", type->name);
    it->slab = malloc(total * sizeof(double));
    it->ipiv = malloc(dim * sizeof *it->ipiv);
    it->active = malloc(nmax);
    it->prev_upd = malloc(nmax * sizeof *it->prev_upd);
    if (!it->slab || !it->ipiv || !it->active || !it->prev_upd) {
        hrf_integrator_free(it);
        return hrf_error(HRF_ENOMEM,
                         "integrator '%s': out of memory for %zu states of dimension %zu",
                         type->name, nmax, dim);
    }
    it->type = type;
    it->sch = sch;
    it->f = field;
    it->par = par;
    it->nmax = nmax;
    it->dim = dim;
    it->d = dim / 2;
    it->solve = solve;
    it->newton = newton;
    double *s = it->slab;
    it->xnew = s, s += nd;
    for (int b = 0; b < sch->nbuf; b++)
        it->w[b] = s, s += nd;
    it->errn = s, s += nmax;
    it->r = s, s += dim;
    if (newton) {
        it->jac = s, s += nd * dim;
        it->A = s, s += dim * dim;
        if (!field->jac) it->fdw = s, s += 2 * nd;
    }
    *out = it;
    return HRF_OK;
}

void hrf_integrator_free(hrf_integrator *it) {
    if (!it) return;
    free(it->slab);
    free(it->ipiv);
    free(it->active);
    free(it->prev_upd);
    free(it);
}

const hrf_integrator_type *hrf_integrator_get_type(const hrf_integrator *it) {
    return it ? it->type : NULL;
}

void hrf_integrator_stats_get(const hrf_integrator *it, hrf_integrator_stats *out) {
    if (!out) return;
    if (!it) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = it->st;
}

/* ---- stepping ------------------------------------------------------------- */

static int check_call(const hrf_integrator *it, double h, size_t n, const double *x,
                      const char *fn) {
    if (!it) return hrf_error(HRF_EINVAL, "%s: no integrator given", fn);
    if (!(isfinite(h) && h != 0))
        return hrf_error(HRF_EINVAL, "%s (%s): the step h = %g must be finite and non-zero", fn,
                         it->type->name, h);
    if (n > it->nmax)
        return hrf_error(HRF_EINVAL,
                         "%s (%s): %zu states given, but the integrator was made for at most "
                         "nmax = %zu",
                         fn, it->type->name, n, it->nmax);
    if (n > 0 && !x)
        return hrf_error(HRF_EINVAL, "%s (%s): x must not be NULL", fn, it->type->name);
    return HRF_OK;
}

int hrf_integrator_step(hrf_integrator *it, double h, size_t n, double *x) {
    int rc = check_call(it, h, n, x, "hrf_integrator_step");
    if (rc != HRF_OK || n == 0) return rc;
    it->have_force = 0;
    it->step_no = 1;
    it->t_no = h;
    if ((rc = it->sch->step(it, h, n, x, it->xnew)) != HRF_OK) return rc;
    it->have_force = 0;
    size_t bad = first_nonfinite(n, it->dim, it->xnew);
    if (bad < n)
        return hrf_error(HRF_ENUMERIC,
                         "%s: state %zu became non-finite at step 1 (t = %g); x is unchanged",
                         it->type->name, bad, h);
    memcpy(x, it->xnew, n * it->dim * sizeof *x);
    it->st.steps++;
    return HRF_OK;
}

int hrf_integrator_advance(hrf_integrator *it, double h, size_t nsteps, size_t n, double *x,
                           size_t *done) {
    if (done) *done = 0;
    int rc = check_call(it, h, n, x, "hrf_integrator_advance");
    if (rc != HRF_OK) return rc;
    if (nsteps == 0 || n == 0) {
        if (done) *done = nsteps;
        return HRF_OK;
    }
    if (it->type->adaptive) return advance_rk45(it, h, nsteps, n, x, done);
    it->have_force = 0;
    for (size_t s = 1; s <= nsteps; s++) {
        it->step_no = s;
        it->t_no = (double)s * h;
        if ((rc = it->sch->step(it, h, n, x, it->xnew)) != HRF_OK) {
            it->have_force = 0;
            return rc;
        }
        size_t bad = first_nonfinite(n, it->dim, it->xnew);
        if (bad < n) {
            it->have_force = 0;
            return hrf_error(HRF_ENUMERIC,
                             "%s: state %zu became non-finite at step %zu (t = %g); x holds the "
                             "states after step %zu",
                             it->type->name, bad, s, (double)s * h, s - 1);
        }
        memcpy(x, it->xnew, n * it->dim * sizeof *x);
        it->st.steps++;
        if (done) *done = s;
    }
    it->have_force = 0;
    return HRF_OK;
}
