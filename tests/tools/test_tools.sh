#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_tools.sh TOOLS_DIR: every option of gup_benchmark and gup_test, their output formats and
# their errors (gup_test -F in today's FOLL_* numbering), then pinmm_demo and pinmm_bench (its
# options, table, CSV, SVG chart, progress into a pipe and the pin owners' cost), pin_owners,
# page_types, the rule-set option (-R) of every tool, dma_writeback and pin_fragmentation (its
# summary lines under both rule sets, its maps, its errors), swap_bench's output and options,
# and kernel_compare where it is built. tools/run_vmtests.sh runs it. Each case prints
# "[PASS] <case>" or
# "[FAIL] <case>: <what differed>" followed by the run's output; the last line is
# "tools: N passed, N failed"; the exit status is 1 if anything failed.
set -u
dir=${1:?usage: test_tools.sh TOOLS_DIR}
bm=$dir/gup_benchmark
gt=$dir/gup_test
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

TIME='Time: get:[0-9]+ put:[0-9]+ us'

# check CASE [EXPECTATION]... -- COMMAND...
#   -s STATUS   exit status (default 0); "nz" for any non-zero one
#   -o RE       a line of stdout matches the extended regex RE
#   -e RE       a line of stderr matches RE
#   -x RE       no line of stdout or stderr matches RE
#   -l N:RE     exactly N lines of stdout match RE
#   -L N        stdout has exactly N lines
#   -1          stderr is exactly one line
#   -w          WARNINGs of the simulated kernel are expected (by default they fail the case)
check() {
	local name=$1 status=0 outs=() errs=() nots=() counts=() lines="" one=0 warn=0 rc why=""
	local re n
	shift
	while [ "$1" != "--" ]; do
		case $1 in
		-s) status=$2; shift ;;
		-o) outs+=("$2"); shift ;;
		-e) errs+=("$2"); shift ;;
		-x) nots+=("$2"); shift ;;
		-l) counts+=("$2"); shift ;;
		-L) lines=$2; shift ;;
		-1) one=1 ;;
		-w) warn=1 ;;
		*) echo "check: bad expectation $1" >&2; exit 2 ;;
		esac
		shift
	done
	shift
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$status" = nz ]; then
		[ $rc -ne 0 ] || why+="; exit status 0, expected non-zero"
	elif [ $rc -ne "$status" ]; then
		why+="; exit status $rc, expected $status"
	fi
	for re in "${outs[@]}"; do
		grep -Eq -- "$re" "$tmp/out" || why+="; no stdout line matches /$re/"
	done
	for re in "${errs[@]}"; do
		grep -Eq -- "$re" "$tmp/err" || why+="; no stderr line matches /$re/"
	done
	for re in "${nots[@]}"; do
		! cat "$tmp/out" "$tmp/err" | grep -Eq -- "$re" || why+="; a line matches /$re/"
	done
	for re in "${counts[@]}"; do
		n=$(grep -Ec -- "${re#*:}" "$tmp/out")
		[ "$n" -eq "${re%%:*}" ] || why+="; $n stdout lines match /${re#*:}/, expected ${re%%:*}"
	done
	n=$(wc -l <"$tmp/out")
	[ -z "$lines" ] || [ "$n" -eq "$lines" ] || why+="; $n stdout lines, expected $lines"
	n=$(wc -l <"$tmp/err")
	[ $one -eq 0 ] || [ "$n" -eq 1 ] || why+="; $n stderr lines, expected 1"
	[ $warn -eq 1 ] || ! grep -q '^WARNING:' "$tmp/err" || why+="; the kernel WARNed"
	if [ -z "$why" ]; then
		echo "[PASS] $name"
		passed=$((passed + 1))
	else
		echo "[FAIL] $name: ${why#; }"
		echo "  \$ $*"
		sed 's/^/  stdout: /' "$tmp/out"
		sed 's/^/  stderr: /' "$tmp/err"
		failed=$((failed + 1))
	fi
}

# ---- gup_benchmark: commands and mapping options ----
# The first line names the rule set; the rest is the original's.
RULES57='^# rules: 5\.7$'
check "gup_benchmark: the default command, -a's exact output" -l "1:^$TIME\$" -L 2 \
	-l "1:$RULES57" -- env -u PINMM_RULES "$bm" -m 4
for opt in -u -U -a -b; do
	check "gup_benchmark $opt" -l "1:^$TIME\$" -L 2 -- "$bm" $opt -m 4
done
# GUP_LONGTERM_BENCHMARK takes long-term references: 5.7 only.
check "gup_benchmark -L" -l "1:^$TIME\$" -L 2 -- "$bm" -R 5.7 -L -m 4
check "gup_benchmark -w (FOLL_WRITE)" -l "1:^$TIME\$" -- "$bm" -w -b -m 4
check "gup_benchmark -t (MADV_HUGEPAGE)" -l "1:^$TIME\$" -- "$bm" -t -a -m 8 -n 512
check "gup_benchmark -T (MADV_NOHUGEPAGE)" -l "1:^$TIME\$" -- "$bm" -T -a -m 8 -n 512
check "gup_benchmark -S (MAP_SHARED anonymous)" -l "1:^$TIME\$" -- "$bm" -S -a -m 4
check "gup_benchmark -H (hugetlb)" -l "1:^$TIME\$" -- "$bm" -H -b -m 4
check "gup_benchmark -H -m 1 (half a huge page)" -l "1:^$TIME\$" -- "$bm" -H -a -m 1
check "gup_benchmark -H -S (shared hugetlb)" -l "1:^$TIME\$" -- "$bm" -H -S -b -m 4
check "gup_benchmark -H -S -L (shared hugetlb, FOLL_LONGTERM)" -l "1:^$TIME\$" -- \
	"$bm" -R 5.7 -H -S -L -m 4
check "gup_benchmark -r 3" -l "3:^$TIME\$" -L 4 -- "$bm" -r 3 -m 4
check "gup_benchmark -r 0 runs nothing" -L 1 -l "1:^# rules: " -- "$bm" -r 0 -m 4
check "gup_benchmark -n larger than the range: one call cut to the range" \
	-l "1:^$TIME\$" -x truncated -- "$bm" -a -m 1 -n 512
check "gup_benchmark -n 3 (the last call shortened)" -l "1:^$TIME\$" -x truncated -- \
	"$bm" -b -m 1 -n 3
check "gup_benchmark PINMM_THP=never -t" -l "1:^$TIME\$" -- env PINMM_THP=never "$bm" -t -m 4
check "gup_benchmark PINMM_THP=always -T" -l "1:^$TIME\$" -- env PINMM_THP=always "$bm" -T -m 4
check "gup_benchmark PINMM_RAM_MIB=512" -l "1:^$TIME\$" -- env PINMM_RAM_MIB=512 "$bm" -m 4

# ---- gup_benchmark: files ----
yes | head -c $((4 << 20)) >"$tmp/data"
cp "$tmp/data" "$tmp/data.orig"
check "gup_benchmark -f FILE (MAP_PRIVATE)" -l "1:^$TIME\$" -- "$bm" -f "$tmp/data" -m 4 -b
check "gup_benchmark -f FILE: a private mapping leaves the file alone" -- \
	cmp "$tmp/data" "$tmp/data.orig"
check "gup_benchmark -f FILE -S -w (MAP_SHARED)" -l "1:^$TIME\$" -- \
	"$bm" -f "$tmp/data" -S -w -m 4 -U
check "gup_benchmark -f FILE -S: the byte written to each page reached the file" -- \
	bash -c '[ "$(cmp -l "$1" "$2" | wc -l)" -eq 1024 ]' - "$tmp/data" "$tmp/data.orig"
check "gup_benchmark -f /dev/zero is anonymous memory" -l "1:^$TIME\$" -- \
	"$bm" -f /dev/zero -m 4

# ---- gup_benchmark: errors: one line on stderr, nothing on stdout ----
check "gup_benchmark -m 0" -s 1 -1 -L 0 -e '^mmap: Invalid argument$' -- "$bm" -m 0
check "gup_benchmark -m -1" -s 1 -1 -L 0 -e '^mmap: Cannot allocate memory$' -- "$bm" -m -1
check "gup_benchmark -m 300000 (larger than any machine)" -s 1 -1 \
	-e '^mmap: Cannot allocate memory$' -- "$bm" -m 300000
check "gup_benchmark -n 0" -s 1 -1 -L 0 -e 'at least one page' -- "$bm" -n 0 -m 4
check "gup_benchmark -n -2" -s 1 -1 -e 'at least one page' -- "$bm" -n -2 -m 4
check "gup_benchmark: unknown option" -s 255 -1 -L 0 -e 'invalid option' -- "$bm" -q
check "gup_benchmark: -m without its argument" -s 255 -1 -e 'requires an argument' -- "$bm" -m
check "gup_benchmark -f in a missing directory" -s 1 -1 \
	-e '^open: No such file or directory$' -- "$bm" -f "$tmp/missing/file" -m 4
check "gup_benchmark -f DIRECTORY" -s 1 -1 -e '^open: Is a directory$' -- "$bm" -f "$tmp" -m 4
check "gup_benchmark -f NEW_FILE (empty: the first touch is past its end)" -s 1 -1 \
	-e '^touch: Bus error at offset 0x0 of the mapping$' -- "$bm" -f "$tmp/new" -m 4
check "gup_benchmark -H with an empty pool" -s 1 -1 -e '^mmap: Cannot allocate memory$' -- \
	env PINMM_HUGEPAGES=0 "$bm" -H -m 4
check "gup_benchmark -H with a pool too small" -s 1 -1 -e '^mmap: Cannot allocate memory$' -- \
	env PINMM_HUGEPAGES=1 "$bm" -H -m 4
check "gup_benchmark -H -S with a pool too small" -s 1 -1 -e '^mmap: Cannot allocate memory$' -- \
	env PINMM_HUGEPAGES=1 "$bm" -H -S -m 4
check "gup_benchmark PINMM_THP=bogus" -s 1 -1 -e '^PINMM_THP: Invalid argument$' -- \
	env PINMM_THP=bogus "$bm" -m 4
check "gup_benchmark PINMM_RAM_MIB=abc" -s 1 -1 -e '^PINMM_RAM_MIB: Invalid argument$' -- \
	env PINMM_RAM_MIB=abc "$bm" -m 4
check "gup_benchmark PINMM_HUGEPAGES=-1" -s 1 -1 -e '^PINMM_HUGEPAGES: Invalid argument$' -- \
	env PINMM_HUGEPAGES=-1 "$bm" -H -m 4
check "gup_benchmark PINMM_RAM_MIB=8 (below the minimum)" -s 1 -1 \
	-e '^boot: Invalid argument$' -- env PINMM_RAM_MIB=8 "$bm" -m 4

# ---- the rule set: -R, PINMM_RULES, the header line ----
check "gup_benchmark -R modern" -l '1:^# rules: modern$' -l "1:^$TIME\$" -- "$bm" -R modern -m 4
check "gup_benchmark -R 5.7 beats PINMM_RULES=modern" -l "1:$RULES57" -- \
	env PINMM_RULES=modern "$bm" -R 5.7 -m 4
check "gup_benchmark PINMM_RULES=modern" -l '1:^# rules: modern$' -- \
	env PINMM_RULES=modern "$bm" -m 4
check "gup_benchmark -R modern -L: a long-term FOLL_GET is refused (WARN, nothing walked)" -w \
	-l "1:^Time: get:[0-9]+ put:[0-9]+ us, truncated \\(size: 0\\)\$" \
	-e 'WARNING: .*get_user_pages' -- "$bm" -R modern -L -m 4
check "gup_benchmark -R bogus" -s 1 -1 -L 0 \
	-e '^gup_benchmark: -R bogus: not a rule set \(5\.7 or modern\)$' -- "$bm" -R bogus
check "gup_benchmark PINMM_RULES=bogus" -s 1 -1 -L 0 -e '^PINMM_RULES: Invalid argument$' -- \
	env PINMM_RULES=bogus "$bm" -m 4
check "gup_test -R modern" -l '1:^# rules: modern$' -o '^ok 1 ' -- "$gt" -R modern -a -m 4
check "gup_test -R 6.18" -s 1 -1 -e '^gup_test: -R 6\.18: not a rule set \(5\.7 or modern\)$' \
	-- "$gt" -R 6.18
check "gup_test PINMM_RULES=bogus" -s 1 -o '^Bail out! PINMM_RULES: Invalid argument$' -- \
	env PINMM_RULES=bogus "$gt" -m 4
check "pinmm_demo -R modern" -o '^booted: .*, rules modern$' -- "$dir/pinmm_demo" -R modern 256
check "pinmm_demo: rules 5.7 by default" -o '^booted: .*, rules 5\.7$' -- \
	env -u PINMM_RULES "$dir/pinmm_demo" 256
check "pinmm_demo -R bogus" -s 2 -1 -L 0 \
	-e '^pinmm_demo: -R bogus: not a rule set \(5\.7 or modern\)$' -- "$dir/pinmm_demo" -R bogus
check "pinmm_demo PINMM_RULES=bogus" -s 2 -1 -L 0 -e '^pinmm_demo: PINMM_RULES=bogus: ' -- \
	env PINMM_RULES=bogus "$dir/pinmm_demo"
check "pinmm_bench -R bogus" -s 2 -1 -L 0 \
	-e '^pinmm_bench: -R bogus: not a rule set \(5\.7 or modern\)$' -- "$dir/pinmm_bench" -R bogus
check "pinmm_bench PINMM_RULES=bogus" -s 2 -1 -L 0 -e '^pinmm_bench: PINMM_RULES=bogus: ' -- \
	env PINMM_RULES=bogus "$dir/pinmm_bench"

# ---- gup_test: commands ----
check "gup_test: the default command, TAP output" -L 6 -o '^TAP version 13$' -o '^1\.\.1$' \
	-l "1:^# GUP_FAST_BENCHMARK: $TIME\$" -o '^ok 1 ioctl status 0$' \
	-o '^# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0$' -- "$gt" -m 4
check "gup_test -u" -l "1:^# GUP_FAST_BENCHMARK: $TIME\$" -o '^ok 1 ' -- "$gt" -u -m 4
check "gup_test -a" -l "1:^# PIN_FAST_BENCHMARK: $TIME\$" -o '^ok 1 ' -- "$gt" -a -m 4
check "gup_test -L" -l "1:^# PIN_LONGTERM_BENCHMARK: $TIME\$" -o '^ok 1 ' -- "$gt" -L -m 4
check "gup_test -U" -l '1:^# GUP_BASIC_TEST: done$' -o '^ok 1 ' -x Truncated -- "$gt" -U -m 4
check "gup_test -b" -l '1:^# PIN_BASIC_TEST: done$' -o '^ok 1 ' -- "$gt" -b -m 4
check "gup_test -c (page 0)" -l '1:^# DUMP_USER_PAGES_TEST: done$' -o '^ok 1 ' \
	-e '^---- page #0, starting from user virt addr: 0x[0-9a-f]+$' \
	-e '^page:[0-9a-f]+ refcount:2 mapcount:1 ' \
	-e '^page dumped because: gup_test: dump_pages\(\) test$' -- "$gt" -c -m 4
check "gup_test -c -p (dump by pin)" -e '^---- page #0,' -e '^page:[0-9a-f]+ refcount:1025 ' -- \
	"$gt" -c -p -m 4
check "gup_test -c 0 19 0x1000 in 1024 pages (the last one out of range)" \
	-e '^ZEROING due to out of range: \.which_pages\[2\]: 4097$' \
	-e '^---- page #0,' -e '^---- page #19,' -x '^---- page #4096' -- "$gt" -c -m 4 0 19 0x1000
check "gup_test -ct -F 0x1 0 19 0x1000 (run_vmtests' line)" -e '^---- page #0,' \
	-e '^---- page #19,' -e '^---- page #4096,' -e 'head:[0-9a-f]+ order:9 ' -x ZEROING -- \
	"$gt" -ct -F 0x1 -m 32 0 19 0x1000
check "gup_test -j 4 -a" -o '^1\.\.4$' -l "4:^# PIN_FAST_BENCHMARK: $TIME\$" \
	-l '4:^ok [1-4] ioctl status 0$' -o '^ok 4 ' -o '^# Totals: pass:4 fail:0' -- \
	"$gt" -j 4 -a -m 4
check "gup_test -j 3 -b" -l '3:^# PIN_BASIC_TEST: done$' -l '3:^ok [1-3] ' -- "$gt" -j 3 -b -m 4
check "gup_test -r 3" -l "3:^# GUP_FAST_BENCHMARK: $TIME\$" -- "$gt" -r 3 -m 4
check "gup_test -n -1 (the whole range per call)" -l "1:^# PIN_FAST_BENCHMARK: $TIME\$" \
	-x truncated -- "$gt" -m 4 -n -1 -a
check "gup_test -n 512 -t -L" -l "1:^# PIN_LONGTERM_BENCHMARK: $TIME\$" -- \
	"$gt" -n 512 -t -L -m 8
check "gup_test -T" -o '^ok 1 ' -- "$gt" -T -a -m 4
check "gup_test -w" -o '^ok 1 ' -- "$gt" -w -b -m 4
check "gup_test -W (read-only)" -o '^ok 1 ' -- "$gt" -W -b -m 4
check "gup_test -S" -o '^ok 1 ' -- "$gt" -S -a -m 4
check "gup_test -H" -o '^ok 1 ' -- "$gt" -H -a -m 4 -n 512
check "gup_test -H -S (shared hugetlb)" -l "1:^# PIN_FAST_BENCHMARK: $TIME\$" -o '^ok 1 ' -- \
	"$gt" -H -S -a -m 4 -n 512
check "gup_test -H -S -u (shared hugetlb, get_user_pages_fast)" -o '^ok 1 ' -- \
	"$gt" -H -S -u -m 4
check "gup_test -f FILE" -o '^ok 1 ' -- "$gt" -f "$tmp/data" -m 4 -b
# -F is today's FOLL_* numbering: 0x4 is FOLL_DUMP (5.7: FOLL_GET), 0x2 FOLL_GET (5.7:
# FOLL_TOUCH, which every call accepts), 0x8 FOLL_FORCE (5.7: FOLL_DUMP).
check "gup_test -F 0x4: FOLL_DUMP reaches get_user_pages_fast, which refuses it" -w \
	-e '^WARNING: at ' -l "1:^# GUP_FAST_BENCHMARK: $TIME, truncated \(size: 0\)\$" \
	-o '^ok 1 ' -- "$gt" -F 0x4 -u -m 4
check "gup_test -b -F 0x2: FOLL_GET reaches pin_user_pages, which refuses it" -w \
	-e '^WARNING: at ' -o '^# PIN_BASIC_TEST: done$' -o '^# Truncated \(size: 0\)$' -- \
	"$gt" -b -F 0x2 -m 4
check "gup_test -u -F 0x8: FOLL_FORCE, which get_user_pages_fast accepts" \
	-l "1:^# GUP_FAST_BENCHMARK: $TIME\$" -x truncated -o '^ok 1 ' -- "$gt" -F 0x8 -u -m 4
check "gup_test -W -u -F 0x100: FOLL_LONGTERM (5.7's 0x100, FOLL_HWPOISON, is refused there)" \
	-l "1:^# GUP_FAST_BENCHMARK: $TIME\$" -x truncated -o '^ok 1 ' -- \
	"$gt" -W -F 0x100 -u -m 4
check "gup_test -c -F 0x101: FOLL_WRITE | FOLL_LONGTERM" -o '^# DUMP_USER_PAGES_TEST: done$' \
	-e '^---- page #0,' -- "$gt" -c -p -F 0x101 -m 4
check "gup_test with KSFT_TAP_LEVEL set: no TAP header" -x '^TAP version' -o '^1\.\.1$' -- \
	env KSFT_TAP_LEVEL=1 "$gt" -m 4

# ---- gup_test: errors: "Bail out!" and the totals, exit 1 ----
check "gup_test -z (listed, not handled)" -s 1 -L 2 -o '^Bail out! Wrong argument$' \
	-o '^# Totals: pass:0 fail:0 ' -- "$gt" -z
check "gup_test: unknown option" -s 1 -o '^Bail out! Wrong argument$' -e 'invalid option' -- \
	"$gt" -q
check "gup_test -n 0" -s 1 -o '^Bail out! -n 0' -- "$gt" -n 0
check "gup_test -j 0" -s 1 -o '^Bail out! -j 0' -- "$gt" -j 0
check "gup_test -m 0" -s 1 -o '^Bail out! mmap: Invalid argument$' \
	-o '^# Planned tests != run tests \(1 != 0\)$' -- "$gt" -m 0
check "gup_test -f in a missing directory" -s 1 \
	-o "^Bail out! Unable to open $tmp/missing/f: No such file or directory\$" -- \
	"$gt" -f "$tmp/missing/f" -m 4
for f in 0x20:FOLL_NOFAULT 0x400:FOLL_PCI_P2PDMA 0x800:FOLL_INTERRUPTIBLE \
	0x1000:FOLL_HONOR_NUMA_FAULT; do
	check "gup_test -F ${f%%:*}: ${f#*:}, which pinmm lacks, is refused" -s 1 -L 2 \
		-o "^Bail out! -F ${f%%:*}: ${f#*:} \(${f%%:*}\) is not supported by pinmm" -x '^ok' -- \
		"$gt" -F "${f%%:*}" -m 4
done
check "gup_test -F 0x2020: the first unsupported bit is named" -s 1 \
	-o '^Bail out! -F 0x2020: FOLL_NOFAULT \(0x20\)' -- "$gt" -F 0x2020 -m 4
check "gup_test -F 0x40001: a bit beyond today's FOLL_* is refused" -s 1 -L 2 \
	-o '^Bail out! -F 0x40001: 0x40000 is not a FOLL_\* bit' -- "$gt" -F 0x40001 -m 4
check "gup_test -F junk" -s 1 -o '^Bail out! -F 1x: not a gup_flags value$' -- "$gt" -F 1x
check "gup_test -H with an empty pool" -s 1 -o '^Bail out! mmap: Cannot allocate memory$' -- \
	env PINMM_HUGEPAGES=0 "$gt" -H -m 4

# ---- pinmm_demo (make demo): a small machine, a pin of a 4 KiB page and of a THP subpage ----
demo=$dir/pinmm_demo
check "pinmm_demo" -o '^booted: 64 MiB RAM' \
	-o '^pinned: head refcount 1025, page_maybe_dma_pinned yes; nr_foll_pin_acquired 1, nr_foll_pin_released 0$' \
	-o '^page:[0-9a-f]+ refcount:1025 mapcount:1 ' -o '^page dumped because: demo: a 4 KiB page, pinned$' \
	-o '^after unpin_user_pages_dirty_lock: head refcount 1, page_maybe_dma_pinned no;' \
	-o '^pinned: head refcount 2, compound_pincount 1, page_maybe_dma_pinned yes; nr_foll_pin_acquired 2,' \
	-o ' order:9 compound_mapcount:1 compound_pincount:1$' \
	-o '^after unpin_user_pages_dirty_lock: head refcount 1, compound_pincount 0,' \
	-o '^nr_foll_pin_acquired 2$' -o '^nr_foll_pin_released 2$' -o '^thp_fault_alloc 1$' \
	-o '^pinmm_shutdown: 0 \(nothing leaked\)$' -- "$demo"
check "pinmm_demo 16: below the smallest machine it pins on" -s 2 -1 -e '^usage: pinmm_demo' -- \
	"$demo" 16
check "pinmm_demo 64x: not a number" -s 2 -1 -e '^usage: pinmm_demo' -- "$demo" 64x

# ---- pinmm_bench (make bench) ----
pb=$dir/pinmm_bench

# verdict CASE WHY: a case checked by hand; WHY empty means it passed.
verdict() {
	if [ -z "$2" ]; then
		echo "[PASS] $1"
		passed=$((passed + 1))
	else
		echo "[FAIL] $1: ${2#; }"
		failed=$((failed + 1))
	fi
}

check "pinmm_bench -h" -o '^usage: pinmm_bench \[-h\]' -o '^  -b  backings, comma-separated' \
	-o '^  -t  thread counts' -o '^  -r  repeats per figure, reported as min / median / max \(default 5\)' \
	-- "$pb" -h
check "pinmm_bench -b nope" -s 2 -e '^pinmm_bench: -b nope: backings are 4k, thp-2m,' \
	-e '^usage: ' -- "$pb" -b nope
check "pinmm_bench -t 0" -s 2 -e '^pinmm_bench: -t 0: thread counts are 1-64' -- "$pb" -t 0
check "pinmm_bench -t 1,x" -s 2 -e '^pinmm_bench: -t 1,x: ' -- "$pb" -t 1,x
check "pinmm_bench -r 0" -s 2 -e '^pinmm_bench: -r 0: repeats' -- "$pb" -r 0
check "pinmm_bench -s 64 with hugetlb-1g" -s 2 -e 'whole huge pages \(1 GiB\)' -- \
	"$pb" -s 64 -b hugetlb-1g
check "pinmm_bench: an extra argument" -s 2 -e '^pinmm_bench: unexpected argument foo' -- \
	"$pb" foo
# The machine: no ZONE_MOVABLE and no CMA unless -z asks for them. With them, a long-term pin
# migrates the range's pages out (modern rules): the floor must then use the pages the row
# took, not the freed ones (the tool checks every floor page is mapped after each row), and
# each THP it migrated is split: the tool says how many pages and maps the range again.
check "pinmm_bench: the default machine has no ZONE_MOVABLE and no CMA" \
	-o '^machine: [0-9]+ MiB of RAM, no ZONE_MOVABLE, no CMA \(as the host.s memory\): a long-term pin migrates nothing; load average [0-9.]+ [0-9.]+ [0-9.]+$' \
	-x 'no longer THP-mapped' -x 'freed pages' -l '5:^thp-2m +1 ' -- \
	"$pb" -R modern -q -s 16 -r 2 -b thp-2m -t 1 -o "$tmp/z0.csv" -g "$tmp/z0.svg"
check "pinmm_bench -z 128,64: long-term pins migrate, the floor on the pages taken, splits said" \
	-o '^machine: [0-9]+ MiB of RAM, ZONE_MOVABLE 128 MiB, CMA 64 MiB \(-z\)' \
	-o '^thp-2m: after 1 thr pin longterm, [1-9][0-9]* of 16384 pages are no longer THP-mapped \(split by migration\); the range is mapped again$' \
	-l '5:^4k +1 ' -l '5:^thp-2m +1 ' -x 'freed pages' -- \
	"$pb" -R modern -q -z 128,64 -s 64 -r 2 -b 4k,thp-2m -t 1 -o "$tmp/z.csv" -g "$tmp/z.svg"
for bad in 128 3,0 128,x 128,64,4 ,64; do
	check "pinmm_bench -z $bad" -s 2 -e "^pinmm_bench: -z $bad: MOVABLE_MIB,CMA_MIB, multiples of 4 MiB" \
		-e '^usage: ' -- "$pb" -z "$bad"
done
ROW='^(4k|thp-2m) +[13] (get|pin) (fast|slow|longterm) +\| [0-9.]+/[0-9.]+/[0-9.]+!? +\| [0-9.]+/[0-9.]+/[0-9.]+!? +\|'
check "pinmm_bench -s 16 -r 3 -b 4k,thp-2m -t 1,3: 24 rows of min/median/max" \
	-o '^pinmm_bench: rules 5\.7, 16 MiB per range, 3 repeats \(min / median / max\), 512 pages per call, [0-9]+ CPUs online, debug checks off;' \
	-l "24:$ROW" \
	-l '12:^(4k|thp-2m) +3 .*\| x[0-9.]+ x[0-9.]+ x[0-9.]+, [0-9.]+ [0-9.]+$' \
	-l '12:^(4k|thp-2m) +1 .*\| -$' \
	-x hugetlb -o "^wrote $tmp/b.csv and $tmp/b.svg\$" -- \
	"$pb" -R 5.7 -q -s 16 -r 3 -b 4k,thp-2m -t 1,3 -o "$tmp/b.csv" -g "$tmp/b.svg"
check "pinmm_bench: the pin owners' cost, off and on, in the same run" \
	-o '^pin owners: 4k fast pin_user_pages_fast \+ unpin_user_pages, 1 thr, 16 MiB, min of 1: pin [0-9.]+ ns/page off, [0-9.]+ on \(x[0-9.]+\); unpin [0-9.]+ off, [0-9.]+ on \(x[0-9.]+\)$' \
	-- env PINMM_PIN_OWNER=1 "$pb" -R 5.7 -q -s 16 -r 1 -b 4k -t 1 -o "$tmp/o.csv" -g "$tmp/o.svg"
check "pinmm_bench -d: the debug checks stay on" -o 'debug checks on;' -l "6:^4k +1 " -- \
	"$pb" -R 5.7 -q -d -s 16 -r 1 -b 4k -t 1 -o "$tmp/d.csv" -g "$tmp/d.svg"
why=
[ "$(head -n1 "$tmp/b.csv" 2>/dev/null | cut -d, -f5-8)" = "repeats,get_ns_min,get_ns_median,get_ns_max" ] ||
	why+="; the CSV header has no repeats,get_ns_min,get_ns_median,get_ns_max"
[ "$(head -n1 "$tmp/b.csv" 2>/dev/null | cut -d, -f17-19)" = "get_scaling,put_scaling,floor_scaling" ] ||
	why+="; the CSV header has no get_scaling,put_scaling,floor_scaling"
awk -F, 'NR > 1 && (($2 == 1) != ($17 == 0 && $18 == 0 && $19 == 0)) { bad = 1 } END { exit bad }' \
	"$tmp/b.csv" 2>/dev/null || why+="; a 3-thread CSV row has no scaling, or a 1-thread row has one"
[ "$(wc -l <"$tmp/b.csv" 2>/dev/null)" = 25 ] || why+="; the CSV does not have 24 rows"
awk -F, 'NR > 1 && !($5 == 3 && $6 <= $7 && $7 <= $8 && $9 <= $10 && $10 <= $11 &&
	$12 <= $13 && $13 <= $14) { bad = 1 } END { exit bad }' "$tmp/b.csv" 2>/dev/null ||
	why+="; a CSV row is not 3 repeats with min <= median <= max"
verdict "pinmm_bench: the CSV has min / median / max for every figure, and the scaling" "$why"
# Scaling needs the 1-thread row of the same backing, op and mode.
check "pinmm_bench -t 2: no 1-thread rows, no scaling" -l '5:^4k +2 .*\| -$' -- \
	"$pb" -R modern -q -s 16 -r 1 -b 4k -t 2 -o "$tmp/t2.csv" -g "$tmp/t2.svg"
why=
for re in "<rect width='100%' height='100%' fill='white'/>" "(log scale)" \
	"get / pin \(take\)" "put / unpin \(release\)" "floor: one atomic add" \
	"ns per 4 KiB page</text>" \
	"font-weight='bold'>4k</text>" "font-weight='bold'>thp-2m</text>" \
	">3 thr pin slow( !)?</text>"; do
	grep -Eq -- "$re" "$tmp/b.svg" 2>/dev/null || why+="; the SVG lacks /$re/"
done
# Which decades the axis spans depends on the figures measured (a sanitizer build is slower):
# ask for at least two powers of ten among its labels, not for particular ones.
decades=$(grep -Eo "text-anchor='middle'>(0\.0*1|10*)</text>" "$tmp/b.svg" 2>/dev/null |
	sort -u | wc -l)
[ "${decades:-0}" -ge 2 ] || why+="; the SVG's axis has ${decades:-0} power-of-ten labels, expected 2 or more"
verdict "pinmm_bench: the SVG has a white background, a log axis with values, a legend" "$why"
# Into a pipe, each line arrives when it is printed: the three header lines, printed before
# the first measurement, reach the reader long before the run could end (6 rows of 1000
# repeats of 64 MiB; the reader quits after them, and the tool dies of SIGPIPE or the timeout).
start=$SECONDS
rows=$(timeout 30 "$pb" -q -s 64 -r 1000 -b 4k -t 1 -o "$tmp/p.csv" -g "$tmp/p.svg" |
	timeout 15 head -n 3 | grep -c '^pinmm_bench: rules [^,]*, 64 MiB per range')
verdict "pinmm_bench: progress through a pipe, a line at a time" \
	"$([ "$rows" = 1 ] || echo "the header did not come through the pipe within 15 s")"
echo "  (the pipe case took $((SECONDS - start)) s)"

# make bench's comparison: both rule sets, each round's CSV, a ratio row per measured row.
cmp_sh=$(dirname "$0")/../../tools/pinmm_bench_compare.sh
if [ -f "$cmp_sh" ]; then
	mkdir -p "$tmp/cmp"
	CROW='^(4k|thp-2m) +1 (get|pin) (fast|slow|longterm) +\| +[0-9.]+ +[0-9.]+ +[0-9.]+ \| +[0-9.]+ +[0-9.]+ +[0-9.]+$'
	check "pinmm_bench_compare.sh: 5.7 and modern, the ratio per row" \
		-o '^pinmm_bench: rules 5\.7, 16 MiB' -o '^pinmm_bench: rules modern, 16 MiB' \
		-o '^modern / 5\.7, best of 2 round\(s\)' -l "10:$CROW" \
		-o '^fast path: [0-9] of 4 take figures within 5% of each other' -- \
		env ROUNDS=2 bash "$cmp_sh" "$pb" "$tmp/cmp" -q -s 16 -r 1 -b 4k,thp-2m -t 1
	why=
	for f in bench-5.7-1.csv bench-5.7-2.csv bench-modern-1.csv bench-modern-2.csv \
		bench-5.7.svg bench-modern.svg; do
		[ -s "$tmp/cmp/$f" ] || why+="; no $f"
	done
	verdict "pinmm_bench_compare.sh: every round's CSV and each rule set's SVG" "$why"
	check "pinmm_bench_compare.sh ROUNDS=x" -s 2 -e 'ROUNDS=x: not a count' -- \
		env ROUNDS=x bash "$cmp_sh" "$pb" "$tmp/cmp"
	check "pinmm_bench_compare.sh without arguments" -s 2 -e '^usage: pinmm_bench_compare' -- \
		bash "$cmp_sh"
fi

# make bench-scale's script: its arguments, and a run the host has no memory for is skipped
# with the reason (status 3) before anything runs.
scale_sh=$(dirname "$0")/../../tools/pinmm_bench_scale.sh
if [ -f "$scale_sh" ]; then
	check "pinmm_bench_scale.sh: a run bigger than the host's memory is skipped, with why" -s 3 \
		-e '^THP: 1048576 MiB skipped: the host has [0-9]+ MiB available, the run needs 1067008$' \
		-e '^4k: 1048576 MiB skipped: the host has [0-9]+ MiB available, the run needs 1067008$' \
		-o '^pinmm_bench_scale: a 64 GiB simulated machine, .*; load average [0-9.]+ [0-9.]+ [0-9.]+$' \
		-x '^(THP|4k) +\|' -- bash "$scale_sh" "$bm" 1048576
	check "pinmm_bench_scale.sh 12x" -s 2 -1 -e 'sizes are MiB counts' -- bash "$scale_sh" "$bm" 12x
	check "pinmm_bench_scale.sh without arguments" -s 2 -1 -e '^usage: pinmm_bench_scale' -- \
		bash "$scale_sh"
fi

# ---- dma_writeback (docs/gup-dma-problem.md) ----
dw=$dir/dma_writeback
LINE='^mode=[a-z-]+ cycles=[0-9]+ dma_bytes=[0-9]+ lost_bytes=[0-9]+ torn=[0-9]+ warn=[0-9]+ ms=[0-9]+( refused=[0-9]+)?$'
# The unsafe modes WARN (a page dirtied without page_mkwrite): -w.
check "dma_writeback: the default run, one line per mode" -w -L 4 -l "4:$LINE" \
	-o '^mode=get cycles=200 ' -o '^mode=pin cycles=200 ' \
	-o '^mode=pin-longterm-modern cycles=200 .* refused=[0-9]+$' -o '^mode=pin-aware cycles=200 ' \
	-- "$dw"
cp "$tmp/out" "$tmp/dw.out"
# field MODE NAME: the value of NAME= on MODE's line of the default run.
field() {
	sed -n "s/^mode=$1 .*[ ]$2=\([0-9]*\).*/\1/p" "$tmp/dw.out"
}
for m in get pin; do
	sum=$(($(field $m lost_bytes) + $(field $m torn) + $(field $m warn)))
	verdict "dma_writeback: $m shows its failures (lost + torn + warn = $sum)" \
		"$([ "$sum" -gt 0 ] || echo "lost, torn and warn are all 0: the experiment cannot fail")"
done
verdict "dma_writeback: get loses the device's writes (lost_bytes $(field get lost_bytes))" \
	"$([ "$(field get lost_bytes)" -gt 0 ] || echo "lost_bytes 0")"
verdict "dma_writeback: pin dirties pages without page_mkwrite (warn $(field pin warn))" \
	"$([ "$(field pin warn)" -gt 0 ] || echo "warn 0")"
verdict "dma_writeback: pin-aware loses, tears and warns nothing" \
	"$(for f in lost_bytes torn warn; do [ "$(field pin-aware $f)" = 0 ] || echo "; $f $(field pin-aware $f)"; done)"
verdict "dma_writeback: get, pin and pin-aware moved the same DMA bytes (one seed)" \
	"$([ "$(grep -v '^mode=pin-longterm-modern ' "$tmp/dw.out" |
		sed -n 's/.* dma_bytes=\([0-9]*\) .*/\1/p' | sort -u | wc -l)" = 1 ] ||
		echo "dma_bytes differ between modes")"
# Modern rules refuse every writable long-term pin of the shared file mapping (Linux 6.5): no
# DMA at all. Where that rule is not implemented, the pins succeed and the mode moves as much
# as pin.
lt_refused=$(field pin-longterm-modern refused)
lt_bytes=$(field pin-longterm-modern dma_bytes)
verdict "dma_writeback: pin-longterm-modern refused $lt_refused of 200, moved $lt_bytes bytes" \
	"$({ [ "$lt_refused" = 200 ] && [ "$lt_bytes" = 0 ]; } ||
		{ [ "$lt_refused" = 0 ] && [ "$lt_bytes" = "$(field pin dma_bytes)" ]; } ||
		echo "neither every pin refused with no DMA, nor none refused")"
check "dma_writeback -m pin-aware -n 50 -s 7" -L 1 -l "1:^mode=pin-aware cycles=50 " \
	-- "$dw" -m pin-aware -n 50 -s 7 -j 3
sed -n 's/.* \(dma_bytes=[0-9]*\) .*/\1/p' "$tmp/out" >"$tmp/seed7a"
check "dma_writeback: the same seed again" -L 1 -- "$dw" -m pin-aware -n 50 -s 7 -j 1
sed -n 's/.* \(dma_bytes=[0-9]*\) .*/\1/p' "$tmp/out" >"$tmp/seed7b"
check "dma_writeback: another seed" -L 1 -- "$dw" -m pin-aware -n 50 -s 8
sed -n 's/.* \(dma_bytes=[0-9]*\) .*/\1/p' "$tmp/out" >"$tmp/seed8"
verdict "dma_writeback: a seed reproduces its cycles, whatever -j" \
	"$(cmp -s "$tmp/seed7a" "$tmp/seed7b" || echo "$(cat "$tmp/seed7a") then $(cat "$tmp/seed7b")")"
verdict "dma_writeback: another seed draws other cycles" \
	"$(cmp -s "$tmp/seed7a" "$tmp/seed8" && echo "seed 8 gave seed 7's $(cat "$tmp/seed8")")"
check "dma_writeback -m get,pin -n 20: two lines, in the table's order" -w -L 2 \
	-o '^mode=get cycles=20 ' -o '^mode=pin cycles=20 ' -- "$dw" -m pin,get -n 20
check "dma_writeback -c -n 2 (the cost of pin-aware writeback)" -L 3 \
	-o '^cost pin_aware=off rounds=2 pages=[0-9]+ ms=[0-9]+ pages_per_s=[0-9]+$' \
	-o '^cost pin_aware=on rounds=2 pages=[0-9]+ ms=[0-9]+ pages_per_s=[0-9]+$' \
	-o '^cost overhead=-?[0-9.]+%$' -- "$dw" -c -n 2
check "dma_writeback -h" -o '^usage: dma_writeback ' -o '^  -m  comma-separated' -- "$dw" -h
check "dma_writeback -n 0" -s 2 -1 -L 0 -e 'not a positive count' -- "$dw" -n 0
check "dma_writeback -n x" -s 2 -1 -L 0 -e 'not a positive count' -- "$dw" -n x
check "dma_writeback -s -1" -s 2 -1 -L 0 -e 'not a number' -- "$dw" -s -1
check "dma_writeback -m bogus" -s 2 -1 -L 0 -e '^dma_writeback: -m bogus: not a mode' -- "$dw" -m bogus
check "dma_writeback -j 0" -s 2 -1 -L 0 -e 'not 1\.\.64' -- "$dw" -j 0
check "dma_writeback -j 65" -s 2 -1 -L 0 -e 'not 1\.\.64' -- "$dw" -j 65
check "dma_writeback: unknown option" -s 2 -L 0 -e 'invalid option' -- "$dw" -q
check "dma_writeback: an argument" -s 2 -L 0 -e 'unexpected argument extra' -- "$dw" extra

# ---- pin_owners (docs/observability.md) ----
po=$dir/pin_owners
check "pin_owners: the live table, every pin named" \
	-o '^pin_owners: rules 5\.7, 1 thread\(s\), pins held 0 ms, table of pins held >= 0 ms$' \
	-o '^pin owners: 7 record\(s\) held at least 0\.000 ms$' \
	-l '6:^  pin of pfn 0x[0-9a-f]+ \(head 0x[0-9a-f]+\) x1, FOLL_WRITE\|FOLL_LONGTERM\|FOLL_PIN, ' \
	-o '^    by (hold_slow|worker_main) \(tools/pin_owners\.c:[0-9]+\)$' \
	-o '^    by (hold_thp|worker_main) \(tools/pin_owners\.c:[0-9]+\)$' \
	-o '^    by main \(tools/pin_owners\.c:[0-9]+\)$' \
	-o '^pin sites: 4$' -o '^  site [0-9]: 0 outstanding, 800 released$' \
	-o '^    held >= [0-9]+ us: [0-9]+$' -- env -u PINMM_RULES "$po" -j 1
check "pin_owners -j 3: each thread's pins" -o '^pin owners: 17 record\(s\)' -- "$po" -j 3
check "pin_owners -s 30 -o 20: older than 20 ms" -o '^pin owners: 7 record\(s\) held at least 20\.000 ms$' \
	-- "$po" -j 1 -s 30 -o 20
check "pin_owners -o 60000: none that old" -o '^pin owners: 0 record\(s\) held at least 60000\.000 ms$' \
	-o '^pin sites: 4$' -- "$po" -j 1 -o 60000
check "pin_owners -l: the leak named at mmput and shutdown" -s 1 \
	-e '^pin owner: mm 0x[0-9a-f]+ torn down with pages still pinned through it:$' \
	-e '^    by leak_one \(tools/pin_owners\.c:[0-9]+\)$' \
	-e '^pin owner: shutdown: 1 pin\(s\) leaked$' \
	-e '^pin_owners: shutdown found leaked pins \(reported above\)$' -- "$po" -j 1 -l
check "pin_owners -h" -o '^usage: pin_owners \[-h\]' -o '^  -l  leak one pin' -- "$po" -h
check "pin_owners -j 0" -s 2 -e '^pin_owners: -j 0: not a number in 1\.\.64$' -- "$po" -j 0
check "pin_owners -o x" -s 2 -e '^pin_owners: -o x: not a number' -- "$po" -o x
check "pin_owners -R bogus" -s 2 -1 -L 0 -e '^pin_owners: -R bogus: not a rule set' -- "$po" -R bogus
check "pin_owners: an argument" -s 2 -L 0 -e '^pin_owners: unexpected argument extra' -- "$po" extra
check "pin_owners -R modern" -o '^pin_owners: rules modern, ' -o '^pin owners: 7 record' -- \
	"$po" -R modern -j 1
# ---- pin_fragmentation (README's tour) ----
pf=$dir/pin_fragmentation
SUMMARY='^rules=(5\.7|modern) pinned=[0-9]+ thp_ok=[0-9]+/[0-9]+ gigantic_ok=[0-9]+/[0-9]+ movable_offline=(yes|no) cma_offline=(yes|no) spoiled_pageblocks=[0-9]+$'
# A 256 MiB machine (the default, 2 GiB, takes most of a minute on a loaded machine): 1% of
# its anonymous pages pinned long-term, both rule sets, one map each.
check "pin_fragmentation -m 256: a table per rule set, then two summary lines" \
	-l "2:$SUMMARY" -o '^== rules=5\.7: 256 MiB RAM, long-term pins of 1\.00% ' \
	-o '^compaction throughput: [0-9]+ MiB/s; memcpy of [0-9]+ such pages: [0-9]+ MiB/s; ratio [0-9]+%$' \
	-- "$pf" -m 256 -o "$tmp/pf.svg"
tail -2 "$tmp/out" >"$tmp/pf.sum"
# pf_field RULES NAME: NAME's value on RULES's summary line.
pf_field() {
	sed -n "s/^rules=$1 \(.* \)*$2=\([^ ]*\).*/\2/p" "$tmp/pf.sum"
}
verdict "pin_fragmentation: the summary lines are the last two, 5.7 then modern" \
	"$(sed -n 1p "$tmp/pf.sum" | grep -q '^rules=5\.7 ' && sed -n 2p "$tmp/pf.sum" |
		grep -q '^rules=modern ' || echo "$(cat "$tmp/pf.sum")")"
verdict "pin_fragmentation: the same pins under both rule sets ($(pf_field 5.7 pinned))" \
	"$([ "$(pf_field 5.7 pinned)" = "$(pf_field modern pinned)" ] &&
		[ "$(pf_field 5.7 pinned)" -gt 0 ] || echo "pinned differs or is 0")"
verdict "pin_fragmentation: a long-term pin blocks ZONE_MOVABLE's offlining under 5.7, not modern" \
	"$([ "$(pf_field 5.7 movable_offline)" = no ] && [ "$(pf_field modern movable_offline)" = yes ] ||
		echo "movable_offline $(pf_field 5.7 movable_offline) / $(pf_field modern movable_offline)")"
verdict "pin_fragmentation: long-term pins leave CMA under both rule sets" \
	"$([ "$(pf_field 5.7 cma_offline)" = yes ] && [ "$(pf_field modern cma_offline)" = yes ] ||
		echo "cma_offline $(pf_field 5.7 cma_offline) / $(pf_field modern cma_offline)")"
verdict "pin_fragmentation: more 2 MiB blocks under modern rules ($(pf_field 5.7 thp_ok) / $(pf_field modern thp_ok))" \
	"$([ "$(pf_field 5.7 thp_ok | cut -d/ -f1)" -lt "$(pf_field modern thp_ok | cut -d/ -f1)" ] ||
		echo "5.7 $(pf_field 5.7 thp_ok), modern $(pf_field modern thp_ok)")"
why=
for f in pf-5.7.svg pf-modern.svg; do
	[ -s "$tmp/$f" ] || why+="; no $f"
	for w in '<svg ' 'long-term pinned' 'ZONE_MOVABLE' 'CMA' 'hugetlb' '</svg>'; do
		grep -q "$w" "$tmp/$f" 2>/dev/null || why+="; $f lacks $w"
	done
done
verdict "pin_fragmentation: an SVG map per rule set, with its legend and zones" "$why"
check "pin_fragmentation -t short -R modern: short-term pins stay in ZONE_MOVABLE" -L 10 \
	-l "1:^rules=modern .* movable_offline=no " -- "$pf" -m 256 -t short -R modern -s 3 -o "$tmp/s.svg"
check "pin_fragmentation -P thp -g -p 5 -R 5.7" -l "1:$SUMMARY" -o '^== rules=5\.7: .* THPs, seed 1 ==$' \
	-- "$pf" -m 256 -P thp -g -p 5 -R 5.7 -o "$tmp/t.svg"
check "pin_fragmentation -h" -o '^usage: pin_fragmentation ' -- "$pf" -h
check "pin_fragmentation -p 0" -s 2 -1 -L 0 -e '^pin_fragmentation: -p 0: not a percentage' -- "$pf" -p 0
check "pin_fragmentation -t medium" -s 2 -1 -L 0 -e 'not long or short' -- "$pf" -t medium
check "pin_fragmentation -P 1g" -s 2 -1 -L 0 -e 'not 4k or thp' -- "$pf" -P 1g
check "pin_fragmentation -m 100" -s 2 -1 -L 0 -e 'not a RAM size' -- "$pf" -m 100
check "pin_fragmentation -s x" -s 2 -1 -L 0 -e 'not a seed' -- "$pf" -s x
check "pin_fragmentation -R 6.1" -s 2 -1 -L 0 -e 'not a rule set' -- "$pf" -R 6.1
check "pin_fragmentation: unknown option" -s 2 -1 -L 0 -e 'unknown option' -- "$pf" -q
check "pin_fragmentation: an argument" -s 2 -1 -L 0 -e 'unexpected argument' -- "$pf" extra
# ---- page_types: pages counted by their kpageflags combination ----
pt=$dir/page_types
HDR='^             flags	page-count       MB  symbolic-flags			long-symbolic-flags$'
# On an LRU list, active or not as the rule set makes new anonymous pages. The zero page's
# PG_referenced flips with each access mark_page_accessed() sees (5.7's, off the LRU).
LRU_RE='(lru,(active,)?)?'
check "page_types: every frame of a 256 MiB machine" -o "$HDR" \
	-o '^             total	     65536      256$' \
	-o '^0x0000000000000400	 +[0-9]+ +[0-9]+  __________B_+	buddy$' \
	-o '	(referenced,)?zero_page,reserved$' \
	-o "^0x00000800000058[0-9a-f]{2}	         2 .*	referenced,dirty,$LRU_RE""mmap,anonymous,swapbacked,pinned\$" \
	-o "^0x00001800000058[0-9a-f]{2}	         1 .*	referenced,dirty,$LRU_RE""mmap,anonymous,swapbacked,pinned,longterm_pinned\$" \
	-o '^0x000018000040d8[0-9a-f]{2}	         1 .*compound_head,thp,pinned,longterm_pinned$' \
	-o '^0x00001800004158[0-9a-f]{2}	       511 .*compound_tail,thp,pinned,longterm_pinned$' \
	-o '^0x000000000002d810	         1 .*compound_head,huge$' -- "$pt"
check "page_types -p: the pages the mm maps" -o "$HDR" -o '^             total	      1052        4$' \
	-o '^0x000000010100000[04]	         8 .*	(referenced,)?zero_page,reserved$' \
	-x 'buddy' -x 'pgtable' -- "$pt" -p
check "page_types -p -s idle: an empty mm" -L 2 -o "$HDR" -o '^             total	         0        0$' \
	-- "$pt" -p -s idle
check "page_types -s idle -m 128 -R modern" -o '^             total	     32768      128$' -x 'pinned' \
	-- "$pt" -s idle -m 128 -R modern
check "page_types -s bogus" -s 2 -1 -L 0 -e '^page_types: -s bogus: not a scenario \(mixed or idle\)$' \
	-- "$pt" -s bogus
check "page_types -m 32" -s 2 -1 -L 0 -e '^page_types: -m 32: not a size in MiB \(64 \.\. 65536\)$' \
	-- "$pt" -m 32
check "page_types -m x" -s 2 -1 -L 0 -e '^page_types: -m x: not a size' -- "$pt" -m x
check "page_types: unknown option" -s 2 -1 -L 0 -e '^usage: page_types ' -- "$pt" -q
check "page_types: an argument" -s 2 -1 -L 0 -e '^usage: page_types ' -- "$pt" extra
check "page_types -R bogus" -s 2 -1 -L 0 -e '^page_types: -R bogus: not a rule set \(5\.7 or modern\)$' \
	-- "$pt" -R bogus
check "page_types PINMM_RULES=bogus" -s 2 -1 -L 0 -e '^page_types: PINMM_RULES=bogus: ' -- \
	env PINMM_RULES=bogus "$pt"
sb="$dir/swap_bench"
check "swap_bench -s 16 -r 1 (a small run: the figures and the ratios)" -L 3 \
	-o '^size_mib=16 rounds=1 rules=(5\.7|modern) pswpout=4096 pswpin=4096$' \
	-o '^host_write_mib_s=[0-9]+ host_read_mib_s=[0-9]+ swap_out_mib_s=[0-9]+ swap_in_mib_s=[0-9]+$' \
	-o '^swap_out_ratio=[0-9.]+ swap_in_ratio=[0-9.]+$' -- "$sb" -s 16 -r 1 -d "$tmp"
check "swap_bench -h" -o '^usage: swap_bench ' -- "$sb" -h
check "swap_bench -s 3 (not a multiple of 4 MiB)" -s 2 -1 -L 0 -e '^usage: swap_bench ' -- "$sb" -s 3
check "swap_bench -R bogus" -s 2 -1 -L 0 -e '^usage: swap_bench ' -- "$sb" -R bogus
# ---- kernel_compare (make bench; built where liburing is) ----
kc=$dir/kernel_compare
if [ -x "$kc" ]; then
	check "kernel_compare -h" -o '^usage: kernel_compare \[-h\]' -o '^  -r  rounds, kernel and pinmm alternating' \
		-- "$kc" -h
	check "kernel_compare -s 3: not a multiple of 2" -s 2 -L 0 -1 -e '^kernel_compare: -s 3: MiB' -- \
		"$kc" -s 3
	check "kernel_compare -r 0" -s 2 -L 0 -1 -e '^kernel_compare: -r 0: rounds, 1-100$' -- "$kc" -r 0
	check "kernel_compare -R bogus" -s 2 -L 0 -1 -e '^kernel_compare: -R bogus: not a rule set' -- \
		"$kc" -R bogus
	check "kernel_compare: an extra argument" -s 2 -e '^kernel_compare: unexpected argument foo' -- \
		"$kc" foo
	# Every row has both figures and their ratio, or says why the host could not run it.
	KROW=' \| +([0-9.]+ +[0-9.]+ \| +[0-9.]+ +[0-9.]+ \| +[0-9.]+(inf)?|skipped: .+)$'
	check "kernel_compare -s 4 -r 2: 14 rows, each measured or skipped with a reason" \
		-o '^kernel_compare: host Linux .*; pinmm rules modern; 4 MiB per range; best of 2 rounds' \
		-l "14:$KROW" -l "1:^fork, 4k \+ THP ranges populated" \
		-o '^pinmm first touch / warm populate: [0-9.]+' -- "$kc" -q -R modern -s 4 -r 2
else
	echo "[SKIP] kernel_compare: not built (no liburing)"
fi

echo "tools: $passed passed, $failed failed"
[ $failed -eq 0 ]
