/* test_scan_api.c: unit test of the dsp/scan.h API without audio (validate = 0).
 *
 * Checks the label table and dsp_label_index, then scans a tree of empty files made here and
 * compares every item (path, speaker, word, label), the skip list, and the duplicate and
 * ignored counts with values written out by hand from the rules in scan.h (the reference).
 * Also: fatal errors name the path, dsp_corpus_free accepts zeroed and freed corpora.
 * Exits non-zero on any failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dsp/scan.h"

#include "tests/check.h"

static char root[256];

static int touch(const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    /* make the parent folders */
    for (char *s = p + strlen(root) + 1; (s = strchr(s, '/')) != NULL; s++) {
        *s = 0;
        mkdir(p, 0755);
        *s = '/';
    }
    FILE *f = fopen(p, "w");
    if (!f) return -1;
    return fclose(f);
}

struct want {
    const char *rel, *speaker, *word;
    int label;
};

static void rm_tree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", dir);
}

int main(void)
{
    /* the label table: order fixes the class indices */
    static const char *const names[] = {"angry",   "disgust", "fear", "happy",
                                        "neutral", "ps",      "sad"};
    for (int i = 0; i < DSP_N_LABELS; i++) {
        CHECK(strcmp(dsp_label_names[i], names[i]) == 0, "label %d is %s", i, dsp_label_names[i]);
        CHECK(dsp_label_index(names[i]) == i, "index of %s", names[i]);
    }
    CHECK(dsp_label_index("PS") == 5, "PS");
    CHECK(dsp_label_index("Angry") == 0, "Angry");
    CHECK(dsp_label_index("SAD") == 6, "SAD");
    CHECK(dsp_label_index("bored") == -1, "bored");
    CHECK(dsp_label_index("") == -1, "empty");
    CHECK(dsp_label_index("sadness") == -1, "sadness");
    CHECK(dsp_label_index(NULL) == -1, "NULL");

    snprintf(root, sizeof root, "%s/ser_scan_api_XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    const char *files[] = {
        "OAF_neutral/OA_bite_neutral.wav",       /* misnamed: speaker from the folder */
        "OAF_neutral/OAF_Back_NEUTRAL.wav",      /* label case */
        "YAF_pleasant_surprised/YAF_dog_ps.wav", /* kept: 'Y' < 'd' */
        "YAF_pleasant_surprised/dog_ps.WAV",     /* 2 fields: duplicate of YAF dog ps */
        "misc/yaf_multi_part_word_sad.aiff",     /* word with '_', speaker from the file */
        "misc/cat_angry.au",                     /* 2 fields, folder not SPEAKER_EMOTION */
        "my_data/OAF_x_fear.flac",               /* my_data is not SPEAKER_EMOTION */
        "OAF_Fear/YAF_y_fear.oga",               /* prefixes disagree: the folder wins */
        "misc/OAF_q_calm.wav",                   /* unlabelled */
        "misc/nolabel.ogg",                      /* unlabelled: no '_' */
        "deep/a/b/c/d/YAF_deep_happy.wav",
        "OAF_z_angry",           /* no extension: ignored */
        "notes.txt",             /* ignored */
        "sub/.hidden_angry.wav", /* hidden: ignored */
        ".git/OAF_h_angry.wav",  /* hidden dir: ignored (counts once) */
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (touch(files[i])) {
            perror(files[i]);
            rm_tree(root);
            return 1;
        }
    char link[600];
    snprintf(link, sizeof link, "%s/misc/loop", root);
    if (symlink("..", link) != 0) perror("symlink");

    static const struct want want[] = {
        {"OAF_Fear/YAF_y_fear.oga", "OAF", "y", 2},
        {"OAF_neutral/OAF_Back_NEUTRAL.wav", "OAF", "Back", 4},
        {"OAF_neutral/OA_bite_neutral.wav", "OAF", "bite", 4},
        {"YAF_pleasant_surprised/YAF_dog_ps.wav", "YAF", "dog", 5},
        {"deep/a/b/c/d/YAF_deep_happy.wav", "YAF", "deep", 3},
        {"misc/cat_angry.au", "unknown", "cat", 0},
        {"misc/yaf_multi_part_word_sad.aiff", "YAF", "multi_part_word", 6},
        {"my_data/OAF_x_fear.flac", "OAF", "x", 2},
    };
    enum { NWANT = sizeof want / sizeof want[0] };
    struct dsp_corpus c;
    memset(&c, 0, sizeof c);
    struct err e = {0};
    int rc = dsp_scan(root, 0, &c, &e);
    CHECK(rc == 0, "dsp_scan: %s", e.msg);
    CHECK(c.n == NWANT, "%zu items, expected %d", c.n, NWANT);
    for (size_t i = 0; i < c.n && i < NWANT; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s/%s", root, want[i].rel);
        CHECK(strcmp(c.items[i].path, p) == 0, "item %zu path %s, expected %s", i, c.items[i].path,
              p);
        CHECK(strcmp(c.items[i].speaker, want[i].speaker) == 0, "%s: speaker %s, expected %s",
              want[i].rel, c.items[i].speaker, want[i].speaker);
        CHECK(strcmp(c.items[i].word, want[i].word) == 0, "%s: word %s, expected %s", want[i].rel,
              c.items[i].word, want[i].word);
        CHECK(c.items[i].label == want[i].label, "%s: label %d, expected %d", want[i].rel,
              c.items[i].label, want[i].label);
    }
    CHECK(c.n_skipped == 2, "%zu skipped, expected 2", c.n_skipped);
    if (c.n_skipped == 2) {
        char p[600];
        snprintf(p, sizeof p, "%s/misc/OAF_q_calm.wav", root);
        CHECK(strcmp(c.skipped[0].path, p) == 0, "skip 0 %s", c.skipped[0].path);
        CHECK(strncmp(c.skipped[0].reason, "unlabelled: ", 12) == 0, "reason %s",
              c.skipped[0].reason);
        snprintf(p, sizeof p, "%s/misc/nolabel.ogg", root);
        CHECK(strcmp(c.skipped[1].path, p) == 0, "skip 1 %s", c.skipped[1].path);
        CHECK(strncmp(c.skipped[1].reason, "unlabelled: ", 12) == 0, "reason %s",
              c.skipped[1].reason);
    }
    CHECK(c.n_duplicates == 1, "%zu duplicates, expected 1", c.n_duplicates);
    /* OAF_z_angry, notes.txt, sub/.hidden_angry.wav, .git, misc/loop */
    CHECK(c.n_ignored == 5, "%zu ignored, expected 5", c.n_ignored);
    dsp_corpus_free(&c);
    CHECK(c.items == NULL && c.n == 0 && c.skipped == NULL, "free zeroes the corpus");
    dsp_corpus_free(&c); /* a second free of a zeroed corpus is harmless */

    /* fatal errors name the path */
    char missing[600];
    snprintf(missing, sizeof missing, "%s/does-not-exist", root);
    memset(&e, 0, sizeof e);
    CHECK(dsp_scan(missing, 0, &c, &e) == -1, "missing dir accepted");
    CHECK(strstr(e.msg, missing) != NULL, "message '%s' does not name the path", e.msg);
    dsp_corpus_free(&c);
    char notcsv[600];
    snprintf(notcsv, sizeof notcsv, "%s/notes.txt", root);
    CHECK(dsp_scan(notcsv, 0, &c, &e) == -1 && strstr(e.msg, notcsv), "not a csv: %s", e.msg);
    dsp_corpus_free(&c);
    char badcsv[600];
    snprintf(badcsv, sizeof badcsv, "%s/bad.csv", root);
    FILE *f = fopen(badcsv, "w");
    if (f) {
        fputs("path,emotion\nx.wav,angry\n", f);
        fclose(f);
    }
    CHECK(dsp_scan(badcsv, 1, &c, &e) == -1 && strstr(e.msg, badcsv) && strstr(e.msg, "emotion"),
          "bad header: %s", e.msg);
    dsp_corpus_free(&c);

    rm_tree(root);
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("test_scan_api: all checks passed\n");
    return 0;
}
