/* test_nn_dropout.c: dropout masks from the counter-based RNG.
 * - The mask of a sample depends only on (seed, epoch, sample id, layer, element): masks of
 *   one batch of 6 equal those of the same samples split 2 + 4 (exactly), and a whole model's
 *   outputs agree (1e-6) when a batch is split across calls.
 * - Keep rate within 5 standard deviations of 1 - p over 10^6 draws, for several p.
 * - Inverted scaling: every kept value is exactly 1/(1-p) (in float), so E[mask] = 1.
 * - Other epochs/layers give different masks (agreement near p^2 + (1-p)^2, not 1).
 * - Inference (train = 0) is the identity. Exits 1 on failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/layers.h"
#include "nn/model.h"
#include "nn/rng.h"

static int failures;

static void expect(int ok, const char *what)
{
    printf("%-60s %s\n", what, ok ? "ok" : "FAIL");
    if (!ok) failures++;
}

int main(void)
{
    /* split invariance of the masks, sequence layout [C][T][B] (n = C*T per sample) */
    enum { C = 3, T = 5, N = C * T };
    uint64_t ids[6] = {17, 4, 99, 1000003, 5, 6};
    float all[N * 6], a[N * 2], b[N * 4];
    nn_dropout_mask(all, 6, N, 1, 6, 0.4, 42, 3, ids, 2);
    nn_dropout_mask(a, 2, N, 1, 2, 0.4, 42, 3, ids, 2);
    nn_dropout_mask(b, 4, N, 1, 4, 0.4, 42, 3, ids + 2, 2);
    int same = 1;
    for (size_t j = 0; j < N; j++)
        for (size_t s = 0; s < 6; s++) {
            float v = s < 2 ? a[j * 2 + s] : b[j * 4 + s - 2];
            if (v != all[j * 6 + s]) same = 0;
        }
    expect(same, "masks: batch of 6 == split 2 + 4 (sequence layout)");
    /* vector layout [B][N] of the same keys gives the same mask per (sample, element) */
    float vec[N * 6];
    nn_dropout_mask(vec, 6, N, N, 1, 0.4, 42, 3, ids, 2);
    same = 1;
    for (size_t j = 0; j < N; j++)
        for (size_t s = 0; s < 6; s++)
            if (vec[s * N + j] != all[j * 6 + s]) same = 0;
    expect(same, "masks: vector layout == sequence layout");

    /* keep rate and scaling */
    const size_t n = 1000000;
    float *mask = malloc(n * sizeof *mask), *mask2 = malloc(n * sizeof *mask2);
    if (!mask || !mask2) return 2;
    const double ps[] = {0.0, 0.1, 0.3, 0.5, 0.9};
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
        double p = ps[k];
        nn_dropout_mask(mask, 1000, 1000, 1000, 1, p, 7, 1, NULL, 0);
        size_t kept = 0;
        int scale_ok = 1;
        const float scale = (float)(1.0 / (1.0 - p));
        for (size_t i = 0; i < n; i++) {
            if (mask[i] != 0.0f) kept++;
            if (mask[i] != 0.0f && mask[i] != scale) scale_ok = 0;
        }
        double rate = (double)kept / (double)n, sd = sqrt(p * (1 - p) / (double)n);
        char what[128];
        snprintf(what, sizeof what, "p=%.1f: keep rate %.5f vs %.5f (5 sd = %.5f)", p, rate, 1 - p,
                 5 * sd);
        expect(fabs(rate - (1 - p)) <= 5 * sd + 1e-12, what);
        snprintf(what, sizeof what, "p=%.1f: kept values are 1/(1-p) = %.6f", p, (double)scale);
        expect(scale_ok, what);
    }
    /* different epoch / layer -> different masks */
    nn_dropout_mask(mask, 1000, 1000, 1000, 1, 0.5, 7, 1, NULL, 0);
    nn_dropout_mask(mask2, 1000, 1000, 1000, 1, 0.5, 7, 2, NULL, 0);
    size_t agree = 0;
    for (size_t i = 0; i < n; i++) agree += mask[i] == mask2[i];
    expect(fabs((double)agree / (double)n - 0.5) < 0.005, "epoch 1 vs 2: masks independent");
    nn_dropout_mask(mask2, 1000, 1000, 1000, 1, 0.5, 7, 1, NULL, 1);
    agree = 0;
    for (size_t i = 0; i < n; i++) agree += mask[i] == mask2[i];
    expect(fabs((double)agree / (double)n - 0.5) < 0.005, "layer 0 vs 1: masks independent");
    free(mask);
    free(mask2);

    /* whole model: one call of 6 samples vs 2 + 4, same sample ids */
    struct err e = {0};
    struct nn_model *m;
    const char *spec = "conv1d:4:3 relu dropout:0.5 maxpool:2 lstm:5 dropout:0.3 dense:7";
    if (nn_model_create(&m, spec, 4, 12, 7, 6, &e) != 0) {
        printf("%s\n", e.msg);
        return 1;
    }
    nn_model_init(m, 3);
    float x[6 * 4 * 12], p6[6 * 7], p2[2 * 7], p4[4 * 7], p0[6 * 7];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        x[i] = 2 * nn_rng_uniform(nn_rng_hash5(1, i, 0, 0, 0)) - 1;
    int y[6] = {0, 1, 2, 3, 4, 5};
    double l6, l2, l4, l0;
    struct nn_step st = {.seed = 9, .epoch = 2, .sample_ids = ids, .train = 1};
    nn_model_train_step(m, x, y, 6, &st, &l6, p6);
    nn_model_train_step(m, x, y, 2, &st, &l2, p2);
    struct nn_step st4 = {.seed = 9, .epoch = 2, .sample_ids = ids + 2, .train = 1};
    nn_model_train_step(m, x + 2 * 4 * 12, y + 2, 4, &st4, &l4, p4);
    double maxd = 0;
    for (size_t i = 0; i < 6 * 7; i++)
        maxd = fmax(maxd, fabs(p6[i] - (i < 14 ? p2[i] : p4[i - 14])));
    expect(maxd < 1e-6 && fabs(l6 - l2 - l4) < 1e-5,
           "model: batch of 6 == split 2 + 4 (probs, loss)");
    /* another epoch changes the outputs; inference ignores dropout */
    struct nn_step st_e = {.seed = 9, .epoch = 3, .sample_ids = ids, .train = 1};
    nn_model_train_step(m, x, y, 6, &st_e, &l0, p0);
    expect(fabs(l0 - l6) > 1e-6, "model: another epoch gives another mask");
    struct nn_step st_inf = {.seed = 9, .epoch = 2, .sample_ids = ids, .train = 0};
    double li, lf;
    nn_model_train_step(m, x, y, 6, &st_inf, &li, p0);
    nn_model_forward(m, x, y, 6, &lf, p6);
    expect(fabs(li - lf) < 1e-9 * (1 + fabs(lf)), "model: train=0 equals inference forward");
    nn_model_free(m);
    printf("%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
