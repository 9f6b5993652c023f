/* classify.c: normalisation and argmax (see classify.h). */
#include "mpi/classify.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void dist_normalise(float *x, size_t C, size_t T, const float *mean, const float *std)
{
    for (size_t c = 0; c < C; c++)
        for (size_t t = 0; t < T; t++) x[c * T + t] = (x[c * T + t] - mean[c]) / std[c];
}

int dist_norm_mode(const char *s)
{
    if (!s || !s[0] || strcmp(s, "global") == 0) return DIST_NORM_GLOBAL;
    if (strcmp(s, "speaker") == 0) return DIST_NORM_SPEAKER;
    if (strcmp(s, "utterance") == 0) return DIST_NORM_UTTERANCE;
    return -1;
}

void dist_norm_stats(const float *x, size_t dim, const size_t *idx, size_t n, size_t C, size_t T,
                     float *mean, float *std)
{
    for (size_t c = 0; c < C; c++) {
        double s = 0, ss = 0;
        for (size_t k = 0; k < n; k++) {
            const float *v = x + (idx ? idx[k] : k) * dim + c * T;
            for (size_t t = 0; t < T; t++) s += v[t];
        }
        double cnt = (double)n * (double)T, m = s / cnt;
        for (size_t k = 0; k < n; k++) {
            const float *v = x + (idx ? idx[k] : k) * dim + c * T;
            for (size_t t = 0; t < T; t++) ss += (v[t] - m) * (v[t] - m);
        }
        double sd = sqrt(ss / cnt);
        mean[c] = (float)m;
        std[c] = (float)(sd > 1e-8 ? sd : 1e-8);
    }
}

int dist_argmax(const float *p, size_t K)
{
    size_t best = 0;
    for (size_t i = 1; i < K; i++)
        if (p[i] > p[best]) best = i;
    return (int)best;
}

void dist_classes_of(struct dist_classes *c, const size_t present[DSP_N_LABELS])
{
    memset(c, 0, sizeof *c);
    for (int l = 0; l < DSP_N_LABELS; l++) {
        c->of_label[l] = present[l] ? c->n : -1;
        if (present[l]) c->name[c->n] = dsp_label_names[l], c->label[c->n++] = l;
    }
}

int dist_classes_named(struct dist_classes *c, char *const *names, size_t n, const char *what,
                       struct err *e)
{
    size_t present[DSP_N_LABELS] = {0};
    int last = -1;
    if (n < 2 || n > DSP_N_LABELS)
        return err_set(e, "%s: %zu classes (2..%d expected)", what, n, DSP_N_LABELS);
    for (size_t k = 0; k < n; k++) {
        int l = -1;
        for (int i = 0; i < DSP_N_LABELS; i++)
            if (strcmp(names[k], dsp_label_names[i]) == 0) l = i;
        if (l <= last)
            return err_set(e, "%s: class %zu '%.32s' is not a label in label order", what, k,
                           names[k]);
        present[l] = 1;
        last = l;
    }
    dist_classes_of(c, present);
    return 0;
}

/* The label a name (up to len bytes) names, or -1. */
static int label_of(const char *s, size_t len)
{
    char name[64];
    if (len == 0 || len >= sizeof name) return -1;
    memcpy(name, s, len);
    name[len] = 0;
    return dsp_label_index(name);
}

int dist_label_plan(const char *labels, const char *map, int target[DSP_N_LABELS], struct err *e)
{
    int chosen[DSP_N_LABELS] = {0}, to[DSP_N_LABELS];
    for (int l = 0; l < DSP_N_LABELS; l++) to[l] = l;
    for (const char *p = labels; *p;) {
        size_t len = strcspn(p, ",");
        int l = label_of(p, len);
        if (l < 0) return err_set(e, "--labels: unknown label '%.*s'", (int)len, p);
        chosen[l] = 1;
        p += len + (p[len] == ',');
    }
    for (const char *p = map ? map : ""; *p;) {
        size_t len = strcspn(p, ","), eq = strcspn(p, "=");
        int a = eq < len ? label_of(p, eq) : -1,
            b = eq < len ? label_of(p + eq + 1, len - eq - 1) : -1;
        if (a < 0 || b < 0)
            return err_set(e, "--label-map: expected FROM=TO label names, got '%.*s'", (int)len, p);
        to[a] = b;
        p += len + (p[len] == ',');
    }
    for (int l = 0; l < DSP_N_LABELS; l++) target[l] = chosen[to[l]] ? to[l] : -1;
    return 0;
}
