# mk/bench.mk -- `make bench` (ws6455 side by side with Node's ws) and
# `make bench-check` (does wsbench notice a misbehaving server?).
#
#   make bench                                 full run, ~8 minutes
#   make bench BENCH_SECONDS=1 BENCH_ROUNDS=1  quick run, ~2 minutes
#   make bench BENCH_BEFORE=REV                and REV's server in the
#                                              matrix, in the same rounds
#                                              (built by bench/build-rev.sh)
#
# Knobs (environment or make variables): BENCH_SECONDS (measured seconds per
# round, default 5), BENCH_ROUNDS (rounds per cell, median reported, default
# 3), BENCH_WARMUP (seconds, default 1), BENCH_PORT (first of the ports used,
# default 18200), BENCH_OUT (results file, default build/bench/results.md),
# BENCH_CLIENT_ARGS (extra wsbench flags, e.g. --busy-poll), BENCH_SECTIONS
# (a subset of "matrix memory workers syscalls allocs busypoll codec"),
# CODEC_ROUNDS and CODEC_MIN_MS (the codec section: see bench-codec below).
#
# build/wsbench itself is linked by the top Makefile from bench/*.c; the
# malloc counter lives in bench/preload/ so that it stays out of wsbench.

BENCH_SECONDS ?= 5
BENCH_ROUNDS  ?= 3
BENCH_WARMUP  ?= 1
BENCH_PORT    ?= 18200
BENCH_OUT     ?= $(BUILD)/bench/results.md
BENCH_BEFORE  ?=
MALLOC_COUNT_SO := $(BUILD)/bench/malloc_count.so
BENCH_NODE_WS := bench/node_modules/ws/package.json

.PHONY: bench-check bench-deps

$(MALLOC_COUNT_SO): bench/preload/malloc_count.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -fPIC -shared -o $@ $< -pthread

# Node's ws, exactly the version in bench/package-lock.json, into
# bench/node_modules (git-ignored). `npm ci` never rewrites the lock file.
$(BENCH_NODE_WS): bench/package.json bench/package-lock.json
	$(Q)cd bench && npm ci --no-audit --no-fund --loglevel=error
	$(Q)touch $@

bench-deps: check-deps
	$(Q)$(MAKE) --no-print-directory $(BIN) $(BENCH_BIN) $(MALLOC_COUNT_SO) $(BENCH_NODE_WS) \
	    $(BUILD)/codec-bench

bench: bench-deps
	$(Q)before=; if [ -n "$(BENCH_BEFORE)" ]; then \
	    before=$$(bash bench/build-rev.sh "$(BENCH_BEFORE)" $(BUILD)/bench) || exit 1; fi; \
	WS6455_BEFORE=$$before BEFORE_LABEL="$(BENCH_BEFORE)" \
	    BENCH_SECONDS=$(BENCH_SECONDS) BENCH_ROUNDS=$(BENCH_ROUNDS) \
	    BENCH_WARMUP=$(BENCH_WARMUP) BENCH_PORT=$(BENCH_PORT) BENCH_OUT=$(BENCH_OUT) \
	    BENCH_CLIENT_ARGS="$(BENCH_CLIENT_ARGS)" BENCH_SECTIONS="$(BENCH_SECTIONS)" CC="$(CC)" \
	    WS6455=$(BIN) WSBENCH=$(BENCH_BIN) MALLOC_COUNT_SO=$(MALLOC_COUNT_SO) \
	    CODEC_BENCH=$(BUILD)/codec-bench CODEC_ROUNDS=$(CODEC_ROUNDS) CODEC_MIN_MS=$(CODEC_MIN_MS) \
	    bash bench/run-bench.sh

bench-check: check-deps
	$(Q)$(MAKE) --no-print-directory $(BENCH_BIN) $(BENCH_NODE_WS)
	$(Q)./$(BENCH_BIN) --self-test
	$(Q)sh bench/check-wsbench.sh $(BENCH_BIN) $$(( $(BENCH_PORT) + 90 ))

-include $(MALLOC_COUNT_SO:.so=.d)

# 100,000 concurrent connections held by 6 workers, with an echo load
# running meanwhile (about 40 s).
.PHONY: bench-100k
bench-100k: check-deps
	$(Q)$(MAKE) --no-print-directory $(BIN) $(BENCH_BIN)
	$(Q)sh bench/run-100k.sh $(BIN) $(BENCH_BIN)

# make bench-codec -- our DEFLATE encoder against zlib and libdeflate on a
# fixed corpus (bench/codec_bench.c; the `codec` section of run-bench.sh).
#
#   make bench-codec                      7 rounds, about a minute
#   make bench-codec CODEC_ROUNDS=3       quicker
#
# build/codec-bench links the library's objects as the server has them
# (-O2, no -march=native: BENCH_ARCH is not used here), zlib, and
# libdeflate when its header is installed (Debian: libdeflate-dev, which
# bench-codec-deps installs with apt-get when missing and we are root). It
# includes our decoder once src/inflate.c exists. Neither zlib nor
# libdeflate is ever linked into build/ws6455.
CODEC_BENCH   := $(BUILD)/codec-bench
CODEC_ROUNDS  ?= 7
CODEC_MIN_MS  ?= 150
CODEC_HAVE_LIBDEFLATE = $(shell printf '\043include <libdeflate.h>\n' | \
    $(CC) -E -x c - >/dev/null 2>&1 && echo 1)
CODEC_DEFS    = $(if $(CODEC_HAVE_LIBDEFLATE),-DWS_BENCH_LIBDEFLATE) \
                $(if $(wildcard src/inflate.c),-DWS_BENCH_INFLATE)
CODEC_LIBS    = -lz $(if $(CODEC_HAVE_LIBDEFLATE),-ldeflate)

CODEC_CONFIG  := $(BUILD)/obj/codec-bench/config

.PHONY: bench-codec bench-codec-deps codec-config-force

# What the program includes depends on what is installed and written: this
# file records it, and is rewritten (so the object rebuilt) only when it
# changes.
$(CODEC_CONFIG): codec-config-force
	@mkdir -p $(dir $@)
	@echo '$(strip $(CODEC_DEFS) $(CODEC_LIBS))' | cmp -s - $@ 2>/dev/null || \
	    echo '$(strip $(CODEC_DEFS) $(CODEC_LIBS))' > $@

$(BUILD)/obj/codec-bench/codec_bench.o: bench/codec_bench.c $(CODEC_CONFIG)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(CODEC_DEFS) $(ALL_CFLAGS) -c -o $@ $<

$(CODEC_BENCH): $(BUILD)/obj/codec-bench/codec_bench.o $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(filter %.o %.a,$^) $(CODEC_LIBS)

bench-codec-deps:
	$(Q)sh scripts/ensure-test-deps.sh
	$(Q)if ! printf '#include <libdeflate.h>\n' | $(CC) -E -x c - >/dev/null 2>&1; then \
	    $(APT_INSTALL) bench-codec "a second reference to compare with" libdeflate-dev || \
	        echo "bench-codec: comparing with zlib only"; \
	fi

# A sub-make, so that the libdeflate check above sees a fresh install.
bench-codec: bench-codec-deps
	$(Q)$(MAKE) --no-print-directory $(CODEC_BENCH)
	$(Q)BENCH_SECTIONS=codec CODEC_BENCH=$(CODEC_BENCH) CODEC_ROUNDS=$(CODEC_ROUNDS) \
	    CODEC_MIN_MS=$(CODEC_MIN_MS) BENCH_OUT=$(BENCH_OUT) CC="$(CC)" bash bench/run-bench.sh

-include $(BUILD)/obj/codec-bench/codec_bench.d
