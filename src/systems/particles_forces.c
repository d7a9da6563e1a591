/* Forces, energies, neighbour pairs and velocity Verlet of the particle
 * systems (docs/math.md §10).
 *
 * Cutoff systems (LJ) find interacting pairs with a cell list
 * (src/systems/neighbours.h): the box is cut into nc³ cells of side
 * L/nc ≥ rc/R, particles are sorted by cell (a counting sort, stable, so the
 * order is a function of the positions only), and each particle scans the
 * (2R+1)³ neighbouring cells, the periodic image of a wrapped neighbour cell
 * being a shift of ±L. Each particle accumulates its own force
 * and half of its pair energies (every pair is visited from both ends), so the
 * loop over particles parallelises with no write conflicts and the result is
 * bitwise the same for every thread count; the total energy is summed
 * serially. With fewer than 2R + 1 cells per side the neighbour cells would
 * not be distinct, and all pairs are scanned with the minimum image instead.
 *
 * The force kernel (lj_cells), its cell-list workspace and the Verlet loop
 * that calls it stay in this one file, so that the compiler inlines them as
 * one unit. */
#include "systems/particles_impl.h"

#include "hamrf/status.h"
#include "systems/neighbours.h"

#include <omp.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Below this many particles the OpenMP loops run on one thread: the fork
 * costs more than the work (one LJ force evaluation is ≈ 0.2 µs a particle). */
#define PAR_MIN 2048

/* ------------------------------------------------------------------------ */
/* forces                                                                   */
/* ------------------------------------------------------------------------ */

/* Cell-list scratch of a cutoff system, allocated once per evaluation,
 * simulation or data set: the cells (src/systems/neighbours.h) and the
 * results in their slot order. */
typedef struct cell_ws {
    hrf_nbr nb;               /* nb.nc = 0: too few cells, all pairs */
    double *fx, *fy, *fz, *e; /* (N) forces and half pair energies in slot order; fx, fy,
                                 fz are one block, the build's scratch */
} cell_ws;

static void ws_free(cell_ws *w) {
    if (!w) return;
    hrf_nbr_free(&w->nb);
    free(w->fx), free(w->e);
    free(w);
}

/* Cells of side ≥ rc/2 scanned ±2 cells deep cover ≈ 125/8 = 15.6 rc³
 * against 27 rc³ for side ≥ rc and ±1, and the covered volume varies less
 * with how L/rc rounds: 40% fewer candidate pairs, but more and shorter
 * ranges; measured about equally fast at density 0.8442 (0.7–0.9 µs a
 * particle on one core), and flatter in N. Both need 2R + 1 distinct cells
 * per side; below 3 the box is scanned as all pairs. At most ~2 cells per
 * particle, so that a dilute gas does not get mostly empty cells. */
void psys_cells_setup(size_t N, double box, double cutoff, size_t *nc_out, int *R_out) {
    size_t cap = (size_t)cbrt(2.0 * (double)N) + 1;
    if (cap > 1024) cap = 1024;
    *nc_out = 0, *R_out = 0;
    for (int R = 2; R >= 1; R--) {
        size_t nc = hrf_nbr_cells_fitting(box, cutoff / R);
        if (nc > cap) nc = cap;
        /* capped cells must still be at least rc/R wide: they are wider */
        if (nc >= (size_t)(2 * R + 1)) {
            *nc_out = nc, *R_out = R;
            return;
        }
    }
}

/* The cell workspace of N particles in a periodic cube (3-D) of side box
 * for pairs closer than cutoff; *out NULL for an open system. */
static int ws_new_for(size_t N, double box, double cutoff, cell_ws **out) {
    *out = NULL;
    if (!(box > 0.0)) return HRF_OK;
    cell_ws *w = calloc(1, sizeof *w);
    if (!w) return hrf_error(HRF_ENOMEM, "out of memory");
    size_t nc;
    int R, rc;
    psys_cells_setup(N, box, cutoff, &nc, &R);
    if (nc && (rc = hrf_nbr_init(&w->nb, N, 3, box, nc, R))) {
        ws_free(w);
        return rc;
    }
    w->fx = malloc(3 * N * sizeof(double)), w->e = malloc(N * sizeof(double));
    if (!w->fx || !w->e) {
        ws_free(w);
        return hrf_error(HRF_ENOMEM, "out of memory for the cell list of %zu particles", N);
    }
    w->fy = w->fx + N, w->fz = w->fx + 2 * N;
    *out = w;
    return HRF_OK;
}

static int ws_new(const hrf_psystem *s, cell_ws **out) {
    return ws_new_for(s->N, s->box, s->cutoff, out);
}

/* LJ forces and half pair energies of every particle with the cell list.
 * The inner loop runs over 4 candidates at a time with GCC/Clang vector
 * extensions (GCC 12 does not vectorise it by itself: the masked division
 * counts as control flow); lanes beyond the range, the particle itself and
 * pairs beyond rc are masked out, so reading up to 3 slots past a range is
 * harmless (the arrays have 4 slots of padding). */
#if defined(__GNUC__)
typedef double v4d __attribute__((vector_size(32)));
typedef long long v4l __attribute__((vector_size(32)));
static inline v4d load4(const double *p) {
    v4d v;
    memcpy(&v, p, sizeof v);
    return v;
}
#define BCAST(x) ((v4d){(x), (x), (x), (x)})
#endif

static void lj_cells(const hrf_psystem *s, cell_ws *w) {
    const double rc2 = s->cutoff * s->cutoff, sig2 = s->v.sigma * s->v.sigma;
    const double e4 = 4.0 * s->v.eps, e24 = 24.0 * s->v.eps / sig2;
    const double vc = psys_lj_raw(s->v.eps, s->v.sigma, s->cutoff);
    const hrf_nbr *nb = &w->nb;
    const double *X = nb->x[0], *Y = nb->x[1], *Z = nb->x[2];
    const long ncells = (long)nb->ncells;
#pragma omp parallel for schedule(static) if (s->N >= PAR_MIN)
    for (long c = 0; c < ncells; c++) {
        hrf_nbr_range rg[HRF_NBR_MAX_RANGES];
        const int nr = hrf_nbr_ranges(nb, (size_t)c, rg);
        for (size_t k = nb->start[c]; k < nb->start[c + 1]; k++) {
            double fx = 0.0, fy = 0.0, fz = 0.0, e = 0.0;
#if defined(__GNUC__)
            const v4d xi = BCAST(X[k]), yi = BCAST(Y[k]), zi = BCAST(Z[k]);
            const v4d rc2v = BCAST(rc2), sig2v = BCAST(sig2), e4v = BCAST(e4), e24v = BCAST(e24);
            const v4d vcv = BCAST(vc), two = BCAST(2.0);
            const v4l kv = {(long long)k, (long long)k, (long long)k, (long long)k};
            v4d ax = BCAST(0.0), ay = ax, az = ax, ae = ax;
            for (int b = 0; b < nr; b++) {
                const v4d sx = BCAST(rg[b].sh[0]), sy = BCAST(rg[b].sh[1]), sz = BCAST(rg[b].sh[2]);
                const long long m1 = (long long)rg[b].m1;
                const v4l m1v = {m1, m1, m1, m1};
                v4l mv = {(long long)rg[b].m0, (long long)rg[b].m0 + 1, (long long)rg[b].m0 + 2,
                          (long long)rg[b].m0 + 3};
                for (size_t m = rg[b].m0; m < rg[b].m1; m += 4) {
                    /* d = (q_i − q_m) − shift: exactly antisymmetric between
                     * the two visits of a pair, so the forces are too. */
                    const v4d dx = (xi - load4(X + m)) - sx, dy = (yi - load4(Y + m)) - sy,
                              dz = (zi - load4(Z + m)) - sz;
                    const v4d r2 = dx * dx + dy * dy + dz * dz;
                    const v4l in = (r2 < rc2v) & (mv != kv) & (mv < m1v);
                    const v4d s2 = (v4d)((v4l)(sig2v / r2) & in), s6 = s2 * s2 * s2;
                    const v4d fr = e24v * (two * s6 * s6 - s6) * s2;
                    ax += fr * dx, ay += fr * dy, az += fr * dz;
                    ae += (v4d)((v4l)(e4v * (s6 * s6 - s6) - vcv) & in);
                    mv += 4;
                }
            }
            fx = (ax[0] + ax[1]) + (ax[2] + ax[3]), fy = (ay[0] + ay[1]) + (ay[2] + ay[3]);
            fz = (az[0] + az[1]) + (az[2] + az[3]), e = (ae[0] + ae[1]) + (ae[2] + ae[3]);
#else
            for (int b = 0; b < nr; b++)
                for (size_t m = rg[b].m0; m < rg[b].m1; m++) {
                    const double dx = (X[k] - X[m]) - rg[b].sh[0], dy = (Y[k] - Y[m]) - rg[b].sh[1],
                                 dz = (Z[k] - Z[m]) - rg[b].sh[2];
                    const double r2 = dx * dx + dy * dy + dz * dz;
                    if (!(r2 < rc2) || m == k) continue;
                    const double s2 = sig2 / r2, s6 = s2 * s2 * s2;
                    const double fr = e24 * (2.0 * s6 * s6 - s6) * s2;
                    fx += fr * dx, fy += fr * dy, fz += fr * dz;
                    e += e4 * (s6 * s6 - s6) - vc;
                }
#endif
            w->fx[k] = fx, w->fy[k] = fy, w->fz[k] = fz, w->e[k] = 0.5 * e;
        }
    }
}

/* Cutoff system without a usable cell list: all pairs, minimum image. */
static double cutoff_all_pairs(const hrf_psystem *s, const double *q, double *f) {
    const size_t N = s->N;
    const int D = s->D;
    const double L = s->box, rc = s->cutoff;
    double U = 0.0;
    for (size_t i = 0; i < N; i++) {
        double fi[3] = {0, 0, 0}, ei = 0.0;
        for (size_t j = 0; j < N; j++) {
            if (j == i) continue;
            double d[3], r2 = 0.0;
            for (int a = 0; a < D; a++) {
                d[a] = hrf_nbr_min_image(q[i * D + a] - q[j * D + a], L);
                r2 += d[a] * d[a];
            }
            if (!(r2 < rc * rc)) continue;
            double r = sqrt(r2), dV;
            ei += hrf_pair_eval(&s->v, r, &dV);
            for (int a = 0; a < D; a++)
                fi[a] -= dV / r * d[a];
        }
        if (f)
            for (int a = 0; a < D; a++)
                f[i * D + a] = fi[a];
        U += 0.5 * ei;
    }
    return U;
}

/* U(q) and, if f is not NULL, f = −∂U/∂q (N, D). */
static double potential_forces(const hrf_psystem *s, cell_ws *w, const double *q, double *f) {
    const size_t N = s->N;
    const int D = s->D;
    if (s->box > 0.0) {
        if (!w->nb.nc) return cutoff_all_pairs(s, q, f);
        hrf_nbr_build(&w->nb, q, w->fx);
        lj_cells(s, w);
        double U = 0.0;
        for (size_t k = 0; k < N; k++)
            U += w->e[k];
        if (f)
            for (size_t k = 0; k < N; k++) {
                size_t i = w->nb.order[k];
                f[3 * i] = w->fx[k], f[3 * i + 1] = w->fy[k], f[3 * i + 2] = w->fz[k];
            }
        return U;
    }
    if (f) memset(f, 0, N * (size_t)D * sizeof *f);
    double U = 0.0;
    for (size_t b = 0; b < s->n_bonds; b++) {
        const size_t i = s->bonds[2 * b], j = s->bonds[2 * b + 1];
        double d[3], r2 = 0.0, dV;
        for (int a = 0; a < D; a++) {
            d[a] = q[i * D + a] - q[j * D + a];
            r2 += d[a] * d[a];
        }
        const double r = sqrt(r2);
        U += hrf_pair_eval(&s->v, r, &dV);
        /* At r = 0 the direction is undefined; V'(0)·(d/r) has no limit. */
        if (f && r > 0.0)
            for (int a = 0; a < D; a++) {
                double fa = -dV / r * d[a];
                f[i * D + a] += fa;
                f[j * D + a] -= fa;
            }
    }
    return U;
}

double psys_kinetic(const hrf_psystem *s, const double *p) {
    const int D = s->D;
    double T = 0.0;
    for (size_t i = 0; i < s->N; i++) {
        double p2 = 0.0;
        for (int a = 0; a < D; a++)
            p2 += p[i * D + a] * p[i * D + a];
        T += 0.5 * p2 / s->mass[i];
    }
    return T;
}

int hrf_psystem_eval(const hrf_psystem *s, const double *q, const double *p, double *H,
                     double *dqdt, double *dpdt) {
    cell_ws *w = NULL;
    int rc = ws_new(s, &w);
    if (rc) return rc;
    const int D = s->D;
    double U = potential_forces(s, w, q, dpdt);
    ws_free(w);
    if (H) *H = psys_kinetic(s, p) + U;
    if (dqdt)
        for (size_t i = 0; i < s->N; i++)
            for (int a = 0; a < D; a++)
                dqdt[i * D + a] = p[i * D + a] / s->mass[i];
    return HRF_OK;
}

/* ------------------------------------------------------------------------ */
/* pairs                                                                    */
/* ------------------------------------------------------------------------ */

/* The partners j > i of the particle in slot k closer than rc; writes the
 * pairs (i, j) to out (when not NULL), returns their number. Vectorised as
 * lj_cells, the order array being padded as the positions are. */
static size_t partners(const hrf_nbr *nb, size_t k, const hrf_nbr_range *rg, int nr, double rc2,
                       uint32_t *out) {
    const uint32_t i = nb->order[k], *O = nb->order;
    const double *X = nb->x[0], *Y = nb->x[1], *Z = nb->x[2];
    size_t cnt = 0;
#if defined(__GNUC__)
    const v4d xi = BCAST(X[k]), yi = BCAST(Y[k]), zi = BCAST(Z[k]), rc2v = BCAST(rc2);
    const v4l iv = {i, i, i, i};
    for (int b = 0; b < nr; b++) {
        const v4d sx = BCAST(rg[b].sh[0]), sy = BCAST(rg[b].sh[1]), sz = BCAST(rg[b].sh[2]);
        const long long m1 = (long long)rg[b].m1;
        const v4l m1v = {m1, m1, m1, m1};
        v4l mv = {(long long)rg[b].m0, (long long)rg[b].m0 + 1, (long long)rg[b].m0 + 2,
                  (long long)rg[b].m0 + 3};
        for (size_t m = rg[b].m0; m < rg[b].m1; m += 4, mv += 4) {
            const v4d dx = (xi - load4(X + m)) - sx, dy = (yi - load4(Y + m)) - sy,
                      dz = (zi - load4(Z + m)) - sz;
            const v4l om = {O[m], O[m + 1], O[m + 2], O[m + 3]};
            const v4l in = ((dx * dx + dy * dy + dz * dz) < rc2v) & (om > iv) & (mv < m1v);
            if (!out) {
                cnt -= (size_t)(in[0] + in[1] + in[2] + in[3]);
                continue;
            }
            for (int l = 0; l < 4; l++)
                if (in[l]) out[2 * cnt] = i, out[2 * cnt + 1] = (uint32_t)om[l], cnt++;
        }
    }
#else
    for (int b = 0; b < nr; b++)
        for (size_t m = rg[b].m0; m < rg[b].m1; m++) {
            if (O[m] <= i) continue;
            double dx = (X[k] - X[m]) - rg[b].sh[0], dy = (Y[k] - Y[m]) - rg[b].sh[1],
                   dz = (Z[k] - Z[m]) - rg[b].sh[2];
            if (dx * dx + dy * dy + dz * dz < rc2) {
                if (out) out[2 * cnt] = i, out[2 * cnt + 1] = O[m];
                cnt++;
            }
        }
#endif
    return cnt;
}

int hrf_psystem_pairs(const hrf_psystem *s, const double *q, uint32_t **pairs, size_t *n_pairs) {
    *pairs = NULL, *n_pairs = 0;
    const size_t N = s->N;
    if (!(s->box > 0.0)) {
        uint32_t *b = malloc((s->n_bonds ? 2 * s->n_bonds : 1) * sizeof *b);
        if (!b) return hrf_error(HRF_ENOMEM, "out of memory for %zu bonds", s->n_bonds);
        memcpy(b, s->bonds, 2 * s->n_bonds * sizeof *b);
        *pairs = b, *n_pairs = s->n_bonds;
        return HRF_OK;
    }
    return hrf_nbr_cutoff_pairs(N, s->box, s->cutoff, q, pairs, n_pairs);
}

int hrf_nbr_cutoff_pairs_grouped(size_t N, double box, double cutoff, const double *q,
                                 uint32_t **pairs, size_t *n_pairs) {
    /* threaded or without cells: the sorted list (grouped too) */
    if ((N >= PAR_MIN && omp_get_max_threads() > 1))
        return hrf_nbr_cutoff_pairs(N, box, cutoff, q, pairs, n_pairs);
    *pairs = NULL, *n_pairs = 0;
    cell_ws *w = NULL;
    int rc = ws_new_for(N, box, cutoff, &w);
    if (rc) return rc;
    if (!w || !w->nb.nc) {
        ws_free(w);
        return hrf_nbr_cutoff_pairs(N, box, cutoff, q, pairs, n_pairs);
    }
    const hrf_nbr *nb = &w->nb;
    hrf_nbr_build(&w->nb, q, w->fx);
    const double rc2 = cutoff * cutoff;
    /* one pass, cell after cell: before a cell, room for all its candidates */
    size_t cap = 0, n = 0;
    uint32_t *out = NULL;
    for (size_t c = 0; c < nb->ncells; c++) {
        hrf_nbr_range rg[HRF_NBR_MAX_RANGES];
        const int nr = hrf_nbr_ranges(nb, c, rg);
        size_t cand = 0;
        for (int b = 0; b < nr; b++)
            cand += rg[b].m1 - rg[b].m0;
        const size_t need = n + cand * (nb->start[c + 1] - nb->start[c]);
        if (need > cap) {
            size_t nc = cap ? 2 * cap : 64 * N + 1024;
            while (nc < need)
                nc *= 2;
            uint32_t *o2 = realloc(out, 2 * nc * sizeof *o2);
            if (!o2) {
                free(out);
                ws_free(w);
                return hrf_error(HRF_ENOMEM, "out of memory for %zu pairs", nc);
            }
            out = o2, cap = nc;
        }
        for (size_t k = nb->start[c]; k < nb->start[c + 1]; k++)
            n += partners(nb, k, rg, nr, rc2, out + 2 * n);
    }
    ws_free(w);
    *pairs = out ? out : malloc(2 * sizeof *out);
    if (!*pairs) return hrf_error(HRF_ENOMEM, "out of memory");
    *n_pairs = n;
    return HRF_OK;
}

int hrf_nbr_cutoff_pairs(size_t N, double box, double cutoff, const double *q, uint32_t **pairs,
                         size_t *n_pairs) {
    *pairs = NULL, *n_pairs = 0;
    cell_ws *w = NULL;
    int rc = ws_new_for(N, box, cutoff, &w);
    if (rc) return rc;
    const double L = box, rc2 = cutoff * cutoff;
    /* Partners j > i of each i, listed per i: counts, offsets, then fill. */
    size_t *off = calloc(N + 1, sizeof *off);
    uint32_t *out = NULL;
    if (!off) {
        ws_free(w);
        return hrf_error(HRF_ENOMEM, "out of memory");
    }
    const hrf_nbr *nb = &w->nb;
    if (nb->nc) hrf_nbr_build(&w->nb, q, w->fx);
    for (int pass = 0; pass < 2; pass++) {
        if (nb->nc) {
            const long ncells = (long)nb->ncells;
#pragma omp parallel for schedule(static) if (N >= PAR_MIN)
            for (long c = 0; c < ncells; c++) {
                hrf_nbr_range rg[HRF_NBR_MAX_RANGES];
                const int nr = hrf_nbr_ranges(nb, (size_t)c, rg);
                for (size_t k = nb->start[c]; k < nb->start[c + 1]; k++) {
                    const uint32_t i = nb->order[k];
                    size_t cnt = partners(nb, k, rg, nr, rc2, pass ? out + 2 * off[i] : NULL);
                    if (!pass) off[i + 1] = cnt;
                }
            }
        } else {
            const int D = 3;
            for (size_t i = 0; i < N; i++) {
                size_t cnt = 0;
                for (size_t j = i + 1; j < N; j++) {
                    if (hrf_nbr_dist2(D, q + i * D, q + j * D, L) < rc2) {
                        if (pass) {
                            out[2 * (off[i] + cnt)] = (uint32_t)i;
                            out[2 * (off[i] + cnt) + 1] = (uint32_t)j;
                        }
                        cnt++;
                    }
                }
                if (!pass) off[i + 1] = cnt;
            }
        }
        if (!pass) {
            for (size_t i = 0; i < N; i++)
                off[i + 1] += off[i];
            out = malloc((off[N] ? 2 * off[N] : 1) * sizeof *out);
            if (!out) {
                size_t np = off[N];
                ws_free(w);
                free(off);
                return hrf_error(HRF_ENOMEM, "out of memory for %zu pairs", np);
            }
        }
    }
    /* Canonical order: by i, then j (the cell scan visits j in cell order).
     * Insertion sort: ~30 partners each at liquid densities. */
    const long nl = (long)N;
#pragma omp parallel for schedule(static) if (N >= PAR_MIN)
    for (long i = 0; i < nl; i++) {
        uint32_t *seg = out + 2 * off[i];
        const size_t n = off[i + 1] - off[i];
        for (size_t t = 1; t < n; t++) {
            const uint32_t j = seg[2 * t + 1];
            size_t u = t;
            for (; u > 0 && seg[2 * u - 1] > j; u--)
                seg[2 * u + 1] = seg[2 * u - 1];
            seg[2 * u + 1] = j;
        }
    }
    *n_pairs = off[N];
    *pairs = out;
    free(off);
    ws_free(w);
    return HRF_OK;
}

/* ------------------------------------------------------------------------ */
/* velocity Verlet                                                          */
/* ------------------------------------------------------------------------ */

/* Half kick and drift of particles [i0, i1): p += dt/2 f, q += dt p/m. */
static void kick_drift(const hrf_psystem *s, double *q, double *p, const double *f, double dt,
                       size_t i0, size_t i1) {
    const int D = s->D;
    for (size_t i = i0; i < i1; i++) {
        const double dm = dt / s->mass[i];
        for (int a = 0; a < D; a++) {
            p[i * D + a] += 0.5 * dt * f[i * D + a];
            q[i * D + a] += dm * p[i * D + a];
        }
    }
}

static void verlet_steps(const hrf_psystem *s, cell_ws *w, double *q, double *p, double *f,
                         double dt, size_t steps, double *U) {
    const size_t N = s->N, n = N * (size_t)s->D;
    const long nl = (long)N, nnl = (long)n;
    const double h = 0.5 * dt;
    for (size_t t = 0; t < steps; t++) {
        /* Small systems skip OpenMP altogether: even a parallel region with
         * a false if clause costs more than a 5-particle step. */
        if (N >= PAR_MIN) {
#pragma omp parallel for schedule(static)
            for (long i = 0; i < nl; i++)
                kick_drift(s, q, p, f, dt, (size_t)i, (size_t)i + 1);
        } else {
            kick_drift(s, q, p, f, dt, 0, N);
        }
        *U = potential_forces(s, w, q, f);
        if (N >= PAR_MIN) {
#pragma omp parallel for schedule(static)
            for (long i = 0; i < nnl; i++)
                p[i] += h * f[i];
        } else {
            for (size_t i = 0; i < n; i++)
                p[i] += h * f[i];
        }
    }
}

int hrf_psystem_verlet(const hrf_psystem *s, double *q, double *p, double *f, double dt,
                       size_t steps, double *H) {
    if (!isfinite(dt) || dt == 0.0)
        return hrf_error(HRF_EINVAL, "the time step must be finite and non-zero, got %g", dt);
    cell_ws *w = NULL;
    int rc = ws_new(s, &w);
    if (rc) return rc;
    double U = 0.0;
    if (steps == 0 && H) U = potential_forces(s, w, q, NULL);
    verlet_steps(s, w, q, p, f, dt, steps, &U);
    ws_free(w);
    if (H) *H = psys_kinetic(s, p) + U;
    return HRF_OK;
}

int hrf_psystem_simulate(const hrf_psystem *s, double *q, double *p, double dt, size_t steps) {
    double *f = malloc(s->N * (size_t)s->D * sizeof *f);
    if (!f) return hrf_error(HRF_ENOMEM, "out of memory for %zu particles", s->N);
    int rc = hrf_psystem_eval(s, q, p, NULL, NULL, f);
    if (!rc) rc = hrf_psystem_verlet(s, q, p, f, dt, steps, NULL);
    free(f);
    return rc;
}
