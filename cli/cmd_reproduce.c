/* hamrf reproduce: run the papers' experiments and print our numbers beside
 * the published ones (docs/cli.md, `hamrf reproduce`); tables on stdout, optional CSV
 * and JSON files. The experiments themselves are library code
 * (src/reproduce/). */
#include "cli.h"
#include "core/atomic_file.h"

#include "hamrf/reproduce.h"
#include "hamrf/status.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int openblas_get_num_threads(void);
void openblas_set_num_threads(int);

static const char help[] =
    "usage: hamrf reproduce [paper1] [paper2] [benchmark] [--quick | --full] [--only EXPERIMENT] "
    "[--no-adam]\n"
    "                       [--adam-seconds S] [--seed S] [--threads N] [--out DIR] [--json]\n"
    "Runs the experiments of the source papers on this machine and prints, per experiment,\n"
    "our error and fit time beside the paper's error, and each sampler's speed-up over the\n"
    "Adam-trained network measured in this run (Adam time / fit time). Without a paper name\n"
    "every implemented paper runs (paper1: RF-HNN; paper2: RF-HGN; benchmark: the NeurIPS\n"
    "2022 5-spring protocol of Thangamuthu et al., sampled vs Adam-trained graph network).\n"
    "  --quick            reduced sizes (each table says which; the default); all three\n"
    "                     about 13 minutes on 2 cores (paper1 7, paper2 2.5, benchmark 3.5)\n"
    "  --full             the paper's sizes and Adam step counts (hours)\n"
    "  --only NAME        one experiment: pendulum_width, pendulum_frequency, lotka_volterra,\n"
    "                     double_pendulum, henon_heiles, error_correction, energy (paper1);\n"
    "                     zero_shot_chain, zero_shot_lattice, lattice_3d,\n"
    "                     lattice_3d_optimizers, lennard_jones (paper2); per_state,\n"
    "                     per_trajectory, zero_shot (benchmark)\n"
    "  --no-adam          skip the Adam baselines and paper2's optimizer table (no speed-ups)\n"
    "  --adam-seconds S   time budget of each Adam baseline (quick default: 120x the slowest\n"
    "                     sampler, 60..360 s; full: none) and of each optimizer of paper2's\n"
    "                     lattice_3d_optimizers (quick 8 s, full 90 s)\n"
    "  --seed S           seed of data, samplers and Adam (default 1)\n"
    "  --threads N        threads (default: all cores)\n"
    "  --out DIR          also write DIR/PAPER.csv and DIR/PAPER.json (atomically); the\n"
    "                     benchmark's error curves also in DIR/benchmark_curves.csv\n"
    "  --plots            with --out: then draw PNG figures of the results into DIR/figures\n"
    "                     (/usr/bin/python3 -m hamrf.plot DIR, needs python3-matplotlib);\n"
    "                     a failure there is reported and leaves the exit status alone\n"
    "  --json             one JSON object on stdout instead of the tables\n"
    "  --quiet            no progress line\n";

typedef struct repro_opts {
    int quick, full, plots;
    hrf_repro_params rp;
    cli_common com; /* com.out: --out DIR */
} repro_opts;

/* What the row and progress callbacks share. */
typedef struct {
    int json;
    int oom; /* a row could not be stored (out of memory) */
    const char *last_exp;
    cJSON *rows;   /* array of every row, for --json and --out */
    cJSON *curves; /* array of the curves (benchmark), NULL until the first */
    cli_progress prog;
} repro_state;

static cJSON *num_or_null(double v) {
    return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

static void on_progress(void *user, const char *what) {
    repro_state *st = user;
    cli_progress_cb(&st->prog, what, 0.0);
}

/* A curve becomes {experiment, config, method, metric, t: [..], value: [..]}. */
static void on_curve(void *user, const hrf_repro_curve *c) {
    repro_state *st = user;
    if (!st->curves && !(st->curves = cJSON_CreateArray())) {
        st->oom = 1;
        return;
    }
    cJSON *o = cJSON_CreateObject(), *t = cJSON_CreateArray(), *v = cJSON_CreateArray();
    int ok = o && t && v;
    for (size_t j = 0; ok && j < c->n; j++)
        ok = cJSON_AddItemToArray(t, cJSON_CreateNumber(c->t[j])) &&
             cJSON_AddItemToArray(v, num_or_null(c->v[j]));
    ok = ok && cJSON_AddStringToObject(o, "experiment", c->experiment) &&
         cJSON_AddStringToObject(o, "config", c->config) &&
         cJSON_AddStringToObject(o, "method", c->method) &&
         cJSON_AddStringToObject(o, "metric", c->metric) && cJSON_AddItemToObject(o, "t", t);
    if (ok) t = NULL;
    ok = ok && cJSON_AddItemToObject(o, "value", v);
    if (ok) v = NULL;
    if (!ok || !cJSON_AddItemToArray(st->curves, o)) {
        st->oom = 1;
        cJSON_Delete(o);
    }
    cJSON_Delete(t), cJSON_Delete(v);
}

static void fmt_num(char *buf, size_t len, double v, const char *fmt) {
    if (isfinite(v))
        snprintf(buf, len, fmt, v);
    else
        snprintf(buf, len, "-");
}

/* The extra members of an optimizer-table row (hrf_repro_timing); false
 * when out of memory. */
static int add_timing(cJSON *o, const hrf_repro_timing *t) {
    return cJSON_AddItemToObject(o, "lr", num_or_null(t->lr)) &&
           cJSON_AddItemToObject(o, "budget_seconds", num_or_null(t->budget_seconds)) &&
           cJSON_AddItemToObject(o, "sampled_seconds", num_or_null(t->sampled_seconds)) &&
           cJSON_AddItemToObject(o, "sampled_mse", num_or_null(t->sampled_mse)) &&
           cJSON_AddItemToObject(o, "target_mse", num_or_null(t->target_mse)) &&
           cJSON_AddItemToObject(o, "reach_target_seconds", num_or_null(t->reach_target_seconds)) &&
           cJSON_AddItemToObject(o, "reach_sampled_seconds",
                                 num_or_null(t->reach_sampled_seconds)) &&
           cJSON_AddItemToObject(o, "paper_seconds", num_or_null(t->paper_seconds)) &&
           cJSON_AddNumberToObject(o, "steps", (double)t->steps) &&
           cJSON_AddNumberToObject(o, "eval_every", (double)t->eval_every);
}

/* "Nx", or ">=Nx" (a lower bound: the threshold was not reached, the
 * budget stands in for the time), or "-". */
static void fmt_ratio(char *buf, size_t len, double reach, double budget, double denom) {
    double v = isfinite(reach) ? reach / denom : budget / denom;
    if (!isfinite(v))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, v < 100 ? "%s%.3gx" : "%s%.0fx", isfinite(reach) ? "" : ">=", v);
}

/* An optimizer-table row: (a) the paper's protocol, training time at the
 * budget / sampled time; (b) time to reach the published sampled MSE and
 * our sampled MSE, each / sampled time. */
static void print_timing_row(const hrf_repro_row *r, int header) {
    const hrf_repro_timing *t = r->timing;
    if (header)
        printf("%-10s %8s %10s %10s %8s %8s %8s %9s %9s %8s %9s %9s  %s\n", "method", "lr",
               "test MSE", "paper MSE", "train s", "paper s", "paper x", "t(target)", "t(ours)",
               "(a) x", "(b) tgt x", "(b) our x", "note");
    char lr[32], v[32], pp[32], secs[32], ps[32], px[32], rt[32], ro[32], a[32], bt[32], bo[32];
    fmt_num(lr, sizeof lr, t->lr, "%.3g");
    fmt_num(v, sizeof v, r->value, "%.3e");
    fmt_num(pp, sizeof pp, r->paper, "%.3e");
    fmt_num(secs, sizeof secs, r->seconds, "%.3f");
    fmt_num(ps, sizeof ps, t->paper_seconds, "%.2f");
    fmt_ratio(px, sizeof px, t->paper_seconds, NAN, 0.16); /* the paper's sampled 0.16 s */
    fmt_num(rt, sizeof rt, t->reach_target_seconds, "%.3f");
    fmt_num(ro, sizeof ro, t->reach_sampled_seconds, "%.3f");
    fmt_ratio(a, sizeof a, r->seconds, NAN, t->sampled_seconds);
    fmt_ratio(bt, sizeof bt, t->reach_target_seconds, r->seconds, t->sampled_seconds);
    fmt_ratio(bo, sizeof bo, t->reach_sampled_seconds, r->seconds, t->sampled_seconds);
    printf("%-10s %8s %10s %10s %8s %8s %8s %9s %9s %8s %9s %9s  %s\n", r->method, lr, v, pp, secs,
           ps, px, rt, ro, a, bt, bo, r->note);
    fflush(stdout);
}

static void on_row(void *user, const hrf_repro_row *r) {
    repro_state *st = user;
    cJSON *o = cJSON_CreateObject();
    /* cJSON's add functions return NULL / false when they cannot allocate;
     * a lost row makes the command fail after the paper's run. */
    int ok = o && cJSON_AddStringToObject(o, "experiment", r->experiment) &&
             cJSON_AddStringToObject(o, "config", r->config) &&
             cJSON_AddStringToObject(o, "method", r->method) &&
             cJSON_AddStringToObject(o, "metric", r->metric) &&
             cJSON_AddItemToObject(o, "value", num_or_null(r->value)) &&
             cJSON_AddItemToObject(o, "paper", num_or_null(r->paper)) &&
             cJSON_AddItemToObject(o, "seconds", num_or_null(r->seconds)) &&
             cJSON_AddItemToObject(o, "adam_seconds", num_or_null(r->adam_seconds)) &&
             cJSON_AddItemToObject(o, "speedup_vs_adam", num_or_null(r->speedup)) &&
             cJSON_AddStringToObject(o, "note", r->note) &&
             cJSON_AddStringToObject(o, "title", r->title) &&
             (!r->timing || add_timing(o, r->timing));
    if (!ok || !cJSON_AddItemToArray(st->rows, o)) {
        st->oom = 1;
        cJSON_Delete(o);
    }
    if (st->json) return;
    cli_progress_done(&st->prog);
    int first = !st->last_exp || strcmp(st->last_exp, r->experiment) != 0;
    if (first && r->timing) printf("\n== %s: %s\n", r->experiment, r->title);
    if (r->timing) {
        st->last_exp = r->experiment;
        print_timing_row(r, first);
        return;
    }
    if (first) {
        st->last_exp = r->experiment;
        printf("\n== %s: %s\n", r->experiment, r->title);
        printf("%-22s %-12s %-13s %10s %10s %7s %9s %9s  %s\n", "config", "method", "metric",
               "ours", "paper", "ratio", "fit s", "vs Adam", "note");
    }
    char v[32], pp[32], ratio[32], secs[32], sp[32];
    fmt_num(v, sizeof v, r->value,
            strcmp(r->metric, "slope") && strcmp(r->metric, "drift_growth") ? "%.3e" : "%.3f");
    fmt_num(pp, sizeof pp, r->paper, strcmp(r->metric, "slope") ? "%.3e" : "%.3f");
    fmt_num(ratio, sizeof ratio, isfinite(r->paper) && r->paper != 0 ? r->value / r->paper : NAN,
            "%.2f");
    fmt_num(secs, sizeof secs, r->seconds, "%.3f");
    fmt_num(sp, sizeof sp, r->speedup, "%.0fx");
    printf("%-22s %-12s %-13s %10s %10s %7s %9s %9s  %s\n", r->config, r->method, r->metric, v, pp,
           ratio, secs, sp, r->note);
    fflush(stdout);
}

static int out_of_memory(void) {
    fprintf(stderr, "hamrf reproduce: error: out of memory\n");
    return CLI_FAIL;
}

/* Writes `text` to path atomically (core/atomic_file.h: the one writer of
 * every file hamrf writes). */
static int write_atomic(const char *path, const char *text) {
    if (hrf_atomic_write_file(path, text, strlen(text)) == HRF_OK) return 0;
    fprintf(stderr, "hamrf reproduce: error: %s\n", hrf_last_error());
    return -1;
}

/* Appends one CSV field: quoted, with doubled quotes. 0, or -1 when the
 * buffer cannot grow (then *buf, *len and *cap are unchanged: the caller
 * still owns and frees *buf). */
static int csv_field(char **buf, size_t *len, size_t *cap, const char *s, int last) {
    size_t need = 2 * strlen(s) + 4;
    if (*len + need >= *cap) {
        size_t new_cap = 2 * (*cap + need);
        char *grown = realloc(*buf, new_cap);
        if (!grown) return -1;
        *buf = grown, *cap = new_cap;
    }
    char *p = *buf + *len;
    *p++ = '"';
    for (; *s; s++) {
        if (*s == '"') *p++ = '"';
        *p++ = *s;
    }
    *p++ = '"';
    *p++ = last ? '\n' : ',';
    *len = (size_t)(p - *buf);
    (*buf)[*len] = '\0';
    return 0;
}

/* The rows as CSV with a header line (caller frees); NULL when out of memory. */
static char *rows_csv(const cJSON *rows) {
    static const char *const cols[] = {"experiment",      "config", "method",  "metric",
                                       "value",           "paper",  "seconds", "adam_seconds",
                                       "speedup_vs_adam", "note"};
    const int nc = sizeof cols / sizeof *cols;
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    buf[0] = '\0';
    for (int c = 0; c < nc; c++)
        if (csv_field(&buf, &len, &cap, cols[c], c == nc - 1)) goto oom;
    const cJSON *r;
    cJSON_ArrayForEach(r, rows) {
        for (int c = 0; c < nc; c++) {
            const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, cols[c]);
            char num[64] = "";
            const char *s = num;
            if (cJSON_IsString(v))
                s = v->valuestring;
            else if (cJSON_IsNumber(v))
                snprintf(num, sizeof num, "%.17g", v->valuedouble);
            if (csv_field(&buf, &len, &cap, s, c == nc - 1)) goto oom;
        }
    }
    return buf;
oom:
    free(buf);
    return NULL;
}

/* The curves as CSV, one line per point: experiment, config, method, metric,
 * t, value (caller frees); NULL when out of memory. */
static char *curves_csv(const cJSON *curves) {
    static const char *const cols[] = {"experiment", "config", "method", "metric", "t", "value"};
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    buf[0] = '\0';
    for (int c = 0; c < 6; c++)
        if (csv_field(&buf, &len, &cap, cols[c], c == 5)) goto oom;
    const cJSON *cv;
    cJSON_ArrayForEach(cv, curves) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(cv, "t"),
                    *v = cJSON_GetObjectItemCaseSensitive(cv, "value");
        for (int j = 0; j < cJSON_GetArraySize(t); j++) {
            for (int c = 0; c < 4; c++)
                if (csv_field(&buf, &len, &cap,
                              cJSON_GetObjectItemCaseSensitive(cv, cols[c])->valuestring, 0))
                    goto oom;
            char num[2][64] = {"", ""};
            snprintf(num[0], 64, "%.17g", cJSON_GetArrayItem(t, j)->valuedouble);
            const cJSON *vj = cJSON_GetArrayItem(v, j);
            if (cJSON_IsNumber(vj)) snprintf(num[1], 64, "%.17g", vj->valuedouble);
            if (csv_field(&buf, &len, &cap, num[0], 0) || csv_field(&buf, &len, &cap, num[1], 1))
                goto oom;
        }
    }
    return buf;
oom:
    free(buf);
    return NULL;
}

/* Every option of hamrf reproduce but the shared ones (cli_parse_options):
 * 1 handled, 0 not one of them, -1 usage error (printed). */
static int parse_option(void *opts, int c, const char *arg) {
    const char *C = "reproduce";
    repro_opts *o = opts;
    hrf_repro_params *rp = &o->rp;
    switch (c) {
    case 'q':
        o->quick = 1;
        break;
    case 'f':
        o->full = 1;
        break;
    case 'O':
        rp->only = arg;
        break;
    case 'N':
        rp->adam = 0;
        break;
    case 'P':
        o->plots = 1;
        break;
    case 'A':
        if (cli_parse_double(C, "adam-seconds", arg, &rp->adam_seconds)) return -1;
        if (!(rp->adam_seconds > 0))
            return cli_option_error(C, "--adam-seconds must be > 0, got '%s'", arg);
        break;
    case 'S':
        if (cli_parse_u64(C, "seed", arg, &rp->seed)) return -1;
        break;
    case 'D': /* undocumented: shrink the data sets for tests */
        if (cli_parse_size(C, "scale-down", arg, &rp->scale_down)) return -1;
        if (rp->scale_down == 0) return cli_option_error(C, "--scale-down must be >= 1");
        break;
    default:
        return 0;
    }
    return 1;
}

/* The implemented papers. */
static const struct paper {
    const char *name, *header;
    const char *const *(*experiments)(void);
    int (*run)(const hrf_repro_params *);
} papers[] = {
    {"paper1",
     "RF-HNN, Rahma, Datar, Dietrich 2024; paper values: the published means of 10 "
     "runs; ours: one seed, this machine.\nratio = ours / paper; 'vs Adam' = Adam's training "
     "time / this fit's time, both measured in this run.",
     hrf_repro_paper1_experiments, hrf_reproduce_paper1},
    {"paper2",
     "RF-HGN, Rahma, Datar, Cukarska, Dietrich 2025/26, and our targets for it; paper "
     "values: the published ones; ours: one seed, this machine (quick = full here but for the "
     "optimizer table).",
     hrf_repro_paper2_experiments, hrf_reproduce_paper2},
    {"benchmark",
     "NeurIPS 2022 spring benchmark (Thangamuthu et al.), their protocol, with RF-HGN's "
     "sampled graph network and the same network trained by Adam; paper values: RF-HGN's "
     "reported training time (2-5 s); ours: one seed, this machine.\n'vs Adam' = the Adam "
     "network's training time / this fit's time, both measured in this run.",
     hrf_repro_benchmark_experiments, hrf_reproduce_benchmark}};
enum { NPAPERS = sizeof papers / sizeof *papers };

/* The papers named by the operands argv[optind..], else all: 0, or
 * CLI_USAGE (printed). */
static int select_papers(int argc, char **argv, int selected[NPAPERS]) {
    int named = 0;
    for (; optind < argc; optind++) {
        int found = 0;
        for (int i = 0; i < NPAPERS; i++)
            if (!strcmp(argv[optind], papers[i].name)) selected[i] = found = named = 1;
        if (!found)
            return cli_usage_error("reproduce",
                                   "unknown paper '%s' (implemented: paper1, paper2, benchmark)",
                                   argv[optind]);
    }
    if (!named)
        for (int i = 0; i < NPAPERS; i++)
            selected[i] = 1;
    return 0;
}

/* --only: keeps the selected papers that have the experiment; 0, or
 * CLI_USAGE (printed) when none has. */
static int keep_only(const char *only, int selected[NPAPERS]) {
    int ok = 0;
    for (int i = 0; i < NPAPERS; i++) {
        int has = 0;
        for (const char *const *e = papers[i].experiments(); *e; e++)
            has |= !strcmp(*e, only);
        if (!has) selected[i] = 0;
        ok |= has && selected[i];
    }
    if (!ok)
        return cli_usage_error("reproduce", "--only: unknown experiment '%s' (see --help)", only);
    return 0;
}

/* --out DIR: created when absent; 0, or CLI_FAIL (printed). */
static int make_out_dir(const char *out_dir) {
    struct stat sb;
    if (stat(out_dir, &sb) != 0 && mkdir(out_dir, 0777) != 0) {
        fprintf(stderr, "hamrf reproduce: error: cannot create --out folder %s: %s\n", out_dir,
                strerror(errno));
        return CLI_FAIL;
    }
    if (stat(out_dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr, "hamrf reproduce: error: --out %s is not a folder\n", out_dir);
        return CLI_FAIL;
    }
    return 0;
}

/* Runs papers[i]: its rows through the callbacks, then *obj = {paper, mode,
 * seed, seconds, rows} and *secs its time. CLI_OK, or the failure's status
 * (printed; *obj NULL). */
static int run_paper(int i, const repro_opts *o, repro_state *st, cJSON **obj, double *secs) {
    const struct paper *pp = &papers[i];
    const char *mode = o->full ? "full" : "quick";
    *obj = NULL;
    st->rows = cJSON_CreateArray();
    if (!st->rows) return out_of_memory();
    st->curves = NULL;
    st->last_exp = NULL;
    if (!st->json)
        printf("%shamrf reproduce %s (%s, seed %llu): %s\n", i ? "\n" : "", pp->name, mode,
               (unsigned long long)o->rp.seed, pp->header);
    /* The graph-network papers' fits are threaded by OpenMP and best with one
     * OpenBLAS thread, as `hamrf train --model hgn` runs them (docs/math.md
     * §10); their other work calls no BLAS. */
    const int graph = strcmp(pp->name, "paper1") != 0, blas_threads = openblas_get_num_threads();
    if (graph) openblas_set_num_threads(1);
    double t0 = cli_now();
    int rc = pp->run(&o->rp);
    *secs = cli_now() - t0;
    if (graph) openblas_set_num_threads(blas_threads);
    cli_progress_done(&st->prog);
    if (rc) {
        cJSON_Delete(st->rows), cJSON_Delete(st->curves);
        return cli_lib_error("reproduce", rc);
    }
    cJSON *p = cJSON_CreateObject();
    if (st->oom || !p || !cJSON_AddStringToObject(p, "paper", pp->name) ||
        !cJSON_AddStringToObject(p, "mode", mode) ||
        !cJSON_AddNumberToObject(p, "seed", (double)o->rp.seed) ||
        !cJSON_AddNumberToObject(p, "seconds", *secs) ||
        !cJSON_AddItemToObject(p, "rows", st->rows)) {
        cJSON_Delete(st->rows); /* not in p: adding it was the last step */
        cJSON_Delete(st->curves);
        cJSON_Delete(p);
        return out_of_memory();
    }
    if (st->curves && !cJSON_AddItemToObject(p, "curves", st->curves)) {
        cJSON_Delete(st->curves);
        cJSON_Delete(p);
        return out_of_memory();
    }
    *obj = p;
    return CLI_OK;
}

/* DIR/PAPER.json (the paper's object), DIR/PAPER.csv (its rows) and, when
 * it has curves, DIR/PAPER_curves.csv: CLI_OK, or CLI_FAIL (printed) when
 * one could not be written. */
static int write_files(const char *out_dir, const char *name, const cJSON *paper,
                       const cJSON *rows) {
    const cJSON *curves = cJSON_GetObjectItemCaseSensitive(paper, "curves");
    int status = CLI_OK;
    size_t len = strlen(out_dir) + 32;
    char *path = malloc(len);
    char *json = cJSON_PrintUnformatted(paper), *csv = rows_csv(rows);
    if (!path || !json || !csv) {
        status = out_of_memory();
    } else {
        snprintf(path, len, "%s/%s.json", out_dir, name);
        if (write_atomic(path, json)) status = CLI_FAIL;
        snprintf(path, len, "%s/%s.csv", out_dir, name);
        if (write_atomic(path, csv)) status = CLI_FAIL;
        if (curves) {
            char *ccsv = curves_csv(curves);
            snprintf(path, len, "%s/%s_curves.csv", out_dir, name);
            if (!ccsv)
                status = out_of_memory();
            else if (write_atomic(path, ccsv))
                status = CLI_FAIL;
            free(ccsv);
        }
    }
    free(path), free(json), free(csv);
    return status;
}

/* The end of the run: with --json the one paper's object, or {seconds,
 * papers} for several (consumes all); else the total time. CLI_OK, or
 * CLI_FAIL (printed) when out of memory. */
static int print_all(cJSON *all, int json, double t_all) {
    if (!json) {
        printf("\ntotal %.1f s\n", cli_now() - t_all);
        cJSON_Delete(all);
        return CLI_OK;
    }
    if (cJSON_GetArraySize(all) == 1) {
        cJSON *one = cJSON_DetachItemFromArray(all, 0);
        cJSON_Delete(all);
        cli_print_json(one);
        return CLI_OK;
    }
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddNumberToObject(o, "seconds", cli_now() - t_all) ||
        !cJSON_AddItemToObject(o, "papers", all)) {
        cJSON_Delete(o);
        cJSON_Delete(all);
        return out_of_memory();
    }
    cli_print_json(o);
    return CLI_OK;
}

/* DIR/hamrf/plot.py exists. */
static int has_plot(const char *dir) {
    char path[2 * PATH_MAX];
    snprintf(path, sizeof path, "%s/hamrf/plot.py", dir);
    return access(path, R_OK) == 0;
}

/* --plots: /usr/bin/python3 -m hamrf.plot OUT_DIR, with PYTHONPATH naming the
 * package beside the tool (the build tree's python/, or the installed
 * PREFIX/HAMRF_PYDIR, else the source tree's python/) and HAMRF_LIB the library beside it in a
 * build tree. Its output goes to stderr (stdout holds the tables or the JSON). A failure is
 * reported, never fatal: the results are in OUT_DIR already. */
static void run_plots(const char *out_dir) {
    char exe[PATH_MAX], dir[PATH_MAX + 64], lib[PATH_MAX + 32];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    const char *pydir = NULL;
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
        snprintf(dir, sizeof dir, "%s/../python", exe);
        if (has_plot(dir)) pydir = dir;
        if (!pydir) {
            snprintf(dir, sizeof dir, "%s/../%s", exe, HAMRF_PYDIR);
            if (has_plot(dir)) pydir = dir;
        }
        snprintf(lib, sizeof lib, "%s/libhamrf.so", exe);
        if (!getenv("HAMRF_LIB") && access(lib, R_OK) == 0) setenv("HAMRF_LIB", lib, 1);
    }
    /* a build folder outside the source tree: the sources' python/ */
    if (!pydir && has_plot(HAMRF_SOURCE_PYDIR)) pydir = HAMRF_SOURCE_PYDIR;
    if (pydir) {
        const char *old = getenv("PYTHONPATH");
        size_t len = strlen(pydir) + (old ? strlen(old) : 0) + 2;
        char *pp = malloc(len);
        if (pp) {
            snprintf(pp, len, "%s%s%s", pydir, old && *old ? ":" : "", old ? old : "");
            setenv("PYTHONPATH", pp, 1);
            free(pp);
        }
    }
    fflush(stdout);
    fflush(stderr);
    fprintf(stderr, "hamrf reproduce: --plots: /usr/bin/python3 -m hamrf.plot %s\n", out_dir);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(STDERR_FILENO, STDOUT_FILENO);
        execl("/usr/bin/python3", "python3", "-m", "hamrf.plot", out_dir, (char *)NULL);
        fprintf(stderr, "hamrf reproduce: --plots: cannot run /usr/bin/python3: %s\n",
                strerror(errno));
        _exit(127);
    }
    int ws = 0;
    if (pid < 0 || waitpid(pid, &ws, 0) < 0 || !WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
        fprintf(stderr,
                "hamrf reproduce: --plots: no figures (python3 -m hamrf.plot failed%s, see above; "
                "it needs "
                "/usr/bin/python3 with numpy and matplotlib: sh scripts/bootstrap.sh); the "
                "results are in %s\n",
                pydir ? "" : ", and the package was not found beside the tool", out_dir);
}

int cmd_reproduce(int argc, char **argv) {
    static const struct option opts[] = {{"quick", no_argument, 0, 'q'},
                                         {"full", no_argument, 0, 'f'},
                                         {"only", required_argument, 0, 'O'},
                                         {"no-adam", no_argument, 0, 'N'},
                                         {"adam-seconds", required_argument, 0, 'A'},
                                         {"seed", required_argument, 0, 'S'},
                                         {"threads", required_argument, 0, CLI_OPT_THREADS},
                                         {"out", required_argument, 0, CLI_OPT_OUTPUT},
                                         {"json", no_argument, 0, CLI_OPT_JSON},
                                         {"quiet", no_argument, 0, CLI_OPT_QUIET},
                                         {"scale-down", required_argument, 0, 'D'},
                                         {"plots", no_argument, 0, 'P'},
                                         {"help", no_argument, 0, CLI_OPT_HELP},
                                         {0, 0, 0, 0}};
    const char *C = "reproduce";
    repro_opts o;
    memset(&o, 0, sizeof o);
    hrf_repro_params_default(&o.rp);
    /* -o is no option here: the folder is --out DIR. */
    int rc = cli_parse_options(C, argc, argv, "", opts, help, parse_option, &o, &o.com);
    if (rc != CLI_PARSED) return rc;
    int selected[NPAPERS] = {0};
    if ((rc = select_papers(argc, argv, selected))) return rc;
    if (o.quick && o.full) return cli_usage_error(C, "--quick and --full exclude each other");
    if (o.plots && !o.com.out) return cli_usage_error(C, "--plots needs --out DIR");
    o.rp.full = o.full;
    if (o.rp.only && (rc = keep_only(o.rp.only, selected))) return rc;
    if (o.com.out && (rc = make_out_dir(o.com.out))) return rc;
    repro_state st = {.json = o.com.json};
    cli_progress_init(&st.prog, o.com.quiet || o.com.json);
    o.rp.row = on_row;
    o.rp.progress = on_progress;
    o.rp.curve = on_curve;
    o.rp.user = &st;
    int status = CLI_OK;
    double t_all = cli_now();
    cJSON *all = cJSON_CreateArray();
    if (!all) return out_of_memory();
    for (int i = 0; i < NPAPERS && status == CLI_OK; i++) {
        if (!selected[i]) continue;
        cJSON *paper;
        double secs;
        if ((rc = run_paper(i, &o, &st, &paper, &secs))) {
            cJSON_Delete(all);
            return rc;
        }
        if (o.com.out) status = write_files(o.com.out, papers[i].name, paper, st.rows);
        if (!st.json) printf("\n%s: %.1f s\n", papers[i].name, secs);
        if (!cJSON_AddItemToArray(all, paper)) {
            cJSON_Delete(paper);
            cJSON_Delete(all);
            return out_of_memory();
        }
    }
    rc = print_all(all, st.json, t_all);
    if (!rc && status == CLI_OK && o.plots) run_plots(o.com.out);
    return rc ? rc : status;
}
