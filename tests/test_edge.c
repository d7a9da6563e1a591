/* Numerical edge cases (docs/reliability.md, "Numerical edge cases"): every
 * model kind, sampled (hnn, odenet, hgn) and trained by Adam (the same three),
 * on degenerate data: duplicated points (a few points repeated; one point
 * repeated), constant derivatives, inputs scaled by 1e100 and by 1e-100,
 * more hidden units than equations, all-zero targets, a single point.
 *
 * Each fit must either succeed with a finite model, which then saves,
 * loads back and evaluates to finite values at its training points (and,
 * for a sampled fit, comes with the solver's report), or refuse with a
 * message; never crash, never write NaN. The writers' own refusal of
 * non-finite arrays is checked directly too. The outcome of every pair is
 * printed (the table in docs/reliability.md). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/npz.h"
#include "hamrf/baseline.h"
#include "hamrf/dataset.h"
#include "hamrf/hgn.h"
#include "hamrf/hnn.h"
#include "hamrf/model.h"
#include "hamrf/odenet.h"
#include "hamrf/particles.h"
#include "hamrf/status.h"
#include "models/model_file.h"

static char dir[256];
static char path[512];

/* ---- box data (hnn, odenet): a 1-dof spring-like field dx/dt = J x ---- */

enum {
    C_DUPLICATES,
    C_ONE_POINT_REPEATED,
    C_CONSTANT_DXDT,
    C_SCALED_UP,
    C_SCALED_DOWN,
    C_WIDE,
    C_ZERO_TARGETS,
    C_SINGLE_POINT,
    N_CASES
};
static const char *const case_name[N_CASES] = {"duplicated points (4 distinct)",
                                               "one point repeated",
                                               "constant derivatives",
                                               "inputs scaled by 1e100",
                                               "inputs scaled by 1e-100",
                                               "width 200 > 7 equations",
                                               "all-zero targets",
                                               "a single point"};

/* Fits use this width except in C_WIDE. */
#define WIDTH 20
#define WIDE 200

static hrf_dataset *box_data(int c) {
    size_t n = c == C_SINGLE_POINT ? 1 : c == C_WIDE ? 3 : 40;
    double *x = malloc(2 * n * sizeof *x), *f = malloc(2 * n * sizeof *f);
    assert_non_null(x), assert_non_null(f);
    double scale = c == C_SCALED_UP ? 1e100 : c == C_SCALED_DOWN ? 1e-100 : 1.0;
    for (size_t i = 0; i < n; i++) {
        size_t k = c == C_DUPLICATES ? i % 4 : c == C_ONE_POINT_REPEATED ? 0 : i;
        double q = cos(1.7 * (double)k + 0.3), p = sin(2.3 * (double)k + 0.1);
        x[2 * i] = scale * q, x[2 * i + 1] = scale * p;
        /* dq/dt = p, dp/dt = -q (H = (q^2 + p^2)/2), scaled with x. */
        f[2 * i] = scale * p, f[2 * i + 1] = -scale * q;
        if (c == C_CONSTANT_DXDT) f[2 * i] = 0.5, f[2 * i + 1] = -0.3;
        if (c == C_ZERO_TARGETS) f[2 * i] = f[2 * i + 1] = 0.0;
    }
    hrf_dataset *d = NULL;
    assert_int_equal(hrf_dataset_from_arrays(n, 2, x, f, NULL, NULL, 0.0, &d), HRF_OK);
    free(x), free(f);
    return d;
}

/* ---- particle data (hgn): a chain of 4 particles in D = 2 ---- */

static hrf_pdata *chain_data(int c) {
    const size_t N = 4;
    size_t S = c == C_SINGLE_POINT || c == C_WIDE ? 1 : 8;
    size_t n = S * N * 2;
    double *q = malloc(n * sizeof *q), *p = malloc(n * sizeof *p);
    double *dq = malloc(n * sizeof *dq), *dp = malloc(n * sizeof *dp);
    assert_true(q && p && dq && dp);
    double scale = c == C_SCALED_UP ? 1e100 : c == C_SCALED_DOWN ? 1e-100 : 1.0;
    for (size_t s = 0; s < S; s++) {
        size_t k = c == C_DUPLICATES ? s % 2 : c == C_ONE_POINT_REPEATED ? 0 : s;
        for (size_t i = 0; i < N; i++)
            for (int a = 0; a < 2; a++) {
                size_t j = (s * N + i) * 2 + (size_t)a;
                double u = 0.1 * sin(1.3 * (double)(k + i) + a);
                q[j] = scale * ((a == 0 ? (double)i : 0.0) + u);
                p[j] = scale * 0.2 * cos(0.7 * (double)(k * 3 + i) + a);
                dq[j] = p[j];
                dp[j] = -scale * u; /* a restoring force toward the rest positions */
                if (c == C_CONSTANT_DXDT) dq[j] = 0.5, dp[j] = -0.3;
                if (c == C_ZERO_TARGETS) dq[j] = dp[j] = 0.0;
            }
    }
    static const uint32_t bonds[] = {0, 1, 1, 2, 2, 3};
    hrf_pdata *d = NULL;
    assert_int_equal(
        hrf_pdata_from_arrays(S, N, 2, q, p, dq, dp, NULL, NULL, bonds, 3, 0.0, 0.0, &d), HRF_OK);
    free(q), free(p), free(dq), free(dp);
    return d;
}

/* ---- the fitters ---- */

enum { F_HNN, F_ODENET, F_HGN, F_HNN_ADAM, F_ODENET_ADAM, F_HGN_ADAM, N_FITTERS };
static const char *const fitter_name[N_FITTERS] = {"hnn",      "odenet",      "hgn",
                                                   "hnn adam", "odenet adam", "hgn adam"};

typedef struct {
    int fitted, refused;
} tally;

/* Checks a fitted model: it saves (the writer refuses non-finite arrays),
 * loads back, and evaluates to finite values at the data. */
static void check_model(const char *what, int (*save)(const void *, const char *, const char *),
                        const void *m, const hrf_dataset *bd, const hrf_pdata *pd) {
    int rc = save(m, path, NULL);
    if (rc != HRF_OK) fail_msg("%s: fitted but not saved: %s", what, hrf_last_error());
    hrf_model *any = NULL;
    if (hrf_model_load(path, &any) != HRF_OK)
        fail_msg("%s: saved but not loaded: %s", what, hrf_last_error());
    hrf_model_errors e;
    /* The errors on the training data are finite unless the targets are all
     * zero (relative errors 0/0): evaluate directly then. */
    assert_int_equal(hrf_model_errors_on(any, bd ? (const void *)bd : (const void *)pd, &e),
                     HRF_OK);
    if (!isfinite(e.mse_dxdt))
        fail_msg("%s: mse_dxdt on the training data is %g", what, e.mse_dxdt);
    hrf_model_free(any);
    unlink(path);
}

static int save_hnn(const void *m, const char *p, const char *x) {
    return hrf_hnn_save(m, p, x);
}
static int save_odenet(const void *m, const char *p, const char *x) {
    return hrf_odenet_save(m, p, x);
}
static int save_hgn(const void *m, const char *p, const char *x) {
    return hrf_hgn_save(m, p, x);
}

static void one(int f, int c, tally *t) {
    char what[160];
    snprintf(what, sizeof what, "%s, %s", fitter_name[f], case_name[c]);
    size_t width = c == C_WIDE ? WIDE : WIDTH;
    hrf_dataset *bd = f == F_HGN || f == F_HGN_ADAM ? NULL : box_data(c);
    hrf_pdata *pd = bd ? NULL : chain_data(c);
    hrf_gd_params g;
    hrf_gd_params_default(&g);
    g.width = width, g.steps = 20, g.batch = 0;
    hrf_clear_error();
    int rc;
    /* The fit reports live as long as `report` points into them. */
    hrf_hnn_fit_report hnn_rep;
    hrf_odenet_fit_report odenet_rep;
    hrf_hgn_fit_report hgn_rep;
    const char *report = NULL;
    if (f == F_HNN || f == F_HNN_ADAM) {
        hrf_hnn *m = NULL;
        hrf_hnn_fit_report *const rp = &hnn_rep;
        memset(rp, 0, sizeof *rp);
        if (f == F_HNN) {
            hrf_hnn_params p;
            hrf_hnn_params_default(&p);
            p.width = width;
            rc = hrf_hnn_fit(&p, bd, &m, rp);
            report = rp->lstsq.reason;
        } else {
            rc = hrf_gd_train_hnn(&g, bd, &m, NULL);
        }
        if (rc == HRF_OK) check_model(what, save_hnn, m, bd, NULL);
        hrf_hnn_free(m);
    } else if (f == F_ODENET || f == F_ODENET_ADAM) {
        hrf_odenet *m = NULL;
        hrf_odenet_fit_report *const rp = &odenet_rep;
        memset(rp, 0, sizeof *rp);
        if (f == F_ODENET) {
            hrf_odenet_params p;
            hrf_odenet_params_default(&p);
            p.width = width;
            rc = hrf_odenet_fit(&p, bd, &m, rp);
            report = rp->lstsq.reason;
        } else {
            rc = hrf_gd_train_odenet(&g, bd, &m, NULL);
        }
        if (rc == HRF_OK) check_model(what, save_odenet, m, bd, NULL);
        hrf_odenet_free(m);
    } else {
        hrf_hgn *m = NULL;
        hrf_hgn_fit_report *const rp = &hgn_rep;
        memset(rp, 0, sizeof *rp);
        if (f == F_HGN) {
            hrf_hgn_params p;
            hrf_hgn_params_default(&p);
            p.edge_width = width, p.kinetic_width = 10;
            rc = hrf_hgn_fit(&p, pd, &m, rp);
            report = rp->lstsq_E.reason;
        } else {
            hrf_gd_hgn_arch a;
            hrf_gd_hgn_arch_default(&a);
            a.edge_width = width, a.kinetic_width = 10;
            g.steps = 10;
            rc = hrf_gd_train_hgn(&g, &a, pd, &m, NULL);
        }
        if (rc == HRF_OK) check_model(what, save_hgn, m, NULL, pd);
        hrf_hgn_free(m);
    }
    if (rc == HRF_OK) {
        /* A sampled fit says which solver it used and why. */
        if (report && !report[0]) fail_msg("%s: fitted without the solver's report", what);
        t->fitted++;
        printf("  %-12s %-36s fitted%s%.90s\n", fitter_name[f], case_name[c], report ? ": " : "",
               report ? report : "");
    } else {
        if (!hrf_last_error()[0]) fail_msg("%s: refused (%d) without a message", what, rc);
        t->refused++;
        printf("  %-12s %-36s refused: %.110s\n", fitter_name[f], case_name[c], hrf_last_error());
    }
    hrf_dataset_free(bd);
    hrf_pdata_free(pd);
}

static void test_edge_cases(void **state) {
    (void)state;
    tally t = {0, 0};
    for (int f = 0; f < N_FITTERS; f++)
        for (int c = 0; c < N_CASES; c++)
            one(f, c, &t);
    printf("%d fits: %d finite models, %d refused with a message\n", N_FITTERS * N_CASES, t.fitted,
           t.refused);
}

/* The writers refuse non-finite arrays, naming the file, the array and the
 * index, and leave an existing file as it was: through the model-file
 * skeleton every model kind uses, and for data sets. */
static void test_writers_refuse_non_finite(void **state) {
    (void)state;
    const double W[4] = {1, 2, 3, 4}, b[2] = {0, 1}, c[2] = {0.5, 0.25};
    hrf_hnn *m = NULL;
    assert_int_equal(hrf_hnn_from_params(2, 2, NULL, W, b, c, 0.0, &m), HRF_OK);
    assert_int_equal(hrf_hnn_save(m, path, NULL), HRF_OK);
    hrf_hnn_free(m);
    size_t n_old;
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n_old = (size_t)ftell(f);
    fclose(f);

    const double bad[3] = {1.0, NAN, -INFINITY};
    hrf_npz_writer *w;
    cJSON *meta;
    assert_int_equal(hrf_model_file_begin("hnn", NULL, NULL, NULL, &w, &meta), HRF_OK);
    const size_t s3[1] = {3};
    assert_int_equal(hrf_npz_writer_add(w, "c", 1, s3, bad), HRF_OK);
    assert_int_equal(hrf_model_file_finish(w, meta, NULL, NULL, path), HRF_EDATA);
    assert_non_null(strstr(hrf_last_error(), path));
    assert_non_null(strstr(hrf_last_error(), "array 'c' holds NaN at index 1"));
    f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    assert_int_equal((size_t)ftell(f), n_old); /* the old file is still there */
    fclose(f);
    hrf_model *any = NULL;
    assert_int_equal(hrf_model_load(path, &any), HRF_OK);
    hrf_model_free(any);

    /* A plain writer (trajectories) keeps what it is given. */
    w = hrf_npz_writer_new();
    assert_int_equal(hrf_npz_writer_add(w, "x", 1, s3, bad), HRF_OK);
    assert_int_equal(hrf_npz_writer_write(w, path), HRF_OK);
    hrf_npz_writer_free(w);
    unlink(path);
}

static int setup(void **state) {
    (void)state;
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof dir, "%s/hamrf_test_edge_XXXXXX", base);
    if (!mkdtemp(dir)) return -1;
    snprintf(path, sizeof path, "%s/model.npz", dir);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    unlink(path);
    return rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_edge_cases),
        cmocka_unit_test(test_writers_refuse_non_finite),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
