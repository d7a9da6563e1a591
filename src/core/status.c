/* Status codes, hrf_strerror() and the thread-local last-error message. */
#include "hamrf/status.h"

#include <stdio.h>
#include <string.h>

#define HRF_ERRMSG_SIZE 2048
static _Thread_local char last_error[HRF_ERRMSG_SIZE];

const char *hrf_strerror(int status) {
    switch (status) {
#define HRF_X_CASE(name, value, msg)                                                               \
    case value:                                                                                    \
        return msg;
        HRF_STATUS_LIST(HRF_X_CASE)
#undef HRF_X_CASE
    }
    return "unknown status";
}

const char *hrf_last_error(void) {
    return last_error;
}

void hrf_clear_error(void) {
    last_error[0] = '\0';
}

int hrf_verror(int status, const char *fmt, va_list ap) {
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    return status;
}

int hrf_error(int status, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    hrf_verror(status, fmt, ap);
    va_end(ap);
    return status;
}

int hrf_error_prefix(int status, const char *fmt, ...) {
    char prefix[HRF_ERRMSG_SIZE], old[HRF_ERRMSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, last_error, sizeof old);
    snprintf(last_error, sizeof last_error, "%.1000s: %.1000s", prefix,
             old[0] ? old : hrf_strerror(status));
    return status;
}
