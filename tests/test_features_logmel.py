"""test_features_logmel.py: `ser features --feature-type logmel|mfcc --n-mels N [--deltas]`
against the independent numpy/scipy reference in ref_mfcc.py (docs/mfcc.md §13):
  * logmel: ref_mfcc.logmel = librosa 0.10's power_to_db(melspectrogram(y, sr=22050,
    n_fft=2048, hop_length=512, n_mels=N, power=2), ref=1, amin=1e-10, top_db=80);
  * mfcc with another filterbank size: ref_mfcc.mfcc(y, n_mels=N);
  * --deltas: ref_mfcc.with_deltas, i.e. scipy.signal.savgol_filter(X, 9, polyorder=k,
    deriv=k, axis=-1, mode='interp') for k = 1, 2 (librosa.feature.delta), stacked
    [X; delta; delta2]. The edge frames (0..3, T-4..T-1) are checked on their own as well.
Files: a subset of test_features_ref.py's fixtures (24414, 44100 stereo, 48000, 16000 float,
8000 u8, 22050 FLAC, a 1.2 s clip). The reference runs on ser's own 22050 Hz signal
(--signal): the loader is checked end to end by mfcc_reference, and the signal must not
depend on the feature options (checked: equal to the plain MFCC run's). Tolerance: 1e-3 max
abs, the MFCC tests' (docs/mfcc.md §7); the observed maxima are printed.
Also: bad option values fail naming the option; --deltas on a clip of fewer than 9 frames fails.
Usage: test_features_logmel.py SER_BINARY. Exits 1 on failure."""
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_mfcc  # noqa: E402
import test_features_ref as tfr  # noqa: E402  (the fixtures)

SER = sys.argv[1] if len(sys.argv) > 1 else None
TOL = 1e-3
FILES = {"tess_24414_16bit", "44.1k_stereo_16bit", "48k_24bit_5s", "16k_float", "8k_u8",
         "flac_22050", "22050_1.2s"}
# (feature type, n_mels, deltas, n_mfcc)
CONFIGS = [("logmel", 128, False, 40), ("logmel", 64, True, 40), ("logmel", 40, False, 40),
           ("mfcc", 64, True, 20), ("mfcc", 128, True, 40)]
fails = []


def check(cond, msg):
    if not cond:
        fails.append(msg)
        print("FAIL", msg, file=sys.stderr)
    return cond


def ser_features(path, d, tag, *opts):
    m_path, s_path = os.path.join(d, tag + "_m.npy"), os.path.join(d, tag + "_s.npy")
    r = subprocess.run([SER, "features", path, "--npy", m_path, "--signal", s_path, *opts],
                       capture_output=True, text=True)
    if not check(r.returncode == 0, f"{tag}: ser features {opts} exited {r.returncode}: "
                 f"{r.stderr}"):
        return None, None
    return np.load(m_path), np.load(s_path)


def run_file(name, path, d):
    _, y0 = ser_features(path, d, name + "_base")
    for ftype, n_mels, deltas, n_mfcc in CONFIGS:
        opts = ["--feature-type", ftype, "--n-mels", str(n_mels), "--n-mfcc", str(n_mfcc)]
        opts += ["--deltas"] if deltas else []
        tag = f"{name}_{ftype}_{n_mels}{'_d' if deltas else ''}"
        m, y = ser_features(path, d, tag, *opts)
        if m is None:
            continue
        check(y0 is not None and np.array_equal(y, y0), f"{tag}: signal depends on the options")
        F = n_mels if ftype == "logmel" else n_mfcc
        rows = 3 * F if deltas else F
        if not check(m.dtype == np.float32 and m.shape == (rows, 130),
                     f"{tag}: {m.dtype} {m.shape}, expected float32 ({rows}, 130)"):
            continue
        ref = ref_mfcc.logmel(y, n_mels=n_mels) if ftype == "logmel" else \
            ref_mfcc.mfcc(y, n_mfcc=n_mfcc, n_mels=n_mels)
        if deltas:
            ref = ref_mfcc.with_deltas(ref)
        errs = [float(np.max(np.abs(m[p * F:(p + 1) * F] - ref[p * F:(p + 1) * F])))
                for p in range(rows // F)]
        for p, e in enumerate(errs):
            check(e <= TOL, f"{tag}: plane {p}: max |ser - reference| = {e:.3g} > {TOL}")
        if deltas:
            edge = np.r_[0:4, 126:130]
            ee = float(np.max(np.abs(m[F:, edge] - ref[F:, edge])))
            check(ee <= TOL, f"{tag}: delta edge frames: max |ser - reference| = {ee:.3g}")
        print(f"{tag:34s} max abs per plane " + " ".join(f"{e:.2e}" for e in errs))


def bad_values(d, path):
    cases = [(["--feature-type", "spectrum"], "--feature-type"),
             (["--n-mels", "0"], "--n-mels"),
             (["--n-mels", "20"], "--n-mfcc"),  # 40 MFCCs from 20 bands
             (["--deltas", "--duration", "0.05"], "deltas")]
    for opts, word in cases:
        r = subprocess.run([SER, "features", path, *opts], capture_output=True, text=True)
        check(r.returncode == 1 and word in r.stderr and r.stdout == "",
              f"{opts}: exit {r.returncode}, stderr {r.stderr!r}")
    # log-mel ignores --n-mfcc: 20 bands are fine
    r = subprocess.run([SER, "features", path, "--feature-type", "logmel", "--n-mels", "20"],
                       capture_output=True, text=True)
    check(r.returncode == 0 and len(r.stdout.strip().split("\n")) == 20,
          f"logmel 20 bands: exit {r.returncode} {r.stderr!r}")
    r = subprocess.run([SER, "features", "--help"], capture_output=True, text=True)
    check(all(o in r.stdout for o in ("--feature-type", "--n-mels", "--deltas")), "--help")


def main():
    if SER is None:
        sys.exit("usage: test_features_logmel.py SER_BINARY")
    tfr.SER = SER
    with tempfile.TemporaryDirectory() as d:
        files = [f for f in tfr.make_files(d) if f[0] in FILES]
        check(len(files) == len(FILES), "fixtures missing")
        for name, path, _ in files:
            run_file(name, path, d)
        bad_values(d, files[0][1])
    if fails:
        print(f"test_features_logmel: {len(fails)} failure(s)", file=sys.stderr)
        sys.exit(1)
    print("test_features_logmel: ok")


if __name__ == "__main__":
    main()
