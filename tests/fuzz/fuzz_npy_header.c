/* libFuzzer target: the .npy header parser and the array reader
 * (hrf_npz_read, src/core/npz_read.c; docs/reliability.md, "Fuzzing").
 *
 * Input: byte 0 picks the number of dimensions the caller requires (0..8),
 * the rest is one .npy entry, stored as "a.npy" in an archive built in memory
 * with a correct CRC, so every mutation reaches the header parser. On success
 * the reader's promises are checked: the shape it returns holds exactly the
 * data bytes the entry had (at most the input less the 10-byte prefix), and
 * every value is readable (AddressSanitizer checks the bounds). */
#include "fuzz_util.h"

#include "core/npz.h"
#include "hamrf/status.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const int ndim = data[0] % (HRF_NPY_MAX_DIM + 1);
    fuzz_entry e[2] = {{"meta", 4, (const uint8_t *)"{}", 2}, {"a.npy", 5, data + 1, size - 1}};
    fuzz_write_zip(e, 2);

    hrf_npz *z = NULL;
    if (hrf_npz_open(fuzz_path(), &z) != HRF_OK) abort(); /* a valid zip was written */
    size_t shape[HRF_NPY_MAX_DIM] = {0};
    double *x = NULL;
    if (hrf_npz_read(z, "a", ndim, shape, &x) == HRF_OK) {
        size_t count = 1;
        for (int i = 0; i < ndim; ++i)
            count *= shape[i];
        if (count * sizeof(double) + 10 > size - 1) abort();
        volatile double sum = 0.0;
        for (size_t i = 0; i < count; ++i)
            sum += x[i];
        (void)sum;
    } else if (x != NULL) {
        abort(); /* a failed read returns no data */
    }
    free(x);
    hrf_npz_close(z);
    hrf_clear_error();
    return 0;
}
