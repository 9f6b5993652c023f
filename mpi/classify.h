/* classify.h: the steps between a feature matrix and a class that training, evaluation and
 * prediction share, so that they cannot drift apart. */
#ifndef SER_DIST_CLASSIFY_H
#define SER_DIST_CLASSIFY_H

#include <stddef.h>

/* x[c][t] = (x[c][t] - mean[c]) / std[c] for an [C][T] matrix (per-coefficient
 * normalisation with the training set's statistics). */
void dist_normalise(float *x /* [C][T] */, size_t C, size_t T, const float *mean, const float *std);
/* Index of the largest of p[0..K) (the first on ties). */
int dist_argmax(const float *p, size_t K);

#endif
