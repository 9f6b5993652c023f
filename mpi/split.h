/* split.h: train/validation/test split of a dataset and the per-epoch shuffle. Pure
 * functions of (file list, seed): identical on every rank, no MPI.
 *
 * "random": stratified by (speaker, label). The fractions are allocated over the whole
 *   corpus, not rounded group by group: round(test_frac * N) files go to test and
 *   round(val_frac * N) to validation, each group getting the floor of its exact share and
 *   the remaining files going to the groups with the largest remainders (ties broken by a
 *   hash of the group and the seed). So groups of 10 give 70/15/15 overall, and even groups
 *   of one file each (40,000 speakers with one file) give the requested sizes. Each group (in
 *   dataset order, i.e. sorted by path) is shuffled with a counter-based RNG keyed by
 *   (seed, group); its first files go to test, the next to validation, the rest to training.
 *   O(n log n). 70/15/15 by default.
 * "speaker:A[,B...]": every file of those speakers is the test set (speaker-independent
 *   evaluation); the other speakers' files are split into training and validation the same
 *   way, with val_frac / (1 - test_frac) of them in validation. "corpus:NAME": the same with
 *   every file of corpus NAME as the test set (cross-corpus). val_speakers > 0: validation is
 *   that many whole speakers of the training pool instead (never a test speaker).
 */
#ifndef SER_SPLIT_H
#define SER_SPLIT_H

#include <stddef.h>
#include <stdint.h>

#include "ser/err.h"

enum { DIST_TRAIN = 0, DIST_VAL = 1, DIST_TEST = 2 };

struct dist_split_spec {
    const char *how; /* random | speaker:A[,B...] | corpus:NAME */
    uint64_t seed;
    double val_frac, test_frac;
    long val_speakers; /* > 0: validation = that many whole training speakers (seeded) */
};

/* assign[i] = DIST_TRAIN / DIST_VAL / DIST_TEST for the n files with the given namespaced
 * speakers, labels and corpora. speaker:A,B takes exact "corpus:id" names or bare ids that
 * name one speaker only. Returns 0, or -1 with e (unknown split, speaker or corpus, an
 * ambiguous bare name, an empty subset). */
int dist_split(size_t n, char *const *speaker, const int32_t *label, const int32_t *corpus,
               const struct dist_split_spec *s, int *assign, struct err *e);

/* The distinct speakers of n files, sorted: a malloc'd array of *count pointers into
 * speaker[] (caller frees the array only); NULL when out of memory. */
char **dist_speakers(size_t n, char *const *speaker, size_t *count);

/* Hash of the file list and its assignment (stored in checkpoints to refuse resuming a run
 * on different data). */
uint64_t dist_split_hash(size_t n, char *const *path, const int *assign);

/* perm[0..n) = a permutation of idx[0..n), Fisher-Yates keyed by (seed, epoch). */
void dist_shuffle(const size_t *idx, size_t n, uint64_t seed, uint64_t epoch, size_t *perm);

#endif
