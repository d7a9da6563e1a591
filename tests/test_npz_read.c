/* Tests of the .npy/.npz reader (src/core/npz.c, docs/formats.md "The
 * container") on files it must refuse or accept: missing files, non-zip and
 * truncated archives, bad meta, malformed .npy entries, missing entries, other
 * valid header spellings and versions, deflated entries, corrupt data; and the
 * finite check. The writer and the round trips are tested in test_npz.c; the
 * shared helpers are in test_util_npz.h.
 *
 * The references are independent of the code under test: malformed and
 * foreign entries are built byte by byte here and zipped with libzip
 * directly. Files live in a fresh mkdtemp folder under /tmp that is removed
 * at the end. */
#define _XOPEN_SOURCE 700

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <float.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zip.h>

#include "core/npz.h"
#include "hamrf/status.h"

#include "test_util_npz.h"

/* ---- helpers ---- */

/* An .npy entry built by hand: magic, version major.0, header length (2 bytes
 * for version 1, 4 for 2 and 3), `dict` padded to 64 bytes, then `data`. */
static unsigned char *make_npy(int major, const char *dict, const void *data, size_t nbytes,
                               size_t *len) {
    size_t fixed = major == 1 ? 10 : 12, dl = strlen(dict);
    size_t pad = (64 - (fixed + dl + 1) % 64) % 64, hlen = dl + pad + 1;
    *len = fixed + hlen + nbytes;
    unsigned char *b = malloc(*len ? *len : 1);
    assert_non_null(b);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (unsigned char)major;
    b[7] = 0;
    for (size_t k = 0; k < fixed - 8; ++k)
        b[8 + k] = (unsigned char)(hlen >> (8 * k));
    memcpy(b + fixed, dict, dl);
    memset(b + fixed + dl, ' ', pad);
    b[fixed + dl + pad] = '\n';
    if (nbytes) memcpy(b + fixed + hlen, data, nbytes);
    return b;
}

/* Writes a zip with the given entries using libzip directly (not hamrf). */
static void write_zip(const char *path, int n, const char *const *names,
                      unsigned char *const *bytes, const size_t *lens, int deflate) {
    int err = 0;
    zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    assert_non_null(za);
    for (int i = 0; i < n; ++i) {
        zip_source_t *s = zip_source_buffer(za, bytes[i], lens[i], 0);
        assert_non_null(s);
        zip_int64_t idx = zip_file_add(za, names[i], s, 0);
        assert_true(idx >= 0);
        assert_int_equal(zip_set_file_compression(za, (zip_uint64_t)idx,
                                                  deflate ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0),
                         0);
    }
    assert_int_equal(zip_close(za), 0);
}

/* A zip holding the single array entry "x.npy" built from dict and data. */
static void write_one_npy(const char *path, int major, const char *dict, const void *data,
                          size_t nbytes) {
    size_t len;
    unsigned char *b = make_npy(major, dict, data, nbytes, &len);
    const char *names[] = {"x.npy"};
    write_zip(path, 1, names, &b, &len, 0);
    free(b);
}

/* ---- opening ---- */

static void test_open_missing_file(void **state) {
    (void)state;
    char path[512];
    tpath(path, sizeof path, "does_not_exist.npz");
    hrf_npz *z = (hrf_npz *)1;
    assert_int_equal(hrf_npz_open(path, &z), HRF_EIO);
    assert_null(z);
    assert_error_has(path);
    assert_error_has("No such file or directory");
}

static void test_open_not_zip(void **state) {
    (void)state;
    char path[512];
    hrf_npz *z = NULL;
    tpath(path, sizeof path, "text.npz");
    write_text(path, "this is a text file, not a zip archive\n");
    assert_int_equal(hrf_npz_open(path, &z), HRF_EFORMAT);
    assert_error_has(path);
    assert_error_has("not an .npz (zip) archive");

    tpath(path, sizeof path, "zero.npz");
    write_text(path, "");
    assert_int_equal(hrf_npz_open(path, &z), HRF_EFORMAT);
    assert_error_has(path);
    assert_error_has("not an .npz (zip) archive");

    /* The first half of a valid archive (its directory is lost). */
    char full[512];
    tpath(full, sizeof full, "to_truncate.npz");
    write_fixture(full, "dataset");
    size_t len;
    unsigned char *b = slurp(full, &len);
    tpath(path, sizeof path, "half.npz");
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, len / 2, f);
    fclose(f);
    free(b);
    assert_int_equal(hrf_npz_open(path, &z), HRF_EFORMAT);
    assert_error_has(path);
    assert_error_has("not an .npz (zip) archive");
    assert_null(z);
}

/* ---- meta ---- */

static void test_meta_errors(void **state) {
    (void)state;
    struct {
        const char *json; /* NULL: no meta entry at all */
        const char *kind;
        const char *expect;
    } cases[] = {
        {NULL, NULL, "not an hamrf file (no 'meta' entry)"},
        {"{\"format\": \"hamrf\", ", NULL, "entry 'meta': not valid JSON"},
        {"{\"format\": \"hamrf\"} x", NULL, "entry 'meta': not valid JSON"},
        {"[1, 2]", NULL, "entry 'meta': expected a JSON object"},
        {"{\"format\": \"other\"}", NULL, "not an hamrf file (entry 'meta' has format 'other'"},
        {"{\"kind\": \"model\"}", NULL, "not an hamrf file (entry 'meta' has no string 'format'"},
        {"{\"format\": \"hamrf\", \"version\": 1, \"kind\": \"dataset\"}", "model",
         "expected an hamrf model file, found kind 'dataset'"},
        {"{\"format\": \"hamrf\", \"version\": 1}", "model",
         "expected an hamrf model file, entry 'meta' has no"},
        {"{\"format\": \"hamrf\", \"version\": 2, \"kind\": \"model\"}", "model",
         "hamrf file version 2, this build reads version 1"},
        {"{\"format\": \"hamrf\", \"kind\": \"model\"}", "model",
         "missing or non-numeric \"version\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        char path[512], name[64];
        snprintf(name, sizeof name, "meta_bad_%zu.npz", i);
        tpath(path, sizeof path, name);
        double v = 1;
        size_t len0, len1;
        unsigned char *npy =
            make_npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }", &v, 8, &len0);
        unsigned char *bytes[2] = {npy, (unsigned char *)cases[i].json};
        len1 = cases[i].json ? strlen(cases[i].json) : 0;
        size_t lens[2] = {len0, len1};
        const char *names[2] = {"x.npy", "meta"};
        write_zip(path, cases[i].json ? 2 : 1, names, bytes, lens, 0);
        free(npy);
        hrf_npz *z = NULL;
        assert_int_equal(hrf_npz_open(path, &z), HRF_OK);
        cJSON *m = (cJSON *)1;
        assert_int_equal(hrf_npz_read_meta(z, cases[i].kind, &m), HRF_EFORMAT);
        assert_null(m);
        assert_error_has(path);
        assert_error_has("meta");
        assert_error_has(cases[i].expect);
        hrf_npz_close(z);
    }
}

/* ---- malformed .npy entries ---- */

static void test_read_rejects_bad_entries(void **state) {
    (void)state;
    double d[4] = {1, 2, 3, 4};
    struct {
        int major;
        const char *dict; /* NULL: raw bytes given by `raw` */
        const char *raw;
        size_t nbytes; /* of d, or of raw */
        int ndim;
        size_t shape[2];
        int status;
        const char *expect;
    } cases[] = {
        {1,
         "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
         NULL,
         8,
         1,
         {0},
         HRF_EFORMAT,
         "expected dtype float64 ('<f8'), found '<f4'"},
        {1,
         "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }",
         NULL,
         16,
         1,
         {0},
         HRF_EFORMAT,
         "found '<i8'"},
        {1,
         "{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }",
         NULL,
         16,
         1,
         {0},
         HRF_EFORMAT,
         "found '>f8'"},
        {1,
         "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,), }",
         NULL,
         16,
         1,
         {0},
         HRF_EFORMAT,
         "found a structured dtype"},
        {1,
         "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2), }",
         NULL,
         32,
         2,
         {0, 0},
         HRF_EFORMAT,
         "expected C order, found fortran_order True"},
        {1,
         "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }",
         NULL,
         32,
         1,
         {0},
         HRF_EFORMAT,
         "expected 1 dimension, shape (any,), found 2, shape (2, 2)"},
        {1,
         "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }",
         NULL,
         32,
         2,
         {2, 2},
         HRF_EFORMAT,
         "expected 2 dimensions, shape (2, 2), found 1"},
        {1,
         "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }",
         NULL,
         32,
         2,
         {2, 3},
         HRF_EFORMAT,
         "expected extent 3 in dimension 1 (shape (2, 3)), found shape (2, 2)"},
        {1,
         "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), }",
         NULL,
         24,
         1,
         {0},
         HRF_EFORMAT,
         "truncated data: shape (4,) needs 32 bytes, the entry holds 24"},
        {1,
         "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
         NULL,
         24,
         1,
         {0},
         HRF_EFORMAT,
         "trailing bytes"},
        /* 1e30 values: the byte count overflows 64 bits. */
        {1,
         "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000000, 1000000000000000), "
         "}",
         NULL,
         32,
         2,
         {0, 0},
         HRF_ETOOBIG,
         "claims more than 2^64 bytes"},
        /* 1e18 values: fits in 64 bits, but the entry holds 32 bytes. */
        {1,
         "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000, 1000000000), }",
         NULL,
         32,
         2,
         {0, 0},
         HRF_EFORMAT,
         "truncated data"},
        {1,
         "{'descr': '<f8', 'fortran_order': False, 'shape': (123456789012345678901234567890,), }",
         NULL,
         32,
         1,
         {0},
         HRF_ETOOBIG,
         "larger than 2^64"},
        {1,
         "{'descr': '<f8', 'fortran_order': False, 'shape': (-2,), }",
         NULL,
         16,
         1,
         {0},
         HRF_EFORMAT,
         "not a non-negative integer"},
        {1,
         "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'extra': 1}",
         NULL,
         16,
         1,
         {0},
         HRF_EFORMAT,
         "unexpected key 'extra'"},
        {1,
         "{'descr': '<f8', 'fortran_order': False}",
         NULL,
         16,
         1,
         {0},
         HRF_EFORMAT,
         "lacks 'shape'"},
        {1,
         "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2,)}",
         NULL,
         16,
         1,
         {0},
         HRF_EFORMAT,
         "repeated key 'descr'"},
        {1,
         "{'descr': '<f8', 'fortran_order': False, 'shape': (2,",
         NULL,
         16,
         1,
         {0},
         HRF_EFORMAT,
         "malformed header"},
        {1,
         "{'descr': '<f8', 'fortran_order': 0, 'shape': (2,)}",
         NULL,
         16,
         1,
         {0},
         HRF_EFORMAT,
         "'fortran_order' is not True or False"},
        {1, "['descr', '<f8']", NULL, 16, 1, {0}, HRF_EFORMAT, "not a Python dict"},
        {4,
         "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
         NULL,
         16,
         1,
         {0},
         HRF_EFORMAT,
         "unsupported .npy format version 4.0"},
        {0,
         NULL,
         "\x93NUMPZ\x01\x00\x10\x00{}              ",
         26,
         1,
         {0},
         HRF_EFORMAT,
         "bad magic bytes"},
        {0,
         NULL,
         "\x93NUMPY\x01\x00\xff\x00{'descr': '<f8'}\n",
         27,
         1,
         {0},
         HRF_EFORMAT,
         "truncated .npy header"},
        {0, NULL, "\x93NUM", 4, 1, {0}, HRF_EFORMAT, "entry too short"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
        char path[512], name[64];
        snprintf(name, sizeof name, "bad_%02zu.npz", i);
        tpath(path, sizeof path, name);
        if (cases[i].dict) {
            write_one_npy(path, cases[i].major, cases[i].dict, d, cases[i].nbytes);
        } else {
            unsigned char *raw = (unsigned char *)cases[i].raw;
            size_t len = cases[i].nbytes;
            const char *names[] = {"x.npy"};
            write_zip(path, 1, names, &raw, &len, 0);
        }
        hrf_npz *z = NULL;
        assert_int_equal(hrf_npz_open(path, &z), HRF_OK);
        size_t shape[2] = {cases[i].shape[0], cases[i].shape[1]};
        double *x = (double *)1;
        int rc = hrf_npz_read(z, "x", cases[i].ndim, shape, &x);
        if (rc != cases[i].status)
            fail_msg("case %zu: status %d, expected %d (%s)", i, rc, cases[i].status,
                     hrf_last_error());
        assert_null(x);
        assert_error_has(path);
        assert_error_has("entry 'x'");
        assert_error_has(cases[i].expect);
        /* The caller's requirement is left as it was. */
        assert_int_equal(shape[0], cases[i].shape[0]);
        hrf_npz_close(z);
    }
}

static void test_read_missing_entry(void **state) {
    (void)state;
    char path[512];
    tpath(path, sizeof path, "fixture_missing.npz");
    write_fixture(path, "dataset");
    hrf_npz *z = NULL;
    assert_int_equal(hrf_npz_open(path, &z), HRF_OK);
    double *x = NULL;
    size_t s[1] = {0};
    assert_int_equal(hrf_npz_read(z, "nope", 1, s, &x), HRF_ENOTFOUND);
    assert_null(x);
    assert_error_has(path);
    assert_error_has("entry 'nope'");
    assert_error_has("no 'nope.npy' in the archive");
    hrf_npz_close(z);
}

/* Other valid spellings of the header, versions 2.0 and 3.0, and deflated
 * entries all read. */
static void test_read_accepts_variants(void **state) {
    (void)state;
    double d[6] = {1.5, -2.25, 0.0, 1e-310, 6.0, -1e308};
    const char *dicts[] = {
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
        "{\"shape\":(2,3),\"fortran_order\":False,\"descr\":\"<f8\"}",
        "  {  'fortran_order' : False ,'shape' : ( 2 , 3 , ) , 'descr' : '<f8' }  ",
        "{'descr': '=f8', 'fortran_order': False, 'shape': (2L, 3L)}",
    };
    int majors[] = {1, 2, 3};
    int k = 0;
    for (size_t i = 0; i < sizeof dicts / sizeof dicts[0]; ++i)
        for (size_t j = 0; j < 3; ++j)
            for (int deflate = 0; deflate < 2; ++deflate, ++k) {
                char path[512], name[64];
                snprintf(name, sizeof name, "variant_%02d.npz", k);
                tpath(path, sizeof path, name);
                size_t len;
                unsigned char *b = make_npy(majors[j], dicts[i], d, sizeof d, &len);
                const char *names[] = {"x.npy"};
                write_zip(path, 1, names, &b, &len, deflate);
                free(b);
                hrf_npz *z = NULL;
                assert_int_equal(hrf_npz_open(path, &z), HRF_OK);
                size_t s[2] = {2, 3};
                double *x = NULL;
                int rc = hrf_npz_read(z, "x", 2, s, &x);
                if (rc != HRF_OK) fail_msg("variant %d: %s", k, hrf_last_error());
                assert_bits_equal(x, d, 6);
                free(x);
                hrf_npz_close(z);
            }
}

/* A flipped data byte is caught by the zip CRC. */
static void test_read_corrupt_data(void **state) {
    (void)state;
    char path[512];
    tpath(path, sizeof path, "corrupt.npz");
    double v[4] = {1.25, 2.5, 3.75, 5.0};
    size_t s[1] = {4};
    hrf_npz_writer *w = hrf_npz_writer_new();
    assert_int_equal(hrf_npz_writer_add(w, "v", 1, s, v), HRF_OK);
    assert_int_equal(hrf_npz_writer_write(w, path), HRF_OK);
    hrf_npz_writer_free(w);
    size_t len;
    unsigned char *b = slurp(path, &len);
    unsigned char *hit = NULL;
    for (size_t i = 0; i + 8 <= len && !hit; ++i)
        if (memcmp(b + i, &v[2], 8) == 0) hit = b + i;
    assert_non_null(hit);
    hit[7] ^= 0x01;
    FILE *f = fopen(path, "wb");
    fwrite(b, 1, len, f);
    fclose(f);
    free(b);
    hrf_npz *z = NULL;
    assert_int_equal(hrf_npz_open(path, &z), HRF_OK);
    double *x = (double *)1;
    assert_int_equal(hrf_npz_read(z, "v", 1, s, &x), HRF_EFORMAT);
    assert_null(x);
    assert_error_has(path);
    assert_error_has("entry 'v'");
    assert_error_has("CRC");
    hrf_npz_close(z);
}

/* ---- finite check ---- */

static void test_check_finite(void **state) {
    (void)state;
    double x[8] = {0, 1, -2, DBL_MAX, 4.9406564584124654e-324, 5, 6, 7};
    assert_int_equal(hrf_check_finite("f.npz", "x", x, 8), HRF_OK);
    assert_int_equal(hrf_check_finite("f.npz", "x", NULL, 0), HRF_OK);
    x[5] = NAN;
    assert_int_equal(hrf_check_finite("data.npz", "q", x, 8), HRF_EDATA);
    assert_error_has("data.npz");
    assert_error_has("entry 'q'");
    assert_error_has("index 5 is NaN");
    x[5] = 5;
    x[0] = INFINITY;
    assert_int_equal(hrf_check_finite("data.npz", "p", x, 8), HRF_EDATA);
    assert_error_has("entry 'p'");
    assert_error_has("index 0 is inf");
    x[0] = 0;
    x[7] = -INFINITY;
    assert_int_equal(hrf_check_finite("model.npz", "w", x, 8), HRF_EDATA);
    assert_error_has("model.npz");
    assert_error_has("index 7 is -inf");
    assert_int_equal(hrf_check_finite("model.npz", "w", x, 7), HRF_OK);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_missing_file),  cmocka_unit_test(test_open_not_zip),
        cmocka_unit_test(test_meta_errors),        cmocka_unit_test(test_read_rejects_bad_entries),
        cmocka_unit_test(test_read_missing_entry), cmocka_unit_test(test_read_accepts_variants),
        cmocka_unit_test(test_read_corrupt_data),  cmocka_unit_test(test_check_finite),
    };
    return cmocka_run_group_tests_name("npz_read", tests, group_setup, group_teardown);
}
