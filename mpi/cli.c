/* cli.c: getopt_long, help text and config files from one option table (see cli.h). */
#include "mpi/cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void cli_help(FILE *f, const char *usage, const char *summary, const struct cli_opt *opts,
              int nopts)
{
    fprintf(f, "usage: %s\n", usage);
    if (summary && *summary) fprintf(f, "\n%s\n", summary);
    fprintf(f, "\noptions:\n");
    for (int i = 0; i < nopts; i++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", opts[i].name, opts[i].metavar ? " " : "",
                 opts[i].metavar ? opts[i].metavar : "");
        fprintf(f, "  %-26s %s\n", left, opts[i].help);
    }
    fprintf(f, "  %-26s %s\n", "--help", "show this help and exit");
}

int cli_parse(int argc, char **argv, const char *usage, const char *summary,
              const struct cli_opt *opts, int nopts, cli_apply_fn apply, void *ctx, int *first_pos)
{
    struct option *lo = calloc((size_t)nopts + 2, sizeof *lo);
    if (!lo) {
        fprintf(stderr, "ser: out of memory\n");
        return CLI_ERROR;
    }
    for (int i = 0; i < nopts; i++) {
        lo[i].name = opts[i].name;
        lo[i].has_arg = opts[i].metavar ? required_argument : no_argument;
        lo[i].val = 1000 + i;
    }
    lo[nopts].name = "help";
    lo[nopts].val = 'h';
    int rc = CLI_OK;
    optind = 0; /* glibc: full re-initialisation; options and operands may mix */
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, "h", lo, NULL);
        if (c == -1) break;
        if (c == 'h') {
            cli_help(stdout, usage, summary, opts, nopts);
            rc = CLI_HELP;
            break;
        }
        if (c == '?' || c == ':') {
            const char *bad = argv[optind - 1];
            if (optopt && optopt >= 1000)
                fprintf(stderr, "%s: option --%s needs an argument\n", argv[0],
                        opts[optopt - 1000].name);
            else
                fprintf(stderr, "%s: unknown option '%s'\n", argv[0], bad ? bad : "?");
            fprintf(stderr, "usage: %s\n(see '%s --help')\n", usage, argv[0]);
            rc = CLI_ERROR;
            break;
        }
        struct err e = {{0}};
        if (apply(ctx, c - 1000, optarg, &e) != 0) {
            fprintf(stderr, "%s: %s\n", argv[0], e.msg);
            rc = CLI_ERROR;
            break;
        }
    }
    *first_pos = optind;
    free(lo);
    return rc;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    char *end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
        *--end = 0;
    return s;
}

/* Applies "key = value" lines from `text`; `what` names the source in messages. */
int cli_config_text(const char *text, const char *what, const struct cli_opt *opts, int nopts,
                    cli_apply_fn apply, void *ctx, struct err *e)
{
    char line[4096];
    int lineno = 0;
    const char *p = text;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        lineno++;
        if (len >= sizeof line) return err_set(e, "%s:%d: line too long", what, lineno);
        memcpy(line, p, len);
        line[len] = 0;
        p += len + (nl != NULL);
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char *s = trim(line);
        if (!*s) continue;
        char *eq = strchr(s, '=');
        char *key = s, *val = NULL;
        if (eq) {
            *eq = 0;
            val = trim(eq + 1);
        }
        key = trim(key);
        int idx = -1;
        for (int i = 0; i < nopts; i++)
            if (strcmp(opts[i].name, key) == 0) idx = i;
        if (idx < 0 || strcmp(key, "config") == 0)
            return err_set(e, "%s:%d: unknown key '%s'", what, lineno, key);
        if (opts[idx].metavar && (!val || !*val))
            return err_set(e, "%s:%d: key '%s' needs a value", what, lineno, key);
        if (!opts[idx].metavar && val && *val && strcmp(val, "true") != 0 &&
            strcmp(val, "1") != 0) {
            if (strcmp(val, "false") == 0 || strcmp(val, "0") == 0) continue;
            return err_set(e, "%s:%d: flag '%s' takes true or false", what, lineno, key);
        }
        struct err sub = {{0}};
        if (apply(ctx, idx, opts[idx].metavar ? val : NULL, &sub) != 0)
            return err_set(e, "%s:%d: %s", what, lineno, sub.msg);
    }
    return 0;
}

int cli_config(const char *path, const struct cli_opt *opts, int nopts, cli_apply_fn apply,
               void *ctx, struct err *e)
{
    FILE *f = fopen(path, "r");
    if (!f) return err_set(e, "%s: cannot open config: %s", path, strerror(errno));
    char *text = NULL;
    size_t len = 0, cap = 0;
    char buf[4096];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0) {
        if (len + got + 1 > cap) {
            cap = 2 * (len + got + 1);
            char *t = realloc(text, cap);
            if (!t) {
                free(text);
                fclose(f);
                return err_set(e, "%s: out of memory", path);
            }
            text = t;
        }
        memcpy(text + len, buf, got);
        len += got;
    }
    fclose(f);
    if (!text) return 0;
    text[len] = 0;
    int rc = cli_config_text(text, path, opts, nopts, apply, ctx, e);
    free(text);
    return rc;
}

int cli_long(const char *opt, const char *arg, long lo, long hi, long *out, struct err *e)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v < lo || v > hi)
        return err_set(e, "--%s: expected an integer in [%ld, %ld], got '%s'", opt, lo, hi, arg);
    *out = v;
    return 0;
}

int cli_double(const char *opt, const char *arg, double lo, double hi, double *out, struct err *e)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || end == arg || *end || !isfinite(v) || v < lo || v > hi)
        return err_set(e, "--%s: expected a number in [%g, %g], got '%s'", opt, lo, hi, arg);
    *out = v;
    return 0;
}
