/* test_mfcc_npz.c: writes .npy and .npz files with mpi/npy.c for tests/test_features_npz.py,
 * which checks them with numpy's np.load (values, shapes, dtypes; allow_pickle=False). Also
 * checks here that bad arguments are refused with a message. Usage: test_mfcc_npz OUTDIR. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "mpi/npy.h"

#include "tests/check.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_mfcc_npz OUTDIR\n");
        return 1;
    }
    char p1[4096], p2[4096], p3[4096];
    snprintf(p1, sizeof p1, "%s/m.npy", argv[1]);
    snprintf(p2, sizeof p2, "%s/all.npz", argv[1]);
    snprintf(p3, sizeof p3, "%s/bad.npz", argv[1]);
    static float m[40 * 130];
    for (int q = 0; q < 40; q++)
        for (int t = 0; t < 130; t++) m[q * 130 + t] = (float)q * 1000.0f + (float)t * 0.25f;
    struct err e = {0};
    const size_t shp[2] = {40, 130};
    CHECK(dist_npy_write(p1, "<f4", 2, shp, m, &e) == 0, "npy: %s", e.msg);

    const float a[6] = {1.5f, -2.0f, 3.25f, 1e-20f, -0.0f, 65504.0f};
    const int32_t b[4] = {0, -1, 2147483647, -2147483647 - 1};
    const double c = 3.141592653589793;
    const char *labels[5] = {"angry", "disgust", "fear", "ps", "neutral"};
    const uint8_t u[8] = {0, 1, 2, 3, 250, 251, 252, 255};
    const int64_t big[3] = {INT64_MIN, 0, INT64_MAX};
    struct dist_npy_array arr[] = {
        {.name = "a", .dtype = "<f4", .ndim = 2, .shape = {2, 3}, .data = a},
        {.name = "b", .dtype = "<i4", .ndim = 1, .shape = {4}, .data = b},
        {.name = "c", .dtype = "<f8", .ndim = 0, .data = &c},
        {.name = "labels", .dtype = "<U", .ndim = 1, .shape = {5}, .data = labels},
        {.name = "u", .dtype = "|u1", .ndim = 3, .shape = {2, 2, 2}, .data = u},
        {.name = "empty", .dtype = "<f4", .ndim = 2, .shape = {0, 7}, .data = NULL},
        {.name = "conv1.weight", .dtype = "<i8", .ndim = 1, .shape = {3}, .data = big},
        {.name = "mfcc", .dtype = "<f4", .ndim = 2, .shape = {40, 130}, .data = m},
    };
    CHECK(dist_npz_write(p2, sizeof arr / sizeof arr[0], arr, &e) == 0, "npz: %s", e.msg);

    /* refused: unknown dtype, duplicate names, non-ASCII strings */
    struct dist_npy_array bad = {.name = "x", .dtype = "<f2", .ndim = 1, .shape = {1}, .data = a};
    e.msg[0] = 0;
    CHECK(dist_npz_write(p3, 1, &bad, &e) == -1 && strstr(e.msg, "dtype"), "f2: '%s'", e.msg);
    struct dist_npy_array dup[2] = {arr[0], arr[0]};
    e.msg[0] = 0;
    CHECK(dist_npz_write(p3, 2, dup, &e) == -1 && strstr(e.msg, "duplicate"), "dup: '%s'", e.msg);
    const char *utf[1] = {"caf\xc3\xa9"};
    struct dist_npy_array s8 = {.name = "s", .dtype = "<U", .ndim = 1, .shape = {1}, .data = utf};
    e.msg[0] = 0;
    CHECK(dist_npz_write(p3, 1, &s8, &e) == -1 && strstr(e.msg, "ASCII"), "utf8: '%s'", e.msg);
    e.msg[0] = 0;
    CHECK(dist_npy_write("/nonexistent-dir/x.npy", "<f4", 2, shp, m, &e) == -1 &&
              strstr(e.msg, "/nonexistent-dir/x.npy"),
          "unwritable: '%s'", e.msg);
    FILE *f = fopen(p3, "rb");
    CHECK(f == NULL, "a refused archive was left behind");
    if (f) fclose(f);
    return failures ? 1 : 0;
}
