/* Tests of the .npy/.npz writer and of round trips through the reader
 * (src/core/npz.c, docs/formats.md "The container"): every rank, the written
 * layout, meta, byte-identical output, atomic writes, writer errors, large
 * arrays. The reader on malformed, truncated and foreign files is tested in
 * test_npz_read.c; the shared helpers are in test_util_npz.h.
 *
 * The references are independent of the code under test: the layout is
 * checked with libzip directly; NumPy (Debian's /usr/bin/python3) reads what
 * hamrf writes and writes what hamrf reads. Files live in a fresh mkdtemp
 * folder under /tmp that is removed at the end.
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

#include "test_util_npz.h"

#define PYTHON "/usr/bin/python3"
/* Default size of the large-array round trip: big enough to need many reads
 * inside libzip, small enough for a valgrind run. */
#define BIG_DEFAULT_MB 48

/* ---- helpers ---- */

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
        cmocka_unit_test(test_large_roundtrip),
        cmocka_unit_test(test_numpy_reads_ours),
        cmocka_unit_test(test_we_read_numpy),
    };
    return cmocka_run_group_tests_name("npz", tests, group_setup, group_teardown);
}
