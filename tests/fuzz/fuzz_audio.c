/* fuzz_audio.c: audio probing, dsp_audio_probe (dsp/audio.h), on the input written to a .wav
 * file in a private temporary directory (libsndfile recognises most formats by their
 * content, so WAV, AIFF, AU, FLAC, OGG, ... inputs all reach their decoders).
 *
 * A refused file must come with a message. A probed file must report a positive rate,
 * channel count and frame count; when it is small (at most 64 KB) its MFCC matrix is then
 * computed with the default parameters (dsp_features_file), which may refuse it (too short
 * for the 0.5 s offset, ...) but must give finite features when it accepts it: a feature
 * file holding a non-finite value is refused by its reader (mpi/dataset.c). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "dsp/audio.h"
#include "dsp/features.h"
#include "tests/fuzz/fuzz_util.h"

enum { MAX_FEATURE_INPUT = 64 << 10 };

static const char *wav_path;
static struct dsp_features *feat;
static float *mfcc;
static size_t n_out;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    struct dsp_features_params p;
    struct err e = {0};
    dsp_features_default_params(&p);
    FUZZ_CHECK(dsp_features_create(&feat, &p, &e) == 0, "features: %s", e.msg);
    n_out = dsp_features_rows(feat) * dsp_features_frames(feat);
    mfcc = malloc(n_out * sizeof *mfcc);
    FUZZ_CHECK(mfcc, "out of memory");
    wav_path = fuzz_tmp_track("input.wav");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_write_file(wav_path, data, size);
    struct dsp_audio_info info = {0};
    struct err e = {0};
    int rc = dsp_audio_probe(wav_path, &info, &e);
    fuzz_expect_valid(rc, e.msg);
    if (rc != 0) {
        FUZZ_CHECK(e.msg[0], "probe failed without a message");
        return 0;
    }
    FUZZ_CHECK(info.sample_rate > 0 && info.channels > 0 && info.frames > 0,
               "probe accepted rate %d, %d channels, %lld frames", info.sample_rate, info.channels,
               (long long)info.frames);
    if (size > MAX_FEATURE_INPUT) return 0;
    if (dsp_features_file(feat, wav_path, mfcc, &e) == 0) {
        for (size_t i = 0; i < n_out; i++)
            FUZZ_CHECK(isfinite(mfcc[i]), "feature %zu is %g (rate %d, %d channels, %lld frames)",
                       i, mfcc[i], info.sample_rate, info.channels, (long long)info.frames);
    } else {
        FUZZ_CHECK(e.msg[0], "features failed without a message");
    }
    return 0;
}
