#!/usr/bin/env bash
# jobs/test.sh [ctest args...]: the README's test command and the only thing CI runs (.ci/run).
#   1. jobs/deps.sh --test installs what is missing (Debian 12).
#   2. Normal pass: builds build/ (Release, -Werror) and runs the whole ctest suite, the lint
#      test (tests/lint.sh: clang-format, layering, function length, paths, TODOs) included.
#   3. Sanitizer pass: builds build-asan/ (RelWithDebInfo, ASan+UBSan, -Werror) and runs every
#      test that executes ser's C code except the SLURM ones (unit tests, exact sums, MFCC,
#      scan, CLI, extraction, training, resume/determinism/signals). Left out: lint and the
#      corpus_* tests (Python only; the sanitizer pass reuses the normal pass's generated
#      corpus when that pass made it), and slurm_* (they rerun the training and resume paths
#      the pass already covers, through sbatch, and would add about 4 minutes under ASan).
#   4. Fuzz pass: builds build-fuzz/ with clang (-DSER_FUZZ=ON: libFuzzer, ASan, UBSan), replays
#      every committed seed and regression input once (ctest fuzz_replay_*), then fuzzes each of
#      the seven parsers for SER_FUZZ_SECONDS (default 15) from the committed seed corpora
#      (tests/fuzz/run.sh; a crash fails the pass and is saved under tests/fuzz/regressions/).
# Every pass runs to the end, whatever fails; the exit status is non-zero if a build or a test
# failed in either pass. Extra arguments go to ctest in both passes (jobs/test.sh -R mfcc).
# Environment:
#   SER_ASAN=0             skip the sanitizer pass (quick local runs); default 1
#   SER_SANITIZE=1         the sanitizer pass only
#   SER_NORMAL_EXCLUDE=RE  ctest -E regex of the tests the normal pass leaves out
#                          (default: hostile_inputs, which the sanitizer pass runs)
#   SER_ASAN_EXCLUDE=RE    ctest -E regex of the tests the sanitizer pass leaves out
#                          (default below; empty: the whole suite, SLURM included)
#   SER_FUZZ_SECONDS=N     seconds per fuzzer in the fuzz pass; 0 skips the pass (default 15)
#   SER_BUILD_DIR, SER_ASAN_BUILD_DIR, SER_FUZZ_BUILD_DIR   build directories
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/jobs/deps.sh" --test || exit 1

normal_dir=${SER_BUILD_DIR:-$root/build}
asan_dir=${SER_ASAN_BUILD_DIR:-$root/build-asan}
asan_exclude=${SER_ASAN_EXCLUDE-'^(lint|corpus_.*|slurm_.*)$'}
run_normal=1 run_asan=${SER_ASAN:-1}
if [[ ${SER_SANITIZE:-0} == 1 ]]; then run_normal=0 run_asan=1; fi

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# UBSan: a stack trace with each report (every check is fatal: -fno-sanitize-recover).
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
jobs=$(nproc)
results=()
status=0

# run_pass NAME DIR CTEST_ARGS... -- CMAKE_ARGS...: build DIR, run ctest there. A build failure
# still runs the lint test when the configure step got that far.
run_pass() {
    local name=$1 dir=$2 t0=$SECONDS
    shift 2
    local ctest_args=() cmake_args=()
    while (($#)) && [[ $1 != -- ]]; do ctest_args+=("$1"); shift; done
    shift
    cmake_args=("$@")
    rm -f "$dir/ctest-ser.log"
    echo "=== ser test: $name pass: build $dir" >&2
    if ! "$root/jobs/build.sh" "$dir" -DSER_WERROR=ON "${cmake_args[@]}"; then
        results+=("$name: BUILD FAILED after $((SECONDS - t0)) s")
        status=1
        if [[ -f $dir/CTestTestfile.cmake ]]; then
            echo "=== ser test: $name pass: build failed; running the lint test alone" >&2
            (cd "$dir" && ctest --output-on-failure -L lint) || true
        fi
        return
    fi
    local t1=$SECONDS
    echo "=== ser test: $name pass: ctest ${ctest_args[*]}" >&2
    local rc=0
    (cd "$dir" && ctest --output-on-failure -j "$jobs" "${ctest_args[@]}") 2>&1 |
        tee "$dir/ctest-ser.log" || rc=$?
    local verdict=passed
    if ((rc)); then verdict=FAILED status=1; fi
    results+=("$name: tests $verdict (build $((t1 - t0)) s, tests $((SECONDS - t1)) s)")
}

# The hostile-input suite runs in the sanitizer pass only (where it also catches memory errors).
normal_exclude=${SER_NORMAL_EXCLUDE-'^hostile_inputs$'}
if ((run_normal)); then
    normal_args=()
    if [[ -n $normal_exclude ]]; then normal_args+=(-E "$normal_exclude"); fi
    run_pass normal "$normal_dir" "${normal_args[@]}" "$@" --
fi

if [[ $run_asan == 1 ]]; then
    asan_args=()
    if [[ -n $asan_exclude ]]; then asan_args+=(-E "$asan_exclude"); fi
    # The stand-in corpus (Python, unsanitised) is made once: when the normal pass made it in
    # this run, the sanitizer pass uses a copy instead of the corpus_generate fixture.
    if ((run_normal)) && [[ -d $normal_dir/corpus10 && -f $normal_dir/ctest-ser.log ]] &&
        grep -qE 'Test +#[0-9]+: corpus_generate \.+ +Passed' "$normal_dir/ctest-ser.log"; then
        mkdir -p "$asan_dir"
        rm -rf "$asan_dir/corpus10"
        cp -a "$normal_dir/corpus10" "$asan_dir/corpus10"
        asan_args+=(-FS corpus10)
    fi
    run_pass sanitizer "$asan_dir" "${asan_args[@]}" "$@" -- \
        -DSER_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo
fi

fuzz_secs=${SER_FUZZ_SECONDS:-15}
if ((run_normal)) && [[ $fuzz_secs =~ ^[0-9]+$ ]] && ((fuzz_secs > 0)); then
    fuzz_dir=${SER_FUZZ_BUILD_DIR:-$root/build-fuzz}
    t0=$SECONDS
    echo "=== ser test: fuzz pass: build $fuzz_dir" >&2
    if CC=clang cmake -S "$root" -B "$fuzz_dir" -DSER_FUZZ=ON -DCMAKE_C_COMPILER=clang \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null && cmake --build "$fuzz_dir" --target fuzz -j "$jobs"; then
        verdict=passed
        (cd "$fuzz_dir" && ctest --output-on-failure -R '^fuzz_replay_') || verdict=FAILED
        bash "$root/tests/fuzz/run.sh" "$fuzz_dir" "$fuzz_secs" || verdict=FAILED
        [[ $verdict == passed ]] || status=1
        results+=("fuzz: replay and ${fuzz_secs} s per fuzzer $verdict ($((SECONDS - t0)) s)")
    else
        results+=("fuzz: BUILD FAILED after $((SECONDS - t0)) s")
        status=1
    fi
fi

echo "=== ser test: summary" >&2
printf '  %s\n' "${results[@]}" >&2
exit "$status"
