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
    int label, corpus;
    char gender;
};

static void rm_tree(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", dir);
}

int main(void)
{
    /* the label table: order fixes the class order */
    static const char *const names[] = {"angry", "disgust",  "fear", "happy",  "neutral",
                                        "sad",   "surprise", "calm", "boredom"};
    for (int i = 0; i < DSP_N_LABELS; i++) {
        CHECK(strcmp(dsp_label_names[i], names[i]) == 0, "label %d is %s", i, dsp_label_names[i]);
        CHECK(dsp_label_index(names[i]) == i, "index of %s", names[i]);
    }
    CHECK(dsp_label_index("PS") == DSP_SURPRISE, "PS");
    CHECK(dsp_label_index("pleasant_surprised") == DSP_SURPRISE, "pleasant_surprised");
    CHECK(dsp_label_index("Angry") == DSP_ANGRY, "Angry");
    CHECK(dsp_label_index("fearful") == DSP_FEAR, "fearful");
    CHECK(dsp_label_index("bored") == DSP_BOREDOM, "bored");
    CHECK(dsp_label_index("sadness") == DSP_SAD, "sadness");
    CHECK(dsp_label_index("joy") == -1, "joy");
    CHECK(dsp_label_index("") == -1, "empty");
    CHECK(dsp_label_index(NULL) == -1, "NULL");
    CHECK(dsp_corpus_index("crema-d") == DSP_CREMAD && dsp_corpus_index("EmoDB") == DSP_EMODB &&
              dsp_corpus_index("x") == -1,
          "corpus names");

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
        "misc/OAF_q_calm.wav",                   /* calm: a label (RAVDESS's) */
        "misc/OAF_q_joy.wav",                    /* unlabelled */
        "Actor_01/03-01-05-01-01-01-01.wav",     /* RAVDESS speech, actor 1 (male), angry */
        "Actor_01/03-02-05-01-01-01-01.wav",     /* RAVDESS song: skipped */
        "Actor_01/01-01-05-01-01-01-01.mp4",     /* RAVDESS video: skipped */
        "Actor_01/clip.mp4",                     /* a video of no corpus: ignored */
        "AudioWAV/1076_MTI_NEU_XX.wav",          /* CREMA-D, actor 1076 (female), neutral */
        "AudioData/DC/a01.wav",                  /* SAVEE nested: speaker from the folder */
        "ALL/JE_sa03.wav",                       /* SAVEE flat, sadness */
        "wav/03a01Fa.wav",                       /* EmoDB, speaker 03 (male), happiness */
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
        {"ALL/JE_sa03.wav", "savee:JE", "sa03", DSP_SAD, DSP_SAVEE, 'm'},
        {"Actor_01/03-01-05-01-01-01-01.wav", "ravdess:01", "03-01-05-01-01-01", DSP_ANGRY,
         DSP_RAVDESS, 'm'},
        {"AudioData/DC/a01.wav", "savee:DC", "a01", DSP_ANGRY, DSP_SAVEE, 'm'},
        {"AudioWAV/1076_MTI_NEU_XX.wav", "cremad:1076", "MTI_XX", DSP_NEUTRAL, DSP_CREMAD, 'f'},
        {"OAF_Fear/YAF_y_fear.oga", "tess:OAF", "y", DSP_FEAR, DSP_TESS, 'f'},
        {"OAF_neutral/OAF_Back_NEUTRAL.wav", "tess:OAF", "Back", DSP_NEUTRAL, DSP_TESS, 'f'},
        {"OAF_neutral/OA_bite_neutral.wav", "tess:OAF", "bite", DSP_NEUTRAL, DSP_TESS, 'f'},
        {"YAF_pleasant_surprised/YAF_dog_ps.wav", "tess:YAF", "dog", DSP_SURPRISE, DSP_TESS, 'f'},
        {"deep/a/b/c/d/YAF_deep_happy.wav", "tess:YAF", "deep", DSP_HAPPY, DSP_TESS, 'f'},
        {"misc/OAF_q_calm.wav", "tess:OAF", "q", DSP_CALM, DSP_TESS, 'f'},
        {"misc/cat_angry.au", "tess:unknown", "cat", DSP_ANGRY, DSP_TESS, 'f'},
        {"misc/yaf_multi_part_word_sad.aiff", "tess:YAF", "multi_part_word", DSP_SAD, DSP_TESS,
         'f'},
        {"my_data/OAF_x_fear.flac", "tess:OAF", "x", DSP_FEAR, DSP_TESS, 'f'},
        {"wav/03a01Fa.wav", "emodb:03", "a01a", DSP_HAPPY, DSP_EMODB, 'm'},
    };
    enum { NWANT = sizeof want / sizeof want[0] };
    struct dsp_corpus c;
    memset(&c, 0, sizeof c);
    struct err e = {0};
    struct dsp_scan_opts so;
    dsp_scan_default_opts(&so);
    so.validate = 0;
    int rc = dsp_scan(root, &so, &c, &e);
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
        CHECK(c.items[i].corpus == want[i].corpus && c.items[i].gender == want[i].gender,
              "%s: corpus %d gender %c, expected %d %c", want[i].rel, c.items[i].corpus,
              c.items[i].gender, want[i].corpus, want[i].gender);
    }
    /* sorted by path: the RAVDESS video and song, the two unlabelled TESS-style names */
    static const char *const skips[][2] = {{"Actor_01/01-01-05-01-01-01-01.mp4", "video: "},
                                           {"Actor_01/03-02-05-01-01-01-01.wav", "song: "},
                                           {"misc/OAF_q_joy.wav", "unlabelled: "},
                                           {"misc/nolabel.ogg", "unlabelled: "}};
    CHECK(c.n_skipped == 4, "%zu skipped, expected 4", c.n_skipped);
    for (size_t i = 0; i < c.n_skipped && i < 4; i++) {
        char p[600];
        snprintf(p, sizeof p, "%s/%s", root, skips[i][0]);
        CHECK(strcmp(c.skipped[i].path, p) == 0, "skip %zu %s, expected %s", i, c.skipped[i].path,
              p);
        CHECK(strncmp(c.skipped[i].reason, skips[i][1], strlen(skips[i][1])) == 0, "%s: reason %s",
              skips[i][0], c.skipped[i].reason);
    }
    CHECK(c.n_duplicates == 1, "%zu duplicates, expected 1", c.n_duplicates);
    /* OAF_z_angry, notes.txt, sub/.hidden_angry.wav, .git, misc/loop, Actor_01/clip.mp4 */
    CHECK(c.n_ignored == 6, "%zu ignored, expected 6", c.n_ignored);
    dsp_corpus_free(&c);
    CHECK(c.items == NULL && c.n == 0 && c.skipped == NULL, "free zeroes the corpus");
    dsp_corpus_free(&c); /* a second free of a zeroed corpus is harmless */

    /* fatal errors name the path */
    char missing[600];
    snprintf(missing, sizeof missing, "%s/does-not-exist", root);
    memset(&e, 0, sizeof e);
    CHECK(dsp_scan(missing, &so, &c, &e) == -1, "missing dir accepted");
    CHECK(strstr(e.msg, missing) != NULL, "message '%s' does not name the path", e.msg);
    dsp_corpus_free(&c);
    char notcsv[600];
    snprintf(notcsv, sizeof notcsv, "%s/notes.txt", root);
    CHECK(dsp_scan(notcsv, &so, &c, &e) == -1 && strstr(e.msg, notcsv), "not a csv: %s", e.msg);
    dsp_corpus_free(&c);
    char badcsv[600];
    snprintf(badcsv, sizeof badcsv, "%s/bad.csv", root);
    FILE *f = fopen(badcsv, "w");
    if (f) {
        fputs("path,emotion\nx.wav,angry\n", f);
        fclose(f);
    }
    CHECK(dsp_scan(badcsv, NULL, &c, &e) == -1 && strstr(e.msg, badcsv) && strstr(e.msg, "emotion"),
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
