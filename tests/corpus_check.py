#!/usr/bin/python3
# corpus_check.py: generate a small stand-in corpus with jobs/make_corpus.py and check it
# against the real corpus's layout, using sox's soxi as the independent reader.
#
#   /usr/bin/python3 tests/corpus_check.py BUILD_DIR [--words 10]            (TESS)
#   /usr/bin/python3 tests/corpus_check.py BUILD_DIR --corpus ravdess|cremad|savee|emodb
#   ... [--ser PATH_TO_SER]       also check `ser scan` on every tree made (below)
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
# With --ser, `ser scan --csv --skipped SKIP.csv` runs on the trees (scratch folder
# BUILD_DIR/corpus-CORPUS-scan, removed on success) and its output is compared with what this
# script derives from how each tree was made - the file names checked above, the defects the
# generator is documented to write - and from the corpora's documentation, never from ser
# (expect_file, expect_scan):
#  - the manifest: header exactly path,corpus,speaker,gender,label, then exactly the expected
#    rows in bytewise path order: corpus (tess ravdess cremad savee emodb), speaker namespaced
#    "corpus:ID" as the name spells it (ravdess:01, cremad:1001, savee:DC, emodb:03, tess:OAF),
#    gender (RAVDESS odd actor m, even f; SAVEE m; TESS f; EmoDB from its documentation;
#    CREMA-D from its VideoDemographics.csv, transcribed below) and the canonical label
#    (RAVDESS 02 calm, 06 fear, 08 surprise; EmoDB L boredom, W angry, A fear; SAVEE sa/su;
#    TESS ps surprise);
#  - the skip list (path,reason): exactly the expected paths, each reason of its category
#    (dsp/scan.h): RAVDESS songs "song: ..." (items with --ravdess-song, the copy mixed into
#    Actor_01 then a duplicate), .mp4 "video: ..."; CREMA-D's git-lfs pointers "git-lfs
#    pointer ..." naming git lfs pull, the undecodable file "not a supported audio file: ...",
#    the silent one "silent: ..."; empty files "empty: ...";
#  - the summary line (the only line on stderr): files, skipped, duplicates (copies of one
#    recording - same speaker, utterance and label - count once; the bytewise-smallest path
#    that validates is kept) and other files ignored (hidden entries such as the generator's
#    .make_corpus.json);
# on: the small generated corpus, also with --no-validate (the name-only view: defective
# files become items, songs and videos stay skipped); the --jobs 1 / flat-layout copy; the full
# corpus's names as empty files (all 7,442 CREMA-D git-lfs pointers instead), with and without
# --no-validate (SAVEE's two layouts in one tree); a mixed tree of file symlinks to the corpus,
# its smaller copy and a 14-file TESS made here (the union, each file with its own corpus, the
# copies counted as duplicates); and the CSV round trip: the mixed tree's manifest, saved as
# m.csv and read back with `ser scan --csv m.csv`, gives the identical CSV.
# Exits non-zero with a message on the first failure.
import csv
import hashlib
import io
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
    if SER:
        scratch = scan_scratch(build, "tess")
        check_scan(f"tess --words {nwords}", scratch, a, made("tess", expected))
        shutil.rmtree(scratch)

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
    if not SER:
        return a, b
    scratch = scan_scratch(build, "ravdess")
    what = "ravdess --speakers 2 --sentences 1 --quirks"
    entries = made("ravdess", expected)
    _, rows = check_scan(what, scratch, a, entries)
    if len(rows) != 60:
        fail(f"test bug: {len(rows)} RAVDESS speech files expected")
    check_scan(f"{what} --ravdess-song", scratch, a, entries, "--ravdess-song")
    check_scan(f"{what} --no-validate", scratch, a, entries, "--no-validate")
    check_names_only("ravdess", scratch, ravdess_names(actors, ["01", "02"], True))
    check_mixed("ravdess", scratch, [("ravdess", "ravdess", a, expected, {}),
                                     ("ravdess-j1", "ravdess", b,
                                      ravdess_names(["01"], ["01"], False), {})])
    return a, b, scratch


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
    if SER:
        scratch = scan_scratch(build, "cremad")
        entries = made("cremad", full, {n: "lfs" for n in full})
        check_scan("cremad --lfs-pointers", scratch, a, entries)
        _, rows = check_scan("cremad --lfs-pointers --no-validate", scratch, a, entries,
                             "--no-validate")
        if len({r[2] for r in rows}) != 91 or len({r[2] for r in rows if r[3] == "m"}) != 48:
            fail("test bug: the 7442 rows should name 91 speakers, 48 of them male")
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
    if not SER:
        return a, b
    what = "cremad --speaker-ids 1002,1076 --sentences 6 --quirks"
    defects = dict(CREMAD_DEFECT_CATEGORY, **{"AudioWAV/1002_IEO_DIS_HI.wav": "lfs"})
    _, rows = check_scan(what, scratch, a, made("cremad", expected, defects))
    if len(rows) != 88:
        fail(f"test bug: {len(rows)} usable CREMA-D files expected")
    check_scan(f"{what} --no-validate", scratch, a, made("cremad", expected, defects),
               "--no-validate")
    check_mixed("cremad", scratch, [("cremad", "cremad", a, expected, defects),
                                    ("cremad-j1", "cremad", b,
                                     crema_names(["1076"], CREMA_SENT[:2]), {})])
    return a, b, scratch


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
    if not SER:
        return a, b
    scratch = scan_scratch(build, "savee")
    _, rows = check_scan("savee --speakers 2 --sentences 2 (nested)", scratch, a,
                         made("savee", expected))
    if len(rows) != 32:
        fail(f"test bug: {len(rows)} SAVEE files expected")
    check_scan("savee --speakers 1 --sentences 1 --layout flat", scratch, b, made("savee", flat))
    # both layouts of the whole corpus in one tree: each recording once
    both = savee_names(["DC", "JE", "JK", "KL"], 15) | \
        savee_names(["DC", "JE", "JK", "KL"], 15, flat=True)
    check_names_only("savee", scratch, both)
    check_mixed("savee", scratch, [("savee", "savee", a, expected, {}),
                                   ("savee-flat", "savee", b, flat, {})])
    return a, b, scratch


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
    if not SER:
        return a, b
    scratch = scan_scratch(build, "emodb")
    what = "emodb --speakers 2 --sentences 3"
    check_scan(what, scratch, a, made("emodb", expected))
    check_scan(f"{what} --no-validate", scratch, a, made("emodb", expected), "--no-validate")
    check_names_only("emodb", scratch, full)
    b_names = {n for n in full if n.startswith("wav/08" + EMODB_TEXTS[0])}
    same_set("emodb --speaker-ids 08 --sentences 1", listing(b), b_names)
    check_mixed("emodb", scratch, [("emodb", "emodb", a, expected, {}),
                                   ("emodb-j1", "emodb", b, b_names, {})])
    return a, b, scratch


# ---------------------------------------------------------------------------------------------
# `ser scan` on the generated trees (--ser PATH).  What ser should list is derived here from
# how each tree was made (the file names checked above, the defects the generator writes) and
# the corpora's own documentation, independently of dsp/corpora.c and dsp/scan.c; the rules
# for skips, duplicates, ordering and the summary are dsp/scan.h's and mpi/cmd_scan.c's.

SER = None
HEADER = ["path", "corpus", "speaker", "gender", "label"]
# The corpora's emotion codes and ser's canonical labels.
LABEL_RAVDESS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry",
                 "06": "fear", "07": "disgust", "08": "surprise"}   # 06 fearful, 08 surprised
LABEL_CREMAD = {"ANG": "angry", "DIS": "disgust", "FEA": "fear", "HAP": "happy",
                "NEU": "neutral", "SAD": "sad"}
LABEL_SAVEE = {"a": "angry", "d": "disgust", "f": "fear", "h": "happy", "n": "neutral",
               "sa": "sad", "su": "surprise"}
LABEL_EMODB = {"W": "angry", "L": "boredom", "E": "disgust", "A": "fear", "F": "happy",
               "T": "sad", "N": "neutral"}   # Ärger Langeweile Ekel Angst Freude Trauer
LABEL_TESS = {"angry": "angry", "disgust": "disgust", "fear": "fear", "happy": "happy",
              "neutral": "neutral", "ps": "surprise", "sad": "sad"}
# EmoDB's documentation: the speakers' sex.
EMODB_GENDER = {"03": "m", "08": "f", "09": "f", "10": "m", "11": "m", "12": "m", "13": "f",
                "14": "f", "15": "m", "16": "f"}
# CREMA-D: the 48 actors listed "Male" in VideoDemographics.csv of
# github.com/CheyneyComputerScience/CREMA-D; the other 43 of 1001-1091 are "Female".
CREMAD_MALE = {1001, 1005, 1011, 1014, 1015, 1016, 1017, 1019, 1022, 1023, 1026, 1027, 1031,
               1032, 1033, 1034, 1035, 1036, 1038, 1039, 1040, 1041, 1042, 1044, 1045, 1048,
               1050, 1051, 1057, 1059, 1062, 1064, 1065, 1066, 1067, 1068, 1069, 1070, 1071,
               1077, 1080, 1081, 1083, 1085, 1086, 1087, 1088, 1090}
# Skip categories (dsp/scan.h): how each reason must start; lfs must also say what to run.
SKIP_PREFIX = {"song": "song: ", "video": "video: ", "silent": "silent: ", "empty": "empty: ",
               "undecodable": "not a supported audio file: ", "lfs": "git-lfs pointer"}
# The defects make_corpus.py writes into CREMA-D (docs/corpus.md): their skip categories.
CREMAD_DEFECT_CATEGORY = {"AudioWAV/1076_MTI_NEU_XX.wav": "undecodable",
                          "AudioWAV/1076_MTI_SAD_XX.wav": "silent"}
SUMMARY = re.compile(r"ser scan: (\d+) files, (\d+) skipped, (\d+) duplicates ignored, "
                     r"(\d+) other files ignored\n")


def expect_file(corpus, rel, song=False):
    """What ser should make of one file of CORPUS made at REL: ("skip", category) or
    ("item", speaker, gender, label, utterance) - utterance with speaker and label identifies
    a recording (the same in every copy and layout)."""
    stem, ext = os.path.splitext(os.path.basename(rel))
    if corpus == "ravdess":
        # modality-channel-emotion-intensity-statement-repetition-actor
        mod, chan, emo, actor = stem.split("-")[0], stem.split("-")[1], stem.split("-")[2], \
            stem.split("-")[6]
        if ext == ".mp4" or mod != "03":
            return ("skip", "video")
        if chan == "02" and not song:
            return ("skip", "song")
        return ("item", f"ravdess:{actor}", "m" if int(actor) % 2 else "f",
                LABEL_RAVDESS[emo], stem)
    if corpus == "cremad":
        actor, _, emo, _ = stem.split("_")
        return ("item", f"cremad:{actor}", "m" if int(actor) in CREMAD_MALE else "f",
                LABEL_CREMAD[emo], stem)
    if corpus == "savee":   # AudioData/DC/a01.wav or ALL/DC_a01.wav
        spk, code = stem.split("_") if "_" in stem else \
            (os.path.basename(os.path.dirname(rel)), stem)
        return ("item", f"savee:{spk}", "m", LABEL_SAVEE[code.rstrip("0123456789")], code)
    if corpus == "emodb":   # wav/03a01Fa.wav: speaker, text, emotion letter, version
        return ("item", f"emodb:{stem[:2]}", EMODB_GENDER[stem[:2]], LABEL_EMODB[stem[5]], stem)
    if corpus == "tess":    # OAF_Fear/OAF_back_fear.wav
        spk, word, emo = stem.split("_")
        return ("item", f"tess:{spk.upper()}", "f", LABEL_TESS[emo.lower()], word.lower())
    fail(f"test bug: corpus {corpus}")


def bytewise(path):
    return path.encode("utf-8", "surrogateescape")


def expect_scan(entries, shown, validate=True, song=False):
    """The manifest rows and (path, category) skips ser should list for a tree holding
    ENTRIES {tree_rel: (corpus, rel as made, defect category or None)}, paths shown as
    SHOWN/tree_rel, both sorted bytewise, and the number of duplicates: copies of one
    recording (same speaker, utterance, label) count once, the bytewise-smallest path that
    passes validation is kept; copies after it are not validated (dsp/scan.h)."""
    groups, skips = {}, []
    for tree_rel, (corpus, rel, defect) in entries.items():
        path = f"{shown}/{tree_rel}"
        e = expect_file(corpus, rel, song)
        if e[0] == "skip":
            skips.append((path, e[1]))
        else:
            groups.setdefault((e[1], e[4], e[3]), []).append((path, corpus, e, defect))
    rows, dups = [], 0
    for copies in groups.values():
        kept = False
        for path, corpus, e, defect in sorted(copies, key=lambda c: bytewise(c[0])):
            if kept:
                dups += 1
            elif validate and defect:
                skips.append((path, defect))
            else:
                rows.append([path, corpus, e[1], e[2], e[3]])
                kept = True
    rows.sort(key=lambda r: bytewise(r[0]))
    skips.sort(key=lambda s: bytewise(s[0]))
    return rows, skips, dups


def n_ignored(root, entries):
    """Hidden entries (not descended into) and files that are not ENTRIES (e.g. the
    generator's .make_corpus.json): what ser counts as other files ignored."""
    n = 0
    for d, dirs, files in os.walk(root):
        n += sum(1 for x in dirs if x.startswith("."))
        dirs[:] = [x for x in dirs if not x.startswith(".")]
        for f in files:
            rel = os.path.relpath(os.path.join(d, f), root)
            n += f.startswith(".") or rel not in entries
    return n


def ser_scan(target, *opts, cwd=None):
    r = subprocess.run([SER, "scan", "--csv"] + list(opts) + [target], cwd=cwd,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = r.stdout.decode("utf-8", "surrogateescape")
    err = r.stderr.decode("utf-8", "surrogateescape")
    if r.returncode != 0:
        fail(f"ser scan --csv {' '.join(opts)} {target} exited {r.returncode}:\n{err}")
    return out, err


def first_diff(what, got, want):
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            fail(f"{what}: row {i + 1} is {g}, expected {w}")
    fail(f"{what}: {len(got)} rows, expected {len(want)}; first extra: "
         f"{(got[len(want):] or want[len(got):])[0]}")


def check_scan(what, scratch, root, entries, *opts, shown=None, cwd=None):
    """ser scan --csv --skipped FILE [OPTS] ROOT (ROOT shown as SHOWN, run in CWD) against
    expect_scan: the header, every row in order, every skipped path with its category, the
    summary line's counts (the only line on stderr). Returns ser's CSV."""
    shown = shown or root
    validate, song = "--no-validate" not in opts, "--ravdess-song" in opts
    skip_csv = os.path.join(scratch, "skipped.csv")
    if os.path.exists(skip_csv):
        os.remove(skip_csv)
    out, err = ser_scan(shown, "--skipped", skip_csv, *opts, cwd=cwd)
    rows, skips, dups = expect_scan(entries, shown, validate, song)
    got = list(csv.reader(io.StringIO(out)))
    if not got or got[0] != HEADER:
        fail(f"{what}: header {got[:1]}, expected {HEADER}")
    if got[1:] != rows:
        first_diff(f"{what}: manifest", got[1:], rows)
    with open(skip_csv, newline="") as f:
        sk = list(csv.reader(f))
    if not sk or sk[0] != ["path", "reason"]:
        fail(f"{what}: skip list header {sk[:1]}, expected ['path', 'reason']")
    if [s[0] for s in sk[1:]] != [s[0] for s in skips]:
        first_diff(f"{what}: skipped paths", [s[0] for s in sk[1:]], [s[0] for s in skips])
    for (path, reason), (_, cat) in zip(sk[1:], skips):
        if not reason.startswith(SKIP_PREFIX[cat]) or \
                (cat == "lfs" and "git lfs pull" not in reason):
            fail(f"{what}: {path} skipped for {reason!r}, expected a {cat} reason "
                 f"({SKIP_PREFIX[cat]!r}...)")
    m = SUMMARY.fullmatch(err)
    want = (len(rows), len(skips), dups, n_ignored(root, entries))
    if not m or tuple(int(x) for x in m.groups()) != want:
        fail(f"{what}: stderr should be the summary line only, with {want[0]} files, "
             f"{want[1]} skipped, {want[2]} duplicates, {want[3]} other files ignored; got:\n"
             f"{err}")
    cats = {}
    for _, cat in skips:
        cats[cat] = cats.get(cat, 0) + 1
    print(f"corpus_check: ser scan {what}: {len(rows)} files, {len(skips)} skipped {cats}, "
          f"{dups} duplicates, {want[3]} other files ignored, as expected")
    return out, rows


def made(corpus, names, defects=None):
    """ENTRIES for a generated tree: every file by the name it was made with."""
    return {n: (corpus, n, (defects or {}).get(n)) for n in names}


def check_names_only(corpus, scratch, names, entries=None):
    """A tree of empty files under the corpus's full list of names (no synthesis): the
    name-only view (--no-validate) lists every file; validation skips each as empty."""
    root = os.path.join(scratch, "names")
    shutil.rmtree(root, ignore_errors=True)
    for n in names:
        os.makedirs(os.path.dirname(os.path.join(root, n)), exist_ok=True)
        open(os.path.join(root, n), "wb").close()
    entries = entries or made(corpus, names, {n: "empty" for n in names})
    check_scan(f"{corpus} full list of names, empty files, --no-validate", scratch, root,
               entries, "--no-validate")
    if corpus == "ravdess":
        check_scan(f"{corpus} full list of names, empty files, --no-validate --ravdess-song",
                   scratch, root, entries, "--no-validate", "--ravdess-song")
    check_scan(f"{corpus} full list of names, empty files", scratch, root, entries)
    shutil.rmtree(root)


def check_mixed(corpus, scratch, parts):
    """PARTS [(folder, corpus, root, names, defects)] linked (file symlinks) into one tree
    with a small TESS: the union, each file with its own corpus, copies of one recording
    once; then the CSV round trip: the manifest read back gives the identical CSV."""
    tess = os.path.join(scratch, "tess")
    shutil.rmtree(tess, ignore_errors=True)
    rc, log = gen(tess, "--words", 1, "--jobs", 2)
    tess_names = {os.path.join(folder, f"{spk}_{FIRST_WORDS[0]}_{emo}.wav")
                  for spk, emo, folder in FOLDERS}
    if rc != 0:
        fail(f"make_corpus.py --words 1 failed (exit {rc}):\n{log}")
    same_set("tess --words 1", listing(tess), tess_names)
    mix = os.path.join(scratch, "mix")
    shutil.rmtree(mix, ignore_errors=True)
    entries = {}
    for folder, c, root, names, defects in parts + [("tess", "tess", tess, tess_names, {})]:
        for n in names:
            link = os.path.join(mix, folder, n)
            os.makedirs(os.path.dirname(link), exist_ok=True)
            os.symlink(os.path.join(root, n), link)
            entries[os.path.join(folder, n)] = (c, n, defects.get(n))
    # relative to the scratch folder, so that the manifest's paths resolve against its folder
    out, rows = check_scan(f"mixed tree ({', '.join(p[0] for p in parts)}, tess)", scratch,
                           mix, entries, shown="mix", cwd=scratch)
    if {r[1] for r in rows} != {corpus, "tess"}:
        fail(f"mixed tree: corpora {sorted({r[1] for r in rows})}")
    with open(os.path.join(scratch, "m.csv"), "w", newline="") as f:
        f.write(out)
    back, err = ser_scan("m.csv", cwd=scratch)
    if back != out:
        diff = [(a, b) for a, b in zip(back.splitlines(), out.splitlines()) if a != b]
        fail(f"CSV round trip: ser scan --csv m.csv differs from m.csv "
             f"({len(back.splitlines())} vs {len(out.splitlines())} lines), e.g. {diff[:2]}")
    if err != f"ser scan: {len(rows)} files, 0 skipped, 0 duplicates ignored, " \
              "0 other files ignored\n":
        fail(f"CSV round trip: unexpected stderr:\n{err}")
    print(f"corpus_check: CSV round trip: ser scan --csv m.csv reproduces the mixed tree's "
          f"manifest ({len(rows)} rows) byte for byte")
    shutil.rmtree(mix)


def scan_scratch(build, corpus):
    d = os.path.join(build, f"corpus-{corpus}-scan")
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    return d


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        print("usage: corpus_check.py BUILD_DIR [--words N | --corpus CORPUS] [--ser SER]",
              file=sys.stderr)
        return 2
    build = args[0]
    opts = dict(zip(args[1::2], args[2::2]))
    corpus = opts.get("--corpus", "tess")
    if "--ser" in opts:
        global SER
        SER = os.path.abspath(opts["--ser"])
        if not os.access(SER, os.X_OK):
            fail(f"--ser {SER}: not an executable file")
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
