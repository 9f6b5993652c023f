/* file.h: ser's one way to write a file, and to open an input file safely.
 *
 * Output is atomic: the data goes to a temporary file beside the target ("<path>.tmp.<pid>"),
 * which is flushed, fsynced, closed and renamed over the target; the directory is fsynced so
 * the rename itself is durable. On any failure the temporary is removed and the target is
 * untouched, so a reader never sees a half-written file and a crash never loses the previous
 * version.
 *
 * Outputs replace only what they own. Before writing, the target is inspected (lstat):
 *  - absent: created;
 *  - a symbolic link: followed to its final target, which is then replaced atomically (the
 *    link stays a link); a dangling link is refused;
 *  - not a regular file (device, FIFO, socket, directory): refused, never replaced (as root,
 *    writing to /dev/null must not turn it into a regular file);
 *  - a regular file: replaced only if it is empty or of the kind being written (the caller's
 *    kind check looks at its first bytes: a feature file never replaces a checkpoint, a
 *    user's notes or anything else).
 */
#ifndef SER_DSP_FILE_H
#define SER_DSP_FILE_H

#include <stddef.h>
#include <stdio.h>

#include "ser/err.h"

/* Whether an existing file whose first bytes are head[0..n) (n <= 64) is of the kind being
 * written, so that it may be replaced; ctx is the caller's. */
struct dsp_kind {
    int (*is)(const unsigned char *head, size_t n, const void *ctx);
    const void *ctx;
    const char *name; /* for messages: "ser feature file" */
};

struct dsp_out {
    FILE *f;    /* write here between open and commit */
    char *path; /* the file to replace (a symlink's final target) */
    char *tmp;  /* the temporary beside it */
};

/* Checks the target (rules above; kind NULL: any regular file may be replaced) and opens
 * the temporary. Returns 0, or -1 with e naming the file (class SER_EXIT_INPUT for a refused
 * target, SER_EXIT_IO when the system refuses). */
int dsp_out_open(struct dsp_out *o, const char *path, const struct dsp_kind *kind, struct err *e);
/* Flushes, fsyncs, closes and renames into place. Returns 0 or -1 with e (the temporary is
 * removed, the target untouched). */
int dsp_out_commit(struct dsp_out *o, struct err *e);
/* Gives up: closes and removes the temporary. Accepts a zeroed or committed dsp_out. */
void dsp_out_abort(struct dsp_out *o);

/* The whole cycle for one buffer. */
int dsp_write_atomic(const char *path, const void *data, size_t len, const struct dsp_kind *kind,
                     struct err *e);

#endif
