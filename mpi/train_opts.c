/* train_opts.c: the options of `ser train`: one table for the command line, --config files,
 * --help, the defaults and config.txt (see cli.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/dataset.h"
#include "mpi/memory.h"
#include "mpi/train.h"
#include "nn/model.h"

#define F(f) CLI_FIELD(struct dist_train_cfg, f)

/* --checkpoint-every N (epochs) or Nb (batches). */
static int every_parse(void *cfg, const struct cli_opt *o, const char *arg, struct err *e)
{
    struct dist_train_cfg *c = cfg;
    char num[32];
    size_t l = strlen(arg);
    if (l == 0 || l >= sizeof num)
        return err_set(e, "--%s: expected N or Nb, got '%s'", o->name, arg);
    memcpy(num, arg, l + 1);
    int batches = num[l - 1] == 'b';
    if (batches) num[l - 1] = 0;
    char *end;
    long v = strtol(num, &end, 10);
    if (end == num || *end || v < 1 || v > 100000000)
        return err_set(e, "--%s: expected N or Nb with N in [1, 100000000], got '%s'", o->name,
                       arg);
    c->checkpoint_every = v;
    c->checkpoint_batches = batches;
    return 0;
}

static void every_show(const void *cfg, const struct cli_opt *o, char *buf, size_t n)
{
    const struct dist_train_cfg *c = cfg;
    (void)o;
    snprintf(buf, n, "%ld%s", c->checkpoint_every, c->checkpoint_batches ? "b" : "");
}

/* --max-memory SIZE (bytes, K, M, G, T) or auto. */
static int memory_parse(void *cfg, const struct cli_opt *o, const char *arg, struct err *e)
{
    struct dist_train_cfg *c = cfg;
    struct err sub = {0};
    if (strcmp(arg, "auto") == 0) return c->max_memory = 0, 0;
    if (dist_parse_bytes(arg, &c->max_memory, &sub))
        return err_set(e, "--%s: %s", o->name, sub.msg);
    return 0;
}

static void memory_show(const void *cfg, const struct cli_opt *o, char *buf, size_t n)
{
    const struct dist_train_cfg *c = cfg;
    (void)o;
    if (c->max_memory > 0)
        snprintf(buf, n, "%.0f", c->max_memory);
    else
        snprintf(buf, n, "auto");
}

/* --spec-augment F,T,NF,NT or off. */
static int specaug_parse(void *cfg, const struct cli_opt *o, const char *arg, struct err *e)
{
    struct nn_specaug *sa = &((struct dist_train_cfg *)cfg)->spec_augment;
    long v[4];
    int used = 0;
    if (strcmp(arg, "off") == 0) return memset(sa, 0, sizeof *sa), 0;
    if (sscanf(arg, "%ld,%ld,%ld,%ld%n", &v[0], &v[1], &v[2], &v[3], &used) != 4 || arg[used] ||
        v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0 || v[0] > 100000 || v[1] > 100000 ||
        v[2] > 100 || v[3] > 100)
        return err_set(e,
                       "--%s: expected F,T,NF,NT (widths F, T in [0, 100000], mask counts NF, "
                       "NT in [0, 100]) or off, got '%s'",
                       o->name, arg);
    *sa = (struct nn_specaug){v[0], v[1], v[2], v[3]};
    return 0;
}

static void specaug_show(const void *cfg, const struct cli_opt *o, char *buf, size_t n)
{
    const struct nn_specaug *sa = &((const struct dist_train_cfg *)cfg)->spec_augment;
    (void)o;
    if (sa->f || sa->t || sa->nf || sa->nt)
        snprintf(buf, n, "%ld,%ld,%ld,%ld", sa->f, sa->t, sa->nf, sa->nt);
    else
        snprintf(buf, n, "off");
}

/* Options that bound one another. */
static int train_check(const void *cfg, struct err *e)
{
    const struct dist_train_cfg *c = cfg;
    if (c->deterministic && c->micro_batch > c->batch)
        return err_set(e,
                       "--micro-batch %ld is larger than --batch-size %ld (a micro-batch is "
                       "a part of a global batch)",
                       c->micro_batch, c->batch);
    if (c->val_frac + c->test_frac >= 0.95)
        return err_set(e, "--val-frac %g and --test-frac %g leave less than 5%% for training",
                       c->val_frac, c->test_frac);
    if (c->cv[0] && strcmp(c->cv, "loso") != 0) {
        char *end;
        long k = strtol(c->cv, &end, 10);
        if (*end || k < 2 || k > 1000)
            return err_set(e, "--cv: expected loso or a number of folds in [2, 1000], got '%s'",
                           c->cv);
    }
    if (c->cv[0] && strcmp(c->split, "random") != 0)
        return err_set(e, "--cv and --split %s: a cross-validation makes its own splits", c->split);
    if (strcmp(c->feature_type, "mfcc") == 0 && c->n_mfcc > c->n_mels)
        return err_set(e, "--n-mfcc %ld exceeds --n-mels %ld: the MFCCs are a DCT of the mel bands",
                       c->n_mfcc, c->n_mels);
    if (c->min_lr > c->lr)
        return err_set(e, "--min-lr %g is larger than --lr %g", c->min_lr, c->lr);
    return 0;
}

/* clang-format off */
static const struct cli_opt opts[] = {
    {"data", CLI_LIST, F(data), "data/tess-standin", 0, 0, NULL, "DIR",
     "corpus directory or CSV manifest; repeat for several (TESS, RAVDESS, CREMA-D, SAVEE, "
     "EmoDB are recognised by their file names)", NULL, NULL, 0},
    {"corpus", CLI_STRING, F(corpus), "auto", 0, 0, "auto|tess|ravdess|cremad|savee|emodb",
     "NAME", "read every file with this corpus's naming instead of recognising each", NULL,
     NULL, 0},
    {"ravdess-song", CLI_FLAG, F(ravdess_song), NULL, 0, 0, NULL, NULL,
     "also use RAVDESS's song files (vocal channel 02)", NULL, NULL, 0},
    {"labels", CLI_STRING, F(labels), "angry,disgust,fear,happy,neutral,sad,surprise", 0, 0, NULL,
     "LIST", "labels to train on; files of others are left out (calm, boredom only if named)",
     NULL, NULL, 0},
    {"label-map", CLI_STRING, F(label_map), NULL, 0, 0, NULL, "A=B,...",
     "read label A as B before --labels applies (e.g. calm=neutral,boredom=neutral)", NULL, NULL,
     0},
    {"offset", CLI_DOUBLE, F(offset), "0.5", 0, 1e6, NULL, "SECONDS",
     "start of the analysed clip in each file", NULL, NULL, 0},
    {"duration", CLI_DOUBLE, F(duration), "3", 1e-3, 3600, NULL, "SECONDS",
     "clip length; shorter clips are zero-padded", NULL, NULL, 0},
    {"sr", CLI_LONG, F(sr), "22050", 1000, 768000, NULL, "HZ", "analysis sample rate", NULL,
     NULL, 0},
    {"n-mfcc", CLI_LONG, F(n_mfcc), "40", 1, 128, NULL, "N", "MFCC coefficients", NULL, NULL, 0},
    DIST_FEATURE_OPTS(struct dist_train_cfg),
    {"norm", CLI_STRING, F(norm), "global", 0, 0, "global|speaker|utterance", "KIND",
     "input normalisation per coefficient: global (training set's mean/std), speaker (each "
     "speaker's own files, test speakers' too: predict needs --norm-from) or utterance (each "
     "file's own frames)", NULL, NULL, 0},
    {"out", CLI_STRING, F(out), NULL, 0, 0, NULL, "RUN_DIR",
     "run directory (default: results/<date>-<time>)", NULL, NULL, CLI_RUN_LOCAL},
    {"features", CLI_STRING, F(features), NULL, 0, 0, NULL, "FILE",
     "feature cache (default: DATA.features.serf; several --data: FIRST.K-sources-HASH.features.serf)", NULL, NULL, 0},
    {"model", CLI_STRING, F(model), NN_DEFAULT_SPEC, 0, 0, NULL, "SPEC",
     "model spec or a file holding one", NULL, NULL, 0},
    {"epochs", CLI_LONG, F(epochs), "100", 1, 1000000, NULL, "N",
     "total epochs at most, also when resuming", NULL, NULL, 0},
    {"batch-size", CLI_LONG, F(batch), "32", 1, 65536, NULL, "N",
     "global batch size over all ranks", NULL, NULL, 0},
    {"lr", CLI_DOUBLE, F(lr), "0.001", 1e-12, 10, NULL, "X", "Adam learning rate", NULL, NULL, 0},
    {"seed", CLI_LONG, F(seed), "42", 0, 9.2e18, NULL, "N",
     "seed of split, init, shuffle and dropout", NULL, NULL, 0},
    {"threads", CLI_LONG, F(threads), "1", 1, 1024, NULL, "N", "OpenBLAS threads per rank",
     NULL, NULL, CLI_RUN_LOCAL},
    {"split", CLI_STRING, F(split), "random", 0, 0, "random|speaker:|corpus:", "KIND",
     "random (stratified by corpus, speaker, label), speaker:A[,B...] (their files are the test "
     "set) or corpus:NAME (train on the others, test on NAME)", NULL, NULL, 0},
    {"cv", CLI_STRING, F(cv), NULL, 0, 0, NULL, "loso|K",
     "cross-validation: leave-one-speaker-out, or K folds grouped by speaker; one full "
     "training per fold in RUN_DIR/fold-NNN/", NULL, NULL, 0},
    {"cv-group", CLI_LONG, F(cv_group), "1", 1, 100000, NULL, "N",
     "speakers held out together in each --cv loso fold", NULL, NULL, 0},
    {"val-speakers", CLI_LONG, F(val_speakers), "0", 0, 100000, NULL, "N",
     "validate on N whole training speakers instead of a fraction of every speaker's files",
     NULL, NULL, 0},
    {"ranks-per-fold", CLI_LONG, F(ranks_per_fold), "0", 0, 1000000, NULL, "R",
     "run --cv folds in parallel on groups of R ranks (0: every fold on all ranks)", NULL, NULL,
     CLI_RUN_LOCAL},
    {"class-weight", CLI_STRING, F(class_weight), "none", 0, 0, "none|balanced", "KIND",
     "balanced: weight each class by n/(k*count) of the training set in the loss", NULL, NULL,
     0},
    {"patience", CLI_LONG, F(patience), "10", 1, 1000000, NULL, "N",
     "early stopping: epochs without improvement", NULL, NULL, 0},
    {"monitor", CLI_STRING, F(monitor), "val_loss", 0, 0, "val_loss|val_accuracy|val_uar",
     "METRIC", "val_loss, val_accuracy or val_uar", NULL, NULL, 0},
    {"min-delta", CLI_DOUBLE, F(min_delta), "0", 0, 1e9, NULL, "X",
     "smallest change that counts as an improvement", NULL, NULL, 0},
    {"lr-factor", CLI_DOUBLE, F(lr_factor), "0.5", 1e-6, 1, NULL, "X",
     "ReduceLROnPlateau factor; 1 disables it", NULL, NULL, 0},
    {"lr-patience", CLI_LONG, F(lr_patience), "5", 1, 1000000, NULL, "N",
     "ReduceLROnPlateau patience in epochs", NULL, NULL, 0},
    {"lr-cooldown", CLI_LONG, F(lr_cooldown), "0", 0, 1000000, NULL, "N",
     "ReduceLROnPlateau cooldown in epochs", NULL, NULL, 0},
    {"min-lr", CLI_DOUBLE, F(min_lr), "1e-05", 0, 10, NULL, "X", "ReduceLROnPlateau lower bound",
     NULL, NULL, 0},
    {"weight-decay", CLI_DOUBLE, F(weight_decay), "0", 0, 10, NULL, "X",
     "decoupled weight decay, AdamW", NULL, NULL, 0},
    {"clip", CLI_DOUBLE, F(clip), "0", 0, 1e9, NULL, "X",
     "clip the global gradient norm at X; 0 disables", NULL, NULL, 0},
    {"label-smoothing", CLI_DOUBLE, F(label_smoothing), "0", 0, 1, NULL, "X",
     "train against (1-X) one-hot + X uniform targets (PyTorch's label_smoothing, also with "
     "--class-weight); 0 disables", NULL, NULL, 0},
    {"mixup", CLI_DOUBLE, F(mixup), "0", 0, 1000, NULL, "ALPHA",
     "mixup: train on lam*x_i + (1-lam)*x_j of two samples of a batch and their mixed targets, "
     "lam ~ Beta(ALPHA, ALPHA) per sample; 0 disables", NULL, NULL, 0},
    {"spec-augment", CLI_CUSTOM, F(spec_augment), "off", 0, 0, NULL, "F,T,NF,NT",
     "SpecAugment of training samples: NF frequency masks of width 0..F and NT time masks of "
     "width 0..T frames, set to 0 (the mean); off disables", specaug_parse, specaug_show, 0},
    {"val-frac", CLI_DOUBLE, F(val_frac), "0.15", 0, 0.9, NULL, "X", "validation fraction",
     NULL, NULL, 0},
    {"test-frac", CLI_DOUBLE, F(test_frac), "0.15", 0, 0.9, NULL, "X", "test fraction", NULL,
     NULL, 0},
    {"resume", CLI_STRING, F(resume), NULL, 0, 0, NULL, "CKPT",
     "continue a run from CKPT, or 'auto': the newest valid checkpoint of RUN_DIR (none: "
     "start)", NULL, NULL, CLI_RUN_LOCAL},
    {"checkpoint-every", CLI_CUSTOM, F(checkpoint_every), "1", 0, 0, NULL, "N[b]",
     "write RUN_DIR/last.ckpt every N epochs, or every N batches with a 'b' suffix",
     every_parse, every_show, 0},
    {"keep", CLI_LONG, F(keep), "0", 0, 1000000, NULL, "K",
     "also keep the K newest epoch checkpoints epoch-NNNN.ckpt", NULL, NULL, 0},
    {"deterministic", CLI_FLAG, F(deterministic), NULL, 0, 0, NULL, NULL,
     "bit-identical weights for any number of ranks (fixed micro-batches, exact integer "
     "allreduce, 1 thread)", NULL, NULL, 0},
    {"micro-batch", CLI_LONG, F(micro_batch), "8", 1, 65536, NULL, "M",
     "samples per micro-batch with --deterministic", NULL, NULL, 0},
    {"max-memory", CLI_CUSTOM, F(max_memory), "auto", 0, 0, NULL, "SIZE",
     "refuse a run estimated to need more memory per rank (e.g. 8G; auto: 80% of physical "
     "memory / ranks on the node)", memory_parse, memory_show, CLI_RUN_LOCAL},
    {"overwrite", CLI_FLAG, F(overwrite), NULL, 0, 0, NULL, NULL,
     "start over in RUN_DIR even if it holds a resumable run (its checkpoints are deleted) or "
     "files that are not a ser run's",
     NULL, NULL, CLI_RUN_LOCAL},
    {"quiet", CLI_FLAG, F(quiet), NULL, 0, 0, NULL, NULL, "only errors and the final summary",
     NULL, NULL, CLI_RUN_LOCAL},
    {"preset", CLI_STRING, F(preset), NULL, 0, 0, "seed|robust", "NAME",
     "start from a preset's settings (listed below); other options override it", NULL, NULL,
     CLI_NO_CONFIG},
    {"config", CLI_STRING, F(config), NULL, 0, 0, NULL, "FILE",
     "read options from FILE (key = value lines, same names; command-line options win)", NULL,
     NULL, CLI_NO_CONFIG},
};
/* clang-format on */

/* --preset: seed = the defaults (the reference notebook's recipe); robust = the recipe
 * measured best for unheard speakers (results/generalise.md). */
static const struct cli_preset presets[] = {
    {"seed", "the seed notebook's recipe (the defaults)",
     "model = " NN_DEFAULT_SPEC
     "\nnorm = global\nmonitor = val_loss\nepochs = 100\npatience = 10\n"},
    {"robust", "for speakers the model has never heard (results/generalise.md)",
     "model = " SER_ROBUST_SPEC "\nnorm = speaker\nmonitor = val_uar\nepochs = 30\n"
     "patience = 6\n"},
};

const struct cli_table dist_train_options = {
    "train",
    "mpirun -np N ser train [--data DIR] [--out RUN_DIR] [options]",
    "Trains the CNN-LSTM on MFCC features with data parallelism: every batch's gradient is\n"
    "summed over the ranks with one MPI_Allreduce. Validates every epoch, stops early, keeps\n"
    "the best weights (RUN_DIR/best.ckpt), evaluates the test set and writes "
    "RUN_DIR/report.md.\n"
    "SIGTERM, SIGINT or SIGUSR1 (SLURM's warning signal) make every rank finish its batch,\n"
    "rank 0 writes RUN_DIR/last.ckpt and all exit with status 75; --resume auto continues.\n"
    "Exit status: 0 done, 1 bad usage or input, 2 I/O or checkpoint error, 3 NaN/Inf,\n"
    "75 stopped by a signal after a checkpoint.",
    opts,
    sizeof opts / sizeof opts[0],
    train_check,
    presets,
    sizeof presets / sizeof presets[0],
};
