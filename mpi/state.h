/* state.h: the training state, which is exactly what a checkpoint holds.
 *
 * struct dist_state is described by ONE table of fields (state.c, see record.h) that drives
 * saving (dist_state_save), loading with validation of every value (dist_state_load),
 * `ser info` (dist_state_print) and the resume check (dist_state_mismatch). A checkpoint is
 * a dsp/pack.h container of kind "CKPT"; its records are listed in docs/formats.md.
 *
 * A running trainer keeps its live state in a struct dist_state whose arrays point into
 * buffers it owns (the model's parameters, Adam's moments, the best weights, the metric
 * history); a loaded state owns malloc'd copies (release with dist_state_free).
 */
#ifndef SER_DIST_STATE_H
#define SER_DIST_STATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dsp/features.h"
#include "dsp/pack.h"
#include "mpi/callbacks.h"
#include "mpi/classify.h"
#include "nn/adam.h"
#include "nn/model.h"
#include "ser/err.h"

#define DIST_CKPT_KIND DSP_PACK_FOURCC('C', 'K', 'P', 'T')
/* 2: the model's classes are data (labels of dsp/corpora.h); 1: the 7 TESS labels. */
#define DIST_CKPT_FORMAT 2

/* Columns of the metric history, one row per finished epoch. */
enum {
    DIST_H_TRAIN_LOSS,
    DIST_H_TRAIN_ACC,
    DIST_H_VAL_LOSS,
    DIST_H_VAL_ACC,
    DIST_H_LR,
    DIST_H_SECONDS,
    DIST_H_SAMPLES_PER_S,
    DIST_H_VAL_UAR,
    DIST_H_COLS
};

struct dist_state {
    /* the model and its input: what a model-only checkpoint (best.ckpt) holds */
    int64_t format; /* DIST_CKPT_FORMAT */
    char *version;  /* ser version that wrote it */
    char *spec;     /* canonical model spec */
    int64_t in_channels, in_len, n_classes;
    struct dist_classes cls; /* the n_classes classes (label names, in label order) */
    struct dsp_features_params params;
    char *norm;        /* input normalisation: "global", "speaker", "utterance" (--norm) */
    float *mean, *std; /* [in_channels] global normalisation (training set); 0 and 1 for
                          speaker and utterance, whose statistics come from the inputs */
    int64_t nparams;
    float *weights;   /* [nparams], flat in the model's tensor order */
    int64_t nrunning; /* floats of the running buffers (batchnorm statistics; from the spec) */
    float *running;   /* [nrunning] the model's running buffers (NULL when nrunning is 0) */
    /* training state (REC_TRAIN fields; absent from best.ckpt) */
    float *best;         /* [nparams] best weights so far */
    float *best_running; /* [nrunning] the running buffers that go with them */
    struct nn_adam adam; /* step, lr, betas, eps, weight decay; m, v [nparams] */
    int64_t seed;
    int64_t epoch;  /* epochs completed (= rows of hist) */
    int64_t batch;  /* batches completed in epoch `epoch` (0 at a boundary) */
    int64_t done;   /* early stopping ended the run */
    int64_t mbatch; /* the global batch size the position counts in */
    /* running sums of the epoch in progress (mid-epoch checkpoints) */
    double ep_loss_sum, ep_correct, ep_seen, ep_seconds;
    double ep_weight;    /* sum of the class weights of the samples seen (= ep_seen unweighted) */
    char *split;         /* the split made: "random", "speaker:A[,B...]" or "corpus:NAME" */
    uint64_t split_hash; /* of the file list and its split assignment */
    uint64_t list_hash;  /* of the scanned corpus (checked before extracting on resume) */
    char *config;        /* the run's configuration (config.txt) */
    struct dist_stopper stopper;
    struct dist_plateau plateau;
    double *hist; /* [epoch][DIST_H_COLS] */
};

/* Writes s atomically to path. model_only: a model-only file (best.ckpt) whose weights are
 * s->best, without the training state. m names and shapes the tensors. */
int dist_state_save(const struct dist_state *s, const struct nn_model *m, int model_only,
                    const char *path, struct err *e);
/* Reads and validates a checkpoint file / its bytes (`what` names the source); s zeroed
 * by the caller, released with dist_state_free (also after a failure). *has_train (may be
 * NULL) tells whether the training state is there (0 for a model-only file). */
int dist_state_load(struct dist_state *s, const char *path, int *has_train, struct err *e);
int dist_state_decode(struct dist_state *s, const unsigned char *buf, size_t len, const char *what,
                      int *has_train, struct err *e);
void dist_state_free(struct dist_state *s);

/* The first field that must match on resume (model, input, features, normalisation, split)
 * and differs between the loaded state a and the running one b: its name, or NULL. */
const char *dist_state_mismatch(const struct dist_state *a, const struct dist_state *b);
/* Copies the training position, optimizer state, callbacks, sums and history of src into
 * dst, whose arrays are live buffers sized for dst (weights/best/moments [nparams],
 * hist [hist_rows][DIST_H_COLS]). Returns 0, or -1 with e if src does not fit. */
int dist_state_restore(struct dist_state *dst, const struct dist_state *src, size_t hist_rows,
                       struct err *e);

/* `ser info`: every field (one line each), the history and the tensors. */
void dist_state_print(FILE *out, const struct dist_state *s, const struct nn_model *m);

/* The model of a loaded state, with its weights, for up to max_batch samples. */
int dist_state_model(const struct dist_state *s, size_t max_batch, struct nn_model **m,
                     struct err *e);

#endif
