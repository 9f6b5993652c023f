/* scan.h: corpus scanning and label parsing. Turns a TESS-shaped directory tree (or a CSV
 * manifest) into a sorted, de-duplicated list of (path, speaker, word, label) items plus the
 * list of skipped files with their reasons. Matches the file naming of the Toronto Emotional
 * Speech Set (TESS) in both its releases: the original flat one and the Kaggle copy that holds
 * the whole set twice (see docs/corpus.md §9).
 *
 * File names: SPEAKER_WORD_LABEL.ext. The stem is split on '_':
 *   label   = the last field, case-insensitive, one of dsp_label_names (else "unlabelled");
 *             a stem without '_' is unlabelled.
 *   word    = the middle field(s) joined by '_' (3+ fields), or the first field (2 fields).
 *   speaker = with F = the file's first field (only when the stem has 3+ fields) and
 *             D = the first '_' field of the parent folder when that folder is named
 *             SPEAKER_EMOTION (EMOTION, case-insensitive, is a label name or one of
 *             pleasant_surprise(d), surprise(d)):
 *               F if F equals D (case-insensitive), else D if the folder is SPEAKER_EMOTION,
 *               else F if present, else "unknown"; upper-cased (but the placeholder "unknown").
 *             So TESS's misnamed OAF_neutral/OA_bite_neutral.wav has speaker OAF.
 *
 * Directory trees: audio files are those with extension .wav .flac .ogg .oga .aiff .aif .au
 * (case-insensitive); other files are ignored and counted in n_ignored, as are hidden entries
 * (names starting with '.', never descended into), symlinks to directories (never followed, so
 * symlink loops cannot hang the scan) and special files. Symlinks to files are followed.
 * Duplicates: items with the same (speaker, word, label), compared case-insensitively, are one
 * utterance; the copy with the bytewise-smallest path that passes validation is kept, the others
 * are counted in n_duplicates and not listed as skipped.
 *
 * CSV manifests (a regular file whose name ends in .csv): RFC 4180, header naming the columns
 * path and label, optionally speaker, in any order (any other column is a fatal error); an
 * optional UTF-8 BOM, CRLF line ends and blank lines are accepted; label, speaker and header
 * fields are trimmed of spaces, paths are taken verbatim. Relative paths are resolved against
 * the CSV's directory. A row with the wrong number of fields or an empty path is skipped with
 * path "CSV:LINE" and reason "bad row: ..."; a path listed again with another label or speaker
 * is skipped with "conflict: ..." (the first row wins); the same path with the same label and
 * speaker counts as a duplicate (only identical paths do: a manifest is an explicit choice).
 * A speaker value is upper-cased; an empty or missing one (or "unknown") is derived from the
 * file name as above, so a manifest written by `ser scan --csv` with absolute paths (or saved
 * in the directory its paths are relative to) reads back unchanged.
 * Every listed path must exist (else skipped "unreadable: ..."), even without validation.
 *
 * Skip reasons start with a category: "unlabelled: ...", "unreadable: ...", for manifests
 * "bad row: ...", "conflict: ...", and when validating dsp_audio_probe's "empty: ...",
 * "truncated: ...", "not a supported audio file: ..." (its message without the path).
 * Items and skipped files are sorted by path, bytewise (strcmp), whatever the readdir order.
 */
#ifndef SER_DSP_SCAN_H
#define SER_DSP_SCAN_H

#include <stddef.h>

#include "ser/err.h"

enum { DSP_N_LABELS = 7 };

/* "angry", "disgust", "fear", "happy", "neutral", "ps", "sad": class indices 0..6. */
extern const char *const dsp_label_names[DSP_N_LABELS];

/* Class index of a label name, case-insensitive ("PS" -> 5); -1 if it is not one. */
int dsp_label_index(const char *token);

struct dsp_item {
    char *path;    /* as found: DIR joined with the relative path (or the CSV's resolved path) */
    char *speaker; /* upper-cased, e.g. "OAF" */
    char *word;    /* as spelt in the file name, e.g. "bite" */
    int label;     /* 0..DSP_N_LABELS-1 */
};

struct dsp_skip {
    char *path;
    char *reason; /* "category: detail", without the path */
};

struct dsp_corpus {
    struct dsp_item *items; /* [n], sorted by path */
    size_t n;
    struct dsp_skip *skipped; /* [n_skipped], sorted by path */
    size_t n_skipped;
    size_t n_duplicates; /* further copies of an item already kept */
    size_t n_ignored;    /* non-audio, hidden, special files and directory symlinks */
};

/* Scans a directory tree or a CSV manifest into c, which the caller zeroes first; the caller
 * frees it with dsp_corpus_free (also after a failure). Returns 0 (even when files were
 * skipped), or -1 with e naming the path for fatal problems only: the path does not exist, is
 * neither a directory nor a .csv file, the CSV header is bad, out of memory. With validate != 0
 * every kept file is decoded once with dsp_audio_probe (damaged ones are skipped); with
 * validate == 0 only names are parsed. */
int dsp_scan(const char *dir_or_csv, int validate, struct dsp_corpus *c, struct err *e);

/* The directory walker dsp_scan uses, for any caller that wants the audio files of a tree
 * (e.g. `ser predict DIR`), with the rules above: audio extensions, hidden entries and
 * directory symlinks ignored (counted in n_ignored), symlinks to files followed, unreadable
 * entries, broken symlinks and trees nested deeper than 64 levels reported through skip.
 * Entries come in readdir order (the caller sorts). Returns 0, or the first non-zero value a
 * callback returned. */
struct dsp_walk {
    /* an audio file: its path, its name, and the name of the folder holding it */
    int (*file)(void *ctx, const char *path, const char *name, const char *folder,
                size_t folder_len);
    int (*skip)(void *ctx, const char *path, const char *reason); /* "category: detail" */
    void *ctx;
    size_t n_ignored;
};
int dsp_walk(struct dsp_walk *w, const char *dir);

/* Frees everything c owns and zeroes it; accepts a partly filled or zeroed corpus. */
void dsp_corpus_free(struct dsp_corpus *c);

#endif
