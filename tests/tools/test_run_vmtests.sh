#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_run_vmtests.sh TOOLS_DIR: tools/run_vmtests.sh's interface, which is Linux's
# (tools/testing/selftests/mm/run_vmtests.sh): -h, -t CATEGORIES, -a (run_gup_matrix), unknown
# options, the SUMMARY line and the exit status (0, 1, or 4 when all that ran was skipped).
# The matrix and the skip and fail cases run against stub tools in a scratch directory, so
# that they are quick (gup_longterm is not among them: a stub directory skips it); -t gup_test
# runs the real tools once. Each case prints "[PASS] <case>"
# or "[FAIL] <case>: <why>"; the last line is "run_vmtests_interface: N passed, N failed".
set -u
dir=$(cd "${1:?usage: test_run_vmtests.sh TOOLS_DIR}" && pwd) || exit 1
rv=$(cd "$(dirname "$0")/../../tools" && pwd)/run_vmtests.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

# expect CASE STATUS RE... -- ARGS...: run_vmtests.sh ARGS exits STATUS and every extended
# regex RE matches a line of its output (stdout and stderr together; "!RE": no line matches).
expect() {
	local name=$1 status=$2 res=() out rc why="" re
	shift 2
	while [ "$1" != "--" ]; do
		res+=("$1")
		shift
	done
	shift
	out=$(bash "$rv" "$@" 2>&1)
	rc=$?
	[ $rc -eq "$status" ] || why+="; exit status $rc, expected $status"
	for re in "${res[@]}"; do
		if [ "${re#!}" != "$re" ]; then
			! grep -Eq -- "${re#!}" <<<"$out" || why+="; a line matches /${re#!}/"
		else
			grep -Eq -- "$re" <<<"$out" || why+="; no line matches /$re/"
		fi
	done
	if [ -z "$why" ]; then
		echo "[PASS] $name"
		passed=$((passed + 1))
	else
		echo "[FAIL] $name: ${why#; }"
		printf '%s\n' "$out" | tail -n 20
		failed=$((failed + 1))
	fi
}

# A stub tool: logs its arguments, prints what passes, exits with $2.
stub() {
	mkdir -p "$(dirname "$1")"
	cat >"$1" <<STUB
#!/usr/bin/env bash
echo "\$*" >>"$tmp/calls"
echo "ok 1 ioctl status 0"
echo "# DUMP_USER_PAGES_TEST: done"
for p in 0 19 4096; do echo "---- page #\$p, starting from user virt addr: 0x1000"; done
echo "page dumped because: gup_test: dump_pages() test"
exit $2
STUB
	chmod +x "$1"
}

expect "-h: usage, exit 0" 0 '^usage: run_vmtests.sh ' '^  -t: ' '^  -a: ' '!SUMMARY' -- -h
expect "an unknown option: usage, exit 1" 1 '^run_vmtests.sh: unknown option -q$' \
	'^usage: ' '!cd:' '!SUMMARY' -- -q
expect "-t without its argument" 1 '^run_vmtests.sh: -t needs an argument$' '^usage: ' -- -t
expect "-t with an unknown category" 1 "^run_vmtests.sh: unknown category 'hmm'\$" \
	-- -t "gup_test hmm"
expect "a missing TOOLS_DIR" 1 "^run_vmtests.sh: no such directory: $tmp/none\$" '!cd:' \
	-- "$tmp/none"
expect "two TOOLS_DIRs" 1 '^run_vmtests.sh: one TOOLS_DIR at most$' -- "$dir" "$dir"

expect "-t gup_test on the real tools" 0 '^SUMMARY: PASS=4 SKIP=0 FAIL=0$' \
	'^running gup_test -u$' '^running gup_test -a$' '^running ./gup_longterm$' '!gup_benchmark' \
	'!running ./cow' -- -t gup_test "$dir"

mkdir -p "$tmp/empty"
expect "-t gup_test without the tools: skipped, exit 4" 4 '^SUMMARY: PASS=0 SKIP=4 FAIL=0$' \
	'^\[SKIP\]$' -- -t gup_test "$tmp/empty"
expect "-t cow without the tool: skipped, exit 4" 4 '^SUMMARY: PASS=0 SKIP=1 FAIL=0$' \
	'^running ./cow$' '^cow: not in ' -- -t cow "$tmp/empty"

stub "$tmp/pass/gup_test" 0
rm -f "$tmp/calls"
expect "-a -t gup_test: run_gup_matrix, then the dump" 4 '^SUMMARY: PASS=181 SKIP=1 FAIL=0$' \
	'!running gup_test -u$' -- -a -t gup_test "$tmp/pass"
n=$(sort -u "$tmp/calls" | wc -l)
hmb=$(( ($(nproc) * 2 + 127) / 128 * 128 * 2 ))
for args in "-t -u -w -S -n 1" "-T -L -W -n 123" "-H -m $hmb -b -w -S -n 512" \
	"-H -m $hmb -U -W -n 1"; do
	grep -qx -- "$args" "$tmp/calls" || n="$n, no run of gup_test $args"
done
if [ "$n" = 181 ]; then
	echo "[PASS] -a: 180 distinct matrix runs (3 backings x 5 commands x 2 x 2 x 3) + the dump"
	passed=$((passed + 1))
else
	echo "[FAIL] -a: expected 181 distinct gup_test runs, found $n"
	failed=$((failed + 1))
fi

stub "$tmp/skip/gup_test" 4
expect "a tool that exits 4 (KSFT_SKIP): skipped" 4 '^SUMMARY: PASS=0 SKIP=4 FAIL=0$' \
	-- -t gup_test "$tmp/skip"
stub "$tmp/fail/gup_test" 1
expect "a tool that fails: FAIL, exit 1" 1 '^SUMMARY: PASS=0 SKIP=1 FAIL=3$' '^\[FAIL\]$' \
	-- -t gup_test "$tmp/fail"
expect "fails and skips: exit 1" 1 '^SUMMARY: PASS=0 SKIP=[1-9][0-9]* FAIL=3$' \
	-- -t "gup_test gup_benchmark" "$tmp/fail"

echo "run_vmtests_interface: $passed passed, $failed failed"
[ $failed -eq 0 ]
