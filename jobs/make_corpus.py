#!/usr/bin/python3
# make_corpus.py: synthesise stand-ins for the emotional speech corpora ser reads: TESS (the
# default), RAVDESS, CREMA-D, SAVEE and EmoDB (--corpus).  Each stand-in has the real corpus's
# exact shape -- folder layout, file names, speakers, emotions, sentences, counts, sample rate,
# and the defects and extra files of a real download that a reader must skip -- so that ser runs
# unchanged on the real trees.  docs/corpus.md describes all of it; section numbers below refer
# to it.
#
# Speech comes from espeak-ng (SSML prosody per emotion), effects and resampling from sox, and
# recording noise / gain / 16-bit quantisation from this script.  One pipeline serves every
# corpus (make_one): an utterance is a carrier ("Say the word", or a sentence without its last
# word), a pause and a target word that carries the emotion's temporal shape (table SHAPE).
# What differs between corpora is data: the per-corpus tables below (speakers, texts, emotion
# codes, file lists, rate, durations) and the speaker voices (§3.1: TESS's two hand-made voices;
# for the other corpora one distinct voice per speaker -- espeak-ng variant and accent, pitch,
# formant shift and EQ, microphone, room, noise floor, speaking style -- made by speaker_voice()).
#
# Determinism: every random choice for a file comes from random.Random keyed by a string
# ("seed/speaker/word/emotion" for TESS, "seed/corpus/file" for the others; str seeds are
# hashed with SHA-512, independent of PYTHONHASHSEED); voices are keyed by corpus and speaker;
# espeak-ng is deterministic, and sox runs with -R (repeatable) and -D (no dither) and without
# random effects; noise is generated here.  So the same seed gives byte-identical files
# whatever --jobs is, and the size options (--words, --sentences, --speakers) select subsets of
# the full corpus's files.  TESS's output is byte-identical to generator version 2.
#
# Python 3 standard library only (run with /usr/bin/python3); needs espeak-ng and sox.
import argparse
import array
import hashlib
import json
import math
import multiprocessing
import operator
import os
import random
import shutil
import subprocess
import sys
import time
import wave

VERSION = 2               # TESS generator version (recorded in TESS's manifest, unchanged)
STANDIN_VERSION = 1       # version of the RAVDESS / CREMA-D / SAVEE / EmoDB generators
OUT_RATE = 24414          # TESS sample rate
ESPEAK_RATE = 22050       # espeak-ng's native output rate
DEFAULT_JITTER = 0.7      # chosen by measurement, see results/corpus.md
MANIFEST = ".make_corpus.json"

# ---------------------------------------------------------------------------------------------
# TESS (docs/corpus.md §2)

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

# ---------------------------------------------------------------------------------------------
# Emotions, shared by every corpus (§3.2, §3.3)

# Emotion -> prosody relative to neutral (docs/corpus.md §3).  pitch/range/rate/volume in
# percent; pause (ms) before the word; ending punctuation; effects scaled by intensity.
# calm and boredom (RAVDESS, EmoDB) are not TESS emotions and do not change TESS.
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
    # between neutral and sad: slower, softer, a narrower range, slightly darker
    "calm": dict(pitch=-6, range=-35, rate=-12, volume=-25, pause=130, end=".", emph=False,
                 treble=-1.5, lowpass=6000.0),
    # low pitch, flat, slow and low in energy
    "boredom": dict(pitch=-18, range=-75, rate=-20, volume=-35, pause=170, end=".",
                    emph=False, treble=-2.5, lowpass=5000.0),
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
    "calm": dict(wrate=90, contour=[(0.1, 0.9, -200)], env=[(0.0, 0.0), (1.0, -4.0)]),
    "boredom": dict(wrate=75, contour=[(0.3, 0.7, -100)], env=[(0.0, -1.0), (1.0, -5.0)]),
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

# ---------------------------------------------------------------------------------------------
# RAVDESS speech (§2.2): Audio_Speech_Actors_01-24/Actor_NN/03-01-EE-II-SS-RR-AA.wav

RAVDESS_EMOTIONS = (("01", "neutral"), ("02", "calm"), ("03", "happy"), ("04", "sad"),
                    ("05", "angry"), ("06", "fear"), ("07", "disgust"), ("08", "ps"))
RAVDESS_STATEMENTS = (("01", "Kids are talking by the door"),
                      ("02", "Dogs are sitting by the door"))
RAVDESS_INTENSITY = (("01", 0.8), ("02", 1.3))         # normal, strong: scales the emotion
# --quirks: the song files (EE-II-SS-RR) added per actor (none for Actor_18, who has no songs)
RAVDESS_QUIRK_SONGS = ("03-01-01-01", "05-02-02-02")

# ---------------------------------------------------------------------------------------------
# CREMA-D (§2.3): AudioWAV/AAAA_SSS_EEE_LL.wav

CREMAD_SENTENCES = (
    ("IEO", "It's eleven o'clock"), ("TIE", "That is exactly what happened"),
    ("IOM", "I'm on my way to the meeting"), ("IWW", "I wonder what this is about"),
    ("TAI", "The airplane is almost full"), ("MTI", "Maybe tomorrow it will be cold"),
    ("IWL", "I would like a new alarm clock"),
    ("ITH", "I think I have a doctor's appointment"), ("DFA", "Don't forget a jacket"),
    ("ITS", "I think I've seen this before"), ("TSI", "The surface is slick"),
    ("WSI", "We'll stop in a couple of minutes"))
CREMAD_EMOTIONS = (("NEU", "neutral"), ("HAP", "happy"), ("SAD", "sad"), ("ANG", "angry"),
                   ("FEA", "fear"), ("DIS", "disgust"))
CREMAD_LEVELS = (("LO", 0.55), ("MD", 0.9), ("HI", 1.3))   # IEO only; XX elsewhere (1.0)
# Sex and age of actors 1001..1091, from the corpus's VideoDemographics.csv (48 male, 43 female).
CREMAD_SEX = ("MFFFMFFFFF" "MFFMMMMFMF" "FMMFFMMFFF" "MMMMMMFMMM" "MMFMMFFMFM"
              "MFFFFFMFMF" "FMFMMMMMMM" "MFFFFFMFFM" "MFMFMMMMFM" "F")
CREMAD_AGE = (51, 21, 21, 42, 29, 58, 38, 46, 24, 27, 32, 23, 22, 24, 32, 61, 42, 25, 29, 61,
              30, 22, 22, 59, 48, 33, 44, 57, 33, 42, 31, 30, 31, 74, 48, 49, 45, 21, 51, 42,
              42, 37, 25, 40, 22, 22, 22, 38, 25, 62, 56, 33, 35, 36, 57, 52, 25, 36, 21, 28,
              51, 56, 33, 53, 38, 25, 66, 34, 27, 25, 41, 33, 24, 31, 40, 25, 20, 21, 21, 21,
              30, 20, 45, 46, 34, 33, 62, 23, 24, 50, 29)
# The 20 of the 91 x 82 = 7,462 possible clips that the real corpus lacks (7,442 files):
# the gaps in the corpus's SentenceFilenames.csv, the list of the 7,442 rated clips.
CREMAD_MISSING = frozenset(
    ["1002_TIE_NEU_XX", "1076_ITS_NEU_XX"] +
    [f"1008_WSI_{e}_XX" for e, _ in CREMAD_EMOTIONS] +
    [f"1009_MTI_{e}_XX" for e, _ in CREMAD_EMOTIONS] +
    [f"1019_ITH_{e}_XX" for e, _ in CREMAD_EMOTIONS])
# Known defects of the real files, always reproduced: one cannot be decoded, one is silent.
CREMAD_DEFECTS = {"1076_MTI_NEU_XX": "broken", "1076_MTI_SAD_XX": "silent"}
# --quirks: these clips are git-lfs pointers, as in a partial git-lfs checkout
CREMAD_QUIRK_LFS = frozenset(f"{a}_IEO_DIS_HI" for a in range(1002, 1092, 10))

# ---------------------------------------------------------------------------------------------
# SAVEE (§2.4): AudioData/DC/a01.wav (--layout flat: ALL/DC_a01.wav)

SAVEE_SPEAKERS = ("DC", "JE", "JK", "KL")         # four male speakers
SAVEE_AGE = (30, 27, 28, 31)
SAVEE_EMOTIONS = (("a", "angry"), ("d", "disgust"), ("f", "fear"), ("h", "happy"),
                  ("n", "neutral"), ("sa", "sad"), ("su", "ps"))
# TIMIT-style sentences (the real per-file prompts are not public in a form we could find):
# per emotion 3 common + 2 emotion-specific + 10 generic sentences (§2.4 gives the mapping).
SAVEE_COMMON = ("She had your dark suit in greasy wash water all year",
                "Don't ask me to carry an oily rag like that",
                "Will you please confirm government policy regarding waste removal")
SAVEE_SPECIFIC = {
    "a": ("Who authorized the unlimited expense account",
          "Destroy every file related to my audits"),
    "d": ("The rotten fish smelled awful in the heat",
          "Clean up the mess the dog left on the carpet"),
    "f": ("Somebody is standing outside the window",
          "The ice on the lake cracked under our feet"),
    "h": ("We won the lottery and we are going on a cruise",
          "Your grandmother is coming home next week"),
    "n": ("The meeting starts at nine in the morning",
          "Please put the books back on the shelf"),
    "sa": ("My old dog died last night", "Nobody came to the party after all"),
    "su": ("I can't believe you bought a new car", "The package arrived a week early"),
}
SAVEE_GENERIC = """
The fish began to leap frantically on the surface of the small lake
Critical equipment needs proper maintenance
Would you allow acid rain to fall on the trees
His captain was thin and haggard
The emperor had a mean temper
Alice's ability to work without supervision is noteworthy
Those musicians harmonize marvelously
A few years later the dome fell in
Cement is measured in cubic yards
Drop five forms in the box before you go out
Her wardrobe consists of only skirts and blouses
Tugboats are capable of hauling huge loads
Who took the kayak down the bayou
The bungalow was pleasantly situated near the shore
Bob papered over the living room murals
Academic aptitude guarantees your diploma
Are your grades higher or lower than Nancy's
Barb's gold bracelet was a graduation present
Call an ambulance for medical assistance
Withdraw all phony accusations at once
Remove the splinter with a pair of tweezers
The misprint provoked an immediate disclaimer
Michael colored the bedroom wall with crayons
Straw hats are out of fashion this year
Don't do Charlie's dirty dishes
Only lawyers love millionaires
Even a simple vocabulary contains symbols
Objects made of pewter are beautiful
Before Thursday's exam review every formula
The sound of Jennifer's bugle scared the antelope
Basketball can be an entertaining sport
The viewpoint overlooked the ocean
Publicity and notoriety go hand in hand
Clear pronunciation is appreciated
Shipbuilding is a most fascinating process
Primitive tribes have an upbeat attitude
Jeff's toy go cart never worked
Masquerade parties tax one's imagination
Spherical gifts are difficult to wrap
The oasis was a mirage
Kindergarten children decorate their classrooms for all holidays
Pizzerias are convenient for a quick lunch
Young children should avoid exposure to contagious diseases
The gorgeous butterfly ate a lot of nectar
Rich purchased several signed lithographs
Most young rabbits rise early every morning
Project development was proceeding too slowly
Agricultural products are unevenly distributed
The proof that you are seeking is not available in books
Steve wore a bright red cashmere sweater
Biologists use radioactive isotopes to study microorganisms
The patient and the surgeon are both recuperating
We experience distress and frustration obtaining our degrees
Coconut cream pie makes a nice dessert
Right now may not be the best time for business mergers
Laugh dance and sing if fortune smiles upon you
The museum hires musicians every evening
A large household needs lots of appliances
Gregory and Tom chose to watch cartoons in the afternoon
Nothing is as offensive as innocence
The eastern coast is a place for pure pleasure and excitement
Beg that guard for one gallon of gas
Iguanas and alligators are tropical reptiles
Grandmother outgrew her upbringing in petticoats
Help Greg to pick a peck of potatoes
The tooth fairy forgot to come when Roger's tooth fell out
Why buy oil when you always use mine
Bright sunshine shimmers on the ocean
Cut a small corner off each edge
Swing your arm as high as you can
""".strip().split("\n")

# ---------------------------------------------------------------------------------------------
# EmoDB (§2.5): wav/SSTTTEV.wav, the real corpus's 535 files

EMODB_SPEAKERS = (("03", "m", 31), ("08", "f", 34), ("09", "f", 21), ("10", "m", 32),
                  ("11", "m", 26), ("12", "m", 30), ("13", "f", 32), ("14", "f", 35),
                  ("15", "m", 25), ("16", "f", 31))
EMODB_TEXTS = (
    ("a01", "Der Lappen liegt auf dem Eisschrank."),
    ("a02", "Das will sie am Mittwoch abgeben."),
    ("a04", "Heute abend könnte ich es ihm sagen."),
    ("a05", "Das schwarze Stück Papier befindet sich da oben neben dem Holzstück."),
    ("a07", "In sieben Stunden wird es soweit sein."),
    ("b01", "Was sind denn das für Tüten, die da unter dem Tisch stehen?"),
    ("b02", "Sie haben es gerade hochgetragen und jetzt gehen sie wieder runter."),
    ("b03", "An den Wochenenden bin ich jetzt immer nach Hause gefahren und habe Agnes besucht."),
    ("b09", "Ich will das eben wegbringen und dann mit Karl was trinken gehen."),
    ("b10", "Die wird auf dem Platz sein, wo wir sie immer hinlegen."))
EMODB_EMOTIONS = (("W", "angry"), ("L", "boredom"), ("E", "disgust"), ("A", "fear"),
                  ("F", "happy"), ("T", "sad"), ("N", "neutral"))
# Every file of the real corpus, per speaker and text: emotion letter + version letter.
EMODB_FILES = {
    "03": "a01:Fa,Nc,Wa a02:Fc,Nc,Ta,Wb,Wc a04:Ad,Fd,Lc,Nc,Ta,Wc a05:Aa,Fc,Nd,Tc,Wa,Wb "
          "a07:Fa,Fb,La,Nc,Wc b01:Fa,Lb,Nb,Td,Wa,Wc b02:Aa,La,Na,Tb,Wb b03:Nb,Tc,Wc "
          "b09:La,Nc,Tc,Wa b10:Ab,Ec,Na,Nc,Wb,Wc",
    "08": "a01:Ab,Fd,Lc,Na,Wa,Wc a02:Ab,Ac,Fe,La,Na,Tb,Wc a04:Ff,La,Nc,Tb,Wc "
          "a05:Fe,Lc,Nb,Ta,Wa a07:Fd,La,Na,Ta,Tb,Wc b01:Aa,Fd,Fe,Lb,Na,Wa "
          "b02:Ff,La,Nb,Tc,Wd b03:Fe,Lc,Nb,Tc,Wd b09:Ab,Fd,Lc,Nb,Tb,Wa,Wc "
          "b10:Aa,Fd,La,Nc,Tc,Wa",
    "09": "a01:Ea,Fa,Nb,Wb a02:Ea,Eb,La,Wb a04:Fd,La,Nb,Wa a05:Ed,Lc,Nb,Tb,Wb,Wc "
          "a07:Eb,Na,Ta,Wb,Wd b01:Ea,Na,Wb b02:Na,Tb,Wc,Wd b03:Ed,Fa,Fd,Lb,Nb,Ta,Wb "
          "b09:Ea,Nd,Wa b10:Aa,Nd,Wa",
    "10": "a01:Ac,Nb,Wa a02:Ab,Fa,Lb,Na,Wa a04:Fd,Nb,Wa,Wb a05:Aa,Ld,Tb,Wb "
          "a07:Aa,Ad,La,Ta,Wb b01:Aa,Ea,Fa,Lb b02:Aa,La,Na,Wb b03:La,Tb,Wb b09:Ad,Lb,Wb "
          "b10:Fc,Lc,Wa",
    "11": "a01:Aa,Ab,Ld,Nd,Wc a02:Ec,Fb,Ld,Nc,Tc,Wc a04:Ac,Fd,Nd,Wc "
          "a05:Ad,Fb,Fc,Lc,Na,Td,Wd a07:Ac,Ld,Ta,Wc b01:Ab,Eb,Fc,Lb,Nc,Wd "
          "b02:Ab,Fd,Na,Td,Wb b03:Fc,Lc,Nb,Td,Wa,Wb b09:Ad,Fd,Ld,Na,Td,Wa "
          "b10:Ad,Ae,Ld,Nc,Td,Wa",
    "12": "a01:Fb,Lb,Nb,Wc a02:Ac,Ec,Nb,Wa,Wc a04:Wc a05:Ab,Lb,Nd,Ta,Wb a07:Ac,La,Wa "
          "b01:Ta,Wa b02:Ad,Ea,Fb,Na,Wa,Wb,Wd b03:La,Ta b09:Ac,Td,Wc b10:Ac,Ld,Wa",
    "13": "a01:Ac,Ea,Ec,Fd,Lb,Nb,Wb a02:Ad,Ec,Fa,Lc,Nc,Ta,Wa a04:Ac,Fc,Lb,Ta,Wc "
          "a05:Aa,Ea,Lc,Nb,Tc,Wa,Wc a07:Fd,Lb,Na,Tc,Wb b01:Ab,Ec,Fc,Ld,Nc,Wa "
          "b02:Fb,Lc,Nb,Wa b03:Ac,Ed,Fd,Lb,Na,Td,Wc b09:Ab,Ec,Fb,Fc,La,Na,Wa "
          "b10:Ec,Fa,La,Nc,Wa,Wc",
    "14": "a01:Aa,Ac,Ea,Na,Wa,Wc a02:Ab,Ea,Fd,La,Nc,Tb,Wa,Wc a04:Aa,Ed,Lb,Tb,Tc,Wb,Wc "
          "a05:Aa,Ac,Fa,Fb,Lb,Na,Ta,Tc,Wa,Wb a07:Aa,Eb,Fd,Lc,Ld,Na,Tc,Wc "
          "b01:Ac,Eb,Fa,Fc,Na,Wc b02:Aa,Fb,Na,Tc,Wb,Wd b03:Ad,Ed,Lb,Ta,Wb "
          "b09:Ac,Ea,Fc,Lb,Td,Wa,Wc b10:Ad,Eb,Lb,Nb,Tc,Wc",
    "15": "a01:Ea,Fb,La,Nb,Wa a02:Ac,Ea,La,Na,Ta,Wb,Wd a04:Ab,Ac,Fd,Nc,Wa,Wb "
          "a05:Eb,Fb,Lb,Na,Wa a07:Ac,Eb,Fa,Fb,Ld,Nc b01:Ec,Lb,Na,Wc b02:Aa,Lb,Nd,Tc,Wa,Wc "
          "b03:Aa,Lc,Nb,Tc,Wa,Wb b09:Ac,Fa,La,Nb,Ta,Wb b10:Ac,Lc,Nb,Nc,Wa",
    "16": "a01:Ec,Fc,Lb,Nc,Tb,Wb a02:Ea,Ec,Lb,Nb,Tc,Wb a04:Ab,Ea,Fa,La,Lc,Nc,Tc,Wb,Wc "
          "a05:Ab,Ea,Fc,La,Tb,Wb,Wc a07:Ea,Fa,Fb,La,Lb,Nb,Td,Wa b01:Aa,Eb,Fa,La,Lc,Tb,Wa,Wb "
          "b02:Aa,Eb,Fd,Lb,Wb b03:Ad,Ea,Fa,Fd,La,Nb,Ta,Wb b09:Ab,Eb,Fb,La,Lb,Wb "
          "b10:Aa,Eb,Fb,Lb,Tb,Td,Wa,Wb",
}

# ---------------------------------------------------------------------------------------------
# Voices of the non-TESS speakers (§3.1): espeak-ng variants with natural-sounding output
# (robotic, whispering and duplicate variants left out), by gender, and English accents.
MALE_VARIANTS = """m1 m2 m3 m4 m5 m6 m7 m8 Alex Andy Denis Diogo Gene Gene2 Henrique Hugo
Jacky Lee Marco Mario Michael Mike Nguyen Storm antonio ed grandpa gustave iven iven2 iven3
iven4 john kaukovalta marcelo michel miguel norbert pablo paul pedro quincy rob robert sandro
travis victor klatt klatt2 klatt3 klatt4 klatt5 adam benjamin david edward edward2 boris
max""".split()
FEMALE_VARIANTS = """f1 f2 f3 f4 f5 Alicia Andrea Annie anika aunty belinda grandma linda
shelby steph steph2 steph3""".split()
ACCENTS_US = ("en-us", "en-us-nyc")
ACCENTS_ALL = ("en-us", "en-us-nyc", "en-029", "en-gb", "en-gb-x-rp", "en-gb-scotland",
               "en-gb-x-gbclan", "en-gb-x-gbcwmd")
ACCENTS_GB = ("en-gb", "en-gb-x-rp", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd")


class CorpusError(Exception):
    pass


class Item:
    """One file of a corpus: relative path, speaker, internal emotion, text split into
    carrier + target word, ending punctuation (None: the emotion's), intensity factor, the
    key of its random draws (after "SEED/") and its kind: speech, or a special file."""
    __slots__ = ("rel", "spk", "emo", "carrier", "target", "end", "level", "key", "kind")

    def __init__(self, rel, spk, emo, text, key, level=1.0, kind="speech", carrier=None):
        self.rel, self.spk, self.emo, self.key = rel, spk, emo, key
        self.level, self.kind, self.end = level, kind, None
        if carrier is not None:                  # TESS: "Say the word" + word
            self.carrier, self.target = carrier, text
            return
        if text.endswith("?"):
            self.end = "?"
        words = text.rstrip(".?!").split()
        self.carrier, self.target = " ".join(words[:-1]), words[-1]


def tess_items(speakers, n):
    return [Item(os.path.join(FOLDERS[spk][emo], f"{spk}_{word}_{emo}.wav"), spk, emo, word,
                 f"{spk}/{word}/{emo}", carrier="Say the word")
            for spk in speakers for emo in EMOTIONS for word in WORDS[:n]]


def ravdess_items(speakers, n, quirks, layout):
    items = []
    for a in speakers:
        for ecode, emo in RAVDESS_EMOTIONS:
            for icode, level in RAVDESS_INTENSITY:
                if ecode == "01" and icode == "02":        # neutral has no strong intensity
                    continue
                for scode, text in RAVDESS_STATEMENTS[:n]:
                    for rep in ("01", "02"):
                        name = f"03-01-{ecode}-{icode}-{scode}-{rep}-{a}.wav"
                        items.append(Item(f"Audio_Speech_Actors_01-24/Actor_{a}/{name}", a, emo,
                                          text, f"ravdess/{name}", level))
    if quirks:
        # a few files of the other RAVDESS archives (song, video), and the first of each mixed
        # into Actor_01's speech folder, as when all archives are unpacked into one tree (§2.2)
        emo, level = dict(RAVDESS_EMOTIONS), dict(RAVDESS_INTENSITY)
        for a in speakers:
            mixed = ["Audio_Speech_Actors_01-24"] if a == "01" else []
            for k, code in enumerate(RAVDESS_QUIRK_SONGS if a != "18" else ()):
                e, i, st, _ = code.split("-")
                name = f"03-02-{code}-{a}.wav"
                for top in ["Audio_Song_Actors_01-24"] + (mixed if k == 0 else []):
                    items.append(Item(f"{top}/Actor_{a}/{name}", a, emo[e],
                                      RAVDESS_STATEMENTS[int(st) - 1][1], f"ravdess/{name}",
                                      level[i]))
            for m in ("01", "02"):      # full audio-video, video-only
                name = f"{m}-01-03-01-01-01-{a}.mp4"
                for top in [f"Video_Speech_Actor_{a}"] + (mixed if m == "01" else []):
                    items.append(Item(f"{top}/Actor_{a}/{name}", a, "happy", "",
                                      f"ravdess/{name}", kind="mp4", carrier=""))
    return items


def cremad_items(speakers, n, quirks, layout, lfs=False):
    items = []
    for a in speakers:
        for scode, text in CREMAD_SENTENCES[:n]:
            for ecode, emo in CREMAD_EMOTIONS:
                levels = [("XX", 1.0)] if scode != "IEO" or ecode == "NEU" else CREMAD_LEVELS
                for lcode, level in levels:
                    stem = f"{a}_{scode}_{ecode}_{lcode}"
                    if stem in CREMAD_MISSING:
                        continue
                    kind = CREMAD_DEFECTS.get(stem, "speech")
                    if lfs or (quirks and stem in CREMAD_QUIRK_LFS):
                        kind = "lfs"
                    items.append(Item(f"AudioWAV/{stem}.wav", a, emo, text, f"cremad/{stem}",
                                      level, kind))
    return items


def savee_texts():
    """SAVEE file code (e.g. 'sa03', 'n21') -> sentence."""
    texts = {}
    for k, (code, _) in enumerate(SAVEE_EMOTIONS):
        own = list(SAVEE_COMMON) + list(SAVEE_SPECIFIC[code]) + SAVEE_GENERIC[10 * k:10 * k + 10]
        if code == "n":   # + the other emotions' specific sentences and the common ones again
            own += [s for c, _ in SAVEE_EMOTIONS if c != "n" for s in SAVEE_SPECIFIC[c]]
            own += list(SAVEE_COMMON)
        for i, s in enumerate(own, 1):
            texts[f"{code}{i:02d}"] = s
    return texts


def savee_items(speakers, n, quirks, layout):
    texts = savee_texts()
    items = []
    for spk in speakers:
        for code, emo in SAVEE_EMOTIONS:
            for i in range(1, (2 * n if code == "n" else n) + 1):
                fc = f"{code}{i:02d}"
                rel = f"ALL/{spk}_{fc}.wav" if layout == "flat" else f"AudioData/{spk}/{fc}.wav"
                items.append(Item(rel, spk, emo, texts[fc], f"savee/{spk}_{fc}"))
    return items


def emodb_items(speakers, n, quirks, layout):
    texts = dict(EMODB_TEXTS)
    emo = dict(EMODB_EMOTIONS)
    wanted = [t for t, _ in EMODB_TEXTS[:n]]
    items = []
    for spk in speakers:
        for group in EMODB_FILES[spk].split():
            t, takes = group.split(":")
            if t not in wanted:
                continue
            for ev in takes.split(","):
                stem = f"{spk}{t}{ev}"
                items.append(Item(f"wav/{stem}.wav", spk, emo[ev[0]], texts[t], f"emodb/{stem}"))
    return items


# Per-corpus values (§2, §3): speakers (id, sex, age), sample rate, clip length range (s),
# silence before / after the speech (s), accents of the voices, noise floor (SNR range, dB),
# the reference text the voices' levels are calibrated on, the corpus's expressiveness (scales
# every emotion's intensity) and style scale (scales how differently the speakers play an
# emotion), a tempo offset (%), how many sentences --sentences can take, the file lister, and
# the default --out under data/.  Set by measurement: results/corpus.md.
CORPORA = {
    "tess": dict(speakers=[(s, "f", 0) for s in SPEAKERS], rate=OUT_RATE, sizes=len(WORDS),
                 out="tess-standin"),
    "ravdess": dict(speakers=[(f"{a:02d}", "m" if a % 2 else "f", 26) for a in range(1, 25)],
                    rate=48000, dur=(2.9, 5.3), lead=(0.6, 1.2), tail=(0.4, 1.0),
                    accents=ACCENTS_US, snr=(28.0, 45.0), ref_text=RAVDESS_STATEMENTS[0][1],
                    expressive=1.2, style=0.7, tempo=-15.0, sizes=2, items=ravdess_items,
                    quirks=True, out="ravdess-standin"),
    "cremad": dict(speakers=[(str(1001 + i), CREMAD_SEX[i].lower(), CREMAD_AGE[i])
                             for i in range(91)],
                   rate=16000, dur=(1.27, 5.0), lead=(0.1, 0.5), tail=(0.1, 0.5),
                   accents=ACCENTS_ALL, snr=(15.0, 35.0), ref_text=CREMAD_SENTENCES[1][1],
                   expressive=1.0, style=1.0, sizes=12, items=cremad_items, quirks=True,
                   out="cremad-standin"),
    "savee": dict(speakers=[(s, "m", a) for s, a in zip(SAVEE_SPEAKERS, SAVEE_AGE)],
                  rate=44100, dur=(1.6, 7.2), lead=(0.3, 0.8), tail=(0.3, 0.9),
                  accents=ACCENTS_GB, snr=(25.0, 40.0), ref_text=SAVEE_COMMON[0],
                  expressive=1.5, style=0.5, sizes=15, items=savee_items, out="savee-standin"),
    "emodb": dict(speakers=list(EMODB_SPEAKERS), rate=16000, dur=(1.2, 9.0),
                  lead=(0.03, 0.2), tail=(0.03, 0.25), accents=("de",), snr=(30.0, 45.0),
                  ref_text=EMODB_TEXTS[0][1], expressive=2.0, style=0.4, sizes=10,
                  items=emodb_items, out="emodb-standin"),
}
assert len(CREMAD_SEX) == 91 and CREMAD_SEX.count("M") == 48 and len(CREMAD_AGE) == 91
assert len(SAVEE_GENERIC) == 70 and len(set(SAVEE_GENERIC)) == 70


def corpus_items(corpus, speakers, n, quirks=False, layout="nested", lfs=False):
    if corpus == "tess":
        return tess_items(speakers, n)
    if corpus == "cremad":
        return cremad_items(speakers, n, quirks, layout, lfs)
    return CORPORA[corpus]["items"](speakers, n, quirks, layout)


# ---------------------------------------------------------------------------------------------
# Speaker voices (§3.1)

_VOICE_CACHE = {}
REF_RMS = 2500.0          # espeak-ng output level every non-TESS voice is calibrated to
REC_LEVEL = 0.8           # recorded speech RMS / calibrated espeak-ng RMS (about TESS's level)


def speaker_voice(corpus, spk):
    """The voice of one speaker: TESS's table, or a distinct profile made from a PRNG keyed by
    corpus and speaker (not by --seed: a corpus's actors stay the same people).  The espeak-ng
    variant and accent are dealt from a corpus-wide shuffle, so no two speakers of a corpus
    share both; everything else is drawn per speaker."""
    if corpus == "tess":
        return VOICES[spk]
    ck = (corpus, spk)
    if ck in _VOICE_CACHE:
        return _VOICE_CACHE[ck]
    C = CORPORA[corpus]
    sex = {s: (g, age) for s, g, age in C["speakers"]}
    g, age = sex[spk]
    same = [s for s, gg, _ in C["speakers"] if gg == g]
    i = same.index(spk)
    pool = list(MALE_VARIANTS if g == "m" else FEMALE_VARIANTS)
    random.Random(f"variants/{corpus}/{g}").shuffle(pool)
    acc = C["accents"]
    variant = pool[i % len(pool)]
    accent = acc[(i + i // len(pool)) % len(acc)]
    r = random.Random(f"voice/{corpus}/{spk}")
    old = age >= 55
    v = {
        "voice": f"{accent}+{variant}",
        "pitch": r.gauss(0.0, 9.0) - (8.0 if old and g == "f" else 4.0 if old else 0.0),
        "rate": r.gauss(0.0, 7.0) - (6.0 if old else 0.0) + C.get("tempo", 0.0),
        "range": r.gauss(0.0, 18.0),
        # vocal-tract size: sox pitch shift (moves formants and F0); F0 is moved back in SSML
        "shift": r.uniform(-120.0, 120.0),
        "formants": [(math.exp(r.uniform(math.log(250.0), math.log(3500.0))),
                      r.uniform(0.5, 1.5), r.uniform(-7.0, 7.0)) for _ in range(2)],
        # recording chain: microphone tilt, band limit and high-pass, room, noise floor, hum
        "treble": r.uniform(-4.0, 3.0),
        "lowpass": r.uniform(4500.0, 9000.0) if r.random() < 0.4 else None,
        "mic_hp": r.uniform(60.0, 180.0),
        "room": r.uniform(5.0, 30.0) if r.random() < 0.6 else None,
        "snr": r.uniform(*C["snr"]),
        "noise_colour": r.uniform(-0.8, 0.8),
        "hum": ((50.0 if r.random() < 0.5 else 60.0), r.uniform(-48.0, -38.0))
        if r.random() < 0.25 else None,
        "level_db": r.uniform(-4.0, 2.0),
        "tremor": (r.uniform(4.0, 6.0), r.uniform(5.0, 10.0)) if age >= 60 else None,
        # speaking style: how strongly, and in which direction, this actor plays each emotion
        "expr": 1.0 + r.uniform(-0.3, 0.3) * C.get("style", 1.0),
        "style": {e: (r.gauss(0.0, 7.0), r.gauss(0.0, 25.0), r.gauss(0.0, 7.0), r.gauss(0.0, 15.0))
                  for e in sorted(EMO)},
    }
    # level calibration: espeak-ng's variants differ by up to 18 dB in output level; bring
    # each voice's neutral speech to the same RMS before the chain (level_db then spreads it)
    ref = espeak(v["voice"], f"<speak>{C['ref_text']}</speak>", f"voice {v['voice']}")
    i0, i1 = speech_bounds(ref)
    ms = math.fsum(x * x for x in ref[i0:i1]) / max(1, i1 - i0)
    v["cal_db"] = 20.0 * math.log10(REF_RMS / math.sqrt(ms)) if ms > 0 else 0.0
    _VOICE_CACHE[ck] = v
    return v


def voice_line(corpus, spk):
    """One row of the voice table that --voices prints (docs/corpus.md §3.1)."""
    v = speaker_voice(corpus, spk)
    if corpus == "tess":
        return f"{spk}\t{v['voice']}\tpitch {v['pitch']:+.0f}%\trate {v['rate']:+.0f}%"
    g = {s: (gg, a) for s, gg, a in CORPORA[corpus]["speakers"]}[spk]
    f = ", ".join(f"{f0:.0f} Hz {gd:+.1f} dB" for f0, _, gd in v["formants"])
    return (f"{spk}\t{g[0]}\t{v['voice']}\tpitch {v['pitch']:+.0f}%\trange {v['range']:+.0f}\t"
            f"rate {v['rate']:+.0f}%\tshift {v['shift']:+.0f} c\tEQ {f}\t"
            f"tilt {v['treble']:+.1f} dB\tLP {v['lowpass'] or 0:.0f}\tHP {v['mic_hp']:.0f}\t"
            f"room {v['room'] or 0:.0f}\tSNR {v['snr']:.0f} dB\t"
            f"hum {'%.0f Hz %.0f dB' % v['hum'] if v['hum'] else '-'}\t"
            f"tremor {'yes' if v['tremor'] else 'no'}\texpr {v['expr']:.2f}")


# ---------------------------------------------------------------------------------------------
# Synthesis (§3.4)

def clip(v, lo, hi):
    return lo if v < lo else hi if v > hi else v


def draw_params(key, emo, jitter, scale=1.0, extra=False):
    """All random choices for one file, from a PRNG keyed by "SEED/..." (§4).  scale
    multiplies the two intensities (intensity level of the file x the speaker's
    expressiveness; 1 for TESS); extra adds the draws TESS does not have, after TESS's."""
    rng = random.Random(key)
    j = jitter
    e = EMO[emo]
    p = {}
    # intensity: how far this utterance moves from neutral (1 = the table's values)
    p["I"] = clip(rng.gauss(1.0 - 0.15 * j, 0.30 * j), max(0.25, 1.0 - 0.75 * j), 1.0 + 0.4 * j)
    # separate, broader intensity for the static colour effects (treble, low-pass,
    # overdrive): these are what a mean-MFCC classifier keys on, so they vary more than
    # the prosody (pitch, range, rate, pauses, bends, tremolo) that a sequence model reads
    p["I_fx"] = rng.uniform(max(0.0, 1.0 - 1.5 * j), 1.0 + 0.4 * j)
    if scale != 1.0:
        p["I"] *= scale
        p["I_fx"] *= scale
    I = p["I"]
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
    if extra:
        p["snr_jit"] = rng.uniform(-4.0 * j, 4.0 * j)     # around the speaker's noise floor
        p["pause_scale"] = rng.uniform(0.3, 0.6)           # pauses inside a sentence are short
    return p


def ssml(v, item, p, carrier_only=False):
    e = EMO[item.emo]
    # speaker offsets combine multiplicatively with the emotion's
    pitch = ((1 + v["pitch"] / 100) * (1 + p["pitch"] / 100) - 1) * 100
    if "shift" in v:   # undo the F0 part of the speaker's formant shift (sox pitch)
        pitch = ((1 + pitch / 100) * 2.0 ** (-v["shift"] / 1200.0) - 1) * 100
    rate = (1 + v["rate"] / 100) * (1 + p["rate"] / 100) * 100
    pitch = clip(pitch, -70.0, 150.0)
    rate = clip(rate, 45.0, 250.0)
    rng_ = clip(p["range"] + v["range"] if "range" in v else p["range"], -90.0, 300.0)
    vol = clip(p["volume"], -80.0, 150.0)
    wrate = 100.0 * (SHAPE[item.emo]["wrate"] / 100.0) ** p["I_t"]
    w = f'<prosody rate="{wrate:.1f}%">{item.target}</prosody>'
    if e["emph"]:
        w = f"<emphasis>{w}</emphasis>"
    pause = p["pause"] * p["pause_scale"] if "pause_scale" in p else p["pause"]
    body = f'{item.carrier} <break time="{pause:.0f}ms"/>'
    if not carrier_only:
        body += w + (item.end or e["end"])
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
    out_dir, seed, jitter, corpus, item = task
    path = os.path.join(out_dir, item.rel)
    what = item.rel
    C = CORPORA[corpus]
    out_rate = C["rate"]
    if item.kind != "speech":
        write_atomic(path, special_file(seed, corpus, item))
        return path
    v = speaker_voice(corpus, item.spk)
    extra = corpus != "tess"
    p = draw_params(f"{seed}/{item.key}", item.emo, jitter,
                    item.level * v["expr"] * C.get("expressive", 1.0) if extra else 1.0, extra)
    if extra:      # the speaker's own way of playing this emotion
        dp, dr, dt, dv = (x * C.get("style", 1.0) for x in v["style"][item.emo])
        if item.emo != "neutral":
            p["pitch"] += dp
            p["range"] += dr
            p["rate"] += dt
            p["volume"] += dv
    I = p["I"]
    If = p["I_fx"]
    e = EMO[item.emo]
    min_dur, max_dur = C.get("dur", (MIN_DUR, MAX_DUR))

    full = espeak(v["voice"], ssml(v, item, p), what)
    i0, i1 = speech_bounds(full)
    if i1 - i0 < ESPEAK_RATE // 4:
        raise CorpusError(f"{what}: espeak-ng produced almost no speech")
    speech = full[i0:i1]
    speech_dur = len(speech) / ESPEAK_RATE

    # where the word starts (for its contour and envelope): end of the carrier phrase + pause
    carrier = espeak(v["voice"], ssml(v, item, p, carrier_only=True), what)
    c0, c1 = speech_bounds(carrier)
    pause = p["pause"] * p["pause_scale"] if extra else p["pause"]
    word_onset = clip((c1 - i0) / ESPEAK_RATE + pause / 1000.0, 0.1, speech_dur - 0.15)
    word_dur = speech_dur - word_onset
    It = p["I_t"]
    sh = SHAPE[item.emo]

    # silence at each end, keeping the clip length within the corpus's range
    lead, tail = p["lead"], p["tail"]
    if extra:      # the TESS draws U(0.08, 0.45) mapped onto the corpus's ranges
        lo, hi = C["lead"]
        lead = lo + (lead - 0.08) / 0.37 * (hi - lo)
        lo, hi = C["tail"]
        tail = lo + (tail - 0.08) / 0.37 * (hi - lo)
    total = speech_dur + lead + tail
    if total > max_dur:
        room = max(0.04, max_dur - speech_dur)
        s = room / (lead + tail)
        lead, tail = lead * s, tail * s
    elif total < min_dur:
        tail += min_dur - total

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
    if extra:      # the speaker's vocal tract: formant shift and formant-like peaks
        fx += ["pitch", f"{v['shift']:.0f}"]
        for f0, width, gdb in v["formants"]:
            fx += ["equalizer", f"{f0:.1f}", f"{width:.2f}o", f"{gdb:.2f}"]
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
    if extra:      # after a downward sox pitch shift the chain runs below 22050 Hz
        nyq = 0.5 * ESPEAK_RATE * 2.0 ** (min(0.0, v["shift"]) / 1200.0)
        if 0.98 * nyq <= cut < 10500.0:
            cut = 0.95 * nyq
    if cut < 10500.0:
        fx += ["lowpass", f"{cut:.0f}"]
    if "reverb" in e:
        fx += ["reverb", f"{clip(e['reverb'] * I, 0.0, 100.0):.1f}"]
    if extra and v["room"]:    # the speaker's room: a small, damped one
        fx += ["reverb", f"{v['room']:.1f}", "60", "30"]
    fx += ["highpass", f"{p['highpass']:.1f}"]
    if extra:
        fx += ["highpass", f"{v['mic_hp']:.1f}"]
    fx += ["rate", "-h", str(out_rate)]
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
    if n < out_rate // 2:
        raise CorpusError(f"{what}: sox produced only {n} samples")
    nmax = int(max_dur * out_rate)
    if n > nmax:                  # reverb tails: cut, with a 20 ms fade-out
        del y[nmax:]
        n = nmax
        nf = out_rate // 50
        for k in range(nf):
            y[n - nf + k] *= (nf - k) / nf

    # amplitude envelope over the word
    w0 = int((lead + word_onset) * out_rate)
    w1 = min(n, int((lead + speech_dur) * out_rate))
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
    a0 = int(lead * out_rate)
    a1 = max(a0 + 1, n - int(tail * out_rate))
    if extra:
        pcm = record(y, a0, a1, p, v, out_rate, speech)
    else:      # TESS: generator version 2's loop, kept for byte identity
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
    write_atomic(path, wav_bytes(pcm.tobytes(), out_rate))
    return path

_GAUSS = []


def record(y, a0, a1, p, v, out_rate, speech):
    """The recording stage of the non-TESS corpora (§3.4 step 7): the level, the speaker's
    noise floor (coloured by the speaker's AR(1) coefficient, SNR relative to the speech part,
    per-file jitter), mains hum if the speaker's chain has it, rounding to 16 bits.  The level
    is set from the level of espeak-ng's speech (which carries the emotion's loudness) times the
    voice's calibration, the speaker's level and the file's gain, so that the effects chain
    (rooms, EQ, tremolo: up to 25 dB) does not change it.  The Gaussian noise is drawn from a
    fixed table of 65,536 normal deviates by a per-file byte stream: the same statistics as
    random.gauss per sample, about 10x faster."""
    if not _GAUSS:
        r = random.Random("make_corpus/gauss-table")
        _GAUSS.append(array.array("d", (r.gauss(0.0, 1.0) for _ in range(65536))))
    tab = _GAUSS[0]
    n = len(y)
    seg = y[a0:a1]
    ms = math.fsum(map(operator.mul, seg, seg)) / (a1 - a0)
    rms = math.sqrt(ms) if ms > 0 else 1e-4
    ms_in = math.fsum(x * x for x in speech) / max(1, len(speech))
    level_db = p["gain_db"] + v["level_db"] + v["cal_db"]
    g = REC_LEVEL * math.sqrt(ms_in) * 10 ** (level_db / 20.0) / rms
    c = clip(v["noise_colour"] + 0.2 * p["noise_colour"], -0.95, 0.95)
    sigma = rms * 10 ** (-(v["snr"] + p["snr_jit"]) / 20.0) * math.sqrt(1.0 - c * c)
    idx = array.array("H", random.Random(p["noise_seed"]).randbytes(2 * n))
    if sys.byteorder != "little":
        idx.byteswap()
    if v["hum"]:          # 1 s of hum (fundamental + 3rd harmonic), repeated
        hz, hdb = v["hum"]
        amp = rms * 10 ** (hdb / 20.0) * math.sqrt(2.0)
        w = 2.0 * math.pi * hz / out_rate
        hum = [amp * (math.sin(w * i) + 0.3 * math.sin(3.0 * w * i)) for i in range(out_rate)]
        for i in range(n):
            y[i] += hum[i % out_rate]
    pcm = array.array("h", bytes(2 * n))
    z = 0.0
    for i in range(n):
        z = c * z + tab[idx[i]]
        s = round((y[i] + sigma * z) * g)
        pcm[i] = 32767 if s > 32767 else -32768 if s < -32768 else s
    return pcm


def wav_bytes(pcm, rate):
    """A 16-bit mono PCM WAV file (the header Python's wave module writes)."""
    n = len(pcm)
    return (b"RIFF" + (36 + n).to_bytes(4, "little") + b"WAVEfmt " +
            (16).to_bytes(4, "little") + (1).to_bytes(2, "little") + (1).to_bytes(2, "little") +
            rate.to_bytes(4, "little") + (2 * rate).to_bytes(4, "little") +
            (2).to_bytes(2, "little") + (16).to_bytes(2, "little") + b"data" +
            n.to_bytes(4, "little") + pcm)


def write_atomic(path, data):
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as ex:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise CorpusError(f"{path}: cannot write: {ex}")


def special_file(seed, corpus, item):
    """The bytes of a file that is not synthesised speech (§2.3, §2.2)."""
    h = hashlib.sha256(f"{seed}/{item.key}".encode()).hexdigest()
    rate = CORPORA[corpus]["rate"]
    if item.kind == "silent":          # a valid WAV whose samples are all zero
        return wav_bytes(bytes(2 * int(2.5 * rate)), rate)
    if item.kind == "broken":          # RIFF/WAVE with a garbage format chunk: undecodable
        fmt = bytes.fromhex("474e" "0000" "00000000" "00000000" "0000" "0000")
        body = bytes.fromhex(h) * 32   # 1,024 bytes of "audio"
        return (b"RIFF" + (4 + 8 + len(fmt) + 8 + len(body)).to_bytes(4, "little") + b"WAVE" +
                b"fmt " + len(fmt).to_bytes(4, "little") + fmt +
                b"data" + len(body).to_bytes(4, "little") + body)
    if item.kind == "lfs":             # what a clone without git-lfs holds instead of the WAV
        size = 44 + 2 * int((1.3 + 3.5 * int(h[:8], 16) / 2 ** 32) * rate)
        return (f"version https://git-lfs.github.com/spec/v1\noid sha256:{h}\n"
                f"size {size}\n").encode()
    if item.kind == "mp4":             # a placeholder with an ISO-BMFF ftyp box, not a video
        note = b"make_corpus.py stand-in: not a video"
        return (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" +
                (8 + len(note)).to_bytes(4, "big") + b"free" + note)
    raise CorpusError(f"{item.rel}: unknown kind {item.kind}")


def _swapped(a):
    b = array.array("h", a)
    b.byteswap()
    return b.tobytes()


def complete(path, rate=OUT_RATE):
    """True if path is a finished 16-bit mono WAV at rate (size matches its header)."""
    try:
        with wave.open(path, "rb") as w:
            ok = (w.getnchannels() == 1 and w.getsampwidth() == 2 and
                  w.getframerate() == rate and w.getnframes() > 0)
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
        return (None, f"{task[4].rel}: internal error: {ex!r}")


def check_tools(corpus, speakers):
    for tool, pkg in (("espeak-ng", "espeak-ng"), ("sox", "sox")):
        if shutil.which(tool) is None:
            raise CorpusError(f"{tool} not found on PATH: install the Debian package '{pkg}' "
                              f"(apt-get install {pkg})")
    # every voice must exist
    for voice in sorted({speaker_voice(corpus, s)["voice"] for s in speakers}):
        espeak(voice, "<speak>a</speak>", f"voice {voice}")


def fmt_time(s):
    s = int(s + 0.5)
    return f"{s // 60}m{s % 60:02d}s"


def parse_speakers(ap, corpus, count, ids_spec):
    """--speakers N (the first N speakers) or --speaker-ids A,B,... (those, in corpus order)."""
    ids = [s for s, _, _ in CORPORA[corpus]["speakers"]]
    if count is not None and ids_spec is not None:
        ap.error("give --speakers or --speaker-ids, not both")
    if count is not None:
        if not 1 <= count <= len(ids):
            ap.error(f"--speakers must be between 1 and {len(ids)} for {corpus} (got {count})")
        return ids[:count]
    if ids_spec is None:
        return ids
    want = [s.strip() for s in ids_spec.split(",") if s.strip()]
    bad = [s for s in want if s not in ids]
    if bad or not want:
        ap.error(f"--speaker-ids: unknown {corpus} speaker(s) {', '.join(bad) or repr(ids_spec)}; "
                 f"the speakers are {' '.join(ids)}")
    return [s for s in ids if s in want]


def main(argv=None):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(
        description="Synthesise a stand-in corpus with the exact shape of TESS (default), "
                    "RAVDESS (speech), CREMA-D, SAVEE or EmoDB, with espeak-ng and sox "
                    "(docs/corpus.md).")
    ap.add_argument("--corpus", choices=sorted(CORPORA), default="tess",
                    help="which corpus to imitate (default: %(default)s)")
    ap.add_argument("--out", help="output folder (default: data/CORPUS-standin in the "
                    "repository, e.g. data/tess-standin)")
    ap.add_argument("--words", type=int,
                    help="TESS: use the first N of the 200 words (default: all)")
    ap.add_argument("--sentences", type=int,
                    help="other corpora: use the first N sentences / texts (default: all; "
                         "RAVDESS 2, CREMA-D 12, SAVEE 15 per emotion, EmoDB 10)")
    ap.add_argument("--speakers", type=int,
                    help="use the first N speakers (default: all)")
    ap.add_argument("--speaker-ids",
                    help="use these speakers (comma-separated ids, e.g. 1001,1076)")
    ap.add_argument("--quirks", action="store_true",
                    help="RAVDESS: add song files and .mp4 names; CREMA-D: a few git-lfs "
                         "pointer files")
    ap.add_argument("--lfs-pointers", action="store_true",
                    help="CREMA-D: write git-lfs pointer text files instead of audio, as a "
                         "clone without git-lfs holds")
    ap.add_argument("--layout", choices=("nested", "flat"), default="nested",
                    help="SAVEE: AudioData/DC/a01.wav (nested) or ALL/DC_a01.wav (flat)")
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
    ap.add_argument("--list", action="store_true",
                    help="print the relative paths of the selected files and exit (no "
                         "synthesis)")
    ap.add_argument("--voices", action="store_true",
                    help="print the selected speakers' voice table and exit")
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    args = ap.parse_args(argv)

    corpus = args.corpus
    C = CORPORA[corpus]
    if corpus == "tess":
        if args.sentences is not None:
            ap.error("--sentences is for the sentence corpora; TESS uses --words")
        n = len(WORDS) if args.words is None else args.words
        if not 1 <= n <= len(WORDS):
            ap.error(f"--words must be between 1 and {len(WORDS)} (got {n})")
    else:
        if args.words is not None:
            ap.error(f"--words is for TESS; {corpus} uses --sentences")
        n = C["sizes"] if args.sentences is None else args.sentences
        if not 1 <= n <= C["sizes"]:
            ap.error(f"--sentences must be between 1 and {C['sizes']} for {corpus} (got {n})")
    if args.quirks and not C.get("quirks"):
        ap.error("--quirks is for ravdess and cremad")
    if args.lfs_pointers and corpus != "cremad":
        ap.error("--lfs-pointers is for cremad")
    if args.layout != "nested" and corpus != "savee":
        ap.error("--layout is for savee")
    if args.jobs < 1:
        ap.error(f"--jobs must be at least 1 (got {args.jobs})")
    if not 0.0 <= args.jitter <= 2.0 or math.isnan(args.jitter):
        ap.error(f"--jitter must be between 0 and 2 (got {args.jitter})")
    speakers = parse_speakers(ap, corpus, args.speakers, args.speaker_ids)
    assert len(WORDS) == 200 and len(set(WORDS)) == 200
    if args.list:
        for it in corpus_items(corpus, speakers, n, args.quirks, args.layout, args.lfs_pointers):
            print(it.rel)
        return 0
    try:
        check_tools(corpus, speakers)
        if args.voices:
            for s in speakers:
                print(voice_line(corpus, s))
            return 0
        out = args.out or os.path.join(root, "data", C["out"])
        os.makedirs(out, exist_ok=True)
        manifest = {"generator": "make_corpus.py", "version": VERSION, "seed": args.seed,
                    "jitter": args.jitter}
        if corpus != "tess":     # TESS's manifest stays as generator version 2 wrote it
            manifest = {"generator": "make_corpus.py", "corpus": corpus,
                        "version": STANDIN_VERSION, "seed": args.seed, "jitter": args.jitter,
                        "quirks": args.quirks, "lfs_pointers": args.lfs_pointers,
                        "layout": args.layout}
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
        items = corpus_items(corpus, speakers, n, args.quirks, args.layout, args.lfs_pointers)
        for d in sorted({os.path.dirname(it.rel) for it in items}):
            os.makedirs(os.path.join(out, d), exist_ok=True)
        with open(mpath + ".tmp", "w") as f:
            json.dump(manifest, f)
        os.replace(mpath + ".tmp", mpath)

        tasks = []
        total = len(items)
        for it in items:
            path = os.path.join(out, it.rel)
            if args.force or it.kind != "speech" or not complete(path, C["rate"]):
                tasks.append((out, args.seed, args.jitter, corpus, it))
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
