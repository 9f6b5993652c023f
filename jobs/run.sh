#!/usr/bin/env bash
# jobs/run.sh: the README's main command. Installs what is missing (Debian 12), builds ser into
# build/, synthesises the stand-in TESS corpus into data/tess-standin (once) unless --data names
# a corpus, then trains the default CNN-LSTM with mpirun on this machine: sharded feature
# extraction (cached in <data>.features.serf), data-parallel training with early stopping,
# test-set evaluation and a report in results/<date>-<time>/ (or --out RUN_DIR).
#
#   jobs/run.sh                         # stand-in corpus, one rank per core
#   jobs/run.sh --data /path/to/TESS    # the real TESS (either release), unchanged
#   jobs/run.sh --np 4 --epochs 30      # rank count; other options go to `ser train`
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
np=$(nproc)
data=
args=()
while (($#)); do
  case "$1" in
    --np) np=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) args+=("$1"); shift ;;
  esac
done

"$root/jobs/deps.sh"
"$root/jobs/build.sh" "$root/build"

if [[ -z "$data" ]]; then
  # relative to the repository root (where ser runs below): reports name no machine's paths
  data=data/tess-standin
  /usr/bin/python3 "$root/jobs/make_corpus.py" --out "$root/$data"
else
  data=$(realpath -- "$data")   # ser runs in the repository root below
fi

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpi=(mpirun -np "$np" --bind-to none)
if ((np > $(nproc))); then mpi+=(--oversubscribe); fi
cd "$root"
"${mpi[@]}" "$root/build/mpi/ser" train --data "$data" "${args[@]}"
