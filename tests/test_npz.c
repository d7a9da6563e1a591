/* Tests of the .npy/.npz reader and writer (src/core/npz.c, docs/formats.md "The container").
 *
 * The references are independent of the code under test: malformed and
 * foreign entries are built byte by byte here and zipped with libzip
 * directly; NumPy (Debian's /usr/bin/python3) reads what hamrf writes and
 * writes what hamrf reads. Files live in a fresh mkdtemp folder under /tmp
 * that is removed at the end.
 *
 * Environment: HAMRF_NPZ_BIG_MB sets the size of the large-array round trip
 * (default 48 MiB; set it above 4096 to exercise zip64 entries). */
#define _XOPEN_SOURCE 700

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <float.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>

#include "core/npz.h"
#include "hamrf/status.h"

#define PYTHON "/usr/bin/python3"
/* Default size of the large-array round trip: big enough to need many reads
 * inside libzip, small enough for a valgrind run. */
#define BIG_DEFAULT_MB 48

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

/* Number of names in g_dir that contain `part`. */
static int count_in_dir(const char *part) {
    DIR *d = opendir(g_dir);
    assert_non_null(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, part)) ++n;
    closedir(d);
    return n;
}

/* Asserts that the last error mentions `what`. */
static void assert_error_has(const char *what) {
    const char *msg = hrf_last_error();
    if (!strstr(msg, what)) fail_msg("last error \"%s\" does not mention \"%s\"", msg, what);
}

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

/* 1 if Debian's python3 with NumPy is there (else the test is skipped). */
static int have_numpy(void) {
    if (access(PYTHON, X_OK) != 0) {
        print_message("skipping: %s not found\n", PYTHON);
        return 0;
    }
    if (system(PYTHON " -c 'import numpy' >/dev/null 2>&1") != 0) {
        print_message("skipping: NumPy is missing (apt-get install python3-numpy)\n");
        return 0;
    }
    return 1;
}

/* Runs `script` with /usr/bin/python3 and the given argument; returns its exit status. */
static int run_python(const char *script, const char *arg) {
    char spath[512], cmd[1400];
    tpath(spath, sizeof spath, "check.py");
    write_text(spath, script);
    snprintf(cmd, sizeof cmd, PYTHON " '%s' '%s'", spath, arg);
    int rc = system(cmd);
    remove(spath);
    return rc;
}

/* ---- round trips ---- */

static void test_roundtrip_all_ranks(void **state) {
    (void)state;
    char path[512];
    tpath(path, sizeof path, "fixture.npz");
    write_fixture(path, "dataset");

    hrf_npz *z = NULL;
    assert_int_equal(hrf_npz_open(path, &z), HRF_OK);
    assert_string_equal(hrf_npz_path(z), path);
    assert_true(hrf_npz_has(z, "mat"));
    assert_false(hrf_npz_has(z, "meta")); /* meta is not an array */
    assert_false(hrf_npz_has(z, "nothing"));

    double *x = NULL;
    double zero = -0.0;
    assert_int_equal(hrf_npz_read(z, "scalar", 0, NULL, &x), HRF_OK);
    assert_bits_equal(x, &zero, 1);
    free(x);

    size_t s1[1] = {0};
    assert_int_equal(hrf_npz_read(z, "vec", 1, s1, &x), HRF_OK);
    assert_int_equal(s1[0], N_SPECIALS);
    assert_bits_equal(x, specials, N_SPECIALS);
    free(x);

    double mat[12], cube[24];
    for (int i = 0; i < 12; ++i)
        mat[i] = i / 7.0;
    for (int i = 0; i < 24; ++i)
        cube[i] = (i - 5) * 0.25;
    size_t s2[2] = {3, 0};
    assert_int_equal(hrf_npz_read(z, "mat", 2, s2, &x), HRF_OK);
    assert_int_equal(s2[0], 3);
    assert_int_equal(s2[1], 4);
    assert_bits_equal(x, mat, 12);
    free(x);

    size_t s3[3] = {2, 3, 4};
    assert_int_equal(hrf_npz_read(z, "cube", 3, s3, &x), HRF_OK);
    assert_bits_equal(x, cube, 24);
    free(x);

    s1[0] = 0;
    assert_int_equal(hrf_npz_read(z, "empty", 1, s1, &x), HRF_OK);
    assert_int_equal(s1[0], 0);
    assert_non_null(x); /* a valid allocation even for zero elements */
    free(x);

    s2[0] = 3;
    s2[1] = 0;
    assert_int_equal(hrf_npz_read(z, "flat", 2, s2, &x), HRF_OK);
    assert_int_equal(s2[0], 3);
    assert_int_equal(s2[1], 0);
    assert_non_null(x);
    free(x);
    hrf_npz_close(z);
}

/* The written entries are NPY 1.0, data aligned to 64 bytes, stored
 * uncompressed, in insertion order: checked with libzip directly. */
static void test_written_layout(void **state) {
    (void)state;
    char path[512];
    tpath(path, sizeof path, "layout.npz");
    write_fixture(path, "dataset");
    int err = 0;
    zip_t *za = zip_open(path, ZIP_RDONLY, &err);
    assert_non_null(za);
    const char *order[] = {"scalar.npy", "vec.npy",  "mat.npy", "cube.npy",
                           "empty.npy",  "flat.npy", "meta"};
    assert_int_equal(zip_get_num_entries(za, 0), 7);
    for (int i = 0; i < 7; ++i) {
        assert_string_equal(zip_get_name(za, (zip_uint64_t)i, 0), order[i]);
        zip_stat_t st;
        assert_int_equal(zip_stat_index(za, (zip_uint64_t)i, 0, &st), 0);
        assert_int_equal(st.comp_method, ZIP_CM_STORE);
        if (i == 6) continue;
        unsigned char hdr[256];
        zip_file_t *f = zip_fopen_index(za, (zip_uint64_t)i, 0);
        assert_non_null(f);
        assert_int_equal(zip_fread(f, hdr, 10), 10);
        assert_memory_equal(hdr, "\x93NUMPY\x01\x00", 8);
        size_t hlen = hdr[8] | (size_t)hdr[9] << 8;
        assert_int_equal((10 + hlen) % 64, 0);
        assert_true(hlen < sizeof hdr);
        assert_int_equal(zip_fread(f, hdr, hlen), (zip_int64_t)hlen);
        hdr[hlen] = '\0';
        assert_int_equal(hdr[hlen - 1], '\n');
        zip_fclose(f);
        if (i == 0)
            assert_non_null(
                strstr((char *)hdr, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }"));
        if (i == 1) assert_non_null(strstr((char *)hdr, "'shape': (12,), }"));
        if (i == 2) assert_non_null(strstr((char *)hdr, "'shape': (3, 4), }"));
    }
    zip_discard(za);
}

static void test_meta_roundtrip_and_kind(void **state) {
    (void)state;
    char path[512];
    tpath(path, sizeof path, "meta.npz");
    cJSON *meta = cJSON_CreateObject();
    cJSON_AddStringToObject(meta, "format", "hamrf");
    cJSON_AddStringToObject(meta, "kind", "model");
    cJSON_AddNumberToObject(meta, "version", 1);
    cJSON *arr = cJSON_AddArrayToObject(meta, "widths");
    cJSON_AddItemToArray(arr, cJSON_CreateNumber(64));
    cJSON_AddItemToArray(arr, cJSON_CreateNumber(0.125));
    cJSON_AddStringToObject(meta, "unicode", "\xce\xb1\xce\xb2 \xe2\x88\x87H");
    hrf_npz_writer *w = hrf_npz_writer_new();
    double v = 2.5;
    assert_int_equal(hrf_npz_writer_add(w, "w", 0, NULL, &v), HRF_OK);
    /* A first meta is replaced by the second call. */
    cJSON *other = cJSON_CreateObject();
    assert_int_equal(hrf_npz_writer_set_meta(w, other), HRF_OK);
    cJSON_Delete(other);
    assert_int_equal(hrf_npz_writer_set_meta(w, meta), HRF_OK);
    assert_int_equal(hrf_npz_writer_write(w, path), HRF_OK);
    hrf_npz_writer_free(w);

    hrf_npz *z = NULL;
    assert_int_equal(hrf_npz_open(path, &z), HRF_OK);
    cJSON *got = NULL;
    assert_int_equal(hrf_npz_read_meta(z, "model", &got), HRF_OK);
    assert_true(cJSON_Compare(meta, got, 1));
    cJSON_Delete(got);
    assert_int_equal(hrf_npz_read_meta(z, NULL, &got), HRF_OK);
    assert_true(cJSON_Compare(meta, got, 1));
    cJSON_Delete(got);

    got = (cJSON *)1;
    assert_int_equal(hrf_npz_read_meta(z, "dataset", &got), HRF_EFORMAT);
    assert_null(got);
    assert_error_has(path);
    assert_error_has("expected an hamrf dataset file, found kind 'model'");
    hrf_npz_close(z);
    cJSON_Delete(meta);
}

/* Two writes of the same content give identical bytes, whatever the time
 * zone (the entry time stamps are fixed). */
static void test_byte_identical(void **state) {
    (void)state;
    char a[512], b[512], c[512];
    tpath(a, sizeof a, "same_a.npz");
    tpath(b, sizeof b, "same_b.npz");
    tpath(c, sizeof c, "same_c.npz");
    const char *old_tz = getenv("TZ");
    char *saved = old_tz ? strdup(old_tz) : NULL;
    write_fixture(a, "dataset");
    setenv("TZ", "EST+5", 1);
    tzset();
    write_fixture(b, "dataset");
    setenv("TZ", "IST-5:30", 1);
    tzset();
    write_fixture(c, "dataset");
    if (saved)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    free(saved);
    size_t la, lb, lc;
    unsigned char *ba = slurp(a, &la), *bb = slurp(b, &lb), *bc = slurp(c, &lc);
    assert_non_null(ba);
    assert_non_null(bb);
    assert_non_null(bc);
    assert_int_equal(la, lb);
    assert_int_equal(la, lc);
    assert_memory_equal(ba, bb, la);
    assert_memory_equal(ba, bc, la);
    free(ba);
    free(bb);
    free(bc);
}

/* ---- atomic writes ---- */

static void test_write_missing_folder(void **state) {
    (void)state;
    char path[512], folder[512];
    tpath(folder, sizeof folder, "missing");
    tpath(path, sizeof path, "missing/x.npz");
    int before = count_in_dir("");
    hrf_npz_writer *w = hrf_npz_writer_new();
    double v = 1;
    assert_int_equal(hrf_npz_writer_add(w, "x", 0, NULL, &v), HRF_OK);
    assert_int_equal(hrf_npz_writer_write(w, path), HRF_EIO);
    assert_error_has(path);
    char expect[600];
    snprintf(expect, sizeof expect, "cannot create file in folder '%s' (No such file or directory)",
             folder);
    assert_error_has(expect);
    assert_int_equal(count_in_dir(""), before);
    assert_int_equal(count_in_dir(".tmp."), 0);
    hrf_npz_writer_free(w);
}

static void test_write_replaces_existing(void **state) {
    (void)state;
    char path[512], fresh[512];
    tpath(path, sizeof path, "replace.npz");
    tpath(fresh, sizeof fresh, "replace_fresh.npz");
    write_fixture(path, "dataset"); /* a bigger file with other entries */

    hrf_npz_writer *w = hrf_npz_writer_new();
    double v[2] = {1, 2};
    size_t s[1] = {2};
    assert_int_equal(hrf_npz_writer_add(w, "small", 1, s, v), HRF_OK);
    assert_int_equal(hrf_npz_writer_write(w, path), HRF_OK);
    /* The writer can be written again. */
    assert_int_equal(hrf_npz_writer_write(w, fresh), HRF_OK);
    hrf_npz_writer_free(w);

    size_t la, lb;
    unsigned char *ba = slurp(path, &la), *bb = slurp(fresh, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(ba, bb, la);
    free(ba);
    free(bb);
    hrf_npz *z = NULL;
    assert_int_equal(hrf_npz_open(path, &z), HRF_OK);
    assert_false(hrf_npz_has(z, "mat"));
    assert_true(hrf_npz_has(z, "small"));
    hrf_npz_close(z);
    assert_int_equal(count_in_dir(".tmp."), 0);

    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    mode_t mask = umask(0);
    umask(mask);
    assert_int_equal(st.st_mode & 0777, 0666 & ~mask); /* like any new file, not mkstemp's 0600 */
}

/* A write that fails half way (file size limit) leaves the existing file
 * byte for byte as it was and no temporary file behind. */
static void test_write_failure_keeps_existing(void **state) {
    (void)state;
    char path[512];
    tpath(path, sizeof path, "keep.npz");
    write_fixture(path, "model");
    size_t l0;
    unsigned char *before = slurp(path, &l0);
    assert_non_null(before);

    size_t n = 1 << 17; /* 1 MiB of data, above the limit below */
    double *big = calloc(n, sizeof(double));
    assert_non_null(big);
    hrf_npz_writer *w = hrf_npz_writer_new();
    assert_int_equal(hrf_npz_writer_add(w, "big", 1, &n, big), HRF_OK);

    struct rlimit old, lim;
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 64 * 1024;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    int rc = hrf_npz_writer_write(w, path);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, old_handler);
    assert_int_equal(rc, HRF_EIO);
    assert_error_has(path);

    size_t l1;
    unsigned char *after = slurp(path, &l1);
    assert_non_null(after);
    assert_int_equal(l0, l1);
    assert_memory_equal(before, after, l0);
    assert_int_equal(count_in_dir(".tmp."), 0);
    assert_int_equal(count_in_dir("keep.npz"), 1);
    free(before);
    free(after);
    free(big);
    hrf_npz_writer_free(w);
}

static void test_write_onto_folder(void **state) {
    (void)state;
    char path[512];
    tpath(path, sizeof path, "a_folder");
    assert_int_equal(mkdir(path, 0755), 0);
    hrf_npz_writer *w = hrf_npz_writer_new();
    assert_int_equal(hrf_npz_writer_write(w, path), HRF_EIO);
    assert_error_has(path);
    assert_error_has("folder");
    hrf_npz_writer_free(w);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(count_in_dir(".tmp."), 0);
}

static void test_writer_errors(void **state) {
    (void)state;
    hrf_npz_writer *w = hrf_npz_writer_new();
    double v[4] = {0};
    size_t s[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
    assert_int_equal(hrf_npz_writer_add(w, "a", 1, s, v), HRF_OK);
    assert_int_equal(hrf_npz_writer_add(w, "a", 1, s, v), HRF_EINVAL);
    assert_error_has("'a'");
    assert_error_has("twice");
    assert_int_equal(hrf_npz_writer_add(w, "b", 9, s, v), HRF_EINVAL);
    assert_error_has("'b'");
    assert_int_equal(hrf_npz_writer_add(w, "c", 1, s, NULL), HRF_EINVAL);
    assert_error_has("'c'");
    assert_int_equal(hrf_npz_writer_add(w, "", 0, NULL, v), HRF_EINVAL);
    size_t huge[2] = {SIZE_MAX / 2, 4};
    assert_int_equal(hrf_npz_writer_add(w, "d", 2, huge, v), HRF_ETOOBIG);
    assert_error_has("'d'");
    assert_int_equal(hrf_npz_writer_set_meta(w, NULL), HRF_EINVAL);
    hrf_npz_writer_free(w);
    hrf_npz_writer_free(NULL);
    hrf_npz_close(NULL);
}

/* A writer without entries gives an empty zip archive, not no file. */
static void test_empty_archive(void **state) {
    (void)state;
    char path[512];
    tpath(path, sizeof path, "empty.npz");
    hrf_npz_writer *w = hrf_npz_writer_new();
    assert_int_equal(hrf_npz_writer_write(w, path), HRF_OK);
    hrf_npz_writer_free(w);
    hrf_npz *z = NULL;
    assert_int_equal(hrf_npz_open(path, &z), HRF_OK);
    assert_false(hrf_npz_has(z, "x"));
    cJSON *m = NULL;
    assert_int_equal(hrf_npz_read_meta(z, NULL, &m), HRF_EFORMAT);
    assert_error_has("not an hamrf file (no 'meta' entry)");
    hrf_npz_close(z);
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

/* A large array round trip (many internal reads and writes in libzip). */
static void test_large_roundtrip(void **state) {
    (void)state;
    const char *env = getenv("HAMRF_NPZ_BIG_MB");
    size_t mb = env ? (size_t)strtoull(env, NULL, 10) : BIG_DEFAULT_MB;
    size_t n = mb * (1u << 20) / sizeof(double), rows = 1024, cols = n / rows;
    n = rows * cols;
    double *a = malloc(n * sizeof(double));
    assert_non_null(a);
    for (size_t i = 0; i < n; ++i)
        a[i] = (double)i * 0.5 - 3.0;
    char path[512];
    tpath(path, sizeof path, "large.npz");
    hrf_npz_writer *w = hrf_npz_writer_new();
    size_t s[2] = {rows, cols};
    assert_int_equal(hrf_npz_writer_add(w, "a", 2, s, a), HRF_OK);
    assert_int_equal(hrf_npz_writer_write(w, path), HRF_OK);
    hrf_npz_writer_free(w);
    hrf_npz *z = NULL;
    assert_int_equal(hrf_npz_open(path, &z), HRF_OK);
    double *x = NULL;
    size_t r[2] = {rows, 0};
    assert_int_equal(hrf_npz_read(z, "a", 2, r, &x), HRF_OK);
    assert_int_equal(r[1], cols);
    assert_memory_equal(x, a, n * sizeof(double));
    free(x);
    free(a);
    hrf_npz_close(z);
    remove(path);
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

/* ---- NumPy interoperability ---- */

static const char numpy_reads_ours[] =
    "import json, struct, sys\n"
    "import numpy as np\n"
    "z = np.load(sys.argv[1])\n"
    "assert z.files == ['scalar', 'vec', 'mat', 'cube', 'empty', 'flat', 'meta'], z.files\n"
    "def same(a, ref, shape):\n"
    "    assert a.dtype == np.dtype('<f8'), a.dtype\n"
    "    assert a.shape == shape, (a.shape, shape)\n"
    "    assert a.flags['C_CONTIGUOUS']\n"
    "    r = np.asarray(ref, dtype='<f8').reshape(shape)\n"
    "    assert a.tobytes() == r.tobytes(), (a, r)\n"
    "same(z['scalar'], -0.0, ())\n"
    "assert struct.pack('<d', float(z['scalar'])) == struct.pack('<d', -0.0)\n"
    "specials = [-0.0, 0.0, 5e-324, -2.2250738585072009e-308, 2.2250738585072014e-308,\n"
    "            1.7976931348623157e308, -1.7976931348623157e308, 1e300, -1e-300,\n"
    "            3.141592653589793, 1.0 / 3.0, -7.5]\n"
    "same(z['vec'], specials, (12,))\n"
    "same(z['mat'], np.arange(12) / 7.0, (3, 4))\n"
    "same(z['cube'], (np.arange(24) - 5) * 0.25, (2, 3, 4))\n"
    "same(z['empty'], [], (0,))\n"
    "same(z['flat'], [], (3, 0))\n"
    "meta = json.loads(z['meta'])\n"
    "assert meta == {'format': 'hamrf', 'kind': 'dataset', 'version': 1,\n"
    "                'note': 'na\\u00efve \"quoted\" \\\\ text'}, meta\n";

static void test_numpy_reads_ours(void **state) {
    (void)state;
    if (!have_numpy()) skip();
    char path[512];
    tpath(path, sizeof path, "for_numpy.npz");
    write_fixture(path, "dataset");
    assert_int_equal(run_python(numpy_reads_ours, path), 0);
}

static const char numpy_writes[] =
    "import sys\n"
    "import numpy as np\n"
    "d = sys.argv[1]\n"
    "arrays = dict(s=np.float64(-0.0), v=np.array([5e-324, -0.0, 1e308, 2.0 / 3.0]),\n"
    "              m=np.arange(12.0).reshape(3, 4) / 7.0,\n"
    "              c=(np.arange(24.0) - 5).reshape(2, 3, 4) * 0.25,\n"
    "              e=np.zeros((0, 5)),\n"
    "              f4=np.arange(3, dtype=np.float32),\n"
    "              fo=np.asfortranarray(np.arange(6.0).reshape(2, 3)))\n"
    "np.savez(d + '/np_plain.npz', **arrays)\n"
    "np.savez_compressed(d + '/np_compressed.npz', **arrays)\n";

static void test_we_read_numpy(void **state) {
    (void)state;
    if (!have_numpy()) skip();
    assert_int_equal(run_python(numpy_writes, g_dir), 0);
    double v[4] = {5e-324, -0.0, 1e308, 2.0 / 3.0}, m[12], c[24], s0 = -0.0;
    for (int i = 0; i < 12; ++i)
        m[i] = i / 7.0;
    for (int i = 0; i < 24; ++i)
        c[i] = (i - 5) * 0.25;
    const char *files[] = {"np_plain.npz", "np_compressed.npz"};
    for (int f = 0; f < 2; ++f) {
        char path[512];
        tpath(path, sizeof path, files[f]);
        hrf_npz *z = NULL;
        assert_int_equal(hrf_npz_open(path, &z), HRF_OK);
        double *x = NULL;
        assert_int_equal(hrf_npz_read(z, "s", 0, NULL, &x), HRF_OK);
        assert_bits_equal(x, &s0, 1);
        free(x);
        size_t s1[1] = {4};
        assert_int_equal(hrf_npz_read(z, "v", 1, s1, &x), HRF_OK);
        assert_bits_equal(x, v, 4);
        free(x);
        size_t s2[2] = {3, 4};
        assert_int_equal(hrf_npz_read(z, "m", 2, s2, &x), HRF_OK);
        assert_bits_equal(x, m, 12);
        free(x);
        size_t s3[3] = {0, 0, 0};
        assert_int_equal(hrf_npz_read(z, "c", 3, s3, &x), HRF_OK);
        assert_int_equal(s3[0], 2);
        assert_int_equal(s3[1], 3);
        assert_int_equal(s3[2], 4);
        assert_bits_equal(x, c, 24);
        free(x);
        size_t se[2] = {0, 5};
        assert_int_equal(hrf_npz_read(z, "e", 2, se, &x), HRF_OK);
        assert_int_equal(se[0], 0);
        free(x);
        size_t sf[1] = {0};
        assert_int_equal(hrf_npz_read(z, "f4", 1, sf, &x), HRF_EFORMAT);
        assert_error_has(path);
        assert_error_has("entry 'f4'");
        assert_error_has("found '<f4'");
        size_t so[2] = {0, 0};
        assert_int_equal(hrf_npz_read(z, "fo", 2, so, &x), HRF_EFORMAT);
        assert_error_has("entry 'fo'");
        assert_error_has("fortran_order True");
        cJSON *meta = NULL;
        assert_int_equal(hrf_npz_read_meta(z, "dataset", &meta), HRF_EFORMAT);
        assert_error_has(path);
        assert_error_has("not an hamrf file (no 'meta' entry)");
        hrf_npz_close(z);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_all_ranks),
        cmocka_unit_test(test_written_layout),
        cmocka_unit_test(test_meta_roundtrip_and_kind),
        cmocka_unit_test(test_byte_identical),
        cmocka_unit_test(test_write_missing_folder),
        cmocka_unit_test(test_write_replaces_existing),
        cmocka_unit_test(test_write_failure_keeps_existing),
        cmocka_unit_test(test_write_onto_folder),
        cmocka_unit_test(test_writer_errors),
        cmocka_unit_test(test_empty_archive),
        cmocka_unit_test(test_open_missing_file),
        cmocka_unit_test(test_open_not_zip),
        cmocka_unit_test(test_meta_errors),
        cmocka_unit_test(test_read_rejects_bad_entries),
        cmocka_unit_test(test_read_missing_entry),
        cmocka_unit_test(test_read_accepts_variants),
        cmocka_unit_test(test_read_corrupt_data),
        cmocka_unit_test(test_large_roundtrip),
        cmocka_unit_test(test_check_finite),
        cmocka_unit_test(test_numpy_reads_ours),
        cmocka_unit_test(test_we_read_numpy),
    };
    return cmocka_run_group_tests_name("npz", tests, group_setup, group_teardown);
}
