# pinmm build. `make` builds the libraries, tools and tests; `make bench` runs the main job (the
# GUP benchmark matrix); `make demo` boots a small machine and shows a pin of a 4 KiB page and of
# a THP, their counts and dump_page; `make check` checks the layers and runs every tier of tests
# briefly, the unit and conformance tiers once more under modern rules (PINMM_RULES=modern),
# then the tools, the catalogue programs (cow, gup_longterm) under both rule sets against their
# expected results, and the installed package; `make check-modern` runs every tier of tests under
# modern rules; `make check-stress DURATION=<seconds>` runs the stress (and fault) tiers long;
# `make check-asan` / `make check-tsan` rerun the checks under ASan+UBSan / TSan in their own
# build directories; `make install` honours PREFIX and DESTDIR.
# The first build installs missing Debian packages when run as root (scripts/ensure-deps.sh).
# Every object records the headers it includes (-MMD -MP, BUILD/**/*.d): a change to a header
# recompiles what includes it and relinks what links it, nothing else.

VERSION := 0.1.0
SOVERSION := 0
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
BUILD ?= build

CC ?= cc
OPT ?= -O2
SANITIZE ?=
# HOOKS=1 (the default) builds the named race points and allocation-failure sites of
# <pinmm/inject.h> in; HOOKS=0 compiles them out.
HOOKS ?= 1
WARNINGS := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CPPFLAGS += -Iinclude -Isrc -D_GNU_SOURCE $(if $(filter 1,$(HOOKS)),-DPINMM_HOOKS)
# clang emits no .debug_aranges by default, without which libdw finds no line of a frame: the
# pin owners' reports need them (docs/observability.md).
DEBUG_INFO := -g $(if $(findstring clang,$(CC)),-gdwarf-aranges)
CFLAGS += -std=c11 $(OPT) $(DEBUG_INFO) -fPIC -pthread $(WARNINGS) $(SANITIZE)
LDFLAGS += -pthread $(SANITIZE)
# libdw (elfutils): the pin owners' symbolizer (function, file:line of each frame).
LIBS := -lurcu -ldw
TEST_LIBS := -lcmocka

LIB_SRCS := $(wildcard src/*/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
# tools/kernel_compare.c measures the live kernel's io_uring beside pinmm: built only where
# pkg-config finds liburing (make bench says when it is not), and not installed.
HAVE_LIBURING := $(shell pkg-config --exists liburing 2>/dev/null && echo 1)
URING_CFLAGS := $(if $(HAVE_LIBURING),$(shell pkg-config --cflags liburing))
URING_LIBS := $(if $(HAVE_LIBURING),$(shell pkg-config --libs liburing))
TOOL_SRCS := $(filter-out tools/kernel_compare.c,$(wildcard tools/*.c))
TOOLS := $(TOOL_SRCS:tools/%.c=$(BUILD)/tools/%)
KERNEL_COMPARE := $(if $(HAVE_LIBURING),$(BUILD)/tools/kernel_compare)
# Code the tools share (tools/lib/), linked into every tool.
TOOL_LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tools/lib/*.c))
# Test tiers: every directory tests/<tier>/ with C files is one (unit, conformance, stress, ...);
# tests/lib holds the fixtures they share (headers, and C files linked into every test). Each
# tests/<tier>/test_x.c is one binary, BUILD/tests/test_x.
TEST_LIB_SRCS := $(wildcard tests/lib/*.c)
TEST_LIB_OBJS := $(TEST_LIB_SRCS:%.c=$(BUILD)/%.o)
TEST_SRCS := $(filter-out tests/lib/%,$(wildcard tests/*/*.c))
TEST_TIERS := $(sort $(patsubst tests/%/,%,$(dir $(TEST_SRCS))))
TESTS := $(addprefix $(BUILD)/tests/,$(basename $(notdir $(TEST_SRCS))))
# The tiers that `make check-stress` runs long.
STRESS_TIERS := stress fault
STRESS_TESTS := $(addprefix $(BUILD)/tests/,$(basename $(notdir \
	$(filter $(addsuffix /%,$(addprefix tests/,$(STRESS_TIERS))),$(TEST_SRCS)))))
DURATION ?= 60
# The tiers that `make check` runs a second time under modern rules (PINMM_RULES=modern): a
# test whose expectations belong to 5.7 boots 5.7 explicitly (docs/rule-sets.md).
MODERN_TIERS := unit conformance
MODERN_TESTS := $(addprefix $(BUILD)/tests/,$(basename $(notdir \
	$(filter $(addsuffix /%,$(addprefix tests/,$(MODERN_TIERS))),$(TEST_SRCS)))))
HEADERS := $(wildcard include/pinmm/*.h)
# The tools' ioctl contracts (the kernel sides in src/debugfs/): installed, not in the umbrella.
DEBUGFS_HEADERS := $(wildcard include/pinmm/debugfs/*.h)

STATIC_LIB := $(BUILD)/libpinmm.a
SHARED_LIB := $(BUILD)/libpinmm.so.$(VERSION)
DEPS_OK := $(BUILD)/.deps-ok

# The package as a user gets it: `make install` into $(PKG_ROOT), then programs built against
# that copy with pkg-config (tests/package/, examples/), and run with its shared library.
PKG_ROOT := $(abspath $(BUILD))/pkgroot
PKG_CONFIG_ENV := PKG_CONFIG_PATH=$(PKG_ROOT)$(LIBDIR)/pkgconfig PKG_CONFIG_SYSROOT_DIR=$(PKG_ROOT)
PKG_CFLAGS = $$($(PKG_CONFIG_ENV) pkg-config --cflags pinmm)
PKG_LIBS = $$($(PKG_CONFIG_ENV) pkg-config --libs pinmm)
PKG_PROGS := $(BUILD)/package/api_c11 $(BUILD)/package/api_cxx $(BUILD)/package/pin_page \
	$(BUILD)/package/gup_dma_loss $(BUILD)/package/pin_leak

.PHONY: all demo bench bench-scale check check-fault check-layers check-modern check-pin-owner check-stress check-tools \
	check-package check-asan check-tsan check-sanitize check-clang install uninstall clean

all: $(STATIC_LIB) $(SHARED_LIB) $(TOOLS) $(KERNEL_COMPARE) $(TESTS)

$(DEPS_OK): scripts/ensure-deps.sh
	@bash scripts/ensure-deps.sh
	@mkdir -p $(@D) && touch $@

# Every object: the library's, the tools' and the tests'. Its .d lists the headers it read;
# an object without one (built before it existed, or interrupted) is rebuilt.
$(BUILD)/%.o: %.c $(BUILD)/%.d | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/%.d: ;
.PRECIOUS: $(BUILD)/%.d

$(BUILD)/tests/%.o: CPPFLAGS += -Itests/lib

# One relocatable object in the archive: linking anything of the library links all of it, so
# its constructors (src/check/ registering with shutdown) run, as a built-in kernel's initcalls.
$(STATIC_LIB): $(LIB_OBJS)
	rm -f $@
	$(CC) -r -nostdlib -o $(BUILD)/libpinmm.o $^
	ar rcs $@ $(BUILD)/libpinmm.o

$(SHARED_LIB): $(LIB_OBJS)
	$(CC) -shared -Wl,-soname,libpinmm.so.$(SOVERSION) $(LDFLAGS) -o $@ $^ $(LIBS)
	ln -sf libpinmm.so.$(VERSION) $(BUILD)/libpinmm.so.$(SOVERSION)
	ln -sf libpinmm.so.$(SOVERSION) $(BUILD)/libpinmm.so

$(TOOLS): $(BUILD)/tools/%: $(BUILD)/tools/%.o $(TOOL_LIB_OBJS) $(STATIC_LIB)
	$(CC) $< $(TOOL_LIB_OBJS) -o $@ $(LDFLAGS) $(STATIC_LIB) $(LIBS) -lm

$(BUILD)/tools/kernel_compare.o: CPPFLAGS += $(URING_CFLAGS)
$(BUILD)/tools/kernel_compare: $(BUILD)/tools/kernel_compare.o $(TOOL_LIB_OBJS) $(STATIC_LIB)
	$(CC) $< $(TOOL_LIB_OBJS) -o $@ $(LDFLAGS) $(STATIC_LIB) $(LIBS) $(URING_LIBS)

# A test binary from its object, wherever its tier is.
define test_binary
$(BUILD)/tests/$(basename $(notdir $(1))): $(BUILD)/$(1:.c=.o) $(TEST_LIB_OBJS) $(STATIC_LIB)
	$$(CC) $$< $(TEST_LIB_OBJS) -o $$@ $$(LDFLAGS) $(STATIC_LIB) $$(LIBS) $$(TEST_LIBS)
endef
$(foreach t,$(TEST_SRCS),$(eval $(call test_binary,$(t))))

-include $(patsubst %.o,%.d,$(LIB_OBJS) $(TOOL_LIB_OBJS) $(TEST_LIB_OBJS) \
	$(TOOLS:=.o) $(KERNEL_COMPARE:=.o) $(addprefix $(BUILD)/,$(TEST_SRCS:.c=.o)))

demo: $(BUILD)/tools/pinmm_demo
	$(BUILD)/tools/pinmm_demo

# The main job: first the live kernel beside pinmm under modern rules (tools/kernel_compare.c,
# io_uring registration, populate, fork; "skipped" without liburing), then the GUP benchmark
# matrix, with the floor, under 5.7 rules and under modern rules (bench-5.7/bench-modern .csv
# and .svg), then the ratio modern / 5.7 of every row (tools/pinmm_bench_compare.sh).
# BENCH_ARGS passes pinmm_bench options (e.g. -r 9 -t 1), COMPARE_ARGS kernel_compare's.
# Then pin_fragmentation on a 2 GiB machine under 5.7 rules: its table, compaction's migration
# throughput as a ratio to a memcpy of as many pages, and one map (build/pin_fragmentation-5.7.svg).
# Then swap: swap-out and swap-in of 1 GiB beside the host file's own sequential write and
# read, as ratios (tools/swap_bench.c; SWAP_BENCH_ARGS, e.g. -s 256 for a smaller run).
bench: $(BUILD)/tools/pinmm_bench $(BUILD)/tools/pin_fragmentation $(BUILD)/tools/swap_bench \
		$(KERNEL_COMPARE)
	@if [ -n "$(KERNEL_COMPARE)" ]; then $(KERNEL_COMPARE) -q -R modern $(COMPARE_ARGS); \
	else echo "kernel comparison skipped: liburing not found (pkg-config liburing)"; fi
	bash tools/pinmm_bench_compare.sh $(BUILD)/tools/pinmm_bench $(BUILD) $(BENCH_ARGS)
	$(BUILD)/tools/pin_fragmentation -R 5.7 -o $(BUILD)/pin_fragmentation.svg
	$(BUILD)/tools/swap_bench $(SWAP_BENCH_ARGS)

# Scale: gup_benchmark's pin and unpin per GiB at 1 GiB and at 16 GiB on a 64 GiB simulated
# machine, THP and 4 KiB (tools/pinmm_bench_scale.sh). Not in bench: the 16 GiB runs have the
# host back 16 GiB (a backing is skipped, status 3, when the host has not that much available).
# SCALE_MIB sets the big size (e.g. SCALE_MIB=8192 on a smaller host).
SCALE_MIB ?= 16384
bench-scale: $(BUILD)/tools/gup_benchmark
	bash tools/pinmm_bench_scale.sh $(BUILD)/tools/gup_benchmark $(SCALE_MIB)

$(PKG_ROOT)/.installed: $(STATIC_LIB) $(SHARED_LIB) $(TOOLS) $(HEADERS) $(DEBUGFS_HEADERS) pinmm.pc.in \
		tools/run_vmtests.sh
	rm -rf $(PKG_ROOT)
	$(MAKE) --no-print-directory install DESTDIR=$(PKG_ROOT) >/dev/null
	touch $@

# Strict ISO C11: no feature macro, so the installed headers cannot lean on _GNU_SOURCE.
$(BUILD)/package/api_c11: tests/package/api_c11.c $(PKG_ROOT)/.installed
	@mkdir -p $(@D)
	$(CC) -std=c11 -pedantic-errors -Wall -Wextra -Werror $(SANITIZE) $(PKG_CFLAGS) $< -o $@ $(PKG_LIBS)

$(BUILD)/package/api_cxx: tests/package/api_cxx.cpp $(PKG_ROOT)/.installed
	@mkdir -p $(@D)
	$(CXX) -Wall -Wextra -Werror $(SANITIZE) $(PKG_CFLAGS) $< -o $@ $(PKG_LIBS)

# The README's example and docs/gup-dma-problem.md's, built as the README says.
$(BUILD)/package/pin_page $(BUILD)/package/gup_dma_loss: $(BUILD)/package/%: examples/%.c \
		$(PKG_ROOT)/.installed
	@mkdir -p $(@D)
	$(CC) -std=c11 -Wall -Wextra -Werror $(SANITIZE) $(PKG_CFLAGS) $< -o $@ $(PKG_LIBS)

# docs/observability.md's worked leak hunt, with -g as it says: the report's file:line.
$(BUILD)/package/pin_leak: examples/pin_leak.c $(PKG_ROOT)/.installed
	@mkdir -p $(@D)
	$(CC) -std=c11 $(DEBUG_INFO) -Wall -Wextra -Werror $(SANITIZE) $(PKG_CFLAGS) $< -o $@ $(PKG_LIBS)

# The installed package: the programs above run, and the README agrees with the tree.
check-package: $(PKG_PROGS)
	@bash tests/package/run.sh $(BUILD) $(PKG_ROOT) $(PREFIX)

# The tools' and the package's runs go ahead even when a unit test failed; any failing fails
# check. The catalogue programs (cow, gup_longterm) run under both rule sets in
# test_catalogues.sh, so run_vmtests.sh leaves its cow category to it here. CATALOGUES names
# the programs it runs. CATALOGUE_FLAGS is given to every catalogue run: check-asan and
# check-tsan pass -G (no 1 GiB hugetlb pool), leaving out the 1 GiB cases, which the plain run
# covers: they are nearly all of the cow program's time (some 70 s of 73 per rule set), and
# under TSan their shadow memory would cost some 16 GiB.
CATALOGUES ?= cow gup_longterm
CATALOGUE_FLAGS ?=
check: all check-layers $(PKG_PROGS)
	@bash tests/run.sh $(BUILD)/tests; s=$$?; \
	echo "-- the unit and conformance tiers again under modern rules (PINMM_RULES=modern)"; \
	PINMM_RULES=modern bash tests/run.sh $(MODERN_TESTS) || s=1; \
	bash tools/run_vmtests.sh -t "gup_benchmark gup_test tools" $(BUILD)/tools || s=1; \
	bash tests/tools/test_run_vmtests.sh $(BUILD)/tools || s=1; \
	CATALOGUE_FLAGS="$(CATALOGUE_FLAGS)" bash tests/tools/test_catalogues.sh $(BUILD)/tools \
		"$(CATALOGUES)" || s=1; \
	bash tests/package/run.sh $(BUILD) $(PKG_ROOT) $(PREFIX) || s=1; exit $$s

# Every tier of tests (stress briefly) under modern rules.
check-modern: $(TESTS)
	@PINMM_RULES=modern bash tests/run.sh $(BUILD)/tests

# Every tier of tests (stress briefly) with pin owners on (PINMM_PIN_OWNER=1): each pin records
# its caller, the slow path takes no PTE run, and the invariants check the records.
check-pin-owner: $(TESTS)
	@PINMM_PIN_OWNER=1 bash tests/run.sh $(BUILD)/tests

# The layer order of docs/design.md: no object calls up, no source includes up.
check-layers: $(LIB_OBJS)
	@bash scripts/check-layers.sh $(BUILD)

# The stress tiers, each test case running DURATION seconds (tests/lib/test_stress.h).
check-stress: $(STRESS_TESTS)
	@PINMM_STRESS_SECONDS=$(DURATION) bash tests/run.sh $(STRESS_TESTS)

# The fault tier alone, long: each scenario's sweep, then DURATION seconds of random failures.
check-fault: $(filter $(BUILD)/tests/test_fault_%,$(TESTS))
	@PINMM_STRESS_SECONDS=$(DURATION) bash tests/run.sh $^

# The tools alone: gup_benchmark / gup_test runs and their options, the catalogue programs
# (tools/run_vmtests.sh), run_vmtests.sh's own interface, and the catalogues under both rule sets.
check-tools: $(TOOLS)
	@bash tools/run_vmtests.sh $(BUILD)/tools; s=$$?; \
	bash tests/tools/test_run_vmtests.sh $(BUILD)/tools || s=1; \
	bash tests/tools/test_catalogues.sh $(BUILD)/tools || s=1; exit $$s

check-asan:
	$(MAKE) BUILD=build-asan OPT=-O1 CATALOGUE_FLAGS=-G \
		SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" check

check-tsan:
	TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp $(TSAN_OPTIONS)" \
		$(MAKE) BUILD=build-tsan OPT=-O1 SANITIZE="-fsanitize=thread" CATALOGUE_FLAGS=-G check

check-sanitize: check-asan check-tsan

# Warnings-as-errors build with clang, no run.
check-clang:
	$(MAKE) BUILD=build-clang CC=clang all

install: $(STATIC_LIB) $(SHARED_LIB) $(TOOLS)
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/pinmm/debugfs \
		$(DESTDIR)$(BINDIR)
	install -m 755 $(TOOLS) tools/run_vmtests.sh $(DESTDIR)$(BINDIR)/
	install -m 644 $(HEADERS) $(DESTDIR)$(INCLUDEDIR)/pinmm/
	install -m 644 $(DEBUGFS_HEADERS) $(DESTDIR)$(INCLUDEDIR)/pinmm/debugfs/
	install -m 644 $(STATIC_LIB) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHARED_LIB) $(DESTDIR)$(LIBDIR)/
	ln -sf libpinmm.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libpinmm.so.$(SOVERSION)
	ln -sf libpinmm.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libpinmm.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    pinmm.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/pinmm.pc

uninstall:
	rm -rf $(DESTDIR)$(INCLUDEDIR)/pinmm
	rm -f $(DESTDIR)$(LIBDIR)/libpinmm.* $(DESTDIR)$(LIBDIR)/pkgconfig/pinmm.pc
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(TOOLS)) run_vmtests.sh)

clean:
	rm -rf build build-asan build-tsan build-clang
