#!/usr/bin/python3
"""torch_identical_start.py: ser's whole training path against PyTorch from an identical start.

usage: torch_identical_start.py SER CORPUS WORKDIR [--class-weight balanced | --augment |
       --batchnorm]

Runs `mpirun -np 2 ser train --seed 3` on CORPUS (the 140-file test corpus: 98 training
files, batches of 32, 32, 32, 2 per epoch) and stops it by fault injection
(SER_FAULT_SIGNAL_BATCH=N: a checkpoint after N+1 Adam steps). Then PyTorch
(tests/torch_model.py) takes the same steps from ser's initial weights, in ser's batch order,
with ser's dropout masks (all three recomputed in Python from ser's counter-based generator,
tests/ser_rng.py), on ser's feature file, split and normalisation, with torch.optim.Adam. Every
tensor of ser's exported weights must agree (relative L2 difference; measured values printed):
  - after 4 steps (all of epoch 1, its partial batch included): <= 1e-5 (measured 4.2e-6; ~8e-7
    before the class order changed with the labels-as-data work);
  - after 6 steps (into epoch 2: its shuffle and dropout keys): <= 1e-3 (measured ~1e-4: from
    here on the two float implementations drift apart, a ReLU at a time, as any two do).
Negative control for each: the same steps in another epoch order must differ by > 1e-2, so the
check can fail. Exit 0 on agreement, 1 otherwise.

--batchnorm: `ser train --model BN_SPEC --batch-size 10` on 2 ranks (default mode; batches
of 10 cut into slices of 5 and 5, the last of 8 into 4 and 4), stopped after 4 steps. ser's
batchnorm normalises each rank's slice with that slice's statistics, and every rank applies
running = 0.9 * running + 0.1 * (mean over the slices of their batch mean and unbiased
variance) (nn/model.h). The replay runs each slice through the torch module in train mode
(the slices' losses summed, divided by the batch size), reads each slice's statistics with
momentum 1 (running = the batch statistic) and sets the running buffers from their mean.
The same with --deterministic --micro-batch 5 (statistics of each fixed micro-batch of 5,
summed exactly: here the same two halves of every batch). Every weight tensor AND running
buffer of ser's export: <= 1e-4 (measured: 4.5e-5 at most, on
the batchnorm biases, whose norms are ~1e-2; running statistics <= 2.6e-6, weights <= 1.5e-5).
Negative control: the replay with one slice per batch (PyTorch's single-process BatchNorm)
must differ by > 1e-2 (measured 1.8).

--class-weight balanced: the same on an imbalanced copy of CORPUS (WORKDIR/imbalanced:
symlinks to the first 10, 7, 4, 9, 10, 6, 2 words of angry, disgust, fear, happy, neutral,
surprise (ps), sad of each speaker: 96 files; seed 3 puts 68 in training, 4 to 15 a class:
batches of 32, 32, 4) with `ser train --class-weight balanced`. PyTorch's class weights come
from sklearn's compute_class_weight('balanced') over the training labels of ser's split.csv
(n / (k * count_c)) and its loss is F.cross_entropy(logits, y, weight=w): the mean
sum(w_y * CE) / sum(w_y) over the whole global batch (both ranks' halves). Two ser runs:
  - stopped after 1 step (mid epoch 1): the checkpoint's train.epoch_weight must equal sum(w_y)
    of the batch (this pins the weights' scale, to which the mean is blind), and
    train.epoch_loss_sum / train.epoch_weight PyTorch's weighted loss of it; weights after 1 step;
  - stopped at the end of epoch 1 (all its steps, the partial batch included): the weights,
    metrics.tsv's train_loss against the epoch's weighted mean loss sum(w_y * CE) / sum(w_y)
    over its batches, and val_loss against the unweighted mean loss on the validation set
    (docs/formats.md). Over a whole epoch sum(w_y) = n, so train_loss cannot tell a batch
    mean divided by the batch size from one divided by sum(w_y): the batch-1 checks can.
Every comparison: <= 1e-5 (weights: max relative L2 difference of a tensor; batch loss and
weight sum: relative; metrics.tsv's %.6f losses: absolute). Measured: weights ~1.2e-6, losses
<= 6e-7, weight sum 0. Negative control: the same replay without class weights
(F.cross_entropy(logits, y)) must differ from ser by > 1e-4 (10x the tolerance) in each of
these but val_loss (measured 5e-3 to 5e-2).

--augment: --label-smoothing, --mixup and --spec-augment (augment_check below; AUG_CASES: each
alone on CORPUS, label smoothing and all three with balanced weights on the imbalanced copy):
ser stopped at the end of epoch 1 against PyTorch replaying it with the mixup partners, lam and
SpecAugment masks recomputed in Python (ser_rng.py) and the loss from F.cross_entropy(weight=w,
label_smoothing=eps) (mixup: lam CE(y_i) + (1 - lam) CE(y_j) per sample over the sum of
lam w_yi + (1 - lam) w_yj). Weights <= 1e-4 (measured <= 4.3e-6), train_loss and val_loss
(never augmented) <= 1e-5 (measured <= 3.2e-7, 7.3e-7; masking the validation set too moves
val_loss by 3.6e-5 to 2.2e-4 after one epoch); the replay without the augmentation must differ by
> 1e-3 in the weights (measured 8e-3 to 8e-2).
"""
import argparse
import csv
import os
import re
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as Fn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "jobs"))
import ser_rng  # noqa: E402
import torch_model  # noqa: E402
import torch_reference as ref  # noqa: E402

SEED, P = 3, 0.3
CHECKS = ((3, 1e-5), (5, 1e-3))  # (SER_FAULT_SIGNAL_BATCH, tolerance)
CONTROL = 1e-2
# --class-weight balanced: words kept per speaker, by the file name's emotion (OAF_back_ps.wav)
KEEP = {"angry": 10, "disgust": 7, "fear": 4, "happy": 9, "neutral": 10, "ps": 6, "sad": 2}
CW_TOL, CW_CONTROL = 1e-5, 1e-4


def ser_masks(ids, epoch, layer, n):
    m = np.zeros((len(ids), n), np.float32)
    keep = np.float32(1.0 / (1.0 - P))
    for s, i in enumerate(ids):
        h = ser_rng.key(ser_rng.key(ser_rng.key(ser_rng.key(0x5E5E5E5E, SEED), epoch), int(i)),
                        layer)
        for j in range(n):
            u = np.float32(ser_rng.uniform(ser_rng.key(h, j)))
            m[s, j] = keep if u >= np.float32(P) else 0.0
    return torch.from_numpy(m)


class MaskedDropout:
    """stands in for torch.nn.functional in torch_model: dropout multiplies by ser's mask"""
    mask = None

    def __getattr__(self, name):
        return getattr(Fn, name)

    def dropout(self, x, p, training):
        return x * MaskedDropout.mask if training else x


def augment_batch(xb, ids, epoch, bi, aug):
    """ser's augmentation of a global batch (nn/augment.h), recomputed with tests/ser_rng.py:
    (inputs, partner positions or None, lam or None)"""
    xb = np.array(xb, copy=True)
    partners = lam = None
    if aug.get("mixup"):
        partners = ser_rng.mixup_partners(len(ids), SEED, epoch, bi)
        lam = np.array([ser_rng.mixup_lambda(aug["mixup"], SEED, epoch, int(i)) for i in ids],
                       np.float32)
        l3 = lam[:, None, None]
        xb = l3 * xb + (np.float32(1) - l3) * xb[partners]
    if aug.get("spec"):
        f, t, nf, nt = aug["spec"]
        xb = np.stack([ser_rng.specaug_apply(xb[k], SEED, epoch, int(i), f, t, nf, nt)
                       for k, i in enumerate(ids)])
    return xb, partners, lam


def batch_loss(logits, yb, weight, aug, partners, lam):
    """(the loss to minimise, sum of w * CE, sum of w): F.cross_entropy with weight and
    label_smoothing; with mixup lam CE(y_i) + (1 - lam) CE(y_j) per sample, divided by the
    sum of lam w_yi + (1 - lam) w_yj (the batch size without weights)"""
    eps = aug.get("smoothing", 0.0)
    if partners is None:
        loss = Fn.cross_entropy(logits, yb, weight=weight, label_smoothing=eps)
        with torch.no_grad():
            ce = Fn.cross_entropy(logits.double(), yb, label_smoothing=eps, reduction="none",
                                  weight=None if weight is None else weight.double())
            w = weight.double()[yb] if weight is not None else torch.ones_like(ce)
        return loss, float(ce.sum()), float(w.sum())
    yj = yb[partners]
    lt = torch.from_numpy(lam).double()
    ce_i = Fn.cross_entropy(logits.double(), yb, weight=None if weight is None else
                            weight.double(), label_smoothing=eps, reduction="none")
    ce_j = Fn.cross_entropy(logits.double(), yj, weight=None if weight is None else
                            weight.double(), label_smoothing=eps, reduction="none")
    w = weight.double() if weight is not None else torch.ones(logits.shape[1], dtype=torch.double)
    wsum = (lt * w[yb] + (1 - lt) * w[yj]).sum()
    total = (lt * ce_i + (1 - lt) * ce_j).sum()
    return (total / wsum).float(), float(total), float(wsum)


def torch_steps(x, y, train, steps, order_seed, weight=None, losses=None, aug=None):
    """ser's first `steps` Adam steps in PyTorch; weight: class weights of the loss (None: the
    plain mean). losses: if a list, gets (epoch, sum of w_y * CE, sum of w_y) of each batch
    (float64; w = 1 without weights). aug: {"smoothing": eps, "mixup": alpha, "spec": (F, T,
    NF, NT)} or None. Returns (state_dict, model)."""
    model = torch_model.build_model(torch_model.DEFAULT_SPEC)
    model.load_state_dict(ser_rng.init_state(model, SEED), strict=True)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    ops = [op[0] for op in model.ops]
    layer = ops.index("dropout")  # ser keys masks by layer index; ops are ser's layers
    ascending = sorted(int(i) for i in train)
    done, epoch = 0, 0
    while done < steps:
        order = ser_rng.epoch_order(ascending, order_seed, epoch)
        for s in range(0, len(order), 32):
            if done == steps:
                break
            ids = order[s:s + 32]
            MaskedDropout.mask = ser_masks(ids, epoch, layer, 128)
            model.train()
            opt.zero_grad(set_to_none=True)
            yb = torch.from_numpy(y[ids])
            if aug:
                xb, partners, lam = augment_batch(x[ids], ids, epoch, s // 32, aug)
                logits = model(torch.from_numpy(np.ascontiguousarray(xb)))
                loss, lsum, wsum = batch_loss(logits, yb, weight, aug, partners, lam)
                if losses is not None:
                    losses.append((epoch, lsum, wsum))
                loss.backward()
                opt.step()
                done += 1
                continue
            logits = model(torch.from_numpy(np.ascontiguousarray(x[ids])))
            loss = Fn.cross_entropy(logits, yb, weight=weight)
            if losses is not None:
                with torch.no_grad():
                    ce = Fn.cross_entropy(logits.double(), yb, reduction="none")
                    w = weight.double()[yb] if weight is not None else torch.ones_like(ce)
                    losses.append((epoch, float((w * ce).sum()), float(w.sum())))
            loss.backward()
            opt.step()
            done += 1
        epoch += 1
    return model.state_dict(), model


# no bias right before a batchnorm (its gradient would be ~0, and Adam would turn the float
# noise into steps of up to lr): on the input, after relu + maxpool, after the lstm
BN_SPEC = "batchnorm conv1d:16:5 relu maxpool:2 batchnorm lstm:16 batchnorm dense:8 relu dense:7"


def bn_steps(x, y, train, steps, ranks):
    """ser's first `steps` Adam steps with BN_SPEC, batch 10, each batch cut into `ranks`
    slices as dist_shard cuts it (see the module docstring). Returns the state_dict."""
    model = torch_model.build_model(BN_SPEC)
    model.load_state_dict(ser_rng.init_state(model, SEED), strict=True)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    order = ser_rng.epoch_order(sorted(int(i) for i in train), SEED, 0)
    model.train()
    for s in range(0, 10 * steps, 10):
        ids = order[s:s + 10]
        opt.zero_grad(set_to_none=True)
        before = [(b.running_mean.clone(), b.running_var.clone()) for b in bns]
        sums = [[torch.zeros_like(m), torch.zeros_like(v)] for m, v in before]
        for r in range(ranks):
            base, extra = divmod(len(ids), ranks)
            b0 = r * base + min(r, extra)
            part = ids[b0:b0 + base + (r < extra)]
            for b in bns:
                b.momentum = 1.0  # running = this slice's mean and unbiased variance
            logits = model(torch.from_numpy(np.ascontiguousarray(x[part])))
            loss = Fn.cross_entropy(logits, torch.from_numpy(y[part]), reduction="sum")
            (loss / len(ids)).backward()  # gradients add up over the slices
            for b, acc, (m0, v0) in zip(bns, sums, before):
                acc[0] += b.running_mean
                acc[1] += b.running_var
                b.running_mean.copy_(m0)
                b.running_var.copy_(v0)
        opt.step()
        with torch.no_grad():
            for b, acc in zip(bns, sums):
                b.running_mean.mul_(0.9).add_(0.1 * (acc[0] / ranks))
                b.running_var.mul_(0.9).add_(0.1 * (acc[1] / ranks))
                b.num_batches_tracked.fill_(s // 10 + 1)
    return model.state_dict()


def batchnorm_check(ser, corpus, work):
    fails = 0
    for mode in ((), ("--deterministic", "--micro-batch", "5")):
        fails += batchnorm_run(ser, corpus, work, mode)
    return fails


def batchnorm_run(ser, corpus, work, mode):
    run = os.path.join(work, "bn" + ("-deterministic" if mode else ""))
    if ser_train(ser, corpus, run, 3, ("--model", BN_SPEC, "--batch-size", "10", *mode)):
        return 1
    steps = int(ser_info(ser, os.path.join(run, "last.ckpt"))["adam.t"].split()[0])
    w = ser_weights(ser, run)
    x, y, (tr, va, te) = ref.load(corpus.rstrip("/") + ".features.serf",
                                  os.path.join(run, "split.csv"))
    x = ref.normalise(x, tr)
    fails = 0
    for ranks, want_close in ((2, True), (1, False)):
        sd = bn_steps(x, y, tr, steps, ranks)
        if set(sd) != set(w.files) - {"feature_mean", "feature_std", "feature_norm", "labels"}:
            print(f"export entries {sorted(w.files)} != state_dict {sorted(sd)}")
            return 1
        d, worst = weight_diff(sd, w)
        ok = d <= 1e-4 if want_close else d > CONTROL
        what = "2 slices per batch (<= 1e-4)" if want_close else f"1 slice per batch (> {CONTROL:g})"
        print(f"batchnorm{' --deterministic' if mode else ''}, {steps} steps, {what}: max relative L2 difference {d:.2e} ({worst}) "
              f"-> {'ok' if ok else 'FAIL'}", flush=True)
        fails += not ok
    return fails


def ser_train(ser, corpus, run, fault, extra=()):
    """mpirun -np 2 ser train stopped by the injected signal before batch `fault`; 0 or 1"""
    subprocess.run(["rm", "-rf", run], check=True)
    env = dict(os.environ, SER_FAULT_SIGNAL_BATCH=str(fault))
    rc = subprocess.run(["mpirun", "--oversubscribe", "-np", "2", ser, "train", "--data", corpus,
                         "--out", run, "--epochs", "3", "--patience", "100", "--seed", str(SEED),
                         "--quiet", *extra], env=env, stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL).returncode
    if rc != 75:
        print(f"ser train exited {rc}, expected 75 (stopped by the injected signal)")
        return 1
    return 0


def ser_info(ser, ckpt):
    """`ser info CKPT` as {name: text of its value}"""
    info = subprocess.run([ser, "info", ckpt], capture_output=True, text=True, check=True).stdout
    return {m.group(1): m.group(2) for m in re.finditer(r"^  (\S+) +(\S.*?)\s*$", info, re.M)}


def ser_weights(ser, run):
    npz = os.path.join(run, "w.npz")
    subprocess.run([ser, "export", os.path.join(run, "last.ckpt"), "--npz", npz], check=True)
    return np.load(npz)


def weight_diff(sd, w):
    diff = {k: float(np.linalg.norm(sd[k].numpy() - w[k]) / np.linalg.norm(w[k])) for k in sd}
    worst = max(diff, key=diff.get)
    return diff[worst], worst


def check(ser, corpus, work, fault, tol):
    run = os.path.join(work, f"run{fault}")
    if ser_train(ser, corpus, run, fault):
        return 1
    steps = int(ser_info(ser, os.path.join(run, "last.ckpt"))["adam.t"].split()[0])
    w = ser_weights(ser, run)
    x, y, (tr, va, te) = ref.load(corpus.rstrip("/") + ".features.serf",
                                  os.path.join(run, "split.csv"))
    x = ref.normalise(x, tr)
    fails = 0
    for order_seed, want_close in ((SEED, True), (SEED + 1, False)):
        sd, _ = torch_steps(x, y, tr, steps, order_seed)
        d, worst = weight_diff(sd, w)
        ok = d <= tol if want_close else d > CONTROL
        what = f"ser's order (<= {tol:g})" if want_close else f"another order (> {CONTROL:g})"
        print(f"{steps} steps, {what}: max relative L2 difference {d:.2e} "
              f"({worst}) -> {'ok' if ok else 'FAIL'}", flush=True)
        fails += not ok
    return fails


# ------------------------------------------------------------------- --class-weight balanced

def imbalanced_corpus(corpus, work):
    """WORKDIR/imbalanced: symlinks to the first KEEP[emotion] files of each folder of CORPUS"""
    dst = os.path.join(work, "imbalanced")
    subprocess.run(["rm", "-rf", dst, dst + ".features.serf"], check=True)
    for folder in sorted(os.listdir(corpus)):
        src = os.path.join(corpus, folder)
        if not os.path.isdir(src):
            continue
        files = sorted(f for f in os.listdir(src) if f.endswith(".wav"))
        kept = [f for f in files if KEEP.get(f[:-4].rsplit("_", 1)[-1]) is not None]
        if kept:
            kept = kept[:KEEP[kept[0][:-4].rsplit("_", 1)[-1]]]
            os.makedirs(os.path.join(dst, folder))
        for f in kept:
            os.symlink(os.path.abspath(os.path.join(src, f)), os.path.join(dst, folder, f))
    return dst


def balanced_weights(split_csv, classes):
    """sklearn's 'balanced' class weights over the training labels of ser's split.csv, in the
    order of ser's classes"""
    from sklearn.utils.class_weight import compute_class_weight
    with open(split_csv, newline="") as f:
        ytr = np.array([r["label"] for r in csv.DictReader(f) if r["split"] == "train"])
    if sorted(set(ytr)) != sorted(classes):
        raise SystemExit(f"{split_csv}: training labels {sorted(set(ytr))}, ser's classes "
                         f"{classes}")
    w = compute_class_weight("balanced", classes=np.array(classes), y=ytr)
    counts = {c: int((ytr == c).sum()) for c in classes}
    return w, counts, len(ytr)


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-300)


def class_weight_check(ser, corpus, work):
    data = imbalanced_corpus(corpus, work)
    extra = ("--class-weight", "balanced")
    runs = {f: os.path.join(work, f"cw_run{f}") for f in ("1", "epoch")}
    if ser_train(ser, data, runs["1"], 0, extra):  # 1 step: a checkpoint inside epoch 1
        return 1
    info1 = ser_info(ser, os.path.join(runs["1"], "last.ckpt"))
    x, y, (tr, va, te) = ref.load(data + ".features.serf", os.path.join(runs["1"], "split.csv"))
    classes = info1["classes"].split()
    feat_labels = ref.strings(ref.read_pack(data + ".features.serf", kind="FEAT")["label_names"])
    if len(classes) != 7 or list(feat_labels[:7]) != classes:
        raise SystemExit(f"classes {classes}, feature file labels {feat_labels}: this check "
                         "needs all 7, in the same order")
    cw, counts, n = balanced_weights(os.path.join(runs["1"], "split.csv"), classes)
    nb = (len(tr) + 31) // 32
    print(f"{n} training files {counts}, {nb} batches per epoch; balanced weights "
          + " ".join(f"{c}={v:.4f}" for c, v in zip(classes, cw)), flush=True)
    if ser_train(ser, data, runs["epoch"], nb - 1, extra):  # all of epoch 1
        return 1
    infoe = ser_info(ser, os.path.join(runs["epoch"], "last.ckpt"))
    if int(infoe["adam.t"].split()[0]) != nb or int(infoe["train.epoch"].split()[0]) != 1:
        print(f"ser stopped after {infoe['adam.t']} steps, epoch {infoe['train.epoch']}: "
              f"expected {nb} steps, 1 epoch")
        return 1
    with open(os.path.join(runs["epoch"], "metrics.tsv"), newline="") as f:
        row = next(csv.DictReader(f, delimiter="\t"))
    w1, we = ser_weights(ser, runs["1"]), ser_weights(ser, runs["epoch"])
    x = ref.normalise(x, tr)
    ser_sum = float(info1["train.epoch_loss_sum"].split()[0])
    ser_wsum = float(info1["train.epoch_weight"].split()[0])
    fails = 0
    for name, weight in (("balanced weights", torch.tensor(cw, dtype=torch.float32)),
                         ("control, no weights", None)):
        control = weight is None
        l1, le = [], []
        sd1, _ = torch_steps(x, y, tr, 1, SEED, weight, l1)
        sde, model = torch_steps(x, y, tr, nb, SEED, weight, le)
        val_loss, _ = ref.evaluate(model, torch.from_numpy(np.ascontiguousarray(x[va])),
                                   torch.from_numpy(y[va]))
        d1, t1 = weight_diff(sd1, w1)
        de, te_ = weight_diff(sde, we)
        ep_loss = sum(s for _, s, _ in le) / sum(v for _, _, v in le)
        # name, measured difference, the tolerance, whether the control must differ by CW_CONTROL
        rows = (("batch 1: sum of w_y (train.epoch_weight)", rel(ser_wsum, l1[0][2]), True),
                ("batch 1: weighted mean loss (train.epoch_loss_sum / epoch_weight)",
                 rel(ser_sum / ser_wsum, l1[0][1] / l1[0][2]), True),
                (f"after 1 step: weights, max relative L2 ({t1})", d1, True),
                (f"after {nb} steps (epoch 1): weights, max relative L2 ({te_})", de, True),
                ("epoch 1: metrics.tsv train_loss (weighted mean), absolute",
                 abs(float(row["train_loss"]) - ep_loss), True),
                ("epoch 1: metrics.tsv val_loss (unweighted), absolute",
                 abs(float(row["val_loss"]) - val_loss), False))
        print(f"PyTorch with {name}: train_loss {ep_loss:.6f} (ser {row['train_loss']}), "
              f"val_loss {val_loss:.6f} (ser {row['val_loss']})", flush=True)
        for what, d, controlled in rows:
            if control and not controlled:
                continue
            ok = d > CW_CONTROL if control else d <= CW_TOL
            need = f"> {CW_CONTROL:g}" if control else f"<= {CW_TOL:g}"
            print(f"  {what}: {d:.2e} ({need}) -> {'ok' if ok else 'FAIL'}", flush=True)
            fails += not ok
    return fails


# ------------------------------------------------- --label-smoothing, --mixup, --spec-augment

# (name, ser options, torch's aug, class weights, corpus: "plain" or "imbalanced")
AUG_CASES = (
    ("label smoothing", ("--label-smoothing", "0.1"), {"smoothing": 0.1}, False, "plain"),
    ("label smoothing + balanced weights", ("--label-smoothing", "0.2", "--class-weight",
     "balanced"), {"smoothing": 0.2}, True, "imbalanced"),
    ("mixup", ("--mixup", "0.4"), {"mixup": 0.4}, False, "plain"),
    ("spec-augment", ("--spec-augment", "8,30,2,2"), {"spec": (8, 30, 2, 2)}, False, "plain"),
    ("all three + balanced weights", ("--label-smoothing", "0.1", "--mixup", "0.3",
     "--spec-augment", "6,20,1,2", "--class-weight", "balanced"),
     {"smoothing": 0.1, "mixup": 0.3, "spec": (6, 20, 1, 2)}, True, "imbalanced"),
)
AUG_TOL, AUG_LOSS_TOL, AUG_CONTROL = 1e-4, 1e-5, 1e-3


def augment_check(ser, corpus, work):
    """Each AUG_CASES entry: 2-rank ser stopped at the end of epoch 1 against PyTorch replaying
    the same steps with the augmentation recomputed in Python (ser_rng.py) and the loss built
    from F.cross_entropy(weight, label_smoothing): weights (max relative L2 of a tensor),
    metrics.tsv train_loss (the epoch's weighted mean) and val_loss (no augmentation at
    validation: the plain mean CE) <= AUG_TOL and AUG_LOSS_TOL; the replay without the
    augmentation (its control) must differ by > AUG_CONTROL in the weights."""
    data = {"plain": corpus, "imbalanced": imbalanced_corpus(corpus, work)}
    fails = 0
    for k, (name, opts, aug, weighted, which) in enumerate(AUG_CASES):
        run = os.path.join(work, f"aug{k}")
        d = data[which]
        # a 1-step run gives the split, so the number of batches of epoch 1
        if ser_train(ser, d, run + "_probe", 0, opts):
            return 1
        x, y, (tr, va, te) = ref.load(d + ".features.serf", os.path.join(run + "_probe",
                                                                          "split.csv"))
        nb = (len(tr) + 31) // 32
        if ser_train(ser, d, run, nb - 1, opts):
            return 1
        info = ser_info(ser, os.path.join(run, "last.ckpt"))
        if int(info["adam.t"].split()[0]) != nb:
            print(f"{name}: ser stopped after {info['adam.t']} steps, expected {nb}")
            return 1
        weight = None
        if weighted:
            cw, _, _ = balanced_weights(os.path.join(run, "split.csv"), info["classes"].split())
            weight = torch.tensor(cw, dtype=torch.float32)
        with open(os.path.join(run, "metrics.tsv"), newline="") as f:
            row = next(csv.DictReader(f, delimiter="\t"))
        w = ser_weights(ser, run)
        x = ref.normalise(x, tr)
        le = []
        sd, model = torch_steps(x, y, tr, nb, SEED, weight, le, aug)
        val_loss, _ = ref.evaluate(model, torch.from_numpy(np.ascontiguousarray(x[va])),
                                   torch.from_numpy(y[va]))
        sd0, _ = torch_steps(x, y, tr, nb, SEED, weight, None, None)
        dw, worst = weight_diff(sd, w)
        dc, _ = weight_diff(sd0, w)
        ep_loss = sum(s for _, s, _ in le) / sum(v for _, _, v in le)
        rows = ((f"weights after {nb} steps, max relative L2 ({worst})", dw, dw <= AUG_TOL),
                ("metrics.tsv train_loss, absolute", abs(float(row["train_loss"]) - ep_loss),
                 abs(float(row["train_loss"]) - ep_loss) <= AUG_LOSS_TOL),
                ("metrics.tsv val_loss (not augmented), absolute",
                 abs(float(row["val_loss"]) - val_loss), abs(float(row["val_loss"]) - val_loss)
                 <= AUG_LOSS_TOL),
                ("control: replay without the augmentation, weights", dc, dc > AUG_CONTROL))
        print(f"{name} ({' '.join(opts)}): train_loss {ep_loss:.6f} (ser {row['train_loss']}), "
              f"val_loss {val_loss:.6f} (ser {row['val_loss']})", flush=True)
        for what, dv, ok in rows:
            print(f"  {what}: {dv:.2e} -> {'ok' if ok else 'FAIL'}", flush=True)
            fails += not ok
    return fails


def main():
    ap = argparse.ArgumentParser(usage=__doc__.split("\n\n")[1])
    ap.add_argument("ser")
    ap.add_argument("corpus")
    ap.add_argument("work")
    ap.add_argument("--class-weight", choices=("none", "balanced"), default="none")
    ap.add_argument("--augment", action="store_true")
    ap.add_argument("--batchnorm", action="store_true")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    torch_model.F = MaskedDropout()
    if a.augment:
        fails = augment_check(a.ser, a.corpus.rstrip("/"), a.work)
    elif a.batchnorm:
        fails = batchnorm_check(a.ser, a.corpus.rstrip("/"), a.work)
    elif a.class_weight == "balanced":
        fails = class_weight_check(a.ser, a.corpus.rstrip("/"), a.work)
    else:
        fails = sum(check(a.ser, a.corpus, a.work, fault, tol) for fault, tol in CHECKS)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
