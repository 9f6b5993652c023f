/* checkpoint.c: checkpoint files (see checkpoint.h). */
#include "mpi/checkpoint.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/dataset.h"
#include "dsp/pack.h"
#include "dsp/scan.h"

static int add_f32(struct dsp_pack *p, const char *name, const float *x, size_t n, struct err *e)
{
    uint64_t d = n;
    return dsp_pack_add(p, name, DSP_PACK_F32, 1, &d, x, e);
}

static int add_tensors(struct dsp_pack *p, const char *prefix, const struct nn_model *m,
                       const float *flat, struct err *e)
{
    for (size_t i = 0; i < nn_model_ntensors(m); i++) {
        const struct nn_tensor *t = nn_model_tensor(m, i);
        char name[256];
        uint64_t dims[4];
        for (int k = 0; k < t->ndim; k++) dims[k] = t->shape[k];
        snprintf(name, sizeof name, "%s%s", prefix, t->name);
        if (dsp_pack_add(p, name, DSP_PACK_F32, t->ndim, dims, flat + t->offset, e)) return -1;
    }
    return 0;
}

int dist_ckpt_save(const struct dist_ckpt *c, const struct nn_model *m, const char *path,
                   struct err *e)
{
    struct dsp_pack p = {0};
    uint64_t hd[2] = {c->n_hist, DIST_H_COLS};
    const struct dist_stopper *s = &c->stopper;
    const struct dist_plateau *q = &c->plateau;
    int rc = -1;
    if (dsp_pack_add_str(&p, "ser_version", c->version, e) ||
        dsp_pack_add_str(&p, "spec", c->spec, e) ||
        dsp_pack_add_i64(&p, "in_channels", (int64_t)c->in_channels, e) ||
        dsp_pack_add_i64(&p, "in_len", (int64_t)c->in_len, e) ||
        dsp_pack_add_i64(&p, "n_classes", (int64_t)c->n_classes, e) ||
        dist_params_pack(&p, &c->params, e) ||
        dist_pack_add_strings(&p, "label_names", (char *const *)dsp_label_names, DSP_N_LABELS, e) ||
        add_f32(&p, "norm.mean", c->mean, c->in_channels, e) ||
        add_f32(&p, "norm.std", c->std, c->in_channels, e) ||
        dsp_pack_add_i64(&p, "nparams", (int64_t)c->nparams, e) ||
        add_tensors(&p, "param.", m, c->weights, e))
        goto out;
    if (dsp_pack_add_i64(&p, "has_best", c->best != NULL, e) ||
        dsp_pack_add_i64(&p, "has_adam", c->adam_m != NULL, e))
        goto out;
    if (c->best && add_tensors(&p, "best.", m, c->best, e)) goto out;
    if (c->adam_m && (add_f32(&p, "adam.m", c->adam_m, c->nparams, e) ||
                      add_f32(&p, "adam.v", c->adam_v, c->nparams, e)))
        goto out;
    if (dsp_pack_add_i64(&p, "adam.t", (int64_t)c->adam_t, e) ||
        dsp_pack_add_f64(&p, "adam.lr", c->lr, e) ||
        dsp_pack_add_f64(&p, "adam.beta1", c->beta1, e) ||
        dsp_pack_add_f64(&p, "adam.beta2", c->beta2, e) ||
        dsp_pack_add_f64(&p, "adam.eps", c->eps, e) ||
        dsp_pack_add_f64(&p, "adam.weight_decay", c->weight_decay, e) ||
        dsp_pack_add_i64(&p, "train.epoch", c->epoch, e) ||
        dsp_pack_add_i64(&p, "train.batch", c->batch, e) ||
        dsp_pack_add_i64(&p, "train.seed", c->seed, e) ||
        dsp_pack_add_i64(&p, "train.done", c->done, e) ||
        dsp_pack_add_f64(&p, "train.epoch_loss_sum", c->epoch_loss_sum, e) ||
        dsp_pack_add_f64(&p, "train.epoch_correct", c->epoch_correct, e) ||
        dsp_pack_add_f64(&p, "train.epoch_seen", c->epoch_seen, e) ||
        dsp_pack_add_f64(&p, "train.epoch_seconds", c->epoch_seconds, e) ||
        dsp_pack_add_str(&p, "split", c->split ? c->split : "", e) ||
        dsp_pack_add_i64(&p, "split.hash", (int64_t)c->split_hash, e) ||
        dsp_pack_add_str(&p, "config", c->config ? c->config : "", e) ||
        dsp_pack_add_i64(&p, "es.mode_max", s->mode_max, e) ||
        dsp_pack_add_f64(&p, "es.min_delta", s->min_delta, e) ||
        dsp_pack_add_i64(&p, "es.patience", s->patience, e) ||
        dsp_pack_add_f64(&p, "es.best", s->best, e) ||
        dsp_pack_add_i64(&p, "es.best_epoch", s->best_epoch, e) ||
        dsp_pack_add_i64(&p, "es.wait", s->wait, e) ||
        dsp_pack_add_i64(&p, "rlr.mode_max", q->mode_max, e) ||
        dsp_pack_add_f64(&p, "rlr.factor", q->factor, e) ||
        dsp_pack_add_i64(&p, "rlr.patience", q->patience, e) ||
        dsp_pack_add_f64(&p, "rlr.min_delta", q->min_delta, e) ||
        dsp_pack_add_i64(&p, "rlr.cooldown", q->cooldown, e) ||
        dsp_pack_add_f64(&p, "rlr.min_lr", q->min_lr, e) ||
        dsp_pack_add_f64(&p, "rlr.best", q->best, e) ||
        dsp_pack_add_i64(&p, "rlr.wait", q->wait, e) ||
        dsp_pack_add_i64(&p, "rlr.cooldown_left", q->cooldown_left, e) ||
        dsp_pack_add(&p, "history", DSP_PACK_F64, 2, hd, c->hist, e))
        goto out;
    rc = dsp_pack_write(&p, path, DIST_CKPT_KIND, DSP_PACK_ENTROPY, e);
out:
    dsp_pack_free(&p);
    return rc;
}

static int get_size(const struct dsp_pack *p, const char *what, const char *name, size_t max,
                    size_t *v, struct err *e)
{
    int64_t x;
    if (dsp_pack_get_i64(p, what, name, &x, e)) return -1;
    if (x < 0 || (uint64_t)x > max)
        return err_set(e, "%s: field %s = %lld out of range [0, %zu]", what, name, (long long)x,
                       max);
    *v = (size_t)x;
    return 0;
}

static int get_int(const struct dsp_pack *p, const char *what, const char *name, int *v,
                   struct err *e)
{
    size_t s = 0;
    if (get_size(p, what, name, 1u << 30, &s, e)) return -1;
    *v = (int)s;
    return 0;
}

static int get_f32(const struct dsp_pack *p, const char *what, const char *name, size_t n,
                   float **out, struct err *e)
{
    const struct dsp_pack_rec *r = dsp_pack_need(p, what, name, DSP_PACK_F32, n, e);
    if (!r) return -1;
    *out = malloc((n ? n : 1) * sizeof **out);
    if (!*out) return err_set(e, "%s: out of memory", what);
    memcpy(*out, r->data, n * sizeof **out);
    return 0;
}

/* Copies per-tensor records "<prefix><name>" into a flat buffer in the model's order,
 * checking every name and shape. */
static int get_tensors(const struct dsp_pack *p, const char *what, const char *prefix,
                       const struct nn_model *m, float **out, struct err *e)
{
    size_t n = nn_model_nparams(m);
    float *flat = malloc((n ? n : 1) * sizeof *flat);
    if (!flat) return err_set(e, "%s: out of memory", what);
    *out = flat;
    for (size_t i = 0; i < nn_model_ntensors(m); i++) {
        const struct nn_tensor *t = nn_model_tensor(m, i);
        char name[256];
        snprintf(name, sizeof name, "%s%s", prefix, t->name);
        const struct dsp_pack_rec *r = dsp_pack_need(p, what, name, DSP_PACK_F32, t->size, e);
        if (!r) return -1;
        if (r->ndim != t->ndim) return err_set(e, "%s: tensor %s has the wrong rank", what, name);
        for (int k = 0; k < t->ndim; k++)
            if (r->dims[k] != t->shape[k])
                return err_set(e, "%s: tensor %s dimension %d is %llu, the spec says %zu", what,
                               name, k, (unsigned long long)r->dims[k], t->shape[k]);
        memcpy(flat + t->offset, r->data, t->size * sizeof *flat);
    }
    return 0;
}

static int get_bool(const struct dsp_pack *p, const char *what, const char *name, int *v,
                    struct err *e)
{
    if (get_int(p, what, name, v, e)) return -1;
    if (*v > 1) return err_set(e, "%s: field %s must be 0 or 1", what, name);
    return 0;
}

static int from_pack(struct dist_ckpt *c, const struct dsp_pack *p, const char *path,
                     struct err *e);

int dist_ckpt_load(struct dist_ckpt *c, const char *path, struct err *e)
{
    struct dsp_pack p = {0};
    int rc = dsp_pack_read(&p, path, DIST_CKPT_KIND, e);
    if (rc == 0) rc = from_pack(c, &p, path, e);
    dsp_pack_free(&p);
    return rc;
}

int dist_ckpt_decode(struct dist_ckpt *c, const unsigned char *buf, size_t len, const char *what,
                     struct err *e)
{
    struct dsp_pack p = {0};
    int rc = dsp_pack_decode(&p, buf, len, DIST_CKPT_KIND, what, e);
    if (rc == 0) rc = from_pack(c, &p, what, e);
    dsp_pack_free(&p);
    return rc;
}

static int from_pack(struct dist_ckpt *c, const struct dsp_pack *p, const char *path, struct err *e)
{
    struct nn_model *m = NULL;
    int rc = -1;
    if (dsp_pack_get_str(p, path, "ser_version", &c->version, e) ||
        dsp_pack_get_str(p, path, "spec", &c->spec, e) ||
        get_size(p, path, "in_channels", 4096, &c->in_channels, e) ||
        get_size(p, path, "in_len", 1u << 20, &c->in_len, e) ||
        get_size(p, path, "n_classes", 4096, &c->n_classes, e) ||
        dist_params_unpack(p, path, &c->params, e))
        goto out;
    char **names = NULL;
    int lrc = dist_pack_get_strings(p, path, "label_names", DSP_N_LABELS, &names, e);
    for (int i = 0; lrc == 0 && i < DSP_N_LABELS; i++)
        if (strcmp(names[i], dsp_label_names[i]) != 0)
            lrc = err_set(e, "%s: label %d is '%s', this ser expects '%s'", path, i, names[i],
                          dsp_label_names[i]);
    dist_free_strings(names, DSP_N_LABELS);
    if (lrc) goto out;
    if (c->n_classes != DSP_N_LABELS) goto bad_classes;
    struct err me = {{0}};
    if (nn_model_create(&m, c->spec, c->in_channels, c->in_len, c->n_classes, 1, &me)) {
        err_set(e, "%s: model spec does not build: %s", path, me.msg);
        goto out;
    }
    c->nparams = nn_model_nparams(m);
    size_t np = 0;
    if (get_size(p, path, "nparams", SIZE_MAX / 8, &np, e)) goto out;
    if (np != c->nparams) {
        err_set(e, "%s: %zu parameters stored, the spec has %zu", path, np, c->nparams);
        goto out;
    }
    if (get_f32(p, path, "norm.mean", c->in_channels, &c->mean, e) ||
        get_f32(p, path, "norm.std", c->in_channels, &c->std, e) ||
        get_tensors(p, path, "param.", m, &c->weights, e))
        goto out;
    int has_best = 0, has_adam = 0;
    if (get_bool(p, path, "has_best", &has_best, e) || get_bool(p, path, "has_adam", &has_adam, e))
        goto out;
    if (has_best && get_tensors(p, path, "best.", m, &c->best, e)) goto out;
    if (has_adam)
        if (get_f32(p, path, "adam.m", c->nparams, &c->adam_m, e) ||
            get_f32(p, path, "adam.v", c->nparams, &c->adam_v, e))
            goto out;
    int64_t t;
    struct dist_stopper *s = &c->stopper;
    struct dist_plateau *q = &c->plateau;
    if (dsp_pack_get_i64(p, path, "adam.t", &t, e) ||
        dsp_pack_get_f64(p, path, "adam.lr", &c->lr, e) ||
        dsp_pack_get_f64(p, path, "adam.beta1", &c->beta1, e) ||
        dsp_pack_get_f64(p, path, "adam.beta2", &c->beta2, e) ||
        dsp_pack_get_f64(p, path, "adam.eps", &c->eps, e) ||
        dsp_pack_get_f64(p, path, "adam.weight_decay", &c->weight_decay, e) ||
        dsp_pack_get_i64(p, path, "train.epoch", &c->epoch, e) ||
        dsp_pack_get_i64(p, path, "train.batch", &c->batch, e) ||
        dsp_pack_get_i64(p, path, "train.seed", &c->seed, e) ||
        get_bool(p, path, "train.done", &c->done, e) ||
        dsp_pack_get_f64(p, path, "train.epoch_loss_sum", &c->epoch_loss_sum, e) ||
        dsp_pack_get_f64(p, path, "train.epoch_correct", &c->epoch_correct, e) ||
        dsp_pack_get_f64(p, path, "train.epoch_seen", &c->epoch_seen, e) ||
        dsp_pack_get_f64(p, path, "train.epoch_seconds", &c->epoch_seconds, e) ||
        dsp_pack_get_str(p, path, "split", &c->split, e) ||
        dsp_pack_get_str(p, path, "config", &c->config, e) ||
        get_bool(p, path, "es.mode_max", &s->mode_max, e) ||
        dsp_pack_get_f64(p, path, "es.min_delta", &s->min_delta, e) ||
        get_int(p, path, "es.patience", &s->patience, e) ||
        dsp_pack_get_f64(p, path, "es.best", &s->best, e) ||
        get_bool(p, path, "rlr.mode_max", &q->mode_max, e) ||
        dsp_pack_get_f64(p, path, "rlr.factor", &q->factor, e) ||
        get_int(p, path, "rlr.patience", &q->patience, e) ||
        dsp_pack_get_f64(p, path, "rlr.min_delta", &q->min_delta, e) ||
        get_int(p, path, "rlr.cooldown", &q->cooldown, e) ||
        dsp_pack_get_f64(p, path, "rlr.min_lr", &q->min_lr, e) ||
        dsp_pack_get_f64(p, path, "rlr.best", &q->best, e) ||
        get_int(p, path, "rlr.wait", &q->wait, e) ||
        get_int(p, path, "rlr.cooldown_left", &q->cooldown_left, e) ||
        get_int(p, path, "es.wait", &s->wait, e))
        goto out;
    int64_t be, sh;
    if (dsp_pack_get_i64(p, path, "es.best_epoch", &be, e) ||
        dsp_pack_get_i64(p, path, "split.hash", &sh, e))
        goto out;
    if (t < 0 || c->epoch < 0 || c->epoch > 1000000 || c->batch < 0 || be < -1 || be > c->epoch ||
        !(c->lr >= 0 && c->lr < 1e6)) {
        err_set(e, "%s: training state out of range", path);
        goto out;
    }
    c->adam_t = (uint64_t)t;
    s->best_epoch = (int)be;
    c->split_hash = (uint64_t)sh;
    const struct dsp_pack_rec *h = dsp_pack_need(p, path, "history", DSP_PACK_F64, 0, e);
    if (!h) goto out;
    if (h->ndim != 2 || h->dims[1] != DIST_H_COLS || h->dims[0] > 1000000) {
        err_set(e, "%s: history has the wrong shape", path);
        goto out;
    }
    c->n_hist = (size_t)h->dims[0];
    c->hist = malloc((c->n_hist ? c->n_hist : 1) * DIST_H_COLS * sizeof *c->hist);
    if (!c->hist) {
        err_set(e, "%s: out of memory", path);
        goto out;
    }
    memcpy(c->hist, h->data, c->n_hist * DIST_H_COLS * sizeof *c->hist);
    for (size_t i = 0; i < c->in_channels; i++)
        if (!isfinite(c->mean[i]) || !(c->std[i] > 0)) {
            err_set(e, "%s: normalisation statistics are invalid", path);
            goto out;
        }
    rc = 0;
    goto out;
bad_classes:
    err_set(e, "%s: %zu classes, this ser knows %d labels", path, c->n_classes, DSP_N_LABELS);
out:
    nn_model_free(m);
    return rc;
}

int dist_ckpt_model(const struct dist_ckpt *c, size_t max_batch, struct nn_model **m, struct err *e)
{
    if (nn_model_create(m, c->spec, c->in_channels, c->in_len, c->n_classes, max_batch, e))
        return -1;
    memcpy(nn_model_params(*m), c->weights, c->nparams * sizeof(float));
    return 0;
}

void dist_ckpt_free(struct dist_ckpt *c)
{
    if (!c) return;
    free(c->version);
    free(c->spec);
    free(c->mean);
    free(c->std);
    free(c->weights);
    free(c->best);
    free(c->adam_m);
    free(c->adam_v);
    free(c->split);
    free(c->config);
    free(c->hist);
    memset(c, 0, sizeof *c);
}
