/* The graph network's least-squares problems (docs/math.md §4). For
 * snapshot s the position rows (i, a), i < N, a < D, have
 *   A_E[(i,a), k] = Σ_{pairs (i,j)} σ'(w_k r_ij + b_k) w_k (q_i − q_j)_a / r_ij   (sign per end)
 * with target −dp_ia/dt, and the momentum rows
 *   A_K[(i,a), k] = σ'(W_K,k · x_i + b_K,k) W_K,k0 · 2 p_ia,   x_i = [|p_i|², 1/m_i]
 * with target dq_ia/dt. Ĥ is separable, so θ_E and θ_K are two independent
 * problems (the joint problem, block diagonal, is kept for comparison). The
 * problem is given to hrf_lstsq_solve through callbacks that rebuild the
 * feature block of a few snapshots at a time ("chunk", filled in parallel,
 * one snapshot per thread), so no solver ever holds more than one chunk of A:
 *   gram    — G += BᵀB (DSYRK), Aᵀu += Bᵀu_B, group by group: memory O(M²);
 *   reduce  — streamed QR (R of [R; B] updated by dtpqrt on ~1 MB sub-blocks,
 *             Qᵀ applied to the right-hand side, the residual's orthogonal
 *             part summed): an M x M problem with the singular values of A,
 *             so the stable QR/SVD routes also run in O(M²) memory; `auto`
 *             takes it for problems of moderate cost, and solve_tall for
 *             tall ones (one pass over the data, no residual pass);
 *   apply / apply_t — chunk by chunk, for the normal solver's LSQR;
 *   assemble — the explicit matrix, for svd/qr on small problems.
 * The fit (hgn_fit.c) solves each part with hgn_solve_part, the pairs of the
 * snapshots taken from its pair cache (whose functions are here) when it has
 * one. */
#include "hgn/hgn_impl.h"

#include "core/sysinfo.h"
#include "hamrf/status.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the pairs of a data set, cached for one fit ---- */

void hgn_pair_cache_free(hgn_pair_cache *pc) {
    if (!pc) return;
    free(pc->off), free(pc->pairs), free(pc->r), free(pc->u);
    memset(pc, 0, sizeof *pc);
}

/* Appends E pairs (with their geometry); 0 if the cache would outgrow
 * max_bytes or memory runs out (the caller then drops the cache). */
int hgn_pair_cache_add(hgn_pair_cache *pc, const uint32_t *pairs, size_t E, const double *r,
                       const double *u, double max_bytes) {
    if (pc->n + E > pc->cap) {
        size_t cap = pc->cap ? pc->cap : 4096;
        while (cap < pc->n + E)
            cap *= 2;
        if (40.0 * (double)cap > max_bytes) {
            cap = pc->n + E;
            if (40.0 * (double)cap > max_bytes) return 0;
        }
        uint32_t *p2 = realloc(pc->pairs, 2 * cap * sizeof *p2);
        if (p2) pc->pairs = p2;
        double *r2 = p2 ? realloc(pc->r, cap * sizeof *r2) : NULL;
        if (r2) pc->r = r2;
        double *u2 = r2 ? realloc(pc->u, 3 * cap * sizeof *u2) : NULL;
        if (!u2) return 0;
        pc->u = u2, pc->cap = cap;
    }
    memcpy(pc->pairs + 2 * pc->n, pairs, 2 * E * sizeof *pairs);
    memcpy(pc->r + pc->n, r, E * sizeof *r);
    memcpy(pc->u + 3 * pc->n, u, 3 * E * sizeof *u);
    pc->n += E;
    return 1;
}

/* ---- the streamed least-squares problem ---- */

/* Blocks of several snapshots are filled in parallel, one snapshot per
 * thread at a time; a block holds at most this many bytes (but always one
 * snapshot). */
#define BLOCK_BYTES_MAX (256.0 * 1048576.0)
/* Blocks of fewer entries (rows x cols) are filled by one thread. */
#define PAR_MIN_ENTRIES 262144.0

typedef struct {
    const hrf_hgn *m;
    const hrf_pdata *d;
    hrf_hgn_graph g;
    hrf_hgn_part part;
    size_t S, N, nd; /* snapshots, particles, N·D */
    int D;
    size_t rps;   /* rows per snapshot */
    size_t cols;  /* unknowns */
    int kT;       /* 1: the momentum rows carry the column of θ_T (p_ia/m_i) */
    size_t chunk; /* snapshots per block (filled in parallel), a multiple of group */
    size_t group; /* snapshots per BLAS call (≥ HGN_MIN_BLOCK_ROWS rows), independent of threads */
    double *blk;  /* (chunk·rps, cols) row-major */
    double *u;    /* (S·rps) right-hand side */
    const hgn_pair_cache *pc; /* the fit's pairs, or NULL: search them in every pass */
    int nthreads;
    hgn_work *w;   /* (nthreads) scratch */
    double res2;   /* lsq_reduce: ‖Aθ* − u‖² of the least-squares solution (see there) */
    size_t stride; /* the problem's snapshot s is the data set's soff + s·stride */
    size_t soff;   /* the first local snapshot whose global index is a multiple of stride */
    const hrf_comm *comm; /* distributed snapshots (docs/mpi.md), or NULL */
    hgn_progress pr;      /* pr.fn NULL: no progress reports */
} hgn_lsq;

/* Reports a pass over the snapshots at snapshot s0 of c->S. */
static void lsq_progress(const hgn_lsq *c, size_t s0) {
    if (c->pr.fn)
        c->pr.fn(c->pr.user, c->pr.stage,
                 c->pr.lo + (c->pr.hi - c->pr.lo) * (double)s0 / (double)(c->S ? c->S : 1));
}

/* Rows of the problem's snapshot ps into b (zeroed here), with scratch w. */
static int lsq_fill_one(hgn_lsq *c, size_t ps, double *b, hgn_work *w) {
    const hrf_hgn *m = c->m;
    const hrf_pdata *d = c->d;
    const size_t s = c->soff + ps * c->stride;
    memset(b, 0, c->rps * c->cols * sizeof *b);
    const double *q = d->q + s * c->nd, *p = d->p + s * c->nd;
    if (c->part != HRF_HGN_PART_KINETIC) {
        const uint32_t *pairs;
        const double *r = NULL, *u = NULL;
        size_t E;
        if (c->pc) {
            size_t e0 = c->pc->off[s];
            E = c->pc->off[s + 1] - e0;
            pairs = c->pc->pairs + 2 * e0, r = c->pc->r + e0, u = c->pc->u + 3 * e0;
        } else {
            int rc = hgn_graph_pairs(&c->g, c->N, c->D, q, &w->pb, &pairs, &E);
            if (rc) return rc;
        }
        if (m->MN) {
            int rc =
                hgn_fill_potential_mp(m, c->N, c->D, q, c->g.box, pairs, E, r, u, b, c->cols, w);
            if (rc) return rc;
        } else {
            hgn_fill_potential(m, c->D, q, c->g.box, pairs, E, r, u, b, c->cols, NULL, w);
        }
    }
    if (c->part == HRF_HGN_PART_KINETIC)
        hgn_fill_kinetic(m, c->N, c->D, p, d->mass, c->kT, b, c->cols, NULL, w);
    else if (c->part == HRF_HGN_PART_JOINT)
        hgn_fill_kinetic(m, c->N, c->D, p, d->mass, c->kT, b + c->nd * c->cols + m->ME + m->MN,
                         c->cols, NULL, w);
    return HRF_OK;
}

/* Rows of snapshots [s0, s0+ns) into blk when there are fewer snapshots than
 * threads (A-SWIM's first pass takes one): pair-mode position rows from the
 * pair cache, each snapshot's columns split over the threads (in multiples
 * of 8), which gives the block one thread gives (hgn_fill_potential_cols).
 * Returns 0, having done nothing, where that does not apply. */
static int lsq_fill_cols(hgn_lsq *c, size_t s0, size_t ns) {
    const hrf_hgn *m = c->m;
    if (!c->pc || c->part != HRF_HGN_PART_POTENTIAL || m->MN || c->nthreads < 2 ||
        (double)c->rps * (double)c->cols < PAR_MIN_ENTRIES)
        return 0;
    const size_t per = (m->ME / (size_t)c->nthreads + 7) / 8 * 8;
    for (size_t t = 0; t < ns; t++) {
        const size_t s = c->soff + (s0 + t) * c->stride, e0 = c->pc->off[s];
        const size_t E = c->pc->off[s + 1] - e0;
        double *b = c->blk + t * c->rps * c->cols;
        memset(b, 0, c->rps * c->cols * sizeof *b);
#pragma omp parallel num_threads(c->nthreads)
        {
            const size_t th = (size_t)omp_get_thread_num();
            const size_t k0 = th * per < m->ME ? th * per : m->ME;
            const size_t k1 = k0 + per < m->ME ? k0 + per : m->ME;
            if (k1 > k0)
                hgn_fill_potential_cols(m, k0, k1, c->D, c->d->q + s * c->nd, c->g.box,
                                        c->pc->pairs + 2 * e0, E, c->pc->r + e0, c->pc->u + 3 * e0,
                                        b, c->cols, NULL, &c->w[th]);
        }
    }
    return 1;
}

/* Rows of snapshots [s0, s0+ns) into blk: the snapshots are split statically
 * over the threads, each filled by one thread exactly as it would be alone,
 * so the block does not depend on the number of threads. */
static int lsq_fill(hgn_lsq *c, size_t s0, size_t ns) {
    int failed = 0;
    if (ns < (size_t)c->nthreads && lsq_fill_cols(c, s0, ns)) return HRF_OK;
    int nt = (size_t)c->nthreads < ns ? c->nthreads : (int)ns;
    /* small blocks serially: idle OpenMP threads spin after a parallel region
     * and would compete with the BLAS threads that follow */
    if ((double)ns * (double)c->rps * (double)c->cols < PAR_MIN_ENTRIES) nt = 1;
#pragma omp parallel for schedule(static) num_threads(nt) if (nt > 1) reduction(| : failed)
    for (size_t t = 0; t < ns; t++)
        if (lsq_fill_one(c, s0 + t, c->blk + t * c->rps * c->cols, &c->w[omp_get_thread_num()]))
            failed = 1;
    if (!failed) return HRF_OK;
    /* Only the pair search can fail (memory): again on this thread, for its message. */
    for (size_t t = 0; t < ns; t++) {
        int rc = lsq_fill_one(c, s0 + t, c->blk + t * c->rps * c->cols, &c->w[0]);
        if (rc) return rc;
    }
    return hrf_error(HRF_ENOMEM, "out of memory filling the feature block");
}

static int lsq_gram(void *ctx, double *G, double *Atu, double *utu) {
    hgn_lsq *c = ctx;
    const size_t n = c->cols;
    memset(G, 0, n * n * sizeof *G);
    memset(Atu, 0, n * sizeof *Atu);
    double t_fill = 0.0, t_all = hrf_now();
    for (size_t s0 = 0; s0 < c->S; s0 += c->chunk) {
        size_t ns = c->S - s0 < c->chunk ? c->S - s0 : c->chunk, nr = ns * c->rps;
        lsq_progress(c, s0);
        double tf = hrf_now();
        int rc = lsq_fill(c, s0, ns);
        t_fill += hrf_now() - tf;
        if (rc) return rc;
        /* blk row-major (nr, n) is column-major (n, nr): G += blk_cm blk_cmᵀ,
         * one group at a time (the same sums whatever the block size). */
        for (size_t g0 = 0; g0 < ns; g0 += c->group) {
            size_t ng = ns - g0 < c->group ? ns - g0 : c->group, gr = ng * c->rps;
            const double *bg = c->blk + g0 * c->rps * n;
            cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, (int)n, (int)gr, 1.0, bg, (int)n,
                        1.0, G, (int)n);
            cblas_dgemv(CblasColMajor, CblasNoTrans, (int)n, (int)gr, 1.0, bg, (int)n,
                        c->u + (s0 + g0) * c->rps, 1, 1.0, Atu, 1);
        }
        (void)nr;
    }
    *utu = cblas_ddot((int)(c->S * c->rps), c->u, 1, c->u, 1);
    hrf_debug("hgn Gram %zu x %zu: fill %.3f s, DSYRK %.3f s", c->S * c->rps, n, t_fill,
              hrf_now() - t_all - t_fill);
    return HRF_OK;
}

static int lsq_apply(void *ctx, const double *v, double *y) {
    hgn_lsq *c = ctx;
    for (size_t s0 = 0; s0 < c->S; s0 += c->chunk) {
        size_t ns = c->S - s0 < c->chunk ? c->S - s0 : c->chunk, nr = ns * c->rps;
        int rc = lsq_fill(c, s0, ns);
        if (rc) return rc;
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)nr, (int)c->cols, 1.0, c->blk, (int)c->cols,
                    v, 1, 0.0, y + s0 * c->rps, 1);
    }
    return HRF_OK;
}

static int lsq_apply_t(void *ctx, const double *y, double *v) {
    hgn_lsq *c = ctx;
    memset(v, 0, c->cols * sizeof *v);
    for (size_t s0 = 0; s0 < c->S; s0 += c->chunk) {
        size_t ns = c->S - s0 < c->chunk ? c->S - s0 : c->chunk, nr = ns * c->rps;
        int rc = lsq_fill(c, s0, ns);
        if (rc) return rc;
        for (size_t g0 = 0; g0 < ns; g0 += c->group) {
            size_t ng = ns - g0 < c->group ? ns - g0 : c->group, gr = ng * c->rps;
            cblas_dgemv(CblasRowMajor, CblasTrans, (int)gr, (int)c->cols, 1.0,
                        c->blk + g0 * c->rps * c->cols, (int)c->cols, y + (s0 + g0) * c->rps, 1,
                        1.0, v, 1);
        }
        (void)nr;
    }
    return HRF_OK;
}

static int lsq_assemble(void *ctx, double *A, double *u) {
    hgn_lsq *c = ctx;
    const size_t rows = c->S * c->rps, n = c->cols;
    for (size_t s0 = 0; s0 < c->S; s0 += c->chunk) {
        size_t ns = c->S - s0 < c->chunk ? c->S - s0 : c->chunk, nr = ns * c->rps;
        int rc = lsq_fill(c, s0, ns);
        if (rc) return rc;
        for (size_t k = 0; k < n; k++)
            for (size_t r = 0; r < nr; r++)
                A[s0 * c->rps + r + k * rows] = c->blk[r * n + k];
    }
    memcpy(u, c->u, rows * sizeof *u);
    return HRF_OK;
}

/* The augmented rows [A_g | u_g] of one group, rows [r0, r0+mr) of the
 * chunk starting at snapshot s0, into B (m x (n+1), column-major, m =
 * max(rows, n + 1), zero rows added when the group is shorter); returns m.
 * The kinetic part's rows of a particle are p_ia·w_i (a = 1..D): rotated so
 * that the first is along p_i, the others are zero (to rounding) and only
 * their right-hand sides remain, a constant of the residual. So each
 * particle enters the QR as one row |p_i|·w_i with target p̂_i·u_i, and
 * extra[t] = Σ_a u_ia² − (p̂_i·u_i)² goes to the residual: D times fewer rows,
 * the same least-squares problem (docs/math.md §10). Threaded when called
 * alone, one thread inside the groups' parallel region. */
static size_t group_rows(const hgn_lsq *c, int kin, size_t s0, size_t r0, size_t mr, double *B,
                         double *extra) {
    const size_t n = c->cols, na = n + 1;
    const double *blk = c->blk + r0 * n, *ub = c->u + s0 * c->rps + r0;
    const int nt = omp_in_parallel() ? 1 : c->nthreads; /* no nested teams, even if enabled */
    size_t rows = mr, m;
    if (kin) { /* mr is a multiple of D */
        const size_t D = (size_t)c->D;
        rows = mr / D, m = rows > na ? rows : na;
#pragma omp parallel for schedule(static) num_threads(nt)
        for (size_t t = 0; t < rows; t++) {
            const size_t row = r0 + t * D; /* within the chunk */
            const size_t ps = s0 + row / c->rps, i = (row % c->rps) / D;
            const double *p = c->d->p + (c->soff + ps * c->stride) * c->nd + i * D;
            double pn = 0.0, h[3] = {0.0, 0.0, 0.0}, uh = 0.0, uu = 0.0;
            for (size_t a = 0; a < D; a++)
                pn += p[a] * p[a];
            pn = sqrt(pn);
            for (size_t a = 0; a < D; a++) {
                h[a] = pn > 0.0 ? p[a] / pn : 0.0;
                uh += h[a] * ub[t * D + a], uu += ub[t * D + a] * ub[t * D + a];
            }
            for (size_t k = 0; k < n; k++) {
                double v = 0.0;
                for (size_t a = 0; a < D; a++)
                    v += h[a] * blk[(t * D + a) * n + k];
                B[t + k * m] = v;
            }
            B[t + n * m] = uh;
            extra[t] = uu - uh * uh > 0.0 ? uu - uh * uh : 0.0;
        }
    } else {
        m = mr > na ? mr : na;
        /* transpose the row-major rows into B, in tiles of 64 rows x 8 columns */
#pragma omp parallel for schedule(static) num_threads(nt)
        for (size_t t0 = 0; t0 < mr; t0 += 64) {
            size_t t1 = t0 + 64 < mr ? t0 + 64 : mr;
            for (size_t k0 = 0; k0 < n; k0 += 8)
                for (size_t r = t0; r < t1; r++)
                    for (size_t k = k0; k < k0 + 8 && k < n; k++)
                        B[r + k * m] = blk[r * n + k];
            for (size_t r = t0; r < t1; r++)
                B[r + n * m] = ub[r];
        }
    }
    for (size_t k = 0; k < na; k++) /* zero rows up to n + 1 (a short last group) */
        for (size_t r = rows; r < m; r++)
            B[r + k * m] = 0.0;
    return m;
}

/* QR of one group's augmented rows B (m x na, column-major, m ≥ na) by
 * dgeqrt; its triangle into Rg (na x na, zeros below). Returns LAPACK's
 * info (0: done); the caller reports a failure (this runs on worker
 * threads, which set no error state). */
static int group_qr(double *B, size_t m, size_t na, size_t nbt, double *Tf, double *wk,
                    double *Rg) {
    lapack_int info =
        LAPACKE_dgeqrt_work(LAPACK_COL_MAJOR, (lapack_int)m, (lapack_int)na, (lapack_int)nbt, B,
                            (lapack_int)m, Tf, (lapack_int)nbt, wk);
    if (info) return (int)info;
    for (size_t k = 0; k < na; k++)
        for (size_t i = 0; i < na; i++)
            Rg[i + k * na] = i <= k ? B[i + k * m] : 0.0;
    return 0;
}

/* Folds a group's triangle Rg into the running one Racc by the
 * triangular-triangular QR (dtpqrt with l = na), or copies it there for the
 * first group. */
static int fold_triangle(double *Racc, double *Rg, size_t na, size_t nbt, double *Tf, double *wk,
                         int *first) {
    if (*first) {
        memcpy(Racc, Rg, na * na * sizeof *Racc);
        *first = 0;
        return HRF_OK;
    }
    lapack_int info = LAPACKE_dtpqrt_work(LAPACK_COL_MAJOR, (lapack_int)na, (lapack_int)na,
                                          (lapack_int)na, (lapack_int)nbt, Racc, (lapack_int)na, Rg,
                                          (lapack_int)na, Tf, (lapack_int)nbt, wk);
    if (info)
        return hrf_error(HRF_ENUMERIC, "streamed QR failed (LAPACK dtpqrt info %d)", (int)info);
    return HRF_OK;
}

int openblas_get_num_threads(void);

/* Streamed QR of the augmented matrix [A | u], one group of snapshots at a
 * time: each group's rows, transposed into column-major order with u as
 * column n (see group_rows), are factorised by LAPACK's blocked QR (dgeqrt,
 * level-3 panels: 33 GFLOP/s on one 32 928 x 200 Lennard-Jones snapshot
 * here, where folding sub-blocks of 1 MB with dtpqrt ran at 22) into an
 * (n+1) x (n+1) triangle, which is folded into the running one by the
 * triangular-triangular QR (dtpqrt with l = n + 1). With single-threaded
 * OpenBLAS the groups of a chunk are factorised in parallel, one per OpenMP
 * thread (dgeqrt's column panels scale poorly over threads: 2 x 1 thread do
 * a group in 57 ms where 2 threads in one call take 77 here), and folded in
 * group order afterwards. At the end the running triangle is [R u_r; 0 ρ]
 * with ‖Aθ − u‖² = ‖Rθ − u_r‖² + ρ², ρ² kept in c->res2: the residual of
 * any θ then follows without another pass over A and without cancellation.
 * The sequence of factorisations depends on the groups only, not on the
 * block size or the thread count. */
static int lsq_reduce(void *ctx, size_t *rows_r, double **A_r, double **u_r) {
    hgn_lsq *c = ctx;
    const size_t n = c->cols, na = n + 1;
    const size_t gr = c->group * c->rps, ldb = gr > na ? gr : na; /* rows of one QR */
    const size_t nbt = na < 32 ? na : 32; /* dgeqrt's and dtpqrt's inner block size */
    const size_t slots = (c->chunk + c->group - 1) / c->group; /* groups per chunk */
    const int kin = c->part == HRF_HGN_PART_KINETIC && c->D > 1;
    /* Per thread: B, T and work; per group of a chunk: its triangle and
     * residual rows. The groups go to the OpenMP threads only where OpenBLAS
     * runs on one thread (OPENBLAS_NUM_THREADS=1; `hamrf train --model hgn`
     * sets it for the fit): its thread count is process-wide, so a library
     * call does not change it, and where OpenBLAS has threads of its own two
     * callers share its one pool. Each thread that calls BLAS maps a buffer
     * of its own (~130 MB of address space): under an address-space limit
     * without room for them, one thread. */
    int nb = c->nthreads < (int)slots ? c->nthreads : (int)slots;
    if (nb > 1 && (openblas_get_num_threads() != 1 || hrf_blas_threads_within_limits() < nb))
        nb = 1;
    double *B = hrf_alloc_big((size_t)nb * ldb * na * sizeof *B);
    if (!B && nb > 1) nb = 1, B = hrf_alloc_big(ldb * na * sizeof *B); /* one at a time */
    double *Tf = malloc((size_t)nb * 2 * nbt * na * sizeof *Tf);
    double *Racc = calloc(na * na, sizeof *Racc), *Rg = malloc(slots * na * na * sizeof *Rg);
    double *R = calloc(n * n, sizeof *R), *ur = calloc(n, sizeof *ur);
    double *extra = kin ? malloc(slots * ldb * sizeof *extra) : NULL;
    double res_extra = 0.0;
    int rc = HRF_OK, first = 1;
    if (!B || !Tf || !Racc || !Rg || !R || !ur || (kin && !extra)) {
        rc = hrf_error(HRF_ENOMEM, "out of memory for the streamed QR (%d x %zu x %zu)", nb, ldb,
                       na);
        goto done;
    }
    double t_fill = 0.0, t_all = hrf_now();
    for (size_t s0 = 0; s0 < c->S; s0 += c->chunk) {
        size_t ns = c->S - s0 < c->chunk ? c->S - s0 : c->chunk, nr = ns * c->rps;
        lsq_progress(c, s0);
        double tf = hrf_now();
        if ((rc = lsq_fill(c, s0, ns))) goto done;
        t_fill += hrf_now() - tf;
        const size_t ng = (nr + gr - 1) / gr;
        const int par = nb > 1 && ng > 1;
        int info = 0;
#pragma omp parallel for schedule(static) num_threads(nb) if (par) reduction(min : info)
        for (size_t g = 0; g < ng; g++) {
            const int t = omp_get_thread_num();
            const size_t r0 = g * gr, mr = nr - r0 < gr ? nr - r0 : gr;
            double *Bt = B + (size_t)t * ldb * na, *Tt = Tf + (size_t)t * 2 * nbt * na;
            size_t m = group_rows(c, kin, s0, r0, mr, Bt, kin ? extra + g * ldb : NULL);
            int i = group_qr(Bt, m, na, nbt, Tt, Tt + nbt * na, Rg + g * na * na);
            if (i < info) info = i; /* LAPACK's info is negative: an invalid argument */
        }
        if (info) {
            rc = hrf_error(HRF_ENUMERIC, "streamed QR failed (LAPACK dgeqrt info %d)", info);
            goto done;
        }
        for (size_t g = 0; g < ng; g++) { /* in group order: any thread count */
            if (kin) {
                const size_t r0 = g * gr, mr = nr - r0 < gr ? nr - r0 : gr;
                for (size_t t = 0; t < mr / (size_t)c->D; t++)
                    res_extra += extra[g * ldb + t];
            }
            if ((rc = fold_triangle(Racc, Rg + g * na * na, na, nbt, Tf, Tf + nbt * na, &first)))
                goto done;
        }
    }
    for (size_t k = 0; k < n; k++) {
        for (size_t i = 0; i <= k; i++)
            R[i + k * n] = Racc[i + k * na];
        ur[k] = Racc[k + n * na];
    }
    c->res2 = Racc[n + n * na] * Racc[n + n * na] + res_extra;
    hrf_debug("hgn streamed QR %zu x %zu: fill %.3f s, QR %.3f s (%d group%s at a time)",
              c->S * c->rps, n, t_fill, hrf_now() - t_all - t_fill, nb, nb == 1 ? "" : "s");
done:
    hrf_free_big(B, (size_t)nb * ldb * na * sizeof *B);
    free(Tf), free(Racc), free(Rg), free(extra);
    if (rc) {
        free(R), free(ur);
        return rc;
    }
    *rows_r = n, *A_r = R, *u_r = ur;
    return HRF_OK;
}

static void lsq_free(hgn_lsq *c) {
    free(c->blk), free(c->u);
    if (c->w)
        for (int t = 0; t < c->nthreads; t++)
            hgn_work_free(&c->w[t]);
    free(c->w);
    c->w = NULL;
}

/* The problem of one part. With the linear kinetic feature, kT = 1 keeps its
 * column (the public problem), kT = 0 leaves it out and subtracts a fixed
 * θ_T·p_ia/m_i = thT·∂T_lin/∂p_ia from the momentum rows' targets (the fit's
 * second stage, see solve_theta in hgn_fit.c). */
static int lsq_init(hgn_lsq *c, const hrf_hgn *m, const hrf_pdata *d, hrf_hgn_part part, int kT,
                    double thT, const hgn_pair_cache *pc, size_t first, size_t stride) {
    memset(c, 0, sizeof *c);
    c->m = m, c->d = d, c->part = part, c->pc = pc, c->stride = stride ? stride : 1;
    /* distributed: the global snapshots first + s that are multiples of stride */
    c->soff = (c->stride - first % c->stride) % c->stride;
    c->kT = m->klin && kT && part != HRF_HGN_PART_POTENTIAL;
    hrf_hgn_graph_of(d, &c->g);
    c->S = d->S > c->soff ? (d->S - c->soff + c->stride - 1) / c->stride : 0;
    c->N = d->N, c->D = d->D;
    c->nd = d->N * (size_t)d->D;
    c->rps = part == HRF_HGN_PART_JOINT ? 2 * c->nd : c->nd;
    c->cols = part == HRF_HGN_PART_POTENTIAL ? m->ME + m->MN
              : part == HRF_HGN_PART_KINETIC ? m->MK + (size_t)c->kT
                                             : m->ME + m->MN + m->MK + (size_t)c->kT;
    size_t want = HGN_MIN_BLOCK_ROWS > 2 * c->cols ? HGN_MIN_BLOCK_ROWS : 2 * c->cols;
    c->group = (want + c->rps - 1) / c->rps;
    if (c->group > c->S) c->group = c->S;
    if (c->group < 1) c->group = 1;
    /* at least one snapshot per thread in a block, within BLOCK_BYTES_MAX */
    c->nthreads = omp_get_max_threads();
    if (c->nthreads < 1) c->nthreads = 1;
    double group_bytes = 8.0 * (double)(c->group * c->rps) * (double)c->cols;
    size_t ngroups = ((size_t)c->nthreads + c->group - 1) / c->group;
    size_t fit = (size_t)(BLOCK_BYTES_MAX / group_bytes);
    if (ngroups > fit) ngroups = fit;
    if (ngroups < 1) ngroups = 1;
    c->chunk = ngroups * c->group;
    if (c->chunk > c->S) c->chunk = c->S;
    if (c->chunk < 1) c->chunk = 1; /* a rank without snapshots of this stride */
    c->blk = malloc(c->chunk * c->rps * c->cols * sizeof *c->blk);
    c->u = malloc((c->S ? c->S : 1) * c->rps * sizeof *c->u);
    c->w = calloc((size_t)c->nthreads, sizeof *c->w);
    int rc = c->w ? HRF_OK : hrf_error(HRF_ENOMEM, "out of memory");
    for (int t = 0; t < c->nthreads && !rc && c->w; t++)
        rc = hgn_work_init(&c->w[t], hgn_work_width(m));
    if (!rc && (!c->blk || !c->u))
        rc = hrf_error(HRF_ENOMEM, "out of memory for a %zu x %zu feature block", c->chunk * c->rps,
                       c->cols);
    if (rc) {
        lsq_free(c);
        return rc;
    }
    for (size_t ps = 0; ps < c->S; ps++) {
        const size_t s = c->soff + ps * c->stride;
        double *us = c->u + ps * c->rps;
        const double *dq = d->dqdt + s * c->nd, *dp = d->dpdt + s * c->nd;
        if (part != HRF_HGN_PART_KINETIC)
            for (size_t t = 0; t < c->nd; t++)
                us[t] = -dp[t];
        if (part != HRF_HGN_PART_POTENTIAL) {
            double *uk = part == HRF_HGN_PART_JOINT ? us + c->nd : us;
            const double *p = d->p + s * c->nd;
            for (size_t t = 0; t < c->nd; t++)
                uk[t] =
                    dq[t] - (thT != 0.0 ? thT * p[t] / (d->mass ? d->mass[t / c->D] : 1.0) : 0.0);
        }
    }
    return HRF_OK;
}

static void lsq_problem(hgn_lsq *c, hrf_lsq_problem *prob) {
    memset(prob, 0, sizeof *prob);
    const double rows = (double)(c->S * c->rps), n = (double)c->cols;
    prob->rows = c->S * c->rps, prob->cols = c->cols, prob->ctx = c, prob->u = c->u;
    prob->assemble = lsq_assemble, prob->gram = lsq_gram;
    prob->apply = lsq_apply, prob->apply_t = lsq_apply_t;
    prob->reduce = lsq_reduce;
    prob->reduce_rows = c->cols;
    /* lsq_reduce: dgeqrt of every group's [A_g | u_g] (m x (n+1), m ≥ n + 1):
     * 2 m (n+1)² − (2/3)(n+1)³, then a triangle fold of (2/3)(n+1)³ per group;
     * memory: per thread (at most one per group of a chunk) the group's
     * column-major copy, T and work; per group of a chunk its triangle (and
     * the kinetic part's residual rows); the running triangle, R, u_r */
    const double na = n + 1.0, groups = c->group ? ceil((double)c->S / (double)c->group) : 0.0;
    const double ldb = fmax((double)(c->group * c->rps), na), nbt = na < 32.0 ? na : 32.0;
    const double slots = ceil((double)c->chunk / (double)(c->group ? c->group : 1));
    const double nq = fmin((double)c->nthreads, slots);
    prob->reduce_flops = 2.0 * rows * na * na + groups * (2.0 / 3.0) * na * na * na;
    prob->reduce_bytes = 8.0 * (nq * (ldb * na + 2.0 * nbt * na) + (slots + 1.0) * na * na + n * n +
                                n + (c->part == HRF_HGN_PART_KINETIC ? slots * ldb : 0.0));
    prob->gram_flops = rows * n * (n + 1.0);
    prob->apply_flops = 2.0 * rows * n;
    prob->extra_bytes = 8.0 * (double)(c->chunk * c->rps) * n;
    if (hrf_comm_active(c->comm)) prob->comm = c->comm; /* Gram summed, dense routes TSQR */
}

int hrf_hgn_problem_dense(const hrf_hgn *m, const hrf_pdata *d, hrf_hgn_part part, size_t *rows,
                          size_t *cols, double **A, double **u) {
    *A = NULL, *u = NULL;
    int rc = hgn_check_pdata(d);
    if (rc) return rc;
    hgn_lsq c;
    if ((rc = lsq_init(&c, m, d, part, 1, 0.0, NULL, 0, 1))) return rc;
    *rows = c.S * c.rps, *cols = c.cols;
    *A = malloc(*rows * *cols * sizeof **A);
    *u = malloc(*rows * sizeof **u);
    if (!*A || !*u)
        rc = hrf_error(HRF_ENOMEM, "out of memory for a %zu x %zu matrix", *rows, *cols);
    if (!rc) rc = lsq_assemble(&c, *A, *u);
    if (rc) free(*A), free(*u), *A = NULL, *u = NULL;
    lsq_free(&c);
    return rc;
}

int hrf_hgn_problem_gram(const hrf_hgn *m, const hrf_pdata *d, hrf_hgn_part part, double *G,
                         double *Atu) {
    int rc = hgn_check_pdata(d);
    if (rc) return rc;
    hgn_lsq c;
    if ((rc = lsq_init(&c, m, d, part, 1, 0.0, NULL, 0, 1))) return rc;
    double utu;
    rc = lsq_gram(&c, G, Atu, &utu);
    for (size_t j = 0; j < c.cols; j++) /* mirror the upper triangle */
        for (size_t i = j + 1; i < c.cols; i++)
            G[i + j * c.cols] = G[j + i * c.cols];
    lsq_free(&c);
    return rc;
}

/* `auto` on a tall problem (rows > TALL_FACTOR · cols) takes the streamed QR
 * below: one pass over the data, like the Gram route, at twice the Gram's
 * flops, with the accuracy of a QR. Measured on Lennard-Jones (10 976
 * particles, 10 snapshots, 329 280 x 200, A-SWIM): relative force error on a
 * held-out snapshot 1.7e-7 with the QR, 1.2e-4 with the Gram + Cholesky
 * (its squared condition number); the LSQR refinement that repairs the Gram
 * needs two passes per iteration. */
#define TALL_FACTOR 50

/* The tall route: streamed QR → R θ ≈ u_r by column-pivoted QR of the
 * equilibrated R (what `auto` does for small problems, hamrf/lstsq.h), and
 * ‖Aθ − u‖ from R and the QR's residual sum, so A is formed once. */
static int solve_tall(hgn_lsq *c, const hrf_lstsq_params *lp, size_t rows, double *theta,
                      hrf_lstsq_report *rep) {
    const double t0 = hrf_now();
    const size_t n = c->cols;
    size_t nr;
    double *R = NULL, *ur = NULL;
    int rc = lsq_reduce(c, &nr, &R, &ur);
    if (rc) return rc;
    hrf_lsq_problem small;
    hrf_lsq_dense_ctx dctx;
    hrf_lsq_dense_problem(&small, &dctx, nr, n, R, ur);
    /* distributed: every rank's factor stacked (one-level TSQR, lstsq_dense.c) */
    if (hrf_comm_active(c->comm)) small.comm = c->comm;
    hrf_lstsq_params q = *lp;
    q.solver = HRF_SOLVER_QR, q.equilibrate = 1, q.use_reduce = 0, q.skip_residual = 1;
    rc = hrf_lstsq_solve(&small, &q, theta, rep);
    if (!rc) {
        double r2 = c->res2;
        for (size_t i = 0; i < nr; i++) {
            double y = -ur[i];
            for (size_t k = i; k < n; k++) /* R upper triangular */
                y += R[i + k * nr] * theta[k];
            r2 += y * y;
        }
        double u2 = 0.0;
        for (size_t i = 0; i < c->S * c->rps; i++)
            u2 += c->u[i] * c->u[i];
        if (hrf_comm_active(c->comm)) {
            double v[2] = {r2, u2};
            if ((rc = hrf_comm_sum(c->comm, v, 2))) {
                free(R), free(ur);
                return rc;
            }
            r2 = v[0], u2 = v[1];
        }
        rep->rel_residual = u2 > 0.0 ? sqrt(r2 / u2) : sqrt(r2);
        rep->used = HRF_SOLVER_QR;
        double rows_d = (double)rows, nd = (double)n;
        rep->flops += 2.0 * rows_d * nd * nd;
        snprintf(rep->reason, sizeof rep->reason,
                 "auto: tall problem (%zu x %zu, rows > %d x cols): streamed QR in one pass over "
                 "the data, then column-pivoted QR of the equilibrated %zu x %zu factor",
                 rows, n, TALL_FACTOR, nr, n);
        rep->seconds = hrf_now() - t0;
    }
    free(R), free(ur);
    return rc;
}

/* Solves one part into theta (cols), without the θ_T column: its value thT
 * is fixed (see solve_theta, hgn_fit.c). Only every stride-th snapshot is used. */
int hgn_solve_part(const hrf_hgn_params *p, const hrf_hgn *m, const hrf_pdata *d,
                   const hgn_pair_cache *pc, size_t first, size_t stride, hrf_hgn_part part,
                   double thT, double *theta, hrf_lstsq_report *rep, const hgn_progress *pr) {
    hgn_lsq c;
    int rc = lsq_init(&c, m, d, part, 0, thT, pc, first, stride);
    if (rc) return rc;
    if (pr) c.pr = *pr;
    if (hrf_comm_active(p->comm)) c.comm = p->comm;
    hrf_lsq_problem prob;
    lsq_problem(&c, &prob);
    double limit =
        p->lstsq.mem_limit ? (double)p->lstsq.mem_limit : (double)hrf_mem_available_blas();
    int fits = !(limit > 0.0) || prob.reduce_bytes + prob.extra_bytes <= limit;
    size_t rows = prob.rows;
    if (hrf_comm_active(c.comm)) { /* decide on the global problem, every rank alike */
        double v[2] = {(double)prob.rows, fits ? 0.0 : 1.0};
        if ((rc = hrf_comm_sum(c.comm, v, 2))) {
            lsq_free(&c);
            return rc;
        }
        rows = (size_t)v[0], fits = v[1] == 0.0;
    }
    if (p->lstsq.solver == HRF_SOLVER_AUTO && rows > (size_t)TALL_FACTOR * prob.cols && fits)
        rc = solve_tall(&c, &p->lstsq, rows, theta, rep);
    else
        rc = hrf_lstsq_solve(&prob, &p->lstsq, theta, rep);
    lsq_free(&c);
    return rc;
}
