/* hamrf generate --shards (docs/mpi.md): under mpirun every rank generates
 * its own share of the data set and writes it to its own file,
 * OUT.rankK-of-P.npz. The rows do not depend on P: a box data set is drawn
 * in blocks of SHARD_BLOCK states, block b from its own random substream
 * (seed_b = splitmix64(seed, b)); a particle data set trajectory by
 * trajectory, trajectory k from seed_k the same way. Rank r of P takes a
 * contiguous run of blocks (trajectories), so the shards of rank order,
 * concatenated, are the same rows for every P. */
#include "gen_shards.h"

#include "core/meta.h"
#include "mpi.h"

#include "hamrf/status.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t shard_seed(uint64_t seed, uint64_t k) {
    uint64_t z = seed + (k + 1) * 0x9E3779B97F4A7C15ULL; /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

int shard_path(const char *out, char *buf, size_t size) {
    const int P = cli_mpi_size(), r = cli_mpi_rank();
    int digits = 1;
    for (int v = P - 1; v >= 10; v /= 10)
        digits++;
    size_t n = strlen(out);
    int stem = n > 4 && !strcmp(out + n - 4, ".npz") ? (int)(n - 4) : (int)n;
    int k = snprintf(buf, size, "%.*s.rank%0*d-of-%d.npz", stem, out, digits, r, P);
    return k > 0 && (size_t)k < size ? 0 : -1;
}

/* Marks a data set's meta as shard r of P from `seed` by the substream scheme. */
static void mark_meta(cJSON *meta, uint64_t seed, size_t first, size_t count, const char *unit) {
    if (!meta) return;
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "seed");
    cJSON_AddNumberToObject(meta, "seed", (double)seed);
    cJSON *sh = cJSON_CreateObject();
    if (!sh) return;
    cJSON_AddNumberToObject(sh, "rank", cli_mpi_rank());
    cJSON_AddNumberToObject(sh, "ranks", cli_mpi_size());
    cJSON_AddStringToObject(sh, "unit", unit);
    cJSON_AddNumberToObject(sh, "first", (double)first);
    cJSON_AddNumberToObject(sh, "count", (double)count);
    cJSON_AddStringToObject(sh, "seeds", "splitmix64(seed, index) per unit");
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "shard");
    cJSON_AddItemToObject(meta, "shard", sh);
}

/* Appends n·w doubles of src to *dst (which holds have·w). */
static int append(double **dst, size_t have, const double *src, size_t n, size_t w) {
    if (!src) return HRF_OK;
    double *p = realloc(*dst, (have + n) * w * sizeof *p);
    if (!p) return hrf_error(HRF_ENOMEM, "out of memory");
    memcpy(p + have * w, src, n * w * sizeof *p);
    *dst = p;
    return HRF_OK;
}

int shard_box(const hrf_system *sys, const hrf_generate_params *gp, int pairs, double h,
              double flow_tol, hrf_dataset **out, size_t *blocks) {
    *out = NULL;
    const size_t nb = (gp->n + SHARD_BLOCK - 1) / SHARD_BLOCK;
    *blocks = nb;
    if (nb < (size_t)cli_mpi_size())
        return hrf_error(HRF_EINVAL,
                         "--shards draws the %zu states in blocks of %d (one random substream "
                         "each): %zu block%s for %d ranks; use at most %zu ranks or more states",
                         gp->n, SHARD_BLOCK, nb, nb == 1 ? "" : "s", cli_mpi_size(), nb);
    size_t first, count;
    cli_mpi_share(nb, &first, &count);
    hrf_dataset *acc = NULL;
    int rc = HRF_OK;
    for (size_t b = first; b < first + count && !rc; b++) {
        hrf_generate_params q = *gp;
        q.seed = shard_seed(gp->seed, b);
        q.n = b + 1 < nb ? SHARD_BLOCK : gp->n - b * SHARD_BLOCK;
        hrf_dataset *ds = NULL;
        rc = pairs ? hrf_dataset_generate_pairs(sys, &q, h, flow_tol, &ds)
                   : hrf_dataset_generate(sys, &q, &ds);
        if (rc) break;
        if (!acc) {
            acc = ds;
            continue;
        }
        const size_t w = acc->dim;
        if ((rc = append(&acc->x, acc->n, ds->x, ds->n, w)) ||
            (rc = append(&acc->dxdt, acc->n, ds->dxdt, ds->n, w)) ||
            (rc = append(&acc->H, acc->n, ds->H, ds->n, 1)) ||
            (rc = append(&acc->x1, acc->n, ds->x1, ds->n, w))) {
            hrf_dataset_free(ds);
            break;
        }
        acc->n += ds->n;
        hrf_dataset_free(ds);
    }
    if (rc) {
        hrf_dataset_free(acc);
        return rc;
    }
    mark_meta(HRF_META(acc), gp->seed, first * SHARD_BLOCK, acc->n, "state");
    *out = acc;
    return HRF_OK;
}

int shard_particles(const hrf_psystem *s, const hrf_pdata_params *pp, hrf_pdata **out) {
    *out = NULL;
    const size_t T = pp->trajectories;
    if (T < (size_t)cli_mpi_size())
        return hrf_error(HRF_EINVAL,
                         "--shards gives each rank whole trajectories: %zu trajector%s for %d "
                         "ranks; use at most %zu ranks or more --trajectories",
                         T, T == 1 ? "y" : "ies", cli_mpi_size(), T);
    size_t first, count;
    cli_mpi_share(T, &first, &count);
    hrf_pdata *acc = NULL;
    double drift = 0.0;
    int rc = HRF_OK;
    for (size_t k = first; k < first + count && !rc; k++) {
        hrf_pdata_params q = *pp;
        q.trajectories = 1, q.seed = shard_seed(pp->seed, k);
        hrf_pdata *d = NULL;
        if ((rc = hrf_pdata_generate(s, &q, &d))) break;
        const cJSON *dj = cJSON_GetObjectItemCaseSensitive(HRF_META(d), "max_rel_energy_drift");
        if (cJSON_IsNumber(dj) && dj->valuedouble > drift) drift = dj->valuedouble;
        if (!acc) {
            acc = d;
            continue;
        }
        const size_t w = d->N * (size_t)d->D;
        if ((rc = append(&acc->q, acc->S, d->q, d->S, w)) ||
            (rc = append(&acc->p, acc->S, d->p, d->S, w)) ||
            (rc = append(&acc->dqdt, acc->S, d->dqdt, d->S, w)) ||
            (rc = append(&acc->dpdt, acc->S, d->dpdt, d->S, w)) ||
            (rc = append(&acc->H, acc->S, d->H, d->S, 1)) ||
            (rc = append(&acc->t, acc->S, d->t, d->S, 1))) {
            hrf_pdata_free(d);
            break;
        }
        acc->S += d->S, acc->trajectories += 1;
        hrf_pdata_free(d);
    }
    if (rc) {
        hrf_pdata_free(acc);
        return rc;
    }
    cJSON *meta = HRF_META(acc);
    if (meta) {
        cJSON_DeleteItemFromObjectCaseSensitive(meta, "max_rel_energy_drift");
        cJSON_AddNumberToObject(meta, "max_rel_energy_drift", drift);
    }
    mark_meta(meta, pp->seed, first, count, "trajectory");
    *out = acc;
    return HRF_OK;
}
