/* test_split.c: the train/val/test split (mpi/split.h), against counts derived by hand:
 *  - 2 speakers x 7 labels x 200 files (TESS): exactly 420 test and 420 validation files,
 *    and every (speaker, label) group gets exactly 30 + 30;
 *  - groups of 10 (7 speakers x 7 labels): 15% of 490 = 73.5 -> 74 test, 74 val overall (the
 *    old per-group rounding gave 2 + 2 of every 10: 20/20/60);
 *  - 40,000 files, one speaker each, one label: 6,000 test and 6,000 validation files (the
 *    old code gave none and failed), in well under a second (O(n log n));
 *  - every group's test and validation counts are the floor or the ceiling of its share;
 *  - speaker:NAME puts exactly that speaker's files in test and none in train/validation;
 *  - the same seed gives the same split, another seed another one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpi/split.h"

#include "tests/check.h"

static int split(size_t n, char **spk, int32_t *lab, const char *how, uint64_t seed, int *a,
                 size_t cnt[3])
{
    struct err e = {0};
    int rc = dist_split(n, spk, lab, how, seed, 0.15, 0.15, a, &e);
    if (rc) fprintf(stderr, "split: %s\n", e.msg);
    cnt[0] = cnt[1] = cnt[2] = 0;
    for (size_t i = 0; i < n; i++) cnt[a[i]]++;
    return rc;
}

/* n files: speaker i / per_spk, label (i % per_spk) / per_label. */
static void corpus(size_t n, size_t per_spk, size_t per_label, char ***spk, int32_t **lab)
{
    *spk = malloc(n * sizeof **spk);
    *lab = malloc(n * sizeof **lab);
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "S%zu", i / per_spk);
        (*spk)[i] = strdup(name);
        (*lab)[i] = (int32_t)((i % per_spk) / per_label);
    }
}

static void free_corpus(size_t n, char **spk, int32_t *lab)
{
    for (size_t i = 0; i < n; i++) free(spk[i]);
    free(spk);
    free(lab);
}

/* Every group (per_spk / per_label files each, consecutive) has floor/ceil of its share. */
static int groups_fair(size_t n, size_t group, const int *a)
{
    for (size_t g = 0; g * group < n; g++) {
        size_t c[3] = {0, 0, 0};
        for (size_t k = 0; k < group; k++) c[a[g * group + k]]++;
        double share = 0.15 * (double)group;
        for (int s = 1; s <= 2; s++)
            if ((double)c[s] < share - 1 || (double)c[s] > share + 1) return 0;
    }
    return 1;
}

int main(void)
{
    char **spk;
    int32_t *lab;
    size_t cnt[3];
    int *a = malloc(40000 * sizeof *a), *b = malloc(40000 * sizeof *b);

    corpus(2800, 1400, 200, &spk, &lab); /* TESS */
    CHECK(split(2800, spk, lab, "random", 42, a, cnt) == 0, "TESS split");
    CHECK(cnt[2] == 420 && cnt[1] == 420 && cnt[0] == 1960, "TESS: %zu/%zu/%zu", cnt[0], cnt[1],
          cnt[2]);
    CHECK(groups_fair(2800, 200, a), "TESS: a group is off its share");
    for (size_t g = 0; g < 14; g++) {
        size_t c[3] = {0, 0, 0};
        for (size_t k = 0; k < 200; k++) c[a[g * 200 + k]]++;
        CHECK(c[1] == 30 && c[2] == 30, "TESS group %zu: %zu val, %zu test", g, c[1], c[2]);
    }
    split(2800, spk, lab, "random", 42, b, cnt);
    CHECK(memcmp(a, b, 2800 * sizeof *a) == 0, "same seed, different split");
    split(2800, spk, lab, "random", 43, b, cnt);
    CHECK(memcmp(a, b, 2800 * sizeof *a) != 0, "another seed, same split");
    CHECK(split(2800, spk, lab, "speaker:S1", 42, a, cnt) == 0, "speaker split");
    for (size_t i = 0; i < 2800; i++)
        CHECK((a[i] == DIST_TEST) == (i >= 1400), "speaker split: file %zu in subset %d", i, a[i]);
    CHECK(cnt[1] == 247, "speaker split: %zu validation files, want round(0.15/0.85 * 1400) = 247",
          cnt[1]);
    free_corpus(2800, spk, lab);

    corpus(490, 70, 10, &spk, &lab); /* groups of 10 */
    CHECK(split(490, spk, lab, "random", 7, a, cnt) == 0, "groups of 10");
    CHECK(cnt[2] == 74 && cnt[1] == 74, "groups of 10: %zu/%zu/%zu", cnt[0], cnt[1], cnt[2]);
    CHECK(groups_fair(490, 10, a), "groups of 10: a group is off its share");
    free_corpus(490, spk, lab);

    corpus(40000, 1, 1, &spk, &lab); /* one file per speaker */
    clock_t t0 = clock();
    CHECK(split(40000, spk, lab, "random", 1, a, cnt) == 0, "40,000 singletons");
    double s = (double)(clock() - t0) / CLOCKS_PER_SEC;
    CHECK(cnt[2] == 6000 && cnt[1] == 6000, "singletons: %zu/%zu/%zu", cnt[0], cnt[1], cnt[2]);
    printf("test_split: 40,000 singleton groups split in %.3f s\n", s);
    free_corpus(40000, spk, lab);
    free(a), free(b);
    printf("test_split: %d failure(s)\n", failures);
    return failures != 0;
}
