# mk/conformance.mk -- the conformance driver runs its cases on worker
# threads. POSIX threads are part of libc on glibc >= 2.34, but -pthread
# keeps older and other libcs working. `override` so that a LDFLAGS given on
# the command line (as `make asan` does) still gets it.
ifneq ($(CONF_BIN),)
$(CONF_OBJS): override CFLAGS += -pthread
$(CONF_BIN): override LDFLAGS += -pthread
endif
