/*
 * supervisor.c -- ws_server_run(): the listening sockets, signals, and with
 * --workers > 1 the worker processes and their supervisor.
 *
 * The rules, each there because its absence went wrong once:
 *
 *   sockets before fork   the supervisor opens every listener before the
 *                         first fork, so a port in use, or a second ws6455
 *                         on the same port (net.c's probe), fails the start
 *                         with one clear message and exit status 1 instead
 *                         of a worker restart loop; a restarted worker
 *                         inherits its listener, queued connections and all
 *   no lost signals       the supervisor blocks the signals it handles and
 *                         takes them one at a time with sigtimedwait(): a
 *                         SIGTERM that arrives while it waits to restart a
 *                         worker is simply the next thing it reads
 *   no orphans            each worker asks the kernel for SIGTERM when its
 *                         parent dies (prctl PR_SET_PDEATHSIG), so however
 *                         the supervisor ends -- even SIGKILL -- its workers
 *                         shut down gracefully within --shutdown-timeout
 *   bounded shutdown      SIGTERM/SIGINT: workers get SIGTERM and have
 *                         --shutdown-timeout to close their connections;
 *                         one more second, then SIGKILL. A second SIGINT
 *                         (Ctrl-C twice) ends everything at once
 *   SIGHUP                logged and ignored: there is no configuration
 *                         file to reload, and a terminal hang-up must not
 *                         stop a server
 *   SIGUSR1               every worker logs a stats line
 *   crash loops           a worker that dies is replaced after 250 ms,
 *                         doubling while it keeps dying within 10 s of its
 *                         start, up to 30 s
 */
#include "server_internal.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS    256
#define RESTART_MIN_MS 250
#define RESTART_MAX_MS 30000
#define QUICK_DEATH_MS 10000
#define KILL_GRACE_MS  1000

static volatile sig_atomic_t hup_seen;

/* ---------------------------------------------------------------------- */
/* Signals in a worker (or the single process of --workers 1).             */

static void on_signal(int sig) {
    switch (sig) {
    case SIGTERM:
    case SIGINT:
        stop_requested = 1;
        /* A second Ctrl-C means "now". */
        if (sig == SIGINT && ++stop_count >= 2) _exit(130);
        break;
    case SIGUSR1: stats_requested = 1; break;
    case SIGHUP: hup_seen = 1; break;
    default: break;
    }
}

static int install_worker_signals(void) {
    struct sigaction sa;
    static const int sigs[] = { SIGTERM, SIGINT, SIGUSR1, SIGHUP };
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        if (sigaction(sigs[i], &sa, NULL) < 0) return -1;
    /* A peer that resets while we write must not kill the process:
     * write() then fails with EPIPE and that connection alone is dropped. */
    sa.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &sa, NULL);
}

/* The set the supervisor takes with sigtimedwait(). */
static void supervisor_sigset(sigset_t *set) {
    sigemptyset(set);
    sigaddset(set, SIGCHLD);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGUSR1);
}

static void raise_fd_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static uint64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The start line, and the address to open in a browser: a wildcard
 * address is not one a browser can open, so the URL names localhost (the
 * page connects back to whatever host served it). */
static void log_listening(const ws_server_config *cfg, int fd, unsigned workers) {
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char where[WS_ADDR_TEXT], host[WS_ADDR_TEXT], url[WS_ADDR_TEXT + 32];
    unsigned port;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) return;
    ws_addr_format((struct sockaddr *)&ss, where, sizeof(where));
    if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        port = ntohs(a->sin6_port);
        if (IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr))
            snprintf(host, sizeof(host), "localhost");
        else {
            inet_ntop(AF_INET6, &a->sin6_addr, host + 1, sizeof(host) - 2);
            host[0] = '[';
            strcat(host, "]");
        }
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        port = ntohs(a->sin_port);
        if (a->sin_addr.s_addr == htonl(INADDR_ANY))
            snprintf(host, sizeof(host), "localhost");
        else
            inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    }
    snprintf(url, sizeof(url), "http://%s:%u/", host, port);
    /* clang-format off */
    ws_log_field f[] = {
        WS_LOG_STR("address", where),
        WS_LOG_NUM("port", port),
        WS_LOG_STR("url", url),
        WS_LOG_STR("handler", cfg->handler->name),
        WS_LOG_NUM("workers", workers),
        WS_LOG_NUM("max_memory", cfg->max_memory),
    };
    /* clang-format on */
    /* The budget as set: 1600K is "1.6 MiB", not a truncated "1 MiB". */
    char budget[64] = "no memory budget";
    if (cfg->max_memory) {
        char size[24];
        ws_mem_format(size, sizeof(size), cfg->max_memory);
        snprintf(budget, sizeof(budget), "memory budget %s per worker", size);
    }
    ws_log_event(WS_LOG_INFO, "listen", f, sizeof(f) / sizeof(f[0]),
                 "listening on %s (handler %s, %u worker%s, %s); open %s%s", where,
                 cfg->handler->name, workers, workers == 1 ? "" : "s", budget, url,
                 cfg->client_dir ? " in a browser" : "");
}

/* ---------------------------------------------------------------------- */
/* Workers.                                                                */

typedef struct worker {
    pid_t pid;           /* 0: not running */
    uint64_t started;    /* ms (mono_ms) */
    uint64_t restart_at; /* ms; 0: no restart pending */
    unsigned delay;      /* ms before the next restart */
} worker;

/* The child's side of fork(): become worker index. Never returns. */
static void worker_main(const ws_server_config *cfg, const int *fds, unsigned n, unsigned index,
                        pid_t supervisor, const sigset_t *old_mask) {
    ws_log_worker = (int)index;
    /* However the supervisor ends, we hear of it and shut down; if it is
     * already gone (it died between fork and here), stop now. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != supervisor) _exit(0);
    for (unsigned i = 0; i < n; i++)
        if (i != index) close(fds[i]);
    if (install_worker_signals() < 0) _exit(1);
    sigprocmask(SIG_SETMASK, old_mask, NULL);
    _exit(run_worker(cfg, fds[index]) == 0 ? 0 : 1);
}

static int spawn(const ws_server_config *cfg, const int *fds, unsigned n, worker *w, unsigned index,
                 const sigset_t *old_mask) {
    pid_t supervisor = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        ws_log(WS_LOG_ERROR, "fork: %s", strerror(errno));
        w->restart_at = mono_ms() + RESTART_MAX_MS;
        return -1;
    }
    if (pid == 0) worker_main(cfg, fds, n, index, supervisor, old_mask);
    w->pid = pid;
    w->started = mono_ms();
    w->restart_at = 0;
    return 0;
}

static void signal_all(worker *ws, unsigned n, int sig) {
    for (unsigned i = 0; i < n; i++)
        if (ws[i].pid > 0) kill(ws[i].pid, sig);
}

/* Reap every worker that has ended; schedule restarts unless stopping.
 * Returns how many ended. */
static unsigned reap(worker *ws, unsigned n, int stopping) {
    unsigned ended = 0;
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (unsigned i = 0; i < n; i++) {
            worker *w = &ws[i];
            if (w->pid != pid) continue;
            uint64_t now = mono_ms(), lived = now - w->started;
            w->pid = 0;
            ended++;
            if (stopping) break;
            /* A quick death doubles the pause before the next start; a
             * worker that ran a while is replaced at once. */
            w->delay =
                lived < QUICK_DEATH_MS
                    ? (w->delay ? (w->delay * 2 > RESTART_MAX_MS ? RESTART_MAX_MS : w->delay * 2)
                                : RESTART_MIN_MS)
                    : RESTART_MIN_MS;
            w->restart_at = now + w->delay;
            if (WIFSIGNALED(status))
                ws_log(WS_LOG_ERROR,
                       "worker %u (pid %d) killed by signal %d after %.1f s; "
                       "restarting in %.2f s",
                       i, (int)pid, WTERMSIG(status), lived / 1000.0, w->delay / 1000.0);
            else
                ws_log(WS_LOG_ERROR,
                       "worker %u (pid %d) exited with status %d after %.1f s; "
                       "restarting in %.2f s",
                       i, (int)pid, WEXITSTATUS(status), lived / 1000.0, w->delay / 1000.0);
            break;
        }
    }
    return ended;
}

/* The supervisor's loop. The signals in supervisor_sigset() are blocked
 * already (ws_server_run() blocks them before the port is even opened), so
 * a signal that arrives at any moment waits, pending, until the loop takes
 * it; old_mask is the mask to give the workers. */
static int supervise(const ws_server_config *cfg, const int *fds, unsigned n,
                     const sigset_t *old_mask_in) {
    worker ws[MAX_WORKERS];
    sigset_t set, old_mask = *old_mask_in;
    unsigned alive = 0;
    int stopping = 0, ints = 0;
    uint64_t kill_at = 0;

    memset(ws, 0, sizeof(ws));
    supervisor_sigset(&set);
    for (unsigned i = 0; i < n; i++)
        if (spawn(cfg, fds, n, &ws[i], i, &old_mask) == 0) alive++;
    ws_log(WS_LOG_INFO, "started %u worker process(es)", alive);

    while (!stopping || alive > 0) {
        uint64_t now = mono_ms(), wake = now + 60000;
        struct timespec ts;
        siginfo_t info;
        int sig;

        for (unsigned i = 0; i < n; i++)
            if (!stopping && !ws[i].pid && ws[i].restart_at && ws[i].restart_at < wake)
                wake = ws[i].restart_at;
        if (stopping && kill_at < wake) wake = kill_at;
        if (wake < now) wake = now;
        ts.tv_sec = (time_t)((wake - now) / 1000);
        ts.tv_nsec = (long)((wake - now) % 1000) * 1000000L;
        sig = sigtimedwait(&set, &info, &ts);
        now = mono_ms();
        if (sig == SIGCHLD) {
            alive -= reap(ws, n, stopping);
        } else if (sig == SIGTERM || sig == SIGINT) {
            if (sig == SIGINT && ++ints >= 2) {
                /* Ctrl-C twice: now, not gracefully. */
                signal_all(ws, n, SIGKILL);
                while (alive > 0 && waitpid(-1, NULL, 0) > 0) alive--;
                _exit(130);
            }
            if (!stopping) {
                ws_log(WS_LOG_INFO, "%s: stopping %u worker(s)",
                       sig == SIGTERM ? "SIGTERM" : "SIGINT", alive);
                stopping = 1;
                kill_at = now + cfg->shutdown_timeout + KILL_GRACE_MS;
                signal_all(ws, n, SIGTERM);
            }
        } else if (sig == SIGHUP) {
            ws_log(WS_LOG_INFO, "SIGHUP ignored: there is no configuration to reload "
                                "(restart ws6455 to change its options)");
        } else if (sig == SIGUSR1) {
            signal_all(ws, n, SIGUSR1);
        }
        if (stopping && now >= kill_at && alive > 0) {
            ws_log(WS_LOG_WARN, "workers still running after --shutdown-timeout: killing them");
            signal_all(ws, n, SIGKILL);
            kill_at = now + 60000;
        }
        for (unsigned i = 0; !stopping && i < n; i++)
            if (!ws[i].pid && ws[i].restart_at && now >= ws[i].restart_at &&
                spawn(cfg, fds, n, &ws[i], i, &old_mask) == 0)
                alive++;
    }
    ws_log(WS_LOG_INFO, "stopped");
    return 0;
}

/* ---------------------------------------------------------------------- */

int ws_server_run(const ws_server_config *cfg) {
    int fds[MAX_WORKERS], rc;
    unsigned n = cfg->workers ? cfg->workers : 1;
    char err[256];
    sigset_t set, old_mask;

    if (ws_server_config_check(cfg, err, sizeof(err)) < 0) {
        ws_log(WS_LOG_ERROR, "%s", err);
        return -1;
    }
    if (n > MAX_WORKERS) n = MAX_WORKERS;
    raise_fd_limit();
    /* Signals are taken care of before the port opens: a client (or a
     * test) may signal us the moment it can connect. */
    if (n == 1) {
        if (install_worker_signals() < 0) return -1;
    } else {
        supervisor_sigset(&set);
        sigprocmask(SIG_BLOCK, &set, &old_mask);
    }
    if (ws_listen_open(cfg->host, cfg->port, fds, n, err, sizeof(err)) < 0) {
        ws_log(WS_LOG_ERROR, "%s", err);
        if (n > 1) sigprocmask(SIG_SETMASK, &old_mask, NULL);
        return -1;
    }
    log_listening(cfg, fds[0], n);
    if (n == 1) return run_worker(cfg, fds[0]);
    rc = supervise(cfg, fds, n, &old_mask);
    for (unsigned i = 0; i < n; i++) close(fds[i]);
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    return rc;
}

/* The worker's loop calls this after each round: a SIGHUP is noted in a
 * signal handler, where logging is not allowed, and logged here. */
void note_hangup(void) {
    if (!hup_seen) return;
    hup_seen = 0;
    if (ws_log_worker >= 0) return; /* under a supervisor, which says it */
    ws_log(WS_LOG_INFO, "SIGHUP ignored: there is no configuration to reload "
                        "(restart ws6455 to change its options)");
}
