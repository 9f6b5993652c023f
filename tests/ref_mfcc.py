"""ref_mfcc.py: an independent numpy/scipy re-implementation of librosa 0.10's
mfcc(y, sr=22050, n_mfcc=40) following ../shared/mfcc.md §3-6 (no code shared with dsp/):
periodic Hann(2048), 1024 zeros each side, hop 512, numpy rfft in float64, |X|^2, Slaney mel
filterbank built as librosa.filters.mel (rfftfreq grid, linspace of mel points, Slaney area
norm), 10*log10(max(1e-10, S)) clamped at the global max - 80 dB, scipy.fft.dct(type=2,
norm='ortho') over the 128 bands, first 40 rows. Also a libsndfile-free WAV decoder
(its own RIFF parser) and librosa's load rules for 22050 Hz files (no resampling).

CLI: ref_mfcc.py SIGNAL.npy OUT.npy  (MFCC of a float32 22050 Hz signal, float32 (40, T))."""
import sys

import numpy as np
import scipy.fft

SR, N_FFT, HOP, N_MELS, N_MFCC = 22050, 2048, 512, 128, 40
F_SP, MIN_LOG_HZ = 200.0 / 3, 1000.0
MIN_LOG_MEL = MIN_LOG_HZ / F_SP
LOGSTEP = np.log(6.4) / 27.0


def hz_to_mel(f):
    f = np.asarray(f, dtype=np.float64)
    return np.where(f >= MIN_LOG_HZ,
                    MIN_LOG_MEL + np.log(np.maximum(f, 1e-300) / MIN_LOG_HZ) / LOGSTEP,
                    f / F_SP)


def mel_to_hz(m):
    m = np.asarray(m, dtype=np.float64)
    return np.where(m >= MIN_LOG_MEL, MIN_LOG_HZ * np.exp(LOGSTEP * (m - MIN_LOG_MEL)), F_SP * m)


def mel_filterbank(sr=SR, n_fft=N_FFT, n_mels=N_MELS, fmin=0.0, fmax=None):
    """(n_mels, 1 + n_fft//2) Slaney filterbank, computed in float64, returned as float32."""
    if fmax is None:
        fmax = sr / 2.0
    fft_f = np.fft.rfftfreq(n_fft, d=1.0 / sr)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_f[None, :]
    w = np.zeros((n_mels, len(fft_f)))
    for m in range(n_mels):
        lower = -ramps[m] / fdiff[m]
        upper = ramps[m + 2] / fdiff[m + 1]
        w[m] = np.maximum(0.0, np.minimum(lower, upper))
    w *= (2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels]))[:, None]
    return w.astype(np.float32)


def mfcc(y, sr=SR, n_mfcc=N_MFCC):
    y = np.asarray(y, dtype=np.float32).astype(np.float64)
    T = 1 + len(y) // HOP
    padded = np.pad(y, (N_FFT // 2, N_FFT // 2))
    idx = np.arange(T)[:, None] * HOP + np.arange(N_FFT)[None, :]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)
    X = np.fft.rfft(padded[idx] * window, axis=1)           # (T, 1025) float64
    P = X.real ** 2 + X.imag ** 2
    S = P @ mel_filterbank(sr).astype(np.float64).T           # (T, 128)
    D = 10.0 * np.log10(np.maximum(1e-10, S))
    D = np.maximum(D, D.max() - 80.0)
    return scipy.fft.dct(D, type=2, norm="ortho", axis=1)[:, :n_mfcc].T.astype(np.float32)


def read_wav(path):
    """(sr, float32 (n, C)) from a RIFF WAV (PCM, IEEE float, or WAVE_FORMAT_EXTENSIBLE),
    parsed here without libsndfile, with libsndfile's scaling: u8 (x-128)/128, 16-bit x/32768,
    24-bit x/2^23, 32-bit x/2^31, float unscaled."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError(f"{path}: not a RIFF WAVE file")
    pos, fmt, raw = 12, None, None
    while pos + 8 <= len(data):
        cid, size = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "little")
        body = data[pos + 8:pos + 8 + size]
        if cid == b"fmt ":
            tag, ch, sr = (int.from_bytes(body[0:2], "little"), int.from_bytes(body[2:4], "little"),
                           int.from_bytes(body[4:8], "little"))
            bits = int.from_bytes(body[14:16], "little")
            if tag == 0xFFFE:  # extensible: the sub-format GUID starts with the real tag
                tag = int.from_bytes(body[24:26], "little")
            fmt = (tag, ch, sr, bits)
        elif cid == b"data":
            raw = body
        pos += 8 + size + (size & 1)
    if fmt is None or raw is None:
        raise ValueError(f"{path}: missing fmt or data chunk")
    tag, ch, sr, bits = fmt
    if tag == 3 and bits == 32:
        x = np.frombuffer(raw, "<f4").astype(np.float64)
    elif tag == 1 and bits == 8:
        x = (np.frombuffer(raw, np.uint8).astype(np.float64) - 128.0) / 128.0
    elif tag == 1 and bits == 16:
        x = np.frombuffer(raw, "<i2").astype(np.float64) / 32768.0
    elif tag == 1 and bits == 24:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = np.where(v >= 1 << 23, v - (1 << 24), v).astype(np.float64) / 2.0 ** 23
    elif tag == 1 and bits == 32:
        x = np.frombuffer(raw, "<i4").astype(np.float64) / 2.0 ** 31
    else:
        raise ValueError(f"{path}: unsupported WAV format tag {tag}, {bits} bits")
    n = len(x) // ch
    return sr, x[:n * ch].astype(np.float32).reshape(n, ch)


def librosa_load_native(x, sr, offset=0.5, duration=3.0):
    """librosa.load's cut and mono mix at the native rate, x float32 (n, C) -> float32 (n0,)."""
    start, frames = int(offset * sr), int(duration * sr)
    seg = x[start:start + frames].T                          # (C, n0), as soundfile + .T
    return np.mean(seg, axis=0) if seg.shape[0] > 1 else seg[0]


def main():
    y = np.load(sys.argv[1])
    np.save(sys.argv[2], mfcc(y))


if __name__ == "__main__":
    main()
