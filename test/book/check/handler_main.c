/*
 * handler_main.c -- runs the reader's handler (a file that defines
 * `const ws_handler exercise_handler`) as a server on 127.0.0.1, port from
 * argv[1], one worker, no files served. scripts/exercise.py starts it,
 * talks to it and stops it with SIGTERM by its PID.
 */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>

extern const ws_handler exercise_handler;

int main(int argc, char **argv) {
    ws_server_config cfg;
    char err[256];

    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    ws_server_config_defaults(&cfg);
    cfg.host = "127.0.0.1";
    cfg.port = (unsigned)atoi(argv[1]);
    cfg.workers = 1;
    cfg.client_dir = NULL;
    cfg.handler = &exercise_handler;
    if (ws_server_config_check(&cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        return 2;
    }
    return ws_server_run(&cfg) < 0 ? 1 : 0;
}
