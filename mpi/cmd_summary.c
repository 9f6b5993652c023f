/* cmd_summary.c: `ser summary [--model SPEC]` prints the model's layer table (Keras
 * model.summary() style: layer (type), output shape, param #; total params) for the 40 x 130
 * MFCC input and 7 classes. */
#include <stdio.h>
#include <string.h>

#include "mpi/cli.h"
#include "mpi/memory.h"
#include "mpi/commands.h"
#include "nn/model.h"

struct summary_cfg {
    char model[4096];
};

static const struct cli_opt summary_opts[] = {
    {"model", CLI_STRING, CLI_FIELD(struct summary_cfg, model), NN_DEFAULT_SPEC, 0, 0, NULL, "SPEC",
     "model spec string or file", NULL, NULL, 0},
};

static const struct cli_table summary_table = {
    "summary",
    "ser summary [--model SPEC]",
    "Print the layers, output shapes and parameter counts of a model (input 40 MFCC x 130 "
    "frames,\n7 classes).",
    summary_opts,
    1,
    NULL,
    NULL,
    0};

int cmd_summary(int argc, char **argv)
{
    struct summary_cfg cfg;
    int first;
    cli_defaults(&summary_table, &cfg);
    int rc = cli_parse(&summary_table, argc, argv, &cfg, &first);
    if (rc != CLI_OK) return cli_exit_code(rc);
    if (first < argc) {
        fprintf(stderr, "ser summary: unexpected argument '%s'\n", argv[first]);
        return SER_EXIT_INPUT;
    }
    struct err e = {0};
    struct nn_model *m;
    if (dist_model_fits(cfg.model, 40, 130, 7, 1, &e) ||
        nn_model_create(&m, cfg.model, 40, 130, 7, 1, &e) != 0) {
        fprintf(stderr, "ser summary: %s\n", e.msg);
        return err_exit_code(&e);
    }
    nn_model_summary(m, stdout);
    nn_model_free(m);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "ser summary: cannot write to standard output\n");
        return SER_EXIT_IO;
    }
    return 0;
}
