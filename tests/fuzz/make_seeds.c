/* make_seeds.c: writes the generated seed inputs of the fuzzers (tests/fuzz/make_seeds.sh
 * runs it): fuzz_make_seeds CORPUS_DIR writes CORPUS_DIR/<target>/valid-* (inputs the parser
 * must accept) and edge-* (refused ones: empty, truncated, damaged) for the binary targets
 * pack, ckpt, features and audio, and valid-defaults.txt / valid-default.txt for config and
 * spec (the hand-made text cases are committed next to them). Every file is small (< 64 KB)
 * and the output is deterministic: no time, path or random value goes into it.
 *
 * ckpt and features seeds come in two forms: the whole file (*.ckpt, *.feat), and its bare
 * payload (*.payload), which the harnesses wrap into a container with valid CRCs, so that
 * mutations of the records are not all refused by a checksum. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sndfile.h>
#include <zlib.h>

#include "dsp/pack.h"
#include "dsp/scan.h"
#include "mpi/dataset.h"
#include "mpi/state.h"
#include "mpi/train.h"
#include "nn/model.h"

static const char *root;

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "fuzz_make_seeds: %s: %s\n", what, msg);
    exit(1);
}

static void put(const char *target, const char *name, const void *data, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, target);
    if (mkdir(path, 0777) != 0 && errno != EEXIST) die(path, strerror(errno));
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    if (n >= 64 << 10) die(path, "seed larger than 64 KB");
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) die(path, "cannot write");
    printf("%8zu  %s/%s\n", n, target, name);
}

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) die(path, strerror(errno));
    unsigned char *b = malloc(1 << 20);
    *n = b ? fread(b, 1, 1 << 20, f) : 0;
    fclose(f);
    if (!b || *n == 0 || *n == 1 << 20) die(path, "cannot read");
    return b;
}

/* The uncompressed payload of a pack file (docs/formats.md §1.1). */
static unsigned char *payload(const unsigned char *file, size_t n, size_t *plen)
{
    uint64_t raw = 0;
    memcpy(&raw, file + 16, 8);
    unsigned char *p = malloc(raw ? raw : 1);
    uLongf len = (uLongf)raw;
    if (!p || uncompress(p, &len, file + 44, (uLong)(n - 44)) != Z_OK || len != raw)
        die("payload", "cannot uncompress");
    *plen = len;
    return p;
}

/* A file and its payload, plus the edge cases every binary target gets: empty, cut in the
 * header, cut in the stream, one byte of the stream flipped (CRCs left as they were). */
static void put_pack(const char *target, const char *stem, const unsigned char *b, size_t n,
                     const char *ext, int edges)
{
    char name[256];
    size_t plen;
    unsigned char *p = payload(b, n, &plen);
    snprintf(name, sizeof name, "valid-%s.%s", stem, ext);
    put(target, name, b, n);
    snprintf(name, sizeof name, "valid-%s.payload", stem);
    put(target, name, p, plen);
    free(p);
    if (!edges) return;
    unsigned char *c = malloc(n);
    memcpy(c, b, n);
    c[n / 2] ^= 0x10;
    put(target, "edge-empty", "", 0);
    put(target, "edge-cut-header", b, 30);
    put(target, "edge-cut-stream", b, n - 7);
    put(target, "edge-flipped-byte", c, n);
    free(c);
}

static void ckpt_seed(const char *tmp, const char *stem, const char *spec, int in_len,
                      int model_only, int edges)
{
    struct err e = {0};
    struct nn_model *m = NULL;
    if (nn_model_create_from_text(&m, spec, 40, (size_t)in_len, 7, 1, &e)) die(spec, e.msg);
    nn_model_init(m, 7);
    size_t np = nn_model_nparams(m);
    float *best = malloc(np * 4), *am = malloc(np * 4), *av = malloc(np * 4);
    for (size_t i = 0; i < np; i++)
        best[i] = (float)i * 1e-3f, am[i] = -(float)i * 1e-4f, av[i] = (float)i * 1e-6f;
    float mean[40], sd[40];
    for (int i = 0; i < 40; i++) mean[i] = (float)i - 20, sd[i] = 1.0f + (float)i;
    double hist[2 * DIST_H_COLS];
    for (int i = 0; i < 2 * DIST_H_COLS; i++) hist[i] = 0.5 + i * 0.25;
    struct dist_train_cfg cfg;
    cli_defaults(&dist_train_options, &cfg);
    char *config = cli_dump(&dist_train_options, &cfg);
    struct dist_state s = {0};
    s.version = "fuzz-seed";
    s.spec = (char *)nn_model_spec(m);
    s.in_channels = 40, s.in_len = in_len, s.n_classes = 7;
    size_t present[DSP_N_LABELS] = {1, 1, 1, 1, 1, 1, 1}; /* the seven common labels */
    dist_classes_of(&s.cls, present);
    dsp_features_default_params(&s.params);
    s.mean = mean, s.std = sd;
    s.nparams = (int64_t)np;
    s.weights = nn_model_params(m);
    s.best = best, s.adam.m = am, s.adam.v = av;
    s.adam.t = 40, s.adam.lr = 1e-3, s.adam.beta1 = 0.9, s.adam.beta2 = 0.999, s.adam.eps = 1e-8;
    s.epoch = 2, s.batch = 3, s.mbatch = 32, s.seed = 42;
    s.split = "random", s.split_hash = 0x0123456789abcdefULL, s.list_hash = 99;
    s.config = config;
    dist_stopper_init(&s.stopper, 0, 0, 10);
    s.stopper.best = 0.75, s.stopper.best_epoch = 1;
    dist_plateau_init(&s.plateau, 0, 0.5, 5, 1e-4, 0, 1e-5);
    s.plateau.best = 0.75;
    s.hist = hist;
    s.ep_loss_sum = 1234567, s.ep_correct = 50, s.ep_seen = 96, s.ep_seconds = 0.25;
    char path[4096];
    snprintf(path, sizeof path, "%s/seed.ckpt", tmp);
    if (dist_state_save(&s, m, model_only, path, &e)) die(path, e.msg);
    size_t n;
    unsigned char *b = slurp(path, &n);
    unlink(path);
    put_pack("ckpt", stem, b, n, "ckpt", edges);
    if (edges) { /* real kinds and large payloads for the container target */
        size_t plen;
        unsigned char *p = payload(b, n, &plen);
        put("pack", "valid-ckpt.pack", b, n);
        put("pack", "valid-ckpt.payload", p, plen);
        free(p);
    }
    free(b);
    free(config);
    free(best), free(am), free(av);
    nn_model_free(m);
}

static void features_seeds(void)
{
    char *paths[3] = {"d/OAF_Fear/OAF_back_fear.wav", "d/YAF_happy/YAF_bath_happy.wav",
                      "d/x,\"quoted\" name_sad.wav"};
    char *speakers[3] = {"tess:OAF", "tess:YAF", "other:unknown"};
    char *skip_path[1] = {"d/notes_angry.wav"}, *skip_reason[1] = {"truncated: the header says 9"};
    int32_t labels[3] = {2, 3, 5}, corpora[3] = {DSP_TESS, DSP_TESS, DSP_OTHER};
    char genders[3] = {'f', 'f', '?'};
    float x[3 * 40 * 2];
    for (int i = 0; i < 3 * 40 * 2; i++) x[i] = (float)(i % 17) - 8.5f;
    struct dist_dataset d = {0};
    d.n = 3, d.n_mfcc = 40, d.frames = 2;
    d.x = x, d.label = labels, d.path = paths, d.speaker = speakers;
    d.corpus = corpora, d.gender = genders;
    d.n_skipped = 1, d.skip_path = skip_path, d.skip_reason = skip_reason;
    dsp_features_default_params(&d.params);
    d.cache_key = 0x5eed;
    struct err e = {0};
    unsigned char *b;
    size_t n;
    if (dist_dataset_encode(&d, 1, &b, &n, &e)) die("features", e.msg);
    put_pack("features", "3", b, n, "feat", 1);
    put("pack", "valid-feat.pack", b, n);
    size_t plen;
    unsigned char *p = payload(b, n, &plen);
    put("pack", "valid-feat.payload", p, plen);
    free(p);
    free(b);
    struct dist_dataset empty = {0};
    empty.n_mfcc = 40, empty.frames = 130;
    dsp_features_default_params(&empty.params);
    if (dist_dataset_encode(&empty, 0, &b, &n, &e)) die("features", e.msg);
    put_pack("features", "empty", b, n, "feat", 0);
    free(b);
}

static void pack_seeds(void)
{
    struct dsp_pack p = {0};
    struct err e = {0};
    int32_t m[2][3] = {{1, -2, 3}, {4, 5, -6}};
    float v[4] = {0.5f, -1.0f, 1e-30f, 3e30f};
    uint64_t d23[2] = {2, 3}, d4[1] = {4}, d0[1] = {0}, d8[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    unsigned char one = 7;
    if (dsp_pack_add_str(&p, "name", "hello, pack", &e) ||
        dsp_pack_add(&p, "matrix", DSP_PACK_I32, 2, d23, m, &e) ||
        dsp_pack_add_i64(&p, "count", -12345, &e) || dsp_pack_add_f64(&p, "real", 0.1, &e) ||
        dsp_pack_add(&p, "vector", DSP_PACK_F32, 1, d4, v, &e) ||
        dsp_pack_add(&p, "empty", DSP_PACK_U8, 1, d0, "", &e) ||
        dsp_pack_add(&p, "deep", DSP_PACK_U8, 8, d8, &one, &e))
        die("pack", e.msg);
    unsigned char *b;
    size_t n;
    if (dsp_pack_encode(&p, DSP_PACK_FOURCC('F', 'U', 'Z', 'Z'), 6, &b, &n, &e)) die("pack", e.msg);
    put_pack("pack", "all-dtypes", b, n, "pack", 1);
    free(b);
    dsp_pack_free(&p);
}

/* libsndfile gives every Ogg stream a random serial number: set it to a fixed one and
 * recompute each page's CRC (Ogg's CRC-32: polynomial 0x04c11db7, MSB first, initial 0). */
static void ogg_fix_serial(unsigned char *b, size_t n)
{
    for (size_t pos = 0; pos + 27 <= n && memcmp(b + pos, "OggS", 4) == 0;) {
        size_t len = 27 + b[pos + 26];
        for (int i = 0; i < b[pos + 26] && pos + 27 + (size_t)i < n; i++) len += b[pos + 27 + i];
        if (pos + len > n) break;
        memcpy(b + pos + 14, "SEED", 4);
        memset(b + pos + 22, 0, 4);
        uint32_t crc = 0;
        for (size_t i = 0; i < len; i++) {
            crc ^= (uint32_t)b[pos + i] << 24;
            for (int k = 0; k < 8; k++) crc = crc & 0x80000000u ? crc << 1 ^ 0x04c11db7u : crc << 1;
        }
        for (int k = 0; k < 4; k++) b[pos + 22 + k] = (unsigned char)(crc >> (8 * k));
        pos += len;
    }
}

/* A clip: a 440 Hz tone with a little deterministic noise, in [-0.5, 0.5]. */
static void audio_seed(const char *tmp, const char *name, int format, int rate, int channels,
                       double seconds, int nan_at)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    SF_INFO si = {0};
    si.samplerate = rate, si.channels = channels, si.format = format;
    SNDFILE *f = sf_open(path, SFM_WRITE, &si);
    if (!f) die(name, sf_strerror(NULL));
    sf_command(f, SFC_SET_ADD_PEAK_CHUNK, NULL, SF_FALSE); /* it holds the time of writing */
    sf_count_t frames = (sf_count_t)(seconds * rate);
    float *y = malloc((size_t)frames * (size_t)channels * sizeof *y);
    uint32_t r = 12345;
    for (sf_count_t i = 0; i < frames * channels; i++) {
        r = r * 1664525u + 1013904223u;
        double t = (double)(i / channels) / rate;
        y[i] = (float)(0.4 * sin(2 * M_PI * 440 * t) + 0.1 * ((double)(r >> 8) / 16777216.0 - .5));
    }
    if (nan_at >= 0) y[nan_at] = NAN;
    if (sf_writef_float(f, y, frames) != frames) die(name, sf_strerror(f));
    sf_close(f);
    free(y);
    size_t n;
    unsigned char *b = slurp(path, &n);
    unlink(path);
    if ((format & SF_FORMAT_TYPEMASK) == SF_FORMAT_OGG) ogg_fix_serial(b, n);
    put("audio", name, b, n);
    if (strcmp(name, "valid-pcm16.wav") == 0) { /* the header promises more than follows */
        put("audio", "edge-truncated.wav", b, n - 1000);
        put("audio", "edge-header-only.wav", b, 44);
        put("audio", "edge-empty", "", 0);
    }
    free(b);
}

static void audio_seeds(const char *tmp)
{
    audio_seed(tmp, "valid-pcm16.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 0.6, -1);
    audio_seed(tmp, "valid-u8-stereo.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_U8, 11025, 2, 0.55, -1);
    audio_seed(tmp, "valid-float.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 4000, 1, 0.7, -1);
    audio_seed(tmp, "valid-ima-adpcm.wav", SF_FORMAT_WAV | SF_FORMAT_IMA_ADPCM, 8000, 1, 0.6, -1);
    audio_seed(tmp, "valid-pcm24.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_24, 8000, 1, 0.1, -1);
    audio_seed(tmp, "valid-ulaw.au", SF_FORMAT_AU | SF_FORMAT_ULAW, 8000, 1, 0.6, -1);
    audio_seed(tmp, "valid-flac.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 8000, 1, 0.6, -1);
    audio_seed(tmp, "valid-vorbis.ogg", SF_FORMAT_OGG | SF_FORMAT_VORBIS, 8000, 1, 0.6, -1);
    audio_seed(tmp, "edge-nan.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 8000, 1, 0.6, 100);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: fuzz_make_seeds CORPUS_DIR\n");
        return 2;
    }
    root = argv[1];
    char tmp[] = "/tmp/ser-seeds-XXXXXX";
    if (!mkdtemp(tmp)) die("mkdtemp", strerror(errno));
    ckpt_seed(tmp, "train", "flatten dense:7", 3, 0, 1);
    ckpt_seed(tmp, "model-only", "flatten dense:7", 3, 1, 0);
    ckpt_seed(tmp, "lstm", "conv1d:4:3 relu maxpool:2 lstm:3:mean dropout:0.25 dense:7", 6, 0, 0);
    features_seeds();
    pack_seeds();
    audio_seeds(tmp);
    struct dist_train_cfg cfg;
    cli_defaults(&dist_train_options, &cfg);
    char *dump = cli_dump(&dist_train_options, &cfg);
    put("config", "valid-defaults.txt", dump, strlen(dump));
    free(dump);
    put("spec", "valid-default.txt", NN_DEFAULT_SPEC, strlen(NN_DEFAULT_SPEC));
    rmdir(tmp);
    return 0;
}
