/* fuzz_util.h: what the libFuzzer harnesses tests/fuzz/fuzz_*.c share (header-only).
 *
 * FUZZ_CHECK(cond, fmt, ...): a property the code under test promises; a violation aborts,
 * which libFuzzer reports as a crash (abort, not assert: the build may define NDEBUG).
 *
 * Seed files named valid-* must be accepted by the parser under test: with the environment
 * variable SER_FUZZ_EXPECT_VALID set (tests/fuzz/run.sh --replay sets it for those files), a
 * harness aborts when its parser refuses the input, so a format change that leaves the
 * committed seeds stale fails the replay test instead of silently making fuzzing shallow.
 *
 * Binary harnesses (pack, ckpt, features) take either a whole pack file (it starts with the
 * magic "SERPACK\x1a") or a bare payload (docs/formats.md §1.2: u32 record count, u32 0,
 * records), which fuzz_wrap_pack puts into a container with correct sizes and CRCs, so the
 * mutations reach the record walk and the consumers instead of dying at a checksum.
 */
#ifndef SER_FUZZ_UTIL_H
#define SER_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FUZZ_CHECK failed at %s:%d: %s\n  ", __FILE__, __LINE__, #cond);      \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Called with the parser's verdict: aborts if the seed had to be valid (see above). */
static inline void fuzz_expect_valid(int rc, const char *msg)
{
    static int want = -1;
    if (want < 0) want = getenv("SER_FUZZ_EXPECT_VALID") != NULL;
    FUZZ_CHECK(!want || rc == 0,
               "a valid-* seed was refused: %s\n  (the format changed? regenerate the seeds: "
               "tests/fuzz/make_seeds.sh BUILD_DIR)",
               msg);
}

static const unsigned char fuzz_pack_magic[8] = {'S', 'E', 'R', 'P', 'A', 'C', 'K', 0x1a};
enum { FUZZ_PACK_HEADER = 44 };

static inline int fuzz_is_pack(const uint8_t *data, size_t size)
{
    return size >= 8 && memcmp(data, fuzz_pack_magic, 8) == 0;
}

static inline void fuzz_put32(unsigned char *d, uint32_t v)
{
    for (int i = 0; i < 4; i++) d[i] = (unsigned char)(v >> (8 * i));
}

static inline void fuzz_put64(unsigned char *d, uint64_t v)
{
    for (int i = 0; i < 8; i++) d[i] = (unsigned char)(v >> (8 * i));
}

static inline uint32_t fuzz_get32(const unsigned char *s)
{
    return (uint32_t)s[0] | (uint32_t)s[1] << 8 | (uint32_t)s[2] << 16 | (uint32_t)s[3] << 24;
}

/* A pack file of the given kind around payload[n] (zlib level 0: stored blocks, cheap),
 * written independently of dsp/pack.c from docs/formats.md §1.1. malloc'd; NULL if out of
 * memory. */
static inline unsigned char *fuzz_wrap_pack(const uint8_t *payload, size_t n, uint32_t kind,
                                            size_t *outlen)
{
    uLong bound = compressBound((uLong)n);
    unsigned char *out = malloc(FUZZ_PACK_HEADER + bound);
    if (!out) return NULL;
    uLongf clen = bound;
    if (compress2(out + FUZZ_PACK_HEADER, &clen, payload, (uLong)n, 0) != Z_OK) {
        free(out);
        return NULL;
    }
    memcpy(out, fuzz_pack_magic, 8);
    fuzz_put32(out + 8, 1);
    fuzz_put32(out + 12, kind);
    fuzz_put64(out + 16, n);
    fuzz_put64(out + 24, clen);
    fuzz_put32(out + 32, (uint32_t)crc32(0L, payload, (uInt)n));
    fuzz_put32(out + 36, (uint32_t)crc32(0L, out + FUZZ_PACK_HEADER, (uInt)clen));
    fuzz_put32(out + 40, (uint32_t)crc32(0L, out, 40));
    *outlen = FUZZ_PACK_HEADER + clen;
    return out;
}

/* The input as a pack file: itself if it is one, else wrapped (*owned: what to free). */
static inline const unsigned char *fuzz_as_pack(const uint8_t *data, size_t size, uint32_t kind,
                                                size_t *len, unsigned char **owned)
{
    *owned = NULL;
    *len = size;
    if (fuzz_is_pack(data, size)) return data;
    *owned = fuzz_wrap_pack(data, size, kind, len);
    FUZZ_CHECK(*owned, "out of memory wrapping %zu bytes", size);
    return *owned;
}

/* A private temporary directory, created once per process and removed at exit (with the
 * files the harness names in fuzz_tmp_track). */
enum { FUZZ_MAX_TRACKED = 16 };
static char fuzz_tmp_dir[256];
static char fuzz_tracked[FUZZ_MAX_TRACKED][512];
static int fuzz_ntracked;

static inline void fuzz_tmp_cleanup(void)
{
    for (int i = fuzz_ntracked - 1; i >= 0; i--) remove(fuzz_tracked[i]);
    if (fuzz_tmp_dir[0]) rmdir(fuzz_tmp_dir);
}

static inline const char *fuzz_tmp(void)
{
    if (fuzz_tmp_dir[0]) return fuzz_tmp_dir;
    const char *base = getenv("TMPDIR");
    snprintf(fuzz_tmp_dir, sizeof fuzz_tmp_dir, "%s/ser-fuzz-XXXXXX",
             base && base[0] ? base : "/tmp");
    FUZZ_CHECK(mkdtemp(fuzz_tmp_dir), "cannot create a temporary directory %s", fuzz_tmp_dir);
    atexit(fuzz_tmp_cleanup);
    return fuzz_tmp_dir;
}

/* The path of `name` inside the temporary directory, remembered for removal at exit.
 * Returns a pointer to static storage (the same name gives the same path). */
static inline const char *fuzz_tmp_track(const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", fuzz_tmp(), name);
    for (int i = 0; i < fuzz_ntracked; i++)
        if (strcmp(fuzz_tracked[i], path) == 0) return fuzz_tracked[i];
    FUZZ_CHECK(fuzz_ntracked < FUZZ_MAX_TRACKED, "too many temporary files");
    memcpy(fuzz_tracked[fuzz_ntracked], path, sizeof path);
    return fuzz_tracked[fuzz_ntracked++];
}

/* Writes data[size] to path (replacing it). */
static inline void fuzz_write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f, "cannot create %s", path);
    FUZZ_CHECK(fwrite(data, 1, size, f) == size && fclose(f) == 0, "cannot write %s", path);
}

#endif
