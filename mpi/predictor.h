/* predictor.h: a trained model applied to audio, without MPI (ser predict, and whatever
 * else classifies audio with a checkpoint): the checkpoint's model, its feature pipeline
 * (the same loader and MFCC code as training) and the statistics that normalise the inputs
 * as training did (mpi/classify.h). One predictor per thread. */
#ifndef SER_DIST_PREDICTOR_H
#define SER_DIST_PREDICTOR_H

#include <stddef.h>

#include "dsp/features.h"
#include "mpi/cli.h"
#include "mpi/state.h"
#include "nn/model.h"
#include "ser/err.h"

/* A list of paths (owned strings). */
struct predict_paths {
    char **v;
    size_t n, cap;
    size_t n_skipped; /* files dsp_walk skipped (reported on stderr) */
};
int predict_paths_push(struct predict_paths *p, const char *s); /* 0, or -1: out of memory */
void predict_paths_free(struct predict_paths *p);
/* Every argument: a file as given, a directory's audio files sorted by path (dsp_walk). */
int predict_collect(int argc, char **argv, struct predict_paths *files, struct err *e);

/* The model and the feature pipeline of a checkpoint, and the statistics that normalise its
 * inputs: the checkpoint's (global), the --norm-from files' (speaker), or each file's own
 * (utterance, per input). */
struct predictor {
    struct dist_state ck;
    struct nn_model *m;
    struct dsp_features *fx;
    float *x;
    size_t C, T;
    int mode;          /* enum dist_norm */
    float *mean, *std; /* [C] */
};

/* Opens checkpoint `path`; norm_from: the --norm-from list (required for a model trained with
 * --norm speaker, refused otherwise). Returns 0, or -1 with e; predictor_close either way. */
int predictor_open(struct predictor *p, const char *path, const struct cli_list *norm_from,
                   struct err *e);
void predictor_close(struct predictor *p);
/* Class probabilities [ck.cls.n] of one audio file, or of mono samples x[0..n) at `rate` Hz
 * taken as a file holding exactly them (name: the source in errors). 0, or -1 with e. */
int predictor_file(struct predictor *p, const char *path, float *probs, struct err *e);
int predictor_pcm(struct predictor *p, const char *name, const float *x, size_t n, int rate,
                  float *probs, struct err *e);

#endif
