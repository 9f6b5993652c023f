/* test_pack.c: the pack container (dsp/pack.h): round trip of every dtype, atomic write over an
 * existing file, and refusal (never a crash) of damaged files: every single-byte corruption in
 * the header and a sample of positions in the payload, every truncation length, a crafted
 * header with an implausible payload size, the wrong kind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dsp/pack.h"

#include "tests/check.h"

#define KIND DSP_PACK_FOURCC('T', 'E', 'S', 'T')

static int build(struct dsp_pack *p, struct err *e)
{
    float f[2][3] = {{1.5f, -2.25f, 3e-7f}, {0, 1e30f, -0.0f}};
    uint64_t fd[2] = {2, 3};
    int32_t iv[5] = {-1, 0, 1, 2147483647, -2147483647 - 1};
    uint64_t id[1] = {5};
    double dv[1] = {3.141592653589793};
    uint64_t dd[1] = {1};
    if (dsp_pack_add(p, "weights", DSP_PACK_F32, 2, fd, f, e)) return -1;
    if (dsp_pack_add(p, "ints", DSP_PACK_I32, 1, id, iv, e)) return -1;
    if (dsp_pack_add(p, "pi", DSP_PACK_F64, 1, dd, dv, e)) return -1;
    if (dsp_pack_add_i64(p, "step", -1234567890123LL, e)) return -1;
    if (dsp_pack_add_f64(p, "lr", 1e-3, e)) return -1;
    if (dsp_pack_add_str(p, "spec", "conv1d:64:5 relu", e)) return -1;
    uint64_t z = 0;
    if (dsp_pack_add(p, "empty", DSP_PACK_U8, 1, &z, NULL, e)) return -1;
    return 0;
}

static void check_contents(const struct dsp_pack *p)
{
    struct err e = {0};
    const struct dsp_pack_rec *r = dsp_pack_need(p, "t", "weights", DSP_PACK_F32, 6, &e);
    CHECK(r && r->ndim == 2 && r->dims[0] == 2 && r->dims[1] == 3, "weights shape");
    if (r) {
        const float *f = r->data;
        CHECK(f[0] == 1.5f && f[1] == -2.25f && f[2] == 3e-7f && f[4] == 1e30f, "weights values");
        CHECK(((uintptr_t)r->data & 7) == 0, "data alignment");
    }
    r = dsp_pack_need(p, "t", "ints", DSP_PACK_I32, 5, &e);
    CHECK(r && ((const int32_t *)r->data)[3] == 2147483647, "ints");
    int64_t step = 0;
    CHECK(dsp_pack_get_i64(p, "t", "step", &step, &e) == 0 && step == -1234567890123LL, "i64");
    double lr = 0;
    CHECK(dsp_pack_get_f64(p, "t", "lr", &lr, &e) == 0 && lr == 1e-3, "f64");
    char *s = NULL;
    CHECK(dsp_pack_get_str(p, "t", "spec", &s, &e) == 0 && s && strcmp(s, "conv1d:64:5 relu") == 0,
          "string");
    free(s);
    CHECK(dsp_pack_need(p, "t", "weights", DSP_PACK_I32, 0, &e) == NULL && strstr(e.msg, "type"),
          "dtype mismatch must be reported: %s", e.msg);
    CHECK(dsp_pack_need(p, "t", "nope", DSP_PACK_I32, 0, &e) == NULL && strstr(e.msg, "missing"),
          "missing field must be reported");
    r = dsp_pack_need(p, "t", "empty", DSP_PACK_U8, 0, &e);
    CHECK(r && r->count == 0, "empty record");
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    char path[4096];
    snprintf(path, sizeof path, "%s/test_pack.serp", dir);
    struct err e = {0};
    struct dsp_pack p = {0};
    CHECK(build(&p, &e) == 0, "build: %s", e.msg);
    CHECK(dsp_pack_add_i64(&p, "step", 1, &e) != 0, "duplicate names must be refused");
    CHECK(dsp_pack_write(&p, path, KIND, 6, &e) == 0, "write: %s", e.msg);

    unsigned char *enc;
    size_t enclen;
    CHECK(dsp_pack_encode(&p, KIND, 6, &enc, &enclen, &e) == 0, "encode");
    dsp_pack_free(&p);

    struct dsp_pack q = {0};
    CHECK(dsp_pack_read(&q, path, KIND, &e) == 0, "read: %s", e.msg);
    check_contents(&q);
    dsp_pack_free(&q);

    /* Huffman-only mode (checkpoints, feature files): same contents back, and smaller than
     * the stored (level 0) encoding of the same pack */
    {
        struct dsp_pack h = {0}, hr = {0};
        unsigned char *he, *se;
        size_t hl, sl;
        CHECK(build(&h, &e) == 0, "build: %s", e.msg);
        CHECK(dsp_pack_encode(&h, KIND, DSP_PACK_ENTROPY, &he, &hl, &e) == 0, "encode huffman: %s",
              e.msg);
        CHECK(dsp_pack_encode(&h, KIND, 0, &se, &sl, &e) == 0, "encode stored: %s", e.msg);
        CHECK(hl < sl, "huffman-only encoding (%zu bytes) not smaller than stored (%zu)", hl, sl);
        CHECK(dsp_pack_decode(&hr, he, hl, KIND, "huffman", &e) == 0, "decode huffman: %s", e.msg);
        check_contents(&hr);
        dsp_pack_free(&hr);
        dsp_pack_free(&h);
        free(he);
        free(se);
    }

    CHECK(dsp_pack_read(&q, path, DSP_PACK_FOURCC('C', 'K', 'P', 'T'), &e) != 0 &&
              strstr(e.msg, "wrong kind"),
          "wrong kind must be refused: %s", e.msg);
    dsp_pack_free(&q);

    /* Every truncation length is refused. */
    for (size_t n = 0; n < enclen; n++) {
        struct dsp_pack t = {0};
        int rc = dsp_pack_decode(&t, enc, n, KIND, "trunc", &e);
        CHECK(rc != 0, "truncation to %zu bytes accepted", n);
        dsp_pack_free(&t);
    }
    /* Every single-byte corruption is refused (header CRC, zlib, payload CRC). */
    unsigned char *bad = malloc(enclen);
    for (size_t i = 0; i < enclen; i++) {
        for (int flip = 1; flip < 256; flip <<= 3) {
            memcpy(bad, enc, enclen);
            bad[i] ^= (unsigned char)flip;
            struct dsp_pack t = {0};
            int rc = dsp_pack_decode(&t, bad, enclen, KIND, "corrupt", &e);
            CHECK(rc != 0, "corruption at byte %zu (xor %d) accepted", i, flip);
            dsp_pack_free(&t);
        }
    }
    /* A crafted header (valid header CRC) claiming a huge payload is refused before allocating. */
    memcpy(bad, enc, enclen);
    uint64_t huge = (uint64_t)1 << 60;
    memcpy(bad + 16, &huge, 8);
    uint32_t hc = (uint32_t)crc32(crc32(0, Z_NULL, 0), bad, 40);
    memcpy(bad + 40, &hc, 4);
    {
        struct dsp_pack t = {0};
        CHECK(dsp_pack_decode(&t, bad, enclen, KIND, "crafted", &e) != 0 &&
                  strstr(e.msg, "implausible"),
              "crafted size accepted: %s", e.msg);
        dsp_pack_free(&t);
    }
    /* A crafted payload (valid CRCs) whose record claims more data than present is refused. */
    {
        struct dsp_pack c = {0};
        float one = 1;
        uint64_t d1 = 1;
        dsp_pack_add(&c, "x", DSP_PACK_F32, 1, &d1, &one, &e);
        uint64_t lie = 1000000;
        /* dims[0] sits after: 8-byte head, u16 len, "x", dtype, ndim */
        memcpy(c.buf + 8 + 2 + 1 + 2, &lie, 8);
        unsigned char *ce;
        size_t cl;
        dsp_pack_encode(&c, KIND, 1, &ce, &cl, &e);
        struct dsp_pack t = {0};
        CHECK(dsp_pack_decode(&t, ce, cl, KIND, "lying-dims", &e) != 0 && strstr(e.msg, "past"),
              "record overrun accepted: %s", e.msg);
        dsp_pack_free(&t);
        dsp_pack_free(&c);
        free(ce);
    }
    free(bad);
    free(enc);

    /* An unwritable target leaves the previous file intact. */
    char dpath[4200];
    snprintf(dpath, sizeof dpath, "%s/no-such-dir/x.serp", dir);
    struct dsp_pack w = {0};
    build(&w, &e);
    CHECK(dsp_pack_write(&w, dpath, KIND, 1, &e) != 0 && strstr(e.msg, "no-such-dir"),
          "write into a missing directory must fail with the path: %s", e.msg);
    dsp_pack_free(&w);
    CHECK(dsp_pack_read(&q, path, KIND, &e) == 0, "previous file still readable");
    dsp_pack_free(&q);
    remove(path);

    if (failures)
        fprintf(stderr, "%d failure(s)\n", failures);
    else
        printf("test_pack: all checks passed\n");
    return failures ? 1 : 0;
}
