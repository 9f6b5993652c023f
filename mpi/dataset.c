/* dataset.c: feature files (see dataset.h for the record layout). */
#include "mpi/dataset.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dsp/scan.h"

size_t dist_dataset_dim(const struct dist_dataset *d)
{
    return d->n_mfcc * d->frames;
}

/* n strings, NUL-terminated, back to back. */
int dist_pack_add_strings(struct dsp_pack *p, const char *name, char *const *s, size_t n,
                          struct err *e)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) total += strlen(s[i]) + 1;
    char *blob = malloc(total ? total : 1);
    if (!blob) return err_set(e, "out of memory");
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(s[i]) + 1;
        memcpy(blob + pos, s[i], l);
        pos += l;
    }
    uint64_t dim = total;
    int rc = dsp_pack_add(p, name, DSP_PACK_U8, 1, &dim, blob, e);
    free(blob);
    return rc;
}

int dist_pack_get_strings(const struct dsp_pack *p, const char *what, const char *name, size_t n,
                          char ***out, struct err *e)
{
    const struct dsp_pack_rec *r = dsp_pack_need(p, what, name, DSP_PACK_U8, 0, e);
    if (!r) return -1;
    const char *b = r->data;
    size_t len = (size_t)r->count, pos = 0;
    /* every string takes at least its NUL: a count beyond the bytes is a crafted file */
    if (n > len) return err_set(e, "%s: field %s cannot hold %zu strings", what, name, n);
    char **s = calloc(n ? n : 1, sizeof *s);
    if (!s) return err_set(e, "%s: out of memory", what);
    *out = s;
    for (size_t i = 0; i < n; i++) {
        const char *end = pos < len ? memchr(b + pos, 0, len - pos) : NULL;
        if (!end) return err_set(e, "%s: field %s holds fewer than %zu strings", what, name, n);
        size_t l = (size_t)(end - (b + pos));
        if (!(s[i] = malloc(l + 1))) return err_set(e, "%s: out of memory", what);
        memcpy(s[i], b + pos, l + 1);
        pos += l + 1;
    }
    if (pos != len) return err_set(e, "%s: field %s holds more than %zu strings", what, name, n);
    return 0;
}

static const struct dist_rfield param_fields[] = {
    DIST_PARAM_FIELDS(struct dist_dataset, params, 0),
};
enum { N_PARAM_FIELDS = sizeof param_fields / sizeof param_fields[0] };

static int build_pack(const struct dist_dataset *d, struct dsp_pack *p, struct err *e)
{
    uint64_t fd[3] = {d->n, d->n_mfcc, d->frames}, ld[1] = {d->n};
    if (dsp_pack_add_i64(p, "format", DIST_FEAT_FORMAT, e) ||
        dsp_pack_add(p, "features", DSP_PACK_F32, 3, fd, d->x, e) ||
        dsp_pack_add(p, "labels", DSP_PACK_I32, 1, ld, d->label, e) ||
        dsp_pack_add(p, "corpora", DSP_PACK_I32, 1, ld, d->corpus, e) ||
        dsp_pack_add(p, "genders", DSP_PACK_U8, 1, ld, d->gender, e) ||
        dist_pack_add_strings(p, "paths", d->path, d->n, e) ||
        dist_pack_add_strings(p, "speakers", d->speaker, d->n, e) ||
        dist_pack_add_strings(p, "label_names", (char *const *)dsp_label_names, DSP_N_LABELS, e) ||
        dsp_pack_add_i64(p, "n_skipped", (int64_t)d->n_skipped, e) ||
        dist_pack_add_strings(p, "skipped_paths", d->skip_path, d->n_skipped, e) ||
        dist_pack_add_strings(p, "skipped_reasons", d->skip_reason, d->n_skipped, e) ||
        dist_rec_save(p, param_fields, N_PARAM_FIELDS, d, 0, NULL, e) ||
        dsp_pack_add_i64(p, "cache_key", (int64_t)d->cache_key, e))
        return -1;
    return 0;
}

int dist_dataset_encode(const struct dist_dataset *d, int level, unsigned char **out,
                        size_t *outlen, struct err *e)
{
    struct dsp_pack p = {0};
    int rc = build_pack(d, &p, e);
    if (rc == 0) rc = dsp_pack_encode(&p, DIST_FEAT_KIND, level, out, outlen, e);
    dsp_pack_free(&p);
    return rc;
}

int dist_dataset_save(const struct dist_dataset *d, const char *path, struct err *e)
{
    struct dsp_pack p = {0};
    int rc = build_pack(d, &p, e);
    if (rc == 0) rc = dsp_pack_write(&p, path, DIST_FEAT_KIND, 1, e);
    dsp_pack_free(&p);
    return rc;
}

static int from_pack(struct dist_dataset *d, const struct dsp_pack *p, const char *what,
                     size_t max_items, struct err *e)
{
    int64_t format = 1;
    if (dsp_pack_find(p, "format") && dsp_pack_get_i64(p, what, "format", &format, e)) return -1;
    if (format != DIST_FEAT_FORMAT)
        return err_set(
            e, "%s: a feature file of format %lld (%s ser); this ser reads format %d: %s", what,
            (long long)format, format < DIST_FEAT_FORMAT ? "an older" : "a newer", DIST_FEAT_FORMAT,
            format < DIST_FEAT_FORMAT ? "extract again" : "use the ser that wrote it");
    const struct dsp_pack_rec *f = dsp_pack_need(p, what, "features", DSP_PACK_F32, 0, e);
    if (!f) return -1;
    if (f->ndim != 3) return err_set(e, "%s: features must have 3 dimensions", what);
    d->n = (size_t)f->dims[0];
    d->n_mfcc = (size_t)f->dims[1];
    d->frames = (size_t)f->dims[2];
    const struct dsp_pack_rec *l = dsp_pack_need(p, what, "labels", DSP_PACK_I32, d->n, e);
    const struct dsp_pack_rec *c =
        l ? dsp_pack_need(p, what, "corpora", DSP_PACK_I32, d->n, e) : NULL;
    const struct dsp_pack_rec *g =
        c ? dsp_pack_need(p, what, "genders", DSP_PACK_U8, d->n, e) : NULL;
    if (!g) return -1;
    size_t bytes = (size_t)f->count * sizeof(float), nn = d->n ? d->n : 1;
    d->x = malloc(bytes ? bytes : 1);
    d->label = malloc(nn * sizeof *d->label);
    d->corpus = malloc(nn * sizeof *d->corpus);
    d->gender = malloc(nn);
    if (!d->x || !d->label || !d->corpus || !d->gender)
        return err_set(e, "%s: out of memory", what);
    memcpy(d->corpus, c->data, d->n * sizeof *d->corpus);
    memcpy(d->gender, g->data, d->n);
    for (size_t i = 0; i < d->n; i++)
        if (d->corpus[i] < 0 || d->corpus[i] >= DSP_N_CORPORA ||
            (d->gender[i] != 'm' && d->gender[i] != 'f' && d->gender[i] != '?'))
            return err_set(e, "%s: sample %zu has a bad corpus or gender", what, i);
    memcpy(d->x, f->data, bytes);
    size_t dim = d->n_mfcc * d->frames > 0 ? d->n_mfcc * d->frames : 1;
    for (size_t i = 0; i < (size_t)f->count; i++)
        if (!isfinite(d->x[i]))
            return err_set(e, "%s: sample %zu holds a non-finite feature", what, i / dim);
    memcpy(d->label, l->data, d->n * sizeof *d->label);
    for (size_t i = 0; i < d->n; i++)
        if (d->label[i] < 0 || d->label[i] >= DSP_N_LABELS)
            return err_set(e, "%s: sample %zu has label %d outside 0..%d", what, i, d->label[i],
                           DSP_N_LABELS - 1);
    char **names = NULL;
    int rc = dist_pack_get_strings(p, what, "label_names", DSP_N_LABELS, &names, e);
    for (int i = 0; rc == 0 && i < DSP_N_LABELS; i++)
        if (strcmp(names[i], dsp_label_names[i]) != 0)
            rc = err_set(e, "%s: label %d is '%s', this ser expects '%s'", what, i, names[i],
                         dsp_label_names[i]);
    for (int i = 0; names && i < DSP_N_LABELS; i++) free(names[i]);
    free(names);
    if (rc) return -1;
    int64_t ns;
    if (dsp_pack_get_i64(p, what, "n_skipped", &ns, e)) return -1;
    if (ns < 0 || ns > 100000000) return err_set(e, "%s: n_skipped out of range", what);
    d->n_skipped = (size_t)ns;
    if (max_items && (d->n > max_items || d->n_skipped > max_items))
        return err_set(e, "%s: lists %zu files and %zu skipped, more than the %zu scanned", what,
                       d->n, d->n_skipped, max_items);
    int64_t key;
    if (dist_pack_get_strings(p, what, "paths", d->n, &d->path, e) ||
        dist_pack_get_strings(p, what, "speakers", d->n, &d->speaker, e) ||
        dist_pack_get_strings(p, what, "skipped_paths", d->n_skipped, &d->skip_path, e) ||
        dist_pack_get_strings(p, what, "skipped_reasons", d->n_skipped, &d->skip_reason, e) ||
        dist_rec_load(p, what, param_fields, N_PARAM_FIELDS, d, 0, NULL, e) ||
        dsp_pack_get_i64(p, what, "cache_key", &key, e))
        return -1;
    d->cache_key = (uint64_t)key;
    if (d->n_mfcc != dsp_mfcc_rows(&d->params.mfcc))
        return err_set(e, "%s: features have %zu rows but the parameters (%s, %d bands%s) give %zu",
                       what, d->n_mfcc, dsp_mfcc_output_name(d->params.mfcc.output),
                       (int)dsp_mfcc_bands(&d->params.mfcc),
                       d->params.mfcc.deltas ? ", deltas" : "", dsp_mfcc_rows(&d->params.mfcc));
    return 0;
}

int dist_dataset_decode(struct dist_dataset *d, const unsigned char *in, size_t inlen,
                        const char *what, struct err *e)
{
    struct dsp_pack p = {0};
    int rc = dsp_pack_decode(&p, in, inlen, DIST_FEAT_KIND, what, e);
    if (rc == 0) rc = from_pack(d, &p, what, 0, e);
    dsp_pack_free(&p);
    if (rc) dist_dataset_free(d);
    return rc;
}

int dist_dataset_load(struct dist_dataset *d, const char *path, size_t max_items, struct err *e)
{
    struct dsp_pack p = {0};
    int rc = dsp_pack_read(&p, path, DIST_FEAT_KIND, e);
    if (rc == 0) rc = from_pack(d, &p, path, max_items, e);
    dsp_pack_free(&p);
    if (rc) dist_dataset_free(d);
    return rc;
}

void dist_features_params_from(struct dsp_features_params *p, double offset, double duration,
                               int sr, int n_mfcc)
{
    dsp_features_default_params(p);
    p->load.offset_s = offset;
    p->load.duration_s = duration;
    p->load.sample_rate = p->mfcc.sample_rate = sr;
    p->mfcc.fmax = sr / 2.0;
    p->mfcc.n_mfcc = n_mfcc;
}

int dist_features_params_output(struct dsp_features_params *p, const char *type, long n_mels,
                                int deltas, struct err *e)
{
    int output = dsp_mfcc_output_index(type);
    if (output < 0) return err_set(e, "--feature-type: '%s' is neither mfcc nor logmel", type);
    if (n_mels < 1 || n_mels > 1024) return err_set(e, "--n-mels: %ld is outside 1..1024", n_mels);
    if (output == DSP_MFCC_OUT_MFCC && p->mfcc.n_mfcc > n_mels)
        return err_set(e, "--n-mfcc %d exceeds --n-mels %ld: the MFCCs are a DCT of the mel bands",
                       p->mfcc.n_mfcc, n_mels);
    p->mfcc.output = output;
    p->mfcc.n_mels = (int)n_mels;
    p->mfcc.deltas = deltas != 0;
    return 0;
}

size_t dist_dataset_planes(const struct dist_dataset *d)
{
    return dsp_mfcc_planes(&d->params.mfcc);
}

int dist_params_equal(const struct dsp_features_params *a, const struct dsp_features_params *b)
{
    return a->load.offset_s == b->load.offset_s && a->load.duration_s == b->load.duration_s &&
           a->load.sample_rate == b->load.sample_rate &&
           a->mfcc.sample_rate == b->mfcc.sample_rate && a->mfcc.n_fft == b->mfcc.n_fft &&
           a->mfcc.hop == b->mfcc.hop && a->mfcc.n_mels == b->mfcc.n_mels &&
           a->mfcc.n_mfcc == b->mfcc.n_mfcc && a->mfcc.fmin == b->mfcc.fmin &&
           a->mfcc.fmax == b->mfcc.fmax && a->mfcc.amin == b->mfcc.amin &&
           a->mfcc.top_db == b->mfcc.top_db && a->mfcc.output == b->mfcc.output &&
           a->mfcc.deltas == b->mfcc.deltas;
}

int dist_dataset_filter(struct dist_dataset *d, const int *keep, char *const *reason, struct err *e)
{
    size_t drop = 0, dim = d->n_mfcc * d->frames;
    for (size_t i = 0; i < d->n; i++) drop += !keep[i];
    if (!drop) return 0;
    char **sp = realloc(d->skip_path, (d->n_skipped + drop + 1) * sizeof *sp);
    if (sp) d->skip_path = sp;
    char **sr = realloc(d->skip_reason, (d->n_skipped + drop + 1) * sizeof *sr);
    if (sr) d->skip_reason = sr;
    if (!sp || !sr) return err_set(e, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (!keep[i]) {
            size_t l = strlen(reason[i]) + 1;
            char *r = malloc(l);
            if (!r) return err_set(e, "out of memory");
            memcpy(r, reason[i], l);
            d->skip_path[d->n_skipped] = d->path[i];
            d->skip_reason[d->n_skipped++] = r;
            free(d->speaker[i]);
            continue;
        }
        if (k != i) memmove(d->x + k * dim, d->x + i * dim, dim * sizeof *d->x);
        d->label[k] = d->label[i], d->corpus[k] = d->corpus[i], d->gender[k] = d->gender[i];
        d->path[k] = d->path[i], d->speaker[k] = d->speaker[i];
        k++;
    }
    d->n = k;
    return 0;
}

void dist_free_strings(char **s, size_t n)
{
    for (size_t i = 0; s && i < n; i++) free(s[i]);
    free(s);
}

void dist_dataset_free(struct dist_dataset *d)
{
    if (!d) return;
    free(d->x);
    free(d->label);
    free(d->corpus);
    free(d->gender);
    dist_free_strings(d->path, d->n);
    dist_free_strings(d->speaker, d->n);
    dist_free_strings(d->skip_path, d->n_skipped);
    dist_free_strings(d->skip_reason, d->n_skipped);
    memset(d, 0, sizeof *d);
}
