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

/* ---- products with one B used many times (the LSTM recurrence: W_hh at every step) ----
 * nn_gemm_pack_b copies op(B) [K×N] once into buf (nn_gemm_pack_size(K, N) floats) in the
 * panel layout of ser's own AVX2/FMA micro-kernel (16 columns × K per panel); nn_gemm_packed
 * then computes C[M×N] = A[M×K] · op(B) + beta · C, beta 0 or 1, without repacking B (OpenBLAS
 * packs both operands on every call: for the 62 small recurrent products of a training step
 * that was ~15% of their time). Where the CPU lacks AVX2+FMA (or the kernel is switched off
 * with nn_gemm_packed_kernel(0)) both fall back to nn_gemm on B itself: keep B alive and
 * unchanged while the pack is used. */
struct nn_bpack {
    int trans_b;
    size_t K, N, ldb;
    const float *B;
    float *packed; /* NULL: fallback to nn_gemm */
};
size_t nn_gemm_pack_size(size_t K, size_t N);
void nn_gemm_pack_b(struct nn_bpack *p, float *buf, int trans_b, size_t K, size_t N,
                    const float *B /* [K×N] or [N×K] if trans_b */, size_t ldb);
void nn_gemm_packed(size_t M, const float *A /* [M×K] */, size_t lda, const struct nn_bpack *p,
                    float beta /* 0 or 1 */, float *C /* [M×N] */, size_t ldc);
/* 1: use the packed kernel where the CPU supports it (default); 0: always the fallback.
 * Returns whether the kernel is in use after the call. For tests and benchmarks. */
int nn_gemm_packed_kernel(int enable);

/* Threads OpenBLAS may use (1 = single-threaded, deterministic per call). */
void nn_set_threads(int n);

#endif
