/* cli.h: one option table per command drives getopt_long, --help, --config files, the
 * defaults and the run's config.txt.
 *
 * A command describes its options once, as a static array of struct cli_opt: the long name
 * (also the config-file key), the type and the field of the command's config struct it
 * sets, the default (text, parsed like a user's value), the allowed range, and the help
 * line. From that table:
 *   cli_defaults()   fills the struct with the defaults;
 *   cli_parse()      applies --config FILE (first) and then argv with getopt_long, prints the
 *                    generated --help, and reports unknown options and bad values;
 *   cli_config_*()   apply "key = value" text (a --config file, or a run's stored
 *                    configuration) with the same names, types and ranges;
 *   cli_dump()       writes the settings back as such text (config.txt), quoting values that
 *                    would not read back unchanged, so a run can always be resumed.
 *
 * Config text: one "key = value" per line; '#' starts a comment outside quotes; blank lines
 * are ignored; a value may be written "in double quotes" with the escapes \" \\ \n \t \r
 * and \xHH (cli_dump quotes every value that holds '#', a quote, a backslash, a control
 * character, or leading/trailing blanks). A UTF-8 byte-order mark at the start is skipped.
 * Files are read only if they are regular files of at most 1 MiB, with lines of at most
 * 16,640 bytes (room for a 4 KB value written with escapes) and no NUL byte: a FIFO or device never
 * blocks or floods the reader. Unknown keys are errors; flags take true/false/1/0.
 */
#ifndef SER_CLI_H
#define SER_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "ser/err.h"

enum cli_type {
    CLI_FLAG,   /* int, set to 1 by --name; "true"/"false" in config text */
    CLI_LONG,   /* long in [min, max] */
    CLI_DOUBLE, /* double in [min, max], finite */
    CLI_STRING, /* char[size]; with `choices`, one of them */
    CLI_CUSTOM, /* parsed and shown by the option's own functions */
    CLI_LIST,   /* struct cli_list: the option may be given several times */
};

/* A repeatable option's values. Each layer of configuration (defaults, a --config file, a
 * stored configuration, the command line) replaces the list of the layer before when it
 * names the option; within a layer the values add up (--data A --data B). config.txt writes
 * one line per value. */
enum { CLI_LIST_MAX = 16 };
struct cli_list {
    int n;
    int replaced; /* set once the current layer has started its own list */
    char v[CLI_LIST_MAX][4096];
};

struct cli_opt;
typedef int (*cli_parse_fn)(void *cfg, const struct cli_opt *o, const char *arg, struct err *e);
/* Writes the option's value as config text (without quotes) into buf[n]. */
typedef void (*cli_show_fn)(const void *cfg, const struct cli_opt *o, char *buf, size_t n);

enum {
    CLI_RUN_LOCAL = 1, /* a choice of this invocation (out, resume, threads, quiet): not
                          written to config.txt, not taken from a stored configuration */
    CLI_NO_CONFIG = 2, /* command line only (--config itself) */
};

struct cli_opt {
    const char *name; /* long option and config key, without "--" */
    enum cli_type type;
    size_t offset, size; /* field of the config struct (size: of the field) */
    const char *def;     /* default as text; NULL: zero / empty */
    double min, max;     /* CLI_LONG, CLI_DOUBLE */
    const char *choices; /* CLI_STRING: "a|b|c:" (an entry ending in ':' is a prefix) */
    const char *metavar; /* argument name in --help; NULL for a flag */
    const char *help;    /* one line; the default is appended by --help */
    cli_parse_fn parse;  /* CLI_CUSTOM */
    cli_show_fn show;    /* CLI_CUSTOM */
    unsigned flags;
};

/* The field `f` of struct type T, for cli_opt's offset and size. */
#define CLI_FIELD(T, f) offsetof(T, f), sizeof(((T *)0)->f)

/* A named set of option values (config text), applied by --preset NAME before any --config
 * file and the command line, which both win over it. The values it sets are written to
 * config.txt like any others, so a run records what the preset meant when it ran. */
struct cli_preset {
    const char *name; /* "seed" */
    const char *help; /* one line for --help */
    const char *text; /* "key = value" lines, as a --config file */
};

struct cli_table {
    const char *command; /* "train": messages say "ser train: ..." */
    const char *usage;   /* "mpirun -np N ser train [options]" */
    const char *summary; /* paragraph shown by --help */
    const struct cli_opt *opts;
    size_t n;
    /* Checks between options after parsing (e.g. --micro-batch <= --batch-size); may be
     * NULL. Returns 0 or -1 with e filled. */
    int (*check)(const void *cfg, struct err *e);
    /* The command's presets (NULL: none); the table then has a CLI_NO_CONFIG option "preset". */
    const struct cli_preset *presets;
    size_t npresets;
};

enum { CLI_OK = 0, CLI_HELP = 1, CLI_ERROR = 2, CLI_WRITE_ERROR = 3 };

/* The exit status for a cli_parse result other than CLI_OK: 0 after --help, 2 when the help
 * could not be written, 1 for a usage error. */
int cli_exit_code(int parse_result);

/* Sets every option of t in cfg to its default. */
void cli_defaults(const struct cli_table *t, void *cfg);

/* Parses argv[1..] (argv[0] is the command name) over the defaults already in cfg: a
 * --preset NAME first, then a --config FILE (wherever they appear), then the options in order. On
 * CLI_OK, *first_pos is the index of the first positional argument (options and positionals may
 * mix; getopt permutes). CLI_HELP: help was printed to stdout (exit 0). CLI_ERROR: a message
 * was printed to stderr (exit 1). CLI_WRITE_ERROR: the help could not be written (exit 2).
 * t->check runs last. */
int cli_parse(const struct cli_table *t, int argc, char **argv, void *cfg, int *first_pos);

/* Applies config text / a config file (rules above); `what` names the source in messages.
 * skip_flags: options with any of these flags are ignored (e.g. CLI_RUN_LOCAL when the
 * text is a stored configuration). Returns 0 or -1 with e filled. */
int cli_config_text(const struct cli_table *t, const char *text, size_t len, const char *what,
                    unsigned skip_flags, void *cfg, struct err *e);
int cli_config_file(const struct cli_table *t, const char *path, void *cfg, struct err *e);

/* The options that define a run (all but CLI_RUN_LOCAL and CLI_NO_CONFIG) as config text in
 * table order; malloc'd, caller frees; NULL when out of memory. */
char *cli_dump(const struct cli_table *t, const void *cfg);
/* The value of option `name` as config text into buf (empty if there is no such option).
 * Returns its type, or -1. */
int cli_value(const struct cli_table *t, const void *cfg, const char *name, char *buf, size_t n);
/* The values of a CLI_LIST option o of cfg (cli_value joins them with newlines, which a value
 * may itself hold). */
const struct cli_list *cli_list_values(const void *cfg, const struct cli_opt *o);

void cli_help(const struct cli_table *t, FILE *f);

/* Reads a whole text file for cli_config_file and the like: only a regular file (never
 * blocks on a FIFO), at most max_bytes. *text is malloc'd and NUL-terminated, *len its
 * length. Returns 0 or -1 with e naming the file. */
int cli_read_text(const char *path, size_t max_bytes, char **text, size_t *len, struct err *e);

#endif
