/* signals.c: stop signals and test fault injection (see signals.h). */
#include "mpi/signals.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t g_signal;

static void on_signal(int sig)
{
    if (g_signal && sig == SIGINT) _exit(130); /* a second Ctrl-C: leave now */
    g_signal = sig;
}

void dist_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGXFSZ, SIG_IGN);
}

int dist_signal_pending(void)
{
    return g_signal;
}

static long env_long(const char *name)
{
    const char *v = getenv(name);
    return v ? atol(v) : -1;
}

void dist_faults_init(struct dist_faults *f, int rank, int size)
{
    f->nan_batch = env_long("SER_FAULT_NAN_BATCH");
    f->signal_batch = env_long("SER_FAULT_SIGNAL_BATCH");
    f->batches = -1;
    f->rank = rank;
    f->size = size;
}

void dist_faults_batch(struct dist_faults *f)
{
    f->batches++;
    if (f->signal_batch == f->batches && f->rank == f->size - 1) raise(SIGUSR1);
}

int dist_faults_nan(const struct dist_faults *f)
{
    return f->nan_batch == f->batches && f->rank == 0;
}
