/* csv.c: RFC 4180 output (see csv.h). */
#include "mpi/csv.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

/* An existing file starts with the header line ctx. */
static int same_header(const unsigned char *head, size_t n, const void *ctx)
{
    size_t l = strlen(ctx);
    return n > l && memcmp(head, ctx, l) == 0 && (head[l] == '\n' || head[l] == '\r');
}

int dist_csv_open(struct dist_csv *c, const char *path, const char *header, struct err *e)
{
    memset(c, 0, sizeof *c);
    struct dsp_kind kind = {same_header, header, "CSV file of this kind"};
    if (dsp_out_open(&c->out, path, &kind, e) != 0) return -1;
    c->f = c->out.f;
    c->atomic = 1;
    c->first = 1;
    return 0;
}

void dist_csv_stream(struct dist_csv *c, FILE *f)
{
    memset(c, 0, sizeof *c);
    c->f = f;
    c->first = 1;
}

void dist_csv_field(struct dist_csv *c, const char *s)
{
    if (!c->first) fputc(',', c->f);
    c->first = 0;
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, c->f);
        return;
    }
    fputc('"', c->f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', c->f);
        fputc(*s, c->f);
    }
    fputc('"', c->f);
}

void dist_csv_number(struct dist_csv *c, double v)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.9g", v);
    dist_csv_field(c, buf);
}

void dist_csv_end_row(struct dist_csv *c)
{
    fputc('\n', c->f);
    c->first = 1;
}

void dist_csv_row(struct dist_csv *c, int n, ...)
{
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) dist_csv_field(c, va_arg(ap, const char *));
    va_end(ap);
    dist_csv_end_row(c);
}

int dist_csv_close(struct dist_csv *c, const char *what, struct err *e)
{
    if (c->atomic) return dsp_out_commit(&c->out, e);
    if (fflush(c->f) != 0 || ferror(c->f))
        return err_io(e, "%s: write failed: %s", what, strerror(errno ? errno : EIO));
    return 0;
}

void dist_csv_abort(struct dist_csv *c)
{
    if (c->atomic) dsp_out_abort(&c->out);
}
