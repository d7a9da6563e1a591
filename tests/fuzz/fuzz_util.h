/* What the libFuzzer targets of tests/fuzz share (docs/reliability.md,
 * "Fuzzing"): an in-memory file that the library's path-based readers open
 * (a memfd named /proc/self/fd/N, so no disk and no temporary names), an
 * .npz built in memory by libzip from fuzzed entries, and the split format
 * of the structured targets.
 *
 * The split format: the input is cut at every FUZZ_SEP ("\n--\n"); part 0
 * is the "meta" entry's bytes, each later part is an entry name, a newline
 * and the entry's bytes (the whole .npy, header included). The entries are
 * stored uncompressed with correct CRCs, so a mutation of a header or of the
 * meta text reaches the parsers instead of failing the zip checksum.
 * tests/fuzz/make_corpus.py writes tool-made files in this format. */
#ifndef HAMRF_FUZZ_UTIL_H
#define HAMRF_FUZZ_UTIL_H

#define _GNU_SOURCE

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zip.h>

#define FUZZ_SEP "\n--\n"
#define FUZZ_SEP_LEN 4
/* Most entries the split format gives an archive (the largest file kind has 13). */
#define FUZZ_MAX_ENTRIES 32

/* The path of the one in-memory file of this process (created on first use). */
static inline const char *fuzz_path(void) {
    static char path[64];
    if (!path[0]) {
        int fd = memfd_create("hamrf_fuzz", 0);
        if (fd < 0) {
            perror("memfd_create");
            abort();
        }
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    return path;
}

/* Replaces the in-memory file's contents with data[0..size). */
static inline void fuzz_write(const void *data, size_t size) {
    const char *path = fuzz_path();
    int fd = atoi(path + strlen("/proc/self/fd/"));
    if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) {
        perror("fuzz_write");
        abort();
    }
}

/* One archive entry: a name (not NUL-terminated) and its bytes. */
typedef struct {
    const char *name;
    size_t name_len;
    const uint8_t *data;
    size_t size;
} fuzz_entry;

/* Finds the next separator in [p, end); end if none. */
static inline const uint8_t *fuzz_next_sep(const uint8_t *p, const uint8_t *end) {
    for (; p + FUZZ_SEP_LEN <= end; ++p)
        if (memcmp(p, FUZZ_SEP, FUZZ_SEP_LEN) == 0) return p;
    return end;
}

/* Splits data as the split format says: e[0] is "meta"; returns the count. */
static inline int fuzz_split(const uint8_t *data, size_t size, fuzz_entry *e) {
    const uint8_t *p = data, *end = data + size;
    int n = 0;
    while (n < FUZZ_MAX_ENTRIES) {
        const uint8_t *stop = fuzz_next_sep(p, end);
        if (n == 0) {
            e[0] = (fuzz_entry){"meta", 4, p, (size_t)(stop - p)};
            n = 1;
        } else {
            const uint8_t *nl = memchr(p, '\n', (size_t)(stop - p));
            if (nl && nl > p)
                e[n++] = (fuzz_entry){(const char *)p, (size_t)(nl - p), nl + 1,
                                      (size_t)(stop - nl - 1)};
        }
        if (stop == end) break;
        p = stop + FUZZ_SEP_LEN;
    }
    return n;
}

/* Writes an uncompressed zip of the entries (libzip, in memory) to the
 * in-memory file. Entries libzip refuses (a repeated or empty name) are
 * left out, as a zip writer would refuse them. */
static inline void fuzz_write_zip(const fuzz_entry *e, int n) {
    zip_error_t err;
    zip_error_init(&err);
    zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &err);
    zip_t *za = src ? zip_open_from_source(src, ZIP_TRUNCATE, &err) : NULL;
    if (!za) abort();
    zip_source_keep(src);
    for (int i = 0; i < n; ++i) {
        char name[256];
        if (e[i].name_len >= sizeof name || memchr(e[i].name, '\0', e[i].name_len)) continue;
        memcpy(name, e[i].name, e[i].name_len);
        name[e[i].name_len] = '\0';
        zip_source_t *s = zip_source_buffer(za, e[i].data, e[i].size, 0);
        if (!s) abort();
        zip_int64_t idx = zip_file_add(za, name, s, 0);
        if (idx < 0) {
            zip_source_free(s);
            continue;
        }
        zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0);
    }
    if (zip_close(za) != 0) abort();
    zip_stat_t st;
    if (zip_source_open(src) != 0 || zip_source_stat(src, &st) != 0) abort();
    uint8_t *buf = malloc(st.size ? st.size : 1);
    if (!buf || zip_source_read(src, buf, st.size) != (zip_int64_t)st.size) abort();
    zip_source_close(src);
    zip_source_free(src);
    fuzz_write(buf, st.size);
    free(buf);
    zip_error_fini(&err);
}

#endif
