/* fuzz_pack.c: the pack container reader, dsp_pack_decode (dsp/pack.h), any kind.
 *
 * Input: a whole pack file (decoded with the kind its own header names, so every kind gets
 * past the kind check), or a bare payload wrapped into a valid container of kind "FUZZ"
 * (fuzz_util.h). On success every record is checked against what the reader promises:
 * dsp_pack_find finds it by name, dsp_pack_need accepts its dtype and count, its data lies
 * inside the pack (every byte is read, so ASan sees an overrun) and is 8-byte aligned, and
 * the string and scalar accessors work on the records they apply to. Then the records are
 * written again with dsp_pack_add and dsp_pack_encode and decoded back: the round trip must
 * give the same names, dtypes, shapes and bytes. A refused input must come with a message. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/pack.h"
#include "tests/fuzz/fuzz_util.h"

#define FUZZ_KIND DSP_PACK_FOURCC('F', 'U', 'Z', 'Z')

static unsigned sink; /* keeps the reads of record data from being optimised away */

static void check_record(const struct dsp_pack *p, const struct dsp_pack_rec *r)
{
    const struct dsp_pack_rec *f = dsp_pack_find(p, r->name);
    FUZZ_CHECK(f == r, "record '%s' is not found under its own name", r->name);
    struct err e = {0};
    size_t es = dsp_pack_dtype_size(r->dtype);
    FUZZ_CHECK(es > 0 && r->ndim >= 0 && r->ndim <= DSP_PACK_MAX_NDIM, "record '%s': dtype %d",
               r->name, (int)r->dtype);
    uint64_t cnt = 1;
    for (int d = 0; d < r->ndim; d++) cnt *= r->dims[d];
    FUZZ_CHECK(cnt == r->count, "record '%s': count %llu, dims give %llu", r->name,
               (unsigned long long)r->count, (unsigned long long)cnt);
    FUZZ_CHECK(dsp_pack_need(p, "fuzz", r->name, r->dtype, r->count, &e) == r, "need: %s", e.msg);
    FUZZ_CHECK(((uintptr_t)f->data & 7) == 0, "record '%s': data not 8-byte aligned", r->name);
    const unsigned char *b = f->data;
    for (size_t i = 0; i < (size_t)r->count * es; i++) sink += b[i];
    if (r->dtype == DSP_PACK_U8 && r->ndim == 1) {
        char *s = NULL;
        int rc = dsp_pack_get_str(p, "fuzz", r->name, &s, &e);
        FUZZ_CHECK(rc == 0 || e.msg[0], "get_str failed without a message");
        if (rc == 0) {
            FUZZ_CHECK(strlen(s) == r->count, "string '%s' has the wrong length", r->name);
            free(s);
        }
    }
    if (r->dtype == DSP_PACK_I64 && r->count == 1) {
        int64_t v;
        FUZZ_CHECK(dsp_pack_get_i64(p, "fuzz", r->name, &v, &e) == 0, "get_i64: %s", e.msg);
        sink += (unsigned)v;
    }
    if (r->dtype == DSP_PACK_F64 && r->count == 1) {
        double v;
        FUZZ_CHECK(dsp_pack_get_f64(p, "fuzz", r->name, &v, &e) == 0, "get_f64: %s", e.msg);
    }
}

/* Writes every record of p into a new pack, encodes, decodes and compares. */
static void round_trip(const struct dsp_pack *p, uint32_t kind)
{
    struct dsp_pack q = {0}, r = {0};
    struct err e = {0};
    for (size_t i = 0; i < p->nrecs; i++) {
        const struct dsp_pack_rec *a = dsp_pack_find(p, p->recs[i].name);
        FUZZ_CHECK(dsp_pack_add(&q, a->name, a->dtype, a->ndim, a->dims, a->data, &e) == 0,
                   "a record the reader accepted cannot be written again: %s", e.msg);
    }
    unsigned char *buf = NULL;
    size_t len = 0;
    FUZZ_CHECK(dsp_pack_encode(&q, kind, 1, &buf, &len, &e) == 0, "encode: %s", e.msg);
    FUZZ_CHECK(dsp_pack_decode(&r, buf, len, kind, "round trip", &e) == 0, "decode: %s", e.msg);
    FUZZ_CHECK(r.nrecs == p->nrecs, "round trip: %zu records, was %zu", r.nrecs, p->nrecs);
    for (size_t i = 0; i < p->nrecs; i++) {
        const struct dsp_pack_rec *a = &p->recs[i], *b = dsp_pack_find(&r, a->name);
        FUZZ_CHECK(b && b->dtype == a->dtype && b->ndim == a->ndim && b->count == a->count &&
                       memcmp(b->dims, a->dims, sizeof a->dims[0] * (size_t)a->ndim) == 0,
                   "round trip changed record '%s'", a->name);
        a = dsp_pack_find(p, a->name);
        FUZZ_CHECK(memcmp(a->data, b->data, (size_t)a->count * dsp_pack_dtype_size(a->dtype)) == 0,
                   "round trip changed the data of '%s'", a->name);
    }
    free(buf);
    dsp_pack_free(&q);
    dsp_pack_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *owned;
    size_t len;
    /* a file is read as the kind it claims to be; a payload goes into a "FUZZ" pack */
    uint32_t kind = fuzz_is_pack(data, size) && size >= 16 ? fuzz_get32(data + 12) : FUZZ_KIND;
    const unsigned char *in = fuzz_as_pack(data, size, kind, &len, &owned);
    struct dsp_pack p = {0};
    struct err e = {0};
    int rc = dsp_pack_decode(&p, in, len, kind, "fuzz", &e);
    fuzz_expect_valid(rc, e.msg);
    if (rc == 0) {
        for (size_t i = 0; i < p.nrecs; i++) check_record(&p, &p.recs[i]);
        round_trip(&p, kind);
    } else {
        FUZZ_CHECK(e.msg[0], "decode failed without a message");
    }
    dsp_pack_free(&p);
    free(owned);
    return 0;
}
