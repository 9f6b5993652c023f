/* err.h: the project-wide error report.
 *
 * Fallible functions return 0 on success and -1 on failure, and fill a caller-owned
 * struct err with one human-readable line naming the file, the field, and what was
 * expected versus found. Only main() decides to exit. Header-only so that dsp/, nn/ and
 * mpi/ share it without depending on each other (CMake exposes it via target ser_err).
 */
#ifndef SER_ERR_H
#define SER_ERR_H

#include <stdarg.h>
#include <stdio.h>

struct err {
    char msg[1024];
};

/* Formats the message into e (if e is not NULL) and returns -1, so callers can write
 * `return err_set(e, "%s: ...", path);`. */
__attribute__((format(printf, 2, 3))) static inline int err_set(struct err *e, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return -1;
}

#endif
