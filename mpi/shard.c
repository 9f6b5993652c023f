/* shard.c: balanced contiguous blocks (see shard.h). */
#include "mpi/shard.h"

void dist_shard(size_t n, int size, int rank, size_t *begin, size_t *end)
{
    size_t s = (size_t)size, r = (size_t)rank;
    size_t base = n / s, extra = n % s;
    *begin = r * base + (r < extra ? r : extra);
    *end = *begin + base + (r < extra ? 1 : 0);
}
