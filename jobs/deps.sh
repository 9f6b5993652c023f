#!/usr/bin/env bash
# jobs/deps.sh [--test]: install the Debian 12 packages ser needs, only those that are missing.
# Without --test: what building and running needs. With --test: also the test references
# (numpy/scipy/sklearn/torch for independent implementations), SLURM, clang-format (the lint
# test checks formatting with Debian 12's clang-format 14) and clang with its runtime
# libraries (libFuzzer). The sanitizer build needs nothing more: gcc's ASan/UBSan runtimes come
# with build-essential. Needs root (or sudo) only when something is missing.
set -euo pipefail

pkgs=(build-essential cmake pkg-config git
      libopenmpi-dev openmpi-bin libopenblas-dev libsndfile1-dev libfftw3-dev zlib1g-dev
      libsoxr-dev espeak-ng sox python3)
if [[ "${1:-}" == "--test" ]]; then
  pkgs+=(python3-numpy python3-scipy python3-sklearn python3-torch slurmctld slurmd slurm-client munge
        clang-format clang libclang-rt-14-dev)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
echo "ser: installing missing Debian packages: ${missing[*]}" >&2
sudo=()
if [[ $(id -u) -ne 0 ]]; then sudo=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
