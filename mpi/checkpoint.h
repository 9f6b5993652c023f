/* checkpoint.h: ser's model and training-state file (a dsp/pack.h container, kind "CKPT").
 *
 * One self-describing file holds everything needed to predict with the model and to continue
 * training exactly: ser version, model spec and input shape, feature parameters, the
 * normalisation statistics, label names, the weights (one record per tensor, "param.<name>",
 * with its PyTorch name and shape), the best weights so far, Adam's moments and step, the
 * learning rate, early-stopping and plateau state, the epoch/batch position, the seed, the
 * split, the configuration and the metric history. Rank 0 writes it atomically; every rank
 * can read it. The reader validates every field and size (a damaged file gets a message).
 */
#ifndef SER_CHECKPOINT_H
#define SER_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "mpi/callbacks.h"
#include "ser/err.h"
#include "dsp/features.h"
#include "nn/model.h"

#define DIST_CKPT_KIND DSP_PACK_FOURCC('C', 'K', 'P', 'T')

/* Columns of the metric history, one row per finished epoch. */
enum {
    DIST_H_TRAIN_LOSS,
    DIST_H_TRAIN_ACC,
    DIST_H_VAL_LOSS,
    DIST_H_VAL_ACC,
    DIST_H_LR,
    DIST_H_SECONDS,
    DIST_H_SAMPLES_PER_S,
    DIST_H_COLS
};

struct dist_ckpt {
    char *version; /* ser version that wrote it */
    char *spec;    /* canonical model spec */
    size_t in_channels, in_len, n_classes;
    struct dsp_features_params params;
    float *mean, *std; /* [in_channels] normalisation (train set) */
    size_t nparams;
    float *weights;         /* [nparams], flat in the model's tensor order */
    float *best;            /* [nparams] best weights so far, or NULL */
    float *adam_m, *adam_v; /* [nparams] each, or NULL (model only) */
    uint64_t adam_t;
    double lr, beta1, beta2, eps, weight_decay;
    int64_t epoch; /* epochs completed */
    int64_t batch; /* batches completed in epoch `epoch` (0 at a boundary) */
    int64_t seed;
    int done;            /* training stopped early (it never resumes past that) */
    char *split;         /* "random" or "speaker:NAME" */
    uint64_t split_hash; /* of the file list and its split assignment */
    char *config;        /* the run's configuration, "key = value" lines */
    struct dist_stopper stopper;
    struct dist_plateau plateau;
    size_t n_hist;
    double *hist; /* [n_hist][DIST_H_COLS] */
    /* Running sums of the interrupted epoch (mid-epoch checkpoints). */
    double epoch_loss_sum, epoch_correct, epoch_seen, epoch_seconds;
};

/* Writes atomically; m supplies the tensor names and shapes for ckpt->weights. */
int dist_ckpt_save(const struct dist_ckpt *c, const struct nn_model *m, const char *path,
                   struct err *e);
/* Reads and validates; c must be zeroed; free with dist_ckpt_free (also after failure). */
int dist_ckpt_load(struct dist_ckpt *c, const char *path, struct err *e);
/* The same from the file's bytes; `what` names the source in messages. */
int dist_ckpt_decode(struct dist_ckpt *c, const unsigned char *buf, size_t len, const char *what,
                     struct err *e);
void dist_ckpt_free(struct dist_ckpt *c);

/* Creates the model of a loaded checkpoint with its weights, for up to max_batch samples. */
int dist_ckpt_model(const struct dist_ckpt *c, size_t max_batch, struct nn_model **m,
                    struct err *e);

#endif
