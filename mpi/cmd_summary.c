/* cmd_summary.c: `ser summary [--model SPEC]` prints the model's layer table (Keras
 * model.summary() style: layer (type), output shape, param #; total params) for the 40 x 130
 * MFCC input and 7 classes. */
#include <stdio.h>
#include <string.h>

#include "mpi/cli.h"
#include "mpi/commands.h"
#include "nn/model.h"

struct summary_cfg {
    const char *model;
};

static const struct cli_opt summary_opts[] = {
    {"model", "SPEC", "model spec string or file (default: " NN_DEFAULT_SPEC ")"},
};

static int summary_apply(void *ctx, int index, const char *arg, struct err *e)
{
    struct summary_cfg *c = ctx;
    (void)e;
    if (index == 0) c->model = arg;
    return 0;
}

int cmd_summary(int argc, char **argv)
{
    struct summary_cfg cfg = {NN_DEFAULT_SPEC};
    int first;
    int rc = cli_parse(argc, argv, "ser summary [--model SPEC]",
                       "Print the layers, output shapes and parameter counts of a model "
                       "(input 40 MFCC x 130 frames, 7 classes).",
                       summary_opts, (int)(sizeof summary_opts / sizeof summary_opts[0]),
                       summary_apply, &cfg, &first);
    if (rc == CLI_HELP) return 0;
    if (rc != CLI_OK) return 1;
    if (first < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", argv[0], argv[first]);
        return 1;
    }
    struct err e = {{0}};
    struct nn_model *m;
    if (nn_model_create(&m, cfg.model, 40, 130, 7, 1, &e) != 0) {
        fprintf(stderr, "%s: %s\n", argv[0], e.msg);
        return 1;
    }
    nn_model_summary(m, stdout);
    nn_model_free(m);
    return 0;
}
