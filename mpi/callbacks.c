/* callbacks.c: Keras-semantics EarlyStopping and ReduceLROnPlateau (see callbacks.h). */
#include "mpi/callbacks.h"

#include <math.h>

static int improves(int mode_max, double current, double best, double min_delta)
{
    if (isnan(current)) return 0;
    return mode_max ? current - min_delta > best : current + min_delta < best;
}

void dist_stopper_init(struct dist_stopper *s, int mode_max, double min_delta, int patience)
{
    s->mode_max = mode_max;
    s->min_delta = fabs(min_delta);
    s->patience = patience;
    s->best = mode_max ? -INFINITY : INFINITY;
    s->best_epoch = -1;
    s->wait = 0;
}

int dist_stopper_update(struct dist_stopper *s, int epoch, double current, int *stop)
{
    int better = improves(s->mode_max, current, s->best, s->min_delta);
    *stop = 0;
    s->wait++;
    if (better) {
        s->best = current;
        s->best_epoch = epoch;
        s->wait = 0;
        return 1;
    }
    if (s->wait >= s->patience && epoch > 0) *stop = 1;
    return 0;
}

void dist_plateau_init(struct dist_plateau *p, int mode_max, double factor, int patience,
                       double min_delta, int cooldown, double min_lr)
{
    p->mode_max = mode_max;
    p->factor = factor;
    p->patience = patience;
    p->min_delta = fabs(min_delta);
    p->cooldown = cooldown;
    p->min_lr = min_lr;
    p->best = mode_max ? -INFINITY : INFINITY;
    p->wait = 0;
    p->cooldown_left = 0;
}

double dist_plateau_update(struct dist_plateau *p, double current, double lr)
{
    if (p->cooldown_left > 0) {
        p->cooldown_left--;
        p->wait = 0;
    }
    if (improves(p->mode_max, current, p->best, p->min_delta)) {
        p->best = current;
        p->wait = 0;
    } else if (p->cooldown_left == 0) {
        p->wait++;
        if (p->wait >= p->patience) {
            /* Keras: if old_lr > np.float32(min_lr) */
            if (lr > p->min_lr + 1e-12) {
                lr = lr * p->factor;
                if (lr < p->min_lr) lr = p->min_lr;
                p->cooldown_left = p->cooldown;
                p->wait = 0;
            }
        }
    }
    return lr;
}
