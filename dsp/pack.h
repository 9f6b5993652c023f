/* pack.h: ser's one self-describing binary container, used by feature files and checkpoints.
 *
 * A pack is a list of named, typed, shaped records (tensors, integers, strings). On disk:
 *
 *   offset size  field (little-endian)
 *   0      8     magic "SERPACK\x1a"
 *   8      4     format version (DSP_PACK_VERSION)
 *   12     4     kind: a fourcc chosen by the user ("FEAT" feature file, "CKPT" checkpoint)
 *   16     8     raw size: bytes of the uncompressed payload
 *   24     8     compressed size: bytes of the zlib stream that follows the header
 *   32     4     CRC32 of the uncompressed payload
 *   36     4     CRC32 of the compressed stream (deflate can carry bits that change nothing)
 *   40     4     CRC32 of bytes 0..39 (the header itself)
 *   44     ...   zlib stream
 *
 *   payload = u32 record count, then per record:
 *             u16 name length, name bytes (no NUL), u8 dtype, u8 ndim, u64 dims[ndim], data
 *
 * The reader validates every size before it allocates or indexes anything: a truncated or
 * crafted file gets a message naming the file and the field, never a crash and never an
 * allocation larger than the file can justify. Writes are atomic: a temporary file in the
 * same directory, fsync, rename over the target, fsync of the directory; on any failure the
 * previous file at that path is left untouched.
 */
#ifndef SER_DSP_PACK_H
#define SER_DSP_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "ser/err.h"

#define DSP_PACK_VERSION  1u
#define DSP_PACK_MAX_NDIM 8
#define DSP_PACK_FOURCC(a, b, c, d)                                                                \
    ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | (uint32_t)(d) << 24)

enum dsp_pack_dtype {
    DSP_PACK_U8 = 1, /* bytes; strings are U8 records of their length (no NUL) */
    DSP_PACK_I32 = 2,
    DSP_PACK_I64 = 3,
    DSP_PACK_F32 = 4,
    DSP_PACK_F64 = 5,
};

struct dsp_pack_rec {
    const char *name; /* NUL-terminated copy owned by the pack */
    enum dsp_pack_dtype dtype;
    int ndim;
    uint64_t dims[DSP_PACK_MAX_NDIM];
    uint64_t count;   /* product of dims (1 for ndim 0) */
    const void *data; /* count elements, 8-byte aligned, owned by the pack; valid
                         until the next dsp_pack_add */
    size_t offset;    /* of data within the payload (internal) */
};

/* A pack being built (dsp_pack_add) or one that was read (dsp_pack_read). Zero-initialise
 * before first use; release with dsp_pack_free, which accepts a partly built pack. */
struct dsp_pack {
    unsigned char *buf; /* payload (without the record count) */
    size_t len, cap;
    struct dsp_pack_rec *recs;
    size_t nrecs, caprecs;
    char **names;
};

size_t dsp_pack_dtype_size(enum dsp_pack_dtype t);

/* Appends a record; data holds product(dims) elements of dtype (copied). */
int dsp_pack_add(struct dsp_pack *p, const char *name, enum dsp_pack_dtype t, int ndim,
                 const uint64_t *dims, const void *data, struct err *e);
/* Conveniences for scalars and strings. */
int dsp_pack_add_i64(struct dsp_pack *p, const char *name, int64_t v, struct err *e);
int dsp_pack_add_f64(struct dsp_pack *p, const char *name, double v, struct err *e);
int dsp_pack_add_str(struct dsp_pack *p, const char *name, const char *s, struct err *e);

/* level: a zlib level 0..9, or DSP_PACK_ENTROPY: Huffman coding only (zlib's Z_HUFFMAN_ONLY).
 * Model weights gain nothing from deflate's match search (a 3.1 MB checkpoint: level 6 gives
 * 2.885 MB in 97 ms, level 1 2.896 MB in 88 ms, Huffman only 2.893 MB in 21 ms), so
 * checkpoints, written every epoch, use DSP_PACK_ENTROPY. Feature files keep level 1: MFCC
 * matrices do compress (58 MB: level 1 30 MB in 0.65 s, Huffman only 46 MB in 0.40 s).
 * Either way the file holds a standard zlib stream. */
#define DSP_PACK_ENTROPY (-2)

/* Serialises, compresses (see level above) and writes atomically (dsp/file.h); an existing
 * file at path is replaced only if it is a pack of the same kind. */
int dsp_pack_write(const struct dsp_pack *p, const char *path, uint32_t kind, int level,
                   struct err *e);
/* Encodes into a malloc'd buffer instead of a file (caller frees *out). */
int dsp_pack_encode(const struct dsp_pack *p, uint32_t kind, int level, unsigned char **out,
                    size_t *outlen, struct err *e);

/* Reads and validates `path`; kind must match. `p` must be zeroed. */
int dsp_pack_read(struct dsp_pack *p, const char *path, uint32_t kind, struct err *e);
/* Same from memory; `what` names the source in messages. */
int dsp_pack_decode(struct dsp_pack *p, const unsigned char *in, size_t inlen, uint32_t kind,
                    const char *what, struct err *e);

/* Finds a record by name (NULL if absent). The record and its data belong to the pack. */
const struct dsp_pack_rec *dsp_pack_find(const struct dsp_pack *p, const char *name);
/* Finds a record and checks its dtype and total element count (count 0 = any);
 * returns NULL and fills e (naming `what` and the record) on mismatch. */
const struct dsp_pack_rec *dsp_pack_need(const struct dsp_pack *p, const char *what,
                                         const char *name, enum dsp_pack_dtype t, uint64_t count,
                                         struct err *e);
int dsp_pack_get_i64(const struct dsp_pack *p, const char *what, const char *name, int64_t *v,
                     struct err *e);
int dsp_pack_get_f64(const struct dsp_pack *p, const char *what, const char *name, double *v,
                     struct err *e);
/* Copies a string record into a malloc'd NUL-terminated string (caller frees). */
int dsp_pack_get_str(const struct dsp_pack *p, const char *what, const char *name, char **s,
                     struct err *e);

void dsp_pack_free(struct dsp_pack *p);

#endif
