/* train.h: the configuration of `ser train` and the metrics it reports.
 *
 * Every option has the same name on the command line (--name value) and in a --config file
 * (name = value); train_cfg.c holds the one table that defines both. The run's configuration
 * is also stored in its checkpoints and re-applied on --resume, so a resumed run continues
 * with exactly the settings it started with (options given again on the command line win).
 */
#ifndef SER_TRAIN_H
#define SER_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "dsp/scan.h"

struct dist_train_cfg {
    char data[4096];     /* corpus directory or CSV manifest */
    char out[4096];      /* run directory */
    char features[4096]; /* feature cache file */
    char model[4096];    /* model spec (or a file holding one) */
    char split[256];     /* random | speaker:NAME */
    char monitor[32];    /* val_loss | val_accuracy */
    char resume[4096];   /* "", a checkpoint path, or "auto" */
    long epochs, batch, seed, threads, patience, lr_patience, lr_cooldown;
    long checkpoint_every; /* in epochs, or in batches if checkpoint_batches */
    int checkpoint_batches;
    long keep;         /* also keep the K newest epoch checkpoints */
    int deterministic; /* bit-identical results for any rank count */
    long micro_batch;  /* samples per micro-batch in deterministic mode */
    double lr, min_delta, lr_factor, min_lr, weight_decay, clip, val_frac, test_frac;
    int quiet;
};

void dist_train_default_cfg(struct dist_train_cfg *c);

/* Parses argv (argv[0] = "train"): a --config file first, then the command line.
 * Returns CLI_OK, CLI_HELP or CLI_ERROR (message printed). */
int dist_train_parse(int argc, char **argv, struct dist_train_cfg *c);

/* Applies a stored configuration ("key = value" lines), e.g. from a checkpoint. */
int dist_train_apply_text(struct dist_train_cfg *c, const char *text, const char *what,
                          struct err *e);

/* Writes the settings that define the run as "key = value" lines (a valid --config file);
 * run-local choices (out, resume, threads, quiet) are left out. */
void dist_train_cfg_dump(const struct dist_train_cfg *c, char *buf, size_t n);

/* Precision, recall and F1 per class and their macro averages from a confusion matrix
 * conf[true][pred]; classes with no true and no predicted samples count as 0 (as sklearn's
 * zero_division=0). Returns the accuracy. */
double dist_class_metrics(const int64_t conf[DSP_N_LABELS][DSP_N_LABELS],
                          double precision[DSP_N_LABELS], double recall[DSP_N_LABELS],
                          double f1[DSP_N_LABELS], double *macro_f1);

#endif
