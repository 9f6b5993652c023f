#!/usr/bin/env bash
# test_slurm.sh PART SER CORPUS WORKDIR SRCDIR: jobs/*.sbatch on a real one-node SLURM
# (tests/slurm_cluster.sh: munged + slurmctld + slurmd from Debian, started here, stopped on exit).
# 10-word corpus, batch 8 -> 13 batches per epoch. PART:
#  submit   jobs/train.sbatch completes with srun --mpi=pmix and with SER_LAUNCH=mpirun: job
#           state COMPLETED 0:0, report.md/summary.json in results/<jobname>-<jobid>/, and the
#           final weights (--deterministic) byte-identical to the same run through
#           jobs/train-local.sh (plain mpirun outside SLURM: the reference);
#  preempt  a plain `scancel` ends a job for good (ranks checkpoint, state CANCELLED, no
#           requeue); a 10-epoch run gets SIGUSR1 on its batch shell (`scancel --signal=USR1 --batch`, as
#           SLURM's --signal=B:USR1@N warning does) after its first mid-epoch checkpoint ->
#           ser checkpoints, exits 75, the job requeues itself, restarts with
#           SLURM_RESTART_COUNT=1, resumes and completes; weights and metrics.tsv equal an
#           uninterrupted jobs/train-local.sh run's (--deterministic: any rank count);
#  sweep    jobs/sweep.sbatch as a 2-task array (2 learning rates) runs side by side into
#           results/ser-sweep-<A>_<i>/ with the lr of its task, and jobs/sweep-table.py prints
#           one row per task with the accuracy and macro-F1 that summary.json holds (read
#           here with grep, independently of the table script); a damaged summary.json is
#           refused with a message naming it.
# Exit 77 (ctest: skipped) only when the SLURM/munge programs are not installed or not root.
set -uo pipefail
fail() { echo "FAIL: $*" >&2; exit 1; }
[[ $# == 5 ]] || fail "usage: $0 submit|preempt|sweep SER CORPUS WORKDIR SRCDIR"

for p in slurmctld slurmd munged mungekey sbatch srun squeue scontrol scancel sinfo; do
  if ! command -v "$p" >/dev/null; then
    echo "skipped: slurm unavailable ($p not found; Debian: apt-get install slurmctld slurmd slurm-client munge)"
    exit 77
  fi
done
if [[ $(id -u) != 0 ]]; then echo "skipped: slurm unavailable (the test cluster needs root)"; exit 77; fi
part=$1 ser=$(realpath -- "$2") corpus=$(realpath -- "$3") work=$4 src=$(realpath -- "$5")
[[ -x $ser ]] || fail "ser binary $ser missing"
[[ -d $corpus ]] || fail "corpus $corpus missing"

# A surrounding SLURM job (CI on a cluster) must not leak into ours.
for v in $(compgen -e | grep '^SLURM_'); do unset "$v"; done
rm -rf "$work"; mkdir -p "$work/submit" || fail "cannot create $work"
state=$work/cluster
cluster=$src/tests/slurm_cluster.sh
trap 'bash "$cluster" stop "$state"' EXIT
bash "$cluster" start "$state" >/dev/null || fail "cannot start the test cluster"
# shellcheck disable=SC1091
source "$state/env"
export SER=$ser SER_JOBS=$src/jobs
cd "$work/submit" || fail "cd"
feat=$work/features.serf
base=(--data "$corpus" --features "$feat" --batch-size 8 --patience 100 --quiet)

jobfield() { scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }
# wait_done JOB: wait (safety limit 300 s, not a timing assertion) until the job has finished
# for good (a requeued job passes through PENDING again); prints its final state.
wait_done() {
  local j=$1 st end=$((SECONDS + 300))
  while :; do
    st=$(jobfield "$j" JobState)
    case $st in
      COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED)
        echo "$st"; return 0 ;;
    esac
    ((SECONDS < end)) || { echo "STUCK:$st"; return 1; }
    sleep 0.5
  done
}
check_done() {  # check_done JOB OUTFILE: COMPLETED with exit 0
  local st
  st=$(wait_done "$1")
  [[ $st == COMPLETED && $(jobfield "$1" ExitCode) == 0:0 ]] \
    || fail "job $1: state $st, exit $(jobfield "$1" ExitCode); output:
$(cat "$2" 2>/dev/null)"
}
weights() { "$ser" export "$1" --npz "$2" >/dev/null || fail "export $1"; }
local_ref() {  # local_ref RUN_DIR ser-args...: the uninterrupted reference, outside SLURM
  local out=$1; shift
  env -u SLURM_CONF bash "$src/jobs/train-local.sh" -n 2 -o "$out" "${base[@]}" "$@" \
    > "$out.log" 2>&1 || fail "reference run $out: $(tail -n 5 "$out.log")"
}

case $part in
submit)
  for launch in srun mpirun; do
    j=$(SER_LAUNCH=$launch sbatch --parsable "$src/jobs/train.sbatch" "${base[@]}" --epochs 3 --deterministic) \
      || fail "sbatch ($launch)"
    out=ser-train-$j.out run=results/ser-train-$j
    check_done "$j" "$out"
    [[ -s $run/report.md && -s $run/summary.json ]] || fail "$launch: no report.md/summary.json in $run: $(ls "$run")"
    grep -q '"epochs_run": 3' "$run/summary.json" || fail "$launch: summary.json does not say 3 epochs"
    grep -q "restart 0 on .*: 2 ranks x 1 threads, launcher $launch" "$out" || fail "$launch: job header missing: $(cat "$out")"
    weights "$run/last.ckpt" "$work/$launch.npz"
    echo "submit: job $j ($launch) completed, report in $run"
  done
  local_ref "$work/ref3" --epochs 3 --deterministic
  weights "$work/ref3/last.ckpt" "$work/ref3.npz"
  for launch in srun mpirun; do
    cmp -s "$work/$launch.npz" "$work/ref3.npz" || fail "$launch job's weights differ from jobs/train-local.sh's"
  done
  echo "submit: srun and mpirun jobs give the weights of jobs/train-local.sh"
  ;;

preempt)
  args=(--epochs 10 --deterministic --checkpoint-every 5b)
  wait_ckpt() {  # wait_ckpt JOB RUN_DIR OUT: until the job's first checkpoint exists
    local st end=$((SECONDS + 120))
    until [[ -f $2/last.ckpt ]]; do
      st=$(jobfield "$1" JobState)
      [[ $st == PENDING || $st == RUNNING ]] || fail "job $1 $st before its first checkpoint: $(cat "$3")"
      ((SECONDS < end)) || fail "no checkpoint after 120 s; job $1 state $st; $(cat "$3")"
      sleep 0.1
    done
  }
  # A plain scancel is final: the ranks checkpoint on SIGTERM, but the job is not requeued.
  j=$(sbatch --parsable "$src/jobs/train.sbatch" "${base[@]}" --epochs 30 --checkpoint-every 5b) || fail "sbatch"
  out=ser-train-$j.out
  wait_ckpt "$j" "results/ser-train-$j" "$out"
  scancel "$j" || fail "scancel $j"
  end=$((SECONDS + 120))   # until the batch shell is gone and slurmctld has settled the job
  until grep -q "requeueing" "$out" && [[ $(squeue -h -t all -j "$j" -o %T 2>/dev/null) != COMPLETING ]]; do
    ((SECONDS < end)) || fail "cancelled job $j did not end: $(cat "$out")"
    sleep 0.2
  done
  st=$(jobfield "$j" JobState)
  [[ $st == CANCELLED && $(jobfield "$j" Restarts) == 0 ]] \
    || fail "cancelled job $j: state $st, restarts $(jobfield "$j" Restarts): $(cat "$out")"
  grep -q "stopped by a signal" "$out" || fail "cancelled job: ranks did not checkpoint: $(cat "$out")"
  echo "preempt: plain scancel -> checkpoint, job CANCELLED, not requeued"

  j=$(sbatch --parsable "$src/jobs/train.sbatch" "${base[@]}" "${args[@]}") || fail "sbatch"
  out=ser-train-$j.out run=results/ser-train-$j
  wait_ckpt "$j" "$run" "$out"
  scancel --signal=USR1 --batch "$j" || fail "scancel --signal=USR1 --batch $j"
  check_done "$j" "$out"
  [[ $(jobfield "$j" Restarts) == 1 ]] || fail "job restarted $(jobfield "$j" Restarts) times, expected 1; $(cat "$out")"
  grep -q "got SIGUSR1, forwarding" "$out" || fail "batch shell did not trap SIGUSR1: $(cat "$out")"
  # The USR1 lands mid-epoch ("at epoch N, batch B") or, legitimately, at an epoch boundary
  # ("after epoch N"); either way ser must have stopped on it and written its checkpoint.
  grep -Eq "stopped by a signal (at epoch [0-9]+, batch [0-9]+|after epoch [0-9]+); checkpoint .*/last\.ckpt written" "$out" \
    || fail "ser did not stop on the signal with a checkpoint: $(cat "$out")"
  grep -q "requeueing job $j" "$out" || fail "no requeue after exit 75: $(cat "$out")"
  grep -q "job $j restart 1 on" "$out" || fail "second run did not see SLURM_RESTART_COUNT=1: $(cat "$out")"
  grep -q "train.sbatch: done" "$out" || fail "resumed run did not finish: $(cat "$out")"
  grep -q '"epochs_run": 10' "$run/summary.json" || fail "resumed run: summary.json does not say 10 epochs"
  echo "preempt: job $j: SIGUSR1 -> checkpoint, exit 75, requeue, restart 1, completed"
  local_ref "$work/ref10" "${args[@]}"
  weights "$run/last.ckpt" "$work/preempted.npz"
  weights "$work/ref10/last.ckpt" "$work/ref10.npz"
  cmp -s "$work/preempted.npz" "$work/ref10.npz" || fail "preempted+requeued job's weights differ from an uninterrupted run's"
  diff <(cut -f1-6 "$run/metrics.tsv") <(cut -f1-6 "$work/ref10/metrics.tsv") >/dev/null \
    || fail "metrics differ: $(diff <(cut -f1-6 "$run/metrics.tsv") <(cut -f1-6 "$work/ref10/metrics.tsv"))"
  echo "preempt: final weights and metrics equal the uninterrupted run's"
  ;;

sweep)
  lrs=(0.001 0.003)
  a=$(SWEEP_LRS="${lrs[*]}" SWEEP_MODELS="conv1d:16:5 relu maxpool:2 lstm:16 dense:7" \
      sbatch --parsable --array=0-1 "$src/jobs/sweep.sbatch" "${base[@]}" --epochs 2) || fail "sbatch sweep"
  for i in 0 1; do
    check_done "${a}_$i" "ser-sweep-${a}_$i.out"
    run=results/ser-sweep-${a}_$i
    [[ -s $run/summary.json ]] || fail "task $i: no summary.json in $run"
    awk -v want="${lrs[i]}" '$1 == "lr" { found = 1; ok = ($3 + 0 == want + 0) } END { exit !(found && ok) }' \
      "$run/config.txt" || fail "task $i: lr is not ${lrs[i]}: $(grep '^lr ' "$run/config.txt")"
    grep -qx "model = conv1d:16:5 relu maxpool:2 lstm:16 dense:7" "$run/config.txt" || fail "task $i: model spec not passed"
  done
  /usr/bin/python3 "$src/jobs/sweep-table.py" results/ser-sweep-"${a}"_* > table.md || fail "sweep-table.py failed"
  cat table.md
  [[ $(grep -c '^| ser-sweep-' table.md) == 2 ]] || fail "table has not 2 rows"
  for i in 0 1; do
    s=results/ser-sweep-${a}_$i/summary.json
    acc=$(grep -o '"test_accuracy": [0-9.]*' "$s" | grep -o '[0-9.]*$')
    f1=$(grep -o '"test_macro_f1": [0-9.]*' "$s" | grep -o '[0-9.]*$')
    row=$(grep "^| ser-sweep-${a}_$i |" table.md) || fail "no row for task $i"
    # shellcheck disable=SC2016  # the backquotes are Markdown
    want=$(printf '| ser-sweep-%s_%d | 42 | %s | `conv1d:16:5 relu maxpool:2 lstm:16 dense:7` | %.4f | %.4f | 2 |' \
           "$a" "$i" "${lrs[i]}" "$acc" "$f1")
    [[ $row == "$want" ]] || fail "task $i row: got '$row', expected '$want'"
  done
  echo "sweep: 2 array tasks finished side by side; the table matches their summary.json"
  mkdir -p results/broken_0 && echo '{"test_accuracy": ' > results/broken_0/summary.json
  msg=$(/usr/bin/python3 "$src/jobs/sweep-table.py" results/broken_0 2>&1 >/dev/null) \
    && fail "sweep-table.py accepted a damaged summary.json"
  [[ $msg == *"results/broken_0/summary.json"* ]] || fail "sweep-table.py error does not name the file: $msg"
  ;;
*) fail "unknown part $part (submit, preempt, sweep)" ;;
esac

# Stop here and check that no daemon or job process of ours is left.
trap - EXIT
pids=$(cat "$state"/pids/*.pid 2>/dev/null)
bash "$cluster" stop "$state"
for p in $pids; do kill -0 "$p" 2>/dev/null && fail "daemon pid $p still running after stop"; done
echo "OK"
