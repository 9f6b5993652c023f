/* npy.c: .npy v1.0 and .npz (STORED zip, CRC32 from zlib) writers; see npy.h. */
#include "mpi/npy.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "dsp/file.h"

/* What the writer needs to know about one array before writing it. */
struct layout {
    char descr[16];  /* dtype as written in the header, e.g. "<f4", "<U7" */
    size_t itemsize; /* bytes per element in the file */
    size_t count;    /* elements */
    int is_str;
    char header[512]; /* the complete .npy header (magic .. '\n') */
    size_t header_len;
    uint64_t total; /* header + data bytes */
};

static int host_little_endian(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static int plan(struct layout *L, const char *dtype, int ndim, const size_t *shape,
                const void *data, const char *what, struct err *e)
{
    memset(L, 0, sizeof *L);
    if (!dtype) return err_set(e, "%s: no dtype", what);
    if (ndim < 0 || ndim > DIST_NPY_MAX_DIM)
        return err_set(e, "%s: ndim %d outside 0..%d", what, ndim, DIST_NPY_MAX_DIM);
    L->count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] && L->count > SIZE_MAX / shape[i])
            return err_set(e, "%s: shape too large", what);
        L->count *= shape[i];
    }
    if (L->count && !data) return err_set(e, "%s: no data", what);
    if (strcmp(dtype, "<U") == 0) {
        L->is_str = 1;
        size_t w = 1;
        const char *const *s = data;
        for (size_t i = 0; i < L->count; i++) {
            if (!s[i]) return err_set(e, "%s: string %zu is NULL", what, i);
            size_t len = strlen(s[i]);
            for (size_t j = 0; j < len; j++)
                if ((unsigned char)s[i][j] >= 0x80)
                    return err_set(e, "%s: string %zu is not ASCII", what, i);
            if (len > w) w = len;
        }
        if (w > 1u << 20) return err_set(e, "%s: strings too long", what);
        snprintf(L->descr, sizeof L->descr, "<U%zu", w);
        L->itemsize = 4 * w;
    } else {
        static const char *const ok[] = {"<f4", "<f8", "<i2", "<i4", "<i8", "<u2",
                                         "<u4", "<u8", "|u1", "|i1", "|b1"};
        size_t i = 0, nok = sizeof ok / sizeof ok[0];
        while (i < nok && strcmp(ok[i], dtype) != 0) i++;
        if (i == nok) return err_set(e, "%s: unsupported dtype '%s'", what, dtype);
        if (dtype[0] == '<' && !host_little_endian())
            return err_set(e, "%s: big-endian hosts are not supported", what);
        snprintf(L->descr, sizeof L->descr, "%s", dtype);
        L->itemsize = (size_t)(dtype[2] - '0');
    }
    if (L->count > (SIZE_MAX - 4096) / L->itemsize) return err_set(e, "%s: array too large", what);
    char shp[256];
    size_t o = 0;
    shp[o++] = '(';
    for (int i = 0; i < ndim; i++)
        o += (size_t)snprintf(shp + o, sizeof shp - o, "%zu%s", shape[i],
                              ndim == 1 ? "," : (i + 1 < ndim ? ", " : ""));
    snprintf(shp + o, sizeof shp - o, ")");
    char dict[384];
    int dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }",
                      L->descr, shp);
    /* magic(6) + version(2) + len(2) + dict + spaces + '\n' = multiple of 64 */
    size_t hl = 10 + (size_t)dl + 1;
    size_t pad = (64 - hl % 64) % 64;
    hl += pad;
    if (hl > sizeof L->header) return err_set(e, "%s: header too long", what);
    unsigned char *h = (unsigned char *)L->header;
    memcpy(h, "\x93NUMPY\x01\x00", 8);
    h[8] = (unsigned char)((hl - 10) & 0xff);
    h[9] = (unsigned char)((hl - 10) >> 8);
    memcpy(h + 10, dict, (size_t)dl);
    memset(h + 10 + dl, ' ', pad);
    h[hl - 1] = '\n';
    L->header_len = hl;
    L->total = (uint64_t)hl + (uint64_t)L->count * L->itemsize;
    return 0;
}

/* Writes the header and data of one array to f, updating *crc (zlib crc32). */
static int emit(FILE *f, const struct layout *L, const void *data, uLong *crc)
{
    if (fwrite(L->header, 1, L->header_len, f) != L->header_len) return -1;
    *crc = crc32(*crc, (const Bytef *)L->header, (uInt)L->header_len);
    if (!L->is_str) {
        const unsigned char *p = data;
        size_t left = L->count * L->itemsize;
        while (left) {
            size_t chunk = left < (1u << 30) ? left : (1u << 30);
            if (fwrite(p, 1, chunk, f) != chunk) return -1;
            *crc = crc32(*crc, p, (uInt)chunk);
            p += chunk;
            left -= chunk;
        }
        return 0;
    }
    const char *const *s = data;
    const size_t w = L->itemsize / 4;
    unsigned char buf[4096];
    for (size_t i = 0; i < L->count; i++) {
        size_t len = strlen(s[i]);
        for (size_t j = 0; j < w; j++) {
            unsigned char *u = buf + 4 * (j % 1024);
            u[0] = j < len ? (unsigned char)s[i][j] : 0;
            u[1] = u[2] = u[3] = 0;
            if (j % 1024 == 1023 || j + 1 == w) {
                size_t nbytes = 4 * (j % 1024 + 1);
                if (fwrite(buf, 1, nbytes, f) != nbytes) return -1;
                *crc = crc32(*crc, buf, (uInt)nbytes);
            }
        }
    }
    return 0;
}

/* An existing file may be replaced only by one of its kind (dsp/file.h). */
static int is_npy(const unsigned char *h, size_t n, const void *ctx)
{
    (void)ctx;
    return n >= 6 && memcmp(h, "\x93NUMPY", 6) == 0;
}

static int is_zip(const unsigned char *h, size_t n, const void *ctx)
{
    (void)ctx;
    return n >= 4 && (memcmp(h, "PK\x03\x04", 4) == 0 || memcmp(h, "PK\x05\x06", 4) == 0);
}

static const struct dsp_kind npy_kind = {is_npy, NULL, ".npy file"};
static const struct dsp_kind npz_kind = {is_zip, NULL, ".npz (zip) file"};

static int finish(struct dsp_out *o, int failed, const char *path, struct err *e)
{
    if (failed) {
        err_io(e, "%s: write failed: %s", path, strerror(errno));
        dsp_out_abort(o);
        return -1;
    }
    return dsp_out_commit(o, e);
}

int dist_npy_write(const char *path, const char *dtype, int ndim, const size_t *shape,
                   const void *data, struct err *e)
{
    struct layout L;
    if (plan(&L, dtype, ndim, shape, data, path, e)) return -1;
    struct dsp_out o;
    if (dsp_out_open(&o, path, &npy_kind, e)) return -1;
    uLong crc = crc32(0L, Z_NULL, 0);
    return finish(&o, emit(o.f, &L, data, &crc) != 0, path, e);
}

static void le16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v & 0xff);
    p[1] = (unsigned char)((v >> 8) & 0xff);
}

static void le32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)((v >> (8 * i)) & 0xff);
}

/* Fixed DOS timestamp 1980-01-01 00:00 so identical inputs give identical archives. */
enum { DOS_TIME = 0, DOS_DATE = (0 << 9) | (1 << 5) | 1 };

int dist_npz_write(const char *path, size_t n, const struct dist_npy_array *arrays, struct err *e)
{
    if (n > 0xfffe) return err_set(e, "%s: too many arrays (%zu)", path, n);
    struct layout *L = calloc(n ? n : 1, sizeof *L);
    uint32_t *crcs = calloc(n ? n : 1, sizeof *crcs);
    uint32_t *offs = calloc(n ? n : 1, sizeof *offs);
    char(*names)[260] = calloc(n ? n : 1, sizeof *names);
    if (!L || !crcs || !offs || !names) {
        free(L), free(crcs), free(offs), free(names);
        return err_set(e, "%s: out of memory", path);
    }
    int rc = 0;
    uint64_t pos = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        const struct dist_npy_array *a = &arrays[i];
        if (!a->name || !*a->name || strlen(a->name) > 250) {
            rc = err_set(e, "%s: array %zu has an empty or too long name", path, i);
            break;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(arrays[j].name, a->name) == 0)
                rc = err_set(e, "%s: duplicate array name '%s'", path, a->name);
        snprintf(names[i], sizeof names[i], "%s.npy", a->name);
        char what[512];
        snprintf(what, sizeof what, "%s: array '%s'", path, a->name);
        if (!rc) rc = plan(&L[i], a->dtype, a->ndim, a->shape, a->data, what, e);
        pos += 30 + strlen(names[i]) + (rc ? 0 : L[i].total);
        if (!rc && (L[i].total > 0xffffffffu || pos > 0xffffffffu))
            rc = err_set(e, "%s: larger than 4 GiB (zip64 is not supported)", path);
    }
    struct dsp_out o = {0};
    if (!rc) rc = dsp_out_open(&o, path, &npz_kind, e);
    FILE *f = o.f;
    int failed = 0;
    uint32_t off = 0;
    for (size_t i = 0; i < n && !rc && !failed; i++) {
        unsigned char h[30];
        const size_t nl = strlen(names[i]);
        offs[i] = off;
        le32(h, 0x04034b50);
        le16(h + 4, 20); /* version needed */
        le16(h + 6, 0);  /* flags */
        le16(h + 8, 0);  /* STORED */
        le16(h + 10, DOS_TIME);
        le16(h + 12, DOS_DATE);
        le32(h + 14, 0); /* CRC, patched below */
        le32(h + 18, (uint32_t)L[i].total);
        le32(h + 22, (uint32_t)L[i].total);
        le16(h + 26, (unsigned)nl);
        le16(h + 28, 0);
        uLong crc = crc32(0L, Z_NULL, 0);
        if (fwrite(h, 1, 30, f) != 30 || fwrite(names[i], 1, nl, f) != nl ||
            emit(f, &L[i], arrays[i].data, &crc)) {
            failed = -1;
            break;
        }
        crcs[i] = (uint32_t)crc;
        unsigned char c[4];
        le32(c, crcs[i]);
        off += (uint32_t)(30 + nl + L[i].total);
        if (fseek(f, (long)offs[i] + 14, SEEK_SET) != 0 || fwrite(c, 1, 4, f) != 4 ||
            fseek(f, (long)off, SEEK_SET) != 0)
            failed = -1;
    }
    uint32_t cd_size = 0;
    for (size_t i = 0; i < n && !rc && !failed; i++) {
        unsigned char h[46];
        const size_t nl = strlen(names[i]);
        le32(h, 0x02014b50);
        le16(h + 4, 20); /* made by */
        le16(h + 6, 20); /* needed */
        le16(h + 8, 0);
        le16(h + 10, 0);
        le16(h + 12, DOS_TIME);
        le16(h + 14, DOS_DATE);
        le32(h + 16, crcs[i]);
        le32(h + 20, (uint32_t)L[i].total);
        le32(h + 24, (uint32_t)L[i].total);
        le16(h + 28, (unsigned)nl);
        le16(h + 30, 0); /* extra */
        le16(h + 32, 0); /* comment */
        le16(h + 34, 0); /* disk */
        le16(h + 36, 0); /* internal attributes */
        le32(h + 38, 0); /* external attributes */
        le32(h + 42, offs[i]);
        if (fwrite(h, 1, 46, f) != 46 || fwrite(names[i], 1, nl, f) != nl) failed = -1;
        cd_size += (uint32_t)(46 + nl);
    }
    if (!rc && !failed) {
        unsigned char h[22];
        le32(h, 0x06054b50);
        le16(h + 4, 0);
        le16(h + 6, 0);
        le16(h + 8, (unsigned)n);
        le16(h + 10, (unsigned)n);
        le32(h + 12, cd_size);
        le32(h + 16, off);
        le16(h + 20, 0);
        if (fwrite(h, 1, 22, f) != 22) failed = -1;
    }
    if (!rc) rc = finish(&o, failed, path, e);
    free(L), free(crcs), free(offs), free(names);
    return rc;
}
