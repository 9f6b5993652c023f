/* callbacks.h: early stopping and learning-rate reduction on a plateau, as pure state
 * machines (no MPI) that rank 0 steps once per epoch with the validation metrics.
 *
 * Semantics are Keras's (keras.callbacks.EarlyStopping and ReduceLROnPlateau, Keras 2.11+
 * and 3.x, which agree on these):
 *  - mode: "min" for a loss, "max" for an accuracy; an epoch improves when
 *    current < best - min_delta (min) or current > best + min_delta (max);
 *  - EarlyStopping: wait counts epochs without improvement (reset to 0 on improvement);
 *    training stops at the end of the epoch where wait >= patience (and epoch > 0);
 *    the best epoch's weights are remembered. Keras restores them only when it stops early;
 *    ser restores them at the end of training in every case (also when --epochs runs out),
 *    so the saved model is always the best validated one.
 *  - ReduceLROnPlateau: its own best and wait; when wait >= patience (and not cooling down),
 *    lr = max(lr * factor, min_lr) if lr > min_lr (Keras compares with a tiny epsilon),
 *    then cooldown epochs during which wait is not counted, and wait = 0.
 */
#ifndef SER_CALLBACKS_H
#define SER_CALLBACKS_H

struct dist_stopper {
    int mode_max;     /* 0: lower is better (val_loss); 1: higher is better (val_accuracy) */
    double min_delta; /* >= 0 */
    int patience;
    double best;
    int best_epoch; /* -1 before the first epoch */
    int wait;
};

void dist_stopper_init(struct dist_stopper *s, int mode_max, double min_delta, int patience);
/* Feeds the metric of `epoch` (0-based). Returns 1 if this epoch is the new best (the caller
 * keeps its weights), and sets *stop when training must end after this epoch. */
int dist_stopper_update(struct dist_stopper *s, int epoch, double current, int *stop);

struct dist_plateau {
    int mode_max;
    double factor; /* 0 < factor < 1 */
    int patience;
    double min_delta; /* Keras default 1e-4 */
    int cooldown;
    double min_lr;
    double best;
    int wait;
    int cooldown_left;
};

void dist_plateau_init(struct dist_plateau *p, int mode_max, double factor, int patience,
                       double min_delta, int cooldown, double min_lr);
/* Feeds one epoch's metric; returns the learning rate for the next epoch. */
double dist_plateau_update(struct dist_plateau *p, double current, double lr);

#endif
