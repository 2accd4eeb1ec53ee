# ws6455 -- build, run and test.
#
#   make            build build/ws6455 (libc only)
#   make tools      also build build/conformance and build/wsbench (zlib)
#   make run        build and start the server on port 8080
#   make test       install cmocka if missing, build, run every test; the
#                   last line is "N passed, N failed" over all of them
#   make asan       the whole test suite under AddressSanitizer + UBSan
#   make valgrind   the integration tests under valgrind memcheck
#   make fuzz       run each libFuzzer target for FUZZ_SECONDS
#   make conformance  run the conformance driver against a fresh server
#   make check-options  --help, the man page and README.md agree
#   make style      reformat the C files as .clang-format says
#   make style-check  files that differ from it, lines over 100 columns
#   make docs-check the dumps, programs and sizes in docs/ match the code
#                   (make docs-update rewrites the generated blocks)
#   make install-test   install into a temporary tree, run it, uninstall
#   make bench      side-by-side benchmark against Node's ws
#   make bench-instructions  instructions per echo under callgrind (docs/benchmarks.md)
#   make e2e        headless-Chromium tests of the HTML client
#   make interop    Node's ws and Python's websockets clients, compression on and off
#   make proxy-test ws6455 behind nginx
#   make install PREFIX=/usr/local [DESTDIR=...]
#   make uninstall PREFIX=/usr/local [DESTDIR=...]
#   make clean
#
# V=1 shows the commands.

CC      ?= cc
PREFIX  ?= /usr/local
PKGDATADIR := $(PREFIX)/share/ws6455
BUILD   ?= build
PORT    ?= 8080
FUZZ_SECONDS ?= 60

WARN    := -Wall -Wextra -Werror -Wpedantic -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wvla -Wformat=2
OPT     ?= -O2 -g
CFLAGS  ?=
CPPFLAGS += -Iinclude -D_GNU_SOURCE
ALL_CFLAGS = -std=c11 $(WARN) $(OPT) $(CFLAGS) -MMD -MP
LDFLAGS ?=

ifeq ($(V),1)
Q :=
else
Q := @
endif

LIB_SRCS  := $(filter-out src/main.c,$(wildcard src/*.c))
LIB_OBJS  := $(LIB_SRCS:src/%.c=$(BUILD)/obj/%.o)
LIB       := $(BUILD)/libws6455.a
BIN       := $(BUILD)/ws6455
PREFIX_STAMP := $(BUILD)/obj/prefix

# Unit and integration tests: one cmocka program per test/test_*.c, each
# linked with the shared test support code (test/support/*.c).
TEST_SRCS    := $(wildcard test/test_*.c)
TEST_BINS    := $(TEST_SRCS:test/%.c=$(BUILD)/test/%)
SUPPORT_SRCS := $(wildcard test/support/*.c)
SUPPORT_OBJS := $(SUPPORT_SRCS:test/support/%.c=$(BUILD)/obj/support/%.o)

# Tests link cmocka, and zlib as an oracle for our own DEFLATE (never the
# server: build/ws6455 links libc only, which CI checks with ldd).
TEST_LIBS    := -lcmocka -lz

CONF_SRCS := $(wildcard test/conformance/*.c)
CONF_OBJS := $(CONF_SRCS:test/conformance/%.c=$(BUILD)/obj/conformance/%.o)
CONF_BIN  := $(if $(CONF_SRCS),$(BUILD)/conformance)

# bench/codec_bench.c is a program of its own (mk/bench.mk), not part of wsbench.
BENCH_SRCS := $(filter-out bench/codec_bench.c,$(wildcard bench/*.c))
BENCH_OBJS := $(BENCH_SRCS:bench/%.c=$(BUILD)/obj/bench/%.o)
BENCH_BIN  := $(if $(BENCH_SRCS),$(BUILD)/wsbench)
# wsbench is built and run on the same machine, so it may use every vector
# instruction the CPU has: its payload generation and checking run about 4x
# faster with AVX2 than with the x86-64 baseline (docs/benchmarks.md). The
# server itself stays portable. Empty if the compiler has no -march=native.
BENCH_ARCH ?= $(shell $(CC) -march=native -E -x c /dev/null >/dev/null 2>&1 && echo -march=native)

.SECONDARY:

.PHONY: all run test unit conformance check-options install-test asan valgrind fuzz fuzz-smoke \
        bench e2e interop proxy-test install uninstall clean check-deps tools prefix-force \
        style style-check

# The server needs only a C compiler and libc. The tools beside it (the
# conformance driver, wsbench) link zlib for their permessage-deflate
# cases, so they are built by `make tools`, which checks for it first.
all: $(BIN)

tools: check-deps
	$(Q)$(MAKE) --no-print-directory $(BIN) $(CONF_BIN) $(BENCH_BIN)

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# main.c falls back to the page under the prefix it is built for
# (WS6455_DATADIR): a stamp holding the prefix, rewritten only when the
# prefix changes, rebuilds main.o (and so build/ws6455) when it does.
$(PREFIX_STAMP): prefix-force
	@mkdir -p $(dir $@)
	@echo '$(PREFIX)' | cmp -s - $@ 2>/dev/null || echo '$(PREFIX)' > $@

$(BUILD)/obj/main.o: src/main.c $(PREFIX_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) -DWS6455_DATADIR='"$(PKGDATADIR)"' $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/obj/support/%.o: test/support/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) -Itest/support $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/obj/test/%.o: test/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) -Itest/support $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/obj/conformance/%.o: test/conformance/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/obj/bench/%.o: bench/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(BENCH_ARCH) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN): $(BUILD)/obj/main.o $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^

$(BUILD)/test/%: $(BUILD)/obj/test/%.o $(SUPPORT_OBJS) $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(TEST_LIBS)

# The driver checks compression with zlib, an implementation independent
# of the server's (a test oracle only, like the unit tests' -lz).
CONF_LIBS := -lz

$(CONF_BIN): $(CONF_OBJS)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(CONF_LIBS)

$(BENCH_BIN): $(BENCH_OBJS)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ -lm -lz

run: $(BIN)
	./$(BIN) --port $(PORT) --client-dir client

# cmocka, zlib's headers and python3 are what the tests need that a fresh
# Debian may lack; the script explains itself and what to do elsewhere.
check-deps:
	$(Q)TEST_PYTHON=$(TEST_PYTHON) sh scripts/ensure-test-deps.sh

# Every test program's output is shown as it runs and copied, with what it
# passed and failed, under $(TEST_RESULTS) (scripts/test-record.sh), so
# that `make test` (and `make unit` alone) can close with one line
# "N passed, N failed" over all of them. A failing program does not stop
# the others; the exit status is non-zero if anything failed.
TEST_RESULTS ?= $(BUILD)/test-results
RECORD       := sh scripts/test-record.sh
# Installs a missing tool or library for a test, saying what and why, with
# apt-get --no-install-recommends (scripts/apt-install.sh).
APT_INSTALL  := sh scripts/apt-install.sh
# The Python tests use the standard library only; Debian's interpreter,
# which scripts/ensure-test-deps.sh installs when it is missing.
TEST_PYTHON  ?= /usr/bin/python3

unit: check-deps
	$(Q)$(MAKE) --no-print-directory $(BIN) $(TEST_BINS)
	$(Q)rm -rf $(TEST_RESULTS)/unit; fail=0; for t in $(TEST_BINS); do \
	    echo "== $$t"; $(RECORD) run $(TEST_RESULTS)/unit $${t##*/} cmocka \
	    env WS6455_BIN=$(BIN) WS6455_CLIENT_DIR=client WS6455_SANITIZED=$(SANITIZED) \
	    $$t || fail=1; \
	done; $(if $(IN_TEST),,$(RECORD) summary $(TEST_RESULTS)/unit || fail=1;) exit $$fail

# The whole suite against the default server (permessage-deflate "shared":
# no context kept), then the compression cases whose outcome depends on the
# context again, against --deflate dedicated (context kept both ways).
CONF_DEDICATED := 12.6.,13.,X.5.

conformance: check-deps
	$(Q)$(MAKE) --no-print-directory $(BIN) $(CONF_BIN)
	$(Q)$(if $(CONF_BIN),fail=0; \
	    $(RECORD) run $(TEST_RESULTS)/conformance shared plain \
	        sh scripts/run-conformance.sh $(BIN) $(CONF_BIN) || fail=1; \
	    $(RECORD) run $(TEST_RESULTS)/conformance dedicated plain \
	        sh scripts/run-conformance.sh --server-args "--deflate dedicated" $(BIN) $(CONF_BIN) \
	        --prefix $(CONF_DEDICATED) || fail=1; \
	    exit $$fail,echo "no conformance driver")

# --help, the man page and README.md's options table list the same
# options with the same defaults (test/options/check.py).
check-options: check-deps
	$(Q)$(MAKE) --no-print-directory $(BIN)
	$(Q)$(RECORD) run $(TEST_RESULTS)/check-options options plain \
	    timeout -k 5 30 $(TEST_PYTHON) test/options/check.py $(BIN) docs/ws6455.1 README.md

# make install / make uninstall into a temporary DESTDIR and PREFIX, from a
# build of its own in $(BUILD)/install-test, and the installed server run
# from / (test/install/run.py; about 10 s, most of it the build).
install-test: check-deps
	$(Q)$(RECORD) run $(TEST_RESULTS)/install-test install plain \
	    timeout -k 5 300 $(TEST_PYTHON) test/install/run.py --build $(BUILD)/install-test

# One style for every C file (.clang-format, clang-format 14), and no line
# over 100 columns in C, shell or make files (scripts/style.sh, which also
# holds the list of files left out for now). `make test` runs the check
# only where clang-format is installed: .ci/run installs it.
CLANG_FORMAT ?= clang-format
HAVE_CLANG_FORMAT := $(shell command -v $(CLANG_FORMAT) 2>/dev/null)

style:
	$(Q)CLANG_FORMAT=$(CLANG_FORMAT) sh scripts/style.sh apply

style-check:
	$(Q)$(RECORD) run $(TEST_RESULTS)/style-check style plain \
	    env CLANG_FORMAT=$(CLANG_FORMAT) sh scripts/style.sh check

# Scripts that compile a program against $(LIB) (the book's exercises) add
# these: under make asan the library is instrumented.
export WS6455_LDFLAGS = $(LDFLAGS)

# Each step runs even when one before it failed; the last line sums them.
# docs-check is left out of a sanitized run (make asan): the book quotes the
# plain build (a system-call trace with its mmap sizes), which make test
# checks; the sanitized build allocates differently.
TEST_STEPS := unit $(if $(CONF_BIN),conformance) check-options install-test examples-test \
              endings-test $(if $(HAVE_CLANG_FORMAT),style-check) $(if $(SANITIZED),,docs-check)

test: check-deps
	$(Q)rm -rf $(TEST_RESULTS); fail=0; \
	for step in $(TEST_STEPS); do \
	    $(MAKE) --no-print-directory IN_TEST=1 $$step || \
	        { st=$$?; fail=1; $(RECORD) failed $(TEST_RESULTS)/$$step make-$$step $$st; }; \
	done; \
	echo "== make test: $(TEST_STEPS)"; \
	$(RECORD) summary $(TEST_RESULTS) || fail=1; exit $$fail

# The same suite, built into a separate tree with the sanitizers.
asan: check-deps
	$(Q)$(MAKE) --no-print-directory BUILD=build/asan CC=clang SANITIZED=1 \
	    OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
	    LDFLAGS="-fsanitize=address,undefined" test

valgrind: check-deps
	$(Q)$(MAKE) --no-print-directory $(BIN) $(TEST_BINS)
	$(Q)fail=0; for t in $(filter $(BUILD)/test/test_integration%,$(TEST_BINS)); do \
	    echo "== $$t (server under valgrind)"; \
	    WS6455_BIN=$(BIN) WS6455_CLIENT_DIR=client WS6455_VALGRIND=1 $$t || fail=1; \
	done; exit $$fail

# make install [PREFIX=/usr/local] [DESTDIR=]: what a Debian package of it
# would hold, under $(DESTDIR)$(PREFIX):
#
#   bin/ws6455                        build/ws6455, stripped (the build
#                                     tree's copy keeps its symbols)
#   share/ws6455/client/              the HTML client
#   share/man/man1/ws6455.1.gz        docs/ws6455.1, gzipped as Debian does
#   lib/systemd/system/ws6455.service scripts/ws6455.service.in with this
#                                     prefix's paths (SYSTEMDUNITDIR=...
#                                     puts it elsewhere)
#
# The binary finds the page beside itself (bin/../share/ws6455/client), so
# a staged tree unpacked anywhere works; the prefix it was built for is its
# fallback, compiled into main.o. INSTALL_STRIP= installs it unstripped (a
# packager's own strip step, or debugging). `make uninstall` with the same
# PREFIX and DESTDIR removes these files and the directories under
# share/ws6455, and nothing else.
MANDIR         ?= $(PREFIX)/share/man
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
STRIP          ?= strip
INSTALL_STRIP  ?= -s --strip-program=$(STRIP)
CLIENT_FILES   := $(wildcard client/*)
INST_BIN       := $(DESTDIR)$(PREFIX)/bin/ws6455
INST_CLIENT    := $(DESTDIR)$(PKGDATADIR)/client
INST_MAN       := $(DESTDIR)$(MANDIR)/man1/ws6455.1.gz
INST_UNIT      := $(DESTDIR)$(SYSTEMDUNITDIR)/ws6455.service

$(BUILD)/ws6455.1.gz: docs/ws6455.1
	@mkdir -p $(dir $@)
	$(Q)gzip -9n < $< > $@

# The unit for this PREFIX; it must come out with no placeholder left.
$(BUILD)/ws6455.service: scripts/ws6455.service.in $(PREFIX_STAMP)
	@mkdir -p $(dir $@)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@BINDIR@|$(PREFIX)/bin|g' \
	    -e 's|@DATADIR@|$(PKGDATADIR)|g' $< > $@.tmp
	$(Q)if grep -n '@[A-Z_]*@' $@.tmp; then echo "$@: placeholder left" >&2; exit 1; fi
	$(Q)mv $@.tmp $@

install: $(BIN) $(BUILD)/ws6455.1.gz $(BUILD)/ws6455.service
	install -d $(dir $(INST_BIN)) $(INST_CLIENT) $(dir $(INST_MAN)) $(dir $(INST_UNIT))
	install -m 755 $(INSTALL_STRIP) $(BIN) $(INST_BIN)
	install -m 644 $(CLIENT_FILES) $(INST_CLIENT)/
	install -m 644 $(BUILD)/ws6455.1.gz $(INST_MAN)
	install -m 644 $(BUILD)/ws6455.service $(INST_UNIT)
	@case '$(PREFIX)/' in /home/*|/root/*|/run/user/*|/tmp/*|/var/tmp/*) \
	    echo "install: note: the systemd unit cannot run ws6455 from $(PREFIX):" \
	         "its ProtectHome= and PrivateTmp= hide that directory from the service";; esac

# Only what install put there: shared directories (bin/, man1/, ...) stay,
# and share/ws6455 goes only once empty.
uninstall:
	rm -f $(INST_BIN) $(addprefix $(INST_CLIENT)/,$(notdir $(CLIENT_FILES))) $(INST_MAN) $(INST_UNIT)
	@for d in $(INST_CLIENT) $(DESTDIR)$(PKGDATADIR); do \
	    if [ -d "$$d" ]; then rmdir "$$d" 2>/dev/null && echo "rmdir $$d" || \
	        echo "uninstall: left $$d: it holds files this tree did not install"; fi; \
	done

clean:
	rm -rf $(BUILD)

-include $(wildcard mk/*.mk)
-include $(LIB_OBJS:.o=.d) $(BUILD)/obj/main.d
-include $(wildcard $(BUILD)/obj/test/*.d $(BUILD)/obj/support/*.d \
    $(BUILD)/obj/conformance/*.d $(BUILD)/obj/bench/*.d)
