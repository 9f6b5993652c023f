/* mfcc.h: MFCCs exactly as librosa 0.10's librosa.feature.mfcc(y=y, sr=22050, n_mfcc=40)
 * (docs/mfcc.md §3-6): periodic Hann(n_fft), hop, centred frames with zero padding,
 * real FFT power |X|^2, Slaney-scale mel filterbank with Slaney area normalisation,
 * 10*log10(max(amin, S)) clamped at (max over the whole clip) - top_db, orthonormal
 * DCT-II over the n_mels bands keeping the first n_mfcc rows.
 *
 * Precision: FFT in float32 (FFTW3f), power float32, filterbank built in double and stored
 * float32, mel sums, logs and the DCT in double; output float32. Agrees with librosa to
 * ~2e-4 (docs/mfcc.md §7). dsp/mfcc.c is the only file that includes <fftw3.h>.
 *
 * A context owns the FFTW plan (made once in create: FFTW planning is not thread-safe,
 * executing is; FFTW_ESTIMATE, so results are the same run to run) and all scratch memory
 * sized for max_samples, so dsp_mfcc_compute never allocates. One context per thread.
 */
#ifndef SER_DSP_MFCC_H
#define SER_DSP_MFCC_H

#include <stddef.h>

#include "ser/err.h"

struct dsp_mfcc_params {
    int sample_rate; /* Hz, 22050 */
    int n_fft;       /* 2048 (even) */
    int hop;         /* 512 */
    int n_mels;      /* 128 */
    int n_mfcc;      /* 40, <= n_mels */
    double fmin;     /* 0 Hz */
    double fmax;     /* sample_rate / 2.0; a value <= 0 also means sample_rate / 2.0 */
    double amin;     /* 1e-10 */
    double top_db;   /* 80 dB; a negative value disables the clamp */
    int output;      /* DSP_MFCC_OUT_MFCC (0): the DCT'd coefficients; DSP_MFCC_OUT_LOGMEL (1):
                        the dB matrix itself (librosa power_to_db(melspectrogram(power=2))) */
    int deltas;      /* 0, or 1: append librosa.feature.delta(X, width=9, order=1) and order=2
                        (mode 'interp') as planes 2 and 3 (needs at least 9 frames) */
};

enum { DSP_MFCC_OUT_MFCC = 0, DSP_MFCC_OUT_LOGMEL = 1 };
enum { DSP_DELTA_WIDTH = 9 }; /* librosa.feature.delta's default width */

/* Rows of one plane: n_mfcc (MFCC) or n_mels (log-mel). */
size_t dsp_mfcc_bands(const struct dsp_mfcc_params *p);
/* Planes: 1, or 3 with deltas ([static; delta; delta-delta], each [bands][T]). */
size_t dsp_mfcc_planes(const struct dsp_mfcc_params *p);
/* Output rows: planes * bands. */
size_t dsp_mfcc_rows(const struct dsp_mfcc_params *p);
/* "mfcc" / "logmel" (NULL for another value), and back (-1 for an unknown name). */
const char *dsp_mfcc_output_name(int output);
int dsp_mfcc_output_index(const char *name);

/* librosa's defaults with n_mfcc = 40 (the values in the comments above). */
void dsp_mfcc_default_params(struct dsp_mfcc_params *p);

struct dsp_mfcc;

/* Creates a context for signals of up to max_samples samples. Returns 0, or -1 with e
 * filled. Free with dsp_mfcc_free. */
int dsp_mfcc_create(struct dsp_mfcc **m, const struct dsp_mfcc_params *p, size_t max_samples,
                    struct err *e);

/* Number of frames of an n-sample signal: 1 + floor(n / hop) (centred frames, n >= 0). */
size_t dsp_mfcc_frames_hop(size_t n_samples, int hop);
/* The same for the default hop 512: 130 for 66150 samples. */
size_t dsp_mfcc_frames(size_t n_samples);

/* Features of y[0..n): out is [rows][T] row-major, T = frames(n), float32: plane 0 holds the
 * MFCCs [n_mfcc][T] (coefficient-major) or the dB matrix [n_mels][T]; with deltas, planes 1
 * and 2 hold their first and second librosa deltas, computed in double from the float32
 * plane 0 (docs/mfcc.md §13). Returns 0, or -1 if n > max_samples, or with deltas if T < 9
 * (out untouched). */
int dsp_mfcc_compute(struct dsp_mfcc *m, const float *y /* [n] */, size_t n,
                     float *out /* [rows][T] */);

/* librosa.feature.delta(x, width=9, order, mode='interp') of one row x[0..T), T >= 9, into
 * d[0..T) (order 1 or 2), in double, stored float32. Exposed for tests. */
void dsp_delta_row(const float *x, size_t T, int order, float *d);

/* Power spectrum of frame t of y[0..n) (frame t is centred on sample t*hop, zeros outside
 * [0, n)): power[k] = |FFT(window * frame)[k]|^2, k = 0..n_fft/2. Used by compute; exposed
 * for tests. */
void dsp_mfcc_frame_power(struct dsp_mfcc *m, const float *y /* [n] */, size_t n, size_t t,
                          float *power /* [n_fft/2 + 1] */);

/* Read-only views of the context's tables and of the last compute, for tests. */
const struct dsp_mfcc_params *dsp_mfcc_params(const struct dsp_mfcc *m);
const float *dsp_mfcc_window(const struct dsp_mfcc *m);      /* [n_fft] periodic Hann */
const double *dsp_mfcc_mel_freqs(const struct dsp_mfcc *m);  /* [n_mels + 2] band edges, Hz */
const float *dsp_mfcc_mel_basis(const struct dsp_mfcc *m);   /* [n_mels][n_fft/2 + 1] */
const double *dsp_mfcc_dct_matrix(const struct dsp_mfcc *m); /* [n_mfcc][n_mels] */
/* dB matrix of the last dsp_mfcc_compute, after the top_db clamp: [n_mels][T] (band-major,
 * librosa's (n_mels, T)), T = frames of that call. */
const double *dsp_mfcc_db(const struct dsp_mfcc *m);

/* Slaney mel scale (librosa hz_to_mel / mel_to_hz with htk=False). */
double dsp_hz_to_mel(double hz);
double dsp_mel_to_hz(double mel);

/* Accepts NULL. */
void dsp_mfcc_free(struct dsp_mfcc *m);

#endif
