/* test_callbacks.c: EarlyStopping and ReduceLROnPlateau state machines (mpi/callbacks.h)
 * against sequences worked out by hand from Keras's callback source (2.11+/3.x). */
#include <math.h>
#include <stdio.h>

#include "mpi/callbacks.h"

#include "tests/check.h"

/* Runs a sequence; returns the epoch at which training stops (-1: never). */
static int run_stopper(struct dist_stopper *s, const double *v, int n, int *best_flags)
{
    for (int i = 0; i < n; i++) {
        int stop;
        best_flags[i] = dist_stopper_update(s, i, v[i], &stop);
        if (stop) return i;
    }
    return -1;
}

int main(void)
{
    struct dist_stopper s;
    int best[16];

    /* min mode, patience 3: best at epoch 1, stop at epoch 4. */
    double a[] = {1.0, 0.9, 0.95, 0.92, 0.91, 0.5};
    dist_stopper_init(&s, 0, 0, 3);
    int stop = run_stopper(&s, a, 6, best);
    CHECK(stop == 4, "stop at %d, expected 4", stop);
    CHECK(s.best_epoch == 1 && s.best == 0.9, "best epoch %d value %g", s.best_epoch, s.best);
    CHECK(best[0] && best[1] && !best[2] && !best[3] && !best[4], "best flags");

    /* min_delta 0.05: 0.96 is no improvement over 1.0, 0.94 is; then 0.90/0.89 are not. */
    double b[] = {1.0, 0.96, 0.94, 0.90, 0.89};
    dist_stopper_init(&s, 0, 0.05, 10);
    stop = run_stopper(&s, b, 5, best);
    CHECK(stop == -1 && s.best_epoch == 2 && s.wait == 2, "min_delta: stop %d best %d wait %d",
          stop, s.best_epoch, s.wait);

    /* max mode (accuracy), patience 2: equal is not better. */
    double c[] = {0.5, 0.6, 0.6, 0.55, 0.9};
    dist_stopper_init(&s, 1, 0, 2);
    stop = run_stopper(&s, c, 5, best);
    CHECK(stop == 3 && s.best_epoch == 1, "max mode: stop %d best %d", stop, s.best_epoch);

    /* Never stop at epoch 0 (Keras: epoch > 0), NaN never improves. */
    double d[] = {NAN, NAN, NAN};
    dist_stopper_init(&s, 0, 0, 1);
    stop = run_stopper(&s, d, 3, best);
    CHECK(stop == 1 && s.best_epoch == -1, "nan: stop %d best %d", stop, s.best_epoch);

    /* ReduceLROnPlateau: factor 0.5, patience 2, min_delta 1e-4, cooldown 1, min_lr 0.1. */
    struct dist_plateau p;
    dist_plateau_init(&p, 0, 0.5, 2, 1e-4, 1, 0.1);
    double vals[] = {1, 1, 1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
    double want[] = {1, 1, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25, 0.125, 0.125, 0.1, 0.1, 0.1, 0.1};
    double lr = 1;
    for (int i = 0; i < 14; i++) {
        lr = dist_plateau_update(&p, vals[i], lr);
        CHECK(fabs(lr - want[i]) < 1e-15, "plateau epoch %d: lr %g, expected %g", i, lr, want[i]);
    }
    /* An improvement smaller than min_delta does not reset the wait. */
    dist_plateau_init(&p, 0, 0.1, 1, 1e-4, 0, 0);
    lr = dist_plateau_update(&p, 1.0, 1e-3);
    lr = dist_plateau_update(&p, 1.0 - 5e-5, lr);
    CHECK(fabs(lr - 1e-4) < 1e-18, "tiny improvement: lr %g, expected 1e-4", lr);

    if (!failures) printf("test_callbacks: all checks passed\n");
    return failures != 0;
}
