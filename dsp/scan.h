/* scan.h: corpus scanning. Turns directory trees of the corpora ser knows (TESS, RAVDESS,
 * CREMA-D, SAVEE, EmoDB, in any folder layout; dsp/corpora.h has the naming rules) or a CSV
 * manifest into a sorted, de-duplicated list of items (path, corpus, namespaced speaker,
 * gender, word, label) plus the skipped files with their reasons. Every file is recognised by
 * its own name, so one tree may mix corpora; dsp_scan_opts.corpus forces one naming.
 *
 * Directory trees: audio files are those with extension .wav .flac .ogg .oga .aiff .aif .au
 * (case-insensitive); RAVDESS's video files (.mp4 with a RAVDESS name) are listed as skipped
 * with a reason; other files are ignored and counted in n_ignored, as are hidden entries
 * (names starting with '.', never descended into), symlinks to directories (never followed, so
 * symlink loops cannot hang the scan) and special files. Symlinks to files are followed.
 * Duplicates: items with the same (speaker, word, label), compared case-insensitively, are one
 * utterance (TESS's Kaggle copy holds the set twice); the copy with the bytewise-smallest path
 * that passes validation is kept, the others are counted in n_duplicates, not listed.
 *
 * CSV manifests (a regular file whose name ends in .csv): RFC 4180, a header naming the
 * columns path and label, optionally speaker, corpus and gender, in any order (any other
 * column is a fatal error); an optional UTF-8 BOM, CRLF line ends and blank lines are
 * accepted; label, speaker, corpus, gender and header fields are trimmed of spaces, paths are
 * taken verbatim. Relative paths are resolved against the CSV's directory. The label is a
 * label name or a corpus's spelling of one (dsp_label_index). The corpus is the corpus
 * column's, else the one the file name follows, else "other". A speaker value with a ':' is
 * taken as namespaced: its namespace must be a corpus name (any case; it sets the corpus when
 * there is no corpus column and must equal the column's otherwise, else "bad row: ..."); a
 * bare one is namespaced by the corpus; an empty one (or "unknown", also
 * "corpus:unknown") is
 * derived from the file name. The speaker's id is upper-cased. A row with the wrong number
 * of fields or an empty path is skipped with path "CSV:LINE" and reason "bad row: ..."; a path
 * listed again with another label or speaker is skipped with "conflict: ..." (the first row
 * wins); the same path with the same label and speaker counts as a duplicate. So a manifest
 * written by `ser scan --csv` reads back unchanged. Every listed path must exist (else
 * skipped "unreadable: ..."), even without validation.
 *
 * Skip reasons start with a category: "unlabelled: ...", "unreadable: ...", "song: ...",
 * "video: ...", for manifests "bad row: ...", "conflict: ...", and when validating
 * dsp_audio_probe's "empty: ...", "truncated: ...", "silent: ...", "git-lfs pointer ...",
 * "not a supported audio file: ..." (its message without the path).
 * Items and skipped files are sorted by path, bytewise (strcmp), whatever the readdir order.
 */
#ifndef SER_DSP_SCAN_H
#define SER_DSP_SCAN_H

#include <stddef.h>

#include "dsp/corpora.h"
#include "ser/err.h"

struct dsp_item {
    char *path;    /* as found: DIR joined with the relative path (or the CSV's resolved path) */
    char *speaker; /* namespaced, id upper-cased: "tess:OAF", "ravdess:12" */
    char *word;    /* what was said, as the name spells it: "bite", "DFA_XX" */
    int label;     /* enum dsp_label */
    int corpus;    /* enum dsp_corpus_id */
    char gender;   /* 'm', 'f' or '?' */
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
 * neither a directory nor a .csv file, the CSV header is bad, out of memory. With
 * o->validate every kept file is decoded once with dsp_audio_probe (damaged ones are
 * skipped); otherwise only names are parsed. o may be NULL: validate, recognise per file,
 * no RAVDESS songs. */
struct dsp_scan_opts {
    int validate;
    struct dsp_name_opts names; /* .corpus -1: recognise each file's corpus by its name */
};
void dsp_scan_default_opts(struct dsp_scan_opts *o);
int dsp_scan(const char *dir_or_csv, const struct dsp_scan_opts *o, struct dsp_corpus *c,
             struct err *e);

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
    int video; /* also hand .mp4 files to `file` (scan lists RAVDESS's videos as skipped) */
    size_t n_ignored;
};
int dsp_walk(struct dsp_walk *w, const char *dir);

/* Frees everything c owns and zeroes it; accepts a partly filled or zeroed corpus. */
void dsp_corpus_free(struct dsp_corpus *c);

#endif
