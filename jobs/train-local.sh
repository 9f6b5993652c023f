#!/usr/bin/env bash
# jobs/train-local.sh: the run of jobs/train.sbatch on one machine, through `mpirun -np N`.
#
#   jobs/train-local.sh [-n RANKS] [-t THREADS] [-o RUN_DIR] [ser train options...]
#   jobs/train-local.sh -n 2 -o results/tiny --data data/tess-standin --epochs 20
#
# RANKS defaults to the number of cores (nproc) and THREADS to 1 (ranks x threads <= cores;
# one BLAS thread per rank is usually fastest for this small model). RUN_DIR defaults to
# results/local-train. `--resume auto` is always passed: re-running the same command continues
# from the newest valid checkpoint in RUN_DIR (`kill -USR1 <mpirun pid>` makes the ranks
# checkpoint and exit with 75, like SLURM's warning signal).
#
# Environment: SER (ser binary, default build/mpi/ser next to jobs/), MPIRUN (default mpirun),
# MPIRUN_ARGS (extra mpirun options, e.g. "--oversubscribe" for more ranks than cores).
# Exit status: that of `ser train` (0 done, 75 interrupted after a checkpoint, see ser train --help).
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
np=$(nproc 2>/dev/null || echo 1)
threads=1
run=results/local-train
usage() { sed -n '4p' "${BASH_SOURCE[0]}" | sed 's/^#   /usage: /' >&2; exit 1; }
while (($#)); do
  case $1 in
    -n) [[ $# -ge 2 ]] || usage; np=$2; shift 2 ;;
    -t) [[ $# -ge 2 ]] || usage; threads=$2; shift 2 ;;
    -o) [[ $# -ge 2 ]] || usage; run=$2; shift 2 ;;
    -h|--help) usage ;;
    *) break ;;
  esac
done
[[ $np =~ ^[1-9][0-9]*$ ]] || { echo "train-local.sh: error: -n needs a positive rank count (got '$np')" >&2; exit 1; }
[[ $threads =~ ^[1-9][0-9]*$ ]] || { echo "train-local.sh: error: -t needs a positive thread count (got '$threads')" >&2; exit 1; }
ser=${SER:-$root/build/mpi/ser}
[[ -x $ser ]] || { echo "train-local.sh: error: ser binary $ser not found or not executable (set SER=...)" >&2; exit 1; }

export OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads
if [[ $(id -u) == 0 ]]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
# shellcheck disable=SC2086
${MPIRUN:-mpirun} ${MPIRUN_ARGS:-} -np "$np" "$ser" train --out "$run" --resume auto --threads "$threads" "$@"
rc=$?
case $rc in
  0) echo "train-local.sh: done: $run/report.md" >&2 ;;
  75) echo "train-local.sh: interrupted after a checkpoint; run the same command again to continue" >&2 ;;
  *) echo "train-local.sh: ser train failed with exit status $rc" >&2 ;;
esac
exit $rc
