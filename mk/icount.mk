# mk/icount.mk -- `make bench-instructions`: the server's user-space
# instructions per echoed message, counted by valgrind's callgrind, per
# cell and per stage (docs/benchmarks.md, "Instructions per echo").
#
#   make bench-instructions                     this tree's build/ws6455
#   make bench-instructions ICOUNT_BEFORE=REV   and REV's, side by side
#                                               (REV built from `git archive`
#                                               into build/icount/REV)
#
# Knobs: ICOUNT_PORT (first port, default 19000), ICOUNT_CELLS (names, see
# bench/icount.sh; default all), ICOUNT_OUT (default
# build/bench/instructions.md), ICOUNT_BEFORE (a git revision, or empty).
#
# build/wsstep, the lockstep client the counts need (bench/wsstep/wsstep.c),
# links wsbench's own SHA-1 and base64, never the server's code.

ICOUNT_PORT   ?= 19000
ICOUNT_CELLS  ?=
ICOUNT_OUT    ?= $(BUILD)/bench/instructions.md
ICOUNT_BEFORE ?=
WSSTEP        := $(BUILD)/wsstep

.PHONY: bench-instructions

$(BUILD)/obj/wsstep/wsstep.o: bench/wsstep/wsstep.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) -Ibench $(ALL_CFLAGS) -c -o $@ $<

$(WSSTEP): $(BUILD)/obj/wsstep/wsstep.o $(BUILD)/obj/bench/wsb_sha1.o \
           $(BUILD)/obj/bench/wsb_base64.o
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^

bench-instructions:
	$(Q)$(MAKE) --no-print-directory $(BIN) $(WSSTEP)
	$(Q)ICOUNT_PORT=$(ICOUNT_PORT) ICOUNT_CELLS="$(ICOUNT_CELLS)" ICOUNT_OUT=$(ICOUNT_OUT) \
	    ICOUNT_BEFORE="$(ICOUNT_BEFORE)" BUILD=$(BUILD) \
	    bash bench/icount.sh $(BIN) $(WSSTEP)

-include $(BUILD)/obj/wsstep/wsstep.d
