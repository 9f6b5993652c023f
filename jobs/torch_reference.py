#!/usr/bin/python3
"""torch_reference.py: the PyTorch reference trainer for `ser train` (issue 3).

Trains the same model (tests/torch_model.py, same spec and state_dict names as ser) on
exactly ser's features (the FEAT pack that `ser train` cached, raw MFCCs [n,40,130]) and
exactly ser's split (RUN_DIR/split.csv), with ser's training semantics:
  - per-coefficient standardisation with the train set's mean and population std over all
    frames, accumulated in float64;
  - Adam (torch defaults, lr 1e-3), batch 32, a fresh shuffle every epoch, last partial batch
    kept, mean cross-entropy per batch;
  - per epoch validation loss/accuracy; Keras EarlyStopping(val_loss, patience 10,
    min_delta 0) with the best weights restored at the end (also when the epochs run out);
    Keras ReduceLROnPlateau(val_loss, factor 0.5, patience 5, min_delta 1e-4, cooldown 0,
    min_lr 1e-5), both written out below from Keras's source (torch's ReduceLROnPlateau
    counts patience differently: it reduces after patience+1 bad epochs and resets its
    counter at min_lr);
  - test accuracy, sklearn macro-F1 over the 7 classes and mean test loss of the best weights.
Prints one summary line and writes --out (JSON; with the per-epoch history).

  /usr/bin/python3 jobs/torch_reference.py --features F.serf --split-csv RUN/split.csv \
      --seed 1 --out torch.json
"""
import argparse
import csv
import json
import math
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from serpack import read_pack, strings  # noqa: E402
from torch_model import DEFAULT_SPEC, build_model  # noqa: E402
import ser_rng  # noqa: E402

# ser's class order; a TESS run trains on the first seven (its classes are the labels present)
LABELS = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise", "calm", "boredom"]


class KerasEarlyStopping:
    """keras.callbacks.EarlyStopping.on_epoch_end for mode 'min' (baseline None)."""

    def __init__(self, patience, min_delta=0.0):
        self.patience, self.min_delta = patience, abs(min_delta)
        self.best, self.best_epoch, self.wait = math.inf, -1, 0

    def update(self, epoch, current):
        """Returns (improved, stop)."""
        self.wait += 1
        if current + self.min_delta < self.best:  # Keras: np.less(current - (-min_delta), best)
            self.best, self.best_epoch, self.wait = current, epoch, 0
            return True, False
        return False, self.wait >= self.patience and epoch > 0


class KerasReduceLROnPlateau:
    """keras.callbacks.ReduceLROnPlateau.on_epoch_end for mode 'min'."""

    def __init__(self, factor=0.5, patience=5, min_delta=1e-4, cooldown=0, min_lr=1e-5):
        self.factor, self.patience, self.min_delta = factor, patience, min_delta
        self.cooldown, self.min_lr = cooldown, min_lr
        self.best, self.wait, self.cooldown_counter = math.inf, 0, 0

    def update(self, current, lr):
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if current < self.best - self.min_delta:
            self.best, self.wait = current, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience and lr > np.float32(self.min_lr):
                lr = max(lr * self.factor, self.min_lr)
                self.cooldown_counter, self.wait = self.cooldown, 0
        return lr


def load(features, split_csv):
    """-> x [n,40,130] float32 (raw), y [n] int64, subset index arrays (train, val, test)."""
    recs = read_pack(features, kind="FEAT")
    x, y = recs["features"], recs["labels"].astype(np.int64)
    paths = strings(recs["paths"])
    if len(paths) != x.shape[0] or y.shape[0] != x.shape[0]:
        raise SystemExit(f"{features}: {x.shape[0]} feature rows but {len(paths)} paths")
    row = {p: i for i, p in enumerate(paths)}
    subsets = {"train": [], "val": [], "test": []}
    with open(split_csv, newline="") as f:
        for n, r in enumerate(csv.DictReader(f), 2):
            if r["path"] not in row:
                raise SystemExit(f"{split_csv}:{n}: {r['path']} is not in {features}")
            i = row[r["path"]]
            if strings(recs["label_names"])[y[i]] != r["label"]:
                raise SystemExit(f"{split_csv}:{n}: label {r['label']} but the feature file "
                                 f"says {LABELS[y[i]]}")
            if r["split"] not in subsets:
                raise SystemExit(f"{split_csv}:{n}: unknown split '{r['split']}'")
            subsets[r["split"]].append(i)
    return x, y, [np.array(subsets[s], dtype=np.int64) for s in ("train", "val", "test")]


def normalise(x, train):
    """Per-coefficient train mean and population std over all frames (float64), as ser."""
    xt = x[train].astype(np.float64)  # [n,C,T]
    mean = xt.mean(axis=(0, 2))
    std = np.sqrt(((xt - mean[None, :, None]) ** 2).mean(axis=(0, 2)))
    std = np.maximum(std, 1e-8)
    m32, s32 = mean.astype(np.float32), std.astype(np.float32)
    return ((x - m32[None, :, None]) / s32[None, :, None]).astype(np.float32)


def evaluate(model, x, y, batch=256):
    model.eval()
    loss, preds = 0.0, []
    with torch.no_grad():
        for s in range(0, x.shape[0], batch):
            logits = model(x[s:s + batch])
            loss += F.cross_entropy(logits, y[s:s + batch], reduction="sum").item()
            preds.append(logits.argmax(1))
    p = torch.cat(preds) if preds else torch.zeros(0, dtype=torch.long)
    return loss / max(1, x.shape[0]), p


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--features", required=True)
    ap.add_argument("--split-csv", required=True)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--model", default=DEFAULT_SPEC)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--patience", type=int, default=10)
    ap.add_argument("--min-delta", type=float, default=0.0)
    ap.add_argument("--lr-factor", type=float, default=0.5)
    ap.add_argument("--lr-patience", type=int, default=5)
    ap.add_argument("--lr-cooldown", type=int, default=0)
    ap.add_argument("--min-lr", type=float, default=1e-5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None, help="result JSON")
    ap.add_argument("--ser-init", action="store_true",
                    help="start from ser's initial weights for --seed (tests/ser_rng.py)")
    ap.add_argument("--ser-order", action="store_true",
                    help="visit the training set in ser's epoch order for --seed")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()

    t0 = time.time()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    try:
        x, y, (tr, va, te) = load(a.features, a.split_csv)
    except (OSError, ValueError, KeyError) as e:
        raise SystemExit(f"torch_reference.py: {e}")
    if len(tr) == 0 or len(va) == 0 or len(te) == 0:
        raise SystemExit(f"{a.split_csv}: empty subset (train {len(tr)}, val {len(va)}, "
                         f"test {len(te)})")
    x = normalise(x, tr)
    # ser's classes: the labels present in training, in label order (class k = classes[k])
    classes = sorted(set(int(v) for v in y[tr]))
    y = np.array([classes.index(int(v)) if int(v) in classes else -1 for v in y], dtype=np.int64)
    if (y[te] < 0).any() or (y[va] < 0).any():
        raise SystemExit("a validation or test label has no training file")
    X = {k: torch.from_numpy(np.ascontiguousarray(x[i])) for k, i in
         (("train", tr), ("val", va), ("test", te))}
    Y = {k: torch.from_numpy(y[i]) for k, i in (("train", tr), ("val", va), ("test", te))}

    model = build_model(a.model, in_channels=x.shape[1], n_classes=len(classes),
                        in_len=x.shape[2])
    if a.ser_init:
        model.load_state_dict(ser_rng.init_state(model, a.seed), strict=True)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    stopper = KerasEarlyStopping(a.patience, a.min_delta)
    plateau = KerasReduceLROnPlateau(a.lr_factor, a.lr_patience, 1e-4, a.lr_cooldown, a.min_lr)
    best = {k: v.detach().clone() for k, v in model.state_dict().items()}
    gen = torch.Generator().manual_seed(a.seed)
    n, B, lr = len(tr), a.batch_size, a.lr
    hist, epoch = [], 0
    for epoch in range(a.epochs):
        te0 = time.time()
        model.train()
        if a.ser_order:  # ser shuffles feature-file indices, ascending within the subset
            pos = {int(i): k for k, i in enumerate(tr)}
            perm = torch.tensor([pos[i] for i in ser_rng.epoch_order(sorted(int(i) for i in tr),
                                                                     a.seed, epoch)])
        else:
            perm = torch.randperm(n, generator=gen)
        lsum, correct = 0.0, 0
        for s in range(0, n, B):
            idx = perm[s:s + B]
            xb, yb = X["train"][idx], Y["train"][idx]
            opt.zero_grad(set_to_none=True)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            loss.backward()
            opt.step()
            lsum += loss.item() * len(idx)
            correct += (logits.argmax(1) == yb).sum().item()
        train_s = time.time() - te0
        vloss, vpred = evaluate(model, X["val"], Y["val"])
        vacc = (vpred == Y["val"]).double().mean().item()
        improved, stop = stopper.update(epoch, vloss)
        if improved:
            best = {k: v.detach().clone() for k, v in model.state_dict().items()}
        h = {"epoch": epoch + 1, "train_loss": lsum / n, "train_accuracy": correct / n,
             "val_loss": vloss, "val_accuracy": vacc, "lr": lr,
             "seconds": time.time() - te0, "samples_per_s": n / train_s}
        hist.append(h)
        if not a.quiet:
            print(f"epoch {epoch + 1:3d}/{a.epochs}  loss {h['train_loss']:.4f}  acc "
                  f"{h['train_accuracy']:.4f}  val_loss {vloss:.4f}  val_acc {vacc:.4f}  lr "
                  f"{lr:.3g}  {h['seconds']:.1f} s{'  *' if improved else ''}",
                  file=sys.stderr, flush=True)
        if a.lr_factor < 1:
            lr = plateau.update(vloss, lr)
            for g in opt.param_groups:
                g["lr"] = lr
        if stop:
            break
    epochs_run = epoch + 1
    model.load_state_dict(best)
    tloss, tpred = evaluate(model, X["test"], Y["test"])
    yt, yp = Y["test"].numpy(), tpred.numpy()
    acc = float((yt == yp).mean())
    present = sorted(set(int(v) for v in yt))  # macro averages over the test set's classes
    mf1 = float(f1_score(yt, yp, labels=present, average="macro", zero_division=0))
    per_f1 = f1_score(yt, yp, labels=list(range(len(classes))), average=None, zero_division=0)
    wall = time.time() - t0
    res = {"test_accuracy": acc, "test_macro_f1": mf1, "test_loss": tloss,
           "per_class_f1": {LABELS[classes[k]]: float(v) for k, v in enumerate(per_f1)},
           "epochs_run": epochs_run, "best_epoch": stopper.best_epoch + 1,
           "wall_seconds": wall, "n_train": int(len(tr)), "n_val": int(len(va)),
           "n_test": int(len(te)), "torch": torch.__version__,
           "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "config": vars(a), "history": hist}
    print(f"torch: test accuracy {acc:.4f}  macro-F1 {mf1:.4f}  loss {tloss:.4f}  (best epoch "
          f"{res['best_epoch']} of {epochs_run}, {wall:.1f} s)")
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
