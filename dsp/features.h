/* features.h: one audio file -> its MFCC matrix, exactly as librosa 0.10's
 *   y, _ = librosa.load(path, sr=22050, offset=0.5, duration=3.0)
 *   librosa.feature.mfcc(y=np.pad(y, (0, 66150 - len(y))), sr=22050, n_mfcc=40)
 * (see docs/mfcc.md; the log-mel and delta outputs of §13 on request). This is the loader (audio.h)
 * followed by the MFCC (mfcc.h), with every buffer owned by one context that is created once and
 * reused for every file, so the per-file path never allocates in steady state. A context is not
 * thread-safe: use one per thread / rank.
 */
#ifndef SER_DSP_FEATURES_H
#define SER_DSP_FEATURES_H

#include <stddef.h>

#include "dsp/audio.h"
#include "ser/err.h"
#include "dsp/mfcc.h"

struct dsp_features_params {
    struct dsp_load_params load; /* offset 0.5 s, duration 3.0 s, 22050 Hz */
    struct dsp_mfcc_params mfcc; /* librosa defaults, 40 coefficients */
};

/* Fills the librosa defaults above (mfcc.sample_rate equals load.sample_rate). */
void dsp_features_default_params(struct dsp_features_params *p);

struct dsp_features; /* owns the loader (buffers, resampler) and the MFCC context */

/* Creates a context. p->mfcc.sample_rate must equal p->load.sample_rate. Returns 0, or -1
 * with e filled (invalid parameters, out of memory). Free with dsp_features_free. */
int dsp_features_create(struct dsp_features **f, const struct dsp_features_params *p,
                        struct err *e);

/* Rows of a matrix: dsp_mfcc_rows(&p->mfcc), (deltas ? 3 : 1) * (n_mfcc or n_mels); 40. */
size_t dsp_features_rows(const struct dsp_features *f);
size_t
dsp_features_frames(const struct dsp_features *f); /* 1 + floor(ceil(duration*sr)/hop) = 130 */

/* Loads `path` (any format/rate/channel count libsndfile reads) and writes its feature matrix
 * to out: [rows][frames] row-major (see dsp_mfcc_compute for the planes), float32. Returns 0, or -1
 * with e naming the file and the problem (unreadable, shorter than the offset, non-finite samples,
 * ...); out is then unspecified. */
int dsp_features_file(struct dsp_features *f, const char *path, float *out /* [rows][frames] */,
                      struct err *e);

/* The same from mono samples at `rate` Hz (dsp_loader_pcm): a stream's window, a buffer handed
 * to the library. `name` names the source in errors. */
int dsp_features_pcm(struct dsp_features *f, const char *name, const float *x, size_t n, int rate,
                     float *out /* [rows][frames] */, struct err *e);

/* The feature matrix of a clip already at the output rate and length: y [n] floats with n ==
 * the context's clip length (dsp_features_signal's *n; 66150), e.g. a loaded clip with noise
 * added. Returns 0, or -1 with e (wrong length, non-finite features). */
int dsp_features_of_signal(struct dsp_features *f, const char *name, const float *y, size_t n,
                           float *out /* [rows][frames] */, struct err *e);

/* The 22050 Hz signal of the last successful dsp_features_file call, zero-padded to the
 * full duration: [*n] floats (66150); *n_loaded (may be NULL) = samples before padding.
 * Valid until the next call on f. */
const float *dsp_features_signal(const struct dsp_features *f, size_t *n, size_t *n_loaded);

/* Accepts NULL. */
void dsp_features_free(struct dsp_features *f);

#endif
