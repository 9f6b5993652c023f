/* gemm.c: nn_gemm over cblas_sgemm (OpenBLAS). The test suite checks it against a naive loop. */
#include "gemm.h"

#include <cblas.h>
#include <time.h>

static struct nn_gemm_shape *trace_buf;
static size_t trace_cap, *trace_count;

void nn_gemm_trace(struct nn_gemm_shape *buf, size_t cap, size_t *count)
{
    trace_buf = buf;
    trace_cap = cap;
    trace_count = count;
    if (count) *count = 0;
}

void nn_gemm(int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha, const float *A,
             size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc)
{
    if (M == 0 || N == 0) return;
    struct timespec t0, t1;
    if (trace_buf) clock_gettime(CLOCK_MONOTONIC, &t0);
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (blasint)M, (blasint)N, (blasint)K, alpha, A,
                (blasint)lda, B, (blasint)ldb, beta, C, (blasint)ldc);
    if (trace_buf) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (*trace_count < trace_cap)
            trace_buf[*trace_count] = (struct nn_gemm_shape){
                trans_a, trans_b, M, N, K, lda, ldb, ldc, beta,
                (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec)};
        ++*trace_count;
    }
}

void nn_set_threads(int n)
{
    openblas_set_num_threads(n < 1 ? 1 : n);
}
