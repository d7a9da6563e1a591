/* The cross-process hook (hamrf/comm.h, docs/mpi.md): the helpers every
 * distributed fit uses on top of the one allreduce callback. */
#include "hamrf/comm.h"
#include "hamrf/status.h"

#include <stdlib.h>
#include <string.h>

int hrf_comm_active(const hrf_comm *c) {
    return c && c->size > 1 && c->allreduce;
}

int hrf_comm_sum(const hrf_comm *c, double *buf, size_t n) {
    return hrf_comm_active(c) && n ? c->allreduce(c->ctx, HRF_COMM_SUM, buf, n) : HRF_OK;
}

int hrf_comm_max(const hrf_comm *c, double *buf, size_t n) {
    return hrf_comm_active(c) && n ? c->allreduce(c->ctx, HRF_COMM_MAX, buf, n) : HRF_OK;
}

int hrf_comm_rows(const hrf_comm *c, size_t local, size_t *total, size_t *first) {
    if (!hrf_comm_active(c)) {
        *total = local, *first = 0;
        return HRF_OK;
    }
    double *cnt = calloc((size_t)c->size, sizeof *cnt);
    if (!cnt) return hrf_error(HRF_ENOMEM, "out of memory for %d row counts", c->size);
    cnt[c->rank] = (double)local; /* exact below 2^53 rows */
    int rc = hrf_comm_sum(c, cnt, (size_t)c->size);
    if (rc == HRF_OK) {
        size_t t = 0, f = 0;
        for (int r = 0; r < c->size; r++) {
            if (r == c->rank) f = t;
            t += (size_t)cnt[r];
        }
        *total = t, *first = f;
    }
    free(cnt);
    return rc;
}

int hrf_comm_gather_rows(const hrf_comm *c, size_t first, size_t nlocal, size_t width,
                         const double *local, size_t nidx, const size_t *idx, double *out) {
    if (!hrf_comm_active(c)) {
        for (size_t t = 0; t < nidx; t++)
            memcpy(out + t * width, local + idx[t] * width, width * sizeof *out);
        return HRF_OK;
    }
    /* Each row comes from exactly one rank; the others contribute zero bits. */
    memset(out, 0, nidx * width * sizeof *out);
    for (size_t t = 0; t < nidx; t++)
        if (idx[t] >= first && idx[t] < first + nlocal)
            memcpy(out + t * width, local + (idx[t] - first) * width, width * sizeof *out);
    if (nidx * width == 0) return HRF_OK;
    return c->allreduce(c->ctx, HRF_COMM_BOR, out, nidx * width);
}
