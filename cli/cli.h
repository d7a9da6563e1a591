/* Shared helpers of the hamrf command line: option value parsing, error
 * reporting with the exit-code contract (0 success, 2 usage error, 1 any
 * other failure) and the progress line. No numerics live here. */
#ifndef HAMRF_CLI_H
#define HAMRF_CLI_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* Prints "hamrf CMD: message" on stderr and returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "hamrf CMD: error: <last library error>" and returns CLI_FAIL. */
int cli_lib_error(const char *cmd, int status);

/* Strict parsers; return 0 on success, -1 with a usage message printed. */
int cli_parse_double(const char *cmd, const char *opt, const char *s, double *out);
int cli_parse_size(const char *cmd, const char *opt, const char *s, size_t *out);
int cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t *out);
int cli_parse_range(const char *cmd, const char *opt, const char *s, double *lo, double *hi);
int cli_parse_threads(const char *cmd, const char *s);

/* The option the last getopt_long call failed on, for messages. */
int cli_unknown_option(const char *cmd, char **argv, int optind_seen, int optopt_seen);

/* Prints cJSON compactly on stdout followed by a newline, then deletes it. */
void cli_print_json(cJSON *obj);

/* Progress line on stderr: shown only when stderr is a terminal, not quiet,
 * and after the work has run for a second. */
typedef struct cli_progress {
    int enabled;
    double start;
    int shown;
} cli_progress;
void cli_progress_init(cli_progress *p, int quiet);
void cli_progress_cb(void *user, const char *stage, double fraction);
void cli_progress_done(cli_progress *p);

double cli_now(void);

/* meta "kind" of the hamrf file at `path` ("dataset", "particles", "model",
 * ...; at most 63 characters, in a static buffer), or NULL when it cannot be
 * read here (the loader then says why). */
const char *cli_data_kind(const char *path);

int cmd_systems(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_rollout(int argc, char **argv);
int cmd_reproduce(int argc, char **argv);

#endif
