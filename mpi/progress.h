/* progress.h: progress reporting for long work (extraction, training epochs), rank 0 only.
 * On a terminal: a bar redrawn at most 10 times a second with rate and ETA. Otherwise (log
 * files, SLURM output): one line every `log_every` seconds (default 5). Output goes to stderr. */
#ifndef SER_PROGRESS_H
#define SER_PROGRESS_H

#include <stddef.h>

struct dist_progress {
    const char *what; /* "extract", "epoch 3", ... */
    const char *unit; /* "files", "samples" */
    size_t total;
    double t0, last;
    double log_every;
    int tty, enabled, drawn;
};

/* Monotonic wall clock in seconds. */
double dist_now(void);

void dist_progress_start(struct dist_progress *p, const char *what, const char *unit, size_t total,
                         int enabled);
/* `done` of `total` units finished; prints if enough time passed since the last print. */
void dist_progress_update(struct dist_progress *p, size_t done);
/* Clears the bar (terminal) so that the caller's summary line starts on a clean line. */
void dist_progress_end(struct dist_progress *p);

#endif
