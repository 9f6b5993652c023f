"""test_feature_types_train.py SER CORPUS WORKDIR PACK_STRIP: --feature-type logmel --n-mels 32 --deltas
through `ser train`, the feature cache, the checkpoint, `ser predict` and `ser export`:
  1. a 2-epoch run (1 rank) records the options: config.txt (feature-type = logmel, n-mels = 32,
     deltas = true), the cache's parameters (mfcc.output 1, mfcc.deltas 1, mfcc.n_mels 32) and
     shape (n, 96, 130), and `ser info best.ckpt` (in_channels 96, mfcc.output, mfcc.deltas);
  2. `ser predict` on the test files applies the checkpoint's pipeline: its probabilities equal
     PyTorch's (tests/torch_model.py, the exported weights and statistics, float64) on the
     cached training features of those files (<= 1e-4), and its accuracy is the summary's;
  3. the logmel cache is not reused for an MFCC run with the same --features (the file is
     rewritten as MFCC, 40 rows), a cache made with --n-mels 64 is not reused for 32, nor
     one of the same matrix shape made with another type (40 MFCCs of 40 bands / 40 log-mel
     bands) or without deltas (60 MFCCs / 20 MFCCs with deltas); an identical one is reused;
  4. files of earlier format-2 writers (the records mfcc.output and mfcc.deltas removed with
     tests/pack_strip.c): an MFCC cache without them is reused by `ser extract` (its key is
     unchanged) and not for --feature-type logmel; an MFCC checkpoint without them predicts
     exactly what the checkpoint with them does.
Exits 1 on failure."""
import csv
import io
import os
import shutil
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serpack import read_pack, scalar, strings  # noqa: E402

SER, CORPUS, WORK, STRIP = sys.argv[1:5]
fails = []


def check(cond, msg):
    if not cond:
        fails.append(msg)
        print("FAIL", msg, file=sys.stderr)
    return cond


def run(*args):
    r = subprocess.run(list(args), capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"FAIL: {' '.join(args)}: exit {r.returncode}\n{r.stderr}")
    return r


def params(path):
    f = read_pack(path, kind="FEAT")
    return f, {k: int(scalar(f[k])) for k in ("mfcc.n_mels", "mfcc.output", "mfcc.deltas")}


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    feat, out = os.path.join(WORK, "f.serf"), os.path.join(WORK, "run")
    common = ["--data", CORPUS, "--features", feat, "--quiet", "--epochs", "2"]
    run(SER, "train", *common, "--out", out, "--feature-type", "logmel", "--n-mels", "32",
        "--deltas")
    cfg = open(os.path.join(out, "config.txt")).read()
    for line in ("feature-type = logmel", "n-mels = 32", "deltas = true"):
        check(line in cfg, f"config.txt lacks '{line}'")
    f, p = params(feat)
    check(p == {"mfcc.n_mels": 32, "mfcc.output": 1, "mfcc.deltas": 1}, f"cache params {p}")
    check(f["features"].shape[1:] == (96, 130), f"cache shape {f['features'].shape}")
    info = run(SER, "info", os.path.join(out, "best.ckpt")).stdout
    for key in ("in_channels", "mfcc.output", "mfcc.deltas", "mfcc.n_mels"):
        want = {"in_channels": "96", "mfcc.output": "1", "mfcc.deltas": "1", "mfcc.n_mels": "32"}
        ok = any(ln.split()[:2] == [key, want[key]] for ln in info.splitlines() if ln.split())
        check(ok, f"ser info: {key} is not {want[key]}")

    # 2. predict == the model on the cached features (PyTorch, exported weights)
    import json
    import torch
    from torch_model import build_model
    summary = json.load(open(os.path.join(out, "summary.json")))
    test = [r for r in csv.DictReader(open(os.path.join(out, "split.csv")))
            if r["split"] == "test"]
    pr = run(SER, "predict", "--model", os.path.join(out, "best.ckpt"), *[r["path"] for r in test])
    pred = list(csv.DictReader(io.StringIO(pr.stdout)))
    labels = [k[2:] for k in pred[0].keys() if k.startswith("p_")]
    probs = np.array([[float(q["p_" + lb]) for lb in labels] for q in pred])
    correct = sum(q["label"] == t["label"] for q, t in zip(pred, test))
    check(abs(correct - round(summary["test_accuracy"] * len(test))) <= 1,
          f"predict accuracy {correct}/{len(test)} vs summary {summary['test_accuracy']}")
    npz = os.path.join(WORK, "best.npz")
    run(SER, "export", os.path.join(out, "best.ckpt"), "--npz", npz)
    z = np.load(npz)
    model = build_model(summary["model"], in_channels=96, n_classes=len(labels))
    model.load_state_dict({k: torch.from_numpy(z[k]) for k in z.files
                           if k not in ("feature_mean", "feature_std", "feature_norm", "labels")}, strict=True)
    model.eval()
    index = {q: i for i, q in enumerate(strings(f["paths"]))}
    x = np.stack([f["features"][index[t["path"]]] for t in test]).astype(np.float64)
    x = (x - z["feature_mean"][None, :, None]) / z["feature_std"][None, :, None]
    with torch.no_grad():
        tp = torch.softmax(model.double()(torch.from_numpy(x)), dim=1).numpy()
    diff = float(np.abs(tp - probs).max())
    check(diff <= 1e-4, f"predict vs the model on the cached features: {diff:.2e}")

    # 3. the cache is not reused for other feature parameters
    run(SER, "train", *common, "--epochs", "1", "--out", os.path.join(WORK, "mfcc"))
    f2, p2 = params(feat)
    check(p2 == {"mfcc.n_mels": 128, "mfcc.output": 0, "mfcc.deltas": 0} and
          f2["features"].shape[1] == 40, f"mfcc run reused the logmel cache: {p2}")
    feat64 = os.path.join(WORK, "f64.serf")
    run(SER, "extract", "--data", CORPUS, "--out", feat64, "--quiet", "--feature-type", "logmel",
        "--n-mels", "64")
    r = subprocess.run([SER, "extract", "--data", CORPUS, "--out", feat64, "--feature-type",
                        "logmel", "--n-mels", "32"], capture_output=True, text=True)
    _, p3 = params(feat64)
    check(r.returncode == 0 and "up to date" not in r.stderr and p3["mfcc.n_mels"] == 32,
          f"n_mels 64 cache reused for 32: {p3} {r.stderr[-300:]!r}")
    r = subprocess.run([SER, "extract", "--data", CORPUS, "--out", feat64, "--feature-type",
                        "logmel", "--n-mels", "32"], capture_output=True, text=True)
    check("up to date" in r.stderr, "an identical cache is not reused")
    # same matrix shape, other features: 40 MFCCs of 40 bands vs 40 log-mel bands; 60 MFCCs vs
    # 20 MFCCs with deltas (the shape check alone cannot tell them apart)
    for first, second in ((["--n-mels", "40"], ["--feature-type", "logmel", "--n-mels", "40"]),
                          (["--n-mfcc", "60"], ["--n-mfcc", "20", "--deltas"])):
        fs = os.path.join(WORK, "same_shape.serf")
        run(SER, "extract", "--data", CORPUS, "--out", fs, "--quiet", *first)
        r = subprocess.run([SER, "extract", "--data", CORPUS, "--out", fs, *second],
                           capture_output=True, text=True)
        _, ps = params(fs)
        want = 1 if "logmel" in second else 0
        check(r.returncode == 0 and "up to date" not in r.stderr and
              ps["mfcc.output"] == want and ps["mfcc.deltas"] == ("--deltas" in second),
              f"cache of {first} reused for {second}: {ps}")
    # 4. earlier format-2 files: no mfcc.output / mfcc.deltas records
    old_feat, old_ckpt = os.path.join(WORK, "old.serf"), os.path.join(WORK, "old.ckpt")
    new_ckpt = os.path.join(WORK, "mfcc", "best.ckpt")
    run(STRIP, "FEAT", feat, old_feat, "mfcc.output", "mfcc.deltas")
    run(STRIP, "CKPT", new_ckpt, old_ckpt, "mfcc.output", "mfcc.deltas")
    of = read_pack(old_feat, kind="FEAT")
    check("mfcc.output" not in of and "mfcc.deltas" not in of, "pack_strip kept the records")
    r = subprocess.run([SER, "extract", "--data", CORPUS, "--out", old_feat],
                       capture_output=True, text=True)
    check(r.returncode == 0 and "up to date" in r.stderr,
          f"an earlier MFCC cache is not reused: {r.stderr[-300:]!r}")
    r = subprocess.run([SER, "extract", "--data", CORPUS, "--out", old_feat, "--feature-type",
                        "logmel"], capture_output=True, text=True)
    check(r.returncode == 0 and "up to date" not in r.stderr and
          params(old_feat)[1]["mfcc.output"] == 1, "an earlier MFCC cache reused for logmel")
    paths = [r["path"] for r in test]
    p_new = run(SER, "predict", "--model", new_ckpt, *paths).stdout
    p_old = run(SER, "predict", "--model", old_ckpt, *paths).stdout
    check(p_new == p_old and len(p_new.splitlines()) == len(test) + 1,
          "an earlier checkpoint (no feature type records) predicts differently")
    print(f"feature types through train/predict: predict vs model on cache {diff:.2e}, "
          f"accuracy {correct}/{len(test)}")
    if fails:
        sys.exit(1)
    print("test_feature_types_train: ok")


if __name__ == "__main__":
    main()
