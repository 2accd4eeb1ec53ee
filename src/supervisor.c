/*
 * supervisor.c -- ws_server_run(): signals, and with --workers > 1 the
 * worker processes and their supervisor.
 */
#include "server_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_signal(int sig) {
    stop_requested = 1;
    /* A second Ctrl-C means "now". */
    if (sig == SIGINT && ++stop_count >= 2) _exit(130);
}

static int install_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) < 0 || sigaction(SIGINT, &sa, NULL) < 0) return -1;
    /* A peer that resets while we write must not kill the process:
     * write() then fails with EPIPE and that connection alone is dropped. */
    sa.sa_handler = SIG_IGN;
    return sigaction(SIGPIPE, &sa, NULL);
}

/* Fork one worker; returns its pid or -1. */
static pid_t spawn_worker(const ws_server_config *cfg, unsigned index) {
    pid_t pid = fork();
    if (pid != 0) return pid;
    ws_log_worker = (int)index;
    int fd = open_listener(cfg, 1);
    _exit(fd < 0 ? 2 : (run_worker(cfg, fd) == 0 ? 0 : 1));
}

int ws_server_run(const ws_server_config *cfg) {
    raise_fd_limit();
    if (install_signals() < 0) return -1;

    if (cfg->workers <= 1) {
        int fd = open_listener(cfg, 0);
        return fd < 0 ? -1 : run_worker(cfg, fd);
    }

    /* The supervisor: one process per worker, each with its own epoll
     * loop and SO_REUSEPORT listener (file-descriptor limits are per
     * process, so workers also multiply how many connections fit). */
    if (cfg->port == 0) {
        ws_log(WS_LOG_ERROR, "--port 0 needs --workers 1 (each worker would get its own port)");
        return -1;
    }
    pid_t *pids = calloc(cfg->workers, sizeof(*pids));
    unsigned alive = 0;
    int failed = 0;
    if (!pids) return -1;
    for (unsigned i = 0; i < cfg->workers; i++) {
        pids[i] = spawn_worker(cfg, i);
        if (pids[i] > 0) alive++;
    }
    ws_log(WS_LOG_INFO, "started %u worker process(es)", alive);
    int forwarded = 0;
    while (alive > 0) {
        int status;
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0) {
            if (errno != EINTR) break;
            if (stop_requested && !forwarded) {
                for (unsigned i = 0; i < cfg->workers; i++)
                    if (pids[i] > 0) kill(pids[i], SIGTERM);
                forwarded = 1;
            }
            continue;
        }
        for (unsigned i = 0; i < cfg->workers; i++) {
            if (pids[i] != pid) continue;
            alive--;
            pids[i] = 0;
            if (stop_requested) break;
            if (WIFEXITED(status) && WEXITSTATUS(status) == 2) {
                /* Could not even listen: restarting would fail the same way. */
                failed = 1;
                break;
            }
            /* A worker that crashed is replaced, after a pause so a crash
             * loop cannot eat the machine. */
            ws_log(WS_LOG_ERROR, "worker %u (pid %d) died (status %d); restarting", i,
                   (int)pid, status);
            sleep(1);
            pids[i] = spawn_worker(cfg, i);
            if (pids[i] > 0) alive++;
        }
        if (failed && !stop_requested) {
            for (unsigned i = 0; i < cfg->workers; i++)
                if (pids[i] > 0) kill(pids[i], SIGTERM);
            stop_requested = 1;
            forwarded = 1;
        }
    }
    free(pids);
    return failed ? -1 : 0;
}
