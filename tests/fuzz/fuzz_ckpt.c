/* fuzz_ckpt.c: the checkpoint reader, dist_state_decode (mpi/state.h), which validates every
 * field of the training state by its table.
 *
 * Input: a whole checkpoint file, or a bare payload wrapped into a valid "CKPT" container
 * (fuzz_util.h), so the mutations reach the field table. A refused input must come with a
 * message. An accepted one must be usable as the rest of ser uses it: every array it holds
 * is read whole (weights, normalisation, best weights, Adam moments, history; ASan sees an
 * array shorter than its length field), the std is > 0, the position and callback state are
 * in the ranges docs/formats.md §3.3 promises, its model builds (dist_state_model), `ser
 * info` prints it (dist_state_print, to /dev/null) and it matches itself on resume
 * (dist_state_mismatch). No MPI is involved. SER_FUZZ_CKPT_NO_PRINT=1 leaves out the `ser
 * info` step (to fuzz the reader while a known bug in the printer is open). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "dsp/pack.h" /* DIST_CKPT_KIND uses DSP_PACK_FOURCC; state.h does not include it */
#include "mpi/state.h"
#include "tests/fuzz/fuzz_util.h"

static FILE *devnull;
static double sink;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    if (!getenv("SER_FUZZ_CKPT_NO_PRINT")) devnull = fopen("/dev/null", "w");
    return 0;
}

static void touch_f32(const float *v, int64_t n)
{
    for (int64_t i = 0; i < n; i++) sink += v[i];
}

static void check_state(const struct dist_state *s, int has_train)
{
    FUZZ_CHECK(s->version && s->spec, "strings missing");
    FUZZ_CHECK(s->in_channels >= 1 && s->in_len >= 1 && s->n_classes == 7 && s->nparams >= 1,
               "sizes %lld %lld %lld %lld", (long long)s->in_channels, (long long)s->in_len,
               (long long)s->n_classes, (long long)s->nparams);
    touch_f32(s->mean, s->in_channels);
    touch_f32(s->std, s->in_channels);
    for (int64_t i = 0; i < s->in_channels; i++)
        FUZZ_CHECK(s->std[i] > 0 && isfinite(s->mean[i]), "normalisation %lld", (long long)i);
    touch_f32(s->weights, s->nparams);
    if (has_train) {
        FUZZ_CHECK(s->best && s->adam.m && s->adam.v && s->config && s->split,
                   "training state incomplete");
        touch_f32(s->best, s->nparams);
        touch_f32(s->adam.m, s->nparams);
        touch_f32(s->adam.v, s->nparams);
        FUZZ_CHECK(s->epoch >= 0 && s->epoch <= 1000000 && s->batch >= 0, "position");
        FUZZ_CHECK(s->stopper.best_epoch >= -1 && s->stopper.best_epoch <= s->epoch,
                   "best epoch %d of %lld", s->stopper.best_epoch, (long long)s->epoch);
        FUZZ_CHECK(s->adam.lr > 0 && s->adam.lr < 1e6, "lr %g", s->adam.lr);
        for (int64_t i = 0; i < s->epoch * DIST_H_COLS; i++) sink += s->hist[i];
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    unsigned char *owned;
    size_t len;
    const unsigned char *in = fuzz_as_pack(data, size, DIST_CKPT_KIND, &len, &owned);
    struct dist_state s = {0};
    struct err e = {0};
    int has_train = -1;
    int rc = dist_state_decode(&s, in, len, "fuzz", &has_train, &e);
    fuzz_expect_valid(rc, e.msg);
    if (rc == 0) {
        check_state(&s, has_train);
        FUZZ_CHECK(dist_state_mismatch(&s, &s) == NULL, "a state differs from itself");
        struct nn_model *m = NULL;
        FUZZ_CHECK(dist_state_model(&s, 1, &m, &e) == 0,
                   "an accepted checkpoint's model does not build: %s", e.msg);
        FUZZ_CHECK(nn_model_nparams(m) == (size_t)s.nparams, "parameter count");
        if (devnull) dist_state_print(devnull, &s, m);
        nn_model_free(m);
    } else {
        FUZZ_CHECK(e.msg[0], "decode failed without a message");
    }
    dist_state_free(&s);
    free(owned);
    return 0;
}
