/* cli.h: one option table per command drives getopt_long, --help and --config files.
 *
 * Each command declares a table of struct cli_opt (long name, argument or not, help text)
 * and a callback that applies one option. cli_parse() runs getopt_long over argv, prints the
 * help generated from the table for --help, and reports unknown options. cli_config() reads
 * a "key = value" file (# comments) whose keys are the same long option names, so a config
 * file and the command line can never drift apart; unknown keys are errors.
 */
#ifndef SER_CLI_H
#define SER_CLI_H

#include <stdio.h>

#include "ser/err.h"

struct cli_opt {
    const char *name;    /* long option name, without "--" */
    const char *metavar; /* argument name shown in help, NULL for a flag */
    const char *help;    /* one line; "(default: ...)" belongs here */
};

/* Applies option `index` of the table with argument `arg` (NULL for flags). Returns 0, or -1
 * with e filled (e.g. "--epochs: expected a positive integer, got 'x'"). */
typedef int (*cli_apply_fn)(void *ctx, int index, const char *arg, struct err *e);

enum { CLI_OK = 0, CLI_HELP = 1, CLI_ERROR = 2 };

/* Parses argv[1..] (argv[0] is the command name). On CLI_OK, *first_pos is the index of the
 * first positional argument. CLI_HELP: help was printed to stdout (exit 0). CLI_ERROR: a
 * message was printed to stderr (exit 1). */
int cli_parse(int argc, char **argv, const char *usage, const char *summary,
              const struct cli_opt *opts, int nopts, cli_apply_fn apply, void *ctx, int *first_pos);

/* Prints "usage: ..." and the option table. */
void cli_help(FILE *f, const char *usage, const char *summary, const struct cli_opt *opts,
              int nopts);

/* Applies a config file whose keys are option names. Returns 0 or -1 with e filled. */
int cli_config(const char *path, const struct cli_opt *opts, int nopts, cli_apply_fn apply,
               void *ctx, struct err *e);

/* The same from a string (e.g. the configuration stored in a checkpoint); `what` names it. */
int cli_config_text(const char *text, const char *what, const struct cli_opt *opts, int nopts,
                    cli_apply_fn apply, void *ctx, struct err *e);

/* Strict number parsing for option values: the whole string must be a number in range. */
int cli_long(const char *opt, const char *arg, long lo, long hi, long *out, struct err *e);
int cli_double(const char *opt, const char *arg, double lo, double hi, double *out, struct err *e);

#endif
