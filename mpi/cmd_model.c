/* cmd_model.c: the commands that use a trained model, without MPI:
 *   ser predict --model CKPT FILE_OR_DIR...   per-file emotion probabilities as CSV
 *   ser export CKPT --npz OUT.npz             weights with PyTorch state_dict names + stats
 *   ser info CKPT                             what a checkpoint holds
 * predict uses exactly the training pipeline: the checkpoint's feature parameters, the same
 * loader and MFCC code, and the same normalisation and argmax (mpi/classify.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "dsp/features.h"
#include "dsp/scan.h"
#include "mpi/classify.h"
#include "mpi/cli.h"
#include "mpi/commands.h"
#include "mpi/csv.h"
#include "mpi/npy.h"
#include "mpi/state.h"

/* ---- the inputs of predict ---- */

struct paths {
    char **v;
    size_t n, cap;
    size_t n_skipped;
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

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int walk_file(void *ctx, const char *path, const char *name, const char *folder,
                     size_t folder_len)
{
    (void)name, (void)folder, (void)folder_len;
    return paths_push(ctx, path);
}

static int walk_skip(void *ctx, const char *path, const char *reason)
{
    ((struct paths *)ctx)->n_skipped++;
    fprintf(stderr, "ser predict: skipped %s: %s\n", path, reason);
    return 0;
}

/* Every argument: a file as given, a directory's audio files sorted by path (dsp_walk). */
static int collect(int argc, char **argv, struct paths *files, struct err *e)
{
    for (int i = 0; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            struct paths here = {0};
            struct dsp_walk w = {walk_file, walk_skip, &here, 0, 0};
            int rc = dsp_walk(&w, argv[i]);
            files->n_skipped += here.n_skipped;
            if (here.n > 1) qsort(here.v, here.n, sizeof *here.v, cmp_str);
            for (size_t k = 0; rc == 0 && k < here.n; k++) rc = paths_push(files, here.v[k]);
            paths_free(&here);
            if (rc) return err_set(e, "out of memory");
        } else if (paths_push(files, argv[i])) {
            return err_set(e, "out of memory");
        }
    }
    return 0;
}

/* ---- predict ---- */

struct predict_cli {
    char model[4096];
    struct cli_list norm_from;
};

static const struct cli_opt predict_opts[] = {
    {"model", CLI_STRING, CLI_FIELD(struct predict_cli, model), NULL, 0, 0, NULL, "CKPT",
     "trained model (RUN_DIR/best.ckpt)", NULL, NULL, 0},
    {"norm-from", CLI_LIST, CLI_FIELD(struct predict_cli, norm_from), NULL, 0, 0, NULL,
     "DIR|FILE|MANIFEST",
     "a model trained with --norm speaker: audio of the speaker being predicted (repeatable; "
     "pooled as one speaker); their features' per-coefficient mean and std normalise the inputs, "
     "as training did with each speaker's files",
     NULL, NULL, 0},
};

static int predict_check(const void *cfg, struct err *e)
{
    return ((const struct predict_cli *)cfg)->model[0] ? 0 : err_set(e, "--model is required");
}

static const struct cli_table predict_table = {
    "predict",
    "ser predict --model CKPT [--norm-from DIR|FILE|MANIFEST]... FILE_OR_DIR...",
    "Prints, for every audio file (directories are searched recursively), the predicted emotion "
    "and\nthe class probabilities as CSV. Files that cannot be read are reported on stderr; the\n"
    "others still print (exit status 1 if any file failed, 2 if the output cannot be written).\n"
    "The inputs are normalised as the model was trained (ser info: norm.mode): global with the\n"
    "training set's statistics, utterance by each file's own, speaker by those of the\n"
    "--norm-from files (required then: a batch of the new speaker's audio).",
    predict_opts,
    sizeof predict_opts / sizeof predict_opts[0],
    predict_check,
    NULL,
    0};

/* The model and the feature pipeline of a checkpoint, and the statistics that normalise its
 * inputs: the checkpoint's (global), the --norm-from files' (speaker), or each file's own
 * (utterance, in predict_file). */
struct predictor {
    struct dist_state ck;
    struct nn_model *m;
    struct dsp_features *fx;
    float *x;
    size_t C, T;
    int mode;          /* enum dist_norm */
    float *mean, *std; /* [C] */
};

/* The audio files --norm-from names: directories searched as predict's inputs are, CSV
 * manifests read as `ser train --data` reads them, other paths taken as files; sorted by path
 * without repeats (the order training sums a speaker's files in). */
static int norm_paths(const struct cli_list *l, struct paths *files, struct err *e)
{
    for (int i = 0; i < l->n; i++) {
        const char *a = l->v[i];
        size_t len = strlen(a);
        struct stat st;
        if (len > 4 && strcasecmp(a + len - 4, ".csv") == 0 && stat(a, &st) == 0 &&
            S_ISREG(st.st_mode)) {
            struct dsp_corpus c = {0};
            struct dsp_scan_opts o;
            dsp_scan_default_opts(&o);
            o.validate = 0;
            int rc = dsp_scan(a, &o, &c, e);
            for (size_t k = 0; rc == 0 && k < c.n; k++)
                if (paths_push(files, c.items[k].path)) rc = err_set(e, "out of memory");
            for (size_t k = 0; rc == 0 && k < c.n_skipped; k++)
                fprintf(stderr, "ser predict: --norm-from: skipped %s: %s\n", c.skipped[k].path,
                        c.skipped[k].reason);
            dsp_corpus_free(&c);
            if (rc) return -1;
        } else if (collect(1, (char **)&a, files, e)) {
            return -1;
        }
    }
    if (files->n > 1) qsort(files->v, files->n, sizeof *files->v, cmp_str);
    size_t k = 0;
    for (size_t i = 0; i < files->n; i++)
        if (k && strcmp(files->v[k - 1], files->v[i]) == 0)
            free(files->v[i]);
        else
            files->v[k++] = files->v[i];
    files->n = k;
    return 0;
}

/* --norm speaker: the statistics of the --norm-from files' features, computed as training
 * computes a speaker's (dist_norm_stats over the files in path order). */
static int speaker_stats(struct predictor *p, const struct cli_list *from, struct err *e)
{
    struct paths files = {0};
    size_t dim = p->C * p->T, n = 0;
    float *x = NULL;
    int rc = norm_paths(from, &files, e);
    if (rc == 0 && !(x = malloc((files.n ? files.n : 1) * dim * sizeof *x)))
        rc = err_set(e, "out of memory for the features of %zu --norm-from files", files.n);
    for (size_t i = 0; rc == 0 && i < files.n; i++) {
        struct err fe = {0};
        if (dsp_features_file(p->fx, files.v[i], x + n * dim, &fe) == 0)
            n++;
        else
            fprintf(stderr, "ser predict: --norm-from: skipped %s\n", fe.msg);
    }
    if (rc == 0 && n == 0) rc = err_set(e, "--norm-from: no readable audio file");
    if (rc == 0) dist_norm_stats(x, dim, NULL, n, p->C, p->T, p->mean, p->std);
    free(x);
    paths_free(&files);
    return rc;
}

static int predictor_open(struct predictor *p, const char *path, const struct cli_list *from,
                          struct err *e)
{
    memset(p, 0, sizeof *p);
    if (dist_state_load(&p->ck, path, NULL, e) || dist_state_model(&p->ck, 1, &p->m, e) ||
        dsp_features_create(&p->fx, &p->ck.params, e))
        return -1;
    p->C = dsp_features_rows(p->fx);
    p->T = dsp_features_frames(p->fx);
    if ((int64_t)p->C != p->ck.in_channels || (int64_t)p->T != p->ck.in_len)
        return err_set(e, "%s: model expects %lld x %lld features, the pipeline gives %zu x %zu",
                       path, (long long)p->ck.in_channels, (long long)p->ck.in_len, p->C, p->T);
    p->mode = dist_norm_mode(p->ck.norm);
    if (p->mode == DIST_NORM_SPEAKER && from->n == 0)
        return err_set(e,
                       "%s was trained with --norm speaker: give --norm-from DIR|FILE|MANIFEST "
                       "with audio of the speaker to predict (their features' mean and std "
                       "normalise the inputs)",
                       path);
    if (p->mode != DIST_NORM_SPEAKER && from->n > 0)
        return err_set(e,
                       "--norm-from applies to a model trained with --norm speaker; %s was "
                       "trained with --norm %s",
                       path, p->ck.norm);
    p->x = malloc(p->C * p->T * sizeof *p->x);
    p->mean = malloc(2 * p->C * sizeof *p->mean);
    if (!p->x || !p->mean) return err_set(e, "out of memory");
    p->std = p->mean + p->C;
    memcpy(p->mean, p->ck.mean, p->C * sizeof *p->mean);
    memcpy(p->std, p->ck.std, p->C * sizeof *p->std);
    return p->mode == DIST_NORM_SPEAKER ? speaker_stats(p, from, e) : 0;
}

static void predictor_close(struct predictor *p)
{
    free(p->x);
    free(p->mean);
    dsp_features_free(p->fx);
    nn_model_free(p->m);
    dist_state_free(&p->ck);
}

/* Probabilities of one file. */
static int predict_file(struct predictor *p, const char *path, float *probs, struct err *e)
{
    struct dsp_audio_info info;
    if (dsp_audio_probe(path, &info, e) || dsp_features_file(p->fx, path, p->x, e)) return -1;
    if (p->mode == DIST_NORM_UTTERANCE)
        dist_norm_stats(p->x, p->C * p->T, NULL, 1, p->C, p->T, p->mean, p->std);
    dist_normalise(p->x, p->C, p->T, p->mean, p->std);
    if (nn_model_forward(p->m, p->x, NULL, 1, NULL, probs) != 0)
        return err_set(e, "%s: the model refused the input", path);
    return 0;
}

int cmd_predict(int argc, char **argv)
{
    struct predict_cli c;
    int pos;
    cli_defaults(&predict_table, &c);
    int r = cli_parse(&predict_table, argc, argv, &c, &pos);
    if (r != CLI_OK) return cli_exit_code(r);
    if (pos >= argc) {
        fprintf(stderr, "ser predict: no input files\nusage: %s\n", predict_table.usage);
        return SER_EXIT_INPUT;
    }
    struct err e = {0};
    struct predictor p;
    struct paths files = {0};
    int status = 0;
    if (predictor_open(&p, c.model, &c.norm_from, &e) ||
        collect(argc - pos, argv + pos, &files, &e)) {
        fprintf(stderr, "ser predict: %s\n", e.msg);
        predictor_close(&p);
        paths_free(&files);
        return err_exit_code(&e);
    }
    if (files.n_skipped) status = SER_EXIT_INPUT;
    struct dist_csv csv;
    dist_csv_stream(&csv, stdout);
    dist_csv_field(&csv, "path");
    dist_csv_field(&csv, "label");
    int K = p.ck.cls.n;
    for (int k = 0; k < K; k++) {
        char h[64];
        snprintf(h, sizeof h, "p_%s", p.ck.cls.name[k]);
        dist_csv_field(&csv, h);
    }
    dist_csv_end_row(&csv);
    for (size_t i = 0; i < files.n && !ferror(stdout); i++) {
        float prob[DSP_N_LABELS];
        struct err fe = {0};
        if (predict_file(&p, files.v[i], prob, &fe)) {
            fprintf(stderr, "ser predict: %s\n", fe.msg);
            status = SER_EXIT_INPUT;
            continue;
        }
        dist_csv_field(&csv, files.v[i]);
        dist_csv_field(&csv, p.ck.cls.name[dist_argmax(prob, (size_t)K)]);
        for (int k = 0; k < K; k++) dist_csv_number(&csv, prob[k]);
        dist_csv_end_row(&csv);
    }
    if (dist_csv_close(&csv, "standard output", &e)) {
        fprintf(stderr, "ser predict: %s\n", e.msg);
        status = SER_EXIT_IO;
    }
    predictor_close(&p);
    paths_free(&files);
    return status;
}

/* ---- export ---- */

struct export_cli {
    char npz[4096];
};

static const struct cli_opt export_opts[] = {
    {"npz", CLI_STRING, CLI_FIELD(struct export_cli, npz), NULL, 0, 0, NULL, "OUT.npz",
     "write the weights (PyTorch state_dict names and shapes), feature_mean, feature_std, "
     "feature_norm (global, speaker or utterance) and labels",
     NULL, NULL, 0},
};

static int export_check(const void *cfg, struct err *e)
{
    return ((const struct export_cli *)cfg)->npz[0] ? 0 : err_set(e, "--npz is required");
}

static const struct cli_table export_table = {
    "export",
    "ser export CKPT --npz OUT.npz",
    "Exports a checkpoint's weights as NumPy arrays named like the PyTorch module's "
    "state_dict\n(see README: loading them into torch).",
    export_opts,
    1,
    export_check,
    NULL,
    0};

static int export_npz(const struct dist_state *ck, const struct nn_model *m, const char *path,
                      struct err *e)
{
    size_t nt = nn_model_ntensors(m), nr = ck->running ? nn_model_nrunning_tensors(m) : 0;
    struct dist_npy_array *a = calloc(nt + nr + 4, sizeof *a);
    int64_t *counts = calloc(nr ? nr : 1, sizeof *counts);
    if (!a || !counts) {
        free(a), free(counts);
        return err_set(e, "out of memory");
    }
    for (size_t i = 0; i < nt + nr; i++) {
        const struct nn_tensor *t =
            i < nt ? nn_model_tensor(m, i) : nn_model_running_tensor(m, i - nt);
        const float *v = (i < nt ? ck->weights : ck->running) + t->offset;
        a[i].name = t->name;
        a[i].dtype = "<f4";
        a[i].ndim = t->ndim;
        for (int k = 0; k < t->ndim; k++) a[i].shape[k] = t->shape[k];
        a[i].data = v;
        if (i >= nt && strstr(t->name, "num_batches_tracked")) { /* int64 in PyTorch */
            counts[i - nt] = (int64_t)v[0];
            a[i].dtype = "<i8";
            a[i].data = &counts[i - nt];
        }
    }
    size_t C = (size_t)ck->in_channels, n = nt + nr;
    a[n] = (struct dist_npy_array){"feature_mean", "<f4", 1, {C}, ck->mean};
    a[n + 1] = (struct dist_npy_array){"feature_std", "<f4", 1, {C}, ck->std};
    a[n + 2] = (struct dist_npy_array){"labels", "<U", 1, {(size_t)ck->cls.n}, ck->cls.name};
    const char *norm[1] = {ck->norm};
    a[n + 3] = (struct dist_npy_array){"feature_norm", "<U", 0, {0}, norm};
    int rc = dist_npz_write(path, n + 4, a, e);
    free(a), free(counts);
    return rc;
}

int cmd_export(int argc, char **argv)
{
    struct export_cli c;
    int pos;
    cli_defaults(&export_table, &c);
    int r = cli_parse(&export_table, argc, argv, &c, &pos);
    if (r != CLI_OK) return cli_exit_code(r);
    if (pos != argc - 1) {
        fprintf(stderr, "ser export: exactly one checkpoint expected\nusage: %s\n",
                export_table.usage);
        return SER_EXIT_INPUT;
    }
    struct err e = {0};
    struct dist_state ck = {0};
    struct nn_model *m = NULL;
    int status = 0;
    if (dist_state_load(&ck, argv[pos], NULL, &e) || dist_state_model(&ck, 1, &m, &e) ||
        export_npz(&ck, m, c.npz, &e)) {
        fprintf(stderr, "ser export: %s\n", e.msg);
        status = err_exit_code(&e);
    }
    nn_model_free(m);
    dist_state_free(&ck);
    return status;
}

/* ---- info ---- */

static const struct cli_table info_table = {
    "info",
    "ser info CKPT",
    "Prints what a checkpoint holds (every field, the metric history, the tensors) without\n"
    "loading any data.",
    NULL,
    0,
    NULL,
    NULL,
    0};

int cmd_info(int argc, char **argv)
{
    int pos;
    int r = cli_parse(&info_table, argc, argv, NULL, &pos);
    if (r != CLI_OK) return cli_exit_code(r);
    if (pos != argc - 1) {
        fprintf(stderr, "ser info: exactly one checkpoint expected\nusage: %s\n", info_table.usage);
        return SER_EXIT_INPUT;
    }
    struct err e = {0};
    struct dist_state ck = {0};
    struct nn_model *m = NULL;
    int status = 0;
    if (dist_state_load(&ck, argv[pos], NULL, &e) || dist_state_model(&ck, 1, &m, &e)) {
        fprintf(stderr, "ser info: %s\n", e.msg);
        status = err_exit_code(&e);
    } else {
        struct stat st;
        printf("checkpoint %s (%lld bytes)\n", argv[pos],
               stat(argv[pos], &st) == 0 ? (long long)st.st_size : -1LL);
        dist_state_print(stdout, &ck, m);
        if (fflush(stdout) != 0 || ferror(stdout)) {
            fprintf(stderr, "ser info: cannot write to standard output: %s\n", strerror(errno));
            status = SER_EXIT_IO;
        }
    }
    nn_model_free(m);
    dist_state_free(&ck);
    return status;
}
