/* fuzz_manifest.c: the CSV manifest reader, dsp_scan() on a regular file whose name ends in
 * .csv (dsp/scan.h), with validate = 0 so that no audio is decoded.
 *
 * The input is written to m.csv in a private temporary directory, which also holds a few
 * empty files that rows may name (OAF_back_angry.wav, YAF_bath_ps.wav,
 * OAF_Fear/OAF_dog_fear.wav, notes.txt), so that kept rows, duplicates and conflicts are
 * reached as well as the rows skipped because their file is missing. A failure must come with
 * a message; on success the corpus must be as scan.h promises: items sorted by path
 * (bytewise) without repeats, labels 0..8, namespaced speakers "corpus:ID" with an upper-case ID
 * (or "unknown"), a corpus and a gender (m, f, ?), every string
 * present, and the skipped files sorted by path with a "category: detail" reason. */
#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include "dsp/scan.h"
#include "tests/fuzz/fuzz_util.h"

static const char *csv_path;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    static const char *const files[] = {"OAF_back_angry.wav", "YAF_bath_ps.wav",
                                        "OAF_Fear/OAF_dog_fear.wav", "notes.txt"};
    FUZZ_CHECK(mkdir(fuzz_tmp_track("OAF_Fear"), 0700) == 0, "mkdir");
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        fuzz_write_file(fuzz_tmp_track(files[i]), (const uint8_t *)"", 0);
    csv_path = fuzz_tmp_track("m.csv");
    return 0;
}

static void check_corpus(const struct dsp_corpus *c)
{
    for (size_t i = 0; i < c->n; i++) {
        const struct dsp_item *it = &c->items[i];
        FUZZ_CHECK(it->path && it->speaker && it->word, "item %zu: a string is missing", i);
        FUZZ_CHECK(it->label >= 0 && it->label < DSP_N_LABELS, "item %zu: label %d", i, it->label);
        if (i > 0)
            FUZZ_CHECK(strcmp(c->items[i - 1].path, it->path) < 0,
                       "items not sorted or repeated: '%s' then '%s'", c->items[i - 1].path,
                       it->path);
        FUZZ_CHECK(it->corpus >= 0 && it->corpus < DSP_N_CORPORA, "item %zu: corpus %d", i,
                   it->corpus);
        FUZZ_CHECK(it->gender == 'm' || it->gender == 'f' || it->gender == '?',
                   "item %zu: gender %d", i, it->gender);
        const char *id = strchr(it->speaker, ':');
        FUZZ_CHECK(id && id > it->speaker, "speaker '%s' not namespaced", it->speaker);
        if (id && strcmp(id + 1, "unknown") != 0)
            for (const char *s = id + 1; *s; s++)
                FUZZ_CHECK(!islower((unsigned char)*s), "speaker '%s': id not upper-case",
                           it->speaker);
    }
    for (size_t i = 0; i < c->n_skipped; i++) {
        const struct dsp_skip *s = &c->skipped[i];
        FUZZ_CHECK(s->path && s->reason && strstr(s->reason, ": "),
                   "skipped %zu: path or 'category: detail' reason missing", i);
        if (i > 0)
            FUZZ_CHECK(strcmp(c->skipped[i - 1].path, s->path) <= 0,
                       "skipped files not sorted: '%s' then '%s'", c->skipped[i - 1].path, s->path);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_write_file(csv_path, data, size);
    struct dsp_corpus c = {0};
    struct err e = {0};
    int rc = dsp_scan(csv_path, 0, &c, &e);
    fuzz_expect_valid(rc, e.msg);
    if (rc == 0)
        check_corpus(&c);
    else
        FUZZ_CHECK(e.msg[0], "scan failed without a message");
    dsp_corpus_free(&c);
    return 0;
}
