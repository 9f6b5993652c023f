#!/usr/bin/env bash
# test_augment_exact.sh SER CORPUS WORKDIR: --label-smoothing, --mixup and --spec-augment together
# under --deterministic (10-word corpus: 98 training files, batch 8 -> 13 batches per epoch, the
# last one of 2; micro-batches of 2):
#  - np = 1, 2, 3 give byte-identical weights and identical metrics (the partners, lam and masks
#    are keyed by seed, epoch, sample id and batch index, never by rank or micro-batch);
#  - a run stopped by a signal mid-epoch on np=2 and resumed on np=3 too;
#  - the options change the training (weights differ from the run without them);
#  - a resume cannot change them (exit 1, naming the option); bad values are refused (exit 1).
set -uo pipefail
ser=$1 corpus=$2 work=$(realpath -m "$3")
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
aug=(--label-smoothing 0.1 --mixup 0.4 --spec-augment 8,30,2,2)
base=(--data "$corpus" --features "$work/features.serf" --batch-size 8 --patience 100 --quiet
      --deterministic --micro-batch 2 --epochs 2)
train() { local np=$1; shift; mpiexec --oversubscribe -np "$np" "$ser" train "${base[@]}" "$@"; }
weights() { "$ser" export "$1/last.ckpt" --npz "$1.npz" >/dev/null || fail "export $1"; }
same() { cmp -s "$1.npz" "$2.npz" || fail "$3: weights differ"
         diff <(cut -f1-6 "$1/metrics.tsv") <(cut -f1-6 "$2/metrics.tsv") >/dev/null \
           || fail "$3: metrics differ"; }

for np in 1 2 3; do
  train $np "${aug[@]}" --out "$work/np$np" || fail "np=$np"
  weights "$work/np$np"
done
for np in 2 3; do same "$work/np1" "$work/np$np" "np=$np vs np=1"; done
echo "np = 1, 2, 3: byte-identical weights and metrics"
SER_FAULT_SIGNAL_BATCH=19 train 2 "${aug[@]}" --out "$work/resumed"; rc=$?
[[ $rc == 75 ]] || fail "interrupt: exit $rc, expected 75"
train 3 --out "$work/resumed" --resume auto || fail "resume on np=3"
weights "$work/resumed"
same "$work/np1" "$work/resumed" "np=2 interrupted, resumed on np=3"
echo "interrupted on np=2 mid-epoch, resumed on np=3: byte-identical"
train 1 --out "$work/plain" || fail "run without augmentation"
weights "$work/plain"
cmp -s "$work/np1.npz" "$work/plain.npz" && fail "the augmentation changed nothing"
grep -qx 'spec-augment = 8,30,2,2' "$work/np1/config.txt" || fail "config.txt: no spec-augment"
grep -qx 'mixup = 0.4' "$work/np1/config.txt" || fail "config.txt: no mixup"

# a resume cannot change the augmentation; repeating it is fine
SER_FAULT_SIGNAL_BATCH=3 train 1 "${aug[@]}" --out "$work/change" >/dev/null 2>&1
out=$(train 1 --out "$work/change" --resume auto --mixup 0.2 2>&1); rc=$?
[[ $rc == 1 && $out == *"--mixup 0.4"*"cannot change"* ]] || fail "changed --mixup on resume: exit $rc: $out"
train 1 --out "$work/change" --resume auto "${aug[@]}" || fail "resume repeating the options"
echo "resume keeps the augmentation options"

bad() {  # bad option value: exit 1 and a message naming the option
  out=$("$ser" train --data "$corpus" --features "$work/features.serf" --out "$work/bad" \
        --overwrite --epochs 1 --quiet "$@" 2>&1); rc=$?
  [[ $rc == 1 && $out == *"$1"* ]] || fail "$*: exit $rc: $out"
}
bad --spec-augment 1,2,3
bad --spec-augment 1,2,3,x
bad --spec-augment 41,2,1,1   # 40 coefficients
bad --spec-augment 4,9999,1,1 # more than the frames
bad --label-smoothing 1.5
bad --mixup -1
echo "bad values refused"
