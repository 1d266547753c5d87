#!/usr/bin/env bash
# The package as a user meets it, after `make install DESTDIR=PKG_ROOT`: the C11 and C++ programs
# built against the installed headers run; the README's example (examples/pin_page.c) is the
# README's text, builds and prints what examples/pin_page.expected says; examples/gup_dma_loss
# prints examples/gup_dma_loss.expected; examples/pin_leak's report names its leaking line
# (examples/pin_leak.expected); the tools are installed;
# the README's tour names every file of the tree; the docs cite nothing outside the repository.
# Usage: run.sh BUILD PKG_ROOT PREFIX. Each failure is one line "package: FAIL <what>: <why>".
set -u
build=${1:?usage: run.sh BUILD PKG_ROOT PREFIX}
root=${2:?usage: run.sh BUILD PKG_ROOT PREFIX}
prefix=${3:?usage: run.sh BUILD PKG_ROOT PREFIX}
cd "$(dirname "$0")/../.."
export LD_LIBRARY_PATH="$root$prefix/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "package: ok $1"; }
ko() { fail=$((fail + 1)); echo "package: FAIL $1: $2"; }

for prog in api_c11 api_cxx; do
	out=$("$build/package/$prog" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] && [ "$out" = "$prog: ok" ]; then
		ok "$prog (installed headers, pkg-config, shared library)"
	else
		ko "$prog" "exit $rc, output: $out"
	fi
done

# The example's output, with the host addresses dump_page() prints (the struct page, the LRU
# list links in the lru words and the anon_vma in the mapping word) masked.
out=$("$build/package/pin_page" 2>&1 | sed -e 's/^page:[0-9a-f]*/page:<struct page address>/' \
	-e '0,/^raw:/s/^\(raw: [0-9a-f]*\) [0-9a-f]* [0-9a-f]* [0-9a-f]*$/\1 <lru.next> <lru.prev> <anon_vma | 1>/')
if diff_out=$(diff -u examples/pin_page.expected - <<<"$out"); then
	ok "examples/pin_page prints examples/pin_page.expected"
else
	ko "examples/pin_page" "output differs from examples/pin_page.expected:
$diff_out"
fi

# docs/gup-dma-problem.md's program: the loss with Linux's writeback, none with pin-aware.
if diff_out=$(diff -u examples/gup_dma_loss.expected - <<<"$("$build/package/gup_dma_loss" 2>&1)"); then
	ok "examples/gup_dma_loss prints examples/gup_dma_loss.expected"
else
	ko "examples/gup_dma_loss" "output differs from examples/gup_dma_loss.expected:
$diff_out"
fi

# docs/observability.md's worked leak hunt: the report names the pin's function and line (the
# lines that say so; the mm's address masked).
out=$("$build/package/pin_leak" 2>&1 | grep -E '^(pin owner: |    by |pin_leak: )' |
	sed -e 's/mm 0x[0-9a-f]*/mm <mm>/')
if diff_out=$(diff -u examples/pin_leak.expected - <<<"$out"); then
	ok "examples/pin_leak names its leaking line as examples/pin_leak.expected says"
else
	ko "examples/pin_leak" "output differs from examples/pin_leak.expected:
$diff_out"
fi

# The README shows the example as it is: the first C block is the file.
readme_block=$(awk '/^```c$/ { on = 1; next } on && /^```$/ { exit } on' README.md)
if diff_out=$(diff -u examples/pin_page.c - <<<"$readme_block"); then
	ok "README.md's example is examples/pin_page.c"
else
	ko "README.md's example" "differs from examples/pin_page.c:
$diff_out"
fi

for tool in gup_benchmark gup_test pinmm_bench pinmm_demo dma_writeback pin_owners run_vmtests.sh; do
	if [ -x "$root$prefix/bin/$tool" ]; then
		ok "make install installs bin/$tool"
	else
		ko "make install" "no executable $prefix/bin/$tool under $root"
	fi
done

# C++ callers link against C symbols: every header that declares something says extern "C".
unguarded=
for h in include/pinmm/*.h include/pinmm/*/*.h; do
	case $h in */pinmm.h | */compiler.h) continue ;; esac
	grep -q '^extern "C" {$' "$h" || unguarded="$unguarded $h"
done
if [ -z "$unguarded" ]; then
	ok "every public header declares its functions extern \"C\" for C++"
else
	ko "extern \"C\"" "no guard in:$unguarded"
fi

# The tour: every header, source, tool and example file is named in README.md.
missing=
for f in include/pinmm/*.h include/pinmm/*/*.h src/*/*.[ch] tools/*.c tools/*.sh tools/lib/* \
	examples/*.c; do
	grep -qF "$(basename "$f")" README.md || missing="$missing $f"
done
if [ -z "$missing" ]; then
	ok "README.md's tour names every file"
else
	ko "README.md's tour" "does not name:$missing"
fi

# The docs stand alone: no citation of a document outside the repository.
pattern='behaviou?r doc|linux-behaviou?r|section[- ]10'
hits=$(grep -rniE "$pattern" README.md docs include src tests tools examples |
	grep -v '^tests/package/run.sh:')
if [ -z "$hits" ]; then
	ok "no citation of documents outside the repository"
else
	ko "citations" "outside documents cited:
$hits"
fi

if grep -q '^MIT License' LICENSE 2>/dev/null; then
	nonmit=$(grep -rL 'SPDX-License-Identifier: MIT' include src tools/*.c tools/lib \
		tests/*/*.[ch] tests/package/*.cpp examples/*.c)
	if [ -z "$nonmit" ]; then
		ok "LICENSE is MIT, as every source file's SPDX line"
	else
		ko "SPDX" "files without an MIT SPDX line: $nonmit"
	fi
else
	ko "LICENSE" "no MIT License file"
fi

echo "package: $pass passed, $fail failed"
[ $fail -eq 0 ]
