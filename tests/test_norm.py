#!/usr/bin/env python3
"""test_norm.py SER CORPUS10 WORKDIR: `ser train --norm global|speaker|utterance` and
`ser predict --norm-from` (issue 12) on the generated 10-word TESS stand-in (2 speakers).

Every check is against numpy, never against ser's own output:
  * what the model is fed: the trainer's SER_DUMP_INPUTS hook (every sample after the
    normalisation, float32 [n][C][T] in split.csv order) against a numpy re-implementation
    from the feature cache (read with tests/serpack.py) and split.csv: global = the training
    files' per-coefficient mean and population std, speaker = each speaker's, over all their
    files (training or not), utterance = each file's own; std floored at 1e-8; max
    |difference| / max(1, |value|) <= 1e-6. The three modes must differ from one another
    (so a mode that silently fell back to another would fail);
  * the checkpoint: norm.mode (`ser info` too) and norm.mean/std (global: numpy's statistics;
    speaker and utterance: 0 and 1); `ser export`'s feature_norm, feature_mean, feature_std;
  * the trainer's test metrics use the normalisation predict uses: `ser predict` on the test
    speaker's files (--norm-from a manifest of them, and a folder of symlinks to them, for
    --norm speaker; nothing for utterance and global) gives exactly the run's confusion.tsv;
  * refusals: --norm bogus, predict of a speaker model without --norm-from, --norm-from with a
    global model, resuming with another --norm, --norm speaker with files of unknown speakers.
Exit 0 when every check passes.
"""
import csv
import os
import shutil
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serpack import read_pack, strings  # noqa: E402

ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1", OPENBLAS_NUM_THREADS="1")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def sh(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(ENV, **(env or {})))
    return p.returncode, p.stdout, p.stderr


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def confusion(path):
    with open(path) as f:
        t = [line.rstrip("\n").split("\t") for line in f]
    return t[0][1:], np.array([[int(v) for v in r[1:]] for r in t[1:]])


def stats(x):
    """numpy's per-row mean and population std over samples and frames: x [n][C][T]."""
    x = x.astype(np.float64)
    m = x.mean(axis=(0, 2))
    sd = np.sqrt(((x - m[None, :, None]) ** 2).mean(axis=(0, 2)))
    return m.astype(np.float32), np.maximum(sd, 1e-8).astype(np.float32)


def apply(x, m, s):
    return ((x - m[None, :, None]) / s[None, :, None]).astype(np.float32)


def reference(feat, split, mode):
    spk = np.array([r["speaker"] for r in split])
    if mode == "global":
        tr = np.array([r["split"] == "train" for r in split])
        return apply(feat, *stats(feat[tr]))
    out = np.empty_like(feat)
    groups = [spk == s for s in sorted(set(spk))] if mode == "speaker" else \
        [np.arange(len(feat)) == i for i in range(len(feat))]
    for g in groups:
        out[g] = apply(feat[g], *stats(feat[g]))
    return out


def err(a, b):
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))


def main():
    ser, corpus, work = sys.argv[1:4]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    cache = os.path.join(work, "features.serf")
    base = ["--data", corpus, "--features", cache, "--split", "speaker:YAF", "--epochs", "8",
            "--batch-size", "16", "--quiet"]

    def train(mode, out, *extra, np_=1, dump=None):
        env = {"SER_DUMP_INPUTS": dump} if dump else None
        return sh(["mpirun", "-np", str(np_), ser, "train", *base, "--out", out,
                   *(["--norm", mode] if mode else []), *extra], env)

    dumps, runs = {}, {}
    for mode in ["global", "speaker", "utterance"]:
        out, dump = os.path.join(work, mode), os.path.join(work, mode + ".npy")
        rc, _, err_ = train(mode, out, np_=2 if mode == "speaker" else 1, dump=dump)
        if not check(rc == 0, f"--norm {mode}: exit {rc}: {err_}"):
            return
        dumps[mode], runs[mode] = np.load(dump), out

    pack = read_pack(cache, kind="FEAT")
    paths = strings(pack["paths"])
    split = rows(os.path.join(runs["global"], "split.csv"))
    check([r["path"] for r in split] == paths, "split.csv lists the cache's files in order")
    feat = pack["features"].astype(np.float32)
    check(sorted({r["speaker"] for r in split}) == ["tess:OAF", "tess:YAF"], "two speakers")
    check({r["split"] for r in split if r["speaker"] == "tess:YAF"} == {"test"}, "YAF is test")

    refs = {m: reference(feat, split, m) for m in dumps}
    for mode, d in dumps.items():
        e = err(d, refs[mode])
        print(f"--norm {mode}: inputs vs numpy: max rel. difference {e:.2e}")
        check(d.shape == feat.shape and e <= 1e-6, f"--norm {mode}: inputs differ by {e:.2e}")
        for other in refs:
            if other != mode:
                check(err(d, refs[other]) > 1e-3, f"--norm {mode} is not --norm {other}")
        rc, out, _ = sh([ser, "info", os.path.join(runs[mode], "best.ckpt")])
        check(rc == 0 and any(line.split() == ["norm.mode", mode] for line in out.splitlines()),
              f"ser info shows norm.mode {mode}")
        ck = read_pack(os.path.join(runs[mode], "best.ckpt"), kind="CKPT")
        check(bytes(ck["norm.mode"]).rstrip(b"\0").decode() == mode, f"{mode}: norm.mode record")
        npz = os.path.join(work, mode + ".npz")
        rc, _, _ = sh([ser, "export", os.path.join(runs[mode], "best.ckpt"), "--npz", npz])
        z = np.load(npz, allow_pickle=False) if rc == 0 else None
        check(z is not None and z["feature_norm"].shape == () and
              str(z["feature_norm"]) == mode, f"export {mode}: feature_norm")
        if mode == "global":
            tr = np.array([r["split"] == "train" for r in split])
            m, s = stats(feat[tr])
            check(np.allclose(ck["norm.mean"], m, rtol=1e-6, atol=1e-6) and
                  np.allclose(ck["norm.std"], s, rtol=1e-6), "global: norm.mean/std")
            check(z is not None and np.array_equal(z["feature_mean"], ck["norm.mean"]),
                  "export global: feature_mean")
        else:
            check(np.all(ck["norm.mean"] == 0) and np.all(ck["norm.std"] == 1),
                  f"{mode}: norm.mean 0, norm.std 1")
            check(z is not None and np.all(z["feature_mean"] == 0) and
                  np.all(z["feature_std"] == 1), f"export {mode}: identity mean/std")

    # predict on the test speaker's files reproduces the run's test confusion
    test = [r for r in split if r["split"] == "test"]
    manifest, wrong = os.path.join(work, "yaf.csv"), os.path.join(work, "oaf.csv")
    for path, sel in [(manifest, test), (wrong, [r for r in split if r["split"] != "test"])]:
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["path", "label"])
            for r in sel:
                w.writerow([os.path.abspath(r["path"]), r["label"]])
    linkdir = os.path.join(work, "yaf-audio")
    os.makedirs(linkdir)
    for i, r in enumerate(test):
        os.symlink(os.path.abspath(r["path"]), os.path.join(linkdir, f"clip{i:03d}.wav"))
    forms = {"global": [[]], "utterance": [[]],
             "speaker": [["--norm-from", manifest], ["--norm-from", linkdir],
                         ["--norm-from", wrong]]}
    for mode, variants in forms.items():
        names, conf = confusion(os.path.join(runs[mode], "confusion.tsv"))
        for extra in variants:
            rc, out, err_ = sh([ser, "predict", "--model", os.path.join(runs[mode], "best.ckpt"),
                                *extra, *[r["path"] for r in test]])
            if not check(rc == 0, f"predict {mode} {extra}: exit {rc}: {err_}"):
                continue
            pred = {r["path"]: r["label"] for r in csv.DictReader(out.splitlines())}
            mine = np.zeros_like(conf)
            for r in test:
                mine[names.index(r["label"]), names.index(pred[r["path"]])] += 1
            print(f"predict {mode} {extra[1:]}: test accuracy {np.trace(mine) / len(test):.4f}, "
                  f"{np.count_nonzero(mine.sum(axis=0))} classes predicted")
            if extra[1:] == [wrong]:  # the other speaker's statistics: not what the run used
                check(not np.array_equal(mine, conf), "--norm-from the wrong speaker differs")
                continue
            check(np.array_equal(mine, conf),
                  f"predict {mode} {extra}: confusion {mine.tolist()} != run's {conf.tolist()}")
            if mode == "speaker":  # a confusion with one predicted column would prove little
                check(np.count_nonzero(mine.sum(axis=0)) >= 3, "speaker: >= 3 classes predicted")

    # refusals
    spk_ckpt = os.path.join(runs["speaker"], "best.ckpt")
    rc, _, e = train("bogus", os.path.join(work, "bogus"))
    check(rc == 1 and "--norm" in e and "bogus" in e, f"--norm bogus: exit {rc}: {e}")
    rc, _, e = sh([ser, "predict", "--model", spk_ckpt, test[0]["path"]])
    check(rc == 1 and "--norm-from" in e and "--norm speaker" in e,
          f"speaker model without --norm-from: exit {rc}: {e}")
    rc, _, e = sh([ser, "predict", "--model", os.path.join(runs["global"], "best.ckpt"),
                   "--norm-from", linkdir, test[0]["path"]])
    check(rc == 1 and "--norm-from" in e and "global" in e, f"--norm-from, global: {rc}: {e}")
    rc, _, e = sh([ser, "predict", "--model", spk_ckpt, "--norm-from",
                   os.path.join(work, "empty"), test[0]["path"]])
    check(rc != 0 and "--norm-from" in e, f"--norm-from nothing readable: exit {rc}: {e}")
    rc, _, e = train("global", runs["speaker"], "--resume", "auto")
    check(rc != 0 and "norm.mode" in e, f"resume with another --norm: exit {rc}: {e}")
    anon = os.path.join(work, "anon")
    os.makedirs(anon)
    with open(os.path.join(work, "anon.csv"), "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "label"])
        for i, r in enumerate(split[::2]):
            os.symlink(os.path.abspath(r["path"]), os.path.join(anon, f"x{i:03d}.wav"))
            w.writerow([os.path.join(anon, f"x{i:03d}.wav"), r["label"]])
    rc, _, e = sh([ser, "train", "--data", os.path.join(work, "anon.csv"), "--norm", "speaker",
                   "--epochs", "1", "--quiet", "--out", os.path.join(work, "anon-run")])
    check(rc == 1 and "without a known speaker" in e, f"unknown speakers: exit {rc}: {e}")

    print("FAILED" if failures else "all norm checks passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
