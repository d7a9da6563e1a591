/* Tests of the least-squares solvers with several right-hand sides (nrhs;
 * src/linalg/lstsq.c, include/hamrf/lstsq.h; docs/math.md §4): each column
 * against its one-column solve, with the products given as blocks, per
 * column, fused, or through a QR reduction; an ill-conditioned problem; exact
 * solutions (Longley scaled, an integer system); a duplicated column; nrhs 0
 * and 1; bad nrhs. The one-column tests are in test_lstsq.c; the references
 * (NIST Longley), the shared tolerances and helpers in test_util_lstsq.h. */
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

#include "test_util_lstsq.h"

/* ---- tolerances (the shared ones: test_util_lstsq.h) ---- */
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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nrhs_columns_match_single),
        cmocka_unit_test(test_nrhs_ill_conditioned),
        cmocka_unit_test(test_nrhs_exact_solutions),
        cmocka_unit_test(test_nrhs_rank_deficient),
        cmocka_unit_test(test_nrhs_one_is_one),
        cmocka_unit_test(test_nrhs_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
