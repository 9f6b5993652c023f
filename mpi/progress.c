/* progress.c: terminal progress bar / periodic log lines (see progress.h). */
#include "mpi/progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double dist_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void dist_progress_start(struct dist_progress *p, const char *what, const char *unit, size_t total,
                         int enabled)
{
    p->what = what;
    p->unit = unit;
    p->total = total;
    p->t0 = p->last = dist_now();
    p->log_every = 5.0;
    p->tty = isatty(STDERR_FILENO);
    p->enabled = enabled;
    p->drawn = 0;
}

static void fmt_time(char *buf, size_t n, double s)
{
    if (s < 0 || s > 1e7) {
        snprintf(buf, n, "?");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

void dist_progress_update(struct dist_progress *p, size_t done)
{
    if (!p->enabled) return;
    double now = dist_now();
    int final = done >= p->total;
    if (!final && now - p->last < (p->tty ? 0.1 : p->log_every)) return;
    if (final && !p->tty) return; /* the caller prints its own summary line */
    p->last = now;
    double el = now - p->t0;
    double rate = el > 0 ? (double)done / el : 0;
    char eta[32];
    fmt_time(eta, sizeof eta, rate > 0 ? (double)(p->total - done) / rate : -1);
    double frac = p->total ? (double)done / (double)p->total : 1;
    if (p->tty) {
        enum { W = 30 };
        char bar[W + 1];
        int fill = (int)(frac * W);
        for (int i = 0; i < W; i++) bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
        bar[W] = 0;
        fprintf(stderr, "\r%s [%s] %zu/%zu %.1f %s/s ETA %s \033[K", p->what, bar, done, p->total,
                rate, p->unit, eta);
        p->drawn = 1;
    } else {
        fprintf(stderr, "%s: %zu/%zu (%.0f%%) %.1f %s/s ETA %s\n", p->what, done, p->total,
                100 * frac, rate, p->unit, eta);
    }
    fflush(stderr);
}

void dist_progress_end(struct dist_progress *p)
{
    if (p->enabled && p->tty && p->drawn) fprintf(stderr, "\r\033[K");
    p->drawn = 0;
}
