#!/usr/bin/env python3
"""make_hostile.py: hostile inputs for ser (issue "Hostile input"), used by run_hostile.py.

Two halves:

* WAV files written byte by byte with struct (numpy for the samples), so that a header can
  say anything: a wrong byte rate or block align, the 0xFFFFFFFF "streaming" sizes in the
  RIFF and data chunks, a data size larger than the file (a truncated file), float samples
  that are finite but huge.

* A writer of ser's pack container (docs/formats.md §1, dsp/pack.h): header with magic,
  version, kind, raw and compressed sizes and three CRC-32s, then one zlib stream of
  "u32 count, u32 0, records" with 8-byte aligned data. A real checkpoint or feature file is
  read with tests/serpack.py (an independent reader that checks every CRC), records are
  changed, and the result is encoded again with VALID CRCs, so that ser's container checks
  pass and its field checks are what is tested.

Command line (for a person looking at a failure):
    make_hostile.py selftest PACK...     re-encode each file unchanged and compare the records
    make_hostile.py dump PACK            list the records (name, dtype, shape, small values)
    make_hostile.py wav OUT.wav KIND     one of the WAV kinds of WAV_KINDS
"""
import os
import struct
import sys
import zlib

import numpy as np

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from serpack import read_pack  # noqa: E402  (the independent reader, tests/serpack.py)

# ---------------------------------------------------------------------------------------
# WAV

WAVE_PCM, WAVE_FLOAT = 1, 3


def wav_bytes(samples, rate=22050, fmt="pcm16", byte_rate=None, block_align=None,
              riff_size=None, data_size=None, cut=None):
    """A RIFF/WAVE file holding `samples` ([frames] or [frames][channels]).

    fmt: "pcm16" or "float32". byte_rate / block_align / riff_size / data_size override the
    header fields (None: the correct value); cut: keep only the first `cut` bytes of the
    file (a truncated file whose header still promises all the data)."""
    x = np.asarray(samples)
    if x.ndim == 1:
        x = x[:, None]
    channels = x.shape[1]
    if fmt == "pcm16":
        tag, bits = WAVE_PCM, 16
        data = np.clip(np.round(x * 32767.0), -32768, 32767).astype("<i2").tobytes()
    elif fmt == "float32":
        tag, bits = WAVE_FLOAT, 32
        data = x.astype("<f4").tobytes()
    else:
        raise ValueError(fmt)
    align = channels * bits // 8
    fmt_chunk = struct.pack("<HHIIHH", tag, channels, rate,
                            rate * align if byte_rate is None else byte_rate,
                            align if block_align is None else block_align, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt_chunk)) + fmt_chunk
    body += b"data" + struct.pack("<I", len(data) if data_size is None else data_size) + data
    if len(data) % 2:
        body += b"\0"
    out = b"RIFF" + struct.pack("<I", len(body) if riff_size is None else riff_size) + body
    return out if cut is None else out[:cut]


def tone(seconds=1.5, rate=22050, amp=0.3, freq=220.0, seed=0):
    """A voiced-looking test signal: a tone with harmonics and a little noise."""
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(seed)
    y = sum(np.sin(2 * np.pi * freq * k * t) / k for k in (1, 2, 3))
    return (amp * y / 1.8 + 0.01 * rng.standard_normal(t.size)).astype(np.float64)


def write(path, data):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


# The WAV kinds of the test (name -> bytes). Rates and lengths are ordinary; only the
# header fields or the sample values are hostile.
def wav_kind(kind, rate=22050):
    y = tone(1.5, rate)
    if kind == "good":
        return wav_bytes(y, rate)
    if kind == "byte_rate":            # byte rate says 7 bytes/s: a reader must not use it
        return wav_bytes(y, rate, byte_rate=7)
    if kind == "block_align":          # block align 3 for 16-bit mono (correct: 2)
        return wav_bytes(y, rate, block_align=3)
    if kind == "streaming":            # RIFF and data sizes 0xFFFFFFFF (a stream being written)
        return wav_bytes(y, rate, riff_size=0xFFFFFFFF, data_size=0xFFFFFFFF)
    if kind == "truncated":            # header promises 1.5 s, the file holds 0.75 s
        full = wav_bytes(y, rate)
        return full[:44 + (len(full) - 44) // 2]
    if kind == "huge_1e30":            # finite float samples, far beyond [-1, 1]
        return wav_bytes(np.full(int(1.5 * rate), 1e30) * np.sign(y + 1e-9), rate, "float32")
    if kind == "huge_3e38":
        return wav_bytes(np.where(y >= 0, 3e38, -3e38), rate, "float32")
    raise ValueError(kind)


WAV_KINDS = ("good", "byte_rate", "block_align", "streaming", "truncated", "huge_1e30",
             "huge_3e38")

# ---------------------------------------------------------------------------------------
# The pack container

MAGIC = b"SERPACK\x1a"
VERSION = 1
CODE = {np.dtype("uint8"): 1, np.dtype("int32"): 2, np.dtype("int64"): 3,
        np.dtype("float32"): 4, np.dtype("float64"): 5}


def pack_kind(path):
    with open(path, "rb") as f:
        head = f.read(16)
    if head[:8] != MAGIC:
        raise ValueError(f"{path}: not a ser pack")
    return head[12:16].decode("ascii")


def load(path):
    """(kind, records): records is a dict name -> numpy array in file order (serpack.py
    checks the magic, the three CRCs and the record walk)."""
    kind = pack_kind(path)
    recs = read_pack(path, kind=kind)
    return kind, {k: np.array(v) for k, v in recs.items()}   # writable copies


def _pad8(buf):
    buf += b"\0" * (-len(buf) % 8)


def encode(kind, recs, level=6):
    """The bytes of a pack of kind `kind` (4 ASCII characters) holding recs (name -> array;
    dtype u8, i32, i64, f32 or f64; 0-d arrays are scalars) in dict order."""
    payload = bytearray(struct.pack("<II", len(recs), 0))
    for name, arr in recs.items():
        a = np.array(arr, order="C", copy=True)   # (ascontiguousarray makes 0-d arrays 1-d)
        dt = a.dtype.newbyteorder("=")
        if dt not in CODE:
            raise ValueError(f"record {name}: dtype {a.dtype} cannot be stored")
        nb = name.encode()
        payload += struct.pack("<H", len(nb)) + nb + bytes([CODE[dt], a.ndim])
        payload += struct.pack(f"<{a.ndim}Q", *a.shape)
        _pad8(payload)
        payload += a.astype(dt.newbyteorder("<")).tobytes()
        _pad8(payload)
    raw = bytes(payload)
    comp = zlib.compress(raw, level)
    head = struct.pack("<8sI4sQQII", MAGIC, VERSION, kind.encode("ascii"), len(raw), len(comp),
                       zlib.crc32(raw), zlib.crc32(comp))
    return head + struct.pack("<I", zlib.crc32(head)) + comp


def save(path, kind, recs, level=6):
    write(path, encode(kind, recs, level))


# Record constructors in the conventions of docs/formats.md §1.2.
def i64(v):
    return np.array(v, dtype="<i8")


def f64(v):
    return np.array(v, dtype="<f8")


def string(s):
    return np.frombuffer(s.encode() if isinstance(s, str) else s, dtype=np.uint8).copy()


def string_list(items):
    return np.frombuffer(b"".join((s.encode() if isinstance(s, str) else s) + b"\0"
                                  for s in items), dtype=np.uint8).copy()


def get_string(arr):
    return bytes(arr).decode()


def get_strings(arr):
    return [s.decode() for s in bytes(arr).split(b"\0")[:-1]]


def modified(src, dst, change, level=6):
    """Reads pack src, calls change(recs) (which edits the dict in place), writes dst."""
    kind, recs = load(src)
    change(recs)
    save(dst, kind, recs, level)
    return dst


# ---------------------------------------------------------------------------------------

def selftest(paths):
    """Re-encodes each pack unchanged and checks that the new file reads back identically
    (records, dtypes, shapes, values); ser's own reading is checked by run_hostile.py."""
    for p in paths:
        kind, a = load(p)
        tmp = p + ".reencoded"
        save(tmp, kind, a)
        kind2, b = load(tmp)
        os.unlink(tmp)
        assert kind == kind2 and list(a) == list(b), p
        for k in a:
            assert a[k].dtype == b[k].dtype and a[k].shape == b[k].shape, k
            assert a[k].tobytes() == b[k].tobytes(), k
        print(f"selftest: {p}: {len(a)} records of kind {kind} re-encoded identically")


def dump(path):
    kind, recs = load(path)
    print(f"{path}: kind {kind}, {len(recs)} records")
    for k, v in recs.items():
        small = v.size <= 4 and v.dtype != np.uint8
        txt = get_string(v)[:60] if v.dtype == np.uint8 else (v.tolist() if small else "")
        print(f"  {k:24s} {str(v.dtype):8s} {str(v.shape):16s} {txt!r}")


def main(argv):
    if len(argv) >= 2 and argv[0] == "selftest":
        selftest(argv[1:])
    elif len(argv) == 2 and argv[0] == "dump":
        dump(argv[1])
    elif len(argv) == 3 and argv[0] == "wav" and argv[2] in WAV_KINDS:
        write(argv[1], wav_kind(argv[2]))
    else:
        print(__doc__.split("Command line")[1], file=sys.stderr)
        print("WAV kinds:", " ".join(WAV_KINDS), file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
