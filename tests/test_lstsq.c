/* Tests of the least-squares solvers (src/linalg/lstsq.c, include/hamrf/lstsq.h;
 * docs/math.md §4: svd, qr, normal, auto).
 *
 * Independent references:
 *   - NIST StRD "Longley" (16 observations, 6 predictors + intercept, "higher level
 *     of difficulty"): data and certified coefficients / residual SD typed from the
 *     NIST page (https://www.itl.nist.gov/div898/strd/lls/data/Longley.shtml) and
 *     re-derived when this test was written by an exact rational solve of the
 *     normal equations in Python's fractions module (agreement to < 3e-15 relative
 *     for every coefficient, residual SD 304.854073561965);
 *   - optimality conditions that need no solver: the least-squares residual is
 *     orthogonal to the columns (Aᵀr = 0), a consistent system has zero residual
 *     and recovers its θ*, a duplicated column leaves the residual unchanged and
 *     the minimum-norm solution splits the coefficient equally between the copies;
 *   - agreement of four different algorithms on well-conditioned problems. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
/* ‖Aᵀr‖/(‖A‖_F ‖r‖): a backward-stable solution has Aᵀr at rounding level,
 * ~eps·κ·sqrt(m) ≈ 1e-14; 1e-11 leaves three orders of margin. */
#define TOL_ORTHO 1e-11
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
/* Several right-hand sides (nrhs): column c of an nrhs solve against the
 * one-column solve of u_c, relative to the latter. Both are solutions of the
 * same well-conditioned problem (κ ≈ 1.8) by the same factorisation, computed
 * in a different order: LAPACK applies Qᵀ to a block instead of a vector,
 * DPOTRS replaces two DTRSVs, DGEMM replaces DGEMV, so the dense routes agree
 * to ~eps·κ·sqrt(n) ≈ 1e-15; the normal route's LSQR also stops each column
 * by its own test (refine_tol 1e-14 or the stall window), so its columns
 * differ by LSQR's stopping error. 1e-10 (TOL_AGREE) still fails a column
 * solved against another column's right-hand side, a wrong leading dimension
 * or a lost correction, which are off by O(1). */
#define TOL_NRHS_COLUMN 1e-10
/* nrhs on an ill-conditioned problem (κ = 1e6): each column of the normal
 * route against the svd solution. The Gram route alone (Cholesky + PCG) is
 * limited by κ² (observed 4e-6 .. 1e-5); the preconditioned LSQR reaches
 * ~eps·κ ≈ 1e-10 (observed ≤ 9e-11). 1e-8 sits two orders from each. */
#define TOL_NRHS_ILL 1e-8

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

/* ‖Aᵀr‖ / (‖A‖_F ‖r‖). */
static double ortho_ratio(size_t m, size_t n, const double *A, const double *r) {
    long double g2 = 0;
    for (size_t j = 0; j < n; j++) {
        long double g = 0;
        for (size_t i = 0; i < m; i++)
            g += (long double)A[i + j * m] * r[i];
        g2 += g * g;
    }
    return (double)sqrtl(g2) / (vnorm(m * n, A) * vnorm(m, r));
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

/* ---- Longley ---- */

static double longley_max_rel_err(const double *theta) {
    double worst = 0.0;
    for (int j = 0; j < LONGLEY_P; j++) {
        double e = fabs(theta[j] - LONGLEY_B[j]) / fabs(LONGLEY_B[j]);
        if (e > worst) worst = e;
    }
    return worst;
}

static void check_longley(hrf_solver s, double tol) {
    double A[LONGLEY_N * LONGLEY_P], u[LONGLEY_N], theta[LONGLEY_P], r[LONGLEY_N];
    longley_build(A, u);
    hrf_lstsq_report rep;
    int rc = solve_with(s, LONGLEY_N, LONGLEY_P, A, u, theta, &rep);
    if (rc != HRF_OK) fail_msg("%s on Longley: %s", hrf_solver_name(s), hrf_last_error());
    double err = longley_max_rel_err(theta);
    print_message("Longley %-6s: max relative coefficient error %.3e (tolerance %.0e), used %s\n",
                  hrf_solver_name(s), err, tol, hrf_solver_name(rep.used));
    for (int j = 0; j < LONGLEY_P; j++) {
        double e = fabs(theta[j] - LONGLEY_B[j]) / fabs(LONGLEY_B[j]);
        if (!(e <= tol))
            fail_msg("%s: B%d = %.15g, certified %.15g (relative error %.2e > %.0e)",
                     hrf_solver_name(s), j, theta[j], LONGLEY_B[j], e, tol);
    }
    residual(LONGLEY_N, LONGLEY_P, A, u, theta, r);
    double sd = vnorm(LONGLEY_N, r) / sqrt((double)(LONGLEY_N - LONGLEY_P));
    if (fabs(sd - LONGLEY_RESID_SD) > TOL_LONGLEY_SD * LONGLEY_RESID_SD)
        fail_msg("%s: residual SD %.15g, certified %.15g", hrf_solver_name(s), sd,
                 LONGLEY_RESID_SD);
    /* The report's ‖Aθ − u‖/‖u‖ is the certified residual over ‖y‖. */
    double want = LONGLEY_RESID_SD * sqrt((double)(LONGLEY_N - LONGLEY_P)) / vnorm(LONGLEY_N, u);
    if (fabs(rep.rel_residual - want) > TOL_LONGLEY_SD * want)
        fail_msg("%s: rel_residual %.15g, certified %.15g", hrf_solver_name(s), rep.rel_residual,
                 want);
    if (s == HRF_SOLVER_SVD || s == HRF_SOLVER_QR) {
        assert_int_equal(rep.rank, LONGLEY_P); /* σ_min/σ_max ≈ 2e-10 ≫ rcond 1e-13 */
        assert_int_equal(rep.used, s);
    }
}

static void test_longley_svd(void **state) {
    (void)state;
    check_longley(HRF_SOLVER_SVD, TOL_LONGLEY_DENSE);
}

static void test_longley_qr(void **state) {
    (void)state;
    check_longley(HRF_SOLVER_QR, TOL_LONGLEY_DENSE);
}

static void test_longley_normal(void **state) {
    (void)state;
    check_longley(HRF_SOLVER_NORMAL, TOL_LONGLEY_NORMAL);
}

/* auto on a 16 x 7 problem is "small" (rows·cols ≤ auto_dense_max), so it must
 * take a dense solver (lstsq.h says svd; the current code takes the
 * equilibrated column-pivoted QR, either is accurate), meet the dense
 * tolerance, and say what it chose in the report. */
static void test_longley_auto(void **state) {
    (void)state;
    check_longley(HRF_SOLVER_AUTO, TOL_LONGLEY_DENSE);
    double A[LONGLEY_N * LONGLEY_P], u[LONGLEY_N], theta[LONGLEY_P];
    longley_build(A, u);
    hrf_lstsq_report rep;
    assert_int_equal(solve_with(HRF_SOLVER_AUTO, LONGLEY_N, LONGLEY_P, A, u, theta, &rep), HRF_OK);
    assert_true(rep.used == HRF_SOLVER_SVD || rep.used == HRF_SOLVER_QR);
    assert_true(rep.rank == LONGLEY_P);
    assert_non_null(strstr(rep.reason, "small problem"));
    assert_non_null(strstr(rep.reason, rep.used == HRF_SOLVER_SVD ? "SVD" : "QR"));
}

/* ---- well-conditioned random problems ---- */
#define RM 500
#define RN 40

static void test_random_agree_and_orthogonal(void **state) {
    (void)state;
    hrf_rng rng;
    hrf_rng_seed(&rng, 20240611);
    double *A = random_matrix(&rng, RM, RN);
    double *u = random_matrix(&rng, RM, 1); /* generic u: residual far from 0 */
    double *A0 = malloc(RM * RN * sizeof *A0), *u0 = malloc(RM * sizeof *u0);
    memcpy(A0, A, RM * RN * sizeof *A0);
    memcpy(u0, u, RM * sizeof *u0);
    double theta[4][RN], r[RM];
    for (int k = 0; k < 4; k++) {
        hrf_lstsq_report rep;
        int rc = solve_with(ALL_SOLVERS[k], RM, RN, A, u, theta[k], &rep);
        if (rc) fail_msg("%s: %s", hrf_solver_name(ALL_SOLVERS[k]), hrf_last_error());
        /* The dense problem's A and u are const: no solver may write them. */
        assert_memory_equal(A, A0, RM * RN * sizeof *A);
        assert_memory_equal(u, u0, RM * sizeof *u);
        residual(RM, RN, A, u, theta[k], r);
        double q = ortho_ratio(RM, RN, A, r);
        print_message("random %dx%d %-6s: |A'r|/(|A||r|) = %.2e, |theta - svd|/|svd| = %.2e\n", RM,
                      RN, hrf_solver_name(ALL_SOLVERS[k]), q,
                      vdiff(RN, theta[k], theta[0]) / vnorm(RN, theta[0]));
        if (!(q <= TOL_ORTHO))
            fail_msg("%s: residual not orthogonal to the columns (%.2e)",
                     hrf_solver_name(ALL_SOLVERS[k]), q);
        double rr = vnorm(RM, r) / vnorm(RM, u);
        assert_true(fabs(rep.rel_residual - rr) <= 1e-12 * rr); /* same quantity, rounding */
        assert_true(rr > 0.5); /* u is generic: most of it is outside the 40-dim range */
    }
    for (int k = 0; k < 4; k++)
        for (int l = k + 1; l < 4; l++) {
            double d = vdiff(RN, theta[k], theta[l]) / vnorm(RN, theta[0]);
            if (!(d <= TOL_AGREE))
                fail_msg("%s and %s differ by %.2e", hrf_solver_name(ALL_SOLVERS[k]),
                         hrf_solver_name(ALL_SOLVERS[l]), d);
        }
    free(A), free(u), free(A0), free(u0);
}

/* auto on a problem declared "large" (auto_dense_max below rows·cols) takes the
 * Gram route, reports it, and still gives the least-squares solution. */
static void test_auto_large_takes_normal(void **state) {
    (void)state;
    hrf_rng rng;
    hrf_rng_seed(&rng, 77);
    double *A = random_matrix(&rng, RM, RN), *u = random_matrix(&rng, RM, 1);
    double th_svd[RN], th[RN], r[RM];
    assert_int_equal(solve_with(HRF_SOLVER_SVD, RM, RN, A, u, th_svd, NULL), HRF_OK);
    hrf_lsq_problem prob;
    hrf_lsq_dense_ctx ctx;
    hrf_lsq_dense_problem(&prob, &ctx, RM, RN, A, u);
    hrf_lstsq_params p;
    hrf_lstsq_params_default(&p);
    p.auto_dense_max = 1000; /* < 500·40 */
    hrf_lstsq_report rep;
    assert_int_equal(hrf_lstsq_solve(&prob, &p, th, &rep), HRF_OK);
    assert_int_equal(rep.used, HRF_SOLVER_NORMAL);
    assert_true(strlen(rep.reason) > 0);
    assert_true(vdiff(RN, th, th_svd) <= TOL_AGREE * vnorm(RN, th_svd));
    residual(RM, RN, A, u, th, r);
    assert_true(ortho_ratio(RM, RN, A, r) <= TOL_ORTHO);
    free(A), free(u);
}

/* ---- consistent problem ---- */
static void test_consistent(void **state) {
    (void)state;
    hrf_rng rng;
    hrf_rng_seed(&rng, 4242);
    double *A = random_matrix(&rng, RM, RN);
    double ts[RN], u[RM], th[RN];
    for (int j = 0; j < RN; j++)
        ts[j] = hrf_rng_uniform_range(&rng, -2.0, 2.0);
    for (int i = 0; i < RM; i++) {
        long double s = 0;
        for (int j = 0; j < RN; j++)
            s += (long double)A[i + j * RM] * ts[j];
        u[i] = (double)s;
    }
    for (int k = 0; k < 4; k++) {
        hrf_lstsq_report rep;
        assert_int_equal(solve_with(ALL_SOLVERS[k], RM, RN, A, u, th, &rep), HRF_OK);
        double e = vdiff(RN, th, ts) / vnorm(RN, ts);
        if (!(e <= TOL_CONSISTENT))
            fail_msg("%s: θ* recovered to %.2e only", hrf_solver_name(ALL_SOLVERS[k]), e);
        if (!(rep.rel_residual <= TOL_CONSISTENT_RES))
            fail_msg("%s: rel_residual %.2e on a consistent system",
                     hrf_solver_name(ALL_SOLVERS[k]), rep.rel_residual);
    }
    free(A);
}

/* ---- rank-deficient problems ---- */

/* A1 = [A0, A0[:, dup]] (duplicate column) or [A0, 0] (zero column) with
 * n0 + 1 columns; every solver must return a finite θ whose residual is the
 * full-rank residual of A0; svd and qr report rank n0. */
static void check_rank_deficient(int zero_column) {
    const size_t m = RM, n0 = RN, n1 = RN + 1, dup = 3;
    hrf_rng rng;
    hrf_rng_seed(&rng, zero_column ? 555 : 666);
    double *A0 = random_matrix(&rng, m, n0), *u = random_matrix(&rng, m, 1);
    double *A1 = malloc(m * n1 * sizeof *A1);
    memcpy(A1, A0, m * n0 * sizeof *A1);
    for (size_t i = 0; i < m; i++)
        A1[i + n0 * m] = zero_column ? 0.0 : A0[i + dup * m];
    double th0[RN], th1[RN + 1], r0[RM], r1[RM];
    hrf_lstsq_report rep;
    assert_int_equal(solve_with(HRF_SOLVER_SVD, m, n0, A0, u, th0, &rep), HRF_OK);
    assert_int_equal(rep.rank, (int)n0);
    residual(m, n0, A0, u, th0, r0);
    assert_true(ortho_ratio(m, n0, A0, r0) <= TOL_ORTHO); /* th0 is the LS solution */
    const double un = vnorm(m, u);
    for (int k = 0; k < 4; k++) {
        hrf_solver s = ALL_SOLVERS[k];
        int rc = solve_with(s, m, n1, A1, u, th1, &rep);
        if (rc != HRF_OK)
            fail_msg("%s on a rank-deficient problem: %s (%s)", hrf_solver_name(s),
                     hrf_strerror(rc), hrf_last_error());
        for (size_t j = 0; j < n1; j++)
            assert_true(isfinite(th1[j]));
        residual(m, n1, A1, u, th1, r1);
        double d = vdiff(m, r1, r0) / un;
        int dense = s == HRF_SOLVER_SVD || s == HRF_SOLVER_QR || rep.used != HRF_SOLVER_NORMAL;
        double tol = dense ? TOL_RANKDEF_DENSE : TOL_RANKDEF_NORMAL;
        print_message("%s column, %-6s: rank %d, |r - r_fullrank|/|u| = %.2e (tol %.0e)%s%s\n",
                      zero_column ? "zero" : "duplicate", hrf_solver_name(s), rep.rank, d, tol,
                      rep.reason[0] ? "; " : "", rep.reason);
        if (!(d <= tol))
            fail_msg("%s: residual differs from the full-rank residual by %.2e", hrf_solver_name(s),
                     d);
        if (s == HRF_SOLVER_SVD || s == HRF_SOLVER_QR) {
            assert_int_equal(rep.rank, (int)n0);
            /* Minimum-norm solution: zero column gets 0, a duplicated column
             * shares the coefficient equally; the others are unchanged. */
            double scale = vnorm(n0, th0);
            for (size_t j = 0; j < n0; j++) {
                double want = (!zero_column && j == dup) ? th0[j] / 2 : th0[j];
                if (fabs(th1[j] - want) > TOL_MINNORM * scale)
                    fail_msg("%s: θ[%zu] = %.15g, minimum-norm value %.15g", hrf_solver_name(s), j,
                             th1[j], want);
            }
            double want_last = zero_column ? 0.0 : th0[dup] / 2;
            if (fabs(th1[n0] - want_last) > TOL_MINNORM * scale)
                fail_msg("%s: θ[last] = %.15g, minimum-norm value %.15g", hrf_solver_name(s),
                         th1[n0], want_last);
        }
    }
    free(A0), free(A1), free(u);
}

static void test_rank_deficient_duplicate(void **state) {
    (void)state;
    check_rank_deficient(0);
}

static void test_rank_deficient_zero_column(void **state) {
    (void)state;
    check_rank_deficient(1);
}

/* ---- errors ---- */

static void test_nonfinite_u(void **state) {
    (void)state;
    double A[LONGLEY_N * LONGLEY_P], u[LONGLEY_N], theta[LONGLEY_P];
    const double bad[2] = {NAN, INFINITY};
    for (int b = 0; b < 2; b++)
        for (int k = 0; k < 4; k++) {
            longley_build(A, u);
            u[5] = bad[b];
            hrf_clear_error();
            int rc = solve_with(ALL_SOLVERS[k], LONGLEY_N, LONGLEY_P, A, u, theta, NULL);
            assert_int_equal(rc, HRF_ENUMERIC);
            const char *msg = hrf_last_error();
            print_message("non-finite u, %s: %s\n", hrf_solver_name(ALL_SOLVERS[k]), msg);
            assert_non_null(strstr(msg, "non-finite"));
            assert_non_null(strstr(msg, "5")); /* names the row */
        }
}

static void test_nonfinite_A(void **state) {
    (void)state;
    double A[LONGLEY_N * LONGLEY_P], u[LONGLEY_N], theta[LONGLEY_P];
    for (int k = 0; k < 4; k++) {
        longley_build(A, u);
        A[4 + 2 * LONGLEY_N] = NAN; /* row 4, column 2 */
        hrf_clear_error();
        int rc = solve_with(ALL_SOLVERS[k], LONGLEY_N, LONGLEY_P, A, u, theta, NULL);
        const char *msg = hrf_last_error();
        print_message("NaN in A, %s: %s\n", hrf_solver_name(ALL_SOLVERS[k]), msg);
        assert_int_equal(rc, HRF_ENUMERIC);
        assert_true(strlen(msg) > 0);
        assert_non_null(strstr(msg, "non-finite"));
    }
}

static void test_empty_problem(void **state) {
    (void)state;
    double A[1] = {1.0}, u[1] = {1.0}, theta[1];
    for (int k = 0; k < 4; k++) {
        hrf_clear_error();
        assert_int_equal(solve_with(ALL_SOLVERS[k], 0, 1, A, u, theta, NULL), HRF_EINVAL);
        assert_true(strlen(hrf_last_error()) > 0);
        assert_int_equal(solve_with(ALL_SOLVERS[k], 1, 0, A, u, theta, NULL), HRF_EINVAL);
    }
}

static void test_params(void **state) {
    (void)state;
    hrf_lstsq_params p;
    hrf_lstsq_params_default(&p);
    /* Defaults documented in lstsq.h and docs/math.md §4.5–4.6. */
    assert_int_equal(p.solver, HRF_SOLVER_AUTO);
    assert_true(p.rcond == 1e-13);
    assert_true(p.ridge == 1e-13);
    assert_int_equal(p.mem_limit, 0);
    assert_null(hrf_lstsq_params_check(&p));

    double A[LONGLEY_N * LONGLEY_P], u[LONGLEY_N], theta[LONGLEY_P];
    longley_build(A, u);
    hrf_lsq_problem prob;
    hrf_lsq_dense_ctx ctx;
    hrf_lsq_dense_problem(&prob, &ctx, LONGLEY_N, LONGLEY_P, A, u);

    struct {
        const char *field;
        double rcond, ridge;
    } bad[] = {{"rcond", -1.0, 1e-13},
               {"rcond", NAN, 1e-13},
               {"ridge", 1e-13, 2.0},
               {"ridge", 1e-13, -1.0}};
    for (size_t t = 0; t < sizeof bad / sizeof bad[0]; t++) {
        hrf_lstsq_params_default(&p);
        p.rcond = bad[t].rcond;
        p.ridge = bad[t].ridge;
        const char *msg = hrf_lstsq_params_check(&p);
        assert_non_null(msg);
        assert_non_null(strstr(msg, bad[t].field));
        assert_int_equal(hrf_lstsq_solve(&prob, &p, theta, NULL), HRF_EINVAL);
        assert_non_null(strstr(hrf_last_error(), bad[t].field));
    }
}

/* A dense problem whose callbacks count calls, to see that nothing is
 * assembled (no big allocation happened) when the memory check fails. */
typedef struct {
    hrf_lsq_problem inner;
    int calls;
} counting_ctx;
static int cnt_assemble(void *c, double *A, double *u) {
    counting_ctx *cc = c;
    cc->calls++;
    return cc->inner.assemble(cc->inner.ctx, A, u);
}
static int cnt_gram(void *c, double *G, double *Atu, double *utu) {
    counting_ctx *cc = c;
    cc->calls++;
    return cc->inner.gram(cc->inner.ctx, G, Atu, utu);
}
static int cnt_apply(void *c, const double *v, double *y) {
    counting_ctx *cc = c;
    cc->calls++;
    return cc->inner.apply(cc->inner.ctx, v, y);
}
static int cnt_apply_t(void *c, const double *y, double *v) {
    counting_ctx *cc = c;
    cc->calls++;
    return cc->inner.apply_t(cc->inner.ctx, y, v);
}

static void test_mem_limit(void **state) {
    (void)state;
    hrf_rng rng;
    hrf_rng_seed(&rng, 1);
    double *A = random_matrix(&rng, RM, RN), *u = random_matrix(&rng, RM, 1);
    double theta[RN];
    hrf_lsq_dense_ctx dctx;
    counting_ctx cc;
    hrf_lsq_dense_problem(&cc.inner, &dctx, RM, RN, A, u);
    hrf_lsq_problem prob = cc.inner;
    prob.ctx = &cc;
    prob.assemble = cnt_assemble, prob.gram = cnt_gram;
    prob.apply = cnt_apply, prob.apply_t = cnt_apply_t;
    for (int k = 0; k < 4; k++) {
        hrf_lstsq_params p;
        hrf_lstsq_params_default(&p);
        p.solver = ALL_SOLVERS[k];
        p.mem_limit = 1000; /* bytes: less than A (160 kB) or the 40 x 40 Gram (12.8 kB) */
        cc.calls = 0;
        hrf_clear_error();
        int rc = hrf_lstsq_solve(&prob, &p, theta, NULL);
        const char *msg = hrf_last_error();
        print_message("mem_limit 1000 B, %s: %s\n", hrf_solver_name(ALL_SOLVERS[k]), msg);
        assert_int_equal(rc, HRF_ETOOBIG);
        assert_int_equal(cc.calls, 0); /* refused before assembling anything */
        const char *g = strstr(msg, "GiB");
        assert_non_null(g);
        /* The advice must be actionable (docs/architecture.md, "Lifecycle conventions"): the normal
         * solver's message must not suggest the normal solver. */
        if (ALL_SOLVERS[k] == HRF_SOLVER_NORMAL && strstr(msg, "--solver normal"))
            fail_msg("the normal solver's out-of-memory message advises '--solver normal': %s",
                     msg);
        /* The first number before "GiB" is the estimate; it must be at least what
         * the solver's matrix alone needs: 8·m·n bytes (dense) or 8·n² (Gram). */
        const char *q = strstr(msg, "about ");
        assert_non_null(q);
        double est = strtod(q + 6, NULL);
        double floor_bytes = (ALL_SOLVERS[k] == HRF_SOLVER_NORMAL) ? 8.0 * RN * RN : 8.0 * RM * RN;
        if (!(est * 1073741824.0 >= floor_bytes * 0.999)) /* 0.999: printed with 3 digits */
            fail_msg("%s: estimate %.3g GiB is below the %g bytes the matrix needs",
                     hrf_solver_name(ALL_SOLVERS[k]), est, floor_bytes);
    }
    /* A generous limit lets the same problem through. */
    hrf_lstsq_params p;
    hrf_lstsq_params_default(&p);
    p.solver = HRF_SOLVER_SVD;
    p.mem_limit = (size_t)1 << 30;
    assert_int_equal(hrf_lstsq_solve(&prob, &p, theta, NULL), HRF_OK);
    free(A), free(u);
}

/* ---- several right-hand sides (nrhs) ---- */

/* A problem over a dense matrix with nrhs columns whose callbacks count
 * their calls, optionally without the block products (the per-column
 * fallback), with a fused block product, or with a QR reduction. */
typedef struct {
    hrf_lsq_dense_ctx d;
    int single, block; /* calls of the one-vector and of the block callbacks */
    int other;         /* assemble, gram, reduce */
} nrhs_ctx;

static int nc_assemble(void *c, double *A, double *U) {
    nrhs_ctx *x = c;
    x->other++;
    memcpy(A, x->d.A, x->d.rows * x->d.cols * sizeof *A);
    memcpy(U, x->d.u, x->d.rows * x->d.nrhs * sizeof *U);
    return HRF_OK;
}
static int nc_gram(void *c, double *G, double *AtU, double *utu) {
    nrhs_ctx *x = c;
    x->other++;
    int m = (int)x->d.rows, n = (int)x->d.cols, k = (int)x->d.nrhs;
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, n, m, 1.0, x->d.A, m, 0.0, G, n);
    cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, n, k, m, 1.0, x->d.A, m, x->d.u, m, 0.0,
                AtU, n);
    for (int j = 0; j < k; j++)
        utu[j] = cblas_ddot(m, x->d.u + (size_t)j * m, 1, x->d.u + (size_t)j * m, 1);
    return HRF_OK;
}
static void nc_mul(const nrhs_ctx *x, int trans, size_t k, const double *In, double *Out) {
    int m = (int)x->d.rows, n = (int)x->d.cols;
    if (trans)
        cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, n, (int)k, m, 1.0, x->d.A, m, In, m,
                    0.0, Out, n);
    else
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, m, (int)k, n, 1.0, x->d.A, m, In, n,
                    0.0, Out, m);
}
static int nc_apply(void *c, const double *v, double *y) {
    nrhs_ctx *x = c;
    x->single++;
    nc_mul(x, 0, 1, v, y);
    return HRF_OK;
}
static int nc_apply_t(void *c, const double *y, double *v) {
    nrhs_ctx *x = c;
    x->single++;
    nc_mul(x, 1, 1, y, v);
    return HRF_OK;
}
static int nc_apply_block(void *c, size_t k, const double *V, double *Y) {
    nrhs_ctx *x = c;
    x->block++;
    assert_true(k >= 1 && k <= x->d.nrhs);
    nc_mul(x, 0, k, V, Y);
    return HRF_OK;
}
static int nc_apply_t_block(void *c, size_t k, const double *Y, double *V) {
    nrhs_ctx *x = c;
    x->block++;
    assert_true(k >= 1 && k <= x->d.nrhs);
    nc_mul(x, 1, k, Y, V);
    return HRF_OK;
}
static int nc_apply_normal_block(void *c, size_t k, const double *V, double *Y, double *Z) {
    nrhs_ctx *x = c;
    x->block++;
    nc_mul(x, 0, k, V, Y);
    nc_mul(x, 1, k, Y, Z);
    return HRF_OK;
}
/* R of A's QR (n x n) and the first n rows of Qᵀ U: the same least-squares
 * solutions as A (docs/math.md §4.3's contract for reduce). */
static int nc_reduce(void *c, size_t *rows_r, double **A_r, double **u_r) {
    nrhs_ctx *x = c;
    x->other++;
    size_t m = x->d.rows, n = x->d.cols, k = x->d.nrhs;
    double *A = malloc(m * n * sizeof *A), *U = malloc(m * k * sizeof *U);
    double *tau = malloc(n * sizeof *tau), *R = calloc(n * n, sizeof *R);
    double *Ur = malloc(n * k * sizeof *Ur);
    assert_true(A && U && tau && R && Ur);
    memcpy(A, x->d.A, m * n * sizeof *A);
    memcpy(U, x->d.u, m * k * sizeof *U);
    assert_int_equal(LAPACKE_dgeqrf(LAPACK_COL_MAJOR, (int)m, (int)n, A, (int)m, tau), 0);
    assert_int_equal(LAPACKE_dormqr(LAPACK_COL_MAJOR, 'L', 'T', (int)m, (int)k, (int)n, A, (int)m,
                                    tau, U, (int)m),
                     0);
    for (size_t j = 0; j < n; j++)
        for (size_t i = 0; i <= j; i++)
            R[i + j * n] = A[i + j * m];
    for (size_t a = 0; a < k; a++)
        memcpy(Ur + a * n, U + a * m, n * sizeof *Ur);
    free(A), free(U), free(tau);
    *rows_r = n, *A_r = R, *u_r = Ur;
    return HRF_OK;
}

enum { NC_BLOCK, NC_PER_COLUMN, NC_FUSED, NC_REDUCE, NC_VARIANTS };
static const char *const NC_NAME[NC_VARIANTS] = {"block", "per-column", "fused", "reduce"};

static void nrhs_problem(hrf_lsq_problem *prob, nrhs_ctx *x, int variant, size_t m, size_t n,
                         size_t k, const double *A, const double *U) {
    memset(x, 0, sizeof *x);
    x->d.rows = m, x->d.cols = n, x->d.nrhs = k, x->d.A = A, x->d.u = U;
    memset(prob, 0, sizeof *prob);
    prob->rows = m, prob->cols = n, prob->nrhs = k, prob->ctx = x, prob->u = U;
    prob->assemble = nc_assemble, prob->gram = nc_gram;
    prob->apply = nc_apply, prob->apply_t = nc_apply_t;
    if (variant != NC_PER_COLUMN)
        prob->apply_block = nc_apply_block, prob->apply_t_block = nc_apply_t_block;
    if (variant == NC_FUSED) prob->apply_normal_block = nc_apply_normal_block;
    if (variant == NC_REDUCE) {
        prob->reduce = nc_reduce;
        prob->reduce_rows = n;
        prob->reduce_flops = 2.0 * (double)m * (double)n * (double)n;
        prob->reduce_bytes = 8.0 * ((double)m * (double)(n + k) + (double)n * (double)(n + k));
    }
    prob->gram_flops = (double)m * (double)n * (double)(n + k);
    prob->apply_flops = 2.0 * (double)m * (double)n;
}

/* ‖A Θ − U‖_F / ‖U‖_F in long double (A m x n, Θ n x k, U m x k). */
static double frob_rel_residual(size_t m, size_t n, size_t k, const double *A, const double *U,
                                const double *Th) {
    long double r2 = 0, u2 = 0;
    for (size_t c = 0; c < k; c++)
        for (size_t i = 0; i < m; i++) {
            long double s = U[i + c * m];
            for (size_t j = 0; j < n; j++)
                s -= (long double)A[i + j * m] * Th[j + c * n];
            r2 += s * s;
            u2 += (long double)U[i + c * m] * U[i + c * m];
        }
    return (double)(sqrtl(r2) / sqrtl(u2));
}

/* Every solver, every way of providing the products: column c of the nrhs
 * solve is the one-column solve of u_c (to TOL_NRHS_COLUMN, a zero column
 * exactly 0), the report is the whole solve's, and A and U are untouched.
 * U = [generic, consistent A θ*, 0, 1e6 · generic]. */
#define NK 4
static void check_nrhs_columns(hrf_solver s, int variant, size_t auto_dense_max) {
    hrf_rng rng;
    hrf_rng_seed(&rng, 9001);
    double *A = random_matrix(&rng, RM, RN), *U = random_matrix(&rng, RM, NK);
    double ts[RN];
    for (int j = 0; j < RN; j++)
        ts[j] = hrf_rng_uniform_range(&rng, -2.0, 2.0);
    for (int i = 0; i < RM; i++) {
        long double acc = 0;
        for (int j = 0; j < RN; j++)
            acc += (long double)A[i + j * RM] * ts[j];
        U[i + 1 * RM] = (double)acc;
        U[i + 2 * RM] = 0.0;
        U[i + 3 * RM] = 1e6 * U[i];
    }
    double *U0 = malloc(RM * NK * sizeof *U0), *A0 = malloc(RM * RN * sizeof *A0);
    memcpy(U0, U, RM * NK * sizeof *U0);
    memcpy(A0, A, RM * RN * sizeof *A0);
    hrf_lstsq_params p;
    hrf_lstsq_params_default(&p);
    p.solver = s;
    p.auto_dense_max = auto_dense_max;
    p.use_reduce = variant == NC_REDUCE;
    hrf_lsq_problem prob;
    nrhs_ctx x;
    nrhs_problem(&prob, &x, variant, RM, RN, NK, A, U);
    double th[RN * NK], one[RN];
    hrf_lstsq_report rep, rep1;
    int rc = hrf_lstsq_solve(&prob, &p, th, &rep);
    if (rc) fail_msg("%s (%s): %s", hrf_solver_name(s), NC_NAME[variant], hrf_last_error());
    assert_memory_equal(A, A0, RM * RN * sizeof *A);
    assert_memory_equal(U, U0, RM * NK * sizeof *U);
    double worst = 0.0;
    for (int c = 0; c < NK; c++) {
        hrf_lsq_problem p1;
        nrhs_ctx x1;
        nrhs_problem(&p1, &x1, variant, RM, RN, 1, A, U + c * RM);
        assert_int_equal(hrf_lstsq_solve(&p1, &p, one, &rep1), HRF_OK);
        assert_int_equal(rep.used, rep1.used);
        if (c == 2) { /* zero right-hand side: exactly zero coefficients */
            for (int j = 0; j < RN; j++)
                if (th[j + c * RN] != 0.0 || one[j] != 0.0)
                    fail_msg("%s (%s): zero right-hand side gave θ[%d] = %g (one column: %g)",
                             hrf_solver_name(s), NC_NAME[variant], j, th[j + c * RN], one[j]);
            continue;
        }
        double d = vdiff(RN, th + c * RN, one) / vnorm(RN, one);
        if (d > worst) worst = d;
        if (!(d <= TOL_NRHS_COLUMN))
            fail_msg("%s (%s): column %d differs from its one-column solve by %.2e",
                     hrf_solver_name(s), NC_NAME[variant], c, d);
        if (c == 1 && !(vdiff(RN, th + c * RN, ts) <= TOL_CONSISTENT * vnorm(RN, ts)))
            fail_msg("%s (%s): consistent column not recovered", hrf_solver_name(s),
                     NC_NAME[variant]);
    }
    double want = frob_rel_residual(RM, RN, NK, A, U, th);
    print_message("nrhs %d, %-6s (%-10s, used %-6s): columns vs one-column solves %.2e, "
                  "rel_residual %.6e (independent %.6e), %d LSQR iterations, calls: %d block, "
                  "%d single\n",
                  NK, hrf_solver_name(s), NC_NAME[variant], hrf_solver_name(rep.used), worst,
                  rep.rel_residual, want, rep.iterations, x.block, x.single);
    assert_true(fabs(rep.rel_residual - want) <= 1e-12 * want);
    if (rep.used != HRF_SOLVER_NORMAL) {
        assert_int_equal(rep.rank, RN);
    } else {
        assert_true(rep.iterations >= 1); /* LSQR ran (refine_max 50 or auto's 10) */
        assert_true(rep.converged >= 0);
    }
    /* The products: with block callbacks one call serves every column, so no
     * one-vector call is made; without them, one call per column. */
    if (variant == NC_PER_COLUMN) {
        assert_int_equal(x.block, 0);
        if (rep.used == HRF_SOLVER_NORMAL) /* at least R0 and the residual, per column */
            assert_true(x.single >= 2 * NK);
    } else {
        assert_int_equal(x.single, 0);
        if (rep.used == HRF_SOLVER_NORMAL) /* start, LSQR (≤ 2 per iteration), residual */
            assert_true(x.block <= 2 * rep.iterations + 3);
    }
    free(A), free(U), free(A0), free(U0);
}

static void test_nrhs_columns_match_single(void **state) {
    (void)state;
    for (int k = 0; k < 4; k++)
        for (int v = 0; v < NC_VARIANTS; v++)
            check_nrhs_columns(ALL_SOLVERS[k], v, (size_t)1 << 22);
    /* auto on a problem declared large: the Gram route, for all columns at once. */
    for (int v = 0; v < NC_VARIANTS; v++)
        check_nrhs_columns(HRF_SOLVER_AUTO, v, 1000);
}

/* An ill-conditioned problem (500 x 40, singular values from 1 to 1e-6,
 * random singular vectors): the Gram route alone is off by ~eps·κ², and the
 * preconditioned LSQR must bring every column to ~eps·κ, whichever way the
 * products are provided (block, per column, fused). Reference: the
 * one-column svd solve of each column. */
static void test_nrhs_ill_conditioned(void **state) {
    (void)state;
    hrf_rng rng;
    hrf_rng_seed(&rng, 161803);
    double *Q1 = random_matrix(&rng, RM, RN), *Q2 = random_matrix(&rng, RN, RN);
    double tau[RN];
    assert_int_equal(LAPACKE_dgeqrf(LAPACK_COL_MAJOR, RM, RN, Q1, RM, tau), 0);
    assert_int_equal(LAPACKE_dorgqr(LAPACK_COL_MAJOR, RM, RN, RN, Q1, RM, tau), 0);
    assert_int_equal(LAPACKE_dgeqrf(LAPACK_COL_MAJOR, RN, RN, Q2, RN, tau), 0);
    assert_int_equal(LAPACKE_dorgqr(LAPACK_COL_MAJOR, RN, RN, RN, Q2, RN, tau), 0);
    for (int j = 0; j < RN; j++) /* Q1 diag(σ) */
        cblas_dscal(RM, pow(10.0, -6.0 * j / (RN - 1.0)), Q1 + j * RM, 1);
    double *A = malloc(RM * RN * sizeof *A), *U = random_matrix(&rng, RM, NK);
    cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, RM, RN, RN, 1.0, Q1, RM, Q2, RN, 0.0, A,
                RM);
    double ref[RN * NK], th[RN * NK];
    for (int c = 0; c < NK; c++)
        assert_int_equal(solve_with(HRF_SOLVER_SVD, RM, RN, A, U + c * RM, ref + c * RN, NULL),
                         HRF_OK);
    /* refine 0: no LSQR; 1: defaults; 2: a large ridge and no PCG, so that
     * LSQR, on B = A S C⁻¹ with κ(B) ≈ √λ/σ_min = 1e3, needs many iterations
     * (which exercises each column's recurrences, fused or not). */
    for (int v = 0; v < 3; v++)
        for (int refine = 0; refine < 3; refine++) {
            hrf_lsq_problem prob;
            nrhs_ctx x;
            nrhs_problem(&prob, &x, v, RM, RN, NK, A, U);
            hrf_lstsq_params p;
            hrf_lstsq_params_default(&p);
            p.solver = HRF_SOLVER_NORMAL;
            if (!refine) p.refine_max = 0;
            if (refine == 2) /* and no stall test: ‖r‖ barely moves while θ converges */
                p.ridge = 1e-6, p.gram_refine_max = 0, p.refine_max = 500, p.refine_stall = 0.0;
            hrf_lstsq_report rep;
            assert_int_equal(hrf_lstsq_solve(&prob, &p, th, &rep), HRF_OK);
            double best = INFINITY, worst = 0.0;
            for (int c = 0; c < NK; c++) {
                double e = vdiff(RN, th + c * RN, ref + c * RN) / vnorm(RN, ref + c * RN);
                best = fmin(best, e), worst = fmax(worst, e);
            }
            print_message("ill-conditioned nrhs %d, normal (%-10s) refine %-2d: error vs svd %.2e "
                          ".. %.2e, %d LSQR iterations, converged %d\n",
                          NK, NC_NAME[v], p.refine_max, best, worst, rep.iterations, rep.converged);
            if (refine && !(worst <= TOL_NRHS_ILL))
                fail_msg("%s: a column is off the svd solution by %.2e", NC_NAME[v], worst);
            if (!refine && !(best > TOL_NRHS_ILL)) /* the test can see a missing LSQR */
                fail_msg("%s: the Gram route alone is already within %.2e", NC_NAME[v], best);
        }
    free(Q1), free(Q2), free(A), free(U);
}

/* Known exact solutions. (1) Longley with U = [y, 2y, −y/2]: scaling by a
 * power of two is exact, so the certified coefficients, scaled, are the
 * solutions, to each solver's Longley tolerance. (2) A consistent integer
 * system: A (60 x 8) and Θ* (8 x 3) small integers, so U = AΘ* is exact in
 * double; every solver recovers Θ* to TOL_CONSISTENT. */
static void test_nrhs_exact_solutions(void **state) {
    (void)state;
    double A[LONGLEY_N * LONGLEY_P], y[LONGLEY_N], U[LONGLEY_N * 3], th[LONGLEY_P * 3];
    const double scale[3] = {1.0, 2.0, -0.5};
    longley_build(A, y);
    for (int c = 0; c < 3; c++)
        for (int i = 0; i < LONGLEY_N; i++)
            U[i + c * LONGLEY_N] = scale[c] * y[i];
    for (int k = 0; k < 4; k++) {
        hrf_solver s = ALL_SOLVERS[k];
        hrf_lsq_problem prob;
        hrf_lsq_dense_ctx ctx;
        hrf_lsq_dense_problem_nrhs(&prob, &ctx, LONGLEY_N, LONGLEY_P, 3, A, U);
        hrf_lstsq_params p;
        hrf_lstsq_params_default(&p);
        p.solver = s;
        hrf_lstsq_report rep;
        assert_int_equal(hrf_lstsq_solve(&prob, &p, th, &rep), HRF_OK);
        double tol = s == HRF_SOLVER_NORMAL ? TOL_LONGLEY_NORMAL : TOL_LONGLEY_DENSE;
        double worst = 0.0;
        for (int c = 0; c < 3; c++)
            for (int j = 0; j < LONGLEY_P; j++) {
                double want = scale[c] * LONGLEY_B[j];
                double e = fabs(th[j + c * LONGLEY_P] - want) / fabs(want);
                if (e > worst) worst = e;
                if (!(e <= tol))
                    fail_msg("%s, Longley column %d: B%d = %.15g, certified %.15g (%.2e > %.0e)",
                             hrf_solver_name(s), c, j, th[j + c * LONGLEY_P], want, e, tol);
            }
        /* The columns' residuals are the certified one, scaled: ‖·‖_F/‖U‖_F is
         * the one-column rel_residual. */
        double want =
            LONGLEY_RESID_SD * sqrt((double)(LONGLEY_N - LONGLEY_P)) / vnorm(LONGLEY_N, y);
        print_message("Longley nrhs 3, %-6s: max relative error %.3e, rel_residual %.12g "
                      "(certified %.12g)\n",
                      hrf_solver_name(s), worst, rep.rel_residual, want);
        assert_true(fabs(rep.rel_residual - want) <= TOL_LONGLEY_SD * want);
    }

    enum { IM = 60, IN = 8, IK = 3 };
    double Ai[IM * IN], Ts[IN * IK], Ui[IM * IK], Ti[IN * IK];
    hrf_rng rng;
    hrf_rng_seed(&rng, 31337);
    for (int i = 0; i < IM * IN; i++)
        Ai[i] = (double)hrf_rng_below(&rng, 19) - 9.0;
    for (int i = 0; i < IN * IK; i++)
        Ts[i] = (double)hrf_rng_below(&rng, 21) - 10.0;
    for (int c = 0; c < IK; c++)
        for (int i = 0; i < IM; i++) {
            double acc = 0.0; /* integers below 2^53: exact */
            for (int j = 0; j < IN; j++)
                acc += Ai[i + j * IM] * Ts[j + c * IN];
            Ui[i + c * IM] = acc;
        }
    for (int k = 0; k < 4; k++) {
        hrf_lsq_problem prob;
        hrf_lsq_dense_ctx ctx;
        hrf_lsq_dense_problem_nrhs(&prob, &ctx, IM, IN, IK, Ai, Ui);
        hrf_lstsq_params p;
        hrf_lstsq_params_default(&p);
        p.solver = ALL_SOLVERS[k];
        hrf_lstsq_report rep;
        assert_int_equal(hrf_lstsq_solve(&prob, &p, Ti, &rep), HRF_OK);
        double e = vdiff(IN * IK, Ti, Ts) / vnorm(IN * IK, Ts);
        print_message("integer system nrhs %d, %-6s: |Θ − Θ*|/|Θ*| = %.2e, rel_residual %.2e\n", IK,
                      hrf_solver_name(ALL_SOLVERS[k]), e, rep.rel_residual);
        assert_true(e <= TOL_CONSISTENT);
        assert_true(rep.rel_residual <= TOL_CONSISTENT_RES);
    }
}

/* A duplicated column with three right-hand sides: each column's residual
 * is the full-rank residual of that column, and svd/qr split each column's
 * coefficient equally between the copies (minimum norm). */
static void test_nrhs_rank_deficient(void **state) {
    (void)state;
    const size_t m = RM, n0 = RN, n1 = RN + 1, dup = 7, k = 3;
    hrf_rng rng;
    hrf_rng_seed(&rng, 2718);
    double *A0 = random_matrix(&rng, m, n0), *U = random_matrix(&rng, m, k);
    double *A1 = malloc(m * n1 * sizeof *A1);
    memcpy(A1, A0, m * n0 * sizeof *A1);
    memcpy(A1 + n0 * m, A0 + dup * m, m * sizeof *A1);
    double th0[RN * 3], th1[(RN + 1) * 3], r0[RM], r1[RM];
    hrf_lstsq_report rep;
    hrf_lsq_problem prob;
    hrf_lsq_dense_ctx ctx;
    hrf_lstsq_params p;
    hrf_lstsq_params_default(&p);
    p.solver = HRF_SOLVER_SVD;
    hrf_lsq_dense_problem_nrhs(&prob, &ctx, m, n0, k, A0, U);
    assert_int_equal(hrf_lstsq_solve(&prob, &p, th0, &rep), HRF_OK);
    assert_int_equal(rep.rank, (int)n0);
    for (int s = 0; s < 4; s++) {
        p.solver = ALL_SOLVERS[s];
        hrf_lsq_dense_problem_nrhs(&prob, &ctx, m, n1, k, A1, U);
        int rc = hrf_lstsq_solve(&prob, &p, th1, &rep);
        if (rc) fail_msg("%s: %s", hrf_solver_name(p.solver), hrf_last_error());
        int dense = rep.used != HRF_SOLVER_NORMAL;
        double tol = dense ? TOL_RANKDEF_DENSE : TOL_RANKDEF_NORMAL, worst = 0.0;
        if (dense) assert_int_equal(rep.rank, (int)n0);
        for (size_t c = 0; c < k; c++) {
            const double *t0 = th0 + c * n0, *t1 = th1 + c * n1, *uc = U + c * m;
            for (size_t j = 0; j < n1; j++)
                assert_true(isfinite(t1[j]));
            residual(m, n0, A0, uc, t0, r0);
            residual(m, n1, A1, uc, t1, r1);
            double d = vdiff(m, r1, r0) / vnorm(m, uc);
            if (d > worst) worst = d;
            if (!(d <= tol))
                fail_msg("%s, column %zu: residual off the full-rank one by %.2e",
                         hrf_solver_name(p.solver), c, d);
            if (!dense) continue;
            double sc = vnorm(n0, t0);
            for (size_t j = 0; j < n0; j++) {
                double want = j == dup ? t0[j] / 2 : t0[j];
                if (fabs(t1[j] - want) > TOL_MINNORM * sc)
                    fail_msg("%s, column %zu: θ[%zu] = %.15g, minimum-norm %.15g",
                             hrf_solver_name(p.solver), c, j, t1[j], want);
            }
            assert_true(fabs(t1[n0] - t0[dup] / 2) <= TOL_MINNORM * sc);
        }
        print_message("rank-deficient nrhs 3, %-6s (used %s): rank %d, residuals off the "
                      "full-rank ones by at most %.2e\n",
                      hrf_solver_name(p.solver), hrf_solver_name(rep.used), rep.rank, worst);
    }
    free(A0), free(A1), free(U);
}

/* nrhs 0 and 1 are the one-column problem, bit for bit; the estimates grow
 * with nrhs and equal the one-column ones for nrhs ≤ 1. */
static void test_nrhs_one_is_one(void **state) {
    (void)state;
    double A[LONGLEY_N * LONGLEY_P], u[LONGLEY_N], t0[LONGLEY_P], t1[LONGLEY_P];
    longley_build(A, u);
    for (int k = 0; k < 4; k++) {
        hrf_lstsq_params p;
        hrf_lstsq_params_default(&p);
        p.solver = ALL_SOLVERS[k];
        hrf_lsq_problem prob;
        hrf_lsq_dense_ctx ctx;
        hrf_lstsq_report r0, r1;
        hrf_lsq_dense_problem(&prob, &ctx, LONGLEY_N, LONGLEY_P, A, u);
        prob.nrhs = 0;
        assert_int_equal(hrf_lstsq_solve(&prob, &p, t0, &r0), HRF_OK);
        prob.nrhs = 1;
        assert_int_equal(hrf_lstsq_solve(&prob, &p, t1, &r1), HRF_OK);
        assert_memory_equal(t0, t1, sizeof t0);
        assert_true(r0.rel_residual == r1.rel_residual && r0.iterations == r1.iterations);
        hrf_solver s = ALL_SOLVERS[k];
        double e1 = hrf_lstsq_memory_estimate(s, 1000, 100);
        assert_true(hrf_lstsq_memory_estimate_nrhs(s, 1000, 100, 0) == e1);
        assert_true(hrf_lstsq_memory_estimate_nrhs(s, 1000, 100, 1) == e1);
        if (s != HRF_SOLVER_AUTO) /* at least U's copy per further column */
            assert_true(hrf_lstsq_memory_estimate_nrhs(s, 1000, 100, 8) >= e1 + 8.0 * 1000 * 7);
    }
}

/* Bad nrhs and bad right-hand sides are refused before any callback runs. */
static void test_nrhs_bad_input(void **state) {
    (void)state;
    hrf_rng rng;
    hrf_rng_seed(&rng, 5);
    const size_t k = 64;
    double *A = random_matrix(&rng, RM, RN), *U = random_matrix(&rng, RM, k);
    double *th = malloc(RN * k * sizeof *th);
    hrf_lsq_problem prob;
    nrhs_ctx x;
    for (int s = 0; s < 4; s++) {
        hrf_lstsq_params p;
        hrf_lstsq_params_default(&p);
        p.solver = ALL_SOLVERS[s];
        p.mem_limit = (size_t)1 << 30;
        /* Absurd nrhs: beyond the address space, or beyond the limit. */
        const size_t absurd[2] = {SIZE_MAX, (size_t)1 << 28};
        for (int a = 0; a < 2; a++) {
            nrhs_problem(&prob, &x, NC_BLOCK, RM, RN, absurd[a], A, U);
            hrf_clear_error();
            assert_int_equal(hrf_lstsq_solve(&prob, &p, th, NULL), HRF_ETOOBIG);
            print_message("nrhs %zu, %s: %s\n", absurd[a], hrf_solver_name(p.solver),
                          hrf_last_error());
            assert_non_null(strstr(hrf_last_error(), "right-hand sides"));
            assert_non_null(strstr(hrf_last_error(), "GiB"));
            assert_int_equal(x.single + x.block + x.other, 0);
        }
        /* A limit that one column fits, and 64 columns' working copies too,
         * but not the solver's estimate for 64 columns: refused before
         * assembling (the estimate accounts for nrhs). */
        hrf_solver es = p.solver == HRF_SOLVER_AUTO ? HRF_SOLVER_QR : p.solver; /* auto: small */
        double copies = 8.0 * (RM + RN) * (double)k;
        double est = hrf_lstsq_memory_estimate_nrhs(es, RM, RN, k);
        assert_true(est >= copies && est >= hrf_lstsq_memory_estimate(es, RM, RN) + 8.0 * RM * 63);
        p.mem_limit = (size_t)(0.5 * (copies + est));
        nrhs_problem(&prob, &x, NC_BLOCK, RM, RN, 1, A, U);
        assert_int_equal(hrf_lstsq_solve(&prob, &p, th, NULL), HRF_OK);
        nrhs_problem(&prob, &x, NC_BLOCK, RM, RN, k, A, U);
        hrf_clear_error();
        assert_int_equal(hrf_lstsq_solve(&prob, &p, th, NULL), HRF_ETOOBIG);
        print_message("nrhs %zu, limit %zu B, %s: %s\n", k, p.mem_limit, hrf_solver_name(p.solver),
                      hrf_last_error());
        assert_non_null(strstr(hrf_last_error(), "solver"));
        assert_int_equal(x.single + x.block + x.other, 0);
        /* A non-finite entry, named by right-hand side and row. */
        p.mem_limit = 0;
        U[7 + 2 * RM] = NAN;
        nrhs_problem(&prob, &x, NC_BLOCK, RM, RN, 3, A, U);
        hrf_clear_error();
        assert_int_equal(hrf_lstsq_solve(&prob, &p, th, NULL), HRF_ENUMERIC);
        assert_non_null(strstr(hrf_last_error(), "right-hand side 2"));
        assert_non_null(strstr(hrf_last_error(), "row 7"));
        assert_int_equal(x.single + x.block + x.other, 0);
        U[7 + 2 * RM] = 0.5;
        /* Non-finite A with several columns: HRF_ENUMERIC as for one. */
        A[3 + 5 * RM] = INFINITY;
        nrhs_problem(&prob, &x, NC_BLOCK, RM, RN, 3, A, U);
        assert_int_equal(hrf_lstsq_solve(&prob, &p, th, NULL), HRF_ENUMERIC);
        assert_non_null(strstr(hrf_last_error(), "non-finite"));
        A[3 + 5 * RM] = 0.25;
    }
    free(A), free(U), free(th);
}

/* ---- names ---- */
static void test_solver_names(void **state) {
    (void)state;
    const char *names[4] = {"auto", "svd", "qr", "normal"}; /* docs/math.md §4 */
    const hrf_solver want[4] = {HRF_SOLVER_AUTO, HRF_SOLVER_SVD, HRF_SOLVER_QR, HRF_SOLVER_NORMAL};
    for (int k = 0; k < 4; k++) {
        hrf_solver s = (hrf_solver)-1;
        assert_int_equal(hrf_solver_find(names[k], &s), HRF_OK);
        assert_int_equal(s, want[k]);
        assert_string_equal(hrf_solver_name(s), names[k]);
    }
    hrf_solver s = HRF_SOLVER_QR;
    hrf_clear_error();
    assert_int_equal(hrf_solver_find("cholesky", &s), HRF_ENOTFOUND);
    assert_int_equal(s, HRF_SOLVER_QR); /* untouched on failure */
    const char *msg = hrf_last_error();
    assert_non_null(strstr(msg, "cholesky"));
    for (int k = 0; k < 4; k++)
        assert_non_null(strstr(msg, names[k]));
    assert_non_null(hrf_solver_name((hrf_solver)99)); /* never NULL */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_longley_svd),
        cmocka_unit_test(test_longley_qr),
        cmocka_unit_test(test_longley_normal),
        cmocka_unit_test(test_longley_auto),
        cmocka_unit_test(test_random_agree_and_orthogonal),
        cmocka_unit_test(test_auto_large_takes_normal),
        cmocka_unit_test(test_consistent),
        cmocka_unit_test(test_rank_deficient_duplicate),
        cmocka_unit_test(test_rank_deficient_zero_column),
        cmocka_unit_test(test_nonfinite_u),
        cmocka_unit_test(test_nonfinite_A),
        cmocka_unit_test(test_empty_problem),
        cmocka_unit_test(test_params),
        cmocka_unit_test(test_mem_limit),
        cmocka_unit_test(test_solver_names),
        cmocka_unit_test(test_nrhs_columns_match_single),
        cmocka_unit_test(test_nrhs_ill_conditioned),
        cmocka_unit_test(test_nrhs_exact_solutions),
        cmocka_unit_test(test_nrhs_rank_deficient),
        cmocka_unit_test(test_nrhs_one_is_one),
        cmocka_unit_test(test_nrhs_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
