/* test_exact.c DIR: mpi/exact under `mpiexec -n K` (K = 1..4).
 *
 * Checks in-process, on every rank:
 *  - 37 fixed pseudo-random float vectors (8 segments: ordinary, all-zero, tiny and
 *    subnormal, 1e30 and 3e38, all-subnormal, empty, 2^-60 .. 1 spread, exact +x/-x pairs,
 *    exact ties of the rounding to the fixed-point grid)
 *    summed with dist_exact under four distributions over the K ranks (round robin in order,
 *    blocks in reverse order, reversed blocks shuffled, everything on the last rank; the
 *    struct reused round after round) give bit-identical results, on every rank;
 *  - the +x/-x segment and the all-zero segment sum to exactly 0; analytic shifts;
 *  - a NaN or an infinity is reported by dist_exact_agree on every rank, naming the segment;
 *    an unobserved larger term, too many terms and mismatched total_terms fail on every rank;
 *  - the caller's scalars ride along: the flag of agree is the maximum over the ranks, the
 *    extra sums of finish are the sums over the ranks, in every round.
 * Rank 0 writes DIR/exact_np<K>.bin (inputs and results); tests/exact_check.py then checks
 * that the results are identical for every K and match the exact rational sums (Python
 * fractions): vector sums within the quantisation bound and bit for bit equal to the
 * specified rounding (half to even onto the grid, exact integer sum, scaling).
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpi/comm/comm.h"
#include "mpi/comm/exact.h"

enum { NV = 37, NSEG = 9 };
static const size_t seg_len[NSEG] = {50, 20, 30, 10, 16, 0, 12, 24, 16};

static int failures;
static int rank, nranks;
static struct dist_comm *comm;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL (rank %d of %d, line %d): ", rank, nranks, __LINE__);            \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

/* splitmix64 keyed by (a, b, salt): the same numbers on every rank. */
static uint64_t mix(uint64_t a, uint64_t b, uint64_t salt)
{
    uint64_t z =
        a * 0x9E3779B97F4A7C15ULL + b * 0xBF58476D1CE4E5B9ULL + salt * 0x94D049BB133111EBULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* uniform in [-1, 1) */
static double unif(uint64_t a, uint64_t b, uint64_t salt)
{
    return (double)(mix(a, b, salt) >> 11) * 0x1p-52 - 1.0;
}

static void make_vectors(float *v, const size_t *off)
{
    for (size_t j = 0; j < NV; j++) {
        float *x = v + j * off[NSEG];
        for (int s = 0; s < NSEG; s++)
            for (size_t i = off[s], k = 0; i < off[s + 1]; i++, k++) {
                double u = unif(j, i, 1), u2 = unif(j, i, 2);
                double y = 0;
                switch (s) {
                case 0:
                    y = u * (j == 5 ? 4.0 : 1.0);
                    break;
                case 1:
                    y = 0;
                    break;
                case 2:
                    y = k % 7 == 0 ? copysign(1e-40, u) : k % 5 == 0 ? u * 1e-30 : u * 1e-3;
                    break;
                case 3:
                    y = (k == 1 && j == 7) ? 3.0e38 : k % 3 == 0 ? u * 1e30 : u;
                    break;
                case 4:
                    y = (double)(int)(u * 1000) * 0x1p-149;
                    break;
                case 6:
                    y = copysign(ldexp(1.0 + fabs(u2), -(int)(fabs(u) * 60)), u);
                    break;
                case 7:
                    /* pairs (2m, 2m+1) hold +x and -x; vector 36 is zero */
                    y = j == NV - 1 ? 0 : (j % 2 ? -1 : 1) * unif(j / 2, i, 3) * 10.0;
                    break;
                case 8:
                    /* max 2^30 (shift 25, quantum 2^-25); odd multiples of 2^-26 are exact
                     * ties, k 2^-27 quarter steps: the rounding shows in the float sums */
                    if (k == 0)
                        y = j == 0 ? 0x1p30 : 0;
                    else if (k % 2)
                        y = (double)(2 * (int)((j + k) % 7) - 7) * 0x1p-26;
                    else
                        y = (double)((int)(mix(j, k, 4) % 41) - 20) * 0x1p-27;
                    break;
                }
                x[i] = (float)y;
            }
    }
}

/* Terms of rank `r` under distribution `how`, in the order they are added. */
static size_t local_terms(int how, int r, int k, size_t nt, size_t *idx)
{
    size_t m = 0;
    switch (how) {
    case 0: /* round robin, ascending */
        for (size_t j = (size_t)r; j < nt; j += (size_t)k) idx[m++] = j;
        break;
    case 1:   /* blocks, descending */
    case 2: { /* the block of rank k-1-r, shuffled */
        int b = how == 1 ? r : k - 1 - r;
        size_t lo = nt * (size_t)b / (size_t)k, hi = nt * (size_t)(b + 1) / (size_t)k;
        for (size_t j = hi; j > lo; j--) idx[m++] = j - 1;
        if (how == 2)
            for (size_t i = m; i > 1; i--) {
                size_t p = (size_t)(mix((uint64_t)r, i, 11) % i);
                size_t t = idx[i - 1];
                idx[i - 1] = idx[p];
                idx[p] = t;
            }
        break;
    }
    case 3: /* everything on the last rank */
        if (r == k - 1)
            for (size_t j = 0; j < nt; j++) idx[m++] = j;
        break;
    }
    return m;
}

/* One round of dist_exact over distribution `how`. */
static int exact_round(struct dist_exact *x, const float *v, size_t n, int how, double scale,
                       float *out)
{
    size_t idx[NV];
    size_t m = local_terms(how, rank, nranks, NV, idx);
    struct err e = {0};
    for (size_t t = 0; t < m; t++)
        CHECK(dist_exact_observe(x, v + idx[t] * n) == 0, "observe flagged finite data");
    int flag = rank;
    if (dist_exact_agree(x, comm, NV, &flag, &e) != 0) {
        CHECK(0, "agree: %s", e.msg);
        return -1;
    }
    CHECK(flag == nranks - 1, "agree's flag: %d, want the largest rank %d", flag, nranks - 1);
    for (size_t t = 0; t < m; t++) CHECK(dist_exact_add(x, v + idx[t] * n) == 0, "add failed");
    int64_t extra[2] = {rank + 1, 1};
    if (dist_exact_finish(x, comm, scale, out, extra, &e) != 0) {
        CHECK(0, "finish: %s", e.msg);
        return -1;
    }
    CHECK(extra[0] == (int64_t)nranks * (nranks + 1) / 2 && extra[1] == nranks,
          "finish's extra sums: %lld %lld", (long long)extra[0], (long long)extra[1]);
    return 0;
}

/* Every rank must hold rank 0's bits. */
static void same_on_all_ranks(const void *p, size_t bytes, const char *what)
{
    unsigned char *r0 = malloc(bytes ? bytes : 1);
    if (!r0) {
        CHECK(0, "out of memory");
        return;
    }
    memcpy(r0, p, bytes);
    dist_bcast(comm, r0, bytes, 0);
    CHECK(memcmp(r0, p, bytes) == 0, "%s differs from rank 0's", what);
    free(r0);
}

static void test_errors(struct dist_exact *x, const float *v, size_t n, const size_t *off)
{
    struct err e = {0};
    float *bad = malloc(n * sizeof *bad);
    float out[1];
    if (!bad) {
        CHECK(0, "out of memory");
        return;
    }
    /* NaN in segment 3 on the last rank (and an infinity in segment 6 on it too). */
    memcpy(bad, v, n * sizeof *bad);
    bad[off[3] + 2] = NAN;
    bad[off[6]] = INFINITY;
    dist_exact_observe(x, v);
    if (rank == nranks - 1) CHECK(dist_exact_observe(x, bad) == 1, "observe missed a NaN");
    CHECK(dist_exact_agree(x, comm, 2, NULL, &e) == -1, "agree accepted a NaN");
    CHECK(x->bad_seg == 3, "bad_seg = %ld, want 3", x->bad_seg);
    CHECK(strstr(e.msg, "segment 3") != NULL, "message: %s", e.msg);
    /* An infinity alone, in segment 0, on rank 0. */
    memcpy(bad, v, n * sizeof *bad);
    bad[1] = -INFINITY;
    if (rank == 0) CHECK(dist_exact_observe(x, bad) == 1, "observe missed an infinity");
    CHECK(dist_exact_agree(x, comm, 1, NULL, &e) == -1, "agree accepted an infinity");
    CHECK(x->bad_seg == 0, "bad_seg = %ld, want 0", x->bad_seg);

    /* A term larger than the observed maximum: add fails there, finish everywhere. */
    memcpy(bad, v, n * sizeof *bad);
    bad[off[0]] = 1000.0f;
    dist_exact_observe(x, v);
    CHECK(dist_exact_agree(x, comm, (uint64_t)nranks, NULL, &e) == 0, "agree: %s", e.msg);
    if (rank == 0)
        CHECK(dist_exact_add(x, bad) == -1, "add accepted an unobserved larger value");
    else
        CHECK(dist_exact_add(x, v) == 0, "add: unexpected failure");
    CHECK(dist_exact_finish(x, comm, 1.0, out, NULL, &e) == -1,
          "finish accepted an unobserved term");

    /* More terms than agreed: T = 1 and every rank adds one (K = 1: two on the one rank). */
    dist_exact_observe(x, v);
    CHECK(dist_exact_agree(x, comm, 1, NULL, &e) == 0, "agree: %s", e.msg);
    CHECK(dist_exact_add(x, v) == 0, "first add failed");
    if (nranks == 1) CHECK(dist_exact_add(x, v) == -1, "second add beyond T accepted");
    CHECK(dist_exact_finish(x, comm, 1.0, out, NULL, &e) == -1, "finish accepted > T terms");

    /* Mismatched total_terms (K >= 2), and add before agree. */
    if (nranks > 1) {
        CHECK(dist_exact_agree(x, comm, (uint64_t)(5 + rank), NULL, &e) == -1,
              "agree accepted different total_terms");
    }
    CHECK(dist_exact_add(x, v) == -1, "add before agree accepted");
    CHECK(dist_exact_agree(x, comm, 1, NULL, &e) == -1, "agree after misuse accepted");
    free(bad);
}

static int write_file(const char *path, const size_t *off, const float *v, const float *out1,
                      const float *out37, const int *shift)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int32_t hdr[4] = {nranks, NV, (int32_t)off[NSEG], NSEG};
    uint64_t o[NSEG + 1];
    int32_t sh[NSEG];
    for (int s = 0; s <= NSEG; s++) o[s] = off[s];
    for (int s = 0; s < NSEG; s++) sh[s] = shift[s];
    size_t n = off[NSEG];
    int ok = fwrite("EXT1", 1, 4, f) == 4 && fwrite(hdr, sizeof hdr, 1, f) == 1 &&
             fwrite(o, sizeof o, 1, f) == 1 && fwrite(v, sizeof *v, NV * n, f) == NV * n &&
             fwrite(out1, sizeof *out1, n, f) == n && fwrite(out37, sizeof *out37, n, f) == n &&
             fwrite(sh, sizeof sh, 1, f) == 1;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

int main(int argc, char **argv)
{
    struct err e = {0};
    if (dist_comm_init(&argc, &argv, &comm, &e) != 0) {
        fprintf(stderr, "FAIL: %s\n", e.msg);
        return 1;
    }
    rank = dist_comm_rank(comm);
    nranks = dist_comm_size(comm);
    if (argc != 2) {
        if (rank == 0) fprintf(stderr, "usage: mpiexec -n K test_exact DIR\n");
        dist_comm_finalize(comm);
        return 2;
    }
    size_t off[NSEG + 1] = {0};
    for (int s = 0; s < NSEG; s++) off[s + 1] = off[s] + seg_len[s];
    const size_t n = off[NSEG];
    float *v = malloc(NV * n * sizeof *v);
    float *out[4], *out37 = malloc(n * sizeof *out37);
    for (int i = 0; i < 4; i++) out[i] = malloc(n * sizeof *out[i]);
    if (!v || !out37 || !out[0] || !out[1] || !out[2] || !out[3]) {
        fprintf(stderr, "out of memory\n");
        dist_comm_abort(comm, 2);
    }
    make_vectors(v, off);

    struct dist_exact x;
    int shift[NSEG] = {0};
    if (dist_exact_init(&x, n, NSEG, off, 2, &e) != 0) {
        fprintf(stderr, "FAIL: %s\n", e.msg);
        dist_comm_abort(comm, 1);
    }
    /* Bad offsets are rejected with a message (and free accepts the partly set-up struct). */
    {
        struct dist_exact y;
        size_t bad_off[3] = {0, 5, 4};
        CHECK(dist_exact_init(&y, 4, 2, bad_off, 0, &e) == -1 && strstr(e.msg, "offsets"),
              "bad offsets accepted");
        dist_exact_free(&y);
    }

    /* Four distributions, one struct reused. Distribution 2 uses scale 1/37. */
    for (int how = 0; how < 4; how++) {
        exact_round(&x, v, n, how, how == 2 ? 1.0 / NV : 1.0, how == 2 ? out37 : out[how]);
        if (how == 0)
            memcpy(shift, x.shift, sizeof shift);
        else
            CHECK(memcmp(shift, x.shift, sizeof shift) == 0, "shifts differ for distribution %d",
                  how);
    }
    CHECK(memcmp(out[0], out[1], n * sizeof *out[0]) == 0, "round robin and blocks differ");
    CHECK(memcmp(out[0], out[3], n * sizeof *out[0]) == 0, "round robin and one-rank differ");
    same_on_all_ranks(out[0], n * sizeof *out[0], "vector sum");
    same_on_all_ranks(out37, n * sizeof *out37, "scaled vector sum");
    for (size_t i = off[1]; i < off[2]; i++) CHECK(out[0][i] == 0, "zero segment: %g", out[0][i]);
    for (size_t i = off[7]; i < off[8]; i++)
        CHECK(out[0][i] == 0, "+x/-x segment, element %zu: %g", i, out[0][i]);
    /* Analytic shifts: segment 0's maximum lies in [2, 4) (2^2), T = 37 -> 6 headroom bits. */
    CHECK(shift[0] == 62 - 6 - 2, "shift[0] = %d, want 54", shift[0]);
    CHECK(shift[1] == 0 && shift[5] == 0, "zero segments: shift %d %d", shift[1], shift[5]);
    CHECK(shift[3] == 62 - 6 - 128, "shift[3] = %d (max 3e38 < 2^128)", shift[3]);
    CHECK(shift[8] == 25, "shift[8] = %d (max 2^30 = 0.5 2^31)", shift[8]);

    test_errors(&x, v, n, off);
    /* The struct still works after all the failed rounds. */
    exact_round(&x, v, n, 2, 1.0, out[2]);
    CHECK(memcmp(out[0], out[2], n * sizeof *out[0]) == 0, "sum after failed rounds differs");
    dist_exact_free(&x);

    if (rank == 0) {
        char path[4096];
        snprintf(path, sizeof path, "%s/exact_np%d.bin", argv[1], nranks);
        CHECK(write_file(path, off, v, out[0], out37, shift) == 0, "cannot write %s", path);
    }
    int64_t total = failures;
    dist_sum_i64(comm, &total, 1);
    if (rank == 0) printf("test_exact np=%d: %lld failure(s)\n", nranks, (long long)total);
    free(v);
    free(out37);
    for (int i = 0; i < 4; i++) free(out[i]);
    dist_comm_finalize(comm);
    return total ? 1 : 0;
}
