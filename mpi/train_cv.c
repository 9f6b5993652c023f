/* train_cv.c: speaker-independent cross-validation, `ser train --cv loso|K`.
 *
 *   1. The features are extracted (or loaded from the cache) once, on every rank, with
 *      --labels/--label-map applied; the distinct speakers (namespaced, sorted) are listed.
 *   2. Folds: `loso` holds out each speaker in turn (--cv-group N: N consecutive speakers of
 *      the sorted list per fold); `K` deals the speakers, shuffled with --seed, round-robin
 *      into K folds. A fold's test set is every file of its speakers; validation is a
 *      stratified --val-frac of the other speakers' files, or --val-speakers N whole ones.
 *   3. Every fold is a full training run (early stopping, checkpoints, reports, resume) in
 *      RUN_DIR/fold-NNN (from 001). With --ranks-per-fold R the world's ranks form groups of
 *      R that run folds concurrently, fold f on group f mod (ranks / R); data parallel inside
 *      a group. A signal stops every fold in progress at its next batch with a checkpoint;
 *      `--resume auto` continues each fold where it stopped (a finished fold is only
 *      evaluated again).
 *   4. Rank 0 reads each fold's confusion.tsv back and writes RUN_DIR/summary.json,
 *      report.md, folds.tsv and confusion.svg: per fold and mean ± std (population, as
 *      numpy's std) of accuracy, UAR and macro-F1, and the pooled confusion matrix over all
 *      folds with its metrics. The summary's numbers are computed from the fold files, so
 *      they always agree with them.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dsp/file.h"
#include "mpi/json.h"
#include "mpi/metrics.h"
#include "mpi/progress.h"
#include "mpi/report.h"
#include "mpi/train_run.h"

enum { MAX_FOLD_SPEAKERS = 4000 }; /* bytes of a fold's speaker list */

struct fold {
    char speakers[MAX_FOLD_SPEAKERS]; /* "A,B" namespaced */
};

static int add_speaker(struct fold *f, const char *s, struct err *e)
{
    size_t l = strlen(f->speakers);
    if (l + strlen(s) + 2 > sizeof f->speakers)
        return err_set(e, "--cv: a fold's speaker list is longer than %zu bytes (use more folds)",
                       sizeof f->speakers - 1);
    snprintf(f->speakers + l, sizeof f->speakers - l, "%s%s", l ? "," : "", s);
    return 0;
}

/* The folds of --cv over the sorted speakers spk[0..ns). */
static int plan_folds(const struct dist_train_cfg *c, char **spk, size_t ns, struct fold **folds,
                      size_t *nf, struct err *e)
{
    int loso = strcmp(c->cv, "loso") == 0;
    size_t g = (size_t)c->cv_group, k = loso ? (ns + g - 1) / g : (size_t)strtol(c->cv, NULL, 10);
    if (ns < 2 || k < 2 || k > ns)
        return err_set(e,
                       "--cv %s: %zu speaker%s in the data make %zu fold%s: a cross-validation "
                       "needs at least 2 folds of at least one speaker",
                       c->cv, ns, ns == 1 ? "" : "s", k, k == 1 ? "" : "s");
    *folds = calloc(k, sizeof **folds);
    size_t *order = malloc(ns * sizeof *order), *perm = malloc(ns * sizeof *perm);
    int rc = *folds && order && perm ? 0 : err_set(e, "out of memory");
    for (size_t i = 0; rc == 0 && i < ns; i++) order[i] = i;
    if (rc == 0 && !loso) dist_shuffle(order, ns, (uint64_t)c->seed, 0xcf01d, perm);
    for (size_t i = 0; rc == 0 && i < ns; i++)
        rc = loso ? add_speaker(&(*folds)[i / g], spk[i], e)
                  : add_speaker(&(*folds)[i % k], spk[perm[i]], e);
    free(order), free(perm);
    *nf = k;
    return rc;
}

/* ---- the summary (rank 0) ---- */

struct fold_result {
    int K;
    int label[DSP_N_LABELS]; /* class k's label */
    dist_conf conf;
    struct dist_metrics m;
};

/* Reads dir/confusion.tsv: "true\predicted" and the class names, then one row per class. */
static int read_confusion(const char *dir, struct fold_result *fr, struct err *e)
{
    char path[4400], line[4096];
    if (snprintf(path, sizeof path, "%s/confusion.tsv", dir) >= (int)sizeof path)
        return err_set(e, "%s: path too long", dir);
    FILE *f = fopen(path, "r");
    if (!f) return err_io(e, "%s: cannot open: %s", path, strerror(errno));
    memset(fr, 0, sizeof *fr);
    int rc = fgets(line, sizeof line, f) ? 0 : err_set(e, "%s: empty", path);
    char *save = NULL;
    for (char *t = rc ? NULL : strtok_r(line, "\t\n", &save); t; t = strtok_r(NULL, "\t\n", &save))
        if (strcmp(t, "true\\predicted") != 0) {
            int l = dsp_label_index(t);
            if (l < 0 || fr->K == DSP_N_LABELS) rc = err_set(e, "%s: bad class '%s'", path, t);
            if (rc) break;
            fr->label[fr->K++] = l;
        }
    for (int k = 0; rc == 0 && k < fr->K; k++) {
        if (!fgets(line, sizeof line, f))
            rc = err_set(e, "%s: %d rows, expected %d", path, k, fr->K);
        char *p = strchr(rc ? "" : line, '\t');
        for (int j = 0; rc == 0 && j < fr->K; j++) {
            char *end;
            long long v = p ? strtoll(p + 1, &end, 10) : -1;
            if (!p || end == p + 1 || v < 0)
                rc = err_set(e, "%s: row %d is malformed", path, k + 1);
            if (rc == 0) fr->conf[k][j] = v, p = strchr(end, '\t');
        }
    }
    fclose(f);
    if (rc == 0 && fr->K < 2) rc = err_set(e, "%s: fewer than 2 classes", path);
    if (rc == 0) dist_class_metrics(fr->conf, fr->K, &fr->m);
    return rc;
}

struct cv_summary {
    const struct dist_train_cfg *cfg;
    const struct fold *folds;
    size_t nf;
    struct fold_result *fr;
    double mean[3], sd[3];   /* accuracy, UAR, macro-F1 over folds */
    int K;                   /* pooled classes: the union of the folds', in label order */
    int label[DSP_N_LABELS]; /* pooled class k's label */
    const char *name[DSP_N_LABELS];
    dist_conf pooled;
    struct dist_metrics pm;
    double seconds;
};

static void pool(struct cv_summary *s)
{
    int used[DSP_N_LABELS] = {0}, of[DSP_N_LABELS];
    for (size_t f = 0; f < s->nf; f++)
        for (int k = 0; k < s->fr[f].K; k++) used[s->fr[f].label[k]] = 1;
    s->K = 0;
    for (int l = 0; l < DSP_N_LABELS; l++)
        if (used[l]) of[l] = s->K, s->label[s->K] = l, s->name[s->K++] = dsp_label_names[l];
    memset(s->pooled, 0, sizeof s->pooled);
    for (size_t f = 0; f < s->nf; f++) {
        const struct fold_result *r = &s->fr[f];
        for (int a = 0; a < r->K; a++)
            for (int b = 0; b < r->K; b++)
                s->pooled[of[r->label[a]]][of[r->label[b]]] += r->conf[a][b];
    }
    dist_class_metrics(s->pooled, s->K, &s->pm);
    for (int q = 0; q < 3; q++) {
        double sum = 0, ss = 0;
        for (size_t f = 0; f < s->nf; f++) {
            const struct dist_metrics *m = &s->fr[f].m;
            sum += q == 0 ? m->accuracy : q == 1 ? m->uar : m->macro_f1;
        }
        s->mean[q] = sum / (double)s->nf;
        for (size_t f = 0; f < s->nf; f++) {
            const struct dist_metrics *m = &s->fr[f].m;
            double v = q == 0 ? m->accuracy : q == 1 ? m->uar : m->macro_f1;
            ss += (v - s->mean[q]) * (v - s->mean[q]);
        }
        s->sd[q] = sqrt(ss / (double)s->nf);
    }
}

static int64_t n_test(const struct fold_result *r)
{
    int64_t n = 0;
    for (int a = 0; a < r->K; a++)
        for (int b = 0; b < r->K; b++) n += r->conf[a][b];
    return n;
}

static void json_metrics(struct dist_json *j, double acc, double uar, double f1)
{
    dist_json_key(j, "accuracy"), dist_json_num(j, acc);
    dist_json_key(j, "uar"), dist_json_num(j, uar);
    dist_json_key(j, "macro_f1"), dist_json_num(j, f1);
}

static int write_json(const struct cv_summary *s, struct err *e)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/summary.json", s->cfg->out);
    struct dsp_out o;
    if (dsp_out_open(&o, path, NULL, e)) return -1;
    struct dist_json j;
    dist_json_init(&j, o.f);
    dist_json_open(&j, '{');
    dist_json_key(&j, "protocol"), dist_json_str(&j, strcmp(s->cfg->cv, "loso") ? "kfold" : "loso");
    dist_json_key(&j, "cv"), dist_json_str(&j, s->cfg->cv);
    dist_json_key(&j, "n_folds"), dist_json_int(&j, (long long)s->nf);
    dist_json_key(&j, "folds"), dist_json_open(&j, '[');
    for (size_t f = 0; f < s->nf; f++) {
        const struct fold_result *r = &s->fr[f];
        char dir[32];
        snprintf(dir, sizeof dir, "fold-%03zu", f + 1);
        dist_json_open(&j, '{');
        dist_json_key(&j, "fold"), dist_json_int(&j, (long long)f + 1);
        dist_json_key(&j, "dir"), dist_json_str(&j, dir);
        dist_json_key(&j, "test_speakers"), dist_json_str(&j, s->folds[f].speakers);
        dist_json_key(&j, "n_test"), dist_json_int(&j, n_test(r));
        json_metrics(&j, r->m.accuracy, r->m.uar, r->m.macro_f1);
        dist_json_close(&j, '}');
    }
    dist_json_close(&j, ']');
    dist_json_key(&j, "mean"), dist_json_open(&j, '{');
    json_metrics(&j, s->mean[0], s->mean[1], s->mean[2]);
    dist_json_close(&j, '}');
    dist_json_key(&j, "std"), dist_json_open(&j, '{');
    json_metrics(&j, s->sd[0], s->sd[1], s->sd[2]);
    dist_json_close(&j, '}');
    dist_json_key(&j, "pooled"), dist_json_open(&j, '{');
    json_metrics(&j, s->pm.accuracy, s->pm.uar, s->pm.macro_f1);
    dist_json_key(&j, "labels"), dist_json_open(&j, '[');
    for (int k = 0; k < s->K; k++) dist_json_str(&j, s->name[k]);
    dist_json_close(&j, ']');
    dist_json_key(&j, "confusion"), dist_json_open(&j, '[');
    for (int a = 0; a < s->K; a++) {
        dist_json_open(&j, '[');
        for (int b = 0; b < s->K; b++) dist_json_int(&j, s->pooled[a][b]);
        dist_json_close(&j, ']');
    }
    dist_json_close(&j, ']');
    dist_json_close(&j, '}');
    dist_json_key(&j, "wall_seconds"), dist_json_num(&j, s->seconds);
    dist_json_close(&j, '}');
    fputc('\n', o.f);
    return dsp_out_commit(&o, e);
}

static int write_md(const struct cv_summary *s, struct err *e)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/report.md", s->cfg->out);
    struct dsp_out o;
    if (dsp_out_open(&o, path, NULL, e)) return -1;
    FILE *f = o.f;
    int loso = strcmp(s->cfg->cv, "loso") == 0;
    fprintf(f, "# Cross-validation: %s, %zu folds\n\n",
            loso ? "leave-one-speaker-out" : "speaker-grouped k-fold", s->nf);
    fprintf(f, "Data: ");
    for (int i = 0; i < s->cfg->data.n; i++) fprintf(f, "%s`%s`", i ? ", " : "", s->cfg->data.v[i]);
    fprintf(f, "; model `%s`; %.0f s.\n\n", s->cfg->model, s->seconds);
    fprintf(f, "| fold | test speakers | files | accuracy | UAR | macro-F1 "
               "|\n|---|---|---|---|---|---|\n");
    for (size_t k = 0; k < s->nf; k++) {
        const struct fold_result *r = &s->fr[k];
        fprintf(f, "| [%03zu](fold-%03zu/report.md) | %s | %lld | %.4f | %.4f | %.4f |\n", k + 1,
                k + 1, s->folds[k].speakers, (long long)n_test(r), r->m.accuracy, r->m.uar,
                r->m.macro_f1);
    }
    fprintf(f, "| **mean ± std** | | | %.4f ± %.4f | %.4f ± %.4f | %.4f ± %.4f |\n", s->mean[0],
            s->sd[0], s->mean[1], s->sd[1], s->mean[2], s->sd[2]);
    fprintf(f, "| **pooled** | all | | %.4f | %.4f | %.4f |\n\n", s->pm.accuracy, s->pm.uar,
            s->pm.macro_f1);
    fprintf(f, "Pooled confusion matrix (rows: true, columns: predicted):\n\n");
    dist_md_confusion(f, s->pooled, s->K, s->name);
    fprintf(f, "\n![pooled confusion matrix](confusion.svg)\n");
    return dsp_out_commit(&o, e);
}

static int write_summary(const struct dist_train_cfg *c, const struct fold *folds, size_t nf,
                         double seconds, struct err *e)
{
    struct cv_summary s = {.cfg = c, .folds = folds, .nf = nf, .seconds = seconds};
    s.fr = calloc(nf, sizeof *s.fr);
    int rc = s.fr ? 0 : err_set(e, "out of memory");
    for (size_t f = 0; rc == 0 && f < nf; f++) {
        char dir[4400];
        snprintf(dir, sizeof dir, "%s/fold-%03zu", c->out, f + 1);
        rc = read_confusion(dir, &s.fr[f], e);
    }
    if (rc == 0) pool(&s);
    char path[4400];
    snprintf(path, sizeof path, "%s/confusion.svg", c->out);
    if (rc == 0) rc = write_json(&s, e);
    if (rc == 0) rc = write_md(&s, e);
    if (rc == 0) rc = dist_svg_confusion(path, s.pooled, s.K, s.name, "pooled over folds", e);
    if (rc == 0)
        printf("cross-validation (%zu folds): accuracy %.4f ± %.4f  UAR %.4f ± %.4f  macro-F1 "
               "%.4f ± %.4f  (pooled UAR %.4f)  report: %s/report.md\n",
               nf, s.mean[0], s.sd[0], s.mean[1], s.sd[1], s.mean[2], s.sd[2], s.pm.uar, c->out);
    free(s.fr);
    return rc;
}

/* ---- the driver ---- */

/* Rank 0 chooses the run directory (as a single run would) and creates it. */
static int cv_dir(struct dist_comm *world, struct dist_train_cfg *c, struct err *e)
{
    int rc = 0;
    if (dist_comm_rank(world) == 0) {
        if (c->resume[0] && strcmp(c->resume, "auto") != 0)
            rc = err_set(e, "--cv resumes with --resume auto --out RUN_DIR (each fold from its "
                            "own checkpoint), not from one checkpoint file");
        else if (!c->out[0] && c->resume[0])
            rc = err_set(e, "--resume auto needs --out RUN_DIR");
        if (rc == 0 && !c->out[0]) {
            time_t t = time(NULL);
            struct tm tm;
            localtime_r(&t, &tm);
            strftime(c->out, sizeof c->out, "results/%Y%m%d-%H%M%S", &tm);
        }
        if (rc == 0) rc = dist_mkdir_p(c->out, e);
    }
    if (dist_agree(world, rc ? err_exit_code(e) : 0, e)) return -1;
    dist_bcast(world, c->out, sizeof c->out, 0);
    return 0;
}

/* The speakers of the data, the same on every rank (each rank loads the same features). */
static int list_folds(struct dist_comm *world, struct dist_train_cfg *c, struct fold **folds,
                      size_t *nf, struct err *e)
{
    struct run *r = calloc(1, sizeof *r);
    if (!r) return err_set(e, "out of memory");
    r->comm = world, r->rank = dist_comm_rank(world), r->size = dist_comm_size(world);
    r->cfg = *c;
    int rc = dist_train_load_data(r, 0, e);
    size_t ns = 0;
    char **spk = rc ? NULL : dist_speakers(r->ds.n, r->ds.speaker, &ns);
    if (rc == 0 && !spk) rc = err_set(e, "out of memory");
    if (rc == 0) rc = plan_folds(c, spk, ns, folds, nf, e);
    if (rc == 0) snprintf(c->features, sizeof c->features, "%s", r->cfg.features);
    free(spk);
    dist_dataset_free(&r->ds);
    free(r);
    return dist_agree(world, rc ? err_exit_code(e) : 0, e) ? -1 : 0;
}

int dist_train_cv(struct dist_comm *world, const struct dist_train_cfg *cfg0, int argc, char **argv,
                  struct err *e)
{
    struct dist_train_cfg c = *cfg0;
    int rank = dist_comm_rank(world), size = dist_comm_size(world);
    double t0 = dist_now();
    long R = c.ranks_per_fold ? c.ranks_per_fold : size;
    if (size % R != 0) {
        err_set(e, "--ranks-per-fold %ld does not divide the %d ranks into equal groups", R, size);
        return err_exit_code(e);
    }
    struct fold *folds = NULL;
    size_t nf = 0;
    if (cv_dir(world, &c, e) || list_folds(world, &c, &folds, &nf, e)) {
        free(folds);
        return err_exit_code(e);
    }
    int groups = (int)(size / R), color = (int)(rank / R), code = 0;
    struct dist_comm *group = world;
    if (groups > 1 && dist_comm_split(world, color, &group, e)) code = err_exit_code(e);
    if (rank == 0 && !c.quiet)
        fprintf(stderr, "ser train: --cv %s: %zu folds in %s, %d group%s of %ld rank%s\n", c.cv, nf,
                c.out, groups, groups == 1 ? "" : "s", R, R == 1 ? "" : "s");
    for (size_t f = (size_t)color; code == 0 && f < nf; f += (size_t)groups) {
        struct dist_train_cfg fc = c;
        if (snprintf(fc.out, sizeof fc.out, "%s/fold-%03zu", c.out, f + 1) >= (int)sizeof fc.out) {
            err_set(e, "%s: path too long", c.out);
            code = err_exit_code(e);
            break;
        }
        if (dist_comm_rank(group) == 0 && !c.quiet)
            fprintf(stderr, "ser train: fold %zu/%zu: test speakers %s\n", f + 1, nf,
                    folds[f].speakers);
        code = dist_train_one(group, &fc, argc, argv, folds[f].speakers, e);
        if (code && dist_comm_rank(group) == 0 && rank != 0)
            fprintf(stderr, "ser train: fold-%03zu: %s\n", f + 1, e->msg);
        if (code && rank == 0) {
            char msg[sizeof e->msg];
            snprintf(msg, sizeof msg, "%s", e->msg);
            err_set(e, "fold-%03zu: %s", f + 1, msg);
            e->code = code;
        }
    }
    if (group != world) dist_comm_free(group);
    /* every group has finished (or failed): the worst status wins */
    code = dist_agree(world, code, e);
    if (code == 0 && rank == 0 && write_summary(&c, folds, nf, dist_now() - t0, e))
        code = err_exit_code(e);
    code = dist_agree(world, code, e);
    free(folds);
    return code;
}
