/* The passes over the HNN's feature matrix D = σ'(Z) (K x M, row-major)
 * that the structured least-squares problem of hnn_lsq.c is made of
 * (docs/math.md §4): y = D·Vc, Tc += Dᵀ y, both fused, and the fused
 * residual. Vc, Tc and the per-thread partial sums are dim x M (one
 * contiguous vector per coordinate a); y and u have dim entries per row.
 *
 * The kernels take rows in pairs and coordinates in groups of four, two or
 * one: the dot products then run eight independent accumulators (the
 * multiply-add latency hidden; one accumulator per dot product left these
 * passes latency-bound, 37 ms per fused pass on 20 000 x 2000 where the
 * memory allows 20 ms; now 29 ms) and the updates load each row element
 * once for all coordinates of a group. An odd last row is paired with
 * itself (dots: the copy is discarded; updates: its coefficients are zero).
 * Summation order is fixed by M, dim and the static row split:
 * deterministic for a given thread count. */
#include "hnn/hnn_impl.h"

#include <omp.h>
#include <string.h>

/* y0[j] = d0·v_j, y1[j] = d1·v_j for j < 4 (M entries each). */
static inline void dots_2x4(const double *restrict d0, const double *restrict d1,
                            const double *restrict v0, const double *restrict v1,
                            const double *restrict v2, const double *restrict v3, size_t M,
                            double *y0, double *y1) {
    double s00 = 0.0, s01 = 0.0, s02 = 0.0, s03 = 0.0, s10 = 0.0, s11 = 0.0, s12 = 0.0, s13 = 0.0;
#pragma omp simd reduction(+ : s00, s01, s02, s03, s10, s11, s12, s13)
    for (size_t k = 0; k < M; k++) {
        double a = d0[k], b = d1[k];
        s00 += a * v0[k], s01 += a * v1[k], s02 += a * v2[k], s03 += a * v3[k];
        s10 += b * v0[k], s11 += b * v1[k], s12 += b * v2[k], s13 += b * v3[k];
    }
    y0[0] = s00, y0[1] = s01, y0[2] = s02, y0[3] = s03;
    y1[0] = s10, y1[1] = s11, y1[2] = s12, y1[3] = s13;
}

/* The same for two vectors. */
static inline void dots_2x2(const double *restrict d0, const double *restrict d1,
                            const double *restrict v0, const double *restrict v1, size_t M,
                            double *y0, double *y1) {
    double s00 = 0.0, s01 = 0.0, s10 = 0.0, s11 = 0.0;
#pragma omp simd reduction(+ : s00, s01, s10, s11)
    for (size_t k = 0; k < M; k++) {
        double a = d0[k], b = d1[k];
        s00 += a * v0[k], s01 += a * v1[k];
        s10 += b * v0[k], s11 += b * v1[k];
    }
    y0[0] = s00, y0[1] = s01;
    y1[0] = s10, y1[1] = s11;
}

/* ... and for one. */
static inline void dots_2x1(const double *restrict d0, const double *restrict d1,
                            const double *restrict v0, size_t M, double *y0, double *y1) {
    double s00 = 0.0, s10 = 0.0;
#pragma omp simd reduction(+ : s00, s10)
    for (size_t k = 0; k < M; k++)
        s00 += d0[k] * v0[k], s10 += d1[k] * v0[k];
    y0[0] = s00, y1[0] = s10;
}

/* y_i,a = Σ_k D_ik Vc[a·M + k] for rows [i0, i1) of Db; y indexed by row (dim per row). */
static void tile_dots(const double *Db, size_t i0, size_t i1, size_t M, size_t dim,
                      const double *Vc, double *y) {
    for (size_t i = i0; i < i1; i += 2) {
        const double *d0 = Db + i * M, *d1 = i + 1 < i1 ? d0 + M : d0;
        double y0[4], y1[4];
        for (size_t a = 0; a < dim;) {
            const double *v = Vc + a * M;
            size_t na = dim - a >= 4 ? 4 : dim - a >= 2 ? 2 : 1;
            if (na == 4)
                dots_2x4(d0, d1, v, v + M, v + 2 * M, v + 3 * M, M, y0, y1);
            else if (na == 2)
                dots_2x2(d0, d1, v, v + M, M, y0, y1);
            else
                dots_2x1(d0, d1, v, M, y0, y1);
            for (size_t j = 0; j < na; j++) {
                y[i * dim + a + j] = y0[j];
                if (i + 1 < i1) y[(i + 1) * dim + a + j] = y1[j];
            }
            a += na;
        }
    }
}

/* p_j[k] += c0[j] d0[k] + c1[j] d1[k] for j < 4, k in [k0, k1). */
static inline void axpy_2x4(double *restrict p0, double *restrict p1, double *restrict p2,
                            double *restrict p3, const double *restrict d0,
                            const double *restrict d1, const double *c0, const double *c1,
                            size_t k0, size_t k1) {
    double a0 = c0[0], a1 = c0[1], a2 = c0[2], a3 = c0[3];
    double b0 = c1[0], b1 = c1[1], b2 = c1[2], b3 = c1[3];
#pragma omp simd
    for (size_t k = k0; k < k1; k++) {
        double x = d0[k], z = d1[k];
        p0[k] += a0 * x + b0 * z, p1[k] += a1 * x + b1 * z;
        p2[k] += a2 * x + b2 * z, p3[k] += a3 * x + b3 * z;
    }
}

/* The same for two coordinates. */
static inline void axpy_2x2(double *restrict p0, double *restrict p1, const double *restrict d0,
                            const double *restrict d1, const double *c0, const double *c1,
                            size_t k0, size_t k1) {
    double a0 = c0[0], a1 = c0[1], b0 = c1[0], b1 = c1[1];
#pragma omp simd
    for (size_t k = k0; k < k1; k++) {
        double x = d0[k], z = d1[k];
        p0[k] += a0 * x + b0 * z, p1[k] += a1 * x + b1 * z;
    }
}

/* ... and for one. */
static inline void axpy_2x1(double *restrict p0, const double *restrict d0,
                            const double *restrict d1, const double *c0, const double *c1,
                            size_t k0, size_t k1) {
    double a0 = c0[0], b0 = c1[0];
#pragma omp simd
    for (size_t k = k0; k < k1; k++)
        p0[k] += a0 * d0[k] + b0 * d1[k];
}

/* P[a·M + k] += Σ_i D_ik y_i,a over rows [i0, i1) of Db, in chunks of
 * K_CHUNK columns so that the chunk of P and of the rows stays in L1 while
 * the row pairs pass over it. */
#define K_CHUNK 256
void hnn_tile_axpy(const double *Db, size_t i0, size_t i1, size_t M, size_t dim, const double *y,
                   double *P) {
    for (size_t k0 = 0; k0 < M; k0 += K_CHUNK) {
        size_t k1 = k0 + K_CHUNK < M ? k0 + K_CHUNK : M;
        for (size_t i = i0; i < i1; i += 2) {
            const double *d0 = Db + i * M, *d1 = i + 1 < i1 ? d0 + M : d0;
            for (size_t a = 0; a < dim;) {
                size_t na = dim - a >= 4 ? 4 : dim - a >= 2 ? 2 : 1;
                double c0[4], c1[4];
                for (size_t j = 0; j < na; j++) {
                    c0[j] = y[i * dim + a + j];
                    c1[j] = i + 1 < i1 ? y[(i + 1) * dim + a + j] : 0.0;
                }
                double *p = P + a * M;
                if (na == 4)
                    axpy_2x4(p, p + M, p + 2 * M, p + 3 * M, d0, d1, c0, c1, k0, k1);
                else if (na == 2)
                    axpy_2x2(p, p + M, d0, d1, c0, c1, k0, k1);
                else
                    axpy_2x1(p, d0, d1, c0, c1, k0, k1);
                a += na;
            }
        }
    }
}

/* Tc += Σ_t part_t over the threads' buffers, in thread order (deterministic). */
void hnn_add_partials(const double *part, int nthreads, size_t len, double *Tc) {
    for (int t = 0; t < nthreads; t++) {
        const double *P = part + (size_t)t * len;
        for (size_t j = 0; j < len; j++)
            Tc[j] += P[j];
    }
}

/* Rows per tile: the tile (ROW_TILE rows of D) stays in L2 between its dot
 * products and its update in the fused pass. */
#define ROW_TILE 16

/* One pass over the nb rows of Db, tile by tile: with Vc, y = D·Vc; with u
 * also, y = u − y; with Tc, Tc += Dᵀ y (y given when Vc is NULL). A tile's
 * update follows its dot products while it is still in cache, so each row
 * of D is read from memory once. Tiles are split statically over threads;
 * each thread sums its updates into its own buffer of part (nthreads x dim
 * x M), and the buffers are added in thread order: deterministic for a
 * given thread count. */
static void rows_pass(const double *Db, size_t nb, size_t M, size_t dim, const double *Vc,
                      const double *u, double *y, double *Tc, double *part, int nthreads) {
    if (Tc) memset(part, 0, (size_t)nthreads * dim * M * sizeof *part);
    size_t ntiles = (nb + ROW_TILE - 1) / ROW_TILE;
#pragma omp parallel num_threads(nthreads)
    {
        double *P = Tc ? part + (size_t)omp_get_thread_num() * dim * M : NULL;
#pragma omp for schedule(static)
        for (size_t tile = 0; tile < ntiles; tile++) {
            size_t i0 = tile * ROW_TILE, i1 = i0 + ROW_TILE < nb ? i0 + ROW_TILE : nb;
            if (Vc) tile_dots(Db, i0, i1, M, dim, Vc, y);
            if (u)
                for (size_t j = i0 * dim; j < i1 * dim; j++)
                    y[j] = u[j] - y[j];
            if (P) hnn_tile_axpy(Db, i0, i1, M, dim, y, P);
        }
    }
    if (Tc) hnn_add_partials(part, nthreads, dim * M, Tc);
}

void hnn_rows_times(const double *Db, size_t nb, size_t M, size_t dim, const double *Vc,
                    double *y) {
    rows_pass(Db, nb, M, dim, Vc, NULL, y, NULL, NULL, omp_get_max_threads());
}

void hnn_rows_transpose_times(const double *Db, size_t nb, size_t M, size_t dim, const double *y,
                              double *Tc, double *part, int nthreads) {
    rows_pass(Db, nb, M, dim, NULL, NULL, (double *)y, Tc, part, nthreads);
}

void hnn_rows_normal(const double *Db, size_t nb, size_t M, size_t dim, const double *Vc, double *y,
                     double *Tc, double *part, int nthreads) {
    rows_pass(Db, nb, M, dim, Vc, NULL, y, Tc, part, nthreads);
}

void hnn_rows_residual(const double *Db, size_t nb, size_t M, size_t dim, const double *Vc,
                       const double *u, double *r, double *Tc, double *part, int nthreads) {
    rows_pass(Db, nb, M, dim, Vc, u, r, Tc, part, nthreads);
}
