/* test_comm.c: the communication layer (mpi/comm/comm.h) under `mpiexec -n K`.
 *  - dist_agree: a failure on one rank only (the last) reaches every rank with that rank's
 *    message ("rank R: ...") and the worst code; success agrees on 0;
 *  - dist_bcast_buffer: rank 0's bytes arrive intact everywhere;
 *  - dist_gather_records: uneven record counts land in rank order, on every rank or on
 *    rank 0 only;
 *  - dist_sum_f32 / dist_sum_i64 / dist_max_f64: analytic results.
 * Exit 0 only if every rank passed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/comm/comm.h"

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL (line %d): ", __LINE__);                                         \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

int main(int argc, char **argv)
{
    struct dist_comm *c;
    struct err e = {0};
    if (dist_comm_init(&argc, &argv, &c, &e)) {
        fprintf(stderr, "FAIL: %s\n", e.msg);
        return 1;
    }
    int rank = dist_comm_rank(c), size = dist_comm_size(c), last = size - 1;

    /* agree */
    CHECK(dist_agree(c, 0, &e) == 0, "all ok, but agree says %d", dist_agree(c, 0, &e));
    memset(&e, 0, sizeof e);
    int code = 0;
    if (rank == last) {
        err_io(&e, "the disk of rank %d is full", rank);
        code = SER_EXIT_IO;
    }
    int worst = dist_agree(c, code, &e);
    char want[128];
    if (rank == last)
        snprintf(want, sizeof want, "the disk of rank %d is full", last);
    else
        snprintf(want, sizeof want, "rank %d: the disk of rank %d is full", last, last);
    CHECK(worst == SER_EXIT_IO && e.code == SER_EXIT_IO, "rank %d: worst %d, code %d", rank, worst,
          e.code);
    CHECK(strcmp(e.msg, want) == 0, "rank %d: message '%s', want '%s'", rank, e.msg, want);

    /* bcast_buffer */
    unsigned char *buf = NULL;
    size_t len = 0;
    if (rank == 0) {
        len = 100003;
        buf = malloc(len);
        for (size_t i = 0; i < len; i++) buf[i] = (unsigned char)(i * 7 + 3);
    }
    CHECK(dist_bcast_buffer(c, &buf, &len, 0, &e) == 0, "bcast_buffer: %s", e.msg);
    CHECK(len == 100003, "length %zu", len);
    int bad = 0;
    for (size_t i = 0; buf && i < len; i++) bad |= buf[i] != (unsigned char)(i * 7 + 3);
    CHECK(!bad, "rank %d: broadcast bytes differ", rank);
    free(buf);

    /* gather_records: rank r holds r + 1 records of 3 ints {r, k, 42} */
    size_t *counts = malloc((size_t)size * sizeof *counts), total = 0;
    for (int r = 0; r < size; r++) total += counts[r] = (size_t)r + 1;
    int mine[64][3], *all = calloc(total * 3, sizeof *all);
    for (int k = 0; k <= rank; k++) mine[k][0] = rank, mine[k][1] = k, mine[k][2] = 42;
    for (int root_only = 0; root_only < 2; root_only++) {
        memset(all, 0, total * 3 * sizeof *all);
        dist_gather_records(c, mine, all, counts, 3 * sizeof(int), root_only);
        if (root_only && rank != 0) continue;
        size_t at = 0;
        for (int r = 0; r < size; r++)
            for (int k = 0; k <= r; k++, at++)
                CHECK(all[3 * at] == r && all[3 * at + 1] == k && all[3 * at + 2] == 42,
                      "record %zu: %d %d %d", at, all[3 * at], all[3 * at + 1], all[3 * at + 2]);
    }
    free(all);
    free(counts);

    /* reductions */
    float f[2] = {0.5f, (float)rank};
    dist_sum_f32(c, f, 2);
    CHECK(f[0] == 0.5f * (float)size && f[1] == (float)(size * (size - 1) / 2), "sum_f32 %g %g",
          f[0], f[1]);
    int64_t i64[1] = {(int64_t)1 << 40};
    dist_sum_i64(c, i64, 1);
    CHECK(i64[0] == ((int64_t)size << 40), "sum_i64 %lld", (long long)i64[0]);
    double m[1] = {-(double)rank};
    dist_max_f64(c, m, 1);
    CHECK(m[0] == 0, "max_f64 %g", m[0]);
    CHECK(dist_comm_seconds(c) > 0, "no time counted in collectives");

    int64_t total_fail = failures;
    dist_sum_i64(c, &total_fail, 1);
    if (rank == 0) printf("test_comm np=%d: %lld failure(s)\n", size, (long long)total_fail);
    dist_comm_finalize(c);
    return total_fail ? 1 : 0;
}
