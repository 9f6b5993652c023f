/* test_nn_augment.c: prints nn/augment.c's draws for tests/test_augment.py, which recomputes
 * them independently (tests/ser_rng.py) and checks their distributions:
 *   mask SEED EPOCH ID KIND M N WMAX START WIDTH    SpecAugment masks over a grid of keys
 *   lam ALPHA SEED EPOCH ID VALUE                  mixup's Beta(alpha, alpha) draws
 *   perm N SEED EPOCH BATCH P0 P1 ...              mixup partner permutations
 *   apply PLANES F T F T NF NT SEED EPOCH ID 0101...  which values nn_specaug_apply zeroed
 *                                                  in a [planes][F][T] sample (1: zeroed) */
#include <stdio.h>
#include <stdlib.h>

#include "nn/augment.h"

int main(void)
{
    size_t s, w;
    for (uint64_t id = 0; id < 4000; id++)
        for (long m = 0; m < 2; m++) {
            unsigned kind = m ? NN_AUG_TIME : NN_AUG_FREQ;
            size_t n = m ? 130 : 40;
            long wmax = m ? 25 : 8;
            nn_specaug_mask(7, id % 3, id, kind, m, n, wmax, &s, &w);
            printf("mask 7 %llu %llu %u %ld %zu %ld %zu %zu\n", (unsigned long long)(id % 3),
                   (unsigned long long)id, kind, m, n, wmax, s, w);
        }
    static const double alphas[] = {0.2, 0.4, 1.0, 2.0};
    for (int a = 0; a < 4; a++)
        for (uint64_t id = 0; id < 4000; id++)
            printf("lam %.17g 42 %llu %llu %.9g\n", alphas[a], (unsigned long long)(id % 5),
                   (unsigned long long)id, (double)nn_mixup_lambda(alphas[a], 42, id % 5, id));
    size_t perm[40];
    for (uint64_t b = 0; b < 50; b++) {
        size_t n = 1 + b % 40;
        nn_mixup_partners(perm, n, 3, b % 4, b);
        printf("perm %zu 3 %llu %llu", n, (unsigned long long)(b % 4), (unsigned long long)b);
        for (size_t i = 0; i < n; i++) printf(" %zu", perm[i]);
        printf("\n");
    }
    enum { P = 2, F = 6, T = 11 };
    float x[P * F * T];
    struct nn_specaug sa = {3, 4, 2, 2};
    for (uint64_t id = 0; id < 200; id++) {
        for (size_t i = 0; i < P * F * T; i++) x[i] = 1.0f + (float)i;
        nn_specaug_apply(x, P, F, T, &sa, 9, 1, id);
        printf("apply %d %d %d %ld %ld %ld %ld 9 1 %llu ", P, F, T, sa.f, sa.t, sa.nf, sa.nt,
               (unsigned long long)id);
        for (size_t i = 0; i < P * F * T; i++) putchar(x[i] == 0.0f ? '1' : '0');
        printf("\n");
    }
    return 0;
}
