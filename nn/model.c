/* model.c: model spec parser, flat parameter/gradient buffers with named views, the
 * training step (forward + backward) and inference, summary and FLOP count (see model.h).
 *
 * Reference: tests/torch_model.py builds the PyTorch module of the same spec; the tensor
 * names, shapes, order and the forward computation are those of that module (checked by
 * tests/torch_parity.py). Design after karpathy/llm.c's train_gpt2.c: one parameter block
 * and one gradient block, each tensor a view; activations planned once at create.
 */
#include "nn/model.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nn/layers.h"
#include "nn/rng.h"

enum kind { K_CONV, K_RELU, K_POOL, K_LSTM, K_DROP, K_DENSE, K_FLAT };

struct layer {
    enum kind kind;
    char name[24];       /* conv1, relu2, lstm1, fc1, ... (param layers: PyTorch module name) */
    int seq_in, seq_out; /* 1: sequence [C][T][B]; 0: vector [B][N] */
    size_t cin, tin;     /* input per sample: [cin][tin], or a vector of cin (tin = 1) */
    size_t cout, tout;   /* output per sample, likewise */
    size_t k, pad;       /* conv kernel/padding, pool kernel */
    int mean;            /* lstm: mean over time instead of last state */
    double p;            /* dropout probability */
    size_t t0;           /* first tensor of this layer in the tensor table */
    int need_dx;         /* some layer before this one has parameters */
    float *out, *dout;   /* [max_batch * cout * tout] in the layout above */
    float *cols;         /* conv: [cin*k][tout*max_batch] */
    float *mask;         /* dropout */
    float *gates, *cs, *tcs, *hs; /* lstm, see layers.h */
};

struct nn_model {
    char *spec;
    size_t C, T, ncls, maxb;
    size_t nl;
    struct layer *L;
    size_t nt;
    struct nn_tensor *tensors;
    char (*tnames)[40];
    size_t np;
    float *params, *grads;
    float *x0;      /* [C][T][max_batch] the input in layer layout */
    float *scratch; /* conv dcols / lstm backward scratch */
};

/* ---------------------------------------------------------------- spec parsing */

static int parse_size(const char *s, size_t lo, size_t hi, size_t *out)
{
    if (!*s || *s == '-' || *s == '+') return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi) return -1;
    *out = (size_t)v;
    return 0;
}

/* Splits tok at ':' into at most 4 fields (tok is modified). Returns the field count. */
static int split_fields(char *tok, char *f[4])
{
    int n = 0;
    char *s = tok;
    for (;;) {
        if (n == 4) return 5;
        f[n++] = s;
        char *c = strchr(s, ':');
        if (!c) break;
        *c = 0;
        s = c + 1;
    }
    return n;
}

/* Reads the spec text: the file `spec` names if it exists, else the string itself. Comments
 * ('#' to end of line) are removed. Returns a malloc'd string or NULL with e filled. */
static char *spec_text(const char *spec, struct err *e)
{
    struct stat st;
    char *txt;
    if (stat(spec, &st) == 0 && S_ISREG(st.st_mode)) {
        FILE *f = fopen(spec, "rb");
        if (!f) {
            err_set(e, "model spec file %s: %s", spec, strerror(errno));
            return NULL;
        }
        if (st.st_size > (1 << 20)) {
            fclose(f);
            err_set(e, "model spec file %s: too large (%lld bytes)", spec, (long long)st.st_size);
            return NULL;
        }
        txt = malloc((size_t)st.st_size + 1);
        size_t n = txt ? fread(txt, 1, (size_t)st.st_size, f) : 0;
        int bad = !txt || ferror(f);
        fclose(f);
        if (bad) {
            free(txt);
            err_set(e, "model spec file %s: read error", spec);
            return NULL;
        }
        txt[n] = 0;
        for (char *p = txt; *p; p++)
            if (*p == '#')
                for (; *p && *p != '\n'; p++) *p = ' ';
    } else {
        txt = strdup(spec);
        if (!txt) err_set(e, "out of memory");
    }
    return txt;
}

#define SPEC_MAX_LAYERS 64
#define SPEC_MAX_SIZE   65536

/* Parses the spec into m->L / m->nl and the canonical m->spec; computes shapes. */
static int parse_spec(struct nn_model *m, const char *spec, struct err *e)
{
    char *txt = spec_text(spec, e);
    if (!txt) return -1;
    int rc = -1;
    size_t cap = strlen(txt) + 64;
    m->spec = calloc(cap, 1);
    m->L = calloc(SPEC_MAX_LAYERS, sizeof *m->L);
    if (!m->spec || !m->L) {
        err_set(e, "out of memory");
        goto done;
    }
    int seq = 1;
    size_t C = m->C, T = m->T;
    int nconv = 0, nlstm = 0, nfc = 0, nrelu = 0, npool = 0, ndrop = 0, nflat = 0;
    int itok = 0;
    char *save = NULL;
    for (char *tok = strtok_r(txt, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
        itok++;
        char orig[128];
        snprintf(orig, sizeof orig, "%s", tok);
        if (m->nl == SPEC_MAX_LAYERS) {
            err_set(e, "model spec: more than %d layers", SPEC_MAX_LAYERS);
            goto done;
        }
        char *f[4] = {NULL, NULL, NULL, NULL};
        int nf = split_fields(tok, f);
        struct layer *l = &m->L[m->nl];
        l->seq_in = seq;
        l->cin = C;
        l->tin = seq ? T : 1;
        const char *kind = f[0];
        char canon[96];
#define BAD(...)                                                                                   \
    do {                                                                                           \
        char why_[256];                                                                            \
        snprintf(why_, sizeof why_, __VA_ARGS__);                                                  \
        err_set(e, "model spec: token %d '%s': %s", itok, orig, why_);                             \
        goto done;                                                                                 \
    } while (0)
        if (strcmp(kind, "conv1d") == 0) {
            size_t out, k, pad;
            if (nf < 3 || nf > 4) BAD("expected conv1d:OUT:K[:PAD]");
            if (parse_size(f[1], 1, SPEC_MAX_SIZE, &out))
                BAD("OUT must be an integer in [1, %d]", SPEC_MAX_SIZE);
            if (parse_size(f[2], 1, 1024, &k)) BAD("K must be an integer in [1, 1024]");
            pad = k / 2;
            if (nf == 4 && parse_size(f[3], 0, 1024, &pad))
                BAD("PAD must be an integer in [0, 1024]");
            if (!seq) BAD("conv1d needs a sequence input, but the input here is a vector");
            if (T + 2 * pad < k)
                BAD("the sequence shrinks to length 0 (length %zu, kernel %zu, padding %zu)", T, k,
                    pad);
            l->kind = K_CONV;
            l->k = k;
            l->pad = pad;
            C = out;
            T = T + 2 * pad - k + 1;
            snprintf(l->name, sizeof l->name, "conv%d", ++nconv);
            if (pad == k / 2)
                snprintf(canon, sizeof canon, "conv1d:%zu:%zu", out, k);
            else
                snprintf(canon, sizeof canon, "conv1d:%zu:%zu:%zu", out, k, pad);
        } else if (strcmp(kind, "relu") == 0) {
            if (nf != 1) BAD("relu takes no arguments");
            l->kind = K_RELU;
            snprintf(l->name, sizeof l->name, "relu%d", ++nrelu);
            snprintf(canon, sizeof canon, "relu");
        } else if (strcmp(kind, "maxpool") == 0) {
            size_t k;
            if (nf != 2) BAD("expected maxpool:K");
            if (parse_size(f[1], 1, 255, &k)) BAD("K must be an integer in [1, 255]");
            if (!seq) BAD("maxpool needs a sequence input, but the input here is a vector");
            if (T / k == 0) BAD("the sequence shrinks to length 0 (length %zu, pool %zu)", T, k);
            l->kind = K_POOL;
            l->k = k;
            T = T / k;
            snprintf(l->name, sizeof l->name, "pool%d", ++npool);
            snprintf(canon, sizeof canon, "maxpool:%zu", k);
        } else if (strcmp(kind, "lstm") == 0) {
            size_t h;
            if (nf < 2 || nf > 3) BAD("expected lstm:H[:last|:mean]");
            if (parse_size(f[1], 1, SPEC_MAX_SIZE, &h))
                BAD("H must be an integer in [1, %d]", SPEC_MAX_SIZE);
            if (nf == 3 && strcmp(f[2], "last") != 0 && strcmp(f[2], "mean") != 0)
                BAD("the output must be 'last' or 'mean', got '%s'", f[2]);
            if (!seq) BAD("lstm needs a sequence input, but the input here is a vector");
            l->kind = K_LSTM;
            l->mean = nf == 3 && strcmp(f[2], "mean") == 0;
            C = h;
            seq = 0;
            snprintf(l->name, sizeof l->name, "lstm%d", ++nlstm);
            snprintf(canon, sizeof canon, "lstm:%zu%s", h, l->mean ? ":mean" : "");
        } else if (strcmp(kind, "dropout") == 0) {
            if (nf != 2) BAD("expected dropout:P");
            char *end;
            errno = 0;
            double p = strtod(f[1], &end);
            if (errno || end == f[1] || *end || !(p >= 0.0 && p < 1.0))
                BAD("P must be a number with 0 <= P < 1");
            l->kind = K_DROP;
            l->p = p;
            snprintf(l->name, sizeof l->name, "dropout%d", ++ndrop);
            snprintf(canon, sizeof canon, "dropout:%.17g", p);
            /* shortest form that parses back to the same double */
            for (int prec = 1; prec <= 17; prec++) {
                snprintf(canon, sizeof canon, "dropout:%.*g", prec, p);
                if (strtod(canon + 8, NULL) == p) break;
            }
        } else if (strcmp(kind, "dense") == 0) {
            size_t n;
            if (nf != 2) BAD("expected dense:N");
            if (parse_size(f[1], 1, SPEC_MAX_SIZE, &n))
                BAD("N must be an integer in [1, %d]", SPEC_MAX_SIZE);
            if (seq) BAD("dense needs a vector input: put lstm or flatten before it");
            l->kind = K_DENSE;
            C = n;
            snprintf(l->name, sizeof l->name, "fc%d", ++nfc);
            snprintf(canon, sizeof canon, "dense:%zu", n);
        } else if (strcmp(kind, "flatten") == 0) {
            if (nf != 1) BAD("flatten takes no arguments");
            if (!seq) BAD("flatten needs a sequence input, but the input here is a vector");
            l->kind = K_FLAT;
            C = C * T;
            seq = 0;
            snprintf(l->name, sizeof l->name, "flatten%d", ++nflat);
            snprintf(canon, sizeof canon, "flatten");
        } else {
            BAD("unknown layer (expected conv1d:OUT:K[:PAD], relu, maxpool:K, lstm:H[:last|:mean], "
                "dropout:P, dense:N or flatten)");
        }
#undef BAD
        if (C > SPEC_MAX_SIZE * (size_t)SPEC_MAX_SIZE) {
            err_set(e, "model spec: token %d '%s': layer too large", itok, orig);
            goto done;
        }
        l->seq_out = seq;
        l->cout = C;
        l->tout = seq ? T : 1;
        if (m->nl) strcat(m->spec, " ");
        strcat(m->spec, canon);
        m->nl++;
    }
    if (m->nl == 0) {
        err_set(e, "model spec: empty (expected layers such as '%s')", NN_DEFAULT_SPEC);
        goto done;
    }
    if (seq) {
        err_set(e,
                "model spec: the last layer '%s' gives a sequence (%zu x %zu); end with lstm "
                "or flatten and dense:%zu",
                m->L[m->nl - 1].name, C, T, m->ncls);
        goto done;
    }
    if (C != m->ncls) {
        err_set(e, "model spec: the last layer '%s' gives %zu outputs, but there are %zu classes",
                m->L[m->nl - 1].name, C, m->ncls);
        goto done;
    }
    rc = 0;
done:
    free(txt);
    return rc;
}

/* ---------------------------------------------------------------- create / free */

static int add_tensor(struct nn_model *m, const struct layer *l, const char *suffix, int ndim,
                      size_t d0, size_t d1, size_t d2)
{
    struct nn_tensor *t = &m->tensors[m->nt];
    snprintf(m->tnames[m->nt], sizeof m->tnames[0], "%s.%s", l->name, suffix);
    t->name = m->tnames[m->nt];
    t->ndim = ndim;
    t->shape[0] = d0;
    t->shape[1] = ndim > 1 ? d1 : 0;
    t->shape[2] = ndim > 2 ? d2 : 0;
    t->shape[3] = 0;
    t->size = d0 * (ndim > 1 ? d1 : 1) * (ndim > 2 ? d2 : 1);
    t->offset = m->np;
    m->np += t->size;
    m->nt++;
    return 0;
}

static void *falloc(size_t n, int *fail)
{
    void *p = calloc(n ? n : 1, sizeof(float));
    if (!p) *fail = 1;
    return p;
}

int nn_model_create(struct nn_model **out, const char *spec, size_t in_channels, size_t in_len,
                    size_t n_classes, size_t max_batch, struct err *e)
{
    *out = NULL;
    if (!spec) spec = NN_DEFAULT_SPEC;
    if (in_channels == 0 || in_len == 0 || n_classes < 2 || max_batch == 0)
        return err_set(e, "model: bad sizes (channels %zu, length %zu, classes %zu, batch %zu)",
                       in_channels, in_len, n_classes, max_batch);
    struct nn_model *m = calloc(1, sizeof *m);
    if (!m) return err_set(e, "out of memory");
    m->C = in_channels;
    m->T = in_len;
    m->ncls = n_classes;
    m->maxb = max_batch;
    if (parse_spec(m, spec, e) != 0) {
        nn_model_free(m);
        return -1;
    }
    /* tensor table, in PyTorch's registration order */
    m->tensors = calloc(4 * m->nl, sizeof *m->tensors);
    m->tnames = calloc(4 * m->nl, sizeof *m->tnames);
    if (!m->tensors || !m->tnames) goto oom;
    int params_before = 0;
    for (size_t i = 0; i < m->nl; i++) {
        struct layer *l = &m->L[i];
        l->t0 = m->nt;
        l->need_dx = params_before;
        if (l->kind == K_CONV || l->kind == K_LSTM || l->kind == K_DENSE) params_before = 1;
        if (l->kind == K_CONV) {
            add_tensor(m, l, "weight", 3, l->cout, l->cin, l->k);
            add_tensor(m, l, "bias", 1, l->cout, 0, 0);
        } else if (l->kind == K_LSTM) {
            add_tensor(m, l, "weight_ih_l0", 2, 4 * l->cout, l->cin, 0);
            add_tensor(m, l, "weight_hh_l0", 2, 4 * l->cout, l->cout, 0);
            add_tensor(m, l, "bias_ih_l0", 1, 4 * l->cout, 0, 0);
            add_tensor(m, l, "bias_hh_l0", 1, 4 * l->cout, 0, 0);
        } else if (l->kind == K_DENSE) {
            add_tensor(m, l, "weight", 2, l->cout, l->cin, 0);
            add_tensor(m, l, "bias", 1, l->cout, 0, 0);
        }
    }
    /* buffers: parameters, gradients, activations for max_batch, one scratch */
    int fail = 0;
    const size_t mb = max_batch;
    m->params = falloc(m->np, &fail);
    m->grads = falloc(m->np, &fail);
    m->x0 = falloc(m->C * m->T * mb, &fail);
    size_t scratch = 0;
    for (size_t i = 0; i < m->nl && !fail; i++) {
        struct layer *l = &m->L[i];
        size_t nout = l->cout * l->tout * mb;
        l->out = falloc(nout, &fail);
        l->dout = falloc(nout, &fail);
        if (l->kind == K_CONV) {
            size_t ncols = l->cin * l->k * l->tout * mb;
            l->cols = falloc(ncols, &fail);
            if (l->need_dx && ncols > scratch) scratch = ncols;
        } else if (l->kind == K_DROP) {
            l->mask = falloc(nout, &fail);
        } else if (l->kind == K_LSTM) {
            size_t T = l->tin, H = l->cout;
            struct nn_lstm_dims d = {mb, T, l->cin, H, l->mean};
            l->gates = falloc(T * mb * 4 * H, &fail);
            l->cs = falloc(T * mb * H, &fail);
            l->tcs = falloc(T * mb * H, &fail);
            l->hs = falloc((T + 1) * mb * H, &fail);
            /* >= nn_lstm_pack_size(&d), which the forward pass uses of the same scratch */
            if (nn_lstm_scratch(&d) > scratch) scratch = nn_lstm_scratch(&d);
        }
    }
    m->scratch = falloc(scratch, &fail);
    if (fail) goto oom;
    *out = m;
    return 0;
oom:
    nn_model_free(m);
    return err_set(e, "model: out of memory (max batch %zu)", max_batch);
}

void nn_model_free(struct nn_model *m)
{
    if (!m) return;
    for (size_t i = 0; m->L && i < m->nl; i++) {
        struct layer *l = &m->L[i];
        free(l->out);
        free(l->dout);
        free(l->cols);
        free(l->mask);
        free(l->gates);
        free(l->cs);
        free(l->tcs);
        free(l->hs);
    }
    free(m->L);
    free(m->spec);
    free(m->tensors);
    free(m->tnames);
    free(m->params);
    free(m->grads);
    free(m->x0);
    free(m->scratch);
    free(m);
}

/* ---------------------------------------------------------------- accessors */

const char *nn_model_spec(const struct nn_model *m)
{
    return m->spec;
}
size_t nn_model_in_channels(const struct nn_model *m)
{
    return m->C;
}
size_t nn_model_in_len(const struct nn_model *m)
{
    return m->T;
}
size_t nn_model_n_classes(const struct nn_model *m)
{
    return m->ncls;
}
size_t nn_model_max_batch(const struct nn_model *m)
{
    return m->maxb;
}
size_t nn_model_nparams(const struct nn_model *m)
{
    return m->np;
}
float *nn_model_params(struct nn_model *m)
{
    return m->params;
}
float *nn_model_grads(struct nn_model *m)
{
    return m->grads;
}
size_t nn_model_ntensors(const struct nn_model *m)
{
    return m->nt;
}

const struct nn_tensor *nn_model_tensor(const struct nn_model *m, size_t i)
{
    return i < m->nt ? &m->tensors[i] : NULL;
}

const struct nn_tensor *nn_model_find_tensor(const struct nn_model *m, const char *name)
{
    for (size_t i = 0; i < m->nt; i++)
        if (strcmp(m->tensors[i].name, name) == 0) return &m->tensors[i];
    return NULL;
}

/* ---------------------------------------------------------------- init */

void nn_model_init(struct nn_model *m, uint64_t seed)
{
    for (size_t i = 0; i < m->nl; i++) {
        const struct layer *l = &m->L[i];
        double bound;
        size_t ntens;
        if (l->kind == K_CONV) {
            bound = 1.0 / sqrt((double)(l->cin * l->k));
            ntens = 2;
        } else if (l->kind == K_DENSE) {
            bound = 1.0 / sqrt((double)l->cin);
            ntens = 2;
        } else if (l->kind == K_LSTM) {
            bound = 1.0 / sqrt((double)l->cout);
            ntens = 4;
        } else {
            continue;
        }
        for (size_t ti = l->t0; ti < l->t0 + ntens; ti++) {
            const struct nn_tensor *t = &m->tensors[ti];
            float *p = m->params + t->offset;
            uint64_t h = nn_rng_key(nn_rng_key(nn_rng_key(0x1417ULL, seed), 0x696e6974ULL), ti);
            for (size_t j = 0; j < t->size; j++) {
                double u = nn_rng_uniform(nn_rng_key(h, j));
                p[j] = (float)((2.0 * u - 1.0) * bound);
            }
        }
    }
}

/* ---------------------------------------------------------------- forward / backward */

static const float *layer_in(const struct nn_model *m, size_t i)
{
    return i ? m->L[i - 1].out : m->x0;
}

static void forward(struct nn_model *m, size_t B, const struct nn_step *st)
{
    for (size_t i = 0; i < m->nl; i++) {
        struct layer *l = &m->L[i];
        const float *x = layer_in(m, i);
        const float *P = m->params;
        const struct nn_tensor *t = &m->tensors[l->t0];
        size_t nin = l->cin * l->tin * B;
        switch (l->kind) {
        case K_CONV: {
            struct nn_conv_dims d = {B, l->cin, l->cout, l->tin, l->k, l->pad, l->tout};
            nn_conv1d_forward(l->out, l->cols, x, P + t[0].offset, P + t[1].offset, &d);
            break;
        }
        case K_RELU:
            nn_relu_forward(l->out, x, nin);
            break;
        case K_POOL:
            nn_maxpool_forward(l->out, x, l->cin, l->tin, B, l->k);
            break;
        case K_LSTM: {
            struct nn_lstm_dims d = {B, l->tin, l->cin, l->cout, l->mean};
            nn_lstm_forward(l->out, l->gates, l->cs, l->tcs, l->hs, m->scratch, x, P + t[0].offset,
                            P + t[1].offset, P + t[2].offset, P + t[3].offset, &d);
            break;
        }
        case K_DROP:
            if (st && st->train && l->p > 0.0) {
                size_t n = l->cin * l->tin;
                if (l->seq_in)
                    nn_dropout_mask(l->mask, B, n, 1, B, l->p, st->seed, st->epoch, st->sample_ids,
                                    i);
                else
                    nn_dropout_mask(l->mask, B, n, n, 1, l->p, st->seed, st->epoch, st->sample_ids,
                                    i);
                nn_dropout_forward(l->out, x, l->mask, nin);
            } else {
                /* inference, or p = 0: identity; a mask of ones keeps backward uniform */
                memcpy(l->out, x, nin * sizeof *x);
                for (size_t j = 0; j < nin; j++) l->mask[j] = 1.0f;
            }
            break;
        case K_DENSE:
            nn_dense_forward(l->out, x, P + t[0].offset, P + t[1].offset, B, l->cin, l->cout);
            break;
        case K_FLAT:
            nn_flatten_forward(l->out, x, l->cin, l->tin, B);
            break;
        }
    }
}

static void backward(struct nn_model *m, size_t B)
{
    for (size_t i = m->nl; i-- > 0;) {
        struct layer *l = &m->L[i];
        const float *x = layer_in(m, i);
        float *dx = l->need_dx ? m->L[i - 1].dout : NULL;
        const float *P = m->params;
        float *G = m->grads;
        const struct nn_tensor *t = &m->tensors[l->t0];
        size_t nin = l->cin * l->tin * B;
        switch (l->kind) {
        case K_CONV: {
            struct nn_conv_dims d = {B, l->cin, l->cout, l->tin, l->k, l->pad, l->tout};
            nn_conv1d_backward(dx, G + t[0].offset, G + t[1].offset, m->scratch, l->dout, l->cols,
                               P + t[0].offset, &d);
            break;
        }
        case K_RELU:
            if (dx) nn_relu_backward(dx, l->dout, l->out, nin);
            break;
        case K_POOL:
            if (dx) nn_maxpool_backward(dx, l->dout, x, l->out, l->cin, l->tin, B, l->k);
            break;
        case K_LSTM: {
            struct nn_lstm_dims d = {B, l->tin, l->cin, l->cout, l->mean};
            nn_lstm_backward(dx, G + t[0].offset, G + t[1].offset, G + t[2].offset, G + t[3].offset,
                             m->scratch, l->dout, x, l->gates, l->cs, l->tcs, l->hs,
                             P + t[0].offset, P + t[1].offset, &d);
            break;
        }
        case K_DROP:
            if (dx) nn_dropout_backward(dx, l->dout, l->mask, nin);
            break;
        case K_DENSE:
            nn_dense_backward(dx, G + t[0].offset, G + t[1].offset, l->dout, x, P + t[0].offset, B,
                              l->cin, l->cout);
            break;
        case K_FLAT:
            if (dx) nn_flatten_backward(dx, l->dout, l->cin, l->tin, B);
            break;
        }
    }
}

static int check_batch(const struct nn_model *m, const int *y, size_t B)
{
    if (B == 0 || B > m->maxb) return -1;
    for (size_t s = 0; y && s < B; s++)
        if (y[s] < 0 || (size_t)y[s] >= m->ncls) return -1;
    return 0;
}

int nn_model_train_step(struct nn_model *m, const float *x, const int *y, size_t B,
                        const struct nn_step *st, double *loss_sum, float *probs)
{
    if (!y || check_batch(m, y, B) != 0) return -1;
    nn_to_ctb(m->x0, x, B, m->C, m->T);
    forward(m, B, st);
    struct layer *last = &m->L[m->nl - 1];
    double loss = nn_softmax_xent(probs, last->dout, last->out, y, B, m->ncls);
    if (loss_sum) *loss_sum = loss;
    backward(m, B);
    return 0;
}

int nn_model_forward_logits(struct nn_model *m, const float *x, size_t B, float *logits)
{
    if (check_batch(m, NULL, B) != 0) return -1;
    nn_to_ctb(m->x0, x, B, m->C, m->T);
    forward(m, B, NULL);
    if (logits) memcpy(logits, m->L[m->nl - 1].out, B * m->ncls * sizeof *logits);
    return 0;
}

int nn_model_forward(struct nn_model *m, const float *x, const int *y, size_t B, double *loss_sum,
                     float *probs)
{
    if (check_batch(m, y, B) != 0) return -1;
    nn_to_ctb(m->x0, x, B, m->C, m->T);
    forward(m, B, NULL);
    double loss = nn_softmax_xent(probs, NULL, m->L[m->nl - 1].out, y, B, m->ncls);
    if (loss_sum) *loss_sum = loss;
    return 0;
}

/* ---------------------------------------------------------------- summary, FLOPs */

static const char *kind_name(enum kind k)
{
    switch (k) {
    case K_CONV:
        return "Conv1d";
    case K_RELU:
        return "ReLU";
    case K_POOL:
        return "MaxPool1d";
    case K_LSTM:
        return "LSTM";
    case K_DROP:
        return "Dropout";
    case K_DENSE:
        return "Linear";
    case K_FLAT:
        return "Flatten";
    }
    return "?";
}

static void commas(char *buf, size_t cap, size_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%zu", v), o = 0;
    for (int i = 0; i < n && (size_t)o + 2 < cap; i++) {
        if (i > 0 && (n - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = 0;
}

void nn_model_summary(const struct nn_model *m, FILE *f)
{
    const char *rule = "_________________________________________________________________";
    const char *dbl = "=================================================================";
    fprintf(f, "Model: \"%s\"\n", m->spec);
    fprintf(f, "Input shape: (None, %zu, %zu)\n%s\n", m->C, m->T, rule);
    fprintf(f, " %-28s %-24s %s\n%s\n", "Layer (type)", "Output Shape", "Param #", dbl);
    for (size_t i = 0; i < m->nl; i++) {
        const struct layer *l = &m->L[i];
        char lt[64], shape[48], np[32];
        snprintf(lt, sizeof lt, "%s (%s)", l->name, kind_name(l->kind));
        if (l->seq_out)
            snprintf(shape, sizeof shape, "(None, %zu, %zu)", l->cout, l->tout);
        else
            snprintf(shape, sizeof shape, "(None, %zu)", l->cout);
        size_t n = 0;
        size_t ntens = l->kind == K_LSTM ? 4 : (l->kind == K_CONV || l->kind == K_DENSE) ? 2 : 0;
        for (size_t t = 0; t < ntens; t++) n += m->tensors[l->t0 + t].size;
        commas(np, sizeof np, n);
        fprintf(f, " %-28s %-24s %s\n", lt, shape, np);
    }
    char tot[32];
    commas(tot, sizeof tot, m->np);
    fprintf(f,
            "%s\nTotal params: %s (%.2f KB as float32)\nTrainable params: %s\n"
            "Non-trainable params: 0\n%s\n",
            dbl, tot, (double)m->np * 4.0 / 1024.0, tot, rule);
}

/* GEMM FLOPs per sample of layer l: fwd (forward), bwd (backward with input gradient
 * if need_dx). Elementwise work is not counted. */
static void layer_flops(const struct layer *l, int need_dx, double *fwd, double *bwd)
{
    double f = 0, b = 0;
    if (l->kind == K_CONV) {
        f = 2.0 * (double)l->cout * (double)(l->cin * l->k) * (double)l->tout;
        b = f * (need_dx ? 2 : 1);
    } else if (l->kind == K_LSTM) {
        double T = (double)l->tin, G = 4.0 * (double)l->cout, H = (double)l->cout;
        double in = (double)l->cin;
        double proj = 2.0 * T * G * in, rec = 2.0 * (T - 1) * G * H;
        f = proj + rec;
        /* dW_ih, dx: proj each; dW_hh and dh: over steps 1..T-1 */
        b = proj * (need_dx ? 2 : 1) + 2 * rec;
    } else if (l->kind == K_DENSE) {
        f = 2.0 * (double)l->cin * (double)l->cout;
        b = f * (need_dx ? 2 : 1);
    }
    *fwd = f;
    *bwd = b;
}

double nn_model_flops_forward(const struct nn_model *m)
{
    double s = 0, f, b;
    for (size_t i = 0; i < m->nl; i++) {
        layer_flops(&m->L[i], 0, &f, &b);
        s += f;
    }
    return s;
}

double nn_model_flops_train(const struct nn_model *m)
{
    double s = 0, f, b;
    for (size_t i = 0; i < m->nl; i++) {
        layer_flops(&m->L[i], m->L[i].need_dx, &f, &b);
        s += f + b;
    }
    return s;
}
