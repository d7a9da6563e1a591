/* Command-line helpers shared by the subcommands (see cli.h). */
#include "cli.h"
#include "mpi.h"

#include "core/npz.h"
#include "hamrf/status.h"

#include <cblas.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void openblas_set_num_threads(int);

double cli_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void usage_message(const char *cmd, const char *fmt, va_list ap) {
    fprintf(stderr, "hamrf %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(see 'hamrf %s --help')\n", cmd);
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    usage_message(cmd, fmt, ap);
    va_end(ap);
    return CLI_USAGE;
}

int cli_option_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    usage_message(cmd, fmt, ap);
    va_end(ap);
    return -1;
}

int cli_lib_error(const char *cmd, int status) {
    const char *detail = hrf_last_error();
    fprintf(stderr, "hamrf %s: error: %s\n", cmd, detail[0] ? detail : hrf_strerror(status));
    return CLI_FAIL;
}

int cli_parse_double(const char *cmd, const char *opt, const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v)) {
        cli_usage_error(cmd, "--%s expects a finite number, got '%s'", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

int cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t *out) {
    /* Values are recorded in JSON (doubles): keep them exact, below 2^53.
     * Digits only: strtoull would also skip leading white space and take a
     * sign, reading " -1" as 2^64 - 1. */
    char *end;
    errno = 0;
    if (s[0] < '0' || s[0] > '9') {
        cli_usage_error(cmd, "--%s expects a non-negative integer, got '%s'", opt, s);
        return -1;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || errno == ERANGE) {
        cli_usage_error(cmd, "--%s expects a non-negative integer, got '%s'", opt, s);
        return -1;
    }
    if (v >= (1ULL << 53)) {
        cli_usage_error(cmd,
                        "--%s must be below 2^53 = 9007199254740992 (it is recorded in "
                        "JSON), got '%s'",
                        opt, s);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

int cli_parse_size(const char *cmd, const char *opt, const char *s, size_t *out) {
    /* Digits only, as in cli_parse_u64 (" -5" is not 2^64 - 5). */
    const int digit = s[0] >= '0' && s[0] <= '9';
    uint64_t v;
    char *end;
    errno = 0;
    v = digit ? strtoull(s, &end, 10) : 0;
    if (!digit || *end != '\0' || errno == ERANGE) {
        cli_usage_error(cmd, "--%s expects a positive integer, got '%s'", opt, s);
        return -1;
    }
    if (v == 0) {
        cli_usage_error(cmd, "--%s must be a positive integer, got '%s'", opt, s);
        return -1;
    }
    *out = (size_t)v;
    return 0;
}

int cli_parse_range(const char *cmd, const char *opt, const char *s, double *lo, double *hi) {
    const char *comma = strchr(s, ',');
    char a[128], b[128];
    if (!comma || (size_t)(comma - s) >= sizeof a || strlen(comma + 1) >= sizeof b) {
        cli_usage_error(cmd, "--%s expects LO,HI (e.g. --%s=-1,1), got '%s'", opt, opt, s);
        return -1;
    }
    memcpy(a, s, (size_t)(comma - s));
    a[comma - s] = '\0';
    strcpy(b, comma + 1);
    if (cli_parse_double(cmd, opt, a, lo) || cli_parse_double(cmd, opt, b, hi)) return -1;
    if (!(*lo < *hi)) {
        cli_usage_error(cmd, "--%s expects LO < HI, got '%s'", opt, s);
        return -1;
    }
    return 0;
}

int cli_parse_threads(const char *cmd, const char *s) {
    size_t n;
    if (cli_parse_size(cmd, "threads", s, &n)) return -1;
    if (n > 1024) {
        cli_usage_error(cmd, "--threads must be at most 1024, got '%s'", s);
        return -1;
    }
    omp_set_num_threads((int)n);
    openblas_set_num_threads((int)n);
    return 0;
}

int cli_parse_shape(const char *cmd, const char *opt, const char *s, size_t shape[3], int *count) {
    const char *c = s;
    int n = 0;
    shape[0] = shape[1] = shape[2] = 0;
    while (1) {
        if (n == 3 || *c < '0' || *c > '9')
            return cli_usage_error(cmd,
                                   "--%s expects N, NXxNY or NXxNYxNZ with positive "
                                   "integers, got '%s'",
                                   opt, s);
        char *end;
        unsigned long long v = strtoull(c, &end, 10);
        if (v == 0 || v > 0xffffffffULL)
            return cli_usage_error(cmd, "--%s extents must be in 1 .. 2^32 - 1, got '%s'", opt, s);
        shape[n++] = (size_t)v;
        if (*end == '\0') break;
        if (*end != 'x')
            return cli_usage_error(cmd,
                                   "--%s expects N, NXxNY or NXxNYxNZ with positive "
                                   "integers, got '%s'",
                                   opt, s);
        c = end + 1;
    }
    *count = n;
    return 0;
}

size_t cli_parse_list(const char *cmd, const char *opt, const char *s, double **out) {
    size_t cap = 16, n = 0;
    double *v = malloc(cap * sizeof *v);
    char *copy = strdup(s);
    if (!v || !copy) {
        free(v), free(copy);
        cli_usage_error(cmd, "out of memory");
        return 0;
    }
    char *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (n == cap) {
            double *nv = realloc(v, 2 * cap * sizeof *v);
            if (!nv) {
                free(v), free(copy);
                cli_usage_error(cmd, "out of memory");
                return 0;
            }
            v = nv, cap *= 2;
        }
        if (cli_parse_double(cmd, opt, tok, &v[n])) {
            free(v), free(copy);
            return 0;
        }
        n++;
    }
    free(copy);
    if (n == 0) {
        free(v);
        cli_usage_error(cmd, "--%s expects comma-separated numbers, got '%s'", opt, s);
        return 0;
    }
    *out = v;
    return n;
}

int cli_parse_key_value(const char *cmd, const char *opt, const char *s, char *key, size_t keylen,
                        double *value) {
    const char *eq = strchr(s, '=');
    if (!eq || eq == s || (size_t)(eq - s) >= keylen) {
        cli_usage_error(cmd, "--%s expects KEY=VALUE, got '%s'", opt, s);
        return -1;
    }
    memcpy(key, s, (size_t)(eq - s));
    key[eq - s] = '\0';
    return cli_parse_double(cmd, opt, eq + 1, value);
}

int cli_unknown_option(const char *cmd, char **argv, int optind_seen, int optopt_seen) {
    const char *arg = argv[optind_seen - 1];
    if (optopt_seen)
        return cli_usage_error(cmd, "option '-%c' is unknown or misses its value", optopt_seen);
    return cli_usage_error(cmd, "option '%s' is unknown or misses its value", arg);
}

int cli_parse_options(const char *cmd, int argc, char **argv, const char *shortopts,
                      const struct option *longopts, const char *help, cli_option_fn own,
                      void *opts, cli_common *common) {
    int c, r;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        switch (c) {
        case CLI_OPT_OUTPUT:
            common->out = optarg;
            continue;
        case CLI_OPT_JSON:
            common->json = 1;
            continue;
        case CLI_OPT_QUIET:
            common->quiet = 1;
            continue;
        case CLI_OPT_THREADS:
            if (cli_parse_threads(cmd, optarg)) return CLI_USAGE;
            continue;
        case CLI_OPT_HELP:
            fputs(help, stdout);
            return CLI_OK;
        }
        if ((r = own(opts, c, optarg)) < 0) return CLI_USAGE;
        if (r == 0) return cli_unknown_option(cmd, argv, optind, optopt);
    }
    return CLI_PARSED;
}

void cli_print_json(cJSON *obj) {
    /* Under mpirun rank 0 reports; "ranks" is there with or without MPI. */
    if (!cJSON_HasObjectItem(obj, "ranks")) cJSON_AddNumberToObject(obj, "ranks", cli_mpi_size());
    if (cli_mpi_size() > 1) { /* the reductions, as rank 0 saw them (docs/mpi.md) */
        double sec, words, calls;
        cli_mpi_stats(&sec, &words, &calls);
        cJSON_AddNumberToObject(obj, "reduce_seconds", sec);
        cJSON_AddNumberToObject(obj, "reduce_words", words);
        cJSON_AddNumberToObject(obj, "reduce_calls", calls);
    }
    char *s = cli_mpi_rank() == 0 ? cJSON_PrintUnformatted(obj) : NULL;
    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
    }
    cJSON_Delete(obj);
}

void cli_progress_init(cli_progress *p, int quiet) {
    p->enabled = !quiet && isatty(STDERR_FILENO) && cli_mpi_rank() == 0;
    p->start = cli_now();
    p->shown = 0;
}

void cli_progress_cb(void *user, const char *stage, double fraction) {
    cli_progress *p = user;
    if (!p || !p->enabled) return;
    double t = cli_now() - p->start;
    if (t < 1.0) return;
    fprintf(stderr, "\r\033[K[hamrf] %-24s %3.0f%%  %6.1f s", stage, 100.0 * fraction, t);
    fflush(stderr);
    p->shown = 1;
}

void cli_progress_done(cli_progress *p) {
    if (p->enabled && p->shown) fprintf(stderr, "\r\033[K");
}

const char *cli_meta_string(const char *path, const char *key) {
    static char value[64];
    hrf_npz *z = NULL;
    cJSON *meta = NULL;
    if (hrf_npz_open(path, &z)) {
        hrf_clear_error();
        return NULL;
    }
    int rc = hrf_npz_read_meta(z, NULL, &meta);
    hrf_npz_close(z);
    if (rc) {
        hrf_clear_error();
        return NULL;
    }
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(meta, key);
    const char *out = NULL;
    if (cJSON_IsString(k)) {
        snprintf(value, sizeof value, "%s", k->valuestring);
        out = value;
    }
    cJSON_Delete(meta);
    return out;
}

const char *cli_data_kind(const char *path) {
    return cli_meta_string(path, "kind");
}
