/* train.h: the configuration of `ser train`.
 *
 * Every option has the same name on the command line (--name value), in a --config file
 * (name = value) and in the run's config.txt; train_opts.c holds the one table that defines
 * them (type, default, range, help). The run's configuration is stored in its checkpoints
 * and re-applied on --resume, so a resumed run continues with exactly the settings it started
 * with. Options given again on the command line win for the schedule (--epochs, patience,
 * the plateau settings, checkpointing); the model, the data, the split and the optimizer's
 * state (learning rate, moments, weight decay) come from the checkpoint, and a run that
 * stopped early stays stopped.
 */
#ifndef SER_TRAIN_H
#define SER_TRAIN_H

#include <stddef.h>

#include "mpi/cli.h"

struct dist_train_cfg {
    char data[4096];     /* corpus directory or CSV manifest */
    char out[4096];      /* run directory */
    char features[4096]; /* feature cache file ("" = <data>.features.serf) */
    char model[4096];    /* model spec (or a file holding one) */
    char split[256];     /* random | speaker:NAME */
    char monitor[32];    /* val_loss | val_accuracy */
    char resume[4096];   /* "", a checkpoint path, or "auto" */
    char config[4096];   /* --config FILE (applied while parsing) */
    long epochs, batch, seed, threads, patience, lr_patience, lr_cooldown;
    long checkpoint_every; /* in epochs, or in batches if checkpoint_batches */
    int checkpoint_batches;
    long keep;         /* also keep the K newest epoch checkpoints */
    int deterministic; /* bit-identical results for any rank count */
    long micro_batch;  /* samples per micro-batch in deterministic mode */
    double lr, min_delta, lr_factor, min_lr, weight_decay, clip, val_frac, test_frac;
    double max_memory; /* bytes per rank; 0: 80% of physical memory / ranks on the node */
    int overwrite;     /* start over in a run directory that holds a run or other files */
    int quiet;
};

/* The option table of `ser train`. */
extern const struct cli_table dist_train_options;

#endif
