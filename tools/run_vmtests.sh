#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# run_vmtests.sh: the GUP part of Linux's tools/testing/selftests/mm/run_vmtests.sh, with its
# interface (-h, -t CATEGORIES, -a, the SUMMARY line, exit 4 when everything ran was skipped),
# on the simulated machine each tool boots for itself. Categories:
#   gup_test       gup_test as today's run_vmtests runs it (-u, -a, then -ct -F 0x1 0 19
#                  0x1000); with -a, run_gup_matrix's 180 runs replace -u and -a; then
#                  gup_longterm
#   cow            cow (Linux's cow selftest's cases)
#   gup_benchmark  gup_benchmark as Linux 5.7's run_vmtests ran it, then its other options
#   tools          every option and error of both tools (tests/tools/test_tools.sh)
#
# Each run prints a banner, its output and [PASS], [SKIP] (its tool is not in TOOLS_DIR, or it
# exited 4, kselftest's KSFT_SKIP) or [FAIL]. A run passes when it exits 0, its output has the
# expected lines and the simulated kernel reported no WARNING. The catalogue programs, cow and
# gup_longterm, reproduce Linux 5.7's failures under 5.7 rules, so beside the source tree
# (tests/tools/test_catalogues.sh) a run of theirs passes when every case gives the result
# tests/tools/<program>.expected lists for the rule set in force (PINMM_RULES, else 5.7); an
# installed copy, without the expectations, judges them as kselftest does (exit 0). The last line is
# "SUMMARY: PASS=n SKIP=n FAIL=n"; the exit status is 1 if anything failed, else 4 if anything
# was skipped (kselftest's KSFT_SKIP), else 0. The -m values of the default runs are small so
# that they stay fast, also under the sanitizer builds.
set -u
ksft_skip=4
here=$(cd "$(dirname "$0")" && pwd)

usage() {
	cat <<EOF
usage: ${0##*/} [ -h ] [ -a ] [ -t "CATEGORIES" ] [ TOOLS_DIR ]

  -a: run all tests, including extra ones (run_gup_matrix: 180 gup_test runs)
  -t: run only these categories (separated by spaces):
      gup_test       gup_test runs, as today's run_vmtests, and gup_longterm
      cow            the cow program (Linux's cow selftest's cases)
      gup_benchmark  gup_benchmark runs, as Linux 5.7's run_vmtests, and its options
      tools          the tools' options and errors (tests/tools/test_tools.sh)
  -h: display this message

TOOLS_DIR holds gup_test and gup_benchmark; the default is the directory of this script if
they are there (an installed copy), else build/tools of the source tree.

example: ${0##*/} -t "gup_test tools" build/tools
EOF
}

RUN_ALL=false
VM_SELFTEST_ITEMS=default
while getopts ":aht:" opt; do
	case $opt in
	a) RUN_ALL=true ;;
	h) usage; exit 0 ;;
	t) VM_SELFTEST_ITEMS=$OPTARG ;;
	:) echo "${0##*/}: -$OPTARG needs an argument" >&2; usage >&2; exit 1 ;;
	*) echo "${0##*/}: unknown option -$OPTARG" >&2; usage >&2; exit 1 ;;
	esac
done
shift $((OPTIND - 1))
if [ $# -gt 1 ]; then
	echo "${0##*/}: one TOOLS_DIR at most" >&2
	usage >&2
	exit 1
fi
for c in $VM_SELFTEST_ITEMS; do
	case $c in
	default | gup_test | gup_benchmark | tools | cow) ;;
	*) echo "${0##*/}: unknown category '$c'" >&2; usage >&2; exit 1 ;;
	esac
done
if [ $# -eq 1 ]; then
	dir=$1
elif [ -x "$here/gup_test" ]; then
	dir=$here
else
	dir=$here/../build/tools
fi
if ! dir=$(cd "$dir" 2>/dev/null && pwd); then
	echo "${0##*/}: no such directory: ${1:-$here/../build/tools}" >&2
	exit 1
fi
cd "$dir" || exit 1

count_pass=0
count_skip=0
count_fail=0

test_selected() {
	[ "$VM_SELFTEST_ITEMS" = default ] || [[ " $VM_SELFTEST_ITEMS " == *" $1 "* ]]
}

TIME='Time: get:[0-9]+ put:[0-9]+ us$'

# run TITLE PATTERN... -- COMMAND...: in the category $CATEGORY; every extended regex PATTERN
# must match a line of the output (stdout and stderr together).
run() {
	local title=$1 patterns=() out rc ok=1 sep
	shift
	while [ "$1" != "--" ]; do
		patterns+=("$1")
		shift
	done
	shift
	test_selected "$CATEGORY" || return 0
	sep=$(printf '%s' "running $title" | tr '[:graph:][:space:]' -)
	printf '%s\nrunning %s\n%s\n' "$sep" "$title" "$sep"
	if [ ! -x "$1" ]; then
		echo "$1: not in $dir"
		echo "[SKIP]"
		count_skip=$((count_skip + 1))
		return 0
	fi
	out=$("$@" 2>&1)
	rc=$?
	printf '%s\n' "$out"
	if [ $rc -eq $ksft_skip ]; then
		echo "[SKIP]"
		count_skip=$((count_skip + 1))
		return 0
	fi
	[ $rc -eq 0 ] || ok=0
	for p in "${patterns[@]}"; do
		grep -Eq -- "$p" <<<"$out" || ok=0
	done
	! grep -q '^WARNING:' <<<"$out" || ok=0
	if [ $ok -eq 1 ]; then
		echo "[PASS]"
		count_pass=$((count_pass + 1))
	else
		echo "[FAIL]"
		count_fail=$((count_fail + 1))
	fi
}

# run_catalogue PROGRAM: in the category $CATEGORY, one of the catalogue programs under the
# rule set in force, judged against its expectations when they are beside this script.
run_catalogue() {
	local prog=$1 rules=${PINMM_RULES:-5.7} sep out rc
	local check=$here/../tests/tools/test_catalogues.sh
	test_selected "$CATEGORY" || return 0
	sep=$(printf '%s' "running ./$prog" | tr '[:graph:][:space:]' -)
	printf '%s\nrunning ./%s\n%s\n' "$sep" "$prog" "$sep"
	if [ ! -x "$prog" ]; then
		echo "$prog: not in $dir"
		echo "[SKIP]"
		count_skip=$((count_skip + 1))
		return 0
	fi
	if [ -f "$check" ]; then
		out=$(bash "$check" "$dir" "$prog" "$rules" 2>&1)
	else
		out=$("./$prog" 2>&1)
	fi
	rc=$?
	printf '%s\n' "$out"
	if [ $rc -eq $ksft_skip ]; then
		echo "[SKIP]"
		count_skip=$((count_skip + 1))
	elif [ $rc -eq 0 ] && ! grep -q '^WARNING:' <<<"$out"; then
		echo "[PASS]"
		count_pass=$((count_pass + 1))
	else
		echo "[FAIL]"
		count_fail=$((count_fail + 1))
	fi
}

# Linux's run_gup_matrix: every command, THP on/off and hugetlb, write or not, shared or not,
# 1, 512 and 123 pages a call. Linux sizes the hugetlb runs from its CPU count (256 MiB up to
# 64 CPUs); so does this.
run_gup_matrix() {
	local huge test_cmd write share num
	local hugetlb_mb=$(( ($(nproc) * 2 + 127) / 128 * 128 * 2 ))

	for huge in -t -T "-H -m $hugetlb_mb"; do
		for test_cmd in -u -U -a -b -L; do
			for write in -w -W; do
				for share in -S ""; do
					for num in "-n 1" "-n 512" "-n 123"; do
						# shellcheck disable=SC2086 # the options are words
						CATEGORY=gup_test run "gup_test $huge $test_cmd $write $share $num" \
							'^ok 1 ' -- ./gup_test $huge $test_cmd $write $share $num
					done
				done
			done
		done
	done
}

# As Linux 5.7's run_vmtests (128 MiB, one page per call).
CATEGORY=gup_benchmark
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

# As today's run_vmtests runs gup_test.
CATEGORY=gup_test
if $RUN_ALL; then
	run_gup_matrix
else
	run "gup_test -u" "^# GUP_FAST_BENCHMARK: $TIME" "^ok 1 ioctl status 0$" -- \
		./gup_test -u -m 32
	run "gup_test -a" "^# PIN_FAST_BENCHMARK: $TIME" "^ok 1 ioctl status 0$" -- \
		./gup_test -a -m 32
fi
run "gup_test -ct -F 0x1 0 19 0x1000 (dump pages 0, 19 and 4096)" \
	"^# DUMP_USER_PAGES_TEST: done$" "^ok 1 ioctl status 0$" \
	"^---- page #0, starting from user virt addr: 0x[0-9a-f]+$" \
	"^---- page #19, starting from user virt addr: 0x[0-9a-f]+$" \
	"^---- page #4096, starting from user virt addr: 0x[0-9a-f]+$" \
	"^page dumped because: gup_test: dump_pages\(\) test$" -- \
	./gup_test -ct -F 0x1 0 19 0x1000
# Long-term pins of file mappings (Linux's gup_longterm selftest's cases).
run_catalogue gup_longterm

# COW with fork, vmsplice, io_uring fixed buffers and R/O long-term pins (Linux's cow
# selftest's cases).
CATEGORY=cow
run_catalogue cow

# Every option of both tools, and their errors: one run here, its cases counted one by one.
if test_selected tools; then
	if [ -f "$here/../tests/tools/test_tools.sh" ]; then
		echo "--------------------------------------------"
		echo "running the tools' option and error tests (tests/tools/test_tools.sh)"
		echo "--------------------------------------------"
		out=$(bash "$here/../tests/tools/test_tools.sh" "$dir" 2>&1)
		rc=$?
		printf '%s\n' "$out"
		p=$(sed -n 's/^tools: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' <<<"$out")
		f=$(sed -n 's/^tools: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' <<<"$out")
		count_pass=$((count_pass + ${p:-0}))
		count_fail=$((count_fail + ${f:-0}))
		if [ $rc -ne 0 ] && [ "${f:-0}" -eq 0 ]; then
			count_fail=$((count_fail + 1)) # the script itself broke
		fi
	else
		echo "tests/tools/test_tools.sh: not beside this script (an installed copy)"
		echo "[SKIP]"
		count_skip=$((count_skip + 1))
	fi
fi

echo "SUMMARY: PASS=$count_pass SKIP=$count_skip FAIL=$count_fail"
if [ $count_fail -gt 0 ]; then
	exit 1
elif [ $count_skip -gt 0 ]; then
	exit $ksft_skip
fi
exit 0
