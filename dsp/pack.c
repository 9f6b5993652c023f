/* pack.c: the self-describing container of pack.h (zlib, CRC32, atomic writes).
 *
 * Payload layout (all records 8-byte aligned so that data can be used in place):
 *   u32 record count, u32 zero
 *   per record: u16 name length, name, u8 dtype, u8 ndim, u64 dims[ndim], zero padding to a
 *               multiple of 8, data, zero padding to a multiple of 8
 * Host byte order must be little-endian (checked at compile time).
 */
#include "dsp/pack.h"

#include <stdio.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "dsp/file.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "pack files are little-endian");

static const unsigned char pack_magic[8] = {'S', 'E', 'R', 'P', 'A', 'C', 'K', 0x1a};
enum { HEADER_SIZE = 44, PAYLOAD_HEAD = 8 };
/* zlib cannot expand data by more than ~1032:1; a larger claimed ratio is a crafted file. */
#define MAX_RATIO 1100u

size_t dsp_pack_dtype_size(enum dsp_pack_dtype t)
{
    switch (t) {
    case DSP_PACK_U8:
        return 1;
    case DSP_PACK_I32:
        return 4;
    case DSP_PACK_F32:
        return 4;
    case DSP_PACK_I64:
        return 8;
    case DSP_PACK_F64:
        return 8;
    }
    return 0;
}

static uint32_t crc32_big(const unsigned char *p, size_t n)
{
    uLong c = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        c = crc32(c, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return (uint32_t)c;
}

static int buf_reserve(struct dsp_pack *p, size_t extra, struct err *e)
{
    if (p->len + extra <= p->cap) return 0;
    size_t cap = p->cap ? p->cap : 4096;
    while (cap < p->len + extra) {
        if (cap > SIZE_MAX / 2) return err_set(e, "pack: payload too large");
        cap *= 2;
    }
    unsigned char *b = realloc(p->buf, cap);
    if (!b) return err_set(e, "pack: out of memory (%zu bytes)", cap);
    p->buf = b;
    p->cap = cap;
    return 0;
}

static void buf_put(struct dsp_pack *p, const void *src, size_t n)
{
    memcpy(p->buf + p->len, src, n);
    p->len += n;
}

static void buf_pad8(struct dsp_pack *p)
{
    while (p->len % 8) p->buf[p->len++] = 0;
}

static size_t pad8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* Grows the record index by one slot and fills it with the record at payload offset `off`. */
static int index_push(struct dsp_pack *p, const char *name, size_t name_len, enum dsp_pack_dtype t,
                      int ndim, const uint64_t *dims, uint64_t count, size_t data_off,
                      struct err *e)
{
    if (p->nrecs == p->caprecs) {
        size_t cap = p->caprecs ? 2 * p->caprecs : 16;
        struct dsp_pack_rec *r = realloc(p->recs, cap * sizeof *r);
        if (!r) return err_set(e, "pack: out of memory");
        p->recs = r;
        char **nm = realloc(p->names, cap * sizeof *nm);
        if (!nm) return err_set(e, "pack: out of memory");
        p->names = nm;
        p->caprecs = cap;
    }
    char *copy = malloc(name_len + 1);
    if (!copy) return err_set(e, "pack: out of memory");
    memcpy(copy, name, name_len);
    copy[name_len] = 0;
    struct dsp_pack_rec *r = &p->recs[p->nrecs];
    memset(r, 0, sizeof *r);
    r->name = copy;
    r->dtype = t;
    r->ndim = ndim;
    for (int i = 0; i < ndim; i++) r->dims[i] = dims[i];
    r->count = count;
    r->offset = data_off;
    p->names[p->nrecs] = copy;
    p->nrecs++;
    return 0;
}

int dsp_pack_add(struct dsp_pack *p, const char *name, enum dsp_pack_dtype t, int ndim,
                 const uint64_t *dims, const void *data, struct err *e)
{
    size_t name_len = strlen(name);
    size_t esize = dsp_pack_dtype_size(t);
    if (name_len == 0 || name_len > 1024) return err_set(e, "pack: bad record name length");
    if (esize == 0) return err_set(e, "pack: record %s: unknown dtype %d", name, (int)t);
    if (ndim < 0 || ndim > DSP_PACK_MAX_NDIM)
        return err_set(e, "pack: record %s: ndim %d out of range", name, ndim);
    if (dsp_pack_find(p, name)) return err_set(e, "pack: duplicate record %s", name);
    uint64_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (dims[i] != 0 && count > UINT64_MAX / dims[i])
            return err_set(e, "pack: record %s too large", name);
        count *= dims[i];
    }
    if (count > (SIZE_MAX / 2) / esize) return err_set(e, "pack: record %s too large", name);
    size_t bytes = (size_t)count * esize;
    if (p->len == 0) {
        if (buf_reserve(p, PAYLOAD_HEAD, e)) return -1;
        memset(p->buf, 0, PAYLOAD_HEAD);
        p->len = PAYLOAD_HEAD;
    }
    size_t head = 2 + name_len + 2 + 8 * (size_t)ndim;
    if (buf_reserve(p, pad8(head) + pad8(bytes), e)) return -1;
    uint16_t nl = (uint16_t)name_len;
    uint8_t dt = (uint8_t)t, nd = (uint8_t)ndim;
    buf_put(p, &nl, 2);
    buf_put(p, name, name_len);
    buf_put(p, &dt, 1);
    buf_put(p, &nd, 1);
    for (int i = 0; i < ndim; i++) buf_put(p, &dims[i], 8);
    buf_pad8(p);
    size_t off = p->len;
    if (bytes) buf_put(p, data, bytes);
    buf_pad8(p);
    return index_push(p, name, name_len, t, ndim, dims, count, off, e);
}

int dsp_pack_add_i64(struct dsp_pack *p, const char *name, int64_t v, struct err *e)
{
    return dsp_pack_add(p, name, DSP_PACK_I64, 0, NULL, &v, e);
}

int dsp_pack_add_f64(struct dsp_pack *p, const char *name, double v, struct err *e)
{
    return dsp_pack_add(p, name, DSP_PACK_F64, 0, NULL, &v, e);
}

int dsp_pack_add_str(struct dsp_pack *p, const char *name, const char *s, struct err *e)
{
    uint64_t n = strlen(s);
    return dsp_pack_add(p, name, DSP_PACK_U8, 1, &n, s, e);
}

static void put_u32(unsigned char *d, uint32_t v)
{
    memcpy(d, &v, 4);
}

static void put_u64(unsigned char *d, uint64_t v)
{
    memcpy(d, &v, 8);
}

static uint32_t get_u32(const unsigned char *s)
{
    uint32_t v;
    memcpy(&v, s, 4);
    return v;
}

static uint64_t get_u64(const unsigned char *s)
{
    uint64_t v;
    memcpy(&v, s, 8);
    return v;
}

int dsp_pack_encode(const struct dsp_pack *p, uint32_t kind, int level, unsigned char **out,
                    size_t *outlen, struct err *e)
{
    unsigned char empty[PAYLOAD_HEAD] = {0};
    const unsigned char *raw = p->len ? p->buf : empty;
    size_t rawlen = p->len ? p->len : PAYLOAD_HEAD;
    /* The record count lives at the start of the payload. */
    uint32_t nrecs = (uint32_t)p->nrecs;
    if (p->len) memcpy(p->buf, &nrecs, 4);

    uLong bound = compressBound((uLong)rawlen);
    unsigned char *o = malloc(HEADER_SIZE + (size_t)bound);
    if (!o) return err_set(e, "pack: out of memory (%zu bytes)", (size_t)bound);
    /* a standard zlib stream either way; DSP_PACK_ENTROPY skips deflate's match search */
    z_stream zs = {0};
    int entropy = level == DSP_PACK_ENTROPY;
    int zr = deflateInit2(&zs, entropy ? 1 : level, Z_DEFLATED, 15, 8,
                          entropy ? Z_HUFFMAN_ONLY : Z_DEFAULT_STRATEGY);
    if (zr != Z_OK) {
        free(o);
        return err_set(e, "pack: zlib compression failed (%d)", zr);
    }
    /* as zlib's compress2, but with a strategy: avail_in/avail_out are 32-bit, so feed at
     * most 1 GiB at a time; compressBound guarantees that the output fits */
    zs.next_in = (unsigned char *)raw;
    zs.next_out = o + HEADER_SIZE;
    size_t in_left = rawlen, out_left = (size_t)bound;
    const size_t chunk = (size_t)1 << 30;
    do {
        if (zs.avail_in == 0) {
            zs.avail_in = (uInt)(in_left < chunk ? in_left : chunk);
            in_left -= zs.avail_in;
        }
        if (zs.avail_out == 0) {
            zs.avail_out = (uInt)(out_left < chunk ? out_left : chunk);
            out_left -= zs.avail_out;
        }
        zr = deflate(&zs, in_left ? Z_NO_FLUSH : Z_FINISH);
    } while (zr == Z_OK);
    uLongf clen = (uLongf)zs.total_out;
    deflateEnd(&zs);
    if (zr != Z_STREAM_END) {
        free(o);
        return err_set(e, "pack: zlib compression failed (%d)", zr);
    }
    memcpy(o, pack_magic, 8);
    put_u32(o + 8, DSP_PACK_VERSION);
    put_u32(o + 12, kind);
    put_u64(o + 16, rawlen);
    put_u64(o + 24, clen);
    put_u32(o + 32, crc32_big(raw, rawlen));
    put_u32(o + 36, crc32_big(o + HEADER_SIZE, clen));
    put_u32(o + 40, crc32_big(o, 40));
    *out = o;
    *outlen = HEADER_SIZE + (size_t)clen;
    return 0;
}

static void fourcc_str(uint32_t k, char s[5])
{
    for (int i = 0; i < 4; i++) {
        char c = (char)((k >> (8 * i)) & 0xff);
        s[i] = (c >= 32 && c < 127) ? c : '?';
    }
    s[4] = 0;
}

/* "ser pack of kind XXXX" for messages. */
static void fourcc_name(uint32_t kind, char *buf, size_t n)
{
    char s[5];
    fourcc_str(kind, s);
    snprintf(buf, n, "ser %s file",
             strcmp(s, "FEAT") == 0   ? "feature"
             : strcmp(s, "CKPT") == 0 ? "checkpoint"
                                      : s);
}

/* An existing file may be replaced by a pack of kind *ctx only if it is one. */
static int same_kind(const unsigned char *head, size_t n, const void *ctx)
{
    uint32_t kind = *(const uint32_t *)ctx, k;
    if (n < 16 || memcmp(head, pack_magic, sizeof pack_magic) != 0) return 0;
    memcpy(&k, head + 12, 4);
    return k == kind;
}

int dsp_pack_write(const struct dsp_pack *p, const char *path, uint32_t kind, int level,
                   struct err *e)
{
    unsigned char *o;
    size_t olen;
    if (dsp_pack_encode(p, kind, level, &o, &olen, e)) return -1;
    char name[64];
    fourcc_name(kind, name, sizeof name);
    struct dsp_kind k = {same_kind, &kind, name};
    int rc = dsp_write_atomic(path, o, olen, &k, e);
    free(o);
    return rc;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Refuses a pack with two records of the same name: sorts a copy of the name list, so a
 * crafted pack of many tiny records costs O(n log n), not O(n^2). */
static int check_unique(const struct dsp_pack *p, const char *what, struct err *e)
{
    if (p->nrecs < 2) return 0;
    char **s = malloc(p->nrecs * sizeof *s);
    if (!s) return err_set(e, "%s: out of memory", what);
    memcpy(s, p->names, p->nrecs * sizeof *s);
    qsort(s, p->nrecs, sizeof *s, name_cmp);
    int rc = 0;
    for (size_t i = 1; i < p->nrecs && rc == 0; i++)
        if (strcmp(s[i - 1], s[i]) == 0) rc = err_set(e, "%s: duplicate record %s", what, s[i]);
    free(s);
    return rc;
}

/* Walks the payload, validating every field against the remaining length. */
static int index_payload(struct dsp_pack *p, const char *what, struct err *e)
{
    const unsigned char *b = p->buf;
    size_t n = p->len;
    if (n < PAYLOAD_HEAD) return err_set(e, "%s: payload too short", what);
    uint32_t count = get_u32(b);
    size_t pos = PAYLOAD_HEAD;
    for (uint32_t i = 0; i < count; i++) {
        if (n - pos < 2) return err_set(e, "%s: record %u: header truncated", what, i);
        uint16_t nl;
        memcpy(&nl, b + pos, 2);
        pos += 2;
        /* 1..1024 bytes without a NUL, as dsp_pack_add writes them (docs/formats.md §1.2) */
        if (nl == 0 || nl > 1024 || n - pos < (size_t)nl + 2)
            return err_set(e, "%s: record %u: bad name length %u", what, i, nl);
        if (memchr(b + pos, 0, nl))
            return err_set(e, "%s: record %u: name holds a NUL byte", what, i);
        const char *name = (const char *)b + pos;
        pos += nl;
        enum dsp_pack_dtype t = (enum dsp_pack_dtype)b[pos];
        int ndim = b[pos + 1];
        pos += 2;
        size_t esize = dsp_pack_dtype_size(t);
        if (esize == 0) return err_set(e, "%s: record %u: unknown dtype %d", what, i, (int)t);
        if (ndim > DSP_PACK_MAX_NDIM)
            return err_set(e, "%s: record %u: ndim %d > %d", what, i, ndim, DSP_PACK_MAX_NDIM);
        if ((n - pos) / 8 < (size_t)ndim)
            return err_set(e, "%s: record %u: dims truncated", what, i);
        uint64_t dims[DSP_PACK_MAX_NDIM], cnt = 1;
        for (int d = 0; d < ndim; d++) {
            dims[d] = get_u64(b + pos);
            pos += 8;
            if (dims[d] != 0 && cnt > UINT64_MAX / dims[d])
                return err_set(e, "%s: record %u: dimension overflow", what, i);
            cnt *= dims[d];
        }
        pos = pad8(pos);
        if (pos > n || cnt > (n - pos) / esize)
            return err_set(e, "%s: record %u (%.*s): data extends past the payload", what, i,
                           (int)nl, name);
        size_t off = pos;
        pos = pad8(pos + (size_t)cnt * esize);
        if (pos > n) return err_set(e, "%s: record %u: padding truncated", what, i);
        if (index_push(p, name, nl, t, ndim, dims, cnt, off, e)) return -1;
    }
    if (pos != n) return err_set(e, "%s: %zu trailing bytes after the last record", what, n - pos);
    return check_unique(p, what, e);
}

int dsp_pack_decode(struct dsp_pack *p, const unsigned char *in, size_t inlen, uint32_t kind,
                    const char *what, struct err *e)
{
    char want[5], got[5];
    if (inlen < HEADER_SIZE)
        return err_set(e, "%s: not a ser file (only %zu bytes; truncated?)", what, inlen);
    if (memcmp(in, pack_magic, 8) != 0) return err_set(e, "%s: not a ser file (bad magic)", what);
    if (crc32_big(in, 40) != get_u32(in + 40))
        return err_set(e, "%s: header checksum mismatch (file damaged)", what);
    uint32_t version = get_u32(in + 8);
    if (version != DSP_PACK_VERSION)
        return err_set(e, "%s: format version %u, this ser reads version %u", what, version,
                       DSP_PACK_VERSION);
    if (get_u32(in + 12) != kind) {
        fourcc_str(kind, want);
        fourcc_str(get_u32(in + 12), got);
        return err_set(e, "%s: wrong kind of ser file: %s, expected %s", what, got, want);
    }
    uint64_t rawlen = get_u64(in + 16), clen = get_u64(in + 24);
    if (clen != inlen - HEADER_SIZE)
        return err_set(e, "%s: compressed size %llu in header but %zu bytes follow (truncated?)",
                       what, (unsigned long long)clen, inlen - HEADER_SIZE);
    /* Deflate streams can carry bits that do not affect the output: check the stream itself. */
    if (crc32_big(in + HEADER_SIZE, (size_t)clen) != get_u32(in + 36))
        return err_set(e, "%s: compressed data checksum mismatch (file damaged)", what);
    if (rawlen < PAYLOAD_HEAD || rawlen / MAX_RATIO > clen + 64 || rawlen > SIZE_MAX / 2)
        return err_set(e, "%s: implausible payload size %llu", what, (unsigned long long)rawlen);
    p->buf = malloc((size_t)rawlen);
    if (!p->buf)
        return err_set(e, "%s: out of memory (%llu bytes)", what, (unsigned long long)rawlen);
    p->cap = (size_t)rawlen;
    uLongf dlen = (uLongf)rawlen;
    int zr = uncompress(p->buf, &dlen, in + HEADER_SIZE, (uLong)clen);
    if (zr != Z_OK || dlen != rawlen)
        return err_set(e, "%s: compressed data damaged (zlib: %s)", what,
                       zr == Z_OK ? "short output" : zError(zr));
    p->len = (size_t)rawlen;
    if (crc32_big(p->buf, p->len) != get_u32(in + 32))
        return err_set(e, "%s: payload checksum mismatch (file damaged)", what);
    return index_payload(p, what, e);
}

int dsp_pack_read(struct dsp_pack *p, const char *path, uint32_t kind, struct err *e)
{
    /* O_NONBLOCK: a FIFO must be refused, not waited on. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return err_io(e, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return err_set(e, "%s: not a regular file", path);
    }
    size_t n = (size_t)st.st_size;
    unsigned char *in = malloc(n ? n : 1);
    if (!in) {
        close(fd);
        return err_set(e, "%s: out of memory (%zu bytes)", path, n);
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, in + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    int rc = got == n ? dsp_pack_decode(p, in, n, kind, path, e)
                      : err_io(e, "%s: read failed after %zu of %zu bytes", path, got, n);
    free(in);
    return rc;
}

const struct dsp_pack_rec *dsp_pack_find(const struct dsp_pack *p, const char *name)
{
    for (size_t i = 0; i < p->nrecs; i++) {
        if (strcmp(p->recs[i].name, name) == 0) {
            /* The payload buffer may have moved since the record was added. */
            p->recs[i].data = p->buf + p->recs[i].offset;
            return &p->recs[i];
        }
    }
    return NULL;
}

static const char *dtype_name(enum dsp_pack_dtype t)
{
    switch (t) {
    case DSP_PACK_U8:
        return "u8";
    case DSP_PACK_I32:
        return "i32";
    case DSP_PACK_I64:
        return "i64";
    case DSP_PACK_F32:
        return "f32";
    case DSP_PACK_F64:
        return "f64";
    }
    return "?";
}

const struct dsp_pack_rec *dsp_pack_need(const struct dsp_pack *p, const char *what,
                                         const char *name, enum dsp_pack_dtype t, uint64_t count,
                                         struct err *e)
{
    const struct dsp_pack_rec *r = dsp_pack_find(p, name);
    if (!r) {
        err_set(e, "%s: missing field %s", what, name);
        return NULL;
    }
    if (r->dtype != t) {
        err_set(e, "%s: field %s has type %s, expected %s", what, name, dtype_name(r->dtype),
                dtype_name(t));
        return NULL;
    }
    if (count && r->count != count) {
        err_set(e, "%s: field %s has %llu elements, expected %llu", what, name,
                (unsigned long long)r->count, (unsigned long long)count);
        return NULL;
    }
    return r;
}

int dsp_pack_get_i64(const struct dsp_pack *p, const char *what, const char *name, int64_t *v,
                     struct err *e)
{
    const struct dsp_pack_rec *r = dsp_pack_need(p, what, name, DSP_PACK_I64, 1, e);
    if (!r) return -1;
    memcpy(v, r->data, 8);
    return 0;
}

int dsp_pack_get_f64(const struct dsp_pack *p, const char *what, const char *name, double *v,
                     struct err *e)
{
    const struct dsp_pack_rec *r = dsp_pack_need(p, what, name, DSP_PACK_F64, 1, e);
    if (!r) return -1;
    memcpy(v, r->data, 8);
    return 0;
}

int dsp_pack_get_str(const struct dsp_pack *p, const char *what, const char *name, char **s,
                     struct err *e)
{
    const struct dsp_pack_rec *r = dsp_pack_need(p, what, name, DSP_PACK_U8, 0, e);
    if (!r) return -1;
    if (r->ndim != 1) return err_set(e, "%s: field %s is not a string", what, name);
    char *c = malloc((size_t)r->count + 1);
    if (!c) return err_set(e, "%s: out of memory", what);
    memcpy(c, r->data, (size_t)r->count);
    c[r->count] = 0;
    if (strlen(c) != r->count) {
        free(c);
        return err_set(e, "%s: field %s contains a NUL byte", what, name);
    }
    *s = c;
    return 0;
}

void dsp_pack_free(struct dsp_pack *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->nrecs; i++) free(p->names[i]);
    free(p->names);
    free(p->recs);
    free(p->buf);
    memset(p, 0, sizeof *p);
}
