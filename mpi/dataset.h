/* dataset.h: a corpus turned into features, as every rank holds it for training, and its
 * feature file (a dsp/pack.h container of kind "FEAT").
 *
 * Feature file records (format DIST_FEAT_FORMAT; a file of another format is not read):
 *   format          i64  DIST_FEAT_FORMAT
 *   features        f32 [n][rows][frames]     feature matrices (dsp_mfcc_compute's layout:
 *                                             rows = planes * bands, see dsp_mfcc_rows)
 *   labels          i32 [n]                   label 0..8 (dsp_label_names order, dsp/corpora.h)
 *   corpora         i32 [n]                   corpus (enum dsp_corpus_id)
 *   genders         u8  [n]                   'm', 'f' or '?'
 *   paths, speakers u8  NUL-terminated strings, n of each, back to back (speakers namespaced)
 *   label_names     u8  NUL-terminated strings, DSP_N_LABELS of them
 *   skipped_paths, skipped_reasons  u8 NUL-terminated strings, n_skipped of each
 *   load.offset_s, load.duration_s, mfcc.fmin, mfcc.fmax, mfcc.amin, mfcc.top_db   f64
 *   load.sample_rate, mfcc.sample_rate, mfcc.n_fft, mfcc.hop, mfcc.n_mels, mfcc.n_mfcc i64
 *   mfcc.output (0 MFCC, 1 log-mel), mfcc.deltas (0/1)   i64, optional: absent in files of
 *                   earlier format-2 writers, which read as MFCC without deltas
 *   cache_key       i64  hash of (format, parameters, every scanned path with size and mtime)
 * Nothing in the file depends on the number of ranks that wrote it.
 */
#ifndef SER_DATASET_H
#define SER_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "ser/err.h"
#include "dsp/features.h"
#include "dsp/pack.h"
#include "mpi/record.h"

#define DIST_FEAT_KIND DSP_PACK_FOURCC('F', 'E', 'A', 'T')
/* 2: labels are the 9 of dsp/corpora.h, speakers namespaced, corpora and genders recorded
 * (1: the 7 TESS labels). */
#define DIST_FEAT_FORMAT 2

struct dist_dataset {
    size_t n;              /* usable samples */
    size_t n_mfcc, frames; /* n_mfcc: rows of a matrix, dsp_mfcc_rows(&params.mfcc) (the
                              MFCC count only for MFCCs without deltas); planes: see
                              dist_dataset_planes */
    float *x;              /* [n][n_mfcc][frames] */
    int32_t *label;        /* [n] enum dsp_label */
    int32_t *corpus;       /* [n] enum dsp_corpus_id */
    char *gender;          /* [n] 'm', 'f', '?' */
    char **path;           /* [n] */
    char **speaker;        /* [n] */
    size_t n_skipped;
    char **skip_path;   /* [n_skipped] */
    char **skip_reason; /* [n_skipped] */
    struct dsp_features_params params;
    uint64_t cache_key;
    uint64_t list_hash; /* of the scanned file list (set by dist_extract; not stored) */
};

/* Samples' feature size: n_mfcc * frames floats. */
size_t dist_dataset_dim(const struct dist_dataset *d);

/* Writes atomically (zlib level 1). */
int dist_dataset_save(const struct dist_dataset *d, const char *path, struct err *e);
/* Reads and validates every field. `d` must be zeroed. */
/* max_items (0: no bound): refuse a file that lists more usable or skipped files than that
 * (the scanned corpus's size), before allocating per-file memory. */
int dist_dataset_load(struct dist_dataset *d, const char *path, size_t max_items, struct err *e);
/* The same through memory (used to broadcast a dataset; level 0 = stored). */
int dist_dataset_encode(const struct dist_dataset *d, int level, unsigned char **out,
                        size_t *outlen, struct err *e);
int dist_dataset_decode(struct dist_dataset *d, const unsigned char *in, size_t inlen,
                        const char *what, struct err *e);

/* The default feature parameters with the options ser exposes: offset and duration (s), the
 * analysis rate and the MFCC count. */
void dist_features_params_from(struct dsp_features_params *p, double offset, double duration,
                               int sr, int n_mfcc);

/* The options --feature-type TYPE ("mfcc" or "logmel"), --n-mels N (the filterbank size,
 * for MFCCs too) and --deltas applied to p (after dist_features_params_from). Returns 0, or -1
 * with e naming the option and the value (unknown type; --n-mfcc above --n-mels for MFCCs). */
int dist_features_params_output(struct dsp_features_params *p, const char *type, long n_mels,
                                int deltas, struct err *e);

/* Option rows shared by the commands that take them: T holds char feature_type[16], long
 * n_mels and int deltas. */
#define DIST_FEATURE_OPTS(T)                                                                       \
    {"feature-type",                                                                               \
     CLI_STRING,                                                                                   \
     CLI_FIELD(T, feature_type),                                                                   \
     "mfcc",                                                                                       \
     0,                                                                                            \
     0,                                                                                            \
     "mfcc|logmel",                                                                                \
     "TYPE",                                                                                       \
     "mfcc, or logmel (the mel power spectrogram in dB that the MFCCs are the DCT of)",            \
     NULL,                                                                                         \
     NULL,                                                                                         \
     0},                                                                                           \
        {"n-mels", CLI_LONG, CLI_FIELD(T, n_mels),                                                 \
         "128",    1,        1024,                                                                 \
         NULL,     "N",      "mel bands (the filterbank of the MFCCs too)",                        \
         NULL,     NULL,     0},                                                                   \
    {                                                                                              \
        "deltas", CLI_FLAG, CLI_FIELD(T, deltas), NULL, 0, 0, NULL, NULL,                          \
            "append first and second deltas (librosa width 9) as planes 2 and 3", NULL, NULL, 0    \
    }

/* Planes of a sample ([planes][rows / planes][frames]): 1, or 3 with deltas. SpecAugment-like
 * masks of a band apply to the same row of every plane. */
size_t dist_dataset_planes(const struct dist_dataset *d);

/* 1 when both parameter sets give identical features. */
int dist_params_equal(const struct dsp_features_params *a, const struct dsp_features_params *b);

/* The feature parameters as record-table rows (mpi/record.h), shared by feature files and
 * checkpoints: struct type T holds a struct dsp_features_params named m; flags are added to
 * every row. */
#define DIST_PARAM_FIELD(T, m, name, type, f, lo, hi, flags)                                       \
    {                                                                                              \
        name, type, offsetof(T, m.f), lo, hi, 0, 0, flags, NULL, NULL                              \
    }
#define DIST_PARAM_FIELDS(T, m, flags)                                                             \
    DIST_PARAM_FIELD(T, m, "load.offset_s", REC_F64, load.offset_s, 0, 1e6, flags),                \
        DIST_PARAM_FIELD(T, m, "load.duration_s", REC_F64, load.duration_s, 1e-3, 3600, flags),    \
        DIST_PARAM_FIELD(T, m, "load.sample_rate", REC_INT, load.sample_rate, 1, 1e6, flags),      \
        DIST_PARAM_FIELD(T, m, "mfcc.sample_rate", REC_INT, mfcc.sample_rate, 1, 1e6, flags),      \
        DIST_PARAM_FIELD(T, m, "mfcc.n_fft", REC_INT, mfcc.n_fft, 2, 1 << 20, flags),              \
        DIST_PARAM_FIELD(T, m, "mfcc.hop", REC_INT, mfcc.hop, 1, 1 << 20, flags),                  \
        DIST_PARAM_FIELD(T, m, "mfcc.n_mels", REC_INT, mfcc.n_mels, 1, 4096, flags),               \
        DIST_PARAM_FIELD(T, m, "mfcc.n_mfcc", REC_INT, mfcc.n_mfcc, 1, 4096, flags),               \
        DIST_PARAM_FIELD(T, m, "mfcc.fmin", REC_F64, mfcc.fmin, 0, 1e6, flags),                    \
        DIST_PARAM_FIELD(T, m, "mfcc.fmax", REC_F64, mfcc.fmax, -1e6, 1e6, flags),                 \
        DIST_PARAM_FIELD(T, m, "mfcc.amin", REC_F64, mfcc.amin, 1e-30, 1, flags),                  \
        DIST_PARAM_FIELD(T, m, "mfcc.top_db", REC_F64, mfcc.top_db, -1e9, 1e9, flags),             \
        DIST_PARAM_FIELD(T, m, "mfcc.output", REC_INT, mfcc.output, 0, 1, (flags) | REC_OPTIONAL), \
        DIST_PARAM_FIELD(T, m, "mfcc.deltas", REC_BOOL, mfcc.deltas, 0, 1, (flags) | REC_OPTIONAL)

/* n strings as one u8 record of NUL-terminated strings, and back (a malloc'd array of n
 * malloc'd strings, freed with dist_free_strings even after a failure). */
int dist_pack_add_strings(struct dsp_pack *p, const char *name, char *const *s, size_t n,
                          struct err *e);
int dist_pack_get_strings(const struct dsp_pack *p, const char *what, const char *name, size_t n,
                          char ***out, struct err *e);
void dist_free_strings(char **s, size_t n);

/* Keeps the samples with keep[i] != 0 (in order) and moves the others to the skip list with
 * reason[i] (copied). Returns 0 or -1 (out of memory: d unchanged as far as it matters). */
int dist_dataset_filter(struct dist_dataset *d, const int *keep, char *const *reason,
                        struct err *e);

/* Frees everything and zeroes d; accepts a partly filled dataset. */
void dist_dataset_free(struct dist_dataset *d);

#endif
