/* Thread safety (docs/reliability.md, "Thread safety"): eight pthreads at
 * once each generate their own data, fit a model (hnn, odenet, hgn, and a
 * gradient-trained hnn, in turn), evaluate it and save it; every thread's
 * file and evaluation must equal, byte for byte, what the same work gives
 * when done serially. Each thread also provokes its own error and, after
 * all threads have done so (a barrier), must still read its own message in
 * hrf_last_error (the message is thread-local).
 *
 * Determinism holds for a given thread count (docs/architecture.md): both
 * runs use one inner thread per call, OpenMP's per-thread
 * omp_set_num_threads(1) and openblas_set_num_threads(1), so the serial
 * reference is the same computation. Rounds: HAMRF_THREAD_ROUNDS (default 3;
 * run with 100 once for docs/reliability.md). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hamrf/baseline.h"
#include "hamrf/dataset.h"
#include "hamrf/hgn.h"
#include "hamrf/hnn.h"
#include "hamrf/odenet.h"
#include "hamrf/particles.h"
#include "hamrf/status.h"
#include "hamrf/systems.h"

void openblas_set_num_threads(int n);

#define N_THREADS 8
/* Points at which every model is evaluated (hnn, odenet: states; hgn: one snapshot). */
#define N_EVAL 16

static char dir[256];

typedef struct {
    int id;              /* 0..N_THREADS-1: kind = id % 4, seed = id + 1 */
    char path[512];      /* where this work item saves its model */
    unsigned char *file; /* the saved file's bytes */
    size_t file_len;
    double eval[4 * N_EVAL]; /* evaluation: H or dx/dt, kind-dependent */
    int rc;                  /* first failure, HRF_OK if none */
    char where[128];         /* what failed */
    int own_error_ok;        /* 1 if the thread read back its own message */
} work;

static pthread_barrier_t barrier;
static int use_barrier;
static int inner_threads = 1; /* OpenMP threads per call */

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    rewind(f);
    unsigned char *b = len > 0 ? malloc((size_t)len) : NULL;
    if (b && fread(b, 1, (size_t)len, f) != (size_t)len) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *n = b ? (size_t)len : 0;
    return b;
}

#define TRY(call, what)                                                                            \
    do {                                                                                           \
        if (w->rc == HRF_OK && (w->rc = (call)) != HRF_OK)                                         \
            snprintf(w->where, sizeof w->where, "%s: %.100s", what, hrf_last_error());             \
    } while (0)

static void box_work(work *w, uint64_t seed) {
    const hrf_system_type *t;
    hrf_system sys;
    hrf_generate_params gp;
    hrf_dataset *d = NULL;
    TRY(hrf_system_find("pendulum", &t), "system");
    if (w->rc) return;
    hrf_system_init(&sys, t);
    hrf_generate_params_default(&gp);
    gp.n = 1000, gp.seed = seed;
    TRY(hrf_dataset_generate(&sys, &gp, &d), "generate");
    double x[2 * N_EVAL];
    for (int i = 0; i < 2 * N_EVAL; i++)
        x[i] = 0.1 * (i - N_EVAL);
    if (w->id % 4 == 0 || w->id % 4 == 3) {
        hrf_hnn *m = NULL;
        if (w->id % 4 == 0) {
            hrf_hnn_params p;
            hrf_hnn_params_default(&p);
            p.width = 150, p.seed = seed;
            TRY(hrf_hnn_fit(&p, d, &m, NULL), "hnn fit");
        } else {
            hrf_gd_params p;
            hrf_gd_params_default(&p);
            p.width = 20, p.steps = 30, p.batch = 64, p.seed = seed;
            TRY(hrf_gd_train_hnn(&p, d, &m, NULL), "gd train");
        }
        TRY(hrf_hnn_eval(m, N_EVAL, x, w->eval, w->eval + N_EVAL), "hnn eval");
        TRY(hrf_hnn_save(m, w->path, NULL), "hnn save");
        hrf_hnn_free(m);
    } else {
        hrf_odenet_params p;
        hrf_odenet_params_default(&p);
        p.width = 150, p.seed = seed;
        hrf_odenet *m = NULL;
        TRY(hrf_odenet_fit(&p, d, &m, NULL), "odenet fit");
        TRY(hrf_odenet_eval(m, N_EVAL, x, w->eval), "odenet eval");
        TRY(hrf_odenet_save(m, w->path, NULL), "odenet save");
        hrf_odenet_free(m);
    }
    hrf_dataset_free(d);
}

static void hgn_work(work *w, uint64_t seed) {
    hrf_psystem *s = NULL;
    const size_t shape[3] = {5, 1, 1};
    TRY(hrf_psystem_springs_new(HRF_TOPO_CHAIN, shape, 2, NULL, 1.0, &s), "springs");
    hrf_pdata_params pp;
    hrf_pdata_params_default(&pp);
    pp.snapshots = 8, pp.seed = seed;
    hrf_pdata *d = NULL;
    TRY(hrf_pdata_generate(s, &pp, &d), "pdata");
    hrf_hgn_params p;
    hrf_hgn_params_default(&p);
    p.edge_width = 40, p.kinetic_width = 10, p.seed = seed;
    hrf_hgn *m = NULL;
    TRY(hrf_hgn_fit(&p, d, &m, NULL), "hgn fit");
    /* One snapshot of 5 particles in D = 2: q, p (5, 2) each. */
    double q[10], pm[10], H = 0.0, dq[10] = {0}, dp[10] = {0};
    for (int i = 0; i < 10; i++)
        q[i] = (i % 2 ? 0.1 * i : 1.1 * (i / 2)), pm[i] = 0.05 * (i - 5);
    hrf_hgn_graph g = {0};
    if (d) hrf_hgn_graph_of(d, &g);
    TRY(hrf_hgn_eval(m, 5, 2, q, pm, NULL, &g, &H, dq, dp), "hgn eval");
    w->eval[0] = H;
    memcpy(w->eval + 1, dq, sizeof dq);
    memcpy(w->eval + 11, dp, sizeof dp);
    TRY(hrf_hgn_save(m, w->path, NULL), "hgn save");
    hrf_hgn_free(m);
    hrf_pdata_free(d);
    hrf_psystem_free(s);
}

static void *run_work(void *arg) {
    work *w = arg;
    omp_set_num_threads(inner_threads); /* this thread's OpenMP teams */
    w->rc = HRF_OK;
    if (w->id % 4 == 2)
        hgn_work(w, (uint64_t)w->id + 1);
    else
        box_work(w, (uint64_t)w->id + 1);
    free(w->file);
    w->file = w->rc ? NULL : slurp(w->path, &w->file_len);
    /* Its own error, read back after every thread has made one. */
    char missing[600];
    snprintf(missing, sizeof missing, "%s/missing-%d.npz", dir, w->id);
    hrf_hnn *m = NULL;
    int rc = hrf_hnn_load(missing, &m, NULL);
    if (use_barrier) pthread_barrier_wait(&barrier);
    w->own_error_ok = rc != HRF_OK && strstr(hrf_last_error(), missing) != NULL;
    if (use_barrier) pthread_barrier_wait(&barrier);
    w->own_error_ok &= strstr(hrf_last_error(), missing) != NULL;
    return NULL;
}

static void parallel_equals_serial(int inner) {
    inner_threads = inner;
    openblas_set_num_threads(inner);
    const char *env = getenv("HAMRF_THREAD_ROUNDS");
    int rounds = env ? atoi(env) : 3;
    if (rounds < 1) rounds = 1;
    work serial[N_THREADS], par[N_THREADS];
    memset(serial, 0, sizeof serial);
    memset(par, 0, sizeof par);
    for (int i = 0; i < N_THREADS; i++) {
        serial[i].id = par[i].id = i;
        snprintf(serial[i].path, sizeof serial[i].path, "%s/serial-%d.npz", dir, i);
        snprintf(par[i].path, sizeof par[i].path, "%s/parallel-%d.npz", dir, i);
        use_barrier = 0;
        run_work(&serial[i]);
        if (serial[i].rc) fail_msg("serial work %d failed: %s", i, serial[i].where);
        assert_non_null(serial[i].file);
        assert_true(serial[i].own_error_ok);
    }
    /* The four kinds give four different files (the comparison can fail). */
    for (int i = 1; i < 4; i++)
        assert_false(serial[i].file_len == serial[0].file_len &&
                     !memcmp(serial[i].file, serial[0].file, serial[0].file_len));
    size_t compared = 0;
    for (int r = 0; r < rounds; r++) {
        use_barrier = 1;
        assert_int_equal(pthread_barrier_init(&barrier, NULL, N_THREADS), 0);
        pthread_t th[N_THREADS];
        for (int i = 0; i < N_THREADS; i++)
            assert_int_equal(pthread_create(&th[i], NULL, run_work, &par[i]), 0);
        for (int i = 0; i < N_THREADS; i++)
            assert_int_equal(pthread_join(th[i], NULL), 0);
        pthread_barrier_destroy(&barrier);
        for (int i = 0; i < N_THREADS; i++) {
            if (par[i].rc) fail_msg("round %d, thread %d failed: %s", r, i, par[i].where);
            if (!par[i].own_error_ok)
                fail_msg("round %d, thread %d: hrf_last_error is not its own message", r, i);
            if (par[i].file_len != serial[i].file_len ||
                memcmp(par[i].file, serial[i].file, serial[i].file_len) != 0)
                fail_msg("round %d, thread %d (kind %d): the model file differs from the "
                         "serial one",
                         r, i, i % 4);
            if (memcmp(par[i].eval, serial[i].eval, sizeof par[i].eval) != 0)
                fail_msg("round %d, thread %d: the evaluation differs from the serial one", r, i);
            compared++;
        }
    }
    printf("%d inner thread%s: %d rounds x %d threads: %zu fits, files and evaluations "
           "byte-identical to the "
           "serial ones; every thread read its own last error\n",
           inner, inner > 1 ? "s" : "", rounds, N_THREADS, compared);
    for (int i = 0; i < N_THREADS; i++) {
        free(serial[i].file);
        free(par[i].file);
        unlink(serial[i].path);
        unlink(par[i].path);
    }
}

static void test_one_inner_thread(void **state) {
    (void)state;
    parallel_equals_serial(1);
}

/* With two inner threads per call (OpenMP and OpenBLAS, as ctest runs the C
 * tests) the results equal the serial ones at two threads too. */
static void test_two_inner_threads(void **state) {
    (void)state;
    parallel_equals_serial(2);
}

static int setup(void **state) {
    (void)state;
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(dir, sizeof dir, "%s/hamrf_test_threads_XXXXXX", base);
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    return rmdir(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_one_inner_thread),
                                       cmocka_unit_test(test_two_inner_threads)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
