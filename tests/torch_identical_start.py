#!/usr/bin/python3
"""torch_identical_start.py: ser's whole training path against PyTorch from an identical start.

usage: torch_identical_start.py SER CORPUS WORKDIR

Runs `mpirun -np 2 ser train --seed 3` on CORPUS (the 140-file test corpus: 98 training
files, batches of 32, 32, 32, 2 per epoch) and stops it by fault injection
(SER_FAULT_SIGNAL_BATCH=N: a checkpoint after N+1 Adam steps). Then PyTorch
(tests/torch_model.py) takes the same steps from ser's initial weights, in ser's batch order,
with ser's dropout masks (all three recomputed in Python from ser's counter-based generator,
tests/ser_rng.py), on ser's feature file, split and normalisation, with torch.optim.Adam. Every
tensor of ser's exported weights must agree (relative L2 difference; measured values printed):
  - after 4 steps (all of epoch 1, its partial batch included): <= 1e-5 (measured ~8e-7);
  - after 6 steps (into epoch 2: its shuffle and dropout keys): <= 1e-3 (measured ~1e-4: from
    here on the two float implementations drift apart, a ReLU at a time, as any two do).
Negative control for each: the same steps in another epoch order must differ by > 1e-2, so the
check can fail. Exit 0 on agreement, 1 otherwise.
"""
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


def torch_steps(x, y, train, steps, order_seed):
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
            loss = Fn.cross_entropy(model(torch.from_numpy(np.ascontiguousarray(x[ids]))),
                                    torch.from_numpy(y[ids]))
            loss.backward()
            opt.step()
            done += 1
        epoch += 1
    return model.state_dict()


def check(ser, corpus, work, fault, tol):
    run = os.path.join(work, f"run{fault}")
    subprocess.run(["rm", "-rf", run], check=True)
    env = dict(os.environ, SER_FAULT_SIGNAL_BATCH=str(fault))
    rc = subprocess.run(["mpirun", "--oversubscribe", "-np", "2", ser, "train", "--data", corpus,
                         "--out", run, "--epochs", "3", "--patience", "100", "--seed", str(SEED),
                         "--quiet"], env=env, stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL).returncode
    if rc != 75:
        print(f"ser train exited {rc}, expected 75 (stopped by the injected signal)")
        return 1
    ckpt = os.path.join(run, "last.ckpt")
    info = subprocess.run([ser, "info", ckpt], capture_output=True, text=True, check=True).stdout
    steps = int(re.search(r"^  adam\.t +(\d+)", info, re.M).group(1))
    npz = os.path.join(run, "w.npz")
    subprocess.run([ser, "export", ckpt, "--npz", npz], check=True)
    w = np.load(npz)
    x, y, (tr, va, te) = ref.load(corpus.rstrip("/") + ".features.serf",
                                  os.path.join(run, "split.csv"))
    x = ref.normalise(x, tr)
    fails = 0
    for order_seed, want_close in ((SEED, True), (SEED + 1, False)):
        sd = torch_steps(x, y, tr, steps, order_seed)
        diff = {k: float(np.linalg.norm(sd[k].numpy() - w[k]) / np.linalg.norm(w[k])) for k in sd}
        worst = max(diff, key=diff.get)
        ok = diff[worst] <= tol if want_close else diff[worst] > CONTROL
        what = f"ser's order (<= {tol:g})" if want_close else f"another order (> {CONTROL:g})"
        print(f"{steps} steps, {what}: max relative L2 difference {diff[worst]:.2e} "
              f"({worst}) -> {'ok' if ok else 'FAIL'}", flush=True)
        fails += not ok
    return fails


def main():
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    ser, corpus, work = sys.argv[1:]
    os.makedirs(work, exist_ok=True)
    torch_model.F = MaskedDropout()
    fails = sum(check(ser, corpus, work, fault, tol) for fault, tol in CHECKS)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
