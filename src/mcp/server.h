/* `pgsafe serve`: the MCP server over stdio. One process serves one client; a single
 * poll() loop watches stdin, the database connections and a signal pipe, so several calls
 * can be in flight, ping answers while a query runs, and a cancellation reaches the
 * running statement. */
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

typedef struct mcp_config {
    guard_policy policy;         /* max_rows and the extra lists; catalog is set by the server */
    db_options db;               /* connection, timeouts, budgets, pool size, search_path */
    const char *visible_schemas; /* text[] literal "{a,b}" for the schema tools, or NULL for all */
    size_t max_message_bytes;    /* cap on one incoming line */
    const char *audit_log_path;  /* NULL: no audit log */
    bool audit_sql;              /* put the SQL text in audit lines */
    mcp_log_level log_level;     /* stderr threshold */
    bool explain_analyze;        /* allow explain {analyze: true} */
    bool refuse_writable_role;   /* exit 2 once the role is found able to write */
} mcp_config;

/* Serves MCP on in_fd/out_fd until end of input or SIGTERM/SIGINT. Returns the exit
 * status: 0 after a clean stop, 2 when refusing a writable role or when the audit log
 * cannot be opened (the reason goes to stderr). */
int mcp_serve(const mcp_config *config, int in_fd, int out_fd);

#endif
