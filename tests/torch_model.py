"""torch_model.py: the PyTorch module of a ser model spec (the reference for nn/).

build_model(spec, in_channels=40, n_classes=7, in_len=130) returns an nn.Module whose
state_dict names, shapes and parameter order are exactly those of ser's flat buffer
(nn/model.h): convK.weight [out,in,k], convK.bias; lstmK.weight_ih_l0 [4H,in],
lstmK.weight_hh_l0 [4H,H], lstmK.bias_ih_l0, lstmK.bias_hh_l0; fcK.weight [out,in], fcK.bias.
Input (B, C, T) as Conv1d; between conv and LSTM the tensor goes through
x.permute(0, 2, 1) into nn.LSTM(batch_first=True); the LSTM output is the last hidden state
(default) or the mean over time (lstm:H:mean). forward() returns logits.

batchnorm: bnK = nn.BatchNorm1d(C) (eps 1e-5, momentum 0.1) on a sequence (B, C, T) or a
vector (B, N): bnK.weight, bnK.bias, buffers bnK.running_mean, bnK.running_var,
bnK.num_batches_tracked.

Spec tokens: conv1d:OUT:K[:PAD] relu maxpool:K lstm:H[:last|:mean] dropout:P dense:N flatten
batchnorm
(a string, or the path of a file containing one; '#' comments allowed in files).
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

DEFAULT_SPEC = ("conv1d:64:5 relu maxpool:2 conv1d:128:5 relu maxpool:2 lstm:128 dropout:0.3 "
                "dense:64 relu dense:7")


def spec_tokens(spec):
    if os.path.isfile(spec):
        with open(spec) as f:
            spec = "\n".join(line.split("#", 1)[0] for line in f)
    return spec.split()


class SpecModel(nn.Module):
    def __init__(self, spec=DEFAULT_SPEC, in_channels=40, n_classes=7, in_len=130):
        super().__init__()
        self.ops = []
        count = {"conv": 0, "lstm": 0, "fc": 0, "bn": 0}
        seq, C, T = True, in_channels, in_len
        for i, tok in enumerate(spec_tokens(spec), 1):
            f = tok.split(":")
            kind, args = f[0], f[1:]

            def bad(why):
                raise ValueError(f"model spec: token {i} '{tok}': {why}")

            if kind == "conv1d":
                if len(args) not in (2, 3) or not seq:
                    bad("expected conv1d:OUT:K[:PAD] on a sequence")
                out, k = int(args[0]), int(args[1])
                pad = int(args[2]) if len(args) == 3 else k // 2
                count["conv"] += 1
                name = f"conv{count['conv']}"
                setattr(self, name, nn.Conv1d(C, out, k, padding=pad))
                self.ops.append(("conv", name))
                C, T = out, T + 2 * pad - k + 1
                if T <= 0:
                    bad("the sequence shrinks to length 0")
            elif kind == "relu":
                self.ops.append(("relu",))
            elif kind == "maxpool":
                if len(args) != 1 or not seq:
                    bad("expected maxpool:K on a sequence")
                k = int(args[0])
                self.ops.append(("pool", k))
                T //= k
                if T <= 0:
                    bad("the sequence shrinks to length 0")
            elif kind == "lstm":
                if len(args) not in (1, 2) or not seq:
                    bad("expected lstm:H[:last|:mean] on a sequence")
                h = int(args[0])
                mode = args[1] if len(args) == 2 else "last"
                if mode not in ("last", "mean"):
                    bad("the output must be 'last' or 'mean'")
                count["lstm"] += 1
                name = f"lstm{count['lstm']}"
                setattr(self, name, nn.LSTM(C, h, batch_first=True))
                self.ops.append(("lstm", name, mode == "mean"))
                seq, C = False, h
            elif kind == "dropout":
                p = float(args[0]) if len(args) == 1 else -1.0
                if not 0.0 <= p < 1.0:
                    bad("P must be a number with 0 <= P < 1")
                self.ops.append(("dropout", p))
            elif kind == "dense":
                if len(args) != 1 or seq:
                    bad("dense needs a vector input: put lstm or flatten before it")
                n = int(args[0])
                count["fc"] += 1
                name = f"fc{count['fc']}"
                setattr(self, name, nn.Linear(C, n))
                self.ops.append(("fc", name))
                C = n
            elif kind == "batchnorm":
                if args:
                    bad("batchnorm takes no arguments")
                count["bn"] += 1
                name = f"bn{count['bn']}"
                setattr(self, name, nn.BatchNorm1d(C))
                self.ops.append(("bn", name))
            elif kind == "flatten":
                if not seq:
                    bad("flatten needs a sequence input")
                self.ops.append(("flatten",))
                seq, C = False, C * T
            else:
                bad("unknown layer")
        if seq or C != n_classes:
            raise ValueError(f"model spec: the last layer gives {C} outputs, expected {n_classes}")

    def forward(self, x):  # x: (B, C, T) -> logits (B, n_classes)
        for op in self.ops:
            kind = op[0]
            if kind in ("conv", "fc", "bn"):
                x = getattr(self, op[1])(x)
            elif kind == "relu":
                x = F.relu(x)
            elif kind == "pool":
                x = F.max_pool1d(x, op[1])
            elif kind == "lstm":
                out, _ = getattr(self, op[1])(x.permute(0, 2, 1))
                x = out.mean(dim=1) if op[2] else out[:, -1, :]
            elif kind == "dropout":
                x = F.dropout(x, op[1], self.training)
            elif kind == "flatten":
                x = torch.flatten(x, 1)
        return x


def build_model(spec=DEFAULT_SPEC, in_channels=40, n_classes=7, in_len=130):
    return SpecModel(spec, in_channels, n_classes, in_len)
