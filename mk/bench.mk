# mk/bench.mk -- `make bench` (ws6455 side by side with Node's ws) and
# `make bench-check` (does wsbench notice a misbehaving server?).
#
#   make bench                                 full run, ~7 minutes
#   make bench BENCH_SECONDS=1 BENCH_ROUNDS=1  quick run, ~2 minutes
#
# Knobs (environment or make variables): BENCH_SECONDS (measured seconds per
# round, default 5), BENCH_ROUNDS (rounds per cell, median reported, default
# 3), BENCH_WARMUP (seconds, default 1), BENCH_PORT (first of the ports used,
# default 18200), BENCH_OUT (results file, default build/bench/results.md),
# BENCH_CLIENT_ARGS (extra wsbench flags, e.g. --busy-poll), BENCH_SECTIONS
# (a subset of "matrix memory workers syscalls allocs busypoll").
#
# build/wsbench itself is linked by the top Makefile from bench/*.c; the
# malloc counter lives in bench/preload/ so that it stays out of wsbench.

BENCH_SECONDS ?= 5
BENCH_ROUNDS  ?= 3
BENCH_WARMUP  ?= 1
BENCH_PORT    ?= 18200
BENCH_OUT     ?= $(BUILD)/bench/results.md
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

bench-deps: $(BIN) $(BENCH_BIN) $(MALLOC_COUNT_SO) $(BENCH_NODE_WS)

bench: bench-deps
	$(Q)BENCH_SECONDS=$(BENCH_SECONDS) BENCH_ROUNDS=$(BENCH_ROUNDS) \
	    BENCH_WARMUP=$(BENCH_WARMUP) BENCH_PORT=$(BENCH_PORT) BENCH_OUT=$(BENCH_OUT) \
	    BENCH_CLIENT_ARGS="$(BENCH_CLIENT_ARGS)" BENCH_SECTIONS="$(BENCH_SECTIONS)" CC="$(CC)" \
	    WS6455=$(BIN) WSBENCH=$(BENCH_BIN) MALLOC_COUNT_SO=$(MALLOC_COUNT_SO) \
	    bash bench/run-bench.sh

bench-check: $(BENCH_BIN) $(BENCH_NODE_WS)
	$(Q)./$(BENCH_BIN) --self-test
	$(Q)sh bench/check-wsbench.sh $(BENCH_BIN) $$(( $(BENCH_PORT) + 90 ))

-include $(MALLOC_COUNT_SO:.so=.d)

# 100,000 concurrent connections held by 6 workers, with an echo load
# running meanwhile (about 40 s).
.PHONY: bench-100k
bench-100k: $(BIN) $(BENCH_BIN)
	$(Q)sh bench/run-100k.sh $(BIN) $(BENCH_BIN)
