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
#include "mpi/predictor.h"
#include "mpi/state.h"

/* ---- the inputs of predict ---- */

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
    struct predict_paths files = {0};
    int status = 0;
    if (predictor_open(&p, c.model, &c.norm_from, &e) ||
        predict_collect(argc - pos, argv + pos, &files, &e)) {
        fprintf(stderr, "ser predict: %s\n", e.msg);
        predictor_close(&p);
        predict_paths_free(&files);
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
        if (predictor_file(&p, files.v[i], prob, &fe)) {
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
    predict_paths_free(&files);
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
