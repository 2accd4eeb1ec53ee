# make examples -- programs in examples/, each one file, built into
# build/examples/NAME:
#
#   gate          a handler with on_request: routes by path, checks a token and
#                 the Origin, speaks a subprotocol (test_integration_request
#                 runs it); built on build/libws6455.a
#   upper         text in capitals, binary unchanged: the example of
#                 docs/handlers.md (test_integration_upper runs it)
#   minimal-echo  a whole WebSocket echo server in one file (docs/minimal.md),
#                 libc only: it must not link the library, so it has a rule of
#                 its own, without -Iinclude
#   minimal-client  a WebSocket client in one file (docs/client-side.md),
#                 libc only, with a rule of its own like minimal-echo
#
# make examples-test -- the code quotes of docs/minimal.md and docs/from-minimal.md
# still match the file, those of docs/client-side.md match minimal-client.c, and
# those of docs/handlers.md match upper.c, gate.c or include/server.h
# (scripts/check-quotes.sh), and the conformance driver against minimal-echo
# (scripts/test-minimal.sh), 0 failures required; minimal-client against
# ws6455, minimal-echo and misbehaving fake servers (test/client/run.py); the
# exercise checkers of those two chapters on right and wrong answers
# (test/book/run.py).

EXAMPLE_SRCS := $(wildcard examples/*.c)
EXAMPLE_BINS := $(EXAMPLE_SRCS:examples/%.c=$(BUILD)/examples/%)
MINIMAL_BIN  := $(BUILD)/examples/minimal-echo
CLIENT_BIN   := $(BUILD)/examples/minimal-client

.PHONY: examples examples-test
examples: $(EXAMPLE_BINS)

$(BUILD)/examples/%: examples/%.c $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIB)

# An explicit rule wins over the pattern above: no $(CPPFLAGS), no $(LIB).
$(MINIMAL_BIN): examples/minimal-echo.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $<

# The client is one file of libc too (docs/client-side.md).
$(CLIENT_BIN): examples/minimal-client.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $<

# The driver links zlib (its compression cases), hence check-deps.
examples-test: check-deps
	$(Q)$(MAKE) --no-print-directory examples $(BIN) $(CONF_BIN)
	$(Q)for d in docs/minimal.md docs/from-minimal.md; do \
	    sh scripts/check-quotes.sh $$d examples/minimal-echo.c || exit 1; done
	$(Q)sh scripts/check-quotes.sh docs/client-side.md examples/minimal-client.c
	$(Q)cat examples/upper.c examples/gate.c include/server.h > $(BUILD)/handlers-quoted.c && \
	    sh scripts/check-quotes.sh docs/handlers.md $(BUILD)/handlers-quoted.c
	$(Q)$(RECORD) run $(TEST_RESULTS)/examples-test minimal-echo plain \
	    sh scripts/test-minimal.sh $(MINIMAL_BIN) $(CONF_BIN)
	$(Q)$(RECORD) run $(TEST_RESULTS)/examples-test minimal-client plain \
	    timeout -k 5 120 $(TEST_PYTHON) test/client/run.py $(CLIENT_BIN) $(BIN) $(MINIMAL_BIN)
	$(Q)$(RECORD) run $(TEST_RESULTS)/examples-test exercises plain \
	    env BUILD=$(BUILD) TEST_PYTHON=$(TEST_PYTHON) \
	    timeout -k 5 300 $(TEST_PYTHON) test/book/run.py

# The tests that run an example build it first.
$(BUILD)/test/test_integration_request $(BUILD)/test/test_integration_upper: | $(EXAMPLE_BINS)
-include $(EXAMPLE_BINS:=.d)
