/* train_setup.c: everything `ser train` does before and around the training loop
 * (train.c): options, the run directory, the checkpoint to resume from and its stored
 * configuration, the features, the split, the normalisation, the model and every buffer
 * the loop needs (planned once: the training step never allocates), config.txt and
 * split.csv. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dsp/file.h"
#include "dsp/scan.h"
#include "mpi/classify.h"
#include "mpi/commands.h"
#include "mpi/csv.h"
#include "mpi/extract.h"
#include "mpi/memory.h"
#include "mpi/npy.h"
#include "mpi/progress.h"
#include "mpi/train_run.h"
#include "nn/gemm.h"

#ifndef SER_VERSION
#define SER_VERSION "dev"
#endif

_Static_assert(NN_GRAD_EXTRA >= X_COUNT, "the per-step scalars ride after the gradient");

int dist_mkdir_p(const char *path, struct err *e)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return err_set(e, "%s: path too long", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return err_io(e, "%s: cannot create directory: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
        return err_io(e, "%s: cannot create directory: %s", buf, strerror(errno));
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) return err_io(e, "%s: not a directory", buf);
    return 0;
}

/* What a run directory holds, apart from its lock file. */
struct dir_survey {
    int entries, is_run, has_ckpt;
};

static int is_ckpt_name(const char *name)
{
    size_t l = strlen(name);
    return l > 5 && strcmp(name + l - 5, ".ckpt") == 0 && strcmp(name, "best.ckpt") != 0;
}

static void survey(const char *dir, struct dir_survey *s)
{
    memset(s, 0, sizeof *s);
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
            strcmp(de->d_name, ".ser.lock") == 0)
            continue;
        s->entries++;
        if (is_ckpt_name(de->d_name)) s->has_ckpt = s->is_run = 1;
        if (strcmp(de->d_name, "split.csv") == 0) {
            char path[4400], head[32] = "";
            snprintf(path, sizeof path, "%s/split.csv", dir);
            FILE *f = fopen(path, "r");
            if (f && fgets(head, sizeof head, f) && strcmp(head, "path,speaker,label,split\n") == 0)
                s->is_run = 1;
            if (f) fclose(f);
        }
    }
    if (d) closedir(d);
}

/* Removes the checkpoints of the run being replaced (--overwrite), so that --resume auto
 * can never pick one of them up later. */
static void remove_checkpoints(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (is_ckpt_name(de->d_name) || strcmp(de->d_name, "best.ckpt") == 0) unlink(path);
    }
    if (d) closedir(d);
}

/* Rank 0: creates and locks the run directory, and refuses to write where that would
 * destroy something: another run in progress (the lock), a resumable run when not resuming,
 * a directory of other files. --overwrite lifts the last two. */
static int claim_run_dir(struct run *r, int resuming, struct err *e)
{
    const struct dist_train_cfg *c = &r->cfg;
    char path[4400];
    struct stat st;
    if (dist_mkdir_p(c->out, e)) return -1;
    snprintf(path, sizeof path, "%s/.ser.lock", c->out);
    int had_lock = lstat(path, &st) == 0;
    r->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (r->lock_fd < 0) return err_io(e, "%s: cannot create: %s", path, strerror(errno));
    if (flock(r->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        char pid[32] = "";
        ssize_t n = pread(r->lock_fd, pid, sizeof pid - 1, 0);
        pid[n > 0 ? n : 0] = 0;
        pid[strcspn(pid, "\n")] = 0;
        return err_set(e, "%s: another ser run is using this directory (pid %s)", c->out,
                       pid[0] ? pid : "unknown");
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(r->lock_fd, 0) != 0 || pwrite(r->lock_fd, pid, (size_t)n, 0) != n)
        return err_io(e, "%s: cannot write: %s", path, strerror(errno));
    struct dir_survey s;
    survey(c->out, &s);
    int refuse = (s.entries && !s.is_run) || (s.has_ckpt && !resuming);
    if (refuse && !c->overwrite && !had_lock) unlink(path); /* leave the directory as it was */
    if (s.entries && !s.is_run && !c->overwrite)
        return err_set(e,
                       "%s: not empty and not a ser run directory: will not write into it "
                       "(choose a new directory, or --overwrite)",
                       c->out);
    if (s.has_ckpt && !resuming && !c->overwrite)
        return err_set(e,
                       "%s: holds a run that can be resumed: continue it with --resume auto, "
                       "or start over with --overwrite",
                       c->out);
    if (c->overwrite && !resuming) remove_checkpoints(c->out);
    return 0;
}

/* Rank 0 picks the run directory and the checkpoint to resume from; all ranks learn them. */
static int choose_run(struct run *r, char *resume, size_t n, struct err *e)
{
    struct dist_train_cfg *c = &r->cfg;
    int rc = 0;
    resume[0] = 0;
    if (r->rank == 0) {
        int automatic = strcmp(c->resume, "auto") == 0;
        if (c->resume[0] && !automatic) {
            snprintf(resume, n, "%s", c->resume);
            if (!c->out[0]) { /* the checkpoint's own directory */
                snprintf(c->out, sizeof c->out, "%s", c->resume);
                char *slash = strrchr(c->out, '/');
                snprintf(slash ? slash : c->out, sizeof c->out, "%s", slash ? "" : ".");
            }
        }
        if (!c->out[0] && automatic) rc = err_set(e, "--resume auto needs --out RUN_DIR");
        if (!c->out[0]) {
            time_t t = time(NULL);
            struct tm tm;
            localtime_r(&t, &tm);
            strftime(c->out, sizeof c->out, "results/%Y%m%d-%H%M%S", &tm);
        }
        if (rc == 0) rc = claim_run_dir(r, c->resume[0] != 0, e);
        if (rc == 0 && automatic) rc = dist_train_find_resume(c->out, resume, n, c->quiet, e);
    }
    if (dist_agree(r->comm, rc ? err_exit_code(e) : 0, e)) return -1;
    dist_bcast(r->comm, c->out, sizeof c->out, 0);
    dist_bcast(r->comm, resume, n, 0);
    return 0;
}

/* The augmentation options define what the run trains on: a resumed run keeps its own (the
 * command line may repeat them, not change them). */
static int same_augment(const struct dist_train_cfg *was, const struct dist_train_cfg *now,
                        const char *path, struct err *e)
{
    static const char *names[] = {"label-smoothing", "mixup", "spec-augment"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char a[64], b[64];
        cli_value(&dist_train_options, was, names[i], a, sizeof a);
        cli_value(&dist_train_options, now, names[i], b, sizeof b);
        if (strcmp(a, b) != 0)
            return err_set(e, "%s: trained with --%s %s; it cannot change to %s when a run resumes",
                           path, names[i], a, b);
    }
    return 0;
}

/* Reads the checkpoint on rank 0 (ranks need not share a file system), decodes it on every
 * rank, and re-applies its stored configuration under the options of this command line. */
static int load_resume(struct run *r, const char *path, struct dist_state *ck, struct err *e)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    char *text = NULL;
    int rc = r->rank == 0 ? cli_read_text(path, (size_t)1 << 34, &text, &len, e) : 0;
    buf = (unsigned char *)text;
    if (dist_agree(r->comm, rc ? err_exit_code(e) : 0, e) ||
        dist_bcast_buffer(r->comm, &buf, &len, 0, e)) {
        free(buf);
        return -1;
    }
    int train = 0;
    rc = dist_state_decode(ck, buf, len, path, &train, e);
    free(buf);
    if (rc == 0 && !train)
        rc = err_set(e,
                     "%s: holds no training state (a model-only checkpoint such as "
                     "best.ckpt cannot be resumed)",
                     path);
    if (rc == 0) {
        char out[sizeof r->cfg.out];
        memcpy(out, r->cfg.out, sizeof out);
        cli_defaults(&dist_train_options, &r->cfg);
        int pos;
        rc = cli_config_text(&dist_train_options, ck->config, strlen(ck->config), path,
                             CLI_RUN_LOCAL, &r->cfg, e);
        char monitor[sizeof r->cfg.monitor];
        memcpy(monitor, r->cfg.monitor, sizeof monitor);
        struct dist_train_cfg stored = r->cfg;
        if (rc == 0 && cli_parse(&dist_train_options, r->argc, r->argv, &r->cfg, &pos) != CLI_OK)
            rc = err_set(e, "the command line does not apply over %s's configuration", path);
        if (rc == 0 && strcmp(monitor, r->cfg.monitor) != 0)
            rc = err_set(e, "%s: monitored %s; --monitor cannot change when a run resumes", path,
                         monitor);
        if (rc == 0) rc = same_augment(&stored, &r->cfg, path, e);
        memcpy(r->cfg.out, out, sizeof out);
    }
    return rc;
}

/* A speaker that the scan could not name ("corpus:unknown"). */
static int unknown_speaker(const char *s)
{
    const char *id = strchr(s, ':');
    return strcasecmp(id ? id + 1 : s, "unknown") == 0;
}

/* --norm speaker: each speaker's files normalised by the statistics of all of that speaker's
 * files (every subset: a test speaker's own unlabelled audio). Files of unknown speakers
 * are refused rather than pooled into one pseudo-speaker. */
static int normalise_speakers(struct run *r, struct err *e)
{
    size_t C = r->ds.n_mfcc, T = r->ds.frames, n = r->ds.n, ns = 0;
    for (size_t i = 0; i < n; i++)
        if (unknown_speaker(r->ds.speaker[i])) {
            size_t k = 0;
            for (size_t j = i; j < n; j++) k += (size_t)unknown_speaker(r->ds.speaker[j]);
            return err_set(e,
                           "--norm speaker: %zu file%s without a known speaker (e.g. %s): name "
                           "their speakers in a manifest's speaker column, or use --norm "
                           "utterance",
                           k, k == 1 ? "" : "s", r->ds.path[i]);
        }
    char **u = dist_speakers(n, r->ds.speaker, &ns);
    size_t *idx = malloc((n ? n : 1) * sizeof *idx);
    float *m = malloc(2 * C * sizeof *m);
    if (!u || !idx || !m) return free(u), free(idx), free(m), err_set(e, "out of memory");
    for (size_t s = 0; s < ns; s++) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (strcmp(r->ds.speaker[i], u[s]) == 0) idx[k++] = i;
        dist_norm_stats(r->ds.x, r->dim, idx, k, C, T, m, m + C);
        for (size_t j = 0; j < k; j++) dist_normalise(r->ds.x + idx[j] * r->dim, C, T, m, m + C);
    }
    free(u), free(idx), free(m);
    return 0;
}

/* SER_DUMP_INPUTS=FILE.npy (a test hook, rank 0): every sample as the model sees it, after
 * the normalisation, float32 [n][n_mfcc][frames] in the order of split.csv. */
static int dump_inputs(const struct run *r, struct err *e)
{
    const char *path = getenv("SER_DUMP_INPUTS");
    if (!path || !path[0] || r->rank != 0) return 0;
    size_t shape[3] = {r->ds.n, r->ds.n_mfcc, r->ds.frames};
    return dist_npy_write(path, "<f4", 3, shape, r->ds.x, e);
}

/* --norm: the statistics and the normalisation of every sample, in place, in double and in
 * sample order: every rank computes the same bits from the same data without communicating.
 * global: per coefficient over all frames of the training samples (st.mean, st.std); speaker
 * and utterance: per speaker / per file (st.mean 0, st.std 1: nothing left to apply). */
static int normalise(struct run *r, struct err *e)
{
    size_t C = r->ds.n_mfcc, T = r->ds.frames;
    int mode = dist_norm_mode(r->cfg.norm);
    r->st.norm = r->cfg.norm;
    if (mode == DIST_NORM_GLOBAL) {
        dist_norm_stats(r->ds.x, r->dim, r->idx[DIST_TRAIN], r->cnt[DIST_TRAIN], C, T, r->st.mean,
                        r->st.std);
        for (size_t i = 0; i < r->ds.n; i++)
            dist_normalise(r->ds.x + i * r->dim, C, T, r->st.mean, r->st.std);
        return dump_inputs(r, e);
    }
    for (size_t c = 0; c < C; c++) r->st.mean[c] = 0, r->st.std[c] = 1;
    if (mode == DIST_NORM_SPEAKER) {
        if (normalise_speakers(r, e)) return -1;
    } else {
        float *m = malloc(2 * C * sizeof *m);
        if (!m) return err_set(e, "out of memory");
        for (size_t i = 0; i < r->ds.n; i++) {
            dist_norm_stats(r->ds.x + i * r->dim, r->dim, NULL, 1, C, T, m, m + C);
            dist_normalise(r->ds.x + i * r->dim, C, T, m, m + C);
        }
        free(m);
    }
    return dump_inputs(r, e);
}

/* --labels and --label-map applied to every file: files of other labels leave the dataset
 * (listed as skipped with the reason), the rest train under their mapped label. */
static int select_labels(struct run *r, struct err *e)
{
    int target[DSP_N_LABELS];
    if (dist_label_plan(r->cfg.labels, r->cfg.label_map, target, e)) return -1;
    size_t n = r->ds.n, dropped[DSP_N_LABELS] = {0};
    int *keep = malloc((n ? n : 1) * sizeof *keep);
    char **why = malloc((n ? n : 1) * sizeof *why), reason[DSP_N_LABELS][128];
    if (!keep || !why) return free(keep), free(why), err_set(e, "out of memory");
    for (int l = 0; l < DSP_N_LABELS; l++)
        snprintf(reason[l], sizeof reason[l],
                 "left out: label %s is not in --labels (name it there, or map it with "
                 "--label-map %s=LABEL)",
                 dsp_label_names[l], dsp_label_names[l]);
    for (size_t i = 0; i < n; i++) {
        int l = r->ds.label[i];
        keep[i] = target[l] >= 0;
        why[i] = reason[l];
        if (keep[i])
            r->ds.label[i] = target[l];
        else
            dropped[l]++;
    }
    int rc = dist_dataset_filter(&r->ds, keep, why, e);
    free(keep), free(why);
    for (int l = 0; rc == 0 && l < DSP_N_LABELS && r->rank == 0 && !r->cfg.quiet; l++)
        if (dropped[l])
            fprintf(stderr, "ser train: left out %zu %s file%s (not in --labels)\n", dropped[l],
                    dsp_label_names[l], dropped[l] == 1 ? "" : "s");
    return rc;
}

/* The classes are the labels present in training, in label order. A label with validation
 * or test files but no training files could never be predicted: refused. */
static int make_classes(struct run *r, struct err *e)
{
    size_t per[3][DSP_N_LABELS] = {{0}};
    for (int s = 0; s < 3; s++)
        for (size_t k = 0; k < r->cnt[s]; k++) per[s][r->ds.label[r->idx[s][k]]]++;
    dist_classes_of(&r->st.cls, per[DIST_TRAIN]);
    for (int l = 0; l < DSP_N_LABELS; l++)
        if (!per[DIST_TRAIN][l] && (per[DIST_VAL][l] || per[DIST_TEST][l]))
            return err_set(e,
                           "label %s has %zu validation and %zu test files but no training file: "
                           "no class could predict it (leave it out with --labels, or choose "
                           "another split)",
                           dsp_label_names[l], per[DIST_VAL][l], per[DIST_TEST][l]);
    if (r->st.cls.n < 2)
        return err_set(e, "%s: the training set holds %d class%s: a classifier needs at least 2",
                       r->cfg.data.v[0], r->st.cls.n, r->st.cls.n == 1 ? "" : "es");
    /* balanced class weights: n / (K * count_c) over the training set (sklearn's rule) */
    r->weighted = strcmp(r->cfg.class_weight, "balanced") == 0;
    for (int k = 0; k < r->st.cls.n; k++)
        r->cw[k] = (float)((double)r->cnt[DIST_TRAIN] /
                           ((double)r->st.cls.n * (double)per[DIST_TRAIN][r->st.cls.label[k]]));
    return 0;
}

/* Augmentation settings against the features' shape (SpecAugment masks fit in a plane). */
static int check_augment(struct run *r, struct err *e)
{
    const struct nn_specaug *sa = &r->cfg.spec_augment;
    r->planes = dist_dataset_planes(&r->ds); /* --deltas: [static; delta; delta-delta] */
    size_t F = r->ds.n_mfcc / r->planes, T = r->ds.frames;
    if (sa->nf > 0 && (size_t)sa->f > F)
        return err_set(e,
                       "--spec-augment %ld,%ld,%ld,%ld: frequency mask width %ld is more than "
                       "the %zu coefficients",
                       sa->f, sa->t, sa->nf, sa->nt, sa->f, F);
    if (sa->nt > 0 && (size_t)sa->t > T)
        return err_set(e,
                       "--spec-augment %ld,%ld,%ld,%ld: time mask width %ld is more than the "
                       "%zu frames",
                       sa->f, sa->t, sa->nf, sa->nt, sa->t, T);
    r->augment = r->cfg.label_smoothing > 0 || r->cfg.mixup > 0 || sa->nf > 0 || sa->nt > 0;
    return 0;
}

/* The split and the sample lists of each subset. */
static int split_data(struct run *r, struct err *e)
{
    size_t n = r->ds.n ? r->ds.n : 1;
    r->assign = malloc(n * sizeof *r->assign);
    for (int s = 0; s < 3; s++) r->idx[s] = malloc(n * sizeof *r->idx[s]);
    if (!r->assign || !r->idx[0] || !r->idx[1] || !r->idx[2]) return err_set(e, "out of memory");
    if (r->test_speakers) /* a cross-validation fold: its speakers are the test set */
        snprintf(r->split_how, sizeof r->split_how, "speaker:%s", r->test_speakers);
    else
        snprintf(r->split_how, sizeof r->split_how, "%s", r->cfg.split);
    struct dist_split_spec sp = {r->split_how, (uint64_t)r->cfg.seed, r->cfg.val_frac,
                                 r->cfg.test_frac, r->cfg.val_speakers};
    if (dist_split(r->ds.n, r->ds.speaker, r->ds.label, r->ds.corpus, &sp, r->assign, e)) return -1;
    for (size_t i = 0; i < r->ds.n; i++) r->idx[r->assign[i]][r->cnt[r->assign[i]]++] = i;
    size_t most = r->cnt[0] > r->cnt[1] ? r->cnt[0] : r->cnt[1];
    most = most > r->cnt[2] ? most : r->cnt[2];
    r->maxb = (size_t)r->cfg.batch < most ? (size_t)r->cfg.batch : most;
    return make_classes(r, e);
}

/* What the run will allocate per rank, against --max-memory, before allocating it. */
static int check_memory(const struct run *r, const char *spec_text, struct err *e)
{
    struct nn_model_cost c;
    size_t B = r->maxb, K = (size_t)r->st.cls.n;
    int rc = spec_text
                 ? nn_model_estimate_from_text(spec_text, r->ds.n_mfcc, r->ds.frames, K, B, &c, e)
                 : nn_model_estimate(r->cfg.model, r->ds.n_mfcc, r->ds.frames, K, B, &c, e);
    if (rc) return -1;
    double p = (double)c.params_bytes, feat = (double)r->ds.n * (double)r->dim * 4;
    double mb = 0;
    if (r->cfg.deterministic) {
        double nmb = ceil((double)B / (double)r->cfg.micro_batch);
        /* a micro-batch term: its gradient and its batchnorm statistics (nn/model.h) */
        double stats = (double)(c.grads_bytes - c.params_bytes) - NN_GRAD_EXTRA * 4.0;
        mb = ceil(nmb / r->size) * (p + stats);
    }
    double need = (double)c.total_bytes + 3 * p + mb + feat + (double)B * (double)r->dim * 4;
    char detail[256], a[32], b[32], f[32];
    dist_format_bytes((double)c.total_bytes, a, sizeof a);
    dist_format_bytes(3 * p + mb, b, sizeof b);
    dist_format_bytes(feat, f, sizeof f);
    snprintf(detail, sizeof detail,
             "%zu parameters; model with activations for %zu samples %s, Adam moments and best "
             "weights%s %s, features %s",
             c.nparams, B, a, mb > 0 ? " and micro-batch gradients" : "", b, f);
    return dist_memory_check(need,
                             dist_memory_limit(r->cfg.max_memory, dist_comm_node_size(r->comm)),
                             "the run", detail, e);
}

/* The live training state: scalars from the options, arrays in buffers owned by the run. */
static int init_state(struct run *r, const char *spec_text, struct err *e)
{
    struct dist_state *st = &r->st;
    size_t B = r->maxb, K = (size_t)r->st.cls.n;
    if (check_memory(r, spec_text, e)) return -1;
    int rc =
        spec_text
            ? nn_model_create_from_text(&r->model, spec_text, r->ds.n_mfcc, r->ds.frames, K, B, e)
            : nn_model_create(&r->model, r->cfg.model, r->ds.n_mfcc, r->ds.frames, K, B, e);
    if (rc) return -1;
    nn_model_init(r->model, (uint64_t)r->cfg.seed);
    size_t np = nn_model_nparams(r->model);
    if (nn_adam_init(&st->adam, np, r->cfg.lr, e)) return -1;
    st->adam.weight_decay = r->cfg.weight_decay;
    st->version = SER_VERSION;
    st->spec = (char *)nn_model_spec(r->model);
    if (strlen(st->spec) >= sizeof r->cfg.model)
        return err_set(e, "the model spec is longer than %zu bytes", sizeof r->cfg.model - 1);
    snprintf(r->cfg.model, sizeof r->cfg.model, "%s", st->spec); /* config.txt: the spec */
    st->in_channels = (int64_t)r->ds.n_mfcc;
    st->in_len = (int64_t)r->ds.frames;
    st->n_classes = (int64_t)K;
    st->params = r->ds.params;
    st->nparams = (int64_t)np;
    st->weights = nn_model_params(r->model);
    st->nrunning = (int64_t)nn_model_nrunning(r->model);
    st->running = st->nrunning ? nn_model_running(r->model) : NULL;
    st->seed = r->cfg.seed;
    st->mbatch = r->cfg.batch;
    st->split = r->split_how;
    st->split_hash = dist_split_hash(r->ds.n, r->ds.path, r->assign);
    st->list_hash = r->ds.list_hash;
    int mode_max = strcmp(r->cfg.monitor, "val_loss") != 0; /* accuracy, UAR: higher is better */
    dist_stopper_init(&st->stopper, mode_max, r->cfg.min_delta, (int)r->cfg.patience);
    dist_plateau_init(&st->plateau, mode_max, r->cfg.lr_factor, (int)r->cfg.lr_patience, 1e-4,
                      (int)r->cfg.lr_cooldown, r->cfg.min_lr);
    r->hist_rows = (size_t)r->cfg.epochs;
    st->mean = malloc(r->ds.n_mfcc * sizeof *st->mean);
    st->std = malloc(r->ds.n_mfcc * sizeof *st->std);
    st->best = malloc(np * sizeof *st->best);
    st->hist = calloc(r->hist_rows * DIST_H_COLS, sizeof *st->hist);
    st->config = cli_dump(&dist_train_options, &r->cfg);
    st->best_running = st->nrunning ? malloc((size_t)st->nrunning * sizeof(float)) : NULL;
    if (!st->mean || !st->std || !st->best || !st->hist || !st->config ||
        (st->nrunning && !st->best_running))
        return err_set(e, "out of memory");
    memcpy(st->best, st->weights, np * sizeof *st->best);
    if (st->nrunning) memcpy(st->best_running, st->running, (size_t)st->nrunning * sizeof(float));
    return 0;
}

/* The buffers of the step, sized once for the largest batch of this rank. */
static int plan_buffers(struct run *r, struct err *e)
{
    size_t B = r->maxb, np = nn_model_nparams(r->model);
    size_t nt = nn_model_ntensors(r->model), K = (size_t)r->st.n_classes;
    r->xb = malloc(B * r->dim * sizeof *r->xb);
    r->yb = malloc(B * sizeof *r->yb);
    r->ids = malloc(B * sizeof *r->ids);
    r->probs = malloc(B * K * sizeof *r->probs);
    r->perm = malloc((r->cnt[DIST_TRAIN] ? r->cnt[DIST_TRAIN] : 1) * sizeof *r->perm);
    r->tgt = malloc(B * K * sizeof *r->tgt);
    r->partner = malloc(B * sizeof *r->partner);
    if (!r->xb || !r->yb || !r->ids || !r->probs || !r->perm || !r->tgt || !r->partner)
        return err_set(e, "out of memory");
    if (!r->cfg.deterministic) return 0;
    size_t M = (size_t)r->cfg.micro_batch, nmb = (B + M - 1) / M;
    size_t ns = nn_model_nstats(r->model), nseg = nt + (ns > 0);
    r->mb_max = (nmb + (size_t)r->size - 1) / (size_t)r->size;
    r->mb_grads = malloc(r->mb_max * (np + ns) * sizeof *r->mb_grads);
    size_t *off = malloc((nseg + 1) * sizeof *off);
    if (!r->mb_grads || !off) {
        free(off);
        return err_set(e, "out of memory for %zu micro-batch gradients", r->mb_max);
    }
    /* one segment per tensor, and one for the batchnorm statistics (summed, not scaled) */
    for (size_t i = 0; i < nt; i++) off[i] = nn_model_tensor(r->model, i)->offset;
    off[nt] = np;
    off[nseg] = np + ns;
    int rc = dist_exact_init(&r->exact, np + ns, nseg, off, X_COUNT, e);
    r->exact.n_scaled = np;
    free(off);
    return rc;
}

/* A resumed run continues exactly where the checkpoint left it. */
static int restore(struct run *r, const struct dist_state *ck, const char *what, struct err *e)
{
    const char *field = dist_state_mismatch(ck, &r->st);
    if (field)
        return err_set(e,
                       "%s: its %s differs from this run's (model, features, --norm, corpus and "
                       "split must be those the run started with)",
                       what, field);
    if (ck->epoch > r->cfg.epochs)
        return err_set(e, "%s: already trained %lld epochs, more than --epochs %ld", what,
                       (long long)ck->epoch, r->cfg.epochs);
    if (ck->batch > 0 && ck->mbatch != r->cfg.batch)
        return err_set(e,
                       "%s: stopped in the middle of an epoch with --batch-size %lld; resume "
                       "with that batch size (or from an epoch boundary)",
                       what, (long long)ck->mbatch);
    size_t B = (size_t)r->cfg.batch, n = r->cnt[DIST_TRAIN];
    if ((size_t)ck->batch >= (n + B - 1) / B && ck->batch > 0)
        return err_set(e, "%s: batch position %lld is past the end of an epoch", what,
                       (long long)ck->batch);
    int mode_max = r->st.stopper.mode_max; /* from --monitor */
    if (ck->stopper.mode_max != mode_max)
        return err_set(e, "%s: monitored %s; --monitor cannot change when a run resumes", what,
                       ck->stopper.mode_max ? "val_accuracy or val_uar" : "val_loss");
    struct dist_stopper es = r->st.stopper;
    struct dist_plateau rlr = r->st.plateau;
    if (dist_state_restore(&r->st, ck, r->hist_rows, e)) return -1;
    /* The callbacks keep their progress; their settings are this command line's. */
    r->st.stopper.patience = es.patience, r->st.stopper.min_delta = es.min_delta;
    r->st.plateau.factor = rlr.factor, r->st.plateau.patience = rlr.patience;
    r->st.plateau.cooldown = rlr.cooldown, r->st.plateau.min_lr = rlr.min_lr;
    r->st.mbatch = r->cfg.batch;
    r->have_ckpt = 1;
    return 0;
}

/* config.txt and split.csv (rank 0). */
static int write_run_files(struct run *r, struct err *e)
{
    static const char *names[3] = {"train", "val", "test"};
    char path[4200];
    snprintf(path, sizeof path, "%s/config.txt", r->cfg.out);
    if (dsp_write_atomic(path, r->st.config, strlen(r->st.config), NULL, e)) return -1;
    snprintf(path, sizeof path, "%s/split.csv", r->cfg.out);
    struct dist_csv csv;
    if (dist_csv_open(&csv, path, "path,speaker,label,split", e)) return -1;
    dist_csv_row(&csv, 4, "path", "speaker", "label", "split");
    for (size_t i = 0; i < r->ds.n; i++)
        dist_csv_row(&csv, 4, r->ds.path[i], r->ds.speaker[i], dsp_label_names[r->ds.label[i]],
                     names[r->assign[i]]);
    return dist_csv_close(&csv, path, e);
}

/* The feature cache of --data: <data>.features.serf for one source; for several,
 * <first>.<hash of the list>.features.serf beside the first. */
static void default_cache(struct dist_train_cfg *c)
{
    size_t l = strlen(c->data.v[0]);
    while (l > 1 && c->data.v[0][l - 1] == '/') l--;
    if (c->data.n == 1) {
        snprintf(c->features, sizeof c->features, "%.*s.features.serf", (int)l, c->data.v[0]);
        return;
    }
    uint64_t h = 14695981039346656037ULL; /* FNV-1a */
    for (int i = 0; i < c->data.n; i++)
        for (const char *p = c->data.v[i];; p++) {
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
            if (!*p) break;
        }
    snprintf(c->features, sizeof c->features, "%.*s.%d-sources-%08llx.features.serf", (int)l,
             c->data.v[0], c->data.n, (unsigned long long)(h & 0xffffffffu));
}

/* What the extraction is asked for: the sources, their naming, the feature parameters. */
static void extract_opts(const struct dist_train_cfg *c, const char **data,
                         struct dist_extract_opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 0; i < c->data.n; i++) data[i] = c->data.v[i];
    o->data = data;
    o->n_data = c->data.n;
    o->out = c->features;
    o->all_ranks = 1;
    o->verbose = !c->quiet;
    dsp_scan_default_opts(&o->scan);
    o->scan.validate = 0;
    o->scan.names.corpus = dsp_corpus_index(c->corpus);
    o->scan.names.ravdess_song = c->ravdess_song;
    dist_features_params_from(&o->params, c->offset, c->duration, (int)c->sr, (int)c->n_mfcc);
    /* cannot fail: train_check and the option table validated the values */
    struct err ignored = {0};
    (void)dist_features_params_output(&o->params, c->feature_type, c->n_mels, c->deltas, &ignored);
}

int dist_train_load_data(struct run *r, uint64_t expect_list, struct err *e)
{
    struct dist_train_cfg *c = &r->cfg;
    if (!c->features[0]) default_cache(c);
    if (c->deterministic && c->threads != 1) {
        if (r->rank == 0 && !c->quiet)
            fprintf(stderr, "ser train: --deterministic uses 1 BLAS thread per rank\n");
        c->threads = 1;
    }
    nn_set_threads((int)c->threads);
    const char *data[CLI_LIST_MAX];
    struct dist_extract_opts xo;
    extract_opts(c, data, &xo);
    xo.expect_list = expect_list;
    int xr = dist_extract(r->comm, &xo, &r->ds, e);
    if (xr < 0) return -1;
    if (xr > 0 && r->rank == 0)
        fprintf(stderr, "ser train: warning: feature cache not written: %s\n", e->msg);
    r->dim = r->ds.n_mfcc * r->ds.frames;
    return select_labels(r, e);
}

/* Features, split, model, buffers; the checkpoint's state if resuming. Collective. */
static int prepare(struct run *r, const char *resume, struct dist_state *ck, struct err *e)
{
    int rc = dist_train_load_data(r, resume[0] ? ck->list_hash : 0, e);
    if (rc == 0) rc = check_augment(r, e);
    if (rc == 0) rc = split_data(r, e);
    if (rc == 0) rc = init_state(r, resume[0] ? ck->spec : NULL, e);
    if (rc == 0) rc = normalise(r, e);
    if (rc == 0) rc = plan_buffers(r, e);
    if (rc == 0 && resume[0]) rc = restore(r, ck, resume, e);
    if (dist_agree(r->comm, rc ? err_exit_code(e) : 0, e)) return -1;
    rc = r->rank == 0 ? write_run_files(r, e) : 0;
    return dist_agree(r->comm, rc ? err_exit_code(e) : 0, e) ? -1 : 0;
}

int dist_train_setup(struct run *r, struct err *e)
{
    char resume[4400];
    struct dist_state ck = {0};
    r->t_start = dist_now();
    dist_faults_init(&r->faults, r->rank, r->size);
    int rc = choose_run(r, resume, sizeof resume, e);
    if (rc == 0 && resume[0]) {
        rc = load_resume(r, resume, &ck, e);
        rc = dist_agree(r->comm, rc ? err_exit_code(e) : 0, e) ? -1 : 0;
    }
    if (rc == 0) rc = prepare(r, resume, &ck, e);
    dist_state_free(&ck);
    if (rc) return -1;
    /* Identical on every rank by construction; broadcast anyway so no rank can differ. */
    dist_bcast(r->comm, nn_model_params(r->model), nn_model_nparams(r->model) * sizeof(float), 0);
    if (r->rank == 0 && !r->cfg.quiet)
        fprintf(stderr,
                "ser train: %zu files (train %zu, val %zu, test %zu; %zu skipped), %zu "
                "parameters, %d rank%s x %ld thread%s%s, run directory %s\n",
                r->ds.n, r->cnt[0], r->cnt[1], r->cnt[2], r->ds.n_skipped,
                nn_model_nparams(r->model), r->size, r->size == 1 ? "" : "s", r->cfg.threads,
                r->cfg.threads == 1 ? "" : "s", r->cfg.deterministic ? ", deterministic" : "",
                r->cfg.out);
    return 0;
}

void dist_train_free(struct run *r)
{
    dist_dataset_free(&r->ds);
    free(r->assign);
    for (int s = 0; s < 3; s++) free(r->idx[s]);
    nn_model_free(r->model);
    nn_adam_free(&r->st.adam);
    free(r->st.mean), free(r->st.std), free(r->st.best), free(r->st.best_running), free(r->st.hist),
        free(r->st.config);
    free(r->xb), free(r->yb), free(r->ids), free(r->probs), free(r->perm), free(r->mb_grads);
    free(r->tgt), free(r->partner);
    if (r->cfg.deterministic) dist_exact_free(&r->exact);
    if (r->lock_fd > 0) close(r->lock_fd); /* releases the lock */
}

int dist_train_one(struct dist_comm *comm, const struct dist_train_cfg *cfg, int argc, char **argv,
                   const char *test_speakers, struct err *e)
{
    struct run *r = calloc(1, sizeof *r);
    if (!r) return err_set(e, "out of memory"), err_exit_code(e);
    r->comm = comm;
    r->rank = dist_comm_rank(comm);
    r->size = dist_comm_size(comm);
    r->cfg = *cfg;
    r->argc = argc;
    r->argv = argv;
    r->test_speakers = test_speakers;
    int code = dist_train_setup(r, e) || dist_train_fit(r, e) ? err_exit_code(e) : 0;
    dist_train_free(r);
    free(r);
    return code;
}

int cmd_train(int argc, char **argv)
{
    struct dist_train_cfg cfg;
    cli_defaults(&dist_train_options, &cfg);
    int pos, pr = cli_parse(&dist_train_options, argc, argv, &cfg, &pos);
    if (pr != CLI_OK) return cli_exit_code(pr);
    if (pos < argc) {
        fprintf(stderr, "ser train: unexpected argument '%s'\nusage: %s\n", argv[pos],
                dist_train_options.usage);
        return SER_EXIT_INPUT;
    }
    struct err e = {0};
    struct dist_comm *world;
    int argc0 = argc;
    char **argv0 = argv;
    if (dist_comm_init(&argc, &argv, &world, &e)) {
        fprintf(stderr, "ser train: %s\n", e.msg);
        return SER_EXIT_INPUT;
    }
    dist_signals_install();
    int code = cfg.cv[0] ? dist_train_cv(world, &cfg, argc0, argv0, &e)
                         : dist_train_one(world, &cfg, argc0, argv0, NULL, &e);
    if (code != SER_EXIT_OK && dist_comm_rank(world) == 0 && e.msg[0])
        fprintf(stderr, "ser train: %s\n", e.msg);
    dist_comm_finalize(world);
    return code;
}
