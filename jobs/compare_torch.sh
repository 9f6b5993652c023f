#!/usr/bin/env bash
# compare_torch.sh: ser train vs the PyTorch reference (jobs/torch_reference.py) on the same
# features and the same split (issue 3's accuracy acceptance).
#
# For each seed in SEEDS (random split) and each speaker in SPEAKERS (--split speaker:NAME,
# seed SPEAKER_SEED), runs `mpirun -np RANKS ser train` and then the PyTorch reference on ser's
# feature cache and ser's RUN_DIR/split.csv, sequentially, and prints a Markdown table
# (seed | ser acc | ser macro-F1 | torch acc | torch macro-F1 | epochs ser/torch, with means)
# and the acceptance check for the random split: ser's mean accuracy and macro-F1 must be at
# least torch's mean minus 0.01 and at least 0.95. Exit 0 if it holds, 1 if not, 2 on errors.
# Finished runs (summary.json / torch JSON present) are reused, so an interrupted comparison
# continues where it stopped; FRESH=1 reruns everything.
#
#   jobs/compare_torch.sh                       # defaults below
#   SEEDS="1 2 3" SPEAKERS="YAF OAF" WORK=/tmp/cmp jobs/compare_torch.sh
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SER=${SER:-$ROOT/build/mpi/ser}
DATA=${DATA:-$ROOT/data/tess-standin}
FEATURES=${FEATURES:-${DATA%/}.features.serf}
WORK=${WORK:-/tmp/ser-compare}
SEEDS=${SEEDS:-"1 2 3"}
SPEAKERS=${SPEAKERS-"YAF OAF"}
SPEAKER_SEED=${SPEAKER_SEED:-1}
RANKS=${RANKS:-2}
TORCH_THREADS=${TORCH_THREADS:-1}  # results do not depend on it; 1 avoids OpenMP spinning on a busy 2-core box
PY=${PY:-/usr/bin/python3}
FRESH=${FRESH:-0}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

[ -x "$SER" ] || { echo "compare_torch.sh: $SER: not an executable (set SER=)" >&2; exit 2; }
mkdir -p "$WORK" || exit 2

# one_run NAME SPLIT SEED: ser then torch, unless both results exist already.
one_run() {
    local name=$1 split=$2 seed=$3 dir=$WORK/$1
    if [ "$FRESH" = 1 ] || [ ! -s "$dir/summary.json" ]; then
        echo "== ser train $name (split $split, seed $seed)" >&2
        rm -rf "$dir"
        mpirun --oversubscribe -np "$RANKS" "$SER" train --data "$DATA" --features "$FEATURES" \
            --out "$dir" --split "$split" --seed "$seed" --quiet >"$WORK/$name.ser.log" 2>&1 ||
            { echo "compare_torch.sh: ser train failed, see $WORK/$name.ser.log" >&2; return 1; }
        cat "$WORK/$name.ser.log" >&2
    fi
    if [ "$FRESH" = 1 ] || [ ! -s "$WORK/$name.torch.json" ]; then
        echo "== torch reference $name" >&2
        "$PY" "$ROOT/jobs/torch_reference.py" --features "$FEATURES" --split-csv "$dir/split.csv" \
            --seed "$seed" --threads "$TORCH_THREADS" --quiet --out "$WORK/$name.torch.json" \
            >"$WORK/$name.torch.log" 2>&1 ||
            { echo "compare_torch.sh: torch reference failed, see $WORK/$name.torch.log" >&2; return 1; }
        cat "$WORK/$name.torch.log" >&2
    fi
}

rows=()
for s in $SEEDS; do
    one_run "random-s$s" random "$s" || exit 2
    rows+=("random-s$s")
done
for sp in $SPEAKERS; do
    one_run "speaker-$sp-s$SPEAKER_SEED" "speaker:$sp" "$SPEAKER_SEED" || exit 2
    rows+=("speaker-$sp-s$SPEAKER_SEED")
done

"$PY" - "$WORK" "${rows[@]}" <<'EOF'
import json, statistics, sys
work, names = sys.argv[1], sys.argv[2:]
def table(title, group):
    print(f"\n### {title}\n")
    print("| run | ser acc | ser macro-F1 | torch acc | torch macro-F1 | epochs (best) ser / torch |")
    print("|---|---|---|---|---|---|")
    cols = {k: [] for k in ("sa", "sf", "ta", "tf")}
    for n in group:
        s = json.load(open(f"{work}/{n}/summary.json"))
        t = json.load(open(f"{work}/{n}.torch.json"))
        v = (s["test_accuracy"], s["test_macro_f1"], t["test_accuracy"], t["test_macro_f1"])
        for k, x in zip(cols, v):
            cols[k].append(x)
        print(f"| {n} | {v[0]:.4f} | {v[1]:.4f} | {v[2]:.4f} | {v[3]:.4f} | "
              f"{s['epochs_run']} ({s['best_epoch']}) / {t['epochs_run']} ({t['best_epoch']}) |")
    m = {k: statistics.mean(x) for k, x in cols.items()}
    print(f"| **mean** | {m['sa']:.4f} | {m['sf']:.4f} | {m['ta']:.4f} | {m['tf']:.4f} | |")
    return m
rnd = [n for n in names if n.startswith("random")]
spk = [n for n in names if n.startswith("speaker")]
ok = True
if rnd:
    m = table("Random split (stratified 70/15/15)", rnd)
    acc_ok = m["sa"] >= m["ta"] - 0.01 and m["sa"] >= 0.95
    f1_ok = m["sf"] >= m["tf"] - 0.01 and m["sf"] >= 0.95
    print(f"\nacceptance (random split, means): accuracy {m['sa']:.4f} >= max(torch "
          f"{m['ta']:.4f} - 0.01, 0.95): {'PASS' if acc_ok else 'FAIL'}; macro-F1 "
          f"{m['sf']:.4f} >= max(torch {m['tf']:.4f} - 0.01, 0.95): "
          f"{'PASS' if f1_ok else 'FAIL'}")
    ok = acc_ok and f1_ok
if spk:
    table("Speaker-independent split (test speaker held out)", spk)
sys.exit(0 if ok else 1)
EOF
