#!/usr/bin/env bash
# jobs/bench_extract.sh [CORPUS_DIR] [SER_BINARY]: throughput and memory of `ser extract`.
#
# For each rank count (RANKS, default "1 2"): one warm-up run (not counted: it brings the
# corpus into the OS page cache, so the timed runs read from memory), then REPEATS (default 3)
# timed runs, each with --force so the feature cache is never reused. Reports the median
# files/s that ser itself prints for the extraction (scan + probe + features + gather, without
# MPI start-up and without writing the feature file), the median wall time of the whole
# command, the peak resident memory of every rank (GNU time's %M; without /usr/bin/time,
# Python's getrusage(RUSAGE_CHILDREN).ru_maxrss of a wrapper around each rank), and the CPU
# time (user + sys) of all ranks: files per CPU-second is the per-core throughput, and does
# not depend on how busy the machine is (wall-clock rates on a loaded machine do).
# Prints a Markdown table on stdout; progress and the load average go to stderr.
#
#   jobs/bench_extract.sh                                   # data/tess-standin, build/mpi/ser
#   RANKS="1 2 4" REPEATS=5 jobs/bench_extract.sh /path/to/corpus build-x/mpi/ser
#   EXTRACT_ARGS="--feature-type logmel --deltas" jobs/bench_extract.sh   # other features
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
case "${1:-}" in -h|--help) sed -n '2,17p' "$0"; exit 0 ;; esac
corpus=${1:-$root/data/tess-standin}
ser=${2:-$root/build/mpi/ser}
repeats=${REPEATS:-3}
ranks_list=${RANKS:-1 2}

[[ -d "$corpus" || -f "$corpus" ]] || { echo "bench_extract: no corpus at $corpus" >&2; exit 1; }
[[ -x "$ser" ]] || { echo "bench_extract: no ser binary at $ser (run jobs/build.sh)" >&2; exit 1; }
[[ "$repeats" =~ ^[1-9][0-9]*$ ]] || { echo "bench_extract: REPEATS must be >= 1" >&2; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

work=$(mktemp -d "${TMPDIR:-/tmp}/bench_extract.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Per-rank wrapper: writes "peak-RSS-KB user-s sys-s" of the rank to $work/rss.<rank>.
cat > "$work/wrap.sh" <<'EOF'
#!/usr/bin/env bash
out=$1.${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-0}}; shift
if [[ -x /usr/bin/time ]]; then
  exec /usr/bin/time -f '%M %U %S' -o "$out" "$@"
fi
exec /usr/bin/python3 - "$out" "$@" <<'PY'
import resource, subprocess, sys
rc = subprocess.call(sys.argv[2:])
u = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write("%d %.2f %.2f\n" % (u.ru_maxrss, u.ru_utime, u.ru_stime))
sys.exit(rc)
PY
EOF

median() { sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

echo "bench_extract: corpus $corpus ($(find -L "$corpus" -name '*.wav' | wc -l) wav files), $ser" >&2
echo "bench_extract: load before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores" >&2

rows=()
for np in $ranks_list; do
  rates=() walls=() cpus=()
  declare -A peak=()
  for ((rep = 0; rep <= repeats; rep++)); do
    rm -f "$work"/rss.* "$work/f.serf"
    t0=$(date +%s.%N)
    if ! mpirun --oversubscribe -np "$np" bash "$work/wrap.sh" "$work/rss" \
        "$ser" extract --data "$corpus" --out "$work/f.serf" --force ${EXTRACT_ARGS:-} > "$work/log" 2>&1; then
      cat "$work/log" >&2
      echo "bench_extract: ser extract failed with $np rank(s)" >&2
      exit 1
    fi
    t1=$(date +%s.%N)
    line=$(grep -E '^ser: extracted ' "$work/log" || true)
    rate=$(sed -nE 's/.* ([0-9.]+) files\/s on .*/\1/p' <<< "$line")
    [[ -n "$rate" ]] || { cat "$work/log" >&2; echo "bench_extract: no rate in ser's output" >&2; exit 1; }
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b - a}')
    if ((rep == 0)); then
      echo "bench_extract: np=$np warm-up: $line (wall $wall s)" >&2
      continue
    fi
    echo "bench_extract: np=$np run $rep: $line (wall $wall s)" >&2
    rates+=("$rate") walls+=("$wall")
    cpu=0
    for ((r = 0; r < np; r++)); do
      read -r kb us ss < <(tail -n 1 "$work/rss.$r" 2>/dev/null || echo "0 0 0")
      [[ "$kb" =~ ^[0-9]+$ ]] || kb=0
      ((kb > ${peak[$r]:-0})) && peak[$r]=$kb
      cpu=$(awk -v c="$cpu" -v u="${us:-0}" -v s="${ss:-0}" 'BEGIN {printf "%.2f", c + u + s}')
    done
    cpus+=("$cpu")
  done
  med=$(printf '%s\n' "${rates[@]}" | median)
  medwall=$(printf '%s\n' "${walls[@]}" | median)
  medcpu=$(printf '%s\n' "${cpus[@]}" | median)
  files=$(sed -nE 's/^ser: extracted ([0-9]+) files \(([0-9]+) skipped\).*/\1 \2/p' "$work/log" | awk '{print $1 + $2}')
  fpc=$(awk -v f="$files" -v c="$medcpu" 'BEGIN {printf "%.0f", (c > 0) ? f / c : 0}')
  per=$(awk -v m="$med" -v n="$np" 'BEGIN {printf "%.1f", m / n}')
  rss=""
  for ((r = 0; r < np; r++)); do
    rss+="${rss:+ / }$(awk -v k="${peak[$r]:-0}" 'BEGIN {printf "%.1f", k / 1024}')"
  done
  rows+=("| $np | $med | $per | $rss | $medwall | $medcpu | $fpc | $repeats ($(printf '%s ' "${rates[@]}" | sed 's/ $//')) |")
  unset peak
done

echo "bench_extract: load after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "| ranks | files/s (median) | files/s per rank | peak RSS per rank (MB; rank 0 / 1 / ...) | wall s (median, whole command) | CPU s, all ranks (median) | files per CPU-second | repeats (files/s each) |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
