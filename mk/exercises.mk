# make exercise E=CHAPTER-N A='ANSWER...' -- check an answer to an exercise
# of the book (every chapter of docs/ ends with some); the same as
# scripts/exercise.sh CHAPTER N ANSWER...
#
# make exercises-check -- every exercise's checker, given the right answer
# (test/book/answers.txt, or the reference solution under
# test/book/solutions/ for a code exercise) must say "correct", and given a
# wrong one must say "not yet"; part of make test.
#
# build/book-oracle computes the true answers from the library itself
# (test/book/oracle.c), so they follow the code when it changes.

ORACLE_BIN := $(BUILD)/book-oracle

# A step of make test, with its own line in the total (the Makefile's
# TEST_STEPS is complete before the mk/ files are read).
TEST_STEPS += exercises-check

.PHONY: exercise exercises-check book-oracle
book-oracle: $(ORACLE_BIN)

$(BUILD)/obj/book/%.o: test/book/%.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(ORACLE_BIN): $(BUILD)/obj/book/oracle.o $(LIB)
	@$(if $(Q),echo "  LINK    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^

exercise: $(ORACLE_BIN) $(BIN)
	$(Q)sh scripts/exercise.sh --id $(E) $(A)

exercises-check: check-deps
	$(Q)$(MAKE) --no-print-directory $(ORACLE_BIN) $(BIN)
	$(Q)$(RECORD) run $(TEST_RESULTS)/exercises-check exercises plain \
	    timeout -k 5 300 $(TEST_PYTHON) scripts/exercise.py --self-test test/book/answers.txt

-include $(BUILD)/obj/book/oracle.d
