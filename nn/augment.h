/* augment.h: training-time augmentations and soft targets, as pure functions of their keys
 * (nn/rng.h), so that what a sample sees in a step depends only on (seed, epoch, sample id,
 * batch index), never on the rank or micro-batch that computes it.
 *
 *   Label smoothing: PyTorch's CrossEntropyLoss(weight=w, label_smoothing=eps): a sample of
 *     class y with class weights w (1 without) has the loss
 *       (1 - eps) * w_y * (-log p_y) + (eps / K) * sum_k w_k * (-log p_k)
 *     = -sum_k a_k log p_k with the target mass a_k = (1 - eps) w_y [k = y] + eps w_k / K.
 *   Mixup (Zhang et al. 2018): x = lam x_i + (1 - lam) x_j, target mass
 *     a = lam a(y_i) + (1 - lam) a(y_j), lam ~ Beta(alpha, alpha) per sample i, keyed by
 *     (seed, epoch, id_i); the partner j of the sample at position p of a global batch is the
 *     sample at position perm[p], perm a permutation keyed by (seed, epoch, batch index).
 *   SpecAugment (Park et al. 2019; torchaudio FrequencyMasking / TimeMasking with iid
 *     masks): on one normalised sample [planes][F][T], NF frequency masks of width w uniform
 *     in [0, Fmax] at a start uniform in [0, F - w] (the same band in every plane), and NT
 *     time masks of width uniform in [0, Tmax] at a start uniform in [0, T - w]; masked
 *     values become 0 (the training mean after normalisation). Keyed by (seed, epoch, id).
 *
 * Draws: integers are hash % (n + 1) of nn_rng_hash5 keys (tests/ser_rng.py reimplements
 * them); Beta from two Gamma draws (Marsaglia & Tsang 2000, with Gamma(a) = Gamma(a + 1)
 * U^(1/a) for a < 1), in log space, normals by Box-Muller, uniforms with 53 bits in (0, 1).
 * Nothing here allocates.
 */
#ifndef SER_NN_AUGMENT_H
#define SER_NN_AUGMENT_H

#include <stddef.h>
#include <stdint.h>

/* Key domains (the 4th key of nn_rng_hash5; dropout uses small layer indices there). */
#define NN_AUG_FREQ    0x5A46u /* SpecAugment frequency masks */
#define NN_AUG_TIME    0x5A54u /* SpecAugment time masks */
#define NN_AUG_LAMBDA  0xBE7Au /* mixup lam: 0xBE7A and 0xBE7B, one per Gamma draw */
#define NN_AUG_PARTNER 0x9A27u /* mixup partner permutation */

/* SpecAugment settings: nf masks of width <= f over frequency, nt of width <= t over time. */
struct nn_specaug {
    long f, t, nf, nt;
};

/* Mask number m (0-based) of kind NN_AUG_FREQ or NN_AUG_TIME over an axis of n positions with
 * widths up to wmax (<= n): *start, *width. */
void nn_specaug_mask(uint64_t seed, uint64_t epoch, uint64_t id, unsigned kind, long m, size_t n,
                     long wmax, size_t *start, size_t *width);
/* Applies the masks of sample id to x [planes][F][T] in place. */
void nn_specaug_apply(float *x, size_t planes, size_t F, size_t T, const struct nn_specaug *sa,
                      uint64_t seed, uint64_t epoch, uint64_t id);

/* lam ~ Beta(alpha, alpha) of sample id (alpha > 0), as a float. */
float nn_mixup_lambda(double alpha, uint64_t seed, uint64_t epoch, uint64_t id);
/* perm[0..n): the partner positions of a global batch of n samples, batch index `batch` of
 * epoch `epoch` (Fisher-Yates on hash keys; fixed points allowed). */
void nn_mixup_partners(size_t *perm, size_t n, uint64_t seed, uint64_t epoch, uint64_t batch);

/* ADDS scale * a(y) to a[K]: a(y)_k = (1 - eps) w_y [k = y] + eps w_k / K, w = cw or 1. */
void nn_target_add(float *a, int y, const float *cw, double eps, float scale, size_t K);

#endif
