/* test_ckpt.c: checkpoint files (mpi/state.h): every field survives a save/load round trip;
 * a byte flipped anywhere (a sample of positions over the whole file) or any truncation is
 * refused with a message, never a crash; a model-only checkpoint loads too; values out of
 * their table range in a file with valid CRCs (NaN weights, lr 0, std 0, a NaN early-stopping
 * state, an absurd batch position) are refused naming the field (a history longer than the
 * epoch count: tests/hostile); the resume check names the field that differs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/pack.h"
#include "mpi/dataset.h"
#include "mpi/state.h"

#include "tests/check.h"

static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n);
    if (fread(b, 1, *n, f) != *n) *n = 0;
    fclose(f);
    return b;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : ".";
    char path[4096];
    snprintf(path, sizeof path, "%s/test_ckpt.ckpt", dir);
    struct err e = {0};
    struct nn_model *m = NULL;
    const char *spec = "conv1d:8:3 relu maxpool:2 lstm:6 dropout:0.1 dense:7";
    if (nn_model_create(&m, spec, 40, 20, 7, 4, &e)) {
        fprintf(stderr, "model: %s\n", e.msg);
        return 1;
    }
    nn_model_init(m, 7);
    size_t np = nn_model_nparams(m);
    float *best = malloc(np * 4), *am = malloc(np * 4), *av = malloc(np * 4);
    for (size_t i = 0; i < np; i++)
        best[i] = (float)i * 1e-3f, am[i] = -(float)i, av[i] = (float)i * 2;
    float mean[40], sd[40];
    for (int i = 0; i < 40; i++) mean[i] = (float)i - 20, sd[i] = 1.0f + (float)i;
    double hist[3 * DIST_H_COLS];
    for (int i = 0; i < 3 * DIST_H_COLS; i++) hist[i] = i * 0.25;
    struct dist_state c = {0};
    c.version = "test";
    c.spec = (char *)nn_model_spec(m);
    c.in_channels = 40;
    c.in_len = 20;
    c.n_classes = 7;
    size_t present[DSP_N_LABELS] = {1, 1, 1, 1, 1, 1, 1}; /* the common seven */
    dist_classes_of(&c.cls, present);
    dsp_features_default_params(&c.params);
    c.mean = mean;
    c.std = sd;
    c.nparams = (int64_t)np;
    c.weights = nn_model_params(m);
    c.best = best;
    c.adam.m = am;
    c.adam.v = av;
    c.adam.t = 123;
    c.adam.lr = 2.5e-4;
    c.adam.beta1 = 0.9;
    c.adam.beta2 = 0.999;
    c.adam.eps = 1e-8;
    c.adam.weight_decay = 0.01;
    c.epoch = 3;
    c.batch = 17;
    c.mbatch = 8;
    c.seed = 99;
    c.done = 1;
    c.split = "speaker:YAF";
    c.split_hash = 0xfedcba9876543210ULL;
    c.config = "epochs = 5\n";
    dist_stopper_init(&c.stopper, 1, 0.01, 4);
    c.stopper.best = 0.75, c.stopper.best_epoch = 2, c.stopper.wait = 1;
    dist_plateau_init(&c.plateau, 1, 0.5, 3, 1e-4, 2, 1e-6);
    c.plateau.wait = 2, c.plateau.cooldown_left = 1, c.plateau.best = 0.7;
    c.hist = hist;
    c.ep_loss_sum = 123456789.0, c.ep_correct = 42, c.ep_seen = 68, c.ep_seconds = 1.5;
    CHECK(dist_state_save(&c, m, 0, path, &e) == 0, "save: %s", e.msg);

    struct dist_state d = {0};
    int train = 0;
    CHECK(dist_state_load(&d, path, &train, &e) == 0 && train, "load: %s", e.msg);
    CHECK(strcmp(d.version, "test") == 0 && strcmp(d.spec, c.spec) == 0, "strings");
    CHECK(d.in_channels == 40 && d.in_len == 20 && d.n_classes == 7 && d.nparams == (int64_t)np,
          "sizes");
    CHECK(d.cls.n == 7 && strcmp(d.cls.name[6], "surprise") == 0 && d.cls.label[6] == DSP_SURPRISE,
          "classes: %d, the last %s", d.cls.n, d.cls.n ? d.cls.name[d.cls.n - 1] : "-");
    CHECK(memcmp(d.weights, c.weights, np * 4) == 0, "weights");
    CHECK(d.best && memcmp(d.best, best, np * 4) == 0, "best weights");
    CHECK(d.adam.m && memcmp(d.adam.m, am, np * 4) == 0 && memcmp(d.adam.v, av, np * 4) == 0,
          "adam moments");
    CHECK(memcmp(d.mean, mean, sizeof mean) == 0 && memcmp(d.std, sd, sizeof sd) == 0, "norm");
    CHECK(d.adam.t == 123 && d.adam.lr == 2.5e-4 && d.adam.weight_decay == 0.01 &&
              d.adam.eps == 1e-8,
          "adam");
    CHECK(d.epoch == 3 && d.batch == 17 && d.mbatch == 8 && d.seed == 99 && d.done == 1,
          "position");
    CHECK(strcmp(d.split, "speaker:YAF") == 0 && d.split_hash == c.split_hash, "split");
    CHECK(strcmp(d.config, "epochs = 5\n") == 0, "config");
    CHECK(memcmp(&d.stopper, &c.stopper, sizeof c.stopper) == 0, "early stopping state");
    CHECK(memcmp(&d.plateau, &c.plateau, sizeof c.plateau) == 0, "plateau state");
    CHECK(memcmp(d.hist, hist, sizeof hist) == 0, "history");
    CHECK(d.ep_loss_sum == c.ep_loss_sum && d.ep_correct == 42 && d.ep_seen == 68 &&
              d.ep_seconds == 1.5,
          "epoch sums");
    CHECK(d.params.mfcc.n_mfcc == 40 && d.params.load.sample_rate == 22050, "feature params");
    CHECK(dist_state_mismatch(&d, &c) == NULL, "a state differs from its own copy");
    d.std[3] *= 2;
    CHECK(dist_state_mismatch(&d, &c) && strcmp(dist_state_mismatch(&d, &c), "norm.std") == 0,
          "changed std not named: %s", dist_state_mismatch(&d, &c));
    dist_state_free(&d);

    /* Crafted values with valid CRCs: each is refused, naming the field. */
    const struct {
        const char *what, *field;
    } crafted[] = {{"NaN weight", "param."},
                   {"lr 0", "adam.lr"},
                   {"zero std", "norm.std"},
                   {"NaN best", "es.best"},
                   {"huge batch", "train.batch"}};
    for (size_t k = 0; k < sizeof crafted / sizeof crafted[0]; k++) {
        struct dist_state t = c;
        float w0 = c.weights[0], s3 = sd[3];
        if (k == 0) c.weights[0] = NAN;
        if (k == 1) t.adam.lr = 0;
        if (k == 2) sd[3] = 0;
        if (k == 3) t.stopper.best = NAN;
        if (k == 4) t.batch = (int64_t)1e12;
        CHECK(dist_state_save(&t, m, 0, path, &e) == 0, "save %s: %s", crafted[k].what, e.msg);
        c.weights[0] = w0, sd[3] = s3;
        struct dist_state x = {0};
        int rc = dist_state_load(&x, path, NULL, &e);
        CHECK(rc != 0 && strstr(e.msg, crafted[k].field), "%s accepted (%s)", crafted[k].what,
              rc ? e.msg : "no error");
        dist_state_free(&x);
    }

    /* Damage: flips over the whole file (every 97th byte and the last 64), truncations. */
    size_t n = 0;
    unsigned char *buf = slurp(path, &n), *bad = malloc(n);
    int refused = 0, tried = 0;
    for (size_t i = 0; i < n; i += (i + 64 < n ? 97 : 1)) {
        memcpy(bad, buf, n);
        bad[i] ^= 0x5a;
        struct dist_state x = {0};
        struct err xe = {0};
        int rc = dist_state_decode(&x, bad, n, "damaged", NULL, &xe);
        tried++;
        if (rc != 0 && xe.msg[0])
            refused++;
        else
            fprintf(stderr, "byte %zu flipped: accepted\n", i);
        dist_state_free(&x);
    }
    CHECK(refused == tried, "%d of %d damaged files refused", refused, tried);
    for (size_t len = 0; len < n; len += 1 + len / 3) {
        struct dist_state x = {0};
        struct err xe = {0};
        CHECK(dist_state_decode(&x, buf, len, "truncated", NULL, &xe) != 0 && xe.msg[0],
              "truncated to %zu bytes accepted", len);
        dist_state_free(&x);
    }
    struct dist_state x = {0};
    CHECK(dist_state_load(&x, "/nonexistent/x.ckpt", NULL, &e) != 0 &&
              strstr(e.msg, "nonexistent") && e.code == SER_EXIT_IO,
          "missing file: %s", e.msg);
    dist_state_free(&x);

    /* A checkpoint of the previous format (1: the 7 TESS labels) is refused naming both. */
    struct dsp_pack old = {0};
    CHECK(dsp_pack_add_i64(&old, "format", 1, &e) == 0 &&
              dsp_pack_write(&old, path, DIST_CKPT_KIND, DSP_PACK_ENTROPY, &e) == 0,
          "write a format-1 file: %s", e.msg);
    dsp_pack_free(&old);
    CHECK(dist_state_load(&x, path, NULL, &e) != 0 && strstr(e.msg, "format 1") &&
              strstr(e.msg, "format 2"),
          "format 1: %s", e.msg);
    dist_state_free(&x);
    /* and a feature file of format 1 (the 7 TESS labels) */
    struct dsp_pack oldf = {0};
    remove(path);
    CHECK(dsp_pack_add_i64(&oldf, "format", 1, &e) == 0 &&
              dsp_pack_write(&oldf, path, DIST_FEAT_KIND, 1, &e) == 0,
          "write a format-1 feature file: %s", e.msg);
    dsp_pack_free(&oldf);
    struct dist_dataset ds = {0};
    CHECK(dist_dataset_load(&ds, path, 100, &e) != 0 && strstr(e.msg, "format 1") &&
              strstr(e.msg, "format 2") && strstr(e.msg, path),
          "feature format 1: %s", e.msg);
    dist_dataset_free(&ds);
    remove(path);

    /* Model only (what best.ckpt holds). */
    CHECK(dist_state_save(&c, m, 1, path, &e) == 0, "save model-only: %s", e.msg);
    CHECK(dist_state_load(&d, path, &train, &e) == 0 && !train && !d.best && !d.adam.m,
          "model-only load: %s", e.msg);
    CHECK(d.weights && memcmp(d.weights, best, np * 4) == 0, "model-only weights are the best");
    dist_state_free(&d);
    remove(path);
    free(buf), free(bad), free(best), free(am), free(av);
    nn_model_free(m);
    if (!failures) printf("test_ckpt: all checks passed (%d damaged variants refused)\n", tried);
    return failures != 0;
}
