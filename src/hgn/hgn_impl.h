/* Private to the library (and its command-line tool): the HGN's file and
 * provenance functions with cJSON objects (the public API of hamrf/hgn.h
 * takes JSON text). */
#ifndef HAMRF_SRC_HGN_IMPL_H
#define HAMRF_SRC_HGN_IMPL_H

#include <cjson/cJSON.h>

#include "hamrf/hgn.h"

/* hrf_hgn_save / hrf_hgn_load with meta objects (extra may be NULL; *meta
 * receives the file's whole meta when meta is not NULL). */
int hrf_hgn_save_meta(const hrf_hgn *m, const char *path, const cJSON *extra);
int hrf_hgn_load_meta(const char *path, hrf_hgn **out, cJSON **meta);

/* How the model was made, written first into its file's meta: set by the
 * fits (hrf_hgn_fit) and by load.
 * set takes ownership of prov (may be NULL). */
void hrf_hgn_set_provenance(hrf_hgn *m, cJSON *prov);
const cJSON *hrf_hgn_provenance(const hrf_hgn *m);

#endif
