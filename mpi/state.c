/* state.c: the training state's one table of fields, and checkpoint files built from it
 * (see state.h). */
#include "mpi/state.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/pack.h"
#include "dsp/scan.h"
#include "mpi/dataset.h"
#include "mpi/record.h"

#define S(f) offsetof(struct dist_state, f)
#define INF  HUGE_VAL

/* Loading context: the model that names the tensors, built from the loaded spec. */
struct ctx {
    const struct nn_model *model; /* saving, or after load_model */
    struct nn_model *owned;
};

/* ---- custom fields: label names, per-tensor weights ---- */

static int classes_save(struct dsp_pack *p, const struct dist_rfield *f, const void *base,
                        void *ctx, struct err *e)
{
    const struct dist_state *s = base;
    (void)ctx;
    return dist_pack_add_strings(p, f->name, (char *const *)s->cls.name, (size_t)s->cls.n, e);
}

static int classes_load(const struct dsp_pack *p, const char *what, const struct dist_rfield *f,
                        void *base, void *ctx, struct err *e)
{
    struct dist_state *s = base;
    char **names = NULL;
    (void)ctx;
    int rc = dist_pack_get_strings(p, what, f->name, (size_t)s->n_classes, &names, e);
    if (rc == 0) rc = dist_classes_named(&s->cls, names, (size_t)s->n_classes, what, e);
    dist_free_strings(names, (size_t)s->n_classes);
    return rc;
}

static int classes_equal(const struct dist_rfield *f, const void *a, const void *b, void *ctx)
{
    const struct dist_state *x = a, *y = b;
    (void)f, (void)ctx;
    return x->cls.n == y->cls.n && memcmp(x->cls.label, y->cls.label, sizeof x->cls.label) == 0;
}

static void classes_print(FILE *out, const struct dist_rfield *f, const void *base, void *ctx)
{
    const struct dist_state *s = base;
    (void)ctx;
    fprintf(out, "  %-24s", f->name);
    for (int i = 0; i < s->cls.n; i++) fprintf(out, " %s", s->cls.name[i]);
    fputc('\n', out);
}

static const struct dist_rcustom classes = {classes_save, classes_load, classes_equal,
                                            classes_print, NULL};

/* The tensor prefix of a weights field: "param." or "best.". */
static const char *prefix(const struct dist_rfield *f)
{
    return f->name;
}

static int tensors_save(struct dsp_pack *p, const struct dist_rfield *f, const void *base,
                        void *vctx, struct err *e)
{
    const struct nn_model *m = ((struct ctx *)vctx)->model;
    const float *flat = *(float *const *)((const char *)base + f->offset);
    if (!flat) return 0; /* an optional field left out */
    for (size_t i = 0; i < nn_model_ntensors(m); i++) {
        const struct nn_tensor *t = nn_model_tensor(m, i);
        char name[256];
        uint64_t dims[4];
        for (int k = 0; k < t->ndim; k++) dims[k] = t->shape[k];
        snprintf(name, sizeof name, "%s%s", prefix(f), t->name);
        if (dsp_pack_add(p, name, DSP_PACK_F32, t->ndim, dims, flat + t->offset, e)) return -1;
    }
    return 0;
}

/* Builds the model the loaded spec describes (once) to learn tensor names and shapes. */
static int load_model(const struct dist_state *s, const char *what, struct ctx *c,
                      size_t payload_bytes, struct err *e)
{
    if (c->model) return 0;
    struct err me = {0};
    struct nn_model_cost cost;
    /* plan before allocating: a crafted spec must not make us allocate what the file does not
     * hold (its nparams weights are in the file; batch-1 activations stay far below 1 GiB) */
    if (nn_model_estimate_from_text(s->spec, (size_t)s->in_channels, (size_t)s->in_len,
                                    (size_t)s->n_classes, 1, &cost, &me))
        return err_set(e, "%s: model spec does not build: %s", what, me.msg);
    if (cost.nparams != (size_t)s->nparams || cost.params_bytes > payload_bytes)
        return err_set(e, "%s: %lld parameters stored, the spec has %zu", what,
                       (long long)s->nparams, cost.nparams);
    if (cost.total_bytes - cost.params_bytes - cost.grads_bytes > ((size_t)1 << 30))
        return err_set(e, "%s: the model's activations for one sample take %zu bytes", what,
                       cost.total_bytes - cost.params_bytes - cost.grads_bytes);
    if (nn_model_create_from_text(&c->owned, s->spec, (size_t)s->in_channels, (size_t)s->in_len,
                                  (size_t)s->n_classes, 1, &me))
        return err_set(e, "%s: model spec does not build: %s", what, me.msg);
    c->model = c->owned;
    if ((size_t)s->nparams != nn_model_nparams(c->model))
        return err_set(e, "%s: %lld parameters stored, the spec has %zu", what,
                       (long long)s->nparams, nn_model_nparams(c->model));
    return 0;
}

/* Reads record `name` into view t of flat, checking its type, size and shape against t. */
static int read_view(const struct dsp_pack *p, const char *what, const char *name,
                     const struct nn_tensor *t, float *flat, struct err *e)
{
    const struct dsp_pack_rec *r = dsp_pack_need(p, what, name, DSP_PACK_F32, t->size, e);
    if (!r) return -1;
    if (r->ndim != t->ndim) return err_set(e, "%s: tensor %s has the wrong rank", what, name);
    for (int k = 0; k < t->ndim; k++)
        if (r->dims[k] != t->shape[k])
            return err_set(e, "%s: tensor %s dimension %d is %llu, the spec says %zu", what, name,
                           k, (unsigned long long)r->dims[k], t->shape[k]);
    memcpy(flat + t->offset, r->data, t->size * sizeof *flat);
    return 0;
}

static int tensors_load(const struct dsp_pack *p, const char *what, const struct dist_rfield *f,
                        void *base, void *vctx, struct err *e)
{
    struct ctx *c = vctx;
    struct dist_state *s = base;
    char first[256];
    if (load_model(s, what, c, p->len, e)) return -1;
    const struct nn_model *m = c->model;
    snprintf(first, sizeof first, "%s%s", prefix(f), nn_model_tensor(m, 0)->name);
    if ((f->flags & REC_TRAIN) && !dsp_pack_find(p, first)) return 0; /* model-only file */
    float *flat = malloc(nn_model_nparams(m) * sizeof *flat);
    if (!flat) return err_set(e, "%s: out of memory", what);
    *(float **)((char *)base + f->offset) = flat;
    for (size_t i = 0; i < nn_model_ntensors(m); i++) {
        const struct nn_tensor *t = nn_model_tensor(m, i);
        char name[256];
        snprintf(name, sizeof name, "%s%s", prefix(f), t->name);
        if (read_view(p, what, name, t, flat, e) != 0) return -1;
    }
    for (size_t i = 0; i < nn_model_nparams(m); i++)
        if (!isfinite(flat[i]))
            return err_set(e, "%s: weight %zu of %s is not finite", what, i, prefix(f));
    return 0;
}

static void tensors_free(const struct dist_rfield *f, void *base)
{
    float **v = (float **)((char *)base + f->offset);
    free(*v);
    *v = NULL;
}

/* "NAME  N LABEL: a[2,3], b[4]" for n named views of a flat buffer (scalars with their value). */
static void views_print(FILE *out, const char *name, const char *label, const float *flat,
                        const struct nn_model *m, size_t n,
                        const struct nn_tensor *(*view)(const struct nn_model *, size_t))
{
    if (!flat) {
        fprintf(out, "  %-24s (absent)\n", name);
        return;
    }
    fprintf(out, "  %-24s %zu %s:", name, n, label);
    for (size_t i = 0; i < n; i++) {
        const struct nn_tensor *t = view(m, i);
        fprintf(out, "%s %s[", i ? "," : "", t->name);
        for (int k = 0; k < t->ndim; k++) fprintf(out, "%s%zu", k ? "," : "", t->shape[k]);
        fputc(']', out);
        if (t->ndim == 0) fprintf(out, "=%g", (double)flat[t->offset]);
    }
    fputc('\n', out);
}

static void tensors_print(FILE *out, const struct dist_rfield *f, const void *base, void *vctx)
{
    const struct nn_model *m = ((struct ctx *)vctx)->model;
    const float *flat = *(float *const *)((const char *)base + f->offset);
    views_print(out, f->name, "tensors", flat, m, nn_model_ntensors(m), nn_model_tensor);
}

static const struct dist_rcustom tensors = {tensors_save, tensors_load, NULL, tensors_print,
                                            tensors_free};

/* ---- running buffers (batchnorm statistics): records "<param. or best.><state_dict name>",
 * PyTorch's shapes; none for a model without them ---- */

/* "param." of "param.buffers": the prefix the records share with the weights. */
static void run_prefix(const struct dist_rfield *f, char *buf, size_t cap)
{
    const char *dot = strchr(f->name, '.');
    snprintf(buf, cap, "%.*s", (int)(dot ? dot - f->name + 1 : 0), f->name);
}

static int running_save(struct dsp_pack *p, const struct dist_rfield *f, const void *base,
                        void *vctx, struct err *e)
{
    const struct nn_model *m = ((struct ctx *)vctx)->model;
    const float *flat = *(float *const *)((const char *)base + f->offset);
    char pre[16];
    run_prefix(f, pre, sizeof pre);
    for (size_t i = 0; flat && i < nn_model_nrunning_tensors(m); i++) {
        const struct nn_tensor *t = nn_model_running_tensor(m, i);
        char name[256];
        uint64_t dims[4];
        for (int k = 0; k < t->ndim; k++) dims[k] = t->shape[k];
        snprintf(name, sizeof name, "%s%s", pre, t->name);
        if (dsp_pack_add(p, name, DSP_PACK_F32, t->ndim, dims, flat + t->offset, e)) return -1;
    }
    return 0;
}

/* One running buffer: finite; a variance or a count not negative. */
static int running_valid(const struct nn_tensor *t, const float *v, const char *what,
                         const char *name, struct err *e)
{
    int nonneg = strstr(t->name, "running_var") || strstr(t->name, "num_batches_tracked");
    for (size_t k = 0; k < t->size; k++)
        if (!isfinite(v[k]) || (nonneg && v[k] < 0))
            return err_set(e, "%s: %s[%zu] = %g is not %s", what, name, k, (double)v[k],
                           nonneg ? "finite and >= 0" : "finite");
    return 0;
}

static int running_load(const struct dsp_pack *p, const char *what, const struct dist_rfield *f,
                        void *base, void *vctx, struct err *e)
{
    struct ctx *c = vctx;
    struct dist_state *s = base;
    char pre[16], name[256];
    if (load_model(s, what, c, p->len, e)) return -1;
    const struct nn_model *m = c->model;
    s->nrunning = (int64_t)nn_model_nrunning(m);
    if (s->nrunning == 0) return 0;
    run_prefix(f, pre, sizeof pre);
    snprintf(name, sizeof name, "%s%s", pre, nn_model_running_tensor(m, 0)->name);
    if ((f->flags & REC_TRAIN) && !dsp_pack_find(p, name)) return 0; /* model-only file */
    float *flat = malloc((size_t)s->nrunning * sizeof *flat);
    if (!flat) return err_set(e, "%s: out of memory", what);
    *(float **)((char *)base + f->offset) = flat;
    for (size_t i = 0; i < nn_model_nrunning_tensors(m); i++) {
        const struct nn_tensor *t = nn_model_running_tensor(m, i);
        snprintf(name, sizeof name, "%s%s", pre, t->name);
        if (read_view(p, what, name, t, flat, e) != 0) return -1;
        if (running_valid(t, flat + t->offset, what, name, e)) return -1;
    }
    return 0;
}

static void running_print(FILE *out, const struct dist_rfield *f, const void *base, void *vctx)
{
    const struct nn_model *m = ((struct ctx *)vctx)->model;
    const float *flat = *(float *const *)((const char *)base + f->offset);
    size_t n = nn_model_nrunning_tensors(m);
    if (n) views_print(out, f->name, "running buffers", flat, m, n, nn_model_running_tensor);
}

static const struct dist_rcustom running = {running_save, running_load, NULL, running_print,
                                            tensors_free};

/* ---- the table ---- */

/* clang-format off */
static const struct dist_rfield fields[] = {
    {"ser_version", REC_STR, S(version), 0, 64, 0, 0, 0, NULL, "ser version that wrote it"},
    {"spec", REC_STR, S(spec), 0, 65536, 0, 0, REC_MATCH, NULL, "model spec"},
    {"in_channels", REC_I64, S(in_channels), 1, 4096, 0, 0, REC_MATCH, NULL, "input coefficients"},
    {"in_len", REC_I64, S(in_len), 1, 1 << 20, 0, 0, REC_MATCH, NULL, "input frames"},
    {"format", REC_I64, S(format), DIST_CKPT_FORMAT, DIST_CKPT_FORMAT, 0, 0, 0, NULL, "checkpoint format"},
    {"n_classes", REC_I64, S(n_classes), 2, DSP_N_LABELS, 0, 0, REC_MATCH, NULL, "classes"},
    {"classes", REC_CUSTOM, 0, 0, 0, 0, 0, REC_MATCH, &classes, NULL},
    DIST_PARAM_FIELDS(struct dist_state, params, REC_MATCH),
    {"norm.mode", REC_STR, S(norm), 0, 16, 0, 0, REC_MATCH | REC_OPTIONAL, NULL, "input normalisation (--norm; absent: global)"},
    {"norm.mean", REC_F32V, S(mean), 0, 0, S(in_channels), 0, REC_MATCH, NULL, NULL},
    {"norm.std", REC_F32V, S(std), 0, 0, S(in_channels), 0, REC_MATCH, NULL, NULL},
    {"nparams", REC_I64, S(nparams), 1, 1e10, 0, 0, REC_MATCH, NULL, "parameters"},
    {"param.", REC_CUSTOM, S(weights), 0, 0, 0, 0, 0, &tensors, NULL},
    {"param.buffers", REC_CUSTOM, S(running), 0, 0, 0, 0, 0, &running, NULL},
    {"best.", REC_CUSTOM, S(best), 0, 0, 0, 0, REC_TRAIN, &tensors, NULL},
    {"best.buffers", REC_CUSTOM, S(best_running), 0, 0, 0, 0, REC_TRAIN, &running, NULL},
    {"adam.m", REC_F32V, S(adam.m), 0, 0, S(nparams), 0, REC_TRAIN, NULL, NULL},
    {"adam.v", REC_F32V, S(adam.v), 0, 0, S(nparams), 0, REC_TRAIN, NULL, NULL},
    {"adam.t", REC_U64, S(adam.t), 0, 1e15, 0, 0, REC_TRAIN, NULL, "optimizer steps taken"},
    {"adam.lr", REC_F64, S(adam.lr), 1e-30, 10, 0, 0, REC_TRAIN, NULL, "learning rate now"},
    {"adam.beta1", REC_F64, S(adam.beta1), 0, 0.999999, 0, 0, REC_TRAIN, NULL, NULL},
    {"adam.beta2", REC_F64, S(adam.beta2), 0, 0.999999999, 0, 0, REC_TRAIN, NULL, NULL},
    {"adam.eps", REC_F64, S(adam.eps), 1e-30, 1, 0, 0, REC_TRAIN, NULL, NULL},
    {"adam.weight_decay", REC_F64, S(adam.weight_decay), 0, 10, 0, 0, REC_TRAIN, NULL, NULL},
    {"train.seed", REC_I64, S(seed), 0, 9.2e18, 0, 0, REC_TRAIN, NULL, "seed"},
    {"train.epoch", REC_I64, S(epoch), 0, 1000000, 0, 0, REC_TRAIN, NULL, "epochs completed"},
    {"train.batch", REC_I64, S(batch), 0, 1e9, 0, 0, REC_TRAIN, NULL, "batches done in this epoch"},
    {"train.batch_size", REC_I64, S(mbatch), 1, 65536, 0, 0, REC_TRAIN, NULL, "global batch size"},
    {"train.done", REC_I64, S(done), 0, 1, 0, 0, REC_TRAIN, NULL, "stopped early"},
    {"train.epoch_loss_sum", REC_F64, S(ep_loss_sum), 0, 1e300, 0, 0, REC_TRAIN, NULL, NULL},
    {"train.epoch_correct", REC_F64, S(ep_correct), 0, 1e15, 0, 0, REC_TRAIN, NULL, NULL},
    {"train.epoch_seen", REC_F64, S(ep_seen), 0, 1e15, 0, 0, REC_TRAIN, NULL, NULL},
    {"train.epoch_seconds", REC_F64, S(ep_seconds), 0, 1e12, 0, 0, REC_TRAIN, NULL, NULL},
    {"train.epoch_weight", REC_F64, S(ep_weight), 0, 1e15, 0, 0, REC_TRAIN, NULL, NULL},
    {"split", REC_STR, S(split), 0, 4096, 0, 0, REC_TRAIN, NULL, "split"},
    {"split.hash", REC_U64, S(split_hash), 0, 0, 0, 0, REC_TRAIN | REC_MATCH, NULL, "file list and split"},
    {"data.list_hash", REC_U64, S(list_hash), 0, 0, 0, 0, REC_TRAIN | REC_MATCH, NULL, "scanned corpus"},
    {"config", REC_STR, S(config), 0, 1 << 20, 0, 0, REC_TRAIN, NULL, "configuration"},
    {"es.mode_max", REC_BOOL, S(stopper.mode_max), 0, 1, 0, 0, REC_TRAIN, NULL, "early stopping: 1 = maximise"},
    {"es.min_delta", REC_F64, S(stopper.min_delta), 0, 1e9, 0, 0, REC_TRAIN, NULL, NULL},
    {"es.patience", REC_INT, S(stopper.patience), 1, 1000000, 0, 0, REC_TRAIN, NULL, NULL},
    {"es.best", REC_F64, S(stopper.best), -INF, INF, 0, 0, REC_TRAIN, NULL, "best monitored value"},
    {"es.best_epoch", REC_INT, S(stopper.best_epoch), -1, 1000000, 0, 0, REC_TRAIN, NULL, "0-based"},
    {"es.wait", REC_INT, S(stopper.wait), 0, 1000000, 0, 0, REC_TRAIN, NULL, "epochs without improvement"},
    {"rlr.mode_max", REC_BOOL, S(plateau.mode_max), 0, 1, 0, 0, REC_TRAIN, NULL, NULL},
    {"rlr.factor", REC_F64, S(plateau.factor), 1e-6, 1, 0, 0, REC_TRAIN, NULL, NULL},
    {"rlr.patience", REC_INT, S(plateau.patience), 1, 1000000, 0, 0, REC_TRAIN, NULL, NULL},
    {"rlr.min_delta", REC_F64, S(plateau.min_delta), 0, 1e9, 0, 0, REC_TRAIN, NULL, NULL},
    {"rlr.cooldown", REC_INT, S(plateau.cooldown), 0, 1000000, 0, 0, REC_TRAIN, NULL, NULL},
    {"rlr.min_lr", REC_F64, S(plateau.min_lr), 0, 10, 0, 0, REC_TRAIN, NULL, NULL},
    {"rlr.best", REC_F64, S(plateau.best), -INF, INF, 0, 0, REC_TRAIN, NULL, NULL},
    {"rlr.wait", REC_INT, S(plateau.wait), 0, 1000000, 0, 0, REC_TRAIN, NULL, NULL},
    {"rlr.cooldown_left", REC_INT, S(plateau.cooldown_left), 0, 1000000, 0, 0, REC_TRAIN, NULL, NULL},
    {"history", REC_F64M, S(hist), 0, 0, S(epoch), DIST_H_COLS, REC_TRAIN, NULL, NULL},
};
/* clang-format on */
enum { NFIELDS = sizeof fields / sizeof fields[0] };

/* ---- files ---- */

int dist_state_save(const struct dist_state *s, const struct nn_model *m, int model_only,
                    const char *path, struct err *e)
{
    struct ctx c = {m, NULL};
    struct dist_state tmp = *s, *src = &tmp;
    tmp.format = DIST_CKPT_FORMAT; /* whatever the caller's state says: this ser writes it */
    if (model_only) { /* best.ckpt: the best weights (and their statistics), no training state */
        tmp.weights = s->best;
        tmp.running = s->best_running;
    }
    struct dsp_pack p = {0};
    int rc = dist_rec_save(&p, fields, NFIELDS, src, model_only ? REC_TRAIN : 0, &c, e);
    if (rc == 0) rc = dsp_pack_write(&p, path, DIST_CKPT_KIND, DSP_PACK_ENTROPY, e);
    dsp_pack_free(&p);
    return rc;
}

/* Checks between fields that the table's ranges cannot express. */
static int cross_check(const struct dist_state *s, int has_train, const char *what, struct err *e)
{
    if (dist_norm_mode(s->norm) < 0)
        return err_set(e, "%s: norm.mode '%s' is not global, speaker or utterance", what, s->norm);
    for (int64_t i = 0; i < s->in_channels; i++)
        if (!(s->std[i] > 0))
            return err_set(e, "%s: norm.std[%lld] is not > 0", what, (long long)i);
    if (!has_train) return 0;
    if (!s->best || !s->adam.m || !s->adam.v || !s->hist || (s->nrunning && !s->best_running))
        return err_set(e, "%s: training state incomplete (best weights, moments, history)", what);
    if (s->stopper.best_epoch >= s->epoch + (s->batch > 0))
        return err_set(e, "%s: best epoch %d is not before the position (epoch %lld)", what,
                       s->stopper.best_epoch + 1, (long long)s->epoch);
    if (s->ep_correct > s->ep_seen || (s->batch == 0 && s->ep_seen != 0))
        return err_set(e, "%s: running sums of the epoch are inconsistent", what);
    return 0;
}

static int from_pack(struct dist_state *s, const struct dsp_pack *p, const char *what,
                     int *has_train, struct err *e)
{
    int64_t format = 1;
    if (dsp_pack_find(p, "format") && dsp_pack_get_i64(p, what, "format", &format, e)) return -1;
    if (format != DIST_CKPT_FORMAT)
        return err_set(e, "%s: a checkpoint of format %lld (%s ser); this ser reads format %d: %s",
                       what, (long long)format, format < DIST_CKPT_FORMAT ? "an older" : "a newer",
                       DIST_CKPT_FORMAT,
                       format < DIST_CKPT_FORMAT ? "train again" : "use the ser that wrote it");
    struct ctx c = {NULL, NULL};
    int train = dsp_pack_find(p, "adam.m") != NULL;
    int rc = dist_rec_load(p, what, fields, NFIELDS, s, train ? 0 : REC_TRAIN, &c, e);
    if (rc == 0 && !s->norm) { /* written before --norm: the global normalisation */
        s->norm = malloc(sizeof "global");
        if (s->norm)
            memcpy(s->norm, "global", sizeof "global");
        else
            rc = err_set(e, "%s: out of memory", what);
    }
    if (rc == 0) rc = cross_check(s, train, what, e);
    nn_model_free(c.owned);
    if (has_train) *has_train = train;
    return rc;
}

int dist_state_load(struct dist_state *s, const char *path, int *has_train, struct err *e)
{
    struct dsp_pack p = {0};
    int rc = dsp_pack_read(&p, path, DIST_CKPT_KIND, e);
    if (rc == 0) rc = from_pack(s, &p, path, has_train, e);
    dsp_pack_free(&p);
    return rc;
}

int dist_state_decode(struct dist_state *s, const unsigned char *buf, size_t len, const char *what,
                      int *has_train, struct err *e)
{
    struct dsp_pack p = {0};
    int rc = dsp_pack_decode(&p, buf, len, DIST_CKPT_KIND, what, e);
    if (rc == 0) rc = from_pack(s, &p, what, has_train, e);
    dsp_pack_free(&p);
    return rc;
}

void dist_state_free(struct dist_state *s)
{
    if (!s) return;
    dist_rec_free(fields, NFIELDS, s);
    memset(s, 0, sizeof *s);
}

const char *dist_state_mismatch(const struct dist_state *a, const struct dist_state *b)
{
    const struct dist_rfield *f = dist_rec_diff(fields, NFIELDS, a, b, REC_MATCH, NULL);
    return f ? f->name : NULL;
}

int dist_state_restore(struct dist_state *dst, const struct dist_state *src, size_t hist_rows,
                       struct err *e)
{
    if (src->nparams != dst->nparams || src->nrunning != dst->nrunning ||
        (size_t)src->epoch > hist_rows)
        return err_set(e, "the checkpoint does not fit this run (%lld parameters, %lld epochs)",
                       (long long)src->nparams, (long long)src->epoch);
    size_t np = (size_t)dst->nparams;
    memcpy(dst->weights, src->weights, np * sizeof(float));
    memcpy(dst->best, src->best, np * sizeof(float));
    memcpy(dst->adam.m, src->adam.m, np * sizeof(float));
    memcpy(dst->adam.v, src->adam.v, np * sizeof(float));
    if (dst->nrunning) {
        memcpy(dst->running, src->running, (size_t)dst->nrunning * sizeof(float));
        memcpy(dst->best_running, src->best_running, (size_t)dst->nrunning * sizeof(float));
    }
    memcpy(dst->hist, src->hist, (size_t)src->epoch * DIST_H_COLS * sizeof(double));
    /* every scalar of the training state, as the table lists them */
    for (size_t i = 0; i < NFIELDS; i++) {
        const struct dist_rfield *f = &fields[i];
        if (!(f->flags & REC_TRAIN)) continue;
        size_t size = f->type == REC_I64 || f->type == REC_U64 || f->type == REC_F64 ? 8
                      : f->type == REC_INT || f->type == REC_BOOL                    ? sizeof(int)
                                                                                     : 0;
        if (size) memcpy((char *)dst + f->offset, (const char *)src + f->offset, size);
    }
    return 0;
}

void dist_state_print(FILE *out, const struct dist_state *s, const struct nn_model *m)
{
    struct ctx c = {m, NULL};
    dist_rec_print(out, fields, NFIELDS, s, s->adam.m ? 0 : REC_TRAIN, &c);
    if (!s->adam.m) fprintf(out, "training state: absent (a model-only checkpoint)\n");
    if (s->hist && s->epoch > 0) {
        fprintf(out, "history\n  epoch  train_loss  train_acc  val_loss  val_acc  val_uar  lr\n");
        for (int64_t i = 0; i < s->epoch; i++) {
            const double *h = s->hist + (size_t)i * DIST_H_COLS;
            fprintf(out, "  %5lld  %10.4f  %9.4f  %8.4f  %7.4f  %7.4f  %.3g\n", (long long)i + 1,
                    h[DIST_H_TRAIN_LOSS], h[DIST_H_TRAIN_ACC], h[DIST_H_VAL_LOSS],
                    h[DIST_H_VAL_ACC], h[DIST_H_VAL_UAR], h[DIST_H_LR]);
        }
    }
}

int dist_state_model(const struct dist_state *s, size_t max_batch, struct nn_model **m,
                     struct err *e)
{
    if (nn_model_create_from_text(m, s->spec, (size_t)s->in_channels, (size_t)s->in_len,
                                  (size_t)s->n_classes, max_batch, e))
        return -1;
    memcpy(nn_model_params(*m), s->weights, (size_t)s->nparams * sizeof(float));
    if (s->nrunning) memcpy(nn_model_running(*m), s->running, (size_t)s->nrunning * sizeof(float));
    return 0;
}
