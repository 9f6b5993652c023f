/* test_nn_spec.c: the model spec parser. The default spec gives the expected layers,
 * tensor names/shapes (PyTorch state_dict) and parameter count, computed here independently
 * from the per-layer formulas (conv: out*in*k + out; LSTM: 4H*in + 4H*H + 8H; Linear:
 * out*in + out); the views tile the flat buffer in order; init bounds are PyTorch's;
 * bad specs give errors naming the token; canonical specs longer than the text they come from
 * (hex floats) are exact; spec text is never read as a path when asked; the memory estimate
 * equals what create allocates (counted at each allocation) and, for the default model, the
 * buffer sizes worked out here from the layer shapes, and it estimates a 37 GB model under a
 * 1 GB address-space limit; the NN_GRAD_EXTRA floats after the gradients exist and are never
 * touched by a step. Exits 1 on failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nn/layers.h"
#include "nn/model.h"
#include "nn/rng.h"

static int failures;

static void expect(int ok, const char *what)
{
    printf("%-70s %s\n", what, ok ? "ok" : "FAIL");
    if (!ok) failures++;
}

static void bad(const char *spec, const char *needle)
{
    struct err e = {0};
    struct nn_model *m = (struct nn_model *)1;
    int rc = nn_model_create(&m, spec, 40, 130, 7, 4, &e);
    printf("  %s\n", e.msg);
    char what[160];
    snprintf(what, sizeof what, "rejects '%.100s'", spec);
    expect(rc == -1 && m == NULL && strstr(e.msg, needle) != NULL, what);
}

/* Canonical tokens can be longer than the text they come from: dropout:0x1p-9 is
 * dropout:0.001953125, dropout:0x1p-30 is dropout:9.313225746154785e-10. (The canonical spec
 * used to be sized strlen(text) + 64 and overflowed; AddressSanitizer caught it.) */
static void check_long_canonical(void)
{
    static const struct {
        const char *in, *out;
        int n;
    } cases[] = {{"dropout:0x1p-9", "dropout:0.001953125", 20},
                 {"dropout:0x1p-30", "dropout:9.313225746154785e-10", 62}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char in[2048] = "flatten", want[4096] = "flatten", what[160];
        for (int i = 0; i < cases[c].n; i++) {
            strcat(strcat(in, " "), cases[c].in);
            strcat(strcat(want, " "), cases[c].out);
        }
        strcat(in, " dense:7");
        strcat(want, " dense:7");
        struct err e = {0};
        struct nn_model *m, *m2;
        snprintf(what, sizeof what, "canonical of %d x %s is %zu bytes longer, exact", cases[c].n,
                 cases[c].in, strlen(want) - strlen(in));
        if (nn_model_create(&m, in, 40, 130, 7, 2, &e) != 0) {
            expect(0, e.msg);
            continue;
        }
        expect(strcmp(nn_model_spec(m), want) == 0, what);
        int rc = nn_model_create_from_text(&m2, nn_model_spec(m), 40, 130, 7, 2, &e);
        expect(rc == 0 && strcmp(nn_model_spec(m2), want) == 0, "  and parses back to itself");
        if (rc == 0) nn_model_free(m2);
        nn_model_free(m);
    }
}

/* nn_model_create reads a file whose name is the spec; nn_model_create_from_text never does. */
static void check_text_only(void)
{
    const char *path = "lstm:4 dense:7"; /* a valid spec, and the name of a file */
    FILE *f = fopen(path, "w");
    if (!f) {
        expect(0, "cannot write the spec file");
        return;
    }
    fprintf(f, "lstm:8 dense:7 # the file's spec\n");
    fclose(f);
    struct err e = {0};
    struct nn_model *m;
    struct nn_model_cost c1, c2;
    int rc = nn_model_create(&m, path, 40, 130, 7, 2, &e);
    expect(rc == 0 && strcmp(nn_model_spec(m), "lstm:8 dense:7") == 0,
           "create: an existing file's name reads the file");
    if (rc == 0) nn_model_free(m);
    rc = nn_model_create_from_text(&m, path, 40, 130, 7, 2, &e);
    expect(rc == 0 && strcmp(nn_model_spec(m), "lstm:4 dense:7") == 0,
           "create_from_text: the same string is the spec itself");
    if (rc == 0) nn_model_free(m);
    expect(nn_model_estimate(path, 40, 130, 7, 2, &c1, &e) == 0 &&
               nn_model_estimate_from_text(path, 40, 130, 7, 2, &c2, &e) == 0 &&
               c1.nparams == 4 * 8 * (40 + 8) + 8 * 8 + 7 * 8 + 7 &&
               c2.nparams == 4 * 4 * (40 + 4) + 8 * 4 + 7 * 4 + 7,
           "estimate reads the file, estimate_from_text does not");
    remove(path);
    path = "test_nn_spec_text.model";
    f = fopen(path, "w");
    if (!f) {
        expect(0, "cannot write the spec file");
        return;
    }
    fprintf(f, "lstm:8 dense:7\n");
    fclose(f);
    m = (struct nn_model *)1;
    rc = nn_model_create_from_text(&m, path, 40, 130, 7, 2, &e);
    expect(rc == -1 && m == NULL &&
               strstr(e.msg, "token 1 'test_nn_spec_text.model': unknown") != NULL,
           "create_from_text: an existing file's path is an unknown layer");
    remove(path);
}

/* The default model for batch B, worked out here from its shapes (T: 130 -> pool 65 -> 32). */
static void check_estimate_default(void)
{
    const size_t B = 32, np = 194759;
    size_t act =
        40 * 130 + 2 * (64 * 130 * 2 + 64 * 65 + 128 * 65 * 2 + 128 * 32 + 128 * 2 + 64 * 2 + 7);
    size_t cols1 = 40 * 5 * 130, cols2 = 64 * 5 * 65, mask = 128;
    size_t lstm = 32 * 512 + 32 * 128 * 2 + 33 * 128;
    struct nn_lstm_dims d = {B, 32, 128, 128, 0};
    size_t scratch = nn_lstm_scratch(&d) > cols2 * B ? nn_lstm_scratch(&d) : cols2 * B;
    struct nn_model_cost c;
    struct err e = {0};
    if (nn_model_estimate(NULL, 40, 130, 7, B, &c, &e) != 0) {
        expect(0, e.msg);
        return;
    }
    printf("  default, batch 32: params %zu, grads %zu, activations %zu, saved %zu, "
           "scratch %zu, total %zu bytes\n",
           c.params_bytes, c.grads_bytes, c.activations_bytes, c.saved_bytes, c.scratch_bytes,
           c.total_bytes);
    expect(c.nparams == np && c.params_bytes == 4 * np &&
               c.grads_bytes == 4 * (np + NN_GRAD_EXTRA) && c.activations_bytes == 4 * act * B &&
               c.saved_bytes == 4 * (cols1 + cols2 + mask + lstm) * B &&
               c.scratch_bytes == 4 * scratch &&
               c.total_bytes == c.params_bytes + c.grads_bytes + c.activations_bytes +
                                    c.saved_bytes + c.scratch_bytes,
           "estimate of the default model, batch 32: every part as worked out by hand");
}

/* The 2-D CNN of issue 12 on 40 x 130: parameters, tensors, memory and FLOPs worked out here
 * from its shapes (H x W: 40 x 130 -> pool 20 x 65 -> 10 x 32 -> 5 x 16). */
static void check_cnn2d(void)
{
    const char *spec = "conv2d:32:3x3 relu maxpool2d:2x2 conv2d:64:3x3 relu maxpool2d:2x2 "
                       "conv2d:128:3x3 relu maxpool2d:2x2 gap dropout:0.3 dense";
    const size_t B = 32, c1 = 32 * 1 * 9 + 32, c2 = 64 * 32 * 9 + 64, c3 = 128 * 64 * 9 + 128,
                 fc = 7 * 128 + 7, np = c1 + c2 + c3 + fc;
    struct err e = {0};
    struct nn_model *m;
    struct nn_model_cost c;
    if (nn_model_create(&m, spec, 40, 130, 7, B, &e) != 0 ||
        nn_model_estimate(spec, 40, 130, 7, B, &c, &e) != 0) {
        expect(0, e.msg);
        return;
    }
    const struct nn_tensor *w1 = nn_model_find_tensor(m, "conv1.weight"),
                           *w3 = nn_model_find_tensor(m, "conv3.weight"),
                           *b3 = nn_model_find_tensor(m, "conv3.bias");
    char what[160];
    snprintf(what, sizeof what, "2-D CNN: %zu params (expected %zu), conv tensors [O][I][K][K]",
             nn_model_nparams(m), np);
    expect(nn_model_nparams(m) == np && nn_model_ntensors(m) == 8 && w1 && w1->ndim == 4 &&
               w1->shape[0] == 32 && w1->shape[1] == 1 && w1->shape[2] == 3 && w1->shape[3] == 3 &&
               w3 && w3->ndim == 4 && w3->shape[1] == 64 && b3 &&
               b3->offset == c1 + c2 + 128 * 576 && nn_model_find_tensor(m, "fc1.weight") != NULL,
           what);
    expect(strcmp(nn_model_spec(m), "conv2d:32:3x3 relu maxpool2d:2x2 conv2d:64:3x3 relu "
                                    "maxpool2d:2x2 conv2d:128:3x3 relu maxpool2d:2x2 gap "
                                    "dropout:0.3 dense:7") == 0,
           "2-D CNN: canonical spec");
    size_t a1 = 32 * 40 * 130, p1 = 32 * 20 * 65, a2 = 64 * 20 * 65, p2 = 64 * 10 * 32,
           a3 = 128 * 10 * 32, p3 = 128 * 5 * 16;
    size_t act = 40 * 130 + 2 * (2 * a1 + p1 + 2 * a2 + p2 + 2 * a3 + p3 + 128 + 128 + 7);
    size_t cols1 = 9 * 40 * 130, cols2 = 32 * 9 * 20 * 65, cols3 = 64 * 9 * 10 * 32;
    /* conv1 computes no input gradient: the scratch holds conv2's or conv3's */
    size_t scratch = (cols2 > cols3 ? cols2 : cols3) * B;
    expect(c.nparams == np && c.activations_bytes == 4 * act * B &&
               c.saved_bytes == 4 * (cols1 + cols2 + cols3 + 128) * B &&
               c.scratch_bytes == 4 * scratch && c.total_bytes == nn_model_bytes(m),
           "2-D CNN estimate, batch 32: every part as worked out by hand");
    double f1 = 2.0 * 32 * 9 * 40 * 130, f2 = 2.0 * 64 * 288 * 20 * 65,
           f3 = 2.0 * 128 * 576 * 10 * 32, ff = 2.0 * 128 * 7;
    double fwd = f1 + f2 + f3 + ff, train = 2 * f1 + 3 * (f2 + f3 + ff);
    snprintf(what, sizeof what,
             "2-D CNN: %.2f / %.2f MFLOP/sample forward / train (expected %.2f / %.2f)",
             nn_model_flops_forward(m) / 1e6, nn_model_flops_train(m) / 1e6, fwd / 1e6,
             train / 1e6);
    expect(fabs(nn_model_flops_forward(m) - fwd) < 1 && fabs(nn_model_flops_train(m) - train) < 1,
           what);
    nn_model_free(m);
    /* other 2-D specs: names, shapes, canonical forms */
    if (nn_model_create(&m,
                        "reshape:1 conv2d:8:3x3:s2 maxpool2d:2x2 reshape conv1d:4:3 gap dense:7",
                        40, 130, 7, 2, &e) != 0) {
        expect(0, e.msg);
        return;
    }
    /* 40 x 130 -s2-> 20 x 65 -pool-> 10 x 32 -reshape-> [80][32] -conv1d-> [4][32] */
    const struct nn_tensor *t1 = nn_model_find_tensor(m, "conv1.weight"),
                           *t2 = nn_model_find_tensor(m, "conv2.weight");
    expect(strcmp(nn_model_spec(m),
                  "reshape conv2d:8:3x3:s2 maxpool2d:2x2 reshape conv1d:4:3 gap dense:7") == 0 &&
               t1 && t1->ndim == 4 && t2 && t2->ndim == 3 && t2->shape[1] == 80 &&
               nn_model_nparams(m) == 8 * 9 + 8 + 4 * 80 * 3 + 4 + 7 * 4 + 7,
           "conv2d and conv1d count together (conv1 4-D, conv2 3-D), reshape:1 is reshape");
    nn_model_free(m);
}

/* The estimate equals what create allocates (nn_model_bytes counts every allocation), and
 * refuses what create refuses, with the same message. */
static void check_estimate_matches_create(void)
{
    static const char *specs[] = {
        NULL,
        "conv1d:8:4 maxpool:3 flatten dense:7",
        "conv1d:16:3:0 lstm:12:mean dense:7",
        "dropout:0.2 conv1d:8:3 relu dropout:0.1 maxpool:2 flatten dropout:0.5 dense:16 relu "
        "dense:7",
        "relu lstm:8:mean dropout:0.25 dense:7",
        "flatten dense:7",
        "conv1d:64:5 relu dense:7",
        "lstm:16 dense:8",
        "conv2d:8:3x3 relu maxpool2d:2x2 conv2d:16:3x3:s2 relu gap dense:7",
        "reshape:2 conv2d:4:3x3 relu maxpool2d:2x2 reshape lstm:8 dense:7",
        "conv2d:4:5x5:s2 dropout:0.3 flatten dense:7",
        "conv2d:4:3x3 dense:7",
    };
    static const size_t batches[] = {1, 7, 32};
    int ok = 1;
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        for (size_t b = 0; b < 3; b++) {
            struct err e1 = {0}, e2 = {0};
            struct nn_model *m;
            struct nn_model_cost c;
            int rc1 = nn_model_estimate(specs[i], 40, 130, 7, batches[b], &c, &e1);
            int rc2 = nn_model_create(&m, specs[i], 40, 130, 7, batches[b], &e2);
            if (rc1 != rc2 || strcmp(e1.msg, e2.msg) != 0) ok = 0;
            if (rc2 != 0) continue;
            if (c.total_bytes != nn_model_bytes(m) || c.nparams != nn_model_nparams(m)) {
                printf("  %s batch %zu: estimate %zu, create %zu bytes\n",
                       specs[i] ? specs[i] : "default", batches[b], c.total_bytes,
                       nn_model_bytes(m));
                ok = 0;
            }
            nn_model_free(m);
        }
    }
    char what[128];
    snprintf(what, sizeof what,
             "estimate == bytes create allocates (%zu specs x batch 1, 7, 32), same errors",
             sizeof specs / sizeof specs[0]);
    expect(ok, what);
}

/* flatten dense:65536 dense:65536 dense:7 has 4.6e9 parameters: params and grads 37 GB. The
 * estimate says so under a 1 GB address-space limit, where create fails. (Skipped under
 * AddressSanitizer, which reserves terabytes of address space.) */
static void check_estimate_huge(void)
{
    const char *spec = "flatten dense:65536 dense:65536 dense:7";
    const size_t np = 5200 * (size_t)65536 + 65536 + 65536 * (size_t)65536 + 65536 + 7 * 65536 + 7;
    struct nn_model_cost c;
    struct err e = {0};
    int rc = nn_model_estimate(spec, 40, 130, 7, 32, &c, &e);
    printf("  %s: %zu params, %.1f GB\n", spec, c.nparams, (double)c.total_bytes / 1e9);
    expect(rc == 0 && c.nparams == np && c.params_bytes == 4 * np && c.total_bytes > 8 * np &&
               c.total_bytes < 8 * np + ((size_t)1 << 30),
           "estimate of a 37 GB model");
    rc = nn_model_estimate("maxpool:2 lstm:64 dense:7", 40, (size_t)1 << 60, 7, 1024, &c, &e);
    expect(rc == -1 && strstr(e.msg, "too large") != NULL, "estimate: sizes past size_t refused");
#if defined(__SANITIZE_ADDRESS__)
    printf("  (the address-space limit check is skipped under AddressSanitizer)\n");
#else
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl = {(rlim_t)1 << 30, (rlim_t)1 << 30};
        struct nn_model *m;
        if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(3);
        if (nn_model_create(&m, spec, 40, 130, 7, 32, &e) == 0) _exit(4);
        _exit(nn_model_estimate(spec, 40, 130, 7, 32, &c, &e) == 0 && c.nparams == np ? 0 : 5);
    }
    int st = -1;
    waitpid(pid, &st, 0);
    char what[160];
    snprintf(what, sizeof what, "under a 1 GB limit: create fails, estimate works (status %d)",
             WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    expect(pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, what);
#endif
}

/* The NN_GRAD_EXTRA floats after the gradients: allocated, and never touched by the model. */
static void check_grad_extra(void)
{
    enum { B = 3 };
    struct err e = {0};
    struct nn_model *m;
    struct nn_model_cost c;
    if (nn_model_create(&m, NULL, 40, 130, 7, B, &e) != 0 ||
        nn_model_estimate(NULL, 40, 130, 7, B, &c, &e) != 0) {
        expect(0, e.msg);
        return;
    }
    nn_model_init(m, 3);
    static float x[B * 40 * 130];
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        x[i] = 2.0f * nn_rng_uniform(nn_rng_hash5(5, i, 0, 0, 0)) - 1.0f;
    int y[B] = {1, 4, 6};
    const size_t np = nn_model_nparams(m);
    float *g = nn_model_grads(m), probs[B * 7];
    int zero = 1, same = 1;
    for (size_t i = 0; i < NN_GRAD_EXTRA; i++) zero &= g[np + i] == 0.0f;
    for (size_t i = 0; i < NN_GRAD_EXTRA; i++) g[np + i] = 1000.0f + (float)i;
    struct nn_step st = {.seed = 7, .epoch = 1, .train = 1};
    double loss;
    nn_model_train_step(m, x, y, B, &st, &loss, probs);
    nn_model_train_step(m, x, y, B, &st, &loss, probs);
    nn_model_forward(m, x, y, B, &loss, probs);
    for (size_t i = 0; i < NN_GRAD_EXTRA; i++) same &= g[np + i] == 1000.0f + (float)i;
    double gsum = 0;
    for (size_t i = 0; i < np; i++) gsum += fabs(g[i]);
    expect(c.grads_bytes == (np + NN_GRAD_EXTRA) * sizeof(float) && zero && same && gsum > 0,
           "NN_GRAD_EXTRA floats after the gradients: allocated, zero, untouched by steps");
    nn_model_free(m);
}

int main(void)
{
    struct err e = {0};
    struct nn_model *m;
    if (nn_model_create(&m, NN_DEFAULT_SPEC, 40, 130, 7, 32, &e) != 0) {
        printf("default spec: %s FAIL\n", e.msg);
        return 1;
    }
    /* independent count: T 130 -conv(5, pad 2)-> 130 -pool2-> 65 -conv-> 65 -pool2-> 32 */
    size_t conv1 = 64 * 40 * 5 + 64, conv2 = 128 * 64 * 5 + 128;
    size_t lstm = 4 * 128 * 128 + 4 * 128 * 128 + 2 * 4 * 128, fc1 = 64 * 128 + 64,
           fc2 = 7 * 64 + 7;
    size_t expected = conv1 + conv2 + lstm + fc1 + fc2;
    char what[160];
    snprintf(what, sizeof what, "default: %zu params (expected %zu)", nn_model_nparams(m),
             expected);
    expect(nn_model_nparams(m) == expected && expected > 190000 && expected < 200000, what);
    static const struct {
        const char *name;
        int ndim;
        size_t s0, s1, s2;
    } want[] = {
        {"conv1.weight", 3, 64, 40, 5},
        {"conv1.bias", 1, 64, 0, 0},
        {"conv2.weight", 3, 128, 64, 5},
        {"conv2.bias", 1, 128, 0, 0},
        {"lstm1.weight_ih_l0", 2, 512, 128, 0},
        {"lstm1.weight_hh_l0", 2, 512, 128, 0},
        {"lstm1.bias_ih_l0", 1, 512, 0, 0},
        {"lstm1.bias_hh_l0", 1, 512, 0, 0},
        {"fc1.weight", 2, 64, 128, 0},
        {"fc1.bias", 1, 64, 0, 0},
        {"fc2.weight", 2, 7, 64, 0},
        {"fc2.bias", 1, 7, 0, 0},
    };
    size_t nw = sizeof want / sizeof want[0], off = 0;
    int tens_ok = nn_model_ntensors(m) == nw;
    for (size_t i = 0; tens_ok && i < nw; i++) {
        const struct nn_tensor *t = nn_model_tensor(m, i);
        tens_ok = strcmp(t->name, want[i].name) == 0 && t->ndim == want[i].ndim &&
                  t->shape[0] == want[i].s0 && t->shape[1] == want[i].s1 &&
                  t->shape[2] == want[i].s2 && t->offset == off &&
                  nn_model_find_tensor(m, want[i].name) == t;
        off += t->size;
    }
    expect(tens_ok && off == expected, "default: tensor names, shapes, contiguous offsets");
    expect(strcmp(nn_model_spec(m), NN_DEFAULT_SPEC ":7") == 0,
           "default: canonical spec is itself with the output size written (dense:7)");
    for (size_t K = 2; K <= 9; K += 7) { /* the output layer follows the classes */
        struct nn_model *mk = NULL;
        char want_spec[256];
        snprintf(want_spec, sizeof want_spec, "%s:%zu", NN_DEFAULT_SPEC, K);
        int ok = nn_model_create(&mk, NN_DEFAULT_SPEC, 40, 130, K, 4, &e) == 0 &&
                 nn_model_n_classes(mk) == K && strcmp(nn_model_spec(mk), want_spec) == 0;
        if (!ok) fprintf(stderr, "  %s\n", mk ? nn_model_spec(mk) : e.msg);
        snprintf(what, sizeof what, "default spec for %zu classes ends in dense:%zu", K, K);
        expect(ok, what);
        nn_model_free(mk);
    }
    {
        struct nn_model *mk = NULL;
        int rc = nn_model_create(&mk, "flatten dense dense", 40, 130, 7, 4, &e);
        expect(rc != 0 && strstr(e.msg, "only the last layer"), "a sizeless dense before the last");
        nn_model_free(mk);
    }
    double fl = nn_model_flops_train(m) / 1e6;
    snprintf(what, sizeof what, "default: %.2f MFLOP/sample train (expected ~47.5)", fl);
    expect(fl > 47 && fl < 48.5, what);

    /* init: within PyTorch's bounds and spread over them */
    nn_model_init(m, 1);
    const float *p = nn_model_params(m);
    const struct {
        const char *name;
        double bound;
    } bounds[] = {{"conv1.weight", 1 / sqrt(200.0)},       {"conv2.bias", 1 / sqrt(320.0)},
                  {"lstm1.weight_hh_l0", 1 / sqrt(128.0)}, {"lstm1.bias_ih_l0", 1 / sqrt(128.0)},
                  {"fc1.weight", 1 / sqrt(128.0)},         {"fc2.weight", 1 / sqrt(64.0)}};
    for (size_t i = 0; i < sizeof bounds / sizeof bounds[0]; i++) {
        const struct nn_tensor *t = nn_model_find_tensor(m, bounds[i].name);
        double mx = 0, mean = 0;
        for (size_t j = 0; j < t->size; j++) {
            mx = fmax(mx, fabs(p[t->offset + j]));
            mean += p[t->offset + j];
        }
        mean /= (double)t->size;
        snprintf(what, sizeof what, "init %s: max |w| %.4f <= %.4f, near it, mean ~0", t->name, mx,
                 bounds[i].bound);
        expect(mx <= bounds[i].bound && mx > 0.8 * bounds[i].bound &&
                   fabs(mean) < 0.2 * bounds[i].bound,
               what);
    }
    nn_model_free(m);

    /* other valid specs */
    if (nn_model_create(&m, "conv1d:8:4 maxpool:3 flatten dense:7", 40, 130, 7, 2, &e) == 0) {
        /* T: 130 + 2*2 - 4 + 1 = 131 -> pool3 -> 43; flatten 8*43 */
        expect(nn_model_nparams(m) == 8 * 40 * 4 + 8 + 7 * 8 * 43 + 7,
               "conv(even k)+flatten params");
        nn_model_free(m);
    } else {
        expect(0, e.msg);
    }
    if (nn_model_create(&m, "  conv1d:16:3:0\n lstm:12:mean  dense:7 ", 40, 130, 7, 2, &e) == 0) {
        expect(strcmp(nn_model_spec(m), "conv1d:16:3:0 lstm:12:mean dense:7") == 0,
               "canonical spec keeps explicit padding and :mean");
        nn_model_free(m);
    } else {
        expect(0, e.msg);
    }

    bad("", "empty");
    bad("conv1d:64:5 relu bogus dense:7", "token 3 'bogus': unknown layer");
    bad("conv1d:64:x lstm:8 dense:7", "token 1 'conv1d:64:x'");
    bad("conv1d:0:5 lstm:8 dense:7", "OUT must be");
    bad("conv1d:64 lstm:8 dense:7", "expected conv1d:OUT:K");
    bad("conv1d:64:5 relu dense:7", "dense needs a vector input");
    bad("conv1d:8:5 maxpool:200 lstm:4 dense:7", "shrinks to length 0");
    bad("conv1d:8:200:0 lstm:4 dense:7", "shrinks to length 0");
    bad("lstm:16 dense:8", "gives 8 outputs, but there are 7 classes");
    bad("conv1d:8:3", "gives a sequence");
    bad("lstm:16 dropout:1 dense:7", "0 <= P < 1");
    bad("lstm:16 dropout:-0.1 dense:7", "0 <= P < 1");
    bad("lstm:16:first dense:7", "'last' or 'mean'");
    bad("lstm:16 lstm:8 dense:7", "lstm needs a sequence input");
    bad("relu:3 lstm:8 dense:7", "relu takes no arguments");
    bad("lstm:16 dense:7:2", "expected dense[:N]");
    bad("conv2d:8:4x4 gap dense:7", "K must be odd");
    bad("conv2d:8:3x5 gap dense:7", "token 1 'conv2d:8:3x5': the kernel must be square");
    bad("conv2d:8:3 gap dense:7", "the kernel must be KxK");
    bad("conv2d:8:0x0 gap dense:7", "K must be an integer in [1, 255]");
    bad("conv2d:8:3x3:2 gap dense:7", "the stride must be sS");
    bad("conv2d:8:3x3:s0 gap dense:7", "the stride must be sS");
    bad("conv2d:4:3x3 maxpool2d:64x64 gap dense:7", "the map shrinks to 0 (40 x 130, pool 64x64)");
    bad("maxpool2d:2x3 gap dense:7", "square");
    bad("reshape:3 conv2d:4:3x3 gap dense:7", "the 40 channels are not divisible by P = 3");
    bad("reshape:0 gap dense:7", "P must be an integer");
    bad("conv2d:4:3x3 reshape:2 lstm:4 dense:7", "becomes a sequence with plain 'reshape'");
    bad("lstm:8 gap dense:7", "token 2 'gap': gap needs a sequence or map input");
    bad("lstm:8 conv2d:4:3x3 dense:7", "conv2d needs a sequence or map input");
    bad("gap:2 dense:7", "gap takes no arguments");
    bad("conv2d:4:3x3 dense:7", "dense needs a vector input: put lstm, gap or flatten before it");
    bad("conv2d:4:3x3 lstm:8 dense:7",
        "lstm needs a sequence input, but the input here is a map (4 x 40 x 130): put reshape");
    bad("maxpool2d:2x2 maxpool:2 flatten dense:7", "maxpool needs a sequence input");
    bad("conv2d:4:3x3",
        "the last layer 'conv1' gives a map (4 x 40 x 130); end with gap or flatten");

    /* a spec file with comments */
    const char *path = "test_nn_spec.model";
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "# small model\nconv1d:8:3 relu   # first block\nlstm:4\ndense:7\n");
        fclose(f);
        int rc = nn_model_create(&m, path, 40, 130, 7, 2, &e);
        expect(rc == 0 && strcmp(nn_model_spec(m), "conv1d:8:3 relu lstm:4 dense:7") == 0,
               "spec read from a file, comments ignored");
        if (rc == 0) nn_model_free(m);
        remove(path);
    } else {
        expect(0, "cannot write the spec file");
    }
    check_long_canonical();
    check_text_only();
    check_estimate_default();
    check_estimate_matches_create();
    check_cnn2d();
    check_estimate_huge();
    check_grad_extra();
    printf("%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
