/* model.c: model spec parser, flat parameter/gradient buffers with named views, the
 * training step (forward + backward) and inference, summary, FLOP count and memory estimate
 * (see model.h).
 *
 * Reference: tests/torch_model.py builds the PyTorch module of the same spec; the tensor
 * names, shapes, order and the forward computation are those of that module (checked by
 * tests/torch_parity.py). Design after karpathy/llm.c's train_gpt2.c: one parameter block
 * and one gradient block, each tensor a view; activations planned once at create.
 *
 * Everything a layer kind is lives in one row of the table `kinds` below: its spec keyword
 * and arguments, its output shape, its parameter tensors (PyTorch names, shapes, init bound),
 * the buffers it keeps for backward, its forward, backward and FLOP count. The rest of this
 * file is generic. To add a layer kind, write its functions and add one row (and its tokens
 * to model.h's list, and the same module to tests/torch_model.py).
 */
#include "nn/model.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nn/layers.h"
#include "nn/rng.h"

#define SPEC_MAX_LAYERS 64
#define SPEC_MAX_SIZE   65536
#define LAYER_TENSORS   4   /* parameter tensors of one layer, at most (lstm) */
#define LAYER_BUFFERS   4   /* buffers one layer keeps for backward, at most (lstm) */
#define WHY_CAP         256 /* a layer's error text, without the token it names */

struct layer_kind;
struct nn_model;
static void reset_running(struct nn_model *m);

/* One layer of a model: the arguments of its token, its shapes, its tensors, its buffers. */
struct layer {
    const struct layer_kind *kind;
    char name[24];       /* conv1, relu2, lstm1, fc1, ... (param layers: PyTorch module name) */
    size_t index;        /* position in the spec from 0 (keys the dropout masks) */
    size_t n;            /* the size argument: conv1d OUT, lstm H, dense N */
    int n_is_classes;    /* dense without N: as many outputs as classes (the last layer) */
    size_t k, pad;       /* conv kernel/padding, pool kernel */
    size_t stride;       /* conv2d stride */
    int n_given;         /* reshape: P was written */
    int mean;            /* lstm: mean over time instead of last state */
    double p;            /* dropout probability */
    int seq_in, seq_out; /* 1: sequence [C][T][B] or map [C][H][W][B]; 0: vector [B][N] */
    int map_in, map_out; /* 1: a map [C][H][W][B] (seq_* is 1 too: T = H*W positions) */
    size_t cin, tin;     /* input per sample: [cin][tin], or a vector of cin (tin = 1) */
    size_t cout, tout;   /* output per sample, likewise */
    size_t hin, win;     /* a map input: tin = hin * win */
    size_t hout, wout;   /* a map output: tout = hout * wout */
    size_t t0, nt;       /* its tensors: the tensor table's [t0, t0 + nt) */
    size_t r0, nr;       /* its running buffers: the running table's [r0, r0 + nr) */
    size_t s0, ns;       /* its statistic slots: [s0, s0 + ns) after the trainer's scalars */
    int fwd_train;       /* the last forward was in training mode (batchnorm) */
    int need_dx;         /* some layer before this one has parameters */
    size_t nbuf[LAYER_BUFFERS]; /* floats of buf[], planned for max_batch by kind->plan */
    float *out, *dout;          /* [max_batch * cout * tout] in the layout above */
    float *buf[LAYER_BUFFERS];  /* what the kind keeps for backward (see its plan function) */
};

/* What one layer's forward or backward sees. */
struct pass {
    size_t B;                      /* samples in this call */
    const float *x;                /* the layer's input */
    float *dx;                     /* backward: its gradient, to set; NULL if not needed */
    const float *w[LAYER_TENSORS]; /* the layer's parameter tensors, in table order */
    float *g[LAYER_TENSORS];       /* backward: their gradients (added to) */
    float *run[LAYER_TENSORS];     /* the layer's running buffers (batchnorm statistics) */
    float *stats;                  /* training forward: the layer's statistic slots (added
                                      to); NULL in inference */
    float *scratch;                /* the model's workspace, as large as the plans asked */
    const struct nn_step *st;      /* forward: the step's dropout keys; NULL at inference */
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
    size_t nscratch; /* floats of scratch the layers' plans ask for */
    size_t bytes;    /* bytes of the float buffers allocated (nn_model_bytes) */
    size_t nrt;      /* running buffers: named views into `running` */
    struct nn_tensor *rtensors;
    char (*rtnames)[40];
    size_t nrun;   /* floats of the running buffer */
    size_t nstats; /* statistic slots after the gradients' NN_GRAD_EXTRA */
    float *params, *grads, *running;
    float *x0;      /* [C][T][max_batch] the input in layer layout */
    float *scratch; /* conv dcols / lstm pack and backward scratch */
};

/* A parameter tensor (or running buffer): the state_dict name after "<layer name>." and the
 * shape, one letter per dimension: O = cout, I = cin, K = kernel (conv2d: "KK"), G = 4 * cout (LSTM
 * gates);
 * "" is a scalar (shape []). Its initial value: INIT_FAN draws U(-1/sqrt(fan), 1/sqrt(fan))
 * with the kind's fan, INIT_ZERO / INIT_ONE are constants (batchnorm weight 1, bias 0). */
enum tensor_init { INIT_FAN, INIT_ZERO, INIT_ONE };
struct tensor_def {
    const char *suffix;
    const char *dims;
    enum tensor_init init;
};

/* IN_SEQ: a sequence, not a map; IN_GRID: a sequence or a map; IN_VEC: a vector. */
enum layer_input { IN_ANY, IN_SEQ, IN_GRID, IN_VEC };

/* A row of the layer table. The function pointers that may be NULL say so. */
struct layer_kind {
    const char *name;       /* spec keyword */
    const char *usage;      /* its syntax, for messages */
    const char *prefix;     /* layer names: prefix + count of the kinds with this prefix
                               ("conv1", "fc2"; conv1d and conv2d share "conv") */
    const char *type;       /* summary's type column: the PyTorch module */
    int min_args, max_args; /* ':'-separated arguments after the keyword */
    enum layer_input input; /* the input it takes */
    /* Sets l's arguments from arg[0 .. nargs-1]; -1 with why on a bad one. NULL: none. */
    int (*parse)(struct layer *l, char *const *arg, int nargs, char *why);
    /* Sets seq_out, map_out, cout, tout (hout, wout) from the input shape and the arguments;
     * -1 with why. */
    int (*shape)(struct layer *l, char *why);
    /* Writes the canonical token as snprintf does (NULL/0 measures it); returns its length. */
    int (*canon)(const struct layer *l, char *buf, size_t cap);
    struct tensor_def tensor[LAYER_TENSORS]; /* PyTorch's registration order */
    /* Running buffers (not parameters: PyTorch's register_buffer), in registration order;
     * stats: the statistic slots one training forward adds to, one dimension letter per
     * block (see nn_model_update_running). */
    struct tensor_def running[LAYER_TENSORS];
    const char *stats;
    const char *fan; /* init U(-1/sqrt(fan), 1/sqrt(fan)), fan: product of these dimensions */
    /* Floats of l->buf[] for a batch of B and of the scratch it needs. NULL: none. */
    void (*plan)(const struct layer *l, size_t B, size_t nbuf[LAYER_BUFFERS], size_t *scratch);
    void (*forward)(struct layer *l, const struct pass *p);
    void (*backward)(struct layer *l, const struct pass *p); /* sets dx if not NULL */
    /* GEMM FLOPs per sample: forward, backward (with the input gradient if need_dx). NULL: 0. */
    void (*flops)(const struct layer *l, int need_dx, double *fwd, double *bwd);
};

/* ---------------------------------------------------------------- helpers */

/* Formats a layer's error into why (WHY_CAP bytes) and returns -1. */
__attribute__((format(printf, 2, 3))) static int bad(char *why, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, WHY_CAP, fmt, ap);
    va_end(ap);
    return -1;
}

/* Sizes that saturate at SIZE_MAX instead of wrapping: a planned size of SIZE_MAX means
 * "does not fit in memory". */
static size_t zmul(size_t a, size_t b)
{
    return b && a > SIZE_MAX / b ? SIZE_MAX : a * b;
}

static size_t zadd(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

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

/* ---------------------------------------------------------------- layer kinds */

/* Shared by the kinds that keep the input's shape (relu, dropout). */
static int shape_same(struct layer *l, char *why)
{
    (void)why;
    l->seq_out = l->seq_in;
    l->map_out = l->map_in;
    l->cout = l->cin;
    l->tout = l->tin;
    l->hout = l->hin;
    l->wout = l->win;
    return 0;
}

/* Shared by the kinds whose output is a vector of their size argument (lstm, dense). */
static int shape_vector(struct layer *l, char *why)
{
    (void)why;
    l->seq_out = 0;
    l->cout = l->n;
    l->tout = 1;
    return 0;
}

/* Shared by the kinds without arguments: the keyword. */
static int canon_plain(const struct layer *l, char *buf, size_t cap)
{
    return snprintf(buf, cap, "%s", l->kind->name);
}

/* conv1d:OUT:K[:PAD]. buf[0]: the im2col matrix [cin*k][tout*B]; the scratch holds its
 * gradient when the input gradient is needed. */
static int conv_parse(struct layer *l, char *const *arg, int nargs, char *why)
{
    if (parse_size(arg[0], 1, SPEC_MAX_SIZE, &l->n))
        return bad(why, "OUT must be an integer in [1, %d]", SPEC_MAX_SIZE);
    if (parse_size(arg[1], 1, 1024, &l->k)) return bad(why, "K must be an integer in [1, 1024]");
    l->pad = l->k / 2;
    if (nargs == 3 && parse_size(arg[2], 0, 1024, &l->pad))
        return bad(why, "PAD must be an integer in [0, 1024]");
    return 0;
}

static int conv_shape(struct layer *l, char *why)
{
    size_t padded = zadd(l->tin, 2 * l->pad);
    if (padded < l->k)
        return bad(why, "the sequence shrinks to length 0 (length %zu, kernel %zu, padding %zu)",
                   l->tin, l->k, l->pad);
    l->seq_out = 1;
    l->cout = l->n;
    l->tout = padded - l->k + 1;
    return 0;
}

static int conv_canon(const struct layer *l, char *buf, size_t cap)
{
    if (l->pad == l->k / 2) return snprintf(buf, cap, "conv1d:%zu:%zu", l->n, l->k);
    return snprintf(buf, cap, "conv1d:%zu:%zu:%zu", l->n, l->k, l->pad);
}

static void conv_plan(const struct layer *l, size_t B, size_t nbuf[LAYER_BUFFERS], size_t *scratch)
{
    nbuf[0] = zmul(zmul(l->cin, l->k), zmul(l->tout, B));
    *scratch = l->need_dx ? nbuf[0] : 0;
}

static void conv_forward(struct layer *l, const struct pass *p)
{
    struct nn_conv_dims d = {p->B, l->cin, l->cout, l->tin, l->k, l->pad, l->tout};
    nn_conv1d_forward(l->out, l->buf[0], p->x, p->w[0], p->w[1], &d);
}

static void conv_backward(struct layer *l, const struct pass *p)
{
    struct nn_conv_dims d = {p->B, l->cin, l->cout, l->tin, l->k, l->pad, l->tout};
    nn_conv1d_backward(p->dx, p->g[0], p->g[1], p->scratch, l->dout, l->buf[0], p->w[0], &d);
}

static void conv_flops(const struct layer *l, int need_dx, double *fwd, double *bwd)
{
    *fwd = 2.0 * (double)l->cout * (double)(l->cin * l->k) * (double)l->tout;
    *bwd = *fwd * (need_dx ? 2 : 1);
}

/* relu */
static void relu_forward(struct layer *l, const struct pass *p)
{
    nn_relu_forward(l->out, p->x, l->cin * l->tin * p->B);
}

static void relu_backward(struct layer *l, const struct pass *p)
{
    if (p->dx) nn_relu_backward(p->dx, l->dout, l->out, l->cin * l->tin * p->B);
}

/* maxpool:K */
static int pool_parse(struct layer *l, char *const *arg, int nargs, char *why)
{
    (void)nargs;
    if (parse_size(arg[0], 1, 255, &l->k)) return bad(why, "K must be an integer in [1, 255]");
    return 0;
}

static int pool_shape(struct layer *l, char *why)
{
    if (l->tin / l->k == 0)
        return bad(why, "the sequence shrinks to length 0 (length %zu, pool %zu)", l->tin, l->k);
    l->seq_out = 1;
    l->cout = l->cin;
    l->tout = l->tin / l->k;
    return 0;
}

static int pool_canon(const struct layer *l, char *buf, size_t cap)
{
    return snprintf(buf, cap, "maxpool:%zu", l->k);
}

static void pool_forward(struct layer *l, const struct pass *p)
{
    nn_maxpool_forward(l->out, p->x, l->cin, l->tin, p->B, l->k);
}

static void pool_backward(struct layer *l, const struct pass *p)
{
    if (p->dx) nn_maxpool_backward(p->dx, l->dout, p->x, l->out, l->cin, l->tin, p->B, l->k);
}

/* lstm:H[:last|:mean]. buf[]: gates, cs, tcs, hs (see layers.h); the scratch holds the
 * packed W_hh in forward and the backward workspace. */
static int lstm_parse(struct layer *l, char *const *arg, int nargs, char *why)
{
    if (parse_size(arg[0], 1, SPEC_MAX_SIZE, &l->n))
        return bad(why, "H must be an integer in [1, %d]", SPEC_MAX_SIZE);
    if (nargs == 2 && strcmp(arg[1], "last") != 0 && strcmp(arg[1], "mean") != 0)
        return bad(why, "the output must be 'last' or 'mean', got '%s'", arg[1]);
    l->mean = nargs == 2 && strcmp(arg[1], "mean") == 0;
    return 0;
}

static int lstm_canon(const struct layer *l, char *buf, size_t cap)
{
    return snprintf(buf, cap, "lstm:%zu%s", l->n, l->mean ? ":mean" : "");
}

static void lstm_plan(const struct layer *l, size_t B, size_t nbuf[LAYER_BUFFERS], size_t *scratch)
{
    size_t T = l->tin, H = l->cout, TBH = zmul(zmul(T, B), H);
    nbuf[0] = zmul(TBH, 4);                 /* gates */
    nbuf[1] = TBH;                          /* cs */
    nbuf[2] = TBH;                          /* tcs */
    nbuf[3] = zmul(zmul(zadd(T, 1), B), H); /* hs */
    struct nn_lstm_dims d = {B, T, l->cin, H, l->mean};
    /* >= nn_lstm_pack_size(&d), which the forward pass uses of the same scratch */
    *scratch = nbuf[0] < SIZE_MAX / 4 ? nn_lstm_scratch(&d) : SIZE_MAX;
}

static void lstm_forward(struct layer *l, const struct pass *p)
{
    struct nn_lstm_dims d = {p->B, l->tin, l->cin, l->cout, l->mean};
    nn_lstm_forward(l->out, l->buf[0], l->buf[1], l->buf[2], l->buf[3], p->scratch, p->x, p->w[0],
                    p->w[1], p->w[2], p->w[3], &d);
}

static void lstm_backward(struct layer *l, const struct pass *p)
{
    struct nn_lstm_dims d = {p->B, l->tin, l->cin, l->cout, l->mean};
    nn_lstm_backward(p->dx, p->g[0], p->g[1], p->g[2], p->g[3], p->scratch, l->dout, p->x,
                     l->buf[0], l->buf[1], l->buf[2], l->buf[3], p->w[0], p->w[1], &d);
}

static void lstm_flops(const struct layer *l, int need_dx, double *fwd, double *bwd)
{
    double T = (double)l->tin, G = 4.0 * (double)l->cout, H = (double)l->cout;
    double in = (double)l->cin;
    double proj = 2.0 * T * G * in, rec = 2.0 * (T - 1) * G * H;
    *fwd = proj + rec;
    /* dW_ih, dx: proj each; dW_hh and dh: over steps 1..T-1 */
    *bwd = proj * (need_dx ? 2 : 1) + 2 * rec;
}

/* dropout:P. buf[0]: the mask, in the layout of the output. */
static int drop_parse(struct layer *l, char *const *arg, int nargs, char *why)
{
    (void)nargs;
    char *end;
    errno = 0;
    l->p = strtod(arg[0], &end);
    if (errno || end == arg[0] || *end || !(l->p >= 0.0 && l->p < 1.0))
        return bad(why, "P must be a number with 0 <= P < 1");
    return 0;
}

/* The shortest form of P that parses back to the same double. */
static int drop_canon(const struct layer *l, char *buf, size_t cap)
{
    char num[32];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(num, sizeof num, "%.*g", prec, l->p);
        if (strtod(num, NULL) == l->p) break;
    }
    return snprintf(buf, cap, "dropout:%s", num);
}

static void drop_plan(const struct layer *l, size_t B, size_t nbuf[LAYER_BUFFERS], size_t *scratch)
{
    nbuf[0] = zmul(zmul(l->cout, l->tout), B);
    *scratch = 0;
}

static void drop_forward(struct layer *l, const struct pass *p)
{
    size_t n = l->cin * l->tin, nin = n * p->B;
    const struct nn_step *st = p->st;
    float *mask = l->buf[0];
    if (st && st->train && l->p > 0.0) {
        if (l->seq_in)
            nn_dropout_mask(mask, p->B, n, 1, p->B, l->p, st->seed, st->epoch, st->sample_ids,
                            l->index);
        else
            nn_dropout_mask(mask, p->B, n, n, 1, l->p, st->seed, st->epoch, st->sample_ids,
                            l->index);
        nn_dropout_forward(l->out, p->x, mask, nin);
    } else {
        /* inference, or p = 0: identity; a mask of ones keeps backward uniform */
        memcpy(l->out, p->x, nin * sizeof *p->x);
        for (size_t j = 0; j < nin; j++) mask[j] = 1.0f;
    }
}

static void drop_backward(struct layer *l, const struct pass *p)
{
    if (p->dx) nn_dropout_backward(p->dx, l->dout, l->buf[0], l->cin * l->tin * p->B);
}

/* dense:N, or dense (the output layer: N = the number of classes, preset in l->n) */
static int dense_parse(struct layer *l, char *const *arg, int nargs, char *why)
{
    if (nargs == 0) {
        l->n_is_classes = 1;
        return 0;
    }
    if (parse_size(arg[0], 1, SPEC_MAX_SIZE, &l->n))
        return bad(why, "N must be an integer in [1, %d]", SPEC_MAX_SIZE);
    return 0;
}

static int dense_canon(const struct layer *l, char *buf, size_t cap)
{
    return snprintf(buf, cap, "dense:%zu", l->n);
}

static void dense_forward(struct layer *l, const struct pass *p)
{
    nn_dense_forward(l->out, p->x, p->w[0], p->w[1], p->B, l->cin, l->cout);
}

static void dense_backward(struct layer *l, const struct pass *p)
{
    nn_dense_backward(p->dx, p->g[0], p->g[1], l->dout, p->x, p->w[0], p->B, l->cin, l->cout);
}

static void dense_flops(const struct layer *l, int need_dx, double *fwd, double *bwd)
{
    *fwd = 2.0 * (double)l->cin * (double)l->cout;
    *bwd = *fwd * (need_dx ? 2 : 1);
}

/* flatten */
static int flat_shape(struct layer *l, char *why)
{
    (void)why;
    l->seq_out = 0;
    l->cout = zmul(l->cin, l->tin); /* saturates: refused as too large */
    l->tout = 1;
    return 0;
}

static void flat_forward(struct layer *l, const struct pass *p)
{
    nn_flatten_forward(l->out, p->x, l->cin, l->tin, p->B);
}

static void flat_backward(struct layer *l, const struct pass *p)
{
    if (p->dx) nn_flatten_backward(p->dx, l->dout, l->cin, l->tin, p->B);
}

/* A sequence input [C][T] seen as a map of 1 channel, C x T (torch x.unsqueeze(1)): the same
 * memory. A map input is left as it is. */
static void input_as_map(struct layer *l)
{
    if (l->map_in) return;
    l->map_in = 1;
    l->hin = l->cin;
    l->win = l->tin;
    l->cin = 1;
}

/* "KxK" -> *k in [1, max]; -1 with why. */
static int parse_square(const char *s, size_t max, size_t *k, char *why)
{
    char a[32];
    const char *x = strchr(s, 'x');
    size_t k1, k2;
    if (!x || (size_t)(x - s) >= sizeof a) return bad(why, "the kernel must be KxK, got '%s'", s);
    memcpy(a, s, (size_t)(x - s));
    a[x - s] = 0;
    if (parse_size(a, 1, max, &k1) || parse_size(x + 1, 1, max, &k2))
        return bad(why, "K must be an integer in [1, %zu] (KxK)", max);
    if (k1 != k2) return bad(why, "the kernel must be square (KxK), got %zux%zu", k1, k2);
    *k = k1;
    return 0;
}

/* conv2d:OUT:KxK[:sS]. buf[0]: the im2col matrix [cin*k*k][tout*B]; the scratch holds its
 * gradient when the input gradient is needed. A sequence input is a map of 1 channel. */
static int conv2d_parse(struct layer *l, char *const *arg, int nargs, char *why)
{
    if (parse_size(arg[0], 1, SPEC_MAX_SIZE, &l->n))
        return bad(why, "OUT must be an integer in [1, %d]", SPEC_MAX_SIZE);
    if (parse_square(arg[1], 255, &l->k, why)) return -1;
    if (l->k % 2 == 0)
        return bad(why, "K must be odd (padding K/2 keeps the size), got %zux%zu", l->k, l->k);
    l->pad = l->k / 2;
    l->stride = 1;
    if (nargs == 3 && (arg[2][0] != 's' || parse_size(arg[2] + 1, 1, 255, &l->stride)))
        return bad(why, "the stride must be sS with S an integer in [1, 255], got '%s'", arg[2]);
    return 0;
}

static int conv2d_shape(struct layer *l, char *why)
{
    (void)why;
    input_as_map(l);
    /* K odd, padding K/2: H + 2P - K = H - 1 >= 0, so never empty */
    l->seq_out = l->map_out = 1;
    l->cout = l->n;
    l->hout = (l->hin - 1) / l->stride + 1;
    l->wout = (l->win - 1) / l->stride + 1;
    l->tout = zmul(l->hout, l->wout);
    return 0;
}

static int conv2d_canon(const struct layer *l, char *buf, size_t cap)
{
    if (l->stride == 1) return snprintf(buf, cap, "conv2d:%zu:%zux%zu", l->n, l->k, l->k);
    return snprintf(buf, cap, "conv2d:%zu:%zux%zu:s%zu", l->n, l->k, l->k, l->stride);
}

static void conv2d_plan(const struct layer *l, size_t B, size_t nbuf[LAYER_BUFFERS],
                        size_t *scratch)
{
    nbuf[0] = zmul(zmul(l->cin, zmul(l->k, l->k)), zmul(l->tout, B));
    *scratch = l->need_dx ? nbuf[0] : 0;
}

static struct nn_conv2d_dims conv2d_dims(const struct layer *l, size_t B)
{
    return (struct nn_conv2d_dims){B,    l->cin,    l->cout, l->hin,  l->win,
                                   l->k, l->stride, l->pad,  l->hout, l->wout};
}

static void conv2d_forward(struct layer *l, const struct pass *p)
{
    struct nn_conv2d_dims d = conv2d_dims(l, p->B);
    nn_conv2d_forward(l->out, l->buf[0], p->x, p->w[0], p->w[1], &d);
}

static void conv2d_backward(struct layer *l, const struct pass *p)
{
    struct nn_conv2d_dims d = conv2d_dims(l, p->B);
    nn_conv2d_backward(p->dx, p->g[0], p->g[1], p->scratch, l->dout, l->buf[0], p->w[0], &d);
}

static void conv2d_flops(const struct layer *l, int need_dx, double *fwd, double *bwd)
{
    *fwd = 2.0 * (double)l->cout * (double)(l->cin * l->k * l->k) * (double)l->tout;
    *bwd = *fwd * (need_dx ? 2 : 1);
}

/* maxpool2d:KxK. A sequence input is a map of 1 channel. */
static int pool2d_parse(struct layer *l, char *const *arg, int nargs, char *why)
{
    (void)nargs;
    return parse_square(arg[0], 255, &l->k, why);
}

static int pool2d_shape(struct layer *l, char *why)
{
    input_as_map(l);
    if (l->hin / l->k == 0 || l->win / l->k == 0)
        return bad(why, "the map shrinks to 0 (%zu x %zu, pool %zux%zu)", l->hin, l->win, l->k,
                   l->k);
    l->seq_out = l->map_out = 1;
    l->cout = l->cin;
    l->hout = l->hin / l->k;
    l->wout = l->win / l->k;
    l->tout = l->hout * l->wout;
    return 0;
}

static int pool2d_canon(const struct layer *l, char *buf, size_t cap)
{
    return snprintf(buf, cap, "maxpool2d:%zux%zu", l->k, l->k);
}

static void pool2d_forward(struct layer *l, const struct pass *p)
{
    nn_maxpool2d_forward(l->out, p->x, l->cin, l->hin, l->win, p->B, l->k);
}

static void pool2d_backward(struct layer *l, const struct pass *p)
{
    if (p->dx)
        nn_maxpool2d_backward(p->dx, l->dout, p->x, l->out, l->cin, l->hin, l->win, p->B, l->k);
}

/* gap: the mean over the positions of a map or a sequence, one value per channel */
static int gap_shape(struct layer *l, char *why)
{
    (void)why;
    l->seq_out = l->map_out = 0;
    l->cout = l->cin;
    l->tout = 1;
    return 0;
}

static void gap_forward(struct layer *l, const struct pass *p)
{
    nn_gap_forward(l->out, p->x, l->cin, l->tin, p->B);
}

static void gap_backward(struct layer *l, const struct pass *p)
{
    if (p->dx) nn_gap_backward(p->dx, l->dout, l->cin, l->tin, p->B);
}

/* reshape[:P]: a sequence [C][T] -> a map [P][C/P][T]; a map [C][H][W] -> a sequence
 * [C*H][W]. Both keep the memory as it is ([C][positions][B]): forward and backward copy. */
static int reshape_parse(struct layer *l, char *const *arg, int nargs, char *why)
{
    l->n = 1;
    l->n_given = nargs == 1;
    if (nargs == 1 && parse_size(arg[0], 1, SPEC_MAX_SIZE, &l->n))
        return bad(why, "P must be an integer in [1, %d]", SPEC_MAX_SIZE);
    return 0;
}

static int reshape_shape(struct layer *l, char *why)
{
    if (l->map_in) {
        if (l->n != 1)
            return bad(why,
                       "a map (%zu x %zu x %zu) becomes a sequence with plain 'reshape' (P "
                       "splits a sequence into a map)",
                       l->cin, l->hin, l->win);
        l->seq_out = 1;
        l->map_out = 0;
        l->cout = zmul(l->cin, l->hin);
        l->tout = l->win;
        return 0;
    }
    if (l->cin % l->n != 0)
        return bad(why, "the %zu channels are not divisible by P = %zu", l->cin, l->n);
    l->seq_out = l->map_out = 1;
    l->cout = l->n;
    l->hout = l->cin / l->n;
    l->wout = l->tin;
    l->tout = l->tin * l->hout;
    return 0;
}

static int reshape_canon(const struct layer *l, char *buf, size_t cap)
{
    if (l->n == 1) return snprintf(buf, cap, "reshape");
    return snprintf(buf, cap, "reshape:%zu", l->n);
}

static void reshape_forward(struct layer *l, const struct pass *p)
{
    memcpy(l->out, p->x, l->cin * l->tin * p->B * sizeof *l->out);
}

static void reshape_backward(struct layer *l, const struct pass *p)
{
    if (p->dx) memcpy(p->dx, l->dout, l->cin * l->tin * p->B * sizeof *p->dx);
}

/* batchnorm: BatchNorm1d over a vector [B][N] (per feature over B) or a sequence [C][T][B]
 * (per channel over T and B), BatchNorm2d over a map [C][H*W][B]: all [C][P][B] with P = tin
 * positions per channel. buf[0]: xhat, in the layout of the input; buf[1]: invstd [C]. */
static void bn_plan(const struct layer *l, size_t B, size_t nbuf[LAYER_BUFFERS], size_t *scratch)
{
    nbuf[0] = zmul(zmul(l->cin, l->tin), B);
    nbuf[1] = l->cin;
    *scratch = 0;
}

static struct nn_bn_dims bn_dims(const struct layer *l, size_t B)
{
    if (l->seq_in) return (struct nn_bn_dims){l->cin, l->tin * B, 1, l->tin * B};
    return (struct nn_bn_dims){l->cin, 1, l->cin, B};
}

static void bn_forward(struct layer *l, const struct pass *p)
{
    struct nn_bn_dims d = bn_dims(l, p->B);
    l->fwd_train = p->stats != NULL;
    if (l->fwd_train)
        nn_batchnorm_forward(l->out, l->buf[0], l->buf[1], p->x, p->w[0], p->w[1], NULL, NULL,
                             p->stats, p->stats + l->cin, &d);
    else
        nn_batchnorm_forward(l->out, l->buf[0], l->buf[1], p->x, p->w[0], p->w[1], p->run[0],
                             p->run[1], NULL, NULL, &d);
}

static void bn_backward(struct layer *l, const struct pass *p)
{
    struct nn_bn_dims d = bn_dims(l, p->B);
    nn_batchnorm_backward(p->dx, p->g[0], p->g[1], l->dout, l->buf[0], l->buf[1], p->w[0],
                          l->fwd_train, &d);
}

/* The layer table: one row per kind, in the order the "unknown layer" message lists them. */
static const struct layer_kind kinds[] = {
    {.name = "conv1d",
     .usage = "conv1d:OUT:K[:PAD]",
     .prefix = "conv",
     .type = "Conv1d",
     .min_args = 2,
     .max_args = 3,
     .input = IN_SEQ,
     .parse = conv_parse,
     .shape = conv_shape,
     .canon = conv_canon,
     .tensor = {{"weight", "OIK"}, {"bias", "O"}},
     .fan = "IK",
     .plan = conv_plan,
     .forward = conv_forward,
     .backward = conv_backward,
     .flops = conv_flops},
    {.name = "relu",
     .usage = "relu",
     .prefix = "relu",
     .type = "ReLU",
     .input = IN_ANY,
     .shape = shape_same,
     .canon = canon_plain,
     .forward = relu_forward,
     .backward = relu_backward},
    {.name = "maxpool",
     .usage = "maxpool:K",
     .prefix = "pool",
     .type = "MaxPool1d",
     .min_args = 1,
     .max_args = 1,
     .input = IN_SEQ,
     .parse = pool_parse,
     .shape = pool_shape,
     .canon = pool_canon,
     .forward = pool_forward,
     .backward = pool_backward},
    {.name = "lstm",
     .usage = "lstm:H[:last|:mean]",
     .prefix = "lstm",
     .type = "LSTM",
     .min_args = 1,
     .max_args = 2,
     .input = IN_SEQ,
     .parse = lstm_parse,
     .shape = shape_vector,
     .canon = lstm_canon,
     .tensor =
         {{"weight_ih_l0", "GI"}, {"weight_hh_l0", "GO"}, {"bias_ih_l0", "G"}, {"bias_hh_l0", "G"}},
     .fan = "O",
     .plan = lstm_plan,
     .forward = lstm_forward,
     .backward = lstm_backward,
     .flops = lstm_flops},
    {.name = "dropout",
     .usage = "dropout:P",
     .prefix = "dropout",
     .type = "Dropout",
     .min_args = 1,
     .max_args = 1,
     .input = IN_ANY,
     .parse = drop_parse,
     .shape = shape_same,
     .canon = drop_canon,
     .plan = drop_plan,
     .forward = drop_forward,
     .backward = drop_backward},
    {.name = "dense",
     .usage = "dense[:N]",
     .prefix = "fc",
     .type = "Linear",
     .min_args = 0,
     .max_args = 1,
     .input = IN_VEC,
     .parse = dense_parse,
     .shape = shape_vector,
     .canon = dense_canon,
     .tensor = {{"weight", "OI"}, {"bias", "O"}},
     .fan = "I",
     .forward = dense_forward,
     .backward = dense_backward,
     .flops = dense_flops},
    {.name = "batchnorm",
     .usage = "batchnorm",
     .prefix = "bn",
     .type = "BatchNorm",
     .input = IN_ANY,
     .shape = shape_same,
     .canon = canon_plain,
     .tensor = {{"weight", "O", INIT_ONE}, {"bias", "O", INIT_ZERO}},
     .running = {{"running_mean", "O", INIT_ZERO},
                 {"running_var", "O", INIT_ONE},
                 {"num_batches_tracked", "", INIT_ZERO}},
     .stats = "OO",
     .plan = bn_plan,
     .forward = bn_forward,
     .backward = bn_backward},
    {.name = "flatten",
     .usage = "flatten",
     .prefix = "flatten",
     .type = "Flatten",
     .input = IN_GRID,
     .shape = flat_shape,
     .canon = canon_plain,
     .forward = flat_forward,
     .backward = flat_backward},
    {.name = "conv2d",
     .usage = "conv2d:OUT:KxK[:sS]",
     .prefix = "conv",
     .type = "Conv2d",
     .min_args = 2,
     .max_args = 3,
     .input = IN_GRID,
     .parse = conv2d_parse,
     .shape = conv2d_shape,
     .canon = conv2d_canon,
     .tensor = {{"weight", "OIKK"}, {"bias", "O"}},
     .fan = "IKK",
     .plan = conv2d_plan,
     .forward = conv2d_forward,
     .backward = conv2d_backward,
     .flops = conv2d_flops},
    {.name = "maxpool2d",
     .usage = "maxpool2d:KxK",
     .prefix = "pool",
     .type = "MaxPool2d",
     .min_args = 1,
     .max_args = 1,
     .input = IN_GRID,
     .parse = pool2d_parse,
     .shape = pool2d_shape,
     .canon = pool2d_canon,
     .forward = pool2d_forward,
     .backward = pool2d_backward},
    {.name = "gap",
     .usage = "gap",
     .prefix = "gap",
     .type = "GlobalAvgPool",
     .input = IN_GRID,
     .shape = gap_shape,
     .canon = canon_plain,
     .forward = gap_forward,
     .backward = gap_backward},
    {.name = "reshape",
     .usage = "reshape[:P]",
     .prefix = "reshape",
     .type = "Reshape",
     .min_args = 0,
     .max_args = 1,
     .input = IN_GRID,
     .parse = reshape_parse,
     .shape = reshape_shape,
     .canon = reshape_canon,
     .forward = reshape_forward,
     .backward = reshape_backward},
};
#define NKINDS (sizeof kinds / sizeof kinds[0])

/* ---------------------------------------------------------------- spec parsing */

/* Splits tok at ':' into at most 4 fields (tok is modified). Returns the field count, 5 if
 * there are more. */
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

/* Reads the spec text: the string itself, or, unless text_only, the file `spec` names if it
 * exists (then comments, '#' to end of line, are removed). Returns a malloc'd string or NULL
 * with e filled. */
static char *spec_text(const char *spec, int text_only, struct err *e)
{
    struct stat st;
    if (text_only || stat(spec, &st) != 0 || !S_ISREG(st.st_mode)) {
        char *txt = strdup(spec);
        if (!txt) err_set(e, "out of memory");
        return txt;
    }
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
    char *txt = malloc((size_t)st.st_size + 1);
    size_t n = txt ? fread(txt, 1, (size_t)st.st_size, f) : 0;
    int bad_read = !txt || ferror(f);
    fclose(f);
    if (bad_read) {
        free(txt);
        err_set(e, "model spec file %s: read error", spec);
        return NULL;
    }
    txt[n] = 0;
    for (char *p = txt; *p; p++)
        if (*p == '#')
            for (; *p && *p != '\n'; p++) *p = ' ';
    return txt;
}

/* "unknown layer (expected A, B, ... or Z)", listing every kind's usage. */
static int unknown_kind(char *why)
{
    char list[WHY_CAP - 32] = "";
    size_t o = 0;
    for (size_t i = 0; i < NKINDS && o < sizeof list; i++) {
        const char *sep = i == 0 ? "" : ", ";
        if (i > 0 && i + 1 == NKINDS) sep = " or ";
        o += (size_t)snprintf(list + o, sizeof list - o, "%s%s", sep, kinds[i].usage);
    }
    return bad(why, "unknown layer (expected %s)", list);
}

/* Parses token tok (modified) into l, whose input shape is set: finds its row, checks and
 * parses the arguments, checks the input and computes the output shape. */
static int parse_layer(struct layer *l, char *tok, char *why)
{
    char *f[4] = {NULL, NULL, NULL, NULL};
    int nargs = split_fields(tok, f) - 1;
    const struct layer_kind *k = NULL;
    for (size_t i = 0; i < NKINDS && !k; i++)
        if (strcmp(f[0], kinds[i].name) == 0) k = &kinds[i];
    if (!k) return unknown_kind(why);
    l->kind = k;
    if (nargs < k->min_args || nargs > k->max_args) {
        if (k->max_args == 0) return bad(why, "%s takes no arguments", k->name);
        return bad(why, "expected %s", k->usage);
    }
    if (k->parse && k->parse(l, f + 1, nargs, why) != 0) return -1;
    if (k->input == IN_SEQ && !l->seq_in)
        return bad(why, "%s needs a sequence input, but the input here is a vector", k->name);
    if (k->input == IN_SEQ && l->map_in)
        return bad(why,
                   "%s needs a sequence input, but the input here is a map (%zu x %zu x %zu): "
                   "put reshape before it",
                   k->name, l->cin, l->hin, l->win);
    if (k->input == IN_GRID && !l->seq_in)
        return bad(why, "%s needs a sequence or map input, but the input here is a vector",
                   k->name);
    if (k->input == IN_VEC && l->seq_in)
        return bad(why, "%s needs a vector input: put lstm, gap or flatten before it", k->name);
    if (k->shape(l, why) != 0) return -1;
    if (l->cout > SPEC_MAX_SIZE * (size_t)SPEC_MAX_SIZE) return bad(why, "layer too large");
    return 0;
}

/* The canonical spec: the layers' canonical tokens joined by spaces, in a string sized by
 * measuring them first. NULL if out of memory. */
static char *canonical_spec(const struct layer *L, size_t nl)
{
    size_t cap = 1;
    for (size_t i = 0; i < nl; i++) cap += (size_t)L[i].kind->canon(&L[i], NULL, 0) + 1;
    char *s = malloc(cap);
    if (!s) return NULL;
    size_t o = 0;
    s[0] = 0;
    for (size_t i = 0; i < nl; i++) {
        if (i) s[o++] = ' ';
        o += (size_t)L[i].kind->canon(&L[i], s + o, cap - o);
    }
    return s;
}

/* The counter of kind k's layer names: the first row with its prefix (conv1d and conv2d
 * layers count together: conv1, conv2, ...). */
static size_t prefix_slot(const struct layer_kind *k)
{
    for (size_t i = 0; i < NKINDS; i++)
        if (strcmp(kinds[i].prefix, k->prefix) == 0) return i;
    return (size_t)(k - kinds);
}

/* Parses txt (modified) into m->L / m->nl with their shapes and the canonical m->spec. */
static int parse_spec(struct nn_model *m, char *txt, struct err *e)
{
    m->L = calloc(SPEC_MAX_LAYERS, sizeof *m->L);
    if (!m->L) return err_set(e, "out of memory");
    int count[NKINDS] = {0};
    int seq = 1, map = 0, itok = 0;
    size_t C = m->C, T = m->T, H = 0, W = 0;
    char *save = NULL;
    for (char *tok = strtok_r(txt, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
        char orig[128], why[WHY_CAP];
        itok++;
        snprintf(orig, sizeof orig, "%s", tok);
        if (m->nl == SPEC_MAX_LAYERS)
            return err_set(e, "model spec: more than %d layers", SPEC_MAX_LAYERS);
        struct layer *l = &m->L[m->nl];
        l->index = m->nl;
        l->seq_in = seq;
        l->map_in = map;
        l->cin = C;
        l->tin = seq ? T : 1;
        l->hin = H;
        l->win = W;
        l->n = m->ncls; /* what a dense without N outputs */
        if (parse_layer(l, tok, why) != 0)
            return err_set(e, "model spec: token %d '%s': %s", itok, orig, why);
        snprintf(l->name, sizeof l->name, "%s%d", l->kind->prefix, ++count[prefix_slot(l->kind)]);
        seq = l->seq_out;
        map = l->map_out;
        C = l->cout;
        T = l->tout;
        H = l->hout;
        W = l->wout;
        m->nl++;
    }
    if (m->nl == 0)
        return err_set(e, "model spec: empty (expected layers such as '%s')", NN_DEFAULT_SPEC);
    for (size_t i = 0; i + 1 < m->nl; i++)
        if (m->L[i].n_is_classes)
            return err_set(e,
                           "model spec: layer %zu 'dense' has no size: only the last layer may "
                           "leave it out (it then has one output per class)",
                           i + 1);
    if (map)
        return err_set(e,
                       "model spec: the last layer '%s' gives a map (%zu x %zu x %zu); end with "
                       "gap or flatten and dense:%zu",
                       m->L[m->nl - 1].name, C, H, W, m->ncls);
    if (seq)
        return err_set(e,
                       "model spec: the last layer '%s' gives a sequence (%zu x %zu); end with "
                       "lstm or flatten and dense:%zu",
                       m->L[m->nl - 1].name, C, T, m->ncls);
    if (C != m->ncls)
        return err_set(e,
                       "model spec: the last layer '%s' gives %zu outputs, but there are %zu "
                       "classes",
                       m->L[m->nl - 1].name, C, m->ncls);
    m->spec = canonical_spec(m->L, m->nl);
    return m->spec ? 0 : err_set(e, "out of memory");
}

/* ---------------------------------------------------------------- plan, create, free */

static size_t dim_of(const struct layer *l, char d)
{
    switch (d) {
    case 'O':
        return l->cout;
    case 'I':
        return l->cin;
    case 'K':
        return l->k;
    case 'G':
        return 4 * l->cout;
    }
    return 0;
}

/* Appends the view of td for layer l to a table (tensors, names, count) whose buffer has
 * *total floats so far. */
static void add_view(struct nn_tensor *tab, char (*names)[40], size_t *count, size_t *total,
                     const struct layer *l, const struct tensor_def *td)
{
    struct nn_tensor *t = &tab[*count];
    snprintf(names[*count], sizeof names[0], "%s.%s", l->name, td->suffix);
    t->name = names[*count];
    t->ndim = (int)strlen(td->dims);
    t->size = 1;
    for (int d = 0; d < t->ndim; d++) {
        t->shape[d] = dim_of(l, td->dims[d]);
        t->size = zmul(t->size, t->shape[d]);
    }
    t->offset = *total;
    *total = zadd(*total, t->size);
    (*count)++;
}

/* Plans layer l's tensors, running buffers and statistic slots. */
static void add_views(struct nn_model *m, struct layer *l)
{
    const struct layer_kind *k = l->kind;
    l->t0 = m->nt;
    for (size_t j = 0; j < LAYER_TENSORS && k->tensor[j].suffix; j++)
        add_view(m->tensors, m->tnames, &m->nt, &m->np, l, &k->tensor[j]);
    l->nt = m->nt - l->t0;
    l->r0 = m->nrt;
    for (size_t j = 0; j < LAYER_TENSORS && k->running[j].suffix; j++)
        add_view(m->rtensors, m->rtnames, &m->nrt, &m->nrun, l, &k->running[j]);
    l->nr = m->nrt - l->r0;
    l->s0 = m->nstats;
    for (const char *d = k->stats; d && *d; d++) m->nstats = zadd(m->nstats, dim_of(l, *d));
    l->ns = m->nstats - l->s0;
}

/* Parses the spec and plans everything create allocates: the tensor table (in PyTorch's
 * registration order), each layer's buffers and the scratch for max_batch samples. Allocates
 * only the tables (layers, tensors, canonical spec), never a buffer. */
static int plan_model(struct nn_model *m, const char *spec, int text_only, struct err *e)
{
    if (!spec) spec = NN_DEFAULT_SPEC;
    if (m->C == 0 || m->T == 0 || m->ncls < 2 || m->maxb == 0)
        return err_set(e, "model: bad sizes (channels %zu, length %zu, classes %zu, batch %zu)",
                       m->C, m->T, m->ncls, m->maxb);
    char *txt = spec_text(spec, text_only, e);
    if (!txt) return -1;
    int rc = parse_spec(m, txt, e);
    free(txt);
    if (rc != 0) return -1;
    m->tensors = calloc(LAYER_TENSORS * m->nl, sizeof *m->tensors);
    m->tnames = calloc(LAYER_TENSORS * m->nl, sizeof *m->tnames);
    m->rtensors = calloc(LAYER_TENSORS * m->nl, sizeof *m->rtensors);
    m->rtnames = calloc(LAYER_TENSORS * m->nl, sizeof *m->rtnames);
    if (!m->tensors || !m->tnames || !m->rtensors || !m->rtnames)
        return err_set(e, "out of memory");
    int params_before = 0;
    for (size_t i = 0; i < m->nl; i++) {
        struct layer *l = &m->L[i];
        const struct layer_kind *k = l->kind;
        l->need_dx = params_before;
        add_views(m, l);
        if (l->nt) params_before = 1;
        size_t scratch = 0;
        if (k->plan) k->plan(l, m->maxb, l->nbuf, &scratch);
        if (scratch > m->nscratch) m->nscratch = scratch;
    }
    return 0;
}

static size_t layer_nout(const struct nn_model *m, const struct layer *l)
{
    return zmul(zmul(l->cout, l->tout), m->maxb);
}

static size_t float_bytes(size_t n)
{
    return zmul(n, sizeof(float));
}

/* The memory of a planned model, saturating at SIZE_MAX. */
static void plan_cost(const struct nn_model *m, struct nn_model_cost *c)
{
    size_t act = zmul(zmul(m->C, m->T), m->maxb), saved = 0;
    for (size_t i = 0; i < m->nl; i++) {
        const struct layer *l = &m->L[i];
        act = zadd(act, zmul(layer_nout(m, l), 2));
        for (size_t j = 0; j < LAYER_BUFFERS; j++) saved = zadd(saved, l->nbuf[j]);
    }
    memset(c, 0, sizeof *c);
    c->nparams = m->np;
    c->params_bytes = float_bytes(m->np);
    c->grads_bytes = float_bytes(zadd(zadd(m->np, NN_GRAD_EXTRA), m->nstats));
    c->running_bytes = float_bytes(m->nrun);
    c->activations_bytes = float_bytes(act);
    c->saved_bytes = float_bytes(saved);
    c->scratch_bytes = float_bytes(m->nscratch);
    c->total_bytes = zadd(zadd(zadd(c->params_bytes, c->grads_bytes), c->activations_bytes),
                          zadd(zadd(c->saved_bytes, c->scratch_bytes), c->running_bytes));
}

/* A zeroed buffer of n floats, counted in m->bytes. An unused slot (n = 0: a layer's buf[]
 * beyond what its kind plans) stays NULL; the parameters and the scratch are never NULL
 * (one float, not counted, when there are none: allocator granularity, like malloc's own
 * headers). */
static float *falloc(struct nn_model *m, size_t n, int keep, int *fail)
{
    if (n == 0 && !keep) return NULL;
    float *p = calloc(n ? n : 1, sizeof(float));
    if (!p) *fail = 1;
    m->bytes += n * sizeof(float);
    return p;
}

static int alloc_buffers(struct nn_model *m, struct err *e)
{
    int fail = 0;
    m->params = falloc(m, m->np, 1, &fail);
    m->grads = falloc(m, m->np + NN_GRAD_EXTRA + m->nstats, 1, &fail);
    m->running = falloc(m, m->nrun, 1, &fail);
    m->x0 = falloc(m, zmul(zmul(m->C, m->T), m->maxb), 1, &fail);
    for (size_t i = 0; i < m->nl && !fail; i++) {
        struct layer *l = &m->L[i];
        l->out = falloc(m, layer_nout(m, l), 1, &fail);
        l->dout = falloc(m, layer_nout(m, l), 1, &fail);
        for (size_t j = 0; j < LAYER_BUFFERS; j++) l->buf[j] = falloc(m, l->nbuf[j], 0, &fail);
    }
    m->scratch = falloc(m, m->nscratch, 1, &fail);
    if (fail) return err_set(e, "model: out of memory (max batch %zu)", m->maxb);
    return 0;
}

static struct nn_model *model_new(size_t in_channels, size_t in_len, size_t n_classes,
                                  size_t max_batch)
{
    struct nn_model *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->C = in_channels;
    m->T = in_len;
    m->ncls = n_classes;
    m->maxb = max_batch;
    return m;
}

static int create(struct nn_model **out, const char *spec, int text_only, size_t in_channels,
                  size_t in_len, size_t n_classes, size_t max_batch, struct err *e)
{
    *out = NULL;
    struct nn_model *m = model_new(in_channels, in_len, n_classes, max_batch);
    if (!m) return err_set(e, "out of memory");
    struct nn_model_cost c;
    if (plan_model(m, spec, text_only, e) != 0) goto fail;
    plan_cost(m, &c);
    if (c.total_bytes == SIZE_MAX) {
        err_set(e, "model: too large to address (max batch %zu)", max_batch);
        goto fail;
    }
    if (alloc_buffers(m, e) != 0) goto fail;
    reset_running(m);
    *out = m;
    return 0;
fail:
    nn_model_free(m);
    return -1;
}

int nn_model_create(struct nn_model **out, const char *spec, size_t in_channels, size_t in_len,
                    size_t n_classes, size_t max_batch, struct err *e)
{
    return create(out, spec, 0, in_channels, in_len, n_classes, max_batch, e);
}

int nn_model_create_from_text(struct nn_model **out, const char *spec, size_t in_channels,
                              size_t in_len, size_t n_classes, size_t max_batch, struct err *e)
{
    return create(out, spec, 1, in_channels, in_len, n_classes, max_batch, e);
}

static int estimate(const char *spec, int text_only, size_t in_channels, size_t in_len,
                    size_t n_classes, size_t max_batch, struct nn_model_cost *cost, struct err *e)
{
    memset(cost, 0, sizeof *cost);
    struct nn_model *m = model_new(in_channels, in_len, n_classes, max_batch);
    if (!m) return err_set(e, "out of memory");
    int rc = plan_model(m, spec, text_only, e);
    if (rc == 0) plan_cost(m, cost);
    if (rc == 0 && cost->total_bytes == SIZE_MAX)
        rc = err_set(e, "model: too large to address (max batch %zu)", max_batch);
    nn_model_free(m);
    return rc;
}

int nn_model_estimate(const char *spec, size_t in_channels, size_t in_len, size_t n_classes,
                      size_t max_batch, struct nn_model_cost *cost, struct err *e)
{
    return estimate(spec, 0, in_channels, in_len, n_classes, max_batch, cost, e);
}

int nn_model_estimate_from_text(const char *spec, size_t in_channels, size_t in_len,
                                size_t n_classes, size_t max_batch, struct nn_model_cost *cost,
                                struct err *e)
{
    return estimate(spec, 1, in_channels, in_len, n_classes, max_batch, cost, e);
}

void nn_model_free(struct nn_model *m)
{
    if (!m) return;
    for (size_t i = 0; m->L && i < m->nl; i++) {
        struct layer *l = &m->L[i];
        free(l->out);
        free(l->dout);
        for (size_t j = 0; j < LAYER_BUFFERS; j++) free(l->buf[j]);
    }
    free(m->L);
    free(m->spec);
    free(m->tensors);
    free(m->tnames);
    free(m->rtensors);
    free(m->rtnames);
    free(m->running);
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
size_t nn_model_bytes(const struct nn_model *m)
{
    return m->bytes;
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
size_t nn_model_nstats(const struct nn_model *m)
{
    return m->nstats;
}
size_t nn_model_nrunning(const struct nn_model *m)
{
    return m->nrun;
}
float *nn_model_running(struct nn_model *m)
{
    return m->running;
}
size_t nn_model_nrunning_tensors(const struct nn_model *m)
{
    return m->nrt;
}
const struct nn_tensor *nn_model_running_tensor(const struct nn_model *m, size_t i)
{
    return i < m->nrt ? &m->rtensors[i] : NULL;
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

/* Every running buffer to its kind's initial value (PyTorch: mean 0, var 1, count 0). */
static void reset_running(struct nn_model *m)
{
    for (size_t i = 0; i < m->nl; i++) {
        const struct layer *l = &m->L[i];
        for (size_t j = 0; j < l->nr; j++) {
            const struct nn_tensor *t = &m->rtensors[l->r0 + j];
            float v = l->kind->running[j].init == INIT_ONE ? 1.0f : 0.0f;
            for (size_t k = 0; k < t->size; k++) m->running[t->offset + k] = v;
        }
    }
}

void nn_model_init(struct nn_model *m, uint64_t seed)
{
    reset_running(m);
    for (size_t i = 0; i < m->nl; i++) {
        const struct layer *l = &m->L[i];
        if (l->nt == 0) continue;
        size_t fan = 1;
        for (const char *d = l->kind->fan; d && *d; d++) fan *= dim_of(l, *d);
        double bound = 1.0 / sqrt((double)fan);
        for (size_t ti = l->t0; ti < l->t0 + l->nt; ti++) {
            const struct nn_tensor *t = &m->tensors[ti];
            float *p = m->params + t->offset;
            enum tensor_init how = l->kind->tensor[ti - l->t0].init;
            if (how != INIT_FAN) {
                for (size_t j = 0; j < t->size; j++) p[j] = how == INIT_ONE ? 1.0f : 0.0f;
                continue;
            }
            uint64_t h = nn_rng_key(nn_rng_key(nn_rng_key(0x1417ULL, seed), 0x696e6974ULL), ti);
            for (size_t j = 0; j < t->size; j++) {
                double u = nn_rng_uniform(nn_rng_key(h, j));
                p[j] = (float)((2.0 * u - 1.0) * bound);
            }
        }
    }
}

/* ---------------------------------------------------------------- forward / backward */

/* Points p->w, p->g and p->run at layer l's tensors and running buffers. */
static void bind_tensors(struct nn_model *m, const struct layer *l, struct pass *p)
{
    for (size_t j = 0; j < l->nt; j++) {
        size_t off = m->tensors[l->t0 + j].offset;
        p->w[j] = m->params + off;
        p->g[j] = m->grads + off;
    }
    for (size_t j = 0; j < l->nr; j++) p->run[j] = m->running + m->rtensors[l->r0 + j].offset;
}

static void forward(struct nn_model *m, size_t B, const struct nn_step *st)
{
    struct pass p = {.B = B, .scratch = m->scratch, .st = st};
    int train = st && st->train;
    for (size_t i = 0; i < m->nl; i++) {
        struct layer *l = &m->L[i];
        p.x = i ? m->L[i - 1].out : m->x0;
        bind_tensors(m, l, &p);
        p.stats = train && l->ns ? m->grads + m->np + NN_GRAD_EXTRA + l->s0 : NULL;
        l->kind->forward(l, &p);
    }
}

void nn_model_update_running(struct nn_model *m, const float *stats_sum, double n_calls)
{
    if (!(n_calls > 0)) return;
    const float mom = (float)NN_BN_MOMENTUM;
    for (size_t i = 0; i < m->nl; i++) {
        const struct layer *l = &m->L[i];
        if (!l->ns) continue;
        /* batchnorm: running_mean, running_var, num_batches_tracked; slots mean, var */
        float *rm = m->running + m->rtensors[l->r0].offset;
        float *rv = m->running + m->rtensors[l->r0 + 1].offset;
        const float *sm = stats_sum + l->s0, *sv = stats_sum + l->s0 + l->cin;
        for (size_t c = 0; c < l->cin; c++) {
            rm[c] = mom * (float)(sm[c] / n_calls) + (1.0f - mom) * rm[c];
            rv[c] = mom * (float)(sv[c] / n_calls) + (1.0f - mom) * rv[c];
        }
        m->running[m->rtensors[l->r0 + 2].offset] += 1.0f;
    }
}

static void backward(struct nn_model *m, size_t B)
{
    struct pass p = {.B = B, .scratch = m->scratch};
    for (size_t i = m->nl; i-- > 0;) {
        struct layer *l = &m->L[i];
        p.x = i ? m->L[i - 1].out : m->x0;
        p.dx = l->need_dx ? m->L[i - 1].dout : NULL;
        bind_tensors(m, l, &p);
        l->kind->backward(l, &p);
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
    double loss = st && st->target
                      ? nn_softmax_xent_target(probs, last->dout, last->out, st->target, B, m->ncls)
                      : nn_softmax_xent_weighted(probs, last->dout, last->out, y,
                                                 st ? st->class_weight : NULL, B, m->ncls);
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
        snprintf(lt, sizeof lt, "%s (%s)", l->name, l->kind->type);
        if (l->map_out)
            snprintf(shape, sizeof shape, "(None, %zu, %zu, %zu)", l->cout, l->hout, l->wout);
        else if (l->seq_out)
            snprintf(shape, sizeof shape, "(None, %zu, %zu)", l->cout, l->tout);
        else
            snprintf(shape, sizeof shape, "(None, %zu)", l->cout);
        size_t n = 0;
        for (size_t t = 0; t < l->nt; t++) n += m->tensors[l->t0 + t].size;
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

/* GEMM FLOPs per sample of layer l (elementwise work is not counted). */
static void layer_flops(const struct layer *l, int need_dx, double *fwd, double *bwd)
{
    *fwd = *bwd = 0;
    if (l->kind->flops) l->kind->flops(l, need_dx, fwd, bwd);
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
