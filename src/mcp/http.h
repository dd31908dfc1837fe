/* The Streamable HTTP transport: one endpoint, POST /mcp, each JSON-RPC message its own
 * request, answered with application/json (or, when the request produced notifications
 * such as log messages, an SSE stream that carries them and then the answer), plus
 * /healthz and /readyz. Built on libmicrohttpd, driven from the server's own poll() loop
 * (no thread of its own), so the database pool stays single-threaded.
 *
 * The transport only frames: it checks the HTTP side (method, path, Host and Origin,
 * bearer token, caps, the MCP request headers against the body), then hands one parsed
 * message to the dispatcher with the request's context, and sends whatever the dispatcher
 * answers, whenever it answers. Use:
 *
 *     http_server *http = http_server_start(&config, &handlers, &error);
 *     loop: count += http_server_pollfds(http, fds + count, max - count);
 *           poll(..., min(timeout, http_server_timeout(http)));
 *           http_server_process(http, fds + first, count - first);
 *     http_server_stop(http);
 *
 * Every message handed to handlers.message must be answered exactly once with
 * http_exchange_reply, even after handlers.cancelled said the client went away. */
#ifndef PGSAFE_MCP_HTTP_H
#define PGSAFE_MCP_HTTP_H

#include <json-c/json.h>
#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "mcp/oauth.h"
#include "mcp/metrics.h"
#include "mcp/tokens.h"

/* Implementation-defined JSON-RPC codes (outside the range MCP reserves, -32020 to -32099)
 * for what the transport refuses before any dispatch. */
enum {
    HTTP_RPC_UNAUTHORIZED = -32001, /* no or a bad token; HTTP 401 */
    HTTP_RPC_FORBIDDEN = -32003,    /* Origin or Host refused; HTTP 403 */
    HTTP_RPC_BUSY = -32004,         /* a cap on connections or requests in flight; HTTP 429 or 503 */
    HTTP_RPC_TIMEOUT = -32005,      /* the request was not read in time; HTTP 408 */
    MCP_HEADER_MISMATCH = -32020,   /* MCP: headers and body disagree; HTTP 400 */
    MCP_MISSING_CAPABILITY = -32021,
    MCP_UNSUPPORTED_VERSION = -32022
};

typedef struct http_config {
    const char *host;              /* an IP literal or "localhost"; NULL: 127.0.0.1 */
    unsigned short port;           /* 0: any free port (see http_server_port) */
    token_store *tokens;           /* NULL: no pgsafe_ tokens */
    oauth_validator *oauth;        /* NULL: no JWTs; with neither, no authentication (loopback only) */
    const char *const *origins;    /* Origin values allowed besides loopback ones; NULL-ended or NULL */
    const char *const *hosts;      /* Host values allowed besides loopback ones; NULL-ended or NULL */
    size_t max_body_bytes;         /* one message (413 beyond) */
    size_t max_header_bytes;       /* all request headers together (431 beyond) */
    unsigned max_connections;      /* open connections (503 beyond, then refused) */
    unsigned max_client_in_flight; /* messages in flight per identity, or per address without tokens (429) */
    unsigned read_timeout_s;       /* idle connection, and the whole body's upload (408) */
    bool log_errors;               /* libmicrohttpd's own error messages to stderr (debug) */
    mcp_metrics *metrics;          /* counts answers and connections; NULL: none (not owned) */
} http_config;

/* Defaults for the caps: 4 MiB body, 16 KiB headers, 256 connections, 16 in flight per
 * client, 30 s read timeout. */
void http_config_defaults(http_config *config);

typedef struct http_server http_server;
typedef struct http_exchange http_exchange;

/* What the dispatcher learns about the request besides its body. Valid during the call. */
typedef struct http_context {
    const char *identity;         /* the bearer token's identity; NULL without authentication */
    const char *client_address;   /* the peer's IP address as text */
    const char *protocol_version; /* the MCP-Protocol-Version header, or NULL when absent */
    bool modern;                  /* the body carries _meta's protocolVersion (2026-07-28 era) */
} http_context;

typedef struct http_handlers {
    void *user;
    /* One JSON-RPC message (request, notification or response; the transport keeps its
     * reference, take one with json_object_get to keep it). Answer it with
     * http_exchange_reply, now or later. */
    void (*message)(void *user, http_exchange *exchange, json_object *message, const http_context *context);
    /* The client went away before the answer: stop the work (the spec's cancellation over
     * HTTP). owner is what http_exchange_set_owner stored. Still reply afterwards. */
    void (*cancelled)(void *user, http_exchange *exchange, void *owner);
    /* /readyz: true when the database answers and the catalog is loaded; else a short
     * reason in *detail (a static or long-lived string). NULL: always ready. */
    bool (*ready)(void *user, const char **detail);
    /* GET /metrics: the exposition text (caller frees), NULL when out of memory. NULL: no
     * /metrics (404). Gated like /mcp: a bearer token when tokens are configured. */
    char *(*metrics)(void *user);
} http_handlers;

/* Listens and returns the server, or NULL with *error (caller frees): a bad host, a port
 * in use, or a non-loopback host without tokens or OAuth (the transport refuses to listen
 * there unauthenticated). */
http_server *http_server_start(const http_config *config, const http_handlers *handlers, char **error);

/* The port listened on (the one chosen when config.port was 0). */
unsigned short http_server_port(const http_server *server);

/* Fills up to max pollfds to watch (the daemon's epoll descriptor and the sockets of
 * clients waiting for an answer); returns how many. */
int http_server_pollfds(http_server *server, struct pollfd *fds, int max);

/* Milliseconds until the transport needs http_server_process without any event; -1 none. */
int http_server_timeout(http_server *server);

/* Does the transport's work: accepts, reads, dispatches, sends answers, notices clients
 * that went away. fds/count: what http_server_pollfds filled, after poll(). */
void http_server_process(http_server *server, const struct pollfd *fds, int count);

/* Closes every connection and frees the server. Exchanges not yet answered are detached:
 * their replies are then freed unsent. */
void http_server_stop(http_server *server);

/* Remembers the dispatcher's object for this exchange (handed back to cancelled). */
void http_exchange_set_owner(http_exchange *exchange, void *owner);

/* Queues a notification that relates to this request (takes ownership); the answer is
 * then an SSE stream with the notifications first. */
void http_exchange_notify(http_exchange *exchange, json_object *notification);

/* Answers (takes ownership of message): a JSON-RPC response sent as application/json (or
 * SSE after notifications), with the status its error code calls for; NULL answers 202
 * Accepted (a notification, or a request that gets no answer). Frees the exchange. */
void http_exchange_reply(http_exchange *exchange, json_object *message);

/* The HTTP status for a JSON-RPC answer: 200 for results; for errors of a modern request
 * 404 for -32601 and 400 for parse, invalid request, invalid params, header mismatch,
 * missing capability and unsupported version; 200 otherwise. */
unsigned http_status_for(json_object *message, bool modern);

#endif
