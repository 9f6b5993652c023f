/* simd.h: NN_SIMD marks the element-wise kernels of nn/ (LSTM gates, relu, maxpool, Adam, ...).
 *
 * gcc vectorises them for baseline x86-64 (SSE2, 4 floats) and, as a second clone picked at
 * load time on CPUs that have it, for AVX2 (8 floats). No -march flag: the binary still runs
 * on any x86-64. The AVX2 clone has no FMA, so both clones compute the same values bit for
 * bit (no contraction, no reassociation); only the vector width differs. Functions inlined
 * into an NN_SIMD function are compiled for its clones too. */
#ifndef SER_NN_SIMD_H
#define SER_NN_SIMD_H

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define NN_SIMD __attribute__((target_clones("avx2", "default")))
#else
#define NN_SIMD
#endif

#endif
