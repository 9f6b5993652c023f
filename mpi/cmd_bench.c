/* cmd_bench.c: `ser bench` measures training (forward + backward + Adam) and inference
 * throughput of a model on synthetic 40 x 130 input, and the GEMM-bound limit: the sgemm
 * time of exactly the GEMM calls one training step makes (shapes recorded with
 * nn_gemm_trace, each timed on its own), which bounds the step from below. One JSON line per
 * measurement; times are medians over --repeat runs after one warm-up. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/adam.h"
#include "mpi/cli.h"
#include "mpi/commands.h"
#include "nn/gemm.h"
#include "nn/model.h"
#include "nn/rng.h"

struct bench_cfg {
    long threads, batch, repeat;
    const char *model;
    int shapes;
};

static const struct cli_opt bench_opts[] = {
    {"threads", "N", "OpenBLAS threads (default: 1)"},
    {"batch", "B", "samples per batch (default: 32)"},
    {"repeat", "R", "timed repetitions; the median is reported (default: 20)"},
    {"model", "SPEC", "model spec string or file (default: the default model)"},
    {"shapes", NULL, "also print one line per GEMM shape of the training step"},
};

static int bench_apply(void *ctx, int index, const char *arg, struct err *e)
{
    struct bench_cfg *c = ctx;
    switch (index) {
    case 0:
        return cli_long("threads", arg, 1, 256, &c->threads, e);
    case 1:
        return cli_long("batch", arg, 1, 4096, &c->batch, e);
    case 2:
        return cli_long("repeat", arg, 1, 100000, &c->repeat, e);
    case 3:
        c->model = arg;
        return 0;
    case 4:
        c->shapes = 1;
        return 0;
    }
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU time of this thread: with 1 thread, robust against other processes on a shared host */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void fill(float *p, size_t n, uint64_t key)
{
    for (size_t i = 0; i < n; i++)
        p[i] = 2.0f * nn_rng_uniform(nn_rng_hash5(key, i, 0, 0, 0)) - 1.0f;
}

static int same_shape(const struct nn_gemm_shape *a, const struct nn_gemm_shape *b)
{
    return a->trans_a == b->trans_a && a->trans_b == b->trans_b && a->M == b->M && a->N == b->N &&
           a->K == b->K && a->lda == b->lda && a->ldb == b->ldb && a->ldc == b->ldc &&
           a->beta == b->beta;
}

/* Median seconds of one call of shape s (buffers filled with random values): wall clock,
 * and in *cpu this thread's CPU time. */
static double time_gemm(const struct nn_gemm_shape *s, long repeat, double *cpu, int *fail)
{
    size_t na = (s->trans_a ? s->K : s->M) * s->lda, nb = (s->trans_b ? s->N : s->K) * s->ldb;
    size_t nc = s->M * s->ldc;
    float *A = malloc((na ? na : 1) * sizeof *A), *B = malloc((nb ? nb : 1) * sizeof *B);
    float *C = malloc((nc ? nc : 1) * sizeof *C);
    double *t = malloc((size_t)repeat * sizeof *t), *ct = malloc((size_t)repeat * sizeof *ct);
    double med = 0;
    *cpu = 0;
    if (!A || !B || !C || !t || !ct) {
        *fail = 1;
    } else {
        fill(A, na, 1);
        fill(B, nb, 2);
        fill(C, nc, 3);
        nn_gemm(s->trans_a, s->trans_b, s->M, s->N, s->K, 1.0f, A, s->lda, B, s->ldb, s->beta, C,
                s->ldc);
        for (long r = 0; r < repeat; r++) {
            /* several calls per sample so that microsecond GEMMs are measurable */
            int inner = 8;
            double t0 = now_s(), c0 = cpu_s();
            for (int i = 0; i < inner; i++)
                nn_gemm(s->trans_a, s->trans_b, s->M, s->N, s->K, 1.0f, A, s->lda, B, s->ldb,
                        s->beta, C, s->ldc);
            t[r] = (now_s() - t0) / inner;
            ct[r] = (cpu_s() - c0) / inner;
        }
        med = median(t, (size_t)repeat);
        *cpu = median(ct, (size_t)repeat);
    }
    free(A);
    free(B);
    free(C);
    free(t);
    free(ct);
    return med;
}

int cmd_bench(int argc, char **argv)
{
    struct bench_cfg cfg = {1, 32, 20, NN_DEFAULT_SPEC, 0};
    int first;
    int rc = cli_parse(
        argc, argv, "ser bench [--threads N] [--batch B] [--repeat R] [--model SPEC]",
        "Measure training and inference throughput on synthetic input, and the "
        "GEMM-bound limit of a training step. Prints one JSON line per measurement.",
        bench_opts, (int)(sizeof bench_opts / sizeof bench_opts[0]), bench_apply, &cfg, &first);
    if (rc == CLI_HELP) return 0;
    if (rc != CLI_OK) return 1;
    if (first < argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", argv[0], argv[first]);
        return 1;
    }
    nn_set_threads((int)cfg.threads);
    const size_t B = (size_t)cfg.batch, C = 40, T = 130, K = 7;
    struct err e = {{0}};
    struct nn_model *m = NULL;
    struct nn_adam adam = {0};
    float *x = malloc(B * C * T * sizeof *x), *probs = malloc(B * K * sizeof *probs);
    int *y = malloc(B * sizeof *y);
    uint64_t *ids = malloc(B * sizeof *ids);
    double *times = malloc((size_t)cfg.repeat * sizeof *times);
    double *ctimes = malloc((size_t)cfg.repeat * sizeof *ctimes);
    struct nn_gemm_shape *shapes = NULL;
    size_t *counts = NULL;
    rc = 1;
    if (!x || !probs || !y || !ids || !times || !ctimes) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        goto done;
    }
    if (nn_model_create(&m, cfg.model, C, T, K, B, &e) != 0 ||
        nn_adam_init(&adam, nn_model_nparams(m), 1e-3, &e) != 0) {
        fprintf(stderr, "%s: %s\n", argv[0], e.msg);
        goto done;
    }
    nn_model_init(m, 42);
    fill(x, B * C * T, 7);
    for (size_t s = 0; s < B; s++) {
        y[s] = (int)(s % K);
        ids[s] = s;
    }
    float *params = nn_model_params(m), *grads = nn_model_grads(m);
    const size_t np = nn_model_nparams(m);
    double loss;

    /* training: zero grads, forward+backward, Adam */
    for (long r = -1; r < cfg.repeat; r++) {
        struct nn_step st = {1, (uint64_t)(r + 1), ids, 1};
        double t0 = now_s(), c0 = cpu_s();
        memset(grads, 0, np * sizeof *grads);
        nn_model_train_step(m, x, y, B, &st, &loss, NULL);
        nn_adam_step(&adam, params, grads);
        if (r >= 0) {
            times[r] = now_s() - t0;
            ctimes[r] = cpu_s() - c0;
        }
    }
    double train_ms = 1e3 * median(times, (size_t)cfg.repeat);
    double train_sps = (double)B / (train_ms * 1e-3);
    double train_cpu_ms = 1e3 * median(ctimes, (size_t)cfg.repeat);
    printf("{\"what\":\"train\",\"threads\":%ld,\"batch\":%zu,\"samples_per_s\":%.1f,"
           "\"ms_per_batch_median\":%.3f,\"cpu_ms_per_batch_median\":%.3f,\"repeat\":%ld}\n",
           cfg.threads, B, train_sps, train_ms, train_cpu_ms, cfg.repeat);

    for (long r = -1; r < cfg.repeat; r++) {
        double t0 = now_s(), c0 = cpu_s();
        nn_model_forward(m, x, NULL, B, NULL, probs);
        if (r >= 0) {
            times[r] = now_s() - t0;
            ctimes[r] = cpu_s() - c0;
        }
    }
    double inf_ms = 1e3 * median(times, (size_t)cfg.repeat);
    printf("{\"what\":\"inference\",\"threads\":%ld,\"batch\":%zu,\"samples_per_s\":%.1f,"
           "\"ms_per_batch_median\":%.3f,\"cpu_ms_per_batch_median\":%.3f,\"repeat\":%ld}\n",
           cfg.threads, B, (double)B / (inf_ms * 1e-3), inf_ms,
           1e3 * median(ctimes, (size_t)cfg.repeat), cfg.repeat);
    fflush(stdout);

    /* GEMM-bound limit: the GEMM calls of one training step, timed shape by shape */
    enum { CAP = 100000 };
    struct nn_gemm_shape *trace = malloc(CAP * sizeof *trace);
    size_t ncalls = 0;
    if (!trace) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        goto done;
    }
    struct nn_step st = {1, 0, ids, 1};
    nn_gemm_trace(trace, CAP, &ncalls);
    memset(grads, 0, np * sizeof *grads);
    nn_model_train_step(m, x, y, B, &st, &loss, NULL);
    nn_gemm_trace(NULL, 0, NULL);
    if (ncalls > CAP) ncalls = CAP;
    shapes = malloc((ncalls ? ncalls : 1) * sizeof *shapes);
    counts = calloc(ncalls ? ncalls : 1, sizeof *counts);
    if (!shapes || !counts) {
        free(trace);
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        goto done;
    }
    size_t nshapes = 0;
    double traced_flops = 0, insitu_s = 0;
    for (size_t i = 0; i < ncalls; i++) {
        traced_flops += 2.0 * (double)trace[i].M * (double)trace[i].N * (double)trace[i].K;
        insitu_s += trace[i].seconds;
        size_t j = 0;
        while (j < nshapes && !same_shape(&shapes[j], &trace[i])) j++;
        if (j == nshapes) {
            shapes[nshapes] = trace[i];
            shapes[nshapes++].seconds = 0;
        }
        shapes[j].seconds += trace[i].seconds;
        counts[j]++;
    }
    free(trace);
    double gemm_s = 0, gemm_cpu_s = 0;
    int fail = 0;
    for (size_t j = 0; j < nshapes; j++) {
        const struct nn_gemm_shape *g = &shapes[j];
        double tc, t = time_gemm(g, cfg.repeat, &tc, &fail);
        gemm_s += (double)counts[j] * t;
        gemm_cpu_s += (double)counts[j] * tc;
        if (cfg.shapes)
            printf("{\"what\":\"gemm_shape\",\"trans_a\":%d,\"trans_b\":%d,\"M\":%zu,\"N\":%zu,"
                   "\"K\":%zu,\"calls\":%zu,\"us_per_call\":%.2f,\"gflops\":%.2f,"
                   "\"cpu_gflops\":%.2f,\"in_step_us_per_call\":%.2f}\n",
                   g->trans_a, g->trans_b, g->M, g->N, g->K, counts[j], t * 1e6,
                   2.0 * (double)g->M * (double)g->N * (double)g->K / t * 1e-9,
                   2.0 * (double)g->M * (double)g->N * (double)g->K / tc * 1e-9,
                   g->seconds / (double)counts[j] * 1e6);
    }
    if (fail) {
        fprintf(stderr, "%s: out of memory\n", argv[0]);
        goto done;
    }
    double flops_per_sample = nn_model_flops_train(m);
    double limit_sps = (double)B / gemm_s;
    printf("{\"what\":\"gemm_limit\",\"threads\":%ld,\"batch\":%zu,\"flops_per_sample\":%.0f,"
           "\"traced_flops_per_sample\":%.0f,\"gemm_calls\":%zu,\"gemm_shapes\":%zu,"
           "\"gflops\":%.2f,\"ms_per_batch\":%.3f,\"samples_per_s\":%.1f,"
           "\"train_over_limit\":%.3f,\"cpu_ms_per_batch\":%.3f,\"cpu_train_over_limit\":%.3f,"
           "\"gemm_ms_in_one_step\":%.3f}\n",
           cfg.threads, B, flops_per_sample, traced_flops / (double)B, ncalls, nshapes,
           traced_flops / gemm_s * 1e-9, gemm_s * 1e3, limit_sps, train_sps / limit_sps,
           gemm_cpu_s * 1e3, gemm_cpu_s / (train_cpu_ms * 1e-3), insitu_s * 1e3);
    rc = 0;
done:
    nn_model_free(m);
    nn_adam_free(&adam);
    free(x);
    free(probs);
    free(y);
    free(ids);
    free(times);
    free(ctimes);
    free(shapes);
    free(counts);
    return rc;
}
