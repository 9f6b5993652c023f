/* adam.h: Adam / AdamW over one flat parameter buffer, and global-norm gradient clipping.
 *
 * Reference: torch.optim.Adam (weight_decay 0) and torch.optim.AdamW (decoupled weight decay)
 * with their bias-corrected update, for each element:
 *   p *= 1 - lr*wd;  m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g*g;
 *   p -= (lr / (1 - b1^t)) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
 * and torch.nn.utils.clip_grad_norm_ (norm 2, clip coefficient max_norm / (norm + 1e-6)).
 */
#ifndef SER_NN_ADAM_H
#define SER_NN_ADAM_H

#include <stddef.h>
#include <stdint.h>

#include "ser/err.h"

struct nn_adam {
    double lr, beta1, beta2, eps, weight_decay; /* weight_decay: decoupled (AdamW); 0 = Adam */
    uint64_t t;                                 /* steps taken so far */
    size_t n;                                   /* number of parameters */
    float *m, *v;                               /* [n] each, ONE contiguous buffer each */
};

/* Zeroed moments for n parameters, beta 0.9/0.999, eps 1e-8, no weight decay, t = 0.
 * Returns 0 or -1 (out of memory). Caller frees with nn_adam_free (also after a failed init).
 * The learning rate may be changed between steps (a->lr). */
int nn_adam_init(struct nn_adam *a, size_t n, double lr, struct err *e);
void nn_adam_free(struct nn_adam *a);
void nn_adam_step(struct nn_adam *a, float *params /* [n] */, const float *grads /* [n] */);

/* Scales grads in place so that their global 2-norm is at most max_norm (if max_norm > 0);
 * returns the norm before clipping. */
double nn_clip_grad_norm(float *grads, size_t n, double max_norm);

#endif
