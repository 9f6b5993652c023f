/* cmd_model.c: the commands that use a trained model, without MPI:
 *   ser predict --model CKPT FILE_OR_DIR...   per-file emotion probabilities as CSV
 *   ser export CKPT --npz OUT.npz             weights with PyTorch state_dict names + stats
 *   ser info CKPT                             what a checkpoint holds
 * predict uses exactly the training pipeline: the checkpoint's feature parameters, the same
 * loader and MFCC code, the training set's normalisation stored in the checkpoint.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "mpi/checkpoint.h"
#include "mpi/cli.h"
#include "mpi/commands.h"
#include "dsp/features.h"
#include "mpi/npy.h"
#include "dsp/scan.h"

/* ---- collecting audio files ---- */

struct paths {
    char **v;
    size_t n, cap;
};

static int paths_push(struct paths *p, const char *s)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 64;
        char **v = realloc(p->v, cap * sizeof *v);
        if (!v) return -1;
        p->v = v;
        p->cap = cap;
    }
    size_t l = strlen(s) + 1;
    if (!(p->v[p->n] = malloc(l))) return -1;
    memcpy(p->v[p->n++], s, l);
    return 0;
}

static void paths_free(struct paths *p)
{
    for (size_t i = 0; i < p->n; i++) free(p->v[i]);
    free(p->v);
}

static int is_audio_name(const char *name)
{
    static const char *ext[] = {".wav", ".flac", ".ogg", ".oga", ".aiff", ".aif", ".au"};
    const char *dot = strrchr(name, '.');
    if (!dot) return 0;
    for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++)
        if (strcasecmp(dot, ext[i]) == 0) return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Audio files under dir, recursively; hidden entries and directory symlinks are skipped. */
static int walk(const char *dir, struct paths *out, int depth)
{
    if (depth > 64) return 0;
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "ser predict: %s: cannot open directory: %s\n", dir, strerror(errno));
        return 1;
    }
    struct paths here = {0};
    struct dirent *de;
    int bad = 0;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        if (paths_push(&here, de->d_name)) bad = 1;
    }
    closedir(d);
    qsort(here.v, here.n, sizeof *here.v, cmp_str);
    for (size_t i = 0; i < here.n; i++) {
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, here.v[i]);
        struct stat lst, st;
        if (lstat(path, &lst) != 0 || stat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            if (!S_ISLNK(lst.st_mode)) bad |= walk(path, out, depth + 1);
        } else if (S_ISREG(st.st_mode) && is_audio_name(here.v[i])) {
            if (paths_push(out, path)) bad = 1;
        }
    }
    paths_free(&here);
    return bad;
}

/* ---- predict ---- */

struct predict_cli {
    const char *model;
};

static const struct cli_opt predict_opts[] = {
    {"model", "CKPT", "trained model (RUN_DIR/best.ckpt)"},
};

static int predict_apply(void *ctx, int i, const char *arg, struct err *e)
{
    (void)i, (void)e;
    ((struct predict_cli *)ctx)->model = arg;
    return 0;
}

int cmd_predict(int argc, char **argv)
{
    struct predict_cli c = {0};
    int pos;
    const char *usage = "ser predict --model CKPT FILE_OR_DIR...";
    int r = cli_parse(argc, argv, usage,
                      "Prints, for every audio file (directories are searched recursively), the "
                      "predicted emotion and\nthe class probabilities as CSV. Files that cannot "
                      "be read are reported on stderr; the\nothers still print (exit status 1 "
                      "if any file failed).",
                      predict_opts, 1, predict_apply, &c, &pos);
    if (r == CLI_HELP) return 0;
    if (r == CLI_ERROR) return 1;
    if (!c.model || pos >= argc) {
        fprintf(stderr, "ser predict: %s\nusage: %s\n",
                !c.model ? "--model is required" : "no input files", usage);
        return 1;
    }
    struct err e = {{0}};
    struct dist_ckpt ck = {0};
    struct nn_model *m = NULL;
    struct dsp_features *fx = NULL;
    struct paths files = {0};
    float *x = NULL;
    int status = 0;
    if (dist_ckpt_load(&ck, c.model, &e) || dist_ckpt_model(&ck, 1, &m, &e) ||
        dsp_features_create(&fx, &ck.params, &e)) {
        fprintf(stderr, "ser predict: %s\n", e.msg);
        status = 1;
        goto out;
    }
    size_t C = dsp_features_n_mfcc(fx), T = dsp_features_frames(fx);
    if (C != ck.in_channels || T != ck.in_len) {
        fprintf(stderr,
                "ser predict: %s: model expects %zu x %zu features, the pipeline gives "
                "%zu x %zu\n",
                c.model, ck.in_channels, ck.in_len, C, T);
        status = 1;
        goto out;
    }
    for (int i = pos; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
            status |= walk(argv[i], &files, 0);
        else if (paths_push(&files, argv[i]))
            status = 1;
    }
    x = malloc(C * T * sizeof *x);
    if (!x) {
        status = 1;
        goto out;
    }
    printf("path,label");
    for (int k = 0; k < DSP_N_LABELS; k++) printf(",p_%s", dsp_label_names[k]);
    printf("\n");
    for (size_t i = 0; i < files.n; i++) {
        struct err fe = {{0}};
        struct dsp_audio_info info;
        if (dsp_audio_probe(files.v[i], &info, &fe) || dsp_features_file(fx, files.v[i], x, &fe)) {
            fprintf(stderr, "ser predict: %s\n", fe.msg);
            status = 1;
            continue;
        }
        for (size_t ch = 0; ch < C; ch++)
            for (size_t t = 0; t < T; t++)
                x[ch * T + t] = (x[ch * T + t] - ck.mean[ch]) / ck.std[ch];
        float p[DSP_N_LABELS];
        nn_model_forward(m, x, NULL, 1, NULL, p);
        int best = 0;
        for (int k = 1; k < DSP_N_LABELS; k++)
            if (p[k] > p[best]) best = k;
        /* RFC 4180 quoting when the path needs it. */
        const char *s = files.v[i];
        if (strpbrk(s, ",\"\n")) {
            putchar('"');
            for (; *s; s++) {
                if (*s == '"') putchar('"');
                putchar(*s);
            }
            putchar('"');
        } else {
            fputs(s, stdout);
        }
        printf(",%s", dsp_label_names[best]);
        for (int k = 0; k < DSP_N_LABELS; k++) printf(",%.9g", p[k]);
        printf("\n");
    }
out:
    free(x);
    paths_free(&files);
    dsp_features_free(fx);
    nn_model_free(m);
    dist_ckpt_free(&ck);
    return status;
}

/* ---- export ---- */

struct export_cli {
    const char *npz;
};

static const struct cli_opt export_opts[] = {
    {"npz", "OUT.npz",
     "write the weights (PyTorch state_dict names and shapes), feature_mean, "
     "feature_std and labels"},
};

static int export_apply(void *ctx, int i, const char *arg, struct err *e)
{
    (void)i, (void)e;
    ((struct export_cli *)ctx)->npz = arg;
    return 0;
}

int cmd_export(int argc, char **argv)
{
    struct export_cli c = {0};
    int pos;
    const char *usage = "ser export CKPT --npz OUT.npz";
    int r = cli_parse(argc, argv, usage,
                      "Exports a checkpoint's weights as NumPy arrays named like the PyTorch "
                      "module's state_dict\n(see README: loading them into torch).",
                      export_opts, 1, export_apply, &c, &pos);
    if (r == CLI_HELP) return 0;
    if (r == CLI_ERROR) return 1;
    if (pos != argc - 1 || !c.npz) {
        fprintf(stderr, "ser export: %s\nusage: %s\n",
                !c.npz ? "--npz is required" : "exactly one checkpoint expected", usage);
        return 1;
    }
    struct err e = {{0}};
    struct dist_ckpt ck = {0};
    struct nn_model *m = NULL;
    struct dist_npy_array *a = NULL;
    int status = 0;
    if (dist_ckpt_load(&ck, argv[pos], &e) || dist_ckpt_model(&ck, 1, &m, &e)) {
        fprintf(stderr, "ser export: %s\n", e.msg);
        status = e.msg[0] && strstr(e.msg, "cannot open") ? 2 : 1;
        goto out;
    }
    size_t nt = nn_model_ntensors(m);
    a = calloc(nt + 3, sizeof *a);
    if (!a) {
        status = 1;
        goto out;
    }
    for (size_t i = 0; i < nt; i++) {
        const struct nn_tensor *t = nn_model_tensor(m, i);
        a[i].name = t->name;
        a[i].dtype = "<f4";
        a[i].ndim = t->ndim;
        for (int k = 0; k < t->ndim; k++) a[i].shape[k] = t->shape[k];
        a[i].data = ck.weights + t->offset;
    }
    a[nt] = (struct dist_npy_array){"feature_mean", "<f4", 1, {ck.in_channels}, ck.mean};
    a[nt + 1] = (struct dist_npy_array){"feature_std", "<f4", 1, {ck.in_channels}, ck.std};
    a[nt + 2] = (struct dist_npy_array){"labels", "<U", 1, {DSP_N_LABELS}, dsp_label_names};
    if (dist_npz_write(c.npz, nt + 3, a, &e)) {
        fprintf(stderr, "ser export: %s\n", e.msg);
        status = 2;
    }
out:
    free(a);
    nn_model_free(m);
    dist_ckpt_free(&ck);
    return status;
}

/* ---- info ---- */

int cmd_info(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: ser info CKPT\n\nPrints what a checkpoint holds (model, training state, "
               "metrics, tensors) without\nloading any data.\n");
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "ser info: exactly one checkpoint expected\nusage: ser info CKPT\n");
        return 1;
    }
    struct err e = {{0}};
    struct dist_ckpt ck = {0};
    struct nn_model *m = NULL;
    if (dist_ckpt_load(&ck, argv[1], &e) || dist_ckpt_model(&ck, 1, &m, &e)) {
        fprintf(stderr, "ser info: %s\n", e.msg);
        dist_ckpt_free(&ck);
        return strstr(e.msg, "cannot open") ? 2 : 1;
    }
    struct stat st;
    stat(argv[1], &st);
    printf("checkpoint   %s (%lld bytes, written by ser %s)\n", argv[1], (long long)st.st_size,
           ck.version);
    printf("model        %s\n", ck.spec);
    printf("input        %zu x %zu MFCC (sr %d, n_fft %d, hop %d, %d mels; offset %g s, "
           "duration %g s)\n",
           ck.in_channels, ck.in_len, ck.params.load.sample_rate, ck.params.mfcc.n_fft,
           ck.params.mfcc.hop, ck.params.mfcc.n_mels, ck.params.load.offset_s,
           ck.params.load.duration_s);
    printf("parameters   %zu in %zu tensors\n", ck.nparams, nn_model_ntensors(m));
    printf("position     epoch %lld done, batch %lld; Adam step %llu, lr %g\n", (long long)ck.epoch,
           (long long)ck.batch, (unsigned long long)ck.adam_t, ck.lr);
    printf("state        %s%s\n", ck.adam_m ? "optimizer moments" : "weights only",
           ck.best ? ", best weights" : "");
    printf("split        %s, seed %lld\n", ck.split, (long long)ck.seed);
    printf("early stop   best %s %.6g at epoch %d, %d epoch%s without improvement (patience %d)\n",
           ck.stopper.mode_max ? "val_accuracy" : "val_loss", ck.stopper.best,
           ck.stopper.best_epoch + 1, ck.stopper.wait, ck.stopper.wait == 1 ? "" : "s",
           ck.stopper.patience);
    if (ck.n_hist) {
        printf("history      epoch  train_loss  train_acc  val_loss  val_acc  lr\n");
        for (size_t i = 0; i < ck.n_hist; i++) {
            const double *h = ck.hist + i * DIST_H_COLS;
            printf("             %5zu  %10.4f  %9.4f  %8.4f  %7.4f  %.3g\n", i + 1,
                   h[DIST_H_TRAIN_LOSS], h[DIST_H_TRAIN_ACC], h[DIST_H_VAL_LOSS], h[DIST_H_VAL_ACC],
                   h[DIST_H_LR]);
        }
    }
    printf("tensors\n");
    for (size_t i = 0; i < nn_model_ntensors(m); i++) {
        const struct nn_tensor *t = nn_model_tensor(m, i);
        printf("  %-22s [", t->name);
        for (int k = 0; k < t->ndim; k++) printf("%s%zu", k ? ", " : "", t->shape[k]);
        printf("]\n");
    }
    nn_model_free(m);
    dist_ckpt_free(&ck);
    return 0;
}
