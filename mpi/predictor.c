/* predictor.c: a checkpoint's model, feature pipeline and input normalisation applied to
 * audio files and sample buffers (see predictor.h). */
#include "mpi/predictor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "dsp/scan.h"
#include "mpi/classify.h"

int predict_paths_push(struct predict_paths *p, const char *s)
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

void predict_paths_free(struct predict_paths *p)
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
    return predict_paths_push(ctx, path);
}

static int walk_skip(void *ctx, const char *path, const char *reason)
{
    ((struct predict_paths *)ctx)->n_skipped++;
    fprintf(stderr, "ser predict: skipped %s: %s\n", path, reason);
    return 0;
}

/* Every argument: a file as given, a directory's audio files sorted by path (dsp_walk). */
int predict_collect(int argc, char **argv, struct predict_paths *files, struct err *e)
{
    for (int i = 0; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            struct predict_paths here = {0};
            struct dsp_walk w = {walk_file, walk_skip, &here, 0, 0};
            int rc = dsp_walk(&w, argv[i]);
            files->n_skipped += here.n_skipped;
            if (here.n > 1) qsort(here.v, here.n, sizeof *here.v, cmp_str);
            for (size_t k = 0; rc == 0 && k < here.n; k++)
                rc = predict_paths_push(files, here.v[k]);
            predict_paths_free(&here);
            if (rc) return err_set(e, "out of memory");
        } else if (predict_paths_push(files, argv[i])) {
            return err_set(e, "out of memory");
        }
    }
    return 0;
}

/* The audio files --norm-from names: directories searched as predict's inputs are, CSV
 * manifests read as `ser train --data` reads them, other paths taken as files; sorted by path
 * without repeats (the order training sums a speaker's files in). */
static int norm_paths(const struct cli_list *l, struct predict_paths *files, struct err *e)
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
                if (predict_paths_push(files, c.items[k].path)) rc = err_set(e, "out of memory");
            for (size_t k = 0; rc == 0 && k < c.n_skipped; k++)
                fprintf(stderr, "ser predict: --norm-from: skipped %s: %s\n", c.skipped[k].path,
                        c.skipped[k].reason);
            dsp_corpus_free(&c);
            if (rc) return -1;
        } else if (predict_collect(1, (char **)&a, files, e)) {
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
    struct predict_paths files = {0};
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
    predict_paths_free(&files);
    return rc;
}

int predictor_open(struct predictor *p, const char *path, const struct cli_list *from,
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

void predictor_close(struct predictor *p)
{
    free(p->x);
    free(p->mean);
    dsp_features_free(p->fx);
    nn_model_free(p->m);
    dist_state_free(&p->ck);
}

/* Probabilities of one file. */
/* Normalises p->x as the model was trained and runs the model on it. */
static int classify(struct predictor *p, const char *name, float *probs, struct err *e)
{
    if (p->mode == DIST_NORM_UTTERANCE)
        dist_norm_stats(p->x, p->C * p->T, NULL, 1, p->C, p->T, p->mean, p->std);
    dist_normalise(p->x, p->C, p->T, p->mean, p->std);
    if (nn_model_forward(p->m, p->x, NULL, 1, NULL, probs) != 0)
        return err_set(e, "%s: the model refused the input", name);
    return 0;
}

int predictor_file(struct predictor *p, const char *path, float *probs, struct err *e)
{
    struct dsp_audio_info info;
    if (dsp_audio_probe(path, &info, e) || dsp_features_file(p->fx, path, p->x, e)) return -1;
    return classify(p, path, probs, e);
}

int predictor_pcm(struct predictor *p, const char *name, const float *x, size_t n, int rate,
                  float *probs, struct err *e)
{
    if (dsp_features_pcm(p->fx, name, x, n, rate, p->x, e)) return -1;
    return classify(p, name, probs, e);
}
