/* gemm.h: the one wrapper around OpenBLAS; the only caller of cblas_sgemm in ser.
 *
 * Row-major single precision: C[M×N] = alpha · op(A) · op(B) + beta · C, with op(A) [M×K]
 * and op(B) [K×N]; lda/ldb/ldc are the row strides of A, B, C as stored.
 */
#ifndef SER_NN_GEMM_H
#define SER_NN_GEMM_H

#include <stddef.h>

void nn_gemm(int trans_a, int trans_b, size_t M, size_t N, size_t K, float alpha,
             const float *A /* [M×K] or [K×M] if trans_a */, size_t lda,
             const float *B /* [K×N] or [N×K] if trans_b */, size_t ldb, float beta,
             float *C /* [M×N] */, size_t ldc);

/* Shape of one nn_gemm call, for benchmarks (ser bench measures the GEMM-bound limit on the
 * shapes a training step really uses). */
struct nn_gemm_shape {
    int trans_a, trans_b;
    size_t M, N, K, lda, ldb, ldc;
    float beta;
    double seconds; /* wall time of this call */
};
/* While buf is not NULL, every nn_gemm call appends its shape to buf (up to cap entries)
 * and increments *count (all calls, also past cap); nn_gemm_trace(NULL, 0, NULL) stops.
 * Global state: for single-threaded benchmarks only. */
void nn_gemm_trace(struct nn_gemm_shape *buf, size_t cap, size_t *count);

/* Threads OpenBLAS may use (1 = single-threaded, deterministic per call). */
void nn_set_threads(int n);

#endif
