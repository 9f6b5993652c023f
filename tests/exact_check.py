"""exact_check.py DIR K...: checks the files DIR/exact_np<K>.bin written by test_exact.

Independent reference: exact rational sums (fractions.Fraction) of the inputs in the files.
 - the vector sums and the shifts are byte-identical for every K;
 - shift[s] = 62 - ceil(log2 37) - e, with max|v| in segment s = f 2^e, f in [0.5, 1);
 - every vector sum is bit for bit the specified result: the terms rounded half to even onto
   the grid 2^-shift (Python's round() of a Fraction), summed exactly as integers, then
   float32((float64(sum) * 2^-shift) * scale), with the same IEEE operations in Python;
 - every vector sum is within the quantisation bound of the exact sum:
     |out - scale * S| <= scale * T * 2^-shift / 2 * (1 + 2^-50) + 0.5 ulp_float(out) (+ tiny)
   for scale 1 and 1/37; segments of exact cancellations and zeros are exactly 0.
Exits 1 on any failure.
"""
import math
import struct
import sys
from fractions import Fraction

import numpy as np


def load(path):
    b = open(path, "rb").read()
    assert b[:4] == b"EXT1", path
    k, nv, n, nseg = struct.unpack_from("<4i", b, 4)
    p = 20
    def take(dtype, count):
        nonlocal p
        a = np.frombuffer(b, dtype=dtype, count=count, offset=p)
        p += a.nbytes
        return a
    r = dict(k=k, nv=nv, n=n, nseg=nseg)
    r["off"] = take("<u8", nseg + 1).astype(int)
    r["v"] = take("<f4", nv * n).reshape(nv, n)
    r["out1"] = take("<f4", n)
    r["out37"] = take("<f4", n)
    r["shift"] = take("<i4", nseg)
    assert p == len(b), f"{path}: {len(b) - p} trailing bytes"
    return r


def ulp32(x):
    x = abs(float(x))
    if x < 2.0 ** -126:
        return 2.0 ** -149
    return 2.0 ** (math.frexp(x)[1] - 24)


def main():
    d, ks = sys.argv[1], [int(k) for k in sys.argv[2:]]
    files = {k: load(f"{d}/exact_np{k}.bin") for k in ks}
    fails = []
    ref = files[ks[0]]
    for k, f in files.items():
        for key in ("v", "out1", "out37", "shift"):
            if f[key].tobytes() != ref[key].tobytes():
                fails.append(f"np={k}: {key} differs from np={ks[0]}")

    r = ref
    T = r["nv"]
    t = math.ceil(math.log2(T))
    exact = [sum(Fraction(float(x)) for x in r["v"][:, i]) for i in range(r["n"])]
    for s in range(r["nseg"]):
        lo, hi = r["off"][s], r["off"][s + 1]
        m = float(np.max(np.abs(r["v"][:, lo:hi]))) if hi > lo else 0.0
        want = 62 - t - math.frexp(m)[1] if m > 0 else 0
        sh = int(r["shift"][s])
        if sh != want:
            fails.append(f"segment {s}: shift {sh}, want {want} (max {m!r})")
        # no overflow possible: every rounded term <= 2^(62-t), T of them <= 2^62
        if m > 0 and Fraction(m) * Fraction(2) ** sh >= 2 ** (62 - t):
            fails.append(f"segment {s}: shift {sh} could overflow")
        for scale, key in ((Fraction(1), "out1"), (Fraction(1, T), "out37")):
            for i in range(lo, hi):
                got = float(r[key][i])
                S = exact[i] * scale
                q = scale * T * Fraction(1, 2) * Fraction(2) ** (-sh)
                bound = q * (1 + Fraction(1, 2 ** 50)) + Fraction(ulp32(got)) / 2 \
                    + abs(S) * Fraction(1, 2 ** 50) + Fraction(2.0 ** -160)
                if abs(Fraction(got) - S) > bound:
                    fails.append(f"{key}[{i}] (segment {s}) = {got!r}, exact {float(S)!r}, "
                                 f"error {float(abs(Fraction(got) - S))!r} > bound {float(bound)!r}")
        for scale, key in ((1.0, "out1"), (1.0 / T, "out37")):
            for i in range(lo, hi):
                q = sum(round(Fraction(float(x)) * Fraction(2) ** sh) for x in r["v"][:, i])
                want = np.float32((float(q) * 2.0 ** -sh) * scale)
                if want.tobytes() != r[key][i].tobytes():
                    fails.append(f"{key}[{i}] (segment {s}) = {float(r[key][i])!r}, "
                                 f"specified {float(want)!r}")
        if s in (1, 7) and np.any(r["out1"][lo:hi] != 0):
            fails.append(f"segment {s}: not exactly zero")

    for m in fails[:40]:
        print("FAIL:", m)
    print(f"exact_check: np={ks}: {len(fails)} failure(s); {r['n']} vector sums checked")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
