/* `pgsafe serve`'s face: the server's configuration, its log levels, and mcp_serve, the
 * stdio transport's entry point (stdio.c). One process serves one client. The parts:
 * stdio.c (transport and loop), session.c (the session that answers JSON-RPC), dispatch.c
 * (the method table), request.c (a request's lifecycle), lifecycle.c, tools*.c,
 * resources.c, prompts.c (the methods), jsonrpc.c (framing and messages), audit.c. */
#ifndef PGSAFE_MCP_SERVER_H
#define PGSAFE_MCP_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "db/db.h"
#include "pgsafe/guard.h"

/* Log levels, most severe first, as MCP names them (syslog's order). */
typedef enum mcp_log_level {
    MCP_LOG_EMERGENCY,
    MCP_LOG_ALERT,
    MCP_LOG_CRITICAL,
    MCP_LOG_ERROR,
    MCP_LOG_WARNING,
    MCP_LOG_NOTICE,
    MCP_LOG_INFO,
    MCP_LOG_DEBUG,
    MCP_LOG_LEVEL_COUNT
} mcp_log_level;

/* The level's name ("warning"), and the level of a name (-1 if unknown). */
const char *mcp_log_level_name(mcp_log_level level);
int mcp_log_level_parse(const char *name);

struct mcp_config;

/* One of several databases a server serves (--database): its name, as the tools' database
 * argument and the resource URIs say it, and its whole configuration (its own connection,
 * policy and limits; the server-wide settings are the same in each). */
typedef struct mcp_database {
    const char *name;
    const struct mcp_config *config;
} mcp_database;

/* At most this many databases behind one server (each with its own pool), and at most this
 * many connections in all their pools (the transports poll that many descriptors). */
#define MCP_MAX_DATABASES   16
#define MCP_MAX_CONNECTIONS 64

typedef struct mcp_config {
    guard_policy policy;         /* max_rows and the extra lists; catalog is set by the server */
    db_options db;               /* connection, timeouts, budgets, pool size, search_path */
    const char *visible_schemas; /* text[] literal "{a,b}" for the schema tools, or NULL for all */
    size_t max_message_bytes;    /* cap on one incoming line */
    size_t max_in_flight;        /* requests waiting for their answers at once; more get MCP_TOO_MANY_REQUESTS */
    const char *audit_log_path;  /* NULL: no audit log */
    bool audit_sql;              /* put the SQL text in audit lines */
    bool audit_required;         /* refuse tool calls while the audit log cannot be written */
    mcp_log_level log_level;     /* stderr threshold */
    bool explain_analyze;        /* allow explain {analyze: true} */
    bool refuse_writable_role;   /* exit 2 once the role is found able to write */
    bool no_fence;               /* database content in text results is not fenced (mcp/fence.h) */
    /* Several databases (--database), in the order configured; NULL (count 0) for the one
     * database that db and policy above describe. */
    const mcp_database *databases;
    size_t database_count;
} mcp_config;

/* Serves MCP on in_fd/out_fd until end of input or SIGTERM/SIGINT; either way the calls in
 * flight get a short drain (a second signal ends it). Returns the exit status: 0 after a
 * clean stop, 2 when refusing a writable role or when the audit log cannot be opened (the
 * reason goes to stderr), 70 when memory runs out (mcp/json.h). */
int mcp_serve(const mcp_config *config, int in_fd, int out_fd);

struct http_config;

/* Serves MCP over Streamable HTTP (mcp/http.h) until SIGTERM/SIGINT, with a short drain for
 * the calls in flight. Prints "pgsafe: listening on http://HOST:PORT/mcp" on stderr once it
 * listens. Returns the exit status: 0 after a clean stop, 2 when it cannot start (the
 * reason goes to stderr: the address, no tokens beyond loopback, the audit log) or refuses
 * a writable role. */
int mcp_serve_http(const mcp_config *config, const struct http_config *http);

#endif
