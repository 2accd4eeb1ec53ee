# make interop -- other people's clients against ws6455 (test/interop/run.py):
# Node's `ws` and Python's `websockets`, with permessage-deflate in every
# --deflate mode and without it.
#
# Needs node with `ws` (the version pinned for the benchmark, installed
# into bench/node_modules by npm ci) and Debian's python3-websockets, run
# under /usr/bin/python3 (the interpreter that package installs into; see
# mk/proxy.mk). Both are installed when missing (apt-get assumes root, as
# on the project's machines). run.py bounds itself (150 s) and kills its
# servers by PID; timeout(1) is the outer guard.

INTEROP_PYTHON  ?= /usr/bin/python3
INTEROP_TIMEOUT ?= 180

.PHONY: interop interop-deps

interop-deps:
	$(Q)command -v npm >/dev/null 2>&1 || $(APT_INSTALL) interop \
	    "npm ci brings Node's ws, one of the clients" nodejs npm
	$(Q)$(INTEROP_PYTHON) -c 'import websockets' 2>/dev/null || $(APT_INSTALL) interop \
	    "Python's websockets, the other client" python3 python3-websockets

interop: interop-deps
	$(Q)$(MAKE) --no-print-directory $(BIN) $(BENCH_NODE_WS)
	$(Q)WS6455_BIN=$(BIN) NODE_PATH=$(CURDIR)/bench/node_modules \
	    timeout -k 5 $(INTEROP_TIMEOUT) $(INTEROP_PYTHON) test/interop/run.py
