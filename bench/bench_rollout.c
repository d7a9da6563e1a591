/* bench_rollout: rollout throughput of a trained HNN, batched against the
 * unbatched loop (docs/benchmarks.md, "Rollout throughput").
 *
 * Fits a width-M HNN (ELM, default M = 1000) on 5000 pendulum points, then
 * for each integrator and each batch size B in {1, 100, 10000} advances B
 * states over S steps (S chosen so that B·S ≈ --work state-steps):
 *   batched    one hrf_integrator_advance on all B states (the model is
 *              evaluated with BLAS on the batch);
 *   unbatched  B calls of hrf_integrator_advance, one state each.
 * Prints one JSON object per line:
 *   {"integrator":..,"batch":B,"steps":S,"batched_state_steps_per_s":..,
 *    "unbatched_state_steps_per_s":..,"ratio":..}
 * and a table on stderr. The ratio is measured in the same run, so it is
 * meaningful on a noisy machine; the absolute rates are not.
 *
 * Usage: bench_rollout [--width M] [--work N] [--integrators a,b,..]
 * Like the hamrf tool, it re-executes itself with OPENBLAS_CORETYPE set when
 * OpenBLAS picked kernels weaker than the CPU supports. */
#include "hamrf/blas.h"
#include "hamrf/dataset.h"
#include "hamrf/hnn.h"
#include "hamrf/integrators.h"
#include "hamrf/status.h"

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
    fprintf(stderr, "bench_rollout: %s: %s\n", what, rc ? hrf_last_error() : "failed");
    exit(1);
}

int main(int argc, char **argv) {
    const char *core = hrf_blas_suggest_coretype();
    if (core && !getenv("HAMRF_NO_REEXEC")) {
        setenv("OPENBLAS_CORETYPE", core, 1);
        execv("/proc/self/exe", argv);
    }
    size_t width = 1000, work = 200000;
    char integrators[256] = "rk4,midpoint,symplectic_euler";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--width") && i + 1 < argc)
            width = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--work") && i + 1 < argc)
            work = strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--integrators") && i + 1 < argc)
            snprintf(integrators, sizeof integrators, "%s", argv[++i]);
        else {
            fprintf(stderr, "usage: bench_rollout [--width M] [--work N] [--integrators a,b]\n");
            return 2;
        }
    }
    const hrf_system_type *pt;
    int rc;
    if ((rc = hrf_system_find("pendulum", &pt))) die("system", rc);
    hrf_system sys;
    hrf_system_init(&sys, pt);
    hrf_generate_params gp;
    hrf_generate_params_default(&gp);
    gp.n = 5000;
    hrf_dataset *d = NULL;
    if ((rc = hrf_dataset_generate(&sys, &gp, &d))) die("generate", rc);
    hrf_hnn_params hp;
    hrf_hnn_params_default(&hp);
    hp.width = width;
    hp.sampler = &hrf_sampler_elm;
    hrf_hnn *m = NULL;
    if ((rc = hrf_hnn_fit(&hp, d, &m, NULL))) die("fit", rc);
    hrf_field f;
    hrf_hnn_field(m, &f);
    const size_t batches[3] = {1, 100, 10000}, dim = 2;
    double *x0 = malloc(10000 * dim * sizeof *x0), *x = malloc(10000 * dim * sizeof *x);
    for (size_t i = 0; i < 10000 * dim; i++)
        x0[i] = 0.5 * d->x[i % (d->n * dim)];
    fprintf(stderr, "%-18s %6s %6s %14s %14s %7s\n", "integrator", "batch", "steps", "batched/s",
            "unbatched/s", "ratio");
    hrf_integrator_params ip;
    hrf_integrator_params_default(&ip);
    for (char *save = NULL, *name = strtok_r(integrators, ",", &save); name;
         name = strtok_r(NULL, ",", &save)) {
        const hrf_integrator_type *t;
        if ((rc = hrf_integrator_find(name, &t))) die("integrator", rc);
        for (int bi = 0; bi < 3; bi++) {
            size_t B = batches[bi], S = work / B < 2 ? 2 : work / B;
            hrf_integrator *it = NULL;
            if ((rc = hrf_integrator_new(t, &f, B, &ip, &it))) die("integrator_new", rc);
            memcpy(x, x0, B * dim * sizeof *x);
            double t0 = now_seconds();
            if ((rc = hrf_integrator_advance(it, 1e-3, S, B, x, NULL))) die("advance", rc);
            double tb = now_seconds() - t0;
            memcpy(x, x0, B * dim * sizeof *x);
            t0 = now_seconds();
            for (size_t b = 0; b < B; b++)
                if ((rc = hrf_integrator_advance(it, 1e-3, S, 1, x + b * dim, NULL)))
                    die("advance", rc);
            double tu = now_seconds() - t0;
            double rb = (double)(B * S) / tb, ru = (double)(B * S) / tu;
            printf("{\"integrator\":\"%s\",\"width\":%zu,\"batch\":%zu,\"steps\":%zu,"
                   "\"batched_state_steps_per_s\":%.6g,\"unbatched_state_steps_per_s\":%.6g,"
                   "\"ratio\":%.4g}\n",
                   name, width, B, S, rb, ru, rb / ru);
            fflush(stdout);
            fprintf(stderr, "%-18s %6zu %6zu %14.4g %14.4g %7.2f\n", name, B, S, rb, ru, rb / ru);
            hrf_integrator_free(it);
        }
    }
    free(x0), free(x);
    hrf_hnn_free(m);
    hrf_dataset_free(d);
    return 0;
}
