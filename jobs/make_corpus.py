#!/usr/bin/python3
# make_corpus.py: synthesise a stand-in for the Toronto Emotional Speech Set (TESS).
#
# Same shape as the real corpus: speakers OAF/YAF x 7 emotions x the 200 NU-6 words
# ("Say the word WORD"), 16-bit mono WAV at 24414 Hz, TESS's folder and file names
# (including its uneven capitalisation).  Speech comes from espeak-ng (SSML prosody per
# emotion, female variants en-us+f1 / en-us+f5), effects and resampling from sox, and
# recording noise / gain / 16-bit quantisation from this script.  The emotion -> prosody
# table and the kinds of variation follow /work/shared/corpus.md; on top of it each emotion
# gives the target word a characteristic temporal shape (word rate, zero-mean pitch contour
# and amplitude envelope: table SHAPE), so that a sequence model finds it about as easy as
# the real TESS while a time-averaged (mean-MFCC) classifier does not (results/corpus.md).
# The reference for the output format is the real TESS layout (checked by tests/corpus.cmake
# with soxi).
#
# Determinism: every random choice for a file comes from random.Random keyed by the
# string "seed/speaker/word/emotion" (str seeds are hashed with SHA-512, independent of
# PYTHONHASHSEED), espeak-ng is deterministic, and sox runs with -R (repeatable) and -D
# (no dither) and without random effects; noise is generated here.  So the same seed
# gives byte-identical files whatever --jobs is.  --words N takes the first N words, so
# small corpora are prefixes of the full one.
#
# Python 3 standard library only (run with /usr/bin/python3); needs espeak-ng and sox.
import argparse
import array
import json
import math
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import time
import wave

VERSION = 2
OUT_RATE = 24414          # TESS sample rate
ESPEAK_RATE = 22050       # espeak-ng's native output rate
DEFAULT_JITTER = 0.7      # chosen by measurement, see results/corpus.md
MANIFEST = ".make_corpus.json"

# The NU-6 word list in the order TESS uses (200 words).
WORDS = """
back bar base bath bean beg bite boat bone book bought burn cab calm came cause chain
chair chalk chat check cheek chief choice cool dab date dead death deep dime dip ditch
dodge dog doll door fail fall far fat fit five food gap gas gaze germ get gin goal good
goose gun half hall hash hate have haze hire hit hole home hurl hush jail jar join judge
jug juice keen keep keg kick kill king kite knock late laud lean learn lease lid life
limb live loaf long lore lose lot love luck make match merge mess met mill mob mode mood
moon mop mouse nag name near neat nice note numb pad page pain pass pearl peg perch phone
pick pike pole pool puff rag raid rain raise rat reach read red ring ripe road room rose
rot rough rush said sail search seize sell shack shall shawl sheep shirt should shout
size soap soup sour south sub suit sure take talk tape team tell thin third thought
thumb time tip tire ton tool tough turn vine voice void vote wag walk wash week wheat
when which whip white wife wire witch yearn yes young youth
""".split()

SPEAKERS = ("OAF", "YAF")
EMOTIONS = ("angry", "disgust", "fear", "happy", "neutral", "ps", "sad")
FOLDERS = {
    "OAF": {"angry": "OAF_angry", "disgust": "OAF_disgust", "fear": "OAF_Fear",
            "happy": "OAF_happy", "neutral": "OAF_neutral",
            "ps": "OAF_Pleasant_surprise", "sad": "OAF_Sad"},
    "YAF": {"angry": "YAF_angry", "disgust": "YAF_disgust", "fear": "YAF_fear",
            "happy": "YAF_happy", "neutral": "YAF_neutral",
            "ps": "YAF_pleasant_surprised", "sad": "YAF_sad"},
}

# Speaker voice: espeak-ng variant, pitch and rate offsets (percent), colour effects.
VOICES = {
    "OAF": {"voice": "en-us+f1", "pitch": -10.0, "rate": -8.0,
            "treble": -3.0, "lowpass": 6500.0, "tremor": (5.0, 8.0)},
    "YAF": {"voice": "en-us+f5", "pitch": 6.0, "rate": 6.0,
            "treble": 2.0, "lowpass": None, "tremor": None},
}

# Emotion -> prosody relative to neutral (corpus.md table).  pitch/range/rate/volume in
# percent; pause (ms) before the word; ending punctuation; effects scaled by intensity.
EMO = {
    "neutral": dict(pitch=0, range=0, rate=0, volume=0, pause=60, end=".", emph=False),
    "angry": dict(pitch=12, range=60, rate=18, volume=60, pause=30, end="!", emph=True,
                  overdrive=10.0, treble=4.0),
    "disgust": dict(pitch=-12, range=25, rate=-20, volume=-5, pause=180, end=".", emph=True,
                    treble=-3.0, lowpass=4500.0),
    "fear": dict(pitch=28, range=-20, rate=22, volume=-10, pause=90, end=".", emph=False,
                 vibrato=(7.0, 3.5), tremolo=(8.0, 35.0)),
    "happy": dict(pitch=20, range=80, rate=8, volume=30, pause=50, end="!", emph=True,
                  treble=3.0),
    "ps": dict(pitch=25, range=110, rate=-5, volume=25, pause=140, end="?", emph=True),
    "sad": dict(pitch=-15, range=-60, rate=-24, volume=-45, pause=220, end=".", emph=False,
                treble=-4.0, lowpass=3200.0, reverb=50.0),
}

# Temporal shape of the target word, per emotion (what a sequence model over the MFCC
# frames sees but a time-averaged spectrum hardly does): the word's speaking rate relative
# to the carrier phrase (percent), a pitch contour on the word as sox bend segments
# (gap before the segment, its length, both as fractions of the word; cents), and an
# amplitude envelope over the word (breakpoints: fraction of the word, dB).
SHAPE = {
    "neutral": dict(wrate=100, contour=[(0.2, 0.8, -80)], env=[(0.0, 0.0), (1.0, -3.0)]),
    "angry": dict(wrate=135, contour=[(0.0, 0.15, 150), (0.45, 0.4, -450)],
                  env=[(0.0, 5.0), (0.15, 2.0), (1.0, -6.0)]),
    "disgust": dict(wrate=70, contour=[(0.0, 0.5, -400), (0.0, 0.5, 150)],
                    env=[(0.0, -3.0), (0.5, 1.0), (1.0, -2.0)]),
    "fear": dict(wrate=125, contour=[], env=[(0.0, 0.0), (1.0, 0.0)]),
    "happy": dict(wrate=85, contour=[(0.0, 0.4, 450), (0.0, 0.6, -650)],
                  env=[(0.0, -4.0), (0.4, 3.0), (1.0, -2.0)]),
    "ps": dict(wrate=80, contour=[(0.15, 0.85, 700)], env=[(0.0, -3.0), (1.0, 3.0)]),
    "sad": dict(wrate=70, contour=[(0.0, 1.0, -450)], env=[(0.0, 0.0), (1.0, -9.0)]),
}

def contour_mean(contour):
    """Average pitch offset (cents) over the word of a SHAPE contour (linear ramps)."""
    u, level, acc = 0.0, 0.0, 0.0
    for gap, dur, cents in contour:
        acc += level * gap                      # flat before the ramp
        acc += (level + cents / 2.0) * dur      # the ramp
        u += gap + dur
        level += cents
    return acc + level * max(0.0, 1.0 - u)


def env_mean(env):
    """Average dB of a piecewise-linear SHAPE envelope over the word."""
    return sum((u1 - u0) * (d0 + d1) / 2.0 for (u0, d0), (u1, d1) in zip(env, env[1:]))


MIN_DUR, MAX_DUR = 1.25, 2.98   # target clip length (s), as the real TESS


class CorpusError(Exception):
    pass


def file_name(spk, word, emo):
    return os.path.join(FOLDERS[spk][emo], f"{spk}_{word}_{emo}.wav")


def clip(v, lo, hi):
    return lo if v < lo else hi if v > hi else v


def draw_params(seed, spk, word, emo, jitter):
    """All random choices for one file, from a PRNG keyed by (seed, speaker, word, emotion)."""
    rng = random.Random(f"{seed}/{spk}/{word}/{emo}")
    j = jitter
    e = EMO[emo]
    p = {}
    # intensity: how far this utterance moves from neutral (1 = the table's values)
    p["I"] = clip(rng.gauss(1.0 - 0.15 * j, 0.30 * j), max(0.25, 1.0 - 0.75 * j), 1.0 + 0.4 * j)
    I = p["I"]
    # separate, broader intensity for the static colour effects (treble, low-pass,
    # overdrive): these are what a mean-MFCC classifier keys on, so they vary more than
    # the prosody (pitch, range, rate, pauses, bends, tremolo) that a sequence model reads
    p["I_fx"] = rng.uniform(max(0.0, 1.0 - 1.5 * j), 1.0 + 0.4 * j)
    p["pitch"] = e["pitch"] * I + rng.gauss(0.0, 10.0 * j)
    p["range"] = e["range"] * I + rng.gauss(0.0, 40.0 * j)
    p["rate"] = e["rate"] * I + rng.gauss(0.0, 12.0 * j)
    p["volume"] = e["volume"] * I + rng.gauss(0.0, 30.0 * j)
    p["pause"] = max(0.0, e["pause"] * (0.5 + 0.5 * I) + rng.gauss(0.0, 40.0 * j))
    # recording conditions: noise, level, and a random microphone/room colouring
    # (tilt + two peaking bands) that shifts the average spectrum of the whole file
    p["snr"] = rng.uniform(40.0 - 40.0 * j, 40.0)
    p["noise_colour"] = rng.uniform(-0.9, 0.9) * min(1.0, 1.5 * j)
    p["gain_db"] = rng.uniform(-6.0 * j, 6.0 * j)
    p["tilt_db"] = rng.uniform(-3.0 * j, 3.0 * j)
    p["eq"] = [(math.exp(rng.uniform(math.log(150.0), math.log(6000.0))),
                rng.uniform(0.7, 2.0), rng.uniform(-3.0 * j, 3.0 * j)) for _ in range(2)]
    p["highpass"] = rng.uniform(50.0, 50.0 + 130.0 * j)
    p["lead"] = rng.uniform(0.08, 0.45)
    p["tail"] = rng.uniform(0.08, 0.45)
    p["noise_seed"] = rng.getrandbits(64)
    # strength of the temporal shape (word rate, contour, envelope): deliberately less
    # variable than the static cues
    p["I_t"] = clip(rng.gauss(1.0, 0.25 * j), max(0.3, 1.0 - 0.6 * j), 1.0 + 0.4 * j)
    return p


def ssml(spk, word, emo, p, carrier_only=False):
    v = VOICES[spk]
    e = EMO[emo]
    # speaker offsets combine multiplicatively with the emotion's
    pitch = ((1 + v["pitch"] / 100) * (1 + p["pitch"] / 100) - 1) * 100
    rate = (1 + v["rate"] / 100) * (1 + p["rate"] / 100) * 100
    pitch = clip(pitch, -70.0, 150.0)
    rate = clip(rate, 45.0, 250.0)
    rng_ = clip(p["range"], -90.0, 300.0)
    vol = clip(p["volume"], -80.0, 150.0)
    wrate = 100.0 * (SHAPE[emo]["wrate"] / 100.0) ** p["I_t"]
    w = f'<prosody rate="{wrate:.1f}%">{word}</prosody>'
    if e["emph"]:
        w = f"<emphasis>{w}</emphasis>"
    body = f'Say the word <break time="{p["pause"]:.0f}ms"/>'
    if not carrier_only:
        body += w + e["end"]
    return (f'<speak><prosody pitch="{pitch:+.1f}%" rate="{rate:.1f}%" '
            f'volume="{vol:+.1f}%" range="{rng_:+.1f}%">{body}</prosody></speak>')


def run(cmd, stdin, what):
    try:
        r = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as ex:
        raise CorpusError(f"{what}: cannot run {cmd[0]}: {ex}")
    if r.returncode != 0:
        msg = r.stderr.decode(errors="replace").strip()
        raise CorpusError(f"{what}: {cmd[0]} failed (exit {r.returncode}): {msg}")
    return r.stdout


def espeak(voice, text, what):
    """Run espeak-ng and return its int16 samples (22050 Hz mono)."""
    data = run(["espeak-ng", "-m", "-v", voice, "--stdout", text], None, what)
    # espeak-ng streams a WAV whose size fields are placeholders: find the data chunk
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise CorpusError(f"{what}: espeak-ng did not produce a WAV stream")
    pos = 12
    while pos + 8 <= len(data):
        cid = data[pos:pos + 4]
        size = int.from_bytes(data[pos + 4:pos + 8], "little")
        if cid == b"fmt ":
            rate = int.from_bytes(data[pos + 12:pos + 16], "little")
            if rate != ESPEAK_RATE:
                raise CorpusError(f"{what}: espeak-ng produced {rate} Hz, expected {ESPEAK_RATE}")
        if cid == b"data":
            pcm = data[pos + 8:]
            pcm = pcm[:len(pcm) - len(pcm) % 2]
            a = array.array("h")
            a.frombytes(pcm)
            if sys.byteorder != "little":
                a.byteswap()
            return a
        pos += 8 + size + (size & 1)
    raise CorpusError(f"{what}: no data chunk in espeak-ng output")


def speech_bounds(a):
    """First and one-past-last sample above a silence threshold."""
    peak = max((abs(v) for v in a), default=0)
    thr = max(100, peak // 50)
    n = len(a)
    i0 = 0
    while i0 < n and abs(a[i0]) < thr:
        i0 += 1
    i1 = n
    while i1 > i0 and abs(a[i1 - 1]) < thr:
        i1 -= 1
    return i0, i1


def make_one(task):
    """Synthesise one file.  Returns the output path."""
    out_dir, seed, jitter, spk, word, emo = task
    rel = file_name(spk, word, emo)
    path = os.path.join(out_dir, rel)
    what = rel
    p = draw_params(seed, spk, word, emo, jitter)
    I = p["I"]
    If = p["I_fx"]
    v = VOICES[spk]
    e = EMO[emo]

    full = espeak(v["voice"], ssml(spk, word, emo, p), what)
    i0, i1 = speech_bounds(full)
    if i1 - i0 < ESPEAK_RATE // 4:
        raise CorpusError(f"{what}: espeak-ng produced almost no speech")
    speech = full[i0:i1]
    speech_dur = len(speech) / ESPEAK_RATE

    # where the word starts (for its contour and envelope): end of the carrier phrase + pause
    carrier = espeak(v["voice"], ssml(spk, word, emo, p, carrier_only=True), what)
    c0, c1 = speech_bounds(carrier)
    word_onset = clip((c1 - i0) / ESPEAK_RATE + p["pause"] / 1000.0, 0.1, speech_dur - 0.15)
    word_dur = speech_dur - word_onset
    It = p["I_t"]
    sh = SHAPE[emo]

    # silence at each end, keeping the clip length within TESS's range
    lead, tail = p["lead"], p["tail"]
    total = speech_dur + lead + tail
    if total > MAX_DUR:
        room = max(0.04, MAX_DUR - speech_dur)
        s = room / (lead + tail)
        lead, tail = lead * s, tail * s
    elif total < MIN_DUR:
        tail += MIN_DUR - total

    fx = ["gain", "-12"]                       # headroom for the effects
    if "overdrive" in e:
        fx += ["overdrive", f"{e['overdrive'] * If:.2f}", "20"]
    if sh["contour"]:
        # shift the word first so that the contour's average over the word is 0 cents:
        # the shape, not the average pitch, carries the emotion
        pre = min(0.03, word_onset * 0.5)
        segs = [f"{word_onset - pre:.4f},{-contour_mean(sh['contour']) * It:.1f},{pre:.4f}"]
        for k, (gap, dur, cents) in enumerate(sh["contour"]):
            segs.append(f"{gap * word_dur:.4f},{cents * It:.1f},"
                        f"{max(0.02, dur * word_dur - 0.005):.4f}")
        fx += ["bend"] + segs
    if "vibrato" in e:
        # triangular pitch modulation built from bend segments
        rate_hz, pct = e["vibrato"]
        cents = 1200.0 * math.log2(1.0 + pct * I / 100.0)
        q = 1.0 / rate_hz / 4.0
        segs = [f"0,{cents:.1f},{q:.4f}"]
        t = q
        sign = -1.0
        while t + 2 * q < speech_dur - q - 0.01:
            segs.append(f"0,{sign * 2 * cents:.1f},{2 * q:.4f}")
            sign = -sign
            t += 2 * q
        segs.append(f"0,{sign * cents:.1f},{q:.4f}")
        fx += ["bend"] + segs
    if v["tremor"]:
        fx += ["tremolo", f"{v['tremor'][0]}", f"{v['tremor'][1]}"]
    if "tremolo" in e:
        fx += ["tremolo", f"{e['tremolo'][0]}", f"{e['tremolo'][1] * I:.2f}"]
    treble = v["treble"] + e.get("treble", 0.0) * If + p["tilt_db"]
    fx += ["treble", f"{treble:.2f}"]
    for f0, width, gdb in p["eq"]:
        fx += ["equalizer", f"{f0:.1f}", f"{width:.2f}o", f"{gdb:.2f}"]
    cut = 10500.0
    if "lowpass" in e:
        cut = math.exp(math.log(10500.0) * (1 - If) + math.log(e["lowpass"]) * If)
    if v["lowpass"]:
        cut = min(cut, v["lowpass"])
    cut = clip(cut, 1500.0, 10500.0)
    if cut < 10500.0:
        fx += ["lowpass", f"{cut:.0f}"]
    if "reverb" in e:
        fx += ["reverb", f"{clip(e['reverb'] * I, 0.0, 100.0):.1f}"]
    fx += ["highpass", f"{p['highpass']:.1f}"]
    fx += ["rate", "-h", str(OUT_RATE)]
    fx += ["pad", f"{lead:.4f}", f"{tail:.4f}"]

    raw = speech.tobytes() if sys.byteorder == "little" else _swapped(speech)
    cmd = ["sox", "-R", "-D", "-V1",
           "-t", "raw", "-r", str(ESPEAK_RATE), "-e", "signed-integer", "-b", "16", "-c", "1",
           "-L", "-",
           "-t", "raw", "-e", "floating-point", "-b", "32", "-c", "1", "-L", "-"] + fx
    out = run(cmd, raw, what)
    y = array.array("f")
    y.frombytes(out[:len(out) - len(out) % 4])
    if sys.byteorder != "little":
        y.byteswap()
    n = len(y)
    if n < OUT_RATE // 2:
        raise CorpusError(f"{what}: sox produced only {n} samples")
    nmax = int(MAX_DUR * OUT_RATE)
    if n > nmax:                  # reverb tails: cut, with a 20 ms fade-out
        del y[nmax:]
        n = nmax
        nf = OUT_RATE // 50
        for k in range(nf):
            y[n - nf + k] *= (nf - k) / nf

    # amplitude envelope over the word
    w0 = int((lead + word_onset) * OUT_RATE)
    w1 = min(n, int((lead + speech_dur) * OUT_RATE))
    env = sh["env"]
    emean = env_mean(env)
    env = [(u, d - emean) for u, d in env]
    if w1 > w0 + 1:
        span = w1 - w0
        for k in range(len(env) - 1):
            (u0, d0), (u1, d1) = env[k], env[k + 1]
            s0, s1 = w0 + int(u0 * span), w0 + int(u1 * span)
            g0, g1 = 10 ** (d0 * It / 20.0), 10 ** (d1 * It / 20.0)
            m = max(1, s1 - s0)
            for i in range(s0, s1):
                y[i] *= g0 + (g1 - g0) * (i - s0) / m

    # recording: gain, noise at the drawn SNR (relative to the speech part), 16 bits
    a0 = int(lead * OUT_RATE)
    a1 = max(a0 + 1, n - int(tail * OUT_RATE))
    ms = sum(y[i] * y[i] for i in range(a0, a1)) / (a1 - a0)
    rms = math.sqrt(ms) if ms > 0 else 1e-4
    g = 2.8 * 10 ** (p["gain_db"] / 20.0) * 32767.0   # +9 dB back after the -12 dB headroom
    sigma = rms * 10 ** (-p["snr"] / 20.0)
    nrng = random.Random(p["noise_seed"])
    gauss = nrng.gauss
    pcm = array.array("h", bytes(2 * n))
    # coloured noise: AR(1) with coefficient c (c > 0 darker, c < 0 brighter), unit power
    c = p["noise_colour"]
    sigma *= math.sqrt(1.0 - c * c)
    z = 0.0
    for i in range(n):
        z = c * z + gauss(0.0, 1.0)
        s = int(round((y[i] + sigma * z) * g))
        pcm[i] = 32767 if s > 32767 else -32768 if s < -32768 else s
    if sys.byteorder != "little":
        pcm.byteswap()

    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with wave.open(tmp, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(OUT_RATE)
            w.writeframes(pcm.tobytes())
        os.replace(tmp, path)
    except OSError as ex:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise CorpusError(f"{path}: cannot write: {ex}")
    return path


def _swapped(a):
    b = array.array("h", a)
    b.byteswap()
    return b.tobytes()


def complete(path):
    """True if path is a finished 16-bit mono 24414 Hz WAV (size matches its header)."""
    try:
        with wave.open(path, "rb") as w:
            ok = (w.getnchannels() == 1 and w.getsampwidth() == 2 and
                  w.getframerate() == OUT_RATE and w.getnframes() > 0)
            nbytes = w.getnframes() * 2
        return ok and os.path.getsize(path) >= 44 + nbytes
    except (OSError, EOFError, wave.Error):
        return False


def worker(task):
    try:
        return (make_one(task), None)
    except CorpusError as ex:
        return (None, str(ex))
    except Exception as ex:  # an unexpected bug: report it with the file it hit
        return (None, f"{file_name(*task[3:])}: internal error: {ex!r}")


def check_tools():
    for tool, pkg in (("espeak-ng", "espeak-ng"), ("sox", "sox")):
        if shutil.which(tool) is None:
            raise CorpusError(f"{tool} not found on PATH: install the Debian package '{pkg}' "
                              f"(apt-get install {pkg})")
    # the female variants must exist
    for spk in SPEAKERS:
        espeak(VOICES[spk]["voice"], "<speak>a</speak>", f"voice {VOICES[spk]['voice']}")


def fmt_time(s):
    s = int(s + 0.5)
    return f"{s // 60}m{s % 60:02d}s"


def main(argv=None):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(
        description="Synthesise a TESS-shaped stand-in corpus (2 speakers x 7 emotions x N "
                    "words, 16-bit mono WAV at 24414 Hz) with espeak-ng and sox.")
    ap.add_argument("--out", default=os.path.join(root, "data", "tess-standin"),
                    help="output folder (default: %(default)s)")
    ap.add_argument("--words", type=int, default=len(WORDS),
                    help="use the first N of the 200 words (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=42, help="random seed (default: %(default)s)")
    ap.add_argument("--jitter", type=float, default=DEFAULT_JITTER,
                    help="scale of the per-utterance variation (intensity, prosody jitter, "
                         "noise, level and colour spread): 0 = every utterance of an emotion "
                         "the same apart from the word and the silences; 1 = about "
                         "corpus.md's strong setting (default: %(default)s)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                    help="parallel worker processes (default: %(default)s)")
    ap.add_argument("--force", action="store_true",
                    help="regenerate files that already exist")
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    args = ap.parse_args(argv)

    if not 1 <= args.words <= len(WORDS):
        ap.error(f"--words must be between 1 and {len(WORDS)} (got {args.words})")
    if args.jobs < 1:
        ap.error(f"--jobs must be at least 1 (got {args.jobs})")
    if not 0.0 <= args.jitter <= 2.0 or math.isnan(args.jitter):
        ap.error(f"--jitter must be between 0 and 2 (got {args.jitter})")
    assert len(WORDS) == 200 and len(set(WORDS)) == 200

    try:
        check_tools()
        out = args.out
        os.makedirs(out, exist_ok=True)
        manifest = {"generator": "make_corpus.py", "version": VERSION, "seed": args.seed,
                    "jitter": args.jitter}
        mpath = os.path.join(out, MANIFEST)
        if os.path.exists(mpath) and not args.force:
            try:
                with open(mpath) as f:
                    old = json.load(f)
            except (OSError, ValueError) as ex:
                raise CorpusError(f"{mpath}: unreadable ({ex}); use --force to regenerate")
            if old != manifest:
                raise CorpusError(f"{out} was generated with {old}, not {manifest}: use --force "
                                  f"to regenerate it or choose another --out")
        for spk in SPEAKERS:
            for emo in EMOTIONS:
                os.makedirs(os.path.join(out, FOLDERS[spk][emo]), exist_ok=True)
        with open(mpath + ".tmp", "w") as f:
            json.dump(manifest, f)
        os.replace(mpath + ".tmp", mpath)

        tasks = []
        total = 2 * len(EMOTIONS) * args.words
        for spk in SPEAKERS:
            for emo in EMOTIONS:
                for word in WORDS[:args.words]:
                    path = os.path.join(out, file_name(spk, word, emo))
                    if args.force or not complete(path):
                        tasks.append((out, args.seed, args.jitter, spk, word, emo))
        skipped = total - len(tasks)
        if not args.quiet:
            print(f"make_corpus: {total} files in {out} ({skipped} already there, "
                  f"{len(tasks)} to make, {args.jobs} jobs, seed {args.seed}, "
                  f"jitter {args.jitter})", file=sys.stderr, flush=True)
        t0 = time.time()
        last = t0
        done = 0
        errors = []
        if tasks:
            with multiprocessing.Pool(args.jobs) as pool:
                for path, err in pool.imap_unordered(worker, tasks, chunksize=4):
                    if err:
                        errors.append(err)
                        if len(errors) >= 5:
                            pool.terminate()
                            break
                        continue
                    done += 1
                    now = time.time()
                    if not args.quiet and (now - last >= 3.0 or done == len(tasks)):
                        rate = done / max(now - t0, 1e-9)
                        eta = (len(tasks) - done) / rate if rate > 0 else 0
                        print(f"make_corpus: {skipped + done}/{total} files, {rate:.1f} files/s, "
                              f"ETA {fmt_time(eta)}", file=sys.stderr, flush=True)
                        last = now
        if errors:
            for e in errors:
                print(f"make_corpus: error: {e}", file=sys.stderr)
            return 1
        if not args.quiet:
            print(f"make_corpus: done, {done} files made in {fmt_time(time.time() - t0)}",
                  file=sys.stderr)
        return 0
    except CorpusError as ex:
        print(f"make_corpus: error: {ex}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("make_corpus: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
