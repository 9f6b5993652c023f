/* classify.c: normalisation and argmax (see classify.h). */
#include "mpi/classify.h"

void dist_normalise(float *x, size_t C, size_t T, const float *mean, const float *std)
{
    for (size_t c = 0; c < C; c++)
        for (size_t t = 0; t < T; t++) x[c * T + t] = (x[c * T + t] - mean[c]) / std[c];
}

int dist_argmax(const float *p, size_t K)
{
    size_t best = 0;
    for (size_t i = 1; i < K; i++)
        if (p[i] > p[best]) best = i;
    return (int)best;
}
