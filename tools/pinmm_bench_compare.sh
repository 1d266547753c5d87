#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# pinmm_bench_compare.sh BENCH OUTDIR [PINMM_BENCH_OPTION...]: run the benchmark matrix
# (pinmm_bench, the binary BENCH) under each rule set, 5.7 then modern, with the same options,
# ROUNDS times (default 2; the environment sets it), alternating, so that a change in the
# machine's load falls on both; each run writes OUTDIR/bench-RULES.{csv,svg} (the last round's
# stay, and OUTDIR/bench-RULES-ROUND.csv keeps every round's figures). Then print, per row of
# the matrix that both ran, the ratio modern / 5.7 of the best figure (min over every repeat
# of every round) in ns per page, for the take (get/pin) and the release (put/unpin). `make
# bench` runs it.
#
# The fast-path rows are the ones to compare: the two rule sets share that path except for
# how a pin is counted (an order-1 page is the only page whose count differs, and the matrix
# has none), so their ratio shows noise, which the machine's load decides. The slow-path rows
# on huge pages differ by design: modern rules take a whole huge leaf with one lookup and one
# grab (Linux 6.5). The ratios are printed, never judged: a loaded machine would fail any bar.
#
# Exit status: pinmm_bench's, or 2 for bad arguments.
set -u

if [ $# -lt 2 ] || [ ! -x "$1" ] || [ ! -d "$2" ]; then
	echo "usage: pinmm_bench_compare.sh BENCH OUTDIR [PINMM_BENCH_OPTION...]" >&2
	exit 2
fi
bench=$1
out=$2
shift 2

rounds=${ROUNDS:-2}
case $rounds in
'' | *[!0-9]* | 0) echo "pinmm_bench_compare.sh: ROUNDS=$rounds: not a count" >&2; exit 2 ;;
esac
files57=()
filesm=()
for ((round = 1; round <= rounds; round++)); do
	for rules in 5.7 modern; do
		"$bench" -R "$rules" -o "$out/bench-$rules.csv" -g "$out/bench-$rules.svg" "$@" ||
			exit $?
		cp "$out/bench-$rules.csv" "$out/bench-$rules-$round.csv"
		if [ "$rules" = 5.7 ]; then
			files57+=("$out/bench-$rules-$round.csv")
		else
			filesm+=("$out/bench-$rules-$round.csv")
		fi
		echo
	done
done

# Join the CSVs on backing,threads,op,mode, keeping the least get_ns_min (column 6) and
# put_ns_min (column 9) of each rule set's rounds. The 5.7 files come first.
awk -F, '
	function ratio(m, o) { return o > 0 ? sprintf("%6.3f", m / o) : "     -"; }
	function least(a, k, v) { if (!(k in a) || v < a[k]) a[k] = v; }
	FNR == 1 { if (FILENAME ~ /bench-modern-[0-9]+\.csv$/) modern = 1; next }
	{ key = $1 "," $2 "," $3 "," $4 }
	!modern { if (!(key in get57)) order[++n] = key; least(get57, key, $6); least(put57, key, $9);
		  next }
	{ least(getm, key, $6); least(putm, key, $9) }
	END {
		printf "modern / 5.7, best of %d round(s) of the repeats (min ns per 4 KiB page " \
		       "under each rule set)\n", rounds;
		printf "%-10s %3s %-3s %-8s | %8s %8s %6s | %8s %8s %6s\n", "backing", "thr", "op",
		       "mode", "take 5.7", "modern", "ratio", "rel 5.7", "modern", "ratio";
		for (i = 1; i <= n; i++) {
			key = order[i];
			if (!(key in getm))
				continue;
			split(key, f, ",");
			printf "%-10s %3s %-3s %-8s | %8.2f %8.2f %s | %8.2f %8.2f %s\n", f[1], f[2],
			       f[3], f[4], get57[key], getm[key], ratio(getm[key], get57[key]),
			       put57[key], putm[key], ratio(putm[key], put57[key]);
			if (f[4] == "fast") {
				fast++;
				if (getm[key] <= 1.05 * get57[key] && getm[key] >= get57[key] / 1.05)
					within++;
			}
		}
		printf "fast path: %d of %d take figures within 5%% of each other " \
		       "(a loaded machine moves them; rerun to compare)\n", within, fast;
	}' rounds="$rounds" "${files57[@]}" "${filesm[@]}"
