#!/usr/bin/python3
# corpus_check.py: generate a small stand-in corpus with jobs/make_corpus.py and check it
# against the real TESS layout, using sox's soxi as the independent reader.
#
#   /usr/bin/python3 tests/corpus_check.py BUILD_DIR [--words 10]
#
# Writes BUILD_DIR/corpus10 (kept: other tests use it through the ctest fixture corpus10)
# and BUILD_DIR/corpus10-j1, BUILD_DIR/corpus1-seed7 (scratch).  Checks:
#  - exactly 2 x 7 x N files with TESS's folder names (uneven capitalisation) and
#    SPEAKER_WORD_EMOTION.wav names for the first N NU-6 words, nothing else left behind;
#  - every file is 16-bit signed PCM, mono, 24414 Hz according to soxi, 1.0 - 3.5 s long;
#  - determinism: a second copy made with a different --jobs is byte-identical; a different
#    --seed gives different files;
#  - a re-run skips complete files; a re-run with another seed but no --force is refused.
# Exits non-zero with a message on the first failure.
import hashlib
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(os.path.dirname(HERE), "jobs", "make_corpus.py")
PY = "/usr/bin/python3"

# From the task spec / the real TESS, written out independently of the generator.
FIRST_WORDS = "back bar base bath bean beg bite boat bone book bought burn".split()
FOLDERS = [("OAF", "angry", "OAF_angry"), ("OAF", "disgust", "OAF_disgust"),
           ("OAF", "fear", "OAF_Fear"), ("OAF", "happy", "OAF_happy"),
           ("OAF", "neutral", "OAF_neutral"), ("OAF", "ps", "OAF_Pleasant_surprise"),
           ("OAF", "sad", "OAF_Sad"), ("YAF", "angry", "YAF_angry"),
           ("YAF", "disgust", "YAF_disgust"), ("YAF", "fear", "YAF_fear"),
           ("YAF", "happy", "YAF_happy"), ("YAF", "neutral", "YAF_neutral"),
           ("YAF", "ps", "YAF_pleasant_surprised"), ("YAF", "sad", "YAF_sad")]

failures = []


def fail(msg):
    print(f"corpus_check: FAIL: {msg}", file=sys.stderr)
    sys.exit(1)


def gen(out, *args):
    cmd = [PY, GEN, "--out", out, "--quiet"] + [str(a) for a in args]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return r.returncode, r.stdout


def listing(root):
    files = set()
    for d, _, fs in os.walk(root):
        for f in fs:
            rel = os.path.relpath(os.path.join(d, f), root)
            if rel != ".make_corpus.json":
                files.add(rel)
    return files


def digests(root, names):
    out = {}
    for n in sorted(names):
        with open(os.path.join(root, n), "rb") as f:
            out[n] = hashlib.sha256(f.read()).hexdigest()
    return out


def soxi(path):
    r = subprocess.run(["soxi", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if r.returncode != 0:
        fail(f"soxi cannot read {path}: {r.stdout.strip()}")
    info = {}
    for line in r.stdout.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            info[k.strip()] = v.strip()
    d = subprocess.run(["soxi", "-D", path], stdout=subprocess.PIPE, text=True)
    info["seconds"] = float(d.stdout.strip())
    return info


def main():
    if len(sys.argv) < 2:
        print("usage: corpus_check.py BUILD_DIR [--words N]", file=sys.stderr)
        return 2
    build = sys.argv[1]
    nwords = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[2] == "--words" else 10
    if shutil.which("soxi") is None:
        fail("soxi not found: install the Debian package 'sox'")
    a = os.path.join(build, f"corpus{nwords}")
    b = os.path.join(build, f"corpus{nwords}-j1")
    c = os.path.join(build, "corpus1-seed7")
    for d in (a, b, c):
        shutil.rmtree(d, ignore_errors=True)

    rc, log = gen(a, "--words", nwords, "--jobs", 2)
    if rc != 0:
        fail(f"make_corpus.py --jobs 2 failed (exit {rc}):\n{log}")

    expected = {os.path.join(folder, f"{spk}_{w}_{emo}.wav")
                for spk, emo, folder in FOLDERS for w in FIRST_WORDS[:nwords]}
    got = listing(a)
    if got != expected:
        fail(f"file set differs: missing {sorted(expected - got)[:5]}, "
             f"unexpected {sorted(got - expected)[:5]} ({len(got)} files, "
             f"expected {len(expected)})")
    print(f"corpus_check: {len(got)} files with TESS names and folders")

    durs = []
    for n in sorted(expected):
        info = soxi(os.path.join(a, n))
        want = {"Channels": "1", "Sample Rate": "24414", "Precision": "16-bit",
                "Sample Encoding": "16-bit Signed Integer PCM"}
        for k, v in want.items():
            if info.get(k) != v:
                fail(f"{n}: soxi says {k} = {info.get(k)!r}, expected {v!r}")
        if not 1.0 <= info["seconds"] <= 3.5:
            fail(f"{n}: duration {info['seconds']:.3f} s outside 1.0-3.5 s")
        durs.append(info["seconds"])
    print(f"corpus_check: all 16-bit mono 24414 Hz; durations {min(durs):.2f}-{max(durs):.2f} s, "
          f"mean {sum(durs) / len(durs):.2f} s")

    rc, log = gen(b, "--words", nwords, "--jobs", 1)
    if rc != 0:
        fail(f"make_corpus.py --jobs 1 failed (exit {rc}):\n{log}")
    da, db = digests(a, expected), digests(b, listing(b))
    if da != db:
        diff = [n for n in da if da[n] != db.get(n)]
        fail(f"--jobs 2 and --jobs 1 differ in {len(diff)} files, e.g. {diff[:3]}")
    print("corpus_check: --jobs 2 and --jobs 1 give byte-identical files")

    rc, log = gen(c, "--words", 1, "--seed", 7, "--jobs", 2)
    if rc != 0:
        fail(f"make_corpus.py --seed 7 failed (exit {rc}):\n{log}")
    dc = digests(c, listing(c))
    same = [n for n in dc if dc[n] == da.get(n)]
    if len(dc) != 14 or same:
        fail(f"--seed 7 should change every file: {len(dc)} files, {len(same)} identical")
    print("corpus_check: --seed 7 changes every file; --words 1 gives 14 files")

    rc, log = gen(b, "--words", nwords, "--jobs", 2)
    if rc != 0 or digests(b, listing(b)) != da:
        fail(f"re-run without --force failed or changed files (exit {rc}):\n{log}")
    rc, log = gen(b, "--words", nwords, "--seed", 7)
    if rc == 0 or "--force" not in log:
        fail(f"re-run with another seed and no --force should be refused (exit {rc}):\n{log}")
    print("corpus_check: re-run skips complete files; seed change without --force refused")
    shutil.rmtree(b, ignore_errors=True)
    shutil.rmtree(c, ignore_errors=True)
    print("corpus_check: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
