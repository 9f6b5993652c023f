/* layers.c: forward/backward kernels (see layers.h for layouts and contracts).
 *
 * Reference: PyTorch's Conv1d, ReLU, MaxPool1d, LSTM, Dropout, Linear and cross_entropy;
 * the LSTM follows torch.nn.LSTM's equations with gates i, f, g, o:
 *   [i f g o] = [sig sig tanh sig](W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
 *   c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)
 * Matrix products go through nn_gemm; the LSTM does its input projection for all time steps
 * in one GEMM, one small GEMM per step for the recurrence, and accumulates dW_hh, dW_ih and
 * dx each with one GEMM over all steps after the backward sweep.
 */
#include "nn/layers.h"

#include <math.h>
#include <string.h>

#include "nn/gemm.h"
#include "nn/rng.h"
#include "nn/simd.h"

/* ---------------------------------------------------------------- elementwise helpers */

/* exp(x) for the gate nonlinearities, inline so that gcc vectorises the gate loops (libm's
 * expf/tanhf calls were ~6% of a training step in perf; the clamps that keep 2^n in range
 * are if-converted only with -fno-trapping-math, set for this file in nn/CMakeLists.txt).
 * Cody-Waite reduction
 * x = n ln2 + r, |r| <= ln2/2, a degree-6 Taylor polynomial for exp(r) (error < 2e-7
 * relative), 2^n put into the exponent bits. The rounding constant 1.5*2^23 gives
 * round-to-nearest without a libm call. Inputs are clamped to [-87, 88] (no overflow). */
static inline float vexpf(float x)
{
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693359375f + n * 2.12194440e-4f;
    float p =
        1.0f +
        r * (1.0f +
             r * (0.5f + r * (1.66666672e-1f +
                              r * (4.16666679e-2f + r * (8.33333377e-3f + r * 1.38888892e-3f)))));
    union {
        int32_t i;
        float f;
    } u;
    u.i = ((int32_t)n + 127) << 23;
    return p * u.f;
}

static inline float sigmoidf(float x)
{
    return 1.0f / (1.0f + vexpf(-x));
}

/* tanh(x) = 1 - 2 / (exp(2x) + 1): absolute error ~1e-7 (relative error grows only for
 * |x| < 1e-4, where tanh's absolute value is below that). */
static inline float vtanhf(float x)
{
    return 1.0f - 2.0f / (vexpf(2.0f * x) + 1.0f);
}

/* Sum of n floats: 16 float partial sums (vectorised by gcc without reassociation flags),
 * combined in double. */
static float row_sum(const float *x, size_t n)
{
    float acc[16] = {0};
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        for (size_t k = 0; k < 16; k++) acc[k] += x[i + k];
    double s = 0;
    for (size_t k = 0; k < 16; k++) s += acc[k];
    for (; i < n; i++) s += x[i];
    return (float)s;
}

/* a += r and b += r, elementwise over n */
static void add_row(float *restrict a, float *restrict b, const float *restrict r, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        a[j] += r[j];
        b[j] += r[j];
    }
}

/* ---------------------------------------------------------------- conv1d */

NN_SIMD void nn_conv1d_forward(float *y, float *cols, const float *x, const float *w,
                               const float *b, const struct nn_conv_dims *d)
{
    const size_t B = d->B, T = d->T, To = d->To, ToB = To * B, CK = d->cin * d->K;
    for (size_t ci = 0; ci < d->cin; ci++) {
        const float *xr = x + ci * T * B; /* [T][B] */
        for (size_t k = 0; k < d->K; k++) {
            float *row = cols + (ci * d->K + k) * ToB; /* [To][B] */
            /* output step t reads input step t + k - P when it lies inside [0, T) */
            long s = (long)k - (long)d->P;
            long t0 = s < 0 ? -s : 0, t1 = (long)T - s;
            if (t0 > (long)To) t0 = (long)To; /* padding longer than the output */
            if (t1 > (long)To) t1 = (long)To;
            if (t1 < t0) t1 = t0;
            memset(row, 0, (size_t)t0 * B * sizeof *row);
            if (t1 > t0)
                memcpy(row + (size_t)t0 * B, xr + (size_t)(t0 + s) * B,
                       (size_t)(t1 - t0) * B * sizeof *row);
            memset(row + (size_t)t1 * B, 0, (To - (size_t)t1) * B * sizeof *row);
        }
    }
    for (size_t co = 0; co < d->cout; co++) {
        float *yr = y + co * ToB;
        for (size_t i = 0; i < ToB; i++) yr[i] = b[co];
    }
    /* y [Cout][To*B] += W [Cout][Cin*K] x cols [Cin*K][To*B] */
    nn_gemm(0, 0, d->cout, ToB, CK, 1.0f, w, CK, cols, ToB, 1.0f, y, ToB);
}

NN_SIMD void nn_conv1d_backward(float *dx, float *dw, float *db, float *dcols, const float *dy,
                                const float *cols, const float *w, const struct nn_conv_dims *d)
{
    const size_t B = d->B, T = d->T, To = d->To, ToB = To * B, CK = d->cin * d->K;
    for (size_t co = 0; co < d->cout; co++) db[co] += row_sum(dy + co * ToB, ToB);
    /* dW [Cout][Cin*K] += dy [Cout][To*B] x cols^T */
    nn_gemm(0, 1, d->cout, CK, ToB, 1.0f, dy, ToB, cols, ToB, 1.0f, dw, CK);
    if (!dx) return;
    /* dcols [Cin*K][To*B] = W^T x dy, then scatter-add (col2im) */
    nn_gemm(1, 0, CK, ToB, d->cout, 1.0f, w, CK, dy, ToB, 0.0f, dcols, ToB);
    memset(dx, 0, d->cin * T * B * sizeof *dx);
    for (size_t ci = 0; ci < d->cin; ci++) {
        float *xr = dx + ci * T * B;
        for (size_t k = 0; k < d->K; k++) {
            const float *row = dcols + (ci * d->K + k) * ToB;
            long s = (long)k - (long)d->P;
            long t0 = s < 0 ? -s : 0, t1 = (long)T - s;
            if (t1 > (long)To) t1 = (long)To;
            if (t1 <= t0) continue;
            float *dst = xr + (size_t)(t0 + s) * B;
            const float *src = row + (size_t)t0 * B;
            size_t n = (size_t)(t1 - t0) * B;
            for (size_t i = 0; i < n; i++) dst[i] += src[i];
        }
    }
}

/* ---------------------------------------------------------------- conv2d */

/* The outputs o in [*o0, *o1) of one kernel offset read input o*S + off inside [0, n) (off =
 * kernel index - padding); the others read the zero padding. */
static void conv2d_span(size_t n, size_t no, size_t S, long off, size_t *o0, size_t *o1)
{
    long a = off < 0 ? (-off + (long)S - 1) / (long)S : 0; /* first o with o*S + off >= 0 */
    long b = (long)n - off <= 0 ? 0 : ((long)n - off - 1) / (long)S + 1; /* first past n */
    if (b > (long)no) b = (long)no;
    if (a > b) a = b;
    *o0 = (size_t)a;
    *o1 = (size_t)b;
}

NN_SIMD void nn_conv2d_forward(float *y, float *cols, const float *x, const float *w,
                               const float *b, const struct nn_conv2d_dims *d)
{
    const size_t B = d->B, H = d->H, W = d->W, K = d->K, S = d->S, Ho = d->Ho, Wo = d->Wo;
    const size_t WoB = Wo * B, N = Ho * WoB, CKK = d->cin * K * K;
    for (size_t ci = 0; ci < d->cin; ci++)
        for (size_t kh = 0; kh < K; kh++)
            for (size_t kw = 0; kw < K; kw++) {
                float *row = cols + ((ci * K + kh) * K + kw) * N; /* [Ho][Wo][B] */
                const long oh_off = (long)kh - (long)d->P, ow_off = (long)kw - (long)d->P;
                size_t oh0, oh1, ow0, ow1;
                conv2d_span(H, Ho, S, oh_off, &oh0, &oh1);
                conv2d_span(W, Wo, S, ow_off, &ow0, &ow1);
                memset(row, 0, oh0 * WoB * sizeof *row);
                memset(row + oh1 * WoB, 0, (Ho - oh1) * WoB * sizeof *row);
                for (size_t oh = oh0; oh < oh1; oh++) {
                    float *dst = row + oh * WoB;
                    const float *src = x + (ci * H + (size_t)((long)(oh * S) + oh_off)) * W * B;
                    memset(dst, 0, ow0 * B * sizeof *dst);
                    memset(dst + ow1 * B, 0, (Wo - ow1) * B * sizeof *dst);
                    if (S == 1 && ow1 > ow0)
                        memcpy(dst + ow0 * B, src + (size_t)((long)ow0 + ow_off) * B,
                               (ow1 - ow0) * B * sizeof *dst);
                    else
                        for (size_t ow = ow0; ow < ow1; ow++)
                            memcpy(dst + ow * B, src + (size_t)((long)(ow * S) + ow_off) * B,
                                   B * sizeof *dst);
                }
            }
    for (size_t co = 0; co < d->cout; co++) {
        float *yr = y + co * N;
        for (size_t i = 0; i < N; i++) yr[i] = b[co];
    }
    /* y [Cout][Ho*Wo*B] += W [Cout][Cin*K*K] x cols [Cin*K*K][Ho*Wo*B] */
    nn_gemm(0, 0, d->cout, N, CKK, 1.0f, w, CKK, cols, N, 1.0f, y, N);
}

NN_SIMD void nn_conv2d_backward(float *dx, float *dw, float *db, float *dcols, const float *dy,
                                const float *cols, const float *w, const struct nn_conv2d_dims *d)
{
    const size_t B = d->B, H = d->H, W = d->W, K = d->K, S = d->S, Ho = d->Ho, Wo = d->Wo;
    const size_t WoB = Wo * B, N = Ho * WoB, CKK = d->cin * K * K;
    for (size_t co = 0; co < d->cout; co++) db[co] += row_sum(dy + co * N, N);
    /* dW [Cout][Cin*K*K] += dy [Cout][Ho*Wo*B] x cols^T */
    nn_gemm(0, 1, d->cout, CKK, N, 1.0f, dy, N, cols, N, 1.0f, dw, CKK);
    if (!dx) return;
    /* dcols [Cin*K*K][Ho*Wo*B] = W^T x dy, then scatter-add (col2im) */
    nn_gemm(1, 0, CKK, N, d->cout, 1.0f, w, CKK, dy, N, 0.0f, dcols, N);
    memset(dx, 0, d->cin * H * W * B * sizeof *dx);
    for (size_t ci = 0; ci < d->cin; ci++)
        for (size_t kh = 0; kh < K; kh++)
            for (size_t kw = 0; kw < K; kw++) {
                const float *row = dcols + ((ci * K + kh) * K + kw) * N;
                const long oh_off = (long)kh - (long)d->P, ow_off = (long)kw - (long)d->P;
                size_t oh0, oh1, ow0, ow1;
                conv2d_span(H, Ho, S, oh_off, &oh0, &oh1);
                conv2d_span(W, Wo, S, ow_off, &ow0, &ow1);
                for (size_t oh = oh0; oh < oh1; oh++) {
                    const float *src = row + oh * WoB;
                    float *dst = dx + (ci * H + (size_t)((long)(oh * S) + oh_off)) * W * B;
                    for (size_t ow = ow0; ow < ow1; ow++) {
                        float *dd = dst + (size_t)((long)(ow * S) + ow_off) * B;
                        const float *ss = src + ow * B;
                        for (size_t i = 0; i < B; i++) dd[i] += ss[i];
                    }
                }
            }
}

/* ---------------------------------------------------------------- relu */

/* The backward loops of relu and maxpool select with data-dependent conditions; written
 * with unconditional loads and restrict pointers, gcc turns them into vector blends. As
 * branches they mispredicted on real data and cost ~15% of a training step. */
NN_SIMD void nn_relu_forward(float *restrict y, const float *restrict x, size_t n)
{
    for (size_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

NN_SIMD void nn_relu_backward(float *restrict dx, const float *restrict dy, const float *restrict y,
                              size_t n)
{
    for (size_t i = 0; i < n; i++) {
        float g = dy[i];
        dx[i] = y[i] > 0.0f ? g : 0.0f;
    }
}

/* ---------------------------------------------------------------- maxpool1d */

NN_SIMD void nn_maxpool_forward(float *restrict y, const float *restrict x, size_t C, size_t T,
                                size_t B, size_t K)
{
    const size_t To = T / K;
    for (size_t c = 0; c < C; c++)
        for (size_t t = 0; t < To; t++) {
            const float *xw = x + (c * T + t * K) * B; /* window [K][B] */
            float *yr = y + (c * To + t) * B;
            memcpy(yr, xw, B * sizeof *yr);
            for (size_t k = 1; k < K; k++)
                for (size_t b = 0; b < B; b++) {
                    float v = xw[k * B + b];
                    yr[b] = v > yr[b] ? v : yr[b];
                }
        }
}

NN_SIMD void nn_maxpool_backward(float *restrict dx, const float *restrict dy,
                                 const float *restrict x, const float *restrict y, size_t C,
                                 size_t T, size_t B, size_t K)
{
    const size_t To = T / K;
    for (size_t c = 0; c < C; c++) {
        for (size_t t = 0; t < To; t++) {
            const float *xw = x + (c * T + t * K) * B;
            float *dxw = dx + (c * T + t * K) * B;
            const float *yr = y + (c * To + t) * B, *dyr = dy + (c * To + t) * B;
            /* every position that equals the maximum gets dy ... */
            for (size_t k = 0; k < K; k++)
                for (size_t b = 0; b < B; b++) {
                    float g = dyr[b];
                    dxw[k * B + b] = xw[k * B + b] == yr[b] ? g : 0.0f;
                }
            /* ... unless an earlier position of its window does (ties -> first) */
            for (size_t k = 1; k < K; k++)
                for (size_t j = 0; j < k; j++)
                    for (size_t b = 0; b < B; b++) {
                        float g = dxw[k * B + b];
                        dxw[k * B + b] = xw[j * B + b] == yr[b] ? 0.0f : g;
                    }
        }
        memset(dx + (c * T + To * K) * B, 0, (T - To * K) * B * sizeof *dx);
    }
}

/* ---------------------------------------------------------------- maxpool2d */

NN_SIMD void nn_maxpool2d_forward(float *restrict y, const float *restrict x, size_t C, size_t H,
                                  size_t W, size_t B, size_t K)
{
    const size_t Ho = H / K, Wo = W / K;
    for (size_t c = 0; c < C; c++)
        for (size_t oh = 0; oh < Ho; oh++)
            for (size_t ow = 0; ow < Wo; ow++) {
                const float *xw = x + ((c * H + oh * K) * W + ow * K) * B; /* window corner */
                float *yr = y + ((c * Ho + oh) * Wo + ow) * B;
                memcpy(yr, xw, B * sizeof *yr);
                for (size_t kh = 0; kh < K; kh++)
                    for (size_t kw = 0; kw < K; kw++) {
                        const float *xr = xw + (kh * W + kw) * B;
                        for (size_t b = 0; b < B; b++) yr[b] = xr[b] > yr[b] ? xr[b] : yr[b];
                    }
            }
}

NN_SIMD void nn_maxpool2d_backward(float *restrict dx, const float *restrict dy,
                                   const float *restrict x, const float *restrict y, size_t C,
                                   size_t H, size_t W, size_t B, size_t K)
{
    const size_t Ho = H / K, Wo = W / K;
    memset(dx, 0, C * H * W * B * sizeof *dx);
    float todo[64]; /* 1 while sample b of the chunk has not met its window's maximum yet */
    for (size_t c = 0; c < C; c++)
        for (size_t oh = 0; oh < Ho; oh++)
            for (size_t ow = 0; ow < Wo; ow++) {
                const size_t corner = ((c * H + oh * K) * W + ow * K) * B;
                const size_t o = ((c * Ho + oh) * Wo + ow) * B;
                for (size_t b0 = 0; b0 < B; b0 += 64) {
                    const size_t nb = B - b0 < 64 ? B - b0 : 64;
                    for (size_t b = 0; b < nb; b++) todo[b] = 1.0f;
                    for (size_t kh = 0; kh < K; kh++)
                        for (size_t kw = 0; kw < K; kw++) {
                            const size_t at = corner + (kh * W + kw) * B + b0;
                            const float *restrict xr = x + at, *restrict yr = y + o + b0;
                            const float *restrict dyr = dy + o + b0;
                            float *restrict dxr = dx + at;
                            for (size_t b = 0; b < nb; b++) {
                                float hit = xr[b] == yr[b] ? todo[b] : 0.0f;
                                dxr[b] = hit * dyr[b];
                                todo[b] -= hit;
                            }
                        }
                }
            }
}

/* ---------------------------------------------------------------- global average pooling */

NN_SIMD void nn_gap_forward(float *restrict y, const float *restrict x, size_t C, size_t P,
                            size_t B)
{
    const float inv = 1.0f / (float)P;
    for (size_t c = 0; c < C; c++) {
        float acc[64];
        for (size_t b0 = 0; b0 < B; b0 += 64) {
            const size_t nb = B - b0 < 64 ? B - b0 : 64;
            for (size_t b = 0; b < nb; b++) acc[b] = 0.0f;
            for (size_t p = 0; p < P; p++) {
                const float *xr = x + (c * P + p) * B + b0;
                for (size_t b = 0; b < nb; b++) acc[b] += xr[b];
            }
            for (size_t b = 0; b < nb; b++) y[(b0 + b) * C + c] = acc[b] * inv;
        }
    }
}

NN_SIMD void nn_gap_backward(float *restrict dx, const float *restrict dy, size_t C, size_t P,
                             size_t B)
{
    const float inv = 1.0f / (float)P;
    for (size_t c = 0; c < C; c++)
        for (size_t p = 0; p < P; p++) {
            float *dxr = dx + (c * P + p) * B;
            for (size_t b = 0; b < B; b++) dxr[b] = dy[b * C + c] * inv;
        }
}

/* ---------------------------------------------------------------- lstm */

/* One sample, one step: activates the gates g [4H] (i, f, g, o) in place and computes
 * c, tanh(c) and h [H]. restrict: the arrays never overlap, which lets gcc vectorise. */
static inline __attribute__((always_inline)) void
lstm_cell_forward(float *restrict g, const float *restrict cprev, float *restrict c,
                  float *restrict tc, float *restrict h, size_t H)
{
    float *restrict gi = g, *restrict gf = g + H, *restrict gg = g + 2 * H,
                    *restrict go = g + 3 * H;
    for (size_t j = 0; j < H; j++) {
        gi[j] = sigmoidf(gi[j]);
        gf[j] = sigmoidf(gf[j]);
        gg[j] = vtanhf(gg[j]);
        go[j] = sigmoidf(go[j]);
    }
    for (size_t j = 0; j < H; j++) {
        float cv = gi[j] * gg[j] + gf[j] * cprev[j];
        float t = vtanhf(cv);
        c[j] = cv;
        tc[j] = t;
        h[j] = go[j] * t;
    }
}

/* One sample, one step backward: gate pre-activation gradients dg [4H] from dh (through the
 * recurrence) + dout * dscale (the output's share) and dc; updates dc to dL/dc_{t-1}. */
static inline __attribute__((always_inline)) void
lstm_cell_backward(float *restrict dg, const float *restrict dh, float *restrict dc,
                   const float *restrict g, const float *restrict cprev, const float *restrict tc,
                   const float *restrict dout, float dscale, size_t H)
{
    const float *restrict gi = g, *restrict gf = g + H, *restrict gg = g + 2 * H;
    const float *restrict go = g + 3 * H;
    float *restrict di = dg, *restrict df = dg + H, *restrict dgg = dg + 2 * H;
    float *restrict dO = dg + 3 * H;
    for (size_t j = 0; j < H; j++) {
        float dhv = dh[j] + dout[j] * dscale;
        float dcv = dc[j] + dhv * go[j] * (1.0f - tc[j] * tc[j]);
        dO[j] = dhv * tc[j] * go[j] * (1.0f - go[j]);
        di[j] = dcv * gg[j] * gi[j] * (1.0f - gi[j]);
        dgg[j] = dcv * gi[j] * (1.0f - gg[j] * gg[j]);
        df[j] = dcv * cprev[j] * gf[j] * (1.0f - gf[j]);
        dc[j] = dcv * gf[j];
    }
}

size_t nn_lstm_pack_size(const struct nn_lstm_dims *d)
{
    size_t f = nn_gemm_pack_size(d->H, 4 * d->H), b = nn_gemm_pack_size(4 * d->H, d->H);
    return f > b ? f : b;
}

NN_SIMD void nn_lstm_forward(float *out, float *gates, float *cs, float *tcs, float *hs,
                             float *wpack, const float *x, const float *w_ih, const float *w_hh,
                             const float *b_ih, const float *b_hh, const struct nn_lstm_dims *d)
{
    const size_t B = d->B, T = d->T, H = d->H, G = 4 * H, TB = T * B, BH = B * H;
    /* input projection of all steps: gates [T*B][4H] = x^T [T*B][in] x W_ih^T, plus biases */
    for (size_t r = 0; r < TB; r++) {
        float *g = gates + r * G;
        for (size_t j = 0; j < G; j++) g[j] = b_ih[j] + b_hh[j];
    }
    nn_gemm(1, 1, TB, G, d->in, 1.0f, x, TB, w_ih, d->in, 1.0f, gates, G);
    struct nn_bpack whh_t; /* W_hh^T [H][4H], packed once for all steps */
    nn_gemm_pack_b(&whh_t, wpack, 1, H, G, w_hh, H);
    memset(hs, 0, BH * sizeof *hs);
    for (size_t t = 0; t < T; t++) {
        float *gt = gates + t * B * G; /* [B][4H] */
        /* h_0 = 0: the first step has no recurrent term */
        if (t > 0) nn_gemm_packed(B, hs + t * BH, H, &whh_t, 1.0f, gt, G);
        /* c_0 = 0: hs[0] is a zero block of the same size (keeps the loop branch-free) */
        const float *cprev = t > 0 ? cs + (t - 1) * BH : hs;
        float *ct = cs + t * BH, *tct = tcs + t * BH, *ht = hs + (t + 1) * BH;
        for (size_t b = 0; b < B; b++)
            lstm_cell_forward(gt + b * G, cprev + b * H, ct + b * H, tct + b * H, ht + b * H, H);
    }
    if (!d->mean) {
        memcpy(out, hs + T * BH, BH * sizeof *out);
    } else {
        const float inv = 1.0f / (float)T;
        for (size_t i = 0; i < BH; i++) {
            float s = 0.0f;
            for (size_t t = 1; t <= T; t++) s += hs[t * BH + i];
            out[i] = s * inv;
        }
    }
}

size_t nn_lstm_scratch(const struct nn_lstm_dims *d)
{
    return d->T * d->B * 4 * d->H + 2 * d->B * d->H + nn_lstm_pack_size(d);
}

NN_SIMD void nn_lstm_backward(float *dx, float *dw_ih, float *dw_hh, float *db_ih, float *db_hh,
                              float *scratch, const float *dout, const float *x, const float *gates,
                              const float *cs, const float *tcs, const float *hs, const float *w_ih,
                              const float *w_hh, const struct nn_lstm_dims *d)
{
    const size_t B = d->B, T = d->T, H = d->H, G = 4 * H, TB = T * B, BH = B * H;
    float *dG = scratch;     /* [T][B][4H] gradients of the gate pre-activations */
    float *dh = dG + TB * G; /* [B][H] dL/dh_t through the recurrence */
    float *dc = dh + BH;     /* [B][H] dL/dc_t through the recurrence */
    struct nn_bpack whh;     /* W_hh [4H][H], packed once for all steps */
    nn_gemm_pack_b(&whh, dc + BH, 0, G, H, w_hh, H);
    /* mean: every h_t receives dout / T; last: only h_T, set before the sweep */
    const float dscale = d->mean ? 1.0f / (float)T : 0.0f;
    memset(dc, 0, BH * sizeof *dc);
    if (d->mean) {
        memset(dh, 0, BH * sizeof *dh);
    } else {
        memcpy(dh, dout, BH * sizeof *dh);
    }
    for (size_t tt = T; tt-- > 0;) {
        const float *gt = gates + tt * B * G;
        float *dgt = dG + tt * B * G;
        const float *cprev = tt > 0 ? cs + (tt - 1) * BH : hs; /* hs[0] = 0 = c_0 */
        const float *tct = tcs + tt * BH;
        for (size_t b = 0; b < B; b++)
            lstm_cell_backward(dgt + b * G, dh + b * H, dc + b * H, gt + b * G, cprev + b * H,
                               tct + b * H, dout + b * H, dscale, H);
        /* dL/dh_{t-1} = dG_t [B][4H] x W_hh [4H][H]; not needed before the first step */
        if (tt > 0) nn_gemm_packed(B, dgt, G, &whh, 0.0f, dh, H);
    }
    /* dW_hh [4H][H] += sum over steps t >= 1 of dG_t^T h_{t-1} (h_0 = 0 adds nothing) */
    if (T > 1) nn_gemm(1, 0, G, H, (T - 1) * B, 1.0f, dG + B * G, G, hs + BH, H, 1.0f, dw_hh, H);
    /* dW_ih [4H][in] += dG^T [4H][T*B] x x^T [T*B][in] */
    nn_gemm(1, 1, G, d->in, TB, 1.0f, dG, G, x, TB, 1.0f, dw_ih, d->in);
    /* both biases get the column sums of dG (row by row: contiguous, vectorised) */
    for (size_t r = 0; r < TB; r++) add_row(db_ih, db_hh, dG + r * G, G);
    /* dx [in][T*B] = W_ih^T [in][4H] x dG^T [4H][T*B] */
    if (dx) nn_gemm(1, 1, d->in, TB, G, 1.0f, w_ih, d->in, dG, G, 0.0f, dx, TB);
}

/* ---------------------------------------------------------------- dropout */

void nn_dropout_mask(float *mask, size_t B, size_t n, size_t stride_s, size_t stride_j, double p,
                     uint64_t seed, uint64_t epoch, const uint64_t *sample_ids, uint64_t layer)
{
    const float scale = (float)(1.0 / (1.0 - p)), pf = (float)p;
    for (size_t s = 0; s < B; s++) {
        uint64_t id = sample_ids ? sample_ids[s] : s;
        /* hash of (seed, epoch, sample, layer); one more key per element */
        uint64_t h =
            nn_rng_key(nn_rng_key(nn_rng_key(nn_rng_key(0x5e5e5e5eULL, seed), epoch), id), layer);
        for (size_t j = 0; j < n; j++) {
            float u = nn_rng_uniform(nn_rng_key(h, j));
            mask[s * stride_s + j * stride_j] = u >= pf ? scale : 0.0f;
        }
    }
}

NN_SIMD void nn_dropout_forward(float *y, const float *x, const float *mask, size_t n_total)
{
    for (size_t i = 0; i < n_total; i++) y[i] = x[i] * mask[i];
}

NN_SIMD void nn_dropout_backward(float *dx, const float *dy, const float *mask, size_t n_total)
{
    for (size_t i = 0; i < n_total; i++) dx[i] = dy[i] * mask[i];
}

/* ---------------------------------------------------------------- dense */

void nn_dense_forward(float *y, const float *x, const float *w, const float *b, size_t B, size_t in,
                      size_t out)
{
    for (size_t s = 0; s < B; s++) memcpy(y + s * out, b, out * sizeof *y);
    /* y [B][out] += x [B][in] x W^T */
    nn_gemm(0, 1, B, out, in, 1.0f, x, in, w, in, 1.0f, y, out);
}

NN_SIMD void nn_dense_backward(float *dx, float *dw, float *db, const float *dy, const float *x,
                               const float *w, size_t B, size_t in, size_t out)
{
    /* dW [out][in] += dy^T [out][B] x x [B][in] */
    nn_gemm(1, 0, out, in, B, 1.0f, dy, out, x, in, 1.0f, dw, in);
    for (size_t j = 0; j < out; j++) {
        double s = 0;
        for (size_t r = 0; r < B; r++) s += dy[r * out + j];
        db[j] += (float)s;
    }
    /* dx [B][in] = dy [B][out] x W [out][in] */
    if (dx) nn_gemm(0, 0, B, in, out, 1.0f, dy, out, w, in, 0.0f, dx, in);
}

/* ---------------------------------------------------------------- flatten / layout */

NN_SIMD void nn_flatten_forward(float *y, const float *x, size_t C, size_t T, size_t B)
{
    for (size_t ct = 0; ct < C * T; ct++)
        for (size_t b = 0; b < B; b++) y[b * C * T + ct] = x[ct * B + b];
}

NN_SIMD void nn_flatten_backward(float *dx, const float *dy, size_t C, size_t T, size_t B)
{
    for (size_t ct = 0; ct < C * T; ct++)
        for (size_t b = 0; b < B; b++) dx[ct * B + b] = dy[b * C * T + ct];
}

NN_SIMD void nn_to_ctb(float *restrict dst, const float *restrict src, size_t B, size_t C, size_t T)
{
    /* transpose [B][C*T] -> [C*T][B] in 8 x 8 blocks (both sides touch whole cache lines) */
    const size_t n = C * T;
    for (size_t b0 = 0; b0 < B; b0 += 8) {
        const size_t bn = B - b0 < 8 ? B - b0 : 8;
        for (size_t j0 = 0; j0 < n; j0 += 8) {
            const size_t jn = n - j0 < 8 ? n - j0 : 8;
            if (bn == 8 && jn == 8) {
                for (size_t j = 0; j < 8; j++)
                    for (size_t i = 0; i < 8; i++)
                        dst[(j0 + j) * B + b0 + i] = src[(b0 + i) * n + j0 + j];
            } else {
                for (size_t j = 0; j < jn; j++)
                    for (size_t i = 0; i < bn; i++)
                        dst[(j0 + j) * B + b0 + i] = src[(b0 + i) * n + j0 + j];
            }
        }
    }
}

/* ---------------------------------------------------------------- softmax cross-entropy */

double nn_softmax_xent(float *probs, float *dlogits, const float *logits, const int *y, size_t B,
                       size_t K)
{
    return nn_softmax_xent_weighted(probs, dlogits, logits, y, NULL, B, K);
}

double nn_softmax_xent_weighted(float *probs, float *dlogits, const float *logits, const int *y,
                                const float *cw, size_t B, size_t K)
{
    double loss = 0.0;
    for (size_t s = 0; s < B; s++) {
        const float *l = logits + s * K;
        float mx = l[0];
        for (size_t k = 1; k < K; k++)
            if (l[k] > mx) mx = l[k];
        double sum = 0.0;
        for (size_t k = 0; k < K; k++) sum += exp((double)l[k] - mx);
        double lse = mx + log(sum);
        double w = y && cw ? (double)cw[y[s]] : 1.0;
        for (size_t k = 0; k < K; k++) {
            double p = exp((double)l[k] - lse);
            if (probs) probs[s * K + k] = (float)p;
            if (dlogits)
                dlogits[s * K + k] = (float)(w * (p - (y && (size_t)y[s] == k ? 1.0 : 0.0)));
        }
        if (y) loss += w * (lse - l[y[s]]);
    }
    return loss;
}

double nn_softmax_xent_target(float *probs, float *dlogits, const float *logits, const float *a,
                              size_t B, size_t K)
{
    double loss = 0.0;
    for (size_t s = 0; s < B; s++) {
        const float *l = logits + s * K, *as = a + s * K;
        float mx = l[0];
        for (size_t k = 1; k < K; k++)
            if (l[k] > mx) mx = l[k];
        double sum = 0.0, mass = 0.0;
        for (size_t k = 0; k < K; k++) sum += exp((double)l[k] - mx), mass += as[k];
        double lse = mx + log(sum);
        for (size_t k = 0; k < K; k++) {
            double lp = (double)l[k] - lse, p = exp(lp);
            if (probs) probs[s * K + k] = (float)p;
            if (dlogits) dlogits[s * K + k] = (float)(mass * p - as[k]);
            loss -= as[k] * lp;
        }
    }
    return loss;
}

/* ---------------------------------------------------------------- batchnorm */

void nn_batchnorm_forward(float *y, float *xhat, float *invstd, const float *x, const float *gamma,
                          const float *beta, const float *rm, const float *rv, float *mean,
                          float *var, const struct nn_bn_dims *d)
{
    const size_t n = d->n, is = d->is;
    for (size_t c = 0; c < d->C; c++) {
        const float *xc = x + c * d->cs;
        float *yc = y + c * d->cs, *hc = xhat + c * d->cs;
        double mu, v;
        if (rm) {
            mu = rm[c];
            v = rv[c];
        } else {
            double s = 0, s2 = 0; /* two passes in double: no cancellation */
            for (size_t i = 0; i < n; i++) s += xc[i * is];
            mu = s / (double)n;
            for (size_t i = 0; i < n; i++) {
                double t = xc[i * is] - mu;
                s2 += t * t;
            }
            v = s2 / (double)n;
            if (mean) mean[c] += (float)mu;
            if (var) var[c] += n > 1 ? (float)(s2 / (double)(n - 1)) : 0.0f;
        }
        float inv = (float)(1.0 / sqrt(v + NN_BN_EPS)), g = gamma[c], b = beta[c], m = (float)mu;
        invstd[c] = inv;
        for (size_t i = 0; i < n; i++) {
            float h = (xc[i * is] - m) * inv;
            hc[i * is] = h;
            yc[i * is] = h * g + b;
        }
    }
}

void nn_batchnorm_backward(float *dx, float *dgamma, float *dbeta, const float *dy,
                           const float *xhat, const float *invstd, const float *gamma, int train,
                           const struct nn_bn_dims *d)
{
    const size_t n = d->n, is = d->is;
    for (size_t c = 0; c < d->C; c++) {
        const float *dyc = dy + c * d->cs, *hc = xhat + c * d->cs;
        double sdy = 0, sdyh = 0;
        for (size_t i = 0; i < n; i++) {
            sdy += dyc[i * is];
            sdyh += (double)dyc[i * is] * hc[i * is];
        }
        dgamma[c] += (float)sdyh;
        dbeta[c] += (float)sdy;
        if (!dx) continue;
        float *dxc = dx + c * d->cs, k = gamma[c] * invstd[c];
        if (!train) {
            for (size_t i = 0; i < n; i++) dxc[i * is] = k * dyc[i * is];
            continue;
        }
        float mdy = (float)(sdy / (double)n), mdyh = (float)(sdyh / (double)n);
        for (size_t i = 0; i < n; i++) dxc[i * is] = k * (dyc[i * is] - mdy - hc[i * is] * mdyh);
    }
}
