/* Private to src/core/npz*.c: what the .npz writer (npz_write.c) and reader
 * (npz_read.c) share; the helpers are defined in npz.c and not exported. */
#ifndef HAMRF_SRC_CORE_NPZ_IMPL_H
#define HAMRF_SRC_CORE_NPZ_IMPL_H

#include <stddef.h>
#include <stdint.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define HRF_HOST_BIG_ENDIAN 1
#else
#define HRF_HOST_BIG_ENDIAN 0
#endif

/* Room for a formatted shape such as "(18446744073709551615, any, ...)". */
#define HRF_SHAPE_TEXT 1024

/* The first 6 bytes of an .npy entry: "\x93NUMPY". */
extern const unsigned char npz_magic[6];

/* Copies n float64 values between host order and little-endian bytes (the
 * same operation in both directions). */
void npz_copy_le64(void *dst, const void *src, size_t n);

/* Product of the extents in *count; 0 on success, -1 if count * 8 bytes
 * would not fit in a size_t. */
int npz_shape_count(int ndim, const uint64_t *shape, size_t *count);

/* Formats a shape as Python prints a tuple: "()", "(5,)", "(3, 4)". With
 * `any_for_zero`, a zero extent prints as "any" (a requirement, not a shape). */
void npz_format_shape(char *buf, size_t len, int ndim, const uint64_t *shape, int any_for_zero);

/* A copy of `a` followed by `b` (malloc'd), or NULL when out of memory. */
char *npz_concat(const char *a, const char *b);

#endif
