/* test_nn_adam.c: nn_adam_step against the torch.optim.Adam / AdamW update written out in
 * double here (bias-corrected, eps added after the corrected sqrt(v)), 5 steps with
 * varying gradients and a learning-rate change; nn_clip_grad_norm against
 * torch.nn.utils.clip_grad_norm_'s definition. Tolerance: |p - ref| <= 1e-5 max(|ref|, 0.1)
 * (float32 rounding of 5 updates; a wrong bias correction is off by > 1e-3). Exits 1 on failure. */
#include <math.h>
#include <stdio.h>

#include "nn/adam.h"

static int failures;

static void expect(int ok, const char *what)
{
    printf("%-50s %s\n", what, ok ? "ok" : "FAIL");
    if (!ok) failures++;
}

static void run(double wd)
{
    enum { N = 9 };
    struct nn_adam a;
    struct err e;
    float p[N], g[N];
    double rp[N], rm[N] = {0}, rv[N] = {0};
    for (int i = 0; i < N; i++) rp[i] = p[i] = 0.1f * (float)(i - 4);
    if (nn_adam_init(&a, N, 1e-2, &e) != 0) {
        expect(0, e.msg);
        return;
    }
    a.weight_decay = wd;
    double maxrel = 0;
    for (int t = 1; t <= 5; t++) {
        if (t == 4) a.lr = 3e-3;
        for (int i = 0; i < N; i++) g[i] = (float)sin(1.0 + i * 0.7 + t) * (i == 3 ? 1e-9f : 1.0f);
        nn_adam_step(&a, p, g);
        double lr = a.lr, b1 = 0.9, b2 = 0.999;
        for (int i = 0; i < N; i++) {
            rp[i] *= 1 - lr * wd;
            rm[i] = b1 * rm[i] + (1 - b1) * g[i];
            rv[i] = b2 * rv[i] + (1 - b2) * (double)g[i] * g[i];
            double mh = rm[i] / (1 - pow(b1, t)), denom = sqrt(rv[i] / (1 - pow(b2, t))) + 1e-8;
            rp[i] -= lr * mh / denom;
            maxrel = fmax(maxrel, fabs(p[i] - rp[i]) / fmax(fabs(rp[i]), 0.1));
        }
    }
    char what[96];
    snprintf(what, sizeof what, "adam wd=%g: 5 steps, max rel err %.1e", wd, maxrel);
    expect(maxrel < 1e-5 && a.t == 5, what);
    nn_adam_free(&a);
}

int main(void)
{
    run(0.0);
    run(0.01);
    float g[4] = {3, 4, 0, 0};
    double n = nn_clip_grad_norm(g, 4, 1.0);
    double c = 1.0 / (5.0 + 1e-6);
    expect(fabs(n - 5.0) < 1e-12 && fabs(g[0] - 3 * c) < 1e-7 && fabs(g[1] - 4 * c) < 1e-7,
           "clip to 1: norm 5 returned, scaled by 1/(5+1e-6)");
    float h[2] = {0.3f, 0.4f};
    n = nn_clip_grad_norm(h, 2, 1.0);
    expect(fabs(n - 0.5) < 1e-7 && h[0] == 0.3f && h[1] == 0.4f, "norm below max: unchanged");
    printf("%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
