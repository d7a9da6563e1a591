/* Processes that share one fit (docs/mpi.md): an optional hook through which
 * the library combines numbers across processes, so that libhamrf itself
 * needs no MPI. A fit given comm = NULL, or a comm of size 1, runs exactly
 * as a single process always has; the MPI-enabled hamrf tool fills the hook
 * with MPI_Allreduce (cli/mpi.c).
 *
 * Every rank holds a contiguous block of the global rows (rows of ranks
 * 0..size−1 in order); the library calls the hook collectively, in the same
 * order on every rank, with the same n. */
#ifndef HAMRF_COMM_H
#define HAMRF_COMM_H

#include "hamrf/export.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    HRF_COMM_SUM = 0, /* buf: n doubles, summed over the ranks */
    HRF_COMM_MAX = 1, /* buf: n doubles, the largest over the ranks */
    HRF_COMM_BOR = 2  /* buf: n uint64_t, bitwise or over the ranks (exact gathers) */
} hrf_comm_op;

typedef struct hrf_comm {
    int rank, size; /* this process's number and the number of processes (≥ 1) */
    void *ctx;      /* the callback's context (an MPI communicator, say) */
    /* Combines buf (n entries) in place across all ranks: every rank receives
     * the result. Returns HRF_OK or a negative status. */
    int (*allreduce)(void *ctx, hrf_comm_op op, void *buf, size_t n);
} hrf_comm;

/* 1 when c describes more than one process (else every helper is a no-op). */
HRF_API int hrf_comm_active(const hrf_comm *c);
/* Sums / maximises n doubles in place across ranks (no-op when inactive). */
HRF_API int hrf_comm_sum(const hrf_comm *c, double *buf, size_t n);
HRF_API int hrf_comm_max(const hrf_comm *c, double *buf, size_t n);
/* The global row count and this rank's first global row, from each rank's
 * local count (one reduction of `size` numbers). */
HRF_API int hrf_comm_rows(const hrf_comm *c, size_t local, size_t *total, size_t *first);
/* Gathers rows by global index: rows idx[0..nidx−1] (each < total) of a
 * row-distributed (total, width) row-major matrix of which this rank holds
 * rows [first, first + nlocal) in `local`, into out (nidx, width) on every
 * rank, bit for bit (one BOR reduction of nidx·width words). Inactive: a
 * plain copy from local. */
HRF_API int hrf_comm_gather_rows(const hrf_comm *c, size_t first, size_t nlocal, size_t width,
                                 const double *local, size_t nidx, const size_t *idx, double *out);

#ifdef __cplusplus
}
#endif

#endif
