"""torch_model.py: the PyTorch module of a ser model spec (the reference for nn/).

build_model(spec, in_channels=40, n_classes=7, in_len=130) returns an nn.Module whose
state_dict names, shapes and parameter order are exactly those of ser's flat buffer
(nn/model.h): convK.weight [out,in,k] (Conv1d) or [out,in,k,k] (Conv2d; conv1d and conv2d
count together), convK.bias; lstmK.weight_ih_l0 [4H,in],
lstmK.weight_hh_l0 [4H,H], lstmK.bias_ih_l0, lstmK.bias_hh_l0; fcK.weight [out,in], fcK.bias.
Input (B, C, T) as Conv1d; between conv and LSTM the tensor goes through
x.permute(0, 2, 1) into nn.LSTM(batch_first=True); the LSTM output is the last hidden state
(default) or the mean over time (lstm:H:mean). forward() returns logits.

Maps (B, C, H, W) come from conv2d:OUT:KxK[:sS] (nn.Conv2d, padding K//2), maxpool2d:KxK
(F.max_pool2d) and reshape:P (a sequence x.view(B, P, C/P, T)); conv2d and maxpool2d given a
sequence use x.unsqueeze(1); reshape of a map is x.flatten(1, 2); gap is x.mean over the
spatial dimensions.

batchnorm: bnK = nn.BatchNorm1d(C) (eps 1e-5, momentum 0.1) on a sequence (B, C, T) or a
vector (B, N): bnK.weight, bnK.bias, buffers bnK.running_mean, bnK.running_var,
bnK.num_batches_tracked. On a map (B, C, H, W) it is
nn.BatchNorm2d(C).

Spec tokens: conv1d:OUT:K[:PAD] relu maxpool:K lstm:H[:last|:mean] dropout:P dense:N flatten
conv2d:OUT:KxK[:sS] maxpool2d:KxK gap reshape[:P] batchnorm
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
        self.relu_margin = None  # a number: forward() lowers it to the smallest |ReLU input|
        count = {"conv": 0, "lstm": 0, "fc": 0, "bn": 0}
        seq, C, T = True, in_channels, in_len
        grid = None  # (H, W) while the tensor is a map (B, C, H, W)
        for i, tok in enumerate(spec_tokens(spec), 1):
            f = tok.split(":")
            kind, args = f[0], f[1:]

            def bad(why):
                raise ValueError(f"model spec: token {i} '{tok}': {why}")

            def square(a):
                k = a.split("x")
                if len(k) != 2 or k[0] != k[1]:
                    bad("the kernel must be square (KxK)")
                return int(k[0])

            def as_map():
                nonlocal C, grid
                if grid is None:  # a sequence (B, C, T) as a map (B, 1, C, T)
                    self.ops.append(("unsqueeze",))
                    C, grid = 1, (C, T)

            if kind in ("conv1d", "maxpool", "lstm") and grid is not None:
                bad(f"{kind} needs a sequence input, but the input here is a map")
            if kind == "conv2d":
                if len(args) not in (2, 3) or not seq:
                    bad("expected conv2d:OUT:KxK[:sS] on a sequence or map")
                out, k = int(args[0]), square(args[1])
                if k % 2 == 0:
                    bad("K must be odd")
                s = int(args[2][1:]) if len(args) == 3 and args[2][0] == "s" else 1
                as_map()
                count["conv"] += 1
                name = f"conv{count['conv']}"
                setattr(self, name, nn.Conv2d(C, out, k, stride=s, padding=k // 2))
                self.ops.append(("conv", name))
                H, W = grid
                C, grid = out, ((H + 2 * (k // 2) - k) // s + 1, (W + 2 * (k // 2) - k) // s + 1)
                T = grid[0] * grid[1]
            elif kind == "maxpool2d":
                if len(args) != 1 or not seq:
                    bad("expected maxpool2d:KxK on a sequence or map")
                k = square(args[0])
                as_map()
                self.ops.append(("pool2d", k))
                grid = (grid[0] // k, grid[1] // k)
                T = grid[0] * grid[1]
                if T <= 0:
                    bad("the map shrinks to 0")
            elif kind == "gap":
                if len(args) != 0 or not seq:
                    bad("gap needs a sequence or map input")
                self.ops.append(("gap", 2 if grid is None else (2, 3)))
                seq, grid = False, None
            elif kind == "reshape":
                if len(args) > 1 or not seq:
                    bad("expected reshape[:P] on a sequence or map")
                p = int(args[0]) if args else 1
                if grid is not None:
                    if p != 1:
                        bad("a map becomes a sequence with plain 'reshape'")
                    self.ops.append(("unmap",))
                    C, T, grid = C * grid[0], grid[1], None
                else:
                    if C % p:
                        bad("the channels are not divisible by P")
                    self.ops.append(("map", p, C // p))
                    C, grid = p, (C // p, T)
                    T = grid[0] * grid[1]
            elif kind == "conv1d":
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
                setattr(self, name, nn.BatchNorm1d(C) if grid is None else nn.BatchNorm2d(C))
                self.ops.append(("bn", name))
            elif kind == "flatten":
                if not seq:
                    bad("flatten needs a sequence input")
                self.ops.append(("flatten",))
                seq, C, grid = False, C * T, None
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
                if self.relu_margin is not None:
                    self.relu_margin = min(self.relu_margin, x.detach().abs().min().item())
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
            elif kind == "unsqueeze":
                x = x.unsqueeze(1)
            elif kind == "pool2d":
                x = F.max_pool2d(x, op[1])
            elif kind == "gap":
                x = x.mean(dim=op[1])
            elif kind == "map":
                x = x.view(x.shape[0], op[1], op[2], x.shape[2])
            elif kind == "unmap":
                x = x.flatten(1, 2)
        return x


def build_model(spec=DEFAULT_SPEC, in_channels=40, n_classes=7, in_len=130):
    return SpecModel(spec, in_channels, n_classes, in_len)
