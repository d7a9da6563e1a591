/* Readers of molecular-dynamics files into particle data sets (hamrf/mdio.h,
 * docs/formats.md "Molecular-dynamics files"): LAMMPS `dump custom` text and
 * extended XYZ. Both share the frame accumulator below, which keeps the
 * frames that `every` selects, checks sizes against the available memory
 * before it grows, and turns the frames into an hrf_pdata without copying.
 *
 * Unwrapping (docs/formats.md): q = x + n·L with an integer image count n
 * per atom and axis, from the image flags (dump ix iy iz) or by continuity
 * (n changes by the rounded jump (x_prev − x)/L between consecutive frames,
 * read or skipped). Positions that are already continuous keep n = 0 and so
 * come out bit for bit as written. */
#include "core/meta.h"
#include "core/sysinfo.h"
#include "hamrf/mdio.h"

#include "hamrf/status.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

void hrf_md_import_params_default(hrf_md_import_params *p) {
    memset(p, 0, sizeof *p);
    p->every = 1;
    p->max_atoms = (size_t)UINT32_MAX;
}

const char *hrf_md_import_params_check(const hrf_md_import_params *p) {
    if (p->every == 0) return "--every must be at least 1";
    if (!(p->cutoff > 0.0) || !isfinite(p->cutoff))
        return "the cutoff must be a finite number > 0 (--cutoff RC: pairs closer than RC "
               "interact)";
    if (!(p->mass >= 0.0) || !isfinite(p->mass)) return "the mass must be a finite number > 0";
    for (size_t i = 0; i < p->n_type_masses; i++)
        if (!p->type_labels || !p->type_labels[i] || !p->type_labels[i][0] || !p->type_masses ||
            !(p->type_masses[i] > 0.0) || !isfinite(p->type_masses[i]))
            return "masses by type need a label and a finite mass > 0 for each type "
                   "(--mass 1=1.0,2=39.948)";
    if (p->max_atoms == 0 || p->max_atoms > (size_t)UINT32_MAX)
        return "max_atoms must be in 1 .. 2^32 - 1";
    return NULL;
}

/* ---- line reader ---- */

typedef struct reader {
    FILE *f;
    const char *path;
    char *line;      /* the current line, without its newline */
    size_t cap;      /* getline's buffer size */
    size_t lineno;   /* 1-based number of the current line */
    double fsize;    /* file size in bytes (for size checks) */
    double consumed; /* bytes read so far */
    size_t frame;    /* 0-based frame being read */
} reader;

/* Reads the next line: 1, or 0 at the end of the file. */
static int rd_next(reader *r) {
    errno = 0;
    ssize_t n = getline(&r->line, &r->cap, r->f);
    if (n < 0) return 0;
    r->lineno++;
    r->consumed += (double)n;
    while (n > 0 && (r->line[n - 1] == '\n' || r->line[n - 1] == '\r'))
        r->line[--n] = '\0';
    return 1;
}

/* "PATH: frame F, line L: <message>" with the given status. */
__attribute__((format(printf, 3, 4))) static int rd_error(const reader *r, int status,
                                                          const char *fmt, ...) {
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return hrf_error(status, "%s: frame %zu, line %zu: %s", r->path, r->frame, r->lineno, msg);
}

static int rd_truncated(const reader *r, const char *expected) {
    return hrf_error(HRF_EFORMAT, "%s: frame %zu, line %zu: the file ends here, expected %s",
                     r->path, r->frame, r->lineno + 1, expected);
}

static int rd_open(reader *r, const char *path) {
    memset(r, 0, sizeof *r);
    r->path = path;
    struct stat st;
    if (stat(path, &st) != 0)
        return hrf_error(HRF_EIO, "%s: cannot open (%s)", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return hrf_error(HRF_EIO, "%s: is a folder, not a file", path);
    r->fsize = (double)st.st_size;
    if (!(r->f = fopen(path, "r")))
        return hrf_error(HRF_EIO, "%s: cannot open (%s)", path, strerror(errno));
    return HRF_OK;
}

static void rd_close(reader *r) {
    if (r->f) fclose(r->f);
    free(r->line);
}

/* Splits s in place at blanks into at most max tokens; returns the count
 * (max + 1 when there are more). */
static size_t split(char *s, char **tok, size_t max) {
    size_t n = 0;
    char *save = NULL;
    for (char *t = strtok_r(s, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
        if (n == max) return max + 1;
        tok[n++] = t;
    }
    return n;
}

/* A finite number filling the whole token. */
static int parse_num(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

/* An integer filling the whole token (|v| < 2^53, exact as a double). */
static int parse_int(const char *s, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || errno == ERANGE || v > (1LL << 53) || v < -(1LL << 53))
        return -1;
    *out = v;
    return 0;
}

/* ---- frame accumulator ---- */

typedef struct acc {
    size_t N;           /* atoms */
    size_t K, cap;      /* kept frames, capacity in frames */
    double *q, *v, *f;  /* (cap, N, 3) */
    double *H, *ts, *t; /* (cap) energy, timestep, time */
} acc;

static void acc_free(acc *a) {
    free(a->q), free(a->v), free(a->f), free(a->H), free(a->ts), free(a->t);
}

/* Room for one more frame: grows by half, refusing (HRF_ETOOBIG) before
 * allocating when the frames and the data set made of them (one more array,
 * the momenta) would exceed the available memory. */
static int acc_reserve(acc *a, const reader *r) {
    if (a->K < a->cap) return HRF_OK;
    size_t cap = a->cap ? a->cap + a->cap / 2 + 1 : 4;
    const double frame_bytes = 8.0 * 3.0 * (double)a->N;
    const double need = frame_bytes * (3.0 * (double)cap + (double)a->K + 1.0);
    const double avail = (double)hrf_mem_available();
    if (avail > 0.0 && need > avail)
        return rd_error(r, HRF_ETOOBIG,
                        "%zu frames of %zu atoms need about %.3g GiB, but only %.3g GiB are "
                        "available (keep fewer frames with a larger --every)",
                        a->K + 1, a->N, frame_bytes * 4.0 * (double)(a->K + 1) / 1073741824.0,
                        avail / 1073741824.0);
    const size_t n = cap * a->N * 3;
    double *q = realloc(a->q, n * sizeof *q);
    if (q) a->q = q;
    double *v = q ? realloc(a->v, n * sizeof *v) : NULL;
    if (v) a->v = v;
    double *f = v ? realloc(a->f, n * sizeof *f) : NULL;
    if (f) a->f = f;
    double *H = f ? realloc(a->H, cap * sizeof *H) : NULL;
    if (H) a->H = H;
    double *ts = H ? realloc(a->ts, cap * sizeof *ts) : NULL;
    if (ts) a->ts = ts;
    double *t = ts ? realloc(a->t, cap * sizeof *t) : NULL;
    if (t) a->t = t;
    if (!t) return rd_error(r, HRF_ENOMEM, "out of memory for %zu frames of %zu atoms", cap, a->N);
    a->cap = cap;
    return HRF_OK;
}

/* Turns the kept frames into a data set (the arrays move into it). */
/* a->v holds velocities (momenta = 0: p = m v, dq/dt = v exactly) or momenta
 * (momenta = 1: p exactly, dq/dt = p / m, as hamrf's own data sets). */
static int acc_to_pdata(acc *a, const double *mass, int momenta, double box, double cutoff,
                        int has_H, int has_t, cJSON *meta, hrf_pdata **out) {
    hrf_pdata *d = calloc(1, sizeof *d);
    const size_t n = a->K * a->N * 3;
    double *w = malloc((n ? n : 1) * sizeof *w);
    double *m = malloc(a->N * sizeof *m);
    if (!d || !w || !m) {
        free(d), free(w), free(m), cJSON_Delete(meta);
        return hrf_error(HRF_ENOMEM, "out of memory");
    }
    memcpy(m, mass, a->N * sizeof *m);
    for (size_t k = 0; k < a->K; k++)
        for (size_t i = 0; i < a->N; i++)
            for (int c = 0; c < 3; c++) {
                size_t o = (k * a->N + i) * 3 + (size_t)c;
                w[o] = momenta ? a->v[o] / m[i] : m[i] * a->v[o];
            }
    d->S = a->K, d->N = a->N, d->D = 3;
    d->q = a->q, d->dpdt = a->f, d->mass = m;
    d->p = momenta ? a->v : w, d->dqdt = momenta ? w : a->v;
    d->H = has_H ? a->H : NULL;
    d->t = has_t ? a->t : NULL;
    if (!has_H) free(a->H);
    if (!has_t) free(a->t);
    free(a->ts);
    memset(a, 0, sizeof *a);
    d->box = box, d->cutoff = cutoff, d->trajectories = 1;
    d->meta = hrf_meta_of(meta);
    *out = d;
    return HRF_OK;
}

/* Masses of the N atoms (sorted order): params' single mass, else by type
 * label, else the file's column (col_mass, NULL when absent). */
static int assign_masses(const reader *r, const hrf_md_import_params *p, size_t N,
                         const uint32_t *atom_type, char **labels, const double *col_mass,
                         const char *col_name, double *mass) {
    if (p->mass > 0.0) {
        for (size_t i = 0; i < N; i++)
            mass[i] = p->mass;
        return HRF_OK;
    }
    if (p->n_type_masses) {
        for (size_t i = 0; i < N; i++) {
            const char *lab = labels[atom_type[i]];
            size_t k = 0;
            while (k < p->n_type_masses && strcmp(p->type_labels[k], lab))
                k++;
            if (k == p->n_type_masses)
                return hrf_error(HRF_EDATA,
                                 "%s: no mass for type '%s' (give every type one: --mass "
                                 "%s=M,...)",
                                 r->path, lab, lab);
            mass[i] = p->type_masses[k];
        }
        return HRF_OK;
    }
    if (!col_mass)
        return hrf_error(HRF_EDATA,
                         "%s: the atoms' masses are unknown: the file has no '%s' column; give "
                         "--mass M (every atom) or --mass TYPE=M,...",
                         r->path, col_name);
    for (size_t i = 0; i < N; i++) {
        if (!(col_mass[i] > 0.0))
            return hrf_error(HRF_EDATA,
                             "%s: frame 0: column '%s': atom %zu has mass %g, expected > 0",
                             r->path, col_name, i, col_mass[i]);
        mass[i] = col_mass[i];
    }
    return HRF_OK;
}

/* The box side of lo/hi per axis: orthogonal and cubic. */
static int cubic_side(const reader *r, const double lo[3], const double hi[3], double *L) {
    double s[3];
    for (int c = 0; c < 3; c++) {
        s[c] = hi[c] - lo[c];
        if (!(s[c] > 0.0))
            return rd_error(r, HRF_EDATA, "box axis %c: lo %.17g, hi %.17g: expected lo < hi",
                            'x' + c, lo[c], hi[c]);
    }
    if (fabs(s[1] - s[0]) > 1e-12 * s[0] || fabs(s[2] - s[0]) > 1e-12 * s[0])
        return rd_error(r, HRF_EDATA,
                        "the box is %.17g x %.17g x %.17g; hamrf's particle data sets hold a "
                        "cubic periodic box (equal sides within 1e-12)",
                        s[0], s[1], s[2]);
    *L = s[0];
    return HRF_OK;
}

/* The first frame fixes the box; later ones must keep it. */
static int same_box(const reader *r, const double lo0[3], const double L0, const double lo[3],
                    double L) {
    if (fabs(L - L0) > 1e-12 * L0 || fabs(lo[0] - lo0[0]) > 1e-12 * L0 ||
        fabs(lo[1] - lo0[1]) > 1e-12 * L0 || fabs(lo[2] - lo0[2]) > 1e-12 * L0)
        return rd_error(r, HRF_EDATA,
                        "the box changed (side %.17g, first frame %.17g): hamrf's particle data "
                        "sets hold one fixed box",
                        L, L0);
    return HRF_OK;
}

static int check_cutoff(const reader *r, double L, double rc) {
    if (2.0 * rc > L)
        return rd_error(r, HRF_EDATA,
                        "the cutoff %g exceeds half the box side %.17g (the minimum image needs "
                        "box >= 2 cutoff)",
                        rc, L);
    return HRF_OK;
}

/* Sort order of the atoms by id: perm[k] = row of the k-th smallest id. */
typedef struct id_row {
    long long id;
    size_t row;
} id_row;

static int cmp_id(const void *a, const void *b) {
    const id_row *x = a, *y = b;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Sorts by id; the first frame records the ids, later frames must have the
 * same set. HRF_EDATA for a repeated or changed id. */
static int sort_ids(const reader *r, size_t line0, id_row *ir, size_t N, long long *ids0,
                    int first) {
    qsort(ir, N, sizeof *ir, cmp_id);
    for (size_t k = 0; k < N; k++) {
        if (k && ir[k].id == ir[k - 1].id)
            return hrf_error(HRF_EDATA, "%s: frame %zu, line %zu: atom id %lld appears twice",
                             r->path, r->frame, line0 + ir[k].row, ir[k].id);
        if (first)
            ids0[k] = ir[k].id;
        else if (ir[k].id != ids0[k])
            return hrf_error(HRF_EDATA,
                             "%s: frame %zu: the atom ids changed (frame 0 has id %lld where this "
                             "frame has %lld): every frame must hold the same atoms",
                             r->path, r->frame, ids0[k], ir[k].id);
    }
    return HRF_OK;
}

/* Unwraps x (N, 3) in place: q = x + n·L, with img (N, 3) the image counts
 * updated by continuity against prev (N, 3) (the previous frame's x, or
 * NULL for the first frame). */
static void unwrap_continuity(size_t N, double L, const double *prev, double *img, double *x) {
    for (size_t j = 0; j < 3 * N; j++) {
        if (prev) img[j] += nearbyint((prev[j] - x[j]) / L);
        if (img[j] != 0.0) x[j] += img[j] * L;
    }
}

/* ---- LAMMPS dump custom ---- */

enum {
    C_ID,
    C_TYPE,
    C_MASS,
    C_X,
    C_Y,
    C_Z,
    C_XU,
    C_YU,
    C_ZU,
    C_IX,
    C_IY,
    C_IZ,
    C_VX,
    C_VY,
    C_VZ,
    C_FX,
    C_FY,
    C_FZ,
    C_N
};
static const char *const dump_names[C_N] = {"id", "type", "mass", "x",  "y",  "z",
                                            "xu", "yu",   "zu",   "ix", "iy", "iz",
                                            "vx", "vy",   "vz",   "fx", "fy", "fz"};

/* Units in which p = m v and dp/dt = F hold without conversion factors. */
static int units_consistent(const char *u) {
    static const char *const ok[] = {"lj", "si", "cgs", "micro", "nano"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (!strcmp(u, ok[i])) return 1;
    return 0;
}

typedef enum { POS_UNWRAPPED, POS_IMAGE, POS_CONTINUITY } pos_mode;
static const char *const pos_mode_name[] = {"unwrapped columns xu yu zu",
                                            "wrapped x y z plus image flags ix iy iz",
                                            "continuity of wrapped x y z between frames"};

/* Expects the line "ITEM: <what>..." and returns what follows `what`. */
static const char *item(const reader *r, const char *what) {
    size_t n = strlen(what);
    if (strncmp(r->line, "ITEM: ", 6) || strncmp(r->line + 6, what, n)) return NULL;
    const char *rest = r->line + 6 + n;
    return *rest == '\0' || *rest == ' ' || *rest == '\t' ? rest : NULL; /* whole words */
}

typedef struct dump_state {
    int col[C_N]; /* column index of each known name, -1 if absent */
    size_t ncols;
    char *header; /* the ATOMS line of frame 0 */
    pos_mode mode;
    long long *ids0;  /* (N) sorted ids of frame 0 */
    uint32_t *atype;  /* (N) type index per atom (sorted order) */
    long long *types; /* distinct type numbers, ascending */
    size_t ntypes;
    double *mass_col;            /* (N) frame 0's mass column, or NULL */
    double *x, *prev, *wr, *img; /* (N, 3): this frame, previous frame's wrapped x, this
                                    frame's wrapped x, image counts */
    double *vals;     /* (N, 13) parsed row values: x y z (or xu..), vx..fz, ix iy iz, e */
    int ecol;         /* the energy column, or -1 */
    id_row *ir;       /* (N) */
    long long *rtype; /* (N) type per row */
    double *rmass;    /* (N) mass per row */
    char **tok;       /* (ncols + 1) */
} dump_state;

/* A frame's atom count nat: frame 0 sets *N (at most p->max_atoms, and no
 * more than a file of r->fsize bytes can hold at min_bytes per atom), later
 * frames must repeat it. HRF_OK or the error, naming the line. */
static int frame_atoms(const reader *r, const hrf_md_import_params *p, long long nat,
                       double min_bytes, const char *format, size_t *N) {
    if (r->frame == 0) {
        if ((unsigned long long)nat > (unsigned long long)p->max_atoms)
            return rd_error(r, HRF_ETOOBIG, "%lld atoms: more than the %zu allowed", nat,
                            p->max_atoms);
        if ((double)nat * min_bytes > r->fsize)
            return rd_error(r, HRF_EFORMAT,
                            "%lld atoms cannot fit in the %.0f bytes of the file (truncated or "
                            "not %s)",
                            nat, r->fsize, format);
        *N = (size_t)nat;
    } else if ((size_t)nat != *N) {
        return rd_error(r, HRF_EDATA,
                        "%lld atoms, but frame 0 has %zu: every frame must hold the same atoms",
                        nat, *N);
    }
    return HRF_OK;
}

static void dump_state_free(dump_state *s) {
    free(s->header), free(s->ids0), free(s->atype), free(s->types), free(s->mass_col);
    free(s->x), free(s->prev), free(s->wr), free(s->img), free(s->vals), free(s->ir),
        free(s->rtype);
    free(s->rmass), free(s->tok);
}

/* Reads the column names of the first frame's ATOMS line. */
static int dump_columns(const reader *r, const char *names, dump_state *s) {
    for (int c = 0; c < C_N; c++)
        s->col[c] = -1;
    size_t len = strlen(names);
    char *buf = malloc(len + 1);
    if (!buf || !(s->header = malloc(len + 1))) {
        free(buf);
        return hrf_error(HRF_ENOMEM, "out of memory");
    }
    memcpy(buf, names, len + 1), memcpy(s->header, names, len + 1);
    s->ncols = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save), s->ncols++) {
        if (!strcmp(t, "xs") || !strcmp(t, "ys") || !strcmp(t, "zs") || !strcmp(t, "xsu") ||
            !strcmp(t, "ysu") || !strcmp(t, "zsu")) {
            /* the message names t, which lives in buf: format it first */
            int rc = rd_error(r, HRF_EFORMAT,
                              "column '%s': scaled coordinates are not read; dump xu yu zu (or x "
                              "y z with ix iy iz)",
                              t);
            free(buf);
            return rc;
        }
        for (int c = 0; c < C_N; c++)
            if (!strcmp(t, dump_names[c])) {
                if (s->col[c] >= 0) {
                    int rc = rd_error(r, HRF_EFORMAT, "column '%s' appears twice", t);
                    free(buf);
                    return rc;
                }
                s->col[c] = (int)s->ncols;
            }
    }
    free(buf);
    char missing[256] = "";
    const int need[] = {C_ID, C_VX, C_VY, C_VZ, C_FX, C_FY, C_FZ};
    for (size_t k = 0; k < sizeof need / sizeof *need; k++)
        if (s->col[need[k]] < 0)
            snprintf(missing + strlen(missing), sizeof missing - strlen(missing), " %s",
                     dump_names[need[k]]);
    int has_u = s->col[C_XU] >= 0 && s->col[C_YU] >= 0 && s->col[C_ZU] >= 0;
    int has_w = s->col[C_X] >= 0 && s->col[C_Y] >= 0 && s->col[C_Z] >= 0;
    int has_i = s->col[C_IX] >= 0 && s->col[C_IY] >= 0 && s->col[C_IZ] >= 0;
    if (!has_u && !has_w)
        snprintf(missing + strlen(missing), sizeof missing - strlen(missing),
                 " xu yu zu (or x y z)");
    if (missing[0])
        return rd_error(r, HRF_EFORMAT,
                        "ITEM: ATOMS lacks column(s)%s (expected id, positions xu yu zu or x y z "
                        "[ix iy iz], vx vy vz and fx fy fz, in any order)",
                        missing);
    s->mode = has_u ? POS_UNWRAPPED : has_i ? POS_IMAGE : POS_CONTINUITY;
    return HRF_OK;
}

/* Value columns read per atom, in the order of s->vals' rows. */
static void dump_value_cols(const dump_state *s, int cols[9]) {
    const int base = s->mode == POS_UNWRAPPED ? C_XU : C_X;
    for (int c = 0; c < 3; c++)
        cols[c] = s->col[base + c], cols[3 + c] = s->col[C_VX + c], cols[6 + c] = s->col[C_FX + c];
}

int hrf_lammps_dump_read(const char *path, const hrf_md_import_params *p, hrf_pdata **out) {
    *out = NULL;
    const char *msg = hrf_md_import_params_check(p);
    if (msg) return hrf_error(HRF_EINVAL, "%s", msg);
    reader r;
    int rc = rd_open(&r, path);
    if (rc) return rc;
    acc a = {0};
    dump_state s = {0};
    char units[32] = "";
    double lo0[3] = {0, 0, 0}, L0 = 0.0;
    size_t N = 0, read_frames = 0;
    cJSON *timesteps = cJSON_CreateArray();
    int have_time = 1;
    if (!timesteps) rc = hrf_error(HRF_ENOMEM, "out of memory");
    for (r.frame = 0; !rc; r.frame++) {
        double time = NAN;
        /* header: [ITEM: UNITS, ITEM: TIME] ITEM: TIMESTEP */
        int got = rd_next(&r);
        while (got && r.line[strspn(r.line, " \t")] == '\0')
            got = rd_next(&r); /* blank lines between frames */
        if (!got) break;       /* the end of the file, between frames */
        for (;;) {
            if (item(&r, "UNITS")) {
                if (!rd_next(&r)) {
                    rc = rd_truncated(&r, "the units after ITEM: UNITS");
                    break;
                }
                char *tok[2];
                if (split(r.line, tok, 1) != 1) {
                    rc = rd_error(&r, HRF_EFORMAT, "expected one unit style after ITEM: UNITS");
                    break;
                }
                if (!units_consistent(tok[0])) {
                    rc = rd_error(&r, HRF_EDATA,
                                  "units '%s': p = m v and dp/dt = F hold without conversion "
                                  "factors only in units lj, si, cgs, micro and nano (real and "
                                  "metal need factors hamrf does not apply)",
                                  tok[0]);
                    break;
                }
                snprintf(units, sizeof units, "%s", tok[0]);
            } else if (item(&r, "TIME")) {
                char *tok[2];
                if (!rd_next(&r)) {
                    rc = rd_truncated(&r, "the time after ITEM: TIME");
                    break;
                }
                if (split(r.line, tok, 1) != 1 || parse_num(tok[0], &time)) {
                    rc = rd_error(&r, HRF_EFORMAT, "ITEM: TIME: expected one finite number");
                    break;
                }
            } else {
                break;
            }
            if (!rd_next(&r)) {
                rc = rd_truncated(&r, "'ITEM: TIMESTEP'");
                break;
            }
        }
        if (rc) break;
        if (!isfinite(time)) have_time = 0;
        long long step = 0;
        if (!item(&r, "TIMESTEP")) {
            rc = rd_error(&r, HRF_EFORMAT, "expected 'ITEM: TIMESTEP', found '%.60s'", r.line);
            break;
        }
        char *tok1[2];
        if (!rd_next(&r)) {
            rc = rd_truncated(&r, "the timestep");
            break;
        }
        if (split(r.line, tok1, 1) != 1 || parse_int(tok1[0], &step)) {
            rc = rd_error(&r, HRF_EFORMAT, "timestep: expected one integer");
            break;
        }
        if (!rd_next(&r)) {
            rc = rd_truncated(&r, "'ITEM: NUMBER OF ATOMS'");
            break;
        }
        if (!item(&r, "NUMBER OF ATOMS")) {
            rc = rd_error(&r, HRF_EFORMAT, "expected 'ITEM: NUMBER OF ATOMS', found '%.60s'",
                          r.line);
            break;
        }
        if (!rd_next(&r)) {
            rc = rd_truncated(&r, "the number of atoms");
            break;
        }
        long long nat = 0;
        if (split(r.line, tok1, 1) != 1 || parse_int(tok1[0], &nat) || nat < 1) {
            rc = rd_error(&r, HRF_EFORMAT, "number of atoms: expected one integer >= 1");
            break;
        }
        /* An atom line has at least 2 bytes per column and there are at least
         * 10 columns: refuse what the file cannot hold. */
        if ((rc = frame_atoms(&r, p, nat, 20.0, "a dump", &N))) break;
        if (!rd_next(&r)) {
            rc = rd_truncated(&r, "'ITEM: BOX BOUNDS pp pp pp'");
            break;
        }
        const char *flags = item(&r, "BOX BOUNDS");
        if (!flags) {
            rc = rd_error(&r, HRF_EFORMAT, "expected 'ITEM: BOX BOUNDS pp pp pp', found '%.60s'",
                          r.line);
            break;
        }
        {
            char fl[128], *ft[8];
            snprintf(fl, sizeof fl, "%s", flags);
            size_t nf = split(fl, ft, 7);
            if (nf >= 1 && (!strcmp(ft[0], "xy") || !strcmp(ft[0], "xz") || !strcmp(ft[0], "yz"))) {
                rc = rd_error(&r, HRF_EDATA,
                              "a triclinic box (BOX BOUNDS xy xz yz ...); only orthogonal "
                              "periodic boxes are read");
                break;
            }
            if (nf != 3 || strcmp(ft[0], "pp") || strcmp(ft[1], "pp") || strcmp(ft[2], "pp")) {
                rc = rd_error(&r, HRF_EDATA,
                              "box boundaries '%.40s': expected periodic 'pp pp pp' (hamrf's "
                              "particle data sets are periodic in every direction)",
                              flags);
                break;
            }
        }
        double lo[3], hi[3], L = 0.0;
        for (int c = 0; c < 3 && !rc; c++) {
            char *bt[4];
            if (!rd_next(&r)) {
                rc = rd_truncated(&r, "a line of box bounds 'lo hi'");
                break;
            }
            size_t nb = split(r.line, bt, 3);
            if (nb == 3)
                rc = rd_error(&r, HRF_EDATA,
                              "three numbers on a box bounds line: a triclinic box; only "
                              "orthogonal periodic boxes are read");
            else if (nb != 2 || parse_num(bt[0], &lo[c]) || parse_num(bt[1], &hi[c]))
                rc =
                    rd_error(&r, HRF_EFORMAT,
                             "box bounds of axis %c: expected two finite numbers 'lo hi'", 'x' + c);
        }
        if (rc || (rc = cubic_side(&r, lo, hi, &L))) break;
        if (r.frame == 0) {
            memcpy(lo0, lo, sizeof lo0), L0 = L;
            if ((rc = check_cutoff(&r, L, p->cutoff))) break;
        } else if ((rc = same_box(&r, lo0, L0, lo, L))) {
            break;
        }
        if (!rd_next(&r)) {
            rc = rd_truncated(&r, "'ITEM: ATOMS <columns>'");
            break;
        }
        const char *cols = item(&r, "ATOMS");
        if (!cols) {
            rc = rd_error(&r, HRF_EFORMAT, "expected 'ITEM: ATOMS <columns>', found '%.60s'",
                          r.line);
            break;
        }
        if (r.frame == 0) {
            if ((rc = dump_columns(&r, cols, &s))) break;
            s.ecol = -1;
            if (p->energy_column) {
                char buf[4096], *t;
                snprintf(buf, sizeof buf, "%s", cols);
                size_t k = 0;
                char *save = NULL;
                for (t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save), k++)
                    if (!strcmp(t, p->energy_column)) s.ecol = (int)k;
                if (s.ecol < 0) {
                    rc = rd_error(&r, HRF_EFORMAT,
                                  "ITEM: ATOMS lacks the energy column '%s' (dump a per-atom "
                                  "energy, e.g. compute pe all pe/atom and column c_pe)",
                                  p->energy_column);
                    break;
                }
            }
            if (s.ncols > 1000000) {
                rc = rd_error(&r, HRF_EFORMAT, "%zu columns: too many", s.ncols);
                break;
            }
            if ((double)N * 2.0 * (double)s.ncols > r.fsize) {
                rc = rd_error(&r, HRF_EFORMAT,
                              "%zu atoms of %zu columns cannot fit in the %.0f bytes of the file "
                              "(truncated?)",
                              N, s.ncols, r.fsize);
                break;
            }
            s.ids0 = malloc(N * sizeof *s.ids0), s.atype = malloc(N * sizeof *s.atype);
            s.x = malloc(3 * N * sizeof *s.x), s.prev = malloc(3 * N * sizeof *s.prev);
            s.wr = malloc(3 * N * sizeof *s.wr);
            s.img = calloc(3 * N, sizeof *s.img), s.vals = malloc(13 * N * sizeof *s.vals);
            s.ir = malloc(N * sizeof *s.ir), s.rtype = malloc(N * sizeof *s.rtype);
            s.rmass = malloc(N * sizeof *s.rmass), s.tok = malloc((s.ncols + 1) * sizeof *s.tok);
            a.N = N;
            if (!s.ids0 || !s.atype || !s.x || !s.prev || !s.wr || !s.img || !s.vals || !s.ir ||
                !s.rtype || !s.rmass || !s.tok) {
                rc = hrf_error(HRF_ENOMEM, "%s: out of memory for %zu atoms", path, N);
                break;
            }
        } else {
            const char *c0 = cols + strspn(cols, " \t"), *h0 = s.header + strspn(s.header, " \t");
            if (strcmp(c0, h0)) {
                rc = rd_error(&r, HRF_EFORMAT,
                              "the columns changed: 'ITEM: ATOMS %.80s', frame 0 has '%.80s'", c0,
                              h0);
                break;
            }
        }
        /* the atom lines */
        int vc[9];
        dump_value_cols(&s, vc);
        const size_t line0 = r.lineno + 1;
        for (size_t row = 0; row < N && !rc; row++) {
            if (!rd_next(&r)) {
                char what[96];
                snprintf(what, sizeof what, "atom line %zu of %zu", row + 1, N);
                rc = rd_truncated(&r, what);
                break;
            }
            size_t nt = split(r.line, s.tok, s.ncols);
            if (nt != s.ncols) {
                rc = rd_error(&r, HRF_EFORMAT, "%s%zu values, expected %zu (the ATOMS columns)",
                              nt > s.ncols ? "more than " : "", nt > s.ncols ? s.ncols : nt,
                              s.ncols);
                break;
            }
            long long id;
            if (parse_int(s.tok[s.col[C_ID]], &id)) {
                rc = rd_error(&r, HRF_EDATA, "column 'id': expected an integer, found '%.40s'",
                              s.tok[s.col[C_ID]]);
                break;
            }
            s.ir[row].id = id, s.ir[row].row = row;
            s.rtype[row] = 1;
            if (s.col[C_TYPE] >= 0 && parse_int(s.tok[s.col[C_TYPE]], &s.rtype[row])) {
                rc = rd_error(&r, HRF_EDATA, "column 'type': expected an integer, found '%.40s'",
                              s.tok[s.col[C_TYPE]]);
                break;
            }
            if (s.col[C_MASS] >= 0 && parse_num(s.tok[s.col[C_MASS]], &s.rmass[row])) {
                rc = rd_error(&r, HRF_EDATA,
                              "column 'mass': expected a finite number, found '%.40s'",
                              s.tok[s.col[C_MASS]]);
                break;
            }
            for (int c = 0; c < 9 && !rc; c++)
                if (parse_num(s.tok[vc[c]], &s.vals[13 * row + (size_t)c]))
                    rc = rd_error(&r, HRF_EDATA,
                                  "column '%s': expected a finite number, found '%.40s'",
                                  dump_names[c < 3   ? (s.mode == POS_UNWRAPPED ? C_XU : C_X) + c
                                             : c < 6 ? C_VX + c - 3
                                                     : C_FX + c - 6],
                                  s.tok[vc[c]]);
            if (!rc && s.ecol >= 0 && parse_num(s.tok[s.ecol], &s.vals[13 * row + 12]))
                rc = rd_error(&r, HRF_EDATA, "column '%s': expected a finite number, found '%.40s'",
                              p->energy_column, s.tok[s.ecol]);
            for (int c = 0; c < 3 && !rc && s.mode == POS_IMAGE; c++) {
                long long im = 0;
                if (parse_int(s.tok[s.col[C_IX + c]], &im))
                    rc = rd_error(&r, HRF_EDATA,
                                  "column '%s': expected an integer image flag, found '%.40s'",
                                  dump_names[C_IX + c], s.tok[s.col[C_IX + c]]);
                s.vals[13 * row + 9 + (size_t)c] = (double)im;
            }
        }
        if (rc || (rc = sort_ids(&r, line0, s.ir, N, s.ids0, r.frame == 0))) break;
        /* types: frame 0 lists them; later frames must agree */
        if (r.frame == 0) {
            s.types = malloc(N * sizeof *s.types);
            if (!s.types) {
                rc = hrf_error(HRF_ENOMEM, "out of memory");
                break;
            }
            for (size_t k = 0; k < N; k++)
                s.types[k] = s.rtype[k];
            /* distinct ascending (insertion into a small sorted list) */
            size_t nt = 0;
            for (size_t k = 0; k < N; k++) {
                long long t = s.rtype[k];
                size_t j = 0;
                while (j < nt && s.types[j] < t)
                    j++;
                if (j < nt && s.types[j] == t) continue;
                if (nt >= 1000) {
                    rc = rd_error(&r, HRF_EDATA, "more than 1000 atom types");
                    break;
                }
                memmove(s.types + j + 1, s.types + j, (nt - j) * sizeof *s.types);
                s.types[j] = t, nt++;
            }
            s.ntypes = nt;
            if (rc) break;
        }
        for (size_t k = 0; k < N; k++) {
            long long t = s.rtype[s.ir[k].row];
            size_t j = 0;
            while (j < s.ntypes && s.types[j] != t)
                j++;
            if (r.frame == 0) {
                s.atype[k] = (uint32_t)j;
            } else if (j != s.atype[k]) {
                rc = hrf_error(HRF_EDATA,
                               "%s: frame %zu, line %zu: atom id %lld has type %lld, but %lld in "
                               "frame 0",
                               path, r.frame, line0 + s.ir[k].row, s.ir[k].id, t,
                               s.types[s.atype[k]]);
                break;
            }
        }
        if (rc) break;
        if (r.frame == 0 && s.col[C_MASS] >= 0) {
            if (!(s.mass_col = malloc(N * sizeof *s.mass_col))) {
                rc = hrf_error(HRF_ENOMEM, "out of memory");
                break;
            }
            for (size_t k = 0; k < N; k++)
                s.mass_col[k] = s.rmass[s.ir[k].row];
        }
        /* positions in id order, unwrapped */
        for (size_t k = 0; k < N; k++)
            for (int c = 0; c < 3; c++) {
                const double *row = s.vals + 13 * s.ir[k].row;
                double x = row[c];
                if (s.mode == POS_IMAGE && row[9 + c] != 0.0) x += row[9 + c] * L;
                s.x[3 * k + (size_t)c] = x;
            }
        if (s.mode == POS_CONTINUITY) {
            /* the wrapped positions stay for the next frame's jumps */
            memcpy(s.wr, s.x, 3 * N * sizeof *s.wr);
            unwrap_continuity(N, L, r.frame ? s.prev : NULL, s.img, s.x);
            memcpy(s.prev, s.wr, 3 * N * sizeof *s.wr);
        }
        read_frames++;
        if (r.frame % p->every) continue;
        if ((rc = acc_reserve(&a, &r))) break;
        double *q = a.q + a.K * 3 * N, *v = a.v + a.K * 3 * N, *f = a.f + a.K * 3 * N;
        memcpy(q, s.x, 3 * N * sizeof *q);
        for (size_t k = 0; k < N; k++) {
            const double *row = s.vals + 13 * s.ir[k].row;
            for (int c = 0; c < 3; c++)
                v[3 * k + (size_t)c] = row[3 + c], f[3 * k + (size_t)c] = row[6 + c];
        }
        double E = 0.0; /* the potential energy, summed in id order */
        for (size_t k = 0; s.ecol >= 0 && k < N; k++)
            E += s.vals[13 * s.ir[k].row + 12];
        a.ts[a.K] = (double)step, a.t[a.K] = time, a.H[a.K] = E;
        cJSON_AddItemToArray(timesteps, cJSON_CreateNumber((double)step));
        a.K++;
    }
    double *mass = NULL;
    char **labels = NULL;
    if (!rc && read_frames == 0)
        rc = hrf_error(HRF_EFORMAT, "%s: no frames (expected 'ITEM: TIMESTEP' at line 1)", path);
    if (!rc) {
        mass = malloc(N * sizeof *mass), labels = calloc(s.ntypes, sizeof *labels);
        if (!mass || !labels) rc = hrf_error(HRF_ENOMEM, "out of memory");
        for (size_t j = 0; !rc && j < s.ntypes; j++) {
            char buf[32];
            snprintf(buf, sizeof buf, "%lld", s.types[j]);
            if (!(labels[j] = malloc(strlen(buf) + 1)))
                rc = hrf_error(HRF_ENOMEM, "out of memory");
            else
                strcpy(labels[j], buf);
        }
    }
    if (!rc) rc = assign_masses(&r, p, N, s.atype, labels, s.mass_col, "mass", mass);
    cJSON *meta = NULL;
    if (!rc) {
        meta = cJSON_CreateObject();
        cJSON_AddStringToObject(meta, "system", "periodic");
        cJSON_AddStringToObject(meta, "source", "lammps-dump");
        cJSON_AddStringToObject(meta, "source_file", path);
        cJSON_AddNumberToObject(meta, "every", (double)p->every);
        cJSON_AddNumberToObject(meta, "frames_read", (double)read_frames);
        cJSON_AddItemToObject(meta, "timesteps", timesteps);
        timesteps = NULL;
        double box_lo[3] = {lo0[0], lo0[1], lo0[2]};
        cJSON_AddItemToObject(meta, "box_lo", cJSON_CreateDoubleArray(box_lo, 3));
        if (units[0]) cJSON_AddStringToObject(meta, "units", units);
        cJSON_AddStringToObject(meta, "unwrap", pos_mode_name[s.mode]);
        cJSON_AddNumberToObject(meta, "cutoff", p->cutoff);
        cJSON *tl = cJSON_AddArrayToObject(meta, "type_labels");
        for (size_t j = 0; j < s.ntypes; j++)
            cJSON_AddItemToArray(tl, cJSON_CreateString(labels[j]));
        if (s.ntypes > 1) {
            cJSON *at = cJSON_AddArrayToObject(meta, "atom_types");
            for (size_t k = 0; k < N; k++)
                cJSON_AddItemToArray(at, cJSON_CreateNumber((double)s.atype[k]));
        }
        for (size_t k = 0; s.ecol >= 0 && k < a.K; k++) { /* H = E_pot + T */
            double kin = 0.0;
            for (size_t j = 0; j < 3 * N; j++)
                kin += mass[j / 3] * a.v[k * 3 * N + j] * a.v[k * 3 * N + j];
            a.H[k] += 0.5 * kin;
        }
        if (s.ecol >= 0) cJSON_AddStringToObject(meta, "energy_column", p->energy_column);
        rc = acc_to_pdata(&a, mass, 0, L0, p->cutoff, s.ecol >= 0, have_time, meta, out);
    }
    for (size_t j = 0; labels && j < s.ntypes; j++)
        free(labels[j]);
    free(labels), free(mass);
    cJSON_Delete(timesteps);
    acc_free(&a);
    dump_state_free(&s);
    rd_close(&r);
    return rc;
}

/* ---- extended XYZ ---- */

/* One key=value pair of a comment line (pointers into the line). */
typedef struct kv {
    char *key, *val; /* val NULL for a bare key */
} kv;

/* Parses the comment line in place: key=value, key="quoted value", or a bare
 * key. Returns the number of pairs, or -1 (unterminated quote). */
static int kv_parse(char *s, kv *out, int max) {
    int n = 0;
    while (*s) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s) break;
        char *key = s;
        while (*s && *s != '=' && *s != ' ' && *s != '\t')
            s++;
        char *val = NULL;
        if (*s == '=') {
            *s++ = '\0';
            if (*s == '"') {
                val = ++s;
                while (*s && *s != '"')
                    s++;
                if (!*s) return -1;
                *s++ = '\0';
            } else {
                val = s;
                while (*s && *s != ' ' && *s != '\t')
                    s++;
                if (*s) *s++ = '\0';
            }
        } else if (*s) {
            *s++ = '\0';
        }
        if (n < max) out[n].key = key, out[n].val = val;
        n++;
    }
    return n;
}

static const char *kv_get(const kv *p, int n, const char *key) {
    for (int i = 0; i < n && i < 64; i++)
        if (!strcasecmp(p[i].key, key)) return p[i].val ? p[i].val : "";
    return NULL;
}

enum { X_SPECIES, X_POS, X_MOM, X_VEL, X_FORCE, X_MASS, X_ID, X_N };

typedef struct xyz_layout {
    size_t ncols;
    int col[X_N]; /* first column of each property, -1 if absent */
    char props[512];
} xyz_layout;

/* Reads Properties=name:T:m:... into the column layout. */
static int xyz_properties(const reader *r, const char *spec, xyz_layout *lay) {
    for (int c = 0; c < X_N; c++)
        lay->col[c] = -1;
    snprintf(lay->props, sizeof lay->props, "%s", spec);
    char buf[512];
    snprintf(buf, sizeof buf, "%s", spec);
    char *f[3 * 64];
    size_t nf = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, ":", &save); t; t = strtok_r(NULL, ":", &save)) {
        if (nf == sizeof f / sizeof *f)
            return rd_error(r, HRF_EFORMAT, "Properties: more than 64 properties");
        f[nf++] = t;
    }
    if (nf == 0 || nf % 3)
        return rd_error(r, HRF_EFORMAT,
                        "Properties='%.80s': expected name:type:count triplets (e.g. "
                        "species:S:1:pos:R:3)",
                        spec);
    lay->ncols = 0;
    for (size_t k = 0; k < nf; k += 3) {
        const char *name = f[k], *type = f[k + 1];
        long long m;
        if (parse_int(f[k + 2], &m) || m < 1 || m > 1000 || strlen(type) != 1 ||
            !strchr("SIRL", type[0]))
            return rd_error(r, HRF_EFORMAT,
                            "Properties: '%s:%s:%s': expected a type S, I, R or L and a count "
                            ">= 1",
                            name, type, f[k + 2]);
        static const struct {
            const char *name;
            int which;
            char type;
            int count;
        } known[] = {{"species", X_SPECIES, 'S', 1}, {"pos", X_POS, 'R', 3},
                     {"momenta", X_MOM, 'R', 3},     {"velocities", X_VEL, 'R', 3},
                     {"vel", X_VEL, 'R', 3},         {"forces", X_FORCE, 'R', 3},
                     {"force", X_FORCE, 'R', 3},     {"masses", X_MASS, 'R', 1},
                     {"mass", X_MASS, 'R', 1},       {"id", X_ID, 'I', 1}};
        for (size_t j = 0; j < sizeof known / sizeof *known; j++)
            if (!strcmp(name, known[j].name)) {
                if (type[0] != known[j].type || m != known[j].count)
                    return rd_error(r, HRF_EFORMAT, "Properties: '%s' must be %s:%c:%d", name, name,
                                    known[j].type, known[j].count);
                if (lay->col[known[j].which] >= 0)
                    return rd_error(r, HRF_EFORMAT, "Properties: '%s' given twice", name);
                lay->col[known[j].which] = (int)lay->ncols;
            }
        lay->ncols += (size_t)m;
    }
    char missing[128] = "";
    if (lay->col[X_POS] < 0) strcat(missing, " pos:R:3");
    if (lay->col[X_MOM] < 0 && lay->col[X_VEL] < 0) strcat(missing, " momenta:R:3 (or velocities)");
    if (lay->col[X_FORCE] < 0) strcat(missing, " forces:R:3");
    if (missing[0]) return rd_error(r, HRF_EFORMAT, "Properties='%.80s' lacks%s", spec, missing);
    if (lay->col[X_MOM] >= 0) lay->col[X_VEL] = -1; /* momenta win */
    return HRF_OK;
}

typedef struct xyz_state {
    xyz_layout lay;
    long long *ids0;
    char **labels; /* distinct species, first-seen order */
    size_t nlab;
    uint32_t *atype; /* (N) */
    double *mass_col;
    double *x, *prev, *wr, *img; /* (N, 3) */
    double *vals;                /* (N, 10): pos, vel or momenta, force, mass */
    uint32_t *rsp;               /* (N) species index per row */
    id_row *ir;
    char **tok;
} xyz_state;

static void xyz_state_free(xyz_state *s) {
    for (size_t j = 0; j < s->nlab; j++)
        free(s->labels[j]);
    free(s->labels), free(s->ids0), free(s->atype), free(s->mass_col), free(s->x), free(s->prev);
    free(s->wr), free(s->img), free(s->vals), free(s->rsp), free(s->ir), free(s->tok);
}

int hrf_extxyz_read(const char *path, const hrf_md_import_params *p, hrf_pdata **out) {
    *out = NULL;
    const char *msg = hrf_md_import_params_check(p);
    if (msg) return hrf_error(HRF_EINVAL, "%s", msg);
    reader r;
    int rc = rd_open(&r, path);
    if (rc) return rc;
    acc a = {0};
    xyz_state s = {0};
    size_t N = 0, read_frames = 0;
    double L0 = 0.0, lo0[3] = {0, 0, 0};
    int has_H = -1; /* unknown until frame 0 */
    int have_time = 1;
    for (r.frame = 0; !rc; r.frame++) {
        int got = rd_next(&r);
        while (got && r.line[strspn(r.line, " \t")] == '\0')
            got = rd_next(&r);
        if (!got) break;
        char *t1[2];
        long long nat;
        if (split(r.line, t1, 1) != 1 || parse_int(t1[0], &nat) || nat < 1) {
            rc = rd_error(&r, HRF_EFORMAT, "expected the number of atoms (an integer >= 1)");
            break;
        }
        if ((rc = frame_atoms(&r, p, nat, 14.0, "extended XYZ", &N))) break;
        if (!rd_next(&r)) {
            rc = rd_truncated(&r, "the comment line (Lattice=\"...\" Properties=...)");
            break;
        }
        kv kvs[64];
        int nkv = kv_parse(r.line, kvs, 64);
        if (nkv < 0) {
            rc = rd_error(&r, HRF_EFORMAT, "comment line: a quoted value is not closed");
            break;
        }
        const char *lat = kv_get(kvs, nkv, "Lattice"), *props = kv_get(kvs, nkv, "Properties");
        const char *pbc = kv_get(kvs, nkv, "pbc"), *en = kv_get(kvs, nkv, "hamrf_H");
        const char *origin = kv_get(kvs, nkv, "Origin"), *tm = kv_get(kvs, nkv, "Time");
        int en_total = en != NULL;
        if (!en) en = kv_get(kvs, nkv, "energy");
        if (!lat) {
            rc = rd_error(&r, HRF_EDATA,
                          "no Lattice=\"...\": hamrf reads periodic boxes only (Lattice with "
                          "pbc=\"T T T\")");
            break;
        }
        if (!props) {
            rc = rd_error(&r, HRF_EFORMAT, "no Properties=... (e.g. species:S:1:pos:R:3:...)");
            break;
        }
        if (pbc) {
            char pb[64], *pt[4];
            snprintf(pb, sizeof pb, "%s", pbc);
            size_t np = split(pb, pt, 3);
            int ok = np == 3;
            for (size_t k = 0; ok && k < 3; k++)
                ok = !strcmp(pt[k], "T") || !strcmp(pt[k], "True") || !strcmp(pt[k], "1");
            if (!ok) {
                rc = rd_error(&r, HRF_EDATA,
                              "pbc=\"%.30s\": expected \"T T T\" (periodic in every direction)",
                              pbc);
                break;
            }
        }
        double cell[9], lo[3] = {0, 0, 0}, hi[3];
        {
            char lb[512], *lt[10];
            snprintf(lb, sizeof lb, "%s", lat);
            size_t nl = split(lb, lt, 9);
            int bad = nl != 9;
            for (size_t k = 0; !bad && k < 9; k++)
                bad = parse_num(lt[k], &cell[k]) != 0;
            if (bad) {
                rc = rd_error(&r, HRF_EFORMAT, "Lattice=\"%.80s\": expected 9 finite numbers", lat);
                break;
            }
        }
        if (cell[1] != 0.0 || cell[2] != 0.0 || cell[3] != 0.0 || cell[5] != 0.0 ||
            cell[6] != 0.0 || cell[7] != 0.0) {
            rc = rd_error(&r, HRF_EDATA,
                          "Lattice=\"%.80s\" is not diagonal: a triclinic cell; only orthogonal "
                          "periodic boxes are read",
                          lat);
            break;
        }
        if (origin) {
            char ob[256], *ot[4];
            snprintf(ob, sizeof ob, "%s", origin);
            if (split(ob, ot, 3) != 3 || parse_num(ot[0], &lo[0]) || parse_num(ot[1], &lo[1]) ||
                parse_num(ot[2], &lo[2])) {
                rc = rd_error(&r, HRF_EFORMAT, "Origin=\"%.60s\": expected 3 finite numbers",
                              origin);
                break;
            }
        }
        for (int c = 0; c < 3; c++)
            hi[c] = lo[c] + cell[4 * c];
        double L;
        if ((rc = cubic_side(&r, lo, hi, &L))) break;
        double E = 0.0, time = NAN;
        if (en && parse_num(en, &E)) {
            rc = rd_error(&r, HRF_EDATA, "%s=%.40s: expected a finite number",
                          en_total ? "hamrf_H" : "energy", en);
            break;
        }
        if (tm && parse_num(tm, &time)) {
            rc = rd_error(&r, HRF_EDATA, "Time=%.40s: expected a finite number", tm);
            break;
        }
        if (!tm) have_time = 0;
        if (r.frame == 0) {
            memcpy(lo0, lo, sizeof lo0), L0 = L;
            has_H = en != NULL;
            if ((rc = check_cutoff(&r, L, p->cutoff))) break;
            if ((rc = xyz_properties(&r, props, &s.lay))) break;
            s.ids0 = malloc(N * sizeof *s.ids0), s.atype = malloc(N * sizeof *s.atype);
            s.mass_col = malloc(N * sizeof *s.mass_col), s.x = malloc(3 * N * sizeof *s.x);
            s.prev = malloc(3 * N * sizeof *s.prev), s.wr = malloc(3 * N * sizeof *s.wr);
            s.img = calloc(3 * N, sizeof *s.img), s.vals = malloc(10 * N * sizeof *s.vals);
            s.rsp = malloc(N * sizeof *s.rsp), s.ir = malloc(N * sizeof *s.ir);
            s.tok = malloc((s.lay.ncols + 1) * sizeof *s.tok);
            a.N = N;
            if (!s.ids0 || !s.atype || !s.mass_col || !s.x || !s.prev || !s.wr || !s.img ||
                !s.vals || !s.rsp || !s.ir || !s.tok) {
                rc = hrf_error(HRF_ENOMEM, "%s: out of memory for %zu atoms", path, N);
                break;
            }
        } else {
            if ((rc = same_box(&r, lo0, L0, lo, L))) break;
            if (strcmp(props, s.lay.props)) {
                rc = rd_error(&r, HRF_EFORMAT, "Properties changed: '%.80s', frame 0 has '%.80s'",
                              props, s.lay.props);
                break;
            }
            if ((en != NULL) != has_H) {
                rc = rd_error(&r, HRF_EDATA,
                              "%s energy key, but frame 0 %s one: the energy must be in every "
                              "frame or in none",
                              en ? "an" : "no", has_H ? "has" : "has not");
                break;
            }
        }
        const xyz_layout *ly = &s.lay;
        const int vcol = ly->col[X_MOM] >= 0 ? ly->col[X_MOM] : ly->col[X_VEL];
        const size_t line0 = r.lineno + 1;
        for (size_t row = 0; row < N && !rc; row++) {
            if (!rd_next(&r)) {
                char what[96];
                snprintf(what, sizeof what, "atom line %zu of %zu", row + 1, N);
                rc = rd_truncated(&r, what);
                break;
            }
            size_t nt = split(r.line, s.tok, ly->ncols);
            if (nt != ly->ncols) {
                rc = rd_error(&r, HRF_EFORMAT, "%s%zu values, expected %zu (Properties=%.80s)",
                              nt > ly->ncols ? "more than " : "", nt > ly->ncols ? ly->ncols : nt,
                              ly->ncols, ly->props);
                break;
            }
            static const char *const what[3] = {"pos", "momenta/velocities", "forces"};
            const int base[3] = {ly->col[X_POS], vcol, ly->col[X_FORCE]};
            for (int g = 0; g < 3 && !rc; g++)
                for (int c = 0; c < 3 && !rc; c++)
                    if (parse_num(s.tok[base[g] + c],
                                  &s.vals[10 * row + 3 * (size_t)g + (size_t)c]))
                        rc = rd_error(&r, HRF_EDATA,
                                      "property '%s' component %d: expected a finite number, "
                                      "found '%.40s'",
                                      what[g], c, s.tok[base[g] + c]);
            if (rc) break;
            s.vals[10 * row + 9] = 0.0;
            if (ly->col[X_MASS] >= 0 && parse_num(s.tok[ly->col[X_MASS]], &s.vals[10 * row + 9])) {
                rc = rd_error(&r, HRF_EDATA,
                              "property 'masses': expected a finite number, found '%.40s'",
                              s.tok[ly->col[X_MASS]]);
                break;
            }
            long long id = (long long)row;
            if (ly->col[X_ID] >= 0 && parse_int(s.tok[ly->col[X_ID]], &id)) {
                rc = rd_error(&r, HRF_EDATA, "property 'id': expected an integer, found '%.40s'",
                              s.tok[ly->col[X_ID]]);
                break;
            }
            s.ir[row].id = id, s.ir[row].row = row;
            /* species: index among the labels (first frame: add) */
            const char *sp = ly->col[X_SPECIES] >= 0 ? s.tok[ly->col[X_SPECIES]] : "X";
            size_t j = 0;
            while (j < s.nlab && strcmp(s.labels[j], sp))
                j++;
            if (j == s.nlab) {
                if (r.frame != 0) {
                    rc = rd_error(&r, HRF_EDATA, "species '%.20s' is not in frame 0", sp);
                    break;
                }
                if (s.nlab >= 1000) {
                    rc = rd_error(&r, HRF_EDATA, "more than 1000 species");
                    break;
                }
                char **nl = realloc(s.labels, (s.nlab + 1) * sizeof *nl);
                char *copy = nl ? malloc(strlen(sp) + 1) : NULL;
                if (nl) s.labels = nl;
                if (!copy) {
                    rc = hrf_error(HRF_ENOMEM, "out of memory");
                    break;
                }
                strcpy(copy, sp);
                s.labels[s.nlab++] = copy;
            }
            s.vals[10 * row + 9] = ly->col[X_MASS] >= 0 ? s.vals[10 * row + 9] : 0.0;
            s.rsp[row] = (uint32_t)j;
        }
        if (rc || (rc = sort_ids(&r, line0, s.ir, N, s.ids0, r.frame == 0))) break;
        for (size_t k = 0; k < N; k++) {
            const size_t row = s.ir[k].row;
            const uint32_t j = s.rsp[row];
            if (r.frame == 0) {
                s.atype[k] = j, s.mass_col[k] = s.vals[10 * row + 9];
            } else if (s.atype[k] != j) {
                rc = hrf_error(
                    HRF_EDATA, "%s: frame %zu, line %zu: atom %lld is '%s', but '%s' in frame 0",
                    path, r.frame, line0 + row, s.ir[k].id, s.labels[j], s.labels[s.atype[k]]);
                break;
            }
            for (int c = 0; c < 3; c++)
                s.x[3 * k + (size_t)c] = s.vals[10 * row + (size_t)c];
        }
        if (rc) break;
        memcpy(s.wr, s.x, 3 * N * sizeof *s.wr);
        unwrap_continuity(N, L, r.frame ? s.prev : NULL, s.img, s.x);
        memcpy(s.prev, s.wr, 3 * N * sizeof *s.wr);
        read_frames++;
        if (r.frame % p->every) continue;
        if ((rc = acc_reserve(&a, &r))) break;
        double *q = a.q + a.K * 3 * N, *v = a.v + a.K * 3 * N, *f = a.f + a.K * 3 * N;
        memcpy(q, s.x, 3 * N * sizeof *q);
        for (size_t k = 0; k < N; k++) {
            const double *row = s.vals + 10 * s.ir[k].row;
            for (int c = 0; c < 3; c++)
                v[3 * k + (size_t)c] = row[3 + c], f[3 * k + (size_t)c] = row[6 + c];
        }
        a.H[a.K] = E, a.t[a.K] = time, a.ts[a.K] = (double)r.frame;
        a.K++;
        if (en_total) a.ts[a.K - 1] = -1.0 - (double)r.frame; /* marks H as total */
    }
    double *mass = NULL;
    if (!rc && read_frames == 0)
        rc = hrf_error(HRF_EFORMAT, "%s: no frames (expected the number of atoms at line 1)", path);
    if (!rc && !(mass = malloc(N * sizeof *mass))) rc = hrf_error(HRF_ENOMEM, "out of memory");
    if (!rc)
        rc = assign_masses(&r, p, N, s.atype, s.labels, s.lay.col[X_MASS] >= 0 ? s.mass_col : NULL,
                           "masses", mass);
    cJSON *meta = NULL;
    if (!rc) {
        const int momenta = s.lay.col[X_MOM] >= 0;
        for (size_t k = 0; k < a.K; k++) {
            double kin = 0.0;
            for (size_t i = 0; i < N; i++)
                for (int c = 0; c < 3; c++) {
                    const double w = a.v[(k * N + i) * 3 + (size_t)c];
                    kin += momenta ? w * w / mass[i] : mass[i] * w * w;
                }
            /* H = E_pot + T unless the file gave hamrf's total H itself */
            if (has_H == 1 && a.ts[k] >= 0.0) a.H[k] += 0.5 * kin;
        }
        meta = cJSON_CreateObject();
        cJSON_AddStringToObject(meta, "system", "periodic");
        cJSON_AddStringToObject(meta, "source", "extxyz");
        cJSON_AddStringToObject(meta, "source_file", path);
        cJSON_AddNumberToObject(meta, "every", (double)p->every);
        cJSON_AddNumberToObject(meta, "frames_read", (double)read_frames);
        cJSON_AddItemToObject(meta, "box_lo", cJSON_CreateDoubleArray(lo0, 3));
        cJSON_AddStringToObject(meta, "unwrap", pos_mode_name[POS_CONTINUITY]);
        cJSON_AddStringToObject(meta, "velocities", momenta ? "momenta / masses" : "velocities");
        cJSON_AddNumberToObject(meta, "cutoff", p->cutoff);
        cJSON *tl = cJSON_AddArrayToObject(meta, "type_labels");
        for (size_t j = 0; j < s.nlab; j++)
            cJSON_AddItemToArray(tl, cJSON_CreateString(s.labels[j]));
        if (s.nlab > 1) {
            cJSON *at = cJSON_AddArrayToObject(meta, "atom_types");
            for (size_t k = 0; k < N; k++)
                cJSON_AddItemToArray(at, cJSON_CreateNumber((double)s.atype[k]));
        }
        rc = acc_to_pdata(&a, mass, momenta, L0, p->cutoff, has_H == 1, have_time, meta, out);
    }
    free(mass);
    acc_free(&a);
    xyz_state_free(&s);
    rd_close(&r);
    return rc;
}
