/* NumPy .npy/.npz reading and writing (docs/formats.md, "The container"; API in hamrf/npz.h).
 *
 * An .npz is a zip archive of .npy entries. An .npy entry is a 6-byte magic
 * "\x93NUMPY", a 2-byte version, a little-endian header length (2 bytes in
 * version 1.0, 4 bytes in 2.0 and 3.0), a Python dict literal such as
 * {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), } padded with
 * spaces and a newline, then the raw array data. hamrf writes version 1.0
 * with the data aligned to 64 bytes, as numpy does, and reads 1.0, 2.0 and
 * 3.0. The zip container is handled by libzip, the "meta" entry by cJSON.
 *
 * Writing is atomic: the archive is built in a temporary file created next to
 * the destination, flushed to disk (fsync) and renamed over the final name.
 * Entries are stored uncompressed with a fixed modification time
 * (1980-01-01 00:00, the DOS epoch), so equal contents give byte-identical
 * files whatever the clock or the time zone.
 *
 * Reading validates everything before trusting it: magic, version, header
 * syntax, dtype, order, number of dimensions, extents, and that the entry
 * holds exactly the bytes the shape needs (checked before allocating, with
 * overflow-safe arithmetic). Every error message names the file and entry. */
#define _POSIX_C_SOURCE 200809L

#include "core/npz.h"
#include "hamrf/status.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define HRF_HOST_BIG_ENDIAN 1
#else
#define HRF_HOST_BIG_ENDIAN 0
#endif

/* NPY files align the start of the data to this many bytes (numpy's ARRAY_ALIGN). */
#define HRF_NPY_ALIGN 64
/* The fixed part of an .npy entry: magic (6), version (2). */
#define HRF_NPY_MAGIC_LEN 8
/* Largest header accepted when reading; numpy's own default limit is 10000. */
#define HRF_NPY_MAX_HEADER (1u << 20)
/* Most dimensions the header parser records (the API allows HRF_NPY_MAX_DIM);
 * more are reported as a format error with the count found. */
#define HRF_NPY_PARSE_DIM 32
/* Largest "meta" entry accepted: metadata are small JSON objects. */
#define HRF_META_MAX_BYTES ((zip_uint64_t)64 << 20)
/* Room for a formatted shape such as "(18446744073709551615, any, ...)". */
#define HRF_SHAPE_TEXT 1024

static const unsigned char hrf_npy_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* ---------------------------------------------------------------------------
 * Small helpers shared by the writer and the reader.
 * ------------------------------------------------------------------------- */

/* Copies n float64 values between host order and little-endian bytes (the
 * same operation in both directions). */
static void hrf_copy_le64(void *dst, const void *src, size_t n) {
    memcpy(dst, src, n * sizeof(double));
#if HRF_HOST_BIG_ENDIAN
    unsigned char *b = dst;
    for (size_t i = 0; i < n; ++i, b += 8)
        for (int k = 0; k < 4; ++k) {
            unsigned char t = b[k];
            b[k] = b[7 - k];
            b[7 - k] = t;
        }
#endif
}

/* Product of the extents in *count; 0 on success, -1 if count * 8 bytes
 * would not fit in a size_t. */
static int hrf_shape_count(int ndim, const uint64_t *shape, size_t *count) {
    uint64_t c = 1, limit = (uint64_t)(SIZE_MAX / sizeof(double));
    for (int i = 0; i < ndim; ++i)
        if (shape[i] == 0) {
            *count = 0;
            return 0;
        }
    for (int i = 0; i < ndim; ++i) {
        if (c > limit / shape[i]) return -1;
        c *= shape[i];
    }
    *count = (size_t)c;
    return 0;
}

/* Formats a shape as Python prints a tuple: "()", "(5,)", "(3, 4)". With
 * `any_for_zero`, a zero extent prints as "any" (a requirement, not a shape). */
static void hrf_format_shape(char *buf, size_t len, int ndim, const uint64_t *shape,
                             int any_for_zero) {
    size_t pos = 0;
    pos += (size_t)snprintf(buf + pos, len - pos, "(");
    for (int i = 0; i < ndim && pos < len; ++i) {
        const char *sep = i ? ", " : "";
        if (any_for_zero && shape[i] == 0)
            pos += (size_t)snprintf(buf + pos, len - pos, "%sany", sep);
        else
            pos +=
                (size_t)snprintf(buf + pos, len - pos, "%s%llu", sep, (unsigned long long)shape[i]);
    }
    if (pos < len) snprintf(buf + pos, len - pos, ndim == 1 ? ",)" : ")");
}

/* A copy of `a` followed by `b` (malloc'd), or NULL when out of memory. */
static char *hrf_concat(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    if (!s) return NULL;
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
    return s;
}

/* ---------------------------------------------------------------------------
 * Writer.
 * ------------------------------------------------------------------------- */

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
    memcpy(hdr, hrf_npy_magic, 6);
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
    if (hrf_shape_count(ndim, ext, &count) != 0 || count * sizeof(double) > SIZE_MAX - hsize) {
        char s[HRF_SHAPE_TEXT];
        hrf_format_shape(s, sizeof s, ndim, ext, 0);
        return hrf_error(HRF_ETOOBIG, "npz writer: array '%s': shape %s is too large", name, s);
    }
    if (count > 0 && !data)
        return hrf_error(HRF_EINVAL, "npz writer: array '%s': data is NULL for %zu values", name,
                         count);
    char *entry = hrf_concat(name, ".npy");
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
    if (count > 0) hrf_copy_le64(bytes + hsize, data, count);
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
    char *name = hrf_concat("meta", "");
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
    if (!slash) return hrf_concat(".", "");
    if (slash == path) return hrf_concat("/", "");
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

/* ---------------------------------------------------------------------------
 * Reader.
 * ------------------------------------------------------------------------- */

struct hrf_npz {
    zip_t *za;  /* the archive, opened read-only */
    char *path; /* as given to hrf_npz_open, for messages */
};

/* Records "<path>: entry '<entry>': <message>" and returns `status`. */
static int hrf_entry_error(int status, const hrf_npz *z, const char *entry, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int hrf_entry_error(int status, const hrf_npz *z, const char *entry, const char *fmt, ...) {
    char msg[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return hrf_error(status, "%s: entry '%s': %s", z->path, entry, msg);
}

int hrf_npz_open(const char *path, hrf_npz **out) {
    if (!out) return hrf_error(HRF_EINVAL, "npz open: out is NULL");
    *out = NULL;
    if (!path || !path[0]) return hrf_error(HRF_EINVAL, "npz open: the path is empty");
    /* Opening the file ourselves first gives the system's reason (errno),
     * which libzip's error code does not carry. */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return hrf_error(HRF_EIO, "%s: cannot open (%s)", path, strerror(errno));
    struct stat st;
    int st_rc = fstat(fd, &st), saved = errno;
    close(fd);
    if (st_rc != 0) return hrf_error(HRF_EIO, "%s: cannot open (%s)", path, strerror(saved));
    if (S_ISDIR(st.st_mode)) return hrf_error(HRF_EIO, "%s: is a folder, not an .npz file", path);
    if (st.st_size == 0)
        return hrf_error(HRF_EFORMAT, "%s: not an .npz (zip) archive (the file is empty)", path);

    int zerr = 0;
    zip_t *za = zip_open(path, ZIP_RDONLY, &zerr);
    if (!za) {
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        int rc;
        if (zerr == ZIP_ER_NOZIP)
            rc = hrf_error(HRF_EFORMAT, "%s: not an .npz (zip) archive", path);
        else if (zerr == ZIP_ER_INCONS || zerr == ZIP_ER_MULTIDISK)
            rc = hrf_error(HRF_EFORMAT, "%s: not an .npz (zip) archive (damaged: %s)", path,
                           zip_error_strerror(&ze));
        else if (zerr == ZIP_ER_MEMORY)
            rc = hrf_error(HRF_ENOMEM, "%s: out of memory opening the archive", path);
        else
            rc = hrf_error(HRF_EIO, "%s: cannot open (%s)", path, zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return rc;
    }
    hrf_npz *z = calloc(1, sizeof *z);
    char *p = hrf_concat(path, "");
    if (!z || !p) {
        free(z);
        free(p);
        zip_discard(za);
        return hrf_error(HRF_ENOMEM, "%s: out of memory", path);
    }
    z->za = za;
    z->path = p;
    *out = z;
    return HRF_OK;
}

void hrf_npz_close(hrf_npz *z) {
    if (!z) return;
    zip_discard(z->za);
    free(z->path);
    free(z);
}

const char *hrf_npz_path(const hrf_npz *z) {
    return z ? z->path : "";
}

int hrf_npz_has(const hrf_npz *z, const char *name) {
    if (!z || !name) return 0;
    char *entry = hrf_concat(name, ".npy");
    if (!entry) return 0;
    int found = zip_name_locate(z->za, entry, 0) >= 0;
    free(entry);
    return found;
}

/* Reads exactly n bytes unless the entry ends first; returns the count read,
 * or -1 on a read error (for instance a CRC mismatch). */
static zip_int64_t hrf_zread(zip_file_t *f, void *buf, zip_uint64_t n) {
    zip_uint64_t got = 0;
    while (got < n) {
        zip_int64_t r = zip_fread(f, (unsigned char *)buf + got, n - got);
        if (r < 0) return -1;
        if (r == 0) break;
        got += (zip_uint64_t)r;
    }
    return (zip_int64_t)got;
}

/* What an NPY header dict says. */
typedef struct {
    char descr[64];                    /* the dtype string (truncated if longer) */
    int descr_structured;              /* 1 if descr is a list (a structured dtype) */
    int fortran_order;                 /* 0 or 1 */
    int ndim;                          /* number of extents found (may exceed HRF_NPY_PARSE_DIM) */
    uint64_t shape[HRF_NPY_PARSE_DIM]; /* (min(ndim, HRF_NPY_PARSE_DIM),) */
} hrf_npy_header_info;

static const char *hrf_skip_ws(const char *p, const char *end) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        ++p;
    return p;
}

/* Parses a Python string literal ('...' or "...") at *pp into out
 * (truncated to outlen - 1 characters). 0 on success, -1 on a syntax error. */
static int hrf_parse_pystr(const char **pp, const char *end, char *out, size_t outlen) {
    const char *p = *pp;
    if (p >= end || (*p != '\'' && *p != '"')) return -1;
    char quote = *p++;
    size_t n = 0;
    while (p < end && *p != quote) {
        if (*p == '\\' && p + 1 < end) ++p;
        if (n + 1 < outlen) out[n++] = *p;
        ++p;
    }
    if (p >= end) return -1;
    out[n] = '\0';
    *pp = p + 1;
    return 0;
}

/* Skips a bracketed Python value ("[...]" or "(...)" with nesting and
 * strings) at *pp. 0 on success, -1 when unbalanced. */
static int hrf_skip_bracketed(const char **pp, const char *end) {
    const char *p = *pp;
    int depth = 0;
    char scratch[2];
    while (p < end) {
        if (*p == '\'' || *p == '"') {
            if (hrf_parse_pystr(&p, end, scratch, sizeof scratch) != 0) return -1;
            continue;
        }
        if (*p == '[' || *p == '(' || *p == '{') ++depth;
        if (*p == ']' || *p == ')' || *p == '}') --depth;
        ++p;
        if (depth == 0) {
            *pp = p;
            return 0;
        }
    }
    return -1;
}

/* Parses the header dict of an .npy entry: the three keys 'descr',
 * 'fortran_order' and 'shape' in any order, with any spacing and an optional
 * trailing comma. Returns HRF_OK, or HRF_EFORMAT / HRF_ETOOBIG with the reason
 * in why. */
static int hrf_parse_npy_header(const char *s, size_t len, hrf_npy_header_info *h, char *why,
                                size_t whylen) {
    const char *p = s, *end = s + len;
    int seen_descr = 0, seen_order = 0, seen_shape = 0;
    memset(h, 0, sizeof *h);
    p = hrf_skip_ws(p, end);
    if (p >= end || *p != '{') {
        snprintf(why, whylen, "the header is not a Python dict (it does not start with '{')");
        return HRF_EFORMAT;
    }
    ++p;
    for (;;) {
        p = hrf_skip_ws(p, end);
        if (p < end && *p == '}') {
            ++p;
            break;
        }
        char key[32];
        if (hrf_parse_pystr(&p, end, key, sizeof key) != 0) {
            snprintf(why, whylen, "malformed header dict (expected a quoted key at byte %d)",
                     (int)(p - s));
            return HRF_EFORMAT;
        }
        p = hrf_skip_ws(p, end);
        if (p >= end || *p != ':') {
            snprintf(why, whylen, "malformed header dict (expected ':' after key '%s')", key);
            return HRF_EFORMAT;
        }
        p = hrf_skip_ws(p + 1, end);
        if (strcmp(key, "descr") == 0 && !seen_descr) {
            seen_descr = 1;
            if (p < end && *p == '[') {
                h->descr_structured = 1;
                if (hrf_skip_bracketed(&p, end) != 0) {
                    snprintf(why, whylen, "malformed header dict (unbalanced 'descr' list)");
                    return HRF_EFORMAT;
                }
            } else if (hrf_parse_pystr(&p, end, h->descr, sizeof h->descr) != 0) {
                snprintf(why, whylen, "malformed header dict ('descr' is not a string)");
                return HRF_EFORMAT;
            }
        } else if (strcmp(key, "fortran_order") == 0 && !seen_order) {
            seen_order = 1;
            if (end - p >= 4 && memcmp(p, "True", 4) == 0) {
                h->fortran_order = 1;
                p += 4;
            } else if (end - p >= 5 && memcmp(p, "False", 5) == 0) {
                h->fortran_order = 0;
                p += 5;
            } else {
                snprintf(why, whylen,
                         "malformed header dict ('fortran_order' is not True or False)");
                return HRF_EFORMAT;
            }
        } else if (strcmp(key, "shape") == 0 && !seen_shape) {
            seen_shape = 1;
            if (p >= end || *p != '(') {
                snprintf(why, whylen, "malformed header dict ('shape' is not a tuple)");
                return HRF_EFORMAT;
            }
            p = hrf_skip_ws(p + 1, end);
            while (p < end && *p != ')') {
                if (*p < '0' || *p > '9') {
                    snprintf(why, whylen,
                             "malformed header dict ('shape' holds a value that is "
                             "not a non-negative integer)");
                    return HRF_EFORMAT;
                }
                uint64_t v = 0;
                while (p < end && *p >= '0' && *p <= '9') {
                    unsigned d = (unsigned)(*p - '0');
                    if (v > (UINT64_MAX - d) / 10) {
                        snprintf(why, whylen, "shape extent %d is larger than 2^64", h->ndim);
                        return HRF_ETOOBIG;
                    }
                    v = 10 * v + d;
                    ++p;
                }
                if (p < end && (*p == 'L' || *p == 'l')) ++p; /* Python 2 long */
                if (h->ndim < HRF_NPY_PARSE_DIM) h->shape[h->ndim] = v;
                ++h->ndim;
                p = hrf_skip_ws(p, end);
                if (p < end && *p == ',')
                    p = hrf_skip_ws(p + 1, end);
                else if (p < end && *p != ')') {
                    snprintf(why, whylen, "malformed header dict (expected ',' or ')' in 'shape')");
                    return HRF_EFORMAT;
                }
            }
            if (p >= end) {
                snprintf(why, whylen, "malformed header dict ('shape' tuple is not closed)");
                return HRF_EFORMAT;
            }
            ++p;
        } else {
            snprintf(why, whylen,
                     "malformed header dict (%s key '%s'; expected 'descr', "
                     "'fortran_order' and 'shape')",
                     (strcmp(key, "descr") == 0 || strcmp(key, "fortran_order") == 0 ||
                      strcmp(key, "shape") == 0)
                         ? "repeated"
                         : "unexpected",
                     key);
            return HRF_EFORMAT;
        }
        p = hrf_skip_ws(p, end);
        if (p < end && *p == ',') {
            ++p;
            continue;
        }
        if (p < end && *p == '}') continue;
        snprintf(why, whylen, "malformed header dict (expected ',' or '}' at byte %d)",
                 (int)(p - s));
        return HRF_EFORMAT;
    }
    p = hrf_skip_ws(p, end);
    if (p != end) {
        snprintf(why, whylen, "malformed header (unexpected text after the dict at byte %d)",
                 (int)(p - s));
        return HRF_EFORMAT;
    }
    if (!seen_descr || !seen_order || !seen_shape) {
        snprintf(why, whylen, "the header dict lacks %s",
                 !seen_descr   ? "'descr'"
                 : !seen_order ? "'fortran_order'"
                               : "'shape'");
        return HRF_EFORMAT;
    }
    return HRF_OK;
}

/* 1 if descr names little-endian float64 on this host. */
static int hrf_descr_is_f8(const char *descr) {
    if (strcmp(descr, "<f8") == 0) return 1;
    return !HRF_HOST_BIG_ENDIAN && strcmp(descr, "=f8") == 0;
}

/* Reads and checks the NPY prefix and header of an open entry; on success
 * *prefix_len is the offset of the data within the entry. */
static int hrf_read_npy_header(const hrf_npz *z, const char *name, zip_file_t *f,
                               zip_uint64_t entry_size, hrf_npy_header_info *h,
                               zip_uint64_t *prefix_len) {
    unsigned char pre[12];
    if (entry_size < 10 || hrf_zread(f, pre, 10) != 10)
        return hrf_entry_error(HRF_EFORMAT, z, name, "not an .npy array (entry too short)");
    if (memcmp(pre, hrf_npy_magic, 6) != 0)
        return hrf_entry_error(HRF_EFORMAT, z, name, "not an .npy array (bad magic bytes)");
    int major = pre[6], minor = pre[7];
    zip_uint64_t hlen, fixed;
    if (major == 1 && minor == 0) {
        hlen = (zip_uint64_t)pre[8] | (zip_uint64_t)pre[9] << 8;
        fixed = 10;
    } else if ((major == 2 || major == 3) && minor == 0) {
        if (entry_size < 12 || hrf_zread(f, pre + 10, 2) != 2)
            return hrf_entry_error(HRF_EFORMAT, z, name, "truncated .npy header");
        hlen = (zip_uint64_t)pre[8] | (zip_uint64_t)pre[9] << 8 | (zip_uint64_t)pre[10] << 16 |
               (zip_uint64_t)pre[11] << 24;
        fixed = 12;
    } else {
        return hrf_entry_error(HRF_EFORMAT, z, name,
                               "unsupported .npy format version %d.%d (expected 1.0, 2.0 or 3.0)",
                               major, minor);
    }
    if (hlen > HRF_NPY_MAX_HEADER)
        return hrf_entry_error(HRF_EFORMAT, z, name,
                               "the .npy header claims %llu bytes (at most %u accepted)",
                               (unsigned long long)hlen, HRF_NPY_MAX_HEADER);
    if (hlen > entry_size - fixed)
        return hrf_entry_error(HRF_EFORMAT, z, name,
                               "truncated .npy header (%llu bytes claimed, %llu present)",
                               (unsigned long long)hlen, (unsigned long long)(entry_size - fixed));
    char *text = malloc(hlen + 1);
    if (!text) return hrf_entry_error(HRF_ENOMEM, z, name, "out of memory reading the header");
    if (hrf_zread(f, text, hlen) != (zip_int64_t)hlen) {
        free(text);
        return hrf_entry_error(HRF_EFORMAT, z, name, "cannot read the .npy header (%s)",
                               zip_file_strerror(f));
    }
    text[hlen] = '\0';
    char why[512];
    int rc = hrf_parse_npy_header(text, hlen, h, why, sizeof why);
    free(text);
    if (rc != HRF_OK) return hrf_entry_error(rc, z, name, "%s", why);
    *prefix_len = fixed + hlen;
    return HRF_OK;
}

int hrf_npz_read(hrf_npz *z, const char *name, int ndim, size_t *shape, double **data) {
    if (data) *data = NULL;
    if (!z || !name || !data)
        return hrf_error(HRF_EINVAL,
                         "npz read: needs an archive, an entry name and a data pointer");
    if (ndim < 0 || ndim > HRF_NPY_MAX_DIM)
        return hrf_entry_error(HRF_EINVAL, z, name, "required ndim %d is out of range (0..%d)",
                               ndim, HRF_NPY_MAX_DIM);
    if (ndim > 0 && !shape)
        return hrf_entry_error(HRF_EINVAL, z, name, "shape is NULL for ndim %d", ndim);
    char *entry = hrf_concat(name, ".npy");
    if (!entry) return hrf_entry_error(HRF_ENOMEM, z, name, "out of memory");
    zip_int64_t idx = zip_name_locate(z->za, entry, 0);
    if (idx < 0) {
        int rc =
            hrf_entry_error(HRF_ENOTFOUND, z, name, "not found (no '%s' in the archive)", entry);
        free(entry);
        return rc;
    }
    free(entry);

    zip_stat_t zst;
    zip_stat_init(&zst);
    if (zip_stat_index(z->za, (zip_uint64_t)idx, 0, &zst) != 0 || !(zst.valid & ZIP_STAT_SIZE))
        return hrf_entry_error(HRF_EFORMAT, z, name, "cannot read the zip entry (%s)",
                               zip_strerror(z->za));
    zip_file_t *f = zip_fopen_index(z->za, (zip_uint64_t)idx, 0);
    if (!f)
        return hrf_entry_error(HRF_EFORMAT, z, name, "cannot open the zip entry (%s)",
                               zip_strerror(z->za));

    hrf_npy_header_info h;
    zip_uint64_t prefix = 0;
    int rc = hrf_read_npy_header(z, name, f, zst.size, &h, &prefix);
    if (rc != HRF_OK) goto done;

    char found[HRF_SHAPE_TEXT], want[HRF_SHAPE_TEXT];
    int shown = h.ndim < HRF_NPY_PARSE_DIM ? h.ndim : HRF_NPY_PARSE_DIM;
    hrf_format_shape(found, sizeof found, shown, h.shape, 0);
    uint64_t req[HRF_NPY_MAX_DIM];
    for (int i = 0; i < ndim; ++i)
        req[i] = shape[i];
    hrf_format_shape(want, sizeof want, ndim, req, 1);

    if (h.descr_structured || !hrf_descr_is_f8(h.descr)) {
        rc = h.descr_structured
                 ? hrf_entry_error(HRF_EFORMAT, z, name,
                                   "expected dtype float64 ('<f8'), found a structured dtype")
                 : hrf_entry_error(HRF_EFORMAT, z, name,
                                   "expected dtype float64 ('<f8'), found '%s'", h.descr);
        goto done;
    }
    if (h.fortran_order) {
        rc = hrf_entry_error(HRF_EFORMAT, z, name,
                             "expected C order, found fortran_order True (save a C-contiguous "
                             "array, e.g. numpy.ascontiguousarray)");
        goto done;
    }
    if (h.ndim != ndim) {
        rc = hrf_entry_error(HRF_EFORMAT, z, name,
                             "expected %d dimension%s, shape %s, found %d, shape %s", ndim,
                             ndim == 1 ? "" : "s", want, h.ndim, h.ndim > shown ? "(...)" : found);
        goto done;
    }
    for (int i = 0; i < ndim; ++i)
        if (shape[i] != 0 && (uint64_t)shape[i] != h.shape[i]) {
            rc = hrf_entry_error(HRF_EFORMAT, z, name,
                                 "expected extent %zu in dimension %d (shape %s), found shape %s",
                                 shape[i], i, want, found);
            goto done;
        }
    size_t count;
    if (hrf_shape_count(h.ndim, h.shape, &count) != 0) {
        rc = hrf_entry_error(HRF_ETOOBIG, z, name,
                             "shape %s claims more than 2^64 bytes of data (the entry holds %llu)",
                             found, (unsigned long long)(zst.size - prefix));
        goto done;
    }
    zip_uint64_t have = zst.size - prefix, need = (zip_uint64_t)count * sizeof(double);
    if (have != need) {
        rc = hrf_entry_error(HRF_EFORMAT, z, name,
                             have < need ? "truncated data: shape %s needs %llu bytes, the entry "
                                           "holds %llu"
                                         : "shape %s needs %llu bytes, the entry holds %llu "
                                           "(trailing bytes)",
                             found, (unsigned long long)need, (unsigned long long)have);
        goto done;
    }
    double *x = malloc(need ? (size_t)need : 1);
    if (!x) {
        rc = hrf_entry_error(HRF_ENOMEM, z, name, "cannot allocate %llu bytes for shape %s",
                             (unsigned long long)need, found);
        goto done;
    }
    /* Reading one byte past the end makes libzip check the CRC. */
    unsigned char extra;
    zip_int64_t got = hrf_zread(f, x, need);
    zip_int64_t tail = got == (zip_int64_t)need ? hrf_zread(f, &extra, 1) : 0;
    if (got != (zip_int64_t)need || tail != 0) {
        rc = (got < 0 || tail < 0)
                 ? hrf_entry_error(HRF_EFORMAT, z, name, "cannot read the data (%s)",
                                   zip_file_strerror(f))
                 : hrf_entry_error(HRF_EFORMAT, z, name, "truncated data: read %lld of %llu bytes",
                                   (long long)got, (unsigned long long)need);
        free(x);
        goto done;
    }
#if HRF_HOST_BIG_ENDIAN
    hrf_copy_le64(x, x, count);
#endif
    for (int i = 0; i < ndim; ++i)
        shape[i] = (size_t)h.shape[i];
    *data = x;
    rc = HRF_OK;
done:
    zip_fclose(f);
    return rc;
}

int hrf_npz_read_meta(hrf_npz *z, const char *kind, cJSON **meta) {
    if (meta) *meta = NULL;
    if (!z || !meta) return hrf_error(HRF_EINVAL, "npz read_meta: needs an archive and an output");
    zip_int64_t idx = zip_name_locate(z->za, "meta", 0);
    if (idx < 0) return hrf_error(HRF_EFORMAT, "%s: not an hamrf file (no 'meta' entry)", z->path);
    zip_stat_t zst;
    zip_stat_init(&zst);
    if (zip_stat_index(z->za, (zip_uint64_t)idx, 0, &zst) != 0 || !(zst.valid & ZIP_STAT_SIZE))
        return hrf_entry_error(HRF_EFORMAT, z, "meta", "cannot read the zip entry (%s)",
                               zip_strerror(z->za));
    if (zst.size > HRF_META_MAX_BYTES)
        return hrf_entry_error(
            HRF_EFORMAT, z, "meta", "%llu bytes, more than the %llu a metadata entry may have",
            (unsigned long long)zst.size, (unsigned long long)HRF_META_MAX_BYTES);
    zip_file_t *f = zip_fopen_index(z->za, (zip_uint64_t)idx, 0);
    if (!f)
        return hrf_entry_error(HRF_EFORMAT, z, "meta", "cannot open the zip entry (%s)",
                               zip_strerror(z->za));
    size_t size = (size_t)zst.size;
    char *text = malloc(size + 1);
    if (!text) {
        zip_fclose(f);
        return hrf_entry_error(HRF_ENOMEM, z, "meta", "out of memory");
    }
    unsigned char extra;
    zip_int64_t got = hrf_zread(f, text, size);
    zip_int64_t tail = got == (zip_int64_t)size ? hrf_zread(f, &extra, 1) : 0;
    if (got != (zip_int64_t)size || tail != 0) {
        int rc = hrf_entry_error(HRF_EFORMAT, z, "meta", "cannot read the entry (%s)",
                                 got < 0 || tail < 0 ? zip_file_strerror(f) : "truncated");
        zip_fclose(f);
        free(text);
        return rc;
    }
    zip_fclose(f);
    text[size] = '\0';

    const char *stop = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, size, &stop, 0);
    if (!j) {
        long at = stop ? (long)(stop - text) : 0;
        free(text);
        return hrf_entry_error(HRF_EFORMAT, z, "meta", "not valid JSON (error near byte %ld)", at);
    }
    /* Only white space may follow the JSON value. */
    for (const char *p = stop; p && p < text + size; ++p)
        if (*p != ' ' && *p != '\n' && *p != '\t' && *p != '\r') {
            long at = (long)(p - text);
            free(text);
            cJSON_Delete(j);
            return hrf_entry_error(HRF_EFORMAT, z, "meta",
                                   "not valid JSON (unexpected text at byte %ld)", at);
        }
    free(text);
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return hrf_entry_error(HRF_EFORMAT, z, "meta", "expected a JSON object");
    }
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(j, "format");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "hamrf") != 0) {
        int rc = cJSON_IsString(fmt)
                     ? hrf_error(HRF_EFORMAT,
                                 "%s: not an hamrf file (entry 'meta' has format '%s', expected "
                                 "'hamrf')",
                                 z->path, fmt->valuestring)
                     : hrf_error(HRF_EFORMAT,
                                 "%s: not an hamrf file (entry 'meta' has no string 'format', "
                                 "expected \"format\": \"hamrf\")",
                                 z->path);
        cJSON_Delete(j);
        return rc;
    }
    /* This build reads version 1; a newer file may mean something else. */
    const cJSON *ver = cJSON_GetObjectItemCaseSensitive(j, "version");
    if (!cJSON_IsNumber(ver) || ver->valuedouble != 1.0) {
        int rc = cJSON_IsNumber(ver)
                     ? hrf_error(HRF_EFORMAT, "%s: entry 'meta': hamrf file version %g, this build "
                                 "reads version 1", z->path, ver->valuedouble)
                     : hrf_error(HRF_EFORMAT, "%s: entry 'meta': missing or non-numeric "
                                 "\"version\" (expected 1)", z->path);
        cJSON_Delete(j);
        return rc;
    }
    if (kind) {
        const cJSON *k = cJSON_GetObjectItemCaseSensitive(j, "kind");
        if (!cJSON_IsString(k) || strcmp(k->valuestring, kind) != 0) {
            int rc =
                cJSON_IsString(k)
                    ? hrf_error(HRF_EFORMAT,
                                "%s: expected an hamrf %s file, found kind '%s' (entry 'meta')",
                                z->path, kind, k->valuestring)
                    : hrf_error(HRF_EFORMAT,
                                "%s: expected an hamrf %s file, entry 'meta' has no string "
                                "'kind'",
                                z->path, kind);
            cJSON_Delete(j);
            return rc;
        }
    }
    *meta = j;
    return HRF_OK;
}

/* ---------------------------------------------------------------------------
 * Finite check.
 * ------------------------------------------------------------------------- */

int hrf_check_finite(const char *file, const char *entry, const double *x, size_t n) {
    const char *fl = file ? file : "(unnamed)", *en = entry ? entry : "(unnamed)";
    if (n > 0 && !x) return hrf_error(HRF_EINVAL, "%s: entry '%s': data is NULL", fl, en);
    for (size_t i = 0; i < n; ++i) {
        /* Tested on the bits (exponent all ones), so that the check holds
         * even when compiled with -ffinite-math-only. */
        uint64_t b;
        memcpy(&b, &x[i], sizeof b);
        if (((b >> 52) & 0x7ff) == 0x7ff) {
            const char *what = (b & 0xfffffffffffffull) ? "NaN" : (b >> 63) ? "-inf" : "inf";
            return hrf_error(HRF_EDATA,
                             "%s: entry '%s': value at index %zu is %s (all values must be finite)",
                             fl, en, i, what);
        }
    }
    return HRF_OK;
}
