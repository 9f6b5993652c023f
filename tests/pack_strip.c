/* pack_strip KIND IN OUT NAME...: copies the pack IN (of kind KIND, four letters: FEAT, CKPT)
 * to OUT without the records NAME... : makes files as earlier writers wrote them, before those
 * records existed (tests/test_feature_types_train.py). */
#include <stdio.h>
#include <string.h>

#include "dsp/pack.h"

int main(int argc, char **argv)
{
    if (argc < 4 || strlen(argv[1]) != 4) {
        fprintf(stderr, "usage: pack_strip KIND IN OUT NAME...\n");
        return 1;
    }
    const char *k = argv[1];
    uint32_t kind = DSP_PACK_FOURCC(k[0], k[1], k[2], k[3]);
    struct dsp_pack in = {0}, out = {0};
    struct err e = {0};
    int rc = dsp_pack_read(&in, argv[2], kind, &e);
    for (size_t i = 0; rc == 0 && i < in.nrecs; i++) {
        /* dsp_pack_find sets the record's data pointer */
        const struct dsp_pack_rec *r = dsp_pack_find(&in, in.recs[i].name);
        int drop = 0;
        for (int a = 4; a < argc; a++) drop |= strcmp(r->name, argv[a]) == 0;
        if (!drop) rc = dsp_pack_add(&out, r->name, r->dtype, r->ndim, r->dims, r->data, &e);
    }
    if (rc == 0) rc = dsp_pack_write(&out, argv[3], kind, 1, &e);
    if (rc) fprintf(stderr, "pack_strip: %s\n", e.msg);
    dsp_pack_free(&in);
    dsp_pack_free(&out);
    return rc ? 1 : 0;
}
