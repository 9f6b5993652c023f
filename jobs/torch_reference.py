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

Issue 12 (the robust recipe) adds, each an independent implementation of what ser documents
(README "Input normalisation", "Augmentation of training batches"), never ser's own draws:
  --norm global|speaker|utterance   statistics of the training files / of each speaker's files
        (all of them, training, validation and test; the speaker from split.csv) / of each file;
  --label-smoothing X               F.cross_entropy(label_smoothing=X);
  --mixup ALPHA                     each batch mixed with a torch.randperm of itself, lam ~
        Beta(ALPHA, ALPHA) per sample (numpy), loss lam*CE(y_i) + (1-lam)*CE(y_j);
  --spec-augment F,T,NF,NT          after mixup, per training sample NF frequency masks of
        width U{0..F} at a start U{0..C-w} and NT time masks likewise (torchaudio's iid
        masks), set to 0;
  --class-weight balanced           sklearn's n/(k*count), the batch loss divided by the
        summed weights (lam*w_yi + (1-lam)*w_yj with mixup), as PyTorch's weighted mean;
  --monitor val_loss|val_accuracy|val_uar   for early stopping and ReduceLROnPlateau (Keras
        mode min / max);
  batchnorm layers train on batch statistics (model.train()) and are evaluated with the
        running ones (model.eval()); the best weights include the running buffers.
--ser-config RUN/config.txt takes every setting from the ser run (its split.csv and feature
cache too unless given) and refuses settings this reference does not implement (any unknown
key, --weight-decay, --clip, --deltas); options given on the command line win.
--dump-inputs FILE.npy writes every sample after the normalisation, float32 [n][C][T] in
split.csv order (ser's SER_DUMP_INPUTS hook writes the same).

  /usr/bin/python3 jobs/torch_reference.py --features F.serf --split-csv RUN/split.csv \
      --seed 1 --out torch.json
  /usr/bin/python3 jobs/torch_reference.py --ser-config RUN/config.txt --out torch.json
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
    """keras.callbacks.EarlyStopping.on_epoch_end (baseline None), mode 'min' or 'max'."""

    def __init__(self, patience, min_delta=0.0, mode_max=False):
        self.patience, self.min_delta, self.mode_max = patience, abs(min_delta), mode_max
        self.best, self.best_epoch, self.wait = -math.inf if mode_max else math.inf, -1, 0

    def update(self, epoch, current):
        """Returns (improved, stop)."""
        self.wait += 1
        # Keras: np.greater(current - min_delta, best) / np.less(current + min_delta, best)
        if (current - self.min_delta > self.best if self.mode_max
                else current + self.min_delta < self.best):
            self.best, self.best_epoch, self.wait = current, epoch, 0
            return True, False
        return False, self.wait >= self.patience and epoch > 0


class KerasReduceLROnPlateau:
    """keras.callbacks.ReduceLROnPlateau.on_epoch_end, mode 'min' or 'max'."""

    def __init__(self, factor=0.5, patience=5, min_delta=1e-4, cooldown=0, min_lr=1e-5,
                 mode_max=False):
        self.factor, self.patience, self.min_delta = factor, patience, min_delta
        self.cooldown, self.min_lr, self.mode_max = cooldown, min_lr, mode_max
        self.best, self.wait, self.cooldown_counter = -math.inf if mode_max else math.inf, 0, 0

    def update(self, current, lr):
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if (current > self.best + self.min_delta if self.mode_max
                else current < self.best - self.min_delta):
            self.best, self.wait = current, 0
        elif self.cooldown_counter == 0:
            self.wait += 1
            if self.wait >= self.patience and lr > np.float32(self.min_lr):
                lr = max(lr * self.factor, self.min_lr)
                self.cooldown_counter, self.wait = self.cooldown, 0
        return lr


# --ser-config: keys mirrored into this reference's options (key -> (dest, type))
CONFIG_MIRRORED = {
    "model": ("model", str), "epochs": ("epochs", int), "batch-size": ("batch_size", int),
    "lr": ("lr", float), "seed": ("seed", int), "patience": ("patience", int),
    "monitor": ("monitor", str), "min-delta": ("min_delta", float),
    "lr-factor": ("lr_factor", float), "lr-patience": ("lr_patience", int),
    "lr-cooldown": ("lr_cooldown", int), "min-lr": ("min_lr", float),
    "label-smoothing": ("label_smoothing", float), "mixup": ("mixup", float),
    "spec-augment": ("spec_augment", str), "norm": ("norm", str),
    "class-weight": ("class_weight", str),
}
# keys that define the features and the split (already in the feature cache and split.csv) or
# only how ser runs (checkpoints, exact reduction): nothing to mirror
CONFIG_GIVEN = {"data", "corpus", "ravdess-song", "labels", "label-map", "offset", "duration",
                "sr", "n-mfcc", "feature-type", "n-mels", "features", "split", "cv", "cv-group",
                "val-speakers", "val-frac", "test-frac", "checkpoint-every", "keep",
                "deterministic", "micro-batch"}
# keys this reference does not implement: accepted only at these values
CONFIG_UNIMPLEMENTED = {"weight-decay": 0.0, "clip": 0.0, "deltas": "false"}


def parse_config(path):
    """ser's config.txt (docs/formats.md 5.1): [(key, value)], quotes and escapes undone."""
    out = []
    esc = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r"}
    with open(path, encoding="utf-8-sig") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            i, key, val, quoted = 0, None, "", False
            if "=" not in line:
                if line.split("#")[0].strip():
                    raise ValueError(f"{path}:{n}: not a 'key = value' line")
                continue
            key, rest = line.split("=", 1)
            key, rest = key.strip(), rest.strip(" \t")
            if rest.startswith('"'):
                i, quoted = 1, True
                while i < len(rest) and rest[i] != '"':
                    if rest[i] == "\\":
                        c = rest[i + 1]
                        if c == "x":
                            val += chr(int(rest[i + 2:i + 4], 16))
                            i += 4
                            continue
                        val += esc[c]
                        i += 2
                        continue
                    val += rest[i]
                    i += 1
            if not quoted:
                val = rest.split("#", 1)[0].rstrip(" \t")
            out.append((key, val))
    return out


def config_defaults(path):
    """The reference's option values from ser's RUN/config.txt; SystemExit on a setting this
    reference does not implement."""
    d = {}
    for key, val in parse_config(path):
        if key in CONFIG_MIRRORED:
            dest, typ = CONFIG_MIRRORED[key]
            d[dest] = typ(val)
        elif key in CONFIG_UNIMPLEMENTED:
            want = CONFIG_UNIMPLEMENTED[key]
            if (float(val) if isinstance(want, float) else val) != want:
                raise SystemExit(f"torch_reference.py: {path}: {key} = {val} is not implemented "
                                 f"by this reference (only {key} = {want})")
        elif key == "features":
            d["config_features"] = val
        elif key not in CONFIG_GIVEN:
            raise SystemExit(f"torch_reference.py: {path}: unknown setting '{key} = {val}': this "
                             f"reference does not implement it")
    return d


def load(features, split_csv, with_speakers=False):
    """-> x [n,C,T] float32 (raw), y [n] int64, (with_speakers: speakers [n],) subset index
    arrays (train, val, test), all in split.csv's order (ser's sample order: the cache's files
    after --labels; the cache's order when every file is used)."""
    recs = read_pack(features, kind="FEAT")
    xall, yall = recs["features"], recs["labels"].astype(np.int64)
    paths, names = strings(recs["paths"]), strings(recs["label_names"])
    pspk = strings(recs["speakers"]) if "speakers" in recs else None
    if len(paths) != xall.shape[0] or yall.shape[0] != xall.shape[0]:
        raise SystemExit(f"{features}: {xall.shape[0]} feature rows but {len(paths)} paths")
    row = {p: i for i, p in enumerate(paths)}
    take, spk, subsets = [], [], {"train": [], "val": [], "test": []}
    with open(split_csv, newline="") as f:
        for n, r in enumerate(csv.DictReader(f), 2):
            if r["path"] not in row:
                raise SystemExit(f"{split_csv}:{n}: {r['path']} is not in {features}")
            i = row[r["path"]]
            if names[yall[i]] != r["label"]:
                raise SystemExit(f"{split_csv}:{n}: label {r['label']} but the feature file "
                                 f"says {names[yall[i]]}")
            if r["split"] not in subsets:
                raise SystemExit(f"{split_csv}:{n}: unknown split '{r['split']}'")
            subsets[r["split"]].append(len(take))
            spk.append(r.get("speaker") or (pspk[i] if pspk else ""))
            take.append(i)
    take = np.array(take, dtype=np.int64)
    sub = [np.array(subsets[s], dtype=np.int64) for s in ("train", "val", "test")]
    return (xall[take], yall[take], np.array(spk), sub) if with_speakers else \
        (xall[take], yall[take], sub)


def norm_stats(x):
    """Per-coefficient mean and population std over samples and frames of x [n,C,T] (float64),
    std floored at 1e-8, as float32."""
    xt = x.astype(np.float64)
    mean = xt.mean(axis=(0, 2))
    std = np.maximum(np.sqrt(((xt - mean[None, :, None]) ** 2).mean(axis=(0, 2))), 1e-8)
    return mean.astype(np.float32), std.astype(np.float32)


def normalise(x, train, speakers=None, mode="global"):
    """--norm: global (the training samples' statistics), speaker (each speaker's samples, all
    subsets), utterance (each sample's own frames)."""
    if mode == "global":
        m, s = norm_stats(x[train])
        return ((x - m[None, :, None]) / s[None, :, None]).astype(np.float32)
    out = np.empty_like(x, dtype=np.float32)
    if mode == "speaker":
        if any(sp == "" or sp.endswith(":unknown") for sp in speakers):
            raise SystemExit("--norm speaker: a file of an unknown speaker")
        groups = [np.flatnonzero(speakers == sp) for sp in sorted(set(speakers))]
    elif mode == "utterance":
        groups = [np.array([i]) for i in range(x.shape[0])]
    else:
        raise SystemExit(f"--norm {mode}: not global, speaker or utterance")
    for g in groups:
        m, s = norm_stats(x[g])
        out[g] = (x[g] - m[None, :, None]) / s[None, :, None]
    return out


def parse_spec_augment(v, C, T):
    """'off' -> None; 'F,T,NF,NT' -> a tuple of 4 ints (widths at most the axis length)."""
    if v in (None, "", "off"):
        return None
    try:
        f, t, nf, nt = (int(p) for p in v.split(","))
    except ValueError:
        raise SystemExit(f"--spec-augment {v}: not F,T,NF,NT (four integers) or off")
    if min(f, t, nf, nt) < 0 or f > C or t > T:
        raise SystemExit(f"--spec-augment {v}: widths must be 0..{C} and 0..{T}, counts >= 0")
    return (f, t, nf, nt) if nf or nt else None


def mask_axis(B, n, wmax, count, gen):
    """[B, n] bool: per sample, `count` iid masks of width U{0..wmax} at a start U{0..n-w}."""
    if count == 0:
        return torch.zeros(B, n, dtype=torch.bool)
    w = torch.randint(0, wmax + 1, (B, count), generator=gen)
    start = (torch.rand(B, count, generator=gen, dtype=torch.float64) *
             (n - w + 1).double()).long().clamp(max=n - w)
    pos = torch.arange(n)[None, None, :]
    return ((pos >= start[..., None]) & (pos < (start + w)[..., None])).any(dim=1)


def spec_augment(xb, sa, gen):
    """torchaudio-style FrequencyMasking/TimeMasking with iid masks per sample; value 0."""
    f, t, nf, nt = sa
    B, C, T = xb.shape
    m = mask_axis(B, C, f, nf, gen)[:, :, None] | mask_axis(B, T, t, nt, gen)[:, None, :]
    return xb.masked_fill(m, 0.0)


def batch_loss(logits, yb, eps, cw, yj=None, lam=None):
    """Mean cross-entropy of a batch (label smoothing eps, class weights cw or None), PyTorch's
    weighted mean; with mixup lam*CE(y_i) + (1-lam)*CE(y_j) over sum(lam*w_yi+(1-lam)*w_yj)."""
    li = F.cross_entropy(logits, yb, weight=cw, label_smoothing=eps, reduction="none")
    wi = cw[yb] if cw is not None else torch.ones_like(li)
    if yj is None:
        return li.sum() / wi.sum()
    lj = F.cross_entropy(logits, yj, weight=cw, label_smoothing=eps, reduction="none")
    wj = cw[yj] if cw is not None else torch.ones_like(lj)
    return (lam * li + (1 - lam) * lj).sum() / (lam * wi + (1 - lam) * wj).sum()


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


def uar(y, p):
    """Unweighted average recall over the classes present in y (ser's val_uar)."""
    y, p = y.numpy(), p.numpy()
    return float(np.mean([(p[y == k] == k).mean() for k in sorted(set(y.tolist()))]))


def arguments():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ser-config", default=None,
                    help="take every setting from ser's RUN/config.txt (and RUN/split.csv)")
    ap.add_argument("--features", default=None)
    ap.add_argument("--split-csv", default=None)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--model", default=DEFAULT_SPEC)
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--patience", type=int, default=10)
    ap.add_argument("--monitor", default="val_loss",
                    choices=["val_loss", "val_accuracy", "val_uar"])
    ap.add_argument("--min-delta", type=float, default=0.0)
    ap.add_argument("--lr-factor", type=float, default=0.5)
    ap.add_argument("--lr-patience", type=int, default=5)
    ap.add_argument("--lr-cooldown", type=int, default=0)
    ap.add_argument("--min-lr", type=float, default=1e-5)
    ap.add_argument("--norm", default="global", choices=["global", "speaker", "utterance"])
    ap.add_argument("--label-smoothing", type=float, default=0.0)
    ap.add_argument("--mixup", type=float, default=0.0, metavar="ALPHA")
    ap.add_argument("--spec-augment", default="off", metavar="F,T,NF,NT")
    ap.add_argument("--class-weight", default="none", choices=["none", "balanced"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=None, help="result JSON")
    ap.add_argument("--dump-inputs", default=None,
                    help="write the normalised inputs (.npy, split.csv order) and continue")
    ap.add_argument("--ser-init", action="store_true",
                    help="start from ser's initial weights for --seed (tests/ser_rng.py)")
    ap.add_argument("--ser-order", action="store_true",
                    help="visit the training set in ser's epoch order for --seed")
    ap.add_argument("--quiet", action="store_true")
    a = ap.parse_args()
    if a.ser_config:  # the run's settings become the defaults; the command line still wins
        d = config_defaults(a.ser_config)
        cfeat = d.pop("config_features", None)
        ap.set_defaults(**d)
        a = ap.parse_args()
        run = os.path.dirname(os.path.abspath(a.ser_config))
        a.split_csv = a.split_csv or os.path.join(run, "split.csv")
        a.features = a.features or cfeat
    if not a.features or not a.split_csv:
        ap.error("--features and --split-csv are required (or --ser-config RUN/config.txt)")
    for name, v, lo, hi in (("--label-smoothing", a.label_smoothing, 0, 1),
                            ("--mixup", a.mixup, 0, math.inf)):
        if not lo <= v < hi:
            ap.error(f"{name} {v}: out of range [{lo}, {hi})")
    return a


def main():
    a = arguments()
    t0 = time.time()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    try:
        x, y, speakers, (tr, va, te) = load(a.features, a.split_csv, with_speakers=True)
    except (OSError, ValueError, KeyError) as e:
        raise SystemExit(f"torch_reference.py: {e}")
    if len(tr) == 0 or len(va) == 0 or len(te) == 0:
        raise SystemExit(f"{a.split_csv}: empty subset (train {len(tr)}, val {len(va)}, "
                         f"test {len(te)})")
    x = normalise(x, tr, speakers, a.norm)
    if a.dump_inputs:
        np.save(a.dump_inputs, x)
    sa = parse_spec_augment(a.spec_augment, x.shape[1], x.shape[2])
    # ser's classes: the labels present in training, in label order (class k = classes[k])
    classes = sorted(set(int(v) for v in y[tr]))
    y = np.array([classes.index(int(v)) if int(v) in classes else -1 for v in y], dtype=np.int64)
    if (y[te] < 0).any() or (y[va] < 0).any():
        raise SystemExit("a validation or test label has no training file")
    K = len(classes)
    cw = None
    if a.class_weight == "balanced":  # sklearn compute_class_weight: n / (k * count)
        cnt = np.bincount(y[tr], minlength=K)
        cw = torch.tensor(len(tr) / (K * cnt), dtype=torch.float32)
    X = {k: torch.from_numpy(np.ascontiguousarray(x[i])) for k, i in
         (("train", tr), ("val", va), ("test", te))}
    Y = {k: torch.from_numpy(y[i]) for k, i in (("train", tr), ("val", va), ("test", te))}

    model = build_model(a.model, in_channels=x.shape[1], n_classes=K, in_len=x.shape[2])
    if a.ser_init:
        model.load_state_dict(ser_rng.init_state(model, a.seed), strict=True)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    mode_max = a.monitor != "val_loss"
    stopper = KerasEarlyStopping(a.patience, a.min_delta, mode_max)
    plateau = KerasReduceLROnPlateau(a.lr_factor, a.lr_patience, 1e-4, a.lr_cooldown, a.min_lr,
                                     mode_max)
    best = {k: v.detach().clone() for k, v in model.state_dict().items()}
    gen = torch.Generator().manual_seed(a.seed)
    aug_gen = torch.Generator().manual_seed(a.seed + 7919)  # masks and mixup partners
    beta_rng = np.random.default_rng(a.seed)  # mixup lam
    n, B, lr = len(tr), a.batch_size, a.lr
    hist, epoch = [], 0
    for epoch in range(a.epochs):
        te0 = time.time()
        model.train()  # batchnorm on batch statistics, dropout on
        if a.ser_order:  # ser shuffles sample indices, ascending within the subset
            pos = {int(i): k for k, i in enumerate(tr)}
            perm = torch.tensor([pos[i] for i in ser_rng.epoch_order(sorted(int(i) for i in tr),
                                                                     a.seed, epoch)])
        else:
            perm = torch.randperm(n, generator=gen)
        lsum, wsum, correct = 0.0, 0.0, 0
        for s in range(0, n, B):
            idx = perm[s:s + B]
            xb, yb = X["train"][idx], Y["train"][idx]
            yj = lam = None
            if a.mixup > 0:
                partner = torch.randperm(len(idx), generator=aug_gen)
                lam = torch.from_numpy(beta_rng.beta(a.mixup, a.mixup, len(idx))
                                       .astype(np.float32))
                xb = lam[:, None, None] * xb + (1 - lam[:, None, None]) * xb[partner]
                yj = yb[partner]
            if sa is not None:
                xb = spec_augment(xb, sa, aug_gen)
            opt.zero_grad(set_to_none=True)
            logits = model(xb)
            loss = batch_loss(logits, yb, a.label_smoothing, cw, yj, lam)
            loss.backward()
            opt.step()
            w = float(len(idx)) if cw is None else float(
                (cw[yb] if yj is None else lam * cw[yb] + (1 - lam) * cw[yj]).sum())
            lsum += loss.item() * w
            wsum += w
            correct += (logits.argmax(1) == yb).sum().item()
        train_s = time.time() - te0
        vloss, vpred = evaluate(model, X["val"], Y["val"])
        vacc = (vpred == Y["val"]).double().mean().item()
        vuar = uar(Y["val"], vpred)
        metric = {"val_loss": vloss, "val_accuracy": vacc, "val_uar": vuar}[a.monitor]
        improved, stop = stopper.update(epoch, metric)
        if improved:  # state_dict: the batchnorm running statistics too
            best = {k: v.detach().clone() for k, v in model.state_dict().items()}
        h = {"epoch": epoch + 1, "train_loss": lsum / wsum, "train_accuracy": correct / n,
             "val_loss": vloss, "val_accuracy": vacc, "val_uar": vuar, "lr": lr,
             "seconds": time.time() - te0, "samples_per_s": n / train_s}
        hist.append(h)
        if not a.quiet:
            print(f"epoch {epoch + 1:3d}/{a.epochs}  loss {h['train_loss']:.4f}  acc "
                  f"{h['train_accuracy']:.4f}  val_loss {vloss:.4f}  val_acc {vacc:.4f}  val_uar "
                  f"{vuar:.4f}  lr {lr:.3g}  {h['seconds']:.1f} s{'  *' if improved else ''}",
                  file=sys.stderr, flush=True)
        if a.lr_factor < 1:
            lr = plateau.update(metric, lr)
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
    per_f1 = f1_score(yt, yp, labels=list(range(K)), average=None, zero_division=0)
    wall = time.time() - t0
    res = {"test_accuracy": acc, "test_macro_f1": mf1, "test_uar": uar(Y["test"], tpred),
           "test_loss": tloss,
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
