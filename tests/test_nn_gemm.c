/* test_nn_gemm.c: nn_gemm (the OpenBLAS wrapper) against a naive triple loop in double, for
 * all four transpose combinations, odd sizes, padded leading dimensions, alpha and beta; and
 * the packed-B product (nn_gemm_pack_b / nn_gemm_packed) the same way, with ser's AVX2/FMA
 * micro-kernel and with the fallback, over row counts that exercise every tile split (full
 * tiles of 6 and 4, partial tiles), column counts around the 16-column panels, B transposed
 * or not, beta 0 and 1, and several products from one pack.
 * Tolerance: |got - ref| <= 1e-5 * (1 + sum_k |a||b|) per element. Exits 1 on any mismatch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "nn/gemm.h"
#include "nn/rng.h"

static void fill(float *p, size_t n, uint64_t key)
{
    for (size_t i = 0; i < n; i++)
        p[i] = 2.0f * nn_rng_uniform(nn_rng_hash5(key, i, 9, 9, 9)) - 1.0f;
}

/* C (after) against alpha op(A) op(B) + beta C0 in double; padding columns untouched.
 * Returns 1 (with a message naming `what`) on the first mismatch. */
static int verify(const char *what, int ta, int tb, size_t M, size_t N, size_t K, float alpha,
                  float beta, const float *A, size_t lda, const float *B, size_t ldb,
                  const float *C, const float *C0, size_t ldc)
{
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < ldc; j++) {
            if (j >= N) { /* padding columns must be untouched */
                if (C[i * ldc + j] == C0[i * ldc + j]) continue;
                fprintf(stderr, "%s ta=%d tb=%d M=%zu N=%zu K=%zu: padding C[%zu][%zu] changed\n",
                        what, ta, tb, M, N, K, i, j);
                return 1;
            }
            double s = 0, mag = 0;
            for (size_t k = 0; k < K; k++) {
                double a = ta ? A[k * lda + i] : A[i * lda + k];
                double b = tb ? B[j * ldb + k] : B[k * ldb + j];
                s += a * b;
                mag += fabs(a * b);
            }
            double ref = alpha * s + beta * (double)C0[i * ldc + j];
            if (fabs(C[i * ldc + j] - ref) > 1e-5 * (1.0 + mag + fabs(C0[i * ldc + j]))) {
                fprintf(stderr,
                        "%s ta=%d tb=%d M=%zu N=%zu K=%zu beta=%g: C[%zu][%zu] = %.7g, "
                        "expected %.7g\n",
                        what, ta, tb, M, N, K, beta, i, j, C[i * ldc + j], ref);
                return 1;
            }
        }
    return 0;
}

static int check(int ta, int tb, size_t M, size_t N, size_t K, float alpha, float beta)
{
    size_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
    size_t na = (ta ? K : M) * lda, nb = (tb ? N : K) * ldb, nc = M * ldc;
    float *A = malloc((na + 1) * sizeof *A), *B = malloc((nb + 1) * sizeof *B);
    float *C = malloc((nc + 1) * sizeof *C), *C0 = malloc((nc + 1) * sizeof *C0);
    int bad = 0;
    if (!A || !B || !C || !C0) {
        fprintf(stderr, "out of memory\n");
        bad = 1;
        goto out;
    }
    fill(A, na, 1 + M);
    fill(B, nb, 2 + N);
    fill(C, nc, 3 + K);
    for (size_t i = 0; i < nc; i++) C0[i] = C[i];
    nn_gemm(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
    bad = verify("gemm", ta, tb, M, N, K, alpha, beta, A, lda, B, ldb, C, C0, ldc);
out:
    free(A);
    free(B);
    free(C);
    free(C0);
    return bad;
}

/* C = A · op(B) + beta C through a pack, two products from the same pack */
static int check_packed(int tb, size_t M, size_t N, size_t K, float beta)
{
    size_t lda = K + 3, ldb = (tb ? K : N) + 1, ldc = N + 2;
    size_t na = M * lda, nb = (tb ? N : K) * ldb, nc = M * ldc;
    float *A = malloc((na + 1) * sizeof *A), *B = malloc((nb + 1) * sizeof *B);
    float *C = malloc((nc + 1) * sizeof *C), *C0 = malloc((nc + 1) * sizeof *C0);
    float *P = malloc((nn_gemm_pack_size(K, N) + 1) * sizeof *P);
    int bad = 0;
    if (!A || !B || !C || !C0 || !P) {
        fprintf(stderr, "out of memory\n");
        bad = 1;
        goto out;
    }
    fill(B, nb, 5 + N);
    struct nn_bpack pk;
    nn_gemm_pack_b(&pk, P, tb, K, N, B, ldb);
    for (int rep = 0; rep < 2 && !bad; rep++) {
        fill(A, na, 4 + M + 100 * (size_t)rep);
        fill(C, nc, 6 + K + 100 * (size_t)rep);
        for (size_t i = 0; i < nc; i++) C0[i] = C[i];
        nn_gemm_packed(M, A, lda, &pk, beta, C, ldc);
        bad = verify("packed", 0, tb, M, N, K, 1.0f, beta, A, lda, B, ldb, C, C0, ldc);
    }
out:
    free(A);
    free(B);
    free(C);
    free(C0);
    free(P);
    return bad;
}

int main(void)
{
    static const size_t sizes[][3] = {{1, 1, 1},     {3, 5, 7},  {17, 13, 11},
                                      {33, 65, 129}, {64, 7, 1}, {5, 130, 200}};
    static const float ab[][2] = {{1.0f, 0.0f}, {1.0f, 1.0f}, {-0.5f, 0.25f}};
    int fails = 0, n = 0;
    nn_set_threads(1);
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
                for (size_t k = 0; k < sizeof ab / sizeof ab[0]; k++) {
                    fails +=
                        check(ta, tb, sizes[s][0], sizes[s][1], sizes[s][2], ab[k][0], ab[k][1]);
                    n++;
                }
    printf("nn_gemm: %d of %d cases failed\n", fails, n);
    static const size_t pm[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 14, 16, 32};
    static const size_t pn[][2] = {{1, 1},    {15, 7},    {16, 5},   {17, 33},
                                   {33, 128}, {512, 128}, {128, 512}};
    int pfails = 0, pn_cases = 0;
    for (int kernel = 1; kernel >= 0; kernel--) {
        int on = nn_gemm_packed_kernel(kernel);
        if (kernel && !on) printf("packed: this CPU has no AVX2+FMA, the kernel is not tested\n");
        for (int tb = 0; tb < 2; tb++)
            for (size_t a = 0; a < sizeof pm / sizeof pm[0]; a++)
                for (size_t b = 0; b < sizeof pn / sizeof pn[0]; b++)
                    for (int beta = 0; beta < 2; beta++) {
                        pfails += check_packed(tb, pm[a], pn[b][0], pn[b][1], (float)beta);
                        pn_cases++;
                    }
        printf("nn_gemm_packed (%s): %d failed so far of %d cases\n",
               on ? "AVX2/FMA kernel" : "fallback", pfails, pn_cases);
    }
    return fails || pfails ? 1 : 0;
}
