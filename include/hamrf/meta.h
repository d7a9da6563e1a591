/* Metadata of data sets (the "meta" entry of their files: system,
 * parameters, box, how they were generated ...). It crosses the API as JSON
 * text: a data set holds it as an opaque handle, hrf_meta_json gives the
 * text. */
#ifndef HAMRF_META_H
#define HAMRF_META_H

#include "hamrf/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hrf_meta hrf_meta;

/* The metadata as compact JSON text (an object), malloc'd: release it with
 * hrf_free. NULL for a NULL handle or when out of memory. */
HRF_API char *hrf_meta_json(const hrf_meta *m);

/* Releases memory the library allocated for the caller (JSON text). */
HRF_API void hrf_free(void *p);

#ifdef __cplusplus
}
#endif

#endif
