"""serpack.py: an independent Python reader of ser's pack container (dsp/pack.h).

Used by the tests (to check feature files and checkpoints without going through ser's C
reader) and by the PyTorch reference trainer to read ser's feature files.

    from serpack import read_pack
    recs = read_pack("features.serf", kind="FEAT")   # dict name -> numpy array / bytes
"""
import struct
import zlib

import numpy as np

MAGIC = b"SERPACK\x1a"
HEADER = struct.Struct("<8sII QQ III")  # magic, version, kind, raw, comp, crc_raw, crc_comp, crc_hdr
DTYPES = {1: np.uint8, 2: np.int32, 3: np.int64, 4: np.float32, 5: np.float64}


def read_pack(path, kind=None):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < HEADER.size:
        raise ValueError(f"{path}: too short")
    magic, version, k, raw, comp, crc_raw, crc_comp, crc_hdr = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise ValueError(f"{path}: bad magic")
    if zlib.crc32(data[:40]) != crc_hdr:
        raise ValueError(f"{path}: header CRC mismatch")
    if kind is not None and k != struct.unpack("<I", kind.encode())[0]:
        raise ValueError(f"{path}: wrong kind")
    body = data[HEADER.size:]
    if len(body) != comp or zlib.crc32(body) != crc_comp:
        raise ValueError(f"{path}: compressed data damaged")
    payload = zlib.decompress(body)
    if len(payload) != raw or zlib.crc32(payload) != crc_raw:
        raise ValueError(f"{path}: payload damaged")
    (count,) = struct.unpack_from("<I", payload, 0)
    pos = 8
    out = {}
    for _ in range(count):
        (nl,) = struct.unpack_from("<H", payload, pos)
        pos += 2
        name = payload[pos:pos + nl].decode()
        pos += nl
        dtype, ndim = payload[pos], payload[pos + 1]
        pos += 2
        dims = struct.unpack_from("<%dQ" % ndim, payload, pos)
        pos += 8 * ndim
        pos = (pos + 7) & ~7
        dt = np.dtype(DTYPES[dtype])
        n = int(np.prod(dims)) if ndim else 1
        arr = np.frombuffer(payload, dtype=dt, count=n, offset=pos).reshape(dims)
        pos = (pos + n * dt.itemsize + 7) & ~7
        out[name] = arr
    if pos != len(payload):
        raise ValueError(f"{path}: trailing bytes")
    return out


def strings(arr):
    """A u8 record of NUL-terminated strings -> list of str."""
    b = bytes(arr)
    return [s.decode() for s in b.split(b"\0")[:-1]]


def scalar(arr):
    return arr.reshape(()).item()
