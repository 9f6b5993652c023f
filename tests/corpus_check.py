#!/usr/bin/python3
# corpus_check.py: generate a small stand-in corpus with jobs/make_corpus.py and check it
# against the real corpus's layout, using sox's soxi as the independent reader.
#
#   /usr/bin/python3 tests/corpus_check.py BUILD_DIR [--words 10]            (TESS)
#   /usr/bin/python3 tests/corpus_check.py BUILD_DIR --corpus ravdess|cremad|savee|emodb
#
# TESS writes BUILD_DIR/corpus10 (kept: other tests use it through the ctest fixture corpus10)
# and BUILD_DIR/corpus10-j1, BUILD_DIR/corpus1-seed7 (scratch).  Checks:
#  - exactly 2 x 7 x N files with TESS's folder names (uneven capitalisation) and
#    SPEAKER_WORD_EMOTION.wav names for the first N NU-6 words, nothing else left behind;
#  - every file is 16-bit signed PCM, mono, 24414 Hz according to soxi, 1.0 - 3.5 s long;
#  - determinism: a second copy made with a different --jobs is byte-identical; a different
#    --seed gives different files;
#  - a re-run skips complete files; a re-run with another seed but no --force is refused.
# The other corpora write BUILD_DIR/corpus-CORPUS and BUILD_DIR/corpus-CORPUS-j1 (scratch,
# removed on success).  For each, the expected file names are written out below from the real
# corpus's documentation, independently of the generator, and checked:
#  - the full corpus's plan (make_corpus.py --list, no synthesis): the exact set of names and
#    folders and its count (RAVDESS 1,440 speech files + the --quirks extras, CREMA-D 7,442
#    with the real 20 gaps, SAVEE 480, EmoDB the real 535 with their per-emotion and
#    per-speaker counts); every speaker has a voice of its own (--voices);
#  - a small generated corpus: exactly the expected files, every audio file 16-bit mono at the
#    corpus's rate per soxi and within its duration range, the quirk and defect files
#    (RAVDESS song files and .mp4 placeholders; CREMA-D's undecodable 1076_MTI_NEU_XX, silent
#    1076_MTI_SAD_XX, git-lfs pointers with --quirks and --lfs-pointers; SAVEE's flat layout);
#  - determinism: a smaller corpus made with --jobs 1 is byte-identical to the same files of
#    the first (subsets are subsets, whatever --jobs).
# Exits non-zero with a message on the first failure.
import hashlib
import os
import re
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


def check_tess(build, nwords):
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


# ---------------------------------------------------------------------------------------------
# The sentence corpora.  Expected names come from the real corpora's documentation.

def plan(corpus, *args):
    """The generator's plan (make_corpus.py --list): relative paths, no synthesis."""
    r = subprocess.run([PY, GEN, "--corpus", corpus, "--list"] + [str(a) for a in args],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        fail(f"make_corpus.py --corpus {corpus} --list {args} failed:\n{r.stdout}")
    names = r.stdout.split()
    if len(names) != len(set(names)):
        fail(f"{corpus}: --list names a file twice")
    return set(names)


def same_set(what, got, expected):
    if got != expected:
        fail(f"{what}: file set differs: missing {sorted(expected - got)[:4]}, unexpected "
             f"{sorted(got - expected)[:4]} ({len(got)} files, expected {len(expected)})")


def distinct_voices(corpus):
    r = subprocess.run([PY, GEN, "--corpus", corpus, "--voices"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    rows = [line.split("\t") for line in r.stdout.splitlines()]
    if r.returncode != 0 or not rows:
        fail(f"{corpus} --voices failed:\n{r.stdout}")
    voices = [row[2] for row in rows]
    if len(set(voices)) != len(voices):
        fail(f"{corpus}: two speakers share an espeak-ng voice: {voices}")
    return len(voices)


def check_audio(root, names, rate, lo, hi):
    """soxi: 16-bit signed PCM, mono, RATE, duration in [lo, hi] s."""
    durs = []
    for n in sorted(names):
        info = soxi(os.path.join(root, n))
        want = {"Channels": "1", "Sample Rate": str(rate), "Precision": "16-bit",
                "Sample Encoding": "16-bit Signed Integer PCM"}
        for k, v in want.items():
            if info.get(k) != v:
                fail(f"{n}: soxi says {k} = {info.get(k)!r}, expected {v!r}")
        if not lo - 0.01 <= info["seconds"] <= hi + 0.01:
            fail(f"{n}: duration {info['seconds']:.3f} s outside {lo}-{hi} s")
        durs.append(info["seconds"])
    print(f"corpus_check: {len(names)} files 16-bit mono {rate} Hz per soxi, "
          f"{min(durs):.2f}-{max(durs):.2f} s (mean {sum(durs) / len(durs):.2f} s)")


def generate(corpus, out, *args):
    shutil.rmtree(out, ignore_errors=True)
    rc, log = gen(out, "--corpus", corpus, *args)
    if rc != 0:
        fail(f"make_corpus.py --corpus {corpus} {args} failed (exit {rc}):\n{log}")


def check_subset(a, b, what):
    """Every file of the smaller corpus b is byte-identical to the same file of a."""
    db, da = digests(b, listing(b)), digests(a, listing(b))
    diff = [n for n in db if db[n] != da[n]]
    if diff:
        fail(f"{what}: {len(diff)} of {len(db)} files differ, e.g. {diff[:3]}")
    print(f"corpus_check: {what}: {len(db)} files byte-identical")


RAV_EMOTIONS = ["01", "02", "03", "04", "05", "06", "07", "08"]


def ravdess_names(actors, statements, quirks):
    """Speech: 03-01-EE-II-SS-RR-AA.wav, neutral (01) only at normal intensity (01).
    --quirks (docs/corpus.md §2.2): per actor two song files (03-02-03-01-01-01, 03-02-05-02-
    02-02; none for Actor_18, who has no songs) in Audio_Song_Actors_01-24, two .mp4 (01- and
    02-01-03-01-01-01) in Video_Speech_Actor_NN, and for Actor_01 the first song and the
    01- .mp4 mixed into its speech folder."""
    out = set()
    for a in actors:
        for e in RAV_EMOTIONS:
            for i in (["01"] if e == "01" else ["01", "02"]):
                for s in statements:
                    for r in ("01", "02"):
                        out.add(f"Audio_Speech_Actors_01-24/Actor_{a}/"
                                f"03-01-{e}-{i}-{s}-{r}-{a}.wav")
        if quirks:
            if a != "18":
                out |= {f"Audio_Song_Actors_01-24/Actor_{a}/03-02-03-01-01-01-{a}.wav",
                        f"Audio_Song_Actors_01-24/Actor_{a}/03-02-05-02-02-02-{a}.wav"}
            out |= {f"Video_Speech_Actor_{a}/Actor_{a}/{m}-01-03-01-01-01-{a}.mp4"
                    for m in ("01", "02")}
            if a == "01":
                out |= {"Audio_Speech_Actors_01-24/Actor_01/03-02-03-01-01-01-01.wav",
                        "Audio_Speech_Actors_01-24/Actor_01/01-01-03-01-01-01-01.mp4"}
    return out


def check_ravdess(build):
    actors = [f"{a:02d}" for a in range(1, 25)]
    full = ravdess_names(actors, ["01", "02"], False)
    if len(full) != 1440:
        fail(f"test bug: {len(full)} RAVDESS names")
    same_set("ravdess --list", plan("ravdess"), full)
    same_set("ravdess --list --quirks", plan("ravdess", "--quirks"),
             ravdess_names(actors, ["01", "02"], True))
    print(f"corpus_check: ravdess plan: 1440 speech files, 60 per actor; --quirks adds "
          f"{len(ravdess_names(actors, ['01', '02'], True)) - 1440}; "
          f"{distinct_voices('ravdess')} distinct voices")
    a, b = os.path.join(build, "corpus-ravdess"), os.path.join(build, "corpus-ravdess-j1")
    generate("ravdess", a, "--speakers", 2, "--sentences", 1, "--quirks", "--jobs", 2)
    expected = ravdess_names(["01", "02"], ["01"], True)
    same_set("ravdess --speakers 2 --sentences 1 --quirks", listing(a), expected)
    wavs = {n for n in expected if n.endswith(".wav")}
    check_audio(a, wavs, 48000, 2.9, 5.3)
    for n in expected - wavs:
        with open(os.path.join(a, n), "rb") as f:
            data = f.read()
        if data[:4] == b"RIFF" or len(data) > 1024 or data[4:8] != b"ftyp":
            fail(f"{n}: expected a small non-audio .mp4 placeholder")
    song = "03-02-03-01-01-01-01.wav"
    if digests(a, [f"Audio_Speech_Actors_01-24/Actor_01/{song}"]).popitem()[1] != \
            digests(a, [f"Audio_Song_Actors_01-24/Actor_01/{song}"]).popitem()[1]:
        fail("the song file mixed into Actor_01 differs from Audio_Song_Actors_01-24's")
    print(f"corpus_check: ravdess quirks: {len(expected) - 60} extra files (songs, .mp4)")
    generate("ravdess", b, "--speakers", 1, "--sentences", 1, "--jobs", 1)
    same_set("ravdess --speakers 1 --sentences 1", listing(b),
             ravdess_names(["01"], ["01"], False))
    check_subset(a, b, "ravdess --jobs 1 subset")
    return a, b


CREMA_SENT = "IEO TIE IOM IWW TAI MTI IWL ITH DFA ITS TSI WSI".split()
CREMA_EMO = "NEU HAP SAD ANG FEA DIS".split()
# the 20 clips the real corpus lacks (gaps in CREMA-D's SentenceFilenames.csv)
CREMA_MISSING = ({"1002_TIE_NEU_XX", "1076_ITS_NEU_XX"} |
                 {f"1008_WSI_{e}_XX" for e in CREMA_EMO} |
                 {f"1009_MTI_{e}_XX" for e in CREMA_EMO} |
                 {f"1019_ITH_{e}_XX" for e in CREMA_EMO})
LFS = re.compile(r"version https://git-lfs\.github\.com/spec/v1\noid sha256:[0-9a-f]{64}\n"
                 r"size [0-9]+\n")


def crema_names(actors, sentences):
    out = set()
    for a in actors:
        for s in sentences:
            for e in CREMA_EMO:
                for lv in (["LO", "MD", "HI"] if s == "IEO" and e != "NEU" else ["XX"]):
                    stem = f"{a}_{s}_{e}_{lv}"
                    if stem not in CREMA_MISSING:
                        out.add(f"AudioWAV/{stem}.wav")
    return out


def is_lfs(path):
    with open(path, "rb") as f:
        data = f.read()
    return 100 <= len(data) <= 160 and LFS.fullmatch(data.decode("ascii", "replace"))


def check_cremad(build):
    actors = [str(a) for a in range(1001, 1092)]
    full = crema_names(actors, CREMA_SENT)
    if len(full) != 7442:
        fail(f"test bug: {len(full)} CREMA-D names")
    same_set("cremad --list", plan("cremad"), full)
    print(f"corpus_check: cremad plan: 7442 files (91 x 82 less the real 20 gaps); "
          f"{distinct_voices('cremad')} distinct voices")
    a, b = os.path.join(build, "corpus-cremad"), os.path.join(build, "corpus-cremad-j1")
    # all pointers: the whole corpus, no synthesis
    generate("cremad", a, "--lfs-pointers", "--jobs", 2)
    same_set("cremad --lfs-pointers", listing(a), full)
    bad = [n for n in sorted(full) if not is_lfs(os.path.join(a, n))]
    if bad:
        fail(f"--lfs-pointers: {len(bad)} files are not git-lfs pointers, e.g. {bad[:3]}")
    print("corpus_check: cremad --lfs-pointers: 7442 git-lfs pointer files of 100-160 bytes")
    # audio: actor 1002 (one of the 20 gaps) and 1076 (the defects), first 6 sentences
    generate("cremad", a, "--speaker-ids", "1002,1076", "--sentences", 6, "--quirks",
             "--jobs", 2)
    expected = crema_names(["1002", "1076"], CREMA_SENT[:6])
    same_set("cremad --speaker-ids 1002,1076 --sentences 6", listing(a), expected)
    if "AudioWAV/1002_TIE_NEU_XX.wav" in expected or len(expected) != 91:
        fail("test bug: 1002_TIE_NEU_XX")
    special = {"AudioWAV/1076_MTI_NEU_XX.wav", "AudioWAV/1076_MTI_SAD_XX.wav",
               "AudioWAV/1002_IEO_DIS_HI.wav"}
    check_audio(a, expected - special, 16000, 1.27, 5.0)
    r = subprocess.run(["soxi", os.path.join(a, "AudioWAV/1076_MTI_NEU_XX.wav")],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode == 0:
        fail("1076_MTI_NEU_XX.wav should not be decodable, soxi reads it")
    info = soxi(os.path.join(a, "AudioWAV/1076_MTI_SAD_XX.wav"))
    with open(os.path.join(a, "AudioWAV/1076_MTI_SAD_XX.wav"), "rb") as f:
        data = f.read()
    if info.get("Sample Rate") != "16000" or info["seconds"] < 1.0 or any(data[44:]):
        fail("1076_MTI_SAD_XX.wav should be a 16 kHz WAV of all-zero samples")
    if not is_lfs(os.path.join(a, "AudioWAV/1002_IEO_DIS_HI.wav")):
        fail("--quirks: 1002_IEO_DIS_HI.wav should be a git-lfs pointer")
    print("corpus_check: cremad defects: 1076_MTI_NEU_XX undecodable (soxi fails), "
          "1076_MTI_SAD_XX silent, --quirks 1002_IEO_DIS_HI a git-lfs pointer")
    generate("cremad", b, "--speaker-ids", "1076", "--sentences", 2, "--jobs", 1)
    same_set("cremad --speaker-ids 1076 --sentences 2", listing(b),
             crema_names(["1076"], CREMA_SENT[:2]))
    check_subset(a, b, "cremad --jobs 1 subset")
    return a, b


SAVEE_CODES = [("a", 15), ("d", 15), ("f", 15), ("h", 15), ("n", 30), ("sa", 15), ("su", 15)]


def savee_names(speakers, n, flat=False):
    """n sentences per emotion (2n neutral), AudioData/SPK/xNN.wav or ALL/SPK_xNN.wav."""
    out = set()
    for s in speakers:
        for code, total in SAVEE_CODES:
            for i in range(1, min(total, n * total // 15) + 1):
                out.add(f"ALL/{s}_{code}{i:02d}.wav" if flat else
                        f"AudioData/{s}/{code}{i:02d}.wav")
    return out


def check_savee(build):
    full = savee_names(["DC", "JE", "JK", "KL"], 15)
    if len(full) != 480:
        fail(f"test bug: {len(full)} SAVEE names")
    same_set("savee --list", plan("savee"), full)
    same_set("savee --list --layout flat", plan("savee", "--layout", "flat"),
             savee_names(["DC", "JE", "JK", "KL"], 15, flat=True))
    print(f"corpus_check: savee plan: 480 files, 120 per speaker; "
          f"{distinct_voices('savee')} distinct voices")
    a, b = os.path.join(build, "corpus-savee"), os.path.join(build, "corpus-savee-j1")
    generate("savee", a, "--speakers", 2, "--sentences", 2, "--jobs", 2)
    expected = savee_names(["DC", "JE"], 2)
    same_set("savee --speakers 2 --sentences 2", listing(a), expected)
    check_audio(a, expected, 44100, 1.6, 7.2)
    generate("savee", b, "--speakers", 1, "--sentences", 1, "--layout", "flat", "--jobs", 1)
    flat = savee_names(["DC"], 1, flat=True)
    same_set("savee --layout flat", listing(b), flat)
    for n in sorted(flat):
        nested = "AudioData/DC/" + n.split("_", 1)[1]
        if digests(b, [n])[n] != digests(a, [nested])[nested]:
            fail(f"{n} differs from {nested}: the layouts must hold the same audio")
    print(f"corpus_check: savee --layout flat --jobs 1: {len(flat)} files, byte-identical to "
          f"the nested layout's")
    return a, b


# EmoDB: the real corpus's counts (its documentation and file list)
EMODB_SPEAKERS = ["03", "08", "09", "10", "11", "12", "13", "14", "15", "16"]
EMODB_PER_SPEAKER = [49, 58, 43, 38, 55, 35, 61, 69, 56, 71]
EMODB_PER_EMOTION = {"W": 127, "L": 81, "E": 46, "A": 69, "F": 71, "T": 62, "N": 79}
EMODB_TEXTS = ["a01", "a02", "a04", "a05", "a07", "b01", "b02", "b03", "b09", "b10"]
EMODB_SOME = ["03a01Fa", "03a01Nc", "03a01Wa", "08a02Fe", "11b10Ae", "14b09Ea", "16b10Wb"]


def check_emodb(build):
    full = plan("emodb")
    name = re.compile(r"wav/(\d\d)([ab]\d\d)([WLEAFTN])([a-f])\.wav")
    bad = [n for n in full if not name.fullmatch(n)]
    if bad:
        fail(f"emodb: names not of the form wav/SSTTTEV.wav: {bad[:3]}")
    parts = [name.fullmatch(n).groups() for n in full]
    per_spk = [sum(1 for p in parts if p[0] == s) for s in EMODB_SPEAKERS]
    per_emo = {e: sum(1 for p in parts if p[2] == e) for e in EMODB_PER_EMOTION}
    if len(full) != 535 or per_spk != EMODB_PER_SPEAKER or per_emo != EMODB_PER_EMOTION or \
            {p[1] for p in parts} != set(EMODB_TEXTS) or \
            not {f"wav/{s}.wav" for s in EMODB_SOME} <= full:
        fail(f"emodb plan: {len(full)} files, per speaker {per_spk}, per emotion {per_emo}")
    print(f"corpus_check: emodb plan: 535 files, per speaker {per_spk}, per emotion {per_emo}; "
          f"{distinct_voices('emodb')} distinct voices")
    a, b = os.path.join(build, "corpus-emodb"), os.path.join(build, "corpus-emodb-j1")
    generate("emodb", a, "--speakers", 2, "--sentences", 3, "--jobs", 2)
    expected = {n for n, p in zip(full, [name.fullmatch(n).groups() for n in full])
                if p[0] in ("03", "08") and p[1] in EMODB_TEXTS[:3]}
    same_set("emodb --speakers 2 --sentences 3", listing(a), expected)
    check_audio(a, expected, 16000, 1.2, 9.0)
    generate("emodb", b, "--speaker-ids", "08", "--sentences", 1, "--jobs", 1)
    check_subset(a, b, "emodb --jobs 1 subset")
    return a, b


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        print("usage: corpus_check.py BUILD_DIR [--words N | --corpus CORPUS]", file=sys.stderr)
        return 2
    build = args[0]
    opts = dict(zip(args[1::2], args[2::2]))
    corpus = opts.get("--corpus", "tess")
    if shutil.which("soxi") is None:
        fail("soxi not found: install the Debian package 'sox'")
    if corpus == "tess":
        return check_tess(build, int(opts.get("--words", 10)))
    checks = {"ravdess": check_ravdess, "cremad": check_cremad, "savee": check_savee,
              "emodb": check_emodb}
    if corpus not in checks:
        print(f"corpus_check: unknown corpus {corpus!r}", file=sys.stderr)
        return 2
    for d in checks[corpus](build):
        shutil.rmtree(d, ignore_errors=True)
    print("corpus_check: PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
