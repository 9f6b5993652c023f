/* features.c: loader (audio.c) + MFCC (mfcc.c) behind one reusable context; the per-file
 * path of `ser features` and of the corpus extractor. Matches librosa 0.10 load + mfcc as
 * described in features.h and docs/mfcc.md. */
#include "dsp/features.h"

#include <math.h>
#include <stdlib.h>

struct dsp_features {
    struct dsp_features_params p;
    struct dsp_loader *loader;
    struct dsp_mfcc *mfcc;
    float *signal; /* [n_samples] the padded 22050 Hz clip */
    size_t n_samples, n_loaded, n_frames;
};

void dsp_features_default_params(struct dsp_features_params *p)
{
    dsp_load_default_params(&p->load);
    dsp_mfcc_default_params(&p->mfcc);
    p->mfcc.sample_rate = p->load.sample_rate;
}

void dsp_features_free(struct dsp_features *f)
{
    if (!f) return;
    dsp_loader_free(f->loader);
    dsp_mfcc_free(f->mfcc);
    free(f->signal);
    free(f);
}

int dsp_features_create(struct dsp_features **out, const struct dsp_features_params *p,
                        struct err *e)
{
    *out = NULL;
    if (p->mfcc.sample_rate != p->load.sample_rate)
        return err_set(e, "features: MFCC sample rate %d differs from the loader's %d Hz",
                       p->mfcc.sample_rate, p->load.sample_rate);
    struct dsp_features *f = calloc(1, sizeof *f);
    if (!f) return err_set(e, "features: out of memory");
    f->p = *p;
    if (dsp_loader_create(&f->loader, &p->load, e)) goto fail;
    f->n_samples = dsp_load_samples(&p->load);
    if (dsp_mfcc_create(&f->mfcc, &p->mfcc, f->n_samples, e)) goto fail;
    f->n_frames = dsp_mfcc_frames_hop(f->n_samples, p->mfcc.hop);
    f->signal = malloc(f->n_samples * sizeof *f->signal);
    if (!f->signal) {
        err_set(e, "features: out of memory");
        goto fail;
    }
    *out = f;
    return 0;
fail:
    dsp_features_free(f);
    return -1;
}

size_t dsp_features_rows(const struct dsp_features *f)
{
    return dsp_mfcc_rows(&f->p.mfcc);
}

size_t dsp_features_frames(const struct dsp_features *f)
{
    return f->n_frames;
}

/* The MFCC of f->signal into out; non-finite results are an input error. */
static int analyse(struct dsp_features *f, const char *name, const float *y, float *out,
                   struct err *e)
{
    if (dsp_mfcc_compute(f->mfcc, y, f->n_samples, out))
        return err_set(e, "%s: internal error: signal longer than the MFCC context", name);
    /* Finite but huge samples (1e30 in a float WAV) overflow the power spectrum: such a file
     * is an input error, never a matrix of inf/NaN handed to training or prediction. */
    size_t n = dsp_mfcc_rows(&f->p.mfcc) * f->n_frames;
    for (size_t i = 0; i < n; i++)
        if (!isfinite(out[i]))
            return err_set(e, "%s: non-finite features (sample values too large to analyse)", name);
    return 0;
}

int dsp_features_file(struct dsp_features *f, const char *path, float *out, struct err *e)
{
    f->n_loaded = 0;
    if (dsp_loader_load(f->loader, path, f->signal, &f->n_loaded, e)) return -1;
    return analyse(f, path, f->signal, out, e);
}

int dsp_features_pcm(struct dsp_features *f, const char *name, const float *x, size_t n, int rate,
                     float *out, struct err *e)
{
    f->n_loaded = 0;
    if (dsp_loader_pcm(f->loader, name, x, n, rate, f->signal, &f->n_loaded, e)) return -1;
    return analyse(f, name, f->signal, out, e);
}

int dsp_features_of_signal(struct dsp_features *f, const char *name, const float *y, size_t n,
                           float *out, struct err *e)
{
    if (n != f->n_samples)
        return err_set(e, "%s: signal of %zu samples, the pipeline takes %zu", name, n,
                       f->n_samples);
    return analyse(f, name, y, out, e);
}

const float *dsp_features_signal(const struct dsp_features *f, size_t *n, size_t *n_loaded)
{
    if (n) *n = f->n_samples;
    if (n_loaded) *n_loaded = f->n_loaded;
    return f->signal;
}
