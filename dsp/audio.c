/* audio.c: libsndfile decoding (the only user of <sndfile.h>), probing of corpus files, and
 * the librosa-0.10-identical clip loader (see audio.h and docs/mfcc.md §1-2): seek and
 * cut at the native rate, float32 channel mean, libsoxr SOXR_HQ with float32 I/O (what
 * python-soxr's resample(quality="soxr_hq") calls), librosa's fix_length, zero padding.
 * The only user of <soxr.h>. */
#include "dsp/audio.h"

#include <errno.h>
#include <stdio.h>
#include <math.h>
#include <sndfile.h>
#include <soxr.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Bytes per sample of the uncompressed subtypes, 0 for the others. */
static int sample_bytes(int format)
{
    switch (format & SF_FORMAT_SUBMASK) {
    case SF_FORMAT_PCM_S8:
    case SF_FORMAT_PCM_U8:
    case SF_FORMAT_ULAW:
    case SF_FORMAT_ALAW:
        return 1;
    case SF_FORMAT_PCM_16:
        return 2;
    case SF_FORMAT_PCM_24:
        return 3;
    case SF_FORMAT_PCM_32:
    case SF_FORMAT_FLOAT:
        return 4;
    case SF_FORMAT_DOUBLE:
        return 8;
    }
    return 0;
}

static uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}

/* The number of frames the file's header promises, or -1 when it does not say (streaming
 * sizes 0xFFFFFFFF, compressed or unknown containers). libsndfile quietly shortens a stream
 * whose header promises more than the file holds, so "truncated" is decided by comparing
 * this promise with the frames actually decoded. Read: WAV's data chunk size, AIFF's COMM
 * frame count, AU's data size. A wrong byte rate or block align does not matter. */
static int64_t declared_frames(const char *path, const SF_INFO *si)
{
    unsigned char h[4096];
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t n = fread(h, 1, sizeof h, f);
    fclose(f);
    int64_t bytes_per_frame = (int64_t)sample_bytes(si->format) * si->channels;
    int major = si->format & SF_FORMAT_TYPEMASK;
    if (major == SF_FORMAT_WAV && n >= 12 && memcmp(h, "RIFF", 4) == 0 && bytes_per_frame) {
        for (size_t pos = 12; pos + 8 <= n;) {
            uint32_t size = le32(h + pos + 4);
            if (memcmp(h + pos, "data", 4) == 0)
                return size == 0xFFFFFFFFu ? -1 : (int64_t)size / bytes_per_frame;
            if (size > n) break;
            pos += 8 + size + (size & 1);
        }
    } else if (major == SF_FORMAT_AIFF && n >= 12 && memcmp(h, "FORM", 4) == 0) {
        for (size_t pos = 12; pos + 14 <= n;) {
            uint32_t size = be32(h + pos + 4);
            if (memcmp(h + pos, "COMM", 4) == 0) return (int64_t)be32(h + pos + 10);
            if (size > n) break;
            pos += 8 + size + (size & 1);
        }
    } else if (major == SF_FORMAT_AU && n >= 12 && memcmp(h, ".snd", 4) == 0 && bytes_per_frame) {
        uint32_t size = be32(h + 8);
        return size == 0xFFFFFFFFu ? -1 : (int64_t)size / bytes_per_frame;
    }
    return -1;
}

int dsp_audio_probe(const char *path, struct dsp_audio_info *info, struct err *e)
{
    struct stat st;
    if (stat(path, &st) == 0 && st.st_size == 0) return err_set(e, "%s: empty: 0 bytes", path);
    /* A clone made without git-lfs holds small text pointers instead of the audio. */
    char head[32] = "";
    FILE *hf = fopen(path, "rb");
    if (hf) {
        size_t got = fread(head, 1, sizeof head - 1, hf);
        head[got] = 0;
        fclose(hf);
    }
    if (strncmp(head, "version https://git-lfs", 23) == 0)
        return err_set(e,
                       "%s: git-lfs pointer, not audio: run git lfs pull in the corpus's "
                       "repository",
                       path);
    SF_INFO si;
    memset(&si, 0, sizeof si);
    SNDFILE *f = sf_open(path, SFM_READ, &si);
    if (!f) return err_set(e, "%s: not a supported audio file: %s", path, sf_strerror(NULL));
    int rc = 0;
    if (si.frames <= 0 || si.channels <= 0 || si.samplerate <= 0) {
        rc = err_set(e, "%s: empty: no audio frames", path);
        goto out;
    }
    enum { CHUNK = 4096 };
    float *buf = malloc(sizeof(float) * CHUNK * (size_t)si.channels);
    if (!buf) {
        rc = err_set(e, "%s: out of memory", path);
        goto out;
    }
    int64_t total = 0;
    int sound = 0; /* any sample not 0 */
    for (;;) {
        sf_count_t got = sf_readf_float(f, buf, CHUNK);
        if (got <= 0) break;
        for (sf_count_t i = 0; i < got * si.channels; i++) {
            sound |= buf[i] != 0;
            if (!isfinite(buf[i])) {
                rc = err_set(e, "%s: non-finite sample at frame %lld", path,
                             (long long)(total + i / si.channels));
                break;
            }
            /* Beyond 1e15 a 2048-point power spectrum can overflow float: such a file cannot
             * give finite features (dsp_features_file would refuse it later). */
            if (fabsf(buf[i]) > 1e15f) {
                rc = err_set(e, "%s: sample %g at frame %lld: sample values too large to analyse",
                             path, (double)buf[i], (long long)(total + i / si.channels));
                break;
            }
        }
        if (rc) break;
        total += got;
    }
    free(buf);
    int64_t promised = rc == 0 ? declared_frames(path, &si) : -1;
    if (promised < 0 || promised < si.frames) promised = si.frames;
    if (rc == 0 && total < promised)
        rc = err_set(e, "%s: truncated: the header promises %lld frames, the file holds %lld", path,
                     (long long)promised, (long long)total);
    if (rc == 0 && !sound) rc = err_set(e, "%s: silent: every sample is 0", path);
    if (rc == 0) {
        info->sample_rate = si.samplerate;
        info->channels = si.channels;
        info->frames = total;
        info->format = si.format;
    }
out:
    sf_close(f);
    return rc;
}

/* ---- loader ---- */

struct dsp_loader {
    struct dsp_load_params p;
    size_t n_out;  /* ceil(duration * sample_rate) */
    float *frames; /* [cap_frames * channels] interleaved decode buffer */
    size_t cap_frames_x_ch;
    float *mono; /* [cap_mono] channel mean at the native rate */
    size_t cap_mono;
    float *resampled; /* [cap_res] soxr output */
    size_t cap_res;
    /* A resampler for the last native rate seen. soxr_clear() returns it to the state of a
     * freshly created one (measured bit-identical output, and checked by test_loader), which
     * saves the filter design on every clip; a different rate replaces it. */
    soxr_t soxr;
    int soxr_rate;
};

void dsp_load_default_params(struct dsp_load_params *p)
{
    p->offset_s = 0.5;
    p->duration_s = 3.0;
    p->sample_rate = 22050;
}

size_t dsp_load_samples(const struct dsp_load_params *p)
{
    return (size_t)ceil(p->duration_s * (double)p->sample_rate);
}

int dsp_loader_create(struct dsp_loader **l, const struct dsp_load_params *p, struct err *e)
{
    *l = NULL;
    if (!(p->offset_s >= 0.0) || !(p->offset_s < 1e6))
        return err_set(e, "loader: offset must be in [0, 1e6) s, got %g", p->offset_s);
    if (!(p->duration_s > 0.0) || !(p->duration_s <= 3600.0))
        return err_set(e, "loader: duration must be in (0, 3600] s, got %g", p->duration_s);
    if (p->sample_rate < 1000 || p->sample_rate > 768000)
        return err_set(e, "loader: sample rate must be in [1000, 768000] Hz, got %d",
                       p->sample_rate);
    struct dsp_loader *L = calloc(1, sizeof *L);
    if (!L) return err_set(e, "loader: out of memory");
    L->p = *p;
    L->n_out = dsp_load_samples(p);
    *l = L;
    return 0;
}

void dsp_loader_free(struct dsp_loader *l)
{
    if (!l) return;
    free(l->frames);
    free(l->mono);
    free(l->resampled);
    if (l->soxr) soxr_delete(l->soxr);
    free(l);
}

/* Grows *buf to at least n floats (keeps nothing). */
static int grow(float **buf, size_t *cap, size_t n)
{
    if (n <= *cap) return 0;
    float *b = malloc(n * sizeof *b);
    if (!b) return -1;
    free(*buf);
    *buf = b;
    *cap = n;
    return 0;
}

/* Resamples x[0..n0) from sr0 to the output rate into l->resampled; returns the number of
 * samples soxr emitted (round(n0 * out/in), half up) in *n_res. */
static int resample(struct dsp_loader *l, const char *path, int sr0, const float *x, size_t n0,
                    size_t *n_res, struct err *e)
{
    double out_rate = (double)l->p.sample_rate;
    if (!l->soxr || l->soxr_rate != sr0) {
        if (l->soxr) soxr_delete(l->soxr);
        l->soxr = NULL;
        soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
        soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
        soxr_error_t serr = NULL;
        l->soxr = soxr_create((double)sr0, out_rate, 1, &serr, &io, &q, NULL);
        if (!l->soxr || serr)
            return err_set(e, "%s: cannot resample %d Hz -> %d Hz: %s", path, sr0, l->p.sample_rate,
                           serr ? serr : "soxr_create failed");
        l->soxr_rate = sr0;
    } else {
        soxr_error_t serr = soxr_clear(l->soxr);
        if (serr) return err_set(e, "%s: soxr_clear: %s", path, serr);
    }
    /* soxr emits round(n0 * ratio) samples; leave room for a few more. */
    size_t cap = (size_t)ceil((double)n0 * out_rate / (double)sr0) + 64;
    if (grow(&l->resampled, &l->cap_res, cap)) return err_set(e, "%s: out of memory", path);
    float *y = l->resampled;
    size_t fed = 0, done = 0;
    while (fed < n0) {
        size_t idone = 0, odone = 0;
        soxr_error_t serr =
            soxr_process(l->soxr, x + fed, n0 - fed, &idone, y + done, cap - done, &odone);
        if (serr) return err_set(e, "%s: resampling failed: %s", path, serr);
        fed += idone;
        done += odone;
        if (idone == 0 && odone == 0)
            return err_set(e, "%s: resampling stalled after %zu of %zu samples", path, fed, n0);
    }
    for (;;) { /* flush: in == NULL drains the filter's tail */
        size_t odone = 0;
        soxr_error_t serr = soxr_process(l->soxr, NULL, 0, NULL, y + done, cap - done, &odone);
        if (serr) return err_set(e, "%s: resampling failed: %s", path, serr);
        if (odone == 0) break;
        done += odone;
        if (done == cap) return err_set(e, "%s: resampler produced too many samples", path);
    }
    *n_res = done;
    return 0;
}

/* The steps after decoding, shared by files and PCM buffers: resample the mono segment
 * x[0..n0) from sr0 to the output rate, fix its length as librosa does, zero-pad to the
 * clip's length into y. */
static int finish(struct dsp_loader *l, const char *path, int sr0, const float *x, size_t n0,
                  float *y, size_t *n_loaded, struct err *e)
{
    const size_t n_out = l->n_out;
    size_t L;
    if (sr0 == l->p.sample_rate) {
        L = n0 < n_out ? n0 : n_out;
        memcpy(y, x, L * sizeof *y);
    } else {
        size_t n_res = 0;
        if (resample(l, path, sr0, x, n0, &n_res, e)) return -1;
        /* librosa: ratio = float(target_sr) / orig_sr; fix_length(size=ceil(n0 * ratio)). */
        const double ratio = (double)l->p.sample_rate / (double)sr0;
        size_t fixed = (size_t)ceil((double)n0 * ratio);
        L = fixed < n_out ? fixed : n_out;
        size_t copy = n_res < L ? n_res : L;
        memcpy(y, l->resampled, copy * sizeof *y);
        memset(y + copy, 0, (L - copy) * sizeof *y);
    }
    memset(y + L, 0, (n_out - L) * sizeof *y);
    if (n_loaded) *n_loaded = L;
    return 0;
}

int dsp_loader_pcm(struct dsp_loader *l, const char *name, const float *mono, size_t n, int rate,
                   float *y, size_t *n_loaded, struct err *e)
{
    if (rate <= 0) return err_set(e, "%s: invalid sample rate %d Hz", name, rate);
    const size_t start = (size_t)(l->p.offset_s * (double)rate);
    const size_t want = (size_t)(l->p.duration_s * (double)rate);
    if (n <= start)
        return err_set(e, "%s: shorter than the %g s offset: no audio to analyse", name,
                       l->p.offset_s);
    size_t n0 = n - start < want ? n - start : want;
    for (size_t i = 0; i < n0; i++)
        if (!isfinite(mono[start + i]))
            return err_set(e, "%s: non-finite sample at frame %zu", name, start + i);
    return finish(l, name, rate, mono + start, n0, y, n_loaded, e);
}

int dsp_loader_load(struct dsp_loader *l, const char *path, float *y, size_t *n_loaded,
                    struct err *e)
{
    struct stat st;
    if (stat(path, &st) != 0) return err_set(e, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) return err_set(e, "%s: is a directory", path);
    if (st.st_size == 0) return err_set(e, "%s: empty: 0 bytes", path);
    SF_INFO si;
    memset(&si, 0, sizeof si);
    SNDFILE *f = sf_open(path, SFM_READ, &si);
    if (!f) return err_set(e, "%s: not a supported audio file: %s", path, sf_strerror(NULL));
    int rc = 0;
    const int sr0 = si.samplerate, ch = si.channels;
    if (sr0 <= 0 || ch <= 0) {
        rc = err_set(e, "%s: invalid header: %d Hz, %d channels", path, sr0, ch);
        goto out;
    }
    /* librosa: seek(int(offset * sr_native)), read(frames=int(duration * sr_native)). */
    const sf_count_t start = (sf_count_t)(l->p.offset_s * (double)sr0);
    const sf_count_t want = (sf_count_t)(l->p.duration_s * (double)sr0);
    if (si.frames <= start) {
        rc = err_set(e, "%s: shorter than the %g s offset: no audio to analyse", path,
                     l->p.offset_s);
        goto out;
    }
    if (start > 0 && sf_seek(f, start, SEEK_SET) != start) {
        rc =
            err_set(e, "%s: cannot seek to frame %lld: %s", path, (long long)start, sf_strerror(f));
        goto out;
    }
    if (want <= 0 || (uint64_t)want > SIZE_MAX / sizeof(float) / (size_t)ch) {
        rc = err_set(e, "%s: cannot read %lld frames of %d channels", path, (long long)want, ch);
        goto out;
    }
    if (grow(&l->frames, &l->cap_frames_x_ch, (size_t)want * (size_t)ch) ||
        grow(&l->mono, &l->cap_mono, (size_t)want)) {
        rc = err_set(e, "%s: out of memory", path);
        goto out;
    }
    sf_count_t n0 = 0;
    while (n0 < want) {
        sf_count_t got = sf_readf_float(f, l->frames + (size_t)n0 * (size_t)ch, want - n0);
        if (got <= 0) break;
        n0 += got;
    }
    if (n0 == 0) {
        rc = err_set(e, "%s: shorter than the %g s offset: no audio to analyse", path,
                     l->p.offset_s);
        goto out;
    }
    /* Channel mean as numpy's float32 np.mean(y, axis=0): sequential float sum, one divide. */
    const float *fr = l->frames;
    float *x = l->mono;
    for (sf_count_t i = 0; i < n0; i++) {
        const float *v = fr + (size_t)i * (size_t)ch;
        float s = v[0];
        for (int c = 1; c < ch; c++) s += v[c];
        x[i] = ch == 1 ? s : s / (float)ch;
    }
    for (sf_count_t i = 0; i < n0 * ch; i++) {
        if (!isfinite(fr[i])) {
            rc = err_set(e, "%s: non-finite sample at frame %lld", path,
                         (long long)(start + i / ch));
            goto out;
        }
    }
    rc = finish(l, path, sr0, x, (size_t)n0, y, n_loaded, e);
out:
    sf_close(f);
    return rc;
}

int dsp_load(const char *path, const struct dsp_load_params *p, float *y, size_t *n_loaded,
             struct err *e)
{
    struct dsp_loader *l;
    if (dsp_loader_create(&l, p, e)) return -1;
    int rc = dsp_loader_load(l, path, y, n_loaded, e);
    dsp_loader_free(l);
    return rc;
}
