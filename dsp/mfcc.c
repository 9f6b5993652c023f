/* mfcc.c: librosa 0.10 MFCC (docs/mfcc.md §3-6) with FFTW3f; the only user of
 * <fftw3.h>. Reference: librosa.feature.mfcc(y, sr=22050, n_mfcc=40) with its defaults
 * (stft n_fft=2048, hop 512, periodic Hann, center=True, pad_mode="constant"; filters.mel
 * Slaney scale + Slaney norm; power_to_db ref=1, amin=1e-10, top_db=80; scipy dct type 2
 * norm="ortho"). The filterbank follows filters.mel step by step (rfftfreq grid, linspace of
 * mel points, float32 storage of the triangles and of the normalised weights).
 *
 * Layouts: power [n_bins] per frame; dB [n_mels][T] (band-major, librosa's (n_mels, T)); output
 * [n_mfcc][T] (coefficient-major, librosa's (n_mfcc, T)). The DCT loops over frames innermost,
 * so each output accumulates independently (vectorised) in the fixed band order.
 */
#include "dsp/mfcc.h"

#include <fftw3.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* PI is not in C11 / POSIX. */
static const double PI = 3.14159265358979323846;

struct dsp_mfcc {
    struct dsp_mfcc_params p;
    size_t max_samples, max_frames, n_bins;
    float *window;          /* [n_fft] periodic Hann */
    float *fft_in;          /* [n_fft] (fftwf_malloc) windowed frame */
    fftwf_complex *fft_out; /* [n_bins] (fftwf_malloc) */
    fftwf_plan plan;
    float *power;            /* [n_bins] */
    double *mel_f;           /* [n_mels + 2] band edges, Hz */
    float *mel_basis;        /* [n_mels][n_bins] dense (tests, and the source of mel_w) */
    size_t *mel_lo, *mel_hi; /* [n_mels] non-zero bins of row m are [lo, hi) */
    size_t *mel_off;         /* [n_mels] offset of row m in mel_w */
    float *mel_w;            /* packed non-zero ranges of the rows */
    double *dct;             /* [n_mfcc][n_mels] */
    double *db;              /* [n_mels][max_frames] used as [n_mels][T] */
    double *acc;             /* [max_frames] DCT accumulators */
};

void dsp_mfcc_default_params(struct dsp_mfcc_params *p)
{
    p->sample_rate = 22050;
    p->n_fft = 2048;
    p->hop = 512;
    p->n_mels = 128;
    p->n_mfcc = 40;
    p->fmin = 0.0;
    p->fmax = 11025.0;
    p->amin = 1e-10;
    p->top_db = 80.0;
    p->output = DSP_MFCC_OUT_MFCC;
    p->deltas = 0;
}

size_t dsp_mfcc_bands(const struct dsp_mfcc_params *p)
{
    return (size_t)(p->output == DSP_MFCC_OUT_LOGMEL ? p->n_mels : p->n_mfcc);
}

size_t dsp_mfcc_planes(const struct dsp_mfcc_params *p)
{
    return p->deltas ? 3 : 1;
}

size_t dsp_mfcc_rows(const struct dsp_mfcc_params *p)
{
    return dsp_mfcc_planes(p) * dsp_mfcc_bands(p);
}

const char *dsp_mfcc_output_name(int output)
{
    return output == DSP_MFCC_OUT_MFCC ? "mfcc" : output == DSP_MFCC_OUT_LOGMEL ? "logmel" : NULL;
}

int dsp_mfcc_output_index(const char *name)
{
    return strcmp(name, "mfcc") == 0     ? DSP_MFCC_OUT_MFCC
           : strcmp(name, "logmel") == 0 ? DSP_MFCC_OUT_LOGMEL
                                         : -1;
}

size_t dsp_mfcc_frames_hop(size_t n_samples, int hop)
{
    return 1 + n_samples / (size_t)hop;
}

size_t dsp_mfcc_frames(size_t n_samples)
{
    return dsp_mfcc_frames_hop(n_samples, 512);
}

/* librosa.core.convert constants (Slaney): 200/3 Hz per mel below 1 kHz, log above. */
static const double F_SP = 200.0 / 3.0;
static const double MIN_LOG_HZ = 1000.0;

static double logstep(void)
{
    return log(6.4) / 27.0;
}

double dsp_hz_to_mel(double hz)
{
    const double min_log_mel = MIN_LOG_HZ / F_SP;
    if (hz >= MIN_LOG_HZ) return min_log_mel + log(hz / MIN_LOG_HZ) / logstep();
    return hz / F_SP;
}

double dsp_mel_to_hz(double mel)
{
    const double min_log_mel = MIN_LOG_HZ / F_SP;
    if (mel >= min_log_mel) return MIN_LOG_HZ * exp(logstep() * (mel - min_log_mel));
    return F_SP * mel;
}

void dsp_mfcc_free(struct dsp_mfcc *m)
{
    if (!m) return;
    if (m->plan) fftwf_destroy_plan(m->plan);
    fftwf_free(m->fft_in);
    fftwf_free(m->fft_out);
    free(m->window);
    free(m->power);
    free(m->mel_f);
    free(m->mel_basis);
    free(m->mel_lo);
    free(m->mel_hi);
    free(m->mel_off);
    free(m->mel_w);
    free(m->dct);
    free(m->db);
    free(m->acc);
    free(m);
}

/* filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False, norm="slaney", dtype=float32). */
static int build_mel(struct dsp_mfcc *m, struct err *e)
{
    const struct dsp_mfcc_params *p = &m->p;
    const size_t nb = m->n_bins, nm = (size_t)p->n_mels;
    double *fft_f = malloc(nb * sizeof *fft_f);
    if (!fft_f) return err_set(e, "mfcc: out of memory");
    /* np.fft.rfftfreq(n_fft, d=1/sr): k * (1 / (n_fft * d)) */
    const double d = 1.0 / (double)p->sample_rate, val = 1.0 / ((double)p->n_fft * d);
    for (size_t k = 0; k < nb; k++) fft_f[k] = (double)k * val;
    /* mel_frequencies: linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2) -> mel_to_hz */
    const size_t npts = nm + 2;
    const double lo = dsp_hz_to_mel(p->fmin), hi = dsp_hz_to_mel(p->fmax);
    const double step = (hi - lo) / (double)(npts - 1);
    for (size_t j = 0; j < npts; j++) {
        double mel = j + 1 == npts ? hi : (double)j * step + lo;
        m->mel_f[j] = dsp_mel_to_hz(mel);
    }
    size_t total = 0;
    for (size_t r = 0; r < nm; r++) {
        const double fd0 = m->mel_f[r + 1] - m->mel_f[r], fd1 = m->mel_f[r + 2] - m->mel_f[r + 1];
        const double enorm = 2.0 / (m->mel_f[r + 2] - m->mel_f[r]);
        float *row = m->mel_basis + r * nb;
        size_t first = nb, last = 0;
        for (size_t k = 0; k < nb; k++) {
            double lower = -(m->mel_f[r] - fft_f[k]) / fd0;
            double upper = (m->mel_f[r + 2] - fft_f[k]) / fd1;
            double w = fmax(0.0, fmin(lower, upper));
            /* librosa stores the triangle in float32, then `weights *= enorm` (float64 math,
             * float32 result). */
            row[k] = (float)((double)(float)w * enorm);
            if (row[k] != 0.0f) {
                if (first == nb) first = k;
                last = k;
            }
        }
        m->mel_lo[r] = first == nb ? 0 : first;
        m->mel_hi[r] = first == nb ? 0 : last + 1;
        m->mel_off[r] = total;
        total += m->mel_hi[r] - m->mel_lo[r];
    }
    free(fft_f);
    m->mel_w = malloc((total ? total : 1) * sizeof *m->mel_w);
    if (!m->mel_w) return err_set(e, "mfcc: out of memory");
    for (size_t r = 0; r < nm; r++)
        memcpy(m->mel_w + m->mel_off[r], m->mel_basis + r * nb + m->mel_lo[r],
               (m->mel_hi[r] - m->mel_lo[r]) * sizeof *m->mel_w);
    return 0;
}

int dsp_mfcc_create(struct dsp_mfcc **out, const struct dsp_mfcc_params *pp, size_t max_samples,
                    struct err *e)
{
    *out = NULL;
    struct dsp_mfcc_params p = *pp;
    if (!(p.fmax > 0.0)) p.fmax = p.sample_rate / 2.0;
    /* n_mfcc <= n_mels matters only for MFCCs (log-mel output ignores n_mfcc) */
    if (p.sample_rate <= 0 || p.n_fft < 4 || p.n_fft % 2 || p.n_fft > (1 << 20) || p.hop <= 0 ||
        p.n_mels <= 0 || p.n_mfcc <= 0 || (p.n_mfcc > p.n_mels && p.output == DSP_MFCC_OUT_MFCC) ||
        !(p.fmin >= 0.0) || !(p.fmax > p.fmin) || p.fmax > p.sample_rate / 2.0 || !(p.amin > 0.0) ||
        isnan(p.top_db) || !dsp_mfcc_output_name(p.output) || (p.deltas != 0 && p.deltas != 1))
        return err_set(e,
                       "mfcc: invalid parameters (sr %d, n_fft %d, hop %d, n_mels %d, n_mfcc %d, "
                       "fmin %g, fmax %g, amin %g, top_db %g, output %d, deltas %d)",
                       p.sample_rate, p.n_fft, p.hop, p.n_mels, p.n_mfcc, p.fmin, p.fmax, p.amin,
                       p.top_db, p.output, p.deltas);
    if (p.deltas && dsp_mfcc_frames_hop(max_samples, p.hop) < DSP_DELTA_WIDTH)
        return err_set(e,
                       "mfcc: deltas need at least %d frames (librosa's width); a clip of %zu "
                       "samples has %zu: use a longer duration",
                       DSP_DELTA_WIDTH, max_samples, dsp_mfcc_frames_hop(max_samples, p.hop));
    struct dsp_mfcc *m = calloc(1, sizeof *m);
    if (!m) return err_set(e, "mfcc: out of memory");
    m->p = p;
    m->max_samples = max_samples;
    m->max_frames = dsp_mfcc_frames_hop(max_samples, p.hop);
    m->n_bins = (size_t)p.n_fft / 2 + 1;
    const size_t nf = (size_t)p.n_fft, nb = m->n_bins, nm = (size_t)p.n_mels;
    m->window = malloc(nf * sizeof *m->window);
    m->fft_in = fftwf_malloc(nf * sizeof *m->fft_in);
    m->fft_out = fftwf_malloc(nb * sizeof *m->fft_out);
    m->power = malloc(nb * sizeof *m->power);
    m->mel_f = malloc((nm + 2) * sizeof *m->mel_f);
    m->mel_basis = malloc(nm * nb * sizeof *m->mel_basis);
    m->mel_lo = malloc(nm * sizeof *m->mel_lo);
    m->mel_hi = malloc(nm * sizeof *m->mel_hi);
    m->mel_off = malloc(nm * sizeof *m->mel_off);
    m->dct = malloc((size_t)p.n_mfcc * nm * sizeof *m->dct);
    m->db = malloc(m->max_frames * nm * sizeof *m->db);
    m->acc = malloc(m->max_frames * sizeof *m->acc);
    if (!m->window || !m->fft_in || !m->fft_out || !m->power || !m->mel_f || !m->mel_basis ||
        !m->mel_lo || !m->mel_hi || !m->mel_off || !m->dct || !m->db || !m->acc) {
        dsp_mfcc_free(m);
        return err_set(e, "mfcc: out of memory");
    }
    /* scipy.signal.get_window('hann', n_fft, fftbins=True): periodic. */
    for (size_t n = 0; n < nf; n++)
        m->window[n] = (float)(0.5 - 0.5 * cos(2.0 * PI * (double)n / (double)nf));
    /* FFTW_ESTIMATE: no timing-dependent plan choice, so identical results on every run. */
    m->plan = fftwf_plan_dft_r2c_1d(p.n_fft, m->fft_in, m->fft_out, FFTW_ESTIMATE);
    if (!m->plan) {
        dsp_mfcc_free(m);
        return err_set(e, "mfcc: FFTW could not plan a %d-point real FFT", p.n_fft);
    }
    if (build_mel(m, e)) {
        dsp_mfcc_free(m);
        return -1;
    }
    /* Orthonormal DCT-II rows: s_q * sqrt(2/N) * cos(pi q (2i+1) / 2N), s_0 = 1/sqrt(2). */
    for (size_t q = 0; q < (size_t)p.n_mfcc; q++)
        for (size_t i = 0; i < nm; i++)
            m->dct[q * nm + i] = (q == 0 ? sqrt(0.5) : 1.0) * sqrt(2.0 / (double)nm) *
                                 cos(PI * (double)q * (double)(2 * i + 1) / (double)(2 * nm));
    *out = m;
    return 0;
}

void dsp_mfcc_frame_power(struct dsp_mfcc *m, const float *y, size_t n, size_t t, float *power)
{
    const size_t nf = (size_t)m->p.n_fft, half = nf / 2;
    const float *w = m->window;
    float *in = m->fft_in;
    /* frame t = padded[t*hop .. t*hop + n_fft) where padded = [half zeros | y | half zeros] */
    const size_t c = t * (size_t)m->p.hop; /* centre sample */
    if (c >= half && c + half <= n) {
        const float *src = y + (c - half);
        for (size_t j = 0; j < nf; j++) in[j] = src[j] * w[j];
    } else {
        for (size_t j = 0; j < nf; j++) {
            /* sample index c - half + j, zero outside [0, n) */
            size_t pos = c + j;
            in[j] = (pos >= half && pos - half < n) ? y[pos - half] * w[j] : 0.0f;
        }
    }
    fftwf_execute(m->plan);
    const fftwf_complex *X = m->fft_out;
    for (size_t k = 0; k < m->n_bins; k++) power[k] = X[k][0] * X[k][0] + X[k][1] * X[k][1];
}

/* S = sum_k w[k] p[k] with four partial sums (breaks the add-latency chain; fixed order). */
static double mel_dot(const float *w, const float *pw, size_t len)
{
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
    size_t k = 0;
    for (; k + 4 <= len; k += 4) {
        s0 += (double)w[k] * (double)pw[k];
        s1 += (double)w[k + 1] * (double)pw[k + 1];
        s2 += (double)w[k + 2] * (double)pw[k + 2];
        s3 += (double)w[k + 3] * (double)pw[k + 3];
    }
    for (; k < len; k++) s0 += (double)w[k] * (double)pw[k];
    return (s0 + s1) + (s2 + s3);
}

static void dct_rows(struct dsp_mfcc *m, size_t T, float *out);

int dsp_mfcc_compute(struct dsp_mfcc *m, const float *y, size_t n, float *out)
{
    if (n > m->max_samples) return -1;
    if (m->p.deltas && dsp_mfcc_frames_hop(n, m->p.hop) < DSP_DELTA_WIDTH) return -1;
    const size_t T = dsp_mfcc_frames_hop(n, m->p.hop), nm = (size_t)m->p.n_mels;
    const double amin = m->p.amin;
    /* 10 log10(x) as (10 / ln 10) ln(x): glibc's log is faster than log10; the floor is exact */
    const double db_floor = 10.0 * log10(amin), k10 = 10.0 / log(10.0);
    double gmax = -INFINITY;
    for (size_t t = 0; t < T; t++) {
        dsp_mfcc_frame_power(m, y, n, t, m->power);
        for (size_t r = 0; r < nm; r++) {
            double s = mel_dot(m->mel_w + m->mel_off[r], m->power + m->mel_lo[r],
                               m->mel_hi[r] - m->mel_lo[r]);
            double d = s > amin ? k10 * log(s) : db_floor;
            m->db[r * T + t] = d;
            if (d > gmax) gmax = d;
        }
    }
    if (m->p.top_db >= 0.0) {
        const double floor_db = gmax - m->p.top_db;
        for (size_t i = 0; i < T * nm; i++)
            if (m->db[i] < floor_db) m->db[i] = floor_db;
    }
    if (m->p.output == DSP_MFCC_OUT_LOGMEL) {
        for (size_t i = 0; i < T * nm; i++) out[i] = (float)m->db[i];
    } else {
        dct_rows(m, T, out);
    }
    if (m->p.deltas) {
        const size_t F = dsp_mfcc_bands(&m->p);
        for (size_t r = 0; r < F; r++) {
            dsp_delta_row(out + r * T, T, 1, out + (F + r) * T);
            dsp_delta_row(out + r * T, T, 2, out + (2 * F + r) * T);
        }
    }
    return 0;
}

/* The first n_mfcc rows of the orthonormal DCT-II of the dB columns: out [n_mfcc][T]. */
static void dct_rows(struct dsp_mfcc *m, size_t T, float *out)
{
    const size_t nm = (size_t)m->p.n_mels, nq = (size_t)m->p.n_mfcc;
    double *acc = m->acc;
    for (size_t q = 0; q < nq; q++) {
        const double *c = m->dct + q * nm;
        for (size_t t = 0; t < T; t++) acc[t] = 0.0;
        for (size_t i = 0; i < nm; i++) {
            const double ci = c[i], *d = m->db + i * T;
            for (size_t t = 0; t < T; t++) acc[t] += ci * d[t];
        }
        float *o = out + q * T;
        for (size_t t = 0; t < T; t++) o[t] = (float)acc[t];
    }
}

/* scipy.signal.savgol_filter(x, 9, polyorder=order, deriv=order, mode='interp'), which is
 * librosa.feature.delta (docs/mfcc.md §13). Interior frames 4..T-5: the least-squares
 * derivative over the window k = -4..4, i.e. sum_k c_k x[t+k] with c_k = k/60 (order 1:
 * slope of the fitted line, sum k^2 = 60) or c_k = (3k^2 - 20)/462 (order 2: twice the k^2
 * coefficient of the fitted parabola, k^2 orthogonalised against the constant: mean 20/3,
 * sum (k^2 - 20/3)^2 = 308). Edge frames: 'interp' fits a polynomial of degree `order` to the
 * first (last) 9 frames and takes its order-th derivative at frames 0..3 (T-4..T-1); that
 * derivative of a degree-`order` polynomial is a constant, the same least-squares value as
 * at the window's centre, so the edges repeat frame 4's (T-5's) value. */
void dsp_delta_row(const float *x, size_t T, int order, float *d)
{
    enum { H = DSP_DELTA_WIDTH / 2 };
    double c[DSP_DELTA_WIDTH];
    for (int k = -H; k <= H; k++)
        c[k + H] = order == 1 ? (double)k / 60.0 : (double)(3 * k * k - 20) / 462.0;
    for (size_t t = H; t + H < T; t++) {
        double s = 0.0;
        for (int k = 0; k < DSP_DELTA_WIDTH; k++) s += c[k] * (double)x[t - H + (size_t)k];
        d[t] = (float)s;
    }
    for (size_t t = 0; t < H; t++) {
        d[t] = d[H];
        d[T - 1 - t] = d[T - 1 - H];
    }
}

const struct dsp_mfcc_params *dsp_mfcc_params(const struct dsp_mfcc *m)
{
    return &m->p;
}
const float *dsp_mfcc_window(const struct dsp_mfcc *m)
{
    return m->window;
}
const double *dsp_mfcc_mel_freqs(const struct dsp_mfcc *m)
{
    return m->mel_f;
}
const float *dsp_mfcc_mel_basis(const struct dsp_mfcc *m)
{
    return m->mel_basis;
}
const double *dsp_mfcc_dct_matrix(const struct dsp_mfcc *m)
{
    return m->dct;
}
const double *dsp_mfcc_db(const struct dsp_mfcc *m)
{
    return m->db;
}
