/*
 * exercise-main.c -- the program around a handler written for an exercise
 * of docs/handlers.md: scripts/exercise-handlers.sh compiles the reader's
 * file (which defines exercise_handler) with this one and the library.
 *
 *   exercise PORT    serve exercise_handler on 127.0.0.1:PORT, one worker
 */
#include "server.h"

#include <stdio.h>
#include <stdlib.h>

/* Defined by the reader's file. */
extern const ws_handler exercise_handler;

int main(int argc, char **argv) {
    ws_server_config cfg;
    char err[256];

    if (argc != 2) {
        fprintf(stderr, "usage: exercise PORT\n");
        return 2;
    }
    ws_server_config_defaults(&cfg);
    cfg.handler = &exercise_handler;
    cfg.host = "127.0.0.1";
    cfg.port = (unsigned)atoi(argv[1]);
    cfg.workers = 1;
    cfg.client_dir = NULL;
    if (ws_server_config_check(&cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "exercise: %s\n", err);
        return 2;
    }
    return ws_server_run(&cfg) == 0 ? 0 : 1;
}
