#!/usr/bin/env bash
# expect_fail.sh [--rc N] [--stdout] [--] REGEX CMD [ARG...]: a test that CMD is refused cleanly.
# Runs CMD and passes (exit 0) only if both hold:
#   * its exit status is N with --rc N; without --rc, any failure status 1..125 (0 is
#     accepted input; 126/127 mean CMD could not be run; 128+ means it died on a signal or
#     crashed, not a clean refusal);
#   * its standard error (standard output with --stdout) matches REGEX, an extended regular
#     expression (grep -E): the message the user sees ("--" before a REGEX that starts
#     with "-").
# CMD's output is shown either way; exit 1 when a check fails, 2 on bad usage.
# For ctest, register it without PASS_REGULAR_EXPRESSION (which would replace the exit
# status check):
#   add_test(NAME x COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/expect_fail.sh --rc 2 "regex"
#                   prog args...)
set -uo pipefail
usage() { echo "usage: expect_fail.sh [--rc N] [--stdout] [--] REGEX CMD [ARG...]" >&2; exit 2; }
want_rc='' stream=stderr
while (($#)); do
  case $1 in
    --rc) [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage; want_rc=$2; shift 2 ;;
    --stdout) stream=stdout; shift ;;
    --) shift; break ;;
    -*) usage ;;
    *) break ;;
  esac
done
(($# >= 2)) || usage
regex=$1; shift
out=$(mktemp) err=$(mktemp) || exit 2
trap 'rm -f "$out" "$err"' EXIT
"$@" >"$out" 2>"$err"
rc=$?
echo "expect_fail: ran: $*"
echo "expect_fail: exit status $rc; stdout:"; cat "$out"
echo "expect_fail: stderr:"; cat "$err"
status=0
if [[ -n $want_rc ]]; then
  ((rc == want_rc)) || { echo "expect_fail: FAIL: exit status $rc, expected $want_rc"; status=1; }
elif ((rc == 0)); then
  echo "expect_fail: FAIL: the command succeeded (exit 0), expected a refusal"; status=1
elif ((rc > 125)); then
  echo "expect_fail: FAIL: exit status $rc: not run, or killed by a signal / crashed," \
    "not a clean refusal"
  status=1
fi
file=$err
[[ $stream == stdout ]] && file=$out
if ! grep -Eq -- "$regex" "$file"; then
  echo "expect_fail: FAIL: $stream does not match /$regex/"
  status=1
fi
((status == 0)) && echo "expect_fail: ok: exit status $rc and $stream matches /$regex/"
exit $status
