/* train.c: `ser train`, data-parallel training over MPI ranks.
 *
 * Every rank holds all features (dist_extract with all_ranks), the same split, the same
 * normalisation and the same weights. Each epoch's global shuffle comes from (seed, epoch);
 * global batches of --batch-size samples are cut from it, and rank r computes its contiguous
 * slice of every batch (dist_shard). Each rank backpropagates the SUM of its samples' losses
 * into the flat gradient buffer; one MPI_Allreduce(SUM) over that buffer per batch, then a
 * division by the global batch size (known to every rank), gives exactly the gradient of the
 * global batch's mean loss, also for uneven slices and the short last batch; every rank then
 * takes the same Adam step. Loss and accuracy sums are reduced once per epoch. Validation is
 * sharded the same way and reduced (loss sum, integer confusion matrix); rank 0 steps early
 * stopping and ReduceLROnPlateau and broadcasts the decision, so all ranks stop together and
 * every rank makes the same collective calls in the same order.
 */
#include "train.h"

#include <errno.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "adam.h"
#include "callbacks.h"
#include "checkpoint.h"
#include "cli.h"
#include "commands.h"
#include "extract.h"
#include "gemm.h"
#include "model.h"
#include "progress.h"
#include "report.h"
#include "shard.h"
#include "split.h"

#ifndef SER_VERSION
#define SER_VERSION "dev"
#endif

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
}

/* ---- options: one table for the command line and --config files ---- */

static const struct cli_opt train_opts[] = {
    {"data", "DIR", "corpus directory or CSV manifest (default: data/tess-standin)"},
    {"out", "RUN_DIR", "run directory (default: results/<date>-<time>)"},
    {"features", "FILE", "feature cache (default: <data>.features.serf)"},
    {"model", "SPEC", "model spec or a file holding one (default: the CNN-LSTM)"},
    {"epochs", "N", "total epochs at most (default: 100)"},
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
    case 0: return set_str(c->data, sizeof c->data, o, arg, e);
    case 1: return set_str(c->out, sizeof c->out, o, arg, e);
    case 2: return set_str(c->features, sizeof c->features, o, arg, e);
    case 3: return set_str(c->model, sizeof c->model, o, arg, e);
    case 4: return cli_long(o, arg, 1, 1000000, &c->epochs, e);
    case 5: return cli_long(o, arg, 1, 65536, &c->batch, e);
    case 6: return cli_double(o, arg, 1e-12, 10, &c->lr, e);
    case 7: return cli_long(o, arg, 0, 0x7fffffffffffffffL, &c->seed, e);
    case 8: return cli_long(o, arg, 1, 1024, &c->threads, e);
    case 9:
        if (strcmp(arg, "random") != 0 && strncmp(arg, "speaker:", 8) != 0)
            return err_set(e, "--split: expected random or speaker:NAME, got '%s'", arg);
        return set_str(c->split, sizeof c->split, o, arg, e);
    case 10: return cli_long(o, arg, 1, 1000000, &c->patience, e);
    case 11:
        if (strcmp(arg, "val_loss") != 0 && strcmp(arg, "val_accuracy") != 0)
            return err_set(e, "--monitor: expected val_loss or val_accuracy, got '%s'", arg);
        return set_str(c->monitor, sizeof c->monitor, o, arg, e);
    case 12: return cli_double(o, arg, 0, 1e9, &c->min_delta, e);
    case 13: return cli_double(o, arg, 1e-6, 1, &c->lr_factor, e);
    case 14: return cli_long(o, arg, 1, 1000000, &c->lr_patience, e);
    case 15: return cli_long(o, arg, 0, 1000000, &c->lr_cooldown, e);
    case 16: return cli_double(o, arg, 0, 10, &c->min_lr, e);
    case 17: return cli_double(o, arg, 0, 10, &c->weight_decay, e);
    case 18: return cli_double(o, arg, 0, 1e9, &c->clip, e);
    case 19: return cli_double(o, arg, 0, 0.9, &c->val_frac, e);
    case 20: return cli_double(o, arg, 0, 0.9, &c->test_frac, e);
    case 21: c->quiet = 1; return 0;
    case 22: return 0; /* applied before the command line, see cmd_train */
    }
    return err_set(e, "internal: option %d", i);
}

void dist_train_cfg_dump(const struct dist_train_cfg *c, char *buf, size_t n)
{
    snprintf(buf, n,
             "data = %s\nfeatures = %s\nmodel = %s\nepochs = %ld\nbatch-size = %ld\nlr = %.17g\n"
             "seed = %ld\nthreads = %ld\nsplit = %s\npatience = %ld\nmonitor = %s\n"
             "min-delta = %.17g\nlr-factor = %.17g\nlr-patience = %ld\nlr-cooldown = %ld\n"
             "min-lr = %.17g\nweight-decay = %.17g\nclip = %.17g\nval-frac = %.17g\n"
             "test-frac = %.17g\n",
             c->data, c->features, c->model, c->epochs, c->batch, c->lr, c->seed, c->threads,
             c->split, c->patience, c->monitor, c->min_delta, c->lr_factor, c->lr_patience,
             c->lr_cooldown, c->min_lr, c->weight_decay, c->clip, c->val_frac, c->test_frac);
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

/* ---- the run ---- */

struct run {
    MPI_Comm comm;
    int rank, size;
    struct dist_train_cfg cfg;
    struct dist_dataset ds;
    int *assign;
    size_t *idx[3], cnt[3];
    size_t dim;
    float mean[512], std[512];
    struct nn_model *model;
    struct nn_adam adam;
    float *best;
    float *xb;            /* [batch][dim] gathered inputs of this rank's slice */
    int *yb;
    uint64_t *ids;
    float *probs;         /* [batch][classes] */
    size_t *perm;
    double allreduce_s, compute_s;
};

static int argmax(const float *p, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (p[i] > p[best]) best = i;
    return (int)best;
}

/* Copies samples list[0..n) into r->xb / r->yb / r->ids. */
static void gather_inputs(struct run *r, const size_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        memcpy(r->xb + i * r->dim, r->ds.x + list[i] * r->dim, r->dim * sizeof(float));
        r->yb[i] = r->ds.label[list[i]];
        r->ids[i] = list[i];
    }
}

/* Sharded evaluation of subset s: reduced loss sum and confusion matrix on every rank. */
static void evaluate(struct run *r, int s, double *loss, int64_t conf[DSP_N_LABELS][DSP_N_LABELS])
{
    size_t b, e, B = (size_t)r->cfg.batch;
    dist_shard(r->cnt[s], r->size, r->rank, &b, &e);
    double lsum = 0;
    memset(conf, 0, sizeof(int64_t) * DSP_N_LABELS * DSP_N_LABELS);
    for (size_t i = b; i < e; i += B) {
        size_t n = e - i < B ? e - i : B;
        gather_inputs(r, r->idx[s] + i, n);
        double l = 0;
        nn_model_forward(r->model, r->xb, r->yb, n, &l, r->probs);
        lsum += l;
        for (size_t k = 0; k < n; k++)
            conf[r->yb[k]][argmax(r->probs + k * DSP_N_LABELS, DSP_N_LABELS)]++;
    }
    MPI_Allreduce(&lsum, loss, 1, MPI_DOUBLE, MPI_SUM, r->comm);
    MPI_Allreduce(MPI_IN_PLACE, conf, DSP_N_LABELS * DSP_N_LABELS, MPI_INT64_T, MPI_SUM, r->comm);
}

static double conf_accuracy(const int64_t conf[DSP_N_LABELS][DSP_N_LABELS])
{
    int64_t t = 0, c = 0;
    for (int i = 0; i < DSP_N_LABELS; i++)
        for (int j = 0; j < DSP_N_LABELS; j++) {
            t += conf[i][j];
            if (i == j) c += conf[i][j];
        }
    return t ? (double)c / (double)t : 0;
}

/* Per-coefficient mean and std (population) over all frames of the training samples, in
 * double, in sample order: every rank computes the same bits without communicating. Then
 * every sample is normalised in place. */
static void normalise(struct run *r)
{
    size_t C = r->ds.n_mfcc, T = r->ds.frames;
    for (size_t c = 0; c < C; c++) {
        double s = 0, ss = 0;
        for (size_t k = 0; k < r->cnt[DIST_TRAIN]; k++) {
            const float *x = r->ds.x + r->idx[DIST_TRAIN][k] * r->dim + c * T;
            for (size_t t = 0; t < T; t++) s += x[t];
        }
        double cntd = (double)r->cnt[DIST_TRAIN] * (double)T, m = s / cntd;
        for (size_t k = 0; k < r->cnt[DIST_TRAIN]; k++) {
            const float *x = r->ds.x + r->idx[DIST_TRAIN][k] * r->dim + c * T;
            for (size_t t = 0; t < T; t++) ss += (x[t] - m) * (x[t] - m);
        }
        double sd = sqrt(ss / cntd);
        r->mean[c] = (float)m;
        r->std[c] = (float)(sd > 1e-8 ? sd : 1e-8);
    }
    for (size_t i = 0; i < r->ds.n; i++)
        for (size_t c = 0; c < C; c++) {
            float *x = r->ds.x + i * r->dim + c * T;
            for (size_t t = 0; t < T; t++) x[t] = (x[t] - r->mean[c]) / r->std[c];
        }
}

static void fill_ckpt(struct run *r, struct dist_ckpt *c, const float *weights, int with_state,
                      int epoch, const struct dist_stopper *st, const struct dist_plateau *pl,
                      const double *hist, size_t n_hist, const char *config)
{
    memset(c, 0, sizeof *c);
    c->version = (char *)SER_VERSION;
    c->spec = (char *)nn_model_spec(r->model);
    c->in_channels = r->ds.n_mfcc;
    c->in_len = r->ds.frames;
    c->n_classes = DSP_N_LABELS;
    c->params = r->ds.params;
    c->mean = r->mean;
    c->std = r->std;
    c->nparams = nn_model_nparams(r->model);
    c->weights = (float *)weights;
    if (with_state) {
        c->best = r->best;
        c->adam_m = r->adam.m;
        c->adam_v = r->adam.v;
    }
    c->adam_t = r->adam.t;
    c->lr = r->adam.lr;
    c->beta1 = r->adam.beta1;
    c->beta2 = r->adam.beta2;
    c->eps = r->adam.eps;
    c->weight_decay = r->adam.weight_decay;
    c->epoch = epoch;
    c->seed = r->cfg.seed;
    c->split = r->cfg.split;
    c->split_hash = dist_split_hash(r->ds.n, r->ds.path, r->assign);
    c->config = (char *)config;
    c->stopper = *st;
    c->plateau = *pl;
    c->n_hist = n_hist;
    c->hist = (double *)hist;
}

static int mkdir_p(const char *path, struct err *e)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return err_set(e, "%s: cannot create directory: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return err_set(e, "%s: cannot create directory: %s", buf, strerror(errno));
    return 0;
}

static void write_split_csv(const struct run *r, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) return;
    static const char *names[3] = {"train", "val", "test"};
    fprintf(f, "path,speaker,label,split\n");
    for (size_t i = 0; i < r->ds.n; i++)
        fprintf(f, "%s,%s,%s,%s\n", r->ds.path[i], r->ds.speaker[i],
                dsp_label_names[r->ds.label[i]], names[r->assign[i]]);
    fclose(f);
}

/* Allocates everything the epoch loop needs; collective result. */
static int setup(struct run *r, struct err *e)
{
    int ok = 1;
    r->dim = dist_dataset_dim(&r->ds);
    r->assign = malloc((r->ds.n ? r->ds.n : 1) * sizeof *r->assign);
    if (!r->assign) return err_set(e, "out of memory");
    if (r->ds.n_mfcc > 512) return err_set(e, "at most 512 feature coefficients are supported");
    if (dist_split(r->ds.n, r->ds.speaker, r->ds.label, r->cfg.split, (uint64_t)r->cfg.seed,
                   r->cfg.val_frac, r->cfg.test_frac, r->assign, e))
        return -1;
    for (int s = 0; s < 3; s++) {
        r->idx[s] = malloc((r->ds.n ? r->ds.n : 1) * sizeof *r->idx[s]);
        if (!r->idx[s]) return err_set(e, "out of memory");
        r->cnt[s] = 0;
    }
    for (size_t i = 0; i < r->ds.n; i++) r->idx[r->assign[i]][r->cnt[r->assign[i]]++] = i;
    normalise(r);
    size_t B = (size_t)r->cfg.batch;
    if (nn_model_create(&r->model, r->cfg.model, r->ds.n_mfcc, r->ds.frames, DSP_N_LABELS, B, e))
        return -1;
    nn_model_init(r->model, (uint64_t)r->cfg.seed);
    size_t np = nn_model_nparams(r->model);
    /* Identical seeded init on every rank; broadcast anyway so no rank can differ. */
    MPI_Bcast(nn_model_params(r->model), (int)np, MPI_FLOAT, 0, r->comm);
    if (nn_adam_init(&r->adam, np, r->cfg.lr, e)) return -1;
    r->adam.weight_decay = r->cfg.weight_decay;
    r->best = malloc(np * sizeof *r->best);
    r->xb = malloc(B * r->dim * sizeof *r->xb);
    r->yb = malloc(B * sizeof *r->yb);
    r->ids = malloc(B * sizeof *r->ids);
    r->probs = malloc(B * DSP_N_LABELS * sizeof *r->probs);
    r->perm = malloc((r->cnt[DIST_TRAIN] ? r->cnt[DIST_TRAIN] : 1) * sizeof *r->perm);
    if (!r->best || !r->xb || !r->yb || !r->ids || !r->probs || !r->perm) ok = 0;
    memcpy(r->best, nn_model_params(r->model), np * sizeof *r->best);
    return ok ? 0 : err_set(e, "out of memory");
}

static void run_free(struct run *r)
{
    dist_dataset_free(&r->ds);
    free(r->assign);
    for (int s = 0; s < 3; s++) free(r->idx[s]);
    nn_model_free(r->model);
    nn_adam_free(&r->adam);
    free(r->best), free(r->xb), free(r->yb), free(r->ids), free(r->probs), free(r->perm);
}

/* One epoch of training; returns the reduced (loss sum, correct) over the training set. */
static void train_epoch(struct run *r, int epoch, double *loss_sum, double *correct)
{
    size_t n = r->cnt[DIST_TRAIN], B = (size_t)r->cfg.batch;
    size_t np = nn_model_nparams(r->model);
    float *grads = nn_model_grads(r->model), *params = nn_model_params(r->model);
    dist_shuffle(r->idx[DIST_TRAIN], n, (uint64_t)r->cfg.seed, (uint64_t)epoch, r->perm);
    double local[2] = {0, 0};
    struct nn_step st = {.seed = (uint64_t)r->cfg.seed, .epoch = (uint64_t)epoch, .train = 1};
    struct dist_progress pg;
    char what[32];
    snprintf(what, sizeof what, "epoch %d", epoch + 1);
    dist_progress_start(&pg, what, "samples", n, r->rank == 0 && !r->cfg.quiet);
    for (size_t start = 0; start < n; start += B) {
        size_t Bb = n - start < B ? n - start : B, b, e;
        dist_shard(Bb, r->size, r->rank, &b, &e);
        double t0 = MPI_Wtime();
        memset(grads, 0, np * sizeof *grads);
        if (e > b) {
            gather_inputs(r, r->perm + start + b, e - b);
            st.sample_ids = r->ids;
            double l = 0;
            nn_model_train_step(r->model, r->xb, r->yb, e - b, &st, &l, r->probs);
            local[0] += l;
            for (size_t k = 0; k < e - b; k++)
                local[1] += argmax(r->probs + k * DSP_N_LABELS, DSP_N_LABELS) == r->yb[k];
        }
        double t1 = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, grads, (int)np, MPI_FLOAT, MPI_SUM, r->comm);
        double t2 = MPI_Wtime();
        float inv = 1.0f / (float)Bb;
        for (size_t i = 0; i < np; i++) grads[i] *= inv;
        if (r->cfg.clip > 0) nn_clip_grad_norm(grads, np, r->cfg.clip);
        nn_adam_step(&r->adam, params, grads);
        r->compute_s += (t1 - t0) + (MPI_Wtime() - t2);
        r->allreduce_s += t2 - t1;
        dist_progress_update(&pg, start + Bb);
    }
    dist_progress_end(&pg);
    double global[2];
    MPI_Allreduce(local, global, 2, MPI_DOUBLE, MPI_SUM, r->comm);
    *loss_sum = global[0];
    *correct = global[1];
}

static void now_stamp(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, n, "%Y%m%d-%H%M%S", &tm);
}

static int train_main(struct run *r, struct err *e)
{
    struct dist_train_cfg *c = &r->cfg;
    double t_start = MPI_Wtime();
    char path[4200];
    int ok = 1;

    /* Run directory (rank 0 creates it; the name is agreed by broadcast). */
    if (r->rank == 0 && !c->out[0]) {
        char stamp[64];
        now_stamp(stamp, sizeof stamp);
        snprintf(c->out, sizeof c->out, "results/%s", stamp);
    }
    MPI_Bcast(c->out, (int)sizeof c->out, MPI_CHAR, 0, r->comm);
    if (!c->features[0]) {
        size_t l = strlen(c->data);
        while (l > 1 && c->data[l - 1] == '/') l--;
        snprintf(c->features, sizeof c->features, "%.*s.features.serf", (int)l, c->data);
    }
    if (r->rank == 0 && mkdir_p(c->out, e)) ok = 0;
    MPI_Bcast(&ok, 1, MPI_INT, 0, r->comm);
    if (!ok) return -2;
    nn_set_threads((int)c->threads);

    /* Features on every rank. */
    struct dist_extract_opts xo = {.data = c->data, .out = c->features, .all_ranks = 1,
                                   .verbose = !c->quiet};
    dsp_features_default_params(&xo.params);
    int xr = dist_extract(r->comm, &xo, &r->ds, e);
    if (xr < 0) return -1;
    if (xr > 0 && r->rank == 0)
        fprintf(stderr, "ser train: warning: feature cache not written: %s\n", e->msg);
    if (setup(r, e)) ok = 0;
    int all = 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, r->comm);
    if (!all) return ok ? err_set(e, "setup failed on another rank") : -1;

    char config[16384];
    dist_train_cfg_dump(c, config, sizeof config);
    FILE *metrics = NULL;
    if (r->rank == 0) {
        snprintf(path, sizeof path, "%s/config.txt", c->out);
        FILE *f = fopen(path, "w");
        if (f) fputs(config, f), fclose(f);
        snprintf(path, sizeof path, "%s/split.csv", c->out);
        write_split_csv(r, path);
        snprintf(path, sizeof path, "%s/metrics.tsv", c->out);
        metrics = fopen(path, "w");
        if (!metrics) {
            err_set(e, "%s: cannot write: %s", path, strerror(errno));
            ok = 0;
        } else {
            fprintf(metrics, "epoch\ttrain_loss\ttrain_accuracy\tval_loss\tval_accuracy\tlr\t"
                             "seconds\tsamples_per_s\n");
            fflush(metrics);
        }
        if (!c->quiet) {
            fprintf(stderr, "ser train: %zu files (train %zu, val %zu, test %zu; %zu skipped), "
                            "%zu parameters, %d rank%s x %ld thread%s, run directory %s\n",
                    r->ds.n, r->cnt[0], r->cnt[1], r->cnt[2], r->ds.n_skipped,
                    nn_model_nparams(r->model), r->size, r->size == 1 ? "" : "s", c->threads,
                    c->threads == 1 ? "" : "s", c->out);
        }
    }
    MPI_Bcast(&ok, 1, MPI_INT, 0, r->comm);
    if (!ok) return -2;

    int mode_max = strcmp(c->monitor, "val_accuracy") == 0;
    struct dist_stopper stopper;
    struct dist_plateau plateau;
    dist_stopper_init(&stopper, mode_max, c->min_delta, (int)c->patience);
    dist_plateau_init(&plateau, mode_max, c->lr_factor, (int)c->lr_patience, 1e-4,
                      (int)c->lr_cooldown, c->min_lr);
    size_t np = nn_model_nparams(r->model);
    double *hist = calloc((size_t)c->epochs * DIST_H_COLS, sizeof *hist);
    if (!hist) return err_set(e, "out of memory");
    int64_t conf[DSP_N_LABELS][DSP_N_LABELS];
    int epoch = 0, ckpt_failed = 0;
    for (; epoch < c->epochs; epoch++) {
        double te = MPI_Wtime(), lsum, correct;
        train_epoch(r, epoch, &lsum, &correct);
        double train_s = MPI_Wtime() - te;
        double vloss;
        evaluate(r, DIST_VAL, &vloss, conf);
        double val_loss = vloss / (double)r->cnt[DIST_VAL], val_acc = conf_accuracy(conf);
        double *h = hist + (size_t)epoch * DIST_H_COLS;
        h[DIST_H_TRAIN_LOSS] = lsum / (double)r->cnt[DIST_TRAIN];
        h[DIST_H_TRAIN_ACC] = correct / (double)r->cnt[DIST_TRAIN];
        h[DIST_H_VAL_LOSS] = val_loss;
        h[DIST_H_VAL_ACC] = val_acc;
        h[DIST_H_LR] = r->adam.lr;
        h[DIST_H_SECONDS] = MPI_Wtime() - te;
        h[DIST_H_SAMPLES_PER_S] = (double)r->cnt[DIST_TRAIN] / train_s;
        /* Rank 0 decides; everyone follows. */
        double decision[3] = {0, 0, r->adam.lr};
        if (r->rank == 0) {
            int stop = 0;
            double metric = mode_max ? val_acc : val_loss;
            decision[0] = dist_stopper_update(&stopper, epoch, metric, &stop);
            decision[1] = stop;
            if (c->lr_factor < 1) decision[2] = dist_plateau_update(&plateau, metric, r->adam.lr);
        }
        MPI_Bcast(decision, 3, MPI_DOUBLE, 0, r->comm);
        if (decision[0] != 0) memcpy(r->best, nn_model_params(r->model), np * sizeof *r->best);
        r->adam.lr = decision[2];
        if (r->rank == 0) {
            fprintf(metrics, "%d\t%.6f\t%.6f\t%.6f\t%.6f\t%.6g\t%.3f\t%.1f\n", epoch + 1,
                    h[0], h[1], h[2], h[3], h[4], h[5], h[6]);
            fflush(metrics);
            if (!c->quiet)
                fprintf(stderr, "epoch %3d/%ld  loss %.4f  acc %.4f  val_loss %.4f  val_acc %.4f"
                                "  lr %.3g  %.1f s  %.0f samples/s%s\n",
                        epoch + 1, c->epochs, h[0], h[1], h[2], h[3], h[4], h[5], h[6],
                        decision[0] != 0 ? "  *" : "");
            struct dist_ckpt ck;
            struct err ce = {{0}};
            fill_ckpt(r, &ck, nn_model_params(r->model), 1, epoch + 1, &stopper, &plateau, hist,
                      (size_t)epoch + 1, config);
            snprintf(path, sizeof path, "%s/last.ckpt", c->out);
            int bad = dist_ckpt_save(&ck, r->model, path, &ce) != 0;
            if (!bad && decision[0] != 0) {
                fill_ckpt(r, &ck, r->best, 0, epoch + 1, &stopper, &plateau, hist,
                          (size_t)epoch + 1, config);
                snprintf(path, sizeof path, "%s/best.ckpt", c->out);
                bad = dist_ckpt_save(&ck, r->model, path, &ce) != 0;
            }
            if (bad) {
                fprintf(stderr, "ser train: checkpoint not written: %s\n", ce.msg);
                ckpt_failed = 1;
            }
        }
        if (decision[1] != 0) {
            epoch++;
            break;
        }
    }
    if (metrics) fclose(metrics);

    /* Best weights back, then the test set. */
    memcpy(nn_model_params(r->model), r->best, np * sizeof *r->best);
    double tloss;
    evaluate(r, DIST_TEST, &tloss, conf);
    double compute = r->compute_s, allred = r->allreduce_s;
    double sums[2] = {compute, allred}, maxs[2];
    MPI_Reduce(sums, maxs, 2, MPI_DOUBLE, MPI_MAX, 0, r->comm);
    if (r->rank == 0) {
        struct dist_report rep = {
            .run_dir = c->out,
            .config = config,
            .git_rev = SER_GIT_REV,
            .n_files = r->ds.n,
            .n_skipped = r->ds.n_skipped,
            .n_train = r->cnt[DIST_TRAIN],
            .n_val = r->cnt[DIST_VAL],
            .n_test = r->cnt[DIST_TEST],
            .ranks = r->size,
            .threads = (int)c->threads,
            .nparams = np,
            .spec = nn_model_spec(r->model),
            .hist = hist,
            .epochs_run = epoch,
            .best_epoch = stopper.best_epoch + 1,
            .test_loss = tloss / (double)r->cnt[DIST_TEST],
            .wall_seconds = MPI_Wtime() - t_start,
            .allreduce_seconds = maxs[1],
            .compute_seconds = maxs[0],
        };
        memcpy(rep.conf, conf, sizeof conf);
        if (dist_report_write(&rep, e) != 0) ok = 0;
        if (!c->quiet || ok) {
            double p[DSP_N_LABELS], rc[DSP_N_LABELS], f1[DSP_N_LABELS], mf1;
            double acc = dist_class_metrics(conf, p, rc, f1, &mf1);
            printf("test accuracy %.4f  macro-F1 %.4f  loss %.4f  (best epoch %d of %d, %.1f s)"
                   "  report: %s/report.md\n",
                   acc, mf1, rep.test_loss, rep.best_epoch, epoch, rep.wall_seconds, c->out);
        }
    }
    free(hist);
    MPI_Bcast(&ok, 1, MPI_INT, 0, r->comm);
    if (!ok) return -2;
    return ckpt_failed ? -2 : 0;
}

int cmd_train(int argc, char **argv)
{
    struct run r;
    memset(&r, 0, sizeof r);
    dist_train_default_cfg(&r.cfg);
    const char *usage = "mpirun -np N ser train [--data DIR] [--out RUN_DIR] [options]";
    const char *summary =
        "Trains the CNN-LSTM on MFCC features with data parallelism: every batch's gradient is\n"
        "summed over the ranks with one MPI_Allreduce. Validates every epoch, stops early, keeps\n"
        "the best weights (RUN_DIR/best.ckpt), evaluates the test set and writes RUN_DIR/report.md.";
    /* --config first, so that the command line overrides the file. */
    for (int i = 1; i < argc; i++) {
        const char *cfgfile = NULL;
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) cfgfile = argv[i + 1];
        else if (strncmp(argv[i], "--config=", 9) == 0) cfgfile = argv[i] + 9;
        if (cfgfile) {
            struct err e = {{0}};
            if (cli_config(cfgfile, train_opts, N_TRAIN_OPTS, train_apply, &r.cfg, &e)) {
                fprintf(stderr, "ser train: %s\n", e.msg);
                return 1;
            }
        }
    }
    int pos;
    int pr = cli_parse(argc, argv, usage, summary, train_opts, N_TRAIN_OPTS, train_apply, &r.cfg,
                       &pos);
    if (pr == CLI_HELP) return 0;
    if (pr == CLI_ERROR) return 1;
    if (pos < argc) {
        fprintf(stderr, "ser train: unexpected argument '%s'\nusage: %s\n", argv[pos], usage);
        return 1;
    }
    MPI_Init(&argc, &argv);
    r.comm = MPI_COMM_WORLD;
    MPI_Comm_rank(r.comm, &r.rank);
    MPI_Comm_size(r.comm, &r.size);
    struct err e = {{0}};
    int rc = train_main(&r, &e);
    int code = 0;
    if (rc != 0) {
        code = rc == -2 ? 2 : 1;
        if (r.rank == 0) fprintf(stderr, "ser train: %s\n", e.msg);
    }
    int worst = 0;
    MPI_Allreduce(&code, &worst, 1, MPI_INT, MPI_MAX, r.comm);
    run_free(&r);
    MPI_Finalize();
    return worst;
}
