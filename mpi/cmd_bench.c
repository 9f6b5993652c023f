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
#include "mpi/memory.h"
#include "mpi/commands.h"
#include "nn/gemm.h"
#include "nn/model.h"
#include "nn/rng.h"

struct bench_cfg {
    long threads, batch, repeat;
    char model[4096];
    int shapes;
};

#define O(f) CLI_FIELD(struct bench_cfg, f)
static const struct cli_opt bench_opts[] = {
    {"threads", CLI_LONG, O(threads), "1", 1, 256, NULL, "N", "OpenBLAS threads", NULL, NULL, 0},
    {"batch", CLI_LONG, O(batch), "32", 1, 4096, NULL, "B", "samples per batch", NULL, NULL, 0},
    {"repeat", CLI_LONG, O(repeat), "20", 1, 100000, NULL, "R",
     "timed repetitions; the median is reported", NULL, NULL, 0},
    {"model", CLI_STRING, O(model), NN_DEFAULT_SPEC, 0, 0, NULL, "SPEC",
     "model spec string or file", NULL, NULL, 0},
    {"shapes", CLI_FLAG, O(shapes), NULL, 0, 0, NULL, NULL,
     "also print one line per GEMM shape of the training step", NULL, NULL, 0},
};

static const struct cli_table bench_table = {
    "bench",
    "ser bench [--threads N] [--batch B] [--repeat R] [--model SPEC]",
    "Measure training and inference throughput on synthetic input, and the GEMM-bound limit "
    "of a\ntraining step. Prints one JSON line per measurement.",
    bench_opts,
    sizeof bench_opts / sizeof bench_opts[0],
    NULL,
    NULL,
    0};

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

/* What the measurements share: the model, its optimizer, one synthetic batch. */
struct bench {
    const struct bench_cfg *cfg;
    size_t B, C, T, K;
    struct nn_model *m;
    struct nn_adam adam;
    float *x, *probs;
    int *y;
    uint64_t *ids;
    double *times, *ctimes;
};

static int bench_init(struct bench *b, const struct bench_cfg *cfg, struct err *e)
{
    memset(b, 0, sizeof *b);
    b->cfg = cfg;
    b->B = (size_t)cfg->batch, b->C = 40, b->T = 130, b->K = 7;
    b->x = malloc(b->B * b->C * b->T * sizeof *b->x);
    b->probs = malloc(b->B * b->K * sizeof *b->probs);
    b->y = malloc(b->B * sizeof *b->y);
    b->ids = malloc(b->B * sizeof *b->ids);
    b->times = malloc((size_t)cfg->repeat * sizeof *b->times);
    b->ctimes = malloc((size_t)cfg->repeat * sizeof *b->ctimes);
    if (!b->x || !b->probs || !b->y || !b->ids || !b->times || !b->ctimes)
        return err_set(e, "out of memory");
    if (dist_model_fits(cfg->model, b->C, b->T, b->K, b->B, e) ||
        nn_model_create(&b->m, cfg->model, b->C, b->T, b->K, b->B, e) != 0 ||
        nn_adam_init(&b->adam, nn_model_nparams(b->m), 1e-3, e) != 0)
        return -1;
    nn_model_init(b->m, 42);
    fill(b->x, b->B * b->C * b->T, 7);
    for (size_t s = 0; s < b->B; s++) {
        b->y[s] = (int)(s % b->K);
        b->ids[s] = s;
    }
    return 0;
}

static void bench_free(struct bench *b)
{
    nn_model_free(b->m);
    nn_adam_free(&b->adam);
    free(b->x), free(b->probs), free(b->y), free(b->ids), free(b->times), free(b->ctimes);
}

/* One training step: zero grads, forward+backward, Adam. */
static int train_step(struct bench *b, uint64_t epoch)
{
    struct nn_step st = {.seed = 1, .epoch = epoch, .sample_ids = b->ids, .train = 1};
    double loss;
    memset(nn_model_grads(b->m), 0, nn_model_nparams(b->m) * sizeof(float));
    if (nn_model_train_step(b->m, b->x, b->y, b->B, &st, &loss, NULL) != 0) return -1;
    nn_adam_step(&b->adam, nn_model_params(b->m), nn_model_grads(b->m));
    return 0;
}

/* Training and inference throughput; *train_sps / *train_cpu_ms for the limit's ratios. */
static int bench_throughput(struct bench *b, double *train_sps, double *train_cpu_ms, struct err *e)
{
    const struct bench_cfg *cfg = b->cfg;
    for (int what = 0; what < 2; what++) {
        for (long r = -1; r < cfg->repeat; r++) {
            double t0 = now_s(), c0 = cpu_s();
            int rc = what == 0 ? train_step(b, (uint64_t)(r + 1))
                               : nn_model_forward(b->m, b->x, NULL, b->B, NULL, b->probs);
            if (rc != 0) return err_set(e, "the model refused a batch of %zu", b->B);
            if (r >= 0) b->times[r] = now_s() - t0, b->ctimes[r] = cpu_s() - c0;
        }
        double ms = 1e3 * median(b->times, (size_t)cfg->repeat);
        double cpu_ms = 1e3 * median(b->ctimes, (size_t)cfg->repeat);
        if (what == 0) *train_sps = (double)b->B / (ms * 1e-3), *train_cpu_ms = cpu_ms;
        printf("{\"what\":\"%s\",\"threads\":%ld,\"batch\":%zu,\"samples_per_s\":%.1f,"
               "\"ms_per_batch_median\":%.3f,\"cpu_ms_per_batch_median\":%.3f,\"repeat\":%ld}\n",
               what == 0 ? "train" : "inference", cfg->threads, b->B, (double)b->B / (ms * 1e-3),
               ms, cpu_ms, cfg->repeat);
    }
    fflush(stdout);
    return 0;
}

/* The distinct GEMM shapes of one training step, with their call counts. */
static int trace_shapes(struct bench *b, struct nn_gemm_shape **shapes, size_t **counts,
                        size_t *nshapes, size_t *ncalls, double *flops, double *insitu,
                        struct err *e)
{
    enum { CAP = 100000 };
    struct nn_gemm_shape *trace = malloc(CAP * sizeof *trace);
    if (!trace) return err_set(e, "out of memory");
    nn_gemm_trace(trace, CAP, ncalls);
    int rc = train_step(b, 0);
    nn_gemm_trace(NULL, 0, NULL);
    if (*ncalls > CAP) *ncalls = CAP;
    *shapes = malloc((*ncalls ? *ncalls : 1) * sizeof **shapes);
    *counts = calloc(*ncalls ? *ncalls : 1, sizeof **counts);
    if (rc != 0 || !*shapes || !*counts) {
        free(trace);
        return err_set(e, rc ? "the model refused a batch" : "out of memory");
    }
    *nshapes = 0, *flops = 0, *insitu = 0;
    for (size_t i = 0; i < *ncalls; i++) {
        *flops += 2.0 * (double)trace[i].M * (double)trace[i].N * (double)trace[i].K;
        *insitu += trace[i].seconds;
        size_t j = 0;
        while (j < *nshapes && !same_shape(&(*shapes)[j], &trace[i])) j++;
        if (j == *nshapes) (*shapes)[(*nshapes)++] = trace[i], (*shapes)[j].seconds = 0;
        (*shapes)[j].seconds += trace[i].seconds;
        (*counts)[j]++;
    }
    free(trace);
    return 0;
}

/* GEMM-bound limit: the GEMM calls of one training step, timed shape by shape. */
static int bench_limit(struct bench *b, double train_sps, double train_cpu_ms, struct err *e)
{
    const struct bench_cfg *cfg = b->cfg;
    struct nn_gemm_shape *shapes = NULL;
    size_t *counts = NULL, nshapes = 0, ncalls = 0;
    double traced_flops, insitu_s, gemm_s = 0, gemm_cpu_s = 0;
    int fail = 0;
    if (trace_shapes(b, &shapes, &counts, &nshapes, &ncalls, &traced_flops, &insitu_s, e)) {
        free(shapes), free(counts);
        return -1;
    }
    for (size_t j = 0; j < nshapes; j++) {
        const struct nn_gemm_shape *g = &shapes[j];
        double tc, t = time_gemm(g, cfg->repeat, &tc, &fail);
        double gf = 2.0 * (double)g->M * (double)g->N * (double)g->K * 1e-9;
        gemm_s += (double)counts[j] * t;
        gemm_cpu_s += (double)counts[j] * tc;
        if (cfg->shapes)
            printf("{\"what\":\"gemm_shape\",\"trans_a\":%d,\"trans_b\":%d,\"M\":%zu,\"N\":%zu,"
                   "\"K\":%zu,\"calls\":%zu,\"us_per_call\":%.2f,\"gflops\":%.2f,"
                   "\"cpu_gflops\":%.2f,\"in_step_us_per_call\":%.2f}\n",
                   g->trans_a, g->trans_b, g->M, g->N, g->K, counts[j], t * 1e6, gf / t, gf / tc,
                   g->seconds / (double)counts[j] * 1e6);
    }
    free(shapes), free(counts);
    if (fail) return err_set(e, "out of memory");
    double limit_sps = (double)b->B / gemm_s;
    printf("{\"what\":\"gemm_limit\",\"threads\":%ld,\"batch\":%zu,\"flops_per_sample\":%.0f,"
           "\"traced_flops_per_sample\":%.0f,\"gemm_calls\":%zu,\"gemm_shapes\":%zu,"
           "\"gflops\":%.2f,\"ms_per_batch\":%.3f,\"samples_per_s\":%.1f,"
           "\"train_over_limit\":%.3f,\"cpu_ms_per_batch\":%.3f,\"cpu_train_over_limit\":%.3f,"
           "\"gemm_ms_in_one_step\":%.3f}\n",
           cfg->threads, b->B, nn_model_flops_train(b->m), traced_flops / (double)b->B, ncalls,
           nshapes, traced_flops / gemm_s * 1e-9, gemm_s * 1e3, limit_sps, train_sps / limit_sps,
           gemm_cpu_s * 1e3, gemm_cpu_s / (train_cpu_ms * 1e-3), insitu_s * 1e3);
    return 0;
}

int cmd_bench(int argc, char **argv)
{
    struct bench_cfg cfg;
    int first;
    cli_defaults(&bench_table, &cfg);
    int rc = cli_parse(&bench_table, argc, argv, &cfg, &first);
    if (rc != CLI_OK) return cli_exit_code(rc);
    if (first < argc) {
        fprintf(stderr, "ser bench: unexpected argument '%s'\n", argv[first]);
        return SER_EXIT_INPUT;
    }
    nn_set_threads((int)cfg.threads);
    struct bench b;
    struct err e = {0};
    double sps = 0, cpu_ms = 0;
    rc = bench_init(&b, &cfg, &e) || bench_throughput(&b, &sps, &cpu_ms, &e) ||
         bench_limit(&b, sps, cpu_ms, &e);
    bench_free(&b);
    if (rc) {
        fprintf(stderr, "ser bench: %s\n", e.msg);
        return err_exit_code(&e);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "ser bench: cannot write to standard output\n");
        return SER_EXIT_IO;
    }
    return 0;
}
