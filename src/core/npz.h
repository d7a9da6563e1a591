/* NumPy .npy/.npz reading and writing (docs/formats.md, "The container").
 *
 * Every file hamrf writes is an .npz (a zip of .npy entries) that numpy.load
 * opens unchanged: arrays are little-endian float64 ('<f8'), C order, stored
 * uncompressed; one extra entry named "meta" (no .npy suffix) holds UTF-8 JSON
 * {"format": "hamrf", "kind": ..., "version": 1, ...}; numpy.load returns it as
 * bytes. Writes are atomic: a temporary file in the destination folder, fsync,
 * then rename, so a failure never leaves a partial file under the final name.
 * Entry timestamps are fixed, so equal contents give byte-identical files.
 *
 * Readers validate magic, version, dtype, order and shape, and every error
 * message names the file and the entry. */
#ifndef HAMRF_NPZ_H
#define HAMRF_NPZ_H

#include <stddef.h>
#include <cjson/cJSON.h>

#define HRF_NPY_MAX_DIM 8

/* ---- writing ---- */
typedef struct hrf_npz_writer hrf_npz_writer;

hrf_npz_writer *hrf_npz_writer_new(void);
void hrf_npz_writer_free(hrf_npz_writer *w); /* NULL-safe */

/* Adds float64 array `name` (stored as "name.npy") of shape shape[0..ndim-1]
 * (ndim 0..HRF_NPY_MAX_DIM; ndim 0 is a scalar), C order. The data are copied.
 * A repeated name is an error. */
int hrf_npz_writer_add(hrf_npz_writer *w, const char *name, int ndim, const size_t *shape,
                       const double *data);

/* From now on, arrays added must be finite: write refuses (HRF_EDATA, naming
 * the path, the array, the first offending index and `kind`, e.g. "model")
 * a writer that was given NaN or inf, so that no file a loader would refuse
 * is ever written. `kind` must outlive the writer (a string literal). */
void hrf_npz_writer_require_finite(hrf_npz_writer *w, const char *kind);

/* Sets the "meta" entry to the compact JSON of `meta` (copied). */
int hrf_npz_writer_set_meta(hrf_npz_writer *w, const cJSON *meta);

/* Writes all entries to `path` atomically (temporary file + rename). Fails
 * with a clear message (naming the path) if the folder is missing or not
 * writable. The writer may be written again or freed afterwards. */
int hrf_npz_writer_write(hrf_npz_writer *w, const char *path);

/* ---- reading ---- */
typedef struct hrf_npz hrf_npz;

/* Opens an .npz for reading. Errors: missing/unreadable file (HRF_EIO), not a
 * zip archive (HRF_EFORMAT). */
int hrf_npz_open(const char *path, hrf_npz **out);
void hrf_npz_close(hrf_npz *z); /* NULL-safe */
const char *hrf_npz_path(const hrf_npz *z);

/* 1 if entry "name.npy" exists, else 0. */
int hrf_npz_has(const hrf_npz *z, const char *name);

/* Reads float64 array `name`. `ndim` is the required number of dimensions;
 * shape[i] on input is the required extent of dimension i, or 0 for "any";
 * on output it holds the actual extents. *data receives a malloc'd C-order
 * array (caller frees; for zero elements a valid 1-byte allocation).
 * Errors (HRF_ENOTFOUND missing entry, HRF_EFORMAT wrong dtype / order /
 * ndim / extent / truncated data) name the file, the entry and what was
 * expected. Refuses (HRF_ETOOBIG) headers claiming more data than the entry
 * holds, before allocating; the buffer grows with the data actually read, so
 * a false uncompressed size in the zip directory costs no memory. */
int hrf_npz_read(hrf_npz *z, const char *name, int ndim, size_t *shape, double **data);

/* The same for rows [r0, r0 + nrows) along the first dimension only (ndim ≥ 1),
 * without reading the rest of the entry (docs/mpi.md: a process reads its own
 * rows of a large file): shape receives the whole entry's extents, *data
 * (nrows, ...) the rows. data NULL: the header alone is read (the shape). */
int hrf_npz_read_rows(hrf_npz *z, const char *name, int ndim, size_t *shape, size_t r0,
                      size_t nrows, double **data);

/* Parses the "meta" entry. Checks it is a JSON object with "format":"hamrf"
 * and, if `kind` is not NULL, "kind" equal to it; the caller owns *meta
 * (cJSON_Delete). An archive without "meta" or with format != "hamrf" gives
 * HRF_EFORMAT "... is not an hamrf file". */
int hrf_npz_read_meta(hrf_npz *z, const char *kind, cJSON **meta);

/* HRF_EDATA naming `file` and `entry` and the first offending index if any
 * of x[0..n-1] is NaN or infinite; HRF_OK otherwise. */
int hrf_check_finite(const char *file, const char *entry, const double *x, size_t n);

#endif
