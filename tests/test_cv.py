#!/usr/bin/env python3
"""test_cv.py SER WORKDIR: speaker-independent protocols of `ser train` (issue "Beyond TESS").

Generates two small stand-ins with jobs/make_corpus.py (SAVEE: 4 speakers x 2 sentences per
emotion; EmoDB: 3 speakers x 1 text), then checks, from the files each run wrote:
  * --cv loso: one fold per speaker in RUN/fold-001..; each fold's split.csv holds exactly its
    speaker in test and that speaker nowhere else; the fold's report names it;
  * the summary: per-fold numbers equal the fold files' (summary.json), mean and std equal
    numpy's over the folds, the pooled confusion is the sum of the folds' confusion.tsv, and
    accuracy, UAR and macro-F1 (per fold and pooled) equal sklearn's on those matrices
    (macro averages over the classes present in the test set);
  * --cv 2 --ranks-per-fold 1 on 2 ranks: 2 folds run concurrently, disjoint test speakers
    covering all 4; --cv-group 2: 2 folds of 2 speakers; --val-speakers 1: validation is one
    whole training speaker, never the test one;
  * a run stopped by a signal (SER_FAULT_SIGNAL_BATCH) exits 75 and `--resume auto` finishes
    it with the same per-fold results, bit for bit, as an uninterrupted run;
  * mixed corpora (--data twice) with --split corpus:emodb: the test set is exactly the
    EmoDB files; boredom is left out by default and trains as neutral with
    --label-map boredom=neutral;
  * --n-mfcc --sr --offset --duration reach the checkpoint (ser info) and invalidate the cache;
  * refusals: more folds than speakers, --ranks-per-fold that does not divide the ranks,
    --cv with --split speaker:...
Exit 0 when every check passes.
"""
import csv
import json
import os
import shutil
import subprocess
import sys

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, recall_score

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1", OPENBLAS_NUM_THREADS="1")
FAST = ["--epochs", "2", "--batch-size", "16", "--quiet"]
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def run(ser, np_, *args, env=None):
    cmd = ["mpirun", "-np", str(np_), ser, "train", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(ENV, **(env or {})))
    return p.returncode, p.stdout, p.stderr


def make(corpus, out, *opts):
    if not os.path.isdir(out):
        subprocess.run([sys.executable, os.path.join(ROOT, "jobs", "make_corpus.py"), "--corpus",
                        corpus, "--out", out, "--quiet", *opts], check=True)


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def confusion(path):
    with open(path) as f:
        t = [line.rstrip("\n").split("\t") for line in f]
    return t[0][1:], np.array([[int(v) for v in r[1:]] for r in t[1:]])


def expand(conf):
    """y_true, y_pred of a confusion matrix [true][predicted]."""
    yt, yp = [], []
    for a in range(conf.shape[0]):
        for b in range(conf.shape[1]):
            yt += [a] * conf[a, b]
            yp += [b] * conf[a, b]
    return np.array(yt), np.array(yp)


def sk_metrics(conf):
    yt, yp = expand(conf)
    present = sorted(set(yt.tolist()))
    return (accuracy_score(yt, yp),
            recall_score(yt, yp, labels=present, average="macro", zero_division=0),
            f1_score(yt, yp, labels=present, average="macro", zero_division=0))


def check_cv(run_dir, speakers, tag, per_fold=1, val_speakers=0):
    """The protocol and the summary of a finished --cv run over `speakers`."""
    s = json.load(open(os.path.join(run_dir, "summary.json")))
    nf = s["n_folds"]
    check(nf == len(s["folds"]) == -(-len(speakers) // per_fold) or per_fold == 0,
          f"{tag}: {nf} folds for {len(speakers)} speakers")
    seen, pooled = [], {}
    vals = {"accuracy": [], "uar": [], "macro_f1": []}
    for k, fold in enumerate(s["folds"], 1):
        d = os.path.join(run_dir, f"fold-{k:03d}")
        check(fold["dir"] == f"fold-{k:03d}" and os.path.isdir(d), f"{tag}: fold {k} directory")
        test_spk = set(fold["test_speakers"].split(","))
        seen += sorted(test_spk)
        split = rows(os.path.join(d, "split.csv"))
        by = {sub: {r["speaker"] for r in split if r["split"] == sub} for sub in ("train", "val",
                                                                                "test")}
        check(by["test"] == test_spk, f"{tag} fold {k}: test speakers {by['test']} != {test_spk}")
        check(not (by["train"] | by["val"]) & test_spk,
              f"{tag} fold {k}: a test speaker is in training or validation")
        if val_speakers:
            check(len(by["val"]) == val_speakers and not by["val"] & by["train"],
                  f"{tag} fold {k}: validation speakers {by['val']} (train {by['train']})")
        fs = json.load(open(os.path.join(d, "summary.json")))
        check(fs.get("test_speakers") == fold["test_speakers"], f"{tag} fold {k}: report speakers")
        labels, conf = confusion(os.path.join(d, "confusion.tsv"))
        check(conf.sum() == fold["n_test"] == len([r for r in split if r["split"] == "test"]),
              f"{tag} fold {k}: test counts")
        acc, uar, f1 = sk_metrics(conf)
        for key, want, theirs in (("accuracy", acc, fs["test_accuracy"]),
                                  ("uar", uar, fs["test_uar"]),
                                  ("macro_f1", f1, fs["test_macro_f1"])):
            check(abs(fold[key] - want) < 1e-12 and abs(theirs - want) < 1e-12,
                  f"{tag} fold {k}: {key} {fold[key]} (fold file {theirs}), sklearn {want}")
            vals[key].append(want)
        for a, la in enumerate(labels):
            for b, lb in enumerate(labels):
                pooled[(la, lb)] = pooled.get((la, lb), 0) + int(conf[a, b])
    check(sorted(seen) == sorted(speakers), f"{tag}: test speakers over folds {seen}")
    for key, v in vals.items():
        check(abs(s["mean"][key] - np.mean(v)) < 1e-12 and abs(s["std"][key] - np.std(v)) < 1e-12,
              f"{tag}: mean/std of {key}: {s['mean'][key]}/{s['std'][key]} vs {np.mean(v)}/"
              f"{np.std(v)}")
    P = s["pooled"]
    want = np.array([[pooled.get((a, b), 0) for b in P["labels"]] for a in P["labels"]])
    check(np.array_equal(np.array(P["confusion"]), want), f"{tag}: pooled confusion")
    acc, uar, f1 = sk_metrics(want)
    check(abs(P["accuracy"] - acc) < 1e-12 and abs(P["uar"] - uar) < 1e-12
          and abs(P["macro_f1"] - f1) < 1e-12, f"{tag}: pooled metrics vs sklearn")
    md = open(os.path.join(run_dir, "report.md")).read()
    check("mean ± std" in md and "pooled" in md and os.path.getsize(
        os.path.join(run_dir, "confusion.svg")) > 500, f"{tag}: report.md / confusion.svg")
    return s


def main():
    ser, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    os.makedirs(work, exist_ok=True)
    for d in os.listdir(work):
        p = os.path.join(work, d)
        if d.startswith("cv-"):  # the previous run's outputs (directories and feature files)
            shutil.rmtree(p) if os.path.isdir(p) and not os.path.islink(p) else os.remove(p)
    savee, emodb = os.path.join(work, "savee"), os.path.join(work, "emodb")
    make("savee", savee, "--sentences", "2")
    make("emodb", emodb, "--sentences", "1", "--speakers", "3")
    spk = ["savee:DC", "savee:JE", "savee:JK", "savee:KL"]
    W = lambda name: os.path.join(work, name)

    rc, out, err = run(ser, 2, "--data", savee, "--cv", "loso", "--out", W("cv-loso"), *FAST)
    if check(rc == 0, f"loso: exit {rc}: {err[-2000:]}"):
        s = check_cv(W("cv-loso"), spk, "loso")
        check("cross-validation (4 folds)" in out, f"loso: summary line: {out!r}")
        check(s["protocol"] == "loso", "loso: protocol")

    rc, out, err = run(ser, 2, "--data", savee, "--cv", "2", "--ranks-per-fold", "1", "--out",
                       W("cv-k2"), *FAST)
    if check(rc == 0, f"cv 2: exit {rc}: {err[-2000:]}"):
        s = check_cv(W("cv-k2"), spk, "cv 2", per_fold=2)
        check(all(len(f["test_speakers"].split(",")) == 2 for f in s["folds"]), "cv 2: fold sizes")

    rc, out, err = run(ser, 1, "--data", savee, "--cv", "loso", "--cv-group", "2",
                       "--val-speakers", "1", "--out", W("cv-group"), *FAST)
    if check(rc == 0, f"cv-group: exit {rc}: {err[-2000:]}"):
        check_cv(W("cv-group"), spk, "cv-group 2", per_fold=2, val_speakers=1)

    # interrupted by a signal in fold 1, resumed: the same results as a straight run
    rc, _, err = run(ser, 2, "--data", savee, "--cv", "loso", "--out", W("cv-sig"), *FAST,
                     env={"SER_FAULT_SIGNAL_BATCH": "4"})
    check(rc == 75 and "resume with --resume auto" in err, f"signal: exit {rc}: {err[-1500:]}")
    check(not os.path.exists(W("cv-sig/summary.json")), "signal: a summary of unfinished folds")
    rc, _, err = run(ser, 2, "--data", savee, "--cv", "loso", "--out", W("cv-sig"), "--resume",
                     "auto", *FAST)
    if check(rc == 0, f"resume: exit {rc}: {err[-2000:]}"):
        for k in range(1, 5):
            a = json.load(open(W(f"cv-loso/fold-{k:03d}/summary.json")))
            b = json.load(open(W(f"cv-sig/fold-{k:03d}/summary.json")))
            check(a["test_loss"] == b["test_loss"] and a["confusion"] == b["confusion"],
                  f"resume: fold {k} differs from the straight run: {a['test_loss']} vs "
                  f"{b['test_loss']}")
    rc, _, err = run(ser, 1, "--data", savee, "--cv", "loso", "--out", W("cv-loso"), *FAST)
    check(rc == 1 and "--resume auto" in err and "--overwrite" in err,
          f"a second run into a finished CV: exit {rc}: {err[-500:]}")

    # two corpora, cross-corpus split, corpus-only labels
    emo_files = [r for r in csv.DictReader(subprocess.run(
        [ser, "scan", "--csv", emodb], capture_output=True, text=True).stdout.splitlines())]
    n_bored = sum(r["label"] == "boredom" for r in emo_files)
    check(n_bored > 0, "emodb stand-in has no boredom file")
    rc, out, err = run(ser, 1, "--data", savee, "--data", emodb, "--split", "corpus:emodb",
                       "--out", W("cv-cross"), "--epochs", "2", "--batch-size", "16")
    if check(rc == 0, f"cross-corpus: exit {rc}: {err[-2000:]}"):
        split = rows(W("cv-cross/split.csv"))
        test = {r["path"] for r in split if r["split"] == "test"}
        want = {r["path"] for r in emo_files if r["label"] != "boredom"}
        check(test == want, f"corpus:emodb: {len(test)} test files, want {len(want)}")
        check(all(r["speaker"].startswith("savee:") for r in split if r["split"] != "test"),
              "corpus:emodb: an EmoDB file in training or validation")
        check(not any(r["label"] == "boredom" for r in split), "boredom trained by default")
        check(f"left out {n_bored} boredom file" in err, f"no 'left out' message: {err[-800:]}")
    rc, out, err = run(ser, 1, "--data", savee, "--data", emodb, "--label-map",
                       "boredom=neutral", "--out", W("cv-map"), *FAST)
    if check(rc == 0, f"label map: exit {rc}: {err[-2000:]}"):
        split = {r["path"]: r["label"] for r in rows(W("cv-map/split.csv"))}
        bored = [r["path"] for r in emo_files if r["label"] == "boredom"]
        check(all(split.get(p) == "neutral" for p in bored), "boredom=neutral: not neutral")

    # feature parameters are options, in the cache key and the checkpoint
    rc, out, err = run(ser, 1, "--data", savee, "--n-mfcc", "20", "--sr", "16000", "--offset",
                       "0.25", "--duration", "2", "--features", W("cv-feat.serf"), "--out",
                       W("cv-feat"), *FAST)
    if check(rc == 0, f"feature options: exit {rc}: {err[-1500:]}"):
        info = subprocess.run([ser, "info", W("cv-feat/best.ckpt")], capture_output=True,
                              text=True).stdout
        got = {l.split()[0]: l.split()[1] for l in info.splitlines() if len(l.split()) > 1}
        frames = 1 + int(2 * 16000) // 512  # centred STFT frames of 2 s at 16 kHz, hop 512
        check(got.get("in_channels") == "20" and got.get("mfcc.n_mfcc") == "20" and
              got.get("load.sample_rate") == "16000" and got.get("load.offset_s") == "0.25" and
              got.get("load.duration_s") == "2" and got.get("in_len") == str(frames),
              f"feature options not in the checkpoint: {info[:900]}")
        rc, _, err = run(ser, 1, "--data", savee, "--n-mfcc", "30", "--features",
                         W("cv-feat.serf"), "--out", W("cv-feat2"), *FAST)
        got2 = subprocess.run([ser, "info", W("cv-feat2/best.ckpt")], capture_output=True,
                              text=True).stdout
        check(rc == 0 and " 30 " in [l for l in got2.splitlines() if "in_channels" in l][0],
              f"--n-mfcc 30 over a 20-coefficient cache was not re-extracted: {err[-800:]}")

    # refusals
    for args, np_, msg in ((["--cv", "5"], 1, "4 speakers in the data make 5 folds"),
                           (["--cv", "loso", "--ranks-per-fold", "3"], 2, "does not divide"),
                           (["--cv", "loso", "--split", "speaker:DC"], 1,
                            "a cross-validation makes its own splits")):
        rc, _, err = run(ser, np_, "--data", savee, "--out", W("cv-bad"), *args, *FAST)
        check(rc == 1 and msg in err, f"{args}: exit {rc}, stderr {err[-600:]!r}")
    if failures:
        print(f"test_cv: {len(failures)} check(s) failed", file=sys.stderr)
        return 1
    print("test_cv: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
