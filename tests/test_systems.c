/* Tests of the built-in low-dimensional systems (src/systems/systems.c,
 * docs/math.md §1 and §5).
 *
 * Independent references used here: central finite differences of H for ∇H;
 * hand-computed values (worked out in comments) and values from SymPy
 * (exact rational inputs, 20 digits) for H and ∇H; the Lagrangian mass matrix
 * of the double pendulum for its kinetic energy; the exact solution of the
 * harmonic oscillator for the sign of the vector field; and conservation of H
 * along the true flow (integrated by a classical RK4 written here) as a check
 * that the q and p blocks of ∇H fit together. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "hamrf/status.h"
#include "hamrf/systems.h"

#define PI 3.14159265358979323846
#define DIM_MAX (2 * HRF_SYSTEM_MAX_DOF)

/* Central differences with step h_j = FD_REL_STEP · max(1, |x_j|) have a
 * truncation error h²|∂³H|/6 and a rounding error ≈ ε|H|/h. With
 * h = 1e-6·max(1,|x|): rounding ≈ 2e-10·|H|, truncation ≈ 2e-13·|x|²·|∂³H|;
 * the largest third derivatives met are the f = 15 pendulum's (m g l f³ ≈ 3e3
 * at |q| ≤ π, truncation ≈ 5e-9 against a gradient of size ≈ 15). Measured,
 * the worst error is ≈ 3e-10 of scale = 1 + |H| + ‖∇H‖∞, so FD_TOL = 1e-7
 * leaves a factor ~300 of margin, while a wrong term (an O(1) error) fails by
 * orders of magnitude. (A step of 1e-5 leaves only a factor 3 for f = 15.) */
#define FD_REL_STEP 1e-6
#define FD_TOL 1e-7

/* Hand-computed and SymPy values are exact up to the rounding of a few dozen
 * floating-point operations. */
#define EXACT_TOL 1e-12

/* RK4 with dt = 1e-3 over t = 1 (1000 steps): the energy error grows like
 * t·dt⁴·ω⁵·|H| for a frequency ω. The fastest case here is the double pendulum
 * with g = 9.81 (ω ≈ 4), measured worst relative drift ≈ 2e-9; the others are
 * below 1e-10. ENERGY_TOL = 1e-7 leaves a factor ~50, while a sign error in
 * one block of ∇H gives a drift of order one. */
#define RK4_DT 1e-3
#define RK4_STEPS 1000
#define ENERGY_TOL 1e-7

/* The spring's RK4 solution against the exact cos/sin solution: same bound. */
#define FLOW_TOL 1e-9

#define NSTATES 25

/* ---- a small independent generator (SplitMix64) ------------------------- */

static uint64_t rng_state = 12345;

static double uniform(double lo, double hi) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return lo + (hi - lo) * ((double)(z >> 11) * 0x1.0p-53);
}

/* ---- test cases: a system, parameter overrides and a sampling box -------- */

typedef struct {
    const char *system;
    int nset;
    const char *keys[HRF_SYSTEM_MAX_PARAMS];
    double values[HRF_SYSTEM_MAX_PARAMS];
    double box[4]; /* q_lo, q_hi, p_lo, p_hi; all zero: the type's default box */
} sys_case;

static const sys_case cases[] = {
    {"spring", 0, {0}, {0}, {0}},
    {"spring", 2, {"k", "m"}, {2.5, 0.7}, {0}},
    {"pendulum", 0, {0}, {0}, {0}},
    {"pendulum", 4, {"m", "l", "g", "f"}, {1.3, 0.8, 9.81, 3.0}, {0}},
    {"pendulum", 1, {"f"}, {15.0}, {-PI, PI, -0.5, 0.5}}, /* RF-HNN's high-frequency box */
    {"lotka_volterra", 0, {0}, {0}, {0}},
    /* RF-HNN's second parameter set, on [0, 8]² */
    {"lotka_volterra",
     4,
     {"alpha", "beta", "gamma", "delta"},
     {3.5, 0.025, 10, 0.07},
     {0, 8, 0, 8}},
    {"double_pendulum", 0, {0}, {0}, {0}},
    {"double_pendulum", 5, {"m1", "m2", "l1", "l2", "g"}, {1.5, 0.7, 1.2, 0.6, 9.81}, {0}},
    {"henon_heiles", 0, {0}, {0}, {0}},
    {"henon_heiles", 1, {"alpha"}, {0.3}, {0}},
};
#define NCASES (sizeof cases / sizeof cases[0])

static void make_system(const sys_case *c, hrf_system *sys) {
    const hrf_system_type *t = NULL;
    assert_int_equal(hrf_system_find(c->system, &t), HRF_OK);
    assert_non_null(t);
    hrf_system_init(sys, t);
    for (int i = 0; i < c->nset; i++)
        assert_int_equal(hrf_system_set(sys, c->keys[i], c->values[i]), HRF_OK);
}

static void random_state(const sys_case *c, const hrf_system *sys, double *x) {
    const hrf_system_type *t = sys->type;
    double qlo = t->q_lo, qhi = t->q_hi, plo = t->p_lo, phi = t->p_hi;
    if (c->box[0] != c->box[1]) qlo = c->box[0], qhi = c->box[1], plo = c->box[2], phi = c->box[3];
    for (int j = 0; j < t->dof; j++) {
        x[j] = uniform(qlo, qhi);
        x[t->dof + j] = uniform(plo, phi);
    }
}

static double H_at(const hrf_system *sys, const double *x) {
    double h;
    hrf_system_eval(sys, 1, x, &h, NULL);
    return h;
}

/* ---- registry ------------------------------------------------------------ */

static void test_registry(void **state) {
    (void)state;
    const char *expected[] = {"spring", "pendulum", "lotka_volterra", "double_pendulum",
                              "henon_heiles"};
    const hrf_system_type *const *types = hrf_system_types();
    int n = 0;
    while (types[n])
        n++;
    assert_int_equal(n, 5);
    for (int i = 0; i < 5; i++) {
        const hrf_system_type *t = NULL;
        assert_int_equal(hrf_system_find(expected[i], &t), HRF_OK);
        assert_string_equal(t->name, expected[i]);
    }
    for (int i = 0; i < n; i++) {
        const hrf_system_type *t = types[i];
        assert_true(t->dof >= 1 && t->dof <= HRF_SYSTEM_MAX_DOF);
        assert_true(t->nparams >= 1 && t->nparams <= HRF_SYSTEM_MAX_PARAMS);
        assert_non_null(t->description);
        assert_true(strncmp(t->description, "H = ", 4) == 0);
        assert_non_null(t->H);
        assert_non_null(t->grad);
        assert_true(t->q_lo < t->q_hi && t->p_lo < t->p_hi);
        for (int a = 0; a < t->nparams; a++) {
            /* lowercase ASCII names, unique within the system */
            for (const char *s = t->param_names[a]; *s; s++)
                assert_true((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9'));
            for (int b = 0; b < a; b++)
                assert_true(strcmp(t->param_names[a], t->param_names[b]) != 0);
        }
        /* the defaults pass the system's own check */
        if (t->check) assert_null(t->check(t->param_defaults));
        hrf_system sys;
        hrf_system_init(&sys, t);
        for (int a = 0; a < t->nparams; a++)
            assert_true(sys.params[a] == t->param_defaults[a]);
    }
}

static void test_boxes_and_defaults(void **state) {
    (void)state;
    const hrf_system_type *t;
    assert_int_equal(hrf_system_find("pendulum", &t), HRF_OK);
    assert_true(fabs(t->q_lo + 2 * PI) < 1e-15 && fabs(t->q_hi - 2 * PI) < 1e-15);
    assert_true(t->p_lo == -1 && t->p_hi == 1);
    assert_int_equal(hrf_system_find("lotka_volterra", &t), HRF_OK);
    assert_true(t->param_defaults[0] == -2 && t->param_defaults[1] == -1 &&
                t->param_defaults[2] == -1 && t->param_defaults[3] == -1);
    assert_true(t->q_lo == -2 && t->q_hi == 2 && t->p_lo == -2 && t->p_hi == 2);
    assert_int_equal(hrf_system_find("double_pendulum", &t), HRF_OK);
    assert_int_equal(t->dof, 2);
    assert_true(fabs(t->q_lo + PI) < 1e-15 && fabs(t->q_hi - PI) < 1e-15);
    assert_int_equal(hrf_system_find("henon_heiles", &t), HRF_OK);
    assert_true(t->q_lo == -5 && t->q_hi == 5 && t->p_lo == -5 && t->p_hi == 5);
    assert_int_equal(hrf_system_find("spring", &t), HRF_OK);
    assert_true(t->q_lo == -1 && t->q_hi == 1 && t->p_lo == -1 && t->p_hi == 1);
}

/* ---- ∇H against central finite differences ------------------------------- */

static void test_gradient_finite_differences(void **state) {
    (void)state;
    for (size_t c = 0; c < NCASES; c++) {
        hrf_system sys;
        make_system(&cases[c], &sys);
        const int dim = 2 * sys.type->dof;
        for (int s = 0; s < NSTATES; s++) {
            double x[DIM_MAX], g[DIM_MAX], h0;
            random_state(&cases[c], &sys, x);
            hrf_system_eval(&sys, 1, x, &h0, g);
            double scale = 1.0 + fabs(h0);
            for (int j = 0; j < dim; j++)
                scale = fmax(scale, 1.0 + fabs(h0) + fabs(g[j]));
            for (int j = 0; j < dim; j++) {
                const double h = FD_REL_STEP * fmax(1.0, fabs(x[j]));
                double xp[DIM_MAX], xm[DIM_MAX];
                memcpy(xp, x, sizeof xp);
                memcpy(xm, x, sizeof xm);
                xp[j] += h;
                xm[j] -= h;
                const double fd = (H_at(&sys, xp) - H_at(&sys, xm)) / (xp[j] - xm[j]);
                if (fabs(fd - g[j]) > FD_TOL * scale)
                    fail_msg("%s case %zu state %d: dH/dx%d analytic %.15g, finite "
                             "difference %.15g (scale %g)",
                             cases[c].system, c, s, j, g[j], fd, scale);
            }
        }
    }
}

/* ---- exact values --------------------------------------------------------- */

static void expect_H_grad(const hrf_system *sys, const double *x, double H, const double *grad) {
    double h, g[DIM_MAX];
    hrf_system_eval(sys, 1, x, &h, g);
    if (fabs(h - H) > EXACT_TOL * fmax(1.0, fabs(H)))
        fail_msg("%s: H = %.17g, expected %.17g", sys->type->name, h, H);
    if (!grad) return;
    for (int j = 0; j < 2 * sys->type->dof; j++)
        if (fabs(g[j] - grad[j]) > EXACT_TOL * fmax(1.0, fabs(grad[j])))
            fail_msg("%s: dH/dx%d = %.17g, expected %.17g", sys->type->name, j, g[j], grad[j]);
}

static void test_spring_values(void **state) {
    (void)state;
    const sys_case c = {"spring", 2, {"k", "m"}, {2.0, 4.0}, {0}};
    hrf_system sys;
    make_system(&c, &sys);
    /* H(0.5, −0.2) = 2·0.25/2 + 0.04/(2·4) = 0.25 + 0.005 = 0.255;
     * ∇H = (k q, p/m) = (1.0, −0.05). */
    const double x[2] = {0.5, -0.2}, g[2] = {1.0, -0.05};
    expect_H_grad(&sys, x, 0.255, g);
}

static void test_pendulum_values(void **state) {
    (void)state;
    hrf_system sys;
    const sys_case def = {"pendulum", 0, {0}, {0}, {0}};
    make_system(&def, &sys);
    const double x0[2] = {0, 0}, g0[2] = {0, 0};
    expect_H_grad(&sys, x0, 0.0, g0); /* the stable equilibrium */
    /* upright, at rest: H = 2 m g l = 2; ∂H/∂q = m g l f sin(π) = 0 */
    const double xpi[2] = {PI, 0}, gpi[2] = {0, 0};
    expect_H_grad(&sys, xpi, 2.0, gpi);

    /* m = 2, l = 0.5, g = 9.81, f = 2: upright at f q = π, H = 2 m g l = 19.62;
     * at (0, p = 0.3): H = p²/(2 m l²) = 0.09/1 = 0.09, ∂H/∂p = p/(m l²) = 0.6;
     * at (π/4, 0): f q = π/2, H = m g l = 9.81, ∂H/∂q = m g l f = 19.62. */
    const sys_case c = {"pendulum", 4, {"m", "l", "g", "f"}, {2.0, 0.5, 9.81, 2.0}, {0}};
    make_system(&c, &sys);
    const double xa[2] = {PI / 2, 0}, xb[2] = {0, 0.3}, gb[2] = {0, 0.6};
    const double xc[2] = {PI / 4, 0}, gc[2] = {19.62, 0};
    expect_H_grad(&sys, xa, 19.62, NULL);
    expect_H_grad(&sys, xb, 0.09, gb);
    expect_H_grad(&sys, xc, 9.81, gc);
}

static void test_lotka_volterra_values(void **state) {
    (void)state;
    hrf_system sys;
    const sys_case def = {"lotka_volterra", 0, {0}, {0}, {0}};
    make_system(&def, &sys);
    /* defaults α = −2, β = γ = δ = −1 at (0, 0): H = δ + β = −2;
     * ∂H/∂q = β − α = 1, ∂H/∂p = δ − γ = 0. */
    const double x0[2] = {0, 0}, g0[2] = {1, 0};
    expect_H_grad(&sys, x0, -2.0, g0);
    /* at (ln 2, ln 3): H = −3 + ln 3 − 2 + 2 ln 2 = −5 + ln 12;
     * ∂H/∂q = −2 + 2 = 0, ∂H/∂p = −3 + 1 = −2. */
    const double x1[2] = {log(2.0), log(3.0)}, g1[2] = {0, -2};
    expect_H_grad(&sys, x1, -5.0 + log(12.0), g1);
}

static void test_henon_heiles_values(void **state) {
    (void)state;
    hrf_system sys;
    const sys_case def = {"henon_heiles", 0, {0}, {0}, {0}};
    make_system(&def, &sys);
    /* q = (1, 2), p = (3, −1), α = 1:
     * H = (9 + 1)/2 + (1 + 4)/2 + (1·2 − 8/3) = 5 + 2.5 − 2/3 = 41/6;
     * ∂H/∂q1 = q1 + 2α q1 q2 = 1 + 4 = 5;
     * ∂H/∂q2 = q2 + α (q1² − q2²) = 2 + (1 − 4) = −1; ∂H/∂p = p. */
    const double x[4] = {1, 2, 3, -1}, g[4] = {5, -1, 3, -1};
    expect_H_grad(&sys, x, 41.0 / 6.0, g);
    /* α = 0.5 at the same point: H = 7.5 + 0.5·(−2/3) = 7.5 − 1/3 = 43/6;
     * ∂H/∂q1 = 1 + 2 = 3, ∂H/∂q2 = 2 − 1.5 = 0.5. */
    assert_int_equal(hrf_system_set(&sys, "alpha", 0.5), HRF_OK);
    const double g2[4] = {3, 0.5, 3, -1};
    expect_H_grad(&sys, x, 43.0 / 6.0, g2);
}

static void test_double_pendulum_values(void **state) {
    (void)state;
    hrf_system sys;
    const sys_case def = {"double_pendulum", 0, {0}, {0}, {0}};
    make_system(&def, &sys);
    /* All parameters 1. q = (0, 0), p = (1, 0): Δ = 0, cos Δ = 1, sin Δ = 0.
     *   N = l2² p1² = 1,  D = 2 m2 l1² l2² (m1 + 0) = 2,  T = 1/2;
     *   V = −(m1+m2) g l1 − m2 g l2 = −2 − 1 = −3;  H = −2.5.
     *   ∂H/∂p1 = (2 p1 − 2 p2 cos Δ)/D = 2/2 = 1;
     *   ∂H/∂p2 = (2·2 p2 − 2 p1 cos Δ)/D = −2/2 = −1;
     *   dT/dΔ ∝ sin Δ = 0 and sin q = 0, so ∂H/∂q = 0. */
    const double xa[4] = {0, 0, 1, 0}, ga[4] = {0, 0, 1, -1};
    expect_H_grad(&sys, xa, -2.5, ga);
    /* q = (π/2, 0), p = (1, 1): Δ = π/2, cos Δ = 0, sin Δ = 1.
     *   N = 1 + 2 = 3,  A = 1 + 1 = 2,  D = 4,  T = 3/4;
     *   V = −2 cos(π/2) − cos 0 = −1;  H = −1/4.
     *   ∂H/∂p1 = 2/4 = 1/2,  ∂H/∂p2 = 4/4 = 1;
     *   dT/dΔ = N'/D − T·2 m2 sinΔ cosΔ/A = (2·1·1)/4 − 0 = 1/2;
     *   ∂H/∂q1 = 1/2 + (m1+m2) g l1 sin(π/2) = 2.5;  ∂H/∂q2 = −1/2 + 0 = −0.5. */
    const double xb[4] = {PI / 2, 0, 1, 1}, gb[4] = {2.5, -0.5, 0.5, 1.0};
    expect_H_grad(&sys, xb, -0.25, gb);

    /* Non-default parameters at a generic point, reference from SymPy with
     * exact rational inputs (m1 = 3/2, m2 = 7/10, l1 = 6/5, l2 = 3/5,
     * g = 981/100, q = (7/10, −13/10), p = (2/5, −9/10)), 20 digits. */
    const sys_case c = {
        "double_pendulum", 5, {"m1", "m2", "l1", "l2", "g"}, {1.5, 0.7, 1.2, 0.6, 9.81}, {0}};
    make_system(&c, &sys);
    const double xc[4] = {0.7, -1.3, 0.4, -0.9};
    const double gc[4] = {16.880253506139607224, -4.1660985905389076924, -0.11660989608594530796,
                          -3.6684822501610857103};
    expect_H_grad(&sys, xc, -19.282842543512320585, gc);
}

/* T = ½ pᵀ M(q)⁻¹ p and ∂H/∂p = M⁻¹ p with the mass matrix of the Lagrangian
 * L = ½ (m1+m2) l1² q1'² + ½ m2 l2² q2'² + m2 l1 l2 q1' q2' cos(q1 − q2) − V:
 * M = [[(m1+m2) l1², m2 l1 l2 cos Δ], [m2 l1 l2 cos Δ, m2 l2²]]. An independent
 * derivation of the kinetic part from the physics. */
static void test_double_pendulum_mass_matrix(void **state) {
    (void)state;
    for (size_t c = 0; c < NCASES; c++) {
        if (strcmp(cases[c].system, "double_pendulum") != 0) continue;
        hrf_system sys;
        make_system(&cases[c], &sys);
        const double m1 = sys.params[0], m2 = sys.params[1], l1 = sys.params[2], l2 = sys.params[3],
                     g = sys.params[4];
        for (int s = 0; s < NSTATES; s++) {
            double x[4], grad[4], h;
            random_state(&cases[c], &sys, x);
            hrf_system_eval(&sys, 1, x, &h, grad);
            const double cd = cos(x[0] - x[1]);
            const double M11 = (m1 + m2) * l1 * l1, M12 = m2 * l1 * l2 * cd, M22 = m2 * l2 * l2;
            const double det = M11 * M22 - M12 * M12;
            const double v1 = (M22 * x[2] - M12 * x[3]) / det; /* M⁻¹ p = q' */
            const double v2 = (-M12 * x[2] + M11 * x[3]) / det;
            const double T = 0.5 * (x[2] * v1 + x[3] * v2);
            const double V = -(m1 + m2) * g * l1 * cos(x[0]) - m2 * g * l2 * cos(x[1]);
            const double tol = EXACT_TOL * 100; /* 2x2 inverse: a few more roundings */
            assert_true(fabs(h - (T + V)) <= tol * fmax(1.0, fabs(h)));
            assert_true(fabs(grad[2] - v1) <= tol * fmax(1.0, fabs(v1)));
            assert_true(fabs(grad[3] - v2) <= tol * fmax(1.0, fabs(v2)));
        }
    }
}

/* ---- the vector field ----------------------------------------------------- */

static void test_vector_field_is_J_grad(void **state) {
    (void)state;
    for (size_t c = 0; c < NCASES; c++) {
        hrf_system sys;
        make_system(&cases[c], &sys);
        const int d = sys.type->dof, dim = 2 * d;
        enum { N = 7 };
        double x[N * DIM_MAX], g[N * DIM_MAX], f[N * DIM_MAX], H[N];
        for (int i = 0; i < N; i++)
            random_state(&cases[c], &sys, x + i * dim);
        hrf_system_eval(&sys, N, x, H, g);
        hrf_system_vector_field(&sys, N, x, f);
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < d; j++) {
                /* J = [[0, I], [−I, 0]]: dq/dt = ∂H/∂p, dp/dt = −∂H/∂q, exactly */
                assert_true(f[i * dim + j] == g[i * dim + d + j]);
                assert_true(f[i * dim + d + j] == -g[i * dim + j]);
            }
            /* the batch agrees with one-at-a-time evaluation; NULL outputs allowed */
            double h1, g1[DIM_MAX];
            hrf_system_eval(&sys, 1, x + i * dim, &h1, NULL);
            hrf_system_eval(&sys, 1, x + i * dim, NULL, g1);
            assert_true(h1 == H[i]);
            for (int j = 0; j < dim; j++)
                assert_true(g1[j] == g[i * dim + j]);
        }
        /* in place: x and dxdt may be the same array */
        double y[DIM_MAX];
        memcpy(y, x, (size_t)dim * sizeof(double));
        hrf_system_vector_field(&sys, 1, y, y);
        for (int j = 0; j < dim; j++)
            assert_true(y[j] == f[j]);
    }
}

/* Physical velocities pin the overall sign of J: for the pendulum
 * dq/dt = p/(m l²) and dp/dt = −m g l f sin(f q). */
static void test_pendulum_velocity(void **state) {
    (void)state;
    const sys_case c = {"pendulum", 4, {"m", "l", "g", "f"}, {2.0, 0.5, 9.81, 2.0}, {0}};
    hrf_system sys;
    make_system(&c, &sys);
    const double x[2] = {0.3, 0.7};
    double f[2];
    hrf_system_vector_field(&sys, 1, x, f);
    assert_true(fabs(f[0] - 0.7 / (2.0 * 0.25)) < EXACT_TOL);
    assert_true(fabs(f[1] + 2.0 * 9.81 * 0.5 * 2.0 * sin(0.6)) < EXACT_TOL * 10);
}

/* ---- integration of the true flow ----------------------------------------- */

static void rk4_step(const hrf_system *sys, double *x, double dt) {
    const int dim = 2 * sys->type->dof;
    double k1[DIM_MAX], k2[DIM_MAX], k3[DIM_MAX], k4[DIM_MAX], y[DIM_MAX];
    hrf_system_vector_field(sys, 1, x, k1);
    for (int j = 0; j < dim; j++)
        y[j] = x[j] + 0.5 * dt * k1[j];
    hrf_system_vector_field(sys, 1, y, k2);
    for (int j = 0; j < dim; j++)
        y[j] = x[j] + 0.5 * dt * k2[j];
    hrf_system_vector_field(sys, 1, y, k3);
    for (int j = 0; j < dim; j++)
        y[j] = x[j] + dt * k3[j];
    hrf_system_vector_field(sys, 1, y, k4);
    for (int j = 0; j < dim; j++)
        x[j] += dt / 6.0 * (k1[j] + 2.0 * k2[j] + 2.0 * k3[j] + k4[j]);
}

/* The exact spring flow: q(t) = q0 cos ωt + p0/(m ω) sin ωt,
 * p(t) = p0 cos ωt − m ω q0 sin ωt, ω = √(k/m). A sign error in J would run
 * the oscillator backwards and fail this, though H would still be conserved. */
static void test_spring_exact_flow(void **state) {
    (void)state;
    const double k = 2.5, m = 0.7, w = sqrt(k / m), q0 = 0.6, p0 = -0.3;
    const sys_case c = {"spring", 2, {"k", "m"}, {k, m}, {0}};
    hrf_system sys;
    make_system(&c, &sys);
    double x[2] = {q0, p0};
    for (int n = 0; n < RK4_STEPS; n++)
        rk4_step(&sys, x, RK4_DT);
    const double t = RK4_STEPS * RK4_DT;
    const double q = q0 * cos(w * t) + p0 / (m * w) * sin(w * t);
    const double p = p0 * cos(w * t) - m * w * q0 * sin(w * t);
    assert_true(fabs(x[0] - q) < FLOW_TOL);
    assert_true(fabs(x[1] - p) < FLOW_TOL);
}

static void test_energy_conservation(void **state) {
    (void)state;
    for (size_t c = 0; c < NCASES; c++) {
        sys_case cc = cases[c];
        if (strcmp(cc.system, "henon_heiles") == 0) {
            /* The cubic potential is unbounded below: from the corners of
             * [−5,5]⁴ an orbit escapes to infinity in about one time unit.
             * Sample the bounded regime (H < 1/(6α²)) near the origin instead. */
            const double small[4] = {-0.3, 0.3, -0.3, 0.3};
            memcpy(cc.box, small, sizeof small);
        }
        hrf_system sys;
        make_system(&cc, &sys);
        /* The f = 15 pendulum oscillates at ω ≈ 15: dt ω = 0.015 is outside
         * the accuracy budget above; its gradient is covered by the FD test. */
        if (strcmp(cc.system, "pendulum") == 0 && sys.params[3] > 5) continue;
        for (int s = 0; s < 5; s++) {
            double x[DIM_MAX];
            random_state(&cc, &sys, x);
            const double h0 = H_at(&sys, x);
            double drift = 0.0;
            for (int n = 0; n < RK4_STEPS; n++) {
                rk4_step(&sys, x, RK4_DT);
                drift = fmax(drift, fabs(H_at(&sys, x) - h0));
            }
            if (drift > ENERGY_TOL * fmax(1.0, fabs(h0)))
                fail_msg("%s case %zu state %d: energy drift %g from H0 = %g", cc.system, c, s,
                         drift, h0);
        }
    }
}

/* ---- errors --------------------------------------------------------------- */

static void test_find_errors(void **state) {
    (void)state;
    const hrf_system_type *t = (const hrf_system_type *)&t; /* non-NULL garbage */
    hrf_clear_error();
    assert_int_equal(hrf_system_find("pendlum", &t), HRF_ENOTFOUND);
    assert_null(t);
    const char *msg = hrf_last_error();
    assert_non_null(strstr(msg, "pendlum"));
    const char *names[] = {"spring", "pendulum", "lotka_volterra", "double_pendulum",
                           "henon_heiles"};
    for (int i = 0; i < 5; i++)
        assert_non_null(strstr(msg, names[i]));
    assert_int_equal(hrf_system_find(NULL, &t), HRF_EINVAL);
    assert_int_equal(hrf_system_find("spring", NULL), HRF_EINVAL);
    assert_int_equal(hrf_system_find("Pendulum", &t), HRF_ENOTFOUND); /* names are exact */
}

static void test_set_errors(void **state) {
    (void)state;
    hrf_system sys;
    const hrf_system_type *t;
    assert_int_equal(hrf_system_find("pendulum", &t), HRF_OK);
    hrf_system_init(&sys, t);

    /* unknown parameter: names the system, the key, and lists the parameters */
    hrf_clear_error();
    assert_int_equal(hrf_system_set(&sys, "mass", 2.0), HRF_ENOTFOUND);
    const char *msg = hrf_last_error();
    assert_non_null(strstr(msg, "pendulum"));
    assert_non_null(strstr(msg, "'mass'"));
    assert_non_null(strstr(msg, "m, l, g, f"));

    /* non-finite values */
    hrf_clear_error();
    assert_int_equal(hrf_system_set(&sys, "g", NAN), HRF_EINVAL);
    assert_non_null(strstr(hrf_last_error(), "pendulum"));
    assert_non_null(strstr(hrf_last_error(), "g = "));
    assert_int_equal(hrf_system_set(&sys, "l", INFINITY), HRF_EINVAL);
    assert_int_equal(hrf_system_set(&sys, "l", -INFINITY), HRF_EINVAL);

    /* negative or zero mass and length; the old value is kept */
    hrf_clear_error();
    assert_int_equal(hrf_system_set(&sys, "m", -1.0), HRF_EINVAL);
    assert_non_null(strstr(hrf_last_error(), "pendulum"));
    assert_non_null(strstr(hrf_last_error(), "mass m must be > 0"));
    assert_int_equal(hrf_system_set(&sys, "l", 0.0), HRF_EINVAL);
    assert_non_null(strstr(hrf_last_error(), "length l"));
    for (int i = 0; i < t->nparams; i++)
        assert_true(sys.params[i] == t->param_defaults[i]);
    /* g and f may take any finite value */
    assert_int_equal(hrf_system_set(&sys, "g", -9.81), HRF_OK);
    assert_int_equal(hrf_system_set(&sys, "f", 0.0), HRF_OK);
    assert_true(sys.params[2] == -9.81 && sys.params[3] == 0.0);

    /* double pendulum: every mass and length must be positive */
    assert_int_equal(hrf_system_find("double_pendulum", &t), HRF_OK);
    hrf_system_init(&sys, t);
    const char *dp_keys[] = {"m1", "m2", "l1", "l2"};
    for (int i = 0; i < 4; i++) {
        hrf_clear_error();
        assert_int_equal(hrf_system_set(&sys, dp_keys[i], -0.5), HRF_EINVAL);
        assert_non_null(strstr(hrf_last_error(), "double_pendulum"));
        assert_non_null(strstr(hrf_last_error(), dp_keys[i]));
        assert_int_equal(hrf_system_set(&sys, dp_keys[i], 0.0), HRF_EINVAL);
    }
    assert_int_equal(hrf_system_set(&sys, "g", 0.0), HRF_OK);
    assert_int_equal(hrf_system_set(&sys, "m", 1.0), HRF_ENOTFOUND);
    assert_non_null(strstr(hrf_last_error(), "m1, m2, l1, l2, g"));

    /* spring: m > 0, k >= 0 (k = 0 is a free particle) */
    assert_int_equal(hrf_system_find("spring", &t), HRF_OK);
    hrf_system_init(&sys, t);
    assert_int_equal(hrf_system_set(&sys, "m", 0.0), HRF_EINVAL);
    assert_int_equal(hrf_system_set(&sys, "k", -1.0), HRF_EINVAL);
    assert_non_null(strstr(hrf_last_error(), "spring constant k"));
    assert_int_equal(hrf_system_set(&sys, "k", 0.0), HRF_OK);

    /* Lotka–Volterra and Hénon–Heiles accept any finite value */
    assert_int_equal(hrf_system_find("lotka_volterra", &t), HRF_OK);
    hrf_system_init(&sys, t);
    assert_int_equal(hrf_system_set(&sys, "alpha", -7.0), HRF_OK);
    assert_int_equal(hrf_system_set(&sys, "delta", 0.0), HRF_OK);
    assert_int_equal(hrf_system_set(&sys, "beta", NAN), HRF_EINVAL);
    assert_int_equal(hrf_system_find("henon_heiles", &t), HRF_OK);
    hrf_system_init(&sys, t);
    assert_int_equal(hrf_system_set(&sys, "alpha", 0.0), HRF_OK);

    /* NULL arguments */
    assert_int_equal(hrf_system_set(NULL, "alpha", 1.0), HRF_EINVAL);
    assert_int_equal(hrf_system_set(&sys, NULL, 1.0), HRF_EINVAL);
    hrf_system empty;
    hrf_system_init(&empty, NULL);
    assert_int_equal(hrf_system_set(&empty, "alpha", 1.0), HRF_EINVAL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_boxes_and_defaults),
        cmocka_unit_test(test_gradient_finite_differences),
        cmocka_unit_test(test_spring_values),
        cmocka_unit_test(test_pendulum_values),
        cmocka_unit_test(test_lotka_volterra_values),
        cmocka_unit_test(test_henon_heiles_values),
        cmocka_unit_test(test_double_pendulum_values),
        cmocka_unit_test(test_double_pendulum_mass_matrix),
        cmocka_unit_test(test_vector_field_is_J_grad),
        cmocka_unit_test(test_pendulum_velocity),
        cmocka_unit_test(test_spring_exact_flow),
        cmocka_unit_test(test_energy_conservation),
        cmocka_unit_test(test_find_errors),
        cmocka_unit_test(test_set_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
