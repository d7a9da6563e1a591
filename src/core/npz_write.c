/* The .npz writer (API in core/npz.h; the format in npz.c's opening comment).
 *
 * Writing is atomic: the archive is built in a temporary file created next to
 * the destination, flushed to disk (fsync) and renamed over the final name.
 * Entries are stored uncompressed with a fixed modification time
 * (1980-01-01 00:00, the DOS epoch), so equal contents give byte-identical
 * files whatever the clock or the time zone. hamrf writes NPY version 1.0
 * with the data aligned to 64 bytes, as numpy does. */
#define _POSIX_C_SOURCE 200809L

#include "core/npz.h"
#include "core/npz_impl.h"
#include "hamrf/status.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>

/* NPY files align the start of the data to this many bytes (numpy's ARRAY_ALIGN). */
#define HRF_NPY_ALIGN 64
/* The fixed part of an .npy entry: magic (6), version (2). */
#define HRF_NPY_MAGIC_LEN 8

/* One zip entry waiting to be written. */
typedef struct {
    char *name;           /* zip entry name: "x.npy" for an array, "meta" for the JSON */
    unsigned char *bytes; /* (size,) the whole entry: NPY header + data, or JSON text */
    size_t size;
} hrf_npz_entry;

struct hrf_npz_writer {
    hrf_npz_entry *entries; /* (n_entries,) in insertion order; capacity cap */
    size_t n_entries, cap;
};

hrf_npz_writer *hrf_npz_writer_new(void) {
    hrf_npz_writer *w = calloc(1, sizeof *w);
    if (!w) hrf_error(HRF_ENOMEM, "npz writer: out of memory");
    return w;
}

void hrf_npz_writer_free(hrf_npz_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->n_entries; ++i) {
        free(w->entries[i].name);
        free(w->entries[i].bytes);
    }
    free(w->entries);
    free(w);
}

/* The index of entry `name`, or -1. */
static long hrf_writer_find(const hrf_npz_writer *w, const char *name) {
    for (size_t i = 0; i < w->n_entries; ++i)
        if (strcmp(w->entries[i].name, name) == 0) return (long)i;
    return -1;
}

/* Appends an entry, taking ownership of `name` and `bytes` (freed on failure). */
static int hrf_writer_append(hrf_npz_writer *w, char *name, unsigned char *bytes, size_t size) {
    if (w->n_entries == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 8;
        hrf_npz_entry *e = realloc(w->entries, cap * sizeof *e);
        if (!e) {
            free(name);
            free(bytes);
            return hrf_error(HRF_ENOMEM, "npz writer: out of memory adding an entry");
        }
        w->entries = e;
        w->cap = cap;
    }
    w->entries[w->n_entries++] = (hrf_npz_entry){name, bytes, size};
    return HRF_OK;
}

/* Writes the NPY 1.0 header for a C-order '<f8' array of the given shape into
 * hdr (room for at least 512 bytes); returns its length, a multiple of
 * HRF_NPY_ALIGN, so that the data that follow are aligned. */
static size_t hrf_npy_header(unsigned char *hdr, int ndim, const size_t *shape) {
    char dict[400];
    size_t n =
        (size_t)snprintf(dict, sizeof dict, "{'descr': '<f8', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < ndim; ++i)
        n += (size_t)snprintf(dict + n, sizeof dict - n, "%s%zu", i ? ", " : "", shape[i]);
    n += (size_t)snprintf(dict + n, sizeof dict - n, "%s), }", ndim == 1 ? "," : "");
    /* Magic + version + 2-byte length + dict + padding + '\n' is a multiple of the alignment. */
    size_t unpadded = HRF_NPY_MAGIC_LEN + 2 + n + 1;
    size_t pad = (HRF_NPY_ALIGN - unpadded % HRF_NPY_ALIGN) % HRF_NPY_ALIGN;
    size_t hlen = n + pad + 1;
    memcpy(hdr, npz_magic, 6);
    hdr[6] = 1;
    hdr[7] = 0;
    hdr[8] = (unsigned char)(hlen & 0xff);
    hdr[9] = (unsigned char)(hlen >> 8);
    memcpy(hdr + 10, dict, n);
    memset(hdr + 10 + n, ' ', pad);
    hdr[10 + n + pad] = '\n';
    return 10 + hlen;
}

int hrf_npz_writer_add(hrf_npz_writer *w, const char *name, int ndim, const size_t *shape,
                       const double *data) {
    if (!w || !name || !name[0])
        return hrf_error(HRF_EINVAL, "npz writer: an array needs a writer and a non-empty name");
    if (ndim < 0 || ndim > HRF_NPY_MAX_DIM)
        return hrf_error(HRF_EINVAL, "npz writer: array '%s': ndim %d is out of range (0..%d)",
                         name, ndim, HRF_NPY_MAX_DIM);
    if (ndim > 0 && !shape)
        return hrf_error(HRF_EINVAL, "npz writer: array '%s': shape is NULL for ndim %d", name,
                         ndim);
    uint64_t ext[HRF_NPY_MAX_DIM];
    for (int i = 0; i < ndim; ++i)
        ext[i] = shape[i];
    size_t count;
    unsigned char hdr[512];
    size_t hsize = hrf_npy_header(hdr, ndim, shape);
    if (npz_shape_count(ndim, ext, &count) != 0 || count * sizeof(double) > SIZE_MAX - hsize) {
        char s[HRF_SHAPE_TEXT];
        npz_format_shape(s, sizeof s, ndim, ext, 0);
        return hrf_error(HRF_ETOOBIG, "npz writer: array '%s': shape %s is too large", name, s);
    }
    if (count > 0 && !data)
        return hrf_error(HRF_EINVAL, "npz writer: array '%s': data is NULL for %zu values", name,
                         count);
    char *entry = npz_concat(name, ".npy");
    if (!entry) return hrf_error(HRF_ENOMEM, "npz writer: array '%s': out of memory", name);
    if (hrf_writer_find(w, entry) >= 0) {
        free(entry);
        return hrf_error(HRF_EINVAL, "npz writer: array '%s' was added twice", name);
    }
    size_t size = hsize + count * sizeof(double);
    unsigned char *bytes = malloc(size);
    if (!bytes) {
        free(entry);
        return hrf_error(HRF_ENOMEM, "npz writer: array '%s': cannot allocate %zu bytes", name,
                         size);
    }
    memcpy(bytes, hdr, hsize);
    if (count > 0) npz_copy_le64(bytes + hsize, data, count);
    int rc = hrf_writer_append(w, entry, bytes, size);
    if (rc != HRF_OK) return hrf_error(HRF_ENOMEM, "npz writer: array '%s': out of memory", name);
    return HRF_OK;
}

int hrf_npz_writer_set_meta(hrf_npz_writer *w, const cJSON *meta) {
    if (!w || !meta)
        return hrf_error(HRF_EINVAL, "npz writer: meta needs a writer and a JSON value");
    char *json = cJSON_PrintUnformatted(meta);
    if (!json) return hrf_error(HRF_ENOMEM, "npz writer: cannot serialise 'meta' to JSON");
    size_t len = strlen(json);
    unsigned char *bytes = malloc(len ? len : 1);
    if (!bytes) {
        cJSON_free(json);
        return hrf_error(HRF_ENOMEM, "npz writer: out of memory for 'meta'");
    }
    memcpy(bytes, json, len);
    cJSON_free(json);
    /* A second call replaces the JSON and keeps the entry's place. */
    long at = hrf_writer_find(w, "meta");
    if (at >= 0) {
        free(w->entries[at].bytes);
        w->entries[at].bytes = bytes;
        w->entries[at].size = len;
        return HRF_OK;
    }
    char *name = npz_concat("meta", "");
    if (!name) {
        free(bytes);
        return hrf_error(HRF_ENOMEM, "npz writer: out of memory for 'meta'");
    }
    if (hrf_writer_append(w, name, bytes, len) != HRF_OK)
        return hrf_error(HRF_ENOMEM, "npz writer: out of memory for 'meta'");
    return HRF_OK;
}

/* The folder part of `path` ("." when there is none), malloc'd. */
static char *hrf_dirname(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return npz_concat(".", "");
    if (slash == path) return npz_concat("/", "");
    size_t n = (size_t)(slash - path);
    char *d = malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, path, n);
    d[n] = '\0';
    return d;
}

/* Creates "<path>.tmp.XXXXXX" exclusively, like mkstemp, but with mode 0666
 * reduced by the umask as for any new file (mkstemp would give 0600, which
 * libzip would then keep for the final file). Returns the name (malloc'd) or
 * NULL with errno set. */
static char *hrf_create_temp(const char *path) {
    static const char digits[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    static _Thread_local uint64_t counter;
    size_t len = strlen(path);
    char *tmp = malloc(len + sizeof ".tmp.XXXXXX");
    if (!tmp) {
        errno = ENOMEM;
        return NULL;
    }
    for (int attempt = 0; attempt < 100; ++attempt) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x =
            (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 20) ^ (++counter * 0x9E3779B97F4A7C15ull);
        x ^= x >> 29;
        x *= 0xBF58476D1CE4E5B9ull;
        x ^= x >> 32;
        memcpy(tmp, path, len);
        memcpy(tmp + len, ".tmp.", 5);
        for (size_t k = 0; k < 6; ++k, x /= 36)
            tmp[len + 5 + k] = digits[x % 36];
        tmp[len + 11] = '\0';
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0) {
            close(fd);
            return tmp;
        }
        if (errno != EEXIST) break;
    }
    int saved = errno;
    free(tmp);
    errno = saved;
    return NULL;
}

/* The time stamp of every entry: 1980-01-01 00:00:00 local time, so that the
 * DOS date and time libzip derives from it (in local time) never depend on
 * the time zone. */
static time_t hrf_dos_epoch(void) {
    struct tm tm = {0};
    tm.tm_year = 80;
    tm.tm_mon = 0;
    tm.tm_mday = 1;
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    return t == (time_t)-1 ? (time_t)315532800 : t;
}

/* Builds the archive in the existing (empty) file `tmp` with libzip. */
static int hrf_write_zip(const hrf_npz_writer *w, const char *path, const char *tmp) {
    int zerr = 0;
    zip_t *za = zip_open(tmp, ZIP_TRUNCATE, &zerr);
    if (!za) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        int rc = hrf_error(HRF_EIO, "%s: cannot write temporary file '%s' (%s)", path, tmp,
                           zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return rc;
    }
    time_t mtime = hrf_dos_epoch();
    const char *failed = NULL;
    for (size_t i = 0; i < w->n_entries && !failed; ++i) {
        const hrf_npz_entry *e = &w->entries[i];
        zip_source_t *src = zip_source_buffer(za, e->bytes, e->size, 0);
        zip_int64_t idx = src ? zip_file_add(za, e->name, src, ZIP_FL_ENC_UTF_8) : -1;
        if (idx < 0) {
            zip_source_free(src);
            failed = e->name;
        } else if (zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0) < 0 ||
                   zip_file_set_mtime(za, (zip_uint64_t)idx, mtime, 0) < 0 ||
                   zip_file_set_external_attributes(za, (zip_uint64_t)idx, 0, ZIP_OPSYS_UNIX,
                                                    (zip_uint32_t)0100644 << 16) < 0)
            failed = e->name;
    }
    if (failed) {
        int rc =
            hrf_error(HRF_EIO, "%s: cannot add entry '%s' (%s)", path, failed, zip_strerror(za));
        zip_discard(za);
        return rc;
    }
    if (zip_close(za) < 0) {
        int rc = hrf_error(HRF_EIO, "%s: cannot write the archive (%s)", path, zip_strerror(za));
        zip_discard(za);
        return rc;
    }
    return HRF_OK;
}

/* Writes an empty zip archive (only the end-of-central-directory record) to
 * `tmp`: libzip deletes an archive without entries instead of writing it. */
static int hrf_write_empty_zip(const char *path, const char *tmp) {
    static const unsigned char eocd[22] = {'P', 'K', 5, 6};
    int fd = open(tmp, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0 || write(fd, eocd, sizeof eocd) != (ssize_t)sizeof eocd) {
        int saved = errno;
        if (fd >= 0) close(fd);
        return hrf_error(HRF_EIO, "%s: cannot write temporary file '%s' (%s)", path, tmp,
                         strerror(saved));
    }
    if (close(fd) != 0)
        return hrf_error(HRF_EIO, "%s: cannot write temporary file '%s' (%s)", path, tmp,
                         strerror(errno));
    return HRF_OK;
}

/* Flushes file or folder `name` to disk; 0 or -1 with errno set. */
static int hrf_fsync_path(const char *name, int flags) {
    int fd = open(name, O_RDONLY | O_CLOEXEC | flags);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int hrf_npz_writer_write(hrf_npz_writer *w, const char *path) {
    if (!w || !path || !path[0])
        return hrf_error(HRF_EINVAL, "npz writer: write needs a writer and a non-empty path");
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return hrf_error(HRF_EIO, "%s: is a folder, cannot write a file there", path);
    char *dir = hrf_dirname(path);
    if (!dir) return hrf_error(HRF_ENOMEM, "%s: out of memory", path);
    char *tmp = hrf_create_temp(path);
    if (!tmp) {
        int rc = hrf_error(HRF_EIO, "%s: cannot create file in folder '%s' (%s)", path, dir,
                           strerror(errno));
        free(dir);
        return rc;
    }
    int rc = w->n_entries ? hrf_write_zip(w, path, tmp) : hrf_write_empty_zip(path, tmp);
    if (rc == HRF_OK && hrf_fsync_path(tmp, 0) != 0)
        rc = hrf_error(HRF_EIO, "%s: cannot flush temporary file '%s' to disk (%s)", path, tmp,
                       strerror(errno));
    if (rc == HRF_OK && rename(tmp, path) != 0)
        rc = hrf_error(HRF_EIO, "%s: cannot rename temporary file '%s' to it (%s)", path, tmp,
                       strerror(errno));
    if (rc == HRF_OK) {
        /* Makes the rename itself durable; a failure here loses nothing. */
        (void)hrf_fsync_path(dir, O_DIRECTORY);
    } else {
        unlink(tmp);
    }
    free(tmp);
    free(dir);
    return rc;
}
