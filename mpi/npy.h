/* npy.h: NumPy .npy (format version 1.0) and .npz (zip of .npy entries, STORED, CRC32)
 * writers, readable by np.load without allow_pickle. Reference: numpy/lib/format.py
 * (magic "\x93NUMPY", v1.0 little-endian uint16 header length, header dict padded with spaces
 * to a multiple of 64 bytes ending in '\n') and PKWARE APPNOTE 4.3 (local headers, central
 * directory, end record; no zip64, so each entry and the archive stay below 4 GiB).
 *
 * Files are written atomically (dsp/file.h); an existing file is replaced only by one of
 * its kind (a .npy by a .npy, a .npz by a zip).
 */
#ifndef SER_DIST_NPY_H
#define SER_DIST_NPY_H

#include <stddef.h>

#include "ser/err.h"

enum { DIST_NPY_MAX_DIM = 8 };

/* dtype strings:
 *   numeric: "<f4" "<f8" "<i2" "<i4" "<i8" "<u2" "<u4" "<u8" "|u1" "|i1" "|b1"; data is the
 *     C-order elements in the host's little-endian layout (a big-endian host is refused);
 *   "<U": strings; data is `const char *const *`, a C-order array of NUL-terminated ASCII
 *     strings, written as numpy unicode "<U<w>" (UTF-32LE, 4 bytes per character) with w the
 *     longest string's length (at least 1); np.load gives a str array. */
struct dist_npy_array {
    const char *name; /* .npz entry name without ".npy" (unused by dist_npy_write) */
    const char *dtype;
    int ndim; /* 0 .. DIST_NPY_MAX_DIM */
    size_t shape[DIST_NPY_MAX_DIM];
    const void *data;
};

/* Writes one array as a .npy file. Returns 0, or -1 with e naming the file and the problem. */
int dist_npy_write(const char *path, const char *dtype, int ndim, const size_t *shape,
                   const void *data, struct err *e);

/* Writes n arrays as a .npz archive (np.load(path)[name]). Names must be unique and
 * non-empty. Returns 0, or -1 with e filled. */
int dist_npz_write(const char *path, size_t n, const struct dist_npy_array *arrays, struct err *e);

#endif
