/* report.h: what rank 0 writes into the run directory at the end of training:
 * summary.json (machine-readable), report.md (for people), confusion.tsv, and two SVG plots
 * written by the program itself (no plotting dependency): learning_curves.svg (loss and
 * accuracy, train vs validation, best epoch marked) and confusion.svg (row-normalised
 * heatmap with counts). metrics.tsv is written by the training loop, one row per epoch. */
#ifndef SER_REPORT_H
#define SER_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "mpi/checkpoint.h"
#include "ser/err.h"
#include "dsp/scan.h"

struct dist_report {
    const char *run_dir, *config, *git_rev, *spec;
    size_t n_files, n_skipped, n_train, n_val, n_test, nparams;
    int ranks, threads;
    const double *hist;         /* [epochs_run][DIST_H_COLS] */
    int epochs_run, best_epoch; /* best_epoch counts from 1 */
    double test_loss, wall_seconds, allreduce_seconds, compute_seconds;
    int64_t conf[DSP_N_LABELS][DSP_N_LABELS]; /* test set, [true][predicted] */
};

int dist_report_write(const struct dist_report *r, struct err *e);

/* The two plots alone (also used by tests). */
int dist_svg_curves(const char *path, const double *hist, int epochs, int best_epoch,
                    struct err *e);
int dist_svg_confusion(const char *path, const int64_t conf[DSP_N_LABELS][DSP_N_LABELS],
                       struct err *e);

#endif
