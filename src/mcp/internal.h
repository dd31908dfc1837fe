/* The session's state, shared by the files that make up the session (session.c,
 * request.c, lifecycle.c, dispatch.c). Method handlers do not include this: they see
 * requests through mcp/request.h, so none can reach the transport or the loop. */
#ifndef PGSAFE_MCP_INTERNAL_H
#define PGSAFE_MCP_INTERNAL_H

#include <json-c/json.h>
#include <stdint.h>

#include "db/db.h"
#include "mcp/audit.h"
#include "mcp/metrics.h"
#include "mcp/request.h"
#include "mcp/session.h"

/* One database the session serves: its configuration and its pool. */
typedef struct session_database {
    struct mcp_session *session; /* the session it belongs to (its pool logs through it) */
    const char *name;            /* NULL for the one database of a server without --database */
    const mcp_config *config;    /* its policy, connection and limits */
    db_pool *pool;               /* owned */
    int fd_count;                /* how many of the session's poll descriptors are this pool's */
} session_database;

struct mcp_session {
    const mcp_config *config;    /* the server's; each database's own is in databases */
    session_database *databases; /* owned array, at least one */
    size_t database_count;
    bool named;                      /* databases were configured by name (--database) */
    mcp_transport_send send;         /* the transport's writer */
    mcp_transport_notify notify;     /* request-related notifications, or NULL (send) */
    bool stateless;                  /* HTTP: no initialize state, legacy served per request */
    bool submitted;                  /* a call was queued since the pool last ran: run it now */
    void *transport;                 /* its context */
    bool initialize_seen;            /* initialize answered (or being answered) */
    const char *protocol_version;    /* negotiated; a static string */
    int client_log_level;            /* -1 until logging/setLevel */
    mcp_request *requests;           /* in flight, newest first */
    size_t request_count;            /* length of requests */
    mcp_request *pending_initialize; /* waiting for the first connection attempt */
    int64_t initialize_deadline_ms;
    audit_log *audit;
    mcp_metrics *metrics; /* counters for /metrics (HTTP), or NULL; not owned */
};

/* True while a database's first connection attempt is still under way (no posture yet). */
bool session_connecting(const mcp_session *session);

/* True when a database's role can write while its configuration refuses that; what says so
 * ("role "r" of database "d" can write (reasons)"), cut to size. */
bool session_writable_refused(const mcp_session *session, char *what, size_t size);

/* Hands a message to the transport (takes ownership). */
void session_send(mcp_session *session, json_object *message);

/* Logs to stderr at or above the configured level and to the client at or above its level. */
void session_log(mcp_session *session, mcp_log_level level, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* A new request in the session's list, with its own reference to id and a copy of method;
 * NULL when memory runs out (nothing allocated is left behind). */
mcp_request *request_new(mcp_session *session, json_object *id, const char *method);

/* Unlinks and frees a request without answering it (shutdown). */
void request_free(mcp_request *request);

/* The request in flight with this id (compared by JSON text: 1 and "1" differ), or NULL. */
mcp_request *request_find(mcp_session *session, json_object *id);

/* Lifecycle methods (lifecycle.c). lifecycle_answer_initialize answers a held initialize. */
void lifecycle_initialize(mcp_request *request, json_object *params);
void lifecycle_answer_initialize(mcp_request *request);
void lifecycle_ping(mcp_request *request, json_object *params);
void lifecycle_set_level(mcp_request *request, json_object *params);
/* The instructions initialize would return for this posture (caller frees; NULL when out of
 * memory); last_error is why the database is not reachable yet, NULL while connecting. */
char *lifecycle_instructions(const mcp_config *config, const db_posture *posture, const char *last_error);

/* Routes one request to its method's handler (dispatch.c): picks its era from its _meta (or
 * the session's handshake), checks what that era needs, and answers it in every case.
 * context may be NULL (stdio). */
void dispatch_request(mcp_session *session, json_object *id, const char *method, json_object *params,
                      const mcp_message_context *context);

/* Answers the request with a whole JSON-RPC message (taken), e.g. an error with data, and
 * frees it, as request_respond does. */
void request_answer_message(mcp_request *request, json_object *message);

/* server/discover (lifecycle.c). */
void lifecycle_discover(mcp_request *request, json_object *params);

/* The newest modern version and the legacy ones, newest first (lifecycle.c). */
#define MCP_MODERN_VERSION "2026-07-28"
extern const char *const mcp_legacy_versions[];
extern const size_t mcp_legacy_version_count;

#endif
