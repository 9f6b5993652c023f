/* record.h: a C struct described by one table of fields, saved to and loaded from a pack
 * (dsp/pack.h) by that table, printed by it and compared by it.
 *
 * Adding a field to a file format is one line: {name, type, offsetof(struct, field), range,
 * flags, help}. The loader validates every value against the table (type, range, lengths
 * against the bytes present), so a crafted file with a valid CRC still cannot put a NaN, a
 * negative count or an absurd position into the program. Used by the checkpoint
 * (mpi/state.c) and the feature parameters shared with feature files (mpi/dataset.c).
 */
#ifndef SER_DIST_RECORD_H
#define SER_DIST_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "dsp/pack.h"
#include "ser/err.h"

enum dist_rtype {
    REC_I64,  /* int64_t */
    REC_U64,  /* uint64_t (stored as i64 bits) */
    REC_INT,  /* int */
    REC_BOOL, /* int, 0 or 1 */
    REC_F64,  /* double; NaN never valid; +-inf only when min/max are infinite */
    REC_F32,  /* float, the same rules */
    REC_STR,  /* char *, malloc'd by the loader; NUL-free, at most max bytes */
    REC_F32V, /* float * of length *(int64_t *)(base + len_off); every value finite */
    REC_F64M, /* double * of (*(int64_t *)(base + len_off)) rows x `cols` */
    REC_CUSTOM,
};

enum {
    REC_TRAIN = 1,    /* training state: left out of a model-only file (best.ckpt) */
    REC_MATCH = 2,    /* must equal the running configuration's when a run resumes */
    REC_OPTIONAL = 4, /* may be absent from a file (then zero / NULL) */
};

struct dist_rfield;
/* Custom fields (e.g. tensors named by a model): ctx is the caller's context. */
struct dist_rcustom {
    int (*save)(struct dsp_pack *p, const struct dist_rfield *f, const void *base, void *ctx,
                struct err *e);
    int (*load)(const struct dsp_pack *p, const char *what, const struct dist_rfield *f, void *base,
                void *ctx, struct err *e);
    int (*equal)(const struct dist_rfield *f, const void *a, const void *b, void *ctx);
    void (*print)(FILE *out, const struct dist_rfield *f, const void *base, void *ctx);
    void (*free)(const struct dist_rfield *f, void *base);
};

struct dist_rfield {
    const char *name; /* record name in the file ("adam.lr") */
    enum dist_rtype type;
    size_t offset;   /* of the field in the struct */
    double min, max; /* scalars: valid range; REC_STR: max length; arrays: max elements */
    size_t len_off;  /* arrays: offset of the int64_t length (rows) field */
    size_t cols;     /* REC_F64M */
    unsigned flags;
    const struct dist_rcustom *custom;
    const char *help; /* one line for `ser info` */
};

/* Appends the fields of base whose flags do not intersect skip. */
int dist_rec_save(struct dsp_pack *p, const struct dist_rfield *t, size_t n, const void *base,
                  unsigned skip, void *ctx, struct err *e);
/* Reads and validates the fields (base zeroed by the caller); arrays and strings are
 * malloc'd: release with dist_rec_free, also after a failure. A field marked REC_OPTIONAL,
 * or with flags in `absent_ok`, may be missing. Fields load in table order, so a length
 * field must come before the arrays that use it. */
int dist_rec_load(const struct dsp_pack *p, const char *what, const struct dist_rfield *t, size_t n,
                  void *base, unsigned absent_ok, void *ctx, struct err *e);
void dist_rec_free(const struct dist_rfield *t, size_t n, void *base);

/* The first field with a flag in `mask` that differs between a and b, or NULL. */
const struct dist_rfield *dist_rec_diff(const struct dist_rfield *t, size_t n, const void *a,
                                        const void *b, unsigned mask, void *ctx);
/* One "name  value" line per field (arrays: their shape), but those with a flag in skip. */
void dist_rec_print(FILE *out, const struct dist_rfield *t, size_t n, const void *base,
                    unsigned skip, void *ctx);
/* A scalar's value as text ("%.17g" shortest form for reals). */
void dist_rec_value(const struct dist_rfield *f, const void *base, char *buf, size_t len);

#endif
