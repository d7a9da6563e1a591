/* NumPy .npy/.npz reading and writing (docs/formats.md, "The container"; API in core/npz.h).
 *
 * An .npz is a zip archive of .npy entries. An .npy entry is a 6-byte magic
 * "\x93NUMPY", a 2-byte version, a little-endian header length (2 bytes in
 * version 1.0, 4 bytes in 2.0 and 3.0), a Python dict literal such as
 * {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), } padded with
 * spaces and a newline, then the raw array data. hamrf writes version 1.0
 * with the data aligned to 64 bytes, as numpy does, and reads 1.0, 2.0 and
 * 3.0. The zip container is handled by libzip, the "meta" entry by cJSON.
 *
 * The writer (atomic, reproducible) is in npz_write.c, the validating reader
 * in npz_read.c; this file holds the helpers they share (npz_impl.h) and the
 * finiteness check. */
#include "core/npz.h"
#include "core/npz_impl.h"
#include "hamrf/status.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------
 * Small helpers shared by the writer and the reader.
 * ------------------------------------------------------------------------- */

const unsigned char npz_magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* Copies n float64 values between host order and little-endian bytes (the
 * same operation in both directions). */
void npz_copy_le64(void *dst, const void *src, size_t n) {
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
int npz_shape_count(int ndim, const uint64_t *shape, size_t *count) {
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
void npz_format_shape(char *buf, size_t len, int ndim, const uint64_t *shape, int any_for_zero) {
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
char *npz_concat(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 1);
    if (!s) return NULL;
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
    return s;
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
