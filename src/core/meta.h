/* Private: a data set's hrf_meta handle is a cJSON object. */
#ifndef HAMRF_SRC_META_H
#define HAMRF_SRC_META_H

#include <cjson/cJSON.h>

#include "hamrf/meta.h"

/* The cJSON object behind the `meta` handle of a data set `d` (may be NULL). */
#define HRF_META(d) ((cJSON *)(d)->meta)
/* The handle of a cJSON object, to store in a data set's `meta`. */
static inline hrf_meta *hrf_meta_of(cJSON *o) {
    return (hrf_meta *)o;
}

/* JSON text <-> cJSON for the public API (metadata crosses it as text). */
/* Parses `json` (NULL or "" = no members) into an object; HRF_EINVAL naming
 * `what` when it is not a JSON object. */
int hrf_json_object_parse(const char *json, const char *what, cJSON **out);
/* A malloc'd compact copy of o (NULL-safe: NULL gives NULL). */
char *hrf_json_print(const cJSON *o);
/* The end of a public loader: when rc is HRF_OK and meta_json is not NULL,
 * *meta_json receives o as text (HRF_ENOMEM if that fails); o is deleted.
 * Returns the status. */
int hrf_json_give(int rc, cJSON *o, char **meta_json);
/* The end of a public saver: deletes the parsed extra members, returns rc. */
int hrf_json_done(int rc, cJSON *extra);
/* meta[key] as an array of exactly n finite numbers into out: 1, else 0
 * (absent or malformed; out may then be partly written). */
int hrf_json_numbers(const cJSON *meta, const char *key, size_t n, double *out);

#endif
