# make fuzz        run each libFuzzer target for FUZZ_SECONDS (default 60)
# make fuzz-smoke  the same for FUZZ_SMOKE_SECONDS (default 30), as CI does
# make fuzz-build  only build them
#
# One target per test/fuzz/fuzz_<name>.c. They are built with clang's
# libFuzzer plus ASan and UBSan, and link the library sources compiled the
# same way (into their own archive under $(BUILD)/fuzz, never the gcc-built
# libws6455.a), so the parsers are instrumented for coverage.
#
# Each run fuzzes a working copy of the seed corpus in
# $(BUILD)/fuzz/corpus/<name>/ (new inputs accumulate there, the checked-in
# test/fuzz/corpus/ is never written), and stops after the given seconds.
# A crash, a sanitizer report, a failed differential check, a timeout or
# running out of memory saves the input as $(BUILD)/fuzz/artifacts/<name>-*
# and makes the make fail (after the other targets have run). Reproduce
# with:  $(BUILD)/fuzz/fuzz_<name> $(BUILD)/fuzz/artifacts/<name>-crash-...
#
# Needs clang with its libFuzzer runtime: on Debian 12 the packages clang
# and libclang-rt-14-dev (and zlib1g-dev: the DEFLATE targets compare
# with zlib); fuzz-deps installs them with apt-get when the
# runtime is missing (this assumes root, as on the project's machines).

FUZZ_CC            ?= clang
FUZZ_SMOKE_SECONDS ?= 30
FUZZ_DIR           := $(BUILD)/fuzz
FUZZ_TARGETS       := $(patsubst test/fuzz/fuzz_%.c,%,$(wildcard test/fuzz/fuzz_*.c))
FUZZ_BINS          := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_LIB_OBJS      := $(LIB_SRCS:src/%.c=$(FUZZ_DIR)/obj/%.o)
FUZZ_LIB           := $(FUZZ_DIR)/libws6455-fuzz.a
FUZZ_STAMP         := $(FUZZ_DIR)/.deps-ok

FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=c11 $(WARN) -O1 -g $(FUZZ_SAN) -MMD -MP
# Inputs bigger than any seed by a margin: long enough for a handshake with
# room to spare, a 16-bit-length frame with its payload, a few frames of a
# stream. 64-bit lengths are reached through their headers alone.
FUZZ_MAX_LEN ?= 4096
# Per input: a slow input (10 s) or a memory hog is a bug too.
FUZZ_OPTS    ?= -max_len=$(FUZZ_MAX_LEN) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1

.PHONY: fuzz-build fuzz-deps

# The libFuzzer runtime is what is usually missing: check by linking a
# one-line target, and install clang's runtime package when that fails.
$(FUZZ_STAMP):
	@mkdir -p $(dir $@)
	$(Q)printf '%s\n' 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);' \
	    'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) {' \
	    '    (void)d; (void)n; return 0;' '}' > $(FUZZ_DIR)/probe.c
	$(Q)if ! $(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_DIR)/probe.c -o $(FUZZ_DIR)/probe 2>/dev/null; then \
	    echo "fuzz: $(FUZZ_CC) cannot link -fsanitize=fuzzer; installing clang's runtime"; \
	    command -v clang >/dev/null 2>&1 || $(APT_INSTALL) fuzz "libFuzzer comes with clang" clang; \
	    ver=$$(clang --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p' | head -1); \
	    $(APT_INSTALL) fuzz "clang's libFuzzer runtime" libclang-rt-$$ver-dev; \
	    $(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_DIR)/probe.c -o $(FUZZ_DIR)/probe; \
	fi
	$(Q)touch $@

fuzz-deps: $(FUZZ_STAMP)

$(FUZZ_DIR)/obj/%.o: src/%.c | $(FUZZ_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: test/fuzz/fuzz_%.c $(FUZZ_LIB) | $(FUZZ_STAMP)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(FUZZ_CC) $(CPPFLAGS) -Itest/fuzz $(FUZZ_CFLAGS) -MF $@.d -fsanitize=fuzzer \
	    -o $@ $< $(FUZZ_LIB) -lz

fuzz-build: $(FUZZ_BINS)

# $(call fuzz_run,SECONDS): every target for SECONDS each, one after the
# other; print libFuzzer's summary for each; fail if any of them failed.
# timeout(1) is only the outer guard: libFuzzer stops itself at
# -max_total_time.
define fuzz_run
	$(Q)fail=0; \
	for t in $(FUZZ_TARGETS); do \
	    corpus=$(FUZZ_DIR)/corpus/$$t; log=$(FUZZ_DIR)/$$t.log; \
	    mkdir -p $$corpus $(FUZZ_DIR)/artifacts; \
	    cp -n test/fuzz/corpus/$$t/* $$corpus/ 2>/dev/null || true; \
	    echo "== fuzz_$$t: $(1) s (log: $$log)"; \
	    timeout $$(( $(1) + 120 )) $(FUZZ_DIR)/fuzz_$$t $(FUZZ_OPTS) \
	        -max_total_time=$(1) -artifact_prefix=$(FUZZ_DIR)/artifacts/$$t- \
	        $$corpus >$$log 2>&1; rc=$$?; \
	    grep -E '^#[0-9]+[[:space:]]+DONE' $$log | tail -1; \
	    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added|peak_rss_mb)' \
	        $$log | tr '\n' ' '; echo; \
	    if [ $$rc -ne 0 ]; then \
	        fail=1; echo "fuzz_$$t FAILED (exit $$rc):"; tail -40 $$log; \
	        ls -1 $(FUZZ_DIR)/artifacts/$$t-* 2>/dev/null; \
	    fi; \
	done; \
	exit $$fail
endef

fuzz: $(FUZZ_BINS)
	$(call fuzz_run,$(FUZZ_SECONDS))

fuzz-smoke: $(FUZZ_BINS)
	$(call fuzz_run,$(FUZZ_SMOKE_SECONDS))

-include $(wildcard $(FUZZ_DIR)/obj/*.d $(FUZZ_DIR)/*.d)
