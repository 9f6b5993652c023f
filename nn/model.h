/* model.h: a CNN-LSTM classifier described by a spec string, with all parameters and
 * gradients in ONE contiguous float buffer each and a table of named views (llm.c's
 * malloc_and_point_parameters design).
 *
 * Reference: the tensors are exactly those of the PyTorch module tests/torch_model.py builds
 * from the same spec (state_dict names and shapes): convK.weight [out,in,k] (conv1d) or
 * [out,in,k,k] (conv2d; conv1d and conv2d layers count together), convK.bias [out];
 * lstmK.weight_ih_l0 [4H,in], lstmK.weight_hh_l0 [4H,H], lstmK.bias_ih_l0 [4H],
 * lstmK.bias_hh_l0 [4H] (gate order i, f, g, o); fcK.weight [out,in], fcK.bias [out];
 * bnK.weight [C], bnK.bias [C] (its running buffers: see batchnorm below); K counts
 * layers of that kind from 1. Tensors lie in the flat buffers in layer order, each tensor
 * row-major as in PyTorch, so the buffer equals torch.cat([p.flatten() for p in
 * model.parameters()]).
 *
 * Spec tokens (whitespace separated; '#' starts a comment when read from a file):
 *   conv1d:OUT:K[:PAD]  Conv1d(in, OUT, K, padding=PAD), PAD default K/2 ("same" for odd K)
 *   relu                ReLU
 *   maxpool:K           MaxPool1d(K) (stride K, floor)
 *   lstm:H[:last|:mean] LSTM(in, H, batch_first=True) over x.permute(0,2,1); output the last
 *                       hidden state (default) or the mean over time of the hidden states
 *   dropout:P           inverted dropout, 0 <= P < 1; identity at inference
 *   dense:N             Linear(in, N); needs a vector input (after lstm or flatten)
 *   dense               the output layer with one output per class (last layer only; the
 *                       canonical spec writes its size: dense:7 for the seven common labels)
 *   flatten             (B, C, T) -> (B, C*T), or a map (B, C, H, W) -> (B, C*H*W), as
 *                       torch.flatten(x, 1)
 *   conv2d:OUT:KxK[:sS] Conv2d(in, OUT, K, stride=S, padding=K//2), K odd, S default 1
 *   maxpool2d:KxK       MaxPool2d(K) (stride K, floor)
 *   gap                 global average pooling: a map (B, C, H, W) or a sequence (B, C, T) ->
 *                       a vector (B, C), torch x.mean over the spatial dimensions
 *   reshape[:P]         a sequence (B, C, T) -> a map (B, P, C/P, T) as x.view(B, P, C/P, T)
 *                       (P default 1, C divisible by P); a map (B, C, H, W) -> a sequence
 *                       (B, C*H, W) as x.flatten(1, 2)
 *   batchnorm           BatchNorm1d(C) on a sequence (per channel over T and the batch) or a
 *                       vector (per feature over the batch), BatchNorm2d(C) on a 2-D map
 *                       (per channel over H, W and the batch); eps 1e-5, momentum 0.1;
 *                       tensors bnK.weight [C] (init 1), bnK.bias [C] (init 0); running
 *                       buffers bnK.running_mean [C] (init 0), bnK.running_var [C] (init 1),
 *                       bnK.num_batches_tracked [] (a count, kept as a float)
 * The input of a sample is [C][T] (PyTorch Conv1d input (B, C, T)); the last layer must give
 * a vector of n_classes logits, which softmax cross-entropy turns into probabilities.
 * Maps (2-D feature maps, after conv2d, maxpool2d or reshape) are (B, C, H, W) in PyTorch;
 * conv2d and maxpool2d given a sequence (B, C, T) see it as a map of 1 channel, C x T
 * (x.unsqueeze(1)), so "conv2d:32:3x3 ..." works directly on MFCCs. relu, dropout, flatten
 * and gap take maps; conv1d, maxpool, lstm need a sequence (reshape a map first), dense a
 * vector.
 *
 * Memory: every activation buffer is sized for max_batch at create, plus one scratch
 * workspace; train_step and forward never allocate. nn_model_estimate tells, without
 * allocating them, how many bytes those buffers take. A model is not thread-safe (it holds
 * the activations); use one per thread.
 */
#ifndef SER_NN_MODEL_H
#define SER_NN_MODEL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ser/err.h"

#define NN_DEFAULT_SPEC                                                                            \
    "conv1d:64:5 relu maxpool:2 conv1d:128:5 relu maxpool:2 lstm:128 dropout:0.3 dense:64 "        \
    "relu dense"

/* A view into the flat parameter (or gradient, or Adam moment) buffer. */
struct nn_tensor {
    const char *name; /* PyTorch state_dict name, e.g. "conv1.weight" */
    int ndim;         /* 1..4 */
    size_t shape[4];  /* PyTorch shape, unused dimensions 0 */
    size_t offset;    /* first element in the flat buffer */
    size_t size;      /* number of elements = product of shape */
};

/* Batchnorm and its running statistics.
 * Training mode (nn_model_train_step with st->train = 1) normalises with the statistics of
 * the call's batch (mean and biased variance, as PyTorch's model.train()); inference
 * (nn_model_forward*, or st NULL / st->train = 0) with the running statistics
 * (model.eval()). The running statistics are not parameters: they live in a buffer of their
 * own, nn_model_running [nn_model_nrunning], with named views like the tensors
 * (nn_model_running_tensor: bnK.running_mean, bnK.running_var, bnK.num_batches_tracked).
 * A training step does NOT update them: it ADDS the call's batch mean and UNBIASED batch
 * variance of every batchnorm layer into nn_model_nstats() statistic slots of the gradient
 * buffer, right after its NN_GRAD_EXTRA floats (zero them with the gradient). The caller then
 * calls nn_model_update_running with the sum of those slots over n_calls calls:
 *     running = (1 - momentum) * running + momentum * (sum / n_calls)
 * and num_batches_tracked += 1. One call then one update = PyTorch exactly. The trainer sums
 * the slots over the ranks in the same collective as the gradient, so every rank applies the
 * same update: by default the statistics of each rank's slice of the batch (float
 * allreduce), with --deterministic those of each fixed micro-batch, summed exactly (then
 * bit-identical for any number of ranks). A call whose batchnorm sees n = 1 value per
 * channel (a vector input with B = 1) normalises to the bias and adds variance 0 (PyTorch
 * refuses such a batch in training mode). */
#define NN_BN_MOMENTUM 0.1

/* The gradient buffer (nn_model_grads) holds NN_GRAD_EXTRA floats after the nparams
 * gradients. The model never reads or writes them (they are zero after create); they belong
 * to the caller. The trainer puts its per-step scalars there (loss sum, correct count,
 * stop and non-finite flags) so that the gradient and those scalars are reduced over the
 * MPI ranks in ONE collective of nparams + NN_GRAD_EXTRA floats. nparams, the tensors and
 * everything else are unchanged by them. */
#define NN_GRAD_EXTRA 16

struct nn_model;

/* Parses spec (a spec string, or the path of an existing file that contains one) for inputs
 * [in_channels][in_len] and n_classes outputs, and allocates parameters, gradients and
 * activations for up to max_batch samples. Parameters are zero until nn_model_init.
 * spec NULL means NN_DEFAULT_SPEC. Returns 0, or -1 with e naming the offending token and
 * the problem (and *m = NULL). Caller frees with nn_model_free. */
int nn_model_create(struct nn_model **m, const char *spec, size_t in_channels, size_t in_len,
                    size_t n_classes, size_t max_batch, struct err *e);
/* The same for spec text only: spec is never taken as a file path (use it for specs that come
 * from a checkpoint or another program, not from the user). */
int nn_model_create_from_text(struct nn_model **m, const char *spec, size_t in_channels,
                              size_t in_len, size_t n_classes, size_t max_batch, struct err *e);
void nn_model_free(struct nn_model *m); /* NULL is fine */

/* The memory nn_model_create allocates for a model, in bytes. Its float buffers are all there
 * is to it but for a few KB of tables (layers, tensor names, the spec string). */
struct nn_model_cost {
    size_t nparams;           /* = nn_model_nparams */
    size_t params_bytes;      /* the parameters: nparams floats */
    size_t grads_bytes;       /* the gradients: nparams + NN_GRAD_EXTRA + nstats floats */
    size_t running_bytes;     /* the running statistics: nrunning floats */
    size_t activations_bytes; /* the input copy, every layer's output and output gradient */
    size_t saved_bytes;       /* kept for backward: conv im2col matrices, dropout masks, LSTM
                                 gates and states */
    size_t scratch_bytes;     /* the shared workspace (conv input gradient, LSTM) */
    size_t total_bytes;       /* the sum: what nn_model_bytes gives after create */
};
/* Fills cost for the model nn_model_create (or _from_text) would build from the same
 * arguments, without allocating its buffers: "flatten dense:65536 dense:65536 dense:7" at
 * batch 32 gives 37 GB at once (parameters and gradients; a trainer adds its own copies, such
 * as Adam's two moments). Returns 0, or -1 with e as create's, also when the sizes do not fit
 * in a size_t. */
int nn_model_estimate(const char *spec, size_t in_channels, size_t in_len, size_t n_classes,
                      size_t max_batch, struct nn_model_cost *cost, struct err *e);
int nn_model_estimate_from_text(const char *spec, size_t in_channels, size_t in_len,
                                size_t n_classes, size_t max_batch, struct nn_model_cost *cost,
                                struct err *e);
/* Bytes of the float buffers m allocated, counted as they were allocated: equals the
 * estimate's total_bytes. */
size_t nn_model_bytes(const struct nn_model *m);

const char *nn_model_spec(const struct nn_model *m); /* canonical spec string, owned by m */
size_t nn_model_in_channels(const struct nn_model *m);
size_t nn_model_in_len(const struct nn_model *m);
size_t nn_model_n_classes(const struct nn_model *m);
size_t nn_model_max_batch(const struct nn_model *m);

size_t nn_model_nparams(const struct nn_model *m);
float *nn_model_params(struct nn_model *m); /* [nparams], owned by m */
/* [nparams + NN_GRAD_EXTRA + nstats], owned by m; zero the gradients yourself (see
 * NN_GRAD_EXTRA and the batchnorm note above) */
float *nn_model_grads(struct nn_model *m);
size_t nn_model_nstats(const struct nn_model *m); /* statistic slots (0 without batchnorm) */
size_t nn_model_nrunning(const struct nn_model *m);
float *nn_model_running(struct nn_model *m); /* [nrunning], owned by m (never NULL) */
size_t nn_model_nrunning_tensors(const struct nn_model *m);
const struct nn_tensor *nn_model_running_tensor(const struct nn_model *m, size_t i);
/* Applies the summed statistic slots of n_calls training calls (see above); n_calls 0: no
 * change. */
void nn_model_update_running(struct nn_model *m, const float *stats_sum, double n_calls);
size_t nn_model_ntensors(const struct nn_model *m);
const struct nn_tensor *nn_model_tensor(const struct nn_model *m, size_t i);
/* The tensor called name, or NULL. */
const struct nn_tensor *nn_model_find_tensor(const struct nn_model *m, const char *name);

/* PyTorch's default initialisation of each module (conv/dense weight and bias
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = in*k for conv; LSTM every tensor
 * U(-1/sqrt(H), 1/sqrt(H)); batchnorm weight 1, bias 0, running buffers reset), drawn from a
 * counter-based RNG keyed by (seed, tensor index, element): the same seed gives the same weights on
 * every machine and rank. */
void nn_model_init(struct nn_model *m, uint64_t seed);

/* Keys of the dropout masks of one step. The mask of element j of dropout layer l (its
 * index in the spec, from 0) for sample s is a pure function of (seed, epoch, sample_ids[s],
 * l, j), so it does not depend on how a global batch is split into calls or ranks. */
struct nn_step {
    uint64_t seed, epoch;
    const uint64_t *sample_ids; /* [B] global sample indices; NULL: 0..B-1 */
    int train;                  /* 1: dropout active; 0: as inference (no dropout) */
    const float *class_weight;  /* [n_classes] weight of each class in the loss; NULL: 1 */
    /* [B][n_classes] target mass of each sample (nn_softmax_xent_target: label smoothing,
     * mixup; class_weight is then ignored, the mass holds it); NULL: one-hot of y */
    const float *target;
};

/* Forward and backward of the SUM over the B <= max_batch samples of the cross-entropy
 * loss. ADDS (+=) the gradient to nn_model_grads (the caller zeroes it). x [B][C][T],
 * y [B] class indices in [0, n_classes). *loss_sum gets the loss sum; probs, if not NULL,
 * [B][n_classes] softmax probabilities. Returns 0, or -1 if B is 0 or > max_batch or a label
 * is out of range (nothing is changed then). */
int nn_model_train_step(struct nn_model *m, const float *x, const int *y, size_t B,
                        const struct nn_step *st, double *loss_sum, float *probs);

/* Inference (no dropout) on B <= max_batch samples: probs [B][n_classes] (may be NULL);
 * if y is not NULL, also *loss_sum (may be NULL otherwise). logits [B][n_classes] if not NULL.
 * Returns 0 or -1 as train_step. */
int nn_model_forward(struct nn_model *m, const float *x, const int *y, size_t B, double *loss_sum,
                     float *probs);
int nn_model_forward_logits(struct nn_model *m, const float *x, size_t B, float *logits);

/* Keras model.summary()-like table: layer (type), output shape, param #; total params. */
void nn_model_summary(const struct nn_model *m, FILE *f);

/* Multiply-add FLOPs (2 per multiply-add) per sample of the model's GEMMs, counted from the
 * layer shapes: forward only, and forward+backward of a training step (the first layer
 * computes no input gradient). */
double nn_model_flops_forward(const struct nn_model *m);
double nn_model_flops_train(const struct nn_model *m);

#endif
