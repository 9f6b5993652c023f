/* train_ckpt.c: the checkpoint files of a run directory: last.ckpt (every epoch, or every N
 * batches), prev.ckpt (the one before, a hard link), epoch-NNNN.ckpt (--keep), best.ckpt
 * (model only), metrics.tsv; and finding the newest valid one to resume from. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dsp/file.h"
#include "mpi/train_run.h"

static int path_in(char *buf, size_t n, const char *dir, const char *name)
{
    return snprintf(buf, n, "%s/%s", dir, name) < (int)n ? 0 : -1;
}

/* metrics.tsv from the history, rewritten whole and atomically: a resumed run continues it
 * without duplicated or lost rows. */
static int write_metrics(const struct run *r, struct err *e)
{
    size_t cap = 160 + (size_t)r->st.epoch * 200, len;
    char *buf = malloc(cap), path[4200];
    if (!buf) return err_set(e, "out of memory");
    len = (size_t)snprintf(buf, cap,
                           "epoch\ttrain_loss\ttrain_accuracy\tval_loss\t"
                           "val_accuracy\tlr\tseconds\tsamples_per_s\tval_uar\n");
    for (int64_t i = 0; i < r->st.epoch; i++) {
        const double *h = r->st.hist + (size_t)i * DIST_H_COLS;
        len += (size_t)snprintf(buf + len, cap - len,
                                "%lld\t%.6f\t%.6f\t%.6f\t%.6f\t%.6g\t%.3f\t%.1f\t%.6f\n",
                                (long long)i + 1, h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]);
    }
    path_in(path, sizeof path, r->cfg.out, "metrics.tsv");
    int rc = dsp_write_atomic(path, buf, len, NULL, e);
    free(buf);
    return rc;
}

/* Keeps the `keep` newest epoch-NNNN.ckpt files of dir (whatever --checkpoint-every). */
static void prune_epochs(const char *dir, long keep)
{
    long *ep = NULL;
    size_t n = 0, cap = 0;
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        long k;
        char tail[8];
        if (sscanf(de->d_name, "epoch-%ld%7s", &k, tail) != 2 || strcmp(tail, ".ckpt") != 0)
            continue;
        if (n == cap) {
            long *t = realloc(ep, (cap = cap ? 2 * cap : 16) * sizeof *ep);
            if (!t) break;
            ep = t;
        }
        ep[n++] = k;
    }
    if (d) closedir(d);
    for (size_t i = 0; i < n; i++) {
        size_t newer = 0;
        for (size_t j = 0; j < n; j++) newer += ep[j] > ep[i];
        char path[4400];
        snprintf(path, sizeof path, "%s/epoch-%04ld.ckpt", dir, ep[i]);
        if ((long)newer >= keep) unlink(path);
    }
    free(ep);
}

/* Rank 0's part: the files. Returns 0 or -1 with e (the first failure). */
static int write_files(struct run *r, int write_best, int epoch_end, struct err *e)
{
    char path[4200], prev[4200], name[64];
    path_in(path, sizeof path, r->cfg.out, "last.ckpt");
    path_in(prev, sizeof prev, r->cfg.out, "prev.ckpt");
    /* The previous last.ckpt stays as prev.ckpt (a hard link, so last.ckpt itself is only
     * ever replaced by an atomic rename): if the newest is ever damaged, --resume auto falls
     * back to it. */
    unlink(prev);
    if (link(path, prev) != 0 && errno != ENOENT && !r->cfg.quiet)
        fprintf(stderr, "ser train: note: no prev.ckpt kept (%s)\n", strerror(errno));
    if (dist_state_save(&r->st, r->model, 0, path, e) != 0) return -1;
    r->have_ckpt = 1;
    if (epoch_end && r->cfg.keep > 0) {
        snprintf(name, sizeof name, "epoch-%04lld.ckpt", (long long)r->st.epoch);
        path_in(path, sizeof path, r->cfg.out, name);
        if (dist_state_save(&r->st, r->model, 0, path, e) != 0) return -1;
        prune_epochs(r->cfg.out, r->cfg.keep);
    }
    path_in(path, sizeof path, r->cfg.out, "best.ckpt");
    if (write_best && dist_state_save(&r->st, r->model, 1, path, e) != 0) return -1;
    return write_metrics(r, e);
}

int dist_train_checkpoint(struct run *r, int write_best, int epoch_end, struct err *e)
{
    int status = 0;
    if (r->rank == 0) {
        struct err ce = {0};
        if (write_files(r, write_best, epoch_end, &ce) != 0) {
            fprintf(stderr, "ser train: checkpoint not written (the previous one is intact): %s\n",
                    ce.msg);
            if (!r->have_ckpt) {
                err_io(e, "no checkpoint can be written in %s: %s", r->cfg.out, ce.msg);
                status = SER_EXIT_IO;
            }
        }
    }
    dist_bcast(r->comm, &r->have_ckpt, sizeof r->have_ckpt, 0);
    return dist_agree(r->comm, status, e) ? -1 : 0;
}

int dist_train_find_resume(const char *dir, char *out, size_t n, int quiet, struct err *e)
{
    out[0] = 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    int candidates = 0;
    struct dirent *de;
    int64_t best_epoch = -1, best_batch = -1;
    while ((de = readdir(d))) {
        size_t l = strlen(de->d_name);
        if (l < 6 || strcmp(de->d_name + l - 5, ".ckpt") != 0 ||
            strcmp(de->d_name, "best.ckpt") == 0)
            continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        candidates++;
        struct dist_state s = {0};
        struct err le = {0};
        int train = 0;
        if (dist_state_load(&s, path, &train, &le) != 0) {
            fprintf(stderr, "ser train: ignoring damaged checkpoint: %s\n", le.msg);
        } else if (train) {
            /* The newest position; equal positions: prefer last.ckpt (newest write). */
            int newer = s.epoch > best_epoch || (s.epoch == best_epoch && s.batch > best_batch);
            int same = s.epoch == best_epoch && s.batch == best_batch;
            if (newer || (same && strcmp(de->d_name, "last.ckpt") == 0)) {
                best_epoch = s.epoch;
                best_batch = s.batch;
                snprintf(out, n, "%s", path);
            }
        }
        dist_state_free(&s);
    }
    closedir(d);
    if (candidates && !out[0])
        return err_set(e,
                       "%s: holds %d checkpoint file%s but none can be resumed (see above): "
                       "repair or remove them, or start over with --overwrite",
                       dir, candidates, candidates == 1 ? "" : "s");
    if (out[0] && !quiet) fprintf(stderr, "ser train: resuming from %s\n", out);
    return 0;
}
