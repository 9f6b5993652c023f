#!/usr/bin/env bash
# tests/lint.sh [SOURCE_DIR]: the repository's enforced habits, run by ctest as `lint`
# (tests/lint.cmake) and so by jobs/test.sh and CI. Looks at the files git tracks (their
# working-tree contents); every violation is printed as FILE:LINE: message. All checks run;
# the exit status is 1 if any failed.
#   format    every tracked .c/.h is clean under clang-format 14 (.clang-format)
#   layering  dsp/ includes nothing from nn/ or mpi/, nn/ nothing from dsp/ or mpi/, and only
#             files under mpi/comm/ include <mpi.h>
#   length    no function in mpi/, nn/, dsp/ (any depth) is longer than 120 lines: from the
#             signature (a column-0 line that starts with an identifier and holds a '(') to
#             its closing brace at column 0
#   paths     no tracked file (.svg excepted) names a place outside the repository: the
#             parent's shared folder, /work or /farm
#   todo      no TODO, FIXME or XXX in mpi/, nn/, dsp/ (mkstemp's XXXXXX is not one)
# SER_LINT_CHECKS="format length" runs only those checks; SER_CLANG_FORMAT names the binary;
# SER_LINT_UNTRACKED=1 also checks new files not yet added (untracked, not ignored): what the
# next commit may hold (CI's fresh clone has none, so CI does not set it).
set -uo pipefail

src=$(cd "${1:-$(dirname "${BASH_SOURCE[0]}")/..}" && pwd) || exit 2
checks=${SER_LINT_CHECKS:-format layering length paths todo}
max_fn_lines=120

# -c safe.directory: CI runs as root, possibly on a checkout owned by another user.
g() { git -c safe.directory="$src" -C "$src" "$@"; }
if ! g rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "lint: $src is not a git checkout (lint checks the files git tracks)" >&2
    exit 2
fi

others=() grep_others=()
if [[ ${SER_LINT_UNTRACKED:-0} == 1 ]]; then others=(--others --exclude-standard) grep_others=(--untracked); fi

# Tracked files matching the pathspecs that exist in the working tree, one per line.
tracked() {
    g ls-files -z --cached "${others[@]}" -- "$@" | while IFS= read -r -d '' f; do
        if [[ -f $src/$f ]]; then printf '%s\n' "$f"; fi
    done
}

# FILE:LINE:TEXT lines (git grep -n) -> at most 5 per file, then a count of the rest.
cap_per_file() {
    awk -v msg="$1" '{
        i = index($0, ":"); f = substr($0, 1, i - 1); r = substr($0, i + 1)
        j = index(r, ":"); ln = substr(r, 1, j - 1); t = substr(r, j + 1)
        sub(/^[ \t]+/, "", t); if (length(t) > 100) t = substr(t, 1, 100) "..."
        n[f]++
        if (n[f] == 1) files[++nf] = f
        if (n[f] <= 5) printf "%s:%s: %s: %s\n", f, ln, msg, t
    } END {
        for (k = 1; k <= nf; k++)
            if (n[files[k]] > 5) printf "%s: ... and %d more such lines\n", files[k], n[files[k]] - 5
    }'
}

check_format() {
    local cf=${SER_CLANG_FORMAT:-}
    if [[ -z $cf ]]; then
        if command -v clang-format-14 >/dev/null; then cf=clang-format-14; else cf=clang-format; fi
    fi
    if ! command -v "$cf" >/dev/null; then
        echo "lint: $cf not found (jobs/deps.sh --test installs clang-format)"
        return 1
    fi
    local ver
    ver=$("$cf" --version)
    if [[ ! $ver =~ version\ 14\. ]]; then
        echo "lint: the format check needs clang-format 14 (Debian 12's); $cf is: $ver"
        return 1
    fi
    local files out rc=0
    mapfile -t files < <(tracked '*.c' '*.h')
    ((${#files[@]})) || { echo "lint: format: no .c/.h files"; return 0; }
    out=$(cd "$src" && "$cf" --dry-run -Werror -- "${files[@]}" 2>&1) || rc=$?
    if ((rc)); then
        # FILE:LINE:COL: error: code should be clang-formatted -> one line per file
        local summary
        summary=$(printf '%s\n' "$out" | awk '
            match($0, /^.+:[0-9]+:[0-9]+: (error|warning): /) {
                split(substr($0, 1, RLENGTH), p, ":"); f = p[1]
                if (!(f in n)) { order[++nf] = f; first[f] = p[2] }
                n[f]++
            }
            END { for (k = 1; k <= nf; k++) printf "%s:%s: format: not clang-format clean (%d places differ, first here)\n", order[k], first[order[k]], n[order[k]] }')
        if [[ -z $summary ]]; then
            printf '%s\n' "$out"
            echo "lint: $cf failed (exit $rc) without naming a file"
            return 1
        fi
        printf '%s\n' "$summary"
        local bad
        mapfile -t bad < <(printf '%s\n' "$summary" | cut -d: -f1)
        echo "lint: ${#bad[@]} of ${#files[@]} tracked .c/.h files differ from clang-format 14 (.clang-format):"
        printf '  %s\n' "${bad[@]}"
        echo "  fix: clang-format -i ${bad[*]}"
        return 1
    fi
    local n=${#files[@]}
    echo "lint: format: $n .c/.h files clean"
}

check_layering() {
    local fail=0 dir forbid files hits rc
    local inc='^[[:space:]]*#[[:space:]]*include[[:space:]]*'
    # dsp/ and nn/ are independent of each other and of mpi/ ("../" spellings count too).
    for dir in dsp nn; do
        case $dir in
            dsp) forbid='nn|mpi' ;;
            nn) forbid='dsp|mpi' ;;
        esac
        mapfile -t files < <(tracked "$dir/*.c" "$dir/*.h")
        ((${#files[@]})) || continue
        rc=0
        hits=$(cd "$src" && grep -nHE "$inc[<\"](\\.\\./)*($forbid)/" -- "${files[@]}") || rc=$?
        if ((rc > 1)); then
            echo "lint: layering: grep failed (exit $rc)"
            fail=1
        elif ((rc == 0)); then
            fail=1
            printf '%s\n' "$hits" | awk -v d="$dir" -v fb="${forbid/|/\/ or }/" '{
                i = index($0, ":"); f = substr($0, 1, i - 1); r = substr($0, i + 1)
                j = index(r, ":"); printf "%s:%s: layering: %s/ must not include from %s: %s\n", f, substr(r, 1, j - 1), d, fb, substr(r, j + 1)
            }'
        fi
    done
    # Only mpi/comm/ talks MPI.
    mapfile -t files < <(tracked '*.c' '*.h' ':(exclude)mpi/comm/*')
    rc=1
    if ((${#files[@]})); then
        rc=0
        hits=$(cd "$src" && grep -nHE "$inc[<\"]mpi\\.h[>\"]" -- "${files[@]}") || rc=$?
    fi
    if ((rc > 1)); then
        echo "lint: layering: grep failed (exit $rc)"
        fail=1
    elif ((rc == 0)); then
        fail=1
        printf '%s\n' "$hits" | awk '{
            i = index($0, ":"); f = substr($0, 1, i - 1); r = substr($0, i + 1)
            j = index(r, ":"); printf "%s:%s: layering: only files under mpi/comm/ may include <mpi.h>: %s\n", f, substr(r, 1, j - 1), substr(r, j + 1)
        }'
    fi
    if ((fail)); then return 1; fi
    echo "lint: layering: dsp/, nn/ independent; <mpi.h> only in mpi/comm/"
}

check_length() {
    local files
    mapfile -t files < <(tracked 'mpi/*.c' 'mpi/*.h' 'nn/*.c' 'nn/*.h' 'dsp/*.c' 'dsp/*.h')
    ((${#files[@]})) || { echo "lint: length: no files"; return 0; }
    local out
    out=$(cd "$src" && awk -v max="$max_fn_lines" '
        FNR == 1 { cand = ""; infn = 0 }
        infn {
            if ($0 ~ /^}/) {
                len = FNR - start + 1
                if (len > max)
                    printf "%s:%d: length: function %s is %d lines (limit %d)\n", FILENAME, start, cand, len, max
                infn = 0; cand = ""
            }
            next
        }
        /^[A-Za-z_]/ && /\(/ {
            if (match($0, /[A-Za-z_][A-Za-z0-9_]*[ \t]*\(/)) {
                cand = substr($0, RSTART, RLENGTH); sub(/[ \t]*\($/, "", cand); start = FNR
            }
        }
        /^\{/ && cand != "" { infn = 1; next }
        /;[ \t]*$/ || /^}/ { cand = "" }   # a prototype or declaration, not a definition
        ' "${files[@]}") || { echo "lint: length: awk failed"; return 1; }
    if [[ -n $out ]]; then
        printf '%s\n' "$out"
        return 1
    fi
    echo "lint: length: no function over $max_fn_lines lines in mpi/, nn/, dsp/"
}

check_paths() {
    # The patterns are spelled so that this file does not match itself.
    local out rc=0
    out=$(g grep "${grep_others[@]}" -n -I -E '\.\./shared|/wor[k]/|/far[m]/' -- . ':(exclude)*.svg') || rc=$?
    if ((rc > 1)); then
        echo "lint: paths: git grep failed (exit $rc)"
        return 1
    fi
    if [[ -n $out ]]; then
        printf '%s\n' "$out" | cap_per_file "paths: points outside the repository"
        return 1
    fi
    echo "lint: paths: nothing points outside the repository"
}

check_todo() {
    local out rc=0
    out=$(g grep "${grep_others[@]}" -n -I -E 'TODO|FIXME|(^|[^X])XXX([^X]|$)' -- mpi nn dsp) || rc=$?
    if ((rc > 1)); then
        echo "lint: todo: git grep failed (exit $rc)"
        return 1
    fi
    if [[ -n $out ]]; then
        printf '%s\n' "$out" | cap_per_file "todo: unfinished-work marker"
        return 1
    fi
    echo "lint: todo: no TODO/FIXME/XXX in mpi/, nn/, dsp/"
}

failed=()
for c in $checks; do
    case $c in
        format | layering | length | paths | todo) ;;
        *) echo "lint: unknown check '$c'" >&2; exit 2 ;;
    esac
    echo "== lint: $c"
    if ! "check_$c"; then failed+=("$c"); fi
done
if ((${#failed[@]})); then
    echo "lint: FAILED: ${failed[*]}"
    exit 1
fi
echo "lint: all checks passed ($checks)"
