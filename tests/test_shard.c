/* test_shard.c: dist_shard for world sizes 1..8 and many lengths: blocks are ordered,
 * disjoint, cover [0, n), and differ in size by at most one. */
#include <stdio.h>

#include "mpi/shard.h"

int main(void)
{
    int failures = 0;
    for (int size = 1; size <= 8; size++) {
        for (size_t n = 0; n <= 100; n++) {
            size_t next = 0, lo = (size_t)-1, hi = 0;
            for (int r = 0; r < size; r++) {
                size_t b, e;
                dist_shard(n, size, r, &b, &e);
                if (b != next || e < b) {
                    fprintf(stderr, "FAIL n=%zu size=%d rank=%d: [%zu,%zu) after %zu\n", n, size, r,
                            b, e, next);
                    failures++;
                }
                next = e;
                if (e - b < lo) lo = e - b;
                if (e - b > hi) hi = e - b;
            }
            if (next != n || hi - lo > 1) {
                fprintf(stderr, "FAIL n=%zu size=%d: covers %zu, sizes %zu..%zu\n", n, size, next,
                        lo, hi);
                failures++;
            }
        }
    }
    if (!failures) printf("test_shard: all checks passed\n");
    return failures != 0;
}
