#!/usr/bin/python3
# torch_check_corpus.py: can ser's default CNN-LSTM learn a TESS-shaped corpus?
#
# A PyTorch re-implementation of ser's default model and training recipe (README.md, "Using ser"):
# conv1d(40->64,k5,pad2)-relu-maxpool2-conv1d(64->128,k5,pad2)-relu-maxpool2-LSTM(128, last
# state)-dropout(0.3)-dense(64)-relu-dense(7); Adam 1e-3, batch 32, early stopping on
# validation loss (patience 10, restore best weights); per-coefficient standardisation of
# the 40 x 130 MFCC matrices with train-set mean/std; split stratified by (speaker, emotion)
# 70/15/15, or speaker-independent (--holdout YAF: train/val on the other speaker, test on
# YAF).  MFCCs come from tests/corpus_lr.py (numpy re-implementation of librosa).
#
#   /usr/bin/python3 tests/torch_check_corpus.py CORPUS [--cache F.npz] [--holdout YAF]
#                                                       [--min-acc 0.95]
#
# A measurement script (minutes of CPU on the full corpus), not registered in ctest.
# Exit 1 if the test accuracy is below --min-acc; 2 on bad input.
import argparse
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import corpus_lr  # noqa: E402

EMOTIONS = corpus_lr.EMOTIONS


class SerNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv1d(40, 64, 5, padding=2), nn.ReLU(), nn.MaxPool1d(2),     # [B,64,65]
            nn.Conv1d(64, 128, 5, padding=2), nn.ReLU(), nn.MaxPool1d(2))    # [B,128,32]
        self.lstm = nn.LSTM(128, 128, batch_first=True)
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(128, 64), nn.ReLU(),
                                  nn.Linear(64, len(EMOTIONS)))

    def forward(self, x):                     # x [B,40,130]
        h = self.conv(x).transpose(1, 2)      # [B,32,128]
        _, (hn, _) = self.lstm(h)             # hn [1,B,128]
        return self.head(hn[0])


def split(strata, seed, holdout, spk):
    from sklearn.model_selection import train_test_split
    idx = np.arange(len(strata))
    if holdout:
        te = idx[spk == holdout]
        rest = idx[spk != holdout]
        tr, va = train_test_split(rest, test_size=0.15, random_state=seed, stratify=strata[rest])
        return tr, va, te
    tr, tmp = train_test_split(idx, test_size=0.30, random_state=seed, stratify=strata)
    va, te = train_test_split(tmp, test_size=0.50, random_state=seed, stratify=strata[tmp])
    return tr, va, te


def evaluate(model, X, y, lossf):
    model.eval()
    with torch.no_grad():
        out = model(X)
        return float(lossf(out, y)), float((out.argmax(1) == y).float().mean())


def main():
    ap = argparse.ArgumentParser(description="Train ser's default CNN-LSTM in PyTorch on a "
                                 "TESS-shaped corpus and print the test accuracy.")
    ap.add_argument("corpus")
    ap.add_argument("--cache", help="MFCC cache (.npz), shared with corpus_lr.py")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--holdout", help="speaker-independent: test on this speaker (e.g. YAF)")
    ap.add_argument("--max-epochs", type=int, default=150)
    ap.add_argument("--min-acc", type=float)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    try:
        X, spk, emo, _ = corpus_lr.features(args.corpus, args.cache)
    except corpus_lr.InputError as ex:
        print(f"torch_check_corpus: error: {ex}", file=sys.stderr)
        return 2
    y = np.array([EMOTIONS.index(e) for e in emo])
    strata = np.char.add(np.char.add(spk.astype(str), "/"), emo.astype(str))
    tr, va, te = split(strata, args.seed, args.holdout, spk)
    mu = X[tr].mean(axis=(0, 2), keepdims=True)            # per coefficient [1,40,1]
    sd = X[tr].std(axis=(0, 2), keepdims=True) + 1e-8
    Xn = torch.from_numpy(((X - mu) / sd).astype(np.float32))
    yt = torch.from_numpy(y).long()

    model = SerNet()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lossf = nn.CrossEntropyLoss()
    best, best_state, bad = float("inf"), None, 0
    g = torch.Generator().manual_seed(args.seed)
    t0 = time.time()
    for epoch in range(1, args.max_epochs + 1):
        model.train()
        perm = torch.from_numpy(tr)[torch.randperm(len(tr), generator=g)]
        for b in range(0, len(perm), 32):
            i = perm[b:b + 32]
            opt.zero_grad()
            loss = lossf(model(Xn[i]), yt[i])
            loss.backward()
            opt.step()
        vl, vacc = evaluate(model, Xn[va], yt[va], lossf)
        if vl < best:
            best, bad = vl, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            bad += 1
        print(f"epoch {epoch:3d} val_loss {vl:.4f} val_acc {vacc:.4f} ({time.time() - t0:.0f} s)",
              flush=True)
        if bad >= 10:
            break
    model.load_state_dict(best_state)
    _, tacc = evaluate(model, Xn[te], yt[te], lossf)
    model.eval()
    with torch.no_grad():
        pred = model(Xn[te]).argmax(1).numpy()
    cm = np.zeros((7, 7), dtype=int)
    for a, b in zip(y[te], pred):
        cm[a, b] += 1
    print("confusion (rows true, cols predicted):", " ".join(EMOTIONS))
    for k, e in enumerate(EMOTIONS):
        print(f"  {e:8s} " + " ".join(f"{v:4d}" for v in cm[k]))
    mode = f"train {'/'.join(sorted(set(spk[tr])))}, test {args.holdout}" if args.holdout \
        else "stratified 70/15/15"
    print(f"torch_check_corpus: {len(X)} files, {mode}: best val_loss {best:.4f}, "
          f"test accuracy {tacc:.4f} ({len(te)} test files, {time.time() - t0:.0f} s)")
    if args.min_acc is not None and tacc < args.min_acc:
        print(f"torch_check_corpus: FAIL: test accuracy {tacc:.4f} < {args.min_acc}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
