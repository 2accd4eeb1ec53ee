# make endings-test -- docs/endings.md's table against the server, and the
# exercises of docs/endings.md and docs/timers.md against their answers:
#
#   test/endings/run.py        every row of the table ("what the peer sees")
#                              triggered against $(BIN) on loopback: bytes,
#                              close code, FIN or RST, log line, option
#                              (about 15 s)
#   test/book/check-answers.py each exercise checker (scripts/exercise-
#                              endings.py, scripts/exercise-timers.py) must
#                              accept the answers in test/book/answers/ and
#                              reject the wrong ones listed there (about 30 s)
#
# make sweep-cost -- bench/sweep-cost.py: CPU per timer sweep over idle
# connections (docs/timers.md; not part of make test, it takes minutes).

.PHONY: endings-test sweep-cost

endings-test: check-deps
	$(Q)$(MAKE) --no-print-directory $(BIN)
	$(Q)fail=0; \
	$(RECORD) run $(TEST_RESULTS)/endings-test table plain \
	    timeout -k 5 300 $(TEST_PYTHON) test/endings/run.py --bin $(BIN) || fail=1; \
	for ch in endings timers; do \
	    WS6455_BIN=$(BIN) $(RECORD) run $(TEST_RESULTS)/endings-test exercises-$$ch plain \
	        timeout -k 5 600 $(TEST_PYTHON) test/book/check-answers.py \
	        scripts/exercise-$$ch.py test/book/answers/$$ch.txt || fail=1; \
	done; exit $$fail

sweep-cost: $(BIN)
	$(TEST_PYTHON) bench/sweep-cost.py --bin $(BIN)
