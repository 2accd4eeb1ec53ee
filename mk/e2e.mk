# make e2e -- headless-Chromium tests of the HTML client (test/e2e/run.js).
#
# Needs node + npm (playwright-core comes from npm, pinned by
# test/e2e/package-lock.json) and Debian's chromium at /usr/bin/chromium;
# both are installed with apt-get when missing (this assumes root, as on
# the project's machines). Playwright's own browser download is never used.
# Screenshots and server logs land in $(BUILD)/e2e/.

E2E_DIR      := test/e2e
E2E_STAMP    := $(E2E_DIR)/node_modules/.ws6455-installed
E2E_TIMEOUT  ?= 150
CHROMIUM     ?= /usr/bin/chromium

.PHONY: e2e-deps

# npm ci installs exactly what the lock file says; the stamp makes it rerun
# only when the manifest or the lock file changes.
$(E2E_STAMP): $(E2E_DIR)/package.json $(E2E_DIR)/package-lock.json
	$(Q)command -v npm >/dev/null 2>&1 || $(APT_INSTALL) e2e \
	    "npm ci brings playwright-core, which drives the browser" nodejs npm
	$(Q)cd $(E2E_DIR) && npm ci --no-audit --no-fund --loglevel=error
	$(Q)touch $@

e2e-deps: $(E2E_STAMP)
	$(Q)test -x $(CHROMIUM) || $(APT_INSTALL) e2e \
	    "the headless browser the page is tested in" chromium

# run.js bounds itself (120 s) and kills its servers by PID; timeout(1) is
# the outer guard in case node itself hangs.
e2e: e2e-deps
	$(Q)$(MAKE) --no-print-directory $(BIN)
	$(Q)mkdir -p $(BUILD)/e2e
	$(Q)WS6455_BIN=$(BIN) WS6455_CLIENT_DIR=client E2E_OUT=$(BUILD)/e2e CHROMIUM=$(CHROMIUM) \
	    timeout -k 5 $(E2E_TIMEOUT) node $(E2E_DIR)/run.js
