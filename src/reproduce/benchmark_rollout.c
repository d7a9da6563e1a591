/* Rollouts of the NeurIPS 2022 spring benchmark (Thangamuthu et al. 2022):
 * the graph network and the true ring advanced by the same integrator from
 * the same initial states, scored with the benchmark's Zerr, Herr and Perr
 * (docs/math.md §7). */
#include "reproduce/benchmark_impl.h"

#include "core/sysinfo.h"
#include "hamrf/hgn_field.h"
#include "hamrf/pfield.h"
#include "hamrf/rollout.h"
#include "hamrf/status.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void bench_curves_free(bench_curves *c) {
    if (!c) return;
    free(c->zerr), free(c->herr), free(c->perr);
    c->zerr = c->herr = c->perr = NULL;
}

int bench_initial_states(const hrf_psystem *s, size_t n, hrf_rng *rng, double *x0) {
    const size_t N = hrf_psystem_n(s);
    const int D = hrf_psystem_dim(s);
    const double *mass = hrf_psystem_masses(s);
    const size_t nd = N * (size_t)D;
    for (size_t k = 0; k < n; k++) {
        double *q = x0 + k * 2 * nd, *p = q + nd, vbar[3] = {0, 0, 0};
        for (size_t i = 0; i < nd; i++)
            q[i] = hrf_rng_uniform_range(rng, 0.0, 2.0);
        for (size_t i = 0; i < N; i++)
            for (int a = 0; a < D; a++) {
                p[i * D + a] = hrf_rng_uniform_range(rng, 0.0, 0.1);
                vbar[a] += p[i * D + a] / (double)N;
            }
        for (size_t i = 0; i < N; i++)
            for (int a = 0; a < D; a++)
                p[i * D + a] = mass[i] * (p[i * D + a] - vbar[a]);
    }
    return HRF_OK;
}

static void roll_params(const bench_rollout_cfg *cfg, hrf_rollout_params *rp) {
    hrf_rollout_params_default(rp);
    rp->integrator = &hrf_integrator_leapfrog;
    rp->dt = cfg->dt, rp->steps = cfg->saved * cfg->every, rp->every = cfg->every;
}

/* Copies the valid saved times of trajectory tr (n_tr trajectories, column
 * k0 of them into columns k0.. of x (nt, n, dim)); the times it lacks are NaN. */
static void put_states(const hrf_trajectory *tr, size_t n, size_t k0, size_t dim, double *x) {
    for (size_t t = 0; t < tr->nt; t++)
        for (size_t j = 0; j < tr->n; j++) {
            double *dst = x + (t * n + k0 + j) * dim;
            if (t < tr->valid)
                memcpy(dst, tr->x + (t * tr->n + j) * dim, dim * sizeof *dst);
            else
                for (size_t i = 0; i < dim; i++)
                    dst[i] = NAN;
        }
}

/* Trajectory k alone into column k of x; a failed one keeps its states up
 * to the failure (NaN after). */
static int roll_one(const hrf_field *f, const hrf_rollout_params *rp, size_t n, size_t k,
                    const double *x0, double *x) {
    hrf_trajectory *tr = NULL;
    int rc = hrf_rollout_run(f, rp, 1, x0 + k * f->dim, &tr);
    if (tr) put_states(tr, n, k, f->dim, x);
    hrf_trajectory_free(tr);
    return rc == HRF_ENUMERIC ? HRF_OK : rc;
}

/* Systems this small are rolled out one trajectory per thread: a batched
 * rhs of a few particles is too little work per parallel region. */
#define SMALL_STATE_DIM 256

/* The rollouts of field f into x (nt, n, dim). Small states: one
 * trajectory per thread. Otherwise all together (the field threads over
 * particles or states), and when that fails (a non-finite state), one by
 * one so that only the failing trajectories are marked (NaN from their
 * failure on). *secs: wall time. */
static int roll(const hrf_field *f, const hrf_rollout_params *rp, size_t n, const double *x0,
                double *x, double *secs) {
    const double t0 = hrf_now();
    int rc = HRF_OK;
    if (f->dim <= SMALL_STATE_DIM && n > 1) {
#pragma omp parallel for schedule(dynamic, 1)
        for (size_t k = 0; k < n; k++) {
            int r = roll_one(f, rp, n, k, x0, x);
            if (r) {
#pragma omp critical(bench_roll_fail)
                rc = rc ? rc : r;
            }
        }
    } else {
        hrf_trajectory *tr = NULL;
        rc = hrf_rollout_run(f, rp, n, x0, &tr);
        if (!rc) put_states(tr, n, 0, f->dim, x);
        hrf_trajectory_free(tr);
        if (rc == HRF_ENUMERIC) {
            rc = HRF_OK;
            for (size_t k = 0; k < n && !rc; k++)
                rc = roll_one(f, rp, n, k, x0, x);
        }
    }
    *secs = hrf_now() - t0;
    return rc;
}

/* The true H of every finite state of x (m states); NaN for the others. */
static int true_energies(const hrf_field *sf, size_t m, const double *x, double *H) {
    for (size_t i = 0; i < m; i++) {
        const double *xi = x + i * sf->dim;
        int ok = 1;
        for (size_t a = 0; a < sf->dim && ok; a++)
            ok = isfinite(xi[a]);
        H[i] = NAN;
        if (!ok) continue;
        int rc = sf->energy(sf->ctx, 1, xi, H + i);
        if (rc) return rc;
    }
    return HRF_OK;
}

int bench_rollout(const hrf_hgn *m, const hrf_psystem *s, const bench_rollout_cfg *cfg, size_t n,
                  const double *x0, bench_curves *out) {
    memset(out, 0, sizeof *out);
    const size_t N = hrf_psystem_n(s), D = (size_t)hrf_psystem_dim(s), nt = cfg->saved + 1;
    hrf_field sf, f;
    hrf_psystem_field(s, &sf);
    hrf_hgn_field_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.model = m, ctx.N = N, ctx.D = (int)D, ctx.mass = hrf_psystem_masses(s);
    ctx.graph.pairs = hrf_psystem_bonds(s, &ctx.graph.n_pairs);
    hrf_hgn_field(&ctx, &f);
    hrf_rollout_params rp;
    roll_params(cfg, &rp);
    const size_t dim = sf.dim, all = nt * n;
    double *xp = malloc(all * dim * sizeof *xp), *Hp = malloc(all * sizeof *Hp),
           *Ht = malloc(all * sizeof *Ht);
    out->nt = nt;
    out->zerr = malloc(nt * sizeof *out->zerr), out->herr = malloc(nt * sizeof *out->herr);
    out->perr = malloc(nt * sizeof *out->perr);
    double *xt = malloc(all * dim * sizeof *xt), truth_secs;
    int rc = HRF_OK;
    if (!xp || !xt || !Hp || !Ht || !out->zerr || !out->herr || !out->perr)
        rc = hrf_error(HRF_ENOMEM, "out of memory");
    if (!rc) rc = roll(&sf, &rp, n, x0, xt, &truth_secs);
    if (!rc) rc = true_energies(&sf, all, xt, Ht);
    for (size_t i = 0; i < all && !rc; i++)
        if (!isfinite(Ht[i])) rc = hrf_error(HRF_ENUMERIC, "the true rollout failed");
    if (!rc) rc = roll(&f, &rp, n, x0, xp, &out->model_seconds);
    if (!rc) rc = true_energies(&sf, all, xp, Hp);
    if (!rc)
        hrf_bench_rollout_errors(nt, n, N, D, xp, xt, Hp, Ht, out->zerr, out->herr, out->perr,
                                 &out->e);
    free(xp), free(xt), free(Hp), free(Ht);
    if (rc) bench_curves_free(out);
    return rc;
}
