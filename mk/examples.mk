# make examples -- programs built on the server library, in examples/, each
# one file: build/examples/NAME from examples/NAME.c and build/libws6455.a.
#
#   gate   a handler with on_request: routes by path, checks a token and
#          the Origin, speaks a subprotocol (test_integration_request runs it)

EXAMPLE_SRCS := $(wildcard examples/*.c)
EXAMPLE_BINS := $(EXAMPLE_SRCS:examples/%.c=$(BUILD)/examples/%)

.PHONY: examples
examples: $(EXAMPLE_BINS)

$(BUILD)/examples/%: examples/%.c $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIB)

# The test that runs an example builds it first.
$(BUILD)/test/test_integration_request: | $(EXAMPLE_BINS)
-include $(EXAMPLE_BINS:=.d)
