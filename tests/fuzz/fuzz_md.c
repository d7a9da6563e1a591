/* libFuzzer target: the molecular-dynamics text readers (hrf_lammps_dump_read,
 * hrf_extxyz_read; src/data/mdio_read.c; docs/reliability.md, "Fuzzing").
 *
 * Input: one byte choosing the reader (even: LAMMPS dump, odd: extended XYZ),
 * then the file's text. A read that fails must return no data set; one that
 * succeeds must return a valid periodic 3-D particle data set: at least one
 * snapshot and one atom, positive masses and box, the cutoff asked for, and
 * finite arrays of the shape it reports (AddressSanitizer checks the
 * bounds). The default atom limit stays: an absurd atom count must be refused
 * before allocating (the run's -malloc_limit_mb catches it otherwise). */
#include "fuzz_util.h"

#include <math.h>

#include "hamrf/mdio.h"
#include "hamrf/status.h"

static void check_finite(size_t n, const double *x) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    fuzz_write(data + 1, size - 1);
    hrf_md_import_params p;
    hrf_md_import_params_default(&p);
    p.cutoff = 1.0;
    if (data[0] & 2) p.mass = 1.0; /* masses from the option, else from types / columns */
    hrf_pdata *d = NULL;
    int rc = (data[0] & 1) ? hrf_extxyz_read(fuzz_path(), &p, &d)
                           : hrf_lammps_dump_read(fuzz_path(), &p, &d);
    if (rc != HRF_OK) {
        if (d) abort(); /* data after a failure */
        hrf_clear_error();
        return 0;
    }
    if (!d || d->S < 1 || d->N < 1 || d->D != 3 || !(d->box > 0.0) || d->cutoff != 1.0 || !d->mass)
        abort();
    const size_t n = d->S * d->N * 3;
    check_finite(n, d->q), check_finite(n, d->p), check_finite(n, d->dqdt);
    check_finite(n, d->dpdt);
    for (size_t i = 0; i < d->N; i++)
        if (!(d->mass[i] > 0.0) || !isfinite(d->mass[i])) abort();
    if (d->H) check_finite(d->S, d->H);
    hrf_pdata_free(d);
    hrf_clear_error();
    return 0;
}
