/* fuzz_spec.c: the model-spec parser, nn_model_estimate_from_text and
 * nn_model_create_from_text (nn/model.h), for ser's input (40 x 130), 7 classes, batch 2.
 *
 * A refused spec must come with a message. For an accepted one whose estimate is below
 * 64 MB, the model is built; model.h promises that it then holds exactly the estimated bytes
 * and parameters, and its canonical spec must estimate to the same cost. When one training
 * step is cheap (at most 5e7 FLOPs for the two samples) the harness also initialises the
 * weights and runs a training step and an inference on a fixed input, so that ASan checks
 * the buffers the parser planned against what the layers touch. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/model.h"
#include "tests/fuzz/fuzz_util.h"

enum { C = 40, T = 130, K = 7, B = 2 };
#define MAX_BYTES      (64u << 20)
#define MAX_STEP_FLOPS 5e7

static float x[B * C * T];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        x[i] = (float)((i * 2654435761u) % 2001) / 1000.0f - 1.0f;
    return 0;
}

static void exercise(struct nn_model *m)
{
    if (nn_model_flops_train(m) * B > MAX_STEP_FLOPS) return;
    static const int y[B] = {0, K - 1};
    static const uint64_t ids[B] = {3, 11};
    struct nn_step st = {.seed = 1, .epoch = 0, .sample_ids = ids, .train = 1};
    double loss = 0;
    float probs[B * K];
    nn_model_init(m, 1);
    FUZZ_CHECK(nn_model_train_step(m, x, y, B, &st, &loss, probs) == 0, "train step refused");
    FUZZ_CHECK(nn_model_forward(m, x, y, 1, &loss, probs) == 0, "forward refused");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *spec = malloc(size + 1);
    FUZZ_CHECK(spec, "out of memory");
    memcpy(spec, data, size);
    spec[size] = 0;
    struct nn_model_cost cost, again;
    struct err e = {0};
    int rc = nn_model_estimate_from_text(spec, C, T, K, B, &cost, &e);
    fuzz_expect_valid(rc, e.msg);
    if (rc != 0) FUZZ_CHECK(e.msg[0], "estimate failed without a message");
    if (rc == 0 && cost.total_bytes < MAX_BYTES) {
        struct nn_model *m = NULL;
        FUZZ_CHECK(nn_model_create_from_text(&m, spec, C, T, K, B, &e) == 0,
                   "the estimate accepted a spec that create refuses: %s", e.msg);
        FUZZ_CHECK(nn_model_bytes(m) == cost.total_bytes && nn_model_nparams(m) == cost.nparams,
                   "model holds %zu bytes, %zu parameters; the estimate said %zu, %zu",
                   nn_model_bytes(m), nn_model_nparams(m), cost.total_bytes, cost.nparams);
        const char *canon = nn_model_spec(m);
        FUZZ_CHECK(nn_model_estimate_from_text(canon, C, T, K, B, &again, &e) == 0,
                   "canonical spec '%s' refused: %s", canon, e.msg);
        FUZZ_CHECK(memcmp(&again, &cost, sizeof cost) == 0,
                   "canonical spec '%s' estimates differently", canon);
        exercise(m);
        nn_model_free(m);
    }
    free(spec);
    return 0;
}
