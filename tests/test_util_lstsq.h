/* The references, tolerances and helpers that both least-squares tests use
 * (test_lstsq.c: one right-hand side; test_lstsq_nrhs.c: several). Static
 * functions, one copy per test executable. */
#ifndef HAMRF_TEST_UTIL_LSTSQ_H
#define HAMRF_TEST_UTIL_LSTSQ_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>

#include "hamrf/lstsq.h"
#include "hamrf/rng.h"
#include "hamrf/status.h"

/* ---- tolerances ---- */
/* Longley, svd and qr: the required accuracy. Householder-based solvers are
 * backward stable; the forward error is ~eps·κ with κ ≈ 4.3e4 for the
 * column-equilibrated matrix (4.9e9 unscaled), so ~1e-11 is expected (NumPy's
 * lstsq, the same dgelsd, reaches 1.4e-11). */
#define TOL_LONGLEY_DENSE 1e-9
/* Longley residual SD: the residual is insensitive to θ at the optimum (first
 * order), so it is known to about eps·κ as well; the certified value has 15
 * digits. */
#define TOL_LONGLEY_SD 1e-10
/* Longley, normal: the equilibrated Gram matrix has condition κ² ≈ 1.9e9, so
 * the ridged Cholesky solution alone is off by ~λκ² ≈ 2e-4 (observed 1.9e-4
 * with refine_max = gram_refine_max = 0), and PCG on the Gram system only gets
 * to ~eps·κ² (observed 2.1e-8 with refine_max = 0). The Cholesky-preconditioned
 * LSQR on A works with κ, not κ², and brings it to ~eps·κ (observed 4e-12).
 * 1e-8 is two orders above what LSQR gives and fails when it is skipped. */
#define TOL_LONGLEY_NORMAL 1e-8
/* Well-conditioned random problems (500 x 40, κ ≈ 1.8): four different
 * algorithms must agree to 1e-10 relative (expected ~1e-14). */
#define TOL_AGREE 1e-10
/* Consistent system u = Aθ*: θ recovered to eps·κ·(few) ≈ 1e-15; require 1e-12. */
#define TOL_CONSISTENT 1e-12
/* rel_residual of a consistent system: rounding of Aθ ≈ eps·sqrt(n) ≈ 1e-15. */
#define TOL_CONSISTENT_RES 1e-12
/* Rank-deficient problems: residual vectors compared relative to ‖u‖. The
 * residual of the (unique) least-squares fit is well conditioned (κ ≈ 1.8 on
 * the range of A) so svd and qr must agree with the full-rank problem to
 * rounding, 1e-12. */
#define TOL_RANKDEF_DENSE 1e-12
/* normal on a singular Gram matrix: the ridge (raised tenfold until Cholesky
 * succeeds) only shapes the preconditioner; PCG and the preconditioned LSQR
 * then converge to a least-squares minimiser, whose residual is unique. What
 * is left is LSQR's stopping error (refine_tol 1e-14 on ‖Aᵀr‖/(‖A‖‖r‖), or its
 * stall test), far below 1e-8 of ‖u‖ on this κ ≈ 1.8 problem (observed ~1e-15);
 * 1e-8 still fails a solution biased by an unremoved ridge of ≳ 1e-8. */
#define TOL_RANKDEF_NORMAL 1e-8
/* Minimum-norm split of a duplicated column (svd, qr = dgelsy, which also
 * returns the minimum-norm solution): θ_dup = θ_orig = θ0/2 to rounding. */
#define TOL_MINNORM 1e-12

/* ---- NIST StRD Longley ---- */
#define LONGLEY_N 16
#define LONGLEY_P 7
/* Rows: y (total derived employment), x1 GNP deflator, x2 GNP, x3 unemployed,
 * x4 armed forces, x5 population ≥ 14, x6 year. */
static const double LONGLEY[LONGLEY_N][7] = {
    {60323, 83.0, 234289, 2356, 1590, 107608, 1947},
    {61122, 88.5, 259426, 2325, 1456, 108632, 1948},
    {60171, 88.2, 258054, 3682, 1616, 109773, 1949},
    {61187, 89.5, 284599, 3351, 1650, 110929, 1950},
    {63221, 96.2, 328975, 2099, 3099, 112075, 1951},
    {63639, 98.1, 346999, 1932, 3594, 113270, 1952},
    {64989, 99.0, 365385, 1870, 3547, 115094, 1953},
    {63761, 100.0, 363112, 3578, 3350, 116219, 1954},
    {66019, 101.2, 397469, 2904, 3048, 117388, 1955},
    {67857, 104.6, 419180, 2822, 2857, 118734, 1956},
    {68169, 108.4, 442769, 2936, 2798, 120445, 1957},
    {66513, 110.8, 444546, 4681, 2637, 121950, 1958},
    {68655, 112.6, 482704, 3813, 2552, 123366, 1959},
    {69564, 114.2, 502601, 3931, 2514, 125368, 1960},
    {69331, 115.7, 518173, 4806, 2572, 127852, 1961},
    {70551, 116.9, 554894, 4007, 2827, 130081, 1962},
};
/* Certified B0 (intercept) .. B6. */
static const double LONGLEY_B[LONGLEY_P] = {
    -3482258.63459582, 15.0618722713733,       -0.358191792925910E-01, -2.02022980381683,
    -1.03322686717359, -0.511041056535807E-01, 1829.15146461355};
static const double LONGLEY_RESID_SD = 304.854073561965; /* sqrt(RSS / 9) */

/* A (16 x 7, column-major, column 0 = intercept) and u (16). */
static void longley_build(double *A, double *u) {
    for (int i = 0; i < LONGLEY_N; i++) {
        u[i] = LONGLEY[i][0];
        A[i] = 1.0;
        for (int j = 1; j < LONGLEY_P; j++)
            A[i + j * LONGLEY_N] = LONGLEY[i][j];
    }
}

/* ---- helpers ---- */

/* r = u − A θ in long double (A m x n column-major), returned as double. */
static void residual(size_t m, size_t n, const double *A, const double *u, const double *theta,
                     double *r) {
    for (size_t i = 0; i < m; i++) {
        long double s = u[i];
        for (size_t j = 0; j < n; j++)
            s -= (long double)A[i + j * m] * theta[j];
        r[i] = (double)s;
    }
}

static double vnorm(size_t n, const double *x) {
    long double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (long double)x[i] * x[i];
    return (double)sqrtl(s);
}

static double vdiff(size_t n, const double *x, const double *y) {
    long double s = 0;
    for (size_t i = 0; i < n; i++)
        s += ((long double)x[i] - y[i]) * ((long double)x[i] - y[i]);
    return (double)sqrtl(s);
}

static int solve_with(hrf_solver s, size_t m, size_t n, const double *A, const double *u,
                      double *theta, hrf_lstsq_report *rep) {
    hrf_lsq_problem prob;
    hrf_lsq_dense_ctx ctx;
    hrf_lsq_dense_problem(&prob, &ctx, m, n, A, u);
    hrf_lstsq_params p;
    hrf_lstsq_params_default(&p);
    p.solver = s;
    return hrf_lstsq_solve(&prob, &p, theta, rep);
}

/* m x n column-major with N(0,1) entries. */
static double *random_matrix(hrf_rng *rng, size_t m, size_t n) {
    double *A = malloc(m * n * sizeof *A);
    assert_non_null(A);
    for (size_t i = 0; i < m * n; i++)
        A[i] = hrf_rng_normal(rng);
    return A;
}

static const hrf_solver ALL_SOLVERS[4] = {HRF_SOLVER_SVD, HRF_SOLVER_QR, HRF_SOLVER_NORMAL,
                                          HRF_SOLVER_AUTO};

/* ---- the random problems' size (m x n) ---- */
#define RM 500
#define RN 40

#endif /* HAMRF_TEST_UTIL_LSTSQ_H */
