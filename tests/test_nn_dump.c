/* test_nn_dump.c: writes what tests/torch_parity.py compares against PyTorch.
 *
 * usage: test_nn_dump OUTDIR [SPEC [ADAM_STEPS [SEED]]]
 * Initialises the model (seed SEED, default 1234) for input [40][130] and 7 classes, makes a batch
 * of 5 random inputs and labels, runs one forward+backward of the summed cross-entropy, then
 * ADAM_STEPS (default 10) Adam steps (lr 1e-3) on the same batch with the mean loss.
 * After the first step the batchnorm running statistics are updated with that step's batch
 * statistics (as PyTorch's training forward does), and logits.f32 is the INFERENCE forward
 * (running statistics, model.eval()) after it; so is every Adam step's update.
 * Files in OUTDIR (raw little-endian float32 / int32): params.f32 (initial flat buffer),
 * running0.f32 (initial running buffers),
 * x.f32 [5][40][130], y.i32 [5], logits.f32 [5][7], probs.f32 [5][7], grads.f32 (flat, of the
 * summed loss), running.f32 (running buffers after the first step), final_running.f32,
 * final_params.f32 (after the Adam steps), manifest.json (spec, sizes, tensor
 * table, loss, Adam loss sequence). Dropout layers must have p = 0 for parity (masks differ
 * from torch's); the step runs in train mode. Exits non-zero on error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/adam.h"
#include "nn/model.h"
#include "nn/rng.h"

static int write_raw(const char *dir, const char *name, const void *p, size_t bytes)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, bytes, f) != bytes || fclose(f) != 0) {
        fprintf(stderr, "test_nn_dump: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_nn_dump OUTDIR [SPEC [ADAM_STEPS [SEED]]]\n");
        return 1;
    }
    const char *dir = argv[1];
    const char *spec = argc > 2 ? argv[2] : NN_DEFAULT_SPEC;
    int steps = argc > 3 ? atoi(argv[3]) : 10;
    unsigned long long seed = argc > 4 ? strtoull(argv[4], NULL, 10) : 1234;
    enum { B = 5, C = 40, T = 130, K = 7 };
    struct err e = {0};
    struct nn_model *m;
    if (nn_model_create(&m, spec, C, T, K, B, &e) != 0) {
        fprintf(stderr, "test_nn_dump: %s\n", e.msg);
        return 1;
    }
    nn_model_init(m, seed);
    static float x[B * C * T];
    float logits[B * K], probs[B * K];
    int y[B] = {3, 0, 6, 2, 3};
    for (size_t i = 0; i < B * C * T; i++)
        x[i] = 2.0f * nn_rng_uniform(nn_rng_hash5(99, i, 0, 0, 0)) - 1.0f;
    const size_t np = nn_model_nparams(m);
    float *params = nn_model_params(m), *grads = nn_model_grads(m);
    int rc = 1;
    struct nn_adam adam = {0};
    if (write_raw(dir, "params.f32", params, np * 4) || write_raw(dir, "x.f32", x, sizeof x) ||
        write_raw(dir, "y.i32", y, sizeof y) ||
        write_raw(dir, "running0.f32", nn_model_running(m), nn_model_nrunning(m) * 4))
        goto done;
    const size_t ng = np + NN_GRAD_EXTRA + nn_model_nstats(m), nr = nn_model_nrunning(m);
    float *stats = grads + np + NN_GRAD_EXTRA, *running = nn_model_running(m);
    memset(grads, 0, ng * sizeof *grads);
    double loss;
    struct nn_step st = {.seed = 1, .epoch = 0, .train = 1};
    if (nn_model_train_step(m, x, y, B, &st, &loss, probs) != 0 ||
        (nn_model_update_running(m, stats, 1), nn_model_forward_logits(m, x, B, logits)) != 0) {
        fprintf(stderr, "test_nn_dump: step failed\n");
        goto done;
    }
    if (write_raw(dir, "logits.f32", logits, sizeof logits) ||
        write_raw(dir, "probs.f32", probs, sizeof probs) ||
        write_raw(dir, "grads.f32", grads, np * 4) ||
        write_raw(dir, "running.f32", running, nr * 4))
        goto done;
    double adam_loss[100];
    if (steps > 100) steps = 100;
    if (nn_adam_init(&adam, np, 1e-3, &e) != 0) {
        fprintf(stderr, "test_nn_dump: %s\n", e.msg);
        goto done;
    }
    for (int s = 0; s < steps; s++) {
        memset(grads, 0, ng * sizeof *grads);
        nn_model_train_step(m, x, y, B, &st, &adam_loss[s], NULL);
        nn_model_update_running(m, stats, 1);
        adam_loss[s] /= B;
        for (size_t i = 0; i < np; i++) grads[i] /= B; /* mean loss, as the trainer divides */
        nn_adam_step(&adam, params, grads);
    }
    if (write_raw(dir, "final_params.f32", params, np * 4) ||
        write_raw(dir, "final_running.f32", running, nr * 4))
        goto done;
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "test_nn_dump: cannot write %s\n", path);
        goto done;
    }
    fprintf(f, "{\"spec\": \"%s\", \"B\": %d, \"C\": %d, \"T\": %d, \"n_classes\": %d,\n",
            nn_model_spec(m), B, C, T, K);
    fprintf(f, " \"nparams\": %zu, \"loss_sum\": %.17g,\n \"adam_lr\": 1e-3, \"adam_losses\": [",
            np, loss);
    for (int s = 0; s < steps; s++) fprintf(f, "%s%.17g", s ? ", " : "", adam_loss[s]);
    fprintf(f, "],\n \"tensors\": [");
    for (size_t t = 0; t < nn_model_ntensors(m); t++) {
        const struct nn_tensor *tt = nn_model_tensor(m, t);
        fprintf(f, "%s\n  {\"name\": \"%s\", \"offset\": %zu, \"shape\": [", t ? "," : "", tt->name,
                tt->offset);
        for (int d = 0; d < tt->ndim; d++) fprintf(f, "%s%zu", d ? ", " : "", tt->shape[d]);
        fprintf(f, "]}");
    }
    fprintf(f, "],\n \"running\": [");
    for (size_t t = 0; t < nn_model_nrunning_tensors(m); t++) {
        const struct nn_tensor *tt = nn_model_running_tensor(m, t);
        fprintf(f, "%s\n  {\"name\": \"%s\", \"offset\": %zu, \"size\": %zu}", t ? "," : "",
                tt->name, tt->offset, tt->size);
    }
    fprintf(f, "]}\n");
    if (fclose(f) != 0) goto done;
    rc = 0;
done:
    nn_adam_free(&adam);
    nn_model_free(m);
    return rc;
}
