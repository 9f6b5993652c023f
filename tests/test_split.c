/* test_split.c: the train/val/test split (mpi/split.h), against counts derived by hand:
 *  - 2 speakers x 7 labels x 200 files (TESS): exactly 420 test and 420 validation files,
 *    and every (speaker, label) group gets exactly 30 + 30;
 *  - groups of 10 (7 speakers x 7 labels): 15% of 490 = 73.5 -> 74 test, 74 val overall (the
 *    old per-group rounding gave 2 + 2 of every 10: 20/20/60);
 *  - 40,000 files, one speaker each, one label: 6,000 test and 6,000 validation files (the
 *    old code gave none and failed), in well under a second (O(n log n));
 *  - every group's test and validation counts are the floor or the ceiling of its share;
 *  - speaker:NAME puts exactly that speaker's files in test and none in train/validation;
 *  - the same seed gives the same split, another seed another one;
 *  - corpus:NAME holds out exactly that corpus; bare speaker names work when unambiguous and
 *    are refused when two corpora share them; --val-speakers N validates on N whole training
 *    speakers, never the test one. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mpi/split.h"

#include "tests/check.h"

static long val_speakers;      /* --val-speakers for the next split() calls */
static const int32_t *corpora; /* corpus of each file; NULL: all TESS */

static int split(size_t n, char **spk, int32_t *lab, const char *how, uint64_t seed, int *a,
                 size_t cnt[3])
{
    struct err e = {0};
    int32_t *tess = corpora ? NULL : calloc(n, sizeof *tess);
    struct dist_split_spec sp = {how, seed, 0.15, 0.15, val_speakers};
    int rc = dist_split(n, spk, lab, corpora ? corpora : tess, &sp, a, &e);
    free(tess);
    if (rc) fprintf(stderr, "split: %s\n", e.msg);
    cnt[0] = cnt[1] = cnt[2] = 0;
    for (size_t i = 0; i < n; i++) cnt[a[i]]++;
    return rc;
}

/* n files: speaker "tess:S<i / per_spk>", label (i % per_spk) / per_label. */
static void corpus(size_t n, size_t per_spk, size_t per_label, char ***spk, int32_t **lab)
{
    *spk = malloc(n * sizeof **spk);
    *lab = malloc(n * sizeof **lab);
    for (size_t i = 0; i < n; i++) {
        char name[32];
        snprintf(name, sizeof name, "tess:S%zu", i / per_spk);
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

    /* Two corpora, 4 speakers each (8 x 7 labels x 10 files): speakers "tess:S0".."tess:S3"
     * and "savee:S4".."savee:S7", i.e. files 0..279 TESS and 280..559 SAVEE. */
    corpus(560, 70, 10, &spk, &lab);
    int32_t *cor = malloc(560 * sizeof *cor);
    for (size_t i = 0; i < 560; i++) {
        cor[i] = i < 280 ? 0 : 3;
        if (i < 280) continue;
        char name[32];
        snprintf(name, sizeof name, "savee:S%zu", i / 70);
        free(spk[i]);
        spk[i] = strdup(name);
    }
    corpora = cor;
    CHECK(split(560, spk, lab, "corpus:savee", 3, a, cnt) == 0, "corpus split");
    for (size_t i = 0; i < 560; i++)
        CHECK((a[i] == DIST_TEST) == (i >= 280), "corpus:savee: file %zu in subset %d", i, a[i]);
    CHECK(cnt[1] == 49, "corpus split: %zu validation files, want round(0.15/0.85 * 280) = 49",
          cnt[1]);
    CHECK(split(560, spk, lab, "corpus:emodb", 3, a, cnt) != 0, "a corpus with no file");
    CHECK(split(560, spk, lab, "corpus:nosuch", 3, a, cnt) != 0, "an unknown corpus");
    CHECK(split(560, spk, lab, "speaker:s5", 3, a, cnt) == 0, "an unambiguous bare name");
    for (size_t i = 0; i < 560; i++)
        CHECK((a[i] == DIST_TEST) == (i / 70 == 5), "speaker:s5: file %zu in subset %d", i, a[i]);
    CHECK(split(560, spk, lab, "speaker:savee:S5,tess:S0", 3, a, cnt) == 0, "namespaced names");
    CHECK(cnt[2] == 140, "speaker:savee:S5,tess:S0: %zu test files", cnt[2]);
    CHECK(split(560, spk, lab, "speaker:tess:S5", 3, a, cnt) != 0, "tess:S5 does not exist");
    CHECK(split(560, spk, lab, "speaker:S9", 3, a, cnt) != 0, "unknown speaker");
    /* --val-speakers 2: validation is exactly two whole speakers, neither the test one */
    val_speakers = 2;
    CHECK(split(560, spk, lab, "speaker:S1", 5, a, cnt) == 0, "val-speakers split");
    int in_val[8] = {0}, in_train[8] = {0}, n_val = 0;
    for (size_t i = 0; i < 560; i++)
        in_val[i / 70] |= a[i] == DIST_VAL, in_train[i / 70] |= a[i] == DIST_TRAIN;
    for (int k = 0; k < 8; k++) {
        n_val += in_val[k];
        CHECK(!(in_val[k] && in_train[k]), "speaker %d in both training and validation", k);
    }
    CHECK(n_val == 2 && !in_val[1] && cnt[1] == 140, "val-speakers: %d speakers, %zu files", n_val,
          cnt[1]);
    CHECK(split(560, spk, lab, "speaker:S1", 5, b, cnt) == 0 && memcmp(a, b, 560 * sizeof *a) == 0,
          "val-speakers: same seed, different split");
    val_speakers = 7;
    CHECK(split(560, spk, lab, "speaker:S1", 5, a, cnt) != 0, "7 validation speakers of 7");
    val_speakers = 0;
    /* ambiguity: a bare name that two corpora share */
    for (size_t i = 280; i < 350; i++) free(spk[i]), spk[i] = strdup("savee:S0");
    CHECK(split(560, spk, lab, "speaker:S0", 3, a, cnt) != 0, "ambiguous bare name S0");
    CHECK(split(560, spk, lab, "speaker:tess:S0", 3, a, cnt) == 0, "tess:S0 is not ambiguous");
    corpora = NULL;
    free(cor);
    free_corpus(560, spk, lab);
    free(a), free(b);
    printf("test_split: %d failure(s)\n", failures);
    return failures != 0;
}
