#!/usr/bin/python3
# corpus_difficulty.py: how hard is a corpus for a simple baseline, across speakers?
#
#   /usr/bin/python3 tests/corpus_difficulty.py CORPUS_DIR --corpus tess|ravdess|cremad|savee|emodb
#                                               [--cache F.npz] [--jobs N] [--folds 5]
#
# Reads the files of a real or stand-in corpus (labels and speakers from the file names, as
# each corpus defines them; songs, videos, git-lfs pointers, undecodable and silent files are
# skipped and counted), computes per file the 40 x 130 MFCC matrix of ser's feature pipeline
# (tests/corpus_lr.py's numpy re-implementation of librosa) and, on the per-file mean + std
# of the 40 coefficients (80 features), a standardised logistic regression for:
#   speaker       speaker identification, stratified K-fold (should be high: the speakers'
#                 voices differ);
#   emotion-rand  emotion, stratified K-fold over all files (speakers seen in training);
#   emotion-loso  emotion, leave-one-speaker-out (every file is predicted by a model that never
#                 heard its speaker): the speaker-independent test.  On real data this is
#                 clearly lower than the random split.
#   emotion-loso-norm  the same after per-speaker normalisation: every speaker's features are
#                 standardised with that speaker's own mean and deviation (no labels used; the
#                 held-out speaker's too), the usual first remedy for speaker variation.
# Prints one line per task with the accuracy and chance (the majority class).  Exit status 0,
# or 2 on bad input.  docs/corpus.md §8 and results/corpus.md hold the measurements.
import argparse
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from corpus_lr import InputError, file_mfcc  # noqa: E402

RAVDESS = {"01": "neutral", "02": "calm", "03": "happy", "04": "sad", "05": "angry",
           "06": "fear", "07": "disgust", "08": "surprise"}
CREMAD = {"ANG": "angry", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral",
          "SAD": "sad"}
SAVEE = {"a": "angry", "d": "disgust", "f": "fear", "h": "happy", "n": "neutral", "sa": "sad",
         "su": "surprise"}
EMODB = {"W": "angry", "L": "boredom", "E": "disgust", "A": "fear", "F": "happy", "T": "sad",
         "N": "neutral"}
TESS = ("angry", "disgust", "fear", "happy", "neutral", "ps", "sad")


def label(corpus, rel):
    """(speaker, emotion) of a file from its name, or None if the file is not a speech clip of
    the corpus (the reader must skip it)."""
    name = os.path.basename(rel)
    if not name.endswith(".wav"):
        return None
    stem = name[:-4]
    if corpus == "tess":
        parts = stem.split("_")
        if len(parts) >= 3 and parts[-1].lower() in TESS:
            return os.path.basename(os.path.dirname(rel)).split("_")[0].upper(), parts[-1].lower()
    elif corpus == "ravdess":
        m = re.fullmatch(r"03-01-(0[1-8])-0[12]-0[12]-0[12]-(\d\d)", stem)
        if m:
            return m.group(2), RAVDESS[m.group(1)]
    elif corpus == "cremad":
        m = re.fullmatch(r"(10\d\d)_[A-Z]{3}_([A-Z]{3})_(LO|MD|HI|XX)", stem)
        if m and m.group(2) in CREMAD:
            return m.group(1), CREMAD[m.group(2)]
    elif corpus == "savee":
        m = re.fullmatch(r"(?:([A-Z]{2})_)?(sa|su|a|d|f|h|n)\d\d", stem)
        if m:
            return m.group(1) or os.path.basename(os.path.dirname(rel)), SAVEE[m.group(2)]
    elif corpus == "emodb":
        m = re.fullmatch(r"(\d\d)[ab]\d\d([WLEAFTN])[a-z]", stem)
        if m:
            return m.group(1), EMODB[m.group(2)]
    return None


def _feat(path):
    try:
        with open(path, "rb") as f:
            if f.read(4) != b"RIFF":
                return None                      # e.g. a git-lfs pointer
        m = file_mfcc(path)
    except InputError:
        return None                              # undecodable
    return m


def features(root, corpus, cache, jobs):
    items = []
    for d, _, files in os.walk(root):
        for f in files:
            rel = os.path.relpath(os.path.join(d, f), root)
            lab = label(corpus, rel)
            if lab:
                items.append((rel, *lab))
    items.sort()
    if not items:
        raise InputError(f"{root}: no {corpus} speech files found")
    rels = [r for r, _, _ in items]
    # the cache is valid for the same files with the same sizes and modification times
    stamp = [f"{r}:{os.stat(os.path.join(root, r)).st_size}:"
             f"{os.stat(os.path.join(root, r)).st_mtime_ns}" for r in rels]
    if cache and os.path.exists(cache):
        z = np.load(cache)
        if list(z["stamp"]) == stamp:
            return z["F"], z["spk"], z["emo"], int(z["skipped"])
    import multiprocessing
    with multiprocessing.Pool(jobs or os.cpu_count() or 1) as pool:
        mats = pool.map(_feat, [os.path.join(root, r) for r in rels], chunksize=8)
    keep = []
    for i, m in enumerate(mats):
        # an all-zero file gives the -100 dB floor everywhere: a silent clip, skipped
        if m is not None and float(np.ptp(m[0])) > 0.0:
            keep.append(i)
    X = np.stack([mats[i] for i in keep])
    F = np.concatenate([X.mean(axis=2), X.std(axis=2)], axis=1)
    spk = np.array([items[i][1] for i in keep])
    emo = np.array([items[i][2] for i in keep])
    skipped = len(items) - len(keep)
    if cache:
        np.savez(cache, F=F, spk=spk, emo=emo, stamp=np.array(stamp), skipped=skipped)
    return F, spk, emo, skipped


def main():
    ap = argparse.ArgumentParser(description="Speaker identification and emotion (random "
                                 "split vs leave-one-speaker-out) with a mean+std-MFCC "
                                 "logistic regression.")
    ap.add_argument("corpus_dir")
    ap.add_argument("--corpus", required=True,
                    choices=("tess", "ravdess", "cremad", "savee", "emodb"))
    ap.add_argument("--cache", help="read/write the features in this .npz file")
    ap.add_argument("--jobs", type=int, help="feature processes (default: number of CPUs)")
    ap.add_argument("--folds", type=int, default=5, help="K of the K-fold splits (default 5)")
    args = ap.parse_args()

    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import LeaveOneGroupOut, StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    try:
        F, spk, emo, skipped = features(args.corpus_dir, args.corpus, args.cache, args.jobs)
    except InputError as ex:
        print(f"corpus_difficulty: error: {ex}", file=sys.stderr)
        return 2
    print(f"corpus_difficulty: {args.corpus}: {len(F)} files, {len(set(spk))} speakers, "
          f"{len(set(emo))} emotions ({skipped} unreadable or silent files skipped); "
          f"mean+std MFCC (80 features), logistic regression")

    def clf():
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, C=1.0))

    def chance(y):
        _, c = np.unique(y, return_counts=True)
        return c.max() / c.sum()

    kf = StratifiedKFold(args.folds, shuffle=True, random_state=0)
    res = {}
    pred = cross_val_predict(clf(), F, spk, cv=kf)
    res["speaker"] = (float((pred == spk).mean()), chance(spk), f"stratified {args.folds}-fold")
    pred = cross_val_predict(clf(), F, emo, cv=kf)
    res["emotion-rand"] = (float((pred == emo).mean()), chance(emo),
                           f"stratified {args.folds}-fold")
    pred = cross_val_predict(clf(), F, emo, cv=LeaveOneGroupOut(), groups=spk)
    per = {s: float((pred[spk == s] == emo[spk == s]).mean()) for s in sorted(set(spk))}
    res["emotion-loso"] = (float((pred == emo).mean()), chance(emo),
                           f"leave-one-speaker-out, per speaker {min(per.values()):.3f}-"
                           f"{max(per.values()):.3f}")
    Fn = F.copy()
    for s in set(spk):
        m = spk == s
        Fn[m] = (F[m] - F[m].mean(axis=0)) / (F[m].std(axis=0) + 1e-9)
    pred = cross_val_predict(clf(), Fn, emo, cv=LeaveOneGroupOut(), groups=spk)
    res["emotion-loso-norm"] = (float((pred == emo).mean()), chance(emo),
                                "leave-one-speaker-out, per-speaker standardised features")
    for k, (acc, ch, how) in res.items():
        print(f"corpus_difficulty: {k:17s} accuracy {acc:.3f} (chance {ch:.3f}; {how})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
