/* err.h: the project-wide error report and exit codes.
 *
 * Fallible functions return 0 on success and -1 on failure, and fill a caller-owned
 * struct err with one human-readable line naming the file, the field, and what was
 * expected versus found, and with the class of the failure (its exit code). Only a
 * command's entry point decides to exit, with e.code. Header-only and outside dsp/, nn/
 * and mpi/, so that all three share it without depending on each other.
 */
#ifndef SER_ERR_H
#define SER_ERR_H

#include <stdarg.h>
#include <stdio.h>

/* Exit status of every ser command. */
enum ser_exit {
    SER_EXIT_OK = 0,
    SER_EXIT_INPUT = 1,   /* bad usage, bad or unusable input (files, options, data) */
    SER_EXIT_IO = 2,      /* reading or writing failed: cannot open, disk full, ... */
    SER_EXIT_NUMERIC = 3, /* NaN or infinity in the loss or the gradients */
    SER_EXIT_SIGNAL = 75, /* stopped by a signal after writing a checkpoint (EX_TEMPFAIL) */
};

struct err {
    char msg[1024];
    int code; /* an enum ser_exit value; 0 until an err_* function fills the report */
};

static inline int err_vset(struct err *e, int code, const char *fmt, va_list ap)
{
    if (e) {
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        e->code = code;
    }
    return -1;
}

/* Formats the message into e (if e is not NULL) with class SER_EXIT_INPUT and returns -1,
 * so callers can write `return err_set(e, "%s: ...", path);`. */
__attribute__((format(printf, 2, 3))) static inline int err_set(struct err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(e, SER_EXIT_INPUT, fmt, ap);
    va_end(ap);
    return -1;
}

/* The same with class SER_EXIT_IO: the system refused a read or a write. */
__attribute__((format(printf, 2, 3))) static inline int err_io(struct err *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(e, SER_EXIT_IO, fmt, ap);
    va_end(ap);
    return -1;
}

/* The same with an explicit class. */
__attribute__((format(printf, 3, 4))) static inline int err_code(struct err *e, int code,
                                                                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vset(e, code, fmt, ap);
    va_end(ap);
    return -1;
}

/* The exit code a failed call's report asks for (SER_EXIT_INPUT if it set none). */
static inline int err_exit_code(const struct err *e)
{
    return e && e->code ? e->code : SER_EXIT_INPUT;
}

#endif
