/* adam.c: Adam/AdamW over the flat parameter buffer and global-norm clipping (see adam.h).
 *
 * Reference: torch.optim.Adam / AdamW (single-tensor, non-foreach, non-fused path):
 * bias corrections in double, the update in float as PyTorch computes it for float32
 * parameters; torch.nn.utils.clip_grad_norm_.
 */
#include "nn/adam.h"

#include <math.h>
#include <stdlib.h>

#include "nn/simd.h"

int nn_adam_init(struct nn_adam *a, size_t n, double lr, struct err *e)
{
    a->lr = lr;
    a->beta1 = 0.9;
    a->beta2 = 0.999;
    a->eps = 1e-8;
    a->weight_decay = 0.0;
    a->t = 0;
    a->n = n;
    a->m = calloc(n ? n : 1, sizeof *a->m);
    a->v = calloc(n ? n : 1, sizeof *a->v);
    if (!a->m || !a->v) return err_set(e, "adam: out of memory for %zu parameters", n);
    return 0;
}

void nn_adam_free(struct nn_adam *a)
{
    if (!a) return;
    free(a->m);
    free(a->v);
    a->m = a->v = NULL;
}

NN_SIMD void nn_adam_step(struct nn_adam *a, float *params, const float *grads)
{
    a->t++;
    const double bc1 = 1.0 - pow(a->beta1, (double)a->t);
    const double bc2 = 1.0 - pow(a->beta2, (double)a->t);
    const float step_size = (float)(a->lr / bc1);
    const float bc2_sqrt = (float)sqrt(bc2);
    const float b1 = (float)a->beta1, b2 = (float)a->beta2, eps = (float)a->eps;
    /* decay is exactly 1 without weight decay: multiplying by it changes nothing */
    const float decay = (float)(1.0 - a->lr * a->weight_decay);
    float *restrict m = a->m, *restrict v = a->v, *restrict p = params;
    const float *restrict gr = grads;
    for (size_t i = 0; i < a->n; i++) {
        float g = gr[i];
        p[i] *= decay;
        m[i] = b1 * m[i] + (1.0f - b1) * g;
        v[i] = b2 * v[i] + (1.0f - b2) * g * g;
        float denom = sqrtf(v[i]) / bc2_sqrt + eps;
        p[i] -= step_size * (m[i] / denom);
    }
}

double nn_clip_grad_norm(float *grads, size_t n, double max_norm)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += (double)grads[i] * grads[i];
    double norm = sqrt(s);
    if (max_norm > 0.0) {
        double coef = max_norm / (norm + 1e-6);
        if (coef < 1.0) {
            float c = (float)coef;
            for (size_t i = 0; i < n; i++) grads[i] *= c;
        }
    }
    return norm;
}
