/* libFuzzer target: the .npz archive reader (hrf_npz_open, hrf_npz_has,
 * hrf_npz_read_meta, hrf_npz_read; src/core/npz_read.c over libzip;
 * docs/reliability.md, "Fuzzing").
 *
 * Input: the bytes of a whole file, as found on disk (zip structure, CRCs,
 * deflated entries and all). The target reads the meta entry and the arrays
 * every hamrf file kind has, each with the rank its loader requires. A read
 * that fails must return no data; one that succeeds must return an array of
 * the shape it reports (AddressSanitizer checks the bounds). */
#include "fuzz_util.h"

#include "core/npz.h"
#include "hamrf/status.h"

static const struct {
    const char *name;
    int ndim;
} arrays[] = {{"x", 2}, {"dxdt", 2}, {"H", 1}, {"H0", 0},  {"W", 2},     {"b", 1},
              {"c", 1}, {"q", 3},    {"p", 3}, {"W_E", 2}, {"bonds", 2}, {"box", 0}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_write(data, size);
    hrf_npz *z = NULL;
    if (hrf_npz_open(fuzz_path(), &z) != HRF_OK) {
        hrf_clear_error();
        return 0;
    }
    cJSON *meta = NULL;
    if (hrf_npz_read_meta(z, NULL, &meta) == HRF_OK) {
        if (!cJSON_IsObject(meta)) abort(); /* the reader promises an object */
    } else if (meta) {
        abort();
    }
    cJSON_Delete(meta);
    for (size_t a = 0; a < sizeof arrays / sizeof arrays[0]; ++a) {
        size_t shape[HRF_NPY_MAX_DIM] = {0};
        double *x = NULL;
        int has = hrf_npz_has(z, arrays[a].name);
        int rc = hrf_npz_read(z, arrays[a].name, arrays[a].ndim, shape, &x);
        if (rc == HRF_OK) {
            if (!has) abort(); /* read an entry that hrf_npz_has did not see */
            size_t count = 1;
            for (int i = 0; i < arrays[a].ndim; ++i)
                count *= shape[i];
            volatile double sum = 0.0;
            for (size_t i = 0; i < count; ++i)
                sum += x[i];
            (void)sum;
        } else if (x || (rc == HRF_ENOTFOUND) == has) {
            abort(); /* data after a failure, or "not found" for an entry that exists */
        }
        free(x);
    }
    hrf_npz_close(z);
    hrf_clear_error();
    return 0;
}
