"""ser_rng.py: ser's counter-based generator (nn/rng.h) in Python, and what ser draws with it:
initial weights (nn_model_init) and the epoch shuffle of the training set (dist_shuffle in
mpi/split.c). Lets the PyTorch reference start from ser's exact initial weights and visit
ser's exact batch order (jobs/torch_reference.py --ser-init --ser-order)."""
import math

import numpy as np

M64 = (1 << 64) - 1


def mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def key(h, k):
    return mix(h ^ mix((k + 0x9E3779B97F4A7C15) & M64))


def hash5(k0, k1, k2, k3, k4):
    h = 0x5E5E5E5E
    for k in (k0, k1, k2, k3, k4):
        h = key(h, k)
    return h


def uniform(bits):
    """nn_rng_uniform: 24 random bits in [0, 1), exact in float32"""
    return (bits >> 40) / 16777216.0


def epoch_order(train_idx, seed, epoch):
    """dist_shuffle(idx, n, seed, epoch): ser's order of the training set (feature-file indices,
    ascending in train_idx) in epoch `epoch` (0-based)."""
    a = list(train_idx)
    k0 = key(seed, 0xE90C)
    for i in range(len(a), 1, -1):
        j = hash5(k0, epoch, i, 0x5817, 0) % i
        a[i - 1], a[j] = a[j], a[i - 1]
    return a


def init_tensor(seed, ti, shape, bound):
    """nn_model_init's values for tensor number ti (0-based over all parameter tensors)"""
    h = key(key(key(0x1417, seed), 0x696E6974), ti)
    n = int(np.prod(shape))
    u = np.array([uniform(key(h, j)) for j in range(n)], dtype=np.float64)
    return ((2.0 * u - 1.0) * bound).astype(np.float32).reshape(shape)


def init_state(model, seed):
    """ser's initial weights for a tests/torch_model.py model, as a state_dict of tensors.
    Tensors are numbered in the model's parameter order (ser's order: per layer weight, bias;
    LSTM weight_ih, weight_hh, bias_ih, bias_hh); the bound is 1/sqrt(fan_in) of the layer
    (conv: in*k, dense: in, LSTM: hidden size), as PyTorch's defaults; batchnorm weight 1 and
    bias 0, its running buffers PyTorch's (mean 0, var 1, count 0), as ser's."""
    import torch
    out, bound = {}, None
    for ti, (name, p) in enumerate(model.named_parameters()):
        if name.startswith("bn"):  # batchnorm: weight 1, bias 0 (as PyTorch)
            out[name] = torch.ones_like(p) if name.endswith("weight") else torch.zeros_like(p)
            continue
        if "lstm" in name:
            hidden = p.shape[0] // 4
            bound = 1.0 / math.sqrt(hidden)
        elif name.endswith("weight"):
            fan = p.shape[1] * (p.shape[2] if p.dim() == 3 else 1)
            bound = 1.0 / math.sqrt(fan)
        out[name] = torch.from_numpy(init_tensor(seed, ti, tuple(p.shape), bound))
    for name, b in model.named_buffers():  # batchnorm running buffers: PyTorch's start
        out[name] = b.clone()
    return out


# ---------------------------------------------------------------- augmentation (nn/augment.c)
AUG_FREQ, AUG_TIME, AUG_LAMBDA, AUG_PARTNER = 0x5A46, 0x5A54, 0xBE7A, 0x9A27


def specaug_mask(seed, epoch, sid, kind, m, n, wmax):
    """nn_specaug_mask: (start, width) of mask m of kind AUG_FREQ/AUG_TIME on an axis of n"""
    wm = min(max(wmax, 0), n)
    w = hash5(seed, epoch, sid, kind, 2 * m) % (wm + 1)
    s = hash5(seed, epoch, sid, kind, 2 * m + 1) % (n - w + 1)
    return s, w


def specaug_apply(x, seed, epoch, sid, f, t, nf, nt, planes=1):
    """nn_specaug_apply on a copy of one sample x [planes*F][T]"""
    x = np.array(x, copy=True)
    F, T = x.shape[0] // planes, x.shape[1]
    for m in range(nf):
        s, w = specaug_mask(seed, epoch, sid, AUG_FREQ, m, F, f)
        for p in range(planes):
            x[p * F + s:p * F + s + w, :] = 0
    for m in range(nt):
        s, w = specaug_mask(seed, epoch, sid, AUG_TIME, m, T, t)
        x[:, s:s + w] = 0
    return x


def _unit(bits):
    return ((bits >> 11) + 0.5) / 9007199254740992.0


def _log_gamma(a, seed, epoch, sid, dom):
    b = a + 1 if a < 1 else a
    d = b - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    lg = math.log(d)
    for k in range(256):
        u1 = _unit(hash5(seed, epoch, sid, dom, 4 * k))
        u2 = _unit(hash5(seed, epoch, sid, dom, 4 * k + 1))
        u3 = _unit(hash5(seed, epoch, sid, dom, 4 * k + 2))
        z = math.sqrt(-2.0 * math.log(u1)) * math.cos(6.283185307179586 * u2)
        v = 1.0 + c * z
        if v <= 0:
            continue
        v = v * v * v
        if math.log(u3) < 0.5 * z * z + d - d * v + d * math.log(v):
            lg = math.log(d) + math.log(v)
            break
    if a < 1:
        lg += math.log(_unit(hash5(seed, epoch, sid, dom, 1 << 20))) / a
    return lg


def mixup_lambda(alpha, seed, epoch, sid):
    """nn_mixup_lambda: lam ~ Beta(alpha, alpha) of sample sid, as float32"""
    g1 = _log_gamma(alpha, seed, epoch, sid, AUG_LAMBDA)
    g2 = _log_gamma(alpha, seed, epoch, sid, AUG_LAMBDA + 1)
    return np.float32(1.0 / (1.0 + math.exp(g2 - g1)))


def mixup_partners(n, seed, epoch, batch):
    """nn_mixup_partners: partner positions of a global batch of n samples"""
    p = list(range(n))
    for i in range(n, 1, -1):
        j = hash5(seed, epoch, batch, AUG_PARTNER, i) % i
        p[i - 1], p[j] = p[j], p[i - 1]
    return p
