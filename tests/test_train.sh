#!/usr/bin/env bash
# test_train.sh SER CORPUS WORKDIR: `ser train` end to end on the 10-word corpus (140 files).
#  1. a 3-epoch run on 2 ranks writes a well-formed run directory (checked by train_check.py,
#     which also recomputes the test accuracy from `ser predict` and checks the exported
#     weights in PyTorch against `ser predict`'s probabilities);
#  2. data parallelism: one epoch on np = 1, 2, 3, 4 gives the same weights to float rounding,
#     and a 2-rank run reaches the same test accuracy as 1 rank (train_check.py --compare);
#  3. --preset seed equals the defaults; a preset's settings reach config.txt, explicit options
#     win over them;
#  4. bad usage exits 1 with a message (also options that contradict each other); an
#     unwritable run directory exits 2.
set -euo pipefail
ser=$1 corpus=$2 work=$3
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
mpi=(mpiexec --oversubscribe)
feat=$work/features.serf
common=(--data "$corpus" --features "$feat" --quiet)

"${mpi[@]}" -np 2 "$ser" train "${common[@]}" --out "$work/run2" --epochs 3 || fail "2-rank run"
"$ser" export "$work/run2/best.ckpt" --npz "$work/run2/best.npz" || fail "export"
/usr/bin/python3 "$here/train_check.py" run "$ser" "$work/run2" "$feat" || fail "run directory"

for np in 1 2 3 4; do
  "${mpi[@]}" -np $np "$ser" train "${common[@]}" --out "$work/step$np" --epochs 1 --lr-factor 1 \
    || fail "1-epoch run with np=$np"
  "$ser" export "$work/step$np/last.ckpt" --npz "$work/step$np.npz" || fail "export np=$np"
done
"${mpi[@]}" -np 1 "$ser" train "${common[@]}" --out "$work/run1" --epochs 3 || fail "1-rank run"
/usr/bin/python3 "$here/train_check.py" compare "$work" || fail "data parallelism"

# --preset: seed is the defaults (same config.txt as no preset); a preset's values reach
# config.txt and options given explicitly win over them.
"$ser" train "${common[@]}" --out "$work/p-none" --epochs 1 || fail "run without preset"
"$ser" train "${common[@]}" --out "$work/p-seed" --epochs 1 --preset seed || fail "--preset seed"
cmp "$work/p-none/config.txt" "$work/p-seed/config.txt" || fail "--preset seed is not the defaults"
small="conv1d:4:3 relu maxpool:4 lstm:4 dense"
"$ser" train "${common[@]}" --out "$work/p-robust" --epochs 1 --preset robust --model "$small" \
  || fail "--preset robust with --model"
# (config.txt holds the canonical spec: the output layer's size written out)
grep -qxF "model = ${small}:7" "$work/p-robust/config.txt" || fail "--model does not win over the preset"
grep -qxF "epochs = 1" "$work/p-robust/config.txt" || fail "--epochs does not win over the preset"
"$ser" train --help | awk '/^presets/{p=1} p && /^  robust /{r=1; next} r && /^  [^ ]/{r=0} r' \
  | sed 's/^ *//' | grep -v '^model = \|^epochs = ' > "$work/robust.txt"
[[ -s $work/robust.txt ]] || fail "--help lists no settings of preset robust"
while read -r line; do
  grep -qxF "$line" "$work/p-robust/config.txt" || fail "preset robust: '$line' not applied"
done < "$work/robust.txt"
set +e
"$ser" train --preset nope 2>"$work/err"; rc=$?
[[ $rc == 1 ]] && grep -q "unknown --preset 'nope' (expected seed or robust)" "$work/err" \
  || fail "--preset nope: rc=$rc $(cat "$work/err")"
"$ser" train --epochs 0 2>"$work/err"; rc=$?
[[ $rc == 1 ]] && grep -q "epochs" "$work/err" || fail "--epochs 0: rc=$rc $(cat "$work/err")"
"$ser" train --frobnicate 2>"$work/err"; rc=$?
[[ $rc == 1 ]] && grep -q "unknown option" "$work/err" || fail "unknown option: rc=$rc"
printf 'epochs = 2\nbogus = 1\n' > "$work/bad.cfg"
"$ser" train --config "$work/bad.cfg" 2>"$work/err"; rc=$?
[[ $rc == 1 ]] && grep -q "unknown key 'bogus'" "$work/err" || fail "bad config: rc=$rc"
# Options that bound one another are checked before anything runs (a micro-batch larger
# than the batch overflowed the input buffer in evaluation before).
"$ser" train "${common[@]}" --deterministic --micro-batch 16 --batch-size 4 --out "$work/mb" \
  2>"$work/err"; rc=$?
[[ $rc == 1 ]] && grep -q -- "--micro-batch 16 is larger than --batch-size 4" "$work/err" \
  || fail "micro-batch > batch: rc=$rc $(cat "$work/err")"
[[ ! -e "$work/mb" ]] || fail "micro-batch > batch: a run directory was made"
touch "$work/not-a-dir"
"${mpi[@]}" -np 2 "$ser" train "${common[@]}" --out "$work/not-a-dir/run" --epochs 1 2>"$work/err"; rc=$?
[[ $rc == 2 ]] && grep -q "not-a-dir" "$work/err" || fail "unwritable run dir: rc=$rc $(cat "$work/err")"
set -e
echo "test_train: all checks passed"
