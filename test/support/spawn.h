/*
 * spawn.h -- start and stop a real ws6455 server for the integration tests.
 *
 * Each integration test runs the built binary (env WS6455_BIN, default
 * build/ws6455) as a child process on a free loopback port, talks to it
 * over real sockets, then stops it with a signal and checks how it exited.
 * With WS6455_VALGRIND=1 the child runs under valgrind memcheck, so the same
 * tests also prove "no memory errors, no leaks": valgrind turns either into
 * exit status 99, and every test checks that the server exited 0.
 *
 * The server's stderr (its log, and valgrind's report) goes to a file under
 * the build directory, so a test can look for a log line and a person can
 * read what happened after a failure.
 *
 * Everything here is bounded in time: start-up, stop and every wait give
 * up after a timeout (longer under valgrind, see ts_scale()).
 */
#ifndef WS_TEST_SPAWN_H
#define WS_TEST_SPAWN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A running (or stopped) server. */
typedef struct ts_server {
    pid_t pid;          /* > 0 while running */
    unsigned port;      /* the TCP port it listens on */
    char host[64];      /* the address it listens on */
    char log_path[512]; /* its stderr, under the build directory */
    int status;         /* wait status once stopped */
} ts_server;

/* Less common ways to start it. Zero-initialise and set what you need. */
typedef struct ts_server_opts {
    const char *host;      /* --host; NULL: 127.0.0.1 */
    const char *log_level; /* --log-level; NULL: warn */
    unsigned nofile;       /* > 0: RLIMIT_NOFILE (soft and hard) of the child */
    const char *bin;       /* another program built on the server library (an
                              example) that takes the same options; NULL:
                              WS6455_BIN */
} ts_server_opts;

/* Start the server with `--workers 1 --host H --port P --log-level L
 * --client-dir D` followed by args (a NULL-terminated list, may be NULL),
 * on a free port, and wait until the port accepts connections. Retries
 * with another port if the server could not listen (another process took
 * the port in between). Returns 0, or -1 with a message on stderr. */
int ts_server_start(ts_server *s, const char *const *args);
int ts_server_start_opts(ts_server *s, const ts_server_opts *o, const char *const *args);

/* Send sig to the server and wait up to timeout_ms (scaled by ts_scale())
 * for it to exit. Returns its wait status (see <sys/wait.h>), or -1 if it
 * had to be killed with SIGKILL because it did not exit in time. */
int ts_server_stop(ts_server *s, int sig, unsigned timeout_ms);

/* SIGTERM, wait (10 s, scaled), and return 0 only if the server exited
 * with status 0 -- under valgrind: no errors and no leaks. Otherwise
 * prints what happened (and where the log is) and returns -1. */
int ts_server_stop_clean(ts_server *s);

/* Wait up to timeout_ms (scaled) for the server to exit by itself.
 * Returns its wait status, or -1 if it is still running. */
int ts_server_wait(ts_server *s, unsigned timeout_ms);

/* Send a signal without waiting. */
void ts_server_signal(const ts_server *s, int sig);

/* SIGKILL every server this process started that is still running, and
 * reap them. For cmocka teardowns: a failed assertion leaves the test
 * before it could stop its server. */
void ts_server_kill_all(void);

/* The server's resident set size in KiB (VmRSS in /proc/PID/status), or -1. */
long ts_server_rss_kb(const ts_server *s);

/* A field of /proc/PID/status in KiB ("VmRSS", "VmSize", "VmPeak"), or -1. */
long ts_pid_status_kb(pid_t pid, const char *field);

/* The pids of pid's children (from /proc/PID/task/PID/children), at most
 * cap of them. Returns how many. */
int ts_children(pid_t pid, pid_t *out, int cap);

/* Run build/ws6455 with args (and nothing added) to its end, at most
 * timeout_ms (scaled; then SIGKILL), its stderr and stdout into out (cap
 * bytes, NUL-terminated). Returns the wait status, or -1. */
int ts_run_server_cmd(const char *const *args, unsigned timeout_ms, char *out, size_t cap);

/* Start build/ws6455 with exactly args in the background, stderr into a
 * new log file; s->pid and s->log_path are set, s->port as given. Does
 * not wait for the port. Returns 0 or -1. */
int ts_server_spawn_raw(ts_server *s, unsigned port, const char *const *args);

/* 1 if host:port accepts a TCP connection within timeout_ms. */
int ts_port_accepts(const char *host, unsigned port, int timeout_ms);

/* A port that is free on 127.0.0.1 right now. */
unsigned ts_free_port(void);

/* 1 once pid no longer exists (reaped or not our child), checked for up
 * to timeout_ms. */
int ts_pid_gone(pid_t pid, unsigned timeout_ms);

/* CPU time the server has used so far, user + system, in seconds
 * (/proc/PID/stat), or -1. */
double ts_server_cpu_seconds(const ts_server *s);

/* 1 if the server's log contains needle, else 0. */
int ts_server_log_contains(const ts_server *s, const char *needle);

/* 1 when WS6455_VALGRIND=1: the server runs under valgrind. */
int ts_valgrind(void);

/* 1 when WS6455_SANITIZED=1 (make asan): the server runs with ASan's own
 * allocator, whose quarantine and shadow memory make its RSS say nothing
 * about what the server holds. */
int ts_sanitized(void);

/* 1 when the server's RSS measures what it holds: neither valgrind nor a
 * sanitizer. Memory tests assert the server's own budget figures (exact
 * in every build) always, and RSS bounds only when this is 1. */
int ts_rss_meaningful(void);

/* The server's budget figures, from the stats line it logs on SIGUSR1
 * ("[bytes: total T peak P limit L]", --log-level info needed; with
 * several workers, the first worker's line). Returns 0, or -1 if no line
 * appeared within 2 s. */
int ts_server_budget(const ts_server *s, size_t *total, size_t *peak, size_t *limit);

/* The same, with the bytes held as compression state ("zip"). */
int ts_server_budget_zip(const ts_server *s, size_t *total, size_t *zip);

/* How much slower the server is expected to be: 1, or 10 under valgrind.
 * Tests multiply their waits (not their limits) by it. */
unsigned ts_scale(void);

/* A monotonic clock in milliseconds, and a sleep that resumes after
 * signals. */
uint64_t ts_now_ms(void);
void ts_sleep_ms(unsigned ms);

/* Raise this process's RLIMIT_NOFILE soft limit to at least want (up to
 * the hard limit). Returns the new soft limit. */
unsigned long ts_raise_nofile(unsigned long want);

/* A NULL-terminated argument list literal: TS_ARGS("--max-message", "1000"). */
#define TS_ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

#endif /* WS_TEST_SPAWN_H */
