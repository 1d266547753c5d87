#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# test_catalogues.sh TOOLS_DIR [PROGRAM [RULES]]: runs the catalogue programs (tools/cow.c,
# tools/gup_longterm.c: Linux's cow and gup_longterm selftests' case lists) under both rule sets
# (or only PROGRAM, under RULES) and compares every case's result with the expectations in
# tests/tools/<program>.expected, so that a change of behaviour under either rule set fails
# `make check`. Each run also has to be well-formed kselftest TAP:
#   - "TAP version 13", the plan "1..N", the header line "# rules: <RULES>";
#   - result lines numbered 1..N in order, each right after "# [RUN] <its case>" and the
#     reason lines; a SKIP or XFAIL with its reason on a "# " line before it;
#   - "# Totals: pass:P fail:F xfail:X xpass:XP skip:S error:E" whose numbers are the counts of
#     the result lines and add up to N; the exit status 1 if F or E, else 0;
#   - no WARNING from the simulated kernel on stderr.
# The expectations file has one line per case, in the program's order:
#   <case> | <result under 5.7> | <result under modern>[  # pinmm: <why>]
# results being "ok", "not ok", "skip" or "xfail". A case expected "not ok" under modern
# needs the "# pinmm:" comment saying why it differs from Linux 6.18 (checked here).
# CATALOGUE_FLAGS (environment) is passed to every run; with -G (no 1 GiB hugetlb pool) the
# expected cases are those of the file without the "(1048576 kB)" ones, in the same order.
# First each program's options and early errors (-h, a bad -R, PINMM_RULES or argument). Each
# run prints "[PASS] <program> under <rules>: ..." or "[FAIL] <program> under <rules>:
# <every difference>"; the last line is "catalogues: N passed, N failed"; exit status 1 if
# anything failed.
set -u
dir=${1:?usage: test_catalogues.sh TOOLS_DIR [PROGRAM [RULES]]}
here=$(cd "$(dirname "$0")" && pwd)
programs=${2:-"cow gup_longterm"}
rules_list=${3:-"5.7 modern"}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

# check_expectations FILE: the file's own rules. Prints one line per problem.
check_expectations() {
	awk -F' [|] ' '
		/^#/ || /^$/ { next }
		{
			comment = ""
			line = $0
			i = index(line, "  # ")
			if (i) { comment = substr(line, i + 4); line = substr(line, 1, i - 1) }
			n = split(line, f, / [|] /)
			if (n != 3) { printf "line %d: not \"<case> | <5.7> | <modern>\"\n", NR; next }
			for (k = 2; k <= 3; k++)
				if (f[k] !~ /^(ok|not ok|skip|xfail)$/)
					printf "line %d: \"%s\" is not ok, not ok, skip or xfail\n", NR, f[k]
			if (f[3] == "not ok" && comment !~ /^pinmm: /)
				printf "line %d: %s: expected not ok under modern without \"# pinmm: <why>\"\n", NR, f[1]
			if (seen[f[1]]++)
				printf "line %d: %s: listed twice\n", NR, f[1]
		}' "$1"
}

# parse_tap OUT RULES: checks the TAP of one run; writes "<case> | <result>" lines to
# $tmp/got, problems to stdout, and the exit status kselftest gives to $tmp/status.
parse_tap() {
	awk -v rules="$2" -v got="$tmp/got" -v statusf="$tmp/status" '
		function problem(s) { print s }
		NR == 1 && $0 != "TAP version 13" { problem("line 1 is not \"TAP version 13\"") }
		/^1\.\.[0-9]+$/ { plan = substr($0, 4) + 0; next }
		$0 == "# rules: " rules { header = 1; next }
		/^# \[RUN\] / { run = substr($0, 9); reason = ""; next }
		/^# Totals: / {
			totals = $0
			n = split(substr($0, 11), kv, / /)
			for (i = 1; i <= n; i++) { split(kv[i], p, ":"); t[p[1]] = p[2] + 0 }
			next
		}
		/^# / { reason = substr($0, 3); next }
		/^(not )?ok [0-9]+ / {
			num++
			line = $0
			res = "ok"
			if (line ~ /^not ok /) { res = "not ok"; sub(/^not ok [0-9]+ /, "", line) }
			else sub(/^ok [0-9]+ /, "", line)
			split($0, w, / /)
			if ((res == "ok" ? w[2] : w[3]) + 0 != num)
				problem("result " num " is numbered " (res == "ok" ? w[2] : w[3]))
			if (line ~ /^# SKIP /) { res = "skip"; sub(/^# SKIP /, "", line) }
			else if (line ~ /^# XFAIL /) { res = "xfail"; sub(/^# XFAIL /, "", line) }
			if ((res == "skip" || res == "xfail") && reason == "")
				problem(line ": " res " without a reason line before it")
			if (line != run)
				problem("result " num " names \"" line "\", its [RUN] line \"" run "\"")
			count[res]++
			print line " | " res > got
			run = ""; reason = ""
			next
		}
		END {
			if (!header) problem("no \"# rules: " rules "\" header line")
			if (plan != num) problem("plan 1.." plan ", " num " results")
			if (totals == "") problem("no \"# Totals:\" line")
			else {
				if (t["pass"] != count["ok"] + 0) problem("Totals pass:" t["pass"] ", " count["ok"] + 0 " ok lines")
				if (t["fail"] != count["not ok"] + 0) problem("Totals fail:" t["fail"] ", " count["not ok"] + 0 " not ok lines")
				if (t["skip"] != count["skip"] + 0) problem("Totals skip:" t["skip"] ", " count["skip"] + 0 " SKIP lines")
				if (t["xfail"] != count["xfail"] + 0) problem("Totals xfail:" t["xfail"] ", " count["xfail"] + 0 " XFAIL lines")
				sum = t["pass"] + t["fail"] + t["xfail"] + t["xpass"] + t["skip"] + t["error"]
				if (sum != plan) problem("Totals add up to " sum ", the plan is " plan)
			}
			print (t["fail"] || t["error"] || plan != num) ? 1 : 0 > statusf
		}' "$1"
}

# option CASE STATUS STDOUT_RE STDERR_RE -- COMMAND...: the command exits STATUS, and a line
# of its stdout / stderr matches each extended regex ("" for none: that stream is empty).
option() {
	local name=$1 status=$2 ore=$3 ere=$4 rc why=""
	shift 5
	"$@" >"$tmp/oout" 2>"$tmp/oerr"
	rc=$?
	[ $rc -eq "$status" ] || why+="; exit status $rc, expected $status"
	if [ -n "$ore" ]; then
		grep -Eq -- "$ore" "$tmp/oout" || why+="; no stdout line matches /$ore/"
	elif [ -s "$tmp/oout" ]; then
		why+="; stdout not empty"
	fi
	if [ -n "$ere" ]; then
		grep -Eq -- "$ere" "$tmp/oerr" || why+="; no stderr line matches /$ere/"
	elif [ -s "$tmp/oerr" ]; then
		why+="; stderr not empty"
	fi
	if [ -z "$why" ]; then
		echo "[PASS] $name"
		passed=$((passed + 1))
	else
		echo "[FAIL] $name: ${why#; }"
		failed=$((failed + 1))
	fi
}

# The expectation lines CATALOGUE_FLAGS leaves in: -G drops the 1 GiB hugetlb cases.
gigantic_filter() {
	case " ${CATALOGUE_FLAGS:-} " in
	*" -G "*) grep -v '(1048576 kB)' ;;
	*) cat ;;
	esac
}

# The options, and the errors that end a run before anything runs.
for prog in $programs; do
	[ -x "$dir/$prog" ] || continue
	option "$prog -h: usage on stdout, exit 0" 0 \
		"^usage: $prog \\[-R 5\\.7\\|modern\\] \\[-G\\] \\[-h\\]\$" "" \
		-- "$dir/$prog" -h
	option "$prog -R bogus: one line, exit 1" 1 "" \
		"^$prog: -R bogus: not a rule set \\(5\\.7 or modern\\)\$" -- "$dir/$prog" -R bogus
	option "$prog -q: usage on stderr, exit 1" 1 "" "^usage: $prog " -- "$dir/$prog" -q
	option "$prog with an argument: exit 1" 1 "" "^$prog: unexpected argument 'x'\$" \
		-- "$dir/$prog" x
	option "$prog PINMM_RULES=bogus: Bail out!, exit 1" 1 \
		'^Bail out! PINMM_RULES=bogus: not a rule set \(5\.7 or modern\)$' "" \
		-- env PINMM_RULES=bogus "$dir/$prog"
done

for prog in $programs; do
	exp=$here/$prog.expected
	for rules in $rules_list; do
		why=""
		col=$([ "$rules" = 5.7 ] && echo 2 || echo 3)
		if [ ! -f "$exp" ]; then
			why="; no expectations file $exp"
		elif [ ! -x "$dir/$prog" ]; then
			why="; $dir/$prog: not built"
		else
			while IFS= read -r l; do why+="; $prog.expected $l"; done \
				< <(check_expectations "$exp")
			# shellcheck disable=SC2086 # CATALOGUE_FLAGS is a list of options
			"$dir/$prog" -R "$rules" ${CATALOGUE_FLAGS:-} >"$tmp/out" 2>"$tmp/err"
			rc=$?
			: >"$tmp/got"
			while IFS= read -r l; do why+="; $l"; done < <(parse_tap "$tmp/out" "$rules")
			[ "$rc" -eq "$(cat "$tmp/status")" ] ||
				why+="; exit status $rc, kselftest's would be $(cat "$tmp/status")"
			! grep -q '^WARNING' "$tmp/err" || why+="; the simulated kernel WARNed (stderr)"
			# The expected results for this rule set, in order, against what ran.
			grep -v '^#' "$exp" | grep -v '^$' | sed 's/  # .*$//' | gigantic_filter |
				awk -F' [|] ' -v c="$col" '{ print $1 " | " $c }' >"$tmp/want"
			while IFS= read -r l; do why+="; $l"; done < <(diff "$tmp/want" "$tmp/got" |
				sed -n -e 's/^< /expected: /p' -e 's/^> /got:      /p')
		fi
		if [ -z "$why" ]; then
			echo "[PASS] $prog under $rules: $(wc -l <"$tmp/got") cases as expected," \
				"$(grep '^# Totals' "$tmp/out")"
			passed=$((passed + 1))
		else
			echo "[FAIL] $prog under $rules:"
			printf '%s\n' "${why#; }" | sed 's/; /\n/g' | sed 's/^/    /'
			[ -s "$tmp/err" ] && head -n 20 "$tmp/err" | sed 's/^/    stderr: /'
			failed=$((failed + 1))
		fi
	done
done
echo "catalogues: $passed passed, $failed failed"
[ $failed -eq 0 ]
