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

#include "mcp/metrics.h"
#include "mcp/server.h"

typedef struct mcp_session mcp_session;

/* Writes one message (borrowed: the session frees it afterwards). */
typedef void (*mcp_transport_send)(void *transport, json_object *message);

/* Sends one notification that relates to the request whose id is request_id (borrowed, like
 * message): a transport with a stream per request (HTTP) puts it on that request's answer. */
typedef void (*mcp_transport_notify)(void *transport, json_object *message, json_object *request_id);

/* What a transport knows about a message besides its body. */
typedef struct mcp_message_context {
    const char *identity;         /* who sent it (an HTTP bearer token's identity), or NULL */
    const char *protocol_version; /* a legacy request's version from the transport (HTTP's
                                   * MCP-Protocol-Version header), or NULL */
    json_object *client_id;       /* the id the client sent when the transport routes the request
                                   * under an id of its own (HTTP), or NULL: the audit line's id */
} mcp_message_context;

/* A session with its audit log open and its pool connecting. NULL with *error set (caller
 * frees) when the audit log cannot be opened or the pool cannot start. */
mcp_session *mcp_session_new(const mcp_config *config, mcp_transport_send send, void *transport, char **error);

/* Cancels what still runs (its continuations drop the requests), frees every request left,
 * closes the audit log. */
void mcp_session_free(mcp_session *session);

/* Request-related notifications go to notify instead of send (NULL: send). */
void mcp_session_set_notify(mcp_session *session, mcp_transport_notify notify);

/* A stateless session (HTTP, many clients): a legacy request is served without an initialize
 * first, at the version its context names (else 2025-03-26); initialize is answered without
 * changing the session, and logging/setLevel changes nothing. Modern requests are stateless
 * on every session. */
void mcp_session_set_stateless(mcp_session *session, bool stateless);

/* Counts every finished request in metrics (not owned; NULL: none). */
void mcp_session_set_metrics(mcp_session *session, mcp_metrics *metrics);

/* /metrics: the counters with the pool's use now, as exposition text (caller frees); NULL
 * without metrics or when out of memory. */
char *mcp_session_render_metrics(mcp_session *session);

/* Handles one parsed message (borrowed) with what the transport knows about it. */
void mcp_session_handle_message(mcp_session *session, json_object *message, const mcp_message_context *context);

/* For /readyz: true once the database has answered (the posture and catalog are loaded),
 * else false with a short reason in *detail (valid until the next call into the session). */
bool mcp_session_ready(mcp_session *session, const char **detail);

/* Handles one framed message of length bytes (not NUL-terminated): parses it, answers
 * errors, runs requests. */
void mcp_session_handle_line(mcp_session *session, const char *line, size_t length);

/* True while an initialize waits for the database: the transport holds later messages
 * back, so they are handled after its answer, in order. */
bool mcp_session_holding(const mcp_session *session);

/* True while a request other than a held initialize is in flight. */
bool mcp_session_busy(const mcp_session *session);

/* The pool's descriptors, at most max, and the poll timeout (ms, -1 for none) that the
 * pool's timers and a held initialize need; 0 when a call was queued since the last
 * mcp_session_process (a transport that handles messages after it must not sleep first). */
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
