/* A process's share of a particle data set split over files or processes
 * (docs/mpi.md): the global snapshots are those of the files in the order
 * given; hrf_pdata_load_part reads only snapshots [first, first + count) of
 * that concatenation, each file by offset (hrf_npz_read_rows), and
 * hrf_pdata_count checks from the headers and the small entries that every
 * file describes the same system (particles, masses, bonds or box). */
#include "core/meta.h"
#include "core/npz.h"
#include "hamrf/particles.h"
#include "hamrf/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The meta keys that name the system: files that differ in one of them are
 * not parts of one data set (seeds, snapshot counts and drift may differ). */
static const char *const SYSTEM_KEYS[] = {"system",      "topology",  "shape",  "dim",
                                          "n_particles", "potential", "density"};

/* One file's description: meta, shape and the per-system entries. */
typedef struct {
    cJSON *meta;
    size_t S, N, D;
    double *mass, *bonds, *box, *cutoff;
    size_t n_bonds;
    int hasH, hast;
} pfile;

static void pfile_free(pfile *f) {
    cJSON_Delete(f->meta);
    free(f->mass), free(f->bonds), free(f->box), free(f->cutoff);
    memset(f, 0, sizeof *f);
}

static int pfile_open(const char *path, hrf_npz **z, pfile *f) {
    memset(f, 0, sizeof *f);
    int rc = hrf_npz_open(path, z);
    if (rc) return rc;
    size_t s3[3] = {0, 0, 0}, sn[1], sb[2] = {0, 2};
    if ((rc = hrf_npz_read_meta(*z, "particles", &f->meta)) ||
        (rc = hrf_npz_read_rows(*z, "q", 3, s3, 0, 0, NULL)))
        return rc;
    f->S = s3[0], f->N = s3[1], f->D = s3[2];
    if (f->S == 0 || f->N == 0 || f->D < 1 || f->D > 3)
        return hrf_error(HRF_EFORMAT,
                         "%s: entry 'q': expected shape (S, N, D) with S >= 1 snapshots, N >= 1 "
                         "particles and D in 1..3, found (%zu, %zu, %zu)",
                         path, f->S, f->N, f->D);
    sn[0] = f->N;
    if ((rc = hrf_npz_read(*z, "mass", 1, sn, &f->mass))) return rc;
    if (hrf_npz_has(*z, "bonds")) {
        if ((rc = hrf_npz_read(*z, "bonds", 2, sb, &f->bonds))) return rc;
        f->n_bonds = sb[0];
    }
    if (hrf_npz_has(*z, "box") && (rc = hrf_npz_read(*z, "box", 0, NULL, &f->box))) return rc;
    if (hrf_npz_has(*z, "cutoff") && (rc = hrf_npz_read(*z, "cutoff", 0, NULL, &f->cutoff)))
        return rc;
    f->hasH = hrf_npz_has(*z, "H"), f->hast = hrf_npz_has(*z, "t");
    return HRF_OK;
}

static int same_doubles(const double *a, const double *b, size_t n) {
    if (!a || !b) return a == b;
    return !memcmp(a, b, n * sizeof *a);
}

/* NULL when f describes the same system as f0, else what differs. */
static const char *pfile_differs(const pfile *f0, const pfile *f) {
    for (size_t k = 0; k < sizeof SYSTEM_KEYS / sizeof *SYSTEM_KEYS; k++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(f0->meta, SYSTEM_KEYS[k]);
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(f->meta, SYSTEM_KEYS[k]);
        if ((a == NULL) != (b == NULL) || (a && !cJSON_Compare(a, b, 1))) return SYSTEM_KEYS[k];
    }
    if (f0->N != f->N || f0->D != f->D) return "shape (N, D) of entry 'q'";
    if (!same_doubles(f0->mass, f->mass, f0->N)) return "masses";
    if (f0->n_bonds != f->n_bonds || !same_doubles(f0->bonds, f->bonds, 2 * f0->n_bonds))
        return "bonds";
    if (!same_doubles(f0->box, f->box, 1) || !same_doubles(f0->cutoff, f->cutoff, 1))
        return "box and cutoff";
    if (f0->hasH != f->hasH) return "entries (one has H, the other not)";
    return NULL;
}

int hrf_pdata_count(const char *const *paths, size_t npaths, size_t *total) {
    *total = 0;
    if (npaths == 0) return hrf_error(HRF_EINVAL, "no data set files given");
    pfile f0, f;
    memset(&f0, 0, sizeof f0);
    int rc = HRF_OK;
    for (size_t k = 0; k < npaths && !rc; k++) {
        hrf_npz *z = NULL;
        rc = pfile_open(paths[k], &z, k ? &f : &f0);
        hrf_npz_close(z);
        if (rc) {
            if (k) pfile_free(&f);
            break;
        }
        const char *bad = k ? pfile_differs(&f0, &f) : NULL;
        if (bad)
            rc = hrf_error(HRF_EDATA,
                           "%s: its %s differs from that of %s: the files are not parts of one "
                           "particle data set",
                           paths[k], bad, paths[0]);
        *total += k ? f.S : f0.S;
        if (k) pfile_free(&f);
    }
    pfile_free(&f0);
    return rc;
}

/* Rows [r0, r0 + nr) of a (S, N, D) entry into dst, checked finite. */
static int read_snapshots(hrf_npz *z, const char *path, const char *name, const pfile *f, size_t r0,
                          size_t nr, double *dst, size_t per) {
    size_t shape[3] = {f->S, f->N, f->D};
    double *x = NULL;
    int rc = hrf_npz_read_rows(z, name, per == 1 ? 1 : 3, shape, r0, nr, &x);
    if (!rc) rc = hrf_check_finite(path, name, x, nr * per);
    if (!rc) memcpy(dst, x, nr * per * sizeof *x);
    free(x);
    return rc;
}

int hrf_pdata_load_part(const char *const *paths, size_t npaths, size_t first, size_t count,
                        hrf_pdata **out) {
    *out = NULL;
    if (count == 0) return hrf_error(HRF_EINVAL, "no snapshots to read");
    hrf_pdata *d = calloc(1, sizeof *d);
    pfile f0, f;
    memset(&f0, 0, sizeof f0), memset(&f, 0, sizeof f);
    if (!d) return hrf_error(HRF_ENOMEM, "out of memory");
    size_t at = 0, g0 = 0; /* snapshots read; global index of the file's first */
    int rc = HRF_OK;
    for (size_t k = 0; k < npaths && at < count && !rc; k++) {
        hrf_npz *z = NULL;
        pfile *pf = at ? &f : &f0;
        rc = pfile_open(paths[k], &z, pf);
        if (!rc && first + at >= g0 + pf->S) { /* none of this file's snapshots */
            g0 += pf->S;
            hrf_npz_close(z);
            if (at)
                pfile_free(&f);
            else
                pfile_free(&f0);
            continue;
        }
        const size_t r0 = rc ? 0 : first + at - g0, nr = rc ? 0 : pf->S - r0;
        const size_t take = nr < count - at ? nr : count - at;
        if (!rc && at == 0) { /* the first piece: the system and the arrays */
            const size_t N = f0.N, D = f0.D, n = count * N * D;
            d->S = count, d->N = N, d->D = (int)D, d->trajectories = 1;
            d->q = malloc(n * sizeof(double)), d->p = malloc(n * sizeof(double));
            d->dqdt = malloc(n * sizeof(double)), d->dpdt = malloc(n * sizeof(double));
            d->H = f0.hasH ? malloc(count * sizeof(double)) : NULL;
            d->t = f0.hast ? malloc(count * sizeof(double)) : NULL;
            d->mass = malloc(N * sizeof(double));
            if (!d->q || !d->p || !d->dqdt || !d->dpdt || (f0.hasH && !d->H) ||
                (f0.hast && !d->t) || !d->mass)
                rc = hrf_error(HRF_ENOMEM, "out of memory for %zu snapshots of %zu particles",
                               count, N);
            for (size_t i = 0; i < N && !rc; i++)
                if (!((d->mass[i] = f0.mass[i]) > 0.0) || !isfinite(f0.mass[i]))
                    rc = hrf_error(HRF_EDATA,
                                   "%s: entry 'mass': mass %zu is %g (masses must be > 0)",
                                   paths[k], i, f0.mass[i]);
            if (!rc && f0.bonds) {
                d->n_bonds = f0.n_bonds;
                d->bonds = malloc((f0.n_bonds ? 2 * f0.n_bonds : 1) * sizeof *d->bonds);
                if (!d->bonds) rc = hrf_error(HRF_ENOMEM, "out of memory");
                for (size_t e = 0; e < f0.n_bonds && !rc; e++) {
                    double i = f0.bonds[2 * e], j = f0.bonds[2 * e + 1];
                    if (!(i >= 0.0 && i == floor(i) && j == floor(j) && i < j && j < (double)N))
                        rc = hrf_error(HRF_EDATA,
                                       "%s: entry 'bonds': bond %zu is (%g, %g); expected "
                                       "integers 0 <= i < j < N = %zu",
                                       paths[k], e, i, j, N);
                    else
                        d->bonds[2 * e] = (uint32_t)i, d->bonds[2 * e + 1] = (uint32_t)j;
                }
            } else if (!rc) {
                if (!f0.box || !f0.cutoff || !(*f0.box > 0.0) || !(*f0.cutoff > 0.0) ||
                    *f0.cutoff > 0.5 * *f0.box)
                    rc = hrf_error(HRF_EDATA,
                                   "%s: expected entry 'bonds', or entries 'box' and 'cutoff' "
                                   "with 0 < cutoff <= box / 2",
                                   paths[k]);
                else
                    d->box = *f0.box, d->cutoff = *f0.cutoff;
            }
            if (!rc) { /* a copy: later files are compared with f0's */
                cJSON *mc = cJSON_Duplicate(f0.meta, 1);
                if (!mc) rc = hrf_error(HRF_ENOMEM, "out of memory");
                d->meta = hrf_meta_of(mc);
            }
        } else if (!rc) {
            const char *bad = pfile_differs(&f0, &f);
            if (!bad && f0.hast != f.hast) bad = "entries (one has t, the other not)";
            if (bad)
                rc = hrf_error(HRF_EDATA,
                               "%s: its %s differs from that of %s: the files are not parts of "
                               "one particle data set",
                               paths[k], bad, paths[0]);
        }
        const size_t nq = (size_t)d->N * (size_t)d->D;
        if (!rc) rc = read_snapshots(z, paths[k], "q", pf, r0, take, d->q + at * nq, nq);
        if (!rc) rc = read_snapshots(z, paths[k], "p", pf, r0, take, d->p + at * nq, nq);
        if (!rc) rc = read_snapshots(z, paths[k], "dqdt", pf, r0, take, d->dqdt + at * nq, nq);
        if (!rc) rc = read_snapshots(z, paths[k], "dpdt", pf, r0, take, d->dpdt + at * nq, nq);
        if (!rc && d->H) rc = read_snapshots(z, paths[k], "H", pf, r0, take, d->H + at, 1);
        if (!rc && d->t) rc = read_snapshots(z, paths[k], "t", pf, r0, take, d->t + at, 1);
        hrf_npz_close(z);
        if (!rc) g0 += pf->S, at += take;
        if (pf == &f) pfile_free(&f);
    }
    if (!rc && at < count)
        rc = hrf_error(HRF_EINVAL, "snapshots [%zu, %zu) lie beyond the data set's %zu", first,
                       first + count, g0);
    pfile_free(&f0), pfile_free(&f);
    if (rc) {
        hrf_pdata_free(d);
        return rc;
    }
    *out = d;
    return HRF_OK;
}
