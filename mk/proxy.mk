# make proxy-test -- ws6455 behind nginx (test/proxy/run.py).
#
# Needs nginx, openssl (a throwaway certificate for the wss:// check) and
# Debian's python3-websockets. Each is installed with apt-get
# --no-install-recommends when missing, with a line saying so (this
# assumes root, as on the project's machines). nginx comes through
# test/proxy/install-nginx.sh, which keeps the package's nginx.service from
# starting and disables it: the test needs the binary, never the service,
# and leaves no web server behind. The client side runs
# under /usr/bin/python3 on purpose: python3-websockets installs into the
# system interpreter, and a python3 earlier on PATH (pyenv, a venv) may
# not see it.
#
# nginx and the ws6455 processes run as the invoking user, listen on
# 127.0.0.1 only and keep their configuration and logs in $(BUILD)/proxy/.
# run.py bounds itself (100 s) and kills what it started by PID;
# timeout(1) is the outer guard.

PROXY_PYTHON  ?= /usr/bin/python3
PROXY_TIMEOUT ?= 120

.PHONY: proxy-deps

# nginx lives in /usr/sbin, which an ordinary user's PATH may lack.
proxy-deps:
	$(Q)sh test/proxy/install-nginx.sh
	$(Q)command -v openssl >/dev/null 2>&1 || $(APT_INSTALL) proxy-test \
	    "for a throwaway certificate" openssl
	$(Q)$(PROXY_PYTHON) -c 'import websockets' 2>/dev/null || $(APT_INSTALL) proxy-test \
	    "the test's client" python3 python3-websockets

proxy-test: proxy-deps
	$(Q)$(MAKE) --no-print-directory $(BIN)
	$(Q)mkdir -p $(BUILD)/proxy
	$(Q)WS6455_BIN=$(BIN) WS6455_CLIENT_DIR=client PROXY_OUT=$(BUILD)/proxy \
	    timeout -k 5 $(PROXY_TIMEOUT) $(PROXY_PYTHON) test/proxy/run.py
