/* report.h: what rank 0 writes into the run directory at the end of training:
 * summary.json (machine-readable), report.md (for people), confusion.tsv, and two SVG plots
 * written by the program itself (no plotting dependency): learning_curves.svg (loss and
 * accuracy, train vs validation, best epoch marked) and confusion.svg (row-normalised
 * heatmap with counts). Every file is written atomically. metrics.tsv is written by the training
 * loop, one row per epoch. */
#ifndef SER_REPORT_H
#define SER_REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dsp/scan.h"
#include "mpi/cli.h"
#include "mpi/metrics.h"
#include "mpi/state.h"
#include "ser/err.h"

struct dist_report {
    const char *run_dir, *config, *git_rev, *spec;
    const struct cli_table *options; /* with cfg: the configuration, typed, for summary.json */
    const void *cfg;
    size_t n_files, n_skipped, n_train, n_val, n_test, nparams;
    int ranks, threads;
    const double *hist;         /* [epochs_run][DIST_H_COLS] */
    int epochs_run, best_epoch; /* best_epoch counts from 1 */
    double test_loss, wall_seconds;
    double train_seconds, comm_seconds; /* training time, and its part in collectives */
    int K;                              /* classes */
    const char *const *classes;         /* [K] their names */
    const char *test_speakers;          /* a fold's held-out speakers, or NULL */
    dist_conf conf;                     /* test set, [true][predicted] over the K classes */
};

/* Writes every file atomically (dsp/file.h). Returns 0 or -1 with e. */
int dist_report_write(const struct dist_report *r, struct err *e);
/* The one-line result on f (standard output), checked: -1 with e if it cannot be written. */
int dist_report_print(const struct dist_report *r, FILE *f, struct err *e);

/* The two plots alone (also used by tests). */
int dist_svg_curves(const char *path, const double *hist, int epochs, int best_epoch,
                    struct err *e);
/* A confusion matrix [true][predicted] over K classes as a Markdown table. */
void dist_md_confusion(FILE *f, const dist_conf conf, int K, const char *const *names);
int dist_svg_confusion(const char *path, const dist_conf conf, int K, const char *const *names,
                       const char *title, struct err *e);

#endif
