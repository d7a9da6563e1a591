/* A process's share of a data set that is split over files or too large for
 * one process (docs/mpi.md): the global rows are those of the files in the
 * order given; hrf_dataset_load_part reads only rows [first, first + count)
 * of that concatenation, each file by offset (hrf_npz_read_rows), and checks
 * that the files belong together (dimension, system, anchor, box). */
#include "core/meta.h"
#include "core/npz.h"
#include "hamrf/dataset.h"
#include "hamrf/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The shape (n, dim) of a file's entry x, read from its header only. */
static int file_rows(const char *path, size_t *n, size_t *dim) {
    hrf_npz *z = NULL;
    cJSON *meta = NULL;
    int rc = hrf_npz_open(path, &z);
    if (rc) return rc;
    size_t sx[2] = {0, 0};
    if (!(rc = hrf_npz_read_meta(z, "dataset", &meta)))
        rc = hrf_npz_read_rows(z, "x", 2, sx, 0, 0, NULL);
    cJSON_Delete(meta);
    hrf_npz_close(z);
    if (rc) return rc;
    if (sx[1] == 0 || sx[1] % 2)
        return hrf_error(HRF_EFORMAT,
                         "%s: entry 'x': expected shape (n, 2d) with an even, positive "
                         "second extent, found (%zu, %zu)",
                         path, sx[0], sx[1]);
    *n = sx[0], *dim = sx[1];
    return HRF_OK;
}

int hrf_dataset_count(const char *const *paths, size_t npaths, size_t *total, size_t *dim) {
    *total = 0, *dim = 0;
    if (npaths == 0) return hrf_error(HRF_EINVAL, "no data set files given");
    for (size_t f = 0; f < npaths; f++) {
        size_t n = 0, d = 0;
        int rc = file_rows(paths[f], &n, &d);
        if (rc) return rc;
        if (f > 0 && d != *dim)
            return hrf_error(HRF_EDATA,
                             "%s: entry 'x' has %zu coordinates per point, but %s has %zu: the "
                             "files are not parts of one data set",
                             paths[f], d, paths[0], *dim);
        *dim = d, *total += n;
    }
    return HRF_OK;
}

/* The JSON text of meta[key] ("" when absent), for comparing files. */
static char *meta_text(const cJSON *meta, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, key);
    return v ? cJSON_PrintUnformatted(v) : strdup("");
}

/* 1 when both files' meta agree on key (system, params, box). */
static int meta_same(const cJSON *a, const cJSON *b, const char *key) {
    char *x = meta_text(a, key), *y = meta_text(b, key);
    int same = x && y && !strcmp(x, y);
    free(x), free(y);
    return same;
}

/* Appends rows [r0, r0 + nr) of one file to d (rows d->n.. of its arrays). */
static int read_piece(const char *path, size_t r0, size_t nr, hrf_dataset *d, size_t at,
                      const hrf_dataset *first) {
    hrf_npz *z = NULL;
    cJSON *meta = NULL;
    double *x = NULL, *dx = NULL, *H = NULL, *x1 = NULL, *x0 = NULL, *H0 = NULL;
    const size_t dim = d->dim;
    int rc = hrf_npz_open(path, &z);
    if (rc) return rc;
    if ((rc = hrf_npz_read_meta(z, "dataset", &meta))) goto done;
    size_t s2[2] = {0, dim}, s1[1] = {0}, s0[1] = {dim};
    if ((rc = hrf_npz_read_rows(z, "x", 2, s2, r0, nr, &x))) goto done;
    size_t n = s2[0];
    s2[0] = n;
    if ((rc = hrf_npz_read_rows(z, "dxdt", 2, s2, r0, nr, &dx))) goto done;
    int hasH = hrf_npz_has(z, "H"), has1 = hrf_npz_has(z, "x1");
    s1[0] = n;
    if (hasH && (rc = hrf_npz_read_rows(z, "H", 1, s1, r0, nr, &H))) goto done;
    if (has1 && (rc = hrf_npz_read_rows(z, "x1", 2, s2, r0, nr, &x1))) goto done;
    if ((rc = hrf_npz_read(z, "x0", 1, s0, &x0))) goto done;
    if ((rc = hrf_npz_read(z, "H0", 0, NULL, &H0))) goto done;
    if ((rc = hrf_check_finite(path, "x", x, nr * dim)) ||
        (rc = hrf_check_finite(path, "dxdt", dx, nr * dim)) ||
        (H && (rc = hrf_check_finite(path, "H", H, nr))) ||
        (x1 && (rc = hrf_check_finite(path, "x1", x1, nr * dim))))
        goto done;
    if (first) { /* the files must be parts of one data set */
        const cJSON *m0 = HRF_META(first);
        const char *bad = NULL;
        if (!meta_same(m0, meta, "system") || !meta_same(m0, meta, "params"))
            bad = "system";
        else if (memcmp(first->x0, x0, dim * sizeof *x0) || first->H0 != *H0)
            bad = "anchor (x0, H0)";
        else if (!meta_same(m0, meta, "box_lo") || !meta_same(m0, meta, "box_hi"))
            bad = "sampling box";
        else if ((first->H != NULL) != hasH)
            bad = "entries (one has H, the other not)";
        else if ((first->x1 != NULL) != has1 || !meta_same(m0, meta, "h"))
            bad = "trajectory pairs (x1, h)";
        if (bad) {
            rc = hrf_error(HRF_EDATA,
                           "%s: its %s differs from that of the first file: the files "
                           "are not parts of one data set",
                           path, bad);
            goto done;
        }
    } else {
        memcpy(d->x0, x0, dim * sizeof *x0);
        d->H0 = *H0;
        d->meta = hrf_meta_of(meta);
        meta = NULL;
        if (!hasH) free(d->H), d->H = NULL;
        if (!has1) free(d->x1), d->x1 = NULL;
        const cJSON *hj = cJSON_GetObjectItemCaseSensitive(HRF_META(d), "h");
        if (has1) d->h = cJSON_IsNumber(hj) ? hj->valuedouble : 0.0;
        if (has1 && !(isfinite(d->h) && d->h != 0.0)) {
            rc = hrf_error(HRF_EFORMAT,
                           "%s: meta: trajectory pairs (entry x1) need \"h\": the finite, "
                           "non-zero time step between x and x1",
                           path);
            goto done;
        }
    }
    memcpy(d->x + at * dim, x, nr * dim * sizeof *x);
    memcpy(d->dxdt + at * dim, dx, nr * dim * sizeof *x);
    if (d->H && H) memcpy(d->H + at, H, nr * sizeof *H);
    if (d->x1 && x1) memcpy(d->x1 + at * dim, x1, nr * dim * sizeof *x);
done:
    free(x), free(dx), free(H), free(x1), free(x0), free(H0);
    cJSON_Delete(meta);
    hrf_npz_close(z);
    return rc;
}

int hrf_dataset_load_part(const char *const *paths, size_t npaths, size_t first, size_t count,
                          hrf_dataset **out) {
    *out = NULL;
    size_t total = 0, dim = 0;
    int rc = hrf_dataset_count(paths, npaths, &total, &dim);
    if (rc) return rc;
    if (count == 0 || first > total || count > total - first)
        return hrf_error(HRF_EDATA,
                         "rows [%zu, %zu) asked of a data set of %zu points (in %zu file%s)", first,
                         first + count, total, npaths, npaths == 1 ? "" : "s");
    hrf_dataset *d = calloc(1, sizeof *d);
    if (!d) return hrf_error(HRF_ENOMEM, "out of memory");
    d->n = count, d->dim = dim;
    d->x = malloc(count * dim * sizeof *d->x), d->dxdt = malloc(count * dim * sizeof *d->x);
    d->H = malloc(count * sizeof *d->H), d->x1 = malloc(count * dim * sizeof *d->x);
    d->x0 = calloc(dim, sizeof *d->x0);
    if (!d->x || !d->dxdt || !d->H || !d->x1 || !d->x0) {
        hrf_dataset_free(d);
        return hrf_error(HRF_ENOMEM, "out of memory for %zu points", count);
    }
    /* Every file is opened (its meta and anchor checked against the first);
     * rows are read only from the files that hold some of ours. */
    size_t start = 0, at = 0;
    for (size_t f = 0; f < npaths && rc == HRF_OK; f++) {
        size_t n = 0, dd = 0;
        if ((rc = file_rows(paths[f], &n, &dd))) break;
        /* our rows [first, first + count) within this file's [start, start + n) */
        size_t lo = first > start ? first : start;
        size_t hi = first + count < start + n ? first + count : start + n;
        size_t nr = hi > lo ? hi - lo : 0;
        rc = read_piece(paths[f], nr ? lo - start : 0, nr, d, at, f == 0 ? NULL : d);
        at += nr, start += n;
    }
    if (rc) {
        hrf_dataset_free(d);
        return rc;
    }
    double *lo = malloc(dim * sizeof *lo), *hi = malloc(dim * sizeof *hi);
    if (lo && hi && hrf_json_numbers(HRF_META(d), "box_lo", dim, lo) &&
        hrf_json_numbers(HRF_META(d), "box_hi", dim, hi)) {
        d->box_lo = lo, d->box_hi = hi;
    } else {
        free(lo), free(hi);
    }
    *out = d;
    return HRF_OK;
}
