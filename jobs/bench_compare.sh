#!/usr/bin/env bash
# jobs/bench_compare.sh OLD_SER NEW_SER [DATA] [ROUNDS]: training throughput of two ser binaries
# measured in one run, alternating (old, new, old, new, ...) so that machine noise hits both
# alike. Per round and binary:
#   - `ser bench --threads 1 --repeat 50`: samples/s of one training step (median of 50);
#   - `mpirun -np 2 ser train --epochs 3 --lr-factor 1 --quiet` on DATA (default
#     data/tess-standin; features extracted once beforehand by each binary): the median of
#     the epochs' samples/s from metrics.tsv (training time only, validation excluded).
# Prints one line per measurement and the medians over ROUNDS (default 3) with new/old ratios.
# Use it when the hot path changes; run it on a quiet machine.
set -euo pipefail
old=$(realpath "$1") new=$(realpath "$2")
data=${3:-data/tess-standin}
rounds=${4:-3}
work=$(mktemp -d /tmp/ser-bench-compare.XXXXXX)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

for b in old new; do
  bin=$old; [[ $b == new ]] && bin=$new
  "$bin" extract --data "$data" --out "$work/$b.serf" --quiet
done
for ((r = 1; r <= rounds; r++)); do
  for b in old new; do
    bin=$old; [[ $b == new ]] && bin=$new
    sps=$("$bin" bench --threads 1 --repeat 50 | grep '"what":"train"' |
          sed 's/.*"samples_per_s":\([0-9.]*\).*/\1/')
    echo "$b bench $sps" | tee -a "$work/results"
    rm -rf "$work/run-$b"
    mpirun -np 2 --bind-to none "$bin" train --data "$data" --features "$work/$b.serf" \
      --out "$work/run-$b" --epochs 3 --lr-factor 1 --patience 100 --quiet > /dev/null
    tr=$(tail -n +2 "$work/run-$b/metrics.tsv" | cut -f8 | median)
    echo "$b train2 $tr" | tee -a "$work/results"
  done
done
echo "medians over $rounds rounds (samples/s):"
for m in bench train2; do
  o=$(awk -v m=$m '$1 == "old" && $2 == m {print $3}' "$work/results" | median)
  n=$(awk -v m=$m '$1 == "new" && $2 == m {print $3}' "$work/results" | median)
  awk -v m=$m -v o="$o" -v n="$n" 'BEGIN {printf "  %-7s old %8.1f  new %8.1f  new/old %.3f\n", m, o, n, n / o}'
done
