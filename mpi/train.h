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
#include "nn/augment.h"

/* The 2-D CNN of --preset robust. */
#define SER_ROBUST_SPEC                                                                            \
    "conv2d:32:3x3 batchnorm relu maxpool2d:2x2 conv2d:64:3x3 batchnorm relu maxpool2d:2x2 "       \
    "conv2d:128:3x3 batchnorm relu maxpool2d:2x2 gap dropout:0.3 dense"

struct dist_train_cfg {
    struct cli_list data;    /* corpus directories or CSV manifests (--data may repeat) */
    char corpus[16];         /* auto (recognise each file) or a corpus whose naming is forced */
    int ravdess_song;        /* also RAVDESS's song files */
    char labels[256];        /* the labels to train on (comma-separated; after --label-map) */
    char label_map[256];     /* FROM=TO,... (calm=neutral) */
    double offset, duration; /* seconds of each file analysed */
    long sr, n_mfcc;         /* analysis rate, MFCC coefficients */
    char feature_type[16];   /* mfcc | logmel */
    long n_mels;             /* mel bands (the MFCCs' filterbank too) */
    int deltas;              /* append delta and delta-delta planes */
    char cv[16];             /* "" (one split), "loso" or K (folds grouped by speaker) */
    long cv_group;           /* speakers per LOSO fold */
    long val_speakers;       /* hold out N whole training speakers for validation (0: a fraction) */
    long ranks_per_fold;     /* folds run in parallel on groups of R ranks (0: all ranks) */
    char class_weight[16];   /* none | balanced */
    char norm[16];           /* global | speaker | utterance (mpi/classify.h) */
    char out[4096];          /* run directory */
    char features[4096]; /* feature cache file ("": beside the first --data, see train_setup.c) */
    char model[4096];    /* model spec (or a file holding one) */
    char split[4096];    /* random | speaker:A[,B...] | corpus:NAME */
    char monitor[32];    /* val_loss | val_accuracy | val_uar */
    char resume[4096];   /* "", a checkpoint path, or "auto" */
    char config[4096];   /* --config FILE (applied while parsing) */
    char preset[16];     /* --preset NAME (applied while parsing) */
    long epochs, batch, seed, threads, patience, lr_patience, lr_cooldown;
    long checkpoint_every; /* in epochs, or in batches if checkpoint_batches */
    int checkpoint_batches;
    long keep;         /* also keep the K newest epoch checkpoints */
    int deterministic; /* bit-identical results for any rank count */
    long micro_batch;  /* samples per micro-batch in deterministic mode */
    double lr, min_delta, lr_factor, min_lr, weight_decay, clip, val_frac, test_frac;
    double max_memory; /* bytes per rank; 0: 80% of physical memory / ranks on the node */
    /* augmentation of training batches (nn/augment.h); fixed for the whole run */
    double label_smoothing;         /* 0: off */
    double mixup;                   /* Beta(alpha, alpha) of mixup; 0: off */
    struct nn_specaug spec_augment; /* nf = nt = 0: off */
    int overwrite; /* start over in a run directory that holds a run or other files */
    int quiet;
};

/* The option table of `ser train`. */
extern const struct cli_table dist_train_options;

#endif
