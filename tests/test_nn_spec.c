/* test_nn_spec.c: the model spec parser. The default spec gives the expected layers,
 * tensor names/shapes (PyTorch state_dict) and parameter count, computed here independently
 * from the per-layer formulas (conv: out*in*k + out; LSTM: 4H*in + 4H*H + 8H; Linear:
 * out*in + out); the views tile the flat buffer in order; init bounds are PyTorch's;
 * bad specs give errors naming the token. Exits 1 on failure. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/model.h"

static int failures;

static void expect(int ok, const char *what)
{
    printf("%-70s %s\n", what, ok ? "ok" : "FAIL");
    if (!ok) failures++;
}

static void bad(const char *spec, const char *needle)
{
    struct err e = {{0}};
    struct nn_model *m = (struct nn_model *)1;
    int rc = nn_model_create(&m, spec, 40, 130, 7, 4, &e);
    printf("  %s\n", e.msg);
    char what[160];
    snprintf(what, sizeof what, "rejects '%.100s'", spec);
    expect(rc == -1 && m == NULL && strstr(e.msg, needle) != NULL, what);
}

int main(void)
{
    struct err e = {{0}};
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
    expect(strcmp(nn_model_spec(m), NN_DEFAULT_SPEC) == 0, "default: canonical spec is itself");
    double fl = nn_model_flops_train(m) / 1e6;
    snprintf(what, sizeof what, "default: %.2f MFLOP/sample train (expected ~47.5)", fl);
    expect(fl > 47 && fl < 48.5, what);

    /* init: within PyTorch's bounds and spread over them */
    nn_model_init(m, 1);
    const float *p = nn_model_params(m);
    static const struct {
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
    bad("lstm:16 dense:7:2", "expected dense:N");

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
    printf("%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
