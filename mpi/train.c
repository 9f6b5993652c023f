/* train.c: the training loop of `ser train`, top to bottom: one batch, one epoch, the fit.
 *
 * Every rank holds all features, the same split, the same normalisation and the same
 * weights (set up in train_setup.c). Each epoch's order comes from (seed, epoch); global
 * batches of --batch-size samples are cut from it.
 *
 * Default mode: rank r computes its contiguous slice of every batch and backpropagates the
 * SUM of its samples' losses into the model's flat gradient buffer; the per-step scalars
 * (loss sum, correct count, stop request, non-finite loss) sit right after the gradient in
 * that buffer, so ONE allreduce(SUM) per batch reduces both. Dividing by the global batch
 * size (known to every rank) gives exactly the gradient of the batch's mean loss, also for
 * uneven slices and the short last batch; every rank takes the same Adam step.
 *
 * --deterministic: the batch is cut into fixed micro-batches of --micro-batch samples; a
 * rank computes whole micro-batches single-threaded, so each micro-batch gradient has the
 * same bits whichever rank computes it; they are summed exactly in 64-bit fixed point
 * (mpi/comm/exact.h) in a MAX-then-SUM pair of collectives that also carry the per-step
 * scalars: the weights are bit-identical for any number of ranks.
 *
 * Validation is sharded and reduced (loss in fixed point, integer confusion matrix); rank 0
 * steps early stopping and ReduceLROnPlateau and broadcasts the decision; rank 0 writes the
 * checkpoints (train_ckpt.c); a resumed run continues bit-identically.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mpi/classify.h"
#include "mpi/metrics.h"
#include "mpi/progress.h"
#include "mpi/report.h"
#include "mpi/shard.h"
#include "mpi/train_run.h"
#include "nn/adam.h"
#include "nn/augment.h"

/* Loss sums of evaluation travel as integers in units of 2^-24: exact, order-free sums. */
#define LOSS_SCALE 16777216.0

static size_t min_sz(size_t a, size_t b)
{
    return a < b ? a : b;
}

static int class_of(const struct run *r, size_t sample)
{
    return r->st.cls.of_label[r->ds.label[sample]];
}

/* Copies samples list[0..n) into r->xb / r->yb / r->ids. */
static void gather_inputs(struct run *r, const size_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        memcpy(r->xb + i * r->dim, r->ds.x + list[i] * r->dim, r->dim * sizeof(float));
        r->yb[i] = class_of(r, list[i]);
        r->ids[i] = list[i];
    }
}

/* Training inputs only (never evaluation): samples list[0..n) of the global batch
 * r->cur_batch, gathered in r->xb, mixed with their partners (--mixup), masked
 * (--spec-augment); their target mass (label smoothing, class weights, mixup) into r->tgt.
 * Everything is keyed by (seed, epoch, sample id, batch index): see nn/augment.h. */
static void augment_inputs(struct run *r, const size_t *list, size_t n)
{
    const struct dist_train_cfg *c = &r->cfg;
    size_t K = (size_t)r->st.n_classes, off = (size_t)(list - r->cur_batch), D = r->dim;
    uint64_t seed = (uint64_t)r->st.seed, ep = (uint64_t)r->st.epoch;
    const float *cw = r->weighted ? r->cw : NULL;
    const struct nn_specaug *sa = &c->spec_augment;
    memset(r->tgt, 0, n * K * sizeof *r->tgt);
    for (size_t i = 0; i < n; i++) {
        float *x = r->xb + i * D, *a = r->tgt + i * K;
        if (c->mixup > 0) {
            size_t j = r->cur_batch[r->partner[off + i]];
            float lam = nn_mixup_lambda(c->mixup, seed, ep, list[i]), mu = 1.0f - lam;
            const float *xj = r->ds.x + j * D;
            for (size_t d = 0; d < D; d++) x[d] = lam * x[d] + mu * xj[d];
            nn_target_add(a, r->yb[i], cw, c->label_smoothing, lam, K);
            nn_target_add(a, class_of(r, j), cw, c->label_smoothing, mu, K);
        } else {
            nn_target_add(a, r->yb[i], cw, c->label_smoothing, 1.0f, K);
        }
        if (sa->nf > 0 || sa->nt > 0)
            nn_specaug_apply(x, r->planes, r->ds.n_mfcc / r->planes, r->ds.frames, sa, seed, ep,
                             list[i]);
    }
}

/* Forward and backward of samples list[0..n): ADDS their summed gradient to the model's
 * gradient buffer; *loss = their loss sum (NaN if it is not finite), *correct = how many
 * the model got right. */
static int local_gradient(struct run *r, const size_t *list, size_t n, double *loss,
                          double *correct, struct err *e)
{
    struct nn_step st = {.class_weight = r->weighted ? r->cw : NULL,
                         .seed = (uint64_t)r->st.seed,
                         .epoch = (uint64_t)r->st.epoch,
                         .train = 1,
                         .sample_ids = r->ids,
                         .target = r->augment ? r->tgt : NULL};
    size_t K = (size_t)r->st.n_classes;
    gather_inputs(r, list, n);
    if (r->augment) augment_inputs(r, list, n);
    if (nn_model_train_step(r->model, r->xb, r->yb, n, &st, loss, r->probs) != 0) {
        /* Cannot happen with the buffers planned at setup; no rank may wait for this one. */
        fprintf(stderr, "ser train: internal error: the training step refused %zu samples\n", n);
        dist_comm_abort(r->comm, SER_EXIT_INPUT);
    }
    (void)e;
    *correct = 0;
    for (size_t k = 0; k < n; k++) *correct += dist_argmax(r->probs + k * K, K) == r->yb[k];
    if (dist_faults_nan(&r->faults)) nn_model_grads(r->model)[0] = NAN;
    return 0;
}

/* Default mode: this rank's slice of the batch, then the one collective. */
static int reduce_gradient(struct run *r, const size_t *batch, size_t Bb, double denom, double *x,
                           struct err *e)
{
    size_t np = nn_model_nparams(r->model), ns = nn_model_nstats(r->model), b, end;
    float *g = nn_model_grads(r->model); /* [np + NN_GRAD_EXTRA + ns] */
    /* the batchnorm statistic slots, if any, ride along: the one collective covers them */
    size_t n = ns ? np + NN_GRAD_EXTRA + ns : np + X_COUNT;
    dist_shard(Bb, r->size, r->rank, &b, &end);
    memset(g, 0, n * sizeof *g);
    if (end > b) {
        x[X_CALLS] += 1;
        double loss, correct;
        if (local_gradient(r, batch + b, end - b, &loss, &correct, e) != 0) return -1;
        if (isfinite(loss))
            x[X_LOSS] += loss;
        else
            x[X_NONFINITE] = 1;
        x[X_CORRECT] += correct;
    }
    for (int k = 0; k < X_COUNT; k++) g[np + k] = (float)x[k];
    dist_sum_f32(r->comm, g, n);
    for (int k = 0; k < X_COUNT; k++) x[k] = g[np + k];
    nn_model_update_running(r->model, g + np + NN_GRAD_EXTRA, x[X_CALLS]);
    float inv = (float)(1.0 / denom);
    for (size_t i = 0; i < np; i++) g[i] *= inv;
    return 0;
}

/* --deterministic: whole micro-batches on this rank, summed exactly over all ranks. */
static int reduce_gradient_exact(struct run *r, const size_t *batch, size_t Bb, double denom,
                                 double *x, struct err *e)
{
    size_t np = nn_model_nparams(r->model), M = (size_t)r->cfg.micro_batch;
    size_t ns = nn_model_nstats(r->model), nv = np + ns; /* a term: gradient, statistics */
    size_t nmb = (Bb + M - 1) / M, mb, me;
    float *g = nn_model_grads(r->model);
    /* Loss sums in fixed point per micro-batch: their integer sum is order-free. */
    int64_t sums[X_COUNT] = {0};
    dist_shard(nmb, r->size, r->rank, &mb, &me);
    for (size_t k = mb; k < me; k++) {
        double loss, correct;
        float *term = r->mb_grads + (k - mb) * nv;
        memset(g, 0, (np + NN_GRAD_EXTRA + ns) * sizeof *g);
        if (local_gradient(r, batch + k * M, min_sz(M, Bb - k * M), &loss, &correct, e) != 0)
            return -1;
        sums[X_CALLS]++;
        if (isfinite(loss))
            sums[X_LOSS] += llround(loss * LOSS_SCALE);
        else
            sums[X_NONFINITE]++;
        sums[X_CORRECT] += (int64_t)correct;
        memcpy(term, g, np * sizeof *g);
        memcpy(term + np, g + np + NN_GRAD_EXTRA, ns * sizeof *g);
        dist_exact_observe(&r->exact, term); /* a non-finite value makes agree fail */
    }
    int stop = x[X_STOP] != 0;
    if (dist_exact_agree(&r->exact, r->comm, nmb, &stop, e) != 0) {
        long s = r->exact.bad_seg;
        size_t nt = nn_model_ntensors(r->model);
        r->bad_what = s >= 0 && (size_t)s < nt ? nn_model_tensor(r->model, (size_t)s)->name
                      : s >= 0 && ns           ? "the batchnorm statistics"
                                               : "the gradients";
        return 0;
    }
    for (size_t k = mb; k < me; k++) dist_exact_add(&r->exact, r->mb_grads + (k - mb) * nv);
    sums[X_STOP] = stop;
    /* g[0, np): the gradient of the mean loss; g[np, np + ns): the summed statistics of the
     * nmb micro-batches (unscaled, see plan_buffers), bit-identical for any rank count */
    if (dist_exact_finish(&r->exact, r->comm, 1.0 / denom, g, sums, e) != 0)
        r->bad_what = "the gradients";
    else
        nn_model_update_running(r->model, g + np, (double)sums[X_CALLS]);
    x[X_LOSS] = (double)sums[X_LOSS] / LOSS_SCALE;
    x[X_CORRECT] = (double)sums[X_CORRECT];
    x[X_STOP] = stop;
    x[X_NONFINITE] = (double)sums[X_NONFINITE];
    return 0;
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

/* The weight of a global batch: its size, or with class weights the sum of its samples'
 * weights w_y (PyTorch's weighted mean divides by it, also with label smoothing); with mixup
 * a sample weighs lam w_yi + (1 - lam) w_yj. Every rank knows the whole batch, so this needs
 * no communication and has the same bits everywhere. */
static double batch_weight(const struct run *r, const size_t *batch, size_t Bb)
{
    if (!r->weighted) return (double)Bb;
    double w = 0;
    uint64_t seed = (uint64_t)r->st.seed, ep = (uint64_t)r->st.epoch;
    for (size_t i = 0; i < Bb; i++) {
        double wi = r->cw[class_of(r, batch[i])];
        if (r->cfg.mixup > 0) {
            float lam = nn_mixup_lambda(r->cfg.mixup, seed, ep, batch[i]);
            wi = lam * wi + (1.0f - lam) * (double)r->cw[class_of(r, batch[r->partner[i]])];
        }
        w += wi;
    }
    return w;
}

/* One global batch: this rank's share of the gradient, the reduction over all ranks, one
 * optimizer step (identical on every rank). *stop: all ranks agreed to stop after it. */
static int train_batch(struct run *r, const size_t *batch, size_t Bb, int *stop, struct err *e)
{
    dist_faults_batch(&r->faults); /* tests: may raise a signal before this batch */
    double x[X_COUNT] = {0, 0, dist_signal_pending() != 0, 0};
    r->cur_batch = batch;
    if (r->cfg.mixup > 0)
        nn_mixup_partners(r->partner, Bb, (uint64_t)r->st.seed, (uint64_t)r->st.epoch,
                          (uint64_t)r->st.batch);
    double denom = batch_weight(r, batch, Bb); /* the mean loss of the global batch */
    int rc = r->cfg.deterministic ? reduce_gradient_exact(r, batch, Bb, denom, x, e)
                                  : reduce_gradient(r, batch, Bb, denom, x, e);
    if (rc != 0) return rc;
    const char *bad = r->bad_what ? r->bad_what : nonfinite_tensor(r);
    if (!bad && x[X_NONFINITE] != 0) bad = "the loss";
    if (bad)
        return err_code(e, SER_EXIT_NUMERIC,
                        "non-finite value in %s at epoch %lld, batch %lld (the last good "
                        "checkpoint is intact)",
                        bad, (long long)r->st.epoch + 1, (long long)r->st.batch + 1);
    float *g = nn_model_grads(r->model);
    size_t np = nn_model_nparams(r->model);
    if (r->cfg.clip > 0) nn_clip_grad_norm(g, np, r->cfg.clip);
    nn_adam_step(&r->st.adam, nn_model_params(r->model), g);
    r->st.ep_loss_sum += x[X_LOSS];
    r->st.ep_correct += x[X_CORRECT];
    r->st.ep_seen += (double)Bb;
    r->st.ep_weight += denom;
    *stop = x[X_STOP] != 0;
    return 0;
}

/* Trains from st.batch to the end of epoch st.epoch. Returns 0, or -1 with e filled (its
 * class SER_EXIT_SIGNAL after a checkpoint, SER_EXIT_NUMERIC, SER_EXIT_IO). */
static int train_epoch(struct run *r, struct err *e)
{
    struct dist_state *st = &r->st;
    size_t n = r->cnt[DIST_TRAIN], B = (size_t)r->cfg.batch, nb = (n + B - 1) / B;
    dist_shuffle(r->idx[DIST_TRAIN], n, (uint64_t)st->seed, (uint64_t)st->epoch, r->perm);
    struct dist_progress pg;
    char what[32];
    snprintf(what, sizeof what, "epoch %lld", (long long)st->epoch + 1);
    dist_progress_start(&pg, what, "samples", n, r->rank == 0 && !r->cfg.quiet);
    double t0 = dist_now(), c0 = dist_comm_seconds(r->comm);
    int rc = 0, stop = 0;
    while (rc == 0 && (size_t)st->batch < nb && !stop) {
        size_t start = (size_t)st->batch * B, Bb = min_sz(B, n - start);
        rc = train_batch(r, r->perm + start, Bb, &stop, e);
        if (rc) break;
        st->batch++;
        dist_progress_update(&pg, start + Bb);
        int periodic = r->cfg.checkpoint_batches && st->batch % r->cfg.checkpoint_every == 0;
        if ((stop || periodic) && (size_t)st->batch < nb) {
            st->ep_seconds += dist_now() - t0;
            t0 = dist_now();
            rc = dist_train_checkpoint(r, 0, 0, e);
        }
    }
    dist_progress_end(&pg);
    double dt = dist_now() - t0;
    st->ep_seconds += dt;
    r->train_s += dt;
    r->comm_s += dist_comm_seconds(r->comm) - c0;
    if (rc == 0 && stop && (size_t)st->batch < nb)
        rc = err_code(e, SER_EXIT_SIGNAL,
                      "stopped by a signal at epoch %lld, batch %lld; checkpoint %s/last.ckpt "
                      "written: resume with --resume auto",
                      (long long)st->epoch + 1, (long long)st->batch, r->cfg.out);
    return rc;
}

/* Sharded evaluation of subset s: loss sum and confusion matrix, reduced on every rank.
 * Chunks are fixed (micro-batches in deterministic mode), so results do not depend on the
 * number of ranks there. */
static int evaluate(struct run *r, int s, double *loss, dist_conf conf, struct err *e)
{
    size_t n = r->cnt[s], K = (size_t)r->st.n_classes, chunk = 1, B = (size_t)r->cfg.batch;
    if (r->cfg.deterministic) chunk = B = (size_t)r->cfg.micro_batch;
    size_t cb, ce;
    dist_shard((n + chunk - 1) / chunk, r->size, r->rank, &cb, &ce);
    size_t b = cb * chunk, end = min_sz(ce * chunk, n);
    int64_t red[1 + DSP_N_LABELS * DSP_N_LABELS] = {0};
    int rc = 0;
    for (size_t i = b; i < end && rc == 0; i += B) {
        size_t m = min_sz(B, end - i);
        double l = 0;
        gather_inputs(r, r->idx[s] + i, m);
        if (nn_model_forward(r->model, r->xb, r->yb, m, &l, r->probs) != 0) {
            rc = err_set(e, "internal: evaluation refused %zu samples", m);
            break;
        }
        red[0] += llround(l * LOSS_SCALE);
        for (size_t k = 0; k < m; k++)
            red[1 + r->yb[k] * DSP_N_LABELS + dist_argmax(r->probs + k * K, K)]++;
    }
    if (dist_agree(r->comm, rc ? SER_EXIT_INPUT : 0, e)) return -1;
    dist_sum_i64(r->comm, red, 1 + DSP_N_LABELS * DSP_N_LABELS);
    *loss = (double)red[0] / LOSS_SCALE;
    memcpy(conf, red + 1, sizeof(int64_t) * DSP_N_LABELS * DSP_N_LABELS);
    return 0;
}

/* End of an epoch: validation, the history row, early stopping and the learning-rate
 * schedule (rank 0 decides, everyone follows). *improved: this epoch is the new best. */
static int end_epoch(struct run *r, int *improved, struct err *e)
{
    struct dist_state *st = &r->st;
    dist_conf conf;
    struct dist_metrics m;
    double vloss, t0 = dist_now();
    if (evaluate(r, DIST_VAL, &vloss, conf, e)) return -1;
    dist_class_metrics(conf, st->cls.n, &m);
    double *h = st->hist + (size_t)st->epoch * DIST_H_COLS;
    h[DIST_H_TRAIN_LOSS] = st->ep_loss_sum / st->ep_weight;
    h[DIST_H_TRAIN_ACC] = st->ep_correct / st->ep_seen;
    h[DIST_H_VAL_LOSS] = vloss / (double)r->cnt[DIST_VAL];
    h[DIST_H_VAL_ACC] = m.accuracy;
    h[DIST_H_VAL_UAR] = m.uar;
    h[DIST_H_LR] = st->adam.lr;
    h[DIST_H_SECONDS] = st->ep_seconds + (dist_now() - t0); /* training + validation */
    h[DIST_H_SAMPLES_PER_S] = st->ep_seconds > 0 ? st->ep_seen / st->ep_seconds : 0;
    double decision[3] = {0, 0, st->adam.lr};
    if (r->rank == 0) {
        int stop = 0;
        double metric = strcmp(r->cfg.monitor, "val_uar") == 0        ? h[DIST_H_VAL_UAR]
                        : strcmp(r->cfg.monitor, "val_accuracy") == 0 ? h[DIST_H_VAL_ACC]
                                                                      : h[DIST_H_VAL_LOSS];
        decision[0] = dist_stopper_update(&st->stopper, (int)st->epoch, metric, &stop);
        decision[1] = stop;
        if (r->cfg.lr_factor < 1)
            decision[2] = dist_plateau_update(&st->plateau, metric, st->adam.lr);
    }
    dist_bcast(r->comm, decision, sizeof decision, 0);
    dist_bcast(r->comm, &st->stopper, sizeof st->stopper, 0);
    dist_bcast(r->comm, &st->plateau, sizeof st->plateau, 0);
    *improved = decision[0] != 0;
    if (*improved) {
        memcpy(st->best, nn_model_params(r->model), nn_model_nparams(r->model) * sizeof(float));
        if (st->nrunning)
            memcpy(st->best_running, st->running, (size_t)st->nrunning * sizeof(float));
    }
    st->adam.lr = decision[2];
    if (r->rank == 0 && !r->cfg.quiet)
        fprintf(stderr,
                "epoch %3lld/%ld  loss %.4f  acc %.4f  val_loss %.4f  val_acc %.4f  val_uar "
                "%.4f  lr %.3g  %.1f s  %.0f samples/s%s\n",
                (long long)st->epoch + 1, r->cfg.epochs, h[0], h[1], h[2], h[3], h[7], h[4], h[5],
                h[6], *improved ? "  *" : "");
    st->epoch++;
    st->batch = 0;
    st->ep_loss_sum = st->ep_correct = st->ep_seen = st->ep_seconds = st->ep_weight = 0;
    st->done = decision[1] != 0; /* early stop: final, also for a resumed run */
    return 0;
}

/* The best weights back, the test set, the report (rank 0). */
static int finish(struct run *r, struct err *e)
{
    double tloss, t[2] = {r->train_s, r->comm_s};
    size_t np = nn_model_nparams(r->model);
    memcpy(nn_model_params(r->model), r->st.best, np * sizeof(float));
    if (r->st.nrunning)
        memcpy(r->st.running, r->st.best_running, (size_t)r->st.nrunning * sizeof(float));
    if (evaluate(r, DIST_TEST, &tloss, r->test_conf, e)) return -1;
    r->test_loss = tloss / (double)r->cnt[DIST_TEST];
    dist_max_f64(r->comm, t, 2);
    int rc = 0;
    if (r->rank == 0) {
        struct dist_report rep = {
            .run_dir = r->cfg.out,
            .config = r->st.config,
            .options = &dist_train_options,
            .cfg = &r->cfg,
            .git_rev = SER_GIT_REV,
            .n_files = r->ds.n,
            .n_skipped = r->ds.n_skipped,
            .n_train = r->cnt[DIST_TRAIN],
            .n_val = r->cnt[DIST_VAL],
            .n_test = r->cnt[DIST_TEST],
            .ranks = r->size,
            .threads = (int)r->cfg.threads,
            .nparams = np,
            .spec = r->st.spec,
            .hist = r->st.hist,
            .epochs_run = (int)r->st.epoch,
            .best_epoch = r->st.stopper.best_epoch + 1,
            .test_loss = r->test_loss,
            .K = r->st.cls.n,
            .classes = r->st.cls.name,
            .test_speakers = r->test_speakers,
            .wall_seconds = dist_now() - r->t_start,
            .train_seconds = t[0],
            .comm_seconds = t[1],
        };
        memcpy(rep.conf, r->test_conf, sizeof rep.conf);
        rc = dist_report_write(&rep, e);
        if (rc == 0 && dist_report_print(&rep, stdout, e) != 0) rc = -1;
    }
    return dist_agree(r->comm, rc ? err_exit_code(e) : 0, e) ? -1 : 0;
}

/* Epochs until early stopping or --epochs, with checkpoints; then the test set. Returns 0,
 * or -1 on every rank with e filled (e->code: the exit status). */
int dist_train_fit(struct run *r, struct err *e)
{
    struct dist_state *st = &r->st;
    while (!st->done && st->epoch < r->cfg.epochs) {
        int improved = 0, rc = train_epoch(r, e);
        if (rc == 0) rc = end_epoch(r, &improved, e);
        if (rc) return rc;
        double sig = dist_signal_pending() != 0;
        dist_max_f64(r->comm, &sig, 1);
        int due = r->cfg.checkpoint_batches || st->done || sig || st->epoch >= r->cfg.epochs ||
                  st->epoch % r->cfg.checkpoint_every == 0;
        if ((due || improved) && (rc = dist_train_checkpoint(r, improved, 1, e)) != 0) return rc;
        if (sig && !st->done)
            return err_code(e, SER_EXIT_SIGNAL,
                            "stopped by a signal after epoch %lld; checkpoint %s/last.ckpt "
                            "written: resume with --resume auto",
                            (long long)st->epoch, r->cfg.out);
    }
    return finish(r, e);
}
