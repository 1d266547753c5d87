# pinmm build. `make` builds the libraries, tools and tests; `make bench` runs the main job (the
# GUP benchmark matrix); `make demo` boots a machine and shows pages, vmstat and buddyinfo;
# `make check` runs the tests; `make check-asan` / `make check-tsan` rerun them under
# ASan+UBSan / TSan in their own build directories; `make install` honours PREFIX and DESTDIR.
# The first build installs missing Debian packages when run as root (scripts/ensure-deps.sh).

VERSION := 0.1.0
SOVERSION := 0
PREFIX ?= /usr/local
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
CFLAGS += -std=c11 $(OPT) -g -fPIC -pthread $(WARNINGS) $(SANITIZE)
LDFLAGS += -pthread $(SANITIZE)
LIBS := -lurcu
TEST_LIBS := -lcmocka

LIB_SRCS := $(wildcard src/*/*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
TOOL_SRCS := $(wildcard tools/*.c)
TOOLS := $(TOOL_SRCS:tools/%.c=$(BUILD)/tools/%)
# Code the tools share (tools/lib/), linked into every tool.
TOOL_LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(wildcard tools/lib/*.c))
TEST_SRCS := $(wildcard tests/unit/*.c tests/conformance/*.c)
TESTS := $(addprefix $(BUILD)/tests/,$(basename $(notdir $(TEST_SRCS))))
HEADERS := $(wildcard include/pinmm/*.h)
# The tools' ioctl contracts (the kernel sides in src/debugfs/): installed, not in the umbrella.
DEBUGFS_HEADERS := $(wildcard include/pinmm/debugfs/*.h)

STATIC_LIB := $(BUILD)/libpinmm.a
SHARED_LIB := $(BUILD)/libpinmm.so.$(VERSION)
DEPS_OK := $(BUILD)/.deps-ok

.PHONY: all demo bench check check-layers check-tools check-asan check-tsan check-sanitize check-clang install \
	uninstall clean

all: $(STATIC_LIB) $(SHARED_LIB) $(TOOLS) $(TESTS)

$(DEPS_OK): scripts/ensure-deps.sh
	@bash scripts/ensure-deps.sh
	@mkdir -p $(@D) && touch $@

$(BUILD)/%.o: %.c $(HEADERS) $(DEBUGFS_HEADERS) $(wildcard src/*/*.h) | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(STATIC_LIB): $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

$(SHARED_LIB): $(LIB_OBJS)
	$(CC) -shared -Wl,-soname,libpinmm.so.$(SOVERSION) $(LDFLAGS) -o $@ $^ $(LIBS)
	ln -sf libpinmm.so.$(VERSION) $(BUILD)/libpinmm.so.$(SOVERSION)
	ln -sf libpinmm.so.$(SOVERSION) $(BUILD)/libpinmm.so

$(TOOL_LIB_OBJS): $(wildcard tools/lib/*.h)

$(BUILD)/tools/%: tools/%.c $(TOOL_LIB_OBJS) $(STATIC_LIB) $(HEADERS) $(wildcard tools/lib/*.h)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $< $(TOOL_LIB_OBJS) -o $@ $(LDFLAGS) $(STATIC_LIB) $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/test_util.h tests/unit/test_mm_util.h $(STATIC_LIB) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $< -o $@ $(LDFLAGS) $(STATIC_LIB) $(LIBS) $(TEST_LIBS)

$(BUILD)/tests/%: tests/conformance/%.c tests/unit/test_util.h tests/unit/test_mm_util.h $(wildcard tests/conformance/*.h) $(STATIC_LIB) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $< -o $@ $(LDFLAGS) $(STATIC_LIB) $(LIBS) $(TEST_LIBS)

demo: $(BUILD)/tools/pinmm_demo
	$(BUILD)/tools/pinmm_demo

# The main job: the GUP benchmark matrix, with the floor, as a table, bench.csv and bench.svg.
bench: $(BUILD)/tools/pinmm_bench
	$(BUILD)/tools/pinmm_bench -o $(BUILD)/bench.csv -g $(BUILD)/bench.svg

# The tools' runs go ahead even when a unit test failed; either failing fails check.
check: all check-layers
	@bash tests/run.sh $(BUILD)/tests; s=$$?; bash tools/run_vmtests.sh $(BUILD)/tools && exit $$s

# The layer order of docs/design.md: no object calls up, no source includes up.
check-layers: $(LIB_OBJS)
	@bash scripts/check-layers.sh $(BUILD)

# The seed's tools alone: gup_benchmark / gup_test runs and their options (tools/run_vmtests.sh).
check-tools: $(TOOLS)
	@bash tools/run_vmtests.sh $(BUILD)/tools

check-asan:
	$(MAKE) BUILD=build-asan OPT=-O1 \
		SANITIZE="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" check

check-tsan:
	TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp $(TSAN_OPTIONS)" \
		$(MAKE) BUILD=build-tsan OPT=-O1 SANITIZE="-fsanitize=thread" check

check-sanitize: check-asan check-tsan

# Warnings-as-errors build with clang, no run.
check-clang:
	$(MAKE) BUILD=build-clang CC=clang all

install: $(STATIC_LIB) $(SHARED_LIB)
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/pinmm/debugfs
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

clean:
	rm -rf build build-asan build-tsan build-clang
