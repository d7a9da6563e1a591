/* Status codes and the last-error message (docs/architecture.md, "Error handling").
 *
 * Every fallible hamrf function returns an int: HRF_OK (0) on success, one of
 * the negative codes below on failure. The detail (which file, which entry,
 * what was expected) is kept in a thread-local last-error string that
 * hrf_last_error() returns until the next error on the same thread. */
#ifndef HAMRF_STATUS_H
#define HAMRF_STATUS_H

#include "hamrf/export.h"

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One list yields both the enum and hrf_strerror(). */
#define HRF_STATUS_LIST(X)                                                                         \
    X(HRF_OK, 0, "success")                                                                        \
    X(HRF_EINVAL, -1, "invalid argument")                                                          \
    X(HRF_ENOMEM, -2, "out of memory")                                                             \
    X(HRF_EIO, -3, "input/output error")                                                           \
    X(HRF_EFORMAT, -4, "file is not in the expected format")                                       \
    X(HRF_EDATA, -5, "invalid data")                                                               \
    X(HRF_ENUMERIC, -6, "numerical failure")                                                       \
    X(HRF_ETOOBIG, -7, "problem too large for this machine")                                       \
    X(HRF_ENOTFOUND, -8, "not found")

typedef enum {
#define HRF_X_ENUM(name, value, msg) name = value,
    HRF_STATUS_LIST(HRF_X_ENUM)
#undef HRF_X_ENUM
} hrf_status;

/* The fixed message of a status code ("unknown status" for others). */
HRF_API const char *hrf_strerror(int status);

/* The detailed message of the last error on this thread ("" if none). */
HRF_API const char *hrf_last_error(void);

/* Records a formatted detail message for `status` and returns `status`, so
 * that library code can write `return hrf_error(HRF_EINVAL, "...", ...)`. */
HRF_API int hrf_error(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
HRF_API int hrf_verror(int status, const char *fmt, va_list ap);

/* Prefixes the current last-error message with "prefix: " (adds context such
 * as a file name while an error propagates). Returns `status`. */
HRF_API int hrf_error_prefix(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

HRF_API void hrf_clear_error(void);

#ifdef __cplusplus
}
#endif

#endif
