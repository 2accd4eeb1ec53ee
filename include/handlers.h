/*
 * handlers.h -- the applications that ship with the server.
 *
 *   echo  every message comes back unchanged: text as text, binary as
 *         binary (the default)
 *   said  the tutorial's reply: Server: You said "<message>"
 *   chat  every message goes to every connected client; joins and leaves
 *         are announced as small JSON events (docs/architecture.md)
 *
 * Each is a ws_handler (server.h): three callbacks and no knowledge of
 * sockets, which is all a new application needs to provide.
 */
#ifndef WS_HANDLERS_H
#define WS_HANDLERS_H

#include "server.h"

/* The handler called name, or NULL. */
const ws_handler *ws_handler_by_name(const char *name);

/* "echo|said|chat", for --help. */
const char *ws_handler_names(void);

#endif /* WS_HANDLERS_H */
