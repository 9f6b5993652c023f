#!/usr/bin/env bash
# test_resume.sh SER CORPUS WORKDIR: checkpoints, exact resume, determinism, signals, failures.
#  (10-word corpus: 98 training files (70% of 140), batch 8 -> 13 batches per epoch.)
#  A. 4 epochs straight == 2 epochs + --resume auto to 4 (weights byte-identical, metrics
#     identical), and == a run stopped by a signal mid-epoch and resumed;
#  B. --deterministic: np = 1, 2, 3, 4 give byte-identical weights; a run interrupted on np=2
#     mid-epoch and resumed on np=3 too;
#  C. a real SIGUSR1 sent to one rank: checkpoint, exit 75, resume completes identically;
#  D. kill -9 of a non-zero rank: every process gone within 30 s, non-zero exit, checkpoint
#     intact and loadable; --resume auto then completes;
#  E. NaN in a gradient: exit 3 naming epoch, batch and tensor; last checkpoint intact;
#  F. a damaged newest checkpoint is refused with a message and the previous one is used;
#  G. write failures: an unwritable run directory is refused at start (exit 2, nothing
#     changed); one that becomes unwritable during the run keeps its last checkpoint (message);
#     a full disk with no checkpoint yet stops with exit 2 (skipped where chattr/mount are
#     not permitted).
set -uo pipefail
ser=$1 corpus=$2 work=$(realpath -m "$3")
rm -rf "$work" && mkdir -p "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
feat=$work/features.serf
base=(--data "$corpus" --features "$feat" --batch-size 8 --patience 100 --quiet)
train() { local np=$1; shift; mpiexec --oversubscribe -np "$np" "$ser" train "${base[@]}" "$@"; }
weights() { "$ser" export "$1" --npz "$2" || fail "export $1"; }
same() { cmp -s "$1" "$2" || fail "$3: weights differ ($1 vs $2)"; }
same_metrics() {
  diff <(cut -f1-6 "$1/metrics.tsv") <(cut -f1-6 "$2/metrics.tsv") >/dev/null \
    || fail "$3: metrics differ: $(diff <(cut -f1-6 "$1/metrics.tsv") <(cut -f1-6 "$2/metrics.tsv"))"
}
rank_pid() {  # pid of MPI rank $1 of the running `ser train` whose command line mentions $2
  for p in $(pgrep -f "ser train.*$2"); do
    tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1" && { echo $p; return; }
  done
}

# Starts a long 2-rank run writing into $1 (log in $1.log) and sends signal $2 to its rank 1 once
# the first checkpoint exists; sets rc to the run's exit status and dt to the seconds from the
# signal to the end of the job.
signal_rank1() {
  train 2 --epochs 40 --out "$1" > "$1.log" 2>&1 &
  local job=$! pid t0
  for _ in $(seq 100); do sleep 0.1; [[ -f "$1/last.ckpt" ]] && break; done
  pid=$(rank_pid 1 "$1"); [[ -n "$pid" ]] || fail "no rank 1 found for $1"
  kill "-$2" "$pid"
  t0=$(date +%s)
  wait $job; rc=$?
  dt=$(( $(date +%s) - t0 ))
}

# A. resume equivalence (default mode, same rank count)
train 2 --epochs 4 --out "$work/straight" || fail "straight run"
weights "$work/straight/last.ckpt" "$work/straight.npz"
train 2 --epochs 2 --out "$work/two" || fail "first half"
train 2 --epochs 4 --out "$work/two" --resume auto || fail "resumed half"
weights "$work/two/last.ckpt" "$work/two.npz"
same "$work/straight.npz" "$work/two.npz" "2 + 2 epochs"
same_metrics "$work/straight" "$work/two" "2 + 2 epochs"
SER_FAULT_SIGNAL_BATCH=19 train 2 --epochs 4 --out "$work/mid"; rc=$?
[[ $rc == 75 ]] || fail "signal mid-epoch: exit $rc, expected 75"
pos=$("$ser" info "$work/mid/last.ckpt" | grep -E '^  train\.(epoch|batch) ' | tr -s ' ' | tr '\n' ';')
[[ $pos == " train.epoch 1 epochs completed; train.batch 7 batches done in this epoch;" ]] || fail "mid-epoch position: $pos"
train 2 --epochs 4 --out "$work/mid" --resume auto || fail "resume from mid-epoch"
weights "$work/mid/last.ckpt" "$work/mid.npz"
same "$work/straight.npz" "$work/mid.npz" "mid-epoch resume"
same_metrics "$work/straight" "$work/mid" "mid-epoch resume"
train 2 --epochs 3 --keep 2 --out "$work/keep" || fail "--keep run"
[[ -f "$work/keep/epoch-0002.ckpt" && -f "$work/keep/epoch-0003.ckpt" && ! -e "$work/keep/epoch-0001.ckpt" ]] \
  || fail "--keep 2: $(ls "$work/keep")"
train 1 --epochs 6 --checkpoint-every 2 --keep 2 --lr-factor 1 --min-delta 1e9 --out "$work/keep2" || fail "--keep with --checkpoint-every"
ls "$work/keep2" | grep -E '^epoch-' | tr '\n' ' ' | grep -qx 'epoch-0004.ckpt epoch-0006.ckpt ' \
  || fail "--keep 2 --checkpoint-every 2: $(ls "$work/keep2")"
echo "A: resume is exact; --keep keeps the newest epoch checkpoints"

# B. determinism across rank counts
for np in 1 2 3 4; do
  train $np --epochs 2 --deterministic --micro-batch 2 --out "$work/det$np" || fail "deterministic np=$np"
  weights "$work/det$np/last.ckpt" "$work/det$np.npz"
done
for np in 2 3 4; do same "$work/det1.npz" "$work/det$np.npz" "deterministic np=$np vs np=1"; done
SER_FAULT_SIGNAL_BATCH=19 train 2 --epochs 2 --deterministic --micro-batch 2 --out "$work/det23"; rc=$?
[[ $rc == 75 ]] || fail "deterministic interrupt: exit $rc"
train 3 --epochs 2 --deterministic --out "$work/det23" --resume auto || fail "resume on np=3"
weights "$work/det23/last.ckpt" "$work/det23.npz"
same "$work/det1.npz" "$work/det23.npz" "deterministic np=2 interrupted, resumed on np=3"
same_metrics "$work/det1" "$work/det23" "deterministic np=2 -> 3"
echo "B: deterministic mode is bit-identical for np = 1..4 and across a resume 2 -> 3"

# C. a real signal to one rank
signal_rank1 "$work/sig" USR1
[[ $rc == 75 ]] || fail "SIGUSR1: exit $rc, expected 75; $(tail -3 "$work/sig.log")"
grep -q "stopped by a signal" "$work/sig.log" || fail "no signal message"
train 2 --epochs 40 --out "$work/sigref" || fail "reference for the signal run"
train 2 --epochs 40 --out "$work/sig" --resume auto || fail "resume after SIGUSR1"
weights "$work/sig/last.ckpt" "$work/sig.npz"
weights "$work/sigref/last.ckpt" "$work/sigref.npz"
same "$work/sigref.npz" "$work/sig.npz" "SIGUSR1 + resume"
echo "C: SIGUSR1 -> checkpoint, exit 75, exact resume"

# D. a rank killed with SIGKILL
signal_rank1 "$work/k9" 9
[[ $rc != 0 ]] || fail "kill -9: exit 0"
(( dt <= 30 )) || fail "kill -9: job took $dt s to end"
pgrep -f "ser train.*$work/k9" >/dev/null && fail "ranks left behind after kill -9"
grep -qi "rank 1" "$work/k9.log" || fail "no message naming the lost rank: $(cat "$work/k9.log")"
"$ser" info "$work/k9/last.ckpt" >/dev/null || fail "checkpoint damaged after kill -9"
train 2 --epochs 3 --out "$work/k9" --resume auto || fail "resume after kill -9"
echo "D: kill -9 -> all gone in ${dt}s, checkpoint intact, resumed"

# E. NaN
SER_FAULT_NAN_BATCH=20 train 2 --epochs 4 --out "$work/nan" 2> "$work/nan.log"; rc=$?
[[ $rc == 3 ]] || fail "NaN: exit $rc, expected 3"
grep -q "non-finite value in conv1.weight at epoch 2, batch 8" "$work/nan.log" || fail "NaN message: $(cat "$work/nan.log")"
# (output to a file: grep -q would close the pipe early, and pipefail would see SIGPIPE)
"$ser" info "$work/nan/last.ckpt" > "$work/nan.info" || fail "NaN: ser info"
grep -Eq '^  train\.epoch +1 ' "$work/nan.info" || fail "NaN: last good checkpoint"
echo "E: NaN -> exit 3 with epoch, batch and tensor"

# F. damaged newest checkpoint -> the previous one
cp -r "$work/two" "$work/dmg"
train 2 --epochs 3 --out "$work/dmg2" >/dev/null || fail "run for damage test"
printf 'garbage' | dd of="$work/dmg2/last.ckpt" bs=1 seek=2000 conv=notrunc 2>/dev/null
train 2 --epochs 4 --out "$work/dmg2" --resume auto 2> "$work/dmg.log" >/dev/null || fail "resume past damage"
grep -q "ignoring damaged checkpoint" "$work/dmg.log" || fail "no message about the damaged checkpoint"
weights "$work/dmg2/last.ckpt" "$work/dmg2.npz"
same "$work/straight.npz" "$work/dmg2.npz" "resume from prev.ckpt"
echo "F: damaged newest checkpoint refused, previous used, result exact"

# G. write failures
train 2 --epochs 1 --out "$work/ro" || fail "run for write test"
before=$(md5sum < "$work/ro/last.ckpt")
if chattr +i "$work/ro" 2>/dev/null; then
  # G1a: a run directory that cannot be written is refused before any training.
  train 2 --epochs 2 --out "$work/ro" --resume auto 2> "$work/ro.log"; rc=$?
  chattr -i "$work/ro"
  [[ $rc == 2 ]] && grep -q "ro/config.txt" "$work/ro.log" || fail "unwritable run dir: exit $rc: $(cat "$work/ro.log")"
  [[ $(md5sum < "$work/ro/last.ckpt") == "$before" ]] || fail "previous checkpoint changed"
  # G1b: it becomes unwritable during the run: reported, training goes on, checkpoint intact.
  train 2 --epochs 40 --out "$work/ro2" > "$work/ro2.log" 2>&1 &
  job=$!
  for _ in $(seq 300); do sleep 0.1; [[ -f "$work/ro2/last.ckpt" ]] && break; done
  chattr +i "$work/ro2"; before=$(md5sum < "$work/ro2/last.ckpt")
  wait $job; rc=$?
  chattr -i "$work/ro2"
  grep -q "previous one is intact" "$work/ro2.log" || fail "no write-failure message: $(cat "$work/ro2.log")"
  [[ $(md5sum < "$work/ro2/last.ckpt") == "$before" ]] || fail "checkpoint changed in a read-only directory"
  [[ $rc == 2 ]] || fail "read-only run directory: exit $rc, expected 2 (no report)"
  echo "G1: unwritable run directory: refused at start; during a run: reported, checkpoint intact"
else
  echo "G1 skipped: chattr not permitted here"
fi
mkdir -p "$work/full"
if mount -t tmpfs -o size=400k tmpfs "$work/full" 2>/dev/null; then
  train 2 --epochs 2 --out "$work/full/run" 2> "$work/full.log"; rc=$?
  umount "$work/full"
  [[ $rc == 2 ]] || fail "full disk, no checkpoint: exit $rc, expected 2"
  grep -q "no checkpoint can be written" "$work/full.log" || fail "full disk message: $(cat "$work/full.log")"
  echo "G2: full disk before any checkpoint: exit 2"
else
  echo "G2 skipped: mount not permitted here"
fi
echo "test_resume: all checks passed"
