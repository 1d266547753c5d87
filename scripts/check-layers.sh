#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# check-layers.sh BUILD_DIR: enforce the layer order of docs/design.md on the built objects and
# on the sources. Run by `make check-layers` (and so by `make check`).
#
# The layers, bottom first; each may call only its own and the ones before it:
#
#   lib -> mm -> block -> fs -> vm -> gup -> writeback -> pipe -> io_uring -> dma -> check -> proc
#   -> debugfs
#
# (block: the block device under the files; writeback, pipe, io_uring and dma: the pin
# consumers, each its own directory, in this order;
# check: the whole-machine invariant walk, src/check/, which reads every layer and which the
# library reaches only through a callback registered with shutdown; proc: the /proc-style
# views, src/proc/, which read every layer below; a layer without a directory
# yet is simply empty.)
#
# 1. Calls (from nm): an object of src/<layer>/ that references a symbol defined only in a
#    higher layer's objects is an upward call. Each one is printed as
#        src/<layer>/<file>.o -> <symbol>, defined in src/<higher>/<file>.o (<higher>)
# 2. Includes (from the sources): a file of src/<layer>/ must not include a higher layer's
#    internal header ("<higher>/...", "../<higher>/..."), nor a public header that a higher
#    layer owns (the table below), nor the umbrella <pinmm/pinmm.h>, which is for users.
#    A public header must not include one that a higher layer owns (the umbrella aside).
#
# A directory of src/ that is not in the order fails the check too: a new layer gets a place
# here and in design.md before it gets code. Exit status: 0 clean, 1 violations, 2 misuse.
set -euo pipefail

LAYERS=(lib mm block fs vm gup writeback pipe io_uring dma check proc debugfs)

# Public headers owned by a layer above lib (the rest belong to the bottom two and may be
# included anywhere). fs implements the vm_operations callbacks, whose types fault.h declares:
# the address-space layer calls down into fs through them, so fs may include fault.h.
declare -A HEADER_OWNER=(
	[blkdev.h]=block
	[fs.h]=fs
	[fault.h]=vm [huge_mm.h]=vm [mman.h]=vm [pgtable.h]=vm [rmap.h]=vm
	[migrate.h]=vm [compaction.h]=vm [memory_hotplug.h]=vm
	[gup.h]=gup [uaccess.h]=gup
	[writeback.h]=writeback [pipe.h]=pipe [io_uring.h]=io_uring [dma.h]=dma
	[proc.h]=proc
	[debugfs/gup_benchmark.h]=debugfs [debugfs/gup_test.h]=debugfs
)
declare -A HEADER_ALLOWED=([fs:fault.h]=1)

build=${1:-}
if [[ -z $build || ! -d $build/src ]]; then
	echo "usage: $0 BUILD_DIR (with the library's objects built in BUILD_DIR/src)" >&2
	exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)

declare -A RANK=()
for i in "${!LAYERS[@]}"; do
	RANK[${LAYERS[$i]}]=$i
done

bad=0
report() {
	echo "check-layers: $*"
	bad=$((bad + 1))
}

for dir in "$root"/src/*/; do
	layer=$(basename "$dir")
	[[ -n ${RANK[$layer]+x} ]] ||
		report "src/$layer/ has no place in the layer order" \
			"(scripts/check-layers.sh, docs/design.md)"
done

# ---- 1. calls ----
# One line per global symbol: "D <rank> <object> <symbol>" for a definition, "U ..." for a
# reference, from nm's portable output (name, type, ...). Weak undefined (w, v) are references.
symtab=$(mktemp)
trap 'rm -f "$symtab"' EXIT
objs=()
ranks=()
for layer in "${LAYERS[@]}"; do
	# The objects of today's sources only: a stale object of a moved file must not count.
	for src in "$root"/src/"$layer"/*.c; do
		[[ -e $src ]] || continue
		src=${src##*/}
		obj=$build/src/$layer/${src%.c}.o
		if [[ ! -e $obj ]]; then
			echo "check-layers: $obj is missing: build the library first" >&2
			exit 2
		fi
		objs+=("$obj")
		ranks+=("$obj=${RANK[$layer]}")
	done
done
nobj=${#objs[@]}
# One nm for all of them: -A prefixes each line with "<object>: ".
if ((nobj)); then
	nm -A -P -g "${objs[@]}" | awk -v b="$build/" -v map="${ranks[*]}" '
		BEGIN {
			n = split(map, m, " ")
			for (i = 1; i <= n; i++) {
				k = m[i]
				sub(/=[0-9]+$/, "", k)
				r[k] = substr(m[i], length(k) + 2)
			}
		}
		{
			o = $1; sub(/:$/, "", o)
			rel = substr(o, length(b) + 1)
			print ($3 == "U" || $3 == "w" || $3 == "v") ? "U" : "D", r[o], rel, $2
		}' >"$symtab"
fi
if ((nobj == 0)); then
	echo "check-layers: no objects under $build/src: build the library first" >&2
	exit 2
fi

# A reference is upward when the symbol's lowest defining layer is above the referencing one
# (a symbol defined in the referencing layer or below is never upward, whoever else has it).
upward=$(awk -v names="${LAYERS[*]}" '
	BEGIN { n = split(names, layer, " ") }
	$1 == "D" {
		if (!($4 in low) || $2 < low[$4]) { low[$4] = $2; where[$4] = $3 }
		next
	}
	{ ref[NR] = $0 }
	END {
		for (i in ref) {
			split(ref[i], f, " ")
			if ((f[4] in low) && low[f[4]] > f[2])
				printf "%s -> %s, defined in %s (%s, above %s)\n", f[3], f[4],
				       where[f[4]], layer[low[f[4]] + 1], layer[f[2] + 1]
		}
	}' "$symtab" | sort)
if [[ -n $upward ]]; then
	while IFS= read -r line; do
		report "upward call: $line"
	done <<<"$upward"
fi

# ---- 2. includes ----
# One line per #include of a source of src/: "<rank> <layer> <file>:<line> <target>".
incs=$(for layer in "${LAYERS[@]}"; do
	for src in "$root"/src/"$layer"/*.[ch]; do
		[[ -e $src ]] || continue
		awk -v r="${RANK[$layer]}" -v l="$layer" -v f="${src#"$root"/}" '
			/^[ \t]*#[ \t]*include[ \t]*[<"]/ {
				t = $0
				sub(/^[^<"]*[<"]/, "", t)
				sub(/[>"].*$/, "", t)
				print r, l, f ":" FNR, t
			}' "$src"
	done
done)
while read -r r layer where target; do
	case $target in
	pinmm/pinmm.h)
		report "$where includes <pinmm/pinmm.h>: the umbrella is for users;" \
			"include the layer's own headers"
		continue ;;
	pinmm/*)
		h=${target#pinmm/}
		owner=${HEADER_OWNER[$h]:-}
		if [[ -n $owner && ${RANK[$owner]} -gt $r && -z ${HEADER_ALLOWED[$layer:$h]:-} ]]; then
			report "$where includes <$target>, the public header of $owner (above $layer)"
		fi
		continue ;;
	esac
	t=${target#../}
	other=${t%%/*}
	if [[ $t == */* && -n ${RANK[$other]+x} ]] && ((RANK[$other] > r)); then
		report "$where includes \"$target\", a header of $other (above $layer)"
	fi
done <<<"$incs"

# Public headers: one owned by a layer (physical memory when the table does not say) includes
# only headers of its layer or below. Their includes are relative ("mm.h", "../mm_types.h").
for hdr in "$root"/include/pinmm/*.h "$root"/include/pinmm/*/*.h; do
	[[ -e $hdr ]] || continue
	h=${hdr#"$root"/include/pinmm/}
	[[ $h == pinmm.h ]] && continue
	owner=${HEADER_OWNER[$h]:-mm}
	while IFS=: read -r lineno target; do
		case $target in
		../*) t=${target#../} ;;
		*/*) t=$target ;;
		*) t=$(dirname "$h")/$target; t=${t#./} ;;
		esac
		towner=${HEADER_OWNER[$t]:-mm}
		if [[ -e $root/include/pinmm/$t ]] && ((RANK[$towner] > RANK[$owner])); then
			report "include/pinmm/$h:$lineno includes \"$target\"," \
				"the public header of $towner (above $owner)"
		fi
	done < <(awk '/^[ \t]*#[ \t]*include[ \t]*"/ {
			t = $0; sub(/^[^"]*"/, "", t); sub(/".*$/, "", t); print FNR ":" t
		}' "$hdr")
done

if ((bad)); then
	echo "check-layers: $bad violation(s) of the order ${LAYERS[*]} (docs/design.md, Layers)"
	exit 1
fi
echo "check-layers: $nobj objects, layers ${LAYERS[*]}: every call and include points down"
