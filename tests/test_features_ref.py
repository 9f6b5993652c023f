"""test_features_ref.py: `ser features` against the independent numpy pipeline in
ref_mfcc.py, on files made here with espeak-ng and sox in many formats (TESS-like 24414 Hz
16-bit speech, 44.1 kHz stereo, 48 kHz 24-bit, 16 kHz float, 8 kHz u8, FLAC, OGG, 96 kHz,
3 channels, 1.2 s and 5 s). For each file, `ser features --npy --signal` and:
  * signal: the reference signal is made end to end in librosa 0.10's order from a
    libsndfile-free decoding (ref_mfcc.read_wav; libvorbisfile for OGG; FLAC via sox):
    cut int(0.5*sr0) / int(3.0*sr0) frames at the native rate, float32 channel mean, then for
    sr0 != 22050 libsoxr SOXR_HQ float32 resampling exactly as python-soxr's soxr.resample
    calls it (ref_mfcc.soxr_resample, ctypes), fix_length to ceil(n0*22050/sr0), zero padding
    to 66150. 22050 Hz input must equal it exactly; resampled input to SIGNAL_TOL (max abs).
    The reference resampler is itself checked against soxr_oneshot (python-soxr's oracle).
  * MFCC: ser's MFCC must match ref_mfcc.mfcc of ser's own signal (the MFCC stage alone) and of
    the reference signal (the whole pipeline, end to end) to 1e-3 max abs (docs/mfcc.md §7).
Also: CSV output equals the .npy, bad files fail with exit 1 and a message naming the file.
Usage: test_features_ref.py SER_BINARY. Exits 1 on failure."""
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ref_mfcc  # noqa: E402

SER = sys.argv[1] if len(sys.argv) > 1 else None
fails = []
# Resampled signal vs the libsoxr reference, max abs. ser and the reference call the same
# libsoxr with the same specs, and on all 8 resampled inputs here they agree bit for bit (0);
# 1e-6 leaves room only for float rounding (a few ulps of a [-1, 1] float32 signal). A looser
# 1e-3 would let libsoxr's MQ quality through on 44.1k_stereo_16bit (max 9e-5) and 24414_0.9s
# (7.5e-4); MQ moves the MFCCs by 0.06 to 1.5, which the 1e-3 end-to-end MFCC check sees.
SIGNAL_TOL = 1e-6
MFCC_TOL = 1e-3


def check(cond, msg):
    if not cond:
        fails.append(msg)
        print("FAIL", msg, file=sys.stderr)
    return cond


def sh(*args):
    subprocess.run(args, check=True, capture_output=True)


def soxi_frames(path):
    out = subprocess.run(["soxi", "-s", path], check=True, capture_output=True, text=True)
    return int(out.stdout.strip())


def soxi_rate(path):
    out = subprocess.run(["soxi", "-r", path], check=True, capture_output=True, text=True)
    return int(float(out.stdout.strip()))


def make_files(d):
    """Returns [(name, path, 22050 Hz WAV for the exact signal check, or None)]."""
    j = lambda n: os.path.join(d, n)  # noqa: E731
    sh("espeak-ng", "-w", j("speech.wav"), "Say the word kite. The quick brown fox jumps over the lazy dog.")
    sh("espeak-ng", "-v", "en-us+f3", "-w", j("speech2.wav"), "Say the word dog")
    # speech with some silence around it, as TESS clips
    sh("sox", j("speech2.wav"), "-r", "24414", "-b", "16", j("tess_24414.wav"), "pad", "0.3", "0.2")
    sh("sox", "-n", "-r", "22050", "-c", "1", j("chirp.wav"), "synth", "6", "sine", "150-7000",
       "vol", "0.4")
    files = [("tess_24414_16bit", j("tess_24414.wav"), None)]
    sh("sox", "-M", j("speech.wav"), j("chirp.wav"), "-r", "44100", "-b", "16",
       j("st44.wav"), "trim", "0", "4")
    files.append(("44.1k_stereo_16bit", j("st44.wav"), None))
    sh("sox", j("speech.wav"), "-r", "48000", "-b", "24", j("r48_24.wav"), "trim", "0", "5")
    files.append(("48k_24bit_5s", j("r48_24.wav"), None))
    sh("sox", j("speech.wav"), "-r", "16000", "-e", "floating-point", "-b", "32", j("r16f.wav"),
       "trim", "0", "3")
    files.append(("16k_float", j("r16f.wav"), None))
    sh("sox", j("speech.wav"), "-r", "8000", "-e", "unsigned-integer", "-b", "8", j("r8u8.wav"),
       "trim", "0", "3")
    files.append(("8k_u8", j("r8u8.wav"), None))
    sh("sox", j("speech.wav"), "-r", "22050", "-b", "16", j("f22.flac"), "trim", "0", "3")
    sh("sox", j("f22.flac"), j("f22_dec.wav"))  # libFLAC via sox, for the exact check
    files.append(("flac_22050", j("f22.flac"), j("f22_dec.wav")))
    sh("sox", j("speech.wav"), "-r", "32000", j("v32.ogg"), "trim", "0", "3")
    files.append(("ogg_32k", j("v32.ogg"), None))
    sh("sox", j("speech.wav"), "-r", "96000", "-b", "24", j("r96.wav"), "trim", "0", "3")
    files.append(("96k_24bit", j("r96.wav"), None))
    sh("sox", "-M", j("speech.wav"), j("chirp.wav"), j("speech.wav"), "-b", "16", j("ch3.wav"),
       "trim", "0.1", "3")
    files.append(("22050_3ch", j("ch3.wav"), j("ch3.wav")))
    sh("sox", j("speech.wav"), "-b", "16", j("short.wav"), "trim", "0", "1.2")
    files.append(("22050_1.2s", j("short.wav"), j("short.wav")))
    sh("sox", j("speech.wav"), j("chirp.wav"), "-b", "16", j("long.wav"), "trim", "0", "5")
    files.append(("22050_5s", j("long.wav"), j("long.wav")))
    sh("sox", j("speech.wav"), "-e", "unsigned-integer", "-b", "8", j("u8_22.wav"), "trim", "0", "2")
    files.append(("22050_u8", j("u8_22.wav"), j("u8_22.wav")))
    sh("sox", j("speech2.wav"), "-r", "24414", "-b", "16", j("tess_short.wav"), "trim", "0", "0.9")
    files.append(("24414_0.9s", j("tess_short.wav"), None))
    return files


def expected_length(path):
    sr0, frames = soxi_rate(path), soxi_frames(path)
    n0 = min(int(3.0 * sr0), frames - int(0.5 * sr0))
    if sr0 == 22050:
        return min(n0, 66150), sr0, n0
    return min(66150, int(math.ceil(n0 * (22050.0 / sr0)))), sr0, n0


def decode(path, pcm):
    """(sr0, float32 (n, C)): the independent decoding of the file ser read."""
    if pcm is not None:
        return ref_mfcc.read_wav(pcm)
    if path.endswith(".ogg"):
        return ref_mfcc.read_ogg(path)
    return ref_mfcc.read_wav(path)


def run_one(name, path, pcm, d):
    m_path, s_path = os.path.join(d, name + "_m.npy"), os.path.join(d, name + "_s.npy")
    r = subprocess.run([SER, "features", path, "--npy", m_path, "--signal", s_path],
                       capture_output=True, text=True)
    if not check(r.returncode == 0, f"{name}: ser features exited {r.returncode}: {r.stderr}"):
        return
    m, y = np.load(m_path), np.load(s_path)
    check(m.dtype == np.float32 and m.shape == (40, 130), f"{name}: mfcc {m.dtype} {m.shape}")
    if not check(y.dtype == np.float32 and y.shape == (66150,),
                 f"{name}: signal {y.dtype} {y.shape}"):
        return
    err = float(np.max(np.abs(ref_mfcc.mfcc(y) - m)))
    check(err <= MFCC_TOL, f"{name}: MFCC stage: max |ser - reference MFCC of ser's signal| = "
          f"{err:.3g} > {MFCC_TOL}")
    L, sr0, n0 = expected_length(path)
    check(np.all(y[L:] == 0), f"{name}: signal not zero after sample {L}")

    sr, x = decode(path, pcm)
    check(sr == sr0, f"{name}: reference decoder says {sr} Hz, soxi {sr0} Hz")
    want = ref_mfcc.librosa_load(x, sr)
    check(len(want) == L, f"{name}: reference signal has {len(want)} samples, expected {L}")
    want = np.pad(want, (0, max(0, 66150 - len(want))))[:66150]
    sig = float(np.max(np.abs(y.astype(np.float64) - want)))
    if sr == 22050:
        check(np.array_equal(y, want), f"{name}: signal differs from the independent decoding "
              f"(max {sig:.3g}); 22050 Hz input must not be altered")
        note = "signal exact"
    else:
        check(sig <= SIGNAL_TOL, f"{name}: resampled signal vs libsoxr HQ reference: max abs "
              f"{sig:.3g} > {SIGNAL_TOL}")
        seg = ref_mfcc.librosa_load_native(x, sr)
        a = ref_mfcc.soxr_resample(seg, sr, 22050)
        b = ref_mfcc.soxr_oneshot_resample(seg, sr, 22050)
        same = len(a) == len(b) and float(np.max(np.abs(a - b), initial=0.0)) <= SIGNAL_TOL
        check(same, f"{name}: reference soxr_resample disagrees with soxr_oneshot")
        note = f"signal max|ser - soxr HQ ref| {sig:.2g}"
    e2e = float(np.max(np.abs(ref_mfcc.mfcc(want) - m)))
    check(e2e <= MFCC_TOL, f"{name}: end to end: max |ser MFCC - reference MFCC| = {e2e:.3g} "
          f"> {MFCC_TOL}")
    print(f"{name:20s} sr0={sr0:6d} n0={n0:6d} L={L:5d} MFCC stage {err:.2e} "
          f"end to end {e2e:.2e}; {note}")


def cli_checks(d, path):
    r = subprocess.run([SER, "features", path], capture_output=True, text=True)
    check(r.returncode == 0, f"csv: exit {r.returncode} {r.stderr}")
    rows = [list(map(float, line.split(","))) for line in r.stdout.strip().split("\n")]
    csv = np.array(rows, dtype=np.float32)
    m_path = os.path.join(d, "csv_m.npy")
    subprocess.run([SER, "features", "--npy", m_path, path], check=True)
    check(csv.shape == (40, 130) and np.array_equal(csv, np.load(m_path)),
          "CSV output differs from --npy output")
    short = os.path.join(d, "tiny.wav")
    sh("sox", "-n", "-r", "22050", "-b", "16", short, "synth", "0.3", "sine", "440")
    r = subprocess.run([SER, "features", short], capture_output=True, text=True)
    check(r.returncode == 1 and short in r.stderr and
          "shorter than the 0.5 s offset: no audio to analyse" in r.stderr and r.stdout == "",
          f"short file: exit {r.returncode}, stderr {r.stderr!r}")
    junk = os.path.join(d, "junk.wav")
    with open(junk, "w") as f:
        f.write("not audio\n")
    r = subprocess.run([SER, "features", junk], capture_output=True, text=True)
    check(r.returncode == 1 and junk in r.stderr, f"junk: exit {r.returncode} {r.stderr!r}")
    r = subprocess.run([SER, "features", os.path.join(d, "nope.wav")], capture_output=True,
                       text=True)
    check(r.returncode == 1 and "nope.wav" in r.stderr, f"missing: {r.returncode} {r.stderr!r}")
    r = subprocess.run([SER, "features"], capture_output=True, text=True)
    check(r.returncode == 1 and "usage" in r.stderr, f"no FILE: {r.returncode} {r.stderr!r}")
    r = subprocess.run([SER, "features", path, "--bogus"], capture_output=True, text=True)
    check(r.returncode == 1, f"unknown option accepted: {r.returncode}")
    r = subprocess.run([SER, "features", "--help"], capture_output=True, text=True)
    check(r.returncode == 0 and "--npy" in r.stdout and "--signal" in r.stdout, "--help")


def main():
    if SER is None:
        sys.exit("usage: test_features_ref.py SER_BINARY")
    with tempfile.TemporaryDirectory() as d:
        files = make_files(d)
        for name, path, pcm in files:
            run_one(name, path, pcm, d)
        cli_checks(d, files[0][1])
    if fails:
        print(f"test_features_ref: {len(fails)} failure(s)", file=sys.stderr)
        sys.exit(1)
    print("test_features_ref: ok")


if __name__ == "__main__":
    main()
