/* cli.c: options from one table: getopt_long, --help, config text, defaults, config.txt
 * (see cli.h). */
#include "mpi/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mpi/json.h"

/* A line must hold what cli_dump writes: a 4095-byte value may grow 4x (\xHH escapes). */
enum { LINE_MAX_BYTES = 4 * 4096 + 256, CONFIG_MAX_BYTES = 1 << 20 };

static void *field(void *cfg, const struct cli_opt *o)
{
    return (char *)cfg + o->offset;
}

static const void *cfield(const void *cfg, const struct cli_opt *o)
{
    return (const char *)cfg + o->offset;
}

/* arg is one of o->choices ("a|b|c:"; an entry ending in ':' matches as a prefix). */
static int in_choices(const char *choices, const char *arg)
{
    const char *p = choices;
    while (*p) {
        const char *bar = strchr(p, '|');
        size_t l = bar ? (size_t)(bar - p) : strlen(p);
        if (l > 0 && p[l - 1] == ':' ? strncmp(arg, p, l) == 0 && arg[l]
                                     : strlen(arg) == l && strncmp(arg, p, l) == 0)
            return 1;
        p += l + (bar != NULL);
    }
    return 0;
}

static int parse_long(const struct cli_opt *o, const char *arg, long *out, struct err *e)
{
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || (double)v < o->min || (double)v > o->max)
        return err_set(e, "--%s: expected an integer in [%.0f, %.0f], got '%s'", o->name, o->min,
                       o->max, arg);
    *out = v;
    return 0;
}

static int parse_double(const struct cli_opt *o, const char *arg, double *out, struct err *e)
{
    char *end;
    errno = 0;
    double v = strtod(arg, &end);
    if (errno || end == arg || *end || !isfinite(v) || v < o->min || v > o->max)
        return err_set(e, "--%s: expected a number in [%g, %g], got '%s'", o->name, o->min, o->max,
                       arg);
    *out = v;
    return 0;
}

/* Sets option o from text (NULL for a flag on the command line). */
static int set_value(const struct cli_opt *o, void *cfg, const char *arg, struct err *e)
{
    switch (o->type) {
    case CLI_FLAG:
        if (!arg || strcmp(arg, "true") == 0 || strcmp(arg, "1") == 0)
            *(int *)field(cfg, o) = 1;
        else if (strcmp(arg, "false") == 0 || strcmp(arg, "0") == 0)
            *(int *)field(cfg, o) = 0;
        else
            return err_set(e, "--%s: a flag takes true or false, got '%s'", o->name, arg);
        return 0;
    case CLI_LONG:
        return parse_long(o, arg, (long *)field(cfg, o), e);
    case CLI_DOUBLE:
        return parse_double(o, arg, (double *)field(cfg, o), e);
    case CLI_STRING:
        if (strlen(arg) >= o->size)
            return err_set(e, "--%s: value too long (at most %zu bytes)", o->name, o->size - 1);
        if (o->choices && !in_choices(o->choices, arg))
            return err_set(e, "--%s: expected %s, got '%s'", o->name, o->choices, arg);
        memcpy(field(cfg, o), arg, strlen(arg) + 1);
        return 0;
    case CLI_CUSTOM:
        return o->parse(cfg, o, arg, e);
    case CLI_LIST: {
        struct cli_list *l = field(cfg, o);
        if (!l->replaced) l->n = 0, l->replaced = 1;
        if (l->n == CLI_LIST_MAX)
            return err_set(e, "--%s: given more than %d times", o->name, CLI_LIST_MAX);
        if (!*arg || strlen(arg) >= sizeof l->v[0])
            return err_set(e, "--%s: value empty or too long (at most %zu bytes)", o->name,
                           sizeof l->v[0] - 1);
        memcpy(l->v[l->n++], arg, strlen(arg) + 1);
        return 0;
    }
    }
    return err_set(e, "--%s: internal error: unknown option type", o->name);
}

static void show_value(const struct cli_opt *o, const void *cfg, char *buf, size_t n)
{
    switch (o->type) {
    case CLI_FLAG:
        snprintf(buf, n, "%s", *(const int *)cfield(cfg, o) ? "true" : "false");
        break;
    case CLI_LONG:
        snprintf(buf, n, "%ld", *(const long *)cfield(cfg, o));
        break;
    case CLI_DOUBLE:
        dist_shortest(*(const double *)cfield(cfg, o), buf, n);
        break;
    case CLI_STRING:
        snprintf(buf, n, "%s", (const char *)cfield(cfg, o));
        break;
    case CLI_CUSTOM:
        o->show(cfg, o, buf, n);
        break;
    case CLI_LIST: { /* the values, one per line */
        const struct cli_list *l = cfield(cfg, o);
        size_t used = 0;
        buf[0] = 0;
        for (int i = 0; i < l->n && used < n; i++)
            used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? "\n" : "", l->v[i]);
        break;
    }
    }
}

/* The next layer of configuration replaces, not extends, the lists of this one. */
static void end_layer(const struct cli_table *t, void *cfg)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->opts[i].type == CLI_LIST) ((struct cli_list *)field(cfg, &t->opts[i]))->replaced = 0;
}

const struct cli_list *cli_list_values(const void *cfg, const struct cli_opt *o)
{
    return cfield(cfg, o);
}

int cli_exit_code(int parse_result)
{
    return parse_result == CLI_HELP          ? SER_EXIT_OK
           : parse_result == CLI_WRITE_ERROR ? SER_EXIT_IO
                                             : SER_EXIT_INPUT;
}

void cli_defaults(const struct cli_table *t, void *cfg)
{
    for (size_t i = 0; i < t->n; i++) {
        const struct cli_opt *o = &t->opts[i];
        memset(field(cfg, o), 0, o->size);
        struct err e = {0};
        if (o->def && set_value(o, cfg, o->def, &e) != 0) {
            /* A table whose default does not parse is a programming error. */
            fprintf(stderr, "ser %s: bad default of --%s: %s\n", t->command, o->name, e.msg);
            abort();
        }
    }
    end_layer(t, cfg);
}

static const struct cli_opt *find(const struct cli_table *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->opts[i].name, name) == 0) return &t->opts[i];
    return NULL;
}

void cli_help(const struct cli_table *t, FILE *f)
{
    fprintf(f, "usage: %s\n", t->usage);
    if (t->summary && *t->summary) fprintf(f, "\n%s\n", t->summary);
    fprintf(f, "\noptions:\n");
    for (size_t i = 0; i < t->n; i++) {
        const struct cli_opt *o = &t->opts[i];
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", o->name, o->metavar ? " " : "",
                 o->metavar ? o->metavar : "");
        fprintf(f, "  %-26s %s", left, o->help);
        if (o->def && *o->def && o->type != CLI_FLAG) fprintf(f, " (default: %s)", o->def);
        fputc('\n', f);
    }
    fprintf(f, "  %-26s %s\n", "--help", "show this help and exit");
    if (t->npresets) fprintf(f, "\npresets (--preset NAME; options given explicitly win):\n");
    for (size_t i = 0; i < t->npresets; i++) {
        fprintf(f, "  %-26s %s\n", t->presets[i].name, t->presets[i].help);
        for (const char *l = t->presets[i].text; *l;) {
            const char *nl = strchr(l, '\n');
            int len = nl ? (int)(nl - l) : (int)strlen(l);
            if (len) fprintf(f, "  %-26s   %.*s\n", "", len, l);
            l += len + (nl ? 1 : 0);
        }
    }
}

/* The value of the last --NAME VALUE or --NAME=VALUE in argv before "--", or NULL. */
static const char *arg_value(int argc, char **argv, const char *name)
{
    const char *v = NULL;
    size_t n = strlen(name);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) break;
        if (strncmp(argv[i], "--", 2) != 0 || strncmp(argv[i] + 2, name, n) != 0) continue;
        if (argv[i][2 + n] == 0 && i + 1 < argc)
            v = argv[++i];
        else if (argv[i][2 + n] == '=')
            v = argv[i] + 3 + n;
    }
    return v;
}

/* Applies --preset NAME (the last one given) to cfg. */
static int apply_preset(const struct cli_table *t, int argc, char **argv, void *cfg)
{
    const char *name = t->npresets ? arg_value(argc, argv, "preset") : NULL;
    if (!name) return CLI_OK;
    for (size_t i = 0; i < t->npresets; i++) {
        const struct cli_preset *p = &t->presets[i];
        if (strcmp(p->name, name) != 0) continue;
        struct err e = {0};
        char what[64];
        snprintf(what, sizeof what, "preset %s", p->name);
        if (cli_config_text(t, p->text, strlen(p->text), what, 0, cfg, &e) == 0) return CLI_OK;
        fprintf(stderr, "ser %s: %s\n", t->command, e.msg); /* a bug in the table */
        return CLI_ERROR;
    }
    fprintf(stderr, "ser %s: unknown --preset '%s' (expected", t->command, name);
    for (size_t i = 0; i < t->npresets; i++)
        fprintf(stderr, "%s%s",
                i == 0                 ? " "
                : i + 1 == t->npresets ? " or "
                                       : ", ",
                t->presets[i].name);
    fprintf(stderr, ")\n");
    return CLI_ERROR;
}

/* Applies --preset, then every --config FILE of argv, before the options themselves. */
static int apply_config_args(const struct cli_table *t, int argc, char **argv, void *cfg)
{
    int rc = apply_preset(t, argc, argv, cfg);
    if (rc != CLI_OK) return rc;
    end_layer(t, cfg);
    if (!find(t, "config")) return CLI_OK;
    for (int i = 1; i < argc; i++) {
        const char *f = NULL;
        if (strcmp(argv[i], "--") == 0) break;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            f = argv[++i];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            f = argv[i] + 9;
        struct err e = {0};
        if (f && cli_config_file(t, f, cfg, &e) != 0) {
            fprintf(stderr, "ser %s: %s\n", t->command, e.msg);
            return CLI_ERROR;
        }
    }
    return CLI_OK;
}

static int getopt_loop(const struct cli_table *t, int argc, char **argv, void *cfg,
                       struct option *lo)
{
    optind = 0; /* glibc: full re-initialisation; options and operands may mix */
    opterr = 0;
    for (;;) {
        int c = getopt_long(argc, argv, "h", lo, NULL);
        if (c == -1) return CLI_OK;
        if (c == 'h') {
            cli_help(t, stdout);
            if (fflush(stdout) == 0 && !ferror(stdout)) return CLI_HELP;
            fprintf(stderr, "ser %s: cannot write the help to standard output\n", t->command);
            return CLI_WRITE_ERROR;
        }
        if (c == '?' || c == ':') {
            if (optopt >= 1000)
                fprintf(stderr, "ser %s: option --%s needs an argument\n", t->command,
                        t->opts[optopt - 1000].name);
            else
                fprintf(stderr, "ser %s: unknown option '%s'\n", t->command,
                        optind > 0 && argv[optind - 1] ? argv[optind - 1] : "?");
            fprintf(stderr, "usage: %s\n(see 'ser %s --help')\n", t->usage, t->command);
            return CLI_ERROR;
        }
        const struct cli_opt *o = &t->opts[c - 1000];
        struct err e = {0};
        if (!(o->flags & CLI_NO_CONFIG) && set_value(o, cfg, optarg, &e) != 0) {
            fprintf(stderr, "ser %s: %s\n", t->command, e.msg);
            return CLI_ERROR;
        }
    }
}

int cli_parse(const struct cli_table *t, int argc, char **argv, void *cfg, int *first_pos)
{
    *first_pos = argc;
    int rc = apply_config_args(t, argc, argv, cfg);
    if (rc != CLI_OK) return rc;
    end_layer(t, cfg);
    struct option *lo = calloc(t->n + 2, sizeof *lo);
    if (!lo) {
        fprintf(stderr, "ser %s: out of memory\n", t->command);
        return CLI_ERROR;
    }
    for (size_t i = 0; i < t->n; i++) {
        lo[i].name = t->opts[i].name;
        lo[i].has_arg = t->opts[i].type == CLI_FLAG ? no_argument : required_argument;
        lo[i].val = 1000 + (int)i;
    }
    lo[t->n].name = "help";
    lo[t->n].val = 'h';
    rc = getopt_loop(t, argc, argv, cfg, lo);
    free(lo);
    *first_pos = optind;
    struct err e = {0};
    if (rc == CLI_OK && t->check && t->check(cfg, &e) != 0) {
        fprintf(stderr, "ser %s: %s\n", t->command, e.msg);
        return CLI_ERROR;
    }
    return rc;
}

/* ---- config text ---- */

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes the quoted value starting at s (s[0] == '"') into out; what may follow the
 * closing quote is blanks and a comment. Returns 0 or -1 with *why set. */
static int unquote(const char *s, char *out, const char **why)
{
    size_t o = 0;
    for (s++; *s && *s != '"'; s++) {
        char c = *s;
        if (c == '\\') {
            c = *++s;
            if (c == 'n')
                c = '\n';
            else if (c == 't')
                c = '\t';
            else if (c == 'r')
                c = '\r';
            else if (c == 'x' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
                c = (char)(hexval(s[1]) * 16 + hexval(s[2]));
                s += 2;
                if (!c) return *why = "\\x00 is not allowed", -1;
            } else if (c != '"' && c != '\\') {
                return *why = "unknown escape (use \\\" \\\\ \\n \\t \\r \\xHH)", -1;
            }
        }
        out[o++] = c;
    }
    if (*s != '"') return *why = "missing closing quote", -1;
    out[o] = 0;
    for (s++; is_blank(*s); s++) {
    }
    if (*s && *s != '#') return *why = "text after the closing quote", -1;
    return 0;
}

/* One line (NUL-terminated, without its newline). */
static int config_line(const struct cli_table *t, char *line, const char *what, int lineno,
                       unsigned skip, void *cfg, struct err *e)
{
    char *s = line;
    while (is_blank(*s)) s++;
    if (!*s || *s == '#') return 0;
    char *eq = strchr(s, '=');
    char *key = s, *val = eq ? eq + 1 : NULL, *end;
    if (eq) *eq = 0;
    for (end = key + strlen(key); end > key && is_blank(end[-1]);) *--end = 0;
    const struct cli_opt *o = find(t, key);
    if (!o || (o->flags & CLI_NO_CONFIG))
        return err_set(e, "%s:%d: unknown key '%s'", what, lineno, key);
    if (!val) return err_set(e, "%s:%d: expected 'key = value'", what, lineno);
    while (is_blank(*val)) val++;
    if (*val == '"') {
        const char *why = NULL;
        if (unquote(val, val, &why) != 0) return err_set(e, "%s:%d: %s", what, lineno, why);
    } else {
        char *hash = strchr(val, '#');
        if (hash) *hash = 0;
        for (end = val + strlen(val); end > val && is_blank(end[-1]);) *--end = 0;
        if (!*val) return err_set(e, "%s:%d: key '%s' needs a value", what, lineno, key);
    }
    if (o->flags & skip) return 0;
    struct err sub = {0};
    if (set_value(o, cfg, val, &sub) != 0) return err_set(e, "%s:%d: %s", what, lineno, sub.msg);
    return 0;
}

int cli_config_text(const struct cli_table *t, const char *text, size_t len, const char *what,
                    unsigned skip_flags, void *cfg, struct err *e)
{
    char line[LINE_MAX_BYTES + 1];
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) text += 3, len -= 3;
    if (memchr(text, 0, len)) return err_set(e, "%s: holds a NUL byte: not a text file", what);
    int lineno = 0;
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t l = nl ? (size_t)(nl - (text + pos)) : len - pos;
        lineno++;
        if (l > LINE_MAX_BYTES)
            return err_set(e, "%s:%d: line longer than %d bytes", what, lineno, LINE_MAX_BYTES);
        memcpy(line, text + pos, l);
        line[l] = 0;
        pos += l + (nl != NULL);
        if (config_line(t, line, what, lineno, skip_flags, cfg, e) != 0) return -1;
    }
    end_layer(t, cfg);
    return 0;
}

int cli_read_text(const char *path, size_t max_bytes, char **text, size_t *len, struct err *e)
{
    *text = NULL;
    *len = 0;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return err_io(e, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(e, "%s: not a regular file", path);
    }
    if ((size_t)st.st_size > max_bytes) {
        close(fd);
        return err_set(e, "%s: too large (%lld bytes, at most %zu)", path, (long long)st.st_size,
                       max_bytes);
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (!buf) return err_set(e, "%s: out of memory", path);
    if (got != (size_t)st.st_size) {
        free(buf);
        return err_io(e, "%s: read failed", path);
    }
    buf[got] = 0;
    *text = buf;
    *len = got;
    return 0;
}

int cli_config_file(const struct cli_table *t, const char *path, void *cfg, struct err *e)
{
    char *text;
    size_t len;
    if (cli_read_text(path, CONFIG_MAX_BYTES, &text, &len, e) != 0) return -1;
    int rc = cli_config_text(t, text, len, path, 0, cfg, e);
    free(text);
    return rc;
}

/* ---- config.txt ---- */

static int needs_quotes(const char *v)
{
    if (!*v || is_blank(*v) || v[strlen(v) - 1] == ' ' || v[strlen(v) - 1] == '\t') return 1;
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p == '#' || *p == '"' || *p == '\\' || *p < 0x20 || *p == 0x7f) return 1;
    return 0;
}

/* Appends "key = value\n" to *buf (growing it); returns -1 out of memory. */
static int append_line(char **buf, size_t *len, size_t *cap, const char *key, const char *v)
{
    size_t need = *len + strlen(key) + 4 * strlen(v) + 8;
    if (need > *cap) {
        size_t c = 2 * need;
        char *b = realloc(*buf, c);
        if (!b) return -1;
        *buf = b;
        *cap = c;
    }
    char *o = *buf + *len;
    o += sprintf(o, "%s = ", key);
    if (!needs_quotes(v)) {
        o += sprintf(o, "%s", v);
    } else {
        *o++ = '"';
        for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
            if (*p == '"' || *p == '\\')
                *o++ = '\\', *o++ = (char)*p;
            else if (*p == '\n')
                *o++ = '\\', *o++ = 'n';
            else if (*p == '\t')
                *o++ = '\\', *o++ = 't';
            else if (*p == '\r')
                *o++ = '\\', *o++ = 'r';
            else if (*p < 0x20 || *p == 0x7f)
                o += sprintf(o, "\\x%02x", *p);
            else
                *o++ = (char)*p;
        }
        *o++ = '"';
    }
    *o++ = '\n';
    *o = 0;
    *len = (size_t)(o - *buf);
    return 0;
}

char *cli_dump(const struct cli_table *t, const void *cfg)
{
    size_t len = 0, cap = 256;
    char *buf = malloc(cap), val[8192];
    if (!buf) return NULL;
    buf[0] = 0;
    for (size_t i = 0; i < t->n; i++) {
        const struct cli_opt *o = &t->opts[i];
        if (o->flags & (CLI_RUN_LOCAL | CLI_NO_CONFIG)) continue;
        if (o->type == CLI_LIST) { /* one line per value */
            const struct cli_list *l = cfield(cfg, o);
            for (int k = 0; k < l->n; k++)
                if (append_line(&buf, &len, &cap, o->name, l->v[k]) != 0) {
                    free(buf);
                    return NULL;
                }
            continue;
        }
        show_value(o, cfg, val, sizeof val);
        if (append_line(&buf, &len, &cap, o->name, val) != 0) {
            free(buf);
            return NULL;
        }
    }
    return buf;
}

int cli_value(const struct cli_table *t, const void *cfg, const char *name, char *buf, size_t n)
{
    const struct cli_opt *o = find(t, name);
    if (n) buf[0] = 0;
    if (!o) return -1;
    show_value(o, cfg, buf, n);
    return (int)o->type;
}
