#!/usr/bin/env bash
# test_extract.sh SER CORPUS WORKDIR: sharded extraction end to end.
#  - np = 1, 2, 3 (oversubscribed) write byte-identical feature files;
#  - every matrix equals `ser features --npy` of its file, in manifest order (checked by an
#    independent Python reader of the container, tests/serpack.py);
#  - damaged files (empty, truncated, garbage, shorter than the offset) are skipped with reasons;
#  - a second run with unchanged inputs reuses the file; touching an input invalidates it;
#  - bad usage and a missing corpus exit 1 with a message.
set -euo pipefail
ser=$1 corpus=$2 work=$3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work/c"
fail() { echo "FAIL: $*" >&2; exit 1; }
mpi=(mpiexec --oversubscribe)

# A corpus: links to the generated clips of two folders, plus damaged files.
for d in OAF_angry YAF_sad; do
  mkdir -p "$work/c/$d"
  for f in "$corpus/$d"/*.wav; do ln -s "$f" "$work/c/$d/"; done
done
: > "$work/c/OAF_angry/OAF_zero_angry.wav"
head -c 3000 "$(ls "$corpus"/OAF_angry/*.wav | head -1)" > "$work/c/OAF_angry/OAF_trunc_angry.wav"
head -c 5000 /dev/urandom > "$work/c/YAF_sad/YAF_noise_sad.wav"
sox -n -r 24414 -b 16 -c 1 "$work/c/YAF_sad/YAF_short_sad.wav" synth 0.3 sine 300
n_good=$(ls "$corpus"/OAF_angry/*.wav "$corpus"/YAF_sad/*.wav | wc -l)

for np in 1 2 3; do
  "${mpi[@]}" -np $np "$ser" extract --data "$work/c" --out "$work/f$np.serf" --quiet \
    || fail "extract with np=$np"
done
cmp "$work/f1.serf" "$work/f2.serf" || fail "np=1 and np=2 differ"
cmp "$work/f1.serf" "$work/f3.serf" || fail "np=1 and np=3 differ"
# The same source given twice: every file, usable or skipped (by its name, or when decoded),
# is listed once: the same feature file as from one --data.
cp -r "$work/c" "$work/c2"
cp "$work/c/YAF_sad/YAF_short_sad.wav" "$work/c2/YAF_sad/nolabel.wav"
"${mpi[@]}" -np 2 "$ser" extract --data "$work/c2" --out "$work/fone.serf" --quiet \
  || fail "extract c2"
"${mpi[@]}" -np 2 "$ser" extract --data "$work/c2" --data "$work/c2" --out "$work/fdup.serf" \
  --quiet || fail "extract with --data twice"
cmp "$work/fone.serf" "$work/fdup.serf" || fail "--data twice differs from once"

# Contents, checked against single-file extraction.
list=$("$ser" scan "$work/c" --csv 2>/dev/null | tail -n +2 | cut -d, -f1 | head -3)
i=0
for p in $list; do "$ser" features "$p" --npy "$work/one$i.npy"; i=$((i+1)); done
/usr/bin/python3 - "$here" "$work/f2.serf" "$n_good" "$work" <<'PY' || fail "feature file contents"
import sys, os, numpy as np
sys.path.insert(0, sys.argv[1])
from serpack import read_pack, strings, scalar
r = read_pack(sys.argv[2], kind="FEAT")
n_good, work = int(sys.argv[3]), sys.argv[4]
x, labels, paths = r["features"], r["labels"], strings(r["paths"])
assert x.shape == (n_good, 40, 130), x.shape
assert paths == sorted(paths), "paths not sorted"
assert len(paths) == n_good
names = ["angry", "disgust", "fear", "happy", "neutral", "sad", "surprise", "calm", "boredom"]
assert strings(r["label_names"]) == names, strings(r["label_names"])
assert scalar(r["format"]) == 2
spelled = {"ps": "surprise"}  # TESS's spelling of the canonical label
speakers = strings(r["speakers"])
for p, l, spk, c, g in zip(paths, labels, speakers, r["corpora"], r["genders"]):
    stem = os.path.basename(p)[:-4]
    lab = stem.split("_")[-1].lower()
    assert spelled.get(lab, lab) == names[l], (p, l)
    assert spk == "tess:" + stem.split("_")[0].upper() and c == 0 and g == ord("f"), (p, spk, c, g)
skipped = dict(zip(strings(r["skipped_paths"]), strings(r["skipped_reasons"])))
want = {"OAF_zero_angry.wav": "empty", "OAF_trunc_angry.wav": "truncated",
        "YAF_noise_sad.wav": "not a supported audio file", "YAF_short_sad.wav": "shorter than"}
got = {os.path.basename(k): v for k, v in skipped.items()}
assert set(got) == set(want), got
for k, v in want.items():
    assert v in got[k], (k, got[k])
for i in range(3):
    one = np.load(os.path.join(work, f"one{i}.npy"))
    assert one.shape == (40, 130)
    assert np.array_equal(one, x[i]), f"sample {i} differs from ser features"
assert scalar(r["mfcc.n_mfcc"]) == 40 and scalar(r["load.sample_rate"]) == 22050
print("feature file ok:", x.shape, len(skipped), "skipped")
PY

# Cache: unchanged inputs -> reused (file untouched); a touched input -> extracted again.
before=$(stat -c %Y.%s "$work/f2.serf"); sleep 1
out=$("${mpi[@]}" -np 2 "$ser" extract --data "$work/c" --out "$work/f2.serf" 2>&1)
grep -q "up to date" <<<"$out" || fail "second run did not reuse the feature file: $out"
[[ $(stat -c %Y.%s "$work/f2.serf") == "$before" ]] || fail "feature file rewritten"
touch "$work/c/YAF_sad/YAF_short_sad.wav"
out=$("${mpi[@]}" -np 2 "$ser" extract --data "$work/c" --out "$work/f2.serf" 2>&1)
grep -q "up to date" <<<"$out" && fail "a touched input did not invalidate the cache"
cmp "$work/f1.serf" "$work/f2.serf" >/dev/null && fail "cache key did not change with the mtime"

# Errors.
set +e
"$ser" extract --data "$work/nope" --out "$work/x.serf" 2>"$work/err"; rc=$?
set -e
[[ $rc == 1 ]] && grep -q "nope" "$work/err" || fail "missing corpus: rc=$rc $(cat "$work/err")"
set +e
"$ser" extract --bogus 2>"$work/err"; rc=$?
set -e
[[ $rc == 1 ]] && grep -q "unknown option" "$work/err" || fail "bad option: rc=$rc"
echo "test_extract: all checks passed"
