#!/usr/bin/env bash
# Run every unit-test binary in the given directory; each prints cmocka's own report. The last
# line adds them up: "tests: N passed, N failed".
set -u
dir=${1:?usage: run.sh BUILD/tests}
passed=0
failed=0
status=0
for t in "$dir"/*; do
	[ -x "$t" ] || continue
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
