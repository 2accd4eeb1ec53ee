/*
 * spawn.c -- run the server under test as a child process (see spawn.h).
 *
 * Start-up, in order:
 *   1. pick a free port: bind HOST:0, read the port the kernel chose, close;
 *   2. fork; the child asks to be killed if the test program dies, points
 *      stdout/stderr at the log file, restores the default signal
 *      dispositions (so the server's own SIGPIPE handling is what is
 *      tested, not ours), applies an optional fd limit, and execs the
 *      server -- or valgrind with the server;
 *   3. poll: connect to HOST:PORT every 20 ms until it accepts. If the child
 *      exits first, someone else took the port between 1 and 2: start over
 *      with a new one.
 *
 * Test code may allocate, print and abort freely; it is not the library.
 */
#include "spawn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS         64
#define MAX_RUNNING      16
#define START_TRIES      5
#define START_TIMEOUT_MS 5000  /* until the port accepts (scaled) */
#define STOP_TIMEOUT_MS  10000 /* ts_server_stop_clean (scaled) */

/* Servers started and not yet reaped, for ts_server_kill_all(). */
static ts_server *running[MAX_RUNNING];
static unsigned log_serial;

/* ---------------------------------------------------------------------- */
/* Time.                                                                   */

uint64_t ts_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void ts_sleep_ms(unsigned ms) {
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
}

int ts_valgrind(void) {
    const char *v = getenv("WS6455_VALGRIND");
    return v != NULL && strcmp(v, "1") == 0;
}

unsigned ts_scale(void) { return ts_valgrind() ? 10 : 1; }

int ts_sanitized(void) {
    const char *v = getenv("WS6455_SANITIZED");
    return v != NULL && strcmp(v, "1") == 0;
}

int ts_rss_meaningful(void) { return !ts_valgrind() && !ts_sanitized(); }

unsigned long ts_raise_nofile(unsigned long want) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
    if (rl.rlim_cur < want) {
        rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    return (unsigned long)rl.rlim_cur;
}

/* ---------------------------------------------------------------------- */
/* Ports.                                                                  */

/* Resolve a numeric host and port into an address. Returns 0 or -1. */
static int resolve(const char *host, unsigned port, struct sockaddr_storage *ss, socklen_t *len) {
    struct addrinfo hints, *res = NULL;
    char service[16];

    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    snprintf(service, sizeof(service), "%u", port);
    if (getaddrinfo(host, service, &hints, &res) != 0 || res == NULL) return -1;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* A port that was free a moment ago: bind HOST:0 and ask the kernel. */
static unsigned free_port(const char *host) {
    struct sockaddr_storage ss;
    socklen_t len;
    unsigned port = 0;

    if (resolve(host, 0, &ss, &len) < 0) return 0;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    if (bind(fd, (struct sockaddr *)&ss, len) == 0 &&
        getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
        if (ss.ss_family == AF_INET)
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    close(fd);
    return port;
}

/* One connection attempt, bounded by timeout_ms. Returns 1 if HOST:PORT
 * accepted it, else 0. The connection is closed at once; the server sees
 * a peer that left during the handshake. */
static int port_accepts(const char *host, unsigned port, int timeout_ms) {
    struct sockaddr_storage ss;
    socklen_t len;
    int ok = 0, err = 0;
    socklen_t elen = sizeof(err);

    if (resolve(host, port, &ss, &len) < 0) return 0;
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    if (connect(fd, (struct sockaddr *)&ss, len) == 0) {
        ok = 1;
    } else if (errno == EINPROGRESS) {
        struct pollfd pfd = { fd, POLLOUT, 0 };
        if (poll(&pfd, 1, timeout_ms) == 1 &&
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err == 0)
            ok = 1;
    }
    close(fd);
    return ok;
}

/* ---------------------------------------------------------------------- */
/* The child.                                                              */

static const char *server_bin(void) {
    const char *b = getenv("WS6455_BIN");
    return b && *b ? b : "build/ws6455";
}

/* The log file for the next server: <dir of the binary>/test-logs/
 * <program>.<n>.log, so logs of asan and normal builds do not mix. */
static void make_log_path(char *out, size_t cap) {
    const char *bin = server_bin();
    const char *slash = strrchr(bin, '/');
    int dirlen = slash ? (int)(slash - bin) : 1;
    const char *dir = slash ? bin : ".";
    char logdir[400];

    snprintf(logdir, sizeof(logdir), "%.*s/test-logs", dirlen, dir);
    mkdir(logdir, 0755); /* EEXIST is fine */
    snprintf(out, cap, "%s/%s.%u.log", logdir, program_invocation_short_name, ++log_serial);
}

/* In the child, after fork: never returns. */
static void exec_server(const ts_server *s, const ts_server_opts *o, const char *const *args,
                        pid_t parent) {
    const char *argv[MAX_ARGS];
    char port[16];
    int n = 0;

    /* If the test program dies (a crash, a kill), its server dies with it
     * instead of lingering on a port. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);

    int fd = open(s->log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0) _exit(126);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    /* Nothing of the test program (client sockets...) leaks into the
     * server; its fd count is then its own. */
    close_range(3, ~0u, 0);

    /* exec keeps "ignored" dispositions and the signal mask: reset both so
     * the server starts the way it would from a shell. */
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    if (o->nofile > 0) {
        /* Hard limit too: the server raises its soft limit to the hard one. */
        struct rlimit rl = { o->nofile, o->nofile };
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) _exit(126);
    }

    if (ts_valgrind()) {
        argv[n++] = "valgrind";
        argv[n++] = "--error-exitcode=99";
        argv[n++] = "--leak-check=full";
        argv[n++] = "--errors-for-leak-kinds=definite,indirect";
        argv[n++] = "--track-fds=no";
    }
    snprintf(port, sizeof(port), "%u", s->port);
    argv[n++] = o->bin ? o->bin : server_bin();
    argv[n++] = "--workers";
    argv[n++] = "1";
    argv[n++] = "--host";
    argv[n++] = s->host;
    argv[n++] = "--port";
    argv[n++] = port;
    argv[n++] = "--log-level";
    argv[n++] = o->log_level ? o->log_level : "warn";
    argv[n++] = "--client-dir";
    argv[n++] = getenv("WS6455_CLIENT_DIR") ? getenv("WS6455_CLIENT_DIR") : "client";
    for (int i = 0; args && args[i] && n < MAX_ARGS - 1; i++) argv[n++] = args[i];
    argv[n] = NULL;

    /* execv's argv is char *const[] for historical reasons; it does not
     * modify the strings. */
    execvp(argv[0], (char *const *)(void *)argv);
    fprintf(stderr, "spawn: exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

static void track(ts_server *s) {
    for (int i = 0; i < MAX_RUNNING; i++) {
        if (running[i] == NULL || running[i] == s) {
            running[i] = s;
            return;
        }
    }
}

static void untrack(ts_server *s) {
    for (int i = 0; i < MAX_RUNNING; i++)
        if (running[i] == s) running[i] = NULL;
}

/* Print the last lines of the server's log, for a failure report. */
static void print_log_tail(const ts_server *s) {
    char line[512];
    static char lines[40][512];
    int n = 0;
    FILE *f = fopen(s->log_path, "r");

    if (!f) return;
    while (fgets(line, sizeof(line), f)) {
        memcpy(lines[n % 40], line, sizeof(line));
        n++;
    }
    fclose(f);
    fprintf(stderr, "---- last lines of %s ----\n", s->log_path);
    for (int i = n > 40 ? n - 40 : 0; i < n; i++) fputs(lines[i % 40], stderr);
    fprintf(stderr, "----\n");
}

/* ---------------------------------------------------------------------- */
/* Public functions.                                                       */

int ts_server_start_opts(ts_server *s, const ts_server_opts *o, const char *const *args) {
    static const ts_server_opts none;
    if (!o) o = &none;

    memset(s, 0, sizeof(*s));
    snprintf(s->host, sizeof(s->host), "%s", o->host ? o->host : "127.0.0.1");

    for (int attempt = 0; attempt < START_TRIES; attempt++) {
        s->port = free_port(s->host);
        if (s->port == 0) {
            fprintf(stderr, "spawn: no free port on %s\n", s->host);
            return -1;
        }
        make_log_path(s->log_path, sizeof(s->log_path));

        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0) {
            perror("spawn: fork");
            return -1;
        }
        if (pid == 0) exec_server(s, o, args, parent);
        s->pid = pid;
        track(s);

        uint64_t deadline = ts_now_ms() + (uint64_t)START_TIMEOUT_MS * ts_scale();
        int exited = 0;
        while (ts_now_ms() < deadline) {
            if (port_accepts(s->host, s->port, 200)) return 0;
            if (waitpid(pid, &s->status, WNOHANG) == pid) {
                exited = 1;
                break;
            }
            ts_sleep_ms(20);
        }
        if (!exited) {
            fprintf(stderr, "spawn: server did not accept on %s port %u within %u ms\n", s->host,
                    s->port, START_TIMEOUT_MS * ts_scale());
            print_log_tail(s);
            ts_server_stop(s, SIGKILL, 1000);
            return -1;
        }
        s->pid = 0;
        untrack(s);
        if (!ts_server_log_contains(s, "cannot listen")) {
            fprintf(stderr, "spawn: server exited during start-up (status %d)\n", s->status);
            print_log_tail(s);
            return -1;
        }
        /* The port was taken between free_port() and the server's bind. */
    }
    fprintf(stderr, "spawn: could not start the server after %d ports\n", START_TRIES);
    return -1;
}

int ts_server_start(ts_server *s, const char *const *args) {
    return ts_server_start_opts(s, NULL, args);
}

void ts_server_signal(const ts_server *s, int sig) {
    if (s->pid > 0) kill(s->pid, sig);
}

int ts_server_wait(ts_server *s, unsigned timeout_ms) {
    uint64_t deadline = ts_now_ms() + (uint64_t)timeout_ms * ts_scale();
    if (s->pid <= 0) return s->status;
    for (;;) {
        pid_t r = waitpid(s->pid, &s->status, WNOHANG);
        if (r == s->pid || (r < 0 && errno == ECHILD)) {
            s->pid = 0;
            untrack(s);
            return s->status;
        }
        if (ts_now_ms() >= deadline) return -1;
        ts_sleep_ms(5);
    }
}

int ts_server_stop(ts_server *s, int sig, unsigned timeout_ms) {
    if (s->pid <= 0) return s->status;
    kill(s->pid, sig);
    int st = ts_server_wait(s, timeout_ms);
    if (st != -1) return st;
    fprintf(stderr, "spawn: server pid %d still running %u ms after signal %d: SIGKILL\n",
            (int)s->pid, timeout_ms * ts_scale(), sig);
    /* What it was doing, for the report: its state, CPU time and where in
     * the kernel it waits (a busy loop shows R and growing CPU time). */
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/wchan", (int)s->pid);
    FILE *f = fopen(path, "r");
    if (f) {
        if (fgets(line, sizeof(line), f)) fprintf(stderr, "spawn: wchan %s\n", line);
        fclose(f);
    }
    fprintf(stderr, "spawn: CPU %.2f s, status: ", ts_server_cpu_seconds(s));
    snprintf(path, sizeof(path), "/proc/%d/status", (int)s->pid);
    if ((f = fopen(path, "r"))) {
        while (fgets(line, sizeof(line), f))
            if (strncmp(line, "State:", 6) == 0) fputs(line, stderr);
        fclose(f);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &s->status, 0);
    s->pid = 0;
    untrack(s);
    return -1;
}

int ts_server_stop_clean(ts_server *s) {
    int st = ts_server_stop(s, SIGTERM, STOP_TIMEOUT_MS);
    if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0) return 0;
    if (st == -1)
        fprintf(stderr, "spawn: server did not exit after SIGTERM\n");
    else if (WIFEXITED(st))
        fprintf(stderr, "spawn: server exited with status %d%s\n", WEXITSTATUS(st),
                WEXITSTATUS(st) == 99 ? " (valgrind found errors or leaks)" : "");
    else if (WIFSIGNALED(st))
        fprintf(stderr, "spawn: server killed by signal %d\n", WTERMSIG(st));
    print_log_tail(s);
    return -1;
}

void ts_server_kill_all(void) {
    for (int i = 0; i < MAX_RUNNING; i++) {
        ts_server *s = running[i];
        if (!s) continue;
        if (s->pid > 0) {
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &s->status, 0);
            s->pid = 0;
        }
        running[i] = NULL;
    }
}

long ts_pid_status_kb(pid_t pid, const char *field) {
    char path[64], line[256];
    size_t flen = strlen(field);
    long kb = -1;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, field, flen) == 0 && line[flen] == ':' &&
            sscanf(line + flen + 1, " %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

long ts_server_rss_kb(const ts_server *s) { return ts_pid_status_kb(s->pid, "VmRSS"); }

int ts_children(pid_t pid, pid_t *out, int cap) {
    char path[96];
    int n = 0;
    long v;
    snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    while (n < cap && fscanf(f, "%ld", &v) == 1) out[n++] = (pid_t)v;
    fclose(f);
    return n;
}

int ts_pid_gone(pid_t pid, unsigned timeout_ms) {
    uint64_t deadline = ts_now_ms() + (uint64_t)timeout_ms * ts_scale();
    for (;;) {
        char path[64];
        struct stat st;
        snprintf(path, sizeof(path), "/proc/%d", (int)pid);
        /* A zombie still has /proc/PID; its state is 'Z'. */
        if (stat(path, &st) != 0) return 1;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        FILE *f = fopen(path, "r");
        if (f) {
            char text[512];
            size_t n = fread(text, 1, sizeof(text) - 1, f);
            fclose(f);
            text[n] = '\0';
            char *p = strrchr(text, ')');
            if (p && p[1] == ' ' && p[2] == 'Z') return 1;
        }
        if (ts_now_ms() >= deadline) return 0;
        ts_sleep_ms(20);
    }
}

/* In the child: stderr and stdout to fd, signals reset, exec the server
 * with exactly args. */
static void exec_raw(int fd, const char *const *args, pid_t parent) {
    const char *argv[MAX_ARGS];
    int n = 0;
    sigset_t none;
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);
    if (dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0) _exit(126);
    close_range(3, ~0u, 0);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    argv[n++] = server_bin();
    for (int i = 0; args && args[i] && n < MAX_ARGS - 1; i++) argv[n++] = args[i];
    argv[n] = NULL;
    execvp(argv[0], (char *const *)(void *)argv);
    _exit(127);
}

/* Start the server with exactly args, its output into a new log file at
 * path (cap bytes); *fd is that file, open for reading too. Returns the
 * pid, or -1. */
static pid_t fork_raw(const char *const *args, char *path, size_t cap, int *fd) {
    make_log_path(path, cap);
    *fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (*fd < 0) return -1;
    pid_t parent = getpid(), pid = fork();
    if (pid < 0) {
        close(*fd);
        return -1;
    }
    if (pid == 0) exec_raw(*fd, args, parent);
    return pid;
}

int ts_run_server_cmd(const char *const *args, unsigned timeout_ms, char *out, size_t cap) {
    char path[512];
    int status = -1, fd;
    pid_t pid = fork_raw(args, path, sizeof(path), &fd);
    if (pid < 0) return -1;
    uint64_t deadline = ts_now_ms() + (uint64_t)timeout_ms * ts_scale();
    for (;;) {
        if (waitpid(pid, &status, WNOHANG) == pid) break;
        if (ts_now_ms() >= deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            status = -1;
            break;
        }
        ts_sleep_ms(10);
    }
    ssize_t n = pread(fd, out, cap ? cap - 1 : 0, 0);
    if (cap) out[n > 0 ? n : 0] = '\0';
    close(fd);
    return status;
}

int ts_server_spawn_raw(ts_server *s, unsigned port, const char *const *args) {
    memset(s, 0, sizeof(*s));
    snprintf(s->host, sizeof(s->host), "127.0.0.1");
    s->port = port;
    int fd;
    pid_t pid = fork_raw(args, s->log_path, sizeof(s->log_path), &fd);
    if (pid < 0) return -1;
    close(fd);
    s->pid = pid;
    track(s);
    return 0;
}

int ts_port_accepts(const char *host, unsigned port, int timeout_ms) {
    return port_accepts(host, port, timeout_ms);
}

unsigned ts_free_port(void) { return free_port("127.0.0.1"); }

double ts_server_cpu_seconds(const ts_server *s) {
    char path[64], text[1024];
    unsigned long long utime = 0, stime = 0;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)s->pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    /* The command name (field 2) is in parentheses and may hold spaces;
     * fields 3.. follow the last ')'. utime and stime are fields 14, 15. */
    char *p = strrchr(text, ')');
    if (!p) return -1;
    if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) !=
        2)
        return -1;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

int ts_server_log_contains(const ts_server *s, const char *needle) {
    FILE *f = fopen(s->log_path, "r");
    char line[4096];
    int found = 0;

    if (!f) return 0;
    while (!found && fgets(line, sizeof(line), f))
        if (strstr(line, needle)) found = 1;
    fclose(f);
    return found;
}

static int budget_line(const ts_server *s, size_t *total, size_t *peak, size_t *limit, size_t *zip);

int ts_server_budget(const ts_server *s, size_t *total, size_t *peak, size_t *limit) {
    size_t zip;
    return budget_line(s, total, peak, limit, &zip);
}

int ts_server_budget_zip(const ts_server *s, size_t *total, size_t *zip) {
    size_t peak, limit;
    return budget_line(s, total, &peak, &limit, zip);
}

static int budget_line(const ts_server *s, size_t *total, size_t *peak, size_t *limit,
                       size_t *zip) {
    char line[4096];
    long seen = 0;
    /* Only a line logged after this request counts: skip those there are. */
    FILE *f = fopen(s->log_path, "r");
    if (f) {
        while (fgets(line, sizeof(line), f))
            if (strstr(line, "[bytes: total ")) seen++;
        fclose(f);
    }
    ts_server_signal(s, SIGUSR1);
    for (int tries = 0; tries < 100; tries++) {
        long n = 0;
        int found = 0;
        ts_sleep_ms(20);
        if (!(f = fopen(s->log_path, "r"))) continue;
        while (fgets(line, sizeof(line), f)) {
            char *p = strstr(line, "[bytes: total ");
            if (p && ++n > seen &&
                sscanf(p, "[bytes: total %zu peak %zu limit %zu zip %zu]", total, peak, limit,
                       zip) == 4)
                found = 1;
        }
        fclose(f);
        if (found) return 0;
    }
    return -1;
}
