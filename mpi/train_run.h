/* train_run.h: what the parts of `ser train` share (train.c: the training loop;
 * train_setup.c: run directory, data, model and resume; train_ckpt.c: checkpoint files).
 * Internal to the trainer.
 */
#ifndef SER_TRAIN_RUN_H
#define SER_TRAIN_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "mpi/comm/comm.h"
#include "mpi/comm/exact.h"
#include "mpi/dataset.h"
#include "mpi/metrics.h"
#include "mpi/signals.h"
#include "mpi/split.h"
#include "mpi/state.h"
#include "mpi/train.h"
#include "nn/model.h"

/* Per-step scalars reduced with the gradient (after it in the model's gradient buffer, or
 * as extra sums of the exact reduction): loss sum, correct predictions, a stop request,
 * a non-finite loss, and the training calls that had samples (the divisor of the summed
 * batchnorm statistics, nn_model_update_running). */
enum { X_LOSS, X_CORRECT, X_STOP, X_NONFINITE, X_CALLS, X_COUNT };

struct run {
    struct dist_comm *comm;
    int rank, size;
    struct dist_train_cfg cfg;
    struct dist_dataset ds; /* every sample's features, normalised in place */
    int *assign;            /* [n] DIST_TRAIN / DIST_VAL / DIST_TEST */
    size_t *idx[3], cnt[3]; /* the samples of each subset */
    size_t dim;             /* floats per sample */
    size_t maxb;            /* the most samples one step or evaluation call sees:
                               min(--batch-size, the largest subset) */
    struct nn_model *model;
    struct dist_state st;   /* the live training state: exactly what a checkpoint holds */
    size_t hist_rows;       /* capacity of st.hist */
    float cw[DSP_N_LABELS]; /* class weights of the loss (--class-weight balanced), by class */
    int weighted;
    /* buffers planned once at setup; the step never allocates */
    float *xb;     /* [batch][dim] inputs of this rank's part of a batch */
    int *yb;       /* [batch] */
    uint64_t *ids; /* [batch] global sample indices (dropout keys) */
    float *probs;  /* [batch][classes] */
    /* augmentation (--label-smoothing, --mixup, --spec-augment: nn/augment.h) */
    int augment;             /* any of them on: the step trains against r->tgt */
    size_t planes;           /* feature planes stacked [plane][n_mfcc / planes][T] (1; --deltas
                                would make it 3): SpecAugment masks the same band in each */
    float *tgt;              /* [batch][classes] target mass of this rank's samples */
    size_t *partner;         /* [batch] mixup partner positions of the global batch */
    const size_t *cur_batch; /* the global batch being trained (partners index it) */
    size_t *perm;            /* [train] this epoch's order */
    /* --deterministic */
    struct dist_exact exact;
    float *mb_grads; /* [mb_max][nparams + nstats] this rank's micro-batch gradients (and
                        batchnorm statistics) of a batch */
    size_t mb_max;
    /* bookkeeping */
    struct dist_faults faults;
    int have_ckpt;          /* a resumable checkpoint exists in the run directory */
    int lock_fd;            /* rank 0: RUN_DIR/.ser.lock, flock'ed for the whole run (0: none) */
    double t_start;         /* wall clock at start */
    double train_s, comm_s; /* training time and its part in collectives (this rank) */
    const char *bad_what;   /* tensor with a non-finite gradient, or NULL */
    dist_conf test_conf;    /* after the fit: the test set's confusion matrix (classes) */
    double test_loss;
    const char *test_speakers; /* a cross-validation fold's held-out speakers, or NULL */
    char split_how[4200];      /* the split made: --split, or speaker:LIST for a fold */
    int argc;                  /* the command line, re-applied over a resumed configuration */
    char **argv;
};

/* train_setup.c */
int dist_mkdir_p(const char *path, struct err *e);
/* The features of --data (extracted or from the cache; expect_list: the list hash a resumed
 * run must find, 0 for any) with --labels/--label-map applied, into r->ds. Collective. */
int dist_train_load_data(struct run *r, uint64_t expect_list, struct err *e);
/* One training run on comm: setup, fit, reports, with the held-out speakers of a
 * cross-validation fold (test_speakers "A,B", or NULL: cfg's split). Returns the exit
 * status (0 ok), with e filled otherwise. */
int dist_train_one(struct dist_comm *comm, const struct dist_train_cfg *cfg, int argc, char **argv,
                   const char *test_speakers, struct err *e);
int dist_train_setup(struct run *r, struct err *e);
void dist_train_free(struct run *r);
/* train_ckpt.c: rank 0 writes last.ckpt (+ prev.ckpt, epoch-NNNN.ckpt) and, if write_best,
 * best.ckpt; collective. Returns 0, or -1 (class SER_EXIT_IO) when no checkpoint can be
 * written at all (none exists to resume from). Also rewrites metrics.tsv. */
int dist_train_checkpoint(struct run *r, int write_best, int epoch_end, struct err *e);
/* Rank 0: the newest resumable checkpoint in dir (empty string: none). Damaged ones are
 * skipped with a message; -1 with e when checkpoint files exist but none can be resumed
 * (never start over silently). */
int dist_train_find_resume(const char *dir, char *out, size_t n, int quiet, struct err *e);
/* train.c: returns 0, or -1 on every rank with e filled (e->code: the exit status). */
int dist_train_fit(struct run *r, struct err *e);
/* train_cv.c: --cv loso|K, every fold a full run in RUN_DIR/fold-NNN, then the summary. */
int dist_train_cv(struct dist_comm *world, const struct dist_train_cfg *cfg, int argc, char **argv,
                  struct err *e);

#endif
