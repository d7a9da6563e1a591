/* The .npz reader (API in core/npz.h; the format in npz.c's opening comment).
 *
 * Reading validates everything before trusting it: magic, version (1.0, 2.0
 * and 3.0), header syntax, dtype, order, number of dimensions, extents, and
 * that the entry holds exactly the bytes the shape needs (checked before
 * allocating, with overflow-safe arithmetic; the buffer then grows as the
 * data arrive, so that a false size in the zip directory costs no memory).
 * Every error message names the file and entry. The "meta" entry is parsed
 * by cJSON. */
#define _POSIX_C_SOURCE 200809L

#include "core/npz.h"
#include "core/npz_impl.h"
#include "hamrf/status.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

/* Largest header accepted when reading; numpy's own default limit is 10000. */
#define HRF_NPY_MAX_HEADER (1u << 20)
/* Most dimensions the header parser records (the API allows HRF_NPY_MAX_DIM);
 * more are reported as a format error with the count found. */
#define HRF_NPY_PARSE_DIM 32
/* Largest "meta" entry accepted: metadata are small JSON objects. */
#define HRF_META_MAX_BYTES ((zip_uint64_t)64 << 20)

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
    char *p = npz_concat(path, "");
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
    char *entry = npz_concat(name, ".npy");
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

/* Reads the n bytes of an entry's data into a new buffer *out, grown as the
 * bytes arrive (16 MiB first, then doubled up to n): the sizes in a zip's
 * directory are claims, and a compressed entry of a few hundred bytes can
 * claim gigabytes, so memory follows what is read (at most twice it), not
 * the claim. Returns the count read (less than n when the entry ends first),
 * -1 on a read error (zip_file_strerror says which), -2 when out of memory;
 * *out is NULL unless the count is returned. */
static zip_int64_t hrf_zread_grow(zip_file_t *f, zip_uint64_t n, unsigned char **out) {
    const zip_uint64_t first = (zip_uint64_t)1 << 24;
    zip_uint64_t cap = n < first ? n : first, got = 0;
    unsigned char *buf = malloc(cap ? (size_t)cap : 1);
    *out = NULL;
    if (!buf) return -2;
    for (;;) {
        zip_int64_t r = hrf_zread(f, buf + got, cap - got);
        if (r < 0) {
            free(buf);
            return -1;
        }
        got += (zip_uint64_t)r;
        if (got < cap || cap == n) break;
        zip_uint64_t next = cap > n / 2 ? n : 2 * cap;
        unsigned char *grown = realloc(buf, (size_t)next);
        if (!grown) {
            free(buf);
            return -2;
        }
        buf = grown, cap = next;
    }
    *out = buf;
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
    if (memcmp(pre, npz_magic, 6) != 0)
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

/* Skips n bytes of an open entry: by zip_fseek where the entry is stored
 * uncompressed (hamrf's writer stores every entry so), else by reading. */
static int hrf_zskip(zip_file_t *f, zip_uint64_t n) {
    if (n == 0) return 0;
    if (zip_fseek(f, (zip_int64_t)n, SEEK_CUR) == 0) return 0;
    unsigned char buf[65536];
    while (n > 0) {
        zip_uint64_t c = n < sizeof buf ? n : sizeof buf;
        if (hrf_zread(f, buf, c) != (zip_int64_t)c) return -1;
        n -= c;
    }
    return 0;
}

static int npz_read_part(hrf_npz *z, const char *name, int ndim, size_t *shape, size_t r0,
                         size_t nrows, int part, double **data);

int hrf_npz_read(hrf_npz *z, const char *name, int ndim, size_t *shape, double **data) {
    return npz_read_part(z, name, ndim, shape, 0, 0, 0, data);
}

int hrf_npz_read_rows(hrf_npz *z, const char *name, int ndim, size_t *shape, size_t r0,
                      size_t nrows, double **data) {
    return npz_read_part(z, name, ndim, shape, r0, nrows, 1, data);
}

/* part = 0: the whole entry; part = 1: rows [r0, r0 + nrows) along the first
 * dimension (data NULL: only the header, for the shape). */
static int npz_read_part(hrf_npz *z, const char *name, int ndim, size_t *shape, size_t r0,
                         size_t nrows, int part, double **data) {
    if (data) *data = NULL;
    if (!z || !name || (!part && !data))
        return hrf_error(HRF_EINVAL,
                         "npz read: needs an archive, an entry name and a data pointer");
    if (ndim < 0 || ndim > HRF_NPY_MAX_DIM)
        return hrf_entry_error(HRF_EINVAL, z, name, "required ndim %d is out of range (0..%d)",
                               ndim, HRF_NPY_MAX_DIM);
    if (ndim > 0 && !shape)
        return hrf_entry_error(HRF_EINVAL, z, name, "shape is NULL for ndim %d", ndim);
    char *entry = npz_concat(name, ".npy");
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
    npz_format_shape(found, sizeof found, shown, h.shape, 0);
    uint64_t req[HRF_NPY_MAX_DIM];
    for (int i = 0; i < ndim; ++i)
        req[i] = shape[i];
    npz_format_shape(want, sizeof want, ndim, req, 1);

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
    if (npz_shape_count(h.ndim, h.shape, &count) != 0) {
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
    if (part) { /* rows [r0, r0 + nrows) only: no CRC check (the entry is not read whole) */
        if (ndim < 1 || r0 > h.shape[0] || nrows > h.shape[0] - r0) {
            rc = hrf_entry_error(HRF_EINVAL, z, name, "rows [%zu, %zu) are outside shape %s", r0,
                                 r0 + nrows, found);
            goto done;
        }
        for (int i = 0; i < ndim; ++i)
            shape[i] = (size_t)h.shape[i];
        if (!data) {
            rc = HRF_OK;
            goto done;
        }
        size_t row = h.shape[0] ? count / (size_t)h.shape[0] : 0;
        zip_uint64_t rb = (zip_uint64_t)row * sizeof(double);
        /* Grown as the rows arrive, as the whole entry below. */
        unsigned char *ybytes = NULL;
        zip_int64_t yg = hrf_zskip(f, (zip_uint64_t)r0 * rb) != 0
                             ? -1
                             : hrf_zread_grow(f, (zip_uint64_t)nrows * rb, &ybytes);
        if (yg == -2) {
            rc = hrf_entry_error(HRF_ENOMEM, z, name, "cannot allocate %zu rows", nrows);
            goto done;
        }
        if (yg != (zip_int64_t)(nrows * rb)) {
            rc = hrf_entry_error(HRF_EFORMAT, z, name, "cannot read rows [%zu, %zu) (%s)", r0,
                                 r0 + nrows, zip_file_strerror(f));
            free(ybytes);
            goto done;
        }
        double *y = (double *)ybytes;
#if HRF_HOST_BIG_ENDIAN
        npz_copy_le64(y, y, nrows * row);
#endif
        *data = y;
        rc = HRF_OK;
        goto done;
    }
    unsigned char *bytes = NULL;
    zip_int64_t got = hrf_zread_grow(f, need, &bytes);
    if (got == -2) {
        rc = hrf_entry_error(HRF_ENOMEM, z, name, "cannot allocate %llu bytes for shape %s",
                             (unsigned long long)need, found);
        goto done;
    }
    double *x = (double *)bytes;
    /* Reading one byte past the end makes libzip check the CRC. */
    unsigned char extra;
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
    npz_copy_le64(x, x, count);
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
                     ? hrf_error(HRF_EFORMAT,
                                 "%s: entry 'meta': hamrf file version %g, this build "
                                 "reads version 1",
                                 z->path, ver->valuedouble)
                     : hrf_error(HRF_EFORMAT,
                                 "%s: entry 'meta': missing or non-numeric "
                                 "\"version\" (expected 1)",
                                 z->path);
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
