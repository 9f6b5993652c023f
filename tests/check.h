/* check.h: the C tests' one assertion macro. CHECK(cond, fmt, ...) reports a failure with
 * file, line and a formatted message, counts it in `failures`, and carries on, so one run
 * shows every failing check; main() returns failures != 0. */
#ifndef SER_TESTS_CHECK_H
#define SER_TESTS_CHECK_H

#include <stdio.h>

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            failures++;                                                                            \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
        }                                                                                          \
    } while (0)

#endif
