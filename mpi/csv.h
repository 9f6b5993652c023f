/* csv.h: ser's one CSV writer (RFC 4180): fields holding a comma, a double quote, CR or LF
 * are written in double quotes with inner quotes doubled; rows end in LF. Used for
 * predictions, manifests, split.csv and skip lists. A file target is written atomically
 * (dsp/file.h); a stream target (standard output) is checked for write errors at close. */
#ifndef SER_DIST_CSV_H
#define SER_DIST_CSV_H

#include <stdio.h>

#include "dsp/file.h"
#include "ser/err.h"

struct dist_csv {
    FILE *f;
    struct dsp_out out; /* file targets */
    int atomic;
    int first; /* the next field starts a row */
};

/* A new file at path (replaced atomically when closed) whose first row will be `header`
 * ("path,reason"): an existing file is replaced only if it is empty or starts with that
 * same header (a CSV of this kind), never a user's other file. Returns 0 or -1 with e. */
int dist_csv_open(struct dist_csv *c, const char *path, const char *header, struct err *e);
/* An open stream, e.g. stdout (not closed by dist_csv_close, only flushed and checked). */
void dist_csv_stream(struct dist_csv *c, FILE *f);
void dist_csv_field(struct dist_csv *c, const char *s);
void dist_csv_number(struct dist_csv *c, double v); /* "%.9g" */
void dist_csv_end_row(struct dist_csv *c);
/* A row of n string fields. */
void dist_csv_row(struct dist_csv *c, int n, ...);
/* Finishes: commits a file, or flushes a stream; any earlier write error is reported here.
 * Returns 0 or -1 with e (class SER_EXIT_IO). */
int dist_csv_close(struct dist_csv *c, const char *what, struct err *e);
/* Gives up on a file target (nothing is written). */
void dist_csv_abort(struct dist_csv *c);

#endif
