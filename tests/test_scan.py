#!/usr/bin/python3
"""test_scan.py: end-to-end tests of `ser scan` (dsp/scan.c + mpi/cmd_scan.c).

Builds, at test time in a temporary directory, a small tree with every TESS quirk (both
releases' folder capitalisations, the Kaggle copy that nests the whole set a second time,
OA_bite_neutral.wav in OAF_neutral, a 96 kHz file, a FLAC file, stray non-audio and hidden
files, a symlink loop, zero-byte / no-frames / truncated / garbage / unlabelled files, a broken
symlink, names that need CSV quoting), then a full-size TESS-shaped tree (2 speakers x 7
emotions x 200 words, doubled), and CSV manifests. Audio comes from sox (the reference encoder).
The expected manifest, skip list and counts are derived here from what was generated (the
rules in dsp/scan.h), never from output of the code under test. Exits non-zero on any failure.

usage: test_scan.py SER_BINARY
"""
import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile
import wave

LABELS = ["angry", "disgust", "fear", "happy", "neutral", "ps", "sad"]  # TESS's spellings
# ser's class order and names (ps = pleasant surprise is read as surprise)
CLASS_ORDER = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise", "calm",
               "boredom"]
CANON = {"ps": "surprise"}
HEADER = ["path", "corpus", "speaker", "gender", "label"]


def row(path, spk, lab, corpus="tess", gender="f"):
    """A manifest row as ser scan --csv writes it: namespaced speaker, canonical label."""
    return [path, corpus, f"{corpus}:{spk}", gender, CANON.get(lab.lower(), lab.lower())]
# TESS's 14 folder names, uneven capitalisation as in the original release
TESS_FOLDERS = {
    ("OAF", "angry"): "OAF_angry", ("OAF", "disgust"): "OAF_disgust", ("OAF", "fear"): "OAF_Fear",
    ("OAF", "happy"): "OAF_happy", ("OAF", "neutral"): "OAF_neutral",
    ("OAF", "ps"): "OAF_Pleasant_surprise", ("OAF", "sad"): "OAF_Sad",
    ("YAF", "angry"): "YAF_angry", ("YAF", "disgust"): "YAF_disgust", ("YAF", "fear"): "YAF_fear",
    ("YAF", "happy"): "YAF_happy", ("YAF", "neutral"): "YAF_neutral",
    ("YAF", "ps"): "YAF_pleasant_surprised", ("YAF", "sad"): "YAF_sad",
}
TOP = "TESS Toronto emotional speech set data"
NESTED = os.path.join("tess toronto emotional speech set data", TOP)

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(ser, *args):
    p = subprocess.run([ser, "scan", *args], capture_output=True)
    return p.returncode, p.stdout.decode("utf-8", "surrogateescape"), \
        p.stderr.decode("utf-8", "surrogateescape")


def sox(out, rate=24414, dur=0.3, freq=300):
    bits = [] if out.endswith(".ogg") else ["-b", "16"]  # vorbis has no bit depth
    subprocess.run(["sox", "-n", "-r", str(rate), *bits, "-c", "1", out,
                    "synth", str(dur), "sine", str(freq)], check=True)


def no_frames_wav():
    """A well-formed WAV whose data chunk is empty (written by Python's wave module)."""
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(24414)
        w.writeframes(b"")
    return buf.getvalue()


def bkey(p):
    return os.fsencode(p)


def read_csv(text):
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[0], rows[1:]


class Tree:
    """Records every file written with its expected fate."""

    def __init__(self, root, base_wav):
        self.root = root
        self.base = open(base_wav, "rb").read()
        self.utts = {}      # (speaker, word.lower(), label) -> [(path, good)]
        self.skips = []     # (path, category, also_without_validation)
        self.ignored = 0

    def path(self, rel):
        p = os.path.join(self.root, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        return p

    def audio(self, rel, speaker, word, label, data=None, good=True, make=None):
        p = self.path(rel)
        if make:
            make(p)
        else:
            with open(p, "wb") as f:
                f.write(self.base if data is None else data)
        self.utts.setdefault((speaker, word.lower(), label), []).append((p, good))
        return p

    def bad(self, rel, category, data, by_name=False):
        p = self.path(rel)
        with open(p, "wb") as f:
            f.write(data)
        self.skips.append((p, category, by_name))

    def other(self, rel, data=b"x\n"):
        p = self.path(rel)
        with open(p, "wb") as f:
            f.write(data)
        self.ignored += 1

    def expected(self, validate):
        """Manifest rows (path, speaker, label), skip list, duplicate count."""
        rows, skips, dups = [], [], 0
        for (spk, _word, label), copies in self.utts.items():
            copies = sorted(copies, key=lambda c: bkey(c[0]))
            kept = None
            for p, good in copies:
                if kept is not None:
                    dups += 1
                elif good or not validate:
                    kept = p
                else:
                    skips.append((p, self.bad_category[p]))
            if kept is not None:
                rows.append(row(kept, spk, label))
        for p, cat, by_name in self.skips:
            if validate or by_name:
                skips.append((p, cat))
            else:  # without validation a damaged but well-named file is an item
                spk, label = self.name_only[p]
                rows.append(row(p, spk, label))
        rows.sort(key=lambda r: bkey(r[0]))
        skips.sort(key=lambda s: bkey(s[0]))
        return rows, skips, dups


def quirk_tree(root, tmp):
    base = os.path.join(tmp, "base.wav")
    sox(base)
    t = Tree(root, base)
    t.bad_category = {}
    t.name_only = {}
    words = ["back", "bar"]
    for copy, variant in ((TOP, "orig"), (NESTED, "nested")):
        for (spk, lab), folder in TESS_FOLDERS.items():
            if variant == "nested" and spk == "OAF":
                folder = folder.upper() if lab in ("angry", "sad") else folder.lower()
            for w in words:
                name_word = w.capitalize() if (variant == "nested" and w == "back") else w
                name_label = "PS" if (lab == "ps" and spk == "YAF" and w == "bar") else lab
                rel = os.path.join(copy, folder, f"{spk}_{name_word}_{name_label}.wav")
                if spk == "YAF" and lab == "angry" and w == "bar" and variant == "orig":
                    # damaged in the first copy only: the nested copy must be kept
                    data = t.base[: len(t.base) // 2]
                    p = t.audio(rel, spk, w, lab, data=data, good=False)
                    t.bad_category[p] = "truncated"
                elif spk == "OAF" and lab == "happy" and w == "bar":
                    t.audio(rel, spk, w, lab, make=lambda p: sox(p, rate=96000))
                elif spk == "YAF" and lab == "sad" and w == "back":
                    rel = rel[:-4] + ".flac"
                    t.audio(rel, spk, w, lab, make=lambda p: sox(p, rate=24414, freq=500))
                else:
                    t.audio(rel, spk, w, lab)
        # TESS's misnamed file: speaker from the folder
        t.audio(os.path.join(copy, TESS_FOLDERS[("OAF", "neutral")] if variant == "orig"
                             else "oaf_neutral", "OA_bite_neutral.wav"), "OAF", "bite", "neutral")
    # damaged and unlabelled files (top copy only)
    d = os.path.join(TOP, "OAF_angry")
    for name, cat, data in (
            ("OAF_zero_angry.wav", "empty", b""),
            ("OAF_noframes_angry.wav", "empty", no_frames_wav()),
            ("OAF_trunc_angry.wav", "truncated", t.base[: len(t.base) // 3]),
            ("OAF_junk_angry.WAV", "not a supported audio file", bytes(range(256)) * 8)):
        t.bad(os.path.join(d, name), cat, data)
        t.name_only[os.path.join(root, d, name)] = ("OAF", "angry")
    t.bad(os.path.join(TOP, "OAF_neutral", "OAF_back_elated.wav"), "unlabelled", t.base, True)
    t.bad(os.path.join(TOP, "OAF_neutral", "nounderscore.wav"), "unlabelled", t.base, True)
    t.bad(os.path.join(TOP, "YAF_sad", "YAF_back_Sad_extra.wav"), "unlabelled", t.base, True)
    # a broken symlink with an audio name
    os.symlink("does-not-exist.wav", os.path.join(root, TOP, "YAF_sad", "YAF_gone_sad.wav"))
    t.skips.append((os.path.join(root, TOP, "YAF_sad", "YAF_gone_sad.wav"), "unreadable", True))
    # names needing CSV quoting; folder is not SPEAKER_EMOTION, so speaker = file prefix
    t.audio(os.path.join(TOP, 'odd, "quoted" dir', "yaf_comma_happy.wav"), "YAF", "comma", "happy")
    t.audio(os.path.join(TOP, "misc", "OAF_new\nline_sad.wav"), "OAF", "new\nline", "sad")
    # a 2-field name in a folder that is not SPEAKER_EMOTION: speaker unknown
    t.audio(os.path.join(TOP, "misc", "solo_fear.ogg"), "unknown", "solo", "fear",
            make=lambda p: sox(p))
    # non-audio and hidden entries (each counted once as ignored)
    t.other(os.path.join(TOP, "README.txt"))
    t.other(os.path.join(TOP, ".DS_Store"))
    t.other(os.path.join("notes.csv"), b"path,label\n")
    t.other(os.path.join(TOP, "OAF_angry", "cover.png"), b"\x89PNG")
    t.other(os.path.join(TOP, ".hidden", "OAF_x_angry.wav"))  # the hidden dir counts once
    t.other(os.path.join("__MACOSX", TOP, "OAF_angry", "._OAF_back_angry.wav"))
    # symlink loop: a directory link back to the root, and one to a sibling (never followed)
    os.symlink("..", os.path.join(root, TOP, "loop"))
    os.symlink(os.path.join(root, TOP, "OAF_angry"), os.path.join(root, "alias_OAF_angry"))
    t.ignored += 2
    return t


def check_tree(ser, t, validate):
    tag = "validate" if validate else "no-validate"
    rows, skips, dups = t.expected(validate)
    extra = [] if validate else ["--no-validate"]
    skfile = os.path.join(os.path.dirname(t.root), "skipped.csv")
    rc, out, err = run(ser, "--csv", "--skipped", skfile, *extra, t.root)
    check(rc == 0, f"{tag}: exit {rc}: {err}")
    header, got = read_csv(out)
    check(header == HEADER, f"{tag}: header {header}")
    check(got == rows, f"{tag}: manifest differs:\n got {got}\n exp {rows}")
    sh, sk = read_csv(open(skfile, encoding="utf-8", newline="").read())
    check(sh == ["path", "reason"], f"{tag}: skip header {sh}")
    got_sk = [(p, r.split(":")[0]) for p, r in sk]
    check(got_sk == skips, f"{tag}: skip list differs:\n got {got_sk}\n exp {skips}")
    summary = (f"{len(rows)} files, {len(skips)} skipped, {dups} duplicates ignored, "
               f"{t.ignored} other files ignored")
    check(summary in err, f"{tag}: summary missing from stderr: want '{summary}' in {err!r}")

    # default mode: the table, summary and skip list on stdout
    rc, out, err = run(ser, *extra, t.root)
    check(rc == 0, f"{tag} table: exit {rc}: {err}")
    lines = out.splitlines()
    present = [lab for lab in CLASS_ORDER if any(r[4] == lab for r in rows)]
    check(lines[0].split() == ["speaker"] + present + ["total"], f"{tag}: table header {lines[0]}")
    speakers = sorted({r[2] for r in rows})
    for i, spk in enumerate(speakers + ["total"]):
        want = [sum(1 for r in rows if (spk == "total" or r[2] == spk) and r[4] == lab)
                for lab in present]
        want.append(sum(want))
        cells = lines[1 + i].split()
        check(cells == [spk] + [str(x) for x in want], f"{tag}: table row {cells} != {want}")
    check(f"{len(rows)} files, {len(speakers)} speakers (tess {len(rows)}); {len(skips)} skipped, "
          f"{dups} duplicates "
          f"ignored, {t.ignored} other files ignored" in out, f"{tag}: table summary: {out}")
    for p, cat in skips:
        check(any(l.startswith(f"  {p}: {cat}") for l in out.split("\n")),
              f"{tag}: skipped {p} ({cat}) not listed in table mode")
    return rows


def scaled(ser, tmp, base):
    """Full TESS shape: 2 x 7 x 200 tiny valid files, plus the Kaggle doubled copy."""
    root = os.path.join(tmp, "full")
    data = open(base, "rb").read()
    words = [f"w{i:03d}" for i in range(200)]
    expected = []
    for copy in (TOP, NESTED):
        for (spk, lab), folder in TESS_FOLDERS.items():
            d = os.path.join(root, copy, folder)
            os.makedirs(d)
            for w in words:
                p = os.path.join(d, f"{spk}_{w}_{lab}.wav")
                with open(p, "wb") as f:
                    f.write(data)
                if copy == TOP:  # "TESS..." < "tess..." bytewise: the top copy is kept
                    expected.append(row(p, spk, lab))
    expected.sort(key=lambda r: bkey(r[0]))
    for extra in ([], ["--no-validate"]):
        rc, out, err = run(ser, "--csv", *extra, root)
        check(rc == 0, f"scaled {extra}: exit {rc}: {err}")
        _, got = read_csv(out)
        check(len(got) == 2800, f"scaled {extra}: {len(got)} rows, expected 2800")
        check(got == expected, f"scaled {extra}: manifest differs")
        check("2800 files, 0 skipped, 2800 duplicates ignored, 0 other files ignored" in err,
              f"scaled {extra}: summary {err!r}")


def manifests(ser, tmp, base):
    d = os.path.join(tmp, "man")
    os.makedirs(os.path.join(d, "audio", "OAF_Fear"))
    good = {}
    for rel in ("audio/OAF_Fear/OAF_back_fear.wav", "audio/OA_bite_neutral.wav",
                "audio/with, comma.wav", "audio/misc_neutral.wav"):
        shutil.copy(base, os.path.join(d, rel))
    absfile = os.path.join(tmp, "abs_sad.wav")
    shutil.copy(base, absfile)
    open(os.path.join(d, "audio", "empty_happy.wav"), "wb").close()
    text = ("\ufefflabel , path,Speaker\r\n"
            "fear,audio/OAF_Fear/OAF_back_fear.wav,\r\n"     # speaker derived from the name
            "Neutral,audio/OA_bite_neutral.wav,x1\r\n"       # explicit speaker, upper-cased
            'PS,"audio/with, comma.wav",\r\n'                 # quoted path, no _: unknown
            f"sad,{absfile},YAF\r\n"                          # absolute path
            "\r\n"                                            # blank line
            "angry,audio/missing_angry.wav,OAF\r\n"           # missing file
            "elated,audio/misc_neutral.wav,OAF\r\n"           # unknown label
            "happy,audio/empty_happy.wav,OAF\r\n"             # zero bytes
            "fear,audio/OAF_Fear/OAF_back_fear.wav,\r\n"     # same path again: duplicate
            "sad,audio/OAF_Fear/OAF_back_fear.wav,\r\n"      # same path, other label: conflict
            "angry,too,many,fields\r\n")                      # bad row
    m = os.path.join(d, "manifest.csv")
    with open(m, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    a = lambda rel: os.path.join(d, rel)
    exp_rows = sorted([row(a("audio/OAF_Fear/OAF_back_fear.wav"), "OAF", "fear"),
                       row(a("audio/OA_bite_neutral.wav"), "X1", "neutral"),
                       row(a("audio/with, comma.wav"), "unknown", "ps", "other", "?"),
                       row(absfile, "YAF", "sad")], key=lambda r: bkey(r[0]))
    exp_skips = sorted([(a("audio/missing_angry.wav"), "unreadable"),
                        (a("audio/misc_neutral.wav"), "unlabelled"),
                        (a("audio/empty_happy.wav"), "empty"),
                        (a("audio/OAF_Fear/OAF_back_fear.wav"), "conflict"),
                        (m + ":12", "bad row")], key=lambda s: bkey(s[0]))
    skf = os.path.join(tmp, "man_skipped.csv")
    rc, out, err = run(ser, "--csv", "--skipped", skf, m)
    check(rc == 0, f"manifest: exit {rc}: {err}")
    _, got = read_csv(out)
    check(got == exp_rows, f"manifest rows:\n got {got}\n exp {exp_rows}")
    _, sk = read_csv(open(skf, encoding="utf-8", newline="").read())
    got_sk = [(p, r.split(":")[0]) for p, r in sk]
    check(got_sk == exp_skips, f"manifest skips:\n got {got_sk}\n exp {exp_skips}")
    check("4 files, 5 skipped, 1 duplicates ignored" in err, f"manifest summary {err!r}")
    # without validation the empty file is an item; the missing one is still skipped
    rc, out, err = run(ser, "--csv", "--no-validate", m)
    _, got = read_csv(out)
    check(rc == 0 and row(a("audio/empty_happy.wav"), "OAF", "happy") in got and len(got) == 5,
          f"manifest --no-validate: {got}")
    # the manifest written by --csv reads back as a manifest (round trip, absolute paths)
    rt = os.path.join(tmp, "roundtrip.csv")
    rc, out, err = run(ser, "--csv", m)
    with open(rt, "w", encoding="utf-8", newline="") as f:
        f.write(out)
    rc2, out2, err2 = run(ser, "--csv", rt)
    check(rc2 == 0 and out2 == out, f"round trip differs: {err2}")

    # namespaced speakers: the namespace is a corpus (case-insensitive), agrees with the corpus
    # column when there is one, and sets the corpus when there is none
    for n in "abcd":
        shutil.copy(base, os.path.join(d, "audio", f"ns_{n}.wav"))
    m2 = os.path.join(d, "ns.csv")
    with open(m2, "w", newline="") as f:
        f.write("path,label,speaker,corpus\n"
                "audio/ns_a.wav,sad,savee:DC,savee\n"
                "audio/ns_b.wav,sad,TESS:oaf,\n"
                "audio/ns_c.wav,sad,tess:X,savee\n"
                "audio/ns_d.wav,sad,foo:X,\n")
    rc, out, err = run(ser, "--csv", m2)
    _, got = read_csv(out)
    check(rc == 0 and got == [[a("audio/ns_a.wav"), "savee", "savee:DC", "?", "sad"],
                              row(a("audio/ns_b.wav"), "OAF", "sad", "tess", "?")],
          f"namespaced speakers: {got}")
    check(err.count("bad row: the speaker's namespace") == 2, f"namespace refusals: {err!r}")

    # fatal errors: exit 1 and a message naming the path
    for name, body, what in (("badhdr.csv", "file,label\na.wav,angry\n", "unknown column"),
                             ("nolabel.csv", "path,speaker\na.wav,OAF\n", "missing column"),
                             ("twice.csv", "path,label,path\n", "repeated column"),
                             ("empty.csv", "", "empty manifest"),
                             ("quote.csv", 'path,label\n"a.wav,angry\n', "unterminated")):
        p = os.path.join(tmp, name)
        with open(p, "w") as f:
            f.write(body)
        rc, out, err = run(ser, p)
        check(rc == 1 and p in err and what in err, f"{name}: rc {rc}, stderr {err!r}")
        check(out == "", f"{name}: stdout not empty on a fatal error")
    for p in (os.path.join(tmp, "nope"), base):  # missing; a file that is not .csv
        rc, out, err = run(ser, p)
        check(rc == 1 and p in err, f"{p}: rc {rc}, stderr {err!r}")
    rc, out, err = run(ser, "--bogus", tmp)
    check(rc == 1 and "--bogus" in err, f"unknown option: rc {rc} {err!r}")
    rc, out, err = run(ser)
    check(rc == 1, f"no argument: rc {rc}")
    rc, out, err = run(ser, "--help")
    check(rc == 0 and "--csv" in out and "--skipped" in out, f"--help: rc {rc}")


def main():
    ser = sys.argv[1]
    with tempfile.TemporaryDirectory(prefix="ser_scan_") as tmp:
        root = os.path.join(tmp, "tess")
        os.makedirs(root)
        t = quirk_tree(root, tmp)
        rows = check_tree(ser, t, validate=True)
        check(len(rows) == 2 * 7 * 2 + 1 + 3, f"quirk tree: {len(rows)} rows")
        check_tree(ser, t, validate=False)
        # the same tree scanned through a trailing slash and from inside a SPEAKER_EMOTION folder
        rc, out, _ = run(ser, "--csv", root + "/")
        check(rc == 0 and read_csv(out)[1] == rows, "trailing slash: manifest differs")
        sub = os.path.join(root, TOP, "OAF_neutral")
        rc, out, _ = run(ser, "--csv", sub)
        _, got = read_csv(out)
        check(sorted(got) == sorted([row(os.path.join(sub, "OAF_back_neutral.wav"), "OAF", "neutral"),
                                     row(os.path.join(sub, "OAF_bar_neutral.wav"), "OAF", "neutral"),
                                     row(os.path.join(sub, "OA_bite_neutral.wav"), "OAF", "neutral")]),
              f"scan of one folder: {got}")
        tiny = os.path.join(tmp, "tiny.wav")
        sox(tiny, dur=0.01)
        scaled(ser, tmp, tiny)
        manifests(ser, tmp, tiny)
    if failures:
        print(f"{len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print("test_scan: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
