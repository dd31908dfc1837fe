/* The request lifecycle: one JSON-RPC request from the moment the session accepts it until
 * it is answered (or dropped after a cancellation). This is the whole API the method
 * handlers (tools, resources, prompts, the lifecycle methods) see: they answer a request,
 * run database calls for it and read the session's settings through it, and never reach the
 * transport or the loop. A request owns everything hung on it; request_respond and its
 * siblings write the audit line, send the answer and free it, in one place. */
#ifndef PGSAFE_MCP_REQUEST_H
#define PGSAFE_MCP_REQUEST_H

#include <json-c/json.h>
#include <stdint.h>

#include "db/db.h"
#include "mcp/audit.h"
#include "mcp/json.h"
#include "mcp/server.h"

typedef struct mcp_session mcp_session;
typedef struct mcp_request mcp_request;

/* Called with the result of a database call made for a request (owns result). */
typedef void (*mcp_db_continuation)(mcp_request *request, db_result *result);

/* A step a tool resumes with once the pool is ready (see tools_when_ready). */
typedef void (*mcp_resume_step)(mcp_request *request);

struct mcp_request {
    mcp_session *session;
    mcp_request *next, *previous; /* the session's list of requests in flight */
    json_object *id;              /* owned reference; never NULL */
    char *method;                 /* owned, never NULL */
    const char *protocol_version; /* the version this request is answered under (static), or
                                     NULL before initialize; set by dispatch_request */
    bool modern;                  /* 2026-07-28 era: stateless, its own _meta, decorated results */
    int log_level;                /* modern: the _meta log level asked for, or -1 (no log notifications) */
    char *identity;               /* owned: who asked (the HTTP token's identity), or NULL */
    json_object *client_id;       /* owned reference: the id the client sent, when it differs
                                   * from id (HTTP routing), or NULL; the audit line names it */
    const char *tool;             /* tools/call: the tool's name (static, from the tool table), else NULL */
    json_object *arguments;       /* owned reference, or NULL */
    db_call *call;                /* the database call in flight, owned by the pool */
    mcp_db_continuation continuation;
    mcp_resume_step resume; /* after a barrier call: the step to run again */
    size_t database;        /* which of the session's databases it runs against (0: the first) */
    bool cancelled;         /* notifications/cancelled arrived: answer nothing */
    bool catalog_refreshed; /* the catalog was reloaded once for this request */
    guard_result verdict;   /* query and explain: the guard's verdict and rewrite */
    bool analyze;           /* explain: with ANALYZE */
    int64_t started_ms;
    audit_entry audit; /* filled as the call goes */
};

/* Answers the request with a result (takes ownership), writes its audit line and frees the
 * request. A cancelled request is freed without an answer. */
void request_respond(mcp_request *request, json_object *result);

/* Answers with a JSON-RPC error and frees the request. */
void request_error(mcp_request *request, int code, const char *format, ...) __attribute__((format(printf, 3, 4)));

/* Answers a tools/call with {content: [text], isError: true} and frees the request. A NULL
 * text (it could not be built: out of memory) answers -32603 instead. */
void request_tool_error(mcp_request *request, const char *text);

/* Answers a tools/call with structuredContent (owned) and its text rendering (copied). A
 * NULL text (it could not be built: out of memory) frees structured and answers -32603
 * instead, never a result with an empty text. */
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

/* The settings and pool of the request's database, read through the request (the
 * server-wide settings are the same in every database's configuration). */
const mcp_config *request_config(const mcp_request *request);
db_pool *request_pool(const mcp_request *request);

/* Several databases (--database): their count (0 when the server has the one database of
 * --dsn, whose tools take no database argument), the name of database i, and the name of
 * the request's database (NULL without --database). */
size_t request_database_count(const mcp_request *request);
const char *request_database_name_at(const mcp_request *request, size_t index);
const char *request_database_name(const mcp_request *request);

/* Points the request at the database named name (length bytes); false when none has it. */
bool request_choose_database(mcp_request *request, const char *name, size_t length);

/* Points the request at the database a call's "database" argument names (value borrowed;
 * NULL when absent). NULL when it names one, or is absent and need not be (one database,
 * none configured by name, or optional), the request then left at the first; else what is
 * wrong for the model, about what ("query", "prompt analyst"), naming the databases
 * (caller frees; out of memory exits rather than run against the first). */
char *request_choose_database_argument(mcp_request *request, json_object *value, bool optional, const char *what);

/* The pool of database i, for the tool that reports on every database. */
db_pool *request_database_pool(const mcp_request *request, size_t index);

/* "a, b and c": the configured names, for messages (caller frees; NULL out of memory). */
char *request_database_names(const mcp_request *request);

/* True while the session's audit log cannot be written (its last line failed). */
bool request_audit_failing(const mcp_request *request);

/* Logs through the session (stderr and the client, each at its own level). */
void request_log(const mcp_request *request, mcp_log_level level, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

#endif
