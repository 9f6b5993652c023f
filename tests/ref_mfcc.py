"""ref_mfcc.py: an independent numpy/scipy re-implementation of librosa 0.10's
mfcc(y, sr=22050, n_mfcc=40) following docs/mfcc.md §3-6 (no code shared with dsp/):
periodic Hann(2048), 1024 zeros each side, hop 512, numpy rfft in float64, |X|^2, Slaney mel
filterbank built as librosa.filters.mel (rfftfreq grid, linspace of mel points, Slaney area
norm), 10*log10(max(1e-10, S)) clamped at the global max - 80 dB, scipy.fft.dct(type=2,
norm='ortho') over the 128 bands, first 40 rows. Also a libsndfile-free WAV decoder
(its own RIFF parser), librosa's load rules at the native rate, and librosa 0.10's resampling
step through libsoxr called with ctypes (soxr_resample, librosa_load: see there for the exact
parameters python-soxr passes).

CLI: ref_mfcc.py SIGNAL.npy OUT.npy  (MFCC of a float32 22050 Hz signal, float32 (40, T))."""
import ctypes
import math
import sys

import numpy as np
import scipy.fft
import scipy.signal

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


def logmel_db(y, sr=SR, n_mels=N_MELS, power=2.0):
    """(T, n_mels) float64: librosa power_to_db(melspectrogram(y, sr, n_fft=2048, hop_length=512,
    n_mels, power), ref=1, amin=1e-10, top_db=80), time-major (the MFCC's input)."""
    y = np.asarray(y, dtype=np.float32).astype(np.float64)
    T = 1 + len(y) // HOP
    padded = np.pad(y, (N_FFT // 2, N_FFT // 2))
    idx = np.arange(T)[:, None] * HOP + np.arange(N_FFT)[None, :]
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)
    X = np.fft.rfft(padded[idx] * window, axis=1)           # (T, 1025) float64
    P = np.abs(X) ** power                                   # power=2: |X|^2
    S = P @ mel_filterbank(sr, n_mels=n_mels).astype(np.float64).T  # (T, n_mels)
    D = 10.0 * np.log10(np.maximum(1e-10, S))
    return np.maximum(D, D.max() - 80.0)


def logmel(y, sr=SR, n_mels=N_MELS):
    """(n_mels, T) float32: the log-mel dB matrix as librosa returns it."""
    return logmel_db(y, sr, n_mels).T.astype(np.float32)


def mfcc(y, sr=SR, n_mfcc=N_MFCC, n_mels=N_MELS):
    D = logmel_db(y, sr, n_mels)
    return scipy.fft.dct(D, type=2, norm="ortho", axis=1)[:, :n_mfcc].T.astype(np.float32)


def with_deltas(X):
    """[X; delta(X); delta2(X)] as librosa.feature.delta(X, width=9, order=1 / 2, axis=-1,
    mode='interp') computes them: scipy's Savitzky-Golay filter of polynomial order = derivative
    order over 9 frames, on the float32 matrix (float32 result, as scipy keeps float32)."""
    X = np.asarray(X, dtype=np.float32)
    d1 = scipy.signal.savgol_filter(X, 9, polyorder=1, deriv=1, axis=-1, mode="interp")
    d2 = scipy.signal.savgol_filter(X, 9, polyorder=2, deriv=2, axis=-1, mode="interp")
    return np.concatenate([X, d1.astype(np.float32), d2.astype(np.float32)], axis=0)


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


def read_ogg(path):
    """(sr, float32 (n, C)) from an Ogg Vorbis file, decoded to float by libvorbisfile
    (ov_read_float, through ctypes): the reference decoding for OGG input, without
    libsndfile (sox's own OGG reader goes through 16-bit ov_read, 3e-5 off)."""
    lib = ctypes.CDLL("libvorbisfile.so.3")

    class VorbisInfo(ctypes.Structure):
        _fields_ = [("version", ctypes.c_int), ("channels", ctypes.c_int), ("rate", ctypes.c_long)]

    fpp = ctypes.POINTER(ctypes.POINTER(ctypes.c_float))
    lib.ov_fopen.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    lib.ov_info.restype = ctypes.POINTER(VorbisInfo)
    lib.ov_info.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.ov_read_float.restype = ctypes.c_long
    lib.ov_read_float.argtypes = [ctypes.c_void_p, ctypes.POINTER(fpp), ctypes.c_int,
                                  ctypes.POINTER(ctypes.c_int)]
    lib.ov_clear.argtypes = [ctypes.c_void_p]
    vf = ctypes.create_string_buffer(16384)          # > sizeof(OggVorbis_File) (~1 kB)
    if lib.ov_fopen(path.encode(), vf) != 0:
        raise ValueError(f"{path}: not an Ogg Vorbis file")
    try:
        info = lib.ov_info(vf, -1).contents
        ch, sr = info.channels, info.rate
        pcm, section, parts = fpp(), ctypes.c_int(), []
        while True:
            n = lib.ov_read_float(vf, ctypes.byref(pcm), 4096, ctypes.byref(section))
            if n < 0:
                raise ValueError(f"{path}: ov_read_float error {n}")
            if n == 0:
                break
            parts.append(np.stack([np.ctypeslib.as_array(pcm[c], shape=(n,)).copy()
                                   for c in range(ch)], axis=1))
    finally:
        lib.ov_clear(vf)
    return sr, np.concatenate(parts).astype(np.float32)


def librosa_load_native(x, sr, offset=0.5, duration=3.0):
    """librosa.load's cut and mono mix at the native rate, x float32 (n, C) -> float32 (n0,)."""
    start, frames = int(offset * sr), int(duration * sr)
    seg = x[start:start + frames].T                          # (C, n0), as soundfile + .T
    return np.mean(seg, axis=0) if seg.shape[0] > 1 else seg[0]


# ---- librosa 0.10's resampler: python-soxr's soxr.resample(), re-done on libsoxr via ctypes ----
# librosa.core.audio.resample(y, orig_sr, target_sr, res_type="soxr_hq") calls
#   soxr.resample(y, orig_sr, target_sr, quality="soxr_hq")          (python-soxr 0.3.x)
# for a 1-D float32 y, which is cysoxr_divide_proc(in_rate, out_rate, y[:, None], SOXR_HQ):
#   io_spec      = soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I)   float32 in and out, scale 1
#   quality_spec = soxr_quality_spec(SOXR_HQ, 0)                  SOXR_HQ = SOXR_20_BITQ = 4,
#                  flags 0: 20 bits, linear phase (50), passband end 0.913, stopband 1
#   soxr = soxr_create(double in_rate, double out_rate, 1 channel, &err, &io_spec,
#                      &quality_spec, runtime_spec NULL)
#   olen = ceil(ilen * out_rate / in_rate); chunk_len = int(48000 * in_rate / out_rate)
#   soxr_process() on consecutive chunk_len-sample chunks while idx + chunk_len < ilen, then on
#   the last (partial) chunk, each time into the rest of the olen-sample output buffer; then,
#   if fewer than olen samples came out, one flush soxr_process(soxr, NULL, 0, ...); the
#   output is the out_pos samples written (<= olen). soxr_delete.
# librosa then sets n_samples = int(np.ceil(n * (float(target_sr) / orig_sr))) and
# fix_length()s the result to it (zero padding or cutting), as float32.
# soxr_oneshot() with the same specs is python-soxr's own test oracle for resample()
# (tests/test_resample.py there); soxr_oneshot_resample() below is it, and test_features_ref.py
# checks the two agree. python-soxr builds its own copy of libsoxr 0.1.3; this uses Debian's
# libsoxr.so.0 (package libsoxr0, 0.1.3), the library ser links.
SOXR_QQ, SOXR_LQ, SOXR_MQ, SOXR_HQ, SOXR_VHQ = 0, 1, 2, 4, 6
SOXR_FLOAT32_I = 0


class _IoSpec(ctypes.Structure):
    _fields_ = [("itype", ctypes.c_int), ("otype", ctypes.c_int), ("scale", ctypes.c_double),
                ("e", ctypes.c_void_p), ("flags", ctypes.c_ulong)]


class _QualitySpec(ctypes.Structure):
    _fields_ = [("precision", ctypes.c_double), ("phase_response", ctypes.c_double),
                ("passband_end", ctypes.c_double), ("stopband_begin", ctypes.c_double),
                ("e", ctypes.c_void_p), ("flags", ctypes.c_ulong)]


_soxr_lib = None


def _soxr():
    global _soxr_lib
    if _soxr_lib is None:
        lib = ctypes.CDLL("libsoxr.so.0")
        vp, sz, szp = ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)
        lib.soxr_io_spec.restype = _IoSpec
        lib.soxr_io_spec.argtypes = [ctypes.c_int, ctypes.c_int]
        lib.soxr_quality_spec.restype = _QualitySpec
        lib.soxr_quality_spec.argtypes = [ctypes.c_ulong, ctypes.c_ulong]
        lib.soxr_create.restype = vp
        lib.soxr_create.argtypes = [ctypes.c_double, ctypes.c_double, ctypes.c_uint,
                                    ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(_IoSpec),
                                    ctypes.POINTER(_QualitySpec), vp]
        lib.soxr_process.restype = ctypes.c_char_p
        lib.soxr_process.argtypes = [vp, vp, sz, szp, vp, sz, szp]
        lib.soxr_delete.restype = None
        lib.soxr_delete.argtypes = [vp]
        lib.soxr_oneshot.restype = ctypes.c_char_p
        lib.soxr_oneshot.argtypes = [ctypes.c_double, ctypes.c_double, ctypes.c_uint, vp, sz, szp,
                                     vp, sz, szp, ctypes.POINTER(_IoSpec),
                                     ctypes.POINTER(_QualitySpec), vp]
        _soxr_lib = lib
    return _soxr_lib


def _specs(quality):
    lib = _soxr()
    return (lib.soxr_io_spec(SOXR_FLOAT32_I, SOXR_FLOAT32_I), lib.soxr_quality_spec(quality, 0))


def soxr_resample(x, in_rate, out_rate, quality=SOXR_HQ):
    """python-soxr's soxr.resample(x, in_rate, out_rate, quality) for 1-D float32 x."""
    lib = _soxr()
    x = np.ascontiguousarray(x, dtype=np.float32)
    in_rate, out_rate = float(in_rate), float(out_rate)
    ilen = len(x)
    olen = int(np.ceil(ilen * out_rate / in_rate))
    chunk_len = int(48000 * in_rate / out_rate)
    io, q = _specs(quality)
    err = ctypes.c_char_p()
    s = lib.soxr_create(in_rate, out_rate, 1, ctypes.byref(err), ctypes.byref(io),
                        ctypes.byref(q), None)
    if err.value is not None or not s:
        raise RuntimeError(f"soxr_create: {err.value}")
    y = np.zeros(olen, dtype=np.float32)
    odone = ctypes.c_size_t()
    xp, yp, f = x.ctypes.data, y.ctypes.data, 4

    def process(ip, n):
        e = lib.soxr_process(s, ip, n, None, yp + f * out_pos, olen - out_pos, ctypes.byref(odone))
        if e is not None:
            raise RuntimeError(f"soxr_process: {e}")
        return odone.value

    out_pos = idx = 0
    try:
        while idx + chunk_len < ilen:
            out_pos += process(xp + f * idx, chunk_len)
            idx += chunk_len
        if idx < ilen:
            out_pos += process(xp + f * idx, ilen - idx)
        if out_pos < olen:
            out_pos += process(None, 0)
    finally:
        lib.soxr_delete(s)
    return y[:out_pos]


def soxr_oneshot_resample(x, in_rate, out_rate, quality=SOXR_HQ):
    """python-soxr's _resample_oneshot: soxr_oneshot() with the same specs, olen = ceil."""
    lib = _soxr()
    x = np.ascontiguousarray(x, dtype=np.float32)
    olen = int(np.ceil(len(x) * float(out_rate) / float(in_rate)))
    y = np.zeros(olen, dtype=np.float32)
    odone = ctypes.c_size_t()
    io, q = _specs(quality)
    e = lib.soxr_oneshot(float(in_rate), float(out_rate), 1, x.ctypes.data, len(x), None,
                         y.ctypes.data, olen, ctypes.byref(odone), ctypes.byref(io),
                         ctypes.byref(q), None)
    if e is not None:
        raise RuntimeError(f"soxr_oneshot: {e}")
    return y[:odone.value]


def fix_length(y, size):
    """librosa.util.fix_length for 1-D y: zero-pad or cut to size."""
    return np.pad(y, (0, size - len(y))) if len(y) < size else y[:size]


def librosa_load(x, sr0, sr=SR, offset=0.5, duration=3.0, quality=SOXR_HQ, resample=None):
    """librosa 0.10 load(..., sr=sr, offset, duration, mono=True, res_type='soxr_hq') from
    decoded float32 frames x (n, C) at sr0: cut at the native rate (seek int(offset*sr0), read
    int(duration*sr0) frames), float32 channel mean, then (sr0 != sr) soxr resampling and
    fix_length to int(ceil(n0 * (float(sr) / sr0))). Returns float32 (n,), not yet padded.
    resample(x, sr0, sr, quality) defaults to soxr_resample."""
    y = librosa_load_native(x, sr0, offset, duration).astype(np.float32)
    if sr0 == sr:
        return y
    y_hat = (resample or soxr_resample)(y, sr0, sr, quality)
    return fix_length(y_hat, int(math.ceil(len(y) * (float(sr) / sr0)))).astype(np.float32)


def main():
    y = np.load(sys.argv[1])
    np.save(sys.argv[2], mfcc(y))


if __name__ == "__main__":
    main()
