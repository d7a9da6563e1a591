/* bench_forces: force evaluations per second and per particle for
 * Lennard-Jones (density 0.8442, T = 1, rc = 2.5) at about 10³, 10⁴ and 10⁵
 * particles (fcc counts 4n³: 1372, 10 976, 108 000), for
 *   analytic   hrf_psystem_eval (cell lists),
 *   learned    hrf_hgn_eval of a pair-mode graph network trained on 2
 *              snapshots of 500 particles (the graph rebuilt every call),
 *   tabulated  the same network's V(r) tabulated (hrf_hgn_table, cubic
 *              Hermite) and summed over the pair list of every call.
 * One JSON object per line on stdout and a table on stderr; the last line
 * gives, per method, max/min of the time per particle across the sizes
 * (the target: flat within 30% when the cell lists work).
 *
 * Usage: bench_forces [--reps R] [--max N]
 * Re-executes itself with OPENBLAS_CORETYPE set like the hamrf tool. */
#include "hamrf/blas.h"
#include "hamrf/hgn.h"
#include "hamrf/particles.h"
#include "hamrf/status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void die(const char *what, int rc) {
    fprintf(stderr, "bench_forces: %s: %s\n", what, rc ? hrf_last_error() : "failed");
    exit(1);
}

/* Forces from a tabulated V(r) over the pair list at q (minimum image). */
static int table_forces(const hrf_psystem *s, const hrf_hgn_table *t, const double *q, double *f) {
    const size_t N = hrf_psystem_n(s);
    const int D = hrf_psystem_dim(s);
    uint32_t *pairs = NULL;
    size_t np = 0;
    int rc = hrf_psystem_pairs(s, q, &pairs, &np);
    if (rc) return rc;
    memset(f, 0, N * (size_t)D * sizeof *f);
    for (size_t e = 0; e < np; e++) {
        size_t i = pairs[2 * e], j = pairs[2 * e + 1];
        double d[3] = {0, 0, 0}, r2 = 0;
        for (int a = 0; a < D; a++)
            d[a] = q[i * D + a] - q[j * D + a];
        hrf_psystem_min_image(s, d);
        for (int a = 0; a < D; a++)
            r2 += d[a] * d[a];
        double r = sqrt(r2), dV;
        hrf_hgn_table_eval(t, r, &dV);
        for (int a = 0; a < D; a++) {
            double fa = -dV * d[a] / r;
            f[i * D + a] += fa;
            f[j * D + a] -= fa;
        }
    }
    free(pairs);
    return HRF_OK;
}

int main(int argc, char **argv) {
    const char *core = hrf_blas_suggest_coretype();
    if (core && !getenv("HAMRF_NO_REEXEC")) {
        setenv("OPENBLAS_CORETYPE", core, 1);
        execv("/proc/self/exe", argv);
    }
    size_t reps = 5, nmax = 108000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--max") && i + 1 < argc)
            nmax = strtoul(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: bench_forces [--reps R] [--max N]\n");
            return 2;
        }
    }
    int rc;
    /* The learned model: pair mode on 2 snapshots of 500 LJ particles. */
    hrf_psystem *small = NULL;
    if ((rc = hrf_psystem_lj_new(500, 0.8442, NULL, &small))) die("lj_new", rc);
    hrf_pdata_params dp;
    hrf_pdata_params_system_default(small, &dp);
    dp.snapshots = 2;
    hrf_pdata *train = NULL;
    if ((rc = hrf_pdata_generate(small, &dp, &train))) die("generate", rc);
    hrf_hgn_params hp;
    hrf_hgn_params_default(&hp);
    hrf_hgn *m = NULL;
    if ((rc = hrf_hgn_fit(&hp, train, &m, NULL))) die("fit", rc);
    hrf_hgn_table *tab = NULL;
    if ((rc = hrf_hgn_table_new(m, 0.7, 2.5, 4096, &tab))) die("table", rc);

    static const size_t sizes[3] = {1372, 10976, 108000};
    const char *names[3] = {"analytic", "learned", "tabulated"};
    double per[3][3] = {{0}};
    int nsz = 0;
    fprintf(stderr, "%-10s %8s %12s %14s\n", "method", "N", "evals/s", "us/particle");
    for (int k = 0; k < 3 && sizes[k] <= nmax; k++, nsz++) {
        const size_t N = sizes[k];
        hrf_psystem *s = NULL;
        if ((rc = hrf_psystem_lj_new(N, 0.8442, NULL, &s))) die("lj_new", rc);
        hrf_pdata_params pp;
        hrf_pdata_params_system_default(s, &pp);
        pp.snapshots = 1;
        hrf_pdata *d = NULL;
        if ((rc = hrf_pdata_generate(s, &pp, &d))) die("generate", rc);
        double *f = malloc(N * 3 * sizeof *f), *g = malloc(N * 3 * sizeof *g), H;
        hrf_hgn_graph graph;
        hrf_hgn_graph_of(d, &graph);
        for (int meth = 0; meth < 3; meth++) {
            double t0 = now_seconds();
            for (size_t r = 0; r < reps; r++) {
                if (meth == 0)
                    rc = hrf_psystem_eval(s, d->q, d->p, &H, NULL, f);
                else if (meth == 1)
                    rc = hrf_hgn_eval(m, N, 3, d->q, d->p, d->mass, &graph, &H, g, f);
                else
                    rc = table_forces(s, tab, d->q, f);
                if (rc) die(names[meth], rc);
            }
            double t = (now_seconds() - t0) / (double)reps;
            per[meth][k] = t / (double)N * 1e6;
            printf("{\"method\":\"%s\",\"particles\":%zu,\"evals_per_second\":%.6g,"
                   "\"us_per_particle\":%.6g}\n",
                   names[meth], N, 1.0 / t, per[meth][k]);
            fprintf(stderr, "%-10s %8zu %12.4g %14.4g\n", names[meth], N, 1.0 / t, per[meth][k]);
        }
        free(f), free(g);
        hrf_pdata_free(d);
        hrf_psystem_free(s);
    }
    for (int meth = 0; meth < 3; meth++) {
        double lo = INFINITY, hi = 0;
        for (int k = 0; k < nsz; k++)
            lo = fmin(lo, per[meth][k]), hi = fmax(hi, per[meth][k]);
        printf("{\"method\":\"%s\",\"flatness\":%.4g}\n", names[meth], hi / lo);
        fprintf(stderr, "%-10s time per particle max/min across sizes: %.2f (%s)\n", names[meth],
                hi / lo, hi / lo <= 1.3 ? "flat within 30%" : "NOT flat");
    }
    hrf_hgn_table_free(tab);
    hrf_hgn_free(m);
    hrf_pdata_free(train);
    hrf_psystem_free(small);
    return 0;
}
