"""bn_check.py: checks of batchnorm training outputs (used by tests/test_bn_train.sh).

  moved NPZ STEPS          the exported running statistics left their start (mean 0,
      var 1), variances are > 0 and every num_batches_tracked is the int64 STEPS.
  predict SER RUN NPZ FEATURES   the export loads into tests/torch_model.py's module with
      load_state_dict(strict=True) and, in model.eval() (running statistics), gives the
      probabilities `ser predict --model RUN/best.ckpt` gives on the test files of
      RUN/split.csv (max abs diff <= 1e-4).
"""
import csv
import io
import json
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from serpack import read_pack, strings  # noqa: E402


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def moved(npz, steps):
    z = np.load(npz)
    bn = sorted({k.rsplit(".", 1)[0] for k in z.files if ".running_" in k})
    if not bn:
        fail("no running statistics exported")
    for b in bn:
        m, v, n = z[b + ".running_mean"], z[b + ".running_var"], z[b + ".num_batches_tracked"]
        if n.dtype != np.int64 or n.shape != () or int(n) != steps:
            fail(f"{b}.num_batches_tracked {n!r}, expected int64 {steps}")
        if not (np.all(np.isfinite(m)) and np.all(v > 0)):
            fail(f"{b}: running statistics not finite / variance not > 0")
        if np.abs(m).max() < 1e-6 or np.abs(v - 1).max() < 1e-6:
            fail(f"{b}: running statistics did not move from (0, 1)")
    print(f"moved ok: {bn}, num_batches_tracked {steps}")


def predict(ser, run, npz, features):
    import torch
    from torch_model import build_model
    split = list(csv.DictReader(open(os.path.join(run, "split.csv"))))
    test = [r for r in split if r["split"] == "test"]
    out = subprocess.run([ser, "predict", "--model", os.path.join(run, "best.ckpt")]
                         + [r["path"] for r in test], capture_output=True, text=True)
    if out.returncode != 0:
        fail("predict: " + out.stderr)
    pred = list(csv.DictReader(io.StringIO(out.stdout)))
    z = np.load(npz)
    labels = [str(s) for s in z["labels"]]
    probs = np.array([[float(p["p_" + l]) for l in labels] for p in pred])
    summary = json.load(open(os.path.join(run, "summary.json")))
    f = read_pack(features, kind="FEAT")
    C = f["features"].shape[1]
    model = build_model(summary["model"], in_channels=C, n_classes=len(labels),
                        in_len=f["features"].shape[2])
    model.load_state_dict({k: torch.from_numpy(np.array(z[k])) for k in z.files
                           if k not in ("feature_mean", "feature_std", "feature_norm", "labels")}, strict=True)
    model.eval()
    index = {p: i for i, p in enumerate(strings(f["paths"]))}
    x = np.stack([f["features"][index[t["path"]]] for t in test]).astype(np.float64)
    x = (x - z["feature_mean"][None, :, None]) / z["feature_std"][None, :, None]
    with torch.no_grad():
        tp = torch.softmax(model.double()(torch.from_numpy(x)), dim=1).numpy()
    diff = float(np.abs(tp - probs).max())
    if not diff <= 1e-4:
        fail(f"torch (eval) vs ser predict probabilities differ by {diff}")
    model.train()  # the batch statistics instead: must differ (the check can see them)
    with torch.no_grad():
        tt = torch.softmax(model(torch.from_numpy(x)), dim=1).numpy()
    print(f"predict ok: {len(test)} files, torch eval vs ser max prob diff {diff:.2e} "
          f"(train-mode torch would differ by {np.abs(tt - probs).max():.2e})")


if __name__ == "__main__":
    if sys.argv[1] == "moved":
        moved(sys.argv[2], int(sys.argv[3]))
    else:
        predict(*sys.argv[2:6])
