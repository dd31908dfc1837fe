/* The session that answers JSON-RPC, whatever carries the bytes. A transport (stdio.c
 * today; HTTP next) frames messages, hands each complete one to mcp_session_handle_line,
 * writes what the session gives its send function, and drives the database pool through
 * mcp_session_pollfds / mcp_session_process from its own poll loop. The session validates
 * the JSON-RPC envelope, handles notifications, holds an initialize until the database
 * answers, and passes requests to the method table (dispatch.c). */
#ifndef PGSAFE_MCP_SESSION_H
#define PGSAFE_MCP_SESSION_H

#include <json-c/json.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "mcp/server.h"

typedef struct mcp_session mcp_session;

/* Writes one message (borrowed: the session frees it afterwards). */
typedef void (*mcp_transport_send)(void *transport, json_object *message);

/* A session with its audit log open and its pool connecting. NULL with *error set (caller
 * frees) when the audit log cannot be opened or the pool cannot start. */
mcp_session *mcp_session_new(const mcp_config *config, mcp_transport_send send, void *transport, char **error);

/* Cancels what still runs (its continuations drop the requests), frees every request left,
 * closes the audit log. */
void mcp_session_free(mcp_session *session);

/* Handles one framed message of length bytes (not NUL-terminated): parses it, answers
 * errors, runs requests. */
void mcp_session_handle_line(mcp_session *session, const char *line, size_t length);

/* True while an initialize waits for the database: the transport holds later messages
 * back, so they are handled after its answer, in order. */
bool mcp_session_holding(const mcp_session *session);

/* True while a request other than a held initialize is in flight. */
bool mcp_session_busy(const mcp_session *session);

/* The pool's descriptors, at most max, and the poll timeout (ms, -1 for none) that the
 * pool's timers and a held initialize need. */
int mcp_session_pollfds(mcp_session *session, struct pollfd *fds, int max);
int mcp_session_timeout(mcp_session *session);

/* Services the pool (fds as filled by mcp_session_pollfds, with revents) and answers a held
 * initialize once it may be. Returns false when the session must end because the role can
 * write and --refuse-writable-role is set (the reason went to stderr). */
bool mcp_session_process(mcp_session *session, struct pollfd *fds, int count);

/* Logs at level to stderr and, at its chosen level, to the client. */
void mcp_session_log(mcp_session *session, mcp_log_level level, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

#endif
