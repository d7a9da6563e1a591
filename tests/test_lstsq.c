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
 *   - agreement of four different algorithms on well-conditioned problems.
 *
 * One right-hand side here; several (nrhs) in test_lstsq_nrhs.c. The
 * references, the shared tolerances and helpers are in test_util_lstsq.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hamrf/lstsq.h"
#include "hamrf/rng.h"
#include "hamrf/status.h"

#include "test_util_lstsq.h"

/* ---- tolerances (the shared ones: test_util_lstsq.h) ---- */
/* ‖Aᵀr‖/(‖A‖_F ‖r‖): a backward-stable solution has Aᵀr at rounding level,
 * ~eps·κ·sqrt(m) ≈ 1e-14; 1e-11 leaves three orders of margin. */
#define TOL_ORTHO 1e-11

/* ---- helpers ---- */

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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
