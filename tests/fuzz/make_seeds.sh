#!/usr/bin/env bash
# tests/fuzz/make_seeds.sh BUILD_DIR: regenerates the generated seeds of tests/fuzz/corpus/
# (valid-* and edge-* files of pack, ckpt, features and audio; config/valid-defaults.txt;
# spec/valid-default.txt) with BUILD_DIR/fuzz/fuzz_make_seeds (tests/fuzz/make_seeds.c, built
# with -DSER_FUZZ=ON). Run it when a file format, the option table or the default model
# changes: ctest fuzz_replay_<target> fails when a committed valid-* seed is refused. The
# hand-made cases (the other files of corpus/) are left alone. Commit the result.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if (($# != 1)); then
    echo "usage: tests/fuzz/make_seeds.sh BUILD_DIR" >&2
    exit 2
fi
gen=$1/fuzz/fuzz_make_seeds
if [[ ! -x $gen ]]; then
    echo "make_seeds.sh: $gen not found: build with -DSER_FUZZ=ON" >&2
    exit 2
fi
for t in pack ckpt features audio; do
    rm -f "$here/corpus/$t"/valid-* "$here/corpus/$t"/edge-*
done
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} OPENBLAS_NUM_THREADS=1 "$gen" "$here/corpus"
