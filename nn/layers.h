/* layers.h: forward/backward kernels of the layers of nn/model.h, on explicit pointers.
 *
 * Reference: the PyTorch modules of the same name (Conv1d cross-correlation with zero
 * padding and stride 1, Conv2d with a square kernel, zero padding and stride S, ReLU,
 * MaxPool1d(k) / MaxPool2d(k) with stride k and floor, mean over the spatial dimensions, LSTM with
 * gates i, f, g, o, inverted Dropout, Linear, softmax + cross-entropy with reduction='sum').
 *
 * Layouts. A batch of sequences is stored [C][T][B] (channel, time, sample: the batch index
 * is innermost), so that a conv1d's im2col rows are contiguous slices, a conv1d output
 * [Cout][T*B] comes straight out of one GEMM, and an LSTM's input projection for all time
 * steps is one GEMM that reads it as a transposed [T*B][C] matrix (PyTorch's
 * x.permute(0,2,1) is free). Vectors (after lstm/flatten/gap) are stored [B][N]. A batch of
 * 2-D maps (conv2d) is stored [C][H][W][B]: the same "[C][positions][B]" layout with H*W
 * positions per channel, so a conv2d's output comes out of one GEMM too.
 *
 * Contracts: every *_backward ADDS (+=) into parameter gradients (dw, db) and SETS the
 * input gradient dx (each activation has one consumer); dx may be NULL when not needed.
 * All matrix products go through nn_gemm. No function here allocates.
 */
#ifndef SER_NN_LAYERS_H
#define SER_NN_LAYERS_H

#include <stddef.h>
#include <stdint.h>

/* ---- conv1d: x [Cin][T][B] -> y [Cout][To][B], To = T + 2P - K + 1 ---- */
struct nn_conv_dims {
    size_t B, cin, cout, T, K, P, To;
};
/* cols [Cin*K][To*B]: the im2col matrix, kept for backward. */
void nn_conv1d_forward(float *y, float *cols, const float *x, const float *w /* [Cout][Cin][K] */,
                       const float *b /* [Cout] */, const struct nn_conv_dims *d);
/* dcols [Cin*K][To*B]: scratch (unused if dx is NULL). */
void nn_conv1d_backward(float *dx /* [Cin][T][B] or NULL */, float *dw /* [Cout][Cin][K] */,
                        float *db /* [Cout] */, float *dcols, const float *dy /* [Cout][To][B] */,
                        const float *cols, const float *w, const struct nn_conv_dims *d);

/* ---- conv2d: x [Cin][H][W][B] -> y [Cout][Ho][Wo][B], Ho = (H + 2P - K) / S + 1 (floor),
 * Wo likewise: PyTorch's Conv2d(Cin, Cout, K, stride=S, padding=P) (square kernel) ---- */
struct nn_conv2d_dims {
    size_t B, cin, cout, H, W, K, S, P, Ho, Wo;
};
/* cols [Cin*K*K][Ho*Wo*B]: the im2col matrix (row (ci, kh, kw), column (oh, ow, b)), kept
 * for backward. */
void nn_conv2d_forward(float *y, float *cols, const float *x,
                       const float *w /* [Cout][Cin][K][K] */, const float *b /* [Cout] */,
                       const struct nn_conv2d_dims *d);
/* dcols [Cin*K*K][Ho*Wo*B]: scratch (unused if dx is NULL). */
void nn_conv2d_backward(float *dx /* [Cin][H][W][B] or NULL */, float *dw, float *db, float *dcols,
                        const float *dy /* [Cout][Ho][Wo][B] */, const float *cols, const float *w,
                        const struct nn_conv2d_dims *d);

/* ---- relu, elementwise over n values (any layout) ---- */
void nn_relu_forward(float *y, const float *x, size_t n);
/* Uses the output y: dx = dy where y > 0, else 0 (PyTorch's threshold_backward). */
void nn_relu_backward(float *dx, const float *dy, const float *y, size_t n);

/* ---- maxpool1d: x [C][T][B] -> y [C][To][B], To = T / K (floor) ---- */
void nn_maxpool_forward(float *y, const float *x, size_t C, size_t T, size_t B, size_t K);
/* dx [C][T][B] set: dy goes to the first position of each window whose x equals the
 * window's maximum y (ties -> first, as PyTorch), nothing else; positions past To*K get 0.
 * Recomputing the argmax from (x, y) keeps the forward loop a branch-free max. */
void nn_maxpool_backward(float *dx, const float *dy, const float *x, const float *y, size_t C,
                         size_t T, size_t B, size_t K);

/* ---- maxpool2d: x [C][H][W][B] -> y [C][H/K][W/K][B] (floor), K x K windows, stride K ---- */
void nn_maxpool2d_forward(float *y, const float *x, size_t C, size_t H, size_t W, size_t B,
                          size_t K);
/* dx [C][H][W][B] set: dy goes to the first position of each window in row-major order
 * (kh, then kw) whose x equals the window's maximum y (ties -> first, as PyTorch's CPU
 * kernel), nothing else; rows and columns past the last window get 0. */
void nn_maxpool2d_backward(float *dx, const float *dy, const float *x, const float *y, size_t C,
                           size_t H, size_t W, size_t B, size_t K);

/* ---- global average pooling: x [C][P][B] (a map, P = H*W, or a sequence, P = T) -> y [B][C]
 * = the mean over the P positions (torch x.mean over the spatial dims) ---- */
void nn_gap_forward(float *y, const float *x, size_t C, size_t P, size_t B);
void nn_gap_backward(float *dx, const float *dy, size_t C, size_t P, size_t B);

/* ---- lstm (one layer, batch_first semantics): x [in][T][B] -> out [B][H] ---- */
struct nn_lstm_dims {
    size_t B, T, in, H;
    int mean; /* 0: out = h_T (last state); 1: out = mean over t of h_t */
};
/* Saved for backward: gates [T][B][4H] (activated i, f, g, o), cs [T][B][H] (c_t),
 * tcs [T][B][H] (tanh(c_t)), hs [T+1][B][H] (hs[0] = h_0 = 0, hs[t+1] = h_t). */
/* wpack: nn_lstm_pack_size(d) floats of scratch (W_hh packed for the recurrent products). */
size_t nn_lstm_pack_size(const struct nn_lstm_dims *d);
void nn_lstm_forward(float *out, float *gates, float *cs, float *tcs, float *hs, float *wpack,
                     const float *x, const float *w_ih /* [4H][in] */,
                     const float *w_hh /* [4H][H] */, const float *b_ih /* [4H] */,
                     const float *b_hh /* [4H] */, const struct nn_lstm_dims *d);
/* Full backpropagation through time. scratch: nn_lstm_scratch(d) floats. */
size_t nn_lstm_scratch(const struct nn_lstm_dims *d);
void nn_lstm_backward(float *dx /* [in][T][B] or NULL */, float *dw_ih, float *dw_hh, float *db_ih,
                      float *db_hh, float *scratch, const float *dout /* [B][H] */, const float *x,
                      const float *gates, const float *cs, const float *tcs, const float *hs,
                      const float *w_ih, const float *w_hh, const struct nn_lstm_dims *d);

/* ---- dropout: y = x * mask, mask values 0 or 1/(1-p) ---- */
/* The mask element for sample s and per-sample element j (index in PyTorch's layout of one
 * sample: c*T + t for a sequence, (c*H + h)*W + w for a map, n for a vector) lies at
 * mask[s*stride_s + j*stride_j]: strides (N, 1) for vectors [B][N], (1, B) for sequences
 * [C][T][B] (n = C*T) and maps [C][H][W][B] (n = C*H*W).
 * keep(s, j) = uniform(hash(seed, epoch, sample_ids[s], layer, j)) >= p. */
void nn_dropout_mask(float *mask, size_t B, size_t n, size_t stride_s, size_t stride_j, double p,
                     uint64_t seed, uint64_t epoch, const uint64_t *sample_ids /* [B] or NULL */,
                     uint64_t layer);
void nn_dropout_forward(float *y, const float *x, const float *mask, size_t n_total);
void nn_dropout_backward(float *dx, const float *dy, const float *mask, size_t n_total);

/* ---- dense: x [B][in] -> y [B][out] ---- */
void nn_dense_forward(float *y, const float *x, const float *w /* [out][in] */,
                      const float *b /* [out] */, size_t B, size_t in, size_t out);
void nn_dense_backward(float *dx /* [B][in] or NULL */, float *dw, float *db, const float *dy,
                       const float *x, const float *w, size_t B, size_t in, size_t out);

/* ---- flatten: x [C][T][B] -> y [B][C*T] (torch.flatten(x, 1) of (B, C, T)) ---- */
void nn_flatten_forward(float *y, const float *x, size_t C, size_t T, size_t B);
void nn_flatten_backward(float *dx, const float *dy, size_t C, size_t T, size_t B);

/* ---- batchnorm: per channel over its n elements (BatchNorm1d / BatchNorm2d) ----
 * Element i of channel c lies at x[c*cs + i*is]: a sequence or map [C][P][B] has cs = P*B,
 * is = 1, n = P*B (P positions per channel); a vector [B][N] has C = N, cs = 1, is = N,
 * n = B. eps as PyTorch (1e-5).
 * Training (rm, rv NULL): normalises with the batch mean and the biased variance;
 * mean[c] += batch mean, var[c] += UNBIASED batch variance (n/(n-1) times the biased one;
 * 0 when n = 1, where PyTorch refuses) when mean/var are not NULL.
 * Inference (rm, rv the running mean and variance): normalises with them.
 * Saved for backward: xhat [same layout as x] and invstd [C]. */
#define NN_BN_EPS 1e-5
struct nn_bn_dims {
    size_t C, cs, is, n;
};
void nn_batchnorm_forward(float *y, float *xhat, float *invstd, const float *x, const float *gamma,
                          const float *beta, const float *rm, const float *rv, float *mean,
                          float *var, const struct nn_bn_dims *d);
/* train: 1 if the forward used batch statistics (the gradient flows through them, as
 * PyTorch's batch_norm_backward), 0 if it used the running ones (dx = dy*gamma*invstd). */
void nn_batchnorm_backward(float *dx /* or NULL */, float *dgamma, float *dbeta, const float *dy,
                           const float *xhat, const float *invstd, const float *gamma, int train,
                           const struct nn_bn_dims *d);

/* ---- softmax cross-entropy (log-sum-exp stable), reduction = sum ---- */
/* probs [B][K] (may be NULL), dlogits [B][K] = probs - onehot(y) (may be NULL; then y may be
 * NULL and the loss is not computed). Returns the loss sum (0 if y is NULL). */
/* The same with a weight per class, cw [K] (NULL: all 1): loss = sum of cw[y] * CE and
 * dlogits scaled by cw[y], as PyTorch's CrossEntropyLoss(weight=cw, reduction='sum'). */
double nn_softmax_xent_weighted(float *probs, float *dlogits, const float *logits, const int *y,
                                const float *cw, size_t B, size_t K);
double nn_softmax_xent(float *probs, float *dlogits, const float *logits, const int *y, size_t B,
                       size_t K);
/* Cross-entropy against a target mass per sample, a [B][K] (nn/augment.h: label smoothing,
 * class weights, mixup): loss = sum_s sum_k -a_sk log p_sk, dlogits_sk = (sum_k a_sk) p_sk -
 * a_sk. The one-hot a = w_y [k = y] gives nn_softmax_xent_weighted. Returns the loss sum. */
double nn_softmax_xent_target(float *probs, float *dlogits, const float *logits, const float *a,
                              size_t B, size_t K);

/* [B][C][T] <-> [C][T][B] */
void nn_to_ctb(float *dst, const float *src, size_t B, size_t C, size_t T);

#endif
