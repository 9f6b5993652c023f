/* train_cfg.c: options of `ser train` (one table for the command line and config files),
 * their defaults, and the classification metrics of its reports. */
#include "mpi/train.h"

#include <stdio.h>
#include <string.h>

#include "mpi/cli.h"
#include "nn/model.h"

void dist_train_default_cfg(struct dist_train_cfg *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->data, sizeof c->data, "data/tess-standin");
    snprintf(c->model, sizeof c->model, "%s", NN_DEFAULT_SPEC);
    snprintf(c->split, sizeof c->split, "random");
    snprintf(c->monitor, sizeof c->monitor, "val_loss");
    c->epochs = 100;
    c->batch = 32;
    c->seed = 42;
    c->threads = 1;
    c->patience = 10;
    c->lr = 1e-3;
    c->min_delta = 0;
    c->lr_factor = 0.5;
    c->lr_patience = 5;
    c->lr_cooldown = 0;
    c->min_lr = 1e-5;
    c->weight_decay = 0;
    c->clip = 0;
    c->val_frac = 0.15;
    c->test_frac = 0.15;
    c->checkpoint_every = 1;
    c->micro_batch = 8;
}

static const struct cli_opt train_opts[] = {
    {"data", "DIR", "corpus directory or CSV manifest (default: data/tess-standin)"},
    {"out", "RUN_DIR", "run directory (default: results/<date>-<time>)"},
    {"features", "FILE", "feature cache (default: <data>.features.serf)"},
    {"model", "SPEC", "model spec or a file holding one (default: the CNN-LSTM)"},
    {"epochs", "N", "total epochs at most, also when resuming (default: 100)"},
    {"batch-size", "N", "global batch size over all ranks (default: 32)"},
    {"lr", "X", "Adam learning rate (default: 0.001)"},
    {"seed", "N", "seed of split, init, shuffle and dropout (default: 42)"},
    {"threads", "N", "OpenBLAS threads per rank (default: 1)"},
    {"split", "KIND", "random (stratified 70/15/15) or speaker:NAME (NAME is the test set)"},
    {"patience", "N", "early stopping: epochs without improvement (default: 10)"},
    {"monitor", "METRIC", "val_loss or val_accuracy (default: val_loss)"},
    {"min-delta", "X", "smallest change that counts as an improvement (default: 0)"},
    {"lr-factor", "X", "ReduceLROnPlateau factor; 1 disables it (default: 0.5)"},
    {"lr-patience", "N", "ReduceLROnPlateau patience in epochs (default: 5)"},
    {"lr-cooldown", "N", "ReduceLROnPlateau cooldown in epochs (default: 0)"},
    {"min-lr", "X", "ReduceLROnPlateau lower bound (default: 1e-05)"},
    {"weight-decay", "X", "decoupled weight decay, AdamW (default: 0)"},
    {"clip", "X", "clip the global gradient norm at X; 0 disables (default: 0)"},
    {"val-frac", "X", "validation fraction (default: 0.15)"},
    {"test-frac", "X", "test fraction (default: 0.15)"},
    {"resume", "CKPT",
     "continue a run from CKPT, or 'auto': the newest valid checkpoint of "
     "RUN_DIR (none: start)"},
    {"checkpoint-every", "N[b]",
     "write RUN_DIR/last.ckpt every N epochs, or every N batches "
     "with a 'b' suffix (default: 1)"},
    {"keep", "K", "also keep the K newest epoch checkpoints epoch-NNNN.ckpt (default: 0)"},
    {"deterministic", NULL,
     "bit-identical weights for any number of ranks (fixed "
     "micro-batches, exact integer allreduce, 1 thread)"},
    {"micro-batch", "M", "samples per micro-batch with --deterministic (default: 8)"},
    {"quiet", NULL, "only errors and the final summary"},
    {"config", "FILE", "read options from FILE (key = value lines, same names)"},
};
enum { N_TRAIN_OPTS = sizeof train_opts / sizeof train_opts[0] };

static int set_str(char *dst, size_t n, const char *opt, const char *arg, struct err *e)
{
    if (strlen(arg) >= n) return err_set(e, "--%s: value too long", opt);
    memcpy(dst, arg, strlen(arg) + 1);
    return 0;
}

static int train_apply(void *ctx, int i, const char *arg, struct err *e)
{
    struct dist_train_cfg *c = ctx;
    const char *o = train_opts[i].name;
    switch (i) {
    case 0:
        return set_str(c->data, sizeof c->data, o, arg, e);
    case 1:
        return set_str(c->out, sizeof c->out, o, arg, e);
    case 2:
        return set_str(c->features, sizeof c->features, o, arg, e);
    case 3:
        return set_str(c->model, sizeof c->model, o, arg, e);
    case 4:
        return cli_long(o, arg, 1, 1000000, &c->epochs, e);
    case 5:
        return cli_long(o, arg, 1, 65536, &c->batch, e);
    case 6:
        return cli_double(o, arg, 1e-12, 10, &c->lr, e);
    case 7:
        return cli_long(o, arg, 0, 0x7fffffffffffffffL, &c->seed, e);
    case 8:
        return cli_long(o, arg, 1, 1024, &c->threads, e);
    case 9:
        if (strcmp(arg, "random") != 0 && strncmp(arg, "speaker:", 8) != 0)
            return err_set(e, "--split: expected random or speaker:NAME, got '%s'", arg);
        return set_str(c->split, sizeof c->split, o, arg, e);
    case 10:
        return cli_long(o, arg, 1, 1000000, &c->patience, e);
    case 11:
        if (strcmp(arg, "val_loss") != 0 && strcmp(arg, "val_accuracy") != 0)
            return err_set(e, "--monitor: expected val_loss or val_accuracy, got '%s'", arg);
        return set_str(c->monitor, sizeof c->monitor, o, arg, e);
    case 12:
        return cli_double(o, arg, 0, 1e9, &c->min_delta, e);
    case 13:
        return cli_double(o, arg, 1e-6, 1, &c->lr_factor, e);
    case 14:
        return cli_long(o, arg, 1, 1000000, &c->lr_patience, e);
    case 15:
        return cli_long(o, arg, 0, 1000000, &c->lr_cooldown, e);
    case 16:
        return cli_double(o, arg, 0, 10, &c->min_lr, e);
    case 17:
        return cli_double(o, arg, 0, 10, &c->weight_decay, e);
    case 18:
        return cli_double(o, arg, 0, 1e9, &c->clip, e);
    case 19:
        return cli_double(o, arg, 0, 0.9, &c->val_frac, e);
    case 20:
        return cli_double(o, arg, 0, 0.9, &c->test_frac, e);
    case 21:
        return set_str(c->resume, sizeof c->resume, o, arg, e);
    case 22: {
        char num[64];
        size_t l = strlen(arg);
        int batches = l > 0 && arg[l - 1] == 'b';
        if (l >= sizeof num) return err_set(e, "--%s: value too long", o);
        memcpy(num, arg, l + 1);
        if (batches) num[l - 1] = 0;
        c->checkpoint_batches = batches;
        return cli_long(o, num, 1, 100000000, &c->checkpoint_every, e);
    }
    case 23:
        return cli_long(o, arg, 0, 1000000, &c->keep, e);
    case 24:
        c->deterministic = 1;
        return 0;
    case 25:
        return cli_long(o, arg, 1, 65536, &c->micro_batch, e);
    case 26:
        c->quiet = 1;
        return 0;
    case 27:
        return 0; /* applied before the command line, see dist_train_parse */
    }
    return err_set(e, "internal: option %d", i);
}

int dist_train_apply_text(struct dist_train_cfg *c, const char *text, const char *what,
                          struct err *e)
{
    return cli_config_text(text, what, train_opts, N_TRAIN_OPTS, train_apply, c, e);
}

int dist_train_parse(int argc, char **argv, struct dist_train_cfg *c)
{
    const char *usage = "mpirun -np N ser train [--data DIR] [--out RUN_DIR] [options]";
    const char *summary =
        "Trains the CNN-LSTM on MFCC features with data parallelism: every batch's gradient is\n"
        "summed over the ranks with one MPI_Allreduce. Validates every epoch, stops early, keeps\n"
        "the best weights (RUN_DIR/best.ckpt), evaluates the test set and writes "
        "RUN_DIR/report.md.\n"
        "SIGTERM, SIGINT or SIGUSR1 (SLURM's warning signal) make every rank finish its batch,\n"
        "rank 0 writes RUN_DIR/last.ckpt and all exit with status 75; --resume auto continues.\n"
        "Exit status: 0 done, 1 bad usage or input, 2 I/O or checkpoint error, 3 NaN/Inf,\n"
        "75 stopped by a signal after a checkpoint.";
    for (int i = 1; i < argc; i++) {
        const char *f = NULL;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            f = argv[i + 1];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            f = argv[i] + 9;
        if (f) {
            struct err e = {{0}};
            if (cli_config(f, train_opts, N_TRAIN_OPTS, train_apply, c, &e)) {
                fprintf(stderr, "ser train: %s\n", e.msg);
                return CLI_ERROR;
            }
        }
    }
    int pos;
    int r = cli_parse(argc, argv, usage, summary, train_opts, N_TRAIN_OPTS, train_apply, c, &pos);
    if (r == CLI_OK && pos < argc) {
        fprintf(stderr, "ser train: unexpected argument '%s'\nusage: %s\n", argv[pos], usage);
        return CLI_ERROR;
    }
    return r;
}

void dist_train_cfg_dump(const struct dist_train_cfg *c, char *buf, size_t n)
{
    snprintf(buf, n,
             "data = %s\nfeatures = %s\nmodel = %s\nepochs = %ld\nbatch-size = %ld\nlr = %.17g\n"
             "seed = %ld\nsplit = %s\npatience = %ld\nmonitor = %s\nmin-delta = %.17g\n"
             "lr-factor = %.17g\nlr-patience = %ld\nlr-cooldown = %ld\nmin-lr = %.17g\n"
             "weight-decay = %.17g\nclip = %.17g\nval-frac = %.17g\ntest-frac = %.17g\n"
             "checkpoint-every = %ld%s\nkeep = %ld\ndeterministic = %s\nmicro-batch = %ld\n",
             c->data, c->features, c->model, c->epochs, c->batch, c->lr, c->seed, c->split,
             c->patience, c->monitor, c->min_delta, c->lr_factor, c->lr_patience, c->lr_cooldown,
             c->min_lr, c->weight_decay, c->clip, c->val_frac, c->test_frac, c->checkpoint_every,
             c->checkpoint_batches ? "b" : "", c->keep, c->deterministic ? "true" : "false",
             c->micro_batch);
}

double dist_class_metrics(const int64_t conf[DSP_N_LABELS][DSP_N_LABELS],
                          double precision[DSP_N_LABELS], double recall[DSP_N_LABELS],
                          double f1[DSP_N_LABELS], double *macro_f1)
{
    int64_t total = 0, correct = 0;
    double mf = 0;
    for (int k = 0; k < DSP_N_LABELS; k++) {
        int64_t tp = conf[k][k], actual = 0, predicted = 0;
        for (int j = 0; j < DSP_N_LABELS; j++) {
            actual += conf[k][j];
            predicted += conf[j][k];
            total += conf[k][j];
        }
        correct += tp;
        precision[k] = predicted ? (double)tp / (double)predicted : 0;
        recall[k] = actual ? (double)tp / (double)actual : 0;
        double s = precision[k] + recall[k];
        f1[k] = s > 0 ? 2 * precision[k] * recall[k] / s : 0;
        mf += f1[k];
    }
    *macro_f1 = mf / DSP_N_LABELS;
    return total ? (double)correct / (double)total : 0;
}
