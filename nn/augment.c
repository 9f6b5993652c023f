/* augment.c: label smoothing targets, mixup and SpecAugment draws (see augment.h). */
#include "nn/augment.h"

#include <math.h>
#include <string.h>

#include "nn/rng.h"

void nn_specaug_mask(uint64_t seed, uint64_t epoch, uint64_t id, unsigned kind, long m, size_t n,
                     long wmax, size_t *start, size_t *width)
{
    uint64_t wm = wmax < 0 ? 0 : (uint64_t)wmax;
    if (wm > n) wm = n;
    uint64_t w = nn_rng_hash5(seed, epoch, id, kind, 2 * (uint64_t)m) % (wm + 1);
    uint64_t s = nn_rng_hash5(seed, epoch, id, kind, 2 * (uint64_t)m + 1) % (n - w + 1);
    *start = (size_t)s;
    *width = (size_t)w;
}

void nn_specaug_apply(float *x, size_t planes, size_t F, size_t T, const struct nn_specaug *sa,
                      uint64_t seed, uint64_t epoch, uint64_t id)
{
    size_t s, w;
    for (long m = 0; m < sa->nf; m++) {
        nn_specaug_mask(seed, epoch, id, NN_AUG_FREQ, m, F, sa->f, &s, &w);
        for (size_t p = 0; p < planes; p++)
            for (size_t r = s; r < s + w; r++) memset(x + (p * F + r) * T, 0, T * sizeof *x);
    }
    for (long m = 0; m < sa->nt; m++) {
        nn_specaug_mask(seed, epoch, id, NN_AUG_TIME, m, T, sa->t, &s, &w);
        for (size_t r = 0; r < planes * F; r++) memset(x + r * T + s, 0, w * sizeof *x);
    }
}

/* Uniform in (0, 1) with 53 bits: never 0, so its logarithm is finite. */
static double unit(uint64_t bits)
{
    return ((double)(bits >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

/* log of a Gamma(a, 1) draw, a > 0, from the stream keyed by (seed, epoch, id, domain):
 * Marsaglia-Tsang for a + 1 >= 1 when a < 1, times U^(1/a). Attempt k uses the uniforms
 * 4k .. 4k+2 (two for the Box-Muller normal, one to accept); index 1 << 20 is the boost. */
static double log_gamma_draw(double a, uint64_t seed, uint64_t epoch, uint64_t id, unsigned dom)
{
    double b = a < 1 ? a + 1 : a, d = b - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d), lg = log(d);
    for (uint64_t k = 0; k < 256; k++) {
        double u1 = unit(nn_rng_hash5(seed, epoch, id, dom, 4 * k));
        double u2 = unit(nn_rng_hash5(seed, epoch, id, dom, 4 * k + 1));
        double u3 = unit(nn_rng_hash5(seed, epoch, id, dom, 4 * k + 2));
        double z = sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
        double v = 1.0 + c * z;
        if (v <= 0) continue;
        v = v * v * v;
        if (log(u3) < 0.5 * z * z + d - d * v + d * log(v)) {
            lg = log(d) + log(v);
            break;
        }
    }
    if (a < 1) lg += log(unit(nn_rng_hash5(seed, epoch, id, dom, (uint64_t)1 << 20))) / a;
    return lg;
}

float nn_mixup_lambda(double alpha, uint64_t seed, uint64_t epoch, uint64_t id)
{
    double g1 = log_gamma_draw(alpha, seed, epoch, id, NN_AUG_LAMBDA);
    double g2 = log_gamma_draw(alpha, seed, epoch, id, NN_AUG_LAMBDA + 1);
    return (float)(1.0 / (1.0 + exp(g2 - g1))); /* g1 / (g1 + g2) without underflow */
}

void nn_mixup_partners(size_t *perm, size_t n, uint64_t seed, uint64_t epoch, uint64_t batch)
{
    for (size_t i = 0; i < n; i++) perm[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(nn_rng_hash5(seed, epoch, batch, NN_AUG_PARTNER, i) % i);
        size_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}

void nn_target_add(float *a, int y, const float *cw, double eps, float scale, size_t K)
{
    for (size_t k = 0; k < K; k++) {
        double w = cw ? cw[k] : 1.0;
        double v = eps * w / (double)K + ((size_t)y == k ? (1.0 - eps) * w : 0.0);
        a[k] += scale * (float)v;
    }
}
