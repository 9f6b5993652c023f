/* record.c: table-driven save, load, validation, comparison and printing of structs
 * (see record.h). */
#include "mpi/record.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/json.h"

static void *at(void *base, size_t off)
{
    return (char *)base + off;
}

static const void *cat(const void *base, size_t off)
{
    return (const char *)base + off;
}

static int64_t length_of(const struct dist_rfield *f, const void *base)
{
    return *(const int64_t *)cat(base, f->len_off);
}

void dist_rec_value(const struct dist_rfield *f, const void *base, char *buf, size_t len)
{
    const void *v = cat(base, f->offset);
    double d;
    switch (f->type) {
    case REC_I64:
        snprintf(buf, len, "%lld", (long long)*(const int64_t *)v);
        return;
    case REC_U64:
        snprintf(buf, len, "%llu", (unsigned long long)*(const uint64_t *)v);
        return;
    case REC_INT:
    case REC_BOOL:
        snprintf(buf, len, "%d", *(const int *)v);
        return;
    case REC_F64:
    case REC_F32:
        d = f->type == REC_F64 ? *(const double *)v : (double)*(const float *)v;
        if (isfinite(d))
            dist_shortest(d, buf, len);
        else
            snprintf(buf, len, "%g", d);
        return;
    case REC_STR:
        snprintf(buf, len, "%s", *(char *const *)v ? *(char *const *)v : "");
        return;
    default:
        snprintf(buf, len, "(array)");
        return;
    }
}

static int save_one(struct dsp_pack *p, const struct dist_rfield *f, const void *base, void *ctx,
                    struct err *e)
{
    const void *v = cat(base, f->offset);
    uint64_t dims[2];
    switch (f->type) {
    case REC_I64:
        return dsp_pack_add_i64(p, f->name, *(const int64_t *)v, e);
    case REC_U64:
        return dsp_pack_add_i64(p, f->name, (int64_t) * (const uint64_t *)v, e);
    case REC_INT:
    case REC_BOOL:
        return dsp_pack_add_i64(p, f->name, *(const int *)v, e);
    case REC_F64:
        return dsp_pack_add_f64(p, f->name, *(const double *)v, e);
    case REC_F32:
        return dsp_pack_add_f64(p, f->name, (double)*(const float *)v, e);
    case REC_STR:
        return dsp_pack_add_str(p, f->name, *(char *const *)v ? *(char *const *)v : "", e);
    case REC_F32V:
        dims[0] = (uint64_t)length_of(f, base);
        return dsp_pack_add(p, f->name, DSP_PACK_F32, 1, dims, *(float *const *)v, e);
    case REC_F64M:
        dims[0] = (uint64_t)length_of(f, base);
        dims[1] = f->cols;
        return dsp_pack_add(p, f->name, DSP_PACK_F64, 2, dims, *(double *const *)v, e);
    case REC_CUSTOM:
        return f->custom->save(p, f, base, ctx, e);
    }
    return err_set(e, "internal: field %s has no type", f->name);
}

int dist_rec_save(struct dsp_pack *p, const struct dist_rfield *t, size_t n, const void *base,
                  unsigned skip, void *ctx, struct err *e)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i].flags & skip) continue;
        const void *v = cat(base, t[i].offset);
        int is_array = t[i].type == REC_F32V || t[i].type == REC_F64M;
        if (is_array && (t[i].flags & REC_OPTIONAL) && !*(void *const *)v) continue;
        if (save_one(p, &t[i], base, ctx, e) != 0) return -1;
    }
    return 0;
}

static int bad_range(const char *what, const struct dist_rfield *f, double v, struct err *e)
{
    return err_set(e, "%s: field %s = %.17g is outside [%g, %g]", what, f->name, v, f->min, f->max);
}

static int load_real(const struct dsp_pack *p, const char *what, const struct dist_rfield *f,
                     double *out, struct err *e)
{
    if (dsp_pack_get_f64(p, what, f->name, out, e)) return -1;
    if (isnan(*out) || *out < f->min || *out > f->max) return bad_range(what, f, *out, e);
    return 0;
}

static int load_int(const struct dsp_pack *p, const char *what, const struct dist_rfield *f,
                    int64_t *out, struct err *e)
{
    if (dsp_pack_get_i64(p, what, f->name, out, e)) return -1;
    if ((double)*out < f->min || (double)*out > f->max) return bad_range(what, f, (double)*out, e);
    return 0;
}

static int load_array(const struct dsp_pack *p, const char *what, const struct dist_rfield *f,
                      void *base, struct err *e)
{
    int64_t rows = length_of(f, base);
    int f32 = f->type == REC_F32V;
    uint64_t count = (uint64_t)rows * (f32 ? 1 : f->cols);
    const struct dsp_pack_rec *r =
        dsp_pack_need(p, what, f->name, f32 ? DSP_PACK_F32 : DSP_PACK_F64, 0, e);
    if (!r) return -1;
    if (r->count != count || r->ndim != (f32 ? 1 : 2))
        return err_set(e, "%s: field %s holds %llu values, expected %llu", what, f->name,
                       (unsigned long long)r->count, (unsigned long long)count);
    size_t bytes = (size_t)count * (f32 ? sizeof(float) : sizeof(double));
    void *buf = malloc(bytes ? bytes : 1);
    if (!buf) return err_set(e, "%s: out of memory for field %s", what, f->name);
    memcpy(buf, r->data, bytes);
    *(void **)at(base, f->offset) = buf;
    for (uint64_t i = 0; i < count; i++) {
        double v = f32 ? (double)((const float *)buf)[i] : ((const double *)buf)[i];
        if (!isfinite(v))
            return err_set(e, "%s: field %s holds a non-finite value at %llu", what, f->name,
                           (unsigned long long)i);
    }
    return 0;
}

static int load_one(const struct dsp_pack *p, const char *what, const struct dist_rfield *f,
                    void *base, void *ctx, struct err *e)
{
    void *v = at(base, f->offset);
    int64_t i = 0;
    double d = 0;
    switch (f->type) {
    case REC_I64:
        return load_int(p, what, f, (int64_t *)v, e);
    case REC_U64: /* hashes use every bit (max 0); counts have a range */
        if (dsp_pack_get_i64(p, what, f->name, (int64_t *)v, e)) return -1;
        if (f->max > 0 && (double)*(uint64_t *)v > f->max)
            return bad_range(what, f, (double)*(uint64_t *)v, e);
        return 0;
    case REC_INT:
    case REC_BOOL:
        if (load_int(p, what, f, &i, e)) return -1;
        if (f->type == REC_BOOL && i != 0 && i != 1) return bad_range(what, f, (double)i, e);
        *(int *)v = (int)i;
        return 0;
    case REC_F64:
        return load_real(p, what, f, (double *)v, e);
    case REC_F32:
        if (load_real(p, what, f, &d, e)) return -1;
        *(float *)v = (float)d;
        return 0;
    case REC_STR:
        if (dsp_pack_get_str(p, what, f->name, (char **)v, e)) return -1;
        if ((double)strlen(*(char **)v) > f->max)
            return err_set(e, "%s: field %s is longer than %.0f bytes", what, f->name, f->max);
        return 0;
    case REC_F32V:
    case REC_F64M:
        return load_array(p, what, f, base, e);
    case REC_CUSTOM:
        return f->custom->load(p, what, f, base, ctx, e);
    }
    return err_set(e, "internal: field %s has no type", f->name);
}

int dist_rec_load(const struct dsp_pack *p, const char *what, const struct dist_rfield *t, size_t n,
                  void *base, unsigned absent_ok, void *ctx, struct err *e)
{
    for (size_t i = 0; i < n; i++) {
        const struct dist_rfield *f = &t[i];
        int may_miss = (f->flags & (REC_OPTIONAL | absent_ok)) != 0;
        /* custom fields decide themselves whether their records are there */
        if (may_miss && f->type != REC_CUSTOM && !dsp_pack_find(p, f->name)) continue;
        if (load_one(p, what, f, base, ctx, e) != 0) return -1;
    }
    return 0;
}

void dist_rec_free(const struct dist_rfield *t, size_t n, void *base)
{
    for (size_t i = 0; i < n; i++) {
        void **v = at(base, t[i].offset);
        if (t[i].type == REC_STR || t[i].type == REC_F32V || t[i].type == REC_F64M) {
            free(*v);
            *v = NULL;
        } else if (t[i].type == REC_CUSTOM && t[i].custom->free) {
            t[i].custom->free(&t[i], base);
        }
    }
}

static int arrays_equal(const struct dist_rfield *f, const void *a, const void *b)
{
    int64_t n = length_of(f, a);
    if (n != length_of(f, b)) return 0;
    size_t bytes = (size_t)n * (f->type == REC_F32V ? sizeof(float) : f->cols * sizeof(double));
    const void *x = *(void *const *)cat(a, f->offset), *y = *(void *const *)cat(b, f->offset);
    if (!x || !y) return x == y;
    return memcmp(x, y, bytes) == 0;
}

const struct dist_rfield *dist_rec_diff(const struct dist_rfield *t, size_t n, const void *a,
                                        const void *b, unsigned mask, void *ctx)
{
    for (size_t i = 0; i < n; i++) {
        const struct dist_rfield *f = &t[i];
        if (!(f->flags & mask)) continue;
        int same;
        if (f->type == REC_F32V || f->type == REC_F64M) {
            same = arrays_equal(f, a, b);
        } else if (f->type == REC_CUSTOM) {
            same = f->custom->equal ? f->custom->equal(f, a, b, ctx) : 1;
        } else if (f->type == REC_STR) {
            const char *x = *(char *const *)cat(a, f->offset),
                       *y = *(char *const *)cat(b, f->offset);
            same = strcmp(x ? x : "", y ? y : "") == 0;
        } else {
            char va[256], vb[256];
            dist_rec_value(f, a, va, sizeof va);
            dist_rec_value(f, b, vb, sizeof vb);
            same = strcmp(va, vb) == 0;
        }
        if (!same) return f;
    }
    return NULL;
}

void dist_rec_print(FILE *out, const struct dist_rfield *t, size_t n, const void *base,
                    unsigned skip, void *ctx)
{
    char v[256];
    for (size_t i = 0; i < n; i++) {
        const struct dist_rfield *f = &t[i];
        if (f->flags & skip) continue;
        switch (f->type) {
        case REC_F32V:
        case REC_F64M:
            if (!*(void *const *)cat(base, f->offset))
                fprintf(out, "  %-24s (absent)\n", f->name);
            else if (f->type == REC_F32V)
                fprintf(out, "  %-24s float32[%lld]\n", f->name, (long long)length_of(f, base));
            else
                fprintf(out, "  %-24s float64[%lld][%zu]\n", f->name, (long long)length_of(f, base),
                        f->cols);
            break;
        case REC_CUSTOM:
            if (f->custom->print) f->custom->print(out, f, base, ctx);
            break;
        case REC_STR:
            /* multi-line strings (the configuration) are shown by their first line */
            dist_rec_value(f, base, v, sizeof v);
            v[strcspn(v, "\n")] = 0;
            fprintf(out, "  %-24s %s\n", f->name, v);
            break;
        default:
            dist_rec_value(f, base, v, sizeof v);
            fprintf(out, "  %-24s %-22s %s\n", f->name, v, f->help ? f->help : "");
        }
    }
}
