/* rng.h: a counter-based random generator: a value is a pure function of its keys, so
 * dropout masks, initial weights and shuffles do not depend on the order of calls, on the
 * batch split or on the rank that draws them (README, "Bit-identical results for any number of
 * ranks").
 *
 * Construction: a chain of splitmix64 finalisers (Steele, Lea, Flood 2014; the mixer of
 * java.util.SplittableRandom), one per key, each key added with a distinct odd constant.
 */
#ifndef SER_NN_RNG_H
#define SER_NN_RNG_H

#include <stdint.h>

static inline uint64_t nn_rng_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Adds one key to a hash state: nn_rng_key(nn_rng_key(seed0, a), b) ... */
static inline uint64_t nn_rng_key(uint64_t h, uint64_t k)
{
    return nn_rng_mix(h ^ nn_rng_mix(k + 0x9e3779b97f4a7c15ULL));
}

/* 64 random bits keyed by (k0, k1, k2, k3, k4). */
static inline uint64_t nn_rng_hash5(uint64_t k0, uint64_t k1, uint64_t k2, uint64_t k3, uint64_t k4)
{
    return nn_rng_key(nn_rng_key(nn_rng_key(nn_rng_key(nn_rng_key(0x5e5e5e5eULL, k0), k1), k2), k3),
                      k4);
}

/* Uniform in [0, 1) with 24 random bits (exact in float). */
static inline float nn_rng_uniform(uint64_t bits)
{
    return (float)(bits >> 40) * (1.0f / 16777216.0f);
}

#endif
