/* gemm.c: nn_gemm over cblas_sgemm (OpenBLAS), and the packed-B product of the LSTM
 * recurrence (see gemm.h) with its AVX2/FMA micro-kernel. The test suite checks both against
 * a naive loop. */
#include "nn/gemm.h"

#include <cblas.h>
#include <string.h>
#include <time.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define NN_HAVE_KERNEL 1
#else
#define NN_HAVE_KERNEL 0
#endif

static struct nn_gemm_shape *trace_buf;
static size_t trace_cap, *trace_count;

void nn_gemm_trace(struct nn_gemm_shape *buf, size_t cap, size_t *count)
{
    trace_buf = buf;
    trace_cap = cap;
    trace_count = count;
    if (count) *count = 0;
}

static void trace_add(int trans_a, int trans_b, size_t M, size_t N, size_t K, size_t lda,
                      size_t ldb, size_t ldc, float beta, const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0->tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0->tv_nsec);
    if (*trace_count < trace_cap)
        trace_buf[*trace_count] =
            (struct nn_gemm_shape){trans_a, trans_b, M, N, K, lda, ldb, ldc, beta, secs};
    ++*trace_count;
}

void nn_gemm(int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha, const float *A,
             size_t lda, const float *B, size_t ldb, float beta, float *C, size_t ldc)
{
    if (M == 0 || N == 0) return;
    struct timespec t0;
    if (trace_buf) clock_gettime(CLOCK_MONOTONIC, &t0);
    cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                trans_b ? CblasTrans : CblasNoTrans, (blasint)M, (blasint)N, (blasint)K, alpha, A,
                (blasint)lda, B, (blasint)ldb, beta, C, (blasint)ldc);
    if (trace_buf) trace_add(trans_a, trans_b, M, N, K, lda, ldb, ldc, beta, &t0);
}

/* ---------------------------------------------------------------- packed B */

enum { NR = 16 }; /* micro-tiles: 6 (or 4) rows × 16 columns, two AVX registers per row */

static int kernel_on = -1; /* -1: not decided yet */

int nn_gemm_packed_kernel(int enable)
{
#if NN_HAVE_KERNEL
    kernel_on = enable && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    (void)enable;
    kernel_on = 0;
#endif
    return kernel_on;
}

size_t nn_gemm_pack_size(size_t K, size_t N)
{
    return (N + NR - 1) / NR * NR * K;
}

void nn_gemm_pack_b(struct nn_bpack *p, float *buf, int trans_b, size_t K, size_t N, const float *B,
                    size_t ldb)
{
    if (kernel_on < 0) nn_gemm_packed_kernel(1);
    *p = (struct nn_bpack){trans_b, K, N, ldb, B, kernel_on ? buf : NULL};
    if (!kernel_on) return;
    /* panel jb, row k: the 16 values op(B)[k][16 jb .. 16 jb + 15], zero past N */
    for (size_t jb = 0; jb < (N + NR - 1) / NR; jb++) {
        float *panel = buf + jb * K * NR;
        const size_t j0 = jb * NR, nc = N - j0 < NR ? N - j0 : NR;
        if (trans_b) { /* B [N×K]: column j of op(B) is row j of B */
            for (size_t jj = 0; jj < NR; jj++) {
                const float *row = B + (j0 + jj) * ldb;
                for (size_t k = 0; k < K; k++) panel[k * NR + jj] = jj < nc ? row[k] : 0.0f;
            }
        } else {
            for (size_t k = 0; k < K; k++)
                for (size_t jj = 0; jj < NR; jj++)
                    panel[k * NR + jj] = jj < nc ? B[k * ldb + j0 + jj] : 0.0f;
        }
    }
}

#if NN_HAVE_KERNEL
/* Store row r of a tile: ncols (<= 16) values of the accumulators lo, hi, plus C if beta1. */
__attribute__((target("avx2,fma"), always_inline)) static inline void
store_row(float *c, __m256 lo, __m256 hi, int beta1, size_t ncols)
{
    if (ncols == NR) {
        if (beta1) {
            lo = _mm256_add_ps(lo, _mm256_loadu_ps(c));
            hi = _mm256_add_ps(hi, _mm256_loadu_ps(c + 8));
        }
        _mm256_storeu_ps(c, lo);
        _mm256_storeu_ps(c + 8, hi);
    } else {
        float t[NR];
        _mm256_storeu_ps(t, lo);
        _mm256_storeu_ps(t + 8, hi);
        for (size_t j = 0; j < ncols; j++) c[j] = beta1 ? c[j] + t[j] : t[j];
    }
}

/* One micro-tile: C rows [0, mr) × ncols columns = A rows × panel [K×16] (+ C if beta1).
 * R (a constant: 6 or 4) rows of accumulators, 12 or 8 of the 16 AVX registers, named one by
 * one so that gcc keeps them in registers and drops rows >= R; rows past mr (<= R) repeat the
 * last row and are not stored. */
#define FMA_ROW(i)                                                                                 \
    do {                                                                                           \
        __m256 a = _mm256_broadcast_ss(A + r##i + k);                                              \
        l##i = _mm256_fmadd_ps(a, b0, l##i);                                                       \
        h##i = _mm256_fmadd_ps(a, b1, h##i);                                                       \
    } while (0)

__attribute__((target("avx2,fma"), always_inline)) static inline void
tile(const int R, size_t mr, size_t K, const float *A, size_t lda, const float *panel, float *C,
     size_t ldc, int beta1, size_t ncols)
{
    /* offsets of the rows in A: row i, or the last row for i >= mr */
    const size_t r0 = 0, r1 = (mr > 1 ? 1 : mr - 1) * lda, r2 = (mr > 2 ? 2 : mr - 1) * lda;
    const size_t r3 = (mr > 3 ? 3 : mr - 1) * lda, r4 = (mr > 4 ? 4 : mr - 1) * lda;
    const size_t r5 = (mr > 5 ? 5 : mr - 1) * lda;
    __m256 l0 = _mm256_setzero_ps(), h0 = l0, l1 = l0, h1 = l0, l2 = l0, h2 = l0, l3 = l0, h3 = l0;
    __m256 l4 = l0, h4 = l0, l5 = l0, h5 = l0;
    for (size_t k = 0; k < K; k++) {
        __m256 b0 = _mm256_loadu_ps(panel + k * NR), b1 = _mm256_loadu_ps(panel + k * NR + 8);
        FMA_ROW(0);
        FMA_ROW(1);
        FMA_ROW(2);
        FMA_ROW(3);
        if (R > 4) {
            FMA_ROW(4);
            FMA_ROW(5);
        }
    }
    __m256 lo[6] = {l0, l1, l2, l3, l4, l5}, hi[6] = {h0, h1, h2, h3, h4, h5};
    for (size_t i = 0; i < mr && i < (size_t)R; i++)
        store_row(C + i * ldc, lo[i], hi[i], beta1, ncols);
}

/* Rows in tiles of 6, with up to two tiles of 4 so that M = 6 n + 4 m where possible (32 =
 * 4·6 + 2·4: no wasted rows); a remainder of 1, 3 or 5 rows goes to one partial tile. */
__attribute__((target("avx2,fma"))) static void packed_kernel(size_t M, const float *A, size_t lda,
                                                              const struct nn_bpack *p, int beta1,
                                                              float *C, size_t ldc)
{
    const size_t K = p->K, N = p->N;
    const size_t n4 = M % 6 == 4 ? 1 : (M % 6 == 2 && M >= 8) ? 2 : 0;
    const size_t m6 = (M - 4 * n4) / 6 * 6; /* rows in full tiles of 6 */
    for (size_t jb = 0; jb * NR < N; jb++) {
        const float *panel = p->packed + jb * K * NR;
        const size_t ncols = N - jb * NR < NR ? N - jb * NR : NR;
        float *Cj = C + jb * NR;
        size_t i = 0;
        for (; i < m6; i += 6)
            tile(6, 6, K, A + i * lda, lda, panel, Cj + i * ldc, ldc, beta1, ncols);
        for (size_t t = 0; t < n4; t++, i += 4)
            tile(4, 4, K, A + i * lda, lda, panel, Cj + i * ldc, ldc, beta1, ncols);
        if (M - i > 4)
            tile(6, M - i, K, A + i * lda, lda, panel, Cj + i * ldc, ldc, beta1, ncols);
        else if (M > i)
            tile(4, M - i, K, A + i * lda, lda, panel, Cj + i * ldc, ldc, beta1, ncols);
    }
}
#endif

void nn_gemm_packed(size_t M, const float *A, size_t lda, const struct nn_bpack *p, float beta,
                    float *C, size_t ldc)
{
#if NN_HAVE_KERNEL
    if (p->packed && M > 0 && p->N > 0) {
        struct timespec t0;
        if (trace_buf) clock_gettime(CLOCK_MONOTONIC, &t0);
        if (p->K == 0) {
            if (beta == 0.0f)
                for (size_t i = 0; i < M; i++) memset(C + i * ldc, 0, p->N * sizeof *C);
        } else {
            packed_kernel(M, A, lda, p, beta != 0.0f, C, ldc);
        }
        /* the limit of `ser bench` times this shape with OpenBLAS, like every other */
        if (trace_buf) trace_add(0, p->trans_b, M, p->N, p->K, lda, p->ldb, ldc, beta, &t0);
        return;
    }
#endif
    nn_gemm(0, p->trans_b, M, p->N, p->K, 1.0f, A, lda, p->B, p->ldb, beta, C, ldc);
}

void nn_set_threads(int n)
{
    openblas_set_num_threads(n < 1 ? 1 : n);
}
