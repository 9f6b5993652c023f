"""test_features_npz.py: checks mpi/npy.c's .npy and .npz output with numpy's own reader
(np.load, allow_pickle=False), plus zipfile's CRC check (testzip). Usage:
test_features_npz.py TEST_MFCC_NPZ_BINARY. Exits 1 on failure."""
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np


def main():
    exe = sys.argv[1]
    fails = []

    def check(cond, msg):
        if not cond:
            fails.append(msg)
            print("FAIL", msg, file=sys.stderr)

    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run([exe, d], capture_output=True, text=True)
        check(r.returncode == 0, f"writer exited {r.returncode}: {r.stderr}")
        q, t = np.meshgrid(np.arange(40), np.arange(130), indexing="ij")
        want_m = (q * 1000.0 + t * 0.25).astype(np.float32)
        m = np.load(os.path.join(d, "m.npy"), allow_pickle=False)
        check(m.dtype == np.float32 and m.shape == (40, 130), f"npy {m.dtype} {m.shape}")
        check(np.array_equal(m, want_m), "npy values")
        with open(os.path.join(d, "m.npy"), "rb") as f:
            head = f.read(10)
            hlen = head[8] | (head[9] << 8)
            check(head[:8] == b"\x93NUMPY\x01\x00" and (10 + hlen) % 64 == 0, "npy header layout")
        path = os.path.join(d, "all.npz")
        with zipfile.ZipFile(path) as z:
            check(z.testzip() is None, "npz CRC check")
            check(all(i.compress_type == zipfile.ZIP_STORED for i in z.infolist()), "STORED")
        z = np.load(path, allow_pickle=False)
        check(sorted(z.files) == sorted(["a", "b", "c", "labels", "u", "empty", "conv1.weight",
                                         "mfcc"]), f"names {z.files}")
        a = z["a"]
        check(a.dtype == np.float32 and a.shape == (2, 3), f"a {a.dtype} {a.shape}")
        check(np.array_equal(a, np.array([[1.5, -2.0, 3.25], [1e-20, -0.0, 65504.0]],
                                         np.float32)), "a values")
        check(np.signbit(a[1, 1]), "a: -0.0 sign")
        b = z["b"]
        check(b.dtype == np.int32 and b.tolist() == [0, -1, 2**31 - 1, -2**31], f"b {b}")
        c = z["c"]
        check(c.dtype == np.float64 and c.shape == () and c == 3.141592653589793, f"c {c!r}")
        lab = z["labels"]
        check(lab.dtype == np.dtype("<U7") and lab.tolist() ==
              ["angry", "disgust", "fear", "ps", "neutral"], f"labels {lab!r}")
        u = z["u"]
        check(u.dtype == np.uint8 and u.shape == (2, 2, 2) and
              u.ravel().tolist() == [0, 1, 2, 3, 250, 251, 252, 255], f"u {u!r}")
        e = z["empty"]
        check(e.dtype == np.float32 and e.shape == (0, 7), f"empty {e.dtype} {e.shape}")
        w = z["conv1.weight"]
        check(w.dtype == np.int64 and w.tolist() == [-2**63, 0, 2**63 - 1], f"int64 {w}")
        check(np.array_equal(z["mfcc"], want_m), "npz mfcc values")
        z.close()
    if fails:
        print(f"test_features_npz: {len(fails)} failure(s)", file=sys.stderr)
        sys.exit(1)
    print("test_features_npz: ok")


if __name__ == "__main__":
    main()
