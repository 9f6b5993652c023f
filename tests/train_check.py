"""train_check.py: independent checks of `ser train` outputs (used by test_train.sh).

  run SER RUN_DIR FEATURES   the run directory is complete and consistent:
      metrics.tsv (header + one row per epoch, finite numbers), summary.json (keys, accuracy and
      macro-F1 recomputed from its confusion matrix with sklearn), confusion.tsv, report.md,
      both SVGs parse as XML, split.csv; the test accuracy equals the one recomputed from
      `ser predict` on the test files of split.csv (within one file: batched vs single-sample
      float rounding); PyTorch with the exported weights (tests/torch_model.py) gives the same
      probabilities as `ser predict` on those files (max abs diff <= 1e-4).
  compare WORKDIR   data parallelism: weights after one epoch for np = 1..4 agree to float
      rounding (per-tensor relative L2 difference <= 1e-3); 1- and 2-rank 3-epoch runs reach
      the same test accuracy within 10 points (3 test files of 21).
"""
import csv
import io
import json
import math
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serpack import read_pack, strings  # noqa: E402

LABELS = ["angry", "disgust", "fear", "happy", "neutral", "ps", "sad"]


def check(cond, msg):
    if not cond:
        print("FAIL:", msg, file=sys.stderr)
        sys.exit(1)


def check_run(ser, run, features):
    rows = list(csv.reader(open(os.path.join(run, "metrics.tsv")), delimiter="\t"))
    check(rows[0][:5] == ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy"],
          f"metrics.tsv header {rows[0]}")
    summary = json.load(open(os.path.join(run, "summary.json")))
    for k in ["test_accuracy", "test_macro_f1", "test_loss", "per_class", "epochs_run",
              "best_epoch", "wall_seconds", "config", "confusion"]:
        check(k in summary, f"summary.json lacks {k}")
    check(len(rows) - 1 == summary["epochs_run"], "metrics.tsv rows != epochs_run")
    for r in rows[1:]:
        check(all(math.isfinite(float(v)) for v in r), f"non-finite metrics row {r}")
    check(1 <= summary["best_epoch"] <= summary["epochs_run"], "best_epoch out of range")
    conf = np.array(summary["confusion"])
    check(conf.shape == (7, 7), "confusion shape")
    y_true = np.repeat(np.arange(7), conf.sum(1))
    y_pred = np.concatenate([np.repeat(np.arange(7), conf[i]) for i in range(7)])
    from sklearn.metrics import accuracy_score, f1_score
    check(abs(accuracy_score(y_true, y_pred) - summary["test_accuracy"]) < 1e-6, "accuracy")
    check(abs(f1_score(y_true, y_pred, average="macro", zero_division=0)
              - summary["test_macro_f1"]) < 1e-6, "macro-F1")
    tsv = list(csv.reader(open(os.path.join(run, "confusion.tsv")), delimiter="\t"))
    check(np.array_equal(np.array([[int(v) for v in r[1:]] for r in tsv[1:]]), conf),
          "confusion.tsv != summary.json")
    for svg in ["learning_curves.svg", "confusion.svg"]:
        root = ET.parse(os.path.join(run, svg)).getroot()
        check(root.tag.endswith("svg") and len(list(root.iter())) > 20, f"{svg} is empty")
    md = open(os.path.join(run, "report.md")).read()
    check("test accuracy" in md and "learning_curves.svg" in md, "report.md content")
    check(os.path.getsize(os.path.join(run, "best.ckpt")) > 100000, "best.ckpt")

    split = list(csv.DictReader(open(os.path.join(run, "split.csv"))))
    test = [r for r in split if r["split"] == "test"]
    check(len(test) == conf.sum(), "test files in split.csv != confusion total")
    out = subprocess.run([ser, "predict", "--model", os.path.join(run, "best.ckpt")]
                         + [r["path"] for r in test], capture_output=True, text=True)
    check(out.returncode == 0, "predict failed: " + out.stderr)
    pred = list(csv.DictReader(io.StringIO(out.stdout)))
    check(len(pred) == len(test), "predict rows")
    correct = sum(p["label"] == t["label"] for p, t in zip(pred, test))
    check(abs(correct - round(summary["test_accuracy"] * len(test))) <= 1,
          f"predict accuracy {correct}/{len(test)} vs summary {summary['test_accuracy']}")
    probs = np.array([[float(p["p_" + l]) for l in LABELS] for p in pred])
    check(np.allclose(probs.sum(1), 1, atol=1e-5), "probabilities do not sum to 1")

    # PyTorch with the exported weights on the same (raw) features.
    import torch
    from torch_model import build_model
    z = np.load(os.path.join(run, "best.npz"))
    check(list(z["labels"]) == LABELS, "exported labels")
    model = build_model(summary["model"], in_channels=40, n_classes=7)
    model.load_state_dict({k: torch.from_numpy(z[k]) for k in z.files
                           if k not in ("feature_mean", "feature_std", "labels")}, strict=True)
    model.eval()
    f = read_pack(features, kind="FEAT")
    index = {p: i for i, p in enumerate(strings(f["paths"]))}
    x = np.stack([f["features"][index[t["path"]]] for t in test]).astype(np.float64)
    x = (x - z["feature_mean"][None, :, None]) / z["feature_std"][None, :, None]
    with torch.no_grad():
        tp = torch.softmax(model.double()(torch.from_numpy(x)), dim=1).numpy()
    diff = np.abs(tp - probs).max()
    check(diff <= 1e-4, f"torch vs ser predict probabilities differ by {diff}")
    print(f"run ok: {summary['epochs_run']} epochs, test accuracy {summary['test_accuracy']:.4f},"
          f" torch/ser max prob diff {diff:.2e}")


def compare(work):
    ref = np.load(os.path.join(work, "step1.npz"))
    for np_ in (2, 3, 4):
        other = np.load(os.path.join(work, f"step{np_}.npz"))
        for k in ref.files:
            if k == "labels":
                continue
            a, b = other[k].astype(np.float64), ref[k].astype(np.float64)
            rel = np.linalg.norm(a - b) / max(np.linalg.norm(b), 1e-30)
            check(rel <= 1e-3, f"np={np_}: {k} differs from np=1 by {rel:.2e} (relative L2)")
    a1 = json.load(open(os.path.join(work, "run1", "summary.json")))["test_accuracy"]
    a2 = json.load(open(os.path.join(work, "run2", "summary.json")))["test_accuracy"]
    check(abs(a1 - a2) <= 0.1 + 1e-9, f"1-rank accuracy {a1} vs 2-rank {a2}")
    print(f"data parallelism ok: weights agree for np=1..4; accuracy 1 rank {a1:.3f}, 2 ranks {a2:.3f}")


if __name__ == "__main__":
    if sys.argv[1] == "run":
        check_run(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        compare(sys.argv[2])
