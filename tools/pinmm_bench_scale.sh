#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# pinmm_bench_scale.sh GUP_BENCHMARK [BIG_MIB [MACHINE_MIB]]: does the GUP cost per GiB stay
# flat as the range grows? On one simulated machine of MACHINE_MIB (default 65536: 64 GiB, more
# than this host's RAM: the arena is reserved lazily), gup_benchmark (the binary
# GUP_BENCHMARK) pins and unpins 1 GiB and then BIG_MIB (default 16384) with
# PIN_FAST_BENCHMARK, 512 pages per call, FOLL_WRITE, on THP (-t) and on 4 KiB pages (-T),
# best of 5 repeats each, and prints the ms per GiB of both sizes and their ratio big / 1 GiB
# for the pin and the unpin. Under 10% off (a ratio of 0.90-1.10) is the target; the ratios
# are printed, not judged: a loaded machine moves them.
#
# Host memory: gup_benchmark writes a byte of every page, so the 4 KiB run of 16 GiB has the
# host back 16 GiB of frames plus 256 MiB of struct pages (1/64), and the THP run the same.
# `make bench-scale` runs it; it is not part of make check or make bench (too big). Before
# each backing's runs and again before its BIG_MIB run, the host must have BIG_MIB + 1/64 of it
# + 2 GiB available (MemAvailable); otherwise that backing is skipped with the reason, rather
# than pushing the host into swap or the OOM killer while others use it.
#
# What moves the ratio, besides the load: gup_benchmark pins the whole range into one pages
# array (8 bytes per 4 KiB page, as Linux's gup_test does), 2 MiB for 1 GiB and 32 MiB for
# 16 GiB. The first stays in the caches between the memset before the clock and the pin; the
# second does not, and on THP, where the array is most of the work, that shows.
#
# Exit status: 0, 1 when a gup_benchmark run failed, 2 for bad arguments, 3 when a run was
# skipped for the host's memory.
set -u

if [ $# -lt 1 ] || [ ! -x "$1" ]; then
	echo "usage: pinmm_bench_scale.sh GUP_BENCHMARK [BIG_MIB [MACHINE_MIB]]" >&2
	exit 2
fi
gb=$1
big=${2:-16384}
machine=${3:-65536}
case $big$machine in
'' | *[!0-9]*) echo "pinmm_bench_scale.sh: sizes are MiB counts" >&2; exit 2 ;;
esac

# room SIZE_MIB: the host has the memory for a run of SIZE_MIB; else say why not.
room() {
	local avail need
	avail=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
	need=$(($1 + $1 / 64 + 2048))
	[ "${avail:-0}" -ge "$need" ] && return 0
	echo "$name: $1 MiB skipped: the host has ${avail:-?} MiB available, the run needs $need" >&2
	return 1
}

# best SIZE_MIB THP_FLAG: "get_us put_us", the least of 5 repeats of each.
best() {
	PINMM_RAM_MIB=$machine "$gb" -m "$1" -a -n 512 -w "$2" -r 5 |
		awk '/^Time: get:/ { split($2, g, ":"); split($3, p, ":");
			if (!n++ || g[2] < bg) bg = g[2]; if (n == 1 || p[2] < bp) bp = p[2] }
			END { if (!n) exit 1; print bg, bp }'
}

echo "pinmm_bench_scale: a $((machine / 1024)) GiB simulated machine, gup_benchmark -a -n 512 -w" \
	"-r 5 (best), 1024 MiB then $big MiB; load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-6s | %10s %10s %6s | %10s %10s %6s\n' backing "pin 1G" "pin ${big}M" ratio \
	"unpin 1G" "unpin ${big}M" ratio
printf '%-6s | %10s %10s %6s | %10s %10s %6s\n' "" "ms/GiB" "ms/GiB" "" "ms/GiB" "ms/GiB" ""
status=0
for mode in -t -T; do
	name=$([ "$mode" = -t ] && echo THP || echo 4k)
	room "$big" || { [ $status -ne 0 ] || status=3; continue; }
	small=$(best 1024 "$mode") || { echo "$name: gup_benchmark -m 1024 failed" >&2; status=1; continue; }
	room "$big" || { [ $status -ne 0 ] || status=3; continue; }
	large=$(best "$big" "$mode") || { echo "$name: gup_benchmark -m $big failed" >&2; status=1; continue; }
	# usec for the size -> ms per GiB
	echo "$small $large" | awk -v name="$name" -v big="$big" '{
		g1 = $1 / 1000; p1 = $2 / 1000; gb = $3 / 1000 / (big / 1024); pb = $4 / 1000 / (big / 1024);
		printf "%-6s | %10.3f %10.3f %6.3f | %10.3f %10.3f %6.3f\n", name, g1, gb,
			(g1 > 0 ? gb / g1 : 0), p1, pb, (p1 > 0 ? pb / p1 : 0) }'
done
echo "load average at end $(cut -d' ' -f1-3 /proc/loadavg); ratio = per GiB at $big MiB / at 1024 MiB"
exit $status
