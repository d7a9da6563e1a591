/* The temporary folder, file helpers and the standard fixture that both npz
 * tests use (test_npz.c: the writer, round trips, NumPy; test_npz_read.c: the
 * reader on byte-built, malformed and foreign files). Static functions, one
 * copy per test executable; include after the test's `#define _XOPEN_SOURCE
 * 700` (nftw). */
#ifndef HAMRF_TEST_UTIL_NPZ_H
#define HAMRF_TEST_UTIL_NPZ_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/npz.h"
#include "hamrf/status.h"

static char g_dir[256];

/* ---- helpers ---- */

/* buf = g_dir + "/" + name. */
static void tpath(char *buf, size_t len, const char *name) {
    snprintf(buf, len, "%s/%s", g_dir, name);
}

static int rm_entry(const char *p, const struct stat *sb, int type, struct FTW *ftw) {
    (void)sb;
    (void)type;
    (void)ftw;
    return remove(p);
}

static int group_setup(void **state) {
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/hamrf_test_npz_XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int group_teardown(void **state) {
    (void)state;
    return nftw(g_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The whole file (malloc'd) and its length; NULL if unreadable. */
static unsigned char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(n > 0 ? (size_t)n : 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Asserts that the last error mentions `what`. */
static void assert_error_has(const char *what) {
    const char *msg = hrf_last_error();
    if (!strstr(msg, what)) fail_msg("last error \"%s\" does not mention \"%s\"", msg, what);
}

/* Reference values with awkward bits: signed zero, denormals, extremes. */
static const double specials[] = {-0.0,
                                  0.0,
                                  4.9406564584124654e-324,
                                  -2.2250738585072009e-308,
                                  DBL_MIN,
                                  DBL_MAX,
                                  -DBL_MAX,
                                  1e300,
                                  -1e-300,
                                  3.141592653589793,
                                  1.0 / 3.0,
                                  -7.5};
#define N_SPECIALS (sizeof specials / sizeof specials[0])

static void assert_bits_equal(const double *a, const double *b, size_t n) {
    if (n && memcmp(a, b, n * sizeof(double)) != 0) {
        for (size_t i = 0; i < n; ++i)
            if (memcmp(&a[i], &b[i], sizeof(double)) != 0)
                fail_msg("value %zu differs: %.17g vs %.17g", i, a[i], b[i]);
    }
}

/* Writes the standard fixture: arrays scalar (), vec (12,), mat (3, 4),
 * cube (2, 3, 4), empty (0,), flat (3, 0), and meta of kind `kind`. */
static void write_fixture(const char *path, const char *kind) {
    double mat[12], cube[24], scalar = -0.0;
    for (int i = 0; i < 12; ++i)
        mat[i] = i / 7.0;
    for (int i = 0; i < 24; ++i)
        cube[i] = (i - 5) * 0.25;
    size_t s_vec[] = {N_SPECIALS}, s_mat[] = {3, 4}, s_cube[] = {2, 3, 4}, s_empty[] = {0},
           s_flat[] = {3, 0};
    hrf_npz_writer *w = hrf_npz_writer_new();
    assert_non_null(w);
    assert_int_equal(hrf_npz_writer_add(w, "scalar", 0, NULL, &scalar), HRF_OK);
    assert_int_equal(hrf_npz_writer_add(w, "vec", 1, s_vec, specials), HRF_OK);
    assert_int_equal(hrf_npz_writer_add(w, "mat", 2, s_mat, mat), HRF_OK);
    assert_int_equal(hrf_npz_writer_add(w, "cube", 3, s_cube, cube), HRF_OK);
    assert_int_equal(hrf_npz_writer_add(w, "empty", 1, s_empty, NULL), HRF_OK);
    assert_int_equal(hrf_npz_writer_add(w, "flat", 2, s_flat, NULL), HRF_OK);
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "format", "hamrf");
    cJSON_AddStringToObject(meta, "kind", kind);
    cJSON_AddNumberToObject(meta, "version", 1);
    cJSON_AddStringToObject(meta, "note", "na\xc3\xafve \"quoted\" \\ text");
    assert_int_equal(hrf_npz_writer_set_meta(w, meta), HRF_OK);
    cJSON_Delete(meta);
    assert_int_equal(hrf_npz_writer_write(w, path), HRF_OK);
    hrf_npz_writer_free(w);
}

#endif /* HAMRF_TEST_UTIL_NPZ_H */
