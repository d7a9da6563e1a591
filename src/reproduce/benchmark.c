/* `hamrf reproduce benchmark`: the 5-spring protocol of the NeurIPS 2022
 * Datasets and Benchmarks paper of Thangamuthu et al. ("Unravelling the
 * performance of physics-informed graph neural networks for dynamical
 * systems") as their code runs it, with our graph networks:
 *   data     the benchmark ring (5 particles in 2D, k = 1, L0 = 1), 100
 *            trajectories x 100 states 0.1 apart (velocity Verlet, dt 1e-3);
 *   splits   per_state: all states pooled, shuffled (seed 42), 75 % train /
 *            25 % test (theirs: neighbouring frames on both sides);
 *            per_trajectory: the first 75 trajectories train, the last 25 test;
 *   models   the sampled graph network, pair and mp (our defaults), and the
 *            same network trained by Adam with their protocol (lr 1e-3, batch
 *            100, 10 000 epochs in --full, a time budget in --quick);
 *   scores   test mse_dxdt, and rollouts (model and truth by velocity Verlet
 *            at dt 1e-3, 100 saved steps 0.1 apart): Zerr, Herr, Perr with
 *            the benchmark's formulas (docs/math.md §7);
 *   zero_shot the per_state models on rings of 50 (as they do), 500 and 5000.
 * The RF-HGN paper (Rahma et al., arXiv 2506.06558) reports 2–5 s of
 * training against 400–53 000 s for the benchmark's graph networks; those
 * are the only published numbers quoted. */
#include "reproduce/repro_impl.h"
#include "core/meta.h"
#include "reproduce/benchmark_impl.h"
#include "hamrf/reproduce.h"

#include "hamrf/baseline.h"
#include "hamrf/hgn.h"
#include "hamrf/optim.h"
#include "hamrf/particles.h"
#include "hamrf/pfield.h"
#include "hamrf/status.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const experiments[] = {"per_state", "per_trajectory", "zero_shot", NULL};

const char *const *hrf_repro_benchmark_experiments(void) {
    return experiments;
}

static const char TITLE_SPLIT[] =
    "Thangamuthu et al. 2022, 5-spring ring (k = 1, L0 = 1), 100 x 100 states 0.1 apart; "
    "split %s; test mse_dxdt; rollouts (velocity Verlet dt 1e-3, model and truth) from %s "
    "(--quick: 25 of them, --full: 100), 100 saved steps: Zerr, Herr, Perr (geometric mean over "
    "trajectories, time average). Paper "
    "(RF-HGN): 2-5 s of training vs 400-53 000 s for the benchmark's graph networks";
static const char TITLE_ZS[] =
    "Zero-shot: the per-state models (trained on 5 springs) rolled out on rings of 50 (as the "
    "benchmark), 500 and 5000 springs, same ensemble, velocity Verlet dt 1e-3, saved steps 0.1 "
    "apart (--full: 100 saved steps from 100, 10, 1 states; --quick: fewer, in the config)";

/* Mode-dependent sizes (--quick, --full, --scale-down for tests). */
typedef struct bench_cfg {
    size_t trajectories, rollouts; /* data trajectories; rollout initial states */
    bench_rollout_cfg roll;
    size_t zs_n[3], zs_rollouts[3], zs_saved[3]; /* zero-shot ring sizes; trajectories and
                                                    saved steps of each */
    double adam_budget;                          /* seconds; 0 = none (--full: 10 000 epochs) */
    size_t adam_epochs;
    int adam_mp; /* also train the mp network by Adam (--full) */
} bench_cfg;

/* Quick-mode Adam budget per network (seconds), unless --adam-seconds. */
#define QUICK_ADAM_SECONDS 60.0

/* --full: the protocol's sizes. --quick (under 5 minutes on 2 cores): 25
 * rollouts per split instead of 100, and shorter zero-shot rollouts (one
 * evaluation of the mp network on 5000 particles takes ~0.1 s). Tests
 * (scale_down s > 1): fewer trajectories, rollouts and steps, rings of
 * 50/s, 500/s, 5000/s. */
static void bench_config(const hrf_repro_params *p, bench_cfg *c) {
    memset(c, 0, sizeof *c);
    const size_t s = p->scale_down ? p->scale_down : 1;
    c->trajectories = 100 / s > 4 ? 100 / s : 4;
    c->rollouts = s > 1 ? 2 : p->full ? 100 : 25;
    c->roll.dt = 1e-3, c->roll.every = 100, c->roll.saved = s > 1 ? 5 : 100;
    static const size_t zn[3] = {50, 500, 5000}, zr_full[3] = {100, 10, 1}, zr_quick[3] = {2, 1, 1},
                        zs_quick[3] = {100, 10, 1};
    for (int i = 0; i < 3; i++) {
        c->zs_n[i] = zn[i] / s > 5 ? zn[i] / s : 5;
        c->zs_rollouts[i] = s > 1 ? 1 : p->full ? zr_full[i] : zr_quick[i];
        c->zs_saved[i] = s > 1 ? 2 : p->full ? 100 : zs_quick[i];
    }
    c->adam_epochs = 10000;
    c->adam_budget = p->adam_seconds > 0 ? p->adam_seconds : p->full ? 0.0 : QUICK_ADAM_SECONDS;
    c->adam_mp = p->full;
}

/* ---- data ---- */

/* The snapshots idx[0..n) of d as a new data set of `trajectories`
 * trajectories (1 for a pooled set). */
static int subset(const hrf_pdata *d, const size_t *idx, size_t n, size_t trajectories,
                  hrf_pdata **out) {
    hrf_pdata *s = calloc(1, sizeof *s);
    if (!s) return hrf_error(HRF_ENOMEM, "out of memory");
    *s = *d;
    const size_t nd = d->N * (size_t)d->D;
    s->S = n, s->trajectories = trajectories;
    s->q = malloc(n * nd * sizeof(double)), s->p = malloc(n * nd * sizeof(double));
    s->dqdt = malloc(n * nd * sizeof(double)), s->dpdt = malloc(n * nd * sizeof(double));
    s->H = malloc(n * sizeof(double)), s->t = d->t ? malloc(n * sizeof(double)) : NULL;
    s->mass = malloc(d->N * sizeof(double));
    s->bonds = d->bonds ? malloc(2 * d->n_bonds * sizeof *s->bonds) : NULL;
    s->meta = HRF_META(d) ? hrf_meta_of(cJSON_Duplicate(HRF_META(d), 1)) : NULL;
    if (!s->q || !s->p || !s->dqdt || !s->dpdt || !s->H || (d->t && !s->t) || !s->mass ||
        (d->bonds && !s->bonds) || (HRF_META(d) && !s->meta)) {
        hrf_pdata_free(s);
        return hrf_error(HRF_ENOMEM, "out of memory");
    }
    memcpy(s->mass, d->mass, d->N * sizeof(double));
    if (d->bonds) memcpy(s->bonds, d->bonds, 2 * d->n_bonds * sizeof *s->bonds);
    for (size_t i = 0; i < n; i++) {
        const size_t j = idx[i];
        memcpy(s->q + i * nd, d->q + j * nd, nd * sizeof(double));
        memcpy(s->p + i * nd, d->p + j * nd, nd * sizeof(double));
        memcpy(s->dqdt + i * nd, d->dqdt + j * nd, nd * sizeof(double));
        memcpy(s->dpdt + i * nd, d->dpdt + j * nd, nd * sizeof(double));
        s->H[i] = d->H[j];
        if (s->t) s->t[i] = d->t[j];
    }
    *out = s;
    return HRF_OK;
}

/* Train / test sets of the split: per_state shuffles all states (Fisher–Yates,
 * seed 42 as theirs; their generator's stream differs) and cuts at 75 %;
 * per_trajectory keeps whole trajectories. */
static int split(const hrf_pdata *d, int per_state, hrf_pdata **tr, hrf_pdata **te) {
    const size_t S = d->S, T = d->trajectories, per = S / T;
    size_t *idx = malloc(S * sizeof *idx);
    if (!idx) return hrf_error(HRF_ENOMEM, "out of memory");
    for (size_t i = 0; i < S; i++)
        idx[i] = i;
    size_t ntr, ttr = 1, tte = 1;
    if (per_state) {
        hrf_rng rng;
        hrf_rng_seed(&rng, 42);
        for (size_t i = S - 1; i > 0; i--) {
            size_t j = (size_t)hrf_rng_below(&rng, i + 1), x = idx[i];
            idx[i] = idx[j], idx[j] = x;
        }
        ntr = S * 3 / 4;
    } else {
        ttr = T * 3 / 4, tte = T - ttr;
        ntr = ttr * per;
    }
    int rc = subset(d, idx, ntr, ttr, tr);
    if (!rc) rc = subset(d, idx + ntr, S - ntr, tte, te);
    free(idx);
    return rc;
}

/* ---- models ---- */

enum { M_PAIR, M_MP, M_ADAM_PAIR, M_ADAM_MP, NMODELS };
static const char *const model_names[NMODELS] = {"pair", "mp", "adam_pair", "adam_mp"};

typedef struct bench_models {
    hrf_hgn *m[NMODELS]; /* NULL: not trained in this mode */
    double secs[NMODELS];
    char note[NMODELS][160];
} bench_models;

static void models_free(bench_models *ms) {
    for (int i = 0; i < NMODELS; i++)
        hrf_hgn_free(ms->m[i]), ms->m[i] = NULL;
}

static int fit_sampled(const hrf_repro_params *p, hrf_hgn_mode mode, const hrf_pdata *d,
                       hrf_hgn **m, double *secs, char *note) {
    hrf_hgn_params hp;
    hrf_hgn_params_default(&hp);
    hp.mode = mode, hp.seed = p->seed;
    hrf_hgn_fit_report rep;
    int rc = hrf_hgn_fit(&hp, d, m, &rep);
    if (rc) return rc;
    *secs = rep.fit_seconds;
    snprintf(note, 160, "sampled (A-SWIM), M_E 200, M_K 50%s; RF-HGN paper: 2-5 s",
             mode == HRF_HGN_MP ? ", M_N 100" : "");
    return HRF_OK;
}

/* Adam with the benchmark's protocol: lr 1e-3, batch 100 states, shuffled
 * every epoch, `epochs` epochs or the time budget. Ours, not theirs: the
 * network (our graph network, PyTorch initialisation, tanh), no gradient
 * clipping, the last iterate rather than the best-training-loss checkpoint. */
static int fit_adam(const hrf_repro_params *p, const bench_cfg *c, hrf_hgn_mode mode,
                    const hrf_pdata *d, hrf_hgn **m, double *secs, char *note) {
    hrf_gd_params gp;
    hrf_gd_params_default(&gp);
    int rc = hrf_optimizer_find("adam", &gp.optimizer);
    if (rc) return rc;
    hrf_optim_params_default(gp.optimizer, &gp.optim);
    gp.optim.lr = 1e-3;
    gp.batch = 100, gp.shuffle = 1, gp.seed = p->seed;
    const size_t per_epoch = (d->S + gp.batch - 1) / gp.batch;
    gp.steps = c->adam_epochs * per_epoch;
    gp.time_limit_seconds = c->adam_budget;
    hrf_gd_hgn_arch a;
    hrf_gd_hgn_arch_default(&a);
    a.mode = mode;
    hrf_gd_report rep;
    if ((rc = hrf_gd_train_hgn(&gp, &a, d, m, &rep))) return rc;
    *secs = rep.train_seconds;
    snprintf(note, 160,
             "Adam lr 1e-3, batch 100: %zu steps = %.1f epochs%s; loss %.2e; benchmark's GNNs: "
             "400-53 000 s (RF-HGN paper)",
             rep.steps, (double)rep.steps / (double)per_epoch,
             rep.stopped_early ? " (time budget)" : "", rep.full_loss);
    return HRF_OK;
}

static int train_models(const hrf_repro_params *p, const bench_cfg *c, const char *exp,
                        const hrf_pdata *tr, bench_models *ms) {
    memset(ms, 0, sizeof *ms);
    int rc = HRF_OK;
    for (int i = 0; i < NMODELS && !rc; i++) {
        const hrf_hgn_mode mode = (i == M_PAIR || i == M_ADAM_PAIR) ? HRF_HGN_PAIR : HRF_HGN_MP;
        if (i >= M_ADAM_PAIR && !p->adam) continue;
        if (i == M_ADAM_MP && !c->adam_mp) continue;
        repro_progress(p, "%s: training %s", exp, model_names[i]);
        if (i < M_ADAM_PAIR)
            rc = fit_sampled(p, mode, tr, &ms->m[i], &ms->secs[i], ms->note[i]);
        else
            rc = fit_adam(p, c, mode, tr, &ms->m[i], &ms->secs[i], ms->note[i]);
        if (rc) rc = hrf_error_prefix(rc, "%s, %s", exp, model_names[i]);
    }
    if (rc) models_free(ms);
    return rc;
}

/* ---- rows ---- */

static void row(const hrf_repro_params *p, const char *exp, const char *title, const char *config,
                const char *method, const char *metric, double value, double paper, double secs,
                double adam_secs, const char *note) {
    hrf_repro_row r;
    memset(&r, 0, sizeof r);
    r.experiment = exp, r.title = title, r.metric = metric;
    snprintf(r.config, sizeof r.config, "%s", config);
    snprintf(r.method, sizeof r.method, "%s", method);
    snprintf(r.note, sizeof r.note, "%.159s", note ? note : "");
    r.value = value, r.paper = paper, r.seconds = secs, r.adam_seconds = adam_secs;
    r.speedup = isfinite(adam_secs) && secs > 0 ? adam_secs / secs : NAN;
    p->row(p->user, &r);
}

static void curves(const hrf_repro_params *p, const char *exp, const char *config,
                   const char *method, const bench_curves *bc, double dt_saved) {
    if (!p->curve) return;
    double *t = malloc(bc->nt * sizeof *t);
    if (!t) return;
    for (size_t j = 0; j < bc->nt; j++)
        t[j] = (double)j * dt_saved;
    const char *names[3] = {"zerr", "herr", "perr"};
    const double *v[3] = {bc->zerr, bc->herr, bc->perr};
    for (int i = 0; i < 3; i++) {
        hrf_repro_curve c = {exp, config, method, names[i], bc->nt, t, v[i]};
        p->curve(p->user, &c);
    }
    free(t);
}

/* The three error rows of one rollout set (and its curves). */
static void rollout_rows(const hrf_repro_params *p, const char *exp, const char *title,
                         const char *config, const char *method, const bench_curves *bc, size_t n,
                         double secs, double adam_secs, double dt_saved) {
    char note[160];
    snprintf(note, sizeof note, "%zu rollouts, %zu failed (counted, not dropped), model %.1f s", n,
             bc->e.failed, bc->model_seconds);
    row(p, exp, title, config, method, "zerr", bc->e.zerr, NAN, secs, adam_secs, note);
    row(p, exp, title, config, method, "herr", bc->e.herr, NAN, secs, adam_secs, note);
    row(p, exp, title, config, method, "perr", bc->e.perr, NAN, secs, adam_secs, note);
    curves(p, exp, config, method, bc, dt_saved);
}

/* The sampled rows' Adam time: the Adam network of the same mode, else the pair one. */
static double adam_secs_for(const bench_models *ms, int i) {
    if (i == M_PAIR && ms->m[M_ADAM_PAIR]) return ms->secs[M_ADAM_PAIR];
    if (i == M_MP)
        return ms->m[M_ADAM_MP]     ? ms->secs[M_ADAM_MP]
               : ms->m[M_ADAM_PAIR] ? ms->secs[M_ADAM_PAIR]
                                    : NAN;
    return NAN;
}

/* Every model's rows on one split: training time, test mse_dxdt, rollouts. */
static int split_rows(const hrf_repro_params *p, const bench_cfg *c, const char *exp,
                      const char *title, const char *config, const hrf_psystem *ring,
                      const bench_models *ms, const hrf_pdata *te, const double *x0) {
    int rc = HRF_OK;
    for (int i = 0; i < NMODELS && !rc; i++) {
        if (!ms->m[i]) continue;
        const double secs = ms->secs[i], as = adam_secs_for(ms, i);
        const int sampled = i < M_ADAM_PAIR;
        row(p, exp, title, config, model_names[i], "train_seconds", secs, sampled ? 5.0 : NAN, secs,
            as, ms->note[i]);
        hrf_hgn_errors e;
        if ((rc = hrf_hgn_errors_on(ms->m[i], te, &e))) break;
        char note[160];
        snprintf(note, sizeof note, "%zu test states; rel_l2_grad %.2e", te->S, e.rel_l2_grad);
        row(p, exp, title, config, model_names[i], "mse_dxdt", e.mse_dxdt, NAN, secs, as, note);
        repro_progress(p, "%s: rollouts of %s", exp, model_names[i]);
        bench_curves bc;
        if ((rc = bench_rollout(ms->m[i], ring, &c->roll, c->rollouts, x0, &bc))) break;
        rollout_rows(p, exp, title, config, model_names[i], &bc, c->rollouts, secs, as,
                     c->roll.dt * (double)c->roll.every);
        bench_curves_free(&bc);
    }
    return rc;
}

/* The per_state models on rings of other sizes (same ensemble). */
static int zero_shot(const hrf_repro_params *p, const bench_cfg *c, const bench_models *ms) {
    const char *exp = "zero_shot";
    int rc = HRF_OK;
    for (int z = 0; z < 3 && !rc; z++) {
        const size_t N = c->zs_n[z], n = c->zs_rollouts[z], shape[3] = {N, 0, 0};
        hrf_pair_potential v;
        hrf_pair_potential_default(HRF_PAIR_HARMONIC, &v);
        hrf_psystem *s = NULL;
        double *x0 = NULL;
        rc = hrf_psystem_springs_new(HRF_TOPO_RING, shape, 2, &v, 1.0, &s);
        if (!rc && !(x0 = malloc(n * 4 * N * sizeof *x0)))
            rc = hrf_error(HRF_ENOMEM, "out of memory");
        if (!rc) {
            hrf_rng rng;
            hrf_rng_seed(&rng, p->seed + 1000 + z);
            rc = bench_initial_states(s, n, &rng, x0);
        }
        char config[64];
        snprintf(config, sizeof config, "ring %zu, %zu steps", N, c->zs_saved[z]);
        bench_rollout_cfg roll = c->roll;
        roll.saved = c->zs_saved[z];
        for (int i = 0; i < NMODELS && !rc; i++) {
            if (!ms->m[i]) continue;
            repro_progress(p, "%s: ring %zu, %s", exp, N, model_names[i]);
            bench_curves bc;
            if ((rc = bench_rollout(ms->m[i], s, &roll, n, x0, &bc))) break;
            rollout_rows(p, exp, TITLE_ZS, config, model_names[i], &bc, n, ms->secs[i],
                         adam_secs_for(ms, i), c->roll.dt * (double)c->roll.every);
            bench_curves_free(&bc);
        }
        free(x0);
        hrf_psystem_free(s);
    }
    return rc ? hrf_error_prefix(rc, "%s", exp) : HRF_OK;
}

/* The rollouts' initial states: per_state, the first state of each data
 * trajectory (as their code; most of those states are training states);
 * per_trajectory, fresh draws of the ensemble (unseen trajectories). */
static int initial_states(const hrf_repro_params *p, const bench_cfg *c, const hrf_psystem *ring,
                          const hrf_pdata *d, int per_state, double *x0) {
    const size_t dim = 2 * d->N * (size_t)d->D, per = d->S / d->trajectories;
    if (!per_state) {
        hrf_rng rng;
        hrf_rng_seed(&rng, p->seed + 500);
        return bench_initial_states(ring, c->rollouts, &rng, x0);
    }
    for (size_t k = 0; k < c->rollouts; k++)
        hrf_pdata_states(d, (k % d->trajectories) * per, 1, x0 + k * dim);
    return HRF_OK;
}

/* One split: trains the models; its rows when asked; zero-shot from the
 * per_state models when asked. */
static int run_split(const hrf_repro_params *p, const bench_cfg *c, const hrf_psystem *ring,
                     const hrf_pdata *d, int per_state, int rows, int zs) {
    const char *exp = per_state ? "per_state" : "per_trajectory";
    char title[640];
    snprintf(title, sizeof title, TITLE_SPLIT,
             per_state ? "per state (theirs, seed 42)" : "by whole trajectories",
             per_state ? "the first state of each data trajectory (theirs)"
                       : "fresh initial states (unseen trajectories)");
    hrf_pdata *tr = NULL, *te = NULL;
    bench_models ms;
    memset(&ms, 0, sizeof ms);
    double *x0 = malloc(c->rollouts * 2 * d->N * (size_t)d->D * sizeof *x0);
    int rc = x0 ? split(d, per_state, &tr, &te) : hrf_error(HRF_ENOMEM, "out of memory");
    if (!rc) rc = train_models(p, c, exp, tr, &ms);
    if (!rc && rows) rc = initial_states(p, c, ring, d, per_state, x0);
    if (!rc && rows) {
        const char *config = per_state ? "5 springs, per state" : "5 springs, per trajectory";
        rc = split_rows(p, c, exp, title, config, ring, &ms, te, x0);
        if (rc) rc = hrf_error_prefix(rc, "%s", exp);
    }
    if (!rc && zs) rc = zero_shot(p, c, &ms);
    models_free(&ms);
    hrf_pdata_free(tr), hrf_pdata_free(te);
    free(x0);
    return rc;
}

int hrf_reproduce_benchmark(const hrf_repro_params *p) {
    if (!p->row) return hrf_error(HRF_EINVAL, "reproduce: no row callback");
    int want[3] = {1, 1, 1};
    if (p->only) {
        for (int i = 0; i < 3; i++)
            want[i] = !strcmp(p->only, experiments[i]);
        if (!want[0] && !want[1] && !want[2])
            return hrf_error(HRF_ENOTFOUND,
                             "unknown experiment '%s' of benchmark (known: per_state, "
                             "per_trajectory, zero_shot)",
                             p->only);
    }
    bench_cfg c;
    bench_config(p, &c);
    hrf_psystem *ring = NULL;
    hrf_pdata *d = NULL;
    repro_progress(p, "benchmark: generating the 5-spring data");
    int rc = hrf_psystem_benchmark_ring_new(&ring);
    if (!rc) {
        hrf_pdata_params dp;
        hrf_pdata_params_system_default(ring, &dp);
        dp.trajectories = c.trajectories, dp.seed = p->seed;
        rc = hrf_pdata_generate(ring, &dp, &d);
    }
    if (!rc && (want[0] || want[2])) rc = run_split(p, &c, ring, d, 1, want[0], want[2]);
    if (!rc && want[1]) rc = run_split(p, &c, ring, d, 0, 1, 0);
    hrf_pdata_free(d);
    hrf_psystem_free(ring);
    return rc ? hrf_error_prefix(rc, "benchmark") : HRF_OK;
}
