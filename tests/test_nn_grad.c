/* test_nn_grad.c: analytic gradients of every layer and of whole models against central
 * finite differences.
 *
 * Each check uses the scalar L = sum_i r_i y_i (r fixed random, accumulated in double), so
 * backward gets dy = r. The numeric derivative is (L(v+h) - L(v-h)) / 2h in float32 forward
 * passes. Error measure: norm-wise relative error ||num - ana|| / max(||num||, 1e-6) over the
 * checked elements. Tolerances (stated per check below) follow from float32 rounding of L
 * divided by 2h: linear layers (conv, dense, dropout, flatten) 1e-3 with h = 1e-2;
 * batchnorm 1e-3 with h = 1e-2 (train and inference modes, sequence and vector);
 * relu/maxpool 1e-3 (skipping |x| < 2h and windows whose top two differ by < 2h: the
 * non-smooth points); lstm 5e-3 with h = 1e-2; softmax-CE 1e-4 (double loss, h = 1e-3);
 * whole models 1e-2 with h = 1e-3 for conv weights, 3e-4 for conv biases and 1e-2 for the
 * others, skipping
 * points where the h and h/2 estimates disagree (a ReLU kink or max-pool tie crossed). Exits 1 if
 * any check fails.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/layers.h"
#include "nn/model.h"
#include "nn/rng.h"

static int failures;

static void fill(float *p, size_t n, uint64_t key, float scale)
{
    for (size_t i = 0; i < n; i++)
        p[i] = scale * (2.0f * nn_rng_uniform(nn_rng_hash5(key, i, 1, 2, 3)) - 1.0f);
}

static float *alloc(size_t n)
{
    float *p = calloc(n ? n : 1, sizeof *p);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2); /* test program: main's policy */
    }
    return p;
}

static double dot(const float *r, const float *y, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)r[i] * y[i];
    return s;
}

/* A forward pass returning L for the current contents of the buffers. */
typedef double (*loss_fn)(void *ctx);
/* Optional: nonzero if element i of v is at a non-smooth point for step h. */
typedef int (*skip_fn)(void *ctx, size_t i, double h);

/* Compares ana[i] with the central difference of L in v[i] for up to max_check elements
 * (evenly spread). Returns the norm-wise relative error. */
static double fd_check(const char *what, float *v, const float *ana, size_t n, loss_fn L,
                       skip_fn skip, void *ctx, double h, double tol, size_t max_check)
{
    double num2 = 0, err2 = 0;
    size_t step = n > max_check ? n / max_check : 1, checked = 0, skipped = 0;
    for (size_t i = 0; i < n; i += step) {
        if (skip && skip(ctx, i, h)) {
            skipped++;
            continue;
        }
        float v0 = v[i];
        v[i] = (float)(v0 + h);
        double lp = L(ctx);
        v[i] = (float)(v0 - h);
        double lm = L(ctx);
        double hh = ((double)(float)(v0 + h) - (double)(float)(v0 - h)) / 2.0;
        v[i] = v0;
        double num = (lp - lm) / (2.0 * hh);
        num2 += num * num;
        err2 += (num - ana[i]) * (num - ana[i]);
        checked++;
    }
    double rel = sqrt(err2) / fmax(sqrt(num2), 1e-6);
    int ok = rel <= tol && checked > 0;
    printf("%-34s rel err %.2e (tol %.0e, %zu checked, %zu skipped) %s\n", what, rel, tol, checked,
           skipped, ok ? "ok" : "FAIL");
    if (!ok) failures++;
    return rel;
}

/* ---------------------------------------------------------------- conv1d */

struct conv_ctx {
    struct nn_conv_dims d;
    float *x, *w, *b, *y, *cols, *r;
};

static double conv_loss(void *p)
{
    struct conv_ctx *c = p;
    nn_conv1d_forward(c->y, c->cols, c->x, c->w, c->b, &c->d);
    return dot(c->r, c->y, c->d.cout * c->d.To * c->d.B);
}

static void test_conv(size_t K, size_t P)
{
    struct conv_ctx c;
    c.d = (struct nn_conv_dims){3, 4, 5, 9, K, P, 9 + 2 * P - K + 1};
    size_t nx = c.d.cin * c.d.T * c.d.B, nw = c.d.cout * c.d.cin * K,
           ny = c.d.cout * c.d.To * c.d.B;
    size_t ncols = c.d.cin * K * c.d.To * c.d.B;
    c.x = alloc(nx), c.w = alloc(nw), c.b = alloc(c.d.cout), c.y = alloc(ny), c.cols = alloc(ncols);
    c.r = alloc(ny);
    float *dx = alloc(nx), *dw = alloc(nw), *db = alloc(c.d.cout), *dcols = alloc(ncols);
    fill(c.x, nx, 1, 1), fill(c.w, nw, 2, 0.5f), fill(c.b, c.d.cout, 3, 0.5f), fill(c.r, ny, 4, 1);
    conv_loss(&c);
    nn_conv1d_backward(dx, dw, db, dcols, c.r, c.cols, c.w, &c.d);
    char name[64];
    snprintf(name, sizeof name, "conv1d K=%zu P=%zu dx", K, P);
    fd_check(name, c.x, dx, nx, conv_loss, NULL, &c, 1e-2, 1e-3, 400);
    snprintf(name, sizeof name, "conv1d K=%zu P=%zu dW", K, P);
    fd_check(name, c.w, dw, nw, conv_loss, NULL, &c, 1e-2, 1e-3, 400);
    snprintf(name, sizeof name, "conv1d K=%zu P=%zu db", K, P);
    fd_check(name, c.b, db, c.d.cout, conv_loss, NULL, &c, 1e-2, 1e-3, 400);
    /* accumulation: a second backward adds the same gradient again */
    float w0 = dw[0];
    nn_conv1d_backward(NULL, dw, db, dcols, c.r, c.cols, c.w, &c.d);
    if (fabsf(dw[0] - 2 * w0) > 1e-5f * (1 + fabsf(w0))) {
        printf("conv1d backward does not accumulate into dW: FAIL\n");
        failures++;
    }
    free(c.x), free(c.w), free(c.b), free(c.y), free(c.cols), free(c.r);
    free(dx), free(dw), free(db), free(dcols);
}

/* ---------------------------------------------------------------- conv2d */

struct conv2d_ctx {
    struct nn_conv2d_dims d;
    float *x, *w, *b, *y, *cols, *r;
};

static double conv2d_loss(void *p)
{
    struct conv2d_ctx *c = p;
    nn_conv2d_forward(c->y, c->cols, c->x, c->w, c->b, &c->d);
    return dot(c->r, c->y, c->d.cout * c->d.Ho * c->d.Wo * c->d.B);
}

/* Input H x W (odd and even sizes, smaller than the kernel when H = 2), kernel K, stride S,
 * padding K/2 as conv2d:OUT:KxK:sS. */
static void test_conv2d(size_t H, size_t W, size_t K, size_t S)
{
    struct conv2d_ctx c;
    size_t P = K / 2;
    c.d = (struct nn_conv2d_dims){
        2, 3, 4, H, W, K, S, P, (H + 2 * P - K) / S + 1, (W + 2 * P - K) / S + 1};
    size_t nx = c.d.cin * H * W * c.d.B, nw = c.d.cout * c.d.cin * K * K,
           ny = c.d.cout * c.d.Ho * c.d.Wo * c.d.B,
           ncols = c.d.cin * K * K * c.d.Ho * c.d.Wo * c.d.B;
    c.x = alloc(nx), c.w = alloc(nw), c.b = alloc(c.d.cout), c.y = alloc(ny), c.cols = alloc(ncols);
    c.r = alloc(ny);
    float *dx = alloc(nx), *dw = alloc(nw), *db = alloc(c.d.cout), *dcols = alloc(ncols);
    fill(c.x, nx, 51, 1), fill(c.w, nw, 52, 0.5f), fill(c.b, c.d.cout, 53, 0.5f),
        fill(c.r, ny, 54, 1);
    conv2d_loss(&c);
    nn_conv2d_backward(dx, dw, db, dcols, c.r, c.cols, c.w, &c.d);
    char name[64];
    snprintf(name, sizeof name, "conv2d %zux%zu K=%zu S=%zu dx", H, W, K, S);
    fd_check(name, c.x, dx, nx, conv2d_loss, NULL, &c, 1e-2, 1e-3, 400);
    snprintf(name, sizeof name, "conv2d %zux%zu K=%zu S=%zu dW", H, W, K, S);
    fd_check(name, c.w, dw, nw, conv2d_loss, NULL, &c, 1e-2, 1e-3, 400);
    snprintf(name, sizeof name, "conv2d %zux%zu K=%zu S=%zu db", H, W, K, S);
    fd_check(name, c.b, db, c.d.cout, conv2d_loss, NULL, &c, 1e-2, 1e-3, 400);
    /* an independent value: output (co 1, oh 0, ow Wo-1, b 1) summed directly, zero padding */
    size_t co = 1, ow = c.d.Wo - 1, bb = 1;
    double v = c.b[co];
    for (size_t ci = 0; ci < c.d.cin; ci++)
        for (size_t kh = 0; kh < K; kh++)
            for (size_t kw = 0; kw < K; kw++) {
                long ih = (long)kh - (long)P, iw = (long)(ow * S + kw) - (long)P;
                if (ih < 0 || ih >= (long)H || iw < 0 || iw >= (long)W) continue;
                v += (double)c.w[((co * c.d.cin + ci) * K + kh) * K + kw] *
                     c.x[((ci * H + (size_t)ih) * W + (size_t)iw) * c.d.B + bb];
            }
    float got = c.y[((co * c.d.Ho) * c.d.Wo + ow) * c.d.B + bb];
    int ok = fabs(got - v) <= 1e-5 * (1 + fabs(v));
    printf("%-34s %.6f vs %.6f %s\n", "conv2d corner output, direct sum", got, v,
           ok ? "ok" : "FAIL");
    if (!ok) failures++;
    free(c.x), free(c.w), free(c.b), free(c.y), free(c.cols), free(c.r);
    free(dx), free(dw), free(db), free(dcols);
}

/* ---------------------------------------------------------------- relu, maxpool */

struct ew_ctx {
    size_t C, T, B, K;
    float *x, *y, *r;
};

static double relu_loss(void *p)
{
    struct ew_ctx *c = p;
    nn_relu_forward(c->y, c->x, c->C * c->T * c->B);
    return dot(c->r, c->y, c->C * c->T * c->B);
}

static int relu_skip(void *p, size_t i, double h)
{
    struct ew_ctx *c = p;
    return fabs(c->x[i]) < 2 * h;
}

static void test_relu(void)
{
    struct ew_ctx c = {4, 10, 3, 1, NULL, NULL, NULL};
    size_t n = c.C * c.T * c.B;
    c.x = alloc(n), c.y = alloc(n), c.r = alloc(n);
    float *dx = alloc(n);
    fill(c.x, n, 5, 1), fill(c.r, n, 6, 1);
    relu_loss(&c);
    nn_relu_backward(dx, c.r, c.y, n);
    fd_check("relu dx", c.x, dx, n, relu_loss, relu_skip, &c, 1e-2, 1e-3, 1000);
    free(c.x), free(c.y), free(c.r), free(dx);
}

static double pool_loss(void *p)
{
    struct ew_ctx *c = p;
    nn_maxpool_forward(c->y, c->x, c->C, c->T, c->B, c->K);
    return dot(c->r, c->y, c->C * (c->T / c->K) * c->B);
}

/* non-smooth: the window of x[i] has its two largest values within 2h */
static int pool_skip(void *p, size_t i, double h)
{
    struct ew_ctx *c = p;
    size_t b = i % c->B, t = (i / c->B) % c->T, ch = i / (c->B * c->T);
    size_t w = t / c->K;
    if (w >= c->T / c->K) return 0; /* beyond the last window: gradient 0, smooth */
    float m1 = -INFINITY, m2 = -INFINITY;
    for (size_t k = 0; k < c->K; k++) {
        float v = c->x[(ch * c->T + w * c->K + k) * c->B + b];
        if (v > m1) {
            m2 = m1;
            m1 = v;
        } else if (v > m2) {
            m2 = v;
        }
    }
    return m1 - m2 < 2 * h;
}

static void test_maxpool(size_t K)
{
    struct ew_ctx c = {3, 11, 2, K, NULL, NULL, NULL};
    size_t n = c.C * c.T * c.B, no = c.C * (c.T / K) * c.B;
    c.x = alloc(n), c.y = alloc(no), c.r = alloc(no);
    float *dx = alloc(n);
    fill(c.x, n, 7, 1), fill(c.r, no, 8, 1);
    pool_loss(&c);
    nn_maxpool_backward(dx, c.r, c.x, c.y, c.C, c.T, c.B, K);
    char name[64];
    snprintf(name, sizeof name, "maxpool K=%zu dx", K);
    fd_check(name, c.x, dx, n, pool_loss, pool_skip, &c, 1e-2, 1e-3, 1000);
    /* ties: the gradient goes to the first maximum only */
    float tx[4] = {2, 2, 1, 1}, ty[2], tdx[4], tdy[2] = {1, 1};
    nn_maxpool_forward(ty, tx, 1, 4, 1, 2);
    nn_maxpool_backward(tdx, tdy, tx, ty, 1, 4, 1, 2);
    int ok = ty[0] == 2 && ty[1] == 1 && tdx[0] == 1 && tdx[1] == 0 && tdx[2] == 1 && tdx[3] == 0;
    /* and with three per window: {1, 3, 3} -> the middle one, {4, 4, 4} -> the first */
    float ux[6] = {1, 3, 3, 4, 4, 4}, uy[2], udx[6], udy[2] = {1, 1};
    nn_maxpool_forward(uy, ux, 1, 6, 1, 3);
    nn_maxpool_backward(udx, udy, ux, uy, 1, 6, 1, 3);
    static const float want[6] = {0, 1, 0, 1, 0, 0};
    ok = ok && uy[0] == 3 && uy[1] == 4;
    for (int i = 0; i < 6; i++) ok = ok && udx[i] == want[i];
    printf("%-34s %s\n", "maxpool ties -> first max", ok ? "ok" : "FAIL");
    if (!ok) failures++;
    free(c.x), free(c.y), free(c.r), free(dx);
}

/* ---------------------------------------------------------------- maxpool2d, gap */

struct pool2d_ctx {
    size_t C, H, W, B, K;
    float *x, *y, *r;
};

static double pool2d_loss(void *p)
{
    struct pool2d_ctx *c = p;
    nn_maxpool2d_forward(c->y, c->x, c->C, c->H, c->W, c->B, c->K);
    return dot(c->r, c->y, c->C * (c->H / c->K) * (c->W / c->K) * c->B);
}

/* non-smooth: the window of x[i] has its two largest values within 2h */
static int pool2d_skip(void *p, size_t i, double h)
{
    struct pool2d_ctx *c = p;
    size_t b = i % c->B, w = (i / c->B) % c->W, hh = (i / (c->B * c->W)) % c->H;
    size_t ch = i / (c->B * c->W * c->H), oh = hh / c->K, ow = w / c->K;
    if (oh >= c->H / c->K || ow >= c->W / c->K) return 0; /* outside every window */
    float m1 = -INFINITY, m2 = -INFINITY;
    for (size_t kh = 0; kh < c->K; kh++)
        for (size_t kw = 0; kw < c->K; kw++) {
            float v = c->x[((ch * c->H + oh * c->K + kh) * c->W + ow * c->K + kw) * c->B + b];
            if (v > m1) {
                m2 = m1;
                m1 = v;
            } else if (v > m2) {
                m2 = v;
            }
        }
    return m1 - m2 < 2 * h;
}

/* B = 70: the backward pass works through the samples in chunks of 64 */
static void test_maxpool2d(size_t K, size_t B)
{
    struct pool2d_ctx c = {3, 7, 11, B, K, NULL, NULL, NULL};
    size_t n = c.C * c.H * c.W * c.B, no = c.C * (c.H / K) * (c.W / K) * c.B;
    c.x = alloc(n), c.y = alloc(no), c.r = alloc(no);
    float *dx = alloc(n);
    fill(c.x, n, 61, 1), fill(c.r, no, 62, 1);
    pool2d_loss(&c);
    nn_maxpool2d_backward(dx, c.r, c.x, c.y, c.C, c.H, c.W, c.B, K);
    char name[64];
    snprintf(name, sizeof name, "maxpool2d K=%zu B=%zu dx", K, B);
    fd_check(name, c.x, dx, n, pool2d_loss, pool2d_skip, &c, 1e-2, 1e-3, 1000);
    /* ties, one 4 x 4 map, 2 x 2 windows, B = 2: the gradient goes to the first maximum in
     * row-major order (PyTorch); sample 1 is sample 0 negated */
    static const float t0[16] = {1, 3, 2, 2, 3, 0, 2, 2, 5, 5, 0, 7, 5, 5, 7, 7};
    static const float want0[16] = {0, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0};
    float tx[32], ty[8], tdx[32], tdy[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    for (int i = 0; i < 16; i++) tx[2 * i] = t0[i], tx[2 * i + 1] = -t0[i];
    nn_maxpool2d_forward(ty, tx, 1, 4, 4, 2, 2);
    nn_maxpool2d_backward(tdx, tdy, tx, ty, 1, 4, 4, 2, 2);
    /* sample 1: -t0 has maxima -0 (at (1,1)), -2 (first of four), -5, -0 (at (2,2)) */
    static const float want1[16] = {0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0};
    int ok = ty[0] == 3 && ty[2] == 2 && ty[4] == 5 && ty[6] == 7 && ty[1] == 0 && ty[3] == -2 &&
             ty[5] == -5 && ty[7] == 0;
    for (int i = 0; i < 16; i++) ok = ok && tdx[2 * i] == want0[i] && tdx[2 * i + 1] == want1[i];
    printf("%-34s %s\n", "maxpool2d ties -> first max", ok ? "ok" : "FAIL");
    if (!ok) failures++;
    free(c.x), free(c.y), free(c.r), free(dx);
}

struct gap_ctx {
    size_t C, P, B;
    float *x, *y, *r;
};

static double gap_loss(void *p)
{
    struct gap_ctx *c = p;
    nn_gap_forward(c->y, c->x, c->C, c->P, c->B);
    return dot(c->r, c->y, c->C * c->B);
}

static void test_gap(void)
{
    struct gap_ctx c = {5, 7 * 3, 70, NULL, NULL, NULL}; /* B = 70: two chunks of samples */
    size_t n = c.C * c.P * c.B;
    c.x = alloc(n), c.y = alloc(c.C * c.B), c.r = alloc(c.C * c.B);
    float *dx = alloc(n);
    fill(c.x, n, 71, 1), fill(c.r, c.C * c.B, 72, 1);
    gap_loss(&c);
    nn_gap_backward(dx, c.r, c.C, c.P, c.B);
    fd_check("gap dx", c.x, dx, n, gap_loss, NULL, &c, 1e-2, 1e-3, 400);
    double v = 0; /* an independent value: channel 3 of sample 69 */
    for (size_t p = 0; p < c.P; p++) v += c.x[(3 * c.P + p) * c.B + 69];
    v /= (double)c.P;
    int ok = fabs(c.y[69 * c.C + 3] - v) <= 1e-6;
    printf("%-34s %.6f vs %.6f %s\n", "gap value, direct mean", c.y[69 * c.C + 3], v,
           ok ? "ok" : "FAIL");
    if (!ok) failures++;
    free(c.x), free(c.y), free(c.r), free(dx);
}

/* ---------------------------------------------------------------- lstm */

struct lstm_ctx {
    struct nn_lstm_dims d;
    float *x, *wih, *whh, *bih, *bhh, *out, *gates, *cs, *tcs, *hs, *wpack, *r;
};

static double lstm_loss(void *p)
{
    struct lstm_ctx *c = p;
    nn_lstm_forward(c->out, c->gates, c->cs, c->tcs, c->hs, c->wpack, c->x, c->wih, c->whh, c->bih,
                    c->bhh, &c->d);
    return dot(c->r, c->out, c->d.B * c->d.H);
}

static void test_lstm(int mean)
{
    struct lstm_ctx c;
    c.d = (struct nn_lstm_dims){3, 6, 4, 5, mean};
    size_t B = c.d.B, T = c.d.T, in = c.d.in, H = c.d.H, G = 4 * H;
    c.x = alloc(in * T * B), c.wih = alloc(G * in), c.whh = alloc(G * H), c.bih = alloc(G);
    c.bhh = alloc(G), c.out = alloc(B * H), c.gates = alloc(T * B * G), c.cs = alloc(T * B * H);
    c.tcs = alloc(T * B * H), c.hs = alloc((T + 1) * B * H), c.r = alloc(B * H);
    c.wpack = alloc(nn_lstm_pack_size(&c.d));
    float *dx = alloc(in * T * B), *dwih = alloc(G * in), *dwhh = alloc(G * H), *dbih = alloc(G);
    float *dbhh = alloc(G), *scratch = alloc(nn_lstm_scratch(&c.d));
    fill(c.x, in * T * B, 11, 1), fill(c.wih, G * in, 12, 0.6f), fill(c.whh, G * H, 13, 0.6f);
    fill(c.bih, G, 14, 0.5f), fill(c.bhh, G, 15, 0.5f), fill(c.r, B * H, 16, 1);
    lstm_loss(&c);
    nn_lstm_backward(dx, dwih, dwhh, dbih, dbhh, scratch, c.r, c.x, c.gates, c.cs, c.tcs, c.hs,
                     c.wih, c.whh, &c.d);
    const char *v = mean ? "lstm mean" : "lstm last";
    char name[64];
    snprintf(name, sizeof name, "%s dx", v);
    fd_check(name, c.x, dx, in * T * B, lstm_loss, NULL, &c, 1e-2, 5e-3, 400);
    snprintf(name, sizeof name, "%s dW_ih", v);
    fd_check(name, c.wih, dwih, G * in, lstm_loss, NULL, &c, 1e-2, 5e-3, 400);
    snprintf(name, sizeof name, "%s dW_hh", v);
    fd_check(name, c.whh, dwhh, G * H, lstm_loss, NULL, &c, 1e-2, 5e-3, 400);
    snprintf(name, sizeof name, "%s db_ih", v);
    fd_check(name, c.bih, dbih, G, lstm_loss, NULL, &c, 1e-2, 5e-3, 400);
    snprintf(name, sizeof name, "%s db_hh", v);
    fd_check(name, c.bhh, dbhh, G, lstm_loss, NULL, &c, 1e-2, 5e-3, 400);
    free(c.x), free(c.wih), free(c.whh), free(c.bih), free(c.bhh), free(c.out), free(c.gates);
    free(c.cs), free(c.tcs), free(c.hs), free(c.wpack), free(c.r);
    free(dx), free(dwih), free(dwhh), free(dbih), free(dbhh), free(scratch);
}

/* ---------------------------------------------------------------- dropout, dense, flatten */

struct lin_ctx {
    size_t B, in, out, C, T;
    float *x, *w, *b, *y, *r, *mask;
    int kind; /* 0 dense, 1 dropout, 2 flatten */
};

static double lin_loss(void *p)
{
    struct lin_ctx *c = p;
    size_t ny;
    if (c->kind == 0) {
        nn_dense_forward(c->y, c->x, c->w, c->b, c->B, c->in, c->out);
        ny = c->B * c->out;
    } else if (c->kind == 1) {
        nn_dropout_forward(c->y, c->x, c->mask, c->B * c->in);
        ny = c->B * c->in;
    } else {
        nn_flatten_forward(c->y, c->x, c->C, c->T, c->B);
        ny = c->B * c->C * c->T;
    }
    return dot(c->r, c->y, ny);
}

static void test_linear(void)
{
    struct lin_ctx c = {4, 6, 5, 3, 2, NULL, NULL, NULL, NULL, NULL, NULL, 0};
    size_t n = c.B * c.in;
    c.x = alloc(n), c.w = alloc(c.out * c.in), c.b = alloc(c.out), c.y = alloc(n + c.B * c.out);
    c.r = alloc(n + c.B * c.out), c.mask = alloc(n);
    float *dx = alloc(n), *dw = alloc(c.out * c.in), *db = alloc(c.out);
    fill(c.x, n, 21, 1), fill(c.w, c.out * c.in, 22, 0.5f), fill(c.b, c.out, 23, 0.5f);
    fill(c.r, n + c.B * c.out, 24, 1);
    lin_loss(&c);
    nn_dense_backward(dx, dw, db, c.r, c.x, c.w, c.B, c.in, c.out);
    fd_check("dense dx", c.x, dx, n, lin_loss, NULL, &c, 1e-2, 1e-3, 400);
    fd_check("dense dW", c.w, dw, c.out * c.in, lin_loss, NULL, &c, 1e-2, 1e-3, 400);
    fd_check("dense db", c.b, db, c.out, lin_loss, NULL, &c, 1e-2, 1e-3, 400);

    c.kind = 1; /* dropout with a fixed mask, p = 0.5 */
    nn_dropout_mask(c.mask, c.B, c.in, c.in, 1, 0.5, 1, 2, NULL, 3);
    nn_dropout_backward(dx, c.r, c.mask, n);
    fd_check("dropout (fixed mask) dx", c.x, dx, n, lin_loss, NULL, &c, 1e-2, 1e-3, 400);

    c.kind = 2; /* flatten [C][T][B] -> [B][C*T] with C*T = in */
    nn_flatten_backward(dx, c.r, c.C, c.T, c.B);
    fd_check("flatten dx", c.x, dx, n, lin_loss, NULL, &c, 1e-2, 1e-3, 400);
    free(c.x), free(c.w), free(c.b), free(c.y), free(c.r), free(c.mask), free(dx), free(dw),
        free(db);
}

/* ---------------------------------------------------------------- batchnorm */

struct bn_ctx {
    struct nn_bn_dims d;
    size_t ntot;
    float *x, *g, *b, *y, *xh, *inv, *r, *rm, *rv;
    int train;
};

static double bn_loss(void *p)
{
    struct bn_ctx *c = p;
    nn_batchnorm_forward(c->y, c->xh, c->inv, c->x, c->g, c->b, c->train ? NULL : c->rm,
                         c->train ? NULL : c->rv, NULL, NULL, &c->d);
    return dot(c->r, c->y, c->ntot);
}

/* Batchnorm over C channels of n elements each (seq: [C][P][B] with P*B = n; else a vector
 * [B][C] with B = n), training (batch statistics) and inference (running statistics);
 * h = 1e-2, tol 1e-3 (smooth). The statistics it adds are checked against a direct double
 * computation (mean, unbiased variance). */
static void test_batchnorm(int seq, int train)
{
    size_t C = 4, n = seq ? 3 * 5 : 6;
    struct bn_ctx c = {.train = train};
    c.d = seq ? (struct nn_bn_dims){C, n, 1, n} : (struct nn_bn_dims){C, 1, C, n};
    c.ntot = C * n;
    c.x = alloc(c.ntot), c.y = alloc(c.ntot), c.xh = alloc(c.ntot), c.r = alloc(c.ntot);
    c.g = alloc(C), c.b = alloc(C), c.inv = alloc(C), c.rm = alloc(C), c.rv = alloc(C);
    float *dx = alloc(c.ntot), *dg = alloc(C), *db = alloc(C), *mean = alloc(C), *var = alloc(C);
    fill(c.x, c.ntot, 51 + (uint64_t)seq, 2), fill(c.g, C, 52, 1.5f), fill(c.b, C, 53, 1);
    fill(c.r, c.ntot, 54, 1), fill(c.rm, C, 55, 1);
    for (size_t i = 0; i < C; i++) c.rv[i] = 0.5f + (float)i;
    bn_loss(&c);
    nn_batchnorm_backward(dx, dg, db, c.r, c.xh, c.inv, c.g, train, &c.d);
    char what[64];
    const char *mode = train ? "train" : "eval", *lay = seq ? "seq" : "vec";
    snprintf(what, sizeof what, "batchnorm %s %s dx", lay, mode);
    fd_check(what, c.x, dx, c.ntot, bn_loss, NULL, &c, 1e-2, 1e-3, 400);
    snprintf(what, sizeof what, "batchnorm %s %s dgamma", lay, mode);
    fd_check(what, c.g, dg, C, bn_loss, NULL, &c, 1e-2, 1e-3, 400);
    snprintf(what, sizeof what, "batchnorm %s %s dbeta", lay, mode);
    fd_check(what, c.b, db, C, bn_loss, NULL, &c, 1e-2, 1e-3, 400);
    if (train) {
        nn_batchnorm_forward(c.y, c.xh, c.inv, c.x, c.g, c.b, NULL, NULL, mean, var, &c.d);
        double worst = 0;
        for (size_t ch = 0; ch < C; ch++) {
            double s = 0, s2 = 0;
            for (size_t i = 0; i < n; i++) s += c.x[ch * c.d.cs + i * c.d.is];
            double mu = s / (double)n;
            for (size_t i = 0; i < n; i++) {
                double t = c.x[ch * c.d.cs + i * c.d.is] - mu;
                s2 += t * t;
            }
            worst = fmax(worst, fabs(mean[ch] - mu) / (1 + fabs(mu)));
            worst = fmax(worst, fabs(var[ch] - s2 / (double)(n - 1)) / (s2 / (double)(n - 1)));
        }
        int ok = worst < 1e-6;
        printf("batchnorm %s stats (unbiased var)  rel err %.2e (tol 1e-06) %s\n", lay, worst,
               ok ? "ok" : "FAIL");
        if (!ok) failures++;
    }
    free(c.x), free(c.y), free(c.xh), free(c.r), free(c.g), free(c.b), free(c.inv), free(c.rm),
        free(c.rv), free(dx), free(dg), free(db), free(mean), free(var);
}

/* ---------------------------------------------------------------- softmax cross-entropy */

struct ce_ctx {
    size_t B, K;
    float *l;
    int *y;
};

static double ce_loss(void *p)
{
    struct ce_ctx *c = p;
    return nn_softmax_xent(NULL, NULL, c->l, c->y, c->B, c->K);
}

static void test_xent(void)
{
    int y[3] = {0, 6, 3};
    struct ce_ctx c = {3, 7, alloc(21), y};
    float *dl = alloc(21), *pr = alloc(21);
    fill(c.l, 21, 31, 4);
    c.l[5] = 80.0f; /* large logit: log-sum-exp must stay finite */
    double loss = nn_softmax_xent(pr, dl, c.l, c.y, c.B, c.K);
    fd_check("softmax-CE dlogits", c.l, dl, 21, ce_loss, NULL, &c, 1e-3, 1e-4, 100);
    /* independent value: -log softmax computed directly in double for sample 1 */
    double mx = -1e300, s = 0;
    for (int k = 0; k < 7; k++) mx = fmax(mx, c.l[7 + k]);
    for (int k = 0; k < 7; k++) s += exp(c.l[7 + k] - mx);
    double l1 = -(c.l[7 + 6] - mx - log(s));
    double l0 = nn_softmax_xent(NULL, NULL, c.l + 7, y + 1, 1, 7);
    int ok = isfinite(loss) && fabs(l0 - l1) < 1e-9 * (1 + l1);
    printf("%-34s %.6f vs %.6f %s\n", "softmax-CE value", l0, l1, ok ? "ok" : "FAIL");
    if (!ok) failures++;
    free(c.l), free(dl), free(pr);
}

/* ---------------------------------------------------------------- whole model */

struct model_ctx {
    struct nn_model *m;
    const float *x;
    const int *y;
    size_t B;
    struct nn_step st;
};

static double model_loss(void *p)
{
    struct model_ctx *c = p;
    double loss = 0;
    /* gradients accumulate but are not used here */
    nn_model_train_step(c->m, c->x, c->y, c->B, &c->st, &loss, NULL);
    return loss;
}

/* non-smooth: the h and h/2 central differences disagree (a kink or tie was crossed) */
static int model_skip(void *p, size_t i, double h)
{
    struct model_ctx *c = p;
    float *v = nn_model_params(c->m);
    float v0 = v[i];
    double d[2];
    for (int k = 0; k < 2; k++) {
        double hk = h / (1 << k);
        v[i] = (float)(v0 + hk);
        double lp = model_loss(c);
        v[i] = (float)(v0 - hk);
        double lm = model_loss(c);
        d[k] = (lp - lm) / (2 * hk);
    }
    v[i] = v0;
    return fabs(d[0] - d[1]) > 0.02 * fmax(fabs(d[0]), fabs(d[1])) + 5e-4;
}

static void test_model(const char *spec, size_t C, size_t T)
{
    struct err e = {0};
    struct nn_model *m;
    const size_t B = 3;
    if (nn_model_create(&m, spec, C, T, 7, B, &e) != 0) {
        printf("model '%s': %s FAIL\n", spec, e.msg);
        failures++;
        return;
    }
    nn_model_init(m, 5);
    float *x = alloc(B * C * T);
    fill(x, B * C * T, 41, 1);
    int y[3] = {1, 6, 0};
    uint64_t ids[3] = {10, 11, 12};
    struct model_ctx c = {m, x, y, B, {.seed = 7, .epoch = 1, .sample_ids = ids, .train = 1}};
    size_t np = nn_model_nparams(m);
    float *ana = alloc(np);
    memset(nn_model_grads(m), 0, np * sizeof(float));
    double loss0 = model_loss(&c);
    memcpy(ana, nn_model_grads(m), np * sizeof(float));
    for (size_t t = 0; t < nn_model_ntensors(m); t++) {
        const struct nn_tensor *tt = nn_model_tensor(m, t);
        char name[96];
        snprintf(name, sizeof name, "model %s", tt->name);
        float *v = nn_model_params(m);
        /* conv parameters move hundreds of ReLU/max-pool inputs at once, so a step of 1e-2
         * would nearly always cross a kink somewhere: they get 1e-3 (so do batchnorm's,
         * which move a whole channel), and a conv bias, which moves every position of its
         * channel (H*W of them in a conv2d), 3e-4 (with 1e-3 a conv2d bias was 1.5e-2 off,
         * with 3e-4 6e-5); the others 1e-2 (smaller steps there drown in float32 rounding of
         * the loss) */
        int conv = strncmp(tt->name, "conv", 4) == 0, bias = strstr(tt->name, ".bias") != NULL;
        int bn = strncmp(tt->name, "bn", 2) == 0;
        double num2 = 0, err2 = 0, h = conv ? (bias ? 3e-4 : 1e-3) : bn ? 1e-3 : 1e-2;
        size_t step = tt->size > 60 ? tt->size / 60 : 1, checked = 0, skipped = 0;
        for (size_t j = 0; j < tt->size; j += step) {
            size_t i = tt->offset + j;
            if (model_skip(&c, i, h)) {
                skipped++;
                continue;
            }
            float v0 = v[i];
            v[i] = (float)(v0 + h);
            double lp = model_loss(&c);
            v[i] = (float)(v0 - h);
            double lm = model_loss(&c);
            v[i] = v0;
            double num = (lp - lm) / (2 * h);
            num2 += num * num;
            err2 += (num - ana[i]) * (num - ana[i]);
            checked++;
        }
        double rel = sqrt(err2) / fmax(sqrt(num2), 1e-6);
        /* A gradient that is truly ~0 (a bias before batchnorm: the mean removes it) cannot
         * be resolved by the differences: accept an error within their rounding noise,
         * 4 ulp of the float32 loss over 2h per element. */
        double noise = sqrt((double)checked) * 4.0 * FLT_EPSILON * fabs(loss0) / (2 * h);
        int floor_ok = sqrt(err2) <= noise;
        int ok = (rel <= 1e-2 || floor_ok) && checked > 0 && skipped * 4 <= checked;
        printf("%-34s rel err %.2e (tol 1e-02, %zu checked, %zu skipped)%s %s\n", name, rel,
               checked, skipped, rel > 1e-2 && floor_ok ? " ~0, at the noise floor" : "",
               ok ? "ok" : "FAIL");
        if (!ok) failures++;
    }
    free(x), free(ana);
    nn_model_free(m);
}

int main(void)
{
    test_conv(5, 2);
    test_conv(4, 2);
    test_conv(3, 0);
    test_relu();
    test_maxpool(2);
    test_maxpool(3);
    test_conv2d(7, 9, 3, 1);
    test_conv2d(7, 9, 3, 2);
    test_conv2d(8, 6, 5, 2);
    test_conv2d(2, 5, 5, 3); /* the kernel is larger than the map */
    test_conv2d(4, 4, 1, 1);
    test_maxpool2d(2, 2);
    test_maxpool2d(3, 70);
    test_gap();
    test_lstm(0);
    test_lstm(1);
    test_linear();
    test_xent();
    for (int seq = 0; seq < 2; seq++)
        for (int train = 0; train < 2; train++) test_batchnorm(seq, train);
    printf("-- whole models (C=6, T=20, B=3)\n");
    test_model("conv1d:8:5 relu maxpool:2 conv1d:8:5 relu maxpool:2 lstm:8 dropout:0.3 dense:6 "
               "relu dense:7",
               6, 20);
    test_model("conv1d:5:3 relu maxpool:2 lstm:6:mean dropout:0.5 dense:7", 6, 20);
    test_model("conv1d:4:4:1 relu maxpool:3 dropout:0.2 flatten dense:7", 6, 20);
    /* a sequence as a map of 1 channel; stride 2; gap of a map */
    test_model("conv2d:4:3x3 relu maxpool2d:2x2 conv2d:5:3x3:s2 relu gap dense:7", 6, 20);
    /* a sequence to a map and back */
    test_model("reshape:2 conv2d:3:3x3 relu maxpool2d:2x2 reshape lstm:5 dense:7", 6, 20);
    /* dropout and flatten of a map, gap of a sequence */
    test_model("conv2d:3:5x5:s2 relu dropout:0.3 flatten dense:7", 6, 20);
    test_model("conv1d:5:3 relu gap dense:7", 6, 20);
    /* batchnorm in training mode, on a sequence and on a vector (batch statistics) */
    test_model("conv1d:6:3 batchnorm relu maxpool:2 lstm:6 dense:6 batchnorm relu dense:7", 6, 20);
    test_model("batchnorm conv1d:5:3 batchnorm relu maxpool:2 flatten dense:7", 6, 20);
    printf("%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
