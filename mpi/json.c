/* json.c: typed JSON output (see json.h). */
#include "mpi/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void dist_shortest(double v, char *buf, size_t n)
{
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, n, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v) return;
    }
}

void dist_json_init(struct dist_json *j, FILE *f)
{
    memset(j, 0, sizeof *j);
    j->f = f;
}

/* Separator and indentation before a value or key at the current level. */
static void begin_value(struct dist_json *j)
{
    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    if (j->depth > 0) {
        if (j->count[j->depth]++) fputc(',', j->f);
        fprintf(j->f, "\n%*s", 2 * j->depth, "");
    }
}

void dist_json_open(struct dist_json *j, char bracket)
{
    begin_value(j);
    fputc(bracket, j->f);
    if (j->depth < 31) j->count[++j->depth] = 0;
}

void dist_json_close(struct dist_json *j, char bracket)
{
    int had = j->count[j->depth];
    if (j->depth > 0) j->depth--;
    if (had) fprintf(j->f, "\n%*s", 2 * j->depth, "");
    fputc(bracket, j->f);
    if (j->depth == 0) fputc('\n', j->f);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if s[0] does not start one. */
static int utf8_len(const unsigned char *s)
{
    int n = s[0] < 0x80             ? 1
            : (s[0] & 0xE0) == 0xC0 ? 2
            : (s[0] & 0xF0) == 0xE0 ? 3
            : (s[0] & 0xF8) == 0xF0 ? 4
                                    : 0;
    if (n <= 1) return n;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80) return 0;
    unsigned cp = s[0] & (0x7F >> n);
    for (int i = 1; i < n; i++) cp = cp << 6 | (s[i] & 0x3F);
    static const unsigned min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

static void write_string(FILE *f, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    fputc('"', f);
    while (*s) {
        int n = utf8_len(s);
        if (n == 0) {
            fprintf(f, "\\u%04x", *s++); /* not UTF-8: the byte as a Latin-1 code point */
        } else if (*s == '"' || *s == '\\') {
            fprintf(f, "\\%c", *s++);
        } else if (*s < 0x20 || *s == 0x7f) {
            fprintf(f, "\\u%04x", *s++);
        } else {
            fwrite(s, 1, (size_t)n, f);
            s += n;
        }
    }
    fputc('"', f);
}

void dist_json_key(struct dist_json *j, const char *key)
{
    begin_value(j);
    write_string(j->f, key);
    fputs(": ", j->f);
    j->after_key = 1;
}

void dist_json_str(struct dist_json *j, const char *s)
{
    begin_value(j);
    write_string(j->f, s);
}

void dist_json_num(struct dist_json *j, double v)
{
    begin_value(j);
    if (!isfinite(v)) {
        fputs("null", j->f);
        return;
    }
    char buf[40];
    dist_shortest(v, buf, sizeof buf);
    fputs(buf, j->f);
}

void dist_json_int(struct dist_json *j, long long v)
{
    begin_value(j);
    fprintf(j->f, "%lld", v);
}

void dist_json_bool(struct dist_json *j, int v)
{
    begin_value(j);
    fputs(v ? "true" : "false", j->f);
}
