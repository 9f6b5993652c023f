/* classify.h: the steps between a feature matrix and a class that training, evaluation and
 * prediction share, so that they cannot drift apart. */
#ifndef SER_DIST_CLASSIFY_H
#define SER_DIST_CLASSIFY_H

#include <stddef.h>

#include "dsp/corpora.h"
#include "ser/err.h"

/* x[c][t] = (x[c][t] - mean[c]) / std[c] for an [C][T] matrix (per-coefficient
 * normalisation with the training set's statistics). */
void dist_normalise(float *x /* [C][T] */, size_t C, size_t T, const float *mean, const float *std);

/* The input normalisations of `ser train --norm` (stored in a checkpoint's norm.mode):
 *   global     one mean/std per coefficient over all frames of the training files;
 *   speaker    per speaker: over all frames of all of that speaker's files (training or not;
 *              labels are never used), so a new speaker needs a batch of their audio
 *              (`ser predict --norm-from`);
 *   utterance  per file: over its own frames. */
enum dist_norm { DIST_NORM_GLOBAL, DIST_NORM_SPEAKER, DIST_NORM_UTTERANCE };
/* The mode named s ("global", "speaker", "utterance"; NULL or "" is global), or -1. */
int dist_norm_mode(const char *s);
/* Per-coefficient mean and population std over all frames of n samples of x (each dim floats,
 * [C][T]): samples idx[0..n) (idx NULL: 0..n-1), summed in double in that order, so the same
 * files in the same order give the same bits anywhere; std floored at 1e-8. */
void dist_norm_stats(const float *x, size_t dim, const size_t *idx, size_t n, size_t C, size_t T,
                     float *mean, float *std);
/* Index of the largest of p[0..K) (the first on ties). */
int dist_argmax(const float *p, size_t K);

/* A model's classes: the labels present in its training data, in label order. */
struct dist_classes {
    int n;                          /* K */
    int label[DSP_N_LABELS];        /* class k's label (enum dsp_label) */
    int of_label[DSP_N_LABELS];     /* a label's class, or -1 */
    const char *name[DSP_N_LABELS]; /* class k's name (static strings) */
};

/* The classes of the labels with present[l] != 0. */
void dist_classes_of(struct dist_classes *c, const size_t present[DSP_N_LABELS]);
/* The classes named by names[0..n) (label names in label order, as a checkpoint stores them).
 * Returns 0, or -1 with e (unknown name, wrong order, n outside 2..DSP_N_LABELS). */
int dist_classes_named(struct dist_classes *c, char *const *names, size_t n, const char *what,
                       struct err *e);

/* --labels LIST and --label-map A=B,...: target[l] = the label a file of label l trains as,
 * or -1 when it is left out. Returns 0 or -1 with e (unknown label, bad pair). */
int dist_label_plan(const char *labels, const char *map, int target[DSP_N_LABELS], struct err *e);

#endif
