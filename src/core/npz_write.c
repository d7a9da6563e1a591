/* The .npz writer (API in core/npz.h; the format in npz.c's opening comment).
 *
 * Writing is atomic (core/atomic_file.h): libzip builds the archive straight
 * into a file that gets the final name only once it is complete and flushed.
 * Entries are stored uncompressed with a fixed modification time
 * (1980-01-01 00:00, the DOS epoch), so equal contents give byte-identical
 * files whatever the clock or the time zone. hamrf writes NPY version 1.0
 * with the data aligned to 64 bytes, as numpy does. */
#define _POSIX_C_SOURCE 200809L

#include "core/atomic_file.h"
#include "core/npz.h"
#include "core/npz_impl.h"
#include "hamrf/status.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    const char *finite_kind; /* non-NULL: every array must be finite ("model", ...) */
    char *not_finite;        /* the first array that was not: why, for write's message */
};

hrf_npz_writer *hrf_npz_writer_new(void) {
    hrf_npz_writer *w = calloc(1, sizeof *w);
    if (!w) hrf_error(HRF_ENOMEM, "npz writer: out of memory");
    return w;
}

void hrf_npz_writer_require_finite(hrf_npz_writer *w, const char *kind) {
    if (w) w->finite_kind = kind;
}

void hrf_npz_writer_free(hrf_npz_writer *w) {
    if (!w) return;
    free(w->not_finite);
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
    if (w->finite_kind && !w->not_finite)
        for (size_t i = 0; i < count; ++i)
            if (!isfinite(data[i])) {
                char why[256];
                snprintf(why, sizeof why, "array '%s' holds %s at index %zu", name,
                         isnan(data[i]) ? "NaN"
                         : data[i] > 0  ? "inf"
                                        : "-inf",
                         i);
                w->not_finite = npz_concat(why, "");
                if (!w->not_finite) {
                    free(entry);
                    free(bytes);
                    return hrf_error(HRF_ENOMEM, "npz writer: out of memory");
                }
                break;
            }
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

/* libzip writes the archive through this source straight into the atomic
 * file's descriptor (instead of zip_open(path), which would make a second
 * temporary file of its own). It supports what libzip needs to create an
 * archive (zip_source_function(3): the "writable" commands); STAT reports
 * that no archive exists yet, so ZIP_CREATE starts an empty one without
 * reading anything. */
typedef struct {
    int fd;
    zip_error_t error;
    int sys_errno; /* errno of the first failed write or seek, 0 if none */
} hrf_zip_sink;

static zip_int64_t sink_fail(hrf_zip_sink *s, int ze) {
    if (!s->sys_errno) s->sys_errno = errno ? errno : EIO;
    zip_error_set(&s->error, ze, errno);
    return -1;
}

static zip_int64_t hrf_zip_sink_cb(void *user, void *data, zip_uint64_t len, zip_source_cmd_t cmd) {
    hrf_zip_sink *s = user;
    switch (cmd) {
    case ZIP_SOURCE_SUPPORTS:
        return zip_source_make_command_bitmap(
            ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE, ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR,
            ZIP_SOURCE_FREE, ZIP_SOURCE_SEEK, ZIP_SOURCE_TELL, ZIP_SOURCE_SUPPORTS,
            ZIP_SOURCE_BEGIN_WRITE, ZIP_SOURCE_COMMIT_WRITE, ZIP_SOURCE_ROLLBACK_WRITE,
            ZIP_SOURCE_WRITE, ZIP_SOURCE_SEEK_WRITE, ZIP_SOURCE_TELL_WRITE, ZIP_SOURCE_REMOVE, -1);
    case ZIP_SOURCE_STAT:
        zip_error_set(&s->error, ZIP_ER_READ, ENOENT); /* "no archive yet" */
        return -1;
    case ZIP_SOURCE_ERROR:
        return zip_error_to_data(&s->error, data, len);
    case ZIP_SOURCE_BEGIN_WRITE:
        if (ftruncate(s->fd, 0) != 0 || lseek(s->fd, 0, SEEK_SET) != 0)
            return sink_fail(s, ZIP_ER_WRITE);
        return 0;
    case ZIP_SOURCE_WRITE: {
        const unsigned char *p = data;
        zip_uint64_t left = len;
        while (left > 0) {
            ssize_t r = write(s->fd, p, left);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {
                if (r == 0) errno = EIO;
                return sink_fail(s, ZIP_ER_WRITE);
            }
            p += r;
            left -= (zip_uint64_t)r;
        }
        return (zip_int64_t)len;
    }
    case ZIP_SOURCE_SEEK_WRITE: {
        zip_source_args_seek_t *a =
            ZIP_SOURCE_GET_ARGS(zip_source_args_seek_t, data, len, &s->error);
        if (!a) return -1;
        if (lseek(s->fd, (off_t)a->offset, a->whence) < 0) return sink_fail(s, ZIP_ER_SEEK);
        return 0;
    }
    case ZIP_SOURCE_TELL_WRITE: {
        off_t at = lseek(s->fd, 0, SEEK_CUR);
        return at < 0 ? sink_fail(s, ZIP_ER_TELL) : (zip_int64_t)at;
    }
    case ZIP_SOURCE_COMMIT_WRITE:   /* the atomic file commits */
    case ZIP_SOURCE_ROLLBACK_WRITE: /* the atomic file is discarded by the caller */
    case ZIP_SOURCE_REMOVE:
    case ZIP_SOURCE_FREE:
    case ZIP_SOURCE_CLOSE:
        return 0;
    default:
        zip_error_set(&s->error, ZIP_ER_OPNOTSUPP, 0);
        return -1;
    }
}

/* Builds the archive in the atomic file `f` with libzip. */
static int hrf_write_zip(const hrf_npz_writer *w, const char *path, hrf_atomic_file *f) {
    hrf_zip_sink sink = {hrf_atomic_fd(f), {0}, 0};
    zip_error_init(&sink.error);
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_function_create(hrf_zip_sink_cb, &sink, &ze);
    zip_t *za = src ? zip_open_from_source(src, ZIP_CREATE | ZIP_TRUNCATE, &ze) : NULL;
    if (!za) {
        int rc = zip_error_code_zip(&ze) == ZIP_ER_MEMORY
                     ? hrf_error(HRF_ENOMEM, "%s: out of memory starting the archive", path)
                     : hrf_error(HRF_EIO, "%s: cannot start the archive (%s)", path,
                                 zip_error_strerror(&ze));
        zip_source_free(src);
        zip_error_fini(&ze);
        zip_error_fini(&sink.error);
        return rc;
    }
    zip_error_fini(&ze);
    time_t mtime = hrf_dos_epoch();
    const char *failed = NULL;
    for (size_t i = 0; i < w->n_entries && !failed; ++i) {
        const hrf_npz_entry *e = &w->entries[i];
        zip_source_t *es = zip_source_buffer(za, e->bytes, e->size, 0);
        zip_int64_t idx = es ? zip_file_add(za, e->name, es, ZIP_FL_ENC_UTF_8) : -1;
        if (idx < 0) {
            zip_source_free(es);
            failed = e->name;
        } else if (zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0) < 0 ||
                   zip_file_set_mtime(za, (zip_uint64_t)idx, mtime, 0) < 0 ||
                   zip_file_set_external_attributes(za, (zip_uint64_t)idx, 0, ZIP_OPSYS_UNIX,
                                                    (zip_uint32_t)0100644 << 16) < 0)
            failed = e->name;
    }
    int rc = HRF_OK;
    if (failed)
        rc = hrf_error(HRF_EIO, "%s: cannot add entry '%s' (%s)", path, failed, zip_strerror(za));
    else if (zip_close(za) < 0)
        rc = sink.sys_errno
                 ? hrf_error(HRF_EIO, "%s: cannot write (%s)", path, strerror(sink.sys_errno))
             : zip_error_code_zip(zip_get_error(za)) == ZIP_ER_MEMORY
                 ? hrf_error(HRF_ENOMEM, "%s: out of memory writing the archive", path)
                 : hrf_error(HRF_EIO, "%s: cannot write the archive (%s)", path, zip_strerror(za));
    else
        za = NULL; /* closed and freed */
    if (za) zip_discard(za);
    zip_error_fini(&sink.error);
    return rc;
}

int hrf_npz_writer_write(hrf_npz_writer *w, const char *path) {
    /* libzip deletes an archive without entries instead of writing it: an
     * empty archive is its end-of-central-directory record alone. */
    static const unsigned char eocd[22] = {'P', 'K', 5, 6};
    if (!w || !path || !path[0])
        return hrf_error(HRF_EINVAL, "npz writer: write needs a writer and a non-empty path");
    if (w->not_finite)
        return hrf_error(HRF_EDATA,
                         "%s: not written: %s (an hamrf %s file holds finite values only)", path,
                         w->not_finite, w->finite_kind);
    hrf_atomic_file *f;
    int rc = hrf_atomic_open(path, &f);
    if (rc) return rc;
    rc = w->n_entries ? hrf_write_zip(w, path, f) : hrf_atomic_write(f, eocd, sizeof eocd);
    if (rc) {
        hrf_atomic_abort(f);
        return rc;
    }
    return hrf_atomic_commit(f);
}
