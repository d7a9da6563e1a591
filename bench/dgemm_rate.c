/* dgemm_rate: the machine's dense BLAS rate, the yardstick for hamrf's solve GFLOP/s.
 *
 * Measures OpenBLAS DGEMM (C = A B, all n x n) and DSYRK (C = Aᵀ A, A k x n, the shape of
 * the Gram matrix DᵀD in the `normal` solver of docs/math.md §4.5), best of `reps` runs each
 * after one warm-up, and prints one JSON object:
 *
 *   {"dgemm_gflops": ..., "dsyrk_gflops": ..., "threads": ..., ...}
 *
 * Usage: dgemm_rate [--n N] [--k K] [--reps R]     (defaults: N = 2000, K = 8000, R = 3)
 * Threads are OpenBLAS's own choice (OPENBLAS_NUM_THREADS, else all cores).
 * Flop counts: DGEMM 2n³; DSYRK n(n+1)k (one triangle of the n x n result).
 */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Fill x (len entries) with deterministic values in [-1, 1) (a small LCG; the values do
 * not matter for the rate, only that they are finite and not all zero). */
static void fill(double *x, size_t len, unsigned long long seed) {
    unsigned long long s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    for (size_t i = 0; i < len; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (double)(s >> 11) * (2.0 / 9007199254740992.0) - 1.0;
    }
}

static int parse_int(const char *s, const char *name) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 1 || v > 100000) {
        fprintf(stderr, "dgemm_rate: %s must be an integer in [1, 100000], got '%s'\n", name, s);
        exit(2);
    }
    return (int)v;
}

int main(int argc, char **argv) {
    int n = 2000, k = 8000, reps = 3;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--n") && i + 1 < argc)
            n = parse_int(argv[++i], "--n");
        else if (!strcmp(argv[i], "--k") && i + 1 < argc)
            k = parse_int(argv[++i], "--k");
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = parse_int(argv[++i], "--reps");
        else {
            fprintf(stderr,
                    "usage: dgemm_rate [--n N] [--k K] [--reps R]  (defaults 2000 8000 3)\n");
            return 2;
        }
    }

    size_t nn = (size_t)n * (size_t)n, kn = (size_t)k * (size_t)n;
    double *a = malloc(nn * sizeof *a); /* (n, n) row-major */
    double *b = malloc(nn * sizeof *b); /* (n, n) */
    double *c = malloc(nn * sizeof *c); /* (n, n) result */
    double *d = malloc(kn * sizeof *d); /* (k, n) SYRK input */
    if (!a || !b || !c || !d) {
        fprintf(stderr, "dgemm_rate: out of memory for n = %d, k = %d\n", n, k);
        return 1;
    }
    fill(a, nn, 1);
    fill(b, nn, 2);
    fill(d, kn, 3);
    memset(c, 0, nn * sizeof *c);

    /* DGEMM: C = A B, 2n³ flops; first call warms up threads and caches. */
    double best_gemm = 1e300;
    for (int r = 0; r <= reps; r++) {
        double t0 = now_seconds();
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n, b, n, 0.0, c, n);
        double t = now_seconds() - t0;
        if (r > 0 && t < best_gemm) best_gemm = t;
    }

    /* DSYRK: C = Dᵀ D (upper triangle), D (k, n) row-major, n(n+1)k flops. */
    double best_syrk = 1e300;
    for (int r = 0; r <= reps; r++) {
        double t0 = now_seconds();
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, n, k, 1.0, d, n, 0.0, c, n);
        double t = now_seconds() - t0;
        if (r > 0 && t < best_syrk) best_syrk = t;
    }

    double gemm_flops = 2.0 * (double)n * (double)n * (double)n;
    double syrk_flops = (double)n * (double)(n + 1) * (double)k;
    printf("{\"dgemm_gflops\": %.3f, \"dsyrk_gflops\": %.3f, \"threads\": %d, "
           "\"n\": %d, \"k\": %d, \"reps\": %d, \"dgemm_seconds\": %.6f, \"dsyrk_seconds\": %.6f, "
           "\"checksum\": %.6e, \"openblas_config\": \"%s\"}\n",
           1e-9 * gemm_flops / best_gemm, 1e-9 * syrk_flops / best_syrk, openblas_get_num_threads(),
           n, k, reps, best_gemm, best_syrk, c[0] + c[nn - 1], openblas_get_config());
    free(a);
    free(b);
    free(c);
    free(d);
    return 0;
}
