/* audio.h: decoding audio files (libsndfile) and loading clips exactly as librosa 0.10's
 * `librosa.load(path, sr=22050, offset=0.5, duration=3.0)` does (see docs/mfcc.md §1-2).
 * dsp/audio.c is the only file that includes <sndfile.h>.
 */
#ifndef SER_DSP_AUDIO_H
#define SER_DSP_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include "ser/err.h"

struct dsp_audio_info {
    int sample_rate; /* Hz, as stored in the file */
    int channels;
    int64_t frames; /* frames actually decodable */
    int format;     /* libsndfile SF_FORMAT_* (container | subtype) */
};

/* Opens `path` with libsndfile and decodes every frame, so that unreadable, empty (no
 * frames), truncated (header promises more data than the file holds) and otherwise damaged
 * files are found before training. Returns 0 and fills *info, or -1 with e naming the file
 * and the problem ("empty: no audio frames", "truncated: header says N frames, file holds M",
 * "not a supported audio file: <libsndfile message>", "non-finite sample at frame N", "silent:
 * every sample is 0", "git-lfs pointer, not audio: ...", "... sample values too large to analyse"
 * for |x| > 1e15). */
int dsp_audio_probe(const char *path, struct dsp_audio_info *info, struct err *e);

/* ---- The clip loader: librosa 0.10 `load(path, sr=22050, offset=0.5, duration=3.0)` ----
 *
 * Exactly librosa's order (docs/mfcc.md §1-2): sf_readf_float with libsndfile's default float
 * normalisation (16-bit x/32768, 8-bit (x-128)/128, 24/32-bit x/2^31 of the left-aligned
 * int, float WAV unscaled); seek (sf_count_t)(offset*sr0) frames at the file's own rate sr0
 * (truncation, not rounding); read at most (sf_count_t)(duration*sr0) frames (fewer at the
 * end of the file); mean of the channels in float32; if sr0 != sample_rate, resample that
 * segment with libsoxr SOXR_HQ (float32 I/O, a cold resampler per clip, flushed; the loader
 * keeps one resampler per native rate and soxr_clear()s it, which gives bit-identical output
 * to a fresh soxr_create, checked by tests/test_loader.c); fix the
 * length to ceil(n0 * (sample_rate / sr0)) (zeros at the end, or trimmed); finally zero-pad
 * to ceil(duration * sample_rate) samples (66150), trimming anything longer.
 *
 * Policies: a file with no frame after the offset (shorter than or exactly as long as the
 * offset) is an error "<path>: shorter than the 0.5 s offset: no audio to analyse" (librosa
 * would silently return an empty signal); a NaN/Inf in the read segment is an error (librosa's
 * valid_audio). Other errors: "<path>: cannot open: <strerror>", "empty: 0 bytes", "is a
 * directory", "not a supported audio file: <libsndfile message>". */
struct dsp_load_params {
    double offset_s;   /* 0.5 */
    double duration_s; /* 3.0, > 0 */
    int sample_rate;   /* 22050 Hz, the output rate */
};

void dsp_load_default_params(struct dsp_load_params *p);

/* Samples in the padded output: ceil(duration_s * sample_rate) (66150). */
size_t dsp_load_samples(const struct dsp_load_params *p);

/* A loader owns its decode/mix/resample buffers; they grow to the largest file seen and are
 * then reused, so loading many files does not allocate per file. One per thread. */
struct dsp_loader;

int dsp_loader_create(struct dsp_loader **l, const struct dsp_load_params *p, struct err *e);

/* Loads `path` into y: [dsp_load_samples(p)] floats (zero-padded); *n_loaded (may be NULL)
 * = samples before the zero padding (<= dsp_load_samples). Returns 0, or -1 with e naming
 * the file and the problem. */
int dsp_loader_load(struct dsp_loader *l, const char *path, float *y /* [samples] */,
                    size_t *n_loaded, struct err *e);

/* The same clip from samples already decoded and mixed to mono: x[0..n) at `rate` Hz, taken as
 * a file of that rate holding exactly those samples would be (offset and duration cut at
 * `rate`, non-finite check, resampling, length fix, padding); `name` names the source in
 * errors. Used for streams and for signals made in memory. */
int dsp_loader_pcm(struct dsp_loader *l, const char *name, const float *x, size_t n, int rate,
                   float *y /* [samples] */, size_t *n_loaded, struct err *e);

/* Accepts NULL. */
void dsp_loader_free(struct dsp_loader *l);

/* One-shot convenience: creates a loader, loads, frees. */
int dsp_load(const char *path, const struct dsp_load_params *p, float *y /* [samples] */,
             size_t *n_loaded, struct err *e);

#endif
