#!/usr/bin/env bash
# run.sh BUILD/tests | TEST...: run every test binary in the directory (all tiers), or the ones
# named; each prints cmocka's own report. The last line adds them up:
# "tests: N passed, N failed".
set -u
[ $# -gt 0 ] || { echo "usage: run.sh BUILD/tests | TEST..." >&2; exit 2; }
if [ $# -eq 1 ] && [ -d "$1" ]; then
	set -- "$1"/*
fi
passed=0
failed=0
status=0
for t in "$@"; do
	[ -f "$t" ] && [ -x "$t" ] || continue
	out=$("$t" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test(s)\./\1/p' | tail -n1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test(s), listed below:/\1/p' | tail -n1)
	# A test whose setup or teardown failed is reported as ERROR, outside cmocka's count.
	e=$(printf '%s\n' "$out" | grep -c '^\[  ERROR   \] [^-]')
	f=$(( ${f:-0} + e ))
	[ "$f" -gt 0 ] || f=
	passed=$((passed + ${p:-0}))
	if [ -n "$f" ]; then
		failed=$((failed + f))
	elif [ $rc -ne 0 ]; then
		# A crash or a failed group setup: count the binary as one failure.
		failed=$((failed + 1))
	fi
	[ $rc -eq 0 ] || status=1
done
echo "tests: $passed passed, $failed failed"
[ $passed -gt 0 ] || status=1
exit $status
