#!/usr/bin/env python3
"""test_torch_reference.py SER CORPUS10 WORKDIR: the options of jobs/torch_reference.py that
mirror `ser train --preset robust` and its methods (issue 12), on the 10-word stand-in.

  * --ser-config RUN/config.txt: --norm global|speaker|utterance from a 1-epoch ser run with
    the robust model; the reference's normalised inputs (--dump-inputs) against ser's
    (SER_DUMP_INPUTS), <= 1e-6, and the three modes differ from one another by > 1e-3 (two
    independent implementations of README "Input normalisation");
  * a 2-epoch ser run with --label-smoothing, --mixup, --spec-augment, --monitor val_uar and
    --class-weight balanced: the reference reads each setting from config.txt, trains 2
    epochs on them (batchnorm model) and reports finite losses and metrics in [0, 1];
  * its pieces against hand formulae: the loss with label smoothing, class weights and mixup
    (-sum_k a_k log p_k over the summed weights), the SpecAugment masks (only zeros added,
    at most NF bands of <= F rows and NT spans of <= T frames, off = unchanged), Keras
    EarlyStopping / ReduceLROnPlateau in mode max;
  * refusals: a config.txt with weight-decay = 0.01, clip = 1, deltas = true, or an unknown
    key, exits non-zero naming it.
Exit 0 when every check passes.
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REF = os.path.join(HERE, "..", "jobs", "torch_reference.py")
sys.path.insert(0, os.path.join(HERE, "..", "jobs"))
import torch_reference as ref  # noqa: E402

ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1", OPENBLAS_NUM_THREADS="1")
ROBUST = ("conv2d:32:3x3 batchnorm relu maxpool2d:2x2 conv2d:64:3x3 batchnorm relu "
          "maxpool2d:2x2 conv2d:128:3x3 batchnorm relu maxpool2d:2x2 gap dropout:0.3 dense")
failures = []


def check(cond, what):
    print(("ok  " if cond else "FAIL") + "  " + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def sh(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(ENV, **(env or {})))
    return p.returncode, p.stdout + p.stderr


def err(a, b):
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))


def unit_checks():
    torch.manual_seed(0)
    K, B = 7, 9
    logits, y = torch.randn(B, K), torch.randint(0, K, (B,))
    yj, lam = torch.randint(0, K, (B,)), torch.rand(B)
    cw = torch.rand(K) + 0.5
    logp = F.log_softmax(logits, 1)

    def target(lbl, eps, w):  # a_k = (1 - eps) w_y [k = y] + eps w_k / K
        return (1 - eps) * F.one_hot(lbl, K) * w[lbl][:, None] + eps * w[None, :] / K

    ones = torch.ones(K)
    for eps, w, mix in ((0.0, None, False), (0.1, None, False), (0.1, cw, False),
                        (0.1, cw, True), (0.0, None, True)):
        ww = ones if w is None else w
        a = target(y, eps, ww)
        den = ww[y].sum()
        if mix:
            a = lam[:, None] * a + (1 - lam[:, None]) * target(yj, eps, ww)
            den = (lam * ww[y] + (1 - lam) * ww[yj]).sum()
        want = float(-(a * logp).sum() / den)
        got = float(ref.batch_loss(logits, y, eps, w, yj if mix else None, lam if mix else None))
        check(abs(got - want) <= 1e-5 * max(1, abs(want)),
              f"batch_loss eps {eps} weights {w is not None} mixup {mix}: {got:.6f} vs {want:.6f}")

    x = torch.randn(64, 40, 130) + 5  # no zeros of its own
    g = torch.Generator().manual_seed(1)
    m = ref.spec_augment(x, (8, 20, 2, 2), g)
    z = m == 0
    same = (m == x) | z
    rows, cols = z.all(2), z.all(1)
    check(bool(same.all()), "spec_augment only sets values to 0")
    check(bool(((z == (rows[:, :, None] | cols[:, None, :])).all())),
          "spec_augment masks whole rows and frames")
    check(int(rows.sum(1).max()) <= 16 and int(cols.sum(1).max()) <= 40 and
          int(rows.sum()) > 0 and int(cols.sum()) > 0,
          f"spec_augment: at most 2 x 8 rows and 2 x 20 frames per sample (max "
          f"{int(rows.sum(1).max())}, {int(cols.sum(1).max())})")
    check(ref.parse_spec_augment("off", 40, 130) is None and
          ref.parse_spec_augment("8,20,0,0", 40, 130) is None, "spec-augment off")

    es = ref.KerasEarlyStopping(2, 0.0, mode_max=True)
    seq = [es.update(e, v) for e, v in enumerate([0.5, 0.6, 0.6, 0.55, 0.7])]
    check(seq == [(True, False), (True, False), (False, False), (False, True), (True, False)] and
          es.best == 0.7, f"EarlyStopping mode max: {seq}")
    pl, lr = ref.KerasReduceLROnPlateau(0.5, 2, 1e-4, 0, 1e-5, mode_max=True), 1e-3
    lrs = []
    for v in [0.5, 0.5, 0.50005, 0.6, 0.6, 0.6]:
        lr = pl.update(v, lr)
        lrs.append(lr)
    check(lrs == [1e-3, 1e-3, 5e-4, 5e-4, 5e-4, 2.5e-4], f"ReduceLROnPlateau mode max: {lrs}")


def main():
    ser, corpus, work = sys.argv[1:4]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    cache = os.path.join(work, "features.serf")
    unit_checks()

    def train(out, epochs, *extra, dump=None):
        env = {"SER_DUMP_INPUTS": dump} if dump else None
        rc, log = sh(["mpirun", "-np", "2", ser, "train", "--data", corpus, "--features", cache,
                      "--out", out, "--epochs", str(epochs), "--batch-size", "16", "--seed", "3",
                      "--preset", "robust", "--quiet", *extra], env)
        return check(rc == 0, f"ser train {' '.join(extra)}: exit {rc}") or print(log)

    def reference(run, *extra):
        out = os.path.join(work, os.path.basename(run) + ".json")
        rc, log = sh([sys.executable, REF, "--ser-config", os.path.join(run, "config.txt"),
                      "--threads", "1", "--quiet", "--out", out, *extra])
        if not check(rc == 0, f"torch_reference.py --ser-config {run}: exit {rc}"):
            print(log)
            return None
        return json.load(open(out))

    dumps = {}
    for mode in ("global", "speaker", "utterance"):
        run = os.path.join(work, mode)
        if not train(run, 1, "--norm", mode, dump=run + ".ser.npy"):
            return 1
        res = reference(run, "--dump-inputs", run + ".torch.npy")
        if res is None:
            return 1
        check(res["config"]["norm"] == mode and res["config"]["model"] == ROBUST + ":7",
              f"--ser-config: norm {mode} and the robust model")
        a, b = np.load(run + ".ser.npy"), np.load(run + ".torch.npy")
        e = err(b, a) if a.shape == b.shape else float("inf")
        check(e <= 1e-6, f"--norm {mode}: reference inputs vs ser's SER_DUMP_INPUTS: {e:.2e}")
        dumps[mode] = b
    for m1 in dumps:
        for m2 in dumps:
            if m1 < m2:
                check(err(dumps[m1], dumps[m2]) > 1e-3, f"--norm {m1} differs from {m2}")

    run = os.path.join(work, "augment")
    aug = ("--norm", "speaker", "--label-smoothing", "0.1", "--mixup", "0.2", "--spec-augment",
           "8,20,2,2", "--monitor", "val_uar", "--class-weight", "balanced")
    if not train(run, 2, *aug):
        return 1
    res = reference(run)
    if res is None:
        return 1
    c = res["config"]
    check((c["label_smoothing"], c["mixup"], c["spec_augment"], c["monitor"], c["class_weight"],
           c["epochs"], c["seed"], c["batch_size"]) ==
          (0.1, 0.2, "8,20,2,2", "val_uar", "balanced", 2, 3, 16),
          "--ser-config mirrors label smoothing, mixup, SpecAugment, monitor, class weights, "
          "epochs, seed, batch size")
    h = res["history"]
    check(len(h) == 2 and all(np.isfinite([r["train_loss"], r["val_loss"]]).all() for r in h) and
          all(0 <= r["val_uar"] <= 1 for r in h) and 0 <= res["test_accuracy"] <= 1,
          f"2 augmented epochs: finite losses, val_uar in [0, 1] ({[r['val_uar'] for r in h]})")

    cfg = open(os.path.join(run, "config.txt")).read()
    for old, new, key in (("weight-decay = 0\n", "weight-decay = 0.01\n", "weight-decay"),
                          ("clip = 0\n", "clip = 1\n", "clip"),
                          ("deltas = false\n", "deltas = true\n", "deltas"),
                          ("", "new-option = 1\n", "new-option")):
        check(old in cfg, f"config.txt has '{old.strip()}'")
        bad = os.path.join(work, "bad-" + key)
        os.makedirs(bad)
        shutil.copy(os.path.join(run, "split.csv"), bad)
        with open(os.path.join(bad, "config.txt"), "w") as f:
            f.write(cfg.replace(old, new, 1) if old else cfg + new)
        rc, log = sh([sys.executable, REF, "--ser-config", os.path.join(bad, "config.txt"),
                      "--epochs", "1", "--quiet"])
        check(rc != 0 and key in log, f"refused: {new.strip()} (exit {rc})")

    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
