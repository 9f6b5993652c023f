/* exact.h: order-independent, bit-exact sums across MPI ranks (for --deterministic training).
 *
Built on integer addition (associative, so a sum of integers gives the same bits whatever
 * the rank count, the distribution of the terms and their order):
 *
 * struct dist_exact: sums of float vectors (micro-batch gradients) in 64-bit fixed point,
 *    (README, "Bit-identical results for any number of ranks"). The vector of n floats is
 *    cut into nseg segments (the model's tensors); each segment gets one scale 2^-shift,
 *    agreed by an MPI_Allreduce(MAX) of the segment's largest magnitude M over all the terms:
 *        shift = 62 - ceil(log2(total_terms)) - e,   M = f * 2^e, f in [0.5, 1)  (frexp)
 *    so every term rounds to |q| <= 2^(62 - ceil(log2 T)) and any sum of at most T terms
 *    stays below 2^62. Each value is rounded to the grid 2^-shift (round half to even, done
 *    with floor() so it does not depend on the FPU rounding mode), the integers are summed,
 *    and the sum is converted back. Error of the result: at most T * 2^-shift / 2 (the
 *    quantisation, i.e. about T * M * 2^-(62 - log2 T)) plus the final rounding to float.
 *    A float term within a factor 2^(38 - ceil(log2 T)) of its segment's maximum (2^32 for
 *    T <= 64) lands on the grid exactly; smaller values lose relative precision, which does
 *    not matter for training. Cycle, every round (e.g. every global batch):
 *        dist_exact_observe(v_j) for every local term    (local; maxima only)
 *        dist_exact_agree(comm, T, &flag)                 (collective: MAX)
 *        dist_exact_add(v_j) for the same local terms     (local)
 *        dist_exact_finish(comm, scale, out, extra)       (collective: SUM; next round)
 *    The terms must therefore be kept (or recomputed bit-identically) between observe and
 *    add: in deterministic mode a rank holds its micro-batch gradients of one global batch.
 *    Both collectives must be called by every rank of comm, also by ranks with no terms.
 *    Each round is exactly two collectives, and the caller's per-round scalars ride in
 *    them: an integer flag in the MAX (e.g. "a signal arrived"), n_extra int64 values in
 *    the SUM (loss in fixed point, counts), so a training step synchronises twice in all.
 *    Memory: n + 2 + n_extra int64 for the accumulator (plus the caller's kept terms). An
 *    exact accumulator per element (a superaccumulator) would need no observe pass but 67
 *    words per element and 67 times the allreduce volume, hence the agreed scale.
 *
 * It assumes the default rounding mode (round to nearest) for int64 -> double conversion.
 */
#ifndef SER_EXACT_H
#define SER_EXACT_H

#include <stddef.h>
#include <stdint.h>

#include "mpi/comm/comm.h"
#include "ser/err.h"

struct dist_exact {
    size_t n;        /* floats per vector */
    size_t nseg;     /* segments */
    size_t *offsets; /* [nseg + 1]: segment s is [offsets[s], offsets[s+1]) (a copy) */
    float *maxabs;   /* [nseg]: largest |value| observed (locally; after agree: globally) */
    int *shift;      /* [nseg]: agreed scale 2^-shift (0 for all-zero segments) */
    double *mul;     /* [nseg]: 2^shift */
    int64_t *acc;    /* [n + 2 + n_extra]: fixed-point sums, [n] = terms added,
                        [n+1] = misuse, then the caller's extra sums */
    size_t n_extra;
    size_t n_scaled;      /* finish scales out[0, n_scaled) only (a segment boundary; init: n) */
    double *maxbuf;       /* [nseg + 5]: the MAX message of agree */
    uint64_t total_terms; /* T of the current round (after agree) */
    long bad_seg;         /* after a failed agree: lowest segment with a non-finite value */
    long local_bad;       /* this round: lowest segment with a non-finite value here, or -1 */
    int phase;            /* 0: observing, 1: adding (after agree) */
    int misuse;           /* calls out of order, or a term out of range: the round fails */
};

/* Sets up x for vectors of n floats cut into nseg segments by offsets[nseg + 1]
 * (offsets[0] = 0, non-decreasing, offsets[nseg] = n; copied), with n_extra int64 values
 * summed along in every finish. Returns 0, or -1 with e (bad offsets, out of memory). Free
 * with dist_exact_free, also after a failed init. */
int dist_exact_init(struct dist_exact *x, size_t n, size_t nseg, const size_t *offsets,
                    size_t n_extra, struct err *e);
void dist_exact_free(struct dist_exact *x);

/* Phase 1 (local): notes the per-segment maxima of one term v[n]. Returns 0, or 1 if v holds
 * a NaN or infinity (x->local_bad = the lowest such segment so far); dist_exact_agree then
 * fails on every rank, so the caller may simply go on to the collective. */
int dist_exact_observe(struct dist_exact *x, const float *v);

/* Phase 2 (collective): agrees on the scales from the maxima of every rank, for a round of
 * total_terms terms in all (the same value on every rank; 1 <= T <= 2^32) and zeroes the
 * accumulator. Returns 0, or -1 on every rank with e: a non-finite value was observed (e and
 * x->bad_seg name the lowest such segment, the same on every rank), or ranks passed
 * different total_terms, or observe/agree/add/finish were called out of order. After a
 * failure x is reset for a new round (x->bad_seg still names the bad segment).
 * *flag (may be NULL): in, this rank's value (>= 0); out, the largest over the ranks (also
 * after a failure). */
int dist_exact_agree(struct dist_exact *x, struct dist_comm *comm, uint64_t total_terms, int *flag,
                     struct err *e);

/* Phase 3 (local): acc += round_half_even(v * 2^shift) per element. Every |v[i]| must be at
 * most its segment's agreed maximum (true for the terms that were observed), and a rank may
 * add at most total_terms terms: otherwise the offending elements are left out, -1 is
 * returned and the round is spoiled (dist_exact_finish fails on every rank). */
int dist_exact_add(struct dist_exact *x, const float *v);

/* Phase 4 (collective): sums the accumulators of every rank and writes
 * out[i] = (float)(acc[i] * 2^-shift * scale) (rounded in double, then to float once more;
 * scale is e.g. 1 / global batch; out[n] may alias nothing of x); the elements from
 * x->n_scaled on (n after init; a caller may lower it to a segment boundary, e.g. to sum
 * statistics that ride along with a gradient) are written unscaled. Then resets x for the next
 * round. Returns 0, or -1 on every rank with e if some rank added a term larger than the
 * agreed maximum or more than total_terms terms were added in all (out is then not written).
 * extra[n_extra] (NULL: zeros, result not returned): in, this rank's values; out, their sums
 * over the ranks (also when -1 is returned). */
int dist_exact_finish(struct dist_exact *x, struct dist_comm *comm, double scale, float *out,
                      int64_t *extra, struct err *e);

#endif
