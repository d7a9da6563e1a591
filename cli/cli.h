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
/* The same message for an option parser (cli_option_fn): returns -1. */
int cli_option_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "hamrf CMD: error: <last library error>" and returns CLI_FAIL. */
int cli_lib_error(const char *cmd, int status);

/* Strict parsers; return 0 on success, -1 with a usage message printed. */
int cli_parse_double(const char *cmd, const char *opt, const char *s, double *out);
int cli_parse_size(const char *cmd, const char *opt, const char *s, size_t *out);
int cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t *out);
int cli_parse_range(const char *cmd, const char *opt, const char *s, double *lo, double *hi);
int cli_parse_threads(const char *cmd, const char *s);
/* "N", "NXxNY" or "NXxNYxNZ" (--shape): extents in 1 .. 2^32 - 1 into
 * shape[0..*count) (the unused ones 0), their number (1..3) in *count. */
int cli_parse_shape(const char *cmd, const char *opt, const char *s, size_t shape[3], int *count);
/* "V1,V2,..." (--x0): finite numbers into a new array *out (free); returns
 * their count, or 0 (nothing allocated) after a usage message. */
size_t cli_parse_list(const char *cmd, const char *opt, const char *s, double **out);
/* "KEY=VALUE" (--set): KEY (1 .. keylen - 1 bytes) into key, VALUE a finite
 * number into *value. */
int cli_parse_key_value(const char *cmd, const char *opt, const char *s, char *key, size_t keylen,
                        double *value);

/* The option the last getopt_long call failed on, for messages. */
int cli_unknown_option(const char *cmd, char **argv, int optind_seen, int optopt_seen);

/* Options the commands share (docs/cli.md): -o/--output FILE (reproduce:
 * --out DIR), --json, --quiet, --threads N and --help. A command's option
 * table gives them these getopt_long codes; cli_parse_options reads them. */
enum {
    CLI_OPT_OUTPUT = 'o',
    CLI_OPT_JSON = 'j',
    CLI_OPT_QUIET = 'Q',
    CLI_OPT_THREADS = 'T',
    CLI_OPT_HELP = 'h'
};
typedef struct cli_common {
    const char *out;
    int json, quiet;
} cli_common;

/* A command's own options: 1 handled, 0 not one of them, -1 usage error
 * (printed). */
typedef int (*cli_option_fn)(void *opts, int c, const char *arg);

/* cli_parse_options' result when every option was read. */
#define CLI_PARSED (-1)

/* Reads argv's options with getopt_long (short ones: `shortopts`): the shared
 * ones into *common, --threads applied at once, --help prints `help`, every
 * other option goes to own(opts, ...). Returns CLI_PARSED when all were read
 * (the operands start at optind), else the command's exit status: CLI_OK
 * after --help, CLI_USAGE after a usage error (printed). */
struct option;
int cli_parse_options(const char *cmd, int argc, char **argv, const char *shortopts,
                      const struct option *longopts, const char *help, cli_option_fn own,
                      void *opts, cli_common *common);

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

/* The string meta[key] of the hamrf file at `path` (at most 63 characters,
 * in a static buffer that the next call overwrites), or NULL when it cannot be
 * read here (the loader then says why) or is not a string. */
const char *cli_meta_string(const char *path, const char *key);
/* meta "kind" of the hamrf file at `path` ("dataset", "particles", "model",
 * ...), as cli_meta_string. */
const char *cli_data_kind(const char *path);

int cmd_systems(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_rollout(int argc, char **argv);
int cmd_reproduce(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_convert(int argc, char **argv);

#endif
