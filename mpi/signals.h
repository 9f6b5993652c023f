/* signals.h: how a run learns that it must stop, and the fault injection the tests use.
 *
 * SIGTERM, SIGINT and SIGUSR1 (SLURM's warning before a time limit or a preemption) set a
 * flag that the training loop reads once per batch (dist_stop_requested) and agrees on over
 * all ranks, so every rank stops at the same batch boundary and a checkpoint is written. A
 * second SIGINT exits at once (status 130). SIGXFSZ is ignored so that a file size limit
 * fails a write (EFBIG) instead of killing the process.
 *
 * Fault injection, for tests only, from the environment:
 *   SER_FAULT_NAN_BATCH=N     rank 0 poisons a gradient of the N-th batch it runs (from 0);
 *   SER_FAULT_SIGNAL_BATCH=N  the last rank raises SIGUSR1 before its N-th batch.
 */
#ifndef SER_DIST_SIGNALS_H
#define SER_DIST_SIGNALS_H

void dist_signals_install(void);
/* The pending stop signal (0: none). */
int dist_signal_pending(void);

struct dist_faults {
    long nan_batch, signal_batch; /* -1: off */
    long batches;                 /* batches this process has started */
    int rank, size;
};
void dist_faults_init(struct dist_faults *f, int rank, int size);
/* Called once before each batch: counts it, and raises the injected signal when due. */
void dist_faults_batch(struct dist_faults *f);
/* 1 when this process must poison its gradient of the current batch. */
int dist_faults_nan(const struct dist_faults *f);

#endif
