/* corpora.h: the emotion labels, the corpora ser recognises, and what a file name says.
 *
 * Labels are data: one canonical list, in class order,
 *   angry disgust fear happy neutral sad surprise | calm boredom
 * the first seven common to the corpora, the last two corpus-only (RAVDESS calm, EmoDB
 * boredom). A model's classes are the labels present in its training data, in this order.
 *
 * Corpora are recognised per file by their naming (or forced with a corpus name), one row of
 * a table each (corpora.c):
 *   tess     SPEAKER_WORD_EMOTION.wav (emotion angry disgust fear happy neutral ps sad,
 *            ps = pleasant surprise -> surprise), speaker from the name or its
 *            SPEAKER_EMOTION folder (scan.h), female
 *   ravdess  MM-VV-EE-II-SS-RR-AA.wav (modality 03 audio-only; vocal channel 01 speech, 02
 *            song: skipped unless asked; emotion 01 neutral 02 calm 03 happy 04 sad 05 angry
 *            06 fearful 07 disgust 08 surprised; intensity, statement, repetition; actor
 *            01-24, odd male); .mp4 (video) always skipped
 *   cremad   AAAA_SSS_EEE_LL.wav (actor 1001-1091, sentence, ANG DIS FEA HAP NEU SAD, level
 *            LO MD HI XX), sex from the corpus's demographics
 *   savee    DC_a01.wav, or a01.wav in a folder DC JE JK KL (a d f h n sa su), male
 *   emodb    03a01Fa.wav (speaker 03 08 09 10 11 12 13 14 15 16, text, W anger L boredom
 *            E disgust A fear F happiness T sadness N neutral, version)
 * Speakers are namespaced by corpus ("tess:OAF", "ravdess:12", "cremad:1001", "savee:DC",
 * "emodb:03"), so that speaker-independent protocols never confuse two corpora's actors.
 */
#ifndef SER_DSP_CORPORA_H
#define SER_DSP_CORPORA_H

#include <stddef.h>

enum dsp_label {
    DSP_ANGRY,
    DSP_DISGUST,
    DSP_FEAR,
    DSP_HAPPY,
    DSP_NEUTRAL,
    DSP_SAD,
    DSP_SURPRISE,
    DSP_CALM,
    DSP_BOREDOM,
    DSP_N_LABELS,
    DSP_N_COMMON_LABELS = DSP_CALM /* the labels common to the corpora */
};

extern const char *const dsp_label_names[DSP_N_LABELS];

/* Label of a name, case-insensitive: the canonical names and the corpora's spellings (ps,
 * pleasant_surprise(d), surprised, fearful, anger, happiness, sadness, bored); -1 if none. */
int dsp_label_index(const char *name);

/* DSP_OTHER: files named by a manifest that follow no corpus's naming. */
enum dsp_corpus_id {
    DSP_TESS,
    DSP_RAVDESS,
    DSP_CREMAD,
    DSP_SAVEE,
    DSP_EMODB,
    DSP_OTHER,
    DSP_N_CORPORA
};

extern const char *const dsp_corpus_names[DSP_N_CORPORA]; /* "tess", ..., "other" */

/* Corpus of a name ("tess", "ravdess", "cremad" or "crema-d", "savee", "emodb"); -1 if none. */
int dsp_corpus_index(const char *name);

/* What a file name says. */
struct dsp_name {
    int corpus;       /* enum dsp_corpus_id */
    int label;        /* enum dsp_label, or -1: skip the file (reason) */
    char speaker[96]; /* namespaced: "tess:OAF" */
    char word[96];    /* what the speaker said (text, sentence, intensity...): with the
                         speaker and the label, the identity of an utterance */
    char gender;      /* 'm', 'f' or '?' */
    char reason[256]; /* "category: detail" when label < 0 */
};

struct dsp_name_opts {
    int corpus;       /* -1: recognise per file; else only this corpus's naming */
    int ravdess_song; /* keep RAVDESS song files (vocal channel 02) */
};

/* Parses file name `name` (no directories) found in folder `folder` (its last component,
 * folder_len bytes, may be empty). Returns 1 with n filled when the file is usable, 0 when it
 * is to be skipped (n->label = -1, n->reason says why: "unlabelled: ...", "song: ...",
 * "video: ..."). */
int dsp_parse_name(const char *name, const char *folder, size_t folder_len,
                   const struct dsp_name_opts *o, struct dsp_name *n);

#endif
