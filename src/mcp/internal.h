/* What the server's parts share: the server, one request in flight, and the calls that
 * answer it. A request is created for every JSON-RPC request, lives until it is answered
 * (or dropped after a cancellation), and owns everything hung on it. */
#ifndef PGSAFE_MCP_INTERNAL_H
#define PGSAFE_MCP_INTERNAL_H

#include <json-c/json.h>
#include <stdint.h>

#include "db/db.h"
#include "mcp/audit.h"
#include "mcp/server.h"

typedef struct mcp_request mcp_request;

typedef struct mcp_server {
    const mcp_config *config;
    db_pool *pool;
    int out_fd;
    bool initialize_seen;            /* initialize answered (or being answered) */
    const char *protocol_version;    /* negotiated; a static string */
    int client_log_level;            /* -1 until logging/setLevel */
    mcp_request *requests;           /* in flight, newest first */
    mcp_request *pending_initialize; /* waiting for the first connection attempt */
    int64_t initialize_deadline_ms;
    audit_log *audit;
    bool peer_gone; /* stdout is closed */
} mcp_server;

/* Called with the result of a database call made for a request (owns result). */
typedef void (*mcp_db_continuation)(mcp_request *request, db_result *result);

struct mcp_request {
    mcp_server *server;
    mcp_request *next, *previous;
    json_object *id; /* owned reference */
    char *method;
    char *tool;             /* tools/call: the tool's name */
    json_object *arguments; /* owned reference, or NULL */
    db_call *call;          /* the database call in flight */
    mcp_db_continuation continuation;
    bool cancelled;         /* notifications/cancelled arrived: answer nothing */
    bool catalog_refreshed; /* the catalog was reloaded once for this request */
    guard_result verdict;   /* query and explain: the guard's verdict and rewrite */
    bool analyze;           /* explain: with ANALYZE */
    int64_t started_ms;
    audit_entry audit; /* filled as the call goes */
};

/* Sends a message on stdout (takes ownership). */
void server_send(mcp_server *server, json_object *message);

/* Logs to stderr at or above the configured level and to the client at or above its level. */
void server_log(mcp_server *server, mcp_log_level level, const char *format, ...) __attribute__((format(printf, 3, 4)));

/* Answers the request with a result (takes ownership), writes its audit line and frees it.
 * A cancelled request is freed without an answer. */
void request_respond(mcp_request *request, json_object *result);

/* Answers with a JSON-RPC error and frees the request. */
void request_error(mcp_request *request, int code, const char *format, ...) __attribute__((format(printf, 3, 4)));

/* Answers a tools/call with {content: [text], isError: true} and frees the request. */
void request_tool_error(mcp_request *request, const char *text);

/* Answers a tools/call with structuredContent (owned) and its text rendering (copied). */
void request_tool_result(mcp_request *request, json_object *structured, const char *text);

/* Runs a database call for the request; continuation gets its result. A cancelled request
 * is freed instead. Returns false (request answered with an error) when memory runs out. */
bool request_run(mcp_request *request, const db_request *call, mcp_db_continuation continuation);

/* Catalog answers are not a model's result rows: they get a larger budget of their own. */
#define INTROSPECTION_BYTES (8u * 1024 * 1024)

/* Runs one of db/introspect.h's queries for the request: $1 the visible schemas, then
 * second and third; count is how many parameters the query takes (1 to 3). */
void request_introspect(mcp_request *request, const char *sql, const char *second, const char *third, int count,
                        mcp_db_continuation continuation);

/* The visible-schemas parameter ($1 of the introspection queries), or NULL. */
const char *server_visible_schemas(const mcp_server *server);

/* Tools (tools.c). tools_call answers the request in every case. */
json_object *tools_list(const mcp_server *server);
bool tools_exists(const char *name);
void tools_call(mcp_request *request, const char *name, json_object *arguments);

/* A compact text description of one table from describe_table's JSON (caller frees). */
char *tools_describe_text(json_object *table);

/* Resources (resources.c) and prompts (prompts.c); each answers the request. */
void resources_list(mcp_request *request, json_object *params);
void resources_read(mcp_request *request, json_object *params);
void resources_templates_list(mcp_request *request, json_object *params);
void prompts_list(mcp_request *request, json_object *params);
void prompts_get(mcp_request *request, json_object *params);

/* A string member of an object, or NULL. */
const char *json_string_member(json_object *object, const char *name);

#endif
