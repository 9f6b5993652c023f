/* split.c: stratified splits and epoch shuffles (see split.h). */
#include "mpi/split.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn/rng.h"

static uint64_t hash_str(uint64_t h, const char *s)
{
    for (; *s; s++) h = nn_rng_key(h, (unsigned char)*s);
    return nn_rng_key(h, 0);
}

/* Shuffles a[0..n) in place with keys (k0, k1). */
static void shuffle(size_t *a, size_t n, uint64_t k0, uint64_t k1)
{
    for (size_t i = n; i > 1; i--) {
        uint64_t r = nn_rng_hash5(k0, k1, i, 0x5817, 0);
        size_t j = (size_t)(r % i);
        size_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

void dist_shuffle(const size_t *idx, size_t n, uint64_t seed, uint64_t epoch, size_t *perm)
{
    memcpy(perm, idx, n * sizeof *perm);
    shuffle(perm, n, nn_rng_key(seed, 0xe90c), epoch);
}

int dist_split(size_t n, char *const *speaker, const int32_t *label, const char *how, uint64_t seed,
               double val_frac, double test_frac, int *assign, struct err *e)
{
    const char *held = NULL;
    if (strncmp(how, "speaker:", 8) == 0) {
        held = how + 8;
        if (!*held) return err_set(e, "--split speaker:NAME needs a speaker name");
    } else if (strcmp(how, "random") != 0) {
        return err_set(e, "--split: unknown split '%s' (use random or speaker:NAME)", how);
    }
    if (!(val_frac >= 0 && test_frac >= 0 && val_frac + test_frac < 1))
        return err_set(e, "split fractions %g/%g are invalid", val_frac, test_frac);
    size_t *grp = malloc((n ? n : 1) * sizeof *grp);
    char *done = calloc(n ? n : 1, 1);
    if (!grp || !done) {
        free(grp), free(done);
        return err_set(e, "out of memory");
    }
    size_t n_held = 0;
    for (size_t i = 0; i < n; i++) {
        assign[i] = DIST_TRAIN;
        if (held && strcmp(speaker[i], held) == 0) {
            assign[i] = DIST_TEST;
            done[i] = 1;
            n_held++;
        }
    }
    double vf = held ? val_frac / (1 - test_frac) : val_frac, tf = held ? 0 : test_frac;
    for (size_t i = 0; i < n; i++) {
        if (done[i]) continue;
        size_t g = 0;
        for (size_t j = i; j < n; j++)
            if (!done[j] && label[j] == label[i] && strcmp(speaker[j], speaker[i]) == 0) {
                grp[g++] = j;
                done[j] = 1;
            }
        shuffle(grp, g, nn_rng_key(hash_str(seed, speaker[i]), (uint64_t)label[i]), 0x591);
        size_t nt = (size_t)lround(tf * (double)g), nv = (size_t)lround(vf * (double)g);
        for (size_t k = 0; k < g; k++)
            assign[grp[k]] = k < nt ? DIST_TEST : k < nt + nv ? DIST_VAL : DIST_TRAIN;
    }
    free(grp);
    free(done);
    if (held && n_held == 0) return err_set(e, "--split %s: no file of speaker %s", how, held);
    size_t cnt[3] = {0, 0, 0};
    for (size_t i = 0; i < n; i++) cnt[assign[i]]++;
    if (cnt[DIST_TRAIN] == 0 || cnt[DIST_VAL] == 0 || cnt[DIST_TEST] == 0)
        return err_set(e,
                       "split %s of %zu files leaves an empty subset (train %zu, val %zu, "
                       "test %zu): the corpus is too small",
                       how, n, cnt[0], cnt[1], cnt[2]);
    return 0;
}

uint64_t dist_split_hash(size_t n, char *const *path, const int *assign)
{
    uint64_t h = nn_rng_key(0x5b11, n);
    for (size_t i = 0; i < n; i++) h = nn_rng_key(hash_str(h, path[i]), (uint64_t)assign[i]);
    return h;
}
