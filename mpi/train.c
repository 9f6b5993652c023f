/* train.c: `ser train`, data-parallel training over MPI ranks.
 *
 * Every rank holds all features (dist_extract with all_ranks), the same split, the same
 * normalisation and the same weights. Each epoch's global shuffle comes from (seed, epoch);
 * global batches of --batch-size samples are cut from it.
 *
 * Default mode: rank r computes its contiguous slice of every batch (dist_shard) and
 * backpropagates the SUM of its samples' losses into the flat gradient buffer; one
 * MPI_Allreduce(SUM) over that buffer, then a division by the global batch size (known to
 * every rank), gives exactly the gradient of the global batch's mean loss, also for uneven
 * slices and the short last batch; every rank takes the same Adam step.
 *
 * --deterministic: the batch is cut into fixed micro-batches of --micro-batch samples; a rank
 * computes whole micro-batches single-threaded, so each micro-batch gradient has the same bits
 * whichever rank computes it, and the micro-batch gradients are summed exactly in 64-bit fixed
 * point (mpi/exact.h): the weights are bit-identical for any number of ranks.
 *
 * Per batch, one small integer allreduce also carries the loss sum (fixed point, so its sum is
 * exact and order-free), the correct count, a pending-signal flag and a non-finite flag: all
 * ranks agree on stopping at the same batch boundary. Validation is sharded and reduced the
 * same way (loss in fixed point, integer confusion matrix); rank 0 steps early stopping and
 * ReduceLROnPlateau and broadcasts the decision. Rank 0 writes checkpoints (every rank holds
 * identical state, so nothing is gathered); a resumed run continues bit-identically.
 */
#include "mpi/train.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "nn/adam.h"
#include "mpi/callbacks.h"
#include "mpi/checkpoint.h"
#include "mpi/cli.h"
#include "mpi/commands.h"
#include "mpi/exact.h"
#include "mpi/extract.h"
#include "nn/gemm.h"
#include "nn/model.h"
#include "mpi/progress.h"
#include "mpi/report.h"
#include "mpi/shard.h"
#include "mpi/split.h"

#ifndef SER_VERSION
#define SER_VERSION "dev"
#endif

enum { EXIT_OK = 0, EXIT_INPUT = 1, EXIT_IO = 2, EXIT_NUMERIC = 3, EXIT_SIGNAL = 75 };

/* Loss sums travel as integers in units of 2^-24: exact, order-free sums. */
#define LOSS_SCALE 16777216.0

/* ---- signals ---- */

static volatile sig_atomic_t g_signal;

static void on_signal(int sig)
{
    if (g_signal && sig == SIGINT) _exit(130); /* a second Ctrl-C: leave now */
    g_signal = sig;
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    /* A file size limit must fail a write (EFBIG), not kill the process. */
    signal(SIGXFSZ, SIG_IGN);
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
    float *xb; /* [batch][dim] gathered inputs of this rank's part */
    int *yb;
    uint64_t *ids;
    float *probs; /* [batch][classes] */
    size_t *perm;
    struct dist_exact exact; /* deterministic mode */
    size_t *tensor_off;      /* [ntensors + 1] segment offsets for exact sums */
    float *mb_grads;         /* [max micro-batches per rank][nparams] */
    size_t mb_max;
    /* training state (identical on every rank; what a checkpoint holds) */
    int epoch;    /* epochs completed */
    size_t batch; /* batches completed in the current epoch */
    int64_t ep_loss_fx, ep_correct, ep_seen;
    double ep_seconds;
    struct dist_stopper stopper;
    struct dist_plateau plateau;
    double *hist; /* [epochs][DIST_H_COLS] */
    int done;
    char config[16384];
    int have_ckpt; /* a resumable checkpoint exists in the run directory */
    double allreduce_s, compute_s, t_start;
    /* Fault injection for the tests (environment): SER_FAULT_NAN_BATCH=N poisons a gradient
     * of the N-th batch this process runs; SER_FAULT_SIGNAL_BATCH=N makes the last rank
     * raise SIGUSR1 before its N-th batch. */
    long fault_nan_batch, fault_signal_batch;
    int argc; /* the command line, re-applied over a resumed configuration */
    char **argv;
    long batches_run;
    const char *bad_what; /* first non-finite tensor found by the exact sum, or NULL */
};

static int argmax(const float *p, size_t n)
{
    size_t best = 0;
    for (size_t i = 1; i < n; i++)
        if (p[i] > p[best]) best = i;
    return (int)best;
}

static int64_t loss_fx(double v)
{
    return (int64_t)llround(v * LOSS_SCALE);
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

/* Sharded evaluation of subset s: loss sum and confusion matrix, reduced on every rank.
 * Chunks are fixed (micro-batches in deterministic mode), so results do not depend on the
 * number of ranks there. */
static void evaluate(struct run *r, int s, double *loss, int64_t conf[DSP_N_LABELS][DSP_N_LABELS])
{
    size_t n = r->cnt[s], B = (size_t)r->cfg.batch;
    size_t chunk = r->cfg.deterministic ? (size_t)r->cfg.micro_batch : 1;
    size_t nch = (n + chunk - 1) / chunk, cb, ce;
    dist_shard(nch, r->size, r->rank, &cb, &ce);
    size_t b = cb * chunk, e = ce * chunk < n ? ce * chunk : n;
    if (r->cfg.deterministic) B = chunk;
    int64_t red[1 + DSP_N_LABELS * DSP_N_LABELS];
    memset(red, 0, sizeof red);
    for (size_t i = b; i < e; i += B) {
        size_t m = e - i < B ? e - i : B;
        gather_inputs(r, r->idx[s] + i, m);
        double l = 0;
        nn_model_forward(r->model, r->xb, r->yb, m, &l, r->probs);
        red[0] += loss_fx(l);
        for (size_t k = 0; k < m; k++)
            red[1 + r->yb[k] * DSP_N_LABELS + argmax(r->probs + k * DSP_N_LABELS, DSP_N_LABELS)]++;
    }
    MPI_Allreduce(MPI_IN_PLACE, red, 1 + DSP_N_LABELS * DSP_N_LABELS, MPI_INT64_T, MPI_SUM,
                  r->comm);
    *loss = (double)red[0] / LOSS_SCALE;
    memcpy(conf, red + 1, sizeof(int64_t) * DSP_N_LABELS * DSP_N_LABELS);
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
 * double and in sample order: every rank computes the same bits from the same data without
 * communicating. Then every sample is normalised in place. */
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

static void fill_ckpt(struct run *r, struct dist_ckpt *c, const float *weights, int with_state)
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
    c->epoch = r->epoch;
    c->batch = (int64_t)r->batch;
    c->seed = r->cfg.seed;
    c->done = r->done;
    c->split = r->cfg.split;
    c->split_hash = dist_split_hash(r->ds.n, r->ds.path, r->assign);
    c->config = r->config;
    c->stopper = r->stopper;
    c->plateau = r->plateau;
    c->n_hist = (size_t)r->epoch;
    c->hist = r->hist;
    c->epoch_loss_sum = (double)r->ep_loss_fx;
    c->epoch_correct = (double)r->ep_correct;
    c->epoch_seen = (double)r->ep_seen;
    c->epoch_seconds = r->ep_seconds;
}

static int path_in(char *buf, size_t n, const char *dir, const char *name)
{
    return snprintf(buf, n, "%s/%s", dir, name) < (int)n ? 0 : -1;
}

/* metrics.tsv from the history (rewritten whole, atomically: a resumed run continues it
 * without duplicated or lost rows). */
static void write_metrics(struct run *r)
{
    size_t cap = 128 + (size_t)r->epoch * 160;
    char *buf = malloc(cap), path[4200];
    if (!buf) return;
    size_t len = (size_t)snprintf(buf, cap,
                                  "epoch\ttrain_loss\ttrain_accuracy\tval_loss\t"
                                  "val_accuracy\tlr\tseconds\tsamples_per_s\n");
    for (int i = 0; i < r->epoch; i++) {
        const double *h = r->hist + (size_t)i * DIST_H_COLS;
        len +=
            (size_t)snprintf(buf + len, cap - len, "%d\t%.6f\t%.6f\t%.6f\t%.6f\t%.6g\t%.3f\t%.1f\n",
                             i + 1, h[0], h[1], h[2], h[3], h[4], h[5], h[6]);
    }
    struct err e = {{0}};
    path_in(path, sizeof path, r->cfg.out, "metrics.tsv");
    if (dsp_write_atomic(path, buf, len, &e)) fprintf(stderr, "ser train: %s\n", e.msg);
    free(buf);
}

/* Rank 0 writes last.ckpt (and best.ckpt / epoch-NNNN.ckpt when asked); the outcome is
 * broadcast. Returns 0 if training may go on, or EXIT_IO when no checkpoint can be written
 * at all (none exists to resume from), with e saying which. */
static int save_checkpoint(struct run *r, int write_best, int epoch_end, struct err *e)
{
    int status = 0;
    if (r->rank == 0) {
        char path[4200], prev[4200];
        struct dist_ckpt ck;
        struct err ce = {{0}};
        int bad = 0;
        fill_ckpt(r, &ck, nn_model_params(r->model), 1);
        path_in(path, sizeof path, r->cfg.out, "last.ckpt");
        path_in(prev, sizeof prev, r->cfg.out, "prev.ckpt");
        /* The previous last.ckpt stays as prev.ckpt (a hard link, so last.ckpt itself is
         * only ever replaced by an atomic rename): if the newest is ever damaged, --resume
         * auto falls back to it. */
        unlink(prev);
        if (link(path, prev) != 0 && errno != ENOENT && !r->cfg.quiet)
            fprintf(stderr, "ser train: note: no prev.ckpt kept (%s)\n", strerror(errno));
        if (dist_ckpt_save(&ck, r->model, path, &ce) != 0) bad = 1;
        if (!bad && epoch_end && r->cfg.keep > 0) {
            char name[64];
            snprintf(name, sizeof name, "epoch-%04d.ckpt", r->epoch);
            path_in(path, sizeof path, r->cfg.out, name);
            if (dist_ckpt_save(&ck, r->model, path, &ce) != 0) bad = 1;
            snprintf(name, sizeof name, "epoch-%04d.ckpt", r->epoch - (int)r->cfg.keep);
            if (r->epoch - r->cfg.keep >= 1 && path_in(path, sizeof path, r->cfg.out, name) == 0)
                unlink(path);
        }
        if (!bad && write_best) {
            fill_ckpt(r, &ck, r->best, 0);
            path_in(path, sizeof path, r->cfg.out, "best.ckpt");
            if (dist_ckpt_save(&ck, r->model, path, &ce) != 0) bad = 1;
        }
        if (bad) {
            fprintf(stderr, "ser train: checkpoint not written (the previous one is intact): %s\n",
                    ce.msg);
            if (!r->have_ckpt) {
                err_set(e, "no checkpoint can be written in %s: %s", r->cfg.out, ce.msg);
                status = EXIT_IO;
            }
        } else {
            r->have_ckpt = 1;
        }
        write_metrics(r);
    }
    MPI_Bcast(&status, 1, MPI_INT, 0, r->comm);
    MPI_Bcast(&r->have_ckpt, 1, MPI_INT, 0, r->comm);
    return status;
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
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) return err_set(e, "%s: not a directory", buf);
    return 0;
}

static void write_split_csv(const struct run *r)
{
    char path[4200];
    path_in(path, sizeof path, r->cfg.out, "split.csv");
    FILE *f = fopen(path, "w");
    if (!f) return;
    static const char *names[3] = {"train", "val", "test"};
    fprintf(f, "path,speaker,label,split\n");
    for (size_t i = 0; i < r->ds.n; i++)
        fprintf(f, "%s,%s,%s,%s\n", r->ds.path[i], r->ds.speaker[i],
                dsp_label_names[r->ds.label[i]], names[r->assign[i]]);
    fclose(f);
}

/* Allocates everything the loop needs and initialises the state of a fresh run. */
static int setup(struct run *r, struct err *e)
{
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
    size_t np = nn_model_nparams(r->model), nt = nn_model_ntensors(r->model);
    if (nn_adam_init(&r->adam, np, r->cfg.lr, e)) return -1;
    r->adam.weight_decay = r->cfg.weight_decay;
    r->best = malloc(np * sizeof *r->best);
    r->xb = malloc(B * r->dim * sizeof *r->xb);
    r->yb = malloc(B * sizeof *r->yb);
    r->ids = malloc(B * sizeof *r->ids);
    r->probs = malloc(B * DSP_N_LABELS * sizeof *r->probs);
    r->perm = malloc((r->cnt[DIST_TRAIN] ? r->cnt[DIST_TRAIN] : 1) * sizeof *r->perm);
    r->hist = calloc((size_t)r->cfg.epochs * DIST_H_COLS, sizeof *r->hist);
    r->tensor_off = malloc((nt + 1) * sizeof *r->tensor_off);
    if (!r->best || !r->xb || !r->yb || !r->ids || !r->probs || !r->perm || !r->hist ||
        !r->tensor_off)
        return err_set(e, "out of memory");
    memcpy(r->best, nn_model_params(r->model), np * sizeof *r->best);
    for (size_t i = 0; i < nt; i++) r->tensor_off[i] = nn_model_tensor(r->model, i)->offset;
    r->tensor_off[nt] = np;
    if (r->cfg.deterministic) {
        size_t M = (size_t)r->cfg.micro_batch, nmb = (B + M - 1) / M;
        r->mb_max = (nmb + (size_t)r->size - 1) / (size_t)r->size;
        r->mb_grads = malloc(r->mb_max * np * sizeof *r->mb_grads);
        if (!r->mb_grads)
            return err_set(e, "out of memory for %zu micro-batch gradients", r->mb_max);
        if (dist_exact_init(&r->exact, np, nt, r->tensor_off, e)) return -1;
    }
    int mode_max = strcmp(r->cfg.monitor, "val_accuracy") == 0;
    dist_stopper_init(&r->stopper, mode_max, r->cfg.min_delta, (int)r->cfg.patience);
    dist_plateau_init(&r->plateau, mode_max, r->cfg.lr_factor, (int)r->cfg.lr_patience, 1e-4,
                      (int)r->cfg.lr_cooldown, r->cfg.min_lr);
    return 0;
}

static void run_free(struct run *r)
{
    dist_dataset_free(&r->ds);
    free(r->assign);
    for (int s = 0; s < 3; s++) free(r->idx[s]);
    nn_model_free(r->model);
    nn_adam_free(&r->adam);
    free(r->best), free(r->xb), free(r->yb), free(r->ids), free(r->probs), free(r->perm);
    free(r->hist), free(r->tensor_off), free(r->mb_grads);
    if (r->cfg.deterministic) dist_exact_free(&r->exact);
}

/* Name of the first tensor with a non-finite gradient, or NULL. */
static const char *nonfinite_tensor(struct run *r)
{
    const float *g = nn_model_grads(r->model);
    for (size_t t = 0; t < nn_model_ntensors(r->model); t++) {
        const struct nn_tensor *v = nn_model_tensor(r->model, t);
        for (size_t i = 0; i < v->size; i++)
            if (!isfinite(g[v->offset + i])) return v->name;
    }
    return NULL;
}

/* Computes the summed gradient of this rank's part of global batch [start, start+Bb) of
 * r->perm into the model's gradient buffer, already reduced over ranks and divided by Bb.
 * red[0] += loss (fixed point), red[1] += correct predictions. */
static void batch_gradient(struct run *r, size_t start, size_t Bb, int64_t *red)
{
    size_t np = nn_model_nparams(r->model);
    float *grads = nn_model_grads(r->model);
    struct nn_step st = {.seed = (uint64_t)r->cfg.seed,
                         .epoch = (uint64_t)r->epoch,
                         .train = 1,
                         .sample_ids = r->ids};
    double t0 = MPI_Wtime(), t1, t2;
    if (!r->cfg.deterministic) {
        size_t b, e;
        dist_shard(Bb, r->size, r->rank, &b, &e);
        memset(grads, 0, np * sizeof *grads);
        if (e > b) {
            gather_inputs(r, r->perm + start + b, e - b);
            double l = 0;
            nn_model_train_step(r->model, r->xb, r->yb, e - b, &st, &l, r->probs);
            red[0] += isfinite(l) ? loss_fx(l) : 0;
            red[3] += !isfinite(l);
            for (size_t k = 0; k < e - b; k++)
                red[1] += argmax(r->probs + k * DSP_N_LABELS, DSP_N_LABELS) == r->yb[k];
        }
        if (r->fault_nan_batch == r->batches_run && r->rank == 0) grads[0] = NAN;
        t1 = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, grads, (int)np, MPI_FLOAT, MPI_SUM, r->comm);
        t2 = MPI_Wtime();
        float inv = 1.0f / (float)Bb;
        for (size_t i = 0; i < np; i++) grads[i] *= inv;
    } else {
        size_t M = (size_t)r->cfg.micro_batch, nmb = (Bb + M - 1) / M, mb, me;
        dist_shard(nmb, r->size, r->rank, &mb, &me);
        for (size_t k = mb; k < me; k++) {
            size_t s0 = k * M, n = Bb - s0 < M ? Bb - s0 : M;
            float *g = r->mb_grads + (k - mb) * np;
            memset(grads, 0, np * sizeof *grads);
            gather_inputs(r, r->perm + start + s0, n);
            double l = 0;
            nn_model_train_step(r->model, r->xb, r->yb, n, &st, &l, r->probs);
            red[0] += isfinite(l) ? loss_fx(l) : 0;
            red[3] += !isfinite(l);
            for (size_t j = 0; j < n; j++)
                red[1] += argmax(r->probs + j * DSP_N_LABELS, DSP_N_LABELS) == r->yb[j];
            if (r->fault_nan_batch == r->batches_run && k == 0) grads[0] = NAN;
            memcpy(g, grads, np * sizeof *g);
            dist_exact_observe(&r->exact, g); /* a non-finite value makes agree fail */
        }
        t1 = MPI_Wtime();
        struct err xe = {{0}};
        if (dist_exact_agree(&r->exact, r->comm, nmb, &xe) != 0) {
            long s = r->exact.bad_seg;
            r->bad_what = s >= 0 && (size_t)s < nn_model_ntensors(r->model)
                              ? nn_model_tensor(r->model, (size_t)s)->name
                              : "the gradients";
        } else {
            for (size_t k = mb; k < me; k++) dist_exact_add(&r->exact, r->mb_grads + (k - mb) * np);
            if (dist_exact_finish(&r->exact, r->comm, 1.0 / (double)Bb, grads, &xe) != 0)
                r->bad_what = "the gradients";
        }
        t2 = MPI_Wtime();
    }
    r->compute_s += (t1 - t0);
    r->allreduce_s += t2 - t1;
}

/* Trains from r->batch to the end of epoch r->epoch. Returns 0, or an exit code with e
 * filled (EXIT_SIGNAL after a checkpoint, EXIT_NUMERIC, EXIT_IO). */
static int train_epoch(struct run *r, struct err *e)
{
    size_t n = r->cnt[DIST_TRAIN], B = (size_t)r->cfg.batch, nb = (n + B - 1) / B;
    size_t np = nn_model_nparams(r->model);
    dist_shuffle(r->idx[DIST_TRAIN], n, (uint64_t)r->cfg.seed, (uint64_t)r->epoch, r->perm);
    struct dist_progress pg;
    char what[32];
    snprintf(what, sizeof what, "epoch %d", r->epoch + 1);
    dist_progress_start(&pg, what, "samples", n, r->rank == 0 && !r->cfg.quiet);
    double t_seg = MPI_Wtime();
    for (; r->batch < nb; r->batch++) {
        size_t start = r->batch * B, Bb = n - start < B ? n - start : B;
        if (r->fault_signal_batch == r->batches_run && r->rank == r->size - 1) raise(SIGUSR1);
        int64_t red[4] = {0, 0, g_signal != 0, 0};
        batch_gradient(r, start, Bb, red);
        MPI_Allreduce(MPI_IN_PLACE, red, 4, MPI_INT64_T, MPI_SUM, r->comm);
        const char *bad = r->bad_what;
        if (!bad) bad = nonfinite_tensor(r);
        if (!bad && red[3]) bad = "the loss";
        if (bad) {
            dist_progress_end(&pg);
            return err_set(e,
                           "non-finite value in %s at epoch %d, batch %zu (the last good "
                           "checkpoint is intact)",
                           bad, r->epoch + 1, r->batch + 1),
                   EXIT_NUMERIC;
        }
        float *grads = nn_model_grads(r->model);
        if (r->cfg.clip > 0) nn_clip_grad_norm(grads, np, r->cfg.clip);
        nn_adam_step(&r->adam, nn_model_params(r->model), grads);
        r->ep_loss_fx += red[0];
        r->ep_correct += red[1];
        r->ep_seen += (int64_t)Bb;
        r->batches_run++;
        dist_progress_update(&pg, start + Bb);
        int stop = red[2] != 0;
        int periodic = r->cfg.checkpoint_batches &&
                       (r->batch + 1) % (size_t)r->cfg.checkpoint_every == 0 && r->batch + 1 < nb;
        if (stop || periodic) {
            double now = MPI_Wtime();
            r->ep_seconds += now - t_seg;
            t_seg = now;
            r->batch++;
            int rc = save_checkpoint(r, 0, 0, e);
            r->batch--;
            if (rc) return rc;
            if (stop) {
                dist_progress_end(&pg);
                return err_set(e,
                               "stopped by a signal at epoch %d, batch %zu; checkpoint %s/"
                               "last.ckpt written: resume with --resume auto",
                               r->epoch + 1, r->batch + 1, r->cfg.out),
                       EXIT_SIGNAL;
            }
        }
    }
    dist_progress_end(&pg);
    r->ep_seconds += MPI_Wtime() - t_seg;
    return 0;
}

static void now_stamp(char *buf, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, n, "%Y%m%d-%H%M%S", &tm);
}

/* Rank 0: the newest resumable checkpoint of dir (last.ckpt, prev.ckpt, epoch-*.ckpt),
 * skipping damaged ones with a message. Empty string when there is none. */
static void find_resume(const char *dir, char *out, size_t n, int quiet)
{
    out[0] = 0;
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    int64_t best_pos = -1;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".ckpt") != 0 ||
            strcmp(de->d_name, "best.ckpt") == 0)
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        struct dist_ckpt c = {0};
        struct err e = {{0}};
        if (dist_ckpt_load(&c, path, &e) != 0) {
            fprintf(stderr, "ser train: ignoring damaged checkpoint: %s\n", e.msg);
        } else if (c.adam_m) {
            int64_t pos = c.epoch * 100000000LL + c.batch;
            /* Equal positions: prefer last.ckpt (newest write). */
            if (pos > best_pos || (pos == best_pos && strcmp(de->d_name, "last.ckpt") == 0)) {
                best_pos = pos;
                snprintf(out, n, "%s", path);
            }
        }
        dist_ckpt_free(&c);
    }
    closedir(d);
    if (out[0] && !quiet) fprintf(stderr, "ser train: resuming from %s\n", out);
}

/* Broadcasts a file's bytes from rank 0 (so ranks need not share a file system). */
static int bcast_file(MPI_Comm comm, int rank, const char *path, unsigned char **buf, size_t *len,
                      struct err *e)
{
    uint64_t n = 0;
    int ok = 1;
    *buf = NULL;
    if (rank == 0) {
        FILE *f = fopen(path, "rb");
        struct stat st;
        if (!f || fstat(fileno(f), &st) != 0) {
            ok = 0;
            err_set(e, "%s: cannot open: %s", path, strerror(errno));
        } else {
            n = (uint64_t)st.st_size;
            *buf = malloc(n ? n : 1);
            if (!*buf || fread(*buf, 1, n, f) != n) ok = 0, err_set(e, "%s: read failed", path);
        }
        if (f) fclose(f);
    }
    uint64_t hdr[2] = {(uint64_t)ok, n};
    MPI_Bcast(hdr, 2, MPI_UINT64_T, 0, comm);
    if (!hdr[0]) {
        free(*buf);
        *buf = NULL;
        return rank == 0 ? -1 : err_set(e, "rank 0 could not read %s", path);
    }
    *len = (size_t)hdr[1];
    if (rank != 0 && !(*buf = malloc(*len ? *len : 1))) return err_set(e, "out of memory");
    MPI_Bcast(*buf, (int)*len, MPI_BYTE, 0, comm);
    return 0;
}

/* Restores the training state from a checkpoint (every rank). */
static int restore(struct run *r, const struct dist_ckpt *c, const char *what, struct err *e)
{
    size_t np = nn_model_nparams(r->model);
    if (strcmp(c->spec, nn_model_spec(r->model)) != 0)
        return err_set(e, "%s: trained with model '%s', but the run now asks for '%s'", what,
                       c->spec, nn_model_spec(r->model));
    if (c->nparams != np || !c->adam_m || !c->best)
        return err_set(e,
                       "%s: holds no training state (a model-only checkpoint such as "
                       "best.ckpt cannot be resumed)",
                       what);
    if (c->split_hash != dist_split_hash(r->ds.n, r->ds.path, r->assign))
        return err_set(e,
                       "%s: the corpus or its split differs from the one this run was "
                       "trained on",
                       what);
    if (c->epoch > r->cfg.epochs)
        return err_set(e, "%s: already trained %lld epochs, more than --epochs %ld", what,
                       (long long)c->epoch, r->cfg.epochs);
    for (size_t i = 0; i < r->ds.n_mfcc; i++)
        if (c->mean[i] != r->mean[i] || c->std[i] != r->std[i])
            return err_set(e, "%s: normalisation statistics differ from this corpus's", what);
    memcpy(nn_model_params(r->model), c->weights, np * sizeof(float));
    memcpy(r->best, c->best, np * sizeof(float));
    memcpy(r->adam.m, c->adam_m, np * sizeof(float));
    memcpy(r->adam.v, c->adam_v, np * sizeof(float));
    r->adam.t = c->adam_t;
    r->adam.lr = c->lr;
    r->epoch = (int)c->epoch;
    r->batch = (size_t)c->batch;
    r->done = c->done;
    r->stopper = c->stopper;
    r->plateau = c->plateau;
    memcpy(r->hist, c->hist, c->n_hist * DIST_H_COLS * sizeof *r->hist);
    r->ep_loss_fx = (int64_t)c->epoch_loss_sum;
    r->ep_correct = (int64_t)c->epoch_correct;
    r->ep_seen = (int64_t)c->epoch_seen;
    r->ep_seconds = c->epoch_seconds;
    r->have_ckpt = 1;
    return 0;
}

static int train_main(struct run *r, struct err *e)
{
    struct dist_train_cfg *c = &r->cfg;
    r->t_start = MPI_Wtime();
    int ok = 1;
    const char *fault = getenv("SER_FAULT_NAN_BATCH");
    r->fault_nan_batch = fault ? atol(fault) : -1;
    fault = getenv("SER_FAULT_SIGNAL_BATCH");
    r->fault_signal_batch = fault ? atol(fault) : -1;

    /* Run directory and the checkpoint to resume from (rank 0 decides, all follow). */
    char resume_path[4400] = "";
    if (r->rank == 0) {
        if (c->resume[0] && strcmp(c->resume, "auto") != 0) {
            snprintf(resume_path, sizeof resume_path, "%s", c->resume);
            if (!c->out[0]) {
                snprintf(c->out, sizeof c->out, "%s", c->resume);
                char *slash = strrchr(c->out, '/');
                if (slash)
                    *slash = 0;
                else
                    snprintf(c->out, sizeof c->out, ".");
            }
        }
        if (!c->out[0]) {
            if (strcmp(c->resume, "auto") == 0) {
                err_set(e, "--resume auto needs --out RUN_DIR");
                ok = 0;
            }
            char stamp[64];
            now_stamp(stamp, sizeof stamp);
            snprintf(c->out, sizeof c->out, "results/%s", stamp);
        }
        if (ok && strcmp(c->resume, "auto") == 0)
            find_resume(c->out, resume_path, sizeof resume_path, c->quiet);
    }
    MPI_Bcast(&ok, 1, MPI_INT, 0, r->comm);
    if (!ok) return EXIT_INPUT;
    MPI_Bcast(c->out, (int)sizeof c->out, MPI_CHAR, 0, r->comm);
    MPI_Bcast(resume_path, (int)sizeof resume_path, MPI_CHAR, 0, r->comm);

    /* A resumed run takes its stored configuration; options given now override it. */
    struct dist_ckpt ck = {0};
    if (resume_path[0]) {
        unsigned char *buf;
        size_t len = 0;
        if (bcast_file(r->comm, r->rank, resume_path, &buf, &len, e)) return EXIT_IO;
        int rc = dist_ckpt_decode(&ck, buf, len, resume_path, e);
        free(buf);
        if (rc) {
            dist_ckpt_free(&ck);
            return EXIT_INPUT;
        }
        struct dist_train_cfg now = *c;
        dist_train_default_cfg(c);
        if (dist_train_apply_text(c, ck.config, resume_path, e) ||
            dist_train_parse(r->argc, r->argv, c) != 0) {
            dist_ckpt_free(&ck);
            return EXIT_INPUT;
        }
        snprintf(c->out, sizeof c->out, "%s", now.out);
    }
    if (!c->features[0]) {
        size_t l = strlen(c->data);
        while (l > 1 && c->data[l - 1] == '/') l--;
        snprintf(c->features, sizeof c->features, "%.*s.features.serf", (int)l, c->data);
    }
    if (c->deterministic && c->threads != 1) {
        if (r->rank == 0 && !c->quiet)
            fprintf(stderr, "ser train: --deterministic uses 1 BLAS thread per rank\n");
        c->threads = 1;
    }
    if (r->rank == 0 && mkdir_p(c->out, e)) ok = 0;
    MPI_Bcast(&ok, 1, MPI_INT, 0, r->comm);
    if (!ok) {
        dist_ckpt_free(&ck);
        return EXIT_IO;
    }
    nn_set_threads((int)c->threads);
    dist_train_cfg_dump(c, r->config, sizeof r->config);

    /* Features on every rank, then split, normalisation, model. */
    struct dist_extract_opts xo = {
        .data = c->data, .out = c->features, .all_ranks = 1, .verbose = !c->quiet};
    dsp_features_default_params(&xo.params);
    int xr = dist_extract(r->comm, &xo, &r->ds, e);
    if (xr < 0) {
        dist_ckpt_free(&ck);
        return EXIT_INPUT;
    }
    if (xr > 0 && r->rank == 0)
        fprintf(stderr, "ser train: warning: feature cache not written: %s\n", e->msg);
    if (setup(r, e)) ok = 0;
    if (ok && resume_path[0] && restore(r, &ck, resume_path, e)) ok = 0;
    dist_ckpt_free(&ck);
    int all = 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, r->comm);
    if (!all) return ok ? err_set(e, "setup failed on another rank"), EXIT_INPUT : EXIT_INPUT;
    /* Identical on every rank by construction; broadcast anyway so no rank can differ. */
    MPI_Bcast(nn_model_params(r->model), (int)nn_model_nparams(r->model), MPI_FLOAT, 0, r->comm);

    if (r->rank == 0) {
        char path[4200];
        path_in(path, sizeof path, c->out, "config.txt");
        FILE *f = fopen(path, "w");
        if (f) fputs(r->config, f), fclose(f);
        write_split_csv(r);
        if (!c->quiet)
            fprintf(stderr,
                    "ser train: %zu files (train %zu, val %zu, test %zu; %zu skipped), "
                    "%zu parameters, %d rank%s x %ld thread%s%s, run directory %s\n",
                    r->ds.n, r->cnt[0], r->cnt[1], r->cnt[2], r->ds.n_skipped,
                    nn_model_nparams(r->model), r->size, r->size == 1 ? "" : "s", c->threads,
                    c->threads == 1 ? "" : "s", c->deterministic ? ", deterministic" : "", c->out);
    }

    size_t np = nn_model_nparams(r->model);
    int64_t conf[DSP_N_LABELS][DSP_N_LABELS];
    while (!r->done && r->epoch < c->epochs) {
        int rc = train_epoch(r, e);
        if (rc) return rc;
        double train_s = r->ep_seconds, tv = MPI_Wtime();
        double vloss;
        evaluate(r, DIST_VAL, &vloss, conf);
        double val_loss = vloss / (double)r->cnt[DIST_VAL], val_acc = conf_accuracy(conf);
        double *h = r->hist + (size_t)r->epoch * DIST_H_COLS;
        h[DIST_H_TRAIN_LOSS] = (double)r->ep_loss_fx / LOSS_SCALE / (double)r->ep_seen;
        h[DIST_H_TRAIN_ACC] = (double)r->ep_correct / (double)r->ep_seen;
        h[DIST_H_VAL_LOSS] = val_loss;
        h[DIST_H_VAL_ACC] = val_acc;
        h[DIST_H_LR] = r->adam.lr;
        h[DIST_H_SECONDS] = train_s + (MPI_Wtime() - tv); /* training + validation */
        h[DIST_H_SAMPLES_PER_S] = train_s > 0 ? (double)r->ep_seen / train_s : 0;
        /* Rank 0 decides; everyone follows. */
        double decision[3] = {0, 0, r->adam.lr};
        if (r->rank == 0) {
            int stop = 0;
            double metric = r->stopper.mode_max ? val_acc : val_loss;
            decision[0] = dist_stopper_update(&r->stopper, r->epoch, metric, &stop);
            decision[1] = stop;
            if (c->lr_factor < 1)
                decision[2] = dist_plateau_update(&r->plateau, metric, r->adam.lr);
        }
        MPI_Bcast(decision, 3, MPI_DOUBLE, 0, r->comm);
        MPI_Bcast(&r->stopper, (int)sizeof r->stopper, MPI_BYTE, 0, r->comm);
        MPI_Bcast(&r->plateau, (int)sizeof r->plateau, MPI_BYTE, 0, r->comm);
        if (decision[0] != 0) memcpy(r->best, nn_model_params(r->model), np * sizeof *r->best);
        r->adam.lr = decision[2];
        if (r->rank == 0 && !c->quiet)
            fprintf(stderr,
                    "epoch %3d/%ld  loss %.4f  acc %.4f  val_loss %.4f  val_acc %.4f"
                    "  lr %.3g  %.1f s  %.0f samples/s%s\n",
                    r->epoch + 1, c->epochs, h[0], h[1], h[2], h[3], h[4], h[5], h[6],
                    decision[0] != 0 ? "  *" : "");
        r->epoch++;
        r->batch = 0;
        r->ep_loss_fx = r->ep_correct = r->ep_seen = 0;
        r->ep_seconds = 0;
        r->done = decision[1] != 0; /* early stop; --epochs may still be raised on resume */
        int64_t sig = g_signal != 0;
        MPI_Allreduce(MPI_IN_PLACE, &sig, 1, MPI_INT64_T, MPI_SUM, r->comm);
        int due = c->checkpoint_batches || r->done || sig || r->epoch >= c->epochs ||
                  r->epoch % c->checkpoint_every == 0;
        if (due || decision[0] != 0) {
            rc = save_checkpoint(r, decision[0] != 0, 1, e);
            if (rc) return rc;
        }
        if (sig && !r->done)
            return err_set(e,
                           "stopped by a signal after epoch %d; checkpoint %s/last.ckpt "
                           "written: resume with --resume auto",
                           r->epoch, c->out),
                   EXIT_SIGNAL;
    }

    /* Best weights back, then the test set. */
    memcpy(nn_model_params(r->model), r->best, np * sizeof *r->best);
    double tloss;
    evaluate(r, DIST_TEST, &tloss, conf);
    double sums[2] = {r->compute_s, r->allreduce_s}, maxs[2];
    MPI_Reduce(sums, maxs, 2, MPI_DOUBLE, MPI_MAX, 0, r->comm);
    int status = EXIT_OK;
    if (r->rank == 0) {
        struct dist_report rep = {
            .run_dir = c->out,
            .config = r->config,
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
            .hist = r->hist,
            .epochs_run = r->epoch,
            .best_epoch = r->stopper.best_epoch + 1,
            .test_loss = tloss / (double)r->cnt[DIST_TEST],
            .wall_seconds = MPI_Wtime() - r->t_start,
            .allreduce_seconds = maxs[1],
            .compute_seconds = maxs[0],
        };
        memcpy(rep.conf, conf, sizeof conf);
        if (dist_report_write(&rep, e) != 0) {
            status = EXIT_IO;
        } else {
            double p[DSP_N_LABELS], rc[DSP_N_LABELS], f1[DSP_N_LABELS], mf1;
            double acc = dist_class_metrics(conf, p, rc, f1, &mf1);
            printf("test accuracy %.4f  macro-F1 %.4f  loss %.4f  (best epoch %d of %d, %.1f s)"
                   "  report: %s/report.md\n",
                   acc, mf1, rep.test_loss, rep.best_epoch, r->epoch, rep.wall_seconds, c->out);
            fflush(stdout);
        }
    }
    MPI_Bcast(&status, 1, MPI_INT, 0, r->comm);
    return status;
}

int cmd_train(int argc, char **argv)
{
    struct run r;
    memset(&r, 0, sizeof r);
    dist_train_default_cfg(&r.cfg);
    int pr = dist_train_parse(argc, argv, &r.cfg);
    if (pr == CLI_HELP) return 0;
    if (pr == CLI_ERROR) return EXIT_INPUT;
    r.argc = argc;
    r.argv = argv;
    MPI_Init(&argc, &argv);
    r.comm = MPI_COMM_WORLD;
    MPI_Comm_rank(r.comm, &r.rank);
    MPI_Comm_size(r.comm, &r.size);
    install_signals();
    struct err e = {{0}};
    int code = train_main(&r, &e);
    if (code != EXIT_OK && r.rank == 0) fprintf(stderr, "ser train: %s\n", e.msg);
    int worst = 0;
    MPI_Allreduce(&code, &worst, 1, MPI_INT, MPI_MAX, r.comm);
    run_free(&r);
    MPI_Finalize();
    return worst;
}
