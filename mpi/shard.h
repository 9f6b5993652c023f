/* shard.h: how work is split over ranks. Pure functions (no MPI) so tests can check them
 * in-process for any world size. */
#ifndef SER_SHARD_H
#define SER_SHARD_H

#include <stddef.h>

/* Contiguous block of [0, n) owned by `rank` of `size`: the first n % size ranks get one
 * extra item. Blocks are disjoint, ordered by rank and cover [0, n). */
void dist_shard(size_t n, int size, int rank, size_t *begin, size_t *end);

#endif
