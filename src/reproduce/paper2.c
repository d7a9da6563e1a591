/* `hamrf reproduce paper2`: RF-HGN's results ("Rapid training of Hamiltonian
 * graph networks using random features", Rahma, Datar, Cukarska, Dietrich,
 * arXiv 2506.06558) and our targets for them (the notes' "target:"), run on
 * this machine with the sampled graph network:
 *   zero_shot_chain    8-particle harmonic chain (2D) -> 4096 particles:
 *                      mse_dxdt on both, and a 100-step rollout with truth;
 *   zero_shot_lattice  3x3 -> 100x100 (pair, mp), 2x2 -> 100x100 (mp: the
 *                      paper's failure case, and pair), chain -> lattice (pair);
 *   lattice_3d         4x4x4 lattice, harmonic / anharmonic / Morse bonds:
 *                      test MSE beside the paper's SWIM column;
 *   lattice_3d_optimizers  the harmonic 4x4x4 lattice trained by gradient
 *                      descent with each of the fifteen optimizers against
 *                      the sampled fit (paper2_optim.c);
 *   lennard_jones      10 976 particles (4·14³, the fcc count nearest 10 000),
 *                      density 0.8442, T = 1: generation + training time,
 *                      force error on a held-out snapshot, displacement error
 *                      after a 50-step rollout (tabulated V(r)).
 * Quick and full modes are the same here but for lattice_3d_optimizers
 * (its time budgets and learning-rate grid): the rest takes seconds. The mp rows say so when that
 * mode is not available. */
#include "core/sysinfo.h"
#include "hamrf/reproduce.h"
#include "reproduce/paper2_impl.h"

#include "hamrf/hgn.h"
#include "hamrf/hgn_field.h"
#include "hamrf/metrics.h"
#include "hamrf/particles.h"
#include "hamrf/pfield.h"
#include "hamrf/rollout.h"
#include "hamrf/status.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const experiments[] = {"zero_shot_chain", "zero_shot_lattice",
                                          "lattice_3d",      "lattice_3d_optimizers",
                                          "lennard_jones",   NULL};

const char *const *hrf_repro_paper2_experiments(void) {
    return experiments;
}

static void row(const hrf_repro_params *p, const char *exp, const char *title, const char *config,
                const char *method, const char *metric, double value, double paper, double secs,
                const char *note) {
    hrf_repro_row r;
    memset(&r, 0, sizeof r);
    r.experiment = exp, r.title = title, r.metric = metric;
    snprintf(r.config, sizeof r.config, "%s", config);
    snprintf(r.method, sizeof r.method, "%s", method);
    snprintf(r.note, sizeof r.note, "%s", note ? note : "");
    r.value = value, r.paper = paper, r.seconds = secs;
    r.adam_seconds = r.speedup = NAN;
    p->row(p->user, &r);
}

int p2_springs(const hrf_repro_params *p, hrf_topology topo, size_t a, size_t b, size_t c, int D,
               hrf_pair_kind kind, size_t T, size_t S, uint64_t seed, hrf_pdata **out) {
    const size_t shape[3] = {a, b, c};
    hrf_pair_potential v;
    hrf_pair_potential_default(kind, &v);
    hrf_psystem *s = NULL;
    int rc = hrf_psystem_springs_new(topo, shape, D, &v, 1.0, &s);
    if (rc) return rc;
    hrf_pdata_params dp;
    hrf_pdata_params_system_default(s, &dp);
    dp.trajectories = T;
    dp.snapshots = S;
    dp.seed = seed + p->seed;
    rc = hrf_pdata_generate(s, &dp, out);
    hrf_psystem_free(s);
    return rc;
}

int p2_fit(const hrf_repro_params *p, hrf_hgn_mode mode, const hrf_pdata *d, hrf_hgn **m,
           double *secs) {
    hrf_hgn_params hp;
    hrf_hgn_params_default(&hp);
    hp.mode = mode;
    hp.seed = p->seed;
    const char *msg = hrf_hgn_params_check(&hp);
    if (msg) return hrf_error(HRF_EINVAL, "%s", msg);
    hrf_hgn_fit_report rep;
    int rc = hrf_hgn_fit(&hp, d, m, &rep);
    if (!rc) *secs = rep.fit_seconds;
    return rc;
}

static int exp_zero_shot_chain(const hrf_repro_params *p) {
    const char *
        exp = "zero_shot_chain",
       *title =
           "Zero-shot: harmonic chain in 2D, trained on 8 particles (10 x 20 snapshots), evaluated "
           "on a held-out 8-particle set and on 4096 particles; 100-step rollout (dt 0.01) on 4096 "
           "with the true system (velocity Verlet, 10 substeps)";
    hrf_pdata *tr = NULL, *te = NULL, *big = NULL;
    hrf_hgn *m = NULL;
    double secs = NAN;
    repro_progress(p, "%s: data and fit", exp);
    int rc = p2_springs(p, HRF_TOPO_CHAIN, 8, 1, 1, 2, HRF_PAIR_HARMONIC, 10, 20, 0, &tr);
    if (!rc) rc = p2_springs(p, HRF_TOPO_CHAIN, 8, 1, 1, 2, HRF_PAIR_HARMONIC, 10, 20, 100, &te);
    if (!rc) rc = p2_springs(p, HRF_TOPO_CHAIN, 4096, 1, 1, 2, HRF_PAIR_HARMONIC, 1, 2, 200, &big);
    if (!rc) rc = p2_fit(p, HRF_HGN_PAIR, tr, &m, &secs);
    hrf_hgn_errors e8, e4k;
    if (!rc) rc = hrf_hgn_errors_on(m, te, &e8);
    if (!rc) rc = hrf_hgn_errors_on(m, big, &e4k);
    if (!rc) {
        row(p, exp, title, "8 particles (held out)", "pair", "mse_dxdt", e8.mse_dxdt, NAN, secs,
            NULL);
        row(p, exp, title, "4096 particles", "pair", "mse_dxdt", e4k.mse_dxdt, NAN, NAN, NULL);
        char note[96];
        snprintf(note, sizeof note, "target: <= 10; rel_l2_grad %.2e on 4096", e4k.rel_l2_grad);
        row(p, exp, title, "4096 / 8", "pair", "mse_ratio",
            e4k.mse_dxdt / fmax(e8.mse_dxdt, 1e-300), NAN, NAN, note);
    }
    /* Rollout on 4096 particles against the true system. */
    hrf_psystem *ps = NULL;
    hrf_trajectory *tp = NULL, *tt = NULL;
    if (!rc) rc = hrf_psystem_from_pdata(big, &ps);
    if (!rc) {
        repro_progress(p, "%s: rollout of 4096 particles", exp);
        hrf_hgn_field_ctx ctx;
        hrf_hgn_field_ctx_of(&ctx, m, big);
        hrf_field f, sf;
        hrf_hgn_field(&ctx, &f);
        hrf_psystem_field(ps, &sf);
        double *x0 = malloc(f.dim * sizeof *x0);
        if (!x0) rc = hrf_error(HRF_ENOMEM, "out of memory");
        if (!rc) {
            hrf_pdata_states(big, 0, 1, x0);
            hrf_rollout_params rp;
            hrf_rollout_params_default(&rp);
            rp.integrator = &hrf_integrator_leapfrog;
            rp.dt = 0.01, rp.steps = 100, rp.every = 10;
            hrf_rollout_params tq = rp;
            tq.dt = rp.dt / 10, tq.steps = rp.steps * 10, tq.every = rp.every * 10;
            rc = hrf_rollout_run(&f, &rp, 1, x0, &tp);
            if (!rc) rc = hrf_rollout_run(&sf, &tq, 1, x0, &tt);
        }
        if (!rc) {
            /* Zerr on positions: the first half of each state. */
            hrf_rollout_errors re;
            double *Hp = malloc(tp->valid * sizeof *Hp), *Ht = malloc(tt->valid * sizeof *Ht);
            if (!Hp || !Ht) rc = hrf_error(HRF_ENOMEM, "out of memory");
            if (!rc) {
                sf.energy(sf.ctx, tp->valid, tp->x, Hp);
                sf.energy(sf.ctx, tt->valid, tt->x, Ht);
                hrf_rollout_errors_compute(tp->valid, 1, f.dim, tp->x, tt->x, Hp, Ht, NULL, NULL,
                                           &re);
                char note[96];
                snprintf(note, sizeof note, "herr_gmean %.2e, rollout %.2f s", re.herr_gmean,
                         tp->seconds);
                row(p, exp, title, "4096 particles, 100 steps", "pair", "zerr_gmean", re.zerr_gmean,
                    NAN, NAN, note);
            }
            free(Hp), free(Ht);
        }
        free(x0);
        hrf_hgn_field_ctx_release(&ctx);
    }
    hrf_trajectory_free(tp), hrf_trajectory_free(tt);
    hrf_psystem_free(ps);
    hrf_hgn_free(m);
    hrf_pdata_free(tr), hrf_pdata_free(te), hrf_pdata_free(big);
    return rc;
}

static int exp_zero_shot_lattice(const hrf_repro_params *p) {
    const char *
        exp = "zero_shot_lattice",
       *title =
           "Zero-shot across sizes and topologies: harmonic springs in 2D, trained on small graphs "
           "(10 x 20 snapshots), evaluated on a 100 x 100 lattice (10 000 particles); the paper: "
           "3x3 -> 100x100 works, 2x2 fails (no degree-4 nodes)";
    static const struct {
        const char *cfg;
        hrf_topology topo;
        size_t a, b;
        hrf_hgn_mode mode;
    } cases[] = {{"3x3 -> 100x100", HRF_TOPO_LATTICE, 3, 3, HRF_HGN_PAIR},
                 {"3x3 -> 100x100", HRF_TOPO_LATTICE, 3, 3, HRF_HGN_MP},
                 {"2x2 -> 100x100", HRF_TOPO_LATTICE, 2, 2, HRF_HGN_MP},
                 {"2x2 -> 100x100", HRF_TOPO_LATTICE, 2, 2, HRF_HGN_PAIR},
                 {"chain 8 -> 100x100", HRF_TOPO_CHAIN, 8, 1, HRF_HGN_PAIR}};
    hrf_pdata *big = NULL;
    int rc = p2_springs(p, HRF_TOPO_LATTICE, 100, 100, 1, 2, HRF_PAIR_HARMONIC, 1, 2, 300, &big);
    for (size_t i = 0; i < sizeof cases / sizeof *cases && !rc; i++) {
        const char *mode = hrf_hgn_mode_name(cases[i].mode);
        repro_progress(p, "%s: %s (%s)", exp, cases[i].cfg, mode);
        hrf_pdata *tr = NULL, *te = NULL;
        hrf_hgn *m = NULL;
        double secs = NAN;
        rc = p2_springs(p, cases[i].topo, cases[i].a, cases[i].b, 1, 2, HRF_PAIR_HARMONIC, 10, 20,
                        0, &tr);
        if (!rc)
            rc = p2_springs(p, cases[i].topo, cases[i].a, cases[i].b, 1, 2, HRF_PAIR_HARMONIC, 10,
                            20, 100, &te);
        if (!rc) {
            int frc = p2_fit(p, cases[i].mode, tr, &m, &secs);
            if (frc == HRF_EINVAL) {
                char note[160];
                snprintf(note, sizeof note, "not run: %s", hrf_last_error());
                row(p, exp, title, cases[i].cfg, mode, "rel_l2_grad", NAN, NAN, NAN, note);
            } else if (frc) {
                rc = frc;
            } else {
                hrf_hgn_errors es, eb;
                rc = hrf_hgn_errors_on(m, te, &es);
                if (!rc) rc = hrf_hgn_errors_on(m, big, &eb);
                if (!rc) {
                    char note[128];
                    snprintf(note, sizeof note, "mse_dxdt %.2e on 10 000 vs %.2e held out (%.3gx)",
                             eb.mse_dxdt, es.mse_dxdt, eb.mse_dxdt / fmax(es.mse_dxdt, 1e-300));
                    row(p, exp, title, cases[i].cfg, mode, "rel_l2_grad", eb.rel_l2_grad, NAN, secs,
                        note);
                }
            }
        }
        hrf_hgn_free(m);
        hrf_pdata_free(tr), hrf_pdata_free(te);
    }
    hrf_pdata_free(big);
    return rc;
}

static int exp_lattice_3d(const hrf_repro_params *p) {
    const char *exp = "lattice_3d",
               *title = "3D mass-spring lattice 4x4x4, 10 x 10 snapshots train / test, pair mode; "
                        "paper: test MSE "
                        "of RF-HGN (SWIM) per pair potential (harmonic lattice: 8.95e-5 in 0.16 s)";
    static const struct {
        hrf_pair_kind kind;
        double paper;
    } pots[3] = {
        {HRF_PAIR_HARMONIC, 3.4e-5}, {HRF_PAIR_ANHARMONIC, 5.2e-4}, {HRF_PAIR_MORSE, 1.2e-3}};
    int rc = HRF_OK;
    for (int i = 0; i < 3 && !rc; i++) {
        const char *name = hrf_pair_kind_name(pots[i].kind);
        repro_progress(p, "%s: %s", exp, name);
        hrf_pdata *tr = NULL, *te = NULL;
        hrf_hgn *m = NULL;
        double secs = NAN;
        rc = p2_springs(p, HRF_TOPO_LATTICE, 4, 4, 4, 3, pots[i].kind, 10, 10, 0, &tr);
        if (!rc) rc = p2_springs(p, HRF_TOPO_LATTICE, 4, 4, 4, 3, pots[i].kind, 10, 10, 100, &te);
        if (!rc) rc = p2_fit(p, HRF_HGN_PAIR, tr, &m, &secs);
        hrf_hgn_errors e;
        if (!rc) rc = hrf_hgn_errors_on(m, te, &e);
        if (!rc) {
            char cfg[64], note[96];
            snprintf(cfg, sizeof cfg, "%s", name);
            snprintf(note, sizeof note, "rel_l2_grad %.2e (target: <= 1e-3)", e.rel_l2_grad);
            row(p, exp, title, cfg, "pair", "mse_dxdt", e.mse_dxdt, pots[i].paper, secs, note);
        }
        hrf_hgn_free(m);
        hrf_pdata_free(tr), hrf_pdata_free(te);
    }
    return rc;
}

/* Saved states of a rollout of `steps` steps saving every `every` (hamrf/rollout.h). */
static size_t rp_saved(size_t steps, size_t every) {
    return (steps + every - 1) / every + 1;
}

/* ‖Δx̂ − Δx‖ / ‖Δx‖ of the positions (the first nd values of a state), with
 * Δx̂ = xh − x0 and Δx = xt − x0. */
static double displacement_err(size_t nd, const double *x0, const double *xh, const double *xt) {
    double num = 0, den = 0;
    for (size_t i = 0; i < nd; i++) {
        double dh = xh[i] - x0[i], dt = xt[i] - x0[i];
        num += (dh - dt) * (dh - dt), den += dt * dt;
    }
    return sqrt(num / den);
}

static int exp_lennard_jones(const hrf_repro_params *p) {
    const char
        *exp = "lennard_jones",
        *title =
            "Lennard-Jones, 10 976 particles (4 x 14^3 fcc), density 0.8442, T = 1, rc = 2.5: 10 "
            "snapshots (10 steps apart) generated and a pair-mode network trained (target: < 10 s "
            "together); force error on a held-out snapshot; 50-step rollout (dt 0.005, tabulated "
            "V(r)) against the true system (paper: about 10% error)";
    const size_t N = 10976;
    hrf_psystem *s = NULL;
    hrf_pdata *tr = NULL, *te = NULL;
    hrf_hgn *m = NULL;
    hrf_hgn_table *tab = NULL;
    hrf_trajectory *tp = NULL, *tt = NULL, *ts = NULL;
    double *x0 = NULL, *dq = NULL, *dp = NULL;
    double fit_s = NAN;
    repro_progress(p, "%s: generate and train", exp);
    double t0 = hrf_now();
    int rc = hrf_psystem_lj_new(N, 0.8442, NULL, &s);
    hrf_pdata_params dpp;
    if (!rc) {
        hrf_pdata_params_system_default(s, &dpp);
        dpp.snapshots = 10, dpp.every = 10, dpp.seed = p->seed;
        rc = hrf_pdata_generate(s, &dpp, &tr);
    }
    double gen_s = hrf_now() - t0;
    if (!rc) rc = p2_fit(p, HRF_HGN_PAIR, tr, &m, &fit_s);
    if (!rc) {
        char note[96];
        snprintf(note, sizeof note, "generation %.2f s + training %.2f s", gen_s, fit_s);
        row(p, exp, title, "10 snapshots", "pair", "seconds", gen_s + fit_s, NAN, fit_s, note);
        dpp.snapshots = 1, dpp.seed = p->seed + 100;
        rc = hrf_pdata_generate(s, &dpp, &te);
    }
    const size_t nd = N * 3;
    if (!rc) {
        dq = malloc(nd * sizeof *dq), dp = malloc(nd * sizeof *dp);
        if (!dq || !dp) rc = hrf_error(HRF_ENOMEM, "out of memory");
    }
    if (!rc) {
        hrf_hgn_graph g;
        hrf_hgn_graph_of(te, &g);
        rc = hrf_hgn_eval(m, N, 3, te->q, te->p, te->mass, &g, NULL, dq, dp);
        if (!rc)
            row(p, exp, title, "held-out snapshot", "pair", "force_rel_err",
                hrf_rel_l2(nd, dp, te->dpdt), NAN, NAN, "||F_hat - F|| / ||F|| (target: <= 1e-3)");
    }
    if (!rc) {
        repro_progress(p, "%s: 50-step rollouts", exp);
        hrf_hgn_field_ctx ctx;
        hrf_hgn_field_ctx_of(&ctx, m, te);
        hrf_field f, sf;
        hrf_psystem_field(s, &sf);
        x0 = malloc(2 * nd * sizeof *x0);
        if (!x0) rc = hrf_error(HRF_ENOMEM, "out of memory");
        if (!rc) {
            hrf_pdata_states(te, 0, 1, x0);
            rc = hrf_hgn_field_table(&ctx, 1, x0, 4096, &tab);
        }
        if (!rc) {
            ctx.table = tab;
            hrf_hgn_field(&ctx, &f);
            hrf_rollout_params rp;
            hrf_rollout_params_default(&rp);
            rp.integrator = &hrf_integrator_leapfrog;
            rp.dt = 0.005, rp.steps = 50, rp.every = 1; /* every step: the error's curve */
            hrf_rollout_params tq = rp;
            tq.dt = rp.dt / 10, tq.steps = rp.steps * 10, tq.every = rp.every * 10;
            rc = hrf_rollout_run(&f, &rp, 1, x0, &tp);
            /* the reference: the true system with 10 substeps per step; and the
             * true system with the model's own step, whose error is the
             * integrator's (the floor of the model's error at this step) */
            if (!rc) rc = hrf_rollout_run(&sf, &tq, 1, x0, &tt);
            if (!rc) rc = hrf_rollout_run(&sf, &rp, 1, x0, &ts);
        }
        const size_t J = rp_saved(50, 1);
        double *te_t = NULL, *err = NULL;
        if (!rc && (tp->valid != J || tt->valid != J || ts->valid != J))
            rc = hrf_error(HRF_ENUMERIC, "a rollout stopped early (%zu, %zu and %zu of %zu states)",
                           tp->valid, tt->valid, ts->valid, J);
        if (!rc) {
            te_t = malloc(J * sizeof *te_t), err = malloc(3 * J * sizeof *err);
            if (!te_t || !err) rc = hrf_error(HRF_ENOMEM, "out of memory");
        }
        /* ‖Δx̂ − Δx‖ / ‖Δx‖ with Δx = x(t) − x(0), positions only, at every step
         * (the curves; at t = 0 it is 0/0 and left out): the model's, the
         * true system's at the model's step, and the model's against that (the
         * model's own error, the integrator's taken out) */
        for (size_t j = 1; !rc && j < J; j++) {
            te_t[j - 1] = tp->t[j];
            err[j - 1] = displacement_err(nd, tp->x, tp->x + j * 2 * nd, tt->x + j * 2 * nd);
            err[J + j - 1] = displacement_err(nd, ts->x, ts->x + j * 2 * nd, tt->x + j * 2 * nd);
            err[2 * J + j - 1] =
                displacement_err(nd, tp->x, tp->x + j * 2 * nd, ts->x + j * 2 * nd);
        }
        if (!rc && p->curve) {
            hrf_repro_curve c = {exp, "50 steps", "pair", "displacement_err", J - 1, te_t, err};
            p->curve(p->user, &c);
            c.method = "true_V", c.v = err + J;
            p->curve(p->user, &c);
            c.method = "pair_same_step", c.v = err + 2 * J;
            p->curve(p->user, &c);
        }
        if (!rc) {
            char note[128];
            snprintf(note, sizeof note, "rollout %.2f s (tabulated), truth %.2f s", tp->seconds,
                     tt->seconds);
            row(p, exp, title, "50 steps", "pair", "displacement_err", err[J - 2], 0.1, NAN, note);
            snprintf(note, sizeof note,
                     "the true V with the same leapfrog step: the integrator's own error");
            row(p, exp, title, "50 steps", "true_V", "displacement_err", err[2 * J - 2], NAN, NAN,
                note);
            snprintf(note, sizeof note,
                     "the model against the true V, both with the same leapfrog step: its own "
                     "error");
            row(p, exp, title, "50 steps", "pair_same_step", "displacement_err", err[3 * J - 2],
                NAN, NAN, note);
        }
        free(te_t), free(err);
        hrf_hgn_field_ctx_release(&ctx);
    }
    free(x0), free(dq), free(dp);
    hrf_trajectory_free(tp), hrf_trajectory_free(tt), hrf_trajectory_free(ts);
    hrf_hgn_table_free(tab);
    hrf_hgn_free(m);
    hrf_pdata_free(tr), hrf_pdata_free(te);
    hrf_psystem_free(s);
    return rc;
}

int hrf_reproduce_paper2(const hrf_repro_params *p) {
    typedef int (*runner)(const hrf_repro_params *);
    static const runner runners[] = {exp_zero_shot_chain, exp_zero_shot_lattice, exp_lattice_3d,
                                     p2_exp_lattice_3d_optimizers, exp_lennard_jones};
    if (!p->row) return hrf_error(HRF_EINVAL, "reproduce: no row callback");
    int found = 0;
    for (int i = 0; experiments[i]; i++) {
        if (p->only && strcmp(p->only, experiments[i]) != 0) continue;
        found = 1;
        int rc = runners[i](p);
        if (rc) return hrf_error_prefix(rc, "paper2, %s", experiments[i]);
    }
    if (!found)
        return hrf_error(HRF_ENOTFOUND,
                         "unknown experiment '%s' of paper2 (known: zero_shot_chain, "
                         "zero_shot_lattice, lattice_3d, lattice_3d_optimizers, lennard_jones)",
                         p->only);
    return HRF_OK;
}
