/* test_loader.c: dsp_loader against docs/mfcc.md §1-2 and §10 T9/T10. It writes its own
 * files with libsndfile and checks: libsndfile's int->float scaling (16-bit x/32768, u8
 * (x-128)/128, 24-bit x/2^23), the float32 channel mean, offset truncation (0.7 s -> 15434),
 * duration cuts at the native rate, output lengths after libsoxr HQ (5 s / 2 s at 44.1 kHz,
 * 1000 samples at 48 kHz -> 459 + 1 pad zero), the short-file and non-finite policies, and
 * (T10) that the clip equals an independent "decode all, cut at int(0.5*sr0), soxr_oneshot
 * HQ, fix length" done here, which differs from "resample the whole file, then cut" in the
 * edge MFCC frames. Also: reusing a loader (soxr_clear) is bit-identical to a fresh one.
 * Exits 1 on any failure. */
#include <math.h>
#include <sndfile.h>
#include <soxr.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsp/audio.h"
#include "dsp/mfcc.h"

static char dir[256];

#include "tests/check.h"

enum { NOUT = 66150 };
static const double PI = 3.14159265358979323846;

static const char *tmp(const char *name)
{
    static char buf[8][512];
    static int i;
    i = (i + 1) % 8;
    snprintf(buf[i], sizeof buf[i], "%s/%s", dir, name);
    return buf[i];
}

/* Writes frames*channels interleaved doubles via sf_write_double (libsndfile scales
 * [-1, 1) to the integer subtype), or ints via sf_write_int when ints != NULL. */
static void write_file(const char *path, int format, int sr, int ch, size_t frames, const double *d,
                       const int *ints)
{
    SF_INFO si = {.samplerate = sr, .channels = ch, .format = format};
    SNDFILE *f = sf_open(path, SFM_WRITE, &si);
    if (!f) {
        fprintf(stderr, "FAIL cannot write %s: %s\n", path, sf_strerror(NULL));
        exit(1);
    }
    sf_count_t n = ints ? sf_writef_int(f, ints, (sf_count_t)frames)
                        : sf_writef_double(f, d, (sf_count_t)frames);
    if (n != (sf_count_t)frames) {
        fprintf(stderr, "FAIL short write %s\n", path);
        exit(1);
    }
    sf_close(f);
}

static struct dsp_loader *loader(double offset)
{
    struct dsp_load_params p;
    dsp_load_default_params(&p);
    p.offset_s = offset;
    struct dsp_loader *l = NULL;
    struct err e = {0};
    if (dsp_loader_create(&l, &p, &e)) {
        fprintf(stderr, "FAIL loader: %s\n", e.msg);
        exit(1);
    }
    return l;
}

static int load(double offset, const char *path, float *y, size_t *n, struct err *e)
{
    struct dsp_loader *l = loader(offset);
    int rc = dsp_loader_load(l, path, y, n, e);
    dsp_loader_free(l);
    return rc;
}

static int all_zero(const float *y, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (y[i] != 0.0f) return 0;
    return 1;
}

static double noise(unsigned *r)
{
    *r = *r * 1103515245u + 12345u;
    return ((double)((*r >> 8) & 0xffff) / 65536.0 - 0.5) * 0.2;
}

/* Signal with energy everywhere: two tones and noise. */
static double *content(size_t n, int sr, unsigned seed)
{
    double *d = malloc(n * sizeof *d);
    unsigned r = seed;
    for (size_t i = 0; i < n; i++)
        d[i] = 0.3 * sin(2 * PI * 440.0 * (double)i / sr) +
               0.2 * sin(2 * PI * 3150.0 * (double)i / sr) + noise(&r);
    return d;
}

static void int_scaling(float *y)
{
    struct err e = {0};
    size_t n = 0;
    /* 16-bit: raw values written with sf_write_int (left-aligned 32-bit -> x << 16) */
    const int i16[] = {-32768, -1, 0, 1, 16384, 32767};
    int raw[6];
    for (int i = 0; i < 6; i++) raw[i] = i16[i] * 65536;
    write_file(tmp("i16.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 22050, 1, 6, NULL, raw);
    CHECK(load(0.0, tmp("i16.wav"), y, &n, &e) == 0, "i16: %s", e.msg);
    const float want16[] = {-1.0f, -3.0517578125e-05f, 0.0f, 3.0517578125e-05f,
                            0.5f,  0.999969482421875f};
    CHECK(n == 6, "i16: n_loaded %zu", n);
    for (int i = 0; i < 6; i++) CHECK(y[i] == want16[i], "i16[%d] = %.9g", i, y[i]);
    CHECK(all_zero(y, 6, NOUT), "i16: not zero-padded");
    /* u8: sf_write_int value k<<24 is stored as k+128; reads back as k/128 */
    const int k8[] = {-128, -1, 0, 1, 127};
    for (int i = 0; i < 5; i++) raw[i] = k8[i] * (1 << 24);
    write_file(tmp("u8.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_U8, 22050, 1, 5, NULL, raw);
    CHECK(load(0.0, tmp("u8.wav"), y, &n, &e) == 0, "u8: %s", e.msg);
    for (int i = 0; i < 5; i++) CHECK(y[i] == k8[i] / 128.0f, "u8[%d] = %.9g", i, y[i]);
    /* 24-bit: x / 2^23 */
    const int x24[] = {-8388608, -1, 1, 4194304, 8388607};
    for (int i = 0; i < 5; i++) raw[i] = x24[i] * 256;
    write_file(tmp("i24.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_24, 22050, 1, 5, NULL, raw);
    CHECK(load(0.0, tmp("i24.wav"), y, &n, &e) == 0, "i24: %s", e.msg);
    for (int i = 0; i < 5; i++)
        CHECK(y[i] == (float)(x24[i] / 8388608.0), "i24[%d] = %.9g", i, y[i]);
    /* stereo int16 (1, 2) -> mean 3/65536 */
    raw[0] = 1 * 65536, raw[1] = 2 * 65536;
    write_file(tmp("st.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 22050, 2, 1, NULL, raw);
    CHECK(load(0.0, tmp("st.wav"), y, &n, &e) == 0, "stereo: %s", e.msg);
    CHECK(n == 1 && y[0] == 4.57763671875e-05f, "stereo mean %.9g (n %zu)", y[0], n);
    /* 3 channels, float: float32 sequential sum then divide, as numpy's float32 mean */
    const double f3[] = {0.1, 0.2, 0.4, -0.3, 0.7, 0.05};
    write_file(tmp("ch3.wav"), SF_FORMAT_WAV | SF_FORMAT_FLOAT, 22050, 3, 2, f3, NULL);
    CHECK(load(0.0, tmp("ch3.wav"), y, &n, &e) == 0, "3ch: %s", e.msg);
    for (int i = 0; i < 2; i++) {
        float s = (float)f3[3 * i];
        s += (float)f3[3 * i + 1];
        s += (float)f3[3 * i + 2];
        CHECK(y[i] == s / 3.0f, "3ch mean[%d] %.9g vs %.9g", i, y[i], s / 3.0f);
    }
}

static void offsets_and_lengths(float *y)
{
    struct err e = {0};
    size_t n = 0;
    /* offset 0.7 s at 22050 Hz: int(0.7 * 22050) = int(15434.999...) = 15434 */
    int *ramp = malloc(44100 * sizeof *ramp);
    for (int i = 0; i < 44100; i++) ramp[i] = (i % 30000) * 65536;
    write_file(tmp("ramp.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 22050, 1, 44100, NULL, ramp);
    CHECK(load(0.7, tmp("ramp.wav"), y, &n, &e) == 0, "ramp: %s", e.msg);
    CHECK(y[0] * 32768.0f == 15434.0f, "offset 0.7 starts at sample %g, want 15434",
          y[0] * 32768.0);
    CHECK(n == 44100 - 15434, "offset 0.7: n_loaded %zu", n);
    /* default offset 0.5: starts at 11025, reads int(3 * 22050) = 66150 at most */
    CHECK(load(0.5, tmp("ramp.wav"), y, &n, &e) == 0, "ramp: %s", e.msg);
    CHECK(y[0] * 32768.0f == 11025.0f && n == 44100 - 11025, "offset 0.5: y0 %g n %zu",
          y[0] * 32768.0, n);
    free(ramp);
    /* 44.1 kHz, 5 s -> 132300 frames read -> 66150 after soxr; 2 s -> 66150 read -> 33075 */
    double *d = content(5 * 44100, 44100, 7);
    write_file(tmp("r44_5s.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 1, 5 * 44100, d, NULL);
    write_file(tmp("r44_2s.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 1, 2 * 44100, d, NULL);
    CHECK(load(0.5, tmp("r44_5s.wav"), y, &n, &e) == 0 && n == 66150, "44.1k 5 s: n %zu %s", n,
          e.msg);
    CHECK(!all_zero(y, 66000, 66150), "44.1k 5 s: tail is silent");
    CHECK(load(0.5, tmp("r44_2s.wav"), y, &n, &e) == 0 && n == 33075, "44.1k 2 s: n %zu %s", n,
          e.msg);
    CHECK(all_zero(y, 33075, NOUT) && !all_zero(y, 33000, 33075), "44.1k 2 s: padding");
    CHECK(dsp_mfcc_frames(n) == 65, "2 s clip: %zu frames", dsp_mfcc_frames(n));
    free(d);
    /* 48 kHz, 1000 samples: soxr emits 459, librosa's fix_length pads to ceil(459.375) = 460 */
    d = content(1000, 48000, 3);
    write_file(tmp("r48_1000.wav"), SF_FORMAT_WAV | SF_FORMAT_FLOAT, 48000, 1, 1000, d, NULL);
    CHECK(load(0.0, tmp("r48_1000.wav"), y, &n, &e) == 0 && n == 460, "48k 1000: n %zu %s", n,
          e.msg);
    float x[1000], r[600];
    for (int i = 0; i < 1000; i++) x[i] = (float)d[i];
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    size_t odone = 0;
    soxr_error_t serr = soxr_oneshot(48000, 22050, 1, x, 1000, NULL, r, 600, &odone, &io, &q, NULL);
    CHECK(!serr && odone == 459, "soxr_oneshot emitted %zu", odone);
    CHECK(memcmp(y, r, 459 * sizeof *y) == 0, "48k 1000: differs from soxr_oneshot HQ");
    CHECK(y[459] == 0.0f && all_zero(y, 459, NOUT), "48k 1000: sample 459 not the pad zero");
    free(d);
    /* soxr_quality_spec(SOXR_HQ, 0): the recipe docs/mfcc.md §2.1 describes */
    CHECK(q.precision == 20 && q.phase_response == 50 && fabs(q.passband_end - 0.9137437) < 1e-6 &&
              q.stopband_begin == 1.0,
          "SOXR_HQ spec: %g %g %g %g", q.precision, q.phase_response, q.passband_end,
          q.stopband_begin);
}

static void policies(float *y)
{
    struct err e = {0};
    size_t n = 0;
    double *d = content(22050, 22050, 5);
    /* 0.3 s and exactly 0.5 s: nothing after the offset */
    write_file(tmp("short.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 22050, 1, 6615, d, NULL);
    write_file(tmp("half.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 22050, 1, 11025, d, NULL);
    write_file(tmp("half1.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 22050, 1, 11026, d, NULL);
    char want[600];
    snprintf(want, sizeof want, "%s: shorter than the 0.5 s offset: no audio to analyse",
             tmp("short.wav"));
    CHECK(load(0.5, tmp("short.wav"), y, &n, &e) == -1 && strcmp(e.msg, want) == 0,
          "0.3 s file: '%s'", e.msg);
    e.msg[0] = 0;
    CHECK(load(0.5, tmp("half.wav"), y, &n, &e) == -1 && strstr(e.msg, "shorter than the 0.5 s"),
          "0.5 s file: '%s'", e.msg);
    CHECK(load(0.5, tmp("half1.wav"), y, &n, &e) == 0 && n == 1, "0.5 s + 1 frame: n %zu", n);
    /* a NaN inside the read segment */
    d[11025 + 100] = NAN;
    write_file(tmp("nan.wav"), SF_FORMAT_WAV | SF_FORMAT_FLOAT, 22050, 1, 22050, d, NULL);
    e.msg[0] = 0;
    CHECK(load(0.5, tmp("nan.wav"), y, &n, &e) == -1 && strstr(e.msg, "non-finite") &&
              strstr(e.msg, tmp("nan.wav")),
          "NaN file: '%s'", e.msg);
    free(d);
    /* not audio, missing */
    FILE *f = fopen(tmp("junk.wav"), "wb");
    fputs("this is not a RIFF file at all, just some text\n", f);
    fclose(f);
    e.msg[0] = 0;
    CHECK(load(0.5, tmp("junk.wav"), y, &n, &e) == -1 && strstr(e.msg, tmp("junk.wav")),
          "junk file: '%s'", e.msg);
    e.msg[0] = 0;
    CHECK(load(0.5, tmp("missing.wav"), y, &n, &e) == -1 && strstr(e.msg, "missing.wav"),
          "missing file: '%s'", e.msg);
}

/* T10 and loader reuse. */
static void order_and_reuse(float *y)
{
    struct err e = {0};
    size_t n = 0;
    const int sr0 = 24414;
    const size_t total = 4 * (size_t)sr0;
    double *d = content(total, sr0, 11), *d2 = content(total, sr0, 12);
    double *d3 = content(3 * 48000, 48000, 13);
    write_file(tmp("a.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, sr0, 1, total, d, NULL);
    write_file(tmp("b.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, sr0, 1, total, d2, NULL);
    write_file(tmp("c.wav"), SF_FORMAT_WAV | SF_FORMAT_PCM_16, 48000, 1, 3 * 48000, d3, NULL);
    /* independent reference: decode everything, cut at the native rate, soxr_oneshot HQ */
    SF_INFO si = {0};
    SNDFILE *f = sf_open(tmp("a.wav"), SFM_READ, &si);
    float *all = malloc(total * sizeof *all), *ref = calloc(NOUT + 64, sizeof *ref);
    float *wrong = calloc(total, sizeof *wrong);
    CHECK(f && sf_readf_float(f, all, (sf_count_t)total) == (sf_count_t)total, "decode a.wav");
    sf_close(f);
    const size_t start = (size_t)(0.5 * sr0), len = (size_t)(3.0 * sr0);
    soxr_io_spec_t io = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I);
    soxr_quality_spec_t q = soxr_quality_spec(SOXR_HQ, 0);
    size_t odone = 0, wdone = 0;
    soxr_oneshot(sr0, 22050, 1, all + start, len, NULL, ref, NOUT + 64, &odone, &io, &q, NULL);
    size_t L = (size_t)ceil((double)len * (22050.0 / sr0));
    CHECK(L >= NOUT && odone >= NOUT, "T10 reference: %zu samples, fix_length %zu", odone, L);
    CHECK(load(0.5, tmp("a.wav"), y, &n, &e) == 0 && n == NOUT, "a.wav: n %zu %s", n, e.msg);
    CHECK(memcmp(y, ref, NOUT * sizeof *y) == 0,
          "T10 loader differs from cut-then-resample (soxr_oneshot HQ)");
    /* the same samples handed over in memory (dsp_loader_pcm: streams, the library) */
    {
        struct dsp_loader *lp = loader(0.5);
        size_t np = 0;
        memset(y, 0xff, NOUT * sizeof *y);
        CHECK(dsp_loader_pcm(lp, "pcm", all, total, sr0, y, &np, &e) == 0 && np == NOUT,
              "pcm: n %zu %s", np, e.msg);
        CHECK(memcmp(y, ref, NOUT * sizeof *y) == 0, "pcm loader differs from the reference");
        /* offset 0 over a window of exactly 3 s: the window's samples, resampled */
        dsp_loader_free(lp);
        lp = loader(0.0);
        CHECK(dsp_loader_pcm(lp, "pcm", all + start, len, sr0, y, &np, &e) == 0 && np == NOUT,
              "pcm window: %s", e.msg);
        CHECK(memcmp(y, ref, NOUT * sizeof *y) == 0, "pcm window differs from the reference");
        CHECK(dsp_loader_pcm(lp, "tiny", all, 0, sr0, y, &np, &e) != 0 &&
                  strstr(e.msg, "tiny: shorter"),
              "empty pcm accepted (%s)", e.msg);
        all[5] = NAN;
        CHECK(dsp_loader_pcm(lp, "nanpcm", all, 100, sr0, y, &np, &e) != 0 &&
                  strstr(e.msg, "nanpcm: non-finite sample at frame 5"),
              "NaN pcm accepted (%s)", e.msg);
        dsp_loader_free(lp);
        CHECK(load(0.5, tmp("a.wav"), y, &n, &e) == 0, "a.wav again: %s", e.msg);
    }
    /* the wrong order: resample the whole file, cut at int(0.5 * 22050) */
    soxr_oneshot(sr0, 22050, 1, all, total, NULL, wrong, total, &wdone, &io, &q, NULL);
    struct dsp_mfcc_params mp;
    dsp_mfcc_default_params(&mp);
    struct dsp_mfcc *m = NULL;
    CHECK(dsp_mfcc_create(&m, &mp, NOUT, &e) == 0, "mfcc: %s", e.msg);
    float *m1 = malloc(40 * 130 * sizeof *m1), *m2 = malloc(40 * 130 * sizeof *m2);
    dsp_mfcc_compute(m, y, NOUT, m1);
    dsp_mfcc_compute(m, wrong + 11025, NOUT, m2);
    double edge = 0, inner = 0;
    for (int qq = 0; qq < 40; qq++)
        for (int t = 0; t < 130; t++) {
            double dd = fabs(m1[qq * 130 + t] - m2[qq * 130 + t]);
            if (t < 2 || t >= 128)
                edge = fmax(edge, dd);
            else
                inner = fmax(inner, dd);
        }
    CHECK(edge > 1e-3, "T10 resample-then-cut should differ in the edge frames (%g)", edge);
    printf("T10: resample-then-cut differs by %.3g in edge frames, %.3g inside\n", edge, inner);
    /* reuse: one loader for a, c (another rate), b  ==  fresh loaders */
    float *y2 = malloc(NOUT * sizeof *y2);
    struct dsp_loader *l = loader(0.5);
    const char *seq[] = {"a.wav", "b.wav", "c.wav", "b.wav", "a.wav"};
    for (int i = 0; i < 5; i++) {
        size_t n1 = 0, n2 = 0;
        CHECK(dsp_loader_load(l, tmp(seq[i]), y, &n1, &e) == 0, "reuse %s: %s", seq[i], e.msg);
        CHECK(load(0.5, tmp(seq[i]), y2, &n2, &e) == 0, "fresh %s: %s", seq[i], e.msg);
        CHECK(n1 == n2 && memcmp(y, y2, NOUT * sizeof *y) == 0,
              "reused loader differs from a fresh one on %s (step %d)", seq[i], i);
    }
    dsp_loader_free(l);
    dsp_mfcc_free(m);
    free(m1), free(m2), free(y2), free(all), free(ref), free(wrong), free(d), free(d2), free(d3);
}

int main(void)
{
    snprintf(dir, sizeof dir, "%s/ser_test_loader_XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    float *y = malloc(NOUT * sizeof *y);
    int_scaling(y);
    offsets_and_lengths(y);
    policies(y);
    order_and_reuse(y);
    free(y);
    const char *names[] = {"i16.wav",  "u8.wav",     "i24.wav",    "st.wav",       "ch3.wav",
                           "ramp.wav", "r44_5s.wav", "r44_2s.wav", "r48_1000.wav", "short.wav",
                           "half.wav", "half1.wav",  "nan.wav",    "junk.wav",     "a.wav",
                           "b.wav",    "c.wav"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) remove(tmp(names[i]));
    rmdir(dir);
    if (failures) {
        fprintf(stderr, "test_loader: %d check(s) failed\n", failures);
        return 1;
    }
    printf("test_loader: all checks passed\n");
    return 0;
}
