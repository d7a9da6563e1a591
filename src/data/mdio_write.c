/* Writers of molecular-dynamics files (hamrf/mdio.h, docs/formats.md
 * "Molecular-dynamics files"): LAMMPS `dump custom` text and extended XYZ,
 * every number with 17 significant digits so that hamrf's readers get the
 * same doubles back; and the frames of a particle data set. */
#include "core/meta.h"
#include "core/npz.h"
#include "core/textfile.h"
#include "hamrf/mdio.h"

#include "hamrf/status.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int frames_check(const hrf_md_frames *fr) {
    if (!fr || fr->S == 0 || fr->N == 0 || !fr->q || !fr->p || !fr->mass)
        return hrf_error(HRF_EINVAL, "frames to write need S >= 1, N >= 1, q, p and masses");
    if (!(fr->box > 0.0) || !isfinite(fr->box))
        return hrf_error(HRF_EINVAL, "frames to write need a periodic box side > 0, got %g",
                         fr->box);
    if (fr->atom_type)
        for (size_t i = 0; i < fr->N; i++)
            if (fr->atom_type[i] >= (fr->n_types ? fr->n_types : 1))
                return hrf_error(HRF_EINVAL, "atom %zu has type index %u of %zu types", i,
                                 fr->atom_type[i], fr->n_types);
    return HRF_OK;
}

static const char *label_of(const hrf_md_frames *fr, size_t i) {
    uint32_t t = fr->atom_type ? fr->atom_type[i] : 0;
    return fr->type_labels ? fr->type_labels[t] : "1";
}

/* A LAMMPS type number for atom i: its label when that is an integer >= 1,
 * else the label's index + 1. */
static long long type_number(const hrf_md_frames *fr, size_t i) {
    const char *lab = label_of(fr, i);
    char *end;
    long long v = strtoll(lab, &end, 10);
    if (end != lab && *end == '\0' && v >= 1) return v;
    return (long long)(fr->atom_type ? fr->atom_type[i] : 0) + 1;
}

int hrf_lammps_dump_write(const char *path, const hrf_md_frames *fr) {
    int rc = frames_check(fr);
    if (rc) return rc;
    hrf_textfile tf;
    if ((rc = hrf_textfile_open(&tf, path))) return rc;
    FILE *f = tf.f;
    const size_t N = fr->N;
    for (size_t s = 0; s < fr->S; s++) {
        const double *q = fr->q + s * N * 3, *p = fr->p + s * N * 3;
        const double *v = fr->v ? fr->v + s * N * 3 : NULL, *F = fr->f ? fr->f + s * N * 3 : NULL;
        if (fr->time) fprintf(f, "ITEM: TIME\n%.17g\n", fr->time[s]);
        fprintf(f, "ITEM: TIMESTEP\n%lld\nITEM: NUMBER OF ATOMS\n%zu\nITEM: BOX BOUNDS pp pp pp\n",
                fr->timestep ? (long long)fr->timestep[s] : (long long)s, N);
        for (int c = 0; c < 3; c++)
            fprintf(f, "%.17g %.17g\n", fr->box_lo[c], fr->box_lo[c] + fr->box);
        fprintf(f, "ITEM: ATOMS id type mass xu yu zu vx vy vz%s\n", F ? " fx fy fz" : "");
        for (size_t i = 0; i < N; i++) {
            const double m = fr->mass[i];
            fprintf(f, "%zu %lld %.17g", i + 1, type_number(fr, i), m);
            for (int c = 0; c < 3; c++)
                fprintf(f, " %.17g", q[3 * i + (size_t)c]);
            for (int c = 0; c < 3; c++)
                fprintf(f, " %.17g", v ? v[3 * i + (size_t)c] : p[3 * i + (size_t)c] / m);
            for (int c = 0; F && c < 3; c++)
                fprintf(f, " %.17g", F[3 * i + (size_t)c]);
            fputc('\n', f);
        }
    }
    return hrf_textfile_commit(&tf);
}

/* A species name for extended XYZ: the label when it starts with a letter
 * (ASE wants element symbols), else "X" (and the type column says which). */
static const char *species_of(const hrf_md_frames *fr, size_t i) {
    const char *lab = label_of(fr, i);
    return ((lab[0] >= 'A' && lab[0] <= 'Z') || (lab[0] >= 'a' && lab[0] <= 'z')) ? lab : "X";
}

int hrf_extxyz_write(const char *path, const hrf_md_frames *fr) {
    int rc = frames_check(fr);
    if (rc) return rc;
    const size_t N = fr->N;
    int numeric = 0; /* some label is not a name: add a type column */
    for (size_t i = 0; i < N && !numeric; i++)
        numeric = !strcmp(species_of(fr, i), "X") && strcmp(label_of(fr, i), "X");
    hrf_textfile tf;
    if ((rc = hrf_textfile_open(&tf, path))) return rc;
    FILE *f = tf.f;
    const double L = fr->box;
    for (size_t s = 0; s < fr->S; s++) {
        const double *q = fr->q + s * N * 3, *p = fr->p + s * N * 3;
        const double *F = fr->f ? fr->f + s * N * 3 : NULL;
        fprintf(f, "%zu\nLattice=\"%.17g 0 0 0 %.17g 0 0 0 %.17g\" ", N, L, L, L);
        if (fr->box_lo[0] != 0.0 || fr->box_lo[1] != 0.0 || fr->box_lo[2] != 0.0)
            fprintf(f, "Origin=\"%.17g %.17g %.17g\" ", fr->box_lo[0], fr->box_lo[1],
                    fr->box_lo[2]);
        fprintf(f, "Properties=species:S:1:pos:R:3:momenta:R:3%s:masses:R:1%s",
                F ? ":forces:R:3" : "", numeric ? ":type:I:1" : "");
        if (fr->H) {
            double kin = 0.0;
            for (size_t i = 0; i < N; i++)
                for (int c = 0; c < 3; c++)
                    kin += p[3 * i + (size_t)c] * p[3 * i + (size_t)c] / fr->mass[i];
            fprintf(f, " energy=%.17g hamrf_H=%.17g", fr->H[s] - 0.5 * kin, fr->H[s]);
        }
        if (fr->time) fprintf(f, " Time=%.17g", fr->time[s]);
        if (fr->timestep) fprintf(f, " Timestep=%lld", (long long)fr->timestep[s]);
        fprintf(f, " pbc=\"T T T\"\n");
        for (size_t i = 0; i < N; i++) {
            fprintf(f, "%s", species_of(fr, i));
            for (int c = 0; c < 3; c++)
                fprintf(f, " %.17g", q[3 * i + (size_t)c]);
            for (int c = 0; c < 3; c++)
                fprintf(f, " %.17g", p[3 * i + (size_t)c]);
            for (int c = 0; F && c < 3; c++)
                fprintf(f, " %.17g", F[3 * i + (size_t)c]);
            fprintf(f, " %.17g", fr->mass[i]);
            if (numeric) fprintf(f, " %lld", type_number(fr, i));
            fputc('\n', f);
        }
    }
    return hrf_textfile_commit(&tf);
}

/* ---- the frames of a data set ---- */

typedef struct frames_owned {
    hrf_md_frames fr;
    char **labels;
    uint32_t *atype;
    double *timestep;
    double *q, *p, *H, *t; /* trajectories: (J, N, 3) copies, (J), (J) */
} frames_owned;

void hrf_md_frames_free(hrf_md_frames *fr) {
    if (!fr) return;
    frames_owned *o = (frames_owned *)fr;
    for (size_t j = 0; o->labels && j < fr->n_types; j++)
        free(o->labels[j]);
    free(o->labels), free(o->atype), free(o->timestep);
    free(o->q), free(o->p), free(o->H), free(o->t);
    free(o);
}

int hrf_md_frames_of_pdata(const hrf_pdata *d, hrf_md_frames **out) {
    *out = NULL;
    if (d->D != 3 || d->bonds || !(d->box > 0.0))
        return hrf_error(HRF_EINVAL,
                         "MD files hold periodic 3-D systems; this data set is %s in %d-D",
                         d->bonds ? "bonded" : "not periodic", d->D);
    frames_owned *o = calloc(1, sizeof *o);
    if (!o) return hrf_error(HRF_ENOMEM, "out of memory");
    hrf_md_frames *fr = &o->fr;
    fr->S = d->S, fr->N = d->N, fr->q = d->q, fr->p = d->p, fr->v = d->dqdt, fr->f = d->dpdt;
    fr->H = d->H, fr->mass = d->mass, fr->box = d->box, fr->time = d->t, fr->n_types = 1;
    const cJSON *m = HRF_META(d);
    const cJSON *lo = cJSON_GetObjectItemCaseSensitive(m, "box_lo");
    if (cJSON_IsArray(lo) && cJSON_GetArraySize(lo) == 3)
        for (int c = 0; c < 3; c++) {
            const cJSON *e = cJSON_GetArrayItem(lo, c);
            fr->box_lo[c] = cJSON_IsNumber(e) && isfinite(e->valuedouble) ? e->valuedouble : 0.0;
        }
    int rc = HRF_OK;
    const cJSON *tl = cJSON_GetObjectItemCaseSensitive(m, "type_labels");
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(m, "atom_types");
    size_t nl = cJSON_IsArray(tl) ? (size_t)cJSON_GetArraySize(tl) : 0;
    if (nl >= 1) {
        if (!(o->labels = calloc(nl, sizeof *o->labels))) rc = HRF_ENOMEM;
        for (size_t j = 0; !rc && j < nl; j++) {
            const cJSON *e = cJSON_GetArrayItem(tl, (int)j);
            const char *s = cJSON_IsString(e) && e->valuestring[0] ? e->valuestring : "X";
            if (!(o->labels[j] = malloc(strlen(s) + 1)))
                rc = HRF_ENOMEM;
            else
                strcpy(o->labels[j], s);
        }
        fr->n_types = nl;
        if (!rc && nl > 1 && cJSON_IsArray(at) && (size_t)cJSON_GetArraySize(at) == d->N) {
            if (!(o->atype = malloc(d->N * sizeof *o->atype))) rc = HRF_ENOMEM;
            size_t i = 0;
            for (const cJSON *e = at->child; !rc && e; e = e->next, i++) {
                double t = cJSON_IsNumber(e) ? e->valuedouble : -1.0;
                if (!(t >= 0.0 && t < (double)nl && t == floor(t)))
                    rc = hrf_error(HRF_EFORMAT,
                                   "meta \"atom_types\": entry %zu is not a type index", i);
                else
                    o->atype[i] = (uint32_t)t;
            }
        }
    }
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(m, "timesteps");
    if (!rc && cJSON_IsArray(ts) && (size_t)cJSON_GetArraySize(ts) == d->S) {
        if (!(o->timestep = malloc(d->S * sizeof *o->timestep))) rc = HRF_ENOMEM;
        size_t k = 0;
        for (const cJSON *e = ts->child; !rc && e; e = e->next, k++)
            o->timestep[k] = cJSON_IsNumber(e) ? e->valuedouble : (double)k;
    }
    if (rc) {
        hrf_md_frames_free(fr);
        return rc == HRF_ENOMEM ? hrf_error(HRF_ENOMEM, "out of memory") : rc;
    }
    fr->type_labels = (const char *const *)o->labels;
    fr->atom_type = o->atype, fr->timestep = o->timestep;
    *out = fr;
    return HRF_OK;
}

/* Trajectory k of states x (J, n, 6·N), energies H (J, n) or NULL and times t
 * (J) into o's own copies (q, p (J, N, 3), H, t): HRF_OK or HRF_ENOMEM (no
 * message). */
static int frames_take_states(frames_owned *o, size_t N, size_t J, size_t n, size_t k,
                              const double *x, const double *H, const double *t) {
    hrf_md_frames *fr = &o->fr;
    o->q = malloc(J * N * 3 * sizeof *o->q), o->p = malloc(J * N * 3 * sizeof *o->p);
    o->t = malloc(J * sizeof *o->t);
    if (H) o->H = malloc(J * sizeof *o->H);
    if (!o->q || !o->p || !o->t || (H && !o->H)) return HRF_ENOMEM;
    for (size_t j = 0; j < J; j++) {
        const double *xs = x + (j * n + k) * 6 * N;
        memcpy(o->q + j * N * 3, xs, N * 3 * sizeof *o->q);
        memcpy(o->p + j * N * 3, xs + N * 3, N * 3 * sizeof *o->p);
        if (H) o->H[j] = H[j * n + k];
    }
    memcpy(o->t, t, J * sizeof *o->t);
    fr->S = J, fr->q = o->q, fr->p = o->p, fr->v = NULL, fr->f = NULL, fr->H = o->H;
    fr->time = o->t, fr->timestep = NULL;
    return HRF_OK;
}

int hrf_md_frames_of_states(const hrf_pdata *d, size_t J, size_t n, size_t k, const double *x,
                            const double *H, const double *t, hrf_md_frames **out) {
    *out = NULL;
    if (J == 0 || k >= n)
        return hrf_error(HRF_EINVAL, "trajectory %zu of %zu asked for (%zu saved times)", k, n, J);
    hrf_md_frames *fr = NULL;
    int rc = hrf_md_frames_of_pdata(d, &fr);
    if (rc) return rc;
    if ((rc = frames_take_states((frames_owned *)fr, d->N, J, n, k, x, H, t))) {
        hrf_md_frames_free(fr);
        return hrf_error(HRF_ENOMEM, "out of memory for %zu frames of %zu particles", J, d->N);
    }
    *out = fr;
    return HRF_OK;
}

/* A non-negative integer meta member, or -1. */
static double meta_count(const cJSON *m, const char *key) {
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(m, key);
    double v = cJSON_IsNumber(e) ? e->valuedouble : -1.0;
    return v >= 0.0 && v == floor(v) ? v : -1.0;
}

int hrf_md_frames_of_trajectory(const char *path, size_t k, const hrf_pdata *d,
                                hrf_md_frames **out) {
    *out = NULL;
    hrf_md_frames *fr = NULL;
    int rc = hrf_md_frames_of_pdata(d, &fr);
    if (rc) return rc;
    frames_owned *o = (frames_owned *)fr;
    hrf_npz *z = NULL;
    cJSON *meta = NULL;
    double *x = NULL, *H = NULL, *t = NULL;
    if ((rc = hrf_npz_open(path, &z)) || (rc = hrf_npz_read_meta(z, "trajectory", &meta)))
        goto done;
    const double Nm = meta_count(meta, "n_particles"), Dm = meta_count(meta, "particle_dim");
    if (Nm < 0.0 || Dm < 0.0) {
        rc = hrf_error(HRF_EFORMAT,
                       "%s: meta has no n_particles / particle_dim: not a particle rollout "
                       "(hamrf rollout --data PARTICLES.npz)",
                       path);
        goto done;
    }
    if ((size_t)Nm != d->N || Dm != 3.0) {
        rc = hrf_error(HRF_EDATA,
                       "%s: %g particles in %g-D, but the data set has %zu in 3-D (give the "
                       "data set the rollout started from)",
                       path, Nm, Dm, d->N);
        goto done;
    }
    const size_t N = d->N;
    size_t s3[3] = {0, 0, 6 * N};
    if ((rc = hrf_npz_read(z, "x", 3, s3, &x)) ||
        (rc = hrf_check_finite(path, "x", x, s3[0] * s3[1] * s3[2])))
        goto done;
    const size_t J = s3[0], n = s3[1];
    if (J == 0 || k >= n) {
        rc = hrf_error(HRF_EINVAL,
                       "%s: trajectory %zu asked for, the file has %zu (of %zu saved "
                       "times)",
                       path, k, n, J);
        goto done;
    }
    size_t s1[1] = {J};
    if ((rc = hrf_npz_read(z, "t", 1, s1, &t))) goto done;
    if (hrf_npz_has(z, "H")) {
        size_t s2[2] = {J, n};
        if ((rc = hrf_npz_read(z, "H", 2, s2, &H))) goto done;
    }
    rc = frames_take_states(o, N, J, n, k, x, H, t);
done:
    if (rc == HRF_ENOMEM) rc = hrf_error(HRF_ENOMEM, "%s: out of memory", path);
    free(x), free(H), free(t);
    cJSON_Delete(meta);
    hrf_npz_close(z);
    if (rc) {
        hrf_md_frames_free(fr);
        return rc;
    }
    *out = fr;
    return HRF_OK;
}
