# make docs-check -- what docs/ claims, checked against the code
# (scripts/docs/docs.py; docs/testing.md describes it):
#
#   - the blocks marked <!-- generated: NAME --> ... <!-- end --> are what
#     build/docs/gen NAME (scripts/docs/gen.c: byte dumps, tables, each
#     frame also fed back to the parser) or scripts/docs/NAME.sh prints;
#   - the C blocks marked <!-- program: NAME --> compile with -Werror
#     against the library, run, and print what the text says they print;
#   - the sizes and constants quoted in prose (scripts/docs/sizes) are the
#     values build/docs/gen sizes prints, from sizeof and the code's
#     constants.
#
# make docs-update rewrites the generated blocks from the code.

DOCS_GEN := $(BUILD)/docs/gen

.PHONY: docs-check docs-update

$(DOCS_GEN): scripts/docs/gen.c $(LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) -Isrc $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIB)

docs-check: check-deps
	$(Q)$(MAKE) --no-print-directory $(LIB) $(DOCS_GEN) $(CONF_BIN) $(BIN) $(MINIMAL_BIN)
	$(Q)$(RECORD) run $(TEST_RESULTS)/docs-check docs plain \
	    timeout -k 5 300 $(TEST_PYTHON) scripts/docs/docs.py check --build $(BUILD)

docs-update: check-deps
	$(Q)$(MAKE) --no-print-directory $(LIB) $(DOCS_GEN) $(CONF_BIN) $(BIN) $(MINIMAL_BIN)
	$(Q)$(TEST_PYTHON) scripts/docs/docs.py update --build $(BUILD)

-include $(DOCS_GEN).d
