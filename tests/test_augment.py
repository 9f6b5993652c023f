#!/usr/bin/python3
"""test_augment.py TEST_NN_AUGMENT: nn/augment.c's draws against an independent Python
re-implementation from the same counter-based generator (tests/ser_rng.py), and their
distributions.

Exact: every SpecAugment mask (start, width) over 8000 keys, the zeroed positions of 200
samples [2 planes][6][11] (the frequency band is the same in both planes), every mixup
partner permutation (50 batches), every lam (16000 draws) to 1e-6 (float32 of the same double
computation).
Statistics: mask widths uniform on {0..Fmax} (chi-square, p > 1e-4), starts uniform over the
positions that fit; lam ~ Beta(alpha, alpha) for alpha 0.2, 0.4, 1, 2 (Kolmogorov-Smirnov
against scipy.stats.beta, p > 1e-4); partners are permutations. Exit 1 on any failure.
"""
import os
import subprocess
import sys

import numpy as np
from scipy import stats

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ser_rng  # noqa: E402

fails = 0


def expect(ok, what):
    global fails
    print(f"{what}: {'ok' if ok else 'FAIL'}", flush=True)
    fails += not ok


def main():
    out = subprocess.run([sys.argv[1]], capture_output=True, text=True, check=True).stdout
    rows = [ln.split() for ln in out.splitlines()]
    masks = [list(map(int, r[1:])) for r in rows if r[0] == "mask"]
    bad = [r for r in masks if ser_rng.specaug_mask(*r[:7]) != (r[7], r[8])]
    expect(len(masks) == 8000 and not bad, f"{len(masks)} masks equal the Python ones "
           f"({len(bad)} differ{', first ' + str(bad[0]) if bad else ''})")
    for kind, wmax, n in ((ser_rng.AUG_FREQ, 8, 40), (ser_rng.AUG_TIME, 25, 130)):
        w = np.array([r[8] for r in masks if r[3] == kind])
        cnt = np.bincount(w, minlength=wmax + 1)
        p = stats.chisquare(cnt).pvalue
        expect(len(cnt) == wmax + 1 and p > 1e-4,
               f"kind {kind:#x}: widths uniform on 0..{wmax} (chi-square p = {p:.3g})")
        # start given width: uniform on 0..n-w, so (start + 0.5) / (n - w + 1) is U(0,1)
        u = np.array([(r[7] + 0.5) / (n - r[8] + 1) for r in masks if r[3] == kind])
        p = stats.kstest(u, "uniform").pvalue
        expect(p > 1e-4, f"kind {kind:#x}: starts uniform over the fitting positions "
               f"(KS p = {p:.3g})")
    applies = [r for r in rows if r[0] == "apply"]
    badapp = 0
    for r in applies:
        P, F, T, f, t, nf, nt, seed, ep, sid = map(int, r[1:11])
        x = np.arange(1, P * F * T + 1, dtype=np.float32).reshape(P * F, T)
        y = ser_rng.specaug_apply(x, seed, ep, sid, f, t, nf, nt, planes=P)
        want = "".join("1" if v == 0 else "0" for v in y.ravel())
        badapp += want != r[11]
    expect(len(applies) == 200 and badapp == 0,
           f"{len(applies)} masked samples [2][6][11] equal the Python masking ({badapp} differ)")
    perms = [list(map(int, r[1:])) for r in rows if r[0] == "perm"]
    badp = [r for r in perms if ser_rng.mixup_partners(*r[:4]) != r[4:]
            or sorted(r[4:]) != list(range(r[0]))]
    expect(len(perms) == 50 and not badp, f"{len(perms)} partner permutations equal the Python "
           f"ones ({len(badp)} differ)")
    lams = [r for r in rows if r[0] == "lam"]
    worst = max(abs(float(r[5]) - float(ser_rng.mixup_lambda(float(r[1]), *map(int, r[2:5]))))
                for r in lams)
    expect(len(lams) == 16000 and worst <= 1e-6,
           f"{len(lams)} mixup lam equal the Python ones (max difference {worst:.2e})")
    for a in sorted({r[1] for r in lams}, key=float):
        v = np.array([float(r[5]) for r in lams if r[1] == a])
        p = stats.kstest(v, stats.beta(float(a), float(a)).cdf).pvalue
        expect(0 <= v.min() and v.max() <= 1 and p > 1e-4,
               f"lam ~ Beta({float(a):g}, {float(a):g}): KS p = {p:.3g}, mean {v.mean():.4f}")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
