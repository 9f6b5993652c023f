#!/usr/bin/env bash
# jobs/generalise.sh [--rows R1,R2] [--cols C1,C2] [--seeds "1 2 3"] [--np N] [--table-only]: the measurements
# of results/generalise.md (issue "Generalise across speakers").
#
# Every row is a recipe (the table ROWS below: the seed recipe, the 2-D CNN, each method added
# alone to the 2-D CNN, and --preset robust); every row is run with every seed on
#   tess-loso     --cv loso on the TESS stand-in (2 folds: train on one speaker, test on the
#                 other; both directions are reported)
#   savee-loso    --cv loso on SAVEE (4 speakers)
#   emodb-cv5     --cv 5 on EmoDB (10 speakers dealt into 5 folds of 2)
#   ravdess-cv3   --cv 3 on RAVDESS speech (12 actors dealt into 3 folds of 4)
#   tess-random   a random stratified split of the TESS stand-in (accuracy)
# on reduced stand-ins (TESS 60 words = 840 files, RAVDESS 12 actors; SAVEE and EmoDB whole),
# generated once into data/ by jobs/make_corpus.py (generator versions: TESS 2, others 1;
# recorded in each stand-in's manifest). Pass real corpora with SER_TESS=... SER_SAVEE=...
# SER_EMODB=... SER_RAVDESS=... instead.
#
# Runs go to data/generalise/ROW/sSEED/COL (not committed); every run's summary.json is read
# back into results/generalise/runs.tsv (one line per run) and the table of
# results/generalise.md (mean ± population std over seeds). --table-only rebuilds the table
# from the runs already there. SER_BIN: the ser binary (default build/mpi/ser).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
rows_sel="" cols_sel="" seeds="1 2 3" np=$(nproc) table_only=0
while (($#)); do
    case "$1" in
        --rows) rows_sel=$2; shift 2 ;;
        --cols) cols_sel=$2; shift 2 ;;
        --seeds) seeds=$2; shift 2 ;;
        --np) np=$2; shift 2 ;;
        --table-only) table_only=1; shift ;;
        -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
        *) echo "generalise.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
ser=${SER_BIN:-$root/build/mpi/ser}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1

# ROWS: name | what it is | the options (added to the common ones below).
# The 2-D CNN (model specs go in files: an option value may not hold spaces here).
cnn2d="conv2d:32:3x3 batchnorm relu maxpool2d:2x2 conv2d:64:3x3 batchnorm relu"
cnn2d+=" maxpool2d:2x2 conv2d:128:3x3 batchnorm relu maxpool2d:2x2 gap dropout:0.3 dense"
mkdir -p data/generalise
echo "$cnn2d" > data/generalise/cnn2d.spec
echo "reshape:3 $cnn2d" > data/generalise/cnn2d-3planes.spec
ROWS=(
    "seed|the seed recipe (--preset seed)|--preset seed"
    "cnn2d|2-D CNN (3 x conv2d 3x3 + batchnorm + relu + maxpool 2x2, gap, dropout)|@CNN"
    "logmel|2-D CNN + log-mel (128 bands)|@CNN --feature-type logmel"
    "deltas|2-D CNN + deltas (MFCC, Δ, ΔΔ as 3 planes)|--model data/generalise/cnn2d-3planes.spec --deltas"
    "norm-speaker|2-D CNN + per-speaker normalisation|@CNN --norm speaker"
    "norm-utt|2-D CNN + per-utterance normalisation|@CNN --norm utterance"
    "specaug|2-D CNN + SpecAugment 8,20,2,2|@CNN --spec-augment 8,20,2,2"
    "mixup|2-D CNN + mixup 0.2|@CNN --mixup 0.2"
    "smooth|2-D CNN + label smoothing 0.1|@CNN --label-smoothing 0.1"
    "robust|--preset robust (the combination)|--preset robust"
)
COLS=(tess-loso savee-loso emodb-cv5 ravdess-cv3 tess-random)
common=(--epochs 30 --patience 6 --batch-size 32 --monitor val_uar --quiet --overwrite)

gen() { # gen NAME ENVVAR OPTIONS...: the corpus folder (a real one from $ENVVAR, or a stand-in)
    local name=$1 var=$2
    shift 2
    if [[ -n ${!var:-} ]]; then echo "${!var}"; return; fi
    local out=data/$name-gen
    if [[ ! -f $out/.complete ]]; then
        /usr/bin/python3 jobs/make_corpus.py --corpus "$name" --out "$out" --quiet "$@" >&2
        touch "$out/.complete"
    fi
    echo "$out"
}

col_args() { # col_args COL: the data and protocol options of a column
    case "$1" in
        tess-loso) echo "--data $tess --cv loso" ;;
        savee-loso) echo "--data $savee --cv loso" ;;
        emodb-cv5) echo "--data $emodb --cv 5" ;;
        ravdess-cv3) echo "--data $ravdess --cv 3" ;;
        tess-random) echo "--data $tess --split random" ;;
    esac
}

if [[ $table_only == 0 ]]; then
    [[ -x $ser ]] || "$root/jobs/build.sh" "$root/build"
    tess=$(gen tess SER_TESS --words 60) savee=$(gen savee SER_SAVEE) emodb=$(gen emodb SER_EMODB)
    ravdess=$(gen ravdess SER_RAVDESS --speakers 12)
    for row in "${ROWS[@]}"; do
        IFS='|' read -r name what opts <<< "$row"
        [[ -z $rows_sel || ",$rows_sel," == *",$name,"* ]] || continue
        opts=${opts//@CNN/--model data/generalise/cnn2d.spec}
        for s in $seeds; do
            for col in "${COLS[@]}"; do
                [[ -z $cols_sel || ",$cols_sel," == *",$col,"* ]] || continue
                out=data/generalise/$name/s$s/$col
                [[ -f $out/summary.json ]] && continue
                feat=data/generalise/features/$col-$name.serf
                mkdir -p "$out" "$(dirname "$feat")"
                t0=$SECONDS
                echo "== $name seed $s $col" >&2
                # shellcheck disable=SC2046,SC2086 # the options are word lists by design
                mpirun -np "$np" "$ser" train --out "$out" --features "$feat" --seed "$s" \
                    "${common[@]}" $(col_args "$col") $opts
                printf 'command: mpirun -np %s ser train --out %s --features %s --seed %s %s %s %s\nwall: %d s\n' \
                    "$np" "$out" "$feat" "$s" "${common[*]}" "$(col_args "$col")" "$opts" \
                    $((SECONDS - t0)) > "$out/command.txt"
            done
        done
    done
fi

# The table, from the runs' own summary.json files.
mkdir -p results/generalise
/usr/bin/python3 - "$np" "${ROWS[@]}" <<'PY'
import json, os, statistics, sys
np_, rows = sys.argv[1], [r.split("|") for r in sys.argv[2:]]
cols = ["tess-loso", "savee-loso", "emodb-cv5", "ravdess-cv3", "tess-random"]
base = "data/generalise"
lines = ["row\tseed\tcolumn\tmetric\tvalue\twall_s"]

def load(name, seed, col):
    p = os.path.join(base, name, seed, col, "summary.json")
    if not os.path.isfile(p):
        return None
    with open(p) as f:
        s = json.load(f)
    wall = None
    c = os.path.join(base, name, seed, col, "command.txt")
    if os.path.isfile(c):
        for line in open(c):
            if line.startswith("wall:"):
                wall = float(line.split()[1])
    return s, wall

def fold_uars(s):
    return [f["uar"] for f in s["folds"]]

def ms(v):
    if not v:
        return "–"
    m = statistics.fmean(v)
    sd = statistics.pstdev(v) if len(v) > 1 else 0.0
    return f"{100 * m:.1f} ± {100 * sd:.1f}" if len(v) > 1 else f"{100 * m:.1f}"

table = []
for name, what, opts in rows:
    d = os.path.join(base, name)
    seeds = sorted(os.listdir(d)) if os.path.isdir(d) else []
    acc = {k: [] for k in ["ab", "ba", "savee", "emodb", "ravdess", "random"]}
    walls = []
    for sd in seeds:
        for col in cols:
            got = load(name, sd, col)
            if not got:
                continue
            s, wall = got
            if wall:
                walls.append(wall)
            if col == "tess-random":
                v = s["test_accuracy"]
                acc["random"].append(v)
                lines.append(f"{name}\t{sd}\t{col}\taccuracy\t{v:.4f}\t{wall}")
                continue
            if col == "tess-loso":
                u = fold_uars(s)
                acc["ab"].append(u[0]); acc["ba"].append(u[1])
                lines.append(f"{name}\t{sd}\t{col}:fold1\tuar\t{u[0]:.4f}\t{wall}")
                lines.append(f"{name}\t{sd}\t{col}:fold2\tuar\t{u[1]:.4f}\t{wall}")
                continue
            v = s["mean"]["uar"]
            acc[col.split("-")[0]].append(v)
            lines.append(f"{name}\t{sd}\t{col}\tuar\t{v:.4f}\t{wall}")
    n = len(seeds)
    si = [statistics.fmean(acc[k]) for k in ["ab", "ba", "savee", "emodb", "ravdess"] if acc[k]]
    table.append(f"| {name} | {what} | {ms(acc['ab'])} | {ms(acc['ba'])} | {ms(acc['savee'])} | "
                 f"{ms(acc['emodb'])} | {ms(acc['ravdess'])} | "
                 f"{100 * statistics.fmean(si):.1f} | {ms(acc['random'])} | "
                 f"{sum(walls) / max(n, 1):.0f} s | {n} |" if si else
                 f"| {name} | {what} | – | – | – | – | – | – | – | – | 0 |")
with open("results/generalise/runs.tsv", "w") as f:
    f.write("\n".join(lines) + "\n")
hdr = ("| row | recipe | TESS YAF→OAF UAR | TESS OAF→YAF UAR | SAVEE LOSO UAR | EmoDB 5-fold UAR | "
       "RAVDESS 3-fold UAR | mean of the five | TESS random-split accuracy | wall per seed | seeds |\n"
       "|---|---|---|---|---|---|---|---|---|---|---|")
with open("results/generalise/table.md", "w") as f:
    f.write(hdr + "\n" + "\n".join(table) + "\n")
print(hdr); print("\n".join(table))
PY
