#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# run_vmtests.sh [TOOLS_DIR]: the seed's vm tests, the gup part of Linux's
# tools/testing/selftests/vm/run_vmtests (gup_benchmark as 5.7 runs it, then more of its
# options, then gup_test as 5.11+ runs it), each on the simulated machine the tool boots for
# itself; then the tools' option and error tests (tests/tools/test_tools.sh).
#
# Each run prints its output and [PASS] or [FAIL]: a run passes when it exits 0, its output has
# the expected lines, and the simulated kernel reported no WARNING. The last line is
# "run_vmtests: N passed, N failed"; the exit status is 1 if anything failed. The -m values are
# small so that the whole script stays fast, also under the sanitizer builds.
set -u
here=$(cd "$(dirname "$0")" && pwd)
dir=$(cd "${1:-$here/../build/tools}" && pwd) || exit 1
cd "$dir" || exit 1
passed=0
failed=0

TIME='Time: get:[0-9]+ put:[0-9]+ us$'

# run TITLE PATTERN... -- COMMAND...: every extended regex PATTERN must match a line of the
# output (stdout and stderr together).
run() {
	local title=$1 patterns=() out rc ok=1
	shift
	while [ "$1" != "--" ]; do
		patterns+=("$1")
		shift
	done
	shift
	echo "--------------------------------------------"
	echo "running $title"
	echo "--------------------------------------------"
	out=$("$@" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	[ $rc -eq 0 ] || ok=0
	for p in "${patterns[@]}"; do
		grep -Eq -- "$p" <<<"$out" || ok=0
	done
	! grep -q '^WARNING:' <<<"$out" || ok=0
	if [ $ok -eq 1 ]; then
		echo "[PASS]"
		passed=$((passed + 1))
	else
		echo "[FAIL]"
		failed=$((failed + 1))
	fi
}

# As Linux 5.7's run_vmtests (128 MiB, one page per call).
run "'gup_benchmark -U' (normal/slow gup)" "^$TIME" -- ./gup_benchmark -U
run "gup_benchmark -b (pin_user_pages)" "^$TIME" -- ./gup_benchmark -b

# The rest of gup_benchmark's commands and mapping options.
run "gup_benchmark -u -m 32 (get_user_pages_fast)" "^$TIME" -- ./gup_benchmark -u -m 32
run "gup_benchmark -a -m 32 (pin_user_pages_fast)" "^$TIME" -- ./gup_benchmark -a -m 32
run "gup_benchmark -L -m 32 (get_user_pages FOLL_LONGTERM)" "^$TIME" -- \
	./gup_benchmark -L -m 32
run "gup_benchmark -t -a -m 32 -n 512 (THP)" "^$TIME" -- ./gup_benchmark -t -a -m 32 -n 512
run "gup_benchmark -T -b -m 32 (no THP)" "^$TIME" -- ./gup_benchmark -T -b -m 32
run "gup_benchmark -H -a -m 32 -n 512 (hugetlb, 2 MiB pool pages)" "^$TIME" -- \
	./gup_benchmark -H -a -m 32 -n 512
run "gup_benchmark -S -b -m 32 (MAP_SHARED)" "^$TIME" -- ./gup_benchmark -S -b -m 32
run "gup_benchmark -H -S -a -m 32 -n 512 (shared hugetlb)" "^$TIME" -- \
	./gup_benchmark -H -S -a -m 32 -n 512
run "gup_benchmark -w -U -m 32 (FOLL_WRITE)" "^$TIME" -- ./gup_benchmark -w -U -m 32

# As Linux's run_vmtests runs gup_test.
run "gup_test -u" "^# GUP_FAST_BENCHMARK: $TIME" "^ok 1 ioctl status 0$" -- ./gup_test -u -m 32
run "gup_test -a" "^# PIN_FAST_BENCHMARK: $TIME" "^ok 1 ioctl status 0$" -- ./gup_test -a -m 32
run "gup_test -ct -F 0x1 0 19 0x1000 (dump pages 0, 19 and 4096)" \
	"^# DUMP_USER_PAGES_TEST: done$" "^ok 1 ioctl status 0$" \
	"^---- page #0, starting from user virt addr: 0x[0-9a-f]+$" \
	"^---- page #19, starting from user virt addr: 0x[0-9a-f]+$" \
	"^---- page #4096, starting from user virt addr: 0x[0-9a-f]+$" \
	"^page dumped because: gup_test: dump_pages\(\) test$" -- \
	./gup_test -ct -F 0x1 0 19 0x1000

# Every option of both tools, and their errors.
echo "--------------------------------------------"
echo "running the tools' option and error tests (tests/tools/test_tools.sh)"
echo "--------------------------------------------"
out=$(bash "$here/../tests/tools/test_tools.sh" "$dir" 2>&1)
rc=$?
printf '%s\n' "$out"
p=$(sed -n 's/^tools: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' <<<"$out")
f=$(sed -n 's/^tools: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' <<<"$out")
passed=$((passed + ${p:-0}))
failed=$((failed + ${f:-0}))
if [ $rc -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
	failed=$((failed + 1)) # the script itself broke
fi

echo "run_vmtests: $passed passed, $failed failed"
[ $failed -eq 0 ]
