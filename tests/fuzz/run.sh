#!/usr/bin/env bash
# tests/fuzz/run.sh BUILD_DIR SECONDS [TARGET...]: runs each fuzzer (all seven by default:
# pack ckpt features manifest config spec audio) for SECONDS with libFuzzer, one after the
# other. Builds nothing: configure and build BUILD_DIR with -DSER_FUZZ=ON first (see
# tests/fuzz/fuzz.cmake). Each fuzzer works on a temporary copy of corpus/<target>/, so the
# committed seeds are never modified (regressions/ are not seeds: the replay runs them);
# -timeout=10, -rss_limit_mb=2048. Every crash, leak, timeout or out-of-memory input is
# copied into tests/fuzz/regressions/<target>/ (minimise it, give it a telling name, commit
# it) and the script exits 1. Logs: BUILD_DIR/fuzz/logs/<target>.log. More libFuzzer
# options: SER_FUZZ_ARGS="-max_len=65536 ...". Environment defaults (override them by setting
# them): ASAN_OPTIONS, UBSAN_OPTIONS (stack traces, every report fatal), LSAN_OPTIONS (the
# third-party leak suppressions of tests/fuzz/lsan.supp).
#
# tests/fuzz/run.sh --replay BUILD_DIR [TARGET...]: runs every file of corpus/<target>/ and
# regressions/<target>/ once (ctest fuzz_replay_<target>); files named valid-* must be
# accepted by the parser (SER_FUZZ_EXPECT_VALID, see fuzz_util.h). Exit 1 if any input fails.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
all=(pack ckpt features manifest config spec audio)
usage() {
    sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

replay=0
if [[ ${1:-} == --replay ]]; then
    replay=1
    shift
fi
(($# >= 1 + !replay)) || usage
build=$(cd "$1" && pwd) || exit 2
shift
if ((!replay)); then
    secs=$1
    shift
    [[ $secs =~ ^[0-9]+$ && $secs -gt 0 ]] || usage
fi
targets=("$@")
((${#targets[@]})) || targets=("${all[@]}")

# Sanitizer reports stop the run with a stack; OpenBLAS uses one thread.
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# leaks inside third-party libraries (see the file)
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$here/lsan.supp:print_suppressions=0}
export OPENBLAS_NUM_THREADS=1

binary() {
    local b=$build/fuzz/fuzz_$1
    if [[ ! -x $b ]]; then
        echo "run.sh: $b not found: build with -DSER_FUZZ=ON (tests/fuzz/fuzz.cmake)" >&2
        return 1
    fi
    printf '%s\n' "$b"
}

fail=0
if ((replay)); then
    for t in "${targets[@]}"; do
        bin=$(binary "$t") || exit 2
        bad=0 valid=() other=()
        for f in "$here/corpus/$t"/* "$here/regressions/$t"/*; do
            [[ -f $f ]] || continue
            if [[ $(basename "$f") == valid-* ]]; then valid+=("$f"); else other+=("$f"); fi
        done
        log=$build/fuzz/replay-$t.log
        : >"$log"
        if ((${#valid[@]})); then
            SER_FUZZ_EXPECT_VALID=1 "$bin" "${valid[@]}" >"$log" 2>&1 || bad=1
        fi
        if ((${#other[@]})); then
            "$bin" "${other[@]}" >>"$log" 2>&1 || bad=1
        fi
        if ((bad)); then
            fail=1
            grep -v -E '^(Running|Executed|INFO): ' "$log"
            echo "fuzz replay $t: FAILED (${#valid[@]} valid-* seeds, ${#other[@]} other inputs; log $log)"
        else
            echo "fuzz replay $t: ok (${#valid[@]} valid-* seeds accepted, ${#other[@]} other inputs)"
        fi
    done
    exit $fail
fi

mkdir -p "$build/fuzz/logs"
for t in "${targets[@]}"; do
    bin=$(binary "$t") || exit 2
    work=$(mktemp -d "${TMPDIR:-/tmp}/ser-fuzz-$t.XXXXXX") || exit 2
    mkdir -p "$work/corpus" "$work/artifacts"
    cp -p "$here/corpus/$t"/* "$work/corpus/"
    log=$build/fuzz/logs/$t.log
    start=$SECONDS
    rc=0
    # shellcheck disable=SC2086 # SER_FUZZ_ARGS is a list of options
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/" ${SER_FUZZ_ARGS:-} "$work/corpus" >"$log" 2>&1 || rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
    shopt -s nullglob
    found=("$work/artifacts"/*)
    shopt -u nullglob
    if ((rc != 0 || ${#found[@]})); then
        fail=1
        mkdir -p "$here/regressions/$t"
        for a in "${found[@]}"; do cp "$a" "$here/regressions/$t/"; done
        echo "fuzz $t: FAILED (exit $rc) after $((SECONDS - start)) s; ${#found[@]} input(s) copied to tests/fuzz/regressions/$t/; log $log:"
        grep -E -A40 'ERROR: |runtime error|FUZZ_CHECK failed' "$log" | head -60
    else
        echo "fuzz $t: ok, $((SECONDS - start)) s, ${execs:-?} inputs run, ${cov:-no coverage line}"
    fi
    rm -rf "$work"
done
exit $fail
