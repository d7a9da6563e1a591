/* libFuzzer target: the loaders of every hamrf file kind that the library
 * reads, with their meta validation (docs/formats.md; docs/reliability.md,
 * "Fuzzing"): data set (hrf_dataset_load), particle data set
 * (hrf_pdata_load), and each model kind (hrf_hnn_load, hrf_odenet_load,
 * hrf_hgn_load, and hrf_model_load, which dispatches on meta "model").
 * Trajectory files are written by the library but read by NumPy only (no C
 * reader exists to fuzz).
 *
 * Input: byte 0 picks the loader, the rest is an archive in the split format
 * of fuzz_util.h (meta text, then named .npy entries). What a loader accepts
 * must be usable: the target then uses it as a caller would (gradient
 * targets of a data set, the particle system of a particle data set, the
 * vector field of a model on two states, the built-in system its meta names,
 * a graph network's errors on three bonded particles), so that a file whose arrays and meta
 * disagree in a way the loader missed shows up as an out-of-bounds access. */
#include "fuzz_util.h"

#include "hamrf.h"

enum { L_DATASET, L_PDATA, L_HNN, L_ODENET, L_HGN, L_MODEL, L_COUNT };

/* Three particles in the plane, bonded in a chain: the particle data the
 * graph networks are evaluated on. */
static hrf_pdata *three_particles(void) {
    static hrf_pdata *d;
    if (!d) {
        const double q[6] = {0.0, 0.0, 1.0, 0.1, 2.0, -0.1}, p[6] = {0.1, 0.2, -0.1, 0.0, 0.3, 0.1};
        const double f[6] = {0.5, -0.5, 0.0, 0.25, -0.5, 0.25};
        const uint32_t bonds[4] = {0, 1, 1, 2};
        const double H[1] = {1.0};
        if (hrf_pdata_from_arrays(1, 3, 2, q, p, f, f, H, NULL, bonds, 2, 0.0, 0.0, &d) != HRF_OK)
            abort();
    }
    return d;
}

static void use_dataset(const hrf_dataset *d) {
    double *g = malloc((d->n * d->dim ? d->n * d->dim : 1) * sizeof *g);
    if (!g) abort();
    hrf_dataset_gradient_targets(d, g);
    free(g);
    if (d->x1) {
        hrf_dataset *t = NULL;
        if (hrf_dataset_pairs_targets(d, &t) == HRF_OK) hrf_dataset_free(t);
    }
}

static void use_model(const hrf_model *m) {
    char desc[64];
    hrf_model_describe(m, desc, sizeof desc);
    hrf_field f;
    hrf_model_field(m, &f);
    if (f.rhs) {
        const size_t dim = hrf_model_dim(m);
        if (dim == 0 || f.dim != dim) abort();
        double *x = calloc(4 * dim, sizeof *x);
        if (!x) abort();
        for (size_t i = 0; i < 2 * dim; ++i)
            x[i] = 0.25 * (double)(i % 5) - 0.5;
        f.rhs(f.ctx, 2, x, x + 2 * dim);
        if (f.energy) f.energy(f.ctx, 2, x, x + 2 * dim);
        double *jac = f.jac && dim <= 64 ? malloc(2 * dim * dim * sizeof *jac) : NULL;
        if (jac) f.jac(f.ctx, 2, x, jac);
        free(jac);
        free(x);
    }
    /* The training system the meta names (what `rollout --truth` uses):
     * name, parameters and dimension validated, then evaluated. */
    hrf_system sys;
    if (hrf_model_system(m, &sys) == HRF_OK) {
        const size_t dim = hrf_model_dim(m);
        double *x = calloc(3 * dim + 1, sizeof *x);
        if (!x) abort();
        hrf_system_eval(&sys, 1, x, x + dim, x + dim + 1);
        free(x);
    }
    if (hrf_model_type_of(m)->data == HRF_DATA_PARTICLES) {
        hrf_model_errors e;
        hrf_model_errors_on(m, three_particles(), &e);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    fuzz_entry e[FUZZ_MAX_ENTRIES];
    int n = fuzz_split(data + 1, size - 1, e);
    fuzz_write_zip(e, n);
    const char *path = fuzz_path();
    char *meta = NULL;
    switch (data[0] % L_COUNT) {
    case L_DATASET: {
        hrf_dataset *d = NULL;
        if (hrf_dataset_load(path, &d) == HRF_OK) use_dataset(d);
        hrf_dataset_free(d);
        break;
    }
    case L_PDATA: {
        hrf_pdata *d = NULL;
        hrf_psystem *s = NULL;
        if (hrf_pdata_load(path, &d) == HRF_OK && hrf_psystem_from_pdata(d, &s) == HRF_OK)
            hrf_psystem_free(s);
        hrf_pdata_free(d);
        break;
    }
    case L_HNN: {
        hrf_hnn *m = NULL;
        hrf_hnn_load(path, &m, &meta);
        hrf_hnn_free(m);
        break;
    }
    case L_ODENET: {
        hrf_odenet *m = NULL;
        hrf_odenet_load(path, &m, &meta);
        hrf_odenet_free(m);
        break;
    }
    case L_HGN: {
        hrf_hgn *m = NULL;
        hrf_hgn_load(path, &m, &meta);
        hrf_hgn_free(m);
        break;
    }
    default: {
        hrf_model *m = NULL;
        if (hrf_model_load(path, &m) == HRF_OK) use_model(m);
        hrf_model_free(m);
        break;
    }
    }
    hrf_free(meta);
    hrf_clear_error();
    return 0;
}
