#!/usr/bin/env bash
# jobs/test.sh: the README's test command. Installs what is missing (Debian 12), builds ser
# into build/ and runs the whole test suite with ctest. Extra arguments go to ctest
# (e.g. jobs/test.sh -R mfcc). SER_SANITIZE=1 builds into build-asan/ with ASan+UBSan.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/jobs/deps.sh" --test
dir=$root/build
args=()
if [[ "${SER_SANITIZE:-0}" == 1 ]]; then
  dir=$root/build-asan
  args=(-DSER_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo)
fi
"$root/jobs/build.sh" "$dir" -DSER_WERROR=ON "${args[@]}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd "$dir"
ctest --output-on-failure -j "$(nproc)" "$@"
